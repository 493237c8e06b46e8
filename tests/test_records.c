/* Check suite for ledger/record: every record form's round trip (the
 * examples of record_examples.h), one test per rejection class, signatures
 * and ids, the proof-of-work stamp and the committed known-answer vectors
 * (tests/vectors/records.txt). EVIDENCE's and AUDIENCE's own rules are in
 * test_record_types.c. The codec underneath has its own suite
 * (test_codec.c).
 *
 * RP_WRITE_VECTORS=1 prints the known-answer lines instead of checking them;
 * use it only for a deliberate format change, and say so in the commit.
 * RP_TEST_SEED sets the seed of the randomized mutation test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/codec.h"
#include "ledger/evidence.h"
#include "ledger/record.h"
#include "record_examples.h"

/* ---- records: round trips and known answers -------------------------- */

START_TEST(test_record_roundtrip)
{
    rp_record r, back;
    unsigned char buf[RP_RECORD_MAX_SIZE], again[RP_RECORD_MAX_SIZE];
    build_example((size_t)_i, &r);
    size_t n = encode(&r, buf);
    ck_assert_int_eq(rp_record_decode(&back, buf, n, NULL), 0);
    ck_assert_int_eq(memcmp(&r, &back, sizeof r), 0);
    ck_assert_uint_eq(encode(&back, again), n);
    ck_assert_mem_eq(buf, again, n);
    ck_assert_uint_eq(rp_record_body_len(r.type, n) + 64 * rp_record_nsigs(r.type), n);
}
END_TEST

START_TEST(test_record_known_answers)
{
    const char *dir = getenv("RP_VECTORS");
    const int write = getenv("RP_WRITE_VECTORS") != NULL;
    char path[4096], line[2048];
    FILE *f = NULL;
    size_t matched = 0;

    if (!write) {
        ck_assert_msg(dir != NULL, "RP_VECTORS is not set");
        snprintf(path, sizeof path, "%s/records.txt", dir);
        f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
    }
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        rp_record r;
        rp_hash id;
        unsigned char buf[RP_RECORD_MAX_SIZE];
        char enc_hex[2 * RP_RECORD_MAX_SIZE + 1], id_hex[65];
        build_example(i, &r);
        size_t n = encode(&r, buf);
        ck_assert_int_eq(rp_record_id(&id, &chain_id, &r), 0);
        ck_assert_int_eq(rp_hex_encode(enc_hex, sizeof enc_hex, buf, n), 0);
        ck_assert_int_eq(rp_hex_encode(id_hex, sizeof id_hex, id.bytes, 32), 0);
        if (write) {
            printf("%s %s %s\n", example_names[i], id_hex, enc_hex);
            continue;
        }
        rewind(f);
        while (fgets(line, sizeof line, f)) {
            char name[64], want_id[128], want_enc[2 * RP_RECORD_MAX_SIZE + 2];
            if (line[0] == '#' ||
                sscanf(line, "%63s %127s %1025s", name, want_id, want_enc) != 3)
                continue;
            if (strcmp(name, example_names[i]) != 0)
                continue;
            ck_assert_msg(strcmp(want_enc, enc_hex) == 0, "%s: encoding changed:\n%s",
                          name, enc_hex);
            ck_assert_msg(strcmp(want_id, id_hex) == 0, "%s: id changed: %s", name, id_hex);
            matched++;
        }
    }
    if (!write) {
        fclose(f);
        ck_assert_uint_eq(matched, N_EXAMPLES);
    }
}
END_TEST

/* ---- records: one test per rejection class ---------------------------- */

START_TEST(test_reject_truncated)
{
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE];
    build_example((size_t)_i, &r);
    size_t n = encode(&r, buf);
    for (size_t len = 0; len < n; len++)
        expect_decode(buf, len, RP_ERR_TRUNCATED, NULL);
    expect_decode(NULL, 0, RP_ERR_TRUNCATED, "version");
}
END_TEST

