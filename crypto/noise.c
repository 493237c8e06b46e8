/* Noise_XX_25519_ChaChaPoly_SHA256 (the Noise Protocol Framework, revision
 * 34) from libsodium alone, for the handshake that opens every p2p session.
 *
 * The code follows the specification's three objects one to one, so that a
 * reader can hold it next to sections 5.1 (CipherState), 5.2
 * (SymmetricState) and 5.3 (HandshakeState): the names of the functions
 * below are the specification's. Only XX is implemented, so the message
 * patterns are a switch over the three messages rather than a token
 * interpreter: each case reads as the pattern's line does.
 *
 * How it stays safe:
 * - every length is checked before anything is written, and every message
 *   is bounded by the framework's 65,535 bytes;
 * - a DH result of all zeros (a low-order remote key) is an error:
 *   crypto_scalarmult already returns -1 for it and for libsodium's list of
 *   small-order points, and we turn that into RP_ERR_NOISE_LOW_ORDER;
 * - a failed read or write wipes the whole HandshakeState and leaves it
 *   refusing every later call, so a caller cannot carry on with a
 *   half-processed message;
 * - DH results, temporary keys, HMAC and hash states derived from secrets
 *   are wiped on every path out; the nonce n never reaches 2^64-1 through
 *   EncryptWithAd/DecryptWithAd (that value is Rekey's).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/noise.h"

/* rp_noise_handshake.status */
enum { ST_NONE = 0, ST_RUNNING = 1, ST_DONE = 2 };

/* ---- key pairs ------------------------------------------------------- */

void rp_noise_keygen(unsigned char pub[static RP_NOISE_DHLEN],
                     unsigned char priv[static RP_NOISE_DHLEN])
{
    /* A clamped scalar is never a multiple of the base point's order, so
     * crypto_scalarmult_base cannot fail; loop rather than assume. */
    do
        randombytes_buf(priv, RP_NOISE_DHLEN);
    while (crypto_scalarmult_base(pub, priv) != 0);
}

int rp_noise_pubkey(unsigned char pub[static RP_NOISE_DHLEN],
                    const unsigned char priv[static RP_NOISE_DHLEN])
{
    if (crypto_scalarmult_base(pub, priv) != 0) {
        sodium_memzero(pub, RP_NOISE_DHLEN);
        return RP_ERR_BAD_KEY;
    }
    return 0;
}

/* DH(priv, pub) into out, refusing the all-zero result. */
static int dh(unsigned char out[RP_NOISE_DHLEN], const unsigned char priv[RP_NOISE_DHLEN],
              const unsigned char pub[RP_NOISE_DHLEN])
{
    if (crypto_scalarmult(out, priv, pub) != 0) {
        sodium_memzero(out, RP_NOISE_DHLEN);
        return RP_ERR_NOISE_LOW_ORDER;
    }
    return 0;
}

/* ---- CipherState ----------------------------------------------------- */

/* The 96-bit IETF nonce: 32 zero bits, then n little-endian. */
static void nonce96(unsigned char out[12], uint64_t n)
{
    memset(out, 0, 4);
    for (int i = 0; i < 8; i++)
        out[4 + i] = (unsigned char)(n >> (8 * i));
}

void rp_noise_cipher_init(rp_noise_cipher *cs, const unsigned char k[static RP_NOISE_KEYLEN])
{
    memmove(cs->k, k, RP_NOISE_KEYLEN);
    cs->n = 0;
    cs->has_key = 1;
}

int rp_noise_cipher_has_key(const rp_noise_cipher *cs)
{
    return cs->has_key != 0;
}

