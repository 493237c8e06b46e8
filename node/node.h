/* Internal to the daemon (`reputed run`): the node's state and how its
 * parts share it. daemon.c starts and stops the node, producer.c makes
 * blocks and computes score epochs ahead, verifier.c verifies the mempool's
 * signatures, waiters.c answers clients who wait for a record, methods.c and
 * reads.c are the RPC methods, writer.c the one writer, metrics.c the
 * Prometheus endpoint.
 *
 * The threading contract, once for all of them:
 *
 *   - The loop thread (one libuv loop) owns everything in struct node: the
 *     mempool (with its pending state's long read transaction), the RPC
 *     server and its calls, the waiters, the timers, the producer's state
 *     and the writer's queue. Nothing else touches them.
 *   - libuv's worker pool, sized to the cores plus one, runs CPU work and
 *     reads: signature batches (each touches only its batch), block builds
 *     (a read transaction; each touches only its job), score epochs computed
 *     ahead (a read transaction), and RPC answers too large for the loop (a
 *     read transaction each). Their after-callbacks apply the results on the
 *     loop. The chain's work is queued on the pool directly; client reads
 *     go through the read lane (node/lane.h), which keeps at most one fewer
 *     than the pool's threads busy with them, so the chain never waits
 *     behind a client.
 *   - The store is read by any thread through read transactions (MDB_NOTLS).
 *     It is written by the writer only (node/writer.h): one job at a time on
 *     the pool, in the order queued, every block commit and every epoch
 *     offer. The loop never waits for a commit or a computation.
 *   - The validator key is read on the loop only (to sign a commit) and
 *     wiped at exit.
 *   - One more thread, only when [metrics] listen is set: libmicrohttpd's,
 *     which answers GET /metrics (node/metrics.h). It touches nothing in
 *     struct node. The loop builds the exposition text every second and
 *     publishes it into a buffer behind a mutex; that buffer is all the
 *     HTTP thread reads, and it never waits for the loop.
 */
#ifndef RP_NODE_H
#define RP_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "crypto/sig.h"
#include "ledger/epoch.h"
#include "ledger/store.h"
#include "node/config.h"
#include "node/lane.h"
#include "node/mempool.h"
#include "node/rpc.h"
#include "node/writer.h"

#define REPUTE_VERSION "0.1.0"

struct waiter;
struct top_cache;
struct top_waiter;
struct produce_job;
struct network;

struct node {
    uv_loop_t *loop;
    char datadir[RP_CONFIG_PATH_MAX];
    rp_config cfg;
    rp_store *st;
    const rp_genesis *g;
    rp_mempool *mp;
    rp_mp_sub mp_sub; /* the RPC waiters' subscription; their waitlists are its user pointers */
    rp_rpc_server *rpc;
    rp_node_writer *writer;
    rp_lane *reads; /* client reads on the pool (node/lane.h) */
    uv_timer_t block_timer;
    uv_timer_t housekeeping; /* every 10 s: expire held records */
    uv_check_t verify_check;
    uv_signal_t sig_int, sig_term;
    int stopping;

    int producer; /* this node's key alone is a quorum: it makes blocks */
    int validator_index;
    rp_seckey key;

    unsigned threads;
    unsigned batches; /* verify jobs in flight */

    /* producer.c */
    uint64_t settle; /* keep making blocks (empty if need be) up to here */
    int producing;   /* a block is being built or committed */
    int epoch_job;   /* an epoch computation is running */
    uint64_t epoch_job_epoch;
    uint64_t epoch_computed; /* the last epoch computed ahead (offered or queued) */
    uint64_t epoch_offered;  /* the last epoch the writer handed to the store */
    /* For the metrics: computations ahead that succeeded, and the last
     * one's time in seconds (snapshot and engine). */
    uint64_t epochs_computed;
    double epoch_compute_s;
    uint64_t blocks_produced, records_included, inline_verifies;
    uv_timer_t retry_timer;          /* a block waiting for disk room */
    struct produce_job *retry_job;   /* that block */
    uint64_t disk_full_since;        /* wall ms; 0: the disk has room */
    unsigned retry_ms;
    struct {
        uint64_t t_ms, records;
    } rate[256];
    size_t nrate;

