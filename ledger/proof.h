/* The binary encoding of a score proof (rp_score_proof, ledger/store.h): what
 * `score.get` with "proof": true returns as hex, what `repute-cli score
 * --proof FILE` writes, and what `repute-cli verify-proof` checks offline
 * against a genesis file with nothing else.
 *
 * Layout, version 1 (all integers big-endian; docs/trust.md, "Proofs", has
 * the table):
 *
 *   proof = version u8 (1) | flags u8 |
 *           epoch u64 | snapshot_height u64 | commit_height u64 | root 32 |
 *           identities u32 | index u64 |
 *           flags.present:   entry (the identity's row)
 *           flags.has_left:  entry (the row just below where it would sort)
 *           flags.has_right: entry (the row just above)
 *           header (RP_HEADER_SIZE bytes, the block.h header encoding) |
 *           commit_len u16 (1..RP_COMMIT_MAX_SIZE) | commit (a canonical
 *           commit, the block.h commit encoding)
 *   entry = row (identity 32 | trust u64 | rating u32 | reviews u32 |
 *                score u16 | confidence u16: the score leaf's bytes) |
 *           depth u8 (0..RP_MERKLE_MAX_DEPTH) | depth x hash 32
 *   flags = bit 0 present, bit 1 has_left, bit 2 has_right; the other bits
 *           zero; present excludes the two others.
 *
 * The codec checks the form only: lengths, bounds, flags, the header's and
 * commit's own encodings, and that nothing trails. Whether the proof holds
 * (the commit's signatures and power, the header's epoch and root, the Merkle
 * paths, the neighbours' order) is rp_score_proof_verify's job.
 *
 * Canonical both ways: a struct that rp_score_proof_encode accepts decodes
 * back to the same field values, and a buffer that rp_score_proof_decode
 * accepts re-encodes to exactly the same bytes. For that the encoder refuses
 * a struct with anything in the fields that the encoding does not carry:
 * path entries beyond a depth, a neighbour or row that is not in use, commit
 * bytes beyond commit_len (rp_store_score_proof leaves them all zero).
 *
 * Pure functions, thread-safe after rp_crypto_init().
 */
#ifndef RP_PROOF_H
#define RP_PROOF_H

#include <stddef.h>

#include "ledger/store.h"

#define RP_PROOF_VERSION 1

#define RP_PROOF_FLAG_PRESENT 0x01
#define RP_PROOF_FLAG_LEFT 0x02
#define RP_PROOF_FLAG_RIGHT 0x04

/* One row as it is encoded (the score leaf's bytes). */
#define RP_PROOF_ROW_SIZE 52
/* The largest encoding: an absence proof with two neighbours of full depth
 * and a commit of RP_COMMIT_MAX_SIGS signatures (13028 bytes). */
#define RP_PROOF_MAX_SIZE                                                                      \
    (2 + 3 * 8 + 32 + 4 + 8 + 2 * (RP_PROOF_ROW_SIZE + 1 + RP_MERKLE_MAX_DEPTH * 32) +          \
     RP_HEADER_SIZE + 2 + RP_COMMIT_MAX_SIZE)

/* Encode a proof.
 * Returns: 0; RP_ERR_BUFFER if cap is too small; RP_ERR_RANGE if present,
 *          has_left or has_right is not 0 or 1, present comes with a
 *          neighbour, or commit_len is 0; RP_ERR_TOO_LONG for a depth above
 *          RP_MERKLE_MAX_DEPTH or commit_len above RP_COMMIT_MAX_SIZE;
 *          RP_ERR_NONCANONICAL if a field that the encoding does not carry is
 *          not zero (see above); RP_ERR_BAD_VERSION for a header version
 *          other than 1; the errors of rp_commit_decode for commit bytes that
 *          are not a canonical commit; RP_ERR_NOMEM. *len is 0 on failure.
 * Out:     out[0..*len). out may be NULL with cap 0: *len is then the size
 *          the encoding needs (after the same checks).
 * In:      p; cap: RP_PROOF_MAX_SIZE is always enough.
 */
int rp_score_proof_encode(const rp_score_proof *p, unsigned char *out, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decode a proof from exactly len bytes of untrusted input.
 * Returns: 0; RP_ERR_TRUNCATED; RP_ERR_TRAILING; RP_ERR_BAD_VERSION (the
 *          proof's or its header's); RP_ERR_RANGE (unknown flag bits, present
 *          with a neighbour, commit_len 0); RP_ERR_TOO_LONG (len above
 *          RP_PROOF_MAX_SIZE, a depth above RP_MERKLE_MAX_DEPTH, commit_len
 *          above RP_COMMIT_MAX_SIZE); the errors of rp_commit_decode;
 *          RP_ERR_NOMEM. p is zeroed on failure.
 * Out:     p (about 14 KB: allocate it rather than put many on a stack).
 * In:      in, len. On success rp_score_proof_encode(p) gives back exactly
 *          in[0..len).
 */
int rp_score_proof_decode(rp_score_proof *p, const unsigned char *in, size_t len)
    __attribute__((warn_unused_result));

#endif /* RP_PROOF_H */
