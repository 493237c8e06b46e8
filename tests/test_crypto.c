/* Check suite for crypto/: hex, SHA-256 and tagged hashes, BIP-340 keys and
 * signatures (including every row of the official test vectors, read from
 * $RP_VECTORS/bip340-test-vectors.csv), batch verification over ranges, key
 * files on disk and rp_strerror. Refusals are tested as carefully as the
 * happy paths: every test that expects a failure also checks that the outputs
 * were zeroed.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/keyfile.h"
#include "crypto/sig.h"

/* ---- helpers ---------------------------------------------------------- */

static void unhex(unsigned char *out, size_t outlen, const char *hex)
{
    ck_assert_int_eq(rp_hex_decode(out, outlen, hex, strlen(hex)), 0);
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static int contains(const unsigned char *hay, size_t haylen, const unsigned char *needle,
                    size_t len)
{
    for (size_t i = 0; i + len <= haylen; i++)
        if (memcmp(hay + i, needle, len) == 0)
            return 1;
    return 0;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xFFU);
        v >>= 8;
    }
}

static const unsigned char test_seed[32] = {
    0x52, 0x45, 0x50, 0x55, 0x54, 0x45, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x73, 0x65, 0x65, 0x64,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* The secp256k1 group order n and field size p. */
static const char *const ORDER_N =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
static const char *const FIELD_P =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F";

static void test_key(size_t i, rp_seckey *sk, rp_pubkey *pk)
{
    ck_assert_int_eq(rp_seckey_from_seed(sk, test_seed, i), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, sk), 0);
}

/* ---- hex -------------------------------------------------------------- */

START_TEST(test_hex_roundtrip)
{
    static const unsigned char known[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    unsigned char in[64], back[64];
    char hex[2 * sizeof in + 1];
    size_t n;

    ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, known, sizeof known), 0);
    ck_assert_str_eq(hex, "00017f80abcdefff");

    ck_assert_int_eq(rp_hex_encode(hex, 1, NULL, 0), 0);
    ck_assert_str_eq(hex, "");

    for (size_t len = 0; len <= sizeof in; len++) {
        randombytes_buf(in, sizeof in);
        ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, in, len), 0);
        ck_assert_uint_eq(strlen(hex), 2 * len);
        for (size_t i = 0; i < 2 * len; i++)
            ck_assert(strchr("0123456789abcdef", hex[i]) != NULL);
        memset(back, 0xAA, sizeof back);
        ck_assert_int_eq(rp_hex_decode(back, len, hex, 2 * len), 0);
        ck_assert_mem_eq(back, in, len);
        memset(back, 0xAA, sizeof back);
        ck_assert_int_eq(rp_hex_decode_var(back, sizeof back, &n, hex, 2 * len), 0);
        ck_assert_uint_eq(n, len);
        ck_assert_mem_eq(back, in, len);
    }
}
END_TEST

START_TEST(test_hex_uppercase)
{
    static const unsigned char want[] = {0xab, 0xcd, 0xef, 0x09, 0xaf};
    unsigned char out[5];
    size_t n;

    ck_assert_int_eq(rp_hex_decode(out, sizeof out, "ABCDEF09AF", 10), 0);
    ck_assert_mem_eq(out, want, sizeof want);
    ck_assert_int_eq(rp_hex_decode(out, sizeof out, "aBcDeF09aF", 10), 0);
    ck_assert_mem_eq(out, want, sizeof want);
    ck_assert_int_eq(rp_hex_decode_var(out, sizeof out, &n, "ABCDEF09AF", 10), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(out, want, sizeof want);
}
END_TEST

/* Every byte value in either position of a digit pair: accepted exactly when
 * it is [0-9a-fA-F], with the right value. Exercises the branch-free decoder
 * at every boundary ('/', ':', '@', 'G', '`', 'g', 0x80...). */
START_TEST(test_hex_every_char)
{
    for (unsigned c = 0; c < 256; c++) {
        int want_ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        unsigned want_val = c <= '9' ? c - '0' : (c | 32U) - 'a' + 10;
        char pair[2];
        unsigned char out;

        pair[0] = (char)c;
        pair[1] = '0';
        out = 0x55;
        int rc = rp_hex_decode(&out, 1, pair, 2);
        if (want_ok) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(out, want_val << 4);
        } else {
            ck_assert_int_eq(rc, RP_ERR_BAD_HEX);
            ck_assert_uint_eq(out, 0);
        }
        pair[0] = '0';
        pair[1] = (char)c;
        out = 0x55;
        rc = rp_hex_decode(&out, 1, pair, 2);
        if (want_ok) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(out, want_val);
        } else {
            ck_assert_int_eq(rc, RP_ERR_BAD_HEX);
            ck_assert_uint_eq(out, 0);
        }
    }
}
END_TEST

