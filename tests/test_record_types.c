/* Check suite for the two record types whose bodies carry more than plain
 * fields: EVIDENCE (two vote signatures as the proof: codec, verification,
 * builder, every refusal, its known-answer line) and AUDIENCE (the
 * registered platforms, the handle rule, the ppm ranges and the period and
 * expiry order, byte by byte as docs/records.md has them). Split from
 * test_records.c, whose examples (record_examples.h) it shares.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/evidence.h"
#include "ledger/record.h"
#include "record_examples.h"

/* ---- EVIDENCE ------------------------------------------------------------ */

/* Round trip, layout, id and the known-answer line "evidence". */
START_TEST(test_evidence_roundtrip_and_vector)
{
    rp_record r, back;
    rp_hash id;
    unsigned char buf[RP_RECORD_MAX_SIZE], again[RP_RECORD_MAX_SIZE];
    char enc_hex[2 * RP_RECORD_MAX_SIZE + 1], id_hex[65], line[2048];
    build_evidence(&r);
    size_t n = encode(&r, buf);
    ck_assert_uint_eq(n, 255); /* the largest record */
    ck_assert_uint_eq(buf[1], RP_REC_EVIDENCE);
    ck_assert_uint_eq(buf[50], RP_VOTE_PRECOMMIT);
    static const unsigned char zero[32];
    ck_assert_mem_eq(buf + 63, zero, 32); /* hash_a: nil, the smaller */
    ck_assert_int_eq(rp_record_decode(&back, buf, n, NULL), 0);
    ck_assert_int_eq(memcmp(&r, &back, sizeof r), 0);
    ck_assert_uint_eq(encode(&back, again), n);
    ck_assert_mem_eq(buf, again, n);
    ck_assert_uint_eq(rp_record_body_len(r.type, n), n); /* no record signature */

    /* The id covers everything, the vote signatures included. */
    rp_hash from_body;
    ck_assert_int_eq(rp_record_id(&id, &chain_id, &r), 0);
    rp_record_id_from_body(&from_body, &chain_id, buf, n);
    ck_assert(rp_hash_eq(&id, &from_body));

    ck_assert_int_eq(rp_hex_encode(enc_hex, sizeof enc_hex, buf, n), 0);
    ck_assert_int_eq(rp_hex_encode(id_hex, sizeof id_hex, id.bytes, 32), 0);
    if (getenv("RP_WRITE_VECTORS")) {
        printf("evidence %s %s\n", id_hex, enc_hex);
        return;
    }
    const char *dir = getenv("RP_VECTORS");
    char path[4096];
    ck_assert_msg(dir != NULL, "RP_VECTORS is not set");
    snprintf(path, sizeof path, "%s/records.txt", dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int matched = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64], want_id[128], want_enc[2 * RP_RECORD_MAX_SIZE + 2];
        if (line[0] == '#' || sscanf(line, "%63s %127s %1025s", name, want_id, want_enc) != 3 ||
            strcmp(name, "evidence") != 0)
            continue;
        ck_assert_msg(strcmp(want_enc, enc_hex) == 0, "evidence: encoding changed:\n%s", enc_hex);
        ck_assert_msg(strcmp(want_id, id_hex) == 0, "evidence: id changed: %s", id_hex);
        matched++;
    }
    fclose(f);
    ck_assert_int_eq(matched, 1);
}
END_TEST

/* The two vote signatures are the proof: rp_record_verify checks them
 * against the issuer, with no record keys. */
START_TEST(test_evidence_verify)
{
    rp_record r, t;
    rp_pubkey keys[RP_RECORD_MAX_SIGS];
    build_evidence(&r);
    ck_assert_uint_eq(rp_record_default_signers(&r, keys), 0);
    ck_assert_int_eq(rp_record_verify(&r, &chain_id, keys, 0), 1);
    ck_assert_int_eq(rp_record_verify(&r, &chain_id, keys, 1), 0);
    rp_hash other = chain_id;
    other.bytes[0] ^= 1;
    ck_assert_int_eq(rp_record_verify(&r, &other, keys, 0), 0);
    t = r;
    t.body.evidence.sig_a.bytes[9] ^= 1;
    ck_assert_int_eq(rp_record_verify(&t, &chain_id, keys, 0), 0);
    t = r;
    t.body.evidence.sig_b.bytes[9] ^= 1;
    ck_assert_int_eq(rp_record_verify(&t, &chain_id, keys, 0), 0);
    t = r;
    t.body.evidence.round++;
    ck_assert_int_eq(rp_record_verify(&t, &chain_id, keys, 0), 0);
    /* Not someone else's votes. */
    rp_seckey sk;
    t = r;
    key(5, &sk, &t.issuer);
    ck_assert_int_eq(rp_record_verify(&t, &chain_id, keys, 0), 0);
    /* No slot to sign. */
    unsigned char aux[32] = {0};
    ck_assert_int_eq(rp_record_sign(&r, 0, &chain_id, &sk, aux), RP_ERR_INVALID_ARG);
    rp_hash msgs[2];
    rp_record ex;
    build_example(4, &ex);
    ck_assert_int_eq(rp_evidence_vote_messages(msgs, &chain_id, &ex), RP_ERR_BAD_TYPE);
}
END_TEST

