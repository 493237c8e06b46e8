/* Finalizing alone: the commit of a validator whose voting power alone is
 * more than two thirds of the total (the single-validator dev chain, and
 * the tools that write chains: `reputed init --dev`, repute-gen, tests).
 *
 * The ledger holds no key (ledger/exec.h): it builds and checks blocks and
 * commits a block with a commit made elsewhere. This is that elsewhere for
 * a chain with one deciding validator: it signs the precommit vote for a
 * block and wraps it into a commit of one signature. A multi-validator
 * chain gets its commits from the consensus engine instead.
 *
 * Secrets: the key is borrowed and never copied; the caller wipes it.
 */
#ifndef RP_SOLO_H
#define RP_SOLO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/store.h"

/* The validator index of key, if its power alone is a quorum.
 * Returns: 0; RP_ERR_BAD_KEY for an invalid key; RP_ERR_COMMIT if the key is
 *          not a validator of g holding more than 2/3 of the power alone.
 * Out:     index. */
int rp_solo_index(const rp_genesis *g, const rp_seckey *key, uint16_t *index)
    __attribute__((warn_unused_result));

/* Sign the precommit for a block header at round 0 and encode the commit.
 * Returns: 0; RP_ERR_SIGN; the errors of rp_commit_encode.
 * Out:     out[0..*len) (RP_COMMIT_MAX_SIZE is enough).
 * In:      chain_id; h: the block's header; key and its index; aux: 32
 *          bytes of fresh signing randomness. */
int rp_solo_commit(const rp_hash *chain_id, const rp_header *h, const rp_seckey *key,
                   uint16_t index, const unsigned char aux[static 32],
                   unsigned char out[static RP_COMMIT_MAX_SIZE], size_t *len)
    __attribute__((warn_unused_result));

/* Make the next block from records that must all go in, for tools and
 * tests: build (rp_exec_build), sign, commit (rp_exec_commit with the built
 * result, so the rules run once).
 * Returns: 0; the first candidate's rule error if any record was left out
 *          or did not fit the limits (err names it: err.index); the errors
 *          of rp_solo_index, rp_exec_build and rp_exec_commit.
 * Out:     hash: if not NULL, the new block's header hash.
 * In:      records[0..n); time_ms (after the tip's); key; aux: 32 bytes of
 *          signing randomness; verify, vctx: as rp_exec_build. */
int rp_solo_produce(rp_store *s, const rp_block_item *records, size_t n, uint64_t time_ms,
                    const rp_seckey *key, const unsigned char aux[static 32],
                    rp_verify_batch_fn verify, void *vctx, rp_hash *hash, rp_store_error *err);

#endif /* RP_SOLO_H */
