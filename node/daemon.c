#include "node/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/epoch.h"
#include "ledger/export.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/config.h"
#include "node/init.h"
#include "node/log.h"
#include "node/mempool.h"
#include "node/rpc.h"
#include "node/solo.h"

#define REPUTE_VERSION "0.1.0"
#define VERIFY_BATCH 128     /* signatures per pool job */
#define SUBMIT_WAIT_DEFAULT_MS 10000
#define SUBMIT_WAIT_MAX_MS 60000
#define PAGE_MAX 100
#define RATE_WINDOW_S 60

static const char *const methods[] = {
    "node.info",   "chain.head",  "chain.block",  "record.submit", "record.get",   "identity.get",
    "score.get",   "score.top",   "reviews.list", "mempool.info",  "node.metrics",
};
enum {
    M_NODE_INFO,
    M_CHAIN_HEAD,
    M_CHAIN_BLOCK,
    M_RECORD_SUBMIT,
    M_RECORD_GET,
    M_IDENTITY_GET,
    M_SCORE_GET,
    M_SCORE_TOP,
    M_REVIEWS_LIST,
    M_MEMPOOL_INFO,
    M_NODE_METRICS,
    M_COUNT
};

struct node;

/* An RPC call waiting for a record's admission or inclusion. */
struct waiter {
    struct node *n;
    rp_rpc_call *call;
    rp_hash id;
    int want_included;
    struct waitlist *wl;
    struct waiter *prev, *next;   /* in wl */
    struct waiter *gprev, *gnext; /* in node.waiters */
    uv_timer_t timer;
};

struct waitlist {
    struct waiter *head;
};

/* The latest epoch's table ordered by score, built on the pool. */
struct top_row {
    rp_score_row row;
    uint8_t role;
    char name[RP_NAME_MAX + 1];
};

struct top_cache {
    uint64_t epoch;
    size_t n;
    struct top_row *rows;
};

struct top_waiter {
    rp_rpc_call *call;
    int role; /* 0: all */
    size_t limit, offset;
    struct top_waiter *next;
};

struct node {
    uv_loop_t *loop;
    char datadir[RP_CONFIG_PATH_MAX];
    rp_config cfg;
    rp_store *st;
    const rp_genesis *g;
    rp_mempool *mp;
    rp_mp_sub mp_sub; /* the RPC waiters' subscription; their waitlists are its user pointers */
    rp_rpc_server *rpc;
    uv_timer_t block_timer;
    uv_timer_t housekeeping; /* every 10 s: expire held records */
    uv_check_t verify_check;
    uv_signal_t sig_int, sig_term;
    int stopping;

    int producer;     /* this node's key alone is a quorum: it makes blocks */
    int validator_index;
    rp_seckey key;

    unsigned threads;
    unsigned batches; /* verify jobs in flight */

    uint64_t settle;  /* keep making blocks (empty if need be) up to here */
    int epoch_job;    /* an epoch computation is running */
    uint64_t epoch_job_epoch;
    uint64_t epoch_offered; /* the last epoch handed to the store */
    rp_epoch_result *epoch_res; /* computed, to offer once no block is being made */
    int producing;    /* a block is being made on the pool */

    struct top_cache *top;
    int top_job;
    struct top_waiter *top_waiters;

    struct waiter *waiters;

    uint64_t start_ms;
    uint64_t blocks_produced, records_included, inline_verifies;
    struct {
        uint64_t t_ms, records;
    } rate[256];
    size_t nrate;
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- JSON helpers ------------------------------------------------------------------ */

static json_t *jhex(const void *p, size_t n)
{
    char buf[2 * RP_COMMIT_MAX_SIZE + 1];
    if (2 * n + 1 > sizeof buf)
        return json_null();
    rp_hex_encode(buf, sizeof buf, p, n);
    return json_stringn(buf, 2 * n);
}

static json_t *ju64(uint64_t v)
{
    char buf[24];
    int k = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_stringn(buf, (size_t)k);
}

static void bad_param(rp_rpc_call *call, const char *param, const char *why)
{
    /* The name may be the client's (an unknown parameter): quote it only if
     * it is short, printable ASCII, so the message is always valid UTF-8. */
    char msg[160];
    int plain = strlen(param) <= 40;
    for (const char *q = param; plain && *q; q++)
        plain = *q >= 0x20 && *q < 0x7f;
    snprintf(msg, sizeof msg, "invalid params: %s %s", plain ? param : "a parameter", why);
    rp_rpc_error(call, RP_RPC_INVALID_PARAMS, msg, json_pack("{s:s}", "param", param));
}

/* Reject parameters not in allowed (NULL-terminated). Returns 0 if fine;
 * otherwise the call has been answered. */
static int check_params(rp_rpc_call *call, json_t *params, const char *const *allowed)
{
    const char *k;
    json_t *v;
    if (!params)
        return 0;
    json_object_foreach(params, k, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        if (!ok) {
            bad_param(call, k, "is not a parameter of this method");
            return -1;
        }
    }
    return 0;
}

/* 32 bytes of hex. Returns 1 found, 0 absent, -1 answered with an error. */
static int get_hex32(rp_rpc_call *call, json_t *params, const char *name, unsigned char out[32])
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) ||
        rp_hex_decode(out, 32, json_string_value(v), json_string_length(v)) != 0) {
        bad_param(call, name, "must be 64 hex digits");
        return -1;
    }
    return 1;
}

/* The same for a parameter that must be there. Returns 0, or -1 answered. */
static int require_hex32(rp_rpc_call *call, json_t *params, const char *name, unsigned char out[32])
{
    int r = get_hex32(call, params, name, out);
    if (r == 0)
        bad_param(call, name, "is required");
    return r == 1 ? 0 : -1;
}

/* An unsigned integer, as a decimal string or a JSON integer. Same returns. */
static int get_u64(rp_rpc_call *call, json_t *params, const char *name, uint64_t *out)
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        uint64_t x = 0;
        if (len == 0 || len > 20)
            goto bad;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                goto bad;
            x = x * 10 + (uint64_t)(s[i] - '0');
        }
        *out = x;
        return 1;
    }
bad:
    bad_param(call, name, "must be a non-negative integer (a decimal string or a number)");
    return -1;
}

static int get_bool(rp_rpc_call *call, json_t *params, const char *name, int *out)
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        bad_param(call, name, "must be true or false");
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

static int get_limit(rp_rpc_call *call, json_t *params, size_t *limit)
{
    uint64_t v = 20;
    int r = get_u64(call, params, "limit", &v);
    if (r < 0)
        return -1;
    if (v < 1 || v > PAGE_MAX) {
        bad_param(call, "limit", "must be 1..100");
        return -1;
    }
    *limit = (size_t)v;
    return 0;
}

