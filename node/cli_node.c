/* repute-cli's connection to the node: JSON-RPC calls over its Unix socket
 * (docs/rpc.md, through node/rpc_client.h).
 *
 * The connection opens at the first call, to --socket or DATADIR/rpc.sock,
 * and serves every later one. A node that cannot be reached is exit status
 * 3 with a hint; an error the node answers is printed with its code and
 * data, sanitized, and is exit status 1.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "node/cli.h"
#include "node/rpc_client.h"

static char sock_path[4096];
static rp_rpc_client *rpc;

void rp_cli_disconnect(void)
{
    rp_rpc_close(rpc);
    rpc = NULL;
}

static const char *socket_path(void)
{
    if (rp_cli.socket)
        return rp_cli.socket;
    snprintf(sock_path, sizeof sock_path, "%s/rpc.sock",
             rp_cli.datadir ? rp_cli.datadir : "devnet");
    return sock_path;
}

static int connect_node(void)
{
    if (rpc)
        return 0;
    const char *path = socket_path();
    int rc = rp_rpc_connect(&rpc, path);
    if (rc == -ENAMETOOLONG) {
        fprintf(stderr,
                "error: the socket path %s is %zu bytes; Unix sockets allow at most 107: use a "
                "shorter --datadir or a symbolic link with --socket\n",
                path, strlen(path));
        return RP_CLI_EXIT_CONNECT;
    }
    if (rc) {
        fprintf(stderr, "error: cannot connect to the node at %s: %s\n", path, strerror(-rc));
        fprintf(stderr, "hint: is reputed running? scripts/dev.sh run%s\n",
                rp_cli.datadir || rp_cli.socket ? "" : " (or give --datadir DIR)");
        return RP_CLI_EXIT_CONNECT;
    }
    rp_rpc_set_timeout(rpc, RP_CLI_CALL_TIMEOUT_MS);
    return 0;
}

static void print_rpc_error(const rp_rpc_error *err)
{
    char msg[sizeof err->message];
    snprintf(msg, sizeof msg, "%s", err->message);
    rp_cli_sanitize(msg);
    fprintf(stderr, "error: %s (code %d)\n", msg, err->code);
    if (!json_is_object(err->data))
        return;
    const char *k;
    json_t *v;
    json_object_foreach(err->data, k, v)
    {
        char val[1024];
        rp_cli_scalar_text(val, sizeof val, k, v);
        rp_cli_sanitize(val);
        fprintf(stderr, "  %s: %s\n", k, val);
    }
}

int rp_cli_call_ex(const char *method, json_t *params, json_t **result, int *nf,
                   unsigned timeout_ms)
{
    *result = NULL;
    if (nf)
        *nf = 0;
    int rc = connect_node();
    if (rc) {
        json_decref(params);
        return rc;
    }
    rp_rpc_set_timeout(rpc, timeout_ms);
    rp_rpc_error err;
    rc = rp_rpc_call(rpc, method, params, result, &err);
    json_decref(params);
    if (rc == 0)
        return 0;
    if (rc == RP_RPC_REPLY_ERROR) {
        if (nf && err.code == -32001) {
            *nf = 1;
            rp_rpc_error_clear(&err);
            return 0;
        }
        print_rpc_error(&err);
        rp_rpc_error_clear(&err);
        return RP_CLI_EXIT_FAIL;
    }
    fprintf(stderr, "error: %s (node at %s)\n", err.message, socket_path());
    rp_cli_disconnect();
    return RP_CLI_EXIT_CONNECT;
}

int rp_cli_next_notification(json_t **note)
{
    *note = NULL;
    int rc = connect_node();
    if (rc)
        return rc;
    rp_rpc_set_timeout(rpc, 0); /* a quiet chain is not an error */
    rp_rpc_error err;
    rc = rp_rpc_next_notification(rpc, note, &err);
    if (rc == 0)
        return 0;
    if (rc == RP_RPC_REPLY_ERROR) {
        print_rpc_error(&err);
        rp_rpc_error_clear(&err);
        rp_cli_disconnect();
        return RP_CLI_EXIT_FAIL;
    }
    fprintf(stderr, "error: %s (node at %s)\n", err.message, socket_path());
    rp_cli_disconnect();
    return RP_CLI_EXIT_CONNECT;
}

int rp_cli_call(const char *method, json_t *params, json_t **result)
{
    return rp_cli_call_ex(method, params, result, NULL, RP_CLI_CALL_TIMEOUT_MS);
}

int rp_cli_lookup(const char *method, const char *key, const char *value, json_t **result, int *nf)
{
    return rp_cli_call_ex(method, json_pack("{s:s}", key, value), result, nf,
                          RP_CLI_CALL_TIMEOUT_MS);
}

int rp_cli_need_u64(const json_t *obj, const char *method, const char *key, uint64_t *out)
{
    int rc = rp_rpc_get_u64(obj, key, out);
    if (rc == -ENOENT)
        return rp_cli_fail("%s did not return \"%s\" (docs/rpc.md): is the node older than this "
                           "client?",
                           method, key);
    if (rc)
        return rp_cli_fail("%s returned a malformed \"%s\"", method, key);
    return 0;
}

int rp_cli_need_hex32(const json_t *obj, const char *method, const char *key, unsigned char out[32])
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return rp_cli_fail("%s did not return \"%s\" (docs/rpc.md)", method, key);
    if (rp_cli_parse_hex32(s, out) != 0)
        return rp_cli_fail("%s returned a malformed \"%s\"", method, key);
    return 0;
}
