/* The paper's corner cases played by four (or seven) engines that this
 * file wires together by hand: a hidden lock, a decision for an earlier
 * round, rounds lost to offline proposers and an invalid proposal.
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

/* ---- scenarios: engines wired together by hand ------------------------------
 *
 * Each node has an engine, a key and an inbox. What an engine outputs is
 * done at once, as a node would: a BUILD is answered with block_for(node,
 * round), a CHECK with the test's verdict, a VOTE or PROPOSAL is signed,
 * fed back to its own engine and put in every other live node's inbox.
 * Inbox messages are delivered only when the test says so (deliver, or
 * settle for everything not blocked), and timeouts fire only when the test
 * fires them, so each scenario spells out the schedule it plays.
 */
#define NMAX 8
#define QMAX 1024

typedef struct msg {
    int from, live;
    rp_cs_input in;
} msg;

typedef struct timer {
    enum rp_cs_step step;
    uint32_t round, ms;
} timer;

typedef struct node {
    rp_cs_engine *e;
    rp_seckey sk;
    rp_pubkey pk;
    int up;
    msg inbox[QMAX];
    size_t nin;
    timer timers[64];
    size_t ntimers;
    int decided;
    uint32_t decision_round;
    rp_hash decision;
    size_t votes_sent, builds, evidence;
} node;

typedef struct net {
    size_t n;
    uint64_t power[NMAX];
    node nd[NMAX];
    int blocked[NMAX][NMAX]; /* from, to: settle leaves these in the inbox */
    rp_hash invalid;         /* the ledger's verdict is "invalid" for this one */
} net;

static rp_hash block_for(size_t who, uint32_t round)
{
    rp_hash h = NIL;
    h.bytes[0] = 0xB1;
    h.bytes[1] = (unsigned char)who;
    h.bytes[2] = (unsigned char)round;
    return h;
}

static net *net_new(size_t n, unsigned down_mask)
{
    net *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->n = n;
    for (size_t i = 0; i < n; i++)
        t->power[i] = 1;
    rp_cs_sched s;
    rp_cs_timeouts to;
    rp_cs_timeouts_default(&to);
    ck_assert_int_eq(rp_cs_sched_init(&s, t->power, n, 1), 0);
    for (size_t i = 0; i < n; i++) {
        node *d = &t->nd[i];
        key(i, &d->sk, &d->pk);
        d->e = rp_cs_new(t->power, n, (int32_t)i, 1, &s, &to);
        ck_assert_ptr_nonnull(d->e);
        d->up = !(down_mask & (1u << i));
    }
    return t;
}

static void net_free(net *t)
{
    for (size_t i = 0; i < t->n; i++)
        rp_cs_free(t->nd[i].e);
    free(t);
}

static void broadcast(net *t, size_t from, const rp_cs_input *in)
{
    for (size_t j = 0; j < t->n; j++) {
        if (j == from || !t->nd[j].up)
            continue;
        node *d = &t->nd[j];
        ck_assert_uint_lt(d->nin, QMAX);
        d->inbox[d->nin++] = (msg){.from = (int)from, .live = 1, .in = *in};
    }
}

/* A commit as a node would store it: encodable, every signature a valid
 * precommit for the block, more than two thirds of the power. */
static void check_commit(const net *t, const node *d)
{
    rp_commit c;
    ck_assert_int_eq(rp_cs_commit(d->e, &c), 0);
    ck_assert_uint_eq(c.round, d->decision_round);
    ck_assert(heq(&c.block_hash, &d->decision));
    unsigned char buf[RP_COMMIT_MAX_SIZE];
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, NULL), 0);
    uint64_t power = 0, total = 0;
    for (size_t i = 0; i < t->n; i++)
        total += t->power[i];
    for (size_t k = 0; k < c.count; k++) {
        rp_cs_vote v = mkvote(RP_VOTE_PRECOMMIT, c.round, c.sigs[k].validator, c.block_hash);
        v.sig = c.sigs[k].sig;
        ck_assert_int_eq(rp_cs_vote_verify(&v, &chain_id, &t->nd[v.validator].pk), 0);
        power += t->power[v.validator];
    }
    ck_assert(power * 3 > total * 2);
}

/* Apply the first input (if any) and the outputs of everything that
 * follows from it at node i. */
