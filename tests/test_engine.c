/* Check suite for consensus/engine.c: every rule of Algorithm 1 of
 * Buchman, Kwon and Milosevic firing and not firing, named by its line,
 * and the engine's bounds, one engine at a time.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/engine.h"
#include "consensus/input.h"
#include "consensus/proposer.h"
#include "consensus/types.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "tests/cs_testkit.h"

/* ---- the engine, one at a time -------------------------------------------- */

static const uint64_t P4[4] = {1, 1, 1, 1}; /* proposer of round r: r mod 4 */
static rp_cs_outs out;

static rp_cs_engine *mk(int32_t self)
{
    rp_cs_sched s;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, P4, 4, 1), 0);
    rp_cs_engine *e = rp_cs_new(P4, 4, self, 1, &s, &t);
    ck_assert_ptr_nonnull(e);
    out.n = 0;
    rp_cs_start(e, &out);
    return e;
}

static size_t count(enum rp_cs_out_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < out.n; i++)
        c += out.v[i].kind == k;
    return c;
}

static const rp_cs_out *first(enum rp_cs_out_kind k)
{
    for (size_t i = 0; i < out.n; i++)
        if (out.v[i].kind == k)
            return &out.v[i];
    return NULL;
}

/* Feed a proposal, vote, timeout or verdict with a fresh output list. */
static int prop(rp_cs_engine *e, uint32_t round, int32_t pol, uint16_t who, rp_hash h)
{
    rp_cs_proposal p = mkprop(round, pol, who, h);
    out.n = 0;
    return rp_cs_on_proposal(e, &p, &out);
}

static int vote(rp_cs_engine *e, uint8_t type, uint32_t round, uint16_t who, rp_hash h)
{
    rp_cs_vote v = mkvote(type, round, who, h);
    out.n = 0;
    return rp_cs_on_vote(e, &v, &out);
}

static void votes(rp_cs_engine *e, uint8_t type, uint32_t round, rp_hash h, unsigned mask)
{
    for (uint16_t i = 0; i < 4; i++)
        if (mask & (1u << i))
            ck_assert_int_eq(vote(e, type, round, i, h), 0);
}

static int tmo(rp_cs_engine *e, enum rp_cs_step step, uint32_t round)
{
    out.n = 0;
    return rp_cs_on_timeout(e, step, 1, round, &out);
}

static int verdict(rp_cs_engine *e, rp_hash h, int ok)
{
    out.n = 0;
    return rp_cs_on_verdict(e, &h, ok, &out);
}

static rp_cs_state state(const rp_cs_engine *e)
{
    rp_cs_state st;
    rp_cs_get_state(e, &st);
    return st;
}

/* The last output is our vote of this type for h. */
static void expect_vote(uint8_t type, uint32_t round, rp_hash h)
{
    const rp_cs_out *o = first(RP_CS_OUT_VOTE);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 1);
    ck_assert_uint_eq(o->vote.type, type);
    ck_assert_uint_eq(o->vote.round, round);
    ck_assert_uint_eq(o->vote.height, 1);
    ck_assert(heq(&o->vote.block_hash, &h));
}

static void expect_timeout(enum rp_cs_step step, uint32_t round, uint32_t ms)
{
    const rp_cs_out *o = first(RP_CS_OUT_TIMEOUT);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 1);
    ck_assert_int_eq(o->step, step);
    ck_assert_uint_eq(o->round, round);
    ck_assert_uint_eq(o->height, 1);
    ck_assert_uint_eq(o->ms, ms);
}

/* Validator self (not round 0's proposer) locked on v at round 0, now at
 * round 1 in the propose step. */
static rp_cs_engine *locked_on(int32_t self, rp_hash v)
{
    rp_cs_engine *e = mk(self);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.locked_round, 0);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_uint_eq(state(e).round, 1);
    return e;
}

