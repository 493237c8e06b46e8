/* Check suite for the address book (p2p/addrman.h).
 *
 * Network groups and address validity; adding, finding and selecting; the
 * same address twice; floods (one source /16 telling thousands of
 * addresses, thousands of addresses inside one /16, one /16 in tried) with
 * the share of the book and of the dialer's choices that they get, printed;
 * promotion to tried and tried collisions (test before evict); terrible
 * entries neither dialed nor gossiped, and given up to newcomers;
 * GETADDR's bounds and randomness; discouragement, its expiry and its bound;
 * the file: a round trip that gives back the same bytes and the same
 * entries, and every kind of corruption refused with its error and field;
 * and a seeded random workload that checks every invariant as it goes.
 *
 * RP_TEST_SEED sets the seed of the randomized tests (printed either way).
 * With RP_WRITE_ADDRMAN_CORPUS=DIR set, test_corpus writes the fuzz seeds
 * to DIR: that is how tests/fuzz/corpus/addrman/ was made.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/error.h"
#include "crypto/sig.h"
#include "ledger/codec.h"
#include "p2p/addrman.h"

#define NOW  UINT64_C(1790000000)
#define HOUR UINT64_C(3600)
#define DAY  (24 * HOUR)

static unsigned long seed_value;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static rp_addrman *book(unsigned char tag)
{
    unsigned char key[32], seed[32];
    memset(key, tag, sizeof key);
    memset(seed, (unsigned char)(tag ^ 0x5a), sizeof seed);
    rp_addrman *am;
    ck_assert_int_eq(rp_addrman_new(&am, key, seed), 0);
    return am;
}

/* A book whose key and generator follow from the test seed. */
static rp_addrman *seeded_book(void)
{
    unsigned char key[32], seed[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (unsigned char)rnd();
        seed[i] = (unsigned char)rnd();
    }
    key[0] |= 1;
    rp_addrman *am;
    ck_assert_int_eq(rp_addrman_new(&am, key, seed), 0);
    return am;
}

static rp_netaddr v4(unsigned a, unsigned b, unsigned c, unsigned d, uint16_t port)
{
    unsigned char ip[4] = {(unsigned char)a, (unsigned char)b, (unsigned char)c, (unsigned char)d};
    rp_netaddr n;
    rp_netaddr_ipv4(&n, ip, port);
    return n;
}

static rp_netaddr v6(const char *hex32, uint16_t port)
{
    rp_netaddr n;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex32 + 2 * i, "%2x", &v), 1);
        n.ip[i] = (unsigned char)v;
    }
    n.port = port;
    return n;
}

/* A routable IPv4 address outside every special range: first octet in
 * [lo, hi] with lo >= 11 and hi <= 99 avoids them all. */
static rp_netaddr random_v4(unsigned lo, unsigned hi)
{
    return v4(lo + rnd_below(hi - lo + 1), rnd_below(256), rnd_below(256), 1 + rnd_below(254),
              (uint16_t)(1 + rnd_below(65535)));
}

static int same_group(const rp_netaddr *a, const rp_netaddr *b)
{
    unsigned char ga[RP_NETGROUP_SIZE], gb[RP_NETGROUP_SIZE];
    rp_netaddr_group(ga, a->ip);
    rp_netaddr_group(gb, b->ip);
    return memcmp(ga, gb, sizeof ga) == 0;
}

static unsigned char group_class(const rp_netaddr *a)
{
    unsigned char g[RP_NETGROUP_SIZE];
    rp_netaddr_group(g, a->ip);
    return g[0];
}

static int addr_eq(const rp_netaddr *a, const rp_netaddr *b)
{
    return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

static unsigned char *save(const rp_addrman *am, size_t *len)
{
    size_t need;
    ck_assert_int_eq(rp_addrman_save(am, NULL, 0, &need), 0);
    unsigned char *buf = malloc(need ? need : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(rp_addrman_save(am, buf, need, len), 0);
    ck_assert_uint_eq(*len, need);
    return buf;
}

/* ---- addresses ---- */

START_TEST(test_groups)
{
    rp_netaddr a = v4(1, 2, 3, 4, 1), b = v4(1, 2, 200, 9, 2), c = v4(1, 3, 3, 4, 1);
    ck_assert(same_group(&a, &b));
    ck_assert(!same_group(&a, &c));
    ck_assert_uint_eq(group_class(&a), 3);

    /* Loopback is one group, private ranges another, whatever the /16. */
    rp_netaddr l1 = v4(127, 0, 0, 1, 1), l2 = v4(127, 9, 9, 9, 1),
               l6 = v6("00000000000000000000000000000001", 1);
    ck_assert(same_group(&l1, &l2) && same_group(&l1, &l6));
    ck_assert_uint_eq(group_class(&l1), 1);
    rp_netaddr p[] = {v4(10, 1, 1, 1, 1),
                      v4(172, 16, 0, 1, 1),
                      v4(172, 31, 9, 9, 1),
                      v4(192, 168, 1, 1, 1),
                      v4(100, 64, 0, 1, 1),
                      v4(169, 254, 1, 1, 1),
                      v4(198, 18, 0, 1, 1),
                      v4(198, 51, 100, 1, 1),
                      v4(203, 0, 113, 5, 1),
                      v6("fc000000000000000000000000000001", 1),
                      v6("fe800000000000000000000000000001", 1)};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        ck_assert_uint_eq(group_class(&p[i]), 2);
        ck_assert(same_group(&p[0], &p[i]));
        ck_assert(rp_netaddr_valid(&p[i]));
    }
    rp_netaddr pub = v4(172, 32, 0, 1, 1);
    ck_assert_uint_eq(group_class(&pub), 3);

    /* IPv6 by /32; Hurricane Electric by /36. */
    rp_netaddr x1 = v6("2a01abcd000000000000000000000001", 1);
    rp_netaddr x2 = v6("2a01abcdffff00000000000000000001", 1);
    rp_netaddr x3 = v6("2a01abce000000000000000000000001", 1);
    ck_assert(same_group(&x1, &x2) && !same_group(&x1, &x3));
    ck_assert_uint_eq(group_class(&x1), 4);
    rp_netaddr h1 = v6("20010470100000000000000000000001", 1);
    rp_netaddr h2 = v6("200104701fff00000000000000000001", 1);
    rp_netaddr h3 = v6("20010470200000000000000000000001", 1);
    ck_assert(same_group(&h1, &h2) && !same_group(&h1, &h3));

    /* IPv6 carrying IPv4 is grouped with that IPv4's /16. */
    rp_netaddr sixto4 = v6("20020102abcd00000000000000000001", 1);
    rp_netaddr nat64 = v6("0064ff9b0000000000000000010263ff", 1);
    rp_netaddr teredo = v6("200100000000000000000000fefd00ff", 1); /* ~ = 1.2.255.0 */
    ck_assert(same_group(&sixto4, &a));
    ck_assert(same_group(&nat64, &a));
    ck_assert(same_group(&teredo, &a));

    /* What can never be a peer. */
    rp_netaddr bad[] = {v4(0, 0, 0, 0, 1),
                        v4(0, 1, 2, 3, 1),
                        v4(224, 0, 0, 1, 1),
                        v4(239, 1, 1, 1, 1),
                        v4(240, 0, 0, 1, 1),
                        v4(255, 255, 255, 255, 1),
                        v6("00000000000000000000000000000000", 1),
                        v6("ff020000000000000000000000000001", 1),
                        v6("20010db8000000000000000000000001", 1),
                        v4(1, 2, 3, 4, 0)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!rp_netaddr_valid(&bad[i]), "bad[%zu] accepted", i);
    ck_assert(rp_netaddr_is_ipv4(a.ip));
    ck_assert(!rp_netaddr_is_ipv4(x1.ip));
}
END_TEST

START_TEST(test_new_refuses_zero_key)
{
    unsigned char key[32] = {0}, seed[32] = {0};
    rp_addrman *am = (rp_addrman *)1;
    ck_assert_int_eq(rp_addrman_new(&am, key, seed), RP_ERR_INVALID_ARG);
    ck_assert_ptr_null(am);
    rp_addrman_free(NULL);
}
END_TEST

/* ---- adding and selecting ---- */

START_TEST(test_add_and_select)
{
    rp_addrman *am = book(1);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, NOW, &e), 0);
    ck_assert_uint_eq(rp_addrman_size(am, NULL, NULL), 0);

    rp_netaddr a = v4(20, 1, 2, 3, 27650), src = v4(30, 1, 1, 1, 0);
    rp_pubkey id;
    memset(id.bytes, 0xab, 32);
    ck_assert_int_eq(rp_addrman_add(am, &a, &id, NOW - 60, src.ip, NOW), 1);
    size_t n_new, n_tried;
    ck_assert_uint_eq(rp_addrman_size(am, &n_new, &n_tried), 1);
    ck_assert_uint_eq(n_new, 1);
    ck_assert_uint_eq(n_tried, 0);

    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert(addr_eq(&e.addr, &a));
    ck_assert_mem_eq(e.source, src.ip, 16);
    ck_assert_int_eq(e.has_id, 1);
    ck_assert_mem_eq(e.id.bytes, id.bytes, 32);
    ck_assert_uint_eq(e.last_seen, NOW - 60);
    ck_assert_uint_eq(e.last_try, 0);
    ck_assert_uint_eq(e.last_success, 0);
    ck_assert_uint_eq(e.attempts, 0);
    ck_assert_int_eq(e.tried, 0);
    ck_assert_uint_lt(e.bucket, RP_ADDRMAN_NEW_BUCKETS);
    ck_assert_uint_lt(e.slot, RP_ADDRMAN_BUCKET_SIZE);

    memset(&e, 0, sizeof e);
    ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, NOW, &e), 1);
    ck_assert(addr_eq(&e.addr, &a));
    ck_assert_int_eq(rp_addrman_select(am, 1, NULL, NULL, NOW, &e), 1);

    /* Another port is another entry; invalid addresses and sources are not
     * taken; unknown addresses are not found. */
    rp_netaddr a2 = a;
    a2.port = 1;
    ck_assert_int_eq(rp_addrman_add(am, &a2, NULL, NOW, src.ip, NOW), 1);
    rp_netaddr bad = v4(0, 0, 0, 0, 1);
    ck_assert_int_eq(rp_addrman_add(am, &bad, NULL, NOW, src.ip, NOW), 0);
    rp_netaddr noport = v4(20, 1, 2, 4, 0);
    ck_assert_int_eq(rp_addrman_add(am, &noport, NULL, NOW, src.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW, bad.ip, NOW), 0);
    rp_netaddr other = v4(20, 1, 2, 5, 1);
    ck_assert_int_eq(rp_addrman_find(am, &other, NULL), 0);
    ck_assert_int_eq(rp_addrman_attempt(am, &other, 1, NOW), 0);
    ck_assert_int_eq(rp_addrman_good(am, &other, NULL, NOW), 0);
    ck_assert_int_eq(rp_addrman_connected(am, &other, NOW), 0);
    ck_assert_uint_eq(rp_addrman_size(am, NULL, NULL), 2);

    /* Loopback and private addresses are taken (devnets). */
    rp_netaddr lo = v4(127, 0, 0, 1, 27651), priv = v4(192, 168, 1, 2, 27650);
    ck_assert_int_eq(rp_addrman_add(am, &lo, NULL, NOW, lo.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_add(am, &priv, NULL, NOW, lo.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_same_address_twice)
{
    rp_addrman *am = book(2);
    rp_netaddr a = v4(21, 5, 6, 7, 100), s1 = v4(31, 1, 1, 1, 0), s2 = v4(41, 1, 1, 1, 0);
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW - 3 * HOUR, s1.ip, NOW), 1);
    rp_addrman_entry e0, e;
    ck_assert_int_eq(rp_addrman_find(am, &a, &e0), 1);

    /* Again, from the same or another source: still one entry, where its
     * first source put it. */
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW - 3 * HOUR, s1.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW - 3 * HOUR, s2.ip, NOW), 0);
    ck_assert_uint_eq(rp_addrman_size(am, NULL, NULL), 1);
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert_mem_eq(e.source, s1.ip, 16);
    ck_assert_uint_eq(e.bucket, e0.bucket);
    ck_assert_uint_eq(e.slot, e0.slot);

    /* Last-seen moves forward only by more than an hour (recent claims). */
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW - 2 * HOUR - 60, s2.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert_uint_eq(e.last_seen, NOW - 3 * HOUR);
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW - HOUR, s2.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert_uint_eq(e.last_seen, NOW - HOUR);
    /* Never backwards. */
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW - 5 * DAY, s2.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert_uint_eq(e.last_seen, NOW - HOUR);

    /* A gossiped id fills a gap but never replaces one. */
    rp_pubkey id1, id2;
    memset(id1.bytes, 1, 32);
    memset(id2.bytes, 2, 32);
    ck_assert_int_eq(rp_addrman_add(am, &a, &id1, NOW, s2.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_add(am, &a, &id2, NOW, s2.ip, NOW), 0);
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert_int_eq(e.has_id, 1);
    ck_assert_mem_eq(e.id.bytes, id1.bytes, 32);
    /* A handshake's id does. */
    ck_assert_int_eq(rp_addrman_good(am, &a, &id2, NOW), 1);
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    ck_assert_mem_eq(e.id.bytes, id2.bytes, 32);
    /* Added again once tried: stays in tried. */
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW, s1.ip, NOW), 0);
    size_t n_new, n_tried;
    ck_assert_uint_eq(rp_addrman_size(am, &n_new, &n_tried), 1);
    ck_assert_uint_eq(n_tried, 1);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

