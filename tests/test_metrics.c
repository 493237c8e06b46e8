/* The Prometheus endpoint ([metrics] listen, node/metrics.h), against a
 * real reputed (tests/node_fixture.h), scraped with a plain HTTP/1.1 GET on
 * a socket:
 *
 *   - GET /metrics answers the exposition format 0.0.4, which Prometheus'
 *     own `promtool check metrics` accepts; its figures move (chain height
 *     after blocks, records and RPC requests and latencies after calls);
 *     HEAD answers the headers alone;
 *   - another path is 404, another method 405 with Allow;
 *   - it is off by default: node.info says so and the node listens on no
 *     TCP port at all;
 *   - a non-loopback address without allow_remote, a host name, and a port
 *     already in use each stop the node at start with a clear message.
 *
 * promtool comes with Debian's prometheus package, which scripts/dev.sh
 * installs; without it the suite fails and says so rather than skip.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/error.h"
#include "node_fixture.h"

/* ---- HTTP over a plain socket -------------------------------------------------------- */

struct http_resp {
    int status;
    char headers[4096]; /* the header lines, as received */
    char *body;         /* NUL-terminated, malloc'd */
    size_t body_len;
};

static void http_free(struct http_resp *r)
{
    free(r->body);
    r->body = NULL;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* One request, answered until the server closes (Connection: close). */
static void http(int port, const char *method, const char *path, struct http_resp *r)
{
    memset(r, 0, sizeof *r);
    int fd = tcp_connect(port);
    ck_assert_msg(fd >= 0, "connect to 127.0.0.1:%d: %s", port, strerror(-fd));
    /* A POST carries a small body, which the node must discard. */
    int post = strcmp(method, "POST") == 0;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: test_metrics\r\n"
                     "Connection: close\r\n%s\r\n%s",
                     method, path, port, post ? "Content-Length: 2\r\n" : "", post ? "{}" : "");
    write_all(fd, req, (size_t)n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    uint64_t end = mono_ms() + 10000;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, 200);
        ck_assert_msg(mono_ms() < end, "no complete answer to %s %s in 10 s", method, path);
        if (pr <= 0)
            continue;
        if (len + 4096 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t k = read(fd, buf + len, cap - len - 1);
        if (k < 0 && errno == EINTR)
            continue;
        ck_assert_msg(k >= 0, "read: %s", strerror(errno));
        if (k == 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    buf[len] = 0;
    ck_assert_msg(sscanf(buf, "HTTP/1.1 %d", &r->status) == 1, "not an HTTP answer: %.200s", buf);
    char *sep = strstr(buf, "\r\n\r\n");
    ck_assert_ptr_nonnull(sep);
    size_t hl = (size_t)(sep - buf);
    ck_assert_uint_lt(hl, sizeof r->headers);
    memcpy(r->headers, buf, hl);
    r->headers[hl] = 0;
    r->body_len = len - hl - 4;
    r->body = malloc(r->body_len + 1);
    ck_assert_ptr_nonnull(r->body);
    memcpy(r->body, sep + 4, r->body_len + 1);
    free(buf);
}

/* A header's value (case-insensitive name), or NULL. */
static const char *header(const struct http_resp *r, const char *name, char *out, size_t cap)
{
    const char *line = strstr(r->headers, "\r\n");
    size_t nl = strlen(name);
    while (line) {
        line += 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            snprintf(out, cap, "%.*s", (int)n, v);
            return out;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

/* ---- the exposition text -------------------------------------------------------------- */

/* The value of the sample written exactly `series` (name and labels as the
 * node writes them), or -1 if there is none. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, series, n) && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

/* The body of GET /metrics, kept until teardown. */
static const char *scrape_text(int port)
{
    struct http_resp r;
    http(port, "GET", "/metrics", &r);
    ck_assert_msg(r.status == 200, "GET /metrics: %d %s", r.status, r.body);
    json_t *s = gc(json_string(r.body));
    http_free(&r);
    ck_assert_ptr_nonnull(s);
    return json_string_value(s);
}

/* Scrape until series is at least min (the snapshot is up to a second
 * old). Returns its value. */
static double wait_value(int port, const char *series, double min)
{
    uint64_t end = mono_ms() + 15000;
    for (;;) {
        double v = value_of(scrape_text(port), series);
        if (v >= min)
            return v;
        ck_assert_msg(mono_ms() < end, "%s stayed at %g, below %g", series, v, min);
        sleep_ms(200);
    }
}

/* promtool, or a failure that says how to get it. */
static const char *promtool(void)
{
    static char path[4096];
    const char *env = getenv("PATH");
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s:/usr/bin:/usr/local/bin", env ? env : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, sizeof path, "%s/promtool", d);
        if (access(path, X_OK) == 0)
            return path;
    }
    ck_abort_msg("promtool not found in PATH: install Debian's prometheus package "
                 "(scripts/dev.sh installs it: scripts/dev.sh test, or apt-get install "
                 "prometheus)");
    return NULL;
}

/* `promtool check metrics < text`: must exit 0 and print no lint problem. */
static void promtool_check(const char *text)
{
    const char *tool = promtool();
    char in[256], out[256], cmd[4096 + 600];
    snprintf(in, sizeof in, "%s/scrape.txt", T.work);
    snprintf(out, sizeof out, "%s/promtool.out", T.work);
    write_file(in, text);
    snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s' > '%s' 2>&1", tool, in, out);
    int st = system(cmd);
    char msg[4096] = "";
    FILE *f = fopen(out, "r");
    if (f) {
        size_t k = fread(msg, 1, sizeof msg - 1, f);
        msg[k] = 0;
        fclose(f);
    }
    ck_assert_msg(st == 0 && msg[0] == 0, "promtool check metrics (status %d): %s", st, msg);
}

static void metrics_loopback_any_port(rp_config *cfg)
{
    strcpy(cfg->metrics_listen, "127.0.0.1:0");
}

static int metrics_port(void)
{
    rp_rpc_client *c = cli();
    json_t *info = call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    json_t *p = json_object_get(info, "metrics_port");
    ck_assert_msg(json_is_integer(p), "node.info has no metrics_port");
    ck_assert_int_gt(json_integer_value(p), 0);
    return (int)json_integer_value(p);
}

/* ---- tests ----------------------------------------------------------------------------- */

/* The families move with the node, and promtool accepts the text. */
START_TEST(test_scrape_moves_and_passes_promtool)
{
    conf_edit(metrics_loopback_any_port);
    node_start();
    int port = metrics_port();
    struct http_resp r;
    http(port, "GET", "/metrics", &r);
    char v[256];
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(header(&r, "Content-Type", v, sizeof v));
    ck_assert_msg(!strncmp(v, "text/plain; version=0.0.4", 25), "Content-Type: %s", v);
    http_free(&r);

    const char *text = scrape_text(port);
    double h0 = wait_value(port, "repute_chain_height", 0);
    ck_assert(value_of(text, "repute_process_start_time_seconds") > 1e9);
    ck_assert(value_of(text, "repute_uptime_seconds") >= 0);
    ck_assert(strstr(text, "\nrepute_build_info{version=\"0.1.0\",chain=\"") != NULL);
    ck_assert(strstr(text, "# TYPE repute_rpc_request_duration_seconds histogram\n"));
    ck_assert(value_of(text, "repute_sync_state{state=\"off\"}") >= 0);
    ck_assert(value_of(text, "repute_mempool_records") >= 0);

    /* A record in a block: height, records, mempool and RPC figures move. */
    rp_rpc_client *c = cli();
    double sub0 = value_of(text, "repute_rpc_requests_total{method=\"record.submit\"}");
    ck_assert(sub0 >= 0);
    ident a;
    ident_gen(&a, RP_ROLE_TALENT, "Metrics Talent");
    rp_record rec = r_identity(&a);
    expect_status(submit_ok(c, &rec, 1), "included");
    for (int i = 0; i < 5; i++)
        call_ok(c, "chain.head", NULL);
    ck_assert_int_eq(call_err(c, "record.get", P("{s:s}", "id", "00"), NULL),
                     -32602); /* invalid params */
    rp_rpc_close(c);

    wait_value(port, "repute_chain_height", h0 + 1);
    wait_value(port, "repute_records_included_total", 1);
    wait_value(port, "repute_mempool_admitted_total", 1);
    wait_value(port, "repute_rpc_requests_total{method=\"record.submit\"}", sub0 + 1);
    wait_value(port, "repute_rpc_requests_total{method=\"chain.head\"}", 5);
    wait_value(port, "repute_rpc_errors_total{method=\"record.get\"}", 1);
    text = scrape_text(port);
    double count =
        value_of(text, "repute_rpc_request_duration_seconds_count{method=\"chain.head\"}");
    ck_assert_msg(count >= 5, "chain.head histogram count %g", count);
    ck_assert(value_of(text, "repute_rpc_request_duration_seconds_bucket{method=\"chain.head\","
                             "le=\"+Inf\"}") == count);
    ck_assert(value_of(text, "repute_rpc_request_duration_seconds_bucket{method=\"chain.head\","
                             "le=\"5\"}") <= count);
    ck_assert(value_of(text, "repute_rpc_request_duration_seconds_sum{method=\"chain.head\"}") >=
              0);
    ck_assert(value_of(text, "repute_blocks_committed_total{via=\"local\"}") >= 1);
    promtool_check(text);

    /* HEAD: the headers, no body. */
    http(port, "HEAD", "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert_ptr_nonnull(header(&r, "Content-Type", v, sizeof v));
    http_free(&r);
    node_stop();
}
END_TEST

/* Only GET and HEAD of /metrics are answered. */
START_TEST(test_other_paths_and_methods)
{
    conf_edit(metrics_loopback_any_port);
    node_start();
    int port = metrics_port();
    static const char *const paths[] = {"/", "/metrics/", "/metricsx", "/x/metrics",
                                        "/favicon.ico"};
    struct http_resp r;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http(port, "GET", paths[i], &r);
        ck_assert_msg(r.status == 404, "GET %s: %d", paths[i], r.status);
        http_free(&r);
    }
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
    char v[128];
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        http(port, methods[i], "/metrics", &r);
        ck_assert_msg(r.status == 405, "%s /metrics: %d", methods[i], r.status);
        ck_assert_ptr_nonnull(header(&r, "Allow", v, sizeof v));
        ck_assert_str_eq(v, "GET, HEAD");
        http_free(&r);
    }
    /* A query string does not change the answer. */
    http(port, "GET", "/metrics?x=1", &r);
    ck_assert_int_eq(r.status, 200);
    http_free(&r);
    node_stop();
}
END_TEST

/* The TCP ports pid listens on (from /proc: its socket inodes in LISTEN). */
static size_t listening_ports(pid_t pid, int *ports, size_t cap)
{
    char path[128];
    unsigned long inodes[512];
    size_t ni = 0, np = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)) && ni < 512) {
        char lp[sizeof path + 260], target[128];
        snprintf(lp, sizeof lp, "%s/%s", path, de->d_name);
        ssize_t k = readlink(lp, target, sizeof target - 1);
        if (k <= 0)
            continue;
        target[k] = 0;
        if (sscanf(target, "socket:[%lu]", &inodes[ni]) == 1)
            ni++;
    }
    closedir(d);
    static const char *const tables[] = {"tcp", "tcp6"};
    for (size_t t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, tables[t]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char local[80];
            unsigned st;
            unsigned long inode;
            if (sscanf(line, " %*d: %79s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3)
                continue;
            if (st != 0x0A)
                continue; /* not LISTEN */
            for (size_t i = 0; i < ni; i++)
                if (inodes[i] == inode && np < cap) {
                    char *colon = strrchr(local, ':');
                    ports[np++] = colon ? (int)strtol(colon + 1, NULL, 16) : -1;
                }
        }
        fclose(f);
    }
    return np;
}

