/* Fuzz target: the block-header decoder.
 *
 * Beyond "no crash, no out-of-bounds read" (the sanitizers' job) it checks the
 * codec's contract: whatever decodes re-encodes to exactly the input (so the
 * header hash, taken over that encoding, is a function of the bytes), and a
 * failed decode leaves a zeroed header.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
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
    static const rp_header zero;
    rp_header h;
    int err = rp_header_decode(&h, data, size);
    if (err) {
        if (memcmp(&h, &zero, sizeof h) != 0 || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    unsigned char again[RP_HEADER_SIZE];
    if (size != RP_HEADER_SIZE || rp_header_encode(&h, again) != 0 ||
        memcmp(again, data, size) != 0)
        abort();
    rp_hash a, b;
    rp_header_hash(&a, &h);
    rp_tagged_hash(&b, RP_TAG_HEADER, data, size);
    if (!rp_hash_eq(&a, &b))
        abort();
    return 0;
}
