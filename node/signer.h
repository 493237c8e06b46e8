/* The validator's signer: the only holder of the validator secret key in
 * the daemon, and the double-sign guard's persistence.
 *
 * Every proposal and vote this validator signs goes through here. For each
 * one the guard (consensus/guard.h) decides from the last signed position:
 * a strictly later one is signed, and the new state is written to
 * DATADIR/consensus/guard durably -- temporary file, fsync, rename over,
 * fsync of the folder -- BEFORE the signature is returned, so no signature
 * leaves that a restart could forget; the same position with the same
 * message gets the stored signature back (never a second one); anything
 * else is refused. A guard file that fails to decode, or belongs to
 * another chain or key, is an error naming the file: it is never reset
 * behind the operator's back, as an empty guard would let the validator
 * sign again what it signed before.
 *
 * The secret key is copied into sodium_malloc'd memory (guard pages,
 * locked where the system allows), wiped on close, never logged; this file
 * logs nothing at all: errors come back as codes and messages.
 *
 * Caveat: the guard protects one datadir. Two nodes running the same key
 * from two datadirs are two guards; rp_cs_guard_signed_elsewhere spots the
 * other's precommits in commits after the fact.
 *
 * Threading: a signer is a plain object, one thread at a time. Signing
 * blocks on an fsync (milliseconds): the daemon calls it off the loop or
 * accepts that. Call rp_crypto_init() first.
 */
#ifndef RP_SIGNER_H
#define RP_SIGNER_H

#include <stddef.h>

#include "consensus/guard.h"
#include "consensus/types.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define RP_SIGNER_DIR "consensus"    /* under the datadir, mode 0700 */
#define RP_SIGNER_FILE "guard"       /* in RP_SIGNER_DIR */

typedef struct rp_signer rp_signer;

/* Open the signer of a datadir: load DATADIR/consensus/guard, or, when
 * there is none, create the folder (0700) and an empty guard (0600)
 * durably.
 * Returns: 0; RP_ERR_BAD_KEY (sk is not a secret key); the guard's decode
 *          errors (RP_ERR_CS_CHECKSUM, RP_ERR_CS_MAGIC, RP_ERR_TRUNCATED,
 *          ...) for a corrupt file; RP_ERR_WRONG_CHAIN or
 *          RP_ERR_CS_OTHER_KEY for a guard of another chain or key;
 *          RP_ERR_NOMEM; -ENAMETOOLONG; -errno. err names the path and
 *          what to do, for an operator.
 * Out:     *out: the signer (NULL on failure); err[0..errlen).
 * In:      datadir: an existing folder; chain_id; sk: copied (the caller
 *          wipes its own copy). */
int rp_signer_open(rp_signer **out, const char *datadir, const rp_hash *chain_id,
                   const rp_seckey *sk, char *err, size_t errlen);

/* Sign a proposal: the message is rp_cs_proposal_message(chain_id, p), at
 * (p->height, p->round, PROPOSE).
 * Returns: 0 and p->sig (a new signature, durably recorded first; or the
 *          stored one for the same proposal signed before);
 *          RP_ERR_CS_REFUSED (the guard refused: an earlier position, or a
 *          different proposal at this one); RP_ERR_SIGN; -errno from
 *          writing the guard (nothing was given out, the state is
 *          unchanged: a retry may sign again). err says why.
 * Out:     p->sig (zeroed on failure). */
int rp_signer_sign_proposal(rp_signer *s, rp_cs_proposal *p, char *err, size_t errlen);

/* Sign a vote: the message is rp_vote_message(chain_id, v->height,
 * v->round, v->type, v->block_hash), at (height, round, PREVOTE or
 * PRECOMMIT as v->type says).
 * Returns: as rp_signer_sign_proposal; RP_ERR_INVALID_ARG for a type that is not
 *          RP_VOTE_PREVOTE or RP_VOTE_PRECOMMIT.
 * Out:     v->sig (zeroed on failure). */
int rp_signer_sign_vote(rp_signer *s, rp_cs_vote *v, char *err, size_t errlen);

/* The guard's current state (for rp_cs_guard_signed_elsewhere and
 * node.info). Out: g. */
void rp_signer_state(const rp_signer *s, rp_cs_guard *g);

/* The validator's public key. Valid until rp_signer_close. */
const rp_pubkey *rp_signer_pubkey(const rp_signer *s);

/* Wipe the key and free the signer. s may be NULL. */
void rp_signer_close(rp_signer *s);

#endif /* RP_SIGNER_H */
