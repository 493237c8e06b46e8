/* Check suite for p2p/frame: the encrypted framing of a session.
 *
 * Round trips of messages at every size boundary (0, 1, the largest first
 * frame, the largest frame body, one Noise message, 5 MiB) fed to the
 * decoder whole, a byte at a time, 7 bytes at a time and in random chunks;
 * the byte layout checked by decrypting frames by hand; and the refusals,
 * each with its code, a receiving half that stays failed, and nothing
 * delivered: every bit of a frame flipped, lengths above the bound or not
 * the forced one, a message announced above RP_P2P_MAX_MESSAGE (refused with
 * nothing allocated), every truncation, reordered, dropped, replayed and
 * reflected frames, and the rekey at the interval (a frame made with the old
 * key is refused after it, one made with Rekey()'s key is byte for byte the
 * sender's).
 *
 * Randomized tests print their seed and take one from RP_TEST_SEED.
 * RP_WRITE_FRAME_CORPUS=DIR build/tests/test_frame writes the seed corpus of
 * tests/fuzz/fuzz_frame.c into DIR.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/noise.h"
#include "crypto/sig.h"
#include "p2p/frame.h"
#include "p2p/proto.h"
#include "tests/fuzz/session_keys.h"

/* ---- helpers ---------------------------------------------------------- */

static uint64_t test_seed;

static uint64_t rng_state;
static uint64_t rng(void)
{
    /* splitmix64: reproducible from the printed seed. */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void fixed_key(unsigned char k[32], unsigned char tag)
{
    for (size_t i = 0; i < 32; i++)
        k[i] = (unsigned char)(tag * 13u + i);
}

static void cipher_of(rp_noise_cipher *cs, unsigned char tag)
{
    unsigned char k[32];
    fixed_key(k, tag);
    rp_noise_cipher_init(cs, k);
    sodium_memzero(k, sizeof k);
}

/* Session a sends with key 1 and receives with key 2; b the other way. */
static void make_pair(rp_p2p_frame **a, rp_p2p_frame **b)
{
    rp_noise_cipher s, r;

    cipher_of(&s, 1);
    cipher_of(&r, 2);
    ck_assert_int_eq(rp_p2p_frame_new(a, &s, &r), 0);
    cipher_of(&s, 2);
    cipher_of(&r, 1);
    ck_assert_int_eq(rp_p2p_frame_new(b, &s, &r), 0);
}

/* Encode a message; the caller frees the bytes. */
static unsigned char *encode(rp_p2p_frame *f, const unsigned char *msg, size_t len, size_t *outlen)
{
    size_t need = rp_p2p_frame_encoded_len(len);
    unsigned char *out = malloc(need);

    int rc;

    /* Plain ifs: this runs 65,536 times in the rekey test, and each passing
     * Check assertion costs a write. */
    if (out == NULL || need == 0)
        ck_abort_msg("cannot encode %zu bytes", len);
    rc = rp_p2p_frame_encode(f, out, need, outlen, msg, len);
    if (rc != 0 || *outlen != need)
        ck_abort_msg("encode of %zu bytes: %d, %zu of %zu", len, rc, *outlen, need);
    return out;
}

/* A byte stream that grows. */
typedef struct stream {
    unsigned char *p;
    size_t len, cap;
} stream;

static void put(stream *s, const unsigned char *b, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->p = realloc(s->p, s->cap);
        if (s->p == NULL)
            ck_abort_msg("out of memory");
    }
    memcpy(s->p + s->len, b, n);
    s->len += n;
}

static void put_msg(stream *s, rp_p2p_frame *f, const unsigned char *msg, size_t len)
{
    size_t n;
    unsigned char *b = encode(f, msg, len, &n);
    put(s, b, n);
    free(b);
}

/* One frame made by hand with any length field and any body. */
static void raw_frame(stream *s, rp_noise_cipher *cs, unsigned lfield, const unsigned char *body,
                      size_t bodylen)
{
    unsigned char l[2] = {(unsigned char)(lfield >> 8), (unsigned char)lfield};
    static unsigned char out[RP_P2P_NOISE_MAX];
    size_t n;

    ck_assert_int_eq(rp_noise_cipher_encrypt(cs, out, sizeof out, &n, NULL, 0, l, 2), 0);
    put(s, out, n);
    ck_assert_int_eq(rp_noise_cipher_encrypt(cs, out, sizeof out, &n, NULL, 0, body, bodylen), 0);
    put(s, out, n);
}

/* What feeding a stream produced. */
typedef struct result {
    size_t count;        /* messages delivered */
    size_t cap;          /* room in msg and len */
    unsigned char **msg; /* each malloc'd */
    size_t *len;
    int rc;     /* 0, or the error that ended it */
    size_t fed; /* bytes consumed */
} result;

static void result_free(result *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->msg[i]);
    free(r->msg);
    free(r->len);
    memset(r, 0, sizeof *r);
}

/* Feed s to f in chunks of `chunk` bytes (0: random sizes from 1 to 5000),
 * taking every message. */
