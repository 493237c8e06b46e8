/* The validation rules: what each record may do given the ledger state, and
 * what it changes. docs/rules.md states the same rules for users, with the
 * error code of each.
 *
 * Every record is checked in the same order: not already on chain, time
 * within the tolerance of the block time, the issuer's sequence, then the
 * type's own rules; its signatures are queued against the keys the state
 * names (the issuer's *current* key, which after a ROTATE is no longer the
 * key its name came from). Nothing is written until every check of the
 * record has passed, and the caller aborts the whole transaction if any
 * record fails, so a failed record never leaves a partial change.
 *
 * EVIDENCE is the exception to the common path: it is not an identity's
 * statement, so after the duplicate check it skips time, registration and
 * sequence and goes to its own rules (apply_evidence), which queue its two
 * vote signatures in the same batch as everyone else's.
 *
 * AUDIENCE keeps every attestation by id (attestations, with the height
 * at which it stopped being live) and the live one per (subject, platform,
 * attester) in attest_live, so that an epoch's snapshot can see which were
 * live at its height from the current state, as it does for reviews.
 */
#include <stdio.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"
#include "ledger/evidence.h"
#include "ledger/schema.h"
#include "ledger/state.h"

#define FAIL(code, ...)                                                                            \
    do {                                                                                           \
        snprintf(msg, msglen, __VA_ARGS__);                                                        \
        return (code);                                                                             \
    } while (0)

static int is_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ---- helpers over the apply transaction -------------------------------- */

static int get_identity(rp_apply *a, const rp_pubkey *name, rp_identity_state *st)
{
    MDB_val v;
    int err = rp_st_get(a, RP_DB_IDENTITIES, name->bytes, 32, &v);
    if (err)
        return err;
    return rp_identity_state_decode(st, v.mv_data, v.mv_size);
}

static int put_identity(rp_apply *a, const rp_pubkey *name, const rp_identity_state *st)
{
    unsigned char buf[RP_IDENTITY_STATE_MAX];
    size_t n;
    int err = rp_identity_state_encode(st, buf, &n);
    return err ? err : rp_st_put(a, RP_DB_IDENTITIES, name->bytes, 32, buf, n);
}

/* Is a key in use, now or ever, by any identity? 1, 0, or an error < 0. */
static int key_used(rp_apply *a, const rp_pubkey *key)
{
    MDB_val v;
    int err = rp_st_get(a, RP_DB_KEYS, key->bytes, 32, &v);
    if (err == RP_ERR_NOT_FOUND)
        return 0;
    return err ? err : 1;
}

static int get_engagement(rp_apply *a, const rp_hash *id, rp_engagement_state *e)
{
    MDB_val v;
    int err = rp_st_get(a, RP_DB_ENGAGEMENTS, id->bytes, 32, &v);
    return err ? err : rp_engagement_state_decode(e, v.mv_data, v.mv_size);
}

static int put_engagement(rp_apply *a, const rp_hash *id, const rp_engagement_state *e)
{
    unsigned char buf[RP_ENGAGEMENT_STATE_SIZE];
    rp_engagement_state_encode(buf, e);
    return rp_st_put(a, RP_DB_ENGAGEMENTS, id->bytes, 32, buf, sizeof buf);
}

static int put_review(rp_apply *a, const rp_hash *id, const rp_review_state *rv)
{
    unsigned char buf[RP_REVIEW_STATE_SIZE];
    rp_review_state_encode(buf, rv);
    return rp_st_put(a, RP_DB_REVIEWS, id->bytes, 32, buf, sizeof buf);
}

static int put_vouch_id(rp_apply *a, const rp_hash *id, const rp_vouch_id_state *vs)
{
    unsigned char buf[RP_VOUCH_ID_STATE_SIZE];
    rp_vouch_id_state_encode(buf, vs);
    return rp_st_put(a, RP_DB_VOUCH_IDS, id->bytes, 32, buf, sizeof buf);
}

