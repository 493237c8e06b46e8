/* Check suite for trust/: the trust engine.
 *
 * Small graphs whose results are derived by hand in the comments (a chain,
 * stars, two disconnected groups, negative reviews, dangling identities);
 * agreement with a double-precision reference power iteration of the same
 * model (docs/trust.md) on random graphs; the invariants (the vector sums to
 * one within npretrusted - 1 units of 2^-60, relabelling permutes the output
 * and changes nothing else, revoked edges change nothing); identical bits
 * whatever the split of the ranges, sequential or on real threads; and every
 * refusal.
 *
 * The hand-computed graphs use damping 0.5, for which the folded constant
 * K = floor(0.5 * 2^63) = 2^62 and a row with one entry has c = 2^62, so
 * passing trust t along it gives round(t * 2^62 / 2^63) = t / 2 exactly.
 *
 * RP_TEST_SEED sets the seed of the randomized tests (printed either way).
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/error.h"
#include "trust/trust.h"

#define ONE   RP_TRUST_ONE
#define ONE_D 1152921504606846976.0 /* 2^60 */

static unsigned long seed_value;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
static uint32_t below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static rp_trust_params half_params(void)
{
    rp_trust_params p;
    rp_trust_params_default(&p);
    p.damping_ppm = 500000;
    p.max_iterations = 1000;
    return p;
}

static rp_trust_edge review(uint32_t r, uint32_t s, uint8_t rating)
{
    return (rp_trust_edge){.rater = r, .subject = s, .kind = RP_TRUST_REVIEW, .rating = rating};
}

static rp_trust_edge vouch(uint32_t r, uint32_t s)
{
    return (rp_trust_edge){.rater = r, .subject = s, .kind = RP_TRUST_VOUCH};
}

/* Within the error bound of a converged run at damping 0.5 and tolerance
 * 1 ppb: the L1 distance to the fixed point is at most the last change times
 * (1 - d) / d = 1e-9, plus a few units of rounding. */
static void assert_near(uint64_t got, double exact_fraction)
{
    double diff = fabs((double)got - exact_fraction * ONE_D);
    ck_assert_msg(diff <= 1e-9 * ONE_D + 16, "trust %llu, expected %.17g (diff %.3g units)",
                  (unsigned long long)got, exact_fraction * ONE_D, diff);
}

static uint64_t sum_trust(const rp_trust_score *s, size_t n)
{
    uint64_t sum = 0;
    for (size_t j = 0; j < n; j++)
        sum += s[j].trust;
    return sum;
}

START_TEST(test_decay)
{
    /* Age 0 is the unit; each half-life halves it exactly (x is then a
     * multiple of 65536, the tables are read at index 0, and the shift is
     * exact). */
    ck_assert_uint_eq(rp_trust_decay(0, 180), RP_TRUST_DECAY_ONE);
    ck_assert_uint_eq(rp_trust_decay(180u * 86400, 180), RP_TRUST_DECAY_ONE / 2);
    ck_assert_uint_eq(rp_trust_decay(360u * 86400, 180), RP_TRUST_DECAY_ONE / 4);
    ck_assert_uint_eq(rp_trust_decay(86400, 1), RP_TRUST_DECAY_ONE / 2);
    ck_assert_uint_eq(rp_trust_decay(UINT64_MAX, 1), 0);
    ck_assert_uint_eq(rp_trust_decay(40u * 86400, 1), 0);
    ck_assert_uint_eq(rp_trust_decay(5, 0), 0);
    /* Against 2^(-x/65536) with the same quantised exponent: two rounded
     * table entries and two roundings put it within 2 units. And monotone. */
    uint64_t prev = RP_TRUST_DECAY_ONE;
    for (uint64_t age = 0; age < 10u * 30 * 86400; age += 3607) {
        uint64_t w = rp_trust_decay(age, 30);
        uint64_t x = (age << 16) / (30u * 86400);
        double want = exp2(32.0 - (double)x / 65536.0);
        ck_assert_msg(fabs((double)w - want) <= 2.0, "age %llu: %llu vs %.3f",
                      (unsigned long long)age, (unsigned long long)w, want);
        ck_assert_uint_le(w, prev);
        prev = w;
    }
}
END_TEST

