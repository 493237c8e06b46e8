/* repute-gen's engine: a reproducible synthetic chain, written block by block
 * through the node's own produce path (see gen.h for what is generated).
 *
 * How it works. The chain is one stream of records in application order,
 * cut into blocks. A main loop draws the next event at random, weighted by
 * how many of each kind remain (an honest engagement, a vouch, a sybil-ring
 * engagement, an attack edge), and emits its record at once; the records
 * that must follow it later (reviews of an engagement, the revocation of a
 * review) go into a min-heap keyed by stream position and are emitted when
 * their position comes, or at the end. Because every dependency is emitted
 * at an earlier stream position, each record is valid when the block is
 * applied in order, whether its dependency ended up in an earlier block or
 * earlier in the same one. Sequence numbers are handed out at emission,
 * which is application order.
 *
 * Only the main thread draws random numbers, so the chain does not depend
 * on scheduling. Records are built unsigned, and a record's id (which covers
 * the body, not the signatures) is known at emission, so reviews and revokes
 * can name their targets before anything is signed. When a block is full,
 * its records' proof-of-work stamps, signatures and encodings are queued on
 * libuv's worker pool (each record's signing randomness comes from a counter
 * fixed at emission), and while they run the main thread hands the block
 * before it to rp_store_produce_block, which prepares, signs and applies it,
 * verifying every signature on the same pool. Two block buffers take turns,
 * so the pool signs one block during the store's single-threaded work on
 * the other.
 *
 * Secret keys are never stored: each is re-derived from the master seed
 * (one SHA-256) right before it signs and wiped right after.
 */
#include "node/gen/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "ledger/store.h"

/* The master seed's tag. Not consensus data (nothing on chain is hashed with
 * it), so it is kept here rather than in crypto/hash.h's registry. */

/* Key and randomness index spaces under the master seed. Identity keys use
 * 0..N+S; recovery keys and commit signatures live far above them. */
#define RECOVERY_KEY_BASE (1ULL << 40)
#define COMMIT_AUX_BASE   (1ULL << 62)

#define PRETRUST_COUNT(n) ((n) < RP_GEN_MAX_PRETRUSTED ? (n) : RP_GEN_MAX_PRETRUSTED)
#define MAX_CHUNKS        64
#define MIN_CHUNK         8

/* ---- deterministic PRNG: xoshiro256** seeded through splitmix64 ---------- */

struct prng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(struct prng *p)
{
    uint64_t *s = p->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t below(struct prng *p, uint64_t n)
{
    uint64_t threshold = (0 - n) % n, x;
    do
        x = rnd(p);
    while (x < threshold);
    return x % n;
}

/* Skewed towards 0 in [0, n), n <= 2^32: n * u^power for u uniform in
 * [0, 1), in 32-bit fixed point so that no floating point is involved. With
 * power 3 the first 1% of positions draws about a fifth of the picks. */
static uint64_t skewed(struct prng *p, uint64_t n, int power)
{
    uint64_t u = rnd(p) >> 32, v = u;
    for (int i = 1; i < power; i++)
        v = (v * u) >> 32;
    return (n * v) >> 32;
}

static void rnd_bytes(struct prng *p, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = rnd(p);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            out[i + j] = (unsigned char)(x >> (8 * j));
    }
}

/* ---- state ------------------------------------------------------------------ */

struct ident {
    rp_pubkey pk;
    uint64_t seq; /* last sequence used */
    uint8_t role;
    uint8_t bad; /* whitewash: an honest talent rated 1 star by the market */
};

/* A record waiting for its stream position. */
enum { P_REVIEW = 1, P_REVOKE = 2 };

struct pending {
    uint64_t due, order;
    rp_hash target; /* the engagement (P_REVIEW) or review (P_REVOKE) */
    uint32_t issuer, subject;
    uint8_t kind;
    uint8_t stars;  /* P_REVIEW: fixed rating, or 0 to draw one */
    uint8_t market; /* P_REVIEW: an honest-market review (may be revoked) */
};

/* A record of the block being built, unsigned until the block is full. */
struct job {
    rp_record r;
    uint64_t aux;       /* signing randomness counter of slot 0 (slot 1: +1) */
    uint32_t signer[2]; /* key indices of the slots */
    uint8_t recovery;   /* IDENTITY: commit to a recovery key */
    int rc;
    size_t len; /* encoded length, once done */
};

struct outfile {
    const char *path, *what;
    char tmp[4096];
    int fd; /* -1: not open */
    int rc; /* first write error */
    size_t n;
    char buf[65536];
};

struct gen;
struct block;
struct chunk {
    uv_work_t req;
    struct gen *G;
    struct block *b;
    size_t begin, end;
};

/* A block's records. Two of these take turns: while one is signed on the
 * pool, the main thread produces the other (or builds the next). */
struct block {
    uint64_t height;
    struct job *jobs;
    size_t njobs, capjobs, bytes;
    unsigned char *bufs; /* RP_RECORD_MAX_SIZE bytes per job */
    size_t capbufs;
    rp_block_item *items;
    size_t capitems;
    struct chunk chunks[MAX_CHUNKS];
    size_t busy; /* chunks queued and not back yet */
};

struct gen {
    const rp_gen_opts *o;
    rp_gen_stats stats;
    uint64_t total;
    char *err;
    size_t errlen;
    struct outfile genesis_f, manifest_f;

    unsigned char master[32];
    struct prng rng;
    rp_genesis *g;
    rp_store *st;
    rp_hash chain_id;
    rp_pool *pool;
    int own_pool;
    uv_loop_t loop;
    int loop_ok;

    uint64_t n, s, w;  /* honest, sybil, whitewash */
    uint32_t nids;     /* 1 + n + s + w */
    struct ident *ids; /* [0] the validator */
    uint32_t *talents, *agents, *brands;
    uint64_t ntalents, nagents, nbrands;
    uint64_t *vouched; /* open-addressing set of (agent, talent) pairs */
    uint64_t vouched_cap;

    /* Blocks: cur is being built, ready (if not NULL) is full and being
     * signed, waiting to be produced. */
    uint32_t rpb;
    uint32_t max_bytes;
    struct block blocks[2];
    struct block *cur, *ready;
    uint64_t aux_ctr;
    uint64_t pos; /* records emitted */

    struct pending *heap;
    size_t nheap, capheap;
    uint64_t order;

    /* A score epoch computed ahead on the worker pool, between its snapshot
     * height b and the block b + delay that commits it (as the node does),
     * so that block does not wait for the engine. */
    struct {
        uv_work_t req;
        int busy;
        uint64_t epoch, commit_height;
        rp_epoch_result *result;
        int rc;
        rp_store *st;
    } ep;
};

