/* The one execution path (ledger/exec.h): build, check and commit, each on
 * its own, the way block sync and a consensus engine drive them.
 *
 *   - check refuses a block that breaks a rule, names the rule and the
 *     record, and leaves the datadir's bytes as they were;
 *   - a block built by node A, with a commit assembled outside the ledger,
 *     is accepted by a fresh node B through check and commit alone, and the
 *     two nodes end in the same state;
 *   - a commit carrying two thirds of the power or less, or a signature by
 *     a key outside the validator set, is refused;
 *   - build leaves out the candidates that break a rule or whose signature
 *     fails, reports them, and keeps the rest;
 *   - block limits are checked before any score work;
 *   - write batches: a failed block leaves the batch as it was, an abort
 *     loses the batch and nothing else, build and check wait outside.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/exec.h"
#include "ledger/query.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "node/solo.h"

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-test-exec",
        .seed0 = 0x50,
        .dir_prefix = "/tmp/rp-test-exec-",
    });
}

/* Register identities 1..n in one block, all with recovery key FX_NKEYS - 1. */
static void register_all(size_t n)
{
    rp_record r[16];
    for (size_t i = 1; i <= n; i++)
        r[i - 1] = fx_identity(i, &fx.pk[FX_NKEYS - 1], RP_ROLE_TALENT, "identity");
    fx_ok(r, n);
}

/* Encoded records, kept in static buffers (up to 8 at a time). */
static rp_block_item enc(const rp_record *r)
{
    static unsigned char bufs[8][RP_RECORD_MAX_SIZE];
    static size_t next;
    unsigned char *b = bufs[next++ % 8];
    rp_block_item it = {b, 0};
    ck_assert_int_eq(rp_record_encode(r, b, RP_RECORD_MAX_SIZE, &it.len), 0);
    return it;
}

