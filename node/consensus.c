/* The node's consensus driver (node/consensus.h): one engine per height,
 * its inputs logged ahead, its outputs carried out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consensus/guard.h"
#include "consensus/input.h"
#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/evidence.h"
#include "ledger/query.h"
#include "node/consensus.h"
#include "node/cswal.h"
#include "node/disk.h"
#include "node/log.h"
#include "node/network.h"
#include "node/rpc_params.h"
#include "node/node.h"
#include "node/signer.h"

static void feed(struct consensus *c, const rp_cs_input *in, uint64_t from);
static void enter_height(struct consensus *c, uint64_t height, const rp_cswal_replay *rep);

uint64_t cs_now_ms(struct consensus *c) { return uv_now(c->n->loop); }

void cs_hash8(char out[17], const rp_hash *h)
{
    rp_hex_encode(out, 17, h->bytes, 8);
}

/* ---- blocks of this height ------------------------------------------------------- */

struct cs_block *cs_block_find(struct consensus *c, const rp_hash *hash)
{
    for (size_t i = 0; i < CS_MAX_BLOCKS; i++)
        if (c->blocks[i].used && rp_hash_eq(&c->blocks[i].hash, hash))
            return &c->blocks[i];
    return NULL;
}

static void block_clear(struct cs_block *b)
{
    free(b->bytes);
    free(b->pc);
    rp_checked_free(b->checked);
    memset(b, 0, sizeof *b);
}

/* A slot for hash: its own, a free one, or the oldest that no check holds
 * and the engine does not wait for (a flood of proposals cannot pin more
 * than CS_MAX_BLOCKS blocks). */
static struct cs_block *block_slot(struct consensus *c, const rp_hash *hash)
{
    struct cs_block *b = cs_block_find(c, hash);
    if (b)
        return b;
    for (size_t i = 0; i < CS_MAX_BLOCKS; i++)
        if (!c->blocks[i].used) {
            b = &c->blocks[i];
            break;
        }
    if (!b)
        for (size_t i = 0; i < CS_MAX_BLOCKS; i++)
            if (!c->blocks[i].checking && !c->blocks[i].wanted) {
                block_clear(&c->blocks[i]);
                b = &c->blocks[i];
                break;
            }
    if (!b)
        return NULL;
    b->used = 1;
    b->hash = *hash;
    b->verdict = -1;
    return b;
}

/* ---- checking a proposed block on the pool ----------------------------------------- */

struct check_job {
    uv_work_t req;
    struct consensus *c;
    uint64_t height;
    rp_hash hash;
    unsigned char *bytes, *pc; /* copies: the slot may be reused meanwhile */
    size_t len, plen;
    rp_checked *checked;
    int rc;
    rp_store_error err;
};

static void check_work(uv_work_t *req)
{
    struct check_job *j = req->data;
    j->rc = rp_exec_check_after(j->c->n->st, j->bytes, j->len, j->pc, j->plen, NULL, NULL,
                                &j->checked, &j->err);
    if (j->rc == 0 && !rp_hash_eq(rp_checked_hash(j->checked), &j->hash))
        j->rc = RP_ERR_BLOCK_PREV; /* cannot happen: the hash was checked on arrival */
}

static void check_done(uv_work_t *req, int status)
{
    struct check_job *j = req->data;
    struct consensus *c = j->c;
    (void)status;
    struct cs_block *b = c->stopped || j->height != c->height ? NULL : cs_block_find(c, &j->hash);
    if (b) {
        b->checking = 0;
        char hh[17], q[300];
        cs_hash8(hh, &j->hash);
        if (j->rc == RP_ERR_NOMEM || j->rc == RP_ERR_STORE || j->rc == RP_ERR_MAP_FULL) {
            /* Ours, not the block's: no verdict; a later proposal of it retries. */
            rp_log(RP_LOG_WARN, "consensus_check_failed", "height=%llu block=%s code=%d",
                   (unsigned long long)j->height, hh, j->rc);
        } else {
            if (j->rc)
                rp_log(RP_LOG_WARN, "consensus_block_invalid", "height=%llu block=%s code=%d msg=%s",
                       (unsigned long long)j->height, hh, j->rc,
                       rp_log_str(q, sizeof q, j->err.msg[0] ? j->err.msg : rp_strerror(j->rc)));
            b->verdict = j->rc == 0;
            b->checked = j->checked;
            j->checked = NULL;
            rp_cs_input in;
            memset(&in, 0, sizeof in);
            in.kind = RP_CS_IN_VERDICT;
            in.block_hash = j->hash;
            in.valid = (uint8_t)b->verdict;
            if (b->wanted)
                feed(c, &in, 0);
        }
    }
    rp_checked_free(j->checked);
    free(j->bytes);
    free(j->pc);
    free(j);
}

