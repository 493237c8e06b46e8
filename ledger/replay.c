/* Replay for `reputed verify` and `reputed import` (contracts in replay.h).
 *
 * Both are one loop: take the next (block, commit) from a source (a stored
 * datadir, or an export stream), commit it to a destination store with
 * rp_exec_commit, in write batches, stop at the first failure and say where. What
 * differs is the source and what happens after the loop: verify compares
 * the rebuilt store with the one it read, import keeps what it built.
 *
 * The loop is a three-stage pipeline, so that the serial part (applying:
 * rules and LMDB, on the calling thread) overlaps the parallel part
 * (signatures, on the caller's pool):
 *   1. a decoder thread reads blocks from the source, decodes their records
 *      and lists each signature with the key the record itself names;
 *   2. a verifier thread has the caller's verifier check those lists, block
 *      after block, ahead of the block being applied;
 *   3. the caller applies blocks in order. When the store asks for a block's
 *      batch (with the keys the ledger state names), every item equal to a
 *      pre-verified (message, key, signature) in the same position takes the
 *      cached answer, and only the rest (records of identities that have
 *      rotated their key) are verified then.
 * A cached answer is the verifier's own answer for exactly those bytes, so
 * the cache changes how fast a block is checked, never what is accepted.
 * The queues between the stages are bounded in blocks and in memory. If the
 * threads cannot be started, the caller does all three stages in turn.
 */
#include "ledger/replay.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/exec.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/state.h"

#define QUEUE_BLOCKS    64          /* blocks read ahead at most: enough that signatures
                                       keep every core busy while a score epoch
                                       is computed on the applying thread */
