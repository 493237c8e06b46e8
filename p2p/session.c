/* One connection's protocol (contract in session.h). */
#include "p2p/session.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "p2p/frame.h"

enum state { S_HANDSHAKE, S_READY, S_FAILED };

struct rp_session {
    const rp_session_local *local;
    rp_session_io io;
    int initiator;
    int has_expect;
    rp_pubkey expect;
    enum state state;
    int rc;
    const char *why;
    rp_noise_handshake hs;
    int hs_done; /* handshake messages written or read so far (0..3) */
    /* a handshake message being received: its length prefix, then itself */
    unsigned char hbuf[2 + RP_SESSION_HS_MAX];
    size_t hlen;
    rp_p2p_frame *frame;
    rp_p2p_hello peer;
};

static void wipe_local_keys(rp_session_local *l)
{
    sodium_memzero(l->static_priv, sizeof l->static_priv);
}

int rp_session_local_init(rp_session_local *local, const rp_seckey *node_key,
                          const rp_hash *chain_id, uint16_t port, uint8_t role,
                          const char *user_agent)
{
    memset(local, 0, sizeof *local);
    rp_noise_keygen(local->static_pub, local->static_priv);
    local->chain_id = *chain_id;
    local->hello.port = port;
    local->hello.role = role;
    size_t n = strlen(user_agent);
    if (n > RP_P2P_USER_AGENT_MAX)
        n = RP_P2P_USER_AGENT_MAX;
    memcpy(local->hello.user_agent, user_agent, n);
    unsigned char aux[32];
    randombytes_buf(aux, sizeof aux);
    int rc = rp_p2p_hello_sign(&local->hello, node_key, chain_id, local->static_pub,
                               RP_P2P_VERSION, aux);
    if (rc)
        wipe_local_keys(local);
    return rc;
}

void rp_session_local_wipe(rp_session_local *local) { sodium_memzero(local, sizeof *local); }

static void prologue(const rp_session_local *l, unsigned char out[RP_SESSION_PROLOGUE_LEN])
{
    memcpy(out, RP_SESSION_PROLOGUE_TAG, 10);
    out[10] = (unsigned char)(RP_P2P_VERSION >> 24);
    out[11] = (unsigned char)(RP_P2P_VERSION >> 16);
    out[12] = (unsigned char)(RP_P2P_VERSION >> 8);
    out[13] = (unsigned char)RP_P2P_VERSION;
    memcpy(out + 14, l->chain_id.bytes, 32);
}

