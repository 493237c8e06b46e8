/* The write-ahead log's entry codec and scanner (contract and byte layout
 * in wal.h).
 *
 * Entries are built with the canonical writer and read with the canonical
 * reader (ledger/codec.h): every length is checked against what remains
 * before it is used, the body must be exactly its kind's size, and the
 * checksum is verified before any field is looked at.
 */
#include "consensus/wal.h"

#include <string.h>

#include "crypto/hash.h"
#include "ledger/block.h"
#include "ledger/codec.h"

/* First 4 bytes of SHA-256(length_be32 | body), as a u32. */
static uint32_t checksum(const unsigned char len_be[4], const unsigned char *body, size_t n)
{
    crypto_hash_sha256_state st;
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, len_be, 4);
    crypto_hash_sha256_update(&st, body, n);
    crypto_hash_sha256_final(&st, d);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Frame body[0..n) as an entry into out. */
static int frame(const unsigned char *body, size_t n, unsigned char *out, size_t cap, size_t *len)
{
    unsigned char len_be[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                               (unsigned char)(n >> 8), (unsigned char)n};
    rp_writer w;
    rp_writer_init(&w, out, cap);
    rp_put_bytes(&w, len_be, 4);
    rp_put_u32(&w, checksum(len_be, body, n));
    rp_put_bytes(&w, body, n);
    int rc = rp_writer_finish(&w, len);
    if (rc)
        *len = 0;
    return rc;
}

int rp_cs_wal_encode_header(uint64_t height, unsigned char *out, size_t cap, size_t *len)
{
    unsigned char body[RP_CS_WAL_MAX_BODY];
    size_t n;
    rp_writer w;
    rp_writer_init(&w, body, sizeof body);
    rp_put_u8(&w, RP_CS_WAL_HEADER);
    rp_put_bytes(&w, (const unsigned char *)RP_CS_WAL_MAGIC, RP_CS_WAL_MAGIC_LEN);
    rp_put_u8(&w, RP_CS_WAL_VERSION);
    rp_put_u64(&w, height);
    if (rp_writer_finish(&w, &n) != 0) { /* cannot happen: body is large enough */
        *len = 0;
        return RP_ERR_BUFFER;
    }
    return frame(body, n, out, cap, len);
}

/* The kind's fields into w, or RP_ERR_RANGE / RP_ERR_BAD_TYPE. */
static int put_input(rp_writer *w, const rp_cs_input *in)
{
    rp_put_u8(w, in->kind);
    switch (in->kind) {
    case RP_CS_IN_PROPOSAL: {
        const rp_cs_proposal *p = &in->proposal;
        if (p->pol_round < -1)
            return RP_ERR_RANGE;
        rp_put_u64(w, p->height);
        rp_put_u32(w, p->round);
        rp_put_u32(w, p->pol_round < 0 ? UINT32_MAX : (uint32_t)p->pol_round);
        rp_put_bytes(w, p->block_hash.bytes, 32);
        rp_put_u16(w, p->proposer);
        rp_put_bytes(w, p->sig.bytes, 64);
        return 0;
    }
    case RP_CS_IN_VOTE: {
        const rp_cs_vote *v = &in->vote;
        if (v->type != RP_VOTE_PREVOTE && v->type != RP_VOTE_PRECOMMIT)
            return RP_ERR_RANGE;
        rp_put_u8(w, v->type);
        rp_put_u64(w, v->height);
        rp_put_u32(w, v->round);
        rp_put_bytes(w, v->block_hash.bytes, 32);
        rp_put_u16(w, v->validator);
        rp_put_bytes(w, v->sig.bytes, 64);
        return 0;
    }
    case RP_CS_IN_TIMEOUT:
        if (in->step > RP_CS_PRECOMMIT)
            return RP_ERR_RANGE;
        rp_put_u8(w, in->step);
        rp_put_u64(w, in->height);
        rp_put_u32(w, in->round);
        return 0;
    case RP_CS_IN_VERDICT:
        if (in->valid > 1)
            return RP_ERR_RANGE;
        rp_put_bytes(w, in->block_hash.bytes, 32);
        rp_put_u8(w, in->valid);
        return 0;
    case RP_CS_IN_BUILT:
        rp_put_u64(w, in->height);
        rp_put_u32(w, in->round);
        rp_put_bytes(w, in->block_hash.bytes, 32);
        return 0;
    }
    return RP_ERR_BAD_TYPE;
}

int rp_cs_wal_encode_input(const rp_cs_input *in, unsigned char *out, size_t cap, size_t *len)
{
    unsigned char body[RP_CS_WAL_MAX_BODY];
    size_t n;
    rp_writer w;
    rp_writer_init(&w, body, sizeof body);
    int rc = put_input(&w, in);
    if (!rc)
        rc = rp_writer_finish(&w, &n);
    if (rc) {
        *len = 0;
        return rc;
    }
    return frame(body, n, out, cap, len);
}

static void get_hash(rp_reader *r, rp_hash *h, const char *field)
{
    rp_get_bytes(r, h->bytes, sizeof h->bytes, field);
}

/* Decode a body (kind and fields) into e; the reader's error, or a range
 * error, is returned. */
