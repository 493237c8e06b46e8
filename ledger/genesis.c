/* Genesis: the JSON document operators edit, the canonical binary encoding
 * that defines the chain, and the checks that stand between them.
 *
 * Three ways in (JSON text, a file, binary bytes from a datadir) and one set of
 * rules: every path ends in rp_genesis_check, and the numeric ranges live in
 * one place (the param_rules table and the GENESIS_TIME and POWER bounds
 * below), which both the checker and the JSON reader's messages use. The reader
 * therefore only converts types: it refuses what cannot be stored in the
 * struct (a string where a number belongs, a real, a negative or oversized
 * integer, an unknown or missing key) and leaves every range to the checker,
 * so a hand-built or decoded genesis is judged exactly like a parsed one.
 *
 * Errors name the field as a path ("validators[2].power",
 * "params.max_block_bytes"); syntax errors carry jansson's line and column.
 * Anything copied from the input into a message (a key name, jansson's
 * "near '...'" excerpt, a file name) has its non-printable bytes replaced, so
 * a hostile file cannot put terminal escapes into an operator's log.
 *
 * The binary side follows ledger/record.c: put_genesis and get_genesis walk the
 * same fields in the same order, decoding ends in the same checker, and so a
 * decoded genesis re-encodes to exactly the bytes it came from.
 */
#include "ledger/genesis.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/codec.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Ranges outside the params table. */
#define GENESIS_TIME_MIN 1u
#define GENESIS_TIME_MAX UINT64_C(253402300799) /* 9999-12-31: time_ms cannot overflow */
#define POWER_MIN        1u
#define POWER_MAX        UINT32_MAX

/* One consensus parameter: its name in JSON and its allowed range. The table
 * is in the struct's field order, which is also the encoding's. */
typedef struct param_rule {
    const char *name;
    size_t offset; /* in rp_params */
    uint32_t min;
    uint32_t max; /* MAX_IS_EPOCH_BLOCKS: bounded by params.epoch_blocks */
} param_rule;

#define MAX_IS_EPOCH_BLOCKS 0
#define RULE(f, lo, hi)                                                                            \
    {                                                                                              \
#f, offsetof(rp_params, f), (lo), (hi)                                                     \
    }

static const param_rule param_rules[] = {
    RULE(block_interval_ms, 100, 600000),
    RULE(epoch_blocks, 1, 1000000),
    RULE(score_delay_blocks, 1, MAX_IS_EPOCH_BLOCKS),
    RULE(max_block_records, 1, 100000),
    RULE(max_block_bytes, 4096, RP_MAX_BLOCK_BYTES_LIMIT),
    RULE(pow_difficulty, 0, 32),
    RULE(review_half_life_days, 1, 36500),
    RULE(trust_damping_ppm, 1, 999999),
    RULE(trust_max_iterations, 1, 1000),
    RULE(trust_tolerance_ppb, 1, 1000000),
    RULE(time_tolerance_s, 0, 86400),
    RULE(max_engagement_ttl_s, 60, 31536000),
};
#define NPARAMS (sizeof param_rules / sizeof param_rules[0])

_Static_assert(sizeof(rp_params) == NPARAMS * sizeof(uint32_t),
               "every field of rp_params needs a rule (and nothing else may be in it)");

/* The largest encoding: every variable part at its maximum. */
#define ENCODED_MAX                                                                                \
    (1 + 2 + RP_CHAIN_NAME_MAX + 8 + 2 +                                                           \
     RP_MAX_VALIDATORS * (32 + 8 + 2 + RP_VALIDATOR_NAME_MAX) + 2 + RP_MAX_PRETRUSTED * 32 +       \
     NPARAMS * 4)
_Static_assert(ENCODED_MAX <= RP_GENESIS_MAX_SIZE, "RP_GENESIS_MAX_SIZE must bound the encoding");

static uint32_t param_get(const rp_params *p, const param_rule *r)
{
    uint32_t v;
    memcpy(&v, (const unsigned char *)p + r->offset, sizeof v);
    return v;
}

static void param_set(rp_params *p, const param_rule *r, uint32_t v)
{
    memcpy((unsigned char *)p + r->offset, &v, sizeof v);
}

static uint32_t param_max(const rp_params *p, const param_rule *r)
{
    return r->max == MAX_IS_EPOCH_BLOCKS ? p->epoch_blocks : r->max;
}

