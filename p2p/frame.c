/* The encrypted framing of a repute session (layout in p2p/frame.h and
 * docs/p2p.md, "Framing"): application messages cut into frames, each
 * frame an encrypted 2-byte length and an encrypted body, as Lightning's
 * BOLT 8 does, over the two transport CipherStates of the Noise handshake.
 *
 * The receiving half is a small state machine driven by whatever bytes TCP
 * delivers: it gathers the 18 bytes of a length, decrypts them, checks L
 * against the one value the rules allow at that point of the stream (which
 * it can, because it knows whether a message is in progress and how much of
 * it remains), gathers L + 16 bytes of body, decrypts them in place, and
 * moves the data into the message being reassembled. Nothing is trusted
 * before its tag verifies, nothing is allocated for a message before its
 * announced length is checked against RP_P2P_MAX_MESSAGE, and the message
 * buffer grows only as data arrives, so a peer that announces 5 MiB and
 * sends one frame costs one frame. The first error is kept and returned by
 * every later call (the Knot DNS wire_ctx habit): a session that saw one bad
 * byte is over.
 *
 * Both halves count their frames and rekey at the same frame, so the two
 * ends agree without a message saying so.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "p2p/frame.h"

enum { PHASE_LENGTH = 0, PHASE_BODY = 1 };

struct rp_p2p_frame {
    /* Sending. */
    rp_noise_cipher tx;
    uint64_t tx_frames;
    int tx_err; /* first error of the sending half, 0 while it works */

    /* Receiving. */
    rp_noise_cipher rx;
    uint64_t rx_frames;
    int rx_err;      /* first error of the receiving half */
    int phase;       /* PHASE_LENGTH or PHASE_BODY */
    size_t have;     /* bytes of the current length or body gathered */
    size_t body_len; /* L of the current frame */
    int in_message;  /* a first frame was read; continuations follow */
    int ready;       /* a complete message waits for rp_p2p_frame_take */
    size_t msg_len;  /* M, as announced */
    size_t msg_have; /* bytes of it received */
    size_t msg_cap;  /* capacity of msg */
    unsigned char *msg;
    unsigned char hdr[RP_P2P_FRAME_HEADER];
    unsigned char body[RP_P2P_NOISE_MAX];
};

