/* Network benchmark: real `reputed` processes on loopback, talking over
 * real sockets (docs/p2p.md), each driven through its RPC socket, with every
 * figure printed next to a reference measured in the same run.
 *
 *   1. Propagation. Eight nodes: a dev validator (rp_node_init --dev, 500 ms
 *      blocks) and seven full nodes of its chain, each listening on
 *      127.0.0.1:0 and dialing 1-2 earlier nodes as persistent peers (node i
 *      dials i-1 and (i-1)/2, so 13 links, at most 3 hops between any two
 *      nodes; max_outbound 0 keeps the mesh as drawn). --records IDENTITY
 *      registrations (default 200), signed before the clock starts, are
 *      submitted one at a time, round-robin over the nodes, with wait=false;
 *      then record.get is polled on every node (every 2 ms, each node until
 *      it answers) until all eight hold the record, in the mempool or on
 *      chain. Printed: p50 and p99 of submit -> visible on all 8 nodes,
 *      next to the reference, submit -> visible on the submitting node
 *      (the record.submit round trip: the record is pending when it
 *      returns), and the ratio.
 *   3. Bytes on the wire, from the node.metrics "p2p" counters of all eight
 *      nodes before and after part 1: bytes sent / (records x links), with
 *      the part that carried the blocks of part 1 (computed from those
 *      blocks' sizes and the number each node synced) shown apart; and
 *      record bodies sent (RECORDS entries) / (records x 7), which is 1.0
 *      when every node got each body exactly once by gossip (a node that got
 *      a record in a block first lowers it; a duplicate body raises it
 *      above 1.0); each next to the record's own encoded size.
 *   2. Sync. repute-gen writes a chain (--identities 20000 --reviews 100000
 *      --records-per-block 1000 by default: ~180k records, ~234k
 *      signatures in ~210 blocks); its validator serves it on 127.0.0.1:0;
 *      a fresh full node (rp_node_init with the chain's genesis, the
 *      validator as its one persistent peer) is started and timed until its
 *      height equals the validator's (the generated chain is settled, so
 *      the validator's height stays put). The node is stopped and `reputed
 *      verify` run on its datadir; verify's summary gives the signatures
 *      the synced chain holds (records' and commits', what sync checked) and
 *      verify's own time. Printed: sync sig/s (those signatures / sync
 *      time, process start included), verify sig/s, ratio (bar: 0.8).
 *
 * Every wait is bounded and fails with a message naming the node and the
 * tail of its log. Children die with this process (PR_SET_PDEATHSIG); on
 * exit, failure or signal they are killed and the temporary folder is
 * removed (--keep-work keeps it on failure, for the logs).
 *
 * Usage: bench_p2p [--records N] [--identities N] [--reviews M]
 *                  [--records-per-block R] [--skip-sync] [--keep DIR]
 *                  [--keep-work]
 *   --keep DIR: generate the sync chain in DIR and keep it; if DIR already
 *               holds a chain (DIR/genesis.json), serve that one instead.
 * reputed is $RP_REPUTED or ../node/reputed next to this program's folder,
 * repute-gen $RP_REPUTE_GEN or ../node/repute-gen.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/record.h"
#include "node/config.h"
#include "node/init.h"
#include "node/rpc_client.h"

#define MESH          8  /* nodes of part 1 */
#define MAXN          10 /* the mesh, then the sync pair */
#define POLL_MS       2
#define CALL_MS       15000
#define START_S       30.0  /* until a node answers on its socket */
#define RECORD_S      30.0  /* until a record is on every node */
#define SETTLE_S      60.0  /* until the mesh is idle after part 1 */
#define SYNC_S        600.0 /* until the fresh node has the chain */
#define STALL_S       60.0  /* without any height progress */
#define GEN_S         900.0
#define VERIFY_S      600.0
#define OVERALL_S     1800 /* the whole run, whatever happens */
#define ERR_NOT_FOUND (-32001)

struct node {
    char name[16];
    char dir[192], sock[224], log[224];
    pid_t pid;
    char id[65];
    unsigned port;
    rp_rpc_client *c;
};

static char reputed_bin[4096], gen_bin[4096];
static char work[64];
static int keep_work;
static struct node nodes[MAXN];
static int nnodes;
static pid_t child_pid; /* repute-gen or reputed verify, while it runs */

/* ---- small things ------------------------------------------------------------------- */

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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-th quantile (0..1) of v[0..n), by rank; sorts v. */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = (size_t)(q * (double)n);
    if (q == 0.5)
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return v[k < n ? k : n - 1];
}