/* ---- floods ---- */

static int is_attacker(const rp_netaddr *a)
{
    return rp_netaddr_is_ipv4(a->ip) && a->ip[12] >= 101 && a->ip[12] <= 126;
}

START_TEST(test_flood_from_one_source_group)
{
    rng_state = seed_value ^ 0xf100d;
    rp_addrman *am = seeded_book();
    /* The attacker, in 6.6.0.0/16, tells us 50,000 addresses spread over the
     * whole IPv4 space (first octets 101..126), and does so first. */
    rp_netaddr evil = v4(6, 6, 0, 1, 0);
    size_t sent = 0, taken = 0;
    while (sent < 50000) {
        rp_netaddr a = random_v4(101, 126);
        taken += rp_addrman_add(am, &a, NULL, NOW, evil.ip, NOW) == 1;
        sent++;
    }
    /* Then 500 honest sources in 500 other /16s tell 40 addresses each. */
    for (unsigned i = 0; i < 500; i++) {
        rp_netaddr src = v4(20 + i / 256, i % 256, 0, 1, 0);
        for (int k = 0; k < 40; k++) {
            rp_netaddr a = random_v4(61, 99);
            ck_assert_int_ge(rp_addrman_add(am, &a, NULL, NOW, src.ip, NOW), 0);
        }
    }
    ck_assert_int_eq(rp_addrman_check(am), 0);

    /* Count the attacker's entries and buckets. */
    static unsigned char used[RP_ADDRMAN_NEW_BUCKETS];
    memset(used, 0, sizeof used);
    size_t n_new, evil_entries = 0, evil_buckets = 0, honest_buckets = 0;
    rp_addrman_size(am, &n_new, NULL);
    static unsigned char hused[RP_ADDRMAN_NEW_BUCKETS];
    memset(hused, 0, sizeof hused);
    /* Walk the book through GETADDR-free means: select every address we
     * know by re-finding the ones we sent is too slow, so scan by saving. */
    size_t len;
    unsigned char *buf = save(am, &len);
    rp_reader r;
    rp_reader_init(&r, buf, len);
    r.pos = RP_ADDRMAN_FILE_HEADER;
    for (size_t k = 0; k < n_new; k++) {
        unsigned b = rp_get_u16(&r, "b");
        (void)rp_get_u8(&r, "s");
        unsigned char ip[16];
        rp_get_bytes(&r, ip, 16, "ip");
        rp_netaddr a;
        memcpy(a.ip, ip, 16);
        r.pos += 2 + 16 + 1 + 24 + 4; /* port, source, flags, times, attempts */
        if (is_attacker(&a)) {
            evil_entries++;
            evil_buckets += !used[b];
            used[b] = 1;
        } else {
            honest_buckets += !hused[b];
            hused[b] = 1;
        }
    }
    ck_assert_int_eq(r.err, 0);
    free(buf);
    ck_assert_uint_eq(evil_entries, taken);
    ck_assert_uint_le(evil_buckets, RP_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP);
    ck_assert_uint_le(evil_entries,
                      RP_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP * RP_ADDRMAN_BUCKET_SIZE);

    /* And the dialer's choices. */
    size_t draws = 20000, evil_draws = 0;
    for (size_t k = 0; k < draws; k++) {
        rp_addrman_entry e;
        ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, NOW, &e), 1);
        evil_draws += is_attacker(&e.addr);
    }
    double share_book = 100.0 * (double)evil_entries / (double)n_new;
    double share_sel = 100.0 * (double)evil_draws / (double)draws;
    fprintf(stderr,
            "flood (one source /16): sent %zu, kept %zu of %zu new entries (%.1f%%), in %zu of "
            "%d buckets (honest in %zu); %.2f%% of %zu selections\n",
            sent, evil_entries, n_new, share_book, evil_buckets, RP_ADDRMAN_NEW_BUCKETS,
            honest_buckets, share_sel, draws);
    /* 64 of 1024 buckets is 6.25%: the attacker gets no more than its
     * buckets' share of the choices (with room for sampling noise). */
    ck_assert(share_sel < 8.0);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_flood_inside_one_group)
{
    rng_state = seed_value ^ 0x1616;
    rp_addrman *am = seeded_book();
    /* 5,000 addresses inside 6.6.0.0/16, told by a source in that /16: one
     * new bucket, at most 64 entries. */
    rp_netaddr evil = v4(6, 6, 0, 1, 0);
    size_t taken = 0;
    for (int k = 0; k < 5000; k++) {
        rp_netaddr a = v4(6, 6, rnd_below(256), 1 + rnd_below(254), (uint16_t)(1 + k));
        taken += rp_addrman_add(am, &a, NULL, NOW, evil.ip, NOW) == 1;
    }
    ck_assert_uint_le(taken, RP_ADDRMAN_BUCKET_SIZE);
    ck_assert_uint_eq(rp_addrman_size(am, NULL, NULL), taken);

    /* The same /16 relayed by 30 honest sources in 30 groups: at most one
     * bucket per source group. */
    for (unsigned s = 0; s < 30; s++) {
        rp_netaddr src = v4(40 + s, 1, 0, 1, 0);
        for (int k = 0; k < 500; k++) {
            rp_netaddr a = v4(6, 6, rnd_below(256), 1 + rnd_below(254), (uint16_t)(1 + k));
            ck_assert_int_ge(rp_addrman_add(am, &a, NULL, NOW, src.ip, NOW), 0);
        }
    }
    size_t total = rp_addrman_size(am, NULL, NULL);
    ck_assert_uint_le(total, 31 * RP_ADDRMAN_BUCKET_SIZE);
    fprintf(stderr,
            "flood (inside one /16): 5000 told by its own /16 kept %zu (1 bucket); "
            "20000 relayed by 31 source groups kept %zu of at most %d\n",
            taken, total, 31 * RP_ADDRMAN_BUCKET_SIZE);

    /* Tried: however many of them connect, one /16 holds at most 8 of the
     * 256 tried buckets. */
    rp_addrman *t = seeded_book();
    size_t tried_ok = 0;
    static unsigned char used[RP_ADDRMAN_TRIED_BUCKETS];
    memset(used, 0, sizeof used);
    for (int k = 0; k < 3000; k++) {
        rp_netaddr a = v4(6, 6, rnd_below(256), 1 + rnd_below(254), (uint16_t)(1 + k));
        rp_netaddr src = random_v4(11, 99);
        if (rp_addrman_add(t, &a, NULL, NOW, src.ip, NOW) != 1)
            continue;
        if (rp_addrman_good(t, &a, NULL, NOW) == 1) {
            rp_addrman_entry e;
            ck_assert_int_eq(rp_addrman_find(t, &a, &e), 1);
            ck_assert_int_eq(e.tried, 1);
            used[e.bucket] = 1;
            tried_ok++;
        }
    }
    size_t n_tried, buckets = 0;
    rp_addrman_size(t, NULL, &n_tried);
    for (int b = 0; b < RP_ADDRMAN_TRIED_BUCKETS; b++)
        buckets += used[b];
    ck_assert_uint_le(buckets, RP_ADDRMAN_TRIED_BUCKETS_PER_GROUP);
    ck_assert_uint_le(n_tried, RP_ADDRMAN_TRIED_BUCKETS_PER_GROUP * RP_ADDRMAN_BUCKET_SIZE);
    ck_assert_uint_eq(n_tried, tried_ok);
    fprintf(stderr, "flood (one /16 in tried): %zu tried entries in %zu of %d buckets\n", n_tried,
            buckets, RP_ADDRMAN_TRIED_BUCKETS);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    ck_assert_int_eq(rp_addrman_check(t), 0);
    rp_addrman_free(am);
    rp_addrman_free(t);
}
END_TEST

