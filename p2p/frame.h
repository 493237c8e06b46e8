/* The encrypted framing of a repute session: how application messages
 * (p2p/msg.h) travel over TCP once the Noise handshake (crypto/noise.h) has
 * given each direction its CipherState. docs/p2p.md, "Framing", is the
 * normative description; in short:
 *
 *   frame   = length (2 + 16) | body (L + 16)
 *   length  = ENCRYPT(k, n,   "", L as u16 big-endian)      18 bytes
 *   body    = ENCRYPT(k, n+1, "", L bytes of plaintext)      L + 16 bytes
 *             0 <= L <= 65,519, so each is one Noise message of at most
 *             65,535 bytes (RP_P2P_NOISE_MAX)
 *
 *   message = first frame | continuation frame*
 *   first        plaintext = total length M (u32 big-endian, M <=
 *                RP_P2P_MAX_MESSAGE) | the message's first min(M, 65,515)
 *                bytes; so L = 4 + min(M, 65,515)
 *   continuation plaintext = the next min(remaining, 65,519) bytes of the
 *                message; so L = min(remaining, 65,519)
 *
 * As in Lightning's BOLT 8, the length is encrypted and authenticated on its
 * own, so an observer sees neither message sizes nor boundaries beyond what
 * TCP timing gives away, and a receiver knows how many bytes to wait for
 * before it trusts any. Every length is forced: a message has exactly one
 * encoding, and any frame whose L is not the one the rules give, any M above
 * the bound, any tag that does not verify (tampering, a reordered, dropped
 * or replayed frame: each moves the nonce) ends the session.
 *
 * Rekeying: after every RP_P2P_FRAME_REKEY_INTERVAL frames (65,536) of a
 * direction, both ends apply Noise's Rekey() to that direction's
 * CipherState (n runs on; see docs/p2p.md for why the interval counts
 * frames and why it is this one).
 *
 * Memory: a session holds one frame (at most 65,535 + 18 bytes, inside the
 * object) and the message being reassembled, which grows with the bytes
 * actually received (doubling, capped at the announced M), never to more
 * than RP_P2P_MAX_MESSAGE; an M above the bound is refused before anything
 * is allocated for it. rp_p2p_frame_buffered says how much is held.
 *
 * Use from a libuv read callback: rp_p2p_frame_feed consumes what arrived,
 * any split of the stream (down to a byte at a time), never blocks, never
 * does I/O, and stops at each complete message so the caller can take it
 * (and apply back-pressure by not feeding more):
 *
 *   size_t off = 0, used;
 *   while (off < (size_t)nread) {
 *       int rc = rp_p2p_frame_feed(f, &used, buf->base + off, nread - off);
 *       off += used;
 *       if (rc < 0) { disconnect(peer, rc); break; }
 *       if (rc == 1) {
 *           unsigned char *msg; size_t len;
 *           (void)rp_p2p_frame_take(f, &msg, &len);  // cannot fail after 1
 *           handle(peer, msg, len);                  // then free(msg)
 *       }
 *   }
 *
 * and on UV_EOF, rp_p2p_frame_eof says whether the peer stopped mid-message.
 *
 * Threading: a session is used by one thread at a time (the loop's); distinct
 * sessions are independent. The sending half (encode) and the receiving half
 * (feed, take, eof) share nothing but the object and may not run
 * concurrently on it.
 *
 * Pointer arguments are never NULL unless a contract says so.
 */
#ifndef RP_P2P_FRAME_H
#define RP_P2P_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/noise.h"
#include "p2p/proto.h"

/* The encrypted length: 2 bytes and their tag. */
#define RP_P2P_FRAME_HEADER 18

/* The most plaintext one frame body carries (one Noise message). */
#define RP_P2P_FRAME_MAX_BODY (RP_P2P_NOISE_MAX - 16) /* 65,519 */

/* The first frame of a message begins with the message's total length. */
#define RP_P2P_FRAME_ANNOUNCE   4
#define RP_P2P_FRAME_FIRST_DATA (RP_P2P_FRAME_MAX_BODY - RP_P2P_FRAME_ANNOUNCE) /* 65,515 */

/* What a frame adds to its data: the length with its tag, the body's tag. */
#define RP_P2P_FRAME_OVERHEAD (RP_P2P_FRAME_HEADER + 16) /* 34 */

/* Each direction's CipherState is rekeyed after every this many frames. */
#define RP_P2P_FRAME_REKEY_INTERVAL 65536u

typedef struct rp_p2p_frame rp_p2p_frame;

/* Start the framing of a session on the CipherStates of a completed
 * handshake (rp_noise_handshake_split).
 * Returns: 0; RP_ERR_INVALID_ARG if either CipherState has no key;
 *          RP_ERR_NOMEM. On failure *out is NULL.
 * Out:     *out: the session (free with rp_p2p_frame_free).
 * In:      send, recv: this side's two CipherStates. The session takes them:
 *          they are copied and the caller's copies wiped, on success and on
 *          failure alike.
 */
