/* The one execution path for blocks: build, check and commit (contract in
 * exec.h).
 *
 * All three run a block the same way, on an rp_apply (state.h) over a base
 * transaction that is never written through:
 *   1. pure checks: framing, limits and the links to the parent tip (height,
 *      previous hash and commit hash, time, validator set, Merkle root),
 *      before any score work;
 *   2. the score epoch due at this height, if any (epoch.c), before the
 *      first record, since it reads the state as the parent left it;
 *   3. every record decoded and run through the rules (rules.c), each one's
 *      changes visible to the next once it is accepted;
 *   4. the queued signatures verified as one batch through the caller's
 *      verifier (on every core, if it has a pool);
 *   5. the state hash over the block's changes in key order.
 * Build and check do this on a read transaction and keep the sorted change
 * log in their result; commit writes that log, or, without a usable result,
 * runs 1-5 on the write transaction itself, then writes the log, the chain
 * tables and the tip in the same transaction. A failure anywhere before the
 * transaction commits leaves the store as it was.
 */
#include "ledger/exec.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/merkle.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/state.h"

struct rp_checked {
    rp_header h;
    rp_hash hash;
    unsigned char *block;
    size_t blen;
    rp_tip parent, tip;
    rp_apply a; /* the sorted change log; no transaction */
};

const rp_header *rp_checked_header(const rp_checked *c)
{
    return &c->h;
}
const rp_hash *rp_checked_hash(const rp_checked *c)
{
    return &c->hash;
}
const rp_tip *rp_checked_parent(const rp_checked *c)
{
    return &c->parent;
}
const rp_tip *rp_checked_tip(const rp_checked *c)
{
    return &c->tip;
}

const unsigned char *rp_checked_block(const rp_checked *c, size_t *len)
{
    *len = c->blen;
    return c->block;
}

int rp_checked_record_ids(const rp_checked *c, rp_hash **ids, size_t *n)
{
    rp_header h;
    size_t cnt = c->h.record_count;
    rp_block_item *items = malloc((cnt ? cnt : 1) * sizeof *items);
    *ids = malloc((cnt ? cnt : 1) * sizeof **ids);
    *n = 0;
    if (!items || !*ids) {
        free(items);
        free(*ids);
        *ids = NULL;
        return RP_ERR_NOMEM;
    }
    /* The block was built or checked: it decodes. */
    if (rp_block_decode(&h, items, cnt, c->block, c->blen) != 0) {
        free(items);
        free(*ids);
        *ids = NULL;
        return RP_ERR_CORRUPT;
    }
    for (size_t i = 0; i < cnt; i++) {
        rp_record r;
        if (rp_record_decode(&r, items[i].bytes, items[i].len, NULL) != 0) {
            free(items);
            free(*ids);
            *ids = NULL;
            return RP_ERR_CORRUPT;
        }
        rp_record_id_from_body(&(*ids)[i], c->a.chain_id, items[i].bytes,
                               rp_record_body_len(r.type, items[i].len));
    }
    free(items);
    *n = cnt;
    return 0;
}

void rp_checked_free(rp_checked *c)
{
    if (!c)
        return;
    rp_apply_free(&c->a);
    free(c->block);
    free(c);
}

/* ---- the steps ------------------------------------------------------------------ */

/* Step 1 for a received block: the header against the parent tip and the
 * block's own records. */
