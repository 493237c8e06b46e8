/* The mempool's held records (contract in mempool.h): a record ahead of its
 * issuer's next sequence number is held only once its issuer's signature
 * verifies against the key the pending state gives now, one record per
 * (issuer, sequence), and released (READY, or through a batch if a key
 * changed) when the gap fills.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/record.h"
#include "node/mempool.h"
#include "node/mempool_impl.h"

/* ---- held records: verified before they are held ------------------------------ */

/* The signatures a held record needs, with the keys its signers have as the
 * pending state sees them now (the chain plus pending records, so a pending
 * registration or ROTATE counts): slot 0 by the issuer's current key (for a
 * ROTATE by recovery, by the revealed recovery key, if it matches the
 * issuer's commitment), slot 1 of an ENGAGEMENT by the counterparty's
 * current key if the counterparty is registered (else it cannot be checked
 * yet, and the release's batch will). The rules of the record itself wait
 * for its release: they depend on the records of the gap.
 * Returns: 0; RP_ERR_NOT_REGISTERED (an issuer nobody registered has no key:
 *          it cannot have signed anything); RP_ERR_RECOVERY_MISMATCH; a
 *          store error. msg says why. */
static int held_checks(rp_mempool *mp, const rp_record *r, const rp_hash *id,
                       rp_sig_item out[static RP_RECORD_MAX_SIGS], size_t *n, char *msg,
                       size_t msglen)
{
    static const rp_hash zero;
    rp_identity_state st;
    *n = 0;
    int rc = rp_pending_identity(mp->pending, &r->issuer, &st);
    if (rc == RP_ERR_NOT_FOUND) {
        snprintf(msg, msglen,
                 "the issuer is not registered, on chain or by a pending record: a record "
                 "ahead of its sequence is held only if it verifies with the issuer's key");
        return RP_ERR_NOT_REGISTERED;
    }
    if (rc) {
        snprintf(msg, msglen, "the node could not read its ledger");
        return rc;
    }
    const rp_pubkey *signer = &st.key;
    if (r->type == RP_REC_ROTATE && r->body.rotate.auth == RP_ROTATE_BY_RECOVERY) {
        rp_hash c;
        rp_recovery_commitment(&c, &r->body.rotate.recovery_key);
        if (memcmp(st.recovery.bytes, zero.bytes, 32) == 0 ||
            memcmp(c.bytes, st.recovery.bytes, 32) != 0) {
            snprintf(msg, msglen, "the recovery key does not match the commitment");
            return RP_ERR_RECOVERY_MISMATCH;
        }
        signer = &r->body.rotate.recovery_key;
    }
    out[0] = (rp_sig_item){.msg = *id, .key = *signer, .sig = r->sigs[0]};
    *n = 1;
    if (r->type == RP_REC_ENGAGEMENT) {
        rp_identity_state cp;
        rc = rp_pending_identity(mp->pending, &r->body.engagement.counterparty, &cp);
        if (rc == 0) {
            out[1] = (rp_sig_item){.msg = *id, .key = cp.key, .sig = r->sigs[1]};
            *n = 2;
        } else if (rc != RP_ERR_NOT_FOUND) {
            snprintf(msg, msglen, "the node could not read its ledger");
            return rc;
        }
    }
    return 0;
}

/* Verify checks[0..n) here, on the loop (at most RP_RECORD_MAX_SIGS).
 * Returns: 1 if every one verifies, 0 if not. */
static int verify_now(const rp_sig_item *checks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!rp_verify(&checks[i].sig, checks[i].msg.bytes, 32, &checks[i].key))
            return 0;
    return 1;
}

/* Held record e with the checks it needs now. Returns: 0 and checks[0..*n);
 * 1 if no key can have signed it now (its issuer's registration was a
 * pending record that left, a recovery commitment changed); a store error. */
static int held_now(rp_mempool *mp, const struct entry *e,
                    rp_sig_item checks[static RP_RECORD_MAX_SIGS], size_t *n)
{
    rp_record r;
    char msg[160];
    if (rp_record_decode(&r, e->rec, e->len, NULL) != 0)
        return 1; /* never: it decoded when it was held */
    int rc = held_checks(mp, &r, &e->id, checks, n, msg, sizeof msg);
    return rc == RP_ERR_NOT_REGISTERED || rc == RP_ERR_RECOVERY_MISMATCH ? 1 : rc;
}

/* May held record e be served as the issuer's (rp_mempool_find)? Only if
 * every check it needs now was verified: nothing is verified here. */
int mp_held_servable(rp_mempool *mp, const struct entry *e)
{
    rp_sig_item now[RP_RECORD_MAX_SIGS];
    size_t n;
    return mp->pending && held_now(mp, e, now, &n) == 0 && mp_covers(e->sigs, e->nsigs, now, n);
}

/* Does held record e still verify with the keys its signers have now? The
 * checks it has not verified yet (its issuer rotated since, its
 * counterparty registered since) are verified now, at most
 * RP_RECORD_MAX_SIGS, and remembered. Returns: 1, 0, or a store error. */
