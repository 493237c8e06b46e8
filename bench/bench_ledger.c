/* Ledger benchmark: how fast blocks apply and replay, and what a record costs
 * on disk, next to the machine's own limits measured in the same run.
 *
 *   1. generate a chain with repute-gen's library (default: 100k identities
 *      and 500k reviews, about 1M records), timed;
 *   2. machine limits: the raw BIP-340 verify rate (parse + verify, as in
 *      bench_crypto) on one core and on all cores, and the raw LMDB write
 *      rate (durable transactions of 1,000 puts of 32-byte keys and 100-byte
 *      values);
 *   3. apply: every block of the chain applied to a fresh store through
 *      rp_exec_commit with the pool verifier, as import and sync do;
 *   4. verify: `reputed verify`'s replay (rp_replay_verify), in signatures
 *      per second, its ratio to the raw all-core verify rate measured just
 *      before (bar 0.85) and how many cores it kept busy; then import of the
 *      chain's binary export (rp_replay_import, target 0.7), the same way;
 *   5. bytes on disk per record (blocks allocated by data.mdb / records);
 *   6. the latest score epoch computed again from the chain, with the graph
 *      snapshot from LMDB and the trust engine timed separately.
 *
 * Usage: bench_ledger [--identities N] [--reviews M] [--seed X] [--keep DIR]
 */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/epoch.h"
#include "ledger/exec.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "node/gen/gen.h"
#include "node/pool.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_ledger: %s: %s\n", what, msg);
    exit(1);
}

/* ---- raw BIP-340 verify rate ---------------------------------------------- */

#define NSIG 64
static secp256k1_context *vctx;
static unsigned char vpk[NSIG][32], vmsg[NSIG][32], vsig[NSIG][64];

struct vjob {
    double seconds;
    unsigned long ops;
};

static void *verify_worker(void *arg)
{
    struct vjob *j = arg;
    double end = now() + j->seconds;
    unsigned long ops = 0;
    while (now() < end) {
        for (int i = 0; i < NSIG; i++) {
            secp256k1_xonly_pubkey pk;
            if (!secp256k1_xonly_pubkey_parse(vctx, &pk, vpk[i]) ||
                !secp256k1_schnorrsig_verify(vctx, vsig[i], vmsg[i], 32, &pk))
                die("raw verify", "a valid signature failed");
            ops++;
        }
    }
    j->ops = ops;
    return NULL;
}

static double raw_verify_rate(int threads, double seconds)
{
    pthread_t t[64];
    struct vjob jobs[64];
    double t0 = now();
    unsigned long ops = 0;
    for (int i = 0; i < threads; i++) {
        jobs[i].seconds = seconds;
        if (pthread_create(&t[i], NULL, verify_worker, &jobs[i]))
            die("pthread_create", strerror(errno));
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        ops += jobs[i].ops;
    }
    return (double)ops / (now() - t0);
}

static void setup_raw_verify(void)
{
    unsigned char seed[32] = {9};
    vctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    for (int i = 0; i < NSIG; i++) {
        rp_seckey sk;
        rp_pubkey pk;
        rp_sig sig;
        unsigned char aux[32] = {0};
        if (rp_seckey_from_seed(&sk, seed, (uint64_t)i) || rp_pubkey_from_seckey(&pk, &sk))
            die("keys", "derivation failed");
        memset(vmsg[i], i, 32);
        if (rp_sign(&sig, vmsg[i], 32, &sk, aux))
            die("sign", "failed");
        memcpy(vpk[i], pk.bytes, 32);
        memcpy(vsig[i], sig.bytes, 64);
        sodium_memzero(&sk, sizeof sk);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_verify_rate(int threads)
{
    double v[5];
    for (int i = 0; i < 5; i++)
        v[i] = raw_verify_rate(threads, 0.4);
    qsort(v, 5, sizeof v[0], cmp_double);
    return v[2];
}

/* ---- raw LMDB write rate --------------------------------------------------- */

static double raw_lmdb_rate(const char *dir)
{
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    const int txns = 200, per = 1000;
    if (mkdir(dir, 0700) && errno != EEXIST)
        die("mkdir", strerror(errno));
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 1ULL << 32) ||
        mdb_env_open(env, dir, 0, 0600))
        die("lmdb", "cannot open the raw-rate environment");
    double t0 = now();
    for (int t = 0; t < txns; t++) {
        if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi))
            die("lmdb", "txn");
        for (int i = 0; i < per; i++) {
            unsigned char k[32], v[100];
            uint64_t n = (uint64_t)t * per + (uint64_t)i;
            memset(k, 0, sizeof k);
            memset(v, (int)(n & 0xFF), sizeof v);
            /* Scattered keys, like record ids. */
            n *= 0x9E3779B97F4A7C15ULL;
            memcpy(k, &n, sizeof n);
            MDB_val kv = {sizeof k, k}, vv = {sizeof v, v};
            if (mdb_put(txn, dbi, &kv, &vv, 0))
                die("lmdb", "put");
        }
        if (mdb_txn_commit(txn))
            die("lmdb", "commit");
    }
    double rate = (double)txns * per / (now() - t0);
    mdb_env_close(env);
    return rate;
}