static void kill_children(void)
{
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = 0;
    }
    for (int i = 0; i < nnodes; i++) {
        if (nodes[i].c) {
            rp_rpc_close(nodes[i].c);
            nodes[i].c = NULL;
        }
        if (nodes[i].pid > 0) {
            kill(nodes[i].pid, SIGKILL);
            waitpid(nodes[i].pid, NULL, 0);
            nodes[i].pid = 0;
        }
    }
}

static void remove_work(void)
{
    if (!work[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", work);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_p2p: could not remove %s\n", work);
    work[0] = 0;
}

/* The last lines of a log, to stderr. */
static void print_tail(const char *what, const char *path)
{
    char buf[2500];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *start = from ? strchr(buf, '\n') : NULL;
    fprintf(stderr, "---- the end of %s (%s) ----\n%s", what, path, start ? start + 1 : buf);
    if (n > 0 && buf[n - 1] != '\n')
        fputc('\n', stderr);
    fprintf(stderr, "----\n");
}

static void die_at(const struct node *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Fail: say why, show the node's log, stop every child, remove the work
 * folder (unless --keep-work), exit 1. */
static void die_at(const struct node *who, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "bench_p2p: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (who && who->log[0])
        print_tail(who->name, who->log);
    kill_children();
    if (keep_work && work[0])
        fprintf(stderr, "bench_p2p: kept %s (--keep-work)\n", work);
    else
        remove_work();
    exit(1);
}

#define die(...) die_at(NULL, __VA_ARGS__)

static void on_signal(int sig)
{
    /* Not async-signal-safe in theory (system() in remove_work), as in
     * bench_rpc; the process ends right after. */
    static const char msg[] = "bench_p2p: the run took longer than its overall limit\n";
    if (sig == SIGALRM && write(2, msg, sizeof msg - 1) < 0)
        _exit(1);
    kill_children();
    if (!keep_work)
        remove_work();
    _exit(sig == SIGALRM ? 1 : 130);
}

/* fork/exec with stdout to out and stderr to err (or out); the child dies
 * with us. */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        die("cannot open %s: %s", out, strerror(errno));
    int efd = err ? open(err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : fd;
    if (efd < 0)
        die("cannot open %s: %s", err, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(efd, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    if (efd != fd)
        close(efd);
    return pid;
}

/* Wait for a child at most timeout_s (then SIGKILL). Returns its status, or
 * -1 if it had to be killed. */
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

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

/* The 1-minute load average, to tell a quiet machine from a shared one. */
static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static struct node *new_node(const char *name)
{
    if (nnodes == MAXN)
        die("too many nodes");
    struct node *n = &nodes[nnodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->dir, sizeof n->dir, "%s/%s", work, name);
    snprintf(n->sock, sizeof n->sock, "%s/%s/rpc.sock", work, name);
    snprintf(n->log, sizeof n->log, "%s/%s.log", work, name);
    return n;
}

/* Create n's datadir: a dev chain of its own, or genesis's. Returns the
 * chain id. */
static rp_hash init_node(struct node *n, const char *genesis)
{
    rp_init_result res;
    rp_init_opts o;
    char err[1024];
    memset(&o, 0, sizeof o);
    o.datadir = n->dir;
    o.dev = genesis == NULL;
    o.genesis = genesis;
    o.result = &res;
    if (rp_node_init(&o, err, sizeof err) != 0)
        die("init %s: %s", n->name, err);
    return res.chain_id;
}

/* Rewrite n's reputed.conf: [p2p] listen, the persistent peers, no
 * outbound peers of its own choosing (the mesh stays as drawn). */
static void conf_net(const struct node *n, const char *listen, struct node *const *peers,
                     int npeers)
{
    char path[256], err[1024];
    rp_config cfg;
    snprintf(path, sizeof path, "%s/reputed.conf", n->dir);
    if (rp_config_load(&cfg, path, err, sizeof err) != 0)
        die("conf of %s: %s", n->name, err);
    snprintf(cfg.p2p_listen, sizeof cfg.p2p_listen, "%s", listen);
    cfg.p2p_persistent.n = 0;
    for (int k = 0; k < npeers; k++) {
        if (!peers[k]->id[0] || !peers[k]->port)
            die("%s: peer %s is not running", n->name, peers[k]->name);
        snprintf(cfg.p2p_persistent.v[cfg.p2p_persistent.n++], sizeof cfg.p2p_persistent.v[0],
                 "%s@127.0.0.1:%u", peers[k]->id, peers[k]->port);
    }
    cfg.p2p_max_outbound = 0;
    char *text = rp_config_format(&cfg);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write %s", path);
    free(text);
}

/* A call that must succeed; params is stolen. Returns the result (the
 * caller frees it). */
static json_t *call(struct node *n, const char *method, json_t *params)
{
    json_t *res = NULL;
    rp_rpc_error e;
    int rc = rp_rpc_call(n->c, method, params, &res, &e);
    json_decref(params);
    if (rc != 0)
        die_at(n, "%s: %s failed: %s (rc %d, code %d)", n->name, method, e.message, rc, e.code);
    rp_rpc_error_clear(&e);
    return res;
}

static uint64_t u64_of(struct node *n, const json_t *o, const char *key)
{
    uint64_t v;
    if (!o || rp_rpc_get_u64(o, key, &v) != 0)
        die_at(n, "%s: no number \"%s\" in an answer", n->name, key);
    return v;
}

static uint64_t height_of(struct node *n)
{
    json_t *h = call(n, "chain.head", NULL);
    uint64_t v = u64_of(n, h, "height");
    json_decref(h);
    return v;
}

/* Start n, wait until it answers node.info, learn its node ID and port. */
static void start_node(struct node *n)
{
    char *argv[] = {reputed_bin, "run", "--datadir", n->dir, NULL};
    n->pid = spawn(argv, n->log, NULL);
    double end = now_s() + START_S;
    for (;;) {
        int st;
        if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
            n->pid = 0;
            die_at(n, "%s: reputed exited while starting (status 0x%x)", n->name, st);
        }
        if (rp_rpc_connect(&n->c, n->sock) == 0) {
            json_t *r = NULL;
            rp_rpc_error e;
            rp_rpc_set_timeout(n->c, 5000);
            int rc = rp_rpc_call(n->c, "node.info", NULL, &r, &e);
            rp_rpc_error_clear(&e);
            if (rc == 0) {
                rp_rpc_set_timeout(n->c, CALL_MS);
                json_t *net = json_object_get(r, "network");
                json_t *id = json_object_get(net, "node_id");
                if (!json_is_string(id))
                    die_at(n, "%s: node.info has no network.node_id", n->name);
                snprintf(n->id, sizeof n->id, "%s", json_string_value(id));
                n->port = (unsigned)json_integer_value(json_object_get(net, "p2p_port"));
                json_decref(r);
                return;
            }
            json_decref(r);
            rp_rpc_close(n->c);
            n->c = NULL;
        }
        if (now_s() > end)
            die_at(n, "%s: reputed did not answer on %s within %.0f s", n->name, n->sock, START_S);
        sleep_ms(20);
    }
}

/* SIGTERM and the clean exit the daemon promises; a node that does not
 * give it is reported, not fatal (the figures stand). */
static int stop_node(struct node *n)
{
    if (n->c) {
        rp_rpc_close(n->c);
        n->c = NULL;
    }
    if (n->pid <= 0)
        return 0;
    kill(n->pid, SIGTERM);
    int st = wait_exit(n->pid, 60);
    n->pid = 0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[64];
        if (st < 0)
            snprintf(how, sizeof how, "killed after 60 s");
        else if (WIFEXITED(st))
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
        else
            snprintf(how, sizeof how, "signal %d", WTERMSIG(st));
        fprintf(stderr, "bench_p2p: WARNING: %s did not stop cleanly after SIGTERM (%s)\n", n->name,
                how);
        print_tail(n->name, n->log);
        return -1;
    }
    return 0;
}

static json_t *p2p_metrics(struct node *n)
{
    json_t *m = call(n, "node.metrics", NULL);
    json_t *p = json_object_get(m, "p2p");
    if (!json_is_object(p))
        die_at(n, "%s: node.metrics has no \"p2p\" member", n->name);
    json_incref(p);
    json_decref(m);
    return p;
}

static uint64_t p2p_counter(struct node *n, const json_t *p, const char *key)
{
    return u64_of(n, p, key);
}

static int peers_of(struct node *n)
{
    json_t *info = call(n, "node.info", NULL);
    int k = (int)json_integer_value(json_object_get(json_object_get(info, "network"), "peers"));
    json_decref(info);
    return k;
}

/* ---- records --------------------------------------------------------------------------- */

struct rec {
    char line_hex[2 * RP_RECORD_MAX_SIZE + 1];
    char id[65];
    size_t size;
};

/* n IDENTITY registrations by fresh identities, signed now. */
static struct rec *make_records(size_t n, const rp_hash *chain, unsigned pow_difficulty)
{
    struct rec *out = calloc(n, sizeof *out);
    if (!out)
        die("out of memory");
    uint64_t t = (uint64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        rp_seckey sk;
        rp_record r;
        memset(&r, 0, sizeof r);
        r.version = RP_RECORD_VERSION;
        r.type = RP_REC_IDENTITY;
        if (rp_seckey_generate(&sk) != 0 || rp_pubkey_from_seckey(&r.issuer, &sk) != 0)
            die("keygen failed");
        r.seq = 1;
        r.time = t;
        r.body.identity.role = (uint8_t)(1 + i % 3);
        int k = snprintf(r.body.identity.name, sizeof r.body.identity.name, "p2p bench %zu", i);
        r.body.identity.name_len = (uint8_t)k;
        if (rp_identity_pow_solve(&r, chain, pow_difficulty, 1u << 30) != 0)
            die("proof of work failed");
        unsigned char aux[32], bytes[RP_RECORD_MAX_SIZE];
        rp_aux_fresh(aux);
        rp_hash id;
        if (rp_record_sign(&r, 0, chain, &sk, aux) != 0 ||
            rp_record_encode(&r, bytes, sizeof bytes, &out[i].size) != 0 ||
            rp_record_id(&id, chain, &r) != 0)
            die("signing failed");
        sodium_memzero(&sk, sizeof sk);
        rp_hex_encode(out[i].line_hex, sizeof out[i].line_hex, bytes, out[i].size);
        rp_hex_encode(out[i].id, sizeof out[i].id, id.bytes, 32);
    }
    return out;
}

/* Does n hold the record (pending, held or included)? 0 no, 1 pending or
 * held, 2 included. */
static int holds(struct node *n, const char *id)
{
    json_t *res = NULL;
    rp_rpc_error e;
    json_t *params = json_pack("{s:s}", "id", id);
    int rc = rp_rpc_call(n->c, "record.get", params, &res, &e);
    json_decref(params);
    int code = e.code;
    char msg[200];
    snprintf(msg, sizeof msg, "%.190s", e.message);
    rp_rpc_error_clear(&e);
    if (rc == RP_RPC_REPLY_ERROR && code == ERR_NOT_FOUND)
        return 0;
    if (rc != 0)
        die_at(n, "%s: record.get: %s (rc %d, code %d)", n->name, msg, rc, code);
    const char *st = json_string_value(json_object_get(res, "status"));
    int v = st && !strcmp(st, "included") ? 2 : 1;
    json_decref(res);
    return v;
}

/* ---- part 1 and 3: the mesh ---------------------------------------------------------- */

struct wire {
    uint64_t bytes_out, bytes_in, msgs_out, inv_sent, getdata_sent, records_sent, records_received,
        duplicates, unrequested, blocks_synced;
};

static void wire_sum(struct wire *w)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < MESH; i++) {
        struct node *n = &nodes[i];
        json_t *p = p2p_metrics(n);
        w->bytes_out += p2p_counter(n, p, "bytes_out");
        w->bytes_in += p2p_counter(n, p, "bytes_in");
        w->msgs_out += p2p_counter(n, p, "messages_out");
        w->inv_sent += p2p_counter(n, p, "inv_sent");
        w->getdata_sent += p2p_counter(n, p, "getdata_sent");
        w->records_sent += p2p_counter(n, p, "records_sent");
        w->records_received += p2p_counter(n, p, "records_received");
        w->duplicates += p2p_counter(n, p, "records_duplicate");
        w->unrequested += p2p_counter(n, p, "records_unrequested");
        w->blocks_synced += p2p_counter(n, p, "blocks_synced");
        json_decref(p);
    }
}

