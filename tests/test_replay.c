/* Check suite "replay": `reputed verify`, `export` and `import` as library
 * calls (ledger/replay.h, ledger/export.h).
 *
 * Every test gets a fresh temporary datadir holding a small chain built here
 * the way a node builds one (records encoded, blocks produced through the
 * store): six identities, engagements, reviews in both directions, vouches,
 * a revoke, a key rotation and records signed with the rotated key, an
 * identity update. Then:
 *   - verify passes, with and without the worker pool, and cleans up;
 *   - export bin -> import -> verify gives the same head hash, and the
 *     imported datadir exports to the same bytes;
 *   - the JSON Lines export parses line by line, one line per block + 1;
 *   - a cut export fails import with "truncated" and leaves the new datadir
 *     at the last complete block, which itself verifies; trailing bytes, a
 *     wrong magic or version, an existing ledger are refused;
 *   - one corrupted byte anywhere (block body, record, header, commit
 *     signature, hash index, records index, by_subject index, identity state,
 *     tip) makes verify fail, naming the height or the table.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/export.h"
#include "ledger/genesis.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/replay.h"
#include "ledger/schema.h"
#include "ledger/store.h"
#include "node/pool.h"

#define NIDS 6 /* identities 1..NIDS; key 8 is identity 3's key after its rotation */

static rp_tip chain_tip;
static rp_hash chain_tip_chain;            /* the chain id */
static rp_hash rev_1to2, rev_2to1, eng_12; /* ids for the index tests */

/* A review that also rates two dimensions, signed with key (the issuer's
 * current key). */
static rp_record review(size_t from, uint64_t seq, size_t to, const rp_hash *eng, uint8_t stars,
                        size_t key)
{
    rp_record r = fx_base(RP_REC_REVIEW, from, seq);
    r.body.review.engagement = *eng;
    r.body.review.subject = fx.pk[to];
    r.body.review.overall = stars;
    r.body.review.dims[RP_DIM_QUALITY] = 4;
    r.body.review.dims[RP_DIM_PAYMENT] = 2;
    fx_sign(&r, 0, key);
    return r;
}

/* A "worked with" vouch, signed with key (the issuer's current key). */
static rp_record vouch(size_t from, uint64_t seq, size_t to, size_t key)
{
    rp_record r = fx_base(RP_REC_VOUCH, from, seq);
    r.body.vouch.subject = fx.pk[to];
    r.body.vouch.relation = RP_VOUCH_WORKED_WITH;
    fx_sign(&r, 0, key);
    return r;
}

/* The chain every test starts from: 7 blocks, 24 records. */
static void build_chain(void)
{
    rp_record r[16];
    for (size_t i = 1; i <= NIDS; i++)
        r[i - 1] = fx_identity(i, &fx.pk[FX_NKEYS - 1], (uint8_t)(1 + i % 3), "identité");
    fx_ok(r, NIDS); /* 1 */

    rp_record e12 = fx_engagement(1, 2, 2, RP_ENG_SPONSORSHIP),
              e34 = fx_engagement(3, 2, 4, RP_ENG_SPONSORSHIP),
              e25 = fx_engagement(2, 2, 5, RP_ENG_SPONSORSHIP);
    eng_12 = fx_id(&e12);
    rp_hash eng_34 = fx_id(&e34), eng_25 = fx_id(&e25);
    r[0] = e12, r[1] = e34, r[2] = e25;
    fx_ok(r, 3); /* 2 */

    rp_record a = review(1, 3, 2, &eng_12, 5, 1), b = review(2, 3, 1, &eng_12, 4, 2);
    rev_1to2 = fx_id(&a);
    rev_2to1 = fx_id(&b);
    r[0] = a, r[1] = b, r[2] = review(3, 3, 4, &eng_34, 3, 3), r[3] = vouch(1, 4, 2, 1);
    r[4] = review(5, 2, 2, &eng_25, 2, 5);
    fx_ok(r, 5); /* 3 */

    rp_record rv = fx_base(RP_REC_REVOKE, 1, 5);
    rv.body.revoke.target = rev_1to2;
    rv.body.revoke.reason = RP_REVOKE_RESOLVED;
    fx_sign(&rv, 0, 1);
    rp_record ro = fx_base(RP_REC_ROTATE, 3, 4);
    ro.body.rotate.new_key = fx.pk[8];
    rp_recovery_commitment(&ro.body.rotate.new_recovery, &fx.pk[FX_NKEYS - 1]);
    ro.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    fx_sign(&ro, 0, 3);
    r[0] = rv, r[1] = ro;
    fx_ok(r, 2); /* 4 */

    /* Identity 3 now signs with key 8: these miss the replay's
     * pre-verification cache and are checked against the current key. */
    r[0] = vouch(3, 5, 1, 8);
    r[1] = review(4, 2, 3, &eng_34, 5, 4);
    r[2] = review(1, 6, 2, &eng_12, 3, 1); /* the corrected review */
    r[3] = fx_engagement(3, 6, 6, RP_ENG_SPONSORSHIP);
    fx_sign(&r[3], 0, 8); /* slot 0 again, with the rotated key */
    fx_ok(r, 4);          /* 5 */

    rp_record up = fx_base(RP_REC_IDENTITY, 2, 4);
    up.body.identity.role = RP_ROLE_AGENT;
    strcpy(up.body.identity.name, "Agence Deux");
    up.body.identity.name_len = (uint8_t)strlen(up.body.identity.name);
    rp_recovery_commitment(&up.body.identity.recovery, &fx.pk[FX_NKEYS - 1]);
    fx_sign(&up, 0, 2);
    r[0] = up, r[1] = vouch(6, 2, 3, 6);
    fx_ok(r, 2); /* 6 */

    r[0] = vouch(4, 3, 5, 4), r[1] = vouch(5, 3, 4, 5);
    fx_ok(r, 2); /* 7 */
}

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-replay-test",
        .seed0 = 0x50,
        .dir_prefix = "/tmp/rp-test-replay-",
        .datadir_sub = "src",
    });
    build_chain();
    ck_assert_int_eq(rp_store_tip(fx.st, &chain_tip), 0);
    ck_assert_uint_eq(chain_tip.height, 7);
    chain_tip_chain = *fx_chain();
    /* One process must not hold an LMDB environment open twice: the tests
     * reopen the datadir as verify does. */
    rp_store_close(fx.st);
    fx.st = NULL;
}