START_TEST(test_timeouts)
{
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_uint_eq(t.propose_ms, 3000);
    ck_assert_uint_eq(t.propose_delta_ms, 500);
    ck_assert_uint_eq(t.prevote_ms, 1000);
    ck_assert_uint_eq(t.prevote_delta_ms, 500);
    ck_assert_uint_eq(t.precommit_ms, 1000);
    ck_assert_uint_eq(t.precommit_delta_ms, 500);
    ck_assert_uint_eq(t.commit_ms, 1000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PROPOSE, 0), 3000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PROPOSE, 4), 5000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PREVOTE, 2), 2000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PRECOMMIT, 3), 2500);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PRECOMMIT, UINT32_MAX), UINT32_MAX);
    t.prevote_ms = UINT32_MAX;
    t.prevote_delta_ms = UINT32_MAX;
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PREVOTE, UINT32_MAX), UINT32_MAX);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PREVOTE, 0), UINT32_MAX);
}
END_TEST

START_TEST(test_new_refusals)
{
    rp_cs_sched s, s3;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, P4, 4, 1), 0);
    ck_assert_int_eq(rp_cs_sched_init(&s3, P4, 3, 1), 0);
    ck_assert_ptr_null(rp_cs_new(P4, 0, 0, 1, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, 4, 1, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, -2, 1, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, 0, 0, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, 0, 1, &s3, &t)); /* another set's schedule */
    const uint64_t zero[4] = {1, 0, 1, 1};
    ck_assert_ptr_null(rp_cs_new(zero, 4, 0, 1, &s, &t));
    const uint64_t other[4] = {1, 2, 1, 1};
    ck_assert_ptr_null(rp_cs_new(other, 4, 0, 1, &s, &t));
    rp_cs_engine *e = rp_cs_new(P4, 4, -1, 1, &s, &t);
    ck_assert_ptr_nonnull(e);
    rp_cs_free(e);
    rp_cs_free(NULL);
}
END_TEST

/* L10-21: the proposer asks for a block, everyone schedules the propose
 * timeout; a second start does nothing. */
START_TEST(test_start_round)
{
    rp_cs_engine *e = mk(0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_BUILD);
    ck_assert_uint_eq(out.v[0].height, 1);
    ck_assert_uint_eq(out.v[0].round, 0);
    expect_timeout(RP_CS_PROPOSE, 0, 3000);
    rp_cs_state st = state(e);
    ck_assert_uint_eq(st.round, 0);
    ck_assert_int_eq(st.step, RP_CS_PROPOSE);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, -1);
    ck_assert_int_eq(st.decided, 0);
    out.n = 0;
    rp_cs_start(e, &out);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);

    for (int32_t self = -1; self < 4; self += 2) { /* -1, 1, 3 */
        e = mk(self);
        ck_assert_uint_eq(out.n, 1);
        expect_timeout(RP_CS_PROPOSE, 0, 3000);
        rp_cs_free(e);
    }
}
END_TEST

/* L18-20: the built block is proposed with pol_round -1 and counts as
 * valid: fed back, our proposal gets our prevote without a CHECK. */
START_TEST(test_built_then_proposal)
{
    rp_cs_engine *e = mk(0);
    rp_hash v = hsh(0xB0);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 1, &v, &out), RP_CS_IGNORED);
    ck_assert_int_eq(rp_cs_on_built(e, 2, 0, &v, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(rp_cs_on_built(e, 1, 0, &v, &out), 0);
    ck_assert_uint_eq(out.n, 1);
    const rp_cs_out *o = first(RP_CS_OUT_PROPOSAL);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->proposal.height, 1);
    ck_assert_uint_eq(o->proposal.round, 0);
    ck_assert_int_eq(o->proposal.pol_round, -1);
    ck_assert_uint_eq(o->proposal.proposer, 0);
    ck_assert(heq(&o->proposal.block_hash, &v));
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE); /* moves on our proposal */
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 0, &v, &out), RP_CS_IGNORED); /* once */
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_CHECK), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, v);
    rp_cs_free(e);

    /* Not the proposer: nothing to build. */
    e = mk(1);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 0, &v, &out), RP_CS_IGNORED);
    rp_cs_free(e);
}
END_TEST

