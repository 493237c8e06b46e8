/* Check suite for the ledger store and its validation rules: one test per
 * rule, accepting and rejecting; block-level checks; the one-transaction
 * guarantee (a block with one bad record leaves no trace); reopening,
 * locking and foreign datadirs; state comparison.
 *
 * Every test gets a fresh temporary datadir with a one-validator genesis
 * (chain_fixture.c), and drives the store exactly as a node does: records
 * are encoded, a block is produced (prepared, signed, applied).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/codec.h"
#include "ledger/epoch.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "ledger/pending.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/replay.h"
#include "ledger/schema.h"
#include "ledger/store.h"
#include "trust/trust.h"

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-test",
        .seed0 = 0x30,
        .dir_prefix = "/tmp/rp-test-ledger-",
    });
}

/* The error of the last refused() block. */
static rp_store_error last_err;

/* Produce a block that must be refused with want: it names its reason and
 * leaves the tip where it was. */
static void refused(const rp_record *recs, size_t n, int want)
{
    rp_tip before, after;
    ck_assert_int_eq(rp_store_tip(fx.st, &before), 0);
    int rc = fx_produce(recs, n, &last_err);
    ck_assert_msg(rc == want, "got %d (%s), want %d (%s)", rc, last_err.msg, want,
                  rp_strerror(want));
    ck_assert_str_ne(last_err.msg, "");
    ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
}

/* Register identities 1..n in one block, all with recovery key FX_NKEYS - 1. */
static void register_all(size_t n)
{
    rp_record r[16];
    for (size_t i = 1; i <= n; i++)
        r[i - 1] = fx_identity(i, &fx.pk[FX_NKEYS - 1], RP_ROLE_TALENT, "identity");
    fx_ok(r, n);
}

static uint64_t seq_of(size_t i)
{
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[i], &s), 0);
    return s.seq;
}

/* ---- identity and sequence ---------------------------------------------- */

START_TEST(test_register)
{
    rp_record r = fx_identity(1, NULL, RP_ROLE_TALENT, "identity");
    fx_ok(&r, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[1], &s), 0);
    ck_assert_uint_eq(s.seq, 1);
    ck_assert_str_eq(s.name, "identity 1");
    ck_assert_int_eq(memcmp(s.key.bytes, fx.pk[1].bytes, 32), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.height, 1);
    uint64_t h;
    uint32_t idx;
    rp_hash id = fx_id(&r);
    ck_assert_int_eq(rp_store_find_record(fx.st, &id, &h, &idx), 0);
    ck_assert_uint_eq(h, 1);
    ck_assert_uint_eq(idx, 0);
}
END_TEST

START_TEST(test_register_needs_pow)
{
    rp_record r = fx_identity(1, NULL, RP_ROLE_TALENT, "identity");
    /* Find a nonce that fails the difficulty. */
    for (uint64_t n = 0;; n++) {
        r.body.identity.pow_nonce = n;
        if (!rp_identity_pow_ok(fx_chain(), &r, fx.gen->params.pow_difficulty))
            break;
    }
    fx_sign(&r, 0, 1);
    refused(&r, 1, RP_ERR_POW);
}
END_TEST

START_TEST(test_register_twice)
{
    rp_record r = fx_identity(1, NULL, RP_ROLE_TALENT, "identity");
    fx_ok(&r, 1);
    r = fx_identity(1, NULL, RP_ROLE_TALENT, "identity");
    r.body.identity.name[0] = 'I'; /* a different record, same sequence 1 */
    ck_assert_int_eq(rp_identity_pow_solve(&r, fx_chain(), 4, 1 << 20), 0);
    fx_sign(&r, 0, 1);
    refused(&r, 1, RP_ERR_ALREADY_REGISTERED);
}
END_TEST

START_TEST(test_unregistered_issuer)
{
    rp_record r = fx_base(RP_REC_VOUCH, 2, 1);
    r.body.vouch.subject = fx.pk[3];
    r.body.vouch.relation = RP_VOUCH_KNOWS;
    fx_sign(&r, 0, 2);
    refused(&r, 1, RP_ERR_NOT_REGISTERED);
}
END_TEST

START_TEST(test_sequence)
{
    register_all(2);
    rp_record v = fx_base(RP_REC_VOUCH, 1, 3); /* expected 2 */
    v.body.vouch.subject = fx.pk[2];
    v.body.vouch.relation = RP_VOUCH_KNOWS;
    fx_sign(&v, 0, 1);
    refused(&v, 1, RP_ERR_BAD_SEQUENCE);
    v.seq = 2;
    fx_sign(&v, 0, 1);
    fx_ok(&v, 1);
    /* The same record again is a duplicate, not just a stale sequence. */
    refused(&v, 1, RP_ERR_DUPLICATE_RECORD);
    ck_assert_uint_eq(seq_of(1), 2);
}
END_TEST

START_TEST(test_record_time)
{
    register_all(1);
    rp_record v = fx_base(RP_REC_IDENTITY, 1, 2);
    v.body.identity.role = RP_ROLE_BRAND;
    strcpy(v.body.identity.name, "later");
    v.body.identity.name_len = 5;
    rp_recovery_commitment(&v.body.identity.recovery, &fx.pk[FX_NKEYS - 1]);
    v.time = fx.now_s + 5 + fx.gen->params.time_tolerance_s + 1;
    fx_sign(&v, 0, 1);
    refused(&v, 1, RP_ERR_RECORD_TIME);
    v.time = fx.now_s + 10;
    fx_sign(&v, 0, 1);
    fx_ok(&v, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[1], &s), 0);
    ck_assert_uint_eq(s.role, RP_ROLE_BRAND);
}
END_TEST