int rp_noise_cipher_encrypt(rp_noise_cipher *cs, unsigned char *out, size_t outcap, size_t *outlen,
                            const unsigned char *ad, size_t adlen, const unsigned char *in,
                            size_t inlen)
{
    unsigned char nonce[12];
    unsigned long long clen = 0;

    *outlen = 0;
    if (!cs->has_key) {
        if (inlen > RP_NOISE_MAX_MSG)
            return RP_ERR_INVALID_ARG;
        if (outcap < inlen)
            return RP_ERR_BUFFER;
        if (inlen > 0 && out != in)
            memmove(out, in, inlen);
        *outlen = inlen;
        return 0;
    }
    if (inlen > RP_NOISE_MAX_PLAINTEXT)
        return RP_ERR_INVALID_ARG;
    if (outcap < inlen + RP_NOISE_TAGLEN)
        return RP_ERR_BUFFER;
    if (cs->n == UINT64_MAX)
        return RP_ERR_NOISE_NONCE;
    nonce96(nonce, cs->n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, inlen, ad, adlen, NULL, nonce, cs->k);
    cs->n++;
    *outlen = (size_t)clen;
    return 0;
}

int rp_noise_cipher_decrypt(rp_noise_cipher *cs, unsigned char *out, size_t outcap, size_t *outlen,
                            const unsigned char *ad, size_t adlen, const unsigned char *in,
                            size_t inlen)
{
    unsigned char nonce[12];
    unsigned long long mlen = 0;

    *outlen = 0;
    if (!cs->has_key) {
        if (inlen > RP_NOISE_MAX_MSG)
            return RP_ERR_NOISE_MSG_LEN;
        if (outcap < inlen)
            return RP_ERR_BUFFER;
        if (inlen > 0 && out != in)
            memmove(out, in, inlen);
        *outlen = inlen;
        return 0;
    }
    if (inlen < RP_NOISE_TAGLEN || inlen > RP_NOISE_MAX_MSG)
        return RP_ERR_NOISE_MSG_LEN;
    if (outcap < inlen - RP_NOISE_TAGLEN)
        return RP_ERR_BUFFER;
    if (cs->n == UINT64_MAX)
        return RP_ERR_NOISE_NONCE;
    nonce96(nonce, cs->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, inlen, ad, adlen, nonce,
                                                  cs->k) != 0) {
        if (inlen > RP_NOISE_TAGLEN)
            sodium_memzero(out, inlen - RP_NOISE_TAGLEN);
        return RP_ERR_NOISE_DECRYPT;
    }
    cs->n++;
    *outlen = (size_t)mlen;
    return 0;
}

int rp_noise_cipher_rekey(rp_noise_cipher *cs)
{
    static const unsigned char zeros[RP_NOISE_KEYLEN];
    unsigned char nonce[12];
    unsigned char out[RP_NOISE_KEYLEN + RP_NOISE_TAGLEN];

    if (!cs->has_key)
        return RP_ERR_NOISE_STATE;
    nonce96(nonce, UINT64_MAX);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, zeros, sizeof zeros, NULL, 0, NULL, nonce,
                                              cs->k);
    memcpy(cs->k, out, RP_NOISE_KEYLEN);
    sodium_memzero(out, sizeof out);
    return 0;
}

void rp_noise_cipher_wipe(rp_noise_cipher *cs)
{
    sodium_memzero(cs, sizeof *cs);
}

void rp_noise_cipher_set_nonce_for_testing(rp_noise_cipher *cs, uint64_t n)
{
    cs->n = n;
}

/* ---- SymmetricState -------------------------------------------------- */

/* HKDF(chaining_key, input_key_material, 2) of section 4.3:
 *   temp_key = HMAC(ck, ikm)
 *   output1  = HMAC(temp_key, 0x01)
 *   output2  = HMAC(temp_key, output1 || 0x02)
 * out1 may be ck itself (MixKey overwrites the chaining key). */
