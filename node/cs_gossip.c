/* Consensus messages between peers (node/consensus.h): each node says where
 * it is (STATE: height, round, step, which votes and whether the proposal
 * it holds), and each peer sends it what it lacks. New votes and proposals
 * are relayed at once to the peers at the same height; STATE, sent on every
 * step and every CS_STATE_MS, repairs whatever that missed (a lost message,
 * a restart, a peer that joined mid-height). All of it is urgent on the
 * wire: ahead of record gossip and blocks (p2p/net.h). */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "node/consensus.h"
#include "node/network.h"
#include "node/node.h"

struct cs_peer *cs_peer_get(struct consensus *c, uint64_t id, int create)
{
    struct cs_peer *freep = NULL;
    for (size_t i = 0; i < CS_MAX_PEERS; i++) {
        if (c->peers[i].id == id)
            return &c->peers[i];
        if (!c->peers[i].id && !freep)
            freep = &c->peers[i];
    }
    if (!create || !freep)
        return NULL;
    memset(freep, 0, sizeof *freep);
    freep->id = id;
    return freep;
}

static rp_net *net_of(struct consensus *c)
{
    return c->n->network ? c->n->network->net : NULL;
}

static void send_bytes(struct consensus *c, uint64_t peer, const unsigned char *b, size_t len)
{
    rp_net *net = net_of(c);
    if (!net)
        return;
    if (peer)
        (void)rp_net_send_bytes(net, peer, b, len, 1);
    else
        rp_net_broadcast_bytes(net, b, len, 1, 0);
}

void cs_send_state(struct consensus *c, uint64_t peer)
{
    if (!c->e)
        return;
    rp_cs_state st;
    rp_cs_get_state(c->e, &st);
    rp_cs_state_msg m;
    memset(&m, 0, sizeof m);
    m.height = c->height;
    m.round = st.round;
    m.step = (uint8_t)st.step;
    m.n = (uint16_t)c->nval;
    rp_cs_proposal p;
    m.has_proposal = rp_cs_get_proposal(c->e, st.round, &p) == 0;
    rp_cs_vote votes[2 * RP_CS_MAX_VALIDATORS];
    size_t k = rp_cs_votes(c->e, st.round, RP_VOTE_PREVOTE, votes, 2 * c->nval);
    for (size_t i = 0; i < k; i++)
        rp_cs_bit_set(m.prevotes, votes[i].validator);
    k = rp_cs_votes(c->e, st.round, RP_VOTE_PRECOMMIT, votes, 2 * c->nval);
    for (size_t i = 0; i < k; i++)
        rp_cs_bit_set(m.precommits, votes[i].validator);
    unsigned char buf[RP_CS_STATE_MAX_SIZE];
    size_t len;
    if (rp_cs_wire_state(&m, buf, sizeof buf, &len) == 0)
        send_bytes(c, peer, buf, len);
}

static void send_vote_to(struct consensus *c, uint64_t peer, const rp_cs_vote *v)
{
    unsigned char buf[RP_CS_VOTE_SIZE];
    if (rp_cs_wire_vote(v, buf) == 0)
        send_bytes(c, peer, buf, sizeof buf);
}

static void send_proposal_to(struct consensus *c, uint64_t peer, const rp_cs_proposal *p,
                             const struct cs_block *b)
{
    if (!b || !b->bytes)
        return;
    size_t cap = RP_CS_PROPOSAL_FIXED + b->len + b->plen, len;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return;
    if (rp_cs_wire_proposal(p, b->bytes, b->len, b->pc, b->plen, buf, cap, &len) == 0)
        send_bytes(c, peer, buf, len);
    free(buf);
}

/* Send peer the votes of (round, type) it lacks, marking them sent. A
 * validator's second vote (it signed two: rp_cs_votes lists those after
 * the first ones) goes along whatever the bitmap says, which has one bit
 * per validator: a peer may need it to count a proof of lock. */
