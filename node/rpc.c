#include "node/rpc.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"
#include "node/errors.h"
#include "node/jsonrpc.h"
#include "node/log.h"

#define WRITE_HIGH_WATER (4u << 20) /* unsent response bytes before reads pause */
#define LAT_SAMPLES 1024
#define LINES_PER_TURN 256        /* lines one connection may run per loop turn */
#define DRAIN_MS 2000             /* at stop, how long last answers may take */
#define CUTOFF_MS 5000            /* how long a cut-off subscriber's last line may take */

struct method_stats {
    uint64_t calls, errors;
    uint32_t lat_us[LAT_SAMPLES];
    size_t nlat; /* samples written, ring position = nlat % LAT_SAMPLES */
    /* Every answer since start, for the metrics endpoint's histogram: per
     * bucket (not cumulative; the last is +Inf) and the sum. */
    uint64_t lat_bucket[RP_RPC_LAT_BUCKETS + 1];
    uint64_t lat_sum_us;
};

const uint32_t rp_rpc_lat_bounds_us[RP_RPC_LAT_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
};

struct conn;

/* One subscription (rp_rpc_subscribe), on its connection's list. */
struct sub {
    uint64_t id;
    int topic;
    int has_key;
    unsigned char key[32];
    struct sub *next;
};

/* One request line: one response line (or none) once all its calls are in. */
struct line {
    struct conn *c;
    struct line *next;
    json_t *out;       /* the response or the batch array; NULL: nothing to send */
    size_t pending;    /* calls not answered yet */
    int batch;
};

struct rp_rpc_call {
    struct line *line;
    size_t slot;     /* index in the batch array */
    json_t *id;      /* NULL: notification */
    int method;
    uint64_t start_ns;
    rp_rpc_cancel_fn cancel; /* rp_rpc_call_on_cancel; NULL: none */
    void *cancel_ctx;
    rp_rpc_call *cprev, *cnext; /* in conn.cancelable */
};

struct conn {
    uv_pipe_t pipe;
    rp_rpc_server *srv;
    struct conn *prev, *next;
    char *buf; /* buf[off..len): bytes read and not yet consumed */
    size_t off, len, cap;
    int discarding;   /* inside an over-long line: drop until its newline */
    int reading;      /* uv_read_start is on */
    int closing;      /* handle close requested */
    int eof;          /* the client finished sending */
    int reject;       /* over the connection limit: answer once, then close */
    int processing;   /* inside conn_process */
    int want_process; /* complete lines may wait: the flusher runs them */
    int draining;     /* stopping: close once the last answers are written */
    size_t refs;      /* 1 for the handle + one per line still pending */
    size_t inflight;  /* calls not answered */
    size_t unsent;    /* response bytes not yet written: out[] plus uv_writes */
    char *out;        /* responses of this loop iteration, written together */
    size_t outlen, outcap;
    int dirty;        /* on the server's list of connections to flush */
    struct conn *next_dirty;
    struct line *head, *tail;
    rp_rpc_call *cancelable; /* calls to cancel if the connection closes */
    struct sub *subs;        /* its subscriptions, newest first */
    size_t nsubs;
    int cut_off;             /* a slow subscriber: close once the last line is out */
    uint64_t cut_off_ms;     /* uv_now when it was cut off */
};

struct rp_rpc_server {
    uv_loop_t *loop;
    uv_pipe_t listener;
    int listening;
    int stopping;
    char path[RP_RPC_PATH_MAX + 1];
    rp_rpc_limits lim;
    const char *const *methods;
    int nmethods;
    rp_rpc_dispatch_fn dispatch;
    void *ctx;
    struct conn *conns;
    uint32_t nconns; /* allocated, open or closed with calls still running:
                        what the connection limit counts */
    uint32_t open;   /* open handles */
    size_t outstanding; /* calls answered later than their dispatch */
    uv_check_t flusher; /* after each loop iteration: run and write */
    uv_idle_t spin;     /* keeps the loop from sleeping while work is queued */
    uv_timer_t drain;   /* at stop: the last answers' deadline */
    uv_timer_t sweep;   /* every second: clients gone while their calls run */
    int handles;        /* server handles not yet closed */
    int drained;        /* drain_cb ran: the server's handles are closing */
    struct conn *dirty; /* connections with output or lines to run */
    uint64_t calls, errors;
    uint64_t next_sub_id;             /* the last subscription id given */
    size_t ntopic[RP_RPC_MAX_TOPICS]; /* subscriptions per topic, all connections */
    uint64_t notifications, slow_subscribers;
    struct method_stats stats[RP_RPC_MAX_METHODS];
};

