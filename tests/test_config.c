/* Check suite for the node's configuration (node/config.h) and `reputed
 * init` (node/init.h).
 *
 * Config: the defaults, the example file (which must be exactly what
 * rp_config_format writes for the defaults), a full valid file, and every
 * refusal with its line number, including the line-length limit that inih
 * would otherwise hide by splitting the line.
 *
 * Init: a --dev datadir opens at height 1 with its anchor registered, with
 * the modes it promises, and cannot be initialised twice; a --genesis
 * datadir with an encrypted validator key; the validator key loads with a
 * passphrase from each source, and is refused with a wrong passphrase, a
 * passphrase file others can read, or no source at all; a failed init
 * leaves nothing behind.
 *
 * Every test gets a fresh temporary folder, runs in its own forked process
 * (so environment changes stay there) and reads no terminal: standard
 * input is /dev/null, so the passphrase prompt is never reached.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/keyfile.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/config.h"
#include "node/init.h"

static char tmp[64];

static void setup(void)
{
    strcpy(tmp, "/tmp/rp-test-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    ck_assert_ptr_nonnull(freopen("/dev/null", "r", stdin));
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("REPUTE_PASSPHRASE");
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

/* A path inside the test's folder (a static buffer per slot). */
static const char *path(int slot, const char *name)
{
    static char buf[6][256];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp, name);
    return buf[slot];
}

