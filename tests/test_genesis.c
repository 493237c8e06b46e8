/* Check suite for ledger/genesis: the shipped config files, JSON and binary
 * round trips, the chain id's independence from formatting, one test per
 * rejection class (each checking that the message names the field), quorum
 * arithmetic and validator lookup.
 *
 * The config files are found through RP_SOURCE_ROOT (the source tree; if it
 * is unset, RP_VECTORS/../.. is tried). Their keys are derived from published
 * seeds with rp_seckey_from_seed, and the tests derive them again:
 *   devnet:    seed = 32 x 0x01; validator = index 0, pretrusted = index 1
 *   testnet-4: seed = 32 x 0x04; validators = 0..3, pretrusted = 4, 5
 *
 * rp_genesis is about 18 KB, so tests allocate it on the heap (new_genesis).
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/genesis.h"

/* Keys of the testnet-4 seed (32 x 0x04), indices 0..5. */
#define T0 "9254c31e7a958a80a0908251a470dac3a5d4af409881aadd8e91e35772bec685"
#define T1 "d9e978f55ac7691a20603cfa87a649ed47ea4021b9b2d613d23dd4f08d04613b"
#define T2 "64f815794fa1ef07a552831e22f98ab44487f5ad7a91ea9191dc7dd2c7490f4a"
#define T3 "a42b26e1b43475bce8455e63bdd217c979d2b42fca04c6ed1045bb8b17ba24bf"
#define T4 "4ea1c01d0a46eb0d155021b0f44344ed6c0ea5d83962dfb200fda180280d1403"
#define T5 "d5d4ce2f5498b14c4bebcd10befc709726b4ff0c3b42c86b1f57bb7ff7902bf6"
/* x = the field size p: not a field element at all. */
#define KEY_P "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"
/* A field element that is no point's x (BIP-340 test vector 5). */
#define KEY_OFF_CURVE "eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34"

/* Chain ids of the shipped configs: known answers. A change here is a change
 * of the encoding or of the files, and starts a new chain. */
#define DEVNET_CHAIN_ID   "02185e202e71e674bb726ac16db98c3842a07725ee8cc5d20ac37c262bb841c0"
#define TESTNET4_CHAIN_ID "bf010021e2eab339c9ddf4db79d3acb0c9d07570632d5f91b547d93786226ded"

/* The document most rejection tests mutate: three validators (so that
 * validators[2] exists), two pretrusted keys, every param away from its
 * bounds except max_block_bytes. Each mutation replaces one unique substring. */
static const char base_doc[] = "{\n"
                               "  \"chain_name\": \"repute-test\",\n"
                               "  \"genesis_time\": 1790000000,\n"
                               "  \"validators\": [\n"
                               "    {\"pubkey\": \"" T0 "\", \"power\": 1, \"name\": \"val-0\"},\n"
                               "    {\"pubkey\": \"" T1 "\", \"power\": 2, \"name\": \"val-1\"},\n"
                               "    {\"pubkey\": \"" T2 "\", \"power\": 3, \"name\": \"val-2\"}\n"
                               "  ],\n"
                               "  \"pretrusted\": [\"" T4 "\", \"" T5 "\"],\n"
                               "  \"params\": {\n"
                               "    \"block_interval_ms\": 1000,\n"
                               "    \"epoch_blocks\": 20,\n"
                               "    \"score_delay_blocks\": 5,\n"
                               "    \"max_block_records\": 10000,\n"
                               "    \"max_block_bytes\": 4194304,\n"
                               "    \"pow_difficulty\": 8,\n"
                               "    \"review_half_life_days\": 180,\n"
                               "    \"trust_damping_ppm\": 150000,\n"
                               "    \"trust_max_iterations\": 100,\n"
                               "    \"trust_tolerance_ppb\": 10,\n"
                               "    \"time_tolerance_s\": 600,\n"
                               "    \"max_engagement_ttl_s\": 2592000\n"
                               "  }\n"
                               "}\n";

/* Every param: its value in base_doc and its range (hi 0: epoch_blocks). */
typedef struct param_case {
    const char *name;
    const char *value;
    long long lo, hi;
} param_case;

static const param_case param_cases[] = {
    {"block_interval_ms", "1000", 100, 600000},
    {"epoch_blocks", "20", 1, 1000000},
    {"score_delay_blocks", "5", 1, 0},
    {"max_block_records", "10000", 1, 100000},
    {"max_block_bytes", "4194304", 4096, 4194304},
    {"pow_difficulty", "8", 0, 32},
    {"review_half_life_days", "180", 1, 36500},
    {"trust_damping_ppm", "150000", 1, 999999},
    {"trust_max_iterations", "100", 1, 1000},
    {"trust_tolerance_ppb", "10", 1, 1000000},
    {"time_tolerance_s", "600", 0, 86400},
    {"max_engagement_ttl_s", "2592000", 60, 31536000},
};
#define NPARAM_CASES      ((int)(sizeof param_cases / sizeof param_cases[0]))
#define BASE_EPOCH_BLOCKS 20

/* ---- helpers --------------------------------------------------------------- */

static rp_genesis *new_genesis(void)
{
    rp_genesis *g = calloc(1, sizeof *g);
    ck_assert_ptr_nonnull(g);
    return g;
}

static int genesis_eq(const rp_genesis *a, const rp_genesis *b)
{
    if (strcmp(a->chain_name, b->chain_name) != 0 || a->genesis_time != b->genesis_time ||
        a->nvalidators != b->nvalidators || a->npretrusted != b->npretrusted ||
        memcmp(&a->params, &b->params, sizeof a->params) != 0)
        return 0;
    for (size_t i = 0; i < a->nvalidators; i++) {
        const rp_validator *x = &a->validators[i], *y = &b->validators[i];
        if (memcmp(x->pubkey.bytes, y->pubkey.bytes, 32) != 0 || x->power != y->power ||
            strcmp(x->name, y->name) != 0)
            return 0;
    }
    for (size_t i = 0; i < a->npretrusted; i++)
        if (memcmp(a->pretrusted[i].bytes, b->pretrusted[i].bytes, 32) != 0)
            return 0;
    return 1;
}

static int is_zeroed(const rp_genesis *g)
{
    const unsigned char *p = (const unsigned char *)g;
    for (size_t i = 0; i < sizeof *g; i++)
        if (p[i])
            return 0;
    return 1;
}

/* doc with its only occurrence of `from` replaced by `to` (malloc'd). */
static char *subst(const char *doc, const char *from, const char *to)
{
    const char *at = strstr(doc, from);
    ck_assert_msg(at != NULL, "\"%s\" not in the document", from);
    ck_assert_msg(strstr(at + 1, from) == NULL, "\"%s\" occurs twice", from);
    size_t head = (size_t)(at - doc), nfrom = strlen(from), nto = strlen(to);
    size_t total = strlen(doc) - nfrom + nto;
    char *out = malloc(total + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, doc, head);
    memcpy(out + head, to, nto);
    strcpy(out + head + nto, at + nfrom);
    return out;
}

