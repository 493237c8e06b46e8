/* AUDIENCE attestations on chain (docs/rules.md "AUDIENCE") and the
 * trust-weighted audience figures of each epoch (docs/trust.md "Audience
 * figures"):
 *
 *   - the weighted median itself (trust/audience.h): ties, zero trust,
 *     order independence, refusals;
 *   - an attestation is accepted, indexed and listed; each rule refuses with
 *     its code: self-attestation, unknown subject, a subject that is not a
 *     talent, an issuer not registered, expired at the block time, a
 *     lifetime over the limit, a replacement that is not later, a record
 *     time outside the tolerance;
 *   - a later attestation replaces the live one; REVOKE withdraws one, only
 *     by its issuer, once, and not after it was replaced;
 *   - the epoch's figure: 50 attesters nobody trusts, all claiming 100%,
 *     do not move what two trusted attesters set; expired, replaced and
 *     revoked attestations stop counting as of the snapshot height, not
 *     the commit;
 *   - the mempool takes AUDIENCE like any record; reputed verify rebuilds
 *     the same tables; a schema 3 ledger is upgraded in place.
 */
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "ledger/query.h"
#include "ledger/replay.h"
#include "ledger/schema.h"
#include "node/errors.h"
#include "node/mempool.h"
#include "trust/audience.h"

#define NSYBIL 50

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-test-audience",
        .seed0 = 0x90,
        .dir_prefix = "/tmp/rp-test-audience-",
    });
}

/* An attestation by fx identity `from` (sequence seq) about `to`. */
static rp_record attest(size_t from, uint64_t seq, size_t to, unsigned platform,
                        uint32_t authentic_ppm)
{
    rp_record r = fx_base(RP_REC_AUDIENCE, from, seq);
    rp_audience_body *b = &r.body.audience;
    b->subject = fx.pk[to];
    b->platform = (uint8_t)platform;
    strcpy(b->handle, "zoe_okafor");
    b->handle_len = 10;
    b->followers = 100000 + authentic_ppm / 10;
    b->authentic_ppm = authentic_ppm;
    b->engagement_ppm = authentic_ppm / 20;
    b->period_start = r.time - 30 * 86400;
    b->period_end = r.time - 86400;
    b->expiry = r.time + 90 * 86400;
    fx_sign(&r, 0, from);
    return r;
}

static rp_record revoke(size_t from, uint64_t seq, const rp_record *target)
{
    rp_record r = fx_base(RP_REC_REVOKE, from, seq);
    r.body.revoke.target = fx_id(target);
    r.body.revoke.reason = RP_REVOKE_MISTAKE;
    fx_sign(&r, 0, from);
    return r;
}

static void refused(const rp_record *recs, size_t n, int code, int64_t idx)
{
    rp_store_error err;
    int rc = fx_produce(recs, n, &err);
    ck_assert_msg(rc == code, "got %d (%s), want %d (%s)", rc, err.msg, code, rp_strerror(code));
    ck_assert_int_eq(err.index, idx);
}

/* Talent 2, brand 3, agent 4, another brand 5. */
static void register_cast(void)
{
    rp_record regs[4] = {
        fx_identity(2, NULL, RP_ROLE_TALENT, "talent"),
        fx_identity(3, NULL, RP_ROLE_BRAND, "brand"),
        fx_identity(4, NULL, RP_ROLE_AGENT, "agent"),
        fx_identity(5, NULL, RP_ROLE_BRAND, "brand"),
    };
    fx_ok(regs, 4);
}

static size_t live_about(size_t who, rp_audience_attestation *out, size_t cap)
{
    rp_epoch_info info;
    rp_audience_row rows[RP_PLATFORM_MAX];
    size_t nrows, nlive;
    int rc = rp_store_audience_get(fx.st, &fx.pk[who], 0, 0, &info, rows, &nrows, out, cap, &nlive,
                                   NULL);
    ck_assert_msg(rc == 0 || rc == RP_ERR_NOT_FOUND, "%s", rp_strerror(rc));
    return rc == 0 ? nlive : (size_t)-1;
}

/* ---- the weighted median ---------------------------------------------------------- */

