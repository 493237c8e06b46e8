/* Tendermint consensus for one height: Algorithm 1 of Buchman, Kwon and
 * Milosevic, "The latest gossip on BFT consensus" (2018), as a pure state
 * machine.
 *
 * How it works. Every input first changes what the engine holds (a stored
 * proposal or vote, a verdict, a step), then evaluate() runs the paper's
 * "upon" rules until none fires. Each rule is a function named after its
 * lines (L22 ...); a rule that must fire only once per round ("for the
 * first time") keeps a flag in its round. Because the rules are re-run after
 * every change, the order in which messages arrive does not matter: a
 * proposal that arrives after its prevotes, or a verdict that arrives after
 * both, fires the same rule.
 *
 * What is held. Rounds are allocated when their first message arrives and
 * kept in an array sorted by round; each has the round's proposal and one
 * prevote and one precommit slot per validator (the first vote; a second,
 * different one is reported as evidence and kept beside it, and each
 * counts for its own block, never twice toward "2f+1 of any"). Rounds below
 * the current one stay: L28 needs the prevotes of an earlier round and L49
 * decides at any round. Blocks named by proposals or built here are kept
 * with their verdict (unknown, valid, invalid), which is the paper's
 * valid(v): a rule that needs valid(v) waits while it is unknown.
 *
 * Deviations from the paper, all on the side of liveness or of the caller:
 *   - every validator, the proposer too, schedules timeoutPropose at
 *     StartRound (CometBFT does the same), so a build or a signature that
 *     never comes cannot stall the round;
 *   - our own proposal and votes count only once the caller feeds them back
 *     signed, but the step moves when they are emitted, as in the paper;
 *   - L55 jumps to the highest round that has f+1 senders.
 */
#include "consensus/engine.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/proposer.h"

typedef struct slot {
    rp_cs_vote vote;
    uint8_t has;      /* a vote is counted */
    uint8_t conflict; /* a second, different vote was reported */
    rp_cs_vote other;
} slot;

typedef struct cs_round {
    uint32_t round;
    uint8_t has_proposal;
    uint8_t prevote_wait;   /* L34 fired */
    uint8_t lock_done;      /* L36 fired */
    uint8_t precommit_wait; /* L47 fired */
    rp_cs_proposal proposal;
    slot slots[]; /* n prevotes, then n precommits */
} cs_round;

enum verdict { UNKNOWN = -1, INVALID = 0, VALID = 1 };

typedef struct block {
    rp_hash hash;
    int verdict;
} block;

struct rp_cs_engine {
    size_t n;
    uint64_t power[RP_CS_MAX_VALIDATORS];
    uint64_t total;
    int32_t self;
    uint64_t height;
    rp_cs_sched sched;
    rp_cs_timeouts t;

    int started;
    uint32_t round;
    enum rp_cs_step step;
    int32_t locked_round, valid_round;
    rp_hash locked_value, valid_value;
    int awaiting_build; /* RP_CS_OUT_BUILD emitted for the current round */
    int decided;
    uint32_t decision_round;
    rp_hash decision;

    cs_round **rounds; /* sorted by round */
    size_t nrounds, caprounds;
    block *blocks;
    size_t nblocks, capblocks;
};

#define MAX_TOTAL (UINT64_C(1) << 62)

/* ---- timeouts ---------------------------------------------------------- */

void rp_cs_timeouts_default(rp_cs_timeouts *t)
{
    t->propose_ms = 3000;
    t->propose_delta_ms = 500;
    t->prevote_ms = 1000;
    t->prevote_delta_ms = 500;
    t->precommit_ms = 1000;
    t->precommit_delta_ms = 500;
    t->commit_ms = 1000;
}

