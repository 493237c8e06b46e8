/* Record gossip (contract in gossip.h).
 *
 * Per peer: a rolling set of the record ids it is known to have (two
 * generations of 64-bit fingerprints: when the current one fills, the older
 * is cleared and they swap, so the set remembers between one and two
 * generations' worth), a queue of ids to announce at the next tick, the
 * number of ids requested from it, and two token buckets (ids it may
 * announce, ids it may ask for).
 *
 * Requests: one map from record id to the peer it was asked from and when,
 * plus up to two other peers that announced it meanwhile; a FIFO of the
 * requests in the order they were made expires them (the timeout is the
 * same for all, so that order is deadline order). An expired request goes
 * to an announcer that is still connected, or is forgotten.
 *
 * Fingerprints are the first 8 bytes of a record id, which is a hash of a
 * signed record: a collision that made a peer look as if it knew a record
 * would need a second record with the same 64 bits, about 2^64 work.
 */
#include "p2p/gossip.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"

#define KNOWN_SLOTS (RP_GOSSIP_KNOWN)     /* per generation: half-full at most */
#define KNOWN_GEN (RP_GOSSIP_KNOWN / 2)   /* entries per generation */
#define UNREQUESTED_LIMIT 100             /* unrequested records tolerated per peer */
/* We announce to a peer at 4/5 of the rate it lets us, so clock drift and
 * a burst of delayed messages never trip its flood rule. */
#define PACE_RATE (RP_GOSSIP_INV_BUDGET * 4.0 / 5.0)

/* ---- a peer's known set -------------------------------------------------------- */

struct known {
    uint64_t *gen[2]; /* open addressing; 0 = empty (a zero fingerprint is stored as 1) */
    size_t count[2];
    int cur;
};

static uint64_t fingerprint(const rp_hash *id)
{
    uint64_t f = 0;
    for (int i = 0; i < 8; i++)
        f = f << 8 | id->bytes[i];
    return f ? f : 1;
}

static int known_has_gen(const uint64_t *t, uint64_t f)
{
    for (size_t i = (size_t)f & (KNOWN_SLOTS - 1);; i = (i + 1) & (KNOWN_SLOTS - 1)) {
        if (t[i] == f)
            return 1;
        if (t[i] == 0)
            return 0;
    }
}

static int known_has(const struct known *k, const rp_hash *id)
{
    uint64_t f = fingerprint(id);
    return known_has_gen(k->gen[0], f) || known_has_gen(k->gen[1], f);
}

static void known_add(struct known *k, const rp_hash *id)
{
    uint64_t f = fingerprint(id);
    if (known_has_gen(k->gen[k->cur], f))
        return;
    if (k->count[k->cur] >= KNOWN_GEN) { /* roll: the older generation goes */
        k->cur ^= 1;
        memset(k->gen[k->cur], 0, KNOWN_SLOTS * sizeof(uint64_t));
        k->count[k->cur] = 0;
    }
    uint64_t *t = k->gen[k->cur];
    size_t i = (size_t)f & (KNOWN_SLOTS - 1);
    while (t[i] != 0)
        i = (i + 1) & (KNOWN_SLOTS - 1);
    t[i] = f;
    k->count[k->cur]++;
}

/* ---- peers ------------------------------------------------------------------- */

struct bucket {
    double tokens;
    uint64_t at_ms;
};

/* Take n tokens from a bucket refilled at rate per second, holding at most
 * two seconds' worth. Returns 1 if there were enough. */
static int bucket_take(struct bucket *b, double rate, size_t n, uint64_t now_ms)
{
    if (now_ms > b->at_ms) {
        b->tokens += rate * (double)(now_ms - b->at_ms) / 1000.0;
        if (b->tokens > 2 * rate)
            b->tokens = 2 * rate;
        b->at_ms = now_ms;
    }
    if (b->tokens < (double)n)
        return 0;
    b->tokens -= (double)n;
    return 1;
}

struct peer {
    uint64_t id;
    struct known known;
    rp_hash *announce; /* ids to announce at the next tick */
    size_t nannounce, capannounce;
    size_t inflight;    /* ids requested from it */
    rp_hash *later;     /* ids it announced that could not be requested yet */
    size_t nlater, caplater;
    size_t unrequested; /* records it sent that nobody asked for */
    struct bucket inv, getdata; /* what it may send us */
    struct bucket pace;         /* what we may announce to it: below its inv budget */
    int gone; /* misbehaved: ignore it until it is removed */
};

