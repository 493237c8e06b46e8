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
#include "p2p/net_impl.h"

/* ---- small helpers --------------------------------------------------------- */

uint64_t net_now_ms(const rp_net *net) { return uv_now(net->loop); }

uint64_t net_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t net_unix_s(void) { return net_wall_ms() / 1000; }

void net_log(rp_net *net, int level, const char *event, const char *fmt, ...)
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

void net_addr_text(const rp_netaddr *a, char *out, size_t cap)
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

int net_sockaddr_to_netaddr(const struct sockaddr *sa, rp_netaddr *out)
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

void net_netaddr_to_sockaddr(const rp_netaddr *a, struct sockaddr_storage *ss)
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
void net_endpoint_netaddr(const rp_endpoint *e, rp_netaddr *out)
{
    memset(out, 0, sizeof *out);
    if (e->kind == RP_ENDPOINT_IPV4)
        rp_netaddr_ipv4(out, e->ip, e->port);
    else
        memcpy(out->ip, e->ip, 16);
    out->port = e->port;
}

uint64_t net_group_hash(const rp_net *net, const unsigned char ip[16])
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
int net_routable_group(const unsigned char ip[16])
{
    unsigned char g[RP_NETGROUP_SIZE];
    rp_netaddr_group(g, ip);
    return g[0] >= 3;
}

int net_hex_id(const rp_pubkey *id, char out[65])
{
    return rp_hex_encode(out, 65, id->bytes, 32);
}

/* ---- peers: lifecycle ------------------------------------------------------ */

void net_release(rp_net *net)
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
    /* The node hears of it only now, in a callback of its own: the close
     * may have been decided inside one of the node's engines (gossip,
     * sync), which must not be re-entered. */
    if (p->ready && !net->stopping && net->h.gone)
        net->h.gone(net->h.ctx, p->id);
    struct peer **pp = &net->peers;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    for (int c = 0; c < 2; c++)
        while (p->q_head[c]) {
            struct outmsg *m = p->q_head[c];
            p->q_head[c] = m->next;
            free(m);
        }
    rp_session_free(p->sess);
    free(p);
    net_release(net);
}

struct peer *net_peer_find(const rp_net *net, uint64_t id)
{
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->id == id && !p->closing)
            return p;
    return NULL;
}

/* Schedule a persistent target's next attempt: exponential backoff with
 * +-25% jitter. */
void net_target_backoff(rp_net *net, struct target *t)
{
    unsigned b = t->backoff_ms ? t->backoff_ms * 2 : RP_NET_BACKOFF_MIN_MS;
    if (b > RP_NET_BACKOFF_MAX_MS)
        b = RP_NET_BACKOFF_MAX_MS;
    t->backoff_ms = b;
    uint32_t r = randombytes_uniform(b / 2 + 1);
    t->next_ms = net_now_ms(net) + b - b / 4 + r;
}

void net_peer_close(struct peer *p, int level, const char *why)
{
    rp_net *net = p->net;
    if (p->closing)
        return;
    p->closing = 1;
    char a[64];
    net_addr_text(&p->addr, a, sizeof a);
    if (p->ready) {
        char id[65];
        net_hex_id(&p->hello.node_key, id);
        net_log(net, level, "peer_disconnected", "peer=%llu addr=%s node_id=%s why=\"%s\"",
             (unsigned long long)p->id, a, id, why);
    } else {
        net_log(net, level, "peer_failed", "peer=%llu addr=%s outbound=%d why=\"%s\"",
             (unsigned long long)p->id, a, p->outbound, why);
        net->st.handshakes_failed++;
    }
    if (p->from_book && p->connected)
        rp_addrman_connected(net->book, &p->addr, net_unix_s());
    if (p->target) {
        struct target *t = p->target;
        t->peer = NULL;
        if (t->kind == T_PERSISTENT)
            net_target_backoff(net, t);
        else if (t->kind == T_SEED)
            t->next_ms = net_now_ms(net) + SEED_RETRY_MS;
        else
            t->used = 0; /* a one-time dial is over */
        p->target = NULL;
    }
    uv_read_stop((uv_stream_t *)&p->tcp);
    uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
}

/* Discourage a misbehaving peer's IP and node ID for a day. On loopback
 * every local process shares one address, so there it is the node ID only
 * (and nothing, before the handshake named one). */