/* Chain 0 -> 1 -> 2, 0 pre-trusted, 5-star reviews of age 0, damping 0.5.
 *   t0 = (1, 0, 0)
 *   t1: passed = (0, 1/2, 0), restart 1/2      -> (1/2, 1/2, 0),   change 1
 *   t2: passed = (0, 1/4, 1/4), restart 1/2    -> (1/2, 1/4, 1/4), change 1/2
 *   t3: passed = (0, 1/4, 1/8), restart 5/8    -> (5/8, 1/4, 1/8), change 1/4
 * all exact in units of 2^-60. Fixed point: t1 = t0/2, t2 = t1/2, and
 * t0 = 1 - t0/2 - t1/2 = 1 - 3 t0 / 4 ... i.e. t0 = 1/2 + t2/2 -> (4/7, 2/7, 1/7).
 * Ratings (prior 3 stars, weight 2 average raters = 2/3 of the trust here):
 *   node 1: (2/3 * 3 + 4/7 * 5) / (2/3 + 4/7) = 102/26 = 3.923077 stars,
 *           confidence (4/7) / (26/21) = 0.4615 -> 462;
 *   node 2: (2/3 * 3 + 2/7 * 5) / (2/3 + 2/7) = 3.6 stars, confidence 0.3 -> 300;
 *   node 0: no reviews: exactly the prior, confidence 0.
 * Score of node 0: trust relative to uniform 3 * 4/7 = 12/7, 256 log2(12/7) =
 *   199.07 -> 199; u = 1479, T = round(1479000 / 2560) = 578; rating part 500;
 *   score = floor((578 + 500) / 2 + 1/2) = 539. */
START_TEST(test_chain)
{
    rp_trust_edge e[] = {review(0, 1, 5), review(1, 2, 5)};
    uint32_t pre[] = {0};
    rp_trust_params p = half_params();
    rp_trust_score s[3];
    rp_trust_info info;
    const uint64_t expect[4][3] = {{ONE, 0, 0},
                                   {ONE / 2, ONE / 2, 0},
                                   {ONE / 2, ONE / 4, ONE / 4},
                                   {ONE / 8 * 5, ONE / 4, ONE / 8}};
    const uint64_t deltas[4] = {0, ONE, ONE / 2, ONE / 4};
    for (uint32_t k = 1; k <= 3; k++) {
        p.max_iterations = k;
        ck_assert_int_eq(rp_trust_compute(s, 3, e, 2, pre, 1, &p, &info), 0);
        ck_assert_uint_eq(info.iterations, k);
        ck_assert_int_eq(info.converged, 0);
        ck_assert_uint_eq(info.last_delta, deltas[k]);
        for (int j = 0; j < 3; j++)
            ck_assert_uint_eq(s[j].trust, expect[k][j]);
    }
    p.max_iterations = 1000;
    ck_assert_int_eq(rp_trust_compute(s, 3, e, 2, pre, 1, &p, &info), 0);
    ck_assert_int_eq(info.converged, 1);
    ck_assert_uint_eq(info.pairs, 2);
    assert_near(s[0].trust, 4.0 / 7);
    assert_near(s[1].trust, 2.0 / 7);
    assert_near(s[2].trust, 1.0 / 7);
    ck_assert_uint_eq(sum_trust(s, 3), ONE);
    ck_assert_uint_eq(s[0].rating, 3000000);
    ck_assert_uint_eq(s[0].confidence, 0);
    ck_assert_uint_eq(s[0].reviews, 0);
    ck_assert_int_le(abs((int)s[1].rating - 3923077), 1);
    ck_assert_uint_eq(s[1].confidence, 462);
    ck_assert_uint_eq(s[1].reviews, 1);
    ck_assert_int_le(abs((int)s[2].rating - 3600000), 1);
    ck_assert_uint_eq(s[2].confidence, 300);
    ck_assert_uint_eq(s[0].score, 539);
}
END_TEST

/* Out-star: 0 (pre-trusted) reviews 1..4 with 5 stars. Each entry is
 * floor(2^33 * 2^62 / 2^35) = 2^60, passing t/8.
 *   t1 = (1/2, 1/8, 1/8, 1/8, 1/8), change 1.
 * Fixed point: t0 = 1/2 + (1/2)(4 t0/8) -> t0 = 2/3, leaves 1/12 each.
 * In-star: 1..4 (all pre-trusted) review 0; 0 is dangling.
 *   t0 = (0, 1/4 x 4); t1: passed to 0 = 4 * 1/8 = 1/2, restart 1/2 -> 1/8
 *   each: (1/2, 1/8 x 4). Fixed point: c = (1/2)(1 - c) -> c = 1/3, 1/6 each. */
