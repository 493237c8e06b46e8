/* RPC answers that take O(chain data) to build, made on the worker pool so
 * the loop keeps answering: chain.block (a block may hold 10,000 records)
 * and score.get with a proof (a Merkle path over the epoch's table).
 * score.top's ranking, built the same way once per epoch, is in ranking.c.
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
