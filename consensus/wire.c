/* The consensus messages' codec (consensus/wire.h). */
#include "consensus/wire.h"

#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/codec.h"

#define POL_NONE 0xffffffffu

static size_t bitmap_len(uint16_t n)
{
    return ((size_t)n + 7) / 8;
}

int rp_cs_wire_proposal(const rp_cs_proposal *p, const unsigned char *block, size_t blen,
                        const unsigned char *pc, size_t plen, unsigned char *out, size_t cap,
                        size_t *len)
{
    *len = 0;
    if (blen == 0 || blen > RP_BLOCK_MAX_SIZE || !block || plen > RP_COMMIT_MAX_SIZE ||
        (plen && !pc))
        return RP_ERR_TOO_LONG;
    if (p->pol_round < -1 || (p->pol_round >= 0 && (uint32_t)p->pol_round >= p->round) ||
        p->height == 0 || p->proposer >= RP_CS_MAX_VALIDATORS)
        return RP_ERR_RANGE;
    rp_writer w;
    rp_writer_init(&w, out, cap);
    rp_put_u8(&w, RP_CS_MSG_PROPOSAL);
    rp_put_u64(&w, p->height);
    rp_put_u32(&w, p->round);
    rp_put_u32(&w, p->pol_round < 0 ? POL_NONE : (uint32_t)p->pol_round);
    rp_put_bytes(&w, p->block_hash.bytes, 32);
    rp_put_u16(&w, p->proposer);
    rp_put_bytes(&w, p->sig.bytes, 64);
    rp_put_u32(&w, (uint32_t)blen);
    rp_put_bytes(&w, block, blen);
    rp_put_u16(&w, (uint16_t)plen);
    rp_put_bytes(&w, pc, plen);
    return rp_writer_finish(&w, len);
}

static int vote_fields_ok(const rp_cs_vote *v)
{
    return (v->type == RP_VOTE_PREVOTE || v->type == RP_VOTE_PRECOMMIT) && v->height > 0 &&
           v->validator < RP_CS_MAX_VALIDATORS;
}

int rp_cs_wire_vote(const rp_cs_vote *v, unsigned char out[static RP_CS_VOTE_SIZE])
{
    if (!vote_fields_ok(v))
        return RP_ERR_RANGE;
    rp_writer w;
    rp_writer_init(&w, out, RP_CS_VOTE_SIZE);
    rp_put_u8(&w, RP_CS_MSG_VOTE);
    rp_put_u8(&w, v->type);
    rp_put_u64(&w, v->height);
    rp_put_u32(&w, v->round);
    rp_put_bytes(&w, v->block_hash.bytes, 32);
    rp_put_u16(&w, v->validator);
    rp_put_bytes(&w, v->sig.bytes, 64);
    return rp_writer_finish(&w, NULL);
}

/* Bits past n must be zero: one encoding per set. */
static int bitmap_canonical(const unsigned char *map, uint16_t n)
{
    size_t bl = bitmap_len(n);
    for (size_t i = n; i < bl * 8; i++)
        if (rp_cs_bit(map, i))
            return 0;
    return 1;
}

static int state_fields_ok(const rp_cs_state_msg *s)
{
    return s->height > 0 && s->step <= RP_CS_PRECOMMIT && s->has_proposal <= 1 && s->n >= 1 &&
           s->n <= RP_CS_MAX_VALIDATORS;
}

int rp_cs_wire_state(const rp_cs_state_msg *s, unsigned char *out, size_t cap, size_t *len)
{
    *len = 0;
    if (!state_fields_ok(s))
        return RP_ERR_RANGE;
    if (!bitmap_canonical(s->prevotes, s->n) || !bitmap_canonical(s->precommits, s->n))
        return RP_ERR_NONCANONICAL;
    size_t bl = bitmap_len(s->n);
    rp_writer w;
    rp_writer_init(&w, out, cap);
    rp_put_u8(&w, RP_CS_MSG_STATE);
    rp_put_u64(&w, s->height);
    rp_put_u32(&w, s->round);
    rp_put_u8(&w, s->step);
    rp_put_u8(&w, s->has_proposal);
    rp_put_u16(&w, s->n);
    rp_put_bytes(&w, s->prevotes, bl);
    rp_put_bytes(&w, s->precommits, bl);
    return rp_writer_finish(&w, len);
}

static int check_type(rp_reader *r, uint8_t want)
{
    if (rp_get_u8(r, "type") != want && !r->err)
        rp_reader_fail(r, RP_ERR_BAD_TYPE, "type");
    return r->err;
}

