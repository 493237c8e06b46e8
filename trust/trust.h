/* The trust engine: global trust, trust-weighted ratings and scores.
 *
 * A pure computation over one snapshot of the trust graph: no LMDB, no I/O, no
 * globals, no threads. docs/trust.md defines the model precisely (formulas,
 * fixed-point units, rounding, order of operations); this header is the
 * programming interface.
 *
 * Every figure is computed in integers with a fixed rule, so the output is
 * bit-identical on every machine, compiler, optimisation level and thread
 * count. The output does not depend on the order of the edges in the input,
 * and relabelling the identities only permutes it: no tie is ever broken by
 * position, so the caller's canonical order (identities sorted by their
 * 32-byte name) is simply the order of the output.
 *
 * Use, serially:
 *     rp_trust_compute(out, n, edges, nedges, pre, npre, &params, &info);
 * or, spreading the power iteration over a worker pool:
 *     rp_trust_new(&t, ...);
 *     while (!rp_trust_done(t)) {
 *         run rp_trust_iterate_range(t, b_k, e_k) for ranges covering [0, n),
 *             concurrently if you like (e.g. one uv_queue_work each);
 *         when all have returned: rp_trust_step(t);
 *     }
 *     rp_trust_result(t, out, n, &info); rp_trust_free(t);
 *
 * Pointer arguments must be non-NULL unless a comment says otherwise.
 * Functions returning int return 0 or a negative code from crypto/error.h.
 */
#ifndef RP_TRUST_H
#define RP_TRUST_H

#include <stddef.h>
#include <stdint.h>

/* Global trust is a u64 in units of 2^-60: the whole trust vector sums to
 * RP_TRUST_ONE (less at most npretrusted - 1 units, see docs/trust.md). */
#define RP_TRUST_ONE (UINT64_C(1) << 60)

/* Limits on one snapshot; they keep every intermediate sum inside its integer
 * type (docs/trust.md, "Ranges"). */
#define RP_TRUST_MAX_IDENTITIES (UINT32_C(1) << 28)
#define RP_TRUST_MAX_EDGES      (UINT32_C(1) << 28)

/* Decay weights are in units of 2^-32: age 0 weighs RP_TRUST_DECAY_ONE. */
#define RP_TRUST_DECAY_ONE (UINT64_C(1) << 32)

/* Ratings are in micro-stars: 1 star = 1000000. */
#define RP_TRUST_STAR UINT32_C(1000000)

enum rp_trust_edge_kind {
    RP_TRUST_REVIEW = 1, /* a live REVIEW: rater reviewed subject after an engagement */
    RP_TRUST_VOUCH = 2,  /* a live VOUCH: rater vouches for subject */
};

/* rp_trust_edge.flags: the record was revoked; the edge counts for nothing. */
#define RP_TRUST_EDGE_REVOKED 0x01u

/* One edge of the trust graph: one review or vouch record. */
typedef struct rp_trust_edge {
    uint32_t rater;   /* index of the issuer, < n */
    uint32_t subject; /* index of the identity rated, < n; == rater is ignored */
    uint64_t age_s;   /* snapshot time minus record time, seconds (clamp negatives to 0) */
    uint8_t kind;     /* enum rp_trust_edge_kind */
    uint8_t rating;   /* REVIEW: overall rating 1..5; VOUCH: must be 0 */
    uint8_t flags;    /* RP_TRUST_EDGE_REVOKED or 0; other bits must be 0 */
} rp_trust_edge;

/* The model's integer parameters. The first four come from genesis (same names
 * there); the rest are consensus constants whose values rp_trust_params_default
 * gives (changing any of them changes every score, i.e. forks the chain). */
typedef struct rp_trust_params {
    uint32_t damping_ppm;        /* restart weight d, 1..999999 (genesis trust_damping_ppm) */
    uint32_t max_iterations;     /* 1..1000 (genesis trust_max_iterations) */
    uint32_t tolerance_ppb;      /* stop when L1 change < this * 1e-9, 1..1000000 */
    uint32_t half_life_days;     /* review weight halves every this many days, 1..36500 */
    uint32_t vouch_weight_ppm;   /* a vouch's weight, relative to a 4-star review, 0..1000000 */
    uint32_t prior_mean;         /* prior rating, micro-stars, 1000000..5000000 */
    uint32_t prior_weight_milli; /* prior weight, in thousandths of an average rater, 1..1000000 */
    uint32_t score_trust_ppm;    /* share of the trust component in the score, 0..1000000 */
} rp_trust_params;

/* Per identity, in the order of the input indices. */
typedef struct rp_trust_score {
    uint64_t trust;      /* global trust, units of 2^-60 (RP_TRUST_ONE = everything) */
    uint32_t rating;     /* trust-weighted Bayesian average, micro-stars 1000000..5000000 */
    uint32_t reviews;    /* live reviews received (any rater, any rating) */
    uint16_t score;      /* 0..1000 */
    uint16_t confidence; /* 0..1000: the reviews' share of the rating's weight vs the prior */
} rp_trust_score;

/* How the iteration ended. */
typedef struct rp_trust_info {
    uint32_t iterations; /* power iterations performed (0 when nobody is pre-trusted) */
    int converged;       /* 1 if the L1 change fell below the tolerance, 0 if the cap hit */
    uint64_t last_delta; /* L1 change of the last iteration, units of 2^-60 */
    size_t pairs;        /* nonzero entries of the local trust matrix */
} rp_trust_info;

