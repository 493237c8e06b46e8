/* The benchmarks' process harness (procs.h): real reputed processes, each
 * in a datadir under one temporary work folder, started, driven over their
 * RPC sockets and stopped, with every failure ending the run cleanly.
 *
 * State is process-wide on purpose: the signal handler and the failure
 * path must find every child and the work folder, whatever the benchmark
 * was doing. So nodes live in one fixed table here, and the child being
 * waited for by rp_procs_run is remembered beside them.
 */
#include "bench/procs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "node/init.h"

#define ERR_NOT_FOUND (-32001)

static const char *prog = "bench";
static char alarm_msg[128];
static char work[64];
static int keep_work;
static rp_procs_node nodes[RP_PROCS_MAX_NODES];
static int nnodes;
static pid_t child_pid; /* what rp_procs_run waits for, while it runs */
static char reputed_bin[4096];

/* ---- small things ------------------------------------------------------------------- */

double rp_procs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rp_procs_sleep_ms(unsigned ms)
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

double rp_procs_quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = (size_t)(q * (double)n);
    if (q == 0.5)
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return v[k < n ? k : n - 1];
}

double rp_procs_loadavg(void)
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

char *rp_procs_read_file(const char *path)
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

void rp_procs_print_tail(const char *what, const char *path)
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

/* ---- the run ------------------------------------------------------------------------ */

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
        fprintf(stderr, "%s: could not remove %s\n", prog, work);
    work[0] = 0;
}

void rp_procs_die_at(const rp_procs_node *who, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (who && who->log[0])
        rp_procs_print_tail(who->name, who->log);
    kill_children();
    if (keep_work && work[0])
        fprintf(stderr, "%s: kept %s (--keep-work)\n", prog, work);
    else
        remove_work();
    exit(1);
}

static void on_signal(int sig)
{
    /* Not async-signal-safe in theory (system() in remove_work), as in
     * bench_rpc; the process ends right after. */
    if (sig == SIGALRM && write(2, alarm_msg, strlen(alarm_msg)) < 0)
        _exit(1);
    kill_children();
    if (!keep_work)
        remove_work();
    _exit(sig == SIGALRM ? 1 : 130);
}

void rp_procs_setup(const char *name, const char *argv0, int keep, unsigned overall_s)
{
    prog = name;
    keep_work = keep;
    rp_procs_find_bin(reputed_bin, sizeof reputed_bin, "RP_REPUTED", "../node/reputed", argv0);
    snprintf(alarm_msg, sizeof alarm_msg, "%s: the run took longer than its overall limit\n", prog);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    alarm(overall_s);

    char tag[32];
    snprintf(tag, sizeof tag, "%s", prog);
    for (char *p = tag; *p; p++)
        if (*p == '_')
            *p = '-';
    snprintf(work, sizeof work, "/tmp/rp-%s-XXXXXX", tag);
    if (!mkdtemp(work)) {
        work[0] = 0;
        rp_procs_die("mkdtemp: %s", strerror(errno));
    }
}

const char *rp_procs_work(void)
{
    return work;
}

const char *rp_procs_reputed(void)
{
    return reputed_bin;
}

void rp_procs_finish(void)
{
    kill_children();
    remove_work();
}

void rp_procs_find_bin(char *out, size_t cap, const char *env, const char *rel, const char *argv0)
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
    if (access(out, X_OK) != 0)
        rp_procs_die("no program at %s (build it, or set %s)", out, env);
}

/* ---- child processes ---------------------------------------------------------------- */

