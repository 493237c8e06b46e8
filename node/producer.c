/* The single-validator producer: when this node's key alone is a quorum (the
 * dev chain), every block interval the mempool's ready records become a
 * block. It is what a consensus engine replaces on a chain of several
 * validators, and is built from the same pieces:
 *
 *   1. tick (loop): take the ready prefix from the mempool, freeze it;
 *   2. build (pool): rp_exec_build on a read transaction; signatures the
 *      mempool verified are answered from the job's sorted copy;
 *   3. sign (loop): the precommit, as a one-signature commit (node/solo.h);
 *   4. commit (the writer, on the pool): rp_exec_commit with the built
 *      result, so the rules run once;
 *   5. done (loop): the mempool forgets what the block included.
 *
 * Empty blocks are made only until the score epoch covering the latest
 * records is committed ("settling"), so that a quiet chain's scores catch up
 * and then the chain rests. Epochs are computed ahead on the pool from
 * height b on and offered through the writer before block b + delay; a
 * block that commits an epoch waits for its computation.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/exec.h"
#include "ledger/query.h"
#include "node/disk.h"
#include "node/log.h"
#include "node/node.h"
#include "node/solo.h"

#define RATE_WINDOW_S 60
#define MAX_REJECTED  16 /* candidates left out of a block that are reported */

static uint64_t round_up(uint64_t h, uint64_t m)
{
    return (h + m - 1) / m * m;
}

static void note_rate(struct node *n, uint64_t records)
{
    size_t i = n->nrate++ % (sizeof n->rate / sizeof n->rate[0]);
    n->rate[i].t_ms = rp_node_wall_ms();
    n->rate[i].records = records;
}

double rp_producer_rate(struct node *n)
{
    uint64_t now = rp_node_wall_ms(), sum = 0;
    size_t cnt = n->nrate < 256 ? n->nrate : 256;
    for (size_t i = 0; i < cnt; i++)
        if (now - n->rate[i].t_ms <= RATE_WINDOW_S * 1000)
            sum += n->rate[i].records;
    return (double)sum / RATE_WINDOW_S;
}

/* ---- score epochs ahead of time ------------------------------------------------------ */

struct epoch_job {
    uv_work_t req;
    struct node *n;
    uint64_t epoch;
    rp_epoch_result *res;
    int rc;
    rp_store_error err;
};

static void epoch_work(uv_work_t *req)
{
    struct epoch_job *j = req->data;
    j->rc = rp_store_epoch_compute(j->n->st, j->epoch, &j->res, &j->err);
}

static void offer_done(void *ctx, int rc, const rp_store_error *err)
{
    struct epoch_job *j = ctx;
    (void)rc;
    (void)err;
    if (j->epoch > j->n->epoch_offered)
        j->n->epoch_offered = j->epoch;
    free(j);
}

static void epoch_done(uv_work_t *req, int status)
{
    struct epoch_job *j = req->data;
    struct node *n = j->n;
    (void)status;
    n->epoch_job = 0;
    if (j->rc) {
        char q[300];
        rp_log(RP_LOG_WARN, "epoch_compute_failed", "epoch=%llu code=%d msg=%s",
               (unsigned long long)j->epoch, j->rc, rp_log_str(q, sizeof q, j->err.msg));
        free(j);
        return;
    }
    double snap = 0, comp = 0;
    size_t edges = 0;
    rp_epoch_info info;
    rp_epoch_result_info(j->res, &info, &snap, &comp, &edges);
    rp_log(RP_LOG_INFO, "epoch_computed",
           "epoch=%llu identities=%u edges=%zu snapshot_ms=%.1f engine_ms=%.1f",
           (unsigned long long)j->epoch, info.identities, edges, snap * 1e3, comp * 1e3);
    n->epoch_computed = j->epoch;
    n->epochs_computed++;
    n->epoch_compute_s = snap + comp;
    rp_epoch_result *res = j->res;
    j->res = NULL;
    /* The writer hands it to the store between two commits. */
    if (rp_node_writer_offer(n->writer, res, offer_done, j) != 0)
        free(j); /* the block computes the epoch inline then */
}

static void start_epoch_job(struct node *n, uint64_t epoch)
{
    if (n->epoch_job || epoch <= n->epoch_computed || n->stopping)
        return;
    struct epoch_job *j = calloc(1, sizeof *j);
    if (!j)
        return; /* the block computes it inline then */
    j->n = n;
    j->epoch = epoch;
    j->req.data = j;
    if (uv_queue_work(n->loop, &j->req, epoch_work, epoch_done) != 0) {
        free(j);
        return;
    }
    n->epoch_job = 1;
    n->epoch_job_epoch = epoch;
}

