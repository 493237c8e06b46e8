/* The JSON-RPC 2.0 server on a Unix socket (docs/rpc.md has the protocol).
 *
 * This file owns the transport and the framing: the listening pipe, one
 * request or batch per line, one response line per request line, in order
 * per connection, notifications, the limits (line size, batch size,
 * connections, requests in flight) and backpressure. What a method does is
 * the dispatcher's business: rpc.c validates the request envelope, looks the
 * method up in the table given at start and hands (method index, params) to
 * the dispatch function, which answers now or later with exactly one of
 * rp_rpc_reply / rp_rpc_error.
 *
 * Everything runs on the loop thread. A call outlives its connection: if the
 * client goes away first, the answer is dropped quietly.
 */
#ifndef RP_RPC_H
#define RP_RPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Standard and application error codes (docs/rpc.md, "Errors"). */
enum {
    RP_RPC_PARSE_ERROR = -32700,
    RP_RPC_INVALID_REQUEST = -32600,
    RP_RPC_METHOD_NOT_FOUND = -32601,
    RP_RPC_INVALID_PARAMS = -32602,
    RP_RPC_INTERNAL = -32603,
    RP_RPC_NOT_FOUND = -32001,
    RP_RPC_RECORD_REJECTED = -32002,
    RP_RPC_MEMPOOL_FULL = -32003,
    RP_RPC_SEQUENCE_GAP = -32004,
    RP_RPC_TIMEOUT = -32005,
    RP_RPC_SHUTTING_DOWN = -32006,
    RP_RPC_TOO_MANY_CONNECTIONS = -32007,
    RP_RPC_NO_EPOCH = -32008,
    RP_RPC_BUSY = -32009,
    RP_RPC_TOO_MANY_SUBSCRIPTIONS = -32010,
    RP_RPC_SUBSCRIBER_TOO_SLOW = -32011,
};

#define RP_RPC_MAX_METHODS 32
#define RP_RPC_MAX_SUBS    64        /* subscriptions one connection may hold */
#define RP_RPC_NOTIFY_MAX  (4u << 20) /* unsent bytes a notification may not push a connection past */
#define RP_RPC_MAX_TOPICS  8
#define RP_RPC_PATH_MAX 107 /* sun_path holds 108 bytes with the NUL */

typedef struct rp_rpc_server rp_rpc_server;
typedef struct rp_rpc_call rp_rpc_call;

typedef struct rp_rpc_limits {
    uint32_t max_connections;
    uint32_t max_line;
    uint32_t max_batch;
    uint32_t max_inflight;
} rp_rpc_limits;

/* Called for each valid request. params is borrowed (an object, or NULL when
 * the request had none) and valid during the call only. */
typedef void (*rp_rpc_dispatch_fn)(void *ctx, rp_rpc_call *call, int method, json_t *params);

/* Start listening on path (which must not exist any more: the caller removes
 * a stale socket once it holds the datadir lock). The socket is created
 * under umask 077, so it is mode 0600 from its first instant.
 * Returns: 0; -ENAMETOOLONG for a path of 108 bytes or more (libuv would
 *          silently truncate it); RP_ERR_NOMEM; a negative libuv error.
 *          err gets a sentence. After a libuv error the listener's memory
 *          is freed by its close callback: the caller runs the loop (as its
 *          own teardown does) before closing it.
 * In:      methods[0..nmethods): method names (borrowed, must outlive the
 *          server); lim; dispatch, ctx. */
int rp_rpc_start(rp_rpc_server **out, uv_loop_t *loop, const char *path, const rp_rpc_limits *lim,
                 const char *const *methods, int nmethods, rp_rpc_dispatch_fn dispatch, void *ctx,
                 char *err, size_t errlen);

/* Stop accepting and reading; connections are closed once the answers
 * already queued are written (or at once). The server is freed when every
 * handle is closed and every outstanding call answered; the socket file is
 * removed now. */
void rp_rpc_stop(rp_rpc_server *s);

/* Answer a call: result is stolen (may not be NULL). The call is freed. */
void rp_rpc_reply(rp_rpc_call *call, json_t *result);

/* Answer a call with an error; data (an object, or NULL) is stolen. */
void rp_rpc_error(rp_rpc_call *call, int code, const char *message, json_t *data);

/* Is anyone still waiting for this call's answer? (0 once its connection
 * closed: long waits may give up early.) */
int rp_rpc_call_live(const rp_rpc_call *call);

/* Called when a call's client goes away before its answer (its connection
 * closed). It must answer the call (rp_rpc_reply or rp_rpc_error; the
 * answer is dropped), now or when the work it already started ends: either
 * way the sooner, the sooner the connection's memory is freed. */
typedef void (*rp_rpc_cancel_fn)(void *ctx, rp_rpc_call *call);

/* Ask to be told if the call's client goes away: for calls that wait long
 * (a submit waiting for inclusion), so the wait ends with the client rather
 * than at its timeout. fn runs at most once, on the loop, from inside the
 * server; if the connection is already closed it runs now. Answering the
 * call first unregisters it; fn NULL unregisters it too. */