/* SHA-256 of a datadir's data.mdb: what "nothing written" means. */
static void file_hash(const char *datadir, unsigned char out[32])
{
    char path[256];
    snprintf(path, sizeof path, "%s/ledger/data.mdb", datadir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_hash_sha256_update(&st, buf, n);
    fclose(f);
    crypto_hash_sha256_final(&st, out);
}

/* A commit for header h signed by the validators at idx[0..n) (strictly
 * increasing) with the keys keys[0..n), assembled by hand as a consensus
 * engine would. */
static size_t make_commit(const rp_header *h, const uint16_t *idx, const size_t *keys, size_t n,
                          unsigned char out[RP_COMMIT_MAX_SIZE])
{
    rp_hash hh, vote;
    rp_commit *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    rp_header_hash(&hh, h);
    rp_vote_message(&vote, fx_chain(), h->height, 0, RP_VOTE_PRECOMMIT, &hh);
    c->version = RP_COMMIT_VERSION;
    c->height = h->height;
    c->block_hash = hh;
    c->count = (uint16_t)n;
    for (size_t i = 0; i < n; i++) {
        unsigned char aux[32];
        rp_aux_derive(aux, fx.seed, fx.counter++);
        c->sigs[i].validator = idx[i];
        ck_assert_int_eq(rp_sign(&c->sigs[i].sig, vote.bytes, 32, &fx.sk[keys[i]], aux), 0);
    }
    size_t len;
    ck_assert_int_eq(rp_commit_encode(c, out, RP_COMMIT_MAX_SIZE, &len), 0);
    free(c);
    return len;
}

/* Build the next block from records that must all go in. */
static rp_checked *build_all(const rp_block_item *items, size_t n)
{
    rp_checked *c;
    rp_store_error err;
    size_t taken, nrej;
    fx.now_s += 5;
    int rc = rp_exec_build(fx.st, items, n, fx.now_s * 1000, 0, NULL, NULL, &c, &taken, NULL, 0,
                           &nrej, &err);
    ck_assert_msg(rc == 0, "build: %s", err.msg);
    ck_assert_uint_eq(taken, n);
    ck_assert_uint_eq(nrej, 0);
    return c;
}

/* Re-frame a built block's header around other records (count, bytes and
 * Merkle root made consistent, nothing else touched). Out: blk[0..*len). */
static void reframe(const rp_header *good, const rp_block_item *items, size_t n, unsigned char *blk,
                    size_t cap, size_t *len)
{
    rp_header h = *good;
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += 2 + items[i].len;
    h.record_count = (uint32_t)n;
    h.body_bytes = (uint32_t)body;
    ck_assert_int_eq(rp_block_records_root(&h.records_root, items, n), 0);
    ck_assert_int_eq(rp_block_encode(&h, items, n, blk, cap, len), 0);
}

/* ---- check -------------------------------------------------------------------- */

/* Each rule broken by one record of an otherwise well-formed block: check
 * names the rule and the record, and the datadir's bytes do not change. */
START_TEST(test_check_refuses_and_writes_nothing)
{
    register_all(3);
    rp_record ok1 = fx_vouch(1, 2, 2);
    rp_record dup = fx_vouch(2, 2, 3);
    fx_ok(&dup, 1); /* on chain: submitting it again is a duplicate */
    rp_record badseq = fx_vouch(3, 5, 1);
    rp_record unreg = fx_vouch(4, 2, 1); /* 4 never registered */
    rp_record badsig = fx_vouch(3, 2, 1);
    badsig.sigs[0].bytes[10] ^= 1;
    rp_record self = fx_vouch(3, 2, 3);

    rp_block_item good_item = enc(&ok1);
    rp_checked *built = build_all(&good_item, 1);
    rp_header good = *rp_checked_header(built);
    rp_checked_free(built);

    const struct {
        const rp_record *bad;
        int code;
    } cases[] = {
        {&dup, RP_ERR_DUPLICATE_RECORD}, {&badseq, RP_ERR_BAD_SEQUENCE},
        {&unreg, RP_ERR_NOT_REGISTERED}, {&badsig, RP_ERR_BAD_SIGNATURE},
        {&self, RP_ERR_SELF_VOUCH},
    };
    unsigned char before[32], after[32];
    rp_tip t0, t1;
    file_hash(fx.datadir, before);
    ck_assert_int_eq(rp_store_tip(fx.st, &t0), 0);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rp_block_item items[2] = {enc(&ok1), enc(cases[c].bad)};
        unsigned char blk[4096];
        size_t blen;
        reframe(&good, items, 2, blk, sizeof blk, &blen);
        rp_checked *res = NULL;
        rp_store_error err;
        int rc = rp_exec_check(fx.st, blk, blen, NULL, NULL, &res, &err);
        ck_assert_msg(rc == cases[c].code, "case %zu: %d (%s)", c, rc, err.msg);
        ck_assert_ptr_null(res);
        ck_assert_int_eq(err.index, 1);
        ck_assert_ptr_nonnull(strstr(err.msg, "record 1"));
    }
    /* A well-formed one passes check, and check alone writes nothing either. */
    {
        rp_block_item items[1] = {enc(&ok1)};
        unsigned char blk[4096];
        size_t blen;
        reframe(&good, items, 1, blk, sizeof blk, &blen);
        rp_checked *res = NULL;
        rp_store_error err;
        ck_assert_int_eq(rp_exec_check(fx.st, blk, blen, NULL, NULL, &res, &err), 0);
        ck_assert(rp_hash_eq(&rp_checked_tip(res)->state_hash, &good.state_hash));
        rp_checked_free(res);
    }
    file_hash(fx.datadir, after);
    ck_assert_int_eq(memcmp(before, after, 32), 0);
    ck_assert_int_eq(rp_store_tip(fx.st, &t1), 0);
    ck_assert_int_eq(memcmp(&t0, &t1, sizeof t0), 0);
}
END_TEST

/* Node A builds and commits with a commit assembled outside the ledger;
 * node B, fresh, takes A's blocks through check and commit alone. */
