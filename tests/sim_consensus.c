/* The consensus simulator: scenarios, the checks, and the runner.
 *
 *   sim_consensus [--seeds N] [--first S] [--heights H]
 *   sim_consensus --seed S [--heights H] [--verbose | --trace]
 *   sim_consensus --scenario NAME [--verbose | --trace]
 *
 * Each seed draws a scenario (4 or 7 validators, equal or unequal powers, up
 * to f Byzantine ones, loss, duplication, reordering, delays, partitions,
 * crashes with restarts, an invalid block) and runs it until every honest
 * validator has committed H heights (default 8). Before the seeds, the
 * scripted scenarios run (hidden lock, a decision for an earlier round,
 * several rounds, an invalid proposal, equivocation). Checked at every
 * step, and a failure printed as one line with the command to reproduce it:
 *   - agreement: honest validators never commit two blocks at one height;
 *   - validity: a decided block was built by the proposer of the round it
 *     was built in, at that height, and is valid;
 *   - no honest validator signs two different messages at one (height,
 *     round, step), and a replay through the guard gets back the very
 *     signature it gave (REUSE);
 *   - every commit is a valid commit; every evidence verifies and names a
 *     Byzantine validator; with a Byzantine validator that equivocated,
 *     at least one honest validator reports evidence;
 *   - liveness: from GST (every partition healed, every crashed node back,
 *     no more loss), with G the highest height an honest validator works
 *     on and r0 the highest round an honest validator is in at G, every
 *     honest validator commits G within
 *       commit + 2 tick + 4 dmax + sum over r = r0 .. r1 of
 *         (propose(r) + prevote(r) + precommit(r) + 4 dmax + tick)
 *     where r1 is the second round after r0 whose proposer is honest; then
 *     the same for the next G, until H.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/proposer.h"
#include "ledger/block.h"
#include "tests/sim.h"

/* ---- checks the nodes call ---- */

void sim_failf(sim *s, const char *fmt, ...)
{
    if (s->fail[0])
        return; /* keep the first */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fail, sizeof s->fail, fmt, ap);
    va_end(ap);
    if (!s->fail[0])
        snprintf(s->fail, sizeof s->fail, "failure");
    if (s->verbose)
        printf("[%8" PRIu64 "] FAIL %s\n", s->now, s->fail);
}