static void hkdf2(unsigned char out1[RP_NOISE_HASHLEN], unsigned char out2[RP_NOISE_HASHLEN],
                  const unsigned char ck[RP_NOISE_HASHLEN], const unsigned char *ikm, size_t len)
{
    static const unsigned char one = 0x01, two = 0x02;
    crypto_auth_hmacsha256_state st;
    unsigned char temp[RP_NOISE_HASHLEN];

    crypto_auth_hmacsha256_init(&st, ck, RP_NOISE_HASHLEN);
    crypto_auth_hmacsha256_update(&st, ikm, len);
    crypto_auth_hmacsha256_final(&st, temp);

    crypto_auth_hmacsha256_init(&st, temp, sizeof temp);
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, out1);

    crypto_auth_hmacsha256_init(&st, temp, sizeof temp);
    crypto_auth_hmacsha256_update(&st, out1, RP_NOISE_HASHLEN);
    crypto_auth_hmacsha256_update(&st, &two, 1);
    crypto_auth_hmacsha256_final(&st, out2);

    sodium_memzero(temp, sizeof temp);
    sodium_memzero(&st, sizeof st);
}

void rp_noise_symmetric_init(rp_noise_symmetric *ss, const char *name, size_t namelen)
{
    memset(ss, 0, sizeof *ss);
    if (namelen <= RP_NOISE_HASHLEN)
        memcpy(ss->h, name, namelen);
    else
        crypto_hash_sha256(ss->h, (const unsigned char *)name, namelen);
    memcpy(ss->ck, ss->h, RP_NOISE_HASHLEN);
}

void rp_noise_symmetric_mix_key(rp_noise_symmetric *ss, const unsigned char *ikm, size_t len)
{
    unsigned char temp_k[RP_NOISE_HASHLEN];

    hkdf2(ss->ck, temp_k, ss->ck, ikm, len);
    rp_noise_cipher_init(&ss->cs, temp_k);
    sodium_memzero(temp_k, sizeof temp_k);
}

/* HASH(h || a || b) into out (which may be h). */
static void hash2(unsigned char out[RP_NOISE_HASHLEN], const unsigned char h[RP_NOISE_HASHLEN],
                  const unsigned char *a, size_t alen)
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, h, RP_NOISE_HASHLEN);
    crypto_hash_sha256_update(&st, a, alen);
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void rp_noise_symmetric_mix_hash(rp_noise_symmetric *ss, const unsigned char *data, size_t len)
{
    hash2(ss->h, ss->h, data, len);
}

int rp_noise_symmetric_encrypt_and_hash(rp_noise_symmetric *ss, unsigned char *out, size_t outcap,
                                        size_t *outlen, const unsigned char *in, size_t inlen)
{
    int rc =
        rp_noise_cipher_encrypt(&ss->cs, out, outcap, outlen, ss->h, RP_NOISE_HASHLEN, in, inlen);
    if (rc != 0)
        return rc;
    rp_noise_symmetric_mix_hash(ss, out, *outlen);
    return 0;
}

int rp_noise_symmetric_decrypt_and_hash(rp_noise_symmetric *ss, unsigned char *out, size_t outcap,
                                        size_t *outlen, const unsigned char *in, size_t inlen)
{
    unsigned char h[RP_NOISE_HASHLEN];
    int rc;

    *outlen = 0;
    if (inlen > RP_NOISE_MAX_MSG)
        return RP_ERR_NOISE_MSG_LEN;
    /* The new h covers the ciphertext, which decryption may not keep. */
    hash2(h, ss->h, in, inlen);
    rc = rp_noise_cipher_decrypt(&ss->cs, out, outcap, outlen, ss->h, RP_NOISE_HASHLEN, in, inlen);
    if (rc == 0)
        memcpy(ss->h, h, sizeof h);
    return rc;
}

void rp_noise_symmetric_split(const rp_noise_symmetric *ss, rp_noise_cipher *c1,
                              rp_noise_cipher *c2)
{
    unsigned char k1[RP_NOISE_HASHLEN], k2[RP_NOISE_HASHLEN];

    hkdf2(k1, k2, ss->ck, NULL, 0);
    rp_noise_cipher_init(c1, k1);
    rp_noise_cipher_init(c2, k2);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
}

void rp_noise_symmetric_wipe(rp_noise_symmetric *ss)
{
    sodium_memzero(ss, sizeof *ss);
}