static void source_path(char *out, size_t cap, const char *rel)
{
    const char *root = getenv("RP_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "set RP_SOURCE_ROOT to the source tree");
    ck_assert_int_lt(snprintf(out, cap, "%s/%s", root, rel), (int)cap);
}

static void write_file(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
}

static char *read_file(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static unsigned mode_of(const char *p)
{
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static int exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* Parse text; expect failure at `line` with `needle` in the message. */
static void refused(const char *text, int line, const char *needle)
{
    rp_config cfg;
    char err[600], want[32];
    int rc = rp_config_parse(&cfg, "test.conf", text, strlen(text), err, sizeof err);
    ck_assert_msg(rc == RP_ERR_CONFIG, "accepted: %s", text);
    snprintf(want, sizeof want, "test.conf:%d: ", line);
    ck_assert_msg(!strncmp(err, want, strlen(want)), "wanted line %d, got '%s'", line, err);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in '%s'", needle, err);
    /* A refused file leaves the defaults. */
    ck_assert_uint_eq(cfg.rpc_max_connections, 256);
}

static void accepted(const char *text, rp_config *cfg)
{
    char err[600];
    int rc = rp_config_parse(cfg, "test.conf", text, strlen(text), err, sizeof err);
    ck_assert_msg(rc == 0, "refused: %s", err);
}

static void assert_defaults(const rp_config *c)
{
    ck_assert_int_eq(c->log_level, RP_LOG_INFO);
    ck_assert_uint_eq(c->map_size, 64ULL << 30);
    ck_assert_str_eq(c->genesis, "genesis.json");
    ck_assert_str_eq(c->node_key, "node.key");
    ck_assert_uint_eq(c->rpc_max_connections, 256);
    ck_assert_uint_eq(c->rpc_max_line, 1048576);
    ck_assert_uint_eq(c->rpc_max_batch, 100);
    ck_assert_uint_eq(c->rpc_max_inflight, 64);
    ck_assert_uint_eq(c->mempool_max_count, 20000);
    ck_assert_uint_eq(c->mempool_max_bytes, 16777216);
    ck_assert_uint_eq(c->mempool_max_gap, 16);
    ck_assert_int_eq(c->validator, 0);
    ck_assert_str_eq(c->key_file, "validator.key");
    ck_assert_int_eq(c->dev_plaintext_key, 0);
    ck_assert_str_eq(c->passphrase_file, "");
    ck_assert_str_eq(c->passphrase_env, "REPUTE_PASSPHRASE");
    ck_assert_str_eq(c->credential, "validator-passphrase");
    ck_assert_uint_eq(c->block_interval_ms, 1000);
    ck_assert_str_eq(c->p2p_listen, "0.0.0.0:27650");
    ck_assert_uint_eq(c->p2p_persistent.n, 0);
    ck_assert_uint_eq(c->p2p_seeds.n, 0);
    ck_assert_uint_eq(c->p2p_max_outbound, 8);
    ck_assert_uint_eq(c->p2p_max_inbound, 32);
    ck_assert_str_eq(c->metrics_listen, ""); /* the endpoint is off */
    ck_assert_int_eq(c->metrics_allow_remote, 0);
}

/* ---- config -------------------------------------------------------------------- */

START_TEST(test_defaults)
{
    rp_config c;
    memset(&c, 0xA5, sizeof c);
    rp_config_defaults(&c);
    assert_defaults(&c);
    /* An empty file, and one of comments only, are the defaults. */
    accepted("", &c);
    assert_defaults(&c);
    accepted("# nothing\n; here\n\n   # indented comment\n[node]\n", &c);
    assert_defaults(&c);
}
END_TEST

START_TEST(test_example_file)
{
    char p[4096];
    source_path(p, sizeof p, "configs/reputed.conf.example");
    rp_config c, d;
    char err[600];
    ck_assert_msg(rp_config_load(&c, p, err, sizeof err) == 0, "%s", err);
    assert_defaults(&c);

    /* The example is exactly the documented defaults rp_config_format writes. */
    rp_config_defaults(&d);
    char *text = rp_config_format(&d);
    ck_assert_ptr_nonnull(text);
    size_t len;
    char *file = read_file(p, &len);
    ck_assert_msg(strcmp(file, text) == 0,
                  "configs/reputed.conf.example differs from rp_config_format(defaults)");
    /* Every key is in it, with a comment. */
    ck_assert_ptr_nonnull(strstr(text, "\nmap_size_gib = 64\n"));
    ck_assert_ptr_nonnull(strstr(text, "\npassphrase_file =\n"));
    ck_assert_ptr_nonnull(strstr(text, "# Default: validator-passphrase\n"));
    free(file);
    free(text);
}
END_TEST

#define ID64 "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"

/* [p2p]: endpoints parsed when the file is read, lists on several lines. */
START_TEST(test_p2p_keys)
{
    rp_config c;
    accepted("[p2p]\nlisten =\npersistent_peer = " ID64 "@10.0.0.1:27650\n"
             "persistent_peer = " ID64 "@[::1]:27651\nseed = " ID64 "@node-a.example:1\n",
             &c);
    ck_assert_str_eq(c.p2p_listen, "");
    ck_assert_uint_eq(c.p2p_persistent.n, 2);
    ck_assert_str_eq(c.p2p_persistent.v[0], ID64 "@10.0.0.1:27650");
    ck_assert_uint_eq(c.p2p_seeds.n, 1);
    ck_assert(rp_config_is_set(&c, "p2p", "persistent_peer"));

    refused("[p2p]\npersistent_peer = 10.0.0.1:27650\n", 2, "missing the node ID");
    refused("[p2p]\nseed = abcd@10.0.0.1:27650\n", 2, "64 hex digits");
    refused("[p2p]\nseed = " ID64 "@10.0.0.1\n", 2, "missing ':port'");
    refused("[p2p]\nseed = " ID64 "@10.0.0.1:0\n", 2, "port 0 is only for a listener");
    refused("[p2p]\nseed = " ID64 "@10.0.0.1:65536\n", 2, "0..65535");
    refused("[p2p]\nseed = " ID64 "@::1:5\n", 2, "in brackets");
    refused("[p2p]\nseed = " ID64 "@[::1:5\n", 2, "closing ']'");
    refused("[p2p]\nseed = " ID64 "@300.1.1.1:5\n", 2, "not an IPv4 address");
    refused("[p2p]\nseed = " ID64 "@bad_name:5\n", 2, "not an IP address or a DNS name");
    refused("[p2p]\nlisten = " ID64 "@127.0.0.1:5\n", 2, "not allowed here");
    refused("[p2p]\nlisten = localhost:5\n", 2, "not a name");
    refused("[p2p]\nseed = " ID64 "@10.0.0.1:1\nseed = " ID64 "@10.0.0.1:1\n", 3,
            "listed twice");
    refused("[p2p]\nmax_outbound = 65\n", 2, "0..64");
    refused("[p2p]\nmax_inbound = 1025\n", 2, "0..1024");
    refused("[p2p]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n", 3, "duplicate key");
    /* At most 32 lines of a list. */
    char text[8192];
    size_t o = (size_t)snprintf(text, sizeof text, "[p2p]\n");
    for (int i = 0; i < 33; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "seed = %s@10.0.0.%d:1\n", ID64, i + 1);
    refused(text, 34, "at most 32 lines");
}
END_TEST

/* [metrics]: an IP address and port, or empty; whether it must be
 * loopback is decided at start (node/metrics.h), where both keys are
 * known. */
START_TEST(test_metrics_keys)
{
    rp_config c;
    accepted("[metrics]\nlisten = 127.0.0.1:9464\n", &c);
    ck_assert_str_eq(c.metrics_listen, "127.0.0.1:9464");
    accepted("[metrics]\nlisten = [::1]:0\nallow_remote = true\n", &c);
    ck_assert_str_eq(c.metrics_listen, "[::1]:0");
    ck_assert_int_eq(c.metrics_allow_remote, 1);
    accepted("[metrics]\nlisten =\n", &c);
    ck_assert_str_eq(c.metrics_listen, "");
    refused("[metrics]\nlisten = localhost:9464\n", 2, "not a name");
    refused("[metrics]\nlisten = 127.0.0.1\n", 2, "missing ':port'");
    refused("[metrics]\nlisten = " ID64 "@127.0.0.1:9464\n", 2, "not allowed here");
    refused("[metrics]\nallow_remote = yes\n", 2, "true or false");
    refused("[metric]\nlisten = 127.0.0.1:9464\n", 1, "[metrics]");
}
END_TEST

START_TEST(test_format_round_trip)
{
    rp_config c, back;
    rp_config_defaults(&c);
    c.log_level = RP_LOG_DEBUG;
    c.map_size = 3ULL << 30;
    strcpy(c.genesis, "/etc/repute/genesis.json");
    c.rpc_max_connections = 9;
    c.mempool_max_bytes = 1ULL << 33;
    c.mempool_max_gap = 0;
    c.validator = 1;
    c.dev_plaintext_key = 1;
    strcpy(c.passphrase_file, "/etc/repute/pass");
    strcpy(c.passphrase_env, "");
    strcpy(c.credential, "");
    c.block_interval_ms = 500;
    strcpy(c.p2p_listen, "[::1]:0");
    c.p2p_persistent.n = 2;
    strcpy(c.p2p_persistent.v[0], ID64 "@127.0.0.1:27651");
    strcpy(c.p2p_persistent.v[1], ID64 "@[2001:db8::7]:1");
    c.p2p_seeds.n = 1;
    strcpy(c.p2p_seeds.v[0], ID64 "@seed-1.example.org:27650");
    c.p2p_max_outbound = 0;
    char *text = rp_config_format(&c);
    ck_assert_ptr_nonnull(text);
    accepted(text, &back);
    ck_assert_int_eq(back.log_level, RP_LOG_DEBUG);
    ck_assert_uint_eq(back.map_size, 3ULL << 30);
    ck_assert_str_eq(back.genesis, "/etc/repute/genesis.json");
    ck_assert_uint_eq(back.rpc_max_connections, 9);
    ck_assert_uint_eq(back.mempool_max_bytes, 1ULL << 33);
    ck_assert_uint_eq(back.mempool_max_gap, 0);
    ck_assert_int_eq(back.validator, 1);
    ck_assert_int_eq(back.dev_plaintext_key, 1);
    ck_assert_str_eq(back.passphrase_file, "/etc/repute/pass");
    ck_assert_str_eq(back.passphrase_env, "");
    ck_assert_str_eq(back.credential, "");
    ck_assert_uint_eq(back.block_interval_ms, 500);
    ck_assert_str_eq(back.p2p_listen, "[::1]:0");
    ck_assert_uint_eq(back.p2p_persistent.n, 2);
    ck_assert_str_eq(back.p2p_persistent.v[1], ID64 "@[2001:db8::7]:1");
    ck_assert_uint_eq(back.p2p_seeds.n, 1);
    ck_assert_str_eq(back.p2p_seeds.v[0], ID64 "@seed-1.example.org:27650");
    ck_assert_uint_eq(back.p2p_max_outbound, 0);
    free(text);
}
END_TEST

START_TEST(test_full_file)
{
    const char *text = "; a full file, every key set\r\n"
                       "[node]\n"
                       "log_level = warn\n"
                       "map_size_gib=1024\n"
                       "genesis = /srv/chain/genesis.json ; inline comment\n"
                       "node_key = keys/node.key\n"
                       "\n"
                       "[rpc]\n"
                       "max_connections = 65536\n"
                       "max_line = 4096\n"
                       "max_batch = 1\n"
                       "max_inflight = 4096\n"
                       "[mempool]\n"
                       "max_count = 1\n"
                       "max_bytes = 17179869184\n"
                       "max_gap = 1000\n"
                       "[validator]\r\n"
                       "enabled = true\r\n"
                       "key_file = /srv/keys/validator.key\n"
                       "dev_plaintext_key = false\n"
                       "passphrase_file = /etc/repute/validator-passphrase\n"
                       "passphrase_env = MY_PASS_2\n"
                       "credential = repute.pass\n"
                       "block_interval_ms = 600000"; /* no final newline */
    rp_config c;
    accepted(text, &c);
    ck_assert_int_eq(c.log_level, RP_LOG_WARN);
    ck_assert_uint_eq(c.map_size, 1024ULL << 30);
    ck_assert_str_eq(c.genesis, "/srv/chain/genesis.json");
    ck_assert_str_eq(c.node_key, "keys/node.key");
    ck_assert_uint_eq(c.rpc_max_connections, 65536);
    ck_assert_uint_eq(c.rpc_max_line, 4096);
    ck_assert_uint_eq(c.rpc_max_batch, 1);
    ck_assert_uint_eq(c.rpc_max_inflight, 4096);
    ck_assert_uint_eq(c.mempool_max_count, 1);
    ck_assert_uint_eq(c.mempool_max_bytes, 17179869184ULL);
    ck_assert_uint_eq(c.mempool_max_gap, 1000);
    ck_assert_int_eq(c.validator, 1);
    ck_assert_str_eq(c.key_file, "/srv/keys/validator.key");
    ck_assert_int_eq(c.dev_plaintext_key, 0);
    ck_assert_str_eq(c.passphrase_file, "/etc/repute/validator-passphrase");
    ck_assert_str_eq(c.passphrase_env, "MY_PASS_2");
    ck_assert_str_eq(c.credential, "repute.pass");
    ck_assert_uint_eq(c.block_interval_ms, 600000);

    /* Through a file too, with the path in no message. */
    write_file(path(0, "full.conf"), text, 0600);
    char err[600];
    ck_assert_int_eq(rp_config_load(&c, path(0, "full.conf"), err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(c.validator, 1);
}
END_TEST

START_TEST(test_unknown_key)
{
    refused("[node]\nlog_level = info\nloglevel = info\n", 3, "unknown key 'loglevel' in [node]");
    refused("[node]\nlog_level = info\nloglevel = info\n", 3, "known: log_level, map_size_gib");
    refused("[rpc]\n\n\n\nmax_line = 4096\nmax_lines = 1\n", 6, "unknown key 'max_lines'");
    /* A key of another section is unknown in this one. */
    refused("[validator]\nmax_gap = 3\n", 2, "unknown key 'max_gap' in [validator]");
    /* Keys are case-sensitive. */
    refused("[node]\nLog_Level = info\n", 2, "unknown key");
    refused("log_level = info\n", 1, "before any [section]");
}
END_TEST

START_TEST(test_unknown_section)
{
    refused("[node]\nlog_level = info\n[nodes]\nmap_size_gib = 2\n", 3, "unknown section [nodes]");
    /* Even without keys, which inih would never report. */
    refused("[node]\n\n[mempol]\n", 3, "unknown section [mempol]");
    refused("[ node ]\n", 1, "unknown section [ node ]");
    refused("[node\n", 1, "without ']'");
    refused("[node] extra\n", 1, "after the section header");
    refused("[node]\n[rpc]\n[node]\n", 3, "appears twice (first on line 1)");
}
END_TEST

START_TEST(test_duplicate_key)
{
    refused("[node]\nlog_level = info\n# same again\nlog_level = info\n", 4,
            "duplicate key 'log_level' in [node] (first set on line 2)");
    refused("[validator]\nenabled = true\nenabled = false\n", 3, "duplicate key 'enabled'");
}
END_TEST

START_TEST(test_bad_values)
{
    refused("[validator]\nenabled = yes\n", 2, "enabled: must be true or false, not 'yes'");
    refused("[validator]\n\nenabled = True\n", 3, "must be true or false");
    refused("[validator]\nenabled = 1\n", 2, "must be true or false");
    refused("[validator]\nenabled =\n", 2, "must be true or false");
    refused("[node]\nmap_size_gib = 0\n", 2,
            "map_size_gib: must be an integer in 1..1024, not '0'");
    refused("[node]\nmap_size_gib = 1025\n", 2, "must be an integer in 1..1024");
    refused("[node]\nmap_size_gib = -1\n", 2, "must be an integer in 1..1024");
    refused("[node]\nmap_size_gib = 12x\n", 2, "not '12x'");
    refused("[node]\nmap_size_gib = 0x10\n", 2, "must be an integer");
    refused("[node]\nmap_size_gib = 99999999999999999999999\n", 2, "must be an integer");
    refused("[node]\nmap_size_gib = 1 000\n", 2, "must be an integer");
    refused("[rpc]\nmax_line = 4095\n", 2, "max_line: must be an integer in 4096..16777216");
    refused("[rpc]\nmax_connections = 0\n", 2, "1..65536");
    refused("[mempool]\nmax_gap = 1001\n", 2, "0..1000");
    refused("[mempool]\nmax_bytes = 65535\n", 2, "65536..17179869184");
    refused("[validator]\nblock_interval_ms = 99\n", 2, "100..600000");
    refused("[node]\nlog_level = verbose\n", 2, "debug, info, warn or error");
    refused("[node]\ngenesis =\n", 2, "genesis: must not be empty");
    refused("[validator]\nkey_file =\n", 2, "must not be empty");
    refused("[validator]\npassphrase_env = MY-PASS\n", 2, "environment variable name");
    refused("[validator]\npassphrase_env = 1PASS\n", 2, "environment variable name");
    refused("[validator]\ncredential = ../etc/shadow\n", 2, "credential name");
    refused("[validator]\ncredential = ..\n", 2, "credential name");
    refused("[node]\nlog_level info\n", 2, "expected '[section]', 'key = value'");
}
END_TEST

START_TEST(test_line_length)
{
    char text[1024], line[512];
    /* 300 bytes: refused on its own line number, not split in two. */
    memset(line, 'x', 300);
    line[300] = '\0';
    snprintf(text, sizeof text, "[node]\nlog_level = info\n# %s\n", line);
    refused(text, 3, "line is 302 characters long; the limit is 199");

    /* A value line of exactly 199 characters plus its newline is accepted
     * and read whole. */
    const char *prefix = "genesis = /";
    size_t k = 199 - strlen(prefix);
    memset(line, 'g', k);
    line[k] = '\0';
    snprintf(text, sizeof text, "[node]\n%s%s\nlog_level = debug\n", prefix, line);
    ck_assert_uint_eq(strchr(text + 7, '\n') - (text + 7), 199);
    rp_config c;
    accepted(text, &c);
    ck_assert_uint_eq(strlen(c.genesis), 189);
    ck_assert_int_eq(c.log_level, RP_LOG_DEBUG);
    /* Also with CRLF, and as a comment. */
    snprintf(text, sizeof text, "[node]\r\n%s%s\r\nlog_level = debug\r\n", prefix, line);
    accepted(text, &c);
    ck_assert_uint_eq(strlen(c.genesis), 189);
    memset(line, '#', 199);
    line[199] = '\0';
    snprintf(text, sizeof text, "%s\n[node]\n", line);
    accepted(text, &c);

    /* One more character is refused. */
    memset(line, 'g', k + 1);
    line[k + 1] = '\0';
    snprintf(text, sizeof text, "[node]\n%s%s\n", prefix, line);
    refused(text, 2, "line is 200 characters long");
}
END_TEST

START_TEST(test_strict_syntax)
{
    /* inih would take an indented line as the continuation of a value. */
    refused("[node]\ngenesis = a.json\n  b.json\n", 3, "indented line");
    refused("[node]\n\tlog_level = info\n", 2, "indented line");
    char text[64] = "[node]\nlog_level = info\n";
    size_t n = strlen(text);
    memcpy(text + n, "x\0y\n", 4);
    rp_config c;
    char err[600];
    ck_assert_int_eq(rp_config_parse(&c, "nul.conf", text, n + 4, err, sizeof err), RP_ERR_CONFIG);
    ck_assert_str_eq(err, "nul.conf:3: contains a NUL byte");
}
END_TEST

START_TEST(test_load_errors)
{
    rp_config c;
    char err[600];
    ck_assert_int_eq(rp_config_load(&c, path(0, "missing.conf"), err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "missing.conf"));
    assert_defaults(&c);
    ck_assert_int_eq(rp_config_load(&c, tmp, err, sizeof err), -EISDIR);
    write_file(path(0, "bad.conf"), "[node]\n\nmap_size_gib = 0\n", 0644);
    ck_assert_int_eq(rp_config_load(&c, path(0, "bad.conf"), err, sizeof err), RP_ERR_CONFIG);
    char want[400];
    snprintf(want, sizeof want, "%s:3: map_size_gib: must be an integer in 1..1024, not '0'",
             path(1, "bad.conf"));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_is_set)
{
    /* Which keys a file set, apart from their values: a key set to its
     * default is set, a key left out is not. */
    rp_config c;
    rp_config_defaults(&c);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "enabled"), 0);
    accepted("[validator]\nenabled = false\n[rpc]\nmax_batch = 100\n", &c);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "enabled"), 1);
    ck_assert_int_eq(rp_config_is_set(&c, "rpc", "max_batch"), 1);
    ck_assert_int_eq(rp_config_is_set(&c, "rpc", "max_line"), 0);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "key_file"), 0);
    ck_assert_int_eq(rp_config_is_set(&c, "node", "enabled"), 0);
    ck_assert_int_eq(rp_config_is_set(&c, "nope", "nope"), 0);
    /* An empty file sets nothing; a refused one leaves nothing set. */
    accepted("", &c);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "enabled"), 0);
    refused("[validator]\nenabled = true\nenabled = true\n", 3, "duplicate");
    const char *bad = "[validator]\nenabled = true\nbad = 1\n";
    char err[600];
    ck_assert_int_eq(rp_config_parse(&c, "x", bad, strlen(bad), err, sizeof err), RP_ERR_CONFIG);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "enabled"), 0);
    /* Every key init writes is set in what it writes. */
    rp_config_defaults(&c);
    char *text = rp_config_format(&c);
    ck_assert_ptr_nonnull(text);
    accepted(text, &c);
    free(text);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "enabled"), 1);
    ck_assert_int_eq(rp_config_is_set(&c, "node", "node_key"), 1);
    ck_assert_int_eq(rp_config_is_set(&c, "validator", "block_interval_ms"), 1);
}
END_TEST

