/* Score epochs: turning the ledger's state into a committed score table.
 *
 * At every positive multiple b of epoch_blocks the trust graph is
 * snapshotted as it stood at height b, and block b + score_delay_blocks
 * carries the Merkle root of the resulting score table (DESIGN.md, "Trust
 * scores"). The snapshot is derived from the current state, which still
 * holds everything needed to see height b: a review or vouch counts if it was
 * applied at or before b and not revoked at or before b (the revocations
 * table keeps the revoking height), and an identity counts if it was
 * registered at or before b. So the table can be recomputed after a restart,
 * by an auditor's replay, or by a node that joined late, all from state.
 *
 * The computation (snapshot + engine) can run ahead, between b and
 * b + delay, from a read transaction on a worker thread
 * (rp_store_epoch_compute), and its result be offered to the store
 * (rp_store_epoch_offer), so that block b + delay only writes the table.
 * Without an offer the block computes it inline: the reference path that
 * replays and audits take. Results are reference-counted, so that a new
 * offer never frees one that a check on another thread is still writing.
 *
 * The same snapshot also gives the epoch's audience table: for each
 * (talent, platform), the trust-weighted medians of the AUDIENCE
 * attestations live and unexpired at b, each weighted by its attester's
 * trust in this epoch (trust/audience.h). Its rows are written beside the
 * score table, in the same block, and so are covered by that block's state
 * hash; their Merkle root is kept in audience_roots (docs/trust.md,
 * "Audience figures").
 *
 * Table rows and leaves: ledger/schema.h.
 */
#include "ledger/epoch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/codec.h"
#include "ledger/merkle.h"
#include "ledger/proof.h"
#include "ledger/schema.h"
#include "ledger/state.h"
#include "trust/audience.h"
#include "trust/trust.h"

struct snapshot {
    rp_apply *a;
    uint64_t b;           /* snapshot height */
    uint64_t time_s;      /* block b's time */
    unsigned char *names; /* n x 32, sorted */
    size_t n, cap;
    rp_trust_edge *edges;
    size_t nedges, capedges;
};

static int cmp_name(const void *x, const void *y)
{
    return memcmp(x, y, 32);
}

/* Index of an identity in the snapshot, or -1. */
static long find(const struct snapshot *s, const unsigned char *name)
{
    const unsigned char *p = bsearch(name, s->names, s->n, 32, cmp_name);
    return p ? (long)((size_t)(p - s->names) / 32) : -1;
}

static int add_identity(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct snapshot *s = ctx;
    rp_identity_state st;
    if (k->mv_size != 32 || rp_identity_state_decode(&st, v->mv_data, v->mv_size) != 0)
        return RP_ERR_CORRUPT;
    if (st.registered_height > s->b)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        void *p = realloc(s->names, cap * 32);
        if (!p)
            return RP_ERR_NOMEM;
        s->names = p;
        s->cap = cap;
    }
    /* LMDB walks keys in byte order: the array stays sorted. */
    memcpy(s->names + 32 * s->n++, k->mv_data, 32);
    return 0;
}

static int add_edge(struct snapshot *s, const unsigned char *rater, const unsigned char *subject,
                    uint8_t kind, uint8_t rating, uint64_t time)
{
    long r = find(s, rater), t = find(s, subject);
    if (r < 0 || t < 0)
        return RP_ERR_CORRUPT; /* both were registered before the record */
    if (s->nedges == s->capedges) {
        size_t cap = s->capedges ? s->capedges * 2 : 4096;
        void *p = realloc(s->edges, cap * sizeof *s->edges);
        if (!p)
            return RP_ERR_NOMEM;
        s->edges = p;
        s->capedges = cap;
    }
    rp_trust_edge *e = &s->edges[s->nedges++];
    memset(e, 0, sizeof *e);
    e->rater = (uint32_t)r;
    e->subject = (uint32_t)t;
    e->kind = kind;
    e->rating = rating;
    e->age_s = time < s->time_s ? s->time_s - time : 0;
    return 0;
}

