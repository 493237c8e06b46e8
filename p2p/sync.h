/* Block sync: a lagging or new node fetches (block, commit) pairs by height
 * from several peers at once and hands them, in height order, to the node,
 * which checks and commits each through the ledger's one execution path. A
 * pure engine: no sockets, no clock, no ledger; the node feeds it what peers
 * said and sent, and it answers through callbacks.
 *
 * The rules (docs/p2p.md, "Block sync"):
 *   - a peer's height is what its STATUS or its latest NEWBLOCK said; the
 *     target is the highest height a peer has shown;
 *   - heights above the committed tip are asked for in ranges, each from
 *     one peer that has them: at most RP_SYNC_WINDOW_PEER heights in flight
 *     per peer and RP_SYNC_WINDOW heights (and RP_SYNC_BUFFER_BYTES of
 *     blocks received and not yet committed) in all;
 *   - a request not answered within RP_SYNC_TIMEOUT_MS goes to another
 *     peer; a peer that times out RP_SYNC_MAX_TIMEOUTS times in a row is
 *     dropped (reported as slow);
 *   - a peer that answers "not found" for a height it said it had, or that
 *     lowers the height it announced, is reported as misbehaving, and the
 *     heights go to other peers: nobody can stall the sync by lying;
 *   - a block the ledger refuses is reported against the peer that sent it,
 *     and asked for again from another;
 *   - blocks are committed strictly in order; the node says when each
 *     commit is done (rp_sync_committed), one at a time.
 * The engine knows when it has caught up: no peer is ahead of the tip.
 *
 * Single-threaded (the node's loop). Times are monotonic milliseconds,
 * passed in.
 */
#ifndef RP_SYNC_H
#define RP_SYNC_H

#include <stddef.h>
#include <stdint.h>

#define RP_SYNC_WINDOW 256                   /* heights in flight or buffered, in all */
#define RP_SYNC_WINDOW_PEER 32               /* heights in flight from one peer */
#define RP_SYNC_MAX_RANGE 16                 /* heights in one GETBLOCKS */
#define RP_SYNC_BUFFER_BYTES (64u << 20)     /* blocks received, not yet committed */
#define RP_SYNC_TIMEOUT_MS 10000
#define RP_SYNC_MAX_TIMEOUTS 3

typedef struct rp_sync rp_sync;

/* What the engine asks of the node. Callbacks run synchronously inside
 * engine calls; none may call back into the engine except where noted. */
typedef struct rp_sync_io {
    void *ctx;
    /* Ask a peer for count heights from `from`. */
    void (*send_getblocks)(void *ctx, uint64_t peer, uint64_t from, uint32_t count);
    /* Check and commit the block at the next height (block and commit are
     * the engine's until rp_sync_committed: borrowed). The node answers
     * later with rp_sync_committed, exactly once. */
    void (*commit)(void *ctx, uint64_t height, const unsigned char *block, size_t blen,
                   const unsigned char *commit, size_t clen);
    /* A peer broke a sync rule (why says which): disconnect and discourage
     * it. slow: it only failed to answer in time (disconnect, no
     * discouragement). */
    void (*misbehaved)(void *ctx, uint64_t peer, const char *why, int slow);
} rp_sync_io;

/* Returns: 0 or RP_ERR_NOMEM. Out: *out. In: io (copied); tip: the height
 * the ledger is at. */
int rp_sync_new(rp_sync **out, const rp_sync_io *io, uint64_t tip);
void rp_sync_free(rp_sync *s);

/* A peer joined, or said where it is (STATUS, NEWBLOCK). A height below
 * one it announced before is misbehaviour. */
void rp_sync_peer_height(rp_sync *s, uint64_t peer, uint64_t height, uint64_t now_ms);
/* A peer left: its requests go to others. */
void rp_sync_remove_peer(rp_sync *s, uint64_t peer);

/* Blocks a peer sent: the pair at height (bytes borrowed, copied if kept).
 * An answer nobody asked for is ignored (a late one) or, past a bound,
 * misbehaviour.
 * Returns: 1 if the engine kept the block (it asked this peer for it), so
 *          that the caller may start checking it ahead; 0 if not. */
int rp_sync_on_block(rp_sync *s, uint64_t peer, uint64_t height, const unsigned char *block,
                     size_t blen, const unsigned char *commit, size_t clen, uint64_t now_ms);
/* The peer cannot serve height (a NOTFOUND). */
void rp_sync_on_notfound(rp_sync *s, uint64_t peer, uint64_t height, uint64_t now_ms);

/* The node committed (ok 1) or refused (ok 0: the block broke a rule, which
 * is the sender's misbehaviour) the block it was given, or could not take
 * it for reasons of its own (ok -1: out of memory, a full writer queue;
 * the block is asked for again, and nobody is blamed). Exactly once per
 * commit callback; may be called from inside it. The
 * ledger's tip also moves when the node commits a block it made or got
 * another way: rp_sync_set_tip says so. */
void rp_sync_committed(rp_sync *s, uint64_t height, int ok, uint64_t now_ms);
void rp_sync_set_tip(rp_sync *s, uint64_t tip, uint64_t now_ms);

/* Time passes: expire requests, ask for more. Call every ~100 ms. */
void rp_sync_tick(rp_sync *s, uint64_t now_ms);

typedef struct rp_sync_status {
    int syncing;         /* a peer is ahead of the tip */
    uint64_t tip, target; /* committed height; the highest height a peer showed */
    uint64_t inflight, buffered, buffered_bytes;
    uint64_t blocks_committed;
    double blocks_per_s; /* over the last 10 s */
} rp_sync_status;
void rp_sync_status_get(const rp_sync *s, rp_sync_status *st, uint64_t now_ms);

#endif /* RP_SYNC_H */
