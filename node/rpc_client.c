/* A blocking JSON-RPC client over a Unix socket (contract in rpc_client.h).
 *
 * The read side keeps one growing buffer: bytes arrive in chunks, a line is
 * handed out once its newline is in, and whatever follows it stays for the
 * next line, so pipelined responses are never lost. The buffer grows by
 * doubling up to RP_RPC_MAX_RESPONSE plus the newline, and a longer line is
 * refused rather than followed. A timeout is a deadline for the whole call,
 * enforced with poll() before every read and write.
 */
#include "node/rpc_client.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct rp_rpc_client {
    int fd;
    unsigned timeout_ms;
    int64_t deadline_ms; /* of the current call, or -1 for none */
    uint64_t next_id;
    char *buf;    /* buf[start..end) holds unread bytes */
    size_t start; /* the next line begins here */
    size_t end;
    size_t cap;
    size_t line_end; /* a line handed out ends here (its newline included) */
    json_t *notes;       /* notifications read while waiting for an answer, oldest first */
    size_t notes_bytes;  /* their line lengths, bounded by RP_RPC_MAX_RESPONSE */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void begin_call(rp_rpc_client *c)
{
    c->deadline_ms = c->timeout_ms ? now_ms() + c->timeout_ms : -1;
}

/* Wait until fd is ready for events, or the deadline passes. */
static int wait_for(rp_rpc_client *c, short events)
{
    if (c->deadline_ms < 0)
        return 0;
    for (;;) {
        int64_t left = c->deadline_ms - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = c->fd, .events = events};
        int n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static void set_msg(rp_rpc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_msg(rp_rpc_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static void reset_err(rp_rpc_error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->message[0] = '\0';
    err->data = NULL;
}

int rp_rpc_connect(rp_rpc_client **out, const char *path)
{
    *out = NULL;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path));
    rp_rpc_client *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->next_id = 1;
    c->deadline_ms = -1;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        int e = -errno;
        free(c);
        return e;
    }
    while (connect(c->fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno == EINTR)
            continue;
        int e = -errno;
        close(c->fd);
        free(c);
        return e;
    }
    *out = c;
    return 0;
}

void rp_rpc_close(rp_rpc_client *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    json_decref(c->notes);
    free(c);
}

void rp_rpc_set_timeout(rp_rpc_client *c, unsigned timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

static int send_all(rp_rpc_client *c, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        int rc = wait_for(c, POLLOUT);
        if (rc)
            return rc;
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == EPIPE ? -ECONNRESET : -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int rp_rpc_send_raw(rp_rpc_client *c, const void *buf, size_t len)
{
    begin_call(c);
    return send_all(c, buf, len);
}

static int read_line(rp_rpc_client *c, const char **line, size_t *len)
{
    /* Drop the line handed out last time; while scanning, line_end == start. */
    c->start = c->line_end;
    if (c->start == c->end)
        c->start = c->end = c->line_end = 0;
    size_t scanned = c->start;
    for (;;) {
        char *nl = c->end > scanned ? memchr(c->buf + scanned, '\n', c->end - scanned) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->start));
            if (n > RP_RPC_MAX_RESPONSE)
                return -EMSGSIZE;
            c->line_end = c->start + n + 1;
            if (n > 0 && c->buf[c->start + n - 1] == '\r')
                n--;
            c->buf[c->start + n] = '\0';
            *line = c->buf + c->start;
            *len = n;
            return 0;
        }
        scanned = c->end;
        if (c->end - c->start > RP_RPC_MAX_RESPONSE)
            return -EMSGSIZE;
        if (c->end == c->cap) {
            if (c->start > 0) { /* make room by moving the partial line down */
                memmove(c->buf, c->buf + c->start, c->end - c->start);
                c->end -= c->start;
                scanned -= c->start;
                c->start = c->line_end = 0;
            } else {
                size_t ncap = c->cap ? c->cap * 2 : 65536;
                if (ncap > RP_RPC_MAX_RESPONSE + 2)
                    ncap = RP_RPC_MAX_RESPONSE + 2;
                char *nb = realloc(c->buf, ncap);
                if (!nb)
                    return -ENOMEM;
                c->buf = nb;
                c->cap = ncap;
            }
        }
        int rc = wait_for(c, POLLIN);
        if (rc)
            return rc;
        ssize_t n = read(c->fd, c->buf + c->end, c->cap - c->end);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        if (n == 0)
            return -ECONNRESET;
        c->end += (size_t)n;
    }
}

