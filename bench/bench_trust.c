/* Trust engine benchmark: the computation for 100k identities and 1M reviews.
 *
 * Builds a synthetic trust graph in memory from a fixed PRNG (so every run
 * times the same graph): N identities, of which the first P are pre-trusted;
 * E reviews whose raters are uniform and whose subjects follow a skewed
 * popularity (a few identities collect many reviews, as in a real market),
 * ratings mostly good, ages uniform over two years; plus V vouches. It then
 * times, median of several rounds:
 *   - the whole computation on one core (rp_trust_compute: matrix build,
 *     power iteration, ratings and scores), and its parts;
 *   - the same with the power iteration's ranges spread over T threads
 *     (rp_trust_split; a persistent pool of pthreads meeting at a barrier
 *     around each iteration, as libuv's pool runs uv_queue_work requests),
 *     checked bit-for-bit against the one-core result;
 * and prints iterations, edges per second per iteration, peak memory
 * (getrusage ru_maxrss, which includes the bench's own copy of the edges)
 * and the bars: the computation under 1 s on one core and under 200 MB.
 * Graph ingestion from LMDB is not part of this bench (the ledger side of
 * issue 4 is not built yet).
 *
 * Usage: bench_trust [--identities N] [--reviews E] [--vouches V]
 *                    [--threads T] [--rounds R]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "crypto/error.h"
#include "trust/trust.h"

#define MAX_THREADS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_trust: %s: %s\n", what, rp_strerror(rc));
    exit(1);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Skewed subject: the minimum of three uniform draws favours low indices. */
