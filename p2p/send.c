/* Sending to peers (p2p/net.h): each peer's messages wait, before
 * encryption, in two queues (consensus first, then the rest); at most
 * RP_NET_INFLIGHT encrypted bytes are handed to libuv at a time, and a peer
 * whose queued bytes would pass RP_NET_SEND_QUEUE is dropped. Sessions
 * encrypt in order, so the priority is decided here, before encryption. */
#include "p2p/net.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "p2p/net_impl.h"

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
        net_peer_close(p, 1, status == UV_ECANCELED ? "closed" : uv_strerror(status));
    else if (!p->closing)
        net_pump(p);
}

/* The session's output: queue bytes on the socket. Takes buf. */
int net_session_send(void *ctx, unsigned char *buf, size_t len)
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

/* Encrypt queued messages while libuv holds less than RP_NET_INFLIGHT
 * bytes of this peer's: consensus messages first, then the rest, each
 * class in order. */
void net_pump(struct peer *p)
{
    while (!p->closing && p->queued < RP_NET_INFLIGHT && (p->q_head[0] || p->q_head[1])) {
        int c = p->q_head[0] ? 0 : 1;
        struct outmsg *m = p->q_head[c];
        if (!(p->q_head[c] = m->next))
            p->q_tail[c] = NULL;
        p->plain -= m->len;
        int rc = rp_session_send(p->sess, m->bytes, m->len);
        free(m);
        if (rc) {
            net_peer_close(p, 1, rc == RP_ERR_BUFFER ? "cannot keep up: its send queue is full"
                                                     : "sending failed");
            return;
        }
        p->msgs_out++;
        p->net->st.msgs_out++;
    }
}

/* Queue one encoded message (copied) in its class and pump. */
static int net_queue(struct peer *p, const unsigned char *msg, size_t len, int urgent)
{
    if (p->closing || !p->ready)
        return RP_ERR_INVALID_ARG;
    if (p->queued + p->plain + len > RP_NET_SEND_QUEUE) {
        net_peer_close(p, 1, "cannot keep up: its send queue is full");
        return RP_ERR_BUFFER;
    }
    struct outmsg *m = malloc(sizeof *m + (len ? len : 1));
    if (!m)
        return RP_ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->bytes, msg, len);
    int c = urgent ? 0 : 1;
    if (p->q_tail[c])
        p->q_tail[c]->next = m;
    else
        p->q_head[c] = m;
    p->q_tail[c] = m;
    p->plain += len;
    net_pump(p);
    return p->closing ? RP_ERR_BUFFER : 0;
}

int net_send_msg(struct peer *p, const rp_p2p_msg *m)
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
        rc = net_queue(p, buf, len, 0);
    free(buf);
    return rc;
}

/* ---- the node's sending calls ---------------------------------------------- */

int rp_net_send(rp_net *net, uint64_t peer, const rp_p2p_msg *m)
{
    struct peer *p = net_peer_find(net, peer);
    if (!p || !p->ready)
        return RP_ERR_INVALID_ARG;
    return net_send_msg(p, m);
}

void rp_net_broadcast(rp_net *net, const rp_p2p_msg *m)
{
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->ready && !p->closing)
            (void)net_send_msg(p, m);
}

size_t rp_net_send_room(const rp_net *net, uint64_t peer)
{
    const struct peer *p = net_peer_find(net, peer);
    size_t q = p ? p->queued + p->plain : 0;
    return p && q < RP_NET_SEND_QUEUE ? RP_NET_SEND_QUEUE - q : 0;
}

int rp_net_send_bytes(rp_net *net, uint64_t peer, const unsigned char *msg, size_t len,
                      int urgent)
{
    struct peer *p = net_peer_find(net, peer);
    if (!p || !p->ready || len == 0 || len > RP_P2P_MAX_MESSAGE)
        return RP_ERR_INVALID_ARG;
    return net_queue(p, msg, len, urgent);
}

void rp_net_broadcast_bytes(rp_net *net, const unsigned char *msg, size_t len, int urgent,
                            uint64_t except)
{
    if (len == 0 || len > RP_P2P_MAX_MESSAGE)
        return;
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->ready && !p->closing && p->id != except)
            (void)net_queue(p, msg, len, urgent);
}