START_TEST(test_bad_signature)
{
    register_all(2);
    rp_record v = fx_base(RP_REC_VOUCH, 1, 2);
    v.body.vouch.subject = fx.pk[2];
    v.body.vouch.relation = RP_VOUCH_KNOWS;
    fx_sign(&v, 0, 2); /* signed by the wrong identity */
    refused(&v, 1, RP_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(last_err.index, 0);
}
END_TEST

/* ---- engagements and reviews --------------------------------------------- */

START_TEST(test_engagement_rules)
{
    register_all(2);
    rp_record e = fx_engagement(1, 2, 1, RP_ENG_GIG); /* with itself */
    refused(&e, 1, RP_ERR_SELF_ENGAGEMENT);
    e = fx_engagement(1, 2, 5, RP_ENG_GIG); /* 5 is not registered */
    refused(&e, 1, RP_ERR_UNKNOWN_PARTY);
    e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    e.body.engagement.expiry = fx.now_s + 2; /* expires before the next block */
    fx_sign(&e, 0, 1);
    fx_sign(&e, 1, 2);
    refused(&e, 1, RP_ERR_EXPIRED);
    e.body.engagement.expiry = fx.now_s + fx.gen->params.max_engagement_ttl_s + 60;
    fx_sign(&e, 0, 1);
    fx_sign(&e, 1, 2);
    refused(&e, 1, RP_ERR_EXPIRED);
    e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    e.sigs[1] = e.sigs[0]; /* the counterparty never signed */
    refused(&e, 1, RP_ERR_BAD_SIGNATURE);
    e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    fx_ok(&e, 1);
    /* Only the initiator's sequence moved. */
    ck_assert_uint_eq(seq_of(1), 2);
    ck_assert_uint_eq(seq_of(2), 1);
}
END_TEST

START_TEST(test_review_rules)
{
    register_all(3);
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    fx_ok(&e, 1);
    rp_hash eid = fx_id(&e);
    rp_hash bogus;
    memset(bogus.bytes, 9, 32);

    rp_record r = fx_review(1, 3, 2, &bogus, 5);
    refused(&r, 1, RP_ERR_NO_ENGAGEMENT);
    r = fx_review(3, 2, 2, &eid, 5); /* 3 is not a party */
    refused(&r, 1, RP_ERR_NOT_A_PARTY);
    r = fx_review(1, 3, 3, &eid, 5); /* subject is not the other party */
    refused(&r, 1, RP_ERR_NOT_A_PARTY);

    rp_record both[2] = {fx_review(1, 3, 2, &eid, 5), fx_review(2, 2, 1, &eid, 4)};
    fx_ok(both, 2); /* one per direction, in the same block */
    rp_record again = fx_review(1, 4, 2, &eid, 1);
    refused(&again, 1, RP_ERR_DUPLICATE_REVIEW);

    /* Revoke, then a corrected review is allowed. */
    rp_record rv = fx_base(RP_REC_REVOKE, 1, 4);
    rv.body.revoke.target = fx_id(&both[0]);
    rv.body.revoke.reason = RP_REVOKE_MISTAKE;
    fx_sign(&rv, 0, 1);
    fx_ok(&rv, 1);
    again = fx_review(1, 5, 2, &eid, 3);
    fx_ok(&again, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[2], &s), 0);
    ck_assert_uint_eq(s.reviews_received, 2);
}
END_TEST

START_TEST(test_review_of_pending_engagement_same_block)
{
    register_all(2);
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    rp_hash eid = fx_id(&e);
    rp_record recs[2] = {e, fx_review(2, 2, 1, &eid, 5)};
    fx_ok(recs, 2);
    /* In the wrong order the review comes first and fails: the whole block
     * is refused. */
    rp_record e2 = fx_engagement(1, 3, 2, RP_ENG_GIG);
    rp_hash eid2 = fx_id(&e2);
    rp_record bad[2] = {fx_review(2, 3, 1, &eid2, 5), e2};
    refused(bad, 2, RP_ERR_NO_ENGAGEMENT);
}
END_TEST

/* ---- vouches and revocations ----------------------------------------------- */

START_TEST(test_vouch_rules)
{
    register_all(2);
    rp_record v = fx_vouch(1, 2, 1);
    refused(&v, 1, RP_ERR_SELF_VOUCH);
    v = fx_vouch(1, 2, 6);
    refused(&v, 1, RP_ERR_UNKNOWN_PARTY);
    v = fx_vouch(1, 2, 2);
    fx_ok(&v, 1);
    rp_record v2 = fx_vouch(1, 3, 2);
    refused(&v2, 1, RP_ERR_DUPLICATE_VOUCH);
}
END_TEST

START_TEST(test_revoke_rules)
{
    register_all(3);
    rp_record v = fx_vouch(1, 2, 2);
    fx_ok(&v, 1);
    rp_record rv = fx_base(RP_REC_REVOKE, 3, 2); /* not the issuer */
    rv.body.revoke.target = fx_id(&v);
    rv.body.revoke.reason = RP_REVOKE_OTHER;
    fx_sign(&rv, 0, 3);
    refused(&rv, 1, RP_ERR_NOT_ISSUER);
    rv = fx_base(RP_REC_REVOKE, 1, 3);
    memset(rv.body.revoke.target.bytes, 1, 32);
    rv.body.revoke.reason = RP_REVOKE_OTHER;
    fx_sign(&rv, 0, 1);
    refused(&rv, 1, RP_ERR_NO_TARGET);
    /* Revoking an identity record is not allowed either. */
    rp_record reg = fx_identity(1, &fx.pk[FX_NKEYS - 1], RP_ROLE_TALENT, "identity");
    rv.body.revoke.target = fx_id(&reg);
    fx_sign(&rv, 0, 1);
    refused(&rv, 1, RP_ERR_NO_TARGET);
    rv.body.revoke.target = fx_id(&v);
    fx_sign(&rv, 0, 1);
    fx_ok(&rv, 1);
    rp_record again = fx_base(RP_REC_REVOKE, 1, 4);
    again.body.revoke.target = fx_id(&v);
    again.body.revoke.reason = RP_REVOKE_OTHER;
    fx_sign(&again, 0, 1);
    refused(&again, 1, RP_ERR_ALREADY_REVOKED);
    /* The pair is free for a new vouch. */
    rp_record v3 = fx_vouch(1, 4, 2);
    fx_ok(&v3, 1);
}
END_TEST

/* ---- rotation ------------------------------------------------------------------ */

