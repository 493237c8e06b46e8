/* One simulated validator: the engine of its current height, the guard and
 * the write-ahead log it keeps "on disk", its ledger, crash and restart,
 * catch-up, and the Byzantine behaviour.
 *
 * An honest node does what a node must (consensus/engine.h): every input is
 * appended to the WAL before the engine sees it; every proposal and vote the
 * engine asks for is signed through the guard, sent to every peer and fed
 * back. What survives a crash is the guard, the WAL bytes, the ledger
 * (blocks with their commits) and the signing counter; the engine, held
 * messages and timers die with the incarnation. A restart makes a new
 * engine at the ledger's next height, replays the WAL's valid prefix
 * through the same path (so the replayed proposals and votes go through the
 * guard again, which must hand back the very signatures it gave) and goes on.
 *
 * Catch-up: every tick (cfg.tick_ms) a node sends its height (STATUS) and
 * rebroadcasts the proposals and votes its engine holds for the current and
 * the previous round. A node that hears of a higher height asks the sender
 * for its blocks from its own next height on (block sync), checks each
 * commit and starts the height after the last one.
 *
 * A Byzantine node runs an engine too but bypasses the guard: it proposes
 * two blocks, one to each half of its peers, and signs a second, conflicting
 * vote for every vote its engine asks for, sending both to everyone in
 * random order.
 */
#include <stdlib.h>
#include <string.h>

#include "consensus/guard.h"
#include "consensus/wal.h"
#include "ledger/block.h"
#include "tests/sim.h"

/* ---- the write-ahead log (consensus/wal.h): a header, then inputs ---- */

static void wal_put(sim_node *nd, const unsigned char *p, size_t n)
{
    if (nd->wal_len + n > nd->wal_cap) {
        size_t cap = nd->wal_cap ? nd->wal_cap * 2 : 4096;
        while (cap < nd->wal_len + n)
            cap *= 2;
        unsigned char *w = realloc(nd->wal, cap);
        if (!w)
            abort();
        nd->wal = w;
        nd->wal_cap = cap;
    }
    memcpy(nd->wal + nd->wal_len, p, n);
    nd->wal_len += n;
}

/* A new log for a height: the old one's height is in the ledger. */
static void wal_reset(sim *s, sim_node *nd, uint64_t height)
{
    unsigned char buf[RP_CS_WAL_MAX_ENTRY];
    size_t len;
    nd->wal_len = 0;
    if (rp_cs_wal_encode_header(height, buf, sizeof buf, &len) != 0)
        sim_failf(s, "rp_cs_wal_encode_header failed");
    else
        wal_put(nd, buf, len);
}

static void wal_append(sim *s, sim_node *nd, const rp_cs_input *in)
{
    unsigned char buf[RP_CS_WAL_MAX_ENTRY];
    size_t len;
    int rc = rp_cs_wal_encode_input(in, buf, sizeof buf, &len);
    if (rc != 0) {
        sim_failf(s, "node %u: rp_cs_wal_encode_input refuses a kind %u input (%d)", nd->id,
                  in->kind, rc);
        return;
    }
    wal_put(nd, buf, len);
}

typedef struct wal_read_ctx {
    rp_cs_input *v;
    size_t n, cap;
    uint64_t height;
} wal_read_ctx;

static int wal_read_one(void *ctx, const rp_cs_wal_entry *e)
{
    wal_read_ctx *c = ctx;
    if (e->kind == RP_CS_WAL_HEADER) {
        c->height = e->height;
        return 0;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        rp_cs_input *w = realloc(c->v, c->cap * sizeof *w);
        if (!w)
            abort();
        c->v = w;
    }
    c->v[c->n++] = e->in;
    return 0;
}

/* The inputs of the log's valid prefix, in a new array (*count of them),
 * if the log is for height; else none. */