START_TEST(test_reject_trailing)
{
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE + 1];
    build_example((size_t)_i, &r);
    size_t n = encode(&r, buf);
    buf[n] = 0;
    expect_decode(buf, n + 1, RP_ERR_TRAILING, "end");
}
END_TEST

START_TEST(test_reject_too_long)
{
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE + 64];
    build_example(0, &r);
    size_t n = encode(&r, buf);
    /* The name's length prefix sits right after the 50-byte header and role. */
    ck_assert_uint_eq(buf[51], 0);
    ck_assert_uint_eq(buf[52], r.body.identity.name_len);
    buf[52] = RP_NAME_MAX + 1;
    expect_decode(buf, n, RP_ERR_TOO_LONG, "name");
    buf[51] = 0xFF; /* a huge length is refused before anything is read */
    expect_decode(buf, n, RP_ERR_TOO_LONG, "name");
    /* Input longer than any record is refused outright. */
    memset(buf, 0, sizeof buf);
    expect_decode(buf, RP_RECORD_MAX_SIZE + 1, RP_ERR_TOO_LONG, "record");

    /* The encoder refuses an over-long name too. */
    r.body.identity.name_len = RP_NAME_MAX + 1;
    ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &n), RP_ERR_TOO_LONG);
}
END_TEST

START_TEST(test_reject_version_and_type)
{
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE];
    build_example(4, &r);
    size_t n = encode(&r, buf);
    static const unsigned char versions[] = {0, 2, 0xFF};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[0] = versions[i];
        expect_decode(buf, n, RP_ERR_BAD_VERSION, "version");
    }
    buf[0] = RP_RECORD_VERSION;
    static const unsigned char types[] = {0, 9, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof types; i++) {
        buf[1] = types[i];
        expect_decode(buf, n, RP_ERR_BAD_TYPE, "type");
    }
    ck_assert_uint_eq(rp_record_nsigs(0), 0);
    ck_assert_uint_eq(rp_record_nsigs(9), 0);
    ck_assert_str_eq(rp_record_type_name(9), "unknown");
    ck_assert_uint_eq(rp_record_nsigs(RP_REC_AUDIENCE), 1);
    ck_assert_str_eq(rp_record_type_name(RP_REC_AUDIENCE), "audience");
    ck_assert_uint_eq(rp_record_nsigs(RP_REC_EVIDENCE), 0);
    ck_assert_str_eq(rp_record_type_name(RP_REC_EVIDENCE), "evidence");
}
END_TEST

START_TEST(test_reject_bad_utf8)
{
    static const char *const bad[] = {"\xC0\xAF", "A\xED\xA0\x80", "\xF4\x90\x80\x80",
                                      "tab\there", "nul\x01", "del\x7F", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rp_record r;
        unsigned char buf[RP_RECORD_MAX_SIZE];
        size_t n;
        build_example(1, &r); /* an update: no stamp to recompute */
        rp_identity_body *b = &r.body.identity;
        ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &n), 0);
        /* Overwrite the name in place with a bad one of the same length
         * framing: rebuild the bytes by hand so the encoder's check is not in
         * the way. */
        size_t len = strlen(bad[i]);
        unsigned char raw[RP_RECORD_MAX_SIZE];
        size_t old = b->name_len;
        memcpy(raw, buf, 51);
        raw[51] = 0;
        raw[52] = (unsigned char)len;
        memcpy(raw + 53, bad[i], len);
        memcpy(raw + 53 + len, buf + 53 + old, n - 53 - old);
        expect_decode(raw, n - old + len, RP_ERR_BAD_UTF8, "name");

        /* And the encoder refuses the same name. */
        memcpy(b->name, bad[i], len + 1);
        b->name_len = (uint8_t)len;
        ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &n), RP_ERR_BAD_UTF8);
    }
}
END_TEST

