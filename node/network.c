/* The node's side of the network: it wires the transport (p2p/net.h), the
 * record gossip (p2p/gossip.h) and the block sync (p2p/sync.h) to the
 * mempool, the store and the writer. Everything here runs on the loop;
 * blocks are pre-verified on libuv's pool and committed by the writer.
 *
 *   peers' records  -> gossip -> rp_mempool_submit (source: the peer)
 *   mempool READY   -> gossip announces to every peer but the source
 *   STATUS/NEWBLOCK -> sync learns heights; GETBLOCKS go out
 *   BLOCKS          -> presig job on the pool (signatures verified ahead)
 *                   -> sync hands blocks back in height order
 *                   -> the writer commits (rp_exec_commit checks every rule
 *                      with the cached answers) -> mempool, NEWBLOCK, sync
 *   GETBLOCKS       -> served from the store, in BLOCKS of at most
 *                      RP_P2P_MAX_MESSAGE, as the peer's send queue has room
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/presig.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "node/init.h"
#include "node/log.h"
#include "node/network.h"
#include "node/node.h"
#include "node/rpc_params.h"
#include "p2p/gossip.h"
#include "p2p/net.h"
#include "p2p/sync.h"

static uint64_t mono_ms(struct network *w) { return uv_now(w->n->loop); }

static struct npeer *npeer_get(struct network *w, uint64_t id, int create)
{
    struct npeer *freep = NULL;
    for (size_t i = 0; i < NW_MAX_PEERS; i++) {
        if (w->peers[i].id == id)
            return &w->peers[i];
        if (!w->peers[i].id && !freep)
            freep = &w->peers[i];
    }
    if (!create || !freep)
        return NULL;
    memset(freep, 0, sizeof *freep);
    freep->id = id;
    return freep;
}

struct npeer *rp_network_peer(struct network *w, uint64_t peer)
{
    return npeer_get(w, peer, 0);
}

/* ---- messages out ---------------------------------------------------------------- */

static void send_status(struct network *w, uint64_t peer)
{
    rp_tip tip;
    if (rp_store_tip(w->n->st, &tip) != 0)
        return;
    rp_p2p_msg *m = w->msg;
    rp_p2p_msg_init(m, RP_P2P_MSG_STATUS);
    m->body.status.version = RP_P2P_VERSION;
    m->body.status.chain_id = *rp_store_chain_id(w->n->st);
    m->body.status.height = tip.height;
    if (tip.height)
        m->body.status.head = tip.head_hash;
    m->body.status.role = w->n->validator_index >= 0 ? RP_P2P_ROLE_VALIDATOR : RP_P2P_ROLE_FULL;
    m->body.status.low_height = tip.height ? 1 : 0;
    (void)rp_net_send(w->net, peer, m);
}

/* ---- gossip's io ------------------------------------------------------------------ */

static int g_have(void *ctx, const rp_hash *id)
{
    struct network *w = ctx;
    enum rp_mp_status st;
    if (rp_mempool_find(w->n->mp, id, &st, NULL, NULL) == 0)
        return 1;
    uint64_t h;
    uint32_t i;
    return rp_store_find_record(w->n->st, id, &h, &i) == 0;
}

static int g_lookup(void *ctx, const rp_hash *id, const unsigned char **b, size_t *len)
{
    struct network *w = ctx;
    enum rp_mp_status st;
    if (rp_mempool_find(w->n->mp, id, &st, b, len) != 0 || !*b)
        return 0;
    return st == RP_MP_READY;
}

static void g_submit(void *ctx, uint64_t peer, const unsigned char *rec, size_t len)
{
    struct network *w = ctx;
    rp_mp_result res;
    rp_mp_source src = {RP_MP_FROM_PEER, peer};
    w->records_received++;
    int rc = rp_mempool_submit(w->n->mp, rec, len, src, rp_node_wall_ms() / 1000, &res);
    if (rc == RP_ERR_TRUNCATED || rc == RP_ERR_TRAILING || rc == RP_ERR_TOO_LONG ||
        rc == RP_ERR_BAD_TYPE || rc == RP_ERR_BAD_VERSION || rc == RP_ERR_NONCANONICAL ||
        rc == RP_ERR_BAD_UTF8 || rc == RP_ERR_RANGE) {
        rp_net_misbehaved(w->net, peer, "a record that does not decode");
        return;
    }
    if (rc == RP_ERR_BAD_SIGNATURE) {
        rp_net_misbehaved(w->net, peer, "a record with a bad signature");
        return;
    }
    if (rc == 0 && res.status != RP_MP_KNOWN && res.status != RP_MP_INCLUDED)
        rp_net_useful(w->net, peer, 2);
    /* Other refusals (a record overtaken by the chain, a full pool) are
     * not the peer's fault: records cross on the wire. */
}