struct write_req {
    uv_write_t req;
    struct conn *c;
    size_t len;
    char data[];
};

static void conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void conn_process(struct conn *c);
static void server_maybe_free(rp_rpc_server *s);
static void drain_cb(uv_timer_t *t);

/* ---- connection lifetime ------------------------------------------------------- */

static void conn_free(struct conn *c)
{
    rp_rpc_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c->buf);
    free(c->out);
    free(c);
    if (s->stopping && s->nconns == 0 && !s->drained)
        drain_cb(&s->drain); /* everyone is gone: no need to wait */
    server_maybe_free(s);
}

static void conn_unref(struct conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void conn_closed_cb(uv_handle_t *h) { conn_unref(h->data); }

static void call_unlink_cancel(rp_rpc_call *call)
{
    struct conn *c = call->line->c;
    if (!call->cancel)
        return;
    if (call->cprev)
        call->cprev->cnext = call->cnext;
    else
        c->cancelable = call->cnext;
    if (call->cnext)
        call->cnext->cprev = call->cprev;
    call->cancel = NULL;
}

/* End every subscription of a connection. */
static void conn_drop_subs(struct conn *c)
{
    while (c->subs) {
        struct sub *u = c->subs;
        c->subs = u->next;
        c->srv->ntopic[u->topic]--;
        free(u);
    }
    c->nsubs = 0;
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    conn_drop_subs(c);
    c->reading = 0;
    c->srv->open--;
    uv_close((uv_handle_t *)&c->pipe, conn_closed_cb);
    /* Nobody will read these answers: let their owners stop waiting now
     * rather than at their timeouts. Each cancel answers its call (the
     * answer is dropped), which unlinks it. */
    c->refs++;
    while (c->cancelable) {
        rp_rpc_call *call = c->cancelable;
        rp_rpc_cancel_fn fn = call->cancel;
        void *ctx = call->cancel_ctx;
        call_unlink_cancel(call);
        fn(ctx, call);
    }
    conn_unref(c);
}

/* Put a connection on the flusher's list (once; the list holds a ref). */
static void conn_schedule(struct conn *c)
{
    rp_rpc_server *s = c->srv;
    if (c->dirty || c->closing)
        return;
    c->dirty = 1;
    c->refs++;
    c->next_dirty = s->dirty;
    s->dirty = c;
}

/* Does the buffer still hold a complete line that has not run? */
static int has_line(const struct conn *c)
{
    return c->len > c->off && memchr(c->buf + c->off, '\n', c->len - c->off) != NULL;
}

/* The most a connection may have read and not yet consumed: reading pauses
 * above it and resumes below it. */
static size_t read_high_water(const struct conn *c)
{
    return (size_t)c->srv->lim.max_line * 2 + 65536;
}

/* Nothing more will come from or go to this connection: close it. After
 * the client's EOF that means every complete line it sent has run and been
 * answered (a client that half-closes after pipelining still gets an answer
 * to each line). */
static void conn_maybe_close(struct conn *c)
{
    if (c->closing || c->unsent != 0)
        return;
    /* A half-closed client with subscriptions still reads its notifications:
     * it stays until it closes completely (the sweep notices) or a write
     * fails. */
    if (c->reject || c->draining || c->cut_off || (c->eof && !c->head && !has_line(c) && !c->nsubs))
        conn_close(c);
}

/* Start or stop reading as the connection's limits allow: calls in flight,
 * unsent answers, and bytes read but not consumed. Called whenever one of
 * them falls, so a pause always ends. */
static void update_reading(struct conn *c)
{
    if (c->closing || c->eof || c->srv->stopping || c->cut_off)
        return;
    int want = c->inflight < c->srv->lim.max_inflight && c->unsent < WRITE_HIGH_WATER &&
               c->len - c->off <= read_high_water(c);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, conn_read_cb) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = 0;
    }
}

/* ---- writing responses in order ------------------------------------------------ */

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->c;
    c->unsent -= w->len;
    free(w);
    if (status < 0) {
        conn_close(c);
    } else {
        update_reading(c);
        if (c->len > c->off) { /* lines held back by backpressure */
            c->want_process = 1;
            conn_schedule(c);
        }
        conn_maybe_close(c);
    }
    conn_unref(c);
}

/* Write out[] now: at once if nothing is in flight (usually all of it, and
 * no request or copy), the rest through uv_write, which keeps the order. */
