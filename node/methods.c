/* The RPC methods answered on the loop from short read transactions and
 * the mempool (docs/rpc.md has each one), and the one method table the
 * dispatcher uses: name, handler and allowed parameters together. The
 * methods whose answers are built on the pool are in reads.c, the score
 * rankings in ranking.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "node/metrics.h"
#include "node/node.h"
#include "node/rpc_params.h"

#define SUBMIT_WAIT_DEFAULT_MS 10000
#define SUBMIT_WAIT_MAX_MS     60000

static void m_node_info(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    const rp_params *p = &n->g->params;
    json_t *o =
        json_pack("{s:s,s:s,s:o,s:o,s:o,s:b,s:i,s:i,s:o,s:o,s:i,s:i,s:o,s:i,s:i,s:I}", "version",
                  REPUTE_VERSION, "chain_name", n->g->chain_name, "chain_id",
                  rp_json_hex(rp_store_chain_id(n->st)->bytes, 32), "genesis_time",
                  rp_json_u64(n->g->genesis_time), "height", rp_json_u64(tip.height), "validator",
                  n->validator_index >= 0, "validator_index", n->validator_index, "block_interval_ms",
                  (int)n->cfg.block_interval_ms, "epoch_blocks", rp_json_u64(p->epoch_blocks),
                  "score_delay_blocks", rp_json_u64(p->score_delay_blocks), "pow_difficulty",
                  (int)p->pow_difficulty, "time_tolerance_s", (int)p->time_tolerance_s, "uptime_s",
                  rp_json_u64((rp_node_wall_ms() - n->start_ms) / 1000), "max_block_records",
                  (int)p->max_block_records, "pid", (int)getpid(), "max_record_bytes",
                  (json_int_t)RP_RECORD_MAX_SIZE);
    json_object_set_new(o, "max_engagement_ttl_s", json_integer(p->max_engagement_ttl_s));
    json_object_set_new(o, "network", rp_network_info(n));
    json_object_set_new(o, "consensus", rp_consensus_info(n));
    int mport = rp_metrics_port(n);
    json_object_set_new(o, "metrics_port", mport < 0 ? json_null() : json_integer(mport));
    rp_rpc_reply(call, o);
}

/* evidence.list: the double votes this node saw (docs/rpc.md). */
static void m_evidence_list(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    json_t *ev = rp_consensus_evidence(n);
    if (!ev) {
        rp_rpc_error(call, RP_RPC_INTERNAL, "out of memory", NULL);
        return;
    }
    rp_rpc_reply(call, ev);
}

static json_t *head_json(const rp_tip *t)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "height", rp_json_u64(t->height), "hash",
                     rp_json_hex(t->head_hash.bytes, 32), "time_ms", rp_json_u64(t->time_ms),
                     "state_hash", rp_json_hex(t->state_hash.bytes, 32), "commit_hash",
                     rp_json_hex(t->commit_hash.bytes, 32), "epoch", rp_json_u64(t->epoch),
                     "score_root", rp_json_hex(t->score_root.bytes, 32));
}

static void m_chain_head(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc)
        rp_rpc_store_error(call, rc);
    else
        rp_rpc_reply(call, head_json(&tip));
}

