/* The consensus layer's error codes (its range, -2200..-2299, of the one
 * convention in crypto/error.h): the double-sign guard and the write-ahead
 * log. rp_strerror describes them once rp_cs_errors_register has run, which
 * the node's signer and log do when they open. Never renumber a code, only
 * append.
 */
#ifndef RP_CS_ERRORS_H
#define RP_CS_ERRORS_H

#include "crypto/error.h"

enum rp_cs_error {
    RP_ERR_CS_REFUSED = -2200,   /* the guard refused: an earlier (height, round,
                                    step), or the same one with other bytes */
    RP_ERR_CS_CHECKSUM = -2201,  /* a guard file or log entry whose checksum fails */
    RP_ERR_CS_MAGIC = -2202,     /* not a guard file or log (wrong magic) */
    RP_ERR_CS_OTHER_KEY = -2203, /* a guard file of another validator key */
    RP_ERR_CS_NO_HEADER = -2204, /* a log that does not start with its height */
};

/* Register the messages of the codes above with rp_strerror. Idempotent,
 * thread-safe. */
void rp_cs_errors_register(void);

#endif /* RP_CS_ERRORS_H */