/* ---- tried ---- */

START_TEST(test_promotion)
{
    rp_addrman *am = book(6);
    rp_netaddr src = v4(50, 0, 0, 1, 0);
    rp_netaddr a[20];
    for (int i = 0; i < 20; i++) {
        a[i] = v4(60 + i, 1, 1, 1, 27650);
        ck_assert_int_eq(rp_addrman_add(am, &a[i], NULL, NOW - HOUR, src.ip, NOW), 1);
    }
    ck_assert_int_eq(rp_addrman_attempt(am, &a[0], 1, NOW - 100), 1);
    ck_assert_int_eq(rp_addrman_attempt(am, &a[0], 1, NOW - 50), 1);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_find(am, &a[0], &e), 1);
    ck_assert_uint_eq(e.attempts, 2);
    ck_assert_uint_eq(e.last_try, NOW - 50);
    /* An attempt that does not count (we are offline) only stamps the time. */
    ck_assert_int_eq(rp_addrman_attempt(am, &a[0], 0, NOW - 40), 1);
    ck_assert_int_eq(rp_addrman_find(am, &a[0], &e), 1);
    ck_assert_uint_eq(e.attempts, 2);
    ck_assert_uint_eq(e.last_try, NOW - 40);

    ck_assert_int_eq(rp_addrman_good(am, &a[0], NULL, 0), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_addrman_good(am, &a[0], NULL, NOW), 1);
    ck_assert_int_eq(rp_addrman_find(am, &a[0], &e), 1);
    ck_assert_int_eq(e.tried, 1);
    ck_assert_uint_lt(e.bucket, RP_ADDRMAN_TRIED_BUCKETS);
    ck_assert_uint_eq(e.attempts, 0);
    ck_assert_uint_eq(e.last_success, NOW);
    ck_assert_uint_eq(e.last_try, NOW);
    ck_assert_uint_eq(e.last_seen, NOW - HOUR);                     /* not told to our peers */
    ck_assert_int_eq(rp_addrman_good(am, &a[0], NULL, NOW + 1), 1); /* already tried */
    size_t n_new, n_tried;
    rp_addrman_size(am, &n_new, &n_tried);
    ck_assert_uint_eq(n_new, 19);
    ck_assert_uint_eq(n_tried, 1);

    /* Connected keeps last-seen fresh, at most every 20 minutes. */
    ck_assert_int_eq(rp_addrman_connected(am, &a[0], NOW + 2 * HOUR), 1);
    ck_assert_int_eq(rp_addrman_find(am, &a[0], &e), 1);
    ck_assert_uint_eq(e.last_seen, NOW + 2 * HOUR);
    ck_assert_int_eq(rp_addrman_connected(am, &a[0], NOW + 2 * HOUR + 600), 1);
    ck_assert_int_eq(rp_addrman_find(am, &a[0], &e), 1);
    ck_assert_uint_eq(e.last_seen, NOW + 2 * HOUR);

    /* Selection mixes the tables: with 1 tried and 19 new, about half the
     * choices are the tried one; new_only never picks it. */
    uint64_t t = NOW + 3 * HOUR;
    int from_tried = 0;
    for (int k = 0; k < 2000; k++) {
        ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, t, &e), 1);
        from_tried += e.tried;
    }
    ck_assert_int_gt(from_tried, 800);
    ck_assert_int_lt(from_tried, 1200);
    for (int k = 0; k < 200; k++) {
        ck_assert_int_eq(rp_addrman_select(am, 1, NULL, NULL, t, &e), 1);
        ck_assert_int_eq(e.tried, 0);
    }
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

/* Fill a tried table from one /16 until an address's promotion collides.
 * Out: *newcomer (left in new, queued) and *incumbent (its tried rival). */
static void make_collision(rp_addrman *am, rp_netaddr *newcomer, rp_netaddr *incumbent, uint64_t t)
{
    rp_netaddr src = v4(50, 0, 0, 1, 0);
    for (int k = 0; k < 5000; k++) {
        rp_netaddr a = v4(70, 7, (unsigned)k / 250, 1 + (unsigned)k % 250, 27650);
        if (rp_addrman_add(am, &a, NULL, t, src.ip, t) != 1)
            continue;
        if (rp_addrman_good(am, &a, NULL, t) == 0) {
            rp_addrman_entry c;
            ck_assert_int_eq(rp_addrman_collision(am, &c), 1);
            ck_assert_int_eq(c.tried, 1);
            rp_addrman_entry ne;
            ck_assert_int_eq(rp_addrman_find(am, &a, &ne), 1);
            ck_assert_int_eq(ne.tried, 0);
            *newcomer = a;
            *incumbent = c.addr;
            return;
        }
    }
    ck_abort_msg("no collision in 5000 addresses of one /16");
}

START_TEST(test_tried_collision_keeps_working_incumbent)
{
    rp_addrman *am = book(7);
    rp_netaddr nc, inc;
    make_collision(am, &nc, &inc, NOW);
    /* The incumbent connected minutes ago: it stays, the claim is dropped. */
    ck_assert_int_eq(rp_addrman_resolve_collisions(am, NOW + 600), 0);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_find(am, &inc, &e), 1);
    ck_assert_int_eq(e.tried, 1);
    ck_assert_int_eq(rp_addrman_find(am, &nc, &e), 1);
    ck_assert_int_eq(e.tried, 0);
    ck_assert_int_eq(rp_addrman_collision(am, &e), 0);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_tried_collision_evicts_failed_incumbent)
{
    rp_addrman *am = book(8);
    rp_netaddr nc, inc;
    make_collision(am, &nc, &inc, NOW - 10 * HOUR);
    /* Ten hours on, the newcomer connects again: a collision again. */
    uint64_t t = NOW;
    ck_assert_int_eq(rp_addrman_good(am, &nc, NULL, t), 0);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_collision(am, &e), 1);
    ck_assert(addr_eq(&e.addr, &inc));
    /* The feeler to the incumbent fails. Within the minute nothing moves;
     * after it the newcomer takes the slot, the incumbent goes back to new. */
    ck_assert_int_eq(rp_addrman_attempt(am, &inc, 1, t + 10), 1);
    ck_assert_int_eq(rp_addrman_resolve_collisions(am, t + 30), 0);
    ck_assert_int_eq(rp_addrman_find(am, &nc, &e), 1);
    ck_assert_int_eq(e.tried, 0);
    ck_assert_int_eq(rp_addrman_resolve_collisions(am, t + 120), 0);
    ck_assert_int_eq(rp_addrman_find(am, &nc, &e), 1);
    ck_assert_int_eq(e.tried, 1);
    if (rp_addrman_find(am, &inc, &e)) /* unless its own new slot was gone */
        ck_assert_int_eq(e.tried, 0);
    ck_assert_int_eq(rp_addrman_collision(am, &e), 0);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_tried_collision_untested_window)
{
    rp_addrman *am = book(9);
    rp_netaddr nc, inc;
    make_collision(am, &nc, &inc, NOW - 10 * HOUR);
    uint64_t t = NOW;
    ck_assert_int_eq(rp_addrman_good(am, &nc, NULL, t), 0);
    /* Nobody tests the incumbent: before the window nothing moves... */
    ck_assert_int_eq(rp_addrman_resolve_collisions(am, t + RP_ADDRMAN_TEST_WINDOW - 60), 0);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_find(am, &nc, &e), 1);
    ck_assert_int_eq(e.tried, 0);
    /* ... after it the newcomer wins. */
    ck_assert_int_eq(rp_addrman_resolve_collisions(am, t + RP_ADDRMAN_TEST_WINDOW + 1), 0);
    ck_assert_int_eq(rp_addrman_find(am, &nc, &e), 1);
    ck_assert_int_eq(e.tried, 1);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

