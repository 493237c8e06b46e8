/* Internal to the daemon: the node's side of the network (network.c) and
 * the RPC methods that look at it (peers.c). The threading contract is
 * node.h's: all of it is the loop's.
 */
#ifndef RP_NODE_NETWORK_H
#define RP_NODE_NETWORK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ledger/presig.h"
#include "node/mempool.h"
#include "p2p/gossip.h"
#include "p2p/net.h"
#include "p2p/session.h"
#include "p2p/sync.h"

#define NW_TICK_MS 100
#define NW_PRE_SLOTS (2 * RP_SYNC_WINDOW) /* blocks pre-verified ahead, by height */
#define NW_SERVE_QUEUE 8                  /* GETBLOCKS waiting to be served, per peer */
#define NW_MAX_PEERS 1200                 /* per-peer state slots (max_inbound + outbound) */
#define NW_RETRY_MS 5000                  /* a synced block the disk refused, tried again */
#define NW_PROGRESS_MS 10000

/* A block's signatures, verified on the pool ahead of its commit. */
struct pre {
    struct network *w;
    uv_work_t req;
    uint64_t height; /* 0: free */
    rp_hash digest;  /* SHA-256 of the block bytes it is for */
    unsigned char *block;
    size_t blen;
    rp_presig ps;
    rp_hash *ids; /* the block's record ids */
    size_t nids;
    int ids_failed; /* out of memory: ids unknown */
    int queued, running, done;
    int commit_waiting; /* sync asked to commit it while it ran */
};

/* A synced block on its way through the writer. */
struct commit_job {
    struct network *w;
    uint64_t height;
    rp_presig ps;
    rp_presig_cache cache;
    rp_hash *ids;
    size_t nids;
    int have_ids;
    rp_hash hash;
    unsigned char *block, *commit; /* copies, for a retry */
    size_t blen, clen;
};

struct npeer {
    uint64_t id; /* 0: free */
    int status_seen;
    uint64_t height; /* its latest STATUS or NEWBLOCK */
    struct {
        uint64_t from;
        uint32_t count;
    } serve[NW_SERVE_QUEUE];
    size_t nserve;
};

struct network {
    struct node *n;
    rp_net *net;
    rp_gossip *gossip;
    rp_sync *sync;
    rp_session_local local;
    rp_mp_sub sub;
    uv_timer_t tick, retry;
    struct pre pre[NW_PRE_SLOTS];
    struct commit_job *retry_job;
    struct npeer peers[NW_MAX_PEERS];
    rp_p2p_msg *msg; /* for building messages */
    int committing;  /* a synced block is with the writer */
    uint64_t handed_height; /* the last height the sync engine handed to commit */
    unsigned pre_running, pre_limit; /* verifications on the pool, and at most */
    int stopped;     /* rp_network_stop ran: only callbacks of work in flight remain */
    /* the block sync asked to commit while its pre-verification ran
     * (borrowed from the sync engine until rp_sync_committed) */
    struct {
        uint64_t height;
        const unsigned char *block, *commit;
        size_t blen, clen;
    } waiting;
    /* The commit of our tip as a peer that has the next block holds it:
     * the one that block names (ledger/exec.h, rp_exec_commit_after). */
    struct {
        uint64_t height;
        rp_hash head;
        unsigned char *commit;
        size_t clen;
    } tip_commit;
    int synced_logged;
    uint64_t last_progress_ms;
    uint64_t blocks_synced, records_received;
};

/* A ready peer's state, or NULL. */
struct npeer *rp_network_peer(struct network *w, uint64_t peer);

#endif /* RP_NODE_NETWORK_H */