#define QUEUE_BYTES     (64u << 20) /* and about this much memory */
#define VERIFY_ATTEMPTS 8           /* catch-ups on a chain that keeps growing */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report_fail(rp_replay_report *out, int code, uint64_t height, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report_fail(rp_replay_report *out, int code, uint64_t height, const char *fmt, ...)
{
    if (out->code)
        return; /* the first failure is the one reported */
    out->code = code;
    out->failed_height = height;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

/* ---- the pipeline ------------------------------------------------------------- */

struct sigent {
    rp_hash msg;
    rp_pubkey key;
    rp_sig sig;
};

/* One block in flight, or (final set) the end of the source. */
struct pblock {
    uint64_t height;
    unsigned char *block, *commit;
    size_t blen, clen;
    uint64_t offset;       /* source position after this block (import) */
    uint32_t nrecords;     /* from the header */
    uint32_t ncommit_sigs; /* from the commit */
    struct sigent *sigs;   /* pre-verified, in the order the rules queue them */
    unsigned char *ok;
    size_t nsigs;
    int verified; /* ok[] holds the verifier's answers for sigs[] */
    int index_rc; /* verify: the hash index entry of this block is wrong */
    char index_msg[256];
    int final; /* end of the source: rc 0 (clean) or the error, in err */
    int rc;
    rp_store_error err;
};

/* A source yields blocks: 1 (pb->block/commit filled, malloc'd), 0 at the
 * end, or a negative error with err filled. Runs on the producer thread. */
struct source {
    int (*next)(void *self, struct pblock *pb, rp_store_error *err);
    void *self;
};

/* A bounded queue of blocks between two stages (under pipe.mu). */
struct queue {
    struct pblock *q[QUEUE_BLOCKS];
    size_t head, len, bytes;
};

struct pipe {
    struct source src;
    const rp_hash *chain_id;
    size_t max_records; /* the genesis limit: bigger blocks are refused anyway */
    rp_verify_batch_fn verify;
    void *vctx;
    pthread_mutex_t vmu; /* the verifier is called by one thread at a time */

    pthread_mutex_t mu; /* guards both queues and stop */
    pthread_cond_t cv;  /* any change to them */
    struct queue decoded, verified;
    int stop;
    int threaded;
    int produced_final; /* unthreaded mode */
    pthread_t decoder, verifier;
    struct pblock spare_final; /* for when even the final item cannot be allocated */

    rp_block_item *items; /* the decoder's scratch */
    rp_commit commit;
    int in_batch; /* the caller's stage has a write batch open */
    rp_replay_progress_fn progress;
    void *pctx;
    uint32_t batch_blocks;
};

static void pblock_free(struct pipe *p, struct pblock *pb)
{
    if (!pb)
        return;
    free(pb->block);
    free(pb->commit);
    free(pb->sigs);
    free(pb->ok);
    if (pb != &p->spare_final)
        free(pb);
}

static size_t call_verify(struct pipe *p, const rp_sig_check *c, size_t n, unsigned char *ok)
{
    if (!p->verify)
        return rp_verify_range(c, 0, n, ok);
    pthread_mutex_lock(&p->vmu);
    size_t bad = p->verify(p->vctx, c, n, ok);
    pthread_mutex_unlock(&p->vmu);
    return bad;
}

/* Decode a block's records and list their signatures with the keys the
 * records name. Anything that does not decode is left for the store to
 * report: the cache then simply holds fewer entries. */
static void decode_block(struct pipe *p, struct pblock *pb)
{
    rp_header h;
    if (pb->blen >= RP_HEADER_SIZE && rp_header_decode(&h, pb->block, RP_HEADER_SIZE) == 0)
        pb->nrecords = h.record_count;
    if (rp_commit_decode(&p->commit, pb->commit, pb->clen) == 0)
        pb->ncommit_sigs = p->commit.count;
    if (rp_block_decode(&h, p->items, p->max_records, pb->block, pb->blen) != 0 ||
        h.record_count == 0)
        return;
    pb->sigs = malloc((size_t)h.record_count * RP_RECORD_MAX_SIGS * sizeof *pb->sigs);
    pb->ok = malloc((size_t)h.record_count * RP_RECORD_MAX_SIGS);
    if (!pb->sigs || !pb->ok) {
        free(pb->sigs);
        free(pb->ok);
        pb->sigs = NULL;
        pb->ok = NULL;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < h.record_count; i++) {
        rp_record r;
        rp_pubkey keys[RP_RECORD_MAX_SIGS];
        rp_hash id;
        if (rp_record_decode(&r, p->items[i].bytes, p->items[i].len, NULL) != 0)
            break;
        rp_record_id_from_body(&id, p->chain_id, p->items[i].bytes,
                               rp_record_body_len(r.type, p->items[i].len));
        size_t k = rp_record_default_signers(&r, keys);
        for (size_t s = 0; s < k; s++) {
            pb->sigs[n].msg = id;
            pb->sigs[n].key = keys[s];
            pb->sigs[n].sig = r.sigs[s];
            n++;
        }
    }
    pb->nsigs = n;
}

/* Verify the listed signatures through the caller's verifier. Until this
 * has run, pb->ok holds nothing and the cache must not be used. */
static void verify_block(struct pipe *p, struct pblock *pb)
{
    if (!pb->sigs || pb->nsigs == 0)
        return;
    rp_sig_check *checks = malloc(pb->nsigs * sizeof *checks);
    if (!checks) {
        pb->nsigs = 0; /* no cache: the store's batch is verified in full */
        return;
    }
    for (size_t i = 0; i < pb->nsigs; i++) {
        checks[i].msg = pb->sigs[i].msg.bytes;
        checks[i].msglen = 32;
        checks[i].pubkey = &pb->sigs[i].key;
        checks[i].sig = &pb->sigs[i].sig;
    }
    (void)call_verify(p, checks, pb->nsigs, pb->ok);
    free(checks);
    pb->verified = 1;
}

/* Read and decode one item. Never fails to return one. */
static struct pblock *produce_one(struct pipe *p)
{
    struct pblock *pb = calloc(1, sizeof *pb);
    if (!pb) {
        pb = &p->spare_final;
        memset(pb, 0, sizeof *pb);
        pb->final = 1;
        pb->rc = RP_ERR_NOMEM;
        pb->err.code = RP_ERR_NOMEM;
        snprintf(pb->err.msg, sizeof pb->err.msg, "out of memory");
        return pb;
    }
    int rc = p->src.next(p->src.self, pb, &pb->err);
    if (rc == 1) {
        decode_block(p, pb);
    } else {
        pb->final = 1;
        pb->rc = rc;
    }
    return pb;
}

/* What a queued block holds in memory, for the queues' bound. */
static size_t footprint(const struct pblock *pb)
{
    return pb->blen + pb->clen + pb->nsigs * (sizeof *pb->sigs + 1);
}

/* Queue pb, waiting for room. Returns 0, or -1 if the pipe is stopping (pb
 * is then still the caller's). */
static int push(struct pipe *p, struct queue *q, struct pblock *pb)
{
    pthread_mutex_lock(&p->mu);
    while (!p->stop && (q->len == QUEUE_BLOCKS || q->bytes > QUEUE_BYTES))
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    q->q[(q->head + q->len) % QUEUE_BLOCKS] = pb;
    q->len++;
    q->bytes += footprint(pb);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Take the oldest block, waiting for one. Returns NULL if the pipe is
 * stopping. */
static struct pblock *pop(struct pipe *p, struct queue *q)
{
    pthread_mutex_lock(&p->mu);
    while (!p->stop && q->len == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct pblock *pb = NULL;
    if (q->len) {
        pb = q->q[q->head];
        q->head = (q->head + 1) % QUEUE_BLOCKS;
        q->len--;
        q->bytes -= footprint(pb);
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return pb;
}

/* Stage 1: read and decode, so that the pool never waits for it. */
static void *decoder(void *arg)
{
    struct pipe *p = arg;
    for (;;) {
        struct pblock *pb = produce_one(p);
        int final = pb->final; /* once queued, pb belongs to the next stage */
        if (push(p, &p->decoded, pb) != 0) {
            pblock_free(p, pb);
            return NULL;
        }
        if (final)
            return NULL;
    }
}

/* Stage 2: verify each block's signatures on the pool, ahead of stage 3
 * (the caller, applying). */
static void *verifier(void *arg)
{
    struct pipe *p = arg;
    for (;;) {
        struct pblock *pb = pop(p, &p->decoded);
        if (!pb)
            return NULL;
        int final = pb->final;
        if (!final)
            verify_block(p, pb);
        if (push(p, &p->verified, pb) != 0) {
            pblock_free(p, pb);
            return NULL;
        }
        if (final)
            return NULL;
    }
}

static struct pblock *dequeue(struct pipe *p)
{
    if (p->threaded)
        return pop(p, &p->verified); /* never NULL: only the caller stops */
    if (p->produced_final)
        return NULL;
    struct pblock *pb = produce_one(p);
    p->produced_final = pb->final;
    if (!pb->final)
        verify_block(p, pb);
    return pb;
}

/* Start the two stages; without threads the caller does all three in turn.
 * The verifier starts first: until the decoder runs, nothing has been read
 * from the source, so a failure here loses nothing. */
static void start_threads(struct pipe *p)
{
    p->threaded = 0;
    if (pthread_create(&p->verifier, NULL, verifier, p) != 0)
        return;
    if (pthread_create(&p->decoder, NULL, decoder, p) != 0) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->verifier, NULL);
        p->stop = 0;
        return;
    }
    p->threaded = 1;
}

static void stop_threads(struct pipe *p)
{
    if (!p->threaded)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->decoder, NULL);
    pthread_join(p->verifier, NULL);
    struct queue *qs[2] = {&p->decoded, &p->verified};
    for (int i = 0; i < 2; i++) {
        while (qs[i]->len) {
            pblock_free(p, qs[i]->q[qs[i]->head]);
            qs[i]->head = (qs[i]->head + 1) % QUEUE_BLOCKS;
            qs[i]->len--;
        }
    }
}

/* The verifier the store calls for the block being applied. */
struct vcache {
    struct pipe *p;
    const struct pblock *pb;
    uint64_t checked;
};

static int same_check(const rp_sig_check *c, const struct sigent *e)
{
    return c->msglen == 32 && memcmp(c->msg, e->msg.bytes, 32) == 0 &&
           memcmp(c->pubkey->bytes, e->key.bytes, 32) == 0 &&
           memcmp(c->sig->bytes, e->sig.bytes, 64) == 0;
}

static size_t cached_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok)
{
    struct vcache *vc = ctx;
    const struct pblock *pb = vc->pb;
    size_t *miss = malloc((n ? n : 1) * sizeof *miss);
    size_t nmiss = 0, bad = 0;

    vc->checked += n;
    for (size_t i = 0; i < n; i++) {
        if (pb->verified && i < pb->nsigs && same_check(&items[i], &pb->sigs[i]))
            ok[i] = pb->ok[i];
        else if (miss)
            miss[nmiss++] = i;
        else
            ok[i] = (unsigned char)rp_verify(items[i].sig, items[i].msg, items[i].msglen,
                                             items[i].pubkey);
    }
    if (nmiss) {
        rp_sig_check *c = malloc(nmiss * sizeof *c);
        unsigned char *r = malloc(nmiss);
        if (c && r) {
            for (size_t j = 0; j < nmiss; j++)
                c[j] = items[miss[j]];
            (void)call_verify(vc->p, c, nmiss, r);
            for (size_t j = 0; j < nmiss; j++)
                ok[miss[j]] = r[j];
        } else {
            for (size_t j = 0; j < nmiss; j++)
                (void)rp_verify_range(items, miss[j], miss[j] + 1, ok);
        }
        free(c);
        free(r);
    }
    free(miss);
    for (size_t i = 0; i < n; i++)
        bad += ok[i] == 0;
    return bad;
}