/* ---- requests ---------------------------------------------------------------- */

struct req {
    rp_hash id;
    uint64_t peer; /* 0: a free slot */
    uint64_t deadline;
    uint64_t alt[2]; /* other peers that announced it (0: none) */
    int tomb;
};

#define REQ_SLOTS (4 * RP_GOSSIP_INFLIGHT_ALL) /* power of two not needed: modulo */
/* The request FIFO keeps answered requests until they reach its head, so it
 * is larger than the request table and compacted when it fills: a request
 * stuck at its head must not stop new ones. */
#define FIFO_SLOTS (2 * RP_GOSSIP_INFLIGHT_ALL)

struct rp_gossip {
    rp_gossip_io io;
    struct peer **peers;
    size_t npeers, cappeers;
    struct req *req; /* REQ_SLOTS, open addressing */
    size_t nreq, used;
    rp_hash *fifo; /* ids in request order */
    size_t fhead, flen;
    rp_gossip_stats st;
};

static size_t req_home(const rp_hash *id) { return (size_t)(fingerprint(id) % REQ_SLOTS); }

static struct req *req_find(rp_gossip *g, const rp_hash *id)
{
    for (size_t i = req_home(id), n = 0; n < REQ_SLOTS; i = (i + 1) % REQ_SLOTS, n++) {
        struct req *r = &g->req[i];
        if (!r->peer && !r->tomb)
            return NULL;
        if (r->peer && rp_hash_eq(&r->id, id))
            return r;
    }
    return NULL;
}

/* Rebuild the table without tombstones once they crowd it. */
static void req_compact(rp_gossip *g)
{
    struct req *old = g->req;
    struct req *t = calloc(REQ_SLOTS, sizeof *t);
    if (!t)
        return; /* keep the crowded one: lookups still work */
    for (size_t i = 0; i < REQ_SLOTS; i++) {
        if (!old[i].peer)
            continue;
        size_t j = req_home(&old[i].id);
        while (t[j].peer)
            j = (j + 1) % REQ_SLOTS;
        t[j] = old[i];
    }
    free(old);
    g->req = t;
    g->used = g->nreq;
}

/* Drop answered requests from the FIFO, keeping the order of the rest. */
static void fifo_compact(rp_gossip *g)
{
    size_t keep = 0;
    for (size_t k = 0; k < g->flen; k++) {
        rp_hash id = g->fifo[(g->fhead + k) % FIFO_SLOTS];
        if (req_find(g, &id))
            g->fifo[(g->fhead + keep++) % FIFO_SLOTS] = id;
    }
    g->flen = keep;
}

static struct req *req_add(rp_gossip *g, const rp_hash *id, uint64_t peer, uint64_t deadline)
{
    if (g->nreq >= RP_GOSSIP_INFLIGHT_ALL)
        return NULL;
    if (g->flen >= FIFO_SLOTS)
        fifo_compact(g);
    if (g->flen >= FIFO_SLOTS)
        return NULL; /* cannot happen: nreq < INFLIGHT_ALL < FIFO_SLOTS after compaction */
    if (g->used > REQ_SLOTS / 2)
        req_compact(g);
    size_t i = req_home(id);
    while (g->req[i].peer)
        i = (i + 1) % REQ_SLOTS;
    struct req *r = &g->req[i];
    if (!r->tomb)
        g->used++;
    memset(r, 0, sizeof *r);
    r->id = *id;
    r->peer = peer;
    r->deadline = deadline;
    g->nreq++;
    g->fifo[(g->fhead + g->flen++) % FIFO_SLOTS] = *id;
    return r;
}

static void req_del(rp_gossip *g, struct req *r)
{
    r->peer = 0;
    r->tomb = 1;
    g->nreq--;
}

/* ---- the engine -------------------------------------------------------------- */

int rp_gossip_new(rp_gossip **out, const rp_gossip_io *io)
{
    rp_gossip *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g)
        return RP_ERR_NOMEM;
    g->io = *io;
    g->req = calloc(REQ_SLOTS, sizeof *g->req);
    g->fifo = malloc(FIFO_SLOTS * sizeof *g->fifo);
    if (!g->req || !g->fifo) {
        rp_gossip_free(g);
        return RP_ERR_NOMEM;
    }
    *out = g;
    return 0;
}