START_TEST(test_hex_rejects)
{
    static const char *const bad[] = {
        "0x0102", "01 2", " 0102", "0102 ", "01g2", "01-2", "+102", "01\n2", "0102\xff\xfe",
    };
    unsigned char out[8];
    size_t n;

    /* Non-hex characters, in either function; output zeroed. */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i]);
        if (len % 2 == 0) {
            memset(out, 0xAA, sizeof out);
            ck_assert_int_eq(rp_hex_decode(out, len / 2, bad[i], len), RP_ERR_BAD_HEX);
            ck_assert(all_zero(out, len / 2));
        }
        memset(out, 0xAA, sizeof out);
        n = 99;
        ck_assert_int_eq(rp_hex_decode_var(out, sizeof out, &n, bad[i], len), RP_ERR_BAD_HEX);
        ck_assert(all_zero(out, sizeof out));
        ck_assert_uint_eq(n, 0);
    }

    /* An embedded NUL is not a digit either. */
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_hex_decode(out, 2, "01\0002", 4), RP_ERR_BAD_HEX);
    ck_assert(all_zero(out, 2));

    /* Odd digit counts. */
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_hex_decode_var(out, sizeof out, &n, "abc", 3), RP_ERR_BAD_HEX);
    ck_assert(all_zero(out, sizeof out));
    ck_assert_uint_eq(n, 0);
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_hex_decode(out, 2, "abc", 3), RP_ERR_BAD_HEX);
    ck_assert(all_zero(out, 2));

    /* Fixed length: too few and too many digits. */
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_hex_decode(out, 4, "010203", 6), RP_ERR_BAD_HEX);
    ck_assert(all_zero(out, 4));
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_hex_decode(out, 2, "010203", 6), RP_ERR_BAD_HEX);
    ck_assert(all_zero(out, 2));
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_hex_decode(out, 1, "", 0), RP_ERR_BAD_HEX);
    ck_assert(all_zero(out, 1));

    /* Zero bytes from zero digits is fine. */
    ck_assert_int_eq(rp_hex_decode(out, 0, "", 0), 0);
    ck_assert_int_eq(rp_hex_decode_var(out, sizeof out, &n, "", 0), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_hex_buffer)
{
    static const unsigned char in[4] = {1, 2, 3, 4};
    char hex[9];
    unsigned char out[3];
    size_t n;

    memset(hex, 'x', sizeof hex);
    ck_assert_int_eq(rp_hex_encode(hex, 8, in, 4), RP_ERR_BUFFER); /* no room for NUL */
    ck_assert_str_eq(hex, "");
    memset(hex, 'x', sizeof hex);
    ck_assert_int_eq(rp_hex_encode(hex, 0, in, 4), RP_ERR_BUFFER);
    ck_assert_int_eq(hex[0], 'x'); /* outcap 0: nothing written */
    memset(hex, 'x', sizeof hex);
    ck_assert_int_eq(rp_hex_encode(hex, 0, in, 0), RP_ERR_BUFFER);
    ck_assert_int_eq(hex[0], 'x');
    ck_assert_int_eq(rp_hex_encode(hex, 9, in, 4), 0);
    ck_assert_str_eq(hex, "01020304");

    memset(out, 0xAA, sizeof out);
    n = 99;
    ck_assert_int_eq(rp_hex_decode_var(out, sizeof out, &n, "01020304", 8), RP_ERR_BUFFER);
    ck_assert(all_zero(out, sizeof out));
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(rp_hex_decode_var(out, sizeof out, &n, "010203", 6), 0);
    ck_assert_uint_eq(n, 3);
}
END_TEST

/* ---- SHA-256 ---------------------------------------------------------- */

START_TEST(test_sha256_kat)
{
    rp_hash h, want;

    rp_sha256(&h, (const unsigned char *)"abc", 3);
    unhex(want.bytes, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_mem_eq(h.bytes, want.bytes, 32);
    ck_assert_int_eq(rp_hash_eq(&h, &want), 1);

    rp_sha256(&h, NULL, 0);
    unhex(want.bytes, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_mem_eq(h.bytes, want.bytes, 32);

    /* Two-block message from FIPS 180-2. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    rp_sha256(&h, (const unsigned char *)m, strlen(m));
    unhex(want.bytes, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    ck_assert_mem_eq(h.bytes, want.bytes, 32);

    want.bytes[31] ^= 1;
    ck_assert_int_eq(rp_hash_eq(&h, &want), 0);
}
END_TEST

/* ---- tagged hashes ---------------------------------------------------- */

static void tagged_by_hand(rp_hash *out, const char *tag, const unsigned char *m, size_t len)
{
    rp_hash th;
    unsigned char *buf = malloc(64 + len + 1);

    ck_assert_ptr_nonnull(buf);
    rp_sha256(&th, (const unsigned char *)tag, strlen(tag));
    memcpy(buf, th.bytes, 32);
    memcpy(buf + 32, th.bytes, 32);
    if (len > 0)
        memcpy(buf + 64, m, len);
    rp_sha256(out, buf, 64 + len);
    free(buf);
}

START_TEST(test_tagged_hash)
{
    static const char *const tags[] = {RP_TAG_RECORD, RP_TAG_GENESIS, RP_TAG_VOTE,
                                       "BIP0340/challenge", ""};
    static const size_t lens[] = {0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 100, 1000};
    static const size_t pieces[] = {1, 3, 7, 13, 64, 200};
    unsigned char msg[1000];
    rp_hash one, stream, hand;

    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 131 + 7);

    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t len = lens[l];

            rp_tagged_hash(&one, tags[t], len > 0 ? msg : NULL, len);
            tagged_by_hand(&hand, tags[t], msg, len);
            ck_assert_mem_eq(one.bytes, hand.bytes, 32);

            for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
                rp_th_ctx ctx;
                size_t off = 0;

                rp_th_init(&ctx, tags[t]);
                /* Pieces of varying size, including empty updates. */
                while (off < len) {
                    size_t step = pieces[p] + off % 5;
                    if (step > len - off)
                        step = len - off;
                    rp_th_update(&ctx, msg + off, step);
                    rp_th_update(&ctx, NULL, 0);
                    off += step;
                }
                rp_th_final(&ctx, &stream);
                ck_assert_mem_eq(stream.bytes, one.bytes, 32);
                ck_assert_int_eq(rp_hash_eq(&stream, &one), 1);
            }
        }
    }

    /* Different tags, same message: different hashes. */
    rp_tagged_hash(&one, RP_TAG_RECORD, msg, 32);
    rp_tagged_hash(&hand, RP_TAG_VOTE, msg, 32);
    ck_assert_int_eq(rp_hash_eq(&one, &hand), 0);
}
END_TEST

/* ---- BIP-340 vectors -------------------------------------------------- */

/* Split a CSV line into exactly 8 fields at the first 7 commas (the comment,
 * last, keeps any commas of its own). Modifies line. */
static int split_csv(char *line, char *fields[8])
{
    size_t n = 0;
    char *p = line;

    line[strcspn(line, "\r\n")] = '\0';
    fields[n++] = p;
    while (n < 8) {
        p = strchr(p, ',');
        if (p == NULL)
            return -1;
        *p++ = '\0';
        fields[n++] = p;
    }
    return 0;
}