void sim_trace(sim *s, int level, const char *fmt, ...)
{
    if (s->verbose < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%8" PRIu64 "] ", s->now);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

uint64_t sim_power(const sim *s, uint32_t mask)
{
    uint64_t p = 0;
    for (size_t i = 0; i < s->cfg.n; i++)
        if ((mask >> i) & 1)
            p += s->cfg.powers[i];
    return p;
}

void sim_block_hash(const sim *s, rp_hash *out, uint64_t height, uint32_t round, uint16_t proposer,
                    uint32_t variant)
{
    unsigned char b[8 + 8 + 4 + 2 + 4];
    memcpy(b, &s->seed, 8);
    memcpy(b + 8, &height, 8);
    memcpy(b + 16, &round, 4);
    memcpy(b + 20, &proposer, 2);
    memcpy(b + 22, &variant, 4);
    rp_tagged_hash(out, "repute/sim-block/v1", b, sizeof b);
}

const sim_built *sim_find_built(const sim *s, const rp_hash *h)
{
    for (size_t i = 0; i < s->nbuilt; i++)
        if (rp_hash_eq(&s->built[i].hash, h))
            return &s->built[i];
    return NULL;
}

void sim_register_built(sim *s, const sim_built *b)
{
    if (sim_find_built(s, &b->hash))
        return;
    if (s->nbuilt == s->capbuilt) {
        size_t cap = s->capbuilt ? s->capbuilt * 2 : 64;
        sim_built *v = realloc(s->built, cap * sizeof *v);
        if (!v)
            abort();
        s->built = v;
        s->capbuilt = cap;
    }
    s->built[s->nbuilt++] = *b;
}

void sim_on_decide(sim *s, sim_node *nd, uint64_t height, const rp_hash *h, uint32_t round,
                   int synced)
{
    if (synced)
        s->st.synced++;
    else
        s->st.decisions++;
    if (round > s->st.max_round)
        s->st.max_round = round;
    if (nd->byz)
        return;
    if (height > SIM_MAX_HEIGHTS)
        return; /* past what the run asked for: not recorded */
    if (s->have_decided[height] && !rp_hash_eq(&s->decided[height], h)) {
        sim_failf(s, "agreement at height %" PRIu64 ": node %u %s %02x%02x.., another %02x%02x..",
                  height, nd->id, synced ? "synced" : "decided", h->bytes[0], h->bytes[1],
                  s->decided[height].bytes[0], s->decided[height].bytes[1]);
        return;
    }
    s->decided[height] = *h;
    s->have_decided[height] = 1;
    const sim_built *b = sim_find_built(s, h);
    if (!b) {
        sim_failf(s, "validity at height %" PRIu64 ": node %u decided a block nobody built", height,
                  nd->id);
        return;
    }
    if (b->height != height || !b->valid) {
        sim_failf(s,
                  "validity at height %" PRIu64 ": node %u decided %s block of h=%" PRIu64
                  " r=%u by %u",
                  height, nd->id, b->valid ? "a" : "an INVALID", b->height, b->round, b->proposer);
        return;
    }
    rp_cs_sched sc;
    if (rp_cs_sched_init(&sc, s->cfg.powers, s->cfg.n, height) != 0 ||
        rp_cs_proposer(&sc, b->round) != b->proposer)
        sim_failf(s,
                  "validity at height %" PRIu64 ": decided block was built by %u, who does"
                  " not propose round %u",
                  height, b->proposer, b->round);
}

void sim_on_signed(sim *s, uint16_t validator, uint64_t height, uint32_t round, uint8_t step,
                   const rp_hash *msg, const rp_sig *sig, int reused)
{
    for (size_t i = 0; i < s->nsigs; i++) {
        const sim_signed *x = &s->sigs[i];
        if (x->validator != validator || x->height != height || x->round != round ||
            x->step != step)
            continue;
        if (!rp_hash_eq(&x->msg, msg))
            sim_failf(s,
                      "double sign: honest validator %u signed two messages at h=%" PRIu64
                      " r=%u step=%u",
                      validator, height, round, step);
        else if (memcmp(x->sig.bytes, sig->bytes, 64) != 0)
            sim_failf(s,
                      "guard: validator %u signed h=%" PRIu64 " r=%u step=%u again instead"
                      " of reusing the signature",
                      validator, height, round, step);
        return;
    }
    if (reused) {
        sim_failf(
            s, "guard: validator %u reused a signature it never gave (h=%" PRIu64 " r=%u step=%u)",
            validator, height, round, step);
        return;
    }
    if (s->nsigs == s->capsigs) {
        size_t cap = s->capsigs ? s->capsigs * 2 : 256;
        sim_signed *v = realloc(s->sigs, cap * sizeof *v);
        if (!v)
            abort();
        s->sigs = v;
        s->capsigs = cap;
    }
    s->sigs[s->nsigs++] = (sim_signed){validator, height, round, step, *msg, *sig};
}

int sim_signed_before(const sim *s, uint16_t validator, uint64_t height, uint32_t round,
                      uint8_t step, const rp_hash *msg)
{
    for (size_t i = 0; i < s->nsigs; i++) {
        const sim_signed *x = &s->sigs[i];
        if (x->validator == validator && x->height == height && x->round == round &&
            x->step == step)
            return rp_hash_eq(&x->msg, msg);
    }
    return 0;
}

void sim_on_evidence(sim *s, sim_node *nd, const rp_cs_evidence *ev)
{
    int rc = rp_cs_evidence_verify(ev, &s->chain_id, s->keys, s->cfg.n);
    if (rc != 0) {
        sim_failf(s, "evidence from node %u does not verify (%d)", nd->id, rc);
        return;
    }
    uint16_t v = ev->a.validator;
    if (!((s->cfg.byz >> v) & 1)) {
        sim_failf(s, "evidence from node %u against honest validator %u", nd->id, v);
        return;
    }
    if (!nd->byz)
        s->st.evidence++;
    sim_trace(s, 1, "node %u: EVIDENCE against %u at h=%" PRIu64 " r=%u type=%u", nd->id, v,
              ev->a.height, ev->a.round, ev->a.type);
}

/* ---- liveness ---- */

static int honest(const sim *s, size_t i)
{
    return !((s->cfg.byz >> i) & 1);
}

static uint64_t round_ms(const sim *s, uint32_t r)
{
    const sim_config *c = &s->cfg;
    return (uint64_t)rp_cs_timeout_ms(&c->to, RP_CS_PROPOSE, r) +
           rp_cs_timeout_ms(&c->to, RP_CS_PREVOTE, r) +
           rp_cs_timeout_ms(&c->to, RP_CS_PRECOMMIT, r) + 4 * (uint64_t)c->dmax + c->tick_ms;
}

static uint64_t bound_ms(const sim *s, uint64_t height, uint32_t r0)
{
    const sim_config *c = &s->cfg;
    uint64_t b = c->to.commit_ms + 2 * (uint64_t)c->tick_ms + 4 * (uint64_t)c->dmax;
    rp_cs_sched sc;
    rp_cs_sched_init(&sc, c->powers, c->n, height);
    int good = 0;
    for (uint32_t r = r0; good < 2; r++) {
        b += round_ms(s, r);
        if (r > r0 && honest(s, rp_cs_proposer(&sc, r)))
            good++;
    }
    return b;
}

static int goal_met(const sim *s)
{
    for (size_t i = 0; i < s->cfg.n; i++)
        if (honest(s, i) && s->nodes[i].tip < s->goal)
            return 0;
    return 1;
}

static void set_goal(sim *s)
{
    uint64_t g = 0;
    for (size_t i = 0; i < s->cfg.n; i++)
        if (honest(s, i) && s->nodes[i].tip + 1 > g)
            g = s->nodes[i].tip + 1;
    uint32_t r0 = 0;
    for (size_t i = 0; i < s->cfg.n; i++) {
        const sim_node *nd = &s->nodes[i];
        if (!honest(s, i) || !nd->eng || nd->height != g)
            continue;
        rp_cs_state st;
        rp_cs_get_state(nd->eng, &st);
        if (st.round > r0)
            r0 = st.round;
    }
    s->goal = g;
    s->goal_set = s->now;
    s->deadline = s->now + bound_ms(s, g, r0);
    sim_trace(s, 1,
              "liveness: every honest node commits h=%" PRIu64 " by t=%" PRIu64 " (round %u now)",
              g, s->deadline, r0);
}

/* ---- one run ---- */

static void push_simple(sim *s, uint64_t t, uint8_t kind, uint16_t node)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = t;
    e.kind = kind;
    e.node = node;
    e.inc = s->nodes[node].inc;
    sim_push(s, &e);
}