START_TEST(test_star)
{
    rp_trust_edge out[4], in[4];
    for (uint32_t j = 1; j <= 4; j++) {
        out[j - 1] = review(0, j, 5);
        in[j - 1] = review(j, 0, 5);
    }
    uint32_t pre0[] = {0}, leaves[] = {1, 2, 3, 4};
    rp_trust_params p = half_params();
    rp_trust_score s[5];
    rp_trust_info info;

    p.max_iterations = 1;
    ck_assert_int_eq(rp_trust_compute(s, 5, out, 4, pre0, 1, &p, &info), 0);
    ck_assert_uint_eq(s[0].trust, ONE / 2);
    for (int j = 1; j <= 4; j++)
        ck_assert_uint_eq(s[j].trust, ONE / 8);
    ck_assert_uint_eq(info.last_delta, ONE);
    ck_assert_int_eq(rp_trust_compute(s, 5, in, 4, leaves, 4, &p, &info), 0);
    ck_assert_uint_eq(s[0].trust, ONE / 2);
    for (int j = 1; j <= 4; j++)
        ck_assert_uint_eq(s[j].trust, ONE / 8);

    p.max_iterations = 1000;
    ck_assert_int_eq(rp_trust_compute(s, 5, out, 4, pre0, 1, &p, &info), 0);
    assert_near(s[0].trust, 2.0 / 3);
    for (int j = 1; j <= 4; j++) {
        assert_near(s[j].trust, 1.0 / 12);
        ck_assert_uint_eq(s[j].trust, s[1].trust); /* symmetric: same bits */
        ck_assert_uint_eq(s[j].rating, s[1].rating);
    }
    ck_assert_int_eq(rp_trust_compute(s, 5, in, 4, leaves, 4, &p, &info), 0);
    assert_near(s[0].trust, 1.0 / 3);
    for (int j = 1; j <= 4; j++)
        assert_near(s[j].trust, 1.0 / 6);
    ck_assert_uint_ge(sum_trust(s, 5), ONE - 3);
}
END_TEST

/* Two groups, 0 <-> 1 and 2 <-> 3 (5 stars both ways). With only 0
 * pre-trusted, 2 and 3 are unreachable: exactly 0 trust, and their reviews,
 * given by raters of zero trust, weigh nothing: rating exactly the prior,
 * confidence 0, score (0 + 500) / 2 = 250. Group A: t0 = 1/2 + t1/2,
 * t1 = t0/2 -> (2/3, 1/3). With 0 and 2 pre-trusted the groups are mirror
 * images: t0 = t2 and t1 = t3 bit for bit; t0 = 1/4 + t1/2 with t1 = t0/2
 * -> 1/3 and 1/6. */
START_TEST(test_groups)
{
    rp_trust_edge e[] = {review(0, 1, 5), review(1, 0, 5), review(2, 3, 5), review(3, 2, 5)};
    uint32_t pre[] = {0, 2};
    rp_trust_params p = half_params();
    rp_trust_score s[4];
    ck_assert_int_eq(rp_trust_compute(s, 4, e, 4, pre, 1, &p, NULL), 0);
    assert_near(s[0].trust, 2.0 / 3);
    assert_near(s[1].trust, 1.0 / 3);
    for (int j = 2; j < 4; j++) {
        ck_assert_uint_eq(s[j].trust, 0);
        ck_assert_uint_eq(s[j].rating, 3000000);
        ck_assert_uint_eq(s[j].confidence, 0);
        ck_assert_uint_eq(s[j].reviews, 1);
        ck_assert_uint_eq(s[j].score, 250);
    }
    ck_assert_int_eq(rp_trust_compute(s, 4, e, 4, pre, 2, &p, NULL), 0);
    ck_assert_uint_eq(s[0].trust, s[2].trust);
    ck_assert_uint_eq(s[1].trust, s[3].trust);
    ck_assert_uint_eq(s[1].rating, s[3].rating);
    assert_near(s[0].trust, 1.0 / 3);
    assert_near(s[1].trust, 1.0 / 6);
}
END_TEST

/* Negative reviews: 0 (pre-trusted) gives 1 five stars and 2 one star; 1
 * gives 2 two stars; 0 gives 3 one review of 5 and one of 1 (two
 * engagements). s_02 = -2, s_12 = -1: clipped to nothing; s_03 = 2 - 2 = 0:
 * nothing. So 2 and 3 get exactly 0 trust; row 0 is just 0 -> 1 and 1 is
 * dangling: (2/3, 1/3) as in test_groups. Their ratings still count the
 * reviews (prior weight 2 average raters = 2/4 here):
 *   node 2: (1/2 * 3 + 2/3 * 1 + 1/3 * 2) / (1/2 + 1) = 17/9 = 1.888889 stars;
 *   node 3: (1/2 * 3 + 2/3 * 5 + 2/3 * 1) / (1/2 + 4/3) = 3 stars. */
START_TEST(test_negative)
{
    rp_trust_edge e[] = {review(0, 1, 5), review(0, 2, 1), review(1, 2, 2), review(0, 3, 5),
                         review(0, 3, 1)};
    uint32_t pre[] = {0};
    rp_trust_params p = half_params();
    rp_trust_score s[4];
    rp_trust_info info;
    ck_assert_int_eq(rp_trust_compute(s, 4, e, 5, pre, 1, &p, &info), 0);
    ck_assert_uint_eq(info.pairs, 1);
    assert_near(s[0].trust, 2.0 / 3);
    assert_near(s[1].trust, 1.0 / 3);
    ck_assert_uint_eq(s[2].trust, 0);
    ck_assert_uint_eq(s[3].trust, 0);
    ck_assert_uint_eq(s[2].reviews, 2);
    ck_assert_uint_eq(s[3].reviews, 2);
    ck_assert_int_le(abs((int)s[2].rating - 1888889), 1);
    ck_assert_int_le(abs((int)s[3].rating - 3000000), 1);
    ck_assert_uint_lt(s[2].score, s[3].score);
}
END_TEST

