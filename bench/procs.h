/* Running and driving real `reputed` processes for benchmarks: the harness
 * that bench_p2p and bench_consensus share.
 *
 * A benchmark calls rp_procs_setup once, then makes nodes (a datadir each,
 * under one temporary work folder), edits their confs, starts them, talks
 * to them over their RPC sockets and stops them; rp_procs_finish ends a
 * run that went well.
 *
 * Failure model. These are benchmarks, not libraries: nothing here returns
 * an error. Whatever goes wrong — a node that exits or does not answer, an
 * RPC call that fails, a wait that runs out — ends the process through
 * rp_procs_die_at: one line on stderr starting with the program's name and
 * saying what, the tail of the named node's log, every child killed, the
 * work folder removed (kept with keep_work, for the logs), exit status 1.
 * Every wait the harness does is bounded; a benchmark's own waits should be
 * too, and end in rp_procs_die_at naming the node.
 *
 * Children. Every process started here (reputed, repute-gen, reputed
 * verify) is SIGKILLed by the kernel if the benchmark dies
 * (PR_SET_PDEATHSIG), and killed by the harness on exit, failure, SIGINT,
 * SIGTERM, or SIGALRM (the overall time limit).
 *
 * Pointers are never NULL unless a contract says so. Single-threaded: call
 * everything from the benchmark's main thread (the signal handler reads
 * the node table).
 */
#ifndef RP_BENCH_PROCS_H
#define RP_BENCH_PROCS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/hash.h"
#include "node/config.h"
#include "node/rpc_client.h"

#define RP_PROCS_MAX_NODES 16
#define RP_PROCS_CALL_MS   15000 /* bound on each RPC call of a started node */
#define RP_PROCS_START_S   30.0  /* until a started node answers node.info */
#define RP_PROCS_STOP_S    60.0  /* until a node exits after SIGTERM */

/* One reputed datadir and, while it runs, its process and RPC connection.
 * The harness owns the memory (rp_procs_node_new) and fills the fields; a
 * benchmark reads them and may point dir, sock and log elsewhere before
 * the node first starts (to serve an existing datadir). */
typedef struct rp_procs_node {
    char name[16];    /* for messages: "n3", "validator" */
    char dir[192];    /* datadir: WORK/NAME */
    char sock[224];   /* its RPC socket: WORK/NAME/rpc.sock */
    char log[224];    /* reputed's stdout and stderr, appended: WORK/NAME.log */
    pid_t pid;        /* > 0 while running */
    char id[65];      /* node ID (hex), learnt at start */
    unsigned port;    /* p2p port it listens on, learnt at start; 0: none */
    rp_rpc_client *c; /* connected while running */
} rp_procs_node;

/* ---- the run -------------------------------------------------------------------------- */

/* Begin a run, before anything else here: remember the program's name (the
 * prefix of every message), find reputed ($RP_REPUTED, or ../node/reputed
 * next to this program's folder), ignore SIGPIPE, clean up on SIGINT,
 * SIGTERM and SIGALRM, arm alarm() with the overall limit, and create the
 * work folder /tmp/rp-PROG-XXXXXX (PROG with '_' as '-').
 * In: prog: e.g. "bench_p2p" (kept, not copied: a string literal);
 *     argv0: main's argv[0] (see rp_procs_find_bin);
 *     keep_work: 1 to keep the work folder when the run fails;
 *     overall_s: the whole run's limit in seconds. */
void rp_procs_setup(const char *prog, const char *argv0, int keep_work, unsigned overall_s);

/* The work folder rp_procs_setup made. Valid until the process ends. */
const char *rp_procs_work(void);

/* The reputed program rp_procs_setup found (for `reputed verify`). */
const char *rp_procs_reputed(void);

/* End a run that went well: kill every child still running, close every
 * connection and remove the work folder. */
void rp_procs_finish(void);

/* Fail: say why (prog: fmt...), print who's log tail when who is not
 * NULL, kill every child, remove the work folder unless keep_work, exit 1.
 * In: who: the node the failure concerns, or NULL. */
