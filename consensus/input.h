/* One consensus input, as a value: what the node feeds the engine, what the
 * write-ahead log records before acting on it, and what the simulator
 * delivers. rp_cs_input_apply hands it to the matching rp_cs_on_* call, so
 * replaying logged inputs into a fresh engine rebuilds its state.
 */
#ifndef RP_CS_INPUT_H
#define RP_CS_INPUT_H

#include <stdint.h>

#include "consensus/engine.h"

enum rp_cs_input_kind {
    RP_CS_IN_PROPOSAL = 1,
    RP_CS_IN_VOTE = 2,
    RP_CS_IN_TIMEOUT = 3, /* step, height, round */
    RP_CS_IN_VERDICT = 4, /* block_hash, valid */
    RP_CS_IN_BUILT = 5,   /* height, round, block_hash */
};

typedef struct rp_cs_input {
    uint8_t kind; /* enum rp_cs_input_kind */
    rp_cs_proposal proposal;
    rp_cs_vote vote;
    uint8_t step; /* enum rp_cs_step */
    uint64_t height;
    uint32_t round;
    rp_hash block_hash;
    uint8_t valid; /* 0 or 1 */
} rp_cs_input;

/* Feed an input to the engine. Returns what the rp_cs_on_* call returns;
 * RP_CS_BAD for an unknown kind. */
int rp_cs_input_apply(rp_cs_engine *e, const rp_cs_input *in, rp_cs_outs *out);

#endif /* RP_CS_INPUT_H */
