/* Fuzz target: the binary export stream decoder (ledger/export.h).
 *
 * Beyond "no crash, no out-of-bounds read, no unbounded allocation" (the
 * sanitizers' and libFuzzer's -rss_limit's job) it checks the reader's
 * contract:
 *   - blocks come out numbered 1, 2, ... with lengths inside their bounds;
 *   - a failure has a message and the number of blocks read is consistent;
 *   - a stream that decodes cleanly re-encodes, from the genesis and the
 *     blocks alone, to exactly the input (one encoding per stream);
 *   - the stdio reader (over fmemopen) reaches the same verdict, at the same
 *     block, as the in-memory decoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/export.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    return 0;
}

struct rewrite {
    FILE *out; /* the blocks, re-encoded */
    uint64_t seen;
};

static int on_block(void *ctx, const rp_export_block *b)
{
    struct rewrite *w = ctx;
    if (b->height != ++w->seen || b->blen < RP_HEADER_SIZE || b->blen > RP_BLOCK_MAX_SIZE ||
        b->clen == 0 || b->clen > RP_COMMIT_MAX_SIZE)
        abort();
    if (rp_export_put_block(w->out, b->block, b->blen, b->commit, b->clen) != 0)
        abort();
    return 0;
}

/* The same stream through the stdio reader: returns the verdict and the
 * number of blocks read. */
static int via_file(const uint8_t *data, size_t size, uint64_t *n)
{
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    rp_export_reader *r;
    rp_export_block b;
    int rc;
    *n = 0;
    if (!f)
        abort();
    if ((rc = rp_export_reader_open_file(&r, f, NULL)) == 0) {
        while ((rc = rp_export_reader_next(r, &b, NULL)) == 1)
            (*n)++;
        rp_export_reader_free(r);
    }
    fclose(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rp_genesis g;
    struct rewrite w = {NULL, 0};
    char *blocks = NULL, *head = NULL;
    size_t blen = 0, hlen = 0;
    uint64_t n = 0;
    rp_store_error err;

    w.out = open_memstream(&blocks, &blen);
    if (!w.out)
        abort();
    int rc = rp_export_decode(data, size, &g, on_block, &w, &n, &err);
    if (n != w.seen)
        abort();
    if (rc != 0) {
        if (rc > 0 || err.code != rc || err.msg[0] == '\0' || rp_strerror(rc)[0] == '\0')
            abort();
    } else {
        if (rp_export_put_end(w.out) != 0)
            abort();
    }
    if (fclose(w.out) != 0)
        abort();

    if (rc == 0) {
        FILE *h = open_memstream(&head, &hlen);
        if (!h || rp_export_put_header(h, &g) != 0 || fclose(h) != 0)
            abort();
        if (hlen + blen != size || memcmp(head, data, hlen) != 0 ||
            memcmp(blocks, data + hlen, blen) != 0)
            abort();
    }

    if (size > 0) { /* fmemopen refuses an empty buffer */
        uint64_t fn;
        int frc = via_file(data, size, &fn);
        if (frc != rc || fn != n)
            abort();
    }
    free(blocks);
    free(head);
    return 0;
}
