/* Check suite for consensus/: the signed messages and evidence (with real
 * keys), CometBFT proposer selection against hand-computed sequences and
 * its fairness, every rule of the engine (Algorithm 1 of Buchman, Kwon and
 * Milosevic) firing and not firing, its bounds, and scenarios from the
 * paper's corner cases played by four (or seven) engines that this file
 * wires together by hand: a hidden lock, a decision for an earlier round,
 * rounds lost to offline proposers and an invalid proposal.
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

static unsigned char seed[32];
static rp_hash chain_id;
static uint64_t aux_counter;

static rp_hash hsh(unsigned char b)
{
    rp_hash h;
    memset(h.bytes, b, sizeof h.bytes);
    return h;
}

static const rp_hash NIL; /* all zero */

static int heq(const rp_hash *a, const rp_hash *b)
{
    return memcmp(a->bytes, b->bytes, 32) == 0;
}

static void key(size_t i, rp_seckey *sk, rp_pubkey *pk)
{
    ck_assert_int_eq(rp_seckey_from_seed(sk, seed, 200 + i), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, sk), 0);
}

static void sign_vote(rp_cs_vote *v, const rp_seckey *sk)
{
    rp_hash msg;
    unsigned char aux[32];
    rp_vote_message(&msg, &chain_id, v->height, v->round, v->type, &v->block_hash);
    rp_aux_derive(aux, seed, aux_counter++);
    ck_assert_int_eq(rp_sign(&v->sig, msg.bytes, 32, sk, aux), 0);
}

static void sign_proposal(rp_cs_proposal *p, const rp_seckey *sk)
{
    rp_hash msg;
    unsigned char aux[32];
    rp_cs_proposal_message(&msg, &chain_id, p);
    rp_aux_derive(aux, seed, aux_counter++);
    ck_assert_int_eq(rp_sign(&p->sig, msg.bytes, 32, sk, aux), 0);
}

static rp_cs_vote mkvote(uint8_t type, uint32_t round, uint16_t who, rp_hash h)
{
    rp_cs_vote v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = 1;
    v.round = round;
    v.block_hash = h;
    v.validator = who;
    return v;
}

static rp_cs_proposal mkprop(uint32_t round, int32_t pol, uint16_t who, rp_hash h)
{
    rp_cs_proposal p;
    memset(&p, 0, sizeof p);
    p.height = 1;
    p.round = round;
    p.pol_round = pol;
    p.block_hash = h;
    p.proposer = who;
    return p;
}

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

#define NK 4
static rp_seckey ev_sk[NK];
static rp_pubkey ev_pk[NK];

static void ev_keys(void)
{
    for (size_t i = 0; i < NK; i++)
        key(i, &ev_sk[i], &ev_pk[i]);
}

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

/* ---- the engine, one at a time -------------------------------------------- */

static const uint64_t P4[4] = {1, 1, 1, 1}; /* proposer of round r: r mod 4 */
static rp_cs_outs out;

static rp_cs_engine *mk(int32_t self)
{
    rp_cs_sched s;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, P4, 4, 1), 0);
    rp_cs_engine *e = rp_cs_new(P4, 4, self, 1, &s, &t);
    ck_assert_ptr_nonnull(e);
    out.n = 0;
    rp_cs_start(e, &out);
    return e;
}

static size_t count(enum rp_cs_out_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < out.n; i++)
        c += out.v[i].kind == k;
    return c;
}

static const rp_cs_out *first(enum rp_cs_out_kind k)
{
    for (size_t i = 0; i < out.n; i++)
        if (out.v[i].kind == k)
            return &out.v[i];
    return NULL;
}

/* Feed a proposal, vote, timeout or verdict with a fresh output list. */
static int prop(rp_cs_engine *e, uint32_t round, int32_t pol, uint16_t who, rp_hash h)
{
    rp_cs_proposal p = mkprop(round, pol, who, h);
    out.n = 0;
    return rp_cs_on_proposal(e, &p, &out);
}

static int vote(rp_cs_engine *e, uint8_t type, uint32_t round, uint16_t who, rp_hash h)
{
    rp_cs_vote v = mkvote(type, round, who, h);
    out.n = 0;
    return rp_cs_on_vote(e, &v, &out);
}

static void votes(rp_cs_engine *e, uint8_t type, uint32_t round, rp_hash h, unsigned mask)
{
    for (uint16_t i = 0; i < 4; i++)
        if (mask & (1u << i))
            ck_assert_int_eq(vote(e, type, round, i, h), 0);
}

static int tmo(rp_cs_engine *e, enum rp_cs_step step, uint32_t round)
{
    out.n = 0;
    return rp_cs_on_timeout(e, step, 1, round, &out);
}

static int verdict(rp_cs_engine *e, rp_hash h, int ok)
{
    out.n = 0;
    return rp_cs_on_verdict(e, &h, ok, &out);
}

static rp_cs_state state(const rp_cs_engine *e)
{
    rp_cs_state st;
    rp_cs_get_state(e, &st);
    return st;
}

/* The last output is our vote of this type for h. */
static void expect_vote(uint8_t type, uint32_t round, rp_hash h)
{
    const rp_cs_out *o = first(RP_CS_OUT_VOTE);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 1);
    ck_assert_uint_eq(o->vote.type, type);
    ck_assert_uint_eq(o->vote.round, round);
    ck_assert_uint_eq(o->vote.height, 1);
    ck_assert(heq(&o->vote.block_hash, &h));
}

static void expect_timeout(enum rp_cs_step step, uint32_t round, uint32_t ms)
{
    const rp_cs_out *o = first(RP_CS_OUT_TIMEOUT);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 1);
    ck_assert_int_eq(o->step, step);
    ck_assert_uint_eq(o->round, round);
    ck_assert_uint_eq(o->height, 1);
    ck_assert_uint_eq(o->ms, ms);
}

/* Validator self (not round 0's proposer) locked on v at round 0, now at
 * round 1 in the propose step. */
static rp_cs_engine *locked_on(int32_t self, rp_hash v)
{
    rp_cs_engine *e = mk(self);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.locked_round, 0);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_uint_eq(state(e).round, 1);
    return e;
}

START_TEST(test_timeouts)
{
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_uint_eq(t.propose_ms, 3000);
    ck_assert_uint_eq(t.propose_delta_ms, 500);
    ck_assert_uint_eq(t.prevote_ms, 1000);
    ck_assert_uint_eq(t.prevote_delta_ms, 500);
    ck_assert_uint_eq(t.precommit_ms, 1000);
    ck_assert_uint_eq(t.precommit_delta_ms, 500);
    ck_assert_uint_eq(t.commit_ms, 1000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PROPOSE, 0), 3000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PROPOSE, 4), 5000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PREVOTE, 2), 2000);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PRECOMMIT, 3), 2500);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PRECOMMIT, UINT32_MAX), UINT32_MAX);
    t.prevote_ms = UINT32_MAX;
    t.prevote_delta_ms = UINT32_MAX;
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PREVOTE, UINT32_MAX), UINT32_MAX);
    ck_assert_uint_eq(rp_cs_timeout_ms(&t, RP_CS_PREVOTE, 0), UINT32_MAX);
}
END_TEST

