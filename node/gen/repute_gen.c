/* repute-gen: write a reproducible synthetic chain into a new datadir.
 *
 * A thin command line over node/gen/gen.h: strict argument parsing (every number
 * all digits and in range, every option known and given once, no stray
 * arguments), progress on stderr, and one summary line on stdout that
 * scripts can parse (key=value pairs). Exit status: 0 done, 1 the run
 * failed, 2 a usage error (nothing was touched).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "node/errors.h"
#include "node/gen/gen.h"
#include "node/pool.h"

#define PROG                "repute-gen"
#define EXIT_USAGE          2
#define PROGRESS_INTERVAL_S 2.0

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " --datadir DIR --identities N --reviews M [options]\n"
            "\n"
            "Write a reproducible synthetic repute chain into a new datadir DIR, block by\n"
            "block through the node's own validation and apply path, and around it what\n"
            "'reputed init --dev' writes (reputed.conf, genesis.json, node.key and the\n"
            "validator's key as a PLAINTEXT dev key), so that 'reputed run --datadir DIR'\n"
            "serves it at once. The same options give the same chain, bit for bit.\n"
            "\n"
            "Required:\n"
            "  --datadir DIR            the datadir to create (mode 0700; DIR must be missing\n"
            "                           or an empty folder, as for 'reputed init')\n"
            "  --identities N           honest identities, at least 2 (~60%% talents,\n"
            "                           ~25%% agents, ~15%% brands; the first 3 are the\n"
            "                           genesis's pre-trusted identities)\n"
            "  --reviews M              honest-market reviews, 0..%d x N (engagements\n"
            "                           follow: ~M/1.8, each reviewed once or both ways)\n"
            "\n"
            "Options:\n"
            "  --sybil S                sybil identities forming a 5-star collusion ring\n"
            "                           (default 0)\n"
            "  --attack-edges K         honest identities, at most N, that each engage a\n"
            "                           sybil and review it 5 stars (default 0; needs S > 0)\n"
            "  --badmouth B             engagements in which a sybil 1-stars a popular\n"
            "                           honest talent (default 0; needs S > 0)\n"
            "  --camouflage C           real engagements between a sybil and an honest agent\n"
            "                           or brand, reviewed both ways (5 stars from the sybil,\n"
            "                           4 or 5 back; default 0; needs S > 0)\n"
            "  --beneficiaries B        concentrated ring: the other sybils review only the\n"
            "                           first B sybils, 1..5 and below S (default 0: the\n"
            "                           ordinary ring)\n"
            "  --whitewash W            honest talents, at most N/4, rated 1 star by the\n"
            "                           market that each register a second, fresh identity\n"
            "                           (default 0)\n"
            "  --seed X                 seed of every key and choice, 0..2^64-1 (default 1)\n"
            "  --genesis FILE           also write the generated genesis JSON to FILE\n"
            "  --manifest FILE          write a JSON manifest of every identity (key, role,\n"
            "                           group honest, sybil, bad or whitewash,\n"
            "                           pre-trusted) to FILE\n"
            "  --records-per-block R    records per block, 1..%u (default %u)\n"
            "  --pow-difficulty D       registration proof-of-work bits, 1..32 (default %u;\n"
            "                           each step up doubles the registration work)\n"
            "  -h, --help               show this help and exit\n"
            "\n"
            "Numbers are decimal. Besides the honest market the chain holds N/10 vouches\n"
            "(agents for talents) and revokes 1%% of the reviews. After the last records\n"
            "come empty blocks, as a node makes them, up to the block that commits the\n"
            "score epoch covering them (settle_blocks below; epochs are 100 blocks,\n"
            "committed 10 blocks later). Progress goes to stderr; a final summary line\n"
            "to stdout:\n"
            "  blocks=B records=R identities=I engagements=E reviews=V vouches=W revokes=X\n"
            "  settle_blocks=Y epoch=P elapsed_s=T records_per_s=Q head=HASH\n"
            "\n"
            "Exit status: 0 success, 1 generation failed, 2 usage error.\n",
            RP_GEN_MAX_REVIEWS_PER_IDENTITY, (unsigned)RP_BLOCK_MAX_RECORDS,
            (unsigned)RP_GEN_DEFAULT_RECORDS_PER_BLOCK, (unsigned)RP_GEN_DEFAULT_POW_DIFFICULTY);
}

#if defined(__GNUC__)
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* A decimal number in [lo, hi]: digits only (no sign, space or prefix). */
static int parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return usage_error("%s: empty value (expected a number)", opt);
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return usage_error("%s: '%s' is not a non-negative decimal number", opt, s);
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return usage_error("%s: '%s' is too large", opt, s);
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return usage_error("%s: %llu is out of range %llu..%llu", opt, (unsigned long long)v,
                           (unsigned long long)lo, (unsigned long long)hi);
    *out = v;
    return 0;
}

