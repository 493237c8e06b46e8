/* Fuzz target: the record decoder.
 *
 * Beyond "no crash, no out-of-bounds read" (the sanitizers' job) it checks the
 * codec's contract: whatever decodes re-encodes to exactly the input, its id
 * can be computed, and a failed decode names a field.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/record.h"
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
    rp_record r;
    const char *field = NULL;
    int err = rp_record_decode(&r, data, size, &field);
    if (err) {
        if (field == NULL || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    unsigned char again[RP_RECORD_MAX_SIZE];
    size_t n = 0;
    if (rp_record_encode(&r, again, sizeof again, &n) != 0 || n != size ||
        memcmp(again, data, size) != 0)
        abort();
    rp_hash chain_id, id;
    memset(&chain_id, 0, sizeof chain_id);
    if (rp_record_id(&id, &chain_id, &r) != 0)
        abort();
    rp_pubkey keys[RP_RECORD_MAX_SIGS];
    size_t nk = rp_record_default_signers(&r, keys);
    /* Valid signatures over a zero chain id are vanishingly unlikely; the call
     * is here to run the verifier on arbitrary keys and signatures. */
    (void)rp_record_verify(&r, &chain_id, keys, nk);
    return 0;
}
