/* The ledger store: one LMDB environment per datadir, the only code in
 * repute that touches LMDB.
 *
 * Caveats, LMDB-style:
 *   - One process writes a datadir at a time: rp_store_open takes an
 *     exclusive flock on DATADIR/ledger/writer.lock and fails with RP_ERR_LOCKED if
 *     another process holds it (LMDB's own lock file does not prevent two
 *     writers in different processes from corrupting nothing but each
 *     other's expectations of the tip).
 *   - Applying a block is exactly one write transaction: every record, index,
 *     state change, the header, body, commit and tip are committed together
 *     or not at all. A block that fails validation leaves no trace. Commits are
 *     durable (no MDB_NOSYNC, no MDB_NOMETASYNC): once rp_store_apply_block
 *     returns 0 the block survives a crash or power loss.
 *   - The map is reserved large and sparse at open (map_size, default 64 GiB
 *     of address space, not disk). A full map is RP_ERR_MAP_FULL: the block is
 *     not applied, nothing is lost, and the operator restarts with a larger
 *     map_size. The store never resizes a map while readers may be open.
 *   - The environment is opened with MDB_NOTLS, so read transactions may be
 *     used on worker threads; stale reader slots of dead processes are cleared
 *     at open (mdb_reader_check).
 *   - Readers (rp_store_read_*) use short read-only transactions and never
 *     block the writer. One thread at a time may call the write functions.
 *
 * Errors: project codes from crypto/error.h; LMDB errors become RP_ERR_STORE
 * (with LMDB's message in the error detail), RP_ERR_MAP_FULL or -errno.
 */
#ifndef RP_STORE_H
#define RP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "ledger/record.h"

#define RP_STORE_DEFAULT_MAP_SIZE (64ULL << 30)

typedef struct rp_store rp_store;

typedef struct rp_store_opts {
    uint64_t map_size; /* 0 = RP_STORE_DEFAULT_MAP_SIZE */
    int read_only;     /* open without the write lock, for readers and tools */
} rp_store_opts;

/* Where an error happened and what it was, for messages an operator can act
 * on. index is the record's position in its block, or -1. */
typedef struct rp_store_error {
    int code;
    uint64_t height;
    int64_t index;
    char msg[256];
} rp_store_error;

/* Verify a batch of signatures; returns how many failed and sets ok[i].
 * The store calls it once per block, from the writing thread, before it
 * commits; a caller with a thread pool spreads the batch over every core.
 * NULL means rp_verify_range on the calling thread. */
typedef size_t (*rp_verify_batch_fn)(void *ctx, const rp_sig_check *items, size_t n,
                                     unsigned char *ok);

/* The chain tip. At height 0 (no block yet) the hashes are zero, the state
 * hash is TH("repute/state/v1", chain id) and time_ms is genesis_time*1000. */
typedef struct rp_tip {
    uint64_t height;
    rp_hash head_hash;
    rp_hash state_hash;
    uint64_t time_ms;
    rp_hash commit_hash;
    uint64_t epoch;
    rp_hash score_root;
} rp_tip;

/* Create a new ledger under dir/ledger/ (dir must exist; dir/ledger must not
 * hold a ledger yet) for a genesis, and open it for writing. Creation is
 * atomic: the ledger is built in dir/ledger.new and renamed into place once
 * its meta is committed, so a crash leaves no ledger or a complete one.
 * Returns: 0; -EEXIST if a ledger exists there; RP_ERR_GENESIS; RP_ERR_LOCKED;
 *          RP_ERR_STORE; -errno. On failure *out is NULL and err describes it.
 * Out:     out: the store (close with rp_store_close); err: may be NULL. */
int rp_store_create(rp_store **out, const char *dir, const rp_genesis *g,
                    const rp_store_opts *opts, rp_store_error *err);

/* Open an existing ledger under dir/ledger/.
 * Returns: 0; -ENOENT if there is none; RP_ERR_SCHEMA for another schema
 *          version; RP_ERR_CORRUPT if its meta table is unreadable;
 *          RP_ERR_LOCKED (writers only); RP_ERR_STORE; -errno.
 * Out/In:  as rp_store_create; opts may be NULL for defaults. */