static void g_send_ids(struct network *w, uint64_t peer, unsigned type, const rp_hash *ids,
                       size_t n)
{
    rp_p2p_msg *m = w->msg;
    rp_p2p_msg_init(m, type);
    m->body.ids.count = (uint16_t)n;
    memcpy(m->body.ids.ids, ids, n * sizeof *ids);
    (void)rp_net_send(w->net, peer, m);
}

static void g_send_inv(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    g_send_ids(ctx, peer, RP_P2P_MSG_INV, ids, n);
}

static void g_send_getdata(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    g_send_ids(ctx, peer, RP_P2P_MSG_GETDATA, ids, n);
}

static void g_send_records(void *ctx, uint64_t peer, const unsigned char *const *recs,
                           const size_t *lens, size_t n)
{
    struct network *w = ctx;
    rp_p2p_msg *m = w->msg;
    rp_p2p_msg_init(m, RP_P2P_MSG_RECORDS);
    m->body.records.count = (uint16_t)n;
    for (size_t i = 0; i < n; i++) {
        m->body.records.records[i].bytes = recs[i];
        m->body.records.records[i].len = lens[i];
    }
    (void)rp_net_send(w->net, peer, m);
}

static void g_misbehaved(void *ctx, uint64_t peer, const char *why)
{
    struct network *w = ctx;
    rp_net_misbehaved(w->net, peer, why);
}

/* The mempool's events: READY records are announced, a peer's record with
 * a bad signature is its misbehaviour. */
static void on_mempool_event(void *ctx, const rp_mp_event *ev)
{
    struct network *w = ctx;
    uint64_t src = ev->source.origin == RP_MP_FROM_PEER ? ev->source.peer : 0;
    if (ev->kind == RP_MP_EV_READY)
        rp_gossip_admitted(w->gossip, &ev->id, src);
    else if (ev->kind == RP_MP_EV_DROPPED && src && ev->code == RP_ERR_BAD_SIGNATURE)
        rp_net_misbehaved(w->net, src, "a record with a bad signature");
}

/* ---- sync: pre-verification ------------------------------------------------------- */

/* The ids of a block's records, in block order. Returns 0 (*ids malloc'd,
 * NULL with *n 0 for a block without records) or RP_ERR_NOMEM; a block that
 * does not decode gives the ids of the records before the first bad one. */
int rp_block_record_ids(struct node *nd, const unsigned char *block, size_t blen, rp_hash **ids,
                        size_t *n)
{
    const rp_params *par = &nd->g->params;
    const rp_hash *cid = rp_store_chain_id(nd->st);
    rp_block_item *items = malloc(par->max_block_records * sizeof *items);
    *ids = NULL;
    *n = 0;
    if (!items)
        return RP_ERR_NOMEM;
    rp_header h;
    int rc = 0;
    if (rp_block_decode(&h, items, par->max_block_records, block, blen) == 0 && h.record_count) {
        if (!(*ids = malloc(h.record_count * sizeof **ids))) {
            rc = RP_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < h.record_count; i++) {
                rp_record r;
                if (rp_record_decode(&r, items[i].bytes, items[i].len, NULL) != 0)
                    break;
                rp_record_id_from_body(&(*ids)[i], cid, items[i].bytes,
                                       rp_record_body_len(r.type, items[i].len));
                *n = i + 1;
            }
        }
    }
    free(items);
    return rc;
}

static void pre_work(uv_work_t *req)
{
    struct pre *p = req->data;
    struct network *w = p->w;
    const rp_params *par = &w->n->g->params;
    rp_block_item *items = malloc(par->max_block_records * sizeof *items);
    if (items) {
        rp_presig_list(&p->ps, rp_store_chain_id(w->n->st), p->block, p->blen, items,
                       par->max_block_records);
        free(items);
        rp_presig_verify(&p->ps, NULL, NULL);
    }
    if (rp_block_record_ids(w->n, p->block, p->blen, &p->ids, &p->nids) != 0)
        p->ids_failed = 1;
}

static void commit_block(struct network *w, struct pre *p);
static void pre_pump(struct network *w);

static void pre_done(uv_work_t *req, int status)
{
    struct pre *p = req->data;
    struct network *w = p->w;
    (void)status;
    p->running = 0;
    p->done = 1;
    w->pre_running--;
    if (p->commit_waiting && !w->stopped) {
        p->commit_waiting = 0;
        commit_block(w, p);
    }
    if (!w->stopped)
        pre_pump(w);
}

