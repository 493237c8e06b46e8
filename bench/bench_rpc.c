/* RPC benchmark: a real `reputed run` on a temporary dev datadir, measured
 * over its Unix socket, next to the machine's own limits measured in the
 * same run.
 *
 *   (a) score.get: throughput and p50/p99 latency with 1, 10 and 50
 *       clients, each a connection with ONE request in flight (send a line,
 *       read the answer, repeat): the honest comparison with
 *       redis-benchmark's default -P 1. Like redis-benchmark, one client
 *       thread drives all the connections with poll(). Identities rotate
 *       over 2,000 rows of a committed epoch.
 *   (b) the same client counts against `redis-server` on a Unix socket in
 *       the temp folder (port 0, no persistence), driven by
 *       `redis-benchmark -t get --csv`; our figure, redis's, and the ratio
 *       (bar: at least 0.5, and our p99 under 1 ms). Without redis
 *       installed this part prints SKIP (scripts/dev.sh bench installs
 *       redis-server and redis-tools; this program installs nothing).
 *   (c) record ingest: 2,000 identities are registered first; then, per
 *       run, 43,000 records (1,000 co-signed engagements, 2,000 reviews,
 *       40,000 vouches: 44,000 signatures) are built and signed BEFORE the
 *       timer starts, and sent over 4 connections, pipelined, wait=false
 *       (each identity's records on one connection, in sequence order). The
 *       clock stops when the node has included every one of them
 *       (node.metrics records_included). Reported in signatures per second
 *       next to the raw BIP-340 verify rate of all cores, measured here the
 *       way bench_crypto measures it (x-only key parse + verify), and the
 *       ratio (target: at least 0.7).
 *
 * The node's conf is the dev one with three changes, printed at start: a
 * mempool large enough for a whole load, block_interval_ms 100 (the dev
 * chain's 500 ms with 10,000 records a block would cap inclusion at 20,000
 * records/s whatever the node can verify), and log_level warn. Figures are
 * medians over --runs runs (3). Client and server share the machine's
 * cores, for redis as for repute.
 *
 * Usage: bench_rpc [--runs N] [--requests N] [--no-ingest] [--no-scores]
 * The reputed binary is $RP_REPUTED, or ../node/reputed next to this
 * program's own folder (build/bench -> build/node).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "node/config.h"
#include "node/init.h"
#include "node/rpc_client.h"

#define NID            2000 /* registered identities */
#define CONNS          4    /* ingest connections */
#define ENGAGEMENTS    1000 /* per ingest run */
#define VOUCHES_PER    20   /* per identity per ingest run */
#define MAX_RUNS       9
#define LINE_MAX_BYTES (2 * RP_RECORD_MAX_SIZE + 160)

static char reputed_bin[4096];
static char work[64], datadir[96], sock_path[128], node_log[128];
static pid_t node_pid, redis_pid;
static rp_hash chain;
static unsigned pow_difficulty;
static int runs = 3;
static long requests = 100000;

/* ---- small things ---------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void cleanup(int keep)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
    if (node_pid > 0) {
        kill(node_pid, SIGKILL);
        waitpid(node_pid, NULL, 0);
        node_pid = 0;
    }
    if (work[0] && !keep) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", work);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_rpc: could not remove %s\n", work);
    }
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench_rpc: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (work[0])
        fprintf(stderr, "bench_rpc: kept %s (node log: %s)\n", work, node_log);
    cleanup(1);
    exit(1);
}

static int contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (s[i] == needle[0] && !memcmp(s + i, needle, n))
            return 1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* fork/exec with stdout and stderr to out (appended); the child dies with us. */
static pid_t spawn(char *const argv[], const char *out)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        die("cannot open %s: %s", out, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd);
    return pid;
}

static int wait_exit(pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (now_s() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        sleep_ms(10);
    }
    return st;
}

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[4096];
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        path += n + (end ? 1 : 0);
    }
    return 0;
}

/* ---- the node ------------------------------------------------------------------------------ */

static rp_rpc_client *connect_node(void)
{
    rp_rpc_client *c = NULL;
    int rc = rp_rpc_connect(&c, sock_path);
    if (rc)
        die("connect %s: %s", sock_path, strerror(-rc));
    return c;
}

static json_t *call(rp_rpc_client *c, const char *method, json_t *params)
{
    json_t *res = NULL;
    rp_rpc_error e;
    int rc = rp_rpc_call(c, method, params, &res, &e);
    json_decref(params);
    if (rc)
        die("%s: %s (code %d)", method, e.message, e.code);
    rp_rpc_error_clear(&e);
    return res;
}