/* The engine's state for one snapshot: opaque. */
typedef struct rp_trust rp_trust;

/* Fill in the consensus defaults (docs/trust.md lists them): damping 150000,
 * 100 iterations, tolerance 1 ppb, half-life 180 days, vouch 500000 ppm,
 * prior 3 stars with the weight of 2 average raters, score half trust.
 * Out: p. */
void rp_trust_params_default(rp_trust_params *p);

/* The decay weight of a review of a given age: 2^(-age/half-life), from an
 * integer table, in units of 2^-32 (docs/trust.md, "Decay").
 * Returns: the weight, 0..RP_TRUST_DECAY_ONE; 0 if half_life_days is 0.
 * In: age_s: age in seconds; half_life_days: the half-life. */
uint64_t rp_trust_decay(uint64_t age_s, uint32_t half_life_days);

/* Build the local trust matrix and the starting vector for one snapshot.
 * Returns: 0;
 *          RP_ERR_INVALID_ARG if n, nedges or npretrusted exceed their limits,
 *            an index is >= n, or a pre-trusted index repeats;
 *          RP_ERR_RANGE if a parameter, kind, rating or flag is out of range;
 *          RP_ERR_NOMEM.
 *          *out is NULL on failure.
 * Out: out: the new state; the caller owns it and frees it with rp_trust_free.
 * In:  n: number of identities (indices 0..n-1, in the caller's canonical order);
 *      edges, nedges: the graph (may be NULL if nedges is 0); copied, so it may
 *        be freed when this returns;
 *      pretrusted, npretrusted: distinct indices of the registered pre-trusted
 *        identities (may be NULL if npretrusted is 0); with none, every trust
 *        is 0 and no iteration runs;
 *      params: checked against the ranges above.
 * Memory: about 60 bytes per edge and 40 per identity at the peak of the
 * build, then about 25 per edge and 32 per identity until rp_trust_free. */
__attribute__((warn_unused_result)) int rp_trust_new(rp_trust **out, size_t n,
                                                     const rp_trust_edge *edges, size_t nedges,
                                                     const uint32_t *pretrusted, size_t npretrusted,
                                                     const rp_trust_params *params);

/* Free the state. In: t (may be NULL). */
void rp_trust_free(rp_trust *t);

/* Returns: n, the number of identities (the index space of the ranges). */
size_t rp_trust_size(const rp_trust *t);

/* Returns: 1 once the iteration has ended (converged or hit the cap), else 0. */
int rp_trust_done(const rp_trust *t);

/* Split [0, n) into nparts consecutive ranges of about equal work (edges plus
 * identities), for the worker pool. The split never changes a result bit.
 * Out: bounds[0..nparts]: range k is [bounds[k], bounds[k+1]); bounds[0] = 0,
 *      bounds[nparts] = n, non-decreasing.
 * In:  nparts >= 1. */
void rp_trust_split(const rp_trust *t, size_t *bounds, size_t nparts);

/* Compute the next iterate's incoming mass for identities [begin, end).
 * Returns: 0; RP_ERR_INVALID_ARG if begin > end or end > n (nothing written).
 *          Does nothing (and returns 0) once rp_trust_done.
 * Threads: reads the current vector and the matrix, writes only the entries
 *          [begin, end) of the next one. Calls with disjoint ranges may run
 *          concurrently; nothing else may run on t meanwhile. Every index in
 *          [0, n) must be covered once before rp_trust_step (covering one twice
 *          is harmless: the same bits are written again). */
__attribute__((warn_unused_result)) int rp_trust_iterate_range(rp_trust *t, size_t begin,
                                                               size_t end);

/* Finish one iteration, serially: sum the mass passed along edges, send the
 * rest to the pre-trusted identities, take the L1 change, swap vectors and
 * apply the stopping test.
 * Returns: 0;
 *          RP_ERR_TRUST_STATE if some index was not covered by
 *            rp_trust_iterate_range since the last step, or the iteration has
 *            already ended (t is unchanged in both cases).
 * Threads: no rp_trust_iterate_range may be running. */
__attribute__((warn_unused_result)) int rp_trust_step(rp_trust *t);

/* Compute ratings, review counts, scores and confidences from the final trust.
 * Returns: 0; RP_ERR_TRUST_STATE if the iteration has not ended;
 *          RP_ERR_INVALID_ARG if n is not rp_trust_size(t).
 * Out: out[0..n): one entry per identity; info (may be NULL).
 * In:  t, unchanged (may be called again). */
__attribute__((warn_unused_result)) int rp_trust_result(const rp_trust *t, rp_trust_score *out,
                                                        size_t n, rp_trust_info *info);

/* All of the above, serially on the calling thread.
 * Returns: as rp_trust_new. Out: out[0..n), info (may be NULL).
 * out is zeroed on failure. */
__attribute__((warn_unused_result)) int
rp_trust_compute(rp_trust_score *out, size_t n, const rp_trust_edge *edges, size_t nedges,
                 const uint32_t *pretrusted, size_t npretrusted, const rp_trust_params *params,
                 rp_trust_info *info);

#endif /* RP_TRUST_H */