/* A path under the test's work folder. */
static const char *path(const char *name)
{
    static char buf[4][128];
    static int n;
    char *p = buf[n++ % 4];
    snprintf(p, 128, "%s/%s", fx.work, name);
    return p;
}

static int run_verify(const char *datadir, rp_verify_batch_fn fn, void *ctx, rp_replay_report *rep)
{
    const char *scratch = path("scratch");
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    int rc = rp_replay_verify(datadir, scratch, &(rp_replay_opts){.verify = fn, .vctx = ctx}, rep);
    /* The scratch ledger is gone; the (empty) folder is the caller's. */
    struct stat sb;
    char led[160];
    snprintf(led, sizeof led, "%s/ledger", scratch);
    ck_assert_int_ne(stat(led, &sb), 0);
    ck_assert_int_eq(rmdir(scratch), 0);
    ck_assert_int_eq(rc, rep->code);
    return rc;
}

static void open_rw(void)
{
    rp_store_error err;
    ck_assert_int_eq(rp_store_open(&fx.st, fx.datadir, NULL, &err), 0);
}

static void close_st(void)
{
    rp_store_close(fx.st);
    fx.st = NULL;
}

/* Export the source datadir's chain, binary, into memory. */
static unsigned char *export_bin(const char *datadir, size_t *len)
{
    rp_store *s;
    rp_store_error err;
    rp_store_opts ro = {.read_only = 1};
    char *buf = NULL;
    size_t n = 0;
    ck_assert_int_eq(rp_store_open(&s, datadir, &ro, &err), 0);
    FILE *f = open_memstream(&buf, &n);
    ck_assert_ptr_nonnull(f);
    int rc = rp_export_write_bin(s, f, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "export: %s", err.msg);
    ck_assert_int_eq(fclose(f), 0);
    rp_store_close(s);
    *len = n;
    return (unsigned char *)buf;
}

