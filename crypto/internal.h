/* Internal to crypto/: the shared libsecp256k1 context.
 *
 * Not a public header. sig.c owns the context (created and randomized once by
 * rp_crypto_init); hash.c borrows it for secp256k1_tagged_sha256.
 */
#ifndef RP_CRYPTO_INTERNAL_H
#define RP_CRYPTO_INTERNAL_H

#include <secp256k1.h>

/* The shared, randomized context.
 * Returns: the context created by rp_crypto_init(); never NULL. Calling it
 *          before rp_crypto_init() succeeded is a programming error and
 *          aborts the process.
 * Thread-safe after rp_crypto_init(); the context is only ever read.
 */
const secp256k1_context *rp_crypto_ctx(void);

/* Precompute the streaming tagged-hash state of every registry tag
 * (hash.c). Called once by rp_crypto_init(), before any other thread runs. */
void rp_hash_init_tags(void);

#endif /* RP_CRYPTO_INTERNAL_H */