static int all_done(const sim *s)
{
    for (size_t i = 0; i < s->cfg.n; i++)
        if (honest(s, i) && s->nodes[i].tip < s->cfg.heights)
            return 0;
    return 1;
}

#define MAX_EVENTS 20000000ull

/* Run s->cfg from seed. Returns 0 if every check held, else 1 (s->fail). */
static int run(sim *s)
{
    const sim_config *c = &s->cfg;
    sim_verify_cache_clear();
    sim_rng_seed(&s->rng, s->seed);
    rp_tagged_hash(&s->chain_id, RP_TAG_GENESIS, (const unsigned char *)&s->seed, 8);
    for (uint16_t i = 0; i < c->n; i++) {
        if (sim_node_init(s, &s->nodes[i], i) != 0 ||
            rp_pubkey_from_seckey(&s->keys[i], &s->nodes[i].sk) != 0) {
            sim_failf(s, "key derivation failed");
            return 1;
        }
        s->nodes[i].tick_phase = (uint32_t)sim_rng_below(&s->rng, c->tick_ms);
        rp_cs_guard_init(&s->nodes[i].guard, &s->chain_id, &s->keys[i]);
    }
    /* GST: the end of the last partition, restart and lossy period. */
    s->gst = c->lossy_until;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].end > s->gst)
            s->gst = c->parts[i].end;
    for (size_t i = 0; i < c->ncrashes; i++) {
        const sim_crash *k = &c->crashes[i];
        if (k->at + k->down_ms > s->gst)
            s->gst = k->at + k->down_ms;
        push_simple(s, k->at, EV_CRASH, k->node);
        s->heap[s->nheap - 1].height = k->torn; /* the crash's torn flag rides along */
        push_simple(s, k->at + k->down_ms, EV_RESTART, k->node);
    }
    push_simple(s, s->gst, EV_GST, 0);
    sim_trace(s, 1,
              "scenario %s: n=%zu byz=0x%x heights=%" PRIu64 " loss=%u dup=%u reorder=%u"
              " delay=%u..%u parts=%zu crashes=%zu invalid_h=%" PRIu64 " gst=%" PRIu64,
              c->name ? c->name : "random", c->n, c->byz, c->heights, c->loss_pm, c->dup_pm,
              c->reorder_pm, c->dmin, c->dmax, c->nparts, c->ncrashes, c->invalid_height, s->gst);
    for (uint16_t i = 0; i < c->n; i++) {
        sim_node_start_height(s, &s->nodes[i], 1);
        push_simple(s, 1 + s->nodes[i].tick_phase, EV_TICK, i);
    }
    sim_event e;
    while (!s->fail[0] && !all_done(s) && sim_pop(s, &e)) {
        s->now = e.t;
        if (++s->st.events > MAX_EVENTS) {
            sim_failf(s, "runaway: more than %llu events", MAX_EVENTS);
            break;
        }
        sim_node *nd = &s->nodes[e.node];
        switch (e.kind) {
        case EV_DELIVER:
            if (e.inc == nd->inc && !sim_partitioned(s, e.msg.from, e.node, s->now))
                sim_node_deliver(s, nd, &e.msg);
            break;
        case EV_INPUT:
            if (e.inc == nd->inc && nd->up) {
                if (e.in.kind == RP_CS_IN_TIMEOUT)
                    sim_trace(s, 2, "node %u: timeout step=%u h=%" PRIu64 " r=%u", nd->id,
                              e.in.step, e.in.height, e.in.round);
                sim_node_input(s, nd, &e.in);
            }
            break;
        case EV_TICK:
            if (e.inc == nd->inc && nd->up)
                sim_node_tick(s, nd);
            break;
        case EV_NEXT_HEIGHT:
            if (e.inc == nd->inc && nd->up && nd->decided && nd->tip + 1 == e.height)
                sim_node_start_height(s, nd, e.height);
            break;
        case EV_CRASH:
            if (nd->up && !nd->byz)
                sim_node_crash(s, nd, (int)e.height);
            break;
        case EV_RESTART:
            if (!nd->up)
                sim_node_restart(s, nd);
            break;
        case EV_GST:
            s->after_gst = 1;
            sim_trace(s, 1, "GST");
            set_goal(s);
            break;
        }
        if (s->after_gst && !s->fail[0]) {
            if (goal_met(s)) {
                uint64_t pm = (s->now - s->goal_set) * 1000 / (s->deadline - s->goal_set);
                if (pm > s->st.worst_permille)
                    s->st.worst_permille = pm;
                set_goal(s);
            }
            else if (s->now > s->deadline) {
                uint64_t low = UINT64_MAX;
                uint16_t who = 0;
                for (uint16_t i = 0; i < c->n; i++)
                    if (honest(s, i) && s->nodes[i].tip < low) {
                        low = s->nodes[i].tip;
                        who = i;
                    }
                sim_failf(s,
                          "liveness: node %u has not committed height %" PRIu64 " by t=%" PRIu64
                          " (GST %" PRIu64 ")",
                          who, s->goal, s->deadline, s->gst);
            }
        }
    }
    if (!s->fail[0] && !all_done(s))
        sim_failf(s, "the queue ran dry before every node committed");
    if (!s->fail[0] && s->cfg.byz && s->st.double_votes > 0 && s->st.evidence == 0 &&
        c->loss_pm == 0 && c->nparts == 0)
        sim_failf(s, "evidence: %" PRIu64 " double votes, no honest node reported one",
                  s->st.double_votes);
    return s->fail[0] != 0;
}

