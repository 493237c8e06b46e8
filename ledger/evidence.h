/* EVIDENCE records: a validator's double signature, carried on chain.
 *
 * When a node sees two different signed votes of one validator at the same
 * (height, round, vote type), consensus/ hands it the pair (rp_cs_evidence);
 * the node turns the pair into an EVIDENCE record (type 7, layout in
 * ledger/record.h and docs/records.md) with rp_evidence_record and puts it
 * first among the candidates it builds a block from (rp_exec_build). The
 * ledger's rules (docs/rules.md) then accept it once per (validator, height,
 * round, vote type): the issuer must be a genesis validator, the vote height
 * below the block's and at most RP_EVIDENCE_MAX_AGE blocks older, and both
 * vote signatures must verify (in the block's signature batch, like every
 * other signature). Accepted evidence is listed in the evidence table
 * (ledger/schema.h) and by rp_store_evidence_list (ledger/query.h). It has no
 * effect on trust scores.
 *
 * Evidence is not submitted by users: the mempool refuses it
 * (RP_ERR_EVIDENCE_SUBMIT, node/errors.h).
 *
 * Pure and thread-safe; nothing here touches the store.
 */
#ifndef RP_EVIDENCE_H
#define RP_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/record.h"

/* How many blocks old evidence may be: evidence for votes at height v is
 * valid in a block at height H only if v < H and H - v <= this. Bounds how
 * far back a node must remember votes; it is a constant of the rules (as
 * much a part of them as any check in rules.c), not a genesis parameter. */
#define RP_EVIDENCE_MAX_AGE 100000u

/* Encode the EVIDENCE record of two conflicting votes by one validator.
 * The two votes may be given in either order: the encoding puts the smaller
 * block hash (memcmp) first, each with its own signature. The signatures
 * are not checked here (the chain id is not known): the ledger's rules
 * verify them when the record is in a block.
 * Returns: 0; RP_ERR_RANGE if type is not RP_VOTE_PREVOTE or
 *          RP_VOTE_PRECOMMIT or height is 0; RP_ERR_NONCANONICAL if the two
 *          hashes are equal (no conflict). *len is 0 on failure.
 * Out:     out[0..*len) (255 bytes on success).
 * In:      validator: the accused validator's x-only key (the record's
 *          issuer); type, height, round: the votes' slot; hash_a, sig_a and
 *          hash_b, sig_b: the two votes (nil: the all-zero hash).
 */
int rp_evidence_record(unsigned char out[static RP_RECORD_MAX_SIZE], size_t *len,
                       const rp_pubkey *validator, uint8_t type, uint64_t height, uint32_t round,
                       const rp_hash *hash_a, const rp_sig *sig_a, const rp_hash *hash_b,
                       const rp_sig *sig_b);

/* The same as a record struct (unencoded), for callers that want one.
 * Returns: as rp_evidence_record. Out: r (zeroed on failure). */
int rp_evidence_make(rp_record *r, const rp_pubkey *validator, uint8_t type, uint64_t height,
                     uint32_t round, const rp_hash *hash_a, const rp_sig *sig_a,
                     const rp_hash *hash_b, const rp_sig *sig_b);

#endif /* RP_EVIDENCE_H */