void rp_procs_die_at(const rp_procs_node *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
#define rp_procs_die(...) rp_procs_die_at(NULL, __VA_ARGS__)

/* Find a program: $env if set, else rel from the folder of this
 * executable (build/bench -> "../node/reputed"). Dies with a message
 * naming the path and env when there is none executable.
 * Out: out[0..cap). In: argv0: used if /proc/self/exe cannot be read. */
void rp_procs_find_bin(char *out, size_t cap, const char *env, const char *rel, const char *argv0);

/* ---- small things --------------------------------------------------------------------- */

/* Seconds on the monotonic clock. */
double rp_procs_now(void);
/* 1 if s is one or more decimal digits and nothing else (option values). */
int rp_procs_digits(const char *s);

/* Sleep ms milliseconds, whatever signals arrive. */
void rp_procs_sleep_ms(unsigned ms);

/* The q-th quantile (0..1) of v[0..n) by rank (q = 0.5: the median, the
 * mean of the middle two for even n). Sorts v. n > 0. */
double rp_procs_quantile(double *v, size_t n, double q);

/* The 1-minute load average, to tell a quiet machine from a shared one;
 * -1 if unknown. */
double rp_procs_loadavg(void);

/* A whole file. Returns: a malloc'd NUL-terminated copy (the caller frees
 * it), or NULL if it cannot be read. */
char *rp_procs_read_file(const char *path);

/* Print the last ~2.5 KB of a log to stderr, from a line start, framed
 * with "---- the end of WHAT (PATH) ----". A missing file prints nothing. */
void rp_procs_print_tail(const char *what, const char *path);

/* ---- child processes ------------------------------------------------------------------ */

/* fork and exec argv (argv[0] a path), stdin from /dev/null, stdout
 * appended to out, stderr to err (or to out when err is NULL); the child
 * dies with this process. The caller waits for it (rp_procs_wait_exit).
 * Returns: its pid. */
pid_t rp_procs_spawn(char *const argv[], const char *out, const char *err);

/* Wait for a child at most timeout_s, then SIGKILL it.
 * Returns: its wait status, or -1 if it had to be killed. */
int rp_procs_wait_exit(pid_t pid, double timeout_s);

/* Run a command to its end (repute-gen, reputed verify) as rp_procs_spawn
 * does, at most timeout_s; a failure or signal meanwhile kills it too.
 * Returns: its wait status, or -1 if it ran out of time (and was killed). */
int rp_procs_run(char *const argv[], const char *out, const char *err, double timeout_s);

/* ---- nodes ---------------------------------------------------------------------------- */

/* A new node named name (at most 15 bytes), with paths under the work
 * folder; nothing is created on disk. At most RP_PROCS_MAX_NODES per run.
 * Returns: the node, owned by the harness until the process ends. */
rp_procs_node *rp_procs_node_new(const char *name);

/* Create n's datadir with rp_node_init: a dev chain of its own (genesis
 * NULL: `reputed init --dev`, a plaintext dev validator key, 500 ms
 * blocks) or a full node of the chain of the genesis file.
 * Returns: the chain id. */
rp_hash rp_procs_node_init(rp_procs_node *n, const char *genesis);

/* Edit n's reputed.conf: load it, let edit change it, write it back
 * (rp_config_format). arg is passed to edit as is (may be NULL). */
void rp_procs_conf_edit(const rp_procs_node *n, void (*edit)(rp_config *cfg, void *arg), void *arg);

/* Edit n's [p2p]: listen on listen ("" for none), dial exactly peers
 * [0..npeers) as persistent peers (at their learnt id and port on
 * 127.0.0.1; each must have run), max_outbound 0 (so the network stays as
 * drawn). */
void rp_procs_conf_p2p(const rp_procs_node *n, const char *listen, rp_procs_node *const *peers,
                       int npeers);

/* Start `reputed run` on n's datadir (its log appended to n->log) and wait
 * at most RP_PROCS_START_S until it answers node.info on its socket; learn
 * its node ID and p2p port. Every later call on n->c is bounded by
 * RP_PROCS_CALL_MS. Dies if reputed exits or does not answer. */
void rp_procs_node_start(rp_procs_node *n);

/* Stop n: SIGTERM and the clean exit the daemon promises, waiting at most
 * RP_PROCS_STOP_S (then SIGKILL). A node that does not exit cleanly is
 * reported on stderr with its log tail, not fatal (the figures stand).
 * A node that is not running is left alone.
 * Returns: 0 on a clean exit or when not running, -1 otherwise. */
int rp_procs_node_stop(rp_procs_node *n);

/* Kill n with SIGKILL (a crash, no clean-up of its own) and reap it. */
void rp_procs_node_kill(rp_procs_node *n);

/* ---- RPC ------------------------------------------------------------------------------ */

/* Call a method that must succeed.
 * Returns: the result, a new reference the caller json_decref's.
 * In:      params: an object or NULL; STOLEN (decref'd here), so that
 *          json_pack(...) can be passed inline. */
json_t *rp_procs_call(rp_procs_node *n, const char *method, json_t *params);

/* A number a result must hold (a JSON integer or a decimal string).
 * Returns: its value; dies naming n when o is NULL or lacks it. */
uint64_t rp_procs_u64(rp_procs_node *n, const json_t *o, const char *key);

/* n's chain.head height. */
uint64_t rp_procs_height(rp_procs_node *n);

/* Does n hold the record with this id (record.get)?
 * Returns: 0 no (not found), 1 pending or held in its mempool, 2 included
 *          in its chain. Any other answer is fatal. */
int rp_procs_record_state(rp_procs_node *n, const char *id_hex);

#endif /* RP_BENCH_PROCS_H */
