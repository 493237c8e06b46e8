/* Reading the chain and its state (contract in query.h): one short read
 * transaction per call, values copied out through the schema's codecs
 * before it ends.
 */
#include "ledger/query.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/merkle.h"
#include "ledger/schema.h"
#include "ledger/state.h"

int rp_store_read_header(rp_store *s, uint64_t height, rp_header *h)
{
    unsigned char k[8], *buf;
    size_t len;
    rp_be64_put(k, height);
    int rc = rp_read_copy(s, RP_DB_HEADERS, k, 8, &buf, &len);
    if (rc)
        return rc;
    rc = rp_header_decode(h, buf, len) ? RP_ERR_CORRUPT : 0;
    free(buf);
    return rc;
}

int rp_store_read_block(rp_store *s, uint64_t height, unsigned char **out, size_t *len)
{
    MDB_txn *txn;
    MDB_val hv, bv;
    unsigned char k[8];
    rp_be64_put(k, height);
    MDB_val key = rp_mv(k, 8);
    *out = NULL;
    *len = 0;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rp_from_mdb(rc);
    if ((rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_HEADERS], &key, &hv))) == 0 &&
        (rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_BODIES], &key, &bv))) == 0) {
        *out = malloc(hv.mv_size + bv.mv_size);
        if (!*out) {
            rc = RP_ERR_NOMEM;
        } else {
            memcpy(*out, hv.mv_data, hv.mv_size);
            memcpy(*out + hv.mv_size, bv.mv_data, bv.mv_size);
            *len = hv.mv_size + bv.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_read_record(rp_store *s, uint64_t height, uint32_t index,
                         unsigned char out[static RP_RECORD_MAX_SIZE], size_t *len)
{
    MDB_txn *txn;
    MDB_val bv;
    unsigned char k[8];
    rp_be64_put(k, height);
    MDB_val key = rp_mv(k, 8);
    *len = 0;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    if ((rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_BODIES], &key, &bv))) == 0) {
        /* Walk the (u16 length | record) list to the index'th record. */
        const unsigned char *p = bv.mv_data, *end = p + bv.mv_size;
        rc = RP_ERR_CORRUPT;
        for (uint32_t i = 0; end - p >= 2; i++) {
            size_t n = (size_t)p[0] << 8 | p[1];
            if (n > (size_t)(end - p - 2))
                break;
            if (i == index) {
                if (n <= RP_RECORD_MAX_SIZE) {
                    memcpy(out, p + 2, n);
                    *len = n;
                    rc = 0;
                }
                break;
            }
            p += 2 + n;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_read_commit(rp_store *s, uint64_t height, unsigned char **out, size_t *len)
{
    unsigned char k[8];
    rp_be64_put(k, height);
    return rp_read_copy(s, RP_DB_COMMITS, k, 8, out, len);
}

int rp_store_read_identity(rp_store *s, const rp_pubkey *name, rp_identity_state *out)
{
    unsigned char *buf;
    size_t len;
    int rc = rp_read_copy(s, RP_DB_IDENTITIES, name->bytes, 32, &buf, &len);
    if (rc)
        return rc;
    rc = rp_identity_state_decode(out, buf, len);
    free(buf);
    return rc;
}

int rp_store_find_record(rp_store *s, const rp_hash *id, uint64_t *height, uint32_t *index)
{
    unsigned char *buf;
    size_t len;
    int rc = rp_read_copy(s, RP_DB_RECORDS, id->bytes, 32, &buf, &len);
    if (rc)
        return rc;
    rp_location loc;
    rc = rp_location_decode(&loc, buf, len);
    free(buf);
    if (rc == 0) {
        *height = loc.height;
        *index = loc.index;
    }
    return rc;
}

/* ---- score tables and proofs ------------------------------------------------------ */

static int read_epoch_txn(rp_store *s, MDB_txn *txn, uint64_t epoch, rp_epoch_info *out)
{
    unsigned char k[8];
    MDB_val key, v;
    int rc;
    if (epoch == 0) {
        rp_tip tip;
        if ((rc = rp_read_tip(s, txn, &tip)) != 0)
            return rc;
        if (tip.epoch == 0)
            return RP_ERR_NOT_FOUND;
        epoch = tip.epoch;
    }
    rp_be64_put(k, epoch);
    key = rp_mv(k, 8);
    rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_EPOCHS], &key, &v));
    return rc ? rc : rp_epoch_value_decode(out, epoch, v.mv_data, v.mv_size);
}

