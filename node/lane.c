/* The read lane (contract in lane.h): per-owner FIFOs in a ring, served
 * round-robin, at most one running job per owner and max_running in all.
 *
 * Owners are kept only while they have a job waiting or running, so the
 * ring is as long as the number of busy clients (bounded by the RPC
 * server's connection limit) and a linear search for an owner is cheap. A
 * check handle runs the scheduler once per loop turn while jobs wait, which
 * catches owners whose output drained without the lane being told.
 */
#include "node/lane.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "node/errors.h"

struct rp_lane_owner {
    const void *key;
    rp_lane_job *head, *tail; /* waiting */
    int running;
    struct rp_lane_owner *next, *prev; /* the ring */
};

struct rp_lane {
    uv_loop_t *loop;
    uv_check_t check;
    unsigned max_running, running;
    size_t max_queued, queued;
    struct rp_lane_owner *ring; /* the owner to look at first */
    int closing, check_on, check_closed;
};

static void pump(rp_lane *l);

static void lane_check_cb(uv_check_t *h)
{
    pump(h->data);
}

int rp_lane_new(rp_lane **out, uv_loop_t *loop, unsigned max_running, size_t max_queued)
{
    rp_lane *l = calloc(1, sizeof *l);
    *out = l;
    if (!l)
        return RP_ERR_NOMEM;
    l->loop = loop;
    l->max_running = max_running ? max_running : 1;
    l->max_queued = max_queued;
    uv_check_init(loop, &l->check);
    l->check.data = l;
    return 0;
}

static struct rp_lane_owner *owner_get(rp_lane *l, const void *key)
{
    struct rp_lane_owner *o = l->ring;
    if (o) {
        do {
            if (o->key == key)
                return o;
            o = o->next;
        } while (o != l->ring);
    }
    o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->key = key;
    if (!l->ring) {
        o->next = o->prev = o;
        l->ring = o;
    } else { /* at the end of the round: behind everyone already waiting */
        o->next = l->ring;
        o->prev = l->ring->prev;
        l->ring->prev->next = o;
        l->ring->prev = o;
    }
    return o;
}

static void owner_maybe_free(rp_lane *l, struct rp_lane_owner *o)
{
    if (o->head || o->running)
        return;
    if (o->next == o) {
        l->ring = NULL;
    } else {
        o->prev->next = o->next;
        o->next->prev = o->prev;
        if (l->ring == o)
            l->ring = o->next;
    }
    free(o);
}

static void unqueue(rp_lane *l, rp_lane_job *j)
{
    struct rp_lane_owner *o = j->own;
    if (j->prev)
        j->prev->next = j->next;
    else
        o->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        o->tail = j->prev;
    j->next = j->prev = NULL;
    j->queued = 0;
    l->queued--;
}

/* Free the lane once it is closing and nothing is left. */
static void check_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

static void maybe_free(rp_lane *l)
{
    if (l->closing && !l->running && !l->queued && !l->check_closed) {
        l->check_closed = 1;
        uv_close((uv_handle_t *)&l->check, check_closed_cb);
    }
}

static void update_check(rp_lane *l)
{
    int want = l->queued > 0 && !l->closing;
    if (want && !l->check_on)
        uv_check_start(&l->check, lane_check_cb);
    else if (!want && l->check_on)
        uv_check_stop(&l->check);
    l->check_on = want;
}

static void job_after(uv_work_t *req, int status)
{
    rp_lane_job *j = (rp_lane_job *)req; /* req is the first member */
    rp_lane *l = j->lane;
    struct rp_lane_owner *o = j->own;
    uv_after_work_cb after = j->after;
    j->running = 0;
    o->running = 0;
    l->running--;
    owner_maybe_free(l, o);
    after(req, status); /* may free j */
    pump(l);
    maybe_free(l);
}

static void job_work(uv_work_t *req)
{
    rp_lane_job *j = (rp_lane_job *)req;
    j->work(req);
}

/* Start waiting jobs while there is room, one owner after another. */
static void pump(rp_lane *l)
{
    while (!l->closing && l->running < l->max_running && l->queued) {
        struct rp_lane_owner *o = l->ring, *start = l->ring, *pick = NULL;
        do {
            rp_lane_job *h = o->head;
            if (!o->running && h && (!h->ready || h->ready(h->ready_ctx))) {
                pick = o;
                break;
            }
            o = o->next;
        } while (o != start);
        if (!pick)
            break; /* everyone waiting is busy or cannot take more output */
        rp_lane_job *j = pick->head;
        unqueue(l, j);
        l->ring = pick->next; /* the next turn starts after this owner */
        if (uv_queue_work(l->loop, &j->req, job_work, job_after) != 0) {
            /* Cannot happen with valid arguments; answer it rather than lose it. */
            j->after(&j->req, UV_ECANCELED);
            owner_maybe_free(l, pick);
            continue;
        }
        j->running = 1;
        pick->running = 1;
        l->running++;
    }
    update_check(l);
}

int rp_lane_submit(rp_lane *l, rp_lane_job *j)
{
    if (l->closing)
        return RP_ERR_SHUTDOWN;
    if (l->queued >= l->max_queued)
        return RP_ERR_TOO_MANY;
    struct rp_lane_owner *o = owner_get(l, j->owner);
    if (!o)
        return RP_ERR_NOMEM;
    j->lane = l;
    j->own = o;
    j->next = NULL;
    j->prev = o->tail;
    if (o->tail)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
    j->queued = 1;
    j->running = 0;
    l->queued++;
    pump(l);
    return 0;
}

int rp_lane_cancel(rp_lane *l, rp_lane_job *j)
{
    if (!j->queued)
        return 0;
    struct rp_lane_owner *o = j->own;
    unqueue(l, j);
    owner_maybe_free(l, o);
    update_check(l);
    j->after(&j->req, UV_ECANCELED);
    maybe_free(l);
    return 1;
}

void rp_lane_kick(rp_lane *l)
{
    pump(l);
}

void rp_lane_stats(const rp_lane *l, size_t *queued, size_t *running)
{
    *queued = l->queued;
    *running = l->running;
}

void rp_lane_close(rp_lane *l)
{
    if (!l || l->closing)
        return;
    l->closing = 1;
    while (l->ring && l->queued) {
        struct rp_lane_owner *o = l->ring;
        while (!o->head)
            o = o->next;
        rp_lane_job *j = o->head;
        unqueue(l, j);
        owner_maybe_free(l, o);
        j->after(&j->req, UV_ECANCELED);
    }
    update_check(l);
    maybe_free(l);
}