pid_t rp_procs_spawn(char *const argv[], const char *out, const char *err)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        rp_procs_die("cannot open %s: %s", out, strerror(errno));
    int efd = err ? open(err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : fd;
    if (efd < 0)
        rp_procs_die("cannot open %s: %s", err, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        rp_procs_die("fork: %s", strerror(errno));
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

int rp_procs_wait_exit(pid_t pid, double timeout_s)
{
    double end = rp_procs_now() + timeout_s;
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (rp_procs_now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        rp_procs_sleep_ms(10);
    }
    return st;
}

int rp_procs_run(char *const argv[], const char *out, const char *err, double timeout_s)
{
    child_pid = rp_procs_spawn(argv, out, err);
    int st = rp_procs_wait_exit(child_pid, timeout_s);
    child_pid = 0;
    return st;
}

/* ---- nodes -------------------------------------------------------------------------- */

rp_procs_node *rp_procs_node_new(const char *name)
{
    if (nnodes == RP_PROCS_MAX_NODES)
        rp_procs_die("too many nodes");
    rp_procs_node *n = &nodes[nnodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->dir, sizeof n->dir, "%s/%s", work, name);
    snprintf(n->sock, sizeof n->sock, "%s/%s/rpc.sock", work, name);
    snprintf(n->log, sizeof n->log, "%s/%s.log", work, name);
    return n;
}

rp_hash rp_procs_node_init(rp_procs_node *n, const char *genesis)
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
        rp_procs_die("init %s: %s", n->name, err);
    return res.chain_id;
}

void rp_procs_conf_edit(const rp_procs_node *n, void (*edit)(rp_config *cfg, void *arg), void *arg)
{
    char path[256], err[1024];
    rp_config cfg;
    snprintf(path, sizeof path, "%s/reputed.conf", n->dir);
    if (rp_config_load(&cfg, path, err, sizeof err) != 0)
        rp_procs_die("conf of %s: %s", n->name, err);
    edit(&cfg, arg);
    char *text = rp_config_format(&cfg);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        rp_procs_die("cannot write %s", path);
    free(text);
}

struct p2p_edit {
    const rp_procs_node *n;
    const char *listen;
    rp_procs_node *const *peers;
    int npeers;
};

static void edit_p2p(rp_config *cfg, void *arg)
{
    const struct p2p_edit *e = arg;
    snprintf(cfg->p2p_listen, sizeof cfg->p2p_listen, "%s", e->listen);
    cfg->p2p_persistent.n = 0;
    for (int k = 0; k < e->npeers; k++) {
        const rp_procs_node *p = e->peers[k];
        if (!p->id[0] || !p->port)
            rp_procs_die("%s: peer %s is not running", e->n->name, p->name);
        snprintf(cfg->p2p_persistent.v[cfg->p2p_persistent.n++], sizeof cfg->p2p_persistent.v[0],
                 "%s@127.0.0.1:%u", p->id, p->port);
    }
    cfg->p2p_max_outbound = 0;
}

void rp_procs_conf_p2p(const rp_procs_node *n, const char *listen, rp_procs_node *const *peers,
                       int npeers)
{
    struct p2p_edit e = {n, listen, peers, npeers};
    rp_procs_conf_edit(n, edit_p2p, &e);
}

void rp_procs_node_start(rp_procs_node *n)
{
    char *argv[] = {reputed_bin, "run", "--datadir", n->dir, NULL};
    n->pid = rp_procs_spawn(argv, n->log, NULL);
    double end = rp_procs_now() + RP_PROCS_START_S;
    for (;;) {
        int st;
        if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
            n->pid = 0;
            rp_procs_die_at(n, "%s: reputed exited while starting (status 0x%x)", n->name, st);
        }
        if (rp_rpc_connect(&n->c, n->sock) == 0) {
            json_t *r = NULL;
            rp_rpc_error e;
            rp_rpc_set_timeout(n->c, 5000);
            int rc = rp_rpc_call(n->c, "node.info", NULL, &r, &e);
            rp_rpc_error_clear(&e);
            if (rc == 0) {
                rp_rpc_set_timeout(n->c, RP_PROCS_CALL_MS);
                json_t *net = json_object_get(r, "network");
                json_t *id = json_object_get(net, "node_id");
                if (!json_is_string(id))
                    rp_procs_die_at(n, "%s: node.info has no network.node_id", n->name);
                snprintf(n->id, sizeof n->id, "%s", json_string_value(id));
                n->port = (unsigned)json_integer_value(json_object_get(net, "p2p_port"));
                json_decref(r);
                return;
            }
            json_decref(r);
            rp_rpc_close(n->c);
            n->c = NULL;
        }
        if (rp_procs_now() > end)
            rp_procs_die_at(n, "%s: reputed did not answer on %s within %.0f s", n->name, n->sock,
                            RP_PROCS_START_S);
        rp_procs_sleep_ms(20);
    }
}

