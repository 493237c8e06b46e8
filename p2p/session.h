/* One connection's protocol, from the first byte to the last: the Noise XX
 * handshake with its HELLO payloads, then the encrypted framing. Pure: no
 * sockets, no clock. The transport (p2p/net.c) feeds it the bytes a socket
 * read and writes out the bytes it hands back; tests and fuzzers drive two
 * sessions against each other, or one against hostile bytes.
 *
 * The handshake on the wire (docs/p2p.md, "Handshake"):
 *
 *   each handshake message = length u16 (big-endian) | Noise message
 *   prologue = "repute-p2p" (10 ASCII bytes) | version u32 | chain_id 32
 *
 *   -> message 1: e                       (payload empty: exactly 32 bytes)
 *   <- message 2: e, ee, s, es + HELLO    (the responder's)
 *   -> message 3: s, se + HELLO           (the initiator's)
 *
 * Each side checks the other's HELLO: a HELLO and nothing else, its binding
 * signature by its node key over the static key the handshake authenticated
 * (p2p/msg.h), and, for a dialer that knows whom it dialed, the node key it
 * expected. A node of another chain or protocol version fails at message 2
 * or 3 (the prologue differs, so nothing decrypts); a node that meets its own
 * node key stops (it dialed itself). Then both sides run the framing of
 * p2p/frame.h on the two CipherStates of the handshake's Split().
 *
 * Every failure ends the session for good and says why in a short static
 * text for the log ("handshake: message 2 did not decrypt (another chain or
 * protocol version, or tampering)", ...). Nothing a peer sends can make the
 * session hold more than one frame and one message of RP_P2P_MAX_MESSAGE.
 */
#ifndef RP_P2P_SESSION_H
#define RP_P2P_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/noise.h"
#include "crypto/sig.h"
#include "p2p/msg.h"

#define RP_SESSION_PROLOGUE_TAG "repute-p2p"
#define RP_SESSION_PROLOGUE_LEN (10 + 4 + 32)

/* The largest handshake message (message 2 with the largest HELLO). */
#define RP_SESSION_HS_MAX (RP_NOISE_XX_OVERHEAD2 + RP_P2P_HELLO_MAX_SIZE)

typedef struct rp_session rp_session;

/* What is the same for every session of a node. */
typedef struct rp_session_local {
    unsigned char static_priv[32]; /* X25519 static key (secret; wiped by the owner) */
    unsigned char static_pub[32];
    rp_hash chain_id;
    rp_p2p_hello hello; /* this node's HELLO, signed over static_pub */
} rp_session_local;

/* Fill local: a fresh X25519 static key and a HELLO signed by node_key.
 * Returns: 0; the errors of rp_p2p_hello_sign; RP_ERR_RANDOM.
 * In: node_key (borrowed); chain_id; port: where this node listens (0:
 *     nowhere); role; user_agent (cut to RP_P2P_USER_AGENT_MAX). */
int rp_session_local_init(rp_session_local *local, const rp_seckey *node_key,
                          const rp_hash *chain_id, uint16_t port, uint8_t role,
                          const char *user_agent);
void rp_session_local_wipe(rp_session_local *local);

/* The callbacks. Each runs synchronously inside rp_session_start,
 * rp_session_feed or rp_session_send, and may not call back into the
 * session. */
typedef struct rp_session_io {
    void *ctx;
    /* Bytes to write to the peer, in order: bytes is malloc'd and the
     * callee's, whatever it returns. Returns 0, or an error that ends the
     * session (a full send queue). */
    int (*send)(void *ctx, unsigned char *bytes, size_t len);
    /* The handshake is done: hello is the peer's, checked. */
    void (*ready)(void *ctx, const rp_p2p_hello *hello);
    /* A whole application message from the peer (msg malloc'd: the callee
     * owns it and frees it). */
    void (*message)(void *ctx, unsigned char *msg, size_t len);
} rp_session_io;

/* Make a session.
 * Returns: 0; RP_ERR_NOMEM; the errors of rp_noise_handshake_init.
 * Out: *out.
 * In:  local: borrowed for the session's life; initiator: 1 if this side
 *      dialed; expect: the node key the dialer expects, or NULL; io (copied). */
int rp_session_new(rp_session **out, const rp_session_local *local, int initiator,
                   const rp_pubkey *expect, const rp_session_io *io);
void rp_session_free(rp_session *s);

/* The initiator writes message 1. (The responder has nothing to start.)
 * Returns: 0 or an error (the session failed: rp_session_why). */
int rp_session_start(rp_session *s);

/* Feed the bytes a read gave. Stops after each whole application message
 * (handed to io.message) so the caller may apply back-pressure; call again
 * with the rest.
 * Returns: 0 (all of data consumed, or a message was delivered: see
 *          *consumed); a negative error: the session failed (rp_session_why
 *          says why; every later call returns the same).
 * Out:     *consumed. */
int rp_session_feed(rp_session *s, const unsigned char *data, size_t len, size_t *consumed);

/* Send one application message (already encoded, p2p/msg.h).
 * Returns: 0; RP_ERR_NOISE_STATE before the handshake is done; the errors
 *          of rp_p2p_frame_encode and of io.send. */
int rp_session_send(rp_session *s, const unsigned char *msg, size_t len);

/* The session's state. */
int rp_session_ready(const rp_session *s);  /* 1 once the handshake is done */
int rp_session_failed(const rp_session *s); /* 1 once it failed */
/* Why it failed: a static text, or NULL. */
const char *rp_session_why(const rp_session *s);
/* The peer's HELLO (after ready), or NULL. */
const rp_p2p_hello *rp_session_peer(const rp_session *s);
/* Bytes held for a message in progress (the frame bound excluded). */
size_t rp_session_buffered(const rp_session *s);

#endif /* RP_P2P_SESSION_H */