START_TEST(test_bip340_vectors)
{
    const char *dir = getenv("RP_VECTORS");
    char path[4096];
    char line[1024];
    FILE *f;
    size_t rows = 0, signed_rows = 0, invalid_pk_rows = 0, true_rows = 0;

    ck_assert_msg(dir != NULL, "RP_VECTORS is not set");
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/bip340-test-vectors.csv", dir),
                     (int)sizeof path);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));

    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_msg(strncmp(line,
                          "index,secret key,public key,aux_rand,message,signature,"
                          "verification result",
                          73) == 0,
                  "unexpected header: %s", line);

    while (fgets(line, sizeof line, f) != NULL) {
        char *fl[8];
        rp_seckey sk;
        rp_pubkey pk, got_pk;
        rp_sig sig, got_sig;
        unsigned char aux[32];
        unsigned char msg[256];
        size_t msglen;
        int expect;

        if (line[0] == '\n' || line[0] == '\r' || line[0] == '\0')
            continue;
        ck_assert_msg(strchr(line, '\n') != NULL || feof(f), "line too long");
        ck_assert_int_eq(split_csv(line, fl), 0);
        ck_assert_uint_eq(strtoul(fl[0], NULL, 10), rows);

        unhex(pk.bytes, 32, fl[2]);
        ck_assert_int_eq(rp_hex_decode_var(msg, sizeof msg, &msglen, fl[4], strlen(fl[4])), 0);
        unhex(sig.bytes, 64, fl[5]);
        ck_assert_msg(strcmp(fl[6], "TRUE") == 0 || strcmp(fl[6], "FALSE") == 0,
                      "row %zu: bad result field '%s'", rows, fl[6]);
        expect = strcmp(fl[6], "TRUE") == 0;
        true_rows += (size_t)expect;

        if (!rp_pubkey_valid(&pk)) {
            ck_assert_msg(!expect, "row %zu: valid signature under an invalid key", rows);
            invalid_pk_rows++;
        }
        ck_assert_msg(rp_verify(&sig, msglen > 0 ? msg : NULL, msglen, &pk) == expect,
                      "row %zu (%s): verify gave %d", rows, fl[7], !expect);

        if (fl[1][0] != '\0') {
            unhex(sk.bytes, 32, fl[1]);
            unhex(aux, 32, fl[3]);
            ck_assert_int_eq(rp_seckey_valid(&sk), 1);
            ck_assert_int_eq(rp_pubkey_from_seckey(&got_pk, &sk), 0);
            ck_assert_msg(memcmp(got_pk.bytes, pk.bytes, 32) == 0, "row %zu: pubkey", rows);
            ck_assert_int_eq(rp_sign(&got_sig, msglen > 0 ? msg : NULL, msglen, &sk, aux), 0);
            ck_assert_msg(memcmp(got_sig.bytes, sig.bytes, 64) == 0, "row %zu: signature", rows);
            ck_assert_int_eq(rp_verify(&got_sig, msg, msglen, &got_pk), 1);
            signed_rows++;
            sodium_memzero(&sk, sizeof sk);
        }
        rows++;
    }
    ck_assert_int_eq(ferror(f), 0);
    fclose(f);

    ck_assert_uint_eq(rows, 19);
    ck_assert_uint_eq(signed_rows, 8);
    ck_assert_uint_eq(true_rows, 9);
    ck_assert_uint_eq(invalid_pk_rows, 2);
}
END_TEST

/* ---- keys ------------------------------------------------------------- */

START_TEST(test_keys_from_seed)
{
    rp_seckey a, b, keys[16];
    rp_pubkey pk;
    unsigned char other_seed[32], buf[48];
    rp_hash h;

    for (size_t i = 0; i < 16; i++) {
        ck_assert_int_eq(rp_seckey_from_seed(&keys[i], test_seed, i), 0);
        ck_assert_int_eq(rp_seckey_valid(&keys[i]), 1);
        ck_assert_int_eq(rp_seckey_from_seed(&a, test_seed, i), 0);
        ck_assert_mem_eq(a.bytes, keys[i].bytes, 32);
        for (size_t j = 0; j < i; j++)
            ck_assert(memcmp(keys[i].bytes, keys[j].bytes, 32) != 0);

        /* Counter 0 by hand: TH(keygen, seed || be64(index) || be64(0)). */
        memcpy(buf, test_seed, 32);
        put_be64(buf + 32, i);
        put_be64(buf + 40, 0);
        rp_tagged_hash(&h, RP_TAG_KEYGEN, buf, sizeof buf);
        ck_assert_mem_eq(h.bytes, keys[i].bytes, 32);
    }

    /* A large index and another seed. */
    ck_assert_int_eq(rp_seckey_from_seed(&a, test_seed, UINT64_MAX), 0);
    ck_assert_int_eq(rp_seckey_valid(&a), 1);
    memcpy(other_seed, test_seed, 32);
    other_seed[0] ^= 1;
    ck_assert_int_eq(rp_seckey_from_seed(&b, other_seed, 0), 0);
    ck_assert(memcmp(b.bytes, keys[0].bytes, 32) != 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(&pk, &b), 0);
    ck_assert_int_eq(rp_pubkey_valid(&pk), 1);
}
END_TEST

START_TEST(test_keys_generate_and_aux)
{
    rp_seckey a, b;
    unsigned char aux1[32], aux2[32], buf[40];
    rp_hash h;

    ck_assert_int_eq(rp_seckey_generate(&a), 0);
    ck_assert_int_eq(rp_seckey_generate(&b), 0);
    ck_assert_int_eq(rp_seckey_valid(&a), 1);
    ck_assert_int_eq(rp_seckey_valid(&b), 1);
    ck_assert(memcmp(a.bytes, b.bytes, 32) != 0);

    rp_aux_fresh(aux1);
    rp_aux_fresh(aux2);
    ck_assert(memcmp(aux1, aux2, 32) != 0);

    rp_aux_derive(aux1, test_seed, 7);
    rp_aux_derive(aux2, test_seed, 7);
    ck_assert_mem_eq(aux1, aux2, 32);
    memcpy(buf, test_seed, 32);
    put_be64(buf + 32, 7);
    rp_tagged_hash(&h, RP_TAG_AUX, buf, sizeof buf);
    ck_assert_mem_eq(aux1, h.bytes, 32);
    rp_aux_derive(aux2, test_seed, 8);
    ck_assert(memcmp(aux1, aux2, 32) != 0);
}
END_TEST