static void sim_free(sim *s)
{
    for (size_t i = 0; i < s->cfg.n; i++)
        sim_node_free(&s->nodes[i]);
    free(s->heap);
    free(s->built);
    free(s->sigs);
}

/* ---- scenarios ---- */

static void base_config(sim_config *c, uint64_t heights)
{
    memset(c, 0, sizeof *c);
    c->heights = heights;
    c->to = (rp_cs_timeouts){.propose_ms = 1000,
                             .propose_delta_ms = 250,
                             .prevote_ms = 400,
                             .prevote_delta_ms = 200,
                             .precommit_ms = 400,
                             .precommit_delta_ms = 200,
                             .commit_ms = 200};
    c->tick_ms = 500;
    c->dmin = 5;
    c->dmax = 40;
}

/* A random mix of faults, all from the seed. */
static void random_config(sim_config *c, uint64_t seed, uint64_t heights)
{
    sim_rng r;
    sim_rng_seed(&r, seed ^ 0x5eed5eed5eed5eedULL);
    base_config(c, heights);
    c->n = sim_rng_below(&r, 2) ? 7 : 4;
    int equal = (int)sim_rng_below(&r, 2);
    uint64_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        c->powers[i] = equal ? 1 : sim_rng_range(&r, 1, 10);
        total += c->powers[i];
    }
    /* Byzantine: none in 2 of 5 seeds, else up to f (by power: 3 x their
     * power below the total). */
    if (sim_rng_below(&r, 5) >= 2) {
        size_t want = c->n == 4 ? 1 : sim_rng_range(&r, 1, 2);
        uint64_t p = 0;
        for (size_t k = 0; k < want; k++) {
            size_t v = sim_rng_below(&r, c->n);
            if (((c->byz >> v) & 1) || 3 * (p + c->powers[v]) >= total)
                continue;
            c->byz |= 1u << v;
            p += c->powers[v];
        }
    }
    uint32_t profile = (uint32_t)sim_rng_below(&r, 4);
    c->dmin = (uint32_t)sim_rng_range(&r, 1, 20);
    c->dmax = c->dmin + (uint32_t)sim_rng_range(&r, 5, profile == 2 ? 250 : 60);
    if (profile == 1 || profile == 3)
        c->loss_pm = (uint32_t)sim_rng_range(&r, 20, 300);
    if (profile == 3) {
        c->dup_pm = (uint32_t)sim_rng_range(&r, 0, 100);
        c->reorder_pm = (uint32_t)sim_rng_range(&r, 0, 100);
    }
    uint64_t lossy_until =
        c->loss_pm || c->dup_pm || c->reorder_pm ? sim_rng_range(&r, 1000, 8000) : 0;
    if (sim_rng_below(&r, 2)) {
        c->nparts = sim_rng_range(&r, 1, 2);
        for (size_t i = 0; i < c->nparts; i++) {
            sim_partition *p = &c->parts[i];
            p->start = sim_rng_range(&r, 0, 6000);
            p->end = p->start + sim_rng_range(&r, 300, 5000);
            p->side = (uint32_t)sim_rng_range(&r, 1, (1u << c->n) - 2);
        }
    }
    if (sim_rng_below(&r, 2)) {
        size_t k = sim_rng_range(&r, 1, 3);
        for (size_t i = 0; i < k; i++) {
            uint16_t v = (uint16_t)sim_rng_below(&r, c->n);
            if ((c->byz >> v) & 1)
                continue;
            sim_crash *x = &c->crashes[c->ncrashes++];
            x->node = v;
            x->at = sim_rng_range(&r, 0, 6000);
            x->down_ms = sim_rng_range(&r, 100, 4000);
            x->torn = (int)sim_rng_below(&r, 2);
        }
    }
    /* An invalid round-0 block at one height, if its proposer and the
     * Byzantine validators together stay at or below two thirds (they
     * prevote it; more would decide it, which no protocol can prevent). */
    if (sim_rng_below(&r, 5) == 0) {
        uint64_t h = sim_rng_range(&r, 1, heights);
        rp_cs_sched sc;
        rp_cs_sched_init(&sc, c->powers, c->n, h);
        uint16_t p = rp_cs_proposer(&sc, 0);
        uint64_t bad = c->powers[p];
        for (size_t i = 0; i < c->n; i++)
            if (((c->byz >> i) & 1) && i != p)
                bad += c->powers[i];
        if (3 * bad <= 2 * total)
            c->invalid_height = h;
    }
    c->lossy_until = lossy_until;
}

