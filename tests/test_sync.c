/* The block-sync engine (p2p/sync.h) against simulated peers: blocks are
 * strings "block H" and commits "commit H"; a simulated ledger commits them
 * in order. Peers answer requests after a delay, or not at all, or lie.
 *
 *   - several honest peers: every height committed once, in order; the
 *     requests spread over the peers; the engine says when it caught up;
 *   - a peer killed halfway: its heights go to the others;
 *   - a slow peer (never answers): timed out, dropped as slow, no stall;
 *   - a liar that announces a height and answers "not found", one that
 *     lowers its height, one whose block the ledger refuses: reported, and
 *     sync completes from the honest peers;
 *   - windows: never more than RP_SYNC_WINDOW_PEER heights in flight from
 *     one peer, nor RP_SYNC_WINDOW in all.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/sync.h"

#define MAXP 8

struct sim {
    rp_sync *s;
    uint64_t now;
    uint64_t committed;  /* the simulated ledger's tip */
    int order_broken;
    uint64_t refuse_from; /* peer whose blocks the ledger refuses (0: none) */
    uint64_t last_sender;
    /* requests: per peer, the heights asked and not answered yet */
    struct {
        uint64_t from[4096];
        uint32_t count[4096];
        size_t n;
        uint32_t inflight_max, inflight;
    } req[MAXP + 1];
    int misbehaved[MAXP + 1], slow[MAXP + 1];
    /* the commit in progress */
    int pending;
    uint64_t pending_h;
    int auto_commit;
};

static struct sim S;

static void io_getblocks(void *ctx, uint64_t peer, uint64_t from, uint32_t count)
{
    (void)ctx;
    ck_assert(peer >= 1 && peer <= MAXP);
    ck_assert_uint_ge(count, 1);
    ck_assert_uint_le(count, RP_SYNC_MAX_RANGE);
    size_t n = S.req[peer].n++;
    ck_assert_uint_lt(n, 4096);
    S.req[peer].from[n] = from;
    S.req[peer].count[n] = count;
    S.req[peer].inflight += count;
    if (S.req[peer].inflight > S.req[peer].inflight_max)
        S.req[peer].inflight_max = S.req[peer].inflight;
}

static void io_commit(void *ctx, uint64_t height, const unsigned char *block, size_t blen,
                      const unsigned char *commit, size_t clen)
{
    (void)ctx;
    char want[64];
    ck_assert(!S.pending);
    if (height != S.committed + 1)
        S.order_broken = 1;
    snprintf(want, sizeof want, "block %llu", (unsigned long long)height);
    ck_assert_uint_eq(blen, strlen(want));
    ck_assert_int_eq(memcmp(block, want, blen), 0);
    snprintf(want, sizeof want, "commit %llu", (unsigned long long)height);
    ck_assert_uint_eq(clen, strlen(want));
    ck_assert_int_eq(memcmp(commit, want, clen), 0);
    S.pending = 1;
    S.pending_h = height;
}

static void io_misbehaved(void *ctx, uint64_t peer, const char *why, int slow)
{
    (void)ctx;
    (void)why;
    S.misbehaved[peer]++;
    S.slow[peer] += slow;
}

static void setup(void)
{
    memset(&S, 0, sizeof S);
    rp_sync_io io = {NULL, io_getblocks, io_commit, io_misbehaved};
    ck_assert_int_eq(rp_sync_new(&S.s, &io, 0), 0);
    S.now = 1000;
}

static void teardown(void) { rp_sync_free(S.s); }

/* Answer peer's oldest request (all its heights, or "not found" for those
 * above `has`). */
static int answer_one(uint64_t peer, uint64_t has)
{
    if (!S.req[peer].n)
        return 0;
    uint64_t from = S.req[peer].from[0];
    uint32_t count = S.req[peer].count[0];
    memmove(&S.req[peer].from[0], &S.req[peer].from[1], (S.req[peer].n - 1) * sizeof(uint64_t));
    memmove(&S.req[peer].count[0], &S.req[peer].count[1],
            (S.req[peer].n - 1) * sizeof(uint32_t));
    S.req[peer].n--;
    S.req[peer].inflight -= count;
    for (uint64_t h = from; h < from + count; h++) {
        char b[64], c[64];
        snprintf(b, sizeof b, "block %llu", (unsigned long long)h);
        snprintf(c, sizeof c, "commit %llu", (unsigned long long)h);
        if (h > has) {
            rp_sync_on_notfound(S.s, peer, h, S.now);
            continue;
        }
        S.last_sender = peer;
        rp_sync_on_block(S.s, peer, h, (const unsigned char *)b, strlen(b),
                         (const unsigned char *)c, strlen(c), S.now);
        /* The ledger commits at once (or refuses). */
        while (S.pending) {
            S.pending = 0;
            int ok = !(S.refuse_from && S.refuse_from == S.last_sender);
            if (ok)
                S.committed = S.pending_h;
            rp_sync_committed(S.s, S.pending_h, ok, S.now);
        }
    }
    return 1;
}

