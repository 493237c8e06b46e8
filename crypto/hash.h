/* SHA-256 and BIP-340-style tagged hashes.
 *
 * Every hash in consensus data is a tagged SHA-256,
 *     TH(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m),
 * with one tag per purpose. All tags live in the table below so that no two
 * purposes can share one by accident. The one-shot form goes through
 * libsecp256k1's secp256k1_tagged_sha256; the streaming form (for inputs that
 * are not contiguous in memory) uses libsodium's SHA-256 and gives the same
 * bits, which the tests check.
 *
 * All functions here need rp_crypto_init() (crypto/sig.h) to have succeeded.
 * They are thread-safe and never fail.
 */
#ifndef RP_HASH_H
#define RP_HASH_H

#include <stddef.h>
#include <sodium.h>

/* The registry of tags. Never reuse one for a new purpose; bump the version. */
#define RP_TAG_GENESIS "repute/genesis/v1"   /* chain id */
#define RP_TAG_RECORD "repute/record/v1"     /* record id: chain id || body */
#define RP_TAG_POW "repute/pow/v1"           /* IDENTITY proof-of-work stamp */
#define RP_TAG_RECOVERY "repute/recovery/v1" /* recovery-key commitment */
#define RP_TAG_KEYGEN "repute/keygen/v1"     /* seed-derived secret keys */
#define RP_TAG_AUX "repute/aux/v1"           /* seed-derived signing randomness */
#define RP_TAG_VOTE "repute/vote/v1"         /* consensus votes */
#define RP_TAG_STATE "repute/state/v1"       /* running state hash */
#define RP_TAG_MERKLE_LEAF "repute/merkle/leaf/v1"   /* Merkle leaf: TH(tag, data) */
#define RP_TAG_MERKLE_NODE "repute/merkle/node/v1"   /* Merkle inner node: TH(tag, l || r) */
#define RP_TAG_MERKLE_EMPTY "repute/merkle/empty/v1" /* root of the empty list */
#define RP_TAG_HEADER "repute/header/v1"             /* block hash: TH(tag, header) */
#define RP_TAG_COMMIT "repute/commit/v1"             /* commit hash: TH(tag, commit) */
#define RP_TAG_VALIDATORS "repute/validators/v1"     /* validator-set hash */
#define RP_TAG_CHANGES "repute/changes/v1"           /* a block's state changes */
#define RP_TAG_GEN_SEED "repute/gen-seed/v1"         /* repute-gen's master seed */
#define RP_TAG_P2P_BINDING "repute/p2p-binding/v1"   /* HELLO: node key over Noise static key */

typedef struct rp_hash {
    unsigned char bytes[32];
} rp_hash;

/* Plain SHA-256.
 * Out: out: the digest.
 * In:  in, len: the message (in may be NULL when len is 0).
 */
void rp_sha256(rp_hash *out, const unsigned char *in, size_t len);

/* One-shot tagged hash TH(tag, msg).
 * Out: out: the digest.
 * In:  tag: NUL-terminated tag, normally one of RP_TAG_*.
 *      msg, len: the message (msg may be NULL when len is 0).
 */
void rp_tagged_hash(rp_hash *out, const char *tag, const unsigned char *msg, size_t len);

/* Streaming tagged hash: init, any number of updates, final. The state holds
 * no secrets of its own but is wiped by rp_th_final anyway. */
typedef struct rp_th_ctx {
    crypto_hash_sha256_state st;
} rp_th_ctx;

void rp_th_init(rp_th_ctx *ctx, const char *tag);
void rp_th_update(rp_th_ctx *ctx, const unsigned char *in, size_t len);
void rp_th_final(rp_th_ctx *ctx, rp_hash *out);

/* Constant-time equality of two hashes. Returns: 1 if equal, 0 if not. */
int rp_hash_eq(const rp_hash *a, const rp_hash *b);

#endif /* RP_HASH_H */
