/* Where a peer is, as an operator writes it: "host:port", or
 * "ID@host:port" when the node key that must answer is known.
 *
 *   host = an IPv4 literal (192.0.2.7), a bracketed IPv6 literal
 *          ([2001:db8::1]), or a DNS name (letters, digits, '-' and '.',
 *          at most 253 characters, resolved when the node dials)
 *   port = 0..65535 (0 only where a listener may take any free port)
 *   ID   = the peer's node key, 64 hex digits (docs/p2p.md)
 *
 * Used by reputed.conf ([p2p] listen, persistent_peer, seed) and by the
 * peers.add RPC. Pure: no resolution, no sockets.
 */
#ifndef RP_P2P_ENDPOINT_H
#define RP_P2P_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

#define RP_ENDPOINT_HOST_MAX 253 /* a DNS name's longest text form */
/* The longest text: 64 + '@' + '[' + host + ']' + ':' + 5 digits. */
#define RP_ENDPOINT_TEXT_MAX (64 + 1 + 1 + RP_ENDPOINT_HOST_MAX + 1 + 1 + 5)

enum rp_endpoint_kind { RP_ENDPOINT_IPV4 = 4, RP_ENDPOINT_IPV6 = 6, RP_ENDPOINT_NAME = 1 };

typedef struct rp_endpoint {
    int kind;                               /* enum rp_endpoint_kind */
    char host[RP_ENDPOINT_HOST_MAX + 1];    /* as written, without brackets */
    unsigned char ip[16];                   /* IPV4: ip[0..4); IPV6: all 16; NAME: zero */
    uint16_t port;
    int has_id;
    rp_pubkey id;                           /* if has_id */
} rp_endpoint;

/* Parse "host:port" or "ID@host:port".
 * Returns: 0; RP_ERR_INVALID_ARG with why set to a static explanation
 *          ("missing ':port'", "the node ID must be 64 hex digits", ...).
 * Out:     e (zeroed on failure); why.
 * In:      text (NUL-terminated); id: 1 = the ID is required, 0 = allowed,
 *          -1 = refused; port0: 1 if port 0 is allowed.
 */
int rp_endpoint_parse(rp_endpoint *e, const char *text, int id, int port0, const char **why);

/* Write e back as text: "ID@" if it has one, the host (bracketed for IPv6),
 * ":port". Returns: the length written; out always NUL-terminated, cut to
 * cap - 1 (RP_ENDPOINT_TEXT_MAX + 1 is always enough). */
size_t rp_endpoint_format(const rp_endpoint *e, char *out, size_t cap);

#endif /* RP_P2P_ENDPOINT_H */