static void peer_free(struct peer *p)
{
    if (!p)
        return;
    free(p->known.gen[0]);
    free(p->known.gen[1]);
    free(p->announce);
    free(p->later);
    free(p);
}

void rp_gossip_free(rp_gossip *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->npeers; i++)
        peer_free(g->peers[i]);
    free(g->peers);
    free(g->req);
    free(g->fifo);
    free(g);
}

static struct peer *peer_get(rp_gossip *g, uint64_t id)
{
    for (size_t i = 0; i < g->npeers; i++)
        if (g->peers[i]->id == id)
            return g->peers[i];
    return NULL;
}

int rp_gossip_add_peer(rp_gossip *g, uint64_t id, uint64_t now_ms)
{
    if (!id || peer_get(g, id))
        return 0;
    if (g->npeers == g->cappeers) {
        size_t cap = g->cappeers ? g->cappeers * 2 : 16;
        struct peer **p = realloc(g->peers, cap * sizeof *p);
        if (!p)
            return RP_ERR_NOMEM;
        g->peers = p;
        g->cappeers = cap;
    }
    struct peer *p = calloc(1, sizeof *p);
    if (!p || !(p->known.gen[0] = calloc(KNOWN_SLOTS, sizeof(uint64_t))) ||
        !(p->known.gen[1] = calloc(KNOWN_SLOTS, sizeof(uint64_t)))) {
        peer_free(p);
        return RP_ERR_NOMEM;
    }
    p->id = id;
    p->inv.tokens = p->getdata.tokens = 2.0 * RP_GOSSIP_INV_BUDGET;
    p->inv.at_ms = p->getdata.at_ms = p->pace.at_ms = now_ms;
    p->pace.tokens = PACE_RATE;
    g->peers[g->npeers++] = p;
    return 0;
}

void rp_gossip_remove_peer(rp_gossip *g, uint64_t id)
{
    for (size_t i = 0; i < g->npeers; i++) {
        if (g->peers[i]->id != id)
            continue;
        peer_free(g->peers[i]);
        g->peers[i] = g->peers[--g->npeers];
        /* Its requests expire as usual and go to another announcer; the
         * alternates that name it are checked against the peer list. */
        return;
    }
}

static void misbehaved(rp_gossip *g, struct peer *p, const char *why)
{
    if (p->gone)
        return;
    p->gone = 1;
    g->io.misbehaved(g->io.ctx, p->id, why);
}

/* Queue an id for a peer's next INV, unless it knows it already. */
static void announce_to(struct peer *p, const rp_hash *id)
{
    if (p->gone || known_has(&p->known, id))
        return;
    if (p->nannounce == p->capannounce) {
        if (p->capannounce >= RP_GOSSIP_ANNOUNCE_MAX)
            return; /* it is far behind: it will ask when it needs to */
        size_t cap = p->capannounce ? p->capannounce * 2 : 256;
        if (cap > RP_GOSSIP_ANNOUNCE_MAX)
            cap = RP_GOSSIP_ANNOUNCE_MAX;
        rp_hash *a = realloc(p->announce, cap * sizeof *a);
        if (!a)
            return;
        p->announce = a;
        p->capannounce = cap;
    }
    known_add(&p->known, id); /* announced: it knows now */
    p->announce[p->nannounce++] = *id;
}

/* Remember an id p announced, to request when p has room again. The queue
 * is bounded like the announcement queue: beyond it, another peer's
 * announcement or the next block brings the record. */
static void later_push(struct peer *p, const rp_hash *id)
{
    if (p->nlater == p->caplater) {
        if (p->caplater >= RP_GOSSIP_ANNOUNCE_MAX)
            return;
        size_t cap = p->caplater ? p->caplater * 2 : 256;
        if (cap > RP_GOSSIP_ANNOUNCE_MAX)
            cap = RP_GOSSIP_ANNOUNCE_MAX;
        rp_hash *l = realloc(p->later, cap * sizeof *l);
        if (!l)
            return;
        p->later = l;
        p->caplater = cap;
    }
    p->later[p->nlater++] = *id;
}

/* Request ids[0..n) from p, those we lack and nobody is asked for; ids
 * beyond what p or the node may have in flight wait in p's later queue
 * (only when later is set: ids taken from that queue go back to it).
 * Returns how many were consumed (all, unless the later queue is being
 * drained and p is full again). */
