/* The node's end-to-end fixture (node_fixture.h): processes, the socket,
 * JSON helpers and record builders shared by the suites that run a real
 * reputed. */
#include "node_fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
#include "crypto/keyfile.h"
#include "node/init.h"

char reputed_bin[4096];
char cli_bin[4096];
char base_dir[64];
unsigned long seed_value;

/* ---- the test's node ---------------------------------------------------------------- */

struct node_fixture T;

/* Results kept until teardown, so tests need not free every answer. */
static json_t **gc_list;
static size_t gc_n, gc_cap;

json_t *gc(json_t *v)
{
    if (!v)
        return NULL;
    if (gc_n == gc_cap) {
        size_t cap = gc_cap ? gc_cap * 2 : 256;
        json_t **p = realloc(gc_list, cap * sizeof *p);
        ck_assert_ptr_nonnull(p);
        gc_list = p;
        gc_cap = cap;
    }
    gc_list[gc_n++] = v;
    return v;
}

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The last part of the node's log, for failure messages. */
const char *log_tail(void)
{
    static char buf[3000];
    buf[0] = 0;
    int fd = open(T.log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return "(no log)";
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        ck_assert_int_gt(n, 0);
        off += (size_t)n;
    }
    ck_assert_int_eq(close(fd), 0);
}

/* Rewrite DIR/reputed.conf through the config module. */
void conf_edit(void (*fn)(rp_config *cfg))
{
    char path[256], err[512];
    rp_config cfg;
    snprintf(path, sizeof path, "%s/reputed.conf", T.dir);
    ck_assert_msg(rp_config_load(&cfg, path, err, sizeof err) == 0, "conf: %s", err);
    fn(&cfg);
    char *text = rp_config_format(&cfg);
    ck_assert_ptr_nonnull(text);
    write_file(path, text);
    free(text);
}

void node_fixture_setup(void)
{
    memset(&T, 0, sizeof T);
    gc_list = NULL;
    gc_n = gc_cap = 0;
    ck_assert(reputed_bin[0]);
    snprintf(T.work, sizeof T.work, "%s/t-XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(T.work));
    snprintf(T.dir, sizeof T.dir, "%s/d", T.work);
    snprintf(T.sock, sizeof T.sock, "%s/rpc.sock", T.dir);
    snprintf(T.log, sizeof T.log, "%s/node.log", T.work);

    rp_init_result res;
    rp_init_opts o;
    char err[1024];
    memset(&o, 0, sizeof o);
    o.datadir = T.dir;
    o.dev = 1;
    o.result = &res;
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "init: %s", err);
    ck_assert(res.has_anchor);

    char path[256];
    snprintf(path, sizeof path, "%s/genesis.json", T.dir);
    T.g = malloc(sizeof *T.g);
    ck_assert_ptr_nonnull(T.g);
    ck_assert_msg(rp_genesis_load(T.g, path, err, sizeof err) == 0, "genesis: %s", err);
    ck_assert_int_eq(rp_genesis_chain_id(&T.chain, T.g), 0);
    ck_assert(rp_hash_eq(&T.chain, &res.chain_id));
    rp_hex_encode(T.chain_hex, sizeof T.chain_hex, T.chain.bytes, 32);
}

void node_fixture_teardown(void)
{
    if (T.pid > 0) {
        kill(T.pid, SIGKILL);
        waitpid(T.pid, NULL, 0);
        T.pid = 0;
    }
    for (size_t i = 0; i < gc_n; i++)
        json_decref(gc_list[i]);
    free(gc_list);
    gc_list = NULL;
    gc_n = gc_cap = 0;
    free(T.g);
    T.g = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.work);
    if (system(cmd) != 0)
        fprintf(stderr, "test_node: could not remove %s\n", T.work);
}

/* fork/exec argv with stdout and stderr to out_path (appended), stdin
 * /dev/null; the child dies with this process. */
