/* Discovery end to end: score.top's filters and orders (score and rise),
 * its pages and refusals, score.history, and `repute-cli top` and
 * `repute-cli history`, against a real `reputed run` on a fresh dev datadir
 * (tests/node_fixture.h).
 *
 * The story: a small market is built in three rounds of records, each
 * settled into its own score epoch (the dev chain makes empty blocks only
 * until the epoch covering its latest records is committed, and then rests,
 * so the answers checked here do not move under the test). An identity
 * registered in the second round has no row in the first round's epoch.
 * Every expectation is computed from score.get, the reference row of each
 * identity in each epoch, not from the code under test.
 */
#include <check.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "node/rpc_client.h"

#include "node_fixture.h"

#define NIDS 7

static ident anchor, t1, t2, t3, t4, a1, b1;
static ident *all_ids[NIDS] = {&anchor, &t1, &t2, &t3, &t4, &a1, &b1};
static uint64_t t4_first; /* the first epoch with a row for t4 */

/* Submit recs[0..n), wait for them all, and for the epoch that covers
 * them. Returns that epoch; *h0: the height of recs[0]. */
static uint64_t settle(rp_rpc_client *c, rp_record *recs, size_t n, uint64_t *h0)
{
    for (size_t i = 0; i < n; i++)
        expect_status(submit_ok(c, &recs[i], 0), "pending");
    uint64_t hmax = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = wait_included(c, &recs[i]);
        if (i == 0)
            *h0 = h;
        if (h > hmax)
            hmax = h;
    }
    uint64_t epoch = (hmax + 9) / 10;
    wait_epoch(c, epoch);
    return epoch;
}

/* An engagement of a and b and a review each way. */
static size_t deal(rp_record *out, ident *a, ident *b, uint8_t a_gives, uint8_t b_gives)
{
    out[0] = r_engagement(a, b);
    out[1] = r_review(a, b, &out[0], a_gives);
    out[2] = r_review(b, a, &out[0], b_gives);
    return 3;
}

/* Build the three rounds. Returns the latest epoch. */
static uint64_t build_market(rp_rpc_client *c, uint64_t *e1)
{
    ident_anchor(&anchor);
    ident_gen(&t1, RP_ROLE_TALENT, "Tia Dancer");
    ident_gen(&t2, RP_ROLE_TALENT, "Tom Actor");
    ident_gen(&t3, RP_ROLE_TALENT, "Tess Model");
    ident_gen(&t4, RP_ROLE_TALENT, "Theo Late");
    ident_gen(&a1, RP_ROLE_AGENT, "Ace Agency");
    ident_gen(&b1, RP_ROLE_BRAND, "Bold Brand");
    rp_record r[32];
    size_t n = 0;
    r[n++] = r_identity(&t1);
    r[n++] = r_identity(&t2);
    r[n++] = r_identity(&t3);
    r[n++] = r_identity(&a1);
    r[n++] = r_identity(&b1);
    n += deal(&r[n], &anchor, &t1, 5, 4);
    n += deal(&r[n], &b1, &t1, 4, 5);
    n += deal(&r[n], &a1, &t3, 3, 4);
    n += deal(&r[n], &anchor, &a1, 4, 5);
    uint64_t h;
    *e1 = settle(c, r, n, &h);

    /* Round 2: t2 is reviewed well by the anchor and the brand; t4 arrives. */
    n = 0;
    r[n++] = r_identity(&t4);
    n += deal(&r[n], &anchor, &t2, 5, 5);
    n += deal(&r[n], &b1, &t2, 5, 4);
    uint64_t e2 = settle(c, r, n, &h);
    ck_assert_uint_gt(e2, *e1);
    t4_first = (h + 9) / 10; /* the first snapshot at or after its height */

    /* Round 3: t4 and t3 get reviews. */
    n = 0;
    n += deal(&r[n], &anchor, &t4, 5, 5);
    n += deal(&r[n], &b1, &t3, 2, 3);
    uint64_t e3 = settle(c, r, n, &h);
    ck_assert_uint_gt(e3, e2);
    ck_assert_uint_eq(head_epoch(c), e3); /* the chain rests */
    return e3;
}