START_TEST(test_new_refusals)
{
    rp_cs_sched s, s3;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, P4, 4, 1), 0);
    ck_assert_int_eq(rp_cs_sched_init(&s3, P4, 3, 1), 0);
    ck_assert_ptr_null(rp_cs_new(P4, 0, 0, 1, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, 4, 1, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, -2, 1, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, 0, 0, &s, &t));
    ck_assert_ptr_null(rp_cs_new(P4, 4, 0, 1, &s3, &t)); /* another set's schedule */
    const uint64_t zero[4] = {1, 0, 1, 1};
    ck_assert_ptr_null(rp_cs_new(zero, 4, 0, 1, &s, &t));
    const uint64_t other[4] = {1, 2, 1, 1};
    ck_assert_ptr_null(rp_cs_new(other, 4, 0, 1, &s, &t));
    rp_cs_engine *e = rp_cs_new(P4, 4, -1, 1, &s, &t);
    ck_assert_ptr_nonnull(e);
    rp_cs_free(e);
    rp_cs_free(NULL);
}
END_TEST

/* L10-21: the proposer asks for a block, everyone schedules the propose
 * timeout; a second start does nothing. */
START_TEST(test_start_round)
{
    rp_cs_engine *e = mk(0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_BUILD);
    ck_assert_uint_eq(out.v[0].height, 1);
    ck_assert_uint_eq(out.v[0].round, 0);
    expect_timeout(RP_CS_PROPOSE, 0, 3000);
    rp_cs_state st = state(e);
    ck_assert_uint_eq(st.round, 0);
    ck_assert_int_eq(st.step, RP_CS_PROPOSE);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, -1);
    ck_assert_int_eq(st.decided, 0);
    out.n = 0;
    rp_cs_start(e, &out);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);

    for (int32_t self = -1; self < 4; self += 2) { /* -1, 1, 3 */
        e = mk(self);
        ck_assert_uint_eq(out.n, 1);
        expect_timeout(RP_CS_PROPOSE, 0, 3000);
        rp_cs_free(e);
    }
}
END_TEST

/* L18-20: the built block is proposed with pol_round -1 and counts as
 * valid: fed back, our proposal gets our prevote without a CHECK. */
START_TEST(test_built_then_proposal)
{
    rp_cs_engine *e = mk(0);
    rp_hash v = hsh(0xB0);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 1, &v, &out), RP_CS_IGNORED);
    ck_assert_int_eq(rp_cs_on_built(e, 2, 0, &v, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(rp_cs_on_built(e, 1, 0, &v, &out), 0);
    ck_assert_uint_eq(out.n, 1);
    const rp_cs_out *o = first(RP_CS_OUT_PROPOSAL);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->proposal.height, 1);
    ck_assert_uint_eq(o->proposal.round, 0);
    ck_assert_int_eq(o->proposal.pol_round, -1);
    ck_assert_uint_eq(o->proposal.proposer, 0);
    ck_assert(heq(&o->proposal.block_hash, &v));
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE); /* moves on our proposal */
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 0, &v, &out), RP_CS_IGNORED); /* once */
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_CHECK), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, v);
    rp_cs_free(e);

    /* Not the proposer: nothing to build. */
    e = mk(1);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 0, &v, &out), RP_CS_IGNORED);
    rp_cs_free(e);
}
END_TEST

/* L22-27 with valid(v) from the ledger, asked once; our prevote moves the
 * step at once but counts only once it comes back signed. */
START_TEST(test_l22_valid)
{
    rp_cs_engine *e = mk(3);
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_CHECK);
    ck_assert(heq(&out.v[0].block_hash, &v));
    ck_assert_int_eq(prop(e, 0, -1, 0, v), RP_CS_IGNORED); /* duplicate */
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    rp_hash w = hsh(0x22);
    ck_assert_int_eq(verdict(e, w, 1), RP_CS_IGNORED); /* never asked */
    ck_assert_int_eq(verdict(e, v, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, v);
    ck_assert_uint_eq(out.v[0].vote.validator, 3);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    ck_assert_int_eq(verdict(e, v, 0), RP_CS_IGNORED); /* answered already */
    rp_cs_vote got[4];
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, v), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 1);
    ck_assert_uint_eq(got[0].validator, 3);
    rp_cs_proposal p;
    ck_assert_int_eq(rp_cs_get_proposal(e, 0, &p), 0);
    ck_assert(heq(&p.block_hash, &v));
    ck_assert_int_eq(rp_cs_get_proposal(e, 1, &p), RP_CS_IGNORED);
    rp_cs_free(e);
}
END_TEST

START_TEST(test_l22_invalid)
{
    rp_cs_engine *e = mk(3);
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 0), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    rp_cs_free(e);
}
END_TEST

/* L22-27 with a lock: nil for another value, the value for the locked one. */
START_TEST(test_l22_locked)
{
    rp_hash v = hsh(0x11), w = hsh(0x22);
    rp_cs_engine *e = locked_on(3, v);
    ck_assert_int_eq(prop(e, 1, -1, 1, w), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    ck_assert_int_eq(verdict(e, w, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, NIL);
    rp_cs_free(e);

    e = locked_on(3, v);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_CHECK), 0); /* verdict known already */
    expect_vote(RP_VOTE_PREVOTE, 1, v);
    rp_cs_free(e);
}
END_TEST

START_TEST(test_proposal_refusals)
{
    rp_cs_engine *e = mk(3);
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 1, v), RP_CS_IGNORED); /* not round 0's proposer */
    ck_assert_int_eq(prop(e, 0, -1, 4, v), RP_CS_BAD);
    ck_assert_int_eq(prop(e, 0, 0, 0, v), RP_CS_BAD); /* pol_round >= round */
    ck_assert_int_eq(prop(e, 2, 2, 2, v), RP_CS_BAD);
    ck_assert_int_eq(prop(e, 2, -2, 2, v), RP_CS_BAD);
    ck_assert_int_eq(prop(e, RP_CS_ROUND_WINDOW + 1, -1, (RP_CS_ROUND_WINDOW + 1) % 4, v),
                     RP_CS_IGNORED);
    rp_cs_proposal p = mkprop(0, -1, 0, v);
    p.height = 2;
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_proposal(e, &p, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(rp_cs_get_proposal(e, 0, &p), RP_CS_IGNORED);
    /* A second, different proposal of the round is not taken. */
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(prop(e, 0, -1, 0, hsh(0x33)), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);
}
END_TEST

/* L28-33 for an unlocked validator: 2f+1 prevotes at vr are needed, in
 * either order with the proposal. */