static int get_attest(rp_apply *a, const rp_hash *id, rp_attest_state *st)
{
    MDB_val v;
    int err = rp_st_get(a, RP_DB_ATTESTATIONS, id->bytes, 32, &v);
    return err ? err : rp_attest_state_decode(st, v.mv_data, v.mv_size);
}

static int put_attest(rp_apply *a, const rp_hash *id, const rp_attest_state *st)
{
    unsigned char buf[RP_ATTEST_STATE_MAX];
    size_t n;
    int err = rp_attest_state_encode(st, buf, &n);
    return err ? err : rp_st_put(a, RP_DB_ATTESTATIONS, id->bytes, 32, buf, n);
}

/* ---- the rules ----------------------------------------------------------- */

static int apply_identity(rp_apply *a, const rp_record *r, rp_identity_state *st, int fresh,
                          char *msg, size_t msglen)
{
    const rp_identity_body *b = &r->body.identity;
    if (fresh) {
        if (!rp_identity_pow_ok(a->chain_id, r, a->g->params.pow_difficulty))
            FAIL(RP_ERR_POW, "registration stamp has fewer than %u leading zero bits",
                 (unsigned)a->g->params.pow_difficulty);
        int used = key_used(a, &r->issuer);
        if (used < 0)
            return used;
        if (used)
            FAIL(RP_ERR_KEY_USED, "the identity's key was already used by another identity");
        memset(st, 0, sizeof *st);
        st->key = r->issuer;
        st->registered_height = a->height;
        int err = rp_st_put(a, RP_DB_KEYS, r->issuer.bytes, 32, r->issuer.bytes, 32);
        if (err)
            return err;
    } else if (!is_zero(st->recovery.bytes, 32) &&
               sodium_memcmp(st->recovery.bytes, b->recovery.bytes, 32) != 0) {
        /* A leaked signing key must not be able to disable recovery. */
        FAIL(RP_ERR_RECOVERY_MISMATCH,
             "an update cannot change the recovery commitment (use ROTATE with the recovery key)");
    }
    st->role = b->role;
    st->name_len = b->name_len;
    memcpy(st->name, b->name, sizeof st->name);
    st->profile = b->profile;
    st->recovery = b->recovery;
    return 0;
}

static int apply_engagement(rp_apply *a, const rp_record *r, const rp_hash *id,
                            rp_identity_state *st, char *msg, size_t msglen)
{
    const rp_engagement_body *b = &r->body.engagement;
    rp_identity_state cp;
    if (sodium_memcmp(b->counterparty.bytes, r->issuer.bytes, 32) == 0)
        FAIL(RP_ERR_SELF_ENGAGEMENT, "an engagement needs two distinct parties");
    int err = get_identity(a, &b->counterparty, &cp);
    if (err == RP_ERR_NOT_FOUND)
        FAIL(RP_ERR_UNKNOWN_PARTY, "the counterparty is not registered");
    if (err)
        return err;
    if (b->expiry <= a->time_s)
        FAIL(RP_ERR_EXPIRED, "engagement expired at %llu, block time is %llu",
             (unsigned long long)b->expiry, (unsigned long long)a->time_s);
    if (b->expiry <= r->time || b->expiry - r->time > a->g->params.max_engagement_ttl_s)
        FAIL(RP_ERR_EXPIRED, "expiry must be after the record time and at most %u s later",
             (unsigned)a->g->params.max_engagement_ttl_s);
    err = rp_st_queue_sig(a, id, &cp.key, &r->sigs[1]);
    if (err)
        return err;

    rp_engagement_state e;
    memset(&e, 0, sizeof e);
    e.initiator = r->issuer;
    e.counterparty = b->counterparty;
    e.kind = b->kind;
    e.height = a->height;
    if ((err = put_engagement(a, id, &e)) != 0)
        return err;
    st->engagements++;
    cp.engagements++;
    return put_identity(a, &b->counterparty, &cp);
}