/* ---- scripted scenarios ---- */

/* Nodes a scenario singles out, set before its run. */
static uint16_t sc_a, sc_b;

static uint32_t engine_round(const sim *s, uint16_t i)
{
    rp_cs_state st;
    if (!s->nodes[i].eng)
        return 0;
    rp_cs_get_state(s->nodes[i].eng, &st);
    return st.height == 1 ? st.round : UINT32_MAX;
}

/* No proposal of height 1 reaches anyone in rounds 0 and 1. */
static int filter_rounds(sim *s, const sim_msg *m, uint16_t to)
{
    (void)s;
    (void)to;
    return m->kind == MSG_PROPOSAL && m->proposal.height == 1 && m->proposal.round < 2;
}

/* sc_a misses the round-0 proposal until it is in a later round. */
static int filter_late(sim *s, const sim_msg *m, uint16_t to)
{
    return to == sc_a && m->kind == MSG_PROPOSAL && m->proposal.height == 1 &&
           m->proposal.round == 0 && engine_round(s, sc_a) == 0;
}

/* sc_a's round-0 prevote reaches nobody, and sc_b never gets the round-0
 * proposal: sc_a alone sees 2f+1 prevotes for it and locks on it. */
static int filter_hidden_lock(sim *s, const sim_msg *m, uint16_t to)
{
    (void)s;
    if (m->kind == MSG_VOTE && m->vote.validator == sc_a && m->vote.height == 1 &&
        m->vote.round == 0 && m->vote.type == RP_VOTE_PREVOTE)
        return 1;
    return to == sc_b && m->kind == MSG_PROPOSAL && m->proposal.height == 1 &&
           m->proposal.round == 0;
}