static void store_error(rp_rpc_call *call, int rc)
{
    if (rc == RP_ERR_NOT_FOUND) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "not found", NULL);
        return;
    }
    rp_log(RP_LOG_ERROR, "rpc_store_error", "code=%d", rc);
    rp_rpc_error(call, RP_RPC_INTERNAL, rp_strerror(rc), NULL);
}

static const char *const role_names[] = {"", "talent", "agent", "brand"};

static const char *role_name(unsigned r) { return r <= 3 && r ? role_names[r] : "unknown"; }

/* ---- waiting for records -------------------------------------------------------- */

static void waiter_closed(uv_handle_t *h) { free(h->data); }

/* Unlink a waiter and free it (its call must be answered by the caller). */
static void waiter_remove(struct waiter *w)
{
    struct node *n = w->n;
    if (w->prev)
        w->prev->next = w->next;
    else if (w->wl)
        w->wl->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->gprev)
        w->gprev->gnext = w->gnext;
    else
        n->waiters = w->gnext;
    if (w->gnext)
        w->gnext->gprev = w->gprev;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, waiter_closed);
}

static void waiter_timeout(uv_timer_t *t)
{
    struct waiter *w = t->data;
    struct node *n = w->n;
    struct waitlist *wl = w->wl;
    rp_hash id = w->id;
    rp_rpc_call *call = w->call;
    waiter_remove(w);
    if (wl && !wl->head) {
        rp_mempool_set_user(n->mp, n->mp_sub, &id, NULL);
        free(wl);
    }
    char idhex[65];
    rp_hex_encode(idhex, sizeof idhex, id.bytes, 32);
    rp_rpc_error(call, RP_RPC_TIMEOUT, "timed out waiting; the record stays pending",
                 json_pack("{s:s}", "id", idhex));
}

static int waiter_add(struct node *n, rp_rpc_call *call, const rp_hash *id, int want_included,
                      uint64_t timeout_ms)
{
    struct waitlist *wl = rp_mempool_get_user(n->mp, n->mp_sub, id);
    struct waiter *w = calloc(1, sizeof *w);
    if (!w)
        return RP_ERR_NOMEM;
    if (!wl) {
        if (!(wl = calloc(1, sizeof *wl)) || rp_mempool_set_user(n->mp, n->mp_sub, id, wl) != 0) {
            free(wl);
            free(w);
            return RP_ERR_NOMEM;
        }
    }
    w->n = n;
    w->call = call;
    w->id = *id;
    w->want_included = want_included;
    w->wl = wl;
    w->next = wl->head;
    if (wl->head)
        wl->head->prev = w;
    wl->head = w;
    w->gnext = n->waiters;
    if (n->waiters)
        n->waiters->gprev = w;
    n->waiters = w;
    uv_timer_init(n->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, waiter_timeout, timeout_ms, 0);
    return 0;
}

static json_t *submit_result(const rp_hash *id, const char *status, int included, uint64_t height,
                             uint32_t index)
{
    json_t *o = json_pack("{s:o,s:s}", "id", jhex(id->bytes, 32), "status", status);
    if (included) {
        json_object_set_new(o, "height", ju64(height));
        json_object_set_new(o, "index", json_integer(index));
    }
    return o;
}

static json_t *reject_data(int code, const char *msg)
{
    return json_pack("{s:i,s:s,s:s}", "ledger_code", code, "reason", rp_strerror(code), "detail",
                     msg ? msg : "");
}

/* The mempool's later outcomes answer the waiting calls. */
static void on_mempool_event(void *ctx, const rp_mp_event *ev)
{
    struct node *n = ctx;
    struct waitlist *wl = ev->user;
    if (!wl)
        return;
    struct waiter *w = wl->head, *next;
    for (; w; w = next) {
        next = w->next;
        rp_rpc_call *call = w->call;
        if (ev->kind == RP_MP_EV_READY && w->want_included)
            continue;
        waiter_remove(w);
        if (ev->kind == RP_MP_EV_READY)
            rp_rpc_reply(call, submit_result(&ev->id, "pending", 0, 0, 0));
        else if (ev->kind == RP_MP_EV_INCLUDED)
            rp_rpc_reply(call, submit_result(&ev->id, "included", 1, ev->height, ev->index));
        else
            rp_rpc_error(call, RP_RPC_RECORD_REJECTED, "record rejected",
                         reject_data(ev->code, ev->msg));
    }
    if (ev->kind != RP_MP_EV_READY) {
        free(wl); /* the record's last event */
    } else if (!wl->head) {
        rp_mempool_set_user(n->mp, n->mp_sub, &ev->id, NULL);
        free(wl);
    }
}

/* ---- signature verification on the pool --------------------------------------------- */

struct verify_job {
    uv_work_t req;
    struct node *n;
    rp_mp_batch *b;
};

static void verify_work(uv_work_t *req)
{
    struct verify_job *j = req->data;
    rp_verify_range(j->b->items, 0, j->b->n, j->b->ok);
}

static void pump_verify(struct node *n);

static void verify_done(uv_work_t *req, int status)
{
    struct verify_job *j = req->data;
    struct node *n = j->n;
    (void)status;
    n->batches--;
    rp_mempool_batch_done(n->mp, j->b, wall_ms() / 1000);
    free(j);
}

/* Hand the signatures waiting in the mempool to the pool, in batches of up
 * to VERIFY_BATCH, at most eight batches per thread in flight. Called once
 * per loop iteration (verify_check), after every read and answer of the
 * iteration, so records that arrived together are verified together rather
 * than one job, one thread wake-up and one loop wake-up each. */
static void pump_verify(struct node *n)
{
    while (!n->stopping && n->batches < 8 * n->threads) {
        rp_mp_batch *b = rp_mempool_take_batch(n->mp, VERIFY_BATCH);
        if (!b)
            return;
        struct verify_job *j = calloc(1, sizeof *j);
        if (!j) {
            rp_verify_range(b->items, 0, b->n, b->ok);
            rp_mempool_batch_done(n->mp, b, wall_ms() / 1000);
            continue;
        }
        j->n = n;
        j->b = b;
        j->req.data = j;
        n->batches++;
        if (uv_queue_work(n->loop, &j->req, verify_work, verify_done) != 0) {
            n->batches--;
            rp_verify_range(b->items, 0, b->n, b->ok);
            rp_mempool_batch_done(n->mp, b, wall_ms() / 1000);
            free(j);
        }
    }
}

/* ---- score epochs ahead of time ------------------------------------------------------ */

struct epoch_job {
    uv_work_t req;
    struct node *n;
    uint64_t epoch;
    rp_epoch_result *res;
    int rc;
    rp_store_error err;
};

