/* Reading the chain and its state: blocks, records, identities, reviews,
 * evidence, score tables and score proofs, for the RPC server, the auditor's tools and
 * the tests.
 *
 * Every call runs in its own short read transaction (several calls are not
 * one snapshot: a block may be committed between them) and copies what it
 * returns, so nothing returned points into LMDB. Safe on any thread; never
 * blocks the writer.
 *
 * Errors: RP_ERR_NOT_FOUND for what is not there, RP_ERR_CORRUPT for stored
 * bytes that do not decode, RP_ERR_STORE (or -errno) for LMDB failures,
 * RP_ERR_NOMEM.
 */
#ifndef RP_QUERY_H
#define RP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/proof.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/store.h"

/* A stored block (header and body), commit or header by height.
 * Returns: 0; RP_ERR_NOT_FOUND; RP_ERR_STORE; RP_ERR_NOMEM.
 * Out: *out is a malloc'd copy (caller frees) and *len its size. */
int rp_store_read_block(rp_store *s, uint64_t height, unsigned char **out, size_t *len);
int rp_store_read_commit(rp_store *s, uint64_t height, unsigned char **out, size_t *len);
/* Returns: 0; RP_ERR_NOT_FOUND; RP_ERR_CORRUPT; RP_ERR_STORE. */
int rp_store_read_header(rp_store *s, uint64_t height, rp_header *h);

/* One record of a stored block, without copying the block: the hot path of
 * record.get. Returns: 0; RP_ERR_NOT_FOUND (no such block); RP_ERR_CORRUPT
 * (no such index, or a body that does not walk). Out: out[0..*len). */
int rp_store_read_record(rp_store *s, uint64_t height, uint32_t index,
                         unsigned char out[static RP_RECORD_MAX_SIZE], size_t *len);

/* A registered identity's state. Returns: 0, RP_ERR_NOT_FOUND,
 * RP_ERR_CORRUPT or RP_ERR_STORE. */
int rp_store_read_identity(rp_store *s, const rp_pubkey *name, rp_identity_state *out);

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
    uint8_t dims[RP_REVIEW_DIMS]; /* quality, reliability, communication, payment; 0 = not rated */
    uint64_t time;                /* the issuer's clock, unix seconds */
    uint64_t height;              /* where it was included */
} rp_review_info;

/* A page of the live reviews about (by_issuer 0) or by (1) an identity, in
 * review-id order, from one read transaction.
 * Returns: 0; RP_ERR_CORRUPT; RP_ERR_STORE.
 * Out:     out[0..*n) with *n <= max; *more: 1 if reviews follow the page.
 * In:      after: start after this review id (NULL: from the first). */
int rp_store_list_reviews(rp_store *s, const rp_pubkey *who, int by_issuer, const rp_hash *after,
                          rp_review_info *out, size_t max, size_t *n, int *more);

/* A page of the EVIDENCE on chain (the evidence table), in key order:
 * validator, then vote height, round and vote type, from one read
 * transaction. Each row names the accused validator, the votes' height,
 * round and type, the two block hashes (hash_a < hash_b), and where the
 * record is (block height, index, record id).
 * Returns: 0; RP_ERR_CORRUPT (an entry that does not decode); RP_ERR_STORE.
 * Out:     out[0..*n) with *n <= max; *more: 1 if rows follow the page.
 * In:      validator: only this validator's evidence (NULL: everyone's);
 *          after: start after the row with this key (its validator,
 *          height, round and vote_type; the other fields are ignored; NULL:
 *          from the first) - pass the page's last row to get the next page;
 *          max: room in out (0 answers only *more).
 * An empty table (no evidence, as on every honest chain) is 0 with *n = 0. */
int rp_store_evidence_list(rp_store *s, const rp_pubkey *validator, const rp_evidence_row *after,
                           rp_evidence_row *out, size_t max, size_t *n, int *more);

/* Describe a committed epoch; epoch 0 means the latest.
 * Returns: 0; RP_ERR_NOT_FOUND if no epoch is committed yet or that one is
 *          no longer in the history; RP_ERR_CORRUPT; RP_ERR_STORE. */
int rp_store_read_epoch(rp_store *s, uint64_t epoch, rp_epoch_info *out);

/* Call fn for every row of a committed epoch's table, in identity order,
 * from one read transaction. fn returns 0 to go on or a code to stop (which
 * is returned). Returns: 0, an error of rp_store_read_epoch, or fn's code. */
int rp_store_read_scores(rp_store *s, uint64_t epoch, int (*fn)(void *ctx, const rp_score_row *row),
                         void *ctx);

/* One identity's row of a committed epoch (0 = the latest), from one read
 * transaction: the hot path of score.get.
 * Returns: 0 (*present 1 and row filled, or 0: no row for the identity);
 *          errors of rp_store_read_epoch.
 * Out:     info: the epoch; row; present. */
