/* Whom the transport dials, and what it knows of addresses (contract in
 * net.h; the shared state in net_impl.h): outbound connections, persistent
 * peers and seeds, name resolution, the address book and its file, the
 * addresses peers exchange, and the operator's bans.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "p2p/net_impl.h"

void net_on_addr(struct peer *p, const rp_p2p_addr_list *l)
{
    rp_net *net = p->net;
    if (!p->asked_addr)
        return; /* unsolicited: ignored (counted against the message budget) */
    p->asked_addr = 0;
    uint64_t now = net_unix_s();
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

void net_on_getaddr(struct peer *p)
{
    rp_net *net = p->net;
    if (p->answered_addr)
        return; /* once per connection */
    p->answered_addr = 1;
    static rp_addrman_entry entries[RP_P2P_MAX_ADDR];
    size_t n = 0;
    rp_addrman_getaddr(net->book, entries, RP_P2P_MAX_ADDR, &n, net_unix_s());
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
    (void)net_send_msg(p, m);
}


/* ---- outbound -------------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
    struct peer *p = req->data;
    if (p->closing)
        return;
    if (status < 0) {
        if (p->from_book)
            rp_addrman_attempt(p->net->book, &p->addr, 1, net_unix_s());
        net_peer_close(p, 1, uv_strerror(status));
        return;
    }
    p->connected = 1;
    if (net_peer_read_start(p) != 0 ||
        rp_session_start(p->sess) != 0)
        net_peer_close(p, 1, "cannot start the handshake");
}

/* Dial an address. Returns the peer (closing already if the connect could
 * not start), or NULL if no peer could be made (out of memory). */
static struct peer *dial_addr(rp_net *net, const rp_netaddr *a, const rp_pubkey *expect,
                              struct target *t, int from_book)
{
    struct peer *p = net_peer_new(net, 1, expect);
    if (!p)
        return NULL;
    p->addr = *a;
    p->from_book = from_book;
    p->target = t;
    if (t)
        t->peer = p;
    net->st.dialed++;
    struct sockaddr_storage ss;
    net_netaddr_to_sockaddr(a, &ss);
    p->connect.data = p;
    int rc = uv_tcp_connect(&p->connect, &p->tcp, (const struct sockaddr *)&ss, on_connected);
    if (rc != 0)
        net_peer_close(p, 1, uv_strerror(rc)); /* which schedules the target's retry */
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
    t->next_ms = net_now_ms(net); /* the lookup is over */
    if (!net->stopping && t->used && t->peer == NULL) {
        rp_netaddr a;
        if (status == 0 && res && net_sockaddr_to_netaddr(res->ai_addr, &a) == 0) {
            a.port = t->ep.port;
            dial_addr(net, &a, t->ep.has_id ? &t->ep.id : NULL, t, 0);
        } else {
            net_log(net, 2, "peer_resolve_failed", "host=%s why=\"%s\"", t->ep.host,
                 status ? uv_strerror(status) : "no address");
            if (t->kind == T_PERSISTENT)
                net_target_backoff(net, t);
            else if (t->kind == T_SEED)
                t->next_ms = net_now_ms(net) + SEED_RETRY_MS;
            else
                t->used = 0;
        }
    }
    if (res)
        uv_freeaddrinfo(res);
    free(r);
    net_release(net);
}

static int resolving(const struct target *t)
{
    return t->next_ms == UINT64_MAX; /* marks a lookup in flight */
}

static void dial_target(rp_net *net, struct target *t)
{
    if (t->ep.kind != RP_ENDPOINT_NAME) {
        rp_netaddr a;
        net_endpoint_netaddr(&t->ep, &a);
        if (!dial_addr(net, &a, t->ep.has_id ? &t->ep.id : NULL, t, 0) && t->kind == T_PERSISTENT)
            net_target_backoff(net, t);
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
        net_target_backoff(net, t);
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
        if (p->outbound && net_routable_group(e->addr.ip)) {
            rp_netaddr_group(h, p->addr.ip);
            if (!memcmp(g, h, sizeof g))
                return 1;
        }
    }
    if (e->has_id && !memcmp(e->id.bytes, net->local->hello.node_key.bytes, 32))
        return 1; /* ourselves */
    return 0;
}

void net_dial_more(rp_net *net)
{
    uint64_t now = net_now_ms(net);
    for (size_t i = 0; i < MAX_TARGETS; i++) {
        struct target *t = &net->targets[i];
        if (t->used && t->kind != T_SEED && !t->peer && !resolving(t) && t->next_ms <= now)
            dial_target(net, t);
    }
    size_t out = net_count_peers(net, 1, 0, 0);
    /* One new outbound connection per tick at most: a burst of dials to
     * addresses gossiped by one peer is what an eclipse attack wants. */
    if (out >= net->max_outbound)
        return;
    size_t n_new, n_tried;
    rp_addrman_size(net->book, &n_new, &n_tried);
    rp_addrman_entry e;
    struct skip_ctx sc = {net};
    if (rp_addrman_select(net->book, 0, skip_entry, &sc, net_unix_s(), &e) == 1) {
        rp_addrman_attempt(net->book, &e.addr, 0, net_unix_s());
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


int net_save_book(rp_net *net)
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
        net_log(net, 2, "peers_save_failed", "path=%s why=\"%s\"", net->peers_file, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}


void net_load_book(rp_net *net)
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
                net_log(net, 1, "peers_loaded", "path=%s new=%zu tried=%zu", net->peers_file, nn, nt);
            } else {
                char bad[4200];
                snprintf(bad, sizeof bad, "%s.bad", net->peers_file);
                rename(net->peers_file, bad);
                net_log(net, 2, "peers_file_invalid", "path=%s moved_to=%s why=\"%s%s%s\"",
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

int net_add_target(rp_net *net, int kind, const char *text, char *err, size_t errlen)
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
            net_endpoint_netaddr(&e, &a);
            uint64_t now = net_unix_s();
            (void)rp_addrman_add(net->book, &a, &e.id, now, a.ip, now);
        }
        return 0;
    }
    snprintf(err, errlen, "too many peers to dial (at most %d)", MAX_TARGETS);
    return RP_ERR_INVALID_ARG;
}


int rp_net_add(rp_net *net, const char *endpoint, int persistent, char *err, size_t errlen)
{
    return net_add_target(net, persistent ? T_PERSISTENT : T_ONCE, endpoint, err, errlen);
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
    uint64_t now = net_unix_s();
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
            net_peer_close(p, 1, "banned by the operator");
            n++;
        }
    }
    net_log(net, 1, "peer_banned", "who=%s secs=%llu disconnected=%d", who, (unsigned long long)secs,
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

