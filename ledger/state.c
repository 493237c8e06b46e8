/* The change log that records are executed into (contract in state.h).
 *
 * Reads look in three places, newest first: the changes of the record being
 * executed (a short linear scan from ov_from), the accepted changes through
 * the overlay index, then the base transaction. Writes only append to the
 * log. The overlay is open addressing from (table, key) to the newest
 * accepted change of that key; a slot keeps the key's hash beside the change
 * index, so a probe rarely touches the log. Slots are pointed at newer
 * changes, or turned into tombstones when the changes they point at reach
 * the chain (rp_apply_forget, for the mempool's pending state).
 *
 * The state hash sorts the log by (table, key, order of the write) and
 * hashes the last write of every key; rp_apply_write then puts (or deletes)
 * exactly those final values, in key order, which is also the order LMDB
 * writes fastest.
 */
#include "ledger/state.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"

#define OV_EMPTY 0u
#define OV_DEAD  UINT32_MAX

struct rp_ov_slot {
    uint32_t idx; /* change index + 1, OV_EMPTY or OV_DEAD */
    uint32_t h;
};

void rp_apply_init(rp_apply *a, rp_store *s, MDB_txn *txn)
{
    memset(a, 0, sizeof *a);
    a->store = s;
    a->txn = txn;
    a->g = s->genesis;
    a->chain_id = &s->chain_id;
}

void rp_apply_free(rp_apply *a)
{
    free(a->changes);
    free(a->vals);
    free(a->sigs);
    free(a->ov.slot);
    a->changes = NULL;
    a->vals = NULL;
    a->sigs = NULL;
    a->ov.slot = NULL;
}

static uint32_t ov_hash(int db, const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)db;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

static int change_is(const struct rp_change *c, int db, const void *key, size_t klen)
{
    return c->db == db && c->klen == klen && memcmp(c->key, key, klen) == 0;
}

/* The slot holding (db, key), or NULL. */
static struct rp_ov_slot *ov_lookup(rp_apply *a, int db, const void *key, size_t klen, uint32_t h)
{
    struct rp_overlay *ov = &a->ov;
    if (!ov->cap)
        return NULL;
    size_t mask = ov->cap - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        struct rp_ov_slot *sl = &ov->slot[i];
        if (sl->idx == OV_EMPTY)
            return NULL;
        if (sl->idx != OV_DEAD && sl->h == h && change_is(&a->changes[sl->idx - 1], db, key, klen))
            return sl;
    }
}

/* Room for n more keys without failing later: grow (dropping tombstones)
 * while the table would pass half full. */
static int ov_reserve(rp_apply *a, size_t n)
{
    struct rp_overlay *ov = &a->ov;
    if ((ov->used + n) * 2 <= ov->cap)
        return 0;
    size_t live = 0;
    for (size_t i = 0; i < ov->cap; i++)
        live += ov->slot[i].idx != OV_EMPTY && ov->slot[i].idx != OV_DEAD;
    size_t ncap = 1024;
    while ((live + n) * 2 > ncap)
        ncap *= 2;
    struct rp_ov_slot *old = ov->slot, *nslot = calloc(ncap, sizeof *nslot);
    size_t ocap = ov->cap;
    if (!nslot)
        return RP_ERR_NOMEM;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].idx == OV_EMPTY || old[i].idx == OV_DEAD)
            continue;
        size_t j = old[i].h & (ncap - 1);
        while (nslot[j].idx != OV_EMPTY)
            j = (j + 1) & (ncap - 1);
        nslot[j] = old[i];
    }
    free(old);
    ov->slot = nslot;
    ov->cap = ncap;
    ov->used = live;
    return 0;
}

/* Point (the key of) change at it. Cannot fail after ov_reserve. */
static void ov_insert(rp_apply *a, size_t change)
{
    struct rp_overlay *ov = &a->ov;
    const struct rp_change *c = &a->changes[change];
    uint32_t h = ov_hash(c->db, c->key, c->klen);
    struct rp_ov_slot *sl = ov_lookup(a, c->db, c->key, c->klen, h);
    if (!sl) {
        size_t i = h & (ov->cap - 1);
        while (ov->slot[i].idx != OV_EMPTY)
            i = (i + 1) & (ov->cap - 1);
        sl = &ov->slot[i];
        ov->used++;
    }
    sl->idx = (uint32_t)change + 1;
    sl->h = h;
}

