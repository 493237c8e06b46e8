/* The example records both record suites build (test_records.c, the
 * formats; test_record_types.c, EVIDENCE and AUDIENCE): deterministic keys,
 * signatures and bodies, so that tests/vectors/records.txt can pin them.
 */
#include "record_examples.h"

#include <check.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/evidence.h"

const char *const example_names[N_EXAMPLES] = {
    "identity", "identity_update", "engagement",      "review",   "vouch",
    "revoke",   "rotate",          "rotate_recovery", "audience",
};

unsigned char seed[32];
rp_hash chain_id;

void setup_globals(void)
{
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0xA0 + i);
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-kat", 10);
}

void key(size_t i, rp_seckey *sk, rp_pubkey *pk)
{
    ck_assert_int_eq(rp_seckey_from_seed(sk, seed, i), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, sk), 0);
}

void fill(rp_hash *h, unsigned char v)
{
    memset(h->bytes, v, sizeof h->bytes);
}

void sign_slot(rp_record *r, size_t slot, size_t keyidx, uint64_t counter)
{
    rp_seckey sk;
    rp_pubkey pk;
    unsigned char aux[32];
    key(keyidx, &sk, &pk);
    rp_aux_derive(aux, seed, counter);
    ck_assert_int_eq(rp_record_sign(r, slot, &chain_id, &sk, aux), 0);
}

/* Deterministic example records, one or two per type, fully signed. Key 0 is
 * a talent, key 1 a brand, key 2 a new key, key 3 a recovery key. */
void build_example(size_t which, rp_record *r)
{
    rp_seckey sk;
    rp_pubkey talent, brand, fresh, recovery;
    key(0, &sk, &talent);
    key(1, &sk, &brand);
    key(2, &sk, &fresh);
    key(3, &sk, &recovery);

    memset(r, 0, sizeof *r);
    r->version = RP_RECORD_VERSION;
    r->issuer = talent;
    r->time = 1790000000;
    switch (which) {
    case 0: /* identity: registration with a stamp */
    case 1: /* identity_update */
        r->type = RP_REC_IDENTITY;
        r->seq = which == 0 ? 1 : 5;
        r->body.identity.role = RP_ROLE_TALENT;
        strcpy(r->body.identity.name, "Zoë Okafor");
        r->body.identity.name_len = (uint8_t)strlen(r->body.identity.name);
        fill(&r->body.identity.profile, 0x11);
        rp_recovery_commitment(&r->body.identity.recovery, &recovery);
        if (which == 0)
            ck_assert_int_eq(rp_identity_pow_solve(r, &chain_id, 8, 1u << 20), 0);
        sign_slot(r, 0, 0, which);
        break;
    case 2:
        r->type = RP_REC_ENGAGEMENT;
        r->seq = 2;
        r->body.engagement.counterparty = brand;
        r->body.engagement.kind = RP_ENG_SPONSORSHIP;
        fill(&r->body.engagement.terms, 0x22);
        r->body.engagement.expiry = 1790086400;
        sign_slot(r, 0, 0, 20);
        sign_slot(r, 1, 1, 21);
        break;
    case 3: {
        rp_record eng;
        build_example(2, &eng);
        r->type = RP_REC_REVIEW;
        r->issuer = brand;
        r->seq = 2;
        ck_assert_int_eq(rp_record_id(&r->body.review.engagement, &chain_id, &eng), 0);
        r->body.review.subject = talent;
        r->body.review.overall = 5;
        r->body.review.dims[RP_DIM_QUALITY] = 5;
        r->body.review.dims[RP_DIM_RELIABILITY] = 4;
        r->body.review.dims[RP_DIM_PAYMENT] = 0;
        fill(&r->body.review.comment, 0x33);
        sign_slot(r, 0, 1, 30);
        break;
    }
    case 4:
        r->type = RP_REC_VOUCH;
        r->issuer = brand;
        r->seq = 3;
        r->body.vouch.subject = talent;
        r->body.vouch.relation = RP_VOUCH_WORKED_WITH;
        sign_slot(r, 0, 1, 40);
        break;
    case 5:
        r->type = RP_REC_REVOKE;
        r->issuer = brand;
        r->seq = 4;
        fill(&r->body.revoke.target, 0x44);
        r->body.revoke.reason = RP_REVOKE_RESOLVED;
        sign_slot(r, 0, 1, 50);
        break;
    case 6:
    case 7:
        r->type = RP_REC_ROTATE;
        r->seq = 3;
        r->body.rotate.new_key = fresh;
        fill(&r->body.rotate.new_recovery, 0x55);
        if (which == 6) {
            r->body.rotate.auth = RP_ROTATE_BY_CURRENT;
            sign_slot(r, 0, 0, 60);
        } else {
            r->body.rotate.auth = RP_ROTATE_BY_RECOVERY;
            r->body.rotate.recovery_key = recovery;
            sign_slot(r, 0, 3, 70);
        }
        break;
    case EX_AUDIENCE: /* the worked example of docs/records.md */
        r->type = RP_REC_AUDIENCE;
        r->issuer = brand;
        r->seq = 5;
        r->body.audience.subject = talent;
        r->body.audience.platform = RP_PLATFORM_TIKTOK;
        strcpy(r->body.audience.handle, "zoe.okafor");
        r->body.audience.handle_len = 10;
        r->body.audience.followers = 182400;
        r->body.audience.authentic_ppm = 874000;
        r->body.audience.engagement_ppm = 61500;
        r->body.audience.period_start = 1787400000;
        r->body.audience.period_end = 1789920000;
        r->body.audience.expiry = 1797776000;
        sign_slot(r, 0, 1, 90);
        break;
    default:
        ck_abort_msg("no example %zu", which);
    }
}