START_TEST(test_built_on_a_checked_on_b)
{
    char bdir[128];
    snprintf(bdir, sizeof bdir, "%s/b", fx.work);
    ck_assert_int_eq(mkdir(bdir, 0700), 0);
    rp_store *b;
    rp_store_error err;
    ck_assert_int_eq(rp_store_create(&b, bdir, fx.gen, NULL, &err), 0);

    rp_record regs[3];
    for (size_t i = 1; i <= 3; i++)
        regs[i - 1] = fx_identity(i, NULL, RP_ROLE_AGENT, "node");
    rp_record eng = fx_engagement(1, 2, 2, RP_ENG_GIG);
    rp_hash eid = fx_id(&eng);
    rp_record rounds[3][3] = {
        {regs[0], regs[1], regs[2]},
        {eng, fx_vouch(3, 2, 1), fx_vouch(2, 2, 3)},
        {fx_review(1, 3, 2, &eid, 5), fx_review(2, 3, 1, &eid, 4), fx_vouch(3, 3, 2)},
    };
    for (size_t r = 0; r < 3; r++) {
        rp_block_item items[3];
        for (size_t i = 0; i < 3; i++)
            items[i] = enc(&rounds[r][i]);
        rp_checked *built = build_all(items, 3);
        size_t blen;
        const unsigned char *blk = rp_checked_block(built, &blen);
        unsigned char cm[RP_COMMIT_MAX_SIZE];
        size_t clen = make_commit(rp_checked_header(built), (uint16_t[]){0}, (size_t[]){0}, 1, cm);
        ck_assert_int_eq(rp_exec_commit(fx.st, blk, blen, cm, clen, built, NULL, NULL, &err), 0);

        rp_checked *checked = NULL;
        int rc = rp_exec_check(b, blk, blen, NULL, NULL, &checked, &err);
        ck_assert_msg(rc == 0, "B's check: %s", err.msg);
        ck_assert(rp_hash_eq(rp_checked_hash(checked), rp_checked_hash(built)));
        rc = rp_exec_commit(b, blk, blen, cm, clen, checked, NULL, NULL, &err);
        ck_assert_msg(rc == 0, "B's commit: %s", err.msg);
        rp_checked_free(checked);
        rp_checked_free(built);
    }
    rp_tip ta, tb;
    ck_assert_int_eq(rp_store_tip(fx.st, &ta), 0);
    ck_assert_int_eq(rp_store_tip(b, &tb), 0);
    ck_assert_uint_eq(ta.height, 3);
    ck_assert_int_eq(memcmp(&ta, &tb, sizeof ta), 0);
    ck_assert_int_eq(rp_store_compare_state(fx.st, b, &err), 0);
    rp_store_close(b);
}
END_TEST

/* A result of check or build is used by commit only on the tip it was made
 * on: after the tip moved, the block is executed again (and refused here,
 * since it no longer links). */
START_TEST(test_stale_check_result)
{
    register_all(2);
    rp_record v = fx_vouch(1, 2, 2);
    rp_block_item it = enc(&v);
    rp_checked *stale = build_all(&it, 1);
    rp_record w = fx_vouch(2, 2, 1);
    fx_ok(&w, 1); /* the tip moves */
    size_t blen;
    const unsigned char *blk = rp_checked_block(stale, &blen);
    unsigned char cm[RP_COMMIT_MAX_SIZE];
    size_t clen = make_commit(rp_checked_header(stale), (uint16_t[]){0}, (size_t[]){0}, 1, cm);
    rp_store_error err;
    ck_assert_int_eq(rp_exec_commit(fx.st, blk, blen, cm, clen, stale, NULL, NULL, &err),
                     RP_ERR_BLOCK_HEIGHT);
    rp_checked_free(stale);
}
END_TEST

/* ---- commits and voting power ------------------------------------------------- */

/* Three validators of equal power: two signatures are exactly two thirds,
 * which is not more than two thirds; a signature by a key outside the set
 * counts for nothing; all three finalize. */