/* Was the record with this id revoked at or before the snapshot height? */
static int revoked_by(struct snapshot *s, const unsigned char *id, int *revoked)
{
    MDB_val v;
    int rc = rp_st_get(s->a, RP_DB_REVOCATIONS, id, 32, &v);
    *revoked = 0;
    if (rc == RP_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    rp_revocation rv;
    if (rp_revocation_decode(&rv, v.mv_data, v.mv_size) != 0)
        return RP_ERR_CORRUPT;
    *revoked = rv.height <= s->b;
    return 0;
}

static int add_review(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct snapshot *s = ctx;
    rp_review_state rv;
    int revoked, rc;
    if (k->mv_size != 32 || rp_review_state_decode(&rv, v->mv_data, v->mv_size) != 0)
        return RP_ERR_CORRUPT;
    if (rv.height > s->b)
        return 0;
    if (!rv.live && ((rc = revoked_by(s, k->mv_data, &revoked)) != 0 || revoked))
        return rc;
    return add_edge(s, rv.issuer.bytes, rv.subject.bytes, RP_TRUST_REVIEW, rv.overall, rv.time);
}

static int add_vouch(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct snapshot *s = ctx;
    rp_vouch_id_state vs;
    rp_location loc;
    MDB_val lv;
    int revoked, rc;
    if (k->mv_size != 32 || rp_vouch_id_state_decode(&vs, v->mv_data, v->mv_size) != 0)
        return RP_ERR_CORRUPT;
    if ((rc = rp_st_get(s->a, RP_DB_RECORDS, k->mv_data, 32, &lv)) != 0)
        return rc == RP_ERR_NOT_FOUND ? RP_ERR_CORRUPT : rc;
    if (rp_location_decode(&loc, lv.mv_data, lv.mv_size) != 0)
        return RP_ERR_CORRUPT;
    if (loc.height > s->b)
        return 0;
    if (!vs.live && ((rc = revoked_by(s, k->mv_data, &revoked)) != 0 || revoked))
        return rc;
    return add_edge(s, vs.issuer.bytes, vs.subject.bytes, RP_TRUST_VOUCH, 0, s->time_s);
}

struct keylist {
    unsigned char *keys; /* n x ksize */
    size_t n, cap, ksize;
};

static int collect_key(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct keylist *l = ctx;
    (void)v;
    if (k->mv_size != l->ksize)
        return RP_ERR_CORRUPT;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        void *p = realloc(l->keys, cap * l->ksize);
        if (!p)
            return RP_ERR_NOMEM;
        l->keys = p;
        l->cap = cap;
    }
    memcpy(l->keys + l->ksize * l->n++, k->mv_data, l->ksize);
    return 0;
}

/* ---- audience figures ---------------------------------------------------------- */

/* One attestation counted at the snapshot, with its group's key. */
struct aclaim {
    unsigned char group[33]; /* subject | platform: the audience key's order */
    rp_audience_claim c;
};

struct aud_walk {
    struct snapshot *s;
    const rp_trust_score *scores;
    struct aclaim *v;
    size_t n, cap;
};

/* An attestation counts if it was applied by b, was still live at b (not
 * revoked or replaced at or before b) and had not expired by block b's
 * time. */
static int add_attest(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct aud_walk *w = ctx;
    rp_attest_state at;
    if (k->mv_size != 32 || rp_attest_state_decode(&at, v->mv_data, v->mv_size) != 0)
        return RP_ERR_CORRUPT;
    if (at.height > w->s->b || (at.ended != 0 && at.ended <= w->s->b) || at.expiry <= w->s->time_s)
        return 0;
    long idx = find(w->s, at.attester.bytes);
    if (idx < 0)
        return RP_ERR_CORRUPT; /* registered before its record */
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        void *p = realloc(w->v, cap * sizeof *w->v);
        if (!p)
            return RP_ERR_NOMEM;
        w->v = p;
        w->cap = cap;
    }
    struct aclaim *c = &w->v[w->n++];
    memcpy(c->group, at.subject.bytes, 32);
    c->group[32] = at.platform;
    c->c.trust = w->scores[idx].trust;
    c->c.followers = at.followers;
    c->c.authentic_ppm = at.authentic_ppm;
    c->c.engagement_ppm = at.engagement_ppm;
    return 0;
}

