/* Fuzz target: the double-sign guard file's decoder (consensus/guard.h).
 *
 * Checks the codec's contract: whatever decodes re-encodes to exactly the
 * input (one encoding per state), a failed decode leaves a zeroed state
 * and a described error, and the decision on a decoded state is coherent:
 * its own position and message are REUSE, the next step is SIGN, and the
 * same position with other bytes is REFUSE.
 */
#include <stdlib.h>
#include <string.h>

#include "consensus/guard.h"
#include "crypto/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    rp_cs_errors_register();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rp_cs_guard zero;
    rp_cs_guard g;
    unsigned char again[RP_CS_GUARD_SIZE];

    int err = rp_cs_guard_decode(&g, data, size);
    if (err) {
        if (err >= 0 || memcmp(&g, &zero, sizeof g) != 0 || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    if (size != RP_CS_GUARD_SIZE || rp_cs_guard_encode(&g, again) != 0 ||
        memcmp(again, data, size) != 0)
        abort();
    rp_hash other = g.msg;
    other.bytes[0] ^= 1;
    if (g.has_signed) {
        if (rp_cs_guard_decide(&g, g.height, g.round, g.step, &g.msg) != RP_CS_GUARD_REUSE ||
            rp_cs_guard_decide(&g, g.height, g.round, g.step, &other) != RP_CS_GUARD_REFUSE)
            abort();
        if (g.step < RP_CS_PRECOMMIT &&
            rp_cs_guard_decide(&g, g.height, g.round, (uint8_t)(g.step + 1), &other) !=
                RP_CS_GUARD_SIGN)
            abort();
    } else if (rp_cs_guard_decide(&g, 0, 0, RP_CS_PROPOSE, &other) != RP_CS_GUARD_SIGN) {
        abort();
    }
    return 0;
}
