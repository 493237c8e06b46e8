/* Record gossip: which record ids to announce to which peer, which to ask
 * for and from whom, and what a peer did wrong. A pure engine: no sockets,
 * no clock, no threads. The node feeds it what peers sent and what the
 * mempool admitted, and it answers through callbacks with the messages to
 * send (INV, GETDATA, RECORDS bodies) and the records to submit.
 *
 * The rules (docs/p2p.md, "Record gossip"):
 *   - records are announced by id (INV) and sent only when asked (GETDATA,
 *     answered with RECORDS), so a record body crosses a link at most once;
 *   - a record is announced only after the local mempool admitted it (one
 *     intake path for RPC and peers), and never to a peer that is known to
 *     have it: the one it came from, one that announced it or was sent it;
 *   - each id is requested from one peer at a time; a request that is not
 *     answered in time may go to another peer that announced it; ids a
 *     peer announced beyond what may be in flight from it wait (bounded)
 *     and are requested as its answers come in;
 *   - every per-peer set and queue is bounded: known ids (a rolling set),
 *     ids waiting to be announced, ids requested; a peer that exceeds what
 *     it may send (an INV flood, more GETDATA than allowed, records nobody
 *     asked for) is reported as misbehaving, with the reason.
 *
 * Single-threaded: the node's loop owns the engine. Times are milliseconds
 * on any monotonic clock, passed in.
 */
#ifndef RP_GOSSIP_H
#define RP_GOSSIP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

/* Bounds (docs/p2p.md). */
#define RP_GOSSIP_MAX_IDS 1000            /* ids in one INV or GETDATA */
#define RP_GOSSIP_KNOWN 16384             /* ids remembered per peer */
#define RP_GOSSIP_ANNOUNCE_MAX 50000      /* ids waiting to be announced to one peer */
#define RP_GOSSIP_INFLIGHT_PEER 5000      /* ids requested from one peer at once */
#define RP_GOSSIP_INFLIGHT_ALL 50000      /* ids requested from all peers at once */
#define RP_GOSSIP_REQUEST_TIMEOUT_MS 10000
#define RP_GOSSIP_INV_BUDGET 20000        /* ids a peer may announce per second (burst 2x) */
#define RP_GOSSIP_GETDATA_BUDGET 20000    /* ids a peer may ask for per second (burst 2x) */
#define RP_GOSSIP_RECORDS_BYTES (1u << 20) /* most record bytes in one RECORDS */

typedef struct rp_gossip rp_gossip;

/* What the engine asks of the node. Every callback runs synchronously from
 * inside an engine call; none may call back into the engine. */
typedef struct rp_gossip_io {
    void *ctx;
    /* Do we have this record (pending in the mempool, or on chain)? 1/0. */
    int (*have)(void *ctx, const rp_hash *id);
    /* The bytes of a record we hold and may send (the mempool's pending
     * records). Returns: 1 with *bytes borrowed until the next engine call,
     * or 0. */
    int (*lookup)(void *ctx, const rp_hash *id, const unsigned char **bytes, size_t *len);
    /* Hand a record a peer sent to the mempool, with that peer as its
     * source. The mempool's verdict comes back later through
     * rp_gossip_admitted (or never, for a refused record). */
    void (*submit)(void *ctx, uint64_t peer, const unsigned char *rec, size_t len);
    /* Messages to send to a peer: an INV or a GETDATA of n ids, or a
     * RECORDS of n records (recs[i], lens[i] borrowed for the call). */
    void (*send_inv)(void *ctx, uint64_t peer, const rp_hash *ids, size_t n);
    void (*send_getdata)(void *ctx, uint64_t peer, const rp_hash *ids, size_t n);
    void (*send_records)(void *ctx, uint64_t peer, const unsigned char *const *recs,
                         const size_t *lens, size_t n);
    /* A peer broke a gossip rule: the node disconnects and discourages it. */
    void (*misbehaved)(void *ctx, uint64_t peer, const char *why);
} rp_gossip_io;

/* Returns: 0 or RP_ERR_NOMEM. Out: *out. In: io (copied). */
int rp_gossip_new(rp_gossip **out, const rp_gossip_io *io);
void rp_gossip_free(rp_gossip *g);

/* A peer joined (after its handshake) or left. Adding a known peer or
 * removing an unknown one does nothing.
 * Returns (add): 0 or RP_ERR_NOMEM. */
int rp_gossip_add_peer(rp_gossip *g, uint64_t peer, uint64_t now_ms);
void rp_gossip_remove_peer(rp_gossip *g, uint64_t peer);

/* A peer's INV, GETDATA or RECORDS (recs[i], lens[i]: each record's bytes,
 * decoded by the mempool later). ids and records are borrowed. */
void rp_gossip_on_inv(rp_gossip *g, uint64_t peer, const rp_hash *ids, size_t n, uint64_t now_ms);
void rp_gossip_on_getdata(rp_gossip *g, uint64_t peer, const rp_hash *ids, size_t n,
                          uint64_t now_ms);
void rp_gossip_on_records(rp_gossip *g, uint64_t peer, const rp_hash *ids,
                          const unsigned char *const *recs, const size_t *lens, size_t n,
                          uint64_t now_ms);

/* The mempool admitted a record (its READY event): announce it to every
 * peer but source (0: it came from RPC) and those that know it. */
void rp_gossip_admitted(rp_gossip *g, const rp_hash *id, uint64_t source);

/* A peer just joined: offer it records the mempool already holds (ids
 * borrowed), as if they had just been admitted. */
void rp_gossip_offer(rp_gossip *g, uint64_t peer, const rp_hash *ids, size_t n);

/* Time passes: send the announcements gathered since the last tick, in
 * INVs of up to RP_GOSSIP_MAX_IDS ids, paced at 4/5 of the receiver's
 * RP_GOSSIP_INV_BUDGET (what does not fit waits, in order, for a later
 * tick); expire requests and re-request what another peer announced.
 * Call every ~100 ms. */
void rp_gossip_tick(rp_gossip *g, uint64_t now_ms);

/* Counters for node.metrics. */
typedef struct rp_gossip_stats {
    uint64_t inv_sent, inv_received, getdata_sent, records_sent, records_received;
    uint64_t duplicates;  /* records received that we already had */
    uint64_t unrequested; /* records received that nobody asked for */
    size_t peers, inflight;
} rp_gossip_stats;
void rp_gossip_stats_get(const rp_gossip *g, rp_gossip_stats *st);

#endif /* RP_GOSSIP_H */