/* Keep at most pre_limit blocks verifying on the pool, the lowest heights
 * first: the pool is first in, first out, and the writer's commits must not
 * queue behind a whole window of verifications (they would then run one
 * after another at the end instead of alongside). */
static void pre_pump(struct network *w)
{
    while (w->pre_running < w->pre_limit) {
        struct pre *next = NULL;
        for (size_t i = 0; i < NW_PRE_SLOTS; i++) {
            struct pre *p = &w->pre[i];
            if (p->queued && (!next || p->height < next->height))
                next = p;
        }
        if (!next)
            return;
        next->queued = 0;
        next->running = 1;
        if (uv_queue_work(w->n->loop, &next->req, pre_work, pre_done) != 0) {
            next->running = 0;
            next->done = 1; /* nothing cached: the commit verifies it all */
            if (next->commit_waiting) {
                next->commit_waiting = 0;
                commit_block(w, next);
            }
            continue;
        }
        w->pre_running++;
    }
}

static void pre_free(struct pre *p)
{
    free(p->block);
    free(p->ids);
    rp_presig_free(&p->ps);
    p->block = NULL;
    p->ids = NULL;
    p->nids = 0;
    p->ids_failed = 0;
    p->height = 0;
    p->done = 0;
    p->queued = 0;
    p->commit_waiting = 0;
}

/* Queue a block to have its signatures verified ahead, unless its slot is
 * busy or holds it already. Returns the slot if it holds (or will work on)
 * this block, else NULL. */
static struct pre *pre_start(struct network *w, uint64_t height, const unsigned char *block,
                             size_t blen)
{
    struct pre *p = &w->pre[height % NW_PRE_SLOTS];
    rp_hash d;
    rp_sha256(&d, block, blen);
    if (p->height == height && rp_hash_eq(&p->digest, &d))
        return p;
    if (p->running)
        return NULL;
    pre_free(p);
    if (!(p->block = malloc(blen ? blen : 1)))
        return NULL;
    memcpy(p->block, block, blen);
    p->blen = blen;
    p->height = height;
    p->digest = d;
    p->w = w;
    p->req.data = p;
    p->queued = 1;
    pre_pump(w);
    return p;
}

/* ---- sync: commits ---------------------------------------------------------------- */

static void job_free(struct commit_job *j)
{
    if (!j)
        return;
    rp_presig_free(&j->ps);
    free(j->ids);
    free(j->block);
    free(j->commit);
    free(j);
}

static int job_submit(struct commit_job *j);

static void retry_cb(uv_timer_t *t)
{
    struct network *w = t->data;
    struct commit_job *j = w->retry_job;
    w->retry_job = NULL;
    if (!j)
        return;
    if (w->stopped || job_submit(j) != 0) {
        w->committing = 0;
        if (!w->stopped)
            rp_sync_committed(w->sync, j->height, -1, mono_ms(w));
        job_free(j);
    }
}

static void job_done(void *ctx, int rc, const rp_store_error *err)
{
    struct commit_job *j = ctx;
    struct network *w = j->w;
    struct node *n = w->n;
    uint64_t now = mono_ms(w);
    if (rc && !w->stopped &&
        (rc == -ENOSPC || rc == RP_ERR_MAP_FULL || rc == RP_ERR_STORE || rc == -EIO)) {
        /* The block may be fine: the disk is not. Keep it and try again. */
        char q[300];
        rp_log(RP_LOG_ERROR, "sync_commit_failed", "height=%llu code=%d msg=%s retry_ms=%d",
               (unsigned long long)j->height, rc,
               rp_log_str(q, sizeof q, err && err->msg[0] ? err->msg : rp_strerror(rc)),
               NW_RETRY_MS);
        w->retry_job = j;
        uv_timer_start(&w->retry, retry_cb, NW_RETRY_MS, 0);
        return;
    }
    w->committing = 0;
    rp_tip tip;
    if (rc && rp_store_tip(n->st, &tip) == 0 && tip.height >= j->height) {
        /* Consensus committed this height first: nobody's fault. */
        if (!w->stopped)
            rp_sync_committed(w->sync, j->height, 1, now);
        job_free(j);
        return;
    }
    if (rc) {
        char q[300];
        rp_log(RP_LOG_WARN, "sync_block_refused", "height=%llu code=%d msg=%s",
               (unsigned long long)j->height, rc,
               rp_log_str(q, sizeof q, err && err->msg[0] ? err->msg : rp_strerror(rc)));
        if (!w->stopped)
            rp_sync_committed(w->sync, j->height, 0, now);
        job_free(j);
        return;
    }
    w->blocks_synced++;
    rp_mempool_committed(n->mp, j->ids, j->nids, rp_node_wall_ms() / 1000);
    rp_network_block_committed(n, j->height, &j->hash);
    if (!w->stopped)
        rp_sync_committed(w->sync, j->height, 1, now);
    job_free(j);
}