/* ---- error messages ---------------------------------------------------- */

typedef struct errout {
    char *buf; /* may be NULL */
    size_t cap;
} errout;

static void err_clear(const errout *e)
{
    if (e->buf && e->cap)
        e->buf[0] = '\0';
}

/* Replace every byte outside printable ASCII. */
static void clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
            *s = '?';
}

/* Write "PATH: MESSAGE" and return RP_ERR_GENESIS. */
PRINTF_LIKE(3, 4)
static int fail(const errout *e, const char *path, const char *fmt, ...)
{
    if (e->buf && e->cap) {
        int n = snprintf(e->buf, e->cap, "%s: ", path);
        if (n >= 0 && (size_t)n < e->cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->buf + n, e->cap - (size_t)n, fmt, ap);
            va_end(ap);
        }
        clean(e->buf);
    }
    return RP_ERR_GENESIS;
}

/* "cannot VERB PATH: strerror", for errors of the file system. */
static void sys_fail(const errout *e, const char *verb, const char *path, int err)
{
    if (e->buf && e->cap) {
        snprintf(e->buf, e->cap, "cannot %s %s: %s", verb, path, rp_strerror(err));
        clean(e->buf);
    }
}

static int range_fail(const errout *e, const char *path, uint64_t lo, uint64_t hi)
{
    return fail(e, path, "must be an integer in %llu..%llu", (unsigned long long)lo,
                (unsigned long long)hi);
}

/* p is NULL when the bound on score_delay_blocks is not known yet. */
static int param_fail(const errout *e, const param_rule *r, const rp_params *p)
{
    char path[64];
    snprintf(path, sizeof path, "params.%s", r->name);
    if (r->max != MAX_IS_EPOCH_BLOCKS)
        return range_fail(e, path, r->min, r->max);
    if (p)
        return fail(e, path, "must be an integer in %lu..epoch_blocks (%lu)", (unsigned long)r->min,
                    (unsigned long)p->epoch_blocks);
    return fail(e, path, "must be an integer in %lu..epoch_blocks", (unsigned long)r->min);
}

static int chain_name_fail(const errout *e)
{
    return fail(e, "chain_name", "must be 1..%d characters of [a-z0-9._-]", RP_CHAIN_NAME_MAX);
}

static int name_fail(const errout *e, const char *path)
{
    return fail(e, path, "must be 1..%d printable ASCII characters", RP_VALIDATOR_NAME_MAX);
}

static int count_fail(const errout *e, const char *path, int max)
{
    return fail(e, path, "must be an array of 1..%d entries", max);
}

/* ---- the rules ----------------------------------------------------------- */

static int chain_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Length of a NUL-terminated string in buf[0..cap), or cap if unterminated. */
static size_t bounded_len(const char *buf, size_t cap)
{
    const char *nul = memchr(buf, '\0', cap);
    return nul ? (size_t)(nul - buf) : cap;
}