int rp_store_open(rp_store **out, const char *dir, const rp_store_opts *opts,
                  rp_store_error *err);

/* Open and also require a given chain id: RP_ERR_CHAIN_MISMATCH otherwise. */
int rp_store_open_chain(rp_store **out, const char *dir, const rp_hash *chain_id,
                        const rp_store_opts *opts, rp_store_error *err);

/* Close the store, its environment and its lock. NULL is a no-op. */
void rp_store_close(rp_store *s);

/* Borrowed views, valid until rp_store_close. */
const rp_genesis *rp_store_genesis(const rp_store *s);
const rp_hash *rp_store_chain_id(const rp_store *s);

/* Was the environment opened with durable flags only (no NOSYNC, NOMETASYNC,
 * WRITEMAP+MAPASYNC)? Returns: 1 or 0. For tests and `verify`. */
int rp_store_is_durable(const rp_store *s);

/* Returns: 0 or an error. Out: tip. */
int rp_store_tip(rp_store *s, rp_tip *tip);

/* Validate and apply one block with its commit, in one write transaction:
 * framing, header links (height, previous hash, previous commit hash,
 * validator set, time, limits, Merkle root, epoch), the commit's
 * signatures and power, every record against the rules (docs/rules.md) in
 * order, every record signature (through verify, see above), and the state
 * hash. Any failure aborts the transaction: the store is unchanged.
 * Returns: 0, or the first error (err says which height, record and rule).
 * In:      block, blen: an encoded block; commit, clen: its commit;
 *          verify, vctx: the batch verifier (NULL for the calling thread). */
int rp_store_apply_block(rp_store *s, const unsigned char *block, size_t blen,
                         const unsigned char *commit, size_t clen, rp_verify_batch_fn verify,
                         void *vctx, rp_store_error *err);

/* Prepare the header of the next block from encoded records, as a proposer
 * does: runs every rule and signature check in a write transaction that is
 * then aborted (nothing is written), and fills the header with the height,
 * links, Merkle root, limits and the resulting state hash.
 * Returns: 0, or the first error, naming the record (err.index).
 * Out:     h: a header ready to hash and sign.
 * In:      records[0..n); time_ms (must be after the tip's); proposer index. */
int rp_store_prepare_block(rp_store *s, const rp_block_item *records, size_t n, uint64_t time_ms,
                           uint16_t proposer, rp_verify_batch_fn verify, void *vctx, rp_header *h,
                           rp_store_error *err);

/* Produce the next block as a validator whose power alone is a quorum (the
 * single-validator dev chain, and generators), in one write transaction:
 * build the header from the tip, run every check rp_store_apply_block makes
 * (header links and limits, the epoch, every rule, every signature through
 * verify), take the state hash from the changes, sign the precommit vote,
 * and write block, commit and tip together. Nothing is written on failure.
 * Returns: 0; RP_ERR_COMMIT if key is not a validator with a quorum of its
 *          own; any error rp_store_apply_block would give (err.index names
 *          the record that broke a rule).
 * Out:     hash: if not NULL, the new block's header hash.
 * In:      records[0..n); time_ms (after the tip's); key: the validator's
 *          secret key; aux: 32 bytes of signing randomness; verify, vctx as
 *          above (a caller that verified the records' signatures already may
 *          answer from its cache). */
int rp_store_produce_block(rp_store *s, const rp_block_item *records, size_t n, uint64_t time_ms,
                           const rp_seckey *key, const unsigned char aux[static 32],
                           rp_verify_batch_fn verify, void *vctx, rp_hash *hash,
                           rp_store_error *err);

/* Read a stored block, commit or header by height.
 * Returns: 0; RP_ERR_NOT_FOUND; RP_ERR_STORE.
 * Out: *out is a malloc'd copy (caller frees) and *len its size. */
int rp_store_read_block(rp_store *s, uint64_t height, unsigned char **out, size_t *len);
int rp_store_read_commit(rp_store *s, uint64_t height, unsigned char **out, size_t *len);
int rp_store_read_header(rp_store *s, uint64_t height, rp_header *h);