START_TEST(test_commit_power)
{
    rp_store_close(fx.st);
    fx.st = NULL;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/three", fx.work);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    fx.gen->nvalidators = 3;
    for (size_t i = 0; i < 3; i++) {
        fx.gen->validators[i].pubkey = fx.pk[8 + i];
        fx.gen->validators[i].power = 10;
        snprintf(fx.gen->validators[i].name, sizeof fx.gen->validators[i].name, "val-%zu", i);
    }
    rp_store_error err;
    ck_assert_int_eq(rp_store_create(&fx.st, dir, fx.gen, NULL, &err), 0);

    rp_record reg = fx_identity(1, NULL, RP_ROLE_BRAND, "brand");
    rp_block_item it = enc(&reg);
    rp_checked *built = build_all(&it, 1);
    size_t blen;
    const unsigned char *blk = rp_checked_block(built, &blen);
    const rp_header *h = rp_checked_header(built);
    unsigned char cm[RP_COMMIT_MAX_SIZE];
    size_t clen;

    clen = make_commit(h, (uint16_t[]){0, 1}, (size_t[]){8, 9}, 2, cm);
    ck_assert_int_eq(rp_exec_commit(fx.st, blk, blen, cm, clen, built, NULL, NULL, &err),
                     RP_ERR_COMMIT);
    /* Validator 2's slot signed by a key that is not validator 2's. */
    clen = make_commit(h, (uint16_t[]){0, 1, 2}, (size_t[]){8, 9, 5}, 3, cm);
    ck_assert_int_eq(rp_exec_commit(fx.st, blk, blen, cm, clen, built, NULL, NULL, &err),
                     RP_ERR_COMMIT);
    /* An index outside the set. */
    clen = make_commit(h, (uint16_t[]){0, 1, 3}, (size_t[]){8, 9, 10}, 3, cm);
    ck_assert_int_eq(rp_exec_commit(fx.st, blk, blen, cm, clen, built, NULL, NULL, &err),
                     RP_ERR_COMMIT);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.height, 0);

    clen = make_commit(h, (uint16_t[]){0, 1, 2}, (size_t[]){8, 9, 10}, 3, cm);
    ck_assert_int_eq(rp_exec_commit(fx.st, blk, blen, cm, clen, built, NULL, NULL, &err), 0);
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.height, 1);
    rp_checked_free(built);
}
END_TEST

/* Two nodes store different commits of the same block (each the
 * precommits it saw); the next block names its proposer's, and the other
 * node checks and commits it with that commit given, which then replaces
 * its own (rp_exec_check_after, rp_exec_commit_after). */