static int chain_name_ok(const char *s)
{
    size_t n = bounded_len(s, RP_CHAIN_NAME_MAX + 1);
    if (n < 1 || n > RP_CHAIN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!chain_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

static int validator_name_ok(const char *s)
{
    size_t n = bounded_len(s, RP_VALIDATOR_NAME_MAX + 1);
    if (n < 1 || n > RP_VALIDATOR_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
            return 0;
    return 1;
}

int rp_genesis_check(const rp_genesis *g, char *errbuf, size_t errlen)
{
    const errout e = {errbuf, errlen};
    char path[64];

    err_clear(&e);
    if (!chain_name_ok(g->chain_name))
        return chain_name_fail(&e);
    if (g->genesis_time < GENESIS_TIME_MIN || g->genesis_time > GENESIS_TIME_MAX)
        return range_fail(&e, "genesis_time", GENESIS_TIME_MIN, GENESIS_TIME_MAX);

    if (g->nvalidators < 1 || g->nvalidators > RP_MAX_VALIDATORS)
        return count_fail(&e, "validators", RP_MAX_VALIDATORS);
    for (size_t i = 0; i < g->nvalidators; i++) {
        const rp_validator *v = &g->validators[i];
        snprintf(path, sizeof path, "validators[%zu].pubkey", i);
        if (!rp_pubkey_valid(&v->pubkey))
            return fail(&e, path, "not a valid x-only public key");
        for (size_t j = 0; j < i; j++)
            if (memcmp(g->validators[j].pubkey.bytes, v->pubkey.bytes, 32) == 0)
                return fail(&e, path, "duplicate of validators[%zu].pubkey", j);
        snprintf(path, sizeof path, "validators[%zu].power", i);
        if (v->power < POWER_MIN || v->power > POWER_MAX)
            return range_fail(&e, path, POWER_MIN, POWER_MAX);
        snprintf(path, sizeof path, "validators[%zu].name", i);
        if (!validator_name_ok(v->name))
            return name_fail(&e, path);
    }

    if (g->npretrusted < 1 || g->npretrusted > RP_MAX_PRETRUSTED)
        return count_fail(&e, "pretrusted", RP_MAX_PRETRUSTED);
    for (size_t i = 0; i < g->npretrusted; i++) {
        snprintf(path, sizeof path, "pretrusted[%zu]", i);
        if (!rp_pubkey_valid(&g->pretrusted[i]))
            return fail(&e, path, "not a valid x-only public key");
        for (size_t j = 0; j < i; j++)
            if (memcmp(g->pretrusted[j].bytes, g->pretrusted[i].bytes, 32) == 0)
                return fail(&e, path, "duplicate of pretrusted[%zu]", j);
    }

    for (size_t i = 0; i < NPARAMS; i++) {
        const param_rule *r = &param_rules[i];
        uint32_t v = param_get(&g->params, r);
        if (v < r->min || v > param_max(&g->params, r))
            return param_fail(&e, r, &g->params);
    }
    return 0;
}

/* ---- JSON in --------------------------------------------------------------- */

static const char *const top_keys[] = {"chain_name", "genesis_time", "validators",
                                       "pretrusted", "params",       NULL};
static const char *const validator_keys[] = {"pubkey", "power", "name", NULL};

/* Refuse any key of obj not in known (NULL-terminated). prefix is the path of
 * obj ("" for the top level). */
static int only_known(const errout *e, json_t *obj, const char *prefix, const char *const *known)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        size_t i = 0;
        while (known[i] && strcmp(key, known[i]) != 0)
            i++;
        if (known[i])
            continue;
        /* Show at most 32 bytes of a hostile key; fail() cleans them. */
        size_t n = strlen(key);
        char path[128];
        snprintf(path, sizeof path, "%s%s%.32s%s", prefix, *prefix ? "." : "", key,
                 n > 32 ? "..." : "");
        return fail(e, path, "unknown field");
    }
    return 0;
}

/* The member `name` of obj, its path written to path[0..cap). NULL if absent. */
static json_t *member(json_t *obj, const char *prefix, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s%s%s", prefix, *prefix ? "." : "", name);
    return json_object_get(obj, name);
}

/* A JSON integer in 0..cap. Reals (1.0, 1e3) are not integers to jansson. */
static int json_uint(const json_t *v, uint64_t cap, uint64_t *out)
{
    if (!json_is_integer(v))
        return 0;
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > cap)
        return 0;
    *out = (uint64_t)x;
    return 1;
}

/* A JSON string of at most max bytes and no NUL, copied to out[0..max]. */
static int json_text(const json_t *v, char *out, size_t max)
{
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max || memchr(s, '\0', n) != NULL)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* 64 hex digits. Whether they are a curve point is the checker's business. */
static int json_key(const json_t *v, rp_pubkey *pk)
{
    if (!json_is_string(v))
        return 0;
    return rp_hex_decode(pk->bytes, sizeof pk->bytes, json_string_value(v),
                         json_string_length(v)) == 0;
}

static int key_fail(const errout *e, const char *path)
{
    return fail(e, path, "must be a string of 64 hex characters (an x-only public key)");
}

