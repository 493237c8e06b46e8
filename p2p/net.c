/* The transport and the peer manager (contract in net.h).
 *
 * Every peer is a struct peer with its TCP handle, its session and its
 * counters, in one list. A peer is freed only in its handle's close
 * callback, so a pointer stays valid for the rest of the callback that
 * decided to close it; `closing` says it is on its way out. Dial targets
 * (persistent peers, seeds, peers.add) are kept apart from peers: a target
 * points at the peer it has in flight, a peer at its target.
 *
 * One timer drives the rest every RP_NET_TICK_MS: handshake and ping
 * deadlines, dialing, and saving the address book.
 */
#include "p2p/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "p2p/addrman.h"
#include "p2p/evict.h"

#define RP_NET_TICK_MS 500
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
    size_t queued;
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

/* ---- small helpers --------------------------------------------------------- */

static uint64_t now_ms(const rp_net *net) { return uv_now(net->loop); }

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t unix_s(void) { return wall_ms() / 1000; }

static void nlog(rp_net *net, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void nlog(rp_net *net, int level, const char *event, const char *fmt, ...)
{
    if (!net->h.log)
        return;
    char fields[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof fields, fmt, ap);
    va_end(ap);
    net->h.log(net->h.ctx, level, event, fields);
}

static void addr_text(const rp_netaddr *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (rp_netaddr_is_ipv4(a->ip)) {
        inet_ntop(AF_INET, a->ip + 12, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, (unsigned)a->port);
    } else {
        inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, (unsigned)a->port);
    }
}

static int sockaddr_to_netaddr(const struct sockaddr *sa, rp_netaddr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        rp_netaddr_ipv4(out, (const unsigned char *)&s4->sin_addr, ntohs(s4->sin_port));
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->ip, &s6->sin6_addr, 16);
        out->port = ntohs(s6->sin6_port);
        return 0;
    }
    return -1;
}

static void netaddr_to_sockaddr(const rp_netaddr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (rp_netaddr_is_ipv4(a->ip)) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->ip + 12, 4);
        s4->sin_port = htons(a->port);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip, 16);
        s6->sin6_port = htons(a->port);
    }
}

/* An endpoint with an IP literal as a netaddr. */
static void endpoint_netaddr(const rp_endpoint *e, rp_netaddr *out)
{
    memset(out, 0, sizeof *out);
    if (e->kind == RP_ENDPOINT_IPV4)
        rp_netaddr_ipv4(out, e->ip, e->port);
    else
        memcpy(out->ip, e->ip, 16);
    out->port = e->port;
}

static uint64_t group_hash(const rp_net *net, const unsigned char ip[16])
{
    unsigned char g[RP_NETGROUP_SIZE], h[8];
    rp_netaddr_group(g, ip);
    crypto_shorthash(h, g, sizeof g, (const unsigned char *)&net->group_key);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v;
}

/* Loopback and private addresses are one group each: the book and the
 * one-outbound-per-group rule would allow one peer per devnet. The rule is
 * for the routable internet only. */
static int routable_group(const unsigned char ip[16])
{
    unsigned char g[RP_NETGROUP_SIZE];
    rp_netaddr_group(g, ip);
    return g[0] >= 3;
}

static int hex_id(const rp_pubkey *id, char out[65])
{
    return rp_hex_encode(out, 65, id->bytes, 32);
}

/* ---- peers: lifecycle ------------------------------------------------------ */

static void release(rp_net *net)
{
    if (--net->open_handles == 0 && net->stopping) {
        void (*done)(void *) = net->done;
        void *arg = net->done_arg;
        rp_addrman_free(net->book);
        free(net->msg);
        free(net->peers_file);
        free(net);
        if (done)
            done(arg);
    }
}

static void on_peer_closed(uv_handle_t *h)
{
    struct peer *p = h->data;
    rp_net *net = p->net;
    struct peer **pp = &net->peers;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    rp_session_free(p->sess);
    free(p);
    release(net);
}

static struct peer *peer_find(const rp_net *net, uint64_t id)
{
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->id == id && !p->closing)
            return p;
    return NULL;
}

/* Schedule a persistent target's next attempt: exponential backoff with
 * +-25% jitter. */
static void target_backoff(rp_net *net, struct target *t)
{
    unsigned b = t->backoff_ms ? t->backoff_ms * 2 : RP_NET_BACKOFF_MIN_MS;
    if (b > RP_NET_BACKOFF_MAX_MS)
        b = RP_NET_BACKOFF_MAX_MS;
    t->backoff_ms = b;
    uint32_t r = randombytes_uniform(b / 2 + 1);
    t->next_ms = now_ms(net) + b - b / 4 + r;
}

static void peer_close(struct peer *p, int level, const char *why)
{
    rp_net *net = p->net;
    if (p->closing)
        return;
    p->closing = 1;
    char a[64];
    addr_text(&p->addr, a, sizeof a);
    if (p->ready) {
        char id[65];
        hex_id(&p->hello.node_key, id);
        nlog(net, level, "peer_disconnected", "peer=%llu addr=%s node_id=%s why=\"%s\"",
             (unsigned long long)p->id, a, id, why);
    } else {
        nlog(net, level, "peer_failed", "peer=%llu addr=%s outbound=%d why=\"%s\"",
             (unsigned long long)p->id, a, p->outbound, why);
        net->st.handshakes_failed++;
    }
    if (p->from_book && p->connected)
        rp_addrman_connected(net->book, &p->addr, unix_s());
    if (p->target) {
        struct target *t = p->target;
        t->peer = NULL;
        if (t->kind == T_PERSISTENT)
            target_backoff(net, t);
        else if (t->kind == T_SEED)
            t->next_ms = now_ms(net) + SEED_RETRY_MS;
        else
            t->used = 0; /* a one-time dial is over */
        p->target = NULL;
    }
    if (p->ready && !net->stopping && net->h.gone)
        net->h.gone(net->h.ctx, p->id);
    uv_read_stop((uv_stream_t *)&p->tcp);
    uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
}

