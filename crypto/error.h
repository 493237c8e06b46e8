/* The project's one error convention.
 *
 * Every function that can fail returns int: 0 on success, a negative value on
 * failure. System errors are returned as -errno; project errors are the
 * negative codes below, chosen well away from errno's range so the two never
 * collide. LMDB and libuv codes are translated where they enter the project.
 * Functions that answer a yes/no question (is this signature valid?) return 1
 * or 0 instead and say so in their contract.
 *
 * Codes are part of the interface (RPC errors and exit statuses are derived
 * from them): never renumber one, only append.
 *
 * Each layer owns a range of codes and their messages:
 *   -1000..-1799  crypto/error.h (here): generic, decoding, keys, key files,
 *                 the Noise handshake and the p2p framing on it, and the
 *                 chain's shared vocabulary (records, genesis, blocks,
 *                 rules), which every layer above speaks
 *   -1800..-1899  ledger/errors.h: the store
 *   -1900..-1999  here: the trust engine's (trust/ depends on nothing)
 *   -2000..-2099  node/errors.h: configuration, mempool, node
 *   -2100..-2199  p2p/ (to come)   -2200..-2299  consensus/ (to come)
 * A layer registers its messages with rp_error_register when it starts (its
 * entry points do it), so rp_strerror describes every code of every layer a
 * program uses without crypto/ depending on any of them.
 */
#ifndef RP_ERROR_H
#define RP_ERROR_H

enum rp_error {
    RP_OK = 0,

    /* Generic. */
    RP_ERR_INVALID_ARG = -1000, /* a caller broke a documented precondition */
    RP_ERR_NOMEM = -1001,       /* an allocation failed */
    RP_ERR_BUFFER = -1002,      /* an output buffer is too small */
    RP_ERR_CRYPTO_INIT = -1003, /* libsodium or libsecp256k1 failed to start */
    RP_ERR_RANDOM = -1004,      /* randomness could not be obtained */

    /* Decoding untrusted bytes (rp_reader and every decoder built on it). */
    RP_ERR_TRUNCATED = -1100,    /* input ended before the field did */
    RP_ERR_TRAILING = -1101,     /* bytes left over after a complete value */
    RP_ERR_TOO_LONG = -1102,     /* a length field exceeds its maximum */
    RP_ERR_BAD_VERSION = -1103,  /* unknown format version */
    RP_ERR_BAD_TYPE = -1104,     /* unknown record or message type */
    RP_ERR_BAD_UTF8 = -1105,     /* text not shortest-form UTF-8, or with controls */
    RP_ERR_RANGE = -1106,        /* an enum, rating or count outside its range */
    RP_ERR_NONCANONICAL = -1107, /* a second encoding of the same value */
    RP_ERR_BAD_HEX = -1108,      /* not hex, or the wrong number of digits */

    /* Keys and signatures. */
    RP_ERR_BAD_KEY = -1200,       /* not a valid secret or x-only public key */
    RP_ERR_BAD_SIGNATURE = -1201, /* a signature that does not verify */
    RP_ERR_SIGN = -1202,          /* signing failed (never expected) */

    /* The Noise handshake and its CipherStates (crypto/noise.h). */
    RP_ERR_NOISE_MSG_LEN = -1250,   /* a message shorter than its fields, or over 65,535 bytes */
    RP_ERR_NOISE_DECRYPT = -1251,   /* a message did not authenticate */
    RP_ERR_NOISE_LOW_ORDER = -1252, /* a remote X25519 key is a low-order point */
    RP_ERR_NOISE_STATE = -1253,     /* used out of order, or after it failed */
    RP_ERR_NOISE_NONCE = -1254,     /* a CipherState reached nonce 2^64-1 */

    /* The encrypted framing of p2p sessions (p2p/frame.h). */
    RP_ERR_FRAME_LENGTH = -1260,    /* a frame's length breaks the framing rules */
    RP_ERR_FRAME_TOO_LARGE = -1261, /* a message above RP_P2P_MAX_MESSAGE */

    /* Key files. */
    RP_ERR_KEYFILE_FORMAT = -1300,  /* not a repute key file, or corrupt */
    RP_ERR_KEYFILE_VERSION = -1301, /* a key file version we do not know */
    RP_ERR_KEYFILE_PERMS = -1302,   /* readable by group or others */
    RP_ERR_KEYFILE_DECRYPT = -1303, /* wrong passphrase or tampered file */
    RP_ERR_KEYFILE_PARAMS = -1304,  /* KDF parameters outside accepted limits */

    /* Records. */
    RP_ERR_POW = -1400, /* proof-of-work stamp below the difficulty */

    /* Genesis (the message names the field). */
    RP_ERR_GENESIS = -1500, /* malformed or out-of-range genesis document */

