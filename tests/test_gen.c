/* Check suite for the chain generator (node/gen/gen.h): a small chain is valid
 * and has the counts it promises, replays into a fresh store to the same
 * state, is reproducible from its seed and differs with another, and ends
 * with a committed score epoch covering its last records; the manifest and
 * genesis files describe it; an existing datadir and bad options are
 * refused without touching anything. And end to end: the built repute-gen
 * ($RP_REPUTE_GEN) writes a datadir on which the built reputed ($RP_REPUTED)
 * runs at once, serving the generated chain over its socket and making the
 * next block when a record comes.
 *
 * Every test gets a fresh temporary directory (the datadirs are created
 * inside it, so the generator's own mkdir is exercised too) and a worker
 * pool of its own, made in the forked test process. Programs started here
 * die with the test process (PR_SET_PDEATHSIG), even when an assertion
 * ends it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/replay.h"
#include "ledger/schema.h"
#include "ledger/store.h"
#include "node/config.h"
#include "node/gen/gen.h"
#include "node/init.h"
#include "node/pool.h"
#include "node/rpc_client.h"

/* The chain the brief asks for: N=40, M=200, S=10, K=2, seed 7. Small blocks
 * so that it spans several of them. */
#define N    40
#define M    200
#define S    10
#define K    2
#define SEED 7
#define RPB  50

static char tmp[64];
static rp_pool *pool;
static char reputed_bin[4096], gen_bin[4096]; /* "": the end-to-end test is not run */
static pid_t node_pid;

