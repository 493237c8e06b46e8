/* Fuzz target: the score-proof decoder (ledger/proof.h), and verification.
 *
 * Checks the codec's contract: whatever decodes re-encodes to exactly the
 * input, and a failed decode leaves a zeroed proof. Every decoded proof then
 * goes through rp_score_proof_verify against the genesis of tests/test_proof.c
 * (rebuilt here field by field), so the seeds in tests/fuzz/corpus/proof/,
 * which that test wrote, are valid proofs and their mutations reach the
 * commit check, the header links and the Merkle paths, not just the first
 * signature. The identity checked is the row's, or for an absence proof one
 * that sorts just below the right neighbour (or above the left one).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "tests/fuzz/fuzz.h"

static rp_genesis genesis;
static rp_hash chain_id;

/* tests/chain_fixture.c's genesis with seed0 0x50, as tests/test_proof.c
 * sets it up (epochs of 4 blocks, committed 2 later). */
static void make_genesis(void)
{
    unsigned char seed[32];
    rp_seckey sk;
    rp_pubkey pk[2];
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0x50 + i);
    for (size_t i = 0; i < 2; i++)
        if (rp_seckey_from_seed(&sk, seed, i) != 0 || rp_pubkey_from_seckey(&pk[i], &sk) != 0)
            abort();
    strcpy(genesis.chain_name, "repute-test-proof");
    genesis.genesis_time = 1790000000ULL;
    genesis.nvalidators = 1;
    genesis.validators[0].pubkey = pk[0];
    genesis.validators[0].power = 1;
    strcpy(genesis.validators[0].name, "val-0");
    genesis.npretrusted = 1;
    genesis.pretrusted[0] = pk[1];
    genesis.params = (rp_params){
        .block_interval_ms = 1000,
        .epoch_blocks = 4,
        .score_delay_blocks = 2,
        .max_block_records = 1000,
        .max_block_bytes = 1 << 20,
        .pow_difficulty = 4,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 86400,
    };
    if (rp_genesis_chain_id(&chain_id, &genesis) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    make_genesis();
    return 0;
}

/* id + delta (delta = +1 or -1) in big-endian, wrapping. */
static void step(rp_pubkey *id, int delta)
{
    for (size_t i = 32; i-- > 0;) {
        unsigned char before = id->bytes[i];
        id->bytes[i] = (unsigned char)(before + delta);
        if ((delta > 0 && before != 0xff) || (delta < 0 && before != 0x00))
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rp_score_proof zero;
    static rp_score_proof p;
    static unsigned char again[RP_PROOF_MAX_SIZE];

    int err = rp_score_proof_decode(&p, data, size);
    if (err) {
        if (memcmp(&p, &zero, sizeof p) != 0 || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    if ((p.present && (p.has_left || p.has_right)) || p.depth > RP_MERKLE_MAX_DEPTH ||
        p.ldepth > RP_MERKLE_MAX_DEPTH || p.rdepth > RP_MERKLE_MAX_DEPTH ||
        p.commit_len == 0 || p.commit_len > RP_COMMIT_MAX_SIZE)
        abort();
    size_t len = 0, need = 0;
    if (rp_score_proof_encode(&p, again, sizeof again, &len) != 0 || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    if (rp_score_proof_encode(&p, NULL, 0, &need) != 0 || need != size)
        abort();

    rp_pubkey who;
    memset(&who, 0, sizeof who);
    if (p.present) {
        who = p.row.identity;
    } else if (p.has_right) {
        who = p.right.identity;
        step(&who, -1);
    } else if (p.has_left) {
        who = p.left.identity;
        step(&who, +1);
    }
    int ok = rp_score_proof_verify(&p, &genesis, &chain_id, &who);
    if (ok != 0 && ok != 1)
        abort();
    return 0;
}