/* score.get of who in epoch: the reference row (present false: no row). */
static json_t *ref_row(rp_rpc_client *c, const char *who, uint64_t epoch)
{
    char eb[24];
    snprintf(eb, sizeof eb, "%" PRIu64, epoch);
    return call_ok(c, "score.get", P("{s:s,s:s}", "identity", who, "epoch", eb));
}

struct expect {
    const char *id;
    const char *role;
    json_int_t score, confidence, reviews, rise, prev;
    size_t place; /* in the score order */
};

static int by_rise(const void *x, const void *y)
{
    const struct expect *a = x, *b = y;
    if (a->rise != b->rise)
        return a->rise > b->rise ? -1 : 1;
    return a->place < b->place ? -1 : a->place > b->place;
}

/* Compare a score.top answer with the expected rows exp[0..n) (already
 * filtered and ordered), for a page [offset, offset + limit). */
static void expect_page(json_t *res, const struct expect *exp, size_t n, size_t offset,
                        size_t limit, int rise)
{
    json_t *rows = json_object_get(res, "rows");
    ck_assert_int_eq(jint(res, "total"), (json_int_t)n);
    ck_assert_str_eq(jstr(res, "order"), rise ? "rise" : "score");
    size_t want = offset >= n ? 0 : n - offset < limit ? n - offset : limit;
    ck_assert_uint_eq(json_array_size(rows), want);
    for (size_t k = 0; k < want; k++) {
        json_t *r = json_array_get(rows, k);
        const struct expect *e = &exp[offset + k];
        ck_assert_int_eq(jint(r, "rank"), (json_int_t)(offset + k + 1));
        ck_assert_str_eq(jstr(r, "identity"), e->id);
        ck_assert_int_eq(jint(r, "score"), e->score);
        if (rise) {
            ck_assert_int_eq(jint(r, "rise"), e->rise);
            ck_assert_int_eq(jint(r, "previous_score"), e->prev);
        } else {
            ck_assert_ptr_null(json_object_get(r, "rise"));
        }
    }
}

/* The rows of the score order (limit 100: everything here) as expectations,
 * with their rise over k epochs when k > 0 (rows absent then are dropped). */
static size_t expected(rp_rpc_client *c, json_t *all, uint64_t latest, unsigned k,
                       struct expect *out)
{
    json_t *rows = json_object_get(all, "rows");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        struct expect e = {jstr(r, "identity"),
                           jstr(r, "role"),
                           jint(r, "score"),
                           jint(r, "confidence"),
                           jint(r, "reviews"),
                           0,
                           0,
                           i};
        if (k) {
            json_t *old = ref_row(c, e.id, latest - k);
            if (!json_is_true(json_object_get(old, "present")))
                continue;
            e.prev = jint(old, "score");
            e.rise = e.score - e.prev;
        }
        out[n++] = e;
    }
    if (k)
        qsort(out, n, sizeof *out, by_rise);
    return n;
}

static size_t filter(const struct expect *in, size_t n, const char *role, json_int_t min_reviews,
                     json_int_t min_conf, struct expect *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if ((!role || !strcmp(in[i].role, role)) && in[i].reviews >= min_reviews &&
            in[i].confidence >= min_conf)
            out[m++] = in[i];
    return m;
}