static void setup(void)
{
    strcpy(tmp, "/tmp/rp-test-gen-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    ck_assert_int_eq(rp_pool_new(&pool), 0);
}

static void teardown(void)
{
    char cmd[128];
    if (node_pid > 0) {
        kill(node_pid, SIGKILL);
        waitpid(node_pid, NULL, 0);
        node_pid = 0;
    }
    rp_pool_free(pool);
    pool = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

/* A path inside the test's directory (a static buffer per slot). */
static const char *path(int slot, const char *name)
{
    static char buf[4][128];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp, name);
    return buf[slot];
}

static rp_gen_opts opts(const char *datadir, uint64_t seed)
{
    rp_gen_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = datadir;
    o.identities = N;
    o.reviews = M;
    o.sybil = S;
    o.attack_edges = K;
    o.seed = seed;
    o.records_per_block = RPB;
    o.pool = pool;
    return o;
}

static void run_ok(const rp_gen_opts *o, rp_gen_stats *st)
{
    char err[512];
    int rc = rp_gen_run(o, st, err, sizeof err);
    ck_assert_msg(rc == 0, "rp_gen_run: %d (%s): %s", rc, rp_strerror(rc), err);
    ck_assert_str_eq(err, "");
}

static uint64_t count(rp_store *s, int table)
{
    uint64_t n;
    ck_assert_int_eq(rp_store_count(s, table, &n), 0);
    return n;
}

/* Progress reports: heights consecutive, records growing to the total, then
 * staying there through the empty blocks that settle the last epoch. */
struct seen {
    uint64_t calls, height, records, total;
};

static void on_progress(void *ctx, uint64_t height, uint64_t records, uint64_t total)
{
    struct seen *s = ctx;
    ck_assert_uint_eq(height, s->height + 1);
    if (s->records < s->total || !s->calls)
        ck_assert_uint_gt(records, s->records);
    else
        ck_assert_uint_eq(records, s->records);
    ck_assert_uint_le(records, total);
    if (s->calls)
        ck_assert_uint_eq(total, s->total);
    s->calls++;
    s->height = height;
    s->records = records;
    s->total = total;
}

START_TEST(test_small_chain)
{
    rp_gen_opts o = opts(path(0, "chain"), SEED);
    rp_gen_stats st;
    struct seen seen = {0};
    o.genesis_out = path(1, "genesis.json");
    o.progress = on_progress;
    o.progress_ctx = &seen;
    run_ok(&o, &st);

    /* What the options promise. */
    const uint64_t ring = S * 3;
    ck_assert_uint_eq(st.identities, N + S);
    ck_assert_uint_eq(st.reviews, M + 2 * ring + K);
    ck_assert_uint_eq(st.vouches, N / 10);
    ck_assert_uint_eq(st.revokes, M / 100);
    ck_assert_uint_eq(st.records,
                      st.identities + st.engagements + st.reviews + st.vouches + st.revokes);
    ck_assert_uint_ge(st.blocks - st.settle_blocks, st.records / RPB);
    ck_assert_uint_eq(seen.calls, st.blocks);
    ck_assert_uint_eq(seen.records, st.records);
    ck_assert_uint_eq(seen.total, st.records);

    /* What the ledger holds. */
    rp_store *s;
    rp_store_error err;
    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, &err), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(s, &tip), 0);
    ck_assert_uint_gt(tip.height, 0);
    ck_assert_uint_eq(tip.height, st.blocks);
    ck_assert(rp_hash_eq(&tip.head_hash, &st.head));
    ck_assert_uint_eq(tip.time_ms, (RP_GEN_GENESIS_TIME + tip.height) * 1000);
    ck_assert_uint_eq(count(s, RP_DB_IDENTITIES), N + S); /* the pre-trusted are among N */
    ck_assert_uint_eq(count(s, RP_DB_RECORDS), st.records);
    ck_assert_uint_eq(count(s, RP_DB_ENGAGEMENTS), st.engagements);
    ck_assert_uint_gt(count(s, RP_DB_REVIEWS), 0);
    ck_assert_uint_eq(count(s, RP_DB_REVIEWS), st.reviews);
    ck_assert_uint_eq(count(s, RP_DB_BY_SUBJECT), st.reviews - st.revokes);
    ck_assert_uint_eq(count(s, RP_DB_VOUCHES), st.vouches);
    ck_assert_uint_eq(count(s, RP_DB_REVOCATIONS), st.revokes);

    /* Blocks hold at most RPB records, then none, and are timed as
     * documented. */
    uint64_t last = tip.height - st.settle_blocks;
    for (uint64_t h = 1; h <= tip.height; h++) {
        rp_header hd;
        ck_assert_int_eq(rp_store_read_header(s, h, &hd), 0);
        ck_assert_uint_eq(hd.time_ms, (RP_GEN_GENESIS_TIME + h) * 1000);
        ck_assert_uint_le(hd.record_count, RPB);
        if (h <= last)
            ck_assert_uint_gt(hd.record_count, 0);
        else
            ck_assert_uint_eq(hd.record_count, 0);
    }

    /* The genesis file is this chain's genesis, with its pre-trusted
     * identities registered. */
    rp_genesis *g = malloc(sizeof *g);
    char gerr[256];
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(rp_genesis_load(g, o.genesis_out, gerr, sizeof gerr), 0);
    rp_hash cid;
    ck_assert_int_eq(rp_genesis_chain_id(&cid, g), 0);
    ck_assert(rp_hash_eq(&cid, rp_store_chain_id(s)));
    ck_assert_str_eq(g->chain_name, "repute-gen");
    ck_assert_uint_eq(g->genesis_time, RP_GEN_GENESIS_TIME);
    ck_assert_uint_eq(g->params.pow_difficulty, RP_GEN_DEFAULT_POW_DIFFICULTY);
    ck_assert_uint_ge(g->params.max_block_records, RPB);
    ck_assert_uint_eq(g->npretrusted, 3);
    for (size_t i = 0; i < g->npretrusted; i++) {
        rp_identity_state is;
        ck_assert_int_eq(rp_store_read_identity(s, &g->pretrusted[i], &is), 0);
        ck_assert_uint_eq(is.registered_height, 1);
    }

    /* An independent replay: every block and commit, applied to a fresh
     * store of the same genesis, gives the same tip and the same state. */
    const char *dir2 = path(2, "replay");
    ck_assert_int_eq(mkdir(dir2, 0700), 0);
    rp_store *b;
    ck_assert_int_eq(rp_store_create(&b, dir2, g, NULL, &err), 0);
    for (uint64_t h = 1; h <= tip.height; h++) {
        unsigned char *blk, *cm;
        size_t bl, cl;
        ck_assert_int_eq(rp_store_read_block(s, h, &blk, &bl), 0);
        ck_assert_int_eq(rp_store_read_commit(s, h, &cm, &cl), 0);
        int rc = rp_exec_commit(b, blk, bl, cm, cl, NULL, rp_pool_verify, pool, &err);
        ck_assert_msg(rc == 0, "replay of block %llu: %s", (unsigned long long)h, err.msg);
        free(blk);
        free(cm);
    }
    ck_assert_int_eq(rp_store_compare_state(s, b, &err), 0);
    rp_tip tb;
    ck_assert_int_eq(rp_store_tip(b, &tb), 0);
    ck_assert_int_eq(memcmp(&tip, &tb, sizeof tip), 0);
    rp_store_close(b);
    rp_store_close(s);
    free(g);
}
END_TEST

