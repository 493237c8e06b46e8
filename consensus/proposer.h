/* Proposer selection: weighted round robin with priorities, as CometBFT
 * specifies it (spec/consensus/proposer-selection.md), deterministic from
 * the validator set and the position (height - 1 + round).
 *
 * Every validator starts with priority 0. One step adds each validator's
 * power to its priority, picks the validator with the highest priority
 * (ties: the lowest index) and subtracts the total power from it. Starting
 * from zero the priorities sum to zero after every step, so CometBFT's
 * centering never moves them, and they stay within the total power, so its
 * rescaling never applies: the sequence is CometBFT's for a set that never
 * changes, and each validator proposes power_i times in every P positions.
 *
 * A schedule holds the priorities at the start of a height and advances
 * one position per height; the proposer of round r at that height is found
 * from a copy advanced r more positions.
 */
#ifndef RP_CS_PROPOSER_H
#define RP_CS_PROPOSER_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/types.h"

typedef struct rp_cs_sched {
    size_t n;
    uint64_t total;
    uint64_t power[RP_CS_MAX_VALIDATORS];
    int64_t prio[RP_CS_MAX_VALIDATORS];
    uint64_t position; /* steps taken from all zero: height - 1 */
} rp_cs_sched;

/* A schedule at height (>= 1): (height - 1) mod P steps from zero, since the
 * sequence repeats every P positions (O(min(height, P) x n)).
 * Returns: 0, or RP_CS_BAD (n out of 1..RP_CS_MAX_VALIDATORS, a power of 0,
 *          a total of 2^62 or more, height 0). */
int rp_cs_sched_init(rp_cs_sched *s, const uint64_t *powers, size_t n, uint64_t height);
/* Move to the next height. */
void rp_cs_sched_next(rp_cs_sched *s);
/* The proposer of a round at the schedule's height (O(round mod P x n)). */
uint16_t rp_cs_proposer(const rp_cs_sched *s, uint32_t round);

#endif /* RP_CS_PROPOSER_H */