int rp_rpc_read_line(rp_rpc_client *c, const char **line, size_t *len)
{
    begin_call(c);
    return read_line(c, line, len);
}

static const char *describe(int rc)
{
    switch (rc) {
    case -ECONNRESET: return "the node closed the connection";
    case -ETIMEDOUT: return "no answer from the node in time";
    case -EMSGSIZE: return "the node's answer is longer than 16 MiB";
    case -ENOMEM: return "out of memory";
    default: return strerror(-rc);
    }
}

/* Send one request object as a line. */
static int send_request(rp_rpc_client *c, json_t *req, rp_rpc_error *err)
{
    char *text = json_dumps(req, JSON_COMPACT);
    if (!text) {
        set_msg(err, "cannot encode the request (out of memory, or params not JSON)");
        return -ENOMEM;
    }
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        set_msg(err, "out of memory");
        return -ENOMEM;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    int rc = send_all(c, line, n + 1);
    free(line);
    if (rc)
        set_msg(err, "cannot send the request: %s", describe(rc));
    return rc;
}

static json_t *make_request(const char *method, json_t *params, uint64_t id)
{
    json_t *req = json_object();
    if (!req)
        return NULL;
    int bad = json_object_set_new(req, "jsonrpc", json_string("2.0")) ||
              json_object_set_new(req, "method", json_string(method));
    if (id)
        bad |= json_object_set_new(req, "id", json_integer((json_int_t)id));
    if (params)
        bad |= json_object_set(req, "params", params);
    if (bad) {
        json_decref(req);
        return NULL;
    }
    return req;
}

int rp_rpc_notify(rp_rpc_client *c, const char *method, json_t *params, rp_rpc_error *err)
{
    reset_err(err);
    begin_call(c);
    json_t *req = make_request(method, params, 0);
    if (!req) {
        set_msg(err, "out of memory");
        return -ENOMEM;
    }
    int rc = send_request(c, req, err);
    json_decref(req);
    return rc;
}

/* A line from the node that is a request without id: a notification. */
static int is_notification(const json_t *v)
{
    return json_is_object(v) && !json_object_get(v, "id") &&
           json_is_string(json_object_get(v, "method"));
}

