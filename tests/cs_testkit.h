/* Shared by the consensus suites (test_consensus, test_engine,
 * test_cs_scenarios): keys and signatures from a fixed seed, small
 * constructors of votes and proposals at height 1, and the common main.
 * Every function fails the current test (ck_assert) rather than return an
 * error. */
#ifndef RP_TESTS_CS_TESTKIT_H
#define RP_TESTS_CS_TESTKIT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/engine.h"
#include "consensus/types.h"

extern unsigned char seed[32];
extern rp_hash chain_id;
extern uint64_t aux_counter;
extern const rp_hash NIL; /* all zero */

/* A hash of 32 bytes b. */
rp_hash hsh(unsigned char b);
int heq(const rp_hash *a, const rp_hash *b);
/* Validator key i, derived from the seed. */
void key(size_t i, rp_seckey *sk, rp_pubkey *pk);
void sign_vote(rp_cs_vote *v, const rp_seckey *sk);
void sign_proposal(rp_cs_proposal *p, const rp_seckey *sk);
/* Unsigned values at height 1. */
rp_cs_vote mkvote(uint8_t type, uint32_t round, uint16_t who, rp_hash h);
rp_cs_proposal mkprop(uint32_t round, int32_t pol, uint16_t who, rp_hash h);

/* Keys of four validators for evidence tests (ev_keys fills them). */
#define NK 4
extern rp_seckey ev_sk[NK];
extern rp_pubkey ev_pk[NK];
void ev_keys(void);

/* Initialise crypto, the seed and the chain id, run the suite.
 * Returns: the process exit status. */
int cs_test_main(Suite *s);

#endif