static void conn_write_out(struct conn *c)
{
    size_t n = c->outlen, done = 0;
    c->outlen = 0;
    if (c->closing || n == 0) {
        c->unsent -= n;
        return;
    }
    if (c->unsent == n) { /* no uv_write in flight */
        uv_buf_t b = uv_buf_init(c->out, (unsigned)n);
        int w = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
        if (w < 0 && w != UV_EAGAIN) {
            c->unsent -= n;
            conn_close(c);
            return;
        }
        done = w > 0 ? (size_t)w : 0;
        c->unsent -= done;
    }
    if (done == n)
        return;
    struct write_req *w = malloc(sizeof *w + (n - done));
    if (!w) {
        c->unsent -= n - done;
        conn_close(c);
        return;
    }
    memcpy(w->data, c->out + done, n - done);
    w->len = n - done;
    w->c = c;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
    c->refs++;
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_cb) != 0) {
        c->unsent -= w->len;
        c->refs--;
        free(w);
        conn_close(c);
    }
}

/* Send one response line: it joins out[], which the flusher writes after
 * this loop iteration together with the other answers of the iteration. */
static void conn_send(struct conn *c, const char *text, size_t n)
{
    if (c->closing)
        return;
    if (c->outcap - c->outlen < n + 1) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap - c->outlen < n + 1)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            conn_close(c);
            return;
        }
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, text, n);
    c->out[c->outlen + n] = '\n';
    c->outlen += n + 1;
    c->unsent += n + 1;
    if (c->outlen >= 65536) {
        conn_write_out(c); /* a big answer need not wait */
        return;
    }
    conn_schedule(c);
}

static void spin_cb(uv_idle_t *h) { (void)h; }

/* After each loop iteration: every connection on the list runs its waiting
 * lines (at most LINES_PER_TURN, so one busy client cannot hold the loop)
 * and writes what it has. Answers given from inside other work (a mempool
 * event, a finished job) only schedule this, so a request never starts in
 * the middle of someone else's operation. */
static void flusher_cb(uv_check_t *h)
{
    rp_rpc_server *s = h->data;
    struct conn *c = s->dirty, *next;
    s->dirty = NULL;
    for (; c; c = next) {
        next = c->next_dirty;
        c->dirty = 0;
        if (c->want_process && !c->closing) {
            c->want_process = 0;
            conn_process(c);
        }
        conn_write_out(c);
        conn_maybe_close(c);
        conn_unref(c);
    }
    if (s->dirty)
        uv_idle_start(&s->spin, spin_cb);
    else
        uv_idle_stop(&s->spin);
}

static void send_json(struct conn *c, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (text) {
        conn_send(c, text, strlen(text));
        free(text);
    }
}

/* Send every finished line at the head of the queue. */
static void conn_flush(struct conn *c)
{
    c->refs++; /* each line's unref below may be the last but this */
    while (c->head && c->head->pending == 0) {
        struct line *l = c->head;
        c->head = l->next;
        if (!c->head)
            c->tail = NULL;
        if (l->out) {
            if (l->batch) {
                /* Notifications left holes (JSON null) in the array. */
                json_t *arr = json_array();
                size_t i;
                json_t *v;
                json_array_foreach(l->out, i, v)
                {
                    if (!json_is_null(v))
                        json_array_append(arr, v);
                }
                if (json_array_size(arr))
                    send_json(c, arr);
                json_decref(arr);
            } else {
                send_json(c, l->out);
            }
            json_decref(l->out);
        }
        free(l);
        conn_unref(c);
    }
    conn_unref(c);
}

static struct line *line_new(struct conn *c, int batch, size_t n)
{
    struct line *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->c = c;
    l->batch = batch;
    if (batch) {
        l->out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(l->out, json_null());
    }
    if (c->tail)
        c->tail->next = l;
    else
        c->head = l;
    c->tail = l;
    c->refs++;
    return l;
}

/* An error response. A message that is not valid UTF-8 (it may quote
 * client input) is replaced rather than losing the answer. */
static json_t *error_object(json_t *id, int code, const char *message, json_t *data)
{
    json_t *err = json_pack("{s:i,s:s}", "code", code, "message", message);
    if (!err)
        err = json_pack("{s:i,s:s}", "code", code, "message", "error");
    if (err && data)
        json_object_set_new(err, "data", data);
    else if (data)
        json_decref(data);
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
                     err);
}

