/* The messages of the node's error codes, registered with rp_strerror
 * (crypto/error.h). A switch over the enum, so that -Wswitch points at a
 * code added without a message. */
#include "node/errors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "ledger/errors.h"

static const char *message(int code)
{
    switch ((enum rp_node_error)code) {
    case RP_ERR_CONFIG:
        return "invalid configuration";
    case RP_ERR_MEMPOOL_FULL:
        return "mempool full: retry later";
    case RP_ERR_SEQUENCE_GAP:
        return "sequence number too far ahead of the issuer's next";
    case RP_ERR_DUPLICATE:
        return "record already pending";
    case RP_ERR_SHUTDOWN:
        return "node is shutting down";
    case RP_ERR_TOO_MANY:
        return "too many: a fixed bound is reached";
    case RP_ERR_UNSAFE_PERMS:
        return "another user could change this: fix its owner or mode";
    case RP_ERR_UNFINISHED:
        return "an interrupted init: remove the datadir and run init again";
    case RP_ERR_EVIDENCE_SUBMIT:
        return "evidence records are made by validators: they are not submitted to the mempool";
    }
    return NULL;
}

static const rp_error_range range = {-2000, -2099, "node", message};

void rp_node_errors_register(void)
{
    rp_ledger_errors_register();
    (void)rp_error_register(&range);
}

void rp_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