START_TEST(test_rotate_by_current)
{
    register_all(2);
    rp_record ro = fx_base(RP_REC_ROTATE, 1, 2);
    ro.body.rotate.new_key = fx.pk[2]; /* in use by identity 2 */
    rp_recovery_commitment(&ro.body.rotate.new_recovery, &fx.pk[FX_NKEYS - 1]);
    ro.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    fx_sign(&ro, 0, 1);
    refused(&ro, 1, RP_ERR_KEY_USED);
    /* Dropping the recovery commitment with the current key is refused. */
    ro.body.rotate.new_key = fx.pk[7];
    memset(ro.body.rotate.new_recovery.bytes, 0, 32);
    fx_sign(&ro, 0, 1);
    refused(&ro, 1, RP_ERR_RECOVERY_MISMATCH);
    rp_recovery_commitment(&ro.body.rotate.new_recovery, &fx.pk[FX_NKEYS - 1]);
    fx_sign(&ro, 0, 1);
    fx_ok(&ro, 1);
    /* Now only the new key signs for identity 1. */
    rp_record v = fx_vouch(1, 3, 2); /* signed with the old key */
    refused(&v, 1, RP_ERR_BAD_SIGNATURE);
    fx_sign(&v, 0, 7);
    fx_ok(&v, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[1], &s), 0);
    ck_assert_int_eq(memcmp(s.key.bytes, fx.pk[7].bytes, 32), 0);
    /* The old key stays used forever: nobody may rotate back to it. */
    rp_record back = fx_base(RP_REC_ROTATE, 2, 2);
    back.body.rotate.new_key = fx.pk[1];
    rp_recovery_commitment(&back.body.rotate.new_recovery, &fx.pk[FX_NKEYS - 1]);
    back.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    fx_sign(&back, 0, 2);
    refused(&back, 1, RP_ERR_KEY_USED);
}
END_TEST

START_TEST(test_rotate_by_recovery)
{
    register_all(1); /* recovery key: fx.pk[FX_NKEYS-1] */
    rp_record ro = fx_base(RP_REC_ROTATE, 1, 2);
    ro.body.rotate.new_key = fx.pk[8];
    memset(ro.body.rotate.new_recovery.bytes, 0, 32);
    ro.body.rotate.auth = RP_ROTATE_BY_RECOVERY;
    ro.body.rotate.recovery_key = fx.pk[9]; /* not the committed one */
    fx_sign(&ro, 0, 9);
    refused(&ro, 1, RP_ERR_RECOVERY_MISMATCH);
    ro.body.rotate.recovery_key = fx.pk[FX_NKEYS - 1];
    fx_sign(&ro, 0, 1); /* signed by the current key, not the recovery key */
    refused(&ro, 1, RP_ERR_BAD_SIGNATURE);
    fx_sign(&ro, 0, FX_NKEYS - 1);
    fx_ok(&ro, 1);
    rp_identity_state s;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[1], &s), 0);
    ck_assert_int_eq(memcmp(s.key.bytes, fx.pk[8].bytes, 32), 0);
}
END_TEST

START_TEST(test_update_keeps_recovery)
{
    register_all(1);
    rp_record u = fx_base(RP_REC_IDENTITY, 1, 2);
    u.body.identity.role = RP_ROLE_AGENT;
    strcpy(u.body.identity.name, "renamed");
    u.body.identity.name_len = 7;
    rp_recovery_commitment(&u.body.identity.recovery, &fx.pk[3]); /* a different one */
    fx_sign(&u, 0, 1);
    refused(&u, 1, RP_ERR_RECOVERY_MISMATCH);
    rp_recovery_commitment(&u.body.identity.recovery, &fx.pk[FX_NKEYS - 1]);
    fx_sign(&u, 0, 1);
    fx_ok(&u, 1);
}
END_TEST

/* ---- blocks ------------------------------------------------------------------- */

START_TEST(test_bad_record_leaves_no_trace)
{
    register_all(2);
    rp_record good = fx_vouch(1, 2, 2);
    rp_record bad = fx_vouch(2, 3, 1); /* wrong sequence */
    rp_record both[2] = {good, bad};
    refused(both, 2, RP_ERR_BAD_SEQUENCE);
    ck_assert_int_eq(last_err.index, 1);
    ck_assert_uint_eq(seq_of(1), 1); /* the good record was not applied */
    uint64_t n;
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_VOUCHES, &n), 0);
    ck_assert_uint_eq(n, 0);
    fx_ok(&good, 1);
}
END_TEST

/* Build a valid block and commit by hand, then break one header field at a
 * time: each is refused with its own code and the tip does not move. */
START_TEST(test_block_checks)
{
    register_all(1);
    rp_record v = fx_base(RP_REC_IDENTITY, 1, 2);
    v.body.identity.role = RP_ROLE_AGENT;
    strcpy(v.body.identity.name, "x");
    v.body.identity.name_len = 1;
    rp_recovery_commitment(&v.body.identity.recovery, &fx.pk[FX_NKEYS - 1]);
    fx.now_s += 5;
    v.time = fx.now_s;
    fx_sign(&v, 0, 1);
    unsigned char rb[RP_RECORD_MAX_SIZE], blk[4096], cbuf[RP_COMMIT_MAX_SIZE];
    rp_block_item item = {rb, 0};
    ck_assert_int_eq(rp_record_encode(&v, rb, sizeof rb, &item.len), 0);
    rp_header good;
    rp_store_error err;
    rp_checked *built;
    size_t taken, nrej;
    ck_assert_int_eq(rp_exec_build(fx.st, &item, 1, fx.now_s * 1000, 0, NULL, NULL, &built, &taken,
                                   NULL, 0, &nrej, &err),
                     0);
    ck_assert_uint_eq(taken, 1);
    ck_assert_uint_eq(nrej, 0);
    good = *rp_checked_header(built);
    rp_checked_free(built);

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
        case RP_ERR_BLOCK_TIME: h.time_ms = FX_T0 * 1000; break;
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
        rp_vote_message(&vote, fx_chain(), h.height, 0, RP_VOTE_PRECOMMIT, &hh);
        rp_commit cm;
        memset(&cm, 0, sizeof cm);
        cm.version = RP_COMMIT_VERSION;
        cm.height = h.height;
        cm.block_hash = hh;
        cm.count = 1;
        unsigned char aux[32] = {0};
        /* A commit signed by a non-validator key has no power. */
        ck_assert_int_eq(rp_sign(&cm.sigs[0].sig, vote.bytes, 32, &fx.sk[weak_commit ? 3 : 0], aux),
                         0);
        ck_assert_int_eq(rp_commit_encode(&cm, cbuf, sizeof cbuf, &clen), 0);
        rp_tip before, after;
        ck_assert_int_eq(rp_store_tip(fx.st, &before), 0);
        int rc = rp_exec_commit(fx.st, blk, blen, cbuf, clen, NULL, NULL, NULL, &err);
        ck_assert_msg(rc == wants[c], "case %zu: got %d (%s)", c, rc, err.msg);
        ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
        if (wants[c])
            ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
        else
            ck_assert_uint_eq(after.height, before.height + 1);
    }
    /* Garbage never crashes and changes nothing. */
    memset(blk, 0xAB, 600);
    ck_assert_int_ne(rp_exec_commit(fx.st, blk, 600, cbuf, 10, NULL, NULL, NULL, &err), 0);
}
END_TEST

