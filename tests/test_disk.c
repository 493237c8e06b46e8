/* Full disks, on small filesystems the tests make and remove themselves
 * (tmpfs mounts; skipped, with a message, where mounting is not allowed):
 *
 *   - `reputed verify` whose scratch space fills says the scratch disk is
 *     full and where, not that the chain failed;
 *   - `reputed import` into a full disk says so and resumes when run again;
 *   - a node whose disk fills says "disk full" once, keeps the pending
 *     records and the block waiting for room, and writes it once there is
 *     room again.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/genesis.h"
#include "node/gen/gen.h"
#include "node_fixture.h"

/* Mount a tmpfs of size_kib at path. Returns 1, or 0 (with a message) if
 * this machine does not let the test mount. */
static int mount_small(const char *path, unsigned size_kib)
{
    char cmd[512];
    ck_assert(mkdir(path, 0700) == 0 || errno == EEXIST);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=%uk,mode=0700 tmpfs '%s' 2>/dev/null",
             size_kib, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_disk: SKIP: cannot mount a tmpfs at %s; run as root\n", path);
        return 0;
    }
    return 1;
}

static void unmount_small(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "umount -l '%s' 2>/dev/null", path);
    if (system(cmd) != 0)
        fprintf(stderr, "test_disk: cannot unmount %s\n", path);
}

/* The fixture's teardown, after the node is gone and the small disk (if a
 * failed test left it) is unmounted, so the folder can be removed. */
static void teardown(void)
{
    char path[256], cmd[600];
    if (T.pid > 0) {
        kill(T.pid, SIGKILL);
        waitpid(T.pid, NULL, 0);
        T.pid = 0;
    }
    snprintf(path, sizeof path, "%s/small", T.work);
    snprintf(cmd, sizeof cmd, "mountpoint -q '%s' && umount -l '%s'", path, path);
    (void)!system(cmd);
    node_fixture_teardown();
}

/* Fill the filesystem at dir up to (almost) its last byte. */
static void fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    static char buf[65536];
    memset(buf, 0xEE, sizeof buf);
    for (size_t chunk = sizeof buf; chunk >= 512;) {
        if (write(fd, buf, chunk) < 0)
            chunk /= 2;
    }
    close(fd);
}

static void gen_chain(const char *dir, uint64_t identities, uint64_t reviews)
{
    rp_gen_opts o;
    rp_gen_stats st;
    char err[512];
    memset(&o, 0, sizeof o);
    o.datadir = dir;
    o.identities = identities;
    o.reviews = reviews;
    o.records_per_block = 500;
    o.seed = 9;
    ck_assert_msg(rp_gen_run(&o, &st, err, sizeof err) == 0, "gen: %s", err);
}

static int slurp_has(const char *path, const char *needle)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

static size_t count_in(const char *path, const char *needle)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f), c = 0;
    fclose(f);
    buf[n] = 0;
    for (char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

/* verify with its scratch ledger on a disk too small for it. */
START_TEST(test_verify_scratch_full)
{
    char chain[256], small[256], out[256], env[8];
    snprintf(chain, sizeof chain, "%s/chain", T.work);
    snprintf(small, sizeof small, "%s/small", T.work);
    snprintf(out, sizeof out, "%s/verify.out", T.work);
    gen_chain(chain, 2000, 8000);
    if (!mount_small(small, 1024))
        return;
    (void)env;
    setenv("TMPDIR", small, 1);
    char *argv[] = {reputed_bin, "verify", "--datadir", chain, NULL};
    int to, st = wait_child(spawn(argv, out), 120000, &to);
    unsetenv("TMPDIR");
    unmount_small(small);
    ck_assert(!to);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "verify: status 0x%x", st);
    ck_assert_msg(slurp_has(out, "the scratch disk is full"),
                  "verify did not say the disk is full");
    ck_assert_msg(!slurp_has(out, "FAILED"), "a full scratch disk was reported as a bad chain");
}
END_TEST

