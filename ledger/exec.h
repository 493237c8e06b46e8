/* Executing blocks: the ledger's one execution path.
 *
 * Every caller that makes, receives or replays a block goes through these
 * three calls: the dev producer, repute-gen, `reputed init --dev`, import,
 * verify, block sync and the consensus engine.
 *
 *   build   candidate records (in admission order) -> a block: header and
 *           records, no commit. The candidates are cut to the genesis
 *           limits first (records and body bytes), before any score work;
 *           a candidate that breaks a rule, or whose signature does not
 *           verify, is left out and reported. Nothing is written.
 *   check   a block -> accepted with its resulting state hash, or the first
 *           rule it breaks (rp_store_error: code, record index, message).
 *           Framing, links to the tip, limits (before any score work),
 *           Merkle root, the score epoch, every record's rules and
 *           signatures, the state hash. Nothing is written.
 *   commit  a block + its commit -> one LMDB write transaction. The commit
 *           must finalize the block with more than two thirds of the
 *           genesis voting power. Given the result of an earlier build or
 *           check of the same block on the same tip, commit writes its
 *           changes without running the rules again; otherwise (a replay, a
 *           synced block) it checks the block inside the write transaction.
 *
 * The result of build and check is an rp_checked: the block, its header and
 * hash, the tip it was executed on, and its state changes. Build and check
 * read committed state through a read transaction and may run on any thread,
 * several at once, also while another thread commits; their result stays
 * valid for commit as long as the tip has not moved (commit checks). No
 * secret key is involved anywhere here: whoever signs votes does it outside
 * and hands commit the finished commit.
 *
 * Errors: the codes of crypto/error.h that docs/rules.md and docs/blocks.md
 * list (RP_ERR_BLOCK_*, RP_ERR_COMMIT, RP_ERR_WRONG_CHAIN, the rules'
 * codes, RP_ERR_BAD_SIGNATURE, codec errors), store errors (RP_ERR_STORE,
 * RP_ERR_MAP_FULL, -ENOSPC, RP_ERR_CORRUPT), RP_ERR_NOMEM. err (which may
 * be NULL) names the height, the record (err.index, or -1) and the rule.
 */
#ifndef RP_EXEC_H
#define RP_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "ledger/block.h"
#include "ledger/store.h"

/* A block that was built or checked against a tip. Opaque. */
typedef struct rp_checked rp_checked;

/* A candidate that build left out, and why. */
typedef struct rp_rejected {
    size_t index; /* into the candidates */
    int code;     /* the rule's error code, RP_ERR_BAD_SIGNATURE, or a decode error */
    char msg[256];
} rp_rejected;

/* Build the next block from candidates.
 * Returns: 0 (the block may hold no record: every candidate was left out,
 *          or there were none); RP_ERR_BLOCK_TIME if time_ms is not after
 *          the tip's; RP_ERR_BLOCK_VALIDATORS if proposer is not a
 *          validator index; RP_ERR_INVALID_ARG inside a write batch; score
 *          epoch and store errors; RP_ERR_NOMEM.
 * Out:     *out: the block (rp_checked_free); *taken: how many candidates
 *          were considered, a prefix: those after it did not fit the
 *          limits and were not looked at; rejected[0..*nrejected): the
 *          candidates of that prefix left out (at most max_rejected are
 *          reported; rejected may be NULL with max_rejected 0).
 * In:      candidates[0..n) encoded records; time_ms: the block time;
 *          proposer: the proposer's validator index; verify, vctx: the
 *          batch verifier (NULL: rp_verify_range on this thread). */
int rp_exec_build(rp_store *s, const rp_block_item *candidates, size_t n, uint64_t time_ms,
                  uint16_t proposer, rp_verify_batch_fn verify, void *vctx, rp_checked **out,
                  size_t *taken, rp_rejected *rejected, size_t max_rejected, size_t *nrejected,
                  rp_store_error *err);

/* Check a block against the current tip.
 * Returns: 0 (*out holds the result); the first broken rule (see above);
 *          RP_ERR_INVALID_ARG inside a write batch.
 * Out:     *out (rp_checked_free), NULL on failure.
 * In:      block[0..blen): an encoded block (copied); verify, vctx: as
 *          rp_exec_build. */
int rp_exec_check(rp_store *s, const unsigned char *block, size_t blen, rp_verify_batch_fn verify,
                  void *vctx, rp_checked **out, rp_store_error *err);

/* Commit a block with its commit in one write transaction (or into the open
 * write batch, ledger/store.h). Writing thread only.
 * Returns: 0; RP_ERR_COMMIT if the commit does not finalize this block with
 *          more than 2/3 of the power; any error rp_exec_check gives;
 *          store errors (nothing is written: the tip stays).
 * In:      block[0..blen), commit[0..clen); checked: an earlier build or
 *          check of this block (may be NULL; used only if it is for this
 *          block on the current tip, and left to the caller to free);
 *          verify, vctx: as rp_exec_build, for a block executed here. */
int rp_exec_commit(rp_store *s, const unsigned char *block, size_t blen,
                   const unsigned char *commit, size_t clen, const rp_checked *checked,
                   rp_verify_batch_fn verify, void *vctx, rp_store_error *err);

/* The same, for a block whose header names another commit of its parent
 * than the one stored here. With several validators each node stores the
 * precommits it saw when it decided, so nodes hold different (equally
 * valid) commits of their tip, and the next block's proposer names its
 * own (Tendermint's LastCommit). parent_commit[0..plen) is that commit:
 * it must finalize the tip block (rp_commit_verify) and hash to the
 * header's prev_commit_hash; commit then stores it as the parent's commit
 * in the same write transaction, so every node's chain ends up holding
 * the commit the next block names. NULL (plen 0): the stored commit, as
 * rp_exec_check and rp_exec_commit.
 * Returns: as rp_exec_check / rp_exec_commit; RP_ERR_COMMIT if
 *          parent_commit does not finalize the tip block. */
int rp_exec_check_after(rp_store *s, const unsigned char *block, size_t blen,
                        const unsigned char *parent_commit, size_t plen,
                        rp_verify_batch_fn verify, void *vctx, rp_checked **out,
                        rp_store_error *err);
int rp_exec_commit_after(rp_store *s, const unsigned char *block, size_t blen,
                         const unsigned char *commit, size_t clen,
                         const unsigned char *parent_commit, size_t plen,
                         const rp_checked *checked, rp_verify_batch_fn verify, void *vctx,
                         rp_store_error *err);

/* Borrowed views of a result, valid until rp_checked_free. */
const rp_header *rp_checked_header(const rp_checked *c);
const rp_hash *rp_checked_hash(const rp_checked *c); /* the header hash */
const unsigned char *rp_checked_block(const rp_checked *c, size_t *len);
/* The tip the block was executed on, and the tip after it. */
const rp_tip *rp_checked_parent(const rp_checked *c);
const rp_tip *rp_checked_tip(const rp_checked *c);
/* The ids of the block's records, in block order (computed from the block).
 * Returns: 0 or RP_ERR_NOMEM. Out: *ids (malloc'd, caller frees) and *n. */
int rp_checked_record_ids(const rp_checked *c, rp_hash **ids, size_t *n);

void rp_checked_free(rp_checked *c);

#endif /* RP_EXEC_H */