START_TEST(test_l28_unlocked)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x3); /* round 0: no proposal seen */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, 0, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0); /* only 2 prevotes at round 0 */
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, v);
    rp_cs_free(e);

    /* Invalid: nil even with the proof of lock. */
    e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, 0, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 0), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, NIL);
    rp_cs_free(e);
}
END_TEST

/* L28-33 with a lock: a lock newer than vr on another value gives nil; a
 * lock no newer than vr, or on the same value, gives the value. */
START_TEST(test_l28_locked)
{
    rp_hash v = hsh(0x11), w = hsh(0x22);
    /* Round 0: prevotes for w, no proposal. Round 1: locked on v. Round 2:
     * w again with vr 0: nil, since the lock (round 1) is newer. */
    rp_cs_engine *e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, w, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 1, v, 0x7);
    ck_assert_int_eq(state(e).locked_round, 1);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_int_eq(prop(e, 2, 0, 2, w), 0);
    ck_assert_int_eq(verdict(e, w, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 2, NIL);
    rp_cs_free(e);

    /* The same, but round 2 re-proposes v with vr 1: the locked value. */
    e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 1, v, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_int_eq(prop(e, 2, 1, 2, v), 0);
    expect_vote(RP_VOTE_PREVOTE, 2, v);
    rp_cs_free(e);

    /* Locked on v at round 0; 2f+1 prevoted w at round 1; round 2 proposes
     * w with vr 1 >= the lock's round: the lock gives way. */
    e = locked_on(3, v);
    votes(e, RP_VOTE_PREVOTE, 1, w, 0x7);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_int_eq(prop(e, 2, 1, 2, w), 0);
    ck_assert_int_eq(verdict(e, w, 1), 0);
    expect_vote(RP_VOTE_PREVOTE, 2, w);
    rp_cs_free(e);
}
END_TEST

/* L34-35: once, only in the prevote step, on 2f+1 prevotes of any kind. */
START_TEST(test_l34_prevote_timeout)
{
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, hsh(1)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, hsh(2)), 0);
    expect_timeout(RP_CS_PREVOTE, 0, 1000);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* not twice */
    rp_cs_free(e);

    /* In the propose step the same prevotes do nothing until we prevote. */
    e = mk(3);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, hsh(1)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, hsh(2)), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_uint_eq(out.n, 2);
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    expect_timeout(RP_CS_PREVOTE, 0, 1000);
    rp_cs_free(e);
}
END_TEST

/* L36-43 in the prevote step: lock, precommit, valid value. */
START_TEST(test_l36_lock)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x3);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, v);
    ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 0); /* L34 not needed */
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.step, RP_CS_PRECOMMIT);
    ck_assert_int_eq(st.locked_round, 0);
    ck_assert_int_eq(st.valid_round, 0);
    ck_assert(heq(&st.locked_value, &v));
    ck_assert(heq(&st.valid_value, &v));
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, v), 0); /* first time only */
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);
}
END_TEST

/* L36-43 after precommitting nil: only the valid value moves; and the rule
 * waits for valid(v), firing when the verdict arrives. */
START_TEST(test_l36_valid_only_and_late_verdict)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(1); /* round 1's proposer */
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0xD);
    ck_assert_int_eq(state(e).valid_round, -1); /* valid(v) unknown */
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, 0);
    ck_assert(heq(&st.valid_value, &v));
    /* Round 1: we propose the valid value with its round, no build. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 0);
    const rp_cs_out *o = first(RP_CS_OUT_PROPOSAL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->proposal.pol_round, 0);
    ck_assert_uint_eq(o->proposal.round, 1);
    ck_assert(heq(&o->proposal.block_hash, &v));
    expect_timeout(RP_CS_PROPOSE, 1, 3500);
    rp_cs_free(e);

    /* Proposal and prevotes first, verdict last: L22 then L36 in one go. */
    e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_uint_eq(out.v[0].vote.type, RP_VOTE_PREVOTE);
    ck_assert_uint_eq(out.v[1].vote.type, RP_VOTE_PRECOMMIT);
    ck_assert(heq(&out.v[1].vote.block_hash, &v));
    rp_cs_free(e);

    /* Invalid: prevote nil, and 2f+1 prevotes for it lock nothing. */
    e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    votes(e, RP_VOTE_PREVOTE, 0, v, 0x7);
    ck_assert_int_eq(verdict(e, v, 0), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    st = state(e);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, -1);
    ck_assert_int_eq(st.step, RP_CS_PREVOTE);
    rp_cs_free(e);
}
END_TEST

/* Thresholds with unequal powers {1,1,1,3} (total 6): 2f+1 is more than
 * 4, f+1 more than 2, so power exactly at two thirds or one third is not
 * enough. */
START_TEST(test_weighted_thresholds)
{
    const uint64_t pw[4] = {1, 1, 1, 3};
    rp_cs_sched s;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, pw, 4, 1), 0);
    ck_assert_uint_eq(rp_cs_proposer(&s, 0), 3);
    rp_cs_engine *e = rp_cs_new(pw, 4, -1, 1, &s, &t);
    ck_assert_ptr_nonnull(e);
    out.n = 0;
    rp_cs_start(e, &out);
    /* Precommits: 3 + 1 = 4 of 6 is exactly two thirds: no L47. */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 0, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 1, NIL), 0);
    expect_timeout(RP_CS_PRECOMMIT, 0, 1000);
    /* Three light validators (3 of 6) decide nothing either. */
    rp_hash v = hsh(0x11);
    ck_assert_int_eq(prop(e, 0, -1, 3, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, v), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, v), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    ck_assert_int_eq(state(e).locked_round, -1);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, v), 0);
    ck_assert_int_eq(state(e).locked_round, 0);
    /* f+1: two light senders (2 of 6) are exactly a third: no jump; the
     * heavy one alone is more. */
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 2, 0, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 2, 1, NIL), 0);
    ck_assert_uint_eq(state(e).round, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 4, 3, NIL), 0);
    ck_assert_uint_eq(state(e).round, 4);
    rp_cs_free(e);
}
END_TEST

/* L36-43 waits for the prevote step: in the propose step, 2f+1 prevotes
 * for a proposal whose vr has no proof (L28 cannot fire) lock nothing; once
 * the propose timeout prevotes nil, the rule fires and we lock. */
START_TEST(test_l36_not_in_propose)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, 0, 1, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PREVOTE, 1, v, 0x7);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.step, RP_CS_PROPOSE);
    ck_assert_int_eq(st.locked_round, -1);
    ck_assert_int_eq(st.valid_round, -1);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 1), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_uint_eq(out.v[0].vote.type, RP_VOTE_PREVOTE);
    ck_assert(rp_cs_is_nil(&out.v[0].vote.block_hash));
    ck_assert_uint_eq(out.v[1].vote.type, RP_VOTE_PRECOMMIT);
    ck_assert(heq(&out.v[1].vote.block_hash, &v));
    ck_assert_int_eq(state(e).locked_round, 1);
    rp_cs_free(e);
}
END_TEST