static int held_still_valid(rp_mempool *mp, struct entry *e)
{
    rp_sig_item now[RP_RECORD_MAX_SIGS], todo[RP_RECORD_MAX_SIGS];
    size_t n, ntodo = 0;
    int rc = held_now(mp, e, now, &n);
    if (rc)
        return rc == 1 ? 0 : rc;
    for (size_t i = 0; i < n; i++)
        if (!mp_covers(e->sigs, e->nsigs, &now[i], 1))
            todo[ntodo++] = now[i];
    if (!verify_now(todo, ntodo))
        return 0;
    memcpy(e->sigs, now, n * sizeof *now);
    e->nsigs = n;
    return 1;
}

/* Hold e, record r, whose sequence is ahead of the issuer's next (expected).
 * Its rules cannot be checked before the gap fills, but its signer can: it
 * is held only if its signatures verify now with the keys its signers have
 * (held_checks), which then stay in e->sigs as the checks it passed. For
 * its (issuer, sequence) slot, a held record that no longer verifies
 * (its issuer's key changed since) gives way to e; one that still does is
 * the issuer's own first record for that sequence, and stays.
 * Returns: 0 (e held); RP_ERR_SEQUENCE_GAP, an error of held_checks,
 *          RP_ERR_MEMPOOL_FULL, RP_ERR_BAD_SIGNATURE, RP_ERR_BAD_SEQUENCE,
 *          RP_ERR_NOMEM or a store error, with res->msg (e is then in no
 *          map, for the caller to free). */
int mp_hold(rp_mempool *mp, struct entry *e, const rp_record *r, uint64_t expected, uint64_t now_s,
            rp_mp_result *res)
{
    char *msg = res->msg;
    size_t msglen = sizeof res->msg;
    res->expected_seq = expected;
    if (r->seq - expected > mp->lim.max_gap) {
        snprintf(msg, msglen,
                 "sequence %llu, but the issuer's next is %llu (at most %u ahead are held)",
                 (unsigned long long)r->seq, (unsigned long long)expected, mp->lim.max_gap);
        return RP_ERR_SEQUENCE_GAP;
    }
    rp_sig_item checks[RP_RECORD_MAX_SIGS];
    size_t n;
    int rc = held_checks(mp, r, &e->id, checks, &n, msg, msglen);
    if (rc)
        return rc;
    unsigned char k[KEY_MAX];
    mp_slot_key(k, &r->issuer, r->seq);
    struct entry *holder = mp_map_get(&mp->by_slot, k);
    /* A replacement does not grow the held records. */
    if (!holder && mp->nheld >= mp_held_cap(mp)) {
        snprintf(msg, msglen,
                 "%u records are already held waiting for earlier sequence numbers "
                 "(the limit is a quarter of the pool); submit the missing ones first",
                 mp->nheld);
        return RP_ERR_MEMPOOL_FULL;
    }
    if (!verify_now(checks, n)) {
        snprintf(msg, msglen, "a signature does not verify with the signer's current key");
        return RP_ERR_BAD_SIGNATURE;
    }
    if (holder) {
        rc = held_still_valid(mp, holder);
        if (rc < 0) {
            snprintf(msg, msglen, "the node could not read its ledger");
            return rc;
        }
        if (rc == 1) {
            snprintf(msg, msglen,
                     "another record of this issuer with sequence %llu, signed with its "
                     "current key, is already held; the first one stays",
                     (unsigned long long)r->seq);
            return RP_ERR_BAD_SEQUENCE;
        }
        mp_drop(mp, holder, RP_ERR_BAD_SIGNATURE,
                "a signature no longer verifies with the signer's current key; a record for the "
                "same sequence that does took its place");
    }
    if ((rc = mp_map_put(&mp->by_slot, k, e)) == 0 &&
        (rc = mp_map_put(&mp->by_id, e->id.bytes, e)) != 0)
        mp_map_del(&mp->by_slot, k);
    if (rc) {
        snprintf(msg, msglen, "out of memory");
        return rc;
    }
    memcpy(e->sigs, checks, n * sizeof *checks);
    e->nsigs = n;
    e->status = RP_MP_HELD;
    e->since = now_s;
    mp_list_push(&mp->held, e);
    mp->nheld++;
    mp->count++;
    mp->bytes += e->len;
    return 0;
}

/* Has a record on chain taken held record e's sequence number? Then e can
 * never be admitted. (A pending record with that number does not count: it
 * may still be dropped, and e's turn come.) */
int mp_seq_taken(rp_mempool *mp, const struct entry *e)
{
    rp_identity_state st;
    return rp_pending_chain_identity(mp->pending, &e->issuer, &st) == 0 && st.seq >= e->seq;
}

/* A held record whose sequence number the chain took: it leaves as included
 * if it is the record that took it, dropped otherwise. */
void mp_held_taken(rp_mempool *mp, struct entry *e)
{
    uint64_t height;
    uint32_t index;
    if (rp_pending_find_record(mp->pending, &e->id, &height, &index) == 0) {
        mp_included(mp, e, height, index);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "another record of the issuer with sequence %llu is on chain",
             (unsigned long long)e->seq);
    mp_drop(mp, e, RP_ERR_BAD_SEQUENCE, msg);
}