/* Without [metrics] listen nothing listens (the dev datadir accepts no
 * peers either, so the node has no TCP listener at all). */
START_TEST(test_off_by_default)
{
    node_start();
    rp_rpc_client *c = cli();
    json_t *info = call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    ck_assert(json_is_null(json_object_get(info, "metrics_port")));
    int ports[16];
    size_t n = listening_ports(T.pid, ports, 16);
    ck_assert_msg(n == 0, "the node listens on %zu TCP port(s), the first %d", n, n ? ports[0] : 0);
    node_stop();
    /* The same datadir with the endpoint on: exactly its port listens. */
    conf_edit(metrics_loopback_any_port);
    node_start();
    int port = metrics_port();
    n = listening_ports(T.pid, ports, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ports[0], port);
    node_stop();
}
END_TEST

/* reputed run must fail at start, its output holding want. */
static void refused_at_start(const char *want)
{
    char out[4096];
    char *argv[] = {reputed_bin, "run", "--datadir", T.dir, NULL};
    int st = run_cmd(argv, out, sizeof out, 60000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "reputed started; output:\n%s", out);
    ck_assert_msg(strstr(out, want), "no '%s' in the output:\n%s", want, out);
    /* It never got as far as the socket. */
    ck_assert_int_ne(access(T.sock, F_OK), 0);
}