/* One record of a stored block, without copying the block: the hot path of
 * record.get. Returns: 0; RP_ERR_NOT_FOUND (no such block); RP_ERR_CORRUPT
 * (no such index, or a body that does not walk). Out: out[0..*len). */
int rp_store_read_record(rp_store *s, uint64_t height, uint32_t index,
                         unsigned char out[static RP_RECORD_MAX_SIZE], size_t *len);

/* A registered identity's state (the identities table). */
typedef struct rp_identity_state {
    rp_pubkey key;     /* current signing key */
    rp_hash recovery;  /* recovery commitment; zero = none */
    uint8_t role;
    uint8_t name_len;
    char name[65];
    rp_hash profile;
    uint64_t seq;      /* last sequence used */
    uint64_t registered_height;
    uint64_t updated_height;
    uint32_t reviews_received;
    uint32_t reviews_given;
    uint32_t vouches_received;
    uint32_t engagements;
} rp_identity_state;

/* Returns: 0, RP_ERR_NOT_FOUND, RP_ERR_CORRUPT or RP_ERR_STORE. */
int rp_store_read_identity(rp_store *s, const rp_pubkey *name, rp_identity_state *out);

/* One row of an epoch's score table (ledger/schema.h, docs/trust.md). */
typedef struct rp_score_row {
    rp_pubkey identity;
    uint64_t trust;      /* units of 2^-60 */
    uint32_t rating;     /* micro-stars */
    uint32_t reviews;
    uint16_t score;      /* 0..1000 */
    uint16_t confidence; /* 0..1000 */
} rp_score_row;

/* A committed epoch. */
typedef struct rp_epoch_info {
    uint64_t epoch;
    uint64_t snapshot_height; /* b: the graph as it stood here */
    uint64_t commit_height;   /* b + delay: the header carrying root */
    rp_hash root;             /* Merkle root of the table */
    uint32_t identities;      /* rows in the table */
} rp_epoch_info;

/* The Merkle leaf of a row: identity 32 | trust u64 | rating u32 |
 * reviews u32 | score u16 | confidence u16, through rp_merkle_leaf. */
void rp_score_leaf(rp_hash *out, const rp_score_row *row);

/* Describe a committed epoch; epoch 0 means the latest.
 * Returns: 0; RP_ERR_NOT_FOUND if no epoch is committed yet or that one is
 *          no longer in the history; RP_ERR_CORRUPT; RP_ERR_STORE. */
int rp_store_read_epoch(rp_store *s, uint64_t epoch, rp_epoch_info *out);

/* Call fn for every row of a committed epoch's table, in identity order,
 * from one read transaction. fn returns 0 to go on or a code to stop (which
 * is returned). Returns: 0, an error of rp_store_read_epoch, or fn's code. */
int rp_store_read_scores(rp_store *s, uint64_t epoch,
                         int (*fn)(void *ctx, const rp_score_row *row), void *ctx);

/* One identity's row of a committed epoch (0 = the latest), from one read
 * transaction: the hot path of score.get.
 * Returns: 0 (*present 1 and row filled, or 0: no row for the identity);
 *          errors of rp_store_read_epoch.
 * Out:     info: the epoch; row; present. */
int rp_store_read_score(rp_store *s, const rp_pubkey *identity, uint64_t epoch,
                        rp_epoch_info *info, rp_score_row *row, int *present);

/* A proof that an identity has a given row in an epoch's table, or has none,
 * checkable with nothing but the proof, the genesis and the chain id. */
typedef struct rp_score_proof {
    rp_epoch_info epoch;
    int present;       /* 1: row is the identity's; 0: the identity has no row */
    rp_score_row row;  /* present: the row at index; */
    uint64_t index;
    rp_hash path[RP_MERKLE_MAX_DEPTH];
    size_t depth;
    /* absent: the rows just below and above where it would sort (either may
     * be missing at the ends of the table), with their paths. */
    int has_left, has_right;
    rp_score_row left, right;
    rp_hash lpath[RP_MERKLE_MAX_DEPTH], rpath[RP_MERKLE_MAX_DEPTH];
    size_t ldepth, rdepth;
    rp_header header; /* the header at epoch.commit_height */
    unsigned char commit[RP_COMMIT_MAX_SIZE]; /* its commit */
    size_t commit_len;
} rp_score_proof;

