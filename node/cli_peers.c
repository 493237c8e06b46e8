/* repute-cli peers: the node's peers (peers.list) and what an operator does
 * with them (peers.add, peers.disconnect, peers.ban, peers.unban).
 * docs/cli.md has the command; docs/rpc.md the methods.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "node/cli.h"
#include "node/rpc_client.h"

const char rp_cli_usage_peers[] =
    "usage: repute-cli peers [list]\n"
    "       repute-cli peers add ID@HOST:PORT [--persistent]\n"
    "       repute-cli peers disconnect PEER\n"
    "       repute-cli peers ban NODE_ID|IP [--seconds N]\n"
    "       repute-cli peers unban NODE_ID|IP\n"
    "\n"
    "The node's peer-to-peer connections (docs/p2p.md, docs/operators.md).\n"
    "\n"
    "  list        every peer, connected or in its handshake: its number (PEER),\n"
    "              node ID, address, direction, role, height, ping, bytes each\n"
    "              way and how long it has been connected; a * marks a\n"
    "              discouraged one\n"
    "  add         dial a node now (ID@HOST:PORT; HOST:PORT connects to whoever\n"
    "              answers); with --persistent keep it connected like a\n"
    "              persistent_peer of reputed.conf, until the node restarts\n"
    "  disconnect  close the connection to PEER (a number from the list); a\n"
    "              persistent peer is dialed again\n"
    "  ban         refuse a node ID or an IP address for N seconds (default\n"
    "              86400) and disconnect it now\n"
    "  unban       lift a ban or a discouragement\n"
    "\n"
    "Options:\n"
    "  --persistent          (add) keep the peer connected\n"
    "  --seconds N           (ban) how long, 1..31536000\n"
    "  -h, --help            show this help\n";

static int list(void)
{
    json_t *res;
    int rc = rp_cli_call("peers.list", NULL, &res);
    if (rc || !res)
        return rc;
    if (rp_cli.json)
        return rp_cli_print_json(res);
    static const char *const heads[] = {"peer", "node_id",  "addr", "dir",  "role", "height",
                                        "ping", "in",       "out",  "since"};
    rp_cli_table t;
    rp_cli_table_init(&t, 10, heads, "rllllrrrrl");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(res, "peers"), i, p)
    {
        char peer[24], id[24], addr[80], height[24], ping[24], in[24], out[24], since[32];
        uint64_t v = 0;
        rp_rpc_get_u64(p, "peer", &v);
        snprintf(peer, sizeof peer, "%" PRIu64, v);
        const char *nid = json_string_value(json_object_get(p, "node_id"));
        char sh[17];
        rp_cli_short_hex(sh, nid);
        snprintf(id, sizeof id, "%s%s", nid ? sh : "-",
                 json_is_true(json_object_get(p, "discouraged")) ? "*" : "");
        snprintf(addr, sizeof addr, "%s", json_string_value(json_object_get(p, "addr")));
        rp_cli_sanitize(addr);
        if (rp_rpc_get_u64(p, "height", &v) == 0)
            snprintf(height, sizeof height, "%" PRIu64, v);
        else
            snprintf(height, sizeof height, "-");
        json_t *pg = json_object_get(p, "ping_ms");
        if (json_is_number(pg))
            snprintf(ping, sizeof ping, "%.1fms", json_number_value(pg));
        else
            snprintf(ping, sizeof ping, "-");
        v = 0;
        rp_rpc_get_u64(p, "bytes_in", &v);
        snprintf(in, sizeof in, "%" PRIu64, v);
        v = 0;
        rp_rpc_get_u64(p, "bytes_out", &v);
        snprintf(out, sizeof out, "%" PRIu64, v);
        uint64_t ms = 0, now_ms = 0;
        rp_rpc_get_u64(p, "connected_since_ms", &ms);
        rp_rpc_get_u64(res, "now_ms", &now_ms);
        if (now_ms >= ms && ms)
            rp_cli_format_span(since, sizeof since, (now_ms - ms) / 1000);
        else
            snprintf(since, sizeof since, "-");
        const char *state = json_string_value(json_object_get(p, "state"));
        const char *dir = json_string_value(json_object_get(p, "direction"));
        const char *role = json_string_value(json_object_get(p, "role"));
        const char *cells[10] = {peer,
                                 id,
                                 addr,
                                 dir ? (dir[0] == 'o' ? "out" : "in") : "-",
                                 state && !strcmp(state, "handshake") ? "(handshake)"
                                                                      : (role ? role : "-"),
                                 height,
                                 ping,
                                 in,
                                 out,
                                 since};
        rp_cli_table_add(&t, cells);
    }
    if (t.nrows)
        rp_cli_table_print(&t);
    else
        printf("(no peers)\n");
    rp_cli_table_free(&t);
    json_decref(res);
    return 0;
}

int rp_cli_cmd_peers(int argc, char **argv)
{
    const char *seconds = NULL, *pos[2];
    int persistent = 0;
    size_t npos = 0;
    const rp_cmdline_opt opts[] = {{.name = "persistent", .flag = &persistent},
                                   {.name = "seconds", .value = &seconds}};
    int rc = rp_cli_parse_command(argc, argv, opts, 2, rp_cli_usage_peers, pos, 0, 2, &npos, "");
    if (rc >= 0)
        return rc;
    const char *sub = npos ? pos[0] : "list";
    const char *arg = npos > 1 ? pos[1] : NULL;
    if (!strcmp(sub, "list")) {
        if (arg)
            return rp_cli_usage_error(rp_cli_usage_peers, "list takes no argument");
        return list();
    }
    if (strcmp(sub, "add") && strcmp(sub, "disconnect") && strcmp(sub, "ban") &&
        strcmp(sub, "unban"))
        return rp_cli_usage_error(rp_cli_usage_peers, "unknown peers command '%s'", sub);
    if (!arg)
        return rp_cli_usage_error(rp_cli_usage_peers, "peers %s needs %s", sub,
                                  !strcmp(sub, "add")          ? "ID@HOST:PORT"
                                  : !strcmp(sub, "disconnect") ? "PEER"
                                                               : "NODE_ID or IP");
    if (persistent && strcmp(sub, "add"))
        return rp_cli_usage_error(rp_cli_usage_peers, "--persistent goes with add");
    if (seconds && strcmp(sub, "ban"))
        return rp_cli_usage_error(rp_cli_usage_peers, "--seconds goes with ban");
    json_t *params;
    const char *method;
    if (!strcmp(sub, "add")) {
        method = "peers.add";
        params = json_pack("{s:s,s:b}", "endpoint", arg, "persistent", persistent);
    } else if (!strcmp(sub, "disconnect")) {
        uint64_t n;
        if (rp_cli_parse_u64(arg, &n) != 0)
            return rp_cli_usage_error(rp_cli_usage_peers,
                                      "PEER is a number from 'repute-cli peers'");
        method = "peers.disconnect";
        params = json_pack("{s:I}", "peer", (json_int_t)n);
    } else if (!strcmp(sub, "ban")) {
        uint64_t s = 86400;
        if (seconds && rp_cli_parse_u64(seconds, &s) != 0)
            return rp_cli_usage_error(rp_cli_usage_peers, "--seconds needs a number");
        method = "peers.ban";
        params = json_pack("{s:s,s:I}", "who", arg, "seconds", (json_int_t)s);
    } else {
        method = "peers.unban";
        params = json_pack("{s:s}", "who", arg);
    }
    json_t *res;
    if ((rc = rp_cli_call(method, params, &res)) != 0 || !res)
        return rc;
    return rp_cli_show(res);
}
