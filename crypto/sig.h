/* BIP-340 Schnorr keys and signatures over secp256k1 (libsecp256k1 0.2.0).
 *
 * An identity's name is its first x-only public key (32 bytes). Signatures are
 * 64 bytes and always sign a tagged hash (see crypto/hash.h), although the
 * functions accept messages of any length so that the BIP-340 test vectors,
 * some of which are not 32 bytes long, run through this layer unchanged.
 *
 * Context: one SECP256K1_CONTEXT_NONE context is created and randomized by
 * rp_crypto_init() and then shared read-only by every thread. Call
 * rp_crypto_init() once, on the main thread, before anything else in crypto/;
 * after that every function here is thread-safe.
 *
 * Randomness: signing takes 32 bytes of auxiliary randomness from the caller.
 * Production code passes fresh bytes (rp_aux_fresh); generators and known-answer
 * tests derive them from a seed (rp_aux_derive) so their output is reproducible.
 * A bad aux value weakens nothing but side-channel protection: BIP-340 nonces
 * stay secret as long as the secret key does.
 *
 * Pointer arguments are never NULL unless a contract says so.
 */
#ifndef RP_SIG_H
#define RP_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

typedef struct rp_seckey {
    unsigned char bytes[32]; /* secret: wipe with sodium_memzero after use */
} rp_seckey;

typedef struct rp_pubkey {
    unsigned char bytes[32]; /* BIP-340 x-only serialization */
} rp_pubkey;

typedef struct rp_sig {
    unsigned char bytes[64];
} rp_sig;

/* Start libsodium and create the shared, randomized secp256k1 context.
 * Returns: 0, or RP_ERR_CRYPTO_INIT / RP_ERR_RANDOM. Idempotent; not safe to
 *          call concurrently with itself.
 */
int rp_crypto_init(void);

/* Generate a fresh random secret key.
 * Returns: 0, or RP_ERR_RANDOM.
 * Out:     sk: a valid secret key.
 */
int rp_seckey_generate(rp_seckey *sk);

/* Derive a secret key from a seed and an index, reproducibly: the first
 * valid scalar among TH(RP_TAG_KEYGEN, seed || index || counter) for
 * counter = 0, 1, ... (in practice counter 0). For generators and tests only.
 * Returns: 0.
 * Out:     sk: a valid secret key.
 * In:      seed: 32 bytes; index: which key of the seed.
 */
int rp_seckey_from_seed(rp_seckey *sk, const unsigned char seed[static 32], uint64_t index);

/* Check that 32 bytes are a valid secret key (nonzero, below the group order).
 * Returns: 1 if valid, 0 if not.
 */
int rp_seckey_valid(const rp_seckey *sk);

/* Compute the x-only public key of a secret key.
 * Returns: 0, or RP_ERR_BAD_KEY if sk is not a valid secret key.
 * Out:     pk: the public key (zeroed on failure).
 */
int rp_pubkey_from_seckey(rp_pubkey *pk, const rp_seckey *sk);

/* Check that 32 bytes are a valid x-only public key (x below the field size and
 * on the curve).
 * Returns: 1 if valid, 0 if not.
 */
int rp_pubkey_valid(const rp_pubkey *pk);

/* Fill 32 bytes of fresh auxiliary randomness for signing.
 * Out: aux: random bytes from the operating system.
 */
void rp_aux_fresh(unsigned char aux[static 32]);

/* Derive auxiliary randomness reproducibly: TH(RP_TAG_AUX, seed || counter).
 * Out: aux.  In: seed: 32 bytes; counter: distinct per signature.
 */
void rp_aux_derive(unsigned char aux[static 32], const unsigned char seed[static 32],
                   uint64_t counter);

/* Sign a message with BIP-340 (secp256k1_schnorrsig_sign_custom).
 * Returns: 0, RP_ERR_BAD_KEY if sk is invalid, RP_ERR_SIGN if signing failed.
 * Out:     sig: the signature (zeroed on failure).
 * In:      msg, msglen: the message (msg may be NULL if msglen is 0);
 *          sk: the secret key; aux: 32 bytes of auxiliary randomness.
 * The expanded key pair is wiped before returning.
 */
int rp_sign(rp_sig *sig, const unsigned char *msg, size_t msglen, const rp_seckey *sk,
            const unsigned char aux[static 32]);

/* Verify a BIP-340 signature.
 * Returns: 1 if sig is a valid signature of msg by pk; 0 otherwise, including
 *          when pk is not a valid x-only key.
 * In:      sig; msg, msglen (msg may be NULL if msglen is 0); pk.
 */
int rp_verify(const rp_sig *sig, const unsigned char *msg, size_t msglen, const rp_pubkey *pk);

/* One signature to check in a batch. All pointers are borrowed. */
typedef struct rp_sig_check {
    const unsigned char *msg;
    size_t msglen;
    const rp_pubkey *pubkey;
    const rp_sig *sig;
} rp_sig_check;

/* Verify items [begin, end) of a batch. The node's worker pool calls this on
 * disjoint ranges of one batch from several threads at once; it touches only
 * batch[begin..end) and ok[begin..end).
 * Returns: how many of the range failed.
 * Out:     ok[i] for begin <= i < end: 1 if item i verified, 0 if not.
 * In:      batch: the items; begin <= end: the range.
 */
size_t rp_verify_range(const rp_sig_check *batch, size_t begin, size_t end, unsigned char *ok);

#endif /* RP_SIG_H */