static void parse_ok(rp_genesis *g, const char *doc)
{
    char msg[256];
    int err = rp_genesis_parse(g, doc, strlen(doc), msg, sizeof msg);
    ck_assert_msg(err == 0, "refused (%d): %s", err, msg);
    ck_assert_str_eq(msg, "");
}

/* Parse doc, expect RP_ERR_GENESIS, a zeroed struct and a message that
 * equals want (exact) or contains it (!exact). */
static void reject_doc(const char *doc, size_t len, const char *want, int exact)
{
    rp_genesis *g = new_genesis();
    char msg[256];
    memset(g, 0xAB, sizeof *g);
    int err = rp_genesis_parse(g, doc, len, msg, sizeof msg);
    ck_assert_msg(err == RP_ERR_GENESIS, "expected refusal \"%s\", got %d", want, err);
    if (exact)
        ck_assert_str_eq(msg, want);
    else
        ck_assert_msg(strstr(msg, want) != NULL, "message \"%s\" lacks \"%s\"", msg, want);
    ck_assert(is_zeroed(g));
    free(g);
}

static void reject(const char *doc, const char *want)
{
    reject_doc(doc, strlen(doc), want, 1);
}

static void reject_like(const char *doc, const char *want)
{
    reject_doc(doc, strlen(doc), want, 0);
}

/* Mutate base_doc once and expect the exact message. */
static void reject_subst(const char *from, const char *to, const char *want)
{
    char *doc = subst(base_doc, from, to);
    reject(doc, want);
    free(doc);
}

static void source_path(char *out, size_t cap, const char *rel)
{
    const char *root = getenv("RP_SOURCE_ROOT");
    const char *vectors = getenv("RP_VECTORS");
    int n;
    if (root)
        n = snprintf(out, cap, "%s/%s", root, rel);
    else if (vectors)
        n = snprintf(out, cap, "%s/../../%s", vectors, rel);
    else
        ck_abort_msg("set RP_SOURCE_ROOT to the source tree");
    ck_assert(n > 0 && (size_t)n < cap);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(RP_GENESIS_MAX_JSON + 1);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, RP_GENESIS_MAX_JSON, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void hex_id(char out[65], const rp_genesis *g)
{
    rp_hash id;
    ck_assert_int_eq(rp_genesis_chain_id(&id, g), 0);
    ck_assert_int_eq(rp_hex_encode(out, 65, id.bytes, 32), 0);
}

static void derived_key(rp_pubkey *pk, unsigned char seedbyte, uint64_t index)
{
    unsigned char seed[32];
    rp_seckey sk;
    memset(seed, seedbyte, sizeof seed);
    ck_assert_int_eq(rp_seckey_from_seed(&sk, seed, index), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, &sk), 0);
}

/* The devnet genesis built in C: what configs/devnet/genesis.json must say. */
static void build_devnet(rp_genesis *g)
{
    memset(g, 0, sizeof *g);
    strcpy(g->chain_name, "repute-devnet");
    g->genesis_time = 1790000000;
    g->nvalidators = 1;
    derived_key(&g->validators[0].pubkey, 0x01, 0);
    g->validators[0].power = 1;
    strcpy(g->validators[0].name, "val-0");
    g->npretrusted = 1;
    derived_key(&g->pretrusted[0], 0x01, 1);
    g->params = (rp_params){
        .block_interval_ms = 1000,
        .epoch_blocks = 20,
        .score_delay_blocks = 5,
        .max_block_records = 10000,
        .max_block_bytes = 4194304,
        .pow_difficulty = 8,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 2592000,
    };
}

/* Load a shipped config, check that it is in canonical form (exactly what
 * rp_genesis_to_json writes, plus a newline) and return it. */
static void load_config(rp_genesis *g, const char *rel)
{
    char path[4096], msg[512];
    size_t len;
    source_path(path, sizeof path, rel);
    int err = rp_genesis_load(g, path, msg, sizeof msg);
    ck_assert_msg(err == 0, "%s refused (%d): %s", path, err, msg);
    char *text = read_file(path, &len);
    char *again = rp_genesis_to_json(g);
    ck_assert_ptr_nonnull(again);
    ck_assert_uint_eq(len, strlen(again) + 1);
    ck_assert_int_eq(text[len - 1], '\n');
    text[len - 1] = '\0';
    ck_assert_str_eq(text, again);
    free(again);
    free(text);
}

/* ---- the shipped configs ---------------------------------------------------------- */

START_TEST(test_config_devnet)
{
    rp_genesis *g = new_genesis(), *want = new_genesis();
    char id[65];
    load_config(g, "configs/devnet/genesis.json");
    build_devnet(want);
    ck_assert(genesis_eq(g, want));
    ck_assert_uint_eq(rp_genesis_total_power(g), 1);
    ck_assert(rp_genesis_is_quorum(g, 1));
    ck_assert(!rp_genesis_is_quorum(g, 0));
    hex_id(id, g);
    ck_assert_str_eq(id, DEVNET_CHAIN_ID);
    free(want);
    free(g);
}
END_TEST

START_TEST(test_config_testnet4)
{
    rp_genesis *g = new_genesis();
    char id[65];
    load_config(g, "configs/testnet-4/genesis.json");
    ck_assert_str_eq(g->chain_name, "repute-testnet-4");
    ck_assert_uint_eq(g->nvalidators, 4);
    for (size_t i = 0; i < 4; i++) {
        rp_pubkey pk;
        char name[16];
        derived_key(&pk, 0x04, i);
        ck_assert_mem_eq(g->validators[i].pubkey.bytes, pk.bytes, 32);
        ck_assert_uint_eq(g->validators[i].power, 1);
        snprintf(name, sizeof name, "val-%zu", i);
        ck_assert_str_eq(g->validators[i].name, name);
    }
    ck_assert_uint_eq(g->npretrusted, 2);
    for (size_t i = 0; i < 2; i++) {
        rp_pubkey pk;
        derived_key(&pk, 0x04, 4 + i);
        ck_assert_mem_eq(g->pretrusted[i].bytes, pk.bytes, 32);
    }
    ck_assert_uint_eq(g->params.pow_difficulty, 10);
    ck_assert_uint_eq(g->params.epoch_blocks, 100);
    ck_assert_uint_eq(g->params.score_delay_blocks, 10);
    ck_assert_uint_eq(g->params.block_interval_ms, 1000);
    ck_assert_uint_eq(g->params.max_block_records, 10000);
    ck_assert_uint_eq(g->params.max_block_bytes, 4194304);
    ck_assert_uint_eq(g->params.review_half_life_days, 180);
    ck_assert_uint_eq(g->params.trust_damping_ppm, 150000);
    ck_assert_uint_eq(g->params.trust_max_iterations, 100);
    ck_assert_uint_eq(g->params.trust_tolerance_ppb, 10);
    ck_assert_uint_eq(g->params.time_tolerance_s, 600);
    ck_assert_uint_eq(g->params.max_engagement_ttl_s, 2592000);
    hex_id(id, g);
    ck_assert_str_eq(id, TESTNET4_CHAIN_ID);
    free(g);
}
END_TEST