START_TEST(test_config_path)
{
    char out[64];
    ck_assert_int_eq(rp_config_path(out, sizeof out, "/var/lib/repute", "node.key"), 0);
    ck_assert_str_eq(out, "/var/lib/repute/node.key");
    ck_assert_int_eq(rp_config_path(out, sizeof out, "/var/lib/repute", "/etc/k"), 0);
    ck_assert_str_eq(out, "/etc/k");
    ck_assert_int_eq(rp_config_path(out, 8, "/var/lib/repute", "node.key"), -ENAMETOOLONG);
}
END_TEST

/* ---- init ------------------------------------------------------------------------ */

static rp_init_opts dev_opts(const char *dir, rp_init_result *res)
{
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = dir;
    o.dev = 1;
    o.result = res;
    return o;
}

static void load_conf(const char *dir, rp_config *c)
{
    char p[300], err[600];
    snprintf(p, sizeof p, "%s/reputed.conf", dir);
    ck_assert_msg(rp_config_load(c, p, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_init_dev)
{
    const char *dir = path(0, "dev");
    rp_init_result res;
    rp_init_opts o = dev_opts(dir, &res);
    char err[600];
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(res.chain_name, RP_DEV_CHAIN_NAME);
    ck_assert_uint_eq(res.height, 1);
    ck_assert(res.has_validator && res.validator_in_genesis && res.has_anchor);

    /* Modes: the folder 0700, every file 0600. */
    ck_assert_uint_eq(mode_of(dir), 0700);
    const char *files[] = {"reputed.conf", "genesis.json", "node.key", "validator.key",
                           RP_DEV_ANCHOR_FILE};
    char p[300];
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        ck_assert_msg(mode_of(p) == 0600, "%s is %o", files[i], mode_of(p));
    }

    /* The genesis: ours, one validator (the result's), the anchor pre-trusted. */
    rp_genesis *g = calloc(1, sizeof *g);
    snprintf(p, sizeof p, "%s/genesis.json", dir);
    ck_assert_int_eq(rp_genesis_load(g, p, err, sizeof err), 0);
    ck_assert_str_eq(g->chain_name, "devnet-local");
    ck_assert_uint_eq(g->nvalidators, 1);
    ck_assert_uint_eq(g->validators[0].power, 1);
    ck_assert_mem_eq(g->validators[0].pubkey.bytes, res.validator.bytes, 32);
    ck_assert_uint_eq(g->npretrusted, 1);
    ck_assert_mem_eq(g->pretrusted[0].bytes, res.anchor.bytes, 32);
    ck_assert_uint_le(g->params.pow_difficulty, 8);
    ck_assert_uint_eq(g->params.epoch_blocks, 10);
    ck_assert_uint_eq(g->params.score_delay_blocks, 2);

    /* The ledger opens at height 1, of this chain, with the anchor registered. */
    rp_hash id;
    ck_assert_int_eq(rp_genesis_chain_id(&id, g), 0);
    ck_assert_mem_eq(id.bytes, res.chain_id.bytes, 32);
    rp_store *s;
    rp_store_error serr;
    ck_assert_int_eq(rp_store_open_chain(&s, dir, &id, NULL, &serr), 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(s, &tip), 0);
    ck_assert_uint_eq(tip.height, 1);
    rp_identity_state ist;
    ck_assert_int_eq(rp_store_read_identity(s, &res.anchor, &ist), 0);
    ck_assert_uint_eq(ist.role, RP_ROLE_AGENT);
    ck_assert_str_eq(ist.name, RP_DEV_ANCHOR_NAME);
    ck_assert_uint_eq(ist.seq, 1);
    ck_assert_int_eq(rp_store_read_identity(s, &res.validator, &ist), RP_ERR_NOT_FOUND);
    rp_store_close(s);

    /* The conf: a dev validator. */
    rp_config c;
    load_conf(dir, &c);
    ck_assert_int_eq(c.validator, 1);
    ck_assert_int_eq(c.dev_plaintext_key, 1);
    ck_assert_uint_eq(c.block_interval_ms, 500);

    /* The plaintext dev key is the genesis validator's. */
    size_t len;
    snprintf(p, sizeof p, "%s/validator.key", dir);
    char *text = read_file(p, &len);
    ck_assert(!strncmp(text, RP_DEV_KEY_HEADER "\n", strlen(RP_DEV_KEY_HEADER) + 1));
    free(text);
    rp_seckey sk;
    rp_pubkey pk;
    ck_assert_msg(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err) == 0, "%s", err);
    ck_assert_mem_eq(pk.bytes, res.validator.bytes, 32);

    /* The anchor's key file opens with the empty passphrase. */
    snprintf(p, sizeof p, "%s/%s", dir, RP_DEV_ANCHOR_FILE);
    ck_assert_int_eq(rp_keyfile_read(&sk, &pk, p, "", 0), 0);
    ck_assert_mem_eq(pk.bytes, res.anchor.bytes, 32);

    /* The node key: 32 bytes. */
    unsigned char nk[32];
    snprintf(p, sizeof p, "%s/node.key", dir);
    ck_assert_msg(rp_node_key_read(p, nk, err, sizeof err) == 0, "%s", err);
    free(g);
}
END_TEST

