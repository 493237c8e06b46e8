/* The node's one writer (contract in writer.h): a FIFO of jobs, one of
 * them on the pool at a time. A job's after-callback starts the next one,
 * so no two write transactions ever overlap and no commit ever waits on the
 * loop.
 */
#include "node/writer.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"

enum job_kind { JOB_COMMIT, JOB_OFFER };

struct job {
    uv_work_t req;
    rp_node_writer *w;
    enum job_kind kind;
    unsigned char *block, *commit, *parent_commit;
    size_t blen, clen, plen;
    rp_checked *checked;
    rp_epoch_result *offer;
    rp_verify_batch_fn verify;
    void *vctx;
    rp_writer_done_fn done;
    void *ctx;
    int rc;
    rp_store_error err;
    struct job *next;
};

struct rp_node_writer {
    uv_loop_t *loop;
    rp_store *st;
    struct job *head, *tail; /* head is running when running is set */
    size_t queued;
    int running, closing;
};

int rp_node_writer_new(rp_node_writer **out, uv_loop_t *loop, rp_store *st)
{
    rp_node_writer *w = calloc(1, sizeof *w);
    *out = w;
    if (!w)
        return RP_ERR_NOMEM;
    w->loop = loop;
    w->st = st;
    return 0;
}

static void job_free(struct job *j)
{
    free(j->block);
    free(j->commit);
    free(j->parent_commit);
    rp_checked_free(j->checked);
    rp_epoch_result_free(j->offer);
    free(j);
}

static void work(uv_work_t *req)
{
    struct job *j = req->data;
    if (j->kind == JOB_OFFER) {
        rp_store_epoch_offer(j->w->st, j->offer);
        j->offer = NULL;
        j->rc = 0;
        return;
    }
    j->rc = rp_exec_commit_after(j->w->st, j->block, j->blen, j->commit, j->clen, j->parent_commit,
                                 j->plen, j->checked, j->verify, j->vctx, &j->err);
}

static void start_next(rp_node_writer *w);

static void after(uv_work_t *req, int status)
{
    struct job *j = req->data;
    rp_node_writer *w = j->w;
    (void)status; /* never cancelled: nothing calls uv_cancel on these */
    w->running = 0;
    w->head = j->next;
    if (!w->head)
        w->tail = NULL;
    w->queued--;
    if (j->done)
        j->done(j->ctx, j->rc, &j->err);
    job_free(j);
    if (w->head)
        start_next(w);
    else if (w->closing)
        free(w);
}

static void start_next(rp_node_writer *w)
{
    while (w->head && !w->running) {
        struct job *j = w->head;
        j->req.data = j;
        if (uv_queue_work(w->loop, &j->req, work, after) == 0) {
            w->running = 1;
            return;
        }
        /* Cannot happen with valid arguments: run it here rather than lose it. */
        work(&j->req);
        w->running = 1;
        after(&j->req, 0);
        return;
    }
}

static int enqueue(rp_node_writer *w, struct job *j)
{
    j->w = w;
    if (!w->head)
        w->head = j;
    else
        w->tail->next = j;
    w->tail = j;
    w->queued++;
    start_next(w);
    return 0;
}

int rp_node_writer_commit(rp_node_writer *w, unsigned char *block, size_t blen,
                          unsigned char *commit, size_t clen, unsigned char *parent_commit,
                          size_t plen, rp_checked *checked, rp_verify_batch_fn verify, void *vctx,
                          rp_writer_done_fn done, void *ctx)
{
    if (w->closing)
        return RP_ERR_SHUTDOWN;
    if (w->queued >= RP_WRITER_MAX_QUEUE)
        return RP_ERR_TOO_MANY;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return RP_ERR_NOMEM;
    j->kind = JOB_COMMIT;
    j->block = block;
    j->blen = blen;
    j->commit = commit;
    j->clen = clen;
    j->parent_commit = parent_commit;
    j->plen = plen;
    j->checked = checked;
    j->verify = verify;
    j->vctx = vctx;
    j->done = done;
    j->ctx = ctx;
    return enqueue(w, j);
}

int rp_node_writer_offer(rp_node_writer *w, rp_epoch_result *r, rp_writer_done_fn done, void *ctx)
{
    int rc = w->closing ? RP_ERR_SHUTDOWN : w->queued >= RP_WRITER_MAX_QUEUE ? RP_ERR_TOO_MANY : 0;
    struct job *j = rc ? NULL : calloc(1, sizeof *j);
    if (!j) {
        rp_epoch_result_free(r);
        return rc ? rc : RP_ERR_NOMEM;
    }
    j->kind = JOB_OFFER;
    j->offer = r;
    j->done = done;
    j->ctx = ctx;
    return enqueue(w, j);
}

size_t rp_node_writer_pending(const rp_node_writer *w)
{
    return w->queued;
}

void rp_node_writer_close(rp_node_writer *w)
{
    if (!w)
        return;
    w->closing = 1;
    if (!w->head)
        free(w);
}