typedef struct scenario {
    const char *name;
    void (*setup)(sim_config *c);
    const char *(*check)(sim *s); /* NULL, or why it failed */
} scenario;

static void four_calm(sim_config *c, uint64_t heights)
{
    base_config(c, heights);
    c->n = 4;
    for (size_t i = 0; i < 4; i++)
        c->powers[i] = 1;
    c->dmin = c->dmax = 10;
}

static uint16_t proposer_at(const sim_config *c, uint64_t h, uint32_t r)
{
    rp_cs_sched sc;
    rp_cs_sched_init(&sc, c->powers, c->n, h);
    return rp_cs_proposer(&sc, r);
}

static void setup_rounds(sim_config *c)
{
    four_calm(c, 2);
    c->filter = filter_rounds;
}

static const char *check_rounds(sim *s)
{
    return s->nodes[0].ledger[0].round >= 2 ? NULL : "height 1 decided before round 2";
}

static void setup_invalid(sim_config *c)
{
    four_calm(c, 2);
    c->invalid_height = 1;
}

static const char *check_invalid(sim *s)
{
    return s->nodes[0].ledger[0].round >= 1 ? NULL : "the invalid block of round 0 was decided";
}

static void setup_late(sim_config *c)
{
    four_calm(c, 2);
    c->to.commit_ms = 3000; /* the others linger on height 1 and rebroadcast */
    uint16_t p0 = proposer_at(c, 1, 0);
    sc_a = (uint16_t)((p0 + 1) % 4);
    c->filter = filter_late;
}