/* Every refusal of the decoder, and the encoder's and builder's mirror. */
START_TEST(test_evidence_refusals)
{
    rp_record r, t;
    unsigned char buf[RP_RECORD_MAX_SIZE + 1], raw[RP_RECORD_MAX_SIZE];
    size_t n, len;
    build_evidence(&r);
    n = encode(&r, buf);

    for (size_t l = 0; l < n; l++)
        expect_decode(buf, l, RP_ERR_TRUNCATED, NULL);
    buf[n] = 0;
    expect_decode(buf, n + 1, RP_ERR_TRAILING, "end");

    static const struct {
        size_t offset;
        unsigned char value;
        int code;
        const char *field;
    } cases[] = {
        {41, 1, RP_ERR_NONCANONICAL, "sequence"}, /* sequence must be 0 */
        {34, 0x80, RP_ERR_NONCANONICAL, "sequence"},
        {49, 1, RP_ERR_NONCANONICAL, "time"}, /* time must be 0 */
        {50, 0, RP_ERR_RANGE, "vote_type"},
        {50, 3, RP_ERR_RANGE, "vote_type"},
        {50, 0xFF, RP_ERR_RANGE, "vote_type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(raw, buf, n);
        raw[cases[i].offset] = cases[i].value;
        expect_decode(raw, n, cases[i].code, cases[i].field);
    }
    /* Height 0 (bytes 51..58; 41 = 0x29 is the last). */
    memcpy(raw, buf, n);
    raw[58] = 0;
    expect_decode(raw, n, RP_ERR_RANGE, "height");
    /* Swapped votes: b before a. */
    memcpy(raw, buf, 63);
    memcpy(raw + 63, buf + 63 + 96, 96);
    memcpy(raw + 63 + 96, buf + 63, 96);
    expect_decode(raw, n, RP_ERR_NONCANONICAL, "block_hash_b");
    /* Equal hashes: no conflict. */
    memcpy(raw, buf, n);
    memcpy(raw + 63 + 96, raw + 63, 32);
    expect_decode(raw, n, RP_ERR_NONCANONICAL, "block_hash_b");

    /* The encoder refuses the same. */
    t = r, t.seq = 1;
    ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &len), RP_ERR_NONCANONICAL);
    ck_assert_uint_eq(len, 0);
    t = r, t.time = 1790000000;
    ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &len), RP_ERR_NONCANONICAL);
    t = r, t.body.evidence.vote_type = 0;
    ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &len), RP_ERR_RANGE);
    t = r, t.body.evidence.height = 0;
    ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &len), RP_ERR_RANGE);
    t = r, t.body.evidence.hash_b = r.body.evidence.hash_a;
    ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &len), RP_ERR_NONCANONICAL);
    t = r, t.body.evidence.hash_a = r.body.evidence.hash_b;
    t.body.evidence.hash_b = r.body.evidence.hash_a;
    ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &len), RP_ERR_NONCANONICAL);
}
END_TEST

/* rp_evidence_record orders the votes itself, and refuses what the decoder
 * would. */