START_TEST(test_keys_invalid_seckey)
{
    rp_seckey bad[4], ok;
    rp_pubkey pk;
    rp_sig sig;
    unsigned char aux[32] = {0};
    unsigned char file[RP_KEYFILE_SIZE];

    memset(bad[0].bytes, 0, 32);      /* zero */
    unhex(bad[1].bytes, 32, ORDER_N); /* n */
    unhex(bad[2].bytes, 32, ORDER_N); /* n + 1 */
    bad[2].bytes[31]++;
    memset(bad[3].bytes, 0xFF, 32); /* 2^256 - 1 */

    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(rp_seckey_valid(&bad[i]), 0);
        memset(pk.bytes, 0xAA, 32);
        ck_assert_int_eq(rp_pubkey_from_seckey(&pk, &bad[i]), RP_ERR_BAD_KEY);
        ck_assert(all_zero(pk.bytes, 32));
        memset(sig.bytes, 0xAA, 64);
        ck_assert_int_eq(rp_sign(&sig, aux, 32, &bad[i], aux), RP_ERR_BAD_KEY);
        ck_assert(all_zero(sig.bytes, 64));
        memset(file, 0xAA, sizeof file);
        ck_assert_int_eq(rp_keyfile_seal(file, &bad[i], "pw", 2, RP_KDF_OPS_MIN, RP_KDF_MEM_MIN),
                         RP_ERR_BAD_KEY);
        ck_assert(all_zero(file, sizeof file));
    }

    /* The edges of the valid range: 1 and n - 1. */
    memset(ok.bytes, 0, 32);
    ok.bytes[31] = 1;
    ck_assert_int_eq(rp_seckey_valid(&ok), 1);
    ck_assert_int_eq(rp_pubkey_from_seckey(&pk, &ok), 0);
    unhex(ok.bytes, 32, ORDER_N);
    ok.bytes[31]--;
    ck_assert_int_eq(rp_seckey_valid(&ok), 1);
    ck_assert_int_eq(rp_pubkey_from_seckey(&pk, &ok), 0);
    ck_assert_int_eq(rp_sign(&sig, aux, 32, &ok, aux), 0);
    ck_assert_int_eq(rp_verify(&sig, aux, 32, &pk), 1);
}
END_TEST

START_TEST(test_keys_pubkey_valid)
{
    rp_seckey sk;
    rp_pubkey pk;

    test_key(0, &sk, &pk);
    ck_assert_int_eq(rp_pubkey_valid(&pk), 1);

    unhex(pk.bytes, 32, FIELD_P); /* x == p */
    ck_assert_int_eq(rp_pubkey_valid(&pk), 0);
    pk.bytes[31]++; /* x == p + 1 (BIP-340 vector 14) */
    ck_assert_int_eq(rp_pubkey_valid(&pk), 0);
    memset(pk.bytes, 0xFF, 32);
    ck_assert_int_eq(rp_pubkey_valid(&pk), 0);
    /* Below p but not on the curve (BIP-340 vector 5). */
    unhex(pk.bytes, 32, "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34");
    ck_assert_int_eq(rp_pubkey_valid(&pk), 0);
    /* x = 1 is on the curve (1 + 7 = 8 is a square mod p). */
    memset(pk.bytes, 0, 32);
    pk.bytes[31] = 1;
    ck_assert_int_eq(rp_pubkey_valid(&pk), 1);
}
END_TEST

/* ---- sign / verify ---------------------------------------------------- */

START_TEST(test_verify_rejects_bitflips)
{
    rp_seckey sk;
    rp_pubkey pk, pk2;
    rp_sig sig, sig2;
    unsigned char msg[32], msg2[32], aux[32];
    rp_hash h;

    test_key(1, &sk, &pk);
    rp_tagged_hash(&h, RP_TAG_RECORD, (const unsigned char *)"hello", 5);
    memcpy(msg, h.bytes, sizeof msg);
    rp_aux_derive(aux, test_seed, 1);
    ck_assert_int_eq(rp_sign(&sig, msg, sizeof msg, &sk, aux), 0);
    ck_assert_int_eq(rp_verify(&sig, msg, sizeof msg, &pk), 1);

    for (size_t bit = 0; bit < 64 * 8; bit++) {
        sig2 = sig;
        sig2.bytes[bit / 8] ^= (unsigned char)(1U << (bit % 8));
        ck_assert_msg(rp_verify(&sig2, msg, sizeof msg, &pk) == 0, "sig bit %zu", bit);
    }
    for (size_t bit = 0; bit < 32 * 8; bit++) {
        memcpy(msg2, msg, sizeof msg);
        msg2[bit / 8] ^= (unsigned char)(1U << (bit % 8));
        ck_assert_msg(rp_verify(&sig, msg2, sizeof msg2, &pk) == 0, "msg bit %zu", bit);
        pk2 = pk;
        pk2.bytes[bit / 8] ^= (unsigned char)(1U << (bit % 8));
        ck_assert_msg(rp_verify(&sig, msg, sizeof msg, &pk2) == 0, "key bit %zu", bit);
    }

    /* The length is part of the message: a prefix or an extension fails. */
    ck_assert_int_eq(rp_verify(&sig, msg, 31, &pk), 0);
    ck_assert_int_eq(rp_verify(&sig, msg, 0, &pk), 0);

    /* Empty messages sign and verify. */
    ck_assert_int_eq(rp_sign(&sig2, NULL, 0, &sk, aux), 0);
    ck_assert_int_eq(rp_verify(&sig2, NULL, 0, &pk), 1);
    ck_assert_int_eq(rp_verify(&sig2, msg, 1, &pk), 0);

    /* Deterministic for a given aux; different aux, different but valid. */
    ck_assert_int_eq(rp_sign(&sig2, msg, sizeof msg, &sk, aux), 0);
    ck_assert_mem_eq(sig2.bytes, sig.bytes, 64);
    rp_aux_fresh(aux);
    ck_assert_int_eq(rp_sign(&sig2, msg, sizeof msg, &sk, aux), 0);
    ck_assert(memcmp(sig2.bytes, sig.bytes, 64) != 0);
    ck_assert_int_eq(rp_verify(&sig2, msg, sizeof msg, &pk), 1);
}
END_TEST

enum { BATCH = 16 };

static size_t count_bad(const unsigned char *want, size_t begin, size_t end)
{
    size_t n = 0;
    for (size_t i = begin; i < end; i++)
        n += want[i] == 0;
    return n;
}