static uint64_t get_u64(rp_rpc_client *c, const char *method, const char *obj, const char *key)
{
    json_t *r = call(c, method, NULL);
    json_t *o = obj ? json_object_get(r, obj) : r;
    uint64_t v;
    if (rp_rpc_get_u64(o, key, &v) != 0)
        die("%s: no %s", method, key);
    json_decref(r);
    return v;
}

static void start_node(void)
{
    char *argv[] = {reputed_bin, "run", "--datadir", datadir, NULL};
    node_pid = spawn(argv, node_log);
    double end = now_s() + 30;
    for (;;) {
        int st;
        if (waitpid(node_pid, &st, WNOHANG) == node_pid) {
            node_pid = 0;
            die("reputed exited while starting (see %s)", node_log);
        }
        rp_rpc_client *c = NULL;
        if (rp_rpc_connect(&c, sock_path) == 0) {
            json_t *r = NULL;
            rp_rpc_error e;
            int rc = rp_rpc_call(c, "node.info", NULL, &r, &e);
            json_decref(r);
            rp_rpc_error_clear(&e);
            rp_rpc_close(c);
            if (rc == 0)
                return;
        }
        if (now_s() > end)
            die("reputed did not answer on %s", sock_path);
        sleep_ms(20);
    }
}

static void stop_node(void)
{
    kill(node_pid, SIGTERM);
    int st = wait_exit(node_pid, 60);
    node_pid = 0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("reputed did not stop cleanly after SIGTERM (status %d)", st);
}

static void make_datadir(void)
{
    snprintf(work, sizeof work, "/tmp/rp-bench-rpc-XXXXXX");
    if (!mkdtemp(work))
        die("mkdtemp: %s", strerror(errno));
    snprintf(datadir, sizeof datadir, "%s/d", work);
    snprintf(sock_path, sizeof sock_path, "%s/rpc.sock", datadir);
    snprintf(node_log, sizeof node_log, "%s/node.log", work);
    rp_init_result res;
    rp_init_opts o;
    char err[1024];
    memset(&o, 0, sizeof o);
    o.datadir = datadir;
    o.dev = 1;
    o.result = &res;
    if (rp_node_init(&o, err, sizeof err) != 0)
        die("init: %s", err);
    chain = res.chain_id;

    char path[160];
    rp_config cfg;
    snprintf(path, sizeof path, "%s/reputed.conf", datadir);
    if (rp_config_load(&cfg, path, err, sizeof err) != 0)
        die("conf: %s", err);
    cfg.mempool_max_count = 1000000;
    cfg.mempool_max_bytes = 1ULL << 30;
    cfg.block_interval_ms = 100;
    cfg.rpc_max_inflight = 512;
    cfg.log_level = RP_LOG_WARN;
    char *text = rp_config_format(&cfg);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write %s", path);
    free(text);
}

/* ---- identities and records ------------------------------------------------------------------ */

typedef struct ident {
    rp_seckey sk;
    rp_pubkey pk;
    uint64_t seq;
    char hex[65];
} ident;

static ident *ids;

static void sign_slot(rp_record *r, size_t slot, const rp_seckey *sk, uint64_t *ctr)
{
    static const unsigned char seed[32] = {7, 7, 7};
    unsigned char aux[32];
    rp_aux_derive(aux, seed, (*ctr)++);
    if (rp_record_sign(r, slot, &chain, sk, aux) != 0)
        die("signing failed");
}

static rp_record base(ident *who, unsigned type, uint64_t t)
{
    rp_record r;
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.type = (uint8_t)type;
    r.issuer = who->pk;
    r.seq = ++who->seq;
    r.time = t;
    return r;
}

/* A load: one buffer of request lines per connection. */
struct load {
    char *buf[CONNS];
    size_t len[CONNS], cap[CONNS];
    size_t lines[CONNS];
    size_t records, sigs;
};

static void load_add(struct load *L, int conn, const rp_record *r)
{
    unsigned char bytes[RP_RECORD_MAX_SIZE];
    char hex[2 * RP_RECORD_MAX_SIZE + 1];
    size_t len;
    if (rp_record_encode(r, bytes, sizeof bytes, &len) != 0)
        die("encode failed");
    rp_hex_encode(hex, sizeof hex, bytes, len);
    if (L->cap[conn] - L->len[conn] < LINE_MAX_BYTES) {
        size_t cap = L->cap[conn] ? L->cap[conn] * 2 : (1u << 20);
        char *p = realloc(L->buf[conn], cap);
        if (!p)
            die("out of memory");
        L->buf[conn] = p;
        L->cap[conn] = cap;
    }
    L->len[conn] += (size_t)snprintf(L->buf[conn] + L->len[conn], L->cap[conn] - L->len[conn],
                                     "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"record.submit\","
                                     "\"params\":{\"record\":\"%s\"}}\n",
                                     L->lines[conn], hex);
    L->lines[conn]++;
    L->records++;
    L->sigs += rp_record_nsigs(r->type);
}