static void send_missing(struct consensus *c, struct cs_peer *cp, uint32_t round, uint8_t type)
{
    rp_cs_vote votes[2 * RP_CS_MAX_VALIDATORS];
    unsigned char seen[RP_CS_BITMAP_MAX] = {0};
    size_t k = rp_cs_votes(c->e, round, type, votes, 2 * c->nval);
    int mark = cp->st.round == round;
    unsigned char *map = type == RP_VOTE_PREVOTE ? cp->st.prevotes : cp->st.precommits;
    for (size_t i = 0; i < k; i++) {
        int second = rp_cs_bit(seen, votes[i].validator);
        rp_cs_bit_set(seen, votes[i].validator);
        if (!second && mark && rp_cs_bit(map, votes[i].validator))
            continue;
        send_vote_to(c, cp->id, &votes[i]);
        if (mark)
            rp_cs_bit_set(map, votes[i].validator);
    }
}

void cs_on_state(struct consensus *c, uint64_t peer, const rp_cs_state_msg *st)
{
    struct cs_peer *cp = cs_peer_get(c, peer, 1);
    if (!cp)
        return;
    if (st->n != c->nval) {
        rp_net_misbehaved(net_of(c), peer, "a consensus state for another validator set");
        return;
    }
    uint64_t now = uv_now(c->n->loop);
    /* At most one answer per peer every CS_ANSWER_MS: a STATE flood cannot
     * make this node send its votes again and again (what it learns from
     * each STATE is kept, and the periodic STATE repairs the rest). */
    int answer = !cp->has_state || now - cp->last_state_ms >= CS_ANSWER_MS;
    cp->st = *st;
    cp->has_state = 1;
    if (!answer || !c->e || st->height != c->height)
        return;
    cp->last_state_ms = now;
    rp_cs_proposal p;
    if (!st->has_proposal && rp_cs_get_proposal(c->e, st->round, &p) == 0) {
        send_proposal_to(c, peer, &p, cs_block_find(c, &p.block_hash));
        cp->st.has_proposal = 1;
    }
    send_missing(c, cp, st->round, RP_VOTE_PREVOTE);
    send_missing(c, cp, st->round, RP_VOTE_PRECOMMIT);
    /* Behind in rounds: our round's votes let it skip ahead (f+1). */
    rp_cs_state mine;
    rp_cs_get_state(c->e, &mine);
    if (mine.round > st->round) {
        send_missing(c, cp, mine.round, RP_VOTE_PREVOTE);
        send_missing(c, cp, mine.round, RP_VOTE_PRECOMMIT);
    }
}

void cs_relay_vote(struct consensus *c, const rp_cs_vote *v, uint64_t from, int second)
{
    for (size_t i = 0; i < CS_MAX_PEERS; i++) {
        struct cs_peer *cp = &c->peers[i];
        if (!cp->id || cp->id == from)
            continue;
        if (cp->has_state && cp->st.height != v->height)
            continue;
        int same = cp->has_state && cp->st.round == v->round;
        unsigned char *map = v->type == RP_VOTE_PREVOTE ? cp->st.prevotes : cp->st.precommits;
        if (same && rp_cs_bit(map, v->validator) && !second)
            continue;
        send_vote_to(c, cp->id, v);
        if (same)
            rp_cs_bit_set(map, v->validator);
    }
}

void cs_relay_proposal(struct consensus *c, const rp_cs_proposal *p, const struct cs_block *b,
                       uint64_t from)
{
    for (size_t i = 0; i < CS_MAX_PEERS; i++) {
        struct cs_peer *cp = &c->peers[i];
        if (!cp->id || cp->id == from)
            continue;
        if (cp->has_state && cp->st.height != p->height)
            continue;
        if (cp->has_state && cp->st.round == p->round && cp->st.has_proposal)
            continue;
        send_proposal_to(c, cp->id, p, b);
        if (cp->has_state && cp->st.round == p->round)
            cp->st.has_proposal = 1;
    }
}