/* The keys written into base_doc are the testnet seed's. */
START_TEST(test_test_keys_derive)
{
    static const char *const hex[] = {T0, T1, T2, T3, T4, T5};
    for (size_t i = 0; i < 6; i++) {
        rp_pubkey pk;
        char h[65];
        derived_key(&pk, 0x04, i);
        ck_assert_int_eq(rp_hex_encode(h, sizeof h, pk.bytes, 32), 0);
        ck_assert_str_eq(h, hex[i]);
    }
}
END_TEST

/* ---- round trips -------------------------------------------------------------------- */

START_TEST(test_json_roundtrip)
{
    rp_genesis *a = new_genesis(), *b = new_genesis();
    parse_ok(a, base_doc);
    ck_assert_str_eq(a->validators[2].name, "val-2");
    ck_assert_uint_eq(a->validators[1].power, 2);
    char *json = rp_genesis_to_json(a);
    ck_assert_ptr_nonnull(json);
    parse_ok(b, json);
    ck_assert(genesis_eq(a, b));
    /* And the text is a fixed point. */
    char *again = rp_genesis_to_json(b);
    ck_assert_str_eq(json, again);
    free(again);
    free(json);
    free(b);
    free(a);
}
END_TEST

START_TEST(test_binary_roundtrip)
{
    rp_genesis *a = new_genesis(), *b = new_genesis();
    unsigned char buf[RP_GENESIS_MAX_SIZE], again[RP_GENESIS_MAX_SIZE];
    size_t n = 0, m = 0;

    build_devnet(a);
    ck_assert_int_eq(rp_genesis_encode(a, buf, sizeof buf, &n), 0);
    /* 1 + (2+13) + 8 + 2 + (32+8+2+5) + 2 + 32 + 12*4 */
    ck_assert_uint_eq(n, 155);
    ck_assert_int_eq(buf[0], RP_GENESIS_VERSION);
    ck_assert_int_eq(rp_genesis_decode(b, buf, n), 0);
    ck_assert(genesis_eq(a, b));
    ck_assert_int_eq(rp_genesis_encode(b, again, sizeof again, &m), 0);
    ck_assert_uint_eq(m, n);
    ck_assert_mem_eq(again, buf, n);

    parse_ok(a, base_doc);
    ck_assert_int_eq(rp_genesis_encode(a, buf, sizeof buf, &n), 0);
    ck_assert_int_eq(rp_genesis_decode(b, buf, n), 0);
    ck_assert(genesis_eq(a, b));

    /* The output buffer is bounded. */
    ck_assert_int_eq(rp_genesis_encode(a, again, n - 1, &m), RP_ERR_BUFFER);
    ck_assert_uint_eq(m, 0);
    free(b);
    free(a);
}
END_TEST