/* Offsets of single-byte enum fields in the examples, and bad values. */
START_TEST(test_reject_out_of_range)
{
    static const struct {
        size_t example;
        size_t offset;
        unsigned char value;
        const char *field;
    } cases[] = {
        {1, 50, 0, "role"},         {1, 50, 4, "role"},
        {2, 82, 0, "kind"},         {2, 82, 6, "kind"},
        {3, 114, 0, "overall"},     {3, 114, 6, "overall"},
        {3, 115, 6, "dimension"},   {3, 118, 0xFF, "dimension"},
        {4, 82, 0, "relation"},     {4, 82, 4, "relation"},
        {5, 82, 0, "reason"},       {5, 82, 5, "reason"},
        {6, 114, 2, "auth"},        {6, 114, 0xFF, "auth"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rp_record r;
        unsigned char buf[RP_RECORD_MAX_SIZE];
        build_example(cases[i].example, &r);
        size_t n = encode(&r, buf);
        buf[cases[i].offset] = cases[i].value;
        expect_decode(buf, n, RP_ERR_RANGE, cases[i].field);
    }

    /* Sequence 0 does not exist. */
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE];
    build_example(4, &r);
    size_t n = encode(&r, buf);
    memset(buf + 34, 0, 8);
    expect_decode(buf, n, RP_ERR_RANGE, "sequence");

    /* An empty display name. */
    build_example(1, &r);
    r.body.identity.name_len = 0;
    r.body.identity.name[0] = '\0';
    ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &n), RP_ERR_RANGE);

    /* A recovery rotation must reveal a key. */
    build_example(7, &r);
    memset(r.body.rotate.recovery_key.bytes, 0, 32);
    ck_assert_int_eq(rp_record_check(&r, NULL), RP_ERR_RANGE);
}
END_TEST

START_TEST(test_reject_noncanonical)
{
    rp_record r;
    unsigned char buf[RP_RECORD_MAX_SIZE];
    /* A rotation by the current key carries no recovery key. */
    build_example(6, &r);
    size_t n = encode(&r, buf);
    buf[n - 64 - 1] = 1; /* last byte of recovery_key */
    expect_decode(buf, n, RP_ERR_NONCANONICAL, "recovery_key");

    /* The stamp belongs to registration only. */
    build_example(1, &r);
    n = encode(&r, buf);
    buf[n - 64 - 1] = 1; /* last byte of pow_nonce */
    expect_decode(buf, n, RP_ERR_NONCANONICAL, "pow_nonce");
}
END_TEST

/* Random single- and multi-byte mutations of valid records: decoding never
 * crashes, and whatever it accepts re-encodes to exactly the same bytes. */
START_TEST(test_mutations_are_canonical)
{
    unsigned long s = 12345;
    const char *env = getenv("RP_TEST_SEED");
    if (env)
        s = strtoul(env, NULL, 10);
    fprintf(stderr, "test_mutations_are_canonical: RP_TEST_SEED=%lu\n", s);
    srand((unsigned)s);
    size_t accepted = 0;
    rp_record evidence;
    build_evidence(&evidence);
    for (int iter = 0; iter < 20000; iter++) {
        rp_record r, back;
        unsigned char buf[RP_RECORD_MAX_SIZE + 8], again[RP_RECORD_MAX_SIZE];
        if ((size_t)iter % (N_EXAMPLES + 1) == N_EXAMPLES)
            r = evidence;
        else
            build_example((size_t)iter % (N_EXAMPLES + 1), &r);
        size_t n = encode(&r, buf);
        int flips = 1 + rand() % 3;
        for (int k = 0; k < flips; k++)
            buf[(size_t)rand() % n] ^= (unsigned char)(1 + rand() % 255);
        if (rand() % 8 == 0)
            n = (size_t)rand() % (n + 8);
        if (rp_record_decode(&back, buf, n, NULL) == 0) {
            accepted++;
            size_t m = encode(&back, again);
            ck_assert_uint_eq(m, n);
            ck_assert_mem_eq(again, buf, n);
        }
    }
    /* Most mutations hit keys, hashes and signatures, which decode fine. */
    ck_assert_uint_gt(accepted, 0);
}
END_TEST

/* ---- signatures and ids ---------------------------------------------- */