static const char *check_late(sim *s)
{
    return s->st.late > 0 ? NULL : "no node decided for a round before its own";
}

static void setup_hidden_lock(sim_config *c)
{
    four_calm(c, 2);
    uint16_t p0 = proposer_at(c, 1, 0), p1 = proposer_at(c, 1, 1);
    sc_a = sc_b = 4;
    for (uint16_t i = 0; i < 4; i++) {
        if (i == p0 || i == p1)
            continue;
        if (sc_a == 4)
            sc_a = i;
        else if (sc_b == 4)
            sc_b = i;
    }
    if (sc_b == 4) /* p0 == p1: any other */
        for (uint16_t i = 0; i < 4; i++)
            if (i != p0 && i != sc_a)
                sc_b = i;
    c->filter = filter_hidden_lock;
}

static const char *check_hidden_lock(sim *s)
{
    if (s->nodes[0].ledger[0].round < 1)
        return "height 1 decided in round 0";
    rp_hash nil, m;
    memset(&nil, 0, sizeof nil);
    rp_vote_message(&m, &s->chain_id, 1, 1, RP_VOTE_PREVOTE, &nil);
    for (size_t i = 0; i < s->nsigs; i++) {
        const sim_signed *x = &s->sigs[i];
        if (x->validator == sc_a && x->height == 1 && x->round == 1 && x->step == RP_CS_PREVOTE)
            return rp_hash_eq(&x->msg, &m) ? NULL : "the locked node prevoted another block";
    }
    return "the locked node never prevoted in round 1";
}

static void setup_equivocation(sim_config *c)
{
    four_calm(c, 3);
    c->byz = 1u << proposer_at(c, 1, 0);
}

static const char *check_equivocation(sim *s)
{
    return s->st.evidence > 0 ? NULL : "no evidence";
}

static void setup_crash(sim_config *c)
{
    four_calm(c, 3);
    c->ncrashes = 1;
    c->crashes[0] = (sim_crash){.node = 1, .at = 25, .down_ms = 1500, .torn = 1};
}

static const char *check_crash(sim *s)
{
    return s->st.reused > 0 ? NULL : "the replay reused no signature";
}

static const scenario scenarios[] = {
    {"rounds", setup_rounds, check_rounds},
    {"invalid", setup_invalid, check_invalid},
    {"late", setup_late, check_late},
    {"hidden-lock", setup_hidden_lock, check_hidden_lock},
    {"equivocation", setup_equivocation, check_equivocation},
    {"crash-replay", setup_crash, check_crash},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* ---- the runner ---- */

static sim_stats total;

static void add_stats(const sim_stats *a)
{
    total.events += a->events;
    total.signs += a->signs;
    total.verifies += a->verifies;
    total.verify_hits += a->verify_hits;
    total.decisions += a->decisions;
    total.synced += a->synced;
    total.evidence += a->evidence;
    total.double_votes += a->double_votes;
    total.refused += a->refused;
    total.reused += a->reused;
    total.crashes += a->crashes;
    total.replayed += a->replayed;
    total.late += a->late;
    if (a->max_round > total.max_round)
        total.max_round = a->max_round;
    if (a->worst_permille > total.worst_permille)
        total.worst_permille = a->worst_permille;
}

static const char *prog = "build/tests/sim_consensus";

static int run_seed(uint64_t seed, uint64_t heights, int verbose)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->seed = seed;
    s->verbose = verbose;
    random_config(&s->cfg, seed, heights);
    int bad = run(s);
    add_stats(&s->st);
    if (bad)
        printf("FAIL seed=%" PRIu64 ": %s; reproduce: %s --seed %" PRIu64 " --heights %" PRIu64
               " --verbose\n",
               seed, s->fail, prog, seed, heights);
    else if (verbose)
        printf("ok seed=%" PRIu64 ": %" PRIu64 " events, %" PRIu64 " signatures, %" PRIu64
               " verifications, max round %" PRIu64 ", t=%" PRIu64 " ms\n",
               seed, s->st.events, s->st.signs, s->st.verifies, s->st.max_round, s->now);
    sim_free(s);
    free(s);
    return bad;
}