/* "record 3: ..." from the store becomes "record 3 (review, seq 9): ...", so
 * that an operator can find the record without decoding the block. */
static void describe_failure(char *out, size_t cap, const struct pblock *pb,
                             const rp_store_error *err)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "record %lld: ", (long long)err->index);
    rp_header h;
    rp_block_item *items = NULL;
    if (err->index < 0 || plen <= 0 || strncmp(err->msg, prefix, (size_t)plen) != 0 ||
        rp_header_decode(&h, pb->block, RP_HEADER_SIZE) != 0 ||
        (uint64_t)err->index >= h.record_count || h.record_count > RP_BLOCK_MAX_RECORDS ||
        (items = malloc(h.record_count * sizeof *items)) == NULL ||
        rp_block_decode(&h, items, h.record_count, pb->block, pb->blen) != 0) {
        free(items);
        snprintf(out, cap, "%s", err->msg);
        return;
    }
    rp_record r;
    const rp_block_item *it = &items[err->index];
    if (rp_record_decode(&r, it->bytes, it->len, NULL) == 0)
        snprintf(out, cap, "record %lld (%s, seq %llu): %s", (long long)err->index,
                 rp_record_type_name(r.type), (unsigned long long)r.seq, err->msg + plen);
    else
        snprintf(out, cap, "%s", err->msg);
    free(items);
}