__attribute__((warn_unused_result)) int rp_p2p_frame_new(rp_p2p_frame **out, rp_noise_cipher *send,
                                                         rp_noise_cipher *recv);

/* Free a session: its keys and buffers are wiped. NULL is accepted. A
 * message delivered by rp_p2p_frame_take is the caller's and is not
 * touched. */
void rp_p2p_frame_free(rp_p2p_frame *f);

/* How many bytes the frames of a message of len bytes take:
 * 34 x frames + 4 + len, where frames = 1 + ceil(max(0, len - 65,515) /
 * 65,519).
 * Returns: that size; 0 if len is above RP_P2P_MAX_MESSAGE.
 */
size_t rp_p2p_frame_encoded_len(size_t len);

/* Encrypt one application message into its frames, into a buffer the caller
 * supplies (for uv_write: allocate rp_p2p_frame_encoded_len(len) bytes and
 * keep them until the write callback).
 * Returns: 0;
 *          RP_ERR_FRAME_TOO_LARGE if len is above RP_P2P_MAX_MESSAGE;
 *          RP_ERR_BUFFER if outcap is below rp_p2p_frame_encoded_len(len);
 *          (both change nothing; the session may send other messages);
 *          RP_ERR_NOISE_NONCE if the sending CipherState has too few nonces
 *          left for the message (after 2^63 frames: never in practice). It
 *          is checked before anything is written, and is returned by every
 *          later call: the sending half is finished.
 * Out:     out, outcap: room for the frames; *outlen: their length (0 on
 *          failure).
 * In:      msg, len: the message (msg may be NULL if len is 0); must not
 *          overlap out.
 * Messages must be written to the socket in the order they were encoded.
 */
__attribute__((warn_unused_result)) int rp_p2p_frame_encode(rp_p2p_frame *f, unsigned char *out,
                                                            size_t outcap, size_t *outlen,
                                                            const unsigned char *msg, size_t len);

/* Feed bytes received from the peer. Consumes them until a message is
 * complete or all of them are used, whichever comes first; never keeps more
 * than the current frame and the current message.
 * Returns: 1: a message is complete; take it with rp_p2p_frame_take before
 *             feeding again (the rest of data, from data + *consumed, is
 *             yours to feed then);
 *          0: all of data was consumed, no message is complete yet;
 *          and, each ending the receiving half for good (every later call
 *          returns the same code; the message in progress is freed):
 *          RP_ERR_NOISE_DECRYPT: a length or body that does not
 *             authenticate: tampered, reordered, replayed or dropped bytes,
 *             or another key;
 *          RP_ERR_FRAME_LENGTH: a frame whose L breaks the rules above (above
 *             65,519, below 4 in a first frame, or not the forced length);
 *          RP_ERR_FRAME_TOO_LARGE: a message announced above
 *             RP_P2P_MAX_MESSAGE (a protocol violation: nothing allocated);
 *          RP_ERR_NOMEM: the message's buffer could not grow;
 *          RP_ERR_NOISE_NONCE: the receiving nonces are exhausted (never in
 *             practice).
 *          RP_ERR_INVALID_ARG if a complete message is waiting to be taken
 *          (nothing consumed; not sticky).
 * Out:     *consumed: how many bytes of data were used (all of them when 0
 *          is returned).
 * In:      data, len: the next bytes of the stream (data may be NULL if len
 *          is 0).
 */
__attribute__((warn_unused_result)) int rp_p2p_frame_feed(rp_p2p_frame *f, size_t *consumed,
                                                          const unsigned char *data, size_t len);

/* Take the message that rp_p2p_frame_feed completed.
 * Returns: 0; RP_ERR_INVALID_ARG if no message is waiting (*msg NULL,
 *          *len 0).
 * Out:     *msg: the message, malloc'd and now the caller's (free() it);
 *          never NULL, even for an empty message; *len: its length, at most
 *          RP_P2P_MAX_MESSAGE.
 */
__attribute__((warn_unused_result)) int rp_p2p_frame_take(rp_p2p_frame *f, unsigned char **msg,
                                                          size_t *len);

/* Where the stream stands, for when the peer closes it.
 * Returns: 0 if it ended on a message boundary (a complete message still
 *          waiting to be taken counts as one); RP_ERR_TRUNCATED if it
 *          stopped inside a frame or between the frames of a message; the
 *          receiving half's error if it failed.
 */
int rp_p2p_frame_eof(const rp_p2p_frame *f);

/* Bytes the receiving half holds for the message in progress (its buffer's
 * capacity; the fixed frame buffer inside the object is not counted): for
 * the node's memory accounting, and for tests of the bound. */
size_t rp_p2p_frame_buffered(const rp_p2p_frame *f);

#endif /* RP_P2P_FRAME_H */