static void write_file(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static uint64_t tip_height(const char *datadir)
{
    rp_store *s;
    rp_store_error err;
    rp_store_opts ro = {.read_only = 1};
    rp_tip t;
    ck_assert_int_eq(rp_store_open(&s, datadir, &ro, &err), 0);
    ck_assert_int_eq(rp_store_tip(s, &t), 0);
    rp_store_close(s);
    return t.height;
}

/* ---- verify ---------------------------------------------------------------- */

static int progress_calls, compare_calls;
static uint64_t progress_last;

static int count_progress(void *ctx, const rp_replay_progress *p)
{
    (void)ctx;
    if (p->stage == RP_REPLAY_COMPARE) {
        compare_calls++;
        ck_assert_uint_eq(p->height, chain_tip.height);
        return 0;
    }
    ck_assert_int_eq(compare_calls, 0);
    progress_calls++;
    ck_assert_uint_eq(p->height, progress_last + 1);
    ck_assert_uint_eq(p->total, chain_tip.height);
    progress_last = p->height;
    return 0;
}

START_TEST(test_verify_ok)
{
    rp_replay_report rep;
    ck_assert_int_eq(run_verify(fx.datadir, NULL, NULL, &rep), 0);
    ck_assert_str_eq(rep.reason, "");
    ck_assert_uint_eq(rep.blocks, 7);
    ck_assert_uint_eq(rep.records, 6 + 3 + 5 + 2 + 4 + 2 + 2);
    /* 24 records, 4 engagements with 2 signatures, 7 commit signatures. */
    ck_assert_uint_eq(rep.signatures, 24 + 4 + 7);
    ck_assert_uint_eq(rep.identities, NIDS);
    ck_assert_int_eq(memcmp(&rep.tip, &chain_tip, sizeof chain_tip), 0);
    ck_assert(rep.elapsed > 0);
}
END_TEST

START_TEST(test_verify_pool)
{
    rp_pool *pool;
    rp_replay_report rep;
    ck_assert_int_eq(rp_pool_new(&pool), 0);
    const char *scratch = path("scratch");
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    progress_calls = compare_calls = 0;
    progress_last = 0;
    int rc = rp_replay_verify(
        fx.datadir, scratch,
        &(rp_replay_opts){.verify = rp_pool_verify, .vctx = pool, .progress = count_progress},
        &rep);
    ck_assert_msg(rc == 0, "verify: %s", rep.reason);
    ck_assert_int_eq(progress_calls, 7);
    ck_assert_int_eq(compare_calls, 1);
    ck_assert_int_eq(rmdir(scratch), 0);
    rp_pool_free(pool);
}
END_TEST

static int cancel_at_3(void *ctx, const rp_replay_progress *p)
{
    (void)ctx;
    return p->height == 3 ? -ECANCELED : 0;
}

/* rp_pool_verify called from a thread of libuv's worker pool, with that
 * pool at one thread: the design built on libuv's pool queued its chunks
 * behind the very thread that waited for them, and never returned. */
#define POOL_SIGS 600
struct pool_job {
    rp_pool *pool;
    rp_sig_check *checks;
    unsigned char *ok;
    size_t failed;
};

static void pool_job_work(uv_work_t *req)
{
    struct pool_job *j = req->data;
    j->failed = rp_pool_verify(j->pool, j->checks, POOL_SIGS, j->ok);
}

static void pool_job_after(uv_work_t *req, int status)
{
    (void)req;
    ck_assert_int_eq(status, 0);
}

START_TEST(test_pool_from_uv_worker)
{
    /* Each test runs in a forked child that has not used libuv's pool yet. */
    setenv("UV_THREADPOOL_SIZE", "1", 1);
    static rp_hash msgs[POOL_SIGS];
    static rp_sig sigs[POOL_SIGS];
    static rp_sig_check checks[POOL_SIGS];
    static unsigned char ok[POOL_SIGS];
    unsigned char aux[32] = {0};
    for (size_t i = 0; i < POOL_SIGS; i++) {
        memset(msgs[i].bytes, (int)i, 32);
        ck_assert_int_eq(rp_sign(&sigs[i], msgs[i].bytes, 32, &fx.sk[i % 4], aux), 0);
        checks[i] = (rp_sig_check){msgs[i].bytes, 32, &fx.pk[i % 4], &sigs[i]};
    }
    sigs[17].bytes[5] ^= 1; /* one bad signature, found from the worker */
    struct pool_job j = {NULL, checks, ok, 0};
    ck_assert_int_eq(rp_pool_new(&j.pool), 0);
    uv_loop_t loop;
    uv_work_t req;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    req.data = &j;
    ck_assert_int_eq(uv_queue_work(&loop, &req, pool_job_work, pool_job_after), 0);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    ck_assert_uint_eq(j.failed, 1);
    for (size_t i = 0; i < POOL_SIGS; i++)
        ck_assert_int_eq(ok[i], i != 17);
    rp_pool_free(j.pool);
}
END_TEST

START_TEST(test_verify_cancel)
{
    rp_replay_report rep;
    const char *scratch = path("scratch");
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    ck_assert_int_eq(
        rp_replay_verify(fx.datadir, scratch, &(rp_replay_opts){.progress = cancel_at_3}, &rep),
        -ECANCELED);
    ck_assert_uint_eq(rep.blocks, 3);
    ck_assert_int_eq(rmdir(scratch), 0); /* empty again */
}
END_TEST

START_TEST(test_verify_missing_datadir)
{
    rp_replay_report rep;
    ck_assert_int_eq(run_verify(path("nothing"), NULL, NULL, &rep), -ENOENT);
    ck_assert_ptr_nonnull(strstr(rep.reason, "cannot open the datadir"));
}
END_TEST

/* ---- export and import ------------------------------------------------------- */

START_TEST(test_roundtrip)
{
    size_t len, len2;
    unsigned char *bin = export_bin(fx.datadir, &len);
    write_file(path("chain.bin"), bin, len);

    rp_pool *pool;
    rp_replay_report rep;
    ck_assert_int_eq(rp_pool_new(&pool), 0);
    const char *copy = path("copy");
    int rc = rp_replay_import(path("chain.bin"), copy,
                              &(rp_replay_opts){.verify = rp_pool_verify, .vctx = pool}, &rep);
    ck_assert_msg(rc == 0, "import: %s", rep.reason);
    ck_assert_uint_eq(rep.blocks, 7);
    ck_assert_uint_eq(rep.identities, NIDS);
    ck_assert(rp_hash_eq(&rep.tip.head_hash, &chain_tip.head_hash));
    struct stat sb;
    ck_assert_int_eq(stat(copy, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0700);

    ck_assert_int_eq(run_verify(copy, rp_pool_verify, pool, &rep), 0);
    ck_assert(rp_hash_eq(&rep.tip.head_hash, &chain_tip.head_hash));
    ck_assert(rp_hash_eq(&rep.tip.state_hash, &chain_tip.state_hash));

    /* The copy exports to the same bytes. */
    unsigned char *bin2 = export_bin(copy, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert_int_eq(memcmp(bin, bin2, len), 0);

    /* Importing again over it resumes after its tip: every block is found to
     * be the export's own and skipped, and nothing changes. */
    ck_assert_int_eq(rp_replay_import(path("chain.bin"), copy, NULL, &rep), 0);
    ck_assert_uint_eq(rep.resumed_from, 7);
    ck_assert_uint_eq(rep.blocks, 0);
    ck_assert_uint_eq(tip_height(copy), 7);
    unsigned char *bin3 = export_bin(copy, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert_int_eq(memcmp(bin, bin3, len), 0);
    free(bin3);
    free(bin);
    free(bin2);
    rp_pool_free(pool);
}
END_TEST

static int count_blocks(void *ctx, const rp_export_block *b)
{
    uint64_t *n = ctx;
    ck_assert_uint_eq(b->height, ++*n);
    return 0;
}

/* An import into a datadir of another chain is refused and changes
 * nothing there. */
START_TEST(test_import_other_chain)
{
    size_t len;
    unsigned char *bin = export_bin(fx.datadir, &len);
    write_file(path("chain.bin"), bin, len);
    free(bin);
    char vec[512];
    snprintf(vec, sizeof vec, "%s/chain-v1.bin", getenv("RP_VECTORS"));
    rp_replay_report rep;
    ck_assert_int_eq(rp_replay_import(vec, path("other"), NULL, &rep), 0);
    uint64_t before = tip_height(path("other"));
    int rc = rp_replay_import(path("chain.bin"), path("other"), NULL, &rep);
    ck_assert_int_eq(rc, RP_ERR_CHAIN_MISMATCH);
    ck_assert_ptr_nonnull(strstr(rep.reason, "another chain"));
    ck_assert_uint_eq(tip_height(path("other")), before);
}
END_TEST

/* A chain written by the code before the one execution path existed
 * (tests/vectors/chain-v1.bin: repute-gen --identities 60 --reviews 300
 * --sybil 10 --attack-edges 3 --records-per-block 3 --seed 7, 214 blocks,
 * two score epochs) imports with every state hash in its headers
 * recomputed and equal, and exports back to the same bytes. */
START_TEST(test_import_golden_chain)
{
    char vec[512];
    snprintf(vec, sizeof vec, "%s/chain-v1.bin", getenv("RP_VECTORS"));
    FILE *f = fopen(vec, "rb");
    ck_assert_ptr_nonnull(f);
    static unsigned char want[1 << 20];
    size_t wlen = fread(want, 1, sizeof want, f);
    fclose(f);
    ck_assert_uint_gt(wlen, 0);
    rp_replay_report rep;
    int rc = rp_replay_import(vec, path("golden"), NULL, &rep);
    ck_assert_msg(rc == 0, "import: %s", rep.reason);
    ck_assert_uint_eq(rep.tip.height, 214);
    ck_assert_uint_eq(rep.tip.epoch, 2);
    char head[65];
    rp_hex_encode(head, sizeof head, rep.tip.head_hash.bytes, 32);
    ck_assert_str_eq(head, "c9fdbc9f80c40ca1d9edc3d7ab6af1f3ede44d3457690cf47aa491c27e17ca4e");
    size_t len;
    unsigned char *bin = export_bin(path("golden"), &len);
    ck_assert_uint_eq(len, wlen);
    ck_assert_int_eq(memcmp(bin, want, len), 0);
    free(bin);
}
END_TEST

START_TEST(test_decode_memory)
{
    size_t len;
    unsigned char *bin = export_bin(fx.datadir, &len);
    rp_genesis *g = malloc(sizeof *g);
    uint64_t seen = 0, n;
    rp_store_error err;
    ck_assert_int_eq(rp_export_decode(bin, len, g, count_blocks, &seen, &n, &err), 0);
    ck_assert_uint_eq(n, 7);
    ck_assert_uint_eq(seen, 7);
    ck_assert_str_eq(g->chain_name, fx.gen->chain_name);
    ck_assert_int_eq(memcmp(bin, RP_EXPORT_MAGIC, 8), 0);
    /* The last four bytes are the end marker. */
    static const unsigned char zero[4];
    ck_assert_int_eq(memcmp(bin + len - 4, zero, 4), 0);
    free(g);
    free(bin);
}
END_TEST

START_TEST(test_jsonl)
{
    rp_store *s;
    rp_store_error err;
    rp_store_opts ro = {.read_only = 1};
    char *buf = NULL;
    size_t n = 0;
    ck_assert_int_eq(rp_store_open(&s, fx.datadir, &ro, &err), 0);
    FILE *f = open_memstream(&buf, &n);
    ck_assert_int_eq(rp_export_write_jsonl(s, f, NULL, NULL, &err), 0);
    ck_assert_int_eq(fclose(f), 0);
    char chain_hex[65], head_hex[65];
    rp_hex_encode(chain_hex, sizeof chain_hex, rp_store_chain_id(s)->bytes, 32);
    rp_hex_encode(head_hex, sizeof head_hex, chain_tip.head_hash.bytes, 32);
    rp_store_close(s);

    size_t lines = 0, records = 0, types[RP_REC_TYPE_MAX + 1] = {0};
    char *save = NULL;
    ck_assert(n > 0 && buf[n - 1] == '\n');
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        ck_assert_msg(o != NULL, "line %zu: %s", lines + 1, je.text);
        const char *type = json_string_value(json_object_get(o, "type"));
        ck_assert_ptr_nonnull(type);
        if (lines == 0) {
            ck_assert_str_eq(type, "genesis");
            ck_assert_str_eq(json_string_value(json_object_get(o, "chain_id")), chain_hex);
            ck_assert_str_eq(json_string_value(json_object_get(o, "chain_name")),
                             "repute-replay-test");
            ck_assert(json_is_object(json_object_get(o, "params")));
            /* Without "type" and "chain_id" the line is a genesis file of
             * the same chain. */
            json_object_del(o, "type");
            json_object_del(o, "chain_id");
            char *doc = json_dumps(o, 0);
            rp_genesis *g = malloc(sizeof *g);
            rp_hash id;
            char gerr[256];
            ck_assert_ptr_nonnull(doc);
            ck_assert_ptr_nonnull(g);
            ck_assert_msg(rp_genesis_parse(g, doc, strlen(doc), gerr, sizeof gerr) == 0, "%s",
                          gerr);
            ck_assert_int_eq(rp_genesis_chain_id(&id, g), 0);
            ck_assert(rp_hash_eq(&id, &chain_tip_chain));
            free(doc);
            free(g);
        } else {
            char want[24];
            snprintf(want, sizeof want, "%zu", lines);
            ck_assert_str_eq(type, "block");
            ck_assert_str_eq(json_string_value(json_object_get(o, "height")), want);
            json_t *h = json_object_get(o, "header");
            ck_assert_str_eq(json_string_value(json_object_get(h, "height")), want);
            ck_assert(json_is_string(json_object_get(h, "time_ms")));
            ck_assert(json_is_string(json_object_get(h, "epoch")));
            ck_assert_str_eq(json_string_value(json_object_get(h, "chain_id")), chain_hex);
            if (lines == chain_tip.height)
                ck_assert_str_eq(json_string_value(json_object_get(o, "hash")), head_hex);
            json_t *c = json_object_get(o, "commit");
            ck_assert_str_eq(json_string_value(json_object_get(c, "height")), want);
            ck_assert_int_eq(json_integer_value(json_object_get(c, "round")), 0);
            ck_assert_uint_eq(json_array_size(json_object_get(c, "signatures")), 1);
            json_t *recs = json_object_get(o, "records");
            ck_assert_uint_eq(json_array_size(recs),
                              (size_t)json_integer_value(json_object_get(h, "record_count")));
            size_t i;
            json_t *r;
            json_array_foreach(recs, i, r)
            {
                const char *rt = json_string_value(json_object_get(r, "type"));
                ck_assert_int_eq(json_integer_value(json_object_get(r, "index")), (json_int_t)i);
                ck_assert(json_is_string(json_object_get(r, "sequence")));
                ck_assert_uint_eq(strlen(json_string_value(json_object_get(r, "id"))), 64);
                ck_assert_uint_eq(strlen(json_string_value(json_object_get(r, "issuer"))), 64);
                ck_assert(json_is_string(json_object_get(r, "hex")));
                size_t nsig = json_array_size(json_object_get(r, "signatures"));
                for (unsigned t = 1; t <= RP_REC_TYPE_MAX; t++)
                    if (!strcmp(rt, rp_record_type_name(t)))
                        types[t]++;
                if (!strcmp(rt, "identity")) {
                    ck_assert(json_is_string(json_object_get(r, "name")));
                    ck_assert(json_is_string(json_object_get(r, "role")));
                    ck_assert(json_is_string(json_object_get(r, "pow_nonce")));
                } else if (!strcmp(rt, "engagement")) {
                    ck_assert_str_eq(json_string_value(json_object_get(r, "kind")), "sponsorship");
                    ck_assert(json_is_string(json_object_get(r, "expiry")));
                } else if (!strcmp(rt, "review")) {
                    ck_assert(json_is_integer(json_object_get(r, "overall")));
                    ck_assert_int_eq(json_integer_value(json_object_get(r, "quality")), 4);
                    ck_assert_int_eq(json_integer_value(json_object_get(r, "reliability")), 0);
                } else if (!strcmp(rt, "vouch")) {
                    ck_assert_str_eq(json_string_value(json_object_get(r, "relation")),
                                     "worked_with");
                } else if (!strcmp(rt, "revoke")) {
                    ck_assert_str_eq(json_string_value(json_object_get(r, "reason")), "resolved");
                } else if (!strcmp(rt, "rotate")) {
                    ck_assert_str_eq(json_string_value(json_object_get(r, "auth")), "current");
                }
                ck_assert_uint_eq(nsig, strcmp(rt, "engagement") ? 1 : 2);
                records++;
            }
        }
        json_decref(o);
        lines++;
    }
    ck_assert_uint_eq(lines, chain_tip.height + 1);
    ck_assert_uint_eq(records, 24);
    ck_assert_uint_eq(types[RP_REC_IDENTITY], 7);
    ck_assert_uint_eq(types[RP_REC_ENGAGEMENT], 4);
    ck_assert_uint_eq(types[RP_REC_REVIEW], 6);
    ck_assert_uint_eq(types[RP_REC_VOUCH], 5);
    ck_assert_uint_eq(types[RP_REC_REVOKE], 1);
    ck_assert_uint_eq(types[RP_REC_ROTATE], 1);
    free(buf);
}
END_TEST

/* Offsets of each block's frame in a binary export. */
static size_t block_offsets(const unsigned char *bin, size_t len, size_t *offs, size_t max)
{
    size_t pos = 9, n = 0;
    uint32_t g = (uint32_t)bin[pos] << 24 | (uint32_t)bin[pos + 1] << 16 |
                 (uint32_t)bin[pos + 2] << 8 | bin[pos + 3];
    pos += 4 + g;
    while (pos + 4 <= len && n < max) {
        uint32_t b = (uint32_t)bin[pos] << 24 | (uint32_t)bin[pos + 1] << 16 |
                     (uint32_t)bin[pos + 2] << 8 | bin[pos + 3];
        if (b == 0)
            break;
        offs[n++] = pos;
        pos += 4 + b;
        uint32_t c = (uint32_t)bin[pos] << 24 | (uint32_t)bin[pos + 1] << 16 |
                     (uint32_t)bin[pos + 2] << 8 | bin[pos + 3];
        pos += 4 + c;
    }
    offs[n] = pos; /* the end marker */
    return n;
}

START_TEST(test_truncated)
{
    size_t len, offs[16];
    unsigned char *bin = export_bin(fx.datadir, &len);
    ck_assert_uint_eq(block_offsets(bin, len, offs, 15), 7);
    ck_assert_uint_eq(offs[7] + 4, len);
    struct {
        size_t cut;
        uint64_t complete; /* blocks fully in the cut stream */
        int code;
        const char *says;
    } cases[] = {
        {0, 0, RP_ERR_BAD_TYPE, "empty"},
        {5, 0, RP_ERR_TRUNCATED, "truncated"},
        {12, 0, RP_ERR_TRUNCATED, "truncated"},
        {offs[0] - 3, 0, RP_ERR_TRUNCATED, "truncated"},
        {offs[0], 0, RP_ERR_TRUNCATED, "truncated at block 1"},
        {offs[0] + 2, 0, RP_ERR_TRUNCATED, "truncated at block 1"},
        {offs[0] + 100, 0, RP_ERR_TRUNCATED, "truncated at block 1"},
        {offs[3] - 10, 2, RP_ERR_TRUNCATED, "truncated at block 3"}, /* inside the commit */
        {offs[3] - 2, 2, RP_ERR_TRUNCATED, "truncated at block 3"},
        {offs[3], 3, RP_ERR_TRUNCATED, "truncated at block 4"},
        {offs[5] + 300, 5, RP_ERR_TRUNCATED, "truncated at block 6"},
        {offs[7], 7, RP_ERR_TRUNCATED, "without the end marker"},
        {len - 1, 7, RP_ERR_TRUNCATED, "truncated at block 8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32], into[32];
        rp_replay_report rep;
        snprintf(name, sizeof name, "cut%zu.bin", i);
        snprintf(into, sizeof into, "cut%zu", i);
        write_file(path(name), bin, cases[i].cut);
        int rc = rp_replay_import(path(name), path(into), NULL, &rep);
        ck_assert_msg(rc == cases[i].code, "cut at %zu: got %d (%s)", cases[i].cut, rc, rep.reason);
        ck_assert_msg(strstr(rep.reason, cases[i].says) != NULL, "cut at %zu: \"%s\"", cases[i].cut,
                      rep.reason);
        ck_assert_uint_eq(rep.blocks, cases[i].complete);
        ck_assert_uint_eq(rep.tip.height, cases[i].complete);
        struct stat sb;
        if (cases[i].cut < offs[0]) {
            /* A stream whose header is bad creates nothing. */
            ck_assert_int_ne(stat(path(into), &sb), 0);
            continue;
        }
        /* The datadir holds exactly the complete blocks, and they verify. */
        ck_assert_uint_eq(tip_height(path(into)), cases[i].complete);
        ck_assert_uint_eq(rep.failed_height, cases[i].complete + 1);
        ck_assert_int_eq(run_verify(path(into), NULL, NULL, &rep), 0);
        ck_assert_uint_eq(rep.tip.height, cases[i].complete);
    }
    free(bin);
}
END_TEST

START_TEST(test_bad_streams)
{
    size_t len;
    unsigned char *bin = export_bin(fx.datadir, &len);
    unsigned char *b = malloc(len + 8);
    rp_replay_report rep;
    ck_assert_ptr_nonnull(b);

    /* Bytes after the end marker. */
    memcpy(b, bin, len);
    b[len] = 0;
    write_file(path("trailing.bin"), b, len + 1);
    ck_assert_int_eq(rp_replay_import(path("trailing.bin"), path("t"), NULL, &rep),
                     RP_ERR_TRAILING);
    ck_assert_ptr_nonnull(strstr(rep.reason, "follow the end marker"));
    ck_assert_uint_eq(rep.tip.height, 7); /* every block was good */

    /* Wrong magic, wrong version. */
    memcpy(b, bin, len);
    b[0] = 'X';
    write_file(path("magic.bin"), b, len);
    ck_assert_int_eq(rp_replay_import(path("magic.bin"), path("m"), NULL, &rep), RP_ERR_BAD_TYPE);
    ck_assert_ptr_nonnull(strstr(rep.reason, "not a repute export"));
    b[0] = 'R';
    b[8] = 2;
    write_file(path("version.bin"), b, len);
    ck_assert_int_eq(rp_replay_import(path("version.bin"), path("v"), NULL, &rep),
                     RP_ERR_BAD_VERSION);
    ck_assert_ptr_nonnull(strstr(rep.reason, "version 2"));
    struct stat sb;
    ck_assert_int_ne(stat(path("m"), &sb), 0);
    ck_assert_int_ne(stat(path("v"), &sb), 0);

    /* A huge block length is refused before anything is allocated. */
    size_t offs[16];
    block_offsets(bin, len, offs, 15);
    memcpy(b, bin, len);
    b[offs[0]] = 0x7f;
    write_file(path("huge.bin"), b, len);
    ck_assert_int_eq(rp_replay_import(path("huge.bin"), path("h"), NULL, &rep), RP_ERR_TOO_LONG);

    /* A damaged block 5 (its last byte, in a signature): the import keeps
     * blocks 1-4 and names block 5. */
    memcpy(b, bin, len);
    {
        size_t at = offs[4];
        uint32_t blen = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 |
                        (uint32_t)b[at + 2] << 8 | b[at + 3];
        b[at + 4 + blen - 1] ^= 0x01; /* last byte of the block: a signature */
    }
    write_file(path("badsig.bin"), b, len);
    int rc = rp_replay_import(path("badsig.bin"), path("s"), NULL, &rep);
    ck_assert_int_ne(rc, 0);
    ck_assert_uint_eq(rep.failed_height, 5);
    ck_assert_uint_eq(rep.tip.height, 4);
    ck_assert_uint_eq(tip_height(path("s")), 4);

    /* A missing file. */
    ck_assert_int_eq(rp_replay_import(path("nope.bin"), path("n"), NULL, &rep), -ENOENT);
    free(b);
    free(bin);
}
END_TEST

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rebuild block h of a binary export in place with one bit of one record's
 * last signature flipped, and a matching Merkle root, header and commit
 * signed by the validator: a block that only the signature check refuses.
 * The lengths do not change. */
static void bad_signature_block(unsigned char *bin, const size_t *offs, uint64_t h, size_t rec)
{
    size_t at = offs[h - 1];
    uint32_t blen = get32(bin + at);
    unsigned char *blk = bin + at + 4;
    rp_header hd;
    rp_block_item items[16];
    ck_assert_int_eq(rp_block_decode(&hd, items, 16, blk, blen), 0);
    ck_assert_uint_lt(rec, hd.record_count);
    size_t last = (size_t)(items[rec].bytes - blk) + items[rec].len - 1;
    blk[last] ^= 0x01;
    ck_assert_int_eq(rp_block_records_root(&hd.records_root, items, hd.record_count), 0);
    ck_assert_int_eq(rp_header_encode(&hd, blk), 0);

    rp_hash hh, vote;
    rp_commit cm;
    unsigned char aux[32] = {0}, cbuf[RP_COMMIT_MAX_SIZE];
    size_t clen;
    rp_header_hash(&hh, &hd);
    rp_vote_message(&vote, &hd.chain_id, h, 0, RP_VOTE_PRECOMMIT, &hh);
    memset(&cm, 0, sizeof cm);
    cm.version = RP_COMMIT_VERSION;
    cm.height = h;
    cm.block_hash = hh;
    cm.count = 1;
    ck_assert_int_eq(rp_sign(&cm.sigs[0].sig, vote.bytes, 32, &fx.sk[0], aux), 0);
    ck_assert_int_eq(rp_commit_encode(&cm, cbuf, sizeof cbuf, &clen), 0);
    ck_assert_uint_eq(get32(bin + at + 4 + blen), clen);
    memcpy(bin + at + 4 + blen + 4, cbuf, clen);
}

START_TEST(test_bad_signature_named)
{
    size_t len, offs[16];
    rp_replay_report rep;
    unsigned char *bin = export_bin(fx.datadir, &len);
    unsigned char *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, bin, len);
    ck_assert_uint_eq(block_offsets(bin, len, offs, 15), 7);

    /* Record 3 of block 5 is an ENGAGEMENT; its last bytes are the
     * counterparty's signature. */
    bad_signature_block(bin, offs, 5, 3);
    write_file(path("sig3.bin"), bin, len);
    int rc = rp_replay_import(path("sig3.bin"), path("s3"), NULL, &rep);
    ck_assert_int_eq(rc, RP_ERR_BAD_SIGNATURE);
    ck_assert_uint_eq(rep.failed_height, 5);
    ck_assert_msg(strstr(rep.reason, "record 3 (engagement, seq 6): a signature does not verify "
                                     "with the signer's current key") != NULL,
                  "%s", rep.reason);
    ck_assert_uint_eq(rep.tip.height, 4);

    /* Record 0 is signed with a rotated key (the replay's pre-verification
     * against the record's own issuer key misses it). */
    bad_signature_block(copy, offs, 5, 0);
    write_file(path("sig0.bin"), copy, len);
    rc = rp_replay_import(path("sig0.bin"), path("s0"), NULL, &rep);
    ck_assert_int_eq(rc, RP_ERR_BAD_SIGNATURE);
    ck_assert_ptr_nonnull(strstr(rep.reason, "record 0 (vouch, seq 5)"));
    ck_assert_uint_eq(rep.tip.height, 4);
    free(copy);
    free(bin);
}
END_TEST

/* ---- corruption ------------------------------------------------------------------ */

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

/* Flip one byte of one raw entry (offset from the end if negative). */
static void flip(int table, const void *key, size_t klen, long at)
{
    unsigned char *v;
    size_t len;
    open_rw();
    ck_assert_int_eq(rp_store_debug_get(fx.st, table, key, klen, &v, &len), 0);
    size_t i = at < 0 ? len - (size_t)(-at) : (size_t)at;
    ck_assert_uint_lt(i, len);
    v[i] ^= 0x01;
    ck_assert_int_eq(rp_store_debug_put(fx.st, table, key, klen, v, len), 0);
    free(v);
    close_st();
}

static void expect_failure(uint64_t height, const char *says)
{
    rp_replay_report rep;
    int rc = run_verify(fx.datadir, NULL, NULL, &rep);
    ck_assert_msg(rc != 0, "verify passed a corrupted datadir");
    ck_assert_msg(rep.failed_height == height, "failed at %llu, want %llu: %s",
                  (unsigned long long)rep.failed_height, (unsigned long long)height, rep.reason);
    ck_assert_msg(strstr(rep.reason, says) != NULL, "reason \"%s\" does not say \"%s\"", rep.reason,
                  says);
}

START_TEST(test_corrupt_body_framing)
{
    unsigned char k[8];
    be64(k, 3);
    flip(RP_DB_BODIES, k, 8, 1); /* the first record's length */
    expect_failure(3, "");
}
END_TEST

START_TEST(test_corrupt_record)
{
    unsigned char k[8];
    be64(k, 3);
    flip(RP_DB_BODIES, k, 8, 40); /* inside the first record's sequence */
    expect_failure(3, "Merkle root");
}
END_TEST

START_TEST(test_corrupt_header)
{
    unsigned char k[8];
    be64(k, 4);
    flip(RP_DB_HEADERS, k, 8, 50); /* prev_hash */
    expect_failure(4, "");
}
END_TEST

START_TEST(test_corrupt_commit_signature)
{
    unsigned char k[8];
    be64(k, 2);
    flip(RP_DB_COMMITS, k, 8, -1);
    expect_failure(2, "commit");
}
END_TEST

START_TEST(test_corrupt_tip_commit_signature)
{
    unsigned char k[8];
    be64(k, 7);
    flip(RP_DB_COMMITS, k, 8, -10);
    expect_failure(7, "commit");
}
END_TEST

START_TEST(test_corrupt_signature)
{
    /* Replace block 5 in the datadir by one whose root, header and commit
     * are right but one record signature is not: only the signature check
     * can tell, and verify names the record. */
    size_t len, offs[16];
    unsigned char *bin = export_bin(fx.datadir, &len);
    ck_assert_uint_eq(block_offsets(bin, len, offs, 15), 7);
    bad_signature_block(bin, offs, 5, 3);
    size_t at = offs[4];
    uint32_t blen = get32(bin + at), clen = get32(bin + at + 4 + blen);
    unsigned char k[8];
    be64(k, 5);
    open_rw();
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_HEADERS, k, 8, bin + at + 4, RP_HEADER_SIZE),
                     0);
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_BODIES, k, 8, bin + at + 4 + RP_HEADER_SIZE,
                                        blen - RP_HEADER_SIZE),
                     0);
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_COMMITS, k, 8, bin + at + 8 + blen, clen), 0);
    close_st();
    expect_failure(5, "record 3 (engagement, seq 6): a signature does not verify with the "
                      "signer's current key");
    free(bin);
}
END_TEST