static int change_value(rp_apply *a, const struct rp_change *c, MDB_val *val)
{
    if (c->vlen == UINT32_MAX)
        return RP_ERR_NOT_FOUND;
    *val = rp_mv(a->vals + c->voff, c->vlen);
    return 0;
}

int rp_st_get(rp_apply *a, int db, const void *key, size_t klen, MDB_val *val)
{
    MDB_val k = rp_mv(key, klen);
    if (a->sorted)
        return RP_ERR_INVALID_ARG;
    for (size_t i = a->nchanges; i-- > a->ov_from;)
        if (change_is(&a->changes[i], db, key, klen))
            return change_value(a, &a->changes[i], val);
    struct rp_ov_slot *sl = ov_lookup(a, db, key, klen, ov_hash(db, key, klen));
    if (sl)
        return change_value(a, &a->changes[sl->idx - 1], val);
    return rp_from_mdb(mdb_get(a->txn, a->store->dbi[db], &k, val));
}

static int log_change(rp_apply *a, int db, const void *key, size_t klen, const void *val,
                      size_t vlen, int del)
{
    if (klen > RP_MAX_KEY_SIZE || vlen >= UINT32_MAX || a->sorted)
        return RP_ERR_INVALID_ARG;
    if (a->nchanges == a->capchanges) {
        size_t cap = a->capchanges ? a->capchanges * 2 : 256;
        void *p = realloc(a->changes, cap * sizeof *a->changes);
        if (!p)
            return RP_ERR_NOMEM;
        a->changes = p;
        a->capchanges = cap;
    }
    if (!del && vlen > a->capvals - a->nvals) {
        size_t cap = a->capvals ? a->capvals * 2 : 16384;
        while (cap - a->nvals < vlen)
            cap *= 2;
        void *p = realloc(a->vals, cap);
        if (!p)
            return RP_ERR_NOMEM;
        a->vals = p;
        a->capvals = cap;
    }
    struct rp_change *c = &a->changes[a->nchanges];
    c->db = (uint8_t)db;
    c->klen = (uint8_t)klen;
    memcpy(c->key, key, klen);
    c->seq = a->nchanges++;
    if (del) {
        c->vlen = UINT32_MAX;
        c->voff = 0;
    } else {
        c->vlen = (uint32_t)vlen;
        c->voff = a->nvals;
        if (vlen)
            memcpy(a->vals + a->nvals, val, vlen);
        a->nvals += vlen;
    }
    return 0;
}

int rp_st_put(rp_apply *a, int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    return log_change(a, db, key, klen, val, vlen, 0);
}

int rp_st_del(rp_apply *a, int db, const void *key, size_t klen)
{
    MDB_val v;
    int rc = rp_st_get(a, db, key, klen, &v);
    return rc ? rc : log_change(a, db, key, klen, NULL, 0, 1);
}

int rp_st_walk_prefix(rp_apply *a, int db, const void *prefix, size_t plen,
                      int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val), void *ctx)
{
    MDB_cursor *c;
    MDB_val k = rp_mv(prefix, plen), v;
    if (a->nchanges != 0 || a->sorted)
        return RP_ERR_INVALID_ARG; /* the walk would miss the logged changes */
    int rc = rp_from_mdb(mdb_cursor_open(a->txn, a->store->dbi[db], &c));
    if (rc)
        return rc;
    int m = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (m == 0 && rc == 0) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        rc = fn(ctx, &k, &v);
        if (rc == 0)
            m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = rp_from_mdb(m);
    return rc;
}

int rp_st_walk(rp_apply *a, int db, int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val),
               void *ctx)
{
    return rp_st_walk_prefix(a, db, NULL, 0, fn, ctx);
}

int rp_st_queue_sig(rp_apply *a, const rp_hash *msg, const rp_pubkey *key, const rp_sig *sig)
{
    if (a->nsigs == a->capsigs) {
        size_t cap = a->capsigs ? a->capsigs * 2 : 256;
        void *p = realloc(a->sigs, cap * sizeof *a->sigs);
        if (!p)
            return RP_ERR_NOMEM;
        a->sigs = p;
        a->capsigs = cap;
    }
    struct rp_queued_sig *qs = &a->sigs[a->nsigs++];
    qs->msg = *msg;
    qs->key = *key;
    qs->sig = *sig;
    qs->record = a->record;
    return 0;
}