static void start_check(struct consensus *c, struct cs_block *b)
{
    if (b->checking || b->verdict >= 0 || !b->bytes || c->stopped)
        return;
    struct check_job *j = calloc(1, sizeof *j);
    if (!j || !(j->bytes = malloc(b->len)) || (b->plen && !(j->pc = malloc(b->plen)))) {
        if (j)
            free(j->bytes);
        free(j);
        return;
    }
    memcpy(j->bytes, b->bytes, b->len);
    j->len = b->len;
    if (b->plen)
        memcpy(j->pc, b->pc, b->plen);
    j->plen = b->plen;
    j->c = c;
    j->height = c->height;
    j->hash = b->hash;
    j->req.data = j;
    if (uv_queue_work(c->n->loop, &j->req, check_work, check_done) != 0) {
        free(j->bytes);
        free(j);
        return;
    }
    b->checking = 1;
}

/* ---- timers ---------------------------------------------------------------------- */

static void step_timer_cb(uv_timer_t *t)
{
    struct consensus *c = t->data;
    int s = (int)(t - c->step_timer);
    if (!c->step_to[s].armed || c->stopped)
        return;
    c->step_to[s].armed = 0;
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_TIMEOUT;
    in.step = (uint8_t)s;
    in.height = c->step_to[s].height;
    in.round = c->step_to[s].round;
    feed(c, &in, 0);
}

static void arm(struct consensus *c, const rp_cs_out *o)
{
    int s = (int)o->step;
    if (s < 0 || s > 2 || c->replaying)
        return; /* a replayed timeout output: the logged TIMEOUT input follows */
    c->step_to[s].height = o->height;
    c->step_to[s].round = o->round;
    c->step_to[s].armed = 1;
    uv_timer_start(&c->step_timer[s], step_timer_cb, o->ms, 0);
}

/* ---- signing -------------------------------------------------------------------- */

static int sign_refused(struct consensus *c, int rc, const char *what, const char *msg)
{
    /* Replaying, the guard refuses what it signed before a later message:
     * those inputs follow from the log itself. */
    if (!c->sign_refused_logged && !c->replaying) {
        char q[300];
        rp_log(RP_LOG_ERROR, "consensus_sign_refused", "height=%llu what=%s code=%d msg=%s",
               (unsigned long long)c->height, what, rc, rp_log_str(q, sizeof q, msg));
        c->sign_refused_logged = 1;
    }
    return rc;
}

static void send_vote(struct consensus *c, rp_cs_vote v)
{
    char err[256] = "";
    int rc = rp_signer_sign_vote(c->signer, &v, err, sizeof err);
    if (rc) {
        sign_refused(c, rc, v.type == RP_VOTE_PREVOTE ? "prevote" : "precommit", err);
        return;
    }
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VOTE;
    in.vote = v;
    feed(c, &in, 0); /* logged, counted and relayed like a peer's */
}

static void send_proposal(struct consensus *c, rp_cs_proposal p)
{
    struct cs_block *b = cs_block_find(c, &p.block_hash);
    if (!b || !b->bytes)
        return; /* a value we no longer hold (after a restart): the round times out */
    char err[256] = "";
    int rc = rp_signer_sign_proposal(c->signer, &p, err, sizeof err);
    if (rc) {
        sign_refused(c, rc, "proposal", err);
        return;
    }
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_PROPOSAL;
    in.proposal = p;
    feed(c, &in, 0);
}

/* ---- the engine's outputs ------------------------------------------------------- */

/* Start the build the engine asked for, if the producer is free (a build
 * of an earlier height may still run after sync moved us on). */
