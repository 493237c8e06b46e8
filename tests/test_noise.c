/* Check suite for crypto/noise: Noise_XX_25519_ChaChaPoly_SHA256.
 *
 * The known-answer test reproduces $RP_VECTORS/noise-xx-25519-chachapoly-
 * sha256.json (the cacophony vector) byte for byte: the three handshake
 * messages, the handshake hash and the transport messages in both
 * directions. The rest is refusals, each checked for its error code, for a
 * handshake that refuses every later call, and for zeroed outputs:
 * tampering with every byte of every message, every truncation, messages out
 * of order, replays, every known small-order X25519 point as a remote
 * ephemeral and static key (the static ones in messages built by hand with
 * the SymmetricState functions, as a hostile peer would), a wrong prologue,
 * nonce exhaustion and Rekey.
 *
 * RP_WRITE_NOISE_CORPUS=DIR build/tests/test_noise writes the seed corpus of
 * tests/fuzz/fuzz_noise.c into DIR.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/noise.h"
#include "crypto/sig.h"
#include "tests/fuzz/session_keys.h"

/* ---- helpers ---------------------------------------------------------- */

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static size_t unhex_var(unsigned char *out, size_t cap, const char *hex)
{
    size_t n = 0;
    ck_assert_int_eq(rp_hex_decode_var(out, cap, &n, hex, strlen(hex)), 0);
    return n;
}

static void key_of(unsigned char k[32], unsigned char tag)
{
    for (size_t i = 0; i < 32; i++)
        k[i] = (unsigned char)(tag * 31u + i);
}

/* A handshake that has failed: refuses everything, holds nothing. */
static void assert_failed(rp_noise_handshake *hs)
{
    unsigned char buf[128], rs[32], h[32];
    size_t n = 99;
    rp_noise_cipher a, b;

    ck_assert_int_eq(rp_noise_handshake_action(hs), RP_NOISE_FAILED);
    ck_assert(all_zero(hs, sizeof *hs));
    ck_assert_int_eq(rp_noise_handshake_write(hs, buf, sizeof buf, &n, NULL, 0),
                     RP_ERR_NOISE_STATE);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(rp_noise_handshake_read(hs, buf, sizeof buf, &n, buf, 96), RP_ERR_NOISE_STATE);
    ck_assert_uint_eq(n, 0);
    memset(rs, 0xAA, sizeof rs);
    ck_assert_int_eq(rp_noise_handshake_remote_static(hs, rs), RP_ERR_NOISE_STATE);
    ck_assert(all_zero(rs, sizeof rs));
    ck_assert_int_eq(rp_noise_handshake_split(hs, &a, &b, h), RP_ERR_NOISE_STATE);
    ck_assert(!rp_noise_cipher_has_key(&a) && !rp_noise_cipher_has_key(&b));
    ck_assert(all_zero(h, sizeof h));
}

/* Two fresh handshakes with fixed static and ephemeral keys. */
typedef struct pair {
    rp_noise_handshake i, r;
    unsigned char i_pub[32], r_pub[32];
} pair;

static void pair_init(pair *p, const char *prologue_i, const char *prologue_r)
{
    unsigned char si[32], sr[32], ei[32], er[32];

    key_of(si, 1);
    key_of(sr, 2);
    key_of(ei, 3);
    key_of(er, 4);
    ck_assert_int_eq(rp_noise_pubkey(p->i_pub, si), 0);
    ck_assert_int_eq(rp_noise_pubkey(p->r_pub, sr), 0);
    ck_assert_int_eq(rp_noise_handshake_init(&p->i, RP_NOISE_INITIATOR, si,
                                             (const unsigned char *)prologue_i, strlen(prologue_i)),
                     0);
    ck_assert_int_eq(rp_noise_handshake_init(&p->r, RP_NOISE_RESPONDER, sr,
                                             (const unsigned char *)prologue_r, strlen(prologue_r)),
                     0);
    ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(&p->i, ei), 0);
    ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(&p->r, er), 0);
    sodium_memzero(si, sizeof si);
    sodium_memzero(sr, sizeof sr);
}

/* The three messages of an honest run, each with a short payload. */
typedef struct transcript {
    unsigned char m[3][RP_NOISE_MAX_MSG];
    size_t len[3];
} transcript;

static const char *const payloads[3] = {"hello", "from the responder", "and back"};

/* Write message idx on its writer; the peer has not read it. */
static void write_msg(pair *p, transcript *t, int idx)
{
    rp_noise_handshake *w = idx == 1 ? &p->r : &p->i;
    ck_assert_int_eq(rp_noise_handshake_action(w), RP_NOISE_WRITE);
    ck_assert_int_eq(rp_noise_handshake_write(w, t->m[idx], sizeof t->m[idx], &t->len[idx],
                                              (const unsigned char *)payloads[idx],
                                              strlen(payloads[idx])),
                     0);
}

static void read_msg(pair *p, const transcript *t, int idx)
{
    rp_noise_handshake *rd = idx == 1 ? &p->i : &p->r;
    unsigned char pl[256];
    size_t n;

    ck_assert_int_eq(rp_noise_handshake_action(rd), RP_NOISE_READ);
    ck_assert_int_eq(rp_noise_handshake_read(rd, pl, sizeof pl, &n, t->m[idx], t->len[idx]), 0);
    ck_assert_uint_eq(n, strlen(payloads[idx]));
    ck_assert_mem_eq(pl, payloads[idx], n);
}

/* Run messages [0, upto) of an honest handshake. */
static void run_until(pair *p, transcript *t, int upto)
{
    for (int i = 0; i < upto; i++) {
        write_msg(p, t, i);
        read_msg(p, t, i);
    }
}

/* ---- key pairs -------------------------------------------------------- */

START_TEST(test_keygen)
{
    unsigned char pub[32], priv[32], again[32];

    rp_noise_keygen(pub, priv);
    ck_assert(!all_zero(priv, 32));
    ck_assert_int_eq(rp_noise_pubkey(again, priv), 0);
    ck_assert_mem_eq(again, pub, 32);
    sodium_memzero(priv, sizeof priv);
}
END_TEST