static size_t request(rp_gossip *g, struct peer *p, const rp_hash *ids, size_t n, int from_later,
                      uint64_t now_ms)
{
    rp_hash want[RP_GOSSIP_MAX_IDS];
    size_t nwant = 0, i;
    for (i = 0; i < n && nwant < RP_GOSSIP_MAX_IDS; i++) {
        if (g->io.have(g->io.ctx, &ids[i]))
            continue;
        struct req *r = req_find(g, &ids[i]);
        if (r) { /* asked elsewhere already: remember a fallback */
            if (r->peer != p->id && r->alt[0] != p->id && r->alt[1] != p->id)
                r->alt[r->alt[0] ? 1 : 0] = p->id;
            continue;
        }
        if (p->inflight >= RP_GOSSIP_INFLIGHT_PEER ||
            !req_add(g, &ids[i], p->id, now_ms + RP_GOSSIP_REQUEST_TIMEOUT_MS)) {
            if (from_later)
                break; /* the rest stays queued */
            later_push(p, &ids[i]);
            continue;
        }
        p->inflight++;
        want[nwant++] = ids[i];
    }
    if (nwant) {
        g->st.getdata_sent += nwant;
        g->io.send_getdata(g->io.ctx, p->id, want, nwant);
    }
    return i;
}

void rp_gossip_on_inv(rp_gossip *g, uint64_t peer, const rp_hash *ids, size_t n, uint64_t now_ms)
{
    struct peer *p = peer_get(g, peer);
    if (!p || p->gone)
        return;
    g->st.inv_received += n;
    if (n > RP_GOSSIP_MAX_IDS || !bucket_take(&p->inv, RP_GOSSIP_INV_BUDGET, n, now_ms)) {
        misbehaved(g, p, n > RP_GOSSIP_MAX_IDS ? "INV with too many ids" : "INV flood");
        return;
    }
    for (size_t i = 0; i < n; i++)
        known_add(&p->known, &ids[i]);
    (void)request(g, p, ids, n, 0, now_ms);
}

void rp_gossip_on_getdata(rp_gossip *g, uint64_t peer, const rp_hash *ids, size_t n,
                          uint64_t now_ms)
{
    struct peer *p = peer_get(g, peer);
    if (!p || p->gone)
        return;
    if (n > RP_GOSSIP_MAX_IDS || !bucket_take(&p->getdata, RP_GOSSIP_GETDATA_BUDGET, n, now_ms)) {
        misbehaved(g, p, n > RP_GOSSIP_MAX_IDS ? "GETDATA with too many ids" : "GETDATA flood");
        return;
    }
    const unsigned char *recs[RP_GOSSIP_MAX_IDS];
    size_t lens[RP_GOSSIP_MAX_IDS], nrec = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b;
        size_t len;
        if (!g->io.lookup(g->io.ctx, &ids[i], &b, &len))
            continue; /* gone into a block, or never ours: the peer will sync it */
        if (bytes + len > RP_GOSSIP_RECORDS_BYTES && nrec) {
            g->io.send_records(g->io.ctx, peer, recs, lens, nrec);
            g->st.records_sent += nrec;
            nrec = bytes = 0;
        }
        known_add(&p->known, &ids[i]);
        recs[nrec] = b;
        lens[nrec++] = len;
        bytes += len;
    }
    if (nrec) {
        g->io.send_records(g->io.ctx, peer, recs, lens, nrec);
        g->st.records_sent += nrec;
    }
}

void rp_gossip_on_records(rp_gossip *g, uint64_t peer, const rp_hash *ids,
                          const unsigned char *const *recs, const size_t *lens, size_t n,
                          uint64_t now_ms)
{
    struct peer *p = peer_get(g, peer);
    (void)now_ms;
    if (!p || p->gone)
        return;
    g->st.records_received += n;
    for (size_t i = 0; i < n; i++) {
        struct req *r = req_find(g, &ids[i]);
        known_add(&p->known, &ids[i]);
        if (!r || r->peer != peer) {
            /* Nobody asked this peer for it. A few cross on the wire (a
             * request that timed out, then was answered); a stream of them
             * is a flood. */
            g->st.unrequested++;
            if (++p->unrequested > UNREQUESTED_LIMIT) {
                misbehaved(g, p, "records nobody asked for");
                return;
            }
            continue;
        }
        req_del(g, r);
        if (p->inflight)
            p->inflight--;
        if (g->io.have(g->io.ctx, &ids[i])) {
            g->st.duplicates++;
            continue;
        }
        g->io.submit(g->io.ctx, peer, recs[i], lens[i]);
    }
}

