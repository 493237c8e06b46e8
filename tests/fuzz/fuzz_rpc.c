/* Fuzz target: what the RPC server does with the bytes of one read: split
 * them into lines under the line limit, parse each as JSON, and check every
 * request envelope (node/jsonrpc.h), batches included.
 *
 * Beyond the sanitizers' checks: every request either passes with a known
 * method and params that are an object or absent, or fails with one of the
 * three codes the server may answer, with a message.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node/jsonrpc.h"
#include "tests/fuzz/fuzz.h"

#define MAX_LINE 4096

static const char *const methods[] = {"node.info", "chain.head", "record.submit", "score.get"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_one(json_t *req)
{
    rp_jsonrpc_request r;
    const char *msg = NULL;
    int code = rp_jsonrpc_check(req, methods, 4, &r, &msg);
    if (code == 0) {
        if (r.method < 0 || r.method >= 4 || (r.params && !json_is_object(r.params)))
            abort();
        if (r.id && !json_is_string(r.id) && !json_is_integer(r.id) && !json_is_null(r.id))
            abort();
        return;
    }
    if ((code != -32600 && code != -32601 && code != -32602) || !msg || !msg[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n <= MAX_LINE) {
            json_t *v = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
            if (json_is_array(v)) {
                for (size_t i = 0; i < json_array_size(v) && i < 100; i++)
                    check_one(json_array_get(v, i));
            } else if (v) {
                check_one(v);
            }
            json_decref(v);
        }
        p += n + (nl != NULL);
    }
    return 0;
}