START_TEST(test_median)
{
    uint64_t m, v[4] = {30, 10, 20, 40}, w[4] = {1, 1, 1, 1};
    /* Equal weights, an even count: the lower of the two middle values. */
    ck_assert_int_eq(rp_weighted_median(&m, v, w, 4), 0);
    ck_assert_uint_eq(m, 20);
    /* The halves balance exactly at 10|30 too: still the lower one. */
    uint64_t w2[4] = {2, 2, 0, 0};
    ck_assert_int_eq(rp_weighted_median(&m, v, w2, 4), 0);
    ck_assert_uint_eq(m, 10);
    /* One heavy value wins alone. */
    uint64_t w3[4] = {1, 1, 1, 4};
    ck_assert_int_eq(rp_weighted_median(&m, v, w3, 4), 0);
    ck_assert_uint_eq(m, 40);
    /* Weightless values move nothing, wherever they sort. */
    uint64_t v4[5] = {0, 500, 999, 1000000, 1000000}, w4[5] = {0, 3, 2, 0, 0};
    ck_assert_int_eq(rp_weighted_median(&m, v4, w4, 5), 0);
    ck_assert_uint_eq(m, 500);
    /* Refusals. */
    uint64_t zero[2] = {0, 0}, big[2] = {UINT64_C(1) << 62, 1};
    ck_assert_int_eq(rp_weighted_median(&m, v, zero, 2), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_weighted_median(&m, v, w, 0), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_weighted_median(&m, v, big, 2), RP_ERR_RANGE);

    /* The figure of a group: 50 untrusted claims of 100% next to two trusted. */
    rp_audience_claim c[NSYBIL + 2];
    memset(c, 0, sizeof c);
    for (size_t i = 0; i < NSYBIL; i++)
        c[i] = (rp_audience_claim){0, 9000000, 1000000, 1000000};
    c[NSYBIL] = (rp_audience_claim){UINT64_C(3) << 50, 120000, 700000, 40000};
    c[NSYBIL + 1] = (rp_audience_claim){UINT64_C(3) << 50, 100000, 800000, 50000};
    rp_audience_figure f;
    ck_assert_int_eq(rp_audience_compute(&f, c, NSYBIL + 2), 0);
    ck_assert_int_eq(f.has_figure, 1);
    ck_assert_uint_eq(f.attesters, NSYBIL + 2);
    ck_assert_uint_eq(f.total_trust, UINT64_C(6) << 50);
    ck_assert_uint_eq(f.authentic_ppm, 700000); /* a tie: the lower */
    ck_assert_uint_eq(f.engagement_ppm, 40000);
    ck_assert_uint_eq(f.followers, 100000);
    /* Any order gives the same bits. */
    rp_audience_claim rev[NSYBIL + 2];
    rp_audience_figure g;
    for (size_t i = 0; i < NSYBIL + 2; i++)
        rev[i] = c[NSYBIL + 1 - i];
    ck_assert_int_eq(rp_audience_compute(&g, rev, NSYBIL + 2), 0);
    ck_assert_int_eq(memcmp(&f, &g, sizeof f), 0);
    /* Nobody trusted: counted, but no figure. */
    ck_assert_int_eq(rp_audience_compute(&f, c, NSYBIL), 0);
    ck_assert_int_eq(f.has_figure, 0);
    ck_assert_uint_eq(f.attesters, NSYBIL);
    ck_assert_uint_eq(f.total_trust, 0);
    ck_assert_uint_eq(f.authentic_ppm, 0);
    c[0].authentic_ppm = 1000001;
    ck_assert_int_eq(rp_audience_compute(&f, c, 1), RP_ERR_RANGE);
}
END_TEST

/* ---- the rules ------------------------------------------------------------------- */