static void try_build(struct consensus *c)
{
    if (!c->want_build || c->building || c->decided)
        return;
    /* Evidence of earlier heights only: the rules take votes below the block's. */
    rp_block_item first[CS_MAX_PENDING_EV];
    size_t nfirst = 0;
    for (size_t i = 0; i < c->npending_ev; i++)
        if (c->pending_ev[i].height < c->height) {
            first[nfirst].bytes = c->pending_ev[i].rec;
            first[nfirst].len = c->pending_ev[i].len;
            c->build_map[nfirst++] = i;
        }
    if (rp_producer_build(c->n, c->height, c->want_round, first, nfirst) == 0) {
        c->build_nfirst = nfirst;
        c->build_ev_gen = c->ev_gen;
        c->building = 1;
        c->want_build = 0;
    }
}

static void outputs(struct consensus *c, const rp_cs_outs *o)
{
    for (size_t i = 0; i < o->n && !c->stopped; i++) {
        const rp_cs_out *x = &o->v[i];
        if (x->height != c->height)
            continue;
        switch (x->kind) {
        case RP_CS_OUT_BUILD:
            if (c->self >= 0) {
                c->want_build = 1; /* until the producer takes it (after a replay) */
                c->want_round = x->round;
                if (!c->replaying)
                    try_build(c);
            }
            break;
        case RP_CS_OUT_PROPOSAL:
            if (c->self >= 0)
                send_proposal(c, x->proposal);
            break;
        case RP_CS_OUT_VOTE:
            if (c->self >= 0)
                send_vote(c, x->vote);
            break;
        case RP_CS_OUT_TIMEOUT:
            arm(c, x);
            break;
        case RP_CS_OUT_CHECK: {
            struct cs_block *b = block_slot(c, &x->block_hash);
            if (!b)
                break;
            b->wanted = 1;
            if (b->verdict >= 0 && !c->replaying) {
                rp_cs_input in;
                memset(&in, 0, sizeof in);
                in.kind = RP_CS_IN_VERDICT;
                in.block_hash = b->hash;
                in.valid = (uint8_t)b->verdict;
                feed(c, &in, 0);
            } else {
                start_check(c, b);
            }
            break;
        }
        case RP_CS_OUT_DECIDE:
            cs_decide(c, x->round, &x->block_hash);
            break;
        case RP_CS_OUT_EVIDENCE:
            cs_record_evidence(c, &x->evidence);
            break;
        }
    }
}

/* Log an input ahead, apply it, relay it if it was new, carry out what
 * follows. from: the peer it came from (0: ours or a timer). */
static void feed(struct consensus *c, const rp_cs_input *in, uint64_t from)
{
    if (c->stopped || c->decided || !c->e)
        return;
    if (!c->started) {
        rp_cs_outs first = {0};
        c->started = 1;
        rp_cs_start(c->e, &first);
        outputs(c, &first);
        if (c->decided || c->stopped)
            return;
    }
    if (c->wal && !c->replaying) {
        int rc = rp_cswal_append(c->wal, in);
        if (rc == RP_ERR_RANGE)
            return; /* another height: the engine would ignore it too */
        if (rc) {
            rp_log(RP_LOG_ERROR, "consensus_log_failed", "height=%llu code=%d msg=\"%s\"",
                   (unsigned long long)c->height, rc, rp_strerror(rc));
            return; /* not logged: not acted on */
        }
    }
    rp_cs_outs out = {0};
    int rc = rp_cs_input_apply(c->e, in, &out);
    if (rc == 0 && !c->replaying) {
        if (in->kind == RP_CS_IN_VOTE) {
            int second = 0; /* it made evidence: its validator's second vote */
            for (size_t i = 0; i < out.n; i++)
                second |= out.v[i].kind == RP_CS_OUT_EVIDENCE &&
                          out.v[i].evidence.a.validator == in->vote.validator;
            cs_relay_vote(c, &in->vote, from, second);
        }
        else if (in->kind == RP_CS_IN_PROPOSAL)
            cs_relay_proposal(c, &in->proposal, cs_block_find(c, &in->proposal.block_hash),
                              from);
    }
    outputs(c, &out);
    rp_cs_state st;
    rp_cs_get_state(c->e, &st);
    if (!c->replaying && (st.round != c->sent_round || (int)st.step != c->sent_step)) {
        c->sent_round = st.round;
        c->sent_step = (int)st.step;
        cs_send_state(c, 0);
    }
}

