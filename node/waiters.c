/* Clients who wait for a record (record.submit with wait, or for the
 * verdict on its signatures): their calls are answered from the mempool's
 * events, or by a timeout, or when the node stops.
 *
 * A waiter hangs on two lists: the record's (the mempool keeps a pointer
 * to it for this subscriber) and the node's (for shutdown). Loop thread
 * only.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "node/node.h"
#include "node/rpc_params.h"

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

static void waiter_closed(uv_handle_t *h)
{
    free(h->data);
}

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
    n->nwaiters--;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, waiter_closed);
}

/* Unlink a waiter and free it, and the record's waitlist with its last
 * waiter. Returns: the call, which the caller must answer. */
static rp_rpc_call *waiter_detach(struct waiter *w)
{
    struct node *n = w->n;
    struct waitlist *wl = w->wl;
    rp_hash id = w->id;
    rp_rpc_call *call = w->call;
    waiter_remove(w);
    if (wl && !wl->head) {
        rp_mempool_set_user(n->mp, n->mp_sub, &id, NULL);
        free(wl);
    }
    return call;
}

static void waiter_timeout(uv_timer_t *t)
{
    struct waiter *w = t->data;
    char idhex[65];
    rp_hex_encode(idhex, sizeof idhex, w->id.bytes, 32);
    rp_rpc_error(waiter_detach(w), RP_RPC_TIMEOUT, "timed out waiting; the record stays pending",
                 json_pack("{s:s}", "id", idhex));
}

/* The client went away: stop waiting for it now, not at the timeout. */
static void waiter_cancelled(void *ctx, rp_rpc_call *call)
{
    (void)waiter_detach(ctx);
    rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the client went away", NULL);
}

int rp_waiter_add(struct node *n, rp_rpc_call *call, const rp_hash *id, int want_included,
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
    n->nwaiters++;
    uv_timer_init(n->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, waiter_timeout, timeout_ms, 0);
    rp_rpc_call_on_cancel(call, waiter_cancelled, w);
    return 0;
}

json_t *rp_submit_result(const rp_hash *id, const char *status, int included, uint64_t height,
                         uint32_t index)
{
    json_t *o = json_pack("{s:o,s:s}", "id", rp_json_hex(id->bytes, 32), "status", status);
    if (included) {
        json_object_set_new(o, "height", rp_json_u64(height));
        json_object_set_new(o, "index", json_integer(index));
    }
    return o;
}

/* The mempool's later outcomes answer the waiting calls. */
void rp_waiters_on_event(void *ctx, const rp_mp_event *ev)
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
            rp_rpc_reply(call, rp_submit_result(&ev->id, "pending", 0, 0, 0));
        else if (ev->kind == RP_MP_EV_INCLUDED)
            rp_rpc_reply(call, rp_submit_result(&ev->id, "included", 1, ev->height, ev->index));
        else
            rp_rpc_error(call, RP_RPC_RECORD_REJECTED, "record rejected",
                         rp_reject_data(ev->code, ev->msg));
    }
    if (ev->kind != RP_MP_EV_READY) {
        free(wl); /* the record's last event */
    } else if (!wl->head) {
        rp_mempool_set_user(n->mp, n->mp_sub, &ev->id, NULL);
        free(wl);
    }
}

void rp_waiters_fail_all(struct node *n)
{
    while (n->waiters)
        rp_rpc_error(waiter_detach(n->waiters), RP_RPC_SHUTTING_DOWN, "the node is shutting down",
                     NULL);
}