int rp_procs_node_stop(rp_procs_node *n)
{
    if (n->c) {
        rp_rpc_close(n->c);
        n->c = NULL;
    }
    if (n->pid <= 0)
        return 0;
    kill(n->pid, SIGTERM);
    int st = rp_procs_wait_exit(n->pid, RP_PROCS_STOP_S);
    n->pid = 0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[64];
        if (st < 0)
            snprintf(how, sizeof how, "killed after %.0f s", RP_PROCS_STOP_S);
        else if (WIFEXITED(st))
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
        else
            snprintf(how, sizeof how, "signal %d", WTERMSIG(st));
        fprintf(stderr, "%s: WARNING: %s did not stop cleanly after SIGTERM (%s)\n", prog, n->name,
                how);
        rp_procs_print_tail(n->name, n->log);
        return -1;
    }
    return 0;
}

void rp_procs_node_kill(rp_procs_node *n)
{
    if (n->c) {
        rp_rpc_close(n->c);
        n->c = NULL;
    }
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
}

/* ---- RPC ---------------------------------------------------------------------------- */

json_t *rp_procs_call(rp_procs_node *n, const char *method, json_t *params)
{
    json_t *res = NULL;
    rp_rpc_error e;
    if (!n->c)
        rp_procs_die_at(n, "%s: %s called while the node is not running", n->name, method);
    int rc = rp_rpc_call(n->c, method, params, &res, &e);
    json_decref(params);
    if (rc != 0)
        rp_procs_die_at(n, "%s: %s failed: %s (rc %d, code %d)", n->name, method, e.message, rc,
                        e.code);
    rp_rpc_error_clear(&e);
    return res;
}

uint64_t rp_procs_u64(rp_procs_node *n, const json_t *o, const char *key)
{
    uint64_t v;
    if (!o || rp_rpc_get_u64(o, key, &v) != 0)
        rp_procs_die_at(n, "%s: no number \"%s\" in an answer", n->name, key);
    return v;
}

uint64_t rp_procs_height(rp_procs_node *n)
{
    json_t *h = rp_procs_call(n, "chain.head", NULL);
    uint64_t v = rp_procs_u64(n, h, "height");
    json_decref(h);
    return v;
}

int rp_procs_record_state(rp_procs_node *n, const char *id_hex)
{
    json_t *res = NULL;
    rp_rpc_error e;
    if (!n->c)
        rp_procs_die_at(n, "%s: record.get called while the node is not running", n->name);
    json_t *params = json_pack("{s:s}", "id", id_hex);
    int rc = rp_rpc_call(n->c, "record.get", params, &res, &e);
    json_decref(params);
    int code = e.code;
    char msg[200];
    snprintf(msg, sizeof msg, "%.190s", e.message);
    rp_rpc_error_clear(&e);
    if (rc == RP_RPC_REPLY_ERROR && code == ERR_NOT_FOUND)
        return 0;
    if (rc != 0)
        rp_procs_die_at(n, "%s: record.get: %s (rc %d, code %d)", n->name, msg, rc, code);
    const char *st = json_string_value(json_object_get(res, "status"));
    int v = st && !strcmp(st, "included") ? 2 : 1;
    json_decref(res);
    return v;
}

int rp_procs_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}
