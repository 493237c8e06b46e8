/* The double-sign guard: its decision and its file format (contract and
 * byte layout in guard.h).
 *
 * The decision is a lexicographic comparison of (height, round, step) and,
 * at an equal position, of the message bytes. The file is decoded with the
 * canonical reader (ledger/codec.h); the checksum is plain SHA-256 over the
 * bytes before it -- it guards against rot and torn writes, not against an
 * attacker, who could as well delete the file.
 */
#include "consensus/guard.h"

#include <string.h>

#include "ledger/codec.h"

#define BODY_SIZE (RP_CS_GUARD_SIZE - 32)

void rp_cs_guard_init(rp_cs_guard *g, const rp_hash *chain_id, const rp_pubkey *key)
{
    memset(g, 0, sizeof *g);
    g->chain_id = *chain_id;
    g->key = *key;
}

/* -1, 0 or 1 as position a is before, at or after position b. */
static int cmp_pos(uint64_t ha, uint32_t ra, uint8_t sa, uint64_t hb, uint32_t rb, uint8_t sb)
{
    if (ha != hb)
        return ha < hb ? -1 : 1;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return 0;
}

enum rp_cs_guard_verdict rp_cs_guard_decide(const rp_cs_guard *g, uint64_t height, uint32_t round,
                                            uint8_t step, const rp_hash *msg)
{
    if (step > RP_CS_PRECOMMIT)
        return RP_CS_GUARD_REFUSE;
    if (!g->has_signed)
        return RP_CS_GUARD_SIGN;
    int c = cmp_pos(height, round, step, g->height, g->round, g->step);
    if (c > 0)
        return RP_CS_GUARD_SIGN;
    if (c == 0 && memcmp(msg->bytes, g->msg.bytes, sizeof msg->bytes) == 0)
        return RP_CS_GUARD_REUSE;
    return RP_CS_GUARD_REFUSE;
}

void rp_cs_guard_record(rp_cs_guard *g, uint64_t height, uint32_t round, uint8_t step,
                        const rp_hash *msg, const rp_sig *sig)
{
    g->has_signed = 1;
    g->height = height;
    g->round = round;
    g->step = step;
    g->msg = *msg;
    g->sig = *sig;
}

static int all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The position fields of an empty state must all be zero: one encoding. */
static int empty_is_zero(const rp_cs_guard *g)
{
    return g->height == 0 && g->round == 0 && g->step == 0 &&
           all_zero(g->msg.bytes, sizeof g->msg.bytes) && all_zero(g->sig.bytes, sizeof g->sig.bytes);
}

int rp_cs_guard_encode(const rp_cs_guard *g, unsigned char out[static RP_CS_GUARD_SIZE])
{
    if (g->has_signed > 1 || g->step > RP_CS_PRECOMMIT || (!g->has_signed && !empty_is_zero(g))) {
        memset(out, 0, RP_CS_GUARD_SIZE);
        return RP_ERR_RANGE;
    }
    rp_writer w;
    rp_writer_init(&w, out, RP_CS_GUARD_SIZE);
    rp_put_bytes(&w, (const unsigned char *)RP_CS_GUARD_MAGIC, RP_CS_GUARD_MAGIC_LEN);
    rp_put_u8(&w, RP_CS_GUARD_VERSION);
    rp_put_bytes(&w, g->chain_id.bytes, 32);
    rp_put_bytes(&w, g->key.bytes, 32);
    rp_put_u8(&w, g->has_signed);
    rp_put_u64(&w, g->height);
    rp_put_u32(&w, g->round);
    rp_put_u8(&w, g->step);
    rp_put_bytes(&w, g->msg.bytes, 32);
    rp_put_bytes(&w, g->sig.bytes, 64);
    rp_hash sum;
    rp_sha256(&sum, out, BODY_SIZE);
    rp_put_bytes(&w, sum.bytes, 32);
    size_t len;
    int rc = rp_writer_finish(&w, &len);
    if (rc == 0 && len != RP_CS_GUARD_SIZE)
        rc = RP_ERR_BUFFER; /* the layout above and RP_CS_GUARD_SIZE disagree */
    if (rc)
        memset(out, 0, RP_CS_GUARD_SIZE);
    return rc;
}

int rp_cs_guard_decode(rp_cs_guard *g, const unsigned char *in, size_t len)
{
    rp_reader r;
    unsigned char magic[RP_CS_GUARD_MAGIC_LEN];
    int rc;

    memset(g, 0, sizeof *g);
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, magic, sizeof magic, "magic");
    if (r.err)
        return r.err;
    if (memcmp(magic, RP_CS_GUARD_MAGIC, sizeof magic) != 0)
        return RP_ERR_CS_MAGIC;
    uint8_t version = rp_get_u8(&r, "version");
    if (r.err)
        return r.err;
    if (version != RP_CS_GUARD_VERSION)
        return RP_ERR_BAD_VERSION;
    if (len < RP_CS_GUARD_SIZE)
        return RP_ERR_TRUNCATED;
    if (len > RP_CS_GUARD_SIZE)
        return RP_ERR_TRAILING;

    rp_hash sum;
    rp_sha256(&sum, in, BODY_SIZE);
    if (memcmp(sum.bytes, in + BODY_SIZE, 32) != 0)
        return RP_ERR_CS_CHECKSUM;

    rp_get_bytes(&r, g->chain_id.bytes, 32, "chain_id");
    rp_get_bytes(&r, g->key.bytes, 32, "key");
    g->has_signed = rp_get_u8(&r, "signed");
    g->height = rp_get_u64(&r, "height");
    g->round = rp_get_u32(&r, "round");
    g->step = rp_get_u8(&r, "step");
    rp_get_bytes(&r, g->msg.bytes, 32, "message");
    rp_get_bytes(&r, g->sig.bytes, 64, "sig");
    (void)rp_get_view(&r, 32, "checksum");
    rc = rp_reader_finish(&r, NULL);
    if (!rc && (g->has_signed > 1 || g->step > RP_CS_PRECOMMIT))
        rc = RP_ERR_RANGE;
    if (!rc && !g->has_signed && !empty_is_zero(g))
        rc = RP_ERR_NONCANONICAL;
    if (rc)
        memset(g, 0, sizeof *g);
    return rc;
}

int rp_cs_guard_signed_elsewhere(const rp_cs_guard *g, const rp_commit *c, uint16_t self)
{
    const rp_sig *sig = NULL;
    size_t n = c->count <= RP_COMMIT_MAX_SIGS ? c->count : RP_COMMIT_MAX_SIGS;
    for (size_t i = 0; i < n && !sig; i++)
        if (c->sigs[i].validator == self)
            sig = &c->sigs[i].sig;
    if (!sig)
        return 0;
    if (!g->has_signed)
        return 1;
    int pos = cmp_pos(c->height, c->round, RP_CS_PRECOMMIT, g->height, g->round, g->step);
    if (pos < 0)
        return 0;
    if (pos > 0)
        return 1;
    rp_hash msg;
    rp_vote_message(&msg, &g->chain_id, c->height, c->round, RP_VOTE_PRECOMMIT, &c->block_hash);
    return memcmp(msg.bytes, g->msg.bytes, 32) != 0 || memcmp(sig->bytes, g->sig.bytes, 64) != 0;
}