START_TEST(test_verify_range)
{
    rp_pubkey pks[BATCH];
    rp_sig sigs[BATCH];
    unsigned char msgs[BATCH][32];
    rp_sig_check batch[BATCH];
    unsigned char want[BATCH], ok[BATCH];
    static const size_t ranges[][2] = {{0, BATCH}, {0, 8}, {8, BATCH}, {3, 7},  {5, 5},
                                       {0, 1},     {2, 3}, {13, 14},   {6, 14}, {15, BATCH}};

    for (size_t i = 0; i < BATCH; i++) {
        rp_seckey sk;
        unsigned char aux[32];
        unsigned char idx = (unsigned char)i;
        rp_hash h;

        test_key(100 + i, &sk, &pks[i]);
        rp_tagged_hash(&h, RP_TAG_RECORD, &idx, 1);
        memcpy(msgs[i], h.bytes, 32);
        rp_aux_derive(aux, test_seed, i);
        ck_assert_int_eq(rp_sign(&sigs[i], msgs[i], 32, &sk, aux), 0);
        batch[i] = (rp_sig_check){msgs[i], 32, &pks[i], &sigs[i]};
        want[i] = 1;
    }
    /* Corrupt four items in four different ways. */
    sigs[2].bytes[40] ^= 0x10;
    want[2] = 0;
    msgs[7][0] ^= 0x01;
    want[7] = 0;
    batch[11].pubkey = &pks[12]; /* someone else's key */
    want[11] = 0;
    batch[13].msglen = 31; /* truncated message */
    want[13] = 0;

    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        size_t b = ranges[r][0], e = ranges[r][1];

        memset(ok, 0xEE, sizeof ok);
        size_t failed = rp_verify_range(batch, b, e, ok);
        ck_assert_msg(failed == count_bad(want, b, e), "range [%zu,%zu): %zu failures", b, e,
                      failed);
        for (size_t i = 0; i < BATCH; i++) {
            if (i >= b && i < e)
                ck_assert_msg(ok[i] == want[i], "range [%zu,%zu) item %zu", b, e, i);
            else
                ck_assert_msg(ok[i] == 0xEE, "item %zu outside [%zu,%zu) touched", i, b, e);
        }
    }
    memset(ok, 0xEE, sizeof ok);
    ck_assert_uint_eq(rp_verify_range(batch, 0, BATCH, ok), 4);
}
END_TEST

/* ---- key files -------------------------------------------------------- */

static char tmpdir[64];

static void keyfile_setup(void)
{
    strcpy(tmpdir, "/tmp/rp-test-crypto-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void keyfile_teardown(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[sizeof tmpdir + 1 + NAME_MAX + 1];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name) >= (int)sizeof p)
            continue;
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    ck_assert_int_lt(snprintf(out, cap, "%s/%s", tmpdir, name), (int)cap);
}

static void write_bytes(const char *path, const unsigned char *buf, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static const char PASS[] = "correct horse battery staple";

START_TEST(test_keyfile_seal_roundtrip)
{
    rp_seckey sk, got;
    rp_pubkey pk, got_pk;
    unsigned char file[RP_KEYFILE_SIZE], file2[RP_KEYFILE_SIZE];
    rp_keyfile kf;

    test_key(3, &sk, &pk);
    ck_assert_int_eq(rp_keyfile_seal(file, &sk, PASS, strlen(PASS), RP_KDF_OPS_INTERACTIVE,
                                     RP_KDF_MEM_INTERACTIVE),
                     0);
    ck_assert_mem_eq(file, "RPKEYF\0\1", 8);
    ck_assert_int_eq(rp_keyfile_parse(&kf, file, sizeof file), 0);
    ck_assert_uint_eq(kf.version, RP_KEYFILE_VERSION);
    ck_assert_uint_eq(kf.kdf, RP_KEYFILE_KDF_ARGON2ID13);
    ck_assert_uint_eq(kf.opslimit, RP_KDF_OPS_INTERACTIVE);
    ck_assert_uint_eq(kf.memlimit, RP_KDF_MEM_INTERACTIVE);
    ck_assert_mem_eq(kf.pubkey.bytes, pk.bytes, 32);
    ck_assert_mem_eq(kf.salt, file + 58, 16);
    ck_assert_mem_eq(kf.nonce, file + 74, 24);
    ck_assert_mem_eq(kf.ciphertext, file + 98, 48);
    /* The secret must not appear in the clear. */
    ck_assert(!contains(file, sizeof file, sk.bytes, 32));

    ck_assert_int_eq(rp_keyfile_unseal(&got, &got_pk, file, sizeof file, PASS, strlen(PASS)), 0);
    ck_assert_mem_eq(got.bytes, sk.bytes, 32);
    ck_assert_mem_eq(got_pk.bytes, pk.bytes, 32);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, file, sizeof file, PASS, strlen(PASS)), 0);

    /* Fresh salt and nonce each time. */
    ck_assert_int_eq(
        rp_keyfile_seal(file2, &sk, PASS, strlen(PASS), RP_KDF_OPS_MIN, RP_KDF_MEM_MIN), 0);
    ck_assert(memcmp(file + 58, file2 + 58, 16) != 0);
    ck_assert(memcmp(file + 74, file2 + 74, 24) != 0);

    /* Empty passphrase, NULL pointer allowed with length 0. */
    ck_assert_int_eq(rp_keyfile_seal(file2, &sk, NULL, 0, RP_KDF_OPS_MIN, RP_KDF_MEM_MIN), 0);
    ck_assert_int_eq(rp_keyfile_unseal(&got, &got_pk, file2, sizeof file2, "", 0), 0);
    ck_assert_mem_eq(got.bytes, sk.bytes, 32);
    ck_assert_int_eq(rp_keyfile_unseal(&got, &got_pk, file2, sizeof file2, "x", 1),
                     RP_ERR_KEYFILE_DECRYPT);
}
END_TEST