START_TEST(test_corrupt_hash_index)
{
    rp_header h;
    rp_hash hh;
    rp_store_opts ro = {.read_only = 1};
    rp_store_error err;
    rp_store *s;
    ck_assert_int_eq(rp_store_open(&s, fx.datadir, &ro, &err), 0);
    ck_assert_int_eq(rp_store_read_header(s, 2, &h), 0);
    rp_store_close(s);
    rp_header_hash(&hh, &h);
    flip(RP_DB_HASH_HEIGHT, hh.bytes, 32, -1);
    expect_failure(2, "hash_height");

    /* A missing entry, too. */
    open_rw();
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_HASH_HEIGHT, hh.bytes, 32, NULL, 0), 0);
    close_st();
    expect_failure(2, "no entry");
}
END_TEST

START_TEST(test_corrupt_records_index)
{
    flip(RP_DB_RECORDS, rev_2to1.bytes, 32, -1);
    expect_failure(0, "table records");
}
END_TEST

START_TEST(test_corrupt_by_subject)
{
    unsigned char k[64];
    memcpy(k, fx.pk[1].bytes, 32);
    memcpy(k + 32, rev_2to1.bytes, 32);
    /* The entry's value is empty: "flip" it by giving it one byte. */
    open_rw();
    unsigned char *v;
    size_t len;
    ck_assert_int_eq(rp_store_debug_get(fx.st, RP_DB_BY_SUBJECT, k, 64, &v, &len), 0);
    ck_assert_uint_eq(len, 0);
    free(v);
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_BY_SUBJECT, k, 64, "\x01", 1), 0);
    close_st();
    expect_failure(0, "table by_subject");

    /* And one byte of the key: the real entry is gone, a stray one is there. */
    open_rw();
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_BY_SUBJECT, k, 64, NULL, 0), 0);
    k[63] ^= 1;
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_BY_SUBJECT, k, 64, "", 0), 0);
    close_st();
    expect_failure(0, "table by_subject");
}
END_TEST