/* User and system CPU seconds of the whole process so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ---- apply ------------------------------------------------------------------ */

static double apply_all(const char *src, const char *dst, rp_pool *pool, uint64_t *records)
{
    rp_store *from, *to;
    rp_store_opts ro = {.read_only = 1};
    rp_store_error err;
    rp_tip tip;
    if (rp_store_open(&from, src, &ro, &err))
        die("open source", err.msg);
    if (mkdir(dst, 0700) && errno != EEXIST)
        die("mkdir", strerror(errno));
    if (rp_store_create(&to, dst, rp_store_genesis(from), NULL, &err))
        die("create", err.msg);
    if (rp_store_tip(from, &tip))
        die("tip", "cannot read");
    double busy = 0;
    *records = 0;
    for (uint64_t h = 1; h <= tip.height; h++) {
        unsigned char *b, *c;
        size_t bl, cl;
        rp_header hdr;
        if (rp_store_read_block(from, h, &b, &bl) || rp_store_read_commit(from, h, &c, &cl) ||
            rp_store_read_header(from, h, &hdr))
            die("read", "block or commit missing");
        double t0 = now();
        if (rp_exec_commit(to, b, bl, c, cl, NULL, rp_pool_verify, pool, &err))
            die("apply", err.msg);
        busy += now() - t0;
        *records += hdr.record_count;
        free(b);
        free(c);
    }
    rp_store_close(from);
    rp_store_close(to);
    return busy;
}

static void progress(void *ctx, uint64_t height, uint64_t records, uint64_t total)
{
    double *last = ctx;
    if (now() - *last > 10) {
        fprintf(stderr, "  generating: height %llu, %llu/%llu records\n",
                (unsigned long long)height, (unsigned long long)records, (unsigned long long)total);
        *last = now();
    }
}

