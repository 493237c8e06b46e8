/* repute-cli: the command-line client of a repute node.
 *
 * It builds and signs every record type with an encrypted key file, submits
 * records and reads the chain, scores and reviews over the node's JSON-RPC
 * socket (docs/rpc.md, through node/rpc_client.h), and checks score proofs
 * offline against a genesis file. docs/cli.md is the user's guide.
 *
 * How it reads:
 *   - Parsing is strict, as in reputed (node/cmdline.h): an unknown option,
 *     a missing value, an option given twice or a stray argument is a usage
 *     error (message and usage on stderr, exit 2). The global options
 *     (--datadir, --socket, --json) are accepted before or after the command.
 *   - Signing commands ask the node what they need (chain id, the issuer's
 *     next sequence number, current keys, the proof-of-work difficulty),
 *     check what can be checked before anything is signed, and only then
 *     decrypt the key: the passphrase is asked for last, and the secret key
 *     is wiped as soon as the record is signed.
 *   - Results go to stdout: aligned, readable text by default, the node's
 *     JSON with --json. Errors go to stderr as "error: MESSAGE (code N)"
 *     followed by the error's data.
 *   - Exit status: 0 success; 1 the node answered an error or a check
 *     failed; 2 usage; 3 the node cannot be reached.
 *
 * This file is main: the global options, the command table and the help.
 * The commands live in cli_keys.c, cli_records.c, cli_query.c and
 * cli_proof.c, and what they share is declared in cli.h.
 */
#include <stdio.h>
#include <string.h>

#include "crypto/sig.h"
#include "node/cli.h"
#include "node/cmdline.h"
#include "node/errors.h"

rp_cli_ctx rp_cli; /* the global options */

/* ---- usage texts ---------------------------------------------------------------------------- */

static const char usage_main[] =
    "usage: repute-cli [--datadir DIR | --socket PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "The command-line client of a repute node (docs/cli.md).\n"
    "\n"
    "Keys and records (signing commands submit and wait by default):\n"
    "  keygen        create an encrypted key file: a new identity\n"
    "  identity      register an identity, or update its role, name or profile\n"
    "  engage        start a two-party engagement: sign it and hand it over\n"
    "  cosign        check an engagement, co-sign it, and submit it or hand it back\n"
    "  review        rate the other party of an engagement\n"
    "  vouch         state that an identity is genuine\n"
    "  attest        attest a talent's audience on one platform\n"
    "  revoke        withdraw one of your reviews, vouches or attestations\n"
    "  rotate        move an identity to a new key (by its key or its recovery key)\n"
    "  submit        submit a signed record (hex, or a file holding it)\n"
    "\n"
    "Reading:\n"
    "  score         an identity's score, optionally with its proof\n"
    "  top           the score table, best first, or the fastest risers\n"
    "  history       an identity's score over the kept epochs\n"
    "  reviews       live reviews of or by an identity\n"
    "  audience      a talent's trust-weighted audience figures per platform\n"
    "  whois         an identity's registration and counters\n"
    "  record        a record by id\n"
    "  head          the latest block\n"
    "  block         a block by height or hash\n"
    "  info          what the node is\n"
    "  mempool       the node's pending records\n"
    "  metrics       the node's counters, gauges and RPC latencies\n"
    "  peers         the node's peers; add, disconnect, ban or unban one\n"
    "  verify-proof  check a score proof offline against a genesis file\n"
    "  call          call any RPC method with raw JSON params\n"
    "  watch         print blocks, epochs or an identity's records as they come\n"
    "  help          this help, or a command's: repute-cli help COMMAND\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --datadir DIR   the node's datadir; the socket is DIR/rpc.sock\n"
    "                  (default: ./devnet)\n"
    "  --socket PATH   the node's socket, instead of --datadir\n"
    "  --json          print the node's JSON results instead of tables\n"
    "  -h, --help      show help\n"
    "\n"
    "Run 'repute-cli COMMAND --help' for a command's options.\n"
    "Exit status: 0 success, 1 the node answered an error or a check failed,\n"
    "2 usage error, 3 the node cannot be reached.\n";

/* ---- parsing a command ---------------------------------------------------------------------- */

int rp_cli_parse_command(int argc, char **argv, const rp_cmdline_opt *opts, size_t nopts,
                         const char *usage, const char **pos, size_t npos_min, size_t npos_max,
                         size_t *npos, const char *what)
{
    static const rp_cmdline_opt globals[] = {
        {.name = "datadir", .value = &rp_cli.datadir},
        {.name = "socket", .value = &rp_cli.socket},
        {.name = "json", .flag = &rp_cli.json},
    };
    const rp_cmdline cl = {.prog = RP_CLI_PROG,
                           .usage = usage,
                           .opts = opts,
                           .nopts = nopts,
                           .more = globals,
                           .nmore = sizeof globals / sizeof globals[0],
                           .pos = pos,
                           .npos_max = npos_max};
    size_t n = 0;
    int rc = rp_cmdline_parse(&cl, argc, argv, 2, npos ? npos : &n);
    if (rc == RP_CMDLINE_HELP) {
        fputs(usage, stdout);
        return 0;
    }
    if (rc)
        return rc;
    if (rp_cli.datadir && rp_cli.socket)
        return rp_cli_usage_error(usage, "give --datadir or --socket, not both");
    if ((npos ? *npos : n) < npos_min)
        return rp_cli_usage_error(usage, "missing %s", what);
    return -1;
}

