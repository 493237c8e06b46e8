/* Consensus benchmark: a chain of four validators, each a real `reputed`
 * process on loopback finalizing blocks by Tendermint (docs/consensus.md),
 * driven over the RPC sockets, next to a single-validator dev chain
 * measured in the same run.
 *
 *   Reference. A dev chain (rp_node_init --dev, one validator that decides
 *   alone) whose block_interval_ms is COMMIT_MS, the consensus chain's
 *   commit_ms, so both chains wait the same time between blocks.
 *   The chain. Four validators of power 1 with plaintext dev keys
 *   (tests/test_devnet.c does the same), [consensus] timeouts at their
 *   defaults (propose 3000, prevote 1000, precommit 1000 ms) except
 *   commit_ms = COMMIT_MS; validator i dials validators 0..i-1 as
 *   persistent peers, so every pair is linked once.
 *
 *   1. Finality latency. --records IDENTITY registrations (default 200),
 *      signed before the clock starts, submitted one at a time with
 *      record.submit wait=false (round-robin over the validators), PAUSE_MS
 *      between them; record.get is polled every POLL_MS on every node
 *      until each says "included". p50/p99 of submit -> included on all
 *      four, next to submit -> included on the reference, and the ratio;
 *      the heights decided meanwhile and how many needed a round after
 *      round 0 (the validators' logs: consensus_decided ... round=R).
 *   2. Throughput. --burst registrations (default 5000), pre-signed, sent
 *      pipelined as fast as the nodes take them over CONNS connections
 *      (one per validator; all to the reference), as bench_rpc sends its
 *      load; the
 *      clock runs from the first byte until every node's chain holds all
 *      of them (counted from chain.block's records_total; afterwards
 *      record.get on every node confirms each record, untimed). Records/s,
 *      the median of BURST_RUNS bursts, next to the reference's.
 *   3. A fault. The last validator is killed with SIGKILL; latency as in 1
 *      with --records/4 registrations (at least 20) over the other three,
 *      a quorum; every fourth height is the dead validator's to propose, so
 *      propose_ms passes before round 1 decides it. Then it is restarted
 *      and timed until its height equals the others'.
 *
 * The processes are run by bench/procs.h: every wait is bounded and fails
 * with a message naming the node and the tail of its log; on exit, failure
 * or signal every child is killed and the work folder removed
 * (--keep-work keeps it on failure, for the logs).
 *
 * Usage: bench_consensus [--records N] [--burst N] [--keep-work]
 * reputed is $RP_REPUTED or ../node/reputed next to this program's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/procs.h"
#include "bench/records.h"
#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "node/init.h"

#define NV         4   /* validators */
#define COMMIT_MS  500 /* the chain's commit_ms, the reference's block interval */
#define PAUSE_MS   20  /* between two latency records */
#define POLL_MS    2
#define CONNS      4 /* pipelined connections of a burst */
#define BURST_RUNS 3
#define RECORD_S   60.0  /* until a record is included everywhere */
#define BURST_S    300.0 /* until a burst is admitted, and again until included */
#define MESH_S     60.0  /* until the validators are linked */
#define IDLE_S     120.0 /* until every node has decided what was sent */
#define CATCHUP_S  120.0 /* until the restarted validator has the others' height */
#define OVERALL_S  1500  /* the whole run, whatever happens */
#define BATCH      100   /* record.get per line when checking a burst ([rpc] max_batch) */

static rp_procs_node *vals[NV];

/* ---- setting up the chains -------------------------------------------------------------- */

static void edit_reference(rp_config *cfg, void *arg)
{
    (void)arg;
    cfg->block_interval_ms = COMMIT_MS;
}

static void edit_validator(rp_config *cfg, void *arg)
{
    (void)arg;
    cfg->validator = 1;
    cfg->dev_plaintext_key = 1;
    snprintf(cfg->key_file, sizeof cfg->key_file, "validator.key");
    cfg->consensus.commit_ms = COMMIT_MS;
}

/* A plaintext dev key file, mode 0600, as reputed reads with
 * dev_plaintext_key. */