static rp_cs_input *wal_read(sim *s, const sim_node *nd, uint64_t height, size_t *count)
{
    wal_read_ctx c = {0};
    int err;
    size_t valid = rp_cs_wal_scan(nd->wal, nd->wal_len, wal_read_one, &c, &err);
    if (valid > nd->wal_len || (valid == nd->wal_len) != (err == 0))
        sim_failf(s, "node %u: rp_cs_wal_scan: prefix %zu of %zu, err %d", nd->id, valid,
                  nd->wal_len, err);
    if (c.height != height)
        c.n = 0;
    *count = c.n;
    return c.v;
}

/* ---- helpers ---- */

static void schedule_input(sim *s, sim_node *nd, uint64_t delay, const rp_cs_input *in)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = s->now + delay;
    e.kind = EV_INPUT;
    e.node = nd->id;
    e.inc = nd->inc;
    e.in = *in;
    sim_push(s, &e);
}

static void sign_raw(sim *s, sim_node *nd, const rp_hash *m, rp_sig *sig)
{
    unsigned char aux[32], seed[32];
    memset(seed, 0, sizeof seed);
    memcpy(seed, &s->seed, sizeof s->seed);
    rp_aux_derive(aux, seed, ((uint64_t)nd->id << 48) | nd->aux_counter++);
    if (rp_sign(sig, m->bytes, 32, &nd->sk, aux) != 0)
        sim_failf(s, "rp_sign failed at node %u", nd->id);
    s->st.signs++;
}

/* Sign through the guard. Returns 1 with *sig set, or 0 if the guard refused. */
static int sign_guarded(sim *s, sim_node *nd, uint64_t h, uint32_t r, uint8_t step,
                        const rp_hash *m, rp_sig *sig)
{
    switch (rp_cs_guard_decide(&nd->guard, h, r, step, m)) {
    case RP_CS_GUARD_REUSE:
        *sig = nd->guard.sig;
        s->st.reused++;
        sim_on_signed(s, nd->id, h, r, step, m, sig, 1);
        return 1;
    case RP_CS_GUARD_SIGN:
        sign_raw(s, nd, m, sig);
        rp_cs_guard_record(&nd->guard, h, r, step, m, sig); /* "persisted" before it leaves */
        sim_on_signed(s, nd->id, h, r, step, m, sig, 0);
        return 1;
    default:
        /* Only a replay may ask again for a message signed before the
         * guard's last one (the log then holds the signed message itself,
         * which the replay feeds next); anything else is the engine asking
         * to go back, or to sign other bytes at a signed position. */
        s->st.refused++;
        sim_trace(s, 1, "node %u: guard refuses h=%llu r=%u step=%u%s", nd->id,
                  (unsigned long long)h, r, step, nd->replaying ? " (replay)" : "");
        if (!nd->replaying || !sim_signed_before(s, nd->id, h, r, step, m))
            sim_failf(s,
                      "guard: node %u's engine asks to sign %s at h=%llu r=%u step=%u, after"
                      " h=%llu r=%u step=%u",
                      nd->id, nd->replaying ? "during a replay what it never signed" : "",
                      (unsigned long long)h, r, step, (unsigned long long)nd->guard.height,
                      nd->guard.round, nd->guard.step);
        return 0;
    }
}

static void vote_hash(const sim *s, const rp_cs_vote *v, rp_hash *m)
{
    rp_vote_message(m, &s->chain_id, v->height, v->round, v->type, &v->block_hash);
}

/* 1 if c is a well-formed commit of block at height by more than 2/3 of the
 * power, every signature a precommit of that block. */
static int commit_ok(sim *s, const rp_commit *c, uint64_t height, const rp_hash *block)
{
    if (c->height != height || !rp_hash_eq(&c->block_hash, block) || c->count == 0 ||
        c->count > s->cfg.n)
        return 0;
    uint32_t mask = 0;
    for (uint16_t i = 0; i < c->count; i++) {
        const rp_commit_sig *cs = &c->sigs[i];
        if (cs->validator >= s->cfg.n || (i > 0 && cs->validator <= c->sigs[i - 1].validator))
            return 0;
        rp_cs_vote v = {.type = RP_VOTE_PRECOMMIT,
                        .height = height,
                        .round = c->round,
                        .block_hash = *block,
                        .validator = cs->validator,
                        .sig = cs->sig};
        if (!sim_verify_vote(s, &v))
            return 0;
        mask |= 1u << cs->validator;
    }
    uint64_t total = sim_power(s, (1u << s->cfg.n) - 1);
    return 3 * sim_power(s, mask) > 2 * total;
}