pid_t spawn2(char *const argv[], const char *out_path, const char *err_path)
{
    int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    int efd = err_path ? open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : fd;
    ck_assert_int_ge(efd, 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
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

pid_t spawn(char *const argv[], const char *out_path)
{
    return spawn2(argv, out_path, NULL);
}

/* Wait for a child, at most timeout_ms; SIGKILL it after that.
 * Returns: its wait status; *timed_out set when it had to be killed. */
int wait_child(pid_t pid, unsigned timeout_ms, int *timed_out)
{
    uint64_t end = mono_ms() + timeout_ms;
    int st = 0;
    *timed_out = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        ck_assert_msg(r == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        if (mono_ms() > end) {
            *timed_out = 1;
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return st;
        }
        sleep_ms(10);
    }
}

/* Run a command to completion; its output (stdout and stderr) in out. */
int run_cmd(char *const argv[], char *out, size_t cap, unsigned timeout_ms)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cmd.out", T.work);
    unlink(path);
    pid_t pid = spawn(argv, path);
    int to;
    int st = wait_child(pid, timeout_ms, &to);
    ck_assert_msg(!to, "%s %s did not finish in %u ms", argv[0], argv[1] ? argv[1] : "",
                  timeout_ms);
    if (out && cap) {
        out[0] = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, out, cap - 1);
            out[n > 0 ? n : 0] = 0;
            close(fd);
        }
    }
    return st;
}

rp_rpc_client *cli(void)
{
    rp_rpc_client *c = NULL;
    int rc = rp_rpc_connect(&c, T.sock);
    ck_assert_msg(rc == 0, "connect %s: %s", T.sock, strerror(-rc));
    rp_rpc_set_timeout(c, CALL_TIMEOUT_MS);
    return c;
}

/* Until the node answers node.info on its socket. */
void wait_ready(void)
{
    uint64_t end = mono_ms() + 30000;
    for (;;) {
        int st;
        pid_t r = waitpid(T.pid, &st, WNOHANG);
        if (r == T.pid) {
            T.pid = 0;
            ck_abort_msg("reputed exited while starting (status 0x%x); log:\n%s", st, log_tail());
        }
        rp_rpc_client *c = NULL;
        if (rp_rpc_connect(&c, T.sock) == 0) {
            json_t *res = NULL;
            rp_rpc_error e;
            rp_rpc_set_timeout(c, 5000);
            int rc = rp_rpc_call(c, "node.info", NULL, &res, &e);
            json_decref(res);
            rp_rpc_error_clear(&e);
            rp_rpc_close(c);
            if (rc == 0)
                return;
        }
        ck_assert_msg(mono_ms() < end, "reputed did not answer on %s; log:\n%s", T.sock,
                      log_tail());
        sleep_ms(20);
    }
}

void node_start(void)
{
    ck_assert_int_eq(T.pid, 0);
    char *argv[] = {reputed_bin, "run", "--datadir", T.dir, NULL};
    T.pid = spawn(argv, T.log);
    wait_ready();
}

/* SIGTERM, and the clean exit the daemon promises. */
void node_stop(void)
{
    ck_assert_int_gt(T.pid, 0);
    ck_assert_int_eq(kill(T.pid, SIGTERM), 0);
    int to;
    int st = wait_child(T.pid, 60000, &to);
    T.pid = 0;
    ck_assert_msg(!to, "reputed did not stop within 60 s of SIGTERM; log:\n%s", log_tail());
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "reputed stopped with %s %d after SIGTERM; log:\n%s",
                  WIFEXITED(st) ? "exit status" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), log_tail());
}

