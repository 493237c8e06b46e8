/* A small blocking JSON-RPC 2.0 client for the node's Unix socket
 * (docs/rpc.md): what repute-cli, the tests and the benchmarks use to talk to
 * `reputed run`.
 *
 * One client is one connection. rp_rpc_call sends one request line and reads
 * lines until the response with its id arrives (the server answers in order,
 * so with nothing else in flight that is the next line). For framing tests
 * and pipelining benchmarks, rp_rpc_send_raw and rp_rpc_read_line work on
 * raw lines: send many, then read as many.
 *
 * Bounds: a response line may be at most RP_RPC_MAX_RESPONSE bytes (16 MiB);
 * a longer one is -EMSGSIZE and the connection is unusable afterwards. A
 * timeout (rp_rpc_set_timeout) bounds each call as a whole; without one, a
 * call waits as long as the node takes (record.submit with wait can take up
 * to a minute).
 *
 * Errors: functions return 0 on success, -errno for system and protocol
 * failures (rp_strerror describes them):
 *   -ENAMETOOLONG  the socket path is 108 bytes or more (sun_path's size;
 *                  libuv would silently truncate it on the server side)
 *   -ENOENT, -ECONNREFUSED, -EACCES   from connect: no node is listening there
 *   -ECONNRESET    the node closed the connection before answering
 *   -ETIMEDOUT     no complete answer within the timeout
 *   -EMSGSIZE      a response line longer than RP_RPC_MAX_RESPONSE
 *   -EPROTO        a response that is not JSON-RPC 2.0, or not for this request
 *   -ENOMEM
 * After any of these but -ENOMEM the connection is in an unknown state:
 * close it. rp_rpc_call additionally returns RP_RPC_REPLY_ERROR (positive)
 * when the node answered with an error object; the connection stays usable.
 * Every failure fills the caller's rp_rpc_error with a message.
 *
 * Not thread-safe: one client per thread. SIGPIPE is never raised (writes
 * use MSG_NOSIGNAL). Values are jansson json_t; ownership is stated per
 * function. Pointer arguments are never NULL unless a contract says so.
 */
#ifndef RP_RPC_CLIENT_H
#define RP_RPC_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RP_RPC_MAX_RESPONSE (16u << 20)
/* rp_rpc_call's return when the node answered with a JSON-RPC error. */
#define RP_RPC_REPLY_ERROR 1

typedef struct rp_rpc_client rp_rpc_client;

/* What went wrong. For an error answered by the node: its code, message and
 * data; for a local failure: code 0 and a message. */
typedef struct rp_rpc_error {
    int code;          /* the JSON-RPC error code, or 0 */
    char message[512]; /* NUL-terminated, truncated if longer */
    json_t *data;      /* the error's data (a reference the caller owns), or NULL */
} rp_rpc_error;

/* Connect to the node's socket.
 * Returns: 0; -ENAMETOOLONG; -errno from socket/connect; -ENOMEM.
 * Out:     *out: the client (close with rp_rpc_close); NULL on failure.
 * In:      path: the socket, e.g. "devnet/rpc.sock". */
int rp_rpc_connect(rp_rpc_client **out, const char *path);

/* Close the connection and free the client. NULL is a no-op. */
void rp_rpc_close(rp_rpc_client *c);

/* Bound every later call (rp_rpc_call, rp_rpc_send_raw, rp_rpc_read_line) to
 * timeout_ms milliseconds in all; 0 (the default) waits forever. */
void rp_rpc_set_timeout(rp_rpc_client *c, unsigned timeout_ms);

/* Call a method and wait for its response. Notifications that arrive
 * first are kept for rp_rpc_next_notification.
 * Returns: 0 with *result set; RP_RPC_REPLY_ERROR if the node answered with
 *          an error (err has its code, message and data); a negative code
 *          above (err->code 0, err->message says what happened).
 * Out:     *result: a new reference the caller json_decref's, NULL unless
 *          0 is returned; err: always reset first (err->data NULL), free its
 *          data with rp_rpc_error_clear.
 * In:      method; params: an object, array or NULL for none (borrowed).
 * Requests get ids 1, 2, 3, ... per client; a response with another id
 * (none arrives unless raw lines were sent without reading their answers)
 * is -EPROTO. */
int rp_rpc_call(rp_rpc_client *c, const char *method, json_t *params, json_t **result,
                rp_rpc_error *err);

/* Send a notification (a request without id): the node runs it and answers
 * nothing. Returns: 0 or a negative code; err as for rp_rpc_call. */
int rp_rpc_notify(rp_rpc_client *c, const char *method, json_t *params, rp_rpc_error *err);

/* Wait for the next notification of a subscription (docs/rpc.md,
 * "Subscriptions"): one that rp_rpc_call read while it waited for its answer
 * (they are kept, at most 16 MiB of them, in arrival order; beyond that
 * rp_rpc_call fails with -ENOBUFS), else the next line. The timeout
 * (rp_rpc_set_timeout) bounds the wait.
 * Returns: 0 with *note set; RP_RPC_REPLY_ERROR when the node sent an error
 *          line with id null instead, its last before closing (err has the
 *          code, e.g. -32011 for a subscriber that did not read); the
 *          negative codes of rp_rpc_read_line; -EPROTO for a line that is
 *          neither (an answer nobody asked for).
 * Out:     *note: the whole notification object ("method", "params"), a new
 *          reference the caller json_decref's; NULL unless 0 is returned. */
int rp_rpc_next_notification(rp_rpc_client *c, json_t **note, rp_rpc_error *err);
/* Free the data an error holds and reset it. */
void rp_rpc_error_clear(rp_rpc_error *err);

/* Send bytes exactly as given (the caller writes its own newlines).
 * Returns: 0, -ECONNRESET, -ETIMEDOUT or another -errno. */
int rp_rpc_send_raw(rp_rpc_client *c, const void *buf, size_t len);

/* Read the next line from the node.
 * Returns: 0; -ECONNRESET if the node closed the connection (a final line
 *          without newline counts as closed); -ETIMEDOUT; -EMSGSIZE; -errno.
 * Out:     *line: the line without its "\n" (or "\r\n"), NUL-terminated, in
 *          the client's buffer: valid until the next call on c; *len: its
 *          length.
 */
int rp_rpc_read_line(rp_rpc_client *c, const char **line, size_t *len);

/* Helpers for results, which carry 64-bit integers as decimal strings
 * (docs/rpc.md) and small ones as JSON integers.
 * Returns: 0 and *out; -ENOENT if the key is missing or null; -EPROTO if the
 *          value is neither a non-negative JSON integer nor a decimal string
 *          that fits in 64 bits. */
int rp_rpc_get_u64(const json_t *obj, const char *key, uint64_t *out);

#endif /* RP_RPC_CLIENT_H */