/* ---- heights ---------------------------------------------------------------------- */

void cs_new_height(struct consensus *c, uint64_t height)
{
    enter_height(c, height, NULL);
}

/* Move to height: a fresh engine, and either the log started over or, at
 * start, the logged inputs of this height replayed (rep). */
static void enter_height(struct consensus *c, uint64_t height, const rp_cswal_replay *rep)
{
    rp_cs_free(c->e);
    c->e = NULL;
    for (size_t i = 0; i < CS_MAX_BLOCKS; i++)
        block_clear(&c->blocks[i]);
    for (int s = 0; s < 3; s++) {
        c->step_to[s].armed = 0;
        uv_timer_stop(&c->step_timer[s]);
    }
    c->started = c->decided = c->committing = c->want_build = 0;
    c->commit_pending = c->commit_trouble_logged = 0;
    if (c->npending_ev)
        cs_prune_pending_ev(c);
    c->retry_at_ms = 0;
    c->retry_ms = 0;
    c->sent_round = 0;
    c->sent_step = -1;
    c->sign_refused_logged = 0;
    if (c->sched.n && c->sched.position + 2 == height)
        rp_cs_sched_next(&c->sched);
    else
        (void)rp_cs_sched_init(&c->sched, c->power, c->nval, height);
    c->height = height;
    c->height_since_ms = cs_now_ms(c);
    c->e = rp_cs_new(c->power, c->nval, c->self, height, &c->sched, &c->to);
    if (!c->e) {
        rp_log(RP_LOG_ERROR, "consensus_failed", "height=%llu msg=\"out of memory\"",
               (unsigned long long)height);
        return;
    }
    if (!c->wal)
        return;
    if (!rep || rep->height != height) {
        int rc = rp_cswal_new_height(c->wal, height);
        if (rc)
            rp_log(RP_LOG_ERROR, "consensus_log_failed", "height=%llu code=%d msg=\"%s\"",
                   (unsigned long long)height, rc, rp_strerror(rc));
        return;
    }
    c->replaying = 1;
    for (size_t i = 0; i < rep->n && !c->decided; i++)
        feed(c, &rep->inputs[i], 0);
    c->replaying = 0;
    try_build(c); /* a proposal the replay still waits for (the engine ignores a stale one) */
    if (c->started && !c->decided) {
        /* Re-arm the current step's timeout; say where we are. */
        rp_cs_state st;
        rp_cs_get_state(c->e, &st);
        rp_log(RP_LOG_INFO, "consensus_replayed", "height=%llu inputs=%zu round=%u step=%d",
               (unsigned long long)height, rep->n, st.round, (int)st.step);
        rp_cs_out o;
        memset(&o, 0, sizeof o);
        o.kind = RP_CS_OUT_TIMEOUT;
        o.height = height;
        o.round = st.round;
        o.step = st.step;
        o.ms = rp_cs_timeout_ms(&c->to, st.step, st.round);
        arm(c, &o);
        cs_send_state(c, 0);
    }
}

/* Start an idle height when there is something to finalize: records
 * waiting, or an epoch to settle, and the commit timeout has passed. A
 * peer's proposal or vote for this height starts it at once (feed). */
static void tick_cb(uv_timer_t *t)
{
    struct consensus *c = t->data;
    struct node *n = c->n;
    if (c->stopped || !c->e)
        return;
    try_build(c);
    cs_try_commit(c);
    if (c->started && cs_now_ms(c) - c->last_state_ms >= CS_STATE_MS) {
        c->last_state_ms = cs_now_ms(c);
        cs_send_state(c, 0); /* repairs what relaying missed */
    }
    if (c->started || c->committing)
        return;
    if (cs_now_ms(c) - c->height_since_ms < c->to.commit_ms)
        return;
    rp_mempool_stats ms;
    rp_mempool_stats_get(n->mp, &ms);
    rp_tip tip;
    if (rp_store_tip(n->st, &tip) != 0 || tip.height + 1 != c->height)
        return;
    if (ms.ready == 0 && tip.height >= n->settle)
        return;
    if (rp_producer_epoch_pending(n, c->height))
        return;
    rp_cs_outs first = {0};
    c->started = 1;
    rp_cs_start(c->e, &first);
    outputs(c, &first);
    cs_send_state(c, 0);
}

