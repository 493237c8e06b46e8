/* Consensus values: proposals and votes as the engine sees them, and the
 * bytes their signatures cover.
 *
 * A vote is a validator's signed statement at (height, round, type) for a
 * block hash, or for nothing (nil: the all-zero hash). Its signature is a
 * BIP-340 signature by the validator's key over rp_vote_message
 * (ledger/block.h), so a block's commit is exactly a set of precommit votes.
 *
 * A proposal is the round's proposer's signed offer of a block hash, with
 * the round in which that block was last seen locked by 2f+1 prevotes
 * (pol_round, the paper's validRound; -1 for none). Its signature covers
 *   TH("repute/proposal/v1", chain_id 32 | height u64 | round u32 |
 *                            pol_round u32 (0xffffffff for -1) | block_hash 32)
 *
 * The engine (consensus/engine.h) trusts what it is given: whoever feeds it
 * checks the signature first (rp_cs_vote_verify, rp_cs_proposal_verify).
 * Everything here is pure: no I/O, no clock, no randomness.
 */
#ifndef RP_CS_TYPES_H
#define RP_CS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"

#define RP_CS_MAX_VALIDATORS 128 /* = RP_MAX_VALIDATORS */
#define RP_CS_TAG_PROPOSAL "repute/proposal/v1"

/* The steps of a round, in signing order: a validator signs at most one
 * message per (height, round, step). */
enum rp_cs_step { RP_CS_PROPOSE = 0, RP_CS_PREVOTE = 1, RP_CS_PRECOMMIT = 2 };

typedef struct rp_cs_vote {
    uint8_t type; /* RP_VOTE_PREVOTE or RP_VOTE_PRECOMMIT (ledger/block.h) */
    uint64_t height;
    uint32_t round;
    rp_hash block_hash; /* all zero: nil */
    uint16_t validator; /* index into the validator set */
    rp_sig sig;
} rp_cs_vote;

typedef struct rp_cs_proposal {
    uint64_t height;
    uint32_t round;
    int32_t pol_round; /* -1, or 0..round-1 */
    rp_hash block_hash;
    uint16_t proposer; /* index into the validator set */
    rp_sig sig;
} rp_cs_proposal;

/* Two votes of one validator at one (height, round, type) for different
 * hashes: proof that it signed twice. a and b are ordered so that
 * a.block_hash < b.block_hash (memcmp), one encoding per pair. */
typedef struct rp_cs_evidence {
    rp_cs_vote a, b;
} rp_cs_evidence;

/* 1 if h is the nil hash. */
int rp_cs_is_nil(const rp_hash *h);

/* The 32 bytes a proposal's signature covers. */
void rp_cs_proposal_message(rp_hash *out, const rp_hash *chain_id, const rp_cs_proposal *p);

/* Signature checks against a validator's key.
 * Returns: 0, or RP_ERR_BAD_SIGNATURE. */
int rp_cs_vote_verify(const rp_cs_vote *v, const rp_hash *chain_id, const rp_pubkey *key);
int rp_cs_proposal_verify(const rp_cs_proposal *p, const rp_hash *chain_id, const rp_pubkey *key);

/* Check evidence: same validator, height, round and type, different
 * hashes in canonical order, both signatures valid under keys[validator].
 * Returns: 0; RP_ERR_RANGE (validator index >= n, a type that is not a
 *          vote); RP_ERR_NONCANONICAL (not ordered, or not conflicting);
 *          RP_ERR_BAD_SIGNATURE. */
int rp_cs_evidence_verify(const rp_cs_evidence *e, const rp_hash *chain_id,
                          const rp_pubkey *keys, size_t n);

/* Order two conflicting votes into evidence (a < b by block hash). */
void rp_cs_evidence_make(rp_cs_evidence *e, const rp_cs_vote *x, const rp_cs_vote *y);

#endif /* RP_CS_TYPES_H */
