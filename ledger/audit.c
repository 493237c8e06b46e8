/* The audit's last step: comparing the state tables a replay rebuilt with
 * the ones a datadir holds, entry by entry, and naming the first difference
 * (table and key) so an auditor can find it.
 */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/replay.h"
#include "ledger/schema.h"
#include "ledger/state.h"

static void hex_prefix(char *out, size_t cap, const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 2 < cap; i++) {
        out[j++] = digits[b[i] >> 4];
        out[j++] = digits[b[i] & 15];
    }
    out[j] = '\0';
}

int rp_store_compare_state(rp_store *a, rp_store *b, rp_store_error *err)
{
    MDB_txn *ta = NULL, *tb = NULL;
    int rc;
    if (err)
        memset(err, 0, sizeof *err);
    if ((rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &ta)) != 0 ||
        (rc = mdb_txn_begin(b->env, NULL, MDB_RDONLY, &tb)) != 0) {
        if (ta)
            mdb_txn_abort(ta);
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return rp_from_mdb(rc);
    }
    rc = 0;
    for (int t = 0; t < RP_DB_COUNT && rc == 0; t++) {
        if (!rp_schema_table_is_state(t))
            continue;
        MDB_cursor *ca = NULL, *cb = NULL;
        MDB_val ka, va, kb, vb;
        if (mdb_cursor_open(ta, a->dbi[t], &ca) || mdb_cursor_open(tb, b->dbi[t], &cb)) {
            if (ca)
                mdb_cursor_close(ca); /* the first opened, the second did not */
            rc = RP_ERR_STORE;
            rp_store_error_set(err, rc, 0, -1, "cannot open a cursor on %s",
                               rp_schema_table_name(t));
            break;
        }
        int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST);
        int rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
        while (rc == 0 && (ra == 0 || rb == 0)) {
            char hex[129];
            if (ra != 0 || rb != 0) {
                const MDB_val *k = ra == 0 ? &ka : &kb;
                hex_prefix(hex, sizeof hex, k->mv_data, k->mv_size);
                rc = RP_ERR_CORRUPT;
                rp_store_error_set(err, rc, 0, -1, "table %s: entry %s is %s",
                                   rp_schema_table_name(t), hex,
                                   ra == 0 ? "stored but not produced by replay"
                                           : "produced by replay but missing from the store");
                break;
            }
            int kc = ka.mv_size == kb.mv_size ? memcmp(ka.mv_data, kb.mv_data, ka.mv_size)
                                              : (ka.mv_size < kb.mv_size ? -1 : 1);
            if (kc != 0) {
                const MDB_val *k = kc < 0 ? &ka : &kb;
                hex_prefix(hex, sizeof hex, k->mv_data, k->mv_size);
                rc = RP_ERR_CORRUPT;
                rp_store_error_set(err, rc, 0, -1, "table %s: entry %s is %s",
                                   rp_schema_table_name(t), hex,
                                   kc < 0 ? "stored but not produced by replay"
                                          : "produced by replay but missing from the store");
                break;
            }
            if (va.mv_size != vb.mv_size || memcmp(va.mv_data, vb.mv_data, va.mv_size) != 0) {
                hex_prefix(hex, sizeof hex, ka.mv_data, ka.mv_size);
                rc = RP_ERR_CORRUPT;
                rp_store_error_set(err, rc, 0, -1,
                                   "table %s: entry %s differs from the replayed value",
                                   rp_schema_table_name(t), hex);
                break;
            }
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        }
        mdb_cursor_close(ca);
        mdb_cursor_close(cb);
    }
    mdb_txn_abort(ta);
    mdb_txn_abort(tb);
    return rc;
}