    /* ranking.c: score.top's ranking of the latest epoch */
    struct top_cache *top;
    int top_job;
    struct top_waiter *top_waiters;

    /* waiters.c */
    struct waiter *waiters;
    size_t nwaiters;

    uint64_t start_ms;

    struct network *network; /* network.c: peers, gossip, sync (NULL: not started) */
    struct consensus *cs;    /* consensus.c: several validators (NULL: not running) */
    struct rp_metrics *metrics; /* metrics.c: the HTTP endpoint (NULL: off) */
};

/* Wall-clock milliseconds since the epoch. */
uint64_t rp_node_wall_ms(void);

/* ---- methods.c ---------------------------------------------------------------- */

/* The RPC method table's names (for rp_rpc_start) and its dispatcher. */
extern const char *const rp_node_method_names[];
extern const int rp_node_method_count;
void rp_node_dispatch(void *ctx, rp_rpc_call *call, int method, json_t *params);

/* ---- waiters.c ---------------------------------------------------------------- */

/* Answer call when record id becomes ready (or, with want_included, is
 * included), is dropped, or after timeout_ms. Returns 0 or RP_ERR_NOMEM. */
int rp_waiter_add(struct node *n, rp_rpc_call *call, const rp_hash *id, int want_included,
                  uint64_t timeout_ms);
/* The mempool subscriber that answers waiters. */
void rp_waiters_on_event(void *ctx, const rp_mp_event *ev);
/* Answer every waiter with "shutting down" (the node is stopping). */
void rp_waiters_fail_all(struct node *n);
/* The JSON answer of record.submit. */
json_t *rp_submit_result(const rp_hash *id, const char *status, int included, uint64_t height,
                         uint32_t index);

/* ---- verifier.c --------------------------------------------------------------- */

/* Hand the signatures waiting in the mempool to the pool (once per loop
 * iteration). */
void rp_verifier_pump(struct node *n);

/* ---- producer.c --------------------------------------------------------------- */

/* Start the producer's timers and the epoch computation the tip needs.
 * Returns 0 or a store error (reading the tip). */
int rp_producer_start(struct node *n);
/* Stop its timer (the node is stopping). */
void rp_producer_stop(struct node *n);
/* Records included per second over the last minute. */
double rp_producer_rate(struct node *n);
/* Build a consensus proposal for height (the tip's next) at round: first
 * [0..nfirst) (evidence records, copied), then the mempool's ready prefix,
 * on the pool; rp_consensus_built gets the result.
 * Returns: 0, or an error (a build is running, the tip moved). */
int rp_producer_build(struct node *n, uint64_t height, uint32_t round, const rp_block_item *first,
                      size_t nfirst);
/* After any block this node decided or produced is committed: counters,
 * the settle horizon, the mempool, NEWBLOCK, the next epoch ahead. ids:
 * the block's record ids; t0: uv_hrtime() when its making began. */
void rp_producer_committed(struct node *n, uint64_t height, const rp_hash *hash,
                           const rp_hash *ids, size_t k, uint64_t t0);
/* Compute ahead the epoch that blocks after height will need. */
void rp_producer_epoch_ahead(struct node *n, uint64_t height);
/* Does block next_height commit an epoch still being computed? */
int rp_producer_epoch_pending(struct node *n, uint64_t next_height);

/* ---- consensus.c -------------------------------------------------------------- */

struct consensus;
/* Start consensus on a chain of several validators (a validator key that
 * is not a quorum alone, or a full node following such a chain).
 * Returns: 0 (also when there is nothing to run: a single-validator
 *          chain), or an error with err saying why (the guard or the log
 *          refused, a key that signs elsewhere). */
