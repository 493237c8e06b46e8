/* reputed: the repute node daemon's command line. For now the auditor's
 * commands, each a thin shell over the library:
 *
 *   reputed init --datadir DIR [...]      node/init.h rp_node_init
 *   reputed verify --datadir DIR          ledger/replay.h rp_replay_verify
 *   reputed export --datadir DIR [...]    ledger/export.h
 *   reputed import --datadir NEW FILE     ledger/replay.h rp_replay_import
 *   reputed scores --datadir DIR [...]    ledger/store.h rp_store_read_scores
 *
 * Parsing is strict (node/cmdline.h: an unknown option, a missing value or a
 * stray argument is a usage error: message and usage on stderr, exit status
 * 2), so that a typo in a script never silently does something else.
 * Failures exit 1 with one line that names the height and the reason.
 * Progress goes to stderr: a redrawn bar on a terminal, a plain line every
 * few seconds otherwise (logs, CI). Results that a script may want go to
 * stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "node/cmdline.h"
#include "node/daemon.h"
#include "node/disk.h"
#include "node/errors.h"
#include "node/init.h"
#include "node/pool.h"

#define PROG "reputed"

/* Every usage error names the program; the usage text follows the message. */
#define usage_error(...) rp_cmdline_usage_error(PROG, __VA_ARGS__)

/* ---- usage ------------------------------------------------------------------- */

static const char usage_main[] =
    "usage: reputed COMMAND [OPTIONS]\n"
    "\n"
    "The repute node. Commands for operators:\n"
    "\n"
    "  init     create a datadir: config, node key, validator key, genesis and\n"
    "           ledger (--dev: a single-validator development chain)\n"
    "  run      run the node in the foreground: RPC on DIR/rpc.sock, and block\n"
    "           production if this node is the chain's single validator\n"
    "\n"
    "Commands for auditors:\n"
    "\n"
    "  verify   replay a datadir's chain from genesis, re-checking every hash,\n"
    "           signature and rule, and compare the result with the datadir\n"
    "  export   write the chain as JSON Lines (readable) or binary (for import)\n"
    "  import   build a new datadir from a binary export, checking every block\n"
    "  scores   write a committed score table (CSV or JSON Lines)\n"
    "  help     show this help, or a command's: reputed help COMMAND\n"
    "\n"
    "Run 'reputed COMMAND --help' for a command's options.\n"
    "Exit status: 0 success, 1 failure (the message names height and reason),\n"
    "2 usage error.\n";

static const char usage_run[] =
    "usage: reputed run --datadir DIR\n"
    "\n"
    "Run the node in the foreground on the datadir DIR (made by 'reputed init'),\n"
    "configured by DIR/reputed.conf (configs/reputed.conf.example lists every\n"
    "key). It serves JSON-RPC 2.0 on the Unix socket DIR/rpc.sock (mode 0600;\n"
    "docs/rpc.md), admits records into its mempool, and, if its validator key\n"
    "alone is a quorum (the dev chain), makes a block every block_interval_ms\n"
    "while records wait, computing score epochs ahead on the worker pool.\n"
    "\n"
    "Logs go to stderr, one event per line: TIME LEVEL EVENT key=value...\n"
    "SIGINT or SIGTERM stops it cleanly: intake stops, waiting clients get an\n"
    "answer, the ledger is closed (a block is applied whole or not at all).\n"
    "A second 'reputed run' on the same datadir is refused.\n"
    "\n"
    "Before anything else it refuses, saying the fix: a datadir, reputed.conf\n"
    "or ledger folder that group, others or another user could change; a\n"
    "datadir an interrupted init left; a conf without [validator] enabled next\n"
    "to a validator key; a node key or genesis file that is not right\n"
    "(docs/operators.md, 'The datadir').\n"
    "\n"
    "Options:\n"
    "  --datadir DIR   the node's datadir (required)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 after a clean shutdown, 1 if the node cannot start (the\n"
    "message says why), 2 usage error.\n";

static const char usage_verify[] =
    "usage: reputed verify --datadir DIR\n"
    "\n"
    "Replay the chain stored in DIR from its genesis into a scratch ledger,\n"
    "applying every block exactly as a node applies a block from the network:\n"
    "hash links, Merkle roots, commit signatures and voting power, every\n"
    "record's rules and signatures, and the state hash after each block. Then\n"
    "check DIR's block-hash index, its tip and the size of its chain tables,\n"
    "and compare every state table of DIR with the replay, entry by entry.\n"
    "DIR is opened read-only; a node may keep running on it.\n"
    "\n"
    "Options:\n"
    "  --datadir DIR   the datadir to verify (required)\n"
    "  -h, --help      show this help\n"
    "\n"
    "The scratch ledger goes to a new folder under $TMPDIR (default /tmp) and\n"
    "is deleted afterwards; it needs about as much disk as DIR's ledger.\n"
    "Prints a summary and 'verify: OK' on success. On failure prints\n"
    "'verify: FAILED at height H: REASON' (or, for a state table, the table and\n"
    "entry) and exits 1. docs/auditing.md explains every check and message.\n";