/* ---- the node's calls ------------------------------------------------------------- */

void rp_consensus_built(struct node *n, uint64_t height, uint32_t round, int rc,
                        rp_checked *checked, const rp_rejected *rejected, size_t nrejected,
                        size_t nfirst)
{
    struct consensus *c = n->cs;
    if (!c) {
        rp_checked_free(checked);
        return;
    }
    c->building = 0;
    /* Evidence the rules refused (on chain already, too old, a bad
     * signature) is not offered again. Highest index first: each drop
     * shifts the ones after it. */
    if (nfirst == c->build_nfirst && c->build_ev_gen == c->ev_gen && height == c->height)
        for (size_t r = nrejected; r-- > 0;)
            if (rejected[r].index < nfirst)
                cs_drop_pending_ev(c, c->build_map[rejected[r].index]);
    if (rc || c->stopped || height != c->height || c->decided) {
        if (rc)
            rp_log(RP_LOG_WARN, "consensus_build_failed", "height=%llu round=%u code=%d",
                   (unsigned long long)height, round, rc);
        rp_checked_free(checked);
        if (!c->stopped)
            try_build(c); /* the current height's, if one waits */
        return;
    }
    const rp_hash *h = rp_checked_hash(checked);
    struct cs_block *b = block_slot(c, h);
    size_t len;
    const unsigned char *bytes = rp_checked_block(checked, &len);
    if (!b || (!b->bytes && !(b->bytes = malloc(len)))) {
        rp_checked_free(checked);
        return;
    }
    if (b->len != len) {
        memcpy(b->bytes, bytes, len);
        b->len = len;
    }
    rp_checked_free(b->checked);
    b->checked = checked;
    b->verdict = 1;
    /* Our header names our stored commit of the tip: peers need its bytes. */
    free(b->pc);
    b->pc = NULL;
    b->plen = 0;
    if (height > 1 && rp_store_read_commit(n->st, height - 1, &b->pc, &b->plen) != 0) {
        b->pc = NULL;
        b->plen = 0;
    }
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_BUILT;
    in.height = height;
    in.round = round;
    in.block_hash = *h;
    feed(c, &in, 0);
}

/* A proposal from a peer: its block hashes to what it names, its
 * signature is its proposer's. */
static void on_proposal(struct consensus *c, uint64_t peer, const unsigned char *msg, size_t len)
{
    rp_cs_proposal p;
    const unsigned char *block, *pc;
    size_t blen, plen;
    const char *field = NULL;
    char why[160];
    int rc = rp_cs_wire_proposal_decode(&p, &block, &blen, &pc, &plen, msg, len, &field);
    if (rc) {
        snprintf(why, sizeof why, "an invalid proposal (%s%s%s)", rp_strerror(rc),
                 field ? ": " : "", field ? field : "");
        rp_net_misbehaved(c->n->network->net, peer, why);
        return;
    }
    if (p.proposer >= c->nval) {
        rp_net_misbehaved(c->n->network->net, peer, "a proposal by no validator");
        return;
    }
    if (p.height != c->height)
        return; /* another height: sync or STATE brings us there */
    rp_header hd;
    rp_hash hh;
    if (blen < RP_HEADER_SIZE || rp_header_decode(&hd, block, RP_HEADER_SIZE) != 0) {
        rp_net_misbehaved(c->n->network->net, peer, "a proposal with an undecodable block");
        return;
    }
    rp_header_hash(&hh, &hd);
    if (!rp_hash_eq(&hh, &p.block_hash) || hd.height != p.height) {
        rp_net_misbehaved(c->n->network->net, peer, "a proposal whose block is another");
        return;
    }
    if (rp_cs_proposal_verify(&p, &c->chain_id, &c->keys[p.proposer]) != 0) {
        rp_net_misbehaved(c->n->network->net, peer, "a proposal with a bad signature");
        return;
    }
    struct cs_block *b = block_slot(c, &p.block_hash);
    unsigned char *bb = b && !b->bytes ? malloc(blen) : NULL;
    unsigned char *pb = bb && plen ? malloc(plen) : NULL;
    if (bb && plen && !pb) {
        free(bb);
        bb = NULL;
    }
    if (bb) {
        memcpy(bb, block, blen);
        if (plen)
            memcpy(pb, pc, plen);
        free(b->pc);
        b->bytes = bb;
        b->len = blen;
        b->pc = pb;
        b->plen = plen;
        if (b->wanted)
            start_check(c, b); /* asked for before its bytes came (a replay) */
    }
    struct cs_peer *cp = cs_peer_get(c, peer, 1);
    if (cp && cp->has_state && cp->st.height == p.height && cp->st.round == p.round)
        cp->st.has_proposal = 1;
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_PROPOSAL;
    in.proposal = p;
    feed(c, &in, peer);
}

