/* The node's one writer: every write to the store goes through it, one job
 * at a time, in the order queued.
 *
 * The jobs are block commits (rp_exec_commit: this node's blocks now, peers'
 * and consensus decisions next) and epoch offers (rp_store_epoch_offer).
 * Each runs on libuv's worker pool, so the loop never waits for LMDB or an
 * fsync; its callback runs on the loop afterwards, exactly once per job
 * queued, in queue order. Offers are serialized with commits so that an
 * epoch computed ahead is in place before the block that commits it is
 * written.
 *
 * Loop thread only (the jobs themselves run on the pool and touch only the
 * store and their own buffers). The queue is bounded (RP_WRITER_MAX_QUEUE):
 * a full queue refuses a job with RP_ERR_TOO_MANY, and the caller tries
 * again later.
 */
#ifndef RP_WRITER_H
#define RP_WRITER_H

#include <stddef.h>
#include <uv.h>

#include "ledger/epoch.h"
#include "ledger/exec.h"
#include "ledger/store.h"
#include "node/errors.h"

#define RP_WRITER_MAX_QUEUE 64

typedef struct rp_node_writer rp_node_writer;

/* Called on the loop when a job is done: rc 0 or the error (err says what;
 * for an offer rc is always 0). */
typedef void (*rp_writer_done_fn)(void *ctx, int rc, const rp_store_error *err);

/* Returns: 0 or RP_ERR_NOMEM. Out: *out. In: loop and st (borrowed; they
 * must outlive the writer). */
int rp_node_writer_new(rp_node_writer **out, uv_loop_t *loop, rp_store *st);

/* Queue a commit of a block with its commit (rp_exec_commit_after). The
 * writer takes block, commit, parent_commit (malloc'd; parent_commit may be
 * NULL: the block names the stored commit of its parent) and checked (may
 * be NULL; an rp_exec_build or rp_exec_check result for this block) and
 * frees them after the job. verify,
 * vctx: the batch verifier for a block executed in the commit (called on
 * the pool; vctx must live until done runs).
 * Returns: 0 (done will run); RP_ERR_TOO_MANY (queue full) or
 *          RP_ERR_SHUTDOWN (closing): nothing was taken, done never runs. */
int rp_node_writer_commit(rp_node_writer *w, unsigned char *block, size_t blen,
                          unsigned char *commit, size_t clen, unsigned char *parent_commit,
                          size_t plen, rp_checked *checked, rp_verify_batch_fn verify, void *vctx,
                          rp_writer_done_fn done, void *ctx);

/* Queue an epoch offer; the writer takes r (whatever happens).
 * Returns: as rp_node_writer_commit (on refusal r is freed). */
int rp_node_writer_offer(rp_node_writer *w, rp_epoch_result *r, rp_writer_done_fn done, void *ctx);

/* Jobs queued or running. */
size_t rp_node_writer_pending(const rp_node_writer *w);

/* Refuse new jobs; the queued ones still run (their callbacks too). The
 * writer frees itself once the last one is done, or now if none is. */
void rp_node_writer_close(rp_node_writer *w);

#endif /* RP_WRITER_H */