static void discourage(rp_net *net, struct peer *p, const char *why)
{
    int exempt = p->target && p->target->kind == T_PERSISTENT;
    uint64_t now = unix_s();
    rp_addrman_discourage(net->book, &p->addr, p->ready ? &p->hello.node_key : NULL,
                          now + RP_ADDRMAN_DISCOURAGE_SECS, exempt, now);
    char a[64];
    addr_text(&p->addr, a, sizeof a);
    nlog(net, 2, "peer_misbehaved", "peer=%llu addr=%s discouraged=%s why=\"%s\"",
         (unsigned long long)p->id, a, exempt ? "no(persistent)" : "24h", why);
    net->st.misbehaved++;
}

/* ---- sending --------------------------------------------------------------- */

struct wreq {
    uv_write_t req;
    struct peer *peer;
    unsigned char *buf;
    size_t len;
};

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct peer *p = w->peer;
    p->queued -= w->len;
    free(w->buf);
    free(w);
    if (status < 0 && !p->closing)
        peer_close(p, 1, status == UV_ECANCELED ? "closed" : uv_strerror(status));
}

/* The session's output: queue bytes on the socket. Takes buf. */
static int session_send(void *ctx, unsigned char *buf, size_t len)
{
    struct peer *p = ctx;
    if (p->closing) {
        free(buf);
        return RP_ERR_INVALID_ARG;
    }
    if (p->queued + len > RP_NET_SEND_QUEUE) {
        free(buf);
        return RP_ERR_BUFFER;
    }
    struct wreq *w = malloc(sizeof *w);
    if (!w) {
        free(buf);
        return RP_ERR_NOMEM;
    }
    w->peer = p;
    w->buf = buf;
    w->len = len;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, on_written);
    if (rc < 0) {
        free(buf);
        free(w);
        return RP_ERR_BUFFER;
    }
    p->queued += len;
    p->bytes_out += len;
    p->net->st.bytes_out += len;
    return 0;
}

static int send_msg(struct peer *p, const rp_p2p_msg *m)
{
    if (p->closing || !p->ready)
        return RP_ERR_INVALID_ARG;
    size_t len;
    int rc = rp_p2p_msg_encode(m, NULL, 0, &len);
    if (rc)
        return rc;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return RP_ERR_NOMEM;
    rc = rp_p2p_msg_encode(m, buf, len, &len);
    if (rc == 0)
        rc = rp_session_send(p->sess, buf, len);
    free(buf);
    if (rc == RP_ERR_BUFFER) {
        peer_close(p, 1, "cannot keep up: its send queue is full");
        return rc;
    }
    if (rc == 0) {
        p->msgs_out++;
        p->net->st.msgs_out++;
    }
    return rc;
}

/* ---- receiving ------------------------------------------------------------- */

static void misbehaved(struct peer *p, const char *why)
{
    if (p->closing)
        return;
    discourage(p->net, p, why);
    peer_close(p, 2, why);
}

/* A message budget: RP_NET_MSG_RATE per second, RP_NET_MSG_BURST at most. */
static int budget_take(struct peer *p, uint64_t now)
{
    if (now > p->tokens_ms) {
        p->tokens += (double)RP_NET_MSG_RATE * (double)(now - p->tokens_ms) / 1000.0;
        if (p->tokens > RP_NET_MSG_BURST)
            p->tokens = RP_NET_MSG_BURST;
        p->tokens_ms = now;
    }
    if (p->tokens < 1.0)
        return 0;
    p->tokens -= 1.0;
    return 1;
}

static void on_addr(struct peer *p, const rp_p2p_addr_list *l)
{
    rp_net *net = p->net;
    if (!p->asked_addr)
        return; /* unsolicited: ignored (counted against the message budget) */
    p->asked_addr = 0;
    uint64_t now = unix_s();
    for (unsigned i = 0; i < l->count; i++) {
        const rp_p2p_addr *e = &l->entries[i];
        rp_netaddr a;
        memset(&a, 0, sizeof a);
        if (e->network == RP_P2P_NET_IPV4)
            rp_netaddr_ipv4(&a, e->ip, e->port);
        else
            memcpy(a.ip, e->ip, 16);
        a.port = e->port;
        uint64_t seen = e->last_seen > RELAYED_AGE_PENALTY ? e->last_seen - RELAYED_AGE_PENALTY : 0;
        if (seen > now)
            seen = now;
        (void)rp_addrman_add(net->book, &a, &e->node_id, seen, p->addr.ip, now);
    }
}

