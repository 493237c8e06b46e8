/* `reputed run`: the node's lifecycle (contract in daemon.h; the threading
 * contract of its parts in node.h).
 *
 * Start-up is a sequence of steps, each undone in reverse if a later one
 * fails: datadir checks and config, the store (which takes the datadir lock, so a second
 * instance stops there), the validator key, the mempool, the writer, the
 * RPC socket, the timers and signals, the producer, the metrics endpoint,
 * the network, consensus. SIGINT or SIGTERM stops
 * intake, answers waiting clients, lets queued commits and running jobs
 * finish, and closes the store once the loop has nothing left.
 */
#include "node/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/query.h"
#include "node/init.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/node.h"

#define RP_READS_MAX_QUEUED 16384 /* client reads waiting for the pool, in all */

uint64_t rp_node_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void verify_check_cb(uv_check_t *h)
{
    rp_verifier_pump(h->data);
}

static void housekeeping_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    if (!n->producing)
        rp_mempool_expire(n->mp, rp_node_wall_ms() / 1000);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    if (n->stopping)
        return;
    n->stopping = 1;
    rp_log(RP_LOG_INFO, "shutdown", "signal=%s", signum == SIGINT ? "SIGINT" : "SIGTERM");
    rp_mempool_close(n->mp);
    /* Clients waiting for inclusion learn why they will not see it. */
    rp_waiters_fail_all(n);
    /* Reads not started are answered now; the lane frees itself after the
     * running ones, which still answer through it. */
    rp_lane_close(n->reads);
    rp_rpc_stop(n->rpc);
    n->rpc = NULL;
    rp_producer_stop(n);
    rp_consensus_stop(n);
    rp_network_stop(n);
    rp_metrics_stop(n);
    /* Queued commits still run; the writer frees itself after the last. */
    rp_node_writer_close(n->writer);
    n->writer = NULL;
    uv_close((uv_handle_t *)&n->verify_check, NULL);
    uv_close((uv_handle_t *)&n->housekeeping, NULL);
    uv_close((uv_handle_t *)&n->sig_int, NULL);
    uv_close((uv_handle_t *)&n->sig_term, NULL);
}

static unsigned cpu_count(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > 64 ? 64 : (unsigned)c;
}

static int load_key(struct node *n, char *err, size_t errlen)
{
    rp_pubkey pk;
    int rc = rp_validator_key_load(n->datadir, &n->cfg, &n->key, &pk, err, errlen);
    if (rc)
        return rc;
    int idx = rp_genesis_validator_index(n->g, &pk);
    char hex[65];
    rp_hex_encode(hex, sizeof hex, pk.bytes, 32);
    if (idx < 0) {
        snprintf(err, errlen, "validator key %s is not in this chain's genesis validator set", hex);
        sodium_memzero(&n->key, sizeof n->key);
        return RP_ERR_CONFIG;
    }
    n->validator_index = idx;
    if (rp_genesis_is_quorum(n->g, n->g->validators[idx].power)) {
        n->producer = 1;
        rp_log(RP_LOG_INFO, "validator", "index=%d key=%s mode=single", idx, hex);
    } else {
        rp_log(RP_LOG_INFO, "validator", "index=%d key=%s mode=consensus validators=%zu", idx,
               hex, n->g->nvalidators);
    }
    return 0;
}