/* The answer of last resort when building the real one failed. */
static json_t *internal_error(json_t *id)
{
    return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
                     RP_RPC_INTERNAL, "message", "internal error: the answer could not be built");
}

/* An error for a whole line (parse error, oversize...), id null. */
static void line_error(struct conn *c, int code, const char *message)
{
    struct line *l = line_new(c, 0, 0);
    if (!l) {
        conn_close(c);
        return;
    }
    l->out = error_object(NULL, code, message, NULL);
    c->srv->errors++;
    conn_flush(c);
}

/* ---- calls --------------------------------------------------------------------- */

static uint64_t now_ns(void) { return uv_hrtime(); }

static void call_finish(rp_rpc_call *call, json_t *resp, int is_error)
{
    struct line *l = call->line;
    struct conn *c = l->c;
    rp_rpc_server *s = c->srv;
    if (call->method >= 0) {
        struct method_stats *m = &s->stats[call->method];
        uint64_t us = (now_ns() - call->start_ns) / 1000;
        m->lat_us[m->nlat % LAT_SAMPLES] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        m->nlat++;
        size_t b = 0;
        while (b < RP_RPC_LAT_BUCKETS && us > rp_rpc_lat_bounds_us[b])
            b++;
        m->lat_bucket[b]++;
        m->lat_sum_us += us;
        m->errors += is_error;
    }
    s->errors += is_error;
    call_unlink_cancel(call);
    if (call->id && !resp)
        resp = internal_error(call->id); /* exactly one answer per request */
    if (call->id && resp) {
        if (l->batch)
            json_array_set_new(l->out, call->slot, resp);
        else
            l->out = resp;
    } else if (resp) {
        json_decref(resp);
    }
    if (call->id)
        json_decref(call->id);
    free(call);
    l->pending--;
    c->inflight--;
    c->refs++;
    conn_flush(c);
    if (!c->closing) {
        update_reading(c);
        /* More lines may now run, but not from here: the caller may be in
         * the middle of its own work (a mempool event, say). */
        if (c->len > c->off)
            c->want_process = 1;
        conn_schedule(c);
    }
    conn_unref(c);
}

void rp_rpc_reply(rp_rpc_call *call, json_t *result)
{
    json_t *resp = NULL;
    if (call->id && result)
        resp = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", call->id, "result", result);
    else
        json_decref(result);
    call_finish(call, resp, 0);
}

void rp_rpc_error(rp_rpc_call *call, int code, const char *message, json_t *data)
{
    json_t *resp = NULL;
    if (call->id)
        resp = error_object(call->id, code, message, data);
    else if (data)
        json_decref(data);
    call_finish(call, resp, 1);
}

int rp_rpc_call_live(const rp_rpc_call *call) { return !call->line->c->closing; }

const void *rp_rpc_call_owner(const rp_rpc_call *call) { return call->line->c; }

int rp_rpc_call_can_send(const rp_rpc_call *call)
{
    const struct conn *c = call->line->c;
    return !c->closing && c->unsent < WRITE_HIGH_WATER;
}

void rp_rpc_call_on_cancel(rp_rpc_call *call, rp_rpc_cancel_fn fn, void *ctx)
{
    struct conn *c = call->line->c;
    call_unlink_cancel(call);
    if (!fn)
        return;
    if (c->closing) {
        fn(ctx, call); /* already gone */
        return;
    }
    call->cancel = fn;
    call->cancel_ctx = ctx;
    call->cprev = NULL;
    call->cnext = c->cancelable;
    if (c->cancelable)
        c->cancelable->cprev = call;
    c->cancelable = call;
}

/* Validate one request object and dispatch it, or answer its error. */
static void start_call(struct conn *c, struct line *l, size_t slot, json_t *req)
{
    rp_rpc_server *s = c->srv;
    rp_rpc_call *call = calloc(1, sizeof *call);
    if (!call) {
        conn_close(c);
        return;
    }
    call->line = l;
    call->slot = slot;
    call->method = -1;
    call->start_ns = now_ns();
    l->pending++;
    c->inflight++;
    s->calls++;

    rp_jsonrpc_request r;
    const char *message = NULL;
    int code = rp_jsonrpc_check(req, s->methods, s->nmethods, &r, &message);
    /* As JSON-RPC 2.0 says: a notification is never answered, even with an
     * unknown method or bad params; an invalid request is answered with id
     * null (there may be no usable id to answer with). */
    call->id = json_incref(r.id ? r.id : json_null());
    if (!r.id && code != RP_RPC_INVALID_REQUEST) {
        json_decref(call->id);
        call->id = NULL;
    }
    if (r.method >= 0) {
        call->method = r.method;
        s->stats[r.method].calls++;
    }
    if (code) {
        json_t *data = NULL;
        if (code == RP_RPC_METHOD_NOT_FOUND)
            data = json_pack("{s:s}", "method", json_string_value(json_object_get(req, "method")));
        rp_rpc_error(call, code, message, data);
        return;
    }
    json_t *params = r.params;
    int m = r.method;
    s->dispatch(s->ctx, call, m, params);
}

