/* Check suite for consensus/ types and proposer selection: the signed
 * messages and evidence (with real keys), and CometBFT proposer selection
 * against hand-computed sequences and its fairness. The engine's rules are
 * in test_engine.c, the paper's scenarios in test_cs_scenarios.c.
 *
 * Randomized tests print their seed and take one from RP_SEED.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/engine.h"
#include "consensus/input.h"
#include "consensus/proposer.h"
#include "consensus/types.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "tests/cs_testkit.h"

/* ---- types: messages, signatures, evidence ------------------------------ */

START_TEST(test_is_nil)
{
    rp_hash h = NIL;
    ck_assert_int_eq(rp_cs_is_nil(&h), 1);
    for (size_t i = 0; i < 32; i += 31) {
        h = NIL;
        h.bytes[i] = 1;
        ck_assert_int_eq(rp_cs_is_nil(&h), 0);
    }
}
END_TEST

/* The layout of types.h, written out byte by byte. */
START_TEST(test_proposal_message_layout)
{
    rp_cs_proposal p = mkprop(0x01020304, -1, 2, hsh(0x77));
    p.height = 0x1112131415161718;
    unsigned char buf[80];
    memcpy(buf, chain_id.bytes, 32);
    const unsigned char mid[16] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                                   0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xff};
    memcpy(buf + 32, mid, 16);
    memset(buf + 48, 0x77, 32);
    rp_hash want, got;
    rp_tagged_hash(&want, "repute/proposal/v1", buf, sizeof buf);
    rp_cs_proposal_message(&got, &chain_id, &p);
    ck_assert(heq(&want, &got));

    p.pol_round = 0x0a0b0c0d;
    p.round = 0x7fffffff;
    buf[40] = 0x7f, buf[41] = buf[42] = buf[43] = 0xff;
    buf[44] = 0x0a, buf[45] = 0x0b, buf[46] = 0x0c, buf[47] = 0x0d;
    rp_tagged_hash(&want, "repute/proposal/v1", buf, sizeof buf);
    rp_cs_proposal_message(&got, &chain_id, &p);
    ck_assert(heq(&want, &got));

    /* The proposer index and the signature are not covered: the key is. */
    rp_hash again;
    p.proposer = 9;
    memset(p.sig.bytes, 0x55, 64);
    rp_cs_proposal_message(&again, &chain_id, &p);
    ck_assert(heq(&got, &again));
    rp_hash other = hsh(0x01);
    rp_cs_proposal_message(&again, &other, &p);
    ck_assert(!heq(&got, &again));
}
END_TEST