static int check_links(rp_store *s, const rp_tip *tip, const rp_header *h,
                       const rp_block_item *items, rp_store_error *err)
{
    const rp_params *p = &s->genesis->params;
    uint64_t height = tip->height + 1;
    rp_hash root;
    if (!rp_hash_eq(&h->chain_id, &s->chain_id)) {
        rp_store_error_set(err, RP_ERR_WRONG_CHAIN, h->height, -1, "block is for another chain");
        return RP_ERR_WRONG_CHAIN;
    }
    if (h->height != height) {
        rp_store_error_set(err, RP_ERR_BLOCK_HEIGHT, h->height, -1,
                           "block height %llu, expected %llu", (unsigned long long)h->height,
                           (unsigned long long)height);
        return RP_ERR_BLOCK_HEIGHT;
    }
    if (!rp_hash_eq(&h->prev_hash, &tip->head_hash)) {
        rp_store_error_set(err, RP_ERR_BLOCK_PREV, height, -1,
                           "previous hash does not match the tip");
        return RP_ERR_BLOCK_PREV;
    }
    if (!rp_hash_eq(&h->prev_commit_hash, &tip->commit_hash)) {
        rp_store_error_set(err, RP_ERR_BLOCK_PREV_COMMIT, height, -1,
                           "previous commit hash does not match the stored commit");
        return RP_ERR_BLOCK_PREV_COMMIT;
    }
    if (h->time_ms <= tip->time_ms) {
        rp_store_error_set(err, RP_ERR_BLOCK_TIME, height, -1, "block time %llu is not after %llu",
                           (unsigned long long)h->time_ms, (unsigned long long)tip->time_ms);
        return RP_ERR_BLOCK_TIME;
    }
    if (h->proposer >= s->genesis->nvalidators ||
        !rp_hash_eq(&h->validators_hash, &s->validators_hash)) {
        rp_store_error_set(err, RP_ERR_BLOCK_VALIDATORS, height, -1,
                           "proposer index or validator-set hash does not match the genesis");
        return RP_ERR_BLOCK_VALIDATORS;
    }
    if (h->record_count > p->max_block_records || h->body_bytes > p->max_block_bytes) {
        rp_store_error_set(err, RP_ERR_BLOCK_LIMITS, height, -1,
                           "%u records in %u bytes exceed the limits (%u records, %u bytes)",
                           (unsigned)h->record_count, (unsigned)h->body_bytes,
                           (unsigned)p->max_block_records, (unsigned)p->max_block_bytes);
        return RP_ERR_BLOCK_LIMITS;
    }
    int rc = rp_block_records_root(&root, items, h->record_count);
    if (rc) {
        rp_store_error_set(err, rc, height, -1, "%s", rp_strerror(rc));
        return rc;
    }
    if (!rp_hash_eq(&root, &h->records_root)) {
        rp_store_error_set(err, RP_ERR_BLOCK_ROOT, height, -1,
                           "records Merkle root does not match");
        return RP_ERR_BLOCK_ROOT;
    }
    return 0;
}

/* Step 2: the epoch due at a->height, moving tip's epoch and root. */
static int advance_epoch(rp_apply *a, rp_tip *tip, rp_store_error *err)
{
    char msg[200];
    int rc = rp_epoch_advance(a, tip, msg, sizeof msg);
    if (rc)
        rp_store_error_set(err, rc, a->height, -1, "score epoch: %s", msg);
    return rc;
}

/* Step 3 for one record: decode it and run the rules at block index
 * a->record. On failure nothing of it stays in the log. */
static int run_record(rp_apply *a, const rp_block_item *it, int *code, char *msg, size_t msglen)
{
    rp_record r;
    rp_hash id;
    const char *field = NULL;
    rp_apply_mark mark = rp_apply_mark_get(a);
    int rc = rp_record_decode(&r, it->bytes, it->len, &field);
    if (rc) {
        snprintf(msg, msglen, "%s (field %s)", rp_strerror(rc), field ? field : "?");
        *code = rc;
        return rc;
    }
    rp_record_id_from_body(&id, a->chain_id, it->bytes, rp_record_body_len(r.type, it->len));
    char why[200];
    rc = rp_rules_apply(a, &r, &id, why, sizeof why);
    if (rc == 0)
        rc = rp_apply_accept(a);
    if (rc) {
        rp_apply_rollback(a, mark);
        snprintf(msg, msglen, "(%s, seq %llu): %s%s%s", rp_record_type_name(r.type),
                 (unsigned long long)r.seq, rp_strerror(rc), why[0] ? ": " : "", why);
        *code = rc;
    }
    return rc;
}