/* ---- main ----------------------------------------------------------------------------------- */

static const rp_cmdline_command commands[] = {
    {"keygen", rp_cli_cmd_keygen, rp_cli_usage_keygen},
    {"identity", rp_cli_cmd_identity, rp_cli_usage_identity},
    {"engage", rp_cli_cmd_engage, rp_cli_usage_engage},
    {"cosign", rp_cli_cmd_cosign, rp_cli_usage_cosign},
    {"review", rp_cli_cmd_review, rp_cli_usage_review},
    {"vouch", rp_cli_cmd_vouch, rp_cli_usage_vouch},
    {"attest", rp_cli_cmd_attest, rp_cli_usage_attest},
    {"revoke", rp_cli_cmd_revoke, rp_cli_usage_revoke},
    {"rotate", rp_cli_cmd_rotate, rp_cli_usage_rotate},
    {"submit", rp_cli_cmd_submit, rp_cli_usage_submit},
    {"score", rp_cli_cmd_score, rp_cli_usage_score},
    {"top", rp_cli_cmd_top, rp_cli_usage_top},
    {"history", rp_cli_cmd_history, rp_cli_usage_history},
    {"reviews", rp_cli_cmd_reviews, rp_cli_usage_reviews},
    {"audience", rp_cli_cmd_audience, rp_cli_usage_audience},
    {"whois", rp_cli_cmd_whois, rp_cli_usage_whois},
    {"record", rp_cli_cmd_record, rp_cli_usage_record},
    {"head", rp_cli_cmd_head, rp_cli_usage_head},
    {"block", rp_cli_cmd_block, rp_cli_usage_block},
    {"info", rp_cli_cmd_info, rp_cli_usage_info},
    {"mempool", rp_cli_cmd_mempool, rp_cli_usage_mempool},
    {"metrics", rp_cli_cmd_metrics, rp_cli_usage_metrics},
    {"peers", rp_cli_cmd_peers, rp_cli_usage_peers},
    {"verify-proof", rp_cli_cmd_verify_proof, rp_cli_usage_verify_proof},
    {"call", rp_cli_cmd_call, rp_cli_usage_call},
    {"watch", rp_cli_cmd_watch, rp_cli_usage_watch},
};

static const rp_cmdline_command *find_command(const char *name)
{
    return rp_cmdline_find_command(commands, sizeof commands / sizeof commands[0], name);
}

int main(int argc, char **argv)
{
    rp_node_errors_register();
    /* Global options before the command. */
    int i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_main, stdout);
            return 0;
        }
        const char **slot = NULL;
        const char *val = NULL;
        size_t n = strcspn(a, "=");
        if (!strncmp(a, "--datadir", n) && n == 9)
            slot = &rp_cli.datadir;
        else if (!strncmp(a, "--socket", n) && n == 8)
            slot = &rp_cli.socket;
        else if (!strcmp(a, "--json")) {
            rp_cli.json = 1;
            i++;
            continue;
        } else
            return rp_cli_usage_error(usage_main, "unknown option '%s' (before the command)", a);
        if (a[n] == '=')
            val = a + n + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        if (!val || !*val)
            return rp_cli_usage_error(usage_main, "option '%.*s' needs a value", (int)n, a);
        if (*slot)
            return rp_cli_usage_error(usage_main, "option '%.*s' is given twice", (int)n, a);
        *slot = val;
        i++;
    }
    if (i >= argc)
        return rp_cli_usage_error(usage_main, "missing command");
    const char *cmd = argv[i];
    if (!strcmp(cmd, "help")) {
        if (i + 1 >= argc) {
            fputs(usage_main, stdout);
            return 0;
        }
        const rp_cmdline_command *c = find_command(argv[i + 1]);
        if (!c || i + 2 < argc)
            return rp_cli_usage_error(usage_main, "help takes one known command");
        fputs(c->usage, stdout);
        return 0;
    }
    const rp_cmdline_command *c = find_command(cmd);
    if (!c)
        return rp_cli_usage_error(usage_main, "unknown command '%s'", cmd);
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "error: cannot start the crypto library\n");
        return RP_CLI_EXIT_FAIL;
    }
    /* Commands parse argv[2..]: shift so the command sits at argv[1]. */
    int rc = c->run(argc - (i - 1), argv + (i - 1));
    rp_cli_disconnect();
    if (rc == 0 && fflush(stdout) != 0)
        return RP_CLI_EXIT_FAIL;
    return rc;
}
