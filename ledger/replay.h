/* Replay: rebuilding a ledger from its blocks with every check, for
 * `reputed verify` (replay a datadir into a scratch store and compare) and
 * `reputed import` (replay a binary export into a new datadir).
 *
 * Both commit each block through rp_exec_commit (ledger/exec.h), the one
 * execution path a node also uses for a block from the network, so nothing
 * is trusted: hash links,
 * Merkle roots, commit signatures and voting power, every record's rules and
 * signatures, and the state hash are all computed again. verify then
 * compares what it rebuilt with what the datadir holds (docs/auditing.md
 * lists every check).
 *
 * Speed: applying is serial (rules and LMDB) but most of the work is
 * signatures. Replay therefore runs two helper threads: one reads blocks
 * ahead of the one being applied and decodes their records, the other
 * verifies each signature against the key the record itself names (the
 * issuer, the counterparty, a revealed recovery key) through the caller's
 * verifier. When the store then asks for a block's batch (with the keys the
 * ledger state names), every item that matches a pre-verified (message,
 * key, signature) exactly takes that answer, and the rest (signers that have
 * rotated) are verified then. So the pool verifies the next blocks while
 * this one is applied. The verifier is called from the helper thread and
 * from the calling thread, but never from both at once.
 *
 * Writes: blocks are committed in batches of many blocks per write
 * transaction (ledger/store.h), so the cost of a commit is paid once per
 * batch. verify's replay store is a scratch store, never synced, deleted at
 * the end; import's commits are durable, batch by batch.
 *
 * Threads: call from one thread; the helper thread is joined before return.
 */
#ifndef RP_REPLAY_H
#define RP_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/store.h"

/* What a replay is doing. */
enum rp_replay_stage {
    RP_REPLAY_APPLY = 0,   /* applying blocks; called after each one */
    RP_REPLAY_COMPARE = 1, /* verify only: blocks done, comparing the datadir with
                              the replay (called once as it starts) */
};

/* Where a replay stands; passed to the progress callback. */
typedef struct rp_replay_progress {
    enum rp_replay_stage stage;
    uint64_t height;      /* last block applied */
    uint64_t total;       /* height the replay ends at; 0 if unknown (import) */
    uint64_t records;     /* records applied so far */
    uint64_t signatures;  /* signatures checked so far */
    double elapsed;       /* seconds since the replay started */
    uint64_t bytes_done;  /* import: bytes of the export read so far, else 0 */
    uint64_t bytes_total; /* import: size of the export if known, else 0 */
} rp_replay_progress;

/* Progress callback, on the calling thread, after every block applied (and
 * once more when verify starts comparing).
 * Returns: 0 to go on; a negative code (say -ECANCELED) to stop the replay,
 *          which then fails with that code. */
typedef int (*rp_replay_progress_fn)(void *ctx, const rp_replay_progress *p);

/* How to replay. Every field may be left zero (or the whole struct NULL). */
typedef struct rp_replay_opts {
    rp_verify_batch_fn verify; /* the batch verifier; NULL: the calling thread */
    void *vctx;
    rp_replay_progress_fn progress; /* may be NULL */
    void *pctx;
    uint32_t batch_blocks; /* blocks per write transaction at most; 0: 512 */
} rp_replay_opts;

/* The outcome of a replay. */
typedef struct rp_replay_report {
    int code;                /* 0 if everything checked out, else the first error */
    uint64_t failed_height;  /* height of the failing block; 0 if the failure is
                                not about one block (state tables, I/O) */
    char reason[512];        /* on failure: what failed, naming record, table or
                                entry ("record 3 (review, seq 9): a signature
                                does not verify with the signer's current key") */
    uint64_t blocks;         /* blocks applied */
    uint64_t records;        /* records applied */
    uint64_t signatures;     /* signatures checked: records' and commits' */
    uint64_t identities;     /* identities registered at the end */
    double elapsed;          /* seconds */
    double records_per_s;    /* records / elapsed */
    double signatures_per_s; /* signatures / elapsed */
    uint64_t resumed_from;   /* import: the height the datadir already had (0: a
                                new datadir); blocks up to it were skipped */
    rp_tip tip;              /* tip of the rebuilt (verify) or imported ledger */
} rp_replay_report;

/* Verify a datadir by replaying it from genesis.
 *
 * Opens dir's ledger read-only (a node may keep running: the replay follows
 * the chain up to its tip), creates a scratch ledger under scratch_dir with
 * the same genesis, applies every stored block with its commit, checks the
 * block-hash index of every height, compares the tips and the number of
 * entries in the chain tables, and compares every state table entry by
 * entry. The scratch ledger (scratch_dir/ledger) is deleted before return;
 * scratch_dir itself is left for the caller to remove.
 *
 * Returns: 0 if the datadir checks out; otherwise the first error, also in
 *          out->code, with out->failed_height and out->reason saying where
 *          and what: errors of rp_store_open (the datadir) and
 *          rp_store_create (the scratch ledger); any error of
 *          rp_exec_commit for a stored block; RP_ERR_NOT_FOUND for a
 *          block, commit or index entry missing below the tip;
 *          RP_ERR_CORRUPT for an index entry, a tip or a state table that
 *          differs from the replay; -EAGAIN if the chain kept growing
 *          through every comparison (a busy node); the progress callback's
 *          code.
 * Out:     out: the report (always filled).
 * In:      dir: the datadir; scratch_dir: an existing, empty folder, on a
 *          fast disk (or tmpfs) with room for a copy of the ledger; opts:
 *          the verifier (see above for threading), progress, batch size;
 *          may be NULL. */
int rp_replay_verify(const char *dir, const char *scratch_dir, const rp_replay_opts *opts,
                     rp_replay_report *out);

/* Import a binary export (ledger/export.h) into a datadir.
 *
 * Reads the stream's header and genesis first (a file that is not a valid
 * export changes nothing on disk), then creates dir (mode 0700) if it does
 * not exist and a ledger in it for that genesis, and applies every block of
 * the stream with full validation, many blocks per durable write
 * transaction. If dir already holds a ledger of the same chain, the import
 * resumes: the blocks it holds are skipped once each is found to be the
 * stream's block of that height, and the rest applied. So an import that
 * was interrupted, failed or was killed at any instant is finished by
 * running it again; a crash loses at most the blocks of the batch being
 * written, never part of a block. If a block fails, or the stream is
 * truncated or damaged, the import stops there: the datadir keeps every
 * block before it (out->tip says which height; each applied block was
 * fully checked) and the error names the block.
 *
 * Returns: 0 if the whole stream is in the datadir; RP_ERR_CHAIN_MISMATCH
 *          if dir holds another chain's ledger (or blocks that differ from
 *          the stream's); the reader's errors (rp_export_reader_next) for a
 *          bad stream; errors of rp_store_create, rp_store_open and
 *          rp_exec_commit; -errno for the file or the folder; the progress
 *          callback's code.
 * Out:     out: the report (always filled; out->tip is the datadir's tip).
 * In:      export_path: the file, or "-" for standard input; dir: the
 *          datadir; opts: as rp_replay_verify. */
int rp_replay_import(const char *export_path, const char *dir, const rp_replay_opts *opts,
                     rp_replay_report *out);

/* Compare every state table of two stores entry by entry (audit.c): the
 * last step of verify, and a tool for tests.
 * Returns: 0 if identical; RP_ERR_CORRUPT with err naming the table and key
 *          of the first difference; RP_ERR_STORE. */
int rp_store_compare_state(rp_store *a, rp_store *b, rp_store_error *err);

#endif /* RP_REPLAY_H */