/* Dangling identities. A pre-trusted identity with no outgoing trust keeps
 * everything: t1 = t0 = (1, 0, 0), change 0, converged after one iteration.
 * 0 -> 1 and 0 -> 2, both dangling, 3 isolated: like the out-star,
 * t0 = 1/2 + (1/2)(t0/2) -> 2/3, 1/6, 1/6, 0. */
START_TEST(test_dangling)
{
    uint32_t pre[] = {0};
    rp_trust_params p = half_params();
    rp_trust_score s[4];
    rp_trust_info info;
    rp_trust_edge back[] = {review(1, 2, 5)};
    ck_assert_int_eq(rp_trust_compute(s, 3, back, 1, pre, 1, &p, &info), 0);
    ck_assert_uint_eq(info.iterations, 1);
    ck_assert_int_eq(info.converged, 1);
    ck_assert_uint_eq(info.last_delta, 0);
    ck_assert_uint_eq(s[0].trust, ONE);
    ck_assert_uint_eq(s[1].trust, 0);
    ck_assert_uint_eq(s[2].trust, 0);

    rp_trust_edge e[] = {vouch(0, 1), vouch(0, 2)};
    ck_assert_int_eq(rp_trust_compute(s, 4, e, 2, pre, 1, &p, &info), 0);
    assert_near(s[0].trust, 2.0 / 3);
    assert_near(s[1].trust, 1.0 / 6);
    ck_assert_uint_eq(s[1].trust, s[2].trust);
    ck_assert_uint_eq(s[3].trust, 0);
}
END_TEST

/* Nobody pre-trusted: nobody has trust, no iteration, every rating is the
 * prior. Three pre-trusted and no edges: each starts at floor(2^60 / 3) and
 * stays there; the sum is 2^60 - 1 (2^60 mod 3 = 1), within npre - 1. */
START_TEST(test_pretrusted_edge_cases)
{
    rp_trust_edge e[] = {review(0, 1, 5), review(1, 2, 4)};
    rp_trust_params p = half_params();
    rp_trust_score s[3];
    rp_trust_info info;
    ck_assert_int_eq(rp_trust_compute(s, 3, e, 2, NULL, 0, &p, &info), 0);
    ck_assert_uint_eq(info.iterations, 0);
    for (int j = 0; j < 3; j++) {
        ck_assert_uint_eq(s[j].trust, 0);
        ck_assert_uint_eq(s[j].rating, 3000000);
    }
    uint32_t pre[] = {2, 0, 1};
    ck_assert_int_eq(rp_trust_compute(s, 3, NULL, 0, pre, 3, &p, &info), 0);
    ck_assert_uint_eq(info.iterations, 1);
    for (int j = 0; j < 3; j++)
        ck_assert_uint_eq(s[j].trust, ONE / 3);
    ck_assert_uint_eq(sum_trust(s, 3), ONE - 1);
    /* Uniform trust scores 500 on the trust side: (500 + 500) / 2. */
    ck_assert_uint_eq(s[0].score, 500);
    ck_assert_int_eq(rp_trust_compute(NULL, 0, NULL, 0, NULL, 0, &p, &info), 0);
}
END_TEST

/* Vouch and decay weights in one row. 0 vouches for 1 (weight 1/2 of a
 * 4-star review: 2^31), reviews 2 with 5 stars now (2 * 2^32) and 3 with 5
 * stars one half-life ago (2 * 2^31). Row sum 2^31 * 7: shares 1/7, 4/7, 2/7,
 * so after one iteration at damping 0.5: 1/14, 4/14, 2/14 (to a unit). */
START_TEST(test_weights)
{
    rp_trust_edge e[] = {vouch(0, 1), review(0, 2, 5), review(0, 3, 5)};
    e[2].age_s = 180u * 86400;
    uint32_t pre[] = {0};
    rp_trust_params p = half_params();
    p.max_iterations = 1;
    rp_trust_score s[4];
    ck_assert_int_eq(rp_trust_compute(s, 4, e, 3, pre, 1, &p, NULL), 0);
    const double share[4] = {0, 1.0 / 14, 4.0 / 14, 2.0 / 14};
    for (int j = 1; j < 4; j++)
        ck_assert_msg(fabs((double)s[j].trust - share[j] * ONE_D) <= 2.0, "node %d", j);
    /* Vouches are not reviews: they count for trust, not for ratings. */
    ck_assert_uint_eq(s[1].reviews, 0);
    ck_assert_uint_eq(s[1].rating, 3000000);
}
END_TEST

