/* Score proofs: what they hold, how they are checked, and their binary
 * encoding. The encoding is what
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

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "ledger/schema.h"

#define RP_PROOF_VERSION 1

/* A proof that an identity has a given row in an epoch's table, or has none,
 * checkable with nothing but the proof, the genesis and the chain id
 * (rp_store_score_proof in ledger/query.h builds one from a datadir). */
typedef struct rp_score_proof {
    rp_epoch_info epoch;
    int present;      /* 1: row is the identity's; 0: the identity has no row */
    rp_score_row row; /* present: the row at index; */
    uint64_t index;
    rp_hash path[RP_MERKLE_MAX_DEPTH];
    size_t depth;
    /* absent: the rows just below and above where it would sort (either may
     * be missing at the ends of the table), with their paths. */
    int has_left, has_right;
    rp_score_row left, right;
    rp_hash lpath[RP_MERKLE_MAX_DEPTH], rpath[RP_MERKLE_MAX_DEPTH];
    size_t ldepth, rdepth;
    rp_header header;                         /* the header at epoch.commit_height */
    unsigned char commit[RP_COMMIT_MAX_SIZE]; /* its commit */
    size_t commit_len;
} rp_score_proof;

/* The Merkle leaf of a row: its RP_SCORE_LEAF_SIZE bytes (identity 32 |
 * trust u64 | rating u32 | reviews u32 | score u16 | confidence u16)
 * through rp_merkle_leaf. */
void rp_score_leaf(rp_hash *out, const rp_score_row *row);

/* Check a proof against the validator set: the commit finalizes the header
 * (more than 2/3 of the genesis voting power), the header carries the
 * epoch and root, and the row (or the two neighbours, for an absence) sits
 * at its index under that root.
 * Returns: 1 if the proof holds for this identity, 0 otherwise. */
int rp_score_proof_verify(const rp_score_proof *p, const rp_genesis *g, const rp_hash *chain_id,
                          const rp_pubkey *identity);

#define RP_PROOF_FLAG_PRESENT 0x01
#define RP_PROOF_FLAG_LEFT    0x02
#define RP_PROOF_FLAG_RIGHT   0x04

/* One row as it is encoded (the score leaf's bytes). */
#define RP_PROOF_ROW_SIZE RP_SCORE_LEAF_SIZE
/* The largest encoding: an absence proof with two neighbours of full depth
 * and a commit of RP_COMMIT_MAX_SIGS signatures (13028 bytes). */
#define RP_PROOF_MAX_SIZE                                                                          \
    (2 + 3 * 8 + 32 + 4 + 8 + 2 * (RP_PROOF_ROW_SIZE + 1 + RP_MERKLE_MAX_DEPTH * 32) +             \
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