static void ledger_append(sim_node *nd, const rp_hash *h, uint32_t round, const rp_commit *c)
{
    if (nd->tip == nd->ledger_cap) {
        size_t cap = nd->ledger_cap ? nd->ledger_cap * 2 : 8;
        sim_block *l = realloc(nd->ledger, cap * sizeof *l);
        if (!l)
            abort();
        nd->ledger = l;
        nd->ledger_cap = cap;
    }
    sim_block *b = &nd->ledger[nd->tip++];
    b->hash = *h;
    b->round = round;
    b->commit = *c;
}

/* ---- the engine's outputs ---- */

static void handle(sim *s, sim_node *nd, const rp_cs_outs *o);

void sim_node_input(sim *s, sim_node *nd, const rp_cs_input *in)
{
    if (!nd->eng || s->fail[0])
        return;
    if (!nd->byz)
        wal_append(s, nd, in); /* before the engine acts on it */
    rp_cs_outs o;
    o.n = 0;
    int rc = rp_cs_input_apply(nd->eng, in, &o);
    if (rc == RP_CS_BAD)
        sim_failf(s, "node %u: engine calls a well-formed input (kind %u) bad", nd->id, in->kind);
    if (rc != 0 && o.n != 0)
        sim_failf(s, "node %u: engine ignored an input (kind %u) yet output %zu", nd->id, in->kind,
                  o.n);
    if (o.n > RP_CS_MAX_OUTPUTS)
        sim_failf(s, "node %u: %zu outputs", nd->id, o.n);
    handle(s, nd, &o);
}

static void build(sim *s, sim_node *nd, uint64_t h, uint32_t r)
{
    sim_built b = {.height = h, .round = r, .proposer = nd->id, .valid = 1};
    sim_block_hash(s, &b.hash, h, r, nd->id, 0);
    if (s->cfg.invalid_height == h && r == 0)
        b.valid = 0;
    sim_register_built(s, &b);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_BUILT;
    in.height = h;
    in.round = r;
    in.block_hash = b.hash;
    schedule_input(s, nd, 1, &in);
}

static void decide(sim *s, sim_node *nd, const rp_cs_out *o)
{
    rp_cs_state st;
    rp_cs_get_state(nd->eng, &st);
    if (!st.decided || !rp_hash_eq(&st.decision, &o->block_hash) || st.decision_round != o->round)
        sim_failf(s, "node %u: DECIDE at h=%llu disagrees with the engine's state", nd->id,
                  (unsigned long long)o->height);
    rp_commit *c = malloc(sizeof *c);
    if (!c)
        abort();
    if (rp_cs_commit(nd->eng, c) != 0 || c->round != o->round ||
        !commit_ok(s, c, o->height, &o->block_hash))
        sim_failf(s, "node %u: the commit of h=%llu is not a valid commit", nd->id,
                  (unsigned long long)o->height);
    sim_trace(s, 1, "node %u: DECIDE h=%llu r=%u (engine round %u) %02x%02x", nd->id,
              (unsigned long long)o->height, o->round, st.round, o->block_hash.bytes[0],
              o->block_hash.bytes[1]);
    if (st.round > o->round)
        s->st.late++;
    if (nd->tip + 1 == o->height) {
        ledger_append(nd, &o->block_hash, o->round, c);
    }
    free(c);
    sim_on_decide(s, nd, o->height, &o->block_hash, o->round, 0);
    nd->decided = 1;
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = s->now + s->cfg.to.commit_ms;
    e.kind = EV_NEXT_HEIGHT;
    e.node = nd->id;
    e.inc = nd->inc;
    e.height = o->height + 1;
    sim_push(s, &e);
}