static void on_getaddr(struct peer *p)
{
    rp_net *net = p->net;
    if (p->answered_addr)
        return; /* once per connection */
    p->answered_addr = 1;
    static rp_addrman_entry entries[RP_P2P_MAX_ADDR];
    size_t n = 0;
    rp_addrman_getaddr(net->book, entries, RP_P2P_MAX_ADDR, &n, unix_s());
    rp_p2p_msg *m = net->msg;
    rp_p2p_msg_init(m, RP_P2P_MSG_ADDR);
    for (size_t i = 0; i < n; i++) {
        if (!entries[i].has_id)
            continue;
        rp_p2p_addr *e = &m->body.addr.entries[m->body.addr.count++];
        if (rp_netaddr_is_ipv4(entries[i].addr.ip)) {
            e->network = RP_P2P_NET_IPV4;
            memcpy(e->ip, entries[i].addr.ip + 12, 4);
        } else {
            e->network = RP_P2P_NET_IPV6;
            memcpy(e->ip, entries[i].addr.ip, 16);
        }
        e->port = entries[i].addr.port;
        e->role = RP_P2P_ROLE_FULL;
        e->last_seen = entries[i].last_seen;
        e->node_id = entries[i].id;
    }
    (void)send_msg(p, m);
}

static void on_message(void *ctx, unsigned char *bytes, size_t len)
{
    struct peer *p = ctx;
    rp_net *net = p->net;
    if (p->closing) {
        free(bytes);
        return;
    }
    p->msgs_in++;
    net->st.msgs_in++;
    if (!budget_take(p, now_ms(net))) {
        free(bytes);
        misbehaved(p, "message flood");
        return;
    }
    int cls = len ? rp_p2p_msg_type_class(bytes[0]) : RP_P2P_TYPE_INVALID;
    if (cls == RP_P2P_TYPE_RESERVED) {
        free(bytes);
        return;
    }
    const char *field = NULL;
    rp_p2p_msg *m = net->msg;
    int rc = cls == RP_P2P_TYPE_KNOWN ? rp_p2p_msg_decode(m, bytes, len, &field) : RP_ERR_BAD_TYPE;
    if (rc) {
        char why[160];
        snprintf(why, sizeof why, "an invalid %s message (%s%s%s)",
                 len ? rp_p2p_msg_type_name(bytes[0]) : "empty", rp_strerror(rc),
                 field ? ": " : "", field ? field : "");
        free(bytes);
        /* The reason is copied into the log line before bytes go. */
        misbehaved(p, cls == RP_P2P_TYPE_KNOWN ? why : "a message of an unknown type");
        return;
    }
    switch (m->type) {
    case RP_P2P_MSG_HELLO:
        misbehaved(p, "a HELLO after the handshake");
        break;
    case RP_P2P_MSG_PING: {
        uint64_t nonce = m->body.nonce;
        rp_p2p_msg_pong(m, nonce);
        (void)send_msg(p, m);
        break;
    }
    case RP_P2P_MSG_PONG:
        if (p->ping_nonce && m->body.nonce == p->ping_nonce) {
            uint64_t rtt = (now_ms(net) - p->ping_sent_ms) * 1000;
            p->ping_us = (int64_t)rtt;
            if (rtt < p->min_ping_us)
                p->min_ping_us = rtt;
            p->ping_nonce = 0;
        }
        break;
    case RP_P2P_MSG_GETADDR:
        on_getaddr(p);
        break;
    case RP_P2P_MSG_ADDR:
        on_addr(p, &m->body.addr);
        break;
    default:
        if (net->h.message)
            net->h.message(net->h.ctx, p->id, m);
        break;
    }
    free(bytes);
}

static void info_of(const rp_net *net, const struct peer *p, rp_net_peer_info *o)
{
    memset(o, 0, sizeof *o);
    o->id = p->id;
    o->outbound = p->outbound;
    o->persistent = p->target && p->target->kind == T_PERSISTENT;
    o->ready = p->ready;
    addr_text(&p->addr, o->addr, sizeof o->addr);
    if (p->ready) {
        o->has_node_id = 1;
        o->node_id = p->hello.node_key;
        o->role = p->hello.role;
        memcpy(o->user_agent, p->hello.user_agent, sizeof o->user_agent);
        o->listen_port = p->hello.port;
    }
    o->connected_ms = p->connected_wall_ms;
    o->ping_us = p->ping_us;
    o->bytes_in = p->bytes_in;
    o->bytes_out = p->bytes_out;
    o->msgs_in = p->msgs_in;
    o->msgs_out = p->msgs_out;
    o->send_queued = p->queued;
    o->discouraged = rp_addrman_is_discouraged(net->book, p->addr.ip,
                                               p->ready ? &p->hello.node_key : NULL, unix_s());
}