/* The largest genesis encodes within RP_GENESIS_MAX_SIZE and round-trips. */
START_TEST(test_binary_largest)
{
    rp_genesis *a = new_genesis(), *b = new_genesis();
    static unsigned char buf[RP_GENESIS_MAX_SIZE];
    unsigned char seed[32];
    size_t n = 0;

    build_devnet(a);
    memset(a->chain_name, 'z', RP_CHAIN_NAME_MAX);
    memset(seed, 0x07, sizeof seed);
    a->nvalidators = RP_MAX_VALIDATORS;
    for (size_t i = 0; i < RP_MAX_VALIDATORS; i++) {
        rp_seckey sk;
        ck_assert_int_eq(rp_seckey_from_seed(&sk, seed, i), 0);
        ck_assert_int_eq(rp_pubkey_from_seckey(&a->validators[i].pubkey, &sk), 0);
        a->validators[i].power = UINT32_MAX;
        memset(a->validators[i].name, '~', RP_VALIDATOR_NAME_MAX);
    }
    a->npretrusted = RP_MAX_PRETRUSTED;
    for (size_t i = 0; i < RP_MAX_PRETRUSTED; i++) {
        rp_seckey sk;
        ck_assert_int_eq(rp_seckey_from_seed(&sk, seed, 1000 + i), 0);
        ck_assert_int_eq(rp_pubkey_from_seckey(&a->pretrusted[i], &sk), 0);
    }
    ck_assert_int_eq(rp_genesis_encode(a, buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(n, 1 + 66 + 8 + 2 + 128 * 74 + 2 + 256 * 32 + 48);
    ck_assert_int_eq(rp_genesis_decode(b, buf, n), 0);
    ck_assert(genesis_eq(a, b));
    /* The quorum arithmetic is exact at the largest total power. */
    uint64_t total = rp_genesis_total_power(a);
    ck_assert_uint_eq(total, (uint64_t)RP_MAX_VALIDATORS * UINT32_MAX);
    ck_assert(!rp_genesis_is_quorum(a, total * 2 / 3));
    ck_assert(rp_genesis_is_quorum(a, total * 2 / 3 + 1));
    /* ...and JSON carries it too. */
    char *json = rp_genesis_to_json(a);
    ck_assert_ptr_nonnull(json);
    parse_ok(b, json);
    ck_assert(genesis_eq(a, b));
    free(json);
    free(b);
    free(a);
}
END_TEST

START_TEST(test_binary_truncated_and_trailing)
{
    rp_genesis *a = new_genesis(), *b = new_genesis();
    unsigned char buf[RP_GENESIS_MAX_SIZE + 1];
    size_t n = 0;

    parse_ok(a, base_doc);
    ck_assert_int_eq(rp_genesis_encode(a, buf, sizeof buf, &n), 0);
    for (size_t i = 0; i < n; i++) {
        memset(b, 0xAB, sizeof *b);
        ck_assert_int_eq(rp_genesis_decode(b, buf, i), RP_ERR_TRUNCATED);
        ck_assert(is_zeroed(b));
    }
    buf[n] = 0;
    ck_assert_int_eq(rp_genesis_decode(b, buf, n + 1), RP_ERR_TRAILING);
    ck_assert(is_zeroed(b));
    ck_assert_int_eq(rp_genesis_decode(b, buf, RP_GENESIS_MAX_SIZE + 1), RP_ERR_TOO_LONG);
    free(b);
    free(a);
}
END_TEST

/* Offsets in the encoding of build_devnet (chain name "repute-devnet"). */
enum {
    OFF_VERSION = 0,
    OFF_NAME_LEN = 1,
    OFF_TIME = 16,
    OFF_NVAL = 24,
    OFF_POWER = 26 + 32,
    OFF_VNAME = 26 + 40 + 2, /* the name's bytes */
    OFF_NPRE = 26 + 47,
    OFF_PARAMS = 26 + 47 + 2 + 32,
};

static int decode_mutated(size_t off, unsigned char v)
{
    rp_genesis *a = new_genesis(), *b = new_genesis();
    unsigned char buf[RP_GENESIS_MAX_SIZE];
    size_t n = 0;
    build_devnet(a);
    ck_assert_int_eq(rp_genesis_encode(a, buf, sizeof buf, &n), 0);
    ck_assert_uint_lt(off, n);
    buf[off] = v;
    memset(b, 0xAB, sizeof *b);
    int err = rp_genesis_decode(b, buf, n);
    if (err)
        ck_assert(is_zeroed(b));
    free(b);
    free(a);
    return err;
}

START_TEST(test_binary_rejects)
{
    ck_assert_int_eq(decode_mutated(OFF_VERSION, 2), RP_ERR_BAD_VERSION);
    ck_assert_int_eq(decode_mutated(OFF_NAME_LEN, 0xFF), RP_ERR_TOO_LONG);   /* 0xFF0D > 64 */
    ck_assert_int_eq(decode_mutated(OFF_NVAL, 0x01), RP_ERR_TOO_LONG);       /* 257 validators */
    ck_assert_int_eq(decode_mutated(OFF_NPRE, 0x02), RP_ERR_TOO_LONG);       /* 513 keys */
    ck_assert_int_eq(decode_mutated(OFF_NAME_LEN + 2, 'R'), RP_ERR_GENESIS); /* "Repute-..." */
    ck_assert_int_eq(decode_mutated(OFF_VNAME + 1, 0), RP_ERR_GENESIS);      /* "v\0l-0" */
    ck_assert_int_eq(decode_mutated(OFF_VNAME, 0x7F), RP_ERR_GENESIS);       /* DEL */
    ck_assert_int_eq(decode_mutated(OFF_TIME, 0x40), RP_ERR_GENESIS);        /* beyond the year 9999 */
    ck_assert_int_eq(decode_mutated(OFF_POWER + 3, 1), RP_ERR_GENESIS);      /* power >= 2^32 */
    ck_assert_int_eq(decode_mutated(OFF_PARAMS + 4 * 5 + 3, 33), RP_ERR_GENESIS); /* pow 33 */
    ck_assert_int_eq(decode_mutated(OFF_PARAMS + 4 * 10, 1), RP_ERR_GENESIS);     /* 16 M s */
    /* A change that stays within the rules decodes (and is another chain). */
    ck_assert_int_eq(decode_mutated(OFF_PARAMS + 4 * 5 + 3, 9), 0);
}
END_TEST

/* ---- chain id ------------------------------------------------------------------------- */

START_TEST(test_chain_id_ignores_formatting)
{
    rp_genesis *g = new_genesis();
    char want[65], got[65];
    json_error_t jerr;

    parse_ok(g, base_doc);
    hex_id(want, g);

    /* Sorted keys, no white space at all. */
    json_t *root = json_loadb(base_doc, strlen(base_doc), 0, &jerr);
    ck_assert_ptr_nonnull(root);
    char *compact = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    ck_assert_ptr_nonnull(compact);
    ck_assert_ptr_null(strchr(compact, '\n'));
    ck_assert_ptr_nonnull(strstr(compact, "{\"chain_name\":\"repute-test\",\"genesis_time\""));
    ck_assert_ptr_nonnull(strstr(compact, "{\"name\":\"val-0\",\"power\":1,\"pubkey\""));
    parse_ok(g, compact);
    hex_id(got, g);
    ck_assert_str_eq(got, want);
    free(compact);

    /* Hand-reordered, tabs and CRLFs, upper-case hex. */
    char *upper = strdup(T1);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    char doc[4096];
    snprintf(doc, sizeof doc,
             "\r\n\t{ \"params\" :{\"max_engagement_ttl_s\":2592000,\"time_tolerance_s\":600,"
             "\"trust_tolerance_ppb\":10,\"trust_max_iterations\":100,\"trust_damping_ppm\":"
             "150000,\"review_half_life_days\":180,\"pow_difficulty\":8,\"max_block_bytes\":"
             "4194304,\"max_block_records\":10000,\"score_delay_blocks\":5,\"epoch_blocks\":20,"
             "\"block_interval_ms\":1000},\r\n"
             "\"pretrusted\":[ \"%s\" ,\n\"%s\"],\t\"validators\":[\n"
             "{\"name\":\"val-0\",\"pubkey\":\"%s\",\"power\":1},\n"
             "{\"power\":2,\"name\":\"val-1\",\"pubkey\":\"%s\"},\n"
             "{\"power\":3,\"pubkey\":\"%s\",\"name\":\"val-2\"}],\n"
             "\"genesis_time\" : 1790000000 , \"chain_name\":\"repute-test\" }\n\n",
             T4, T5, T0, upper, T2);
    free(upper);
    parse_ok(g, doc);
    hex_id(got, g);
    ck_assert_str_eq(got, want);
    free(g);
}
END_TEST

/* Any change to any field, every param included, changes the chain id. */
START_TEST(test_chain_id_changes)
{
    rp_genesis *base = new_genesis(), *g = new_genesis();
    char want[65], got[65];
    size_t nchanges = 0;

    parse_ok(base, base_doc);
    hex_id(want, base);

    for (int step = 0;; step++) {
        memcpy(g, base, sizeof *g);
        if (step < NPARAM_CASES) {
            /* Move each param by one, inside its range. rp_params is twelve
             * uint32_t in the order of param_cases. */
            long long hi = param_cases[step].hi ? param_cases[step].hi : BASE_EPOCH_BLOCKS;
            uint32_t v;
            unsigned char *at = (unsigned char *)&g->params + 4 * (size_t)step;
            memcpy(&v, at, 4);
            v = v < hi ? v + 1 : v - 1;
            memcpy(at, &v, 4);
        } else {
            switch (step - NPARAM_CASES) {
            case 0:
                g->chain_name[0] = 's';
                break;
            case 1:
                g->genesis_time++;
                break;
            case 2:
                g->validators[1].power++;
                break;
            case 3:
                g->validators[2].name[4] = '9';
                break;
            case 4:
                g->validators[0].pubkey = base->pretrusted[0];
                break;
            case 5:
                g->nvalidators = 2;
                break;
            case 6: /* order matters: validator indices are in commits */
                g->validators[0] = base->validators[1];
                g->validators[1] = base->validators[0];
                break;
            case 7:
                g->pretrusted[1] = base->validators[0].pubkey;
                break;
            case 8:
                g->npretrusted = 1;
                break;
            default:
                goto done;
            }
        }
        hex_id(got, g);
        ck_assert_msg(strcmp(got, want) != 0, "change %d left the chain id alone", step);
        nchanges++;
    }
done:
    ck_assert_uint_eq(nchanges, NPARAM_CASES + 9);
    free(g);
    free(base);
}
END_TEST

START_TEST(test_validators_hash)
{
    rp_genesis *g = new_genesis();
    rp_hash got, want, before;
    rp_th_ctx ctx;

    parse_ok(g, base_doc);
    rp_genesis_validators_hash(&got, g);
    /* Independently: TH(tag, u16 count || (pubkey || power u64) each). */
    rp_th_init(&ctx, "repute/validators/v1");
    const unsigned char count[2] = {0, 3};
    rp_th_update(&ctx, count, 2);
    for (size_t i = 0; i < 3; i++) {
        unsigned char power[8] = {0, 0, 0, 0, 0, 0, 0, (unsigned char)(i + 1)};
        rp_th_update(&ctx, g->validators[i].pubkey.bytes, 32);
        rp_th_update(&ctx, power, 8);
    }
    rp_th_final(&ctx, &want);
    ck_assert(rp_hash_eq(&got, &want));

    /* Names are not part of the set; powers are. */
    before = got;
    strcpy(g->validators[0].name, "renamed");
    rp_genesis_validators_hash(&got, g);
    ck_assert(rp_hash_eq(&got, &before));
    g->validators[0].power = 7;
    rp_genesis_validators_hash(&got, g);
    ck_assert(!rp_hash_eq(&got, &before));
    free(g);
}
END_TEST

/* ---- rejections: JSON --------------------------------------------------------------------------
 */

START_TEST(test_reject_duplicate_key)
{
    char *doc = subst(base_doc, "  \"genesis_time\": 1790000000,\n",
                      "  \"genesis_time\": 1790000000,\n  \"chain_name\": \"other\",\n");
    reject(doc, "line 4 column 14: duplicate object key near '\"chain_name\"'");
    free(doc);
    doc = subst(base_doc, "    \"pow_difficulty\": 8,\n",
                "    \"pow_difficulty\": 8,\n    \"epoch_blocks\": 20,\n");
    reject(doc, "line 17 column 18: duplicate object key near '\"epoch_blocks\"'");
    free(doc);
    /* Inside a validator, with the same value: still refused. */
    doc = subst(base_doc, "\"power\": 2,", "\"power\": 2, \"power\": 2,");
    reject_like(doc, "duplicate object key near '\"power\"'");
    free(doc);
}
END_TEST

START_TEST(test_reject_real)
{
    reject_subst("\"epoch_blocks\": 20", "\"epoch_blocks\": 20.0",
                 "params.epoch_blocks: must be an integer in 1..1000000");
    reject_subst("\"epoch_blocks\": 20", "\"epoch_blocks\": 2e1",
                 "params.epoch_blocks: must be an integer in 1..1000000");
    reject_subst("\"score_delay_blocks\": 5", "\"score_delay_blocks\": 5.5",
                 "params.score_delay_blocks: must be an integer in 1..epoch_blocks");
    reject_subst("\"power\": 2", "\"power\": 2.0",
                 "validators[1].power: must be an integer in 1..4294967295");
    reject_subst("1790000000", "1.79e9",
                 "genesis_time: must be an integer in 1..253402300799");
    /* Strings and booleans are not numbers either. */
    reject_subst("\"pow_difficulty\": 8", "\"pow_difficulty\": \"8\"",
                 "params.pow_difficulty: must be an integer in 0..32");
    reject_subst("\"pow_difficulty\": 8", "\"pow_difficulty\": true",
                 "params.pow_difficulty: must be an integer in 0..32");
    reject_subst("\"pow_difficulty\": 8", "\"pow_difficulty\": null",
                 "params.pow_difficulty: must be an integer in 0..32");
}
END_TEST

START_TEST(test_reject_negative)
{
    reject_subst("\"pow_difficulty\": 8", "\"pow_difficulty\": -1",
                 "params.pow_difficulty: must be an integer in 0..32");
    reject_subst("\"power\": 3", "\"power\": -3",
                 "validators[2].power: must be an integer in 1..4294967295");
    reject_subst("1790000000", "-1790000000",
                 "genesis_time: must be an integer in 1..253402300799");
}
END_TEST

/* Every param, just below its minimum and just above its maximum. */
START_TEST(test_reject_param_range)
{
    const param_case *c = &param_cases[_i / 2];
    const int above = _i % 2;
    char from[64], to[64], want[128];
    long long hi = c->hi ? c->hi : BASE_EPOCH_BLOCKS;

    snprintf(from, sizeof from, "\"%s\": %s", c->name, c->value);
    snprintf(to, sizeof to, "\"%s\": %lld", c->name, above ? hi + 1 : c->lo - 1);
    if (c->hi)
        snprintf(want, sizeof want, "params.%s: must be an integer in %lld..%lld", c->name, c->lo,
                 c->hi);
    else
        snprintf(want, sizeof want, "params.%s: must be an integer in %lld..epoch_blocks (%d)",
                 c->name, c->lo, BASE_EPOCH_BLOCKS);
    reject_subst(from, to, want);

    /* The bounds themselves are accepted. */
    rp_genesis *g = new_genesis();
    snprintf(to, sizeof to, "\"%s\": %lld", c->name, above ? hi : c->lo);
    char *doc = subst(base_doc, from, to);
    if (strcmp(c->name, "epoch_blocks") == 0 && !above) {
        char *tmp = subst(doc, "\"score_delay_blocks\": 5", "\"score_delay_blocks\": 1");
        free(doc);
        doc = tmp;
    }
    parse_ok(g, doc);
    free(doc);
    free(g);
}
END_TEST

START_TEST(test_reject_other_ranges)
{
    /* Too big for the field before any rule applies: the same message. */
    reject_subst("\"trust_max_iterations\": 100", "\"trust_max_iterations\": 4294967296",
                 "params.trust_max_iterations: must be an integer in 1..1000");
    reject_subst("\"score_delay_blocks\": 5", "\"score_delay_blocks\": 4294967296",
                 "params.score_delay_blocks: must be an integer in 1..epoch_blocks");
    /* Beyond jansson's integers: a syntax error, with a position. */
    reject_subst("\"epoch_blocks\": 20", "\"epoch_blocks\": 99999999999999999999",
                 "line 12 column 40: too big integer near '99999999999999999999'");
    reject_subst("\"power\": 1", "\"power\": 0",
                 "validators[0].power: must be an integer in 1..4294967295");
    reject_subst("\"power\": 1", "\"power\": 4294967296",
                 "validators[0].power: must be an integer in 1..4294967295");
    reject_subst("1790000000", "0", "genesis_time: must be an integer in 1..253402300799");
    reject_subst("1790000000", "253402300800",
                 "genesis_time: must be an integer in 1..253402300799");

    rp_genesis *g = new_genesis();
    char *doc = subst(base_doc, "\"power\": 1", "\"power\": 4294967295");
    parse_ok(g, doc);
    free(doc);
    doc = subst(base_doc, "1790000000", "253402300799");
    parse_ok(g, doc);
    free(doc);
    free(g);
}
END_TEST

START_TEST(test_reject_missing)
{
    reject_subst("  \"genesis_time\": 1790000000,\n", "", "genesis_time: missing");
    reject_subst("  \"chain_name\": \"repute-test\",\n", "", "chain_name: missing");
    reject_subst("    \"epoch_blocks\": 20,\n", "", "params.epoch_blocks: missing");
    reject_subst(",\n    \"max_engagement_ttl_s\": 2592000\n", "\n",
                 "params.max_engagement_ttl_s: missing");
    reject_subst(", \"name\": \"val-1\"", "", "validators[1].name: missing");
    reject_subst("\"pubkey\": \"" T2 "\", ", "", "validators[2].pubkey: missing");
    reject_subst("\"power\": 1, ", "", "validators[0].power: missing");
    reject_subst("  \"pretrusted\": [\"" T4 "\", \"" T5 "\"],\n", "", "pretrusted: missing");
    reject("{}", "chain_name: missing");
}
END_TEST

START_TEST(test_reject_unknown)
{
    reject_subst("  \"genesis_time\"", "  \"genesis_tme\": 1,\n  \"genesis_time\"",
                 "genesis_tme: unknown field");
    reject_subst("    \"epoch_blocks\": 20,\n",
                 "    \"epoch_blocks\": 20,\n    \"epoch_block\": 20,\n",
                 "params.epoch_block: unknown field");
    reject_subst("\"name\": \"val-2\"", "\"name\": \"val-2\", \"weight\": 1",
                 "validators[2].weight: unknown field");
    /* A hostile key is shortened and its control characters are masked. */
    reject_subst("  \"genesis_time\"",
                 "  \"\\u001b[31mred\\u0007aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1,\n"
                 "  \"genesis_time\"",
                 "?[31mred?aaaaaaaaaaaaaaaaaaaaaaa...: unknown field");
}
END_TEST

START_TEST(test_reject_bad_hex)
{
    const char *want = "validators[1].pubkey: must be a string of 64 hex characters (an "
                       "x-only public key)";
    char bad[80];

    strcpy(bad, T1);
    bad[10] = 'g';
    reject_subst(T1, bad, want);
    strcpy(bad, T1);
    bad[63] = '\0'; /* 63 digits */
    reject_subst(T1, bad, want);
    snprintf(bad, sizeof bad, "%s00", T1); /* 66 digits */
    reject_subst(T1, bad, want);
    snprintf(bad, sizeof bad, "0x%.62s", T1);
    reject_subst(T1, bad, want);
    snprintf(bad, sizeof bad, " %.63s", T1);
    reject_subst(T1, bad, want);
    reject_subst("\"" T1 "\"", "42", want);
    reject_subst("\"" T5 "\"", "[]",
                 "pretrusted[1]: must be a string of 64 hex characters (an x-only public key)");
}
END_TEST

START_TEST(test_reject_off_curve)
{
    reject_subst(T0, KEY_P, "validators[0].pubkey: not a valid x-only public key");
    reject_subst(T0, KEY_OFF_CURVE, "validators[0].pubkey: not a valid x-only public key");
    reject_subst(T5, KEY_OFF_CURVE, "pretrusted[1]: not a valid x-only public key");
    reject_subst(T4, "0000000000000000000000000000000000000000000000000000000000000000",
                 "pretrusted[0]: not a valid x-only public key");
}
END_TEST

START_TEST(test_reject_duplicate_validator)
{
    reject_subst("\"pubkey\": \"" T2, "\"pubkey\": \"" T0,
                 "validators[2].pubkey: duplicate of validators[0].pubkey");
    /* Upper-case hex is the same key. */
    reject_subst("\"pubkey\": \"" T2,
                 "\"pubkey\": \"D9E978F55AC7691A20603CFA87A649ED47EA4021B9B2D613D23DD4F08D04613B",
                 "validators[2].pubkey: duplicate of validators[1].pubkey");
}
END_TEST

START_TEST(test_reject_duplicate_pretrusted)
{
    reject_subst("\"" T4 "\", \"" T5 "\"", "\"" T4 "\", \"" T4 "\"",
                 "pretrusted[1]: duplicate of pretrusted[0]");
    /* A validator may also be pre-trusted. */
    rp_genesis *g = new_genesis();
    char *doc = subst(base_doc, "\"" T5 "\"]", "\"" T5 "\", \"" T0 "\"]");
    parse_ok(g, doc);
    ck_assert_uint_eq(g->npretrusted, 3);
    free(doc);
    free(g);
}
END_TEST

/* base_doc with the text from `first` up to and including `last` replaced. */
static char *replace_section(const char *first, const char *last, const char *to)
{
    const char *a = strstr(base_doc, first);
    ck_assert_ptr_nonnull(a);
    const char *b = strstr(a, last);
    ck_assert_ptr_nonnull(b);
    b += strlen(last);
    char *out = malloc(strlen(base_doc) + strlen(to) + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, base_doc, (size_t)(a - base_doc));
    strcpy(out + (a - base_doc), to);
    strcat(out, b);
    return out;
}

static void reject_section(const char *first, const char *last, const char *to, const char *want)
{
    char *doc = replace_section(first, last, to);
    reject(doc, want);
    free(doc);
}

START_TEST(test_reject_counts)
{
    const char *vmsg = "validators: must be an array of 1..128 entries";
    const char *pmsg = "pretrusted: must be an array of 1..256 entries";
    const char *vfirst = "  \"validators\": [", *vlast = "  ],\n";
    const char *pfirst = "  \"pretrusted\": [", *plast = "],\n";

    reject_section(vfirst, vlast, "  \"validators\": [],\n", vmsg);
    reject_section(vfirst, vlast, "  \"validators\": {\"x\": 1},\n", vmsg);
    reject_section(vfirst, vlast, "  \"validators\": null,\n", vmsg);
    reject_section(pfirst, plast, "  \"pretrusted\": [],\n", pmsg);
    reject_section(pfirst, plast, "  \"pretrusted\": \"" T4 "\",\n", pmsg);

    /* Too many: refused by count, before the entries are looked at. */
    char *many = malloc(200 * (RP_MAX_VALIDATORS + 2)), *p;
    ck_assert_ptr_nonnull(many);
    p = many + sprintf(many, "{\"chain_name\": \"x\", \"genesis_time\": 1, \"validators\": [");
    for (int i = 0; i <= RP_MAX_VALIDATORS; i++)
        p += sprintf(p, "%s{\"pubkey\": \"" T0 "\", \"power\": 1, \"name\": \"v\"}", i ? "," : "");
    strcpy(p, "]}");
    reject(many, vmsg);
    free(many);
    many = malloc(70 * (RP_MAX_PRETRUSTED + 2));
    ck_assert_ptr_nonnull(many);
    p = many + sprintf(many, "{\"chain_name\": \"x\", \"genesis_time\": 1, \"validators\": "
                             "[{\"pubkey\": \"" T0 "\", \"power\": 1, \"name\": \"v\"}], "
                             "\"pretrusted\": [");
    for (int i = 0; i <= RP_MAX_PRETRUSTED; i++)
        p += sprintf(p, "%s\"" T4 "\"", i ? "," : "");
    strcpy(p, "]}");
    reject(many, pmsg);
    free(many);

    /* Entries and params of the wrong type. */
    reject_subst("{\"pubkey\": \"" T1 "\", \"power\": 2, \"name\": \"val-1\"}", "\"" T1 "\"",
                 "validators[1]: must be an object with pubkey, power and name");
    reject_section("  \"params\": {", "  }\n", "  \"params\": [1]\n", "params: must be an object");
}
END_TEST

START_TEST(test_reject_chain_name)
{
    const char *want = "chain_name: must be 1..64 characters of [a-z0-9._-]";
    reject_subst("repute-test", "Repute-test", want);
    reject_subst("repute-test", "repute test", want);
    reject_subst("repute-test", "repute/test", want);
    reject_subst("repute-test", "r\\u00e9pute", want);
    reject_subst("\"repute-test\"", "\"\"", want);
    reject_subst("\"repute-test\"", "7", want);
    char name[80];
    memset(name, 'a', 65);
    name[65] = '\0';
    reject_subst("repute-test", name, want);
    /* 64 is fine, and so are all the allowed characters. */
    name[64] = '\0';
    rp_genesis *g = new_genesis();
    char *doc = subst(base_doc, "repute-test", name);
    parse_ok(g, doc);
    free(doc);
    doc = subst(base_doc, "repute-test", "a.b_c-0123456789");
    parse_ok(g, doc);
    free(doc);
    free(g);
}
END_TEST

START_TEST(test_reject_validator_name)
{
    const char *want = "validators[1].name: must be 1..32 printable ASCII characters";
    reject_subst("\"val-1\"", "\"abcdefghijklmnopqrstuvwxyz0123456\"", want); /* 33 */
    reject_subst("\"val-1\"", "\"\"", want);
    reject_subst("\"val-1\"", "\"val\\t1\"", want);
    reject_subst("\"val-1\"", "\"val\\u007f\"", want);
    reject_subst("\"val-1\"", "\"Zo\\u00eb\"", want);
    reject_subst("\"val-1\"", "1", want);
    rp_genesis *g = new_genesis();
    char *doc = subst(base_doc, "\"val-1\"", "\" ~Val 1 (main)! abcdefghijklmn\"");
    parse_ok(g, doc);
    ck_assert_str_eq(g->validators[1].name, " ~Val 1 (main)! abcdefghijklmn");
    free(doc);
    free(g);
}
END_TEST

START_TEST(test_reject_not_object)
{
    reject("[]", "genesis: must be a JSON object");
    reject("[{\"chain_name\": \"x\"}]", "genesis: must be a JSON object");
    reject("42", "line 1 column 2: '[' or '{' expected near '42'");
    reject("\"genesis\"", "line 1 column 9: '[' or '{' expected near '\"genesis\"'");
    reject("null", "line 1 column 4: '[' or '{' expected near 'null'");
}
END_TEST

START_TEST(test_reject_syntax)
{
    reject_subst("\"max_engagement_ttl_s\": 2592000\n", "\"max_engagement_ttl_s\": 2592000,\n",
                 "line 23 column 3: string or '}' expected near '}'");
    reject_subst("  }\n}\n", "  }\n} {}\n", "line 24 column 3: end of file expected near '{'");
    reject_doc(base_doc, 100, "line 5 column 19: premature end of input", 0);
    reject("", "line 1 column 0: '[' or '{' expected near end of file");
    reject_doc("{\"a\0\": 1}", 9, "line 1 column 3: ", 0);
    /* Invalid UTF-8, masked in the message. */
    reject_like("{\"chain_name\": \"\xff\xfe\"}", "line 1 column ");
    rp_genesis *g = new_genesis();
    char msg[256];
    const char *hostile = "{\"\x1b[2J\": \"\xff\"}";
    ck_assert_int_eq(rp_genesis_parse(g, hostile, strlen(hostile), msg, sizeof msg),
                     RP_ERR_GENESIS);
    for (const char *p = msg; *p; p++)
        ck_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7F);
    /* A message is truncated to the buffer, and no buffer is fine. */
    ck_assert_int_eq(rp_genesis_parse(g, "[]", 2, msg, 8), RP_ERR_GENESIS);
    ck_assert_str_eq(msg, "genesis");
    ck_assert_int_eq(rp_genesis_parse(g, "[]", 2, NULL, 0), RP_ERR_GENESIS);
    free(g);
}
END_TEST

START_TEST(test_reject_too_big)
{
    char path[] = "/tmp/rp-genesis-XXXXXX";
    char msg[512], want[600];
    rp_genesis *g = new_genesis();
    size_t len = strlen(base_doc);

    /* Exactly the limit is fine (white space padding), one byte more is not. */
    char *big = malloc(RP_GENESIS_MAX_JSON + 2);
    memset(big, ' ', RP_GENESIS_MAX_JSON + 1);
    memcpy(big, base_doc, len);
    big[RP_GENESIS_MAX_JSON + 1] = '\0';
    ck_assert_int_eq(rp_genesis_parse(g, big, RP_GENESIS_MAX_JSON, msg, sizeof msg), 0);
    reject_doc(big, RP_GENESIS_MAX_JSON + 1,
               "genesis: document is 1048577 bytes, more than the limit of 1048576", 1);

    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, big, RP_GENESIS_MAX_JSON), (ssize_t)RP_GENESIS_MAX_JSON);
    ck_assert_int_eq(rp_genesis_load(g, path, msg, sizeof msg), 0);
    ck_assert_int_eq(write(fd, " ", 1), 1);
    close(fd);
    ck_assert_int_eq(rp_genesis_load(g, path, msg, sizeof msg), RP_ERR_GENESIS);
    snprintf(want, sizeof want, "%s: larger than 1048576 bytes", path);
    ck_assert_str_eq(msg, want);
    ck_assert(is_zeroed(g));
    unlink(path);
    free(big);
    free(g);
}
END_TEST