START_TEST(test_parent_commit)
{
    rp_store_close(fx.st);
    fx.st = NULL;
    char adir[128], bdir[128];
    snprintf(adir, sizeof adir, "%s/a", fx.work);
    snprintf(bdir, sizeof bdir, "%s/b", fx.work);
    ck_assert_int_eq(mkdir(adir, 0700), 0);
    ck_assert_int_eq(mkdir(bdir, 0700), 0);
    fx.gen->nvalidators = 4;
    for (size_t i = 0; i < 4; i++) {
        fx.gen->validators[i].pubkey = fx.pk[8 + i];
        fx.gen->validators[i].power = 1;
        snprintf(fx.gen->validators[i].name, sizeof fx.gen->validators[i].name, "val-%zu", i);
    }
    rp_store_error err;
    rp_store *a, *b;
    ck_assert_int_eq(rp_store_create(&a, adir, fx.gen, NULL, &err), 0);
    ck_assert_int_eq(rp_store_create(&b, bdir, fx.gen, NULL, &err), 0);

    /* Block 1: A keeps the precommits of 0, 1, 2; B those of 0, 1, 3. */
    fx.st = a;
    rp_record reg = fx_identity(1, NULL, RP_ROLE_BRAND, "brand");
    rp_block_item it = enc(&reg);
    rp_checked *built = build_all(&it, 1);
    size_t blen;
    const unsigned char *blk = rp_checked_block(built, &blen);
    unsigned char ca[RP_COMMIT_MAX_SIZE], cb[RP_COMMIT_MAX_SIZE];
    size_t calen = make_commit(rp_checked_header(built), (uint16_t[]){0, 1, 2},
                               (size_t[]){8, 9, 10}, 3, ca);
    size_t cblen = make_commit(rp_checked_header(built), (uint16_t[]){0, 1, 3},
                               (size_t[]){8, 9, 11}, 3, cb);
    ck_assert_int_eq(rp_exec_commit(a, blk, blen, ca, calen, built, NULL, NULL, &err), 0);
    ck_assert_int_eq(rp_exec_commit(b, blk, blen, cb, cblen, NULL, NULL, NULL, &err), 0);
    rp_checked_free(built);

    /* Block 2, proposed by B: it names B's commit of block 1. */
    fx.st = b;
    built = build_all(NULL, 0);
    blk = rp_checked_block(built, &blen);
    unsigned char c2[RP_COMMIT_MAX_SIZE];
    size_t c2len = make_commit(rp_checked_header(built), (uint16_t[]){1, 2, 3},
                               (size_t[]){9, 10, 11}, 3, c2);
    rp_checked *checked = NULL;
    /* A alone cannot link it, nor with its own commit. */
    ck_assert_int_eq(rp_exec_check(a, blk, blen, NULL, NULL, &checked, &err),
                     RP_ERR_BLOCK_PREV_COMMIT);
    ck_assert_int_eq(rp_exec_check_after(a, blk, blen, ca, calen, NULL, NULL, &checked, &err),
                     RP_ERR_BLOCK_PREV_COMMIT);
    /* A parent commit that does not finalize block 1: refused as such. */
    unsigned char bad[RP_COMMIT_MAX_SIZE];
    memcpy(bad, cb, cblen);
    bad[cblen - 1] ^= 1;
    ck_assert_int_eq(rp_exec_check_after(a, blk, blen, bad, cblen, NULL, NULL, &checked, &err),
                     RP_ERR_COMMIT);
    ck_assert_int_eq(rp_exec_commit_after(a, blk, blen, c2, c2len, bad, cblen, NULL, NULL, NULL,
                                          &err),
                     RP_ERR_COMMIT);
    /* With B's commit given, it links; committing stores B's commit as
     * block 1's, in the same transaction. */
    ck_assert_int_eq(rp_exec_check_after(a, blk, blen, cb, cblen, NULL, NULL, &checked, &err), 0);
    ck_assert_int_eq(rp_exec_commit_after(a, blk, blen, c2, c2len, cb, cblen, checked, NULL, NULL,
                                          &err),
                     0);
    ck_assert_int_eq(rp_exec_commit(b, blk, blen, c2, c2len, built, NULL, NULL, &err), 0);
    unsigned char *stored = NULL;
    size_t slen = 0;
    ck_assert_int_eq(rp_store_read_commit(a, 1, &stored, &slen), 0);
    ck_assert_uint_eq(slen, cblen);
    ck_assert_int_eq(memcmp(stored, cb, cblen), 0);
    free(stored);
    rp_tip ta, tb;
    ck_assert_int_eq(rp_store_tip(a, &ta), 0);
    ck_assert_int_eq(rp_store_tip(b, &tb), 0);
    ck_assert_uint_eq(ta.height, 2);
    ck_assert_int_eq(memcmp(&ta, &tb, sizeof ta), 0);
    ck_assert_int_eq(rp_store_compare_state(a, b, &err), 0);
    rp_checked_free(checked);
    rp_checked_free(built);
    rp_store_close(b);
    fx.st = a;
}
END_TEST

/* ---- build -------------------------------------------------------------------- */

/* Candidates that break a rule, or carry a bad signature (found only once
 * the batch is verified), are left out and reported; a record that
 * depended on a left-out one goes too; the others make the block. */
