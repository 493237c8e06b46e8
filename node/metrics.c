/* The Prometheus metrics endpoint (contract and threading in metrics.h).
 *
 * Two halves that share one mutex-protected buffer. The loop half builds
 * the exposition text every second from what the node already counts (the
 * same sources as node.metrics and node.info) and publishes it; the HTTP
 * half, on libmicrohttpd's thread, only ever copies the published text.
 * The socket is bound here rather than by libmicrohttpd so that a port in
 * use is reported with its errno, and port 0 tells us the port it got.
 */
#include "node/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "crypto/error.h"
#include "node/log.h"
#include "node/node.h"
#include "p2p/endpoint.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CONN_MEMORY  (32u * 1024) /* libmicrohttpd's pool per connection */

struct rp_metrics {
    struct node *n;
    uv_timer_t timer; /* loop: rebuilds the snapshot */
    struct MHD_Daemon *mhd;
    int port;

    /* Shared with the HTTP thread: the published snapshot. */
    pthread_mutex_t lock;
    char *text; /* NULL until the first build */
    size_t len;
};

/* ---- the exposition text (loop thread) ----------------------------------------------- */

struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)k;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

/* A family's HELP and TYPE lines. */
static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample without labels, or with labels already written as
 * `{k="v",...}` (labels NULL: none). */
static void sample(struct sbuf *b, const char *name, const char *labels, uint64_t v)
{
    sb_printf(b, "%s%s %llu\n", name, labels ? labels : "", (unsigned long long)v);
}

static void sample_f(struct sbuf *b, const char *name, const char *labels, double v)
{
    sb_printf(b, "%s%s %.6f\n", name, labels ? labels : "", v);
}

/* A label value as the format wants it: backslash, double quote and
 * newline escaped. Cut (never mid-escape) to fit out. */
static const char *label_value(char *out, size_t cap, const char *v)
{
    size_t o = 0;
    for (; *v && o + 3 < cap; v++) {
        if (*v == '\\' || *v == '"') {
            out[o++] = '\\';
            out[o++] = *v;
        } else if (*v == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *v;
        }
    }
    out[o] = '\0';
    return out;
}

/* A number from the node's JSON: an integer, or the decimal string
 * rp_json_u64 writes. Absent or malformed: 0. */
static uint64_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

static void chain_figures(struct node *n, struct sbuf *b)
{
    rp_tip tip;
    int have_tip = rp_store_tip(n->st, &tip) == 0;
    char l[160];
    family(b, "repute_build_info", "gauge",
           "Always 1; the labels say which version runs which chain.");
    char chain[2 * 64 + 8];
    snprintf(l, sizeof l, "{version=\"%s\",chain=\"%s\"}", REPUTE_VERSION,
             label_value(chain, sizeof chain, n->g->chain_name));
    sample(b, "repute_build_info", l, 1);
    family(b, "repute_process_start_time_seconds", "gauge",
           "When the node started, in seconds since the Unix epoch.");
    sample_f(b, "repute_process_start_time_seconds", NULL, (double)n->start_ms / 1000.0);
    family(b, "repute_uptime_seconds", "gauge", "Seconds since the node started.");
    sample_f(b, "repute_uptime_seconds", NULL, (double)(rp_node_wall_ms() - n->start_ms) / 1000.0);
    if (have_tip) {
        family(b, "repute_chain_height", "gauge", "Height of the newest committed block.");
        sample(b, "repute_chain_height", NULL, tip.height);
        family(b, "repute_chain_epoch", "gauge", "Newest score epoch committed on chain.");
        sample(b, "repute_chain_epoch", NULL, tip.epoch);
    }
    family(b, "repute_blocks_committed_total", "counter",
           "Blocks committed since start: via=\"local\" produced or decided by this node, "
           "via=\"sync\" fetched from peers.");
    sample(b, "repute_blocks_committed_total", "{via=\"local\"}", n->blocks_produced);
    uint64_t synced = 0;
    json_t *p2p = rp_network_metrics(n);
    if (p2p)
        synced = num(p2p, "blocks_synced");
    sample(b, "repute_blocks_committed_total", "{via=\"sync\"}", synced);
    json_decref(p2p);
    family(b, "repute_records_included_total", "counter",
           "Records included in the blocks committed via=\"local\" since start.");
    sample(b, "repute_records_included_total", NULL, n->records_included);
    family(b, "repute_epochs_computed_total", "counter",
           "Score epochs computed ahead of their block since start.");
    sample(b, "repute_epochs_computed_total", NULL, n->epochs_computed);
    family(b, "repute_epoch_compute_seconds", "gauge",
           "Time the last score epoch computed ahead took (snapshot and engine), in seconds.");
    sample_f(b, "repute_epoch_compute_seconds", NULL, n->epoch_compute_s);
}

