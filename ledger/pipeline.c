/* The replay pipeline (contract in pipeline.h).
 *
 * Three stages, so that the serial part (committing: rules and LMDB, on the
 * calling thread) overlaps the parallel part (signatures, on the caller's
 * pool):
 *   1. a decoder thread reads blocks from the source, decodes their records
 *      and lists each signature with the key the record itself names;
 *   2. a verifier thread has the caller's verifier check those lists, block
 *      after block, ahead of the block being committed;
 *   3. the caller commits blocks in order. When the ledger asks for a
 *      block's batch (with the keys the ledger state names), every item
 *      equal to a pre-verified (message, key, signature) in the same
 *      position takes the cached answer, and only the rest (records of
 *      identities that have rotated their key) are verified then.
 * A cached answer is the verifier's own answer for exactly those bytes, so
 * the cache changes how fast a block is checked, never what is accepted.
 * The queues between the stages are bounded in blocks and in memory. If the
 * threads cannot be started, the caller does all three stages in turn.
 * Blocks are committed in write batches (ledger/store.h).
 */
#include "ledger/pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/exec.h"
#include "ledger/record.h"

#define QUEUE_BLOCKS                                                                               \
    64                          /* blocks read ahead at most: enough that signatures               \
                                   keep every core busy while a score epoch                        \
                                   is computed on the applying thread */
#define QUEUE_BYTES (64u << 20) /* and about this much memory */

double rp_replay_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rp_replay_fail(rp_replay_report *out, int code, uint64_t height, const char *fmt, ...)
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
    rp_presig_free(&pb->pre);
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

/* Read the block's height fields and list its signatures (presig.h). */
static void decode_block(struct pipe *p, struct pblock *pb)
{
    rp_header h;
    if (pb->blen >= RP_HEADER_SIZE && rp_header_decode(&h, pb->block, RP_HEADER_SIZE) == 0)
        pb->nrecords = h.record_count;
    if (rp_commit_decode(&p->commit, pb->commit, pb->clen) == 0)
        pb->ncommit_sigs = p->commit.count;
    rp_presig_list(&pb->pre, p->chain_id, pb->block, pb->blen, p->items, p->max_records);
}

/* The caller's verifier, called by one thread at a time (the verifier
 * thread ahead, the applying thread for the misses). */
static size_t locked_verify(void *ctx, const rp_sig_check *c, size_t n, unsigned char *ok)
{
    return call_verify(ctx, c, n, ok);
}

static void verify_block(struct pipe *p, struct pblock *pb)
{
    rp_presig_verify(&pb->pre, locked_verify, p);
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
    return pb->blen + pb->clen + pb->pre.n * (sizeof *pb->pre.sigs + 1);
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
        rp_replay_fail(out, rc, height, "%s", err.msg);
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
    rp_presig_cache vc = {NULL, locked_verify, p, 0};
    uint64_t batch_records = 0;
    double batch_t0 = 0;

    p->items = malloc((p->max_records ? p->max_records : 1) * sizeof *p->items);
    if (!p->items) {
        rp_replay_fail(out, RP_ERR_NOMEM, 0, "out of memory");
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
                rp_replay_fail(out, rc, pb->err.height, "%s", pb->err.msg);
            pblock_free(p, pb);
            break;
        }
        rp_store_error err;
        if (!p->in_batch) {
            if ((rc = rp_store_batch_begin(dst, &err)) != 0) {
                rp_replay_fail(out, rc, pb->height, "%s", err.msg);
                pblock_free(p, pb);
                break;
            }
            p->in_batch = 1;
            batch_records = 0;
            batch_t0 = rp_replay_now();
        }
        vc.ps = &pb->pre;
        rc = rp_exec_commit(dst, pb->block, pb->blen, pb->commit, pb->clen, NULL,
                            rp_presig_cached_verify, &vc, &err);
        if (rc) {
            char why[sizeof out->reason];
            describe_failure(why, sizeof why, pb, &err);
            rp_replay_fail(out, rc, pb->height, "%s", why);
            pblock_free(p, pb);
            break;
        }
        if (pb->index_rc) {
            rc = pb->index_rc;
            rp_replay_fail(out, rc, pb->height, "%s", pb->index_msg);
            pblock_free(p, pb);
            break;
        }
        st->last_height = pb->height;
        st->blocks++;
        st->records += pb->nrecords;
        st->signatures += pb->ncommit_sigs;
        batch_records += pb->nrecords;
        if (rp_store_batch_blocks(dst) >= batch_blocks || batch_records >= BATCH_RECORDS ||
            rp_replay_now() - batch_t0 >= BATCH_SECONDS) {
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
                .elapsed = rp_replay_now() - st->t0,
                .bytes_done = pb->offset,
                .bytes_total = st->bytes_total,
            };
            int prc = progress(pctx, &pr);
            if (prc) {
                rc = prc < 0 ? prc : -ECANCELED;
                rp_replay_fail(out, rc, 0, "stopped after block %llu: %s",
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

int rp_pipeline_run(rp_store *dst, const struct source *src, const rp_replay_opts *o,
                    struct run_stats *st, uint64_t total, rp_replay_report *out)
{
    struct pipe *p = malloc(sizeof *p);
    if (!p) {
        rp_replay_fail(out, RP_ERR_NOMEM, 0, "out of memory");
        return RP_ERR_NOMEM;
    }
    pipe_init(p, dst, o);
    p->src = *src;
    int rc = run_pipeline(p, dst, st, total, out);
    free(p);
    return rc;
}