static void epoch_work(uv_work_t *req)
{
    struct epoch_job *j = req->data;
    j->rc = rp_store_epoch_compute(j->n->st, j->epoch, &j->res, &j->err);
}

/* The store's offer slot belongs to the writing thread: hand a computed
 * epoch over only while no block is being made. */
static void offer_epoch(struct node *n)
{
    if (n->epoch_res && !n->producing) {
        rp_store_epoch_offer(n->st, n->epoch_res);
        n->epoch_res = NULL;
    }
}

static void epoch_done(uv_work_t *req, int status)
{
    struct epoch_job *j = req->data;
    struct node *n = j->n;
    (void)status;
    n->epoch_job = 0;
    if (j->rc == 0) {
        double snap = 0, comp = 0;
        size_t edges = 0;
        rp_epoch_info info;
        rp_epoch_result_info(j->res, &info, &snap, &comp, &edges);
        rp_log(RP_LOG_INFO, "epoch_computed", "epoch=%llu identities=%u edges=%zu snapshot_ms=%.1f engine_ms=%.1f",
               (unsigned long long)j->epoch, info.identities, edges, snap * 1e3, comp * 1e3);
        rp_epoch_result_free(n->epoch_res);
        n->epoch_res = j->res;
        n->epoch_offered = j->epoch;
        offer_epoch(n);
    } else {
        char q[300];
        rp_log(RP_LOG_WARN, "epoch_compute_failed", "epoch=%llu code=%d msg=%s",
               (unsigned long long)j->epoch, j->rc, rp_log_str(q, sizeof q, j->err.msg));
    }
    free(j);
}

static void start_epoch_job(struct node *n, uint64_t epoch)
{
    if (n->epoch_job || epoch <= n->epoch_offered)
        return;
    struct epoch_job *j = calloc(1, sizeof *j);
    if (!j)
        return; /* the block computes it inline then */
    j->n = n;
    j->epoch = epoch;
    j->req.data = j;
    if (uv_queue_work(n->loop, &j->req, epoch_work, epoch_done) != 0) {
        free(j);
        return;
    }
    n->epoch_job = 1;
    n->epoch_job_epoch = epoch;
}

/* If the tip sits between an epoch boundary b and b + delay, that epoch's
 * table will be needed soon: compute it now. */
static void maybe_start_epoch(struct node *n, uint64_t height)
{
    uint64_t every = n->g->params.epoch_blocks, delay = n->g->params.score_delay_blocks;
    uint64_t b = height / every * every;
    if (b > 0 && height < b + delay)
        start_epoch_job(n, b / every);
}

/* ---- block production ------------------------------------------------------------------ */

static uint64_t round_up(uint64_t h, uint64_t m) { return (h + m - 1) / m * m; }

static void note_rate(struct node *n, uint64_t records)
{
    size_t i = n->nrate++ % (sizeof n->rate / sizeof n->rate[0]);
    n->rate[i].t_ms = wall_ms();
    n->rate[i].records = records;
}

static double records_per_s(struct node *n)
{
    uint64_t now = wall_ms(), sum = 0;
    size_t cnt = n->nrate < 256 ? n->nrate : 256;
    for (size_t i = 0; i < cnt; i++)
        if (now - n->rate[i].t_ms <= RATE_WINDOW_S * 1000)
            sum += n->rate[i].records;
    return (double)sum / RATE_WINDOW_S;
}

/* A block being made on the pool: the loop goes on reading, admitting and
 * answering while the block's transaction is applied and fsynced. */
struct produce_job {
    uv_work_t req;
    struct node *n;
    rp_block_item *items;
    rp_hash *ids; /* the records' ids, for the mempool once the block is in */
    size_t cnt;
    rp_sig_item *sigs; /* the records' verified signatures, sorted */
    size_t nsigs;
    uint64_t time_ms, height, inline_verifies;
    unsigned char aux[32];
    rp_hash hash;
    int rc;
    rp_store_error err;
    double ms;
};

static int cmp_sig_item(const void *a, const void *b) { return memcmp(a, b, sizeof(rp_sig_item)); }

/* The store's batch verifier for a block being made: the mempool verified
 * these signatures already (the copies in job->sigs); anything else is
 * verified here. Runs on the worker; touches only the job. */
static size_t job_verify(void *ctx, const rp_sig_check *items, size_t nitems, unsigned char *ok)
{
    struct produce_job *j = ctx;
    size_t bad = 0;
    for (size_t i = 0; i < nitems; i++) {
        rp_sig_item key;
        memset(&key, 0, sizeof key);
        if (items[i].msglen == 32) {
            memcpy(key.msg.bytes, items[i].msg, 32);
            key.key = *items[i].pubkey;
            key.sig = *items[i].sig;
        }
        ok[i] = items[i].msglen == 32 &&
                bsearch(&key, j->sigs, j->nsigs, sizeof key, cmp_sig_item) != NULL;
        if (!ok[i]) {
            j->inline_verifies++;
            ok[i] = (unsigned char)rp_verify(items[i].sig, items[i].msg, items[i].msglen,
                                             items[i].pubkey);
            bad += !ok[i];
        }
    }
    return bad;
}

static void produce_work(uv_work_t *req)
{
    struct produce_job *j = req->data;
    uint64_t t0 = uv_hrtime();
    j->rc = rp_solo_produce(j->n->st, j->items, j->cnt, j->time_ms, &j->n->key, j->aux, job_verify,
                            j, &j->hash, &j->err);
    j->ms = (double)(uv_hrtime() - t0) / 1e6;
}

static void produce_done(uv_work_t *req, int status)
{
    struct produce_job *j = req->data;
    struct node *n = j->n;
    const rp_params *p = &n->g->params;
    uint64_t now = wall_ms();
    (void)status;
    n->producing = 0;
    n->inline_verifies += j->inline_verifies;
    if (j->rc) {
        char q[300];
        rp_log(RP_LOG_WARN, "block_failed", "height=%llu records=%zu code=%d msg=%s",
               (unsigned long long)j->height, j->cnt, j->rc, rp_log_str(q, sizeof q, j->err.msg));
        rp_hash drop_id;
        int has_drop = 0;
        if (j->err.index >= 0 && (size_t)j->err.index < j->cnt) {
            const rp_block_item *it = &j->items[j->err.index];
            rp_record r;
            if (rp_record_decode(&r, it->bytes, it->len, NULL) == 0) {
                rp_record_id_from_body(&drop_id, rp_store_chain_id(n->st), it->bytes,
                                       rp_record_body_len(r.type, it->len));
                has_drop = 1;
            }
        }
        rp_mempool_rebuild(n->mp, now / 1000, has_drop ? &drop_id : NULL, j->rc, j->err.msg);
    } else {
        n->blocks_produced++;
        n->records_included += j->cnt;
        note_rate(n, j->cnt);
        if (j->cnt) {
            uint64_t target = round_up(j->height, p->epoch_blocks) + p->score_delay_blocks;
            if (target > n->settle)
                n->settle = target;
        }
        char hh[17];
        rp_hex_encode(hh, sizeof hh, j->hash.bytes, 8);
        rp_log(RP_LOG_INFO, "block_produced", "height=%llu records=%zu hash=%s ms=%.1f",
               (unsigned long long)j->height, j->cnt, hh, j->ms);
        rp_mempool_committed(n->mp, j->ids, j->cnt, now / 1000);
        maybe_start_epoch(n, j->height);
    }
    offer_epoch(n);
    free(j->items);
    free(j->ids);
    free(j->sigs);
    free(j);
}

