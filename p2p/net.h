/* The transport and the peer manager: TCP on the node's libuv loop, one
 * session (p2p/session.h) per connection, the address book (p2p/addrman.h)
 * and the rules for whom to dial, whom to accept and whom to drop.
 *
 * What it does by itself (docs/p2p.md, "Peers"):
 *   - listens where the config says; dials persistent peers (again and
 *     again, with exponential backoff and jitter, never discouraged), then
 *     up to max_outbound peers from the address book, or from the seeds
 *     while the book is short; accepts up to max_inbound peers and, when
 *     full, evicts one (p2p/evict.h) or refuses the newcomer;
 *   - runs the handshake, refuses a second connection to a node already
 *     connected, a node whose ID is discouraged, a dialed node that is not
 *     the one expected, and gives up on a handshake after
 *     RP_NET_HANDSHAKE_MS;
 *   - answers PING, pings every peer every RP_NET_PING_MS and drops one
 *     that does not answer within RP_NET_PING_TIMEOUT_MS;
 *   - asks its outbound peers for addresses once (GETADDR), answers one
 *     GETADDR per connection, takes ADDR only in answer to its own GETADDR
 *     (at most RP_P2P_MAX_ADDR entries), and keeps the book in peers.dat;
 *   - bounds each peer: the bytes queued to send (RP_NET_SEND_QUEUE; a
 *     peer that cannot keep up is dropped), the messages it may send per
 *     second (RP_NET_MSG_RATE, burst RP_NET_MSG_BURST; a flood is
 *     misbehaviour), and what its session may buffer;
 *   - on misbehaviour (a bad frame, an undecodable message, a HELLO after
 *     the handshake, an unknown type, a flood, or what the node reports with
 *     rp_net_misbehaved): disconnects, and discourages the peer's node ID
 *     and IP for RP_ADDRMAN_DISCOURAGE_SECS unless it is persistent, logging
 *     the reason.
 * What it hands to the node: each peer once its handshake is done, every
 * other message (STATUS, records, blocks...) decoded, and each peer that
 * left.
 *
 * Threading: everything runs on the loop thread; no call may come from
 * another thread.
 */
#ifndef RP_P2P_NET_H
#define RP_P2P_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "crypto/sig.h"
#include "p2p/endpoint.h"
#include "p2p/msg.h"
#include "p2p/session.h"

#define RP_NET_HANDSHAKE_MS 10000       /* connect and handshake */
#define RP_NET_PING_MS 30000            /* between pings */
#define RP_NET_PING_TIMEOUT_MS 60000    /* a ping unanswered this long drops the peer */
#define RP_NET_SEND_QUEUE (24u << 20)   /* bytes queued to one peer */
#define RP_NET_MSG_RATE 2000            /* messages a peer may send per second ... */
#define RP_NET_MSG_BURST 10000          /* ... with this burst */
#define RP_NET_BACKOFF_MIN_MS 1000      /* persistent peers: first retry */
#define RP_NET_BACKOFF_MAX_MS 60000     /* ... doubling up to this, +-25% jitter */
#define RP_NET_PENDING_INBOUND 16       /* inbound handshakes at once (the oldest gives way) */
#define RP_NET_PENDING_PER_IP 4         /* ... from one IP address (its oldest gives way) */
#define RP_NET_SAVE_MS (15 * 60 * 1000) /* peers.dat written this often, and at stop */

typedef struct rp_net rp_net;

typedef struct rp_net_config {
    const rp_session_local *local; /* borrowed for the net's life */
    const char *listen;            /* "host:port" (port 0: any), or "" / NULL: none */
    const char *const *persistent; /* "ID@host:port" each */
    size_t npersistent;
    const char *const *seeds;
    size_t nseeds;
    uint32_t max_outbound, max_inbound;
    const char *peers_file;        /* the address book's file, or NULL: none kept */
} rp_net_config;

/* One peer, as peers.list shows it. */
typedef struct rp_net_peer_info {
    uint64_t id;               /* this process's number for the peer */
    int outbound, persistent, ready;
    char addr[RP_ENDPOINT_TEXT_MAX + 1]; /* "ip:port" as connected */
    int has_node_id;
    rp_pubkey node_id;
    uint8_t role;              /* from its HELLO; 0 before the handshake */
    char user_agent[RP_P2P_USER_AGENT_MAX + 1];
    uint16_t listen_port;      /* from its HELLO */
    uint64_t connected_ms;     /* wall clock */
    int64_t ping_us;           /* last round trip; -1: none yet */
    uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
    size_t send_queued;        /* bytes waiting to be written */
    int discouraged;
} rp_net_peer_info;

/* Counters for node.metrics. */
typedef struct rp_net_stats {
    uint64_t inbound, outbound, handshaking;
    uint64_t accepted, dialed, handshakes_failed, misbehaved, evicted;
    uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
    size_t book_new, book_tried, discouraged;
} rp_net_stats;