START_TEST(test_vote_sign_verify)
{
    rp_seckey sk, sk2;
    rp_pubkey pk, pk2;
    key(0, &sk, &pk);
    key(1, &sk2, &pk2);
    rp_cs_vote v = mkvote(RP_VOTE_PRECOMMIT, 3, 0, hsh(0x42));
    sign_vote(&v, &sk);
    ck_assert_int_eq(rp_cs_vote_verify(&v, &chain_id, &pk), 0);
    ck_assert_int_eq(rp_cs_vote_verify(&v, &chain_id, &pk2), RP_ERR_BAD_SIGNATURE);
    rp_hash other_chain = hsh(0x01);
    ck_assert_int_eq(rp_cs_vote_verify(&v, &other_chain, &pk), RP_ERR_BAD_SIGNATURE);
    rp_cs_vote t = v;
    t.round = 4;
    ck_assert_int_eq(rp_cs_vote_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = v;
    t.type = RP_VOTE_PREVOTE;
    ck_assert_int_eq(rp_cs_vote_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = v;
    t.height = 2;
    ck_assert_int_eq(rp_cs_vote_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = v;
    t.block_hash = NIL;
    ck_assert_int_eq(rp_cs_vote_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = v;
    t.sig.bytes[10] ^= 1;
    ck_assert_int_eq(rp_cs_vote_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);

    /* A precommit's signature is a commit signature, as is. */
    rp_hash msg;
    rp_vote_message(&msg, &chain_id, 1, 3, RP_VOTE_PRECOMMIT, &v.block_hash);
    ck_assert_int_eq(rp_verify(&v.sig, msg.bytes, 32, &pk), 1);
}
END_TEST

START_TEST(test_proposal_sign_verify)
{
    rp_seckey sk, sk2;
    rp_pubkey pk, pk2;
    key(0, &sk, &pk);
    key(1, &sk2, &pk2);
    rp_cs_proposal p = mkprop(5, 2, 0, hsh(0x42));
    sign_proposal(&p, &sk);
    ck_assert_int_eq(rp_cs_proposal_verify(&p, &chain_id, &pk), 0);
    ck_assert_int_eq(rp_cs_proposal_verify(&p, &chain_id, &pk2), RP_ERR_BAD_SIGNATURE);
    rp_cs_proposal t = p;
    t.pol_round = -1;
    ck_assert_int_eq(rp_cs_proposal_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = p;
    t.round = 6;
    ck_assert_int_eq(rp_cs_proposal_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = p;
    t.block_hash.bytes[0] ^= 1;
    ck_assert_int_eq(rp_cs_proposal_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
    t = p;
    t.sig.bytes[63] ^= 1;
    ck_assert_int_eq(rp_cs_proposal_verify(&t, &chain_id, &pk), RP_ERR_BAD_SIGNATURE);
}
END_TEST


/* Valid evidence against validator 2: prevotes for 0x10.. and 0x20.. */
static rp_cs_evidence ev_good(void)
{
    rp_cs_vote x = mkvote(RP_VOTE_PREVOTE, 1, 2, hsh(0x20));
    rp_cs_vote y = mkvote(RP_VOTE_PREVOTE, 1, 2, hsh(0x10));
    sign_vote(&x, &ev_sk[2]);
    sign_vote(&y, &ev_sk[2]);
    rp_cs_evidence e;
    rp_cs_evidence_make(&e, &x, &y);
    return e;
}

START_TEST(test_evidence_make_and_verify)
{
    ev_keys();
    rp_cs_evidence e = ev_good();
    ck_assert_int_eq(e.a.block_hash.bytes[0], 0x10);
    ck_assert_int_eq(e.b.block_hash.bytes[0], 0x20);
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), 0);
    /* Either argument order gives the same evidence. */
    rp_cs_evidence f;
    rp_cs_evidence_make(&f, &e.b, &e.a);
    ck_assert_int_eq(memcmp(&e, &f, sizeof e), 0);
    /* A nil vote against a block vote is evidence too (nil sorts first). */
    rp_cs_vote n = mkvote(RP_VOTE_PRECOMMIT, 0, 1, NIL),
               b = mkvote(RP_VOTE_PRECOMMIT, 0, 1, hsh(1));
    sign_vote(&n, &ev_sk[1]);
    sign_vote(&b, &ev_sk[1]);
    rp_cs_evidence_make(&f, &b, &n);
    ck_assert(rp_cs_is_nil(&f.a.block_hash));
    ck_assert_int_eq(rp_cs_evidence_verify(&f, &chain_id, ev_pk, NK), 0);
}
END_TEST

START_TEST(test_evidence_refusals)
{
    ev_keys();
    rp_cs_evidence g = ev_good(), e;

    ck_assert_int_eq(rp_cs_evidence_verify(&g, &chain_id, ev_pk, 2), RP_ERR_RANGE);
    e = g;
    e.a.type = e.b.type = 3;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_RANGE);
    e = g;
    e.a.type = 0;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_RANGE);

    e = g; /* not ordered */
    e.a = g.b, e.b = g.a;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_NONCANONICAL);
    e = g; /* not conflicting: one hash */
    e.b = g.a;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_NONCANONICAL);
    e = g;
    e.b.validator = 3;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_NONCANONICAL);
    e = g;
    e.b.round = 2;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_NONCANONICAL);
    e = g;
    e.b.height = 2;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_NONCANONICAL);
    e = g;
    e.b.type = RP_VOTE_PRECOMMIT;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_NONCANONICAL);

    e = g;
    e.a.sig.bytes[0] ^= 1;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_BAD_SIGNATURE);
    e = g;
    e.b.sig.bytes[0] ^= 1;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_BAD_SIGNATURE);
    /* Signed by someone else than the validator it names. */
    e = g;
    e.a.validator = e.b.validator = 1;
    ck_assert_int_eq(rp_cs_evidence_verify(&e, &chain_id, ev_pk, NK), RP_ERR_BAD_SIGNATURE);
    rp_hash other = hsh(0x01);
    ck_assert_int_eq(rp_cs_evidence_verify(&g, &other, ev_pk, NK), RP_ERR_BAD_SIGNATURE);
}
END_TEST

