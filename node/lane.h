/* The read lane: clients' reads that are too large for the loop (a block's
 * records, a score proof, the score ranking) run on libuv's worker pool
 * through this lane, and nothing else of the node's work waits behind them.
 *
 * libuv's pool is one FIFO. The work that keeps the chain moving (signature
 * batches, block builds, epochs, the writer's commits; next, peers' blocks
 * and votes) is queued there directly; client reads are queued here first,
 * and the lane hands at most max_running of them to the pool at a time, so
 * at least one pool thread is always free for the chain however many reads
 * wait. Waiting reads are served round-robin by owner (a client connection),
 * one running per owner at a time: each connection gets a fair share, and a
 * connection's answers are built one after another, never all at once. An
 * owner that cannot take more output (a client that does not read its
 * answers) gets no new job started until it can: the lane asks the job's
 * ready function before starting it. So the memory a connection's reads hold
 * is at most one answer being built plus what its connection already queued.
 *
 * Loop thread only. Every job submitted gets exactly one after-callback on
 * the loop: status 0 after its work ran, or UV_ECANCELED if it was cancelled
 * before it started (its work never runs). Bounded: at most max_queued
 * jobs wait; more are refused.
 */
#ifndef RP_LANE_H
#define RP_LANE_H

#include <stddef.h>
#include <uv.h>

typedef struct rp_lane rp_lane;

/* A job: embedded in the caller's own struct (its memory belongs to the
 * caller until the after-callback has run). */
typedef struct rp_lane_job {
    uv_work_t req;           /* req.data is the caller's */
    uv_work_cb work;         /* on a pool thread */
    uv_after_work_cb after;  /* on the loop, exactly once */
    int (*ready)(void *ctx); /* may the owner's next job start? NULL: yes */
    void *ready_ctx;
    const void *owner; /* jobs of one owner run one at a time, in order */
    /* The lane's own bookkeeping. */
    struct rp_lane *lane;
    struct rp_lane_owner *own;
    struct rp_lane_job *next, *prev;
    int queued, running;
} rp_lane_job;

/* Returns: 0 or RP_ERR_NOMEM. Out: *out. In: loop; max_running (at least
 * 1): jobs on the pool at once; max_queued: jobs waiting at most. */
int rp_lane_new(rp_lane **out, uv_loop_t *loop, unsigned max_running, size_t max_queued);

/* Queue a job (fields work, after, owner and optionally ready, ready_ctx
 * filled; req.data set by the caller).
 * Returns: 0 (after will run); RP_ERR_TOO_MANY (max_queued jobs wait) or
 *          RP_ERR_SHUTDOWN (closing): after will not run. */
int rp_lane_submit(rp_lane *l, rp_lane_job *j);

/* Cancel a job that has not started: its after-callback runs now with
 * UV_ECANCELED. A running job cannot be stopped: it finishes and its
 * after-callback runs as usual. Returns: 1 if cancelled, 0 if running. */
int rp_lane_cancel(rp_lane *l, rp_lane_job *j);

/* Something an owner was waiting for changed (its output drained): try to
 * start jobs. Cheap; the lane also tries after every job and each loop turn. */
void rp_lane_kick(rp_lane *l);

/* Jobs waiting and running, for node.metrics. */
void rp_lane_stats(const rp_lane *l, size_t *queued, size_t *running);

/* Cancel every waiting job (their after-callbacks run with UV_ECANCELED),
 * refuse new ones, and free the lane once the running ones are done. */
void rp_lane_close(rp_lane *l);

#endif /* RP_LANE_H */
