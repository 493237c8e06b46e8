/* EVIDENCE on chain (ledger/evidence.h, docs/rules.md "EVIDENCE"): a
 * validator's double signature carried through the one execution path.
 *
 *   - a block carrying valid evidence is accepted, the evidence table and
 *     the records index have it, identities and scores do not move, and
 *     rp_store_evidence_list returns it (paged, filtered by validator);
 *   - each rule refuses with its code and names the record: not a
 *     validator, a bad signature a or b, votes of another chain, the same
 *     evidence twice on chain (same bytes, re-signed, another pair for the
 *     same slot), two for one slot in one block, a vote height not below
 *     the block's;
 *   - build leaves out evidence whose signature fails, like any record;
 *   - the mempool refuses evidence with RP_ERR_EVIDENCE_SUBMIT;
 *   - a replay of a chain with evidence (reputed verify) rebuilds the same
 *     state, tip and evidence table.
 */
#include <check.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/evidence.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "ledger/replay.h"
#include "ledger/schema.h"
#include "node/errors.h"
#include "node/mempool.h"

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-test-evidence",
        .seed0 = 0x70,
        .dir_prefix = "/tmp/rp-test-evidence-",
    });
}

static rp_hash hash_of(unsigned char v)
{
    rp_hash h;
    memset(h.bytes, v, 32);
    return h;
}

/* A vote signature by fx.sk[key] on chain (NULL: this chain). */
static rp_sig vote_sig(size_t key, const rp_hash *chain, uint8_t type, uint64_t height,
                       uint32_t round, const rp_hash *block)
{
    rp_hash msg;
    rp_sig sig;
    unsigned char aux[32];
    rp_vote_message(&msg, chain ? chain : fx_chain(), height, round, type, block);
    rp_aux_derive(aux, fx.seed, fx.counter++);
    ck_assert_int_eq(rp_sign(&sig, msg.bytes, 32, &fx.sk[key], aux), 0);
    return sig;
}

/* Evidence that fx.pk[key] voted for blocks x and y (all bytes x, all bytes
 * y) at (height, round, type), signed by fx.sk[signer]. */
static rp_record evidence_by(size_t key, size_t signer, uint8_t type, uint64_t height,
                             uint32_t round, unsigned char x, unsigned char y)
{
    rp_record r;
    rp_hash hx = hash_of(x), hy = hash_of(y);
    rp_sig sx = vote_sig(signer, NULL, type, height, round, &hx);
    rp_sig sy = vote_sig(signer, NULL, type, height, round, &hy);
    ck_assert_int_eq(rp_evidence_make(&r, &fx.pk[key], type, height, round, &hx, &sx, &hy, &sy), 0);
    return r;
}

/* The validator (key 0) precommitted x and y at (height, round). */
static rp_record evidence(uint64_t height, uint32_t round, unsigned char x, unsigned char y)
{
    return evidence_by(0, 0, RP_VOTE_PRECOMMIT, height, round, x, y);
}

/* Produce and expect refusal code for record index idx; the tip stays. */
static void refused(const rp_record *recs, size_t n, int code, int64_t idx)
{
    rp_store_error err;
    rp_tip before, after;
    ck_assert_int_eq(rp_store_tip(fx.st, &before), 0);
    int rc = fx_produce(recs, n, &err);
    ck_assert_msg(rc == code, "got %d (%s), want %d (%s)", rc, err.msg, code, rp_strerror(code));
    ck_assert_int_eq(err.index, idx);
    ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
    ck_assert_uint_eq(after.height, before.height);
}

static size_t count_evidence(void)
{
    uint64_t n;
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_EVIDENCE, &n), 0);
    return (size_t)n;
}

/* ---- accepted ------------------------------------------------------------------ */