static void on_vote(struct consensus *c, uint64_t peer, const unsigned char *msg, size_t len)
{
    rp_cs_vote v;
    const char *field = NULL;
    char why[160];
    int rc = rp_cs_wire_vote_decode(&v, msg, len, &field);
    if (rc) {
        snprintf(why, sizeof why, "an invalid vote (%s%s%s)", rp_strerror(rc), field ? ": " : "",
                 field ? field : "");
        rp_net_misbehaved(c->n->network->net, peer, why);
        return;
    }
    if (v.validator >= c->nval) {
        rp_net_misbehaved(c->n->network->net, peer, "a vote by no validator");
        return;
    }
    if (v.height != c->height)
        return;
    if (rp_cs_vote_verify(&v, &c->chain_id, &c->keys[v.validator]) != 0) {
        rp_net_misbehaved(c->n->network->net, peer, "a vote with a bad signature");
        return;
    }
    struct cs_peer *cp = cs_peer_get(c, peer, 1);
    if (cp && cp->has_state && cp->st.height == v.height && cp->st.round == v.round)
        rp_cs_bit_set(v.type == RP_VOTE_PREVOTE ? cp->st.prevotes : cp->st.precommits,
                      v.validator);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VOTE;
    in.vote = v;
    feed(c, &in, peer);
}

void rp_consensus_message(struct node *n, uint64_t peer, const unsigned char *msg, size_t len)
{
    struct consensus *c = n->cs;
    if (!c || c->stopped || !n->network) {
        return;
    }
    switch (msg[0]) {
    case RP_CS_MSG_PROPOSAL:
        on_proposal(c, peer, msg, len);
        break;
    case RP_CS_MSG_VOTE:
        on_vote(c, peer, msg, len);
        break;
    case RP_CS_MSG_STATE: {
        rp_cs_state_msg st;
        const char *field = NULL;
        int rc = rp_cs_wire_state_decode(&st, msg, len, &field);
        if (rc) {
            char why[160];
            snprintf(why, sizeof why, "an invalid consensus state (%s%s%s)", rp_strerror(rc),
                     field ? ": " : "", field ? field : "");
            rp_net_misbehaved(n->network->net, peer, why);
            return;
        }
        cs_on_state(c, peer, &st);
        break;
    }
    default:
        break; /* the rest of the range is for later versions: skipped */
    }
}

void rp_consensus_peer(struct node *n, uint64_t peer, int up)
{
    struct consensus *c = n->cs;
    if (!c)
        return;
    struct cs_peer *p = cs_peer_get(c, peer, up);
    if (!p)
        return;
    if (up) {
        cs_send_state(c, peer);
    } else {
        memset(p, 0, sizeof *p);
    }
}

void rp_consensus_block_committed(struct node *n, uint64_t height)
{
    struct consensus *c = n->cs;
    if (c && !c->stopped && !c->committing && height >= c->height)
        cs_new_height(c, height + 1);
}

int rp_consensus_committing(const struct node *n)
{
    return n->cs && n->cs->committing;
}

/* Does a validator key sign elsewhere? Its signature in a recent commit
 * that this guard did not make means another machine runs it. */