START_TEST(test_accepted_and_listed)
{
    register_cast();
    rp_record a = attest(3, 2, 2, RP_PLATFORM_TIKTOK, 874000);
    rp_record b = attest(4, 2, 2, RP_PLATFORM_INSTAGRAM, 900000);
    rp_record both[2] = {a, b};
    fx_ok(both, 2);
    rp_audience_attestation live[4];
    ck_assert_uint_eq(live_about(2, live, 4), (size_t)-1); /* no epoch yet */

    /* The tables, read straight. */
    uint64_t n;
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_ATTESTATIONS, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_ATTEST_LIVE, &n), 0);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_refusals)
{
    register_cast();
    rp_record r;

    r = attest(3, 2, 3, RP_PLATFORM_X, 500000);
    refused(&r, 1, RP_ERR_SELF_ATTEST, 0);
    r = attest(3, 2, 9, RP_PLATFORM_X, 500000); /* 9 never registered */
    refused(&r, 1, RP_ERR_UNKNOWN_PARTY, 0);
    r = attest(3, 2, 5, RP_PLATFORM_X, 500000); /* a brand */
    refused(&r, 1, RP_ERR_NOT_TALENT, 0);
    r = attest(2, 2, 4, RP_PLATFORM_X, 500000); /* an agent */
    refused(&r, 1, RP_ERR_NOT_TALENT, 0);
    r = attest(8, 1, 2, RP_PLATFORM_X, 500000); /* an issuer never registered */
    refused(&r, 1, RP_ERR_NOT_REGISTERED, 0);

    /* Expired by the block's time (the block is 5 s after the record). */
    r = fx_base(RP_REC_AUDIENCE, 3, 2);
    r = attest(3, 2, 2, RP_PLATFORM_X, 500000);
    r.body.audience.expiry = r.time + 5;
    fx_sign(&r, 0, 3);
    refused(&r, 1, RP_ERR_EXPIRED, 0);
    /* A lifetime over 366 days; exactly 366 days is fine. */
    r = attest(3, 2, 2, RP_PLATFORM_X, 500000);
    r.body.audience.expiry = r.time + RP_AUDIENCE_MAX_TTL_S + 1;
    fx_sign(&r, 0, 3);
    refused(&r, 1, RP_ERR_EXPIRED, 0);
    r.body.audience.expiry = r.time + RP_AUDIENCE_MAX_TTL_S;
    fx_sign(&r, 0, 3);
    fx_ok(&r, 1);

    /* A replacement must be later than the live one: same time refused. */
    rp_record again = attest(3, 3, 2, RP_PLATFORM_X, 600000);
    again.time = r.time;
    again.body.audience.period_start = r.body.audience.period_start;
    again.body.audience.period_end = r.body.audience.period_end;
    fx_sign(&again, 0, 3);
    refused(&again, 1, RP_ERR_STALE_ATTESTATION, 0);
    /* Two in one block: the second has the same time as the first. */
    rp_record pair[2] = {attest(4, 2, 2, RP_PLATFORM_X, 1), attest(4, 3, 2, RP_PLATFORM_X, 2)};
    refused(pair, 2, RP_ERR_STALE_ATTESTATION, 1);

    /* The record time is held to the tolerance, as every record's. */
    r = attest(4, 2, 2, RP_PLATFORM_YOUTUBE, 500000);
    r.time = fx.now_s + 5 + 601;
    r.body.audience.expiry = r.time + 86400;
    fx_sign(&r, 0, 4);
    refused(&r, 1, RP_ERR_RECORD_TIME, 0);
}
END_TEST

START_TEST(test_replace_and_revoke)
{
    register_cast();
    rp_record first = attest(3, 2, 2, RP_PLATFORM_TIKTOK, 800000);
    rp_record other = attest(3, 3, 2, RP_PLATFORM_TWITCH, 300000);
    rp_record two[2] = {first, other};
    fx_ok(two, 2);
    fx.now_s += 60;
    rp_record second = attest(3, 4, 2, RP_PLATFORM_TIKTOK, 820000);
    fx_ok(&second, 1);

    /* The first is no longer live; the live index names the second. */
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    unsigned char key[RP_ATTEST_KEY_SIZE];
    rp_attest_key(key, &fx.pk[2], RP_PLATFORM_TIKTOK, &fx.pk[3]);

    /* Revoking the replaced one: not live any more. */
    rp_record r = revoke(3, 5, &first);
    refused(&r, 1, RP_ERR_ALREADY_REVOKED, 0);
    /* Only the issuer revokes. */
    r = revoke(4, 2, &second);
    refused(&r, 1, RP_ERR_NOT_ISSUER, 0);
    /* The issuer does, once. */
    r = revoke(3, 5, &second);
    fx_ok(&r, 1);
    r = revoke(3, 6, &second);
    refused(&r, 1, RP_ERR_ALREADY_REVOKED, 0);
    /* A revoked slot can be attested again (no live one to be later than). */
    fx.now_s += 10;
    rp_record third = attest(3, 6, 2, RP_PLATFORM_TIKTOK, 810000);
    fx_ok(&third, 1);
    uint64_t n;
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_ATTESTATIONS, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_ATTEST_LIVE, &n), 0);
    ck_assert_uint_eq(n, 2); /* twitch, and the third tiktok */
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_REVOCATIONS, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