static int job_submit(struct commit_job *j)
{
    struct network *w = j->w;
    unsigned char *block = malloc(j->blen), *commit = malloc(j->clen);
    if (!block || !commit) {
        free(block);
        free(commit);
        return RP_ERR_NOMEM;
    }
    memcpy(block, j->block, j->blen);
    memcpy(commit, j->commit, j->clen);
    j->cache.ps = &j->ps;
    j->cache.verify = NULL;
    /* A block naming another commit of our tip than ours: the one a peer
     * holds, if it is that one (the ledger checks it finalizes the tip). */
    unsigned char *pc = NULL;
    size_t plen = 0;
    rp_tip tip;
    rp_header hd;
    if (w->tip_commit.commit && rp_store_tip(w->n->st, &tip) == 0 &&
        w->tip_commit.height == tip.height && tip.height + 1 == j->height &&
        rp_hash_eq(&w->tip_commit.head, &tip.head_hash) && j->blen >= RP_HEADER_SIZE &&
        rp_header_decode(&hd, j->block, RP_HEADER_SIZE) == 0 &&
        !rp_hash_eq(&hd.prev_commit_hash, &tip.commit_hash) &&
        (pc = malloc(w->tip_commit.clen)) != NULL) {
        memcpy(pc, w->tip_commit.commit, w->tip_commit.clen);
        plen = w->tip_commit.clen;
    }
    int rc = rp_node_writer_commit(w->n->writer, block, j->blen, commit, j->clen, pc, plen, NULL,
                                   rp_presig_cached_verify, &j->cache, job_done, j);
    if (rc) {
        free(block);
        free(commit);
        free(pc);
    }
    return rc;
}

/* Hand the block waiting in w->waiting, whose pre-verification p finished,
 * to the writer. */
static void commit_block(struct network *w, struct pre *p)
{
    struct commit_job *j = calloc(1, sizeof *j);
    uint64_t h = w->waiting.height;
    w->waiting.height = 0;
    if (!j || !(j->block = malloc(w->waiting.blen)) || !(j->commit = malloc(w->waiting.clen))) {
        job_free(j);
        w->committing = 0;
        rp_sync_committed(w->sync, h, -1, mono_ms(w)); /* ours, not the peer's */
        return;
    }
    j->w = w;
    j->height = h;
    memcpy(j->block, w->waiting.block, w->waiting.blen);
    j->blen = w->waiting.blen;
    memcpy(j->commit, w->waiting.commit, w->waiting.clen);
    j->clen = w->waiting.clen;
    rp_header hd;
    if (j->blen >= RP_HEADER_SIZE && rp_header_decode(&hd, j->block, RP_HEADER_SIZE) == 0)
        rp_header_hash(&j->hash, &hd);
    if (p) { /* take its results */
        j->ps = p->ps;
        memset(&p->ps, 0, sizeof p->ps);
        if (!p->ids_failed) {
            j->ids = p->ids;
            j->nids = p->nids;
            j->have_ids = 1;
            p->ids = NULL;
        }
        pre_free(p);
    }
    if (!j->have_ids && rp_block_record_ids(w->n, j->block, j->blen, &j->ids, &j->nids) != 0) {
        job_free(j); /* without its ids the mempool could not be told */
        w->committing = 0;
        rp_sync_committed(w->sync, h, -1, mono_ms(w));
        return;
    }
    if (w->stopped || job_submit(j) != 0) {
        job_free(j);
        w->committing = 0;
        if (!w->stopped)
            rp_sync_committed(w->sync, h, -1, mono_ms(w)); /* a full writer queue: later */
    }
}

/* The sync engine's next block, in height order. */
static void s_commit(void *ctx, uint64_t height, const unsigned char *block, size_t blen,
                     const unsigned char *commit, size_t clen)
{
    struct network *w = ctx;
    w->committing = 1;
    w->handed_height = height;
    w->waiting.height = height;
    w->waiting.block = block;
    w->waiting.blen = blen;
    w->waiting.commit = commit;
    w->waiting.clen = clen;
    struct pre *p = pre_start(w, height, block, blen);
    if (p && (p->running || p->queued)) {
        p->commit_waiting = 1; /* pre_done commits; pre_pump runs the lowest first */
        return;
    }
    commit_block(w, p);
}