static int validators_from_json(rp_genesis *g, json_t *arr, const errout *e)
{
    if (!json_is_array(arr) || json_array_size(arr) > RP_MAX_VALIDATORS)
        return count_fail(e, "validators", RP_MAX_VALIDATORS);
    g->nvalidators = json_array_size(arr);
    for (size_t i = 0; i < g->nvalidators; i++) {
        rp_validator *val = &g->validators[i];
        json_t *obj = json_array_get(arr, i);
        char base[40], path[64];
        json_t *v;
        uint64_t power;
        int err;

        snprintf(base, sizeof base, "validators[%zu]", i);
        if (!json_is_object(obj))
            return fail(e, base, "must be an object with pubkey, power and name");
        if ((err = only_known(e, obj, base, validator_keys)) != 0)
            return err;
        if (!(v = member(obj, base, "pubkey", path, sizeof path)))
            return fail(e, path, "missing");
        if (!json_key(v, &val->pubkey))
            return key_fail(e, path);
        if (!(v = member(obj, base, "power", path, sizeof path)))
            return fail(e, path, "missing");
        if (!json_uint(v, UINT64_MAX, &power))
            return range_fail(e, path, POWER_MIN, POWER_MAX);
        val->power = power;
        if (!(v = member(obj, base, "name", path, sizeof path)))
            return fail(e, path, "missing");
        if (!json_text(v, val->name, RP_VALIDATOR_NAME_MAX))
            return name_fail(e, path);
    }
    return 0;
}

static int pretrusted_from_json(rp_genesis *g, json_t *arr, const errout *e)
{
    if (!json_is_array(arr) || json_array_size(arr) > RP_MAX_PRETRUSTED)
        return count_fail(e, "pretrusted", RP_MAX_PRETRUSTED);
    g->npretrusted = json_array_size(arr);
    for (size_t i = 0; i < g->npretrusted; i++) {
        char path[40];
        snprintf(path, sizeof path, "pretrusted[%zu]", i);
        if (!json_key(json_array_get(arr, i), &g->pretrusted[i]))
            return key_fail(e, path);
    }
    return 0;
}

static int params_from_json(rp_params *p, json_t *obj, const errout *e)
{
    const char *names[NPARAMS + 1];
    int err;

    if (!json_is_object(obj))
        return fail(e, "params", "must be an object");
    for (size_t i = 0; i < NPARAMS; i++)
        names[i] = param_rules[i].name;
    names[NPARAMS] = NULL;
    if ((err = only_known(e, obj, "params", names)) != 0)
        return err;
    for (size_t i = 0; i < NPARAMS; i++) {
        const param_rule *r = &param_rules[i];
        char path[64];
        json_t *v = member(obj, "params", r->name, path, sizeof path);
        uint64_t x;
        if (!v)
            return fail(e, path, "missing");
        if (!json_uint(v, UINT32_MAX, &x))
            return param_fail(e, r, NULL);
        param_set(p, r, (uint32_t)x);
    }
    return 0;
}

/* Types and shape only; rp_genesis_check judges the values afterwards. */
static int from_json(rp_genesis *g, json_t *root, const errout *e)
{
    char path[64];
    json_t *v;
    uint64_t t;
    int err;

    if (!json_is_object(root))
        return fail(e, "genesis", "must be a JSON object");
    if ((err = only_known(e, root, "", top_keys)) != 0)
        return err;

    if (!(v = member(root, "", "chain_name", path, sizeof path)))
        return fail(e, path, "missing");
    if (!json_text(v, g->chain_name, RP_CHAIN_NAME_MAX))
        return chain_name_fail(e);

    if (!(v = member(root, "", "genesis_time", path, sizeof path)))
        return fail(e, path, "missing");
    if (!json_uint(v, UINT64_MAX, &t))
        return range_fail(e, path, GENESIS_TIME_MIN, GENESIS_TIME_MAX);
    g->genesis_time = t;

    if (!(v = member(root, "", "validators", path, sizeof path)))
        return fail(e, path, "missing");
    if ((err = validators_from_json(g, v, e)) != 0)
        return err;

    if (!(v = member(root, "", "pretrusted", path, sizeof path)))
        return fail(e, path, "missing");
    if ((err = pretrusted_from_json(g, v, e)) != 0)
        return err;

    if (!(v = member(root, "", "params", path, sizeof path)))
        return fail(e, path, "missing");
    return params_from_json(&g->params, v, e);
}