static void run(net *t, size_t i, const rp_cs_input *first_in, const rp_cs_outs *first_out)
{
    node *d = &t->nd[i];
    rp_cs_input q[64];
    size_t head = 0, tail = 0;
    rp_cs_outs o;
    if (first_in)
        q[tail++] = *first_in;
    if (first_out)
        o = *first_out;
    else
        o.n = 0;
    for (;;) {
        for (size_t k = 0; k < o.n; k++) {
            const rp_cs_out *x = &o.v[k];
            rp_cs_input in;
            memset(&in, 0, sizeof in);
            switch (x->kind) {
            case RP_CS_OUT_BUILD:
                d->builds++;
                in.kind = RP_CS_IN_BUILT;
                in.height = x->height;
                in.round = x->round;
                in.block_hash = block_for(i, x->round);
                break;
            case RP_CS_OUT_PROPOSAL:
                in.kind = RP_CS_IN_PROPOSAL;
                in.proposal = x->proposal;
                sign_proposal(&in.proposal, &d->sk);
                broadcast(t, i, &in);
                break;
            case RP_CS_OUT_VOTE:
                d->votes_sent++;
                in.kind = RP_CS_IN_VOTE;
                in.vote = x->vote;
                sign_vote(&in.vote, &d->sk);
                broadcast(t, i, &in);
                break;
            case RP_CS_OUT_CHECK:
                in.kind = RP_CS_IN_VERDICT;
                in.block_hash = x->block_hash;
                in.valid = !heq(&x->block_hash, &t->invalid);
                break;
            case RP_CS_OUT_TIMEOUT:
                ck_assert_uint_lt(d->ntimers, 64);
                d->timers[d->ntimers++] = (timer){x->step, x->round, x->ms};
                break;
            case RP_CS_OUT_DECIDE:
                ck_assert(!d->decided);
                d->decided = 1;
                d->decision_round = x->round;
                d->decision = x->block_hash;
                check_commit(t, d);
                break;
            case RP_CS_OUT_EVIDENCE:
                d->evidence++;
                break;
            }
            if (in.kind) {
                ck_assert_uint_lt(tail, 64);
                q[tail++] = in;
            }
        }
        if (head == tail)
            return;
        o.n = 0;
        int rc = rp_cs_input_apply(d->e, &q[head++], &o);
        ck_assert(rc == 0 || rc == RP_CS_IGNORED);
    }
}

static void start_all(net *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!t->nd[i].up)
            continue;
        rp_cs_outs o = {0};
        rp_cs_start(t->nd[i].e, &o);
        run(t, i, NULL, &o);
    }
}

/* Deliver the first live message in to's inbox from `from` of this kind,
 * vote type (0: a proposal) and round. */
static void deliver(net *t, size_t to, int from, uint8_t type, uint32_t round)
{
    node *d = &t->nd[to];
    for (size_t k = 0; k < d->nin; k++) {
        msg *m = &d->inbox[k];
        if (!m->live || m->from != from)
            continue;
        int match = type == 0 ? m->in.kind == RP_CS_IN_PROPOSAL && m->in.proposal.round == round
                              : m->in.kind == RP_CS_IN_VOTE && m->in.vote.type == type &&
                                    m->in.vote.round == round;
        if (!match)
            continue;
        m->live = 0;
        run(t, to, &m->in, NULL);
        return;
    }
    ck_abort_msg("no message from %d of type %u at round %u for node %zu", from, type, round, to);
}

/* Deliver everything not blocked, in order, until nothing is left. */
static void settle(net *t)
{
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < t->n; i++) {
            node *d = &t->nd[i];
            for (size_t k = 0; d->up && k < d->nin; k++) {
                msg *m = &d->inbox[k];
                if (!m->live || t->blocked[m->from][i])
                    continue;
                m->live = 0;
                progress = 1;
                run(t, i, &m->in, NULL);
            }
        }
    }
}

static int has_timer(const node *d, enum rp_cs_step step, uint32_t round)
{
    for (size_t k = 0; k < d->ntimers; k++)
        if (d->timers[k].step == step && d->timers[k].round == round)
            return 1;
    return 0;
}

/* Fire a timer the engine asked for. */
static void fire(net *t, size_t i, enum rp_cs_step step, uint32_t round)
{
    node *d = &t->nd[i];
    ck_assert_msg(has_timer(d, step, round), "node %zu has no timer %d at round %u", i, step,
                  round);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_TIMEOUT;
    in.step = (uint8_t)step;
    in.height = 1;
    in.round = round;
    run(t, i, &in, NULL);
}

static size_t fire_all(net *t, enum rp_cs_step step, uint32_t round)
{
    size_t fired = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->nd[i].up && !t->nd[i].decided && has_timer(&t->nd[i], step, round)) {
            fire(t, i, step, round);
            fired++;
        }
    return fired;
}