static void equivocate_proposal(sim *s, sim_node *nd, const rp_cs_proposal *p)
{
    rp_cs_proposal a = *p, b = *p;
    sim_built bb = {.height = p->height, .round = p->round, .proposer = nd->id};
    bb.valid = (int)sim_rng_below(&s->rng, 2);
    sim_block_hash(s, &bb.hash, p->height, p->round, nd->id, 1);
    sim_register_built(s, &bb);
    b.block_hash = bb.hash;
    rp_hash m;
    rp_cs_proposal_message(&m, &s->chain_id, &a);
    sign_raw(s, nd, &m, &a.sig);
    rp_cs_proposal_message(&m, &s->chain_id, &b);
    sign_raw(s, nd, &m, &b.sig);
    sim_msg ma = {.kind = MSG_PROPOSAL, .from = nd->id, .proposal = a};
    sim_msg mb = {.kind = MSG_PROPOSAL, .from = nd->id, .proposal = b};
    for (uint16_t i = 0; i < s->cfg.n; i++)
        if (i != nd->id)
            sim_send(s, nd->id, i, sim_rng_below(&s->rng, 2) ? &ma : &mb);
    sim_trace(s, 1, "node %u (byz): two proposals at h=%llu r=%u", nd->id,
              (unsigned long long)p->height, p->round);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_PROPOSAL;
    in.proposal = a;
    sim_node_input(s, nd, &in);
}

static void equivocate_vote(sim *s, sim_node *nd, const rp_cs_vote *v)
{
    rp_cs_vote a = *v, b = *v;
    rp_cs_proposal p;
    if (!rp_cs_is_nil(&v->block_hash)) {
        memset(&b.block_hash, 0, sizeof b.block_hash); /* nil */
        sim_block_hash(s, &p.block_hash, v->height, v->round, nd->id, 1);
        if (sim_find_built(s, &p.block_hash) && !rp_hash_eq(&p.block_hash, &v->block_hash))
            b.block_hash = p.block_hash; /* its own other block */
    } else if (rp_cs_get_proposal(nd->eng, v->round, &p) == 0) {
        b.block_hash = p.block_hash;
    } else {
        sim_block_hash(s, &b.block_hash, v->height, v->round, nd->id, 2);
    }
    rp_hash m;
    vote_hash(s, &a, &m);
    sign_raw(s, nd, &m, &a.sig);
    vote_hash(s, &b, &m);
    sign_raw(s, nd, &m, &b.sig);
    s->st.double_votes++;
    sim_msg ma = {.kind = MSG_VOTE, .from = nd->id, .vote = a};
    sim_msg mb = {.kind = MSG_VOTE, .from = nd->id, .vote = b};
    for (uint16_t i = 0; i < s->cfg.n; i++) {
        if (i == nd->id)
            continue;
        int first = (int)sim_rng_below(&s->rng, 2);
        sim_send(s, nd->id, i, first ? &ma : &mb);
        sim_send(s, nd->id, i, first ? &mb : &ma);
    }
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VOTE;
    in.vote = a;
    sim_node_input(s, nd, &in);
}

