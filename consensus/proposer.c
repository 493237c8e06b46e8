/* Proposer selection: CometBFT's weighted round robin with priorities, for
 * a validator set that never changes.
 *
 * One step of the sequence adds each validator's power to its priority,
 * picks the highest priority (ties: lowest index) and takes the total power
 * off it; the proposer at position p (= height - 1 + round) is the pick of
 * step p + 1, as in CometBFT, whose validator set takes one step when it is
 * created. Priorities start at zero, sum to zero after every step and stay
 * within the total power, so they fit an int64 with room to spare (the
 * total is below 2^62) and come back to all zero after every P steps: a
 * height far up the chain costs at most P steps to reach.
 */
#include "consensus/proposer.h"

#include <string.h>

#include "consensus/engine.h" /* RP_CS_BAD */

#define MAX_TOTAL (UINT64_C(1) << 62)

/* One step of the sequence over prio; returns the validator it picks. */
static size_t step(const rp_cs_sched *s, int64_t *prio)
{
    size_t best = 0;
    for (size_t i = 0; i < s->n; i++) {
        prio[i] += (int64_t)s->power[i];
        if (prio[i] > prio[best])
            best = i;
    }
    prio[best] -= (int64_t)s->total;
    return best;
}

int rp_cs_sched_init(rp_cs_sched *s, const uint64_t *powers, size_t n, uint64_t height)
{
    memset(s, 0, sizeof *s);
    if (n < 1 || n > RP_CS_MAX_VALIDATORS || height == 0)
        return RP_CS_BAD;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (powers[i] == 0 || powers[i] >= MAX_TOTAL - total) {
            memset(s, 0, sizeof *s);
            return RP_CS_BAD;
        }
        total += powers[i];
        s->power[i] = powers[i];
    }
    s->n = n;
    s->total = total;
    uint64_t steps = (height - 1) % total;
    for (uint64_t k = 0; k < steps; k++)
        step(s, s->prio);
    s->position = height - 1;
    return 0;
}

void rp_cs_sched_next(rp_cs_sched *s)
{
    step(s, s->prio);
    s->position++;
}

uint16_t rp_cs_proposer(const rp_cs_sched *s, uint32_t round)
{
    int64_t prio[RP_CS_MAX_VALIDATORS];
    memcpy(prio, s->prio, s->n * sizeof prio[0]);
    uint64_t more = round % s->total;
    for (uint64_t k = 0; k < more; k++)
        step(s, prio);
    return (uint16_t)step(s, prio);
}