static rp_cs_state nstate(const net *t, size_t i)
{
    rp_cs_state st;
    rp_cs_get_state(t->nd[i].e, &st);
    return st;
}

/* A hidden lock: validator 1 alone sees 2f+1 prevotes for v at round 0 and
 * locks; the others precommit nil. At round 1 validator 1 proposes v again
 * with pol_round 0; the others cannot accept it (L28) until the prevote
 * they missed reaches them, and then all decide v at round 1. */
START_TEST(test_scenario_hidden_lock)
{
    net *t = net_new(4, 0);
    const rp_hash v = block_for(0, 0);
    start_all(t);
    fire(t, 3, RP_CS_PROPOSE, 0); /* 3 never saw the proposal in time: nil */
    deliver(t, 1, 0, 0, 0);
    deliver(t, 2, 0, 0, 0);
    /* 1 gets the prevotes of 0 and 2 and locks; the others miss 1's. */
    deliver(t, 1, 0, RP_VOTE_PREVOTE, 0);
    deliver(t, 1, 2, RP_VOTE_PREVOTE, 0);
    deliver(t, 1, 3, RP_VOTE_PREVOTE, 0);
    ck_assert_int_eq(nstate(t, 1).locked_round, 0);
    deliver(t, 0, 3, RP_VOTE_PREVOTE, 0);
    deliver(t, 0, 2, RP_VOTE_PREVOTE, 0);
    deliver(t, 2, 0, RP_VOTE_PREVOTE, 0);
    deliver(t, 2, 3, RP_VOTE_PREVOTE, 0);
    deliver(t, 3, 0, 0, 0);
    deliver(t, 3, 0, RP_VOTE_PREVOTE, 0);
    deliver(t, 3, 2, RP_VOTE_PREVOTE, 0);
    const size_t others[3] = {0, 2, 3};
    for (size_t k = 0; k < 3; k++)
        fire(t, others[k], RP_CS_PREVOTE, 0);
    for (size_t to = 0; to < 4; to++)
        for (size_t from = 0; from < 4; from++)
            if (from != to)
                deliver(t, to, (int)from, RP_VOTE_PRECOMMIT, 0);
    for (size_t i = 0; i < 4; i++) {
        rp_cs_state st = nstate(t, i);
        ck_assert_int_eq(st.decided, 0);
        ck_assert_int_eq(st.locked_round, i == 1 ? 0 : -1);
        ck_assert_int_eq(st.valid_round, i == 1 ? 0 : -1);
    }
    rp_cs_state locked = nstate(t, 1);
    ck_assert(heq(&locked.locked_value, &v));
    ck_assert_uint_eq(fire_all(t, RP_CS_PRECOMMIT, 0), 4);

    /* Round 1: the locked proposer re-proposes v with its pol_round. */
    ck_assert_uint_eq(t->nd[1].builds, 0);
    rp_cs_proposal p;
    ck_assert_int_eq(rp_cs_get_proposal(t->nd[1].e, 1, &p), 0);
    ck_assert(heq(&p.block_hash, &v));
    ck_assert_int_eq(p.pol_round, 0);
    for (size_t k = 0; k < 3; k++) {
        size_t i = others[k];
        size_t sent = t->nd[i].votes_sent;
        deliver(t, i, 1, 0, 1);
        deliver(t, i, 1, RP_VOTE_PREVOTE, 1);
        ck_assert_uint_eq(t->nd[i].votes_sent, sent); /* L28 waits */
        ck_assert_int_eq(nstate(t, i).step, RP_CS_PROPOSE);
        ck_assert_uint_eq(nstate(t, i).round, 1);
    }
    settle(t); /* the missing round-0 prevote arrives */
    for (size_t i = 0; i < 4; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 1);
        ck_assert(heq(&t->nd[i].decision, &v));
        ck_assert_uint_eq(t->nd[i].evidence, 0);
    }
    net_free(t);
}
END_TEST

/* A decision for an earlier round: 0, 1 and 2 decide v at round 0; 3 sees
 * nothing of 0's, precommits nil and moves to round 1, where 0's proposal
 * and precommit finally arrive and it decides v at round 0. */