#if defined(__GNUC__)
static void seterr(struct gen *G, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif

static void seterr(struct gen *G, const char *fmt, ...)
{
    va_list ap;
    if (!G->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(G->err, G->errlen, fmt, ap);
    va_end(ap);
}

static uint64_t block_time_s(uint64_t height)
{
    return RP_GEN_GENESIS_TIME + height;
}

/* ---- options ------------------------------------------------------------------ */

#define OPT_FAIL(...)                                                                              \
    do {                                                                                           \
        if (errlen)                                                                                \
            snprintf(err, errlen, __VA_ARGS__);                                                    \
        return RP_ERR_INVALID_ARG;                                                                 \
    } while (0)

int rp_gen_check(const rp_gen_opts *o, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (!o->datadir || !o->datadir[0])
        OPT_FAIL("a datadir is required");
    if (o->identities < 2)
        OPT_FAIL("identities must be at least 2 (a review needs two parties), not %llu",
                 (unsigned long long)o->identities);
    if (o->identities > RP_GEN_MAX_IDENTITIES || o->sybil > RP_GEN_MAX_IDENTITIES ||
        o->identities + o->sybil > RP_GEN_MAX_IDENTITIES)
        OPT_FAIL("identities + sybil must be at most %llu",
                 (unsigned long long)RP_GEN_MAX_IDENTITIES);
    if (o->reviews / RP_GEN_MAX_REVIEWS_PER_IDENTITY > o->identities ||
        (o->reviews / RP_GEN_MAX_REVIEWS_PER_IDENTITY == o->identities &&
         o->reviews % RP_GEN_MAX_REVIEWS_PER_IDENTITY))
        OPT_FAIL("%llu reviews need at least %llu honest identities (at most %d reviews per "
                 "identity on average)",
                 (unsigned long long)o->reviews,
                 (unsigned long long)((o->reviews + RP_GEN_MAX_REVIEWS_PER_IDENTITY - 1) /
                                      RP_GEN_MAX_REVIEWS_PER_IDENTITY),
                 RP_GEN_MAX_REVIEWS_PER_IDENTITY);
    if (o->attack_edges > o->identities)
        OPT_FAIL("attack edges (%llu) must not exceed the honest identities (%llu): each is a "
                 "distinct honest identity",
                 (unsigned long long)o->attack_edges, (unsigned long long)o->identities);
    if (o->attack_edges > 0 && o->sybil == 0)
        OPT_FAIL("attack edges need sybils to attach to (sybil is 0)");
    if (o->records_per_block > RP_BLOCK_MAX_RECORDS)
        OPT_FAIL("records per block must be 1..%u, not %u", (unsigned)RP_BLOCK_MAX_RECORDS,
                 (unsigned)o->records_per_block);
    if (o->pow_difficulty > 32)
        OPT_FAIL("proof-of-work difficulty must be 1..32 bits, not %u", o->pow_difficulty);
    if ((o->badmouth > 0 || o->camouflage > 0) && o->sybil == 0)
        OPT_FAIL("bad-mouthing and camouflage engagements need sybils (sybil is 0)");
    if (o->badmouth > RP_GEN_MAX_IDENTITIES || o->camouflage > RP_GEN_MAX_IDENTITIES)
        OPT_FAIL("bad-mouthing and camouflage engagements must be at most %llu each",
                 (unsigned long long)RP_GEN_MAX_IDENTITIES);
    if (o->beneficiaries > 5 || (o->beneficiaries > 0 && o->beneficiaries >= o->sybil))
        OPT_FAIL("beneficiaries must be 1..5 and fewer than the sybils, not %u",
                 (unsigned)o->beneficiaries);
    if (o->whitewash > o->identities / 4 ||
        o->identities + o->sybil + o->whitewash > RP_GEN_MAX_IDENTITIES)
        OPT_FAIL("whitewash identities must be at most identities / 4 (%llu), not %llu",
                 (unsigned long long)(o->identities / 4), (unsigned long long)o->whitewash);
    return 0;
}

/* ---- files ----------------------------------------------------------------------- */

/* Output files are opened under a temporary name before anything else
 * happens, so that a bad path fails the run at once rather than after a long
 * generation, and renamed into place on success: a reader never sees half a
 * document, and a failed run leaves none. */
static int out_open(struct gen *G, struct outfile *f, const char *path, const char *what)
{
    f->what = what;
    f->path = path;
    if (snprintf(f->tmp, sizeof f->tmp, "%s.tmp", path) >= (int)sizeof f->tmp) {
        seterr(G, "%s path too long: %s", what, path);
        return -ENAMETOOLONG;
    }
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int rc = -errno;
        seterr(G, "cannot write %s %s: %s", what, f->tmp, rp_strerror(rc));
        return rc;
    }
    return 0;
}

static void out_abort(struct outfile *f)
{
    if (f->fd < 0)
        return;
    (void)close(f->fd);
    (void)unlink(f->tmp);
    f->fd = -1;
}

/* Buffered writes to an output file; the first error sticks. */
static void out_flush(struct outfile *f)
{
    for (size_t off = 0; off < f->n && !f->rc;) {
        ssize_t w = write(f->fd, f->buf + off, f->n - off);
        if (w < 0 && errno != EINTR)
            f->rc = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    f->n = 0;
}

static void out_put(struct outfile *f, const char *data, size_t len)
{
    while (len && !f->rc) {
        if (f->n == sizeof f->buf)
            out_flush(f);
        size_t k = len < sizeof f->buf - f->n ? len : sizeof f->buf - f->n;
        memcpy(f->buf + f->n, data, k);
        f->n += k;
        data += k;
        len -= k;
    }
}

static void out_puts(struct outfile *f, const char *s)
{
    out_put(f, s, strlen(s));
}

/* Flush, make durable and rename into place. */
static int out_commit(struct gen *G, struct outfile *f)
{
    out_flush(f);
    int rc = f->rc;
    if (!rc && fsync(f->fd) != 0)
        rc = -errno;
    if (close(f->fd) != 0 && !rc)
        rc = -errno;
    f->fd = -1;
    if (!rc && rename(f->tmp, f->path) != 0)
        rc = -errno;
    if (rc) {
        seterr(G, "cannot write %s %s: %s", f->what, f->path, rp_strerror(rc));
        (void)unlink(f->tmp);
    }
    return rc;
}

static int write_genesis(struct gen *G)
{
    char *json = rp_genesis_to_json(G->g);
    if (!json) {
        seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    out_puts(&G->genesis_f, json);
    out_puts(&G->genesis_f, "\n");
    free(json);
    return out_commit(G, &G->genesis_f);
}

static const char *role_name(uint8_t role)
{
    return role == RP_ROLE_AGENT ? "agent" : role == RP_ROLE_BRAND ? "brand" : "talent";
}

static json_t *hex_json(const unsigned char b[32])
{
    char hex[65];
    (void)rp_hex_encode(hex, sizeof hex, b, 32);
    return json_string(hex);
}

/* The manifest is what json_dumps(root, JSON_INDENT(2)) would print, but
 * streamed: jansson prints the document with an empty identities array and
 * each identity on its own, re-indented into the array, so that memory stays
 * flat however many identities there are. */
static int write_manifest(struct gen *G)
{
    struct outfile *f = &G->manifest_f;
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)G->o->seed);
    json_t *root = json_pack("{s:o, s:s, s:o, s:[]}", "chain_id", hex_json(G->chain_id.bytes),
                             "seed", seed, "validator", hex_json(G->ids[0].pk.bytes), "identities");
    char *head = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    char *hole = head ? strstr(head, "\"identities\": []") : NULL;
    if (!hole) {
        free(head);
        seterr(G, "out of memory writing the manifest");
        return RP_ERR_NOMEM;
    }
    hole += strlen("\"identities\": [");
    out_put(f, head, (size_t)(hole - head));

    uint64_t npre = PRETRUST_COUNT(G->n);
    for (uint32_t i = 1; i < G->nids && !f->rc; i++) {
        json_t *e = json_pack("{s:o, s:s, s:s, s:b}", "pubkey", hex_json(G->ids[i].pk.bytes),
                              "role", role_name(G->ids[i].role), "group",
                              i <= G->n          ? (G->ids[i].bad ? "bad" : "honest")
                              : i <= G->n + G->s ? "sybil"
                                                 : "whitewash",
                              "pretrusted", i <= npre);
        char *text = e ? json_dumps(e, JSON_INDENT(2)) : NULL;
        json_decref(e);
        if (!text) {
            free(head);
            seterr(G, "out of memory writing the manifest");
            return RP_ERR_NOMEM;
        }
        out_puts(f, i > 1 ? ",\n    " : "\n    ");
        for (const char *p = text, *nl; *p; p = nl + 1) {
            nl = strchr(p, '\n');
            if (!nl) {
                out_puts(f, p);
                break;
            }
            out_put(f, p, (size_t)(nl - p));
            out_puts(f, "\n    ");
        }
        free(text);
    }
    out_puts(f, "\n  ");
    out_puts(f, hole);
    out_puts(f, "\n");
    free(head);
    return out_commit(G, f);
}

/* ---- keys, roles and the genesis ----------------------------------------------- */

static void derive_key(const struct gen *G, rp_seckey *sk, uint64_t index)
{
    (void)rp_seckey_from_seed(sk, G->master, index);
}

static int make_keys(struct gen *G)
{
    for (uint32_t i = 0; i < G->nids; i++) {
        rp_seckey sk;
        derive_key(G, &sk, i);
        int rc = rp_pubkey_from_seckey(&G->ids[i].pk, &sk);
        sodium_memzero(&sk, sizeof sk);
        if (rc) {
            seterr(G, "cannot derive key %u: %s", (unsigned)i, rp_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Roles of the honest identities: exact shares (60/25/15, rounded, with at
 * least one talent and one agent or brand), shuffled; the pre-trusted are
 * then given agent or brand roles where possible, as established agencies
 * and brands are the natural anchors of trust. Sybils are talents. */
static int assign_roles(struct gen *G)
{
    uint64_t n = G->n;
    uint64_t nt = (n * 60 + 50) / 100, na = (n * 25 + 50) / 100;
    if (nt == 0)
        nt = 1;
    if (nt >= n)
        nt = n - 1;
    if (na > n - nt)
        na = n - nt;
    for (uint64_t i = 1; i <= n; i++)
        G->ids[i].role = i <= nt ? RP_ROLE_TALENT : i <= nt + na ? RP_ROLE_AGENT : RP_ROLE_BRAND;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = 1 + below(&G->rng, i);
        uint8_t t = G->ids[i].role;
        G->ids[i].role = G->ids[j].role;
        G->ids[j].role = t;
    }
    uint64_t npre = PRETRUST_COUNT(n), next = npre + 1;
    for (uint64_t p = 1; p <= npre; p++) {
        if (G->ids[p].role != RP_ROLE_TALENT)
            continue;
        while (next <= n && G->ids[next].role == RP_ROLE_TALENT)
            next++;
        if (next > n)
            break;
        G->ids[p].role = G->ids[next].role;
        G->ids[next].role = RP_ROLE_TALENT;
        next++;
    }
    for (uint64_t i = n + 1; i < G->nids; i++)
        G->ids[i].role = RP_ROLE_TALENT;

    G->talents = malloc(n * sizeof *G->talents);
    G->agents = malloc(n * sizeof *G->agents);
    G->brands = malloc(n * sizeof *G->brands);
    if (!G->talents || !G->agents || !G->brands) {
        seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    for (uint32_t i = 1; i <= n; i++) {
        if (G->ids[i].role == RP_ROLE_TALENT)
            G->talents[G->ntalents++] = i;
        else if (G->ids[i].role == RP_ROLE_AGENT)
            G->agents[G->nagents++] = i;
        else
            G->brands[G->nbrands++] = i;
    }
    /* Whitewashers: w distinct talents that are not pre-trusted, by rejection.
     * Draws nothing when w is 0. */
    uint64_t eligible = 0;
    for (uint64_t k = 0; k < G->ntalents; k++)
        eligible += G->talents[k] > npre;
    if (G->w > eligible) {
        seterr(G, "whitewash %llu needs as many talents that are not pre-trusted (there are %llu)",
               (unsigned long long)G->w, (unsigned long long)eligible);
        return RP_ERR_INVALID_ARG;
    }
    for (uint64_t k = 0; k < G->w;) {
        uint32_t t = G->talents[below(&G->rng, G->ntalents)];
        if (t <= npre || G->ids[t].bad)
            continue;
        G->ids[t].bad = 1;
        k++;
    }
    return 0;
}

static void make_genesis(struct gen *G)
{
    rp_genesis *g = G->g;
    memset(g, 0, sizeof *g);
    strcpy(g->chain_name, RP_GEN_CHAIN_NAME);
    g->genesis_time = RP_GEN_GENESIS_TIME;
    g->nvalidators = 1;
    g->validators[0].pubkey = G->ids[0].pk;
    g->validators[0].power = 1;
    strcpy(g->validators[0].name, "val-0");
    g->npretrusted = PRETRUST_COUNT(G->n);
    for (size_t i = 0; i < g->npretrusted; i++)
        g->pretrusted[i] = G->ids[1 + i].pk;
    g->params = (rp_params){
        .block_interval_ms = 1000,
        .epoch_blocks = 100,
        .score_delay_blocks = 10,
        .max_block_records = G->rpb > 10000 ? G->rpb : 10000,
        .max_block_bytes = RP_MAX_BLOCK_BYTES_LIMIT,
        .pow_difficulty =
            G->o->pow_difficulty ? G->o->pow_difficulty : RP_GEN_DEFAULT_POW_DIFFICULTY,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 2592000,
    };
    G->max_bytes = g->params.max_block_bytes;
}

/* ---- finishing a block on the worker pool ------------------------------------- */

static int finish_job(const struct gen *G, struct job *j, unsigned char *out)
{
    rp_seckey sk;
    unsigned char aux[32];
    int rc = 0;
    if (j->r.type == RP_REC_IDENTITY && j->r.seq == 1) {
        if (j->recovery) {
            rp_pubkey rk;
            derive_key(G, &sk, RECOVERY_KEY_BASE + j->signer[0]);
            rc = rp_pubkey_from_seckey(&rk, &sk);
            sodium_memzero(&sk, sizeof sk);
            if (rc)
                return rc;
            rp_recovery_commitment(&j->r.body.identity.recovery, &rk);
        }
        rc = rp_identity_pow_solve(&j->r, &G->chain_id, G->g->params.pow_difficulty, UINT64_MAX);
        if (rc)
            return rc;
    }
    size_t nsigs = rp_record_nsigs(j->r.type);
    for (size_t slot = 0; slot < nsigs && !rc; slot++) {
        derive_key(G, &sk, j->signer[slot]);
        rp_aux_derive(aux, G->master, j->aux + slot);
        rc = rp_record_sign(&j->r, slot, &G->chain_id, &sk, aux);
        sodium_memzero(&sk, sizeof sk);
    }
    return rc ? rc : rp_record_encode(&j->r, out, RP_RECORD_MAX_SIZE, &j->len);
}

static void chunk_work(uv_work_t *req)
{
    struct chunk *c = req->data;
    struct block *b = c->b;
    for (size_t i = c->begin; i < c->end; i++)
        b->jobs[i].rc = finish_job(c->G, &b->jobs[i], b->bufs + i * RP_RECORD_MAX_SIZE);
}

static void chunk_after(uv_work_t *req, int status)
{
    struct chunk *c = req->data;
    (void)status; /* nothing cancels */
    c->b->busy--;
}

/* Queue a full block's stamps, signatures and encodings on the pool (or do
 * them here if the block is too small to split). */
static void sign_async(struct gen *G, struct block *b)
{
    size_t n = b->njobs, nchunks = (size_t)rp_pool_threads(G->pool) * 4;
    if (nchunks > MAX_CHUNKS)
        nchunks = MAX_CHUNKS;
    if (nchunks > n / MIN_CHUNK)
        nchunks = n / MIN_CHUNK;
    if (nchunks < 2) {
        struct chunk c = {.G = G, .b = b, .begin = 0, .end = n};
        c.req.data = &c;
        chunk_work(&c.req);
        return;
    }
    for (size_t i = 0; i < nchunks; i++) {
        struct chunk *c = &b->chunks[i];
        c->G = G;
        c->b = b;
        c->begin = n * i / nchunks;
        c->end = n * (i + 1) / nchunks;
        c->req.data = c;
        if (uv_queue_work(&G->loop, &c->req, chunk_work, chunk_after) == 0)
            b->busy++;
        else
            chunk_work(&c->req); /* cannot happen with valid arguments */
    }
}

static void wait_signed(struct gen *G, struct block *b)
{
    while (b->busy)
        uv_run(&G->loop, UV_RUN_ONCE);
}

static void epoch_work(uv_work_t *req)
{
    struct gen *G = req->data;
    G->ep.rc = rp_store_epoch_compute(G->ep.st, G->ep.epoch, &G->ep.result, NULL);
}

static void epoch_after(uv_work_t *req, int status)
{
    struct gen *G = req->data;
    (void)status; /* never cancelled */
    G->ep.busy = 0;
}

/* Before the block that commits an epoch computed ahead: wait for it and hand
 * it to the store. A failed computation is simply not offered: the block then
 * computes the epoch itself and reports any error. */
static void epoch_offer(struct gen *G, uint64_t h)
{
    if (h != G->ep.commit_height || !G->ep.commit_height)
        return;
    while (G->ep.busy)
        uv_run(&G->loop, UV_RUN_ONCE);
    if (G->ep.rc == 0 && G->ep.result) {
        rp_store_epoch_offer(G->st, G->ep.result);
        G->stats.epochs_ahead++;
    } else
        rp_epoch_result_free(G->ep.result);
    G->ep.result = NULL;
    G->ep.commit_height = 0;
}

/* After block h: if it is an epoch's snapshot height, start that epoch on the
 * pool; it reads its own snapshot while later blocks are applied. */
static void epoch_start(struct gen *G, uint64_t h)
{
    const rp_params *p = &G->g->params;
    if (h == 0 || h % p->epoch_blocks != 0 || G->ep.busy)
        return;
    G->ep.req.data = G;
    G->ep.st = G->st;
    G->ep.epoch = h / p->epoch_blocks;
    G->ep.commit_height = h + p->score_delay_blocks;
    G->ep.result = NULL;
    G->ep.rc = 0;
    if (uv_queue_work(&G->loop, &G->ep.req, epoch_work, epoch_after) == 0)
        G->ep.busy = 1;
    else
        G->ep.commit_height = 0; /* the block will compute it inline */
}

/* Produce a signed block through the store and empty it. */
static int produce(struct gen *G, struct block *b)
{
    uint64_t h = b->height;
    for (size_t i = 0; i < b->njobs; i++) {
        if (b->jobs[i].rc) {
            seterr(G, "block %llu, record %zu (%s): cannot finish: %s", (unsigned long long)h, i,
                   rp_record_type_name(b->jobs[i].r.type), rp_strerror(b->jobs[i].rc));
            return b->jobs[i].rc;
        }
        b->items[i].bytes = b->bufs + i * RP_RECORD_MAX_SIZE;
        b->items[i].len = b->jobs[i].len;
    }

    rp_seckey vk;
    unsigned char aux[32];
    rp_store_error serr;
    rp_hash hash;
    derive_key(G, &vk, 0);
    rp_aux_derive(aux, G->master, COMMIT_AUX_BASE + h);
    epoch_offer(G, h);
    int rc = rp_store_produce_block(G->st, b->items, b->njobs, block_time_s(h) * 1000, &vk, aux,
                                    rp_pool_verify, G->pool, &hash, &serr);
    sodium_memzero(&vk, sizeof vk);
    if (rc) {
        seterr(G, "the store refused generated block %llu (a generator bug): %s",
               (unsigned long long)h, serr.msg[0] ? serr.msg : rp_strerror(rc));
        return rc;
    }
    G->stats.blocks++;
    G->stats.records += b->njobs;
    G->stats.head = hash;
    epoch_start(G, h);
    b->njobs = 0;
    b->bytes = 0;
    if (G->o->progress)
        G->o->progress(G->o->progress_ctx, h, G->stats.records, G->total);
    return 0;
}

/* The current block is full: start signing it, produce the one before it
 * meanwhile, and start the next block in the buffers that frees. The pool
 * runs work in order, so the earlier block's signatures are done first. */
static int cut_block(struct gen *G)
{
    struct block *full = G->cur, *next = full == &G->blocks[0] ? &G->blocks[1] : &G->blocks[0];
    sign_async(G, full);
    if (G->ready) {
        wait_signed(G, G->ready);
        int rc = produce(G, G->ready);
        if (rc)
            return rc;
    }
    G->ready = full;
    G->cur = next;
    next->height = full->height + 1;
    return 0;
}

/* Produce whatever is left. */
static int finish_blocks(struct gen *G)
{
    int rc;
    if (G->cur->njobs && (rc = cut_block(G)) != 0)
        return rc;
    if (G->ready) {
        wait_signed(G, G->ready);
        if ((rc = produce(G, G->ready)) != 0)
            return rc;
        G->ready = NULL;
    }
    return 0;
}

/* ---- emitting records ------------------------------------------------------------ */

/* Make room for `need` elements: returns p or its reallocation (NULL if
 * out of memory, p then still valid), updating *cap. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}

static int reserve_block(struct gen *G, struct block *b, size_t need)
{
    void *p;
    if (!(p = grow(b->jobs, &b->capjobs, need, sizeof *b->jobs)))
        goto nomem;
    b->jobs = p;
    if (!(p = grow(b->items, &b->capitems, need, sizeof *b->items)))
        goto nomem;
    b->items = p;
    if (!(p = grow(b->bufs, &b->capbufs, need, RP_RECORD_MAX_SIZE)))
        goto nomem;
    b->bufs = p;
    return 0;
nomem:
    seterr(G, "out of memory");
    return RP_ERR_NOMEM;
}

/* Start the next record of the stream, issued by identity `issuer`: cut the
 * block first if it is full (by count, or if a largest possible record might
 * not fit in its bytes). The caller fills the body, then calls emit. */
static int begin_record(struct gen *G, unsigned type, uint32_t issuer, struct job **out)
{
    int rc;
    *out = NULL;
    if (G->cur->njobs >= G->rpb || G->cur->bytes + 2 + RP_RECORD_MAX_SIZE > G->max_bytes)
        if ((rc = cut_block(G)) != 0)
            return rc;
    if ((rc = reserve_block(G, G->cur, G->cur->njobs + 1)) != 0)
        return rc;
    struct job *j = &G->cur->jobs[G->cur->njobs];
    memset(j, 0, sizeof *j);
    j->r.version = RP_RECORD_VERSION;
    j->r.type = (uint8_t)type;
    j->r.issuer = G->ids[issuer].pk;
    j->r.seq = ++G->ids[issuer].seq;
    j->r.time = block_time_s(G->cur->height);
    j->signer[0] = issuer;
    j->aux = G->aux_ctr;
    G->aux_ctr += RP_RECORD_MAX_SIGS;
    *out = j;
    return 0;
}

/* Add the started record to the block. Out: id, if not NULL. */
static int emit(struct gen *G, struct job *j, rp_hash *id)
{
    unsigned char body[RP_RECORD_MAX_SIZE];
    size_t n;
    int rc = rp_record_encode_body(&j->r, body, sizeof body, &n);
    if (rc) {
        seterr(G, "generated a malformed %s record: %s", rp_record_type_name(j->r.type),
               rp_strerror(rc));
        return rc;
    }
    if (id)
        rp_record_id_from_body(id, &G->chain_id, body, n);
    G->cur->bytes += 2 + n + 64 * rp_record_nsigs(j->r.type);
    G->cur->njobs++;
    G->pos++;
    switch (j->r.type) {
    case RP_REC_IDENTITY:
        G->stats.identities++;
        break;
    case RP_REC_ENGAGEMENT:
        G->stats.engagements++;
        break;
    case RP_REC_REVIEW:
        G->stats.reviews++;
        break;
    case RP_REC_VOUCH:
        G->stats.vouches++;
        break;
    case RP_REC_REVOKE:
        G->stats.revokes++;
        break;
    default:
        break;
    }
    return 0;
}

/* ---- the pending heap -------------------------------------------------------------- */

static int pending_less(const struct pending *a, const struct pending *b)
{
    return a->due != b->due ? a->due < b->due : a->order < b->order;
}

static int heap_push(struct gen *G, struct pending *p, uint64_t delay)
{
    void *q = grow(G->heap, &G->capheap, G->nheap + 1, sizeof *G->heap);
    if (!q) {
        seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    G->heap = q;
    p->due = G->pos + delay;
    p->order = G->order++;
    size_t i = G->nheap++;
    while (i > 0 && pending_less(p, &G->heap[(i - 1) / 2])) {
        G->heap[i] = G->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    G->heap[i] = *p;
    return 0;
}

static struct pending heap_pop(struct gen *G)
{
    struct pending top = G->heap[0], last = G->heap[--G->nheap];
    size_t i = 0, n = G->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && pending_less(&G->heap[c + 1], &G->heap[c]))
            c++;
        if (!pending_less(&G->heap[c], &last))
            break;
        G->heap[i] = G->heap[c];
        i = c;
    }
    if (n)
        G->heap[i] = last;
    return top;
}

/* ---- the records ------------------------------------------------------------------ */

static const char *const first_names[] = {"Ada",  "Bea",  "Cleo",  "Dara", "Eli",  "Femi", "Gia",
                                          "Hugo", "Ines", "Jae",   "Kai",  "Lena", "Milo", "Nia",
                                          "Omar", "Pia",  "Quinn", "Rosa", "Sami", "Tao",  "Uma",
                                          "Vik",  "Wren", "Yara",  "Zoe"};
static const char *const last_names[] = {
    "Adeyemi", "Bauer",  "Costa",    "Dubois", "Eriksen", "Fischer",  "Garcia", "Haddad",
    "Ito",     "Jensen", "Kowalski", "Lopez",  "Moreau",  "Nakamura", "Okafor", "Petrov",
    "Rossi",   "Silva",  "Tanaka",   "Vargas", "Weber",   "Yilmaz",   "Zhou"};
static const char *const words[] = {"Aurora",   "Beacon", "Cobalt", "Delta",   "Ember",   "Fable",
                                    "Granite",  "Harbor", "Indigo", "Juniper", "Kestrel", "Lumen",
                                    "Meridian", "Nova",   "Orchid", "Prism",   "Quartz",  "Riviera",
                                    "Summit",   "Tidal",  "Umber",  "Vertex",  "Willow",  "Zenith"};
static const char *const agent_suffixes[] = {"Talent", "Artists", "Management", "Agency"};
static const char *const brand_suffixes[] = {"Studios", "Labs",  "Wear", "Beauty",
                                             "Media",   "Foods", "Audio"};
#define PICK(a) ((a)[below(&G->rng, sizeof(a) / sizeof((a)[0]))])

static int emit_identity(struct gen *G, uint32_t i)
{
    struct job *j;
    int rc = begin_record(G, RP_REC_IDENTITY, i, &j);
    if (rc)
        return rc;
    rp_identity_body *b = &j->r.body.identity;
    b->role = G->ids[i].role;
    if (b->role == RP_ROLE_TALENT)
        snprintf(b->name, sizeof b->name, "%s %s %u", PICK(first_names), PICK(last_names),
                 (unsigned)i);
    else
        snprintf(b->name, sizeof b->name, "%s %s %u", PICK(words),
                 b->role == RP_ROLE_AGENT ? PICK(agent_suffixes) : PICK(brand_suffixes),
                 (unsigned)i);
    b->name_len = (uint8_t)strlen(b->name);
    if (below(&G->rng, 2))
        rnd_bytes(&G->rng, b->profile.bytes, 32);
    j->recovery = below(&G->rng, 10) < 7;
    /* The recovery commitment and the stamp are filled on the pool; neither
     * changes the record's size, and nothing refers to its id. */
    return emit(G, j, NULL);
}

static int emit_engagement(struct gen *G, uint32_t initiator, uint32_t counterparty, uint8_t kind,
                           rp_hash *id)
{
    struct job *j;
    int rc = begin_record(G, RP_REC_ENGAGEMENT, initiator, &j);
    if (rc)
        return rc;
    rp_engagement_body *b = &j->r.body.engagement;
    b->counterparty = G->ids[counterparty].pk;
    b->kind = kind;
    rnd_bytes(&G->rng, b->terms.bytes, 32);
    b->expiry = j->r.time + 86400 * (1 + below(&G->rng, 30)); /* within the 30-day TTL */
    j->signer[1] = counterparty;
    return emit(G, j, id);
}

static uint8_t draw_rating(struct gen *G)
{
    uint64_t x = below(&G->rng, 100);
    return x < 45 ? 5 : x < 80 ? 4 : x < 90 ? 3 : x < 96 ? 2 : 1;
}

static int emit_review(struct gen *G, const struct pending *p, rp_hash *id)
{
    struct job *j;
    int rc = begin_record(G, RP_REC_REVIEW, p->issuer, &j);
    if (rc)
        return rc;
    rp_review_body *b = &j->r.body.review;
    b->engagement = p->target;
    b->subject = G->ids[p->subject].pk;
    b->overall = p->stars ? p->stars : G->ids[p->subject].bad ? 1 : draw_rating(G);
    if (p->stars) {
        memset(b->dims, p->stars, sizeof b->dims);
    } else if (below(&G->rng, 100) < 35) {
        for (size_t d = 0; d < RP_REVIEW_DIMS; d++) {
            if (below(&G->rng, 5) == 0)
                continue; /* not rated */
            int v = b->overall + (int)below(&G->rng, 3) - 1;
            b->dims[d] = (uint8_t)(v < 1 ? 1 : v > 5 ? 5 : v);
        }
        /* Only the paying side is rated on paying on time. */
        if (G->ids[p->subject].role == RP_ROLE_TALENT)
            b->dims[RP_DIM_PAYMENT] = 0;
    }
    if (below(&G->rng, 100) < 30)
        rnd_bytes(&G->rng, b->comment.bytes, 32);
    return emit(G, j, id);
}

static int emit_revoke(struct gen *G, const struct pending *p)
{
    struct job *j;
    int rc = begin_record(G, RP_REC_REVOKE, p->issuer, &j);
    if (rc)
        return rc;
    j->r.body.revoke.target = p->target;
    j->r.body.revoke.reason = (uint8_t)(1 + below(&G->rng, RP_REVOKE_REASON_MAX));
    return emit(G, j, NULL);
}

static int emit_vouch(struct gen *G, uint32_t agent, uint32_t talent)
{
    struct job *j;
    int rc = begin_record(G, RP_REC_VOUCH, agent, &j);
    if (rc)
        return rc;
    j->r.body.vouch.subject = G->ids[talent].pk;
    j->r.body.vouch.relation = below(&G->rng, 10) < 8 ? RP_VOUCH_REPRESENTS : RP_VOUCH_WORKED_WITH;
    return emit(G, j, NULL);
}

/* ---- vouch pairs ------------------------------------------------------------------- */

/* Insert a pair; returns 1 if it was new, 0 if present. */
static int vouch_insert(struct gen *G, uint32_t agent, uint32_t talent)
{
    uint64_t key = ((uint64_t)agent << 32 | talent) + 1, mask = G->vouched_cap - 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    for (uint64_t i = (h >> 20) & mask;; i = (i + 1) & mask) {
        if (G->vouched[i] == key)
            return 0;
        if (G->vouched[i] == 0) {
            G->vouched[i] = key;
            return 1;
        }
    }
}

static int do_vouch(struct gen *G)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t a = G->agents[below(&G->rng, G->nagents)];
        uint32_t t = G->talents[below(&G->rng, G->ntalents)];
        if (vouch_insert(G, a, t))
            return emit_vouch(G, a, t);
    }
    /* Dense corner: the first free pair in order (the count guarantees one). */
    for (uint64_t x = 0; x < G->nagents; x++)
        for (uint64_t y = 0; y < G->ntalents; y++)
            if (vouch_insert(G, G->agents[x], G->talents[y]))
                return emit_vouch(G, G->agents[x], G->talents[y]);
    seterr(G, "no free agent-talent pair left for a vouch");
    return RP_ERR_INVALID_ARG;
}

/* ---- the plan ---------------------------------------------------------------------- */

struct plan {
    uint64_t single, twice; /* honest engagements with one or two reviews */
    uint64_t vouches;
    uint64_t revokes, market_left; /* revokes still to draw among the reviews left */
    uint64_t ring, ring_done, ring_deg;
    uint64_t attacks, attacks_done;
    uint32_t *attackers;
    uint64_t badmouth, camouflage; /* scenario engagements left */
};

static void make_plan(struct gen *G, struct plan *pl)
{
    uint64_t m = G->o->reviews;
    memset(pl, 0, sizeof *pl);
    /* About 80% of engagements are reviewed both ways: singles are a ninth of
     * the reviews, and the rest pair up. */
    pl->single = m / 9;
    if ((m - pl->single) % 2)
        pl->single++;
    pl->twice = (m - pl->single) / 2;
    pl->vouches = G->n / 10;
    if (pl->vouches > G->nagents * G->ntalents / 2)
        pl->vouches = G->nagents * G->ntalents / 2;
    pl->revokes = m / 100;
    pl->market_left = m;
    uint64_t ben = G->o->beneficiaries;
    if (ben) {
        /* Concentrated: the other members each engage beneficiaries 3 times,
         * one review each (engagement + review: 2 records). */
        pl->ring_deg = 3;
        pl->ring = (G->s - ben) * pl->ring_deg;
    } else {
        pl->ring_deg = G->s > 1 ? (G->s - 1 < 3 ? G->s - 1 : 3) : 0;
        pl->ring = G->s * pl->ring_deg;
    }
    pl->attacks = G->o->attack_edges;
    pl->badmouth = G->o->badmouth;
    pl->camouflage = G->o->camouflage;
    G->total = G->n + G->s + pl->single + pl->twice + m + pl->vouches + pl->revokes +
               (ben ? 2 : 3) * pl->ring + 2 * pl->attacks + G->w + 2 * pl->badmouth +
               3 * pl->camouflage;
}

/* K distinct honest attackers: a partial shuffle, preferring identities that
 * are not pre-trusted when there are enough of them. */
static int pick_attackers(struct gen *G, struct plan *pl)
{
    if (!pl->attacks)
        return 0;
    uint64_t npre = PRETRUST_COUNT(G->n);
    uint64_t first = pl->attacks <= G->n - npre ? npre + 1 : 1, count = G->n - first + 1;
    uint32_t *c = malloc(count * sizeof *c);
    if (!c) {
        seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    for (uint64_t i = 0; i < count; i++)
        c[i] = (uint32_t)(first + i);
    for (uint64_t i = 0; i < pl->attacks; i++) {
        uint64_t j = i + below(&G->rng, count - i);
        uint32_t t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
    pl->attackers = c;
    return 0;
}

static uint32_t pick_client(struct gen *G)
{
    int agent = G->nbrands == 0 || (G->nagents > 0 && below(&G->rng, 100) < 55);
    return agent ? G->agents[skewed(&G->rng, G->nagents, 3)]
                 : G->brands[skewed(&G->rng, G->nbrands, 3)];
}

static int honest_engagement(struct gen *G, struct plan *pl)
{
    uint32_t t = G->talents[skewed(&G->rng, G->ntalents, 2)];
    uint32_t c = pick_client(G);
    uint8_t kind;
    uint64_t x = below(&G->rng, 100);
    if (G->ids[c].role == RP_ROLE_AGENT)
        kind = x < 50 ? RP_ENG_REPRESENTATION : x < 90 ? RP_ENG_GIG : RP_ENG_OTHER;
    else
        kind = x < 50 ? RP_ENG_SPONSORSHIP : x < 80 ? RP_ENG_GIG : RP_ENG_LICENSING;
    int client_first = below(&G->rng, 100) < 60;
    rp_hash id;
    int rc =
        client_first ? emit_engagement(G, c, t, kind, &id) : emit_engagement(G, t, c, kind, &id);
    if (rc)
        return rc;

    int twice = below(&G->rng, pl->single + pl->twice) < pl->twice;
    if (twice)
        pl->twice--;
    else
        pl->single--;
    int talent_reviews = twice || below(&G->rng, 2);
    int client_reviews = twice || !talent_reviews;
    struct pending p = {.kind = P_REVIEW, .target = id, .market = 1};
    if (talent_reviews) {
        p.issuer = t;
        p.subject = c;
        if ((rc = heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb))) != 0)
            return rc;
    }
    if (client_reviews) {
        p.issuer = c;
        p.subject = t;
        if ((rc = heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb))) != 0)
            return rc;
    }
    return 0;
}

static int ring_engagement(struct gen *G, struct plan *pl)
{
    uint64_t j = pl->ring_done++;
    uint64_t ben = G->o->beneficiaries;
    if (ben) {
        uint64_t i = ben + j / pl->ring_deg, d = j % pl->ring_deg;
        uint32_t a = (uint32_t)(G->n + 1 + i), b = (uint32_t)(G->n + 1 + (i + d) % ben);
        rp_hash id;
        int rc = emit_engagement(G, a, b, RP_ENG_GIG, &id);
        if (rc)
            return rc;
        struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = a, .subject = b};
        return heap_push(G, &p, 1 + below(&G->rng, G->rpb));
    }
    uint64_t i = j / pl->ring_deg, d = j % pl->ring_deg + 1;
    uint32_t a = (uint32_t)(G->n + 1 + i), b = (uint32_t)(G->n + 1 + (i + d) % G->s);
    rp_hash id;
    int rc = emit_engagement(G, a, b, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = a, .subject = b};
    if ((rc = heap_push(G, &p, 1 + below(&G->rng, G->rpb))) != 0)
        return rc;
    p.issuer = b;
    p.subject = a;
    return heap_push(G, &p, 1 + below(&G->rng, G->rpb));
}