/* Step 4: verify the queued signatures. Returns 0 or RP_ERR_NOMEM; bad[i]
 * (for the block index of each signature's record) is set for every record
 * with a signature that fails, and *nbad counts those signatures. */
static int verify_queued(rp_apply *a, rp_verify_batch_fn verify, void *vctx, unsigned char *bad,
                         size_t *nbad)
{
    *nbad = 0;
    if (a->nsigs == 0)
        return 0;
    rp_sig_check *checks = malloc(a->nsigs * sizeof *checks);
    unsigned char *ok = malloc(a->nsigs);
    if (!checks || !ok) {
        free(checks);
        free(ok);
        return RP_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->nsigs; i++) {
        checks[i].msg = a->sigs[i].msg.bytes;
        checks[i].msglen = 32;
        checks[i].pubkey = &a->sigs[i].key;
        checks[i].sig = &a->sigs[i].sig;
    }
    size_t failed =
        verify ? verify(vctx, checks, a->nsigs, ok) : rp_verify_range(checks, 0, a->nsigs, ok);
    if (failed) {
        for (size_t i = 0; i < a->nsigs; i++) {
            if (!ok[i]) {
                bad[a->sigs[i].record] = 1;
                (*nbad)++;
            }
        }
    }
    free(checks);
    free(ok);
    return 0;
}

/* Steps 2-5 for a received block, strict: the first failure fails. On
 * success a holds the sorted log and tip the tip after the block. */
