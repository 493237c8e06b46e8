/* Subscriptions (docs/rpc.md, "Subscriptions"): the methods that open and
 * end them, and what the node publishes when a block is committed.
 *
 * The RPC server (node/rpc.h) keeps the subscriptions, their bounds and
 * their connections; this file only names the topics and builds the
 * notifications. Every committed block, whichever path committed it (this
 * node's producer, a consensus decision, a block synced from a peer),
 * passes through rp_network_block_committed, which calls
 * rp_subs_block_committed: that is the one place notifications start. For
 * each block, in this order: "block", then one "record" per record
 * concerning a subscribed identity (in block order), then "epoch" when the
 * block commits a score epoch.
 *
 * Only included records are published, never pending ones: a pending
 * record may still be dropped, and record.submit with wait already tells
 * its submitter when it is in. The store is read on the loop (a header;
 * the block itself only while someone subscribes to records), as record.get
 * does.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "node/log.h"
#include "node/node.h"
#include "node/rpc_params.h"

enum { TOPIC_BLOCKS, TOPIC_EPOCHS, TOPIC_RECORDS };

/* ---- methods -------------------------------------------------------------------- */

static void subscribe(struct node *n, rp_rpc_call *call, int topic, const unsigned char *key)
{
    uint64_t id;
    int rc = n->stopping ? RP_ERR_SHUTDOWN : rp_rpc_subscribe(call, topic, key, &id);
    if (rc == RP_ERR_TOO_MANY)
        rp_rpc_error(call, RP_RPC_TOO_MANY_SUBSCRIPTIONS,
                     "too many subscriptions on this connection",
                     json_pack("{s:i}", "max", RP_RPC_MAX_SUBS));
    else if (rc == RP_ERR_SHUTDOWN)
        rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
    else if (rc)
        rp_rpc_store_error(call, rc);
    else
        rp_rpc_reply(call, json_integer((json_int_t)id));
}

static void unsubscribe(rp_rpc_call *call, json_t *params, int topic)
{
    uint64_t id;
    int r = rp_param_u64(call, params, "subscription", &id);
    if (r < 0)
        return;
    if (r == 0) {
        rp_param_bad(call, "subscription", "is required: the id the subscribe call returned");
        return;
    }
    rp_rpc_reply(call, json_boolean(rp_rpc_unsubscribe(call, topic, id)));
}

void rp_m_blocks_subscribe(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    subscribe(n, call, TOPIC_BLOCKS, NULL);
}

void rp_m_blocks_unsubscribe(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)n;
    unsubscribe(call, params, TOPIC_BLOCKS);
}

void rp_m_epochs_subscribe(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    subscribe(n, call, TOPIC_EPOCHS, NULL);
}

void rp_m_epochs_unsubscribe(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)n;
    unsubscribe(call, params, TOPIC_EPOCHS);
}

void rp_m_records_subscribe(struct node *n, rp_rpc_call *call, json_t *params)
{
    unsigned char who[32];
    if (rp_param_require_hex32(call, params, "identity", who))
        return;
    subscribe(n, call, TOPIC_RECORDS, who);
}

void rp_m_records_unsubscribe(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)n;
    unsubscribe(call, params, TOPIC_RECORDS);
}

/* ---- publishing ----------------------------------------------------------------- */

/* The identities a record concerns: its issuer, and the other party it
 * names (an engagement's counterparty, a review's or a vouch's subject).
 * Returns how many of keys[0..3) are filled (0 if it does not decode). */
static size_t record_keys(const unsigned char *bytes, size_t len, unsigned char keys[3][32])
{
    rp_record r;
    const char *field;
    if (rp_record_decode(&r, bytes, len, &field) != 0)
        return 0;
    size_t k = 0;
    memcpy(keys[k++], r.issuer.bytes, 32);
    const rp_pubkey *other = NULL;
    if (r.type == RP_REC_ENGAGEMENT)
        other = &r.body.engagement.counterparty;
    else if (r.type == RP_REC_REVIEW)
        other = &r.body.review.subject;
    else if (r.type == RP_REC_VOUCH)
        other = &r.body.vouch.subject;
    if (other && memcmp(other->bytes, r.issuer.bytes, 32) != 0)
        memcpy(keys[k++], other->bytes, 32);
    return k;
}