/* ---- the datadir ---------------------------------------------------------------- */

START_TEST(test_reopen_and_lock)
{
    register_all(3);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert(rp_store_is_durable(fx.st));

    /* A second writer is refused while the first holds the datadir, also
     * from another process. */
    rp_store *other = NULL;
    rp_store_error err;
    ck_assert_int_eq(rp_store_open(&other, fx.datadir, NULL, &err), RP_ERR_LOCKED);
    ck_assert_ptr_null(other);
    pid_t pid = fork();
    if (pid == 0) {
        rp_store *o = NULL;
        _exit(rp_store_open(&o, fx.datadir, NULL, NULL) == RP_ERR_LOCKED ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Readers are welcome. */
    rp_store_opts ro = {.read_only = 1};
    ck_assert_int_eq(rp_store_open(&other, fx.datadir, &ro, &err), 0);
    rp_tip t2;
    ck_assert_int_eq(rp_store_tip(other, &t2), 0);
    ck_assert_int_eq(memcmp(&tip, &t2, sizeof tip), 0);
    rp_store_close(other);

    rp_store_close(fx.st);
    fx.st = NULL;
    /* Any other chain id: the head hash will do. */
    ck_assert_int_eq(rp_store_open_chain(&fx.st, fx.datadir, &tip.head_hash, NULL, &err),
                     RP_ERR_CHAIN_MISMATCH);
    ck_assert_ptr_null(fx.st);
    ck_assert_int_eq(rp_store_open(&fx.st, fx.datadir, NULL, &err), 0);
    ck_assert_int_eq(rp_store_tip(fx.st, &t2), 0);
    ck_assert_int_eq(memcmp(&tip, &t2, sizeof tip), 0);
    ck_assert_uint_eq(seq_of(3), 1);

    /* Creating over an existing ledger is refused. */
    ck_assert_int_eq(rp_store_create(&other, fx.datadir, fx.gen, NULL, &err), -EEXIST);
}
END_TEST

START_TEST(test_foreign_schema)
{
    unsigned char v[4] = {0, 0, 0, 99};
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_META, "schema", 6, v, 4), 0);
    rp_store_close(fx.st);
    fx.st = NULL;
    rp_store_error err;
    ck_assert_int_eq(rp_store_open(&fx.st, fx.datadir, NULL, &err), RP_ERR_SCHEMA);
    ck_assert_ptr_nonnull(strstr(err.msg, "schema version 99"));
    ck_assert_int_eq(rp_store_open(&fx.st, "/nonexistent-dir", NULL, &err), -ENOENT);
}
END_TEST