static void discourage(rp_net *net, struct peer *p, const char *why)
{
    int exempt = p->target && p->target->kind == T_PERSISTENT;
    unsigned char g[RP_NETGROUP_SIZE];
    rp_netaddr_group(g, p->addr.ip);
    int loopback = g[0] == 1;
    const rp_pubkey *id = p->ready ? &p->hello.node_key : NULL;
    uint64_t now = net_unix_s();
    const char *what = exempt ? "no(persistent)" : "24h";
    if (!exempt && loopback && !id)
        what = "no(loopback, no node ID yet)";
    else if (!exempt)
        rp_addrman_discourage(net->book, loopback ? NULL : &p->addr, id,
                              now + RP_ADDRMAN_DISCOURAGE_SECS, 0, now);
    char a[64];
    net_addr_text(&p->addr, a, sizeof a);
    net_log(net, 2, "peer_misbehaved", "peer=%llu addr=%s discouraged=%s why=\"%s\"",
            (unsigned long long)p->id, a, what, why);
    net->st.misbehaved++;
}

/* ---- receiving ------------------------------------------------------------- */

void net_misbehaved(struct peer *p, const char *why)
{
    if (p->closing)
        return;
    discourage(p->net, p, why);
    net_peer_close(p, 2, why);
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
    if (!budget_take(p, net_now_ms(net))) {
        free(bytes);
        net_misbehaved(p, "message flood");
        return;
    }
    int cls = len ? rp_p2p_msg_type_class(bytes[0]) : RP_P2P_TYPE_INVALID;
    if (cls == RP_P2P_TYPE_RESERVED) {
        /* Consensus messages: the node decodes them (consensus/wire.h). */
        if (net->h.consensus)
            net->h.consensus(net->h.ctx, p->id, bytes, len);
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
        net_misbehaved(p, cls == RP_P2P_TYPE_KNOWN ? why : "a message of an unknown type");
        return;
    }
    switch (m->type) {
    case RP_P2P_MSG_HELLO:
        net_misbehaved(p, "a HELLO after the handshake");
        break;
    case RP_P2P_MSG_PING: {
        uint64_t nonce = m->body.nonce;
        rp_p2p_msg_pong(m, nonce);
        (void)net_send_msg(p, m);
        break;
    }
    case RP_P2P_MSG_PONG:
        if (p->ping_nonce && m->body.nonce == p->ping_nonce) {
            uint64_t rtt = (net_now_ms(net) - p->ping_sent_ms) * 1000;
            p->ping_us = (int64_t)rtt;
            if (rtt < p->min_ping_us)
                p->min_ping_us = rtt;
            p->ping_nonce = 0;
        }
        break;
    case RP_P2P_MSG_GETADDR:
        net_on_getaddr(p);
        break;
    case RP_P2P_MSG_ADDR:
        net_on_addr(p, &m->body.addr);
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
    net_addr_text(&p->addr, o->addr, sizeof o->addr);
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
    o->send_queued = p->queued + p->plain;
    o->discouraged = rp_addrman_is_discouraged(net->book, p->addr.ip,
                                               p->ready ? &p->hello.node_key : NULL, net_unix_s());
}

static void on_ready(void *ctx, const rp_p2p_hello *hello)
{
    struct peer *p = ctx;
    rp_net *net = p->net;
    p->hello = *hello;
    char id[65], a[64];
    net_hex_id(&hello->node_key, id);
    net_addr_text(&p->addr, a, sizeof a);
    for (struct peer *q = net->peers; q; q = q->next) {
        if (q == p || !q->ready || q->closing ||
            memcmp(q->hello.node_key.bytes, hello->node_key.bytes, 32) != 0)
            continue;
        /* Two connections to one node (both dialed at once): both ends
         * keep the one dialed by the lower node ID, so they agree. */
        int mine_lower = memcmp(net->local->hello.node_key.bytes, hello->node_key.bytes, 32) < 0;
        int keep_new = p->outbound == mine_lower;
        if (!keep_new) {
            if (p->target && !q->target) { /* the kept connection serves the target */
                q->target = p->target;
                q->target->peer = q;
                q->target->backoff_ms = 0;
                p->target = NULL;
            }
            net_peer_close(p, 1, "already connected to this node");
            return;
        }
        if (q->target && !p->target) { /* the kept connection serves the target */
            p->target = q->target;
            p->target->peer = p;
            q->target = NULL;
        }
        net_peer_close(q, 1, "connected twice: the other connection stays");
        break;
    }
    /* An inbound connection from a persistent peer serves as its
     * connection: no second one is dialed, and it is never evicted. */
    if (!p->outbound && !p->target)
        for (size_t i = 0; i < MAX_TARGETS; i++) {
            struct target *t = &net->targets[i];
            if (t->used && t->kind == T_PERSISTENT && t->ep.has_id && !t->peer &&
                !memcmp(t->ep.id.bytes, hello->node_key.bytes, 32)) {
                t->peer = p;
                p->target = t;
                break;
            }
        }
    int persistent = p->target && p->target->kind == T_PERSISTENT;
    uint64_t now = net_unix_s();
    if (!persistent && rp_addrman_is_discouraged(net->book, NULL, &hello->node_key, now)) {
        net_peer_close(p, 1, "its node ID is discouraged");
        return;
    }
    p->ready = 1;
    p->next_ping_ms = net_now_ms(net) + RP_NET_PING_MS;
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
    net_log(net, 1, "peer_connected",
         "peer=%llu addr=%s node_id=%s direction=%s role=%u port=%u", (unsigned long long)p->id, a,
         id, p->outbound ? "outbound" : "inbound", (unsigned)hello->role, (unsigned)hello->port);
    rp_net_peer_info info;
    info_of(net, p, &info);
    if (net->h.ready)
        net->h.ready(net->h.ctx, p->id, &info);
    if (p->outbound && !p->closing) {
        rp_p2p_msg_init(net->msg, RP_P2P_MSG_GETADDR);
        if (net_send_msg(p, net->msg) == 0)
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
        net_peer_close(p, 1, nread == UV_EOF ? "the peer closed the connection" : uv_strerror((int)nread));
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
                net_peer_close(p, 2, why);
            else
                net_misbehaved(p, why);
            return;
        }
        if (used == 0 && off < (size_t)nread)
            break; /* cannot happen: feed consumes or fails */
    }
}

