/* Internal to ledger/: the state a block is applied to.
 *
 * An rp_apply is one block being applied inside one LMDB write transaction.
 * Reads see the writes of earlier records of the same block (LMDB write
 * transactions read their own writes), so a record may depend on one before
 * it. Every write to a state table is also logged, so that the block's state
 * hash can be computed over its changes in key order; signatures are queued
 * and verified as one batch before the transaction commits.
 *
 * rules.c decides what a record may do; store.c owns the transaction.
 */
#ifndef RP_LEDGER_STATE_H
#define RP_LEDGER_STATE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "ledger/store.h"

struct rp_change {
    uint8_t db;
    uint8_t klen;
    unsigned char key[64];
    uint32_t vlen; /* UINT32_MAX: deleted */
    size_t voff;   /* into rp_apply.vals */
    size_t seq;    /* order of the write, so the last one wins */
};

struct rp_pending_sig {
    rp_hash msg;
    rp_pubkey key;
    rp_sig sig;
    size_t record; /* index in the block */
};

typedef struct rp_apply {
    rp_store *store;
    MDB_txn *txn;
    const rp_genesis *g;
    const rp_hash *chain_id;
    uint64_t height;
    uint64_t time_s; /* block time, seconds */

    struct rp_change *changes;
    size_t nchanges, capchanges;
    unsigned char *vals;
    size_t nvals, capvals;

    struct rp_pending_sig *sigs;
    size_t nsigs, capsigs;

    size_t record; /* index of the record being applied */

    /* Pending mode (ledger/pending.h): writes stay in the change log and
     * never reach txn, a read-only transaction. ov indexes the changes of
     * the records accepted so far; changes from ov_from on belong to the
     * record being checked. NULL for a real block. */
    struct rp_overlay *ov;
    size_t ov_from;
} rp_apply;

/* Table access inside the apply transaction. Keys are at most 64 bytes.
 * st_get returns 0 (val valid until the next write), RP_ERR_NOT_FOUND, or an
 * error; st_put and st_del log the change. */
int rp_st_get(rp_apply *a, int db, const void *key, size_t klen, MDB_val *val);
int rp_st_put(rp_apply *a, int db, const void *key, size_t klen, const void *val, size_t vlen);
int rp_st_del(rp_apply *a, int db, const void *key, size_t klen);

/* Call fn for every entry of a table in key order (inside the apply
 * transaction, so earlier writes of the block are seen). fn returns 0 to go
 * on or an error to stop, which rp_st_walk returns. Returns 0 or an error. */
int rp_st_walk(rp_apply *a, int db, int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val),
               void *ctx);

/* The same over the entries whose key starts with prefix[0..plen). */
int rp_st_walk_prefix(rp_apply *a, int db, const void *prefix, size_t plen,
                      int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val), void *ctx);

/* Queue a signature check for the batch. Returns 0 or RP_ERR_NOMEM. */
int rp_st_queue_sig(rp_apply *a, const rp_hash *msg, const rp_pubkey *key, const rp_sig *sig);

/* A review's state (the reviews table; layout in ledger/schema.h). */
struct rp_review_state {
    rp_pubkey issuer, subject;
    rp_hash engagement;
    uint8_t overall;
    uint8_t dims[RP_REVIEW_DIMS];
    uint64_t time, height;
    uint8_t live;
};
#define RP_REVIEW_STATE_SIZE (32 + 32 + 32 + 1 + RP_REVIEW_DIMS + 8 + 8 + 1)

/* Returns: 0, or RP_ERR_CORRUPT if v is not a review state. */
int rp_review_state_decode(struct rp_review_state *rv, const MDB_val *v);

/* Identity state codec (layout in ledger/schema.h). */
int rp_identity_state_encode(const rp_identity_state *st, unsigned char *out, size_t cap,
                             size_t *len);
int rp_identity_state_decode(rp_identity_state *st, const unsigned char *in, size_t len);
#define RP_IDENTITY_STATE_MAX 256

/* Apply one decoded record (rules.c): check it against the state and the
 * block, queue its signatures, write its changes.
 * Returns: 0 or the rule's error code; msg gets a sentence for operators. */
int rp_rules_apply(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg, size_t msglen);

/* The score epoch due at this block, if any (epoch.c): at height
 * h = b + score_delay_blocks with b a positive multiple of epoch_blocks,
 * snapshot the trust graph as it stood at height b, run the trust engine,
 * write the score table of epoch b / epoch_blocks (dropping the epoch that
 * falls out of the history) and set tip->epoch and tip->score_root, which
 * this block's header must then carry. Blocks at other heights change
 * nothing. Returns: 0 or an error (msg says what). */
int rp_epoch_advance(rp_apply *a, rp_tip *tip, char *msg, size_t msglen);

/* Snapshot the graph at b = epoch * epoch_blocks and run the engine (epoch.c),
 * reading through a's transaction (read-only is enough).
 * Returns: 0 or an error (msg says what). Out: *out (rp_epoch_result_free). */
int rp_epoch_compute(rp_apply *a, uint64_t epoch, rp_epoch_result **out, char *msg,
                     size_t msglen);

/* The result offered for an epoch, if any (store.c): borrowed, valid until
 * the next offer or rp_store_close. */
const rp_epoch_result *rp_store_offered(rp_store *s, uint64_t epoch);

#endif /* RP_LEDGER_STATE_H */
