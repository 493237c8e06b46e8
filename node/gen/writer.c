/* repute-gen's writer: how the synthetic chain gets on disk (see internal.h
 * for how the planner and the writer divide the work), and rp_gen_run,
 * which drives the two.
 *
 * The planner's stream of records is cut into blocks of records_per_block
 * (fewer if max_block_bytes would be exceeded). When a block is full, its
 * records' proof-of-work stamps, signatures and encodings are queued on
 * libuv's worker pool (each record's signing randomness comes from a
 * counter fixed at emission), and while they run the main thread hands the
 * block before it to the store, which prepares, signs and applies it,
 * verifying every signature on the same pool. Two block buffers take turns,
 * so the pool signs one block during the store's single-threaded work on
 * the other. At each epoch boundary the score epoch is computed ahead on
 * the pool and offered to the store before the block that commits it.
 * After the last records come empty blocks up to the one that commits the
 * epoch covering them, as the node makes them; then the files `reputed init
 * --dev` writes around a ledger (node/init.h, the same code), the conf last,
 * so the datadir is one `reputed run` serves at once. As for init, the
 * marker DIR/init.incomplete is written before the ledger and removed
 * last, so a repute-gen killed halfway leaves a folder that says so.
 *
 * Secret keys are never stored: each is re-derived from the master seed
 * (one SHA-256) right before it signs and wiped right after. Output files
 * are written under a temporary name and renamed into place on success.
 */
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
#include "ledger/epoch.h"
#include "ledger/genesis.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/gen/gen.h"
#include "node/gen/internal.h"
#include "node/init.h"
#include "node/solo.h"

void rp_gen_seterr(struct gen *G, const char *fmt, ...)
{
    va_list ap;
    if (!G->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(G->err, G->errlen, fmt, ap);
    va_end(ap);
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
        rp_gen_seterr(G, "%s path too long: %s", what, path);
        return -ENAMETOOLONG;
    }
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int rc = -errno;
        rp_gen_seterr(G, "cannot write %s %s: %s", what, f->tmp, rp_strerror(rc));
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
        rp_gen_seterr(G, "cannot write %s %s: %s", f->what, f->path, rp_strerror(rc));
        (void)unlink(f->tmp);
    }
    return rc;
}

