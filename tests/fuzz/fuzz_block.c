/* Fuzz target: the block framing decoder, and the record decoder on every
 * record it frames.
 *
 * Checks the contract of rp_block_decode: what decodes re-encodes (from the
 * header and the item views alone) to exactly the input; the views lie inside
 * the input, back to back after their length prefixes; every length is within
 * 1..RP_RECORD_MAX_SIZE; and the records root can be computed. Each framed
 * record then goes through rp_record_decode, whose own round trip
 * fuzz_record checks.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/record.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ITEMS 4096

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
    static rp_block_item items[MAX_ITEMS];
    static unsigned char again[RP_BLOCK_MAX_SIZE];
    rp_header h;

    int err = rp_block_decode(&h, items, MAX_ITEMS, data, size);
    if (err) {
        if (memcmp(&h, &zero, sizeof h) != 0 || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    size_t n = h.record_count, off = RP_HEADER_SIZE;
    if (n > MAX_ITEMS || size != RP_HEADER_SIZE + (size_t)h.body_bytes)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (items[i].len == 0 || items[i].len > RP_RECORD_MAX_SIZE ||
            items[i].bytes != data + off + 2)
            abort();
        off += 2 + items[i].len;
    }
    if (off != size)
        abort();

    size_t len = 0;
    if (rp_block_encode(&h, items, n, again, sizeof again, &len) != 0 || len != size ||
        memcmp(again, data, size) != 0)
        abort();

    rp_hash root;
    if (rp_block_records_root(&root, items, n) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        rp_record r;
        (void)rp_record_decode(&r, items[i].bytes, items[i].len, NULL);
    }
    return 0;
}