/* One turn of the producer: what a consensus engine will drive later. */
static void producer_tick(struct node *n)
{
    if (n->stopping || !n->producer || n->producing)
        return;
    rp_tip tip;
    if (rp_store_tip(n->st, &tip) != 0)
        return;
    const rp_params *p = &n->g->params;
    offer_epoch(n);
    /* A block that commits an epoch waits for its computation. */
    if (n->epoch_job &&
        tip.height + 1 == n->epoch_job_epoch * p->epoch_blocks + p->score_delay_blocks)
        return;
    struct produce_job *j = calloc(1, sizeof *j);
    if (!j || !(j->items = malloc(p->max_block_records * sizeof *j->items)) ||
        !(j->ids = malloc(p->max_block_records * sizeof *j->ids))) {
        if (j)
            free(j->items);
        free(j);
        return;
    }
    j->cnt = rp_mempool_block(n->mp, j->items, j->ids, p->max_block_records, p->max_block_bytes);
    if (j->cnt == 0 && tip.height >= n->settle) {
        free(j->items);
        free(j->ids);
        free(j);
        return;
    }
    size_t cap = j->cnt * RP_RECORD_MAX_SIGS;
    j->sigs = malloc((cap ? cap : 1) * sizeof *j->sigs);
    if (!j->sigs) {
        free(j->items);
        free(j->ids);
        free(j);
        return;
    }
    j->nsigs = rp_mempool_block_sigs(n->mp, j->cnt, j->sigs, cap);
    qsort(j->sigs, j->nsigs, sizeof *j->sigs, cmp_sig_item);
    uint64_t now = wall_ms();
    j->time_ms = now > tip.time_ms ? now : tip.time_ms + 1;
    j->height = tip.height + 1;
    j->n = n;
    j->req.data = j;
    rp_aux_fresh(j->aux);
    rp_mempool_freeze(n->mp);
    n->producing = 1;
    if (uv_queue_work(n->loop, &j->req, produce_work, produce_done) != 0) {
        n->producing = 0;
        rp_mempool_rebuild(n->mp, now / 1000, NULL, 0, NULL);
        free(j->items);
        free(j->ids);
        free(j->sigs);
        free(j);
    }
}

static void block_timer_cb(uv_timer_t *t) { producer_tick(t->data); }

static void verify_check_cb(uv_check_t *h) { pump_verify(h->data); }

static void housekeeping_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    if (!n->producing)
        rp_mempool_expire(n->mp, wall_ms() / 1000);
}

/* After a restart: records included after the latest committed epoch's
 * snapshot still need their epoch committed, so keep producing until it is. */
static uint64_t settle_after_restart(struct node *n, const rp_tip *tip)
{
    uint64_t every = n->g->params.epoch_blocks, snap = tip->epoch * every;
    for (uint64_t h = tip->height; h > snap; h--) {
        rp_header hd;
        if (rp_store_read_header(n->st, h, &hd) != 0)
            break;
        if (hd.record_count)
            return round_up(h, every) + n->g->params.score_delay_blocks;
    }
    return 0;
}

/* ---- score.top's ranking, built on the pool -------------------------------------------- */

struct top_job {
    uv_work_t req;
    struct node *n;
    struct top_cache *c;
    int rc;
};

struct top_build {
    rp_store *st;
    struct top_cache *c;
    size_t cap;
};

static int top_collect(void *ctx, const rp_score_row *row)
{
    struct top_build *b = ctx;
    if (b->c->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        void *p = realloc(b->c->rows, cap * sizeof *b->c->rows);
        if (!p)
            return RP_ERR_NOMEM;
        b->c->rows = p;
        b->cap = cap;
    }
    struct top_row *t = &b->c->rows[b->c->n++];
    memset(t, 0, sizeof *t);
    t->row = *row;
    rp_identity_state st;
    if (rp_store_read_identity(b->st, &row->identity, &st) == 0) {
        t->role = st.role;
        memcpy(t->name, st.name, st.name_len);
        t->name[st.name_len] = 0;
    }
    return 0;
}

/* Score, then trust, then identity: a total order, the same everywhere. */
static int top_cmp(const void *x, const void *y)
{
    const struct top_row *a = x, *b = y;
    if (a->row.score != b->row.score)
        return a->row.score > b->row.score ? -1 : 1;
    if (a->row.trust != b->row.trust)
        return a->row.trust > b->row.trust ? -1 : 1;
    return memcmp(a->row.identity.bytes, b->row.identity.bytes, 32);
}

static void top_work(uv_work_t *req)
{
    struct top_job *j = req->data;
    rp_epoch_info info;
    struct top_build b = {j->n->st, j->c, 0};
    j->rc = rp_store_read_epoch(j->n->st, 0, &info);
    if (j->rc == 0) {
        j->c->epoch = info.epoch;
        j->rc = rp_store_read_scores(j->n->st, info.epoch, top_collect, &b);
    }
    if (j->rc == 0)
        qsort(j->c->rows, j->c->n, sizeof *j->c->rows, top_cmp);
}

static void top_free(struct top_cache *c)
{
    if (c) {
        free(c->rows);
        free(c);
    }
}

static void top_answer(struct node *n, struct top_waiter *w)
{
    struct top_cache *c = n->top;
    json_t *rows = json_array();
    size_t total = 0, rank = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct top_row *t = &c->rows[i];
        if (w->role && t->role != w->role)
            continue;
        rank++;
        total++;
        if (rank <= w->offset || json_array_size(rows) >= w->limit)
            continue;
        json_array_append_new(
            rows, json_pack("{s:I,s:o,s:s,s:s,s:i,s:i,s:I,s:I,s:o}", "rank", (json_int_t)rank,
                            "identity", jhex(t->row.identity.bytes, 32), "name", t->name, "role",
                            role_name(t->role), "score", t->row.score, "confidence",
                            t->row.confidence, "rating", (json_int_t)t->row.rating, "reviews",
                            (json_int_t)t->row.reviews, "trust", ju64(t->row.trust)));
    }
    rp_rpc_reply(w->call, json_pack("{s:o,s:I,s:o}", "epoch", ju64(c->epoch), "total",
                                    (json_int_t)total, "rows", rows));
}

