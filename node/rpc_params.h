/* Helpers shared by the RPC methods (node/methods.c, node/reads.c,
 * node/waiters.c): JSON values in docs/rpc.md's conventions, parameter
 * checks that answer the call themselves on failure, and error answers.
 *
 * The parameter readers return 1 if the parameter is there and valid
 * (written to *out), 0 if it is absent, and -1 if it is invalid: the call
 * has then been answered with -32602 and data.param, and the method must
 * return without answering again. Loop thread only.
 */
#ifndef RP_RPC_PARAMS_H
#define RP_RPC_PARAMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "node/rpc.h"

#define RP_PAGE_MAX 100 /* the largest page of any listing */

/* Lowercase hex of p[0..n) as a new JSON string (JSON null if n is over
 * RP_COMMIT_MAX_SIZE bytes); a 64-bit integer as a new decimal string. */
json_t *rp_json_hex(const void *p, size_t n);
json_t *rp_json_u64(uint64_t v);

/* Answer call with -32602 "invalid params: PARAM WHY". */
void rp_param_bad(rp_rpc_call *call, const char *param, const char *why);
/* Refuse parameters not in allowed (NULL-terminated).
 * Returns: 0 if all are allowed; -1 if the call was answered. */
int rp_params_check(rp_rpc_call *call, json_t *params, const char *const *allowed);
/* 32 bytes as 64 hex digits. */
int rp_param_hex32(rp_rpc_call *call, json_t *params, const char *name, unsigned char out[32]);
/* The same, required. Returns: 0, or -1 answered. */
int rp_param_require_hex32(rp_rpc_call *call, json_t *params, const char *name,
                           unsigned char out[32]);
/* An unsigned integer, as a decimal string or a JSON integer. */
int rp_param_u64(rp_rpc_call *call, json_t *params, const char *name, uint64_t *out);
int rp_param_bool(rp_rpc_call *call, json_t *params, const char *name, int *out);
/* "limit": 1..RP_PAGE_MAX, default 20. Returns: 0, or -1 answered. */
int rp_param_limit(rp_rpc_call *call, json_t *params, size_t *limit);

/* Answer a store error: -32001 for RP_ERR_NOT_FOUND, else -32603 (logged). */
void rp_rpc_store_error(rp_rpc_call *call, int rc);
/* data of a -32002 rejection: ledger_code, reason, detail. */
json_t *rp_reject_data(int code, const char *msg);

/* Role names by number (1 talent, 2 agent, 3 brand); "unknown" otherwise. */
extern const char *const rp_role_names[4];
const char *rp_role_name(unsigned r);

#endif /* RP_RPC_PARAMS_H */
