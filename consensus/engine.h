/* Tendermint consensus for one height, as a pure state machine.
 *
 * The algorithm is the one of Buchman, Kwon and Milosevic, "The latest
 * gossip on BFT consensus" (2018), Algorithm 1; the code names the line of
 * the paper each rule implements ("L22" ...). With n validators of total
 * power P, f is the largest power with 3f < P: 2f+1 below means "more than
 * two thirds of P" and f+1 means "more than one third of P".
 *
 * Pure: no I/O, no clock, no randomness, no threads, no signatures. Inputs
 * are proposals and votes (whose signatures the caller has checked),
 * timeouts that fired, the ledger's verdict on a proposed block, and the
 * block the caller built when asked to. Every input call appends what the
 * caller must do next to an output list, in order:
 *
 *   RP_CS_OUT_BUILD      we propose at (height, round) and have no valid
 *                        value: build a block, then call rp_cs_on_built.
 *   RP_CS_OUT_PROPOSAL   sign this proposal (through the double-sign
 *                        guard), send it with its block, and feed the
 *                        signed proposal back with rp_cs_on_proposal.
 *   RP_CS_OUT_VOTE       sign this vote (guard), send it, and feed the
 *                        signed vote back with rp_cs_on_vote.
 *   RP_CS_OUT_TIMEOUT    call rp_cs_on_timeout(step, height, round) after
 *                        ms milliseconds (an older timer may stay: stale
 *                        timeouts are ignored). Every validator, the
 *                        proposer too, gets the propose timeout of each
 *                        round, so a build or signature that never comes
 *                        cannot stall the round.
 *   RP_CS_OUT_CHECK      a proposal names this block: check it against the
 *                        tip (ledger/exec.h) and call rp_cs_on_verdict.
 *   RP_CS_OUT_DECIDE     the height is decided on this block at this round;
 *                        rp_cs_commit gives its commit. No further output
 *                        follows for this height; the caller commits the
 *                        block, waits the commit timeout and starts the next
 *                        height with a new engine.
 *   RP_CS_OUT_EVIDENCE   a validator signed two different votes at one
 *                        (height, round, type). Both votes count, each for
 *                        its own block (as the paper counts messages; the
 *                        validator still counts once toward "2f+1 of
 *                        any"). Reported once per (validator, round, type):
 *                        later votes there are ignored.
 *
 * An engine whose self index is -1 (a full node) follows the votes and
 * decides, but never asks to build or sign.
 *
 * Bounds: votes are kept for rounds up to the current round plus
 * RP_CS_ROUND_WINDOW; votes for rounds beyond are ignored (a validator that
 * is far behind in rounds still moves forward: the f+1 rule within the
 * window and its own timeouts). The engine's memory is at most
 * (rounds kept) x 2 x n votes.
 *
 * Threading: an engine is a plain object; one thread at a time.
 */
#ifndef RP_CS_ENGINE_H
#define RP_CS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/types.h"
#include "ledger/block.h"

#define RP_CS_ROUND_WINDOW 64
#define RP_CS_MAX_OUTPUTS 16 /* one input call never appends more */

typedef struct rp_cs_timeouts {
    uint32_t propose_ms, propose_delta_ms;     /* defaults 3000, 500 */
    uint32_t prevote_ms, prevote_delta_ms;     /* defaults 1000, 500 */
    uint32_t precommit_ms, precommit_delta_ms; /* defaults 1000, 500 */
    uint32_t commit_ms;                        /* default 1000 (used by the caller) */
} rp_cs_timeouts;

/* The defaults above. */
void rp_cs_timeouts_default(rp_cs_timeouts *t);
/* The timeout of a step at a round: base + delta x round, saturating. */
uint32_t rp_cs_timeout_ms(const rp_cs_timeouts *t, enum rp_cs_step step, uint32_t round);

enum rp_cs_out_kind {
    RP_CS_OUT_BUILD = 1,
    RP_CS_OUT_PROPOSAL,
    RP_CS_OUT_VOTE,
    RP_CS_OUT_TIMEOUT,
    RP_CS_OUT_CHECK,
    RP_CS_OUT_DECIDE,
    RP_CS_OUT_EVIDENCE,
};

