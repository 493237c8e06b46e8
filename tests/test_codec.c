/* Check suite for ledger/codec: the bounded writer and reader every repute
 * format is built from (integers, bounds, the sticky first error, UTF-8).
 * Split from test_records.c, which tests the record formats on top of it.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"

START_TEST(test_codec_integers)
{
    unsigned char buf[15];
    rp_writer w;
    size_t n;
    rp_writer_init(&w, buf, sizeof buf);
    rp_put_u8(&w, 0xAB);
    rp_put_u16(&w, 0x0102);
    rp_put_u32(&w, 0x03040506);
    rp_put_u64(&w, 0x0708090A0B0C0D0EULL);
    ck_assert_int_eq(rp_writer_finish(&w, &n), 0);
    ck_assert_uint_eq(n, 15);
    static const unsigned char want[15] = {0xAB, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    ck_assert_mem_eq(buf, want, 15);

    rp_reader r;
    rp_reader_init(&r, buf, n);
    ck_assert_uint_eq(rp_get_u8(&r, "a"), 0xAB);
    ck_assert_uint_eq(rp_get_u16(&r, "b"), 0x0102);
    ck_assert_uint_eq(rp_get_u32(&r, "c"), 0x03040506);
    ck_assert_uint_eq(rp_get_u64(&r, "d"), 0x0708090A0B0C0D0EULL);
    ck_assert_int_eq(rp_reader_finish(&r, NULL), 0);
}
END_TEST

START_TEST(test_codec_writer_bounds)
{
    unsigned char buf[4];
    rp_writer w;
    size_t n = 99;
    rp_writer_init(&w, buf, sizeof buf);
    rp_put_u32(&w, 1);
    rp_put_u8(&w, 2); /* one byte too many: the error sticks */
    rp_put_u8(&w, 3);
    ck_assert_int_eq(rp_writer_finish(&w, &n), RP_ERR_BUFFER);
    ck_assert_uint_eq(n, 0);

    /* Measuring with a NULL buffer. */
    rp_writer_init(&w, NULL, 0);
    rp_put_u64(&w, 1);
    rp_put_var(&w, (const unsigned char *)"abc", 3, 8);
    ck_assert_int_eq(rp_writer_finish(&w, &n), 0);
    ck_assert_uint_eq(n, 13);

    rp_writer_init(&w, NULL, 0);
    rp_put_var(&w, (const unsigned char *)"abcdef", 6, 5);
    ck_assert_int_eq(rp_writer_finish(&w, &n), RP_ERR_TOO_LONG);
}
END_TEST

START_TEST(test_codec_reader_sticky_error)
{
    static const unsigned char in[3] = {1, 2, 3};
    unsigned char out[8];
    const char *field;
    rp_reader r;
    rp_reader_init(&r, in, sizeof in);
    ck_assert_uint_eq(rp_get_u16(&r, "first"), 0x0102);
    ck_assert_uint_eq(rp_get_u32(&r, "second"), 0); /* truncated */
    memset(out, 0xFF, sizeof out);
    rp_get_bytes(&r, out, sizeof out, "third");
    for (size_t i = 0; i < sizeof out; i++)
        ck_assert_uint_eq(out[i], 0);
    ck_assert_uint_eq(rp_get_u8(&r, "fourth"), 0); /* no-op, though a byte remains */
    ck_assert_int_eq(rp_reader_finish(&r, &field), RP_ERR_TRUNCATED);
    ck_assert_str_eq(field, "second");

    /* A var-length field over its maximum fails before reading the bytes. */
    static const unsigned char var[5] = {0x00, 0x04, 'a', 'b', 'c'};
    rp_reader_init(&r, var, sizeof var);
    memset(out, 0xFF, sizeof out);
    ck_assert_uint_eq(rp_get_var(&r, out, 2, "name"), 0);
    ck_assert_int_eq(rp_reader_finish(&r, &field), RP_ERR_TOO_LONG);
    ck_assert_uint_eq(out[0] | out[1], 0);

    /* Length within max but beyond the input. */
    rp_reader_init(&r, var, sizeof var);
    ck_assert_uint_eq(rp_get_var(&r, out, 8, "name"), 0);
    ck_assert_int_eq(rp_reader_finish(&r, NULL), RP_ERR_TRUNCATED);

    /* Leftover bytes. */
    rp_reader_init(&r, in, sizeof in);
    (void)rp_get_u8(&r, "x");
    ck_assert_int_eq(rp_reader_finish(&r, &field), RP_ERR_TRAILING);
}
END_TEST

START_TEST(test_codec_utf8)
{
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"", 1},
        {"plain ascii", 1},
        {"Zo\xC3\xAB", 1},           /* U+00EB */
        {"\xED\x95\x9C", 1},         /* U+D55C */
        {"\xF0\x9F\x98\x80", 1},     /* U+1F600 */
        {"\xF4\x8F\xBF\xBF", 1},     /* U+10FFFF, the last */
        {"\xEF\xBF\xBF", 1},         /* U+FFFF is a noncharacter but valid */
        {"\x80", 0},                 /* lone continuation */
        {"\xC3", 0},                 /* truncated sequence */
        {"\xC0\xAF", 0},             /* overlong '/' */
        {"\xC1\xBF", 0},             /* overlong */
        {"\xE0\x80\xAF", 0},         /* overlong, 3 bytes */
        {"\xF0\x80\x80\xAF", 0},     /* overlong, 4 bytes */
        {"\xED\xA0\x80", 0},         /* surrogate U+D800 */
        {"\xED\xBF\xBF", 0},         /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", 0},     /* U+110000 */
        {"\xF8\x88\x80\x80\x80", 0}, /* 5-byte form */
        {"\xFF", 0},
        {"\xC3\x28", 0}, /* bad continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(rp_utf8_valid((const unsigned char *)cases[i].s, strlen(cases[i].s)) ==
                          cases[i].ok,
                      "utf8 case %zu", i);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_codec_integers);
    tcase_add_test(tc, test_codec_writer_bounds);
    tcase_add_test(tc, test_codec_reader_sticky_error);
    tcase_add_test(tc, test_codec_utf8);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(codec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