START_TEST(test_load_errors)
{
    char path[] = "/tmp/rp-genesis-XXXXXX";
    char dir[] = "/tmp/rp-genesis-dir-XXXXXX";
    char msg[512], want[600];
    rp_genesis *g = new_genesis();

    memset(g, 0xAB, sizeof *g);
    ck_assert_int_eq(rp_genesis_load(g, "/nonexistent/genesis.json", msg, sizeof msg), -ENOENT);
    ck_assert_str_eq(msg, "cannot open /nonexistent/genesis.json: No such file or directory");
    ck_assert(is_zeroed(g));

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(rp_genesis_load(g, dir, msg, sizeof msg), -EISDIR);
    snprintf(want, sizeof want, "cannot read %s: Is a directory", dir);
    ck_assert_str_eq(msg, want);
    rmdir(dir);

    /* A parse error is prefixed with the file's name. */
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char *doc = subst(base_doc, "\"power\": 3", "\"power\": 0");
    ck_assert_int_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    free(doc);
    ck_assert_int_eq(rp_genesis_load(g, path, msg, sizeof msg), RP_ERR_GENESIS);
    snprintf(want, sizeof want, "%s: validators[2].power: must be an integer in 1..4294967295",
             path);
    ck_assert_str_eq(msg, want);
    unlink(path);
    free(g);
}
END_TEST