/* ---- HandshakeState -------------------------------------------------- */

/* What each message adds to its payload, by index. */
static const size_t overhead[3] = {RP_NOISE_XX_OVERHEAD1, RP_NOISE_XX_OVERHEAD2,
                                   RP_NOISE_XX_OVERHEAD3};

/* Messages 0 and 2 are the initiator's, 1 the responder's. */
static int writes_next(const rp_noise_handshake *hs)
{
    return hs->next < 3 && (hs->next != 1) == (hs->role == RP_NOISE_INITIATOR);
}

static int reads_next(const rp_noise_handshake *hs)
{
    return hs->next < 3 && !writes_next(hs);
}

/* The specification: "the handshake has failed and the HandshakeState is
 * deleted". ST_NONE after the wipe is what every later call refuses. */
static void fail(rp_noise_handshake *hs)
{
    sodium_memzero(hs, sizeof *hs);
}

/* MixKey(DH(priv, pub)), the DH result wiped. */
static int mix_dh(rp_noise_handshake *hs, const unsigned char priv[RP_NOISE_DHLEN],
                  const unsigned char pub[RP_NOISE_DHLEN])
{
    unsigned char d[RP_NOISE_DHLEN];
    int rc = dh(d, priv, pub);

    if (rc == 0)
        rp_noise_symmetric_mix_key(&hs->ss, d, sizeof d);
    sodium_memzero(d, sizeof d);
    return rc;
}

/* The e token when writing: GENERATE_KEYPAIR(), then MixHash(e.public_key). */
static int generate_e(rp_noise_handshake *hs)
{
    if (hs->has_test_e) {
        memcpy(hs->e, hs->test_e, RP_NOISE_DHLEN);
        sodium_memzero(hs->test_e, RP_NOISE_DHLEN);
        hs->has_test_e = 0;
    } else {
        randombytes_buf(hs->e, RP_NOISE_DHLEN);
    }
    if (crypto_scalarmult_base(hs->e_pub, hs->e) != 0)
        return RP_ERR_BAD_KEY; /* cannot happen for a clamped scalar */
    rp_noise_symmetric_mix_hash(&hs->ss, hs->e_pub, RP_NOISE_DHLEN);
    return 0;
}

int rp_noise_handshake_init(rp_noise_handshake *hs, rp_noise_role role,
                            const unsigned char s[static RP_NOISE_DHLEN],
                            const unsigned char *prologue, size_t prologue_len)
{
    memset(hs, 0, sizeof *hs);
    if ((role != RP_NOISE_INITIATOR && role != RP_NOISE_RESPONDER) ||
        prologue_len > RP_NOISE_MAX_PROLOGUE)
        return RP_ERR_INVALID_ARG;
    rp_noise_symmetric_init(&hs->ss, RP_NOISE_PROTOCOL_NAME, strlen(RP_NOISE_PROTOCOL_NAME));
    rp_noise_symmetric_mix_hash(&hs->ss, prologue, prologue_len);
    memcpy(hs->s, s, RP_NOISE_DHLEN);
    if (crypto_scalarmult_base(hs->s_pub, hs->s) != 0) {
        fail(hs);
        return RP_ERR_BAD_KEY;
    }
    hs->role = (int)role;
    hs->next = 0;
    hs->status = ST_RUNNING;
    return 0;
}

int rp_noise_handshake_set_ephemeral_for_testing(rp_noise_handshake *hs,
                                                 const unsigned char e[static RP_NOISE_DHLEN])
{
    int before_e = hs->role == RP_NOISE_INITIATOR ? hs->next == 0 : hs->next <= 1;

    if (hs->status != ST_RUNNING || !before_e)
        return RP_ERR_NOISE_STATE;
    memcpy(hs->test_e, e, RP_NOISE_DHLEN);
    hs->has_test_e = 1;
    return 0;
}