/* ---- the figures ------------------------------------------------------------------ */

/* A fresh ledger with short epochs: snapshot at 12, committed at 14. */
static void short_epochs(void)
{
    rp_store_error err;
    char cmd[256];
    rp_store_close(fx.st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ledger'", fx.datadir);
    ck_assert_int_eq(system(cmd), 0);
    fx.gen->params.epoch_blocks = 12;
    fx.gen->params.score_delay_blocks = 2;
    ck_assert_int_eq(rp_store_create(&fx.st, fx.datadir, fx.gen, NULL, &err), 0);
}

/* A registration and an attestation by a key of the test's own (the
 * fixture has 12; sybils need more). */
static rp_record sybil_record(const rp_seckey *sk, const rp_pubkey *pk, int identity)
{
    rp_record r;
    unsigned char aux[32];
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.issuer = *pk;
    r.time = fx.now_s;
    if (identity) {
        r.type = RP_REC_IDENTITY;
        r.seq = 1;
        r.body.identity.role = RP_ROLE_BRAND;
        strcpy(r.body.identity.name, "sybil");
        r.body.identity.name_len = 5;
        ck_assert_int_eq(
            rp_identity_pow_solve(&r, fx_chain(), fx.gen->params.pow_difficulty, 1 << 20), 0);
    } else {
        r = attest(3, 1, 2, RP_PLATFORM_TIKTOK, 1000000); /* the body */
        r.issuer = *pk;
        r.seq = 2;
        r.body.audience.followers = 50000000;
    }
    rp_aux_derive(aux, fx.seed, 1000 + fx.counter++);
    ck_assert_int_eq(rp_record_sign(&r, 0, fx_chain(), sk, aux), 0);
    return r;
}

static void produce_all(rp_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i += 16)
        fx_ok(recs + i, n - i < 16 ? n - i : 16);
}