static int apply_review(rp_apply *a, const rp_record *r, const rp_hash *id, rp_identity_state *st,
                        char *msg, size_t msglen)
{
    const rp_review_body *b = &r->body.review;
    rp_engagement_state e;
    int err = get_engagement(a, &b->engagement, &e);
    if (err == RP_ERR_NOT_FOUND)
        FAIL(RP_ERR_NO_ENGAGEMENT, "the reviewed engagement is not on chain");
    if (err)
        return err;
    rp_hash *slot;
    if (!memcmp(r->issuer.bytes, e.initiator.bytes, 32) &&
        !memcmp(b->subject.bytes, e.counterparty.bytes, 32))
        slot = &e.review_by_initiator;
    else if (!memcmp(r->issuer.bytes, e.counterparty.bytes, 32) &&
             !memcmp(b->subject.bytes, e.initiator.bytes, 32))
        slot = &e.review_by_counterparty;
    else
        FAIL(RP_ERR_NOT_A_PARTY, "reviewer and subject must be the engagement's two parties");
    if (!is_zero(slot->bytes, 32))
        FAIL(RP_ERR_DUPLICATE_REVIEW,
             "a live review in this direction exists for this engagement (revoke it first)");
    *slot = *id;

    unsigned char k[RP_PAIR_KEY_SIZE];
    rp_review_state rv;
    memset(&rv, 0, sizeof rv);
    rv.issuer = r->issuer;
    rv.subject = b->subject;
    rv.engagement = b->engagement;
    rv.overall = b->overall;
    memcpy(rv.dims, b->dims, sizeof rv.dims);
    rv.time = r->time;
    rv.height = a->height;
    rv.live = 1;
    if ((err = put_engagement(a, &b->engagement, &e)) || (err = put_review(a, id, &rv)))
        return err;
    rp_pair_key(k, b->subject.bytes, id->bytes);
    if ((err = rp_st_put(a, RP_DB_BY_SUBJECT, k, sizeof k, "", 0)) != 0)
        return err;
    rp_pair_key(k, r->issuer.bytes, id->bytes);
    if ((err = rp_st_put(a, RP_DB_BY_ISSUER, k, sizeof k, "", 0)) != 0)
        return err;

    rp_identity_state subj;
    if ((err = get_identity(a, &b->subject, &subj)) != 0)
        return err == RP_ERR_NOT_FOUND ? RP_ERR_CORRUPT : err;
    st->reviews_given++;
    subj.reviews_received++;
    return put_identity(a, &b->subject, &subj);
}

static int apply_vouch(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg, size_t msglen)
{
    const rp_vouch_body *b = &r->body.vouch;
    rp_identity_state subj;
    MDB_val v;
    unsigned char k[RP_PAIR_KEY_SIZE];
    if (!memcmp(b->subject.bytes, r->issuer.bytes, 32))
        FAIL(RP_ERR_SELF_VOUCH, "an identity cannot vouch for itself");
    int err = get_identity(a, &b->subject, &subj);
    if (err == RP_ERR_NOT_FOUND)
        FAIL(RP_ERR_UNKNOWN_PARTY, "the subject is not registered");
    if (err)
        return err;
    rp_pair_key(k, r->issuer.bytes, b->subject.bytes);
    err = rp_st_get(a, RP_DB_VOUCHES, k, sizeof k, &v);
    if (err == 0)
        FAIL(RP_ERR_DUPLICATE_VOUCH, "a live vouch for this subject exists (revoke it first)");
    if (err != RP_ERR_NOT_FOUND)
        return err;

    unsigned char val[RP_VOUCH_STATE_SIZE];
    rp_vouch_state vs = {.id = *id, .relation = b->relation, .height = a->height};
    rp_vouch_id_state vi = {.issuer = r->issuer, .subject = b->subject, .live = 1};
    rp_vouch_state_encode(val, &vs);
    if ((err = rp_st_put(a, RP_DB_VOUCHES, k, sizeof k, val, sizeof val)) ||
        (err = put_vouch_id(a, id, &vi)))
        return err;
    subj.vouches_received++;
    return put_identity(a, &b->subject, &subj);
}

