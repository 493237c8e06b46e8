/* Inbound eviction (contract in evict.h). */
#include "p2p/evict.h"

#include <stdlib.h>

/* Each sort puts the peers to protect last; protect_sorted then leaves
 * them out of c[0..n). */
static int by_group(const void *a, const void *b)
{
    uint64_t x = ((const rp_evict_candidate *)a)->group_hash;
    uint64_t y = ((const rp_evict_candidate *)b)->group_hash;
    return x < y ? -1 : x > y;
}

static int by_ping_desc(const void *a, const void *b) /* highest ping first */
{
    uint64_t x = ((const rp_evict_candidate *)a)->min_ping_us;
    uint64_t y = ((const rp_evict_candidate *)b)->min_ping_us;
    return x > y ? -1 : x < y;
}

static int by_block(const void *a, const void *b) /* oldest block first */
{
    uint64_t x = ((const rp_evict_candidate *)a)->last_block_ms;
    uint64_t y = ((const rp_evict_candidate *)b)->last_block_ms;
    return x < y ? -1 : x > y;
}

static int by_record(const void *a, const void *b)
{
    uint64_t x = ((const rp_evict_candidate *)a)->last_record_ms;
    uint64_t y = ((const rp_evict_candidate *)b)->last_record_ms;
    return x < y ? -1 : x > y;
}

static int by_age_young_first(const void *a, const void *b)
{
    uint64_t x = ((const rp_evict_candidate *)a)->connected_ms;
    uint64_t y = ((const rp_evict_candidate *)b)->connected_ms;
    return x > y ? -1 : x < y;
}

static size_t protect_sorted(rp_evict_candidate *c, size_t n, size_t k,
                             int (*cmp)(const void *, const void *), int need_nonzero)
{
    qsort(c, n, sizeof *c, cmp);
    size_t kept = 0;
    while (kept < k && kept < n) {
        const rp_evict_candidate *p = &c[n - kept - 1];
        if (need_nonzero == 1 && !p->last_block_ms)
            break;
        if (need_nonzero == 2 && !p->last_record_ms)
            break;
        kept++;
    }
    return n - kept;
}

int rp_evict_select(rp_evict_candidate *c, size_t n, uint64_t *peer)
{
    /* A discouraged peer goes first, whatever protects it. */
    for (size_t i = 0; i < n; i++)
        if (c[i].discouraged) {
            *peer = c[i].peer;
            return 1;
        }
    n = protect_sorted(c, n, RP_EVICT_PROTECT_GROUP, by_group, 0);
    n = protect_sorted(c, n, RP_EVICT_PROTECT_PING, by_ping_desc, 0);
    n = protect_sorted(c, n, RP_EVICT_PROTECT_BLOCKS, by_block, 1);
    n = protect_sorted(c, n, RP_EVICT_PROTECT_RECORDS, by_record, 2);
    /* Half of the rest: the longest connected. */
    qsort(c, n, sizeof *c, by_age_young_first);
    n -= n / 2;
    if (n == 0)
        return 0;
    /* The group with the most peers (ties: the one with the youngest peer)
     * loses its youngest. c[0..n) is youngest first. */
    size_t best = 0, best_count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        for (size_t j = 0; j < n; j++)
            count += c[j].group_hash == c[i].group_hash;
        if (count > best_count) { /* strict: the first seen is the youngest */
            best = i;
            best_count = count;
        }
    }
    *peer = c[best].peer;
    return 1;
}