static void m_record_submit(struct node *n, rp_rpc_call *call, json_t *params)
{
    json_t *rec = params ? json_object_get(params, "record") : NULL;
    int wait = 0;
    uint64_t timeout = SUBMIT_WAIT_DEFAULT_MS;
    if (!json_is_string(rec)) {
        rp_param_bad(call, "record", "is required: the hex of a signed record");
        return;
    }
    if (rp_param_bool(call, params, "wait", &wait) < 0 ||
        rp_param_u64(call, params, "timeout_ms", &timeout) < 0)
        return;
    if (timeout > SUBMIT_WAIT_MAX_MS || timeout == 0) {
        rp_param_bad(call, "timeout_ms", "must be 1..60000");
        return;
    }
    unsigned char bytes[RP_RECORD_MAX_SIZE];
    size_t len;
    if (json_string_length(rec) > 2 * RP_RECORD_MAX_SIZE) {
        rp_param_bad(call, "record", "is longer than any record can be");
        return;
    }
    if (rp_hex_decode_var(bytes, sizeof bytes, &len, json_string_value(rec),
                          json_string_length(rec)) != 0) {
        rp_param_bad(call, "record", "must be hex");
        return;
    }
    if (n->stopping) {
        rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        return;
    }
    rp_mp_result res;
    int rc = rp_mempool_submit(n->mp, bytes, len, (rp_mp_source){RP_MP_FROM_RPC, 0},
                               rp_node_wall_ms() / 1000, &res);
    if (rc == RP_ERR_MEMPOOL_FULL) {
        rp_rpc_error(call, RP_RPC_MEMPOOL_FULL, "mempool full; retry later", NULL);
        return;
    }
    if (rc == RP_ERR_SEQUENCE_GAP) {
        rp_rpc_error(call, RP_RPC_SEQUENCE_GAP, res.msg,
                     json_pack("{s:o}", "expected", rp_json_u64(res.expected_seq)));
        return;
    }
    if (rc == RP_ERR_SHUTDOWN) {
        rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        return;
    }
    if (rc == RP_ERR_NOMEM || rc == RP_ERR_STORE) {
        rp_rpc_store_error(call, rc);
        return;
    }
    if (rc) {
        rp_rpc_error(call, RP_RPC_RECORD_REJECTED, "record rejected", rp_reject_data(rc, res.msg));
        return;
    }
    if (res.status == RP_MP_INCLUDED) {
        rp_rpc_reply(call, rp_submit_result(&res.id, "included", 1, res.height, res.index));
        return;
    }
    if (!wait && res.status == RP_MP_HELD) {
        rp_rpc_reply(call, rp_submit_result(&res.id, "held", 0, 0, 0));
        return;
    }
    if (!wait && res.status == RP_MP_KNOWN) {
        rp_rpc_reply(call, rp_submit_result(&res.id, "known", 0, 0, 0));
        return;
    }
    if (rp_waiter_add(n, call, &res.id, wait, timeout) != 0)
        rp_rpc_store_error(call, RP_ERR_NOMEM);
}

static void m_record_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    rp_hash id;
    if (rp_param_require_hex32(call, params, "id", id.bytes))
        return;
    uint64_t height;
    uint32_t index;
    int rc = rp_store_find_record(n->st, &id, &height, &index);
    if (rc == 0) {
        unsigned char rec[RP_RECORD_MAX_SIZE];
        size_t len;
        json_t *o = NULL;
        if ((rc = rp_store_read_record(n->st, height, index, rec, &len)) == 0)
            o = rp_export_record_obj(index, rp_store_chain_id(n->st), rec, len);
        if (!o) {
            rp_rpc_store_error(call, rc ? rc : RP_ERR_CORRUPT);
            return;
        }
        json_object_set_new(o, "status", json_string("included"));
        json_object_set_new(o, "height", rp_json_u64(height));
        rp_rpc_reply(call, o);
        return;
    }
    if (rc != RP_ERR_NOT_FOUND) {
        rp_rpc_store_error(call, rc);
        return;
    }
    enum rp_mp_status status;
    const unsigned char *bytes;
    size_t len;
    if (rp_mempool_find(n->mp, &id, &status, &bytes, &len) != 0) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such record", NULL);
        return;
    }
    /* Never serve as the issuer's a record whose signatures did not verify:
     * one still waiting for its batch, or a held one whose issuer's key
     * changed since it was verified. */
    if (!bytes) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND,
                     status == RP_MP_HELD
                         ? "no such record: one with this id is held, but its signatures no "
                           "longer verify with its signers' current keys"
                         : "no such record yet: its signatures are being verified",
                     NULL);
        return;
    }
    json_t *o = rp_export_record_obj(0, rp_store_chain_id(n->st), bytes, len);
    if (!o) {
        rp_rpc_store_error(call, RP_ERR_NOMEM);
        return;
    }
    json_object_del(o, "index");
    json_object_set_new(o, "status", json_string(status == RP_MP_HELD ? "held" : "pending"));
    rp_rpc_reply(call, o);
}

static void m_identity_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    rp_pubkey who;
    if (rp_param_require_hex32(call, params, "identity", who.bytes))
        return;
    rp_identity_state chain, pend;
    uint64_t next = 1;
    uint32_t npending = 0;
    int rc = rp_store_read_identity(n->st, &who, &chain);
    int registered = rc == 0;
    if (rc && rc != RP_ERR_NOT_FOUND) {
        rp_rpc_store_error(call, rc);
        return;
    }
    int prc = rp_mempool_identity(n->mp, &who, &next, &npending, &pend);
    if (prc && prc != RP_ERR_NOT_FOUND) {
        rp_rpc_store_error(call, prc);
        return;
    }
    if (!registered && prc) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such identity (not on chain, none pending)", NULL);
        return;
    }
    const rp_identity_state *s = registered ? &chain : &pend;
    json_t *o = json_pack(
        "{s:o,s:b,s:o,s:s,s:s%,s:o,s:o,s:o,s:o,s:i,s:o,s:o,s:I,s:I,s:I,s:I}", "identity",
        rp_json_hex(who.bytes, 32), "registered", registered, "key", rp_json_hex(s->key.bytes, 32),
        "role", rp_role_name(s->role), "name", s->name, (size_t)s->name_len, "profile",
        rp_json_hex(s->profile.bytes, 32), "recovery", rp_json_hex(s->recovery.bytes, 32), "seq",
        rp_json_u64(registered ? chain.seq : 0), "next_seq", rp_json_u64(next), "pending",
        (int)npending, "registered_height",
        registered ? rp_json_u64(s->registered_height) : json_null(), "updated_height",
        registered ? rp_json_u64(s->updated_height) : json_null(), "reviews_received",
        (json_int_t)s->reviews_received, "reviews_given", (json_int_t)s->reviews_given,
        "vouches_received", (json_int_t)s->vouches_received, "engagements",
        (json_int_t)s->engagements);
    rp_rpc_reply(call, o);
}

