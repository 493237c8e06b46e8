/* Blocks, headers, commits and votes: canonical encodings and hashes.
 *
 * Every format here is built from the one bounded writer and reader of
 * ledger/codec.h, and, as in record.c, each has a put_ and a get_ function
 * kept side by side that walk the same fields in the same order, plus one
 * check function that both the encoder and the decoder apply. Decoding thus
 * accepts exactly what encoding can produce, and whatever decodes re-encodes
 * to the bytes it came from (the fuzz targets check this).
 *
 * A block is framed twice: body_bytes in the header bounds the whole record
 * list (so a reader knows the size before reading any of it) and
 * record_count bounds the number of records. The decoder reads the records
 * through a second reader limited to exactly body_bytes, so the two can never
 * disagree: a record running past the body is truncation, a body with bytes
 * left after record_count records is trailing data. The block decoder only
 * frames; each record is decoded on its own by rp_record_decode.
 *
 * The block decoder does not copy the records or allocate: it returns views
 * into the caller's buffer.
 */
#include "ledger/block.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "ledger/record.h"

/* The sizes stated in block.h, derived from the field list. */
_Static_assert(RP_HEADER_SIZE == 1 + 32 + 8 + 8 + 32 + 32 + 4 + 2 + 32 + 32 + 32 + 8 + 32 + 4,
               "header layout");
_Static_assert(RP_COMMIT_MAX_SIZE == 1 + 8 + 4 + 32 + 2 + RP_COMMIT_MAX_SIGS * (2 + 64),
               "commit layout");
_Static_assert(RP_COMMIT_MAX_SIGS == RP_MAX_VALIDATORS, "one signature per validator");
_Static_assert(RP_COMMIT_MAX_SIGS <= UINT16_MAX, "count is a u16");
_Static_assert(RP_RECORD_MAX_SIZE <= UINT16_MAX, "record length is a u16");

#define BODY_MAX      (RP_BLOCK_MAX_SIZE - RP_HEADER_SIZE)
#define VOTE_MSG_SIZE (32 + 8 + 4 + 1 + 32)

/* ---- header ----------------------------------------------------------- */

static void put_header(rp_writer *w, const rp_header *h)
{
    rp_put_u8(w, h->version);
    rp_put_bytes(w, h->chain_id.bytes, 32);
    rp_put_u64(w, h->height);
    rp_put_u64(w, h->time_ms);
    rp_put_bytes(w, h->prev_hash.bytes, 32);
    rp_put_bytes(w, h->records_root.bytes, 32);
    rp_put_u32(w, h->record_count);
    rp_put_u16(w, h->proposer);
    rp_put_bytes(w, h->validators_hash.bytes, 32);
    rp_put_bytes(w, h->prev_commit_hash.bytes, 32);
    rp_put_bytes(w, h->state_hash.bytes, 32);
    rp_put_u64(w, h->epoch);
    rp_put_bytes(w, h->score_root.bytes, 32);
    rp_put_u32(w, h->body_bytes);
}

/* The mirror of put_header. An unknown version stops the reader at once: the
 * rest of the layout belongs to that version. */
static void get_header(rp_reader *r, rp_header *h)
{
    h->version = rp_get_u8(r, "version");
    if (!r->err && h->version != RP_BLOCK_VERSION)
        rp_reader_fail(r, RP_ERR_BAD_VERSION, "version");
    rp_get_bytes(r, h->chain_id.bytes, 32, "chain_id");
    h->height = rp_get_u64(r, "height");
    h->time_ms = rp_get_u64(r, "time_ms");
    rp_get_bytes(r, h->prev_hash.bytes, 32, "prev_hash");
    rp_get_bytes(r, h->records_root.bytes, 32, "records_root");
    h->record_count = rp_get_u32(r, "record_count");
    h->proposer = rp_get_u16(r, "proposer");
    rp_get_bytes(r, h->validators_hash.bytes, 32, "validators_hash");
    rp_get_bytes(r, h->prev_commit_hash.bytes, 32, "prev_commit_hash");
    rp_get_bytes(r, h->state_hash.bytes, 32, "state_hash");
    h->epoch = rp_get_u64(r, "epoch");
    rp_get_bytes(r, h->score_root.bytes, 32, "score_root");
    h->body_bytes = rp_get_u32(r, "body_bytes");
}

int rp_header_encode(const rp_header *h, unsigned char out[static RP_HEADER_SIZE])
{
    if (h->version != RP_BLOCK_VERSION) {
        memset(out, 0, RP_HEADER_SIZE);
        return RP_ERR_BAD_VERSION;
    }
    rp_writer w;
    rp_writer_init(&w, out, RP_HEADER_SIZE);
    put_header(&w, h);
    return rp_writer_finish(&w, NULL);
}

int rp_header_decode(rp_header *h, const unsigned char *in, size_t len)
{
    memset(h, 0, sizeof *h);
    rp_reader r;
    rp_reader_init(&r, in, len);
    get_header(&r, h);
    int err = rp_reader_finish(&r, NULL);
    if (err)
        memset(h, 0, sizeof *h);
    return err;
}