static void start_top_job(struct node *n);

static void top_done(uv_work_t *req, int status)
{
    struct top_job *j = req->data;
    struct node *n = j->n;
    (void)status;
    n->top_job = 0;
    struct top_waiter *w = n->top_waiters, *next;
    n->top_waiters = NULL;
    if (j->rc == 0) {
        top_free(n->top);
        n->top = j->c;
    } else {
        top_free(j->c);
    }
    for (; w; w = next) {
        next = w->next;
        if (j->rc == RP_ERR_NOT_FOUND)
            rp_rpc_error(w->call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        else if (j->rc)
            store_error(w->call, j->rc);
        else
            top_answer(n, w);
        free(w);
    }
    free(j);
}

static void start_top_job(struct node *n)
{
    if (n->top_job)
        return;
    struct top_job *j = calloc(1, sizeof *j);
    struct top_cache *c = calloc(1, sizeof *c);
    if (!j || !c || (j->c = c, j->n = n, j->req.data = j,
                     uv_queue_work(n->loop, &j->req, top_work, top_done) != 0)) {
        free(j);
        free(c);
        return;
    }
    n->top_job = 1;
}

/* ---- reads too large for the loop, made on the pool ------------------------------- */

/* A read whose answer takes O(chain data) to build (a proof's Merkle path
 * spans the epoch table; a block may hold 10,000 records) runs on the pool:
 * fn builds the answer from read transactions and touches nothing else. */
struct read_job {
    uv_work_t req;
    struct node *n;
    rp_rpc_call *call;
    int (*fn)(struct read_job *j);
    json_t *answer; /* fn's result (or, for a proof, the answer to extend) */
    rp_pubkey who;
    uint64_t num; /* the epoch or height */
    int rc;
};

static void read_work(uv_work_t *req)
{
    struct read_job *j = req->data;
    j->rc = j->fn(j);
}

static void read_done(uv_work_t *req, int status)
{
    struct read_job *j = req->data;
    (void)status;
    if (j->rc == 0 && j->answer) {
        rp_rpc_reply(j->call, j->answer);
    } else {
        json_decref(j->answer);
        store_error(j->call, j->rc ? j->rc : RP_ERR_NOMEM);
    }
    free(j);
}

/* Queue fn; answer (may be NULL) is the job's to keep or free. */
static void start_read_job(struct node *n, rp_rpc_call *call, int (*fn)(struct read_job *j),
                           json_t *answer, const rp_pubkey *who, uint64_t num)
{
    struct read_job *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(answer);
        store_error(call, RP_ERR_NOMEM);
        return;
    }
    j->n = n;
    j->call = call;
    j->fn = fn;
    j->answer = answer;
    if (who)
        j->who = *who;
    j->num = num;
    j->req.data = j;
    if (uv_queue_work(n->loop, &j->req, read_work, read_done) != 0) {
        json_decref(answer);
        store_error(call, RP_ERR_NOMEM);
        free(j);
    }
}

/* score.get with proof: the binary proof, in hex, added to the answer. */
static int proof_fn(struct read_job *j)
{
    rp_score_proof *pf = malloc(sizeof *pf);
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    char *hex = NULL;
    size_t plen = 0;
    int rc = !pf || !buf ? RP_ERR_NOMEM : rp_store_score_proof(j->n->st, &j->who, j->num, pf);
    if (rc == 0)
        rc = rp_score_proof_encode(pf, buf, RP_PROOF_MAX_SIZE, &plen);
    if (rc == 0 && (!(hex = malloc(2 * plen + 1)) || rp_hex_encode(hex, 2 * plen + 1, buf, plen)))
        rc = RP_ERR_NOMEM;
    if (rc == 0 && json_object_set_new(j->answer, "proof", json_stringn(hex, 2 * plen)) != 0)
        rc = RP_ERR_NOMEM;
    free(hex);
    free(pf);
    free(buf);
    return rc;
}

/* chain.block: the export's object of the block, plus the commit's bytes. */
static int block_fn(struct read_job *j)
{
    unsigned char *block = NULL, *commit = NULL;
    size_t blen = 0, clen = 0;
    int rc = rp_store_read_block(j->n->st, j->num, &block, &blen);
    if (rc == 0)
        rc = rp_store_read_commit(j->n->st, j->num, &commit, &clen);
    if (rc == 0)
        rc = rp_export_block_obj(&j->answer, rp_store_chain_id(j->n->st), block, blen, commit,
                                 clen, NULL);
    if (rc == 0)
        json_object_set_new(j->answer, "commit_hex", jhex(commit, clen));
    free(block);
    free(commit);
    return rc;
}

/* ---- methods ------------------------------------------------------------------------------- */

static void m_node_info(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {NULL};
    if (check_params(call, params, allowed))
        return;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc) {
        store_error(call, rc);
        return;
    }
    const rp_params *p = &n->g->params;
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:b,s:i,s:i,s:o,s:o,s:i,s:i,s:o,s:i,s:i,s:I}", "version",
        REPUTE_VERSION, "chain_name", n->g->chain_name, "chain_id",
        jhex(rp_store_chain_id(n->st)->bytes, 32), "genesis_time", ju64(n->g->genesis_time),
        "height", ju64(tip.height), "validator", n->producer, "validator_index",
        n->validator_index, "block_interval_ms", (int)n->cfg.block_interval_ms, "epoch_blocks",
        ju64(p->epoch_blocks), "score_delay_blocks", ju64(p->score_delay_blocks), "pow_difficulty",
        (int)p->pow_difficulty, "time_tolerance_s", (int)p->time_tolerance_s, "uptime_s",
        ju64((wall_ms() - n->start_ms) / 1000), "max_block_records", (int)p->max_block_records,
        "pid", (int)getpid(), "max_record_bytes", (json_int_t)RP_RECORD_MAX_SIZE);
    json_object_set_new(o, "max_engagement_ttl_s", json_integer(p->max_engagement_ttl_s));
    rp_rpc_reply(call, o);
}

static json_t *head_json(const rp_tip *t)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "height", ju64(t->height), "hash",
                     jhex(t->head_hash.bytes, 32), "time_ms", ju64(t->time_ms), "state_hash",
                     jhex(t->state_hash.bytes, 32), "commit_hash", jhex(t->commit_hash.bytes, 32),
                     "epoch", ju64(t->epoch), "score_root", jhex(t->score_root.bytes, 32));
}

