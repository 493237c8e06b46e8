/* rp_strerror: one English sentence for every code a repute function returns,
 * and the registry through which each layer above adds its own.
 *
 * Project codes are listed in a switch over enum rp_error so that the compiler
 * (-Wswitch) points at any code added to error.h without a message here.
 * Values in errno's range are described by the C library, but only through a
 * lookup that returns static text: glibc's strerror() formats unknown values
 * into a per-thread buffer ("Unknown error 1234"), which is neither "never
 * freed" nor free of caller data, so on glibc we use strerrordesc_np() and
 * fall back to the generic message for values it does not know.
 */
#define _GNU_SOURCE 1 /* strerrordesc_np on glibc; harmless elsewhere */

#include <stdatomic.h>
#include <string.h>

#include "crypto/error.h"

/* The ranges this file describes itself. */
#define OWN_FIRST   (-1000)
#define OWN_LAST    (-1799)
#define TRUST_FIRST (-1900)
#define TRUST_LAST  (-1999)

static const rp_error_range *_Atomic ranges[RP_ERROR_MAX_RANGES];

static int overlaps(int first, int last, int f2, int l2)
{
    return !(last > f2 || first < l2);
}

int rp_error_register(const rp_error_range *r)
{
    if (!r || !r->message || r->first < r->last || r->first >= 0 ||
        overlaps(r->first, r->last, OWN_FIRST, OWN_LAST) ||
        overlaps(r->first, r->last, TRUST_FIRST, TRUST_LAST))
        return RP_ERR_INVALID_ARG;
    for (size_t i = 0; i < RP_ERROR_MAX_RANGES; i++) {
        const rp_error_range *cur = atomic_load(&ranges[i]);
        for (;;) {
            if (cur == r)
                return 0; /* registered already */
            if (cur) {
                if (overlaps(r->first, r->last, cur->first, cur->last))
                    return RP_ERR_INVALID_ARG;
                break;
            }
            const rp_error_range *empty = NULL;
            if (atomic_compare_exchange_strong(&ranges[i], &empty, r))
                return 0;
            cur = empty; /* someone else took the slot: look at what is there */
        }
    }
    return RP_ERR_BUFFER;
}

static const char *registered_message(int err)
{
    for (size_t i = 0; i < RP_ERROR_MAX_RANGES; i++) {
        const rp_error_range *r = atomic_load(&ranges[i]);
        if (r && err <= r->first && err >= r->last)
            return r->message(err);
    }
    return NULL;
}

