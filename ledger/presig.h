/* A block's signatures verified ahead of its execution.
 *
 * Executing a block (ledger/exec.h) verifies its records' signatures with
 * the keys the ledger state names, and that state is only known once the
 * blocks before it are applied, so execution is serial. The signatures
 * themselves are not: almost always the key a record names is the key the
 * state names. So whoever holds blocks ahead of their turn (the replay
 * pipeline, block sync) lists each block's signatures with the keys the
 * records themselves name (rp_presig_list), verifies them on as many cores
 * as it likes (rp_presig_verify), and hands execution a verifier that
 * answers from that list (rp_presig_cached_verify): an item equal to a
 * listed (message, key, signature) in the same position takes the listed
 * answer; any other (a record of an identity that rotated its key) is
 * verified then. A cached answer is the verifier's own answer for exactly
 * those bytes, so the cache changes how fast a block is checked, never what
 * is accepted.
 *
 * Pure memory: a list may be built on one thread, verified on another and
 * read by a third, one after the other.
 */
#ifndef RP_PRESIG_H
#define RP_PRESIG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/store.h"

typedef struct rp_presig_ent {
    rp_hash msg;
    rp_pubkey key;
    rp_sig sig;
} rp_presig_ent;

typedef struct rp_presig {
    rp_presig_ent *sigs; /* in the order the rules ask for them */
    unsigned char *ok;   /* the answers, once verified */
    size_t n;
    int verified;
} rp_presig;

/* List a block's signatures. Anything that does not decode is left for
 * execution to report: the list then simply holds fewer entries (none, if
 * out of memory). ps must be zeroed or freed first.
 * In: chain_id; block[0..blen); items: scratch room for max_records items
 *     (the genesis limit: a bigger block lists nothing). */
void rp_presig_list(rp_presig *ps, const rp_hash *chain_id, const unsigned char *block,
                    size_t blen, rp_block_item *items, size_t max_records);

/* Verify the listed signatures with verify(vctx) (NULL: rp_verify_range on
 * this thread). Until this has run the cache answers nothing. */
void rp_presig_verify(rp_presig *ps, rp_verify_batch_fn verify, void *vctx);

/* Free the list (ps is left zeroed). */
void rp_presig_free(rp_presig *ps);

/* The verifier to hand execution: ctx is an rp_presig_cache. */
typedef struct rp_presig_cache {
    const rp_presig *ps;       /* may be NULL: everything is verified */
    rp_verify_batch_fn verify; /* for the misses (NULL: rp_verify_range) */
    void *vctx;
    uint64_t checked;          /* items asked for, all calls together */
} rp_presig_cache;

/* An rp_verify_batch_fn. Returns: how many items failed. */
size_t rp_presig_cached_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok);

#endif /* RP_PRESIG_H */