START_TEST(test_init_twice_refused)
{
    const char *dir = path(0, "dev");
    rp_init_opts o = dev_opts(dir, NULL);
    char err[600];
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    size_t before_len, after_len;
    char *before = read_file(path(1, "dev/genesis.json"), &before_len);
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), -EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "already holds a node"));
    /* Nothing of the first was touched. */
    char *after = read_file(path(1, "dev/genesis.json"), &after_len);
    ck_assert_str_eq(before, after);
    rp_config c;
    load_conf(dir, &c);
    ck_assert_int_eq(c.dev_plaintext_key, 1);
    free(before);
    free(after);

    /* A stray key file is never overwritten either. */
    ck_assert_int_eq(mkdir(path(2, "other"), 0700), 0);
    write_file(path(3, "other/node.key"), "x\n", 0600);
    o.datadir = path(2, "other");
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), -EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "node.key exists"));
}
END_TEST

START_TEST(test_init_existing_folder)
{
    /* An existing empty folder is used, and made 0700. */
    const char *dir = path(0, "empty");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    rp_init_opts o = dev_opts(dir, NULL);
    char err[600];
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(mode_of(dir), 0700);

    /* A folder with something else in it is refused and left alone. */
    const char *busy = path(1, "busy");
    ck_assert_int_eq(mkdir(busy, 0755), 0);
    write_file(path(2, "busy/notes.txt"), "mine\n", 0644);
    o.datadir = busy;
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), -ENOTEMPTY);
    ck_assert_ptr_nonnull(strstr(err, "not empty"));
    ck_assert(!exists(path(3, "busy/genesis.json")));
    ck_assert(!exists(path(3, "busy/ledger")));
    ck_assert_uint_eq(mode_of(busy), 0755);

    /* A file where the folder should be. */
    o.datadir = path(2, "busy/notes.txt");
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), -ENOTDIR);
}
END_TEST

