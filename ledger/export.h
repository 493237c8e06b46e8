/* Chain exports: the whole chain from genesis as one file, for auditors and
 * for moving a ledger between machines (`reputed export`, `reputed import`).
 *
 * Two formats. docs/auditing.md describes both for users.
 *
 * Binary ("bin"), the one `reputed import` reads back; all integers
 * big-endian:
 *
 *   magic 8 ("RPEXPORT") | version u8 (1) |
 *   u32 genesis length | canonical genesis (rp_genesis_encode) |
 *   per block, heights 1, 2, ... in order:
 *     u32 block length  | block (header | record list, as rp_store_read_block)
 *     u32 commit length | commit (rp_commit_encode)
 *   u32 0 (the end marker) | nothing after it
 *
 * The bytes are exactly what the store holds and what the network carries:
 * an export proves nothing by itself, and an import re-validates every block
 * (ledger/replay.h). The end marker makes a cut-short file detectable: a
 * stream without it is truncated, never silently shorter.
 *
 * JSON Lines ("jsonl"), for reading and for other tools: one JSON object per
 * line, compact, UTF-8. The first line is
 *   {"type":"genesis", <every member of the genesis document>, "chain_id":hex}
 * and then one line per block
 *   {"type":"block","height":"1","hash":hex,"header":{...},"records":[...],
 *    "commit":{...}}
 * with every field decoded (enums as names, hashes, keys and signatures as
 * lowercase hex, 64-bit integers as decimal strings) and each record's raw
 * bytes in "hex" as well. Field-by-field tables are in docs/auditing.md.
 *
 * Writers read through short read-only transactions, so they can run beside
 * a node that is writing: an export covers heights 1 .. the tip at the start.
 *
 * The reader takes untrusted bytes: every length is capped before anything
 * is allocated (block <= RP_BLOCK_MAX_SIZE, commit <= RP_COMMIT_MAX_SIZE,
 * genesis <= RP_GENESIS_MAX_SIZE), and it tells a clean end apart from a
 * truncated stream, trailing bytes, a wrong magic and a wrong version, each
 * with a message naming the block. It checks the framing, the genesis, each
 * header's height and chain id and that each commit decodes for that height;
 * whether a block is valid is for the store to decide when it is applied.
 * The whole-buffer decoder (rp_export_decode) is fuzzed
 * (tests/fuzz/fuzz_export.c).
 *
 * Errors are reported as an rp_store_error (ledger/store.h): code, height of
 * the block concerned (0 for the stream header), the record's index in its
 * block or -1, and a message.
 * Pointer arguments are never NULL unless a contract says so. Nothing here is
 * thread-safe on a shared object; distinct objects may be used on distinct
 * threads.
 */
#ifndef RP_EXPORT_H
#define RP_EXPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/hash.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/store.h"

#define RP_EXPORT_MAGIC     "RPEXPORT"
#define RP_EXPORT_MAGIC_LEN 8
#define RP_EXPORT_VERSION   1

/* Called after each block written, with the height written and the height
 * the export ends at. May be NULL. */
typedef void (*rp_export_progress_fn)(void *ctx, uint64_t height, uint64_t total);

/* ---- writing --------------------------------------------------------------- */

/* Write a whole binary export of a store: heights 1 .. the tip when called.
 * Returns: 0; -errno if writing fails (out is left partly written);
 *          RP_ERR_NOT_FOUND / RP_ERR_STORE if a stored block or commit below
 *          the tip cannot be read (err names the height); RP_ERR_NOMEM.
 * Out:     err: may be NULL.
 * In:      s: any store, read-only is enough; out: an open stream (flushed,
 *          not closed); progress, pctx: may be NULL. */
int rp_export_write_bin(rp_store *s, FILE *out, rp_export_progress_fn progress, void *pctx,
                        rp_store_error *err);

/* Write a whole JSON Lines export of a store (genesis line, then one line
 * per block).
 * Returns: as rp_export_write_bin, and RP_ERR_CORRUPT if a stored block,
 *          record or commit does not decode (err names the height).
 * In:      as rp_export_write_bin. */
int rp_export_write_jsonl(rp_store *s, FILE *out, rp_export_progress_fn progress, void *pctx,
                          rp_store_error *err);

/* The pieces of the binary stream, for writers that hold blocks in hand
 * rather than in a store (generators, the fuzz target's round trip).
 * Each returns: 0, RP_ERR_TOO_LONG for a value above its bound (nothing is
 * written then), an error of rp_genesis_encode, or -errno on a write error. */
int rp_export_put_header(FILE *out, const rp_genesis *g);
int rp_export_put_block(FILE *out, const unsigned char *block, size_t blen,
                        const unsigned char *commit, size_t clen);
int rp_export_put_end(FILE *out);

/* One block as a JSON Lines line (no trailing newline).
 * Returns: 0; RP_ERR_CORRUPT if the block, one of its records or the commit
 *          does not decode (err names the record); RP_ERR_NOMEM.
 * Out:     *line: a malloc'd NUL-terminated string the caller frees (NULL on
 *          failure); err: may be NULL.
 * In:      chain_id: the chain's id (record ids depend on it); block, blen:
 *          an encoded block; commit, clen: its commit. */