START_TEST(test_keyfile_write_read)
{
    rp_seckey sk, got;
    rp_pubkey pk, got_pk;
    char path[256];
    struct stat st;
    unsigned char before[RP_KEYFILE_SIZE], after[RP_KEYFILE_SIZE];
    FILE *f;

    test_key(4, &sk, &pk);
    tmp_path(path, sizeof path, "node.key");
    ck_assert_int_eq(rp_keyfile_write(path, &sk, PASS, strlen(PASS), RP_KDF_OPS_INTERACTIVE,
                                      RP_KDF_MEM_INTERACTIVE),
                     0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_size, RP_KEYFILE_SIZE);

    ck_assert_int_eq(rp_keyfile_read(&got, &got_pk, path, PASS, strlen(PASS)), 0);
    ck_assert_mem_eq(got.bytes, sk.bytes, 32);
    ck_assert_mem_eq(got_pk.bytes, pk.bytes, 32);

    /* Never overwritten, and the existing file is left as it was. */
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(before, 1, sizeof before, f), sizeof before);
    fclose(f);
    test_key(5, &got, &got_pk);
    ck_assert_int_eq(
        rp_keyfile_write(path, &got, PASS, strlen(PASS), RP_KDF_OPS_MIN, RP_KDF_MEM_MIN), -EEXIST);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(after, 1, sizeof after, f), sizeof after);
    fclose(f);
    ck_assert_mem_eq(before, after, sizeof before);

    /* Owner-only modes narrower than 0600 are fine. */
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), 0);
    ck_assert_mem_eq(got.bytes, sk.bytes, 32);

    /* File-system errors come back as -errno. */
    tmp_path(path, sizeof path, "missing.key");
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), -ENOENT);
    ck_assert(all_zero(got.bytes, 32));
    tmp_path(path, sizeof path, "no/such/dir.key");
    ck_assert_int_eq(
        rp_keyfile_write(path, &sk, PASS, strlen(PASS), RP_KDF_OPS_MIN, RP_KDF_MEM_MIN), -ENOENT);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, tmpdir, PASS, strlen(PASS)), -EISDIR);
}
END_TEST

START_TEST(test_keyfile_wrong_passphrase)
{
    rp_seckey sk, got;
    rp_pubkey pk, got_pk;
    unsigned char file[RP_KEYFILE_SIZE];
    char path[256];

    test_key(6, &sk, &pk);
    ck_assert_int_eq(rp_keyfile_seal(file, &sk, PASS, strlen(PASS), RP_KDF_OPS_INTERACTIVE,
                                     RP_KDF_MEM_INTERACTIVE),
                     0);
    memset(got.bytes, 0xAA, 32);
    memset(got_pk.bytes, 0xAA, 32);
    ck_assert_int_eq(rp_keyfile_unseal(&got, &got_pk, file, sizeof file, PASS, strlen(PASS) - 1),
                     RP_ERR_KEYFILE_DECRYPT);
    ck_assert(all_zero(got.bytes, 32));
    ck_assert(all_zero(got_pk.bytes, 32));

    tmp_path(path, sizeof path, "k");
    write_bytes(path, file, sizeof file, 0600);
    memset(got.bytes, 0xAA, 32);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, "wrong", 5), RP_ERR_KEYFILE_DECRYPT);
    ck_assert(all_zero(got.bytes, 32));
}
END_TEST

/* Every single-byte change to a file either fails to parse or fails to
 * decrypt: the header is authenticated as associated data. */
START_TEST(test_keyfile_every_byte_flip)
{
    static const unsigned char masks[] = {0x01, 0x80, 0xFF};
    rp_seckey sk, got;
    rp_pubkey pk;
    unsigned char file[RP_KEYFILE_SIZE], bad[RP_KEYFILE_SIZE];
    size_t parse_fail = 0, decrypt_fail = 0;
    rp_keyfile kf;

    test_key(7, &sk, &pk);
    ck_assert_int_eq(rp_keyfile_seal(file, &sk, PASS, strlen(PASS), RP_KDF_OPS_MIN, RP_KDF_MEM_MIN),
                     0);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, file, sizeof file, PASS, strlen(PASS)), 0);

    for (size_t off = 0; off < RP_KEYFILE_SIZE; off++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(bad, file, sizeof bad);
            bad[off] ^= masks[m];
            if (rp_keyfile_parse(&kf, bad, sizeof bad) != 0) {
                ck_assert(all_zero(&kf, sizeof kf));
                ck_assert_int_ne(rp_keyfile_unseal(&got, NULL, bad, sizeof bad, PASS, strlen(PASS)),
                                 0);
                parse_fail++;
                continue;
            }
            memset(got.bytes, 0xAA, 32);
            ck_assert_msg(rp_keyfile_unseal(&got, NULL, bad, sizeof bad, PASS, strlen(PASS)) ==
                              RP_ERR_KEYFILE_DECRYPT,
                          "offset %zu mask %02x", off, masks[m]);
            ck_assert(all_zero(got.bytes, 32));
            decrypt_fail++;
        }
    }
    ck_assert_uint_eq(parse_fail + decrypt_fail, RP_KEYFILE_SIZE * sizeof masks);
    /* Salt, nonce, public key and ciphertext always parse. */
    ck_assert_uint_ge(decrypt_fail, (RP_KEYFILE_SIZE - 26) * sizeof masks);
    ck_assert_uint_ge(parse_fail, 10 * sizeof masks);
}
END_TEST

/* A file whose AEAD is intact but whose content is inconsistent, as only a
 * holder of the passphrase could build it: the public key in the header is not
 * the secret's, or the secret is not a valid key. */
static void forge(unsigned char file[static RP_KEYFILE_SIZE], const unsigned char secret[32],
                  const rp_pubkey *claimed)
{
    unsigned char key[32];

    memcpy(file, "RPKEYF\0\1", 8);
    file[8] = RP_KEYFILE_VERSION;
    file[9] = RP_KEYFILE_KDF_ARGON2ID13;
    put_be64(file + 10, RP_KDF_OPS_MIN);
    put_be64(file + 18, RP_KDF_MEM_MIN);
    memcpy(file + 26, claimed->bytes, 32);
    randombytes_buf(file + 58, 16);
    randombytes_buf(file + 74, 24);
    ck_assert_int_eq(crypto_pwhash(key, sizeof key, PASS, strlen(PASS), file + 58, RP_KDF_OPS_MIN,
                                   RP_KDF_MEM_MIN, crypto_pwhash_ALG_ARGON2ID13),
                     0);
    ck_assert_int_eq(crypto_aead_xchacha20poly1305_ietf_encrypt(file + 98, NULL, secret, 32, file,
                                                                98, NULL, file + 74, key),
                     0);
}

