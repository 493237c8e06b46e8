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

    /* Key files. */
    RP_ERR_KEYFILE_FORMAT = -1300,  /* not a repute key file, or corrupt */
    RP_ERR_KEYFILE_VERSION = -1301, /* a key file version we do not know */
    RP_ERR_KEYFILE_PERMS = -1302,   /* readable by group or others */
    RP_ERR_KEYFILE_DECRYPT = -1303, /* wrong passphrase or tampered file */
    RP_ERR_KEYFILE_PARAMS = -1304,  /* KDF parameters outside accepted limits */

    /* Records. */
    RP_ERR_POW = -1400, /* proof-of-work stamp below the difficulty */
};

/* Describe an error code.
 *
 * Returns: a static, NUL-terminated English message for any value returned by
 *          a repute function: project codes, -errno values and 0. Unknown
 *          codes get a generic message that includes no caller data.
 * In:      err: the code.
 * Thread-safe; the string is never freed.
 */
const char *rp_strerror(int err);

#endif /* RP_ERROR_H */