void node_kill9(void)
{
    ck_assert_int_gt(T.pid, 0);
    ck_assert_int_eq(kill(T.pid, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(T.pid, &st, 0), T.pid);
    T.pid = 0;
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* ---- JSON helpers --------------------------------------------------------------------- */

json_t *P(const char *fmt, ...)
{
    va_list ap;
    json_error_t je;
    va_start(ap, fmt);
    json_t *v = json_vpack_ex(&je, 0, fmt, ap);
    va_end(ap);
    ck_assert_msg(v != NULL, "json_pack(%s): %s", fmt, je.text);
    return v;
}

/* A call that must succeed; params is stolen; the result is kept until
 * teardown. */
json_t *call_ok(rp_rpc_client *c, const char *method, json_t *params)
{
    json_t *res = NULL;
    rp_rpc_error e;
    int rc = rp_rpc_call(c, method, params, &res, &e);
    json_decref(params);
    if (rc != 0) {
        char *d = e.data ? json_dumps(e.data, JSON_COMPACT) : NULL;
        ck_abort_msg("%s failed: rc %d, code %d, %s, data %s", method, rc, e.code, e.message,
                     d ? d : "-");
    }
    rp_rpc_error_clear(&e);
    return gc(res);
}

/* A call that must be answered with an error: returns its code; *data (if
 * data is not NULL) its data or NULL, kept until teardown. */
int call_err(rp_rpc_client *c, const char *method, json_t *params, json_t **data)
{
    json_t *res = NULL;
    rp_rpc_error e;
    int rc = rp_rpc_call(c, method, params, &res, &e);
    json_decref(params);
    if (rc == 0) {
        char *d = json_dumps(res, JSON_COMPACT);
        ck_abort_msg("%s: expected an error, got the result %s", method, d ? d : "?");
    }
    ck_assert_msg(rc == RP_RPC_REPLY_ERROR, "%s: rc %d (%s)", method, rc, e.message);
    ck_assert_msg(e.message[0], "%s: error %d without a message", method, e.code);
    if (data)
        *data = gc(e.data);
    else
        json_decref(e.data);
    return e.code;
}

/* An error whose data names the parameter (-32602). */
void expect_bad_param(rp_rpc_client *c, const char *method, json_t *params,
                             const char *param)
{
    json_t *data = NULL;
    int code = call_err(c, method, params, &data);
    ck_assert_msg(code == -32602, "%s: code %d, expected -32602", method, code);
    ck_assert_msg(json_is_object(data), "%s: -32602 without data", method);
    json_t *p = json_object_get(data, "param");
    ck_assert_msg(json_is_string(p) && strcmp(json_string_value(p), param) == 0,
                  "%s: data.param is %s, expected %s", method,
                  json_is_string(p) ? json_string_value(p) : "(missing)", param);
}

const char *jstr(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_string(v), "\"%s\" is not a string", k);
    return json_string_value(v);
}

json_int_t jint(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", k);
    return json_integer_value(v);
}

/* A 64-bit integer, which the contract sends as a decimal string. */
uint64_t ju64(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_string(v), "\"%s\" must be a decimal string", k);
    uint64_t x;
    ck_assert_msg(rp_rpc_get_u64(o, k, &x) == 0, "\"%s\" is not a decimal string", k);
    return x;
}

