#include "node/jsonrpc.h"

#include <string.h>

int rp_jsonrpc_check(json_t *req, const char *const *methods, int nmethods,
                     rp_jsonrpc_request *out, const char **message)
{
    out->id = NULL;
    out->method = -1;
    out->params = NULL;
    if (!json_is_object(req)) {
        *message = "a request must be a JSON object";
        return -32600;
    }
    json_t *id = json_object_get(req, "id");
    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
        *message = "id must be a string, an integer or null";
        return -32600;
    }
    out->id = id;
    json_t *ver = json_object_get(req, "jsonrpc"), *method = json_object_get(req, "method");
    json_t *params = json_object_get(req, "params");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
        *message = "\"jsonrpc\" must be \"2.0\"";
        return -32600;
    }
    if (!json_is_string(method)) {
        *message = "\"method\" must be a string";
        return -32600;
    }
    const char *k;
    json_t *v;
    json_object_foreach(req, k, v)
    {
        if (strcmp(k, "jsonrpc") && strcmp(k, "method") && strcmp(k, "params") && strcmp(k, "id")) {
            *message = "unknown member in the request object";
            return -32600;
        }
    }
    for (int i = 0; i < nmethods; i++) {
        if (strcmp(methods[i], json_string_value(method)) == 0) {
            out->method = i;
            break;
        }
    }
    if (out->method < 0) {
        *message = "method not found";
        return -32601;
    }
    if (params && !json_is_null(params)) {
        if (!json_is_object(params)) {
            *message = "params must be an object (named parameters)";
            return -32602;
        }
        out->params = params;
    }
    return 0;
}
