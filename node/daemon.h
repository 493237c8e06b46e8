/* `reputed run`: the node on one libuv loop.
 *
 * Wiring only: the store (ledger/store.h) is opened for writing, which
 * takes the datadir lock, so a second instance fails there; then a stale
 * DATADIR/rpc.sock is removed and the RPC server (node/rpc.h) started; the
 * mempool (node/mempool.h) takes every record, from RPC today and from
 * peers later; signatures are verified in batches on libuv's pool, sized to
 * the cores; a validator whose power alone is a quorum (the dev chain)
 * makes a block every block interval while records wait, on the pool, so
 * the loop keeps answering while the block is written and fsynced (the
 * producer, producer_tick, is what a consensus engine will drive); score
 * epochs are computed ahead on the pool and offered to the store between
 * blocks; reads answer from LMDB read transactions on the loop, score.top's
 * ranking is built on the pool.
 *
 * SIGINT or SIGTERM: stop taking requests and records, answer waiting
 * clients, let in-flight work finish (a block is applied in one synchronous
 * call, so there is never half of one), close the socket and the store.
 */
#ifndef RP_DAEMON_H
#define RP_DAEMON_H

#include <stddef.h>

/* Run the node in the foreground until a signal stops it.
 * Returns: 0 after a clean shutdown; otherwise an error code, with err
 *          saying what stopped it from starting (locked datadir, bad
 *          config, missing key...). Logs go to stderr (node/log.h). */
int rp_daemon_run(const char *datadir, char *err, size_t errlen);

#endif /* RP_DAEMON_H */