/* The frames a message of len bytes takes. */
static size_t frame_count(size_t len)
{
    if (len <= RP_P2P_FRAME_FIRST_DATA)
        return 1;
    return 1 + (len - RP_P2P_FRAME_FIRST_DATA + RP_P2P_FRAME_MAX_BODY - 1) / RP_P2P_FRAME_MAX_BODY;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

int rp_p2p_frame_new(rp_p2p_frame **out, rp_noise_cipher *send, rp_noise_cipher *recv)
{
    rp_p2p_frame *f = NULL;
    int rc = 0;

    *out = NULL;
    if (!rp_noise_cipher_has_key(send) || !rp_noise_cipher_has_key(recv))
        rc = RP_ERR_INVALID_ARG;
    else if ((f = calloc(1, sizeof *f)) == NULL)
        rc = RP_ERR_NOMEM;
    if (rc == 0) {
        f->tx = *send;
        f->rx = *recv;
        *out = f;
    }
    rp_noise_cipher_wipe(send);
    rp_noise_cipher_wipe(recv);
    return rc;
}

/* Drop the message in progress. Its bytes are the peer's plaintext, which
 * the session's confidentiality covers: wipe them too. */
static void drop_message(rp_p2p_frame *f)
{
    if (f->msg != NULL) {
        sodium_memzero(f->msg, f->msg_cap);
        free(f->msg);
    }
    f->msg = NULL;
    f->msg_cap = f->msg_len = f->msg_have = 0;
    f->in_message = f->ready = 0;
}

void rp_p2p_frame_free(rp_p2p_frame *f)
{
    if (f == NULL)
        return;
    drop_message(f);
    sodium_memzero(f, sizeof *f);
    free(f);
}

size_t rp_p2p_frame_encoded_len(size_t len)
{
    if (len > RP_P2P_MAX_MESSAGE)
        return 0;
    return frame_count(len) * RP_P2P_FRAME_OVERHEAD + RP_P2P_FRAME_ANNOUNCE + len;
}

/* After each frame, in either direction: count it, and rekey at the
 * interval. */
static int frame_done(rp_noise_cipher *cs, uint64_t *frames)
{
    if (++*frames % RP_P2P_FRAME_REKEY_INTERVAL == 0)
        return rp_noise_cipher_rekey(cs);
    return 0;
}

int rp_p2p_frame_encode(rp_p2p_frame *f, unsigned char *out, size_t outcap, size_t *outlen,
                        const unsigned char *msg, size_t len)
{
    size_t need, frames, off = 0, done = 0, n;
    int rc = 0;

    *outlen = 0;
    if (f->tx_err != 0)
        return f->tx_err;
    if (len > RP_P2P_MAX_MESSAGE)
        return RP_ERR_FRAME_TOO_LARGE;
    need = rp_p2p_frame_encoded_len(len);
    if (outcap < need)
        return RP_ERR_BUFFER;
    /* Two nonces a frame, all below 2^64-1: check before writing, so that a
     * message is never cut short. */
    frames = frame_count(len);
    if ((uint64_t)frames > (UINT64_MAX - f->tx.n) / 2) {
        f->tx_err = RP_ERR_NOISE_NONCE;
        return f->tx_err;
    }

    for (size_t i = 0; i < frames; i++) {
        unsigned char l[2];
        unsigned char *body = out + off + RP_P2P_FRAME_HEADER;
        size_t data, body_len;

        if (i == 0) {
            data = min_size(len, RP_P2P_FRAME_FIRST_DATA);
            body_len = RP_P2P_FRAME_ANNOUNCE + data;
            body[0] = (unsigned char)(len >> 24);
            body[1] = (unsigned char)(len >> 16);
            body[2] = (unsigned char)(len >> 8);
            body[3] = (unsigned char)len;
            if (data > 0)
                memcpy(body + RP_P2P_FRAME_ANNOUNCE, msg, data);
        } else {
            data = min_size(len - done, RP_P2P_FRAME_MAX_BODY);
            body_len = data;
            memcpy(body, msg + done, data);
        }
        l[0] = (unsigned char)(body_len >> 8);
        l[1] = (unsigned char)body_len;
        rc = rp_noise_cipher_encrypt(&f->tx, out + off, RP_P2P_FRAME_HEADER, &n, NULL, 0, l,
                                     sizeof l);
        if (rc != 0)
            break;
        rc = rp_noise_cipher_encrypt(&f->tx, body, body_len + 16, &n, NULL, 0, body, body_len);
        if (rc != 0)
            break;
        if ((rc = frame_done(&f->tx, &f->tx_frames)) != 0)
            break;
        off += RP_P2P_FRAME_HEADER + n;
        done += data;
    }
    if (rc != 0) {
        /* Not expected (the lengths and nonces were checked): the nonces
         * used cannot be given back, so the sending half is over. */
        sodium_memzero(out, need);
        f->tx_err = rc;
        return rc;
    }
    *outlen = off;
    return 0;
}

/* End the receiving half with its first error. */
static int rx_fail(rp_p2p_frame *f, int rc)
{
    f->rx_err = rc;
    drop_message(f);
    rp_noise_cipher_wipe(&f->rx);
    sodium_memzero(f->hdr, sizeof f->hdr);
    sodium_memzero(f->body, sizeof f->body);
    return rc;
}

/* Make room for the message's next n bytes: double, up to the announced
 * length, which is at most RP_P2P_MAX_MESSAGE. */
static int reserve(rp_p2p_frame *f, size_t n)
{
    size_t want = f->msg_have + n, cap;
    unsigned char *p;

    if (want <= f->msg_cap && f->msg != NULL)
        return 0;
    cap = f->msg_cap * 2 > want ? f->msg_cap * 2 : want;
    if (cap > f->msg_len)
        cap = f->msg_len;
    if (cap == 0)
        cap = 1; /* an empty message is still a buffer the caller frees */
    p = malloc(cap);
    if (p == NULL)
        return RP_ERR_NOMEM;
    /* Copy and wipe rather than realloc, which would leave the old bytes
     * behind in freed memory. */
    if (f->msg != NULL) {
        memcpy(p, f->msg, f->msg_have);
        sodium_memzero(f->msg, f->msg_cap);
        free(f->msg);
    }
    f->msg = p;
    f->msg_cap = cap;
    return 0;
}

/* A length has been gathered: decrypt it and check L against the rules. */
static int read_length(rp_p2p_frame *f)
{
    unsigned char l[2];
    size_t n, body_len;
    int rc = rp_noise_cipher_decrypt(&f->rx, l, sizeof l, &n, NULL, 0, f->hdr, sizeof f->hdr);

    if (rc != 0)
        return rc;
    body_len = (size_t)l[0] << 8 | l[1];
    if (body_len > RP_P2P_FRAME_MAX_BODY)
        return RP_ERR_FRAME_LENGTH;
    if (!f->in_message && body_len < RP_P2P_FRAME_ANNOUNCE)
        return RP_ERR_FRAME_LENGTH;
    if (f->in_message && body_len != min_size(f->msg_len - f->msg_have, RP_P2P_FRAME_MAX_BODY))
        return RP_ERR_FRAME_LENGTH;
    f->body_len = body_len;
    return 0;
}

/* A body has been gathered: decrypt it and move its data into the message.
 * Returns 1 when the message is complete. */
static int read_body(rp_p2p_frame *f)
{
    size_t n, data = f->body_len;
    const unsigned char *p = f->body;
    int rc = rp_noise_cipher_decrypt(&f->rx, f->body, sizeof f->body, &n, NULL, 0, f->body,
                                     f->body_len + 16);

    if (rc != 0)
        return rc;
    if ((rc = frame_done(&f->rx, &f->rx_frames)) != 0)
        return rc;
    if (!f->in_message) {
        uint32_t m = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (m > RP_P2P_MAX_MESSAGE)
            return RP_ERR_FRAME_TOO_LARGE;
        if (f->body_len != RP_P2P_FRAME_ANNOUNCE + min_size(m, RP_P2P_FRAME_FIRST_DATA))
            return RP_ERR_FRAME_LENGTH;
        f->in_message = 1;
        f->msg_len = m;
        f->msg_have = 0;
        p += RP_P2P_FRAME_ANNOUNCE;
        data -= RP_P2P_FRAME_ANNOUNCE;
    }
    if ((rc = reserve(f, data)) != 0)
        return rc;
    if (data > 0)
        memcpy(f->msg + f->msg_have, p, data);
    f->msg_have += data;
    if (f->msg_have < f->msg_len)
        return 0;
    f->in_message = 0;
    f->ready = 1;
    return 1;
}

int rp_p2p_frame_feed(rp_p2p_frame *f, size_t *consumed, const unsigned char *data, size_t len)
{
    size_t used = 0;
    int rc = 0;

    *consumed = 0;
    if (f->rx_err != 0)
        return f->rx_err;
    if (f->ready)
        return RP_ERR_INVALID_ARG;
    while (used < len) {
        size_t need = f->phase == PHASE_LENGTH ? RP_P2P_FRAME_HEADER : f->body_len + 16;
        unsigned char *dst = f->phase == PHASE_LENGTH ? f->hdr : f->body;
        size_t take = min_size(need - f->have, len - used);

        memcpy(dst + f->have, data + used, take);
        f->have += take;
        used += take;
        if (f->have < need)
            break;
        f->have = 0;
        if (f->phase == PHASE_LENGTH) {
            if ((rc = read_length(f)) != 0)
                break;
            f->phase = PHASE_BODY;
        } else {
            f->phase = PHASE_LENGTH;
            if ((rc = read_body(f)) != 0)
                break;
        }
    }
    *consumed = used;
    if (rc < 0)
        return rx_fail(f, rc);
    return rc;
}

int rp_p2p_frame_take(rp_p2p_frame *f, unsigned char **msg, size_t *len)
{
    *msg = NULL;
    *len = 0;
    if (!f->ready)
        return RP_ERR_INVALID_ARG;
    *msg = f->msg;
    *len = f->msg_len;
    f->msg = NULL;
    f->msg_cap = f->msg_len = f->msg_have = 0;
    f->ready = 0;
    return 0;
}

int rp_p2p_frame_eof(const rp_p2p_frame *f)
{
    if (f->rx_err != 0)
        return f->rx_err;
    if (f->in_message || f->phase != PHASE_LENGTH || f->have != 0)
        return RP_ERR_TRUNCATED;
    return 0;
}

size_t rp_p2p_frame_buffered(const rp_p2p_frame *f)
{
    return f->msg_cap;
}
