/* The messages of the consensus layer's error codes, registered with
 * rp_strerror (crypto/error.h). A switch over the enum, so that -Wswitch
 * points at a code added without a message. */
#include "consensus/errors.h"

#include <stddef.h>

static const char *message(int code)
{
    switch ((enum rp_cs_error)code) {
    case RP_ERR_CS_REFUSED:
        return "double-sign guard refused: this validator signed at this or a later "
               "height, round and step already";
    case RP_ERR_CS_CHECKSUM:
        return "checksum does not match: corrupt consensus file";
    case RP_ERR_CS_MAGIC:
        return "not a repute consensus file (wrong magic)";
    case RP_ERR_CS_OTHER_KEY:
        return "double-sign guard of another validator key";
    case RP_ERR_CS_NO_HEADER:
        return "consensus log without a valid height header";
    }
    return NULL;
}

static const rp_error_range range = {-2200, -2299, "consensus", message};

void rp_cs_errors_register(void)
{
    (void)rp_error_register(&range);
}