static void load_free(struct load *L)
{
    for (int k = 0; k < CONNS; k++)
        free(L->buf[k]);
    memset(L, 0, sizeof *L);
}

static struct load registrations(void)
{
    struct load L;
    memset(&L, 0, sizeof L);
    uint64_t t = (uint64_t)time(NULL), ctr = 0;
    for (int i = 0; i < NID; i++) {
        ident *id = &ids[i];
        rp_record r = base(id, RP_REC_IDENTITY, t);
        r.body.identity.role = (uint8_t)(1 + i % 3);
        int k = snprintf(r.body.identity.name, sizeof r.body.identity.name, "bench %d", i);
        r.body.identity.name_len = (uint8_t)k;
        if (rp_identity_pow_solve(&r, &chain, pow_difficulty, 1u << 30) != 0)
            die("proof of work failed");
        sign_slot(&r, 0, &id->sk, &ctr);
        load_add(&L, i % CONNS, &r);
    }
    return L;
}

/* One ingest run's records, in an order every connection can send as is:
 * an identity's records all go over connection id % CONNS, in sequence
 * order, and a review follows its engagement on the same connection. */
static struct load ingest_load(int run)
{
    struct load L;
    memset(&L, 0, sizeof L);
    uint64_t t = (uint64_t)time(NULL), ctr = (uint64_t)run << 32;
    for (int k = 0; k < CONNS; k++) {
        /* the identities of connection k: k, k + CONNS, ... */
        int n = 0, cls[NID];
        for (int i = k; i < NID; i += CONNS)
            cls[n++] = i;
        rp_record eng[ENGAGEMENTS / CONNS];
        int pa[ENGAGEMENTS / CONNS], pb[ENGAGEMENTS / CONNS];
        for (int m = 0; m < ENGAGEMENTS / CONNS; m++) {
            ident *a = &ids[cls[(2 * m) % n]], *b = &ids[cls[(2 * m + 1) % n]];
            pa[m] = cls[(2 * m) % n];
            pb[m] = cls[(2 * m + 1) % n];
            rp_record r = base(a, RP_REC_ENGAGEMENT, t);
            r.body.engagement.counterparty = b->pk;
            r.body.engagement.kind = RP_ENG_GIG;
            memset(r.body.engagement.terms.bytes, (int)(m + run), 32);
            r.body.engagement.terms.bytes[0] = (unsigned char)k;
            r.body.engagement.expiry = t + 3600;
            sign_slot(&r, 0, &a->sk, &ctr);
            sign_slot(&r, 1, &b->sk, &ctr);
            eng[m] = r;
            load_add(&L, k, &r);
        }
        for (int m = 0; m < ENGAGEMENTS / CONNS; m++) {
            rp_hash eid;
            rp_record_id(&eid, &chain, &eng[m]);
            for (int dir = 0; dir < 2; dir++) {
                ident *from = &ids[dir ? pb[m] : pa[m]], *to = &ids[dir ? pa[m] : pb[m]];
                rp_record r = base(from, RP_REC_REVIEW, t);
                r.body.review.engagement = eid;
                r.body.review.subject = to->pk;
                r.body.review.overall = (uint8_t)(1 + (m + dir) % 5);
                r.body.review.dims[RP_DIM_QUALITY] = (uint8_t)(1 + m % 5);
                sign_slot(&r, 0, &from->sk, &ctr);
                load_add(&L, k, &r);
            }
        }
        for (int j = 0; j < n; j++) {
            int i = cls[j];
            for (int v = 0; v < VOUCHES_PER; v++) {
                int subj = (i + 1 + run * VOUCHES_PER + v) % NID;
                rp_record r = base(&ids[i], RP_REC_VOUCH, t);
                r.body.vouch.subject = ids[subj].pk;
                r.body.vouch.relation = (uint8_t)(1 + v % 3);
                sign_slot(&r, 0, &ids[i].sk, &ctr);
                load_add(&L, k, &r);
            }
        }
    }
    return L;
}

/* ---- sending a load: a writer and a reader per connection
 * ------------------------------------------ */