/* ---- random graphs and the double-precision reference -------------------- */

typedef struct graph {
    uint32_t n;
    size_t ne;
    rp_trust_edge *e;
    size_t npre;
    uint32_t pre[8];
    rp_trust_params p;
} graph;

static graph random_graph(uint32_t max_n)
{
    graph g;
    g.n = 2 + below(max_n - 1);
    g.ne = below(6 * g.n + 1);
    g.e = malloc((g.ne ? g.ne : 1) * sizeof *g.e);
    ck_assert_ptr_nonnull(g.e);
    rp_trust_params_default(&g.p);
    g.p.damping_ppm = 50000 + below(450000);
    g.p.max_iterations = 1000;
    g.p.tolerance_ppb = 1 + below(3);
    g.p.half_life_days = 30 + below(335);
    g.p.vouch_weight_ppm = below(1000001);
    g.p.prior_weight_milli = 1 + below(5000);
    g.p.prior_mean = 1000000 + below(4000001);
    for (size_t k = 0; k < g.ne; k++) {
        rp_trust_edge *e = &g.e[k];
        /* A few hubs, so that some rows and columns are long. */
        e->rater = below(4) ? below(g.n) : below(g.n < 4 ? g.n : 4);
        e->subject = below(g.n);
        e->age_s = rnd() % ((uint64_t)g.p.half_life_days * 86400 * 3);
        e->kind = below(5) ? RP_TRUST_REVIEW : RP_TRUST_VOUCH;
        e->rating = e->kind == RP_TRUST_REVIEW ? (uint8_t)(1 + below(5)) : 0;
        e->flags = 0;
    }
    g.npre = 1 + below(g.n < 8 ? g.n : 8);
    for (size_t k = 0; k < g.npre; k++) { /* distinct */
        uint32_t c;
        int dup;
        do {
            c = below(g.n);
            dup = 0;
            for (size_t q = 0; q < k; q++)
                dup |= g.pre[q] == c;
        } while (dup);
        g.pre[k] = c;
    }
    return g;
}

/* The model in doubles, straight from docs/trust.md, iterated exactly
 * `iterations` times (the engine's count), dense n x n. The edge weights are
 * the model's own integers (decay from rp_trust_decay, which test_decay checks
 * against exp2, and the floored vouch weight): they are inputs to the
 * iteration, exact in a double, and where reviews nearly cancel, a weight
 * computed any other way would differ from the model's by more than 1e-6. */
static double decay_d(const graph *g, const rp_trust_edge *e)
{
    return (double)rp_trust_decay(e->age_s, g->p.half_life_days) / 4294967296.0;
}

static void reference(const graph *g, uint32_t iterations, double *t, double *rating)
{
    uint32_t n = g->n;
    double *s = calloc((size_t)n * n, sizeof *s), *next = calloc(n, sizeof *next);
    double *rowsum = calloc(n, sizeof *rowsum);
    ck_assert_ptr_nonnull(s);
    double vouch_w = (double)(((uint64_t)g->p.vouch_weight_ppm << 32) / 1000000) / 4294967296.0;
    for (size_t k = 0; k < g->ne; k++) {
        const rp_trust_edge *e = &g->e[k];
        if (e->rater == e->subject || (e->flags & RP_TRUST_EDGE_REVOKED))
            continue;
        double w = e->kind == RP_TRUST_VOUCH ? vouch_w : (e->rating - 3) * decay_d(g, e);
        s[(size_t)e->rater * n + e->subject] += w;
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            if (s[(size_t)i * n + j] <= 0) /* clipped (sums of multiples of 2^-32: exact) */
                s[(size_t)i * n + j] = 0;
            rowsum[i] += s[(size_t)i * n + j];
        }
    double d = g->p.damping_ppm / 1e6;
    for (uint32_t j = 0; j < n; j++)
        t[j] = 0;
    for (size_t k = 0; k < g->npre; k++)
        t[g->pre[k]] = 1.0 / (double)g->npre;
    for (uint32_t it = 0; it < iterations; it++) {
        double passed = 0;
        for (uint32_t j = 0; j < n; j++) {
            double acc = 0;
            for (uint32_t i = 0; i < n; i++)
                if (s[(size_t)i * n + j] > 0)
                    acc += t[i] * (1 - d) * s[(size_t)i * n + j] / rowsum[i];
            next[j] = acc;
            passed += acc;
        }
        for (size_t k = 0; k < g->npre; k++)
            next[g->pre[k]] += (1 - passed) / (double)g->npre;
        memcpy(t, next, n * sizeof *t);
    }
    double prior_w = g->p.prior_weight_milli / 1000.0 / n;
    for (uint32_t j = 0; j < n; j++) {
        double w_sum = 0, num = 0;
        for (size_t k = 0; k < g->ne; k++) {
            const rp_trust_edge *e = &g->e[k];
            if (e->subject != j || e->rater == j || e->kind != RP_TRUST_REVIEW ||
                (e->flags & RP_TRUST_EDGE_REVOKED))
                continue;
            double w = t[e->rater] * decay_d(g, e);
            w_sum += w;
            num += w * e->rating;
        }
        rating[j] = (prior_w * g->p.prior_mean / 1e6 + num) / (prior_w + w_sum);
    }
    free(s);
    free(next);
    free(rowsum);
}

