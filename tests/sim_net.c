/* The simulator's world: a seeded PRNG, the event queue and the network.
 *
 * The queue is a binary heap of events ordered by (time, sequence): the
 * sequence number is given at push time, so two events at one millisecond
 * run in the order they were made and a seed replays exactly.
 *
 * The network delivers each message after a delay drawn uniformly from
 * dmin..dmax ms, so messages overtake one another. Before GST it also
 * loses a message (loss_pm per mille), sends a second copy with its own
 * delay (dup_pm), holds one back for up to four times dmax more (reorder_pm),
 * and drops every message that crosses an active partition, at send or at
 * delivery time. From GST on the network is synchronous: nothing is lost and
 * every message arrives within dmax. A message to a node carries the node's
 * incarnation: if the node crashed in the meantime, it is dropped, as a
 * closed connection would lose it.
 *
 * Signature checks go through a cache of (key, message, signature) results:
 * every receiver checks every signature, but one that was already checked
 * in this run is not computed again (its answer cannot change). This keeps
 * the cost of a run to about one verification per distinct signature.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/block.h"
#include "tests/sim.h"

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    /* Lemire's method would be faster; the modulo bias at n < 2^20 is
     * below 2^-44, far under anything a run could notice. */
    return sim_rng_next(r) % n;
}

uint64_t sim_rng_range(sim_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + sim_rng_below(r, hi - lo + 1);
}

int sim_rng_permille(sim_rng *r, uint32_t permille)
{
    return permille > 0 && sim_rng_below(r, 1000) < permille;
}

/* ---- the queue ---- */

static int before(const sim_event *a, const sim_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_push(sim *s, const sim_event *e)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? s->capheap * 2 : 1024;
        sim_event *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            abort();
        s->heap = h;
        s->capheap = cap;
    }
    size_t i = s->nheap++;
    sim_event ev = *e;
    ev.seq = s->seq++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&ev, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = ev;
}

int sim_pop(sim *s, sim_event *e)
{
    if (s->nheap == 0)
        return 0;
    *e = s->heap[0];
    sim_event last = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n > 0)
        s->heap[i] = last;
    return 1;
}

/* ---- the network ---- */

int sim_partitioned(const sim *s, uint16_t a, uint16_t b, uint64_t t)
{
    for (size_t i = 0; i < s->cfg.nparts; i++) {
        const sim_partition *p = &s->cfg.parts[i];
        if (t >= p->start && t < p->end && (((p->side >> a) ^ (p->side >> b)) & 1))
            return 1;
    }
    return 0;
}

static void post(sim *s, uint16_t to, const sim_msg *m, uint64_t delay)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = s->now + delay;
    e.kind = EV_DELIVER;
    e.node = to;
    e.inc = s->nodes[to].inc;
    e.msg = *m;
    sim_push(s, &e);
}

void sim_send(sim *s, uint16_t from, uint16_t to, const sim_msg *m)
{
    const sim_config *c = &s->cfg;
    if (c->filter && c->filter(s, m, to)) {
        s->st.lost++;
        return;
    }
    int early = s->now < s->gst;
    if (sim_partitioned(s, from, to, s->now) || (early && sim_rng_permille(&s->rng, c->loss_pm))) {
        s->st.lost++;
        return;
    }
    uint64_t delay = sim_rng_range(&s->rng, c->dmin, c->dmax);
    if (early && sim_rng_permille(&s->rng, c->reorder_pm))
        delay += sim_rng_range(&s->rng, 0, 4 * (uint64_t)c->dmax);
    if (delay == 0)
        delay = 1;
    post(s, to, m, delay);
    if (early && sim_rng_permille(&s->rng, c->dup_pm))
        post(s, to, m, sim_rng_range(&s->rng, c->dmin > 0 ? c->dmin : 1, c->dmax));
}

void sim_broadcast(sim *s, uint16_t from, const sim_msg *m)
{
    for (uint16_t i = 0; i < s->cfg.n; i++)
        if (i != from)
            sim_send(s, from, i, m);
}

/* ---- cached signature checks ---- */

#define VCACHE_SIZE 32768 /* a power of two; a run makes a few thousand signatures */

typedef struct vcache_entry {
    uint8_t used, ok;
    uint16_t validator;
    rp_hash msg;
    rp_sig sig;
} vcache_entry;

static vcache_entry vcache[VCACHE_SIZE];
static size_t vcache_used;

void sim_verify_cache_clear(void)
{
    memset(vcache, 0, sizeof vcache);
    vcache_used = 0;
}

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* 1 if sig is validator's signature of msg, through the cache; on a miss
 * the real check runs (rp_cs_vote_verify or rp_cs_proposal_verify). */
static int check(sim *s, uint16_t validator, const rp_hash *msg, const rp_sig *sig,
                 const rp_cs_vote *v, const rp_cs_proposal *p)
{
    uint64_t h = fnv(sig->bytes, 16, fnv(msg->bytes, 8, 0xcbf29ce484222325ULL ^ validator));
    size_t i = (size_t)h & (VCACHE_SIZE - 1);
    for (;;) {
        vcache_entry *e = &vcache[i];
        if (!e->used)
            break;
        if (e->validator == validator && memcmp(e->msg.bytes, msg->bytes, 32) == 0 &&
            memcmp(e->sig.bytes, sig->bytes, 64) == 0) {
            s->st.verify_hits++;
            return e->ok;
        }
        i = (i + 1) & (VCACHE_SIZE - 1);
    }
    s->st.verifies++;
    int ok = v ? rp_cs_vote_verify(v, &s->chain_id, &s->keys[validator]) == 0
               : rp_cs_proposal_verify(p, &s->chain_id, &s->keys[validator]) == 0;
    if (vcache_used < VCACHE_SIZE / 2) {
        vcache_entry *e = &vcache[i];
        e->used = 1;
        e->ok = (uint8_t)ok;
        e->validator = validator;
        e->msg = *msg;
        e->sig = *sig;
        vcache_used++;
    }
    return ok;
}

/* rp_cs_vote_verify and rp_cs_proposal_verify, remembered per distinct
 * (validator, signed message, signature). */
int sim_verify_vote(sim *s, const rp_cs_vote *v)
{
    if (v->validator >= s->cfg.n)
        return 0;
    rp_hash m;
    rp_vote_message(&m, &s->chain_id, v->height, v->round, v->type, &v->block_hash);
    return check(s, v->validator, &m, &v->sig, v, NULL);
}

int sim_verify_proposal(sim *s, const rp_cs_proposal *p)
{
    if (p->proposer >= s->cfg.n)
        return 0;
    rp_hash m;
    rp_cs_proposal_message(&m, &s->chain_id, p);
    return check(s, p->proposer, &m, &p->sig, NULL, p);
}