static int apply_revoke(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg,
                        size_t msglen)
{
    const rp_hash *target = &r->body.revoke.target;
    MDB_val v;
    unsigned char k[RP_PAIR_KEY_SIZE], rec[RP_REVOCATION_SIZE];
    int err;

    rp_revocation_encode(rec, &(rp_revocation){.by = *id, .height = a->height});
    if ((err = rp_st_get(a, RP_DB_REVIEWS, target->bytes, 32, &v)) == 0) {
        rp_review_state rv;
        rp_engagement_state e;
        if ((err = rp_review_state_decode(&rv, v.mv_data, v.mv_size)) != 0)
            return err;
        if (memcmp(rv.issuer.bytes, r->issuer.bytes, 32))
            FAIL(RP_ERR_NOT_ISSUER, "only the review's issuer may revoke it");
        if (!rv.live)
            FAIL(RP_ERR_ALREADY_REVOKED, "the review is already revoked");
        rv.live = 0;
        if ((err = put_review(a, target, &rv)) != 0)
            return err;
        rp_pair_key(k, rv.subject.bytes, target->bytes);
        if ((err = rp_st_del(a, RP_DB_BY_SUBJECT, k, sizeof k)) != 0)
            return err;
        rp_pair_key(k, rv.issuer.bytes, target->bytes);
        if ((err = rp_st_del(a, RP_DB_BY_ISSUER, k, sizeof k)) != 0)
            return err;
        /* Free the direction, so that a corrected review can follow. */
        if ((err = get_engagement(a, &rv.engagement, &e)) != 0)
            return err == RP_ERR_NOT_FOUND ? RP_ERR_CORRUPT : err;
        if (!memcmp(e.review_by_initiator.bytes, target->bytes, 32))
            memset(e.review_by_initiator.bytes, 0, 32);
        if (!memcmp(e.review_by_counterparty.bytes, target->bytes, 32))
            memset(e.review_by_counterparty.bytes, 0, 32);
        if ((err = put_engagement(a, &rv.engagement, &e)) != 0)
            return err;
    } else if (err == RP_ERR_NOT_FOUND &&
               (err = rp_st_get(a, RP_DB_VOUCH_IDS, target->bytes, 32, &v)) == 0) {
        rp_vouch_id_state vi;
        if ((err = rp_vouch_id_state_decode(&vi, v.mv_data, v.mv_size)) != 0)
            return err;
        if (memcmp(vi.issuer.bytes, r->issuer.bytes, 32))
            FAIL(RP_ERR_NOT_ISSUER, "only the vouch's issuer may revoke it");
        if (!vi.live)
            FAIL(RP_ERR_ALREADY_REVOKED, "the vouch is already revoked");
        vi.live = 0;
        rp_pair_key(k, vi.issuer.bytes, vi.subject.bytes);
        if ((err = put_vouch_id(a, target, &vi)) ||
            (err = rp_st_del(a, RP_DB_VOUCHES, k, sizeof k)))
            return err;
    } else if (err == RP_ERR_NOT_FOUND &&
               (err = rp_st_get(a, RP_DB_ATTESTATIONS, target->bytes, 32, &v)) == 0) {
        rp_attest_state at;
        if ((err = rp_attest_state_decode(&at, v.mv_data, v.mv_size)) != 0)
            return err;
        if (memcmp(at.attester.bytes, r->issuer.bytes, 32))
            FAIL(RP_ERR_NOT_ISSUER, "only the attestation's issuer may revoke it");
        if (at.ended)
            FAIL(RP_ERR_ALREADY_REVOKED,
                 "the attestation is no longer live (revoked or replaced at height %llu)",
                 (unsigned long long)at.ended);
        at.ended = a->height;
        unsigned char lk[RP_ATTEST_KEY_SIZE];
        rp_attest_key(lk, &at.subject, at.platform, &at.attester);
        if ((err = put_attest(a, target, &at)) ||
            (err = rp_st_del(a, RP_DB_ATTEST_LIVE, lk, sizeof lk)))
            return err;
    } else if (err == RP_ERR_NOT_FOUND) {
        FAIL(RP_ERR_NO_TARGET, "the target is not a REVIEW, VOUCH or AUDIENCE on chain");
    } else {
        return err;
    }
    return rp_st_put(a, RP_DB_REVOCATIONS, target->bytes, 32, rec, sizeof rec);
}