START_TEST(test_figures)
{
    short_epochs();
    /* 1 is pre-trusted (a brand); 1 vouches for agent 3: both trusted. */
    rp_record regs[3] = {fx_identity(1, NULL, RP_ROLE_BRAND, "brand"),
                         fx_identity(2, NULL, RP_ROLE_TALENT, "talent"),
                         fx_identity(3, NULL, RP_ROLE_AGENT, "agent")};
    fx_ok(regs, 3); /* height 1 */
    rp_record gone = attest(1, 4, 2, RP_PLATFORM_TWITCH, 100000);
    rp_record brief = attest(1, 5, 2, RP_PLATFORM_YOUTUBE, 100000);
    brief.body.audience.expiry = brief.time + 30; /* expired by the snapshot */
    fx_sign(&brief, 0, 1);
    rp_record insta = attest(3, 3, 2, RP_PLATFORM_INSTAGRAM, 650000);
    rp_record h2[6] = {fx_vouch(1, 2, 3),
                       attest(1, 3, 2, RP_PLATFORM_TIKTOK, 800000),
                       gone,
                       brief,
                       attest(3, 2, 2, RP_PLATFORM_TIKTOK, 600000),
                       insta};
    fx_ok(h2, 6); /* height 2 */

    /* 50 sybils: registered, trusted by nobody, all claiming 100%. */
    static rp_seckey sk[NSYBIL];
    static rp_pubkey pk[NSYBIL];
    rp_record recs[NSYBIL];
    for (size_t i = 0; i < NSYBIL; i++) {
        ck_assert_int_eq(rp_seckey_from_seed(&sk[i], fx.seed, 100 + i), 0);
        ck_assert_int_eq(rp_pubkey_from_seckey(&pk[i], &sk[i]), 0);
        recs[i] = sybil_record(&sk[i], &pk[i], 1);
    }
    produce_all(recs, NSYBIL); /* heights 3..6 */
    for (size_t i = 0; i < NSYBIL; i++)
        recs[i] = sybil_record(&sk[i], &pk[i], 0);
    produce_all(recs, NSYBIL); /* heights 7..10 */

    /* Height 11: 3 replaces its tiktok figure (later); 1 revokes twitch. */
    fx.now_s += 5;
    rp_record h11[2] = {attest(3, 4, 2, RP_PLATFORM_TIKTOK, 700000), revoke(1, 6, &gone)};
    fx_ok(h11, 2);
    fx_ok(NULL, 0); /* height 12: the snapshot */
    /* Height 13: revoked after the snapshot, so it still counts in epoch 1. */
    rp_record late = revoke(3, 5, &insta);
    fx_ok(&late, 1);
    fx_ok(NULL, 0); /* height 14 commits epoch 1 */

    rp_epoch_info info;
    rp_audience_row rows[RP_PLATFORM_MAX];
    rp_audience_attestation live[64];
    size_t nrows, nlive;
    int more;
    ck_assert_int_eq(
        rp_store_audience_get(fx.st, &fx.pk[2], 0, 0, &info, rows, &nrows, live, 64, &nlive, &more),
        0);
    ck_assert_uint_eq(info.epoch, 1);
    ck_assert_uint_eq(nrows, 2); /* instagram and tiktok; youtube expired, twitch revoked */
    ck_assert_uint_eq(rows[0].platform, RP_PLATFORM_INSTAGRAM);
    ck_assert_uint_eq(rows[0].attesters, 1);
    ck_assert_uint_eq(rows[0].authentic_ppm, 650000);
    ck_assert_uint_eq(rows[1].platform, RP_PLATFORM_TIKTOK);

    /* Trust of the two trusted attesters in this epoch. */
    rp_score_row s1, s3;
    int present;
    ck_assert_int_eq(rp_store_read_score(fx.st, &fx.pk[1], 1, &info, &s1, &present), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_int_eq(rp_store_read_score(fx.st, &fx.pk[3], 1, &info, &s3, &present), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_uint_gt(s1.trust, 0);
    ck_assert_uint_gt(s3.trust, 0);
    for (size_t i = 0; i < NSYBIL; i++) {
        rp_score_row sy;
        ck_assert_int_eq(rp_store_read_score(fx.st, &pk[i], 1, &info, &sy, &present), 0);
        ck_assert_uint_eq(sy.trust, 0);
    }
    /* What the two trusted set, with 3's replacement (700000) in place of
     * its first figure: the sybils change the count and nothing else. */
    uint64_t v[2] = {800000, 700000}, w[2] = {s1.trust, s3.trust}, want;
    ck_assert_int_eq(rp_weighted_median(&want, v, w, 2), 0);
    ck_assert_uint_eq(rows[1].attesters, NSYBIL + 2);
    ck_assert_uint_eq(rows[1].total_trust, s1.trust + s3.trust);
    ck_assert_uint_eq(rows[1].has_figure, 1);
    ck_assert_uint_eq(rows[1].authentic_ppm, want);
    ck_assert_uint_ne(rows[1].authentic_ppm, 1000000);
    ck_assert_uint_lt(rows[1].followers, 50000000);

    /* One platform only; the live list at the tip. */
    ck_assert_int_eq(rp_store_audience_get(fx.st, &fx.pk[2], 1, RP_PLATFORM_TIKTOK, &info, rows,
                                           &nrows, live, 64, &nlive, &more),
                     0);
    ck_assert_uint_eq(nrows, 1);
    ck_assert_uint_eq(nlive, NSYBIL + 2);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(
        rp_store_audience_get(fx.st, &fx.pk[2], 1, 0, &info, rows, &nrows, live, 3, &nlive, &more),
        0);
    ck_assert_uint_eq(nlive, 3);
    ck_assert_int_eq(more, 1);
    ck_assert_int_eq(
        rp_store_audience_get(fx.st, &fx.pk[2], 7, 0, &info, rows, &nrows, NULL, 0, &nlive, NULL),
        RP_ERR_NOT_FOUND);

    /* reputed verify rebuilds the same chain, audience tables included. */
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    rp_store_close(fx.st);
    fx.st = NULL;
    char scratch[160];
    snprintf(scratch, sizeof scratch, "%s/scratch", fx.work);
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    rp_replay_report rep;
    int rc = rp_replay_verify(fx.datadir, scratch, NULL, &rep);
    ck_assert_msg(rc == 0, "verify: %s", rep.reason);
    ck_assert_int_eq(memcmp(&rep.tip, &tip, sizeof tip), 0);
}
END_TEST

START_TEST(test_mempool_takes_it)
{
    register_cast();
    rp_record r = attest(3, 2, 2, RP_PLATFORM_TIKTOK, 874000);
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &len), 0);
    rp_node_errors_register();
    rp_mempool *mp;
    ck_assert_int_eq(rp_mempool_new(&mp, fx.st, &(rp_mempool_limits){100, 1 << 20, 8}), 0);
    rp_mp_result res;
    ck_assert_int_eq(
        rp_mempool_submit(mp, buf, len, (rp_mp_source){RP_MP_FROM_RPC, 0}, fx.now_s, &res), 0);
    ck_assert_int_ne(res.status, RP_MP_KNOWN);
    /* A self-attestation is refused by the rules, before it is pooled. */
    rp_record self = attest(3, 3, 3, RP_PLATFORM_TIKTOK, 874000);
    ck_assert_int_eq(rp_record_encode(&self, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(
        rp_mempool_submit(mp, buf, len, (rp_mp_source){RP_MP_FROM_RPC, 0}, fx.now_s, &res),
        RP_ERR_SELF_ATTEST);
    rp_mempool_free(mp);
}
END_TEST

/* A schema 3 ledger (before the audience tables) is upgraded in place. */
START_TEST(test_upgrade_from_schema_3)
{
    register_cast();
    rp_tip before;
    ck_assert_int_eq(rp_store_tip(fx.st, &before), 0);
    rp_store_close(fx.st);
    fx.st = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/ledger", fx.datadir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, t;
    static const char *const added[] = {"attestations", "attest_live", "audience",
                                        "audience_roots"};
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, RP_DB_COUNT), 0);
    ck_assert_int_eq(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    ck_assert_int_eq(mdb_env_open(env, path, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(mdb_dbi_open(txn, added[i], 0, &t), 0);
        ck_assert_int_eq(mdb_drop(txn, t, 1), 0);
    }
    unsigned char v3[4] = {0, 0, 0, 3};
    MDB_val k = {6, (void *)"schema"}, v = {4, v3};
    ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    rp_store_error err;
    rp_store_opts ro = {.read_only = 1};
    rp_store *s = NULL;
    ck_assert_int_eq(rp_store_open(&s, fx.datadir, &ro, &err), RP_ERR_SCHEMA);
    ck_assert_msg(strstr(err.msg, "schema 3") != NULL, "%s", err.msg);
    ck_assert_int_eq(rp_store_open(&fx.st, fx.datadir, NULL, &err), 0);
    rp_tip after;
    ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
    rp_record r = attest(3, 2, 2, RP_PLATFORM_TIKTOK, 874000);
    fx_ok(&r, 1);
}
END_TEST

static Suite *audience_suite(void)
{
    Suite *s = suite_create("audience");
    TCase *tc = tcase_create("median");
    tcase_add_test(tc, test_median);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_accepted_and_listed);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_replace_and_revoke);
    tcase_add_test(tc, test_mempool_takes_it);
    tcase_add_test(tc, test_upgrade_from_schema_3);
    suite_add_tcase(s, tc);

    tc = tcase_create("figures");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_figures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "rp_crypto_init failed\n");
        return 1;
    }
    SRunner *sr = srunner_create(audience_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