struct run_stats {
    uint64_t last_height;
    uint64_t blocks, records, signatures;
    uint64_t bytes_total;
    double t0;
};

/* How many blocks go into one write transaction (ledger/store.h batches):
 * enough that a transaction's fixed costs (page copies of the B-trees'
 * upper levels, the commit, the fsync of a durable store) are spread over
 * many blocks, few enough that a transaction stays far below LMDB's limit
 * of dirty pages and a crash during import loses little. */
#define BATCH_BLOCKS  512
#define BATCH_RECORDS 16384
#define BATCH_SECONDS 2.0

/* Commit the open batch, if any. */
static int flush_batch(rp_store *dst, rp_replay_report *out, uint64_t height)
{
    rp_store_error err;
    if (rp_store_batch_blocks(dst) == 0) {
        rp_store_batch_abort(dst); /* an empty batch, if one is open */
        return 0;
    }
    int rc = rp_store_batch_commit(dst, &err);
    if (rc)
        report_fail(out, rc, height, "%s", err.msg);
    return rc;
}

/* Apply every block of a source to dst, in batches. Returns 0 at the
 * source's clean end, else the first error (reported in out); either way
 * every block before the failing one is committed. */
static int run_pipeline(struct pipe *p, rp_store *dst, struct run_stats *st, uint64_t total,
                        rp_replay_report *out)
{
    rp_replay_progress_fn progress = p->progress;
    void *pctx = p->pctx;
    uint32_t batch_blocks = p->batch_blocks ? p->batch_blocks : BATCH_BLOCKS;
    int rc = 0;
    struct vcache vc = {p, NULL, 0};
    uint64_t batch_records = 0;
    double batch_t0 = 0;

    p->items = malloc((p->max_records ? p->max_records : 1) * sizeof *p->items);
    if (!p->items) {
        report_fail(out, RP_ERR_NOMEM, 0, "out of memory");
        return RP_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_mutex_init(&p->vmu, NULL);
    start_threads(p);

    for (;;) {
        struct pblock *pb = dequeue(p);
        if (!pb)
            break;
        if (pb->final) {
            rc = pb->rc;
            if (rc)
                report_fail(out, rc, pb->err.height, "%s", pb->err.msg);
            pblock_free(p, pb);
            break;
        }
        rp_store_error err;
        if (!p->in_batch) {
            if ((rc = rp_store_batch_begin(dst, &err)) != 0) {
                report_fail(out, rc, pb->height, "%s", err.msg);
                pblock_free(p, pb);
                break;
            }
            p->in_batch = 1;
            batch_records = 0;
            batch_t0 = now();
        }
        vc.pb = pb;
        rc = rp_exec_commit(dst, pb->block, pb->blen, pb->commit, pb->clen, NULL, cached_verify,
                            &vc, &err);
        if (rc) {
            char why[sizeof out->reason];
            describe_failure(why, sizeof why, pb, &err);
            report_fail(out, rc, pb->height, "%s", why);
            pblock_free(p, pb);
            break;
        }
        if (pb->index_rc) {
            rc = pb->index_rc;
            report_fail(out, rc, pb->height, "%s", pb->index_msg);
            pblock_free(p, pb);
            break;
        }
        st->last_height = pb->height;
        st->blocks++;
        st->records += pb->nrecords;
        st->signatures += pb->ncommit_sigs;
        batch_records += pb->nrecords;
        if (rp_store_batch_blocks(dst) >= batch_blocks || batch_records >= BATCH_RECORDS ||
            now() - batch_t0 >= BATCH_SECONDS) {
            p->in_batch = 0;
            if ((rc = flush_batch(dst, out, pb->height)) != 0) {
                pblock_free(p, pb);
                break;
            }
        }
        if (progress) {
            rp_replay_progress pr = {
                .stage = RP_REPLAY_APPLY,
                .height = pb->height,
                .total = total,
                .records = st->records,
                .signatures = st->signatures + vc.checked,
                .elapsed = now() - st->t0,
                .bytes_done = pb->offset,
                .bytes_total = st->bytes_total,
            };
            int prc = progress(pctx, &pr);
            if (prc) {
                rc = prc < 0 ? prc : -ECANCELED;
                report_fail(out, rc, 0, "stopped after block %llu: %s",
                            (unsigned long long)pb->height, rp_strerror(rc));
                pblock_free(p, pb);
                break;
            }
        }
        pblock_free(p, pb);
    }
    /* Whatever happened, the blocks applied so far are kept. */
    p->in_batch = 0;
    int frc = flush_batch(dst, out, st->last_height);
    if (rc == 0)
        rc = frc;
    st->signatures += vc.checked;
    stop_threads(p);
    pthread_mutex_destroy(&p->vmu);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->items);
    p->items = NULL;
    return rc;
}