enum opt_id {
    O_DATADIR,
    O_IDENTITIES,
    O_REVIEWS,
    O_SYBIL,
    O_ATTACK,
    O_SEED,
    O_GENESIS,
    O_MANIFEST,
    O_RPB,
    O_POW,
    O_BADMOUTH,
    O_CAMOUFLAGE,
    O_BENEFICIARIES,
    O_WHITEWASH,
    O_COUNT
};

static const char *const opt_names[O_COUNT] = {
    "--datadir",           "--identities",     "--reviews",  "--sybil",
    "--attack-edges",      "--seed",           "--genesis",  "--manifest",
    "--records-per-block", "--pow-difficulty", "--badmouth", "--camouflage",
    "--beneficiaries",     "--whitewash",
};

/* Not node/cmdline.h, which reputed and repute-cli share: repute-gen has no
 * positional arguments or flags, answers a usage error with one line and a
 * pointer to --help instead of the whole usage, and takes an argument that
 * starts with "--" for a forgotten value. Moving it over would change what
 * its users and scripts see. */
static int parse_args(int argc, char **argv, rp_gen_opts *o)
{
    const char *val[O_COUNT] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (a[0] == '-' && a[1] && strncmp(a, "--", 2) != 0)
            return usage_error("unknown option '%s'", a);
        if (strncmp(a, "--", 2) != 0 || !a[2])
            return usage_error("unexpected argument '%s'", a);
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        int id = -1;
        for (int k = 0; k < O_COUNT; k++)
            if (strlen(opt_names[k]) == nlen && !strncmp(opt_names[k], a, nlen))
                id = k;
        if (id < 0)
            return usage_error("unknown option '%.*s'", (int)nlen, a);
        if (val[id])
            return usage_error("%s given more than once", opt_names[id]);
        if (eq) {
            val[id] = eq + 1;
        } else {
            /* An option where the value should be is a forgotten value;
             * --opt=VALUE passes a value that starts with "--". */
            if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
                return usage_error("%s needs a value", opt_names[id]);
            val[id] = argv[++i];
        }
        if (!*val[id])
            return usage_error("%s: empty value", opt_names[id]);
    }
    if (!val[O_DATADIR])
        return usage_error("--datadir is required");
    if (!val[O_IDENTITIES])
        return usage_error("--identities is required");
    if (!val[O_REVIEWS])
        return usage_error("--reviews is required");

    uint64_t v;
    int rc;
    o->datadir = val[O_DATADIR];
    o->genesis_out = val[O_GENESIS];
    o->manifest = val[O_MANIFEST];
    if ((rc = parse_u64("--identities", val[O_IDENTITIES], 2, RP_GEN_MAX_IDENTITIES,
                        &o->identities)) ||
        (rc = parse_u64("--reviews", val[O_REVIEWS], 0, UINT64_MAX, &o->reviews)))
        return rc;
    if (val[O_SYBIL] &&
        (rc = parse_u64("--sybil", val[O_SYBIL], 0, RP_GEN_MAX_IDENTITIES, &o->sybil)))
        return rc;
    if (val[O_ATTACK] &&
        (rc = parse_u64("--attack-edges", val[O_ATTACK], 0, UINT64_MAX, &o->attack_edges)))
        return rc;
    if (val[O_BADMOUTH] &&
        (rc = parse_u64("--badmouth", val[O_BADMOUTH], 0, UINT64_MAX, &o->badmouth)))
        return rc;
    if (val[O_CAMOUFLAGE] &&
        (rc = parse_u64("--camouflage", val[O_CAMOUFLAGE], 0, UINT64_MAX, &o->camouflage)))
        return rc;
    if (val[O_BENEFICIARIES]) {
        if ((rc = parse_u64("--beneficiaries", val[O_BENEFICIARIES], 0, 5, &v)))
            return rc;
        o->beneficiaries = (uint32_t)v;
    }
    if (val[O_WHITEWASH] &&
        (rc = parse_u64("--whitewash", val[O_WHITEWASH], 0, RP_GEN_MAX_IDENTITIES, &o->whitewash)))
        return rc;
    o->seed = 1;
    if (val[O_SEED] && (rc = parse_u64("--seed", val[O_SEED], 0, UINT64_MAX, &o->seed)))
        return rc;
    if (val[O_RPB]) {
        if ((rc = parse_u64("--records-per-block", val[O_RPB], 1, RP_BLOCK_MAX_RECORDS, &v)))
            return rc;
        o->records_per_block = (uint32_t)v;
    }
    if (val[O_POW]) {
        if ((rc = parse_u64("--pow-difficulty", val[O_POW], 1, 32, &v)))
            return rc;
        o->pow_difficulty = (unsigned)v;
    }
    if (o->genesis_out && o->manifest && !strcmp(o->genesis_out, o->manifest))
        return usage_error("--genesis and --manifest name the same file");

    char msg[256];
    if (rp_gen_check(o, msg, sizeof msg) != 0)
        return usage_error("%s", msg);
    return 0;
}