/* import into a full disk, then, with room, the same command resumes. */
START_TEST(test_import_full_then_resume)
{
    char chain[256], small[200], dst[240], bin[256], out[256];
    snprintf(chain, sizeof chain, "%s/chain", T.work);
    snprintf(small, sizeof small, "%s/small", T.work);
    snprintf(dst, sizeof dst, "%s/imported", small);
    snprintf(bin, sizeof bin, "%s/chain.bin", T.work);
    snprintf(out, sizeof out, "%s/import.out", T.work);
    gen_chain(chain, 3000, 22000); /* three write batches; the first fits */
    char *exp[] = {reputed_bin, "export", "--datadir", chain, "--format", "bin", "-o", bin, NULL};
    int to, st = wait_child(spawn(exp, out), 120000, &to);
    ck_assert(!to && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!mount_small(small, 24 * 1024))
        return;
    char *imp[] = {reputed_bin, "import", "--datadir", dst, bin, NULL};
    unlink(out);
    st = wait_child(spawn(imp, out), 120000, &to);
    ck_assert(!to);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "import on a full disk: status 0x%x", st);
    ck_assert_msg(slurp_has(out, "is full"), "import did not say the disk is full");
    /* Room again (a bigger filesystem on the same folder): it resumes. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mount -o remount,size=256m '%s'", small);
    ck_assert_int_eq(system(cmd), 0);
    unlink(out);
    st = wait_child(spawn(imp, out), 120000, &to);
    int resumed = slurp_has(out, "resumed after height"), ok = slurp_has(out, "import: OK");
    unmount_small(small);
    ck_assert(!to && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_msg(resumed && ok, "the second import did not resume and finish");
}
END_TEST

/* The node's disk fills while records wait: one "disk_full" line, the
 * records stay pending, and once there is room the waiting block is
 * written with them ("disk_ok"). */
START_TEST(test_node_disk_full)
{
    char small[140], filler[160], datadir[150];
    snprintf(small, sizeof small, "%s/small", T.work);
    snprintf(filler, sizeof filler, "%s/filler", small);
    snprintf(datadir, sizeof datadir, "%s/d", small);
    if (!mount_small(small, 16384))
        return;
    /* The fixture's dev datadir, moved onto the small disk. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", T.dir, datadir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(T.dir, sizeof T.dir, "%s", datadir);
    snprintf(T.sock, sizeof T.sock, "%s/rpc.sock", T.dir);
    node_start();
    rp_rpc_client *c = cli();
    ident a;
    ident_gen(&a, RP_ROLE_TALENT, "Disk Full");
    rp_record r0 = r_identity(&a);
    submit_ok(c, &r0, 1); /* the chain works */

    fill(filler);
    rp_record r1 = r_update(&a, 1);
    expect_status(submit_ok(c, &r1, 0), "pending");
    sleep_ms(5000); /* several block intervals, several tries */
    char idh[65];
    id_hex(&r1, idh);
    json_t *g = call_ok(c, "record.get", P("{s:s}", "id", idh));
    ck_assert_str_eq(jstr(g, "status"), "pending");
    ck_assert_uint_eq(count_in(T.log, "disk_full"), 1);
    ck_assert_uint_eq(count_in(T.log, "block_failed"), 0);

    unlink(filler);
    wait_included(c, &r1);
    ck_assert_uint_eq(count_in(T.log, "disk_ok"), 1);
    rp_rpc_close(c);
    node_stop();
    unmount_small(small);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, node_fixture_setup, teardown);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    const char *bin = getenv("RP_REPUTED");
    if (!bin || strlen(bin) >= sizeof reputed_bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "test_disk: set RP_REPUTED to the built reputed binary\n");
        return 1;
    }
    memcpy(reputed_bin, bin, strlen(bin) + 1);
    if (rp_crypto_init() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    snprintf(base_dir, sizeof base_dir, "/tmp/rp-test-disk-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("disk");
    add(s, "verify_scratch_full", test_verify_scratch_full, 300);
    add(s, "import_full_then_resume", test_import_full_then_resume, 300);
    add(s, "node_disk_full", test_node_disk_full, 300);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_disk: could not remove %s\n", base_dir);
    return failed ? 1 : 0;
}