START_TEST(test_top_filters_and_rise)
{
    node_start();
    rp_rpc_client *c = cli();
    /* Before the first epoch. */
    ck_assert_int_eq(call_err(c, "score.top", P("{s:s}", "order", "rise"), NULL), -32008);
    uint64_t e1, latest = build_market(c, &e1);
    unsigned kept = latest < 8 ? (unsigned)latest : 8;
    ck_assert_uint_ge(kept, 3);

    json_t *all = call_ok(c, "score.top", P("{s:i}", "limit", 100));
    ck_assert_uint_eq(ju64(all, "epoch"), latest);
    ck_assert_str_eq(jstr(all, "order"), "score");
    ck_assert_ptr_null(json_object_get(all, "epochs"));
    struct expect base[NIDS + 2], exp[NIDS + 2];
    size_t nb = expected(c, all, latest, 0, base);
    ck_assert_uint_eq(nb, NIDS);

    /* Filters over the score order, alone and together, with pages. */
    static const char *const roles[] = {NULL, "talent", "agent", "brand"};
    static const json_int_t min_rev[] = {0, 1, 2, 3}, min_conf[] = {0, 1, 200, 1000};
    for (size_t ri = 0; ri < 4; ri++)
        for (size_t mi = 0; mi < 4; mi++)
            for (size_t ci = 0; ci < 4; ci++) {
                size_t m = filter(base, nb, roles[ri], min_rev[mi], min_conf[ci], exp);
                for (size_t off = 0; off <= m + 1; off += 2) {
                    json_t *p = P("{s:i,s:I,s:I,s:I}", "limit", 2, "offset", (json_int_t)off,
                                  "min_reviews", min_rev[mi], "min_confidence", min_conf[ci]);
                    if (roles[ri])
                        json_object_set_new(p, "role", json_string(roles[ri]));
                    expect_page(call_ok(c, "score.top", p), exp, m, off, 2, 0);
                }
            }
    /* Someone matches the middle filters, and not everyone does. */
    size_t mid = filter(base, nb, "talent", 2, 1, exp);
    ck_assert(mid > 0 && mid < 4);

    /* Rise over every span the node keeps: since_epoch, who is left out,
     * the order, and the same filters. */
    for (unsigned k = 1; k < kept; k++) {
        size_t m = expected(c, all, latest, k, exp);
        json_t *r = call_ok(c, "score.top",
                            P("{s:s,s:i,s:i}", "order", "rise", "epochs", (int)k, "limit", 100));
        ck_assert_int_eq(jint(r, "epochs"), (json_int_t)k);
        ck_assert_uint_eq(ju64(r, "since_epoch"), latest - k);
        expect_page(r, exp, m, 0, 100, 1);
        /* t4 registered after e1's snapshot: absent from spans reaching
         * back before its first epoch. */
        int has_t4 = 0;
        for (size_t i = 0; i < m; i++)
            has_t4 |= !strcmp(exp[i].id, t4.hex);
        ck_assert_int_eq(has_t4, latest - k >= t4_first);
        struct expect f[NIDS + 2];
        size_t mf = filter(exp, m, "talent", 1, 1, f);
        for (size_t off = 0; off <= mf; off++)
            expect_page(call_ok(c, "score.top",
                                P("{s:s,s:i,s:s,s:i,s:i,s:i,s:I}", "order", "rise", "epochs",
                                  (int)k, "role", "talent", "min_reviews", 1, "min_confidence", 1,
                                  "limit", 1, "offset", (json_int_t)off)),
                        f, mf, off, 1, 1);
    }
    /* Somebody rose since e1 (t2 was reviewed well since). */
    size_t m = expected(c, all, latest, (unsigned)(latest - e1), exp);
    ck_assert(m > 0 && exp[0].rise > 0);
    /* The default span is 3 epochs, when kept. */
    if (kept > 3) {
        json_t *d = call_ok(c, "score.top", P("{s:s}", "order", "rise"));
        ck_assert_int_eq(jint(d, "epochs"), 3);
    }
    /* order score is the default, explicitly too. */
    json_t *sc = call_ok(c, "score.top", P("{s:s,s:i}", "order", "score", "limit", 100));
    ck_assert(json_equal(json_object_get(sc, "rows"), json_object_get(all, "rows")));

    /* Refused, each with -32602 naming the parameter. */
    expect_bad_param(c, "score.top", P("{s:s}", "order", "up"), "order");
    expect_bad_param(c, "score.top", P("{s:i}", "order", 1), "order");
    expect_bad_param(c, "score.top", P("{s:s,s:i}", "order", "rise", "epochs", 0), "epochs");
    expect_bad_param(c, "score.top", P("{s:s,s:i}", "order", "rise", "epochs", 8), "epochs");
    expect_bad_param(c, "score.top", P("{s:s,s:s}", "order", "rise", "epochs", "x"), "epochs");
    expect_bad_param(c, "score.top", P("{s:i}", "epochs", 1), "epochs");
    expect_bad_param(c, "score.top", P("{s:s,s:i}", "order", "rise", "epochs", (int)kept),
                     "epochs");
    expect_bad_param(c, "score.top", P("{s:i}", "min_confidence", 1001), "min_confidence");
    expect_bad_param(c, "score.top", P("{s:i}", "min_confidence", -1), "min_confidence");
    expect_bad_param(c, "score.top", P("{s:s}", "min_reviews", "many"), "min_reviews");
    expect_bad_param(c, "score.top", P("{s:I}", "min_reviews", (json_int_t)1 << 32), "min_reviews");
    expect_bad_param(c, "score.top", P("{s:s}", "platform", "myspace"), "platform");
    expect_bad_param(c, "score.top", P("{s:s,s:i}", "order", "rise", "limit", 101), "limit");
    rp_rpc_close(c);
    node_stop();
}
END_TEST