START_TEST(test_corrupt_identity)
{
    flip(RP_DB_IDENTITIES, fx.pk[2].bytes, 32, -1);
    char hex[65];
    rp_hex_encode(hex, sizeof hex, fx.pk[2].bytes, 32);
    expect_failure(0, "table identities");
    expect_failure(0, hex);
}
END_TEST

START_TEST(test_corrupt_tip)
{
    flip(RP_DB_META, "tip", 3, 8 + 32 + 5); /* the state hash */
    expect_failure(0, "state hash");
}
END_TEST

START_TEST(test_missing_block)
{
    unsigned char k[8];
    be64(k, 4);
    open_rw();
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_BODIES, k, 8, NULL, 0), 0);
    close_st();
    expect_failure(4, "block 4 cannot be read: its header or body is missing");
}
END_TEST

START_TEST(test_extra_block)
{
    /* A header beyond the tip that the chain does not account for. */
    unsigned char k[8], *v;
    size_t len;
    be64(k, 7);
    open_rw();
    ck_assert_int_eq(rp_store_debug_get(fx.st, RP_DB_HEADERS, k, 8, &v, &len), 0);
    be64(k, 9);
    ck_assert_int_eq(rp_store_debug_put(fx.st, RP_DB_HEADERS, k, 8, v, len), 0);
    free(v);
    close_st();
    expect_failure(0, "table headers");
}
END_TEST

