/* The JSON-RPC 2.0 request envelope, checked without any I/O, so the
 * server (node/rpc.c) and its fuzz target share one implementation.
 */
#ifndef RP_JSONRPC_H
#define RP_JSONRPC_H

#include <jansson.h>

typedef struct rp_jsonrpc_request {
    json_t *id;     /* borrowed from the request; NULL for a notification */
    int method;     /* index into the method table, or -1 */
    json_t *params; /* borrowed; NULL when absent or null */
} rp_jsonrpc_request;

/* Check one request object: {"jsonrpc":"2.0","method":NAME[,"params":{...}][,"id":ID]}
 * with ID a string, an integer or null, no other members, params an object.
 * Returns: 0 with out filled; otherwise the JSON-RPC error code to answer
 *          (-32600 invalid request, -32601 method not found, -32602 params
 *          not an object), *message set to a static sentence and out->id
 *          set to what the answer must carry (the request's id when it was
 *          usable, NULL otherwise, meaning JSON null).
 * In:      req (borrowed); methods[0..nmethods). */
int rp_jsonrpc_check(json_t *req, const char *const *methods, int nmethods,
                     rp_jsonrpc_request *out, const char **message);

#endif /* RP_JSONRPC_H */