START_TEST(test_sign_verify_each_type)
{
    rp_record r;
    rp_pubkey keys[RP_RECORD_MAX_SIGS];
    build_example((size_t)_i, &r);
    size_t n = rp_record_default_signers(&r, keys);
    ck_assert_uint_eq(n, rp_record_nsigs(r.type));
    ck_assert_int_eq(rp_record_verify(&r, &chain_id, keys, n), 1);
    /* Wrong count of keys. */
    ck_assert_int_eq(rp_record_verify(&r, &chain_id, keys, n - 1), 0);

    /* Another chain: the same bytes are not valid there (no replay). */
    rp_hash other = chain_id;
    other.bytes[0] ^= 1;
    ck_assert_int_eq(rp_record_verify(&r, &other, keys, n), 0);

    /* Any change to the body or a signature breaks it. */
    rp_record t = r;
    t.time++;
    ck_assert_int_eq(rp_record_verify(&t, &chain_id, keys, n), 0);
    for (size_t s = 0; s < n; s++) {
        t = r;
        t.sigs[s].bytes[7] ^= 0x10;
        ck_assert_int_eq(rp_record_verify(&t, &chain_id, keys, n), 0);
    }
    /* Signed by someone else. */
    rp_pubkey wrong[RP_RECORD_MAX_SIGS];
    memcpy(wrong, keys, sizeof wrong);
    rp_seckey sk;
    key(9, &sk, &wrong[n - 1]);
    ck_assert_int_eq(rp_record_verify(&r, &chain_id, wrong, n), 0);
}
END_TEST