static void m_chain_head(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {NULL};
    if (check_params(call, params, allowed))
        return;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc)
        store_error(call, rc);
    else
        rp_rpc_reply(call, head_json(&tip));
}

static void m_chain_block(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"height", "hash", NULL};
    if (check_params(call, params, allowed))
        return;
    uint64_t height = 0;
    unsigned char hb[32];
    int hh = get_u64(call, params, "height", &height);
    if (hh < 0)
        return;
    int hs = get_hex32(call, params, "hash", hb);
    if (hs < 0)
        return;
    if (hh + hs != 1) {
        bad_param(call, "height", "or hash: give exactly one");
        return;
    }
    int rc = 0;
    if (hs) {
        rp_hash h;
        memcpy(h.bytes, hb, 32);
        rc = rp_store_find_block(n->st, &h, &height);
    }
    if (rc == 0 && height == 0)
        rc = RP_ERR_NOT_FOUND;
    if (rc)
        store_error(call, rc);
    else
        start_read_job(n, call, block_fn, NULL, NULL, height);
}

static void m_record_submit(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"record", "wait", "timeout_ms", NULL};
    if (check_params(call, params, allowed))
        return;
    json_t *rec = params ? json_object_get(params, "record") : NULL;
    int wait = 0;
    uint64_t timeout = SUBMIT_WAIT_DEFAULT_MS;
    if (!json_is_string(rec)) {
        bad_param(call, "record", "is required: the hex of a signed record");
        return;
    }
    if (get_bool(call, params, "wait", &wait) < 0 ||
        get_u64(call, params, "timeout_ms", &timeout) < 0)
        return;
    if (timeout > SUBMIT_WAIT_MAX_MS || timeout == 0) {
        bad_param(call, "timeout_ms", "must be 1..60000");
        return;
    }
    unsigned char bytes[RP_RECORD_MAX_SIZE];
    size_t len;
    if (json_string_length(rec) > 2 * RP_RECORD_MAX_SIZE) {
        bad_param(call, "record", "is longer than any record can be");
        return;
    }
    if (rp_hex_decode_var(bytes, sizeof bytes, &len, json_string_value(rec),
                          json_string_length(rec)) != 0) {
        bad_param(call, "record", "must be hex");
        return;
    }
    if (n->stopping) {
        rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        return;
    }
    rp_mp_result res;
    int rc = rp_mempool_submit(n->mp, bytes, len, (rp_mp_source){RP_MP_FROM_RPC, 0},
                               wall_ms() / 1000, &res);
    if (rc == RP_ERR_MEMPOOL_FULL) {
        rp_rpc_error(call, RP_RPC_MEMPOOL_FULL, "mempool full; retry later", NULL);
        return;
    }
    if (rc == RP_ERR_SEQUENCE_GAP) {
        rp_rpc_error(call, RP_RPC_SEQUENCE_GAP, res.msg,
                     json_pack("{s:o}", "expected", ju64(res.expected_seq)));
        return;
    }
    if (rc == RP_ERR_SHUTDOWN) {
        rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        return;
    }
    if (rc == RP_ERR_NOMEM || rc == RP_ERR_STORE) {
        store_error(call, rc);
        return;
    }
    if (rc) {
        rp_rpc_error(call, RP_RPC_RECORD_REJECTED, "record rejected", reject_data(rc, res.msg));
        return;
    }
    if (res.status == RP_MP_INCLUDED) {
        rp_rpc_reply(call, submit_result(&res.id, "included", 1, res.height, res.index));
        return;
    }
    if (!wait && res.status == RP_MP_HELD) {
        rp_rpc_reply(call, submit_result(&res.id, "held", 0, 0, 0));
        return;
    }
    if (!wait && res.status == RP_MP_KNOWN) {
        rp_rpc_reply(call, submit_result(&res.id, "known", 0, 0, 0));
        return;
    }
    if (waiter_add(n, call, &res.id, wait, timeout) != 0)
        store_error(call, RP_ERR_NOMEM);
}

static void m_record_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"id", NULL};
    if (check_params(call, params, allowed))
        return;
    rp_hash id;
    if (require_hex32(call, params, "id", id.bytes))
        return;
    uint64_t height;
    uint32_t index;
    int rc = rp_store_find_record(n->st, &id, &height, &index);
    if (rc == 0) {
        unsigned char rec[RP_RECORD_MAX_SIZE];
        size_t len;
        json_t *o = NULL;
        if ((rc = rp_store_read_record(n->st, height, index, rec, &len)) == 0)
            o = rp_export_record_obj(index, rp_store_chain_id(n->st), rec, len);
        if (!o) {
            store_error(call, rc ? rc : RP_ERR_CORRUPT);
            return;
        }
        json_object_set_new(o, "status", json_string("included"));
        json_object_set_new(o, "height", ju64(height));
        rp_rpc_reply(call, o);
        return;
    }
    if (rc != RP_ERR_NOT_FOUND) {
        store_error(call, rc);
        return;
    }
    enum rp_mp_status status;
    const unsigned char *bytes;
    size_t len;
    if (rp_mempool_find(n->mp, &id, &status, &bytes, &len) != 0) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such record", NULL);
        return;
    }
    json_t *o = rp_export_record_obj(0, rp_store_chain_id(n->st), bytes, len);
    if (!o) {
        store_error(call, RP_ERR_NOMEM);
        return;
    }
    json_object_del(o, "index");
    json_object_set_new(o, "status", json_string(status == RP_MP_HELD ? "held" : "pending"));
    rp_rpc_reply(call, o);
}

static void m_identity_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"identity", NULL};
    if (check_params(call, params, allowed))
        return;
    rp_pubkey who;
    if (require_hex32(call, params, "identity", who.bytes))
        return;
    rp_identity_state chain, pend;
    uint64_t next = 1;
    uint32_t npending = 0;
    int rc = rp_store_read_identity(n->st, &who, &chain);
    int registered = rc == 0;
    if (rc && rc != RP_ERR_NOT_FOUND) {
        store_error(call, rc);
        return;
    }
    int prc = rp_mempool_identity(n->mp, &who, &next, &npending, &pend);
    if (prc && prc != RP_ERR_NOT_FOUND) {
        store_error(call, prc);
        return;
    }
    if (!registered && prc) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such identity (not on chain, none pending)",
                     NULL);
        return;
    }
    const rp_identity_state *s = registered ? &chain : &pend;
    json_t *o = json_pack(
        "{s:o,s:b,s:o,s:s,s:s%,s:o,s:o,s:o,s:o,s:i,s:o,s:o,s:I,s:I,s:I,s:I}", "identity",
        jhex(who.bytes, 32), "registered", registered, "key", jhex(s->key.bytes, 32), "role",
        role_name(s->role), "name", s->name, (size_t)s->name_len, "profile",
        jhex(s->profile.bytes, 32), "recovery", jhex(s->recovery.bytes, 32), "seq",
        ju64(registered ? chain.seq : 0), "next_seq", ju64(next), "pending", (int)npending,
        "registered_height", registered ? ju64(s->registered_height) : json_null(),
        "updated_height", registered ? ju64(s->updated_height) : json_null(), "reviews_received", (json_int_t)s->reviews_received,
        "reviews_given", (json_int_t)s->reviews_given, "vouches_received",
        (json_int_t)s->vouches_received, "engagements", (json_int_t)s->engagements);
    rp_rpc_reply(call, o);
}