static void handle(sim *s, sim_node *nd, const rp_cs_outs *o)
{
    for (size_t i = 0; i < o->n && !s->fail[0]; i++) {
        const rp_cs_out *x = &o->v[i];
        rp_cs_input in;
        memset(&in, 0, sizeof in);
        rp_hash m;
        switch (x->kind) {
        case RP_CS_OUT_BUILD:
            build(s, nd, x->height, x->round);
            break;
        case RP_CS_OUT_PROPOSAL: {
            rp_cs_proposal p = x->proposal;
            if (p.proposer != nd->id || p.height != nd->height)
                sim_failf(s, "node %u: asked to sign a proposal of %u at h=%llu", nd->id,
                          p.proposer, (unsigned long long)p.height);
            if (nd->byz) {
                equivocate_proposal(s, nd, &p);
                break;
            }
            rp_cs_proposal_message(&m, &s->chain_id, &p);
            if (!sign_guarded(s, nd, p.height, p.round, RP_CS_PROPOSE, &m, &p.sig))
                break;
            sim_trace(s, 1, "node %u: propose h=%llu r=%u pol=%d %02x%02x", nd->id,
                      (unsigned long long)p.height, p.round, p.pol_round, p.block_hash.bytes[0],
                      p.block_hash.bytes[1]);
            sim_msg msg = {.kind = MSG_PROPOSAL, .from = nd->id, .proposal = p};
            sim_broadcast(s, nd->id, &msg);
            in.kind = RP_CS_IN_PROPOSAL;
            in.proposal = p;
            sim_node_input(s, nd, &in);
            break;
        }
        case RP_CS_OUT_VOTE: {
            rp_cs_vote v = x->vote;
            if (v.validator != nd->id || v.height != nd->height)
                sim_failf(s, "node %u: asked to sign a vote of %u at h=%llu", nd->id, v.validator,
                          (unsigned long long)v.height);
            if (nd->byz) {
                equivocate_vote(s, nd, &v);
                break;
            }
            vote_hash(s, &v, &m);
            uint8_t step = v.type == RP_VOTE_PREVOTE ? RP_CS_PREVOTE : RP_CS_PRECOMMIT;
            if (!sign_guarded(s, nd, v.height, v.round, step, &m, &v.sig))
                break;
            sim_trace(s, 2, "node %u: vote %s h=%llu r=%u %02x%02x", nd->id,
                      v.type == RP_VOTE_PREVOTE ? "prevote" : "precommit",
                      (unsigned long long)v.height, v.round, v.block_hash.bytes[0],
                      v.block_hash.bytes[1]);
            sim_msg msg = {.kind = MSG_VOTE, .from = nd->id, .vote = v};
            sim_broadcast(s, nd->id, &msg);
            in.kind = RP_CS_IN_VOTE;
            in.vote = v;
            sim_node_input(s, nd, &in);
            break;
        }
        case RP_CS_OUT_TIMEOUT:
            in.kind = RP_CS_IN_TIMEOUT;
            in.step = (uint8_t)x->step;
            in.height = x->height;
            in.round = x->round;
            schedule_input(s, nd, x->ms ? x->ms : 1, &in);
            break;
        case RP_CS_OUT_CHECK: {
            const sim_built *b = sim_find_built(s, &x->block_hash);
            in.kind = RP_CS_IN_VERDICT;
            in.block_hash = x->block_hash;
            in.valid = b && b->valid && b->height == nd->height;
            schedule_input(s, nd, sim_rng_range(&s->rng, 1, 3), &in);
            break;
        }
        case RP_CS_OUT_DECIDE:
            decide(s, nd, x);
            break;
        case RP_CS_OUT_EVIDENCE:
            sim_on_evidence(s, nd, &x->evidence);
            break;
        default:
            sim_failf(s, "node %u: unknown output kind %d", nd->id, (int)x->kind);
        }
    }
}

/* ---- heights, messages, ticks ---- */

int sim_node_init(sim *s, sim_node *nd, uint16_t id)
{
    memset(nd, 0, sizeof *nd);
    nd->id = id;
    nd->byz = (s->cfg.byz >> id) & 1;
    nd->up = 1;
    unsigned char seed[32];
    memset(seed, 0x5a, sizeof seed);
    return rp_seckey_from_seed(&nd->sk, seed, id);
}

void sim_node_free(sim_node *nd)
{
    rp_cs_free(nd->eng);
    free(nd->wal);
    free(nd->ledger);
    memset(nd, 0, sizeof *nd);
}

static void new_engine(sim *s, sim_node *nd, uint64_t height)
{
    rp_cs_free(nd->eng);
    nd->eng = NULL;
    /* The schedule moves on by rp_cs_sched_next, and must be the one a
     * fresh rp_cs_sched_init gives at that height. */
    rp_cs_sched fresh;
    if (rp_cs_sched_init(&fresh, s->cfg.powers, s->cfg.n, height) != 0)
        sim_failf(s, "rp_cs_sched_init failed at h=%llu", (unsigned long long)height);
    if (nd->sched.n == s->cfg.n && nd->sched.position + 2 == height) {
        rp_cs_sched_next(&nd->sched);
        if (memcmp(nd->sched.prio, fresh.prio, sizeof fresh.prio) != 0 ||
            nd->sched.position != fresh.position)
            sim_failf(s, "rp_cs_sched_next and rp_cs_sched_init disagree at h=%llu",
                      (unsigned long long)height);
    }
    nd->sched = fresh;
    nd->eng = rp_cs_new(s->cfg.powers, s->cfg.n, nd->id, height, &nd->sched, &s->cfg.to);
    if (!nd->eng)
        sim_failf(s, "rp_cs_new failed at h=%llu", (unsigned long long)height);
    nd->height = height;
    nd->decided = 0;
}