static void process_line(struct conn *c, const char *text, size_t n)
{
    if (n && text[n - 1] == '\r')
        n--;
    size_t i = 0;
    while (i < n && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i == n)
        return; /* blank lines are ignored */
    json_error_t jerr;
    json_t *v = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        line_error(c, RP_RPC_PARSE_ERROR, "parse error: the line is not valid JSON");
        return;
    }
    if (json_is_array(v)) {
        size_t k = json_array_size(v);
        if (k == 0)
            line_error(c, RP_RPC_INVALID_REQUEST, "empty batch");
        else if (k > c->srv->lim.max_batch)
            line_error(c, RP_RPC_INVALID_REQUEST, "batch too large");
        else {
            struct line *l = line_new(c, 1, k);
            if (!l) {
                conn_close(c);
            } else {
                l->pending++; /* hold the line until every call is started */
                for (size_t j = 0; j < k && !c->closing; j++)
                    start_call(c, l, j, json_array_get(v, j));
                l->pending--;
                conn_flush(c);
            }
        }
    } else {
        struct line *l = line_new(c, 0, 0);
        if (!l)
            conn_close(c);
        else {
            l->pending++;
            start_call(c, l, 0, v);
            l->pending--;
            conn_flush(c);
        }
    }
    json_decref(v);
}

/* Consume complete lines while the connection may take more work. */
static void conn_process(struct conn *c)
{
    rp_rpc_server *s = c->srv;
    size_t off = c->off;
    if (c->processing)
        return;
    c->processing = 1;
    c->refs++; /* callbacks below may close the connection */
    size_t lines = 0;
    while (!c->closing && !c->cut_off && !s->stopping && c->inflight < s->lim.max_inflight &&
           c->unsent < WRITE_HIGH_WATER) {
        char *nl = memchr(c->buf + off, '\n', c->len - off);
        if (!nl)
            break;
        if (lines++ == LINES_PER_TURN) {
            c->want_process = 1; /* the rest on the next turn */
            conn_schedule(c);
            break;
        }
        size_t n = (size_t)(nl - (c->buf + off));
        if (c->discarding)
            c->discarding = 0;
        else if (n > s->lim.max_line)
            line_error(c, RP_RPC_INVALID_REQUEST, "line too long");
        else
            process_line(c, c->buf + off, n);
        off += n + 1;
    }
    c->processing = 0;
    /* Consumed bytes are dropped by moving an offset; the buffer is
     * compacted only when a read needs room (alloc_cb). */
    c->off = off;
    if (c->off == c->len)
        c->off = c->len = 0;
    if (!c->closing && c->len - c->off > s->lim.max_line &&
        !memchr(c->buf + c->off, '\n', c->len - c->off)) {
        if (!c->discarding)
            line_error(c, RP_RPC_INVALID_REQUEST, "line too long");
        c->discarding = 1;
        c->off = c->len = 0;
    }
    /* Lines that produce no answer (blank ones, notifications) free the
     * buffer without any write completing: resume reading here too. */
    update_reading(c);
    conn_maybe_close(c);
    conn_unref(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    size_t want = 65536;
    if (c->cap - c->len < want && c->off) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->cap - c->len < want) {
        size_t cap = c->cap ? c->cap : want;
        while (cap - c->len < want)
            cap *= 2;
        char *p = realloc(c->buf, cap);
        if (!p) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        c->buf = p;
        c->cap = cap;
    }
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Has the client closed its end completely? After a half-close (shutdown
 * of its sending side, as `socat - UNIX-CONNECT:... < file` does) it still
 * reads the answers; after a full close nobody will. On Linux a Unix
 * stream socket whose peer is closed polls POLLHUP; a half-closed one
 * polls only POLLRDHUP. */
static int peer_gone(struct conn *c)
{
    uv_os_fd_t fd;
    if (c->closing || uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
        return 0;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    return poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLERR));
}

/* Close connections whose client left while calls still run: their answers
 * would go nowhere, and cancelling the calls frees what they hold. */