typedef struct rp_cs_out {
    enum rp_cs_out_kind kind;
    uint64_t height;
    uint32_t round;
    enum rp_cs_step step; /* TIMEOUT */
    uint32_t ms;          /* TIMEOUT */
    rp_hash block_hash;   /* CHECK, DECIDE */
    rp_cs_proposal proposal; /* PROPOSAL (sig unset) */
    rp_cs_vote vote;         /* VOTE (sig unset) */
    rp_cs_evidence evidence; /* EVIDENCE */
} rp_cs_out;

typedef struct rp_cs_outs {
    size_t n;
    rp_cs_out v[RP_CS_MAX_OUTPUTS];
} rp_cs_outs;

typedef struct rp_cs_engine rp_cs_engine;

/* A new engine for one height. powers[0..n) are the validators' voting
 * powers (copied; n in 1..RP_CS_MAX_VALIDATORS, each > 0, total below
 * 2^62); self is this node's validator index or -1; proposers: the
 * proposer of each round is rp_cs_proposer(sched, round) (copied).
 * Returns: the engine, or NULL (bad arguments, a schedule of another set of
 *          powers, or out of memory). */
struct rp_cs_sched;
rp_cs_engine *rp_cs_new(const uint64_t *powers, size_t n, int32_t self, uint64_t height,
                        const struct rp_cs_sched *sched, const rp_cs_timeouts *t);
void rp_cs_free(rp_cs_engine *e);

/* StartRound(0) (L10): the first outputs of the height. Call once (a
 * second call does nothing). Proposals and votes fed before it are kept
 * and acted on here; timeouts before it are ignored. */
void rp_cs_start(rp_cs_engine *e, rp_cs_outs *out);

/* Inputs. Each returns 0 if the input was used; RP_CS_IGNORED if it was
 * for another height, a stale round or step, a duplicate, out of the round
 * window, or from a validator that is not the round's proposer, after the
 * height is decided, or when memory for a new round ran out; RP_CS_BAD
 * for an index out of range or a malformed value (pol_round >= round, a
 * vote type that is not one). Ignored and bad inputs change nothing.
 * A round keeps the first proposal it gets; another is ignored.
 * Outputs are appended to out (which the caller empties: out->n = 0). */
#define RP_CS_IGNORED 1
#define RP_CS_BAD 2
int rp_cs_on_proposal(rp_cs_engine *e, const rp_cs_proposal *p, rp_cs_outs *out);
int rp_cs_on_vote(rp_cs_engine *e, const rp_cs_vote *v, rp_cs_outs *out);
int rp_cs_on_timeout(rp_cs_engine *e, enum rp_cs_step step, uint64_t height, uint32_t round,
                     rp_cs_outs *out);
/* The ledger's verdict on a block named by a proposal: valid(v) (nonzero:
 * valid). RP_CS_IGNORED for a block no proposal named (no CHECK was asked)
 * or one already answered. */
int rp_cs_on_verdict(rp_cs_engine *e, const rp_hash *block_hash, int valid, rp_cs_outs *out);
/* The block built after RP_CS_OUT_BUILD for (height, round). Treated as
 * valid (the caller built it on the tip). */
int rp_cs_on_built(rp_cs_engine *e, uint64_t height, uint32_t round, const rp_hash *block_hash,
                   rp_cs_outs *out);

/* After RP_CS_OUT_DECIDE: the commit, the precommits for the decided block
 * at the decision round, in validator order (at most RP_COMMIT_MAX_SIGS).
 * Returns: 0, or RP_CS_IGNORED if the height is not decided. */
int rp_cs_commit(const rp_cs_engine *e, rp_commit *c);

/* State, for node.info, the write-ahead log's tests and the simulator. */
typedef struct rp_cs_state {
    uint64_t height;
    uint32_t round;
    enum rp_cs_step step;
    int32_t locked_round, valid_round; /* -1: none */
    rp_hash locked_value, valid_value;
    int decided;
    uint32_t decision_round;
    rp_hash decision;
} rp_cs_state;
void rp_cs_get_state(const rp_cs_engine *e, rp_cs_state *st);

/* The votes the engine holds for one round and type, for peers that missed
 * them: copies up to max votes into out, one per validator in validator
 * order, then the second votes of validators that signed two (at most 2n
 * in all). Returns how many were copied. */
size_t rp_cs_votes(const rp_cs_engine *e, uint32_t round, uint8_t type, rp_cs_vote *out,
                   size_t max);
/* The proposal of a round, if one was received. Returns 0 or RP_CS_IGNORED. */
int rp_cs_get_proposal(const rp_cs_engine *e, uint32_t round, rp_cs_proposal *p);

#endif /* RP_CS_ENGINE_H */