int rp_genesis_parse(rp_genesis *g, const char *json, size_t len, char *errbuf, size_t errlen)
{
    const errout e = {errbuf, errlen};
    int err;

    memset(g, 0, sizeof *g);
    err_clear(&e);
    if (len > RP_GENESIS_MAX_JSON)
        return fail(&e, "genesis", "document is %zu bytes, more than the limit of %u", len,
                    (unsigned)RP_GENESIS_MAX_JSON);

    /* Without JSON_DECODE_ANY the top level must be an object or an array;
     * without JSON_DISABLE_EOF_CHECK nothing may follow it. */
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char where[48];
        snprintf(where, sizeof where, "line %d column %d", jerr.line, jerr.column);
        err = fail(&e, where, "%s", jerr.text);
    } else {
        err = from_json(g, root, &e);
        json_decref(root);
    }
    if (!err)
        err = rp_genesis_check(g, errbuf, errlen);
    if (err)
        memset(g, 0, sizeof *g);
    return err;
}

int rp_genesis_load(rp_genesis *g, const char *path, char *errbuf, size_t errlen)
{
    const errout e = {errbuf, errlen};
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int err = 0;

    memset(g, 0, sizeof *g);
    err_clear(&e);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        sys_fail(&e, "open", path, err);
        return err;
    }
    if (fstat(fd, &st) != 0) {
        err = -errno;
    } else if (S_ISDIR(st.st_mode)) {
        err = -EISDIR;
    } else if (S_ISREG(st.st_mode) && st.st_size > (off_t)RP_GENESIS_MAX_JSON) {
        /* Refused unread; the read below bounds files whose size is unknown. */
        (void)close(fd);
        return fail(&e, path, "larger than %u bytes", (unsigned)RP_GENESIS_MAX_JSON);
    } else if ((buf = malloc(RP_GENESIS_MAX_JSON + 1)) == NULL) {
        err = -ENOMEM;
    }
    /* One spare byte so that a longer non-regular file shows up as too long. */
    while (err == 0 && len < RP_GENESIS_MAX_JSON + 1) {
        ssize_t n = read(fd, buf + len, RP_GENESIS_MAX_JSON + 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
        } else if (n == 0) {
            break;
        } else {
            len += (size_t)n;
        }
    }
    (void)close(fd);
    if (err) {
        free(buf);
        sys_fail(&e, "read", path, err);
        return err;
    }
    if (len > RP_GENESIS_MAX_JSON) {
        free(buf);
        return fail(&e, path, "larger than %u bytes", (unsigned)RP_GENESIS_MAX_JSON);
    }

    /* Parse into a local buffer, then prefix the file name. */
    char msg[256];
    err = rp_genesis_parse(g, buf, len, msg, sizeof msg);
    free(buf);
    if (err)
        fail(&e, path, "%s", msg);
    return err;
}

/* ---- JSON out ---------------------------------------------------------------- */

/* Each helper steals v (jansson's _new convention) and reports failure, so the
 * builder below can run straight down and check a sticky flag once. */
static void put_member(json_t *obj, const char *key, json_t *v, int *ok)
{
    if (json_object_set_new(obj, key, v) != 0)
        *ok = 0;
}

static void put_elem(json_t *arr, json_t *v, int *ok)
{
    if (json_array_append_new(arr, v) != 0)
        *ok = 0;
}

static json_t *key_json(const rp_pubkey *pk)
{
    char hex[65];
    rp_hex_encode(hex, sizeof hex, pk->bytes, sizeof pk->bytes);
    return json_string(hex);
}

