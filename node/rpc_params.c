/* Helpers for the RPC methods: JSON values the way docs/rpc.md writes them
 * (64-bit integers as decimal strings, bytes as hex), parameters checked
 * with one error shape (-32602 with data.param), store errors turned into
 * RPC errors. Loop thread only, like the methods.
 */
#include "node/rpc_params.h"

#include <stdio.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/errors.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "node/log.h"

json_t *rp_json_hex(const void *p, size_t n)
{
    char buf[2 * RP_COMMIT_MAX_SIZE + 1];
    if (2 * n + 1 > sizeof buf)
        return json_null();
    rp_hex_encode(buf, sizeof buf, p, n);
    return json_stringn(buf, 2 * n);
}

json_t *rp_json_u64(uint64_t v)
{
    char buf[24];
    int k = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_stringn(buf, (size_t)k);
}

void rp_param_bad(rp_rpc_call *call, const char *param, const char *why)
{
    /* The name may be the client's (an unknown parameter): quote it only if
     * it is short, printable ASCII, so the message is always valid UTF-8. */
    char msg[160];
    int plain = strlen(param) <= 40;
    for (const char *q = param; plain && *q; q++)
        plain = *q >= 0x20 && *q < 0x7f;
    snprintf(msg, sizeof msg, "invalid params: %s %s", plain ? param : "a parameter", why);
    rp_rpc_error(call, RP_RPC_INVALID_PARAMS, msg, json_pack("{s:s}", "param", param));
}

/* Reject parameters not in allowed (NULL-terminated). Returns 0 if fine;
 * otherwise the call has been answered. */
int rp_params_check(rp_rpc_call *call, json_t *params, const char *const *allowed)
{
    const char *k;
    json_t *v;
    if (!params)
        return 0;
    json_object_foreach(params, k, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        if (!ok) {
            rp_param_bad(call, k, "is not a parameter of this method");
            return -1;
        }
    }
    return 0;
}

/* 32 bytes of hex. Returns 1 found, 0 absent, -1 answered with an error. */
int rp_param_hex32(rp_rpc_call *call, json_t *params, const char *name, unsigned char out[32])
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) ||
        rp_hex_decode(out, 32, json_string_value(v), json_string_length(v)) != 0) {
        rp_param_bad(call, name, "must be 64 hex digits");
        return -1;
    }
    return 1;
}

/* The same for a parameter that must be there. Returns 0, or -1 answered. */
int rp_param_require_hex32(rp_rpc_call *call, json_t *params, const char *name,
                           unsigned char out[32])
{
    int r = rp_param_hex32(call, params, name, out);
    if (r == 0)
        rp_param_bad(call, name, "is required");
    return r == 1 ? 0 : -1;
}

/* An unsigned integer, as a decimal string or a JSON integer. Same returns. */
int rp_param_u64(rp_rpc_call *call, json_t *params, const char *name, uint64_t *out)
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        uint64_t x = 0;
        if (len == 0 || len > 20)
            goto bad;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                goto bad;
            x = x * 10 + (uint64_t)(s[i] - '0');
        }
        *out = x;
        return 1;
    }
bad:
    rp_param_bad(call, name, "must be a non-negative integer (a decimal string or a number)");
    return -1;
}

int rp_param_bool(rp_rpc_call *call, json_t *params, const char *name, int *out)
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        rp_param_bad(call, name, "must be true or false");
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

int rp_param_limit(rp_rpc_call *call, json_t *params, size_t *limit)
{
    uint64_t v = 20;
    int r = rp_param_u64(call, params, "limit", &v);
    if (r < 0)
        return -1;
    if (v < 1 || v > RP_PAGE_MAX) {
        rp_param_bad(call, "limit", "must be 1..100");
        return -1;
    }
    *limit = (size_t)v;
    return 0;
}

void rp_rpc_store_error(rp_rpc_call *call, int rc)
{
    if (rc == RP_ERR_NOT_FOUND) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "not found", NULL);
        return;
    }
    rp_log(RP_LOG_ERROR, "rpc_store_error", "code=%d", rc);
    rp_rpc_error(call, RP_RPC_INTERNAL, rp_strerror(rc), NULL);
}

const char *const rp_role_names[4] = {"", "talent", "agent", "brand"};

const char *rp_role_name(unsigned r)
{
    return r <= 3 && r ? rp_role_names[r] : "unknown";
}

json_t *rp_reject_data(int code, const char *msg)
{
    return json_pack("{s:i,s:s,s:s}", "ledger_code", code, "reason", rp_strerror(code), "detail",
                     msg ? msg : "");
}
