/* Genesis: the chain's founding document.
 *
 * A genesis file is JSON (parsed with jansson, duplicate keys rejected, every
 * number a JSON integer: no reals, fractions in parts per million). Its
 * canonical binary encoding, not the JSON text, defines the chain:
 *     chain id = TH("repute/genesis/v1", rp_genesis_encode(g)),
 * so whitespace, key order or a reformatted file never change the chain.
 *
 * JSON shape (docs/genesis.md is the reference; configs/devnet/genesis.json an
 * example):
 *   {
 *     "chain_name": "repute-devnet",            1..64 bytes, [a-z0-9._-]
 *     "genesis_time": 1790000000,               unix seconds, 1 .. 253402300799 (year 9999)
 *     "validators": [ {"pubkey": "<64 hex>", "power": 1, "name": "val-0"} ],
 *     "pretrusted": [ "<64 hex>", ... ],        at least one
 *     "params": {
 *       "block_interval_ms": 1000,              100 .. 600000
 *       "epoch_blocks": 100,                    1 .. 1000000
 *       "score_delay_blocks": 10,               1 .. epoch_blocks
 *       "max_block_records": 10000,             1 .. 100000
 *       "max_block_bytes": 4194304,             4096 .. 4194304 (the frame limit)
 *       "pow_difficulty": 8,                    0 .. 32
 *       "review_half_life_days": 180,           1 .. 36500
 *       "trust_damping_ppm": 150000,            1 .. 999999 (restart weight)
 *       "trust_max_iterations": 100,            1 .. 1000
 *       "trust_tolerance_ppb": 1,               1 .. 1000000 (L1 change, 1e-9 units)
 *       "time_tolerance_s": 600,                0 .. 86400
 *       "max_engagement_ttl_s": 2592000         60 .. 31536000
 *     }
 *   }
 * Validators: 1..RP_MAX_VALIDATORS, distinct keys, power 1..2^32-1, name 1..32
 * bytes of printable ASCII. Pre-trusted: 1..RP_MAX_PRETRUSTED distinct keys.
 * Unknown keys anywhere are refused: a typo must not silently fall back to a
 * default in a document that defines consensus.
 */
#ifndef RP_GENESIS_H
#define RP_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"

#define RP_GENESIS_VERSION 1
#define RP_CHAIN_NAME_MAX 64
#define RP_VALIDATOR_NAME_MAX 32
#define RP_MAX_VALIDATORS 128
#define RP_MAX_PRETRUSTED 256
#define RP_MAX_BLOCK_BYTES_LIMIT (4u << 20) /* the network's frame limit */
#define RP_GENESIS_MAX_JSON (1u << 20)      /* refuse larger files unread */
#define RP_GENESIS_MAX_SIZE 65536           /* bound on the binary encoding */

/* Tag of the validator-set hash (rp_genesis_validators_hash). */

typedef struct rp_validator {
    rp_pubkey pubkey;
    uint64_t power;
    char name[RP_VALIDATOR_NAME_MAX + 1];
} rp_validator;

typedef struct rp_params {
    uint32_t block_interval_ms;
    uint32_t epoch_blocks;
    uint32_t score_delay_blocks;
    uint32_t max_block_records;
    uint32_t max_block_bytes;
    uint32_t pow_difficulty;
    uint32_t review_half_life_days;
    uint32_t trust_damping_ppm;
    uint32_t trust_max_iterations;
    uint32_t trust_tolerance_ppb;
    uint32_t time_tolerance_s;
    uint32_t max_engagement_ttl_s;
} rp_params;

typedef struct rp_genesis {
    char chain_name[RP_CHAIN_NAME_MAX + 1];
    uint64_t genesis_time;
    size_t nvalidators;
    rp_validator validators[RP_MAX_VALIDATORS];
    size_t npretrusted;
    rp_pubkey pretrusted[RP_MAX_PRETRUSTED];
    rp_params params;
} rp_genesis;

/* Parse and check a genesis document.
 * Returns: 0, or RP_ERR_GENESIS with a message in errbuf naming the field
 *          (e.g. "params.epoch_blocks: must be an integer in 1..1000000").
 *          g is zeroed on failure.
 * Out:     g; errbuf[0..errlen): NUL-terminated message (may be NULL if errlen is 0).
 * In:      json, len: the document (untrusted; need not be NUL-terminated).
 */
int rp_genesis_parse(rp_genesis *g, const char *json, size_t len, char *errbuf, size_t errlen);

/* Read a file (at most RP_GENESIS_MAX_JSON bytes) and parse it.
 * Returns: 0, -errno from the file system (message in errbuf), or RP_ERR_GENESIS. */
int rp_genesis_load(rp_genesis *g, const char *path, char *errbuf, size_t errlen);

/* Check a parsed or hand-built genesis against every rule above.
 * Returns: 0 or RP_ERR_GENESIS (message in errbuf). */
int rp_genesis_check(const rp_genesis *g, char *errbuf, size_t errlen);

/* Write the document as canonical, pretty-printed JSON (keys in the order
 * above). Returns: a malloc'd NUL-terminated string the caller frees, or NULL
 * if out of memory. */
char *rp_genesis_to_json(const rp_genesis *g);

/* The canonical binary encoding (layout in docs/genesis.md).
 * Returns: 0, RP_ERR_BUFFER, or an error of rp_genesis_check.
 * Out: out[0..*len). In: cap (RP_GENESIS_MAX_SIZE is always enough). */
int rp_genesis_encode(const rp_genesis *g, unsigned char *out, size_t cap, size_t *len);

/* Decode the canonical binary encoding (as stored in a datadir's meta table),
 * with every check of rp_genesis_check.
 * Returns: 0 or a codec error (RP_ERR_TRUNCATED, ...) or RP_ERR_GENESIS. */
int rp_genesis_decode(rp_genesis *g, const unsigned char *in, size_t len);

/* chain id = TH(RP_TAG_GENESIS, rp_genesis_encode(g)).
 * Returns: 0 or an error of rp_genesis_encode. */
int rp_genesis_chain_id(rp_hash *id, const rp_genesis *g);

/* The validator-set hash that block headers carry:
 * TH(RP_TAG_VALIDATORS, u16 count || (pubkey 32 || power u64) each).
 * This and the three functions below expect a g that passed rp_genesis_check. */
void rp_genesis_validators_hash(rp_hash *out, const rp_genesis *g);

/* Total voting power, and whether `power` is more than two thirds of it
 * (is_quorum returns 1 or 0; 0 for an empty set). */
uint64_t rp_genesis_total_power(const rp_genesis *g);
int rp_genesis_is_quorum(const rp_genesis *g, uint64_t power);

/* Index of a validator by key. Returns: the index, or -1. */
int rp_genesis_validator_index(const rp_genesis *g, const rp_pubkey *pk);

#endif /* RP_GENESIS_H */