static void m_reviews_list(struct node *n, rp_rpc_call *call, json_t *params)
{
    rp_pubkey who;
    rp_hash after;
    size_t limit;
    int s = rp_param_hex32(call, params, "subject", who.bytes);
    if (s < 0)
        return;
    unsigned char ib[32];
    int i = rp_param_hex32(call, params, "issuer", ib);
    if (i < 0)
        return;
    if (s + i != 1) {
        rp_param_bad(call, "subject", "or issuer: give exactly one");
        return;
    }
    if (i)
        memcpy(who.bytes, ib, 32);
    int a = rp_param_hex32(call, params, "after", after.bytes);
    if (a < 0 || rp_param_limit(call, params, &limit) < 0)
        return;
    rp_review_info page[RP_PAGE_MAX];
    size_t cnt;
    int more;
    int rc = rp_store_list_reviews(n->st, &who, i, a ? &after : NULL, page, limit, &cnt, &more);
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t k = 0; k < cnt; k++) {
        const rp_review_info *v = &page[k];
        json_array_append_new(
            arr, json_pack("{s:o,s:o,s:o,s:o,s:i,s:{s:i,s:i,s:i,s:i},s:o,s:o}", "id",
                           rp_json_hex(v->id.bytes, 32), "issuer", rp_json_hex(v->issuer.bytes, 32),
                           "subject", rp_json_hex(v->subject.bytes, 32), "engagement",
                           rp_json_hex(v->engagement.bytes, 32), "overall", v->overall, "dims",
                           "quality", v->dims[0], "reliability", v->dims[1], "communication",
                           v->dims[2], "payment", v->dims[3], "time", rp_json_u64(v->time),
                           "height", rp_json_u64(v->height)));
    }
    json_t *next = more && cnt ? rp_json_hex(page[cnt - 1].id.bytes, 32) : json_null();
    rp_rpc_reply(call, json_pack("{s:o,s:o}", "reviews", arr, "next", next));
}

static void m_mempool_info(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    rp_mempool_stats s;
    rp_mempool_stats_get(n->mp, &s);
    rp_rpc_reply(
        call, json_pack("{s:i,s:I,s:i,s:i,s:i,s:i,s:I,s:i,s:I,s:I,s:I}", "count", (int)s.count,
                        "bytes", (json_int_t)s.bytes, "held", (int)s.held, "ready", (int)s.ready,
                        "verifying", (int)s.verifying, "max_count", (int)n->cfg.mempool_max_count,
                        "max_bytes", (json_int_t)n->cfg.mempool_max_bytes, "max_gap",
                        (int)n->cfg.mempool_max_gap, "admitted", (json_int_t)s.admitted, "rejected",
                        (json_int_t)s.rejected, "dropped", (json_int_t)s.dropped));
}

