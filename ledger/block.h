/* Blocks, headers, commits and votes: their canonical encodings and hashes.
 *
 * A block is a header, an ordered list of records and, stored beside it, the
 * commit that finalized it. Layouts (all integers big-endian; docs/blocks.md
 * has the tables):
 *
 *   header (RP_HEADER_SIZE = 259 bytes)
 *     version u8 (1) | chain_id 32 | height u64 | time_ms u64 | prev_hash 32 |
 *     records_root 32 | record_count u32 | proposer u16 | validators_hash 32 |
 *     prev_commit_hash 32 | state_hash 32 | epoch u64 | score_root 32 |
 *     body_bytes u32
 *   header hash = TH("repute/header/v1", header)
 *
 *   block = header | record_count x (u16 length | record bytes)
 *
 *   commit = version u8 (1) | height u64 | round u32 | block_hash 32 |
 *            u16 count | count x (validator index u16 | signature 64)
 *            with indices strictly increasing (one encoding per commit)
 *   commit hash = TH("repute/commit/v1", commit)
 *
 *   vote message = TH("repute/vote/v1", chain_id 32 | height u64 | round u32 |
 *                     type u8 | block_hash 32); a commit's signatures are
 *                     precommit votes (type 2).
 *
 * records_root is the Merkle root (ledger/merkle.h) over the records' full
 * stored bytes, signatures included. body_bytes is the total size of the
 * encoded record list, so a reader can bound a block before reading it.
 * Height 1 is the first block: its prev_hash and prev_commit_hash are zero.
 * The first epoch is 0, whose score root is the root of the empty table.
 *
 * Decoders take untrusted bytes and reject anything non-canonical; the block
 * decoder does not allocate: it returns views into the input.
 */
#ifndef RP_BLOCK_H
#define RP_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"

#define RP_BLOCK_VERSION 1
#define RP_HEADER_SIZE 259
#define RP_COMMIT_VERSION 1
#define RP_COMMIT_MAX_SIGS 128 /* = RP_MAX_VALIDATORS */
#define RP_COMMIT_MAX_SIZE (47 + RP_COMMIT_MAX_SIGS * 66)
#define RP_BLOCK_MAX_SIZE (RP_HEADER_SIZE + (4u << 20)) /* header + body limit */
#define RP_BLOCK_MAX_RECORDS 100000

enum rp_vote_type { RP_VOTE_PREVOTE = 1, RP_VOTE_PRECOMMIT = 2 };

typedef struct rp_header {
    uint8_t version;
    rp_hash chain_id;
    uint64_t height;
    uint64_t time_ms;
    rp_hash prev_hash;
    rp_hash records_root;
    uint32_t record_count;
    uint16_t proposer; /* validator index */
    rp_hash validators_hash;
    rp_hash prev_commit_hash;
    rp_hash state_hash;
    uint64_t epoch;
    rp_hash score_root;
    uint32_t body_bytes;
} rp_header;

typedef struct rp_commit_sig {
    uint16_t validator; /* index into the genesis validator list */
    rp_sig sig;
} rp_commit_sig;

typedef struct rp_commit {
    uint8_t version;
    uint64_t height;
    uint32_t round;
    rp_hash block_hash;
    uint16_t count;
    rp_commit_sig sigs[RP_COMMIT_MAX_SIGS];
} rp_commit;

/* A record inside a decoded block: a view into the block's bytes. */
typedef struct rp_block_item {
    const unsigned char *bytes; /* borrowed from the decoded buffer */
    size_t len;
} rp_block_item;

/* Encode a header.
 * Returns: 0, or RP_ERR_BAD_VERSION if h->version is not 1 (out is zeroed). */
int rp_header_encode(const rp_header *h, unsigned char out[static RP_HEADER_SIZE]);
/* Returns: 0 or a codec error (version must be 1, exactly RP_HEADER_SIZE bytes);
 *          h is zeroed on failure. */
int rp_header_decode(rp_header *h, const unsigned char *in, size_t len);
/* TH(RP_TAG_HEADER, encoding). Hashes whatever h holds (no version check). */
void rp_header_hash(rp_hash *out, const rp_header *h);