START_TEST(test_init_genesis)
{
    char gpath[4096], err[600], p[300];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    const char *dir = path(0, "follower");
    rp_init_result res;
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = dir;
    o.genesis = gpath;
    o.result = &res;
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.height, 0);
    ck_assert_int_eq(res.has_validator, 0);
    ck_assert_str_eq(res.chain_name, "repute-devnet");

    /* The genesis is copied byte for byte. */
    size_t a, b;
    char *orig = read_file(gpath, &a), *copy = read_file(path(1, "follower/genesis.json"), &b);
    ck_assert_uint_eq(a, b);
    ck_assert_str_eq(orig, copy);
    free(orig);
    free(copy);
    ck_assert(!exists(path(1, "follower/validator.key")));
    rp_config c;
    load_conf(dir, &c);
    ck_assert_int_eq(c.validator, 0);
    ck_assert_int_eq(c.dev_plaintext_key, 0);
    snprintf(p, sizeof p, "%s/ledger", dir);
    ck_assert(exists(p));

    /* A bad genesis is refused with its message and leaves nothing. */
    write_file(path(2, "bad.json"), "{\"chain_name\": \"x\"}", 0644);
    o.genesis = path(2, "bad.json");
    o.datadir = path(3, "bad");
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_GENESIS);
    ck_assert_ptr_nonnull(strstr(err, "bad.json: "));
    ck_assert(!exists(path(3, "bad")));

    /* Contradictory options. */
    o.genesis = gpath;
    o.dev = 1;
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_INVALID_ARG);
    o.genesis = NULL;
    o.dev = 0;
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_INVALID_ARG);
    o.dev = 1;
    o.validator = 1;
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_INVALID_ARG);
    ck_assert(!exists(path(3, "bad")));
}
END_TEST

START_TEST(test_init_genesis_in_place)
{
    /* The genesis already in the (otherwise empty) folder is kept as it is. */
    char gpath[4096], err[600];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    ck_assert_int_eq(mkdir(path(0, "d"), 0700), 0);
    size_t n;
    char *text = read_file(gpath, &n);
    write_file(path(1, "d/genesis.json"), text, 0600);
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = path(0, "d");
    o.genesis = path(1, "d/genesis.json");
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    size_t m;
    char *kept = read_file(path(1, "d/genesis.json"), &m);
    ck_assert_str_eq(kept, text);
    free(kept);
    free(text);
}
END_TEST

START_TEST(test_init_rollback)
{
    /* A failure after the first files are written (here the ledger cannot
     * grow past the file-size limit) removes everything init created. */
    char gpath[4096], err[600];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 4096, .rlim_max = 4096};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = path(0, "new");
    o.genesis = gpath;
    ck_assert_int_ne(rp_node_init(&o, err, sizeof err), 0);
    ck_assert_msg(!exists(path(0, "new")), "left behind after: %s", err);
    ck_assert_msg(strstr(err, "ledger") != NULL, "failed too early: %s", err);

    /* An existing folder is kept, and emptied of what init made. */
    ck_assert_int_eq(mkdir(path(1, "old"), 0700), 0);
    o.datadir = path(1, "old");
    ck_assert_int_ne(rp_node_init(&o, err, sizeof err), 0);
    ck_assert(exists(path(1, "old")));
    ck_assert(!exists(path(2, "old/genesis.json")));
    ck_assert(!exists(path(2, "old/node.key")));
    ck_assert(!exists(path(2, "old/ledger")));
    ck_assert(!exists(path(2, "old/reputed.conf")));
}
END_TEST

/* A --genesis datadir with a new encrypted validator key, the passphrase
 * from the environment. */
static void make_validator(const char *dir, const char *pass, rp_init_result *res)
{
    char gpath[4096], err[600];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = dir;
    o.genesis = gpath;
    o.validator = 1;
    o.kdf_ops = RP_KDF_OPS_MIN;
    o.kdf_mem = RP_KDF_MEM_MIN;
    o.result = res;
    ck_assert_int_eq(setenv("REPUTE_PASSPHRASE", pass, 1), 0);
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    unsetenv("REPUTE_PASSPHRASE");
}

START_TEST(test_validator_key_sources)
{
    const char *dir = path(0, "val");
    rp_init_result res;
    make_validator(dir, "correct horse", &res);
    ck_assert(res.has_validator);
    ck_assert_int_eq(res.validator_in_genesis, 0); /* a new key is in no genesis yet */
    ck_assert_str_eq(res.passphrase_source, "environment variable REPUTE_PASSPHRASE");
    ck_assert_uint_eq(mode_of(path(1, "val/validator.key")), 0600);

    rp_config c;
    load_conf(dir, &c);
    ck_assert_int_eq(c.validator, 0);
    ck_assert_int_eq(c.dev_plaintext_key, 0);

    rp_seckey sk;
    rp_pubkey pk;
    char err[600];

    /* From the environment. */
    setenv("REPUTE_PASSPHRASE", "correct horse", 1);
    ck_assert_msg(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err) == 0, "%s", err);
    ck_assert_mem_eq(pk.bytes, res.validator.bytes, 32);

    /* A wrong one is refused, naming its source. */
    setenv("REPUTE_PASSPHRASE", "wrong horse", 1);
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err),
                     RP_ERR_KEYFILE_DECRYPT);
    ck_assert_ptr_nonnull(strstr(err, "wrong passphrase"));
    ck_assert_ptr_nonnull(strstr(err, "environment variable REPUTE_PASSPHRASE"));
    unsigned char zero[32] = {0};
    ck_assert_mem_eq(sk.bytes, zero, 32);

    /* A configured variable name. */
    strcpy(c.passphrase_env, "OTHER_PASS");
    setenv("OTHER_PASS", "correct horse", 1);
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err), 0);

    /* From a 0600 file (which wins over the environment), one trailing
     * newline ignored; relative paths are relative to the datadir. */
    write_file(path(2, "val/pass"), "correct horse\n", 0600);
    strcpy(c.passphrase_file, "pass");
    setenv("OTHER_PASS", "wrong horse", 1);
    ck_assert_msg(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err) == 0, "%s", err);
    ck_assert_mem_eq(pk.bytes, res.validator.bytes, 32);

    /* A passphrase file that others can read is refused. */
    ck_assert_int_eq(chmod(path(2, "val/pass"), 0644), 0);
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err),
                     RP_ERR_KEYFILE_PERMS);
    ck_assert_ptr_nonnull(strstr(err, "mode 0644"));
    ck_assert_int_eq(chmod(path(2, "val/pass"), 0640), 0);
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err),
                     RP_ERR_KEYFILE_PERMS);
    /* ... and so is a missing one, rather than falling through. */
    strcpy(c.passphrase_file, "nothing-here");
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err), -ENOENT);

    /* The systemd credential comes first. */
    ck_assert_int_eq(mkdir(path(3, "creds"), 0700), 0);
    write_file(path(4, "creds/validator-passphrase"), "correct horse", 0400);
    setenv("CREDENTIALS_DIRECTORY", path(3, "creds"), 1);
    ck_assert_msg(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err) == 0, "%s", err);
    ck_assert_mem_eq(pk.bytes, res.validator.bytes, 32);
    /* A credential directory without our credential is skipped. */
    strcpy(c.credential, "someone-else");
    strcpy(c.passphrase_file, "");
    setenv("OTHER_PASS", "correct horse", 1);
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err), 0);

    /* No source at all: the message lists the four. */
    unsetenv("OTHER_PASS");
    unsetenv("CREDENTIALS_DIRECTORY");
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err), RP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "no passphrase"));
    ck_assert_ptr_nonnull(strstr(err, "LoadCredential="));
    ck_assert_ptr_nonnull(strstr(err, "passphrase file"));
    ck_assert_ptr_nonnull(strstr(err, "OTHER_PASS"));
    ck_assert_ptr_nonnull(strstr(err, "terminal"));

    /* The key file itself must be private. */
    setenv("OTHER_PASS", "correct horse", 1);
    ck_assert_int_eq(chmod(path(1, "val/validator.key"), 0640), 0);
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err),
                     RP_ERR_KEYFILE_PERMS);
    ck_assert_int_eq(chmod(path(1, "val/validator.key"), 0600), 0);

    /* An encrypted key read as a plaintext one, and the other way round. */
    c.dev_plaintext_key = 1;
    ck_assert_int_eq(rp_validator_key_load(dir, &c, &sk, &pk, err, sizeof err),
                     RP_ERR_KEYFILE_FORMAT);
    rp_init_opts o = dev_opts(path(5, "dev"), NULL);
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), 0);
    c.dev_plaintext_key = 0;
    ck_assert_int_eq(rp_validator_key_load(path(5, "dev"), &c, &sk, &pk, err, sizeof err),
                     RP_ERR_KEYFILE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "PLAINTEXT dev key"));
}
END_TEST