/* Bytes a message of m bytes takes on the wire (docs/p2p.md, "Framing"). */
static uint64_t wire_size(uint64_t m)
{
    uint64_t frames = 1 + (m > 65515 ? (m - 65515 + 65518) / 65519 : 0);
    return 34 * frames + 4 + m;
}

/* The bytes of the BLOCKS message that carries block h alone, from the
 * validator's chain.block (blocks.md: header 259, each record u16 + bytes). */
static uint64_t blocks_msg_bytes(struct node *v, uint64_t h)
{
    uint64_t body = 0, offset = 0, commit = 0;
    for (;;) {
        json_t *b = call(v, "chain.block",
                         json_pack("{s:I,s:I,s:i}", "height", (json_int_t)h, "records_offset",
                                   (json_int_t)offset, "records_limit", 1000));
        json_t *recs = json_object_get(b, "records");
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r)
        {
            const char *hex = json_string_value(json_object_get(r, "hex"));
            if (!hex)
                die_at(v, "chain.block %llu: a record without hex", (unsigned long long)h);
            body += 2 + strlen(hex) / 2;
        }
        const char *ch = json_string_value(json_object_get(b, "commit_hex"));
        if (!ch)
            die_at(v, "chain.block %llu: no commit_hex", (unsigned long long)h);
        commit = strlen(ch) / 2;
        json_t *next = json_object_get(b, "next_offset");
        int more = json_is_integer(next) || json_is_string(next);
        if (more)
            offset = u64_of(v, b, "next_offset");
        json_decref(b);
        if (!more)
            break;
    }
    /* type, from, count; block length u32 + block; commit length u16 + commit */
    return wire_size(1 + 8 + 2 + 4 + 259 + body + 2 + commit);
}