static void s_getblocks(void *ctx, uint64_t peer, uint64_t from, uint32_t count)
{
    struct network *w = ctx;
    rp_tip tip;
    /* The range right after our tip starts one lower: the peer's commit of
     * our tip is the one its next block names, which may not be ours (with
     * several validators each node stores the precommits it saw). */
    if (from >= 2 && count < RP_P2P_MAX_BLOCKS && rp_store_tip(w->n->st, &tip) == 0 &&
        tip.height + 1 == from) {
        from--;
        count++;
    }
    rp_p2p_msg_getblocks(w->msg, from, (uint16_t)count);
    (void)rp_net_send(w->net, peer, w->msg);
}

static void s_misbehaved(void *ctx, uint64_t peer, const char *why, int slow)
{
    struct network *w = ctx;
    if (slow)
        rp_net_disconnect(w->net, peer, why);
    else
        rp_net_misbehaved(w->net, peer, why);
}

/* ---- serving blocks ----------------------------------------------------------------- */

/* Serve what the peer's send queue has room for from its queue of
 * GETBLOCKS: one BLOCKS of consecutive heights at a time, at most
 * RP_P2P_MAX_MESSAGE; NOBLOCKS for heights above our tip. */
static void serve(struct network *w, struct npeer *np)
{
    rp_tip tip;
    if (rp_store_tip(w->n->st, &tip) != 0)
        return;
    while (np->nserve) {
        uint64_t from = np->serve[0].from;
        uint32_t count = np->serve[0].count;
        if (from > tip.height) {
            rp_p2p_msg_noblocks(w->msg, from, (uint16_t)count);
            (void)rp_net_send(w->net, np->id, w->msg);
            memmove(np->serve, np->serve + 1, --np->nserve * sizeof np->serve[0]);
            continue;
        }
        size_t room = rp_net_send_room(w->net, np->id);
        if (room < RP_P2P_MAX_MESSAGE + (1u << 20))
            return; /* later, when its queue drains */
        rp_p2p_msg *m = w->msg;
        rp_p2p_msg_init(m, RP_P2P_MSG_BLOCKS);
        m->body.blocks.from = from;
        unsigned char *bufs[RP_P2P_MAX_BLOCKS * 2];
        size_t nb = 0, total = 1 + 8 + 2;
        uint32_t k = 0;
        while (k < count && from + k <= tip.height) {
            unsigned char *b = NULL, *c = NULL;
            size_t bl = 0, cl = 0;
            if (rp_store_read_block(w->n->st, from + k, &b, &bl) != 0 ||
                rp_store_read_commit(w->n->st, from + k, &c, &cl) != 0) {
                free(b);
                free(c);
                break;
            }
            if (k > 0 && total + 4 + bl + 2 + cl > RP_P2P_MAX_MESSAGE) {
                free(b);
                free(c);
                break;
            }
            bufs[nb++] = b;
            bufs[nb++] = c;
            m->body.blocks.pairs[k].block.bytes = b;
            m->body.blocks.pairs[k].block.len = bl;
            m->body.blocks.pairs[k].commit.bytes = c;
            m->body.blocks.pairs[k].commit.len = cl;
            total += 4 + bl + 2 + cl;
            k++;
        }
        if (k == 0) { /* cannot read our own chain: say so rather than stall it */
            rp_p2p_msg_noblocks(w->msg, from, (uint16_t)count);
            (void)rp_net_send(w->net, np->id, w->msg);
            memmove(np->serve, np->serve + 1, --np->nserve * sizeof np->serve[0]);
            continue;
        }
        m->body.blocks.count = (uint16_t)k;
        (void)rp_net_send(w->net, np->id, m);
        for (size_t i = 0; i < nb; i++)
            free(bufs[i]);
        if (k == count) {
            memmove(np->serve, np->serve + 1, --np->nserve * sizeof np->serve[0]);
        } else {
            np->serve[0].from += k;
            np->serve[0].count -= k;
        }
        if (!rp_net_send_room(w->net, np->id))
            return; /* dropped meanwhile */
    }
}

/* ---- the transport's handler ------------------------------------------------------ */

/* Offer a new peer the records waiting in the mempool (they were
 * announced before it came). */
static void offer_mempool(struct network *w, uint64_t peer)
{
    rp_mempool_stats st;
    rp_mempool_stats_get(w->n->mp, &st);
    size_t cap = st.ready < RP_GOSSIP_ANNOUNCE_MAX ? st.ready : RP_GOSSIP_ANNOUNCE_MAX;
    if (!cap)
        return;
    rp_block_item *items = malloc(cap * sizeof *items);
    rp_hash *ids = malloc(cap * sizeof *ids);
    if (items && ids) {
        size_t n = rp_mempool_block(w->n->mp, items, ids, cap, SIZE_MAX);
        rp_gossip_offer(w->gossip, peer, ids, n);
    }
    free(items);
    free(ids);
}

