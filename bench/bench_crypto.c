/* Crypto benchmark: the machine's own BIP-340 limits and what the record
 * codec costs on top of them.
 *
 * Prints, per core and on all cores:
 *   - raw sign rate: secp256k1_schnorrsig_sign32 with a precomputed key pair;
 *   - raw verify rate: BIP-340 Verify from the 32-byte key, i.e.
 *     secp256k1_xonly_pubkey_parse + secp256k1_schnorrsig_verify, exactly the
 *     pair libsecp256k1's own bench_schnorrsig times; this is the machine's
 *     limit every repute figure is compared against (the rate with a
 *     pre-parsed key is printed too, for reference);
 *   - record verify rate, in signatures per second: decode the bytes, compute
 *     the id, parse the signer keys and verify every signature, as a node
 *     does for each record it receives;
 * and the ratio record/raw (the bar is at least 0.9: the codec must cost
 * under 10% on top of the signature).
 *
 * Each figure is the median of several timed rounds; shared machines are
 * noisy, so trust the ratios (both sides measured in the same run) more than
 * the absolute rates. Threads here are plain pthreads: this is a benchmark,
 * not the node, which spreads batches over libuv's pool instead.
 *
 * Usage: bench_crypto [--seconds S] [--rounds N] [--threads T]
 */
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/sig.h"
#include "ledger/record.h"

#define NKEYS 64
#define NRECORDS 4096

static double round_seconds = 0.5;
static int rounds = 5;

static secp256k1_context *ctx;
static secp256k1_keypair keypairs[NKEYS];
static secp256k1_xonly_pubkey xonly[NKEYS];
static unsigned char pk_bytes[NKEYS][32];
static unsigned char msgs[NKEYS][32];
static unsigned char sigs[NKEYS][64];

static unsigned char rec_bytes[NRECORDS][RP_RECORD_MAX_SIZE];
static size_t rec_len[NRECORDS];
static rp_hash chain_id;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum kind { RAW_SIGN, RAW_VERIFY, RAW_VERIFY_PARSED, RECORD_VERIFY, NKINDS };

struct job {
    enum kind kind;
    unsigned offset; /* so threads work on different data */
    double seconds;
    unsigned long ops; /* signatures signed or verified */
    unsigned long failures;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    double end = now() + j->seconds;
    unsigned long ops = 0, bad = 0;
    unsigned i = j->offset;
    while (now() < end) {
        /* Check the clock every 64 operations only. */
        for (int k = 0; k < 64; k++, i++) {
            switch (j->kind) {
            case RAW_SIGN: {
                unsigned char sig[64], aux[32] = {0};
                aux[0] = (unsigned char)i;
                if (!secp256k1_schnorrsig_sign32(ctx, sig, msgs[i % NKEYS], &keypairs[i % NKEYS],
                                                 aux))
                    bad++;
                ops++;
                break;
            }
            case RAW_VERIFY: {
                /* BIP-340 Verify takes the key as 32 bytes and lifts it to a
                 * point itself; libsecp256k1's own bench_schnorrsig times the
                 * same parse + verify pair. */
                secp256k1_xonly_pubkey pk;
                if (!secp256k1_xonly_pubkey_parse(ctx, &pk, pk_bytes[i % NKEYS]) ||
                    !secp256k1_schnorrsig_verify(ctx, sigs[i % NKEYS], msgs[i % NKEYS], 32, &pk))
                    bad++;
                ops++;
                break;
            }
            case RAW_VERIFY_PARSED:
                if (!secp256k1_schnorrsig_verify(ctx, sigs[i % NKEYS], msgs[i % NKEYS], 32,
                                                 &xonly[i % NKEYS]))
                    bad++;
                ops++;
                break;
            case RECORD_VERIFY: {
                size_t r = i % NRECORDS;
                rp_record rec;
                rp_hash id;
                rp_pubkey keys[RP_RECORD_MAX_SIGS];
                if (rp_record_decode(&rec, rec_bytes[r], rec_len[r], NULL) != 0) {
                    bad++;
                    break;
                }
                rp_record_id_from_body(&id, &chain_id, rec_bytes[r],
                                       rp_record_body_len(rec.type, rec_len[r]));
                size_t n = rp_record_default_signers(&rec, keys);
                for (size_t s = 0; s < n; s++) {
                    if (!rp_verify(&rec.sigs[s], id.bytes, 32, &keys[s]))
                        bad++;
                    ops++;
                }
                break;
            }
            case NKINDS:
                break;
            }
        }
    }
    j->ops = ops;
    j->failures = bad;
    return NULL;
}

/* One timed round on `threads` threads; returns operations per second. */
static double run_round(enum kind kind, int threads)
{
    pthread_t tid[64];
    struct job jobs[64];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){.kind = kind, .offset = (unsigned)t * 977u,
                               .seconds = round_seconds};
        if (pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0) {
            fprintf(stderr, "bench_crypto: pthread_create failed\n");
            exit(1);
        }
    }
    unsigned long ops = 0, bad = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        ops += jobs[t].ops;
        bad += jobs[t].failures;
    }
    double elapsed = now() - t0;
    if (bad) {
        fprintf(stderr, "bench_crypto: %lu operations failed: the benchmark is broken\n", bad);
        exit(1);
    }
    return (double)ops / elapsed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over rounds, interleaving kinds so that noise hits all alike. */