int rp_rpc_call(rp_rpc_client *c, const char *method, json_t *params, json_t **result,
                rp_rpc_error *err)
{
    *result = NULL;
    reset_err(err);
    begin_call(c);
    uint64_t id = c->next_id++;
    json_t *req = make_request(method, params, id);
    if (!req) {
        set_msg(err, "out of memory");
        return -ENOMEM;
    }
    int rc = send_request(c, req, err);
    json_decref(req);
    if (rc)
        return rc;

    const char *line;
    size_t len;
    json_t *resp;
    for (;;) {
        if ((rc = read_line(c, &line, &len)) != 0) {
            set_msg(err, "no answer to %s: %s", method, describe(rc));
            return rc;
        }
        json_error_t jerr;
        resp = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!resp) {
            set_msg(err, "the node's answer is not JSON: %s", jerr.text);
            return -EPROTO;
        }
        if (!is_notification(resp))
            break;
        /* A subscription's notification came first: keep it for
         * rp_rpc_next_notification, within a bound. */
        size_t nb = json_dumpb(resp, NULL, 0, JSON_COMPACT); /* as it is counted out */
        if (c->notes_bytes + nb > RP_RPC_MAX_RESPONSE) {
            json_decref(resp);
            set_msg(err, "more than 16 MiB of notifications arrived while waiting for %s",
                    method);
            return -ENOBUFS;
        }
        if (!c->notes)
            c->notes = json_array();
        if (!c->notes || json_array_append_new(c->notes, resp) != 0) {
            set_msg(err, "out of memory");
            return -ENOMEM;
        }
        c->notes_bytes += nb;
    }
    json_t *rid = json_object_get(resp, "id");
    json_t *res = json_object_get(resp, "result");
    json_t *e = json_object_get(resp, "error");
    if (!json_is_object(resp) || !json_is_integer(rid) ||
        (uint64_t)json_integer_value(rid) != id || (!res) == (!e)) {
        /* An error about the line itself (id null) is still worth showing. */
        json_t *msg = json_is_object(e) ? json_object_get(e, "message") : NULL;
        if (json_is_string(msg))
            set_msg(err, "the node refused the request: %s", json_string_value(msg));
        else
            set_msg(err, "the node's answer is not a JSON-RPC response to request %" PRIu64, id);
        json_decref(resp);
        return -EPROTO;
    }
    if (res) {
        *result = json_incref(res);
        json_decref(resp);
        return 0;
    }
    json_t *code = json_object_get(e, "code");
    json_t *msg = json_object_get(e, "message");
    if (!json_is_integer(code) || !json_is_string(msg)) {
        set_msg(err, "the node's error answer has no code or message");
        json_decref(resp);
        return -EPROTO;
    }
    err->code = (int)json_integer_value(code);
    set_msg(err, "%s", json_string_value(msg));
    json_t *data = json_object_get(e, "data");
    err->data = data ? json_incref(data) : NULL;
    json_decref(resp);
    return RP_RPC_REPLY_ERROR;
}

int rp_rpc_next_notification(rp_rpc_client *c, json_t **note, rp_rpc_error *err)
{
    *note = NULL;
    reset_err(err);
    if (c->notes && json_array_size(c->notes)) {
        json_t *v = json_incref(json_array_get(c->notes, 0));
        json_array_remove(c->notes, 0);
        size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
        c->notes_bytes -= n;
        *note = v;
        return 0;
    }
    begin_call(c);
    const char *line;
    size_t len;
    int rc = read_line(c, &line, &len);
    if (rc) {
        set_msg(err, "no notification: %s", describe(rc));
        return rc;
    }
    json_error_t jerr;
    json_t *v = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        set_msg(err, "the node's line is not JSON: %s", jerr.text);
        return -EPROTO;
    }
    if (is_notification(v)) {
        *note = v;
        return 0;
    }
    /* The node's last word to a connection (id null): why it is closing. */
    json_t *e = json_object_get(v, "error");
    json_t *code = json_object_get(e, "code"), *msg = json_object_get(e, "message");
    if (json_is_null(json_object_get(v, "id")) && json_is_integer(code) && json_is_string(msg)) {
        err->code = (int)json_integer_value(code);
        set_msg(err, "%s", json_string_value(msg));
        json_decref(v);
        return RP_RPC_REPLY_ERROR;
    }
    json_decref(v);
    set_msg(err, "the node sent a line that is not a notification");
    return -EPROTO;
}

void rp_rpc_error_clear(rp_rpc_error *err)
{
    if (!err)
        return;
    json_decref(err->data);
    reset_err(err);
}

int rp_rpc_get_u64(const json_t *obj, const char *key, uint64_t *out)
{
    *out = 0;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return -ENOENT;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return -EPROTO;
        *out = (uint64_t)i;
        return 0;
    }
    if (!json_is_string(v))
        return -EPROTO;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > 20)
        return -EPROTO;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EPROTO;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -EPROTO;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}