/* L22-27 with valid(v) from the ledger, asked once; our prevote moves the
 * step at once but counts only once it comes back signed. */
START_TEST(test_l22_valid)
{
    rp_cs_engine *e = mk(3);
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_CHECK);
    ck_assert(heq(&out.v[0].block_hash, &v));
    ck_assert_int_eq(prop(e, 0, -1, 0, v), RP_CS_IGNORED); /* duplicate */
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    rp_hash w = hsh(0x22);
    ck_assert_int_eq(verdict(e, w, 1), RP_CS_IGNORED); /* never asked */
    ck_assert_int_eq(verdict(e, v, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, v);
    ck_assert_uint_eq(out.v[0].vote.validator, 3);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    ck_assert_int_eq(verdict(e, v, 0), RP_CS_IGNORED); /* answered already */
    rp_cs_vote got[4];
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, v), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 1);
    ck_assert_uint_eq(got[0].validator, 3);
    rp_cs_proposal p;
    ck_assert_int_eq(rp_cs_get_proposal(e, 0, &p), 0);
    ck_assert(heq(&p.block_hash, &v));
    ck_assert_int_eq(rp_cs_get_proposal(e, 1, &p), RP_CS_IGNORED);
    rp_cs_free(e);
}
END_TEST

START_TEST(test_l22_invalid)
{
    rp_cs_engine *e = mk(3);
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 0), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    rp_cs_free(e);
}
END_TEST

/* L22-27 with a lock: nil for another value, the value for the locked one. */
START_TEST(test_l22_locked)
{
    rp_hash v = hsh(0x11), w = hsh(0x22);
    rp_cs_engine *e = locked_on(3, v);
    ck_assert_int_eq(prop(e, 1, -1, 1, w), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    ck_assert_int_eq(verdict(e, w, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, NIL);
    rp_cs_free(e);

    e = locked_on(3, v);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_CHECK), 0); /* verdict known already */
    expect_vote(RP_VOTE_PREVOTE, 1, v);
    rp_cs_free(e);
}
END_TEST

START_TEST(test_proposal_refusals)
{
    rp_cs_engine *e = mk(3);
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 1, v), RP_CS_IGNORED); /* not round 0's proposer */
    ck_assert_int_eq(prop(e, 0, -1, 4, v), RP_CS_BAD);
    ck_assert_int_eq(prop(e, 0, 0, 0, v), RP_CS_BAD); /* pol_round >= round */
    ck_assert_int_eq(prop(e, 2, 2, 2, v), RP_CS_BAD);
    ck_assert_int_eq(prop(e, 2, -2, 2, v), RP_CS_BAD);
    ck_assert_int_eq(prop(e, RP_CS_ROUND_WINDOW + 1, -1, (RP_CS_ROUND_WINDOW + 1) % 4, v),
                     RP_CS_IGNORED);
    rp_cs_proposal p = mkprop(0, -1, 0, v);
    p.height = 2;
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_proposal(e, &p, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(rp_cs_get_proposal(e, 0, &p), RP_CS_IGNORED);
    /* A second, different proposal of the round is not taken. */
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(prop(e, 0, -1, 0, hsh(0x33)), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);
}
END_TEST

/* L28-33 for an unlocked validator: 2f+1 prevotes at vr are needed, in
 * either order with the proposal. */
START_TEST(test_l28_unlocked)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x3); /* round 0: no proposal seen */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, 0, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0); /* only 2 prevotes at round 0 */
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, v);
    rp_cs_free(e);

    /* Invalid: nil even with the proof of lock. */
    e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, 0, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 0), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, NIL);
    rp_cs_free(e);
}
END_TEST

/* L28-33 with a lock: a lock newer than vr on another value gives nil; a
 * lock no newer than vr, or on the same value, gives the value. */