void sim_node_start_height(sim *s, sim_node *nd, uint64_t height)
{
    wal_reset(s, nd, height);
    new_engine(s, nd, height);
    if (!nd->eng)
        return;
    sim_trace(s, 2, "node %u: start h=%llu", nd->id, (unsigned long long)height);
    rp_cs_outs o;
    o.n = 0;
    rp_cs_start(nd->eng, &o);
    handle(s, nd, &o);
    /* Messages for this height that came early. */
    size_t n = nd->npending;
    sim_msg *held = NULL;
    if (n) {
        held = malloc(n * sizeof *held);
        if (!held)
            abort();
        memcpy(held, nd->pending, n * sizeof *held);
    }
    nd->npending = 0;
    for (size_t i = 0; i < n && nd->height == height; i++)
        sim_node_deliver(s, nd, &held[i]);
    free(held);
}

static void sync_from(sim *s, sim_node *nd, const sim_msg *m)
{
    const sim_node *peer = &s->nodes[m->from];
    uint64_t h0 = nd->tip;
    for (uint64_t h = nd->tip + 1; h <= m->to && h <= peer->tip && h >= m->height; h++) {
        const sim_block *b = &peer->ledger[h - 1];
        if (!commit_ok(s, &b->commit, h, &b->hash)) {
            sim_trace(s, 1, "node %u: bad commit from %u at h=%llu", nd->id, m->from,
                      (unsigned long long)h);
            break;
        }
        ledger_append(nd, &b->hash, b->round, &b->commit);
        sim_on_decide(s, nd, h, &b->hash, b->round, 1);
    }
    if (nd->tip > h0) {
        sim_trace(s, 1, "node %u: synced h=%llu..%llu from %u", nd->id, (unsigned long long)h0 + 1,
                  (unsigned long long)nd->tip, m->from);
        sim_node_start_height(s, nd, nd->tip + 1);
    }
}

void sim_node_deliver(sim *s, sim_node *nd, const sim_msg *m)
{
    if (!nd->up || s->fail[0])
        return;
    s->st.delivered++;
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    switch (m->kind) {
    case MSG_PROPOSAL:
    case MSG_VOTE: {
        uint64_t h = m->kind == MSG_PROPOSAL ? m->proposal.height : m->vote.height;
        if (h == nd->height + 1 && nd->npending < sizeof nd->pending / sizeof nd->pending[0]) {
            nd->pending[nd->npending++] = *m;
            return;
        }
        if (h != nd->height || !nd->eng)
            return;
        if (m->kind == MSG_PROPOSAL) {
            if (!sim_verify_proposal(s, &m->proposal))
                return;
            in.kind = RP_CS_IN_PROPOSAL;
            in.proposal = m->proposal;
        } else {
            if (!sim_verify_vote(s, &m->vote))
                return;
            in.kind = RP_CS_IN_VOTE;
            in.vote = m->vote;
        }
        sim_node_input(s, nd, &in);
        return;
    }
    case MSG_STATUS:
        if (m->height > nd->tip + 1) {
            sim_msg r = {.kind = MSG_SYNC_REQ, .from = nd->id, .height = nd->tip + 1};
            sim_send(s, nd->id, m->from, &r);
        }
        return;
    case MSG_SYNC_REQ:
        if (nd->tip >= m->height) {
            sim_msg r = {.kind = MSG_SYNC, .from = nd->id, .height = m->height, .to = nd->tip};
            sim_send(s, nd->id, m->from, &r);
        }
        return;
    case MSG_SYNC:
        sync_from(s, nd, m);
        return;
    default:
        sim_failf(s, "unknown message kind %u", m->kind);
    }
}