/* ---- terrible ---- */

static void expect_never_offered(rp_addrman *am, const rp_netaddr *a, uint64_t now)
{
    rp_addrman_entry e;
    for (int k = 0; k < 200; k++)
        if (rp_addrman_select(am, 0, NULL, NULL, now, &e))
            ck_assert(!addr_eq(&e.addr, a));
    static rp_addrman_entry out[RP_ADDRMAN_GETADDR_MAX];
    size_t n;
    for (int k = 0; k < 20; k++) {
        ck_assert_int_eq(rp_addrman_getaddr(am, out, RP_ADDRMAN_GETADDR_MAX, &n, now), 0);
        for (size_t i = 0; i < n; i++)
            ck_assert(!addr_eq(&out[i].addr, a));
    }
}

START_TEST(test_terrible_not_offered)
{
    rp_addrman *am = book(10);
    rp_netaddr src = v4(50, 0, 0, 1, 0);
    uint64_t t = NOW + HOUR;
    /* Three failures and never a success. */
    rp_netaddr failing = v4(81, 0, 0, 1, 1);
    ck_assert_int_eq(rp_addrman_add(am, &failing, NULL, NOW, src.ip, NOW), 1);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rp_addrman_attempt(am, &failing, 1, NOW + (uint64_t)k), 1);
    /* Not seen for more than the horizon. */
    rp_netaddr stale = v4(82, 0, 0, 1, 1);
    ck_assert_int_eq(rp_addrman_add(am, &stale, NULL, t - RP_ADDRMAN_HORIZON - 1, src.ip, NOW), 1);
    /* Seen in the future. */
    rp_netaddr future = v4(83, 0, 0, 1, 1);
    ck_assert_int_eq(rp_addrman_add(am, &future, NULL, t + 601, src.ip, NOW), 1);
    /* Ten failures and no success for a week, though it once worked. */
    rp_netaddr gone = v4(84, 0, 0, 1, 1);
    ck_assert_int_eq(rp_addrman_add(am, &gone, NULL, t - HOUR, src.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_good(am, &gone, NULL, t - 8 * DAY), 1);
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(rp_addrman_attempt(am, &gone, 1, t - 2 * DAY), 1);
    /* And healthy company, from many sources. */
    for (unsigned i = 0; i < 100; i++) {
        rp_netaddr a = v4(80, i, 1, 1, 1), s = v4(51, i, 0, 1, 0);
        ck_assert_int_ge(rp_addrman_add(am, &a, NULL, NOW - HOUR, s.ip, NOW), 0);
    }
    ck_assert_uint_gt(rp_addrman_size(am, NULL, NULL), 90);

    expect_never_offered(am, &failing, t);
    expect_never_offered(am, &stale, t);
    expect_never_offered(am, &future, t);
    expect_never_offered(am, &gone, t);

    /* An address tried in the last minute is not terrible yet: the dialer
     * may still be waiting on it. */
    rp_addrman *one = book(11);
    ck_assert_int_eq(rp_addrman_add(one, &failing, NULL, NOW, src.ip, NOW), 1);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rp_addrman_attempt(one, &failing, 1, t), 1);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_select(one, 0, NULL, NULL, t + 30, &e), 1);
    ck_assert_int_eq(rp_addrman_select(one, 0, NULL, NULL, t + 61, &e), 0);
    /* Nine failures after a success are not ten. */
    ck_assert_int_eq(rp_addrman_good(one, &failing, NULL, t - 8 * DAY), 1);
    for (int k = 0; k < 9; k++)
        ck_assert_int_eq(rp_addrman_attempt(one, &failing, 1, t - DAY), 1);
    ck_assert_int_eq(rp_addrman_select(one, 0, NULL, NULL, t, &e), 1);
    ck_assert_int_eq(rp_addrman_attempt(one, &failing, 1, t - DAY), 1);
    ck_assert_int_eq(rp_addrman_select(one, 0, NULL, NULL, t, &e), 0);
    rp_addrman_free(one);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_terrible_gives_up_its_slot)
{
    /* Two books with the same key and seed place addresses alike. In the
     * first the incumbent is healthy and keeps its slot; in the second it is
     * terrible and the newcomer takes the slot. */
    rp_addrman *healthy = book(12), *bad = book(12);
    rp_netaddr src = v4(50, 0, 0, 1, 0);
    rp_netaddr inc = v4(90, 9, 0, 1, 1);
    ck_assert_int_eq(rp_addrman_add(healthy, &inc, NULL, NOW, src.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_add(bad, &inc, NULL, NOW, src.ip, NOW), 1);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rp_addrman_attempt(bad, &inc, 1, NOW - 3600), 1);
    rp_addrman_entry ie;
    ck_assert_int_eq(rp_addrman_find(bad, &inc, &ie), 1);

    /* Same /16 and same source: same bucket; look for the same slot. */
    int found = 0;
    for (unsigned k = 2; k < 60000 && !found; k++) {
        rp_netaddr a = v4(90, 9, k / 250, 1 + k % 250, 1);
        int r = rp_addrman_add(bad, &a, NULL, NOW, src.ip, NOW);
        ck_assert_int_ge(r, 0);
        if (!rp_addrman_find(bad, &inc, NULL)) {
            /* It was evicted: by a, which sits where it sat. */
            ck_assert_int_eq(r, 1);
            rp_addrman_entry e;
            ck_assert_int_eq(rp_addrman_find(bad, &a, &e), 1);
            ck_assert_uint_eq(e.bucket, ie.bucket);
            ck_assert_uint_eq(e.slot, ie.slot);
            /* The healthy book refuses a and keeps its incumbent. */
            ck_assert_int_eq(rp_addrman_add(healthy, &a, NULL, NOW, src.ip, NOW), 0);
            ck_assert_int_eq(rp_addrman_find(healthy, &inc, NULL), 1);
            ck_assert_int_eq(rp_addrman_find(healthy, &a, NULL), 0);
            found = 1;
        }
    }
    ck_assert(found);
    ck_assert_int_eq(rp_addrman_check(bad), 0);
    ck_assert_int_eq(rp_addrman_check(healthy), 0);
    rp_addrman_free(healthy);
    rp_addrman_free(bad);
}
END_TEST

/* ---- the caller's predicate ---- */

typedef struct skip_ctx {
    const rp_netaddr *keep; /* the one not skipped, or NULL to skip all */
    int calls;
} skip_ctx;

static int skip_all_but(void *ctx, const rp_addrman_entry *e)
{
    skip_ctx *c = ctx;
    c->calls++;
    return !(c->keep && addr_eq(c->keep, &e->addr));
}

START_TEST(test_select_skips_connected)
{
    rp_addrman *am = book(13);
    rp_netaddr a[50];
    for (int i = 0; i < 50; i++) {
        a[i] = v4(55, (unsigned)i, 0, 1, 1);
        rp_netaddr src = v4(56, (unsigned)i, 0, 1, 0);
        ck_assert_int_eq(rp_addrman_add(am, &a[i], NULL, NOW, src.ip, NOW), 1);
        if (i % 2)
            ck_assert_int_eq(rp_addrman_good(am, &a[i], NULL, NOW), 1);
    }
    rp_addrman_entry e;
    skip_ctx all = {NULL, 0};
    ck_assert_int_eq(rp_addrman_select(am, 0, skip_all_but, &all, NOW, &e), 0);
    ck_assert_int_gt(all.calls, 0);
    for (int i = 0; i < 50; i += 7) {
        skip_ctx one = {&a[i], 0};
        ck_assert_int_eq(rp_addrman_select(am, 0, skip_all_but, &one, NOW, &e), 1);
        ck_assert(addr_eq(&e.addr, &a[i]));
        /* new_only never returns a tried one, even the only one allowed. */
        ck_assert_int_eq(rp_addrman_select(am, 1, skip_all_but, &one, NOW, &e), i % 2 == 0);
    }
    rp_addrman_free(am);
}
END_TEST

/* ---- GETADDR ---- */

