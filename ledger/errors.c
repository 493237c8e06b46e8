/* The messages of the store's error codes, registered with rp_strerror
 * (crypto/error.h). A switch over the enum, so that -Wswitch points at a
 * code added without a message. */
#include "ledger/errors.h"

#include <stddef.h>

static const char *message(int code)
{
    switch ((enum rp_ledger_error)code) {
    case RP_ERR_STORE:
        return "an LMDB error (logged with LMDB's message)";
    case RP_ERR_MAP_FULL:
        return "LMDB map full: raise map_size; nothing lost";
    case RP_ERR_SCHEMA:
        return "datadir of another schema version";
    case RP_ERR_CHAIN_MISMATCH:
        return "datadir of another chain";
    case RP_ERR_LOCKED:
        return "datadir in use by another process";
    case RP_ERR_CORRUPT:
        return "stored bytes fail to decode or check";
    case RP_ERR_NOT_FOUND:
        return "no such block, record or identity";
    }
    return NULL;
}

static const rp_error_range range = {-1800, -1899, "ledger", message};

void rp_ledger_errors_register(void)
{
    (void)rp_error_register(&range);
}