START_TEST(test_reference)
{
    rng_state = seed_value * 7919 + 1;
    for (int round = 0; round < 60; round++) {
        graph g = random_graph(round < 50 ? 60 : 300);
        rp_trust_score *s = calloc(g.n, sizeof *s);
        double *t = calloc(g.n, sizeof *t), *r = calloc(g.n, sizeof *r);
        rp_trust_info info;
        ck_assert_int_eq(rp_trust_compute(s, g.n, g.e, g.ne, g.pre, g.npre, &g.p, &info), 0);
        reference(&g, info.iterations, t, r);
        for (uint32_t j = 0; j < g.n; j++) {
            double got = (double)s[j].trust / ONE_D;
            if (t[j] > 1e-9)
                ck_assert_msg(fabs(got - t[j]) <= 1e-6 * t[j],
                              "round %d node %u: %.17g vs reference %.17g", round, j, got, t[j]);
            else
                ck_assert_msg(fabs(got - t[j]) <= 1e-12, "round %d node %u: %.17g vs %.17g", round,
                              j, got, t[j]);
            ck_assert_msg(fabs(s[j].rating / 1e6 - r[j]) <= 2e-6,
                          "round %d node %u rating "
                          "%u vs %.9f",
                          round, j, s[j].rating, r[j]);
        }
        free(s);
        free(t);
        free(r);
        free(g.e);
    }
}
END_TEST

/* Bitwise equality of two results. */
static void assert_same(const rp_trust_score *a, const rp_trust_score *b, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        ck_assert_uint_eq(a[j].trust, b[j].trust);
        ck_assert_uint_eq(a[j].rating, b[j].rating);
        ck_assert_uint_eq(a[j].reviews, b[j].reviews);
        ck_assert_uint_eq(a[j].score, b[j].score);
        ck_assert_uint_eq(a[j].confidence, b[j].confidence);
    }
}

START_TEST(test_invariants)
{
    rng_state = seed_value * 104729 + 3;
    for (int round = 0; round < 100; round++) {
        graph g = random_graph(round < 80 ? 40 : 400);
        rp_trust_score *s = calloc(g.n, sizeof *s), *s2 = calloc(g.n, sizeof *s2);
        rp_trust_info info, info2;
        ck_assert_int_eq(rp_trust_compute(s, g.n, g.e, g.ne, g.pre, g.npre, &g.p, &info), 0);

        /* Sums to one within npre - 1 units; everything within its range. */
        uint64_t sum = sum_trust(s, g.n);
        ck_assert_uint_le(sum, ONE);
        ck_assert_uint_ge(sum, ONE - (g.npre - 1));
        for (uint32_t j = 0; j < g.n; j++) {
            ck_assert_uint_ge(s[j].rating, 1000000);
            ck_assert_uint_le(s[j].rating, 5000000);
            ck_assert_uint_le(s[j].score, 1000);
            ck_assert_uint_le(s[j].confidence, 1000);
        }

        /* Relabel: identity j becomes perm[j]; shuffle the edge order too. */
        uint32_t *perm = malloc(g.n * sizeof *perm);
        for (uint32_t j = 0; j < g.n; j++)
            perm[j] = j;
        for (uint32_t j = g.n - 1; j > 0; j--) {
            uint32_t k = below(j + 1), x = perm[j];
            perm[j] = perm[k];
            perm[k] = x;
        }
        graph h = g;
        h.e = malloc((g.ne ? g.ne : 1) * sizeof *h.e);
        for (size_t k = 0; k < g.ne; k++) {
            h.e[k] = g.e[k];
            h.e[k].rater = perm[g.e[k].rater];
            h.e[k].subject = perm[g.e[k].subject];
        }
        for (size_t k = g.ne; k > 1; k--) {
            size_t q = below((uint32_t)k);
            rp_trust_edge x = h.e[k - 1];
            h.e[k - 1] = h.e[q];
            h.e[q] = x;
        }
        for (size_t k = 0; k < g.npre; k++)
            h.pre[k] = perm[g.pre[g.npre - 1 - k]];
        ck_assert_int_eq(rp_trust_compute(s2, h.n, h.e, h.ne, h.pre, h.npre, &h.p, &info2), 0);
        ck_assert_uint_eq(info.iterations, info2.iterations);
        ck_assert_uint_eq(info.last_delta, info2.last_delta);
        for (uint32_t j = 0; j < g.n; j++)
            assert_same(&s[j], &s2[perm[j]], 1);

        /* Revoked edges, and self-edges, count for nothing. */
        graph r = g;
        r.ne = g.ne * 2 + 2;
        r.e = malloc(r.ne * sizeof *r.e);
        for (size_t k = 0; k < r.ne; k++) {
            if (k < g.ne) {
                r.e[k] = g.e[k];
                continue;
            }
            r.e[k] = review(below(g.n), below(g.n), (uint8_t)(1 + below(5)));
            if (k + 1 == r.ne)
                r.e[k].subject = r.e[k].rater; /* self-review, live */
            else
                r.e[k].flags = RP_TRUST_EDGE_REVOKED;
        }
        ck_assert_int_eq(rp_trust_compute(s2, r.n, r.e, r.ne, r.pre, r.npre, &r.p, &info2), 0);
        assert_same(s, s2, g.n);

        free(perm);
        free(h.e);
        free(r.e);
        free(s);
        free(s2);
        free(g.e);
    }
}
END_TEST