static int apply_rotate(rp_apply *a, const rp_record *r, rp_identity_state *st, char *msg,
                        size_t msglen)
{
    const rp_rotate_body *b = &r->body.rotate;
    if (!rp_pubkey_valid(&b->new_key))
        FAIL(RP_ERR_BAD_KEY, "the new key is not a valid x-only public key");
    int used = key_used(a, &b->new_key);
    if (used < 0)
        return used;
    if (used)
        FAIL(RP_ERR_KEY_USED, "the new key was used before; rotate to a fresh key");
    if (b->auth == RP_ROTATE_BY_CURRENT && !is_zero(st->recovery.bytes, 32) &&
        sodium_memcmp(st->recovery.bytes, b->new_recovery.bytes, 32) != 0)
        FAIL(RP_ERR_RECOVERY_MISMATCH,
             "a rotation by the current key must keep the recovery commitment");
    st->key = b->new_key;
    st->recovery = b->new_recovery;
    return rp_st_put(a, RP_DB_KEYS, b->new_key.bytes, 32, r->issuer.bytes, 32);
}

/* AUDIENCE: about another identity, registered as a talent, not expired at
 * the block time nor valid for longer than RP_AUDIENCE_MAX_TTL_S; a live
 * attestation of the same (attester, subject, platform) is replaced if
 * this one is later, else this one is refused. */
static int apply_audience(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg,
                          size_t msglen)
{
    const rp_audience_body *b = &r->body.audience;
    rp_identity_state subj;
    MDB_val v;
    if (!memcmp(b->subject.bytes, r->issuer.bytes, 32))
        FAIL(RP_ERR_SELF_ATTEST, "an identity cannot attest its own audience");
    int err = get_identity(a, &b->subject, &subj);
    if (err == RP_ERR_NOT_FOUND)
        FAIL(RP_ERR_UNKNOWN_PARTY, "the subject is not registered");
    if (err)
        return err;
    if (subj.role != RP_ROLE_TALENT)
        FAIL(RP_ERR_NOT_TALENT, "the subject is registered as an %s, not a talent",
             subj.role == RP_ROLE_AGENT ? "agent" : "brand");
    if (b->expiry <= a->time_s)
        FAIL(RP_ERR_EXPIRED, "attestation expired at %llu, block time is %llu",
             (unsigned long long)b->expiry, (unsigned long long)a->time_s);
    if (b->expiry - r->time > RP_AUDIENCE_MAX_TTL_S)
        FAIL(RP_ERR_EXPIRED, "expiry must be at most %u s after the record time",
             (unsigned)RP_AUDIENCE_MAX_TTL_S);

    unsigned char lk[RP_ATTEST_KEY_SIZE];
    rp_attest_key(lk, &b->subject, b->platform, &r->issuer);
    err = rp_st_get(a, RP_DB_ATTEST_LIVE, lk, sizeof lk, &v);
    if (err == 0) {
        rp_hash old_id;
        rp_attest_state old;
        if (v.mv_size != 32)
            return RP_ERR_CORRUPT;
        memcpy(old_id.bytes, v.mv_data, 32);
        if ((err = get_attest(a, &old_id, &old)) != 0)
            return err == RP_ERR_NOT_FOUND ? RP_ERR_CORRUPT : err;
        if (r->time <= old.time)
            FAIL(RP_ERR_STALE_ATTESTATION,
                 "a live attestation of time %llu exists; a replacement must be later",
                 (unsigned long long)old.time);
        old.ended = a->height;
        if ((err = put_attest(a, &old_id, &old)) != 0)
            return err;
    } else if (err != RP_ERR_NOT_FOUND) {
        return err;
    }

    rp_attest_state st;
    memset(&st, 0, sizeof st);
    st.attester = r->issuer;
    st.subject = b->subject;
    st.platform = b->platform;
    st.followers = b->followers;
    st.authentic_ppm = b->authentic_ppm;
    st.engagement_ppm = b->engagement_ppm;
    st.period_start = b->period_start;
    st.period_end = b->period_end;
    st.expiry = b->expiry;
    st.time = r->time;
    st.height = a->height;
    st.handle_len = b->handle_len;
    memcpy(st.handle, b->handle, sizeof st.handle);
    if ((err = put_attest(a, id, &st)) != 0)
        return err;
    return rp_st_put(a, RP_DB_ATTEST_LIVE, lk, sizeof lk, id->bytes, 32);
}

