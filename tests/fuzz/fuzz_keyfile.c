/* Fuzz target: the key-file parser (no decryption: Argon2id would make each
 * run take milliseconds and teach the fuzzer nothing about the parser). */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/keyfile.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_keyfile kf;
    int err = rp_keyfile_parse(&kf, data, size);
    if (err) {
        static const rp_keyfile zero;
        if (memcmp(&kf, &zero, sizeof kf) != 0 || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    /* What parses is within the documented limits. */
    if (size != RP_KEYFILE_SIZE || kf.version != RP_KEYFILE_VERSION ||
        kf.opslimit < RP_KDF_OPS_MIN || kf.opslimit > RP_KDF_OPS_MAX ||
        kf.memlimit < RP_KDF_MEM_MIN || kf.memlimit > RP_KDF_MEM_MAX)
        abort();
    return 0;
}