static const char usage_export[] =
    "usage: reputed export --datadir DIR [--format jsonl|bin] [-o FILE]\n"
    "\n"
    "Write the chain stored in DIR, from genesis to its current tip.\n"
    "\n"
    "Options:\n"
    "  --datadir DIR       the datadir to export (required; opened read-only)\n"
    "  --format jsonl|bin  jsonl (default): one JSON object per line, the\n"
    "                      genesis first, then one line per block with every\n"
    "                      field decoded; bin: the compact binary stream that\n"
    "                      'reputed import' reads\n"
    "  -o, --output FILE   write to FILE (replaced only once the export is\n"
    "                      complete) instead of standard output; a binary\n"
    "                      export is never written to a terminal\n"
    "  -h, --help          show this help\n"
    "\n"
    "docs/auditing.md describes both formats field by field.\n";

static const char usage_import[] =
    "usage: reputed import --datadir DIR FILE\n"
    "\n"
    "Build datadir DIR from a binary export FILE ('-' for standard input),\n"
    "applying every block with full validation, as 'reputed verify' does, in\n"
    "durable batches of many blocks. DIR is created (mode 0700) if it does not\n"
    "exist. If DIR already holds a ledger of the same chain (an import that\n"
    "stopped or was killed), the import resumes after its tip, once each block\n"
    "it holds is found to be the export's. If a block fails or the file is\n"
    "truncated, the import stops there: DIR keeps the blocks before it, each\n"
    "fully checked, and the message names the failing height.\n"
    "\n"
    "Options:\n"
    "  --datadir DIR   the datadir to build or finish (required)\n"
    "  -h, --help      show this help\n";

static const char usage_scores[] =
    "usage: reputed scores --datadir DIR [--epoch N] [--format csv|jsonl] [-o FILE]\n"
    "\n"
    "Write the score table of a committed epoch (default: the latest), one\n"
    "row per identity in identity order: identity, global trust (as a\n"
    "fraction of 1, and in the exact units of 2^-60), trust-weighted rating\n"
    "in stars, live reviews received, score 0..1000 and confidence 0..1000.\n"
    "The first line (csv: a comment) names the epoch, its snapshot height, the\n"
    "height of the header that commits it and the table's Merkle root, so the\n"
    "table can be checked against that header. docs/trust.md defines every\n"
    "figure; the last 8 epochs are kept.\n"
    "\n"
    "Options:\n"
    "  --datadir DIR        the datadir (required; opened read-only)\n"
    "  --epoch N            the epoch (default: the latest)\n"
    "  --format csv|jsonl   csv (default) or JSON Lines (64-bit numbers as strings)\n"
    "  -o, --output FILE    write to FILE (replaced once complete) instead of stdout\n"
    "  -h, --help           show this help\n";