void assert_hex(const json_t *o, const char *k, size_t bytes)
{
    const char *s = jstr(o, k);
    ck_assert_msg(strlen(s) == 2 * bytes, "\"%s\" has %zu hex digits, expected %zu", k, strlen(s),
                  2 * bytes);
    for (const char *p = s; *p; p++)
        ck_assert_msg((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'),
                      "\"%s\" is not lower-case hex", k);
}

/* ---- raw lines ------------------------------------------------------------------------ */

void send_str(rp_rpc_client *c, const char *s)
{
    ck_assert_int_eq(rp_rpc_send_raw(c, s, strlen(s)), 0);
}

json_t *read_json(rp_rpc_client *c)
{
    const char *line;
    size_t len;
    int rc = rp_rpc_read_line(c, &line, &len);
    ck_assert_msg(rc == 0, "read_line: %s", strerror(-rc));
    json_error_t je;
    json_t *v = json_loadb(line, len, 0, &je);
    ck_assert_msg(v != NULL, "the node sent a line that is not JSON: %s", je.text);
    return gc(v);
}

/* A response object with an error of code; its id must equal id_json (a
 * JSON text such as "null" or "5"). */
void assert_error_resp_at(int line, const json_t *resp, int code, const char *id_json)
{
    ck_assert_msg(json_is_object(resp), "line %d: not a response object", line);
    ck_assert_str_eq(jstr(resp, "jsonrpc"), "2.0");
    json_t *e = json_object_get(resp, "error");
    ck_assert_msg(json_is_object(e), "expected an error response");
    ck_assert_msg(!json_object_get(resp, "result"), "error and result together");
    ck_assert_msg(jint(e, "code") == code, "line %d: error code %lld, expected %d", line,
                  (long long)jint(e, "code"), code);
    ck_assert(json_is_string(json_object_get(e, "message")));
    json_t *data = json_object_get(e, "data");
    ck_assert_msg(!data || json_is_object(data), "error data must be an object");
    if (id_json) {
        json_t *want = json_loads(id_json, JSON_DECODE_ANY, NULL);
        ck_assert_ptr_nonnull(want);
        ck_assert_msg(json_equal(json_object_get(resp, "id"), want), "line %d: id is not %s", line,
                      id_json);
        json_decref(want);
    }
}

void assert_result_resp(const json_t *resp, const char *id_json)
{
    ck_assert(json_is_object(resp));
    ck_assert_str_eq(jstr(resp, "jsonrpc"), "2.0");
    ck_assert_msg(json_is_object(json_object_get(resp, "result")), "expected a result");
    json_t *want = json_loads(id_json, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(json_equal(json_object_get(resp, "id"), want), "id is not %s", id_json);
    json_decref(want);
}

int raw_connect(void)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(T.sock), sizeof sa.sun_path);
    memcpy(sa.sun_path, T.sock, strlen(T.sock));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* ---- records ------------------------------------------------------------------------------ */


void ident_gen(ident *id, uint8_t role, const char *name)
{
    memset(id, 0, sizeof *id);
    ck_assert_int_eq(rp_seckey_generate(&id->sk), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(&id->pk, &id->sk), 0);
    id->role = role;
    snprintf(id->name, sizeof id->name, "%s", name);
    rp_hex_encode(id->hex, sizeof id->hex, id->pk.bytes, 32);
}

/* The dev chain's pre-trusted anchor: registered in block 1 (sequence 1). */
void ident_anchor(ident *id)
{
    char path[256];
    memset(id, 0, sizeof *id);
    snprintf(path, sizeof path, "%s/%s", T.dir, RP_DEV_ANCHOR_FILE);
    ck_assert_int_eq(rp_keyfile_read(&id->sk, &id->pk, path, "", 0), 0);
    id->seq = 1;
    id->role = RP_ROLE_AGENT;
    snprintf(id->name, sizeof id->name, "%s", RP_DEV_ANCHOR_NAME);
    rp_hex_encode(id->hex, sizeof id->hex, id->pk.bytes, 32);
}

void rsign(rp_record *r, size_t slot, const rp_seckey *sk)
{
    unsigned char aux[32];
    rp_aux_fresh(aux);
    ck_assert_int_eq(rp_record_sign(r, slot, &T.chain, sk, aux), 0);
}

rp_record rbase(ident *who, unsigned type)
{
    rp_record r;
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.type = (uint8_t)type;
    r.issuer = who->pk;
    r.seq = ++who->seq;
    r.time = (uint64_t)time(NULL);
    return r;
}

rp_record r_identity(ident *who)
{
    ck_assert_int_eq(who->seq, 0);
    rp_record r = rbase(who, RP_REC_IDENTITY);
    r.body.identity.role = who->role;
    r.body.identity.name_len = (uint8_t)strlen(who->name);
    memcpy(r.body.identity.name, who->name, r.body.identity.name_len);
    ck_assert_int_eq(rp_identity_pow_solve(&r, &T.chain, T.g->params.pow_difficulty, 1u << 30), 0);
    rsign(&r, 0, &who->sk);
    return r;
}

/* An IDENTITY at the next sequence: a cheap record any registered identity
 * may issue again and again. */
rp_record r_update(ident *who, unsigned n)
{
    rp_record r = rbase(who, RP_REC_IDENTITY);
    r.body.identity.role = who->role;
    int k = snprintf(r.body.identity.name, sizeof r.body.identity.name, "%.40s %u", who->name, n);
    r.body.identity.name_len = (uint8_t)k;
    rsign(&r, 0, &who->sk);
    return r;
}

rp_record r_engagement(ident *a, ident *b)
{
    rp_record r = rbase(a, RP_REC_ENGAGEMENT);
    r.body.engagement.counterparty = b->pk;
    r.body.engagement.kind = RP_ENG_GIG;
    randombytes_buf(r.body.engagement.terms.bytes, 32);
    r.body.engagement.expiry = r.time + 3600;
    rsign(&r, 0, &a->sk);
    rsign(&r, 1, &b->sk);
    return r;
}

rp_hash rid(const rp_record *r)
{
    rp_hash id;
    ck_assert_int_eq(rp_record_id(&id, &T.chain, r), 0);
    return id;
}

rp_record r_review(ident *from, ident *to, const rp_record *eng, uint8_t stars)
{
    rp_record r = rbase(from, RP_REC_REVIEW);
    r.body.review.engagement = rid(eng);
    r.body.review.subject = to->pk;
    r.body.review.overall = stars;
    r.body.review.dims[RP_DIM_QUALITY] = stars;
    r.body.review.dims[RP_DIM_RELIABILITY] = 4;
    rsign(&r, 0, &from->sk);
    return r;
}

rp_record r_vouch(ident *from, ident *to)
{
    rp_record r = rbase(from, RP_REC_VOUCH);
    r.body.vouch.subject = to->pk;
    r.body.vouch.relation = RP_VOUCH_REPRESENTS;
    rsign(&r, 0, &from->sk);
    return r;
}

void rhex(const rp_record *r, char out[HEX_MAX])
{
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_record_encode(r, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(rp_hex_encode(out, HEX_MAX, buf, len), 0);
}

void id_hex(const rp_record *r, char out[65])
{
    rp_hash id = rid(r);
    rp_hex_encode(out, 65, id.bytes, 32);
}

json_t *submit_params(const rp_record *r, int wait, unsigned timeout_ms)
{
    char hex[HEX_MAX];
    rhex(r, hex);
    json_t *p = P("{s:s,s:b}", "record", hex, "wait", wait);
    if (timeout_ms)
        json_object_set_new(p, "timeout_ms", json_integer(timeout_ms));
    return p;
}

/* Submit; the answer must be a result with the record's id and one of the
 * documented statuses. Returns the result. */
json_t *submit_ok(rp_rpc_client *c, const rp_record *r, int wait)
{
    json_t *res = call_ok(c, "record.submit", submit_params(r, wait, 0));
    char idh[65];
    id_hex(r, idh);
    ck_assert_str_eq(jstr(res, "id"), idh);
    const char *st = jstr(res, "status");
    ck_assert_msg(!strcmp(st, "pending") || !strcmp(st, "held") || !strcmp(st, "known") ||
                      !strcmp(st, "included"),
                  "unknown status %s", st);
    if (wait)
        ck_assert_msg(!strcmp(st, "included"), "wait=true answered %s", st);
    if (!strcmp(st, "included")) {
        ck_assert_uint_gt(ju64(res, "height"), 0);
        ck_assert_int_ge(jint(res, "index"), 0);
    }
    return res;
}

void expect_status(const json_t *res, const char *status)
{
    ck_assert_str_eq(jstr(res, "status"), status);
}

uint64_t head_height(rp_rpc_client *c)
{
    return ju64(call_ok(c, "chain.head", NULL), "height");
}

uint64_t head_epoch(rp_rpc_client *c)
{
    return ju64(call_ok(c, "chain.head", NULL), "epoch");
}

void wait_epoch(rp_rpc_client *c, uint64_t epoch)
{
    uint64_t end = mono_ms() + 90000;
    while (head_epoch(c) < epoch) {
        ck_assert_msg(mono_ms() < end, "epoch %llu was not committed within 90 s; log:\n%s",
                      (unsigned long long)epoch, log_tail());
        sleep_ms(100);
    }
}

/* record.get until the record is included; returns its height. */
uint64_t wait_included(rp_rpc_client *c, const rp_record *r)
{
    char idh[65];
    id_hex(r, idh);
    uint64_t end = mono_ms() + 60000;
    for (;;) {
        /* -32001 is allowed for a while: the record may come through
         * another connection that the node has not read yet. */
        json_t *g = NULL, *q = P("{s:s}", "id", idh);
        rp_rpc_error e;
        int rc = rp_rpc_call(c, "record.get", q, &g, &e);
        json_decref(q);
        ck_assert_msg(rc == 0 || (rc == RP_RPC_REPLY_ERROR && e.code == -32001),
                      "record.get %s: rc %d code %d %s", idh, rc, e.code, e.message);
        rp_rpc_error_clear(&e);
        if (rc == 0 && !strcmp(jstr(gc(g), "status"), "included"))
            return ju64(g, "height");
        ck_assert_msg(mono_ms() < end, "record %s not included within 60 s", idh);
        sleep_ms(50);
    }
}

/* Register identities (one block, then wait for all). */
void register_all(rp_rpc_client *c, ident **ids, size_t n)
{
    rp_record last;
    for (size_t i = 0; i < n; i++) {
        last = r_identity(ids[i]);
        expect_status(submit_ok(c, &last, 0), "pending");
    }
    if (n)
        wait_included(c, &last);
}

/* Write all of buf to fd (blocking). */
void write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_msg(n > 0, "write: %s", strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
}

/* Read lines from fd until EOF (or the deadline); count them. */
size_t count_lines_to_eof(int fd, unsigned timeout_ms)
{
    char buf[65536];
    size_t lines = 0;
    uint64_t end = mono_ms() + timeout_ms;
    for (;;) {
        ck_assert_msg(mono_ms() < end, "no EOF after %zu lines", lines);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return lines;
        ck_assert_msg(n > 0, "read: %s", strerror(errno));
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    }
}

long peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- repute-cli --------------------------------------------------------------------- */

char cli_out[65536], cli_err[16384];

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    close(fd);
}

int cli_run(json_t **json, ...)
{
    char *argv[40];
    int n = 0;
    argv[n++] = cli_bin;
    argv[n++] = "--datadir";
    argv[n++] = T.dir;
    va_list ap;
    va_start(ap, json);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        ck_assert_int_lt(n, 39);
        argv[n++] = (char *)(uintptr_t)a;
    }
    va_end(ap);
    argv[n] = NULL;
    char op[256], ep[256];
    snprintf(op, sizeof op, "%s/cli.out", T.work);
    snprintf(ep, sizeof ep, "%s/cli.err", T.work);
    unlink(op);
    unlink(ep);
    int to;
    int st = wait_child(spawn2(argv, op, ep), 120000, &to);
    ck_assert_msg(!to, "repute-cli %s did not finish", argv[3]);
    slurp(op, cli_out, sizeof cli_out);
    slurp(ep, cli_err, sizeof cli_err);
    if (json)
        *json = gc(json_loads(cli_out, JSON_DISABLE_EOF_CHECK, NULL));
    ck_assert_msg(WIFEXITED(st), "repute-cli %s died of signal %d", argv[3], WTERMSIG(st));
    return WEXITSTATUS(st);
}

int fixture_prepare(const char *name)
{
    const char *bin = getenv("RP_REPUTED");
    if (!bin || strlen(bin) >= sizeof reputed_bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "test_%s: set RP_REPUTED to the built reputed binary\n", name);
        return 1;
    }
    memcpy(reputed_bin, bin, strlen(bin) + 1);
    const char *cb = getenv("RP_REPUTE_CLI");
    if (cb && strlen(cb) < sizeof cli_bin)
        memcpy(cli_bin, cb, strlen(cb) + 1);
    if (rp_crypto_init() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    snprintf(base_dir, sizeof base_dir, "/tmp/rp-test-%.16s-XXXXXX", name);
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }
    return 0;
}

int fixture_run(const char *name, Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_%s: could not remove %s\n", name, base_dir);
    return failed ? 1 : 0;
}