/* ---- sources -------------------------------------------------------------------- */

/* A stored datadir, heights next..last, with each height's hash index entry
 * checked on the way (the store's own apply never reads it back). */
struct store_src {
    rp_store *s;
    uint64_t next, last;
};

static void check_index(rp_store *s, struct pblock *pb)
{
    rp_header h;
    rp_hash hh;
    unsigned char *v = NULL;
    size_t vlen = 0;
    char hex[65];
    if (rp_header_decode(&h, pb->block, RP_HEADER_SIZE) != 0)
        return; /* applying the block reports this */
    rp_header_hash(&hh, &h);
    rp_hex_encode(hex, sizeof hex, hh.bytes, 32);
    int rc = rp_store_debug_get(s, RP_DB_HASH_HEIGHT, hh.bytes, 32, &v, &vlen);
    if (rc == RP_ERR_NOT_FOUND) {
        pb->index_rc = RP_ERR_NOT_FOUND;
        snprintf(pb->index_msg, sizeof pb->index_msg,
                 "table hash_height: no entry for this block's hash %s", hex);
    } else if (rc) {
        pb->index_rc = rc;
        snprintf(pb->index_msg, sizeof pb->index_msg,
                 "table hash_height: cannot read the entry for %s: %s", hex, rp_strerror(rc));
    } else {
        uint64_t at = 0;
        for (size_t i = 0; i < vlen && i < 8; i++)
            at = at << 8 | v[i];
        if (vlen != 8 || at != pb->height) {
            pb->index_rc = RP_ERR_CORRUPT;
            if (vlen != 8)
                snprintf(pb->index_msg, sizeof pb->index_msg,
                         "table hash_height: entry %s has a %zu-byte value, not a height", hex,
                         vlen);
            else
                snprintf(pb->index_msg, sizeof pb->index_msg,
                         "table hash_height: entry %s says height %llu", hex,
                         (unsigned long long)at);
        }
    }
    free(v);
}

static int store_next(void *self, struct pblock *pb, rp_store_error *err)
{
    struct store_src *ss = self;
    if (ss->next > ss->last)
        return 0;
    uint64_t h = ss->next++;
    int rc = rp_store_read_block(ss->s, h, &pb->block, &pb->blen);
    if (rc == 0 && (rc = rp_store_read_commit(ss->s, h, &pb->commit, &pb->clen)) != 0) {
        err->code = rc;
        err->height = h;
        snprintf(err->msg, sizeof err->msg, "the commit of block %llu cannot be read: %s",
                 (unsigned long long)h, rc == RP_ERR_NOT_FOUND ? "it is missing" : rp_strerror(rc));
        return rc;
    }
    if (rc) {
        err->code = rc;
        err->height = h;
        snprintf(err->msg, sizeof err->msg, "block %llu cannot be read: %s", (unsigned long long)h,
                 rc == RP_ERR_NOT_FOUND ? "its header or body is missing" : rp_strerror(rc));
        return rc;
    }
    pb->height = h;
    if (pb->blen >= RP_HEADER_SIZE)
        check_index(ss->s, pb);
    return 1;
}

/* An export stream. Blocks at or below resume_height are already in the
 * datadir (an import that stopped or was killed): each must be the stored
 * block of its height, byte for byte in its header, and is skipped. */
struct reader_src {
    rp_export_reader *r;
    rp_store *dst;
    uint64_t resume_height;
    uint64_t skipped;
};