static const char usage_init[] =
    "usage: reputed init --datadir DIR --dev\n"
    "       reputed init --datadir DIR --genesis FILE\n"
    "                    [--validator | --validator-key KEY]\n"
    "                    [--passphrase-file FILE] [--passphrase-env NAME]\n"
    "\n"
    "Create the datadir of a node: DIR is created (mode 0700; its parent must\n"
    "exist), or an existing empty folder is used and set to 0700. An existing\n"
    "node is never overwritten: a DIR holding a ledger or a reputed.conf is\n"
    "refused, and so is any other folder that is not empty. If a step fails,\n"
    "what init created is removed again.\n"
    "\n"
    "Options:\n"
    "  --datadir DIR           the datadir to create (required)\n"
    "  --dev                   a single-validator development chain of its own:\n"
    "                          a fresh genesis (chain devnet-local, starting\n"
    "                          now, epochs of 10 blocks), a PLAINTEXT validator\n"
    "                          key, and a pre-trusted identity registered in\n"
    "                          block 1. Never for a real chain\n"
    "  --genesis FILE          the chain to join: FILE is checked and copied to\n"
    "                          DIR/genesis.json (docs/genesis.md)\n"
    "  --validator             with --genesis: generate a validator key, sealed\n"
    "                          with a passphrase (below), and print its public key\n"
    "  --validator-key KEY     with --genesis: copy the existing encrypted key\n"
    "                          file KEY instead (its passphrase is checked now)\n"
    "  --passphrase-file FILE  take the passphrase from FILE: a regular file of\n"
    "                          yours, mode 0600 or stricter, one trailing newline\n"
    "                          ignored. Recorded in reputed.conf for 'run'\n"
    "  --passphrase-env NAME   take it from the environment variable NAME instead\n"
    "                          of REPUTE_PASSPHRASE. Recorded in reputed.conf\n"
    "  -h, --help              show this help\n"
    "\n"
    "Files created in DIR, each mode 0600 and never overwritten:\n"
    "  reputed.conf     the configuration, every key documented (as in\n"
    "                   configs/reputed.conf.example)\n"
    "  genesis.json     the chain's genesis\n"
    "  node.key         the node's network identity: 32 random bytes in hex,\n"
    "                   plaintext by design (it signs nothing on chain)\n"
    "  validator.key    --validator, --validator-key: the encrypted validator\n"
    "                   key; --dev: a PLAINTEXT dev key\n"
    "  dev-anchor.key   --dev: the key of the pre-trusted identity \"Repute Dev\n"
    "                   Anchor\", encrypted with the EMPTY passphrase (use it\n"
    "                   with REPUTE_PASSPHRASE=\"\")\n"
    "  ledger/          the ledger (LMDB); --dev: at height 1\n"
    "\n"
    "The validator key's passphrase is taken from the first of:\n"
    "  1. the systemd credential validator-passphrase, that is the file\n"
    "     $CREDENTIALS_DIRECTORY/validator-passphrase (LoadCredential= in the\n"
    "     unit; configs/systemd/reputed.service)\n"
    "  2. --passphrase-file FILE\n"
    "  3. the environment variable REPUTE_PASSPHRASE (or --passphrase-env NAME)\n"
    "  4. a prompt without echo, twice, when standard input is a terminal\n"
    "With none of them init fails. An empty passphrase is refused. 'reputed run'\n"
    "looks in the same places ([validator] in reputed.conf). New key files use\n"
    "Argon2id with 256 MiB and 3 passes (about a second to open).\n"
    "\n"
    "A validator key only signs if the genesis lists it: init sets [validator]\n"
    "enabled = true when it does, and otherwise prints the public key to put in\n"
    "a genesis. The public keys and the chain id go to standard output.\n"
    "docs/operators.md walks through a dev chain and a real one.\n";

/* ---- progress ------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Ctrl-C stops cleanly once (the scratch ledger is removed); a second one
 * kills the process as usual. */
static void catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

struct progress {
    const char *cmd;
    int tty;
    double started, last;
    int drawn; /* a bar is on screen and must be cleared */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress_init(struct progress *p, const char *cmd)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->tty = isatty(STDERR_FILENO);
    p->started = p->last = now();
}