int main(int argc, char **argv)
{
    uint64_t identities = 100000, reviews = 500000, seed = 1;
    const char *keep = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--identities") && i + 1 < argc)
            identities = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reviews") && i + 1 < argc)
            reviews = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
            keep = argv[++i];
        else {
            fprintf(stderr, "usage: bench_ledger [--identities N] [--reviews M] [--seed X] "
                            "[--keep DIR]\n");
            return 2;
        }
    }
    rp_pool *pool;
    if (rp_crypto_init() || rp_pool_new(&pool))
        die("init", "crypto or pool");
    char root[64] = "/tmp/rp-bench-ledger-XXXXXX", src[128], dst[128], raw[128], scratch[128];
    if (!mkdtemp(root))
        die("mkdtemp", strerror(errno));
    if (keep && mkdir(keep, 0700) && errno != EEXIST)
        die("mkdir", strerror(errno));
    snprintf(src, sizeof src, "%s/chain", keep ? keep : root);
    snprintf(dst, sizeof dst, "%s/applied", root);
    snprintf(raw, sizeof raw, "%s/raw-lmdb", root);
    snprintf(scratch, sizeof scratch, "%s/scratch", root);
    int threads = (int)rp_pool_threads(pool);

    printf("bench_ledger: %llu identities, %llu reviews, seed %llu, %d worker threads\n",
           (unsigned long long)identities, (unsigned long long)reviews, (unsigned long long)seed,
           threads);

    /* 1. the chain (reused with --keep if it is already there) */
    struct stat st;
    char ledger[160];
    snprintf(ledger, sizeof ledger, "%s/ledger", src);
    if (stat(ledger, &st) != 0) {
        rp_gen_opts o;
        rp_gen_stats gs;
        char err[256];
        double last = now();
        memset(&o, 0, sizeof o);
        o.datadir = src;
        o.identities = identities;
        o.reviews = reviews;
        o.seed = seed;
        o.pool = pool;
        o.progress = progress;
        o.progress_ctx = &last;
        double t0 = now();
        if (rp_gen_run(&o, &gs, err, sizeof err))
            die("generate", err);
        double dt = now() - t0;
        printf("%-44s %12.0f   (%llu records in %llu blocks, %.1f s)\n",
               "generate (records/s, sign + prepare + apply)", (double)gs.records / dt,
               (unsigned long long)gs.records, (unsigned long long)gs.blocks, dt);
    }

    /* 2. machine limits */
    setup_raw_verify();
    double v1 = median_verify_rate(1), vall = median_verify_rate(threads);
    double lmdb = raw_lmdb_rate(raw);
    printf("%-44s %12.0f\n", "raw BIP-340 verify, 1 core (sig/s)", v1);
    printf("%-44s %12.0f\n", "raw BIP-340 verify, all cores (sig/s)", vall);
    printf("%-44s %12.0f\n", "raw LMDB durable puts (puts/s)", lmdb);

    /* 3. apply */
    uint64_t records;
    double busy = apply_all(src, dst, pool, &records);
    printf("%-44s %12.0f   (%llu records, %.1f s)\n", "apply blocks (records/s)",
           (double)records / busy, (unsigned long long)records, busy);

    /* 4. verify: the replay, with the raw rate measured again right before
     * (a shared machine drifts), and how busy the cores were. */
    if (mkdir(scratch, 0700))
        die("mkdir", strerror(errno));
    rp_replay_report rep;
    double vraw = median_verify_rate(threads);
    double c0 = cpu_seconds();
    if (rp_replay_verify(src, scratch, &(rp_replay_opts){.verify = rp_pool_verify, .vctx = pool},
                         &rep))
        die("verify", rep.reason);
    double cpu = cpu_seconds() - c0;
    printf("%-44s %12.0f   (raw all-core verify now: %.0f sig/s)\n", "verify replay (sig/s)",
           rep.signatures_per_s, vraw);
    printf("%-44s %12.3f   (bar: >= 0.85; %llu signatures, %.1f s)\n",
           "ratio verify / raw all-core verify", rep.signatures_per_s / vraw,
           (unsigned long long)rep.signatures, rep.elapsed);
    printf("%-44s %12.2f   (of %ld cores)\n", "verify: cores busy (cpu time / wall time)",
           cpu / rep.elapsed, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-44s %12.0f\n", "verify replay (records/s)", rep.records_per_s);

    /* 4b. import: the chain's binary export into a new datadir, durable
     * batches, as `reputed import` does. */
    {
        char bin[160], imported[160];
        snprintf(bin, sizeof bin, "%s/chain.bin", root);
        snprintf(imported, sizeof imported, "%s/imported", root);
        rp_store *s;
        rp_store_opts ro = {.read_only = 1};
        rp_store_error err;
        if (rp_store_open(&s, src, &ro, &err))
            die("open", err.msg);
        FILE *f = fopen(bin, "wb");
        if (!f || rp_export_write_bin(s, f, NULL, NULL, NULL) != 0 || fclose(f) != 0)
            die("export", "cannot write the binary export");
        rp_store_close(s);
        vraw = median_verify_rate(threads);
        c0 = cpu_seconds();
        if (rp_replay_import(bin, imported,
                             &(rp_replay_opts){.verify = rp_pool_verify, .vctx = pool}, &rep))
            die("import", rep.reason);
        cpu = cpu_seconds() - c0;
        printf("%-44s %12.0f   (raw all-core verify now: %.0f sig/s)\n", "import (sig/s)",
               rep.signatures_per_s, vraw);
        printf("%-44s %12.3f   (target: >= 0.7; %.1f s)\n", "ratio import / raw all-core verify",
               rep.signatures_per_s / vraw, rep.elapsed);
        printf("%-44s %12.2f   (of %ld cores)\n", "import: cores busy (cpu time / wall time)",
               cpu / rep.elapsed, sysconf(_SC_NPROCESSORS_ONLN));
    }

    /* 5. disk */
    char data[200];
    snprintf(data, sizeof data, "%s/data.mdb", ledger);
    if (stat(data, &st) == 0)
        printf("%-44s %12.1f   (%.1f MiB on disk)\n", "bytes on disk per record",
               (double)st.st_blocks * 512.0 / (double)records,
               (double)st.st_blocks * 512.0 / 1048576.0);

    /* 6. an epoch: snapshot from LMDB, then the engine */
    {
        rp_store *s;
        rp_store_opts ro = {.read_only = 1};
        rp_store_error err;
        rp_epoch_info latest, info;
        rp_epoch_result *r;
        double snap, comp;
        size_t edges;
        if (rp_store_open(&s, src, &ro, &err))
            die("open", err.msg);
        if (rp_store_read_epoch(s, 0, &latest) == 0 &&
            rp_store_epoch_compute(s, latest.epoch, &r, &err) == 0) {
            rp_epoch_result_info(r, &info, &snap, &comp, &edges);
            printf("%-44s %12.3f   (epoch %llu: %u identities, %zu edges)\n",
                   "epoch: graph snapshot from LMDB (s)", snap, (unsigned long long)info.epoch,
                   (unsigned)info.identities, edges);
            printf("%-44s %12.3f   (bar: < 1 s on one core)\n", "epoch: trust engine (s)", comp);
            printf("%-44s %12s   (%s)\n", "epoch: root matches the committed one", "",
                   rp_hash_eq(&info.root, &latest.root) ? "yes" : "NO");
            rp_epoch_result_free(r);
        } else {
            printf("%-44s %12s\n", "epoch", "(the chain has no committed epoch)");
        }
        rp_store_close(s);
    }

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_ledger: could not remove %s\n", root);
    secp256k1_context_destroy(vctx);
    rp_pool_free(pool);
    return 0;
}