rp_noise_action rp_noise_handshake_action(const rp_noise_handshake *hs)
{
    if (hs->status == ST_DONE)
        return RP_NOISE_DONE;
    if (hs->status != ST_RUNNING)
        return RP_NOISE_FAILED;
    if (hs->next >= 3)
        return RP_NOISE_SPLIT;
    return writes_next(hs) ? RP_NOISE_WRITE : RP_NOISE_READ;
}

int rp_noise_handshake_write(rp_noise_handshake *hs, unsigned char *out, size_t outcap,
                             size_t *outlen, const unsigned char *payload, size_t payload_len)
{
    size_t off = 0, n = 0, need;
    int rc = 0;

    *outlen = 0;
    if (hs->status != ST_RUNNING || !writes_next(hs))
        return RP_ERR_NOISE_STATE;
    if (payload_len > RP_NOISE_MAX_MSG - overhead[hs->next])
        return RP_ERR_INVALID_ARG;
    need = overhead[hs->next] + payload_len;
    if (outcap < need)
        return RP_ERR_BUFFER;

    switch (hs->next) {
    case 0: /* -> e */
        if ((rc = generate_e(hs)) != 0)
            goto failed;
        memcpy(out, hs->e_pub, RP_NOISE_DHLEN);
        off = RP_NOISE_DHLEN;
        break;
    case 1: /* <- e, ee, s, es */
        if ((rc = generate_e(hs)) != 0)
            goto failed;
        memcpy(out, hs->e_pub, RP_NOISE_DHLEN);
        off = RP_NOISE_DHLEN;
        if ((rc = mix_dh(hs, hs->e, hs->re)) != 0) /* ee */
            goto failed;
        rc = rp_noise_symmetric_encrypt_and_hash(&hs->ss, out + off, outcap - off, &n, hs->s_pub,
                                                 RP_NOISE_DHLEN); /* s */
        if (rc != 0)
            goto failed;
        off += n;
        if ((rc = mix_dh(hs, hs->s, hs->re)) != 0) /* es, as the responder */
            goto failed;
        break;
    default: /* -> s, se */
        rc = rp_noise_symmetric_encrypt_and_hash(&hs->ss, out, outcap, &n, hs->s_pub,
                                                 RP_NOISE_DHLEN); /* s */
        if (rc != 0)
            goto failed;
        off = n;
        if ((rc = mix_dh(hs, hs->s, hs->re)) != 0) /* se, as the initiator */
            goto failed;
        break;
    }
    rc = rp_noise_symmetric_encrypt_and_hash(&hs->ss, out + off, outcap - off, &n, payload,
                                             payload_len);
    if (rc != 0)
        goto failed;
    hs->next++;
    *outlen = off + n;
    return 0;

failed:
    sodium_memzero(out, need);
    fail(hs);
    return rc;
}