static void format_eta(char *out, size_t cap, double s)
{
    if (s < 0 || s > 99 * 3600.0) {
        snprintf(out, cap, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%lu:%02lu", t / 60, t % 60);
}

static void format_rate(char *out, size_t cap, double r)
{
    if (r >= 1e6)
        snprintf(out, cap, "%.2fM", r / 1e6);
    else if (r >= 1e4)
        snprintf(out, cap, "%.1fk", r / 1e3);
    else
        snprintf(out, cap, "%.0f", r);
}

/* done, total: progress units (heights or bytes); total 0 if unknown. */
static void progress_show(struct progress *p, uint64_t height, uint64_t total_height,
                          uint64_t records, double done, double total, int force)
{
    double t = now();
    if (!force && t - p->last < (p->tty ? 0.1 : 3.0))
        return;
    p->last = t;
    double elapsed = t - p->started;
    double frac = total > 0 ? done / total : 0;
    if (frac > 1)
        frac = 1;
    char rate[32], eta[32], of[32] = "";
    format_rate(rate, sizeof rate, elapsed > 0 ? (double)records / elapsed : 0);
    format_eta(eta, sizeof eta, frac > 0 ? elapsed * (1 - frac) / frac : -1);
    if (total_height)
        snprintf(of, sizeof of, "/%llu", (unsigned long long)total_height);
    if (total <= 0) { /* an import from a pipe: no size, no percentage */
        fprintf(stderr, "%s%s: height %llu, %llu records, %s records/s%s", p->tty ? "\r" : "",
                p->cmd, (unsigned long long)height, (unsigned long long)records, rate,
                p->tty ? "\033[K" : "\n");
        p->drawn = p->tty;
    } else if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r%s: [%s] %5.1f%%  height %llu%s  %s records/s  ETA %s\033[K", p->cmd,
                bar, frac * 100, (unsigned long long)height, of, rate, eta);
        p->drawn = 1;
    } else {
        fprintf(stderr, "%s: height %llu%s (%.1f%%), %llu records, %s records/s, ETA %s\n", p->cmd,
                (unsigned long long)height, of, frac * 100, (unsigned long long)records, rate, eta);
    }
    fflush(stderr);
}

static void progress_end(struct progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}

static int replay_progress(void *ctx, const rp_replay_progress *r)
{
    struct progress *p = ctx;
    if (r->stage == RP_REPLAY_COMPARE) {
        progress_show(p, r->height, r->total, r->records, 1, 1, 1);
        progress_end(p);
        fprintf(stderr, "%s: %llu blocks replayed; comparing the datadir with the replay\n", p->cmd,
                (unsigned long long)r->height);
    } else if (r->total)
        progress_show(p, r->height, r->total, r->records, (double)r->height, (double)r->total, 0);
    else
        progress_show(p, r->height, 0, r->records, (double)r->bytes_done, (double)r->bytes_total,
                      0);
    return interrupted ? -ECANCELED : 0;
}

/* ---- reporting ----------------------------------------------------------------------------- */

static void hex32(char out[65], const rp_hash *h)
{
    rp_hex_encode(out, 65, h->bytes, 32);
}

static void print_summary(const char *cmd, const rp_replay_report *r)
{
    char head[65], state[65], rec[32], sig[32];
    hex32(head, &r->tip.head_hash);
    hex32(state, &r->tip.state_hash);
    format_rate(rec, sizeof rec, r->records_per_s);
    format_rate(sig, sizeof sig, r->signatures_per_s);
    printf("%s: %llu blocks, %llu records, %llu signatures, %llu identities\n", cmd,
           (unsigned long long)r->blocks, (unsigned long long)r->records,
           (unsigned long long)r->signatures, (unsigned long long)r->identities);
    printf("%s: head %llu %s\n", cmd, (unsigned long long)r->tip.height, head);
    printf("%s: state %s\n", cmd, state);
    printf("%s: %.2f s, %s records/s, %s signatures/s\n", cmd, r->elapsed, rec, sig);
}

static void print_failure(const char *cmd, const rp_replay_report *r)
{
    if (r->code == -ECANCELED)
        fprintf(stderr, "%s: interrupted after %llu blocks\n", cmd, (unsigned long long)r->blocks);
    else if (r->failed_height)
        fprintf(stderr, "%s: FAILED at height %llu: %s\n", cmd,
                (unsigned long long)r->failed_height, r->reason);
    else if (r->code == RP_ERR_CORRUPT || r->code == -EAGAIN)
        fprintf(stderr, "%s: FAILED: %s\n", cmd, r->reason);
    else
        fprintf(stderr, "%s: %s\n", cmd, r->reason[0] ? r->reason : rp_strerror(r->code));
}

/* ---- verify ---------------------------------------------------------------------------------- */

static int start_crypto(const char *cmd, rp_pool **pool)
{
    int rc = rp_crypto_init();
    if (rc) {
        fprintf(stderr, "%s: %s\n", cmd, rp_strerror(rc));
        return rc;
    }
    if (pool && (rc = rp_pool_new(pool)) != 0) {
        fprintf(stderr, "%s: cannot start the worker pool: %s\n", cmd, rp_strerror(rc));
        return rc;
    }
    return 0;
}

/* Parse a command's options (argv[2..]; node/cmdline.h); opts[0] must be
 * "datadir", which every command requires. Returns -1 to go on, or the exit
 * status to return at once (0 after --help, RP_CMDLINE_USAGE after a
 * reported usage error). */
static int parse_command(int argc, char **argv, const char *cmd, const rp_cmdline_opt *opts,
                         size_t nopts, const char *usage, const char **pos, size_t npos_max,
                         size_t *npos)
{
    const rp_cmdline cl = {.prog = PROG,
                           .usage = usage,
                           .opts = opts,
                           .nopts = nopts,
                           .pos = pos,
                           .npos_max = npos_max};
    int rc = rp_cmdline_parse(&cl, argc, argv, 2, npos);
    if (rc == RP_CMDLINE_HELP) {
        fputs(usage, stdout);
        return 0;
    }
    if (rc)
        return rc;
    if (!*opts[0].value)
        return usage_error(usage, "%s needs --datadir DIR", cmd);
    return -1;
}

static int cmd_verify(int argc, char **argv)
{
    const char *datadir = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "datadir", .value = &datadir}};
    int rc = parse_command(argc, argv, "verify", opts, 1, usage_verify, pos, 0, &npos);
    if (rc >= 0)
        return rc;

    rp_pool *pool = NULL;
    if (start_crypto("verify", &pool) != 0)
        return 1;
    const char *tmp = getenv("TMPDIR");
    char scratch[4096];
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(scratch, sizeof scratch, "%s/reputed-verify-XXXXXX", tmp) >= (int)sizeof scratch ||
        !mkdtemp(scratch)) {
        fprintf(stderr, "verify: cannot create a scratch folder under %s: %s\n", tmp,
                strerror(errno));
        rp_pool_free(pool);
        return 1;
    }

    struct progress pr;
    rp_replay_report rep;
    progress_init(&pr, "verify");
    catch_interrupts();
    fprintf(stderr, "verify: replaying %s (scratch ledger in %s, %u worker threads)\n", datadir,
            scratch, rp_pool_threads(pool));
    rc = rp_replay_verify(
        datadir, scratch,
        &(rp_replay_opts){
            .verify = rp_pool_verify, .vctx = pool, .progress = replay_progress, .pctx = &pr},
        &rep);
    progress_end(&pr);
    uint64_t avail = 0;
    int full = rc && rp_disk_full(scratch, rep.code, &avail);
    if (rmdir(scratch) != 0)
        fprintf(stderr, "verify: warning: cannot remove %s: %s\n", scratch, strerror(errno));
    rp_pool_free(pool);
    if (full) {
        /* The scratch ledger did not fit: nothing is known about the chain. */
        char room[32];
        rp_disk_size_text(room, sizeof room, avail);
        fprintf(stderr,
                "verify: the scratch disk is full: the replay's ledger in %s ran out of room "
                "after %llu blocks (%s free there). It needs about the size of "
                "%s/ledger/data.mdb. Point TMPDIR at a disk with more room and run verify "
                "again; this says nothing about the chain.\n",
                tmp, (unsigned long long)rep.blocks, room, datadir);
        return 1;
    }
    if (rc) {
        print_failure("verify", &rep);
        if (rep.code != -ECANCELED && rep.failed_height > 1)
            fprintf(stderr, "verify: blocks 1..%llu checked out before the failure\n",
                    (unsigned long long)rep.failed_height - 1);
        else if (rep.code == RP_ERR_CORRUPT && !rep.failed_height && rep.blocks)
            fprintf(stderr,
                    "verify: the chain's %llu blocks checked out; the datadir's own "
                    "data does not match them\n",
                    (unsigned long long)rep.blocks);
        return 1;
    }
    print_summary("verify", &rep);
    printf("verify: OK\n");
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- export ------------------------------------------------------------------------------------
 */