static const char *listen_value;
static int allow_remote;
static void set_listen(rp_config *cfg)
{
    snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "%s", listen_value);
    cfg->metrics_allow_remote = allow_remote;
}

START_TEST(test_bad_listen_refused)
{
    listen_value = "0.0.0.0:9464";
    conf_edit(set_listen);
    refused_at_start("is not a loopback address");
    listen_value = "192.0.2.1:9464";
    conf_edit(set_listen);
    refused_at_start("allow_remote");
    /* A name, or no port: the config refuses it, with its line. */
    char path[256];
    snprintf(path, sizeof path, "%s/reputed.conf", T.dir);
    listen_value = "";
    conf_edit(set_listen);
    static const char *const bad[] = {"localhost:9464", "127.0.0.1", "127.0.0.1:70000"};
    rp_config cfg;
    char err[512];
    ck_assert_int_eq(rp_config_load(&cfg, path, err, sizeof err), 0);
    char *text = rp_config_format(&cfg);
    ck_assert_ptr_nonnull(text);
    char *at = strstr(text, "[metrics]");
    ck_assert_ptr_nonnull(at);
    char *line = strstr(at, "\nlisten =");
    ck_assert_ptr_nonnull(line);
    size_t head = (size_t)(line - text) + 1;
    char *rest = strchr(line + 1, '\n');
    size_t cap = strlen(text) + 128;
    char *edited = malloc(cap);
    ck_assert_ptr_nonnull(edited);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(edited, cap, "%.*slisten = %s%s", (int)head, text, bad[i], rest);
        write_file(path, edited);
        refused_at_start("listen");
        refused_at_start(bad[i]);
    }
    write_file(path, text);
    free(edited);
    free(text);
    /* allow_remote lets a wildcard address through. */
    listen_value = "0.0.0.0:0";
    allow_remote = 1;
    conf_edit(set_listen);
    allow_remote = 0;
    node_start();
    ck_assert_int_gt(metrics_port(), 0);
    node_stop();
}
END_TEST

START_TEST(test_port_in_use_refused)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    static char taken[32];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", ntohs(a.sin_port));
    listen_value = taken;
    conf_edit(set_listen);
    refused_at_start("cannot serve metrics on");
    refused_at_start("Address already in use");
    close(fd);
    /* Freed, the same port serves. */
    node_start();
    ck_assert_int_eq(metrics_port(), ntohs(a.sin_port));
    node_stop();
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, node_fixture_setup, node_fixture_teardown);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    if (fixture_prepare("metrics") != 0)
        return 1;
    Suite *s = suite_create("metrics");
    add(s, "scrape_moves_and_passes_promtool", test_scrape_moves_and_passes_promtool, 180);
    add(s, "other_paths_and_methods", test_other_paths_and_methods, 120);
    add(s, "off_by_default", test_off_by_default, 120);
    add(s, "bad_listen_refused", test_bad_listen_refused, 180);
    add(s, "port_in_use_refused", test_port_in_use_refused, 120);
    return fixture_run("metrics", s);
}