START_TEST(test_build_leaves_out)
{
    register_all(3);
    rp_record c[5];
    c[0] = fx_vouch(1, 2, 2); /* fine */
    c[1] = fx_vouch(2, 5, 1); /* bad sequence */
    c[2] = fx_vouch(3, 2, 1); /* bad signature */
    c[2].sigs[0].bytes[3] ^= 1;
    c[3] = fx_vouch(3, 3, 2); /* needs c[2]: sequence 3 after a 2 that went */
    c[4] = fx_vouch(2, 2, 3); /* fine */
    rp_block_item items[5];
    for (size_t i = 0; i < 5; i++)
        items[i] = enc(&c[i]);
    rp_checked *built;
    rp_rejected rej[8];
    size_t taken, nrej;
    rp_store_error err;
    fx.now_s += 5;
    ck_assert_int_eq(rp_exec_build(fx.st, items, 5, fx.now_s * 1000, 0, NULL, NULL, &built, &taken,
                                   rej, 8, &nrej, &err),
                     0);
    ck_assert_uint_eq(taken, 5);
    ck_assert_uint_eq(nrej, 3);
    ck_assert_uint_eq(rej[0].index, 1);
    ck_assert_int_eq(rej[0].code, RP_ERR_BAD_SEQUENCE);
    ck_assert_uint_eq(rej[1].index, 2);
    ck_assert_int_eq(rej[1].code, RP_ERR_BAD_SIGNATURE);
    ck_assert_uint_eq(rej[2].index, 3);
    ck_assert_int_eq(rej[2].code, RP_ERR_BAD_SEQUENCE);
    ck_assert_uint_eq(rp_checked_header(built)->record_count, 2);
    rp_hash *ids;
    size_t nids;
    ck_assert_int_eq(rp_checked_record_ids(built, &ids, &nids), 0);
    ck_assert_uint_eq(nids, 2);
    rp_hash want0 = fx_id(&c[0]), want1 = fx_id(&c[4]);
    ck_assert(rp_hash_eq(&ids[0], &want0));
    ck_assert(rp_hash_eq(&ids[1], &want1));
    free(ids);
    /* What build made, check accepts with the same state hash. */
    size_t blen;
    const unsigned char *blk = rp_checked_block(built, &blen);
    rp_checked *again;
    ck_assert_int_eq(rp_exec_check(fx.st, blk, blen, NULL, NULL, &again, &err), 0);
    ck_assert(rp_hash_eq(&rp_checked_tip(again)->state_hash, &rp_checked_tip(built)->state_hash));
    rp_checked_free(again);
    rp_checked_free(built);
}
END_TEST

/* The limits cut the candidates before anything else, and a received block
 * over the limits is refused as such before its epoch is even looked at. */
START_TEST(test_limits_first)
{
    register_all(2);
    const rp_params *p = &rp_store_genesis(fx.st)->params;
    rp_record v = fx_vouch(1, 2, 2);
    rp_block_item it = enc(&v);
    rp_checked *built = build_all(&it, 1);
    rp_header h = *rp_checked_header(built);
    rp_checked_free(built);
    h.record_count = p->max_block_records + 1;
    h.epoch = 77; /* wrong too, but limits come first */
    unsigned char blk[RP_HEADER_SIZE];
    ck_assert_int_eq(rp_header_encode(&h, blk), 0);
    rp_checked *res;
    rp_store_error err;
    ck_assert_int_eq(rp_exec_check(fx.st, blk, sizeof blk, NULL, NULL, &res, &err),
                     RP_ERR_BLOCK_LIMITS);
    ck_assert_int_eq(rp_exec_commit(fx.st, blk, sizeof blk, blk, 10, NULL, NULL, NULL, &err),
                     RP_ERR_BLOCK_LIMITS);

    /* Build takes the prefix that fits: one record of a block-sized body. */
    rp_block_item many[3] = {it, it, it};
    size_t taken, nrej;
    fx.now_s += 5;
    ck_assert_int_eq(rp_exec_build(fx.st, many, 3, fx.now_s * 1000, 0, NULL, NULL, &built, &taken,
                                   NULL, 0, &nrej, &err),
                     0);
    ck_assert_uint_eq(taken, 3); /* fits; the duplicates are left out */
    ck_assert_uint_eq(rp_checked_header(built)->record_count, 1);
    rp_checked_free(built);
}
END_TEST

/* ---- write batches -------------------------------------------------------------- */