/* ---- the known-answer vector ----------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    ck_assert_msg(s != NULL, "vector field %s missing", key);
    return s;
}

START_TEST(test_vectors)
{
    const char *dir = getenv("RP_VECTORS");
    char path[4096];
    json_error_t jerr;
    size_t ran = 0;

    ck_assert_msg(dir != NULL, "RP_VECTORS is not set");
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/noise-xx-25519-chachapoly-sha256.json", dir),
                     (int)sizeof path);
    json_t *root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", path, jerr.text);
    json_t *vectors = json_object_get(root, "vectors");
    ck_assert(json_is_array(vectors));

    for (size_t v = 0; v < json_array_size(vectors); v++) {
        json_t *vec = json_array_get(vectors, v);
        static unsigned char want[RP_NOISE_MAX_MSG], got[RP_NOISE_MAX_MSG];
        unsigned char si[32], sr[32], ei[32], er[32], pro_i[256], pro_r[256], hash[32];
        unsigned char pl[1024], si_pub[32], sr_pub[32], rs[32], hi[32], hr[32];
        size_t npi, npr, wlen, glen, plen;
        rp_noise_handshake hsi, hsr;
        rp_noise_cipher i_send, i_recv, r_send, r_recv;

        if (strcmp(jstr(vec, "protocol_name"), RP_NOISE_PROTOCOL_NAME) != 0)
            continue;
        ck_assert_uint_eq(unhex_var(si, 32, jstr(vec, "init_static")), 32);
        ck_assert_uint_eq(unhex_var(sr, 32, jstr(vec, "resp_static")), 32);
        ck_assert_uint_eq(unhex_var(ei, 32, jstr(vec, "init_ephemeral")), 32);
        ck_assert_uint_eq(unhex_var(er, 32, jstr(vec, "resp_ephemeral")), 32);
        ck_assert_uint_eq(unhex_var(hash, 32, jstr(vec, "handshake_hash")), 32);
        npi = unhex_var(pro_i, sizeof pro_i, jstr(vec, "init_prologue"));
        npr = unhex_var(pro_r, sizeof pro_r, jstr(vec, "resp_prologue"));
        ck_assert_int_eq(rp_noise_pubkey(si_pub, si), 0);
        ck_assert_int_eq(rp_noise_pubkey(sr_pub, sr), 0);

        ck_assert_int_eq(rp_noise_handshake_init(&hsi, RP_NOISE_INITIATOR, si, pro_i, npi), 0);
        ck_assert_int_eq(rp_noise_handshake_init(&hsr, RP_NOISE_RESPONDER, sr, pro_r, npr), 0);
        ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(&hsi, ei), 0);
        ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(&hsr, er), 0);

        json_t *msgs = json_object_get(vec, "messages");
        ck_assert_uint_ge(json_array_size(msgs), 4); /* handshake and transport */
        for (size_t m = 0; m < json_array_size(msgs); m++) {
            json_t *msg = json_array_get(msgs, m);
            unsigned char payload[1024];
            size_t paylen = unhex_var(payload, sizeof payload, jstr(msg, "payload"));
            /* Messages alternate, the initiator first, through the
             * handshake and on into transport. */
            int from_init = m % 2 == 0;

            wlen = unhex_var(want, sizeof want, jstr(msg, "ciphertext"));
            if (m < 3) {
                rp_noise_handshake *w = from_init ? &hsi : &hsr;
                rp_noise_handshake *r = from_init ? &hsr : &hsi;
                ck_assert_int_eq(
                    rp_noise_handshake_write(w, got, sizeof got, &glen, payload, paylen), 0);
                ck_assert_int_eq(rp_noise_handshake_read(r, pl, sizeof pl, &plen, got, glen), 0);
                if (m == 2) {
                    ck_assert_int_eq(rp_noise_handshake_split(&hsi, &i_send, &i_recv, hi), 0);
                    ck_assert_int_eq(rp_noise_handshake_split(&hsr, &r_send, &r_recv, hr), 0);
                    ck_assert_mem_eq(hi, hash, 32);
                    ck_assert_mem_eq(hr, hash, 32);
                }
            } else {
                rp_noise_cipher *w = from_init ? &i_send : &r_send;
                rp_noise_cipher *r = from_init ? &r_recv : &i_recv;
                ck_assert_int_eq(
                    rp_noise_cipher_encrypt(w, got, sizeof got, &glen, NULL, 0, payload, paylen),
                    0);
                ck_assert_int_eq(
                    rp_noise_cipher_decrypt(r, pl, sizeof pl, &plen, NULL, 0, got, glen), 0);
            }
            ck_assert_msg(glen == wlen && memcmp(got, want, wlen) == 0,
                          "vector %zu message %zu differs", v, m);
            ck_assert_uint_eq(plen, paylen);
            ck_assert_mem_eq(pl, payload, paylen);
            ran++;
        }
        ck_assert_int_eq(rp_noise_handshake_remote_static(&hsi, rs), 0);
        ck_assert_mem_eq(rs, sr_pub, 32);
        ck_assert_int_eq(rp_noise_handshake_remote_static(&hsr, rs), 0);
        ck_assert_mem_eq(rs, si_pub, 32);
        ck_assert_int_eq(rp_noise_handshake_action(&hsi), RP_NOISE_DONE);

        /* Split kept only what is public. */
        ck_assert(all_zero(hsi.s, 32) && all_zero(hsi.e, 32) && all_zero(hsi.ss.ck, 32) &&
                  all_zero(hsi.ss.cs.k, 32) && !hsi.ss.cs.has_key);
        ck_assert(all_zero(hsr.s, 32) && all_zero(hsr.e, 32) && all_zero(hsr.ss.ck, 32) &&
                  all_zero(hsr.ss.cs.k, 32) && !hsr.ss.cs.has_key);
        ck_assert_mem_eq(hsi.ss.h, hash, 32);

        rp_noise_cipher_wipe(&i_send);
        rp_noise_cipher_wipe(&i_recv);
        rp_noise_cipher_wipe(&r_send);
        rp_noise_cipher_wipe(&r_recv);
        rp_noise_handshake_wipe(&hsi);
        rp_noise_handshake_wipe(&hsr);
        ck_assert(all_zero(&hsi, sizeof hsi));
        ck_assert(all_zero(&i_send, sizeof i_send));
    }
    ck_assert_uint_ge(ran, 6);
    json_decref(root);
}
END_TEST

/* ---- honest handshakes ----------------------------------------------- */

START_TEST(test_roundtrip_random_keys)
{
    unsigned char si[32], sr[32], si_pub[32], sr_pub[32], rs[32], hi[32], hr[32];
    static unsigned char msg[RP_NOISE_MAX_MSG], pl[RP_NOISE_MAX_MSG], big[RP_NOISE_MAX_MSG];
    size_t n, plen;
    rp_noise_handshake i, r;
    rp_noise_cipher is, ir, rsend, rrecv;

    rp_noise_keygen(si_pub, si);
    rp_noise_keygen(sr_pub, sr);
    randombytes_buf(big, sizeof big);
    ck_assert_int_eq(rp_noise_handshake_init(&i, RP_NOISE_INITIATOR, si, NULL, 0), 0);
    ck_assert_int_eq(rp_noise_handshake_init(&r, RP_NOISE_RESPONDER, sr, NULL, 0), 0);
    ck_assert_int_eq(rp_noise_handshake_action(&i), RP_NOISE_WRITE);
    ck_assert_int_eq(rp_noise_handshake_action(&r), RP_NOISE_READ);

    /* The largest payload of every message: each message is 65,535 bytes. */
    ck_assert_int_eq(
        rp_noise_handshake_write(&i, msg, sizeof msg, &n, big, RP_NOISE_XX_MAX_PAYLOAD1), 0);
    ck_assert_uint_eq(n, RP_NOISE_MAX_MSG);
    ck_assert_mem_eq(msg + 32, big, RP_NOISE_XX_MAX_PAYLOAD1); /* message 1 is in the clear */
    ck_assert_int_eq(rp_noise_handshake_remote_static(&r, rs), RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &plen, msg, n), 0);
    ck_assert_uint_eq(plen, RP_NOISE_XX_MAX_PAYLOAD1);
    ck_assert_mem_eq(pl, big, plen);

    ck_assert_int_eq(
        rp_noise_handshake_write(&r, msg, sizeof msg, &n, big, RP_NOISE_XX_MAX_PAYLOAD2), 0);
    ck_assert_uint_eq(n, RP_NOISE_MAX_MSG);
    ck_assert_int_eq(rp_noise_handshake_remote_static(&i, rs), RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_read(&i, pl, sizeof pl, &plen, msg, n), 0);
    ck_assert_uint_eq(plen, RP_NOISE_XX_MAX_PAYLOAD2);
    ck_assert_mem_eq(pl, big, plen);
    ck_assert_int_eq(rp_noise_handshake_remote_static(&i, rs), 0);
    ck_assert_mem_eq(rs, sr_pub, 32);
    ck_assert_int_eq(rp_noise_handshake_remote_static(&r, rs), RP_ERR_NOISE_STATE);

    ck_assert_int_eq(
        rp_noise_handshake_write(&i, msg, sizeof msg, &n, big, RP_NOISE_XX_MAX_PAYLOAD3), 0);
    ck_assert_uint_eq(n, RP_NOISE_MAX_MSG);
    ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &plen, msg, n), 0);
    ck_assert_uint_eq(plen, RP_NOISE_XX_MAX_PAYLOAD3);
    ck_assert_mem_eq(pl, big, plen);
    ck_assert_int_eq(rp_noise_handshake_remote_static(&r, rs), 0);
    ck_assert_mem_eq(rs, si_pub, 32);

    ck_assert_int_eq(rp_noise_handshake_action(&i), RP_NOISE_SPLIT);
    ck_assert_int_eq(rp_noise_handshake_action(&r), RP_NOISE_SPLIT);
    ck_assert_int_eq(rp_noise_handshake_split(&i, &is, &ir, hi), 0);
    ck_assert_int_eq(rp_noise_handshake_split(&r, &rsend, &rrecv, hr), 0);
    ck_assert_mem_eq(hi, hr, 32);
    /* The two directions have different keys. */
    ck_assert_mem_eq(is.k, rrecv.k, 32);
    ck_assert_mem_eq(ir.k, rsend.k, 32);
    ck_assert(memcmp(is.k, ir.k, 32) != 0);
    /* Split twice is out of order. */
    ck_assert_int_eq(rp_noise_handshake_split(&i, &is, &ir, hi), RP_ERR_NOISE_STATE);
    ck_assert(!rp_noise_cipher_has_key(&is));

    /* A remote static key survives the split; nothing else is asked of it. */
    ck_assert_int_eq(rp_noise_handshake_remote_static(&r, rs), 0);
    ck_assert_mem_eq(rs, si_pub, 32);

    sodium_memzero(si, sizeof si);
    sodium_memzero(sr, sizeof sr);
    rp_noise_cipher_wipe(&ir);
    rp_noise_cipher_wipe(&rsend);
    rp_noise_cipher_wipe(&rrecv);
    rp_noise_handshake_wipe(&i);
    rp_noise_handshake_wipe(&r);
    ck_assert_int_eq(rp_noise_handshake_action(&i), RP_NOISE_FAILED);
}
END_TEST

