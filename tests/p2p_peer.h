/* A peer written for tests, on a blocking TCP socket: it does the session's
 * handshake by hand from docs/p2p.md (crypto/noise.h, p2p/msg.h; not
 * p2p/session.c, so that it checks the wire format rather than repeat its
 * code) and frames by hand, so that it can also send what an honest node
 * never would: oversize announcements, garbage, floods, lies.
 *
 * Every function returns 0 on success and -1 on failure with why set; the
 * caller decides what to assert. Rekeying is not done (tests send far
 * fewer than 65,536 frames).
 */
#ifndef RP_TESTS_P2P_PEER_H
#define RP_TESTS_P2P_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/noise.h"
#include "crypto/sig.h"
#include "p2p/frame.h"
#include "p2p/msg.h"

typedef struct p2p_peer {
    int fd;
    rp_noise_cipher tx;
    rp_p2p_frame *rx; /* its sending half is unused */
    rp_p2p_hello theirs;
    rp_pubkey node_id;
    unsigned char pend[65536]; /* read, not fed yet */
    size_t pend_off, pend_len;
    char why[200];
} p2p_peer;

/* The prologue of docs/p2p.md for a chain: "repute-p2p" | version | chain id. */
void p2p_prologue(unsigned char out[46], const rp_hash *chain_id, uint32_t version);

/* Connect to 127.0.0.1:port (no handshake). */
int p2p_peer_dial(p2p_peer *p, uint16_t port);

/* Connect and run the handshake as the initiator on chain_id with node_key.
 * tamper: 0 honest; 1 flip a bit of the HELLO's binding. */
int p2p_peer_connect(p2p_peer *p, uint16_t port, const rp_hash *chain_id,
                     const rp_seckey *node_key, int tamper);

/* Write raw bytes. */
int p2p_peer_write(p2p_peer *p, const void *buf, size_t len);
/* Send a message (encoded, framed), or bytes framed as a message. */
int p2p_peer_send(p2p_peer *p, const rp_p2p_msg *m);
int p2p_peer_send_bytes(p2p_peer *p, const unsigned char *msg, size_t len);
/* A first frame announcing a message of total bytes (above the limit, for
 * the oversize test), with its 65,515 first bytes of zeros. */
int p2p_peer_send_announce(p2p_peer *p, uint32_t total);

/* Receive the next message (malloc'd) within timeout_ms.
 * Returns: 1 with *msg, 0 on timeout, -1 if the peer closed or failed. */
int p2p_peer_recv(p2p_peer *p, unsigned char **msg, size_t *len, int timeout_ms);
/* Wait for the node to close the connection, discarding what arrives.
 * Returns: 1 closed, 0 still open after timeout_ms. */
int p2p_peer_wait_closed(p2p_peer *p, int timeout_ms);

void p2p_peer_close(p2p_peer *p);

#endif /* RP_TESTS_P2P_PEER_H */