rp_apply_mark rp_apply_mark_get(const rp_apply *a)
{
    rp_apply_mark m = {a->nchanges, a->nvals, a->nsigs};
    return m;
}

void rp_apply_rollback(rp_apply *a, rp_apply_mark mark)
{
    a->nchanges = mark.nchanges;
    a->nvals = mark.nvals;
    a->nsigs = mark.nsigs;
    if (a->ov_from > a->nchanges)
        a->ov_from = a->nchanges; /* cannot happen: accepted changes stay */
}

int rp_apply_accept(rp_apply *a)
{
    int rc = ov_reserve(a, a->nchanges - a->ov_from);
    if (rc)
        return rc;
    for (size_t i = a->ov_from; i < a->nchanges; i++)
        ov_insert(a, i);
    a->ov_from = a->nchanges;
    return 0;
}

void rp_apply_forget(rp_apply *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct rp_change *c = &a->changes[i];
        struct rp_ov_slot *sl =
            ov_lookup(a, c->db, c->key, c->klen, ov_hash(c->db, c->key, c->klen));
        if (sl && sl->idx == i + 1)
            sl->idx = OV_DEAD;
    }
}

static int cmp_change(const void *x, const void *y)
{
    const struct rp_change *a = x, *b = y;
    if (a->db != b->db)
        return a->db < b->db ? -1 : 1;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Is change i superseded by a later write to the same key (sorted log)? */
static int superseded(const rp_apply *a, size_t i)
{
    const struct rp_change *c = &a->changes[i];
    return i + 1 < a->nchanges && c->db == c[1].db && c->klen == c[1].klen &&
           !memcmp(c->key, c[1].key, c->klen);
}

/* Each entry: table u8 | klen u8 | key | 1 | vlen u32 | value, or
 * table u8 | klen u8 | key | 0 for a deletion (docs/rules.md). */
void rp_apply_state_hash(rp_apply *a, const rp_hash *prev, rp_hash *out)
{
    rp_th_ctx ctx;
    rp_hash digest;
    if (a->nchanges > 1)
        qsort(a->changes, a->nchanges, sizeof *a->changes, cmp_change);
    a->sorted = 1;
    rp_th_init(&ctx, RP_TAG_CHANGES);
    for (size_t i = 0; i < a->nchanges; i++) {
        const struct rp_change *c = &a->changes[i];
        if (superseded(a, i))
            continue; /* a later write to the same key wins */
        unsigned char hdr[2] = {c->db, c->klen};
        rp_th_update(&ctx, hdr, 2);
        rp_th_update(&ctx, c->key, c->klen);
        if (c->vlen == UINT32_MAX) {
            unsigned char z = 0;
            rp_th_update(&ctx, &z, 1);
        } else {
            unsigned char v[5] = {1, (unsigned char)(c->vlen >> 24), (unsigned char)(c->vlen >> 16),
                                  (unsigned char)(c->vlen >> 8), (unsigned char)c->vlen};
            rp_th_update(&ctx, v, 5);
            rp_th_update(&ctx, a->vals + c->voff, c->vlen);
        }
    }
    rp_th_final(&ctx, &digest);
    rp_th_init(&ctx, RP_TAG_STATE);
    rp_th_update(&ctx, prev->bytes, 32);
    rp_th_update(&ctx, digest.bytes, 32);
    rp_th_final(&ctx, out);
}

int rp_apply_write(const rp_apply *a, MDB_txn *txn)
{
    if (!a->sorted)
        return RP_ERR_INVALID_ARG;
    for (size_t i = 0; i < a->nchanges; i++) {
        const struct rp_change *c = &a->changes[i];
        if (superseded(a, i))
            continue;
        MDB_val k = rp_mv(c->key, c->klen);
        int m;
        if (c->vlen == UINT32_MAX) {
            /* A key written and deleted within the block was never stored. */
            m = mdb_del(txn, a->store->dbi[c->db], &k, NULL);
            if (m == MDB_NOTFOUND)
                m = 0;
        } else {
            MDB_val v = rp_mv(a->vals + c->voff, c->vlen);
            m = mdb_put(txn, a->store->dbi[c->db], &k, &v, 0);
        }
        if (m)
            return rp_from_mdb(m);
    }
    return 0;
}