/* Until every node of the mesh has the validator's head, an empty mempool
 * and no record request in flight. */
static void wait_idle(void)
{
    double end = now_s() + SETTLE_S;
    for (;;) {
        uint64_t top = height_of(&nodes[0]);
        int idle = 1;
        for (int i = 0; i < MESH && idle; i++) {
            struct node *n = &nodes[i];
            json_t *m = call(n, "mempool.info", NULL);
            json_t *p = p2p_metrics(n);
            idle = height_of(n) == top && u64_of(n, m, "count") == 0 &&
                   p2p_counter(n, p, "records_requested_inflight") == 0;
            json_decref(m);
            json_decref(p);
            if (!idle && now_s() > end)
                die_at(n,
                       "%s: not idle (at the validator's height %llu, mempool empty) "
                       "%.0f s after the last record",
                       n->name, (unsigned long long)top, SETTLE_S);
        }
        if (idle)
            return;
        sleep_ms(100);
    }
}

static void part_mesh(size_t nrec, int cores)
{
    /* Node i dials i-1 and (i-1)/2 (when that is another node). */
    int links = 0, degree[MESH] = {0};
    struct node *v = new_node("n0");
    rp_hash chain = init_node(v, NULL);
    char genesis[256];
    snprintf(genesis, sizeof genesis, "%s/genesis.json", v->dir);
    conf_net(v, "127.0.0.1:0", NULL, 0);
    start_node(v);
    for (int i = 1; i < MESH; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        struct node *n = new_node(name);
        init_node(n, genesis);
        struct node *peers[2];
        int np = 0;
        peers[np++] = &nodes[i - 1];
        if ((i - 1) / 2 != i - 1)
            peers[np++] = &nodes[(i - 1) / 2];
        for (int k = 0; k < np; k++) {
            degree[i]++;
            degree[peers[k] - nodes]++;
            links++;
        }
        conf_net(n, "127.0.0.1:0", peers, np);
        start_node(n);
    }
    /* The mesh is up: every node has its peers and the validator's head. */
    double end = now_s() + 60;
    for (int i = 0; i < MESH; i++) {
        while (peers_of(&nodes[i]) != degree[i] || height_of(&nodes[i]) < height_of(v)) {
            if (now_s() > end)
                die_at(&nodes[i],
                       "%s: %d peers (expected %d), height %llu (validator %llu) "
                       "after 60 s",
                       nodes[i].name, peers_of(&nodes[i]), degree[i],
                       (unsigned long long)height_of(&nodes[i]), (unsigned long long)height_of(v));
            sleep_ms(50);
        }
    }
    json_t *info = call(v, "node.info", NULL);
    unsigned pow = (unsigned)json_integer_value(json_object_get(info, "pow_difficulty"));
    json_decref(info);
    struct rec *recs = make_records(nrec, &chain, pow);
    double rec_bytes = 0;
    for (size_t k = 0; k < nrec; k++)
        rec_bytes += (double)recs[k].size;
    rec_bytes /= (double)nrec;

    printf("bench_p2p: %d reputed nodes on loopback: 1 dev validator (500 ms blocks), %d full "
           "nodes; node i dials i-1 and (i-1)/2: %d links; %d core(s), load average %.2f\n",
           MESH, MESH - 1, links, cores, loadavg());
    fflush(stdout);

    struct wire w0, w1;
    wire_sum(&w0);
    uint64_t h0 = height_of(v);
    double *all = malloc(nrec * sizeof *all), *self = malloc(nrec * sizeof *self);
    if (!all || !self)
        die("out of memory");
    size_t via_block = 0; /* (record, node) pairs first seen on chain */
    double t_start = now_s();
    for (size_t k = 0; k < nrec; k++) {
        struct node *src = &nodes[k % MESH];
        json_t *params = json_pack("{s:s,s:b}", "record", recs[k].line_hex, "wait", 0);
        double t0 = now_s();
        json_t *res = call(src, "record.submit", params);
        double t1 = now_s();
        const char *st = json_string_value(json_object_get(res, "status"));
        if (!st || strcmp(st, "pending") != 0)
            die_at(src, "%s: record %zu submitted: status %s, expected pending", src->name, k,
                   st ? st : "(none)");
        json_decref(res);
        self[k] = (t1 - t0) * 1e3;
        int seen[MESH] = {0}, left = MESH - 1;
        seen[k % MESH] = 1;
        double last = t1;
        while (left) {
            for (int i = 0; i < MESH; i++) {
                if (seen[i])
                    continue;
                int h = holds(&nodes[i], recs[k].id);
                if (h) {
                    seen[i] = 1;
                    left--;
                    last = now_s();
                    via_block += h == 2;
                }
            }
            if (!left)
                break;
            if (now_s() - t0 > RECORD_S) {
                int i = 0;
                while (seen[i])
                    i++;
                die_at(&nodes[i], "record %zu (%s), submitted at %s, not on %s after %.0f s", k,
                       recs[k].id, src->name, nodes[i].name, RECORD_S);
            }
            sleep_ms(POLL_MS);
        }
        all[k] = (last - t0) * 1e3;
    }
    double t_all = now_s() - t_start;
    wait_idle();
    uint64_t h1 = height_of(v);
    wire_sum(&w1);

    /* 1. propagation */
    double a50 = quantile(all, nrec, 0.5), a99 = quantile(all, nrec, 0.99);
    double s50 = quantile(self, nrec, 0.5), s99 = quantile(self, nrec, 0.99);
    printf("\n1. propagation: %zu IDENTITY registrations (%.0f bytes each on average), one at a "
           "time, round-robin over the %d nodes, record.submit wait=false, then record.get "
           "polled every %d ms on every node (%.1f s in all)\n",
           nrec, rec_bytes, MESH, POLL_MS, t_all);
    printf("%-56s %10s %10s\n", "", "p50 ms", "p99 ms");
    printf("%-56s %10.1f %10.1f\n", "submit -> in the mempool or chain of all 8 nodes", a50, a99);
    printf("%-56s %10.2f %10.2f\n", "reference: submit -> pending on the submitting node", s50,
           s99);
    printf("%-56s %10.0f %10.0f\n", "ratio (all nodes / submitting node)", a50 / s50, a99 / s99);
    printf("(of the %zu (record, other node) pairs, %zu first seen already in a block, the "
           "rest in the mempool)\n",
           nrec * (MESH - 1), via_block);

    /* 3. bytes on the wire */
    uint64_t blocks = h1 - h0, block_wire = 0;
    for (uint64_t h = h0 + 1; h <= h1; h++)
        block_wire += blocks_msg_bytes(v, h);
    uint64_t synced = w1.blocks_synced - w0.blocks_synced;
    double sync_bytes = blocks ? (double)block_wire / (double)blocks * (double)synced : 0;
    double sent = (double)(w1.bytes_out - w0.bytes_out);
    double per_link = sent / ((double)nrec * links);
    double sync_per_link = sync_bytes / ((double)nrec * links);
    double bodies = (double)(w1.records_sent - w0.records_sent) / ((double)nrec * (MESH - 1));
    printf("\n3. bytes on the wire during 1 (node.metrics \"p2p\", summed over the %d nodes); the "
           "record itself: %.0f bytes\n",
           MESH, rec_bytes);
    printf("%-56s %10.0f bytes  (%.2f x the record)\n", "bytes sent / (records x links)", per_link,
           per_link / rec_bytes);
    printf("%-56s %10.0f bytes  (%.2f x the record)\n",
           "  of which BLOCKS carrying part 1's blocks (computed)", sync_per_link,
           sync_per_link / rec_bytes);
    printf("%-56s %10.0f bytes  (%.2f x the record)\n",
           "  the rest: gossip, NEWBLOCK, GETBLOCKS, PING", per_link - sync_per_link,
           (per_link - sync_per_link) / rec_bytes);
    printf("%-56s %10.3f        (1.0: each node got each body once by gossip)\n",
           "record bodies sent / (records x (nodes - 1))", bodies);
    if (nrec * (MESH - 1) > via_block)
        printf("%-56s %10.3f        (pairs the poll first saw pending, not in a block)\n",
               "record bodies sent / (record, node) pairs by gossip",
               (double)(w1.records_sent - w0.records_sent) /
                   (double)(nrec * (MESH - 1) - via_block));
    printf("%-56s %10.3f / %.3f\n", "INV ids / GETDATA ids sent per (record x link)",
           (double)(w1.inv_sent - w0.inv_sent) / ((double)nrec * links),
           (double)(w1.getdata_sent - w0.getdata_sent) / ((double)nrec * links));
    printf("(%llu bytes sent, %llu received, %llu messages; %llu blocks made during 1, synced %llu "
           "times by the full nodes (%d each: %s); %llu bodies received, %llu duplicate, "
           "%llu unrequested)\n",
           (unsigned long long)(w1.bytes_out - w0.bytes_out),
           (unsigned long long)(w1.bytes_in - w0.bytes_in),
           (unsigned long long)(w1.msgs_out - w0.msgs_out), (unsigned long long)blocks,
           (unsigned long long)synced, MESH - 1, synced == blocks * (MESH - 1) ? "yes" : "NO",
           (unsigned long long)(w1.records_received - w0.records_received),
           (unsigned long long)(w1.duplicates - w0.duplicates),
           (unsigned long long)(w1.unrequested - w0.unrequested));
    if (w1.duplicates != w0.duplicates || bodies > 1.0)
        printf("WARNING: a record body crossed a link more than once\n");
    fflush(stdout);

    free(all);
    free(self);
    free(recs);
    for (int i = MESH - 1; i >= 0; i--)
        stop_node(&nodes[i]);
}

