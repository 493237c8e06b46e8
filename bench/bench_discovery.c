/* Discovery benchmark: score.top's filtered, ordered pages over a chain of
 * 100,000 identities, measured on a real `reputed run` over its Unix
 * socket, next to the machine's own reference measured in the same run on
 * the same connection.
 *
 *   1. repute-gen writes the chain (default --identities 100000 --reviews
 *      200000 --records-per-block 700: ~420k records in ~600 blocks, so 6
 *      score epochs of 100 blocks whose scores change as the reviews
 *      arrive: rise over 3 epochs needs 4). --keep DIR keeps it for the
 *      next run, and serves a chain already there.
 *   2. reputed serves it (no p2p listener). The first score.top builds the
 *      epoch's ranking cache on the pool (the latest table, the kept
 *      epochs' scores, the score order and every rise order): its latency
 *      is printed apart, as what the first client after an epoch waits.
 *   3. With the cache warm, one connection, one request in flight, --calls
 *      calls (2,000) of each query, round robin over the kinds so that no
 *      kind gets a quieter moment of the machine than another:
 *        ref    chain.head: the node's cheapest read, the reference;
 *        top    score.top limit 100, the score order;
 *        top-f  the same, talents with min_reviews 3 and min_confidence 300;
 *        rise   order rise over 3 epochs, limit 100;
 *        rise-f the same, talents with min_reviews 2 and min_confidence 200;
 *        deep   rise-f at offset 2,000 (scans past 2,000 matches);
 *        hist   score.history of one of the top rows' identities.
 *      Printed: p50 and p99 in ms, each kind's p99 over the reference's p99,
 *      and the bar, p99 under 10 ms for the score.top kinds (a figure, not
 *      an assertion: this is a shared machine; see the load average).
 *
 * Latency is the client's round trip: the request line written, the answer
 * read and parsed (a page of 100 rows is ~30 KB of JSON), as a client sees
 * it.
 *
 * Usage: bench_discovery [--identities N] [--reviews M]
 *                        [--records-per-block R] [--calls N] [--keep DIR]
 *                        [--keep-work]
 * reputed is $RP_REPUTED or ../node/reputed next to this program's folder,
 * repute-gen $RP_REPUTE_GEN or ../node/repute-gen.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/procs.h"
#include "crypto/error.h"

#define OVERALL_S 3600
#define GEN_S     2400.0
#define BAR_MS    10.0

static char gen_bin[4096];

static int usage(void)
{
    fprintf(stderr, "usage: bench_discovery [--identities N] [--reviews M] "
                    "[--records-per-block R] [--calls N] [--keep DIR] [--keep-work]\n");
    return 2;
}

static int has_chain(const char *dir)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    return stat(path, &sb) == 0;
}

static void generate(const char *dir, const char *identities, const char *reviews, const char *rpb)
{
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/gen.out", rp_procs_work());
    snprintf(err, sizeof err, "%s/gen.log", rp_procs_work());
    char d[4096], ni[32], nr[32], nb[32];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(ni, sizeof ni, "%s", identities);
    snprintf(nr, sizeof nr, "%s", reviews);
    snprintf(nb, sizeof nb, "%s", rpb);
    char *argv[] = {
        gen_bin, "--datadir", d,   "--identities",     ni,  "--reviews", nr, "--records-per-block",
        nb,      "--seed",    "1", "--pow-difficulty", "1", NULL};
    printf("1. repute-gen --identities %s --reviews %s --records-per-block %s "
           "--pow-difficulty 1 into %s\n",
           identities, reviews, rpb, dir);
    fflush(stdout);
    double t = rp_procs_now();
    int st = rp_procs_run(argv, out, err, GEN_S);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        rp_procs_print_tail("repute-gen's output", err);
        rp_procs_die("repute-gen %s", st < 0 ? "did not finish in time" : "failed");
    }
    char *text = rp_procs_read_file(out);
    printf("   generated in %.1f s: %s", rp_procs_now() - t, text ? text : "(no summary)\n");
    free(text);
}

/* One round trip; the answer must be a result. Returns its seconds. */
static double timed(rp_procs_node *n, const char *method, json_t *params, json_t **keep)
{
    double t = rp_procs_now();
    json_t *res = rp_procs_call(n, method, params);
    t = rp_procs_now() - t;
    if (keep)
        *keep = res;
    else
        json_decref(res);
    return t;
}