static void m_node_metrics(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    rp_mempool_stats s;
    rp_mempool_stats_get(n->mp, &s);
    json_t *rpc = rp_rpc_metrics(n->rpc);
    size_t rq = 0, rr = 0;
    rp_lane_stats(n->reads, &rq, &rr);
    json_t *gauges = json_pack(
        "{s:o,s:i,s:I,s:O,s:o,s:i,s:I,s:I,s:I}", "height", rp_json_u64(tip.height), "mempool_count",
        (int)s.count, "mempool_bytes", (json_int_t)s.bytes, "connections",
        json_object_get(rpc, "connections"), "uptime_s",
        rp_json_u64((rp_node_wall_ms() - n->start_ms) / 1000), "verify_jobs", (int)n->batches,
        "waiting_calls", (json_int_t)n->nwaiters, "reads_queued", (json_int_t)rq, "reads_running",
        (json_int_t)rr);
    json_object_set(gauges, "subscriptions", json_object_get(rpc, "subscriptions"));
    json_t *counters = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:I}", "blocks_produced", (json_int_t)n->blocks_produced,
        "records_included", (json_int_t)n->records_included, "records_admitted",
        (json_int_t)s.admitted, "records_rejected", (json_int_t)s.rejected, "records_dropped",
        (json_int_t)s.dropped, "rpc_calls", json_object_get(rpc, "calls"), "rpc_errors",
        json_object_get(rpc, "errors"), "block_inline_verifies", (json_int_t)n->inline_verifies);
    json_object_set(counters, "rpc_notifications", json_object_get(rpc, "notifications"));
    json_object_set(counters, "rpc_slow_subscribers", json_object_get(rpc, "slow_subscribers"));
    json_t *o = json_pack("{s:o,s:o,s:{s:f},s:O,s:o}", "gauges", gauges, "counters", counters,
                          "rates", "records_per_s", rp_producer_rate(n), "methods",
                          json_object_get(rpc, "methods"), "p2p", rp_network_metrics(n));
    json_decref(rpc);
    rp_rpc_reply(call, o);
}

/* audience.get: an identity's trust-weighted audience figures in an epoch,
 * per platform, and the attestations about it live now (docs/rpc.md). */
#define AUDIENCE_LIVE_PAGE 100

static json_t *figure_u64(int has, uint64_t v)
{
    return has ? rp_json_u64(v) : json_null();
}

static json_t *figure_ppm(int has, uint32_t v)
{
    return has ? json_integer((json_int_t)v) : json_null();
}

static void m_audience_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    rp_pubkey who;
    uint64_t epoch = 0;
    unsigned platform = 0;
    if (rp_param_require_hex32(call, params, "identity", who.bytes) ||
        rp_param_u64(call, params, "epoch", &epoch) < 0)
        return;
    json_t *pv = params ? json_object_get(params, "platform") : NULL;
    if (pv && (!json_is_string(pv) ||
               (platform = rp_platform_code(json_string_value(pv), json_string_length(pv))) == 0)) {
        rp_param_bad(call, "platform", "must be one of instagram, tiktok, youtube, twitch, x");
        return;
    }
    rp_tip tip;
    rp_epoch_info info;
    rp_audience_row rows[RP_PLATFORM_MAX];
    rp_audience_attestation *live = malloc(AUDIENCE_LIVE_PAGE * sizeof *live);
    size_t nrows, nlive;
    int more;
    int rc = !live ? RP_ERR_NOMEM : rp_store_tip(n->st, &tip);
    if (rc == 0)
        rc = rp_store_audience_get(n->st, &who, epoch, platform, &info, rows, &nrows, live,
                                   AUDIENCE_LIVE_PAGE, &nlive, &more);
    if (rc == RP_ERR_NOT_FOUND) {
        free(live);
        if (epoch == 0)
            rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        else
            rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such epoch (not yet, or out of the history)",
                         NULL);
        return;
    }
    if (rc) {
        free(live);
        rp_rpc_store_error(call, rc);
        return;
    }
    json_t *figs = json_array(), *atts = json_array();
    for (size_t i = 0; i < nrows; i++) {
        const rp_audience_row *r = &rows[i];
        json_array_append_new(
            figs, json_pack("{s:s,s:i,s:o,s:b,s:o,s:o,s:o}", "platform",
                            rp_platform_name(r->platform), "attesters", (int)r->attesters,
                            "total_trust", rp_json_u64(r->total_trust), "has_figure", r->has_figure,
                            "followers", figure_u64(r->has_figure, r->followers), "authentic_ppm",
                            figure_ppm(r->has_figure, r->authentic_ppm), "engagement_ppm",
                            figure_ppm(r->has_figure, r->engagement_ppm)));
    }
    uint64_t now_s = tip.time_ms / 1000;
    for (size_t i = 0; i < nlive; i++) {
        const rp_attest_state *a = &live[i].st;
        json_t *o = json_pack(
            "{s:o,s:o,s:s,s:s%,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:b}", "id",
            rp_json_hex(live[i].id.bytes, 32), "attester", rp_json_hex(a->attester.bytes, 32),
            "platform", rp_platform_name(a->platform), "handle", a->handle, (size_t)a->handle_len,
            "followers", rp_json_u64(a->followers), "authentic_ppm", (json_int_t)a->authentic_ppm,
            "engagement_ppm", (json_int_t)a->engagement_ppm, "period_start",
            rp_json_u64(a->period_start), "period_end", rp_json_u64(a->period_end), "expiry",
            rp_json_u64(a->expiry), "time", rp_json_u64(a->time), "height", rp_json_u64(a->height),
            "expired", a->expiry <= now_s);
        json_array_append_new(atts, o);
    }
    free(live);
    rp_rpc_reply(call, json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "identity",
                                 rp_json_hex(who.bytes, 32), "epoch", rp_json_u64(info.epoch),
                                 "commit_height", rp_json_u64(info.commit_height), "figures", figs,
                                 "attestations", atts, "more_attestations", more));
}