/* EVIDENCE: a genesis validator's two votes for one (height, round, type),
 * below this block and not too old, the first such evidence on chain. The
 * vote signatures go to the block's batch with the issuer's key; the
 * evidence table records the slot. No identity state is read or written. */
static int apply_evidence(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg,
                          size_t msglen)
{
    const rp_evidence_body *b = &r->body.evidence;
    size_t v = 0;
    while (v < a->g->nvalidators &&
           memcmp(a->g->validators[v].pubkey.bytes, r->issuer.bytes, 32) != 0)
        v++;
    if (v == a->g->nvalidators)
        FAIL(RP_ERR_NOT_VALIDATOR, "the evidence's issuer is not a genesis validator");
    if (b->height >= a->height)
        FAIL(RP_ERR_EVIDENCE_HEIGHT, "votes at height %llu cannot be evidence in block %llu",
             (unsigned long long)b->height, (unsigned long long)a->height);
    if (a->height - b->height > RP_EVIDENCE_MAX_AGE)
        FAIL(RP_ERR_EVIDENCE_HEIGHT, "votes at height %llu are more than %u blocks older than %llu",
             (unsigned long long)b->height, RP_EVIDENCE_MAX_AGE, (unsigned long long)a->height);

    unsigned char k[RP_EVIDENCE_KEY_SIZE], val[RP_EVIDENCE_VALUE_SIZE];
    MDB_val cur;
    rp_evidence_key(k, &r->issuer, b->height, b->round, b->vote_type);
    int err = rp_st_get(a, RP_DB_EVIDENCE, k, sizeof k, &cur);
    if (err == 0)
        FAIL(RP_ERR_DUPLICATE_EVIDENCE,
             "evidence for this validator at height %llu, round %u, vote type %u is on chain",
             (unsigned long long)b->height, (unsigned)b->round, (unsigned)b->vote_type);
    if (err != RP_ERR_NOT_FOUND)
        return err;

    rp_hash msgs[2];
    if ((err = rp_evidence_vote_messages(msgs, a->chain_id, r)) != 0 ||
        (err = rp_st_queue_sig(a, &msgs[0], &r->issuer, &b->sig_a)) != 0 ||
        (err = rp_st_queue_sig(a, &msgs[1], &r->issuer, &b->sig_b)) != 0)
        return err;
    rp_evidence_row row = {.block_height = a->height,
                           .index = (uint32_t)a->record,
                           .id = *id,
                           .hash_a = b->hash_a,
                           .hash_b = b->hash_b};
    rp_evidence_value_encode(val, &row);
    return rp_st_put(a, RP_DB_EVIDENCE, k, sizeof k, val, sizeof val);
}

/* The record's location, the last change of every record. */
static int put_location(rp_apply *a, const rp_hash *id)
{
    unsigned char loc[RP_LOCATION_SIZE];
    rp_location_encode(loc, &(rp_location){.height = a->height, .index = (uint32_t)a->record});
    return rp_st_put(a, RP_DB_RECORDS, id->bytes, 32, loc, sizeof loc);
}