static void write_dev_key(const rp_procs_node *n, const rp_seckey *sk)
{
    char path[256], hex[65], text[256];
    snprintf(path, sizeof path, "%s/validator.key", n->dir);
    rp_hex_encode(hex, sizeof hex, sk->bytes, 32);
    int len =
        snprintf(text, sizeof text, "%s\n# bench_consensus key\n%s\n", RP_DEV_KEY_HEADER, hex);
    sodium_memzero(hex, sizeof hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, text, (size_t)len) == len;
    sodium_memzero(text, sizeof text);
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok)
        rp_procs_die("cannot write %s: %s", path, strerror(errno));
}

/* The reference's genesis with NV fresh validators of power 1, written to
 * WORK/cs-genesis.json; their keys go to the validators' datadirs. */
static rp_hash make_chain(const rp_procs_node *ref, char *genesis, size_t cap)
{
    static rp_genesis g; /* large: not on the stack */
    char path[256], err[1024];
    snprintf(path, sizeof path, "%s/genesis.json", ref->dir);
    if (rp_genesis_load(&g, path, err, sizeof err) != 0)
        rp_procs_die("%s", err);
    snprintf(g.chain_name, sizeof g.chain_name, "bench-consensus");
    g.nvalidators = NV;
    rp_seckey sk[NV];
    for (int i = 0; i < NV; i++) {
        if (rp_seckey_generate(&sk[i]) != 0 ||
            rp_pubkey_from_seckey(&g.validators[i].pubkey, &sk[i]) != 0)
            rp_procs_die("keygen failed");
        g.validators[i].power = 1;
        snprintf(g.validators[i].name, sizeof g.validators[i].name, "val-%d", i);
    }
    snprintf(genesis, cap, "%s/cs-genesis.json", rp_procs_work());
    char *json = rp_genesis_to_json(&g);
    FILE *f = json ? fopen(genesis, "w") : NULL;
    if (!f || fputs(json, f) < 0 || fclose(f) != 0)
        rp_procs_die("cannot write %s", genesis);
    free(json);
    rp_hash chain;
    if (rp_genesis_chain_id(&chain, &g) != 0)
        rp_procs_die("the consensus chain's genesis does not encode");
    for (int i = 0; i < NV; i++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", i);
        vals[i] = rp_procs_node_new(name);
        rp_procs_node_init(vals[i], genesis);
        write_dev_key(vals[i], &sk[i]);
        sodium_memzero(&sk[i], sizeof sk[i]);
    }
    return chain;
}

static int peers_of(rp_procs_node *n)
{
    json_t *info = rp_procs_call(n, "node.info", NULL);
    int k = (int)json_integer_value(json_object_get(json_object_get(info, "network"), "peers"));
    json_decref(info);
    return k;
}

/* Start validator i, dialing 0..i-1. */
static void start_validator(int i)
{
    rp_procs_conf_p2p(vals[i], "127.0.0.1:0", vals, i);
    rp_procs_conf_edit(vals[i], edit_validator, NULL);
    rp_procs_node_start(vals[i]);
}

/* Until each of ns[0..nn) has want peers. */
static void wait_linked(rp_procs_node **ns, int nn, int want)
{
    double end = rp_procs_now() + MESH_S;
    for (int i = 0; i < nn; i++)
        while (peers_of(ns[i]) != want) {
            if (rp_procs_now() > end)
                rp_procs_die_at(ns[i], "%s: %d peers, expected %d, after %.0f s", ns[i]->name,
                                peers_of(ns[i]), want, MESH_S);
            rp_procs_sleep_ms(50);
        }
}

/* Until ns[0..nn) are at one height with empty mempools: everything sent
 * so far is decided everywhere. Blocks that only settle a score epoch may
 * still follow; they carry no records and are left to run alongside.
 * Returns: that height. */
