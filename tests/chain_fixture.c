/* The chain fixture shared by the ledger and replay suites: a temporary
 * datadir with a one-validator genesis, seed-derived keys, record builders
 * and block production through the store, as a node does it. The contract
 * is in chain_fixture.h; helpers that only one suite needs stay in it.
 */
#include "chain_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger/block.h"
#include "node/solo.h"

fx_state fx;

static void make_genesis(rp_genesis *g, const char *chain_name)
{
    memset(g, 0, sizeof *g);
    ck_assert_uint_lt(strlen(chain_name), sizeof g->chain_name);
    strcpy(g->chain_name, chain_name);
    g->genesis_time = FX_T0;
    g->nvalidators = 1;
    g->validators[0].pubkey = fx.pk[0];
    g->validators[0].power = 1;
    strcpy(g->validators[0].name, "val-0");
    g->npretrusted = 1;
    g->pretrusted[0] = fx.pk[1];
    g->params = (rp_params){
        .block_interval_ms = 1000,
        .epoch_blocks = 100,
        .score_delay_blocks = 10,
        .max_block_records = 1000,
        .max_block_bytes = 1 << 20,
        .pow_difficulty = 4,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 86400,
    };
}

void fx_setup(const fx_config *cfg)
{
    rp_store_error err;
    memset(&fx, 0, sizeof fx);
    for (size_t i = 0; i < 32; i++)
        fx.seed[i] = (unsigned char)(cfg->seed0 + i);
    for (size_t i = 0; i < FX_NKEYS; i++) {
        ck_assert_int_eq(rp_seckey_from_seed(&fx.sk[i], fx.seed, i), 0);
        ck_assert_int_eq(rp_pubkey_from_seckey(&fx.pk[i], &fx.sk[i]), 0);
    }
    fx.gen = malloc(sizeof *fx.gen);
    ck_assert_ptr_nonnull(fx.gen);
    make_genesis(fx.gen, cfg->chain_name);

    int n = snprintf(fx.work, sizeof fx.work, "%sXXXXXX", cfg->dir_prefix);
    ck_assert(n > 0 && (size_t)n < sizeof fx.work);
    ck_assert_ptr_nonnull(mkdtemp(fx.work));
    if (cfg->datadir_sub) {
        n = snprintf(fx.datadir, sizeof fx.datadir, "%s/%s", fx.work, cfg->datadir_sub);
        ck_assert(n > 0 && (size_t)n < sizeof fx.datadir);
        ck_assert_int_eq(mkdir(fx.datadir, 0700), 0);
    } else {
        strcpy(fx.datadir, fx.work); /* 64 bytes into 96 */
    }
    int rc = rp_store_create(&fx.st, fx.datadir, fx.gen, NULL, &err);
    ck_assert_msg(rc == 0, "create: %s", err.msg);
    fx.now_s = FX_T0 + 10;
    fx.counter = 0;
}

void fx_teardown(void)
{
    char cmd[128];
    rp_store_close(fx.st);
    fx.st = NULL;
    free(fx.gen);
    fx.gen = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.work);
    ck_assert_int_eq(system(cmd), 0);
}

const rp_hash *fx_chain(void)
{
    return rp_store_chain_id(fx.st);
}

rp_record fx_base(unsigned type, size_t i, uint64_t seq)
{
    rp_record r;
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.type = (uint8_t)type;
    r.issuer = fx.pk[i];
    r.seq = seq;
    r.time = fx.now_s;
    return r;
}

void fx_sign(rp_record *r, size_t slot, size_t keyidx)
{
    unsigned char aux[32];
    rp_aux_derive(aux, fx.seed, fx.counter++);
    ck_assert_int_eq(rp_record_sign(r, slot, fx_chain(), &fx.sk[keyidx], aux), 0);
}

rp_record fx_identity(size_t i, const rp_pubkey *recovery, uint8_t role, const char *name_prefix)
{
    rp_record r = fx_base(RP_REC_IDENTITY, i, 1);
    r.body.identity.role = role;
    snprintf(r.body.identity.name, sizeof r.body.identity.name, "%s %zu", name_prefix, i);
    r.body.identity.name_len = (uint8_t)strlen(r.body.identity.name);
    if (recovery)
        rp_recovery_commitment(&r.body.identity.recovery, recovery);
    ck_assert_int_eq(rp_identity_pow_solve(&r, fx_chain(), fx.gen->params.pow_difficulty, 1 << 20),
                     0);
    fx_sign(&r, 0, i);
    return r;
}

rp_record fx_engagement(size_t a, uint64_t seq, size_t b, uint8_t kind)
{
    rp_record r = fx_base(RP_REC_ENGAGEMENT, a, seq);
    r.body.engagement.counterparty = fx.pk[b];
    r.body.engagement.kind = kind;
    memset(r.body.engagement.terms.bytes, 7, 32);
    r.body.engagement.expiry = fx.now_s + 3600;
    fx_sign(&r, 0, a);
    fx_sign(&r, 1, b);
    return r;
}

rp_record fx_review(size_t from, uint64_t seq, size_t to, const rp_hash *eng, uint8_t stars)
{
    rp_record r = fx_base(RP_REC_REVIEW, from, seq);
    r.body.review.engagement = *eng;
    r.body.review.subject = fx.pk[to];
    r.body.review.overall = stars;
    fx_sign(&r, 0, from);
    return r;
}

rp_record fx_vouch(size_t from, uint64_t seq, size_t to)
{
    rp_record r = fx_base(RP_REC_VOUCH, from, seq);
    r.body.vouch.subject = fx.pk[to];
    r.body.vouch.relation = RP_VOUCH_REPRESENTS;
    fx_sign(&r, 0, from);
    return r;
}

rp_hash fx_id(const rp_record *r)
{
    rp_hash id;
    ck_assert_int_eq(rp_record_id(&id, fx_chain(), r), 0);
    return id;
}

int fx_produce(const rp_record *recs, size_t n, rp_store_error *err)
{
    unsigned char bufs[16][RP_RECORD_MAX_SIZE];
    rp_block_item items[16];
    unsigned char aux[32];
    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(rp_record_encode(&recs[i], bufs[i], sizeof bufs[i], &items[i].len), 0);
        items[i].bytes = bufs[i];
    }
    rp_aux_derive(aux, fx.seed, fx.counter++);
    fx.now_s += 5;
    return rp_solo_produce(fx.st, items, n, fx.now_s * 1000, &fx.sk[0], aux, NULL, NULL, NULL, err);
}

void fx_ok(const rp_record *recs, size_t n)
{
    rp_store_error err;
    int rc = fx_produce(recs, n, &err);
    ck_assert_msg(rc == 0, "block refused: %s", err.msg);
}
