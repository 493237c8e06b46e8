/* The mempool's pending state (contract in pending.h): an rp_apply over a
 * long-lived read transaction on the tip, whose change log holds the
 * accepted records' changes. Each record added is run through the block
 * rules exactly as a block would run it (state.h) and kept or rolled back;
 * starts[] remembers where each record's changes begin, so that after a
 * block the included records' changes can be forgotten without checking
 * the others again (rp_pending_advance).
 */
#include "ledger/pending.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/state.h"

struct rp_pending {
    rp_apply a;
    uint64_t tip_height;
    size_t *starts; /* first change of each record added, oldest first */
    size_t first;   /* starts[first..nrec): records not yet on chain */
    size_t nrec, caprec;
    size_t dead; /* changes [0, dead) belong to records now on chain */
};

int rp_pending_new(rp_store *s, rp_pending **out)
{
    MDB_txn *txn;
    rp_tip tip;
    *out = NULL;
    rp_pending *p = calloc(1, sizeof *p);
    if (!p)
        return RP_ERR_NOMEM;
    int rc = rp_read_begin(s, &txn);
    if (rc) {
        free(p);
        return rc;
    }
    rp_apply_init(&p->a, s, txn);
    if ((rc = rp_read_tip(s, txn, &tip)) != 0) {
        rp_pending_free(p);
        return rc;
    }
    p->tip_height = tip.height;
    p->a.height = tip.height + 1;
    *out = p;
    return 0;
}

void rp_pending_free(rp_pending *p)
{
    if (!p)
        return;
    if (p->a.txn)
        mdb_txn_abort(p->a.txn);
    rp_apply_free(&p->a);
    free(p->starts);
    free(p);
}

uint64_t rp_pending_height(const rp_pending *p)
{
    return p->tip_height;
}

int rp_pending_add(rp_pending *p, const unsigned char *rec, size_t len, uint64_t time_s,
                   rp_hash *id, rp_sig_item sigs[static RP_RECORD_MAX_SIGS], size_t *nsigs,
                   char *msg, size_t msglen)
{
    rp_apply *a = &p->a;
    rp_record r;
    const char *field = NULL;
    *nsigs = 0;
    if (msglen)
        msg[0] = 0;
    memset(id, 0, sizeof *id);
    int rc = rp_record_decode(&r, rec, len, &field);
    if (rc) {
        snprintf(msg, msglen, "record does not decode: %s (field %s)", rp_strerror(rc),
                 field ? field : "?");
        return rc;
    }
    rp_record_id_from_body(id, a->chain_id, rec, rp_record_body_len(r.type, len));
    rp_apply_mark mark = rp_apply_mark_get(a);
    a->nsigs = 0;
    a->time_s = time_s;
    rc = rp_rules_apply(a, &r, id, msg, msglen);
    if (rc == 0 && a->nsigs > RP_RECORD_MAX_SIGS)
        rc = RP_ERR_INVALID_ARG; /* the rules never ask for more */
    if (rc == 0 && p->nrec == p->caprec) {
        size_t cap = p->caprec ? p->caprec * 2 : 256;
        size_t *ns = realloc(p->starts, cap * sizeof *ns);
        if (!ns)
            rc = RP_ERR_NOMEM;
        else {
            p->starts = ns;
            p->caprec = cap;
        }
    }
    if (rc == 0)
        rc = rp_apply_accept(a);
    if (rc) {
        /* Nothing of the record stays; the index holds only earlier changes. */
        rp_apply_rollback(a, mark);
        a->nsigs = 0;
        return rc;
    }
    p->starts[p->nrec++] = mark.nchanges;
    for (size_t i = 0; i < a->nsigs; i++) {
        sigs[i].msg = a->sigs[i].msg;
        sigs[i].key = a->sigs[i].key;
        sigs[i].sig = a->sigs[i].sig;
    }
    *nsigs = a->nsigs;
    a->nsigs = 0;
    return 0;
}

int rp_pending_advance(rp_pending *p, size_t k)
{
    rp_apply *a = &p->a;
    if (k > p->nrec - p->first)
        return RP_ERR_INVALID_ARG;
    size_t end = p->first + k < p->nrec ? p->starts[p->first + k] : a->nchanges;
    /* Keys whose newest change belongs to those records read from the
     * chain again; later records' changes stay on top. */
    rp_apply_forget(a, p->dead, end);
    p->dead = end;
    p->first += k;
    mdb_txn_reset(a->txn);
    int rc = rp_from_mdb(mdb_txn_renew(a->txn));
    rp_tip tip;
    if (rc == 0 && (rc = rp_read_tip(a->store, a->txn, &tip)) == 0) {
        p->tip_height = tip.height;
        a->height = tip.height + 1;
    }
    return rc;
}

size_t rp_pending_dead(const rp_pending *p)
{
    return p->dead;
}

int rp_pending_find_record(rp_pending *p, const rp_hash *id, uint64_t *height, uint32_t *index)
{
    /* The chain only: the layer's locations of pending records are guesses
     * (the next height, index 0). */
    MDB_val k = rp_mv(id->bytes, 32), v;
    rp_location loc;
    int rc = rp_from_mdb(mdb_get(p->a.txn, p->a.store->dbi[RP_DB_RECORDS], &k, &v));
    if (rc)
        return rc;
    if (rp_location_decode(&loc, v.mv_data, v.mv_size) != 0)
        return RP_ERR_CORRUPT;
    *height = loc.height;
    *index = loc.index;
    return 0;
}

int rp_pending_chain_identity(rp_pending *p, const rp_pubkey *name, rp_identity_state *out)
{
    MDB_val k = rp_mv(name->bytes, 32), v;
    int rc = rp_from_mdb(mdb_get(p->a.txn, p->a.store->dbi[RP_DB_IDENTITIES], &k, &v));
    return rc ? rc : rp_identity_state_decode(out, v.mv_data, v.mv_size);
}

int rp_pending_identity(rp_pending *p, const rp_pubkey *name, rp_identity_state *out)
{
    MDB_val v;
    int rc = rp_st_get(&p->a, RP_DB_IDENTITIES, name->bytes, 32, &v);
    return rc ? rc : rp_identity_state_decode(out, v.mv_data, v.mv_size);
}