/* ---- the method table --------------------------------------------------------------- */

typedef void (*method_fn)(struct node *n, rp_rpc_call *call, json_t *params);

/* One row per method: its name, its handler and the parameters it takes.
 * The dispatcher refuses any other parameter before the handler runs. */
static const struct method {
    const char *name;
    method_fn fn;
    const char *const *params;
} methods[] = {
    {"node.info", m_node_info, (const char *const[]){NULL}},
    {"chain.head", m_chain_head, (const char *const[]){NULL}},
    {"chain.block", rp_m_chain_block,
     (const char *const[]){"height", "hash", "records_offset", "records_limit", NULL}},
    {"record.submit", m_record_submit, (const char *const[]){"record", "wait", "timeout_ms", NULL}},
    {"record.get", m_record_get, (const char *const[]){"id", NULL}},
    {"identity.get", m_identity_get, (const char *const[]){"identity", NULL}},
    {"score.get", rp_m_score_get, (const char *const[]){"identity", "epoch", "proof", NULL}},
    {"score.top", rp_m_score_top,
     (const char *const[]){"role", "order", "epochs", "min_reviews", "min_confidence", "platform",
                           "min_authentic_ppm", "limit", "offset", NULL}},
    {"score.history", rp_m_score_history, (const char *const[]){"identity", NULL}},
    {"reviews.list", m_reviews_list,
     (const char *const[]){"subject", "issuer", "limit", "after", NULL}},
    {"mempool.info", m_mempool_info, (const char *const[]){NULL}},
    {"node.metrics", m_node_metrics, (const char *const[]){NULL}},
    {"peers.list", rp_m_peers_list, (const char *const[]){NULL}},
    {"peers.add", rp_m_peers_add, (const char *const[]){"endpoint", "persistent", NULL}},
    {"peers.disconnect", rp_m_peers_disconnect, (const char *const[]){"peer", NULL}},
    {"peers.ban", rp_m_peers_ban, (const char *const[]){"who", "seconds", NULL}},
    {"peers.unban", rp_m_peers_unban, (const char *const[]){"who", NULL}},
    {"evidence.list", m_evidence_list, (const char *const[]){NULL}},
    {"blocks.subscribe", rp_m_blocks_subscribe, (const char *const[]){NULL}},
    {"blocks.unsubscribe", rp_m_blocks_unsubscribe, (const char *const[]){"subscription", NULL}},
    {"epochs.subscribe", rp_m_epochs_subscribe, (const char *const[]){NULL}},
    {"epochs.unsubscribe", rp_m_epochs_unsubscribe, (const char *const[]){"subscription", NULL}},
    {"records.subscribe", rp_m_records_subscribe, (const char *const[]){"identity", NULL}},
    {"records.unsubscribe", rp_m_records_unsubscribe,
     (const char *const[]){"subscription", NULL}},
    {"audience.get", m_audience_get, (const char *const[]){"identity", "platform", "epoch", NULL}},
};

#define NMETHODS (sizeof methods / sizeof methods[0])

const int rp_node_method_count = (int)NMETHODS;
const char *const rp_node_method_names[] = {
    "node.info", "chain.head", "chain.block",  "record.submit", "record.get",   "identity.get",
    "score.get", "score.top",  "score.history", "reviews.list", "mempool.info",  "node.metrics",
    "peers.list", "peers.add", "peers.disconnect", "peers.ban", "peers.unban",
    "evidence.list", "blocks.subscribe", "blocks.unsubscribe", "epochs.subscribe",
    "epochs.unsubscribe", "records.subscribe", "records.unsubscribe",
    "audience.get",
};
/* The names are the table's, in its order: the dispatcher indexes one by the other. */
_Static_assert(sizeof rp_node_method_names / sizeof rp_node_method_names[0] == NMETHODS,
               "rp_node_method_names and methods[] differ");

void rp_node_dispatch(void *ctx, rp_rpc_call *call, int method, json_t *params)
{
    const struct method *m = &methods[method];
    if (rp_params_check(call, params, m->params) == 0)
        m->fn(ctx, call, params);
}
