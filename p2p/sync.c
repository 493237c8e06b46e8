/* Block sync (contract in sync.h).
 *
 * A ring of RP_SYNC_WINDOW slots covers the heights tip+1 .. tip+WINDOW;
 * slot h % WINDOW is height h. A slot is empty (not asked for), requested
 * (from one peer, with a deadline), received (the pair's bytes, and who
 * sent them) or committing (handed to the node). Requests go out in ranges
 * of contiguous empty heights, each to the next peer in turn that has them
 * and has room, so several peers serve at once and a slow one holds up
 * only its own ranges. Blocks are handed to the node strictly in order, one
 * at a time.
 */
#include "p2p/sync.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"

#define UNASKED_LIMIT 64 /* blocks a peer may send unasked before it misbehaves */

enum slot_state { EMPTY = 0, REQUESTED, RECEIVED, COMMITTING };

struct slot {
    enum slot_state state;
    uint64_t height;
    uint64_t peer; /* REQUESTED: asked from; RECEIVED, COMMITTING: sent by */
    uint64_t deadline;
    unsigned char *block, *commit;
    size_t blen, clen;
};

struct peer {
    uint64_t id;
    uint64_t height;
    uint32_t inflight;
    uint32_t timeouts; /* in a row */
    uint32_t unasked;
    int gone;
};

struct rp_sync {
    rp_sync_io io;
    uint64_t tip, target;
    struct slot slots[RP_SYNC_WINDOW];
    struct peer *peers;
    size_t npeers, cappeers, next_peer;
    uint64_t inflight, buffered, buffered_bytes, committed;
    struct {
        uint64_t at_ms, count;
    } rate[16];
    size_t nrate;
};

int rp_sync_new(rp_sync **out, const rp_sync_io *io, uint64_t tip)
{
    rp_sync *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return RP_ERR_NOMEM;
    s->io = *io;
    s->tip = s->target = tip;
    return 0;
}

static void slot_clear(rp_sync *s, struct slot *sl)
{
    if (sl->state == RECEIVED || sl->state == COMMITTING) {
        s->buffered--;
        s->buffered_bytes -= sl->blen + sl->clen;
    }
    free(sl->block);
    free(sl->commit);
    memset(sl, 0, sizeof *sl);
}

void rp_sync_free(rp_sync *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < RP_SYNC_WINDOW; i++)
        slot_clear(s, &s->slots[i]);
    free(s->peers);
    free(s);
}

static struct peer *peer_get(rp_sync *s, uint64_t id)
{
    for (size_t i = 0; i < s->npeers; i++)
        if (s->peers[i].id == id)
            return &s->peers[i];
    return NULL;
}

static struct slot *slot_of(rp_sync *s, uint64_t h)
{
    if (h <= s->tip || h > s->tip + RP_SYNC_WINDOW)
        return NULL;
    struct slot *sl = &s->slots[h % RP_SYNC_WINDOW];
    if (sl->state != EMPTY && sl->height != h)
        return NULL; /* cannot happen: slots are cleared as the tip passes */
    sl->height = h;
    return sl;
}

static void recompute_target(rp_sync *s)
{
    uint64_t t = s->tip;
    for (size_t i = 0; i < s->npeers; i++)
        if (!s->peers[i].gone && s->peers[i].height > t)
            t = s->peers[i].height;
    s->target = t;
}

static void misbehaved(rp_sync *s, struct peer *p, const char *why, int slow)
{
    if (p->gone)
        return;
    p->gone = 1;
    s->io.misbehaved(s->io.ctx, p->id, why, slow);
    /* What it was asked for goes to others. */
    for (size_t i = 0; i < RP_SYNC_WINDOW; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->state == REQUESTED && sl->peer == p->id) {
            sl->state = EMPTY;
            s->inflight--;
        }
    }
    p->inflight = 0;
    recompute_target(s);
}

