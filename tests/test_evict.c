/* Inbound eviction (p2p/evict.h): an attacker who fills the inbound slots
 * from one network never pushes out the peers that are fast, useful or of
 * other networks; a discouraged peer goes first; a handful of peers are all
 * protected. */
#include <check.h>
#include <stdint.h>

#include "p2p/evict.h"

static rp_evict_candidate peer(uint64_t id, uint64_t group, uint64_t since, uint64_t ping)
{
    rp_evict_candidate c = {0};
    c.peer = id;
    c.group_hash = group;
    c.connected_ms = since;
    c.min_ping_us = ping;
    return c;
}

START_TEST(test_attacker_evicted)
{
    /* Honest peers 1..8: distinct groups, older, some useful. Attacker
     * peers 100..139: one group, young, fast or slow. Whatever the order,
     * the one evicted is the attacker's. */
    for (int round = 0; round < 50; round++) {
        rp_evict_candidate c[48];
        size_t n = 0;
        for (uint64_t i = 1; i <= 8; i++) {
            c[n] = peer(i, 1000 + i * 7919, 1000 + i, 20000 + i * 1000);
            if (i <= 3)
                c[n].last_block_ms = 50000 + i;
            if (i >= 6)
                c[n].last_record_ms = 60000 + i;
            n++;
        }
        for (uint64_t i = 0; i < 40; i++)
            c[n++] = peer(100 + i, 42, 90000 + i * 10 + (uint64_t)round, i % 2 ? 500 : 900000);
        /* shuffle a little */
        for (size_t i = 0; i < n; i++) {
            size_t j = (i * 31 + (size_t)round * 17) % n;
            rp_evict_candidate t = c[i];
            c[i] = c[j];
            c[j] = t;
        }
        uint64_t out;
        ck_assert_int_eq(rp_evict_select(c, n, &out), 1);
        ck_assert_uint_ge(out, 100);
    }
}
END_TEST

START_TEST(test_discouraged_first)
{
    rp_evict_candidate c[20];
    for (uint64_t i = 0; i < 20; i++)
        c[i] = peer(i + 1, i, 1000 + i, 1000);
    c[7].discouraged = 1;
    uint64_t out;
    ck_assert_int_eq(rp_evict_select(c, 20, &out), 1);
    ck_assert_uint_eq(out, 8);
}
END_TEST

START_TEST(test_few_all_protected)
{
    rp_evict_candidate c[4];
    for (uint64_t i = 0; i < 4; i++)
        c[i] = peer(i + 1, i, 1000 + i, 1000);
    uint64_t out = 0;
    ck_assert_int_eq(rp_evict_select(c, 4, &out), 0);
    ck_assert_int_eq(rp_evict_select(c, 0, &out), 0);
}
END_TEST

START_TEST(test_largest_group_youngest)
{
    /* 30 peers, 3 groups of 10, equal pings; after protection the largest
     * remaining group loses its youngest member. */
    rp_evict_candidate c[30];
    for (uint64_t i = 0; i < 30; i++)
        c[i] = peer(i + 1, i % 3 == 0 ? 5 : (i % 3 == 1 ? 6 : 7), 1000 + i, 1000 + i);
    /* Group 5 gets five more young members. */
    rp_evict_candidate d[35];
    for (int i = 0; i < 30; i++)
        d[i] = c[i];
    for (uint64_t i = 0; i < 5; i++)
        d[30 + i] = peer(200 + i, 5, 5000 + i, 999999);
    uint64_t out;
    ck_assert_int_eq(rp_evict_select(d, 35, &out), 1);
    ck_assert_uint_eq(out, 204); /* group 5: the largest; its youngest */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evict");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_attacker_evicted);
    tcase_add_test(tc, test_discouraged_first);
    tcase_add_test(tc, test_few_all_protected);
    tcase_add_test(tc, test_largest_group_youngest);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