static int attack_edge(struct gen *G, struct plan *pl)
{
    uint32_t h = pl->attackers[pl->attacks_done++];
    uint32_t s = (uint32_t)(G->n + 1 + below(&G->rng, G->s));
    rp_hash id;
    int rc = emit_engagement(G, h, s, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = h, .subject = s};
    return heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb));
}

/* A ring member engages a popular honest talent and 1-stars it. */
static int badmouth_engagement(struct gen *G, struct plan *pl)
{
    pl->badmouth--;
    uint32_t s = (uint32_t)(G->n + 1 + below(&G->rng, G->s));
    uint32_t t = G->talents[skewed(&G->rng, G->ntalents, 2)];
    rp_hash id;
    int rc = emit_engagement(G, s, t, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 1, .issuer = s, .subject = t};
    return heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb));
}

/* A ring member does real work for an honest agent or brand: 5 stars from
 * the sybil, 4 or 5 from the client. */
static int camouflage_engagement(struct gen *G, struct plan *pl)
{
    pl->camouflage--;
    uint32_t s = (uint32_t)(G->n + 1 + below(&G->rng, G->s));
    uint32_t c = pick_client(G);
    rp_hash id;
    int rc = emit_engagement(G, c, s, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = s, .subject = c};
    if ((rc = heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb))) != 0)
        return rc;
    p.issuer = c;
    p.subject = s;
    p.stars = (uint8_t)(4 + below(&G->rng, 2));
    return heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb));
}

