/* The consensus write-ahead log's format, pure: no I/O.
 *
 * Before the node hands an input to the engine (consensus/input.h) it
 * appends the input to the log and fsyncs it; after a crash, replaying the
 * logged inputs of the current height into a fresh engine rebuilds the
 * engine's state (locks included), so the node resumes the height where it
 * was. node/cswal.h keeps the log in DATADIR/consensus/wal and does the
 * I/O; this file defines the bytes, which docs/consensus.md
 * ("Write-ahead log") also describes.
 *
 * A log is a sequence of entries, the first one a header naming the height
 * the log is for, every later one an input:
 *
 *   entry  = length u32 | check u32 | body
 *            length: bytes of body, 1..RP_CS_WAL_MAX_BODY
 *            check:  the first 4 bytes of SHA-256(length's 4 bytes | body),
 *                    big-endian
 *   body   = kind u8 | fields of the kind, all integers big-endian:
 *     0 HEADER    magic "repute-cswal" (12) | version u8 (1) | height u64
 *     1 PROPOSAL  height u64 | round u32 | pol_round u32 (0xffffffff: -1;
 *                 else at most 2^31-1) | block_hash 32 | proposer u16 | sig 64
 *     2 VOTE      type u8 (1 prevote, 2 precommit) | height u64 | round u32 |
 *                 block_hash 32 | validator u16 | sig 64
 *     3 TIMEOUT   step u8 (0..2) | height u64 | round u32
 *     4 VERDICT   block_hash 32 | valid u8 (0 or 1)
 *     5 BUILT     height u64 | round u32 | block_hash 32
 *
 * Input kinds are enum rp_cs_input_kind's numbers. Each body has exactly
 * its kind's size; fields an input kind does not use are not written and
 * decode as zero. One value has one encoding.
 *
 * The checksum (a truncated SHA-256, which the project has already, rather
 * than a CRC32C it does not) catches torn appends and rot; entries are
 * written whole and fsynced one at a time, so only the last one can be
 * torn by a crash. rp_cs_wal_scan returns the length of the longest valid
 * prefix: whatever follows the first entry that fails to decode -- torn,
 * corrupt, or in the wrong place -- is not trusted, as a log that lost its
 * middle cannot be replayed faithfully.
 *
 * Pointers are never NULL unless said. Everything here needs
 * rp_crypto_init().
 */
#ifndef RP_CS_WAL_H
#define RP_CS_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/errors.h"
#include "consensus/input.h"

#define RP_CS_WAL_MAGIC "repute-cswal"
#define RP_CS_WAL_MAGIC_LEN 12
#define RP_CS_WAL_VERSION 1
#define RP_CS_WAL_HEADER 0       /* the kind of a header entry */
#define RP_CS_WAL_ENTRY_HEAD 8   /* length and check */
#define RP_CS_WAL_MAX_BODY 128   /* above every kind's size (the largest: 115) */
#define RP_CS_WAL_MAX_ENTRY (RP_CS_WAL_ENTRY_HEAD + RP_CS_WAL_MAX_BODY)

/* One decoded entry. */
typedef struct rp_cs_wal_entry {
    uint8_t kind;    /* RP_CS_WAL_HEADER, or an enum rp_cs_input_kind */
    uint64_t height; /* HEADER: the log's height */
    rp_cs_input in;  /* an input (in.kind == kind); all zero for HEADER */
} rp_cs_wal_entry;

/* Encode a header entry for a height.
 * Returns: 0, or RP_ERR_BUFFER if cap is too small.
 * Out:     out[0..*len). */
int rp_cs_wal_encode_header(uint64_t height, unsigned char *out, size_t cap, size_t *len);

/* Encode an input entry.
 * Returns: 0; RP_ERR_BAD_TYPE for an unknown kind; RP_ERR_RANGE for a field
 *          outside what the format holds (a vote type that is not prevote
 *          or precommit, a step above PRECOMMIT, valid not 0/1, pol_round
 *          below -1) -- inputs the engine would refuse as RP_CS_BAD anyway;
 *          RP_ERR_BUFFER if cap is too small (RP_CS_WAL_MAX_ENTRY is
 *          always enough).
 * Out:     out[0..*len) (*len is 0 on failure). */
int rp_cs_wal_encode_input(const rp_cs_input *in, unsigned char *out, size_t cap, size_t *len);

/* Decode the entry at the start of buf[0..len).
 * Returns: 0; RP_ERR_TRUNCATED if buf ends before the entry does (a torn
 *          append); RP_ERR_TOO_LONG for a length above
 *          RP_CS_WAL_MAX_BODY, RP_ERR_RANGE for a length of 0;
 *          RP_ERR_CS_CHECKSUM; RP_ERR_BAD_TYPE (unknown kind);
 *          RP_ERR_CS_MAGIC, RP_ERR_BAD_VERSION (a header's);
 *          RP_ERR_TRUNCATED, RP_ERR_TRAILING (a body of the wrong size for
 *          its kind); RP_ERR_RANGE (a field outside its range).
 * Out:     e (zeroed on failure); *used: the entry's bytes (0 on failure). */
int rp_cs_wal_decode(rp_cs_wal_entry *e, const unsigned char *buf, size_t len, size_t *used);

/* Called by rp_cs_wal_scan for each valid entry, in order. Returns 0 to go
 * on; anything else stops the scan. e is valid only during the call. */
typedef int (*rp_cs_wal_fn)(void *ctx, const rp_cs_wal_entry *e);

/* Decode a whole log: entries in order, the first a header and no other a
 * header, each handed to fn (which may be NULL: only measure).
 * Returns: the length of the valid prefix: the bytes of the entries handed
 *          to fn (and accepted by it). It is len when everything is valid.
 * Out:     *err (err may be NULL): 0 if the prefix is all of buf; else why
 *          it ends there: an error of rp_cs_wal_decode for the entry that
 *          follows it, RP_ERR_CS_NO_HEADER if the first entry is not a
 *          header, RP_ERR_NONCANONICAL for a second header, or the nonzero
 *          value fn returned (the prefix then ends before that entry).
 * In:      buf[0..len): the log's bytes; ctx: passed to fn. */
size_t rp_cs_wal_scan(const unsigned char *buf, size_t len, rp_cs_wal_fn fn, void *ctx, int *err);

/* The height an input is for.
 * Returns: 1 and *height for proposals, votes, timeouts and built blocks;
 *          0 for a verdict (which names a block, not a height) or an
 *          unknown kind. */
int rp_cs_wal_input_height(const rp_cs_input *in, uint64_t *height);

#endif /* RP_CS_WAL_H */
