/* RPC answers that take O(chain data) to build, made on the worker pool so
 * the loop keeps answering: chain.block (a block may hold 10,000 records),
 * score.get with a proof (a Merkle path over the epoch's table) and
 * score.top (the latest epoch's table ranked by score, built once per epoch
 * and then answered from memory).
 *
 * They go through the read lane (node/lane.h), never straight to the pool,
 * so client reads cannot delay the chain's work and each connection gets a
 * fair share. A read job's work function reads through its own read
 * transactions and touches nothing but its job; the answer is sent from the
 * after-callback on the loop.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/export.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "node/lane.h"
#include "node/node.h"
#include "node/rpc_params.h"

/* chain.block serves a block's records in pages (docs/rpc.md). */
#define RP_BLOCK_PAGE_DEFAULT 100
#define RP_BLOCK_PAGE_MAX     1000

/* The latest epoch's table ordered by score, built on the pool. */
struct top_row {
    rp_score_row row;
    uint8_t role;
    char name[RP_NAME_MAX + 1];
};

struct top_cache {
    uint64_t epoch;
    size_t n;
    struct top_row *rows;
};

struct top_waiter {
    rp_rpc_call *call;
    int role; /* 0: all */
    size_t limit, offset;
    struct top_waiter *next;
};

/* ---- score.top's ranking ------------------------------------------------------------ */

struct top_job {
    rp_lane_job lj; /* first: the lane's uv_work_t is the job's */
    struct node *n;
    struct top_cache *c;
    int rc;
};

struct top_build {
    rp_store *st;
    struct top_cache *c;
    size_t cap;
};

static int top_collect(void *ctx, const rp_score_row *row)
{
    struct top_build *b = ctx;
    if (b->c->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        void *p = realloc(b->c->rows, cap * sizeof *b->c->rows);
        if (!p)
            return RP_ERR_NOMEM;
        b->c->rows = p;
        b->cap = cap;
    }
    struct top_row *t = &b->c->rows[b->c->n++];
    memset(t, 0, sizeof *t);
    t->row = *row;
    rp_identity_state st;
    if (rp_store_read_identity(b->st, &row->identity, &st) == 0) {
        t->role = st.role;
        memcpy(t->name, st.name, st.name_len);
        t->name[st.name_len] = 0;
    }
    return 0;
}

/* Score, then trust, then identity: a total order, the same everywhere. */
static int top_cmp(const void *x, const void *y)
{
    const struct top_row *a = x, *b = y;
    if (a->row.score != b->row.score)
        return a->row.score > b->row.score ? -1 : 1;
    if (a->row.trust != b->row.trust)
        return a->row.trust > b->row.trust ? -1 : 1;
    return memcmp(a->row.identity.bytes, b->row.identity.bytes, 32);
}

static void top_work(uv_work_t *req)
{
    struct top_job *j = req->data;
    rp_epoch_info info;
    struct top_build b = {j->n->st, j->c, 0};
    j->rc = rp_store_read_epoch(j->n->st, 0, &info);
    if (j->rc == 0) {
        j->c->epoch = info.epoch;
        j->rc = rp_store_read_scores(j->n->st, info.epoch, top_collect, &b);
    }
    if (j->rc == 0)
        qsort(j->c->rows, j->c->n, sizeof *j->c->rows, top_cmp);
}

static void top_free(struct top_cache *c)
{
    if (c) {
        free(c->rows);
        free(c);
    }
}

static void top_answer(struct node *n, struct top_waiter *w)
{
    struct top_cache *c = n->top;
    json_t *rows = json_array();
    size_t total = 0, rank = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct top_row *t = &c->rows[i];
        if (w->role && t->role != w->role)
            continue;
        rank++;
        total++;
        if (rank <= w->offset || json_array_size(rows) >= w->limit)
            continue;
        json_array_append_new(
            rows, json_pack("{s:I,s:o,s:s,s:s,s:i,s:i,s:I,s:I,s:o}", "rank", (json_int_t)rank,
                            "identity", rp_json_hex(t->row.identity.bytes, 32), "name", t->name,
                            "role", rp_role_name(t->role), "score", t->row.score, "confidence",
                            t->row.confidence, "rating", (json_int_t)t->row.rating, "reviews",
                            (json_int_t)t->row.reviews, "trust", rp_json_u64(t->row.trust)));
    }
    rp_rpc_reply(w->call, json_pack("{s:o,s:I,s:o}", "epoch", rp_json_u64(c->epoch), "total",
                                    (json_int_t)total, "rows", rows));
}

