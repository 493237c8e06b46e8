/* Sybil-resistance benchmark: how much of the trust engine's global trust,
 * and how many top-100 places, attackers win in synthetic chains, next to a
 * naive mean-rating ranking of the same chains.
 *
 * For every scenario and seed, repute-gen's library writes a chain into a
 * temporary datadir (default: 2,000 honest identities, 20,000 market
 * reviews, a ring of 1,000 sybils; about 150 blocks of records, after which
 * the generator settles epoch 2 -- snapshot at height 200, committed at 210
 * -- which covers the whole chain). The latest committed epoch's score
 * table is read back from the store and the manifest says which identity is
 * which. Per run it prints:
 *   trust%   sybil trust / total trust in the table (the engine's output);
 *   top100   sybils among the top 100 by score (score desc, then trust
 *            desc, then identity index);
 *   naive%   the sybils' share of all live positive (4 or 5 star) reviews
 *            received: what an unweighted count of good reviews hands them;
 *   ntop100  sybils among the top 100 of the naive ranking: the plain
 *            arithmetic mean of the overall ratings an identity received
 *            (desc, then review count desc, then index), identities with no
 *            review left out.
 * Both naive figures use exactly the reviews the engine saw: those in blocks
 * up to the epoch's snapshot height and not revoked (the generator reports
 * every review and whether it will be revoked through rp_gen_opts.on_review;
 * since the snapshot covers the whole chain, that is every live review).
 *
 * Scenarios (every one with the 1,000-sybil ring; see node/gen/gen.h):
 *   sweep     10, 100 and 1,000 attack edges (10 is the plain ring, (a));
 *             the bar: with 10 edges the ring holds under 1% of global trust
 *             and no top-100 place, printed PASS/FAIL per seed;
 *   badmouth  10 edges, plus 1,000 engagements in which a sybil 1-stars a
 *             popular honest talent; also prints the targets' mean score and
 *             naive mean against all honest talents';
 *   camo      10 edges, plus 500 real engagements between a sybil and an
 *             honest agent or brand, good reviews both ways;
 *   conc1/5   10 edges, a concentrated ring pouring every 5-star review into
 *             1 or 5 beneficiaries;
 *   white     10 edges, plus 20 honest talents rated 1 star by the market
 *             that each register a fresh identity: prints the mean score
 *             and rank of the old and the new identities and the honest
 *             median.
 * Nothing is tuned to any figure; the seeds are 1..seeds.
 *
 * Usage: bench_trust_sybil [--seeds N] [--only NAME] [--identities N]
 *                          [--reviews M] [--sybil S]
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/query.h"
#include "ledger/store.h"
#include "node/gen/gen.h"
#include "node/pool.h"

enum { G_HONEST, G_SYBIL, G_BAD, G_WHITE };

struct review {
    uint64_t height;
    uint32_t issuer, subject;
    uint8_t stars, revoked;
};

/* One run's data, indexed by key index (1..nids-1). */
struct run {
    uint32_t nids;
    rp_pubkey *pk;
    uint8_t *group;
    uint32_t *byk; /* indices sorted by public key */
    struct review *rev;
    size_t nrev, caprev;
    int *has;
    uint64_t *trust;
    uint16_t *score;
    int failed;
};

struct scenario {
    const char *name;
    uint64_t edges, badmouth, camouflage, whitewash;
    uint32_t beneficiaries;
};