static void export_progress(void *ctx, uint64_t height, uint64_t total)
{
    progress_show(ctx, height, total, 0, (double)height, (double)total, 0);
}

/* Write to FILE through a temporary file in the same folder, renamed over
 * FILE only once the export is complete and on disk. */
static int open_output(const char *path, char *tmp, size_t cap, FILE **out)
{
    if (snprintf(tmp, cap, "%s.tmp-XXXXXX", path) >= (int)cap)
        return -ENAMETOOLONG;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    *out = fdopen(fd, "wb");
    if (!*out) {
        int rc = -errno;
        close(fd);
        unlink(tmp);
        return rc;
    }
    return 0;
}

static int close_output(FILE *f, const char *tmp, const char *path, int ok)
{
    int rc = 0;
    if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = -errno;
    if (fclose(f) != 0 && ok && !rc)
        rc = -errno;
    if (ok && !rc && rename(tmp, path) != 0)
        rc = -errno;
    if (!ok || rc)
        unlink(tmp);
    return rc;
}

/* Start crypto and open a datadir read-only, reporting failures as cmd.
 * Returns: 0 with *s open, or -1 after printing why. */
static int open_readonly(const char *cmd, const char *datadir, rp_store **s)
{
    rp_store_error err;
    rp_store_opts ro = {.map_size = 0, .read_only = 1};
    if (start_crypto(cmd, NULL) != 0)
        return -1;
    if (rp_store_open(s, datadir, &ro, &err) != 0) {
        fprintf(stderr, "%s: cannot open the datadir: %s\n", cmd, err.msg);
        return -1;
    }
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    const char *datadir = NULL, *format = NULL, *output = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "datadir", .value = &datadir},
                                   {.name = "format", .value = &format},
                                   {.name = "output", .letter = 'o', .value = &output}};
    int rc = parse_command(argc, argv, "export", opts, 3, usage_export, pos, 0, &npos);
    if (rc >= 0)
        return rc;
    if (!format)
        format = "jsonl";
    int bin = !strcmp(format, "bin");
    if (!bin && strcmp(format, "jsonl") != 0)
        return usage_error(usage_export, "unknown format '%s' (use jsonl or bin)", format);
    if (bin && !output && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "export: refusing to write a binary export to a terminal; use -o FILE "
                        "or redirect standard output\n");
        return 1;
    }
    rp_store *s;
    if (open_readonly("export", datadir, &s) != 0)
        return 1;
    rp_store_error err;
    FILE *out = stdout;
    char tmp[4096];
    if (output && (rc = open_output(output, tmp, sizeof tmp, &out)) != 0) {
        fprintf(stderr, "export: cannot create %s: %s\n", output, rp_strerror(rc));
        rp_store_close(s);
        return 1;
    }
    rp_tip tip;
    (void)rp_store_tip(s, &tip);
    struct progress pr;
    progress_init(&pr, "export");
    rc = bin ? rp_export_write_bin(s, out, export_progress, &pr, &err)
             : rp_export_write_jsonl(s, out, export_progress, &pr, &err);
    progress_end(&pr);
    rp_store_close(s);
    int crc = 0;
    if (output)
        crc = close_output(out, tmp, output, rc == 0);
    else if (rc == 0 && fflush(stdout) != 0)
        crc = -errno;
    if (rc) {
        if (err.height)
            fprintf(stderr, "export: FAILED at height %llu: %s\n", (unsigned long long)err.height,
                    err.msg);
        else
            fprintf(stderr, "export: %s\n", err.msg);
        return 1;
    }
    if (crc) {
        fprintf(stderr, "export: writing %s: %s\n", output ? output : "standard output",
                rp_strerror(crc));
        return 1;
    }
    char head[65];
    hex32(head, &tip.head_hash);
    fprintf(stderr, "export: %llu blocks (%s) written to %s; head %s\n",
            (unsigned long long)tip.height, bin ? "bin" : "jsonl",
            output ? output : "standard output", head);
    return 0;
}

