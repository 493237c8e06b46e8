/* Trust-weighted audience figures (contract in audience.h, definition in
 * docs/trust.md, "Audience figures").
 *
 * Each figure sorts (value, weight) pairs by value and walks them until the
 * cumulative weight reaches half of the total. Everything is u64: the
 * weights add up to at most 2^62 (checked), so twice a cumulative sum never
 * overflows. The sort compares whole pairs, so pairs that compare equal are
 * identical and the order qsort leaves them in cannot change the answer.
 */
#include "trust/audience.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"

#define WEIGHT_LIMIT (UINT64_C(1) << 62)
#define MAX_CLAIMS   (UINT32_C(1) << 28)
#define PPM_ONE      UINT32_C(1000000)

struct pair {
    uint64_t value, weight;
};

static int cmp_pair(const void *x, const void *y)
{
    const struct pair *a = x, *b = y;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return a->weight < b->weight ? -1 : a->weight > b->weight;
}

/* Add w to *total: RP_ERR_RANGE past the limit. */
static int add_weight(uint64_t *total, uint64_t w)
{
    if (w > WEIGHT_LIMIT - *total)
        return RP_ERR_RANGE;
    *total += w;
    return 0;
}

/* The lower weighted median of p[0..n) (sorted here), total > 0. */
static uint64_t median_of(struct pair *p, size_t n, uint64_t total)
{
    qsort(p, n, sizeof *p, cmp_pair);
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += p[i].weight;
        if (2 * cum >= total)
            return p[i].value;
    }
    return p[n - 1].value; /* not reached: cum ends at total */
}

int rp_weighted_median(uint64_t *out, const uint64_t *values, const uint64_t *weights, size_t n)
{
    uint64_t total = 0;
    if (n == 0 || n > MAX_CLAIMS)
        return RP_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (add_weight(&total, weights[i]) != 0)
            return RP_ERR_RANGE;
    if (total == 0)
        return RP_ERR_INVALID_ARG;
    struct pair *p = malloc(n * sizeof *p);
    if (!p)
        return RP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){values[i], weights[i]};
    *out = median_of(p, n, total);
    free(p);
    return 0;
}

int rp_audience_compute(rp_audience_figure *out, const rp_audience_claim *claims, size_t n)
{
    uint64_t total = 0;
    memset(out, 0, sizeof *out);
    if (n == 0 || n > MAX_CLAIMS)
        return RP_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (add_weight(&total, claims[i].trust) != 0 || claims[i].authentic_ppm > PPM_ONE ||
            claims[i].engagement_ppm > PPM_ONE)
            return RP_ERR_RANGE;
    out->attesters = (uint32_t)n;
    out->total_trust = total;
    if (total == 0)
        return 0; /* nobody trusted says anything: no figure */

    struct pair *p = malloc(n * sizeof *p);
    if (!p)
        return RP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){claims[i].followers, claims[i].trust};
    out->followers = median_of(p, n, total);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){claims[i].authentic_ppm, claims[i].trust};
    out->authentic_ppm = (uint32_t)median_of(p, n, total);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){claims[i].engagement_ppm, claims[i].trust};
    out->engagement_ppm = (uint32_t)median_of(p, n, total);
    out->has_figure = 1;
    free(p);
    return 0;
}
