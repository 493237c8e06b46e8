/* The ledger store: one LMDB environment per datadir, the only code in
 * repute that touches LMDB. This header covers the environment: creating
 * and opening a datadir's ledger, its tip, write batches and raw access for
 * tests. Executing blocks is ledger/exec.h, reading the chain and its state
 * ledger/query.h, score epochs ledger/epoch.h, the tables ledger/schema.h.
 *
 * Caveats, LMDB-style:
 *   - One process writes a datadir at a time: rp_store_open takes an
 *     exclusive flock on DATADIR/ledger/writer.lock and fails with RP_ERR_LOCKED if
 *     another process holds it (LMDB's own lock file does not prevent two
 *     writers in different processes from corrupting nothing but each
 *     other's expectations of the tip).
 *   - Committing a block is exactly one write transaction: every record,
 *     index, state change, the header, body, commit and tip are committed
 *     together or not at all. Commits are durable (no MDB_NOSYNC, no
 *     MDB_NOMETASYNC) unless the store was opened as scratch: once
 *     rp_exec_commit returns 0 outside a batch, the block survives a crash or
 *     power loss.
 *   - The map is reserved large and sparse at open (map_size, default 64 GiB
 *     of address space, not disk). A full map is RP_ERR_MAP_FULL: the block is
 *     not applied, nothing is lost, and the operator restarts with a larger
 *     map_size. The store never resizes a map while readers may be open.
 *   - The environment is opened with MDB_NOTLS, so read transactions may be
 *     used on worker threads; stale reader slots of dead processes are cleared
 *     at open (mdb_reader_check).
 *   - Readers use short read-only transactions and never block the writer.
 *     One thread at a time may write (rp_exec_commit, the batch calls,
 *     rp_store_debug_put); build and check only read and may run on any
 *     thread, also while a block is being committed.
 *
 * Errors: project codes from crypto/error.h; LMDB errors become RP_ERR_STORE
 * (with LMDB's message in the error detail), RP_ERR_MAP_FULL or -errno (-ENOSPC:
 * the disk is full).
 */
#ifndef RP_STORE_H
#define RP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/errors.h"
#include "ledger/genesis.h"
#include "ledger/schema.h"

#define RP_STORE_DEFAULT_MAP_SIZE (64ULL << 30)

typedef struct rp_store rp_store;

typedef struct rp_store_opts {
    uint64_t map_size; /* 0 = RP_STORE_DEFAULT_MAP_SIZE */
    int read_only;     /* open without the write lock, for readers and tools */
    int scratch;       /* a throwaway store (verify's replay): never synced to
                          disk; a crash may lose or break it, so it must be
                          deleted after use, never served */
} rp_store_opts;

/* Where an error happened and what it was, for messages an operator can act
 * on. index is the record's position in its block, or -1. */
typedef struct rp_store_error {
    int code;
    uint64_t height;
    int64_t index;
    char msg[256];
} rp_store_error;

/* Fill an error report: code, height, index and a printf-style message.
 * e may be NULL (nothing happens). */