START_TEST(test_keyfile_inconsistent)
{
    rp_seckey sk, other, got;
    rp_pubkey pk, other_pk;
    unsigned char file[RP_KEYFILE_SIZE];
    unsigned char zero[32] = {0};

    test_key(8, &sk, &pk);
    test_key(9, &other, &other_pk);

    forge(file, sk.bytes, &pk); /* control: a correct forgery opens */
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, file, sizeof file, PASS, strlen(PASS)), 0);
    ck_assert_mem_eq(got.bytes, sk.bytes, 32);

    forge(file, sk.bytes, &other_pk);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, file, sizeof file, PASS, strlen(PASS)),
                     RP_ERR_KEYFILE_DECRYPT);
    ck_assert(all_zero(got.bytes, 32));

    forge(file, zero, &pk);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, file, sizeof file, PASS, strlen(PASS)),
                     RP_ERR_KEYFILE_DECRYPT);
    ck_assert(all_zero(got.bytes, 32));
}
END_TEST

START_TEST(test_keyfile_format_errors)
{
    rp_seckey sk, got;
    rp_pubkey pk;
    unsigned char file[RP_KEYFILE_SIZE], bad[RP_KEYFILE_SIZE + 64];
    char path[256];
    rp_keyfile kf;

    test_key(10, &sk, &pk);
    ck_assert_int_eq(rp_keyfile_seal(file, &sk, PASS, strlen(PASS), RP_KDF_OPS_MIN, RP_KDF_MEM_MIN),
                     0);

    /* Truncated and extended, in memory and on disk. */
    memset(&kf, 0xAA, sizeof kf);
    ck_assert_int_eq(rp_keyfile_parse(&kf, file, RP_KEYFILE_SIZE - 1), RP_ERR_KEYFILE_FORMAT);
    ck_assert(all_zero(&kf, sizeof kf));
    ck_assert_int_eq(rp_keyfile_parse(&kf, file, 0), RP_ERR_KEYFILE_FORMAT);
    ck_assert_int_eq(rp_keyfile_parse(&kf, file, 4), RP_ERR_KEYFILE_FORMAT);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, file, RP_KEYFILE_SIZE - 1, PASS, strlen(PASS)),
                     RP_ERR_KEYFILE_FORMAT);
    memcpy(bad, file, sizeof file);
    memset(bad + RP_KEYFILE_SIZE, 0, sizeof bad - RP_KEYFILE_SIZE);
    ck_assert_int_eq(rp_keyfile_parse(&kf, bad, RP_KEYFILE_SIZE + 1), RP_ERR_KEYFILE_FORMAT);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, bad, RP_KEYFILE_SIZE + 1, PASS, strlen(PASS)),
                     RP_ERR_KEYFILE_FORMAT);

    tmp_path(path, sizeof path, "short");
    write_bytes(path, file, RP_KEYFILE_SIZE - 1, 0600);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), RP_ERR_KEYFILE_FORMAT);
    tmp_path(path, sizeof path, "long");
    write_bytes(path, bad, RP_KEYFILE_SIZE + 1, 0600);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), RP_ERR_KEYFILE_FORMAT);
    tmp_path(path, sizeof path, "longer");
    write_bytes(path, bad, sizeof bad, 0600);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), RP_ERR_KEYFILE_FORMAT);
    tmp_path(path, sizeof path, "empty");
    write_bytes(path, bad, 0, 0600);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), RP_ERR_KEYFILE_FORMAT);

    /* Magic, version, kdf. */
    memcpy(bad, file, sizeof file);
    bad[0] = 'X';
    ck_assert_int_eq(rp_keyfile_parse(&kf, bad, RP_KEYFILE_SIZE), RP_ERR_KEYFILE_FORMAT);
    memcpy(bad, file, sizeof file);
    bad[8] = 2;
    memset(&kf, 0xAA, sizeof kf);
    ck_assert_int_eq(rp_keyfile_parse(&kf, bad, RP_KEYFILE_SIZE), RP_ERR_KEYFILE_VERSION);
    ck_assert(all_zero(&kf, sizeof kf));
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, bad, RP_KEYFILE_SIZE, PASS, strlen(PASS)),
                     RP_ERR_KEYFILE_VERSION);
    bad[8] = 0;
    ck_assert_int_eq(rp_keyfile_parse(&kf, bad, RP_KEYFILE_SIZE), RP_ERR_KEYFILE_VERSION);
    memcpy(bad, file, sizeof file);
    bad[9] = 2;
    ck_assert_int_eq(rp_keyfile_parse(&kf, bad, RP_KEYFILE_SIZE), RP_ERR_KEYFILE_FORMAT);

    /* KDF parameters just outside each limit, and just inside. */
    static const struct {
        uint64_t ops, mem;
        int want;
    } params[] = {
        {RP_KDF_OPS_MAX + 1, RP_KDF_MEM_MIN, RP_ERR_KEYFILE_PARAMS},
        {RP_KDF_OPS_MIN - 1, RP_KDF_MEM_MIN, RP_ERR_KEYFILE_PARAMS},
        {UINT64_MAX, RP_KDF_MEM_MIN, RP_ERR_KEYFILE_PARAMS},
        {RP_KDF_OPS_MIN, RP_KDF_MEM_MIN - 1, RP_ERR_KEYFILE_PARAMS},
        {RP_KDF_OPS_MIN, RP_KDF_MEM_MAX + 1, RP_ERR_KEYFILE_PARAMS},
        {RP_KDF_OPS_MIN, UINT64_MAX, RP_ERR_KEYFILE_PARAMS},
        {RP_KDF_OPS_MAX, RP_KDF_MEM_MIN, 0},
        {RP_KDF_OPS_MIN, RP_KDF_MEM_MAX, 0},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        memcpy(bad, file, sizeof file);
        put_be64(bad + 10, params[i].ops);
        put_be64(bad + 18, params[i].mem);
        ck_assert_int_eq(rp_keyfile_parse(&kf, bad, RP_KEYFILE_SIZE), params[i].want);
        if (params[i].want != 0) {
            ck_assert(all_zero(&kf, sizeof kf));
            ck_assert_int_eq(
                rp_keyfile_seal(bad, &sk, PASS, strlen(PASS), params[i].ops, params[i].mem),
                RP_ERR_KEYFILE_PARAMS);
            ck_assert(all_zero(bad, RP_KEYFILE_SIZE));
        }
    }
    memcpy(bad, file, sizeof file);
    put_be64(bad + 10, RP_KDF_OPS_MAX + 1);
    ck_assert_int_eq(rp_keyfile_unseal(&got, NULL, bad, RP_KEYFILE_SIZE, PASS, strlen(PASS)),
                     RP_ERR_KEYFILE_PARAMS);
    tmp_path(path, sizeof path, "params");
    write_bytes(path, bad, RP_KEYFILE_SIZE, 0600);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), RP_ERR_KEYFILE_PARAMS);
}
END_TEST

