/* Shared by the record suites (test_records.c, test_record_types.c): the
 * known-answer seed and chain, and one deterministic, fully signed example
 * record per form (docs/records.md shows them). Every function fails the
 * current Check test instead of returning an error.
 */
#ifndef RP_TESTS_RECORD_EXAMPLES_H
#define RP_TESTS_RECORD_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/record.h"

enum { N_EXAMPLES = 9, EX_AUDIENCE = 8 };

/* The examples' names, as in tests/vectors/records.txt. */
extern const char *const example_names[N_EXAMPLES];
/* The seed a0 a1 .. bf and chain id TH("repute/genesis/v1", "repute-kat"),
 * set by setup_globals (call once before anything else). */
extern unsigned char seed[32];
extern rp_hash chain_id;
void setup_globals(void);

/* Key i of the seed. Key 0 is a talent, 1 a brand, 2 a new key, 3 a
 * recovery key, 4 a validator. */
void key(size_t i, rp_seckey *sk, rp_pubkey *pk);
/* All 32 bytes of h set to v. */
void fill(rp_hash *h, unsigned char v);
/* Sign r's slot with key keyidx and the aux randomness of counter. */
void sign_slot(rp_record *r, size_t slot, size_t keyidx, uint64_t counter);
/* Example which (0..N_EXAMPLES-1), fully signed. */
void build_example(size_t which, rp_record *r);
/* The EVIDENCE example: validator key 4, nil against all 0x77, height 41,
 * round 2, precommits. */
void build_evidence(rp_record *r);
/* Encode r (which must be valid) into buf[RP_RECORD_MAX_SIZE]; its length. */
size_t encode(const rp_record *r, unsigned char *buf);
/* Decode, expecting the error want (0: success) at want_field (NULL: any),
 * and a zeroed record on failure. */
void expect_decode(const unsigned char *buf, size_t n, int want, const char *want_field);

#endif