START_TEST(test_accepted)
{
    fx_ok(NULL, 0);                            /* height 1 */
    fx_ok(NULL, 0);                            /* height 2 */
    rp_record ev = evidence(1, 3, 0x00, 0x42); /* nil against a block */
    fx_ok(&ev, 1);                             /* height 3 */

    rp_evidence_row rows[4];
    size_t n;
    int more;
    ck_assert_int_eq(rp_store_evidence_list(fx.st, NULL, NULL, rows, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(more, 0);
    rp_hash id = fx_id(&ev), nil = hash_of(0), blk = hash_of(0x42);
    ck_assert(rp_hash_eq(&rows[0].id, &id));
    ck_assert_mem_eq(rows[0].validator.bytes, fx.pk[0].bytes, 32);
    ck_assert_uint_eq(rows[0].height, 1);
    ck_assert_uint_eq(rows[0].round, 3);
    ck_assert_uint_eq(rows[0].vote_type, RP_VOTE_PRECOMMIT);
    ck_assert(rp_hash_eq(&rows[0].hash_a, &nil));
    ck_assert(rp_hash_eq(&rows[0].hash_b, &blk));
    ck_assert_uint_eq(rows[0].block_height, 3);
    ck_assert_uint_eq(rows[0].index, 0);

    /* record.get's path: the records index and the stored bytes. */
    uint64_t h;
    uint32_t idx;
    unsigned char bytes[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_store_find_record(fx.st, &id, &h, &idx), 0);
    ck_assert_uint_eq(h, 3);
    ck_assert_uint_eq(idx, 0);
    ck_assert_int_eq(rp_store_read_record(fx.st, h, idx, bytes, &len), 0);
    ck_assert_uint_eq(len, 255);

    /* Its JSON form (record.get, chain.block, export). */
    json_t *o = rp_export_record_obj(0, fx_chain(), bytes, len);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "type")), "evidence");
    ck_assert_str_eq(json_string_value(json_object_get(o, "vote_type")), "precommit");
    ck_assert_str_eq(json_string_value(json_object_get(o, "vote_height")), "1");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "vote_round")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(o, "sequence")), "0");
    ck_assert_uint_eq(json_array_size(json_object_get(o, "signatures")), 0);
    ck_assert_uint_eq(json_string_length(json_object_get(o, "sig_b")), 128);
    json_decref(o);

    /* No identity, no score: the validator was never registered. */
    rp_identity_state st;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[0], &st), RP_ERR_NOT_FOUND);
    uint64_t ids;
    ck_assert_int_eq(rp_store_count(fx.st, RP_DB_IDENTITIES, &ids), 0);
}
END_TEST