int net_peer_read_start(struct peer *p)
{
    uv_tcp_nodelay(&p->tcp, 1);
    return uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

/* Make a peer for a TCP handle that is ready to be initialized. */
struct peer *net_peer_new(rp_net *net, int outbound, const rp_pubkey *expect)
{
    struct peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->net = net;
    p->id = ++net->next_id;
    p->outbound = outbound;
    p->start_ms = net_now_ms(net);
    p->connected_wall_ms = net_wall_ms();
    p->ping_us = -1;
    p->min_ping_us = UINT64_MAX;
    p->tokens = RP_NET_MSG_BURST;
    p->tokens_ms = net_now_ms(net);
    if (expect) {
        p->has_expect = 1;
        p->expect = *expect;
    }
    rp_session_io io = {p, net_session_send, on_ready, on_message};
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

size_t net_count_peers(const rp_net *net, int outbound, int ready_only, int persistent_too)
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
static int inbound_room(rp_net *net, const struct peer *newcomer)
{
    /* Handshakes in progress: when one address has too many, or there are
     * too many in all, the oldest (of that address, or of all) gives way,
     * so idle sockets cannot keep the node closed to everyone else. */
    size_t same_ip = 0, pending = 0;
    struct peer *oldest = NULL, *oldest_same = NULL;
    for (struct peer *p = net->peers; p; p = p->next) {
        if (p == newcomer || p->closing || p->outbound || p->ready)
            continue;
        pending++;
        if (!oldest || p->start_ms < oldest->start_ms)
            oldest = p;
        if (!memcmp(p->addr.ip, newcomer->addr.ip, 16)) {
            same_ip++;
            if (!oldest_same || p->start_ms < oldest_same->start_ms)
                oldest_same = p;
        }
    }
    if (same_ip >= RP_NET_PENDING_PER_IP && oldest_same)
        net_peer_close(oldest_same, 1, "too many handshakes from one address: the oldest gives way");
    else if (pending >= RP_NET_PENDING_INBOUND && oldest)
        net_peer_close(oldest, 1, "too many handshakes at once: the oldest gives way");
    size_t ready = net_count_peers(net, 0, 1, 1);
    if (ready < net->max_inbound)
        return 1;
    rp_evict_candidate *c = calloc(ready ? ready : 1, sizeof *c);
    if (!c)
        return 0;
    size_t n = 0;
    uint64_t now = net_unix_s();
    for (struct peer *p = net->peers; p; p = p->next) {
        if (p->closing || p->outbound || !p->ready || (p->target && p->target->kind == T_PERSISTENT))
            continue;
        rp_evict_candidate *e = &c[n++];
        e->peer = p->id;
        e->group_hash = net_group_hash(net, p->addr.ip);
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
    struct peer *v = net_peer_find(net, victim);
    if (v) {
        net->st.evicted++;
        net_peer_close(v, 1, "evicted to make room for a new inbound peer");
    }
    return 1;
}

static void free_handle(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *server, int status)
{
    rp_net *net = server->data;
    if (status < 0 || net->stopping)
        return;
    struct peer *p = net_peer_new(net, 0, NULL);
    if (!p) {
        /* Accept and drop, so the backlog does not fill. */
        uv_tcp_t *tmp = malloc(sizeof *tmp);
        if (tmp && uv_tcp_init(net->loop, tmp) == 0) {
            (void)uv_accept(server, (uv_stream_t *)tmp);
            uv_close((uv_handle_t *)tmp, free_handle);
        } else {
            free(tmp);
        }
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0) {
        net_peer_close(p, 0, "accept failed");
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &sl) != 0 ||
        net_sockaddr_to_netaddr((struct sockaddr *)&ss, &p->addr) != 0) {
        net_peer_close(p, 0, "no peer address");
        return;
    }
    p->connected = 1;
    net->st.accepted++;
    if (net->max_inbound == 0 || !inbound_room(net, p)) {
        net_peer_close(p, 1, "inbound slots full");
        return;
    }
    if (net_peer_read_start(p) != 0)
        net_peer_close(p, 1, "cannot read");
}

/* ---- the tick -------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    rp_net *net = t->data;
    uint64_t now = net_now_ms(net);
    for (struct peer *p = net->peers, *next; p; p = next) {
        next = p->next;
        if (p->closing)
            continue;
        if (!p->ready) {
            if (now - p->start_ms > RP_NET_HANDSHAKE_MS)
                net_peer_close(p, 1, p->connected ? "handshake timed out" : "connect timed out");
            continue;
        }
        if (p->ping_nonce && now - p->ping_sent_ms > RP_NET_PING_TIMEOUT_MS) {
            net_peer_close(p, 1, "ping timed out");
            continue;
        }
        if (!p->ping_nonce && now >= p->next_ping_ms) {
            uint64_t nonce;
            randombytes_buf(&nonce, sizeof nonce);
            nonce |= 1;
            rp_p2p_msg_ping(net->msg, nonce);
            if (net_send_msg(p, net->msg) == 0) {
                p->ping_nonce = nonce;
                p->ping_sent_ms = now;
                p->next_ping_ms = now + RP_NET_PING_MS;
            }
        }
    }
    net_dial_more(net);
    (void)rp_addrman_resolve_collisions(net->book, net_unix_s());
    if (now - net->last_save_ms >= RP_NET_SAVE_MS) {
        net->last_save_ms = now;
        net_save_book(net);
    }
}

/* ---- start and stop -------------------------------------------------------- */

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
    net_load_book(net);
    int rc = net->book ? 0 : RP_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < cfg->npersistent; i++)
        rc = net_add_target(net, T_PERSISTENT, cfg->persistent[i], err, errlen);
    for (size_t i = 0; rc == 0 && i < cfg->nseeds; i++)
        rc = net_add_target(net, T_SEED, cfg->seeds[i], err, errlen);
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
            net_endpoint_netaddr(&e, &a);
            net_netaddr_to_sockaddr(&a, &ss);
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
                    net_sockaddr_to_netaddr((struct sockaddr *)&ss, &bound) == 0)
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
    net->last_save_ms = net_now_ms(net);
    *out = net;
    return 0;
}