/* If the tip sits between an epoch boundary b and b + delay, that epoch's
 * table will be needed soon: compute it now. */
void rp_producer_epoch_ahead(struct node *n, uint64_t height)
{
    uint64_t every = n->g->params.epoch_blocks, delay = n->g->params.score_delay_blocks;
    uint64_t b = height / every * every;
    if (b > 0 && height < b + delay)
        start_epoch_job(n, b / every);
}

/* Does the next block commit an epoch whose result is still on its way? */
int rp_producer_epoch_pending(struct node *n, uint64_t next_height)
{
    uint64_t every = n->g->params.epoch_blocks, delay = n->g->params.score_delay_blocks;
    if (next_height <= delay || (next_height - delay) % every != 0)
        return 0;
    uint64_t e = (next_height - delay) / every;
    if (n->epoch_job && n->epoch_job_epoch == e)
        return 1;                                          /* being computed */
    return n->epoch_computed == e && n->epoch_offered < e; /* queued at the writer */
}

/* ---- making a block ------------------------------------------------------------------ */

struct produce_job {
    uv_work_t req;
    struct node *n;
    rp_block_item *items; /* the candidates, borrowed from the frozen mempool */
    rp_hash *ids;         /* theirs */
    size_t cnt;
    rp_sig_item *sigs; /* the candidates' verified signatures, sorted */
    size_t nsigs;
    uint64_t time_ms, height, inline_verifies, t0;
    rp_checked *checked;           /* the built block, until the writer takes it */
    unsigned char *block, *commit; /* copies, to try again on a full disk */
    size_t blen, clen;
    rp_hash hash;
    rp_hash *included; /* the block's record ids */
    size_t nincluded;
    rp_rejected rejected[MAX_REJECTED];
    size_t nrejected, taken;
    int rc;
    rp_store_error err;
    int for_consensus; /* a proposal: node/consensus.c signs and decides */
    uint32_t round;
    unsigned char *first; /* the candidates put before the mempool's (evidence), a copy */
    size_t nfirst;
};

static void job_free(struct produce_job *j)
{
    rp_checked_free(j->checked);
    free(j->block);
    free(j->commit);
    free(j->items);
    free(j->ids);
    free(j->sigs);
    free(j->included);
    free(j->first);
    free(j);
}

static int cmp_sig_item(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(rp_sig_item));
}

/* The build's batch verifier: the mempool verified these signatures
 * already (the copies in job->sigs); anything else is verified here. Runs
 * on the worker; touches only the job. */
static size_t job_verify(void *ctx, const rp_sig_check *items, size_t nitems, unsigned char *ok)
{
    struct produce_job *j = ctx;
    size_t bad = 0;
    for (size_t i = 0; i < nitems; i++) {
        rp_sig_item key;
        memset(&key, 0, sizeof key);
        if (items[i].msglen == 32) {
            memcpy(key.msg.bytes, items[i].msg, 32);
            key.key = *items[i].pubkey;
            key.sig = *items[i].sig;
        }
        ok[i] = items[i].msglen == 32 &&
                bsearch(&key, j->sigs, j->nsigs, sizeof key, cmp_sig_item) != NULL;
        if (!ok[i]) {
            j->inline_verifies++;
            ok[i] = (unsigned char)rp_verify(items[i].sig, items[i].msg, items[i].msglen,
                                             items[i].pubkey);
            bad += !ok[i];
        }
    }
    return bad;
}

static void build_work(uv_work_t *req)
{
    struct produce_job *j = req->data;
    j->rc = rp_exec_build(j->n->st, j->items, j->cnt, j->time_ms, (uint16_t)j->n->validator_index,
                          job_verify, j, &j->checked, &j->taken, j->rejected, MAX_REJECTED,
                          &j->nrejected, &j->err);
    if (j->rc == 0) {
        j->hash = *rp_checked_hash(j->checked);
        j->rc = rp_checked_record_ids(j->checked, &j->included, &j->nincluded);
    }
}