static int get_body(rp_reader *r, rp_cs_wal_entry *e)
{
    rp_cs_input *in = &e->in;
    e->kind = rp_get_u8(r, "kind");
    if (r->err)
        return r->err;
    switch (e->kind) {
    case RP_CS_WAL_HEADER: {
        unsigned char magic[RP_CS_WAL_MAGIC_LEN];
        rp_get_bytes(r, magic, sizeof magic, "magic");
        if (!r->err && memcmp(magic, RP_CS_WAL_MAGIC, sizeof magic) != 0)
            return RP_ERR_CS_MAGIC;
        uint8_t version = rp_get_u8(r, "version");
        if (!r->err && version != RP_CS_WAL_VERSION)
            return RP_ERR_BAD_VERSION;
        e->height = rp_get_u64(r, "height");
        return rp_reader_finish(r, NULL);
    }
    case RP_CS_IN_PROPOSAL: {
        rp_cs_proposal *p = &in->proposal;
        p->height = rp_get_u64(r, "height");
        p->round = rp_get_u32(r, "round");
        uint32_t pol = rp_get_u32(r, "pol_round");
        get_hash(r, &p->block_hash, "block_hash");
        p->proposer = rp_get_u16(r, "proposer");
        rp_get_bytes(r, p->sig.bytes, 64, "sig");
        if (pol != UINT32_MAX && pol > INT32_MAX)
            rp_reader_fail(r, RP_ERR_RANGE, "pol_round");
        p->pol_round = pol == UINT32_MAX ? -1 : (int32_t)pol;
        break;
    }
    case RP_CS_IN_VOTE: {
        rp_cs_vote *v = &in->vote;
        v->type = rp_get_u8(r, "type");
        v->height = rp_get_u64(r, "height");
        v->round = rp_get_u32(r, "round");
        get_hash(r, &v->block_hash, "block_hash");
        v->validator = rp_get_u16(r, "validator");
        rp_get_bytes(r, v->sig.bytes, 64, "sig");
        if (v->type != RP_VOTE_PREVOTE && v->type != RP_VOTE_PRECOMMIT)
            rp_reader_fail(r, RP_ERR_RANGE, "type");
        break;
    }
    case RP_CS_IN_TIMEOUT:
        in->step = rp_get_u8(r, "step");
        in->height = rp_get_u64(r, "height");
        in->round = rp_get_u32(r, "round");
        if (in->step > RP_CS_PRECOMMIT)
            rp_reader_fail(r, RP_ERR_RANGE, "step");
        break;
    case RP_CS_IN_VERDICT:
        get_hash(r, &in->block_hash, "block_hash");
        in->valid = rp_get_u8(r, "valid");
        if (in->valid > 1)
            rp_reader_fail(r, RP_ERR_RANGE, "valid");
        break;
    case RP_CS_IN_BUILT:
        in->height = rp_get_u64(r, "height");
        in->round = rp_get_u32(r, "round");
        get_hash(r, &in->block_hash, "block_hash");
        break;
    default:
        return RP_ERR_BAD_TYPE;
    }
    in->kind = e->kind;
    return rp_reader_finish(r, NULL);
}

int rp_cs_wal_decode(rp_cs_wal_entry *e, const unsigned char *buf, size_t len, size_t *used)
{
    rp_reader r;
    int rc;

    memset(e, 0, sizeof *e);
    *used = 0;
    rp_reader_init(&r, buf, len);
    const unsigned char *len_be = rp_get_view(&r, 4, "length");
    uint32_t n = len_be ? (uint32_t)len_be[0] << 24 | (uint32_t)len_be[1] << 16 |
                              (uint32_t)len_be[2] << 8 | len_be[3]
                        : 0;
    uint32_t check = rp_get_u32(&r, "check");
    if (r.err)
        return r.err;
    if (n == 0)
        return RP_ERR_RANGE;
    if (n > RP_CS_WAL_MAX_BODY)
        return RP_ERR_TOO_LONG;
    const unsigned char *body = rp_get_view(&r, n, "body");
    if (!body)
        return r.err;
    if (checksum(len_be, body, n) != check)
        return RP_ERR_CS_CHECKSUM;

    rp_reader br;
    rp_reader_init(&br, body, n);
    rc = get_body(&br, e);
    if (rc) {
        memset(e, 0, sizeof *e);
        return rc;
    }
    *used = RP_CS_WAL_ENTRY_HEAD + n;
    return 0;
}

size_t rp_cs_wal_scan(const unsigned char *buf, size_t len, rp_cs_wal_fn fn, void *ctx, int *err)
{
    size_t off = 0;
    int rc = 0;
    rp_cs_wal_entry e;

    while (off < len) {
        size_t used;
        rc = rp_cs_wal_decode(&e, buf + off, len - off, &used);
        if (!rc && off == 0 && e.kind != RP_CS_WAL_HEADER)
            rc = RP_ERR_CS_NO_HEADER;
        if (!rc && off != 0 && e.kind == RP_CS_WAL_HEADER)
            rc = RP_ERR_NONCANONICAL;
        if (!rc && fn)
            rc = fn(ctx, &e);
        if (rc)
            break;
        off += used;
    }
    if (err)
        *err = rc;
    return off;
}

int rp_cs_wal_input_height(const rp_cs_input *in, uint64_t *height)
{
    switch (in->kind) {
    case RP_CS_IN_PROPOSAL:
        *height = in->proposal.height;
        return 1;
    case RP_CS_IN_VOTE:
        *height = in->vote.height;
        return 1;
    case RP_CS_IN_TIMEOUT:
    case RP_CS_IN_BUILT:
        *height = in->height;
        return 1;
    }
    return 0;
}