static void on_ready(void *ctx, const rp_p2p_hello *hello)
{
    struct peer *p = ctx;
    rp_net *net = p->net;
    p->hello = *hello;
    char id[65], a[64];
    hex_id(&hello->node_key, id);
    addr_text(&p->addr, a, sizeof a);
    for (struct peer *q = net->peers; q; q = q->next)
        if (q != p && q->ready && !q->closing &&
            !memcmp(q->hello.node_key.bytes, hello->node_key.bytes, 32)) {
            peer_close(p, 1, "already connected to this node");
            return;
        }
    int persistent = p->target && p->target->kind == T_PERSISTENT;
    uint64_t now = unix_s();
    if (!persistent && rp_addrman_is_discouraged(net->book, NULL, &hello->node_key, now)) {
        peer_close(p, 1, "its node ID is discouraged");
        return;
    }
    p->ready = 1;
    p->next_ping_ms = now_ms(net) + RP_NET_PING_MS;
    if (p->target) {
        p->target->backoff_ms = 0;
        p->target->ep.has_id = 1; /* learned (peers.add without an ID) */
        p->target->ep.id = hello->node_key;
    }
    if (p->outbound)
        (void)rp_addrman_good(net->book, &p->addr, &hello->node_key, now);
    else if (hello->port) {
        /* It says where it listens: the book may offer that to others. */
        rp_netaddr a2 = p->addr;
        a2.port = hello->port;
        (void)rp_addrman_add(net->book, &a2, &hello->node_key, now, p->addr.ip, now);
    }
    nlog(net, 1, "peer_connected",
         "peer=%llu addr=%s node_id=%s direction=%s role=%u port=%u", (unsigned long long)p->id, a,
         id, p->outbound ? "outbound" : "inbound", (unsigned)hello->role, (unsigned)hello->port);
    rp_net_peer_info info;
    info_of(net, p, &info);
    if (net->h.ready)
        net->h.ready(net->h.ctx, p->id, &info);
    if (p->outbound && !p->closing) {
        rp_p2p_msg_init(net->msg, RP_P2P_MSG_GETADDR);
        if (send_msg(p, net->msg) == 0)
            p->asked_addr = 1;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct peer *p = h->data;
    rp_net *net = p->net;
    (void)suggested;
    /* One buffer for every read: the loop handles one read at a time, and
     * the session copies what it keeps. */
    if (net->rbuf_busy) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    net->rbuf_busy = 1;
    buf->base = (char *)net->rbuf;
    buf->len = sizeof net->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct peer *p = s->data;
    rp_net *net = p->net;
    if (buf->base == (char *)net->rbuf)
        net->rbuf_busy = 0;
    if (nread == 0)
        return;
    if (nread < 0) {
        peer_close(p, 1, nread == UV_EOF ? "the peer closed the connection" : uv_strerror((int)nread));
        return;
    }
    p->bytes_in += (uint64_t)nread;
    net->st.bytes_in += (uint64_t)nread;
    size_t off = 0;
    while (off < (size_t)nread && !p->closing) {
        size_t used;
        int rc = rp_session_feed(p->sess, (const unsigned char *)buf->base + off,
                                 (size_t)nread - off, &used);
        off += used;
        if (rc < 0) {
            const char *why = rp_session_why(p->sess);
            if (!why)
                why = "session failed";
            /* A protocol violation is misbehaviour; a full send queue, a
             * node that is not the one dialed, or ourselves are not. */
            if (rc == RP_ERR_BUFFER || rc == RP_ERR_INVALID_ARG || rc == RP_ERR_BAD_KEY ||
                rc == RP_ERR_NOMEM)
                peer_close(p, 2, why);
            else
                misbehaved(p, why);
            return;
        }
        if (used == 0 && off < (size_t)nread)
            break; /* cannot happen: feed consumes or fails */
    }
}

/* Make a peer for a TCP handle that is ready to be initialized. */
static struct peer *peer_new(rp_net *net, int outbound, const rp_pubkey *expect)
{
    struct peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->net = net;
    p->id = ++net->next_id;
    p->outbound = outbound;
    p->start_ms = now_ms(net);
    p->connected_wall_ms = wall_ms();
    p->ping_us = -1;
    p->min_ping_us = UINT64_MAX;
    p->tokens = RP_NET_MSG_BURST;
    p->tokens_ms = now_ms(net);
    if (expect) {
        p->has_expect = 1;
        p->expect = *expect;
    }
    rp_session_io io = {p, session_send, on_ready, on_message};
    if (rp_session_new(&p->sess, net->local, outbound, expect, &io) != 0) {
        free(p);
        return NULL;
    }
    if (uv_tcp_init(net->loop, &p->tcp) != 0) {
        rp_session_free(p->sess);
        free(p);
        return NULL;
    }
    p->tcp.data = p;
    net->open_handles++;
    p->next = net->peers;
    net->peers = p;
    return p;
}

/* ---- inbound --------------------------------------------------------------- */

static size_t count_peers(const rp_net *net, int outbound, int ready_only, int persistent_too)
{
    size_t n = 0;
    for (const struct peer *p = net->peers; p; p = p->next) {
        if (p->closing || p->outbound != outbound || (ready_only && !p->ready))
            continue;
        if (!persistent_too && p->target && p->target->kind == T_PERSISTENT)
            continue;
        n++;
    }
    return n;
}

/* Make room for one more inbound peer. Returns 1 if there is room. */
static int inbound_room(rp_net *net)
{
    size_t ready = count_peers(net, 0, 1, 1), all = count_peers(net, 0, 0, 1);
    if (all - ready >= RP_NET_PENDING_INBOUND)
        return 0; /* too many handshakes at once */
    if (ready < net->max_inbound)
        return 1;
    rp_evict_candidate *c = calloc(ready ? ready : 1, sizeof *c);
    if (!c)
        return 0;
    size_t n = 0;
    uint64_t now = unix_s();
    for (struct peer *p = net->peers; p; p = p->next) {
        if (p->closing || p->outbound || !p->ready || (p->target && p->target->kind == T_PERSISTENT))
            continue;
        rp_evict_candidate *e = &c[n++];
        e->peer = p->id;
        e->group_hash = group_hash(net, p->addr.ip);
        e->connected_ms = p->start_ms;
        e->min_ping_us = p->min_ping_us;
        e->last_block_ms = p->last_block_ms;
        e->last_record_ms = p->last_record_ms;
        e->discouraged = rp_addrman_is_discouraged(net->book, p->addr.ip, &p->hello.node_key, now);
    }
    uint64_t victim;
    int found = rp_evict_select(c, n, &victim);
    free(c);
    if (!found)
        return 0;
    struct peer *v = peer_find(net, victim);
    if (v) {
        net->st.evicted++;
        peer_close(v, 1, "evicted to make room for a new inbound peer");
    }
    return 1;
}

static void on_connection(uv_stream_t *server, int status)
{
    rp_net *net = server->data;
    if (status < 0 || net->stopping)
        return;
    struct peer *p = peer_new(net, 0, NULL);
    if (!p) {
        uv_tcp_t tmp; /* accept and drop, so the backlog does not fill */
        if (uv_tcp_init(net->loop, &tmp) == 0) {
            (void)uv_accept(server, (uv_stream_t *)&tmp);
            uv_close((uv_handle_t *)&tmp, NULL);
        }
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0) {
        peer_close(p, 0, "accept failed");
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &sl) != 0 ||
        sockaddr_to_netaddr((struct sockaddr *)&ss, &p->addr) != 0) {
        peer_close(p, 0, "no peer address");
        return;
    }
    p->connected = 1;
    net->st.accepted++;
    if (net->max_inbound == 0 || !inbound_room(net)) {
        peer_close(p, 1, "inbound slots full");
        return;
    }
    uv_tcp_nodelay(&p->tcp, 1);
    if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0)
        peer_close(p, 1, "cannot read");
}