START_TEST(test_engagement_needs_both)
{
    rp_record r;
    rp_pubkey keys[RP_RECORD_MAX_SIGS];
    build_example(2, &r);
    size_t n = rp_record_default_signers(&r, keys);
    ck_assert_uint_eq(n, 2);
    rp_record one = r;
    memset(one.sigs[1].bytes, 0, 64);
    ck_assert_int_eq(rp_record_verify(&one, &chain_id, keys, 2), 0);
    /* Swapped signatures are not valid either. */
    rp_record swapped = r;
    swapped.sigs[0] = r.sigs[1];
    swapped.sigs[1] = r.sigs[0];
    ck_assert_int_eq(rp_record_verify(&swapped, &chain_id, keys, 2), 0);
    /* There is no third slot. */
    rp_seckey sk;
    rp_pubkey pk;
    unsigned char aux[32] = {0};
    key(0, &sk, &pk);
    ck_assert_int_eq(rp_record_sign(&r, 2, &chain_id, &sk, aux), RP_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_id_excludes_signatures)
{
    rp_record a, b;
    rp_hash ida, idb;
    build_example(4, &a);
    b = a;
    sign_slot(&b, 0, 1, 999); /* other aux randomness: other signature bytes */
    ck_assert_int_ne(memcmp(a.sigs[0].bytes, b.sigs[0].bytes, 64), 0);
    ck_assert_int_eq(rp_record_id(&ida, &chain_id, &a), 0);
    ck_assert_int_eq(rp_record_id(&idb, &chain_id, &b), 0);
    ck_assert(rp_hash_eq(&ida, &idb));

    /* The id from the encoded body equals the id of the struct. */
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t n = encode(&a, buf);
    rp_record_id_from_body(&idb, &chain_id, buf, rp_record_body_len(a.type, n));
    ck_assert(rp_hash_eq(&ida, &idb));
}
END_TEST

/* ---- proof of work ---------------------------------------------------- */

START_TEST(test_pow_smallest_nonce)
{
    rp_record r;
    build_example(0, &r);
    const unsigned difficulty = 8;
    uint64_t found = r.body.identity.pow_nonce;
    ck_assert(rp_identity_pow_ok(&chain_id, &r, difficulty));
    /* Every smaller nonce fails: the search returned the smallest. */
    for (uint64_t k = 0; k < found; k++) {
        rp_record t = r;
        t.body.identity.pow_nonce = k;
        ck_assert(!rp_identity_pow_ok(&chain_id, &t, difficulty));
    }
    /* Reproducible. */
    rp_record again = r;
    again.body.identity.pow_nonce = 777;
    ck_assert_int_eq(rp_identity_pow_solve(&again, &chain_id, difficulty, 1u << 20), 0);
    ck_assert_uint_eq(again.body.identity.pow_nonce, found);
    /* The hash really has that many leading zeros, and the solver's shortcut
     * agrees with the plain definition. */
    rp_hash h;
    ck_assert_int_eq(rp_identity_pow_hash(&h, &chain_id, &r), 0);
    ck_assert_uint_ge(rp_hash_leading_zeros(&h), difficulty);
    /* Difficulty 0 is met by nonce 0. */
    ck_assert_int_eq(rp_identity_pow_solve(&again, &chain_id, 0, 1), 0);
    ck_assert_uint_eq(again.body.identity.pow_nonce, 0);
}
END_TEST

START_TEST(test_pow_refusals)
{
    rp_record r;
    build_example(0, &r);
    /* The stamp is bound to the chain and to the body. */
    rp_hash other = chain_id;
    other.bytes[31] ^= 1;
    rp_record t = r;
    t.time++;
    int bound = !rp_identity_pow_ok(&other, &r, 8) || !rp_identity_pow_ok(&chain_id, &t, 8);
    ck_assert(bound);
    /* Not found within the allowed tries. */
    ck_assert_int_eq(rp_identity_pow_solve(&r, &chain_id, 64, 100), RP_ERR_POW);
    ck_assert_int_eq(rp_identity_pow_solve(&r, &chain_id, RP_POW_MAX_DIFFICULTY + 1, 1),
                     RP_ERR_INVALID_ARG);
    /* Only registrations carry a stamp; other types have none. */
    build_example(1, &r);
    ck_assert_int_eq(rp_identity_pow_solve(&r, &chain_id, 4, 1000), RP_ERR_INVALID_ARG);
    build_example(4, &r);
    ck_assert(!rp_identity_pow_ok(&chain_id, &r, 0));

    rp_hash h;
    memset(h.bytes, 0, 32);
    ck_assert_uint_eq(rp_hash_leading_zeros(&h), 256);
    h.bytes[1] = 0x10;
    ck_assert_uint_eq(rp_hash_leading_zeros(&h), 11);
}
END_TEST

static Suite *records_suite(void)
{
    Suite *s = suite_create("records");
    TCase *tc;

    tc = tcase_create("roundtrip");
    tcase_add_loop_test(tc, test_record_roundtrip, 0, N_EXAMPLES);
    tcase_add_test(tc, test_record_known_answers);
    suite_add_tcase(s, tc);

    tc = tcase_create("reject");
    tcase_add_loop_test(tc, test_reject_truncated, 0, N_EXAMPLES);
    tcase_add_loop_test(tc, test_reject_trailing, 0, N_EXAMPLES);
    tcase_add_test(tc, test_reject_too_long);
    tcase_add_test(tc, test_reject_version_and_type);
    tcase_add_test(tc, test_reject_bad_utf8);
    tcase_add_test(tc, test_reject_out_of_range);
    tcase_add_test(tc, test_reject_noncanonical);
    tcase_add_test(tc, test_mutations_are_canonical);
    suite_add_tcase(s, tc);

    tc = tcase_create("signatures");
    tcase_add_loop_test(tc, test_sign_verify_each_type, 0, N_EXAMPLES);
    tcase_add_test(tc, test_engagement_needs_both);
    tcase_add_test(tc, test_id_excludes_signatures);
    suite_add_tcase(s, tc);

    tc = tcase_create("pow");
    tcase_add_test(tc, test_pow_smallest_nonce);
    tcase_add_test(tc, test_pow_refusals);
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
    SRunner *sr = srunner_create(records_suite());
    if (getenv("RP_WRITE_VECTORS")) {
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run(sr, "records", "roundtrip", CK_SILENT);
        srunner_free(sr);
        return 0;
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