START_TEST(test_l28_locked)
{
    rp_hash v = hsh(0x11), w = hsh(0x22);
    /* Round 0: prevotes for w, no proposal. Round 1: locked on v. Round 2:
     * w again with vr 0: nil, since the lock (round 1) is newer. */
    rp_cs_engine *e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, w, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 1, v, 0x7);
    ck_assert_int_eq(state(e).locked_round, 1);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_int_eq(prop(e, 2, 0, 2, w), 0);
    ck_assert_int_eq(verdict(e, w, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 2, NIL);
    rp_cs_free(e);

    /* The same, but round 2 re-proposes v with vr 1: the locked value. */
    e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 1, v, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_int_eq(prop(e, 2, 1, 2, v), 0);
    expect_vote(RP_VOTE_PREVOTE, 2, v);
    rp_cs_free(e);

    /* Locked on v at round 0; 2f+1 prevoted w at round 1; round 2 proposes
     * w with vr 1 >= the lock's round: the lock gives way. */
    e = locked_on(3, v);
    votes(e, RP_VOTE_PREVOTE, 1, w, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_int_eq(prop(e, 2, 1, 2, w), 0);
    ck_assert_int_eq(verdict(e, w, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 2, w);
    rp_cs_free(e);
}
END_TEST

/* L34-35: once, only in the prevote step, on 2f+1 prevotes of any kind. */
START_TEST(test_l34_prevote_timeout)
{
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, hsh(1)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, hsh(2)), 0);
    expect_timeout(RP_CS_PREVOTE, 0, 1000);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* not twice */
    rp_cs_free(e);

    /* In the propose step the same prevotes do nothing until we prevote. */
    e = mk(3);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, hsh(1)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, hsh(2)), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_uint_eq(out.n, 2);
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    expect_timeout(RP_CS_PREVOTE, 0, 1000);
    rp_cs_free(e);
}
END_TEST

/* L36-43 in the prevote step: lock, precommit, valid value. */
START_TEST(test_l36_lock)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x3);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, v);
    ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 0); /* L34 not needed */
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.step, RP_CS_PRECOMMIT);
    ck_assert_int_eq(st.locked_round, 0);
    ck_assert_int_eq(st.valid_round, 0);
    ck_assert(heq(&st.locked_value, &v));
    ck_assert(heq(&st.valid_value, &v));
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, v), 0); /* first time only */
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);
}
END_TEST

/* L36-43 after precommitting nil: only the valid value moves; and the rule
 * waits for valid(v), firing when the verdict arrives. */
START_TEST(test_l36_valid_only_and_late_verdict)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(1); /* round 1's proposer */
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0xD);
    ck_assert_int_eq(state(e).valid_round, -1); /* valid(v) unknown */
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, 0);
    ck_assert(heq(&st.valid_value, &v));
    /* Round 1: we propose the valid value with its round, no build. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 0);
    const rp_cs_out *o = first(RP_CS_OUT_PROPOSAL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->proposal.pol_round, 0);
    ck_assert_uint_eq(o->proposal.round, 1);
    ck_assert(heq(&o->proposal.block_hash, &v));
    expect_timeout(RP_CS_PROPOSE, 1, 3500);
    rp_cs_free(e);

    /* Proposal and prevotes first, verdict last: L22 then L36 in one go. */
    e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_uint_eq(out.v[0].vote.type, RP_VOTE_PREVOTE);
    ck_assert_uint_eq(out.v[1].vote.type, RP_VOTE_PRECOMMIT);
    ck_assert(heq(&out.v[1].vote.block_hash, &v));
    rp_cs_free(e);

    /* Invalid: prevote nil, and 2f+1 prevotes for it lock nothing. */
    e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    ck_assert_int_eq(verdict(e, v, 0), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    st = state(e);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, -1);
    ck_assert_int_eq(st.step, RP_CS_PREVOTE);
    rp_cs_free(e);
}
END_TEST

/* Thresholds with unequal powers {1,1,1,3} (total 6): 2f+1 is more than
 * 4, f+1 more than 2, so power exactly at two thirds or one third is not
 * enough. */
