/* A small throwaway chain for the Check suites (test_ledger, test_replay).
 *
 * fx_setup gives each test a fresh temporary folder holding a ledger with a
 * one-validator genesis, and reproducible keys derived from a seed; the
 * record builders below make records the way a node's users do, signed with
 * those keys, and fx_produce puts them in a block exactly as a node does
 * (encoded, prepared, signed by the validator, applied).
 *
 * The fixture's state is the global fx, one per test process: Check runs
 * every test in a forked child, so each test starts from fx_setup's state.
 * Tests read it freely and may change fx.st (close and reopen the store) and
 * fx.now_s; fx_teardown cleans up whatever is left there.
 *
 * Key indices: 0 is the validator, 1.. the identities a suite registers;
 * FX_NKEYS - 1 is conventionally the recovery key. Record builders take an
 * identity index i and use fx.pk[i] as the issuer and fx.sk[i] to sign.
 *
 * Every function fails the current test (ck_assert) instead of returning an
 * error, except fx_produce, whose result is the point.
 */
#ifndef RP_TESTS_CHAIN_FIXTURE_H
#define RP_TESTS_CHAIN_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/epoch.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/store.h"

#define FX_T0    1790000000ULL /* genesis time, seconds */
#define FX_NKEYS 12

typedef struct fx_config {
    const char *chain_name; /* the genesis chain name */
    unsigned char seed0;    /* the key seed is seed0, seed0 + 1, ..., seed0 + 31 */
    /* The test's work folder is mkdtemp(dir_prefix "XXXXXX"), e.g.
     * "/tmp/rp-test-ledger-". */
    const char *dir_prefix;
    /* NULL: the ledger lives in the work folder itself; else in
     * work/datadir_sub, created by fx_setup. */
    const char *datadir_sub;
} fx_config;

typedef struct fx_state {
    unsigned char seed[32]; /* keys and signature aux randomness derive from it */
    rp_seckey sk[FX_NKEYS];
    rp_pubkey pk[FX_NKEYS];
    rp_genesis *gen;  /* owned by the fixture (malloc'd), freed by fx_teardown */
    char work[64];    /* the test's temporary folder, removed by fx_teardown */
    char datadir[96]; /* the ledger's datadir: work, or a folder inside it */
    rp_store *st;     /* open read-write after fx_setup; may be NULL */
    uint64_t now_s;   /* the block clock, seconds; fx_produce advances it */
    uint64_t counter; /* aux randomness counter, one per signature */
} fx_state;

extern fx_state fx;

/* Derive the keys, build the genesis, create the work folder and the ledger
 * in fx.datadir (open in fx.st); the clock starts at FX_T0 + 10.
 * cfg and its strings are only read during the call. */
void fx_setup(const fx_config *cfg);

/* Close fx.st if open, free the genesis, remove the work folder and
 * everything in it. Usable directly as a Check teardown. */
void fx_teardown(void);

/* The chain id of the open store (fx.st must be open); borrowed from the
 * store, valid until it is closed. */
const rp_hash *fx_chain(void);

/* A record skeleton: type, issuer fx.pk[i], sequence seq, time fx.now_s;
 * everything else zero, unsigned. */
rp_record fx_base(unsigned type, size_t i, uint64_t seq);

/* Sign r's signature slot with fx.sk[keyidx], on the current chain. */
void fx_sign(rp_record *r, size_t slot, size_t keyidx);

/* A registration (sequence 1) of identity i: role, name "<name_prefix> <i>",
 * recovery commitment to *recovery (none if NULL); proof of work solved at
 * the genesis difficulty, signed by i. */
rp_record fx_identity(size_t i, const rp_pubkey *recovery, uint8_t role, const char *name_prefix);

/* An engagement of kind between a (issuer, sequence seq) and b, expiring an
 * hour from fx.now_s, terms all 7s; signed by a (slot 0) and b (slot 1). */
rp_record fx_engagement(size_t a, uint64_t seq, size_t b, uint8_t kind);

/* A review by from (sequence seq) of to under engagement *eng, with overall
 * stars and no dimension ratings; signed by from. */
rp_record fx_review(size_t from, uint64_t seq, size_t to, const rp_hash *eng, uint8_t stars);

/* A RP_VOUCH_REPRESENTS vouch by from (sequence seq) for to; signed by from. */
rp_record fx_vouch(size_t from, uint64_t seq, size_t to);

/* The record's id on the current chain. */
rp_hash fx_id(const rp_record *r);

/* Produce one block of n (at most 16) records at fx.now_s + 5 seconds
 * (fx.now_s advances even if the block is refused), signed by the validator.
 * Returns the store's result: 0, or the code of the rule that refused the
 * block, with the details in *err (err must not be NULL). */
int fx_produce(const rp_record *recs, size_t n, rp_store_error *err);

/* fx_produce, and fail the test unless the block was accepted. */
void fx_ok(const rp_record *recs, size_t n);

#endif