/* Build a proof for an identity in an epoch (0 = the latest).
 * Returns: 0; errors of rp_store_read_epoch; RP_ERR_NOMEM; RP_ERR_STORE.
 * Out: p (about 14 KB: allocate it, don't put many on a stack). */
int rp_store_score_proof(rp_store *s, const rp_pubkey *identity, uint64_t epoch,
                         rp_score_proof *p);

/* Check a proof against the validator set: the commit finalizes the header
 * (more than 2/3 of the genesis voting power), the header carries the
 * epoch and root, and the row (or the two neighbours, for an absence) sits
 * at its index under that root.
 * Returns: 1 if the proof holds for this identity, 0 otherwise. */
int rp_score_proof_verify(const rp_score_proof *p, const rp_genesis *g, const rp_hash *chain_id,
                          const rp_pubkey *identity);

/* A score epoch computed ahead of the block that commits it. */
typedef struct rp_epoch_result rp_epoch_result;

/* Compute epoch's score table now, from a read transaction: the snapshot of
 * the graph at b = epoch * epoch_blocks (the tip must be at b or later) and
 * the trust engine. Safe on a worker thread while the writer applies blocks
 * (MDB_NOTLS). The result depends only on the chain up to b, which is final.
 * Returns: 0; RP_ERR_NOT_FOUND if the tip is below b; RP_ERR_NOMEM;
 *          RP_ERR_CORRUPT; RP_ERR_STORE. Out: *out (free with
 *          rp_epoch_result_free, or hand it to rp_store_epoch_offer). */
int rp_store_epoch_compute(rp_store *s, uint64_t epoch, rp_epoch_result **out,
                           rp_store_error *err);

/* Hand a computed epoch to the store, which takes ownership: blocks that
 * commit that epoch (prepared or applied) then write it instead of
 * computing it. The offer is kept until the next one replaces it (the
 * previous is freed) or the store closes. Call from the writing thread. */
void rp_store_epoch_offer(rp_store *s, rp_epoch_result *r);

/* Describe a result (commit_height is 0: not committed yet) and how long
 * its snapshot and engine run took. Any out pointer but info may be NULL. */
void rp_epoch_result_info(const rp_epoch_result *r, rp_epoch_info *info, double *snapshot_s,
                          double *compute_s, size_t *edges);
void rp_epoch_result_free(rp_epoch_result *r);

/* Where a record is on chain. Returns: 0, RP_ERR_NOT_FOUND or an error. */
int rp_store_find_record(rp_store *s, const rp_hash *id, uint64_t *height, uint32_t *index);

/* Where a block is, by its header hash. Returns: 0, RP_ERR_NOT_FOUND or an
 * error. */
int rp_store_find_block(rp_store *s, const rp_hash *hash, uint64_t *height);

/* A live review, as the reviews table holds it. */
typedef struct rp_review_info {
    rp_hash id;
    rp_pubkey issuer, subject;
    rp_hash engagement;
    uint8_t overall;
    uint8_t dims[4]; /* quality, reliability, communication, payment; 0 = not rated */
    uint64_t time;   /* the issuer's clock, unix seconds */
    uint64_t height; /* where it was included */
} rp_review_info;

/* A page of the live reviews about (by_issuer 0) or by (1) an identity, in
 * review-id order, from one read transaction.
 * Returns: 0; RP_ERR_CORRUPT; RP_ERR_STORE.
 * Out:     out[0..*n) with *n <= max; *more: 1 if reviews follow the page.
 * In:      after: start after this review id (NULL: from the first). */
int rp_store_list_reviews(rp_store *s, const rp_pubkey *who, int by_issuer, const rp_hash *after,
                          rp_review_info *out, size_t max, size_t *n, int *more);

/* Compare every state table of two stores entry by entry.
 * Returns: 0 if identical; RP_ERR_CORRUPT with err naming the table and key
 *          of the first difference; RP_ERR_STORE. */
int rp_store_compare_state(rp_store *a, rp_store *b, rp_store_error *err);

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