START_TEST(test_compare_state)
{
    register_all(2);
    rp_record v = fx_vouch(1, 2, 2);
    fx_ok(&v, 1);

    /* Replay into a second store: identical state. */
    char dir2[64];
    strcpy(dir2, "/tmp/rp-test-ledger2-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir2));
    rp_store *b;
    rp_store_error err;
    ck_assert_int_eq(rp_store_create(&b, dir2, fx.gen, NULL, &err), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    for (uint64_t h = 1; h <= tip.height; h++) {
        unsigned char *blk, *cm;
        size_t bl, cl;
        ck_assert_int_eq(rp_store_read_block(fx.st, h, &blk, &bl), 0);
        ck_assert_int_eq(rp_store_read_commit(fx.st, h, &cm, &cl), 0);
        ck_assert_int_eq(rp_exec_commit(b, blk, bl, cm, cl, NULL, NULL, NULL, &err), 0);
        free(blk);
        free(cm);
    }
    ck_assert_int_eq(rp_store_compare_state(fx.st, b, &err), 0);
    rp_tip tb;
    ck_assert_int_eq(rp_store_tip(b, &tb), 0);
    ck_assert_int_eq(memcmp(&tip, &tb, sizeof tip), 0);

    /* Flip one byte of one identity: the comparison names table and key. */
    unsigned char *val;
    size_t len;
    ck_assert_int_eq(rp_store_debug_get(b, RP_DB_IDENTITIES, fx.pk[2].bytes, 32, &val, &len), 0);
    val[len - 1] ^= 1;
    ck_assert_int_eq(rp_store_debug_put(b, RP_DB_IDENTITIES, fx.pk[2].bytes, 32, val, len), 0);
    free(val);
    ck_assert_int_eq(rp_store_compare_state(fx.st, b, &err), RP_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "identities"));
    rp_store_close(b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir2);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A full map refuses the block with RP_ERR_MAP_FULL and loses nothing; the
 * operator reopens with a larger map and the same block goes in. */
START_TEST(test_map_full)
{
    rp_store_error err;
    char cmd[256];
    rp_store_close(fx.st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ledger'", fx.datadir);
    ck_assert_int_eq(system(cmd), 0);
    rp_store_opts small = {.map_size = 256 << 10};
    ck_assert_int_eq(rp_store_create(&fx.st, fx.datadir, fx.gen, &small, &err), 0);
    register_all(10);

    rp_record recs[10];
    rp_tip before, after;
    int rc = 0;
    uint64_t seq = 1;
    for (int block = 0; block < 1000 && rc == 0; block++) {
        seq++;
        for (size_t i = 1; i <= 10; i++) {
            rp_record *r = &recs[i - 1];
            *r = fx_base(RP_REC_IDENTITY, i, seq);
            r->body.identity.role = RP_ROLE_TALENT;
            memset(r->body.identity.name, 'a' + (int)(seq % 26), RP_NAME_MAX);
            r->body.identity.name[RP_NAME_MAX] = '\0';
            r->body.identity.name_len = RP_NAME_MAX;
            memset(r->body.identity.profile.bytes, (int)seq, 32);
            rp_recovery_commitment(&r->body.identity.recovery, &fx.pk[FX_NKEYS - 1]);
            fx_sign(r, 0, i);
        }
        ck_assert_int_eq(rp_store_tip(fx.st, &before), 0);
        rc = fx_produce(recs, 10, &err);
    }
    ck_assert_int_eq(rc, RP_ERR_MAP_FULL);
    ck_assert_ptr_nonnull(strstr(err.msg, "map_size"));
    ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);

    rp_store_close(fx.st);
    rp_store_opts big = {.map_size = 64 << 20};
    ck_assert_int_eq(rp_store_open(&fx.st, fx.datadir, &big, &err), 0);
    ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
    fx_ok(recs, 10);
    ck_assert_uint_eq(seq_of(1), seq);
}
END_TEST

static int memcmp_32(const void *a, const void *b) { return memcmp(a, b, 32); }

/* ---- score epochs ----------------------------------------------------------- */

/* The expected score root of a snapshot, computed here from the test's own
 * record of what was live at the snapshot height, independently of the
 * store's snapshot code. */
struct live_edge {
    size_t rater, subject; /* key indices */
    uint8_t kind, rating;
    uint64_t time;
};

static rp_hash expected_root(const size_t *ids, size_t nids, const struct live_edge *le,
                             size_t nle, uint64_t snap_time, rp_trust_score *out)
{
    /* Identities in name order, as the ledger sorts them. */
    rp_pubkey names[FX_NKEYS];
    for (size_t i = 0; i < nids; i++)
        names[i] = fx.pk[ids[i]];
    qsort(names, nids, sizeof names[0], memcmp_32);
    rp_trust_edge edges[32];
    for (size_t e = 0; e < nle; e++) {
        memset(&edges[e], 0, sizeof edges[e]);
        for (size_t i = 0; i < nids; i++) {
            if (!memcmp(names[i].bytes, fx.pk[le[e].rater].bytes, 32))
                edges[e].rater = (uint32_t)i;
            if (!memcmp(names[i].bytes, fx.pk[le[e].subject].bytes, 32))
                edges[e].subject = (uint32_t)i;
        }
        edges[e].kind = le[e].kind;
        edges[e].rating = le[e].rating;
        edges[e].age_s = le[e].kind == RP_TRUST_VOUCH ? 0 : snap_time - le[e].time;
    }
    uint32_t pre = 0;
    for (size_t i = 0; i < nids; i++)
        if (!memcmp(names[i].bytes, fx.gen->pretrusted[0].bytes, 32))
            pre = (uint32_t)i;
    rp_trust_params tp;
    rp_trust_params_default(&tp);
    tp.damping_ppm = fx.gen->params.trust_damping_ppm;
    tp.max_iterations = fx.gen->params.trust_max_iterations;
    tp.tolerance_ppb = fx.gen->params.trust_tolerance_ppb;
    tp.half_life_days = fx.gen->params.review_half_life_days;
    ck_assert_int_eq(rp_trust_compute(out, nids, edges, nle, &pre, 1, &tp, NULL), 0);
    rp_hash leaves[FX_NKEYS], root;
    for (size_t i = 0; i < nids; i++) {
        unsigned char leaf[52];
        memcpy(leaf, names[i].bytes, 32);
        rp_writer w;
        rp_writer_init(&w, leaf + 32, 20);
        rp_put_u64(&w, out[i].trust);
        rp_put_u32(&w, out[i].rating);
        rp_put_u32(&w, out[i].reviews);
        rp_put_u16(&w, out[i].score);
        rp_put_u16(&w, out[i].confidence);
        ck_assert_int_eq(rp_writer_finish(&w, NULL), 0);
        rp_merkle_leaf(&leaves[i], leaf, sizeof leaf);
    }
    ck_assert_int_eq(rp_merkle_root(&root, leaves, nids), 0);
    return root;
}

static uint64_t block_time_s(uint64_t height)
{
    rp_header h;
    ck_assert_int_eq(rp_store_read_header(fx.st, height, &h), 0);
    return h.time_ms / 1000;
}

static void produce_empty_until(uint64_t height)
{
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    for (uint64_t h = tip.height; h < height; h++)
        fx_ok(NULL, 0);
}

START_TEST(test_epochs)
{
    rp_store_error err;
    char cmd[256];
    rp_store_close(fx.st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ledger'", fx.datadir);
    ck_assert_int_eq(system(cmd), 0);
    fx.gen->params.epoch_blocks = 4;
    fx.gen->params.score_delay_blocks = 2;
    ck_assert_int_eq(rp_store_create(&fx.st, fx.datadir, fx.gen, NULL, &err), 0);

    register_all(4);                                       /* height 1 */
    rp_record e[2] = {fx_engagement(1, 2, 2, RP_ENG_GIG), fx_engagement(3, 2, 2, RP_ENG_GIG)};
    fx_ok(e, 2);                                           /* height 2 */
    rp_hash e12 = fx_id(&e[0]), e32 = fx_id(&e[1]);
    rp_record r[3] = {fx_review(1, 3, 2, &e12, 5), fx_review(2, 2, 1, &e12, 4),
                      fx_review(3, 3, 2, &e32, 1)};
    fx_ok(r, 3);                                           /* height 3 */
    rp_record v = fx_vouch(1, 4, 3);
    fx_ok(&v, 1);                                          /* height 4: snapshot of epoch 1 */
    rp_record rv = fx_base(RP_REC_REVOKE, 1, 5);
    rv.body.revoke.target = fx_id(&r[0]);
    rv.body.revoke.reason = RP_REVOKE_RESOLVED;
    fx_sign(&rv, 0, 1);
    fx_ok(&rv, 1);                                         /* height 5 */

    rp_tip tip;
    rp_hash empty;
    rp_merkle_empty(&empty);
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.epoch, 0);
    ck_assert(rp_hash_eq(&tip.score_root, &empty));

    /* Epoch 1 is computed ahead, as the node does on its pool, and offered;
     * epoch 2 below is computed inline by its block. Both must agree with
     * the independent computation. */
    rp_epoch_result *ahead = NULL;
    ck_assert_int_eq(rp_store_epoch_compute(fx.st, 2, &ahead, &err), RP_ERR_NOT_FOUND);
    ck_assert_ptr_null(ahead);
    ck_assert_int_eq(rp_store_epoch_compute(fx.st, 1, &ahead, &err), 0);
    rp_epoch_info ahead_info;
    size_t ahead_edges;
    rp_epoch_result_info(ahead, &ahead_info, NULL, NULL, &ahead_edges);
    ck_assert_uint_eq(ahead_info.identities, 4);
    ck_assert_uint_eq(ahead_edges, 4);
    rp_store_epoch_offer(fx.st, ahead);
    fx_ok(NULL, 0);                                        /* height 6 = 4 + 2 */
    static const size_t ids[4] = {1, 2, 3, 4};
    struct live_edge le[4] = {
        {1, 2, RP_TRUST_REVIEW, 5, r[0].time}, {2, 1, RP_TRUST_REVIEW, 4, r[1].time},
        {3, 2, RP_TRUST_REVIEW, 1, r[2].time}, {1, 3, RP_TRUST_VOUCH, 0, v.time},
    };
    rp_trust_score sc[FX_NKEYS];
    /* The review revoked at height 5 still counts: the snapshot is height 4. */
    rp_hash want = expected_root(ids, 4, le, 4, block_time_s(4), sc);
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.epoch, 1);
    ck_assert(rp_hash_eq(&tip.score_root, &want));
    ck_assert(rp_hash_eq(&ahead_info.root, &want));
    rp_header h6;
    ck_assert_int_eq(rp_store_read_header(fx.st, 6, &h6), 0);
    ck_assert_uint_eq(h6.epoch, 1);
    ck_assert(rp_hash_eq(&h6.score_root, &want));
    /* Trust went somewhere: the pre-trusted identity 1 and those it trusts. */
    uint64_t total = 0;
    for (size_t i = 0; i < 4; i++)
        total += sc[i].trust;
    ck_assert_uint_gt(total, RP_TRUST_ONE / 2);

    /* Proofs: a row, and an identity with none; any change breaks them. */
    rp_score_proof *pf = malloc(sizeof *pf);
    ck_assert_ptr_nonnull(pf);
    const rp_genesis *g = rp_store_genesis(fx.st);
    ck_assert_int_eq(rp_store_score_proof(fx.st, &fx.pk[2], 1, pf), 0);
    ck_assert(pf->present);
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[2]), 1);
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[3]), 0);
    pf->row.score ^= 1;
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[2]), 0);
    pf->row.score ^= 1;
    pf->path[0].bytes[5] ^= 1;
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[2]), 0);
    pf->path[0].bytes[5] ^= 1;
    pf->epoch.epoch = 2; /* claims another epoch than the header carries */
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[2]), 0);
    pf->epoch.epoch = 1;
    pf->header.time_ms++; /* a header the validators never signed */
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[2]), 0);
    pf->header.time_ms--;
    ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[2]), 1);
    for (size_t k = 5; k < FX_NKEYS; k++) { /* never registered */
        ck_assert_int_eq(rp_store_score_proof(fx.st, &fx.pk[k], 0, pf), 0);
        ck_assert(!pf->present);
        ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[k]), 1);
        /* An absence proof does not prove the absence of a registered one. */
        ck_assert_int_eq(rp_score_proof_verify(pf, g, fx_chain(), &fx.pk[1]), 0);
    }
    free(pf);
    rp_epoch_info ei;
    ck_assert_int_eq(rp_store_read_epoch(fx.st, 0, &ei), 0);
    ck_assert_uint_eq(ei.epoch, 1);
    ck_assert_uint_eq(ei.snapshot_height, 4);
    ck_assert_uint_eq(ei.commit_height, 6);
    ck_assert_uint_eq(ei.identities, 4);
    ck_assert_int_eq(rp_store_read_epoch(fx.st, 2, &ei), RP_ERR_NOT_FOUND);

    /* Epoch 2 (snapshot at 8, committed at 10): the revoked review is gone. */
    produce_empty_until(10);
    want = expected_root(ids, 4, le + 1, 3, block_time_s(8), sc);
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.epoch, 2);
    ck_assert(rp_hash_eq(&tip.score_root, &want));

    /* History is bounded: after epoch 10 only the last RP_SCORE_HISTORY remain. */
    produce_empty_until(10 * 4 + 2);
    uint64_t epochs, rows;
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_EPOCHS, &epochs), 0);
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_SCORES, &rows), 0);
    ck_assert_uint_eq(epochs, RP_SCORE_HISTORY);
    ck_assert_uint_eq(rows, 4 * RP_SCORE_HISTORY);

    /* An auditor's replay recomputes every epoch and agrees. */
    char scratch[160];
    snprintf(scratch, sizeof scratch, "%s/scratch", fx.work);
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    rp_replay_report rep;
    int rc = rp_replay_verify(fx.datadir, scratch, NULL, &rep);
    ck_assert_msg(rc == 0, "verify: %s", rep.reason);
}
END_TEST