typedef struct rp_net_handler {
    void *ctx;
    /* A peer finished its handshake (info is borrowed for the call). */
    void (*ready)(void *ctx, uint64_t peer, const rp_net_peer_info *info);
    /* A message from a ready peer, decoded: any type but HELLO, PING, PONG,
     * GETADDR and ADDR, which the net answers itself. m is borrowed for the
     * call, and so are the bytes its views point to. */
    void (*message)(void *ctx, uint64_t peer, const rp_p2p_msg *m);
    /* A message in the consensus range (0x40..0x4F, p2p/msg.h), undecoded:
     * msg[0..len) is borrowed for the call. NULL: such messages are
     * skipped. The node decodes them (consensus/wire.h) and reports a bad
     * one with rp_net_misbehaved. */
    void (*consensus)(void *ctx, uint64_t peer, const unsigned char *msg, size_t len);
    /* A ready peer is gone (after `ready`, exactly once). */
    void (*gone)(void *ctx, uint64_t peer);
    /* One log line: level 0 debug .. 3 error, an event name, key=value
     * fields already quoted (the node's logger writes it; may be NULL). */
    void (*log)(void *ctx, int level, const char *event, const char *fields);
} rp_net_handler;

/* Start: parse the config, load the address book, listen, start dialing.
 * Returns: 0; RP_ERR_INVALID_ARG (a bad endpoint: err says which), a libuv
 *          error (listening failed: err names the address), RP_ERR_NOMEM.
 * Out:     *out; err.
 * In:      loop; cfg (copied; cfg->local borrowed); h (copied). */
int rp_net_start(rp_net **out, uv_loop_t *loop, const rp_net_config *cfg,
                 const rp_net_handler *h, char *err, size_t errlen);

/* Close every connection and the listener, save the address book. The net
 * is freed once libuv has closed every handle; then done(arg) runs (on the
 * loop). No handler callback runs after this call. */
void rp_net_stop(rp_net *net, void (*done)(void *arg), void *arg);

/* The port the listener got (0: not listening). */
uint16_t rp_net_port(const rp_net *net);

/* Send a message to a ready peer.
 * Returns: 0; RP_ERR_INVALID_ARG for an unknown or not ready peer; the
 *          errors of rp_p2p_msg_encode; RP_ERR_BUFFER if the peer's send
 *          queue is full (the peer is then disconnected). */
int rp_net_send(rp_net *net, uint64_t peer, const rp_p2p_msg *m);
/* Send a message to every ready peer (NEWBLOCK). */
void rp_net_broadcast(rp_net *net, const rp_p2p_msg *m);
/* Send an encoded message (copied), e.g. a consensus message. urgent:
 * ahead of every message not urgent still waiting to be encrypted (the
 * consensus messages' priority over gossip and blocks; docs/p2p.md).
 * Returns: as rp_net_send; RP_ERR_INVALID_ARG for len 0 or above
 *          RP_P2P_MAX_MESSAGE. */
int rp_net_send_bytes(rp_net *net, uint64_t peer, const unsigned char *msg, size_t len,
                      int urgent);
/* The same to every ready peer but except (0: none). */
void rp_net_broadcast_bytes(rp_net *net, const unsigned char *msg, size_t len, int urgent,
                            uint64_t except);
/* Bytes that may still be queued to the peer before it is dropped. */
size_t rp_net_send_room(const rp_net *net, uint64_t peer);

/* The node's verdicts. misbehaved: disconnect and discourage (unless
 * persistent), logging why. disconnect: just close. useful: the peer sent
 * something new (what: 1 a block, 2 a record), which protects it from
 * eviction. */
void rp_net_misbehaved(rp_net *net, uint64_t peer, const char *why);
void rp_net_disconnect(rp_net *net, uint64_t peer, const char *why);
void rp_net_useful(rp_net *net, uint64_t peer, int what);

/* peers.add: dial an endpoint ("ID@host:port"; "host:port" is allowed for
 * a one-time connection). persistent: keep it connected like a configured
 * persistent peer (until restart).
 * Returns: 0; RP_ERR_INVALID_ARG with err saying why. */
int rp_net_add(rp_net *net, const char *endpoint, int persistent, char *err, size_t errlen);

/* peers.ban / peers.unban: by node ID (64 hex) or IP address.
 * ban: discourage for secs and disconnect every matching peer.
 * Returns: ban: the peers disconnected (>= 0) or RP_ERR_INVALID_ARG;
 *          unban: 1 if something was lifted, 0 if not, or RP_ERR_INVALID_ARG. */
int rp_net_ban(rp_net *net, const char *who, uint64_t secs, char *err, size_t errlen);
int rp_net_unban(rp_net *net, const char *who, char *err, size_t errlen);

/* The peers, connected or connecting.
 * Returns: how many there are; fills out[0..min(that, cap)). */
size_t rp_net_peers(const rp_net *net, rp_net_peer_info *out, size_t cap);
/* One peer. Returns: 1 and fills out, or 0 if unknown. */
int rp_net_peer(const rp_net *net, uint64_t peer, rp_net_peer_info *out);
void rp_net_stats_get(const rp_net *net, rp_net_stats *st);

#endif /* RP_P2P_NET_H */