/* ---- rejections: hand-built structs -------------------------------------------------------------
 */

START_TEST(test_check_struct)
{
    rp_genesis *g = new_genesis();
    char msg[256];
    unsigned char buf[RP_GENESIS_MAX_SIZE];
    size_t n = 1;

    build_devnet(g);
    ck_assert_int_eq(rp_genesis_check(g, msg, sizeof msg), 0);
    ck_assert_int_eq(rp_genesis_check(g, NULL, 0), 0);

    /* An unterminated name is refused, not read past. */
    memset(g->validators[0].name, 'x', sizeof g->validators[0].name);
    ck_assert_int_eq(rp_genesis_check(g, msg, sizeof msg), RP_ERR_GENESIS);
    ck_assert_str_eq(msg, "validators[0].name: must be 1..32 printable ASCII characters");
    ck_assert_int_eq(rp_genesis_encode(g, buf, sizeof buf, &n), RP_ERR_GENESIS);
    ck_assert_uint_eq(n, 0);
    rp_hash id;
    ck_assert_int_eq(rp_genesis_chain_id(&id, g), RP_ERR_GENESIS);

    build_devnet(g);
    memset(g->chain_name, 'a', sizeof g->chain_name);
    ck_assert_int_eq(rp_genesis_check(g, msg, sizeof msg), RP_ERR_GENESIS);
    ck_assert_str_eq(msg, "chain_name: must be 1..64 characters of [a-z0-9._-]");

    build_devnet(g);
    g->nvalidators = RP_MAX_VALIDATORS + 1;
    ck_assert_int_eq(rp_genesis_check(g, msg, sizeof msg), RP_ERR_GENESIS);
    ck_assert_str_eq(msg, "validators: must be an array of 1..128 entries");

    build_devnet(g);
    g->npretrusted = 0;
    ck_assert_int_eq(rp_genesis_check(g, msg, sizeof msg), RP_ERR_GENESIS);
    ck_assert_str_eq(msg, "pretrusted: must be an array of 1..256 entries");

    build_devnet(g);
    g->params.epoch_blocks = 4;
    ck_assert_int_eq(rp_genesis_check(g, msg, sizeof msg), RP_ERR_GENESIS);
    ck_assert_str_eq(msg, "params.score_delay_blocks: must be an integer in 1..epoch_blocks (4)");
    free(g);
}
END_TEST