START_TEST(test_history)
{
    node_start();
    rp_rpc_client *c = cli();
    ident nobody;
    ident_gen(&nobody, RP_ROLE_TALENT, "Nobody");
    ck_assert_int_eq(call_err(c, "score.history", P("{s:s}", "identity", nobody.hex), NULL),
                     -32008);
    uint64_t e1, latest = build_market(c, &e1);
    size_t kept = latest < 8 ? (size_t)latest : 8;
    for (size_t i = 0; i <= NIDS; i++) {
        const char *who = i < NIDS ? all_ids[i]->hex : nobody.hex;
        json_t *h = call_ok(c, "score.history", P("{s:s}", "identity", who));
        ck_assert_str_eq(jstr(h, "identity"), who);
        ck_assert_int_eq(jint(h, "epochs"), (json_int_t)kept);
        json_t *rows = json_object_get(h, "rows");
        ck_assert_uint_eq(json_array_size(rows), kept);
        json_int_t present = 0;
        for (size_t k = 0; k < kept; k++) {
            json_t *r = json_array_get(rows, k);
            uint64_t ep = latest - k;
            ck_assert_uint_eq(ju64(r, "epoch"), ep); /* newest first */
            json_t *ref = ref_row(c, who, ep);
            int pr = json_is_true(json_object_get(r, "present"));
            ck_assert_int_eq(pr, json_is_true(json_object_get(ref, "present")));
            present += pr;
            static const char *const same[] = {"score", "confidence", "rating", "reviews"};
            for (size_t f = 0; f < 4; f++)
                ck_assert_int_eq(jint(r, same[f]), jint(ref, same[f]));
            ck_assert_str_eq(jstr(r, "trust"), jstr(ref, "trust"));
            ck_assert_str_eq(jstr(r, "commit_height"), jstr(ref, "commit_height"));
            json_t *ch = json_object_get(r, "change");
            json_t *older = k + 1 < kept ? json_array_get(rows, k + 1) : NULL;
            if (pr && older && json_is_true(json_object_get(older, "present")))
                ck_assert_int_eq(json_integer_value(ch), jint(r, "score") - jint(older, "score"));
            else
                ck_assert(json_is_null(ch));
        }
        ck_assert_int_eq(jint(h, "present"), present);
        if (i == NIDS)
            ck_assert_int_eq(present, 0); /* never registered */
        else if (all_ids[i] == &t4)
            ck_assert_int_eq(present, (json_int_t)(latest - t4_first + 1));
    }
    expect_bad_param(c, "score.history", P("{s:s}", "identity", "zz"), "identity");
    expect_bad_param(c, "score.history", P("{}"), "identity");
    expect_bad_param(c, "score.history", P("{s:s,s:i}", "identity", t1.hex, "epoch", 1), "epoch");
    rp_rpc_close(c);
    node_stop();
}
END_TEST