START_TEST(test_weighted_thresholds)
{
    const uint64_t pw[4] = {1, 1, 1, 3};
    rp_cs_sched s;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 4, 1), 0);
    ck_assert_uint_eq(rp_cs_proposer(&s, 0), 3);
    rp_cs_engine *e = rp_cs_new(pw, 4, -1, 1, &s, &t);
    ck_assert_ptr_nonnull(e);
    out.n = 0;
    rp_cs_start(e, &out);
    /* Precommits: 3 + 1 = 4 of 6 is exactly two thirds: no L47. */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 0, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 1, NIL), 0);
    expect_timeout(RP_CS_PRECOMMIT, 0, 1000);
    /* Three light validators (3 of 6) decide nothing either. */
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 3, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, v), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, v), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    ck_assert_int_eq(state(e).locked_round, -1);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, v), 0);
    ck_assert_int_eq(state(e).locked_round, 0);
    /* f+1: two light senders (2 of 6) are exactly a third: no jump; the
     * heavy one alone is more. */
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 2, 0, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 2, 1, NIL), 0);
    ck_assert_uint_eq(state(e).round, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 4, 3, NIL), 0);
    ck_assert_uint_eq(state(e).round, 4);
    rp_cs_free(e);
}
END_TEST

/* L36-43 waits for the prevote step: in the propose step, 2f+1 prevotes
 * for a proposal whose vr has no proof (L28 cannot fire) lock nothing; once
 * the propose timeout prevotes nil, the rule fires and we lock. */
START_TEST(test_l36_not_in_propose)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, 0, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 1, v, 0x7);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.step, RP_CS_PROPOSE);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, -1);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 1), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_uint_eq(out.v[0].vote.type, RP_VOTE_PREVOTE);
    ck_assert(rp_cs_is_nil(&out.v[0].vote.block_hash));
    ck_assert_uint_eq(out.v[1].vote.type, RP_VOTE_PRECOMMIT);
    ck_assert(heq(&out.v[1].vote.block_hash, &v));
    ck_assert_int_eq(state(e).locked_round, 1);
    rp_cs_free(e);
}
END_TEST

/* L44-46: 2f+1 nil prevotes, in the prevote step only. */
START_TEST(test_l44_nil)
{
    rp_cs_engine *e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, NIL, 0x7);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_uint_eq(out.v[0].vote.type, RP_VOTE_PREVOTE);
    ck_assert_uint_eq(out.v[1].vote.type, RP_VOTE_PRECOMMIT);
    ck_assert(rp_cs_is_nil(&out.v[1].vote.block_hash));
    ck_assert_int_eq(state(e).step, RP_CS_PRECOMMIT);
    rp_cs_free(e);

    e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    votes(e, RP_VOTE_PREVOTE, 0, NIL, 0x3);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, hsh(5)), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0); /* 2 nil of 4: not yet */
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, NIL), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    rp_cs_free(e);
}
END_TEST

/* L47-48: once, on 2f+1 precommits of any kind, whatever the step. */
START_TEST(test_l47_precommit_timeout)
{
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 0, hsh(1)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 1, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 2, hsh(2)), 0);
    expect_timeout(RP_CS_PRECOMMIT, 0, 1000);
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);
}
END_TEST

