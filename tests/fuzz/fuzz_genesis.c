/* Fuzz target: the genesis parser (JSON) and decoder (binary).
 *
 * Every input goes down both paths. Beyond "no crash, no out-of-bounds read"
 * (the sanitizers' job) it checks the module's contracts and aborts on any
 * violation:
 *   - a refusal leaves the struct zeroed, and a JSON refusal has a printable
 *     message that names something ("PATH: ...");
 *   - binary: whatever decodes re-encodes to exactly the input;
 *   - JSON: whatever parses passes rp_genesis_check, survives to_json and a
 *     second parse with the same chain id, and its binary encoding decodes to
 *     the same chain id again.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/genesis.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    return 0;
}

static int is_zeroed(const rp_genesis *g)
{
    const unsigned char *p = (const unsigned char *)g;
    unsigned char acc = 0;
    for (size_t i = 0; i < sizeof *g; i++)
        acc |= p[i];
    return acc == 0;
}

static void check_message(const char *msg)
{
    size_t n = strlen(msg);
    if (n == 0 || strstr(msg, ": ") == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7E)
            abort();
}

/* g1, g2 and enc are the caller's scratch space (about 100 KB together). */
static void binary_path(const uint8_t *data, size_t size, rp_genesis *g1, unsigned char *enc)
{
    size_t n = 0;
    if (rp_genesis_decode(g1, data, size) != 0) {
        if (!is_zeroed(g1))
            abort();
        return;
    }
    if (rp_genesis_check(g1, NULL, 0) != 0)
        abort();
    if (rp_genesis_encode(g1, enc, RP_GENESIS_MAX_SIZE, &n) != 0 || n != size ||
        memcmp(enc, data, size) != 0)
        abort();
}

static void json_path(const uint8_t *data, size_t size, rp_genesis *g1, rp_genesis *g2,
                      unsigned char *enc)
{
    char msg[256];
    rp_hash id1, id2, id3;
    size_t n = 0;

    if (rp_genesis_parse(g1, (const char *)data, size, msg, sizeof msg) != 0) {
        if (!is_zeroed(g1))
            abort();
        check_message(msg);
        return;
    }
    if (msg[0] != '\0' || rp_genesis_check(g1, NULL, 0) != 0)
        abort();
    if (rp_genesis_chain_id(&id1, g1) != 0)
        abort();

    char *json = rp_genesis_to_json(g1);
    if (!json)
        abort();
    if (rp_genesis_parse(g2, json, strlen(json), msg, sizeof msg) != 0)
        abort();
    free(json);
    if (rp_genesis_chain_id(&id2, g2) != 0 || !rp_hash_eq(&id1, &id2))
        abort();

    if (rp_genesis_encode(g1, enc, RP_GENESIS_MAX_SIZE, &n) != 0 ||
        rp_genesis_decode(g2, enc, n) != 0 || rp_genesis_chain_id(&id3, g2) != 0 ||
        !rp_hash_eq(&id1, &id3))
        abort();

    /* Exercise the validator-set helpers on whatever set got through. */
    rp_hash vh;
    rp_genesis_validators_hash(&vh, g1);
    uint64_t total = rp_genesis_total_power(g1);
    if (!rp_genesis_is_quorum(g1, total) || rp_genesis_is_quorum(g1, total * 2 / 3))
        abort();
    for (size_t i = 0; i < g1->nvalidators; i++)
        if (rp_genesis_validator_index(g1, &g1->validators[i].pubkey) != (int)i)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_genesis g1, g2;
    unsigned char enc[RP_GENESIS_MAX_SIZE];
    binary_path(data, size, &g1, enc);
    json_path(data, size, &g1, &g2, enc);
    return 0;
}