static const char *project_message(enum rp_error e)
{
    switch (e) {
    case RP_OK:
        return "success";
    case RP_ERR_INVALID_ARG:
        return "invalid argument";
    case RP_ERR_NOMEM:
        return "out of memory";
    case RP_ERR_BUFFER:
        return "output buffer too small";
    case RP_ERR_CRYPTO_INIT:
        return "cryptography library failed to initialize";
    case RP_ERR_RANDOM:
        return "randomness could not be obtained";
    case RP_ERR_TRUNCATED:
        return "input truncated";
    case RP_ERR_TRAILING:
        return "trailing bytes after a complete value";
    case RP_ERR_TOO_LONG:
        return "length exceeds its maximum";
    case RP_ERR_BAD_VERSION:
        return "unknown format version";
    case RP_ERR_BAD_TYPE:
        return "unknown record or message type";
    case RP_ERR_BAD_UTF8:
        return "text is not valid UTF-8 or contains control characters";
    case RP_ERR_RANGE:
        return "value out of range";
    case RP_ERR_NONCANONICAL:
        return "non-canonical encoding";
    case RP_ERR_BAD_HEX:
        return "invalid hex (non-digit or wrong length)";
    case RP_ERR_BAD_KEY:
        return "invalid secret or public key";
    case RP_ERR_BAD_SIGNATURE:
        return "signature does not verify";
    case RP_ERR_SIGN:
        return "signing failed";
    case RP_ERR_NOISE_MSG_LEN:
        return "Noise message of a bad length (truncated, or over 65,535 bytes)";
    case RP_ERR_NOISE_DECRYPT:
        return "Noise message failed to decrypt (tampered, out of order, or another key)";
    case RP_ERR_NOISE_LOW_ORDER:
        return "remote X25519 key is a low-order point";
    case RP_ERR_NOISE_STATE:
        return "Noise handshake or cipher used out of order, or after it failed";
    case RP_ERR_NOISE_NONCE:
        return "Noise cipher nonces exhausted (2^64-1 reached)";
    case RP_ERR_FRAME_LENGTH:
        return "encrypted frame length breaks the framing rules";
    case RP_ERR_FRAME_TOO_LARGE:
        return "p2p message larger than the protocol's maximum";
    case RP_ERR_KEYFILE_FORMAT:
        return "not a repute key file, or corrupt";
    case RP_ERR_KEYFILE_VERSION:
        return "unsupported key file version";
    case RP_ERR_KEYFILE_PERMS:
        return "key file is accessible by group or others (must be 0600)";
    case RP_ERR_KEYFILE_DECRYPT:
        return "key file decryption failed (wrong passphrase or tampered file)";
    case RP_ERR_KEYFILE_PARAMS:
        return "key file KDF parameters outside accepted limits";
    case RP_ERR_POW:
        return "proof-of-work stamp below the difficulty";
    case RP_ERR_GENESIS:
        return "malformed or out-of-range genesis document";
    case RP_ERR_BLOCK_HEIGHT:
        return "not the next height";
    case RP_ERR_BLOCK_PREV:
        return "previous header hash does not match";
    case RP_ERR_BLOCK_ROOT:
        return "records Merkle root does not match";
    case RP_ERR_BLOCK_STATE:
        return "state hash after the block does not match";
    case RP_ERR_BLOCK_LIMITS:
        return "too many records or bytes, or empty";
    case RP_ERR_BLOCK_TIME:
        return "time not after the previous block's";
    case RP_ERR_BLOCK_VALIDATORS:
        return "validator-set hash or proposer wrong";
    case RP_ERR_COMMIT:
        return "commit not for this block, or < 2/3 power";
    case RP_ERR_BLOCK_PREV_COMMIT:
        return "previous commit hash does not match";
    case RP_ERR_BLOCK_EPOCH:
        return "epoch number or score root does not match";
    case RP_ERR_WRONG_CHAIN:
        return "chain id differs from this chain's";
    case RP_ERR_BAD_SEQUENCE:
        return "issuer's sequence must grow by exactly one";
    case RP_ERR_NOT_REGISTERED:
        return "issuer has no IDENTITY yet";
    case RP_ERR_ALREADY_REGISTERED:
        return "sequence 1 for an existing identity";
    case RP_ERR_SELF_ENGAGEMENT:
        return "both parties are the same identity";
    case RP_ERR_UNKNOWN_PARTY:
        return "counterparty or subject not registered";
    case RP_ERR_EXPIRED:
        return "engagement past expiry or beyond max TTL";
    case RP_ERR_NO_ENGAGEMENT:
        return "review names no engagement on chain";
    case RP_ERR_NOT_A_PARTY:
        return "reviewer/subject not the engagement's parties";
    case RP_ERR_DUPLICATE_REVIEW:
        return "a live review in that direction exists";
    case RP_ERR_SELF_VOUCH:
        return "vouching for oneself";
    case RP_ERR_DUPLICATE_VOUCH:
        return "a live vouch for that pair exists";
    case RP_ERR_NO_TARGET:
        return "revoke target is not a REVIEW, VOUCH or AUDIENCE";
    case RP_ERR_NOT_ISSUER:
        return "only the original issuer may revoke";
    case RP_ERR_ALREADY_REVOKED:
        return "target already revoked";
    case RP_ERR_KEY_USED:
        return "new key was used by some identity before";
    case RP_ERR_RECOVERY_MISMATCH:
        return "recovery key does not match the commitment";
    case RP_ERR_RECORD_TIME:
        return "record time outside tolerance of block time";
    case RP_ERR_DUPLICATE_RECORD:
        return "record id already on chain";
    case RP_ERR_NOT_VALIDATOR:
        return "evidence names a key that is not a genesis validator";
    case RP_ERR_DUPLICATE_EVIDENCE:
        return "evidence for that validator, height, round and vote type is already on chain";
    case RP_ERR_EVIDENCE_HEIGHT:
        return "evidence vote height is not below the block height, or is too old";
    case RP_ERR_SELF_ATTEST:
        return "an audience attestation about its own issuer";
    case RP_ERR_NOT_TALENT:
        return "the attestation's subject is not registered as a talent";
    case RP_ERR_STALE_ATTESTATION:
        return "an attestation no later than the live one it would replace";
    case RP_ERR_TRUST_STATE:
        return "trust iteration driven out of order (a range missed, or already done)";
    }
    return NULL;
}

static const char *errno_message(int e)
{
#if defined(__GLIBC__)
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32)
    return strerrordesc_np(e);
#else
    return strerror(e);
#endif
#else
    return strerror(e);
#endif
}

const char *rp_strerror(int err)
{
    const char *msg = NULL;

    if (err == 0 || (err <= OWN_FIRST && err >= OWN_LAST) ||
        (err <= TRUST_FIRST && err >= TRUST_LAST))
        msg = project_message((enum rp_error)err);
    else if (err <= -1000)
        msg = registered_message(err);
    else if (err < 0 && err >= -4095)
        msg = errno_message(-err);
    return msg != NULL ? msg : "unknown error";
}