static int execute(rp_apply *a, rp_tip *tip, const rp_header *h, const rp_block_item *items,
                   rp_verify_batch_fn verify, void *vctx, rp_store_error *err)
{
    int rc, code;
    char msg[220];
    rp_hash state;
    a->height = h->height;
    a->time_s = h->time_ms / 1000;
    if ((rc = advance_epoch(a, tip, err)) != 0)
        return rc;
    if (h->epoch != tip->epoch || !rp_hash_eq(&h->score_root, &tip->score_root)) {
        rp_store_error_set(err, RP_ERR_BLOCK_EPOCH, h->height, -1,
                           "epoch or score root differs from the latest committed epoch");
        return RP_ERR_BLOCK_EPOCH;
    }
    for (size_t i = 0; i < h->record_count; i++) {
        a->record = i;
        if (run_record(a, &items[i], &code, msg, sizeof msg) != 0) {
            rp_store_error_set(err, code, h->height, (int64_t)i, "record %zu%s%s", i,
                               msg[0] == '(' ? " " : ": ", msg);
            return code;
        }
    }
    unsigned char *bad = calloc(h->record_count ? h->record_count : 1, 1);
    size_t nbad;
    if (!bad || (rc = verify_queued(a, verify, vctx, bad, &nbad)) != 0) {
        free(bad);
        rp_store_error_set(err, RP_ERR_NOMEM, h->height, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    for (size_t i = 0; nbad && i < h->record_count; i++) {
        if (bad[i]) {
            free(bad);
            rp_store_error_set(
                err, RP_ERR_BAD_SIGNATURE, h->height, (int64_t)i,
                "record %zu: a signature does not verify with the signer's current key", i);
            return RP_ERR_BAD_SIGNATURE;
        }
    }
    free(bad);
    rp_apply_state_hash(a, &tip->state_hash, &state);
    if (!rp_hash_eq(&state, &h->state_hash)) {
        rp_store_error_set(err, RP_ERR_BLOCK_STATE, h->height, -1,
                           "state hash after the block does not match the header");
        return RP_ERR_BLOCK_STATE;
    }
    tip->state_hash = state;
    return 0;
}

/* A received block's framing: the header peeked first, so the limits are
 * reported as limits and the item array is sized to the block. Limits are
 * checked here, before any score work. Out: h, *items (malloc'd). */
static int decode_block(rp_store *s, const unsigned char *block, size_t blen, rp_header *h,
                        rp_block_item **items, rp_store_error *err)
{
    int rc;
    *items = NULL;
    if (blen < RP_HEADER_SIZE || (rc = rp_header_decode(h, block, RP_HEADER_SIZE)) != 0) {
        rc = blen < RP_HEADER_SIZE ? RP_ERR_TRUNCATED : rc;
        rp_store_error_set(err, rc, 0, -1, "block header does not decode: %s", rp_strerror(rc));
        return rc;
    }
    const rp_params *p = &s->genesis->params;
    if (h->record_count > p->max_block_records || h->body_bytes > p->max_block_bytes) {
        rp_store_error_set(err, RP_ERR_BLOCK_LIMITS, h->height, -1,
                           "%u records in %u bytes exceed the block limits",
                           (unsigned)h->record_count, (unsigned)h->body_bytes);
        return RP_ERR_BLOCK_LIMITS;
    }
    *items = malloc((h->record_count ? h->record_count : 1) * sizeof **items);
    if (!*items) {
        rp_store_error_set(err, RP_ERR_NOMEM, h->height, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    if ((rc = rp_block_decode(h, *items, h->record_count, block, blen)) != 0) {
        rp_store_error_set(err, rc, 0, -1, "block does not decode: %s", rp_strerror(rc));
        free(*items);
        *items = NULL;
    }
    return rc;
}

static int begin_read(rp_store *s, MDB_txn **txn, rp_tip *tip, rp_store_error *err)
{
    if (s->batch) {
        rp_store_error_set(err, RP_ERR_INVALID_ARG, 0, -1,
                           "a write batch is open: build and check read committed state only");
        return RP_ERR_INVALID_ARG;
    }
    int rc = rp_read_begin(s, txn);
    if (rc == 0 && (rc = rp_read_tip(s, *txn, tip)) != 0) {
        mdb_txn_abort(*txn);
        *txn = NULL;
    }
    if (rc)
        rp_store_error_set(err, rc, 0, -1, "cannot read the chain tip: %s", rp_strerror(rc));
    return rc;
}

/* ---- check ---------------------------------------------------------------------- */

/* A block may name another commit of its parent than the one stored here
 * (with several validators each node stores the precommits it saw; the
 * next block's proposer picks its own). Given that commit, check that it
 * finalizes the parent and make it the parent's commit for this block's
 * links: parent->commit_hash becomes its hash.
 * Returns: 0 (also with no parent_commit); RP_ERR_COMMIT. */
static int adopt_parent_commit(rp_store *s, rp_tip *parent, const unsigned char *pc, size_t plen,
                               rp_store_error *err)
{
    if (!pc)
        return 0;
    rp_commit *c = malloc(sizeof *c);
    rp_hash ch;
    int rc = c ? 0 : RP_ERR_NOMEM;
    if (!rc && (parent->height == 0 || rp_commit_decode(c, pc, plen) != 0 ||
                rp_commit_verify(c, s->genesis, &s->chain_id, parent->height,
                                 &parent->head_hash) != 0 ||
                rp_commit_hash(&ch, c) != 0))
        rc = RP_ERR_COMMIT;
    free(c);
    if (rc) {
        rp_store_error_set(err, rc, parent->height + 1, -1,
                           "the parent commit given with the block does not finalize block %llu",
                           (unsigned long long)parent->height);
        return rc;
    }
    parent->commit_hash = ch;
    return 0;
}

int rp_exec_check(rp_store *s, const unsigned char *block, size_t blen, rp_verify_batch_fn verify,
                  void *vctx, rp_checked **out, rp_store_error *err)
{
    return rp_exec_check_after(s, block, blen, NULL, 0, verify, vctx, out, err);
}

int rp_exec_check_after(rp_store *s, const unsigned char *block, size_t blen,
                        const unsigned char *parent_commit, size_t plen,
                        rp_verify_batch_fn verify, void *vctx, rp_checked **out,
                        rp_store_error *err)
{
    rp_block_item *items = NULL;
    MDB_txn *txn = NULL;
    rp_checked *c = NULL;
    int rc;
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    c = calloc(1, sizeof *c);
    if (!c || !(c->block = malloc(blen ? blen : 1))) {
        rp_store_error_set(err, RP_ERR_NOMEM, 0, -1, "out of memory");
        rp_checked_free(c);
        return RP_ERR_NOMEM;
    }
    memcpy(c->block, block, blen);
    c->blen = blen;
    if ((rc = decode_block(s, c->block, blen, &c->h, &items, err)) != 0 ||
        (rc = begin_read(s, &txn, &c->parent, err)) != 0 ||
        (rc = adopt_parent_commit(s, &c->parent, parent_commit, plen, err)) != 0 ||
        (rc = check_links(s, &c->parent, &c->h, items, err)) != 0)
        goto out;
    rp_apply_init(&c->a, s, txn);
    c->tip = c->parent;
    if ((rc = execute(&c->a, &c->tip, &c->h, items, verify, vctx, err)) != 0)
        goto out;
    rp_header_hash(&c->hash, &c->h);
    c->tip.height = c->h.height;
    c->tip.head_hash = c->hash;
    c->tip.time_ms = c->h.time_ms;
    /* commit_hash stays the parent's until a commit is known. */
out:
    if (txn)
        mdb_txn_abort(txn);
    c->a.txn = NULL;
    free(items);
    if (rc) {
        if (err && err->code == 0)
            rp_store_error_set(err, rc, c->h.height, -1, "%s", rp_strerror(rc));
        rp_checked_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- build ---------------------------------------------------------------------- */

static void add_rejection(rp_rejected *rej, size_t max, size_t *n, size_t index, int code,
                          const char *msg)
{
    if (*n >= max)
        return;
    rej[*n].index = index;
    rej[*n].code = code;
    snprintf(rej[*n].msg, sizeof rej[*n].msg, "%s", msg);
    (*n)++;
}

int rp_exec_build(rp_store *s, const rp_block_item *candidates, size_t n, uint64_t time_ms,
                  uint16_t proposer, rp_verify_batch_fn verify, void *vctx, rp_checked **out,
                  size_t *taken, rp_rejected *rejected, size_t max_rejected, size_t *nrejected,
                  rp_store_error *err)
{
    const rp_params *p = &s->genesis->params;
    MDB_txn *txn = NULL;
    rp_checked *c = NULL;
    unsigned char *excluded = NULL, *bad = NULL;
    rp_block_item *items = NULL;
    size_t k = 0, body = 0, nitems = 0;
    int rc;

    *out = NULL;
    *taken = 0;
    *nrejected = 0;
    if (err)
        memset(err, 0, sizeof *err);
    /* The limits cut the candidates before anything else is looked at. */
    while (k < n && k < p->max_block_records && body + 2 + candidates[k].len <= p->max_block_bytes)
        body += 2 + candidates[k++].len;
    c = calloc(1, sizeof *c);
    excluded = calloc(k ? k : 1, 1);
    bad = calloc(k ? k : 1, 1);
    items = malloc((k ? k : 1) * sizeof *items);
    if (!c || !excluded || !bad || !items) {
        rc = RP_ERR_NOMEM;
        rp_store_error_set(err, rc, 0, -1, "out of memory");
        goto out;
    }
    if ((rc = begin_read(s, &txn, &c->parent, err)) != 0)
        goto out;
    uint64_t height = c->parent.height + 1;
    if (time_ms <= c->parent.time_ms) {
        rc = RP_ERR_BLOCK_TIME;
        rp_store_error_set(err, rc, height, -1, "block time %llu is not after %llu",
                           (unsigned long long)time_ms, (unsigned long long)c->parent.time_ms);
        goto out;
    }
    if (proposer >= s->genesis->nvalidators) {
        rc = RP_ERR_BLOCK_VALIDATORS;
        rp_store_error_set(err, rc, height, -1, "proposer %u is not a validator index", proposer);
        goto out;
    }

    /* Run the candidates, leaving out those that break a rule. A bad
     * signature is found only after the batch is verified: leave its record
     * out and run again, since records after it may have depended on it.
     * Each round leaves out at least one more, so this ends. */
    for (;;) {
        char msg[220];
        int code;
        size_t nbad;
        rp_apply_free(&c->a);
        rp_apply_init(&c->a, s, txn);
        c->a.height = height;
        c->a.time_s = time_ms / 1000;
        c->tip = c->parent;
        *nrejected = 0;
        nitems = 0;
        body = 0;
        if ((rc = advance_epoch(&c->a, &c->tip, err)) != 0)
            goto out;
        for (size_t i = 0; i < k; i++) {
            if (excluded[i]) {
                add_rejection(rejected, max_rejected, nrejected, i, RP_ERR_BAD_SIGNATURE,
                              "a signature does not verify with the signer's current key");
                continue;
            }
            c->a.record = nitems;
            if (run_record(&c->a, &candidates[i], &code, msg, sizeof msg) != 0) {
                if (code == RP_ERR_NOMEM || code == RP_ERR_STORE || code == RP_ERR_CORRUPT) {
                    rc = code;
                    rp_store_error_set(err, rc, height, (int64_t)i, "candidate %zu %s", i, msg);
                    goto out;
                }
                add_rejection(rejected, max_rejected, nrejected, i, code, msg);
                continue;
            }
            items[nitems++] = candidates[i];
            body += 2 + candidates[i].len;
        }
        memset(bad, 0, nitems ? nitems : 1);
        if ((rc = verify_queued(&c->a, verify, vctx, bad, &nbad)) != 0) {
            rp_store_error_set(err, rc, height, -1, "out of memory");
            goto out;
        }
        if (nbad == 0)
            break;
        /* bad[] is by block index: map back to candidates. */
        for (size_t i = 0, j = 0; i < k; i++) {
            if (excluded[i] || j >= nitems || items[j].bytes != candidates[i].bytes)
                continue;
            if (bad[j])
                excluded[i] = 1;
            j++;
        }
    }
    rp_apply_state_hash(&c->a, &c->tip.state_hash, &c->tip.state_hash);

    rp_header *h = &c->h;
    h->version = RP_BLOCK_VERSION;
    h->chain_id = s->chain_id;
    h->height = height;
    h->time_ms = time_ms;
    h->prev_hash = c->parent.head_hash;
    h->record_count = (uint32_t)nitems;
    h->proposer = proposer;
    h->validators_hash = s->validators_hash;
    h->prev_commit_hash = c->parent.commit_hash;
    h->state_hash = c->tip.state_hash;
    h->epoch = c->tip.epoch;
    h->score_root = c->tip.score_root;
    h->body_bytes = (uint32_t)body;
    c->blen = RP_HEADER_SIZE + body;
    if ((rc = rp_block_records_root(&h->records_root, items, nitems)) != 0 ||
        !(c->block = malloc(c->blen)) ||
        (rc = rp_block_encode(h, items, nitems, c->block, c->blen, &c->blen)) != 0) {
        rc = rc ? rc : RP_ERR_NOMEM;
        rp_store_error_set(err, rc, height, -1, "cannot encode the block: %s", rp_strerror(rc));
        goto out;
    }
    rp_header_hash(&c->hash, h);
    c->tip.height = height;
    c->tip.head_hash = c->hash;
    c->tip.time_ms = time_ms;
    *taken = k;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (c)
        c->a.txn = NULL;
    free(excluded);
    free(bad);
    free(items);
    if (rc) {
        *nrejected = 0;
        rp_checked_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- commit --------------------------------------------------------------------- */

/* Write the chain tables and the tip in txn. Returns: 0 or an error of
 * rp_from_mdb. */
static int write_chain(rp_store *s, MDB_txn *txn, const rp_tip *tip, const rp_header *h,
                       const unsigned char *block, size_t blen, const unsigned char *commit,
                       size_t clen)
{
    unsigned char hk[RP_HEIGHT_KEY_SIZE], tbuf[RP_TIP_SIZE];
    MDB_val k, v;
    int m;
    rp_be64_put(hk, h->height);
    k = rp_mv(hk, sizeof hk);
    v = rp_mv(block, RP_HEADER_SIZE);
    if ((m = mdb_put(txn, s->dbi[RP_DB_HEADERS], &k, &v, MDB_APPEND)) != 0)
        return rp_from_mdb(m);
    v = rp_mv(block + RP_HEADER_SIZE, blen - RP_HEADER_SIZE);
    if ((m = mdb_put(txn, s->dbi[RP_DB_BODIES], &k, &v, MDB_APPEND)) != 0)
        return rp_from_mdb(m);
    v = rp_mv(commit, clen);
    if ((m = mdb_put(txn, s->dbi[RP_DB_COMMITS], &k, &v, MDB_APPEND)) != 0)
        return rp_from_mdb(m);
    k = rp_mv(tip->head_hash.bytes, 32);
    v = rp_mv(hk, sizeof hk);
    if ((m = mdb_put(txn, s->dbi[RP_DB_HASH_HEIGHT], &k, &v, MDB_NOOVERWRITE)) != 0)
        return rp_from_mdb(m);
    rp_tip_encode(tbuf, tip);
    k = rp_mv("tip", 3);
    v = rp_mv(tbuf, sizeof tbuf);
    return rp_from_mdb(mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0));
}

static int write_failed(rp_store_error *err, uint64_t height, int rc)
{
    if (rc == RP_ERR_MAP_FULL)
        rp_store_error_set(err, rc, height, -1,
                           "LMDB map is full; raise map_size (the block was not applied)");
    else if (rc == -ENOSPC)
        rp_store_error_set(err, rc, height, -1, "the disk is full (the block was not applied)");
    else
        rp_store_error_set(err, rc, height, -1, "writing the block: %s", rp_strerror(rc));
    return rc;
}

int rp_exec_commit(rp_store *s, const unsigned char *block, size_t blen,
                   const unsigned char *commit, size_t clen, const rp_checked *checked,
                   rp_verify_batch_fn verify, void *vctx, rp_store_error *err)
{
    return rp_exec_commit_after(s, block, blen, commit, clen, NULL, 0, checked, verify, vctx, err);
}

int rp_exec_commit_after(rp_store *s, const unsigned char *block, size_t blen,
                         const unsigned char *commit, size_t clen,
                         const unsigned char *parent_commit, size_t plen,
                         const rp_checked *checked, rp_verify_batch_fn verify, void *vctx,
                         rp_store_error *err)
{
    rp_header h;
    rp_block_item *items = NULL;
    rp_commit *c = NULL;
    rp_apply own;
    const rp_apply *changes = NULL;
    rp_hash hh;
    rp_tip parent, tip;
    MDB_txn *txn = NULL;
    int rc, in_batch = s->batch != NULL;

    if (err)
        memset(err, 0, sizeof *err);
    memset(&own, 0, sizeof own);
    if (s->read_only) {
        rp_store_error_set(err, RP_ERR_INVALID_ARG, 0, -1, "store is open read-only");
        return RP_ERR_INVALID_ARG;
    }
    if ((rc = decode_block(s, block, blen, &h, &items, err)) != 0)
        goto done;
    if (!(c = malloc(sizeof *c))) {
        rc = RP_ERR_NOMEM;
        rp_store_error_set(err, rc, h.height, -1, "out of memory");
        goto done;
    }
    if ((rc = rp_commit_decode(c, commit, clen)) != 0) {
        rp_store_error_set(err, rc, h.height, -1, "commit does not decode: %s", rp_strerror(rc));
        goto done;
    }
    rp_header_hash(&hh, &h);
    if ((rc = rp_commit_verify(c, s->genesis, &s->chain_id, h.height, &hh)) != 0) {
        rp_store_error_set(
            err, rc, h.height, -1,
            "commit does not finalize this block with more than 2/3 of the voting power");
        goto done;
    }
    /* In a batch the block goes into the batch's transaction. Nothing is
     * written to it before the block has passed every check, so a block that
     * fails leaves the batch as it was; only a failed write (a full map or
     * disk) costs the whole batch. */
    if (in_batch) {
        txn = s->batch;
    } else if ((rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, 0, &txn))) != 0) {
        txn = NULL;
        rp_store_error_set(err, rc, h.height, -1, "cannot begin a write transaction: %s",
                           rp_strerror(rc));
        goto done;
    }
    if ((rc = rp_read_tip(s, txn, &parent)) != 0) {
        rp_store_error_set(err, rc, h.height, -1, "cannot read the chain tip: %s", rp_strerror(rc));
        goto abort;
    }
    rp_hash stored_commit = parent.commit_hash;
    if ((rc = adopt_parent_commit(s, &parent, parent_commit, plen, err)) != 0)
        goto abort;
    if (checked && checked->blen == blen && !memcmp(checked->block, block, blen) &&
        checked->parent.height == parent.height &&
        rp_hash_eq(&checked->parent.head_hash, &parent.head_hash) &&
        rp_hash_eq(&checked->parent.commit_hash, &parent.commit_hash)) {
        /* Built or checked on this very tip: its changes are the block's. */
        changes = &checked->a;
        tip = checked->tip;
    } else {
        if ((rc = check_links(s, &parent, &h, items, err)) != 0)
            goto abort;
        rp_apply_init(&own, s, txn);
        tip = parent;
        if ((rc = execute(&own, &tip, &h, items, verify, vctx, err)) != 0)
            goto abort;
        changes = &own;
    }
    tip.height = h.height;
    tip.head_hash = hh;
    tip.time_ms = h.time_ms;
    if ((rc = rp_commit_hash(&tip.commit_hash, c)) != 0) {
        rp_store_error_set(err, rc, h.height, -1, "%s", rp_strerror(rc));
        goto abort;
    }
    if (!rp_hash_eq(&stored_commit, &parent.commit_hash)) {
        /* The parent's commit becomes the one this block names. */
        unsigned char pk[RP_HEIGHT_KEY_SIZE];
        rp_be64_put(pk, parent.height);
        MDB_val k = rp_mv(pk, sizeof pk), v = rp_mv(parent_commit, plen);
        if ((rc = rp_from_mdb(mdb_put(txn, s->dbi[RP_DB_COMMITS], &k, &v, 0))) != 0) {
            write_failed(err, h.height, rc);
            if (in_batch)
                rp_store_batch_abort(s);
            txn = NULL;
            goto abort;
        }
    }
    if ((rc = rp_apply_write(changes, txn)) != 0 ||
        (rc = write_chain(s, txn, &tip, &h, block, blen, commit, clen)) != 0) {
        write_failed(err, h.height, rc);
        if (in_batch)
            rp_store_batch_abort(s); /* LMDB refuses a transaction after a failed write */
        txn = NULL;
        goto abort;
    }
    if (in_batch) {
        s->batch_blocks++;
        goto done;
    }
    rc = rp_from_mdb(mdb_txn_commit(txn));
    txn = NULL;
    if (rc) {
        write_failed(err, h.height, rc);
        goto done;
    }
    goto done;

abort:
    if (err && err->code == 0)
        rp_store_error_set(err, rc, h.height, -1, "%s", rp_strerror(rc));
    if (txn && !in_batch)
        mdb_txn_abort(txn);
done:
    rp_apply_free(&own);
    free(items);
    free(c);
    return rc;
}
