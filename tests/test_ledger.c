/* Check suite for the ledger store and its validation rules: one test per
 * rule, accepting and rejecting; block-level checks; the one-transaction
 * guarantee (a block with one bad record leaves no trace); reopening,
 * locking and foreign datadirs; state comparison.
 *
 * Every test gets a fresh temporary datadir with a one-validator genesis
 * built here, and drives the store exactly as a node does: records are
 * encoded, a block is produced (prepared, signed, applied).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/store.h"

#define T0 1790000000ULL /* genesis time, seconds */
#define NKEYS 12

static unsigned char seed[32];
static rp_seckey sk[NKEYS]; /* 0: validator; 1..: identities */
static rp_pubkey pk[NKEYS];
static rp_genesis *gen;
static char dir[64];
static rp_store *st;
static uint64_t now_s; /* block clock, advanced by produce() */
static uint64_t counter;

static void make_genesis(rp_genesis *g)
{
    memset(g, 0, sizeof *g);
    strcpy(g->chain_name, "repute-test");
    g->genesis_time = T0;
    g->nvalidators = 1;
    g->validators[0].pubkey = pk[0];
    g->validators[0].power = 1;
    strcpy(g->validators[0].name, "val-0");
    g->npretrusted = 1;
    g->pretrusted[0] = pk[1];
    g->params = (rp_params){
        .block_interval_ms = 1000,
        .epoch_blocks = 100,
        .score_delay_blocks = 10,
        .max_block_records = 1000,
        .max_block_bytes = 1 << 20,
        .pow_difficulty = 4,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 86400,
    };
}

static void setup(void)
{
    rp_store_error err;
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0x30 + i);
    for (size_t i = 0; i < NKEYS; i++) {
        ck_assert_int_eq(rp_seckey_from_seed(&sk[i], seed, i), 0);
        ck_assert_int_eq(rp_pubkey_from_seckey(&pk[i], &sk[i]), 0);
    }
    gen = malloc(sizeof *gen);
    ck_assert_ptr_nonnull(gen);
    make_genesis(gen);
    strcpy(dir, "/tmp/rp-test-ledger-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int rc = rp_store_create(&st, dir, gen, NULL, &err);
    ck_assert_msg(rc == 0, "create: %s", err.msg);
    now_s = T0 + 10;
    counter = 0;
}

static void teardown(void)
{
    char cmd[128];
    rp_store_close(st);
    st = NULL;
    free(gen);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const rp_hash *chain(void) { return rp_store_chain_id(st); }

/* A record skeleton from identity i at sequence seq, timed now. */
static rp_record base(unsigned type, size_t i, uint64_t seq)
{
    rp_record r;
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.type = (uint8_t)type;
    r.issuer = pk[i];
    r.seq = seq;
    r.time = now_s;
    return r;
}

static void sign(rp_record *r, size_t slot, size_t keyidx)
{
    unsigned char aux[32];
    rp_aux_derive(aux, seed, counter++);
    ck_assert_int_eq(rp_record_sign(r, slot, chain(), &sk[keyidx], aux), 0);
}

static rp_record identity(size_t i, const rp_pubkey *recovery)
{
    rp_record r = base(RP_REC_IDENTITY, i, 1);
    r.body.identity.role = RP_ROLE_TALENT;
    snprintf(r.body.identity.name, sizeof r.body.identity.name, "identity %zu", i);
    r.body.identity.name_len = (uint8_t)strlen(r.body.identity.name);
    if (recovery)
        rp_recovery_commitment(&r.body.identity.recovery, recovery);
    ck_assert_int_eq(rp_identity_pow_solve(&r, chain(), gen->params.pow_difficulty, 1 << 20), 0);
    sign(&r, 0, i);
    return r;
}

static rp_record engagement(size_t a, uint64_t seq, size_t b)
{
    rp_record r = base(RP_REC_ENGAGEMENT, a, seq);
    r.body.engagement.counterparty = pk[b];
    r.body.engagement.kind = RP_ENG_GIG;
    memset(r.body.engagement.terms.bytes, 7, 32);
    r.body.engagement.expiry = now_s + 3600;
    sign(&r, 0, a);
    sign(&r, 1, b);
    return r;
}

static rp_record review(size_t from, uint64_t seq, size_t to, const rp_hash *eng, uint8_t stars)
{
    rp_record r = base(RP_REC_REVIEW, from, seq);
    r.body.review.engagement = *eng;
    r.body.review.subject = pk[to];
    r.body.review.overall = stars;
    sign(&r, 0, from);
    return r;
}

static rp_hash id_of(const rp_record *r)
{
    rp_hash id;
    ck_assert_int_eq(rp_record_id(&id, chain(), r), 0);
    return id;
}

/* Produce one block from records; returns the store's result and leaves the
 * error message in last_err. */
static rp_store_error last_err;

static int produce(const rp_record *recs, size_t n)
{
    unsigned char bufs[16][RP_RECORD_MAX_SIZE];
    rp_block_item items[16];
    unsigned char aux[32];
    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(rp_record_encode(&recs[i], bufs[i], sizeof bufs[i], &items[i].len), 0);
        items[i].bytes = bufs[i];
    }
    rp_aux_derive(aux, seed, counter++);
    now_s += 5;
    return rp_store_produce_block(st, items, n, now_s * 1000, &sk[0], aux, NULL, NULL, NULL,
                                  &last_err);
}