START_TEST(test_keyfile_perms)
{
    static const mode_t modes[] = {0644, 0640, 0604, 0601, 0610, 0660, 0666, 0700 | 0040};
    rp_seckey sk, got;
    rp_pubkey pk;
    char path[256];

    test_key(11, &sk, &pk);
    tmp_path(path, sizeof path, "perm.key");
    ck_assert_int_eq(
        rp_keyfile_write(path, &sk, PASS, strlen(PASS), RP_KDF_OPS_MIN, RP_KDF_MEM_MIN), 0);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        ck_assert_int_eq(chmod(path, modes[i]), 0);
        memset(got.bytes, 0xAA, 32);
        ck_assert_msg(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)) == RP_ERR_KEYFILE_PERMS,
                      "mode %o", (unsigned)modes[i]);
        ck_assert(all_zero(got.bytes, 32));
    }
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), 0);
    ck_assert_mem_eq(got.bytes, sk.bytes, 32);

    /* A FIFO is refused without blocking. */
    tmp_path(path, sizeof path, "fifo");
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(rp_keyfile_read(&got, NULL, path, PASS, strlen(PASS)), RP_ERR_KEYFILE_FORMAT);
}
END_TEST

/* ---- rp_strerror ------------------------------------------------------ */

START_TEST(test_strerror)
{
    static const int codes[] = {
        RP_ERR_INVALID_ARG,     RP_ERR_NOMEM,         RP_ERR_BUFFER,
        RP_ERR_CRYPTO_INIT,     RP_ERR_RANDOM,        RP_ERR_TRUNCATED,
        RP_ERR_TRAILING,        RP_ERR_TOO_LONG,      RP_ERR_BAD_VERSION,
        RP_ERR_BAD_TYPE,        RP_ERR_BAD_UTF8,      RP_ERR_RANGE,
        RP_ERR_NONCANONICAL,    RP_ERR_BAD_HEX,       RP_ERR_BAD_KEY,
        RP_ERR_BAD_SIGNATURE,   RP_ERR_SIGN,          RP_ERR_KEYFILE_FORMAT,
        RP_ERR_KEYFILE_VERSION, RP_ERR_KEYFILE_PERMS, RP_ERR_KEYFILE_DECRYPT,
        RP_ERR_KEYFILE_PARAMS,  RP_ERR_POW,
    };
    enum { N = sizeof codes / sizeof codes[0] };
    const char *generic = rp_strerror(-999999);
    const char *msgs[N];

    ck_assert_ptr_nonnull(generic);
    ck_assert_str_eq(rp_strerror(0), "success");
    for (size_t i = 0; i < N; i++) {
        msgs[i] = rp_strerror(codes[i]);
        ck_assert_ptr_nonnull(msgs[i]);
        ck_assert_uint_gt(strlen(msgs[i]), 0);
        ck_assert_str_ne(msgs[i], generic);
        ck_assert_str_ne(msgs[i], "success");
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(msgs[i], msgs[j]) != 0, "codes %d and %d share a message",
                          codes[i], codes[j]);
    }

    /* -errno values come from the C library. */
    ck_assert_str_eq(rp_strerror(-ENOENT), strerror(ENOENT));
    ck_assert_str_eq(rp_strerror(-EEXIST), strerror(EEXIST));
    /* Unknown values: the generic message, never with the number in it. */
    static const int unknown[] = {1, 42, INT_MAX, INT_MIN, -4000, -4095, -4096, -999, -1005, -1999};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        ck_assert_str_eq(rp_strerror(unknown[i]), generic);

    /* Every project code (the whole range, so codes added later are
     * covered too) has its own message. */
    const char *seen[1000];
    size_t nseen = 0;
    for (int c = -1999; c <= -1000; c++) {
        const char *m = rp_strerror(c);
        if (strcmp(m, generic) == 0)
            continue;
        for (size_t j = 0; j < nseen; j++)
            ck_assert_msg(strcmp(m, seen[j]) != 0, "code %d repeats a message: %s", c, m);
        seen[nseen++] = m;
    }
    ck_assert_uint_ge(nseen, N);
}
END_TEST

/* ---- suite ------------------------------------------------------------ */

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc;

    tc = tcase_create("hex");
    tcase_add_test(tc, test_hex_roundtrip);
    tcase_add_test(tc, test_hex_uppercase);
    tcase_add_test(tc, test_hex_every_char);
    tcase_add_test(tc, test_hex_rejects);
    tcase_add_test(tc, test_hex_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("sha256");
    tcase_add_test(tc, test_sha256_kat);
    suite_add_tcase(s, tc);

    tc = tcase_create("tagged_hash");
    tcase_add_test(tc, test_tagged_hash);
    suite_add_tcase(s, tc);

    tc = tcase_create("bip340_vectors");
    tcase_add_test(tc, test_bip340_vectors);
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_test(tc, test_keys_from_seed);
    tcase_add_test(tc, test_keys_generate_and_aux);
    tcase_add_test(tc, test_keys_invalid_seckey);
    tcase_add_test(tc, test_keys_pubkey_valid);
    suite_add_tcase(s, tc);

    tc = tcase_create("verify");
    tcase_add_test(tc, test_verify_rejects_bitflips);
    suite_add_tcase(s, tc);

    tc = tcase_create("verify_range");
    tcase_add_test(tc, test_verify_range);
    suite_add_tcase(s, tc);

    tc = tcase_create("keyfile");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, keyfile_setup, keyfile_teardown);
    tcase_add_test(tc, test_keyfile_seal_roundtrip);
    tcase_add_test(tc, test_keyfile_write_read);
    tcase_add_test(tc, test_keyfile_wrong_passphrase);
    tcase_add_test(tc, test_keyfile_every_byte_flip);
    tcase_add_test(tc, test_keyfile_inconsistent);
    tcase_add_test(tc, test_keyfile_format_errors);
    tcase_add_test(tc, test_keyfile_perms);
    suite_add_tcase(s, tc);

    tc = tcase_create("strerror");
    tcase_add_test(tc, test_strerror);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fputs("rp_crypto_init failed\n", stderr);
        return 1;
    }
    /* Idempotent. */
    if (rp_crypto_init() != 0)
        return 1;

    SRunner *sr = srunner_create(crypto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
