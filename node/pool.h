/* Batch signature verification on libuv's worker pool, for the programs that
 * verify whole blocks at a time (reputed verify and import, repute-gen).
 *
 * The pool owns a private uv loop. rp_pool_verify splits a batch into chunks,
 * queues one uv_queue_work per chunk (each calls rp_verify_range on its own
 * index range, touching nothing else) and runs the loop until all are back,
 * so it blocks its caller like a plain function. It must not be called from
 * inside another running uv loop's callback; the daemon queues its own work.
 *
 * libuv sizes its pool once per process from UV_THREADPOOL_SIZE: rp_pool_new
 * sets it to the number of online cores unless the environment already says
 * otherwise, and must therefore run before anything else uses the pool.
 */
#ifndef RP_POOL_H
#define RP_POOL_H

#include <stddef.h>

#include "crypto/sig.h"

typedef struct rp_pool rp_pool;

/* Returns: 0, RP_ERR_NOMEM, or a translated libuv error. Out: *out (free
 * with rp_pool_free). */
int rp_pool_new(rp_pool **out);
void rp_pool_free(rp_pool *p);

/* Worker threads in use (UV_THREADPOOL_SIZE as libuv will read it). */
unsigned rp_pool_threads(const rp_pool *p);

/* An rp_verify_batch_fn (ledger/store.h): ctx is the rp_pool.
 * Returns: how many items failed; ok[i] is set for every item. */
size_t rp_pool_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok);

#endif /* RP_POOL_H */
