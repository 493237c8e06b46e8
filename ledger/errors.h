/* The store's error codes (the ledger's range, -1800..-1899, of the one
 * convention in crypto/error.h). rp_strerror describes them once
 * rp_ledger_errors_register has run, which rp_store_create and
 * rp_store_open do; a program that prints a ledger code without opening a
 * store calls it itself. Never renumber a code, only append.
 */
#ifndef RP_LEDGER_ERRORS_H
#define RP_LEDGER_ERRORS_H

#include "crypto/error.h"

enum rp_ledger_error {
    RP_ERR_STORE = -1800,          /* an LMDB error (logged with LMDB's message) */
    RP_ERR_MAP_FULL = -1801,       /* LMDB map full: raise map_size; nothing lost */
    RP_ERR_SCHEMA = -1802,         /* datadir of another schema version */
    RP_ERR_CHAIN_MISMATCH = -1803, /* datadir of another chain */
    RP_ERR_LOCKED = -1804,         /* datadir in use by another process */
    RP_ERR_CORRUPT = -1805,        /* stored bytes fail to decode or check */
    RP_ERR_NOT_FOUND = -1806,      /* no such block, record or identity */
};

/* Register the messages of the codes above with rp_strerror. Idempotent,
 * thread-safe. */
void rp_ledger_errors_register(void);

#endif /* RP_LEDGER_ERRORS_H */