int rp_consensus_start(struct node *n, char *err, size_t errlen);
void rp_consensus_stop(struct node *n);
void rp_consensus_free(struct node *n);
/* A consensus message from a peer (p2p's reserved range). */
void rp_consensus_message(struct node *n, uint64_t peer, const unsigned char *msg, size_t len);
/* A peer connected or left. */
void rp_consensus_peer(struct node *n, uint64_t peer, int up);
/* A block was committed by any path (sync included): move to the next height. */
void rp_consensus_block_committed(struct node *n, uint64_t height);
/* The proposal build that rp_producer_build started is done (rc 0: checked
 * is the block, which the callee takes). rejected[0..nrejected): the
 * candidates the build left out (indices below nfirst are the first
 * candidates the build was given). */
void rp_consensus_built(struct node *n, uint64_t height, uint32_t round, int rc,
                        rp_checked *checked, const rp_rejected *rejected, size_t nrejected,
                        size_t nfirst);
/* A decided block is with the writer: sync waits. */
int rp_consensus_committing(const struct node *n);
/* node.info's "consensus" member and evidence.list's answer (new references). */
json_t *rp_consensus_info(struct node *n);
json_t *rp_consensus_evidence(struct node *n);

/* ---- network.c ---------------------------------------------------------------- */

/* Start the network: the node key, the transport, gossip and sync.
 * Returns 0, or an error with err saying why (a bad [p2p] setting, a port
 * in use). */
int rp_network_start(struct node *n, char *err, size_t errlen);
/* Close the connections and timers (the node is stopping); work in flight
 * still calls back. rp_network_free after the loop has ended. */
void rp_network_stop(struct node *n);
void rp_network_free(struct node *n);
/* A block is committed (this node's or a peer's): announce it. */
void rp_network_block_committed(struct node *n, uint64_t height, const rp_hash *hash);
/* The ids of an encoded block's records, in block order (*ids malloc'd,
 * NULL with *n 0 for an empty or undecodable block; a record that does
 * not decode ends the list). Returns: 0 or RP_ERR_NOMEM. */
int rp_block_record_ids(struct node *nd, const unsigned char *block, size_t blen, rp_hash **ids,
                        size_t *n);
/* A synced block is with the writer: the producer waits. */
int rp_network_committing(const struct node *n);

/* ---- peers.c ------------------------------------------------------------------ */

/* node.info's "network" member and node.metrics' "p2p" member (new
 * references). */
json_t *rp_network_info(struct node *n);
json_t *rp_network_metrics(struct node *n);
void rp_m_peers_list(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_peers_add(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_peers_disconnect(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_peers_ban(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_peers_unban(struct node *n, rp_rpc_call *call, json_t *params);

/* ---- subs.c ------------------------------------------------------------------- */

/* The subscription methods (docs/rpc.md, "Subscriptions"). */
void rp_m_blocks_subscribe(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_blocks_unsubscribe(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_epochs_subscribe(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_epochs_unsubscribe(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_records_subscribe(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_records_unsubscribe(struct node *n, rp_rpc_call *call, json_t *params);
/* A block is committed (by any path: rp_network_block_committed calls it
 * for every one): notify its subscribers. */
void rp_subs_block_committed(struct node *n, uint64_t height, const rp_hash *hash);

/* ---- reads.c ------------------------------------------------------------------ */

/* The methods whose answers are built on the pool. */
void rp_m_chain_block(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_score_get(struct node *n, rp_rpc_call *call, json_t *params);

/* ---- ranking.c ---------------------------------------------------------------- */

/* score.top (ranked by score or rise, filtered, from a cache built on the
 * pool once per epoch) and score.history (one identity over the kept
 * epochs). */
void rp_m_score_top(struct node *n, rp_rpc_call *call, json_t *params);
void rp_m_score_history(struct node *n, rp_rpc_call *call, json_t *params);
/* Free score.top's cache (at exit). */
void rp_ranking_free(struct node *n);

#endif /* RP_NODE_H */