static void m_score_get(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"identity", "epoch", "proof", NULL};
    if (check_params(call, params, allowed))
        return;
    rp_pubkey who;
    uint64_t epoch = 0;
    int want_proof = 0;
    if (require_hex32(call, params, "identity", who.bytes))
        return;
    if (get_u64(call, params, "epoch", &epoch) < 0 || get_bool(call, params, "proof", &want_proof) < 0)
        return;
    rp_epoch_info info;
    rp_score_row row;
    int present;
    int rc = rp_store_read_score(n->st, &who, epoch, &info, &row, &present);
    if (rc == RP_ERR_NOT_FOUND) {
        if (epoch == 0)
            rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        else
            rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such epoch (not yet, or out of the history)",
                         NULL);
        return;
    }
    if (rc) {
        store_error(call, rc);
        return;
    }
    if (!present)
        memset(&row, 0, sizeof row);
    json_t *o = json_pack("{s:o,s:o,s:o,s:b,s:i,s:i,s:o,s:I,s:I}", "identity", jhex(who.bytes, 32),
                          "epoch", ju64(info.epoch), "commit_height", ju64(info.commit_height),
                          "present", present, "score", row.score, "confidence", row.confidence,
                          "trust", ju64(row.trust), "rating", (json_int_t)row.rating, "reviews",
                          (json_int_t)row.reviews);
    if (want_proof) {
        start_read_job(n, call, proof_fn, o, &who, info.epoch);
        return;
    }
    rp_rpc_reply(call, o);
}

static void m_score_top(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"role", "limit", "offset", NULL};
    if (check_params(call, params, allowed))
        return;
    int role = 0;
    size_t limit;
    uint64_t offset = 0;
    json_t *rv = params ? json_object_get(params, "role") : NULL;
    if (rv) {
        for (int i = 1; i <= 3 && json_is_string(rv); i++)
            if (strcmp(json_string_value(rv), role_names[i]) == 0)
                role = i;
        if (!role) {
            bad_param(call, "role", "must be talent, agent or brand");
            return;
        }
    }
    if (get_limit(call, params, &limit) < 0 || get_u64(call, params, "offset", &offset) < 0)
        return;
    rp_epoch_info info;
    int rc = rp_store_read_epoch(n->st, 0, &info);
    if (rc == RP_ERR_NOT_FOUND) {
        rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        return;
    }
    if (rc) {
        store_error(call, rc);
        return;
    }
    struct top_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        store_error(call, RP_ERR_NOMEM);
        return;
    }
    w->call = call;
    w->role = role;
    w->limit = limit;
    w->offset = offset > SIZE_MAX ? SIZE_MAX : (size_t)offset;
    if (n->top && n->top->epoch == info.epoch) {
        top_answer(n, w);
        free(w);
        return;
    }
    w->next = n->top_waiters;
    n->top_waiters = w;
    start_top_job(n);
}

static void m_reviews_list(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {"subject", "issuer", "limit", "after", NULL};
    if (check_params(call, params, allowed))
        return;
    rp_pubkey who;
    rp_hash after;
    size_t limit;
    int s = get_hex32(call, params, "subject", who.bytes);
    if (s < 0)
        return;
    unsigned char ib[32];
    int i = get_hex32(call, params, "issuer", ib);
    if (i < 0)
        return;
    if (s + i != 1) {
        bad_param(call, "subject", "or issuer: give exactly one");
        return;
    }
    if (i)
        memcpy(who.bytes, ib, 32);
    int a = get_hex32(call, params, "after", after.bytes);
    if (a < 0 || get_limit(call, params, &limit) < 0)
        return;
    rp_review_info page[PAGE_MAX];
    size_t cnt;
    int more;
    int rc = rp_store_list_reviews(n->st, &who, i, a ? &after : NULL, page, limit, &cnt, &more);
    if (rc) {
        store_error(call, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t k = 0; k < cnt; k++) {
        const rp_review_info *v = &page[k];
        json_array_append_new(
            arr, json_pack("{s:o,s:o,s:o,s:o,s:i,s:{s:i,s:i,s:i,s:i},s:o,s:o}", "id",
                           jhex(v->id.bytes, 32), "issuer", jhex(v->issuer.bytes, 32), "subject",
                           jhex(v->subject.bytes, 32), "engagement",
                           jhex(v->engagement.bytes, 32), "overall", v->overall, "dims", "quality",
                           v->dims[0], "reliability", v->dims[1], "communication", v->dims[2],
                           "payment", v->dims[3], "time", ju64(v->time), "height",
                           ju64(v->height)));
    }
    json_t *next = more && cnt ? jhex(page[cnt - 1].id.bytes, 32) : json_null();
    rp_rpc_reply(call, json_pack("{s:o,s:o}", "reviews", arr, "next", next));
}

static void m_mempool_info(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {NULL};
    if (check_params(call, params, allowed))
        return;
    rp_mempool_stats s;
    rp_mempool_stats_get(n->mp, &s);
    rp_rpc_reply(call, json_pack("{s:i,s:I,s:i,s:i,s:i,s:i,s:I,s:i,s:I,s:I,s:I}", "count",
                                 (int)s.count, "bytes", (json_int_t)s.bytes, "held", (int)s.held,
                                 "ready", (int)s.ready, "verifying", (int)s.verifying, "max_count",
                                 (int)n->cfg.mempool_max_count, "max_bytes",
                                 (json_int_t)n->cfg.mempool_max_bytes, "max_gap",
                                 (int)n->cfg.mempool_max_gap, "admitted", (json_int_t)s.admitted,
                                 "rejected", (json_int_t)s.rejected, "dropped",
                                 (json_int_t)s.dropped));
}

static void m_node_metrics(struct node *n, rp_rpc_call *call, json_t *params)
{
    static const char *const allowed[] = {NULL};
    if (check_params(call, params, allowed))
        return;
    rp_tip tip;
    int rc = rp_store_tip(n->st, &tip);
    if (rc) {
        store_error(call, rc);
        return;
    }
    rp_mempool_stats s;
    rp_mempool_stats_get(n->mp, &s);
    json_t *rpc = rp_rpc_metrics(n->rpc);
    json_t *gauges = json_pack("{s:o,s:i,s:I,s:O,s:o,s:i}", "height", ju64(tip.height),
                               "mempool_count", (int)s.count, "mempool_bytes",
                               (json_int_t)s.bytes, "connections",
                               json_object_get(rpc, "connections"), "uptime_s",
                               ju64((wall_ms() - n->start_ms) / 1000), "verify_jobs",
                               (int)n->batches);
    json_t *counters = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:I}", "blocks_produced", (json_int_t)n->blocks_produced,
        "records_included", (json_int_t)n->records_included, "records_admitted",
        (json_int_t)s.admitted, "records_rejected", (json_int_t)s.rejected, "records_dropped",
        (json_int_t)s.dropped, "rpc_calls", json_object_get(rpc, "calls"), "rpc_errors",
        json_object_get(rpc, "errors"), "block_inline_verifies", (json_int_t)n->inline_verifies);
    json_t *o = json_pack("{s:o,s:o,s:{s:f},s:O}", "gauges", gauges, "counters", counters, "rates",
                          "records_per_s", records_per_s(n), "methods",
                          json_object_get(rpc, "methods"));
    json_decref(rpc);
    rp_rpc_reply(call, o);
}