/* A Byzantine node proposes in a round that is not its own, a valid block
 * even: engines must ignore it (the validity check would see it decided). */
static void usurp(sim *s, sim_node *nd, uint32_t round)
{
    sim_built b = {.height = nd->height, .round = round, .proposer = nd->id, .valid = 1};
    sim_block_hash(s, &b.hash, nd->height, round, nd->id, 3);
    sim_register_built(s, &b);
    rp_cs_proposal p = {.height = nd->height, .round = round, .pol_round = -1,
                        .block_hash = b.hash, .proposer = nd->id};
    rp_hash m;
    rp_cs_proposal_message(&m, &s->chain_id, &p);
    sign_raw(s, nd, &m, &p.sig);
    sim_msg msg = {.kind = MSG_PROPOSAL, .from = nd->id, .proposal = p};
    sim_broadcast(s, nd->id, &msg);
}

static void send_votes(sim *s, sim_node *nd, uint32_t round, uint8_t type)
{
    rp_cs_vote votes[2 * SIM_MAX_NODES];
    sim_msg m = {.kind = MSG_VOTE, .from = nd->id};
    size_t k = rp_cs_votes(nd->eng, round, type, votes, 2 * SIM_MAX_NODES);
    for (size_t i = 0; i < k && i < 2 * SIM_MAX_NODES; i++) {
        m.vote = votes[i];
        sim_broadcast(s, nd->id, &m);
    }
}

void sim_node_tick(sim *s, sim_node *nd)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = s->now + s->cfg.tick_ms;
    e.kind = EV_TICK;
    e.node = nd->id;
    e.inc = nd->inc;
    sim_push(s, &e);
    sim_msg st = {.kind = MSG_STATUS, .from = nd->id, .height = nd->height};
    sim_broadcast(s, nd->id, &st);
    if (!nd->eng)
        return;
    rp_cs_state cs;
    rp_cs_get_state(nd->eng, &cs);
    if (nd->byz && !cs.decided && rp_cs_proposer(&nd->sched, cs.round) != nd->id &&
        sim_rng_below(&s->rng, 2))
        usurp(s, nd, cs.round);
    if (s->verbose >= 3) {
        char line[512];
        int k = snprintf(line, sizeof line,
                         "h=%llu r=%u step=%d locked=%d valid=%d:", (unsigned long long)cs.height,
                         cs.round, (int)cs.step, cs.locked_round, cs.valid_round);
        rp_cs_vote vs[SIM_MAX_NODES];
        for (uint32_t r = 0; r <= cs.round && k < 400; r++) {
            size_t nv = rp_cs_votes(nd->eng, r, RP_VOTE_PREVOTE, vs, SIM_MAX_NODES);
            k += snprintf(line + k, sizeof line - (size_t)k, " r%u[", r);
            for (size_t i = 0; i < nv && k < 400; i++)
                k += snprintf(line + k, sizeof line - (size_t)k, "%u:%02x ", vs[i].validator,
                              vs[i].block_hash.bytes[0]);
            k += snprintf(line + k, sizeof line - (size_t)k, "]");
        }
        sim_trace(s, 3, "node %u: %s", nd->id, line);
    }
    sim_msg m = {.kind = MSG_PROPOSAL, .from = nd->id};
    if (rp_cs_get_proposal(nd->eng, cs.round, &m.proposal) == 0)
        sim_broadcast(s, nd->id, &m);
    if (cs.valid_round >= 0 && (uint32_t)cs.valid_round != cs.round &&
        rp_cs_get_proposal(nd->eng, (uint32_t)cs.valid_round, &m.proposal) == 0)
        sim_broadcast(s, nd->id, &m);
    /* The votes of the current and the previous round, and the prevotes
     * that justify the valid and the locked value (a proposer that re-offers
     * its valid value names that round, and its peers need those prevotes). */
    m.kind = MSG_VOTE;
    uint32_t prev = cs.round > 0 ? cs.round - 1 : 0;
    for (uint32_t r = prev; r <= cs.round; r++) {
        send_votes(s, nd, r, RP_VOTE_PREVOTE);
        send_votes(s, nd, r, RP_VOTE_PRECOMMIT);
    }
    if (cs.valid_round >= 0 && (uint32_t)cs.valid_round < prev)
        send_votes(s, nd, (uint32_t)cs.valid_round, RP_VOTE_PREVOTE);
    if (cs.locked_round >= 0 && cs.locked_round != cs.valid_round &&
        (uint32_t)cs.locked_round < prev)
        send_votes(s, nd, (uint32_t)cs.locked_round, RP_VOTE_PREVOTE);
}