/* ---- progress ------------------------------------------------------------------- */

struct progress {
    double start, last;
    int tty, printed;
    int all; /* the line for the last block of records is out */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, uint64_t height, uint64_t records, uint64_t total)
{
    struct progress *p = ctx;
    double t = now_s();
    /* Every interval, and once for the last block of records; the empty
     * blocks that settle the score epoch after it are quick. */
    if (t - p->last < PROGRESS_INTERVAL_S && (records < total || p->all))
        return;
    p->last = t;
    p->all = records == total;
    double el = t - p->start, rate = el > 0 ? (double)records / el : 0;
    double pct = total ? 100.0 * (double)records / (double)total : 100.0;
    double eta = rate > 0 ? (double)(total - records) / rate : 0;
    fprintf(stderr, "%sheight %llu, %llu/%llu records (%.1f%%), %.0f records/s, %.0f s left%s",
            p->tty ? "\r" : "", (unsigned long long)height, (unsigned long long)records,
            (unsigned long long)total, pct, rate, eta, p->tty ? "\033[K" : "\n");
    fflush(stderr);
    p->printed = 1;
}

/* The same alarm `reputed init --dev` raises, for a chain whose every key
 * follows from a seed on the command line. */
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
            "  *  Anyone who can read that file can sign blocks of this chain,  *\n"
            "  *  and every key of it, the validator's too, follows from the    *\n"
            "  *  seed. Use this chain for benchmarks, tests and demos only.    *\n"
            "  ******************************************************************\n"
            "\n",
            key);
}

int main(int argc, char **argv)
{
    rp_node_errors_register();
    rp_gen_opts o;
    rp_gen_stats st;
    rp_pool *pool = NULL;
    struct progress pr;
    char err[512], head[65];
    int rc;

    memset(&o, 0, sizeof o);
    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc;
    /* Records are signed on libuv's pool: one thread per core, unless the
     * environment says otherwise (before anything uses the pool). */
    if (!getenv("UV_THREADPOOL_SIZE")) {
        char v[16];
        snprintf(v, sizeof v, "%u", uv_available_parallelism());
        setenv("UV_THREADPOOL_SIZE", v, 1);
    }
    if ((rc = rp_crypto_init()) != 0) {
        fprintf(stderr, PROG ": cannot start the crypto library: %s\n", rp_strerror(rc));
        return 1;
    }
    if ((rc = rp_pool_new(&pool)) != 0) {
        fprintf(stderr, PROG ": cannot start the worker pool: %s\n", rp_strerror(rc));
        return 1;
    }

    memset(&pr, 0, sizeof pr);
    pr.tty = isatty(STDERR_FILENO);
    pr.start = pr.last = now_s();
    o.progress = on_progress;
    o.progress_ctx = &pr;
    o.pool = pool;
    rc = rp_gen_run(&o, &st, err, sizeof err);
    double elapsed = now_s() - pr.start;
    if (pr.tty && pr.printed)
        fputc('\n', stderr);
    rp_pool_free(pool);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err[0] ? err : rp_strerror(rc));
        return 1;
    }
    (void)rp_hex_encode(head, sizeof head, st.head.bytes, 32);
    printf("blocks=%llu records=%llu identities=%llu engagements=%llu reviews=%llu "
           "vouches=%llu revokes=%llu settle_blocks=%llu epoch=%llu elapsed_s=%.3f "
           "records_per_s=%.0f head=%s\n",
           (unsigned long long)st.blocks, (unsigned long long)st.records,
           (unsigned long long)st.identities, (unsigned long long)st.engagements,
           (unsigned long long)st.reviews, (unsigned long long)st.vouches,
           (unsigned long long)st.revokes, (unsigned long long)st.settle_blocks,
           (unsigned long long)st.epoch, elapsed, elapsed > 0 ? (double)st.records / elapsed : 0.0,
           head);
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": cannot write the summary: %s\n", strerror(errno));
        return 1;
    }
    fprintf(stderr, PROG ": start a node on it with: reputed run --datadir %s\n", o.datadir);
    print_dev_warning(o.datadir);
    return 0;
}