static void mempool_figures(struct node *n, struct sbuf *b)
{
    rp_mempool_stats s;
    rp_mempool_stats_get(n->mp, &s);
    family(b, "repute_mempool_records", "gauge", "Records waiting in the mempool.");
    sample(b, "repute_mempool_records", NULL, s.count);
    family(b, "repute_mempool_bytes", "gauge", "Bytes of the records waiting in the mempool.");
    sample(b, "repute_mempool_bytes", NULL, s.bytes);
    family(b, "repute_mempool_max_records", "gauge", "[mempool] max_count: the record limit.");
    sample(b, "repute_mempool_max_records", NULL, n->cfg.mempool_max_count);
    family(b, "repute_mempool_max_bytes", "gauge", "[mempool] max_bytes: the byte limit.");
    sample(b, "repute_mempool_max_bytes", NULL, n->cfg.mempool_max_bytes);
    family(b, "repute_mempool_admitted_total", "counter",
           "Records the mempool admitted since start.");
    sample(b, "repute_mempool_admitted_total", NULL, s.admitted);
    family(b, "repute_mempool_rejected_total", "counter",
           "Records the mempool refused (invalid, full, sequence gap) since start.");
    sample(b, "repute_mempool_rejected_total", NULL, s.rejected);
    family(b, "repute_mempool_dropped_total", "counter",
           "Admitted records dropped without inclusion (expired, invalidated) since start.");
    sample(b, "repute_mempool_dropped_total", NULL, s.dropped);
}

static void rpc_figures(struct node *n, struct sbuf *b)
{
    if (!n->rpc)
        return;
    char l[128];
    family(b, "repute_rpc_connections", "gauge", "JSON-RPC clients connected.");
    sample(b, "repute_rpc_connections", NULL, rp_rpc_connections(n->rpc));
    rp_rpc_method_stats st[RP_RPC_MAX_METHODS];
    for (int i = 0; i < rp_node_method_count && i < RP_RPC_MAX_METHODS; i++)
        rp_rpc_method_stats_get(n->rpc, i, &st[i]);
    family(b, "repute_rpc_requests_total", "counter", "JSON-RPC requests per method since start.");
    for (int i = 0; i < rp_node_method_count && i < RP_RPC_MAX_METHODS; i++) {
        snprintf(l, sizeof l, "{method=\"%s\"}", rp_node_method_names[i]);
        sample(b, "repute_rpc_requests_total", l, st[i].calls);
    }
    family(b, "repute_rpc_errors_total", "counter",
           "JSON-RPC requests per method answered with an error since start.");
    for (int i = 0; i < rp_node_method_count && i < RP_RPC_MAX_METHODS; i++) {
        snprintf(l, sizeof l, "{method=\"%s\"}", rp_node_method_names[i]);
        sample(b, "repute_rpc_errors_total", l, st[i].errors);
    }
    family(b, "repute_rpc_request_duration_seconds", "histogram",
           "Time from a JSON-RPC request's dispatch to its answer, per method.");
    for (int i = 0; i < rp_node_method_count && i < RP_RPC_MAX_METHODS; i++) {
        const char *m = rp_node_method_names[i];
        for (int k = 0; k < RP_RPC_LAT_BUCKETS; k++) {
            snprintf(l, sizeof l, "{method=\"%s\",le=\"%g\"}", m,
                     (double)rp_rpc_lat_bounds_us[k] / 1e6);
            sample(b, "repute_rpc_request_duration_seconds_bucket", l, st[i].lat_le[k]);
        }
        snprintf(l, sizeof l, "{method=\"%s\",le=\"+Inf\"}", m);
        sample(b, "repute_rpc_request_duration_seconds_bucket", l, st[i].answered);
        snprintf(l, sizeof l, "{method=\"%s\"}", m);
        sample_f(b, "repute_rpc_request_duration_seconds_sum", l, (double)st[i].lat_sum_us / 1e6);
        sample(b, "repute_rpc_request_duration_seconds_count", l, st[i].answered);
    }
}