/* The block is not made: the records stay in the mempool, re-checked. */
static void produce_failed(struct produce_job *j, const char *what)
{
    struct node *n = j->n;
    char q[300];
    n->producing = 0;
    rp_log(RP_LOG_WARN, "block_failed", "height=%llu records=%zu stage=%s code=%d msg=%s",
           (unsigned long long)j->height, j->cnt, what, j->rc,
           rp_log_str(q, sizeof q, j->err.msg[0] ? j->err.msg : rp_strerror(j->rc)));
    rp_mempool_rebuild(n->mp, rp_node_wall_ms() / 1000, NULL, 0, NULL);
    job_free(j);
}

static int submit_commit(struct produce_job *j, rp_checked *checked);

/* The block could not be written for want of room: say so once, keep the
 * block (and the mempool frozen around its records, so nothing pending is
 * dropped) and try the same block again later, backing off to a try every
 * RETRY_MAX_MS. Its time stays the time it was built at, so its records
 * stay within the time tolerance however long the disk stays full. */
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS   30000

static void retry_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    struct produce_job *j = n->retry_job;
    n->retry_job = NULL;
    if (!j)
        return;
    int rc = n->stopping ? RP_ERR_SHUTDOWN : submit_commit(j, NULL);
    if (rc) {
        j->rc = rc;
        produce_failed(j, "commit");
    }
}

static void disk_full(struct produce_job *j, int rc)
{
    struct node *n = j->n;
    uint64_t avail = 0;
    (void)rp_disk_full(n->datadir, rc, &avail);
    if (!n->disk_full_since) {
        char room[32], q[300];
        rp_disk_size_text(room, sizeof room, avail);
        n->disk_full_since = rp_node_wall_ms();
        n->retry_ms = RETRY_FIRST_MS;
        rp_log(RP_LOG_ERROR, "disk_full",
               "path=%s free=\"%s\" height=%llu msg=\"the ledger cannot grow: block %llu waits "
               "and is tried again; pending records are kept; make room on this disk\"",
               rp_log_str(q, sizeof q, n->datadir), room, (unsigned long long)j->height,
               (unsigned long long)j->height);
    } else {
        n->retry_ms = n->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : n->retry_ms * 2;
    }
    n->retry_job = j; /* producing stays set: no other block meanwhile */
    uv_timer_start(&n->retry_timer, retry_cb, n->retry_ms, 0);
}

static void commit_done(void *ctx, int rc, const rp_store_error *err)
{
    struct produce_job *j = ctx;
    struct node *n = j->n;
    uint64_t now = rp_node_wall_ms();
    if (rc && !n->stopping && rp_disk_full(n->datadir, rc, NULL)) {
        disk_full(j, rc);
        return;
    }
    if (rc) {
        j->rc = rc;
        j->err = *err;
        produce_failed(j, "commit");
        return;
    }
    if (n->disk_full_since) {
        rp_log(RP_LOG_INFO, "disk_ok", "height=%llu waited_s=%llu", (unsigned long long)j->height,
               (unsigned long long)((now - n->disk_full_since) / 1000));
        n->disk_full_since = 0;
    }
    n->producing = 0;
    rp_producer_committed(n, j->height, &j->hash, j->included, j->nincluded, j->t0);
    /* A candidate the build left out goes, if the mempool's re-check at
     * the new tip kept it: the block's rules had the last word. */
    for (size_t r = 0; r < j->nrejected; r++) {
        enum rp_mp_status st;
        const unsigned char *b;
        size_t len;
        const rp_hash *id = &j->ids[j->rejected[r].index];
        if (rp_mempool_find(n->mp, id, &st, &b, &len) == 0 && st != RP_MP_INCLUDED)
            rp_mempool_rebuild(n->mp, now / 1000, id, j->rejected[r].code, j->rejected[r].msg);
    }
    job_free(j);
}

void rp_producer_committed(struct node *n, uint64_t height, const rp_hash *hash,
                           const rp_hash *ids, size_t k, uint64_t t0)
{
    const rp_params *p = &n->g->params;
    uint64_t now = rp_node_wall_ms();
    n->blocks_produced++;
    n->records_included += k;
    note_rate(n, k);
    if (k) {
        uint64_t target = round_up(height, p->epoch_blocks) + p->score_delay_blocks;
        if (target > n->settle)
            n->settle = target;
    }
    char hh[17];
    rp_hex_encode(hh, sizeof hh, hash->bytes, 8);
    rp_log(RP_LOG_INFO, "block_produced", "height=%llu records=%zu hash=%s ms=%.1f",
           (unsigned long long)height, k, hh, (double)(uv_hrtime() - t0) / 1e6);
    rp_mempool_committed(n->mp, ids, k, now / 1000);
    rp_network_block_committed(n, height, hash);
    rp_producer_epoch_ahead(n, height);
}