static uint64_t wait_synced(rp_procs_node **ns, int nn)
{
    double end = rp_procs_now() + IDLE_S;
    for (;;) {
        uint64_t h = rp_procs_height(ns[0]);
        rp_procs_node *off = NULL;
        for (int i = 0; i < nn && !off; i++) {
            json_t *m = rp_procs_call(ns[i], "mempool.info", NULL);
            if (rp_procs_height(ns[i]) != h || rp_procs_u64(ns[i], m, "count") != 0)
                off = ns[i];
            json_decref(m);
        }
        if (!off)
            return h;
        if (rp_procs_now() > end)
            rp_procs_die_at(off,
                            "%s: not at %s's height %llu with an empty mempool %.0f s after the "
                            "last record",
                            off->name, ns[0]->name, (unsigned long long)h, IDLE_S);
        rp_procs_sleep_ms(20);
    }
}

/* ---- 1. latency --------------------------------------------------------------------------- */

/* Submit recs one at a time at ns[k % nn] and wait until every node of
 * ns[0..nn) has it included. Out: ms[k], submit -> included on all. */
static void latency(rp_procs_node **ns, int nn, const rp_bench_rec *recs, size_t n, double *ms)
{
    for (size_t k = 0; k < n; k++) {
        rp_procs_node *src = ns[k % (size_t)nn];
        json_t *params = json_pack("{s:s,s:b}", "record", recs[k].line_hex, "wait", 0);
        double t0 = rp_procs_now();
        json_t *res = rp_procs_call(src, "record.submit", params);
        const char *st = json_string_value(json_object_get(res, "status"));
        if (!st || strcmp(st, "pending") != 0)
            rp_procs_die_at(src, "%s: record %zu submitted: status %s, expected pending", src->name,
                            k, st ? st : "(none)");
        json_decref(res);
        int done[NV] = {0}, left = nn;
        double last = t0;
        while (left) {
            for (int i = 0; i < nn; i++) {
                if (done[i] || rp_procs_record_state(ns[i], recs[k].id) != 2)
                    continue;
                done[i] = 1;
                left--;
                last = rp_procs_now();
            }
            if (!left)
                break;
            if (rp_procs_now() - t0 > RECORD_S) {
                int i = 0;
                while (done[i])
                    i++;
                rp_procs_die_at(ns[i],
                                "record %zu (%s), submitted at %s, not included on %s "
                                "after %.0f s",
                                k, recs[k].id, src->name, ns[i]->name, RECORD_S);
            }
            rp_procs_sleep_ms(POLL_MS);
        }
        ms[k] = (last - t0) * 1e3;
        rp_procs_sleep_ms(PAUSE_MS);
    }
}

/* ---- 2. throughput ------------------------------------------------------------------------ */

struct conn {
    rp_procs_node *n;
    int fd;
    char *out;
    size_t len, off, lines, answered, errors;
    char in[1 << 16];
    size_t inlen;
    char first_error[300];
};

static int raw_connect(rp_procs_node *n)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(n->sock) >= sizeof sa.sun_path)
        rp_procs_die_at(n, "%s: socket path too long", n->name);
    memcpy(sa.sun_path, n->sock, strlen(n->sock));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        rp_procs_die_at(n, "%s: connect %s: %s", n->name, n->sock, strerror(errno));
    return fd;
}

/* Does s[0..n) contain needle? (memmem is not POSIX.) */
static int contains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (s[i] == needle[0] && !memcmp(s + i, needle, m))
            return 1;
    return 0;
}

/* The answers in c->in: count them, note errors (an admitted record's
 * answer has a "result"), keep a partial last line. */
static void take_answers(struct conn *c)
{
    size_t start = 0;
    char *nl;
    while ((nl = memchr(c->in + start, '\n', c->inlen - start)) != NULL) {
        size_t ll = (size_t)(nl - (c->in + start));
        const char *line = c->in + start;
        c->answered++;
        if (!contains(line, ll, "\"result\"") && !c->errors++)
            snprintf(c->first_error, sizeof c->first_error, "%.*s", (int)(ll < 290 ? ll : 290),
                     line);
        start += ll + 1;
    }
    memmove(c->in, c->in + start, c->inlen - start);
    c->inlen -= start;
    if (c->inlen == sizeof c->in)
        rp_procs_die_at(c->n, "%s: an answer longer than %zu bytes", c->n->name, sizeof c->in);
}