static void network_figures(struct node *n, struct sbuf *b)
{
    static const char *const states[] = {"off", "alone", "syncing", "synced"};
    json_t *info = rp_network_info(n);
    json_t *sync = json_object_get(info, "sync");
    const char *state = json_string_value(json_object_get(sync, "state"));
    char l[64];
    family(b, "repute_sync_state", "gauge",
           "1 for the state block sync is in (off: no network; alone: no peer; syncing; "
           "synced), 0 for the others.");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        snprintf(l, sizeof l, "{state=\"%s\"}", states[i]);
        sample(b, "repute_sync_state", l, state && !strcmp(state, states[i]));
    }
    if (state && strcmp(state, "off") != 0) {
        family(b, "repute_sync_height", "gauge", "Height block sync has reached.");
        sample(b, "repute_sync_height", NULL, num(sync, "height"));
        family(b, "repute_sync_target_height", "gauge",
               "Highest height a peer announced (the sync height if none is higher).");
        sample(b, "repute_sync_target_height", NULL, num(sync, "target"));
    }
    json_decref(info);
    json_t *m = rp_network_metrics(n);
    if (m && json_object_size(m)) {
        family(b, "repute_p2p_peers", "gauge", "Peers connected, by who dialed.");
        sample(b, "repute_p2p_peers", "{direction=\"inbound\"}", num(m, "peers_inbound"));
        sample(b, "repute_p2p_peers", "{direction=\"outbound\"}", num(m, "peers_outbound"));
        family(b, "repute_p2p_received_bytes_total", "counter",
               "Bytes received from peers since start.");
        sample(b, "repute_p2p_received_bytes_total", NULL, num(m, "bytes_in"));
        family(b, "repute_p2p_sent_bytes_total", "counter", "Bytes sent to peers since start.");
        sample(b, "repute_p2p_sent_bytes_total", NULL, num(m, "bytes_out"));
    }
    json_decref(m);
}

static void consensus_figures(struct node *n, struct sbuf *b)
{
    json_t *c = rp_consensus_info(n);
    if (!json_is_object(c)) {
        json_decref(c);
        return; /* a single-validator chain: no consensus runs */
    }
    family(b, "repute_consensus_height", "gauge", "Height consensus is deciding.");
    sample(b, "repute_consensus_height", NULL, num(c, "height"));
    family(b, "repute_consensus_round", "gauge", "Round of that height consensus is in.");
    sample(b, "repute_consensus_round", NULL, num(c, "round"));
    family(b, "repute_consensus_decided_blocks_total", "counter",
           "Blocks consensus decided since start.");
    sample(b, "repute_consensus_decided_blocks_total", NULL, num(c, "decided_blocks"));
    json_t *vals = json_object_get(c, "validators");
    static const struct {
        const char *name, *type, *key, *help;
    } per[] = {
        {"repute_consensus_validator_signed_blocks_total", "counter", "signed",
         "Blocks committed since start whose commit the validator signed."},
        {"repute_consensus_validator_missed_blocks_total", "counter", "missed",
         "Blocks committed since start whose commit lacks the validator's signature."},
        {"repute_consensus_validator_evidence", "gauge", "evidence",
         "Evidence records (double votes) on chain against the validator."},
    };
    for (size_t f = 0; f < sizeof per / sizeof per[0]; f++) {
        family(b, per[f].name, per[f].type, per[f].help);
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            char name[2 * 64 + 8], l[2 * 64 + 48];
            const char *nm = json_string_value(json_object_get(v, "name"));
            snprintf(l, sizeof l, "{index=\"%llu\",name=\"%s\"}",
                     (unsigned long long)num(v, "index"),
                     label_value(name, sizeof name, nm ? nm : ""));
            sample(b, per[f].name, l, num(v, per[f].key));
        }
    }
    json_decref(c);
}

char *rp_metrics_text(struct node *n, size_t *len)
{
    struct sbuf b = {malloc(16384), 0, 16384, 0};
    if (!b.p)
        return NULL;
    b.p[0] = '\0';
    chain_figures(n, &b);
    mempool_figures(n, &b);
    rpc_figures(n, &b);
    network_figures(n, &b);
    consensus_figures(n, &b);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}

static void publish_cb(uv_timer_t *t)
{
    struct rp_metrics *m = t->data;
    if (m->n->stopping)
        return;
    size_t len = 0;
    char *text = rp_metrics_text(m->n, &len);
    if (!text)
        return; /* out of memory: the last snapshot stays */
    pthread_mutex_lock(&m->lock);
    char *old = m->text;
    m->text = text;
    m->len = len;
    pthread_mutex_unlock(&m->lock);
    free(old);
}

/* ---- HTTP (libmicrohttpd's thread) --------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
                              char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *body = strdup(msg);
    if (!body)
        return MHD_NO;
    return answer(c, status, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct rp_metrics *m = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    /* Answered on the first call, before any body: a request we serve has
     * none, and libmicrohttpd discards one we refuse. */
    if (strcmp(url, "/metrics") != 0)
        return answer_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
    pthread_mutex_lock(&m->lock);
    char *copy = m->text ? malloc(m->len + 1) : NULL;
    size_t len = m->len;
    if (copy)
        memcpy(copy, m->text, len + 1);
    int ready = m->text != NULL;
    pthread_mutex_unlock(&m->lock);
    if (!copy)
        return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           ready ? "out of memory\n" : "no figures yet: retry in a second\n");
    return answer(c, MHD_HTTP_OK, CONTENT_TYPE, copy, len);
}