static void build_done(uv_work_t *req, int status)
{
    struct produce_job *j = req->data;
    struct node *n = j->n;
    (void)status;
    if (j->for_consensus) {
        /* The block's bytes live in the result now: the mempool may move. */
        n->producing = 0;
        rp_mempool_thaw(n->mp, rp_node_wall_ms() / 1000);
        rp_checked *checked = j->checked;
        j->checked = NULL;
        rp_consensus_built(n, j->height, j->round, j->rc, checked, j->rejected, j->nrejected,
                           j->nfirst);
        job_free(j);
        return;
    }
    if (j->rc) {
        produce_failed(j, "build");
        return;
    }
    for (size_t r = 0; r < j->nrejected; r++) {
        char q[300];
        rp_log(RP_LOG_WARN, "record_left_out", "height=%llu candidate=%zu code=%d msg=%s",
               (unsigned long long)j->height, j->rejected[r].index, j->rejected[r].code,
               rp_log_str(q, sizeof q, j->rejected[r].msg));
    }
    size_t blen;
    const unsigned char *built = rp_checked_block(j->checked, &blen);
    unsigned char aux[32];
    j->block = malloc(blen);
    j->commit = malloc(RP_COMMIT_MAX_SIZE);
    if (!j->block || !j->commit) {
        j->rc = RP_ERR_NOMEM;
        produce_failed(j, "sign");
        return;
    }
    memcpy(j->block, built, blen);
    j->blen = blen;
    rp_aux_fresh(aux);
    j->rc = rp_solo_commit(rp_store_chain_id(n->st), rp_checked_header(j->checked), &n->key,
                           (uint16_t)n->validator_index, aux, j->commit, &j->clen);
    sodium_memzero(aux, sizeof aux);
    if (j->rc) {
        produce_failed(j, "sign");
        return;
    }
    /* The writer takes the built result, whose changes it writes without
     * running the rules again. */
    rp_checked *checked = j->checked;
    j->checked = NULL;
    if ((j->rc = submit_commit(j, checked)) != 0)
        produce_failed(j, "commit");
}

/* Hand copies of the block and its commit to the writer (with the built
 * result, or NULL on a retry: the commit then checks the block itself,
 * its signatures answered from the job). Returns 0 or the writer's error
 * (checked is freed either way). */
static int submit_commit(struct produce_job *j, rp_checked *checked)
{
    unsigned char *block = malloc(j->blen), *commit = malloc(j->clen);
    if (!block || !commit) {
        free(block);
        free(commit);
        rp_checked_free(checked);
        return RP_ERR_NOMEM;
    }
    memcpy(block, j->block, j->blen);
    memcpy(commit, j->commit, j->clen);
    int rc = rp_node_writer_commit(j->n->writer, block, j->blen, commit, j->clen, NULL, 0, checked,
                                   job_verify, j, commit_done, j);
    if (rc) {
        free(block);
        free(commit);
        rp_checked_free(checked);
    }
    return rc;
}

/* Build the next block from the mempool's ready prefix on the pool: for
 * this node alone (solo: signed and committed after), or as a consensus
 * proposal (handed to rp_consensus_built). Returns 0 or an error. */