START_TEST(test_cli_top_and_history)
{
    if (!cli_bin[0] || access(cli_bin, X_OK) != 0) {
        fprintf(stderr, "test_cli_top_and_history: no repute-cli (RP_REPUTE_CLI): skipped\n");
        return;
    }
    node_start();
    rp_rpc_client *c = cli();
    uint64_t e1, latest = build_market(c, &e1);

    /* --json prints score.top's result as it came. */
    json_t *j = NULL;
    CLI_OK(&j, "--json", "top", "--role", "talent", "--rising", "--epochs", "2", "--min-reviews",
           "1", "--limit", "2");
    json_t *want = call_ok(c, "score.top",
                           P("{s:s,s:s,s:i,s:i,s:i}", "role", "talent", "order", "rise", "epochs",
                             2, "min_reviews", 1, "limit", 2));
    ck_assert_msg(json_equal(j, want), "repute-cli --json top differs:\n%s", cli_out);

    /* The table: a headline with the span, one line per row with its rise. */
    CLI_OK(NULL, "top", "--role", "talent", "--rising", "--epochs", "2", "--min-reviews", "1",
           "--limit", "1");
    char head[128];
    snprintf(head, sizeof head, "epoch %" PRIu64 ", rise since epoch %" PRIu64 ", ", latest,
             latest - 2);
    ck_assert_msg(strstr(cli_out, head) && strstr(cli_out, "talents matching"), "%s", cli_out);
    ck_assert_msg(strstr(cli_out, "rise") && strstr(cli_out, "was"), "%s", cli_out);
    json_t *top1 = json_array_get(json_object_get(want, "rows"), 0);
    char rise[16];
    snprintf(rise, sizeof rise, "%+lld", (long long)jint(top1, "rise"));
    ck_assert_msg(strstr(cli_out, rise) && strstr(cli_out, jstr(top1, "name")), "%s", cli_out);
    if (jint(want, "total") > 1)
        ck_assert_msg(strstr(cli_out, "more: repute-cli top --role talent --rising --epochs 2 "
                                      "--min-reviews 1 --limit 1 --offset 1"),
                      "%s", cli_out);
    /* Without --rising: no rise column. */
    CLI_OK(NULL, "top", "--min-confidence", "1");
    ck_assert_msg(strstr(cli_out, "identities matching") && !strstr(cli_out, "rise"), "%s",
                  cli_out);

    /* history: --json as it came, and the table with '-' where t4 had no row. */
    CLI_OK(&j, "--json", "history", t4.hex);
    ck_assert(json_equal(j, call_ok(c, "score.history", P("{s:s}", "identity", t4.hex))));
    CLI_OK(NULL, "history", t4.hex);
    ck_assert_msg(strstr(cli_out, "kept epochs") && strstr(cli_out, "change"), "%s", cli_out);
    ck_assert_msg(strstr(cli_out, " -"), "no '-' for the epoch without a row:\n%s", cli_out);

    /* Usage errors: exit status 2, nothing sent. */
    ck_assert_int_eq(cli_run(NULL, "top", "--epochs", "2", (const char *)NULL), 2);
    ck_assert_msg(strstr(cli_err, "--epochs goes with --rising"), "%s", cli_err);
    ck_assert_int_eq(cli_run(NULL, "top", "--rising", "--epochs", "9", (const char *)NULL), 2);
    ck_assert_int_eq(cli_run(NULL, "top", "--min-confidence", "1001", (const char *)NULL), 2);
    ck_assert_int_eq(cli_run(NULL, "top", "--min-reviews", "-1", (const char *)NULL), 2);
    ck_assert_int_eq(cli_run(NULL, "history", (const char *)NULL), 2);
    ck_assert_int_eq(cli_run(NULL, "history", "beef", (const char *)NULL), 2);
    /* The node's refusal: exit status 1 with its message. */
    ck_assert_int_eq(cli_run(NULL, "top", "--rising", "--epochs", "7", (const char *)NULL), 1);
    ck_assert_msg(strstr(cli_err, "epochs"), "%s", cli_err);
    /* Help. */
    CLI_OK(NULL, "top", "--help");
    ck_assert(strstr(cli_out, "--rising") && strstr(cli_out, "--min-confidence"));
    CLI_OK(NULL, "history", "--help");
    ck_assert(strstr(cli_out, "usage: repute-cli history IDENTITY"));
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* An AUDIENCE attestation by who about subject on a platform. */
static rp_record r_audience(ident *who, ident *subject, unsigned platform, uint32_t authentic_ppm)
{
    rp_record r = rbase(who, RP_REC_AUDIENCE);
    rp_audience_body *a = &r.body.audience;
    a->subject = subject->pk;
    a->platform = (uint8_t)platform;
    snprintf(a->handle, sizeof a->handle, "handle_%.8s", subject->hex);
    a->handle_len = (uint8_t)strlen(a->handle);
    a->followers = 120000;
    a->authentic_ppm = authentic_ppm;
    a->engagement_ppm = 35000;
    a->period_end = r.time - 60;
    a->period_start = a->period_end - 30 * 86400;
    a->expiry = r.time + 90 * 86400;
    rsign(&r, 0, &who->sk);
    return r;
}

/* score.top's audience filter: platform and min_authentic_ppm over the
 * epoch's trust-weighted figures. The pre-trusted anchor attests two
 * talents; an untrusted identity's 100% claim moves nothing. */
START_TEST(test_top_audience_filter)
{
    node_start();
    rp_rpc_client *c = cli();
    ident_anchor(&anchor);
    ident u;
    ident_gen(&t1, RP_ROLE_TALENT, "Real Reach");
    ident_gen(&t2, RP_ROLE_TALENT, "Bought Followers");
    ident_gen(&u, RP_ROLE_BRAND, "Fake Analytics");
    ident_gen(&t3, RP_ROLE_TALENT, "Third Reach");
    ident_gen(&t4, RP_ROLE_TALENT, "Fourth Reach");
    rp_record r[12];
    size_t n = 0;
    r[n++] = r_identity(&t1);
    r[n++] = r_identity(&t2);
    r[n++] = r_identity(&t3);
    r[n++] = r_identity(&t4);
    r[n++] = r_identity(&u);
    uint64_t h;
    (void)settle(c, r, n, &h);
    n = 0;
    r[n++] = r_audience(&anchor, &t1, RP_PLATFORM_INSTAGRAM, 950000);
    r[n++] = r_audience(&anchor, &t2, RP_PLATFORM_INSTAGRAM, 400000);
    r[n++] = r_audience(&u, &t2, RP_PLATFORM_INSTAGRAM, 1000000);
    r[n++] = r_audience(&anchor, &t3, RP_PLATFORM_INSTAGRAM, 700000);
    r[n++] = r_audience(&anchor, &t4, RP_PLATFORM_INSTAGRAM, 600000);
    r[n++] = r_audience(&u, &t4, RP_PLATFORM_TIKTOK, 1000000); /* no trust: no figure */
    (void)settle(c, r, n, &h);

    /* Whatever the order of identities and scores, every talent with a
     * figure is found, with its own figure. */
    json_t *res = call_ok(c, "score.top", P("{s:s}", "platform", "instagram"));
    ck_assert_int_eq(jint(res, "total"), 4);
    json_t *rows = json_object_get(res, "rows");
    for (size_t i = 0; i < 4; i++) {
        json_t *row = json_array_get(rows, i);
        const char *id = jstr(row, "identity");
        json_int_t want = !strcmp(id, t1.hex)   ? 950000
                          : !strcmp(id, t2.hex) ? 400000
                          : !strcmp(id, t3.hex) ? 700000
                                                : 600000;
        ck_assert_int_eq(jint(row, "authentic_ppm"), want);
    }
    res = call_ok(c, "score.top",
                  P("{s:s,s:i}", "platform", "instagram", "min_authentic_ppm", 900000));
    ck_assert_int_eq(jint(res, "total"), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(res, "rows"), 0), "identity"), t1.hex);
    res = call_ok(c, "score.top", P("{s:s,s:s}", "platform", "tiktok", "order", "score"));
    ck_assert_int_eq(jint(res, "total"), 0);
    expect_bad_param(c, "score.top", P("{s:s}", "platform", "vine"), "platform");
    expect_bad_param(c, "score.top", P("{s:i}", "min_authentic_ppm", 5), "min_authentic_ppm");
    expect_bad_param(c, "score.top", P("{s:s,s:i}", "platform", "x", "min_authentic_ppm", 1000001),
                     "min_authentic_ppm");
    rp_rpc_close(c);
    node_stop();
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, node_fixture_setup, node_fixture_teardown);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    const char *bin = getenv("RP_REPUTED");
    if (!bin || strlen(bin) >= sizeof reputed_bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "test_discovery: set RP_REPUTED to the built reputed binary (got %s)\n",
                bin ? bin : "nothing");
        return 1;
    }
    memcpy(reputed_bin, bin, strlen(bin) + 1);
    const char *cb = getenv("RP_REPUTE_CLI");
    if (cb && strlen(cb) < sizeof cli_bin)
        memcpy(cli_bin, cb, strlen(cb) + 1);
    if (rp_crypto_init() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    snprintf(base_dir, sizeof base_dir, "/tmp/rp-test-discovery-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("discovery");
    add(s, "top_filters_and_rise", test_top_filters_and_rise, 300);
    add(s, "top_audience_filter", test_top_audience_filter, 300);
    add(s, "history", test_history, 300);
    add(s, "cli_top_and_history", test_cli_top_and_history, 300);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_discovery: could not remove %s\n", base_dir);
    return failed ? 1 : 0;
}