static void feed_all(rp_p2p_frame *f, const unsigned char *p, size_t len, size_t chunk, result *r)
{
    size_t off = 0;

    memset(r, 0, sizeof *r);
    while (off < len) {
        size_t n = chunk ? chunk : 1 + (size_t)(rng() % 5000);
        size_t used;
        if (n > len - off)
            n = len - off;
        size_t end = off + n;
        while (off < end) {
            int rc = rp_p2p_frame_feed(f, &used, p + off, end - off);
            /* Check's assertions cost a write each even when they pass:
             * the byte-at-a-time loops test with plain ifs. */
            if (used > end - off)
                ck_abort_msg("consumed %zu of %zu", used, end - off);
            off += used;
            if (rc < 0) {
                r->rc = rc;
                r->fed = off;
                return;
            }
            if (rc == 1) {
                if (r->count == r->cap) {
                    /* Geometric growth: the rekey test delivers 65,536
                     * messages, and ASan's realloc always copies. */
                    r->cap = r->cap ? 2 * r->cap : 16;
                    r->msg = realloc(r->msg, r->cap * sizeof *r->msg);
                    r->len = realloc(r->len, r->cap * sizeof *r->len);
                }
                if (!r->msg || !r->len ||
                    rp_p2p_frame_take(f, &r->msg[r->count], &r->len[r->count]) != 0 ||
                    r->msg[r->count] == NULL)
                    ck_abort_msg("take failed after message %zu", r->count);
                r->count++;
            } else if (rc != 0 || off != end) {
                ck_abort_msg("feed returned %d at %zu of %zu", rc, off, end);
            }
        }
    }
    r->fed = off;
}

/* A receiving half that failed with rc: it says so to every call. */
static void assert_rx_failed(rp_p2p_frame *f, int rc)
{
    unsigned char b[40] = {0}, *m;
    size_t used, len;

    ck_assert_int_eq(rp_p2p_frame_feed(f, &used, b, sizeof b), rc);
    ck_assert_uint_eq(used, 0);
    ck_assert_int_eq(rp_p2p_frame_eof(f), rc);
    ck_assert_uint_eq(rp_p2p_frame_buffered(f), 0);
    ck_assert_int_eq(rp_p2p_frame_take(f, &m, &len), RP_ERR_INVALID_ARG);
    ck_assert_ptr_null(m);
}

static unsigned char *pattern(size_t len, unsigned salt)
{
    unsigned char *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)((i * 131u + salt + (i >> 16)) & 0xFF);
    return p;
}

/* ---- constants -------------------------------------------------------- */

START_TEST(test_constants)
{
    ck_assert_str_eq(RP_NOISE_PROTOCOL_NAME, RP_P2P_NOISE_NAME);
    ck_assert_uint_eq(RP_P2P_NOISE_MAX, RP_NOISE_MAX_MSG);
    ck_assert_uint_eq(RP_P2P_FRAME_MAX_BODY, 65519);
    ck_assert_uint_eq(RP_P2P_FRAME_FIRST_DATA, 65515);
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(0), 38);
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(1), 39);
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(65515), 65553);              /* one frame */
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(65516), 65516 + 4 + 2 * 34); /* two */
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(65515 + 65519), 65515 + 65519 + 4 + 2 * 34);
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(65515 + 65519 + 1), 65515 + 65519 + 1 + 4 + 3 * 34);
    /* 5 MiB: 65,515 + 80 x 65,519 = 5,307,035 >= 5,242,880, so 81 frames. */
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(RP_P2P_MAX_MESSAGE),
                      RP_P2P_MAX_MESSAGE + 4 + 81 * 34);
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(RP_P2P_MAX_MESSAGE + 1), 0);
    ck_assert_uint_eq(rp_p2p_frame_encoded_len(SIZE_MAX), 0);
}
END_TEST

/* ---- the byte layout, decrypted by hand -------------------------------- */

START_TEST(test_layout)
{
    rp_p2p_frame *a, *b;
    rp_noise_cipher k;
    unsigned char pt[RP_P2P_NOISE_MAX], *msg = pattern(70000, 3), *out;
    size_t n, olen;

    make_pair(&a, &b);
    cipher_of(&k, 1); /* a's sending key, as b holds it */

    /* One byte: length 5, then 00 00 00 01 and the byte. */
    out = encode(a, (const unsigned char *)"Z", 1, &olen);
    ck_assert_uint_eq(olen, 18 + 5 + 16);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&k, pt, sizeof pt, &n, NULL, 0, out, 18), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(pt[0] == 0 && pt[1] == 5);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&k, pt, sizeof pt, &n, NULL, 0, out + 18, 21), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(pt, "\0\0\0\1Z", 5);
    free(out);

    /* 70,000 bytes: a full first frame, then the remaining 4,485. */
    out = encode(a, msg, 70000, &olen);
    ck_assert_uint_eq(olen, 70000 + 4 + 2 * 34);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&k, pt, sizeof pt, &n, NULL, 0, out, 18), 0);
    ck_assert(pt[0] == 0xFF && pt[1] == 0xEF); /* 65,519 */
    ck_assert_int_eq(rp_noise_cipher_decrypt(&k, pt, sizeof pt, &n, NULL, 0, out + 18, 65535), 0);
    ck_assert_uint_eq(n, 65519);
    ck_assert_mem_eq(pt, "\0\1\x11\x70", 4); /* 70,000 */
    ck_assert_mem_eq(pt + 4, msg, 65515);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&k, pt, sizeof pt, &n, NULL, 0, out + 18 + 65535, 18),
                     0);
    ck_assert_uint_eq((size_t)pt[0] << 8 | pt[1], 70000 - 65515);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&k, pt, sizeof pt, &n, NULL, 0, out + 36 + 65535,
                                             olen - 36 - 65535),
                     0);
    ck_assert_uint_eq(n, 70000 - 65515);
    ck_assert_mem_eq(pt, msg + 65515, n);
    free(out);
    free(msg);
    rp_noise_cipher_wipe(&k);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* ---- round trips -------------------------------------------------------- */