/* L49-54: proposal, valid(v) and 2f+1 precommits for it, at any round. */
START_TEST(test_l49_decide)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PRECOMMIT, 0, v, 0x3);
    ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 0);
    rp_commit c;
    ck_assert_int_eq(rp_cs_commit(e, &c), RP_CS_IGNORED);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 2, v), 0);
    const rp_cs_out *o = first(RP_CS_OUT_DECIDE);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->round, 0);
    ck_assert(heq(&o->block_hash, &v));
    ck_assert_ptr_eq(o, &out.v[out.n - 1]); /* nothing after the decision */
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.decided, 1);
    ck_assert_uint_eq(st.decision_round, 0);
    ck_assert(heq(&st.decision, &v));
    ck_assert_int_eq(rp_cs_commit(e, &c), 0);
    ck_assert_uint_eq(c.version, RP_COMMIT_VERSION);
    ck_assert_uint_eq(c.height, 1);
    ck_assert_uint_eq(c.round, 0);
    ck_assert(heq(&c.block_hash, &v));
    ck_assert_uint_eq(c.count, 3);
    for (uint16_t i = 0; i < 3; i++)
        ck_assert_uint_eq(c.sigs[i].validator, i);
    unsigned char buf[RP_COMMIT_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);
    /* Decided: every later input is ignored. */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, v), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), RP_CS_IGNORED);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);

    /* Precommits without the proposal: nothing; the proposal and then the
     * verdict decide. An invalid verdict never does. */
    for (int ok = 1; ok >= 0; ok--) {
        e = mk(3);
        votes(e, RP_VOTE_PRECOMMIT, 0, v, 0x7);
        ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 0);
        ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 0);
        ck_assert_int_eq(verdict(e, v, ok), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), (size_t)ok);
        ck_assert_int_eq(state(e).decided, ok);
        rp_cs_free(e);
    }

    /* Precommits for another value than the proposal's do not decide. */
    e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PRECOMMIT, 0, hsh(0x22), 0x7);
    ck_assert_int_eq(state(e).decided, 0);
    rp_cs_free(e);
}
END_TEST

/* L49-54 at an earlier round than ours. */
START_TEST(test_l49_earlier_round)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(-1);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_uint_eq(state(e).round, 2);
    votes(e, RP_VOTE_PRECOMMIT, 0, v, 0xB);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    const rp_cs_out *o = first(RP_CS_OUT_DECIDE);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->round, 0);
    rp_cs_state st = state(e);
    ck_assert_uint_eq(st.round, 2);
    ck_assert_uint_eq(st.decision_round, 0);
    rp_commit c;
    ck_assert_int_eq(rp_cs_commit(e, &c), 0);
    ck_assert_uint_eq(c.round, 0);
    ck_assert_uint_eq(c.count, 3);
    ck_assert_uint_eq(c.sigs[2].validator, 3);
    rp_cs_free(e);
}
END_TEST

/* L55-56: f+1 of the power sending at a higher round moves us there. */
START_TEST(test_l55_round_skip)
{
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 3, 0, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* 1 of 4 is not more than a third */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 3, 0, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* the same sender twice */
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 5, 1, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* one at round 3, one at round 5 */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 3, 2, NIL), 0);
    expect_timeout(RP_CS_PROPOSE, 3, 3000 + 3 * 500);
    ck_assert_uint_eq(state(e).round, 3);
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    rp_cs_free(e);

    /* A proposal counts as its proposer's message; our round does not. */
    e = mk(2); /* round 2's proposer */
    votes(e, RP_VOTE_PREVOTE, 0, NIL, 0x3);
    ck_assert_uint_eq(state(e).round, 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, hsh(0x11)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 1, 0, NIL), 0);
    ck_assert_uint_eq(state(e).round, 1);
    ck_assert_int_eq(first(RP_CS_OUT_TIMEOUT)->round, 1);
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 0);
    /* At round 2 we propose: the jump asks for a block. */
    votes(e, RP_VOTE_PRECOMMIT, 2, NIL, 0x3);
    ck_assert_uint_eq(state(e).round, 2);
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 1);
    rp_cs_free(e);
}
END_TEST