START_TEST(test_scenario_earlier_round)
{
    net *t = net_new(4, 0);
    const rp_hash v = block_for(0, 0);
    t->blocked[0][3] = 1;
    start_all(t);
    settle(t);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 0);
    }
    ck_assert(!t->nd[3].decided);
    fire(t, 3, RP_CS_PROPOSE, 0);
    settle(t);
    fire(t, 3, RP_CS_PREVOTE, 0);
    settle(t);
    fire(t, 3, RP_CS_PRECOMMIT, 0);
    rp_cs_state st = nstate(t, 3);
    ck_assert_uint_eq(st.round, 1);
    ck_assert_int_eq(st.decided, 0);
    ck_assert_int_eq(st.locked_round, -1);
    t->blocked[0][3] = 0;
    settle(t);
    ck_assert(t->nd[3].decided);
    ck_assert_uint_eq(t->nd[3].decision_round, 0);
    ck_assert(heq(&t->nd[3].decision, &v));
    st = nstate(t, 3);
    ck_assert_uint_eq(st.round, 1);
    ck_assert_uint_eq(st.decision_round, 0);
    net_free(t);
}
END_TEST

/* Seven validators, the proposers of rounds 0 and 1 offline: two rounds
 * of nil, with timeouts growing, and the five left decide at round 2. */
START_TEST(test_scenario_offline_proposers)
{
    net *t = net_new(7, 0x3);
    start_all(t);
    for (uint32_t r = 0; r < 2; r++) {
        settle(t);
        for (size_t i = 2; i < 7; i++) {
            ck_assert_uint_eq(nstate(t, i).round, r);
            ck_assert_uint_eq(t->nd[i].timers[t->nd[i].ntimers - 1].ms, 3000 + 500 * r);
        }
        ck_assert_uint_eq(fire_all(t, RP_CS_PROPOSE, r), 5);
        settle(t); /* five nil prevotes: L44 precommits nil at once */
        ck_assert_uint_eq(fire_all(t, RP_CS_PREVOTE, r), 0);
        ck_assert_uint_eq(fire_all(t, RP_CS_PRECOMMIT, r), 5);
    }
    settle(t);
    const rp_hash v = block_for(2, 2);
    for (size_t i = 2; i < 7; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 2);
        ck_assert(heq(&t->nd[i].decision, &v));
        rp_commit c;
        ck_assert_int_eq(rp_cs_commit(t->nd[i].e, &c), 0);
        ck_assert_uint_eq(c.count, 5);
        ck_assert_uint_eq(c.sigs[0].validator, 2);
    }
    ck_assert_uint_eq(t->nd[2].builds, 1);
    net_free(t);
}
END_TEST

/* An invalid proposal: its proposer prevotes it, the others prevote nil,
 * the round ends in nil precommits and round 1 decides a valid block. */
START_TEST(test_scenario_invalid_proposal)
{
    net *t = net_new(4, 0);
    t->invalid = block_for(0, 0);
    start_all(t);
    settle(t);
    for (size_t i = 0; i < 4; i++) {
        rp_cs_state st = nstate(t, i);
        ck_assert_int_eq(st.step, RP_CS_PRECOMMIT);
        ck_assert_int_eq(st.locked_round, -1);
        ck_assert_int_eq(st.valid_round, -1);
        ck_assert(!t->nd[i].decided);
        rp_cs_vote pv[4];
        ck_assert_uint_eq(rp_cs_votes(t->nd[i].e, 0, RP_VOTE_PREVOTE, pv, 4), 4);
        ck_assert(heq(&pv[0].block_hash, &t->invalid));
        for (size_t k = 1; k < 4; k++)
            ck_assert(rp_cs_is_nil(&pv[k].block_hash));
    }
    ck_assert_uint_eq(fire_all(t, RP_CS_PRECOMMIT, 0), 4);
    settle(t);
    for (size_t i = 0; i < 4; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 1);
        const rp_hash w = block_for(1, 1);
        ck_assert(heq(&t->nd[i].decision, &w));
    }
    /* The round-0 propose timer, still pending, is stale now. */
    rp_cs_outs out = {0};
    ck_assert_int_eq(rp_cs_on_timeout(t->nd[0].e, RP_CS_PROPOSE, 1, 0, &out), RP_CS_IGNORED);
    net_free(t);
}
END_TEST


static Suite *suite(void)
{
    Suite *s = suite_create("scenarios");
    TCase *tc;

    tc = tcase_create("scenarios");
    tcase_add_test(tc, test_scenario_hidden_lock);
    tcase_add_test(tc, test_scenario_earlier_round);
    tcase_add_test(tc, test_scenario_offline_proposers);
    tcase_add_test(tc, test_scenario_invalid_proposal);
        suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cs_test_main(suite());
}