static int cmp_group(const void *x, const void *y)
{
    return memcmp(((const struct aclaim *)x)->group, ((const struct aclaim *)y)->group, 33);
}

/* The audience table of the snapshot, in key order, and its root. */
static int audience_table(struct snapshot *s, const rp_trust_score *scores, rp_audience_row **rows,
                          size_t *nrows, rp_hash *root)
{
    struct aud_walk w = {.s = s, .scores = scores};
    rp_hash *leaves = NULL;
    *rows = NULL;
    *nrows = 0;
    int rc = rp_st_walk(s->a, RP_DB_ATTESTATIONS, add_attest, &w);
    if (rc == 0 && w.n) {
        /* Group by (subject, platform); within a group the order is free. */
        qsort(w.v, w.n, sizeof *w.v, cmp_group);
        *rows = malloc(w.n * sizeof **rows);
        leaves = malloc(w.n * sizeof *leaves);
        rp_audience_claim *cl = malloc(w.n * sizeof *cl);
        if (!*rows || !leaves || !cl)
            rc = RP_ERR_NOMEM;
        for (size_t i = 0, j; rc == 0 && i < w.n; i = j) {
            for (j = i; j < w.n && !memcmp(w.v[j].group, w.v[i].group, 33); j++)
                cl[j - i] = w.v[j].c;
            rp_audience_figure f;
            if ((rc = rp_audience_compute(&f, cl, j - i)) != 0)
                break;
            rp_audience_row *r = &(*rows)[(*nrows)++];
            memset(r, 0, sizeof *r);
            memcpy(r->subject.bytes, w.v[i].group, 32);
            r->platform = w.v[i].group[32];
            r->attesters = f.attesters;
            r->total_trust = f.total_trust;
            r->has_figure = (uint8_t)f.has_figure;
            r->followers = f.followers;
            r->authentic_ppm = f.authentic_ppm;
            r->engagement_ppm = f.engagement_ppm;
            unsigned char leaf[RP_AUDIENCE_LEAF_SIZE];
            rp_audience_leaf_bytes(leaf, r);
            rp_merkle_leaf(&leaves[*nrows - 1], leaf, sizeof leaf);
        }
        free(cl);
    }
    if (rc == 0)
        rc = rp_merkle_root(root, leaves, *nrows);
    if (rc) {
        free(*rows);
        *rows = NULL;
        *nrows = 0;
    }
    free(leaves);
    free(w.v);
    return rc;
}

/* Delete the entry of key prefix[0..8) in db if there is one. */
static int drop_entry(rp_apply *a, int db, const unsigned char prefix[static 8])
{
    MDB_val v;
    int rc = rp_st_get(a, db, prefix, 8, &v);
    if (rc == 0)
        return rp_st_del(a, db, prefix, 8);
    return rc == RP_ERR_NOT_FOUND ? 0 : rc;
}

/* Delete every score and audience row of one epoch, its epochs entry and
 * its audience root. */
static int drop_epoch(rp_apply *a, uint64_t epoch)
{
    unsigned char prefix[8];
    struct keylist sl = {.ksize = RP_SCORE_KEY_SIZE}, al = {.ksize = RP_AUDIENCE_KEY_SIZE};
    rp_be64_put(prefix, epoch);
    /* Both walks first: a walk needs the log empty. */
    int rc = rp_st_walk_prefix(a, RP_DB_SCORES, prefix, 8, collect_key, &sl);
    if (rc == 0)
        rc = rp_st_walk_prefix(a, RP_DB_AUDIENCE, prefix, 8, collect_key, &al);
    for (size_t i = 0; rc == 0 && i < sl.n; i++)
        rc = rp_st_del(a, RP_DB_SCORES, sl.keys + sl.ksize * i, sl.ksize);
    for (size_t i = 0; rc == 0 && i < al.n; i++)
        rc = rp_st_del(a, RP_DB_AUDIENCE, al.keys + al.ksize * i, al.ksize);
    free(sl.keys);
    free(al.keys);
    if (rc == 0)
        rc = drop_entry(a, RP_DB_EPOCHS, prefix);
    if (rc == 0)
        rc = drop_entry(a, RP_DB_AUDIENCE_ROOTS, prefix);
    return rc;
}