/* Several slots of one validator, in one block and the next; pages. */
START_TEST(test_list_pages)
{
    fx_ok(NULL, 0);
    fx_ok(NULL, 0);
    rp_record ev[3] = {evidence(2, 0, 1, 2), evidence(1, 1, 1, 2),
                       evidence_by(0, 0, RP_VOTE_PREVOTE, 1, 1, 5, 6)};
    fx_ok(ev, 3); /* height 3: three slots, one block */
    rp_record later = evidence(3, 0, 7, 8);
    fx_ok(&later, 1); /* height 4 */
    ck_assert_uint_eq(count_evidence(), 4);

    /* Key order: height, round, type. */
    rp_evidence_row page[2], all[8];
    size_t n;
    int more;
    ck_assert_int_eq(rp_store_evidence_list(fx.st, NULL, NULL, all, 8, &n, &more), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(more, 0);
    ck_assert_uint_eq(all[0].height, 1);
    ck_assert_uint_eq(all[0].vote_type, RP_VOTE_PREVOTE);
    ck_assert_uint_eq(all[0].index, 2);
    ck_assert_uint_eq(all[1].height, 1);
    ck_assert_uint_eq(all[1].vote_type, RP_VOTE_PRECOMMIT);
    ck_assert_uint_eq(all[2].height, 2);
    ck_assert_uint_eq(all[3].height, 3);
    ck_assert_uint_eq(all[3].block_height, 4);

    ck_assert_int_eq(rp_store_evidence_list(fx.st, &fx.pk[0], NULL, page, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(more, 1);
    ck_assert_mem_eq(page, all, 2 * sizeof page[0]);
    ck_assert_int_eq(rp_store_evidence_list(fx.st, &fx.pk[0], &page[1], page, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(more, 0);
    ck_assert_mem_eq(page, all + 2, 2 * sizeof page[0]);
    ck_assert_int_eq(rp_store_evidence_list(fx.st, NULL, &all[3], page, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(more, 0);

    /* Nobody else has any; max 0 answers only "more". */
    ck_assert_int_eq(rp_store_evidence_list(fx.st, &fx.pk[1], NULL, page, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(rp_store_evidence_list(fx.st, NULL, NULL, page, 0, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(more, 1);
}
END_TEST

/* ---- refused ------------------------------------------------------------------- */

START_TEST(test_refusals)
{
    fx_ok(NULL, 0);
    fx_ok(NULL, 0); /* the next block is height 3 */

    /* Key 1 is no validator, even with its own valid signatures. */
    rp_record r = evidence_by(1, 1, RP_VOTE_PRECOMMIT, 1, 0, 1, 2);
    refused(&r, 1, RP_ERR_NOT_VALIDATOR, 0);

    /* A bad signature a, then b (found by the block's batch). */
    r = evidence(1, 0, 1, 2);
    r.body.evidence.sig_a.bytes[5] ^= 1;
    refused(&r, 1, RP_ERR_BAD_SIGNATURE, 0);
    r = evidence(1, 0, 1, 2);
    r.body.evidence.sig_b.bytes[60] ^= 1;
    refused(&r, 1, RP_ERR_BAD_SIGNATURE, 0);
    /* Signed by another key than the accused validator's. */
    r = evidence_by(0, 1, RP_VOTE_PRECOMMIT, 1, 0, 1, 2);
    refused(&r, 1, RP_ERR_BAD_SIGNATURE, 0);
    /* Votes of another chain. */
    rp_hash other = *fx_chain(), h1 = hash_of(1), h2 = hash_of(2);
    other.bytes[0] ^= 1;
    rp_sig s1 = vote_sig(0, &other, RP_VOTE_PREVOTE, 1, 0, &h1);
    rp_sig s2 = vote_sig(0, &other, RP_VOTE_PREVOTE, 1, 0, &h2);
    ck_assert_int_eq(rp_evidence_make(&r, &fx.pk[0], RP_VOTE_PREVOTE, 1, 0, &h1, &s1, &h2, &s2), 0);
    refused(&r, 1, RP_ERR_BAD_SIGNATURE, 0);
    /* The signature of a prevote does not prove a precommit. */
    s1 = vote_sig(0, NULL, RP_VOTE_PREVOTE, 1, 0, &h1);
    s2 = vote_sig(0, NULL, RP_VOTE_PREVOTE, 1, 0, &h2);
    ck_assert_int_eq(rp_evidence_make(&r, &fx.pk[0], RP_VOTE_PRECOMMIT, 1, 0, &h1, &s1, &h2, &s2),
                     0);
    refused(&r, 1, RP_ERR_BAD_SIGNATURE, 0);

    /* Votes at the block's own height or above cannot be evidence yet. */
    r = evidence(3, 0, 1, 2);
    refused(&r, 1, RP_ERR_EVIDENCE_HEIGHT, 0);
    r = evidence(9, 0, 1, 2);
    refused(&r, 1, RP_ERR_EVIDENCE_HEIGHT, 0);

    /* Two for one slot in one block: the second is refused. */
    rp_record pair[2] = {evidence(1, 0, 1, 2), evidence(1, 0, 1, 3)};
    refused(pair, 2, RP_ERR_DUPLICATE_EVIDENCE, 1);
    /* The same slot as another type or round is another slot. */
    rp_record slots[3] = {evidence(1, 0, 1, 2), evidence(1, 1, 1, 2),
                          evidence_by(0, 0, RP_VOTE_PREVOTE, 1, 0, 1, 2)};
    fx_ok(slots, 3);
    ck_assert_uint_eq(count_evidence(), 3);

    /* Once on chain: the same bytes are a duplicate record; the same votes
     * signed again (other signature bytes, another id) or another pair for
     * the slot are duplicate evidence. */
    refused(&slots[0], 1, RP_ERR_DUPLICATE_RECORD, 0);
    r = evidence(1, 0, 1, 2);
    rp_hash a = fx_id(&r), b = fx_id(&slots[0]);
    ck_assert(!rp_hash_eq(&a, &b));
    refused(&r, 1, RP_ERR_DUPLICATE_EVIDENCE, 0);
    r = evidence(1, 0, 3, 4);
    refused(&r, 1, RP_ERR_DUPLICATE_EVIDENCE, 0);
    /* A refused block left nothing behind. */
    ck_assert_uint_eq(count_evidence(), 3);
}
END_TEST

/* Build leaves out evidence whose signature fails, keeps the rest, and
 * what it built checks with the same state hash. */
START_TEST(test_build_leaves_out)
{
    fx_ok(NULL, 0);
    fx_ok(NULL, 0);
    rp_record c[3] = {evidence(1, 0, 1, 2), evidence(2, 0, 1, 2), evidence(1, 1, 1, 2)};
    c[1].body.evidence.sig_b.bytes[0] ^= 1;
    unsigned char bufs[3][RP_RECORD_MAX_SIZE];
    rp_block_item items[3];
    for (size_t i = 0; i < 3; i++) {
        items[i].bytes = bufs[i];
        ck_assert_int_eq(rp_record_encode(&c[i], bufs[i], sizeof bufs[i], &items[i].len), 0);
    }
    rp_checked *built, *again;
    rp_rejected rej[4];
    size_t taken, nrej, blen;
    rp_store_error err;
    fx.now_s += 5;
    ck_assert_int_eq(rp_exec_build(fx.st, items, 3, fx.now_s * 1000, 0, NULL, NULL, &built, &taken,
                                   rej, 4, &nrej, &err),
                     0);
    ck_assert_uint_eq(nrej, 1);
    ck_assert_uint_eq(rej[0].index, 1);
    ck_assert_int_eq(rej[0].code, RP_ERR_BAD_SIGNATURE);
    ck_assert_uint_eq(rp_checked_header(built)->record_count, 2);
    const unsigned char *blk = rp_checked_block(built, &blen);
    ck_assert_int_eq(rp_exec_check(fx.st, blk, blen, NULL, NULL, &again, &err), 0);
    ck_assert(rp_hash_eq(&rp_checked_tip(again)->state_hash, &rp_checked_tip(built)->state_hash));
    rp_checked_free(again);
    rp_checked_free(built);
}
END_TEST

/* The mempool refuses evidence from RPC and peers alike, cleanly. */
START_TEST(test_mempool_refuses)
{
    fx_ok(NULL, 0);
    fx_ok(NULL, 0);
    rp_record r = evidence(1, 0, 1, 2);
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &len), 0);
    rp_node_errors_register();
    rp_mempool *mp;
    ck_assert_int_eq(rp_mempool_new(&mp, fx.st, &(rp_mempool_limits){100, 1 << 20, 8}), 0);
    rp_mp_result res;
    ck_assert_int_eq(
        rp_mempool_submit(mp, buf, len, (rp_mp_source){RP_MP_FROM_RPC, 0}, fx.now_s, &res),
        RP_ERR_EVIDENCE_SUBMIT);
    ck_assert_ptr_nonnull(strstr(res.msg, "made by validators"));
    ck_assert_ptr_nonnull(strstr(rp_strerror(RP_ERR_EVIDENCE_SUBMIT), "made by validators"));
    ck_assert_int_eq(
        rp_mempool_submit(mp, buf, len, (rp_mp_source){RP_MP_FROM_PEER, 7}, fx.now_s, &res),
        RP_ERR_EVIDENCE_SUBMIT);
    rp_mempool_free(mp);
}
END_TEST

/* ---- replay --------------------------------------------------------------------- */

START_TEST(test_replay)
{
    rp_record regs[2] = {fx_identity(1, NULL, RP_ROLE_TALENT, "talent"),
                         fx_identity(2, NULL, RP_ROLE_BRAND, "brand")};
    fx_ok(regs, 2);
    fx_ok(NULL, 0);
    rp_record mixed[3] = {evidence(1, 0, 0, 9), fx_vouch(2, 2, 1), evidence(2, 4, 3, 9)};
    fx_ok(mixed, 3);
    rp_record more = evidence_by(0, 0, RP_VOTE_PREVOTE, 3, 0, 1, 2);
    fx_ok(&more, 1);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    rp_store_close(fx.st);
    fx.st = NULL;

    char scratch[160];
    snprintf(scratch, sizeof scratch, "%s/scratch", fx.work);
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    rp_replay_report rep;
    int rc = rp_replay_verify(fx.datadir, scratch, NULL, &rep);
    ck_assert_msg(rc == 0, "verify: %s", rep.reason);
    ck_assert_int_eq(memcmp(&rep.tip, &tip, sizeof tip), 0);
    ck_assert_uint_eq(rep.records, 2 + 3 + 1);
    /* 3 records' signatures, 2 x 3 vote signatures, 4 commits. */
    ck_assert_uint_eq(rep.signatures, 3 + 6 + 4);
    ck_assert_uint_eq(rep.identities, 2);
    ck_assert_int_eq(rmdir(scratch), 0);
}
END_TEST

/* A schema 2 ledger (before the evidence table) opened read-write is
 * upgraded in place to schema 3 with its chain untouched; read-only it is
 * refused with what to do. */
START_TEST(test_upgrade_from_schema_2)
{
    rp_record reg = fx_identity(1, NULL, RP_ROLE_TALENT, "talent");
    fx_ok(&reg, 1);
    rp_tip before;
    ck_assert_int_eq(rp_store_tip(fx.st, &before), 0);
    rp_store_close(fx.st);
    fx.st = NULL;

    /* Make it what schema 2 wrote: no evidence table, version 2. */
    char path[256];
    snprintf(path, sizeof path, "%s/ledger", fx.datadir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, ev;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, RP_DB_COUNT), 0);
    ck_assert_int_eq(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    ck_assert_int_eq(mdb_env_open(env, path, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "evidence", 0, &ev), 0);
    ck_assert_int_eq(mdb_drop(txn, ev, 1), 0);
    unsigned char v2[4] = {0, 0, 0, 2};
    MDB_val k = {6, (void *)"schema"}, v = {4, v2};
    ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    rp_store_error err;
    rp_store_opts ro = {.read_only = 1};
    rp_store *s = NULL;
    ck_assert_int_eq(rp_store_open(&s, fx.datadir, &ro, &err), RP_ERR_SCHEMA);
    ck_assert_msg(strstr(err.msg, "schema 2") != NULL, "%s", err.msg);
    ck_assert_int_eq(rp_store_open(&fx.st, fx.datadir, NULL, &err), 0);
    rp_tip after;
    ck_assert_int_eq(rp_store_tip(fx.st, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
    size_t n = 1;
    int more = 1;
    rp_evidence_row row;
    ck_assert_int_eq(rp_store_evidence_list(fx.st, NULL, NULL, &row, 1, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    /* And it goes on: a block with evidence is taken. */
    fx_ok(NULL, 0);
    rp_record e = evidence(1, 0, 0, 9);
    fx_ok(&e, 1);
    rp_store_close(fx.st);
    fx.st = NULL;
    /* Now a schema 3 ledger: read-only opens work again. */
    ck_assert_int_eq(rp_store_open(&s, fx.datadir, &ro, &err), 0);
    rp_store_close(s);
}
END_TEST

static Suite *evidence_suite(void)
{
    Suite *s = suite_create("evidence");
    TCase *tc = tcase_create("ledger");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_accepted);
    tcase_add_test(tc, test_list_pages);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_build_leaves_out);
    tcase_add_test(tc, test_mempool_refuses);
    tcase_add_test(tc, test_replay);
    tcase_add_test(tc, test_upgrade_from_schema_2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    SRunner *sr = srunner_create(evidence_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