START_TEST(test_getaddr_bounded_and_random)
{
    rng_state = seed_value ^ 0x6e7a;
    rp_addrman *am = book(14);
    static rp_addrman_entry out[2 * RP_ADDRMAN_GETADDR_MAX], out2[2 * RP_ADDRMAN_GETADDR_MAX];
    size_t n, n2;
    ck_assert_int_eq(rp_addrman_getaddr(am, out, 2 * RP_ADDRMAN_GETADDR_MAX, &n, NOW), 0);
    ck_assert_uint_eq(n, 0);

    /* 100 entries: 23. */
    for (unsigned i = 0; i < 100; i++) {
        rp_netaddr a = v4(20 + i, 1, 1, 1, 1), src = v4(20 + i, 2, 2, 2, 0);
        ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW, src.ip, NOW), 1);
    }
    ck_assert_int_eq(rp_addrman_getaddr(am, out, 2 * RP_ADDRMAN_GETADDR_MAX, &n, NOW), 0);
    ck_assert_uint_eq(n, 23);
    ck_assert_int_eq(rp_addrman_getaddr(am, out, 5, &n, NOW), 0);
    ck_assert_uint_eq(n, 5);

    /* Thousands: 1000, distinct, all known, and two answers differ. */
    while (rp_addrman_size(am, NULL, NULL) < 20000) {
        rp_netaddr a = random_v4(11, 99), src = random_v4(11, 99);
        ck_assert_int_ge(rp_addrman_add(am, &a, NULL, NOW, src.ip, NOW), 0);
    }
    ck_assert_int_eq(rp_addrman_getaddr(am, out, 2 * RP_ADDRMAN_GETADDR_MAX, &n, NOW), 0);
    ck_assert_int_eq(rp_addrman_getaddr(am, out2, 2 * RP_ADDRMAN_GETADDR_MAX, &n2, NOW), 0);
    ck_assert_uint_eq(n, RP_ADDRMAN_GETADDR_MAX);
    ck_assert_uint_eq(n2, RP_ADDRMAN_GETADDR_MAX);
    size_t common = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(rp_addrman_find(am, &out[i].addr, NULL), 1);
        for (size_t j = 0; j < i; j++)
            ck_assert(!addr_eq(&out[i].addr, &out[j].addr));
        for (size_t j = 0; j < n2; j++)
            common += addr_eq(&out[i].addr, &out2[j].addr);
    }
    /* Two samples of 1000 from 20000 share about 50. */
    fprintf(stderr, "getaddr: two answers of %zu from %zu share %zu\n", n,
            rp_addrman_size(am, NULL, NULL), common);
    ck_assert_uint_lt(common, 150);

    /* Every entry turns up in some answer: a sample, not a fixed slice. */
    rp_addrman *small = book(15);
    rp_netaddr s[40];
    for (unsigned i = 0; i < 40; i++) {
        s[i] = v4(20 + i, 1, 1, 1, 1);
        rp_netaddr src = v4(20 + i, 2, 2, 2, 0);
        ck_assert_int_eq(rp_addrman_add(small, &s[i], NULL, NOW, src.ip, NOW), 1);
    }
    int seen[40] = {0};
    for (int k = 0; k < 300; k++) {
        ck_assert_int_eq(rp_addrman_getaddr(small, out, 100, &n, NOW), 0);
        ck_assert_uint_eq(n, 9); /* 23% of 40 */
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < 40; j++)
                seen[j] |= addr_eq(&out[i].addr, &s[j]);
    }
    for (int j = 0; j < 40; j++)
        ck_assert(seen[j]);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    ck_assert_int_eq(rp_addrman_check(small), 0);
    rp_addrman_free(small);
    rp_addrman_free(am);
}
END_TEST

/* ---- discouragement ---- */

START_TEST(test_discouragement)
{
    rp_addrman *am = book(16);
    rp_netaddr src = v4(50, 0, 0, 1, 0);
    rp_netaddr bad = v4(66, 6, 6, 6, 1000), good = v4(67, 7, 7, 7, 1000);
    rp_pubkey bad_id, exempt_id;
    memset(bad_id.bytes, 0xbb, 32);
    memset(exempt_id.bytes, 0xee, 32);
    ck_assert_int_eq(rp_addrman_add(am, &bad, NULL, NOW, src.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_add(am, &good, NULL, NOW, src.ip, NOW), 1);

    uint64_t until = NOW + RP_ADDRMAN_DISCOURAGE_SECS;
    ck_assert_int_eq(rp_addrman_discourage(am, &bad, &bad_id, until, 0, NOW), 1);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, bad.ip, NULL, NOW), 1);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, NULL, &bad_id, NOW), 1);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, good.ip, NULL, NOW), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, NULL, NULL, NOW), 0);
    /* The IP, whatever the port. */
    rp_netaddr other_port = bad;
    other_port.port = 1;
    ck_assert_int_eq(rp_addrman_is_discouraged(am, other_port.ip, NULL, NOW), 1);

    /* Never selected or gossiped while it lasts. */
    rp_addrman_entry e, out[10];
    size_t n;
    for (int k = 0; k < 100; k++) {
        ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, NOW + 10, &e), 1);
        ck_assert(addr_eq(&e.addr, &good));
    }
    /* An address whose node ID is discouraged is skipped too. */
    rp_netaddr moved = v4(68, 8, 8, 8, 1000);
    ck_assert_int_eq(rp_addrman_add(am, &moved, &bad_id, NOW, src.ip, NOW), 1);
    for (int k = 0; k < 100; k++) {
        ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, NOW + 10, &e), 1);
        ck_assert(addr_eq(&e.addr, &good));
    }
    (void)out;
    (void)n;

    /* Expiry: discouraged while now < until. */
    ck_assert_int_eq(rp_addrman_is_discouraged(am, bad.ip, NULL, until - 1), 1);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, bad.ip, NULL, until), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, NULL, &bad_id, until), 0);
    int picked_bad = 0;
    for (int k = 0; k < 300; k++) {
        ck_assert_int_eq(rp_addrman_select(am, 0, NULL, NULL, until, &e), 1);
        picked_bad |= addr_eq(&e.addr, &bad);
    }
    ck_assert(picked_bad);

    /* A later discouragement extends, an earlier one does not shorten. */
    ck_assert_int_eq(rp_addrman_discourage(am, &bad, NULL, until + DAY, 0, NOW), 1);
    ck_assert_int_eq(rp_addrman_discourage(am, &bad, NULL, until, 0, NOW), 1);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, bad.ip, NULL, until + DAY - 1), 1);

    /* Exempt peers (persistent, validators) are never recorded; nor is an
     * end already past. */
    ck_assert_int_eq(rp_addrman_discourage(am, &good, &exempt_id, until, 1, NOW), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, good.ip, &exempt_id, NOW), 0);
    ck_assert_int_eq(rp_addrman_discourage(am, &good, NULL, NOW, 0, NOW), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, good.ip, NULL, NOW), 0);
    ck_assert_int_eq(rp_addrman_discourage(am, NULL, NULL, until, 0, NOW), RP_ERR_INVALID_ARG);
    rp_netaddr zero = v4(0, 0, 0, 0, 1);
    ck_assert_int_eq(rp_addrman_discourage(am, &zero, NULL, until, 0, NOW), RP_ERR_INVALID_ARG);

    /* Lifting one. */
    ck_assert_int_eq(rp_addrman_undiscourage(am, RP_ADDRMAN_DISC_IP, bad.ip), 1);
    ck_assert_int_eq(rp_addrman_undiscourage(am, RP_ADDRMAN_DISC_IP, bad.ip), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, bad.ip, NULL, NOW), 0);
    ck_assert_int_eq(rp_addrman_undiscourage(am, 3, bad.ip), 0);
    rp_addrman_disc list[4];
    ck_assert_uint_eq(rp_addrman_discouragements(am, list, 4), 1);
    ck_assert_int_eq(list[0].kind, RP_ADDRMAN_DISC_ID);
    ck_assert_mem_eq(list[0].value, bad_id.bytes, 32);
    ck_assert_uint_eq(list[0].until, until);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_discouragement_bounded)
{
    rp_addrman *am = book(17);
    /* Fill the list: half expire early, half late. */
    for (unsigned i = 0; i < RP_ADDRMAN_MAX_DISCOURAGED; i++) {
        rp_netaddr a = v4(20 + i / 256, i % 256, 1, 1, 1);
        uint64_t until = NOW + (i % 2 ? 10 * DAY : HOUR) + i;
        ck_assert_int_eq(rp_addrman_discourage(am, &a, NULL, until, 0, NOW), 1);
    }
    ck_assert_uint_eq(rp_addrman_discouragements(am, NULL, 0), RP_ADDRMAN_MAX_DISCOURAGED);
    /* Full and nothing expired: the one that would end soonest goes. */
    rp_netaddr x = v4(99, 1, 1, 1, 1), first = v4(20, 0, 1, 1, 1);
    ck_assert_int_eq(rp_addrman_discourage(am, &x, NULL, NOW + DAY, 0, NOW), 1);
    ck_assert_uint_eq(rp_addrman_discouragements(am, NULL, 0), RP_ADDRMAN_MAX_DISCOURAGED);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, first.ip, NULL, NOW), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, x.ip, NULL, NOW), 1);
    /* A newcomer that would end before all of them is not recorded. */
    rp_netaddr y = v4(99, 2, 1, 1, 1);
    ck_assert_int_eq(rp_addrman_discourage(am, &y, NULL, NOW + 60, 0, NOW), 0);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, y.ip, NULL, NOW), 0);
    /* Two hours on, the short ones have expired and make room, all at once. */
    uint64_t later = NOW + 2 * HOUR;
    rp_pubkey id;
    memset(id.bytes, 7, 32);
    ck_assert_int_eq(rp_addrman_discourage(am, NULL, &id, later + DAY, 0, later), 1);
    size_t left = rp_addrman_discouragements(am, NULL, 0);
    ck_assert_uint_eq(left, RP_ADDRMAN_MAX_DISCOURAGED / 2 + 2);
    ck_assert_int_eq(rp_addrman_is_discouraged(am, NULL, &id, later), 1);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