struct rp_epoch_result {
    atomic_uint refs;
    uint64_t epoch, b;
    size_t n, edges;
    rp_score_row *rows; /* n, identity order */
    rp_hash root;
    rp_audience_row *aud; /* naud, key order */
    size_t naud;
    rp_hash aud_root;
    double snapshot_s, compute_s;
};

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rp_epoch_result_free(rp_epoch_result *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    free(r->rows);
    free(r->aud);
    free(r);
}

/* ---- offers (the slot lives in the store) ------------------------------------ */

void rp_store_epoch_offer(rp_store *s, rp_epoch_result *r)
{
    pthread_mutex_lock(&s->offer_mu);
    rp_epoch_result *old = s->offer;
    s->offer = r;
    pthread_mutex_unlock(&s->offer_mu);
    rp_epoch_result_free(old);
}

rp_epoch_result *rp_store_offered(rp_store *s, uint64_t epoch)
{
    rp_epoch_result *r = NULL;
    pthread_mutex_lock(&s->offer_mu);
    if (s->offer && s->offer->epoch == epoch) {
        r = s->offer;
        atomic_fetch_add(&r->refs, 1);
    }
    pthread_mutex_unlock(&s->offer_mu);
    return r;
}

void rp_epoch_result_info(const rp_epoch_result *r, rp_epoch_info *info, double *snapshot_s,
                          double *compute_s, size_t *edges)
{
    memset(info, 0, sizeof *info);
    info->epoch = r->epoch;
    info->snapshot_height = r->b;
    info->root = r->root;
    info->identities = (uint32_t)r->n;
    if (snapshot_s)
        *snapshot_s = r->snapshot_s;
    if (compute_s)
        *compute_s = r->compute_s;
    if (edges)
        *edges = r->edges;
}