/* Ask for the empty heights we have room for, range by range. */
static void schedule(rp_sync *s, uint64_t now_ms)
{
    uint64_t last = s->tip + RP_SYNC_WINDOW;
    if (last > s->target)
        last = s->target;
    for (uint64_t h = s->tip + 1; h <= last; h++) {
        if (s->buffered_bytes >= RP_SYNC_BUFFER_BYTES)
            return;
        struct slot *sl = slot_of(s, h);
        if (!sl || sl->state != EMPTY)
            continue;
        /* The next peer in turn that has h and room. */
        struct peer *p = NULL;
        for (size_t k = 0; k < s->npeers && !p; k++) {
            struct peer *c = &s->peers[(s->next_peer + k) % s->npeers];
            if (!c->gone && c->height >= h && c->inflight < RP_SYNC_WINDOW_PEER) {
                p = c;
                s->next_peer = (s->next_peer + k + 1) % s->npeers;
            }
        }
        if (!p)
            continue; /* nobody can serve h now */
        uint32_t count = 0;
        while (h + count <= last && count < RP_SYNC_MAX_RANGE &&
               p->inflight + count < RP_SYNC_WINDOW_PEER && h + count <= p->height) {
            struct slot *c = slot_of(s, h + count);
            if (!c || c->state != EMPTY)
                break;
            c->state = REQUESTED;
            c->peer = p->id;
            c->deadline = now_ms + RP_SYNC_TIMEOUT_MS;
            count++;
        }
        p->inflight += count;
        s->inflight += count;
        s->io.send_getblocks(s->io.ctx, p->id, h, count);
        h += count - 1;
    }
}

/* Hand the next block to the node, if it is here and none is being
 * committed. */
static void try_commit(rp_sync *s)
{
    struct slot *sl = slot_of(s, s->tip + 1);
    if (!sl || sl->state != RECEIVED)
        return;
    sl->state = COMMITTING;
    s->io.commit(s->io.ctx, sl->height, sl->block, sl->blen, sl->commit, sl->clen);
}

void rp_sync_peer_height(rp_sync *s, uint64_t id, uint64_t height, uint64_t now_ms)
{
    struct peer *p = peer_get(s, id);
    if (!p) {
        if (s->npeers == s->cappeers) {
            size_t cap = s->cappeers ? s->cappeers * 2 : 16;
            struct peer *np = realloc(s->peers, cap * sizeof *np);
            if (!np)
                return;
            s->peers = np;
            s->cappeers = cap;
        }
        p = &s->peers[s->npeers++];
        memset(p, 0, sizeof *p);
        p->id = id;
    } else if (p->gone) {
        return;
    } else if (height < p->height) {
        misbehaved(s, p, "lowered the height it announced", 0);
        return;
    }
    p->height = height;
    if (height > s->target)
        s->target = height;
    schedule(s, now_ms);
}

void rp_sync_remove_peer(rp_sync *s, uint64_t id)
{
    for (size_t i = 0; i < s->npeers; i++) {
        if (s->peers[i].id != id)
            continue;
        for (size_t k = 0; k < RP_SYNC_WINDOW; k++) {
            struct slot *sl = &s->slots[k];
            if (sl->state == REQUESTED && sl->peer == id) {
                sl->state = EMPTY;
                s->inflight--;
            }
        }
        s->peers[i] = s->peers[--s->npeers];
        if (s->next_peer >= s->npeers)
            s->next_peer = 0;
        recompute_target(s);
        return;
    }
}

int rp_sync_on_block(rp_sync *s, uint64_t id, uint64_t height, const unsigned char *block,
                     size_t blen, const unsigned char *commit, size_t clen, uint64_t now_ms)
{
    struct peer *p = peer_get(s, id);
    if (!p || p->gone)
        return 0;
    struct slot *sl = slot_of(s, height);
    if (!sl || sl->state != REQUESTED || sl->peer != id) {
        if (++p->unasked > UNASKED_LIMIT)
            misbehaved(s, p, "blocks nobody asked for", 0);
        return 0;
    }
    unsigned char *b = malloc(blen ? blen : 1), *c = malloc(clen ? clen : 1);
    if (!b || !c) {
        free(b);
        free(c);
        return 0; /* the request times out and is made again */
    }
    memcpy(b, block, blen);
    memcpy(c, commit, clen);
    sl->state = RECEIVED;
    sl->block = b;
    sl->commit = c;
    sl->blen = blen;
    sl->clen = clen;
    s->inflight--;
    s->buffered++;
    s->buffered_bytes += blen + clen;
    if (p->inflight)
        p->inflight--;
    p->timeouts = 0;
    try_commit(s);
    schedule(s, now_ms);
    return 1;
}