/* Two handshakes with fresh random ephemerals never share a key. */
START_TEST(test_fresh_ephemerals)
{
    unsigned char s[32], pub[32], out[2][128];
    size_t n;

    rp_noise_keygen(pub, s);
    for (int k = 0; k < 2; k++) {
        rp_noise_handshake hs;
        ck_assert_int_eq(rp_noise_handshake_init(&hs, RP_NOISE_INITIATOR, s, NULL, 0), 0);
        ck_assert_int_eq(rp_noise_handshake_write(&hs, out[k], sizeof out[k], &n, NULL, 0), 0);
        ck_assert_uint_eq(n, 32);
        rp_noise_handshake_wipe(&hs);
    }
    ck_assert(memcmp(out[0], out[1], 32) != 0);
    sodium_memzero(s, sizeof s);
}
END_TEST

/* ---- refusals: the caller's mistakes --------------------------------- */

START_TEST(test_api_refusals)
{
    static unsigned char big[RP_NOISE_MAX_PROLOGUE + 1];
    unsigned char s[32], e[32], buf[256], pl[256];
    size_t n;
    rp_noise_handshake hs;
    pair p;
    transcript *t = malloc(sizeof *t);

    ck_assert_ptr_nonnull(t);
    key_of(s, 9);
    ck_assert_int_eq(rp_noise_handshake_init(&hs, (rp_noise_role)3, s, NULL, 0),
                     RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_noise_handshake_action(&hs), RP_NOISE_FAILED);
    ck_assert_int_eq(rp_noise_handshake_init(&hs, RP_NOISE_INITIATOR, s, big, sizeof big),
                     RP_ERR_INVALID_ARG);
    ck_assert(all_zero(&hs, sizeof hs));
    ck_assert_int_eq(rp_noise_handshake_init(&hs, RP_NOISE_INITIATOR, s, big, sizeof big - 1), 0);

    /* The initiator writes first: reading now is out of order and changes
     * nothing. */
    ck_assert_int_eq(rp_noise_handshake_read(&hs, pl, sizeof pl, &n, buf, 64), RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_action(&hs), RP_NOISE_WRITE);
    ck_assert_int_eq(
        rp_noise_handshake_split(&hs, &(rp_noise_cipher){0}, &(rp_noise_cipher){0}, buf),
        RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_action(&hs), RP_NOISE_WRITE);
    rp_noise_handshake_wipe(&hs);

    pair_init(&p, "p", "p");
    /* The responder reads first. */
    ck_assert_int_eq(rp_noise_handshake_write(&p.r, buf, sizeof buf, &n, NULL, 0),
                     RP_ERR_NOISE_STATE);
    /* A payload too long for message 1, and an output too small: refused,
     * nothing changes, and the handshake then completes. */
    n = 7;
    ck_assert_int_eq(rp_noise_handshake_write(&p.i, t->m[0], sizeof t->m[0], &n, t->m[1],
                                              RP_NOISE_XX_MAX_PAYLOAD1 + 1),
                     RP_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(
        rp_noise_handshake_write(&p.i, buf, 32 + 4, &n, (const unsigned char *)"hello", 5),
        RP_ERR_BUFFER);
    ck_assert_int_eq(rp_noise_handshake_action(&p.i), RP_NOISE_WRITE);
    write_msg(&p, t, 0);
    /* The ephemeral is fixed only before it is used. */
    key_of(e, 5);
    ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(&p.i, e), RP_ERR_NOISE_STATE);
    /* A payload buffer too small: refused, the message may be read again. */
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, 4, &n, t->m[0], t->len[0]), RP_ERR_BUFFER);
    ck_assert_int_eq(rp_noise_handshake_action(&p.r), RP_NOISE_READ);
    read_msg(&p, t, 0);
    write_msg(&p, t, 1);
    ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(&p.r, e), RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, 0, &n, t->m[1], t->len[1]), RP_ERR_BUFFER);
    read_msg(&p, t, 1);
    ck_assert_int_eq(
        rp_noise_handshake_write(&p.i, buf, sizeof buf, &n, t->m[1], RP_NOISE_XX_MAX_PAYLOAD3 + 1),
        RP_ERR_INVALID_ARG);
    write_msg(&p, t, 2);
    read_msg(&p, t, 2);
    ck_assert_int_eq(rp_noise_handshake_action(&p.i), RP_NOISE_SPLIT);
    /* Nothing more to write or read. */
    ck_assert_int_eq(rp_noise_handshake_write(&p.i, buf, sizeof buf, &n, NULL, 0),
                     RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, t->m[2], t->len[2]),
                     RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_action(&p.r), RP_NOISE_SPLIT);
    rp_noise_handshake_wipe(&p.i);
    rp_noise_handshake_wipe(&p.r);
    free(t);
}
END_TEST

/* ---- refusals: hostile or broken messages ---------------------------- */

/* Flip every bit of every byte, one at a time. Message 1 is in the clear:
 * the responder takes it, and the initiator's read of message 2 is where the
 * change shows. Messages 2 and 3 fail where they are read. */