void rp_store_error_set(rp_store_error *e, int code, uint64_t height, int64_t index,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Verify a batch of signatures; returns how many failed and sets ok[i].
 * The ledger calls it once per block checked, from the checking thread; a
 * caller with a thread pool spreads the batch over every core, a caller that
 * verified the signatures already may answer from its cache. NULL means
 * rp_verify_range on the calling thread. */
typedef size_t (*rp_verify_batch_fn)(void *ctx, const rp_sig_check *items, size_t n,
                                     unsigned char *ok);

/* Create a new ledger under dir/ledger/ (dir must exist; dir/ledger must not
 * hold a ledger yet) for a genesis, and open it for writing. Creation is
 * atomic: the ledger is built in dir/ledger.new and renamed into place once
 * its meta is committed, so a crash leaves no ledger or a complete one.
 * Returns: 0; -EEXIST if a ledger exists there; RP_ERR_GENESIS; RP_ERR_LOCKED;
 *          RP_ERR_STORE; -errno. On failure *out is NULL and err describes it.
 * Out:     out: the store (close with rp_store_close); err: may be NULL. */
int rp_store_create(rp_store **out, const char *dir, const rp_genesis *g, const rp_store_opts *opts,
                    rp_store_error *err);

/* Open an existing ledger under dir/ledger/.
 * Returns: 0; -ENOENT if there is none; RP_ERR_SCHEMA for another schema
 *          version; RP_ERR_CORRUPT if its meta table is unreadable;
 *          RP_ERR_LOCKED (writers only); RP_ERR_STORE; -errno.
 * Out/In:  as rp_store_create; opts may be NULL for defaults. */
int rp_store_open(rp_store **out, const char *dir, const rp_store_opts *opts, rp_store_error *err);

/* Open and also require a given chain id: RP_ERR_CHAIN_MISMATCH otherwise. */
int rp_store_open_chain(rp_store **out, const char *dir, const rp_hash *chain_id,
                        const rp_store_opts *opts, rp_store_error *err);

/* Close the store, its environment and its lock; an open batch is aborted
 * (its blocks are lost, the tip before it stays). NULL is a no-op. */
void rp_store_close(rp_store *s);

/* Borrowed views, valid until rp_store_close. */
const rp_genesis *rp_store_genesis(const rp_store *s);
const rp_hash *rp_store_chain_id(const rp_store *s);
/* The hash of the genesis validator set (what every header must carry). */
const rp_hash *rp_store_validators_hash(const rp_store *s);

/* Was the environment opened with durable flags only (no NOSYNC, NOMETASYNC,
 * WRITEMAP+MAPASYNC)? Returns: 1 or 0. For tests and `verify`. */
int rp_store_is_durable(const rp_store *s);

/* The committed tip (inside a batch: the batch's own tip, on the batch's
 * thread). Returns: 0 or an error. Out: tip. */
int rp_store_tip(rp_store *s, rp_tip *tip);

/* Write batches, for replaying many blocks fast (import, verify, block sync):
 * between rp_store_batch_begin and rp_store_batch_commit every
 * rp_exec_commit on this store goes into one write transaction, so the
 * blocks become durable together, at the batch's commit, or (on a crash,
 * rp_store_batch_abort or rp_store_close) not at all; never a part of a
 * block. Readers see the tip before the batch until it commits. Build and
 * check refuse to run while a batch is open (RP_ERR_INVALID_ARG): they read
 * committed state only. A block that fails a check leaves the batch as it
 * was (nothing of it is written before every check has passed); a failed
 * write (RP_ERR_MAP_FULL, -ENOSPC, RP_ERR_STORE) aborts the whole batch,
 * and the tip is then the one before the batch. All calls on the writing
 * thread.
 * Returns: 0; RP_ERR_INVALID_ARG (a batch is already open / none is open,
 *          or the store is read-only); the errors of a commit
 *          (RP_ERR_MAP_FULL, RP_ERR_STORE, -errno). */
int rp_store_batch_begin(rp_store *s, rp_store_error *err);
int rp_store_batch_commit(rp_store *s, rp_store_error *err);
void rp_store_batch_abort(rp_store *s);
/* Blocks in the open batch (0 when none is open). */
uint64_t rp_store_batch_blocks(const rp_store *s);

/* Overwrite (or, with val NULL, delete) one raw entry in one write
 * transaction, bypassing every rule. For corruption tests and repair
 * tooling only: a store changed this way no longer matches its chain, which
 * is exactly what `reputed verify` must then report.
 * Returns: 0 or an error. */
int rp_store_debug_put(rp_store *s, int table, const void *key, size_t klen, const void *val,
                       size_t vlen);

/* Read one raw entry (a malloc'd copy in *out). Returns: 0, RP_ERR_NOT_FOUND
 * or an error. */
int rp_store_debug_get(rp_store *s, int table, const void *key, size_t klen, unsigned char **out,
                       size_t *len);

/* Counts for summaries: entries in a table (enum rp_db in ledger/schema.h). */
int rp_store_count(rp_store *s, int table, uint64_t *count);

#endif /* RP_STORE_H */