struct conn_job {
    int fd;
    const char *buf;
    size_t len, lines;
    size_t answered, errors;
    char first_error[300];
    double done_at;
};

static int raw_connect(void)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(sock_path) >= sizeof sa.sun_path)
        die("socket path too long");
    memcpy(sa.sun_path, sock_path, strlen(sock_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("connect %s: %s", sock_path, strerror(errno));
    return fd;
}

static void *writer(void *arg)
{
    struct conn_job *j = arg;
    size_t off = 0;
    while (off < j->len) {
        ssize_t n = send(j->fd, j->buf + off, j->len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)n;
    }
    return NULL;
}

static void *reader(void *arg)
{
    struct conn_job *j = arg;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    while (buf && j->answered < j->lines) {
        ssize_t n = read(j->fd, buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
            size_t ll = (size_t)(nl - (buf + start));
            const char *line = buf + start;
            j->answered++;
            /* Admitted answers say pending (or held/known); anything else is
             * an error object. */
            if (!contains(line, ll, "\"result\"")) {
                if (!j->errors++)
                    snprintf(j->first_error, sizeof j->first_error, "%.*s",
                             (int)(ll < 290 ? ll : 290), line);
            }
            start += ll + 1;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (len == cap)
            len = 0;
    }
    j->done_at = now_s();
    free(buf);
    return NULL;
}

struct ingest_result {
    double admit_s, include_s;
    size_t errors;
    char first_error[300];
};

/* Send a load and wait until the node has included all of it. */
static struct ingest_result send_load(const struct load *L, rp_rpc_client *ctl)
{
    struct ingest_result out;
    memset(&out, 0, sizeof out);
    uint64_t base_included = get_u64(ctl, "node.metrics", "counters", "records_included");
    struct conn_job jobs[CONNS];
    pthread_t wt[CONNS], rt[CONNS];
    for (int k = 0; k < CONNS; k++) {
        memset(&jobs[k], 0, sizeof jobs[k]);
        jobs[k].fd = raw_connect();
        jobs[k].buf = L->buf[k];
        jobs[k].len = L->len[k];
        jobs[k].lines = L->lines[k];
    }
    double t0 = now_s();
    for (int k = 0; k < CONNS; k++) {
        if (pthread_create(&rt[k], NULL, reader, &jobs[k]) != 0 ||
            pthread_create(&wt[k], NULL, writer, &jobs[k]) != 0)
            die("pthread_create failed");
    }
    double last_admit = t0;
    for (int k = 0; k < CONNS; k++) {
        pthread_join(wt[k], NULL);
        pthread_join(rt[k], NULL);
        close(jobs[k].fd);
        if (jobs[k].done_at > last_admit)
            last_admit = jobs[k].done_at;
        if (jobs[k].errors && !out.errors)
            snprintf(out.first_error, sizeof out.first_error, "%s", jobs[k].first_error);
        out.errors += jobs[k].errors;
        if (jobs[k].answered != jobs[k].lines)
            die("connection %d: %zu answers for %zu requests", k, jobs[k].answered, jobs[k].lines);
    }
    out.admit_s = last_admit - t0;
    uint64_t want = base_included + L->records - out.errors;
    double end = now_s() + 300;
    for (;;) {
        uint64_t inc = get_u64(ctl, "node.metrics", "counters", "records_included");
        if (inc >= want)
            break;
        if (now_s() > end)
            die("only %llu of %zu records included after 300 s",
                (unsigned long long)(inc - base_included), L->records);
        sleep_ms(5);
    }
    out.include_s = now_s() - t0;
    return out;
}

/* Until the epoch that holds everything included so far is committed, so
 * the node is idle and the score table complete. */
static void settle(rp_rpc_client *c)
{
    uint64_t h = get_u64(c, "chain.head", NULL, "height");
    uint64_t want = (h + 9) / 10;
    double end = now_s() + 120;
    while (get_u64(c, "chain.head", NULL, "epoch") < want) {
        if (now_s() > end)
            die("epoch %llu not committed within 120 s", (unsigned long long)want);
        sleep_ms(50);
    }
    /* and no block is in the making any more */
    uint64_t h0 = get_u64(c, "chain.head", NULL, "height");
    for (;;) {
        sleep_ms(300);
        uint64_t h1 = get_u64(c, "chain.head", NULL, "height");
        if (h1 == h0)
            return;
        h0 = h1;
    }
}

/* ---- (a) score.get
 * ------------------------------------------------------------------------------- */

/* One client thread drives every connection with poll(), as
 * redis-benchmark's own client does, so both sides pay the same client
 * cost: each connection has one request in flight, and the next is sent as
 * soon as its answer is in. */
static char (*score_lines)[200];
static size_t score_line_len[NID];

struct figure {
    double rps, p50_ms, p99_ms;
    int have_lat;
};

struct sconn {
    int fd;
    double sent_at;
    size_t len;
    char buf[8192];
};

static void score_send(struct sconn *c, long k)
{
    const char *line = score_lines[k % NID];
    size_t len = score_line_len[k % NID], off = 0;
    c->sent_at = now_s();
    while (off < len) {
        ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("score.get: send failed: %s", strerror(errno));
        off += (size_t)n;
    }
}

static struct figure score_run(int clients)
{
    struct sconn *cs = calloc((size_t)clients, sizeof *cs);
    struct pollfd *pfd = calloc((size_t)clients, sizeof *pfd);
    double *lat = malloc((size_t)requests * sizeof *lat);
    if (!cs || !pfd || !lat)
        die("out of memory");
    for (int i = 0; i < clients; i++) {
        cs[i].fd = raw_connect();
        pfd[i].fd = cs[i].fd;
        pfd[i].events = POLLIN;
    }
    long issued = 0, done = 0, bad = 0;
    double t0 = now_s();
    for (int i = 0; i < clients && issued < requests; i++)
        score_send(&cs[i], issued++ * 7919);
    while (done < requests) {
        int n = poll(pfd, (nfds_t)clients, 10000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("score.get: no answer within 10 s");
        for (int i = 0; i < clients; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct sconn *c = &cs[i];
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r <= 0)
                die("score.get: the node closed a connection");
            c->len += (size_t)r;
            char *nl = memchr(c->buf, '\n', c->len);
            if (!nl) {
                if (c->len == sizeof c->buf)
                    die("score.get: an answer longer than %zu bytes", sizeof c->buf);
                continue;
            }
            size_t ll = (size_t)(nl - c->buf);
            lat[done++] = now_s() - c->sent_at;
            if (!contains(c->buf, ll, "\"result\""))
                bad++;
            if (c->len != ll + 1)
                die("score.get: an answer nobody asked for");
            c->len = 0;
            if (issued < requests)
                score_send(c, issued++ * 7919);
        }
    }
    double el = now_s() - t0;
    for (int i = 0; i < clients; i++)
        close(cs[i].fd);
    if (bad)
        die("%ld score.get answers were errors", bad);
    qsort(lat, (size_t)requests, sizeof *lat, cmp_double);
    struct figure f = {(double)requests / el, lat[requests / 2] * 1e3,
                       lat[(requests * 99) / 100] * 1e3, 1};
    free(cs);
    free(pfd);
    free(lat);
    return f;
}

static struct figure median_figure(struct figure *f, int n)
{
    double a[MAX_RUNS], b[MAX_RUNS], c[MAX_RUNS];
    for (int i = 0; i < n; i++) {
        a[i] = f[i].rps;
        b[i] = f[i].p50_ms;
        c[i] = f[i].p99_ms;
    }
    struct figure m = {median(a, n), median(b, n), median(c, n), f[0].have_lat};
    return m;
}

/* ---- (b) redis
 * ------------------------------------------------------------------------------------ */

static char redis_sock[128];

static int start_redis(void)
{
    char log[128];
    snprintf(redis_sock, sizeof redis_sock, "%s/redis.sock", work);
    snprintf(log, sizeof log, "%s/redis.log", work);
    char *argv[] = {"redis-server",
                    "--port",
                    "0",
                    "--unixsocket",
                    redis_sock,
                    "--unixsocketperm",
                    "700",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    work,
                    "--daemonize",
                    "no",
                    NULL};
    redis_pid = spawn(argv, log);
    double end = now_s() + 20;
    struct stat sb;
    while (stat(redis_sock, &sb) != 0) {
        int st;
        if (waitpid(redis_pid, &st, WNOHANG) == redis_pid) {
            redis_pid = 0;
            fprintf(stderr, "bench_rpc: redis-server exited at start (see %s)\n", log);
            return -1;
        }
        if (now_s() > end) {
            fprintf(stderr, "bench_rpc: redis-server did not create %s\n", redis_sock);
            return -1;
        }
        sleep_ms(20);
    }
    return 0;
}

static void stop_redis(void)
{
    if (redis_pid <= 0)
        return;
    kill(redis_pid, SIGTERM);
    wait_exit(redis_pid, 20);
    redis_pid = 0;
}

/* Run redis-benchmark; parse the CSV line of GET (rps and, with redis 7,
 * p50 and p99 latency in ms). Returns 0 or -1. */
static int redis_bench(int clients, long n, struct figure *f)
{
    char out[128], ns[32], cs[32];
    snprintf(out, sizeof out, "%s/redis-bench.csv", work);
    snprintf(ns, sizeof ns, "%ld", n);
    snprintf(cs, sizeof cs, "%d", clients);
    unlink(out);
    char *argv[] = {"redis-benchmark", "-s", redis_sock, "-t", "get", "-n", ns, "-c", cs,
                    "--csv",           NULL};
    pid_t pid = spawn(argv, out);
    int st = wait_exit(pid, 300);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    FILE *fp = fopen(out, "r");
    if (!fp)
        return -1;
    char line[1024], header[1024] = "";
    int ok = -1;
    memset(f, 0, sizeof *f);
    while (fgets(line, sizeof line, fp)) {
        if (!strncmp(line, "\"test\"", 6))
            snprintf(header, sizeof header, "%s", line);
        if (strncmp(line, "\"GET\"", 5) != 0)
            continue;
        /* Split both lines on commas; match columns by header name. */
        char *cols[16], *hcols[16];
        int nc = 0, nh = 0;
        for (char *p = strtok(line, ",\r\n"); p && nc < 16; p = strtok(NULL, ",\r\n"))
            cols[nc++] = p;
        for (char *p = strtok(header, ",\r\n"); p && nh < 16; p = strtok(NULL, ",\r\n"))
            hcols[nh++] = p;
        for (int i = 0; i < nc; i++) {
            char *v = cols[i];
            if (*v == '"')
                v++;
            double x = atof(v);
            const char *h = i < nh ? hcols[i] : "";
            if (i == 1) {
                f->rps = x;
                ok = 0;
            } else if (strstr(h, "p50_latency_ms")) {
                f->p50_ms = x;
                f->have_lat = 1;
            } else if (strstr(h, "p99_latency_ms")) {
                f->p99_ms = x;
            }
        }
    }
    fclose(fp);
    return ok;
}

/* ---- the raw verify rate (as bench_crypto measures it)
 * -------------------------------------------------- */

#define VKEYS 64
static secp256k1_context *vctx;
static unsigned char vpk[VKEYS][32], vmsg[VKEYS][32], vsig[VKEYS][64];

struct vjob {
    double seconds;
    unsigned offset;
    unsigned long ops, bad;
};

static void *verify_worker(void *arg)
{
    struct vjob *j = arg;
    double end = now_s() + j->seconds;
    unsigned i = j->offset;
    while (now_s() < end) {
        for (int k = 0; k < 64; k++, i++) {
            secp256k1_xonly_pubkey pk;
            if (!secp256k1_xonly_pubkey_parse(vctx, &pk, vpk[i % VKEYS]) ||
                !secp256k1_schnorrsig_verify(vctx, vsig[i % VKEYS], vmsg[i % VKEYS], 32, &pk))
                j->bad++;
            j->ops++;
        }
    }
    return NULL;
}

static double raw_verify_rate(int threads)
{
    unsigned char rnd[32];
    vctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    rp_aux_fresh(rnd);
    if (!vctx || !secp256k1_context_randomize(vctx, rnd))
        die("secp256k1 context failed");
    for (int i = 0; i < VKEYS; i++) {
        secp256k1_keypair kp;
        secp256k1_xonly_pubkey x;
        rp_seckey sk;
        if (rp_seckey_generate(&sk) != 0 || !secp256k1_keypair_create(vctx, &kp, sk.bytes) ||
            !secp256k1_keypair_xonly_pub(vctx, &x, NULL, &kp) ||
            !secp256k1_xonly_pubkey_serialize(vctx, vpk[i], &x))
            die("key setup failed");
        for (int b = 0; b < 32; b++)
            vmsg[i][b] = (unsigned char)(i * 3 + b);
        if (!secp256k1_schnorrsig_sign32(vctx, vsig[i], vmsg[i], &kp, NULL))
            die("signing failed");
        sodium_memzero(&sk, sizeof sk);
        sodium_memzero(&kp, sizeof kp);
    }
    double v[5];
    for (int r = 0; r < 5; r++) {
        pthread_t th[64];
        struct vjob jobs[64];
        double t0 = now_s();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (struct vjob){.seconds = 0.5, .offset = (unsigned)t * 977u};
            if (pthread_create(&th[t], NULL, verify_worker, &jobs[t]) != 0)
                die("pthread_create failed");
        }
        unsigned long ops = 0, bad = 0;
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            ops += jobs[t].ops;
            bad += jobs[t].bad;
        }
        if (bad)
            die("raw verification failed: the benchmark is broken");
        v[r] = (double)ops / (now_s() - t0);
    }
    secp256k1_context_destroy(vctx);
    return median(v, 5);
}