START_TEST(test_evidence_builder)
{
    rp_record r;
    unsigned char ab[RP_RECORD_MAX_SIZE], ba[RP_RECORD_MAX_SIZE], want[RP_RECORD_MAX_SIZE];
    size_t nab, nba;
    build_evidence(&r);
    size_t n = encode(&r, want);
    const rp_evidence_body *b = &r.body.evidence;
    ck_assert_int_eq(rp_evidence_record(ab, &nab, &r.issuer, b->vote_type, b->height, b->round,
                                        &b->hash_a, &b->sig_a, &b->hash_b, &b->sig_b),
                     0);
    ck_assert_int_eq(rp_evidence_record(ba, &nba, &r.issuer, b->vote_type, b->height, b->round,
                                        &b->hash_b, &b->sig_b, &b->hash_a, &b->sig_a),
                     0);
    ck_assert_uint_eq(nab, n);
    ck_assert_uint_eq(nba, n);
    ck_assert_mem_eq(ab, want, n);
    ck_assert_mem_eq(ba, want, n);

    ck_assert_int_eq(rp_evidence_record(ab, &nab, &r.issuer, b->vote_type, b->height, b->round,
                                        &b->hash_a, &b->sig_a, &b->hash_a, &b->sig_b),
                     RP_ERR_NONCANONICAL);
    ck_assert_uint_eq(nab, 0);
    ck_assert_int_eq(rp_evidence_record(ab, &nab, &r.issuer, 3, b->height, b->round, &b->hash_a,
                                        &b->sig_a, &b->hash_b, &b->sig_b),
                     RP_ERR_RANGE);
    ck_assert_int_eq(rp_evidence_record(ab, &nab, &r.issuer, RP_VOTE_PREVOTE, 0, b->round,
                                        &b->hash_a, &b->sig_a, &b->hash_b, &b->sig_b),
                     RP_ERR_RANGE);
    ck_assert_uint_eq(nab, 0);
}
END_TEST

/* ---- AUDIENCE ------------------------------------------------------------ */

/* The layout of the worked example, byte by byte as docs/records.md has it. */
START_TEST(test_audience_layout)
{
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE];
    build_example(EX_AUDIENCE, &r);
    size_t n = encode(&r, buf);
    ck_assert_uint_eq(n, 206);
    ck_assert_uint_eq(buf[1], RP_REC_AUDIENCE);
    ck_assert_mem_eq(buf + 50, r.body.audience.subject.bytes, 32);
    ck_assert_mem_eq(buf + 82, "\x00\x06tiktok", 8);
    ck_assert_mem_eq(buf + 90, "\x00\x0azoe.okafor", 12);
    ck_assert_mem_eq(buf + 102, "\x00\x00\x00\x00\x00\x02\xc8\x80", 8); /* 182400 */
    ck_assert_mem_eq(buf + 110, "\x00\x0d\x56\x10", 4);                 /* 874000 */
    ck_assert_mem_eq(buf + 114, "\x00\x00\xf0\x3c", 4);                 /* 61500 */
    ck_assert_uint_eq(rp_record_body_len(RP_REC_AUDIENCE, n), 142);

    /* The largest AUDIENCE record: the longest platform name and handle. */
    r.body.audience.platform = RP_PLATFORM_INSTAGRAM;
    memset(r.body.audience.handle, 'a', RP_HANDLE_MAX);
    r.body.audience.handle[RP_HANDLE_MAX] = '\0';
    r.body.audience.handle_len = RP_HANDLE_MAX;
    ck_assert_uint_eq(encode(&r, buf), 263);

    for (unsigned p = 1; p <= RP_PLATFORM_MAX; p++) {
        const char *name = rp_platform_name(p);
        ck_assert_uint_eq(rp_platform_code(name, strlen(name)), p);
    }
    ck_assert_ptr_null(rp_platform_name(0));
    ck_assert_ptr_null(rp_platform_name(RP_PLATFORM_MAX + 1));
    ck_assert_uint_eq(rp_platform_code("TikTok", 6), 0);
    ck_assert_uint_eq(rp_platform_code("tiktok ", 7), 0);
    ck_assert_uint_eq(rp_platform_code("", 0), 0);
}
END_TEST

/* Every field's refusal, in the decoder (bytes) and the encoder (struct),
 * and the boundaries that are accepted. */