static void sweep_cb(uv_timer_t *t)
{
    rp_rpc_server *s = t->data;
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->eof && (c->inflight || c->nsubs) && peer_gone(c))
            conn_close(c);
        else if (c->cut_off && uv_now(s->loop) - c->cut_off_ms >= CUTOFF_MS)
            conn_close(c); /* it never read its last line: enough */
    }
}

static void conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    (void)buf;
    if (nread < 0) {
        if (nread == UV_EOF) {
            c->eof = 1;
            uv_read_stop(st);
            c->reading = 0;
            /* A last line without its newline still counts (its length is
             * from the last newline, not from the first unread byte). */
            size_t start = c->len;
            while (start > c->off && c->buf[start - 1] != '\n')
                start--;
            if (c->len > start && !(c->discarding && start == c->off) &&
                c->len - start <= c->srv->lim.max_line) {
                if (c->len == c->cap) {
                    char *p = realloc(c->buf, c->cap + 1);
                    if (p) {
                        c->buf = p;
                        c->cap++;
                    }
                }
                if (c->len < c->cap)
                    c->buf[c->len++] = '\n';
            }
            conn_process(c);
            if ((c->inflight || c->nsubs) && peer_gone(c))
                conn_close(c); /* gone for good, not a half-close */
            else
                conn_maybe_close(c);
        } else {
            conn_close(c);
        }
        return;
    }
    c->len += (size_t)nread;
    conn_process(c);
    /* Keep the buffer from growing past a line when reads outpace work;
     * conn_process starts reading again once the lines are consumed. */
    update_reading(c);
}

/* ---- listening ---------------------------------------------------------------- */

static void on_connection(uv_stream_t *ls, int status)
{
    rp_rpc_server *s = ls->data;
    if (status < 0 || s->stopping)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    c->refs = 1;
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->open++;
    if (uv_accept(ls, (uv_stream_t *)&c->pipe) != 0) {
        conn_close(c);
        return;
    }
    /* Closed connections whose calls still run count too: a client cannot
     * leave work behind and come back for more. */
    if (s->nconns > s->lim.max_connections) {
        c->reject = 1;
        json_t *e = error_object(NULL, RP_RPC_TOO_MANY_CONNECTIONS, "too many connections", NULL);
        send_json(c, e);
        json_decref(e);
        return; /* the flusher writes the line, then closes */
    }
    update_reading(c);
}

static void listener_closed_free(uv_handle_t *h) { free(h->data); }

int rp_rpc_start(rp_rpc_server **out, uv_loop_t *loop, const char *path, const rp_rpc_limits *lim,
                 const char *const *methods, int nmethods, rp_rpc_dispatch_fn dispatch, void *ctx,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (strlen(path) > RP_RPC_PATH_MAX) {
        snprintf(err, errlen,
                 "socket path %s is %zu bytes; Unix sockets allow at most %d: use a shorter "
                 "datadir path",
                 path, strlen(path), RP_RPC_PATH_MAX);
        return -ENAMETOOLONG;
    }
    if (nmethods > RP_RPC_MAX_METHODS)
        return RP_ERR_INVALID_ARG;
    rp_rpc_server *s = calloc(1, sizeof *s);
    if (!s)
        return RP_ERR_NOMEM;
    s->loop = loop;
    s->lim = *lim;
    s->methods = methods;
    s->nmethods = nmethods;
    s->dispatch = dispatch;
    s->ctx = ctx;
    snprintf(s->path, sizeof s->path, "%s", path);
    uv_pipe_init(loop, &s->listener, 0);
    s->listener.data = s;
    /* uv_pipe_chmod can only widen; the socket must never exist wider than
     * 0600, so it is born under umask 0177 (a socket is created 0777 minus
     * the umask). */
    mode_t old = umask(0177);
    int rc = uv_pipe_bind(&s->listener, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
        /* The memory holding the handle is freed in its close callback,
         * when the caller's loop next runs. */
        uv_close((uv_handle_t *)&s->listener, listener_closed_free);
        return rc;
    }
    s->listening = 1;
    uv_check_init(loop, &s->flusher);
    s->flusher.data = s;
    uv_check_start(&s->flusher, flusher_cb);
    uv_idle_init(loop, &s->spin);
    s->spin.data = s;
    uv_timer_init(loop, &s->drain);
    s->drain.data = s;
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, sweep_cb, 1000, 1000);
    uv_unref((uv_handle_t *)&s->sweep); /* never what keeps the loop alive */
    s->handles = 5; /* listener, flusher, spin, drain, sweep */
    *out = s;
    return 0;
}