static const size_t sizes[] = {0,     1,     2,     65514,  65515,  65516,  65519,
                               65520, 65535, 65536, 131034, 131035, 131036, RP_P2P_MAX_MESSAGE};

START_TEST(test_roundtrip_sizes)
{
    /* chunk 0 means random chunks */
    static const size_t chunks[] = {SIZE_MAX, 1, 7, 0};

    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            rp_p2p_frame *a, *b;
            size_t olen, len = sizes[i];
            unsigned char *msg = pattern(len, (unsigned)i), *out;
            result r;

            make_pair(&a, &b);
            out = encode(a, msg, len, &olen);
            feed_all(b, out, olen, chunks[c], &r);
            ck_assert_msg(r.rc == 0 && r.count == 1, "size %zu chunk %zu: rc %d count %zu", len,
                          chunks[c], r.rc, r.count);
            ck_assert_uint_eq(r.len[0], len);
            ck_assert(memcmp(r.msg[0], msg, len) == 0);
            ck_assert_int_eq(rp_p2p_frame_eof(b), 0);
            ck_assert_uint_eq(rp_p2p_frame_buffered(b), 0);
            result_free(&r);
            free(out);
            free(msg);
            rp_p2p_frame_free(a);
            rp_p2p_frame_free(b);
        }
    }
}
END_TEST

/* Many messages back to back, both directions, one stream each: the decoder
 * stops at every message, whatever the chunking. */
START_TEST(test_roundtrip_stream)
{
    rp_p2p_frame *a, *b;
    stream ab = {0}, ba = {0};
    size_t lens[40];
    unsigned char *msgs[40];
    result r;

    make_pair(&a, &b);
    for (size_t i = 0; i < 40; i++) {
        lens[i] = i % 5 == 4 ? (size_t)(rng() % 200000) : (size_t)(rng() % 300);
        msgs[i] = pattern(lens[i], (unsigned)(i + 7));
        put_msg(&ab, a, msgs[i], lens[i]);
        put_msg(&ba, b, msgs[i], lens[i]);
    }
    for (int dir = 0; dir < 2; dir++) {
        stream *s = dir ? &ba : &ab;
        rp_p2p_frame *rx = dir ? a : b;
        feed_all(rx, s->p, s->len, 0, &r);
        ck_assert_int_eq(r.rc, 0);
        ck_assert_uint_eq(r.count, 40);
        for (size_t i = 0; i < 40; i++) {
            ck_assert_uint_eq(r.len[i], lens[i]);
            ck_assert(memcmp(r.msg[i], msgs[i], lens[i]) == 0);
        }
        ck_assert_int_eq(rp_p2p_frame_eof(rx), 0);
        result_free(&r);
    }
    /* The same bytes in one call: the decoder stops after each message. */
    {
        rp_p2p_frame *c, *d;
        size_t off = 0, used, got = 0;
        make_pair(&c, &d);
        while (off < ab.len) {
            int rc = rp_p2p_frame_feed(d, &used, ab.p + off, ab.len - off);
            off += used;
            ck_assert_int_eq(rc, 1);
            unsigned char *m;
            size_t len;
            /* Feeding before taking is refused and consumes nothing. */
            ck_assert_int_eq(rp_p2p_frame_feed(d, &used, ab.p + off, ab.len - off),
                             RP_ERR_INVALID_ARG);
            ck_assert_uint_eq(used, 0);
            ck_assert_int_eq(rp_p2p_frame_eof(d), 0);
            ck_assert_int_eq(rp_p2p_frame_take(d, &m, &len), 0);
            ck_assert_uint_eq(len, lens[got]);
            ck_assert(memcmp(m, msgs[got], len) == 0);
            free(m);
            got++;
        }
        ck_assert_uint_eq(got, 40);
        rp_p2p_frame_free(c);
        rp_p2p_frame_free(d);
    }
    for (size_t i = 0; i < 40; i++)
        free(msgs[i]);
    free(ab.p);
    free(ba.p);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* A real handshake, then framed traffic on its CipherStates. */
START_TEST(test_after_handshake)
{
    unsigned char si[32], sr[32], pi[32], pr[32], m[256], pl[256], hi[32], hr[32];
    size_t n, pn, olen;
    rp_noise_handshake i, r;
    rp_noise_cipher is, ir, rs, rr;
    rp_p2p_frame *fa, *fb;
    result res;

    rp_noise_keygen(pi, si);
    rp_noise_keygen(pr, sr);
    ck_assert_int_eq(
        rp_noise_handshake_init(&i, RP_NOISE_INITIATOR, si, (const unsigned char *)"p", 1), 0);
    ck_assert_int_eq(
        rp_noise_handshake_init(&r, RP_NOISE_RESPONDER, sr, (const unsigned char *)"p", 1), 0);
    ck_assert_int_eq(rp_noise_handshake_write(&i, m, sizeof m, &n, NULL, 0), 0);
    ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &pn, m, n), 0);
    ck_assert_int_eq(rp_noise_handshake_write(&r, m, sizeof m, &n, NULL, 0), 0);
    ck_assert_int_eq(rp_noise_handshake_read(&i, pl, sizeof pl, &pn, m, n), 0);
    ck_assert_int_eq(rp_noise_handshake_write(&i, m, sizeof m, &n, NULL, 0), 0);
    ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &pn, m, n), 0);
    ck_assert_int_eq(rp_noise_handshake_split(&i, &is, &ir, hi), 0);
    ck_assert_int_eq(rp_noise_handshake_split(&r, &rs, &rr, hr), 0);
    ck_assert_int_eq(rp_p2p_frame_new(&fa, &is, &ir), 0);
    ck_assert_int_eq(rp_p2p_frame_new(&fb, &rs, &rr), 0);
    /* The session took the keys. */
    ck_assert(!rp_noise_cipher_has_key(&is) && !rp_noise_cipher_has_key(&rr));

    unsigned char *out = encode(fa, (const unsigned char *)"HELLO", 5, &olen);
    feed_all(fb, out, olen, 3, &res);
    ck_assert(res.rc == 0 && res.count == 1 && res.len[0] == 5);
    ck_assert_mem_eq(res.msg[0], "HELLO", 5);
    result_free(&res);
    free(out);
    out = encode(fb, (const unsigned char *)"STATUS", 6, &olen);
    feed_all(fa, out, olen, 1, &res);
    ck_assert(res.rc == 0 && res.count == 1 && res.len[0] == 6);
    result_free(&res);
    free(out);

    sodium_memzero(si, sizeof si);
    sodium_memzero(sr, sizeof sr);
    rp_noise_handshake_wipe(&i);
    rp_noise_handshake_wipe(&r);
    rp_p2p_frame_free(fa);
    rp_p2p_frame_free(fb);
}
END_TEST