/* L57-60, L61-64, L65-67: the timeouts, and the stale ones ignored. */
START_TEST(test_timeout_rules)
{
    rp_cs_sched s;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, P4, 4, 1), 0);
    rp_cs_engine *e = rp_cs_new(P4, 4, 3, 1, &s, &t);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), RP_CS_IGNORED); /* not started */
    out.n = 0;
    rp_cs_start(e, &out);

    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), RP_CS_IGNORED); /* step propose */
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 1), RP_CS_IGNORED); /* other round */
    ck_assert_int_eq(tmo(e, (enum rp_cs_step)7, 0), RP_CS_BAD);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_timeout(e, RP_CS_PROPOSE, 2, 0, &out), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0); /* L57 */
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), 0); /* L61 */
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    ck_assert_int_eq(state(e).step, RP_CS_PRECOMMIT);
    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0); /* L65 */
    expect_timeout(RP_CS_PROPOSE, 1, 3500);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_uint_eq(state(e).round, 1);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), RP_CS_IGNORED); /* stale */
    /* L65 whatever the step: from propose straight to the next round. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_uint_eq(state(e).round, 2);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 2), 0);
    ck_assert_uint_eq(state(e).round, 3); /* ours: build */
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 1);
    ck_assert_uint_eq(first(RP_CS_OUT_BUILD)->round, 3);
    /* A build that comes too late is ignored. */
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 3), 0);
    rp_hash v = hsh(0x44);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 3, &v, &out), RP_CS_IGNORED);
    rp_cs_free(e);
}
END_TEST

/* A second vote at one (height, round, type) is evidence, reported once
 * and counted for its own block (never twice toward "any"); the same vote
 * again is a duplicate. */
START_TEST(test_equivocation)
{
    ev_keys();
    rp_hash v = hsh(0x11), w = hsh(0x22);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    rp_cs_vote x = mkvote(RP_VOTE_PREVOTE, 0, 1, w), y = mkvote(RP_VOTE_PREVOTE, 0, 1, v);
    sign_vote(&x, &ev_sk[1]);
    sign_vote(&y, &ev_sk[1]);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_vote(e, &x, &out), 0);
    ck_assert_int_eq(rp_cs_on_vote(e, &x, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(rp_cs_on_vote(e, &y, &out), 0);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_EVIDENCE);
    const rp_cs_evidence *ev = &out.v[0].evidence;
    ck_assert(heq(&ev->a.block_hash, &v));
    ck_assert(heq(&ev->b.block_hash, &w));
    ck_assert_int_eq(rp_cs_evidence_verify(ev, &chain_id, ev_pk, NK), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, hsh(0x33)), RP_CS_IGNORED);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, v), RP_CS_IGNORED);
    rp_cs_vote got[4];
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 2);
    ck_assert(heq(&got[0].block_hash, &w));
    ck_assert(heq(&got[1].block_hash, &v));
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 1), 1);
    /* Counted for v too: with round 0's proposal for v and the prevotes of
     * 0 and 2, v has three prevotes of four (1's second among them), and
     * this engine, in the prevote step since its propose timeout, precommits
     * v. */
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, v);
    /* The precommit slot is separate. */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 1, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_EVIDENCE), 0);
    rp_cs_free(e);
    /* But once toward "2f+1 of any": 1's two prevotes and 0's are two
     * validators of four, not three, so no prevote timeout yet. */
    e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_vote(e, &x, &out), 0);
    ck_assert_int_eq(rp_cs_on_vote(e, &y, &out), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_timeout(RP_CS_PREVOTE, 0, 1000);
    rp_cs_free(e);
}
END_TEST

START_TEST(test_bounds)
{
    rp_cs_engine *e = mk(3);
    const uint32_t W = RP_CS_ROUND_WINDOW;
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, W, 0, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, W + 1, 0, NIL), RP_CS_IGNORED);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, UINT32_MAX, 0, NIL), RP_CS_IGNORED);
    rp_cs_vote got[4];
    ck_assert_uint_eq(rp_cs_votes(e, W, RP_VOTE_PREVOTE, got, 4), 1);
    ck_assert_uint_eq(rp_cs_votes(e, W + 1, RP_VOTE_PREVOTE, got, 4), 0);
    ck_assert_uint_eq(rp_cs_votes(e, W, 3, got, 4), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 4, NIL), RP_CS_BAD);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, UINT16_MAX, NIL), RP_CS_BAD);
    ck_assert_int_eq(vote(e, 0, 0, 0, NIL), RP_CS_BAD);
    ck_assert_int_eq(vote(e, 3, 0, 0, NIL), RP_CS_BAD);
    rp_cs_vote v = mkvote(RP_VOTE_PREVOTE, 0, 0, NIL);
    v.height = 2;
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_vote(e, &v, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 0);
    /* The window moves with the round. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, W + 1, 0, NIL), 0);
    /* rp_cs_votes copies at most max. */
    votes(e, RP_VOTE_PRECOMMIT, 1, NIL, 0x7);
    ck_assert_uint_eq(rp_cs_votes(e, 1, RP_VOTE_PRECOMMIT, got, 2), 2);
    ck_assert_uint_eq(got[1].validator, 1);
    rp_cs_free(e);
}
END_TEST