uint32_t rp_cs_timeout_ms(const rp_cs_timeouts *t, enum rp_cs_step step, uint32_t round)
{
    uint32_t base, delta;
    switch (step) {
    case RP_CS_PROPOSE:
        base = t->propose_ms, delta = t->propose_delta_ms;
        break;
    case RP_CS_PREVOTE:
        base = t->prevote_ms, delta = t->prevote_delta_ms;
        break;
    case RP_CS_PRECOMMIT:
        base = t->precommit_ms, delta = t->precommit_delta_ms;
        break;
    default:
        return 0;
    }
    /* (2^32 - 1)^2 + 2^32 - 1 < 2^64: the sum cannot wrap. */
    uint64_t ms = (uint64_t)base + (uint64_t)delta * round;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* ---- outputs ------------------------------------------------------------ */

static rp_cs_out *push(const rp_cs_engine *e, rp_cs_outs *out, enum rp_cs_out_kind kind)
{
    /* The rules fire a bounded number of times per input (see the header's
     * RP_CS_MAX_OUTPUTS); running past it is a bug here, not the caller's. */
    assert(out->n < RP_CS_MAX_OUTPUTS);
    rp_cs_out *o = &out->v[out->n++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->height = e->height;
    o->round = e->round;
    return o;
}

static void out_timeout(rp_cs_engine *e, rp_cs_outs *out, enum rp_cs_step step)
{
    rp_cs_out *o = push(e, out, RP_CS_OUT_TIMEOUT);
    o->step = step;
    o->ms = rp_cs_timeout_ms(&e->t, step, e->round);
}

/* Emit our vote at the current round (nothing for a full node). */
static void out_vote(rp_cs_engine *e, rp_cs_outs *out, uint8_t type, const rp_hash *h)
{
    if (e->self < 0)
        return;
    rp_cs_out *o = push(e, out, RP_CS_OUT_VOTE);
    o->vote.type = type;
    o->vote.height = e->height;
    o->vote.round = e->round;
    o->vote.block_hash = *h;
    o->vote.validator = (uint16_t)e->self;
}

static void out_proposal(rp_cs_engine *e, rp_cs_outs *out, const rp_hash *h, int32_t pol)
{
    rp_cs_out *o = push(e, out, RP_CS_OUT_PROPOSAL);
    o->proposal.height = e->height;
    o->proposal.round = e->round;
    o->proposal.pol_round = pol;
    o->proposal.block_hash = *h;
    o->proposal.proposer = (uint16_t)e->self;
}

/* ---- what is held ------------------------------------------------------- */

static int hash_eq(const rp_hash *a, const rp_hash *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static const rp_hash nil_hash;

/* Index of the first round >= r in e->rounds. */
static size_t round_pos(const rp_cs_engine *e, uint32_t r)
{
    size_t lo = 0, hi = e->nrounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->rounds[mid]->round < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static cs_round *find_round(const rp_cs_engine *e, uint32_t r)
{
    size_t i = round_pos(e, r);
    return i < e->nrounds && e->rounds[i]->round == r ? e->rounds[i] : NULL;
}

/* The round r, allocated if new; NULL when out of memory. */
static cs_round *get_round(rp_cs_engine *e, uint32_t r)
{
    size_t i = round_pos(e, r);
    if (i < e->nrounds && e->rounds[i]->round == r)
        return e->rounds[i];
    if (e->nrounds == e->caprounds) {
        size_t cap = e->caprounds ? 2 * e->caprounds : 8;
        cs_round **p = realloc(e->rounds, cap * sizeof *p);
        if (!p)
            return NULL;
        e->rounds = p;
        e->caprounds = cap;
    }
    cs_round *nr = calloc(1, sizeof *nr + 2 * e->n * sizeof(slot));
    if (!nr)
        return NULL;
    nr->round = r;
    memmove(&e->rounds[i + 1], &e->rounds[i], (e->nrounds - i) * sizeof *e->rounds);
    e->rounds[i] = nr;
    e->nrounds++;
    return nr;
}

static slot *votes_of(const rp_cs_engine *e, cs_round *r, uint8_t type)
{
    return r->slots + (type == RP_VOTE_PRECOMMIT ? e->n : 0);
}

static block *find_block(const rp_cs_engine *e, const rp_hash *h)
{
    for (size_t i = 0; i < e->nblocks; i++)
        if (hash_eq(&e->blocks[i].hash, h))
            return &e->blocks[i];
    return NULL;
}

/* Make room for one more block, so that adding it later cannot fail. */
static int reserve_block(rp_cs_engine *e)
{
    if (e->nblocks < e->capblocks)
        return 0;
    size_t cap = e->capblocks ? 2 * e->capblocks : 8;
    block *p = realloc(e->blocks, cap * sizeof *p);
    if (!p)
        return -1;
    e->blocks = p;
    e->capblocks = cap;
    return 0;
}

static block *add_block(rp_cs_engine *e, const rp_hash *h, int verdict)
{
    block *b = &e->blocks[e->nblocks++];
    b->hash = *h;
    b->verdict = verdict;
    return b;
}

/* valid(v): 1, 0, or UNKNOWN while the ledger has not answered. */
static int valid(const rp_cs_engine *e, const rp_hash *h)
{
    const block *b = find_block(e, h);
    return b ? b->verdict : UNKNOWN;
}

/* ---- counting ----------------------------------------------------------- */

/* "2f+1": more than two thirds of the total power; "f+1": more than a
 * third. The total is below 2^62, so 3 x power fits a u64. */
static int two_thirds(const rp_cs_engine *e, uint64_t power)
{
    return power * 3 > e->total * 2;
}

static int one_third(const rp_cs_engine *e, uint64_t power)
{
    return power * 3 > e->total;
}

/* Power of the votes of a type at round r; for hash h, or for any if NULL. */
static uint64_t power_for(const rp_cs_engine *e, cs_round *r, uint8_t type, const rp_hash *h)
{
    if (!r)
        return 0;
    const slot *s = votes_of(e, r, type);
    uint64_t sum = 0;
    for (size_t i = 0; i < e->n; i++)
        if (s[i].has && (!h || hash_eq(&s[i].vote.block_hash, h) ||
                         (s[i].conflict && hash_eq(&s[i].other.block_hash, h))))
            sum += e->power[i];
    return sum;
}

/* Power of the validators that sent anything at round r (L55). */
static uint64_t power_senders(const rp_cs_engine *e, cs_round *r)
{
    const slot *pv = votes_of(e, r, RP_VOTE_PREVOTE);
    const slot *pc = votes_of(e, r, RP_VOTE_PRECOMMIT);
    uint64_t sum = 0;
    for (size_t i = 0; i < e->n; i++)
        if (pv[i].has || pc[i].has || (r->has_proposal && r->proposal.proposer == i))
            sum += e->power[i];
    return sum;
}

/* ---- the rules ----------------------------------------------------------- */

/* L11-21 StartRound(round). */
static void start_round(rp_cs_engine *e, uint32_t r, rp_cs_outs *out)
{
    e->round = r;
    e->step = RP_CS_PROPOSE;
    e->awaiting_build = 0;
    if (e->self >= 0 && rp_cs_proposer(&e->sched, r) == (uint16_t)e->self) {
        if (e->valid_round >= 0) {
            /* L15-16: propose the valid value again, with its round. */
            out_proposal(e, out, &e->valid_value, e->valid_round);
        } else {
            /* L18: getValue() is the caller's build (rp_cs_on_built). */
            push(e, out, RP_CS_OUT_BUILD);
            e->awaiting_build = 1;
        }
    }
    /* L21 (for everyone: see the file comment). */
    out_timeout(e, out, RP_CS_PROPOSE);
}

static void prevote(rp_cs_engine *e, rp_cs_outs *out, const rp_hash *h)
{
    out_vote(e, out, RP_VOTE_PREVOTE, h);
    e->step = RP_CS_PREVOTE;
}

static void precommit(rp_cs_engine *e, rp_cs_outs *out, const rp_hash *h)
{
    out_vote(e, out, RP_VOTE_PRECOMMIT, h);
    e->step = RP_CS_PRECOMMIT;
}

/* L49-54: a proposal of any round r and 2f+1 precommits at r for its
 * value, valid(v): decide. */
static int rule_decide(rp_cs_engine *e, rp_cs_outs *out)
{
    for (size_t i = 0; i < e->nrounds; i++) {
        cs_round *r = e->rounds[i];
        if (!r->has_proposal)
            continue;
        const rp_hash *v = &r->proposal.block_hash;
        if (!two_thirds(e, power_for(e, r, RP_VOTE_PRECOMMIT, v)) || valid(e, v) != VALID)
            continue;
        e->decided = 1;
        e->decision_round = r->round;
        e->decision = *v;
        rp_cs_out *o = push(e, out, RP_CS_OUT_DECIDE);
        o->round = r->round;
        o->block_hash = *v;
        return 1;
    }
    return 0;
}

/* L55-56: f+1 senders at a round above ours: StartRound there. */
static int rule_skip(rp_cs_engine *e, rp_cs_outs *out)
{
    for (size_t i = e->nrounds; i-- > 0;) {
        cs_round *r = e->rounds[i];
        if (r->round <= e->round)
            return 0;
        if (one_third(e, power_senders(e, r))) {
            start_round(e, r->round, out);
            return 1;
        }
    }
    return 0;
}

/* L22-27 and L28-33: the round's proposal, while in the propose step. */
static int rule_proposal(rp_cs_engine *e, rp_cs_outs *out)
{
    if (e->step != RP_CS_PROPOSE)
        return 0;
    cs_round *r = find_round(e, e->round);
    if (!r || !r->has_proposal)
        return 0;
    const rp_cs_proposal *p = &r->proposal;
    const rp_hash *v = &p->block_hash;
    int ok;
    if (p->pol_round < 0) {
        /* L22-27 */
        int is_valid = valid(e, v);
        if (is_valid == UNKNOWN)
            return 0;
        ok = is_valid && (e->locked_round == -1 || hash_eq(&e->locked_value, v));
    } else {
        /* L28-33: needs 2f+1 prevotes for v at the proposal's vr. */
        if (!two_thirds(e, power_for(e, find_round(e, (uint32_t)p->pol_round), RP_VOTE_PREVOTE, v)))
            return 0;
        int is_valid = valid(e, v);
        if (is_valid == UNKNOWN)
            return 0;
        ok = is_valid && (e->locked_round <= p->pol_round || hash_eq(&e->locked_value, v));
    }
    prevote(e, out, ok ? v : &nil_hash);
    return 1;
}

/* L36-43: the round's proposal and 2f+1 prevotes for it, valid(v), step at
 * least prevote, for the first time in this round. */
static int rule_lock(rp_cs_engine *e, rp_cs_outs *out)
{
    if (e->step < RP_CS_PREVOTE)
        return 0;
    cs_round *r = find_round(e, e->round);
    if (!r || r->lock_done || !r->has_proposal)
        return 0;
    const rp_hash *v = &r->proposal.block_hash;
    if (!two_thirds(e, power_for(e, r, RP_VOTE_PREVOTE, v)) || valid(e, v) != VALID)
        return 0;
    r->lock_done = 1;
    if (e->step == RP_CS_PREVOTE) {
        /* L38-41 */
        e->locked_value = *v;
        e->locked_round = (int32_t)e->round;
        precommit(e, out, v);
    }
    /* L42-43 */
    e->valid_value = *v;
    e->valid_round = (int32_t)e->round;
    return 1;
}

/* L44-46: 2f+1 nil prevotes while in the prevote step: precommit nil. */
static int rule_nil(rp_cs_engine *e, rp_cs_outs *out)
{
    if (e->step != RP_CS_PREVOTE)
        return 0;
    if (!two_thirds(e, power_for(e, find_round(e, e->round), RP_VOTE_PREVOTE, &nil_hash)))
        return 0;
    precommit(e, out, &nil_hash);
    return 1;
}

/* L34-35: 2f+1 prevotes of any kind in the prevote step, for the first
 * time: schedule timeoutPrevote. */
static int rule_prevote_wait(rp_cs_engine *e, rp_cs_outs *out)
{
    if (e->step != RP_CS_PREVOTE)
        return 0;
    cs_round *r = find_round(e, e->round);
    if (!r || r->prevote_wait || !two_thirds(e, power_for(e, r, RP_VOTE_PREVOTE, NULL)))
        return 0;
    r->prevote_wait = 1;
    out_timeout(e, out, RP_CS_PREVOTE);
    return 1;
}

/* L47-48: 2f+1 precommits of any kind, for the first time: schedule
 * timeoutPrecommit. */
static int rule_precommit_wait(rp_cs_engine *e, rp_cs_outs *out)
{
    cs_round *r = find_round(e, e->round);
    if (!r || r->precommit_wait || !two_thirds(e, power_for(e, r, RP_VOTE_PRECOMMIT, NULL)))
        return 0;
    r->precommit_wait = 1;
    out_timeout(e, out, RP_CS_PRECOMMIT);
    return 1;
}

/* Run the rules until none fires. Each firing either moves the step or the
 * round forward, sets a once-per-round flag or decides, so this ends; the
 * lock and nil rules go before L34 so a quorum that settles the round at
 * once does not also schedule a timeout it will never need. */
static void evaluate(rp_cs_engine *e, rp_cs_outs *out)
{
    if (!e->started)
        return;
    while (!e->decided) {
        if (rule_decide(e, out))
            return;
        if (rule_skip(e, out) || rule_proposal(e, out) || rule_lock(e, out) || rule_nil(e, out) ||
            rule_prevote_wait(e, out) || rule_precommit_wait(e, out))
            continue;
        return;
    }
}

/* ---- the engine ---------------------------------------------------------- */

rp_cs_engine *rp_cs_new(const uint64_t *powers, size_t n, int32_t self, uint64_t height,
                        const struct rp_cs_sched *sched, const rp_cs_timeouts *t)
{
    if (!powers || !sched || !t || n < 1 || n > RP_CS_MAX_VALIDATORS || height == 0 || self < -1 ||
        self >= (int64_t)n || sched->n != n)
        return NULL;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        /* The schedule must be of this very set, or its proposers would
         * name validators by other powers. */
        if (powers[i] == 0 || powers[i] >= MAX_TOTAL - total || sched->power[i] != powers[i])
            return NULL;
        total += powers[i];
    }
    rp_cs_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->n = n;
    memcpy(e->power, powers, n * sizeof *powers);
    e->total = total;
    e->self = self;
    e->height = height;
    e->sched = *sched;
    e->t = *t;
    e->locked_round = -1;
    e->valid_round = -1;
    return e;
}

void rp_cs_free(rp_cs_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nrounds; i++)
        free(e->rounds[i]);
    free(e->rounds);
    free(e->blocks);
    free(e);
}

void rp_cs_start(rp_cs_engine *e, rp_cs_outs *out)
{
    if (e->started)
        return;
    e->started = 1;
    /* L10: StartRound(0), then whatever arrived before the start. */
    start_round(e, 0, out);
    evaluate(e, out);
}

/* Rounds beyond the window are not kept (see the header's bounds). */
static int in_window(const rp_cs_engine *e, uint32_t r)
{
    return (uint64_t)r <= (uint64_t)e->round + RP_CS_ROUND_WINDOW;
}

int rp_cs_on_proposal(rp_cs_engine *e, const rp_cs_proposal *p, rp_cs_outs *out)
{
    if (p->proposer >= e->n || p->pol_round < -1 || (int64_t)p->pol_round >= (int64_t)p->round)
        return RP_CS_BAD;
    if (e->decided || p->height != e->height || !in_window(e, p->round) ||
        p->proposer != rp_cs_proposer(&e->sched, p->round))
        return RP_CS_IGNORED;
    cs_round *existing = find_round(e, p->round);
    /* One proposal per round: a second one, even a different one by the
     * same proposer, is not taken (proposals carry no evidence here). */
    if (existing && existing->has_proposal)
        return RP_CS_IGNORED;
    block *b = find_block(e, &p->block_hash);
    if (!b && reserve_block(e) != 0)
        return RP_CS_IGNORED;
    cs_round *r = get_round(e, p->round);
    if (!r)
        return RP_CS_IGNORED;
    r->has_proposal = 1;
    r->proposal = *p;
    if (!b) {
        add_block(e, &p->block_hash, UNKNOWN);
        /* valid(v) is the ledger's answer: ask once per block. */
        rp_cs_out *o = push(e, out, RP_CS_OUT_CHECK);
        o->round = p->round;
        o->block_hash = p->block_hash;
    }
    evaluate(e, out);
    return 0;
}

int rp_cs_on_vote(rp_cs_engine *e, const rp_cs_vote *v, rp_cs_outs *out)
{
    if (v->validator >= e->n || (v->type != RP_VOTE_PREVOTE && v->type != RP_VOTE_PRECOMMIT))
        return RP_CS_BAD;
    if (e->decided || v->height != e->height || !in_window(e, v->round))
        return RP_CS_IGNORED;
    cs_round *r = get_round(e, v->round);
    if (!r)
        return RP_CS_IGNORED;
    slot *s = &votes_of(e, r, v->type)[v->validator];
    if (s->has) {
        if (hash_eq(&s->vote.block_hash, &v->block_hash) || s->conflict)
            return RP_CS_IGNORED;
        /* Signed twice at one (height, round, type): report it once, and
         * count the second vote for its own block too, as the paper counts
         * messages. Counting the first only would let an equivocator split
         * the honest nodes' views for good: a proposer's proof of lock
         * (2f+1 prevotes at pol_round) that includes the vote it saw first
         * would never be enough for a node that saw the other one first,
         * and nodes locked in different rounds could then never agree.
         * Safety holds either way: two 2f+1 sets still share an honest
         * validator, who votes once. */
        s->conflict = 1;
        s->other = *v;
        rp_cs_out *o = push(e, out, RP_CS_OUT_EVIDENCE);
        o->round = v->round;
        rp_cs_evidence_make(&o->evidence, &s->vote, v);
        evaluate(e, out);
        return 0;
    }
    s->has = 1;
    s->vote = *v;
    evaluate(e, out);
    return 0;
}

int rp_cs_on_timeout(rp_cs_engine *e, enum rp_cs_step step, uint64_t height, uint32_t round,
                     rp_cs_outs *out)
{
    if (step != RP_CS_PROPOSE && step != RP_CS_PREVOTE && step != RP_CS_PRECOMMIT)
        return RP_CS_BAD;
    if (!e->started || e->decided || height != e->height || round != e->round)
        return RP_CS_IGNORED;
    switch (step) {
    case RP_CS_PROPOSE:
        /* L57-60 OnTimeoutPropose */
        if (e->step != RP_CS_PROPOSE)
            return RP_CS_IGNORED;
        prevote(e, out, &nil_hash);
        break;
    case RP_CS_PREVOTE:
        /* L61-64 OnTimeoutPrevote */
        if (e->step != RP_CS_PREVOTE)
            return RP_CS_IGNORED;
        precommit(e, out, &nil_hash);
        break;
    case RP_CS_PRECOMMIT:
        /* L65-67 OnTimeoutPrecommit, whatever the step. */
        if (e->round == UINT32_MAX)
            return RP_CS_IGNORED;
        start_round(e, e->round + 1, out);
        break;
    }
    evaluate(e, out);
    return 0;
}

int rp_cs_on_verdict(rp_cs_engine *e, const rp_hash *block_hash, int valid_, rp_cs_outs *out)
{
    if (e->decided)
        return RP_CS_IGNORED;
    block *b = find_block(e, block_hash);
    if (!b || b->verdict != UNKNOWN)
        return RP_CS_IGNORED;
    b->verdict = valid_ ? VALID : INVALID;
    evaluate(e, out);
    return 0;
}

int rp_cs_on_built(rp_cs_engine *e, uint64_t height, uint32_t round, const rp_hash *block_hash,
                   rp_cs_outs *out)
{
    if (e->decided || !e->awaiting_build || height != e->height || round != e->round ||
        e->step != RP_CS_PROPOSE)
        return RP_CS_IGNORED;
    block *b = find_block(e, block_hash);
    if (!b) {
        if (reserve_block(e) != 0)
            return RP_CS_IGNORED;
        b = add_block(e, block_hash, VALID);
    } else if (b->verdict == UNKNOWN) {
        b->verdict = VALID; /* built on the tip here: no need to ask */
    }
    e->awaiting_build = 0;
    /* L19-20: broadcast the proposal with validRound -1. */
    out_proposal(e, out, block_hash, -1);
    evaluate(e, out);
    return 0;
}

int rp_cs_commit(const rp_cs_engine *e, rp_commit *c)
{
    memset(c, 0, sizeof *c);
    if (!e->decided)
        return RP_CS_IGNORED;
    cs_round *r = find_round(e, e->decision_round);
    const slot *s = votes_of(e, r, RP_VOTE_PRECOMMIT);
    c->version = RP_COMMIT_VERSION;
    c->height = e->height;
    c->round = e->decision_round;
    c->block_hash = e->decision;
    for (size_t i = 0; i < e->n; i++) {
        const rp_cs_vote *cv = NULL;
        if (s[i].has && hash_eq(&s[i].vote.block_hash, &e->decision))
            cv = &s[i].vote;
        else if (s[i].has && s[i].conflict && hash_eq(&s[i].other.block_hash, &e->decision))
            cv = &s[i].other;
        if (!cv)
            continue;
        c->sigs[c->count].validator = (uint16_t)i;
        c->sigs[c->count].sig = cv->sig;
        c->count++;
    }
    return 0;
}

void rp_cs_get_state(const rp_cs_engine *e, rp_cs_state *st)
{
    memset(st, 0, sizeof *st);
    st->height = e->height;
    st->round = e->round;
    st->step = e->step;
    st->locked_round = e->locked_round;
    st->valid_round = e->valid_round;
    st->locked_value = e->locked_value;
    st->valid_value = e->valid_value;
    st->decided = e->decided;
    st->decision_round = e->decision_round;
    st->decision = e->decision;
}

size_t rp_cs_votes(const rp_cs_engine *e, uint32_t round, uint8_t type, rp_cs_vote *out, size_t max)
{
    cs_round *r = find_round(e, round);
    if (!r || (type != RP_VOTE_PREVOTE && type != RP_VOTE_PRECOMMIT))
        return 0;
    const slot *s = votes_of(e, r, type);
    size_t k = 0;
    for (size_t i = 0; i < e->n && k < max; i++)
        if (s[i].has)
            out[k++] = s[i].vote;
    /* Then the second votes of equivocators, which peers count too. */
    for (size_t i = 0; i < e->n && k < max; i++)
        if (s[i].has && s[i].conflict)
            out[k++] = s[i].other;
    return k;
}

int rp_cs_get_proposal(const rp_cs_engine *e, uint32_t round, rp_cs_proposal *p)
{
    cs_round *r = find_round(e, round);
    if (!r || !r->has_proposal)
        return RP_CS_IGNORED;
    *p = r->proposal;
    return 0;
}