/* Send recs pipelined over CONNS connections, recs[k] over connection
 * k % CONNS, which goes to ns[k % CONNS % nn]: one per validator of the
 * chain, all four to the reference, so that both are sent the same way
 * (one connection alone is bound by [rpc] max_inflight, not by the node).
 * Answers are read as they come (the node stops reading a connection
 * whose answers are not read). Returns: seconds until the last answer.
 * Dies on any refused record. */
static double send_burst(rp_procs_node **ns, int nn, const rp_bench_rec *recs, size_t n)
{
    struct conn *cs = calloc(CONNS, sizeof *cs);
    if (!cs)
        rp_procs_die("out of memory");
    for (int i = 0; i < CONNS; i++) {
        struct conn *c = &cs[i];
        c->n = ns[i % nn];
        size_t per = n / CONNS + 1, cap = per * (2 * RP_RECORD_MAX_SIZE + 128);
        c->out = malloc(cap);
        if (!c->out)
            rp_procs_die("out of memory");
        for (size_t k = (size_t)i; k < n; k += CONNS)
            c->len += (size_t)snprintf(c->out + c->len, cap - c->len,
                                       "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":"
                                       "\"record.submit\",\"params\":{\"record\":\"%s\","
                                       "\"wait\":false}}\n",
                                       k, recs[k].line_hex);
        c->lines = (n - (size_t)i + CONNS - 1) / CONNS;
        c->fd = raw_connect(c->n);
    }
    double t0 = rp_procs_now(), end = t0 + BURST_S;
    struct pollfd pf[CONNS];
    for (;;) {
        int open = 0;
        for (int i = 0; i < CONNS; i++) {
            struct conn *c = &cs[i];
            pf[i].fd = c->answered < c->lines ? c->fd : -1;
            pf[i].events = (short)(POLLIN | (c->off < c->len ? POLLOUT : 0));
            pf[i].revents = 0;
            open += pf[i].fd >= 0;
        }
        if (!open)
            break;
        if (poll(pf, CONNS, 100) < 0 && errno != EINTR)
            rp_procs_die("poll: %s", strerror(errno));
        for (int i = 0; i < CONNS; i++) {
            struct conn *c = &cs[i];
            if (pf[i].revents & POLLOUT) {
                ssize_t w = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                    rp_procs_die_at(c->n, "%s: send: %s", c->n->name, strerror(errno));
                if (w > 0)
                    c->off += (size_t)w;
            }
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                    rp_procs_die_at(c->n,
                                    "%s: the node closed the connection after %zu of %zu "
                                    "answers",
                                    c->n->name, c->answered, c->lines);
                if (r > 0) {
                    c->inlen += (size_t)r;
                    take_answers(c);
                }
            }
        }
        if (rp_procs_now() > end) {
            int i = 0;
            while (cs[i].answered == cs[i].lines)
                i++;
            rp_procs_die_at(cs[i].n, "%s: %zu of %zu records answered after %.0f s", cs[i].n->name,
                            cs[i].answered, cs[i].lines, BURST_S);
        }
    }
    double admit = rp_procs_now() - t0;
    for (int i = 0; i < CONNS; i++) {
        if (cs[i].errors)
            rp_procs_die_at(cs[i].n, "%s: %zu of the burst's records refused; the first: %s",
                            cs[i].n->name, cs[i].errors, cs[i].first_error);
        close(cs[i].fd);
        free(cs[i].out);
    }
    free(cs);
    return admit;
}

static uint64_t records_in_block(rp_procs_node *n, uint64_t h)
{
    json_t *b = rp_procs_call(n, "chain.block",
                              json_pack("{s:I,s:i}", "height", (json_int_t)h, "records_limit", 1));
    uint64_t k = rp_procs_u64(n, b, "records_total");
    json_decref(b);
    return k;
}