static void h_ready(void *ctx, uint64_t peer, const rp_net_peer_info *info)
{
    struct network *w = ctx;
    (void)info;
    if (!npeer_get(w, peer, 1)) {
        rp_net_disconnect(w->net, peer, "too many peers");
        return;
    }
    rp_gossip_add_peer(w->gossip, peer, mono_ms(w));
    send_status(w, peer);
    offer_mempool(w, peer);
    rp_consensus_peer(w->n, peer, 1);
}

static void h_consensus(void *ctx, uint64_t peer, const unsigned char *msg, size_t len)
{
    struct network *w = ctx;
    rp_consensus_message(w->n, peer, msg, len);
}

static void h_gone(void *ctx, uint64_t peer)
{
    struct network *w = ctx;
    struct npeer *np = npeer_get(w, peer, 0);
    if (np)
        np->id = 0;
    rp_gossip_remove_peer(w->gossip, peer);
    rp_sync_remove_peer(w->sync, peer);
    rp_consensus_peer(w->n, peer, 0);
}

/* A BLOCKS pair for our tip's height: if it is our tip block, keep the
 * peer's commit of it for the next synced block (s_getblocks asked for it). */
static void note_tip_commit(struct network *w, uint64_t height, const rp_p2p_block_pair *pair)
{
    rp_tip tip;
    rp_header hd;
    rp_hash hh;
    if (rp_store_tip(w->n->st, &tip) != 0 || tip.height != height ||
        pair->block.len < RP_HEADER_SIZE ||
        rp_header_decode(&hd, pair->block.bytes, RP_HEADER_SIZE) != 0)
        return;
    rp_header_hash(&hh, &hd);
    if (!rp_hash_eq(&hh, &tip.head_hash))
        return;
    unsigned char *c = malloc(pair->commit.len);
    if (!c)
        return;
    memcpy(c, pair->commit.bytes, pair->commit.len);
    free(w->tip_commit.commit);
    w->tip_commit.commit = c;
    w->tip_commit.clen = pair->commit.len;
    w->tip_commit.height = height;
    w->tip_commit.head = hh;
}

static void h_message(void *ctx, uint64_t peer, const rp_p2p_msg *m)
{
    struct network *w = ctx;
    struct npeer *np = npeer_get(w, peer, 0);
    uint64_t now = mono_ms(w);
    if (!np)
        return;
    switch (m->type) {
    case RP_P2P_MSG_STATUS:
        if (m->body.status.version != RP_P2P_VERSION ||
            !rp_hash_eq(&m->body.status.chain_id, rp_store_chain_id(w->n->st))) {
            rp_net_misbehaved(w->net, peer, "STATUS of another chain or version");
            return;
        }
        np->status_seen = 1;
        np->height = m->body.status.height;
        rp_sync_peer_height(w->sync, peer, m->body.status.height, now);
        break;
    case RP_P2P_MSG_NEWBLOCK:
        if (m->body.newblock.height > np->height)
            np->height = m->body.newblock.height;
        rp_sync_peer_height(w->sync, peer, m->body.newblock.height, now);
        break;
    case RP_P2P_MSG_INV:
        rp_gossip_on_inv(w->gossip, peer, m->body.ids.ids, m->body.ids.count, now);
        break;
    case RP_P2P_MSG_GETDATA:
        rp_gossip_on_getdata(w->gossip, peer, m->body.ids.ids, m->body.ids.count, now);
        break;
    case RP_P2P_MSG_RECORDS: {
        const rp_p2p_records *r = &m->body.records;
        static rp_hash ids[RP_P2P_MAX_RECORDS];
        static const unsigned char *recs[RP_P2P_MAX_RECORDS];
        static size_t lens[RP_P2P_MAX_RECORDS];
        const rp_hash *cid = rp_store_chain_id(w->n->st);
        size_t k = 0;
        for (size_t i = 0; i < r->count; i++) {
            rp_record rec;
            if (rp_record_decode(&rec, r->records[i].bytes, r->records[i].len, NULL) != 0) {
                rp_net_misbehaved(w->net, peer, "a record that does not decode");
                return;
            }
            rp_record_id_from_body(&ids[k], cid, r->records[i].bytes,
                                   rp_record_body_len(rec.type, r->records[i].len));
            recs[k] = r->records[i].bytes;
            lens[k++] = r->records[i].len;
        }
        rp_gossip_on_records(w->gossip, peer, ids, recs, lens, k, now);
        break;
    }
    case RP_P2P_MSG_GETBLOCKS:
        if (np->nserve == NW_SERVE_QUEUE) {
            rp_net_misbehaved(w->net, peer, "too many block requests at once");
            return;
        }
        np->serve[np->nserve].from = m->body.range.from;
        np->serve[np->nserve].count = m->body.range.count;
        np->nserve++;
        serve(w, np);
        break;
    case RP_P2P_MSG_BLOCKS: {
        /* Only blocks the sync engine asked this peer for are kept and
         * pre-verified: an unasked block costs a copy and a hash at most. */
        const rp_p2p_blocks *b = &m->body.blocks;
        int kept = 0;
        rp_tip tip;
        uint64_t below = rp_store_tip(w->n->st, &tip) == 0 ? tip.height : 0;
        if (b->count)
            note_tip_commit(w, b->from, &b->pairs[0]);
        for (uint32_t i = 0; i < b->count; i++) {
            uint64_t h = b->from + i;
            if (i == 0 && h <= below)
                continue; /* the tip s_getblocks asked for again, for its commit */
            if (rp_sync_on_block(w->sync, peer, h, b->pairs[i].block.bytes,
                                 b->pairs[i].block.len, b->pairs[i].commit.bytes,
                                 b->pairs[i].commit.len, now)) {
                kept = 1;
                if (!w->stopped && h > w->handed_height) /* not handed to the writer yet */
                    (void)pre_start(w, h, b->pairs[i].block.bytes, b->pairs[i].block.len);
            }
        }
        if (kept)
            rp_net_useful(w->net, peer, 1);
        break;
    }
    case RP_P2P_MSG_NOBLOCKS:
        for (uint32_t i = 0; i < m->body.range.count; i++)
            rp_sync_on_notfound(w->sync, peer, m->body.range.from + i, now);
        break;
    default:
        break;
    }
}