int rp_export_block_json(char **line, const rp_hash *chain_id, const unsigned char *block,
                         size_t blen, const unsigned char *commit, size_t clen,
                         rp_store_error *err);

/* The same block as a JSON object (the RPC server's chain.block answer),
 * with the records [first, first + max) only (all: 0, SIZE_MAX), so that a
 * large block can be served in pages.
 * Returns: as rp_export_block_json. Out: *out (the caller decrefs; NULL on
 * failure). */
int rp_export_block_obj(json_t **out, const rp_hash *chain_id, const unsigned char *block,
                        size_t blen, const unsigned char *commit, size_t clen, size_t first,
                        size_t max, rp_store_error *err);

/* One record or one header as a JSON object, exactly as the JSON Lines
 * export writes it (the RPC server answers with the same objects).
 * Returns: a new object (the caller decrefs), or NULL if the record does
 *          not decode or memory ran out. index is the record's position in
 *          its block. */
json_t *rp_export_record_obj(size_t index, const rp_hash *chain_id, const unsigned char *bytes,
                             size_t len);
json_t *rp_export_header_obj(const rp_header *h);

/* The genesis line of a JSON Lines export (no trailing newline).
 * Returns: 0, RP_ERR_NOMEM, or an error of rp_genesis_chain_id.
 * Out: *line: malloc'd, the caller frees. */
int rp_export_genesis_json(char **line, const rp_genesis *g);

/* ---- reading ----------------------------------------------------------------- */

typedef struct rp_export_reader rp_export_reader;

/* Where the reader's bytes come from: fill buf with n bytes.
 * Returns: 0, or -errno on a read error.
 * Out:     *got: bytes written to buf; fewer than n only at the end of input. */
typedef int (*rp_export_read_fn)(void *ctx, unsigned char *buf, size_t n, size_t *got);

/* One block of a stream. The pointers are borrowed from the reader and valid
 * until its next call to rp_export_reader_next or rp_export_reader_free. */
typedef struct rp_export_block {
    uint64_t height; /* 1 for the first block, then +1 */
    const unsigned char *block;
    size_t blen;
    const unsigned char *commit;
    size_t clen;
} rp_export_block;

/* Start reading a binary export: reads and checks the magic, the version and
 * the genesis.
 * Returns: 0; RP_ERR_BAD_TYPE (not a repute export: wrong magic, or empty);
 *          RP_ERR_BAD_VERSION; RP_ERR_TRUNCATED; RP_ERR_TOO_LONG (genesis
 *          length above RP_GENESIS_MAX_SIZE); an error of rp_genesis_decode;
 *          -errno from read; RP_ERR_NOMEM. *out is NULL on failure.
 * Out:     out: the reader (free with rp_export_reader_free); err: may be NULL.
 * In:      read, ctx: the byte source, borrowed until the reader is freed. */
int rp_export_reader_open(rp_export_reader **out, rp_export_read_fn read, void *ctx,
                          rp_store_error *err);

/* rp_export_reader_open over a stdio stream (read with fread). */
int rp_export_reader_open_file(rp_export_reader **out, FILE *in, rp_store_error *err);

/* Free a reader. NULL is a no-op. Does not close the underlying stream. */
void rp_export_reader_free(rp_export_reader *r);

/* Borrowed views, valid until rp_export_reader_free. */
const rp_genesis *rp_export_reader_genesis(const rp_export_reader *r);
const rp_hash *rp_export_reader_chain_id(const rp_export_reader *r);

/* Bytes consumed so far, for progress. */
uint64_t rp_export_reader_offset(const rp_export_reader *r);

/* Read the next block.
 * Returns: 1 with a block in *b; 0 at the clean end (the end marker followed
 *          by the end of input); or a negative error, after which every call
 *          returns the same error:
 *            RP_ERR_TRUNCATED  the input ends before the end marker
 *                              ("export is truncated at block N: ...");
 *            RP_ERR_TRAILING   bytes follow the end marker;
 *            RP_ERR_TOO_LONG   a block or commit length above its bound;
 *            RP_ERR_RANGE      a block shorter than a header, or an empty
 *                              commit;
 *            RP_ERR_BLOCK_HEIGHT, RP_ERR_WRONG_CHAIN  a header for another
 *                              height or chain;
 *            RP_ERR_COMMIT     a commit for another height;
 *            decode errors of the header or commit; -errno from read.
 * Out:     b: the block (zeroed unless 1 is returned); err: may be NULL. */
int rp_export_reader_next(rp_export_reader *r, rp_export_block *b, rp_store_error *err);

/* Decode a whole binary export held in memory, calling fn for each block.
 * Returns: 0 if the stream is complete and clean, the reader's errors
 *          otherwise, or the first nonzero value fn returns (which stops
 *          the decoding).
 * Out:     g: if not NULL, the genesis; nblocks: if not NULL, the number of
 *          blocks read before the end or the error; err: may be NULL.
 * In:      in, len: the bytes (untrusted); fn, ctx: may be NULL. */
int rp_export_decode(const unsigned char *in, size_t len, rp_genesis *g,
                     int (*fn)(void *ctx, const rp_export_block *b), void *ctx, uint64_t *nblocks,
                     rp_store_error *err);

#endif /* RP_EXPORT_H */
