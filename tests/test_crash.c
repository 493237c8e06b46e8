/* Crash safety: a process applying blocks, or importing an export, is killed
 * with SIGKILL at random moments, again and again; after every kill the
 * ledger must open, its height must never go backwards, its environment
 * must be durable, and `verify` (a full replay from genesis) must pass. An
 * import killed that way is resumed by the next one and ends with the head
 * an uninterrupted import gives.
 *
 * The blocks come from a chain made once by the generator (node/gen/gen.h).
 * Kill delays are random; the seed is printed and can be set with
 * RP_TEST_SEED. Each test also counts the kills that landed mid-way (the
 * ledger strictly between empty and complete), so it cannot pass by
 * killing only idle processes.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "ledger/exec.h"
#include "ledger/export.h"
#include "ledger/query.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "node/gen/gen.h"
#include "node/pool.h"

#define KILLS 50

static char root[64], src[128], exp_path[128];
static uint64_t src_height;
static rp_pool *pool;
static unsigned long seed_value;

static void rm_rf(const char *path)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
    strcpy(root, "/tmp/rp-test-crash-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(src, sizeof src, "%s/source", root);
    snprintf(exp_path, sizeof exp_path, "%s/chain.export", root);

    rp_gen_opts o;
    rp_gen_stats stats;
    char err[256];
    memset(&o, 0, sizeof o);
    o.datadir = src;
    o.identities = 60;
    o.reviews = 900;
    o.sybil = 10;
    o.attack_edges = 2;
    o.seed = 11;
    o.records_per_block = 20;
    o.pool = pool;
    ck_assert_msg(rp_gen_run(&o, &stats, err, sizeof err) == 0, "gen: %s", err);

    rp_store *s;
    rp_store_opts ro = {.read_only = 1};
    ck_assert_int_eq(rp_store_open(&s, src, &ro, NULL), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(s, &tip), 0);
    src_height = tip.height;
    ck_assert_uint_gt(src_height, 20);
    FILE *f = fopen(exp_path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(rp_export_write_bin(s, f, NULL, NULL, NULL), 0);
    ck_assert_int_eq(fclose(f), 0);
    rp_store_close(s);

    const char *env = getenv("RP_TEST_SEED");
    seed_value = env ? strtoul(env, NULL, 10) : (unsigned long)time(NULL);
    fprintf(stderr, "test_crash: RP_TEST_SEED=%lu\n", seed_value);
    srand((unsigned)seed_value);
}

static void teardown(void) { rm_rf(root); }

/* Sleep a random 0..max_ms milliseconds, then SIGKILL the child. */
static void kill_later(pid_t pid, unsigned max_ms)
{
    struct timespec ts;
    unsigned ms = (unsigned)rand() % (max_ms + 1);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* Open a ledger after a crash and check it: durable, not behind `floor`,
 * and a full replay passes. Returns its height. */
static uint64_t check_after_crash(const char *dir, uint64_t floor)
{
    rp_store *s;
    rp_store_error err;
    int rc = rp_store_open(&s, dir, NULL, &err);
    ck_assert_msg(rc == 0, "ledger does not open after a crash: %s", err.msg);
    ck_assert(rp_store_is_durable(s));
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(s, &tip), 0);
    rp_store_close(s);
    ck_assert_msg(tip.height >= floor, "height went back from %llu to %llu",
                  (unsigned long long)floor, (unsigned long long)tip.height);

    char scratch[160];
    snprintf(scratch, sizeof scratch, "%s/scratch-XXXXXX", root);
    ck_assert_ptr_nonnull(mkdtemp(scratch));
    rp_replay_report rep;
    rc = rp_replay_verify(dir, scratch, &(rp_replay_opts){.verify = rp_pool_verify, .vctx = pool},
                          &rep);
    ck_assert_msg(rc == 0, "verify after a crash failed at height %llu: %s",
                  (unsigned long long)rep.failed_height, rep.reason);
    ck_assert_uint_eq(rep.tip.height, tip.height);
    rm_rf(scratch);
    return tip.height;
}

/* The child: apply the source's blocks to dst from its tip on. */
static void apply_from_source(const char *dst)
{
    rp_store *from, *to;
    rp_store_opts ro = {.read_only = 1};
    rp_tip tip;
    if (rp_store_open(&from, src, &ro, NULL) || rp_store_open(&to, dst, NULL, NULL) ||
        rp_store_tip(to, &tip))
        _exit(3);
    for (uint64_t h = tip.height + 1; h <= src_height; h++) {
        unsigned char *b, *c;
        size_t bl, cl;
        if (rp_store_read_block(from, h, &b, &bl) || rp_store_read_commit(from, h, &c, &cl) ||
            rp_exec_commit(to, b, bl, c, cl, NULL, NULL, NULL, NULL))
            _exit(4);
        free(b);
        free(c);
    }
    _exit(0);
}

