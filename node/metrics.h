/* The Prometheus metrics endpoint ([metrics] listen; docs/operators.md,
 * "Metrics"): GET /metrics answers the node's figures in the text
 * exposition format 0.0.4, served by libmicrohttpd.
 *
 * Threads. libmicrohttpd answers on a thread of its own (its internal
 * polling thread), and that thread never touches the loop's state: the
 * node's figures belong to the loop thread (node/node.h). Instead the loop
 * publishes a snapshot. A loop timer builds the whole exposition text every
 * second (RP_METRICS_PERIOD_MS), from the same counters node.metrics reads,
 * and swaps it, under a mutex, into the one buffer the HTTP thread reads; a
 * request copies that buffer under the mutex and answers the copy. Nothing
 * else is shared: the mutex guards one pointer and one length.
 *
 * Why a timer rather than handing each scrape to the loop (uv_async and a
 * wait): the HTTP thread then never waits for the loop, so a busy or
 * stopping loop cannot stall a scrape or deadlock the shutdown (which joins
 * the HTTP thread from the loop), and a flood of scrapes costs the loop
 * nothing. The price is a snapshot up to a second old, far below any
 * scrape interval, and one rebuild a second while the endpoint is on (a few
 * tens of KiB of text; nothing at all when it is off).
 *
 * The endpoint is bounded: at most RP_METRICS_MAX_CONNECTIONS connections
 * (a few per client address), each closed after RP_METRICS_TIMEOUT_S idle
 * seconds, with a small per-connection memory pool. Only GET and HEAD of
 * /metrics are answered (200); another path is 404, another method 405
 * (with Allow), and a request before the first snapshot 503. There is no
 * authentication and no TLS: the listen address must be loopback unless
 * [metrics] allow_remote is true.
 */
#ifndef RP_NODE_METRICS_H
#define RP_NODE_METRICS_H

#include <stddef.h>

#define RP_METRICS_PERIOD_MS       1000
#define RP_METRICS_MAX_CONNECTIONS 16
#define RP_METRICS_PER_IP          4
#define RP_METRICS_TIMEOUT_S       10

struct node;

/* Start the endpoint if [metrics] listen is set (loop thread, at start-up):
 * bind and listen, start libmicrohttpd's thread on that socket and the
 * loop timer that publishes the snapshot (first on the loop's next turn).
 * Returns: 0 (also when listen is empty: nothing starts); RP_ERR_CONFIG
 *          for a non-loopback address without allow_remote; -errno when
 *          the address cannot be bound (-EADDRINUSE: the port is taken);
 *          RP_ERR_NOMEM; -EIO if libmicrohttpd would not start. err says
 *          which and why, naming the address. On failure nothing is left
 *          running or allocated. */
int rp_metrics_start(struct node *n, char *err, size_t errlen);

/* Stop answering (joins the HTTP thread: it never waits for the loop, so
 * this is quick) and close the timer; the memory is freed by the timer's
 * close callback. Safe when the endpoint is off or already stopped. */
void rp_metrics_stop(struct node *n);

/* The TCP port the endpoint listens on (the one bound when listen gave
 * port 0), or -1 when it is off. Loop thread. */
int rp_metrics_port(const struct node *n);

/* The exposition text the endpoint serves, built now on the loop thread
 * (what the timer publishes). Returns: a malloc'd NUL-terminated string
 * (the caller frees it) with *len its length, or NULL if out of memory. */
char *rp_metrics_text(struct node *n, size_t *len);

#endif /* RP_NODE_METRICS_H */
