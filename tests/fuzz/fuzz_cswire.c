/* Fuzz target: the consensus messages' decoders (consensus/wire.h).
 *
 * The input is one message as a peer would send it. Whatever type byte it
 * starts with, each of the three decoders is tried, and what must hold is:
 *   - a failure leaves its outputs zeroed and has a message;
 *   - whatever decodes re-encodes to exactly the input (one encoding per
 *     value), and its fields are in range (pol_round below round, a vote's
 *     type, bitmap bits past n clear);
 *   - a decoded proposal's block is a view inside the input.
 * Signatures are not checked by these decoders (consensus/types.h does it
 * afterwards), so random bytes reach every field.
 */
#include <stdlib.h>
#include <string.h>

#include "consensus/wire.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_proposal(const uint8_t *data, size_t size)
{
    static const rp_cs_proposal zero;
    rp_cs_proposal p;
    const unsigned char *block, *pc;
    size_t blen, plen;
    int rc = rp_cs_wire_proposal_decode(&p, &block, &blen, &pc, &plen, data, size, NULL);
    if (rc) {
        if (memcmp(&p, &zero, sizeof p) != 0 || block || blen || pc || plen || !rp_strerror(rc)[0])
            abort();
        return;
    }
    if (plen > RP_COMMIT_MAX_SIZE || (plen && (pc < block + blen || pc + plen != data + size)))
        abort();
    if (p.height == 0 || p.pol_round < -1 || (p.pol_round >= 0 && (uint32_t)p.pol_round >= p.round))
        abort();
    if (!block || block < data || block + blen + 2 + plen != data + size || blen == 0 ||
        blen > RP_BLOCK_MAX_SIZE)
        abort();
    unsigned char *again = malloc(size);
    size_t len = 0;
    if (!again || rp_cs_wire_proposal(&p, block, blen, pc, plen, again, size, &len) != 0 || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
}

static void check_vote(const uint8_t *data, size_t size)
{
    static const rp_cs_vote zero;
    rp_cs_vote v;
    int rc = rp_cs_wire_vote_decode(&v, data, size, NULL);
    if (rc) {
        if (memcmp(&v, &zero, sizeof v) != 0 || !rp_strerror(rc)[0])
            abort();
        return;
    }
    unsigned char again[RP_CS_VOTE_SIZE];
    if (size != RP_CS_VOTE_SIZE || rp_cs_wire_vote(&v, again) != 0 ||
        memcmp(again, data, size) != 0)
        abort();
}

static void check_state(const uint8_t *data, size_t size)
{
    static const rp_cs_state_msg zero;
    rp_cs_state_msg s;
    int rc = rp_cs_wire_state_decode(&s, data, size, NULL);
    if (rc) {
        if (memcmp(&s, &zero, sizeof s) != 0 || !rp_strerror(rc)[0])
            abort();
        return;
    }
    unsigned char again[RP_CS_STATE_MAX_SIZE];
    size_t len = 0;
    if (rp_cs_wire_state(&s, again, sizeof again, &len) != 0 || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    for (size_t i = s.n; i < RP_CS_BITMAP_MAX * 8; i++)
        if (rp_cs_bit(s.prevotes, i) || rp_cs_bit(s.precommits, i))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_proposal(data, size);
    check_vote(data, size);
    check_state(data, size);
    return 0;
}