START_TEST(test_tamper_every_byte)
{
    transcript *t = malloc(sizeof *t);
    unsigned char pl[256], bad[256], out[256];
    size_t n;
    pair p;

    ck_assert_ptr_nonnull(t);
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 3);
    rp_noise_handshake_wipe(&p.i);
    rp_noise_handshake_wipe(&p.r);

    for (int idx = 0; idx < 3; idx++) {
        for (size_t pos = 0; pos < t->len[idx]; pos++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(bad, t->m[idx], t->len[idx]);
                bad[pos] ^= (unsigned char)(1u << bit);
                pair_init(&p, "pro", "pro");
                if (idx == 0) {
                    write_msg(&p, t, 0);
                    ck_assert_int_eq(
                        rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, bad, t->len[0]), 0);
                    ck_assert_int_eq(rp_noise_handshake_write(&p.r, out, sizeof out, &n, NULL, 0),
                                     0);
                    memset(pl, 0xAA, sizeof pl);
                    ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, out, n),
                                     RP_ERR_NOISE_DECRYPT);
                    ck_assert_uint_eq(n, 0);
                    assert_failed(&p.i);
                } else if (idx == 1) {
                    run_until(&p, t, 1);
                    write_msg(&p, t, 1);
                    memset(pl, 0xAA, sizeof pl);
                    ck_assert_int_eq(
                        rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, bad, t->len[1]),
                        RP_ERR_NOISE_DECRYPT);
                    ck_assert(all_zero(pl, t->len[1] - RP_NOISE_XX_OVERHEAD2));
                    assert_failed(&p.i);
                } else {
                    run_until(&p, t, 2);
                    write_msg(&p, t, 2);
                    memset(pl, 0xAA, sizeof pl);
                    ck_assert_int_eq(
                        rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, bad, t->len[2]),
                        RP_ERR_NOISE_DECRYPT);
                    ck_assert(all_zero(pl, t->len[2] - RP_NOISE_XX_OVERHEAD3));
                    assert_failed(&p.r);
                }
                rp_noise_handshake_wipe(&p.i);
                rp_noise_handshake_wipe(&p.r);
            }
        }
    }
    free(t);
}
END_TEST

/* Every shorter length of every message, and one byte too many. */
START_TEST(test_truncated)
{
    transcript *t = malloc(sizeof *t);
    static unsigned char huge[RP_NOISE_MAX_MSG + 1];
    unsigned char pl[256], out[256];
    size_t n;
    pair p;

    ck_assert_ptr_nonnull(t);
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 3);
    rp_noise_handshake_wipe(&p.i);
    rp_noise_handshake_wipe(&p.r);

    for (int idx = 0; idx < 3; idx++) {
        size_t ov = idx == 0 ? 32 : idx == 1 ? 96 : 64;
        for (size_t len = 0; len < t->len[idx]; len++) {
            pair_init(&p, "pro", "pro");
            run_until(&p, t, idx);
            write_msg(&p, t, idx);
            rp_noise_handshake *rd = idx == 1 ? &p.i : &p.r;
            int rc = rp_noise_handshake_read(rd, pl, sizeof pl, &n, t->m[idx], len);
            if (len < ov) {
                ck_assert_int_eq(rc, RP_ERR_NOISE_MSG_LEN);
                assert_failed(rd);
            } else if (idx == 0) {
                /* A shorter message 1 is a message 1 with a shorter payload;
                 * the initiator's transcript differs, so message 2 fails. */
                ck_assert_int_eq(rc, 0);
                ck_assert_uint_eq(n, len - 32);
                ck_assert_int_eq(rp_noise_handshake_write(&p.r, out, sizeof out, &n, NULL, 0), 0);
                ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, out, n),
                                 RP_ERR_NOISE_DECRYPT);
                assert_failed(&p.i);
            } else {
                ck_assert_int_eq(rc, RP_ERR_NOISE_DECRYPT);
                assert_failed(rd);
            }
            rp_noise_handshake_wipe(&p.i);
            rp_noise_handshake_wipe(&p.r);
        }
    }

    /* Over the framework's bound. */
    pair_init(&p, "pro", "pro");
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, NULL, 0, &n, huge, sizeof huge),
                     RP_ERR_NOISE_MSG_LEN);
    assert_failed(&p.r);
    rp_noise_handshake_wipe(&p.i);
    free(t);
}
END_TEST

/* Messages out of order: a side asked to read when it should write changes
 * nothing; a message read in another's place fails and ends the handshake. */
START_TEST(test_out_of_order)
{
    transcript *t = malloc(sizeof *t);
    unsigned char pl[256], out[256];
    size_t n;
    pair p;

    ck_assert_ptr_nonnull(t);

    /* The responder, having read message 1, is handed message 2 (its own
     * turn is to write it): refused, and the handshake goes on. */
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 1);
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, t->m[0], t->len[0]),
                     RP_ERR_NOISE_STATE);
    write_msg(&p, t, 1);
    ck_assert_int_eq(rp_noise_handshake_action(&p.r), RP_NOISE_READ);
    /* Then its own message 2 reflected back as message 3: fails. */
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, t->m[1], t->len[1]),
                     RP_ERR_NOISE_DECRYPT);
    assert_failed(&p.r);
    rp_noise_handshake_wipe(&p.i);

    /* The initiator handed its own message 1 back as message 2. */
    pair_init(&p, "pro", "pro");
    write_msg(&p, t, 0);
    ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, t->m[0], t->len[0]),
                     RP_ERR_NOISE_MSG_LEN);
    assert_failed(&p.i);
    rp_noise_handshake_wipe(&p.r);

    /* The initiator handed message 3 (of another run) as message 2. */
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 3);
    rp_noise_handshake_wipe(&p.i);
    rp_noise_handshake_wipe(&p.r);
    pair_init(&p, "pro", "pro");
    write_msg(&p, t, 0);
    ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, t->m[2], t->len[2]),
                     RP_ERR_NOISE_MSG_LEN); /* 64 + 8 bytes: shorter than message 2's fields */
    assert_failed(&p.i);
    rp_noise_handshake_wipe(&p.r);

    /* A fresh responder handed message 2 as message 1: message 1 is in the
     * clear, so it is taken (with message 2's tail as a payload), but the
     * responder's answer means nothing to the initiator. */
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 1);
    write_msg(&p, t, 1);
    {
        rp_noise_handshake r2;
        unsigned char s2[32];
        key_of(s2, 7);
        ck_assert_int_eq(
            rp_noise_handshake_init(&r2, RP_NOISE_RESPONDER, s2, (const unsigned char *)"pro", 3),
            0);
        ck_assert_int_eq(rp_noise_handshake_read(&r2, pl, sizeof pl, &n, t->m[1], t->len[1]), 0);
        ck_assert_int_eq(rp_noise_handshake_write(&r2, out, sizeof out, &n, NULL, 0), 0);
        ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, out, n),
                         RP_ERR_NOISE_DECRYPT);
        assert_failed(&p.i);
        rp_noise_handshake_wipe(&r2);
    }
    rp_noise_handshake_wipe(&p.r);
    free(t);
}
END_TEST

/* A replayed message 1. To a responder that has moved on it is either out
 * of order or a failed message 3; to a fresh responder it is a message 1 like
 * any other, but a replayer who lacks the initiator's keys cannot go on: the
 * recorded message 3 does not fit the new message 2. */