START_TEST(test_init_passphrase_refusals)
{
    char gpath[4096], err[600];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = path(0, "v");
    o.genesis = gpath;
    o.validator = 1;
    o.kdf_ops = RP_KDF_OPS_MIN;
    o.kdf_mem = RP_KDF_MEM_MIN;

    /* No source: refused before anything is created. */
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "--passphrase-file"));
    ck_assert(!exists(path(0, "v")));

    /* An empty passphrase protects nothing. */
    setenv("REPUTE_PASSPHRASE", "", 1);
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    ck_assert(!exists(path(0, "v")));
    unsetenv("REPUTE_PASSPHRASE");

    /* A passphrase file others can read. */
    write_file(path(1, "pass"), "secret\n", 0644);
    o.passphrase_file = path(1, "pass");
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_KEYFILE_PERMS);
    ck_assert(!exists(path(0, "v")));

    /* A good one is recorded in the conf, as an absolute path. */
    ck_assert_int_eq(chmod(path(1, "pass"), 0600), 0);
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    rp_config c;
    load_conf(path(0, "v"), &c);
    ck_assert_str_eq(c.passphrase_file, path(1, "pass"));
    rp_seckey sk;
    rp_pubkey pk;
    ck_assert_msg(rp_validator_key_load(path(0, "v"), &c, &sk, &pk, err, sizeof err) == 0, "%s",
                  err);
}
END_TEST

START_TEST(test_init_import_key)
{
    /* An existing key file, in a genesis of our own making. */
    rp_seckey sk;
    rp_pubkey pk;
    ck_assert_int_eq(rp_seckey_generate(&sk), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(&pk, &sk), 0);
    ck_assert_int_eq(
        rp_keyfile_write(path(0, "mine.key"), &sk, "pw", 2, RP_KDF_OPS_MIN, RP_KDF_MEM_MIN), 0);
    char gpath[4096], err[600];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    rp_genesis *g = calloc(1, sizeof *g);
    ck_assert_int_eq(rp_genesis_load(g, gpath, err, sizeof err), 0);
    g->validators[0].pubkey = pk;
    char *json = rp_genesis_to_json(g);
    write_file(path(1, "genesis.json"), json, 0644);
    free(json);

    rp_init_result res;
    rp_init_opts o;
    memset(&o, 0, sizeof o);
    o.datadir = path(2, "node");
    o.genesis = path(1, "genesis.json");
    o.validator_key = path(0, "mine.key");
    o.passphrase_env = "MY_PASS";
    o.result = &res;
    setenv("MY_PASS", "nope", 1);
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), RP_ERR_KEYFILE_DECRYPT);
    ck_assert(!exists(path(2, "node")));
    setenv("MY_PASS", "pw", 1);
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    ck_assert(res.validator_in_genesis);
    ck_assert_mem_eq(res.validator.bytes, pk.bytes, 32);

    size_t a, b;
    char *orig = read_file(path(0, "mine.key"), &a);
    char *copy = read_file(path(3, "node/validator.key"), &b);
    ck_assert_uint_eq(a, RP_KEYFILE_SIZE);
    ck_assert_uint_eq(b, RP_KEYFILE_SIZE);
    ck_assert_mem_eq(orig, copy, a);
    free(orig);
    free(copy);

    rp_config c;
    load_conf(path(2, "node"), &c);
    ck_assert_int_eq(c.validator, 1);
    ck_assert_str_eq(c.passphrase_env, "MY_PASS");
    rp_seckey sk2;
    rp_pubkey pk2;
    ck_assert_int_eq(rp_validator_key_load(path(2, "node"), &c, &sk2, &pk2, err, sizeof err), 0);
    ck_assert_mem_eq(sk2.bytes, sk.bytes, 32);
    free(g);
}
END_TEST

/* ---- reputed run's start-up checks --------------------------------------------- */

/* rp_node_load_config refuses dir with rc, and a message holding needle. */
static void run_refused(const char *dir, int rc, const char *needle)
{
    rp_config c;
    char err[600];
    int got = rp_node_load_config(dir, &c, err, sizeof err);
    ck_assert_msg(got == rc, "wanted %d, got %d: %s", rc, got, err);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in '%s'", needle, err);
}