START_TEST(test_reproducible)
{
    rp_gen_stats a, b, c;
    rp_gen_opts o = opts(path(0, "a"), SEED);
    run_ok(&o, &a);
    o = opts(path(0, "b"), SEED);
    run_ok(&o, &b);
    o = opts(path(0, "c"), SEED + 1);
    run_ok(&o, &c);
    ck_assert(rp_hash_eq(&a.head, &b.head));
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    ck_assert(!rp_hash_eq(&a.head, &c.head));

    /* The tips agree too, state hash included. */
    rp_store *sa, *sb;
    rp_tip ta, tb;
    ck_assert_int_eq(rp_store_open(&sa, path(0, "a"), NULL, NULL), 0);
    ck_assert_int_eq(rp_store_open(&sb, path(1, "b"), NULL, NULL), 0);
    ck_assert_int_eq(rp_store_tip(sa, &ta), 0);
    ck_assert_int_eq(rp_store_tip(sb, &tb), 0);
    ck_assert_int_eq(memcmp(&ta, &tb, sizeof ta), 0);
    ck_assert(rp_hash_eq(&ta.head_hash, &a.head));
    rp_store_close(sa);
    rp_store_close(sb);

    /* Without a pool of the caller's, the run makes its own: same chain. */
    o = opts(path(0, "d"), SEED);
    o.pool = NULL;
    run_ok(&o, &c);
    ck_assert(rp_hash_eq(&a.head, &c.head));
}
END_TEST

START_TEST(test_manifest)
{
    rp_gen_opts o = opts(path(0, "chain"), SEED);
    rp_gen_stats st;
    o.manifest = path(1, "manifest.json");
    run_ok(&o, &st);

    json_error_t je;
    json_t *root = json_load_file(o.manifest, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(root != NULL, "manifest: %s (line %d)", je.text, je.line);
    rp_store *s;
    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
    const rp_genesis *g = rp_store_genesis(s);

    char hex[65];
    ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, rp_store_chain_id(s)->bytes, 32), 0);
    ck_assert_str_eq(json_string_value(json_object_get(root, "chain_id")), hex);
    ck_assert_str_eq(json_string_value(json_object_get(root, "seed")), "7");
    ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, g->validators[0].pubkey.bytes, 32), 0);
    ck_assert_str_eq(json_string_value(json_object_get(root, "validator")), hex);

    json_t *ids = json_object_get(root, "identities");
    ck_assert(json_is_array(ids));
    ck_assert_uint_eq(json_array_size(ids), N + S);
    size_t honest = 0, sybil = 0, pre = 0, roles[4] = {0};
    size_t i;
    json_t *e;
    json_array_foreach(ids, i, e)
    {
        const char *pk = json_string_value(json_object_get(e, "pubkey"));
        const char *role = json_string_value(json_object_get(e, "role"));
        const char *group = json_string_value(json_object_get(e, "group"));
        json_t *pt = json_object_get(e, "pretrusted");
        ck_assert_ptr_nonnull(pk);
        ck_assert_ptr_nonnull(role);
        ck_assert_ptr_nonnull(group);
        ck_assert(json_is_boolean(pt));
        ck_assert_uint_eq(json_object_size(e), 4);

        rp_pubkey key;
        ck_assert_int_eq(rp_hex_decode(key.bytes, 32, pk, strlen(pk)), 0);
        rp_identity_state is;
        ck_assert_int_eq(rp_store_read_identity(s, &key, &is), 0);
        uint8_t want = !strcmp(role, "talent")  ? RP_ROLE_TALENT
                       : !strcmp(role, "agent") ? RP_ROLE_AGENT
                       : !strcmp(role, "brand") ? RP_ROLE_BRAND
                                                : 0;
        ck_assert_uint_eq(is.role, want);
        roles[want]++;

        if (!strcmp(group, "honest")) {
            honest++;
        } else {
            ck_assert_str_eq(group, "sybil");
            ck_assert_uint_eq(is.role, RP_ROLE_TALENT);
            ck_assert(json_is_false(pt));
            sybil++;
        }
        if (json_is_true(pt)) {
            ck_assert_uint_lt(pre, g->npretrusted);
            ck_assert_int_eq(memcmp(key.bytes, g->pretrusted[pre].bytes, 32), 0);
            pre++;
        }
    }
    ck_assert_uint_eq(honest, N);
    ck_assert_uint_eq(sybil, S);
    ck_assert_uint_eq(pre, g->npretrusted);
    ck_assert_uint_eq(pre, 3);
    /* 60/25/15 of the honest, plus the sybil talents. */
    ck_assert_uint_eq(roles[RP_ROLE_TALENT], N * 60 / 100 + S);
    ck_assert_uint_eq(roles[RP_ROLE_AGENT], N * 25 / 100);
    ck_assert_uint_eq(roles[RP_ROLE_BRAND], N - N * 60 / 100 - N * 25 / 100);
    rp_store_close(s);
    json_decref(root);
}
END_TEST