/* ---- pending state (the mempool's view) --------------------------------------- */

static int pend(rp_pending *p, const rp_record *r, size_t *nsigs, rp_sig_item *sigs)
{
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    char msg[200];
    rp_hash id;
    ck_assert_int_eq(rp_record_encode(r, buf, sizeof buf, &len), 0);
    int rc = rp_pending_add(p, buf, len, fx.now_s, &id, sigs, nsigs, msg, sizeof msg);
    if (rc == 0) {
        rp_hash want = fx_id(r);
        ck_assert(rp_hash_eq(&id, &want));
    } else {
        ck_assert_msg(msg[0] != 0, "a rejection says why");
    }
    return rc;
}

/* rp_store_list_epochs, rp_store_score_history, rp_store_walk_history: the
 * kept epochs newest first, an identity absent from the epochs before it
 * registered, and the history bounded at RP_SCORE_HISTORY. */
struct walk_seen {
    uint64_t epochs[RP_SCORE_HISTORY + 1];
    size_t nepochs, rows[RP_SCORE_HISTORY + 1];
    rp_pubkey last;
    int stop_at; /* stop (with a code) at this many epochs; 0: never */
};

static int walk_epoch(void *ctx, const rp_epoch_info *e)
{
    struct walk_seen *w = ctx;
    ck_assert_uint_lt(w->nepochs, RP_SCORE_HISTORY + 1);
    if (w->stop_at && (int)w->nepochs == w->stop_at)
        return -12345;
    w->epochs[w->nepochs++] = e->epoch;
    memset(&w->last, 0, sizeof w->last);
    return 0;
}