int rp_store_read_score(rp_store *s, const rp_pubkey *identity, uint64_t epoch, rp_epoch_info *info,
                        rp_score_row *row, int *present);

/* The kept epochs (the last RP_SCORE_HISTORY), newest first, from one read
 * transaction: the latest, then each one before it still in the history.
 * Returns: 0; RP_ERR_NOT_FOUND if no epoch is committed yet; RP_ERR_CORRUPT;
 *          RP_ERR_STORE.
 * Out:     out[0..*n), *n <= max; out[0] is the latest. */
int rp_store_list_epochs(rp_store *s, rp_epoch_info *out, size_t max, size_t *n);

/* One identity in one kept epoch: its row, or present 0 and a zero row. */
typedef struct rp_score_hist {
    rp_epoch_info epoch;
    int present;
    rp_score_row row;
} rp_score_hist;

/* One identity's rows over the kept epochs, newest first, from one read
 * transaction (so the epochs are one consistent history, never a mix of two
 * tips): an entry for every kept epoch, present or not.
 * Returns: 0; errors of rp_store_list_epochs.
 * Out:     out[0..*n), *n <= max (RP_SCORE_HISTORY holds them all). */
int rp_store_score_history(rp_store *s, const rp_pubkey *identity, rp_score_hist *out, size_t max,
                           size_t *n);

/* Walk the kept epochs' tables, newest first, from one read transaction: for
 * each of the first max_epochs kept epochs, on_epoch(ctx, e) and then
 * on_row(ctx, row) for each of its rows in identity order. Either callback
 * returns 0 to go on or a code to stop (which is returned). The transaction
 * lasts the whole walk (about 0.1 s per million rows): a worker's job, not
 * the loop's.
 * Returns: 0; errors of rp_store_list_epochs; a callback's code. */
int rp_store_walk_history(rp_store *s, size_t max_epochs,
                          int (*on_epoch)(void *ctx, const rp_epoch_info *e),
                          int (*on_row)(void *ctx, const rp_score_row *row), void *ctx);

/* Build a proof for an identity in an epoch (0 = the latest): its row and
 * Merkle path, or the two neighbours that show it has none, with the header
 * that carries the root and that header's commit (ledger/proof.h).
 * Returns: 0; errors of rp_store_read_epoch; RP_ERR_NOMEM; RP_ERR_STORE.
 * Out: p (about 14 KB: allocate it, don't put many on a stack). */
int rp_store_score_proof(rp_store *s, const rp_pubkey *identity, uint64_t epoch, rp_score_proof *p);

/* A live AUDIENCE attestation (not revoked, not replaced), by its id. */
typedef struct rp_audience_attestation {
    rp_hash id;
    rp_attest_state st; /* st.ended is 0 */
} rp_audience_attestation;

/* An identity's audience figures in a committed epoch (0 = the latest),
 * and, if asked, the attestations about it that are live at the tip, from
 * one read transaction: the read of audience.get.
 * The figures are the epoch's audience rows (docs/trust.md, "Audience
 * figures"): one per platform that had at least one counted attestation at
 * the epoch's snapshot, in platform order. The live attestations are those
 * of the attest_live table now, in (platform, attester) order; whether one
 * has expired is for the caller to compare with the tip's time (an expired
 * one stays live until replaced or revoked, but no longer counts).
 * Returns: 0; errors of rp_store_read_epoch (RP_ERR_NOT_FOUND: no such
 *          epoch); RP_ERR_CORRUPT; RP_ERR_STORE.
 * Out:     info: the epoch; rows[0..*nrows) (at most RP_PLATFORM_MAX);
 *          live[0..*nlive) (at most cap; live may be NULL when cap is 0);
 *          more: 1 if live attestations beyond cap exist (may be NULL).
 * In:      identity; epoch; platform: one platform (1..RP_PLATFORM_MAX) or
 *          0 for all. */
int rp_store_audience_get(rp_store *s, const rp_pubkey *identity, uint64_t epoch, unsigned platform,
                          rp_epoch_info *info, rp_audience_row rows[static RP_PLATFORM_MAX],
                          size_t *nrows, rp_audience_attestation *live, size_t cap, size_t *nlive,
                          int *more);

/* Call fn for every row of a committed epoch's audience table (0 = the
 * latest), in (subject, platform) order, from one read transaction. fn
 * returns 0 to go on or a code to stop (which is returned).
 * Returns: 0, an error of rp_store_read_epoch, RP_ERR_CORRUPT, or fn's code. */
int rp_store_walk_audience(rp_store *s, uint64_t epoch,
                           int (*fn)(void *ctx, const rp_audience_row *row), void *ctx);

#endif /* RP_QUERY_H */