void rp_header_hash(rp_hash *out, const rp_header *h)
{
    /* No version check: a hash is defined for any struct, and a header that
     * cannot be encoded never gets as far as being hashed for consensus. */
    unsigned char buf[RP_HEADER_SIZE];
    rp_writer w;
    rp_writer_init(&w, buf, sizeof buf);
    put_header(&w, h);
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_HEADER);
    rp_th_update(&ctx, buf, sizeof buf);
    rp_th_final(&ctx, out);
}

/* ---- block ------------------------------------------------------------ */

int rp_block_encode(const rp_header *h, const rp_block_item *records, size_t n, unsigned char *out,
                    size_t cap, size_t *len)
{
    *len = 0;
    if (h->version != RP_BLOCK_VERSION)
        return RP_ERR_BAD_VERSION;
    if (n != h->record_count || n > RP_BLOCK_MAX_RECORDS)
        return RP_ERR_BLOCK_LIMITS;
    /* The same limits the decoder applies, so no block is written that
     * would be refused when read back. */
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        if (records[i].len == 0 || records[i].len > RP_RECORD_MAX_SIZE)
            return RP_ERR_BLOCK_LIMITS;
        body += 2 + records[i].len; /* at most 100000 x 514: no overflow */
    }
    if (body != h->body_bytes || body > BODY_MAX)
        return RP_ERR_BLOCK_LIMITS;

    rp_writer w;
    rp_writer_init(&w, out, cap);
    put_header(&w, h);
    for (size_t i = 0; i < n; i++)
        rp_put_var(&w, records[i].bytes, records[i].len, RP_RECORD_MAX_SIZE);
    return rp_writer_finish(&w, len);
}

int rp_block_decode(rp_header *h, rp_block_item *items, size_t max_items, const unsigned char *in,
                    size_t len)
{
    memset(h, 0, sizeof *h);
    if (len > RP_BLOCK_MAX_SIZE)
        return RP_ERR_TOO_LONG;

    rp_reader r;
    rp_reader_init(&r, in, len);
    get_header(&r, h);
    /* Both limits are checked before any record is read. */
    if (!r.err && (h->record_count > max_items || h->record_count > RP_BLOCK_MAX_RECORDS))
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "record_count");
    if (!r.err && h->body_bytes > BODY_MAX)
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "body_bytes");
    const unsigned char *body = rp_get_view(&r, r.err ? 0 : h->body_bytes, "body");
    int err = rp_reader_finish(&r, NULL);

    size_t done = 0;
    if (!err) {
        rp_reader b;
        rp_reader_init(&b, body, h->body_bytes);
        for (; done < h->record_count && !b.err; done++) {
            size_t n = rp_get_u16(&b, "record_length");
            if (!b.err && n == 0)
                rp_reader_fail(&b, RP_ERR_RANGE, "record_length");
            if (!b.err && n > RP_RECORD_MAX_SIZE)
                rp_reader_fail(&b, RP_ERR_TOO_LONG, "record_length");
            items[done].bytes = rp_get_view(&b, n, "record");
            items[done].len = b.err ? 0 : n;
        }
        err = rp_reader_finish(&b, NULL);
    }
    if (err) {
        memset(h, 0, sizeof *h);
        if (done)
            memset(items, 0, done * sizeof *items);
    }
    return err;
}