static void report_review(struct gen *G, const struct pending *p, int revoked)
{
    if (G->o->on_review)
        G->o->on_review(G->o->on_review_ctx, G->cur->height, p->issuer, p->subject,
                        G->cur->jobs[G->cur->njobs - 1].r.body.review.overall, revoked);
}

static int emit_pending(struct gen *G, struct plan *pl)
{
    struct pending p = heap_pop(G);
    if (p.kind == P_REVOKE)
        return emit_revoke(G, &p);
    rp_hash id;
    int rc = emit_review(G, &p, &id);
    if (rc)
        return rc;
    if (!p.market) {
        report_review(G, &p, 0);
        return 0;
    }
    /* Exactly pl->revokes of the market reviews, each equally likely. */
    int revoke = below(&G->rng, pl->market_left) < pl->revokes;
    pl->market_left--;
    report_review(G, &p, revoke);
    if (!revoke)
        return 0;
    pl->revokes--;
    struct pending r = {.kind = P_REVOKE, .target = id, .issuer = p.issuer};
    return heap_push(G, &r, 1 + below(&G->rng, 4ULL * G->rpb));
}

static int run_market(struct gen *G)
{
    struct plan pl;
    int rc;
    make_plan(G, &pl);
    if ((rc = pick_attackers(G, &pl)) != 0)
        return rc;
    if (pl.vouches) {
        G->vouched_cap = 16;
        while (G->vouched_cap < 2 * pl.vouches)
            G->vouched_cap *= 2;
        if (!(G->vouched = calloc(G->vouched_cap, sizeof *G->vouched))) {
            free(pl.attackers);
            seterr(G, "out of memory");
            return RP_ERR_NOMEM;
        }
    }

    /* Registrations first: block 1 opens with the pre-trusted. */
    for (uint32_t i = 1; i < G->nids && !rc; i++)
        rc = emit_identity(G, i);

    for (;;) {
        if (rc)
            break;
        uint64_t w_honest = pl.single + pl.twice, w_vouch = pl.vouches;
        uint64_t w_ring = pl.ring - pl.ring_done, w_attack = pl.attacks - pl.attacks_done;
        uint64_t w_bad = pl.badmouth, w_camo = pl.camouflage;
        uint64_t events = w_honest + w_vouch + w_ring + w_attack + w_bad + w_camo;
        if (G->nheap && (G->heap[0].due <= G->pos || events == 0)) {
            rc = emit_pending(G, &pl);
            continue;
        }
        if (events == 0)
            break;
        uint64_t x = below(&G->rng, events);
        if (x < w_honest) {
            rc = honest_engagement(G, &pl);
        } else if ((x -= w_honest) < w_vouch) {
            pl.vouches--;
            rc = do_vouch(G);
        } else if ((x -= w_vouch) < w_ring) {
            rc = ring_engagement(G, &pl);
        } else if ((x -= w_ring) < w_attack) {
            rc = attack_edge(G, &pl);
        } else if ((x -= w_attack) < w_bad) {
            rc = badmouth_engagement(G, &pl);
        } else {
            (void)w_camo;
            rc = camouflage_engagement(G, &pl);
        }
    }
    free(pl.attackers);
    return rc ? rc : finish_blocks(G);
}