/* ---- outbound -------------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
    struct peer *p = req->data;
    if (p->closing)
        return;
    if (status < 0) {
        if (p->from_book)
            rp_addrman_attempt(p->net->book, &p->addr, 1, unix_s());
        peer_close(p, 1, uv_strerror(status));
        return;
    }
    p->connected = 1;
    uv_tcp_nodelay(&p->tcp, 1);
    if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0 ||
        rp_session_start(p->sess) != 0)
        peer_close(p, 1, "cannot start the handshake");
}

/* Dial an address. Returns the peer, or NULL. */
static struct peer *dial_addr(rp_net *net, const rp_netaddr *a, const rp_pubkey *expect,
                              struct target *t, int from_book)
{
    struct peer *p = peer_new(net, 1, expect);
    if (!p)
        return NULL;
    p->addr = *a;
    p->from_book = from_book;
    p->target = t;
    if (t)
        t->peer = p;
    net->st.dialed++;
    struct sockaddr_storage ss;
    netaddr_to_sockaddr(a, &ss);
    p->connect.data = p;
    int rc = uv_tcp_connect(&p->connect, &p->tcp, (const struct sockaddr *)&ss, on_connected);
    if (rc != 0) {
        peer_close(p, 1, uv_strerror(rc));
        return NULL;
    }
    return p;
}

struct resolve {
    uv_getaddrinfo_t req;
    rp_net *net;
    struct target *t;
};

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = req->data;
    rp_net *net = r->net;
    struct target *t = r->t;
    t->next_ms = now_ms(net); /* the lookup is over */
    if (!net->stopping && t->used && t->peer == NULL) {
        rp_netaddr a;
        if (status == 0 && res && sockaddr_to_netaddr(res->ai_addr, &a) == 0) {
            a.port = t->ep.port;
            dial_addr(net, &a, t->ep.has_id ? &t->ep.id : NULL, t, 0);
        } else {
            nlog(net, 2, "peer_resolve_failed", "host=%s why=\"%s\"", t->ep.host,
                 status ? uv_strerror(status) : "no address");
            if (t->kind == T_PERSISTENT)
                target_backoff(net, t);
            else if (t->kind == T_SEED)
                t->next_ms = now_ms(net) + SEED_RETRY_MS;
            else
                t->used = 0;
        }
    }
    if (res)
        uv_freeaddrinfo(res);
    free(r);
    release(net);
}

static int resolving(const struct target *t)
{
    return t->next_ms == UINT64_MAX; /* marks a lookup in flight */
}

static void dial_target(rp_net *net, struct target *t)
{
    if (t->ep.kind != RP_ENDPOINT_NAME) {
        rp_netaddr a;
        endpoint_netaddr(&t->ep, &a);
        if (!dial_addr(net, &a, t->ep.has_id ? &t->ep.id : NULL, t, 0) && t->kind == T_PERSISTENT)
            target_backoff(net, t);
        return;
    }
    struct resolve *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->net = net;
    r->t = t;
    r->req.data = r;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)t->ep.port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (uv_getaddrinfo(net->loop, &r->req, on_resolved, t->ep.host, port, &hints) != 0) {
        free(r);
        target_backoff(net, t);
        return;
    }
    net->open_handles++;
    t->next_ms = UINT64_MAX; /* until the lookup ends (on_resolved sets it) */
}

struct skip_ctx {
    rp_net *net;
};

/* Skip book entries we are connected to, dialing, or (on the routable
 * internet) share an outbound peer's network group with. */