static void run_accepted(const char *dir)
{
    rp_config c;
    char err[600];
    ck_assert_msg(rp_node_load_config(dir, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(err, "");
}

START_TEST(test_run_refuses_unsafe_modes)
{
    const char *dir = path(0, "d");
    rp_init_opts o = dev_opts(dir, NULL);
    char err[600], want[400];
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    run_accepted(dir);
    rp_config c;
    ck_assert_int_eq(rp_node_load_config(dir, &c, err, sizeof err), 0);
    ck_assert_int_eq(c.validator, 1); /* the config was loaded */

    /* A datadir that group or others can write: they could replace the
     * config, a key or the socket. Reading is not the datadir's business. */
    static const unsigned bad_dir[] = {0777, 0770, 0730, 0703, 01777};
    snprintf(want, sizeof want, "(chmod 700 %s)", dir);
    for (size_t i = 0; i < sizeof bad_dir / sizeof *bad_dir; i++) {
        ck_assert_int_eq(chmod(dir, bad_dir[i]), 0);
        run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
        run_refused(dir, RP_ERR_UNSAFE_PERMS, "group and others must not be able to write");
    }
    ck_assert_int_eq(chmod(dir, 0755), 0);
    run_accepted(dir);
    ck_assert_int_eq(chmod(dir, 0700), 0);

    /* The config names the key files. */
    const char *conf = path(1, "d/reputed.conf");
    snprintf(want, sizeof want,
             "config %s is mode 0666: group and others must not be able to write to it", conf);
    ck_assert_int_eq(chmod(conf, 0666), 0);
    run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
    snprintf(want, sizeof want, "(chmod 600 %s)", conf);
    run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
    ck_assert_int_eq(chmod(conf, 0620), 0);
    run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
    ck_assert_int_eq(chmod(conf, 0644), 0);
    run_accepted(dir);
    ck_assert_int_eq(chmod(conf, 0600), 0);

    /* The ledger folder. */
    const char *ledger = path(2, "d/ledger");
    ck_assert_int_eq(chmod(ledger, 0777), 0);
    snprintf(want, sizeof want, "ledger folder %s is mode 0777", ledger);
    run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
    snprintf(want, sizeof want, "(chmod 700 %s)", ledger);
    run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
    ck_assert_int_eq(chmod(ledger, 0700), 0);
    run_accepted(dir);

    /* Owners: only as root can a test give a file away. */
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(conf, 65534, 65534), 0);
        run_refused(dir, RP_ERR_UNSAFE_PERMS, "belongs to uid 65534, not to this user (uid 0)");
        ck_assert_int_eq(chown(conf, 0, 0), 0);
        ck_assert_int_eq(chown(dir, 65534, 65534), 0);
        snprintf(want, sizeof want, "datadir %s belongs to uid 65534", dir);
        run_refused(dir, RP_ERR_UNSAFE_PERMS, want);
        ck_assert_int_eq(chown(dir, 0, 0), 0);
        ck_assert_int_eq(chown(ledger, 65534, 65534), 0);
        run_refused(dir, RP_ERR_UNSAFE_PERMS, "ledger folder");
        ck_assert_int_eq(chown(ledger, 0, 0), 0);
        run_accepted(dir);
    }

    /* What is not a datadir says so. */
    run_refused(path(3, "missing"), -ENOENT, "does not exist: create a datadir");
    run_refused(conf, -ENOTDIR, "is not a folder");
    ck_assert_int_eq(mkdir(path(3, "empty"), 0700), 0);
    run_refused(path(3, "empty"), -ENOENT, "reputed.conf not found: is");
}
END_TEST

/* A datadir path whose socket, DIR/rpc.sock, would not fit a Unix socket
 * address (107 bytes and the NUL) is refused by init as run refuses it. */
START_TEST(test_init_socket_path_too_long)
{
    char dir[200], err[600], want[400];
    /* DIR/rpc.sock of 108 bytes: one too many. */
    int n = snprintf(dir, sizeof dir, "%s/", tmp);
    while (n < 108 - 9)
        dir[n++] = 's';
    dir[n] = '\0';
    rp_init_opts o = dev_opts(dir, NULL);
    snprintf(want, sizeof want,
             "socket path %s/rpc.sock is 108 bytes; Unix sockets allow at most 107: use a "
             "shorter datadir path",
             dir);
    ck_assert_int_eq(rp_node_init(&o, err, sizeof err), -ENAMETOOLONG);
    ck_assert_str_eq(err, want);
    ck_assert(!exists(dir));
    /* repute-gen's check says the same. */
    ck_assert_int_eq(rp_init_check_datadir(dir, "repute-gen", err, sizeof err), -ENAMETOOLONG);
    ck_assert_str_eq(err, want);
    /* And so does run, on a datadir moved there. */
    o.datadir = path(0, "d");
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rename(path(0, "d"), dir), 0);
    run_refused(dir, -ENAMETOOLONG, want);
    ck_assert_int_eq(rename(dir, path(0, "d")), 0);

    /* 107 bytes fit. */
    dir[n - 1] = '\0';
    o.datadir = dir;
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    run_accepted(dir);
}
END_TEST

/* A key without a safe default must be in the file: an empty conf next to
 * a validator key would otherwise make the validator a follower. */
START_TEST(test_run_required_keys)
{
    const char *dir = path(0, "dev");
    const char *conf = path(1, "dev/reputed.conf");
    rp_init_opts o = dev_opts(dir, NULL);
    char err[600], want[800];
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);

    snprintf(want, sizeof want,
             "%s: [validator] enabled is not set, but the validator key %s/validator.key "
             "exists: add 'enabled = true' under [validator]",
             conf, dir);
    write_file(conf, "", 0600);
    run_refused(dir, RP_ERR_CONFIG, want);
    write_file(conf, "# all defaults\n[validator]\nblock_interval_ms = 500\n", 0600);
    run_refused(dir, RP_ERR_CONFIG, want);
    write_file(conf, "[validator]\nenabled = false\n", 0600);
    run_accepted(dir);
    write_file(conf, "[validator]\nenabled = true\ndev_plaintext_key = true\n", 0600);
    run_accepted(dir);
    /* The key that counts is the one key_file names. */
    write_file(conf, "[validator]\nkey_file = elsewhere.key\n", 0600);
    run_accepted(dir);

    /* A follower has no key: its empty conf is all defaults. */
    char gpath[4096];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    memset(&o, 0, sizeof o);
    o.datadir = path(2, "follower");
    o.genesis = gpath;
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    write_file(path(3, "follower/reputed.conf"), "", 0600);
    run_accepted(path(2, "follower"));

    /* A validator key that is in no genesis yet: init writes enabled = false
     * (it is required, so it is there). */
    rp_init_result res;
    make_validator(path(2, "val"), "correct horse", &res);
    run_accepted(path(2, "val"));
}
END_TEST

/* Rewrite dir's reputed.conf with [node] genesis and node_key set. */
static void set_node_files(const char *dir, const char *genesis, const char *node_key)
{
    rp_config c;
    char p[300];
    load_conf(dir, &c);
    snprintf(c.genesis, sizeof c.genesis, "%s", genesis);
    snprintf(c.node_key, sizeof c.node_key, "%s", node_key);
    char *text = rp_config_format(&c);
    ck_assert_ptr_nonnull(text);
    snprintf(p, sizeof p, "%s/reputed.conf", dir);
    write_file(p, text, 0600);
    free(text);
}

/* Every setting init writes is read by run: [node] node_key and [node]
 * genesis, which nothing else reads yet, are checked at start. */
START_TEST(test_run_reads_node_files)
{
    const char *dir = path(0, "d");
    rp_init_opts o = dev_opts(dir, NULL);
    char err[600], want[4800], gpath[4096];
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    run_accepted(dir);

    /* The node key: private and well formed. */
    const char *nk = path(1, "d/node.key");
    ck_assert_int_eq(chmod(nk, 0644), 0);
    snprintf(want, sizeof want, "node key %s is mode 0644", nk);
    run_refused(dir, RP_ERR_KEYFILE_PERMS, want);
    snprintf(want, sizeof want, "(chmod 600 %s) ([node] node_key)", nk);
    run_refused(dir, RP_ERR_KEYFILE_PERMS, want);
    ck_assert_int_eq(chmod(nk, 0600), 0);
    set_node_files(dir, "genesis.json", "other.key");
    run_refused(dir, -ENOENT, "other.key");
    write_file(path(2, "d/other.key"), "# not hex\nxyz\n", 0600);
    run_refused(dir, RP_ERR_KEYFILE_FORMAT, "not in the expected format");
    set_node_files(dir, "genesis.json", "node.key");
    run_accepted(dir);

    /* The genesis: readable, valid, and the ledger's. */
    set_node_files(dir, "nothing.json", "node.key");
    run_refused(dir, -ENOENT, "[node] genesis: ");
    write_file(path(2, "d/broken.json"), "{\"chain_name\": \"x\"}", 0600);
    set_node_files(dir, "broken.json", "node.key");
    run_refused(dir, RP_ERR_GENESIS, "[node] genesis: ");
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    set_node_files(dir, gpath, "node.key");
    snprintf(want, sizeof want, "[node] genesis %s is chain 'repute-devnet'", gpath);
    run_refused(dir, RP_ERR_CHAIN_MISMATCH, want);
    run_refused(dir, RP_ERR_CHAIN_MISMATCH,
                "point [node] genesis at the genesis this datadir was created from");

    /* The datadir's own genesis, wherever it is kept. */
    size_t n;
    char *text = read_file(path(1, "d/genesis.json"), &n);
    write_file(path(2, "kept.json"), text, 0644);
    free(text);
    set_node_files(dir, path(2, "kept.json"), "node.key");
    run_accepted(dir);
}
END_TEST