static int start_build(struct node *n, const rp_tip *tip, int for_consensus, uint32_t round,
                       const rp_block_item *first, size_t nfirst)
{
    const rp_params *p = &n->g->params;
    struct produce_job *j = calloc(1, sizeof *j);
    if (nfirst > p->max_block_records)
        nfirst = p->max_block_records;
    size_t fbytes = 0;
    for (size_t i = 0; i < nfirst; i++)
        fbytes += first[i].len;
    if (!j || !(j->items = malloc(p->max_block_records * sizeof *j->items)) ||
        !(j->ids = calloc(p->max_block_records, sizeof *j->ids)) ||
        (nfirst && !(j->first = malloc(fbytes)))) {
        if (j) {
            free(j->items);
            free(j->ids);
        }
        free(j);
        return RP_ERR_NOMEM;
    }
    /* The first candidates (evidence) are copied: the caller's may go. */
    for (size_t i = 0, off = 0; i < nfirst; off += first[i].len, i++) {
        memcpy(j->first + off, first[i].bytes, first[i].len);
        j->items[i].bytes = j->first + off;
        j->items[i].len = first[i].len;
    }
    j->nfirst = nfirst;
    size_t room = p->max_block_bytes > fbytes ? p->max_block_bytes - fbytes : 0;
    j->cnt = nfirst + rp_mempool_block(n->mp, j->items + nfirst, j->ids + nfirst,
                                       p->max_block_records - nfirst, room);
    if (!for_consensus && j->cnt == 0 && tip->height >= n->settle) {
        job_free(j);
        return RP_ERR_INVALID_ARG; /* nothing to do */
    }
    size_t cap = j->cnt * RP_RECORD_MAX_SIGS;
    j->sigs = malloc((cap ? cap : 1) * sizeof *j->sigs);
    if (!j->sigs) {
        job_free(j);
        return RP_ERR_NOMEM;
    }
    j->nsigs = rp_mempool_block_sigs(n->mp, j->cnt - j->nfirst, j->sigs, cap);
    qsort(j->sigs, j->nsigs, sizeof *j->sigs, cmp_sig_item);
    uint64_t now = rp_node_wall_ms();
    j->time_ms = now > tip->time_ms ? now : tip->time_ms + 1;
    j->height = tip->height + 1;
    j->t0 = uv_hrtime();
    j->n = n;
    j->for_consensus = for_consensus;
    j->round = round;
    j->req.data = j;
    rp_mempool_freeze(n->mp);
    n->producing = 1;
    if (uv_queue_work(n->loop, &j->req, build_work, build_done) != 0) {
        n->producing = 0;
        rp_mempool_rebuild(n->mp, now / 1000, NULL, 0, NULL);
        job_free(j);
        return RP_ERR_NOMEM;
    }
    return 0;
}

int rp_producer_build(struct node *n, uint64_t height, uint32_t round, const rp_block_item *first,
                      size_t nfirst)
{
    rp_tip tip;
    if (n->stopping || n->producing || rp_store_tip(n->st, &tip) != 0 || tip.height + 1 != height)
        return RP_ERR_INVALID_ARG;
    return start_build(n, &tip, 1, round, first, nfirst);
}

/* One turn of the producer (a timer tick). */
static void producer_tick(struct node *n)
{
    if (n->stopping || !n->producer || n->producing || rp_network_committing(n))
        return;
    rp_tip tip;
    if (rp_store_tip(n->st, &tip) != 0)
        return;
    if (rp_producer_epoch_pending(n, tip.height + 1))
        return;
    (void)start_build(n, &tip, 0, 0, NULL, 0);
}

static void block_timer_cb(uv_timer_t *t)
{
    producer_tick(t->data);
}

/* After a restart: records included after the latest committed epoch's
 * snapshot still need their epoch committed, so keep producing until it is. */
static uint64_t settle_after_restart(struct node *n, const rp_tip *tip)
{
    uint64_t every = n->g->params.epoch_blocks, snap = tip->epoch * every;
    for (uint64_t h = tip->height; h > snap; h--) {
        rp_header hd;
        if (rp_store_read_header(n->st, h, &hd) != 0)
            break;
        if (hd.record_count)
            return round_up(h, every) + n->g->params.score_delay_blocks;
    }
    return 0;
}

int rp_producer_start(struct node *n)
{
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc)
        return rc;
    n->settle = settle_after_restart(n, &tip);
    rp_producer_epoch_ahead(n, tip.height);
    uv_timer_init(n->loop, &n->block_timer);
    n->block_timer.data = n;
    uv_timer_init(n->loop, &n->retry_timer);
    n->retry_timer.data = n;
    if (n->producer)
        uv_timer_start(&n->block_timer, block_timer_cb, n->cfg.block_interval_ms,
                       n->cfg.block_interval_ms);
    return 0;
}

void rp_producer_stop(struct node *n)
{
    uv_timer_stop(&n->block_timer);
    uv_close((uv_handle_t *)&n->block_timer, NULL);
    uv_timer_stop(&n->retry_timer);
    uv_close((uv_handle_t *)&n->retry_timer, NULL);
    if (n->retry_job) { /* the block that waited for room is not written */
        struct produce_job *j = n->retry_job;
        n->retry_job = NULL;
        j->rc = RP_ERR_SHUTDOWN;
        produce_failed(j, "commit");
    }
}
