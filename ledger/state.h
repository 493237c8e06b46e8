/* Internal to ledger/: the store's private parts, and the state a block (or a
 * mempool's pending records) is executed against.
 *
 * An rp_apply executes records against a base LMDB transaction without ever
 * writing to it: every write goes into an in-memory change log, which later
 * reads see first. The base is a read transaction for build, check and the
 * mempool's pending state, or the writer's transaction when a block is
 * committed without an earlier check (so a batch's later blocks see its
 * earlier ones). A record's changes become visible to the records after it
 * once it is accepted (rp_apply_accept); a record that breaks a rule is rolled
 * back (rp_apply_rollback) and leaves no trace. At the end the change log
 * gives the block's state hash (over its final values in key order) and is
 * what a commit writes (rp_apply_write), so a block's rules run once whether
 * it was built, checked or replayed.
 *
 * rules.c decides what a record may do, epoch.c what an epoch boundary
 * writes, exec.c drives blocks, pending.c the mempool's layer, state.c owns
 * the change log.
 */
#ifndef RP_LEDGER_STATE_H
#define RP_LEDGER_STATE_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/epoch.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/store.h"

/* ---- the store's private parts (store.c) ------------------------------------ */

struct rp_store {
    MDB_env *env;
    MDB_dbi dbi[RP_DB_COUNT];
    int lock_fd;
    int read_only, scratch;
    rp_genesis *genesis; /* heap: the struct is large */
    rp_hash chain_id;
    rp_hash validators_hash;
    pthread_mutex_t offer_mu;
    rp_epoch_result *offer; /* a precomputed epoch, see rp_store_epoch_offer */
    MDB_txn *batch;         /* the open write batch, or NULL */
    uint64_t batch_blocks;
};

/* LMDB's codes enter the project here: MDB_NOTFOUND is RP_ERR_NOT_FOUND,
 * MDB_MAP_FULL RP_ERR_MAP_FULL, a system error -errno, the rest
 * RP_ERR_STORE. */
int rp_from_mdb(int rc);

/* An MDB_val over borrowed bytes (LMDB never writes through a key). */
MDB_val rp_mv(const void *p, size_t n);

/* The tip as a transaction sees it. Returns: 0, RP_ERR_CORRUPT, RP_ERR_STORE. */
int rp_read_tip(rp_store *s, MDB_txn *txn, rp_tip *t);

/* Begin a read transaction. Returns: 0 or an error of rp_from_mdb. */
int rp_read_begin(rp_store *s, MDB_txn **txn);

/* Copy one entry out of its own read transaction. Returns: 0,
 * RP_ERR_NOT_FOUND, RP_ERR_NOMEM or a store error. Out: *out (malloc'd). */
int rp_read_copy(rp_store *s, int db, const void *key, size_t klen, unsigned char **out,
                 size_t *len);

/* The epoch result offered for an epoch, if any, with a reference the caller
 * drops with rp_epoch_result_free (so a new offer cannot free it under a
 * check on another thread). NULL if none. */
rp_epoch_result *rp_store_offered(rp_store *s, uint64_t epoch);

/* ---- the change log ---------------------------------------------------------- */

struct rp_change {
    uint8_t db;
    uint8_t klen;
    unsigned char key[RP_MAX_KEY_SIZE];
    uint32_t vlen; /* UINT32_MAX: deleted */
    size_t voff;   /* into rp_apply.vals */
    size_t seq;    /* order of the write, so the last one wins */
};

struct rp_queued_sig {
    rp_hash msg;
    rp_pubkey key;
    rp_sig sig;
    size_t record; /* index in the block */
};

/* An index from (table, key) to the newest accepted change of that key. */
struct rp_overlay {
    struct rp_ov_slot *slot;
    size_t cap, used; /* used counts tombstones too */
};

typedef struct rp_apply {
    rp_store *store;
    MDB_txn *txn; /* the base; never written through */
    const rp_genesis *g;
    const rp_hash *chain_id;
    uint64_t height; /* of the block being executed */
    uint64_t time_s; /* block time, seconds */

    struct rp_change *changes;
    size_t nchanges, capchanges;
    unsigned char *vals;
    size_t nvals, capvals;

    struct rp_queued_sig *sigs;
    size_t nsigs, capsigs;

    size_t record; /* index of the record being executed */

    struct rp_overlay ov; /* changes [0, ov_from) are accepted and indexed */
    size_t ov_from;
    int sorted; /* the log was sorted for the state hash: no more reads */
} rp_apply;