/* ---- main
 * ---------------------------------------------------------------------------------------------- */

static void find_reputed(const char *argv0)
{
    const char *env = getenv("RP_REPUTED");
    if (env) {
        snprintf(reputed_bin, sizeof reputed_bin, "%s", env);
    } else {
        char self[4000];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            snprintf(self, sizeof self, "%s", argv0);
        else
            self[n] = 0;
        char *sl = strrchr(self, '/');
        if (sl)
            *sl = 0;
        else
            snprintf(self, sizeof self, ".");
        snprintf(reputed_bin, sizeof reputed_bin, "%s/../node/reputed", self);
    }
    if (access(reputed_bin, X_OK) != 0) {
        fprintf(stderr, "bench_rpc: no reputed at %s (build it, or set RP_REPUTED)\n", reputed_bin);
        exit(1);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    cleanup(0);
    _exit(130);
}

int main(int argc, char **argv)
{
    int do_scores = 1, do_ingest = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
            requests = atol(argv[++i]);
        else if (!strcmp(argv[i], "--no-ingest"))
            do_ingest = 0;
        else if (!strcmp(argv[i], "--no-scores"))
            do_scores = 0;
        else {
            fprintf(stderr, "usage: bench_rpc [--runs N] [--requests N] [--no-ingest] "
                            "[--no-scores]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || requests < 100) {
        fprintf(stderr, "bench_rpc: --runs 1..%d, --requests >= 100\n", MAX_RUNS);
        return 2;
    }
    find_reputed(argv[0]);
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "bench_rpc: %s\n", rp_strerror(RP_ERR_CRYPTO_INIT));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cores > 0 && cores <= 64 ? (int)cores : 1;

    make_datadir();
    start_node();
    rp_rpc_client *ctl = connect_node();
    json_t *info = call(ctl, "node.info", NULL);
    pow_difficulty = (unsigned)json_integer_value(json_object_get(info, "pow_difficulty"));
    json_decref(info);
    printf("bench_rpc: reputed dev node in %s (conf: block_interval_ms 100, mempool 1M "
           "records); %d core(s); medians of %d run(s)\n",
           datadir, threads, runs);

    /* 2,000 registered identities, in the score table of a committed epoch. */
    ids = calloc(NID, sizeof *ids);
    score_lines = calloc(NID, sizeof *score_lines);
    if (!ids || !score_lines)
        die("out of memory");
    for (int i = 0; i < NID; i++) {
        if (rp_seckey_generate(&ids[i].sk) != 0 || rp_pubkey_from_seckey(&ids[i].pk, &ids[i].sk))
            die("keygen failed");
        rp_hex_encode(ids[i].hex, sizeof ids[i].hex, ids[i].pk.bytes, 32);
        int k = snprintf(score_lines[i], sizeof score_lines[i],
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"score.get\",\"params\":"
                         "{\"identity\":\"%s\"}}\n",
                         ids[i].hex);
        score_line_len[i] = (size_t)k;
    }
    struct load reg = registrations();
    double t = now_s();
    struct ingest_result rr = send_load(&reg, ctl);
    if (rr.errors)
        die("%zu registrations refused, the first: %s", rr.errors, rr.first_error);
    printf("registered %d identities in %.2f s\n", NID, now_s() - t);
    load_free(&reg);
    settle(ctl);
    fflush(stdout);

    /* (a) and (b) */
    static const int client_counts[] = {1, 10, 50};
    enum { NCC = 3 };
    struct figure ours[NCC], theirs[NCC];
    int have_redis = 0;
    if (do_scores) {
        for (int ci = 0; ci < NCC; ci++) {
            struct figure f[MAX_RUNS];
            for (int r = 0; r < runs; r++)
                f[r] = score_run(client_counts[ci]);
            ours[ci] = median_figure(f, runs);
        }
        if (!on_path("redis-server") || !on_path("redis-benchmark")) {
            printf("SKIP redis comparison: redis-server/redis-benchmark not installed "
                   "(scripts/dev.sh bench installs redis-server and redis-tools)\n");
        } else if (start_redis() != 0) {
            printf("SKIP redis comparison: redis-server did not start\n");
        } else {
            /* Give GET a value to return, as score.get returns a row. */
            char *argv_set[] = {"redis-benchmark",
                                "-s",
                                redis_sock,
                                "-t",
                                "set",
                                "-n",
                                "1000",
                                "-c",
                                "1",
                                "-q",
                                NULL};
            char out[160];
            snprintf(out, sizeof out, "%s/redis-set.log", work);
            wait_exit(spawn(argv_set, out), 60);
            have_redis = 1;
            for (int ci = 0; ci < NCC && have_redis; ci++) {
                struct figure f[MAX_RUNS];
                for (int r = 0; r < runs; r++) {
                    if (redis_bench(client_counts[ci], requests, &f[r]) != 0) {
                        printf("SKIP redis comparison: redis-benchmark failed\n");
                        have_redis = 0;
                        break;
                    }
                }
                if (have_redis)
                    theirs[ci] = median_figure(f, runs);
            }
            stop_redis();
        }
        printf("\n(a) score.get over the Unix socket, %ld requests per run, one request in "
               "flight per client (not pipelined; redis-benchmark -P 1)\n",
               requests);
        printf("%-8s %14s %9s %9s %16s %9s %9s %8s\n", "clients", "repute req/s", "p50 ms",
               "p99 ms", "redis GET req/s", "p50 ms", "p99 ms", "ratio");
        for (int ci = 0; ci < NCC; ci++) {
            printf("%-8d %14.0f %9.3f %9.3f", client_counts[ci], ours[ci].rps, ours[ci].p50_ms,
                   ours[ci].p99_ms);
            if (have_redis) {
                if (theirs[ci].have_lat)
                    printf(" %16.0f %9.3f %9.3f", theirs[ci].rps, theirs[ci].p50_ms,
                           theirs[ci].p99_ms);
                else
                    printf(" %16.0f %9s %9s", theirs[ci].rps, "-", "-");
                printf(" %8.3f", ours[ci].rps / theirs[ci].rps);
            } else {
                printf(" %16s %9s %9s %8s", "SKIP", "-", "-", "-");
            }
            printf("   %s\n",
                   ours[ci].p99_ms < 1.0 && (!have_redis || ours[ci].rps >= 0.5 * theirs[ci].rps)
                       ? "meets the bar"
                       : "BELOW THE BAR");
        }
        printf("(bar: ratio >= 0.50 and repute p99 < 1 ms)\n");
        fflush(stdout);
    }

    /* (c) ingest */
    if (do_ingest) {
        double sig_rate[MAX_RUNS], rec_rate[MAX_RUNS], admit_rate[MAX_RUNS];
        size_t sigs = 0, recs = 0;
        printf("\n(c) record ingest over RPC: pre-signed loads, %d connections pipelined, "
               "wait=false, clock stops when all are included\n",
               CONNS);
        for (int r = 0; r < runs; r++) {
            double tg = now_s();
            struct load L = ingest_load(r);
            double gen_s = now_s() - tg;
            struct ingest_result ir = send_load(&L, ctl);
            if (ir.errors)
                die("run %d: %zu records refused, the first: %s", r + 1, ir.errors, ir.first_error);
            sigs = L.sigs;
            recs = L.records;
            sig_rate[r] = (double)L.sigs / ir.include_s;
            rec_rate[r] = (double)L.records / ir.include_s;
            admit_rate[r] = (double)L.sigs / ir.admit_s;
            printf("  run %d: %zu records, %zu signatures (signed in %.2f s, untimed): all "
                   "answered in %.2f s, all included in %.2f s: %.0f sig/s\n",
                   r + 1, L.records, L.sigs, gen_s, ir.admit_s, ir.include_s, sig_rate[r]);
            load_free(&L);
            fflush(stdout);
            settle(ctl);
        }
        double raw = raw_verify_rate(threads);
        double ingest = median(sig_rate, runs), admit = median(admit_rate, runs);
        printf("%-44s %12.0f sig/s (%.0f records/s; %zu records, %zu signatures a run)\n",
               "ingest, median (until included)", ingest, median(rec_rate, runs), recs, sigs);
        printf("%-44s %12.0f sig/s\n", "  admission alone (until all answered)", admit);
        printf("%-44s %12.0f sig/s (%d threads, same run)\n", "raw BIP-340 verify, all cores", raw,
               threads);
        printf("%-44s %12.3f   (target >= 0.70)  %s\n", "ratio ingest/raw", ingest / raw,
               ingest / raw >= 0.7 ? "meets the target" : "BELOW THE TARGET");
    }

    rp_rpc_close(ctl);
    stop_node();
    cleanup(0);
    free(ids);
    free(score_lines);
    return 0;
}