static void server_maybe_free(rp_rpc_server *s)
{
    if (s->stopping && s->handles == 0 && s->nconns == 0)
        free(s);
}

static void server_handle_closed(uv_handle_t *h)
{
    rp_rpc_server *s = h->data;
    s->handles--;
    server_maybe_free(s);
}

/* The last answers had their chance: close whatever is left. */
static void drain_cb(uv_timer_t *t)
{
    rp_rpc_server *s = t->data;
    if (s->drained)
        return;
    s->drained = 1;
    uv_timer_stop(&s->drain);
    for (struct conn *c = s->conns; c; c = c->next)
        conn_close(c);
    uv_check_stop(&s->flusher);
    uv_idle_stop(&s->spin);
    uv_close((uv_handle_t *)&s->flusher, server_handle_closed);
    uv_close((uv_handle_t *)&s->spin, server_handle_closed);
    uv_close((uv_handle_t *)&s->drain, server_handle_closed);
    uv_timer_stop(&s->sweep);
    uv_close((uv_handle_t *)&s->sweep, server_handle_closed);
}

void rp_rpc_stop(rp_rpc_server *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = 1;
    unlink(s->path);
    s->listening = 0;
    uv_close((uv_handle_t *)&s->listener, server_handle_closed);
    /* No more requests are read or run; answers already given (e.g.
     * "shutting down" to waiting clients) are written, then each
     * connection closes, or all of them at the drain deadline. */
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->pipe);
            c->reading = 0;
        }
        c->draining = 1;
        c->want_process = 0;
        conn_schedule(c);
    }
    if (s->nconns == 0)
        drain_cb(&s->drain);
    else
        uv_timer_start(&s->drain, drain_cb, DRAIN_MS, 0);
}

/* ---- subscriptions ------------------------------------------------------------ */

int rp_rpc_subscribe(rp_rpc_call *call, int topic, const unsigned char *key, uint64_t *id)
{
    struct conn *c = call->line->c;
    rp_rpc_server *s = c->srv;
    *id = 0;
    if (topic < 0 || topic >= RP_RPC_MAX_TOPICS)
        return RP_ERR_INVALID_ARG;
    if (c->closing || c->cut_off || s->stopping)
        return RP_ERR_SHUTDOWN;
    if (c->nsubs >= RP_RPC_MAX_SUBS)
        return RP_ERR_TOO_MANY;
    struct sub *u = calloc(1, sizeof *u);
    if (!u)
        return RP_ERR_NOMEM;
    u->id = ++s->next_sub_id;
    u->topic = topic;
    if (key) {
        u->has_key = 1;
        memcpy(u->key, key, 32);
    }
    u->next = c->subs;
    c->subs = u;
    c->nsubs++;
    s->ntopic[topic]++;
    *id = u->id;
    return 0;
}

int rp_rpc_unsubscribe(rp_rpc_call *call, int topic, uint64_t id)
{
    struct conn *c = call->line->c;
    for (struct sub **pp = &c->subs; *pp; pp = &(*pp)->next) {
        struct sub *u = *pp;
        if (u->id == id && u->topic == topic) {
            *pp = u->next;
            c->nsubs--;
            c->srv->ntopic[topic]--;
            free(u);
            return 1;
        }
    }
    return 0;
}

size_t rp_rpc_subscribers(const rp_rpc_server *s, int topic)
{
    return topic >= 0 && topic < RP_RPC_MAX_TOPICS ? s->ntopic[topic] : 0;
}

static int sub_wants(const struct sub *u, int topic, const unsigned char (*keys)[32], size_t nkeys)
{
    if (u->topic != topic)
        return 0;
    if (!u->has_key)
        return 1;
    for (size_t i = 0; i < nkeys; i++)
        if (memcmp(u->key, keys[i], 32) == 0)
            return 1;
    return 0;
}

int rp_rpc_wanted(const rp_rpc_server *s, int topic, const unsigned char (*keys)[32],
                  size_t nkeys)
{
    if (rp_rpc_subscribers(s, topic) == 0 || s->stopping)
        return 0;
    for (const struct conn *c = s->conns; c; c = c->next)
        for (const struct sub *u = c->subs; u; u = u->next)
            if (sub_wants(u, topic, keys, nkeys))
                return 1;
    return 0;
}

