/* Consensus values (consensus/types.h). For now only the bytes a
 * proposal's signature covers, which the signer (node/signer.h) needs; the
 * engine's branch brings the rest of types.h (verification, evidence), and
 * its version of this file supersedes this one.
 */
#include "consensus/types.h"

#include "ledger/codec.h"

#define PROPOSAL_MSG_SIZE (32 + 8 + 4 + 4 + 32)

void rp_cs_proposal_message(rp_hash *out, const rp_hash *chain_id, const rp_cs_proposal *p)
{
    unsigned char buf[PROPOSAL_MSG_SIZE];
    rp_writer w;
    rp_writer_init(&w, buf, sizeof buf);
    rp_put_bytes(&w, chain_id->bytes, 32);
    rp_put_u64(&w, p->height);
    rp_put_u32(&w, p->round);
    rp_put_u32(&w, p->pol_round < 0 ? UINT32_MAX : (uint32_t)p->pol_round);
    rp_put_bytes(&w, p->block_hash.bytes, 32);
    rp_tagged_hash(out, RP_CS_TAG_PROPOSAL, buf, sizeof buf);
}