enum { K_REF, K_TOP, K_TOP_F, K_RISE, K_RISE_F, K_DEEP, K_HIST, NKINDS };

static const char *const kind_names[NKINDS] = {"ref",    "top",  "top-f", "rise",
                                               "rise-f", "deep", "hist"};
static const char *const kind_what[NKINDS] = {
    "chain.head (the reference)",
    "score.top limit 100",
    "score.top talent, min_reviews 3, min_confidence 300",
    "score.top order rise, epochs 3",
    "score.top rise 3, talent, min_reviews 2, min_confidence 200",
    "the same at offset 2000",
    "score.history of a top identity",
};

static json_t *kind_params(int k, const char *who)
{
    switch (k) {
    case K_TOP:
        return json_pack("{s:i}", "limit", 100);
    case K_TOP_F:
        return json_pack("{s:i,s:s,s:i,s:i}", "limit", 100, "role", "talent", "min_reviews", 3,
                         "min_confidence", 300);
    case K_RISE:
        return json_pack("{s:i,s:s,s:i}", "limit", 100, "order", "rise", "epochs", 3);
    case K_RISE_F:
    case K_DEEP:
        return json_pack("{s:i,s:s,s:i,s:s,s:i,s:i,s:i}", "limit", 100, "order", "rise", "epochs",
                         3, "role", "talent", "min_reviews", 2, "min_confidence", 200, "offset",
                         k == K_DEEP ? 2000 : 0);
    case K_HIST:
        return json_pack("{s:s}", "identity", who);
    default:
        return NULL;
    }
}

static const char *kind_method(int k)
{
    return k == K_REF ? "chain.head" : k == K_HIST ? "score.history" : "score.top";
}