char *rp_genesis_to_json(const rp_genesis *g)
{
    const size_t nval = g->nvalidators < RP_MAX_VALIDATORS ? g->nvalidators : RP_MAX_VALIDATORS;
    const size_t npre = g->npretrusted < RP_MAX_PRETRUSTED ? g->npretrusted : RP_MAX_PRETRUSTED;
    const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
    json_t *root = json_object();
    json_t *vals = json_array();
    json_t *pre = json_array();
    json_t *params = json_object();
    int ok = root && vals && pre && params;
    char *out = NULL;

    if (!ok) {
        json_decref(root);
        json_decref(vals);
        json_decref(pre);
        json_decref(params);
        return NULL;
    }
    put_member(root, "chain_name",
               json_stringn(g->chain_name, bounded_len(g->chain_name, RP_CHAIN_NAME_MAX)), &ok);
    put_member(root, "genesis_time", json_integer((json_int_t)g->genesis_time), &ok);
    for (size_t i = 0; i < nval; i++) {
        const rp_validator *v = &g->validators[i];
        json_t *o = json_object();
        if (!o) {
            ok = 0;
            break;
        }
        put_member(o, "pubkey", key_json(&v->pubkey), &ok);
        put_member(o, "power", json_integer((json_int_t)v->power), &ok);
        put_member(o, "name", json_stringn(v->name, bounded_len(v->name, RP_VALIDATOR_NAME_MAX)),
                   &ok);
        put_elem(vals, o, &ok);
    }
    put_member(root, "validators", vals, &ok);
    for (size_t i = 0; i < npre; i++)
        put_elem(pre, key_json(&g->pretrusted[i]), &ok);
    put_member(root, "pretrusted", pre, &ok);
    for (size_t i = 0; i < NPARAMS; i++)
        put_member(params, param_rules[i].name,
                   json_integer((json_int_t)param_get(&g->params, &param_rules[i])), &ok);
    put_member(root, "params", params, &ok);

    /* json_dumpb into our own malloc'd buffer: json_dumps would allocate with
     * jansson's allocator, which a program may have replaced, and the
     * contract says the caller frees with free(). */
    size_t n = ok ? json_dumpb(root, NULL, 0, flags) : 0;
    if (n > 0 && (out = malloc(n + 1)) != NULL) {
        if (json_dumpb(root, out, n, flags) == n) {
            out[n] = '\0';
        } else {
            free(out);
            out = NULL;
        }
    }
    json_decref(root);
    return out;
}

/* ---- binary ------------------------------------------------------------------ */

/* The layout, which docs/genesis.md repeats:
 *   version u8 | chain_name var (<= 64) | genesis_time u64 |
 *   nvalidators u16 | (pubkey 32 | power u64 | name var (<= 32)) each |
 *   npretrusted u16 | pubkey 32 each | the params, u32 each, in field order.
 * Only called on a genesis that passed rp_genesis_check. */
static void put_genesis(rp_writer *w, const rp_genesis *g)
{
    rp_put_u8(w, RP_GENESIS_VERSION);
    rp_put_var(w, (const unsigned char *)g->chain_name, strlen(g->chain_name), RP_CHAIN_NAME_MAX);
    rp_put_u64(w, g->genesis_time);
    rp_put_u16(w, (uint16_t)g->nvalidators);
    for (size_t i = 0; i < g->nvalidators; i++) {
        const rp_validator *v = &g->validators[i];
        rp_put_bytes(w, v->pubkey.bytes, 32);
        rp_put_u64(w, v->power);
        rp_put_var(w, (const unsigned char *)v->name, strlen(v->name), RP_VALIDATOR_NAME_MAX);
    }
    rp_put_u16(w, (uint16_t)g->npretrusted);
    for (size_t i = 0; i < g->npretrusted; i++)
        rp_put_bytes(w, g->pretrusted[i].bytes, 32);
    for (size_t i = 0; i < NPARAMS; i++)
        rp_put_u32(w, param_get(&g->params, &param_rules[i]));
}

/* A u16-length string into out[0..max], NUL-terminated. A NUL inside would
 * make the C string shorter than the bytes, so a re-encoding would differ;
 * it is a rule failure (no allowed character is NUL), reported via *text_ok. */
static void get_text(rp_reader *rd, char *out, size_t max, const char *field, int *text_ok)
{
    size_t n = rp_get_var(rd, (unsigned char *)out, max, field);
    out[n] = '\0';
    if (memchr(out, '\0', n) != NULL)
        *text_ok = 0;
}

/* The mirror of put_genesis. Counts above the maxima stop the reader before
 * anything is read into the arrays. Returns: 0 if a text field held a NUL. */