static void on_handle_closed(uv_handle_t *h) { net_release(h->data); }

void rp_net_stop(rp_net *net, void (*done)(void *arg), void *arg)
{
    if (!net)
        return;
    net->stopping = 1;
    net->done = done;
    net->done_arg = arg;
    net_save_book(net);
    for (struct peer *p = net->peers; p; p = p->next)
        net_peer_close(p, 0, "the node is stopping");
    if (net->listening)
        uv_close((uv_handle_t *)&net->listener, on_handle_closed);
    uv_close((uv_handle_t *)&net->timer, on_handle_closed);
}

/* ---- the node's calls ------------------------------------------------------ */

uint16_t rp_net_port(const rp_net *net) { return net->port; }

void rp_net_misbehaved(rp_net *net, uint64_t peer, const char *why)
{
    struct peer *p = net_peer_find(net, peer);
    if (p)
        net_misbehaved(p, why);
}

void rp_net_disconnect(rp_net *net, uint64_t peer, const char *why)
{
    struct peer *p = net_peer_find(net, peer);
    if (p)
        net_peer_close(p, 1, why);
}

void rp_net_useful(rp_net *net, uint64_t peer, int what)
{
    struct peer *p = net_peer_find(net, peer);
    if (!p)
        return;
    if (what == 1)
        p->last_block_ms = net_now_ms(net);
    else
        p->last_record_ms = net_now_ms(net);
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
    const struct peer *p = net_peer_find(net, peer);
    if (!p)
        return 0;
    info_of(net, p, out);
    return 1;
}

void rp_net_stats_get(const rp_net *net, rp_net_stats *st)
{
    *st = net->st;
    st->inbound = net_count_peers(net, 0, 1, 1);
    st->outbound = net_count_peers(net, 1, 1, 1);
    st->handshaking = 0;
    for (const struct peer *p = net->peers; p; p = p->next)
        st->handshaking += !p->closing && !p->ready;
    rp_addrman_size(net->book, &st->book_new, &st->book_tried);
    st->discouraged = rp_addrman_discouragements(net->book, NULL, 0);
}