/* L44-46: 2f+1 nil prevotes, in the prevote step only. */
START_TEST(test_l44_nil)
{
    rp_cs_engine *e = mk(3);
    votes(e, RP_VOTE_PREVOTE, 0, NIL, 0x7);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert_uint_eq(out.v[0].vote.type, RP_VOTE_PREVOTE);
    ck_assert_uint_eq(out.v[1].vote.type, RP_VOTE_PRECOMMIT);
    ck_assert(rp_cs_is_nil(&out.v[1].vote.block_hash));
    ck_assert_int_eq(state(e).step, RP_CS_PRECOMMIT);
    rp_cs_free(e);

    e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    votes(e, RP_VOTE_PREVOTE, 0, NIL, 0x3);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, hsh(5)), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0); /* 2 nil of 4: not yet */
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 3, NIL), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    rp_cs_free(e);
}
END_TEST

/* L47-48: once, on 2f+1 precommits of any kind, whatever the step. */
START_TEST(test_l47_precommit_timeout)
{
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 0, hsh(1)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 1, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 2, hsh(2)), 0);
    expect_timeout(RP_CS_PRECOMMIT, 0, 1000);
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, NIL), 0);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);
}
END_TEST

/* L49-54: proposal, valid(v) and 2f+1 precommits for it, at any round. */
START_TEST(test_l49_decide)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PRECOMMIT, 0, v, 0x3);
    ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 0);
    rp_commit c;
    ck_assert_int_eq(rp_cs_commit(e, &c), RP_CS_IGNORED);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 2, v), 0);
    const rp_cs_out *o = first(RP_CS_OUT_DECIDE);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->round, 0);
    ck_assert(heq(&o->block_hash, &v));
    ck_assert_ptr_eq(o, &out.v[out.n - 1]); /* nothing after the decision */
    rp_cs_state st = state(e);
    ck_assert_int_eq(st.decided, 1);
    ck_assert_uint_eq(st.decision_round, 0);
    ck_assert(heq(&st.decision, &v));
    ck_assert_int_eq(rp_cs_commit(e, &c), 0);
    ck_assert_uint_eq(c.version, RP_COMMIT_VERSION);
    ck_assert_uint_eq(c.height, 1);
    ck_assert_uint_eq(c.round, 0);
    ck_assert(heq(&c.block_hash, &v));
    ck_assert_uint_eq(c.count, 3);
    for (uint16_t i = 0; i < 3; i++)
        ck_assert_uint_eq(c.sigs[i].validator, i);
    unsigned char buf[RP_COMMIT_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);
    /* Decided: every later input is ignored. */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, v), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), RP_CS_IGNORED);
    ck_assert_int_eq(prop(e, 1, -1, 1, v), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    rp_cs_free(e);

    /* Precommits without the proposal: nothing; the proposal and then the
     * verdict decide. An invalid verdict never does. */
    for (int ok = 1; ok >= 0; ok--) {
        e = mk(3);
        votes(e, RP_VOTE_PRECOMMIT, 0, v, 0x7);
        ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 0);
        ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 0);
        ck_assert_int_eq(verdict(e, v, ok), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), (size_t)ok);
        ck_assert_int_eq(state(e).decided, ok);
        rp_cs_free(e);
    }

    /* Precommits for another value than the proposal's do not decide. */
    e = mk(3);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    votes(e, RP_VOTE_PRECOMMIT, 0, hsh(0x22), 0x7);
    ck_assert_int_eq(state(e).decided, 0);
    rp_cs_free(e);
}
END_TEST

/* L49-54 at an earlier round than ours. */
START_TEST(test_l49_earlier_round)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(-1);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_uint_eq(state(e).round, 2);
    votes(e, RP_VOTE_PRECOMMIT, 0, v, 0xB);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    const rp_cs_out *o = first(RP_CS_OUT_DECIDE);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->round, 0);
    rp_cs_state st = state(e);
    ck_assert_uint_eq(st.round, 2);
    ck_assert_uint_eq(st.decision_round, 0);
    rp_commit c;
    ck_assert_int_eq(rp_cs_commit(e, &c), 0);
    ck_assert_uint_eq(c.round, 0);
    ck_assert_uint_eq(c.count, 3);
    ck_assert_uint_eq(c.sigs[2].validator, 3);
    rp_cs_free(e);
}
END_TEST

/* L55-56: f+1 of the power sending at a higher round moves us there. */
START_TEST(test_l55_round_skip)
{
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 3, 0, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* 1 of 4 is not more than a third */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 3, 0, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* the same sender twice */
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 5, 1, NIL), 0);
    ck_assert_uint_eq(out.n, 0); /* one at round 3, one at round 5 */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 3, 2, NIL), 0);
    expect_timeout(RP_CS_PROPOSE, 3, 3000 + 3 * 500);
    ck_assert_uint_eq(state(e).round, 3);
    ck_assert_int_eq(state(e).step, RP_CS_PROPOSE);
    rp_cs_free(e);

    /* A proposal counts as its proposer's message; our round does not. */
    e = mk(2); /* round 2's proposer */
    votes(e, RP_VOTE_PREVOTE, 0, NIL, 0x3);
    ck_assert_uint_eq(state(e).round, 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, hsh(0x11)), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 1, 0, NIL), 0);
    ck_assert_uint_eq(state(e).round, 1);
    ck_assert_int_eq(first(RP_CS_OUT_TIMEOUT)->round, 1);
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 0);
    /* At round 2 we propose: the jump asks for a block. */
    votes(e, RP_VOTE_PRECOMMIT, 2, NIL, 0x3);
    ck_assert_uint_eq(state(e).round, 2);
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 1);
    rp_cs_free(e);
}
END_TEST

/* L57-60, L61-64, L65-67: the timeouts, and the stale ones ignored. */
START_TEST(test_timeout_rules)
{
    rp_cs_sched s;
    rp_cs_timeouts t;
    rp_cs_timeouts_default(&t);
    ck_assert_int_eq(rp_cs_sched_init(&s, P4, 4, 1), 0);
    rp_cs_engine *e = rp_cs_new(P4, 4, 3, 1, &s, &t);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), RP_CS_IGNORED); /* not started */
    out.n = 0;
    rp_cs_start(e, &out);

    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), RP_CS_IGNORED); /* step propose */
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 1), RP_CS_IGNORED); /* other round */
    ck_assert_int_eq(tmo(e, (enum rp_cs_step)7, 0), RP_CS_BAD);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_timeout(e, RP_CS_PROPOSE, 2, 0, &out), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0); /* L57 */
    expect_vote(RP_VOTE_PREVOTE, 0, NIL);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), 0); /* L61 */
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    ck_assert_int_eq(state(e).step, RP_CS_PRECOMMIT);
    ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, 0), RP_CS_IGNORED);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0); /* L65 */
    expect_timeout(RP_CS_PROPOSE, 1, 3500);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_uint_eq(state(e).round, 1);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), RP_CS_IGNORED); /* stale */
    /* L65 whatever the step: from propose straight to the next round. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 1), 0);
    ck_assert_uint_eq(state(e).round, 2);
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 2), 0);
    ck_assert_uint_eq(state(e).round, 3); /* ours: build */
    ck_assert_uint_eq(count(RP_CS_OUT_BUILD), 1);
    ck_assert_uint_eq(first(RP_CS_OUT_BUILD)->round, 3);
    /* A build that comes too late is ignored. */
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 3), 0);
    rp_hash v = hsh(0x44);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_built(e, 1, 3, &v, &out), RP_CS_IGNORED);
    rp_cs_free(e);
}
END_TEST

