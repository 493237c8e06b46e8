/* Fuzz target: the commit decoder, and commit verification.
 *
 * Checks the codec's contract (whatever decodes re-encodes to exactly the
 * input, its hash can be computed, a failed decode leaves a zeroed commit,
 * decoded indices are strictly increasing) and runs rp_commit_verify against
 * a fixed genesis of four validators, so that arbitrary indices, counts and
 * signatures reach the verifier. Forged signatures being out of reach, the
 * only acceptable answer from it is RP_ERR_COMMIT.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "tests/fuzz/fuzz.h"

static rp_genesis genesis;
static rp_hash chain_id;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    unsigned char seed[32] = {0};
    genesis.nvalidators = 4;
    for (size_t i = 0; i < genesis.nvalidators; i++) {
        rp_seckey sk;
        if (rp_seckey_from_seed(&sk, seed, i) != 0 ||
            rp_pubkey_from_seckey(&genesis.validators[i].pubkey, &sk) != 0)
            abort();
        genesis.validators[i].power = 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rp_commit zero;
    static rp_commit c;
    static unsigned char again[RP_COMMIT_MAX_SIZE];

    int err = rp_commit_decode(&c, data, size);
    if (err) {
        if (memcmp(&c, &zero, sizeof c) != 0 || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    if (c.count == 0 || c.count > RP_COMMIT_MAX_SIGS)
        abort();
    for (size_t i = 1; i < c.count; i++)
        if (c.sigs[i].validator <= c.sigs[i - 1].validator)
            abort();
    size_t len = 0;
    if (rp_commit_encode(&c, again, sizeof again, &len) != 0 || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    rp_hash h;
    if (rp_commit_hash(&h, &c) != 0)
        abort();
    if (rp_commit_verify(&c, &genesis, &chain_id, c.height, &c.block_hash) != RP_ERR_COMMIT)
        abort();
    return 0;
}