void sim_node_crash(sim *s, sim_node *nd, int torn)
{
    sim_trace(s, 1, "node %u: CRASH at h=%llu (WAL %zu bytes%s)", nd->id,
              (unsigned long long)nd->height, nd->wal_len, torn ? ", torn tail" : "");
    nd->crash_state_set = nd->eng && !nd->decided;
    if (nd->crash_state_set)
        rp_cs_get_state(nd->eng, &nd->crash_state);
    rp_cs_free(nd->eng);
    nd->eng = NULL;
    nd->up = 0;
    nd->inc++;
    nd->npending = 0;
    nd->decided = 0;
    s->st.crashes++;
    if (torn) {
        /* The crash cut an append short: part of one more entry. */
        rp_cs_input in;
        memset(&in, 0, sizeof in);
        in.kind = RP_CS_IN_TIMEOUT;
        in.height = nd->height;
        unsigned char buf[RP_CS_WAL_MAX_ENTRY];
        size_t len;
        if (rp_cs_wal_encode_input(&in, buf, sizeof buf, &len) == 0 && len > 1)
            wal_put(nd, buf, 1 + sim_rng_below(&s->rng, len - 1));
    }
}

/* The replay must land the engine where the crash left it: every input it
 * had acted on is in the log, and the engine is deterministic. */
static void check_replayed(sim *s, sim_node *nd)
{
    if (!nd->crash_state_set || !nd->eng)
        return;
    const rp_cs_state *a = &nd->crash_state;
    rp_cs_state b;
    rp_cs_get_state(nd->eng, &b);
    if (a->height != b.height)
        return; /* the crash came while the next height was being set up */
    if (a->round != b.round || a->step != b.step || a->locked_round != b.locked_round ||
        a->valid_round != b.valid_round || !rp_hash_eq(&a->locked_value, &b.locked_value) ||
        !rp_hash_eq(&a->valid_value, &b.valid_value) || a->decided != b.decided)
        sim_failf(s,
                  "replay: node %u's engine at h=%llu is at round %u step %d locked %d"
                  " valid %d after the replay, was at round %u step %d locked %d valid %d",
                  nd->id, (unsigned long long)b.height, b.round, (int)b.step, b.locked_round,
                  b.valid_round, a->round, (int)a->step, a->locked_round, a->valid_round);
}

void sim_node_restart(sim *s, sim_node *nd)
{
    nd->up = 1;
    size_t count;
    rp_cs_input *log = wal_read(s, nd, nd->tip + 1, &count);
    sim_trace(s, 1, "node %u: RESTART at h=%llu, replaying %zu inputs", nd->id,
              (unsigned long long)nd->tip + 1, count);
    wal_reset(s, nd, nd->tip + 1); /* the replay logs each input again, without the torn tail */
    new_engine(s, nd, nd->tip + 1);
    if (nd->eng) {
        rp_cs_outs o;
        o.n = 0;
        rp_cs_start(nd->eng, &o);
        nd->replaying = 1;
        handle(s, nd, &o);
        for (size_t i = 0; i < count && nd->eng; i++)
            sim_node_input(s, nd, &log[i]);
        nd->replaying = 0;
        s->st.replayed += count;
        check_replayed(s, nd);
    }
    free(log);
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = s->now + 1 + nd->tick_phase;
    e.kind = EV_TICK;
    e.node = nd->id;
    e.inc = nd->inc;
    sim_push(s, &e);
}
