/* Batch signature verification on a small pool of threads, for the
 * programs that verify whole blocks at a time (reputed verify and import,
 * repute-gen, block sync).
 *
 * rp_pool_verify splits a batch into chunks that the pool's threads and the
 * calling thread take one at a time (each calls rp_verify_range on its own
 * index range, touching nothing else), and returns when every chunk is done.
 * Because the caller works on its own batch too, a call always finishes,
 * whatever else the pool is doing: it may be made from any thread, several
 * at once, including from a thread of libuv's worker pool (a synced block
 * checked there), which the earlier design, built on libuv's pool, could
 * deadlock.
 *
 * The pool has one thread per online core; the caller makes one more, so
 * a core whose thread waits (on the disk, or on the caller's own next
 * batch) still has work. RP_POOL_THREADS in the environment overrides the
 * count (at least 1).
 * The daemon does not use it: it queues its own work on libuv's pool.
 */
#ifndef RP_POOL_H
#define RP_POOL_H

#include <stddef.h>

#include "crypto/sig.h"

typedef struct rp_pool rp_pool;

/* Returns: 0, RP_ERR_NOMEM, or -errno if no thread could be started.
 * Out: *out (free with rp_pool_free). */
int rp_pool_new(rp_pool **out);
/* Stop and join the threads. No call may be running. NULL is a no-op. */
void rp_pool_free(rp_pool *p);

/* Threads that verify in a call: the pool's and the caller. */
unsigned rp_pool_threads(const rp_pool *p);

/* An rp_verify_batch_fn (ledger/store.h): ctx is the rp_pool.
 * Returns: how many items failed; ok[i] is set for every item. */
size_t rp_pool_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok);

#endif /* RP_POOL_H */
