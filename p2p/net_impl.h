/* Internal to p2p/: the transport's state, shared by net.c (connections,
 * sessions, messages, the listener, the tick) and dial.c (whom to dial,
 * the address book and its file, addresses exchanged, bans). Loop thread
 * only, like everything in net.h.
 */
#ifndef RP_P2P_NET_IMPL_H
#define RP_P2P_NET_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "p2p/addrman.h"
#include "p2p/net.h"

#define RP_NET_TICK_MS 500
#define RP_NET_INFLIGHT (256u << 10) /* encrypted bytes handed to libuv per peer */
#define MAX_TARGETS 96           /* persistent peers, seeds and peers.add, together */
#define SEED_RETRY_MS 60000      /* a seed is dialed at most this often */
#define BOOK_LOW 16              /* fewer addresses than this: ask the seeds */
#define RELAYED_AGE_PENALTY 7200 /* seconds taken off relayed last-seen claims */

enum target_kind { T_PERSISTENT = 1, T_SEED = 2, T_ONCE = 3 };

struct target {
    int kind;
    rp_endpoint ep;
    uint64_t next_ms;   /* not before (monotonic) */
    unsigned backoff_ms;
    struct peer *peer;  /* the connection in flight or up, or NULL */
    int used;
};

struct outmsg {
    struct outmsg *next;
    size_t len;
    unsigned char bytes[];
};

struct peer {
    struct peer *next;
    rp_net *net;
    uint64_t id;
    uv_tcp_t tcp;
    uv_connect_t connect;
    rp_session *sess;
    struct target *target; /* the target it was dialed for, or NULL */
    int outbound, from_book, closing, ready, connected;
    rp_netaddr addr; /* as connected (IPv4 mapped) */
    int has_expect;
    rp_pubkey expect;
    rp_p2p_hello hello;
    uint64_t start_ms, connected_wall_ms;
    /* ping */
    uint64_t ping_nonce, ping_sent_ms, next_ping_ms;
    int64_t ping_us;
    uint64_t min_ping_us;
    /* eviction */
    uint64_t last_block_ms, last_record_ms;
    /* budgets and counters */
    double tokens;
    uint64_t tokens_ms;
    size_t queued;        /* bytes handed to libuv, not yet written */
    /* Messages not yet encrypted: [0] consensus (urgent), [1] the rest.
     * Sessions encrypt in order, so priority is decided here, before. */
    struct outmsg *q_head[2], *q_tail[2];
    size_t plain; /* their bytes */
    uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
    int asked_addr, answered_addr;
};

struct rp_net {
    uv_loop_t *loop;
    rp_net_handler h;
    const rp_session_local *local;
    uint32_t max_outbound, max_inbound;
    char *peers_file;
    int listening;
    uv_tcp_t listener;
    uint16_t port;
    uv_timer_t timer;
    struct peer *peers;
    uint64_t next_id;
    struct target targets[MAX_TARGETS];
    rp_addrman *book;
    uint64_t group_key; /* eviction's keyed group hash */
    uint64_t last_save_ms;
    rp_p2p_msg *msg; /* decoded messages land here (one at a time: the loop's) */
    unsigned char rbuf[65536];
    int rbuf_busy;
    rp_net_stats st;
    int stopping;
    size_t open_handles; /* handles not closed yet, and requests in flight */
    void (*done)(void *);
    void *done_arg;
};

/* ---- net.c ---- */

uint64_t net_now_ms(const rp_net *net);  /* the loop's monotonic clock */
uint64_t net_wall_ms(void);
uint64_t net_unix_s(void);
void net_log(rp_net *net, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void net_addr_text(const rp_netaddr *a, char *out, size_t cap);
int net_sockaddr_to_netaddr(const struct sockaddr *sa, rp_netaddr *out);
void net_netaddr_to_sockaddr(const rp_netaddr *a, struct sockaddr_storage *ss);
void net_endpoint_netaddr(const rp_endpoint *e, rp_netaddr *out);
uint64_t net_group_hash(const rp_net *net, const unsigned char ip[16]);
int net_routable_group(const unsigned char ip[16]);
int net_hex_id(const rp_pubkey *id, char out[65]);
/* A handle or request of the net is done: the last one frees a stopping net. */
void net_release(rp_net *net);
struct peer *net_peer_find(const rp_net *net, uint64_t id);
/* Make a peer (its TCP handle initialized, its session made); NULL if out
 * of memory. */
struct peer *net_peer_new(rp_net *net, int outbound, const rp_pubkey *expect);
/* Start reading a connected peer. Returns 0 or a libuv error. */
int net_peer_read_start(struct peer *p);
/* Close a peer (logged at level with why); freed once libuv has closed it. */
void net_peer_close(struct peer *p, int level, const char *why);
/* Disconnect and discourage. */
void net_misbehaved(struct peer *p, const char *why);
/* ---- send.c ---- */

int net_send_msg(struct peer *p, const rp_p2p_msg *m);
/* The session's output (rp_session_io.send): queue encrypted bytes on the
 * socket. Takes buf. */
int net_session_send(void *ctx, unsigned char *buf, size_t len);
void net_pump(struct peer *p);
size_t net_count_peers(const rp_net *net, int outbound, int ready_only, int persistent_too);
/* Schedule a persistent target's next attempt (backoff with jitter). */
void net_target_backoff(rp_net *net, struct target *t);

/* ---- dial.c ---- */

void net_on_addr(struct peer *p, const rp_p2p_addr_list *l);
void net_on_getaddr(struct peer *p);
/* Dial persistent peers that are due, then one more outbound peer if
 * there is room (from the book, or from the seeds while it is short). */
void net_dial_more(rp_net *net);
/* The address book: load it from peers_file (or start a fresh one) and
 * save it (atomically). */
void net_load_book(rp_net *net);
int net_save_book(rp_net *net);
/* A dial target from "ID@host:port" (kind T_*). Returns 0 or
 * RP_ERR_INVALID_ARG with err. */
int net_add_target(rp_net *net, int kind, const char *text, char *err, size_t errlen);

#endif /* RP_P2P_NET_IMPL_H */
