/* BIP-340 keys and signatures on libsecp256k1, and the shared context.
 *
 * One SECP256K1_CONTEXT_NONE context is created by rp_crypto_init() and
 * randomized with 32 bytes from the OS (blinding against side channels); from
 * then on it is only read, which libsecp256k1 allows from any number of
 * threads. hash.c reaches it through rp_crypto_ctx() (crypto/internal.h).
 *
 * Secrets that pass through the stack here (expanded key pairs, seeds being
 * hashed, candidate keys) are wiped with sodium_memzero on every path out.
 * Messages of any length are signed and verified as BIP-340 allows (the
 * protocol itself always signs 32-byte tagged hashes); an empty message is
 * passed to libsecp256k1 as a non-NULL pointer with length 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "crypto/error.h"
#include "crypto/internal.h"
#include "crypto/sig.h"

static secp256k1_context *ctx;
static const unsigned char empty[1];

const secp256k1_context *rp_crypto_ctx(void)
{
    if (ctx == NULL) {
        /* A programming error: nothing sensible can be returned. */
        fputs("repute: crypto used before rp_crypto_init()\n", stderr);
        abort();
    }
    return ctx;
}

int rp_crypto_init(void)
{
    unsigned char seed[32];
    secp256k1_context *c;
    int ok;

    if (ctx != NULL)
        return 0;
    if (sodium_init() < 0)
        return RP_ERR_CRYPTO_INIT;
    c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (c == NULL)
        return RP_ERR_CRYPTO_INIT;
    randombytes_buf(seed, sizeof seed);
    ok = secp256k1_context_randomize(c, seed);
    sodium_memzero(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(c);
        return RP_ERR_CRYPTO_INIT;
    }
    ctx = c;
    rp_hash_init_tags();
    return 0;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xFFU);
        v >>= 8;
    }
}

int rp_seckey_generate(rp_seckey *sk)
{
    /* The chance of a draw outside [1, n-1] is about 2^-128: the loop runs
     * once. randombytes_buf cannot fail (libsodium aborts instead). */
    do {
        randombytes_buf(sk->bytes, sizeof sk->bytes);
    } while (!secp256k1_ec_seckey_verify(rp_crypto_ctx(), sk->bytes));
    return 0;
}

int rp_seckey_from_seed(rp_seckey *sk, const unsigned char seed[static 32], uint64_t index)
{
    /* seed (32) || index (8, big-endian) || counter (8, big-endian) */
    unsigned char buf[48];
    rp_hash h;

    memcpy(buf, seed, 32);
    put_be64(buf + 32, index);
    for (uint64_t counter = 0;; counter++) {
        put_be64(buf + 40, counter);
        rp_tagged_hash(&h, RP_TAG_KEYGEN, buf, sizeof buf);
        if (secp256k1_ec_seckey_verify(rp_crypto_ctx(), h.bytes))
            break;
    }
    memcpy(sk->bytes, h.bytes, sizeof sk->bytes);
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(&h, sizeof h);
    return 0;
}

int rp_seckey_valid(const rp_seckey *sk)
{
    return secp256k1_ec_seckey_verify(rp_crypto_ctx(), sk->bytes) == 1;
}

int rp_pubkey_from_seckey(rp_pubkey *pk, const rp_seckey *sk)
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int err = 0;

    if (!secp256k1_keypair_create(rp_crypto_ctx(), &kp, sk->bytes) ||
        !secp256k1_keypair_xonly_pub(rp_crypto_ctx(), &xpk, NULL, &kp) ||
        !secp256k1_xonly_pubkey_serialize(rp_crypto_ctx(), pk->bytes, &xpk))
        err = RP_ERR_BAD_KEY;
    sodium_memzero(&kp, sizeof kp);
    if (err != 0)
        memset(pk->bytes, 0, sizeof pk->bytes);
    return err;
}

int rp_pubkey_valid(const rp_pubkey *pk)
{
    secp256k1_xonly_pubkey xpk;

    return secp256k1_xonly_pubkey_parse(rp_crypto_ctx(), &xpk, pk->bytes) == 1;
}

void rp_aux_fresh(unsigned char aux[static 32])
{
    randombytes_buf(aux, 32);
}

void rp_aux_derive(unsigned char aux[static 32], const unsigned char seed[static 32],
                   uint64_t counter)
{
    /* seed (32) || counter (8, big-endian) */
    unsigned char buf[40];
    rp_hash h;

    memcpy(buf, seed, 32);
    put_be64(buf + 32, counter);
    rp_tagged_hash(&h, RP_TAG_AUX, buf, sizeof buf);
    memcpy(aux, h.bytes, 32);
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(&h, sizeof h);
}

int rp_sign(rp_sig *sig, const unsigned char *msg, size_t msglen, const rp_seckey *sk,
            const unsigned char aux[static 32])
{
    secp256k1_keypair kp;
    secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    /* extraparams.ndata is a non-const void *: hand it a copy rather than
     * casting const away. */
    unsigned char ndata[32];
    int err = 0;

    if (!secp256k1_keypair_create(rp_crypto_ctx(), &kp, sk->bytes)) {
        err = RP_ERR_BAD_KEY;
    } else {
        memcpy(ndata, aux, sizeof ndata);
        extra.ndata = ndata;
        if (!secp256k1_schnorrsig_sign_custom(rp_crypto_ctx(), sig->bytes, msglen > 0 ? msg : empty,
                                              msglen, &kp, &extra))
            err = RP_ERR_SIGN;
        sodium_memzero(ndata, sizeof ndata);
    }
    sodium_memzero(&kp, sizeof kp);
    if (err != 0)
        memset(sig->bytes, 0, sizeof sig->bytes);
    return err;
}

int rp_verify(const rp_sig *sig, const unsigned char *msg, size_t msglen, const rp_pubkey *pk)
{
    secp256k1_xonly_pubkey xpk;

    if (!secp256k1_xonly_pubkey_parse(rp_crypto_ctx(), &xpk, pk->bytes))
        return 0;
    return secp256k1_schnorrsig_verify(rp_crypto_ctx(), sig->bytes, msglen > 0 ? msg : empty,
                                       msglen, &xpk) == 1;
}

size_t rp_verify_range(const rp_sig_check *batch, size_t begin, size_t end, unsigned char *ok)
{
    size_t failed = 0;

    for (size_t i = begin; i < end; i++) {
        const rp_sig_check *c = &batch[i];
        ok[i] = (unsigned char)rp_verify(c->sig, c->msg, c->msglen, c->pubkey);
        failed += ok[i] == 0;
    }
    return failed;
}