/* ---- the file ---- */

/* A book with a bit of everything: new and tried, ids, failures,
 * discouragements of both kinds. */
static rp_addrman *sample_book(unsigned char tag, int n_new, int n_tried)
{
    rp_addrman *am = book(tag);
    for (int i = 0; i < n_new + n_tried; i++) {
        rp_netaddr a = v4(20 + (unsigned)i % 70, (unsigned)i / 70, (unsigned)i % 251, 1,
                          (uint16_t)(27650 + i % 3));
        rp_netaddr src = v4(30 + (unsigned)i % 60, (unsigned)i % 7, 0, 1, 0);
        rp_pubkey id;
        memset(id.bytes, i + 1, 32);
        if (rp_addrman_add(am, &a, i % 3 ? &id : NULL, NOW - (uint64_t)i * 60, src.ip, NOW) != 1)
            continue;
        if (i % 5 == 1)
            ck_assert_int_eq(rp_addrman_attempt(am, &a, 1, NOW - 30), 1);
        if (i >= n_new)
            ck_assert_int_ge(rp_addrman_good(am, &a, NULL, NOW - (uint64_t)i), 0);
    }
    rp_netaddr d1 = v4(66, 1, 2, 3, 9);
    rp_pubkey d2;
    memset(d2.bytes, 0xd2, 32);
    ck_assert_int_eq(rp_addrman_discourage(am, &d1, &d2, NOW + DAY, 0, NOW), 1);
    rp_netaddr d3 = v6("2a0102030000000000000000000000ff", 9);
    ck_assert_int_eq(rp_addrman_discourage(am, &d3, NULL, NOW + 2 * DAY, 0, NOW), 1);
    ck_assert_int_eq(rp_addrman_check(am), 0);
    return am;
}

static int books_equal(const rp_addrman *a, const rp_addrman *b)
{
    size_t an, at, bn, bt;
    rp_addrman_size(a, &an, &at);
    rp_addrman_size(b, &bn, &bt);
    if (an != bn || at != bt)
        return 0;
    size_t la, lb;
    unsigned char *x = save(a, &la), *y = save(b, &lb);
    int eq = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

START_TEST(test_round_trip)
{
    rp_addrman *am = sample_book(20, 300, 60);
    size_t n_new, n_tried;
    rp_addrman_size(am, &n_new, &n_tried);
    ck_assert_uint_gt(n_new, 0);
    ck_assert_uint_gt(n_tried, 0);
    size_t len;
    unsigned char *buf = save(am, &len);
    ck_assert_uint_le(len, RP_ADDRMAN_MAX_FILE_SIZE);

    /* Too small a buffer is refused. */
    size_t short_len = 99;
    ck_assert_int_eq(rp_addrman_save(am, buf, len - 1, &short_len), RP_ERR_BUFFER);
    ck_assert_uint_eq(short_len, 0);

    unsigned char seed[32] = {1};
    rp_addrman *back;
    const char *field = "x";
    ck_assert_int_eq(rp_addrman_load(&back, buf, len, seed, &field), 0);
    ck_assert_ptr_null(field);
    ck_assert_int_eq(rp_addrman_check(back), 0);
    ck_assert(books_equal(am, back));

    /* Entry by entry, through the public view. */
    static rp_addrman_entry out[RP_ADDRMAN_GETADDR_MAX];
    size_t n;
    ck_assert_int_eq(rp_addrman_getaddr(am, out, RP_ADDRMAN_GETADDR_MAX, &n, NOW), 0);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        rp_addrman_entry e;
        ck_assert_int_eq(rp_addrman_find(back, &out[i].addr, &e), 1);
        ck_assert_mem_eq(&e, &out[i], sizeof e);
    }
    rp_addrman_disc da[8], db[8];
    size_t nd = rp_addrman_discouragements(am, da, 8);
    ck_assert_uint_eq(nd, 3);
    ck_assert_uint_eq(rp_addrman_discouragements(back, db, 8), nd);
    ck_assert_mem_eq(da, db, nd * sizeof da[0]);

    /* The loaded book works on: same answers as the original for the same
     * calls, given the same seed. */
    rp_addrman *again;
    ck_assert_int_eq(rp_addrman_load(&again, buf, len, seed, NULL), 0);
    for (int k = 0; k < 50; k++) {
        rp_addrman_entry e1, e2;
        ck_assert_int_eq(rp_addrman_select(back, 0, NULL, NULL, NOW, &e1), 1);
        ck_assert_int_eq(rp_addrman_select(again, 0, NULL, NULL, NOW, &e2), 1);
        ck_assert(addr_eq(&e1.addr, &e2.addr));
    }

    /* The empty book too. */
    rp_addrman *empty = book(21), *eback;
    size_t elen;
    unsigned char *ebuf = save(empty, &elen);
    ck_assert_uint_eq(elen, RP_ADDRMAN_FILE_HEADER + 2);
    ck_assert_int_eq(rp_addrman_load(&eback, ebuf, elen, seed, NULL), 0);
    ck_assert(books_equal(empty, eback));

    free(ebuf);
    rp_addrman_free(empty);
    rp_addrman_free(eback);
    rp_addrman_free(again);
    rp_addrman_free(back);
    rp_addrman_free(am);
    free(buf);
}
END_TEST

/* Load must refuse in with code and field; *out stays NULL. */
static void expect_refused(const unsigned char *in, size_t len, int code, const char *field)
{
    unsigned char seed[32] = {0};
    rp_addrman *am = (rp_addrman *)1;
    const char *f = NULL;
    int rc = rp_addrman_load(&am, in, len, seed, &f);
    ck_assert_msg(rc == code, "expected %d (%s) at %s, got %d (%s) at %s", code, rp_strerror(code),
                  field, rc, rp_strerror(rc), f ? f : "(none)");
    ck_assert_ptr_null(am);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f, field);
    ck_assert(rp_strerror(rc)[0] != '\0');
}

/* Offsets in the file (addrman.h). */
#define OFF_VERSION   8
#define OFF_KEY       9
#define OFF_NEW_COUNT 41
#define OFF_TRIED_CNT 45
#define OFF_ENTRY     RP_ADDRMAN_FILE_HEADER
#define E_BUCKET      0
#define E_SLOT        2
#define E_IP          3
#define E_PORT        19
#define E_SOURCE      21
#define E_FLAGS       37
#define E_SEEN        38 /* without an id */

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A file written by hand, as docs/p2p.md lays it out. */
typedef struct filebuf {
    unsigned char b[8192];
    rp_writer w;
} filebuf;

static void fb_header(filebuf *f, const unsigned char key[32], uint32_t n_new, uint32_t n_tried)
{
    rp_writer_init(&f->w, f->b, sizeof f->b);
    rp_put_bytes(&f->w, (const unsigned char *)"RPPEERDB", 8);
    rp_put_u8(&f->w, 1);
    rp_put_bytes(&f->w, key, 32);
    rp_put_u32(&f->w, n_new);
    rp_put_u32(&f->w, n_tried);
}

static void fb_entry(filebuf *f, unsigned bucket, unsigned slot, const rp_addrman_entry *e)
{
    rp_put_u16(&f->w, (uint16_t)bucket);
    rp_put_u8(&f->w, (uint8_t)slot);
    rp_put_bytes(&f->w, e->addr.ip, 16);
    rp_put_u16(&f->w, e->addr.port);
    rp_put_bytes(&f->w, e->source, 16);
    rp_put_u8(&f->w, e->has_id ? 1 : 0);
    if (e->has_id)
        rp_put_bytes(&f->w, e->id.bytes, 32);
    rp_put_u64(&f->w, e->last_seen);
    rp_put_u64(&f->w, e->last_try);
    rp_put_u64(&f->w, e->last_success);
    rp_put_u32(&f->w, e->attempts);
}

static size_t fb_end(filebuf *f, uint16_t n_disc)
{
    rp_put_u16(&f->w, n_disc);
    size_t len;
    ck_assert_int_eq(rp_writer_finish(&f->w, &len), 0);
    return len;
}

START_TEST(test_hand_written_file_loads)
{
    /* The documented layout, written independently of the saver, loads and
     * saves back byte for byte. */
    rp_addrman *am = book(22);
    rp_netaddr a = v4(20, 2, 2, 2, 5), src = v4(30, 3, 3, 3, 0);
    ck_assert_int_eq(rp_addrman_add(am, &a, NULL, NOW, src.ip, NOW), 1);
    rp_addrman_entry e;
    ck_assert_int_eq(rp_addrman_find(am, &a, &e), 1);
    unsigned char key[32];
    memset(key, 22, 32);
    static filebuf f;
    fb_header(&f, key, 1, 0);
    fb_entry(&f, e.bucket, e.slot, &e);
    size_t len = fb_end(&f, 0);
    ck_assert_uint_eq(len, RP_ADDRMAN_FILE_HEADER + RP_ADDRMAN_ENTRY_MIN + 2);
    size_t slen;
    unsigned char *saved = save(am, &slen);
    ck_assert_uint_eq(slen, len);
    ck_assert_mem_eq(saved, f.b, len);
    free(saved);
    rp_addrman_free(am);
}
END_TEST