static int check_elsewhere(struct consensus *c, uint64_t tip, char *err, size_t errlen)
{
    uint64_t from = tip > 100 ? tip - 100 : 1;
    for (uint64_t h = from; h <= tip && tip; h++) {
        unsigned char *buf = NULL;
        size_t len = 0;
        rp_commit cm;
        int bad = rp_store_read_commit(c->n->st, h, &buf, &len) != 0 ||
                  rp_commit_decode(&cm, buf, len) != 0;
        free(buf);
        if (bad)
            continue;
        rp_cs_guard g;
        rp_signer_state(c->signer, &g);
        if (rp_cs_guard_signed_elsewhere(&g, &cm, (uint16_t)c->self)) {
            snprintf(err, errlen,
                     "validator %d's signature is in the commit of block %llu, which this "
                     "node's double-sign guard did not sign: the key runs elsewhere. Stop the "
                     "other node, or copy its consensus/guard here, before starting this one",
                     c->self, (unsigned long long)h);
            return RP_ERR_CONFIG;
        }
    }
    return 0;
}

int rp_consensus_start(struct node *n, char *err, size_t errlen)
{
    const rp_genesis *g = n->g;
    if (n->producer || g->nvalidators < 2 || !n->network)
        return 0; /* one validator decides alone (node/producer.c) */
    struct consensus *c = calloc(1, sizeof *c);
    if (!c)
        return RP_ERR_NOMEM;
    c->n = n;
    c->chain_id = *rp_store_chain_id(n->st);
    c->nval = g->nvalidators;
    for (size_t i = 0; i < c->nval; i++) {
        c->power[i] = g->validators[i].power;
        c->keys[i] = g->validators[i].pubkey;
    }
    c->self = n->validator_index;
    c->to = n->cfg.consensus;
    c->sent_step = -1;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc) {
        free(c);
        return rc;
    }
    rp_cswal_replay rep;
    memset(&rep, 0, sizeof rep);
    if (c->self >= 0) {
        if ((rc = rp_signer_open(&c->signer, n->datadir, &c->chain_id, &n->key, err, errlen)) !=
                0 ||
            (rc = check_elsewhere(c, tip.height, err, errlen)) != 0 ||
            (rc = rp_cswal_open(&c->wal, n->datadir, tip.height + 1, &rep, err, errlen)) != 0) {
            rp_cswal_replay_free(&rep);
            rp_signer_close(c->signer);
            free(c);
            return rc;
        }
        if (rep.cut)
            rp_log(RP_LOG_WARN, "consensus_log_cut", "bytes=%llu code=%d msg=\"a torn tail of the "
                   "consensus log was cut\"", (unsigned long long)rep.cut, rep.cut_reason);
    }
    for (int s = 0; s < 3; s++) {
        uv_timer_init(n->loop, &c->step_timer[s]);
        c->step_timer[s].data = c;
    }
    uv_timer_init(n->loop, &c->tick);
    c->tick.data = c;
    c->timers_open = 1;
    n->cs = c;
    c->height = tip.height;
    enter_height(c, tip.height + 1, &rep);
    rp_cswal_replay_free(&rep);
    c->height_since_ms = 0;
    uv_timer_start(&c->tick, tick_cb, CS_TICK_MS, CS_TICK_MS);
    rp_log(RP_LOG_INFO, "consensus_started", "height=%llu validators=%zu self=%d",
           (unsigned long long)c->height, c->nval, c->self);
    return 0;
}

void rp_consensus_stop(struct node *n)
{
    struct consensus *c = n->cs;
    if (!c || c->stopped)
        return;
    c->stopped = 1;
    if (c->timers_open) {
        for (int s = 0; s < 3; s++) {
            uv_timer_stop(&c->step_timer[s]);
            uv_close((uv_handle_t *)&c->step_timer[s], NULL);
        }
        uv_timer_stop(&c->tick);
        uv_close((uv_handle_t *)&c->tick, NULL);
    }
}

void rp_consensus_free(struct node *n)
{
    struct consensus *c = n->cs;
    if (!c)
        return;
    rp_cs_free(c->e);
    for (size_t i = 0; i < CS_MAX_BLOCKS; i++)
        block_clear(&c->blocks[i]);
    rp_signer_close(c->signer);
    rp_cswal_close(c->wal);
    free(c);
    n->cs = NULL;
}