/* Start executing on base transaction txn. Cannot fail. */
void rp_apply_init(rp_apply *a, rp_store *s, MDB_txn *txn);
/* Free the log and the index (not the transaction). */
void rp_apply_free(rp_apply *a);

/* Table access. Keys are at most RP_MAX_KEY_SIZE bytes.
 * rp_st_get returns 0 (val valid until the next write), RP_ERR_NOT_FOUND, or
 * an error; rp_st_put and rp_st_del log the change (deleting a key that does
 * not exist is RP_ERR_NOT_FOUND, as in LMDB). */
int rp_st_get(rp_apply *a, int db, const void *key, size_t klen, MDB_val *val);
int rp_st_put(rp_apply *a, int db, const void *key, size_t klen, const void *val, size_t vlen);
int rp_st_del(rp_apply *a, int db, const void *key, size_t klen);

/* Call fn for every entry of the base transaction's table whose key starts
 * with prefix[0..plen) (plen 0: every entry), in key order. Only while the
 * log is empty (an epoch is computed before a block's first write), since
 * the walk does not see logged changes: RP_ERR_INVALID_ARG otherwise. fn
 * returns 0 to go on or an error to stop, which is returned. */
int rp_st_walk_prefix(rp_apply *a, int db, const void *prefix, size_t plen,
                      int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val), void *ctx);
int rp_st_walk(rp_apply *a, int db, int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val),
               void *ctx);

/* Queue a signature check for the batch. Returns 0 or RP_ERR_NOMEM. */
int rp_st_queue_sig(rp_apply *a, const rp_hash *msg, const rp_pubkey *key, const rp_sig *sig);

/* A position in the log, to roll back to. */
typedef struct rp_apply_mark {
    size_t nchanges, nvals, nsigs;
} rp_apply_mark;

rp_apply_mark rp_apply_mark_get(const rp_apply *a);
/* Drop every change and queued signature since mark (a failed record). */
void rp_apply_rollback(rp_apply *a, rp_apply_mark mark);
/* Make the changes since the last accept visible to later reads through
 * the index. Returns: 0, or RP_ERR_NOMEM (nothing was accepted: roll back). */
int rp_apply_accept(rp_apply *a);
/* The changes [from, to) belong to records that reached the chain: keys
 * whose newest change is among them read from the base again. */
void rp_apply_forget(rp_apply *a, size_t from, size_t to);

/* Sort the log and compute TH(RP_TAG_STATE, prev || TH(RP_TAG_CHANGES, the
 * final value of every key written, in (table, key) order)). After this the
 * log is sorted: no more reads or writes, only rp_apply_write. */
void rp_apply_state_hash(rp_apply *a, const rp_hash *prev, rp_hash *out);

/* Write the final value of every key (after rp_apply_state_hash) into a
 * write transaction. Returns: 0 or an error of rp_from_mdb. */
int rp_apply_write(const rp_apply *a, MDB_txn *txn);

/* Apply one decoded record (rules.c): check it against the state and the
 * block, queue its signatures, log its changes.
 * Returns: 0 or the rule's error code; msg gets a sentence for operators. */
int rp_rules_apply(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg, size_t msglen);

/* The score epoch due at this block, if any (epoch.c): at height
 * h = b + score_delay_blocks with b a positive multiple of epoch_blocks,
 * snapshot the trust graph as it stood at height b (or take the offered
 * result), run the trust engine, write the score table of epoch
 * b / epoch_blocks (dropping the epoch that falls out of the history) and
 * set tip->epoch and tip->score_root, which this block's header must then
 * carry. Blocks at other heights change nothing. Must run before the block's
 * first record. Returns: 0 or an error (msg says what). */
int rp_epoch_advance(rp_apply *a, rp_tip *tip, char *msg, size_t msglen);

/* Snapshot the graph at b = epoch * epoch_blocks and run the engine (epoch.c),
 * reading through a's base transaction (the log must be empty).
 * Returns: 0 or an error (msg says what). Out: *out (rp_epoch_result_free). */
int rp_epoch_compute(rp_apply *a, uint64_t epoch, rp_epoch_result **out, char *msg, size_t msglen);

#endif /* RP_LEDGER_STATE_H */