static void measure(int threads, double out[NKINDS])
{
    double v[NKINDS][32];
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < NKINDS; k++)
            v[k][r] = run_round((enum kind)k, threads);
    for (int k = 0; k < NKINDS; k++) {
        qsort(v[k], (size_t)rounds, sizeof(double), cmp_double);
        out[k] = v[k][rounds / 2];
    }
}

static void setup(void)
{
    unsigned char seed[32], rnd[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)(i * 7 + 1);
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    rp_aux_fresh(rnd);
    if (!ctx || !secp256k1_context_randomize(ctx, rnd)) {
        fprintf(stderr, "bench_crypto: secp256k1 context failed\n");
        exit(1);
    }
    rp_seckey sks[NKEYS];
    rp_pubkey pks[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        if (rp_seckey_from_seed(&sks[i], seed, (uint64_t)i) != 0 ||
            rp_pubkey_from_seckey(&pks[i], &sks[i]) != 0 ||
            !secp256k1_keypair_create(ctx, &keypairs[i], sks[i].bytes) ||
            !secp256k1_keypair_xonly_pub(ctx, &xonly[i], NULL, &keypairs[i])) {
            fprintf(stderr, "bench_crypto: key setup failed\n");
            exit(1);
        }
        memcpy(pk_bytes[i], pks[i].bytes, 32);
        for (int b = 0; b < 32; b++)
            msgs[i][b] = (unsigned char)(i + b);
        if (!secp256k1_schnorrsig_sign32(ctx, sigs[i], msgs[i], &keypairs[i], NULL)) {
            fprintf(stderr, "bench_crypto: signing failed\n");
            exit(1);
        }
    }

    /* A realistic stream: reviews (one signature) and engagements (two). */
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"bench", 5);
    for (int i = 0; i < NRECORDS; i++) {
        rp_record r;
        unsigned char aux[32];
        int a = i % NKEYS, b = (i * 31 + 7) % NKEYS;
        if (b == a)
            b = (a + 1) % NKEYS;
        memset(&r, 0, sizeof r);
        r.version = RP_RECORD_VERSION;
        r.issuer = pks[a];
        r.seq = (uint64_t)i + 2;
        r.time = 1790000000u + (uint64_t)i;
        if (i % 4 == 0) {
            r.type = RP_REC_ENGAGEMENT;
            r.body.engagement.counterparty = pks[b];
            r.body.engagement.kind = RP_ENG_GIG;
            memset(r.body.engagement.terms.bytes, i & 0xFF, 32);
            r.body.engagement.expiry = r.time + 86400;
        } else {
            r.type = RP_REC_REVIEW;
            memset(r.body.review.engagement.bytes, (i * 3) & 0xFF, 32);
            r.body.review.subject = pks[b];
            r.body.review.overall = (uint8_t)(1 + i % 5);
            r.body.review.dims[RP_DIM_QUALITY] = 4;
        }
        int err = 0;
        rp_aux_derive(aux, seed, (uint64_t)i * 2);
        err |= rp_record_sign(&r, 0, &chain_id, &sks[a], aux);
        if (r.type == RP_REC_ENGAGEMENT) {
            rp_aux_derive(aux, seed, (uint64_t)i * 2 + 1);
            err |= rp_record_sign(&r, 1, &chain_id, &sks[b], aux);
        }
        err |= rp_record_encode(&r, rec_bytes[i], RP_RECORD_MAX_SIZE, &rec_len[i]);
        if (err) {
            fprintf(stderr, "bench_crypto: record setup failed\n");
            exit(1);
        }
    }
    for (int i = 0; i < NKEYS; i++)
        sodium_memzero(sks[i].bytes, 32);
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cores > 0 && cores <= 64 ? (int)cores : 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            round_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_crypto [--seconds S] [--rounds N] [--threads T]\n");
            return 2;
        }
    }
    if (round_seconds <= 0 || rounds < 1 || rounds > 31 || threads < 1 || threads > 64) {
        fprintf(stderr, "bench_crypto: --seconds > 0, --rounds 1..31, --threads 1..64\n");
        return 2;
    }
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "bench_crypto: %s\n", rp_strerror(RP_ERR_CRYPTO_INIT));
        return 1;
    }
    setup();

    printf("bench_crypto: median of %d rounds of %.2fs; %d core(s) online\n", rounds,
           round_seconds, threads);
    double one[NKINDS], all[NKINDS];
    measure(1, one);
    measure(threads, all);
    printf("%-34s %14s %14s\n", "", "1 core", "all cores");
    printf("%-34s %14.0f %14.0f\n", "raw BIP-340 sign (sig/s)", one[RAW_SIGN], all[RAW_SIGN]);
    printf("%-34s %14.0f %14.0f\n", "raw BIP-340 verify (sig/s)", one[RAW_VERIFY],
           all[RAW_VERIFY]);
    printf("%-34s %14.0f %14.0f\n", "  (key pre-parsed, for reference)", one[RAW_VERIFY_PARSED],
           all[RAW_VERIFY_PARSED]);
    printf("%-34s %14.0f %14.0f\n", "record decode+id+verify (sig/s)", one[RECORD_VERIFY],
           all[RECORD_VERIFY]);
    printf("%-34s %14.3f %14.3f   (bar: >= 0.90)\n", "ratio record/raw verify",
           one[RECORD_VERIFY] / one[RAW_VERIFY], all[RECORD_VERIFY] / all[RAW_VERIFY]);
    printf("%-34s %14s %14.2f\n", "all-core speed-up (raw verify)", "",
           all[RAW_VERIFY] / one[RAW_VERIFY]);
    secp256k1_context_destroy(ctx);
    return 0;
}