typedef void (*method_fn)(struct node *n, rp_rpc_call *call, json_t *params);

static const method_fn handlers[M_COUNT] = {
    m_node_info,    m_chain_head,   m_chain_block,  m_record_submit,
    m_record_get,   m_identity_get, m_score_get,    m_score_top,
    m_reviews_list, m_mempool_info, m_node_metrics,
};

static void dispatch(void *ctx, rp_rpc_call *call, int method, json_t *params)
{
    handlers[method](ctx, call, params);
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
    while (n->waiters) {
        struct waiter *w = n->waiters;
        struct waitlist *wl = w->wl;
        rp_hash id = w->id;
        rp_rpc_call *call = w->call;
        waiter_remove(w);
        if (wl && !wl->head) {
            rp_mempool_set_user(n->mp, n->mp_sub, &id, NULL);
            free(wl);
        }
        rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
    }
    rp_rpc_stop(n->rpc);
    n->rpc = NULL;
    uv_timer_stop(&n->block_timer);
    uv_close((uv_handle_t *)&n->block_timer, NULL);
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
        snprintf(err, errlen, "validator key %s is not in this chain's genesis validator set",
                 hex);
        sodium_memzero(&n->key, sizeof n->key);
        return RP_ERR_CONFIG;
    }
    n->validator_index = idx;
    if (rp_genesis_is_quorum(n->g, n->g->validators[idx].power)) {
        n->producer = 1;
        rp_log(RP_LOG_INFO, "validator", "index=%d key=%s mode=single", idx, hex);
    } else {
        rp_log(RP_LOG_WARN, "validator",
               "index=%d key=%s mode=waiting msg=\"not a quorum alone; multi-validator "
               "consensus comes with the network\"",
               idx, hex);
    }
    return 0;
}

int rp_daemon_run(const char *datadir, char *err, size_t errlen)
{
    struct node *n = calloc(1, sizeof *n);
    char path[RP_CONFIG_PATH_MAX + 32];
    int rc;
    if (!n)
        return RP_ERR_NOMEM;
    n->validator_index = -1;
    n->start_ms = wall_ms();
    snprintf(n->datadir, sizeof n->datadir, "%s", datadir);
    if (rp_crypto_init() != 0) {
        snprintf(err, errlen, "cannot initialise the crypto libraries");
        free(n);
        return RP_ERR_INVALID_ARG;
    }
    rp_config_defaults(&n->cfg);
    snprintf(path, sizeof path, "%s/reputed.conf", datadir);
    rc = rp_config_load(&n->cfg, path, err, errlen);
    if (rc) {
        if (rc == -ENOENT)
            snprintf(err, errlen, "%s not found: is %s a datadir? Create one with 'reputed init'",
                     path, datadir);
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
    if ((rc = rp_mempool_subscribe(n->mp, on_mempool_event, n, &n->mp_sub)) != 0) {
        snprintf(err, errlen, "cannot start the mempool: %s", rp_strerror(rc));
        goto fail_mp;
    }

    n->loop = uv_default_loop();
    snprintf(path, sizeof path, "%s/rpc.sock", datadir);
    if (strlen(path) > RP_RPC_PATH_MAX) {
        snprintf(err, errlen,
                 "socket path %s is %zu bytes; Unix sockets allow at most %d: use a shorter "
                 "datadir path",
                 path, strlen(path), RP_RPC_PATH_MAX);
        rc = -ENAMETOOLONG;
        goto fail_mp;
    }
    /* We hold the datadir lock, so a socket file there is a stale one. */
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket; remove it", path);
            rc = -EEXIST;
            goto fail_mp;
        }
        unlink(path);
    }
    rp_rpc_limits rl = {n->cfg.rpc_max_connections, n->cfg.rpc_max_line, n->cfg.rpc_max_batch,
                        n->cfg.rpc_max_inflight};
    rc = rp_rpc_start(&n->rpc, n->loop, path, &rl, methods, M_COUNT, dispatch, n, err, errlen);
    if (rc)
        goto fail_mp;

    uv_timer_init(n->loop, &n->block_timer);
    n->block_timer.data = n;
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
    rp_store_tip(n->st, &tip);
    n->settle = settle_after_restart(n, &tip);
    maybe_start_epoch(n, tip.height);
    if (n->producer)
        uv_timer_start(&n->block_timer, block_timer_cb, n->cfg.block_interval_ms,
                       n->cfg.block_interval_ms);
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
    top_free(n->top);
    rp_epoch_result_free(n->epoch_res);
    rp_mempool_free(n->mp);
    rp_tip end;
    rp_store_tip(n->st, &end);
    rp_store_close(n->st);
    sodium_memzero(&n->key, sizeof n->key);
    uv_loop_close(n->loop);
    rp_log(RP_LOG_INFO, "stopped", "height=%llu", (unsigned long long)end.height);
    free(n);
    return 0;

fail_mp:
    rp_mempool_free(n->mp);
fail_store:
    rp_store_close(n->st);
    sodium_memzero(&n->key, sizeof n->key);
    free(n);
    return rc;
}