/* A full node follows and decides but never builds or signs. */
START_TEST(test_full_node)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(-1);
    size_t signs = count(RP_CS_OUT_BUILD) + count(RP_CS_OUT_VOTE) + count(RP_CS_OUT_PROPOSAL);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    signs += count(RP_CS_OUT_VOTE);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    for (uint16_t i = 0; i < 3; i++) {
        ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, i, v), 0);
        signs += count(RP_CS_OUT_VOTE);
    }
    ck_assert_int_eq(state(e).locked_round, 0);
    for (uint16_t i = 0; i < 2; i++)
        ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, i, v), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 1);
    ck_assert_uint_eq(signs, 0);
    rp_cs_free(e);

    /* Through the timeouts and into round 2 (a round of a proposer other
     * than itself, of course): still nothing to sign. */
    e = mk(-1);
    for (uint32_t r = 0; r < 2; r++) {
        ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, r), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
        ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, r), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
        ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, r), 0);
        ck_assert_uint_eq(out.n, 1);
        ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 1);
    }
    rp_cs_free(e);
}
END_TEST

START_TEST(test_input_apply)
{
    rp_cs_engine *e = mk(0);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);
    in.kind = 6;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);

    in.kind = RP_CS_IN_BUILT;
    in.height = 1;
    in.round = 0;
    in.block_hash = hsh(0x11);
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_PROPOSAL);

    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_PROPOSAL;
    in.proposal = out.v[0].proposal;
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, hsh(0x11));

    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VOTE;
    in.vote = mkvote(RP_VOTE_PREVOTE, 0, 4, NIL);
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);
    in.vote.validator = 1;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);

    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_TIMEOUT;
    in.step = RP_CS_PREVOTE;
    in.height = 1;
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    in.step = 3;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);

    /* A verdict for a block proposed at round 1. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, hsh(0x22)), 0);
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VERDICT;
    in.block_hash = hsh(0x22);
    in.valid = 2;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);
    in.valid = 1;
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, hsh(0x22));
    rp_cs_free(e);
}
END_TEST


static Suite *suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc;

    tc = tcase_create("engine");
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_new_refusals);
    tcase_add_test(tc, test_start_round);
    tcase_add_test(tc, test_built_then_proposal);
    tcase_add_test(tc, test_l22_valid);
    tcase_add_test(tc, test_l22_invalid);
    tcase_add_test(tc, test_l22_locked);
    tcase_add_test(tc, test_proposal_refusals);
    tcase_add_test(tc, test_l28_unlocked);
    tcase_add_test(tc, test_l28_locked);
    tcase_add_test(tc, test_l34_prevote_timeout);
    tcase_add_test(tc, test_l36_lock);
    tcase_add_test(tc, test_l36_valid_only_and_late_verdict);
    tcase_add_test(tc, test_l36_not_in_propose);
    tcase_add_test(tc, test_l44_nil);
    tcase_add_test(tc, test_l47_precommit_timeout);
    tcase_add_test(tc, test_l49_decide);
    tcase_add_test(tc, test_l49_earlier_round);
    tcase_add_test(tc, test_l55_round_skip);
    tcase_add_test(tc, test_weighted_thresholds);
    tcase_add_test(tc, test_timeout_rules);
    tcase_add_test(tc, test_equivocation);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_full_node);
    tcase_add_test(tc, test_input_apply);
        suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cs_test_main(suite());
}
