/* Score epochs computed ahead of the block that commits them.
 *
 * At every positive multiple b of epoch_blocks the trust graph is
 * snapshotted as it stood at height b, and block b + score_delay_blocks
 * carries the Merkle root of the resulting score table (docs/trust.md). The
 * computation can run in the background between b and b + delay, from a
 * read transaction on a worker thread, and its result be offered to the
 * store, so that the block that commits the epoch (built, checked or
 * committed) only writes the table. Without an offer that block computes it
 * inline, the reference path that replays and audits take; the result is
 * the same bits either way.
 */
#ifndef RP_EPOCH_H
#define RP_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/schema.h"

struct rp_store;
struct rp_store_error;

typedef struct rp_epoch_result rp_epoch_result;

/* Compute epoch's score table now, from a read transaction: the snapshot of
 * the graph at b = epoch * epoch_blocks (the tip must be at b or later) and
 * the trust engine. Safe on a worker thread while blocks are committed
 * (MDB_NOTLS). The result depends only on the chain up to b, which is final.
 * Returns: 0; RP_ERR_NOT_FOUND if the tip is below b or epoch is 0;
 *          RP_ERR_NOMEM; RP_ERR_CORRUPT; RP_ERR_STORE.
 * Out:     *out (free with rp_epoch_result_free, or hand it to
 *          rp_store_epoch_offer); err: may be NULL. */
int rp_store_epoch_compute(struct rp_store *s, uint64_t epoch, rp_epoch_result **out,
                           struct rp_store_error *err);

/* Hand a computed epoch to the store, which takes ownership: blocks that
 * commit that epoch then write it instead of computing it. The offer is kept
 * until the next one replaces it or the store closes. Thread-safe: a build
 * or check running on another thread keeps its own reference to the result
 * it took. r may be NULL (withdraws the offer). */
void rp_store_epoch_offer(struct rp_store *s, rp_epoch_result *r);

/* Describe a result (commit_height is 0: not committed yet) and how long
 * its snapshot and engine run took. Any out pointer but info may be NULL. */
void rp_epoch_result_info(const rp_epoch_result *r, rp_epoch_info *info, double *snapshot_s,
                          double *compute_s, size_t *edges);

/* Drop the caller's reference to a result. NULL is a no-op. */
void rp_epoch_result_free(rp_epoch_result *r);

#endif /* RP_EPOCH_H */