static int skip_entry(void *ctx, const rp_addrman_entry *e)
{
    rp_net *net = ((struct skip_ctx *)ctx)->net;
    unsigned char g[RP_NETGROUP_SIZE], h[RP_NETGROUP_SIZE];
    rp_netaddr_group(g, e->addr.ip);
    for (const struct peer *p = net->peers; p; p = p->next) {
        if (p->closing)
            continue;
        if (!memcmp(p->addr.ip, e->addr.ip, 16) && p->addr.port == e->addr.port)
            return 1;
        if (e->has_id && p->ready && !memcmp(p->hello.node_key.bytes, e->id.bytes, 32))
            return 1;
        if (p->outbound && routable_group(e->addr.ip)) {
            rp_netaddr_group(h, p->addr.ip);
            if (!memcmp(g, h, sizeof g))
                return 1;
        }
    }
    if (e->has_id && !memcmp(e->id.bytes, net->local->hello.node_key.bytes, 32))
        return 1; /* ourselves */
    return 0;
}

static void dial_more(rp_net *net)
{
    uint64_t now = now_ms(net);
    for (size_t i = 0; i < MAX_TARGETS; i++) {
        struct target *t = &net->targets[i];
        if (t->used && t->kind != T_SEED && !t->peer && !resolving(t) && t->next_ms <= now)
            dial_target(net, t);
    }
    size_t out = count_peers(net, 1, 0, 0);
    /* One new outbound connection per tick at most: a burst of dials to
     * addresses gossiped by one peer is what an eclipse attack wants. */
    if (out >= net->max_outbound)
        return;
    size_t n_new, n_tried;
    rp_addrman_size(net->book, &n_new, &n_tried);
    rp_addrman_entry e;
    struct skip_ctx sc = {net};
    if (rp_addrman_select(net->book, 0, skip_entry, &sc, unix_s(), &e) == 1) {
        rp_addrman_attempt(net->book, &e.addr, 0, unix_s());
        dial_addr(net, &e.addr, e.has_id ? &e.id : NULL, NULL, 1);
        return;
    }
    if (n_new + n_tried >= BOOK_LOW)
        return;
    for (size_t i = 0; i < MAX_TARGETS; i++) {
        struct target *t = &net->targets[i];
        if (t->used && t->kind == T_SEED && !t->peer && !resolving(t) && t->next_ms <= now) {
            dial_target(net, t);
            return;
        }
    }
}

/* ---- the tick -------------------------------------------------------------- */