/* ---- splits: sequential and on threads ----------------------------------- */

struct job {
    rp_trust *t;
    size_t begin, end;
    int rc;
};

static void *range_worker(void *arg)
{
    struct job *j = arg;
    j->rc = rp_trust_iterate_range(j->t, j->begin, j->end);
    return NULL;
}

/* Run with the ranges of `bounds` (nparts of them): in order, in reverse
 * order, or each on its own thread. */
static void run_split(const graph *g, rp_trust_score *out, const size_t *bounds_in, size_t nparts,
                      int mode)
{
    rp_trust *t;
    ck_assert_int_eq(rp_trust_new(&t, g->n, g->e, g->ne, g->pre, g->npre, &g->p), 0);
    size_t bounds[9];
    if (bounds_in)
        memcpy(bounds, bounds_in, (nparts + 1) * sizeof *bounds);
    else
        rp_trust_split(t, bounds, nparts);
    ck_assert_uint_eq(bounds[0], 0);
    ck_assert_uint_eq(bounds[nparts], g->n);
    while (!rp_trust_done(t)) {
        if (mode == 2) {
            pthread_t th[8];
            struct job jobs[8];
            for (size_t k = 0; k < nparts; k++) {
                jobs[k] = (struct job){t, bounds[k], bounds[k + 1], 0};
                ck_assert_int_eq(pthread_create(&th[k], NULL, range_worker, &jobs[k]), 0);
            }
            for (size_t k = 0; k < nparts; k++) {
                pthread_join(th[k], NULL);
                ck_assert_int_eq(jobs[k].rc, 0);
            }
        } else {
            for (size_t q = 0; q < nparts; q++) {
                size_t k = mode == 1 ? nparts - 1 - q : q;
                ck_assert_int_eq(rp_trust_iterate_range(t, bounds[k], bounds[k + 1]), 0);
            }
        }
        ck_assert_int_eq(rp_trust_step(t), 0);
    }
    ck_assert_int_eq(rp_trust_result(t, out, g->n, NULL), 0);
    rp_trust_free(t);
}