int rp_store_read_epoch(rp_store *s, uint64_t epoch, rp_epoch_info *out)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rp_from_mdb(rc);
    rc = read_epoch_txn(s, txn, epoch, out);
    mdb_txn_abort(txn);
    return rc;
}

static int row_decode(rp_score_row *row, const MDB_val *k, const MDB_val *v)
{
    return rp_score_row_decode(row, k->mv_data, k->mv_size, v->mv_data, v->mv_size);
}

int rp_store_read_score(rp_store *s, const rp_pubkey *identity, uint64_t epoch, rp_epoch_info *info,
                        rp_score_row *row, int *present)
{
    MDB_txn *txn;
    *present = 0;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    if ((rc = read_epoch_txn(s, txn, epoch, info)) == 0) {
        unsigned char key[RP_SCORE_KEY_SIZE];
        rp_score_key(key, info->epoch, identity);
        MDB_val k = rp_mv(key, sizeof key), v;
        rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_SCORES], &k, &v));
        if (rc == 0 && (rc = row_decode(row, &k, &v)) == 0)
            *present = 1;
        else if (rc == RP_ERR_NOT_FOUND)
            rc = 0;
    }
    mdb_txn_abort(txn);
    return rc;
}

/* Walk one epoch's rows inside a read transaction. */
static int walk_scores(rp_store *s, MDB_txn *txn, uint64_t epoch,
                       int (*fn)(void *ctx, const rp_score_row *row), void *ctx)
{
    MDB_cursor *c;
    unsigned char prefix[8];
    rp_be64_put(prefix, epoch);
    MDB_val k = rp_mv(prefix, 8), v;
    int rc = rp_from_mdb(mdb_cursor_open(txn, s->dbi[RP_DB_SCORES], &c));
    if (rc)
        return rc;
    int m = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (m == 0 && rc == 0 && k.mv_size == RP_SCORE_KEY_SIZE && !memcmp(k.mv_data, prefix, 8)) {
        rp_score_row row;
        if ((rc = row_decode(&row, &k, &v)) == 0 && (rc = fn(ctx, &row)) == 0)
            m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = rp_from_mdb(m);
    return rc;
}

int rp_store_read_scores(rp_store *s, uint64_t epoch, int (*fn)(void *ctx, const rp_score_row *row),
                         void *ctx)
{
    MDB_txn *txn;
    rp_epoch_info e;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rp_from_mdb(rc);
    if ((rc = read_epoch_txn(s, txn, epoch, &e)) == 0)
        rc = walk_scores(s, txn, e.epoch, fn, ctx);
    mdb_txn_abort(txn);
    return rc;
}

/* The kept epochs inside a read transaction: the latest, then back while
 * each is still in the epochs table. */
static int list_epochs_txn(rp_store *s, MDB_txn *txn, rp_epoch_info *out, size_t max, size_t *n)
{
    *n = 0;
    if (max == 0)
        return 0;
    int rc = read_epoch_txn(s, txn, 0, &out[0]);
    if (rc)
        return rc;
    *n = 1;
    while (*n < max && out[*n - 1].epoch > 1) {
        rc = read_epoch_txn(s, txn, out[*n - 1].epoch - 1, &out[*n]);
        if (rc == RP_ERR_NOT_FOUND)
            return 0; /* fell out of the history */
        if (rc)
            return rc;
        (*n)++;
    }
    return 0;
}

int rp_store_list_epochs(rp_store *s, rp_epoch_info *out, size_t max, size_t *n)
{
    MDB_txn *txn;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    rc = list_epochs_txn(s, txn, out, max, n);
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_score_history(rp_store *s, const rp_pubkey *identity, rp_score_hist *out, size_t max,
                           size_t *n)
{
    rp_epoch_info e[RP_SCORE_HISTORY];
    MDB_txn *txn;
    *n = 0;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    size_t ne = 0;
    rc = list_epochs_txn(s, txn, e, max < RP_SCORE_HISTORY ? max : RP_SCORE_HISTORY, &ne);
    for (size_t i = 0; rc == 0 && i < ne; i++) {
        unsigned char key[RP_SCORE_KEY_SIZE];
        rp_score_key(key, e[i].epoch, identity);
        MDB_val k = rp_mv(key, sizeof key), v;
        memset(&out[i], 0, sizeof out[i]);
        out[i].epoch = e[i];
        rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_SCORES], &k, &v));
        if (rc == 0 && (rc = row_decode(&out[i].row, &k, &v)) == 0)
            out[i].present = 1;
        else if (rc == RP_ERR_NOT_FOUND)
            rc = 0;
    }
    mdb_txn_abort(txn);
    if (rc == 0)
        *n = ne;
    return rc;
}