static int save_book(rp_net *net)
{
    if (!net->peers_file)
        return 0;
    size_t len;
    if (rp_addrman_save(net->book, NULL, 0, &len) != 0)
        return -1;
    unsigned char *buf = malloc(len);
    if (!buf)
        return -1;
    int rc = rp_addrman_save(net->book, buf, len, &len);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", net->peers_file);
    int fd = rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    size_t off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(buf);
    int ok = fd >= 0 && off == len && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, net->peers_file) != 0) {
        nlog(net, 2, "peers_save_failed", "path=%s why=\"%s\"", net->peers_file, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void on_tick(uv_timer_t *t)
{
    rp_net *net = t->data;
    uint64_t now = now_ms(net);
    for (struct peer *p = net->peers, *next; p; p = next) {
        next = p->next;
        if (p->closing)
            continue;
        if (!p->ready) {
            if (now - p->start_ms > RP_NET_HANDSHAKE_MS)
                peer_close(p, 1, p->connected ? "handshake timed out" : "connect timed out");
            continue;
        }
        if (p->ping_nonce && now - p->ping_sent_ms > RP_NET_PING_TIMEOUT_MS) {
            peer_close(p, 1, "ping timed out");
            continue;
        }
        if (!p->ping_nonce && now >= p->next_ping_ms) {
            uint64_t nonce;
            randombytes_buf(&nonce, sizeof nonce);
            nonce |= 1;
            rp_p2p_msg_ping(net->msg, nonce);
            if (send_msg(p, net->msg) == 0) {
                p->ping_nonce = nonce;
                p->ping_sent_ms = now;
                p->next_ping_ms = now + RP_NET_PING_MS;
            }
        }
    }
    dial_more(net);
    (void)rp_addrman_resolve_collisions(net->book, unix_s());
    if (now - net->last_save_ms >= RP_NET_SAVE_MS) {
        net->last_save_ms = now;
        save_book(net);
    }
}

/* ---- start and stop -------------------------------------------------------- */

static void load_book(rp_net *net)
{
    unsigned char key[32], seed[32];
    randombytes_buf(seed, sizeof seed);
    if (net->peers_file) {
        int fd = open(net->peers_file, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            (size_t)st.st_size <= RP_ADDRMAN_MAX_FILE_SIZE) {
            unsigned char *buf = malloc((size_t)st.st_size + 1);
            size_t len = 0;
            while (buf && len < (size_t)st.st_size) {
                ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                len += (size_t)r;
            }
            const char *field = NULL;
            int rc = buf && len == (size_t)st.st_size
                         ? rp_addrman_load(&net->book, buf, len, seed, &field)
                         : RP_ERR_TRUNCATED;
            free(buf);
            if (rc == 0) {
                size_t nn, nt;
                rp_addrman_size(net->book, &nn, &nt);
                nlog(net, 1, "peers_loaded", "path=%s new=%zu tried=%zu", net->peers_file, nn, nt);
            } else {
                char bad[4200];
                snprintf(bad, sizeof bad, "%s.bad", net->peers_file);
                rename(net->peers_file, bad);
                nlog(net, 2, "peers_file_invalid", "path=%s moved_to=%s why=\"%s%s%s\"",
                     net->peers_file, bad, rp_strerror(rc), field ? ": " : "",
                     field ? field : "");
            }
        }
        if (fd >= 0)
            close(fd);
    }
    if (!net->book) {
        randombytes_buf(key, sizeof key);
        key[0] |= 1; /* never all zero */
        if (rp_addrman_new(&net->book, key, seed) != 0)
            net->book = NULL;
        sodium_memzero(key, sizeof key);
    }
}

static int add_target(rp_net *net, int kind, const char *text, char *err, size_t errlen)
{
    rp_endpoint e;
    const char *why;
    if (rp_endpoint_parse(&e, text, kind == T_ONCE ? 0 : 1, 0, &why) != 0) {
        snprintf(err, errlen, "'%s': %s", text, why);
        return RP_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < MAX_TARGETS; i++) {
        struct target *t = &net->targets[i];
        if (t->used && !strcmp(t->ep.host, e.host) && t->ep.port == e.port) {
            if (kind == T_PERSISTENT)
                t->kind = T_PERSISTENT; /* promoted */
            return 0;
        }
    }
    for (size_t i = 0; i < MAX_TARGETS; i++) {
        struct target *t = &net->targets[i];
        if (t->used)
            continue;
        memset(t, 0, sizeof *t);
        t->used = 1;
        t->kind = kind;
        t->ep = e;
        t->next_ms = 0;
        if (kind == T_SEED && e.kind != RP_ENDPOINT_NAME) {
            rp_netaddr a;
            endpoint_netaddr(&e, &a);
            uint64_t now = unix_s();
            (void)rp_addrman_add(net->book, &a, &e.id, now, a.ip, now);
        }
        return 0;
    }
    snprintf(err, errlen, "too many peers to dial (at most %d)", MAX_TARGETS);
    return RP_ERR_INVALID_ARG;
}

int rp_net_start(rp_net **out, uv_loop_t *loop, const rp_net_config *cfg,
                 const rp_net_handler *h, char *err, size_t errlen)
{
    *out = NULL;
    rp_net *net = calloc(1, sizeof *net);
    if (!net || !(net->msg = calloc(1, sizeof *net->msg))) {
        free(net);
        snprintf(err, errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    net->loop = loop;
    net->h = *h;
    net->local = cfg->local;
    net->max_outbound = cfg->max_outbound;
    net->max_inbound = cfg->max_inbound;
    randombytes_buf(&net->group_key, sizeof net->group_key);
    if (cfg->peers_file && !(net->peers_file = strdup(cfg->peers_file))) {
        free(net->msg);
        free(net);
        snprintf(err, errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    load_book(net);
    int rc = net->book ? 0 : RP_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < cfg->npersistent; i++)
        rc = add_target(net, T_PERSISTENT, cfg->persistent[i], err, errlen);
    for (size_t i = 0; rc == 0 && i < cfg->nseeds; i++)
        rc = add_target(net, T_SEED, cfg->seeds[i], err, errlen);
    if (rc) {
        rp_addrman_free(net->book);
        free(net->msg);
        free(net->peers_file);
        free(net);
        return rc;
    }
    uv_timer_init(loop, &net->timer);
    net->timer.data = net;
    net->open_handles++;
    if (cfg->listen && cfg->listen[0]) {
        rp_endpoint e;
        const char *why;
        struct sockaddr_storage ss;
        rc = rp_endpoint_parse(&e, cfg->listen, -1, 1, &why);
        if (rc == 0 && e.kind == RP_ENDPOINT_NAME) {
            why = "listen on an IP address, not a name";
            rc = RP_ERR_INVALID_ARG;
        }
        if (rc == 0) {
            rp_netaddr a;
            endpoint_netaddr(&e, &a);
            netaddr_to_sockaddr(&a, &ss);
            uv_tcp_init(loop, &net->listener);
            net->listener.data = net;
            net->open_handles++;
            net->listening = 1;
            rc = uv_tcp_bind(&net->listener, (const struct sockaddr *)&ss, 0);
            if (rc == 0)
                rc = uv_listen((uv_stream_t *)&net->listener, 128, on_connection);
            if (rc == 0) {
                int sl = sizeof ss;
                rp_netaddr bound;
                if (uv_tcp_getsockname(&net->listener, (struct sockaddr *)&ss, &sl) == 0 &&
                    sockaddr_to_netaddr((struct sockaddr *)&ss, &bound) == 0)
                    net->port = bound.port;
            } else {
                snprintf(err, errlen, "cannot listen on %s: %s (set [p2p] listen)", cfg->listen,
                         uv_strerror(rc));
            }
        } else {
            snprintf(err, errlen, "[p2p] listen '%s': %s", cfg->listen, why);
            rc = RP_ERR_INVALID_ARG;
        }
        if (rc) {
            rp_net_stop(net, NULL, NULL);
            return rc;
        }
    }
    uv_timer_start(&net->timer, on_tick, 50, RP_NET_TICK_MS);
    net->last_save_ms = now_ms(net);
    *out = net;
    return 0;
}

static void on_handle_closed(uv_handle_t *h) { release(h->data); }

void rp_net_stop(rp_net *net, void (*done)(void *arg), void *arg)
{
    if (!net)
        return;
    net->stopping = 1;
    net->done = done;
    net->done_arg = arg;
    save_book(net);
    for (struct peer *p = net->peers; p; p = p->next)
        peer_close(p, 0, "the node is stopping");
    if (net->listening)
        uv_close((uv_handle_t *)&net->listener, on_handle_closed);
    uv_close((uv_handle_t *)&net->timer, on_handle_closed);
}

/* ---- the node's calls ------------------------------------------------------ */

uint16_t rp_net_port(const rp_net *net) { return net->port; }

int rp_net_send(rp_net *net, uint64_t peer, const rp_p2p_msg *m)
{
    struct peer *p = peer_find(net, peer);
    if (!p || !p->ready)
        return RP_ERR_INVALID_ARG;
    return send_msg(p, m);
}

void rp_net_broadcast(rp_net *net, const rp_p2p_msg *m)
{
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->ready && !p->closing)
            (void)send_msg(p, m);
}

size_t rp_net_send_room(const rp_net *net, uint64_t peer)
{
    const struct peer *p = peer_find(net, peer);
    return p && p->queued < RP_NET_SEND_QUEUE ? RP_NET_SEND_QUEUE - p->queued : 0;
}

void rp_net_misbehaved(rp_net *net, uint64_t peer, const char *why)
{
    struct peer *p = peer_find(net, peer);
    if (p)
        misbehaved(p, why);
}

void rp_net_disconnect(rp_net *net, uint64_t peer, const char *why)
{
    struct peer *p = peer_find(net, peer);
    if (p)
        peer_close(p, 1, why);
}

void rp_net_useful(rp_net *net, uint64_t peer, int what)
{
    struct peer *p = peer_find(net, peer);
    if (!p)
        return;
    if (what == 1)
        p->last_block_ms = now_ms(net);
    else
        p->last_record_ms = now_ms(net);
}

int rp_net_add(rp_net *net, const char *endpoint, int persistent, char *err, size_t errlen)
{
    return add_target(net, persistent ? T_PERSISTENT : T_ONCE, endpoint, err, errlen);
}

/* Parse a ban target: a node ID (64 hex) or an IP address. */
static int parse_who(const char *who, int *kind, unsigned char value[32], char *err, size_t errlen)
{
    memset(value, 0, 32);
    if (strlen(who) == 64 && rp_hex_decode(value, 32, who, 64) == 0) {
        *kind = RP_ADDRMAN_DISC_ID;
        return 0;
    }
    unsigned char v4[4];
    if (inet_pton(AF_INET, who, v4) == 1) {
        rp_netaddr a;
        rp_netaddr_ipv4(&a, v4, 0);
        memcpy(value, a.ip, 16);
        *kind = RP_ADDRMAN_DISC_IP;
        return 0;
    }
    if (inet_pton(AF_INET6, who, value) == 1) {
        *kind = RP_ADDRMAN_DISC_IP;
        return 0;
    }
    snprintf(err, errlen, "'%.80s' is neither a node ID (64 hex digits) nor an IP address", who);
    return RP_ERR_INVALID_ARG;
}

int rp_net_ban(rp_net *net, const char *who, uint64_t secs, char *err, size_t errlen)
{
    int kind;
    unsigned char v[32];
    if (parse_who(who, &kind, v, err, errlen) != 0)
        return RP_ERR_INVALID_ARG;
    uint64_t now = unix_s();
    rp_netaddr a;
    rp_pubkey id;
    memset(&a, 0, sizeof a);
    memcpy(a.ip, v, 16);
    memcpy(id.bytes, v, 32);
    int rc = rp_addrman_discourage(net->book, kind == RP_ADDRMAN_DISC_IP ? &a : NULL,
                                   kind == RP_ADDRMAN_DISC_ID ? &id : NULL, now + secs, 0, now);
    if (rc < 0) {
        snprintf(err, errlen, "cannot ban %s: %s", who, rp_strerror(rc));
        return RP_ERR_INVALID_ARG;
    }
    int n = 0;
    for (struct peer *p = net->peers; p; p = p->next) {
        if (p->closing)
            continue;
        if ((kind == RP_ADDRMAN_DISC_IP && !memcmp(p->addr.ip, v, 16)) ||
            (kind == RP_ADDRMAN_DISC_ID && p->ready && !memcmp(p->hello.node_key.bytes, v, 32))) {
            peer_close(p, 1, "banned by the operator");
            n++;
        }
    }
    nlog(net, 1, "peer_banned", "who=%s secs=%llu disconnected=%d", who, (unsigned long long)secs,
         n);
    return n;
}

int rp_net_unban(rp_net *net, const char *who, char *err, size_t errlen)
{
    int kind;
    unsigned char v[32];
    if (parse_who(who, &kind, v, err, errlen) != 0)
        return RP_ERR_INVALID_ARG;
    return rp_addrman_undiscourage(net->book, kind, v);
}

size_t rp_net_peers(const rp_net *net, rp_net_peer_info *out, size_t cap)
{
    size_t n = 0;
    for (const struct peer *p = net->peers; p; p = p->next) {
        if (p->closing)
            continue;
        if (n < cap)
            info_of(net, p, &out[n]);
        n++;
    }
    return n;
}

int rp_net_peer(const rp_net *net, uint64_t peer, rp_net_peer_info *out)
{
    const struct peer *p = peer_find(net, peer);
    if (!p)
        return 0;
    info_of(net, p, out);
    return 1;
}

void rp_net_stats_get(const rp_net *net, rp_net_stats *st)
{
    *st = net->st;
    st->inbound = count_peers(net, 0, 1, 1);
    st->outbound = count_peers(net, 1, 1, 1);
    st->handshaking = 0;
    for (const struct peer *p = net->peers; p; p = p->next)
        st->handshaking += !p->closing && !p->ready;
    rp_addrman_size(net->book, &st->book_new, &st->book_tried);
    st->discouraged = rp_addrman_discouragements(net->book, NULL, 0);
}