/* ---- scores ----------------------------------------------------------------------------------- */

struct score_out {
    FILE *f;
    int jsonl;
};

static int write_row(void *ctx, const rp_score_row *row)
{
    struct score_out *o = ctx;
    char id[65];
    rp_hex_encode(id, sizeof id, row->identity.bytes, 32);
    double trust = (double)row->trust / (double)(UINT64_C(1) << 60);
    int n;
    if (o->jsonl)
        n = fprintf(o->f,
                    "{\"identity\":\"%s\",\"trust\":\"%llu\",\"trust_fraction\":%.12g,"
                    "\"rating\":%u.%06u,\"reviews\":%u,\"score\":%u,\"confidence\":%u}\n",
                    id, (unsigned long long)row->trust, trust, (unsigned)(row->rating / 1000000),
                    (unsigned)(row->rating % 1000000), (unsigned)row->reviews,
                    (unsigned)row->score, (unsigned)row->confidence);
    else
        n = fprintf(o->f, "%s,%.12g,%llu,%u.%06u,%u,%u,%u\n", id, trust,
                    (unsigned long long)row->trust, (unsigned)(row->rating / 1000000),
                    (unsigned)(row->rating % 1000000), (unsigned)row->reviews,
                    (unsigned)row->score, (unsigned)row->confidence);
    return n < 0 ? -EIO : 0;
}

static int cmd_scores(int argc, char **argv)
{
    const char *datadir = NULL, *format = NULL, *output = NULL, *epoch_s = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "datadir", .value = &datadir},
                                   {.name = "format", .value = &format},
                                   {.name = "output", .letter = 'o', .value = &output},
                                   {.name = "epoch", .value = &epoch_s}};
    int rc = parse_command(argc, argv, "scores", opts, 4, usage_scores, pos, 0, &npos);
    if (rc >= 0)
        return rc;
    if (!format)
        format = "csv";
    int jsonl = !strcmp(format, "jsonl");
    if (!jsonl && strcmp(format, "csv") != 0)
        return usage_error(usage_scores, "unknown format '%s' (use csv or jsonl)", format);
    uint64_t epoch = 0;
    if (epoch_s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(epoch_s, &end, 10);
        if (errno || *epoch_s < '0' || *epoch_s > '9' || *end || v == 0)
            return usage_error(usage_scores, "--epoch takes a positive whole number");
        epoch = v;
    }
    rp_store *s;
    if (open_readonly("scores", datadir, &s) != 0)
        return 1;
    rp_epoch_info e;
    if ((rc = rp_store_read_epoch(s, epoch, &e)) != 0) {
        if (rc == RP_ERR_NOT_FOUND && epoch)
            fprintf(stderr, "scores: epoch %llu is not committed or no longer kept\n",
                    (unsigned long long)epoch);
        else if (rc == RP_ERR_NOT_FOUND)
            fprintf(stderr, "scores: no epoch is committed yet (the first comes at height "
                            "epoch_blocks + score_delay_blocks)\n");
        else
            fprintf(stderr, "scores: %s\n", rp_strerror(rc));
        rp_store_close(s);
        return 1;
    }
    FILE *out = stdout;
    char tmp[4096], root[65];
    if (output && (rc = open_output(output, tmp, sizeof tmp, &out)) != 0) {
        fprintf(stderr, "scores: cannot create %s: %s\n", output, rp_strerror(rc));
        rp_store_close(s);
        return 1;
    }
    hex32(root, &e.root);
    if (jsonl)
        fprintf(out,
                "{\"type\":\"epoch\",\"epoch\":\"%llu\",\"snapshot_height\":\"%llu\","
                "\"commit_height\":\"%llu\",\"score_root\":\"%s\",\"identities\":%u}\n",
                (unsigned long long)e.epoch, (unsigned long long)e.snapshot_height,
                (unsigned long long)e.commit_height, root, (unsigned)e.identities);
    else
        fprintf(out,
                "# epoch %llu, snapshot height %llu, committed at height %llu, score root %s\n"
                "identity,trust,trust_units,rating,reviews,score,confidence\n",
                (unsigned long long)e.epoch, (unsigned long long)e.snapshot_height,
                (unsigned long long)e.commit_height, root);
    struct score_out so = {out, jsonl};
    rc = rp_store_read_scores(s, e.epoch, write_row, &so);
    rp_store_close(s);
    int crc = 0;
    if (output)
        crc = close_output(out, tmp, output, rc == 0);
    else if (rc == 0 && fflush(stdout) != 0)
        crc = -errno;
    if (rc || crc) {
        fprintf(stderr, "scores: %s\n", rp_strerror(rc ? rc : crc));
        return 1;
    }
    fprintf(stderr, "scores: epoch %llu, %u identities\n", (unsigned long long)e.epoch,
            (unsigned)e.identities);
    return 0;
}