/* A second vote at one (height, round, type) is evidence, reported once
 * and counted for its own block (never twice toward "any"); the same vote
 * again is a duplicate. */
START_TEST(test_equivocation)
{
    ev_keys();
    rp_hash v = hsh(0x11), w = hsh(0x22);
    rp_cs_engine *e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    rp_cs_vote x = mkvote(RP_VOTE_PREVOTE, 0, 1, w), y = mkvote(RP_VOTE_PREVOTE, 0, 1, v);
    sign_vote(&x, &ev_sk[1]);
    sign_vote(&y, &ev_sk[1]);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_vote(e, &x, &out), 0);
    ck_assert_int_eq(rp_cs_on_vote(e, &x, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_int_eq(rp_cs_on_vote(e, &y, &out), 0);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_EVIDENCE);
    const rp_cs_evidence *ev = &out.v[0].evidence;
    ck_assert(heq(&ev->a.block_hash, &v));
    ck_assert(heq(&ev->b.block_hash, &w));
    ck_assert_int_eq(rp_cs_evidence_verify(ev, &chain_id, ev_pk, NK), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, hsh(0x33)), RP_CS_IGNORED);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 1, v), RP_CS_IGNORED);
    rp_cs_vote got[4];
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 2);
    ck_assert(heq(&got[0].block_hash, &w));
    ck_assert(heq(&got[1].block_hash, &v));
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 1), 1);
    /* Counted for v too: with round 0's proposal for v and the prevotes of
     * 0 and 2, v has three prevotes of four (1's second among them), and
     * this engine, in the prevote step since its propose timeout, precommits
     * v. */
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, v);
    /* The precommit slot is separate. */
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 1, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_EVIDENCE), 0);
    rp_cs_free(e);
    /* But once toward "2f+1 of any": 1's two prevotes and 0's are two
     * validators of four, not three, so no prevote timeout yet. */
    e = mk(3);
    ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, 0), 0);
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_vote(e, &x, &out), 0);
    ck_assert_int_eq(rp_cs_on_vote(e, &y, &out), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 0, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 2, v), 0);
    expect_timeout(RP_CS_PREVOTE, 0, 1000);
    rp_cs_free(e);
}
END_TEST

START_TEST(test_bounds)
{
    rp_cs_engine *e = mk(3);
    const uint32_t W = RP_CS_ROUND_WINDOW;
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, W, 0, NIL), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, W + 1, 0, NIL), RP_CS_IGNORED);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, UINT32_MAX, 0, NIL), RP_CS_IGNORED);
    rp_cs_vote got[4];
    ck_assert_uint_eq(rp_cs_votes(e, W, RP_VOTE_PREVOTE, got, 4), 1);
    ck_assert_uint_eq(rp_cs_votes(e, W + 1, RP_VOTE_PREVOTE, got, 4), 0);
    ck_assert_uint_eq(rp_cs_votes(e, W, 3, got, 4), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, 4, NIL), RP_CS_BAD);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, UINT16_MAX, NIL), RP_CS_BAD);
    ck_assert_int_eq(vote(e, 0, 0, 0, NIL), RP_CS_BAD);
    ck_assert_int_eq(vote(e, 3, 0, 0, NIL), RP_CS_BAD);
    rp_cs_vote v = mkvote(RP_VOTE_PREVOTE, 0, 0, NIL);
    v.height = 2;
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_vote(e, &v, &out), RP_CS_IGNORED);
    ck_assert_uint_eq(rp_cs_votes(e, 0, RP_VOTE_PREVOTE, got, 4), 0);
    /* The window moves with the round. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, W + 1, 0, NIL), 0);
    /* rp_cs_votes copies at most max. */
    votes(e, RP_VOTE_PRECOMMIT, 1, NIL, 0x7);
    ck_assert_uint_eq(rp_cs_votes(e, 1, RP_VOTE_PRECOMMIT, got, 2), 2);
    ck_assert_uint_eq(got[1].validator, 1);
    rp_cs_free(e);
}
END_TEST

/* A full node follows and decides but never builds or signs. */
START_TEST(test_full_node)
{
    rp_hash v = hsh(0x11);
    rp_cs_engine *e = mk(-1);
    size_t signs = count(RP_CS_OUT_BUILD) + count(RP_CS_OUT_VOTE) + count(RP_CS_OUT_PROPOSAL);
    ck_assert_int_eq(prop(e, 0, -1, 0, v), 0);
    ck_assert_int_eq(verdict(e, v, 1), 0);
    signs += count(RP_CS_OUT_VOTE);
    ck_assert_int_eq(state(e).step, RP_CS_PREVOTE);
    for (uint16_t i = 0; i < 3; i++) {
        ck_assert_int_eq(vote(e, RP_VOTE_PREVOTE, 0, i, v), 0);
        signs += count(RP_CS_OUT_VOTE);
    }
    ck_assert_int_eq(state(e).locked_round, 0);
    for (uint16_t i = 0; i < 2; i++)
        ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, i, v), 0);
    ck_assert_int_eq(vote(e, RP_VOTE_PRECOMMIT, 0, 3, v), 0);
    ck_assert_uint_eq(count(RP_CS_OUT_DECIDE), 1);
    ck_assert_uint_eq(signs, 0);
    rp_cs_free(e);

    /* Through the timeouts and into round 2 (a round of a proposer other
     * than itself, of course): still nothing to sign. */
    e = mk(-1);
    for (uint32_t r = 0; r < 2; r++) {
        ck_assert_int_eq(tmo(e, RP_CS_PROPOSE, r), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
        ck_assert_int_eq(tmo(e, RP_CS_PREVOTE, r), 0);
        ck_assert_uint_eq(count(RP_CS_OUT_VOTE), 0);
        ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, r), 0);
        ck_assert_uint_eq(out.n, 1);
        ck_assert_uint_eq(count(RP_CS_OUT_TIMEOUT), 1);
    }
    rp_cs_free(e);
}
END_TEST