int rp_rules_apply(rp_apply *a, const rp_record *r, const rp_hash *id, char *msg, size_t msglen)
{
    MDB_val v;
    rp_identity_state st;
    int err;
    msg[0] = '\0';

    err = rp_st_get(a, RP_DB_RECORDS, id->bytes, 32, &v);
    if (err == 0)
        FAIL(RP_ERR_DUPLICATE_RECORD, "the record is already on chain");
    if (err != RP_ERR_NOT_FOUND)
        return err;

    if (r->type == RP_REC_EVIDENCE) {
        if ((err = apply_evidence(a, r, id, msg, msglen)) != 0)
            return err;
        return put_location(a, id);
    }

    uint64_t tol = a->g->params.time_tolerance_s;
    if (r->time + tol < a->time_s || r->time > a->time_s + tol)
        FAIL(RP_ERR_RECORD_TIME, "record time %llu is more than %llu s from block time %llu",
             (unsigned long long)r->time, (unsigned long long)tol, (unsigned long long)a->time_s);

    /* The issuer and its sequence. */
    err = get_identity(a, &r->issuer, &st);
    int fresh = err == RP_ERR_NOT_FOUND;
    if (err && !fresh)
        return err;
    if (fresh) {
        if (r->type != RP_REC_IDENTITY || r->seq != 1)
            FAIL(RP_ERR_NOT_REGISTERED, "the issuer is not registered");
    } else if (r->seq != st.seq + 1) {
        if (r->seq == 1 && r->type == RP_REC_IDENTITY)
            FAIL(RP_ERR_ALREADY_REGISTERED, "the identity is already registered");
        FAIL(RP_ERR_BAD_SEQUENCE, "sequence %llu, expected %llu", (unsigned long long)r->seq,
             (unsigned long long)(st.seq + 1));
    }

    /* Slot 0's signer: the identity's own key at registration, the revealed
     * recovery key for a recovery rotation, the current key otherwise. */
    const rp_pubkey *signer = fresh ? &r->issuer : &st.key;
    if (r->type == RP_REC_ROTATE && r->body.rotate.auth == RP_ROTATE_BY_RECOVERY) {
        rp_hash c;
        rp_recovery_commitment(&c, &r->body.rotate.recovery_key);
        if (is_zero(st.recovery.bytes, 32) || sodium_memcmp(c.bytes, st.recovery.bytes, 32))
            FAIL(RP_ERR_RECOVERY_MISMATCH, "the recovery key does not match the commitment");
        signer = &r->body.rotate.recovery_key;
    }
    if ((err = rp_st_queue_sig(a, id, signer, &r->sigs[0])) != 0)
        return err;

    switch (r->type) {
    case RP_REC_IDENTITY:
        err = apply_identity(a, r, &st, fresh, msg, msglen);
        break;
    case RP_REC_ENGAGEMENT:
        err = apply_engagement(a, r, id, &st, msg, msglen);
        break;
    case RP_REC_REVIEW:
        err = apply_review(a, r, id, &st, msg, msglen);
        break;
    case RP_REC_VOUCH:
        err = apply_vouch(a, r, id, msg, msglen);
        break;
    case RP_REC_REVOKE:
        err = apply_revoke(a, r, id, msg, msglen);
        break;
    case RP_REC_ROTATE:
        err = apply_rotate(a, r, &st, msg, msglen);
        break;
    case RP_REC_AUDIENCE:
        err = apply_audience(a, r, id, msg, msglen);
        break;
    default:
        err = RP_ERR_BAD_TYPE;
        break;
    }
    if (err)
        return err;

    /* The issuer's state last: the type's rules may have counted on it. */
    st.seq = r->seq;
    st.updated_height = a->height;
    if ((err = put_identity(a, &r->issuer, &st)) != 0)
        return err;
    return put_location(a, id);
}
