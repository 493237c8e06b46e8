/* rp_strerror: one English sentence for every code a repute function returns.
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

#include <string.h>

#include "crypto/error.h"

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

    if (err == 0 || err <= -1000)
        msg = project_message((enum rp_error)err);
    else if (err < 0 && err >= -4095)
        msg = errno_message(-err);
    return msg != NULL ? msg : "unknown error";
}
