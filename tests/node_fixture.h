/* The node's end-to-end fixture: a real `reputed run` process on a fresh
 * datadir, driven through its real Unix socket, for test_node.c,
 * test_hostile.c and test_subscribe.c.
 *
 * node_fixture_setup gives each test a fresh folder with a dev datadir made
 * by rp_node_init (what `reputed init --dev` calls: one validator, 500 ms
 * blocks, epochs of 10 blocks committed 2 blocks later, a pre-trusted
 * anchor whose key file has the empty passphrase); a test may point T.dir
 * at another datadir before node_start. The node is started with
 * PR_SET_PDEATHSIG (it dies with the test child) and stopped with SIGTERM,
 * asserting exit status 0 (under the sanitizer build that also means no
 * leak and no report in the daemon). Answers kept with gc() are freed at
 * teardown. Records are built from freshly generated keys.
 *
 * Every function fails the current test (ck_assert) rather than return an
 * error. Each test program's main sets reputed_bin (from $RP_REPUTED),
 * cli_bin, base_dir and seed_value.
 */
#ifndef RP_TESTS_NODE_FIXTURE_H
#define RP_TESTS_NODE_FIXTURE_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "node/config.h"
#include "node/rpc_client.h"

#define CALL_TIMEOUT_MS 60000
#define HEX_MAX         (2 * RP_RECORD_MAX_SIZE + 1)
#define assert_error_resp(resp, code, id_json) assert_error_resp_at(__LINE__, resp, code, id_json)

extern char reputed_bin[4096];
extern char cli_bin[4096];
extern char base_dir[64];
extern unsigned long seed_value;

struct node_fixture {
    char work[128];
    char dir[160];
    char sock[192];
    char log[192];
    pid_t pid;
    rp_genesis *g;
    rp_hash chain;
    char chain_hex[65];
};
extern struct node_fixture T;

typedef struct ident {
    rp_seckey sk;
    rp_pubkey pk;
    uint64_t seq; /* the last sequence used */
    uint8_t role;
    char name[RP_NAME_MAX + 1];
    char hex[65];
} ident;

/* A node test program's main, its two halves: fixture_prepare reads
 * RP_REPUTED (required) and RP_REPUTE_CLI (optional) into reputed_bin and
 * cli_bin, initialises crypto, ignores SIGPIPE and makes base_dir
 * (/tmp/rp-test-NAME-XXXXXX); fixture_run runs the suite and removes
 * base_dir. Each returns the process's exit status (0 prepared / passed). */
int fixture_prepare(const char *name);
int fixture_run(const char *name, Suite *s);

/* The Check fixture: a fresh folder and dev datadir per test (T); at
 * teardown the node is killed if still running and the folder removed. */
void node_fixture_setup(void);
void node_fixture_teardown(void);

/* Keep a JSON value until teardown. Returns v. */
json_t *gc(json_t *v);
uint64_t mono_ms(void);
void sleep_ms(unsigned ms);
const char *log_tail(void);
void write_file(const char *path, const char *text);
void conf_edit(void (*fn)(rp_config *cfg));
/* Processes: fork/exec with output to a file (the child dies with the test),
 * wait at most timeout_ms (SIGKILL after), run to completion. */
pid_t spawn2(char *const argv[], const char *out_path, const char *err_path);
pid_t spawn(char *const argv[], const char *out_path);
int wait_child(pid_t pid, unsigned timeout_ms, int *timed_out);
int run_cmd(char *const argv[], char *out, size_t cap, unsigned timeout_ms);
/* The node: a client on T.sock; start (and wait until it answers), stop
 * with SIGTERM (exit status 0 asserted), kill -9. */
rp_rpc_client *cli(void);
void wait_ready(void);
void node_start(void);
void node_stop(void);
void node_kill9(void);
/* JSON: json_pack that must succeed; calls that must succeed (params
 * stolen, result kept until teardown) or fail (the error code returned);
 * typed fields of an answer. */
json_t *P(const char *fmt, ...);
json_t *call_ok(rp_rpc_client *c, const char *method, json_t *params);
int call_err(rp_rpc_client *c, const char *method, json_t *params, json_t **data);
void expect_bad_param(rp_rpc_client *c, const char *method, json_t *params,
                      const char *param);
const char *jstr(const json_t *o, const char *k);
json_int_t jint(const json_t *o, const char *k);
uint64_t ju64(const json_t *o, const char *k);
void assert_hex(const json_t *o, const char *k, size_t bytes);
/* Raw lines and sockets. */
void send_str(rp_rpc_client *c, const char *s);
json_t *read_json(rp_rpc_client *c);
void assert_error_resp_at(int line, const json_t *resp, int code, const char *id_json);
void assert_result_resp(const json_t *resp, const char *id_json);
int raw_connect(void);
/* Records from fresh keys: identities, updates, engagements, reviews,
 * vouches; submitting them and waiting for blocks and epochs. */
void ident_gen(ident *id, uint8_t role, const char *name);
void ident_anchor(ident *id);
void rsign(rp_record *r, size_t slot, const rp_seckey *sk);
rp_record rbase(ident *who, unsigned type);
rp_record r_identity(ident *who);
rp_record r_update(ident *who, unsigned n);
rp_record r_engagement(ident *a, ident *b);
rp_hash rid(const rp_record *r);
rp_record r_review(ident *from, ident *to, const rp_record *eng, uint8_t stars);
rp_record r_vouch(ident *from, ident *to);
void rhex(const rp_record *r, char out[HEX_MAX]);
void id_hex(const rp_record *r, char out[65]);
json_t *submit_params(const rp_record *r, int wait, unsigned timeout_ms);
json_t *submit_ok(rp_rpc_client *c, const rp_record *r, int wait);
void expect_status(const json_t *res, const char *status);
uint64_t head_height(rp_rpc_client *c);
uint64_t head_epoch(rp_rpc_client *c);
void wait_epoch(rp_rpc_client *c, uint64_t epoch);
uint64_t wait_included(rp_rpc_client *c, const rp_record *r);
void register_all(rp_rpc_client *c, ident **ids, size_t n);
/* repute-cli (cli_bin) --datadir T.dir ARGS... (NULL-terminated): the exit
 * status; stdout in cli_out, stderr in cli_err; *json (may be NULL): stdout
 * as JSON if it is (kept until teardown). CLI_OK asserts exit status 0. */
extern char cli_out[65536], cli_err[16384];
int cli_run(json_t **json, ...);
#define CLI_OK(json, ...)                                                                          \
    do {                                                                                           \
        int rc_ = cli_run(json, __VA_ARGS__, (const char *)NULL);                                  \
        ck_assert_msg(rc_ == 0, "repute-cli failed (exit %d) at line %d:\n%s\n%s", rc_, __LINE__,  \
                      cli_out, cli_err);                                                           \
    } while (0)

/* A process's peak resident memory so far, in KiB (VmHWM). */
long peak_rss_kib(pid_t pid);
/* Write all of buf to fd; read lines until EOF and count them. */
void write_all(int fd, const char *buf, size_t len);
size_t count_lines_to_eof(int fd, unsigned timeout_ms);

#endif /* RP_TESTS_NODE_FIXTURE_H */