int rp_session_new(rp_session **out, const rp_session_local *local, int initiator,
                   const rp_pubkey *expect, const rp_session_io *io)
{
    *out = NULL;
    rp_session *s = calloc(1, sizeof *s);
    if (!s)
        return RP_ERR_NOMEM;
    s->local = local;
    s->io = *io;
    s->initiator = initiator;
    if (expect) {
        s->has_expect = 1;
        s->expect = *expect;
    }
    unsigned char pro[RP_SESSION_PROLOGUE_LEN];
    prologue(local, pro);
    int rc = rp_noise_handshake_init(&s->hs, initiator ? RP_NOISE_INITIATOR : RP_NOISE_RESPONDER,
                                 local->static_priv, pro, sizeof pro);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void rp_session_free(rp_session *s)
{
    if (!s)
        return;
    rp_noise_handshake_wipe(&s->hs);
    rp_p2p_frame_free(s->frame);
    sodium_memzero(s, sizeof *s);
    free(s);
}

static int fail(rp_session *s, int rc, const char *why)
{
    if (s->state != S_FAILED) {
        s->state = S_FAILED;
        s->rc = rc ? rc : RP_ERR_NOISE_STATE;
        s->why = why;
        rp_noise_handshake_wipe(&s->hs);
        rp_p2p_frame_free(s->frame);
        s->frame = NULL;
    }
    return s->rc;
}

/* Write the next handshake message with payload, length-prefixed. */
static int hs_write(rp_session *s, const unsigned char *payload, size_t plen)
{
    unsigned char buf[2 + RP_SESSION_HS_MAX];
    size_t len;
    int rc = rp_noise_handshake_write(&s->hs, buf + 2, sizeof buf - 2, &len, payload, plen);
    if (rc)
        return fail(s, rc,
                    rc == RP_ERR_NOISE_LOW_ORDER
                        ? "handshake: the peer's ephemeral key is a low-order point"
                        : "handshake: cannot write the next message");
    s->hs_done++;
    unsigned char *out = malloc(len + 2);
    if (!out)
        return fail(s, RP_ERR_NOMEM, "out of memory");
    out[0] = (unsigned char)(len >> 8);
    out[1] = (unsigned char)len;
    memcpy(out + 2, buf + 2, len);
    rc = s->io.send(s->io.ctx, out, len + 2);
    return rc ? fail(s, rc, "send queue full") : 0;
}

/* Our HELLO, encoded. */
static int hello_bytes(rp_session *s, unsigned char *out, size_t cap, size_t *len)
{
    rp_p2p_msg *m = calloc(1, sizeof *m);
    if (!m)
        return RP_ERR_NOMEM;
    rp_p2p_msg_init(m, RP_P2P_MSG_HELLO);
    m->body.hello = s->local->hello;
    int rc = rp_p2p_msg_encode(m, out, cap, len);
    free(m);
    return rc;
}

int rp_session_start(rp_session *s)
{
    if (s->state == S_FAILED)
        return s->rc;
    if (!s->initiator || rp_noise_handshake_action(&s->hs) != RP_NOISE_WRITE)
        return fail(s, RP_ERR_NOISE_STATE, "handshake: started twice, or by the responder");
    return hs_write(s, NULL, 0);
}

/* Check the peer's HELLO, the payload of message 2 or 3. */
static int check_hello(rp_session *s, const unsigned char *p, size_t plen)
{
    rp_p2p_msg *m = calloc(1, sizeof *m);
    if (!m)
        return fail(s, RP_ERR_NOMEM, "out of memory");
    int rc = rp_p2p_msg_decode(m, p, plen, NULL);
    if (rc || m->type != RP_P2P_MSG_HELLO) {
        free(m);
        return fail(s, rc ? rc : RP_ERR_BAD_TYPE, "handshake: the payload is not a valid HELLO");
    }
    s->peer = m->body.hello;
    free(m);
    unsigned char rs[32];
    if (rp_noise_handshake_remote_static(&s->hs, rs) != 0)
        return fail(s, RP_ERR_NOISE_STATE, "handshake: no remote static key");
    if (!rp_p2p_hello_verify(&s->peer, &s->local->chain_id, rs, RP_P2P_VERSION))
        return fail(s, RP_ERR_BAD_SIGNATURE,
                    "handshake: the HELLO's binding signature does not verify");
    if (!memcmp(s->peer.node_key.bytes, s->local->hello.node_key.bytes, 32))
        return fail(s, RP_ERR_INVALID_ARG, "handshake: connected to itself");
    if (s->has_expect && memcmp(s->peer.node_key.bytes, s->expect.bytes, 32) != 0)
        return fail(s, RP_ERR_BAD_KEY, "handshake: the peer is not the node ID that was dialed");
    return 0;
}

static int hs_split(rp_session *s)
{
    rp_noise_cipher tx, rx;
    unsigned char h[32];
    int rc = rp_noise_handshake_split(&s->hs, &tx, &rx, h);
    if (rc)
        return fail(s, rc, "handshake: split failed");
    rc = rp_p2p_frame_new(&s->frame, &tx, &rx);
    if (rc)
        return fail(s, rc, "out of memory");
    rp_noise_handshake_wipe(&s->hs);
    s->state = S_READY;
    s->io.ready(s->io.ctx, &s->peer);
    return 0;
}

/* A whole handshake message arrived. */
static int hs_message(rp_session *s, const unsigned char *msg, size_t len)
{
    unsigned char payload[RP_SESSION_HS_MAX];
    size_t plen;
    int rc = rp_noise_handshake_read(&s->hs, payload, sizeof payload, &plen, msg, len);
    if (rc) {
        if (rc == RP_ERR_NOISE_LOW_ORDER)
            return fail(s, rc, "handshake: the peer sent a low-order X25519 key");
        if (rc == RP_ERR_NOISE_DECRYPT)
            return fail(s, rc,
                        "handshake: a message did not decrypt (another chain or protocol "
                        "version, a replayed message, or tampering)");
        return fail(s, rc, "handshake: a malformed message");
    }
    int next = ++s->hs_done;
    if (next == 1) {       /* responder read message 1 */
        if (plen != 0)
            return fail(s, RP_ERR_TRAILING, "handshake: message 1 must carry no payload");
        unsigned char hello[RP_P2P_HELLO_MAX_SIZE];
        size_t hl;
        if ((rc = hello_bytes(s, hello, sizeof hello, &hl)) != 0)
            return fail(s, rc, "cannot encode our HELLO");
        return hs_write(s, hello, hl);
    }
    if (next == 2) { /* initiator read message 2 */
        if ((rc = check_hello(s, payload, plen)) != 0)
            return rc;
        unsigned char hello[RP_P2P_HELLO_MAX_SIZE];
        size_t hl;
        if ((rc = hello_bytes(s, hello, sizeof hello, &hl)) != 0)
            return fail(s, rc, "cannot encode our HELLO");
        if ((rc = hs_write(s, hello, hl)) != 0)
            return rc;
        return hs_split(s);
    }
    /* responder read message 3 */
    if ((rc = check_hello(s, payload, plen)) != 0)
        return rc;
    return hs_split(s);
}

/* The most a handshake message of the peer's may be: message 1 is exactly
 * 32 bytes; 2 and 3 carry a HELLO. */
static void hs_bounds(const rp_session *s, size_t *min, size_t *max)
{
    if (s->hs_done == 0) { /* message 1 */
        *min = *max = RP_NOISE_XX_OVERHEAD1;
    } else if (s->initiator) { /* message 2 */
        *min = RP_NOISE_XX_OVERHEAD2 + RP_P2P_HELLO_MIN_SIZE;
        *max = RP_NOISE_XX_OVERHEAD2 + RP_P2P_HELLO_MAX_SIZE;
    } else { /* message 3 */
        *min = RP_NOISE_XX_OVERHEAD3 + RP_P2P_HELLO_MIN_SIZE;
        *max = RP_NOISE_XX_OVERHEAD3 + RP_P2P_HELLO_MAX_SIZE;
    }
}

int rp_session_feed(rp_session *s, const unsigned char *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    size_t off = 0;
    while (s->state == S_HANDSHAKE && off < len) {
        if (rp_noise_handshake_action(&s->hs) != RP_NOISE_READ)
            return fail(s, RP_ERR_NOISE_STATE, "handshake: the peer spoke out of turn");
        size_t want = s->hlen < 2 ? 2 : 2 + ((size_t)s->hbuf[0] << 8 | s->hbuf[1]);
        size_t take = want - s->hlen;
        if (take > len - off)
            take = len - off;
        memcpy(s->hbuf + s->hlen, data + off, take);
        s->hlen += take;
        off += take;
        if (s->hlen == 2) {
            size_t mlen = (size_t)s->hbuf[0] << 8 | s->hbuf[1], lo, hi;
            hs_bounds(s, &lo, &hi);
            if (mlen < lo || mlen > hi) {
                *consumed = off;
                return fail(s, RP_ERR_NOISE_MSG_LEN,
                            "handshake: a message of the wrong size (not a repute node, or "
                            "garbage)");
            }
            continue;
        }
        if (s->hlen == want) {
            int rc = hs_message(s, s->hbuf + 2, s->hlen - 2);
            sodium_memzero(s->hbuf, s->hlen);
            s->hlen = 0;
            if (rc) {
                *consumed = off;
                return rc;
            }
        }
    }
    if (s->state == S_FAILED) {
        *consumed = off;
        return s->rc;
    }
    if (s->state == S_HANDSHAKE || off == len) {
        *consumed = off;
        return 0;
    }
    /* Framed messages: stop after each one. */
    while (off < len) {
        size_t used;
        int rc = rp_p2p_frame_feed(s->frame, &used, data + off, len - off);
        off += used;
        if (rc < 0) {
            *consumed = off;
            return fail(s, rc,
                        rc == RP_ERR_FRAME_TOO_LARGE ? "a message above the size limit"
                        : rc == RP_ERR_FRAME_LENGTH  ? "a frame of the wrong length"
                        : rc == RP_ERR_NOMEM         ? "out of memory"
                                                     : "a frame did not decrypt");
        }
        if (rc == 1) {
            unsigned char *msg;
            size_t mlen;
            if (rp_p2p_frame_take(s->frame, &msg, &mlen) != 0) {
                *consumed = off;
                return fail(s, RP_ERR_NOISE_STATE, "framing: no message to take");
            }
            *consumed = off;
            s->io.message(s->io.ctx, msg, mlen);
            return s->state == S_FAILED ? s->rc : 0;
        }
    }
    *consumed = off;
    return 0;
}

int rp_session_send(rp_session *s, const unsigned char *msg, size_t len)
{
    if (s->state != S_READY)
        return s->state == S_FAILED ? s->rc : RP_ERR_NOISE_STATE;
    size_t cap = rp_p2p_frame_encoded_len(len);
    if (!cap)
        return RP_ERR_FRAME_TOO_LARGE;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return RP_ERR_NOMEM;
    size_t out;
    int rc = rp_p2p_frame_encode(s->frame, buf, cap, &out, msg, len);
    if (rc) {
        free(buf);
        if (rc == RP_ERR_NOISE_NONCE)
            fail(s, rc, "the session's nonces are spent");
        return rc;
    }
    rc = s->io.send(s->io.ctx, buf, out); /* buf is the callee's now */
    if (rc)
        fail(s, rc, "send queue full");
    return rc;
}

int rp_session_ready(const rp_session *s) { return s->state == S_READY; }
int rp_session_failed(const rp_session *s) { return s->state == S_FAILED; }
const char *rp_session_why(const rp_session *s) { return s->why; }
const rp_p2p_hello *rp_session_peer(const rp_session *s)
{
    return s->state == S_READY ? &s->peer : NULL;
}
size_t rp_session_buffered(const rp_session *s)
{
    return s->frame ? rp_p2p_frame_buffered(s->frame) : 0;
}