/* ---- part 2: sync ------------------------------------------------------------------- */

static int has_chain(const char *dir)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    return stat(path, &sb) == 0;
}

static void generate(const char *dir, const char *identities, const char *reviews, const char *rpb)
{
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/gen.out", work);
    snprintf(err, sizeof err, "%s/gen.log", work);
    char d[4096], ni[32], nr[32], nb[32];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(ni, sizeof ni, "%s", identities);
    snprintf(nr, sizeof nr, "%s", reviews);
    snprintf(nb, sizeof nb, "%s", rpb);
    char *argv[] = {gen_bin, "--datadir",           d,  "--identities", ni,  "--reviews",
                    nr,      "--records-per-block", nb, "--seed",       "1", NULL};
    printf("\n2. sync: repute-gen --identities %s --reviews %s --records-per-block %s into %s\n",
           identities, reviews, rpb, dir);
    fflush(stdout);
    double t = now_s();
    child_pid = spawn(argv, out, err);
    int st = wait_exit(child_pid, GEN_S);
    child_pid = 0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        print_tail("repute-gen's output", err);
        die("repute-gen %s", st < 0 ? "did not finish in time" : "failed");
    }
    char *text = read_file(out);
    printf("   generated in %.1f s: %s", now_s() - t, text ? text : "(no summary)\n");
    free(text);
}

