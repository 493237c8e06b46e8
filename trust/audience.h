/* Trust-weighted audience figures: what a talent's audience on one platform
 * is, as the attesters who measured it say, each counting as much as the
 * trust engine trusts it.
 *
 * A pure computation over one group of claims (the live, unexpired AUDIENCE
 * attestations about one (talent, platform) at an epoch's snapshot, each
 * with its attester's global trust in that epoch): no LMDB, no I/O, no
 * globals. docs/trust.md ("Audience figures") defines it; in short, each
 * figure is the lower weighted median of the claims, in integers, so that
 * attesters nobody trusts move nothing and the output is bit-identical
 * everywhere and independent of the order of the claims.
 *
 * Pointer arguments must be non-NULL unless a comment says otherwise.
 */
#ifndef RP_TRUST_AUDIENCE_H
#define RP_TRUST_AUDIENCE_H

#include <stddef.h>
#include <stdint.h>

/* One attestation, as the figure sees it. */
typedef struct rp_audience_claim {
    uint64_t trust; /* the attester's global trust, units of 2^-60 (rp_trust_score.trust) */
    uint64_t followers;
    uint32_t authentic_ppm;  /* 0..1000000 */
    uint32_t engagement_ppm; /* 0..1000000 */
} rp_audience_claim;

/* The figure of one group. */
typedef struct rp_audience_figure {
    uint32_t attesters;   /* claims counted (all of them, trusted or not) */
    uint64_t total_trust; /* sum of their trust */
    int has_figure;       /* 0 iff total_trust is 0: then the three below are 0 */
    uint64_t followers;   /* lower weighted medians */
    uint32_t authentic_ppm;
    uint32_t engagement_ppm;
} rp_audience_figure;

/* The lower weighted median of values[0..n) with weights[0..n): the smallest
 * value v such that the weights of the values <= v add up to at least half
 * of the total (2 * cumulative >= total). Ties between equal values need no
 * rule (they are the same value); when the lower half weighs exactly half,
 * the lower of the two middle values is the answer.
 * Returns: 0; RP_ERR_RANGE if the weights add up to more than 2^62 (out
 *          untouched); RP_ERR_INVALID_ARG if n is 0 or the total weight 0;
 *          RP_ERR_NOMEM.
 * Out: out.  In: values, weights: n each; neither is changed. */
__attribute__((warn_unused_result)) int rp_weighted_median(uint64_t *out, const uint64_t *values,
                                                           const uint64_t *weights, size_t n);

/* The figure of one group of claims.
 * Returns: 0; RP_ERR_RANGE if the claims' trust adds up to more than 2^62
 *          (the trust of distinct attesters of one epoch adds up to at
 *          most 2^60) or a ppm is above 1000000; RP_ERR_INVALID_ARG if n
 *          is 0 or above 2^28; RP_ERR_NOMEM. out is zeroed on failure.
 * Out: out.  In: claims[0..n), in any order. */
__attribute__((warn_unused_result)) int
rp_audience_compute(rp_audience_figure *out, const rp_audience_claim *claims, size_t n);

#endif /* RP_TRUST_AUDIENCE_H */
