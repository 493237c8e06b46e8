/* Batch signature verification on libuv's worker pool (see pool.h).
 *
 * Chunks are sized so every thread gets a few (for balance when one core is
 * busy elsewhere) but each holds enough signatures (at least 32) that
 * queueing costs nothing next to the verification.
 */
#include "node/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "crypto/error.h"

#define MAX_CHUNKS 64
#define MIN_CHUNK 32

struct rp_pool {
    uv_loop_t loop;
    unsigned threads;
};

struct chunk {
    uv_work_t req;
    const rp_sig_check *items;
    size_t begin, end;
    unsigned char *ok;
    size_t failed;
};

int rp_pool_new(rp_pool **out)
{
    *out = NULL;
    rp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return RP_ERR_NOMEM;
    const char *env = getenv("UV_THREADPOOL_SIZE");
    if (!env || !*env) {
        char buf[16];
        unsigned n = uv_available_parallelism();
        snprintf(buf, sizeof buf, "%u", n ? n : 1);
        setenv("UV_THREADPOOL_SIZE", buf, 1);
        env = getenv("UV_THREADPOOL_SIZE");
    }
    long t = strtol(env, NULL, 10);
    p->threads = t > 0 && t <= 1024 ? (unsigned)t : 4;
    int rc = uv_loop_init(&p->loop);
    if (rc) {
        free(p);
        return rc; /* libuv errors are already negative errno values */
    }
    *out = p;
    return 0;
}

void rp_pool_free(rp_pool *p)
{
    if (!p)
        return;
    uv_run(&p->loop, UV_RUN_DEFAULT); /* nothing is pending; closes cleanly */
    (void)uv_loop_close(&p->loop);
    free(p);
}

unsigned rp_pool_threads(const rp_pool *p) { return p->threads; }

static void work(uv_work_t *req)
{
    struct chunk *c = req->data;
    c->failed = rp_verify_range(c->items, c->begin, c->end, c->ok);
}

static void after(uv_work_t *req, int status)
{
    (void)req;
    (void)status; /* never cancelled: nothing calls uv_cancel */
}

size_t rp_pool_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok)
{
    rp_pool *p = ctx;
    struct chunk chunks[MAX_CHUNKS];
    size_t nchunks = (size_t)p->threads * 4;
    if (nchunks > MAX_CHUNKS)
        nchunks = MAX_CHUNKS;
    if (nchunks > n / MIN_CHUNK)
        nchunks = n / MIN_CHUNK;
    if (nchunks <= 1)
        return rp_verify_range(items, 0, n, ok);

    size_t queued = 0, failed = 0;
    for (size_t i = 0; i < nchunks; i++) {
        struct chunk *c = &chunks[i];
        c->items = items;
        c->begin = n * i / nchunks;
        c->end = n * (i + 1) / nchunks;
        c->ok = ok;
        c->failed = 0;
        c->req.data = c;
        if (uv_queue_work(&p->loop, &c->req, work, after) != 0) {
            /* Cannot happen with valid arguments; do the range here. */
            c->failed = rp_verify_range(items, c->begin, c->end, ok);
            continue;
        }
        queued++;
    }
    if (queued)
        uv_run(&p->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < nchunks; i++)
        failed += chunks[i].failed;
    return failed;
}