static int write_genesis(struct gen *G)
{
    char *json = rp_genesis_to_json(G->g);
    if (!json) {
        rp_gen_seterr(G, "out of memory");
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
        rp_gen_seterr(G, "out of memory writing the manifest");
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
            rp_gen_seterr(G, "out of memory writing the manifest");
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

/* The one call into the store's block production (ledger/store.h): block
 * `height`, the tip's next, with items[0..n), at the generator's fixed time
 * for that height, signed by the validator (key 0) with randomness derived
 * from the height. Every record is checked and its signatures verified on
 * the pool. A replacement of the store's production API goes here alone.
 * Out: hash, the new block's header hash. */
static int gen_produce_block(struct gen *G, uint64_t height, const rp_block_item *items, size_t n,
                             rp_hash *hash)
{
    rp_seckey vk;
    unsigned char aux[32];
    rp_store_error serr;
    derive_key(G, &vk, 0);
    rp_aux_derive(aux, G->master, COMMIT_AUX_BASE + height);
    int rc = rp_solo_produce(G->st, items, n, block_time_s(height) * 1000, &vk, aux,
                             rp_pool_verify, G->pool, hash, &serr);
    sodium_memzero(&vk, sizeof vk);
    if (rc)
        rp_gen_seterr(G, "the store refused generated block %llu (a generator bug): %s",
                      (unsigned long long)height, serr.msg[0] ? serr.msg : rp_strerror(rc));
    return rc;
}

/* Produce block h with items[0..n): hand over the epoch it commits if one
 * was computed ahead, start the one it snapshots, count it and report. */
static int produce_block(struct gen *G, uint64_t h, const rp_block_item *items, size_t n)
{
    rp_hash hash;
    epoch_offer(G, h);
    int rc = gen_produce_block(G, h, items, n, &hash);
    if (rc)
        return rc;
    G->stats.blocks++;
    G->stats.records += n;
    G->stats.head = hash;
    epoch_start(G, h);
    if (G->o->progress)
        G->o->progress(G->o->progress_ctx, h, G->stats.records, G->total);
    return 0;
}

/* Produce a signed block of records and empty it. */
static int produce(struct gen *G, struct block *b)
{
    for (size_t i = 0; i < b->njobs; i++) {
        if (b->jobs[i].rc) {
            rp_gen_seterr(G, "block %llu, record %zu (%s): cannot finish: %s",
                          (unsigned long long)b->height, i, rp_record_type_name(b->jobs[i].r.type),
                          rp_strerror(b->jobs[i].rc));
            return b->jobs[i].rc;
        }
        b->items[i].bytes = b->bufs + i * RP_RECORD_MAX_SIZE;
        b->items[i].len = b->jobs[i].len;
    }
    int rc = produce_block(G, b->height, b->items, b->njobs);
    if (rc)
        return rc;
    b->njobs = 0;
    b->bytes = 0;
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

/* End as the node does (daemon.c's settle): the records of block L count
 * in the score epoch whose snapshot is the first epoch boundary at or after
 * L, so make empty blocks up to the one that commits that epoch. Every
 * generated block up to now holds records, so L is the tip. */
static int settle(struct gen *G)
{
    const rp_params *p = &G->g->params;
    uint64_t last = G->stats.blocks;
    uint64_t target =
        (last + p->epoch_blocks - 1) / p->epoch_blocks * p->epoch_blocks + p->score_delay_blocks;
    static const rp_block_item none = {NULL, 0};
    for (uint64_t h = last + 1; h <= target; h++) {
        int rc = produce_block(G, h, &none, 0);
        if (rc)
            return rc;
        G->stats.settle_blocks++;
    }
    rp_tip tip;
    int rc = rp_store_tip(G->st, &tip);
    if (rc) {
        rp_gen_seterr(G, "cannot read the tip: %s", rp_strerror(rc));
        return rc;
    }
    G->stats.epoch = tip.epoch;
    return 0;
}

/* What `reputed init --dev` writes around its ledger (node/init.h), so that
 * `reputed run` serves the datadir at once: the genesis, a node key, the
 * validator's key as a plaintext dev key, and the conf, last. */
static int write_datadir_files(struct gen *G)
{
    rp_seckey vk;
    derive_key(G, &vk, 0);
    int rc = rp_init_dev_files(G->o->datadir, G->g, &vk, "repute-gen", G->err, G->errlen);
    sodium_memzero(&vk, sizeof vk);
    return rc;
}

/* ---- the stream (contracts in internal.h) ----------------------------------------- */

void *rp_gen_grow(void *p, size_t *cap, size_t need, size_t elem)
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
    if (!(p = rp_gen_grow(b->jobs, &b->capjobs, need, sizeof *b->jobs)))
        goto nomem;
    b->jobs = p;
    if (!(p = rp_gen_grow(b->items, &b->capitems, need, sizeof *b->items)))
        goto nomem;
    b->items = p;
    if (!(p = rp_gen_grow(b->bufs, &b->capbufs, need, RP_RECORD_MAX_SIZE)))
        goto nomem;
    b->bufs = p;
    return 0;
nomem:
    rp_gen_seterr(G, "out of memory");
    return RP_ERR_NOMEM;
}

/* A block is full by count, or when a largest possible record might not fit
 * in its bytes. */
int rp_gen_begin_record(struct gen *G, unsigned type, uint32_t issuer, struct job **out)
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

int rp_gen_emit(struct gen *G, struct job *j, rp_hash *id)
{
    unsigned char body[RP_RECORD_MAX_SIZE];
    size_t n;
    int rc = rp_record_encode_body(&j->r, body, sizeof body, &n);
    if (rc) {
        rp_gen_seterr(G, "generated a malformed %s record: %s", rp_record_type_name(j->r.type),
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

/* ---- the run ----------------------------------------------------------------------- */

/* The datadir, missing or empty (rp_init_check_datadir said so): created,
 * or set, to mode 0700, as `reputed init` does. */
static int make_datadir(struct gen *G, const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int rc = -errno;
        rp_gen_seterr(G, "cannot create datadir %s: %s%s", dir, rp_strerror(rc),
                      rc == -ENOENT ? " (its parent folder must exist)" : "");
        return rc;
    }
    if (chmod(dir, 0700) != 0) {
        int rc = -errno;
        rp_gen_seterr(G, "cannot set datadir %s to mode 0700: %s", dir, rp_strerror(rc));
        return rc;
    }
    return 0;
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
    if ((rc = rp_gen_check(o, err, errlen)) != 0 ||
        (rc = rp_init_check_datadir(o->datadir, "repute-gen", err, errlen)) != 0)
        return rc;

    G.rpb = o->records_per_block ? o->records_per_block : RP_GEN_DEFAULT_RECORDS_PER_BLOCK;
    G.cur = &G.blocks[0];
    G.cur->height = 1;
    if (o->pool) {
        G.pool = o->pool;
    } else {
        if ((rc = rp_pool_new(&G.pool)) != 0) {
            rp_gen_seterr(&G, "cannot start the worker pool: %s", rp_strerror(rc));
            goto out;
        }
        G.own_pool = 1;
    }
    if ((rc = uv_loop_init(&G.loop)) != 0) {
        rp_gen_seterr(&G, "cannot start an event loop: %s", uv_strerror(rc));
        goto out;
    }
    G.loop_ok = 1;

    if ((rc = rp_gen_plan_genesis(&G)) != 0)
        goto out;
    G.max_bytes = G.g->params.max_block_bytes;

    if ((o->genesis_out && (rc = out_open(&G, &G.genesis_f, o->genesis_out, "genesis")) != 0) ||
        (o->manifest && (rc = out_open(&G, &G.manifest_f, o->manifest, "manifest")) != 0))
        goto out;
    rp_store_error serr;
    if ((rc = make_datadir(&G, o->datadir)) != 0 ||
        (rc = rp_init_mark_begin(o->datadir, "repute-gen", err, errlen)) != 0)
        goto out;
    if ((rc = rp_store_create(&G.st, o->datadir, G.g, NULL, &serr)) != 0) {
        rp_gen_seterr(&G, "%s", serr.msg[0] ? serr.msg : rp_strerror(rc));
        goto out;
    }
    if ((rc = rp_gen_plan_records(&G)) != 0 || (rc = finish_blocks(&G)) != 0 ||
        (rc = settle(&G)) != 0 || (rc = write_datadir_files(&G)) != 0 ||
        (rc = rp_init_mark_done(o->datadir, err, errlen)) != 0)
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