/* The EVIDENCE example (docs/records.md): validator key 4 precommitted
 * both nil and a block (all 0x77) at height 41, round 2. */
void build_evidence(rp_record *r)
{
    rp_seckey sk;
    rp_pubkey validator;
    rp_hash nil, block, msg;
    rp_sig sig_nil, sig_block;
    unsigned char aux[32];
    key(4, &sk, &validator);
    memset(nil.bytes, 0, 32);
    fill(&block, 0x77);
    rp_vote_message(&msg, &chain_id, 41, 2, RP_VOTE_PRECOMMIT, &block);
    rp_aux_derive(aux, seed, 80);
    ck_assert_int_eq(rp_sign(&sig_block, msg.bytes, 32, &sk, aux), 0);
    rp_vote_message(&msg, &chain_id, 41, 2, RP_VOTE_PRECOMMIT, &nil);
    rp_aux_derive(aux, seed, 81);
    ck_assert_int_eq(rp_sign(&sig_nil, msg.bytes, 32, &sk, aux), 0);
    /* Given in the "wrong" order: the builder puts nil (the smaller) first. */
    ck_assert_int_eq(rp_evidence_make(r, &validator, RP_VOTE_PRECOMMIT, 41, 2, &block, &sig_block,
                                      &nil, &sig_nil),
                     0);
}

size_t encode(const rp_record *r, unsigned char *buf)
{
    size_t n = 0;
    ck_assert_int_eq(rp_record_encode(r, buf, RP_RECORD_MAX_SIZE, &n), 0);
    return n;
}

/* Decode, expecting a given error (0 for success) at a given field. */
void expect_decode(const unsigned char *buf, size_t n, int want, const char *want_field)
{
    rp_record r;
    const char *field = "unset";
    int err = rp_record_decode(&r, buf, n, &field);
    ck_assert_msg(err == want, "decode gave %d (%s) at %s, want %d (%s)", err, rp_strerror(err),
                  field ? field : "-", want, rp_strerror(want));
    if (want_field)
        ck_assert_str_eq(field, want_field);
    if (err) {
        static const rp_record zero;
        ck_assert_msg(memcmp(&r, &zero, sizeof r) == 0, "failed decode left data behind");
    }
}