static int run_scenario(const scenario *sc, int verbose)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->seed = 1;
    s->verbose = verbose;
    sc->setup(&s->cfg);
    s->cfg.name = sc->name;
    int bad = run(s);
    const char *why = bad ? s->fail : sc->check(s);
    add_stats(&s->st);
    if (why)
        printf("FAIL scenario %s: %s; reproduce: %s --scenario %s --verbose\n", sc->name, why, prog,
               sc->name);
    else if (verbose)
        printf("ok scenario %s (t=%" PRIu64 " ms)\n", sc->name, s->now);
    sim_free(s);
    free(s);
    return why != NULL;
}

static uint64_t parse_u64(const char *a)
{
    char *end;
    unsigned long long v = strtoull(a, &end, 0);
    if (!*a || *end) {
        fprintf(stderr, "sim_consensus: not a number: %s\n", a);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: sim_consensus [--seeds N] [--first S] [--heights H]\n"
                    "       sim_consensus --seed S [--heights H] [--verbose | --trace]\n"
                    "       sim_consensus --scenario NAME [--verbose | --trace]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t seeds = 100, first = 1, heights = 8, one = 0;
    int have_one = 0, verbose = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--verbose"))
            verbose = 1;
        else if (!strcmp(a, "--trace"))
            verbose = 2;
        else if (!strcmp(a, "--debug"))
            verbose = 3;
        else if (i + 1 < argc && !strcmp(a, "--seeds"))
            seeds = parse_u64(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--first"))
            first = parse_u64(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--heights"))
            heights = parse_u64(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--seed")) {
            one = parse_u64(argv[++i]);
            have_one = 1;
        } else if (i + 1 < argc && !strcmp(a, "--scenario"))
            only = argv[++i];
        else
            usage();
    }
    if (heights < 1 || heights > SIM_MAX_HEIGHTS - 4)
        usage();
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "sim_consensus: rp_crypto_init failed\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fails = 0;
    uint64_t ran = 0;
    if (only) {
        size_t i;
        for (i = 0; i < NSCENARIOS && strcmp(scenarios[i].name, only); i++)
            ;
        if (i == NSCENARIOS) {
            fprintf(stderr, "sim_consensus: no scenario %s\n", only);
            return 2;
        }
        fails += run_scenario(&scenarios[i], verbose);
    } else if (have_one) {
        fails += run_seed(one, heights, verbose);
        ran = 1;
    } else {
        for (size_t i = 0; i < NSCENARIOS; i++)
            fails += run_scenario(&scenarios[i], verbose);
        for (uint64_t k = 0; k < seeds; k++, ran++)
            fails += run_seed(first + k, heights, verbose);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s: %" PRIu64 " seeds (first %" PRIu64 ", %" PRIu64 " heights each) in %.1f s"
           " (%.1f seeds/s): %d failed; %" PRIu64 " events, %" PRIu64 " signatures, %" PRIu64
           " verifications (%" PRIu64 " cached), %" PRIu64 " decisions, %" PRIu64 " synced, "
           "%" PRIu64 " late, max round %" PRIu64 ", %" PRIu64 " crashes (%" PRIu64
           " inputs replayed, %" PRIu64 " signatures reused, %" PRIu64 " refused), %" PRIu64
           " double votes, %" PRIu64 " evidence; slowest height after GST: %" PRIu64
           "%% of its liveness bound\n",
           fails ? "FAILED" : "ok", ran, have_one ? one : first, heights, secs,
           secs > 0 ? (double)ran / secs : 0.0, fails, total.events, total.signs, total.verifies,
           total.verify_hits, total.decisions, total.synced, total.late, total.max_round,
           total.crashes, total.replayed, total.reused, total.refused, total.double_votes,
           total.evidence, total.worst_permille / 10);
    return fails ? 1 : 0;
}
