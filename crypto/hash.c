/* SHA-256 and BIP-340-style tagged hashes, TH(tag, m) =
 * SHA256(SHA256(tag) || SHA256(tag) || m).
 *
 * The one-shot form is libsecp256k1's secp256k1_tagged_sha256, the same code
 * that BIP-340 signing uses. The streaming form is built on libsodium's
 * SHA-256 by feeding the doubled tag hash first; the tests check that both give
 * the same bits. libsecp256k1 requires a non-NULL message pointer even for an
 * empty message, so an empty one is replaced by a static byte.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/hash.h"
#include "crypto/internal.h"

static const unsigned char empty[1];

/* The streaming state after SHA256(tag) || SHA256(tag) for every tag of the
 * registry, computed once by rp_hash_init_tags() (called from rp_crypto_init).
 * Starting from it saves two SHA-256 compressions per hash, which is a
 * measurable share of the cost of a record id. Other tags still work; they
 * are simply hashed from scratch. */
static const char *const registry[] = {
    RP_TAG_GENESIS,     RP_TAG_RECORD,      RP_TAG_POW,          RP_TAG_RECOVERY,
    RP_TAG_KEYGEN,      RP_TAG_AUX,         RP_TAG_VOTE,         RP_TAG_STATE,
    RP_TAG_MERKLE_LEAF, RP_TAG_MERKLE_NODE, RP_TAG_MERKLE_EMPTY, RP_TAG_HEADER,
    RP_TAG_COMMIT,      RP_TAG_VALIDATORS,  RP_TAG_CHANGES,      RP_TAG_GEN_SEED,
};
#define NTAGS (sizeof registry / sizeof registry[0])
static crypto_hash_sha256_state midstate[NTAGS];
static int midstate_ready;

static void th_init_slow(crypto_hash_sha256_state *st, const char *tag)
{
    unsigned char th[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(th, (const unsigned char *)tag, strlen(tag));
    crypto_hash_sha256_init(st);
    crypto_hash_sha256_update(st, th, sizeof th);
    crypto_hash_sha256_update(st, th, sizeof th);
    sodium_memzero(th, sizeof th);
}

void rp_hash_init_tags(void)
{
    for (size_t i = 0; i < NTAGS; i++)
        th_init_slow(&midstate[i], registry[i]);
    midstate_ready = 1;
}

void rp_sha256(rp_hash *out, const unsigned char *in, size_t len)
{
    crypto_hash_sha256(out->bytes, len > 0 ? in : empty, (unsigned long long)len);
}

void rp_tagged_hash(rp_hash *out, const char *tag, const unsigned char *msg, size_t len)
{
    int ok = secp256k1_tagged_sha256(rp_crypto_ctx(), out->bytes, (const unsigned char *)tag,
                                     strlen(tag), len > 0 ? msg : empty, len);
    /* Only fails on NULL arguments, which the contract excludes. */
    (void)ok;
}

void rp_th_init(rp_th_ctx *ctx, const char *tag)
{
    if (midstate_ready) {
        for (size_t i = 0; i < NTAGS; i++) {
            if (tag == registry[i] || strcmp(tag, registry[i]) == 0) {
                ctx->st = midstate[i];
                return;
            }
        }
    }
    th_init_slow(&ctx->st, tag);
}

void rp_th_update(rp_th_ctx *ctx, const unsigned char *in, size_t len)
{
    if (len > 0)
        crypto_hash_sha256_update(&ctx->st, in, (unsigned long long)len);
}

void rp_th_final(rp_th_ctx *ctx, rp_hash *out)
{
    crypto_hash_sha256_final(&ctx->st, out->bytes);
    sodium_memzero(ctx, sizeof *ctx);
}

int rp_hash_eq(const rp_hash *a, const rp_hash *b)
{
    return sodium_memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}