/* Encode a block from a header and encoded records. Applies every limit
 * the decoder applies, so it never writes a block it would refuse to read.
 * Returns: 0; RP_ERR_BUFFER; RP_ERR_BAD_VERSION; RP_ERR_BLOCK_LIMITS if
 *          header.record_count != n, n > RP_BLOCK_MAX_RECORDS,
 *          header.body_bytes != the body's size, the body exceeds
 *          RP_BLOCK_MAX_SIZE - RP_HEADER_SIZE, or a record is empty or
 *          exceeds RP_RECORD_MAX_SIZE. *len is 0 on failure.
 * Out: out[0..*len).  In: records[0..n), cap. */
int rp_block_encode(const rp_header *h, const rp_block_item *records, size_t n,
                    unsigned char *out, size_t cap, size_t *len);

/* Decode a block's framing: the header and views of the record bytes (each
 * record itself is decoded by rp_record_decode). Checks record_count and
 * body_bytes against the data, each length against 1..RP_RECORD_MAX_SIZE,
 * and that nothing trails.
 * Returns: 0; RP_ERR_TOO_LONG (len > RP_BLOCK_MAX_SIZE, record_count above
 *          max_items or RP_BLOCK_MAX_RECORDS, body_bytes above the body limit,
 *          a record length above RP_RECORD_MAX_SIZE); RP_ERR_RANGE (a record
 *          of length 0); RP_ERR_TRUNCATED, RP_ERR_TRAILING (the data do not
 *          match record_count and body_bytes); RP_ERR_BAD_VERSION. On failure
 *          h and any items written are zeroed.
 * Out: h; items[0..h->record_count) (views into in, valid while in is).
 * In:  in, len; items has room for max_items; more records is RP_ERR_TOO_LONG. */
int rp_block_decode(rp_header *h, rp_block_item *items, size_t max_items,
                    const unsigned char *in, size_t len);

/* Merkle root over encoded records (their full bytes).
 * Returns: 0 or RP_ERR_NOMEM. */
int rp_block_records_root(rp_hash *root, const rp_block_item *records, size_t n);

/* Encode a commit (at most RP_COMMIT_MAX_SIZE bytes).
 * Returns: 0; RP_ERR_BUFFER; the decoder's errors for a commit it would
 *          refuse (RP_ERR_BAD_VERSION, RP_ERR_RANGE for count 0,
 *          RP_ERR_TOO_LONG above RP_COMMIT_MAX_SIGS, RP_ERR_NONCANONICAL
 *          for indices not strictly increasing). *len is 0 on failure.
 * Out: out[0..*len); len may be NULL.  In: cap. */
int rp_commit_encode(const rp_commit *c, unsigned char *out, size_t cap, size_t *len);
/* Returns: 0 or a codec error; indices must be strictly increasing and
 *          count in 1..RP_COMMIT_MAX_SIGS. c is zeroed on failure. */
int rp_commit_decode(rp_commit *c, const unsigned char *in, size_t len);
/* TH(RP_TAG_COMMIT, encoding).
 * Returns: 0 or an error of rp_commit_encode (out zeroed). */
int rp_commit_hash(rp_hash *out, const rp_commit *c);

struct rp_genesis;

/* Check that a commit finalizes a given block: right height and block hash,
 * every index a validator of the genesis, every signature a valid precommit
 * vote by that validator, and the signers' power more than two thirds of the
 * total. The commit's canonical form (version, count, strictly increasing
 * indices) is checked again, since c need not come from rp_commit_decode; a
 * validator listed twice would otherwise count twice.
 * Returns: 0, or RP_ERR_COMMIT. */
int rp_commit_verify(const rp_commit *c, const struct rp_genesis *g, const rp_hash *chain_id,
                     uint64_t height, const rp_hash *block_hash);

/* The 32-byte message validators sign for a vote. */
void rp_vote_message(rp_hash *out, const rp_hash *chain_id, uint64_t height, uint32_t round,
                     uint8_t type, const rp_hash *block_hash);

#endif /* RP_BLOCK_H */