/* How many of recs[0..n) n says are included (record.get, BATCH a line). */
static size_t count_included(rp_procs_node *n, const rp_bench_rec *recs, size_t nrec)
{
    size_t inc = 0;
    for (size_t k = 0; k < nrec; k += BATCH) {
        size_t m = nrec - k < BATCH ? nrec - k : BATCH;
        json_t *batch = json_array();
        for (size_t j = 0; j < m; j++)
            json_array_append_new(batch, json_pack("{s:s,s:I,s:s,s:{s:s}}", "jsonrpc", "2.0", "id",
                                                   (json_int_t)(k + j), "method", "record.get",
                                                   "params", "id", recs[k + j].id));
        char *line = json_dumps(batch, JSON_COMPACT);
        json_decref(batch);
        size_t len = line ? strlen(line) : 0;
        const char *ans;
        size_t alen;
        if (!line || rp_rpc_send_raw(n->c, line, len) != 0 || rp_rpc_send_raw(n->c, "\n", 1) != 0 ||
            rp_rpc_read_line(n->c, &ans, &alen) != 0)
            rp_procs_die_at(n, "%s: a batch of record.get failed", n->name);
        free(line);
        json_t *arr = json_loadb(ans, alen, 0, NULL);
        size_t i;
        json_t *r;
        json_array_foreach(arr, i, r)
        {
            const char *st =
                json_string_value(json_object_get(json_object_get(r, "result"), "status"));
            inc += st && !strcmp(st, "included");
        }
        json_decref(arr);
    }
    return inc;
}

struct burst {
    double admit_s, include_s;
    uint64_t blocks; /* that carried records */
};

/* One burst of recs over ns[0..nn): sent, then timed until every node's
 * chain holds all of them; then every node is asked for every record. */
static struct burst burst(rp_procs_node **ns, int nn, const rp_bench_rec *recs, size_t n)
{
    struct burst b = {0};
    uint64_t h0 = wait_synced(ns, nn), scanned = h0, sum = 0, top = 0;
    double t0 = rp_procs_now();
    b.admit_s = send_burst(ns, nn, recs, n);
    double end = rp_procs_now() + BURST_S;
    /* The records of the blocks above h0, counted on ns[0]; then the height
     * that completes them, on every node. */
    while (!top) {
        uint64_t h = rp_procs_height(ns[0]);
        for (; scanned < h && !top; scanned++) {
            uint64_t k = records_in_block(ns[0], scanned + 1);
            b.blocks += k > 0;
            sum += k;
            if (sum >= n)
                top = scanned + 1;
        }
        if (top)
            break;
        if (rp_procs_now() > end)
            rp_procs_die_at(ns[0], "%s: %llu of %zu records on chain after %.0f s", ns[0]->name,
                            (unsigned long long)sum, n, BURST_S);
        rp_procs_sleep_ms(POLL_MS);
    }
    for (int i = 1; i < nn; i++)
        while (rp_procs_height(ns[i]) < top) {
            if (rp_procs_now() > end)
                rp_procs_die_at(ns[i], "%s: at height %llu, below %llu, after %.0f s", ns[i]->name,
                                (unsigned long long)rp_procs_height(ns[i]), (unsigned long long)top,
                                BURST_S);
            rp_procs_sleep_ms(POLL_MS);
        }
    b.include_s = rp_procs_now() - t0;
    if (sum != n)
        rp_procs_die_at(ns[0], "%s: %llu records in the blocks after %llu, %zu sent", ns[0]->name,
                        (unsigned long long)sum, (unsigned long long)h0, n);
    for (int i = 0; i < nn; i++) {
        size_t inc = count_included(ns[i], recs, n);
        if (inc != n)
            rp_procs_die_at(ns[i], "%s: %zu of the burst's %zu records included", ns[i]->name, inc,
                            n);
    }
    return b;
}

/* ---- rounds, from the logs ---------------------------------------------------------------- */

struct rounds {
    uint64_t heights;  /* decided, in the range */
    uint64_t later;    /* of which decided after round 0 */
    unsigned max;      /* the highest round */
    uint64_t unlogged; /* heights no log shows deciding (every node synced them) */
};

/* Heights (from, to] of the chain, by the consensus_decided lines of the
 * validators' logs: a height's round is the highest any node logged. */