static const struct scenario scenarios[] = {
    {"sweep", 10, 0, 0, 0, 0},       {"sweep", 100, 0, 0, 0, 0}, {"sweep", 1000, 0, 0, 0, 0},
    {"badmouth", 10, 1000, 0, 0, 0}, {"camo", 10, 0, 500, 0, 0}, {"conc1", 10, 0, 0, 0, 1},
    {"conc5", 10, 0, 0, 0, 5},       {"white", 10, 0, 0, 20, 0},
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_trust_sybil: %s: %s\n", what, msg);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("calloc", "out of memory");
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_review(void *ctx, uint64_t height, uint32_t issuer, uint32_t subject,
                      uint8_t overall, int revoked)
{
    struct run *R = ctx;
    if (R->nrev == R->caprev) {
        size_t c = R->caprev ? 2 * R->caprev : 4096;
        struct review *p = realloc(R->rev, c * sizeof *p);
        if (!p) {
            R->failed = 1;
            return;
        }
        R->rev = p;
        R->caprev = c;
    }
    R->rev[R->nrev++] = (struct review){height, issuer, subject, overall, (uint8_t)revoked};
}

static const struct run *sort_run;

static int cmp_pk(const void *a, const void *b)
{
    return memcmp(sort_run->pk[*(const uint32_t *)a].bytes,
                  sort_run->pk[*(const uint32_t *)b].bytes, 32);
}

static void read_manifest(struct run *R, const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *ids = root ? json_object_get(root, "identities") : NULL;
    if (!json_is_array(ids))
        die(path, root ? "no identities array" : jerr.text);
    R->nids = (uint32_t)json_array_size(ids) + 1;
    R->pk = xcalloc(R->nids, sizeof *R->pk);
    R->group = xcalloc(R->nids, 1);
    R->byk = xcalloc(R->nids - 1, sizeof *R->byk);
    for (uint32_t i = 1; i < R->nids; i++) {
        json_t *e = json_array_get(ids, i - 1);
        const char *hex = json_string_value(json_object_get(e, "pubkey"));
        const char *g = json_string_value(json_object_get(e, "group"));
        if (!hex || !g || rp_hex_decode(R->pk[i].bytes, 32, hex, strlen(hex)))
            die(path, "bad identity entry");
        R->group[i] = !strcmp(g, "sybil")       ? G_SYBIL
                      : !strcmp(g, "bad")       ? G_BAD
                      : !strcmp(g, "whitewash") ? G_WHITE
                                                : G_HONEST;
        R->byk[i - 1] = i;
    }
    json_decref(root);
    sort_run = R;
    qsort(R->byk, R->nids - 1, sizeof *R->byk, cmp_pk);
}

static int on_row(void *ctx, const rp_score_row *row)
{
    struct run *R = ctx;
    size_t lo = 0, hi = R->nids - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(R->pk[R->byk[mid]].bytes, row->identity.bytes, 32);
        if (c == 0) {
            uint32_t i = R->byk[mid];
            R->has[i] = 1;
            R->trust[i] = row->trust;
            R->score[i] = row->score;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0; /* the validator, or anything the manifest does not list */
}

/* Rankings: by score, and by naive mean. */
static double *naive_mean;
static uint64_t *naive_cnt;
static const struct run *rank_run;

static int cmp_score(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const struct run *R = rank_run;
    if (R->score[x] != R->score[y])
        return R->score[x] > R->score[y] ? -1 : 1;
    if (R->trust[x] != R->trust[y])
        return R->trust[x] > R->trust[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int cmp_naive(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (naive_mean[x] != naive_mean[y])
        return naive_mean[x] > naive_mean[y] ? -1 : 1;
    if (naive_cnt[x] != naive_cnt[y])
        return naive_cnt[x] > naive_cnt[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

struct result {
    double trust_share, naive_share;
    unsigned top, ntop;
    char detail[400]; /* a scenario's extra line, or "" */
};

static uint64_t estimate_records(uint64_t n, uint64_t m, uint64_t s, const struct scenario *sc)
{
    return n + s + sc->whitewash + m + m * 5 / 9 + n / 10 + m / 100 + 9 * s + 2 * sc->edges +
           2 * sc->badmouth + 3 * sc->camouflage;
}

static void run_one(rp_pool *pool, const char *root, const struct scenario *sc, uint64_t n,
                    uint64_t m, uint64_t s, uint64_t seed, struct result *res)
{
    char dir[512], manifest[512], cmd[1100], err[512];
    snprintf(dir, sizeof dir, "%s/chain", root);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", root);
    struct run R;
    memset(&R, 0, sizeof R);

    uint64_t rpb = estimate_records(n, m, s, sc) / 150;
    rp_gen_opts o = {
        .datadir = dir,
        .identities = n,
        .reviews = m,
        .sybil = s,
        .attack_edges = sc->edges,
        .seed = seed,
        .manifest = manifest,
        .records_per_block = (uint32_t)(rpb ? rpb : 1),
        .pool = pool,
        .badmouth = sc->badmouth,
        .camouflage = sc->camouflage,
        .beneficiaries = sc->beneficiaries,
        .whitewash = sc->whitewash,
        .on_review = on_review,
        .on_review_ctx = &R,
    };
    rp_gen_stats st;
    int rc = rp_gen_run(&o, &st, err, sizeof err);
    if (rc)
        die("rp_gen_run", err);
    if (R.failed)
        die("on_review", "out of memory");
    read_manifest(&R, manifest);

    rp_store *store;
    rp_store_error serr;
    rp_store_opts ro = {.read_only = 1};
    if ((rc = rp_store_open(&store, dir, &ro, &serr)) != 0)
        die("rp_store_open", serr.msg[0] ? serr.msg : rp_strerror(rc));
    rp_epoch_info info;
    if ((rc = rp_store_read_epoch(store, 0, &info)) != 0)
        die("rp_store_read_epoch", rp_strerror(rc));
    R.has = xcalloc(R.nids, sizeof *R.has);
    R.trust = xcalloc(R.nids, sizeof *R.trust);
    R.score = xcalloc(R.nids, sizeof *R.score);
    if ((rc = rp_store_read_scores(store, 0, on_row, &R)) != 0)
        die("rp_store_read_scores", rp_strerror(rc));
    rp_store_close(store);

    /* Trust share and the score ranking. */
    uint64_t total = 0, syb = 0; /* trust sums to about 2^60: no overflow */
    uint32_t *order = xcalloc(R.nids, sizeof *order);
    size_t nrank = 0;
    for (uint32_t i = 1; i < R.nids; i++) {
        if (!R.has[i])
            continue;
        total += R.trust[i];
        if (R.group[i] == G_SYBIL)
            syb += R.trust[i];
        order[nrank++] = i;
    }
    rank_run = &R;
    qsort(order, nrank, sizeof *order, cmp_score);
    uint32_t *rank = xcalloc(R.nids, sizeof *rank); /* 1-based, 0 = no row */
    for (size_t k = 0; k < nrank; k++)
        rank[order[k]] = (uint32_t)(k + 1);
    res->detail[0] = '\0';
    res->trust_share = total ? (double)syb / (double)total : 0;
    res->top = 0;
    for (size_t k = 0; k < nrank && k < 100; k++)
        res->top += R.group[order[k]] == G_SYBIL;

    /* The naive figures, from the reviews the engine saw. */
    naive_mean = xcalloc(R.nids, sizeof *naive_mean);
    naive_cnt = xcalloc(R.nids, sizeof *naive_cnt);
    uint8_t *target = xcalloc(R.nids, 1);
    uint64_t pos = 0, pos_syb = 0;
    for (size_t k = 0; k < R.nrev; k++) {
        const struct review *v = &R.rev[k];
        if (v->height > info.snapshot_height || v->revoked)
            continue;
        naive_mean[v->subject] += v->stars;
        naive_cnt[v->subject]++;
        if (v->stars >= 4) {
            pos++;
            pos_syb += R.group[v->subject] == G_SYBIL;
        }
        if (v->stars == 1 && R.group[v->issuer] == G_SYBIL && R.group[v->subject] != G_SYBIL)
            target[v->subject] = 1;
    }
    size_t nn = 0;
    uint32_t *norder = xcalloc(R.nids, sizeof *norder);
    for (uint32_t i = 1; i < R.nids; i++)
        if (naive_cnt[i]) {
            naive_mean[i] /= (double)naive_cnt[i];
            norder[nn++] = i;
        }
    qsort(norder, nn, sizeof *norder, cmp_naive);
    res->naive_share = pos ? (double)pos_syb / (double)pos : 0;
    res->ntop = 0;
    for (size_t k = 0; k < nn && k < 100; k++)
        res->ntop += R.group[norder[k]] == G_SYBIL;

    if (sc->badmouth) {
        double ts = 0, tn = 0, hs = 0, hn = 0;
        unsigned nt = 0, nh = 0, ttop = 0, tntop = 0;
        for (uint32_t i = 1; i < R.nids; i++) {
            if (R.group[i] != G_HONEST || !R.has[i] || !naive_cnt[i])
                continue;
            if (target[i]) {
                ts += R.score[i];
                tn += naive_mean[i];
                nt++;
                ttop += rank[i] <= 100;
            } else {
                hs += R.score[i];
                hn += naive_mean[i];
                nh++;
            }
        }
        for (size_t k = 0; k < nn && k < 100; k++)
            tntop += target[norder[k]];
        snprintf(res->detail, sizeof res->detail,
                 "    badmouth: %u honest targets: mean score %.1f (others %.1f), mean naive "
                 "%.2f (others %.2f); targets in top 100: %u by score, %u naive",
                 nt, nt ? ts / nt : 0, nh ? hs / nh : 0, nt ? tn / nt : 0, nh ? hn / nh : 0, ttop,
                 tntop);
    }
    if (sc->whitewash) {
        double bs = 0, ws = 0, br = 0, wr = 0;
        unsigned nb = 0, nw = 0;
        uint16_t *hsc = xcalloc(R.nids, sizeof *hsc);
        size_t nh = 0;
        for (uint32_t i = 1; i < R.nids; i++) {
            if (!R.has[i])
                continue;
            if (R.group[i] == G_BAD) {
                bs += R.score[i];
                br += rank[i];
                nb++;
            } else if (R.group[i] == G_WHITE) {
                ws += R.score[i];
                wr += rank[i];
                nw++;
            } else if (R.group[i] == G_HONEST) {
                hsc[nh++] = R.score[i];
            }
        }
        /* Median honest score: a counting pass over 0..1000. */
        unsigned cnt[1001] = {0}, med = 0;
        for (size_t k = 0; k < nh; k++)
            cnt[hsc[k] > 1000 ? 1000 : hsc[k]]++;
        for (size_t acc = 0; med <= 1000; med++)
            if ((acc += cnt[med]) * 2 >= nh)
                break;
        snprintf(res->detail, sizeof res->detail,
                 "    whitewash: old identities (%u) mean score %.1f, mean rank %.0f of %zu; "
                 "new identities (%u) mean score %.1f, mean rank %.0f; honest median score %u",
                 nb, nb ? bs / nb : 0, nb ? br / nb : 0, nrank, nw, nw ? ws / nw : 0,
                 nw ? wr / nw : 0, med);
        free(hsc);
    }

    free(order);
    free(rank);
    free(norder);
    free(target);
    free(naive_mean);
    free(naive_cnt);
    free(R.pk);
    free(R.group);
    free(R.byk);
    free(R.rev);
    free(R.has);
    free(R.trust);
    free(R.score);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, manifest);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_trust_sybil: could not remove %s\n", dir);
}

static uint64_t arg_u64(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || !*v || v[0] == '-')
        die(opt, "needs a decimal number");
    return x;
}

int main(int argc, char **argv)
{
    uint64_t seeds = 5, n = 2000, m = 20000, s = 1000;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            die(argv[i], "needs a value (usage: see the top of bench_trust_sybil.c)");
        if (!strcmp(argv[i], "--seeds"))
            seeds = arg_u64(argv[i], argv[i + 1]);
        else if (!strcmp(argv[i], "--only"))
            only = argv[i + 1];
        else if (!strcmp(argv[i], "--identities"))
            n = arg_u64(argv[i], argv[i + 1]);
        else if (!strcmp(argv[i], "--reviews"))
            m = arg_u64(argv[i], argv[i + 1]);
        else if (!strcmp(argv[i], "--sybil"))
            s = arg_u64(argv[i], argv[i + 1]);
        else
            die(argv[i], "unknown option");
        i++;
    }
    rp_pool *pool;
    if (rp_crypto_init() || rp_pool_new(&pool))
        die("init", "cannot start crypto or the worker pool");
    char root[] = "/tmp/bench_trust_sybil.XXXXXX";
    if (!mkdtemp(root))
        die("mkdtemp", strerror(errno));

    printf("bench_trust_sybil: %llu honest identities, %llu reviews, %llu sybils, seeds 1..%llu\n",
           (unsigned long long)n, (unsigned long long)m, (unsigned long long)s,
           (unsigned long long)seeds);
    printf("%-9s %5s %4s %8s %6s %8s %7s  %s\n", "scenario", "edges", "seed", "trust%", "top100",
           "naive%", "ntop100", "bar");
    unsigned fails = 0, barred_runs = 0;
    for (size_t c = 0; c < NSCEN; c++) {
        const struct scenario *sc = &scenarios[c];
        if (only && strcmp(only, sc->name) != 0)
            continue;
        struct result sum;
        memset(&sum, 0, sizeof sum);
        unsigned maxtop = 0, maxntop = 0;
        double maxshare = 0;
        double t0 = now();
        for (uint64_t seed = 1; seed <= seeds; seed++) {
            struct result r;
            run_one(pool, root, sc, n, m, s, seed, &r);
            const char *bar = "";
            int barred = !strcmp(sc->name, "sweep") && sc->edges == 10;
            if (barred) {
                int pass = r.trust_share < 0.01 && r.top == 0;
                bar = pass ? "PASS" : "FAIL";
                fails += !pass;
                barred_runs++;
            }
            printf("%-9s %5llu %4llu %8.4f %6u %8.4f %7u  %s\n", sc->name,
                   (unsigned long long)sc->edges, (unsigned long long)seed, 100 * r.trust_share,
                   r.top, 100 * r.naive_share, r.ntop, bar);
            if (r.detail[0])
                printf("%s\n", r.detail);
            fflush(stdout);
            sum.trust_share += r.trust_share;
            sum.naive_share += r.naive_share;
            sum.top += r.top;
            sum.ntop += r.ntop;
            maxshare = r.trust_share > maxshare ? r.trust_share : maxshare;
            maxtop = r.top > maxtop ? r.top : maxtop;
            maxntop = r.ntop > maxntop ? r.ntop : maxntop;
        }
        if (seeds)
            printf("%-9s %5llu mean %8.4f %6.1f %8.4f %7.1f  (max trust%% %.4f, max top100 %u, "
                   "max ntop100 %u; %.1f s)\n",
                   sc->name, (unsigned long long)sc->edges, 100 * sum.trust_share / (double)seeds,
                   (double)sum.top / (double)seeds, 100 * sum.naive_share / (double)seeds,
                   (double)sum.ntop / (double)seeds, 100 * maxshare, maxtop, maxntop, now() - t0);
    }
    printf("bar (10 attack edges: under 1%% of trust and no top-100 place, every seed): %s\n",
           !barred_runs ? "not run"
           : fails      ? "FAIL"
                        : "PASS");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_trust_sybil: could not remove %s\n", root);
    rp_pool_free(pool);
    return 0;
}