START_TEST(test_input_apply)
{
    rp_cs_engine *e = mk(0);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);
    in.kind = 6;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);

    in.kind = RP_CS_IN_BUILT;
    in.height = 1;
    in.round = 0;
    in.block_hash = hsh(0x11);
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    ck_assert_int_eq(out.v[0].kind, RP_CS_OUT_PROPOSAL);

    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_PROPOSAL;
    in.proposal = out.v[0].proposal;
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    expect_vote(RP_VOTE_PREVOTE, 0, hsh(0x11));

    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VOTE;
    in.vote = mkvote(RP_VOTE_PREVOTE, 0, 4, NIL);
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);
    in.vote.validator = 1;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);

    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_TIMEOUT;
    in.step = RP_CS_PREVOTE;
    in.height = 1;
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    expect_vote(RP_VOTE_PRECOMMIT, 0, NIL);
    in.step = 3;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);

    /* A verdict for a block proposed at round 1. */
    ck_assert_int_eq(tmo(e, RP_CS_PRECOMMIT, 0), 0);
    ck_assert_int_eq(prop(e, 1, -1, 1, hsh(0x22)), 0);
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_VERDICT;
    in.block_hash = hsh(0x22);
    in.valid = 2;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), RP_CS_BAD);
    in.valid = 1;
    out.n = 0;
    ck_assert_int_eq(rp_cs_input_apply(e, &in, &out), 0);
    expect_vote(RP_VOTE_PREVOTE, 1, hsh(0x22));
    rp_cs_free(e);
}
END_TEST

/* ---- scenarios: engines wired together by hand ------------------------------
 *
 * Each node has an engine, a key and an inbox. What an engine outputs is
 * done at once, as a node would: a BUILD is answered with block_for(node,
 * round), a CHECK with the test's verdict, a VOTE or PROPOSAL is signed,
 * fed back to its own engine and put in every other live node's inbox.
 * Inbox messages are delivered only when the test says so (deliver, or
 * settle for everything not blocked), and timeouts fire only when the test
 * fires them, so each scenario spells out the schedule it plays.
 */
#define NMAX 8
#define QMAX 1024

typedef struct msg {
    int from, live;
    rp_cs_input in;
} msg;

typedef struct timer {
    enum rp_cs_step step;
    uint32_t round, ms;
} timer;

typedef struct node {
    rp_cs_engine *e;
    rp_seckey sk;
    rp_pubkey pk;
    int up;
    msg inbox[QMAX];
    size_t nin;
    timer timers[64];
    size_t ntimers;
    int decided;
    uint32_t decision_round;
    rp_hash decision;
    size_t votes_sent, builds, evidence;
} node;

typedef struct net {
    size_t n;
    uint64_t power[NMAX];
    node nd[NMAX];
    int blocked[NMAX][NMAX]; /* from, to: settle leaves these in the inbox */
    rp_hash invalid;         /* the ledger's verdict is "invalid" for this one */
} net;

static rp_hash block_for(size_t who, uint32_t round)
{
    rp_hash h = NIL;
    h.bytes[0] = 0xB1;
    h.bytes[1] = (unsigned char)who;
    h.bytes[2] = (unsigned char)round;
    return h;
}

static net *net_new(size_t n, unsigned down_mask)
{
    net *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->n = n;
    for (size_t i = 0; i < n; i++)
        t->power[i] = 1;
    rp_cs_sched s;
    rp_cs_timeouts to;
    rp_cs_timeouts_default(&to);
    ck_assert_int_eq(rp_cs_sched_init(&s, t->power, n, 1), 0);
    for (size_t i = 0; i < n; i++) {
        node *d = &t->nd[i];
        key(i, &d->sk, &d->pk);
        d->e = rp_cs_new(t->power, n, (int32_t)i, 1, &s, &to);
        ck_assert_ptr_nonnull(d->e);
        d->up = !(down_mask & (1u << i));
    }
    return t;
}

static void net_free(net *t)
{
    for (size_t i = 0; i < t->n; i++)
        rp_cs_free(t->nd[i].e);
    free(t);
}

static void broadcast(net *t, size_t from, const rp_cs_input *in)
{
    for (size_t j = 0; j < t->n; j++) {
        if (j == from || !t->nd[j].up)
            continue;
        node *d = &t->nd[j];
        ck_assert_uint_lt(d->nin, QMAX);
        d->inbox[d->nin++] = (msg){.from = (int)from, .live = 1, .in = *in};
    }
}

/* A commit as a node would store it: encodable, every signature a valid
 * precommit for the block, more than two thirds of the power. */
static void check_commit(const net *t, const node *d)
{
    rp_commit c;
    ck_assert_int_eq(rp_cs_commit(d->e, &c), 0);
    ck_assert_uint_eq(c.round, d->decision_round);
    ck_assert(heq(&c.block_hash, &d->decision));
    unsigned char buf[RP_COMMIT_MAX_SIZE];
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, NULL), 0);
    uint64_t power = 0, total = 0;
    for (size_t i = 0; i < t->n; i++)
        total += t->power[i];
    for (size_t k = 0; k < c.count; k++) {
        rp_cs_vote v = mkvote(RP_VOTE_PRECOMMIT, c.round, c.sigs[k].validator, c.block_hash);
        v.sig = c.sigs[k].sig;
        ck_assert_int_eq(rp_cs_vote_verify(&v, &chain_id, &t->nd[v.validator].pk), 0);
        power += t->power[v.validator];
    }
    ck_assert(power * 3 > total * 2);
}

/* Apply the first input (if any) and the outputs of everything that
 * follows from it at node i. */
static void run(net *t, size_t i, const rp_cs_input *first_in, const rp_cs_outs *first_out)
{
    node *d = &t->nd[i];
    rp_cs_input q[64];
    size_t head = 0, tail = 0;
    rp_cs_outs o;
    if (first_in)
        q[tail++] = *first_in;
    if (first_out)
        o = *first_out;
    else
        o.n = 0;
    for (;;) {
        for (size_t k = 0; k < o.n; k++) {
            const rp_cs_out *x = &o.v[k];
            rp_cs_input in;
            memset(&in, 0, sizeof in);
            switch (x->kind) {
            case RP_CS_OUT_BUILD:
                d->builds++;
                in.kind = RP_CS_IN_BUILT;
                in.height = x->height;
                in.round = x->round;
                in.block_hash = block_for(i, x->round);
                break;
            case RP_CS_OUT_PROPOSAL:
                in.kind = RP_CS_IN_PROPOSAL;
                in.proposal = x->proposal;
                sign_proposal(&in.proposal, &d->sk);
                broadcast(t, i, &in);
                break;
            case RP_CS_OUT_VOTE:
                d->votes_sent++;
                in.kind = RP_CS_IN_VOTE;
                in.vote = x->vote;
                sign_vote(&in.vote, &d->sk);
                broadcast(t, i, &in);
                break;
            case RP_CS_OUT_CHECK:
                in.kind = RP_CS_IN_VERDICT;
                in.block_hash = x->block_hash;
                in.valid = !heq(&x->block_hash, &t->invalid);
                break;
            case RP_CS_OUT_TIMEOUT:
                ck_assert_uint_lt(d->ntimers, 64);
                d->timers[d->ntimers++] = (timer){x->step, x->round, x->ms};
                break;
            case RP_CS_OUT_DECIDE:
                ck_assert(!d->decided);
                d->decided = 1;
                d->decision_round = x->round;
                d->decision = x->block_hash;
                check_commit(t, d);
                break;
            case RP_CS_OUT_EVIDENCE:
                d->evidence++;
                break;
            }
            if (in.kind) {
                ck_assert_uint_lt(tail, 64);
                q[tail++] = in;
            }
        }
        if (head == tail)
            return;
        o.n = 0;
        int rc = rp_cs_input_apply(d->e, &q[head++], &o);
        ck_assert(rc == 0 || rc == RP_CS_IGNORED);
    }
}