/* ---- the run ----------------------------------------------------------------------- */

static int make_datadir(struct gen *G, const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) == 0)
        return 0;
    int rc = -errno;
    if (rc == -EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (rc == -EEXIST)
        rc = -ENOTDIR;
    seterr(G, "cannot create datadir %s: %s", dir, rp_strerror(rc));
    return rc;
}

static void gen_free(struct gen *G)
{
    out_abort(&G->genesis_f);
    out_abort(&G->manifest_f);
    if (G->loop_ok) {
        uv_run(&G->loop, UV_RUN_DEFAULT); /* signing or an epoch still queued */
        (void)uv_loop_close(&G->loop);
    }
    rp_epoch_result_free(G->ep.result);
    rp_store_close(G->st);
    if (G->own_pool)
        rp_pool_free(G->pool);
    free(G->g);
    free(G->ids);
    free(G->talents);
    free(G->agents);
    free(G->brands);
    free(G->vouched);
    for (int i = 0; i < 2; i++) {
        free(G->blocks[i].jobs);
        free(G->blocks[i].items);
        free(G->blocks[i].bufs);
    }
    free(G->heap);
    sodium_memzero(G->master, sizeof G->master);
    sodium_memzero(&G->rng, sizeof G->rng);
}

int rp_gen_run(const rp_gen_opts *o, rp_gen_stats *stats, char *err, size_t errlen)
{
    struct gen G;
    int rc;
    memset(&G, 0, sizeof G);
    G.genesis_f.fd = G.manifest_f.fd = -1;
    G.o = o;
    G.err = err;
    G.errlen = errlen;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if ((rc = rp_gen_check(o, err, errlen)) != 0)
        return rc;

    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(o->seed >> (56 - 8 * i));
    rp_hash master;
    rp_tagged_hash(&master, RP_TAG_GEN_SEED, be, sizeof be);
    memcpy(G.master, master.bytes, 32);
    sodium_memzero(&master, sizeof master);
    for (int k = 0; k < 4; k++) {
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
            x = x << 8 | G.master[8 * k + i];
        G.rng.s[k] = splitmix64(&x);
    }

    G.n = o->identities;
    G.s = o->sybil;
    G.w = o->whitewash;
    G.nids = (uint32_t)(1 + G.n + G.s + G.w);
    G.rpb = o->records_per_block ? o->records_per_block : RP_GEN_DEFAULT_RECORDS_PER_BLOCK;
    G.cur = &G.blocks[0];
    G.cur->height = 1;
    G.g = malloc(sizeof *G.g);
    G.ids = calloc(G.nids, sizeof *G.ids);
    if (!G.g || !G.ids) {
        seterr(&G, "out of memory");
        rc = RP_ERR_NOMEM;
        goto out;
    }
    if (o->pool) {
        G.pool = o->pool;
    } else {
        if ((rc = rp_pool_new(&G.pool)) != 0) {
            seterr(&G, "cannot start the worker pool: %s", rp_strerror(rc));
            goto out;
        }
        G.own_pool = 1;
    }
    if ((rc = uv_loop_init(&G.loop)) != 0) {
        seterr(&G, "cannot start an event loop: %s", uv_strerror(rc));
        goto out;
    }
    G.loop_ok = 1;

    if ((rc = make_keys(&G)) != 0 || (rc = assign_roles(&G)) != 0)
        goto out;
    make_genesis(&G);
    if ((rc = rp_genesis_chain_id(&G.chain_id, G.g)) != 0) {
        seterr(&G, "generated an invalid genesis: %s", rp_strerror(rc));
        goto out;
    }

    if ((o->genesis_out && (rc = out_open(&G, &G.genesis_f, o->genesis_out, "genesis")) != 0) ||
        (o->manifest && (rc = out_open(&G, &G.manifest_f, o->manifest, "manifest")) != 0))
        goto out;
    rp_store_error serr;
    if ((rc = make_datadir(&G, o->datadir)) != 0)
        goto out;
    if ((rc = rp_store_create(&G.st, o->datadir, G.g, NULL, &serr)) != 0) {
        seterr(&G, "%s", serr.msg[0] ? serr.msg : rp_strerror(rc));
        goto out;
    }
    if ((rc = run_market(&G)) != 0)
        goto out;
    if ((o->genesis_out && (rc = write_genesis(&G)) != 0) ||
        (o->manifest && (rc = write_manifest(&G)) != 0))
        goto out;
    if (stats)
        *stats = G.stats;
    if (errlen)
        err[0] = '\0';
out:
    gen_free(&G);
    return rc;
}