static int walk_row(void *ctx, const rp_score_row *row)
{
    struct walk_seen *w = ctx;
    ck_assert_int_lt(memcmp(w->last.bytes, row->identity.bytes, 32), 0); /* identity order */
    w->last = row->identity;
    w->rows[w->nepochs - 1]++;
    return 0;
}

START_TEST(test_score_history)
{
    rp_store_error err;
    char cmd[256];
    rp_store_close(fx.st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ledger'", fx.datadir);
    ck_assert_int_eq(system(cmd), 0);
    fx.gen->params.epoch_blocks = 2;
    fx.gen->params.score_delay_blocks = 1;
    ck_assert_int_eq(rp_store_create(&fx.st, fx.datadir, fx.gen, NULL, &err), 0);

    rp_epoch_info ei[RP_SCORE_HISTORY + 2];
    rp_score_hist h[RP_SCORE_HISTORY + 2];
    size_t n = 99;
    struct walk_seen w = {0};
    /* Nothing committed yet. */
    ck_assert_int_eq(rp_store_list_epochs(fx.st, ei, RP_SCORE_HISTORY, &n), RP_ERR_NOT_FOUND);
    ck_assert_int_eq(rp_store_score_history(fx.st, &fx.pk[1], h, RP_SCORE_HISTORY, &n),
                     RP_ERR_NOT_FOUND);
    ck_assert_int_eq(rp_store_walk_history(fx.st, RP_SCORE_HISTORY, walk_epoch, walk_row, &w),
                     RP_ERR_NOT_FOUND);

    register_all(3);                     /* height 1 */
    produce_empty_until(3);              /* epoch 1 (snapshot 2) committed at 3 */
    rp_record late = fx_identity(4, &fx.pk[FX_NKEYS - 1], RP_ROLE_TALENT, "identity");
    fx_ok(&late, 1);                     /* height 4: epoch 2's snapshot height, so in it */
    produce_empty_until(7);              /* epochs 2 (snapshot 4) and 3 (snapshot 6) */

    ck_assert_int_eq(rp_store_list_epochs(fx.st, ei, RP_SCORE_HISTORY + 2, &n), 0);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(ei[i].epoch, 3 - i);
    ck_assert_uint_eq(ei[0].commit_height, 7);
    ck_assert_int_eq(rp_store_list_epochs(fx.st, ei, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ei[1].epoch, 2);
    ck_assert_int_eq(rp_store_list_epochs(fx.st, ei, 0, &n), 0);
    ck_assert_uint_eq(n, 0);

    /* The late identity has rows from epoch 2 on (registered at its
     * snapshot height 4), none in epoch 1; each row is score.get's. */
    ck_assert_int_eq(rp_store_score_history(fx.st, &fx.pk[4], h, RP_SCORE_HISTORY, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(h[0].present && h[1].present && !h[2].present);
    ck_assert_uint_eq(h[2].epoch.epoch, 1);
    ck_assert_uint_eq(h[2].row.score, 0);
    for (size_t i = 0; i < n; i++) {
        rp_epoch_info info;
        rp_score_row row;
        int present;
        ck_assert_int_eq(
            rp_store_read_score(fx.st, &fx.pk[4], h[i].epoch.epoch, &info, &row, &present), 0);
        ck_assert_int_eq(present, h[i].present);
        if (present)
            ck_assert_int_eq(memcmp(&row, &h[i].row, sizeof row), 0);
    }
    ck_assert_int_eq(rp_store_score_history(fx.st, &fx.pk[1], h, 1, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(h[0].epoch.epoch, 3);
    ck_assert(h[0].present);
    /* Never registered: every kept epoch, none present. */
    ck_assert_int_eq(rp_store_score_history(fx.st, &fx.pk[FX_NKEYS - 2], h, 8, &n), 0);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        ck_assert(!h[i].present);

    /* The walk: newest first, rows in identity order, 4 + 4 + 3 rows. */
    ck_assert_int_eq(rp_store_walk_history(fx.st, RP_SCORE_HISTORY, walk_epoch, walk_row, &w), 0);
    ck_assert_uint_eq(w.nepochs, 3);
    ck_assert_uint_eq(w.epochs[0], 3);
    ck_assert_uint_eq(w.epochs[2], 1);
    ck_assert_uint_eq(w.rows[0], 4);
    ck_assert_uint_eq(w.rows[1], 4);
    ck_assert_uint_eq(w.rows[2], 3);
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(rp_store_walk_history(fx.st, 1, walk_epoch, walk_row, &w), 0);
    ck_assert_uint_eq(w.nepochs, 1);
    memset(&w, 0, sizeof w);
    w.stop_at = 2; /* a callback's code stops the walk and is returned */
    ck_assert_int_eq(rp_store_walk_history(fx.st, RP_SCORE_HISTORY, walk_epoch, walk_row, &w),
                     -12345);
    ck_assert_uint_eq(w.nepochs, 2);

    /* Past RP_SCORE_HISTORY epochs only the last ones are listed, walked and
     * in a history. */
    produce_empty_until(2 * (RP_SCORE_HISTORY + 4) + 1);
    ck_assert_int_eq(rp_store_list_epochs(fx.st, ei, RP_SCORE_HISTORY + 2, &n), 0);
    ck_assert_uint_eq(n, RP_SCORE_HISTORY);
    ck_assert_uint_eq(ei[0].epoch, RP_SCORE_HISTORY + 4);
    for (size_t i = 1; i < n; i++)
        ck_assert_uint_eq(ei[i].epoch, ei[i - 1].epoch - 1);
    ck_assert_int_eq(rp_store_score_history(fx.st, &fx.pk[4], h, RP_SCORE_HISTORY + 2, &n), 0);
    ck_assert_uint_eq(n, RP_SCORE_HISTORY);
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(rp_store_walk_history(fx.st, 99, walk_epoch, walk_row, &w), 0);
    ck_assert_uint_eq(w.nepochs, RP_SCORE_HISTORY);
    ck_assert_uint_eq(w.epochs[RP_SCORE_HISTORY - 1], 5);
}
END_TEST

START_TEST(test_pending_chains_dependent_records)
{
    rp_pending *p;
    rp_sig_item sigs[RP_RECORD_MAX_SIGS];
    size_t n;
    ck_assert_int_eq(rp_pending_new(fx.st, &p), 0);
    ck_assert_uint_eq(rp_pending_height(p), 0);
    /* Two registrations, an engagement between them, a review of it: each
     * depends on the ones before, none is on chain. */
    rp_record id1 = fx_identity(1, NULL, RP_ROLE_TALENT, "t"), id2 = fx_identity(2, NULL,
                                                                                  RP_ROLE_BRAND, "b");
    ck_assert_int_eq(pend(p, &id1, &n, sigs), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(memcmp(sigs[0].key.bytes, fx.pk[1].bytes, 32) == 0);
    ck_assert_int_eq(pend(p, &id2, &n, sigs), 0);
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    rp_hash eid = fx_id(&e);
    ck_assert_int_eq(pend(p, &e, &n, sigs), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(sigs[1].key.bytes, fx.pk[2].bytes, 32) == 0);
    /* The returned checks are the real ones: both signatures verify. */
    for (size_t i = 0; i < n; i++)
        ck_assert(rp_verify(&sigs[i].sig, sigs[i].msg.bytes, 32, &sigs[i].key));
    /* A review with a skipped sequence fails and leaves nothing behind... */
    rp_record bad = fx_review(2, 3, 1, &eid, 5);
    ck_assert_int_eq(pend(p, &bad, &n, sigs), RP_ERR_BAD_SEQUENCE);
    rp_identity_state st;
    ck_assert_int_eq(rp_pending_identity(p, &fx.pk[2], &st), 0);
    ck_assert_uint_eq(st.seq, 1);
    /* ...so the right one still goes in, and the same again is refused. */
    rp_record rv = fx_review(2, 2, 1, &eid, 5);
    ck_assert_int_eq(pend(p, &rv, &n, sigs), 0);
    ck_assert_int_eq(rp_pending_identity(p, &fx.pk[2], &st), 0);
    ck_assert_uint_eq(st.seq, 2);
    ck_assert_int_ne(pend(p, &rv, &n, sigs), 0);
    ck_assert_int_eq(rp_pending_identity(p, &fx.pk[3], &st), RP_ERR_NOT_FOUND);
    rp_pending_free(p);

    /* Nothing reached the store, and the same records make a valid block. */
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[1], &st), RP_ERR_NOT_FOUND);
    rp_record all[4] = {id1, id2, e, rv};
    fx_ok(all, 4);
    ck_assert_int_eq(rp_pending_new(fx.st, &p), 0);
    ck_assert_uint_eq(rp_pending_height(p), 1);
    ck_assert_int_eq(pend(p, &rv, &n, sigs), RP_ERR_DUPLICATE_RECORD);
    rp_pending_free(p);
}
END_TEST

START_TEST(test_pending_many_keys)
{
    /* Enough pending writes to grow the index several times. */
    register_all(2);
    rp_pending *p;
    rp_sig_item sigs[RP_RECORD_MAX_SIGS];
    size_t n;
    ck_assert_int_eq(rp_pending_new(fx.st, &p), 0);
    rp_hash last = {{0}};
    for (uint64_t s = 2; s < 400; s++) {
        rp_record e = fx_engagement(1, s, 2, RP_ENG_GIG);
        ck_assert_int_eq(pend(p, &e, &n, sigs), 0);
        last = fx_id(&e);
    }
    rp_record rv = fx_review(2, 2, 1, &last, 4);
    ck_assert_int_eq(pend(p, &rv, &n, sigs), 0);
    rp_identity_state st;
    ck_assert_int_eq(rp_pending_identity(p, &fx.pk[1], &st), 0);
    ck_assert_uint_eq(st.seq, 399);
    rp_pending_free(p);
}
END_TEST

START_TEST(test_read_record)
{
    rp_record r[2] = {fx_identity(1, NULL, RP_ROLE_TALENT, "t"),
                      fx_identity(2, NULL, RP_ROLE_BRAND, "b")};
    fx_ok(r, 2);
    for (uint32_t i = 0; i < 2; i++) {
        unsigned char want[RP_RECORD_MAX_SIZE], got[RP_RECORD_MAX_SIZE];
        size_t wlen, glen;
        ck_assert_int_eq(rp_record_encode(&r[i], want, sizeof want, &wlen), 0);
        ck_assert_int_eq(rp_store_read_record(fx.st, 1, i, got, &glen), 0);
        ck_assert_uint_eq(glen, wlen);
        ck_assert_int_eq(memcmp(got, want, wlen), 0);
        rp_hash id = fx_id(&r[i]);
        uint64_t h;
        uint32_t idx;
        ck_assert_int_eq(rp_store_find_record(fx.st, &id, &h, &idx), 0);
        ck_assert_uint_eq(h, 1);
        ck_assert_uint_eq(idx, i);
    }
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_store_read_record(fx.st, 1, 2, buf, &len), RP_ERR_CORRUPT);
    ck_assert_int_eq(rp_store_read_record(fx.st, 9, 0, buf, &len), RP_ERR_NOT_FOUND);
}
END_TEST

static Suite *ledger_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc;
    tc = tcase_create("identity");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
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
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_engagement_rules);
    tcase_add_test(tc, test_review_rules);
    tcase_add_test(tc, test_review_of_pending_engagement_same_block);
    tcase_add_test(tc, test_pending_chains_dependent_records);
    tcase_add_test(tc, test_pending_many_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("vouch");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_vouch_rules);
    tcase_add_test(tc, test_revoke_rules);
    suite_add_tcase(s, tc);

    tc = tcase_create("rotate");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_rotate_by_current);
    tcase_add_test(tc, test_rotate_by_recovery);
    suite_add_tcase(s, tc);

    tc = tcase_create("block");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_bad_record_leaves_no_trace);
    tcase_add_test(tc, test_block_checks);
    suite_add_tcase(s, tc);

    tc = tcase_create("datadir");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_reopen_and_lock);
    tcase_add_test(tc, test_foreign_schema);
    tcase_add_test(tc, test_compare_state);
    tcase_add_test(tc, test_read_record);
    tcase_add_test(tc, test_map_full);
    tcase_add_test(tc, test_epochs);
    tcase_add_test(tc, test_score_history);
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