static int get_genesis(rp_reader *rd, rp_genesis *g)
{
    int text_ok = 1;

    if (rp_get_u8(rd, "version") != RP_GENESIS_VERSION && !rd->err)
        rp_reader_fail(rd, RP_ERR_BAD_VERSION, "version");
    get_text(rd, g->chain_name, RP_CHAIN_NAME_MAX, "chain_name", &text_ok);
    g->genesis_time = rp_get_u64(rd, "genesis_time");

    size_t nval = rp_get_u16(rd, "validators");
    if (nval > RP_MAX_VALIDATORS) {
        rp_reader_fail(rd, RP_ERR_TOO_LONG, "validators");
        nval = 0;
    }
    g->nvalidators = nval;
    for (size_t i = 0; i < nval; i++) {
        rp_validator *v = &g->validators[i];
        rp_get_bytes(rd, v->pubkey.bytes, 32, "validator.pubkey");
        v->power = rp_get_u64(rd, "validator.power");
        get_text(rd, v->name, RP_VALIDATOR_NAME_MAX, "validator.name", &text_ok);
    }

    size_t npre = rp_get_u16(rd, "pretrusted");
    if (npre > RP_MAX_PRETRUSTED) {
        rp_reader_fail(rd, RP_ERR_TOO_LONG, "pretrusted");
        npre = 0;
    }
    g->npretrusted = npre;
    for (size_t i = 0; i < npre; i++)
        rp_get_bytes(rd, g->pretrusted[i].bytes, 32, "pretrusted");

    for (size_t i = 0; i < NPARAMS; i++)
        param_set(&g->params, &param_rules[i], rp_get_u32(rd, param_rules[i].name));
    return text_ok;
}

int rp_genesis_encode(const rp_genesis *g, unsigned char *out, size_t cap, size_t *len)
{
    int err = rp_genesis_check(g, NULL, 0);
    if (err) {
        if (len)
            *len = 0;
        return err;
    }
    rp_writer w;
    rp_writer_init(&w, out, cap);
    put_genesis(&w, g);
    return rp_writer_finish(&w, len);
}

int rp_genesis_decode(rp_genesis *g, const unsigned char *in, size_t len)
{
    memset(g, 0, sizeof *g);
    if (len > RP_GENESIS_MAX_SIZE)
        return RP_ERR_TOO_LONG;
    rp_reader rd;
    rp_reader_init(&rd, in, len);
    int text_ok = get_genesis(&rd, g);
    int err = rp_reader_finish(&rd, NULL);
    if (!err && (!text_ok || rp_genesis_check(g, NULL, 0) != 0))
        err = RP_ERR_GENESIS;
    if (err)
        memset(g, 0, sizeof *g);
    return err;
}

int rp_genesis_chain_id(rp_hash *id, const rp_genesis *g)
{
    unsigned char buf[ENCODED_MAX];
    size_t n;
    int err = rp_genesis_encode(g, buf, sizeof buf, &n);
    if (err) {
        memset(id, 0, sizeof *id);
        return err;
    }
    rp_tagged_hash(id, RP_TAG_GENESIS, buf, n);
    return 0;
}

/* ---- validator set ------------------------------------------------------------ */

static size_t nvalidators(const rp_genesis *g)
{
    return g->nvalidators < RP_MAX_VALIDATORS ? g->nvalidators : RP_MAX_VALIDATORS;
}

void rp_genesis_validators_hash(rp_hash *out, const rp_genesis *g)
{
    unsigned char buf[2 + RP_MAX_VALIDATORS * (32 + 8)];
    size_t n = nvalidators(g), len = 0;
    rp_writer w;

    rp_writer_init(&w, buf, sizeof buf);
    rp_put_u16(&w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        rp_put_bytes(&w, g->validators[i].pubkey.bytes, 32);
        rp_put_u64(&w, g->validators[i].power);
    }
    /* Cannot fail: buf holds the largest set. */
    (void)rp_writer_finish(&w, &len);
    rp_tagged_hash(out, RP_TAG_VALIDATORS, buf, len);
}

uint64_t rp_genesis_total_power(const rp_genesis *g)
{
    uint64_t total = 0;
    for (size_t i = 0; i < nvalidators(g); i++)
        total += g->validators[i].power;
    return total;
}

/* power > 2/3 of total, i.e. 3*power > 2*total, which for integers is the
 * same as power > floor(2*total/3). Written that way nothing overflows for
 * any power: a checked genesis has at most 128 powers below 2^32, so total
 * < 2^39 and 2*total fits easily in 64 bits. */
int rp_genesis_is_quorum(const rp_genesis *g, uint64_t power)
{
    uint64_t total = rp_genesis_total_power(g);
    if (total == 0)
        return 0;
    return power > total * 2 / 3;
}

int rp_genesis_validator_index(const rp_genesis *g, const rp_pubkey *pk)
{
    for (size_t i = 0; i < nvalidators(g); i++)
        if (memcmp(g->validators[i].pubkey.bytes, pk->bytes, 32) == 0)
            return (int)i;
    return -1;
}