/* reputed verify on dir: its signatures and seconds. */
static void verify(const char *dir, uint64_t *sigs, double *secs, uint64_t *blocks)
{
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/verify.out", work);
    snprintf(err, sizeof err, "%s/verify.log", work);
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    char *argv[] = {reputed_bin, "verify", "--datadir", d, NULL};
    child_pid = spawn(argv, out, err);
    int st = wait_exit(child_pid, VERIFY_S);
    child_pid = 0;
    char *text = read_file(out);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !text || !strstr(text, "verify: OK")) {
        print_tail("reputed verify's output", err);
        free(text);
        die("reputed verify on the synced datadir %s", st < 0 ? "did not finish" : "failed");
    }
    unsigned long long b = 0, s = 0;
    int got = 0;
    *secs = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long x, y, z;
        double t;
        /* sscanf stores what it matched before failing: temporaries */
        if (sscanf(line, "verify: %llu blocks, %llu records, %llu signatures", &x, &y, &z) == 3) {
            (void)y;
            b = x;
            s = z;
            got |= 1;
        } else if (strstr(line, " s, ") && sscanf(line, "verify: %lf s,", &t) == 1) {
            *secs = t;
            got |= 2;
        }
    }
    if (got != 3 || *secs <= 0) {
        free(text);
        die("cannot read reputed verify's summary (%s)", out);
    }
    free(text);
    *sigs = s;
    *blocks = b;
}