START_TEST(test_replay)
{
    transcript *t = malloc(sizeof *t);
    unsigned char pl[256], out[256];
    size_t n;
    pair p;

    ck_assert_ptr_nonnull(t);
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 1);
    /* Waiting to write message 2. */
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, t->m[0], t->len[0]),
                     RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_action(&p.r), RP_NOISE_WRITE);
    write_msg(&p, t, 1);
    read_msg(&p, t, 1);
    /* Waiting for message 3: message 1 (32 + 5 bytes) is too short for it. */
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, t->m[0], t->len[0]),
                     RP_ERR_NOISE_MSG_LEN);
    assert_failed(&p.r);
    rp_noise_handshake_wipe(&p.i);

    /* A longer message 1 replayed in message 3's place fails to decrypt. */
    {
        unsigned char m1[200], si[32], sr[32];
        size_t m1len;
        rp_noise_handshake i, r;
        key_of(si, 1);
        key_of(sr, 2);
        ck_assert_int_eq(rp_noise_handshake_init(&i, RP_NOISE_INITIATOR, si, NULL, 0), 0);
        ck_assert_int_eq(rp_noise_handshake_init(&r, RP_NOISE_RESPONDER, sr, NULL, 0), 0);
        memset(pl, 'x', 100);
        ck_assert_int_eq(rp_noise_handshake_write(&i, m1, sizeof m1, &m1len, pl, 100), 0);
        ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &n, m1, m1len), 0);
        ck_assert_int_eq(rp_noise_handshake_write(&r, out, sizeof out, &n, NULL, 0), 0);
        ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &n, m1, m1len),
                         RP_ERR_NOISE_DECRYPT);
        assert_failed(&r);
        rp_noise_handshake_wipe(&i);
    }

    /* A finished handshake takes nothing. */
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 3);
    ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, t->m[0], t->len[0]),
                     RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_noise_handshake_action(&p.r), RP_NOISE_SPLIT);
    rp_noise_handshake_wipe(&p.i);
    rp_noise_handshake_wipe(&p.r);

    /* The whole initiator side replayed to a fresh responder (with a fresh
     * ephemeral): message 1 is taken, message 3 is refused. */
    {
        rp_noise_handshake r2;
        unsigned char sr[32];
        key_of(sr, 2);
        ck_assert_int_eq(
            rp_noise_handshake_init(&r2, RP_NOISE_RESPONDER, sr, (const unsigned char *)"pro", 3),
            0);
        ck_assert_int_eq(rp_noise_handshake_read(&r2, pl, sizeof pl, &n, t->m[0], t->len[0]), 0);
        ck_assert_int_eq(rp_noise_handshake_write(&r2, out, sizeof out, &n, NULL, 0), 0);
        ck_assert_int_eq(rp_noise_handshake_read(&r2, pl, sizeof pl, &n, t->m[2], t->len[2]),
                         RP_ERR_NOISE_DECRYPT);
        assert_failed(&r2);
    }
    free(t);
}
END_TEST

/* A wrong prologue: message 1 is taken (it carries no MAC), message 2 then
 * fails at the initiator, whose transcript hash differs. */
START_TEST(test_wrong_prologue)
{
    transcript *t = malloc(sizeof *t);
    unsigned char pl[256];
    size_t n;
    pair p;

    ck_assert_ptr_nonnull(t);
    pair_init(&p, "repute/1/chain-A", "repute/1/chain-B");
    run_until(&p, t, 1);
    write_msg(&p, t, 1);
    ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, t->m[1], t->len[1]),
                     RP_ERR_NOISE_DECRYPT);
    assert_failed(&p.i);
    rp_noise_handshake_wipe(&p.r);

    /* An empty prologue against a non-empty one, too. */
    pair_init(&p, "", "x");
    run_until(&p, t, 1);
    write_msg(&p, t, 1);
    ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, t->m[1], t->len[1]),
                     RP_ERR_NOISE_DECRYPT);
    assert_failed(&p.i);
    rp_noise_handshake_wipe(&p.r);
    free(t);
}
END_TEST

/* ---- low-order keys -------------------------------------------------- */

/* The small-order points of Curve25519 and its twist, as u-coordinates:
 * 0 and 1, the two points of order 8, p-1, and the non-canonical p and p+1.
 * Each is tried as is and with bit 255 set (which X25519 ignores). */
static const unsigned char low_order[7][32] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

static void low_point(unsigned char out[32], int i)
{
    memcpy(out, low_order[i / 2], 32);
    if (i % 2)
        out[31] |= 0x80;
}

START_TEST(test_low_order_dh_refused)
{
    unsigned char priv[32], pub[32], out[32];

    for (int i = 0; i < 14; i++) {
        low_point(pub, i);
        for (int k = 0; k < 8; k++) {
            randombytes_buf(priv, sizeof priv);
            ck_assert_int_ne(crypto_scalarmult(out, priv, pub), 0);
        }
    }
    sodium_memzero(priv, sizeof priv);
}
END_TEST

/* A remote ephemeral of low order in message 1: the responder's first DH
 * with it is ee, in its message 2, which fails before writing anything. */
START_TEST(test_low_order_ephemeral_msg1)
{
    unsigned char msg[64], pl[64], out[256];
    size_t n;
    pair p;

    for (int i = 0; i < 14; i++) {
        pair_init(&p, "pro", "pro");
        low_point(msg, i);
        ck_assert_int_eq(rp_noise_handshake_read(&p.r, pl, sizeof pl, &n, msg, 32), 0);
        memset(out, 0xAA, sizeof out);
        ck_assert_int_eq(rp_noise_handshake_write(&p.r, out, sizeof out, &n, NULL, 0),
                         RP_ERR_NOISE_LOW_ORDER);
        ck_assert_uint_eq(n, 0);
        ck_assert(all_zero(out, RP_NOISE_XX_OVERHEAD2));
        assert_failed(&p.r);
        rp_noise_handshake_wipe(&p.i);
    }
}
END_TEST

/* A remote ephemeral of low order in message 2: ee fails at the initiator. */
START_TEST(test_low_order_ephemeral_msg2)
{
    transcript *t = malloc(sizeof *t);
    unsigned char pl[256];
    size_t n;
    pair p;

    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < 14; i++) {
        pair_init(&p, "pro", "pro");
        run_until(&p, t, 1);
        write_msg(&p, t, 1);
        low_point(t->m[1], i);
        ck_assert_int_eq(rp_noise_handshake_read(&p.i, pl, sizeof pl, &n, t->m[1], t->len[1]),
                         RP_ERR_NOISE_LOW_ORDER);
        assert_failed(&p.i);
        rp_noise_handshake_wipe(&p.r);
    }
    free(t);
}
END_TEST

/* A hostile responder whose static key is a low-order point. Its message 2
 * is built with the SymmetricState functions, as the responder's would be:
 * e, ee and the encrypted s all check out, and the initiator's es (DH(e, rs))
 * is where the key is refused. */
START_TEST(test_low_order_static_msg2)
{
    unsigned char msg1[64], msg2[256], pl[256], er[32], er_pub[32], d[32];
    size_t n1, n, off;
    rp_noise_handshake i;
    rp_noise_symmetric ss;
    unsigned char si[32];

    key_of(si, 1);
    key_of(er, 4);
    ck_assert_int_eq(rp_noise_pubkey(er_pub, er), 0);
    for (int k = 0; k < 14; k++) {
        ck_assert_int_eq(
            rp_noise_handshake_init(&i, RP_NOISE_INITIATOR, si, (const unsigned char *)"pro", 3),
            0);
        ck_assert_int_eq(rp_noise_handshake_write(&i, msg1, sizeof msg1, &n1, NULL, 0), 0);

        /* The responder's side of message 1, then message 2. */
        rp_noise_symmetric_init(&ss, RP_NOISE_PROTOCOL_NAME, strlen(RP_NOISE_PROTOCOL_NAME));
        rp_noise_symmetric_mix_hash(&ss, (const unsigned char *)"pro", 3);
        rp_noise_symmetric_mix_hash(&ss, msg1, 32);
        ck_assert_int_eq(
            rp_noise_symmetric_decrypt_and_hash(&ss, pl, sizeof pl, &n, msg1 + 32, n1 - 32), 0);
        memcpy(msg2, er_pub, 32);
        rp_noise_symmetric_mix_hash(&ss, er_pub, 32);
        ck_assert_int_eq(crypto_scalarmult(d, er, msg1), 0);
        rp_noise_symmetric_mix_key(&ss, d, 32);
        low_point(pl, k);
        ck_assert_int_eq(
            rp_noise_symmetric_encrypt_and_hash(&ss, msg2 + 32, sizeof msg2 - 32, &n, pl, 32), 0);
        ck_assert_uint_eq(n, 48);
        off = 80;
        /* es cannot be computed from a low-order "static key"; a payload
         * under the current key stands in for the rest. */
        ck_assert_int_eq(
            rp_noise_symmetric_encrypt_and_hash(&ss, msg2 + off, sizeof msg2 - off, &n, NULL, 0),
            0);
        off += n;

        ck_assert_int_eq(rp_noise_handshake_read(&i, pl, sizeof pl, &n, msg2, off),
                         RP_ERR_NOISE_LOW_ORDER);
        assert_failed(&i);
        rp_noise_symmetric_wipe(&ss);
    }
    sodium_memzero(d, sizeof d);
}
END_TEST