int rp_noise_handshake_read(rp_noise_handshake *hs, unsigned char *payload, size_t payload_cap,
                            size_t *payload_len, const unsigned char *msg, size_t msglen)
{
    size_t off = 0, n = 0, plen;
    int rc;

    *payload_len = 0;
    if (hs->status != ST_RUNNING || !reads_next(hs))
        return RP_ERR_NOISE_STATE;
    if (msglen < overhead[hs->next] || msglen > RP_NOISE_MAX_MSG) {
        rc = RP_ERR_NOISE_MSG_LEN;
        plen = 0;
        goto failed;
    }
    plen = msglen - overhead[hs->next];
    if (payload_cap < plen)
        return RP_ERR_BUFFER;

    switch (hs->next) {
    case 0: /* -> e */
        memcpy(hs->re, msg, RP_NOISE_DHLEN);
        rp_noise_symmetric_mix_hash(&hs->ss, hs->re, RP_NOISE_DHLEN);
        off = RP_NOISE_DHLEN;
        break;
    case 1: /* <- e, ee, s, es */
        memcpy(hs->re, msg, RP_NOISE_DHLEN);
        rp_noise_symmetric_mix_hash(&hs->ss, hs->re, RP_NOISE_DHLEN);
        off = RP_NOISE_DHLEN;
        if ((rc = mix_dh(hs, hs->e, hs->re)) != 0) /* ee */
            goto failed;
        rc = rp_noise_symmetric_decrypt_and_hash(&hs->ss, hs->rs, RP_NOISE_DHLEN, &n, msg + off,
                                                 RP_NOISE_DHLEN + RP_NOISE_TAGLEN); /* s */
        if (rc != 0)
            goto failed;
        off += RP_NOISE_DHLEN + RP_NOISE_TAGLEN;
        if ((rc = mix_dh(hs, hs->e, hs->rs)) != 0) /* es, as the initiator */
            goto failed;
        break;
    default: /* -> s, se */
        rc = rp_noise_symmetric_decrypt_and_hash(&hs->ss, hs->rs, RP_NOISE_DHLEN, &n, msg,
                                                 RP_NOISE_DHLEN + RP_NOISE_TAGLEN); /* s */
        if (rc != 0)
            goto failed;
        off = RP_NOISE_DHLEN + RP_NOISE_TAGLEN;
        if ((rc = mix_dh(hs, hs->e, hs->rs)) != 0) /* se, as the responder */
            goto failed;
        break;
    }
    rc = rp_noise_symmetric_decrypt_and_hash(&hs->ss, payload, payload_cap, &n, msg + off,
                                             msglen - off);
    if (rc != 0)
        goto failed;
    hs->next++;
    *payload_len = n;
    return 0;

failed:
    if (plen > 0)
        sodium_memzero(payload, plen);
    fail(hs);
    return rc;
}

int rp_noise_handshake_remote_static(const rp_noise_handshake *hs,
                                     unsigned char rs[static RP_NOISE_DHLEN])
{
    /* The initiator learns rs from message 2 (index 1), the responder from
     * message 3 (index 2); next has moved past it once it authenticated. */
    int known = hs->status == ST_DONE ||
                (hs->status == ST_RUNNING && hs->next >= (hs->role == RP_NOISE_INITIATOR ? 2 : 3));

    if (!known) {
        memset(rs, 0, RP_NOISE_DHLEN);
        return RP_ERR_NOISE_STATE;
    }
    memcpy(rs, hs->rs, RP_NOISE_DHLEN);
    return 0;
}

int rp_noise_handshake_split(rp_noise_handshake *hs, rp_noise_cipher *send, rp_noise_cipher *recv,
                             unsigned char h[static RP_NOISE_HASHLEN])
{
    rp_noise_cipher c1, c2;
    unsigned char rs[RP_NOISE_DHLEN], hh[RP_NOISE_HASHLEN];
    int role;

    if (hs->status != ST_RUNNING || hs->next != 3) {
        rp_noise_cipher_wipe(send);
        rp_noise_cipher_wipe(recv);
        memset(h, 0, RP_NOISE_HASHLEN);
        return RP_ERR_NOISE_STATE;
    }
    rp_noise_symmetric_split(&hs->ss, &c1, &c2);
    if (hs->role == RP_NOISE_INITIATOR) {
        *send = c1;
        *recv = c2;
    } else {
        *send = c2;
        *recv = c1;
    }
    rp_noise_cipher_wipe(&c1);
    rp_noise_cipher_wipe(&c2);
    memcpy(h, hs->ss.h, RP_NOISE_HASHLEN);

    /* Keep what is public (the remote static key, the hash), wipe the rest. */
    memcpy(rs, hs->rs, sizeof rs);
    memcpy(hh, hs->ss.h, sizeof hh);
    role = hs->role;
    sodium_memzero(hs, sizeof *hs);
    memcpy(hs->rs, rs, sizeof rs);
    memcpy(hs->ss.h, hh, sizeof hh);
    hs->role = role;
    hs->next = 3;
    hs->status = ST_DONE;
    return 0;
}

void rp_noise_handshake_wipe(rp_noise_handshake *hs)
{
    sodium_memzero(hs, sizeof *hs);
}