START_TEST(test_audience_refusals)
{
    rp_record r, t;
    unsigned char buf[RP_RECORD_MAX_SIZE], bad[RP_RECORD_MAX_SIZE + 8];
    build_example(EX_AUDIENCE, &r);
    size_t n = encode(&r, buf);

    /* Platform names outside the registered set, and their case. */
    memcpy(bad, buf, n);
    memcpy(bad + 84, "tiktak", 6);
    expect_decode(bad, n, RP_ERR_RANGE, "platform");
    memcpy(bad + 84, "TikTok", 6);
    expect_decode(bad, n, RP_ERR_RANGE, "platform");
    memcpy(bad, buf, n);
    bad[83] = 17; /* longer than any name may be */
    expect_decode(bad, n, RP_ERR_TOO_LONG, "platform");
    /* Handles: a character outside the set, empty, too long. */
    memcpy(bad, buf, n);
    bad[92] = '@';
    expect_decode(bad, n, RP_ERR_RANGE, "handle");
    bad[92] = 0xC3; /* UTF-8 is not allowed either */
    expect_decode(bad, n, RP_ERR_RANGE, "handle");
    memcpy(bad, buf, n);
    bad[91] = RP_HANDLE_MAX + 1;
    expect_decode(bad, n, RP_ERR_TOO_LONG, "handle");
    /* Percentages above 100%. */
    memcpy(bad, buf, n);
    memcpy(bad + 110, "\x00\x0f\x42\x41", 4); /* 1000001 */
    expect_decode(bad, n, RP_ERR_RANGE, "authentic_ppm");
    memcpy(bad, buf, n);
    memcpy(bad + 114, "\x00\x0f\x42\x41", 4);
    expect_decode(bad, n, RP_ERR_RANGE, "engagement_ppm");

    static const struct {
        int field; /* 0 start, 1 end, 2 expiry, 3 platform, 4 handle_len, 5 handle[0] */
        uint64_t value;
        int code;
        const char *name;
    } cases[] = {
        {0, 1789920000, RP_ERR_RANGE, "period_end"}, /* start == end */
        {0, 1789920001, RP_ERR_RANGE, "period_end"}, /* start > end */
        {1, 1790000001, RP_ERR_RANGE, "period_end"}, /* a period ending after the record */
        {2, 1790000000, RP_ERR_RANGE, "expiry"},     /* expiry == time */
        {2, 1789999999, RP_ERR_RANGE, "expiry"},
        {3, 0, RP_ERR_RANGE, "platform"},
        {3, RP_PLATFORM_MAX + 1, RP_ERR_RANGE, "platform"},
        {4, 0, RP_ERR_RANGE, "handle"},
        {4, RP_HANDLE_MAX + 1, RP_ERR_TOO_LONG, "handle"},
        {5, ' ', RP_ERR_RANGE, "handle"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *field = NULL;
        t = r;
        rp_audience_body *b = &t.body.audience;
        switch (cases[i].field) {
        case 0:
            b->period_start = cases[i].value;
            break;
        case 1:
            b->period_end = cases[i].value;
            break;
        case 2:
            b->expiry = cases[i].value;
            break;
        case 3:
            b->platform = (uint8_t)cases[i].value;
            break;
        case 4:
            b->handle_len = (uint8_t)cases[i].value;
            break;
        default:
            b->handle[0] = (char)cases[i].value;
            break;
        }
        ck_assert_int_eq(rp_record_check(&t, &field), cases[i].code);
        ck_assert_str_eq(field, cases[i].name);
        ck_assert_int_eq(rp_record_encode(&t, buf, sizeof buf, &n), cases[i].code);
    }

    /* The boundaries themselves are fine. */
    t = r;
    t.body.audience.authentic_ppm = RP_PPM;
    t.body.audience.engagement_ppm = 0;
    t.body.audience.period_start = 0;
    t.body.audience.period_end = t.time;
    t.body.audience.expiry = t.time + 1;
    t.body.audience.followers = UINT64_MAX;
    t.body.audience.platform = RP_PLATFORM_X;
    strcpy(t.body.audience.handle, "A-b_c.9");
    t.body.audience.handle_len = 7;
    ck_assert_int_eq(rp_record_check(&t, NULL), 0);
    n = encode(&t, buf);
    expect_decode(buf, n, 0, NULL);
}
END_TEST

static Suite *types_suite(void)
{
    Suite *s = suite_create("record-types");
    TCase *tc = tcase_create("evidence");
    tcase_add_test(tc, test_evidence_roundtrip_and_vector);
    tcase_add_test(tc, test_evidence_verify);
    tcase_add_test(tc, test_evidence_refusals);
    tcase_add_test(tc, test_evidence_builder);
    suite_add_tcase(s, tc);

    tc = tcase_create("audience");
    tcase_add_test(tc, test_audience_layout);
    tcase_add_test(tc, test_audience_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "rp_crypto_init failed\n");
        return 1;
    }
    setup_globals();
    SRunner *sr = srunner_create(types_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