int rp_store_walk_history(rp_store *s, size_t max_epochs,
                          int (*on_epoch)(void *ctx, const rp_epoch_info *e),
                          int (*on_row)(void *ctx, const rp_score_row *row), void *ctx)
{
    rp_epoch_info e[RP_SCORE_HISTORY];
    MDB_txn *txn;
    size_t ne = 0;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    rc = list_epochs_txn(s, txn, e, max_epochs < RP_SCORE_HISTORY ? max_epochs : RP_SCORE_HISTORY,
                         &ne);
    for (size_t i = 0; rc == 0 && i < ne; i++)
        if ((rc = on_epoch(ctx, &e[i])) == 0)
            rc = walk_scores(s, txn, e[i].epoch, on_row, ctx);
    mdb_txn_abort(txn);
    return rc;
}

struct rows {
    rp_score_row *rows;
    size_t n, cap;
};

static int keep_row(void *ctx, const rp_score_row *row)
{
    struct rows *r = ctx;
    if (r->n == r->cap)
        return RP_ERR_CORRUPT; /* more rows than the epoch says it has */
    r->rows[r->n++] = *row;
    return 0;
}

int rp_store_score_proof(rp_store *s, const rp_pubkey *identity, uint64_t epoch, rp_score_proof *p)
{
    MDB_txn *txn;
    struct rows r = {0};
    rp_hash *leaves = NULL;
    unsigned char hk[8];
    MDB_val key, v;
    memset(p, 0, sizeof *p);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rp_from_mdb(rc);
    if ((rc = read_epoch_txn(s, txn, epoch, &p->epoch)) != 0)
        goto out;
    r.cap = p->epoch.identities;
    r.rows = malloc((r.cap ? r.cap : 1) * sizeof *r.rows);
    leaves = malloc((r.cap ? r.cap : 1) * sizeof *leaves);
    if (!r.rows || !leaves) {
        rc = RP_ERR_NOMEM;
        goto out;
    }
    if ((rc = walk_scores(s, txn, p->epoch.epoch, keep_row, &r)) != 0)
        goto out;
    if (r.n != r.cap) {
        rc = RP_ERR_CORRUPT;
        goto out;
    }
    rp_be64_put(hk, p->epoch.commit_height);
    key = rp_mv(hk, 8);
    if ((rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_HEADERS], &key, &v))) != 0 ||
        (rc = rp_header_decode(&p->header, v.mv_data, v.mv_size) ? RP_ERR_CORRUPT : 0) != 0 ||
        (rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_COMMITS], &key, &v))) != 0)
        goto out;
    if (v.mv_size > sizeof p->commit) {
        rc = RP_ERR_CORRUPT;
        goto out;
    }
    memcpy(p->commit, v.mv_data, v.mv_size);
    p->commit_len = v.mv_size;

    /* Rows are in identity order: find the identity or where it would be. */
    size_t lo = 0, hi = r.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(r.rows[mid].identity.bytes, identity->bytes, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < r.n; i++)
        rp_score_leaf(&leaves[i], &r.rows[i]);
    if (lo < r.n && !memcmp(r.rows[lo].identity.bytes, identity->bytes, 32)) {
        p->present = 1;
        p->row = r.rows[lo];
        p->index = lo;
        rc = rp_merkle_proof(p->path, &p->depth, leaves, r.n, lo);
    } else {
        p->index = lo; /* where it would be */
        if (lo > 0) {
            p->has_left = 1;
            p->left = r.rows[lo - 1];
            rc = rp_merkle_proof(p->lpath, &p->ldepth, leaves, r.n, lo - 1);
        }
        if (rc == 0 && lo < r.n) {
            p->has_right = 1;
            p->right = r.rows[lo];
            rc = rp_merkle_proof(p->rpath, &p->rdepth, leaves, r.n, lo);
        }
    }