int rp_block_records_root(rp_hash *root, const rp_block_item *records, size_t n)
{
    if (n == 0)
        return rp_merkle_root(root, NULL, 0);
    if (n > SIZE_MAX / sizeof(rp_hash)) {
        memset(root, 0, sizeof *root);
        return RP_ERR_NOMEM;
    }
    rp_hash *leaves = malloc(n * sizeof *leaves);
    if (!leaves) {
        memset(root, 0, sizeof *root);
        return RP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        rp_merkle_leaf(&leaves[i], records[i].bytes, records[i].len);
    int err = rp_merkle_root(root, leaves, n);
    free(leaves);
    return err;
}

/* ---- commit ----------------------------------------------------------- */

/* What makes a commit canonical, for the encoder, the decoder and
 * rp_commit_verify (which may be handed a struct that was never decoded). */
static int check_commit(const rp_commit *c, const char **field)
{
    *field = NULL;
    if (c->version != RP_COMMIT_VERSION) {
        *field = "version";
        return RP_ERR_BAD_VERSION;
    }
    if (c->count == 0 || c->count > RP_COMMIT_MAX_SIGS) {
        *field = "count";
        return c->count ? RP_ERR_TOO_LONG : RP_ERR_RANGE;
    }
    /* Strictly increasing: one encoding per set of signers, and no validator
     * counted twice towards the quorum. */
    for (size_t i = 1; i < c->count; i++)
        if (c->sigs[i].validator <= c->sigs[i - 1].validator) {
            *field = "validator";
            return RP_ERR_NONCANONICAL;
        }
    return 0;
}

static void put_commit(rp_writer *w, const rp_commit *c)
{
    rp_put_u8(w, c->version);
    rp_put_u64(w, c->height);
    rp_put_u32(w, c->round);
    rp_put_bytes(w, c->block_hash.bytes, 32);
    rp_put_u16(w, c->count);
    for (size_t i = 0; i < c->count; i++) {
        rp_put_u16(w, c->sigs[i].validator);
        rp_put_bytes(w, c->sigs[i].sig.bytes, 64);
    }
}

/* The mirror of put_commit; stops before the signatures if the version or
 * count is out of range, so the array bound is never exceeded. */
static void get_commit(rp_reader *r, rp_commit *c)
{
    c->version = rp_get_u8(r, "version");
    if (!r->err && c->version != RP_COMMIT_VERSION)
        rp_reader_fail(r, RP_ERR_BAD_VERSION, "version");
    c->height = rp_get_u64(r, "height");
    c->round = rp_get_u32(r, "round");
    rp_get_bytes(r, c->block_hash.bytes, 32, "block_hash");
    c->count = rp_get_u16(r, "count");
    if (!r->err && c->count == 0)
        rp_reader_fail(r, RP_ERR_RANGE, "count");
    if (!r->err && c->count > RP_COMMIT_MAX_SIGS)
        rp_reader_fail(r, RP_ERR_TOO_LONG, "count");
    size_t n = r->err ? 0 : c->count;
    for (size_t i = 0; i < n; i++) {
        c->sigs[i].validator = rp_get_u16(r, "validator");
        rp_get_bytes(r, c->sigs[i].sig.bytes, 64, "signature");
    }
}

int rp_commit_encode(const rp_commit *c, unsigned char *out, size_t cap, size_t *len)
{
    const char *field;
    int err = check_commit(c, &field);
    if (err) {
        if (len)
            *len = 0;
        return err;
    }
    rp_writer w;
    rp_writer_init(&w, out, cap);
    put_commit(&w, c);
    return rp_writer_finish(&w, len);
}

int rp_commit_decode(rp_commit *c, const unsigned char *in, size_t len)
{
    memset(c, 0, sizeof *c);
    rp_reader r;
    rp_reader_init(&r, in, len);
    get_commit(&r, c);
    int err = rp_reader_finish(&r, NULL);
    if (!err) {
        const char *field;
        err = check_commit(c, &field);
    }
    if (err)
        memset(c, 0, sizeof *c);
    return err;
}

int rp_commit_hash(rp_hash *out, const rp_commit *c)
{
    unsigned char buf[RP_COMMIT_MAX_SIZE];
    size_t n;
    int err = rp_commit_encode(c, buf, sizeof buf, &n);
    if (err) {
        memset(out, 0, sizeof *out);
        return err;
    }
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_COMMIT);
    rp_th_update(&ctx, buf, n);
    rp_th_final(&ctx, out);
    return 0;
}

/* ---- votes ------------------------------------------------------------ */

void rp_vote_message(rp_hash *out, const rp_hash *chain_id, uint64_t height, uint32_t round,
                     uint8_t type, const rp_hash *block_hash)
{
    unsigned char buf[VOTE_MSG_SIZE];
    rp_writer w;
    rp_writer_init(&w, buf, sizeof buf);
    rp_put_bytes(&w, chain_id->bytes, 32);
    rp_put_u64(&w, height);
    rp_put_u32(&w, round);
    rp_put_u8(&w, type);
    rp_put_bytes(&w, block_hash->bytes, 32);
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_VOTE);
    rp_th_update(&ctx, buf, sizeof buf);
    rp_th_final(&ctx, out);
}

int rp_commit_verify(const rp_commit *c, const struct rp_genesis *g, const rp_hash *chain_id,
                     uint64_t height, const rp_hash *block_hash)
{
    const char *field;
    if (check_commit(c, &field) != 0)
        return RP_ERR_COMMIT;
    if (c->height != height || !rp_hash_eq(&c->block_hash, block_hash))
        return RP_ERR_COMMIT;
    if (g->nvalidators > RP_MAX_VALIDATORS)
        return RP_ERR_COMMIT;

    /* Indices and power first: a commit without a quorum is refused before
     * any (comparatively expensive) signature is checked. */
    uint64_t power = 0;
    for (size_t i = 0; i < c->count; i++) {
        size_t v = c->sigs[i].validator;
        if (v >= g->nvalidators)
            return RP_ERR_COMMIT;
        if (g->validators[v].power > UINT64_MAX - power)
            return RP_ERR_COMMIT;
        power += g->validators[v].power;
    }
    if (!rp_genesis_is_quorum(g, power))
        return RP_ERR_COMMIT;

    rp_hash msg;
    rp_vote_message(&msg, chain_id, height, c->round, RP_VOTE_PRECOMMIT, block_hash);
    for (size_t i = 0; i < c->count; i++) {
        const rp_validator *val = &g->validators[c->sigs[i].validator];
        if (!rp_verify(&c->sigs[i].sig, msg.bytes, sizeof msg.bytes, &val->pubkey))
            return RP_ERR_COMMIT;
    }
    return 0;
}