void rp_gossip_admitted(rp_gossip *g, const rp_hash *id, uint64_t source)
{
    for (size_t i = 0; i < g->npeers; i++)
        if (g->peers[i]->id != source)
            announce_to(g->peers[i], id);
}

void rp_gossip_offer(rp_gossip *g, uint64_t peer, const rp_hash *ids, size_t n)
{
    struct peer *p = peer_get(g, peer);
    for (size_t i = 0; p && i < n; i++)
        announce_to(p, &ids[i]);
}

/* Is peer still here, and can it take one more request? */
static struct peer *usable(rp_gossip *g, uint64_t id)
{
    struct peer *p = id ? peer_get(g, id) : NULL;
    return p && !p->gone && p->inflight < RP_GOSSIP_INFLIGHT_PEER ? p : NULL;
}

static void expire(rp_gossip *g, uint64_t now_ms)
{
    while (g->flen) {
        rp_hash id = g->fifo[g->fhead];
        struct req *r = req_find(g, &id);
        if (r && r->deadline > now_ms)
            break; /* the oldest request is still running: so are the rest */
        g->fhead = (g->fhead + 1) % FIFO_SLOTS;
        g->flen--;
        if (!r)
            continue; /* answered */
        struct peer *old = peer_get(g, r->peer);
        if (old && old->inflight)
            old->inflight--;
        uint64_t alt[2] = {r->alt[0], r->alt[1]};
        req_del(g, r);
        if (g->io.have(g->io.ctx, &id))
            continue;
        for (int k = 0; k < 2; k++) {
            struct peer *p = usable(g, alt[k]);
            if (!p)
                continue;
            struct req *nr = req_add(g, &id, p->id, now_ms + RP_GOSSIP_REQUEST_TIMEOUT_MS);
            if (!nr)
                break;
            nr->alt[0] = alt[1 - k];
            p->inflight++;
            g->st.getdata_sent++;
            g->io.send_getdata(g->io.ctx, p->id, &id, 1);
            break;
        }
    }
}

void rp_gossip_tick(rp_gossip *g, uint64_t now_ms)
{
    /* Ids that waited for room: request what fits now, oldest first. */
    for (size_t i = 0; i < g->npeers; i++) {
        struct peer *p = g->peers[i];
        while (p->nlater && !p->gone && p->inflight < RP_GOSSIP_INFLIGHT_PEER) {
            size_t k = p->nlater < RP_GOSSIP_MAX_IDS ? p->nlater : RP_GOSSIP_MAX_IDS;
            size_t used = request(g, p, p->later, k, 1, now_ms);
            memmove(p->later, p->later + used, (p->nlater - used) * sizeof *p->later);
            p->nlater -= used;
            if (used < k)
                break;
        }
    }
    for (size_t i = 0; i < g->npeers; i++) {
        struct peer *p = g->peers[i];
        if (!p->nannounce || p->gone)
            continue;
        /* Refill the pacing bucket, then send what it allows; the rest
         * waits in order for the next tick. */
        bucket_take(&p->pace, PACE_RATE, 0, now_ms);
        size_t n = p->nannounce;
        if ((double)n > p->pace.tokens)
            n = (size_t)p->pace.tokens;
        if (!n)
            continue;
        p->pace.tokens -= (double)n;
        for (size_t off = 0; off < n; off += RP_GOSSIP_MAX_IDS) {
            size_t k = n - off;
            if (k > RP_GOSSIP_MAX_IDS)
                k = RP_GOSSIP_MAX_IDS;
            g->io.send_inv(g->io.ctx, p->id, p->announce + off, k);
            g->st.inv_sent += k;
        }
        memmove(p->announce, p->announce + n, (p->nannounce - n) * sizeof *p->announce);
        p->nannounce -= n;
    }
    expire(g, now_ms);
}

void rp_gossip_stats_get(const rp_gossip *g, rp_gossip_stats *st)
{
    *st = g->st;
    st->peers = g->npeers;
    st->inflight = g->nreq;
}