START_TEST(test_splits)
{
    rng_state = seed_value * 31337 + 5;
    for (int round = 0; round < 20; round++) {
        graph g = random_graph(round < 15 ? 50 : 2000);
        rp_trust_score *ref = calloc(g.n, sizeof *ref), *s = calloc(g.n, sizeof *s);
        ck_assert_int_eq(rp_trust_compute(ref, g.n, g.e, g.ne, g.pre, g.npre, &g.p, NULL), 0);
        const size_t parts[] = {1, 2, 4};
        for (int pi = 0; pi < 3; pi++)
            for (int mode = 0; mode < 3; mode++) {
                run_split(&g, s, NULL, parts[pi], mode);
                assert_same(ref, s, g.n);
            }
        /* Uneven, random cut points (some ranges empty). */
        size_t b[5] = {0, below(g.n + 1), 0, 0, g.n};
        b[2] = b[1] + below((uint32_t)(g.n - b[1] + 1));
        b[3] = b[2] + below((uint32_t)(g.n - b[2] + 1));
        for (int mode = 0; mode < 3; mode++) {
            run_split(&g, s, b, 4, mode);
            assert_same(ref, s, g.n);
        }
        free(ref);
        free(s);
        free(g.e);
    }
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

START_TEST(test_refusals)
{
    rp_trust_params p = half_params(), bad;
    rp_trust_edge ok[] = {review(0, 1, 5), review(1, 2, 4)};
    uint32_t pre[] = {0};
    rp_trust_score s[3];
    rp_trust *t = (rp_trust *)&p; /* must come back NULL */

    /* Parameters out of range. */
    uint32_t *fields[] = {&bad.damping_ppm,    &bad.max_iterations, &bad.tolerance_ppb,
                          &bad.half_life_days, &bad.prior_mean,     &bad.prior_weight_milli};
    const uint32_t low[] = {0, 0, 0, 0, 999999, 0};
    const uint32_t high[] = {1000000, 1001, 1000001, 36501, 5000001, 1000001};
    for (int f = 0; f < 6; f++) {
        bad = p;
        *fields[f] = low[f];
        ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, pre, 1, &bad), RP_ERR_RANGE);
        ck_assert_ptr_null(t);
        bad = p;
        *fields[f] = high[f];
        ck_assert_int_eq(rp_trust_compute(s, 3, ok, 2, pre, 1, &bad, NULL), RP_ERR_RANGE);
        ck_assert_uint_eq(s[0].trust, 0); /* zeroed */
    }
    bad = p;
    bad.vouch_weight_ppm = 1000001;
    ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, pre, 1, &bad), RP_ERR_RANGE);
    bad = p;
    bad.score_trust_ppm = 1000001;
    ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, pre, 1, &bad), RP_ERR_RANGE);

    /* Malformed edges. */
    rp_trust_edge e;
    e = review(0, 1, 0);
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_RANGE);
    e = review(0, 1, 6);
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_RANGE);
    e = vouch(0, 1);
    e.rating = 5;
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_RANGE);
    e = review(0, 1, 5);
    e.kind = 3;
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_RANGE);
    e = review(0, 1, 5);
    e.flags = 0x02;
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_RANGE);
    e = review(0, 3, 5);
    e.flags = RP_TRUST_EDGE_REVOKED; /* revoked, but still must be well-formed */
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_INVALID_ARG);
    e = review(3, 0, 5);
    ck_assert_int_eq(rp_trust_new(&t, 3, &e, 1, pre, 1, &p), RP_ERR_INVALID_ARG);
    ck_assert_ptr_null(t);

    /* Pre-trusted set. */
    uint32_t dup[] = {1, 1}, out_of_range[] = {3};
    ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, dup, 2, &p), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, out_of_range, 1, &p), RP_ERR_INVALID_ARG);
    uint32_t four[] = {0, 1, 2, 0};
    ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, four, 4, &p), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_trust_new(&t, (size_t)RP_TRUST_MAX_IDENTITIES + 1, ok, 2, pre, 1, &p),
                     RP_ERR_INVALID_ARG);

    /* Driving the iteration out of order. */
    rp_trust_score want[3];
    ck_assert_int_eq(rp_trust_compute(want, 3, ok, 2, pre, 1, &p, NULL), 0);
    ck_assert_int_eq(rp_trust_new(&t, 3, ok, 2, pre, 1, &p), 0);
    ck_assert_int_eq(rp_trust_result(t, s, 3, NULL), RP_ERR_TRUST_STATE);
    ck_assert_int_eq(rp_trust_iterate_range(t, 2, 1), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_trust_iterate_range(t, 0, 4), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_trust_iterate_range(t, 0, 2), 0);
    ck_assert_int_eq(rp_trust_step(t), RP_ERR_TRUST_STATE); /* index 2 missed */
    ck_assert_int_eq(rp_trust_iterate_range(t, 1, 3), 0);   /* 1 twice: harmless */
    ck_assert_int_eq(rp_trust_step(t), 0);
    while (!rp_trust_done(t)) {
        ck_assert_int_eq(rp_trust_iterate_range(t, 0, 3), 0);
        ck_assert_int_eq(rp_trust_step(t), 0);
    }
    ck_assert_int_eq(rp_trust_step(t), RP_ERR_TRUST_STATE);
    ck_assert_int_eq(rp_trust_iterate_range(t, 0, 3), 0); /* a no-op now */
    ck_assert_int_eq(rp_trust_result(t, s, 2, NULL), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_trust_result(t, s, 3, NULL), 0);
    assert_same(want, s, 3);
    rp_trust_free(t);
    rp_trust_free(NULL);
    ck_assert_str_ne(rp_strerror(RP_ERR_TRUST_STATE), rp_strerror(-1999));
}
END_TEST

static Suite *trust_suite(void)
{
    Suite *s = suite_create("trust");
    TCase *tc = tcase_create("hand");
    tcase_add_test(tc, test_decay);
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_star);
    tcase_add_test(tc, test_groups);
    tcase_add_test(tc, test_negative);
    tcase_add_test(tc, test_dangling);
    tcase_add_test(tc, test_pretrusted_edge_cases);
    tcase_add_test(tc, test_weights);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("random");
    tcase_add_test(tr, test_reference);
    tcase_add_test(tr, test_invariants);
    tcase_add_test(tr, test_splits);
    tcase_set_timeout(tr, 600);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    const char *env = getenv("RP_TEST_SEED");
    seed_value = env ? strtoul(env, NULL, 10) : (unsigned long)time(NULL);
    fprintf(stderr, "test_trust: RP_TEST_SEED=%lu\n", seed_value);
    SRunner *sr = srunner_create(trust_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