static void start_all(net *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!t->nd[i].up)
            continue;
        rp_cs_outs o = {0};
        rp_cs_start(t->nd[i].e, &o);
        run(t, i, NULL, &o);
    }
}

/* Deliver the first live message in to's inbox from `from` of this kind,
 * vote type (0: a proposal) and round. */
static void deliver(net *t, size_t to, int from, uint8_t type, uint32_t round)
{
    node *d = &t->nd[to];
    for (size_t k = 0; k < d->nin; k++) {
        msg *m = &d->inbox[k];
        if (!m->live || m->from != from)
            continue;
        int match = type == 0 ? m->in.kind == RP_CS_IN_PROPOSAL && m->in.proposal.round == round
                              : m->in.kind == RP_CS_IN_VOTE && m->in.vote.type == type &&
                                    m->in.vote.round == round;
        if (!match)
            continue;
        m->live = 0;
        run(t, to, &m->in, NULL);
        return;
    }
    ck_abort_msg("no message from %d of type %u at round %u for node %zu", from, type, round, to);
}

/* Deliver everything not blocked, in order, until nothing is left. */
static void settle(net *t)
{
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < t->n; i++) {
            node *d = &t->nd[i];
            for (size_t k = 0; d->up && k < d->nin; k++) {
                msg *m = &d->inbox[k];
                if (!m->live || t->blocked[m->from][i])
                    continue;
                m->live = 0;
                progress = 1;
                run(t, i, &m->in, NULL);
            }
        }
    }
}

static int has_timer(const node *d, enum rp_cs_step step, uint32_t round)
{
    for (size_t k = 0; k < d->ntimers; k++)
        if (d->timers[k].step == step && d->timers[k].round == round)
            return 1;
    return 0;
}

/* Fire a timer the engine asked for. */
static void fire(net *t, size_t i, enum rp_cs_step step, uint32_t round)
{
    node *d = &t->nd[i];
    ck_assert_msg(has_timer(d, step, round), "node %zu has no timer %d at round %u", i, step,
                  round);
    rp_cs_input in;
    memset(&in, 0, sizeof in);
    in.kind = RP_CS_IN_TIMEOUT;
    in.step = (uint8_t)step;
    in.height = 1;
    in.round = round;
    run(t, i, &in, NULL);
}

static size_t fire_all(net *t, enum rp_cs_step step, uint32_t round)
{
    size_t fired = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->nd[i].up && !t->nd[i].decided && has_timer(&t->nd[i], step, round)) {
            fire(t, i, step, round);
            fired++;
        }
    return fired;
}

static rp_cs_state nstate(const net *t, size_t i)
{
    return state(t->nd[i].e);
}

/* A hidden lock: validator 1 alone sees 2f+1 prevotes for v at round 0 and
 * locks; the others precommit nil. At round 1 validator 1 proposes v again
 * with pol_round 0; the others cannot accept it (L28) until the prevote
 * they missed reaches them, and then all decide v at round 1. */
START_TEST(test_scenario_hidden_lock)
{
    net *t = net_new(4, 0);
    const rp_hash v = block_for(0, 0);
    start_all(t);
    fire(t, 3, RP_CS_PROPOSE, 0); /* 3 never saw the proposal in time: nil */
    deliver(t, 1, 0, 0, 0);
    deliver(t, 2, 0, 0, 0);
    /* 1 gets the prevotes of 0 and 2 and locks; the others miss 1's. */
    deliver(t, 1, 0, RP_VOTE_PREVOTE, 0);
    deliver(t, 1, 2, RP_VOTE_PREVOTE, 0);
    deliver(t, 1, 3, RP_VOTE_PREVOTE, 0);
    ck_assert_int_eq(nstate(t, 1).locked_round, 0);
    deliver(t, 0, 3, RP_VOTE_PREVOTE, 0);
    deliver(t, 0, 2, RP_VOTE_PREVOTE, 0);
    deliver(t, 2, 0, RP_VOTE_PREVOTE, 0);
    deliver(t, 2, 3, RP_VOTE_PREVOTE, 0);
    deliver(t, 3, 0, 0, 0);
    deliver(t, 3, 0, RP_VOTE_PREVOTE, 0);
    deliver(t, 3, 2, RP_VOTE_PREVOTE, 0);
    const size_t others[3] = {0, 2, 3};
    for (size_t k = 0; k < 3; k++)
        fire(t, others[k], RP_CS_PREVOTE, 0);
    for (size_t to = 0; to < 4; to++)
        for (size_t from = 0; from < 4; from++)
            if (from != to)
                deliver(t, to, (int)from, RP_VOTE_PRECOMMIT, 0);
    for (size_t i = 0; i < 4; i++) {
        rp_cs_state st = nstate(t, i);
        ck_assert_int_eq(st.decided, 0);
        ck_assert_int_eq(st.locked_round, i == 1 ? 0 : -1);
        ck_assert_int_eq(st.valid_round, i == 1 ? 0 : -1);
    }
    rp_cs_state locked = nstate(t, 1);
    ck_assert(heq(&locked.locked_value, &v));
    ck_assert_uint_eq(fire_all(t, RP_CS_PRECOMMIT, 0), 4);

    /* Round 1: the locked proposer re-proposes v with its pol_round. */
    ck_assert_uint_eq(t->nd[1].builds, 0);
    rp_cs_proposal p;
    ck_assert_int_eq(rp_cs_get_proposal(t->nd[1].e, 1, &p), 0);
    ck_assert(heq(&p.block_hash, &v));
    ck_assert_int_eq(p.pol_round, 0);
    for (size_t k = 0; k < 3; k++) {
        size_t i = others[k];
        size_t sent = t->nd[i].votes_sent;
        deliver(t, i, 1, 0, 1);
        deliver(t, i, 1, RP_VOTE_PREVOTE, 1);
        ck_assert_uint_eq(t->nd[i].votes_sent, sent); /* L28 waits */
        ck_assert_int_eq(nstate(t, i).step, RP_CS_PROPOSE);
        ck_assert_uint_eq(nstate(t, i).round, 1);
    }
    settle(t); /* the missing round-0 prevote arrives */
    for (size_t i = 0; i < 4; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 1);
        ck_assert(heq(&t->nd[i].decision, &v));
        ck_assert_uint_eq(t->nd[i].evidence, 0);
    }
    net_free(t);
}
END_TEST

