/* The node's error codes (its range, -2000..-2099, of the one convention in
 * crypto/error.h): configuration, the mempool, the node's own bounds.
 * rp_strerror describes them once rp_node_errors_register has run, which
 * the node's entry points do (loading a config, making a mempool, running
 * the daemon or the CLI). Never renumber a code, only append.
 */
#ifndef RP_NODE_ERRORS_H
#define RP_NODE_ERRORS_H

#include <stddef.h>

#include "crypto/error.h"

enum rp_node_error {
    RP_ERR_CONFIG = -2000,       /* reputed.conf: unknown key, bad value, long line */
    RP_ERR_MEMPOOL_FULL = -2001, /* mempool at its count or byte limit */
    RP_ERR_SEQUENCE_GAP = -2002, /* sequence too far ahead of the next expected */
    RP_ERR_DUPLICATE = -2003,    /* the same record is already pending */
    RP_ERR_SHUTDOWN = -2004,     /* the node is stopping */
    RP_ERR_TOO_MANY = -2005,     /* a fixed bound is reached (e.g. mempool subscribers) */
    RP_ERR_UNSAFE_PERMS = -2006, /* a datadir, config or ledger others could change */
    RP_ERR_UNFINISHED = -2007,   /* a datadir whose init was interrupted */
    RP_ERR_EVIDENCE_SUBMIT = -2008, /* an EVIDENCE record submitted to the mempool */
};

/* Register the messages of the codes above (and the ledger's) with
 * rp_strerror. Idempotent, thread-safe. */
void rp_node_errors_register(void);

/* Format an error message into err[0..errlen) (nothing if errlen is 0):
 * the node's functions that explain a failure to an operator fill their
 * err/errlen pair with it. */
void rp_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* RP_NODE_ERRORS_H */
