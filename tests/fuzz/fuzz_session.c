/* Fuzz target: a session (p2p/session.h) reading a stranger's bytes before
 * and during its handshake, as the transport feeds whatever a socket read.
 *
 * The first byte picks the session: even, a fresh responder (the stranger
 * dialed us); odd, an initiator that has written message 1 (we dialed the
 * stranger). The second byte is the chunk size the rest is fed in (0:
 * whole). What must hold: feeding never reads past what it is given,
 * consumes all of it or fails; a failure has a reason and sticks (every
 * later feed fails the same way) and the session is never ready; whatever
 * the session writes back is a length-prefixed handshake message of the
 * sizes docs/p2p.md allows. A stranger cannot complete the handshake
 * (its keys are random), so readiness after feeding is itself a failure.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/sig.h"
#include "p2p/session.h"
#include "tests/fuzz/fuzz.h"

static rp_session_local local;
static size_t written;

static int io_send(void *ctx, unsigned char *bytes, size_t len)
{
    (void)ctx;
    if (len < 2 || (size_t)(bytes[0] << 8 | bytes[1]) != len - 2 ||
        len - 2 > RP_SESSION_HS_MAX)
        abort(); /* only whole, length-prefixed handshake messages go out */
    written += len;
    free(bytes);
    return 0;
}

static void io_ready(void *ctx, const rp_p2p_hello *h)
{
    (void)ctx;
    (void)h;
    abort(); /* a stranger without our peer's keys cannot get here */
}

static void io_message(void *ctx, unsigned char *msg, size_t len)
{
    (void)ctx;
    (void)len;
    free(msg);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    rp_seckey k;
    rp_hash chain;
    memset(k.bytes, 0x42, sizeof k.bytes);
    memset(chain.bytes, 0x17, sizeof chain.bytes);
    if (rp_session_local_init(&local, &k, &chain, 27650, RP_P2P_ROLE_FULL, "fuzz") != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int initiator = data[0] & 1;
    size_t chunk = data[1];
    data += 2;
    size -= 2;
    rp_session *s;
    rp_session_io io = {NULL, io_send, io_ready, io_message};
    if (rp_session_new(&s, &local, initiator, NULL, &io) != 0)
        abort();
    written = 0;
    if (initiator && rp_session_start(s) != 0)
        abort();
    size_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t n = size - off;
        if (chunk && n > chunk)
            n = chunk;
        size_t used = 0;
        rc = rp_session_feed(s, data + off, n, &used);
        if (used > n)
            abort();
        off += used;
        if (rc < 0)
            break;
        if (used != n)
            abort(); /* no message can complete: everything is consumed */
    }
    if (rc < 0) {
        size_t used;
        unsigned char b = 0;
        if (!rp_session_failed(s) || !rp_session_why(s) || rp_session_ready(s) ||
            rp_session_feed(s, &b, 1, &used) != rc)
            abort();
    } else if (rp_session_failed(s) || rp_session_ready(s)) {
        abort();
    }
    rp_session_free(s);
    return 0;
}
