/* Fuzz target: the p2p framing's decoder (p2p/frame.h) fed a stranger's
 * bytes, on the fixed transport key of tests/fuzz/session_keys.h so that
 * the seeds, which test_frame writes, are real streams to mutate.
 *
 * The first byte is a chunk size (1 + the byte); the rest is the stream. It
 * is decoded twice, in one piece and in chunks of that size, and what must
 * hold is:
 *   - both decodings deliver the same messages and end the same way (the
 *     split of a TCP stream changes nothing);
 *   - every message is at most RP_P2P_MAX_MESSAGE bytes;
 *   - the framing is canonical: encoding the delivered messages again, on a
 *     fresh session with the same key, gives exactly the bytes that were
 *     consumed to deliver them;
 *   - a failure is one of the framing's codes and is returned again by
 *     every later call, with nothing held.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/noise.h"
#include "crypto/sig.h"
#include "p2p/frame.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/session_keys.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    return 0;
}

static rp_p2p_frame *session(void)
{
    unsigned char k[32];
    rp_noise_cipher send, recv;
    rp_p2p_frame *f;

    rp_fuzz_key(k, RP_FUZZ_FRAME_KEY);
    rp_noise_cipher_init(&send, k);
    rp_noise_cipher_init(&recv, k);
    if (rp_p2p_frame_new(&f, &send, &recv) != 0)
        abort();
    return f;
}

typedef struct outcome {
    size_t count;
    unsigned char digest[32]; /* over every message's length and bytes */
    int rc;                   /* the error that ended the stream, or 0 */
    int eof;
} outcome;

/* Decode stream[0..len) in chunks of `chunk` bytes (0: one piece). When
 * check is set, re-encode each message and compare it with its bytes. */
static void decode(const unsigned char *stream, size_t len, size_t chunk, int check, outcome *o)
{
    rp_p2p_frame *rx = session(), *tx = check ? session() : NULL;
    crypto_generichash_state h;
    size_t off = 0, boundary = 0, used;

    memset(o, 0, sizeof *o);
    crypto_generichash_init(&h, NULL, 0, sizeof o->digest);
    while (off < len && o->rc == 0) {
        size_t end = chunk == 0 || len - off < chunk ? len : off + chunk;
        while (off < end) {
            int rc = rp_p2p_frame_feed(rx, &used, stream + off, end - off);
            if (used > end - off)
                abort();
            off += used;
            if (rc < 0) {
                if (rc != RP_ERR_NOISE_DECRYPT && rc != RP_ERR_FRAME_LENGTH &&
                    rc != RP_ERR_FRAME_TOO_LARGE)
                    abort();
                if (rp_p2p_frame_feed(rx, &used, stream, len) != rc || used != 0 ||
                    rp_p2p_frame_eof(rx) != rc || rp_p2p_frame_buffered(rx) != 0)
                    abort();
                o->rc = rc;
                break;
            }
            if (rc == 0) {
                if (off != end)
                    abort();
                continue;
            }
            unsigned char *m, lenbuf[8];
            size_t mlen;
            if (rc != 1 || rp_p2p_frame_take(rx, &m, &mlen) != 0 || m == NULL ||
                mlen > RP_P2P_MAX_MESSAGE)
                abort();
            for (int i = 0; i < 8; i++)
                lenbuf[i] = (unsigned char)((uint64_t)mlen >> (8 * i));
            crypto_generichash_update(&h, lenbuf, sizeof lenbuf);
            crypto_generichash_update(&h, m, mlen);
            if (check) {
                size_t need = rp_p2p_frame_encoded_len(mlen), olen;
                unsigned char *again = malloc(need);
                if (again == NULL || rp_p2p_frame_encode(tx, again, need, &olen, m, mlen) != 0 ||
                    olen != off - boundary || memcmp(again, stream + boundary, olen) != 0)
                    abort();
                free(again);
            }
            boundary = off;
            free(m);
            o->count++;
        }
    }
    if (o->rc == 0) {
        o->eof = rp_p2p_frame_eof(rx);
        if (o->eof != 0 && o->eof != RP_ERR_TRUNCATED)
            abort();
        if ((o->eof == 0) != (boundary == len))
            abort();
    }
    crypto_generichash_final(&h, o->digest, sizeof o->digest);
    rp_p2p_frame_free(rx);
    rp_p2p_frame_free(tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome whole, pieces;

    if (size == 0)
        return 0;
    decode(data + 1, size - 1, 0, 1, &whole);
    decode(data + 1, size - 1, (size_t)data[0] + 1, 0, &pieces);
    if (whole.count != pieces.count || whole.rc != pieces.rc || whole.eof != pieces.eof ||
        memcmp(whole.digest, pieces.digest, sizeof whole.digest) != 0)
        abort();
    return 0;
}