static void publish_records(struct node *n, uint64_t height)
{
    unsigned char *block = NULL;
    size_t blen = 0;
    rp_header h;
    rp_block_item *items = NULL;
    if (rp_store_read_block(n->st, height, &block, &blen) != 0)
        return;
    if (blen < RP_HEADER_SIZE || rp_header_decode(&h, block, RP_HEADER_SIZE) != 0)
        goto out;
    size_t cnt = h.record_count <= RP_BLOCK_MAX_RECORDS ? h.record_count : RP_BLOCK_MAX_RECORDS;
    if (cnt == 0 || !(items = malloc(cnt * sizeof *items)) ||
        rp_block_decode(&h, items, cnt, block, blen) != 0)
        goto out;
    for (size_t i = 0; i < cnt; i++) {
        unsigned char keys[3][32];
        size_t nk = record_keys(items[i].bytes, items[i].len, keys);
        if (!nk || !rp_rpc_wanted(n->rpc, TOPIC_RECORDS, (const unsigned char(*)[32])keys, nk))
            continue;
        json_t *o = rp_export_record_obj(i, rp_store_chain_id(n->st), items[i].bytes, items[i].len);
        if (!o)
            continue;
        json_object_set_new(o, "status", json_string("included"));
        json_object_set_new(o, "height", rp_json_u64(height));
        rp_rpc_publish(n->rpc, TOPIC_RECORDS, (const unsigned char(*)[32])keys, nk, "record", o);
        json_decref(o);
    }
out:
    free(items);
    free(block);
}

void rp_subs_block_committed(struct node *n, uint64_t height, const rp_hash *hash)
{
    if (!n->rpc)
        return;
    int blocks = rp_rpc_subscribers(n->rpc, TOPIC_BLOCKS) > 0;
    int epochs = rp_rpc_subscribers(n->rpc, TOPIC_EPOCHS) > 0;
    int records = rp_rpc_subscribers(n->rpc, TOPIC_RECORDS) > 0;
    if (!blocks && !epochs && !records)
        return;
    rp_header h;
    int rc = rp_store_read_header(n->st, height, &h);
    if (rc) {
        rp_log(RP_LOG_WARN, "subs_header_unreadable", "height=%llu code=%d",
               (unsigned long long)height, rc);
        return;
    }
    if (blocks) {
        json_t *o = json_pack("{s:o,s:o,s:o,s:i}", "height", rp_json_u64(height), "hash",
                              rp_json_hex(hash->bytes, 32), "time_ms", rp_json_u64(h.time_ms),
                              "records", (int)h.record_count);
        if (o)
            rp_rpc_publish(n->rpc, TOPIC_BLOCKS, NULL, 0, "block", o);
        json_decref(o);
    }
    if (records && h.record_count)
        publish_records(n, height);
    rp_epoch_info info;
    /* The header names the latest committed epoch: this block committed it
     * if that epoch's commit height is this block's. */
    if (epochs && h.epoch && rp_store_read_epoch(n->st, h.epoch, &info) == 0 &&
        info.commit_height == height) {
        json_t *o = json_pack(
            "{s:o,s:o,s:i,s:o,s:o}", "epoch", rp_json_u64(info.epoch), "score_root",
            rp_json_hex(info.root.bytes, 32), "identities", (int)info.identities, "snapshot_height",
            rp_json_u64(info.snapshot_height), "commit_height", rp_json_u64(info.commit_height));
        if (o)
            rp_rpc_publish(n->rpc, TOPIC_EPOCHS, NULL, 0, "epoch", o);
        json_decref(o);
    }
}