/* A hostile initiator whose static key is a low-order point, message 3 built
 * by hand: the responder's se (DH(e, rs)) refuses it. The hand-built side
 * also checks that the SymmetricState functions, driven as the
 * specification says, interoperate with the HandshakeState. */
START_TEST(test_low_order_static_msg3)
{
    unsigned char msg1[64], msg2[256], msg3[256], pl[256], ei[32], ei_pub[32], d[32], rs[32];
    unsigned char sr[32], sr_pub[32];
    size_t n, n2, off;
    rp_noise_handshake r;
    rp_noise_symmetric ss;

    key_of(sr, 2);
    key_of(ei, 3);
    ck_assert_int_eq(rp_noise_pubkey(sr_pub, sr), 0);
    ck_assert_int_eq(rp_noise_pubkey(ei_pub, ei), 0);
    for (int k = 0; k < 14; k++) {
        ck_assert_int_eq(
            rp_noise_handshake_init(&r, RP_NOISE_RESPONDER, sr, (const unsigned char *)"pro", 3),
            0);

        /* -> e */
        rp_noise_symmetric_init(&ss, RP_NOISE_PROTOCOL_NAME, strlen(RP_NOISE_PROTOCOL_NAME));
        rp_noise_symmetric_mix_hash(&ss, (const unsigned char *)"pro", 3);
        memcpy(msg1, ei_pub, 32);
        rp_noise_symmetric_mix_hash(&ss, ei_pub, 32);
        ck_assert_int_eq(rp_noise_symmetric_encrypt_and_hash(&ss, msg1 + 32, 32, &n, NULL, 0), 0);
        ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &n, msg1, 32), 0);
        ck_assert_int_eq(
            rp_noise_handshake_write(&r, msg2, sizeof msg2, &n2, (const unsigned char *)"hi", 2),
            0);

        /* <- e, ee, s, es */
        rp_noise_symmetric_mix_hash(&ss, msg2, 32);
        ck_assert_int_eq(crypto_scalarmult(d, ei, msg2), 0);
        rp_noise_symmetric_mix_key(&ss, d, 32);
        ck_assert_int_eq(rp_noise_symmetric_decrypt_and_hash(&ss, rs, 32, &n, msg2 + 32, 48), 0);
        ck_assert_mem_eq(rs, sr_pub, 32);
        ck_assert_int_eq(crypto_scalarmult(d, ei, rs), 0);
        rp_noise_symmetric_mix_key(&ss, d, 32);
        ck_assert_int_eq(
            rp_noise_symmetric_decrypt_and_hash(&ss, pl, sizeof pl, &n, msg2 + 80, n2 - 80), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_mem_eq(pl, "hi", 2);

        /* -> s (a low-order point), se cannot follow */
        low_point(pl, k);
        ck_assert_int_eq(rp_noise_symmetric_encrypt_and_hash(&ss, msg3, sizeof msg3, &n, pl, 32),
                         0);
        off = n;
        ck_assert_int_eq(
            rp_noise_symmetric_encrypt_and_hash(&ss, msg3 + off, sizeof msg3 - off, &n, NULL, 0),
            0);
        off += n;
        ck_assert_uint_eq(off, 64);

        ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &n, msg3, off),
                         RP_ERR_NOISE_LOW_ORDER);
        assert_failed(&r);
        rp_noise_symmetric_wipe(&ss);
    }
    sodium_memzero(d, sizeof d);
}
END_TEST

/* ---- transport: nonces and Rekey ------------------------------------- */

static void split_pair(rp_noise_cipher *is, rp_noise_cipher *ir, rp_noise_cipher *rs_,
                       rp_noise_cipher *rr)
{
    transcript *t = malloc(sizeof *t);
    unsigned char h1[32], h2[32];
    pair p;

    ck_assert_ptr_nonnull(t);
    pair_init(&p, "pro", "pro");
    run_until(&p, t, 3);
    ck_assert_int_eq(rp_noise_handshake_split(&p.i, is, ir, h1), 0);
    ck_assert_int_eq(rp_noise_handshake_split(&p.r, rs_, rr, h2), 0);
    ck_assert_mem_eq(h1, h2, 32);
    rp_noise_handshake_wipe(&p.i);
    rp_noise_handshake_wipe(&p.r);
    free(t);
}

START_TEST(test_transport_refusals)
{
    rp_noise_cipher is, ir, rs_, rr, none;
    static unsigned char big[RP_NOISE_MAX_MSG + 1];
    unsigned char ct[64], pt[64];
    size_t n;

    split_pair(&is, &ir, &rs_, &rr);
    /* Tampered, then the genuine message: a failure does not move n. */
    ck_assert_int_eq(
        rp_noise_cipher_encrypt(&is, ct, sizeof ct, &n, NULL, 0, (const unsigned char *)"abc", 3),
        0);
    ck_assert_uint_eq(n, 19);
    ct[0] ^= 1;
    memset(pt, 0xAA, sizeof pt);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, 19),
                     RP_ERR_NOISE_DECRYPT);
    ck_assert_uint_eq(n, 0);
    ck_assert(all_zero(pt, 3));
    ck_assert_uint_eq(rr.n, 0);
    ct[0] ^= 1;
    /* Other associated data does not authenticate either. */
    ck_assert_int_eq(
        rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, (const unsigned char *)"x", 1, ct, 19),
        RP_ERR_NOISE_DECRYPT);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, 2, &n, NULL, 0, ct, 19), RP_ERR_BUFFER);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, 19), 0);
    ck_assert_mem_eq(pt, "abc", 3);
    /* Replayed: the receiver's nonce has moved on. */
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, 19),
                     RP_ERR_NOISE_DECRYPT);
    /* The other direction's key does not open it. */
    ck_assert_int_eq(rp_noise_cipher_decrypt(&ir, pt, sizeof pt, &n, NULL, 0, ct, 19),
                     RP_ERR_NOISE_DECRYPT);
    /* Lengths. */
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, 15),
                     RP_ERR_NOISE_MSG_LEN);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, big, sizeof big, &n, NULL, 0, big, sizeof big),
                     RP_ERR_NOISE_MSG_LEN);
    ck_assert_int_eq(
        rp_noise_cipher_encrypt(&is, big, sizeof big, &n, NULL, 0, big, RP_NOISE_MAX_PLAINTEXT + 1),
        RP_ERR_INVALID_ARG);
    ck_assert_int_eq(rp_noise_cipher_encrypt(&is, ct, 18, &n, NULL, 0, pt, 3), RP_ERR_BUFFER);
    /* The largest transport message, in place. */
    ck_assert_int_eq(
        rp_noise_cipher_encrypt(&is, big, sizeof big, &n, NULL, 0, big, RP_NOISE_MAX_PLAINTEXT), 0);
    ck_assert_uint_eq(n, RP_NOISE_MAX_MSG);
    ck_assert_int_eq(
        rp_noise_cipher_decrypt(&rr, big, sizeof big, &n, NULL, 0, big, RP_NOISE_MAX_MSG), 0);
    ck_assert_uint_eq(n, RP_NOISE_MAX_PLAINTEXT);
    ck_assert(all_zero(big, n));

    /* An empty CipherState passes bytes through (message 1's payload), and
     * cannot rekey. */
    memset(&none, 0, sizeof none);
    ck_assert(!rp_noise_cipher_has_key(&none));
    ck_assert_int_eq(
        rp_noise_cipher_encrypt(&none, ct, sizeof ct, &n, NULL, 0, (const unsigned char *)"abc", 3),
        0);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(ct, "abc", 3);
    ck_assert_int_eq(rp_noise_cipher_rekey(&none), RP_ERR_NOISE_STATE);

    rp_noise_cipher_wipe(&is);
    rp_noise_cipher_wipe(&ir);
    rp_noise_cipher_wipe(&rs_);
    rp_noise_cipher_wipe(&rr);
    ck_assert(all_zero(&is, sizeof is));
}
END_TEST