/* libmicrohttpd's error messages, into the node's log (rp_log is one
 * write(2) per line, safe from any thread). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[400], q[440];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t k = strlen(msg);
    while (k && (msg[k - 1] == '\n' || msg[k - 1] == '\r'))
        msg[--k] = '\0';
    rp_log(RP_LOG_WARN, "metrics_http", "msg=%s", rp_log_str(q, sizeof q, msg));
}

/* ---- start and stop (loop thread) ----------------------------------------------------- */

static int is_loopback(const rp_endpoint *e)
{
    static const unsigned char v6_loop[16] = {[15] = 1};
    if (e->kind == RP_ENDPOINT_IPV4)
        return e->ip[0] == 127;
    return e->kind == RP_ENDPOINT_IPV6 && !memcmp(e->ip, v6_loop, 16);
}

/* Bind and listen on e. Returns: the socket, or -errno. *port: the port. */
static int bind_listen(const rp_endpoint *e, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (e->kind == RP_ENDPOINT_IPV4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(e->port);
        memcpy(&a->sin_addr, e->ip, 4);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(e->port);
        memcpy(&a->sin6_addr, e->ip, 16);
        sl = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static void free_metrics(struct rp_metrics *m)
{
    pthread_mutex_destroy(&m->lock);
    free(m->text);
    free(m);
}

static void timer_closed(uv_handle_t *h)
{
    free_metrics(h->data);
}

int rp_metrics_start(struct node *n, char *err, size_t errlen)
{
    const char *listen_at = n->cfg.metrics_listen;
    if (!listen_at[0])
        return 0;
    rp_endpoint e;
    const char *why = NULL;
    if (rp_endpoint_parse(&e, listen_at, -1, 1, &why) != 0 || e.kind == RP_ENDPOINT_NAME) {
        snprintf(err, errlen, "[metrics] listen = %s: %s", listen_at,
                 why ? why : "listen on an IP address, not a name");
        return RP_ERR_CONFIG;
    }
    if (!is_loopback(&e) && !n->cfg.metrics_allow_remote) {
        snprintf(err, errlen,
                 "[metrics] listen = %s is not a loopback address: the endpoint has no "
                 "authentication, so anyone who reaches it reads the node's figures; listen on "
                 "127.0.0.1 or [::1], or set [metrics] allow_remote = true and firewall it",
                 listen_at);
        return RP_ERR_CONFIG;
    }
    struct rp_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "cannot start the metrics endpoint: out of memory");
        return RP_ERR_NOMEM;
    }
    m->n = n;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        snprintf(err, errlen, "cannot start the metrics endpoint: no mutex");
        return RP_ERR_NOMEM;
    }
    int fd = bind_listen(&e, &m->port);
    if (fd < 0) {
        snprintf(err, errlen, "cannot serve metrics on %s: %s%s", listen_at, strerror(-fd),
                 fd == -EADDRINUSE ? " (another program has that port; pick another in "
                                     "[metrics] listen)"
                                   : "");
        free_metrics(m);
        return fd;
    }
    /* libmicrohttpd takes the socket: it closes it when it stops. Its
     * thread is started with every signal blocked (threads inherit the
     * mask), so SIGINT and SIGTERM always reach the loop's handlers. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (e.kind == RP_ENDPOINT_IPV6)
        flags |= MHD_USE_IPv6;
    m->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)RP_METRICS_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)RP_METRICS_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RP_METRICS_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->mhd) {
        /* Whether a failed start closed the socket is not documented: close
         * it if it is still ours (start-up is single-threaded here). */
        if (fcntl(fd, F_GETFD) >= 0)
            close(fd);
        snprintf(err, errlen,
                 "cannot serve metrics on %s: libmicrohttpd would not start "
                 "(see the log)",
                 listen_at);
        free_metrics(m);
        return -EIO;
    }
    uv_timer_init(n->loop, &m->timer);
    m->timer.data = m;
    uv_timer_start(&m->timer, publish_cb, 0, RP_METRICS_PERIOD_MS);
    n->metrics = m;
    rp_log(RP_LOG_INFO, "metrics_listening", "addr=%s port=%d", e.host, m->port);
    return 0;
}

void rp_metrics_stop(struct node *n)
{
    struct rp_metrics *m = n->metrics;
    if (!m)
        return;
    n->metrics = NULL;
    MHD_stop_daemon(m->mhd); /* joins the HTTP thread */
    m->mhd = NULL;
    uv_close((uv_handle_t *)&m->timer, timer_closed);
}

int rp_metrics_port(const struct node *n)
{
    return n->metrics ? n->metrics->port : -1;
}