static void ok(const rp_record *recs, size_t n)
{
    int rc = produce(recs, n);
    ck_assert_msg(rc == 0, "block refused: %s", last_err.msg);
}

static void refused(const rp_record *recs, size_t n, int want)
{
    rp_tip before, after;
    ck_assert_int_eq(rp_store_tip(st, &before), 0);
    int rc = produce(recs, n);
    ck_assert_msg(rc == want, "got %d (%s), want %d (%s)", rc, last_err.msg, want,
                  rp_strerror(want));
    ck_assert_str_ne(last_err.msg, "");
    ck_assert_int_eq(rp_store_tip(st, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
}

static void register_all(size_t n)
{
    rp_record r[16];
    for (size_t i = 1; i <= n; i++)
        r[i - 1] = identity(i, &pk[NKEYS - 1]);
    ok(r, n);
}

static uint64_t seq_of(size_t i)
{
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(st, &pk[i], &s), 0);
    return s.seq;
}

/* ---- identity and sequence ---------------------------------------------- */

START_TEST(test_register)
{
    rp_record r = identity(1, NULL);
    ok(&r, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(st, &pk[1], &s), 0);
    ck_assert_uint_eq(s.seq, 1);
    ck_assert_str_eq(s.name, "identity 1");
    ck_assert_int_eq(memcmp(s.key.bytes, pk[1].bytes, 32), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(st, &tip), 0);
    ck_assert_uint_eq(tip.height, 1);
    uint64_t h;
    uint32_t idx;
    rp_hash id = id_of(&r);
    ck_assert_int_eq(rp_store_find_record(st, &id, &h, &idx), 0);
    ck_assert_uint_eq(h, 1);
    ck_assert_uint_eq(idx, 0);
}
END_TEST

START_TEST(test_register_needs_pow)
{
    rp_record r = identity(1, NULL);
    /* Find a nonce that fails the difficulty. */
    for (uint64_t n = 0;; n++) {
        r.body.identity.pow_nonce = n;
        if (!rp_identity_pow_ok(chain(), &r, gen->params.pow_difficulty))
            break;
    }
    sign(&r, 0, 1);
    refused(&r, 1, RP_ERR_POW);
}
END_TEST

START_TEST(test_register_twice)
{
    rp_record r = identity(1, NULL);
    ok(&r, 1);
    r = identity(1, NULL);
    r.body.identity.name[0] = 'I'; /* a different record, same sequence 1 */
    ck_assert_int_eq(rp_identity_pow_solve(&r, chain(), 4, 1 << 20), 0);
    sign(&r, 0, 1);
    refused(&r, 1, RP_ERR_ALREADY_REGISTERED);
}
END_TEST

START_TEST(test_unregistered_issuer)
{
    rp_record r = base(RP_REC_VOUCH, 2, 1);
    r.body.vouch.subject = pk[3];
    r.body.vouch.relation = RP_VOUCH_KNOWS;
    sign(&r, 0, 2);
    refused(&r, 1, RP_ERR_NOT_REGISTERED);
}
END_TEST

START_TEST(test_sequence)
{
    register_all(2);
    rp_record v = base(RP_REC_VOUCH, 1, 3); /* expected 2 */
    v.body.vouch.subject = pk[2];
    v.body.vouch.relation = RP_VOUCH_KNOWS;
    sign(&v, 0, 1);
    refused(&v, 1, RP_ERR_BAD_SEQUENCE);
    v.seq = 2;
    sign(&v, 0, 1);
    ok(&v, 1);
    /* The same record again is a duplicate, not just a stale sequence. */
    refused(&v, 1, RP_ERR_DUPLICATE_RECORD);
    ck_assert_uint_eq(seq_of(1), 2);
}
END_TEST

START_TEST(test_record_time)
{
    register_all(1);
    rp_record v = base(RP_REC_IDENTITY, 1, 2);
    v.body.identity.role = RP_ROLE_BRAND;
    strcpy(v.body.identity.name, "later");
    v.body.identity.name_len = 5;
    rp_recovery_commitment(&v.body.identity.recovery, &pk[NKEYS - 1]);
    v.time = now_s + 5 + gen->params.time_tolerance_s + 1;
    sign(&v, 0, 1);
    refused(&v, 1, RP_ERR_RECORD_TIME);
    v.time = now_s + 10;
    sign(&v, 0, 1);
    ok(&v, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(st, &pk[1], &s), 0);
    ck_assert_uint_eq(s.role, RP_ROLE_BRAND);
}
END_TEST

START_TEST(test_bad_signature)
{
    register_all(2);
    rp_record v = base(RP_REC_VOUCH, 1, 2);
    v.body.vouch.subject = pk[2];
    v.body.vouch.relation = RP_VOUCH_KNOWS;
    sign(&v, 0, 2); /* signed by the wrong identity */
    refused(&v, 1, RP_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(last_err.index, 0);
}
END_TEST

/* ---- engagements and reviews --------------------------------------------- */

START_TEST(test_engagement_rules)
{
    register_all(2);
    rp_record e = engagement(1, 2, 1); /* with itself */
    refused(&e, 1, RP_ERR_SELF_ENGAGEMENT);
    e = engagement(1, 2, 5); /* 5 is not registered */
    refused(&e, 1, RP_ERR_UNKNOWN_PARTY);
    e = engagement(1, 2, 2);
    e.body.engagement.expiry = now_s + 2; /* expires before the next block */
    sign(&e, 0, 1);
    sign(&e, 1, 2);
    refused(&e, 1, RP_ERR_EXPIRED);
    e.body.engagement.expiry = now_s + gen->params.max_engagement_ttl_s + 60;
    sign(&e, 0, 1);
    sign(&e, 1, 2);
    refused(&e, 1, RP_ERR_EXPIRED);
    e = engagement(1, 2, 2);
    e.sigs[1] = e.sigs[0]; /* the counterparty never signed */
    refused(&e, 1, RP_ERR_BAD_SIGNATURE);
    e = engagement(1, 2, 2);
    ok(&e, 1);
    /* Only the initiator's sequence moved. */
    ck_assert_uint_eq(seq_of(1), 2);
    ck_assert_uint_eq(seq_of(2), 1);
}
END_TEST

START_TEST(test_review_rules)
{
    register_all(3);
    rp_record e = engagement(1, 2, 2);
    ok(&e, 1);
    rp_hash eid = id_of(&e);
    rp_hash bogus;
    memset(bogus.bytes, 9, 32);

    rp_record r = review(1, 3, 2, &bogus, 5);
    refused(&r, 1, RP_ERR_NO_ENGAGEMENT);
    r = review(3, 2, 2, &eid, 5); /* 3 is not a party */
    refused(&r, 1, RP_ERR_NOT_A_PARTY);
    r = review(1, 3, 3, &eid, 5); /* subject is not the other party */
    refused(&r, 1, RP_ERR_NOT_A_PARTY);

    rp_record both[2] = {review(1, 3, 2, &eid, 5), review(2, 2, 1, &eid, 4)};
    ok(both, 2); /* one per direction, in the same block */
    rp_record again = review(1, 4, 2, &eid, 1);
    refused(&again, 1, RP_ERR_DUPLICATE_REVIEW);

    /* Revoke, then a corrected review is allowed. */
    rp_record rv = base(RP_REC_REVOKE, 1, 4);
    rv.body.revoke.target = id_of(&both[0]);
    rv.body.revoke.reason = RP_REVOKE_MISTAKE;
    sign(&rv, 0, 1);
    ok(&rv, 1);
    again = review(1, 5, 2, &eid, 3);
    ok(&again, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(st, &pk[2], &s), 0);
    ck_assert_uint_eq(s.reviews_received, 2);
}
END_TEST

START_TEST(test_review_of_pending_engagement_same_block)
{
    register_all(2);
    rp_record e = engagement(1, 2, 2);
    rp_hash eid = id_of(&e);
    rp_record recs[2] = {e, review(2, 2, 1, &eid, 5)};
    ok(recs, 2);
    /* In the wrong order the review comes first and fails: the whole block
     * is refused. */
    rp_record e2 = engagement(1, 3, 2);
    rp_hash eid2 = id_of(&e2);
    rp_record bad[2] = {review(2, 3, 1, &eid2, 5), e2};
    refused(bad, 2, RP_ERR_NO_ENGAGEMENT);
}
END_TEST

/* ---- vouches and revocations ----------------------------------------------- */

static rp_record vouch(size_t from, uint64_t seq, size_t to)
{
    rp_record r = base(RP_REC_VOUCH, from, seq);
    r.body.vouch.subject = pk[to];
    r.body.vouch.relation = RP_VOUCH_REPRESENTS;
    sign(&r, 0, from);
    return r;
}

START_TEST(test_vouch_rules)
{
    register_all(2);
    rp_record v = vouch(1, 2, 1);
    refused(&v, 1, RP_ERR_SELF_VOUCH);
    v = vouch(1, 2, 6);
    refused(&v, 1, RP_ERR_UNKNOWN_PARTY);
    v = vouch(1, 2, 2);
    ok(&v, 1);
    rp_record v2 = vouch(1, 3, 2);
    refused(&v2, 1, RP_ERR_DUPLICATE_VOUCH);
}
END_TEST

START_TEST(test_revoke_rules)
{
    register_all(3);
    rp_record v = vouch(1, 2, 2);
    ok(&v, 1);
    rp_record rv = base(RP_REC_REVOKE, 3, 2); /* not the issuer */
    rv.body.revoke.target = id_of(&v);
    rv.body.revoke.reason = RP_REVOKE_OTHER;
    sign(&rv, 0, 3);
    refused(&rv, 1, RP_ERR_NOT_ISSUER);
    rv = base(RP_REC_REVOKE, 1, 3);
    memset(rv.body.revoke.target.bytes, 1, 32);
    rv.body.revoke.reason = RP_REVOKE_OTHER;
    sign(&rv, 0, 1);
    refused(&rv, 1, RP_ERR_NO_TARGET);
    /* Revoking an identity record is not allowed either. */
    rp_record reg = identity(1, &pk[NKEYS - 1]);
    rv.body.revoke.target = id_of(&reg);
    sign(&rv, 0, 1);
    refused(&rv, 1, RP_ERR_NO_TARGET);
    rv.body.revoke.target = id_of(&v);
    sign(&rv, 0, 1);
    ok(&rv, 1);
    rp_record again = base(RP_REC_REVOKE, 1, 4);
    again.body.revoke.target = id_of(&v);
    again.body.revoke.reason = RP_REVOKE_OTHER;
    sign(&again, 0, 1);
    refused(&again, 1, RP_ERR_ALREADY_REVOKED);
    /* The pair is free for a new vouch. */
    rp_record v3 = vouch(1, 4, 2);
    ok(&v3, 1);
}
END_TEST

/* ---- rotation ------------------------------------------------------------------ */

START_TEST(test_rotate_by_current)
{
    register_all(2);
    rp_record ro = base(RP_REC_ROTATE, 1, 2);
    ro.body.rotate.new_key = pk[2]; /* in use by identity 2 */
    rp_recovery_commitment(&ro.body.rotate.new_recovery, &pk[NKEYS - 1]);
    ro.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    sign(&ro, 0, 1);
    refused(&ro, 1, RP_ERR_KEY_USED);
    /* Dropping the recovery commitment with the current key is refused. */
    ro.body.rotate.new_key = pk[7];
    memset(ro.body.rotate.new_recovery.bytes, 0, 32);
    sign(&ro, 0, 1);
    refused(&ro, 1, RP_ERR_RECOVERY_MISMATCH);
    rp_recovery_commitment(&ro.body.rotate.new_recovery, &pk[NKEYS - 1]);
    sign(&ro, 0, 1);
    ok(&ro, 1);
    /* Now only the new key signs for identity 1. */
    rp_record v = vouch(1, 3, 2); /* signed with the old key */
    refused(&v, 1, RP_ERR_BAD_SIGNATURE);
    sign(&v, 0, 7);
    ok(&v, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(st, &pk[1], &s), 0);
    ck_assert_int_eq(memcmp(s.key.bytes, pk[7].bytes, 32), 0);
    /* The old key stays used forever: nobody may rotate back to it. */
    rp_record back = base(RP_REC_ROTATE, 2, 2);
    back.body.rotate.new_key = pk[1];
    rp_recovery_commitment(&back.body.rotate.new_recovery, &pk[NKEYS - 1]);
    back.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    sign(&back, 0, 2);
    refused(&back, 1, RP_ERR_KEY_USED);
}
END_TEST

START_TEST(test_rotate_by_recovery)
{
    register_all(1); /* recovery key: pk[NKEYS-1] */
    rp_record ro = base(RP_REC_ROTATE, 1, 2);
    ro.body.rotate.new_key = pk[8];
    memset(ro.body.rotate.new_recovery.bytes, 0, 32);
    ro.body.rotate.auth = RP_ROTATE_BY_RECOVERY;
    ro.body.rotate.recovery_key = pk[9]; /* not the committed one */
    sign(&ro, 0, 9);
    refused(&ro, 1, RP_ERR_RECOVERY_MISMATCH);
    ro.body.rotate.recovery_key = pk[NKEYS - 1];
    sign(&ro, 0, 1); /* signed by the current key, not the recovery key */
    refused(&ro, 1, RP_ERR_BAD_SIGNATURE);
    sign(&ro, 0, NKEYS - 1);
    ok(&ro, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(st, &pk[1], &s), 0);
    ck_assert_int_eq(memcmp(s.key.bytes, pk[8].bytes, 32), 0);
}
END_TEST

START_TEST(test_update_keeps_recovery)
{
    register_all(1);
    rp_record u = base(RP_REC_IDENTITY, 1, 2);
    u.body.identity.role = RP_ROLE_AGENT;
    strcpy(u.body.identity.name, "renamed");
    u.body.identity.name_len = 7;
    rp_recovery_commitment(&u.body.identity.recovery, &pk[3]); /* a different one */
    sign(&u, 0, 1);
    refused(&u, 1, RP_ERR_RECOVERY_MISMATCH);
    rp_recovery_commitment(&u.body.identity.recovery, &pk[NKEYS - 1]);
    sign(&u, 0, 1);
    ok(&u, 1);
}
END_TEST

/* ---- blocks ------------------------------------------------------------------- */

START_TEST(test_bad_record_leaves_no_trace)
{
    register_all(2);
    rp_record good = vouch(1, 2, 2);
    rp_record bad = vouch(2, 3, 1); /* wrong sequence */
    rp_record both[2] = {good, bad};
    refused(both, 2, RP_ERR_BAD_SEQUENCE);
    ck_assert_int_eq(last_err.index, 1);
    ck_assert_uint_eq(seq_of(1), 1); /* the good record was not applied */
    uint64_t n;
    ck_assert_int_eq(rp_store_count(st, RP_DB_VOUCHES, &n), 0);
    ck_assert_uint_eq(n, 0);
    ok(&good, 1);
}
END_TEST

/* Build a valid block and commit by hand, then break one header field at a
 * time: each is refused with its own code and the tip does not move. */
START_TEST(test_block_checks)
{
    register_all(1);
    rp_record v = base(RP_REC_IDENTITY, 1, 2);
    v.body.identity.role = RP_ROLE_AGENT;
    strcpy(v.body.identity.name, "x");
    v.body.identity.name_len = 1;
    rp_recovery_commitment(&v.body.identity.recovery, &pk[NKEYS - 1]);
    now_s += 5;
    v.time = now_s;
    sign(&v, 0, 1);
    unsigned char rb[RP_RECORD_MAX_SIZE], blk[4096], cbuf[RP_COMMIT_MAX_SIZE];
    rp_block_item item = {rb, 0};
    ck_assert_int_eq(rp_record_encode(&v, rb, sizeof rb, &item.len), 0);
    rp_header good;
    rp_store_error err;
    ck_assert_int_eq(
        rp_store_prepare_block(st, &item, 1, now_s * 1000, 0, NULL, NULL, &good, &err), 0);

    static const int wants[] = {RP_ERR_WRONG_CHAIN, RP_ERR_BLOCK_HEIGHT,      RP_ERR_BLOCK_PREV,
                                RP_ERR_BLOCK_TIME,  RP_ERR_BLOCK_VALIDATORS,  RP_ERR_BLOCK_ROOT,
                                RP_ERR_BLOCK_STATE, RP_ERR_BLOCK_PREV_COMMIT, RP_ERR_BLOCK_EPOCH,
                                RP_ERR_COMMIT,      0};
    for (size_t c = 0; c < sizeof wants / sizeof wants[0]; c++) {
        rp_header h = good;
        int weak_commit = 0;
        switch (wants[c]) {
        case RP_ERR_WRONG_CHAIN: h.chain_id.bytes[0] ^= 1; break;
        case RP_ERR_BLOCK_HEIGHT: h.height++; break;
        case RP_ERR_BLOCK_PREV: h.prev_hash.bytes[3] ^= 1; break;
        case RP_ERR_BLOCK_TIME: h.time_ms = T0 * 1000; break;
        case RP_ERR_BLOCK_VALIDATORS: h.proposer = 1; break;
        case RP_ERR_BLOCK_ROOT: h.records_root.bytes[0] ^= 1; break;
        case RP_ERR_BLOCK_STATE: h.state_hash.bytes[0] ^= 1; break;
        case RP_ERR_BLOCK_PREV_COMMIT: h.prev_commit_hash.bytes[0] ^= 1; break;
        case RP_ERR_BLOCK_EPOCH: h.epoch = 1; break;
        case RP_ERR_COMMIT: weak_commit = 1; break;
        default: break;
        }
        size_t blen, clen;
        ck_assert_int_eq(rp_block_encode(&h, &item, 1, blk, sizeof blk, &blen), 0);
        rp_hash hh, vote;
        rp_header_hash(&hh, &h);
        rp_vote_message(&vote, chain(), h.height, 0, RP_VOTE_PRECOMMIT, &hh);
        rp_commit cm;
        memset(&cm, 0, sizeof cm);
        cm.version = RP_COMMIT_VERSION;
        cm.height = h.height;
        cm.block_hash = hh;
        cm.count = 1;
        unsigned char aux[32] = {0};
        /* A commit signed by a non-validator key has no power. */
        ck_assert_int_eq(rp_sign(&cm.sigs[0].sig, vote.bytes, 32, &sk[weak_commit ? 3 : 0], aux),
                         0);
        ck_assert_int_eq(rp_commit_encode(&cm, cbuf, sizeof cbuf, &clen), 0);
        rp_tip before, after;
        ck_assert_int_eq(rp_store_tip(st, &before), 0);
        int rc = rp_store_apply_block(st, blk, blen, cbuf, clen, NULL, NULL, &err);
        ck_assert_msg(rc == wants[c], "case %zu: got %d (%s)", c, rc, err.msg);
        ck_assert_int_eq(rp_store_tip(st, &after), 0);
        if (wants[c])
            ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
        else
            ck_assert_uint_eq(after.height, before.height + 1);
    }
    /* Garbage never crashes and changes nothing. */
    memset(blk, 0xAB, 600);
    ck_assert_int_ne(rp_store_apply_block(st, blk, 600, cbuf, 10, NULL, NULL, &err), 0);
}
END_TEST

/* ---- the datadir ---------------------------------------------------------------- */

START_TEST(test_reopen_and_lock)
{
    register_all(3);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(st, &tip), 0);
    ck_assert(rp_store_is_durable(st));

    /* A second writer is refused while the first holds the datadir, also
     * from another process. */
    rp_store *other = NULL;
    rp_store_error err;
    ck_assert_int_eq(rp_store_open(&other, dir, NULL, &err), RP_ERR_LOCKED);
    ck_assert_ptr_null(other);
    pid_t pid = fork();
    if (pid == 0) {
        rp_store *o = NULL;
        _exit(rp_store_open(&o, dir, NULL, NULL) == RP_ERR_LOCKED ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Readers are welcome. */
    rp_store_opts ro = {.read_only = 1};
    ck_assert_int_eq(rp_store_open(&other, dir, &ro, &err), 0);
    rp_tip t2;
    ck_assert_int_eq(rp_store_tip(other, &t2), 0);
    ck_assert_int_eq(memcmp(&tip, &t2, sizeof tip), 0);
    rp_store_close(other);

    rp_store_close(st);
    st = NULL;
    /* Any other chain id: the head hash will do. */
    ck_assert_int_eq(rp_store_open_chain(&st, dir, &tip.head_hash, NULL, &err),
                     RP_ERR_CHAIN_MISMATCH);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(rp_store_open(&st, dir, NULL, &err), 0);
    ck_assert_int_eq(rp_store_tip(st, &t2), 0);
    ck_assert_int_eq(memcmp(&tip, &t2, sizeof tip), 0);
    ck_assert_uint_eq(seq_of(3), 1);

    /* Creating over an existing ledger is refused. */
    ck_assert_int_eq(rp_store_create(&other, dir, gen, NULL, &err), -EEXIST);
}
END_TEST

START_TEST(test_foreign_schema)
{
    unsigned char v[4] = {0, 0, 0, 99};
    ck_assert_int_eq(rp_store_debug_put(st, RP_DB_META, "schema", 6, v, 4), 0);
    rp_store_close(st);
    st = NULL;
    rp_store_error err;
    ck_assert_int_eq(rp_store_open(&st, dir, NULL, &err), RP_ERR_SCHEMA);
    ck_assert_ptr_nonnull(strstr(err.msg, "schema version 99"));
    ck_assert_int_eq(rp_store_open(&st, "/nonexistent-dir", NULL, &err), -ENOENT);
}
END_TEST

START_TEST(test_compare_state)
{
    register_all(2);
    rp_record v = vouch(1, 2, 2);
    ok(&v, 1);

    /* Replay into a second store: identical state. */
    char dir2[64];
    strcpy(dir2, "/tmp/rp-test-ledger2-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir2));
    rp_store *b;
    rp_store_error err;
    ck_assert_int_eq(rp_store_create(&b, dir2, gen, NULL, &err), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(st, &tip), 0);
    for (uint64_t h = 1; h <= tip.height; h++) {
        unsigned char *blk, *cm;
        size_t bl, cl;
        ck_assert_int_eq(rp_store_read_block(st, h, &blk, &bl), 0);
        ck_assert_int_eq(rp_store_read_commit(st, h, &cm, &cl), 0);
        ck_assert_int_eq(rp_store_apply_block(b, blk, bl, cm, cl, NULL, NULL, &err), 0);
        free(blk);
        free(cm);
    }
    ck_assert_int_eq(rp_store_compare_state(st, b, &err), 0);
    rp_tip tb;
    ck_assert_int_eq(rp_store_tip(b, &tb), 0);
    ck_assert_int_eq(memcmp(&tip, &tb, sizeof tip), 0);

    /* Flip one byte of one identity: the comparison names table and key. */
    unsigned char *val;
    size_t len;
    ck_assert_int_eq(rp_store_debug_get(b, RP_DB_IDENTITIES, pk[2].bytes, 32, &val, &len), 0);
    val[len - 1] ^= 1;
    ck_assert_int_eq(rp_store_debug_put(b, RP_DB_IDENTITIES, pk[2].bytes, 32, val, len), 0);
    free(val);
    ck_assert_int_eq(rp_store_compare_state(st, b, &err), RP_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "identities"));
    rp_store_close(b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir2);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *ledger_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc;
    tc = tcase_create("identity");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_register);
    tcase_add_test(tc, test_register_needs_pow);
    tcase_add_test(tc, test_register_twice);
    tcase_add_test(tc, test_unregistered_issuer);
    tcase_add_test(tc, test_sequence);
    tcase_add_test(tc, test_record_time);
    tcase_add_test(tc, test_bad_signature);
    tcase_add_test(tc, test_update_keeps_recovery);
    suite_add_tcase(s, tc);

    tc = tcase_create("engagement");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_engagement_rules);
    tcase_add_test(tc, test_review_rules);
    tcase_add_test(tc, test_review_of_pending_engagement_same_block);
    suite_add_tcase(s, tc);

    tc = tcase_create("vouch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vouch_rules);
    tcase_add_test(tc, test_revoke_rules);
    suite_add_tcase(s, tc);

    tc = tcase_create("rotate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rotate_by_current);
    tcase_add_test(tc, test_rotate_by_recovery);
    suite_add_tcase(s, tc);

    tc = tcase_create("block");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bad_record_leaves_no_trace);
    tcase_add_test(tc, test_block_checks);
    suite_add_tcase(s, tc);

    tc = tcase_create("datadir");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reopen_and_lock);
    tcase_add_test(tc, test_foreign_schema);
    tcase_add_test(tc, test_compare_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    SRunner *sr = srunner_create(ledger_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
