/* Fuzz target: the consensus write-ahead log's decoder and scanner
 * (consensus/wal.h), fed a whole log file.
 *
 * What must hold:
 *   - the valid prefix is at most the input, and scanning the prefix alone
 *     finds it all valid, with the same entries;
 *   - every entry handed out re-encodes to exactly its bytes (one encoding
 *     per value), and its length is within RP_CS_WAL_MAX_ENTRY;
 *   - the scan stops only with a described error, and a failed single
 *     decode leaves a zeroed entry.
 */
#include <stdlib.h>
#include <string.h>

#include "consensus/wal.h"
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

struct walk {
    const uint8_t *data;
    size_t off;
    size_t count;
};

static int check_entry(void *ctx, const rp_cs_wal_entry *e)
{
    struct walk *w = ctx;
    unsigned char again[RP_CS_WAL_MAX_ENTRY];
    size_t len;
    int rc = e->kind == RP_CS_WAL_HEADER
                 ? rp_cs_wal_encode_header(e->height, again, sizeof again, &len)
                 : rp_cs_wal_encode_input(&e->in, again, sizeof again, &len);
    if (rc != 0 || len > RP_CS_WAL_MAX_ENTRY || memcmp(again, w->data + w->off, len) != 0)
        abort();
    w->off += len;
    w->count++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rp_cs_wal_entry zero;
    struct walk w = {data, 0, 0};
    int err = 0;

    size_t valid = rp_cs_wal_scan(data, size, check_entry, &w, &err);
    if (valid > size || valid != w.off || (valid == size) != (err == 0))
        abort();
    if (err && (err >= 0 || rp_strerror(err)[0] == '\0'))
        abort();
    struct walk again = {data, 0, 0};
    int err2 = -1;
    if (rp_cs_wal_scan(data, valid, check_entry, &again, &err2) != valid || err2 != 0 ||
        again.count != w.count)
        abort();

    rp_cs_wal_entry e;
    size_t used;
    int rc = rp_cs_wal_decode(&e, data, size, &used);
    if (rc && (used != 0 || memcmp(&e, &zero, sizeof e) != 0))
        abort();
    if (!rc && (used > size || used > RP_CS_WAL_MAX_ENTRY))
        abort();
    return 0;
}