static void drain(const uint64_t *has, size_t npeers, const int *alive, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        int any = 0;
        for (uint64_t p = 1; p <= npeers; p++)
            if (alive[p])
                any |= answer_one(p, has[p]);
        S.now += 100;
        rp_sync_tick(S.s, S.now);
        if (!any && r > 0) {
            S.now += RP_SYNC_TIMEOUT_MS / 2;
            rp_sync_tick(S.s, S.now);
        }
    }
}

START_TEST(test_honest_peers)
{
    uint64_t has[MAXP + 1] = {0, 3000, 3000, 3000};
    int alive[MAXP + 1] = {0, 1, 1, 1};
    for (uint64_t p = 1; p <= 3; p++)
        rp_sync_peer_height(S.s, p, has[p], S.now);
    rp_sync_status st;
    rp_sync_status_get(S.s, &st, S.now);
    ck_assert(st.syncing);
    ck_assert_uint_eq(st.target, 3000);
    drain(has, 3, alive, 2000);
    ck_assert(!S.order_broken);
    ck_assert_uint_eq(S.committed, 3000);
    rp_sync_status_get(S.s, &st, S.now);
    ck_assert(!st.syncing);
    ck_assert_uint_eq(st.tip, 3000);
    for (uint64_t p = 1; p <= 3; p++) {
        ck_assert_uint_gt(S.req[p].inflight_max, 0); /* every peer served */
        ck_assert_uint_le(S.req[p].inflight_max, RP_SYNC_WINDOW_PEER);
        ck_assert_int_eq(S.misbehaved[p], 0);
    }
}
END_TEST

START_TEST(test_peer_killed_halfway)
{
    uint64_t has[MAXP + 1] = {0, 2000, 2000};
    int alive[MAXP + 1] = {0, 1, 1};
    rp_sync_peer_height(S.s, 1, 2000, S.now);
    rp_sync_peer_height(S.s, 2, 2000, S.now);
    while (S.committed < 1000)
        drain(has, 2, alive, 1);
    alive[2] = 0;
    rp_sync_remove_peer(S.s, 2);
    drain(has, 2, alive, 3000);
    ck_assert_uint_eq(S.committed, 2000);
    ck_assert(!S.order_broken);
}
END_TEST

START_TEST(test_slow_peer_dropped)
{
    uint64_t has[MAXP + 1] = {0, 1000, 1000};
    int alive[MAXP + 1] = {0, 1, 0}; /* peer 2 never answers */
    rp_sync_peer_height(S.s, 1, 1000, S.now);
    rp_sync_peer_height(S.s, 2, 1000, S.now);
    drain(has, 2, alive, 3000);
    ck_assert_uint_eq(S.committed, 1000);
    ck_assert_int_eq(S.misbehaved[2], 1);
    ck_assert_int_eq(S.slow[2], 1);
    ck_assert_int_eq(S.misbehaved[1], 0);
}
END_TEST

START_TEST(test_liars)
{
    /* Peer 2 claims 5000 but has 100; peer 3 later lowers its height; peer
     * 4's blocks are refused by the ledger. Peer 1 is honest. */
    uint64_t has[MAXP + 1] = {0, 1500, 100, 1500, 1500};
    int alive[MAXP + 1] = {0, 1, 1, 1, 1};
    rp_sync_peer_height(S.s, 1, 1500, S.now);
    rp_sync_peer_height(S.s, 2, 5000, S.now);
    rp_sync_peer_height(S.s, 3, 1500, S.now);
    rp_sync_peer_height(S.s, 4, 1500, S.now);
    S.refuse_from = 4;
    drain(has, 4, alive, 50);
    rp_sync_peer_height(S.s, 3, 10, S.now); /* lowers */
    alive[3] = 0;
    drain(has, 4, alive, 5000);
    ck_assert_uint_eq(S.misbehaved[2], 1);
    ck_assert_int_eq(S.slow[2], 0);
    ck_assert_uint_eq(S.misbehaved[3], 1);
    ck_assert_uint_eq(S.misbehaved[4], 1);
    ck_assert_int_eq(S.misbehaved[1], 0);
    ck_assert_uint_eq(S.committed, 1500);
    ck_assert(!S.order_broken);
    rp_sync_status st;
    rp_sync_status_get(S.s, &st, S.now);
    ck_assert(!st.syncing); /* the liar's 5000 no longer counts */
}
END_TEST

START_TEST(test_window_bound)
{
    for (uint64_t p = 1; p <= 8; p++)
        rp_sync_peer_height(S.s, p, 100000, S.now);
    rp_sync_status st;
    rp_sync_status_get(S.s, &st, S.now);
    ck_assert_uint_le(st.inflight, RP_SYNC_WINDOW);
    for (uint64_t p = 1; p <= 8; p++)
        ck_assert_uint_le(S.req[p].inflight, RP_SYNC_WINDOW_PEER);
    /* The tip moving by another path (the node's own blocks) frees slots. */
    rp_sync_set_tip(S.s, 50, S.now);
    rp_sync_status_get(S.s, &st, S.now);
    ck_assert_uint_eq(st.tip, 50);
    ck_assert_uint_le(st.inflight, RP_SYNC_WINDOW);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("sync");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_honest_peers);
    tcase_add_test(tc, test_peer_killed_halfway);
    tcase_add_test(tc, test_slow_peer_dropped);
    tcase_add_test(tc, test_liars);
    tcase_add_test(tc, test_window_bound);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