void rp_sync_on_notfound(rp_sync *s, uint64_t id, uint64_t height, uint64_t now_ms)
{
    struct peer *p = peer_get(s, id);
    if (!p || p->gone)
        return;
    struct slot *sl = slot_of(s, height);
    if (sl && sl->state == REQUESTED && sl->peer == id && height <= p->height) {
        misbehaved(s, p, "announced a height it cannot serve", 0);
        schedule(s, now_ms);
    }
}

static void note_rate(rp_sync *s, uint64_t now_ms)
{
    size_t i = s->nrate % 16;
    if (s->nrate && s->rate[(s->nrate - 1) % 16].at_ms / 1000 == now_ms / 1000) {
        s->rate[(s->nrate - 1) % 16].count++;
        return;
    }
    s->rate[i].at_ms = now_ms;
    s->rate[i].count = 1;
    s->nrate++;
}

void rp_sync_committed(rp_sync *s, uint64_t height, int ok, uint64_t now_ms)
{
    struct slot *sl = slot_of(s, height);
    if (!sl || sl->state != COMMITTING)
        return;
    if (ok <= 0) {
        struct peer *p = peer_get(s, sl->peer);
        slot_clear(s, sl); /* asked for again, from whoever has it */
        if (p && ok == 0)
            misbehaved(s, p, "sent a block the ledger refused", 0);
        schedule(s, now_ms);
        return;
    }
    slot_clear(s, sl);
    s->tip = height;
    s->committed++;
    note_rate(s, now_ms);
    if (s->target < s->tip)
        s->target = s->tip;
    try_commit(s);
    schedule(s, now_ms);
}

void rp_sync_set_tip(rp_sync *s, uint64_t tip, uint64_t now_ms)
{
    while (s->tip < tip) {
        struct slot *sl = &s->slots[(s->tip + 1) % RP_SYNC_WINDOW];
        if (sl->state == COMMITTING && sl->height == s->tip + 1)
            break; /* being committed: rp_sync_committed moves the tip */
        if (sl->state == REQUESTED) {
            struct peer *p = peer_get(s, sl->peer);
            if (p && p->inflight)
                p->inflight--;
            s->inflight--;
        }
        slot_clear(s, sl);
        s->tip++;
    }
    if (s->target < s->tip)
        s->target = s->tip;
    try_commit(s);
    schedule(s, now_ms);
}

void rp_sync_tick(rp_sync *s, uint64_t now_ms)
{
    for (size_t i = 0; i < RP_SYNC_WINDOW; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->state != REQUESTED || sl->deadline > now_ms)
            continue;
        struct peer *p = peer_get(s, sl->peer);
        sl->state = EMPTY;
        s->inflight--;
        if (!p)
            continue;
        if (p->inflight)
            p->inflight--;
        if (++p->timeouts >= RP_SYNC_MAX_TIMEOUTS)
            misbehaved(s, p, "does not answer block requests in time", 1);
    }
    schedule(s, now_ms);
}

void rp_sync_status_get(const rp_sync *s, rp_sync_status *st, uint64_t now_ms)
{
    memset(st, 0, sizeof *st);
    st->tip = s->tip;
    st->target = s->target;
    st->syncing = s->target > s->tip;
    st->inflight = s->inflight;
    st->buffered = s->buffered;
    st->buffered_bytes = s->buffered_bytes;
    st->blocks_committed = s->committed;
    uint64_t sum = 0;
    size_t n = s->nrate < 16 ? s->nrate : 16;
    for (size_t i = 0; i < n; i++)
        if (now_ms - s->rate[i].at_ms <= 10000)
            sum += s->rate[i].count;
    st->blocks_per_s = (double)sum / 10.0;
}
