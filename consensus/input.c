/* One consensus input as a value, handed to the matching rp_cs_on_* call:
 * the write-ahead log replays these, the simulator delivers them. */
#include "consensus/input.h"

int rp_cs_input_apply(rp_cs_engine *e, const rp_cs_input *in, rp_cs_outs *out)
{
    switch (in->kind) {
    case RP_CS_IN_PROPOSAL:
        return rp_cs_on_proposal(e, &in->proposal, out);
    case RP_CS_IN_VOTE:
        return rp_cs_on_vote(e, &in->vote, out);
    case RP_CS_IN_TIMEOUT:
        return rp_cs_on_timeout(e, (enum rp_cs_step)in->step, in->height, in->round, out);
    case RP_CS_IN_VERDICT:
        if (in->valid > 1)
            return RP_CS_BAD;
        return rp_cs_on_verdict(e, &in->block_hash, in->valid, out);
    case RP_CS_IN_BUILT:
        return rp_cs_on_built(e, in->height, in->round, &in->block_hash, out);
    default:
        return RP_CS_BAD;
    }
}