out:
    mdb_txn_abort(txn);
    free(r.rows);
    free(leaves);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------------ */

int rp_store_find_block(rp_store *s, const rp_hash *hash, uint64_t *height)
{
    unsigned char *buf;
    size_t len;
    int rc = rp_read_copy(s, RP_DB_HASH_HEIGHT, hash->bytes, 32, &buf, &len);
    if (rc)
        return rc;
    if (len != RP_HEIGHT_KEY_SIZE) {
        free(buf);
        return RP_ERR_CORRUPT;
    }
    *height = rp_be64_get(buf);
    free(buf);
    return 0;
}

int rp_store_list_reviews(rp_store *s, const rp_pubkey *who, int by_issuer, const rp_hash *after,
                          rp_review_info *out, size_t max, size_t *n, int *more)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    unsigned char start[RP_PAIR_KEY_SIZE];
    *n = 0;
    *more = 0;
    memcpy(start, who->bytes, 32);
    if (after)
        memcpy(start + 32, after->bytes, 32);
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    rc = rp_from_mdb(
        mdb_cursor_open(txn, s->dbi[by_issuer ? RP_DB_BY_ISSUER : RP_DB_BY_SUBJECT], &c));
    MDB_val k = rp_mv(start, after ? RP_PAIR_KEY_SIZE : 32), v;
    int m = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    /* Skip the review named by after itself. */
    if (m == 0 && after && k.mv_size == RP_PAIR_KEY_SIZE &&
        memcmp(k.mv_data, start, RP_PAIR_KEY_SIZE) == 0)
        m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    while (rc == 0 && m == 0) {
        if (k.mv_size != RP_PAIR_KEY_SIZE || memcmp(k.mv_data, who->bytes, 32) != 0)
            break;
        if (*n == max) {
            *more = 1;
            break;
        }
        MDB_val rk = rp_mv((const unsigned char *)k.mv_data + 32, 32), rv;
        rp_review_state st;
        if ((rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_REVIEWS], &rk, &rv))) != 0 ||
            (rc = rp_review_state_decode(&st, rv.mv_data, rv.mv_size)) != 0) {
            if (rc == RP_ERR_NOT_FOUND)
                rc = RP_ERR_CORRUPT; /* an index entry without its review */
            break;
        }
        rp_review_info *o = &out[(*n)++];
        memcpy(o->id.bytes, rk.mv_data, 32);
        o->issuer = st.issuer;
        o->subject = st.subject;
        o->engagement = st.engagement;
        o->overall = st.overall;
        memcpy(o->dims, st.dims, sizeof o->dims);
        o->time = st.time;
        o->height = st.height;
        m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = rp_from_mdb(m);
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_evidence_list(rp_store *s, const rp_pubkey *validator, const rp_evidence_row *after,
                           rp_evidence_row *out, size_t max, size_t *n, int *more)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    unsigned char start[RP_EVIDENCE_KEY_SIZE];
    size_t slen = 0;
    *n = 0;
    *more = 0;
    if (after) {
        rp_evidence_key(start, &after->validator, after->height, after->round, after->vote_type);
        slen = sizeof start;
    } else if (validator) {
        memcpy(start, validator->bytes, 32);
        slen = 32;
    }
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    rc = rp_from_mdb(mdb_cursor_open(txn, s->dbi[RP_DB_EVIDENCE], &c));
    MDB_val k = rp_mv(start, slen), v;
    int m = rc ? MDB_NOTFOUND
               : mdb_cursor_get(c, &k, &v, slen ? MDB_SET_RANGE : MDB_FIRST);
    /* Skip the row named by after itself. */
    if (m == 0 && after && k.mv_size == slen && memcmp(k.mv_data, start, slen) == 0)
        m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    while (rc == 0 && m == 0) {
        if (validator && (k.mv_size < 32 || memcmp(k.mv_data, validator->bytes, 32) != 0))
            break;
        if (*n == max) {
            *more = 1;
            break;
        }
        if ((rc = rp_evidence_row_decode(&out[*n], k.mv_data, k.mv_size, v.mv_data,
                                         v.mv_size)) != 0)
            break;
        (*n)++;
        m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = rp_from_mdb(m);
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}

