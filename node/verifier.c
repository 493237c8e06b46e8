/* The mempool's signatures, verified on the pool: batches of up to
 * VERIFY_BATCH signatures, at most eight batches per thread in flight,
 * taken once per loop iteration so that records that arrived together are
 * verified together. Each job touches only its batch; the results go back
 * to the mempool on the loop.
 */
#include <stdlib.h>

#include "crypto/sig.h"
#include "node/node.h"

#define VERIFY_BATCH 128 /* signatures per pool job */

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

static void verify_done(uv_work_t *req, int status)
{
    struct verify_job *j = req->data;
    struct node *n = j->n;
    (void)status;
    n->batches--;
    rp_mempool_batch_done(n->mp, j->b, rp_node_wall_ms() / 1000);
    free(j);
}

/* Hand the signatures waiting in the mempool to the pool, in batches of up
 * to VERIFY_BATCH, at most eight batches per thread in flight. Called once
 * per loop iteration (verify_check), after every read and answer of the
 * iteration, so records that arrived together are verified together rather
 * than one job, one thread wake-up and one loop wake-up each. */
void rp_verifier_pump(struct node *n)
{
    while (!n->stopping && n->batches < 8 * n->threads) {
        rp_mp_batch *b = rp_mempool_take_batch(n->mp, VERIFY_BATCH);
        if (!b)
            return;
        struct verify_job *j = calloc(1, sizeof *j);
        if (!j) {
            rp_verify_range(b->items, 0, b->n, b->ok);
            rp_mempool_batch_done(n->mp, b, rp_node_wall_ms() / 1000);
            continue;
        }
        j->n = n;
        j->b = b;
        j->req.data = j;
        n->batches++;
        if (uv_queue_work(n->loop, &j->req, verify_work, verify_done) != 0) {
            n->batches--;
            rp_verify_range(b->items, 0, b->n, b->ok);
            rp_mempool_batch_done(n->mp, b, rp_node_wall_ms() / 1000);
            free(j);
        }
    }
}