/* n stops at 2^64-1: the last two nonces work, then both sides refuse
 * for good (Rekey does not bring them back), and no nonce is used twice. */
START_TEST(test_nonce_exhaustion)
{
    rp_noise_cipher is, ir, rs_, rr;
    unsigned char ct[3][64], pt[64];
    size_t n;

    split_pair(&is, &ir, &rs_, &rr);
    rp_noise_cipher_set_nonce_for_testing(&is, UINT64_MAX - 2);
    rp_noise_cipher_set_nonce_for_testing(&rr, UINT64_MAX - 2);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(rp_noise_cipher_encrypt(&is, ct[k], sizeof ct[k], &n, NULL, 0,
                                                 (const unsigned char *)"xyz", 3),
                         0);
        ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct[k], 19), 0);
        ck_assert_mem_eq(pt, "xyz", 3);
    }
    ck_assert(memcmp(ct[0], ct[1], 19) != 0);
    ck_assert_uint_eq(is.n, UINT64_MAX);
    for (int k = 0; k < 3; k++) {
        n = 5;
        memset(ct[2], 0xAA, sizeof ct[2]);
        ck_assert_int_eq(rp_noise_cipher_encrypt(&is, ct[2], sizeof ct[2], &n, NULL, 0,
                                                 (const unsigned char *)"xyz", 3),
                         RP_ERR_NOISE_NONCE);
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(ct[2][0], 0xAA); /* nothing written */
        ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct[1], 19),
                         RP_ERR_NOISE_NONCE);
        ck_assert_uint_eq(is.n, UINT64_MAX);
        ck_assert_int_eq(rp_noise_cipher_rekey(&is), 0);
    }
    /* The message encrypted under nonce 2^64-1 would have been Rekey's own
     * output: it is what Rekey computes, never a transport message. */
    rp_noise_cipher_wipe(&is);
    rp_noise_cipher_wipe(&ir);
    rp_noise_cipher_wipe(&rs_);
    rp_noise_cipher_wipe(&rr);
}
END_TEST

START_TEST(test_rekey)
{
    rp_noise_cipher is, ir, rs_, rr, old;
    unsigned char ct[64], ct_old[64], pt[64], want[48], nonce[12] = {0};
    size_t n;
    static const unsigned char zeros[32];

    split_pair(&is, &ir, &rs_, &rr);
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(rp_noise_cipher_encrypt(&is, ct, sizeof ct, &n, NULL, 0,
                                                 (const unsigned char *)"before", 6),
                         0);
        ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, n), 0);
    }
    old = rr;

    /* REKEY(k) = ENCRYPT(k, 2^64-1, "", 32 zero bytes)[0..32], by hand. */
    memset(nonce + 4, 0xFF, 8);
    crypto_aead_chacha20poly1305_ietf_encrypt(want, NULL, zeros, 32, NULL, 0, NULL, nonce, is.k);
    ck_assert_int_eq(rp_noise_cipher_rekey(&is), 0);
    ck_assert_mem_eq(is.k, want, 32);
    ck_assert_uint_eq(is.n, 5); /* Rekey leaves n alone */

    /* Sender rekeyed, receiver not: refused. */
    ck_assert_int_eq(
        rp_noise_cipher_encrypt(&is, ct, sizeof ct, &n, NULL, 0, (const unsigned char *)"after", 5),
        0);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, 21),
                     RP_ERR_NOISE_DECRYPT);
    /* Both rekeyed: they agree. */
    ck_assert_int_eq(rp_noise_cipher_rekey(&rr), 0);
    ck_assert_mem_eq(rr.k, is.k, 32);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct, 21), 0);
    ck_assert_mem_eq(pt, "after", 5);
    /* The old key opens nothing sent after the rekey... */
    ck_assert_int_eq(rp_noise_cipher_decrypt(&old, pt, sizeof pt, &n, NULL, 0, ct, 21),
                     RP_ERR_NOISE_DECRYPT);
    /* ...and the new key nothing sent under the old one at the same nonce. */
    rp_noise_cipher_set_nonce_for_testing(&old, 6);
    ck_assert_int_eq(rp_noise_cipher_encrypt(&old, ct_old, sizeof ct_old, &n, NULL, 0,
                                             (const unsigned char *)"after", 5),
                     0);
    ck_assert(memcmp(ct_old, ct, 21) != 0);
    rp_noise_cipher_set_nonce_for_testing(&rr, 6);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&rr, pt, sizeof pt, &n, NULL, 0, ct_old, 21),
                     RP_ERR_NOISE_DECRYPT);

    /* Both directions, several times over. */
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(rp_noise_cipher_rekey(&rs_), 0);
        ck_assert_int_eq(rp_noise_cipher_rekey(&ir), 0);
    }
    ck_assert_int_eq(
        rp_noise_cipher_encrypt(&rs_, ct, sizeof ct, &n, NULL, 0, (const unsigned char *)"back", 4),
        0);
    ck_assert_int_eq(rp_noise_cipher_decrypt(&ir, pt, sizeof pt, &n, NULL, 0, ct, 20), 0);
    ck_assert_mem_eq(pt, "back", 4);

    sodium_memzero(want, sizeof want);
    rp_noise_cipher_wipe(&old);
    rp_noise_cipher_wipe(&is);
    rp_noise_cipher_wipe(&ir);
    rp_noise_cipher_wipe(&rs_);
    rp_noise_cipher_wipe(&rr);
}
END_TEST

/* ---- the symmetric state's edges ------------------------------------- */

/* Names of 32 bytes or fewer are padded, longer ones hashed. */
START_TEST(test_symmetric_init)
{
    rp_noise_symmetric ss;
    unsigned char want[32] = {0};
    const char *long_name = "Noise_XXfallback_25519_ChaChaPoly_SHA256";

    rp_noise_symmetric_init(&ss, RP_NOISE_PROTOCOL_NAME, strlen(RP_NOISE_PROTOCOL_NAME));
    ck_assert_uint_eq(strlen(RP_NOISE_PROTOCOL_NAME), 32);
    ck_assert_mem_eq(ss.h, RP_NOISE_PROTOCOL_NAME, 32);
    ck_assert_mem_eq(ss.ck, ss.h, 32);
    ck_assert(!rp_noise_cipher_has_key(&ss.cs));
    rp_noise_symmetric_init(&ss, "Noise_N", 7);
    memcpy(want, "Noise_N", 7);
    ck_assert_mem_eq(ss.h, want, 32);
    rp_noise_symmetric_init(&ss, long_name, strlen(long_name));
    crypto_hash_sha256(want, (const unsigned char *)long_name, strlen(long_name));
    ck_assert_mem_eq(ss.h, want, 32);
    rp_noise_symmetric_wipe(&ss);
    ck_assert(all_zero(&ss, sizeof ss));
}
END_TEST

/* EncryptAndHash and DecryptAndHash keep both sides' h in step; a failed
 * DecryptAndHash changes neither h nor n, so the genuine message still
 * reads after it. */