static void start_top_job(struct node *n);

static void top_done(uv_work_t *req, int status)
{
    struct top_job *j = req->data;
    struct node *n = j->n;
    n->top_job = 0;
    if (status == UV_ECANCELED)
        j->rc = RP_ERR_SHUTDOWN;
    struct top_waiter *w = n->top_waiters, *next;
    n->top_waiters = NULL;
    if (j->rc == 0) {
        top_free(n->top);
        n->top = j->c;
    } else {
        top_free(j->c);
    }
    for (; w; w = next) {
        next = w->next;
        if (j->rc == RP_ERR_NOT_FOUND)
            rp_rpc_error(w->call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        else if (j->rc == RP_ERR_SHUTDOWN)
            rp_rpc_error(w->call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        else if (j->rc)
            rp_rpc_store_error(w->call, j->rc);
        else
            top_answer(n, w);
        free(w);
    }
    free(j);
}

/* The ranking is shared by every client that asks, so its job belongs to
 * no connection: it has an owner of its own in the read lane. */
static void start_top_job(struct node *n)
{
    if (n->top_job)
        return;
    struct top_job *j = calloc(1, sizeof *j);
    struct top_cache *c = calloc(1, sizeof *c);
    if (!j || !c) {
        free(j);
        free(c);
        return;
    }
    j->c = c;
    j->n = n;
    j->lj.req.data = j;
    j->lj.work = top_work;
    j->lj.after = top_done;
    j->lj.owner = &n->top;
    if (rp_lane_submit(n->reads, &j->lj) != 0) {
        free(j);
        free(c);
        return;
    }
    n->top_job = 1;
}

/* ---- reads too large for the loop, made on the pool ------------------------------- */

/* A read whose answer takes O(chain data) to build (a proof's Merkle path
 * spans the epoch table; a page of a block holds up to 1,000 records) runs
 * on the pool through the read lane (node/lane.h): one at a time per
 * connection, started only while the connection takes its answers, and
 * never ahead of the chain's own work. fn builds the answer from read
 * transactions and touches nothing else. A job whose client leaves before
 * it starts is cancelled. */
struct read_job {
    rp_lane_job lj; /* first: the lane's uv_work_t is the job's */
    struct node *n;
    rp_rpc_call *call;
    int (*fn)(struct read_job *j);
    json_t *answer; /* fn's result (or, for a proof, the answer to extend) */
    rp_pubkey who;
    uint64_t num;      /* the epoch or height */
    size_t first, max; /* chain.block: the page of records */
    int rc;
};

static void read_work(uv_work_t *req)
{
    struct read_job *j = req->data;
    j->rc = j->fn(j);
}

static void read_done(uv_work_t *req, int status)
{
    struct read_job *j = req->data;
    if (status == UV_ECANCELED) {
        json_decref(j->answer);
        rp_rpc_error(j->call, RP_RPC_SHUTTING_DOWN, "cancelled: the client went away", NULL);
    } else if (j->rc == 0 && j->answer) {
        rp_rpc_reply(j->call, j->answer);
    } else {
        json_decref(j->answer);
        rp_rpc_store_error(j->call, j->rc ? j->rc : RP_ERR_NOMEM);
    }
    free(j);
}

static int read_ready(void *ctx)
{
    struct read_job *j = ctx;
    return rp_rpc_call_can_send(j->call);
}

/* The client left: a job that has not started never will. */
static void read_cancelled(void *ctx, rp_rpc_call *call)
{
    struct read_job *j = ctx;
    (void)call;
    rp_lane_cancel(j->n->reads, &j->lj); /* if running, read_done answers later */
}

/* Queue fn; answer (may be NULL) is the job's to keep or free. */
static void start_read_job(struct node *n, rp_rpc_call *call, int (*fn)(struct read_job *j),
                           json_t *answer, const rp_pubkey *who, uint64_t num, size_t first,
                           size_t max)
{
    struct read_job *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(answer);
        rp_rpc_store_error(call, RP_ERR_NOMEM);
        return;
    }
    j->n = n;
    j->call = call;
    j->fn = fn;
    j->answer = answer;
    if (who)
        j->who = *who;
    j->num = num;
    j->first = first;
    j->max = max;
    j->lj.req.data = j;
    j->lj.work = read_work;
    j->lj.after = read_done;
    j->lj.ready = read_ready;
    j->lj.ready_ctx = j;
    j->lj.owner = rp_rpc_call_owner(call);
    int rc = rp_lane_submit(n->reads, &j->lj);
    if (rc) {
        json_decref(answer);
        if (rc == RP_ERR_TOO_MANY)
            rp_rpc_error(call, RP_RPC_BUSY, "too many reads are waiting; retry later", NULL);
        else if (rc == RP_ERR_SHUTDOWN)
            rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        else
            rp_rpc_store_error(call, rc);
        free(j);
        return;
    }
    rp_rpc_call_on_cancel(call, read_cancelled, j);
}

/* score.get with proof: the binary proof, in hex, added to the answer. */
static int proof_fn(struct read_job *j)
{
    rp_score_proof *pf = malloc(sizeof *pf);
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    char *hex = NULL;
    size_t plen = 0;
    int rc = !pf || !buf ? RP_ERR_NOMEM : rp_store_score_proof(j->n->st, &j->who, j->num, pf);
    if (rc == 0)
        rc = rp_score_proof_encode(pf, buf, RP_PROOF_MAX_SIZE, &plen);
    if (rc == 0 && (!(hex = malloc(2 * plen + 1)) || rp_hex_encode(hex, 2 * plen + 1, buf, plen)))
        rc = RP_ERR_NOMEM;
    if (rc == 0 && json_object_set_new(j->answer, "proof", json_stringn(hex, 2 * plen)) != 0)
        rc = RP_ERR_NOMEM;
    free(hex);
    free(pf);
    free(buf);
    return rc;
}

/* chain.block: the export's object of the block with one page of its
 * records, plus the commit's bytes and where the next page starts. */
static int block_fn(struct read_job *j)
{
    unsigned char *block = NULL, *commit = NULL;
    size_t blen = 0, clen = 0;
    rp_header h;
    int rc = rp_store_read_block(j->n->st, j->num, &block, &blen);
    if (rc == 0)
        rc = rp_store_read_commit(j->n->st, j->num, &commit, &clen);
    if (rc == 0 && (blen < RP_HEADER_SIZE || rp_header_decode(&h, block, RP_HEADER_SIZE) != 0))
        rc = RP_ERR_CORRUPT;
    if (rc == 0)
        rc = rp_export_block_obj(&j->answer, rp_store_chain_id(j->n->st), block, blen, commit, clen,
                                 j->first, j->max, NULL);
    if (rc == 0) {
        size_t end = j->first + j->max;
        json_object_set_new(j->answer, "commit_hex", rp_json_hex(commit, clen));
        json_object_set_new(j->answer, "records_offset", json_integer((json_int_t)j->first));
        json_object_set_new(j->answer, "records_total", json_integer(h.record_count));
        json_object_set_new(j->answer, "next_offset",
                            end < h.record_count ? json_integer((json_int_t)end) : json_null());
    }
    free(block);
    free(commit);
    return rc;
}

/* ---- the methods ------------------------------------------------------------------ */

void rp_m_chain_block(struct node *n, rp_rpc_call *call, json_t *params)
{
    uint64_t height = 0;
    unsigned char hb[32];
    int hh = rp_param_u64(call, params, "height", &height);
    if (hh < 0)
        return;
    int hs = rp_param_hex32(call, params, "hash", hb);
    if (hs < 0)
        return;
    if (hh + hs != 1) {
        rp_param_bad(call, "height", "or hash: give exactly one");
        return;
    }
    int rc = 0;
    if (hs) {
        rp_hash h;
        memcpy(h.bytes, hb, 32);
        rc = rp_store_find_block(n->st, &h, &height);
    }
    if (rc == 0 && height == 0)
        rc = RP_ERR_NOT_FOUND;
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    uint64_t offset = 0, limit = RP_BLOCK_PAGE_DEFAULT;
    if (rp_param_u64(call, params, "records_offset", &offset) < 0 ||
        rp_param_u64(call, params, "records_limit", &limit) < 0)
        return;
    if (limit < 1 || limit > RP_BLOCK_PAGE_MAX) {
        rp_param_bad(call, "records_limit", "must be 1..1000");
        return;
    }
    if (offset > RP_BLOCK_MAX_RECORDS) {
        rp_param_bad(call, "records_offset", "is beyond any block's records");
        return;
    }
    start_read_job(n, call, block_fn, NULL, NULL, height, (size_t)offset, (size_t)limit);
}

void rp_m_score_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    rp_pubkey who;
    uint64_t epoch = 0;
    int want_proof = 0;
    if (rp_param_require_hex32(call, params, "identity", who.bytes))
        return;
    if (rp_param_u64(call, params, "epoch", &epoch) < 0 ||
        rp_param_bool(call, params, "proof", &want_proof) < 0)
        return;
    rp_epoch_info info;
    rp_score_row row;
    int present;
    int rc = rp_store_read_score(n->st, &who, epoch, &info, &row, &present);
    if (rc == RP_ERR_NOT_FOUND) {
        if (epoch == 0)
            rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        else
            rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such epoch (not yet, or out of the history)",
                         NULL);
        return;
    }
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    if (!present)
        memset(&row, 0, sizeof row);
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:b,s:i,s:i,s:o,s:I,s:I}", "identity", rp_json_hex(who.bytes, 32), "epoch",
        rp_json_u64(info.epoch), "commit_height", rp_json_u64(info.commit_height), "present",
        present, "score", row.score, "confidence", row.confidence, "trust", rp_json_u64(row.trust),
        "rating", (json_int_t)row.rating, "reviews", (json_int_t)row.reviews);
    if (want_proof) {
        start_read_job(n, call, proof_fn, o, &who, info.epoch, 0, 0);
        return;
    }
    rp_rpc_reply(call, o);
}

