/* A peer for tests (contract in p2p_peer.h). */
#include "tests/p2p_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/error.h"
#include "p2p/proto.h"

static int fail(p2p_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(p2p_peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    return -1;
}

void p2p_prologue(unsigned char out[46], const rp_hash *chain_id, uint32_t version)
{
    memcpy(out, "repute-p2p", 10);
    out[10] = (unsigned char)(version >> 24);
    out[11] = (unsigned char)(version >> 16);
    out[12] = (unsigned char)(version >> 8);
    out[13] = (unsigned char)version;
    memcpy(out + 14, chain_id->bytes, 32);
}

int p2p_peer_dial(p2p_peer *p, uint16_t port)
{
    memset(p, 0, sizeof *p);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return fail(p, "socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(p->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(p->fd);
        p->fd = -1;
        return fail(p, "connect: %s", strerror(errno));
    }
    return 0;
}

int p2p_peer_write(p2p_peer *p, const void *buf, size_t len)
{
    const unsigned char *b = buf;
    while (len) {
        ssize_t w = send(p->fd, b, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fail(p, "write: %s", w < 0 ? strerror(errno) : "closed");
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Read exactly len bytes within timeout_ms. Returns 1, 0 (timeout), -1. */
static int read_exact(p2p_peer *p, unsigned char *buf, size_t len, int timeout_ms)
{
    while (len) {
        struct pollfd pf = {p->fd, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        if (r == 0)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t n = recv(p->fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 1;
}

int p2p_peer_connect(p2p_peer *p, uint16_t port, const rp_hash *chain_id,
                     const rp_seckey *node_key, int tamper)
{
    if (p2p_peer_dial(p, port) != 0)
        return -1;
    unsigned char s_priv[32], s_pub[32], pro[46];
    rp_noise_keygen(s_pub, s_priv);
    p2p_prologue(pro, chain_id, RP_P2P_VERSION);
    rp_noise_handshake hs;
    if (rp_noise_handshake_init(&hs, RP_NOISE_INITIATOR, s_priv, pro, sizeof pro) != 0)
        return fail(p, "handshake init");
    unsigned char buf[2 + RP_NOISE_MAX_MSG], pay[RP_NOISE_MAX_MSG];
    size_t len, plen;
    /* message 1 */
    if (rp_noise_handshake_write(&hs, buf + 2, sizeof buf - 2, &len, NULL, 0) != 0)
        return fail(p, "write message 1");
    buf[0] = (unsigned char)(len >> 8);
    buf[1] = (unsigned char)len;
    if (p2p_peer_write(p, buf, len + 2) != 0)
        return -1;
    /* message 2 */
    if (read_exact(p, buf, 2, 10000) != 1)
        return fail(p, "no message 2 (closed or timed out)");
    len = (size_t)buf[0] << 8 | buf[1];
    if (read_exact(p, buf + 2, len, 10000) != 1)
        return fail(p, "message 2 cut short");
    int rc = rp_noise_handshake_read(&hs, pay, sizeof pay, &plen, buf + 2, len);
    if (rc)
        return fail(p, "message 2: %s", rp_strerror(rc));
    rp_p2p_msg *m = calloc(1, sizeof *m);
    if (!m || rp_p2p_msg_decode(m, pay, plen, NULL) != 0 || m->type != RP_P2P_MSG_HELLO) {
        free(m);
        return fail(p, "message 2 carries no HELLO");
    }
    unsigned char rs[32];
    if (rp_noise_handshake_remote_static(&hs, rs) != 0 ||
        !rp_p2p_hello_verify(&m->body.hello, chain_id, rs, RP_P2P_VERSION)) {
        free(m);
        return fail(p, "the node's HELLO binding does not verify");
    }
    p->theirs = m->body.hello;
    /* message 3: our HELLO */
    rp_p2p_msg_init(m, RP_P2P_MSG_HELLO);
    unsigned char aux[32] = {7};
    m->body.hello.role = RP_P2P_ROLE_FULL;
    snprintf(m->body.hello.user_agent, sizeof m->body.hello.user_agent, "test-peer");
    if (rp_p2p_hello_sign(&m->body.hello, node_key, chain_id, s_pub, RP_P2P_VERSION, aux) != 0) {
        free(m);
        return fail(p, "cannot sign our HELLO");
    }
    p->node_id = m->body.hello.node_key;
    if (tamper == 1)
        m->body.hello.binding.bytes[5] ^= 1;
    size_t hl;
    rc = rp_p2p_msg_encode(m, pay, sizeof pay, &hl);
    free(m);
    if (rc)
        return fail(p, "cannot encode our HELLO");
    if (rp_noise_handshake_write(&hs, buf + 2, sizeof buf - 2, &len, pay, hl) != 0)
        return fail(p, "write message 3");
    buf[0] = (unsigned char)(len >> 8);
    buf[1] = (unsigned char)len;
    if (p2p_peer_write(p, buf, len + 2) != 0)
        return -1;
    rp_noise_cipher rx, dummy;
    unsigned char h[32], k[32];
    if (rp_noise_handshake_split(&hs, &p->tx, &rx, h) != 0)
        return fail(p, "split");
    for (int i = 0; i < 32; i++)
        k[i] = (unsigned char)(i + 1);
    rp_noise_cipher_init(&dummy, k);
    if (rp_p2p_frame_new(&p->rx, &dummy, &rx) != 0)
        return fail(p, "frame");
    return 0;
}

/* One frame: the encrypted length, then the encrypted body. */
static int send_frame(p2p_peer *p, const unsigned char *plain, size_t l)
{
    unsigned char lenb[2] = {(unsigned char)(l >> 8), (unsigned char)l};
    unsigned char *out = malloc(18 + l + 16);
    size_t a, b;
    if (!out)
        return fail(p, "out of memory");
    if (rp_noise_cipher_encrypt(&p->tx, out, 18, &a, NULL, 0, lenb, 2) != 0 ||
        rp_noise_cipher_encrypt(&p->tx, out + 18, l + 16, &b, NULL, 0, plain, l) != 0) {
        free(out);
        return fail(p, "encrypt");
    }
    int rc = p2p_peer_write(p, out, a + b);
    free(out);
    return rc;
}

int p2p_peer_send_bytes(p2p_peer *p, const unsigned char *msg, size_t len)
{
    unsigned char *plain = malloc(RP_P2P_FRAME_MAX_BODY);
    if (!plain)
        return fail(p, "out of memory");
    size_t first = len < RP_P2P_FRAME_FIRST_DATA ? len : RP_P2P_FRAME_FIRST_DATA;
    plain[0] = (unsigned char)(len >> 24);
    plain[1] = (unsigned char)(len >> 16);
    plain[2] = (unsigned char)(len >> 8);
    plain[3] = (unsigned char)len;
    memcpy(plain + 4, msg, first);
    int rc = send_frame(p, plain, 4 + first);
    size_t off = first;
    while (rc == 0 && off < len) {
        size_t k = len - off < RP_P2P_FRAME_MAX_BODY ? len - off : RP_P2P_FRAME_MAX_BODY;
        rc = send_frame(p, msg + off, k);
        off += k;
    }
    free(plain);
    return rc;
}

int p2p_peer_send(p2p_peer *p, const rp_p2p_msg *m)
{
    size_t len;
    if (rp_p2p_msg_encode(m, NULL, 0, &len) != 0)
        return fail(p, "cannot encode the message");
    unsigned char *buf = malloc(len);
    if (!buf || rp_p2p_msg_encode(m, buf, len, &len) != 0) {
        free(buf);
        return fail(p, "cannot encode the message");
    }
    int rc = p2p_peer_send_bytes(p, buf, len);
    free(buf);
    return rc;
}

int p2p_peer_send_announce(p2p_peer *p, uint32_t total)
{
    unsigned char *plain = calloc(1, RP_P2P_FRAME_MAX_BODY);
    if (!plain)
        return fail(p, "out of memory");
    plain[0] = (unsigned char)(total >> 24);
    plain[1] = (unsigned char)(total >> 16);
    plain[2] = (unsigned char)(total >> 8);
    plain[3] = (unsigned char)total;
    int rc = send_frame(p, plain, RP_P2P_FRAME_MAX_BODY);
    free(plain);
    return rc;
}

int p2p_peer_recv(p2p_peer *p, unsigned char **msg, size_t *len, int timeout_ms)
{
    for (;;) {
        while (p->pend_off < p->pend_len) {
            size_t used;
            int rc = rp_p2p_frame_feed(p->rx, &used, p->pend + p->pend_off,
                                       p->pend_len - p->pend_off);
            p->pend_off += used;
            if (rc < 0)
                return -1;
            if (rc == 1)
                return rp_p2p_frame_take(p->rx, msg, len) == 0 ? 1 : -1;
        }
        struct pollfd pf = {p->fd, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        if (r == 0)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t n = recv(p->fd, p->pend, sizeof p->pend, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p->pend_off = 0;
        p->pend_len = (size_t)n;
    }
}

int p2p_peer_wait_closed(p2p_peer *p, int timeout_ms)
{
    unsigned char buf[65536];
    for (;;) {
        struct pollfd pf = {p->fd, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        if (r == 0)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t n = recv(p->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 1;
    }
}

void p2p_peer_close(p2p_peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    rp_p2p_frame_free(p->rx);
    p->rx = NULL;
    rp_noise_cipher_wipe(&p->tx);
}