int main(int argc, char **argv)
{
    const char *identities = "100000", *reviews = "200000", *rpb = "700", *keep = NULL;
    long calls = 2000;
    int keep_work = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--identities") && val && rp_procs_digits(val))
            identities = argv[++i];
        else if (!strcmp(a, "--reviews") && val && rp_procs_digits(val))
            reviews = argv[++i];
        else if (!strcmp(a, "--records-per-block") && val && rp_procs_digits(val))
            rpb = argv[++i];
        else if (!strcmp(a, "--calls") && val && rp_procs_digits(val))
            calls = atol(argv[++i]);
        else if (!strcmp(a, "--keep") && val)
            keep = argv[++i];
        else if (!strcmp(a, "--keep-work"))
            keep_work = 1;
        else
            return usage();
    }
    if (calls < 10 || calls > 1000000) {
        fprintf(stderr, "bench_discovery: --calls 10..1000000\n");
        return 2;
    }
    rp_procs_setup("bench_discovery", argv[0], keep_work, OVERALL_S);
    rp_procs_find_bin(gen_bin, sizeof gen_bin, "RP_REPUTE_GEN", "../node/repute-gen", argv[0]);
    if (rp_crypto_init() != 0)
        rp_procs_die("%s", rp_strerror(RP_ERR_CRYPTO_INIT));
    printf("bench_discovery: load average %.2f, %ld cores\n", rp_procs_loadavg(),
           sysconf(_SC_NPROCESSORS_ONLN));

    /* 1. The chain. */
    char chain_dir[4096];
    if (keep)
        snprintf(chain_dir, sizeof chain_dir, "%s", keep);
    else
        snprintf(chain_dir, sizeof chain_dir, "%s/chain", rp_procs_work());
    if (keep && has_chain(chain_dir))
        printf("1. serving the chain already in %s (--keep)\n", chain_dir);
    else
        generate(chain_dir, identities, reviews, rpb);

    /* 2. The node, and the first score.top of the epoch. */
    rp_procs_node *v = rp_procs_node_new("node");
    if (strlen(chain_dir) + sizeof "/rpc.sock" > sizeof v->dir)
        rp_procs_die("--keep: the path is too long");
    snprintf(v->dir, sizeof v->dir, "%s", chain_dir);
    snprintf(v->sock, sizeof v->sock, "%s/rpc.sock", chain_dir);
    rp_procs_conf_p2p(v, "", NULL, 0);
    rp_procs_node_start(v);
    json_t *head = rp_procs_call(v, "chain.head", NULL);
    uint64_t epoch = rp_procs_u64(v, head, "epoch");
    json_decref(head);
    json_t *first = NULL;
    double build = timed(v, "score.top", json_pack("{s:i}", "limit", 100), &first);
    size_t rows = (size_t)rp_procs_u64(v, first, "total");
    printf("2. epoch %llu, %zu identities in its table; the first score.top (builds the "
           "epoch's ranking) %.0f ms\n",
           (unsigned long long)epoch, rows, build * 1e3);
    if (epoch < 4)
        rp_procs_die("the chain has %llu epochs: rise over 3 needs 4 (more records or fewer "
                     "per block)",
                     (unsigned long long)epoch);
    json_t *top_rows = json_object_get(first, "rows");
    size_t nwho = json_array_size(top_rows);
    if (nwho == 0)
        rp_procs_die("score.top answered no rows");

    /* What each kind answers, once, for the table. */
    json_t *once[NKINDS] = {0};
    for (int k = 0; k < NKINDS; k++)
        timed(v, kind_method(k),
              kind_params(
                  k, json_string_value(json_object_get(json_array_get(top_rows, 0), "identity"))),
              &once[k]);

    /* 3. Round robin over the kinds. */
    double *lat[NKINDS];
    for (int k = 0; k < NKINDS; k++)
        if (!(lat[k] = malloc((size_t)calls * sizeof *lat[k])))
            rp_procs_die("out of memory");
    double t0 = rp_procs_now();
    for (long i = 0; i < calls; i++)
        for (int k = 0; k < NKINDS; k++) {
            const char *who = json_string_value(
                json_object_get(json_array_get(top_rows, (size_t)i % nwho), "identity"));
            lat[k][i] = timed(v, kind_method(k), kind_params(k, who), NULL);
        }
    double took = rp_procs_now() - t0;

    printf("3. %ld calls of each kind, one connection, one in flight (%.1f s; load average "
           "%.2f)\n\n",
           calls, took, rp_procs_loadavg());
    printf("   %-7s %9s %9s %9s %8s  %s\n", "kind", "total", "p50 ms", "p99 ms", "p99/ref", "what");
    double ref_p99 = 0;
    int over = 0;
    for (int k = 0; k < NKINDS; k++) {
        double p50 = rp_procs_quantile(lat[k], (size_t)calls, 0.5) * 1e3;
        double p99 = rp_procs_quantile(lat[k], (size_t)calls, 0.99) * 1e3;
        if (k == K_REF)
            ref_p99 = p99;
        char total[24] = "-";
        json_t *t = json_object_get(once[k], "total");
        if (json_is_integer(t))
            snprintf(total, sizeof total, "%lld", (long long)json_integer_value(t));
        printf("   %-7s %9s %9.3f %9.3f %8.1f  %s\n", kind_names[k], total, p50, p99,
               ref_p99 > 0 ? p99 / ref_p99 : 0, kind_what[k]);
        if (k != K_REF && k != K_HIST && p99 >= BAR_MS)
            over++;
    }
    printf("\n   bar: filtered, ordered top-100 under %.0f ms p99: %s\n", BAR_MS,
           over ? "MISSED (see the load average)" : "met");
    for (int k = 0; k < NKINDS; k++) {
        free(lat[k]);
        json_decref(once[k]);
    }
    json_decref(first);
    rp_procs_node_stop(v);
    rp_procs_finish();
    return 0;
}
