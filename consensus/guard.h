/* The double-sign guard's decision and its file format, pure: no I/O.
 *
 * A validator must never sign two different messages at one (height,
 * round, step), and never go back to an earlier one: that is how BFT
 * safety is lost (and how validators are slashed elsewhere). The guard
 * remembers the last thing this validator signed -- its position
 * (height, round, step), the 32-byte message and the signature -- and
 * answers, for each new message, one of:
 *
 *   RP_CS_GUARD_SIGN    strictly later position: sign, persist the new state
 *                       durably, and only then let the signature out;
 *   RP_CS_GUARD_REUSE   the same position and the same message (a restart,
 *                       a retransmission): hand out the stored signature,
 *                       never a new one;
 *   RP_CS_GUARD_REFUSE  an earlier position, or the same position with other
 *                       bytes.
 *
 * Positions are ordered by height, then round, then step (enum rp_cs_step:
 * PROPOSE < PREVOTE < PRECOMMIT), the order in which Tendermint signs.
 *
 * node/signer.h keeps the state in DATADIR/consensus/guard; the bytes are
 * below and in docs/consensus.md ("Double-sign guard"):
 *
 *   magic     12  "repute-guard"
 *   version    1  1
 *   chain_id  32  the chain the state belongs to
 *   key       32  the validator's x-only public key
 *   signed     1  0: nothing signed yet (the fields up to checksum are
 *                 then all zero), 1: the fields below hold the last one
 *   height     8  u64, big-endian
 *   round      4  u32
 *   step       1  0 PROPOSE, 1 PREVOTE, 2 PRECOMMIT
 *   message   32  the signed 32 bytes (rp_cs_proposal_message, rp_vote_message)
 *   sig       64  the BIP-340 signature given out
 *   checksum  32  SHA-256 of all the bytes before it
 *   = RP_CS_GUARD_SIZE (219) bytes, exactly.
 *
 * The checksum catches a torn or rotted file; the file is replaced whole
 * (temporary file, fsync, rename, fsync of the folder), so a torn write
 * should never be seen, and a file that fails any check is an error for the
 * operator, never a reason to start over.
 *
 * Pointers are never NULL. Everything here needs rp_crypto_init().
 */
#ifndef RP_CS_GUARD_H
#define RP_CS_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/errors.h"
#include "consensus/types.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"

#define RP_CS_GUARD_MAGIC "repute-guard" /* 12 bytes, no NUL in the file */
#define RP_CS_GUARD_MAGIC_LEN 12
#define RP_CS_GUARD_VERSION 1
#define RP_CS_GUARD_SIZE 219

typedef struct rp_cs_guard {
    rp_hash chain_id;
    rp_pubkey key;
    uint8_t has_signed; /* 0: empty, the fields below are zero */
    uint64_t height;
    uint32_t round;
    uint8_t step; /* enum rp_cs_step */
    rp_hash msg;
    rp_sig sig;
} rp_cs_guard;

enum rp_cs_guard_verdict {
    RP_CS_GUARD_SIGN = 1,
    RP_CS_GUARD_REUSE = 2,
    RP_CS_GUARD_REFUSE = 3,
};

/* An empty guard (nothing signed yet) for a chain and a validator key.
 * Out: g. */
void rp_cs_guard_init(rp_cs_guard *g, const rp_hash *chain_id, const rp_pubkey *key);

/* May this validator sign msg at (height, round, step)?
 * Returns: RP_CS_GUARD_SIGN, RP_CS_GUARD_REUSE (then g->sig is the
 *          signature to hand out) or RP_CS_GUARD_REFUSE; also REFUSE for a
 *          step that is not an enum rp_cs_step.
 * In:      g: the state; msg: the 32 bytes that would be signed. */
enum rp_cs_guard_verdict rp_cs_guard_decide(const rp_cs_guard *g, uint64_t height, uint32_t round,
                                            uint8_t step, const rp_hash *msg);

/* The state after signing msg at (height, round, step) with sig: what to
 * persist before the signature leaves. Only after RP_CS_GUARD_SIGN.
 * Out: g (updated in place). */
void rp_cs_guard_record(rp_cs_guard *g, uint64_t height, uint32_t round, uint8_t step,
                        const rp_hash *msg, const rp_sig *sig);

/* Encode the state as the file's RP_CS_GUARD_SIZE bytes.
 * Returns: 0, or RP_ERR_RANGE for a state that is not canonical (has_signed
 *          not 0 or 1, a step above PRECOMMIT, an empty state with nonzero
 *          fields); out is then zeroed. */
int rp_cs_guard_encode(const rp_cs_guard *g, unsigned char out[static RP_CS_GUARD_SIZE]);

/* Decode a guard file's bytes: exactly RP_CS_GUARD_SIZE of them.
 * Returns: 0; RP_ERR_TRUNCATED (shorter); RP_ERR_TRAILING (longer);
 *          RP_ERR_CS_MAGIC; RP_ERR_BAD_VERSION; RP_ERR_CS_CHECKSUM;
 *          RP_ERR_RANGE (signed flag not 0/1, step above PRECOMMIT);
 *          RP_ERR_NONCANONICAL (an empty state with nonzero fields).
 *          Checked in that order: magic, version, length, checksum,
 *          fields (so a shorter file of another kind is RP_ERR_CS_MAGIC).
 * Out:     g (zeroed on failure). */
int rp_cs_guard_decode(rp_cs_guard *g, const unsigned char *in, size_t len);

/* Did this validator's key sign a block's commit somewhere else? The commit
 * holds a precommit by validator self at (c->height, c->round); this guard
 * made it only if that is the position it last signed, with the same
 * message and the same signature. A signature at a later position than
 * the guard's last (or any, with an empty guard), or at the same position
 * with other bytes, was made by another copy of the key (or by this node
 * before its guard file was lost). An earlier position cannot be judged
 * (the guard keeps only the last) and is not reported.
 * The commit's signatures are not checked here: rp_commit_verify first.
 * Returns: 1 if such a signature is in c, 0 if not (also when self is not
 *          among c's signers).
 * In:      g: the state; c: a commit; self: this validator's index. */
int rp_cs_guard_signed_elsewhere(const rp_cs_guard *g, const rp_commit *c, uint16_t self);

#endif /* RP_CS_GUARD_H */