static struct rounds rounds_in(uint64_t from, uint64_t to)
{
    struct rounds r = {0};
    size_t n = (size_t)(to - from);
    int *round = malloc((n ? n : 1) * sizeof *round);
    if (!round)
        rp_procs_die("out of memory");
    for (size_t k = 0; k < n; k++)
        round[k] = -1;
    for (int i = 0; i < NV; i++) {
        char *text = rp_procs_read_file(vals[i]->log);
        for (char *p = text; p && (p = strstr(p, " consensus_decided ")) != NULL; p++) {
            unsigned long long h;
            unsigned rd;
            if (sscanf(p, " consensus_decided height=%llu round=%u", &h, &rd) == 2 && h > from &&
                h <= to && (int)rd > round[h - from - 1])
                round[h - from - 1] = (int)rd;
        }
        free(text);
    }
    r.heights = n;
    for (size_t k = 0; k < n; k++) {
        if (round[k] < 0)
            r.unlogged++;
        else if (round[k] > 0)
            r.later++;
        if (round[k] > (int)r.max)
            r.max = (unsigned)round[k];
    }
    free(round);
    return r;
}

static void print_rounds(const char *what, struct rounds r)
{
    printf("   %s: %llu heights decided, %llu of them after round 0 (highest round %u)", what,
           (unsigned long long)r.heights, (unsigned long long)r.later, r.max);
    if (r.unlogged)
        printf("; %llu not in any log", (unsigned long long)r.unlogged);
    printf("\n");
}

/* ---- main --------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: bench_consensus [--records N] [--burst N] [--keep-work]\n");
    return 2;
}

static double t_signing; /* seconds spent signing, before the clocks */

static rp_bench_rec *sign(size_t n, const rp_hash *chain, unsigned pow, const char *prefix)
{
    double t = rp_procs_now();
    rp_bench_rec *recs = rp_bench_registrations(n, chain, pow, prefix);
    t_signing += rp_procs_now() - t;
    return recs;
}

static double median3(double *v)
{
    return rp_procs_quantile(v, BURST_RUNS, 0.5);
}