static void h_log(void *ctx, int level, const char *event, const char *fields)
{
    (void)ctx;
    rp_log((enum rp_log_level)level, event, "%s", fields);
}

/* ---- the tick --------------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    struct network *w = t->data;
    uint64_t now = mono_ms(w);
    rp_gossip_tick(w->gossip, now);
    rp_sync_tick(w->sync, now);
    for (size_t i = 0; i < NW_MAX_PEERS; i++)
        if (w->peers[i].id && w->peers[i].nserve)
            serve(w, &w->peers[i]);
    rp_sync_status st;
    rp_sync_status_get(w->sync, &st, now);
    if (st.syncing) {
        w->synced_logged = 0;
        if (now - w->last_progress_ms >= NW_PROGRESS_MS) {
            w->last_progress_ms = now;
            rp_log(RP_LOG_INFO, "sync_progress",
                   "height=%llu target=%llu blocks_per_s=%.1f inflight=%llu",
                   (unsigned long long)st.tip, (unsigned long long)st.target, st.blocks_per_s,
                   (unsigned long long)st.inflight);
        }
    } else if (!w->synced_logged && st.target) {
        w->synced_logged = 1;
        rp_log(RP_LOG_INFO, "sync_caught_up", "height=%llu", (unsigned long long)st.tip);
    }
}

/* ---- the node's calls ------------------------------------------------------------- */