/* ---- refusals: the caller's mistakes ---------------------------------- */

START_TEST(test_api_refusals)
{
    static char dummy;
    rp_p2p_frame *a, *b, *f = (rp_p2p_frame *)(void *)&dummy;
    rp_noise_cipher s, r;
    unsigned char out[64], *m = (unsigned char *)out;
    size_t n = 9, len = 9;
    result res;

    /* A CipherState without a key: refused, and both are wiped anyway. */
    cipher_of(&s, 1);
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(rp_p2p_frame_new(&f, &s, &r), RP_ERR_INVALID_ARG);
    ck_assert_ptr_null(f);
    ck_assert(!rp_noise_cipher_has_key(&s));
    rp_p2p_frame_free(NULL);

    make_pair(&a, &b);
    ck_assert_int_eq(rp_p2p_frame_encode(a, out, sizeof out, &n, out, RP_P2P_MAX_MESSAGE + 1),
                     RP_ERR_FRAME_TOO_LARGE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(rp_p2p_frame_encode(a, out, 38, &n, (const unsigned char *)"x", 1),
                     RP_ERR_BUFFER);
    /* Neither used a nonce: the next message is the first b sees. */
    ck_assert_int_eq(rp_p2p_frame_encode(a, out, 39, &n, (const unsigned char *)"x", 1), 0);
    feed_all(b, out, n, SIZE_MAX, &res);
    ck_assert(res.rc == 0 && res.count == 1 && res.msg[0][0] == 'x');
    result_free(&res);
    /* Nothing to take. */
    ck_assert_int_eq(rp_p2p_frame_take(b, &m, &len), RP_ERR_INVALID_ARG);
    ck_assert_ptr_null(m);
    ck_assert_uint_eq(len, 0);
    /* Empty feeds are fine anywhere. */
    ck_assert_int_eq(rp_p2p_frame_feed(b, &n, NULL, 0), 0);
    ck_assert_uint_eq(n, 0);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* ---- refusals: hostile bytes ------------------------------------------ */

/* Every bit of a one-byte message, and bytes in each part of a two-frame
 * one. */
START_TEST(test_tamper)
{
    rp_p2p_frame *a, *b;
    size_t olen;
    unsigned char *msg = pattern(70000, 1), *out;
    result r;

    make_pair(&a, &b);
    out = encode(a, (const unsigned char *)"Z", 1, &olen);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
    for (size_t pos = 0; pos < olen; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            make_pair(&a, &b);
            out[pos] ^= (unsigned char)(1u << bit);
            feed_all(b, out, olen, 1, &r);
            out[pos] ^= (unsigned char)(1u << bit);
            ck_assert_int_eq(r.rc, RP_ERR_NOISE_DECRYPT);
            ck_assert_uint_eq(r.count, 0);
            /* A flipped length fails as soon as its 18 bytes are in. */
            if (pos < 18)
                ck_assert_uint_eq(r.fed, 18);
            else
                ck_assert_uint_eq(r.fed, olen);
            assert_rx_failed(b, RP_ERR_NOISE_DECRYPT);
            rp_p2p_frame_free(a);
            rp_p2p_frame_free(b);
        }
    }
    free(out);

    /* 70,000 bytes in two frames: the first length, the first body (its
     * announcement and its data), the second length, the second body, and
     * the last tag. */
    make_pair(&a, &b);
    out = encode(a, msg, 70000, &olen);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
    const size_t spots[] = {0,          17,         18,         21,        22,      40000,
                            18 + 65534, 18 + 65535, 36 + 65535, olen - 17, olen - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        make_pair(&a, &b);
        out[spots[i]] ^= 0x20;
        feed_all(b, out, olen, 0, &r);
        out[spots[i]] ^= 0x20;
        ck_assert_int_eq(r.rc, RP_ERR_NOISE_DECRYPT);
        ck_assert_uint_eq(r.count, 0);
        assert_rx_failed(b, RP_ERR_NOISE_DECRYPT);
        rp_p2p_frame_free(a);
        rp_p2p_frame_free(b);
    }
    free(out);
    free(msg);
}
END_TEST

/* Frames made by hand with a valid tag but a length the rules forbid. */
START_TEST(test_bad_lengths)
{
    static unsigned char body[RP_P2P_NOISE_MAX];
    struct {
        const char *what;
        unsigned l1, m, body1; /* first frame: L field, announced M, body bytes */
        int second;            /* then a continuation with L field l2 */
        unsigned l2;
        int want;
    } cases[] = {
        {"L above the bound", 65520, 70000, 0, 0, 0, RP_ERR_FRAME_LENGTH},
        {"L of 65,535", 65535, 70000, 0, 0, 0, RP_ERR_FRAME_LENGTH},
        {"first frame shorter than its announcement", 3, 0, 3, 0, 0, RP_ERR_FRAME_LENGTH},
        {"empty first frame", 0, 0, 0, 0, 0, RP_ERR_FRAME_LENGTH},
        {"first frame longer than M needs", 4 + 6, 5, 10, 0, 0, RP_ERR_FRAME_LENGTH},
        {"first frame shorter than M needs", 4 + 4, 5, 8, 0, 0, RP_ERR_FRAME_LENGTH},
        {"first frame not full for a long message", 4 + 100, 70000, 104, 0, 0, RP_ERR_FRAME_LENGTH},
        {"M above the bound", 65519, RP_P2P_MAX_MESSAGE + 1, 65519, 0, 0, RP_ERR_FRAME_TOO_LARGE},
        {"M of 2^32-1", 65519, 0xFFFFFFFFu, 65519, 0, 0, RP_ERR_FRAME_TOO_LARGE},
        {"continuation longer than the rest", 65519, 70000, 65519, 1, 4486, RP_ERR_FRAME_LENGTH},
        {"continuation shorter than the rest", 65519, 70000, 65519, 1, 4484, RP_ERR_FRAME_LENGTH},
        {"continuation not full", 65519, 200000, 65519, 1, 65518, RP_ERR_FRAME_LENGTH},
        {"continuation above the bound", 65519, 200000, 65519, 1, 65520, RP_ERR_FRAME_LENGTH},
        {"empty continuation", 65519, 70000, 65519, 1, 0, RP_ERR_FRAME_LENGTH},
    };

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rp_p2p_frame *a, *b;
        rp_noise_cipher k;
        stream s = {0};
        result r;

        make_pair(&a, &b);
        cipher_of(&k, 1);
        memset(body, 0x5A, sizeof body);
        body[0] = (unsigned char)(cases[c].m >> 24);
        body[1] = (unsigned char)(cases[c].m >> 16);
        body[2] = (unsigned char)(cases[c].m >> 8);
        body[3] = (unsigned char)cases[c].m;
        raw_frame(&s, &k, cases[c].l1, body, cases[c].body1);
        if (cases[c].second)
            raw_frame(&s, &k, cases[c].l2, body, cases[c].l2 <= 65519 ? cases[c].l2 : 0);
        feed_all(b, s.p, s.len, 1, &r);
        ck_assert_msg(r.rc == cases[c].want, "%s: got %d (%s)", cases[c].what, r.rc,
                      rp_strerror(r.rc));
        ck_assert_uint_eq(r.count, 0);
        assert_rx_failed(b, cases[c].want);
        result_free(&r);
        free(s.p);
        rp_noise_cipher_wipe(&k);
        rp_p2p_frame_free(a);
        rp_p2p_frame_free(b);
    }
}
END_TEST