START_TEST(test_batches)
{
    register_all(3);
    rp_tip t0, t;
    ck_assert_int_eq(rp_store_tip(fx.st, &t0), 0);
    rp_record recs[3] = {fx_vouch(1, 2, 2), fx_vouch(2, 2, 3), fx_vouch(3, 2, 1)};
    unsigned char blocks[3][4096], commits[3][RP_COMMIT_MAX_SIZE];
    size_t blens[3], clens[3];
    rp_store_error err;
    /* Three blocks built one after the other on a scratch copy's tips is
     * what a replay would see; here they are built and committed on A,
     * exported, and the last two replayed into B in a batch. */
    for (size_t i = 0; i < 3; i++) {
        rp_block_item it = enc(&recs[i]);
        rp_checked *built = build_all(&it, 1);
        size_t blen;
        const unsigned char *blk = rp_checked_block(built, &blen);
        memcpy(blocks[i], blk, blen);
        blens[i] = blen;
        clens[i] =
            make_commit(rp_checked_header(built), (uint16_t[]){0}, (size_t[]){0}, 1, commits[i]);
        ck_assert_int_eq(rp_exec_commit(fx.st, blocks[i], blens[i], commits[i], clens[i], built,
                                        NULL, NULL, &err),
                         0);
        rp_checked_free(built);
    }
    char bdir[128];
    snprintf(bdir, sizeof bdir, "%s/b", fx.work);
    ck_assert_int_eq(mkdir(bdir, 0700), 0);
    rp_store *b;
    ck_assert_int_eq(rp_store_create(&b, bdir, fx.gen, NULL, &err), 0);
    for (uint64_t hgt = 1; hgt <= t0.height; hgt++) {
        unsigned char *blk, *cm;
        size_t bl, cl;
        ck_assert_int_eq(rp_store_read_block(fx.st, hgt, &blk, &bl), 0);
        ck_assert_int_eq(rp_store_read_commit(fx.st, hgt, &cm, &cl), 0);
        ck_assert_int_eq(rp_exec_commit(b, blk, bl, cm, cl, NULL, NULL, NULL, &err), 0);
        free(blk);
        free(cm);
    }

    ck_assert_int_eq(rp_store_batch_begin(b, &err), 0);
    ck_assert_int_eq(rp_store_batch_begin(b, &err), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(
        rp_exec_commit(b, blocks[0], blens[0], commits[0], clens[0], NULL, NULL, NULL, &err), 0);
    /* Readers outside the batch see the tip before it; the batch sees its own. */
    ck_assert_int_eq(rp_store_tip(b, &t), 0);
    ck_assert_uint_eq(t.height, t0.height + 1);
    rp_checked *res;
    ck_assert_int_eq(rp_exec_check(b, blocks[1], blens[1], NULL, NULL, &res, &err),
                     RP_ERR_INVALID_ARG);
    /* A block that fails (block 3 before block 2) leaves the batch as it was. */
    ck_assert_int_eq(
        rp_exec_commit(b, blocks[2], blens[2], commits[2], clens[2], NULL, NULL, NULL, &err),
        RP_ERR_BLOCK_HEIGHT);
    ck_assert_uint_eq(rp_store_batch_blocks(b), 1);
    ck_assert_int_eq(
        rp_exec_commit(b, blocks[1], blens[1], commits[1], clens[1], NULL, NULL, NULL, &err), 0);
    ck_assert_int_eq(rp_store_batch_commit(b, &err), 0);
    ck_assert_int_eq(rp_store_tip(b, &t), 0);
    ck_assert_uint_eq(t.height, t0.height + 2);

    /* An aborted batch loses its blocks and nothing else. */
    ck_assert_int_eq(rp_store_batch_begin(b, &err), 0);
    ck_assert_int_eq(
        rp_exec_commit(b, blocks[2], blens[2], commits[2], clens[2], NULL, NULL, NULL, &err), 0);
    rp_store_batch_abort(b);
    ck_assert_int_eq(rp_store_tip(b, &t), 0);
    ck_assert_uint_eq(t.height, t0.height + 2);
    ck_assert_int_eq(rp_store_batch_commit(b, &err), RP_ERR_INVALID_ARG);
    ck_assert_int_eq(
        rp_exec_commit(b, blocks[2], blens[2], commits[2], clens[2], NULL, NULL, NULL, &err), 0);
    rp_tip ta;
    ck_assert_int_eq(rp_store_tip(fx.st, &ta), 0);
    ck_assert_int_eq(rp_store_tip(b, &t), 0);
    ck_assert_int_eq(memcmp(&ta, &t, sizeof t), 0);
    rp_store_close(b);
}
END_TEST

static Suite *exec_suite(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("exec");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_check_refuses_and_writes_nothing);
    tcase_add_test(tc, test_built_on_a_checked_on_b);
    tcase_add_test(tc, test_stale_check_result);
    tcase_add_test(tc, test_commit_power);
    tcase_add_test(tc, test_parent_commit);
    tcase_add_test(tc, test_build_leaves_out);
    tcase_add_test(tc, test_limits_first);
    tcase_add_test(tc, test_batches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    SRunner *sr = srunner_create(exec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