static int reader_next(void *self, struct pblock *pb, rp_store_error *err)
{
    struct reader_src *rs = self;
    rp_export_block b;
    int rc;
    for (;;) {
        rc = rp_export_reader_next(rs->r, &b, err);
        if (rc != 1)
            return rc;
        if (b.height > rs->resume_height)
            break;
        rp_header stored;
        if ((rc = rp_store_read_header(rs->dst, b.height, &stored)) != 0 ||
            b.blen < RP_HEADER_SIZE) {
            rp_store_error_set(err, rc ? rc : RP_ERR_CORRUPT, b.height, -1,
                               "cannot read the datadir's block %llu to resume: %s",
                               (unsigned long long)b.height, rp_strerror(rc ? rc : RP_ERR_CORRUPT));
            return rc ? rc : RP_ERR_CORRUPT;
        }
        unsigned char enc[RP_HEADER_SIZE];
        if (rp_header_encode(&stored, enc) != 0 || memcmp(enc, b.block, RP_HEADER_SIZE) != 0) {
            rp_store_error_set(err, RP_ERR_CHAIN_MISMATCH, b.height, -1,
                               "the datadir's block %llu differs from the export's: it holds "
                               "another chain's blocks; import into a new datadir",
                               (unsigned long long)b.height);
            return RP_ERR_CHAIN_MISMATCH;
        }
        rs->skipped++;
    }
    pb->block = malloc(b.blen);
    pb->commit = malloc(b.clen);
    if (!pb->block || !pb->commit) {
        err->code = RP_ERR_NOMEM;
        err->height = b.height;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return RP_ERR_NOMEM;
    }
    memcpy(pb->block, b.block, b.blen);
    memcpy(pb->commit, b.commit, b.clen);
    pb->blen = b.blen;
    pb->clen = b.clen;
    pb->height = b.height;
    pb->offset = rp_export_reader_offset(rs->r);
    return 1;
}

static void pipe_init(struct pipe *p, rp_store *dst, const rp_replay_opts *o)
{
    memset(p, 0, sizeof *p);
    p->chain_id = rp_store_chain_id(dst);
    p->max_records = rp_store_genesis(dst)->params.max_block_records;
    p->verify = o->verify;
    p->vctx = o->vctx;
    p->progress = o->progress;
    p->pctx = o->pctx;
    p->batch_blocks = o->batch_blocks;
}

/* ---- verify ------------------------------------------------------------------------- */

/* Remove scratch/ledger and the files in it (LMDB's two and the lock). */
static void remove_ledger(const char *scratch)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/ledger", scratch) >= (int)sizeof path)
        return;
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char f[4096 + 256];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        (void)unlink(f);
    }
    closedir(d);
    (void)rmdir(path);
}

static void hexs(char out[65], const rp_hash *h)
{
    rp_hex_encode(out, 65, h->bytes, 32);
}

/* Compare the stored tip with the rebuilt one, naming the first field that
 * differs. */
static int compare_tips(const rp_tip *stored, const rp_tip *rebuilt, rp_replay_report *out)
{
    static const struct {
        const char *name;
        size_t off;
    } hashes[] = {
        {"head hash", offsetof(rp_tip, head_hash)},
        {"state hash", offsetof(rp_tip, state_hash)},
        {"commit hash", offsetof(rp_tip, commit_hash)},
        {"score root", offsetof(rp_tip, score_root)},
    };
    char a[65], b[65];
    if (stored->height != rebuilt->height || stored->time_ms != rebuilt->time_ms ||
        stored->epoch != rebuilt->epoch) {
        report_fail(out, RP_ERR_CORRUPT, 0,
                    "the stored tip (height %llu, time %llu ms, epoch %llu) differs from the "
                    "replayed one (height %llu, time %llu ms, epoch %llu)",
                    (unsigned long long)stored->height, (unsigned long long)stored->time_ms,
                    (unsigned long long)stored->epoch, (unsigned long long)rebuilt->height,
                    (unsigned long long)rebuilt->time_ms, (unsigned long long)rebuilt->epoch);
        return RP_ERR_CORRUPT;
    }
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        const rp_hash *x = (const rp_hash *)(const void *)((const char *)stored + hashes[i].off);
        const rp_hash *y = (const rp_hash *)(const void *)((const char *)rebuilt + hashes[i].off);
        if (!rp_hash_eq(x, y)) {
            hexs(a, x);
            hexs(b, y);
            report_fail(out, RP_ERR_CORRUPT, 0, "the stored tip's %s is %s, the replay gives %s",
                        hashes[i].name, a, b);
            return RP_ERR_CORRUPT;
        }
    }
    return 0;
}