/* The live attestations about identity (one platform, or all), in key order. */
static int live_attestations(rp_store *s, MDB_txn *txn, const rp_pubkey *identity,
                             unsigned platform, rp_audience_attestation *live, size_t cap,
                             size_t *nlive, int *more)
{
    MDB_cursor *c;
    unsigned char prefix[33];
    size_t plen = platform ? 33 : 32;
    memcpy(prefix, identity->bytes, 32);
    prefix[32] = (unsigned char)platform;
    MDB_val k = rp_mv(prefix, plen), v;
    int rc = rp_from_mdb(mdb_cursor_open(txn, s->dbi[RP_DB_ATTEST_LIVE], &c));
    if (rc)
        return rc;
    int m = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (m == 0 && rc == 0 && k.mv_size == RP_ATTEST_KEY_SIZE &&
           !memcmp(k.mv_data, prefix, plen)) {
        if (*nlive == cap) {
            if (more)
                *more = 1;
            break;
        }
        rp_audience_attestation *a = &live[*nlive];
        MDB_val ak, av;
        if (v.mv_size != 32) {
            rc = RP_ERR_CORRUPT;
            break;
        }
        memcpy(a->id.bytes, v.mv_data, 32);
        ak = rp_mv(a->id.bytes, 32);
        rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_ATTESTATIONS], &ak, &av));
        if (rc == RP_ERR_NOT_FOUND)
            rc = RP_ERR_CORRUPT;
        if (rc == 0 && (rc = rp_attest_state_decode(&a->st, av.mv_data, av.mv_size)) == 0) {
            (*nlive)++;
            m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
    }
    mdb_cursor_close(c);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = rp_from_mdb(m);
    return rc;
}

int rp_store_audience_get(rp_store *s, const rp_pubkey *identity, uint64_t epoch, unsigned platform,
                          rp_epoch_info *info, rp_audience_row rows[static RP_PLATFORM_MAX],
                          size_t *nrows, rp_audience_attestation *live, size_t cap, size_t *nlive,
                          int *more)
{
    MDB_txn *txn;
    *nrows = 0;
    *nlive = 0;
    if (more)
        *more = 0;
    if (platform > RP_PLATFORM_MAX)
        return RP_ERR_INVALID_ARG;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    if ((rc = read_epoch_txn(s, txn, epoch, info)) == 0) {
        for (unsigned p = 1; rc == 0 && p <= RP_PLATFORM_MAX; p++) {
            if (platform && p != platform)
                continue;
            unsigned char key[RP_AUDIENCE_KEY_SIZE];
            rp_audience_key(key, info->epoch, identity, (uint8_t)p);
            MDB_val k = rp_mv(key, sizeof key), v;
            rc = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_AUDIENCE], &k, &v));
            if (rc == 0 && (rc = rp_audience_row_decode(&rows[*nrows], key, sizeof key, v.mv_data,
                                                        v.mv_size)) == 0)
                (*nrows)++;
            else if (rc == RP_ERR_NOT_FOUND)
                rc = 0;
        }
    }
    if (rc == 0 && cap)
        rc = live_attestations(s, txn, identity, platform, live, cap, nlive, more);
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_walk_audience(rp_store *s, uint64_t epoch,
                           int (*fn)(void *ctx, const rp_audience_row *row), void *ctx)
{
    MDB_txn *txn;
    rp_epoch_info e;
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    if ((rc = read_epoch_txn(s, txn, epoch, &e)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_cursor *c;
    unsigned char prefix[8];
    rp_be64_put(prefix, e.epoch);
    MDB_val k = rp_mv(prefix, 8), v;
    if ((rc = rp_from_mdb(mdb_cursor_open(txn, s->dbi[RP_DB_AUDIENCE], &c))) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    int m = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (m == 0 && rc == 0 && k.mv_size == RP_AUDIENCE_KEY_SIZE &&
           !memcmp(k.mv_data, prefix, 8)) {
        rp_audience_row row;
        if ((rc = rp_audience_row_decode(&row, k.mv_data, k.mv_size, v.mv_data, v.mv_size)) == 0 &&
            (rc = fn(ctx, &row)) == 0)
            m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = rp_from_mdb(m);
    return rc;
}
