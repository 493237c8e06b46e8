/* repute-cli watch: follow the node's subscriptions (docs/rpc.md,
 * "Subscriptions") and print each notification as one line, as it comes,
 * until interrupted or the node closes the connection.
 *
 * It subscribes on the connection the other commands use, then waits
 * without a timeout: a quiet chain makes no blocks, and that is not an
 * error. Each line is flushed at once, so a pipe or a file sees it when the
 * node sends it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli.h"
#include "node/rpc_client.h"

const char rp_cli_usage_watch[] =
    "usage: repute-cli watch [--blocks] [--epochs] [--identity ID]\n"
    "\n"
    "Print what the node commits as it happens, one line each, until\n"
    "interrupted (Ctrl-C) or the node goes away (docs/rpc.md, \"Subscriptions\"):\n"
    "\n"
    "  block   height, records, hash and time of each committed block\n"
    "  epoch   each committed score epoch: number, identities, score root\n"
    "  record  each record included in a block that ID issued or that names\n"
    "          ID as its counterparty or subject\n"
    "\n"
    "With none of the options, --blocks. With --json each line is the node's\n"
    "notification as it was sent: {\"jsonrpc\":\"2.0\",\"method\":...,\"params\":\n"
    "{\"subscription\":N,\"result\":{...}}}.\n"
    "\n"
    "Options:\n"
    "  --blocks              follow blocks\n"
    "  --epochs              follow score epochs\n"
    "  --identity ID         follow the records concerning identity ID (64 hex)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 1 if the node cut the watch off (it did not read fast\n"
    "enough), 3 if the node cannot be reached or closed the connection.\n";

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "?";
}

static void short_of(char out[17], const json_t *o, const char *k)
{
    rp_cli_short_hex(out, json_string_value(json_object_get(o, k)));
}

/* One notification as one human line. */
static void print_text(const char *method, const json_t *r)
{
    char line[512], a[17], b[17], t[64];
    if (!strcmp(method, "block")) {
        uint64_t ms = 0;
        rp_rpc_get_u64(r, "time_ms", &ms);
        rp_cli_format_time(t, sizeof t, ms / 1000);
        short_of(a, r, "hash");
        snprintf(line, sizeof line,
                 "block   height %s  records %" JSON_INTEGER_FORMAT "  hash %s  time %s",
                 str(r, "height"), json_integer_value(json_object_get(r, "records")), a, t);
    } else if (!strcmp(method, "epoch")) {
        short_of(a, r, "score_root");
        snprintf(line, sizeof line,
                 "epoch   %s  identities %" JSON_INTEGER_FORMAT "  root %s  committed at height %s",
                 str(r, "epoch"), json_integer_value(json_object_get(r, "identities")), a,
                 str(r, "commit_height"));
    } else if (!strcmp(method, "record")) {
        short_of(a, r, "id");
        short_of(b, r, "issuer");
        int k = snprintf(line, sizeof line, "record  %s  id %s  issuer %s", str(r, "type"), a, b);
        const char *other = json_object_get(r, "subject") ? "subject" : "counterparty";
        if (json_object_get(r, other) && k > 0 && (size_t)k < sizeof line) {
            short_of(b, r, other);
            k += snprintf(line + k, sizeof line - (size_t)k, "  %s %s", other, b);
        }
        if (k > 0 && (size_t)k < sizeof line)
            snprintf(line + k, sizeof line - (size_t)k, "  height %s", str(r, "height"));
    } else {
        snprintf(line, sizeof line, "%s", method);
    }
    rp_cli_sanitize(line);
    printf("%s\n", line);
}

static int subscribe(const char *method, json_t *params)
{
    json_t *res = NULL;
    int rc = rp_cli_call(method, params, &res);
    json_decref(res);
    return rc;
}

int rp_cli_cmd_watch(int argc, char **argv)
{
    int blocks = 0, epochs = 0;
    const char *identity = NULL;
    const rp_cmdline_opt opts[] = {{.name = "blocks", .flag = &blocks},
                                   {.name = "epochs", .flag = &epochs},
                                   {.name = "identity", .value = &identity}};
    int rc = rp_cli_parse_command(argc, argv, opts, 3, rp_cli_usage_watch, NULL, 0, 0, NULL, NULL);
    if (rc >= 0)
        return rc;
    unsigned char who[32];
    if (identity && rp_cli_parse_hex32(identity, who) != 0)
        return rp_cli_usage_error(rp_cli_usage_watch, "'%s' is not an identity (64 hex digits)",
                                  identity);
    if (!blocks && !epochs && !identity)
        blocks = 1;
    if ((blocks && (rc = subscribe("blocks.subscribe", NULL)) != 0) ||
        (epochs && (rc = subscribe("epochs.subscribe", NULL)) != 0) ||
        (identity &&
         (rc = subscribe("records.subscribe", json_pack("{s:s}", "identity", identity))) != 0))
        return rc;
    for (;;) {
        json_t *note = NULL;
        if ((rc = rp_cli_next_notification(&note)) != 0)
            return rc;
        if (rp_cli.json) {
            char *text = json_dumps(note, JSON_COMPACT);
            if (text)
                printf("%s\n", text);
            free(text);
        } else {
            const json_t *params = json_object_get(note, "params");
            print_text(json_string_value(json_object_get(note, "method")),
                       json_object_get(params, "result"));
        }
        json_decref(note);
        if (fflush(stdout) != 0 || ferror(stdout))
            return rp_cli_fail("cannot write to stdout");
    }
}