/* ---- quorum and lookup ---------------------------------------------------------------------- */

START_TEST(test_quorum)
{
    rp_genesis *g = new_genesis();
    char path[4096], msg[512];

    source_path(path, sizeof path, "configs/testnet-4/genesis.json");
    ck_assert_int_eq(rp_genesis_load(g, path, msg, sizeof msg), 0);
    ck_assert_uint_eq(rp_genesis_total_power(g), 4);
    ck_assert(rp_genesis_is_quorum(g, 4));
    ck_assert(rp_genesis_is_quorum(g, 3));
    ck_assert(!rp_genesis_is_quorum(g, 2));
    ck_assert(!rp_genesis_is_quorum(g, 0));

    g->validators[3].power = 3; /* 1, 1, 1, 3: total 6 */
    ck_assert_uint_eq(rp_genesis_total_power(g), 6);
    ck_assert(!rp_genesis_is_quorum(g, 4)); /* 4*3 = 12, not > 12 */
    ck_assert(rp_genesis_is_quorum(g, 5));
    ck_assert(rp_genesis_is_quorum(g, 6));
    ck_assert(rp_genesis_is_quorum(g, UINT64_MAX)); /* no overflow */

    g->nvalidators = 0;
    ck_assert(!rp_genesis_is_quorum(g, 1));
    free(g);
}
END_TEST