int main(int argc, char **argv)
{
    long nrec = 200, nburst = 5000;
    int keep_work = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--records") && val && rp_procs_digits(val)) {
            nrec = atol(val);
            i++;
        } else if (!strcmp(a, "--burst") && val && rp_procs_digits(val)) {
            nburst = atol(val);
            i++;
        } else if (!strcmp(a, "--keep-work")) {
            keep_work = 1;
        } else {
            return usage();
        }
    }
    if (nrec < 4 || nrec > 10000 || nburst < NV || nburst > 15000) {
        fprintf(stderr, "bench_consensus: --records 4..10000, --burst 4..15000 (the mempool "
                        "holds 20000)\n");
        return 2;
    }
    rp_procs_setup("bench_consensus", argv[0], keep_work, OVERALL_S);
    if (rp_crypto_init() != 0)
        rp_procs_die("%s", rp_strerror(RP_ERR_CRYPTO_INIT));
    size_t nr = (size_t)nrec, nb = (size_t)nburst, nf = nr / 4 > 20 ? nr / 4 : 20;
    double t_run = rp_procs_now();

    /* The reference: one validator that decides alone. */
    rp_procs_node *ref = rp_procs_node_new("ref");
    rp_hash ref_chain = rp_procs_node_init(ref, NULL);
    rp_procs_conf_p2p(ref, "", NULL, 0);
    rp_procs_conf_edit(ref, edit_reference, NULL);
    rp_procs_node_start(ref);
    json_t *info = rp_procs_call(ref, "node.info", NULL);
    unsigned pow = (unsigned)json_integer_value(json_object_get(info, "pow_difficulty"));
    json_decref(info);

    printf("bench_consensus: 4 validators (power 1) on loopback, validator i dialing 0..i-1; "
           "[consensus] propose_ms 3000, prevote_ms 1000, precommit_ms 1000, commit_ms %d; "
           "reference: a single-validator dev chain, block_interval_ms %d; %ld core(s), load "
           "average %.2f\n",
           COMMIT_MS, COMMIT_MS, sysconf(_SC_NPROCESSORS_ONLN), rp_procs_loadavg());
    fflush(stdout);

    double *ref_ms = malloc(nr * sizeof *ref_ms), *cs_ms = malloc(nr * sizeof *cs_ms);
    double *fault_ms = malloc(nf * sizeof *fault_ms);
    if (!ref_ms || !cs_ms || !fault_ms)
        rp_procs_die("out of memory");
    double ref_rate[BURST_RUNS], cs_rate[BURST_RUNS], ref_admit[BURST_RUNS], cs_admit[BURST_RUNS];
    uint64_t ref_blocks[BURST_RUNS], cs_blocks[BURST_RUNS];

    rp_bench_rec *recs = sign(nr, &ref_chain, pow, "cs ref");
    latency(&ref, 1, recs, nr, ref_ms);
    free(recs);
    for (int r = 0; r < BURST_RUNS; r++) {
        recs = sign(nb, &ref_chain, pow, "cs ref burst");
        struct burst b = burst(&ref, 1, recs, nb);
        free(recs);
        ref_rate[r] = (double)nb / b.include_s;
        ref_admit[r] = (double)nb / b.admit_s;
        ref_blocks[r] = b.blocks;
    }
    rp_procs_node_stop(ref);

    /* The chain of four. */
    char genesis[256];
    rp_hash chain = make_chain(ref, genesis, sizeof genesis);
    for (int i = 0; i < NV; i++)
        start_validator(i);
    wait_linked(vals, NV, NV - 1);

    uint64_t h0 = wait_synced(vals, NV);
    recs = sign(nr, &chain, pow, "cs");
    latency(vals, NV, recs, nr, cs_ms);
    free(recs);
    uint64_t h1 = wait_synced(vals, NV);
    struct rounds lat_rounds = rounds_in(h0, h1);
    for (int r = 0; r < BURST_RUNS; r++) {
        recs = sign(nb, &chain, pow, "cs burst");
        struct burst b = burst(vals, NV, recs, nb);
        free(recs);
        cs_rate[r] = (double)nb / b.include_s;
        cs_admit[r] = (double)nb / b.admit_s;
        cs_blocks[r] = b.blocks;
    }
    uint64_t h2 = wait_synced(vals, NV);
    struct rounds burst_rounds = rounds_in(h1, h2);

    /* The fault: the last validator dies (nobody dials it, so its new port
     * after the restart needs no conf change elsewhere). */
    rp_procs_node *dead = vals[NV - 1];
    rp_procs_node_kill(dead);
    recs = sign(nf, &chain, pow, "cs fault");
    latency(vals, NV - 1, recs, nf, fault_ms);
    free(recs);
    uint64_t h3 = wait_synced(vals, NV - 1);
    struct rounds fault_rounds = rounds_in(h2, h3);
    uint64_t h_restart = rp_procs_height(vals[0]);
    double t_restart = rp_procs_now();
    rp_procs_node_start(dead);
    double t_up = rp_procs_now() - t_restart;
    for (;;) {
        uint64_t top = rp_procs_height(vals[0]), h = rp_procs_height(dead);
        if (h >= top)
            break;
        if (rp_procs_now() - t_restart > CATCHUP_S)
            rp_procs_die_at(dead,
                            "%s: at height %llu after restarting, the others at %llu, after "
                            "%.0f s",
                            dead->name, (unsigned long long)h, (unsigned long long)top, CATCHUP_S);
        rp_procs_sleep_ms(POLL_MS);
    }
    double t_catchup = rp_procs_now() - t_restart;

    json_t *cs_info[NV];
    for (int i = 0; i < NV; i++) {
        json_t *ni = rp_procs_call(vals[i], "node.info", NULL);
        cs_info[i] = json_incref(json_object_get(ni, "consensus"));
        json_decref(ni);
        if (!json_is_object(cs_info[i]))
            rp_procs_die_at(vals[i], "%s: node.info has no consensus member", vals[i]->name);
    }

    /* 1. latency */
    double c50 = rp_procs_quantile(cs_ms, nr, 0.5), c99 = rp_procs_quantile(cs_ms, nr, 0.99);
    double r50 = rp_procs_quantile(ref_ms, nr, 0.5), r99 = rp_procs_quantile(ref_ms, nr, 0.99);
    printf("\n1. finality latency: %zu IDENTITY registrations, one at a time (%d ms apart), "
           "record.submit wait=false, then record.get polled every %d ms until \"included\"\n",
           nr, PAUSE_MS, POLL_MS);
    printf("%-56s %10s %10s\n", "", "p50 ms", "p99 ms");
    printf("%-56s %10.1f %10.1f\n", "4 validators: submit -> included on all 4", c50, c99);
    printf("%-56s %10.1f %10.1f\n", "reference: 1 validator, submit -> included", r50, r99);
    printf("%-56s %10.2f %10.2f\n", "ratio (4 validators / 1)", c50 / r50, c99 / r99);
    print_rounds("the 4 validators", lat_rounds);

    /* 2. throughput */
    double cr = median3(cs_rate), rr = median3(ref_rate);
    printf("\n2. throughput: %zu pre-signed registrations pipelined over %d connections (one per "
           "validator; all %d to the reference), until every node's chain holds them all; "
           "median of %d bursts\n",
           nb, CONNS, CONNS, BURST_RUNS);
    printf("%-56s %10s %10s %10s\n", "", "records/s", "min", "max");
    printf("%-56s %10.0f %10.0f %10.0f\n", "4 validators: submit -> included on all 4", cr,
           cs_rate[0], cs_rate[BURST_RUNS - 1]);
    printf("%-56s %10.0f %10.0f %10.0f\n", "reference: 1 validator", rr, ref_rate[0],
           ref_rate[BURST_RUNS - 1]);
    printf("%-56s %10.2f\n", "ratio (4 validators / 1)", cr / rr);
    printf("   admitted (every answer back): %.0f records/s on the 4, %.0f on the reference "
           "(medians); blocks per burst: %llu %llu %llu on the 4, %llu %llu %llu on the "
           "reference\n",
           median3(cs_admit), median3(ref_admit), (unsigned long long)cs_blocks[0],
           (unsigned long long)cs_blocks[1], (unsigned long long)cs_blocks[2],
           (unsigned long long)ref_blocks[0], (unsigned long long)ref_blocks[1],
           (unsigned long long)ref_blocks[2]);
    print_rounds("the 4 validators", burst_rounds);

    /* 3. the fault */
    double f50 = rp_procs_quantile(fault_ms, nf, 0.5), f99 = rp_procs_quantile(fault_ms, nf, 0.99);
    printf("\n3. fault: %s killed (SIGKILL); %zu registrations as in 1, round-robin over the other "
           "3 (a quorum), included on all 3\n",
           dead->name, nf);
    printf("%-56s %10s %10s\n", "", "p50 ms", "p99 ms");
    printf("%-56s %10.1f %10.1f\n", "3 of 4 validators: submit -> included on all 3", f50, f99);
    printf("%-56s %10.1f %10.1f\n", "4 of 4 (part 1)", c50, c99);
    printf("%-56s %10.2f %10.2f\n", "ratio (3 of 4 / 4 of 4)", f50 / c50, f99 / c99);
    print_rounds("the 3 validators", fault_rounds);
    printf("   (a height whose round-0 proposer is %s waits propose_ms, 3000 ms, for round 1)\n",
           dead->name);
    printf("%-56s %10.2f s  (%llu blocks behind; answering after %.2f s)\n",
           "restarted: start -> at the others' height", t_catchup,
           (unsigned long long)(h_restart - h2), t_up);

    printf("\nnode.info consensus at the end (decided_blocks counts since each node's start):");
    for (int i = 0; i < NV; i++) {
        uint64_t d = rp_procs_u64(vals[i], cs_info[i], "decided_blocks");
        uint64_t lr = rp_procs_u64(vals[i], cs_info[i], "last_round");
        printf(" %s decided_blocks %llu last_round %llu%s", vals[i]->name, (unsigned long long)d,
               (unsigned long long)lr, i + 1 < NV ? ";" : "\n");
        json_decref(cs_info[i]);
    }
    printf("\nbench_consensus: done in %.0f s, %.0f s of it signing records before the clocks "
           "(load average now %.2f)\n",
           rp_procs_now() - t_run, t_signing, rp_procs_loadavg());
    for (int i = NV - 1; i >= 0; i--)
        rp_procs_node_stop(vals[i]);
    free(ref_ms);
    free(cs_ms);
    free(fault_ms);
    rp_procs_finish();
    return 0;
}