/* ---- an interrupted init --------------------------------------------------------- */

static int kill_after; /* steps the child lets pass before it dies */
static int step_fd = -1;

static void die_at_step(const char *step)
{
    if (kill_after-- > 0)
        return;
    ssize_t w = write(step_fd, step, strlen(step));
    (void)w;
    raise(SIGKILL);
}

/* Run init with o in a child that SIGKILLs itself after `steps` steps
 * (rp_init_test_hook). Returns: 1 with the step's name in step if the child
 * died there, 0 if init finished first. */
static int init_killed_at(const rp_init_opts *o, int steps, char *step, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        step_fd = fds[1];
        kill_after = steps;
        rp_init_test_hook = die_at_step;
        char err[600];
        int rc = rp_node_init(o, err, sizeof err);
        if (rc)
            fprintf(stderr, "init failed in the child: %s\n", err);
        _exit(rc ? 3 : 0);
    }
    close(fds[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fds[0], step + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    step[n] = '\0';
    close(fds[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the init child ended with 0x%x", st);
    return 1;
}

static int empty_or_missing(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n == 0;
}

static void remove_tree(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* What an init killed at `when` (finished: 1 after its last step, 0
 * before, -1 unknown) left in o->datadir is one of three things:
 * nothing (or an empty folder), which init takes; a finished datadir; or a
 * folder that init refuses, saying that an init was interrupted and what
 * to do. Never one that is refused without saying why. Ends with the
 * folder removed. */
static void check_interrupted(const rp_init_opts *o, const char *when, int finished)
{
    char err[600], want[400];
    const char *dir = o->datadir;
    rp_init_opts again = *o;
    again.result = NULL;
    int empty = empty_or_missing(dir);
    rp_config c;
    char run_err[600];
    int run_rc = rp_node_load_config(dir, &c, run_err, sizeof run_err);
    int rc = rp_node_init(&again, err, sizeof err);
    if (empty) {
        ck_assert_msg(rc == 0, "killed at %s: init refused the empty folder: %s", when, err);
        /* "does not exist: create a datadir with 'reputed init'", or for the
         * empty folder "reputed.conf not found: ... Create one with ..." */
        ck_assert_msg(run_rc == -ENOENT && strstr(run_err, " with 'reputed init'"),
                      "killed at %s: run said %s", when, run_err);
    } else if (finished == 1 || (finished < 0 && run_rc == 0)) {
        ck_assert_msg(rc == -EEXIST && strstr(err, "already holds a node"),
                      "killed at %s, after init finished: %s", when, err);
        ck_assert_msg(run_rc == 0, "killed at %s, after init finished: run said %s", when, run_err);
    } else {
        ck_assert_msg(rc == RP_ERR_UNFINISHED, "killed at %s: init said (%d) %s", when, rc, err);
        snprintf(want, sizeof want, "remove %s, or everything in it, and run", dir);
        ck_assert_msg(strstr(err, "interrupted") && strstr(err, want), "killed at %s: init said %s",
                      when, err);
        /* run refuses it with the same words. */
        ck_assert_int_eq(run_rc, RP_ERR_UNFINISHED);
        ck_assert_str_eq(run_err, err);
    }
    remove_tree(dir);
}

/* Kill an init after each of its steps in turn (SIGKILL: nothing of its
 * own runs), for a dev datadir and for a validator of a given genesis. */
START_TEST(test_init_killed_at_each_step)
{
    char gpath[4096], step[64];
    source_path(gpath, sizeof gpath, "configs/devnet/genesis.json");
    for (int mode = 0; mode < 2; mode++) {
        rp_init_opts o;
        memset(&o, 0, sizeof o);
        o.datadir = path(0, "d");
        if (mode == 0) {
            o.dev = 1;
        } else {
            o.genesis = gpath;
            o.validator = 1;
            o.kdf_ops = RP_KDF_OPS_MIN;
            o.kdf_mem = RP_KDF_MEM_MIN;
            setenv("REPUTE_PASSPHRASE", "correct horse", 1);
        }
        int steps = 0;
        while (init_killed_at(&o, steps, step, sizeof step)) {
            check_interrupted(&o, step, !strcmp(step, "done"));
            steps++;
            ck_assert_int_lt(steps, 40);
        }
        ck_assert_int_ge(steps, mode == 0 ? 10 : 8); /* every step was a kill point */
        remove_tree(o.datadir);
    }
}
END_TEST

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Kill a dev init at evenly spread moments of its run, so that some land
 * inside the steps (the ledger being built in ledger.new, block 1 being
 * written), where the step hook cannot stop it. */
START_TEST(test_init_killed_any_time)
{
    rp_init_opts o = dev_opts(path(0, "d"), NULL);
    char err[600], when[64];
    uint64_t t0 = mono_us();
    ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "%s", err);
    uint64_t span = mono_us() - t0;
    remove_tree(o.datadir);
    /* A child takes longer than this process did (it starts cold, and
     * fsyncs vary): spread the kills over three spans. */
    for (int i = 0; i < 24; i++) {
        uint64_t delay = 3 * span * (uint64_t)i / 23;
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            _exit(rp_node_init(&o, err, sizeof err) == 0 ? 0 : 3);
        struct timespec ts = {(time_t)(delay / 1000000), (long)(delay % 1000000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
                      "init failed in the child (0x%x)", st);
        snprintf(when, sizeof when, "%llu us of %llu", (unsigned long long)delay,
                 (unsigned long long)span);
        check_interrupted(&o, when, WIFEXITED(st) ? 1 : -1);
    }
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_example_file);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_p2p_keys);
    tcase_add_test(tc, test_metrics_keys);
    tcase_add_test(tc, test_full_file);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_unknown_section);
    tcase_add_test(tc, test_duplicate_key);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_line_length);
    tcase_add_test(tc, test_strict_syntax);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_config_path);
    tcase_add_test(tc, test_is_set);
    suite_add_tcase(s, tc);

    TCase *ti = tcase_create("init");
    tcase_add_checked_fixture(ti, setup, teardown);
    tcase_add_test(ti, test_init_dev);
    tcase_add_test(ti, test_init_twice_refused);
    tcase_add_test(ti, test_init_existing_folder);
    tcase_add_test(ti, test_init_genesis);
    tcase_add_test(ti, test_init_genesis_in_place);
    tcase_add_test(ti, test_init_rollback);
    tcase_add_test(ti, test_validator_key_sources);
    tcase_add_test(ti, test_init_passphrase_refusals);
    tcase_add_test(ti, test_init_import_key);
    tcase_add_test(ti, test_init_killed_at_each_step);
    tcase_add_test(ti, test_init_killed_any_time);
    tcase_add_test(ti, test_run_refuses_unsafe_modes);
    tcase_add_test(ti, test_run_required_keys);
    tcase_add_test(ti, test_run_reads_node_files);
    tcase_add_test(ti, test_init_socket_path_too_long);
    suite_add_tcase(s, ti);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