START_TEST(test_refuses_existing_ledger)
{
    rp_gen_opts o = opts(path(0, "chain"), SEED);
    rp_gen_stats st;
    run_ok(&o, &st);

    rp_store *s;
    rp_tip before, after;
    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
    ck_assert_int_eq(rp_store_tip(s, &before), 0);
    rp_store_close(s);

    char err[512];
    o.seed = SEED + 1;
    o.manifest = path(1, "manifest.json");
    ck_assert_int_eq(rp_gen_run(&o, &st, err, sizeof err), -EEXIST);
    ck_assert_str_ne(err, "");
    ck_assert_uint_eq(st.blocks, 0);
    struct stat sb;
    ck_assert_int_ne(stat(o.manifest, &sb), 0); /* no manifest for a failed run */

    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
    ck_assert_int_eq(rp_store_tip(s, &after), 0);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
    rp_store_close(s);

    /* A datadir path that is a file is refused too. */
    FILE *f = fopen(path(2, "file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    o.datadir = path(2, "file");
    ck_assert_int_eq(rp_gen_run(&o, &st, err, sizeof err), -ENOTDIR);
    ck_assert_str_ne(err, "");

    /* And, as for `reputed init`, a folder that holds anything else: it is
     * left as it was. */
    const char *busy = path(2, "busy");
    char stray[160];
    ck_assert_int_eq(mkdir(busy, 0755), 0);
    snprintf(stray, sizeof stray, "%s/notes.txt", busy);
    f = fopen(stray, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    o.datadir = busy;
    ck_assert_int_eq(rp_gen_run(&o, &st, err, sizeof err), -ENOTEMPTY);
    ck_assert_ptr_nonnull(strstr(err, "notes.txt"));
    ck_assert_int_ne(stat(o.manifest, &sb), 0);
    snprintf(stray, sizeof stray, "%s/ledger", busy);
    ck_assert_int_ne(stat(stray, &sb), 0);
    snprintf(stray, sizeof stray, "%s/reputed.conf", busy);
    ck_assert_int_ne(stat(stray, &sb), 0);
    ck_assert_int_eq(stat(busy, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0755);
}
END_TEST

START_TEST(test_no_sybils)
{
    rp_gen_opts o = opts(path(0, "chain"), SEED);
    rp_gen_stats st;
    o.identities = 30;
    o.reviews = 100;
    o.sybil = 0;
    o.attack_edges = 0;
    o.manifest = path(1, "manifest.json");
    run_ok(&o, &st);
    ck_assert_uint_eq(st.identities, 30);
    ck_assert_uint_eq(st.reviews, 100);

    rp_store *s;
    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
    ck_assert_uint_eq(count(s, RP_DB_IDENTITIES), 30);
    ck_assert_uint_eq(count(s, RP_DB_REVIEWS), 100);
    rp_store_close(s);

    json_t *root = json_load_file(o.manifest, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_t *ids = json_object_get(root, "identities"), *e;
    size_t i;
    ck_assert_uint_eq(json_array_size(ids), 30);
    json_array_foreach(ids, i, e)
        ck_assert_str_eq(json_string_value(json_object_get(e, "group")), "honest");
    json_decref(root);
}
END_TEST

/* A chain long enough for score epochs: each is computed ahead on the pool
 * and offered, and a replay that computes every epoch inline agrees. */
START_TEST(test_epochs_ahead)
{
    rp_gen_opts o = opts(path(0, "chain"), SEED);
    rp_gen_stats st;
    o.identities = 30;
    o.reviews = 200;
    o.sybil = 0;
    o.attack_edges = 0;
    o.records_per_block = 2;
    run_ok(&o, &st);
    ck_assert_uint_ge(st.blocks, 110);
    ck_assert_uint_eq(st.epochs_ahead, (st.blocks - 10) / 100);

    rp_store *s;
    rp_epoch_info e;
    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
    ck_assert_int_eq(rp_store_read_epoch(s, 0, &e), 0);
    ck_assert_uint_eq(e.epoch, st.epochs_ahead);
    ck_assert_uint_eq(e.identities, 30);
    rp_store_close(s);

    char scratch[128];
    snprintf(scratch, sizeof scratch, "%s", path(1, "scratch"));
    ck_assert_int_eq(mkdir(scratch, 0700), 0);
    rp_replay_report rep;
    int rc = rp_replay_verify(o.datadir, scratch,
                              &(rp_replay_opts){.verify = rp_pool_verify, .vctx = pool}, &rep);
    ck_assert_msg(rc == 0, "verify: %s", rep.reason);
}
END_TEST

/* The chain ends as a node would leave it: the latest committed epoch's
 * snapshot covers the last block that holds records, and the chain stops at
 * the block that commits it. With 30 identities the planner writes
 * 30 + 1.5 M + 3 + M/100 records or so: 346 for M = 200 (7 blocks of 50),
 * exactly 200 for M = 107 and 202 for M = 108, which in blocks of 2 put the
 * last records just at and just after the epoch boundary at 100. */
START_TEST(test_settles_epoch)
{
    static const struct {
        uint64_t reviews;
        uint32_t rpb;
        uint64_t last, commit; /* the last block of records; the tip */
    } cases[] = {
        {200, 50, 7, 110},
        {107, 2, 100, 110},
        {108, 2, 101, 210},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "chain%zu", i);
        rp_gen_opts o = opts(path(0, name), SEED);
        rp_gen_stats st;
        o.identities = 30;
        o.reviews = cases[i].reviews;
        o.sybil = 0;
        o.attack_edges = 0;
        o.records_per_block = cases[i].rpb;
        run_ok(&o, &st);
        ck_assert_uint_eq(st.blocks - st.settle_blocks, cases[i].last);
        ck_assert_uint_eq(st.blocks, cases[i].commit);

        rp_store *s;
        rp_tip tip;
        rp_epoch_info e;
        ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
        ck_assert_int_eq(rp_store_tip(s, &tip), 0);
        ck_assert_int_eq(rp_store_read_epoch(s, 0, &e), 0);

        /* The last block that holds records, read from the chain. */
        uint64_t h = tip.height;
        for (rp_header hd; h > 0; h--) {
            ck_assert_int_eq(rp_store_read_header(s, h, &hd), 0);
            if (hd.record_count)
                break;
        }
        ck_assert_uint_eq(h, cases[i].last);
        ck_assert_msg(e.snapshot_height >= h, "epoch %llu's snapshot %llu is below block %llu",
                      (unsigned long long)e.epoch, (unsigned long long)e.snapshot_height,
                      (unsigned long long)h);
        ck_assert_uint_eq(e.commit_height, tip.height);
        ck_assert_uint_eq(tip.epoch, e.epoch);
        ck_assert_uint_eq(st.epoch, e.epoch);
        ck_assert_uint_eq(e.identities, 30); /* every identity has its row */
        rp_store_close(s);
    }
}
END_TEST

START_TEST(test_tiny_and_default_blocks)
{
    /* The smallest market: two identities, one pre-trusted pair, the
     * default block size (one block), a higher difficulty. */
    rp_gen_opts o = opts(path(0, "chain"), 3);
    rp_gen_stats st;
    o.identities = 2;
    o.reviews = 5;
    o.sybil = 1;
    o.attack_edges = 1;
    o.records_per_block = 0;
    o.pow_difficulty = 8;
    run_ok(&o, &st);
    ck_assert_uint_eq(st.blocks - st.settle_blocks, 1);
    ck_assert_uint_eq(st.blocks, 110); /* epoch 1: snapshot 100, committed at 110 */
    ck_assert_uint_eq(st.identities, 3);
    ck_assert_uint_eq(st.reviews, 5 + 1);

    rp_store *s;
    ck_assert_int_eq(rp_store_open(&s, o.datadir, NULL, NULL), 0);
    ck_assert_uint_eq(rp_store_genesis(s)->npretrusted, 2);
    ck_assert_uint_eq(rp_store_genesis(s)->params.pow_difficulty, 8);
    rp_store_close(s);
}
END_TEST

START_TEST(test_bad_options)
{
    struct {
        uint64_t n, m, s, k;
        uint32_t rpb;
        unsigned pow;
    } cases[] = {
        {1, 0, 0, 0, 0, 0},              /* fewer than two identities */
        {0, 0, 0, 0, 0, 0},              /* none */
        {N, M, S, N + 1, 0, 0},          /* more attack edges than honest identities */
        {N, M, 0, 1, 0, 0},              /* attack edges without sybils */
        {N, 500ULL * N + 1, 0, 0, 0, 0}, /* reviews without enough identities */
        {N, M, S, K, RP_BLOCK_MAX_RECORDS + 1, 0},
        {N, M, S, K, 0, 33},
        {RP_GEN_MAX_IDENTITIES, 0, 1, 0, 0, 0},
        {2, 0, UINT64_MAX, 0, 0, 0},
    };
    char err[512];
    rp_gen_stats st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rp_gen_opts o = opts(path(0, "never"), SEED);
        o.identities = cases[i].n;
        o.reviews = cases[i].m;
        o.sybil = cases[i].s;
        o.attack_edges = cases[i].k;
        o.records_per_block = cases[i].rpb;
        o.pow_difficulty = cases[i].pow;
        ck_assert_msg(rp_gen_check(&o, err, sizeof err) == RP_ERR_INVALID_ARG, "case %zu", i);
        ck_assert_str_ne(err, "");
        ck_assert_int_eq(rp_gen_run(&o, &st, err, sizeof err), RP_ERR_INVALID_ARG);
        ck_assert_str_ne(err, "");
    }
    rp_gen_opts o = opts(NULL, SEED);
    ck_assert_int_eq(rp_gen_check(&o, err, sizeof err), RP_ERR_INVALID_ARG);
    struct stat sb;
    ck_assert_int_ne(stat(path(0, "never"), &sb), 0); /* nothing was created */

    /* The edges of what is allowed. */
    o = opts(path(0, "never"), SEED);
    o.reviews = 500ULL * N;
    o.attack_edges = N;
    o.records_per_block = RP_BLOCK_MAX_RECORDS;
    o.pow_difficulty = 32;
    ck_assert_int_eq(rp_gen_check(&o, err, sizeof err), 0);
}
END_TEST

/* ---- a real node on a generated datadir ---------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* fork/exec argv, stdin /dev/null, stdout to out_path and stderr to
 * err_path (appended to; they may be the same file); the child dies with
 * this process. */
static pid_t spawn(char *const argv[], const char *out_path, const char *err_path)
{
    int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int errfd = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_int_ge(out, 0);
    ck_assert_int_ge(errfd, 0);
    pid_t parent = getpid(), pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out);
    close(errfd);
    return pid;
}

/* A small text file, whole, NUL-terminated; the caller frees it. */
static char *slurp(const char *file)
{
    FILE *f = fopen(file, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", file, strerror(errno));
    char *buf = calloc(1, 1 << 16);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* KEY=VALUE from repute-gen's summary line: the value up to the next space. */
static void summary_get(const char *line, const char *key, char *out, size_t cap)
{
    char pat[40];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = NULL;
    if (strncmp(line, pat + 1, strlen(pat + 1)) == 0)
        p = line + strlen(pat + 1);
    else if ((p = strstr(line, pat)) != NULL)
        p += strlen(pat);
    ck_assert_msg(p != NULL, "no %s= in the summary: %s", key, line);
    size_t n = strcspn(p, " \n");
    ck_assert_uint_lt(n, cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

static uint64_t summary_u64(const char *line, const char *key)
{
    char v[32];
    summary_get(line, key, v, sizeof v);
    return strtoull(v, NULL, 10);
}

/* A call that must succeed; params is stolen; the caller frees the result. */
static json_t *call_ok(rp_rpc_client *c, const char *method, json_t *params)
{
    json_t *res = NULL;
    rp_rpc_error e;
    int rc = rp_rpc_call(c, method, params, &res, &e);
    json_decref(params);
    ck_assert_msg(rc == 0, "%s failed: rc %d, code %d, %s", method, rc, e.code, e.message);
    rp_rpc_error_clear(&e);
    return res;
}

static uint64_t ju64(const json_t *o, const char *k)
{
    uint64_t x;
    ck_assert_msg(rp_rpc_get_u64(o, k, &x) == 0, "\"%s\" is not a decimal string", k);
    return x;
}

/* A file of the datadir: mode 0600, as init writes it. */
static void assert_private(const char *dir, const char *name)
{
    char p[256];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    ck_assert_msg(stat(p, &sb) == 0, "%s is missing", p);
    ck_assert_msg((sb.st_mode & 0777) == 0600, "%s is mode %o", p, (unsigned)(sb.st_mode & 0777));
}

/* `repute-gen ... --datadir DIR && reputed run --datadir DIR`: the node
 * starts at once on the generated chain, serves its height, head and
 * scores, has nothing left to settle, and makes the next block for a
 * record submitted to it. */
START_TEST(test_datadir_runs)
{
    char dir[128], out[128], errlog[128], log[128], sock[160];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    snprintf(out, sizeof out, "%s/gen.out", tmp);
    snprintf(errlog, sizeof errlog, "%s/gen.err", tmp);
    snprintf(log, sizeof log, "%s/node.log", tmp);
    snprintf(sock, sizeof sock, "%s/rpc.sock", dir);

    /* 1. repute-gen, as a user runs it. */
    char *gargv[] = {gen_bin, "--datadir", dir, "--identities",        "20", "--reviews",
                     "60",    "--sybil",   "4", "--records-per-block", "20", "--seed",
                     "5",     NULL};
    pid_t gp = spawn(gargv, out, errlog);
    int st;
    ck_assert_int_eq(waitpid(gp, &st, 0), gp);
    char *gerr = slurp(errlog);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "repute-gen failed (0x%x): %s", st, gerr);
    ck_assert_ptr_nonnull(strstr(gerr, "WARNING: DEVELOPMENT CHAIN"));
    free(gerr);
    char *summary = slurp(out);
    uint64_t blocks = summary_u64(summary, "blocks"), epoch = summary_u64(summary, "epoch");
    uint64_t settle = summary_u64(summary, "settle_blocks");
    char head[80];
    summary_get(summary, "head", head, sizeof head);
    ck_assert_uint_gt(settle, 0);
    ck_assert_uint_gt(epoch, 0);

    /* 2. What init would have written, through the same code. */
    struct stat sb;
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0700);
    assert_private(dir, "reputed.conf");
    assert_private(dir, "genesis.json");
    assert_private(dir, "node.key");
    assert_private(dir, "validator.key");
    char p[256], err[512];
    rp_config cfg;
    snprintf(p, sizeof p, "%s/reputed.conf", dir);
    ck_assert_msg(rp_config_load(&cfg, p, err, sizeof err) == 0, "conf: %s", err);
    ck_assert(cfg.validator);
    ck_assert(cfg.dev_plaintext_key);
    ck_assert_uint_eq(cfg.block_interval_ms, 1000); /* the generated genesis's */
    unsigned char nk[32];
    snprintf(p, sizeof p, "%s/node.key", dir);
    ck_assert_msg(rp_node_key_read(p, nk, err, sizeof err) == 0, "node key: %s", err);
    snprintf(p, sizeof p, "%s/validator.key", dir);
    char *vk = slurp(p);
    ck_assert_msg(strncmp(vk, RP_DEV_KEY_HEADER "\n", strlen(RP_DEV_KEY_HEADER) + 1) == 0,
                  "validator.key does not open with the dev key header: %.80s", vk);
    ck_assert_ptr_nonnull(strstr(vk, "Written by repute-gen"));
    free(vk);
    rp_genesis *g = malloc(sizeof *g);
    ck_assert_ptr_nonnull(g);
    snprintf(p, sizeof p, "%s/genesis.json", dir);
    ck_assert_msg(rp_genesis_load(g, p, err, sizeof err) == 0, "genesis: %s", err);
    rp_hash cid;
    ck_assert_int_eq(rp_genesis_chain_id(&cid, g), 0);
    char cid_hex[65], pre_hex[65];
    rp_hex_encode(cid_hex, sizeof cid_hex, cid.bytes, 32);
    rp_hex_encode(pre_hex, sizeof pre_hex, g->pretrusted[0].bytes, 32);

    /* 3. The node, on it. */
    char *nargv[] = {reputed_bin, "run", "--datadir", dir, NULL};
    node_pid = spawn(nargv, log, log);
    rp_rpc_client *c = NULL;
    for (uint64_t end = mono_ms() + 30000; rp_rpc_connect(&c, sock) != 0;) {
        ck_assert_msg(waitpid(node_pid, &st, WNOHANG) == 0, "reputed exited: %s", slurp(log));
        ck_assert_msg(mono_ms() < end, "reputed did not open %s: %s", sock, slurp(log));
        sleep_ms(20);
    }
    rp_rpc_set_timeout(c, 60000);
    json_t *info = call_ok(c, "node.info", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(info, "chain_name")), RP_GEN_CHAIN_NAME);
    ck_assert_str_eq(json_string_value(json_object_get(info, "chain_id")), cid_hex);
    ck_assert(json_is_true(json_object_get(info, "validator")));
    json_decref(info);

    json_t *h = call_ok(c, "chain.head", NULL);
    ck_assert_uint_eq(ju64(h, "height"), blocks);
    ck_assert_str_eq(json_string_value(json_object_get(h, "hash")), head);
    ck_assert_uint_eq(ju64(h, "epoch"), epoch);
    json_decref(h);
    json_t *sc = call_ok(c, "score.get", json_pack("{s:s}", "identity", pre_hex));
    ck_assert_uint_eq(ju64(sc, "epoch"), epoch);
    ck_assert(json_is_true(json_object_get(sc, "present")));
    json_decref(sc);

    /* Nothing to settle: a block interval and a half later, still no block. */
    sleep_ms(1500);
    h = call_ok(c, "chain.head", NULL);
    ck_assert_uint_eq(ju64(h, "height"), blocks);
    json_decref(h);

    /* 4. A record: a new identity registers, and the node makes block
     * blocks + 1 for it (its time is the wall clock's, which must be past
     * the generated chain's). */
    ck_assert_msg((uint64_t)time(NULL) > RP_GEN_GENESIS_TIME + blocks,
                  "this machine's clock is before the generated chain's genesis time");
    rp_seckey sk;
    rp_record r;
    unsigned char aux[32], buf[RP_RECORD_MAX_SIZE];
    size_t len;
    char hex[2 * RP_RECORD_MAX_SIZE + 1];
    ck_assert_int_eq(rp_seckey_generate(&sk), 0);
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.type = RP_REC_IDENTITY;
    ck_assert_int_eq(rp_pubkey_from_seckey(&r.issuer, &sk), 0);
    r.seq = 1;
    r.time = (uint64_t)time(NULL);
    r.body.identity.role = RP_ROLE_TALENT;
    strcpy(r.body.identity.name, "Newcomer");
    r.body.identity.name_len = (uint8_t)strlen(r.body.identity.name);
    ck_assert_int_eq(rp_identity_pow_solve(&r, &cid, g->params.pow_difficulty, 1u << 30), 0);
    rp_aux_fresh(aux);
    ck_assert_int_eq(rp_record_sign(&r, 0, &cid, &sk, aux), 0);
    ck_assert_int_eq(rp_record_encode(&r, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, buf, len), 0);
    json_t *res = call_ok(c, "record.submit", json_pack("{s:s,s:b}", "record", hex, "wait", 1));
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "included");
    ck_assert_uint_eq(ju64(res, "height"), blocks + 1);
    json_decref(res);
    h = call_ok(c, "chain.head", NULL);
    ck_assert_uint_ge(ju64(h, "height"), blocks + 1);
    json_decref(h);
    rp_rpc_close(c);

    /* 5. A clean stop. */
    ck_assert_int_eq(kill(node_pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(node_pid, &st, 0), node_pid);
    node_pid = 0;
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reputed stopped with 0x%x: %s", st,
                  slurp(log));
    free(g);
    free(summary);
}
END_TEST

/* A repute-gen killed halfway (here once its ledger exists) leaves a
 * folder that repute-gen, init and run refuse, saying what happened. */
START_TEST(test_killed_gen_says_so)
{
    char dir[128], out[128], errlog[128], marker[160], ledger[160], want[600], err[600];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    snprintf(out, sizeof out, "%s/gen.out", tmp);
    snprintf(errlog, sizeof errlog, "%s/gen.err", tmp);
    snprintf(marker, sizeof marker, "%s/%s", dir, RP_INIT_MARKER);
    snprintf(ledger, sizeof ledger, "%s/ledger", dir);
    char *gargv[] = {gen_bin,     "--datadir", dir,      "--identities", "2000",
                     "--reviews", "200000",    "--seed", "11",           NULL};
    pid_t gp = spawn(gargv, out, errlog);
    struct stat sb;
    uint64_t end = mono_ms() + 60000;
    while (stat(ledger, &sb) != 0) {
        ck_assert_int_eq(waitpid(gp, NULL, WNOHANG), 0); /* still running */
        ck_assert_msg(mono_ms() < end, "repute-gen made no ledger in 60 s");
        sleep_ms(5);
    }
    ck_assert_int_eq(kill(gp, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(gp, &st, 0), gp);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_eq(stat(marker, &sb), 0);

    snprintf(want, sizeof want,
             "%s: an interrupted repute-gen (%s is still there); remove %s, or everything in "
             "it, and run repute-gen again",
             dir, marker, dir);
    ck_assert_int_eq(rp_init_check_datadir(dir, "repute-gen", err, sizeof err), RP_ERR_UNFINISHED);
    ck_assert_str_eq(err, want);
    char rout[128];
    snprintf(rout, sizeof rout, "%s/run.out", tmp);
    char *rargv[] = {reputed_bin, "run", "--datadir", dir, NULL};
    pid_t rp = spawn(rargv, rout, rout);
    ck_assert_int_eq(waitpid(rp, &st, 0), rp);
    char *said = slurp(rout);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "reputed run: 0x%x: %s", st, said);
    ck_assert_msg(strstr(said, want) != NULL, "'%s' not in %s", want, said);
    free(said);
}
END_TEST

static Suite *gen_suite(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("gen");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_small_chain);
    tcase_add_test(tc, test_reproducible);
    tcase_add_test(tc, test_manifest);
    tcase_add_test(tc, test_epochs_ahead);
    tcase_add_test(tc, test_settles_epoch);
    tcase_add_test(tc, test_refuses_existing_ledger);
    tcase_add_test(tc, test_no_sybils);
    tcase_add_test(tc, test_tiny_and_default_blocks);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    if (reputed_bin[0] && gen_bin[0]) {
        tc = tcase_create("node");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_datadir_runs);
        tcase_add_test(tc, test_killed_gen_says_so);
        suite_add_tcase(s, tc);
    } else {
        fprintf(stderr, "test_gen: set RP_REPUTED and RP_REPUTE_GEN to the built reputed and "
                        "repute-gen to run the end-to-end test (meson test does)\n");
    }
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    const char *rb = getenv("RP_REPUTED"), *gb = getenv("RP_REPUTE_GEN");
    if (rb && gb && strlen(rb) < sizeof reputed_bin && strlen(gb) < sizeof gen_bin) {
        memcpy(reputed_bin, rb, strlen(rb) + 1);
        memcpy(gen_bin, gb, strlen(gb) + 1);
    }
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(gen_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