/* ---- import -------------------------------------------------------------------------------------
 */

static int cmd_run(int argc, char **argv)
{
    const char *datadir = NULL;
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "datadir", .value = &datadir}};
    int rc = parse_command(argc, argv, "run", opts, 1, usage_run, NULL, 0, &npos);
    if (rc >= 0)
        return rc;
    char err[512] = "";
    rc = rp_daemon_run(datadir, err, sizeof err);
    if (rc) {
        fprintf(stderr, "reputed run: %s\n", err[0] ? err : rp_strerror(rc));
        return 1;
    }
    return 0;
}

static int cmd_import(int argc, char **argv)
{
    const char *datadir = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "datadir", .value = &datadir}};
    int rc = parse_command(argc, argv, "import", opts, 1, usage_import, pos, 1, &npos);
    if (rc >= 0)
        return rc;
    if (npos != 1)
        return usage_error(usage_import, "import needs the export FILE to read");

    if (!strcmp(pos[0], "-") && isatty(STDIN_FILENO)) {
        fprintf(stderr, "import: refusing to read a binary export from a terminal\n");
        return 1;
    }
    rp_pool *pool = NULL;
    if (start_crypto("import", &pool) != 0)
        return 1;
    struct progress pr;
    rp_replay_report rep;
    progress_init(&pr, "import");
    catch_interrupts();
    rc = rp_replay_import(
        pos[0], datadir,
        &(rp_replay_opts){
            .verify = rp_pool_verify, .vctx = pool, .progress = replay_progress, .pctx = &pr},
        &rep);
    progress_end(&pr);
    rp_pool_free(pool);
    if (rep.resumed_from)
        fprintf(stderr,
                "import: resumed after height %llu (the blocks %s held were the export's)\n",
                (unsigned long long)rep.resumed_from, datadir);
    uint64_t avail = 0;
    if (rc && rp_disk_full(datadir, rep.code, &avail)) {
        char room[32];
        rp_disk_size_text(room, sizeof room, avail);
        fprintf(stderr,
                "import: the disk of %s is full (%s free): the import stopped with the datadir "
                "at height %llu, every block in it checked. Make room and run the same command "
                "again: it resumes there.\n",
                datadir, room, (unsigned long long)rep.tip.height);
        return 1;
    }
    if (rc) {
        print_failure("import", &rep);
        if (rep.tip.height) {
            char head[65];
            hex32(head, &rep.tip.head_hash);
            fprintf(stderr, "import: %s holds blocks 1..%llu, each fully checked (head %s)\n",
                    datadir, (unsigned long long)rep.tip.height, head);
        } else if (rep.failed_height) {
            fprintf(stderr, "import: %s holds the export's genesis and no block\n", datadir);
        }
        return 1;
    }
    print_summary("import", &rep);
    printf("import: OK\n");
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- init ------------------------------------------------------------------------------- */

static void print_dev_warning(const char *datadir)
{
    char key[80];
    if (snprintf(key, sizeof key, "%s/validator.key", datadir) >= (int)sizeof key)
        snprintf(key, sizeof key, "DATADIR/validator.key");
    fprintf(stderr,
            "\n"
            "  ******************************************************************\n"
            "  *  WARNING: DEVELOPMENT CHAIN - NOT FOR REAL USE                 *\n"
            "  *                                                                *\n"
            "  *  The validator key is stored in PLAINTEXT:                     *\n"
            "  *    %-60s*\n"
            "  *  Anyone who can read that file can sign blocks of this chain.  *\n"
            "  *  dev-anchor.key, the pre-trusted identity, has an EMPTY        *\n"
            "  *  passphrase. Use this chain for development and demos only.    *\n"
            "  *  A real chain: reputed init --genesis FILE --validator         *\n"
            "  ******************************************************************\n"
            "\n",
            key);
}