/* ---- proposer selection --------------------------------------------------- */

START_TEST(test_proposer_hand_computed)
{
    /* Powers {1,2,3}, total 6, by hand (prio after add -> pick -> after):
     *  1: 1,2,3 -> 2 -> 1,2,-3     2: 2,4,0 -> 1 -> 2,-2,0
     *  3: 3,0,3 -> 0 (tie: lowest index) -> -3,0,3
     *  4: -2,2,6 -> 2 -> -2,2,0    5: -1,4,3 -> 1 -> -1,-2,3
     *  6: 0,0,6 -> 2 -> 0,0,0 and the sequence repeats. */
    const uint64_t pw[3] = {1, 2, 3};
    const uint16_t want[6] = {2, 1, 0, 2, 1, 2};
    rp_cs_sched s;
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 3, 1), 0);
    ck_assert_uint_eq(s.total, 6);
    for (uint32_t r = 0; r < 18; r++)
        ck_assert_uint_eq(rp_cs_proposer(&s, r), want[r % 6]);
    for (uint64_t h = 1; h <= 18; h++) {
        ck_assert_uint_eq(rp_cs_proposer(&s, 0), want[(h - 1) % 6]);
        ck_assert_uint_eq(rp_cs_proposer(&s, 2), want[(h + 1) % 6]);
        ck_assert_uint_eq(s.position, h - 1);
        rp_cs_sched_next(&s);
    }
    /* Equal powers: plain round robin. */
    const uint64_t eq[4] = {5, 5, 5, 5};
    ck_assert_int_eq(rp_cs_sched_init(&s, eq, 4, 1), 0);
    for (uint32_t r = 0; r < 8; r++)
        ck_assert_uint_eq(rp_cs_proposer(&s, r), r % 4);
    /* Priorities after position 2 of {1,2,3}. */
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 3, 3), 0);
    ck_assert_int_eq(s.prio[0], 2);
    ck_assert_int_eq(s.prio[1], -2);
    ck_assert_int_eq(s.prio[2], 0);
}
END_TEST

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void seed_rng(const char *test)
{
    const char *env = getenv("RP_SEED");
    uint64_t s = env ? strtoull(env, NULL, 0) : UINT64_C(0x5eed0c0115e45);
    printf("%s: seed %" PRIu64 " (set RP_SEED to repeat)\n", test, s);
    rng_state = s;
}

START_TEST(test_proposer_fair)
{
    seed_rng("test_proposer_fair");
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 1 + rnd() % 12;
        uint64_t pw[12], count[12] = {0};
        for (size_t i = 0; i < n; i++)
            pw[i] = 1 + rnd() % 25;
        rp_cs_sched s;
        ck_assert_int_eq(rp_cs_sched_init(&s, pw, n, 1), 0);
        /* Every window of P positions, wherever it starts, gives each
         * validator exactly power_i turns. */
        uint32_t start = (uint32_t)(rnd() % s.total);
        for (uint32_t k = 0; k < s.total; k++)
            count[rp_cs_proposer(&s, start + k)]++;
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(count[i], pw[i]);
        for (uint64_t k = 0; k < s.total; k++) {
            for (size_t i = 0; i < n; i++)
                ck_assert(s.prio[i] <= (int64_t)s.total && s.prio[i] >= -(int64_t)s.total);
            rp_cs_sched_next(&s);
        }
        for (size_t i = 0; i < n; i++) /* back to zero after P steps */
            ck_assert_int_eq(s.prio[i], 0);
    }
}
END_TEST