START_TEST(test_corruption_refused)
{
    /* A small book: two new entries, one tried, a discouragement of each
     * kind. */
    rp_addrman *am = book(23);
    rp_netaddr src = v4(30, 3, 3, 3, 0);
    rp_netaddr n1 = v4(20, 2, 2, 2, 5), n2 = v4(21, 2, 2, 2, 5), t1 = v4(22, 2, 2, 2, 5);
    ck_assert_int_eq(rp_addrman_add(am, &n1, NULL, NOW, src.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_add(am, &n2, NULL, NOW, src.ip, NOW), 1);
    ck_assert_int_eq(rp_addrman_add(am, &t1, NULL, NOW, src.ip, NOW), 1);
    rp_addrman_entry e_n2_new;
    ck_assert_int_eq(rp_addrman_find(am, &n2, &e_n2_new), 1);
    ck_assert_int_eq(rp_addrman_good(am, &t1, NULL, NOW), 1);
    rp_pubkey id;
    memset(id.bytes, 0x44, 32);
    ck_assert_int_eq(rp_addrman_discourage(am, &n1, &id, NOW + DAY, 0, NOW), 1);
    size_t len;
    unsigned char *good = save(am, &len);
    unsigned char *b = malloc(len + 1);
    ck_assert_ptr_nonnull(b);
    /* Layout: header, new entries E1 E2, tried T, discouragements. */
    size_t e1 = OFF_ENTRY, e2 = e1 + RP_ADDRMAN_ENTRY_MIN, t = e2 + RP_ADDRMAN_ENTRY_MIN;
    size_t disc = t + RP_ADDRMAN_ENTRY_MIN;
    ck_assert_uint_eq(len, disc + 2 + (1 + 16 + 8) + (1 + 32 + 8));

#define RESET() memcpy(b, good, len)
    RESET();
    b[0] = 'X';
    expect_refused(b, len, RP_ERR_BAD_TYPE, "magic");
    RESET();
    b[OFF_VERSION] = 2;
    expect_refused(b, len, RP_ERR_BAD_VERSION, "version");
    RESET();
    memset(b + OFF_KEY, 0, 32);
    expect_refused(b, len, RP_ERR_RANGE, "key");
    RESET();
    put_be(b + OFF_NEW_COUNT, RP_ADDRMAN_MAX_NEW + 1, 4);
    expect_refused(b, len, RP_ERR_TOO_LONG, "new.count");
    RESET();
    put_be(b + OFF_TRIED_CNT, RP_ADDRMAN_MAX_TRIED + 1, 4);
    expect_refused(b, len, RP_ERR_TOO_LONG, "tried.count");
    RESET();
    put_be(b + OFF_NEW_COUNT, 60000, 4); /* in range, but not in these bytes */
    expect_refused(b, len, RP_ERR_TRUNCATED, "entries");
    RESET();
    b[len] = 0;
    expect_refused(b, len + 1, RP_ERR_TRAILING, "end");

    /* Bucket and slot out of range. */
    RESET();
    put_be(b + e1 + E_BUCKET, RP_ADDRMAN_NEW_BUCKETS, 2);
    expect_refused(b, len, RP_ERR_RANGE, "new.bucket");
    RESET();
    put_be(b + t + E_BUCKET, RP_ADDRMAN_TRIED_BUCKETS, 2);
    expect_refused(b, len, RP_ERR_RANGE, "tried.bucket");
    RESET();
    b[e2 + E_SLOT] = RP_ADDRMAN_BUCKET_SIZE;
    expect_refused(b, len, RP_ERR_RANGE, "new.slot");
    /* Where the key does not put it (a later bucket keeps the order). */
    RESET();
    put_be(b + e2 + E_BUCKET, RP_ADDRMAN_NEW_BUCKETS - 1, 2);
    if (get_be(good + e2 + E_BUCKET, 2) == RP_ADDRMAN_NEW_BUCKETS - 1)
        b[e2 + E_SLOT] ^= 1;
    expect_refused(b, len, RP_ERR_NONCANONICAL, "new.position");
    RESET();
    b[t + E_IP + 15] ^= 1; /* another address: another place */
    expect_refused(b, len, RP_ERR_NONCANONICAL, "tried.position");
    /* Out of order: the two new entries swapped. */
    RESET();
    memcpy(b + e1, good + e2, RP_ADDRMAN_ENTRY_MIN);
    memcpy(b + e2, good + e1, RP_ADDRMAN_ENTRY_MIN);
    expect_refused(b, len, RP_ERR_NONCANONICAL, "new.order");
    /* Fields. */
    RESET();
    b[e1 + E_FLAGS] = 2;
    expect_refused(b, len, RP_ERR_RANGE, "new.flags");
    RESET();
    b[e1 + E_FLAGS] = 1; /* an id that is not there: every later field shifts */
    {
        rp_addrman *x = (rp_addrman *)1;
        unsigned char seed[32] = {0};
        ck_assert_int_lt(rp_addrman_load(&x, b, len, seed, NULL), 0);
        ck_assert_ptr_null(x);
    }
    RESET();
    put_be(b + e1 + E_PORT, 0, 2);
    expect_refused(b, len, RP_ERR_RANGE, "new.address");
    RESET();
    memset(b + e1 + E_SOURCE, 0, 16);
    expect_refused(b, len, RP_ERR_RANGE, "new.source");
    RESET();
    put_be(b + t + E_SEEN + 16, 0, 8); /* last_success */
    expect_refused(b, len, RP_ERR_RANGE, "tried.last_success");

    /* Discouragements. */
    RESET();
    put_be(b + disc, RP_ADDRMAN_MAX_DISCOURAGED + 1, 2);
    expect_refused(b, len, RP_ERR_TOO_LONG, "discouraged.count");
    RESET();
    b[disc + 2] = 3;
    expect_refused(b, len, RP_ERR_RANGE, "discouraged.kind");
    RESET();
    put_be(b + disc + 2 + 1 + 16, 0, 8);
    expect_refused(b, len, RP_ERR_RANGE, "discouraged.until");
    RESET();
    memset(b + disc + 2 + 1, 0, 16);
    expect_refused(b, len, RP_ERR_RANGE, "discouraged.value");
    RESET(); /* ID before IP: out of order */
    memcpy(b + disc + 2, good + disc + 2 + 25, 41);
    memcpy(b + disc + 2 + 41, good + disc + 2, 25);
    expect_refused(b, len, RP_ERR_NONCANONICAL, "discouraged.order");

    /* Every truncation. */
    for (size_t cut = 0; cut < len; cut++) {
        rp_addrman *x = (rp_addrman *)1;
        unsigned char seed[32] = {0};
        const char *f = NULL;
        int rc = rp_addrman_load(&x, good, cut, seed, &f);
        ck_assert_msg(rc == RP_ERR_TRUNCATED, "cut %zu: %d at %s", cut, rc, f ? f : "-");
        ck_assert_ptr_null(x);
    }

    /* One address in two places: n2 in new, where it was, and in tried,
     * where a good() put it. And the same slot twice. */
    ck_assert_int_eq(rp_addrman_good(am, &n2, NULL, NOW), 1);
    rp_addrman_entry e_n2_tried, e_n1, e_t1;
    ck_assert_int_eq(rp_addrman_find(am, &n2, &e_n2_tried), 1);
    ck_assert_int_eq(rp_addrman_find(am, &n1, &e_n1), 1);
    ck_assert_int_eq(rp_addrman_find(am, &t1, &e_t1), 1);
    unsigned char key[32];
    memset(key, 23, 32);
    static filebuf f;
    fb_header(&f, key, 1, 1);
    fb_entry(&f, e_n2_new.bucket, e_n2_new.slot, &e_n2_new);
    fb_entry(&f, e_n2_tried.bucket, e_n2_tried.slot, &e_n2_tried);
    size_t flen = fb_end(&f, 0);
    expect_refused(f.b, flen, RP_ERR_NONCANONICAL, "tried.duplicate");
    fb_header(&f, key, 2, 0);
    fb_entry(&f, e_n1.bucket, e_n1.slot, &e_n1);
    fb_entry(&f, e_n1.bucket, e_n1.slot, &e_n1);
    flen = fb_end(&f, 0);
    expect_refused(f.b, flen, RP_ERR_NONCANONICAL, "new.order");
    /* A tried entry in the new table (at its tried place). */
    fb_header(&f, key, 1, 0);
    fb_entry(&f, e_t1.bucket, e_t1.slot, &e_t1);
    flen = fb_end(&f, 0);
    expect_refused(f.b, flen, RP_ERR_NONCANONICAL, "new.position");
    /* A file written under another key: nothing is where that key puts it. */
    RESET();
    b[OFF_KEY] ^= 0x80;
    expect_refused(b, len, RP_ERR_NONCANONICAL, "new.position");
#undef RESET

    /* Every single-byte change is refused, or loads a book that saves to
     * exactly the changed bytes (a time, a count of attempts, an id). */
    size_t loaded = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(b, good, len);
        b[i] ^= (unsigned char)(1u << (i % 8));
        rp_addrman *x;
        unsigned char seed[32] = {0};
        if (rp_addrman_load(&x, b, len, seed, NULL) == 0) {
            size_t l2;
            unsigned char *again = save(x, &l2);
            ck_assert_uint_eq(l2, len);
            ck_assert_mem_eq(again, b, len);
            ck_assert_int_eq(rp_addrman_check(x), 0);
            free(again);
            rp_addrman_free(x);
            loaded++;
        }
    }
    fprintf(stderr, "corruption: %zu of %zu single-bit flips load (times, ids), the rest refused\n",
            loaded, len);
    free(b);
    free(good);
    rp_addrman_free(am);
}
END_TEST