/* A subscriber that does not read: end its subscriptions, tell it why (the
 * one line allowed past the bound), stop reading it, and close it once the
 * line is written or CUTOFF_MS later (the sweep). */
static void conn_cut_off(struct conn *c)
{
    rp_rpc_server *s = c->srv;
    conn_drop_subs(c);
    c->cut_off = 1;
    c->cut_off_ms = uv_now(s->loop);
    s->slow_subscribers++;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = 0;
    }
    rp_log(RP_LOG_WARN, "rpc_subscriber_cut_off", "unsent=%zu", c->unsent);
    json_t *e = error_object(NULL, RP_RPC_SUBSCRIBER_TOO_SLOW,
                             "subscription queue full: the client did not read", NULL);
    send_json(c, e);
    json_decref(e);
}

void rp_rpc_publish(rp_rpc_server *s, int topic, const unsigned char (*keys)[32], size_t nkeys,
                    const char *method, json_t *result)
{
    if (!rp_rpc_wanted(s, topic, keys, nkeys))
        return;
    char *body = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (!body)
        return;
    size_t blen = strlen(body), cap = blen + strlen(method) + 128;
    char *line = malloc(cap);
    if (!line) {
        free(body);
        return;
    }
    for (struct conn *c = s->conns, *next; c; c = next) {
        c->refs++; /* a failed write may close it; its successor stays linked */
        for (struct sub *u = c->subs, *unext; u && !c->closing && !c->cut_off; u = unext) {
            unext = u->next; /* a failed send frees the list */
            if (!sub_wants(u, topic, keys, nkeys))
                continue;
            /* method names are the caller's identifiers: no escaping needed */
            int k = snprintf(line, cap,
                             "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":{"
                             "\"subscription\":%llu,\"result\":",
                             method, (unsigned long long)u->id);
            if (k < 0 || (size_t)k + blen + 2 >= cap)
                continue;
            memcpy(line + k, body, blen);
            memcpy(line + k + blen, "}}", 2);
            size_t n = (size_t)k + blen + 2;
            if (c->unsent + n + 1 > RP_RPC_NOTIFY_MAX) {
                conn_cut_off(c);
                break;
            }
            conn_send(c, line, n);
            s->notifications++;
        }
        next = c->next;
        conn_unref(c);
    }
    free(line);
    free(body);
}

/* ---- metrics -------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

json_t *rp_rpc_metrics(rp_rpc_server *s)
{
    json_t *methods = json_object();
    static uint32_t tmp[LAT_SAMPLES];
    for (int i = 0; i < s->nmethods; i++) {
        struct method_stats *m = &s->stats[i];
        if (!m->calls)
            continue;
        size_t n = m->nlat < LAT_SAMPLES ? m->nlat : LAT_SAMPLES;
        memcpy(tmp, m->lat_us, n * sizeof *tmp);
        qsort(tmp, n, sizeof *tmp, cmp_u32);
        json_object_set_new(
            methods, s->methods[i],
            json_pack("{s:I,s:I,s:I,s:I}", "calls", (json_int_t)m->calls, "errors",
                      (json_int_t)m->errors, "p50_us", (json_int_t)(n ? tmp[n / 2] : 0), "p99_us",
                      (json_int_t)(n ? tmp[(n * 99) / 100] : 0)));
    }
    size_t nsubs = 0;
    for (int t = 0; t < RP_RPC_MAX_TOPICS; t++)
        nsubs += s->ntopic[t];
    return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:o}", "connections", (int)s->nconns, "calls",
                     (json_int_t)s->calls, "errors", (json_int_t)s->errors, "subscriptions",
                     (json_int_t)nsubs, "notifications", (json_int_t)s->notifications,
                     "slow_subscribers", (json_int_t)s->slow_subscribers, "methods", methods);
}

uint32_t rp_rpc_connections(const rp_rpc_server *s)
{
    return s->nconns;
}

int rp_rpc_method_stats_get(const rp_rpc_server *s, int i, rp_rpc_method_stats *out)
{
    memset(out, 0, sizeof *out);
    if (i < 0 || i >= s->nmethods)
        return -1;
    const struct method_stats *m = &s->stats[i];
    out->calls = m->calls;
    out->errors = m->errors;
    out->lat_sum_us = m->lat_sum_us;
    uint64_t acc = 0;
    for (size_t b = 0; b < RP_RPC_LAT_BUCKETS; b++)
        out->lat_le[b] = acc += m->lat_bucket[b];
    out->answered = acc + m->lat_bucket[RP_RPC_LAT_BUCKETS];
    return 0;
}