int rp_network_start(struct node *n, char *err, size_t errlen)
{
    struct network *w = calloc(1, sizeof *w);
    if (!w || !(w->msg = calloc(1, sizeof *w->msg))) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    w->n = n;
    char path[RP_CONFIG_PATH_MAX], msg[RP_CONFIG_PATH_MAX + 200];
    unsigned char key[32];
    int rc = rp_config_path(path, sizeof path, n->datadir, n->cfg.node_key);
    if (rc == 0)
        rc = rp_node_key_read(path, key, msg, sizeof msg);
    if (rc) {
        snprintf(err, errlen, "%s", rc == -ENAMETOOLONG ? "[node] node_key: path too long" : msg);
        free(w->msg);
        free(w);
        return rc;
    }
    rp_seckey sk;
    memcpy(sk.bytes, key, 32);
    sodium_memzero(key, sizeof key);
    rp_tip tip;
    (void)rp_store_tip(n->st, &tip);
    char ua[RP_P2P_USER_AGENT_MAX + 1];
    snprintf(ua, sizeof ua, "reputed/%s", REPUTE_VERSION);
    /* The port we listen on is known once the listener is bound; HELLO
     * carries the configured one (port 0 in the config: none announced). */
    rp_endpoint le;
    const char *why;
    uint16_t port = 0;
    if (n->cfg.p2p_listen[0] && rp_endpoint_parse(&le, n->cfg.p2p_listen, -1, 1, &why) == 0)
        port = le.port;
    rc = rp_session_local_init(&w->local, &sk, rp_store_chain_id(n->st), port,
                               n->validator_index >= 0 ? RP_P2P_ROLE_VALIDATOR : RP_P2P_ROLE_FULL, ua);
    sodium_memzero(&sk, sizeof sk);
    if (rc) {
        snprintf(err, errlen, "node key: %s", rp_strerror(rc));
        free(w->msg);
        free(w);
        return rc;
    }
    rp_gossip_io gio = {w, g_have, g_lookup, g_submit, g_send_inv, g_send_getdata, g_send_records,
                        g_misbehaved};
    rp_sync_io sio = {w, s_getblocks, s_commit, s_misbehaved};
    if ((rc = rp_gossip_new(&w->gossip, &gio)) != 0 ||
        (rc = rp_sync_new(&w->sync, &sio, tip.height)) != 0 ||
        (rc = rp_mempool_subscribe(n->mp, on_mempool_event, w, &w->sub)) != 0) {
        snprintf(err, errlen, "cannot start the network: %s", rp_strerror(rc));
        goto fail;
    }
    const char *persistent[RP_CONFIG_MAX_PEERS], *seeds[RP_CONFIG_MAX_PEERS];
    for (uint32_t i = 0; i < n->cfg.p2p_persistent.n; i++)
        persistent[i] = n->cfg.p2p_persistent.v[i];
    for (uint32_t i = 0; i < n->cfg.p2p_seeds.n; i++)
        seeds[i] = n->cfg.p2p_seeds.v[i];
    char peers_file[RP_CONFIG_PATH_MAX + 16];
    snprintf(peers_file, sizeof peers_file, "%s/peers.dat", n->datadir);
    rp_net_config nc = {&w->local,
                        n->cfg.p2p_listen,
                        persistent,
                        n->cfg.p2p_persistent.n,
                        seeds,
                        n->cfg.p2p_seeds.n,
                        n->cfg.p2p_max_outbound,
                        n->cfg.p2p_max_inbound,
                        peers_file};
    rp_net_handler h = {w, h_ready, h_message, h_consensus, h_gone, h_log};
    if ((rc = rp_net_start(&w->net, n->loop, &nc, &h, err, errlen)) != 0)
        goto fail;
    uv_timer_init(n->loop, &w->tick);
    uv_timer_init(n->loop, &w->retry);
    w->tick.data = w->retry.data = w;
    uv_timer_start(&w->tick, on_tick, NW_TICK_MS, NW_TICK_MS);
    /* One core stays with the writer, whose commits are the serial part. */
    w->pre_limit = n->threads > 1 ? n->threads - 1 : 1;
    n->network = w;
    char id[65];
    rp_hex_encode(id, sizeof id, w->local.hello.node_key.bytes, 32);
    rp_log(RP_LOG_INFO, "p2p_started", "node_id=%s listen=%s port=%u persistent=%u seeds=%u",
           id, n->cfg.p2p_listen[0] ? n->cfg.p2p_listen : "none",
           (unsigned)rp_net_port(w->net), (unsigned)n->cfg.p2p_persistent.n,
           (unsigned)n->cfg.p2p_seeds.n);
    return 0;
fail:
    if (w->sub)
        rp_mempool_unsubscribe(n->mp, w->sub);
    rp_sync_free(w->sync);
    rp_gossip_free(w->gossip);
    rp_session_local_wipe(&w->local);
    free(w->tip_commit.commit);
    free(w->msg);
    free(w);
    return rc;
}

void rp_network_stop(struct node *n)
{
    struct network *w = n->network;
    if (!w || w->stopped)
        return;
    w->stopped = 1;
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->retry, NULL);
    if (w->retry_job) {
        job_free(w->retry_job);
        w->retry_job = NULL;
        w->committing = 0;
    }
    rp_mempool_unsubscribe(n->mp, w->sub);
    rp_net_stop(w->net, NULL, NULL);
    w->net = NULL;
}

void rp_network_free(struct node *n)
{
    struct network *w = n->network;
    if (!w)
        return;
    n->network = NULL;
    for (size_t i = 0; i < NW_PRE_SLOTS; i++)
        pre_free(&w->pre[i]);
    rp_sync_free(w->sync);
    rp_gossip_free(w->gossip);
    rp_session_local_wipe(&w->local);
    free(w->tip_commit.commit);
    free(w->msg);
    free(w);
}

void rp_network_block_committed(struct node *n, uint64_t height, const rp_hash *hash)
{
    struct network *w = n->network;
    rp_subs_block_committed(n, height, hash); /* every block passes here */
    if (!w || w->stopped)
        return;
    rp_sync_set_tip(w->sync, height, mono_ms(w));
    rp_p2p_msg_newblock(w->msg, height, hash);
    rp_net_broadcast(w->net, w->msg);
    rp_consensus_block_committed(n, height);
}

int rp_network_committing(const struct node *n)
{
    return n->network && n->network->committing;
}