int rp_cs_wire_proposal_decode(rp_cs_proposal *p, const unsigned char **block, size_t *blen,
                               const unsigned char **pc, size_t *plen, const unsigned char *in,
                               size_t len, const char **field)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    memset(p, 0, sizeof *p);
    *block = *pc = NULL;
    *blen = *plen = 0;
    check_type(&r, RP_CS_MSG_PROPOSAL);
    p->height = rp_get_u64(&r, "height");
    p->round = rp_get_u32(&r, "round");
    uint32_t pol = rp_get_u32(&r, "pol_round");
    rp_get_bytes(&r, p->block_hash.bytes, 32, "block_hash");
    p->proposer = rp_get_u16(&r, "proposer");
    rp_get_bytes(&r, p->sig.bytes, 64, "signature");
    uint32_t bl = rp_get_u32(&r, "block_len");
    if (!r.err && p->height == 0)
        rp_reader_fail(&r, RP_ERR_RANGE, "height");
    /* pol_round is an int32 in memory: past INT32_MAX only 0xffffffff (none). */
    if (!r.err && pol != POL_NONE && (pol >= p->round || pol > INT32_MAX))
        rp_reader_fail(&r, RP_ERR_RANGE, "pol_round");
    if (!r.err && p->proposer >= RP_CS_MAX_VALIDATORS)
        rp_reader_fail(&r, RP_ERR_RANGE, "proposer");
    if (!r.err && bl == 0)
        rp_reader_fail(&r, RP_ERR_RANGE, "block_len");
    if (!r.err && bl > RP_BLOCK_MAX_SIZE)
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "block_len");
    const unsigned char *b = rp_get_view(&r, bl, "block");
    uint16_t cl = rp_get_u16(&r, "parent_commit_len");
    if (!r.err && cl > RP_COMMIT_MAX_SIZE)
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "parent_commit_len");
    const unsigned char *c = cl ? rp_get_view(&r, cl, "parent_commit") : NULL;
    int rc = rp_reader_finish(&r, field);
    if (rc) {
        memset(p, 0, sizeof *p);
        return rc;
    }
    p->pol_round = pol == POL_NONE ? -1 : (int32_t)pol;
    *block = b;
    *blen = bl;
    *pc = c;
    *plen = cl;
    return 0;
}

int rp_cs_wire_vote_decode(rp_cs_vote *v, const unsigned char *in, size_t len, const char **field)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    memset(v, 0, sizeof *v);
    check_type(&r, RP_CS_MSG_VOTE);
    v->type = rp_get_u8(&r, "vote_type");
    v->height = rp_get_u64(&r, "height");
    v->round = rp_get_u32(&r, "round");
    rp_get_bytes(&r, v->block_hash.bytes, 32, "block_hash");
    v->validator = rp_get_u16(&r, "validator");
    rp_get_bytes(&r, v->sig.bytes, 64, "signature");
    if (!r.err && !vote_fields_ok(v))
        rp_reader_fail(&r, RP_ERR_RANGE,
                       v->height == 0 ? "height"
                       : v->validator >= RP_CS_MAX_VALIDATORS ? "validator"
                                                               : "vote_type");
    int rc = rp_reader_finish(&r, field);
    if (rc)
        memset(v, 0, sizeof *v);
    return rc;
}

int rp_cs_wire_state_decode(rp_cs_state_msg *s, const unsigned char *in, size_t len,
                            const char **field)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    memset(s, 0, sizeof *s);
    check_type(&r, RP_CS_MSG_STATE);
    s->height = rp_get_u64(&r, "height");
    s->round = rp_get_u32(&r, "round");
    s->step = rp_get_u8(&r, "step");
    uint8_t flags = rp_get_u8(&r, "flags");
    s->n = rp_get_u16(&r, "n");
    if (!r.err && (flags & ~1u))
        rp_reader_fail(&r, RP_ERR_NONCANONICAL, "flags");
    s->has_proposal = flags & 1u;
    if (!r.err && !state_fields_ok(s))
        rp_reader_fail(&r, RP_ERR_RANGE,
                       s->height == 0 ? "height" : s->step > RP_CS_PRECOMMIT ? "step" : "n");
    size_t bl = r.err ? 0 : bitmap_len(s->n);
    rp_get_bytes(&r, s->prevotes, bl, "prevotes");
    rp_get_bytes(&r, s->precommits, bl, "precommits");
    if (!r.err && (!bitmap_canonical(s->prevotes, s->n) || !bitmap_canonical(s->precommits, s->n)))
        rp_reader_fail(&r, RP_ERR_NONCANONICAL, "bitmap");
    int rc = rp_reader_finish(&r, field);
    if (rc)
        memset(s, 0, sizeof *s);
    return rc;
}