void rp_rpc_call_on_cancel(rp_rpc_call *call, rp_rpc_cancel_fn fn, void *ctx);

/* The call's connection, as an opaque key (to share work fairly between
 * clients), and whether it can take more output now: it is open and its
 * unsent answers are below the write high-water mark (4 MiB). A client that
 * does not read its answers soon cannot. */
const void *rp_rpc_call_owner(const rp_rpc_call *call);
int rp_rpc_call_can_send(const rp_rpc_call *call);

/* ---- subscriptions ---------------------------------------------------------------
 *
 * A subscription is a stream of notifications (requests without id, from the
 * server to the client) that belongs to one connection and ends with it. The
 * server keeps them; the caller names what they are about with a topic (a
 * small integer of its own, below RP_RPC_MAX_TOPICS) and, optionally, a
 * 32-byte key that narrows the topic (an identity). Ids are integers from 1,
 * unique for the server's life, never reused.
 *
 * Bound: a notification is queued only while the connection's unsent bytes
 * (answers and notifications not yet written) stay within RP_RPC_NOTIFY_MAX.
 * One that would pass it ends every subscription of the connection: the
 * client is sent one last line, an error with id null (RP_RPC_SUBSCRIBER_TOO_SLOW,
 * "subscription queue full: the client did not read"), reading stops, and the
 * connection is closed once that line is written or, at the latest, five
 * seconds later. So a client that never reads costs at most 4 MiB plus one line.
 */

/* Open a subscription on the call's connection (the call is not answered:
 * the caller answers it with the id).
 * Returns: 0; RP_ERR_TOO_MANY (the connection holds RP_RPC_MAX_SUBS);
 *          RP_ERR_SHUTDOWN (the connection or the server is closing);
 *          RP_ERR_NOMEM.
 * Out:     *id.
 * In:      topic < RP_RPC_MAX_TOPICS; key: 32 bytes, or NULL for none. */
int rp_rpc_subscribe(rp_rpc_call *call, int topic, const unsigned char *key, uint64_t *id);

/* End the subscription id of the given topic on the call's connection.
 * Returns: 1 if it was there and is ended; 0 if the connection holds no
 *          such subscription (another connection's id, another topic's,
 *          or one already ended). */
int rp_rpc_unsubscribe(rp_rpc_call *call, int topic, uint64_t id);

/* Subscriptions of topic, all connections together (publishers skip the
 * work of building a notification nobody wants). */
size_t rp_rpc_subscribers(const rp_rpc_server *s, int topic);

/* Would a notification of topic about keys[0..nkeys) (32 bytes each) reach
 * anyone? A subscription without a key wants every notification of its
 * topic; one with a key wants those whose keys include it. */
int rp_rpc_wanted(const rp_rpc_server *s, int topic, const unsigned char (*keys)[32],
                  size_t nkeys);

/* Send {"jsonrpc":"2.0","method":method,"params":{"subscription":ID,"result":result}}
 * to every subscription rp_rpc_wanted would find, once each (a connection
 * with two matching subscriptions gets two lines). result is borrowed and
 * serialized once. A subscriber whose queue would pass the bound is cut
 * off as described above; everyone else is served normally. Nothing is
 * sent once the server is stopping. */
void rp_rpc_publish(rp_rpc_server *s, int topic, const unsigned char (*keys)[32], size_t nkeys,
                    const char *method, json_t *result);

/* Counters and per-method latency for node.metrics: a new object with
 * "connections", "calls", "errors", "subscriptions" (open now),
 * "notifications" (lines queued), "slow_subscribers" (connections cut off
 * for not reading) and "methods" (name -> {calls, errors, p50_us, p99_us}). */
json_t *rp_rpc_metrics(rp_rpc_server *s);

/* The latency histogram the metrics endpoint exposes (node/metrics.h):
 * bucket upper bounds in microseconds, 0.5 ms to 5 s; a last bucket,
 * +Inf, is implied. */
#define RP_RPC_LAT_BUCKETS 13
extern const uint32_t rp_rpc_lat_bounds_us[RP_RPC_LAT_BUCKETS];

typedef struct rp_rpc_method_stats {
    uint64_t calls;  /* requests dispatched to the method */
    uint64_t errors; /* answered with an error */
    /* Answered: the histogram's count (a call still running is in calls
     * but not here yet), their latencies summed, and per bucket b how many
     * were answered within rp_rpc_lat_bounds_us[b] (cumulative). */
    uint64_t answered;
    uint64_t lat_sum_us;
    uint64_t lat_le[RP_RPC_LAT_BUCKETS];
} rp_rpc_method_stats;

/* One method's counters and histogram since start (loop thread).
 * Returns: 0, or -1 (out zeroed) if i is not a method index.
 * In:      i: the index in the method table given to rp_rpc_start. */
int rp_rpc_method_stats_get(const rp_rpc_server *s, int i, rp_rpc_method_stats *out);

/* Connections counted against max_connections now (loop thread). */
uint32_t rp_rpc_connections(const rp_rpc_server *s);

#endif /* RP_RPC_H */