static Suite *replay_suite(void)
{
    Suite *s = suite_create("replay");
    TCase *tc;

    tc = tcase_create("verify");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_verify_ok);
    tcase_add_test(tc, test_verify_pool);
    tcase_add_test(tc, test_verify_cancel);
    tcase_add_test(tc, test_pool_from_uv_worker);
    tcase_add_test(tc, test_verify_missing_datadir);
    suite_add_tcase(s, tc);

    tc = tcase_create("export");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_import_other_chain);
    tcase_add_test(tc, test_import_golden_chain);
    tcase_add_test(tc, test_decode_memory);
    tcase_add_test(tc, test_jsonl);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_bad_streams);
    tcase_add_test(tc, test_bad_signature_named);
    suite_add_tcase(s, tc);

    tc = tcase_create("corruption");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corrupt_body_framing);
    tcase_add_test(tc, test_corrupt_record);
    tcase_add_test(tc, test_corrupt_header);
    tcase_add_test(tc, test_corrupt_commit_signature);
    tcase_add_test(tc, test_corrupt_tip_commit_signature);
    tcase_add_test(tc, test_corrupt_signature);
    tcase_add_test(tc, test_corrupt_hash_index);
    tcase_add_test(tc, test_corrupt_records_index);
    tcase_add_test(tc, test_corrupt_by_subject);
    tcase_add_test(tc, test_corrupt_identity);
    tcase_add_test(tc, test_corrupt_tip);
    tcase_add_test(tc, test_missing_block);
    tcase_add_test(tc, test_extra_block);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    SRunner *sr = srunner_create(replay_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
