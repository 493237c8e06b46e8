/* Batch signature verification on the pool's threads and the caller's
 * (contract in pool.h).
 *
 * Batches wait in a FIFO; a thread takes the next unclaimed chunk of the
 * oldest batch that has one. Chunks are sized so every thread gets a few
 * (for balance when one core is busy elsewhere) but each holds enough
 * signatures (at least MIN_CHUNK) that taking one costs nothing next to the
 * verification. The caller claims chunks of its own batch until none is
 * left, then waits only for chunks other threads are already running.
 */
#include "node/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto/error.h"

#define MAX_THREADS 64
#define MIN_CHUNK 32

struct batch {
    const rp_sig_check *items;
    unsigned char *ok;
    size_t n, nchunks;
    size_t next;   /* the next chunk to claim */
    size_t done;   /* chunks finished */
    size_t failed; /* summed as chunks finish */
    struct batch *qnext;
};

struct rp_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a chunk may be claimable, or stop */
    pthread_cond_t done; /* a chunk finished */
    struct batch *head, *tail;
    int stop;
    unsigned nthreads;
    pthread_t th[MAX_THREADS];
};

/* Claim a chunk of b (under mu). Returns its index, or (size_t)-1. */
static size_t claim(struct batch *b)
{
    return b->next < b->nchunks ? b->next++ : (size_t)-1;
}

/* Run chunk i of b (without mu), then count it (under mu). */
static void run_chunk(rp_pool *p, struct batch *b, size_t i)
{
    size_t begin = b->n * i / b->nchunks, end = b->n * (i + 1) / b->nchunks;
    size_t failed = rp_verify_range(b->items, begin, end, b->ok);
    pthread_mutex_lock(&p->mu);
    b->failed += failed;
    b->done++;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
}

static void *worker(void *arg)
{
    rp_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct batch *b = p->head;
        size_t i = (size_t)-1;
        while (b && (i = claim(b)) == (size_t)-1)
            b = b->qnext;
        if (b) {
            pthread_mutex_unlock(&p->mu);
            run_chunk(p, b, i);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->stop)
            break;
        pthread_cond_wait(&p->work, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static unsigned thread_count(void)
{
    const char *env = getenv("RP_POOL_THREADS");
    long n;
    if (env && *env) {
        n = strtol(env, NULL, 10);
    } else {
        n = sysconf(_SC_NPROCESSORS_ONLN);
    }
    if (n < 1)
        n = 1;
    return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

int rp_pool_new(rp_pool **out)
{
    *out = NULL;
    rp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return RP_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    unsigned want = thread_count();
    int rc = 0;
    for (unsigned i = 0; i < want; i++) {
        if ((rc = pthread_create(&p->th[i], NULL, worker, p)) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        rp_pool_free(p);
        return -rc;
    }
    *out = p;
    return 0;
}

void rp_pool_free(rp_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

unsigned rp_pool_threads(const rp_pool *p) { return p->nthreads + 1; }

size_t rp_pool_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok)
{
    rp_pool *p = ctx;
    size_t nchunks = (size_t)rp_pool_threads(p) * 4;
    if (nchunks > n / MIN_CHUNK)
        nchunks = n / MIN_CHUNK;
    if (nchunks <= 1)
        return rp_verify_range(items, 0, n, ok);

    struct batch b = {.items = items, .ok = ok, .n = n, .nchunks = nchunks};
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->qnext = &b;
    else
        p->head = &b;
    p->tail = &b;
    pthread_cond_broadcast(&p->work);
    for (;;) {
        size_t i = claim(&b);
        if (i == (size_t)-1)
            break;
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, &b, i);
        pthread_mutex_lock(&p->mu);
    }
    while (b.done < b.nchunks)
        pthread_cond_wait(&p->done, &p->mu);
    /* Unlink: every chunk is claimed, so no thread looks at it any more
     * after this (they read b only under mu). */
    struct batch **pp = &p->head, *prev = NULL;
    while (*pp != &b) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    *pp = b.qnext;
    if (p->tail == &b)
        p->tail = prev;
    size_t failed = b.failed;
    pthread_mutex_unlock(&p->mu);
    return failed;
}
