/* The consensus suites' shared helpers (tests/cs_testkit.h). */
#include "tests/cs_testkit.h"

#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "ledger/block.h"
#include "ledger/genesis.h"

unsigned char seed[32];
rp_hash chain_id;
uint64_t aux_counter;

rp_hash hsh(unsigned char b)
{
    rp_hash h;
    memset(h.bytes, b, sizeof h.bytes);
    return h;
}

const rp_hash NIL; /* all zero */

int heq(const rp_hash *a, const rp_hash *b)
{
    return memcmp(a->bytes, b->bytes, 32) == 0;
}

void key(size_t i, rp_seckey *sk, rp_pubkey *pk)
{
    ck_assert_int_eq(rp_seckey_from_seed(sk, seed, 200 + i), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, sk), 0);
}

void sign_vote(rp_cs_vote *v, const rp_seckey *sk)
{
    rp_hash msg;
    unsigned char aux[32];
    rp_vote_message(&msg, &chain_id, v->height, v->round, v->type, &v->block_hash);
    rp_aux_derive(aux, seed, aux_counter++);
    ck_assert_int_eq(rp_sign(&v->sig, msg.bytes, 32, sk, aux), 0);
}

void sign_proposal(rp_cs_proposal *p, const rp_seckey *sk)
{
    rp_hash msg;
    unsigned char aux[32];
    rp_cs_proposal_message(&msg, &chain_id, p);
    rp_aux_derive(aux, seed, aux_counter++);
    ck_assert_int_eq(rp_sign(&p->sig, msg.bytes, 32, sk, aux), 0);
}

rp_cs_vote mkvote(uint8_t type, uint32_t round, uint16_t who, rp_hash h)
{
    rp_cs_vote v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = 1;
    v.round = round;
    v.block_hash = h;
    v.validator = who;
    return v;
}

rp_cs_proposal mkprop(uint32_t round, int32_t pol, uint16_t who, rp_hash h)
{
    rp_cs_proposal p;
    memset(&p, 0, sizeof p);
    p.height = 1;
    p.round = round;
    p.pol_round = pol;
    p.block_hash = h;
    p.proposer = who;
    return p;
}

rp_seckey ev_sk[NK];
rp_pubkey ev_pk[NK];

void ev_keys(void)
{
    for (size_t i = 0; i < NK; i++)
        key(i, &ev_sk[i], &ev_pk[i]);
}

int cs_test_main(Suite *s)
{
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "rp_crypto_init failed\n");
        return 1;
    }
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0xC0 + i);
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-consensus", 16);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