START_TEST(test_kill_while_applying)
{
    char dst[160];
    snprintf(dst, sizeof dst, "%s/target", root);
    rp_store *s;
    rp_store_opts ro = {.read_only = 1};
    ck_assert_int_eq(rp_store_open(&s, src, &ro, NULL), 0);
    rp_genesis *g = malloc(sizeof *g);
    ck_assert_ptr_nonnull(g);
    *g = *rp_store_genesis(s);
    rp_store_close(s);

    uint64_t height = 0, mid = 0, rounds = 0;
    ck_assert_int_eq(mkdir(dst, 0700), 0);
    ck_assert_int_eq(rp_store_create(&s, dst, g, NULL, NULL), 0);
    rp_store_close(s);
    for (int i = 0; i < KILLS; i++) {
        if (height == src_height) { /* caught up: start again from empty */
            rm_rf(dst);
            ck_assert_int_eq(mkdir(dst, 0700), 0);
            ck_assert_int_eq(rp_store_create(&s, dst, g, NULL, NULL), 0);
            rp_store_close(s);
            height = 0;
            rounds++;
        }
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            apply_from_source(dst);
        kill_later(pid, 150);
        uint64_t h = check_after_crash(dst, height);
        mid += h > height && h < src_height;
        height = h;
    }
    fprintf(stderr, "test_kill_while_applying: %d kills, %llu mid-chain, %llu full rounds\n",
            KILLS, (unsigned long long)mid, (unsigned long long)rounds);
    ck_assert_uint_ge(mid, 5);
    free(g);
}
END_TEST

/* The child: import the export into dst, resuming after whatever dst holds,
 * two blocks per write transaction so that kills land between batches. */
static void import_into(const char *dst)
{
    rp_replay_report rep;
    rp_replay_opts o = {.batch_blocks = 2};
    _exit(rp_replay_import(exp_path, dst, &o, &rep) == 0 ? 0 : 5);
}

/* Import killed at random points, again and again, into one datadir: every
 * run resumes after the tip the last one left, the height never goes back,
 * every intermediate ledger verifies, and the import that finally runs to
 * the end gives the same head as an uninterrupted import (the source's). */
START_TEST(test_kill_while_importing)
{
    char dst[160], ledger[200];
    snprintf(dst, sizeof dst, "%s/import", root);
    snprintf(ledger, sizeof ledger, "%s/ledger", dst);
    uint64_t height = 0, mid = 0, none = 0, rounds = 0;
    for (int i = 0; i < KILLS; i++) {
        if (height == src_height) { /* done: start again from nothing */
            rm_rf(dst);
            height = 0;
            rounds++;
        }
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            import_into(dst);
        kill_later(pid, 120);
        struct stat st;
        if (stat(ledger, &st) != 0) {
            none++; /* killed before the ledger existed: nothing to open */
            continue;
        }
        uint64_t h = check_after_crash(dst, height);
        mid += h > height && h < src_height;
        height = h;
    }
    /* Finish the import without interruption. */
    rp_replay_report rep;
    int rc = rp_replay_import(exp_path, dst, NULL, &rep);
    ck_assert_msg(rc == 0, "the resumed import failed: %s", rep.reason);
    ck_assert_uint_eq(rep.resumed_from, height);
    ck_assert_uint_eq(rep.tip.height, src_height);
    rp_store *s;
    rp_store_opts ro = {.read_only = 1};
    rp_tip want;
    ck_assert_int_eq(rp_store_open(&s, src, &ro, NULL), 0);
    ck_assert_int_eq(rp_store_tip(s, &want), 0);
    rp_store_close(s);
    ck_assert_int_eq(memcmp(&want, &rep.tip, sizeof want), 0);
    check_after_crash(dst, src_height);
    fprintf(stderr,
            "test_kill_while_importing: %d kills, %llu mid-import, %llu before creation, "
            "%llu full rounds\n",
            KILLS, (unsigned long long)mid, (unsigned long long)none, (unsigned long long)rounds);
    ck_assert_uint_ge(mid, 5);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("sigkill");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_kill_while_applying);
    tcase_add_test(tc, test_kill_while_importing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0 || rp_pool_new(&pool) != 0)
        return 1;
    SRunner *sr = srunner_create(crash_suite());
    /* The tests fork their own children; Check's fork would only add one
     * more layer between them and the pool. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rp_pool_free(pool);
    return failed ? 1 : 0;
}