void rp_m_score_top(struct node *n, rp_rpc_call *call, json_t *params)
{
    int role = 0;
    size_t limit;
    uint64_t offset = 0;
    json_t *rv = params ? json_object_get(params, "role") : NULL;
    if (rv) {
        for (int i = 1; i <= 3 && json_is_string(rv); i++)
            if (strcmp(json_string_value(rv), rp_role_names[i]) == 0)
                role = i;
        if (!role) {
            rp_param_bad(call, "role", "must be talent, agent or brand");
            return;
        }
    }
    if (rp_param_limit(call, params, &limit) < 0 ||
        rp_param_u64(call, params, "offset", &offset) < 0)
        return;
    rp_epoch_info info;
    int rc = rp_store_read_epoch(n->st, 0, &info);
    if (rc == RP_ERR_NOT_FOUND) {
        rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        return;
    }
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    struct top_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        rp_rpc_store_error(call, RP_ERR_NOMEM);
        return;
    }
    w->call = call;
    w->role = role;
    w->limit = limit;
    w->offset = offset > SIZE_MAX ? SIZE_MAX : (size_t)offset;
    if (n->top && n->top->epoch == info.epoch) {
        top_answer(n, w);
        free(w);
        return;
    }
    w->next = n->top_waiters;
    n->top_waiters = w;
    start_top_job(n);
}

void rp_reads_free(struct node *n)
{
    top_free(n->top);
    n->top = NULL;
}