static uint32_t skewed(uint64_t *s, uint32_t n)
{
    uint32_t a = (uint32_t)(splitmix(s) % n), b = (uint32_t)(splitmix(s) % n);
    uint32_t c = (uint32_t)(splitmix(s) % n);
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

static rp_trust_edge *make_graph(uint32_t n, size_t reviews, size_t vouches)
{
    static const uint8_t ratings[10] = {5, 5, 5, 5, 4, 4, 4, 3, 2, 1};
    rp_trust_edge *e = malloc((reviews + vouches) * sizeof *e);
    if (!e)
        die("malloc", RP_ERR_NOMEM);
    uint64_t s = 42;
    for (size_t k = 0; k < reviews + vouches; k++) {
        uint32_t r = (uint32_t)(splitmix(&s) % n), j = skewed(&s, n);
        if (j == r)
            j = (j + 1) % n;
        int vouch = k >= reviews;
        e[k] = (rp_trust_edge){
            .rater = r,
            .subject = j,
            .age_s = vouch ? 0 : splitmix(&s) % (2 * 365 * 86400u),
            .kind = vouch ? RP_TRUST_VOUCH : RP_TRUST_REVIEW,
            .rating = vouch ? 0 : ratings[splitmix(&s) % 10],
        };
    }
    return e;
}

/* A persistent pool, like libuv's: T-1 worker threads plus this one, meeting
 * at a barrier before and after each iteration's ranges. */
struct pool {
    pthread_barrier_t start, end;
    rp_trust *t;
    const size_t *bounds;
    int stop;
    int rc[MAX_THREADS];
    double busy[MAX_THREADS]; /* seconds each thread spent in its ranges */
};

struct worker {
    struct pool *pool;
    int k;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *pl = w->pool;
    for (;;) {
        pthread_barrier_wait(&pl->start);
        if (pl->stop)
            return NULL;
        double t0 = now();
        pl->rc[w->k] = rp_trust_iterate_range(pl->t, pl->bounds[w->k], pl->bounds[w->k + 1]);
        pl->busy[w->k] += now() - t0;
        pthread_barrier_wait(&pl->end);
    }
}

struct timing {
    double build, iterate, result, step;
    double busy_max; /* the busiest thread's time in ranges */
};

/* One computation with the ranges over `threads` threads (1 = this thread). */
static struct timing run(rp_trust_score *out, uint32_t n, const rp_trust_edge *e, size_t ne,
                         const uint32_t *pre, size_t npre, const rp_trust_params *p, int threads,
                         rp_trust_info *info)
{
    struct timing tm;
    rp_trust *t;
    struct pool pl = {.stop = 0};
    pthread_t th[MAX_THREADS];
    struct worker ws[MAX_THREADS];
    size_t bounds[MAX_THREADS + 1];
    pthread_barrier_init(&pl.start, NULL, (unsigned)threads);
    pthread_barrier_init(&pl.end, NULL, (unsigned)threads);
    for (int k = 1; k < threads; k++) {
        ws[k] = (struct worker){&pl, k};
        if (pthread_create(&th[k], NULL, worker_main, &ws[k])) {
            fprintf(stderr, "bench_trust: pthread_create: %s\n", strerror(errno));
            exit(1);
        }
    }

    double t0 = now();
    int rc = rp_trust_new(&t, n, e, ne, pre, npre, p);
    if (rc)
        die("rp_trust_new", rc);
    double t1 = now();
    rp_trust_split(t, bounds, (size_t)threads);
    pl.t = t;
    pl.bounds = bounds;
    double step = 0;
    while (!rp_trust_done(t)) {
        if (threads > 1)
            pthread_barrier_wait(&pl.start);
        double r0 = now();
        pl.rc[0] = rp_trust_iterate_range(t, bounds[0], bounds[1]);
        pl.busy[0] += now() - r0;
        if (threads > 1)
            pthread_barrier_wait(&pl.end);
        for (int k = 0; k < threads; k++)
            if (pl.rc[k])
                die("rp_trust_iterate_range", pl.rc[k]);
        double s0 = now();
        if ((rc = rp_trust_step(t)))
            die("rp_trust_step", rc);
        step += now() - s0;
    }
    double t2 = now();
    if ((rc = rp_trust_result(t, out, n, info)))
        die("rp_trust_result", rc);
    rp_trust_free(t);
    double t3 = now();

    pl.stop = 1;
    if (threads > 1)
        pthread_barrier_wait(&pl.start);
    for (int k = 1; k < threads; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&pl.start);
    pthread_barrier_destroy(&pl.end);
    tm.build = t1 - t0;
    tm.iterate = t2 - t1;
    tm.result = t3 - t2;
    tm.step = step;
    tm.busy_max = 0;
    for (int k = 0; k < threads; k++)
        tm.busy_max = pl.busy[k] > tm.busy_max ? pl.busy[k] : tm.busy_max;
    return tm;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int k)
{
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    return v[k / 2];
}

int main(int argc, char **argv)
{
    uint32_t n = 100000;
    size_t reviews = 1000000, vouches = 50000;
    int threads = 2, rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--identities"))
            n = (uint32_t)v;
        else if (!strcmp(argv[i], "--reviews"))
            reviews = (size_t)v;
        else if (!strcmp(argv[i], "--vouches"))
            vouches = (size_t)v;
        else if (!strcmp(argv[i], "--threads"))
            threads = (int)v;
        else if (!strcmp(argv[i], "--rounds"))
            rounds = (int)v;
        else {
            fprintf(stderr, "bench_trust: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (n < 2 || threads < 1 || threads > MAX_THREADS || rounds < 1 || rounds > 64) {
        fprintf(stderr, "bench_trust: bad arguments\n");
        return 2;
    }

    rp_trust_params p;
    rp_trust_params_default(&p);
    uint32_t pre[100];
    size_t npre = n < 1000 ? 1 : 100;
    for (size_t k = 0; k < npre; k++)
        pre[k] = (uint32_t)(k * (n / npre));
    size_t ne = reviews + vouches;
    rp_trust_edge *e = make_graph(n, reviews, vouches);
    rp_trust_score *one = malloc(n * sizeof *one), *many = malloc(n * sizeof *many);
    if (!one || !many)
        die("malloc", RP_ERR_NOMEM);

    printf("trust bench: %u identities, %zu reviews + %zu vouches, %zu pre-trusted\n", n, reviews,
           vouches, npre);
    printf("params: damping %u ppm, max %u iterations, tolerance %u ppb, half-life %u d\n",
           p.damping_ppm, p.max_iterations, p.tolerance_ppb, p.half_life_days);

    double total1[64], build1[64], iter1[64], res1[64], step1[64], totalT[64], iterT[64], busy1[64],
        busyT[64];
    rp_trust_info info;
    int identical = 1;
    for (int r = 0; r < rounds; r++) {
        struct timing a = run(one, n, e, ne, pre, npre, &p, 1, &info);
        struct timing b = run(many, n, e, ne, pre, npre, &p, threads, NULL);
        identical &= memcmp(one, many, n * sizeof *one) == 0;
        build1[r] = a.build;
        iter1[r] = a.iterate;
        res1[r] = a.result;
        step1[r] = a.step;
        total1[r] = a.build + a.iterate + a.result;
        iterT[r] = b.iterate;
        busy1[r] = a.busy_max;
        busyT[r] = b.busy_max;
        totalT[r] = b.build + b.iterate + b.result;
    }
    double tot1 = median(total1, rounds), it1 = median(iter1, rounds);
    double totT = median(totalT, rounds), itT = median(iterT, rounds);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mb = (double)ru.ru_maxrss / 1024.0;
    double per_iter = it1 / (info.iterations ? info.iterations : 1);

    uint64_t sum = 0;
    for (uint32_t j = 0; j < n; j++)
        sum += one[j].trust;
    printf("matrix: %zu nonzero pairs; %u iterations, %s (last L1 change %.3g)\n", info.pairs,
           info.iterations, info.converged ? "converged" : "stopped at the cap",
           (double)info.last_delta / (double)RP_TRUST_ONE);
    printf("trust sum: 2^60 - %llu units\n", (unsigned long long)(RP_TRUST_ONE - sum));
    printf("one core (median of %d): total %.1f ms = build %.1f + iterate %.1f + ratings/scores "
           "%.1f\n",
           rounds, tot1 * 1e3, median(build1, rounds) * 1e3, it1 * 1e3, median(res1, rounds) * 1e3);
    printf("per iteration: %.2f ms, %.1f M edges/s (of which the serial step %.2f ms)\n",
           per_iter * 1e3, (double)info.pairs / per_iter / 1e6,
           median(step1, rounds) * 1e3 / (info.iterations ? info.iterations : 1));
    printf("%d threads: total %.1f ms, iterate %.1f ms; speed-up of the iteration %.2fx, "
           "of the total %.2fx; bits %s\n",
           threads, totT * 1e3, itT * 1e3, it1 / itT, tot1 / totT,
           identical ? "identical" : "DIFFERENT");
    double b1 = median(busy1, rounds), bT = median(busyT, rounds);
    unsigned it = info.iterations ? info.iterations : 1;
    printf("  range work per iteration: %.3f ms on one core, %.3f ms on the busiest of %d "
           "threads (%.2fx); the rest, %.3f ms, is the serial step and waking the pool\n",
           b1 * 1e3 / it, bT * 1e3 / it, threads, b1 / bT, (itT - bT) * 1e3 / it);
    printf("peak memory (ru_maxrss, including the bench's %.1f MB edge list): %.1f MB\n",
           (double)(ne * sizeof *e) / 1048576.0, mb);
    int ok_time = tot1 < 1.0, ok_mem = mb < 200.0;
    printf("bars: computation < 1 s on one core: %s (%.3f s); < 200 MB: %s (%.1f MB)\n",
           ok_time ? "PASS" : "FAIL", tot1, ok_mem ? "PASS" : "FAIL", mb);
    free(e);
    free(one);
    free(many);
    return identical && ok_time && ok_mem ? 0 : 1;
}