int rp_epoch_compute(rp_apply *a, uint64_t epoch, rp_epoch_result **out, char *msg, size_t msglen)
{
    const rp_params *p = &a->g->params;
    struct snapshot s;
    rp_epoch_result *res = NULL;
    rp_trust_score *scores = NULL;
    rp_hash *leaves = NULL;
    uint32_t *pre = NULL;
    size_t npre = 0;
    double t0 = seconds(), t1;
    *out = NULL;
    msg[0] = '\0';
    memset(&s, 0, sizeof s);
    s.a = a;
    s.b = epoch * p->epoch_blocks;

    /* Block b's time is the snapshot time that review ages count from. */
    unsigned char key[8];
    MDB_val hv;
    rp_header hb;
    rp_be64_put(key, s.b);
    int rc = rp_st_get(a, RP_DB_HEADERS, key, 8, &hv);
    if (rc || rp_header_decode(&hb, hv.mv_data, hv.mv_size) != 0) {
        snprintf(msg, msglen, "the header of snapshot height %llu is missing or corrupt",
                 (unsigned long long)s.b);
        return rc ? rc : RP_ERR_CORRUPT;
    }
    s.time_s = hb.time_ms / 1000;

    if ((rc = rp_st_walk(a, RP_DB_IDENTITIES, add_identity, &s)) != 0 ||
        (rc = rp_st_walk(a, RP_DB_REVIEWS, add_review, &s)) != 0 ||
        (rc = rp_st_walk(a, RP_DB_VOUCH_IDS, add_vouch, &s)) != 0) {
        snprintf(msg, msglen, "cannot snapshot the trust graph at height %llu: %s",
                 (unsigned long long)s.b, rp_strerror(rc));
        goto out;
    }
    t1 = seconds();
    /* Pre-trusted identities that are registered by b, in index order. */
    pre = malloc((a->g->npretrusted ? a->g->npretrusted : 1) * sizeof *pre);
    scores = malloc((s.n ? s.n : 1) * sizeof *scores);
    leaves = malloc((s.n ? s.n : 1) * sizeof *leaves);
    res = calloc(1, sizeof *res);
    if (res) {
        atomic_init(&res->refs, 1);
        res->rows = malloc((s.n ? s.n : 1) * sizeof *res->rows);
    }
    if (!pre || !scores || !leaves || !res || !res->rows) {
        rc = RP_ERR_NOMEM;
        snprintf(msg, msglen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < a->g->npretrusted; i++) {
        long idx = find(&s, a->g->pretrusted[i].bytes);
        if (idx >= 0)
            pre[npre++] = (uint32_t)idx;
    }
    rp_trust_params tp;
    rp_trust_params_default(&tp);
    tp.damping_ppm = p->trust_damping_ppm;
    tp.max_iterations = p->trust_max_iterations;
    tp.tolerance_ppb = p->trust_tolerance_ppb;
    tp.half_life_days = p->review_half_life_days;
    if ((rc = rp_trust_compute(scores, s.n, s.edges, s.nedges, pre, npre, &tp, NULL)) != 0) {
        snprintf(msg, msglen, "the trust engine refused the snapshot: %s", rp_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        rp_score_row *row = &res->rows[i];
        memcpy(row->identity.bytes, s.names + 32 * i, 32);
        row->trust = scores[i].trust;
        row->rating = scores[i].rating;
        row->reviews = scores[i].reviews;
        row->score = scores[i].score;
        row->confidence = scores[i].confidence;
        rp_score_leaf(&leaves[i], row);
    }
    if ((rc = rp_merkle_root(&res->root, leaves, s.n)) != 0) {
        snprintf(msg, msglen, "out of memory");
        goto out;
    }
    if ((rc = audience_table(&s, scores, &res->aud, &res->naud, &res->aud_root)) != 0) {
        snprintf(msg, msglen, "cannot compute the audience table at height %llu: %s",
                 (unsigned long long)s.b, rp_strerror(rc));
        goto out;
    }
    res->epoch = epoch;
    res->b = s.b;
    res->n = s.n;
    res->edges = s.nedges;
    res->snapshot_s = t1 - t0;
    res->compute_s = seconds() - t1;
    *out = res;
    res = NULL;
out:
    rp_epoch_result_free(res);
    free(s.names);
    free(s.edges);
    free(pre);
    free(scores);
    free(leaves);
    return rc;
}

int rp_epoch_advance(rp_apply *a, rp_tip *tip, char *msg, size_t msglen)
{
    const rp_params *p = &a->g->params;
    uint64_t h = a->height, delay = p->score_delay_blocks, every = p->epoch_blocks;
    msg[0] = '\0';
    if (h <= delay || (h - delay) % every != 0)
        return 0;
    uint64_t epoch = (h - delay) / every;

    /* A result computed ahead on the worker pool, or compute it here, while
     * the log is still empty (the snapshot walks the base transaction). */
    rp_epoch_result *r = rp_store_offered(a->store, epoch);
    int rc = 0;
    if (!r && (rc = rp_epoch_compute(a, epoch, &r, msg, msglen)) != 0)
        return rc;
    /* The epoch that falls out of the history goes first: its rows are
     * found by a walk, which also needs the log empty. */
    if (epoch > RP_SCORE_HISTORY && (rc = drop_epoch(a, epoch - RP_SCORE_HISTORY)) != 0) {
        snprintf(msg, msglen, "cannot drop epoch %llu: %s",
                 (unsigned long long)(epoch - RP_SCORE_HISTORY), rp_strerror(rc));
        goto out;
    }
    unsigned char key[RP_SCORE_KEY_SIZE], val[RP_SCORE_VALUE_SIZE];
    for (size_t i = 0; i < r->n; i++) {
        rp_score_key(key, epoch, &r->rows[i].identity);
        rp_score_value_encode(val, &r->rows[i]);
        if ((rc = rp_st_put(a, RP_DB_SCORES, key, sizeof key, val, sizeof val)) != 0) {
            snprintf(msg, msglen, "cannot store the score table: %s", rp_strerror(rc));
            goto out;
        }
    }
    unsigned char akey[RP_AUDIENCE_KEY_SIZE], aval[RP_AUDIENCE_VALUE_SIZE];
    for (size_t i = 0; i < r->naud; i++) {
        rp_audience_key(akey, epoch, &r->aud[i].subject, r->aud[i].platform);
        rp_audience_value_encode(aval, &r->aud[i]);
        if ((rc = rp_st_put(a, RP_DB_AUDIENCE, akey, sizeof akey, aval, sizeof aval)) != 0) {
            snprintf(msg, msglen, "cannot store the audience table: %s", rp_strerror(rc));
            goto out;
        }
    }
    if (r->naud) {
        /* Only epochs with figures have a root entry, so a chain without
         * attestations writes exactly what it wrote before schema 4. */
        unsigned char rk[8], rv[RP_AUDIENCE_ROOT_SIZE];
        rp_be64_put(rk, epoch);
        rp_audience_root_encode(rv, &r->aud_root, (uint32_t)r->naud);
        if ((rc = rp_st_put(a, RP_DB_AUDIENCE_ROOTS, rk, 8, rv, sizeof rv)) != 0) {
            snprintf(msg, msglen, "cannot store the audience root: %s", rp_strerror(rc));
            goto out;
        }
    }
    rp_epoch_info info = {
        .epoch = epoch,
        .snapshot_height = r->b,
        .commit_height = h,
        .root = r->root,
        .identities = (uint32_t)r->n,
    };
    unsigned char ek[8], ev[RP_EPOCH_VALUE_SIZE];
    rp_be64_put(ek, epoch);
    rp_epoch_value_encode(ev, &info);
    if ((rc = rp_st_put(a, RP_DB_EPOCHS, ek, sizeof ek, ev, sizeof ev)) != 0) {
        snprintf(msg, msglen, "cannot store the epoch: %s", rp_strerror(rc));
        goto out;
    }
    tip->epoch = epoch;
    tip->score_root = r->root;
out:
    rp_epoch_result_free(r);
    return rc;
}

/* ---- computing ahead ------------------------------------------------------------ */

int rp_store_epoch_compute(rp_store *s, uint64_t epoch, rp_epoch_result **out, rp_store_error *err)
{
    rp_apply a;
    rp_tip tip;
    MDB_txn *txn;
    char msg[200];
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    int rc = rp_read_begin(s, &txn);
    if (rc) {
        rp_store_error_set(err, rc, 0, -1, "cannot begin a read transaction: %s", rp_strerror(rc));
        return rc;
    }
    rp_apply_init(&a, s, txn);
    uint64_t b = epoch * s->genesis->params.epoch_blocks;
    if ((rc = rp_read_tip(s, txn, &tip)) == 0 && (epoch == 0 || tip.height < b)) {
        rc = RP_ERR_NOT_FOUND;
        rp_store_error_set(err, rc, b, -1, "epoch %llu snapshots height %llu; the tip is at %llu",
                           (unsigned long long)epoch, (unsigned long long)b,
                           (unsigned long long)tip.height);
    } else if (rc == 0 && (rc = rp_epoch_compute(&a, epoch, out, msg, sizeof msg)) != 0) {
        rp_store_error_set(err, rc, b, -1, "score epoch %llu: %s", (unsigned long long)epoch, msg);
    } else if (rc) {
        rp_store_error_set(err, rc, 0, -1, "cannot read the tip: %s", rp_strerror(rc));
    }
    rp_apply_free(&a);
    mdb_txn_abort(txn);
    return rc;
}