/* ---- the seeded workload ---- */

START_TEST(test_random_workload)
{
    rng_state = seed_value;
    unsigned char seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (unsigned char)rnd();
    rp_addrman *am = seeded_book();
    /* A small world, so that addresses repeat, collide and get evicted. */
    rp_netaddr world[3000];
    for (int i = 0; i < 3000; i++) {
        world[i] = i % 10 == 0 ? v6("2a010000000000000000000000000001", 1) : random_v4(11, 40);
        if (i % 10 == 0) {
            world[i].ip[2] = (unsigned char)rnd();
            world[i].ip[15] = (unsigned char)rnd();
            world[i].port = (uint16_t)(1 + rnd_below(60000));
        }
    }
    uint64_t t = NOW;
    size_t ops[12] = {0};
    for (int step = 0; step < 40000; step++) {
        t += rnd_below(120);
        rp_netaddr *a = &world[rnd_below(3000)];
        rp_addrman_entry e;
        unsigned op = rnd_below(100);
        if (op < 45) {
            rp_netaddr *src = &world[rnd_below(3000)];
            rp_pubkey id;
            memset(id.bytes, (int)rnd_below(256), 32);
            uint64_t seen = t - rnd_below(40 * 86400) + 3600;
            ck_assert_int_ge(rp_addrman_add(am, a, rnd_below(2) ? &id : NULL, seen, src->ip, t), 0);
            ops[0]++;
        } else if (op < 60) {
            rp_addrman_attempt(am, a, (int)rnd_below(4) != 0, t);
            ops[1]++;
        } else if (op < 72) {
            ck_assert_int_ge(rp_addrman_good(am, a, NULL, t), 0);
            ops[2]++;
        } else if (op < 76) {
            rp_addrman_connected(am, a, t);
            ops[3]++;
        } else if (op < 88) {
            if (rp_addrman_select(am, (int)(rnd_below(5) == 0), NULL, NULL, t, &e))
                ck_assert_int_eq(rp_addrman_find(am, &e.addr, NULL), 1);
            ops[4]++;
        } else if (op < 90) {
            static rp_addrman_entry out[RP_ADDRMAN_GETADDR_MAX];
            size_t n, total = rp_addrman_size(am, NULL, NULL);
            ck_assert_int_eq(rp_addrman_getaddr(am, out, RP_ADDRMAN_GETADDR_MAX, &n, t), 0);
            ck_assert_uint_le(n, total * RP_ADDRMAN_GETADDR_PCT / 100);
            ops[5]++;
        } else if (op < 93) {
            rp_pubkey id;
            memset(id.bytes, (int)rnd_below(256), 32);
            ck_assert_int_ge(rp_addrman_discourage(am, a, rnd_below(2) ? &id : NULL,
                                                   t + rnd_below(2 * 86400), (int)rnd_below(2), t),
                             0);
            ops[6]++;
        } else if (op < 95) {
            if (rp_addrman_collision(am, &e))
                rp_addrman_attempt(am, &e.addr, 1, t);
            ck_assert_int_eq(rp_addrman_resolve_collisions(am, t), 0);
            ops[7]++;
        } else if (op < 96) {
            rp_addrman_undiscourage(am, RP_ADDRMAN_DISC_IP, a->ip);
            ops[8]++;
        } else {
            rp_addrman_find(am, a, &e);
            ops[9]++;
        }
        if (step % 500 == 499)
            ck_assert_int_eq(rp_addrman_check(am), 0);
        if (step % 2000 == 1999) {
            ck_assert_int_eq(rp_addrman_check(am), 0);
            /* Through the file and back: the same bytes. */
            size_t len, len2;
            unsigned char *buf = save(am, &len);
            rp_addrman *back;
            const char *field = NULL;
            int rc = rp_addrman_load(&back, buf, len, seed, &field);
            ck_assert_msg(rc == 0, "step %d: load %d at %s", step, rc, field ? field : "-");
            unsigned char *buf2 = save(back, &len2);
            ck_assert_uint_eq(len, len2);
            ck_assert_mem_eq(buf, buf2, len);
            free(buf);
            free(buf2);
            /* Carry on with the loaded book half the time. */
            if (rnd_below(2)) {
                rp_addrman_free(am);
                am = back;
            } else {
                rp_addrman_free(back);
            }
            ops[10]++;
        }
    }
    size_t n_new, n_tried;
    rp_addrman_size(am, &n_new, &n_tried);
    fprintf(stderr,
            "workload (RP_TEST_SEED=%lu): %zu adds, %zu attempts, %zu goods, %zu selects, %zu "
            "getaddrs, %zu discouragements, %zu resolves, %zu round trips; ends with %zu new, "
            "%zu tried, %zu discouraged\n",
            seed_value, ops[0], ops[1], ops[2], ops[4], ops[5], ops[6], ops[7], ops[10], n_new,
            n_tried, rp_addrman_discouragements(am, NULL, 0));
    ck_assert_int_eq(rp_addrman_check(am), 0);
    rp_addrman_free(am);
}
END_TEST

/* ---- the fuzz corpus ---- */

static void write_seed(const char *dir, const char *name, const unsigned char *b, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(b, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_corpus)
{
    const char *dir = getenv("RP_WRITE_ADDRMAN_CORPUS");
    if (!dir)
        return;
    struct {
        const char *name;
        int n_new, n_tried;
    } books[] = {{"small.bin", 4, 2}, {"medium.bin", 40, 10}, {"tried-heavy.bin", 5, 30}};
    for (size_t i = 0; i < sizeof books / sizeof books[0]; i++) {
        rp_addrman *am = sample_book((unsigned char)(30 + i), books[i].n_new, books[i].n_tried);
        size_t len;
        unsigned char *b = save(am, &len);
        write_seed(dir, books[i].name, b, len);
        if (i == 0) {
            write_seed(dir, "truncated.bin", b, len - 5);
            b[OFF_VERSION] = 2;
            write_seed(dir, "version2.bin", b, len);
        }
        free(b);
        rp_addrman_free(am);
    }
    rp_addrman *empty = book(40);
    size_t len;
    unsigned char *b = save(empty, &len);
    write_seed(dir, "empty.bin", b, len);
    /* One address in two places, refused: the fuzzer starts next to the
     * duplicate check. */
    rp_addrman *two = book(41);
    rp_netaddr x = v4(20, 4, 4, 4, 4), src = v4(30, 4, 4, 4, 0);
    ck_assert_int_eq(rp_addrman_add(two, &x, NULL, NOW, src.ip, NOW), 1);
    rp_addrman_entry in_new, in_tried;
    ck_assert_int_eq(rp_addrman_find(two, &x, &in_new), 1);
    ck_assert_int_eq(rp_addrman_good(two, &x, NULL, NOW), 1);
    ck_assert_int_eq(rp_addrman_find(two, &x, &in_tried), 1);
    unsigned char key[32];
    memset(key, 41, 32);
    static filebuf f;
    fb_header(&f, key, 1, 1);
    fb_entry(&f, in_new.bucket, in_new.slot, &in_new);
    fb_entry(&f, in_tried.bucket, in_tried.slot, &in_tried);
    size_t flen = fb_end(&f, 0);
    expect_refused(f.b, flen, RP_ERR_NONCANONICAL, "tried.duplicate");
    write_seed(dir, "two-places.bin", f.b, flen);
    rp_addrman_free(two);
    free(b);
    rp_addrman_free(empty);
}
END_TEST

static Suite *addrman_suite(void)
{
    Suite *s = suite_create("addrman");
    TCase *tc = tcase_create("addresses");
    tcase_add_test(tc, test_groups);
    tcase_add_test(tc, test_new_refuses_zero_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("book");
    tcase_add_test(tc, test_add_and_select);
    tcase_add_test(tc, test_same_address_twice);
    tcase_add_test(tc, test_promotion);
    tcase_add_test(tc, test_tried_collision_keeps_working_incumbent);
    tcase_add_test(tc, test_tried_collision_evicts_failed_incumbent);
    tcase_add_test(tc, test_tried_collision_untested_window);
    tcase_add_test(tc, test_terrible_not_offered);
    tcase_add_test(tc, test_terrible_gives_up_its_slot);
    tcase_add_test(tc, test_select_skips_connected);
    suite_add_tcase(s, tc);

    tc = tcase_create("floods");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_flood_from_one_source_group);
    tcase_add_test(tc, test_flood_inside_one_group);
    suite_add_tcase(s, tc);

    tc = tcase_create("getaddr and discouragement");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_getaddr_bounded_and_random);
    tcase_add_test(tc, test_discouragement);
    tcase_add_test(tc, test_discouragement_bounded);
    suite_add_tcase(s, tc);

    tc = tcase_create("file");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_hand_written_file_loads);
    tcase_add_test(tc, test_corruption_refused);
    tcase_add_test(tc, test_corpus);
    suite_add_tcase(s, tc);

    tc = tcase_create("workload");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_random_workload);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return EXIT_FAILURE;
    const char *env = getenv("RP_TEST_SEED");
    seed_value = env ? strtoul(env, NULL, 10) : (unsigned long)time(NULL);
    fprintf(stderr, "test_addrman: RP_TEST_SEED=%lu\n", seed_value);
    SRunner *sr = srunner_create(addrman_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