int rp_daemon_run(const char *datadir, char *err, size_t errlen)
{
    struct node *n = calloc(1, sizeof *n);
    char path[RP_CONFIG_PATH_MAX + 32];
    int rc, lrc;
    if (!n)
        return RP_ERR_NOMEM;
    n->validator_index = -1;
    n->start_ms = rp_node_wall_ms();
    snprintf(n->datadir, sizeof n->datadir, "%s", datadir);
    if (rp_crypto_init() != 0) {
        snprintf(err, errlen, "cannot initialise the crypto libraries");
        free(n);
        return RP_ERR_INVALID_ARG;
    }
    /* The datadir's safety and its config (node/init.h). */
    if ((rc = rp_node_load_config(datadir, &n->cfg, err, errlen)) != 0) {
        free(n);
        return rc;
    }
    rp_log_set_level(n->cfg.log_level);

    /* Size libuv's pool to the cores before anything uses it. */
    n->threads = cpu_count();
    if (!getenv("UV_THREADPOOL_SIZE")) {
        /* One thread per core for signatures, and one more for the block
         * and epoch jobs, which spend much of their time waiting on fsync. */
        char v[8];
        snprintf(v, sizeof v, "%u", n->threads + 1);
        setenv("UV_THREADPOOL_SIZE", v, 1);
    } else {
        long t = strtol(getenv("UV_THREADPOOL_SIZE"), NULL, 10);
        n->threads = t < 1 ? 1 : t > 128 ? 128 : (unsigned)t;
    }
    signal(SIGPIPE, SIG_IGN);

    /* The writer lock: a second instance stops here. */
    rp_store_opts so = {.map_size = n->cfg.map_size, .read_only = 0};
    rp_store_error serr;
    rc = rp_store_open(&n->st, datadir, &so, &serr);
    if (rc == RP_ERR_LOCKED) {
        snprintf(err, errlen,
                 "another process is using %s (its ledger lock is held): is reputed already "
                 "running there?",
                 datadir);
        free(n);
        return rc;
    }
    if (rc) {
        snprintf(err, errlen, "cannot open the ledger in %s: %s", datadir,
                 serr.msg[0] ? serr.msg : rp_strerror(rc));
        free(n);
        return rc;
    }
    n->g = rp_store_genesis(n->st);
    if (n->cfg.validator && (rc = load_key(n, err, errlen)) != 0) {
        rp_store_close(n->st);
        free(n);
        return rc;
    }
    rp_mempool_limits lim = {n->cfg.mempool_max_count, n->cfg.mempool_max_bytes,
                             n->cfg.mempool_max_gap};
    if ((rc = rp_mempool_new(&n->mp, n->st, &lim)) != 0) {
        snprintf(err, errlen, "cannot start the mempool: %s", rp_strerror(rc));
        goto fail_store;
    }
    if ((rc = rp_mempool_subscribe(n->mp, rp_waiters_on_event, n, &n->mp_sub)) != 0) {
        snprintf(err, errlen, "cannot start the mempool: %s", rp_strerror(rc));
        goto fail_mp;
    }

    n->loop = uv_default_loop();
    if ((rc = rp_node_writer_new(&n->writer, n->loop, n->st)) != 0) {
        snprintf(err, errlen, "cannot start the writer: %s", rp_strerror(rc));
        goto fail_mp;
    }
    /* Client reads may use every pool thread but one: that one is always
     * free for the chain's work. */
    if ((rc = rp_lane_new(&n->reads, n->loop, n->threads, RP_READS_MAX_QUEUED)) != 0) {
        snprintf(err, errlen, "cannot start the read lane: %s", rp_strerror(rc));
        goto fail_loop;
    }
    snprintf(path, sizeof path, "%s/rpc.sock", datadir);
    if (strlen(path) > RP_RPC_PATH_MAX) {
        snprintf(err, errlen,
                 "socket path %s is %zu bytes; Unix sockets allow at most %d: use a shorter "
                 "datadir path",
                 path, strlen(path), RP_RPC_PATH_MAX);
        rc = -ENAMETOOLONG;
        goto fail_loop;
    }
    /* We hold the datadir lock, so a socket file there is a stale one. */
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket; remove it", path);
            rc = -EEXIST;
            goto fail_loop;
        }
        unlink(path);
    }
    rp_rpc_limits rl = {n->cfg.rpc_max_connections, n->cfg.rpc_max_line, n->cfg.rpc_max_batch,
                        n->cfg.rpc_max_inflight};
    rc = rp_rpc_start(&n->rpc, n->loop, path, &rl, rp_node_method_names, rp_node_method_count,
                      rp_node_dispatch, n, err, errlen);
    if (rc)
        goto fail_loop;

    uv_timer_init(n->loop, &n->housekeeping);
    n->housekeeping.data = n;
    uv_timer_start(&n->housekeeping, housekeeping_cb, 10000, 10000);
    uv_check_init(n->loop, &n->verify_check);
    n->verify_check.data = n;
    uv_check_start(&n->verify_check, verify_check_cb);
    uv_signal_init(n->loop, &n->sig_int);
    uv_signal_init(n->loop, &n->sig_term);
    n->sig_int.data = n->sig_term.data = n;
    uv_signal_start(&n->sig_int, on_signal, SIGINT);
    uv_signal_start(&n->sig_term, on_signal, SIGTERM);

    rp_tip tip;
    if ((rc = rp_store_tip(n->st, &tip)) != 0 || (rc = rp_producer_start(n)) != 0) {
        snprintf(err, errlen, "cannot read the chain tip: %s", rp_strerror(rc));
        goto fail_handles;
    }
    if ((rc = rp_metrics_start(n, err, errlen)) != 0)
        goto fail_producer;
    if ((rc = rp_network_start(n, err, errlen)) != 0)
        goto fail_metrics;
    if ((rc = rp_consensus_start(n, err, errlen)) != 0) {
        rp_network_stop(n);
        goto fail_metrics;
    }
    char cid[65];
    rp_hex_encode(cid, sizeof cid, rp_store_chain_id(n->st)->bytes, 32);
    char q1[300], q2[300];
    rp_log(RP_LOG_INFO, "started",
           "version=%s chain=%s chain_id=%s height=%llu socket=%s threads=%u producer=%d",
           REPUTE_VERSION, rp_log_str(q1, sizeof q1, n->g->chain_name), cid,
           (unsigned long long)tip.height, rp_log_str(q2, sizeof q2, path), n->threads,
           n->producer);

    uv_run(n->loop, UV_RUN_DEFAULT);

    /* Every handle is closed and every job back: nothing uses the store. */
    rp_consensus_free(n);
    rp_network_free(n);
    rp_ranking_free(n);
    rp_mempool_free(n->mp);
    rp_tip end;
    rc = rp_store_tip(n->st, &end);
    rp_store_close(n->st);
    sodium_memzero(&n->key, sizeof n->key);
    lrc = uv_loop_close(n->loop);
    if (lrc)
        rp_log(RP_LOG_WARN, "loop_close", "code=%d msg=\"%s\"", lrc, uv_strerror(lrc));
    rp_log(RP_LOG_INFO, "stopped", "height=%llu", rc ? 0ULL : (unsigned long long)end.height);
    free(n);
    return 0;

fail_metrics:
    rp_metrics_stop(n);
fail_producer:
    rp_producer_stop(n);
fail_handles:
    /* Undo the handles started above; the loop runs only to close them. */
    rp_rpc_stop(n->rpc);
    uv_close((uv_handle_t *)&n->housekeeping, NULL);
    uv_close((uv_handle_t *)&n->verify_check, NULL);
    uv_close((uv_handle_t *)&n->sig_int, NULL);
    uv_close((uv_handle_t *)&n->sig_term, NULL);
fail_loop:
    rp_lane_close(n->reads);
    rp_node_writer_close(n->writer);
    n->writer = NULL;
    uv_run(n->loop, UV_RUN_DEFAULT); /* the closes above finish here */
    rp_network_free(n);
    if ((lrc = uv_loop_close(n->loop)) != 0)
        rp_log(RP_LOG_WARN, "loop_close", "code=%d msg=\"%s\"", lrc, uv_strerror(lrc));
fail_mp:
    rp_node_writer_close(n->writer);
    rp_mempool_free(n->mp);
fail_store:
    rp_store_close(n->st);
    sodium_memzero(&n->key, sizeof n->key);
    free(n);
    return rc;
}
