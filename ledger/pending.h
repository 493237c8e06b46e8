/* Pending state: the chain tip plus the records admitted to a mempool, for
 * checking a new record before it goes into a block.
 *
 * An rp_pending holds one LMDB read transaction on the tip and an in-memory
 * layer of the state changes of every record added so far. rp_pending_add
 * runs the same rules as a block (ledger/rules.c, docs/rules.md) against
 * that layered state, so a REVIEW whose ENGAGEMENT was added earlier, or an
 * issuer's next record after a pending one, is judged exactly as it will be
 * in a block. A record that breaks a rule leaves no trace. Nothing is ever
 * written to the store.
 *
 * Signatures are not verified here: rp_pending_add returns the checks the
 * rules ask for (which key must have signed what, after any pending
 * rotation), for the caller to verify in batches on its worker pool.
 *
 * Lifetime: the read transaction pins the tip it was opened on. After a
 * block is applied, free the pending state and build a new one (re-adding
 * the records still waiting): that is also the "checked again at block
 * time" of the mempool. Not thread-safe; one thread uses an rp_pending.
 * The caller must not keep it open across its own rp_store_* write calls
 * on the same thread (free it first).
 */
#ifndef RP_PENDING_H
#define RP_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/record.h"
#include "ledger/store.h"

typedef struct rp_pending rp_pending;

/* A signature a record's rules require: sig over msg (32 bytes) by key. */
typedef struct rp_sig_item {
    rp_hash msg;
    rp_pubkey key;
    rp_sig sig;
} rp_sig_item;

/* Open pending state on the store's current tip.
 * Returns: 0; RP_ERR_NOMEM; RP_ERR_STORE. Out: *out (rp_pending_free). */
int rp_pending_new(rp_store *s, rp_pending **out);
void rp_pending_free(rp_pending *p);

/* The tip height the pending state is built on. */
uint64_t rp_pending_height(const rp_pending *p);

/* Check one encoded record against the tip plus the records added so far,
 * as if it were included in the next block at time time_s, and keep its
 * effects if it passes.
 * Returns: 0; the decode error (field says which field) or the rule's
 *          error code (msg says why, for the submitter); RP_ERR_NOMEM;
 *          RP_ERR_STORE.
 * Out:     id: the record id (also set on rule errors, if it decoded);
 *          sigs[0..*nsigs): the signatures to verify (at most
 *          RP_RECORD_MAX_SIGS); msg: a sentence on failure ("" otherwise). */
int rp_pending_add(rp_pending *p, const unsigned char *rec, size_t len, uint64_t time_s,
                   rp_hash *id, rp_sig_item sigs[static RP_RECORD_MAX_SIGS], size_t *nsigs,
                   char *msg, size_t msglen);

/* An identity as the chain has it, ignoring the pending layer (through the
 * pending state's read transaction). Same returns as below. */
int rp_pending_chain_identity(rp_pending *p, const rp_pubkey *name, rp_identity_state *out);

/* An identity as the pending state sees it (its sequence counts the added
 * records). Returns: 0, RP_ERR_NOT_FOUND, RP_ERR_CORRUPT or RP_ERR_STORE. */
int rp_pending_identity(rp_pending *p, const rp_pubkey *name, rp_identity_state *out);

/* The block just applied holds the k oldest records added (and nothing
 * else the pending state knows of): move to the new tip without checking
 * the others again. Their changes stay layered on top; those of the k
 * records are dropped so reads see the chain's own values. The caller
 * vouches for the premise (the mempool checks each of the k is on chain);
 * the next block's rules check everything again anyway. Changes of
 * advanced records keep their memory until the pending state is rebuilt:
 * rp_pending_dead says how many.
 * Returns: 0; RP_ERR_INVALID_ARG if fewer than k records are pending;
 *          RP_ERR_STORE (the pending state is then unusable: free it). */
int rp_pending_advance(rp_pending *p, size_t k);
size_t rp_pending_dead(const rp_pending *p);

/* Where a record is on chain, read through the pending state's own read
 * transaction (no new one per call) and ignoring the pending layer.
 * Returns: 0; RP_ERR_NOT_FOUND; RP_ERR_CORRUPT; RP_ERR_STORE. */
int rp_pending_find_record(rp_pending *p, const rp_hash *id, uint64_t *height, uint32_t *index);

#endif /* RP_PENDING_H */
