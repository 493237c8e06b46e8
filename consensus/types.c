/* Consensus values: the bytes a proposal's signature covers, and the
 * signature checks of votes, proposals and equivocation evidence.
 *
 * A vote signs exactly what a commit's signature signs (rp_vote_message of
 * ledger/block.h), so a precommit the engine counted can go into a commit
 * unchanged. A proposal signs its own tagged message, laid out in types.h;
 * integers are big-endian like every other encoding of the chain.
 */
#include "consensus/types.h"

#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"

int rp_cs_is_nil(const rp_hash *h)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < sizeof h->bytes; i++)
        acc |= h->bytes[i];
    return acc == 0;
}

static void be(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

void rp_cs_proposal_message(rp_hash *out, const rp_hash *chain_id, const rp_cs_proposal *p)
{
    unsigned char buf[32 + 8 + 4 + 4 + 32];
    memcpy(buf, chain_id->bytes, 32);
    be(buf + 32, p->height, 8);
    be(buf + 40, p->round, 4);
    /* -1 (no proof-of-lock round) is written as 0xffffffff. */
    be(buf + 44, p->pol_round < 0 ? UINT32_MAX : (uint32_t)p->pol_round, 4);
    memcpy(buf + 48, p->block_hash.bytes, 32);
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_CS_TAG_PROPOSAL);
    rp_th_update(&ctx, buf, sizeof buf);
    rp_th_final(&ctx, out);
}

int rp_cs_vote_verify(const rp_cs_vote *v, const rp_hash *chain_id, const rp_pubkey *key)
{
    rp_hash msg;
    rp_vote_message(&msg, chain_id, v->height, v->round, v->type, &v->block_hash);
    return rp_verify(&v->sig, msg.bytes, sizeof msg.bytes, key) ? 0 : RP_ERR_BAD_SIGNATURE;
}

int rp_cs_proposal_verify(const rp_cs_proposal *p, const rp_hash *chain_id, const rp_pubkey *key)
{
    rp_hash msg;
    rp_cs_proposal_message(&msg, chain_id, p);
    return rp_verify(&p->sig, msg.bytes, sizeof msg.bytes, key) ? 0 : RP_ERR_BAD_SIGNATURE;
}

static int is_vote_type(uint8_t t)
{
    return t == RP_VOTE_PREVOTE || t == RP_VOTE_PRECOMMIT;
}

int rp_cs_evidence_verify(const rp_cs_evidence *e, const rp_hash *chain_id, const rp_pubkey *keys,
                          size_t n)
{
    const rp_cs_vote *a = &e->a, *b = &e->b;
    if (a->validator >= n || b->validator >= n || !is_vote_type(a->type) || !is_vote_type(b->type))
        return RP_ERR_RANGE;
    /* Two votes at different places, or for one hash, prove nothing; a pair
     * in the wrong order is a second encoding of the same proof. */
    if (a->validator != b->validator || a->height != b->height || a->round != b->round ||
        a->type != b->type)
        return RP_ERR_NONCANONICAL;
    if (memcmp(a->block_hash.bytes, b->block_hash.bytes, sizeof a->block_hash.bytes) >= 0)
        return RP_ERR_NONCANONICAL;
    const rp_pubkey *key = &keys[a->validator];
    if (rp_cs_vote_verify(a, chain_id, key) != 0 || rp_cs_vote_verify(b, chain_id, key) != 0)
        return RP_ERR_BAD_SIGNATURE;
    return 0;
}

void rp_cs_evidence_make(rp_cs_evidence *e, const rp_cs_vote *x, const rp_cs_vote *y)
{
    int x_first = memcmp(x->block_hash.bytes, y->block_hash.bytes, sizeof x->block_hash.bytes) < 0;
    e->a = x_first ? *x : *y;
    e->b = x_first ? *y : *x;
}