START_TEST(test_validator_index)
{
    rp_genesis *g = new_genesis();
    rp_pubkey pk;
    char path[4096], msg[512];

    source_path(path, sizeof path, "configs/testnet-4/genesis.json");
    ck_assert_int_eq(rp_genesis_load(g, path, msg, sizeof msg), 0);
    for (int i = 0; i < 4; i++) {
        derived_key(&pk, 0x04, (uint64_t)i);
        ck_assert_int_eq(rp_genesis_validator_index(g, &pk), i);
    }
    derived_key(&pk, 0x04, 4); /* pre-trusted, not a validator */
    ck_assert_int_eq(rp_genesis_validator_index(g, &pk), -1);
    memset(pk.bytes, 0, sizeof pk.bytes);
    ck_assert_int_eq(rp_genesis_validator_index(g, &pk), -1);
    free(g);
}
END_TEST

static Suite *genesis_suite(void)
{
    Suite *s = suite_create("genesis");
    TCase *tc;

    tc = tcase_create("configs");
    tcase_add_test(tc, test_config_devnet);
    tcase_add_test(tc, test_config_testnet4);
    tcase_add_test(tc, test_test_keys_derive);
    suite_add_tcase(s, tc);

    tc = tcase_create("json_roundtrip");
    tcase_add_test(tc, test_json_roundtrip);
    suite_add_tcase(s, tc);

    tc = tcase_create("binary");
    tcase_add_test(tc, test_binary_roundtrip);
    tcase_add_test(tc, test_binary_largest);
    tcase_add_test(tc, test_binary_truncated_and_trailing);
    tcase_add_test(tc, test_binary_rejects);
    suite_add_tcase(s, tc);

    tc = tcase_create("chain_id");
    tcase_add_test(tc, test_chain_id_ignores_formatting);
    tcase_add_test(tc, test_chain_id_changes);
    tcase_add_test(tc, test_validators_hash);
    suite_add_tcase(s, tc);

    tc = tcase_create("reject_duplicate_key");
    tcase_add_test(tc, test_reject_duplicate_key);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_real");
    tcase_add_test(tc, test_reject_real);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_negative");
    tcase_add_test(tc, test_reject_negative);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_range");
    tcase_add_loop_test(tc, test_reject_param_range, 0, 2 * NPARAM_CASES);
    tcase_add_test(tc, test_reject_other_ranges);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_missing");
    tcase_add_test(tc, test_reject_missing);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_unknown");
    tcase_add_test(tc, test_reject_unknown);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_keys");
    tcase_add_test(tc, test_reject_bad_hex);
    tcase_add_test(tc, test_reject_off_curve);
    tcase_add_test(tc, test_reject_duplicate_validator);
    tcase_add_test(tc, test_reject_duplicate_pretrusted);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_counts");
    tcase_add_test(tc, test_reject_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_names");
    tcase_add_test(tc, test_reject_chain_name);
    tcase_add_test(tc, test_reject_validator_name);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject_document");
    tcase_add_test(tc, test_reject_not_object);
    tcase_add_test(tc, test_reject_syntax);
    tcase_add_test(tc, test_reject_too_big);
    tcase_add_test(tc, test_load_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("check_struct");
    tcase_add_test(tc, test_check_struct);
    suite_add_tcase(s, tc);

    tc = tcase_create("quorum");
    tcase_add_test(tc, test_quorum);
    tcase_add_test(tc, test_validator_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "rp_crypto_init failed\n");
        return 1;
    }
    SRunner *sr = srunner_create(genesis_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