START_TEST(test_proposer_init_equals_stepping)
{
    const uint64_t pw[5] = {3, 1, 4, 1, 5};
    rp_cs_sched stepped, direct;
    ck_assert_int_eq(rp_cs_sched_init(&stepped, pw, 5, 1), 0);
    for (uint64_t h = 1; h <= 3 * 14 + 2; h++) {
        ck_assert_int_eq(rp_cs_sched_init(&direct, pw, 5, h), 0);
        ck_assert_uint_eq(direct.position, stepped.position);
        ck_assert_int_eq(memcmp(direct.prio, stepped.prio, sizeof direct.prio), 0);
        for (uint32_t r = 0; r < 30; r++)
            ck_assert_uint_eq(rp_cs_proposer(&direct, r), rp_cs_proposer(&stepped, r));
        rp_cs_sched_next(&stepped);
    }
    /* A height far up the chain costs at most P steps. */
    ck_assert_int_eq(rp_cs_sched_init(&direct, pw, 5, UINT64_C(1) << 50), 0);
    ck_assert_int_eq(rp_cs_sched_init(&stepped, pw, 5, ((UINT64_C(1) << 50) - 1) % 14 + 1), 0);
    ck_assert_int_eq(memcmp(direct.prio, stepped.prio, sizeof direct.prio), 0);
}
END_TEST

START_TEST(test_proposer_refusals)
{
    rp_cs_sched s;
    uint64_t pw[RP_CS_MAX_VALIDATORS + 1];
    for (size_t i = 0; i <= RP_CS_MAX_VALIDATORS; i++)
        pw[i] = 1;
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 0, 1), RP_CS_BAD);
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, RP_CS_MAX_VALIDATORS + 1, 1), RP_CS_BAD);
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, RP_CS_MAX_VALIDATORS, 1), 0);
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 3, 0), RP_CS_BAD);
    pw[1] = 0;
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 3, 1), RP_CS_BAD);
    const uint64_t big[2] = {UINT64_C(1) << 61, UINT64_C(1) << 61};
    ck_assert_int_eq(rp_cs_sched_init(&s, big, 2, 1), RP_CS_BAD);
    /* Just below 2^62 works, and the priorities stay in range. */
    const uint64_t edge[2] = {UINT64_C(1) << 61, (UINT64_C(1) << 61) - 1};
    ck_assert_int_eq(rp_cs_sched_init(&s, edge, 2, 1), 0);
    ck_assert_uint_eq(rp_cs_proposer(&s, 0), 0);
    ck_assert_uint_eq(rp_cs_proposer(&s, 1), 1);
    ck_assert_uint_eq(rp_cs_proposer(&s, 2), 0);
}
END_TEST


static Suite *suite(void)
{
    Suite *s = suite_create("consensus");
    TCase *tc;

    tc = tcase_create("types");
    tcase_add_test(tc, test_is_nil);
    tcase_add_test(tc, test_proposal_message_layout);
    tcase_add_test(tc, test_vote_sign_verify);
    tcase_add_test(tc, test_proposal_sign_verify);
    tcase_add_test(tc, test_evidence_make_and_verify);
    tcase_add_test(tc, test_evidence_refusals);
        suite_add_tcase(s, tc);

    tc = tcase_create("proposer");
    tcase_add_test(tc, test_proposer_hand_computed);
    tcase_add_test(tc, test_proposer_fair);
    tcase_add_test(tc, test_proposer_init_equals_stepping);
    tcase_add_test(tc, test_proposer_refusals);
        suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cs_test_main(suite());
}