/* The checks after the last block: tips, chain tables' sizes, state. */
static int final_checks(rp_store *src, rp_store *dst, const rp_tip *stored, rp_replay_report *out)
{
    static const int chain_tables[] = {RP_DB_HEADERS, RP_DB_BODIES, RP_DB_COMMITS,
                                       RP_DB_HASH_HEIGHT};
    static const char *const chain_names[] = {"headers", "bodies", "commits", "hash_height"};
    rp_tip rebuilt;
    rp_store_error err;
    int rc;

    if ((rc = rp_store_tip(dst, &rebuilt)) != 0) {
        report_fail(out, rc, 0, "cannot read the replayed tip: %s", rp_strerror(rc));
        return rc;
    }
    if ((rc = compare_tips(stored, &rebuilt, out)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof chain_tables / sizeof chain_tables[0]; i++) {
        uint64_t n;
        if ((rc = rp_store_count(src, chain_tables[i], &n)) != 0) {
            report_fail(out, rc, 0, "cannot count table %s: %s", chain_names[i], rp_strerror(rc));
            return rc;
        }
        if (n != stored->height) {
            report_fail(out, RP_ERR_CORRUPT, 0,
                        "table %s holds %llu entries; a chain at height %llu has exactly %llu",
                        chain_names[i], (unsigned long long)n, (unsigned long long)stored->height,
                        (unsigned long long)stored->height);
            return RP_ERR_CORRUPT;
        }
    }
    if ((rc = rp_store_compare_state(src, dst, &err)) != 0) {
        report_fail(out, rc, 0, "state differs from the replay: %s",
                    err.msg[0] ? err.msg : rp_strerror(rc));
        return rc;
    }
    return 0;
}

static void finish_report(rp_replay_report *out, const struct run_stats *st, rp_store *dst)
{
    out->blocks = st->blocks;
    out->records = st->records;
    out->signatures = st->signatures;
    out->elapsed = now() - st->t0;
    if (out->elapsed > 0) {
        out->records_per_s = (double)out->records / out->elapsed;
        out->signatures_per_s = (double)out->signatures / out->elapsed;
    }
    if (dst) {
        (void)rp_store_count(dst, RP_DB_IDENTITIES, &out->identities);
        (void)rp_store_tip(dst, &out->tip);
    }
}

int rp_replay_verify(const char *dir, const char *scratch_dir, const rp_replay_opts *opts,
                     rp_replay_report *out)
{
    static const rp_replay_opts defaults;
    const rp_replay_opts *o = opts ? opts : &defaults;
    rp_store *src = NULL, *dst = NULL;
    rp_store_error err;
    rp_store_opts ro = {.map_size = 0, .read_only = 1};
    struct run_stats st;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.t0 = now();
    if ((rc = rp_store_open(&src, dir, &ro, &err)) != 0) {
        report_fail(out, rc, 0, "cannot open the datadir: %s", err.msg);
        return rc;
    }
    /* The replay's store is thrown away at the end: no fsync per commit. */
    rp_store_opts scratch = {.map_size = 0, .read_only = 0, .scratch = 1};
    if ((rc = rp_store_create(&dst, scratch_dir, rp_store_genesis(src), &scratch, &err)) != 0) {
        report_fail(out, rc, 0, "cannot create the scratch ledger in %s: %s", scratch_dir, err.msg);
        rp_store_close(src);
        return rc;
    }

    /* Replay to the stored tip, check, and make sure the tip did not move
     * while we checked (a running node may be adding blocks): the state
     * comparison must see the state of the tip it is compared at. */
    int settled = 0;
    for (int attempt = 0; attempt < VERIFY_ATTEMPTS && rc == 0 && !settled; attempt++) {
        rp_tip before, after;
        if ((rc = rp_store_tip(src, &before)) != 0) {
            report_fail(out, rc, 0, "cannot read the datadir's tip: %s", rp_strerror(rc));
            break;
        }
        if (before.height < st.last_height) {
            rc = RP_ERR_CORRUPT;
            report_fail(out, rc, 0, "the datadir's tip went back from height %llu to %llu",
                        (unsigned long long)st.last_height, (unsigned long long)before.height);
            break;
        }
        if (before.height > st.last_height) {
            struct pipe *p = malloc(sizeof *p);
            struct store_src ss = {src, st.last_height + 1, before.height};
            if (!p) {
                rc = RP_ERR_NOMEM;
                report_fail(out, rc, 0, "out of memory");
                break;
            }
            pipe_init(p, dst, o);
            p->src.next = store_next;
            p->src.self = &ss;
            rc = run_pipeline(p, dst, &st, before.height, out);
            free(p);
            continue; /* read the tip again */
        }
        if (o->progress) {
            rp_replay_progress pr = {
                .stage = RP_REPLAY_COMPARE,
                .height = st.last_height,
                .total = before.height,
                .records = st.records,
                .signatures = st.signatures,
                .elapsed = now() - st.t0,
            };
            int prc = o->progress(o->pctx, &pr);
            if (prc) {
                rc = prc < 0 ? prc : -ECANCELED;
                report_fail(out, rc, 0, "stopped before comparing: %s", rp_strerror(rc));
                break;
            }
        }
        rc = final_checks(src, dst, &before, out);
        if ((rc == 0 || rc == RP_ERR_CORRUPT) && rp_store_tip(src, &after) == 0 &&
            memcmp(&before, &after, sizeof before) != 0) {
            /* The chain moved under the comparison: catch up and compare
             * again rather than report a difference that is only time. */
            out->code = 0;
            out->reason[0] = '\0';
            out->failed_height = 0;
            rc = 0;
            continue;
        }
        settled = 1;
    }
    if (rc == 0 && !settled) {
        rc = -EAGAIN;
        report_fail(out, rc, 0,
                    "the chain kept growing while it was verified; stop the node (or verify "
                    "a copy of the datadir) and run verify again");
    }
    finish_report(out, &st, dst);
    rp_store_close(dst);
    rp_store_close(src);
    remove_ledger(scratch_dir);
    out->code = rc;
    return rc;
}

/* ---- import ----------------------------------------------------------------------------- */

int rp_replay_import(const char *export_path, const char *dir, const rp_replay_opts *opts,
                     rp_replay_report *out)
{
    static const rp_replay_opts defaults;
    const rp_replay_opts *o = opts ? opts : &defaults;
    rp_export_reader *reader = NULL;
    rp_store *dst = NULL;
    rp_store_error err;
    struct run_stats st;
    struct reader_src rs = {0};
    struct pipe *p = NULL;
    struct stat sb;
    FILE *f;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.t0 = now();
    int is_stdin = strcmp(export_path, "-") == 0;
    f = is_stdin ? stdin : fopen(export_path, "rb");
    if (!f) {
        rc = -errno;
        report_fail(out, rc, 0, "cannot open %s: %s", export_path, rp_strerror(rc));
        return rc;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        st.bytes_total = (uint64_t)sb.st_size;
    if ((rc = rp_export_reader_open_file(&reader, f, &err)) != 0) {
        report_fail(out, rc, 0, "%s: %s", is_stdin ? "standard input" : export_path, err.msg);
        goto done;
    }

    /* The datadir: created if absent. A ledger already there must be of the
     * same chain: the import resumes after its tip (an import that stopped,
     * failed or was killed), skipping the blocks it holds once each is
     * found to be the export's own. */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        report_fail(out, rc, 0, "cannot create %s: %s", dir, rp_strerror(rc));
        goto done;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        rc = -ENOTDIR;
        report_fail(out, rc, 0, "%s is not a folder", dir);
        goto done;
    }
    {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/ledger", dir) >= (int)sizeof path) {
            rc = -ENAMETOOLONG;
            report_fail(out, rc, 0, "datadir path too long");
            goto done;
        }
        const rp_genesis *g = rp_export_reader_genesis(reader);
        if (stat(path, &sb) == 0) {
            rp_hash chain;
            rp_tip tip;
            if ((rc = rp_genesis_chain_id(&chain, g)) != 0 ||
                (rc = rp_store_open_chain(&dst, dir, &chain, NULL, &err)) != 0) {
                report_fail(out, rc, 0, "cannot resume the import into %s: %s", dir,
                            rc == RP_ERR_CHAIN_MISMATCH
                                ? "it holds another chain; import into a new datadir"
                                : err.msg);
                goto done;
            }
            if ((rc = rp_store_tip(dst, &tip)) != 0) {
                report_fail(out, rc, 0, "cannot read the tip of %s: %s", dir, rp_strerror(rc));
                goto done;
            }
            rs.resume_height = tip.height;
            out->resumed_from = tip.height;
        } else if ((rc = rp_store_create(&dst, dir, g, NULL, &err)) != 0) {
            report_fail(out, rc, 0, "cannot create the ledger in %s: %s", dir, err.msg);
            goto done;
        }
    }

    p = malloc(sizeof *p);
    rs.r = reader;
    rs.dst = dst;
    if (!p) {
        rc = RP_ERR_NOMEM;
        report_fail(out, rc, 0, "out of memory");
        goto done;
    }
    pipe_init(p, dst, o);
    p->src.next = reader_next;
    p->src.self = &rs;
    rc = run_pipeline(p, dst, &st, 0, out);
    free(p);

done:
    finish_report(out, &st, dst);
    rp_store_close(dst);
    rp_export_reader_free(reader);
    if (!is_stdin)
        fclose(f);
    out->code = rc;
    return rc;
}