/* A length field is judged before its body is waited for; an announcement
 * above the bound is refused with nothing allocated, and a legitimate large
 * one costs only what has arrived. */
START_TEST(test_memory_bound)
{
    static unsigned char body[RP_P2P_NOISE_MAX];
    rp_p2p_frame *a, *b;
    rp_noise_cipher k;
    stream s = {0};
    size_t used, olen;
    unsigned char *msg, *out;

    /* L = 65,520: refused when its 18 bytes are in, with no body sent. */
    make_pair(&a, &b);
    cipher_of(&k, 1);
    raw_frame(&s, &k, 65520, body, 0);
    ck_assert_int_eq(rp_p2p_frame_feed(b, &used, s.p, 18), RP_ERR_FRAME_LENGTH);
    ck_assert_uint_eq(used, 18);
    rp_p2p_frame_free(b);
    rp_p2p_frame_free(a);
    rp_noise_cipher_wipe(&k);
    s.len = 0;

    /* M above the bound: nothing allocated. */
    make_pair(&a, &b);
    cipher_of(&k, 1);
    memcpy(body, "\x00\x50\x00\x01", 4); /* 5 MiB + 1 */
    raw_frame(&s, &k, 65519, body, 65519);
    ck_assert_int_eq(rp_p2p_frame_feed(b, &used, s.p, s.len), RP_ERR_FRAME_TOO_LARGE);
    ck_assert_uint_eq(rp_p2p_frame_buffered(b), 0);
    rp_p2p_frame_free(b);
    rp_p2p_frame_free(a);
    rp_noise_cipher_wipe(&k);

    /* 5 MiB announced and sent one frame at a time: the buffer follows what
     * has arrived (at most twice it), never the announcement. */
    make_pair(&a, &b);
    msg = pattern(RP_P2P_MAX_MESSAGE, 9);
    out = encode(a, msg, RP_P2P_MAX_MESSAGE, &olen);
    {
        size_t off = 0, got = 0;
        while (off < olen) {
            /* One frame: its 18-byte length, then the body that length
             * gives (the first is full; the last holds the rest). */
            size_t body_len = got == 0 ? RP_P2P_FRAME_MAX_BODY
                              : RP_P2P_MAX_MESSAGE - got < RP_P2P_FRAME_MAX_BODY
                                  ? RP_P2P_MAX_MESSAGE - got
                                  : RP_P2P_FRAME_MAX_BODY;
            ck_assert_int_eq(rp_p2p_frame_feed(b, &used, out + off, 18), 0);
            off += 18;
            int rc = rp_p2p_frame_feed(b, &used, out + off, body_len + 16);
            ck_assert_uint_eq(used, body_len + 16);
            off += used;
            got += got == 0 ? body_len - RP_P2P_FRAME_ANNOUNCE : body_len;
            ck_assert_uint_le(rp_p2p_frame_buffered(b), 2 * got);
            ck_assert_uint_ge(rp_p2p_frame_buffered(b), got);
            if (off < olen) {
                ck_assert_int_eq(rc, 0);
                ck_assert_int_eq(rp_p2p_frame_eof(b), RP_ERR_TRUNCATED);
            } else {
                ck_assert_int_eq(rc, 1);
            }
        }
        ck_assert_uint_eq(got, RP_P2P_MAX_MESSAGE);
        unsigned char *m;
        size_t len;
        ck_assert_int_eq(rp_p2p_frame_take(b, &m, &len), 0);
        ck_assert_uint_eq(len, RP_P2P_MAX_MESSAGE);
        ck_assert(memcmp(m, msg, len) == 0);
        ck_assert_uint_eq(rp_p2p_frame_buffered(b), 0);
        free(m);
    }
    free(out);
    free(msg);
    free(s.p);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* Every prefix of a stream of three messages: the decoder delivers exactly
 * the messages the prefix completes, and eof() says TRUNCATED everywhere
 * but on a message boundary. */
START_TEST(test_truncated)
{
    rp_p2p_frame *a, *b;
    stream s = {0};
    size_t bounds[3], used;
    unsigned char *big = pattern(70000, 4);
    size_t got = 0, bi = 0;

    make_pair(&a, &b);
    put_msg(&s, a, (const unsigned char *)"one", 3);
    bounds[0] = s.len;
    put_msg(&s, a, big, 70000);
    bounds[1] = s.len;
    put_msg(&s, a, NULL, 0);
    bounds[2] = s.len;

    ck_assert_int_eq(rp_p2p_frame_eof(b), 0);
    for (size_t off = 0; off < s.len; off++) {
        int rc = rp_p2p_frame_feed(b, &used, s.p + off, 1);
        if (used != 1)
            ck_abort_msg("consumed %zu at %zu", used, off);
        if (off + 1 == bounds[bi]) {
            unsigned char *m;
            size_t len;
            ck_assert_int_eq(rc, 1);
            ck_assert_int_eq(rp_p2p_frame_eof(b), 0);
            ck_assert_int_eq(rp_p2p_frame_take(b, &m, &len), 0);
            ck_assert_uint_eq(len, bi == 0 ? 3 : bi == 1 ? 70000 : 0);
            free(m);
            got++;
            bi++;
        } else if (rc != 0 || rp_p2p_frame_eof(b) != RP_ERR_TRUNCATED) {
            ck_abort_msg("at %zu: feed %d, eof %d", off, rc, rp_p2p_frame_eof(b));
        }
    }
    ck_assert_uint_eq(got, 3);
    ck_assert_int_eq(rp_p2p_frame_eof(b), 0);
    free(big);
    free(s.p);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* Frames out of order, dropped, replayed or reflected: each moves the
 * nonce, so each fails to authenticate. */
START_TEST(test_reorder_replay)
{
    rp_p2p_frame *a, *b;
    size_t l1, l2, l3, lb;
    unsigned char *big = pattern(70000, 5);
    unsigned char *m1, *m2, *m3, *mb;
    stream s;
    result r;

    make_pair(&a, &b);
    m1 = encode(a, (const unsigned char *)"first", 5, &l1);
    m2 = encode(a, (const unsigned char *)"second", 6, &l2);
    m3 = encode(a, big, 70000, &l3); /* frames of 18 + 65,535 and 18 + 4,501 bytes */
    mb = encode(b, (const unsigned char *)"reflected", 9, &lb);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);

    struct {
        const char *what;
        const unsigned char *part[4];
        size_t len[4];
        size_t want_count;
    } cases[] = {
        {"swapped", {m2, m1}, {l2, l1}, 0},
        {"replayed", {m1, m1}, {l1, l1}, 1},
        {"dropped", {m2}, {l2}, 0},
        {"replayed later", {m1, m2, m1}, {l1, l2, l1}, 2},
        {"a frame's length replayed", {m1, m1}, {l1, 18}, 1},
        {"frames of one message swapped",
         {m1, m2, m3 + 18 + 65535, m3},
         {l1, l2, l3 - 18 - 65535, 18 + 65535},
         2},
        {"a message's second frame twice",
         {m1, m2, m3, m3 + 18 + 65535},
         {l1, l2, l3, l3 - 18 - 65535},
         3},
        {"reflected", {mb}, {lb}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(&s, 0, sizeof s);
        for (int p = 0; p < 4 && cases[c].part[p]; p++)
            put(&s, cases[c].part[p], cases[c].len[p]);
        make_pair(&a, &b);
        feed_all(b, s.p, s.len, 0, &r);
        ck_assert_msg(r.rc == RP_ERR_NOISE_DECRYPT, "%s: rc %d", cases[c].what, r.rc);
        ck_assert_msg(r.count == cases[c].want_count, "%s: %zu messages", cases[c].what, r.count);
        assert_rx_failed(b, RP_ERR_NOISE_DECRYPT);
        result_free(&r);
        free(s.p);
        rp_p2p_frame_free(a);
        rp_p2p_frame_free(b);
    }
    free(m1);
    free(m2);
    free(m3);
    free(mb);
    free(big);
}
END_TEST

/* ---- rekeying --------------------------------------------------------- */

/* Both directions rekey after every 65,536 frames. The 65,537th frame made
 * by hand with Rekey()'s key is byte for byte the sender's; made with the old
 * key it is refused. A message spanning the interval decodes too. */
START_TEST(test_rekey_interval)
{
    const uint64_t I = RP_P2P_FRAME_REKEY_INTERVAL;
    rp_p2p_frame *a, *b, *b2;
    rp_noise_cipher old, rekeyed;
    stream ab = {0}, ba = {0}, forged = {0};
    unsigned char body[4 + 3] = {0, 0, 0, 3, 'n', 'e', 'w'};
    unsigned char *big = pattern(200000, 6);
    result r;

    make_pair(&a, &b);
    for (uint64_t i = 0; i < I; i++) {
        put_msg(&ab, a, NULL, 0);
        put_msg(&ba, b, (const unsigned char *)"x", 1);
    }
    size_t before = ab.len; /* the first 65,536 frames */
    put_msg(&ab, a, (const unsigned char *)"new", 3);

    /* Frame 65,537 by hand. */
    cipher_of(&old, 1);
    rp_noise_cipher_set_nonce_for_testing(&old, 2 * I);
    rekeyed = old;
    ck_assert_int_eq(rp_noise_cipher_rekey(&rekeyed), 0);
    raw_frame(&forged, &rekeyed, 7, body, 7);
    ck_assert_uint_eq(forged.len, ab.len - before);
    ck_assert(memcmp(forged.p, ab.p + before, forged.len) == 0);
    forged.len = 0;
    raw_frame(&forged, &old, 7, body, 7);
    ck_assert(memcmp(forged.p, ab.p + before, forged.len) != 0);

    /* The receiver takes the sender's, refuses the old key's. */
    feed_all(b, ab.p, ab.len, 0, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.count, I + 1);
    ck_assert_mem_eq(r.msg[I], "new", 3);
    result_free(&r);
    {
        rp_p2p_frame *a2;
        make_pair(&a2, &b2);
        feed_all(b2, ab.p, before, 0, &r);
        ck_assert(r.rc == 0 && r.count == I);
        result_free(&r);
        feed_all(b2, forged.p, forged.len, 1, &r);
        ck_assert_int_eq(r.rc, RP_ERR_NOISE_DECRYPT);
        ck_assert_uint_eq(r.count, 0);
        result_free(&r);
        rp_p2p_frame_free(a2);
        rp_p2p_frame_free(b2);
    }

    /* The other direction, and a message whose frames straddle the next
     * interval: a has sent 65,537 frames, so 65,534 one-frame messages
     * bring it to 131,071, and a four-frame message (200,000 bytes) has its
     * first frame before the rekey and three after. */
    feed_all(a, ba.p, ba.len, 7, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.count, I);
    result_free(&r);
    ab.len = 0;
    for (uint64_t i = 0; i < I - 2; i++)
        put_msg(&ab, a, NULL, 0);
    put_msg(&ab, a, big, 200000);
    put_msg(&ab, a, (const unsigned char *)"after", 5);
    feed_all(b, ab.p, ab.len, 0, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.count, I);
    ck_assert_uint_eq(r.len[I - 2], 200000);
    ck_assert(memcmp(r.msg[I - 2], big, 200000) == 0);
    ck_assert_mem_eq(r.msg[I - 1], "after", 5);
    result_free(&r);

    rp_noise_cipher_wipe(&old);
    rp_noise_cipher_wipe(&rekeyed);
    free(ab.p);
    free(ba.p);
    free(forged.p);
    free(big);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* Sessions started on CipherStates near the end of their nonces: the last
 * whole frame goes through, a message that would need nonces past 2^64-2 is
 * refused before a byte is written, and the sending half stays refused; the
 * receiving half refuses at the same place. */
START_TEST(test_nonce_exhaustion)
{
    rp_noise_cipher s, r;
    rp_p2p_frame *a, *b;
    unsigned char out[256];
    size_t n, used;
    stream big = {0};

    cipher_of(&s, 1);
    cipher_of(&r, 2);
    rp_noise_cipher_set_nonce_for_testing(&s, UINT64_MAX - 3);
    ck_assert_int_eq(rp_p2p_frame_new(&a, &s, &r), 0);
    cipher_of(&s, 2);
    cipher_of(&r, 1);
    rp_noise_cipher_set_nonce_for_testing(&r, UINT64_MAX - 3);
    ck_assert_int_eq(rp_p2p_frame_new(&b, &s, &r), 0);

    /* Two nonces left below 2^64-1 ... */
    ck_assert_int_eq(rp_p2p_frame_encode(a, out, sizeof out, &n, (const unsigned char *)"last", 4),
                     0);
    ck_assert_int_eq(rp_p2p_frame_feed(b, &used, out, n), 1);
    {
        unsigned char *m;
        size_t len;
        ck_assert_int_eq(rp_p2p_frame_take(b, &m, &len), 0);
        ck_assert_mem_eq(m, "last", 4);
        free(m);
    }
    /* ... one left: no frame fits. */
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(rp_p2p_frame_encode(a, out, sizeof out, &n, (const unsigned char *)"more", 4),
                     RP_ERR_NOISE_NONCE);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(out[0], 0xAA);
    ck_assert_int_eq(rp_p2p_frame_encode(a, out, sizeof out, &n, NULL, 0), RP_ERR_NOISE_NONCE);

    /* The receiver: a length under nonce 2^64-2 would decrypt, but its body
     * needs 2^64-1. Feed it a frame made at those nonces by hand. */
    {
        rp_noise_cipher k;
        cipher_of(&k, 1);
        rp_noise_cipher_set_nonce_for_testing(&k, UINT64_MAX - 1);
        unsigned char l[2] = {0, 5};
        ck_assert_int_eq(rp_noise_cipher_encrypt(&k, out, sizeof out, &n, NULL, 0, l, 2), 0);
        put(&big, out, n);
        memset(out, 0, 21); /* no body can be encrypted there: any bytes */
        put(&big, out, 21);
        rp_noise_cipher_wipe(&k);
    }
    ck_assert_int_eq(rp_p2p_frame_feed(b, &used, big.p, big.len), RP_ERR_NOISE_NONCE);
    assert_rx_failed(b, RP_ERR_NOISE_NONCE);
    free(big.p);
    rp_p2p_frame_free(a);
    rp_p2p_frame_free(b);
}
END_TEST

/* ---- the fuzz target's seeds ------------------------------------------ */

static void write_seed(const char *dir, const char *name, unsigned char chunking, const stream *s)
{
    char path[4096];
    FILE *f;

    ck_assert_int_lt(snprintf(path, sizeof path, "%s/%s", dir, name), (int)sizeof path);
    f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(&chunking, 1, 1, f), 1);
    if (s->len)
        ck_assert_uint_eq(fwrite(s->p, 1, s->len, f), s->len);
    ck_assert_int_eq(fclose(f), 0);
}

/* A sending session on fuzz_frame's fixed key. */
static rp_p2p_frame *fuzz_sender(void)
{
    unsigned char k[32];
    rp_noise_cipher s, r;
    rp_p2p_frame *f;

    rp_fuzz_key(k, RP_FUZZ_FRAME_KEY);
    rp_noise_cipher_init(&s, k);
    rp_noise_cipher_init(&r, k);
    ck_assert_int_eq(rp_p2p_frame_new(&f, &s, &r), 0);
    return f;
}

START_TEST(test_write_fuzz_corpus)
{
    const char *dir = getenv("RP_WRITE_FRAME_CORPUS");
    unsigned char k[32], body[RP_P2P_NOISE_MAX];
    unsigned char *big = pattern(70000, 8);
    rp_noise_cipher cs;
    rp_p2p_frame *f;
    stream s = {0};

    if (dir == NULL) {
        free(big);
        return;
    }
    rp_fuzz_key(k, RP_FUZZ_FRAME_KEY);

    f = fuzz_sender();
    put_msg(&s, f, NULL, 0);
    put_msg(&s, f, (const unsigned char *)"\x03\x00\x00\x00\x00\x00\x00\x00\x2a", 9); /* a PING */
    put_msg(&s, f, big, 300);
    write_seed(dir, "valid-small", 0, &s);
    write_seed(dir, "valid-small-bytewise", 1, &s);
    s.len -= 10;
    write_seed(dir, "truncated", 6, &s);
    s.len += 10;
    s.p[40] ^= 1;
    write_seed(dir, "tampered", 0, &s);
    rp_p2p_frame_free(f);

    s.len = 0;
    f = fuzz_sender();
    put_msg(&s, f, big, 70000);
    put_msg(&s, f, (const unsigned char *)"tail", 4);
    write_seed(dir, "valid-two-frames", 200, &s);
    rp_p2p_frame_free(f);

    s.len = 0;
    rp_noise_cipher_init(&cs, k);
    memset(body, 0, sizeof body);
    memcpy(body, "\x00\x50\x00\x01", 4);
    raw_frame(&s, &cs, 65519, body, 65519);
    write_seed(dir, "too-large", 0, &s);

    s.len = 0;
    rp_noise_cipher_init(&cs, k);
    raw_frame(&s, &cs, 65520, body, 0);
    write_seed(dir, "length-above-bound", 0, &s);

    s.len = 0;
    rp_noise_cipher_init(&cs, k);
    memcpy(body, "\x00\x01\x11\x70", 4); /* 70,000 */
    raw_frame(&s, &cs, 65519, body, 65519);
    raw_frame(&s, &cs, 100, body, 100);
    write_seed(dir, "bad-continuation", 3, &s);

    s.len = 0;
    write_seed(dir, "empty", 0, &s);

    rp_noise_cipher_wipe(&cs);
    sodium_memzero(k, sizeof k);
    free(s.p);
    free(big);
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *s = suite_create("frame");
    TCase *tc;

    tc = tcase_create("layout");
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_layout);
    suite_add_tcase(s, tc);

    tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_roundtrip_sizes);
    tcase_add_test(tc, test_roundtrip_stream);
    tcase_add_test(tc, test_after_handshake);
    suite_add_tcase(s, tc);

    tc = tcase_create("refusals");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_api_refusals);
    tcase_add_test(tc, test_tamper);
    tcase_add_test(tc, test_bad_lengths);
    tcase_add_test(tc, test_memory_bound);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_reorder_replay);
    tcase_add_test(tc, test_nonce_exhaustion);
    suite_add_tcase(s, tc);

    tc = tcase_create("rekey");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_rekey_interval);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus");
    tcase_add_test(tc, test_write_fuzz_corpus);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    const char *env = getenv("RP_TEST_SEED");

    if (rp_crypto_init() != 0) {
        fputs("rp_crypto_init failed\n", stderr);
        return 1;
    }
    test_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    printf("test_frame: RP_TEST_SEED=%" PRIu64 "\n", test_seed);
    rng_state = test_seed;

    SRunner *sr = srunner_create(frame_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
