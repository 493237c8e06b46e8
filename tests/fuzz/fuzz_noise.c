/* Fuzz target: the Noise XX handshake reading messages from a stranger
 * (crypto/noise.h), with fixed keys and ephemerals (tests/fuzz/session_keys.h)
 * so that the seeds, which test_noise writes, are real messages.
 *
 * The first byte picks who reads; the rest is the message:
 *   0: a fresh responder reads it as message 1, then writes message 2 (its
 *      first DH with the stranger's ephemeral key);
 *   1: the initiator, after the fixed message 1, reads it as message 2;
 *   2: the responder, after the fixed messages 1 and 2, reads it as
 *      message 3.
 * What must hold: a read either succeeds with the payload the message
 * carries, or fails with one of the handshake's codes and leaves a wiped
 * handshake that refuses everything; a completed handshake knows the fixed
 * peer's static key and splits.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/noise.h"
#include "crypto/sig.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/session_keys.h"

/* The handshakes as each mode starts them, made once. */
static rp_noise_handshake fresh_responder, initiator_after_1, responder_after_2;
static unsigned char init_pub[32], resp_pub[32];

static void make(rp_noise_handshake *hs, rp_noise_role role)
{
    unsigned char k[32];

    rp_fuzz_key(k, role == RP_NOISE_INITIATOR ? RP_FUZZ_INIT_STATIC : RP_FUZZ_RESP_STATIC);
    if (rp_noise_handshake_init(hs, role, k, (const unsigned char *)RP_FUZZ_PROLOGUE,
                                strlen(RP_FUZZ_PROLOGUE)) != 0)
        abort();
    rp_fuzz_key(k, role == RP_NOISE_INITIATOR ? RP_FUZZ_INIT_EPHEMERAL : RP_FUZZ_RESP_EPHEMERAL);
    if (rp_noise_handshake_set_ephemeral_for_testing(hs, k) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char m[256], pl[256], k[32];
    size_t n, pn;

    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    rp_fuzz_key(k, RP_FUZZ_INIT_STATIC);
    if (rp_noise_pubkey(init_pub, k) != 0)
        abort();
    rp_fuzz_key(k, RP_FUZZ_RESP_STATIC);
    if (rp_noise_pubkey(resp_pub, k) != 0)
        abort();
    make(&fresh_responder, RP_NOISE_RESPONDER);
    make(&initiator_after_1, RP_NOISE_INITIATOR);
    make(&responder_after_2, RP_NOISE_RESPONDER);
    if (rp_noise_handshake_write(&initiator_after_1, m, sizeof m, &n, NULL, 0) != 0 ||
        rp_noise_handshake_read(&responder_after_2, pl, sizeof pl, &pn, m, n) != 0 ||
        rp_noise_handshake_write(&responder_after_2, m, sizeof m, &n,
                                 (const unsigned char *)"node-key-proof", 14) != 0)
        abort();
    return 0;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* A failed handshake: a known code, wiped, refusing. */
static void check_failed(rp_noise_handshake *hs, int rc)
{
    unsigned char out[128];
    size_t n;

    if (rc != RP_ERR_NOISE_MSG_LEN && rc != RP_ERR_NOISE_DECRYPT && rc != RP_ERR_NOISE_LOW_ORDER)
        abort();
    if (rp_strerror(rc)[0] == '\0' || rp_noise_handshake_action(hs) != RP_NOISE_FAILED ||
        !all_zero(hs, sizeof *hs) ||
        rp_noise_handshake_write(hs, out, sizeof out, &n, NULL, 0) != RP_ERR_NOISE_STATE)
        abort();
}

/* A handshake that read its last message: it knows the peer and splits. */
static void check_complete(rp_noise_handshake *hs, const unsigned char want_rs[32])
{
    unsigned char rs[32], h[32];
    rp_noise_cipher send, recv;

    if (rp_noise_handshake_remote_static(hs, rs) != 0 || memcmp(rs, want_rs, 32) != 0 ||
        rp_noise_handshake_split(hs, &send, &recv, h) != 0)
        abort();
    rp_noise_cipher_wipe(&send);
    rp_noise_cipher_wipe(&recv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char payload[RP_NOISE_MAX_MSG], out[RP_NOISE_MAX_MSG];
    rp_noise_handshake hs;
    size_t n = 0, on;
    int rc;

    if (size == 0)
        return 0;
    const unsigned char *msg = data + 1;
    size_t len = size - 1;

    switch (data[0] % 3) {
    case 0:
        hs = fresh_responder;
        rc = rp_noise_handshake_read(&hs, payload, sizeof payload, &n, msg, len);
        if (rc != 0) {
            /* Message 1 carries no tag: only its length can be wrong. */
            if (rc != RP_ERR_NOISE_MSG_LEN || (len >= 32 && len <= RP_NOISE_MAX_MSG))
                abort();
            check_failed(&hs, rc);
            break;
        }
        if (n != len - 32 || (n > 0 && memcmp(payload, msg + 32, n) != 0) ||
            rp_noise_handshake_action(&hs) != RP_NOISE_WRITE)
            abort();
        rc = rp_noise_handshake_write(&hs, out, sizeof out, &on, NULL, 0);
        if (rc != 0) {
            if (rc != RP_ERR_NOISE_LOW_ORDER || on != 0)
                abort();
            check_failed(&hs, rc);
        } else if (on != RP_NOISE_XX_OVERHEAD2 || rp_noise_handshake_action(&hs) != RP_NOISE_READ) {
            abort();
        }
        break;
    case 1:
        hs = initiator_after_1;
        rc = rp_noise_handshake_read(&hs, payload, sizeof payload, &n, msg, len);
        if (rc != 0) {
            check_failed(&hs, rc);
            if (n != 0)
                abort();
            break;
        }
        if (n != len - RP_NOISE_XX_OVERHEAD2 ||
            rp_noise_handshake_write(&hs, out, sizeof out, &on, NULL, 0) != 0)
            abort();
        check_complete(&hs, resp_pub);
        break;
    default:
        hs = responder_after_2;
        rc = rp_noise_handshake_read(&hs, payload, sizeof payload, &n, msg, len);
        if (rc != 0) {
            check_failed(&hs, rc);
            break;
        }
        if (n != len - RP_NOISE_XX_OVERHEAD3)
            abort();
        check_complete(&hs, init_pub);
        break;
    }
    rp_noise_handshake_wipe(&hs);
    return 0;
}