static void part_sync(const char *keep, const char *identities, const char *reviews,
                      const char *rpb)
{
    char chain_dir[4096];
    if (keep)
        snprintf(chain_dir, sizeof chain_dir, "%s", keep);
    else
        snprintf(chain_dir, sizeof chain_dir, "%s/chain", work);
    if (keep && has_chain(chain_dir))
        printf("\n2. sync: serving the chain already in %s (--keep)\n", chain_dir);
    else
        generate(chain_dir, identities, reviews, rpb);

    struct node *v = new_node("validator");
    if (strlen(chain_dir) + sizeof "/rpc.sock" > sizeof v->dir)
        die("--keep: the path is too long");
    snprintf(v->dir, sizeof v->dir, "%s", chain_dir);
    snprintf(v->sock, sizeof v->sock, "%s/rpc.sock", chain_dir);
    conf_net(v, "127.0.0.1:0", NULL, 0);
    start_node(v);
    uint64_t top = height_of(v);

    struct node *f = new_node("fresh");
    char genesis[4200];
    snprintf(genesis, sizeof genesis, "%s/genesis.json", chain_dir);
    init_node(f, genesis);
    struct node *peers[1] = {v};
    conf_net(f, "", peers, 1);
    double t0 = now_s();
    start_node(f);
    double t_up = now_s() - t0;
    uint64_t h = 0, last_h = 0;
    double last_move = now_s(), t_first = 0, t_half = 0;
    while ((h = height_of(f)) < top) {
        double t = now_s();
        if (h && !t_first)
            t_first = t - t0;
        if (h >= top / 2 && !t_half)
            t_half = t - t0;
        if (h != last_h) {
            last_h = h;
            last_move = t;
        }
        if (t - last_move > STALL_S)
            die_at(f, "sync stalled at height %llu of %llu (no progress for %.0f s)",
                   (unsigned long long)h, (unsigned long long)top, STALL_S);
        if (t - t0 > SYNC_S)
            die_at(f, "sync at height %llu of %llu after %.0f s", (unsigned long long)h,
                   (unsigned long long)top, SYNC_S);
        sleep_ms(10);
    }
    double t_sync = now_s() - t0;
    json_t *hv = call(v, "chain.head", NULL), *hf = call(f, "chain.head", NULL);
    const char *sv = json_string_value(json_object_get(hv, "state_hash"));
    const char *sf = json_string_value(json_object_get(hf, "state_hash"));
    if (!sv || !sf || strcmp(sv, sf) != 0 || u64_of(v, hv, "height") != h)
        die_at(f, "the synced node's head differs from the validator's at height %llu",
               (unsigned long long)h);
    json_decref(hv);
    json_decref(hf);
    stop_node(f);
    stop_node(v);

    uint64_t sigs = 0, vblocks = 0;
    double vsecs = 0;
    verify(f->dir, &sigs, &vsecs, &vblocks);
    if (vblocks != h)
        die("verify replayed %llu blocks, the node synced %llu", (unsigned long long)vblocks,
            (unsigned long long)h);
    double sync_rate = (double)sigs / t_sync, verify_rate = (double)sigs / vsecs;
    printf("   a fresh full node, the validator as its one peer: %llu blocks, %llu signatures "
           "(records' and commits', as verify counts them) in %.2f s (up and answering after "
           "%.2f s)\n",
           (unsigned long long)h, (unsigned long long)sigs, t_sync, t_up);
    printf("   (first block committed after %.2f s, half of them after %.2f s)\n", t_first, t_half);
    printf("%-56s %10.0f sig/s\n", "sync, start to the validator's height", sync_rate);
    printf("%-56s %10.0f sig/s  (%.2f s, same datadir, same run)\n",
           "reference: reputed verify on the synced datadir", verify_rate, vsecs);
    printf("%-56s %10.3f        (bar >= 0.80)  %s\n", "ratio sync / verify",
           sync_rate / verify_rate,
           sync_rate / verify_rate >= 0.8 ? "meets the bar" : "BELOW THE BAR");
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------------ */

static void find_bin(char *out, size_t cap, const char *env, const char *rel, const char *argv0)
{
    const char *e = getenv(env);
    if (e) {
        snprintf(out, cap, "%s", e);
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
        snprintf(out, cap, "%s/%s", self, rel);
    }
    if (access(out, X_OK) != 0) {
        fprintf(stderr, "bench_p2p: no program at %s (build it, or set %s)\n", out, env);
        exit(1);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_p2p [--records N] [--identities N] [--reviews M] "
                    "[--records-per-block R] [--skip-sync] [--keep DIR] [--keep-work]\n");
    return 2;
}

static int digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    long nrec = 200;
    const char *identities = "20000", *reviews = "100000", *rpb = "1000", *keep = NULL;
    int skip_sync = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--records") && val && digits(val)) {
            nrec = atol(val);
            i++;
        } else if (!strcmp(a, "--identities") && val && digits(val)) {
            identities = val;
            i++;
        } else if (!strcmp(a, "--reviews") && val && digits(val)) {
            reviews = val;
            i++;
        } else if (!strcmp(a, "--records-per-block") && val && digits(val)) {
            rpb = val;
            i++;
        } else if (!strcmp(a, "--keep") && val) {
            keep = val;
            i++;
        } else if (!strcmp(a, "--skip-sync")) {
            skip_sync = 1;
        } else if (!strcmp(a, "--keep-work")) {
            keep_work = 1;
        } else {
            return usage();
        }
    }
    if (nrec < 1 || nrec > 100000) {
        fprintf(stderr, "bench_p2p: --records 1..100000\n");
        return 2;
    }
    find_bin(reputed_bin, sizeof reputed_bin, "RP_REPUTED", "../node/reputed", argv[0]);
    if (!skip_sync)
        find_bin(gen_bin, sizeof gen_bin, "RP_REPUTE_GEN", "../node/repute-gen", argv[0]);
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "bench_p2p: %s\n", rp_strerror(RP_ERR_CRYPTO_INIT));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    alarm(OVERALL_S);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    snprintf(work, sizeof work, "/tmp/rp-bench-p2p-XXXXXX");
    if (!mkdtemp(work)) {
        work[0] = 0;
        die("mkdtemp: %s", strerror(errno));
    }
    double t0 = now_s();
    part_mesh((size_t)nrec, (int)cores);
    if (!skip_sync)
        part_sync(keep, identities, reviews, rpb);
    printf("\nbench_p2p: done in %.0f s (load average now %.2f)\n", now_s() - t0, loadavg());
    kill_children();
    remove_work();
    return 0;
}