    /* Blocks and commits. */
    RP_ERR_BLOCK_HEIGHT = -1600,      /* not the next height */
    RP_ERR_BLOCK_PREV = -1601,        /* previous header hash does not match */
    RP_ERR_BLOCK_ROOT = -1602,        /* records Merkle root does not match */
    RP_ERR_BLOCK_STATE = -1603,       /* state hash after the block does not match */
    RP_ERR_BLOCK_LIMITS = -1604,      /* too many records or bytes, or empty */
    RP_ERR_BLOCK_TIME = -1605,        /* time not after the previous block's */
    RP_ERR_BLOCK_VALIDATORS = -1606,  /* validator-set hash or proposer wrong */
    RP_ERR_COMMIT = -1607,            /* commit not for this block, or < 2/3 power */
    RP_ERR_BLOCK_PREV_COMMIT = -1608, /* previous commit hash does not match */
    RP_ERR_BLOCK_EPOCH = -1609,       /* epoch number or score root does not match */
    RP_ERR_WRONG_CHAIN = -1610,       /* chain id differs from this chain's */

    /* Validation rules for records against ledger state (docs/rules.md). */
    RP_ERR_BAD_SEQUENCE = -1700,       /* issuer's sequence must grow by exactly one */
    RP_ERR_NOT_REGISTERED = -1701,     /* issuer has no IDENTITY yet */
    RP_ERR_ALREADY_REGISTERED = -1702, /* sequence 1 for an existing identity */
    RP_ERR_SELF_ENGAGEMENT = -1703,    /* both parties are the same identity */
    RP_ERR_UNKNOWN_PARTY = -1704,      /* counterparty or subject not registered */
    RP_ERR_EXPIRED = -1705,            /* engagement past expiry or beyond max TTL */
    RP_ERR_NO_ENGAGEMENT = -1706,      /* review names no engagement on chain */
    RP_ERR_NOT_A_PARTY = -1707,        /* reviewer/subject not the engagement's parties */
    RP_ERR_DUPLICATE_REVIEW = -1708,   /* a live review in that direction exists */
    RP_ERR_SELF_VOUCH = -1709,         /* vouching for oneself */
    RP_ERR_DUPLICATE_VOUCH = -1710,    /* a live vouch for that pair exists */
    RP_ERR_NO_TARGET = -1711,          /* revoke target is not a REVIEW, VOUCH or AUDIENCE */
    RP_ERR_NOT_ISSUER = -1712,         /* only the original issuer may revoke */
    RP_ERR_ALREADY_REVOKED = -1713,    /* target already revoked */
    RP_ERR_KEY_USED = -1714,           /* new key was used by some identity before */
    RP_ERR_RECOVERY_MISMATCH = -1715,  /* recovery key does not match the commitment */
    RP_ERR_RECORD_TIME = -1716,        /* record time outside tolerance of block time */
    RP_ERR_DUPLICATE_RECORD = -1717,   /* record id already on chain */
    RP_ERR_NOT_VALIDATOR = -1718,      /* evidence against a key outside the validator set */
    RP_ERR_DUPLICATE_EVIDENCE = -1719, /* evidence for that vote slot is already on chain */
    RP_ERR_EVIDENCE_HEIGHT = -1720,    /* evidence vote height not below the block, or too old */
    RP_ERR_SELF_ATTEST = -1721,        /* an AUDIENCE attestation about its own issuer */
    RP_ERR_NOT_TALENT = -1722,         /* an AUDIENCE subject whose role is not talent */
    RP_ERR_STALE_ATTESTATION = -1723,  /* not later than the live attestation it would replace */

    /* The trust engine. */
    RP_ERR_TRUST_STATE = -1900, /* trust iteration driven out of order */

};

/* A layer's range of codes, from first down to last (first > last, both
 * negative), and its message function (which returns NULL for a code it
 * does not know). */
typedef struct rp_error_range {
    int first, last;
    const char *layer; /* "ledger", "node"... */
    const char *(*message)(int code);
} rp_error_range;

#define RP_ERROR_MAX_RANGES 8

/* Register a layer's messages. Idempotent (the same range twice is one);
 * thread-safe; the range is borrowed for the life of the program.
 * Returns: 0; RP_ERR_INVALID_ARG for a range overlapping another layer's
 *          or this file's own; RP_ERR_BUFFER if RP_ERROR_MAX_RANGES are
 *          registered already. */
int rp_error_register(const rp_error_range *r);

/* Describe an error code.
 *
 * Returns: a static, NUL-terminated English message for any value returned by
 *          a repute function: project codes of this file and of the
 *          registered layers, -errno values and 0. Unknown codes (or those
 *          of a layer not registered) get a generic message that includes no
 *          caller data.
 * In:      err: the code.
 * Thread-safe; the string is never freed.
 */
const char *rp_strerror(int err);

#endif /* RP_ERROR_H */