/* A decision for an earlier round: 0, 1 and 2 decide v at round 0; 3 sees
 * nothing of 0's, precommits nil and moves to round 1, where 0's proposal
 * and precommit finally arrive and it decides v at round 0. */
START_TEST(test_scenario_earlier_round)
{
    net *t = net_new(4, 0);
    const rp_hash v = block_for(0, 0);
    t->blocked[0][3] = 1;
    start_all(t);
    settle(t);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 0);
    }
    ck_assert(!t->nd[3].decided);
    fire(t, 3, RP_CS_PROPOSE, 0);
    settle(t);
    fire(t, 3, RP_CS_PREVOTE, 0);
    settle(t);
    fire(t, 3, RP_CS_PRECOMMIT, 0);
    rp_cs_state st = nstate(t, 3);
    ck_assert_uint_eq(st.round, 1);
    ck_assert_int_eq(st.decided, 0);
    ck_assert_int_eq(st.locked_round, -1);
    t->blocked[0][3] = 0;
    settle(t);
    ck_assert(t->nd[3].decided);
    ck_assert_uint_eq(t->nd[3].decision_round, 0);
    ck_assert(heq(&t->nd[3].decision, &v));
    st = nstate(t, 3);
    ck_assert_uint_eq(st.round, 1);
    ck_assert_uint_eq(st.decision_round, 0);
    net_free(t);
}
END_TEST

/* Seven validators, the proposers of rounds 0 and 1 offline: two rounds
 * of nil, with timeouts growing, and the five left decide at round 2. */
START_TEST(test_scenario_offline_proposers)
{
    net *t = net_new(7, 0x3);
    start_all(t);
    for (uint32_t r = 0; r < 2; r++) {
        settle(t);
        for (size_t i = 2; i < 7; i++) {
            ck_assert_uint_eq(nstate(t, i).round, r);
            ck_assert_uint_eq(t->nd[i].timers[t->nd[i].ntimers - 1].ms, 3000 + 500 * r);
        }
        ck_assert_uint_eq(fire_all(t, RP_CS_PROPOSE, r), 5);
        settle(t); /* five nil prevotes: L44 precommits nil at once */
        ck_assert_uint_eq(fire_all(t, RP_CS_PREVOTE, r), 0);
        ck_assert_uint_eq(fire_all(t, RP_CS_PRECOMMIT, r), 5);
    }
    settle(t);
    const rp_hash v = block_for(2, 2);
    for (size_t i = 2; i < 7; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 2);
        ck_assert(heq(&t->nd[i].decision, &v));
        rp_commit c;
        ck_assert_int_eq(rp_cs_commit(t->nd[i].e, &c), 0);
        ck_assert_uint_eq(c.count, 5);
        ck_assert_uint_eq(c.sigs[0].validator, 2);
    }
    ck_assert_uint_eq(t->nd[2].builds, 1);
    net_free(t);
}
END_TEST

/* An invalid proposal: its proposer prevotes it, the others prevote nil,
 * the round ends in nil precommits and round 1 decides a valid block. */
START_TEST(test_scenario_invalid_proposal)
{
    net *t = net_new(4, 0);
    t->invalid = block_for(0, 0);
    start_all(t);
    settle(t);
    for (size_t i = 0; i < 4; i++) {
        rp_cs_state st = nstate(t, i);
        ck_assert_int_eq(st.step, RP_CS_PRECOMMIT);
        ck_assert_int_eq(st.locked_round, -1);
        ck_assert_int_eq(st.valid_round, -1);
        ck_assert(!t->nd[i].decided);
        rp_cs_vote pv[4];
        ck_assert_uint_eq(rp_cs_votes(t->nd[i].e, 0, RP_VOTE_PREVOTE, pv, 4), 4);
        ck_assert(heq(&pv[0].block_hash, &t->invalid));
        for (size_t k = 1; k < 4; k++)
            ck_assert(rp_cs_is_nil(&pv[k].block_hash));
    }
    ck_assert_uint_eq(fire_all(t, RP_CS_PRECOMMIT, 0), 4);
    settle(t);
    for (size_t i = 0; i < 4; i++) {
        ck_assert(t->nd[i].decided);
        ck_assert_uint_eq(t->nd[i].decision_round, 1);
        const rp_hash w = block_for(1, 1);
        ck_assert(heq(&t->nd[i].decision, &w));
    }
    /* The round-0 propose timer, still pending, is stale now. */
    out.n = 0;
    ck_assert_int_eq(rp_cs_on_timeout(t->nd[0].e, RP_CS_PROPOSE, 1, 0, &out), RP_CS_IGNORED);
    net_free(t);
}
END_TEST

static Suite *consensus_suite(void)
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

    tc = tcase_create("engine");
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_new_refusals);
    tcase_add_test(tc, test_start_round);
    tcase_add_test(tc, test_built_then_proposal);
    tcase_add_test(tc, test_l22_valid);
    tcase_add_test(tc, test_l22_invalid);
    tcase_add_test(tc, test_l22_locked);
    tcase_add_test(tc, test_proposal_refusals);
    tcase_add_test(tc, test_l28_unlocked);
    tcase_add_test(tc, test_l28_locked);
    tcase_add_test(tc, test_l34_prevote_timeout);
    tcase_add_test(tc, test_l36_lock);
    tcase_add_test(tc, test_l36_valid_only_and_late_verdict);
    tcase_add_test(tc, test_l36_not_in_propose);
    tcase_add_test(tc, test_l44_nil);
    tcase_add_test(tc, test_l47_precommit_timeout);
    tcase_add_test(tc, test_l49_decide);
    tcase_add_test(tc, test_l49_earlier_round);
    tcase_add_test(tc, test_l55_round_skip);
    tcase_add_test(tc, test_weighted_thresholds);
    tcase_add_test(tc, test_timeout_rules);
    tcase_add_test(tc, test_equivocation);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_full_node);
    tcase_add_test(tc, test_input_apply);
    suite_add_tcase(s, tc);

    tc = tcase_create("scenarios");
    tcase_add_test(tc, test_scenario_hidden_lock);
    tcase_add_test(tc, test_scenario_earlier_round);
    tcase_add_test(tc, test_scenario_offline_proposers);
    tcase_add_test(tc, test_scenario_invalid_proposal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "rp_crypto_init failed\n");
        return 1;
    }
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0xC0 + i);
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-consensus", 16);
    SRunner *sr = srunner_create(consensus_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