START_TEST(test_symmetric_failure)
{
    rp_noise_symmetric a, b;
    unsigned char ct[64], pt[64], h0[32];
    size_t n, clen;

    rp_noise_symmetric_init(&a, RP_NOISE_PROTOCOL_NAME, strlen(RP_NOISE_PROTOCOL_NAME));
    rp_noise_symmetric_mix_key(&a, (const unsigned char *)"ikm", 3);
    ck_assert(rp_noise_cipher_has_key(&a.cs));
    b = a;
    ck_assert_int_eq(rp_noise_symmetric_encrypt_and_hash(&a, ct, sizeof ct, &clen,
                                                         (const unsigned char *)"abc", 3),
                     0);
    ck_assert_uint_eq(clen, 19);
    memcpy(h0, b.h, 32);
    ct[18] ^= 1;
    ck_assert_int_eq(rp_noise_symmetric_decrypt_and_hash(&b, pt, sizeof pt, &n, ct, clen),
                     RP_ERR_NOISE_DECRYPT);
    ck_assert_mem_eq(b.h, h0, 32);
    ck_assert_uint_eq(b.cs.n, 0);
    ct[18] ^= 1;
    ck_assert_int_eq(rp_noise_symmetric_decrypt_and_hash(&b, pt, sizeof pt, &n, ct, clen), 0);
    ck_assert_mem_eq(pt, "abc", 3);
    ck_assert_mem_eq(b.h, a.h, 32);
    ck_assert(memcmp(b.h, h0, 32) != 0);
    /* The split of equal states is equal, and the two keys differ. */
    {
        rp_noise_cipher a1, a2, b1, b2;
        rp_noise_symmetric_split(&a, &a1, &a2);
        rp_noise_symmetric_split(&b, &b1, &b2);
        ck_assert_mem_eq(a1.k, b1.k, 32);
        ck_assert_mem_eq(a2.k, b2.k, 32);
        ck_assert(memcmp(a1.k, a2.k, 32) != 0);
        ck_assert_uint_eq(a1.n, 0);
        rp_noise_cipher_wipe(&a1);
        rp_noise_cipher_wipe(&a2);
        rp_noise_cipher_wipe(&b1);
        rp_noise_cipher_wipe(&b2);
    }
    rp_noise_symmetric_wipe(&a);
    rp_noise_symmetric_wipe(&b);
}
END_TEST

START_TEST(test_strerror_codes)
{
    static const int codes[] = {RP_ERR_NOISE_MSG_LEN,  RP_ERR_NOISE_DECRYPT, RP_ERR_NOISE_LOW_ORDER,
                                RP_ERR_NOISE_STATE,    RP_ERR_NOISE_NONCE,   RP_ERR_FRAME_LENGTH,
                                RP_ERR_FRAME_TOO_LARGE};
    const char *generic = rp_strerror(-999999);

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ck_assert_str_ne(rp_strerror(codes[i]), generic);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(rp_strerror(codes[i]), rp_strerror(codes[j]));
    }
}
END_TEST

/* ---- the fuzz target's seeds ------------------------------------------ */

static void write_seed(const char *dir, const char *name, unsigned char mode,
                       const unsigned char *msg, size_t len)
{
    char path[4096];
    FILE *f;

    ck_assert_int_lt(snprintf(path, sizeof path, "%s/%s", dir, name), (int)sizeof path);
    f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(&mode, 1, 1, f), 1);
    ck_assert_uint_eq(fwrite(msg, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* The handshake of tests/fuzz/fuzz_noise.c: fixed keys, fixed ephemerals. */
static void fuzz_handshake(rp_noise_handshake *i, rp_noise_handshake *r)
{
    unsigned char k[32];

    rp_fuzz_key(k, RP_FUZZ_INIT_STATIC);
    ck_assert_int_eq(rp_noise_handshake_init(i, RP_NOISE_INITIATOR, k,
                                             (const unsigned char *)RP_FUZZ_PROLOGUE,
                                             strlen(RP_FUZZ_PROLOGUE)),
                     0);
    rp_fuzz_key(k, RP_FUZZ_RESP_STATIC);
    ck_assert_int_eq(rp_noise_handshake_init(r, RP_NOISE_RESPONDER, k,
                                             (const unsigned char *)RP_FUZZ_PROLOGUE,
                                             strlen(RP_FUZZ_PROLOGUE)),
                     0);
    rp_fuzz_key(k, RP_FUZZ_INIT_EPHEMERAL);
    ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(i, k), 0);
    rp_fuzz_key(k, RP_FUZZ_RESP_EPHEMERAL);
    ck_assert_int_eq(rp_noise_handshake_set_ephemeral_for_testing(r, k), 0);
}

START_TEST(test_write_fuzz_corpus)
{
    const char *dir = getenv("RP_WRITE_NOISE_CORPUS");
    unsigned char m1[256], m2[256], m3[256], pl[256], lo[32];
    size_t n1, n2, n3, n;
    rp_noise_handshake i, r;

    if (dir == NULL)
        return;
    /* Mode 0: a responder reads message 1 (and writes message 2). Mode 1:
     * the initiator, after the fixed message 1, reads message 2. Mode 2:
     * the responder, after the fixed messages 1 and 2, reads message 3. */
    fuzz_handshake(&i, &r);
    ck_assert_int_eq(rp_noise_handshake_write(&i, m1, sizeof m1, &n1, NULL, 0), 0);
    ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &n, m1, n1), 0);
    ck_assert_int_eq(rp_noise_handshake_write(&r, m2, sizeof m2, &n2,
                                              (const unsigned char *)"node-key-proof", 14),
                     0);
    ck_assert_int_eq(rp_noise_handshake_read(&i, pl, sizeof pl, &n, m2, n2), 0);
    ck_assert_int_eq(rp_noise_handshake_write(&i, m3, sizeof m3, &n3,
                                              (const unsigned char *)"node-key-proof", 14),
                     0);
    ck_assert_int_eq(rp_noise_handshake_read(&r, pl, sizeof pl, &n, m3, n3), 0);
    write_seed(dir, "msg1-valid", 0, m1, n1);
    write_seed(dir, "msg1-short", 0, m1, 31);
    low_point(lo, 4);
    write_seed(dir, "msg1-low-order", 0, lo, 32);
    write_seed(dir, "msg2-valid", 1, m2, n2);
    write_seed(dir, "msg2-truncated", 1, m2, n2 - 1);
    write_seed(dir, "msg3-valid", 2, m3, n3);
    m3[5] ^= 0x40;
    write_seed(dir, "msg3-tampered", 2, m3, n3);
    rp_noise_handshake_wipe(&i);
    rp_noise_handshake_wipe(&r);
}
END_TEST

static Suite *noise_suite(void)
{
    Suite *s = suite_create("noise");
    TCase *tc;

    tc = tcase_create("vectors");
    tcase_add_test(tc, test_keygen);
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_symmetric_init);
    tcase_add_test(tc, test_symmetric_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("handshake");
    tcase_add_test(tc, test_roundtrip_random_keys);
    tcase_add_test(tc, test_fresh_ephemerals);
    tcase_add_test(tc, test_api_refusals);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_tamper_every_byte);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_out_of_order);
    tcase_add_test(tc, test_replay);
    tcase_add_test(tc, test_wrong_prologue);
    suite_add_tcase(s, tc);

    tc = tcase_create("low_order");
    tcase_add_test(tc, test_low_order_dh_refused);
    tcase_add_test(tc, test_low_order_ephemeral_msg1);
    tcase_add_test(tc, test_low_order_ephemeral_msg2);
    tcase_add_test(tc, test_low_order_static_msg2);
    tcase_add_test(tc, test_low_order_static_msg3);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_add_test(tc, test_transport_refusals);
    tcase_add_test(tc, test_nonce_exhaustion);
    tcase_add_test(tc, test_rekey);
    tcase_add_test(tc, test_strerror_codes);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus");
    tcase_add_test(tc, test_write_fuzz_corpus);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fputs("rp_crypto_init failed\n", stderr);
        return 1;
    }
    SRunner *sr = srunner_create(noise_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