static int cmd_init(int argc, char **argv)
{
    const char *datadir = NULL, *genesis = NULL, *validator_key = NULL, *pass_file = NULL,
               *pass_env = NULL, *pos[1];
    int is_dev = 0, new_key = 0;
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "datadir", .value = &datadir},
                                   {.name = "genesis", .value = &genesis},
                                   {.name = "dev", .flag = &is_dev},
                                   {.name = "validator", .flag = &new_key},
                                   {.name = "validator-key", .value = &validator_key},
                                   {.name = "passphrase-file", .value = &pass_file},
                                   {.name = "passphrase-env", .value = &pass_env}};
    int rc = parse_command(argc, argv, "init", opts, sizeof opts / sizeof opts[0], usage_init, pos,
                           0, &npos);
    if (rc >= 0)
        return rc;
    if (is_dev == (genesis != NULL))
        return usage_error(usage_init, "init needs exactly one of --dev and --genesis FILE");
    if (is_dev && (new_key || validator_key || pass_file || pass_env))
        return usage_error(usage_init, "--dev makes its own (plaintext) validator key; "
                                       "--validator, --validator-key and the passphrase "
                                       "options go with --genesis");
    if (new_key && validator_key)
        return usage_error(usage_init,
                           "give --validator (a new key) or --validator-key KEY, not both");
    if ((pass_file || pass_env) && !new_key && !validator_key)
        return usage_error(usage_init,
                           "the passphrase options need --validator or --validator-key");

    rp_init_result res;
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = datadir;
    o.genesis = genesis;
    o.dev = is_dev;
    o.validator = new_key;
    o.validator_key = validator_key;
    o.passphrase_file = pass_file;
    o.passphrase_env = pass_env;
    o.result = &res;
    char err[1024];
    if ((rc = rp_node_init(&o, err, sizeof err)) != 0) {
        fprintf(stderr, "init: %s\n", err);
        return 1;
    }

    char hex[65];
    hex32(hex, &res.chain_id);
    printf("init: created %s for chain %s\n", datadir, res.chain_name);
    printf("init: chain id %s\n", hex);
    printf("init: ledger at height %llu\n", (unsigned long long)res.height);
    if (res.has_validator) {
        rp_hex_encode(hex, sizeof hex, res.validator.bytes, 32);
        printf("init: validator public key %s\n", hex);
        if (!is_dev)
            printf("init: validator key %s/validator.key (encrypted; passphrase from %s)\n",
                   datadir, res.passphrase_source);
    }
    if (res.has_anchor) {
        rp_hex_encode(hex, sizeof hex, res.anchor.bytes, 32);
        printf("init: dev anchor identity %s (pre-trusted, registered in block 1)\n", hex);
        printf("init: dev anchor key %s/%s (EMPTY passphrase)\n", datadir, RP_DEV_ANCHOR_FILE);
    }
    printf("init: start the node with: reputed run --datadir %s\n", datadir);
    if (fflush(stdout) != 0)
        return 1;
    if (res.has_validator && !res.validator_in_genesis)
        fprintf(stderr,
                "init: note: this validator key is not in the genesis validator set, so\n"
                "init: [validator] enabled = false and the node follows the chain without\n"
                "init: signing. To found a chain with it, give the public key above to whoever\n"
                "init: writes the genesis, then create a datadir from the final genesis with\n"
                "init: --validator-key and a copy of %s/validator.key (docs/operators.md).\n",
                datadir);
    if (is_dev)
        print_dev_warning(datadir);
    return 0;
}

/* ---- main
 * ---------------------------------------------------------------------------------------- */

static const rp_cmdline_command commands[] = {
    {.name = "init", .run = cmd_init, .usage = usage_init},
    {.name = "run", .run = cmd_run, .usage = usage_run},
    {.name = "verify", .run = cmd_verify, .usage = usage_verify},
    {.name = "export", .run = cmd_export, .usage = usage_export},
    {.name = "import", .run = cmd_import, .usage = usage_import},
    {.name = "scores", .run = cmd_scores, .usage = usage_scores},
};

static const rp_cmdline_command *find_command(const char *name)
{
    return rp_cmdline_find_command(commands, sizeof commands / sizeof commands[0], name);
}

int main(int argc, char **argv)
{
    rp_node_errors_register();
    if (argc < 2)
        return usage_error(usage_main, "missing command");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (argc == 2) {
            fputs(usage_main, stdout);
            return 0;
        }
        const rp_cmdline_command *c = find_command(argv[2]);
        if (strcmp(cmd, "help") != 0 || argc > 3 || !c)
            return usage_error(usage_main, argc > 3 || !c ? "help takes one known command"
                                                          : "unexpected argument");
        fputs(c->usage, stdout);
        return 0;
    }
    const rp_cmdline_command *c = find_command(cmd);
    if (!c)
        return usage_error(usage_main, "unknown command '%s'", cmd);
    return c->run(argc, argv);
}
