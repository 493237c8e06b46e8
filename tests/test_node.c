/* The node end to end: a real `reputed run` process on a fresh dev datadir,
 * driven through its real Unix socket (docs/rpc.md is the contract).
 *
 * Every test makes its own datadir with rp_node_init (what `reputed init
 * --dev` calls: one validator, 500 ms blocks, epochs of 10 blocks committed
 * 2 blocks later, a pre-trusted anchor whose key file has the empty
 * passphrase), starts the binary named by $RP_REPUTED with fork/exec, talks
 * to it with node/rpc_client.h or raw sockets, and stops it with SIGTERM,
 * asserting exit status 0 (under the sanitizer build that also means no
 * leak and no report in the daemon).
 *
 * Records are built here with ledger/record.h from freshly generated keys:
 * identities with their proof of work at the genesis difficulty, co-signed
 * engagements, reviews, vouches and identity updates. The last test drives
 * the same story through `repute-cli` ($RP_REPUTE_CLI; skipped without it).
 *
 * Clean-up: Check runs each test in a forked child, and a failed assertion
 * ends that child without its teardown. So the node is started with
 * PR_SET_PDEATHSIG (it dies with the test child), and every test's folder
 * lives under one base folder that main() removes after the whole run.
 *
 * The kill -9 test draws its delays from a seed it prints; set RP_TEST_SEED
 * to repeat a run.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/keyfile.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/config.h"
#include "node/init.h"
#include "node/rpc_client.h"

#include "node_fixture.h"

/* ---- node.info, chain.head, chain.block --------------------------------------------------- */

START_TEST(test_info_head_block)
{
    node_start();
    rp_rpc_client *c = cli();

    json_t *info = call_ok(c, "node.info", NULL);
    ck_assert(json_is_string(json_object_get(info, "version")));
    ck_assert_str_eq(jstr(info, "chain_id"), T.chain_hex);
    ck_assert_uint_eq(ju64(info, "genesis_time"), T.g->genesis_time);
    ck_assert_uint_ge(ju64(info, "height"), 1);
    ck_assert(json_is_true(json_object_get(info, "validator")));
    ck_assert_int_eq(jint(info, "validator_index"), 0);
    ck_assert_int_eq(jint(info, "block_interval_ms"), 500);
    ck_assert_uint_eq(ju64(info, "epoch_blocks"), 10);
    ck_assert_uint_eq(ju64(info, "score_delay_blocks"), 2);
    ju64(info, "uptime_s");
    ck_assert_int_eq(jint(info, "pid"), T.pid);
    /* Takes no parameters: an unknown one is refused, an empty object is fine. */
    expect_bad_param(c, "node.info", P("{s:i}", "verbose", 1), "verbose");
    call_ok(c, "node.info", P("{}"));

    json_t *head = call_ok(c, "chain.head", NULL);
    uint64_t h = ju64(head, "height");
    ck_assert_uint_ge(h, 1);
    assert_hex(head, "hash", 32);
    assert_hex(head, "state_hash", 32);
    assert_hex(head, "commit_hash", 32);
    assert_hex(head, "score_root", 32);
    ju64(head, "epoch");
    ck_assert_uint_gt(ju64(head, "time_ms"), T.g->genesis_time * 1000 - 1);
    expect_bad_param(c, "chain.head", P("{s:s}", "height", "1"), "height");

    /* The block at the head, by height (string and integer) and by hash. */
    json_t *b = call_ok(c, "chain.block", P("{s:s}", "height", "1"));
    ck_assert_uint_eq(ju64(b, "height"), 1);
    assert_hex(b, "hash", 32);
    json_t *hdr = json_object_get(b, "header");
    ck_assert(json_is_object(hdr));
    static const char *const hfields[] = {"version",         "chain_id",         "time_ms",
                                          "prev_hash",       "records_root",     "proposer",
                                          "validators_hash", "prev_commit_hash", "state_hash",
                                          "epoch",           "score_root",       "record_count"};
    for (size_t i = 0; i < sizeof hfields / sizeof hfields[0]; i++)
        ck_assert_msg(json_object_get(hdr, hfields[i]), "header has no \"%s\"", hfields[i]);
    ck_assert_str_eq(jstr(hdr, "chain_id"), T.chain_hex);
    json_t *recs = json_object_get(b, "records");
    ck_assert(json_is_array(recs));
    ck_assert_uint_eq(json_array_size(recs), 1); /* the anchor's IDENTITY */
    json_t *r0 = json_array_get(recs, 0);
    ident anchor;
    ident_anchor(&anchor);
    ck_assert_str_eq(jstr(r0, "issuer"), anchor.hex);
    ck_assert_str_eq(jstr(r0, "type"), "identity");
    assert_hex(r0, "id", 32);
    ck_assert(json_object_get(b, "commit"));

    json_t *b2 = call_ok(c, "chain.block", P("{s:i}", "height", 1));
    ck_assert_str_eq(jstr(b2, "hash"), jstr(b, "hash"));
    json_t *b3 = call_ok(c, "chain.block", P("{s:s}", "hash", jstr(b, "hash")));
    ck_assert_uint_eq(ju64(b3, "height"), 1);

    /* chain.head's hash is the header hash of the block at its height. */
    head = call_ok(c, "chain.head", NULL);
    h = ju64(head, "height");
    char hs[24];
    snprintf(hs, sizeof hs, "%llu", (unsigned long long)h);
    json_t *bh = call_ok(c, "chain.block", P("{s:s}", "height", hs));
    ck_assert_str_eq(jstr(bh, "hash"), jstr(head, "hash"));
    ck_assert_str_eq(jstr(json_object_get(bh, "header"), "state_hash"), jstr(head, "state_hash"));

    /* Errors. */
    ck_assert_int_eq(call_err(c, "chain.block", P("{s:s}", "height", "999999"), NULL), -32001);
    char zeros[65];
    memset(zeros, '0', 64);
    zeros[64] = 0;
    ck_assert_int_eq(call_err(c, "chain.block", P("{s:s}", "hash", zeros), NULL), -32001);
    ck_assert_int_eq(call_err(c, "chain.block", P("{}"), NULL), -32602);
    ck_assert_int_eq(call_err(c, "chain.block", NULL, NULL), -32602);
    ck_assert_int_eq(call_err(c, "chain.block", P("{s:i,s:s}", "height", 1, "hash", zeros), NULL),
                     -32602);
    expect_bad_param(c, "chain.block", P("{s:s}", "hash", "xyz"), "hash");
    expect_bad_param(c, "chain.block", P("{s:s}", "height", "12a"), "height");
    expect_bad_param(c, "chain.block", P("{s:i}", "height", -1), "height");
    expect_bad_param(c, "chain.block", P("{s:i,s:i}", "height", 1, "heigth", 1), "heigth");

    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* record.get and chain.block answer what `reputed export --format jsonl`
 * writes (docs/rpc.md): the record's fields by name, its signatures and hex;
 * the block's type, header, records and decoded commit, plus the header hash
 * and the commit's bytes. A pending record and a held one say so. */
START_TEST(test_record_and_block_fields)
{
    node_start();
    rp_rpc_client *c = cli();
    ident a;
    ident_gen(&a, RP_ROLE_TALENT, "Field Test");
    rp_record reg = r_identity(&a);
    json_t *res = submit_ok(c, &reg, 1);
    char idh[65];
    id_hex(&reg, idh);
    json_t *g = call_ok(c, "record.get", P("{s:s}", "id", idh));
    static const char *const fields[] = {"id",         "status", "height",   "index",
                                         "type",       "issuer", "sequence", "time",
                                         "signatures", "hex",    "role",     "name"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ck_assert_msg(json_object_get(g, fields[i]), "record.get has no \"%s\"", fields[i]);
    ck_assert_str_eq(jstr(g, "id"), idh);
    ck_assert_str_eq(jstr(g, "status"), "included");
    ck_assert_uint_eq(ju64(g, "height"), ju64(res, "height"));
    ck_assert_int_eq(jint(g, "index"), jint(res, "index"));
    ck_assert_str_eq(jstr(g, "type"), "identity");
    ck_assert_str_eq(jstr(g, "issuer"), a.hex);
    ck_assert_uint_eq(ju64(g, "sequence"), 1);
    ck_assert_uint_eq(ju64(g, "time"), reg.time);
    ck_assert_str_eq(jstr(g, "role"), "talent");
    ck_assert_str_eq(jstr(g, "name"), "Field Test");
    json_t *sigs = json_object_get(g, "signatures");
    ck_assert(json_is_array(sigs));
    ck_assert_uint_eq(json_array_size(sigs), 1);
    char sighex[129];
    rp_hex_encode(sighex, sizeof sighex, reg.sigs[0].bytes, 64);
    ck_assert_str_eq(json_string_value(json_array_get(sigs, 0)), sighex);
    char hex[HEX_MAX];
    rhex(&reg, hex);
    ck_assert_str_eq(jstr(g, "hex"), hex);

    char hs[24];
    snprintf(hs, sizeof hs, "%llu", (unsigned long long)ju64(res, "height"));
    json_t *b = call_ok(c, "chain.block", P("{s:s}", "height", hs));
    ck_assert_str_eq(jstr(b, "type"), "block");
    ck_assert_uint_eq(ju64(b, "height"), ju64(res, "height"));
    assert_hex(b, "hash", 32);
    ck_assert(json_is_object(json_object_get(b, "header")));
    ck_assert(json_is_object(json_object_get(b, "commit")));
    const char *ch = jstr(b, "commit_hex");
    ck_assert_uint_gt(strlen(ch), 0);
    ck_assert_uint_eq(strspn(ch, "0123456789abcdef"), strlen(ch));
    json_t *r = json_array_get(json_object_get(b, "records"), (size_t)jint(res, "index"));
    ck_assert_ptr_nonnull(r);
    static const char *const rf[] = {"id", "type", "issuer", "sequence", "signatures", "hex"};
    for (size_t i = 0; i < sizeof rf / sizeof rf[0]; i++)
        ck_assert_msg(json_object_get(r, rf[i]), "chain.block record has no \"%s\"", rf[i]);
    ck_assert_str_eq(jstr(r, "id"), idh);
    ck_assert_str_eq(jstr(r, "hex"), hex);

    /* A held record reads as held, a pending one as pending, without a
     * height. */
    a.seq = 2;
    rp_record held = r_update(&a, 1);
    expect_status(submit_ok(c, &held, 0), "held");
    char hid[65];
    id_hex(&held, hid);
    json_t *hg = call_ok(c, "record.get", P("{s:s}", "id", hid));
    ck_assert_str_eq(jstr(hg, "status"), "held");
    ck_assert_uint_eq(ju64(hg, "sequence"), 3);
    ck_assert_ptr_null(json_object_get(hg, "height"));
    a.seq = 1;
    rp_record fill = r_update(&a, 0);
    json_t *fr = submit_ok(c, &fill, 0);
    if (!strcmp(jstr(fr, "status"), "pending")) {
        char fid[65];
        id_hex(&fill, fid);
        json_t *fg = call_ok(c, "record.get", P("{s:s}", "id", fid));
        ck_assert_msg(!strcmp(jstr(fg, "status"), "pending") ||
                          !strcmp(jstr(fg, "status"), "included"),
                      "a pending record reads as %s", jstr(fg, "status"));
    }
    wait_included(c, &held);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* ---- the envelope: every standard error ---------------------------------------------------- */

START_TEST(test_envelope_errors)
{
    node_start();
    rp_rpc_client *c = cli();

    send_str(c, "this is not json\n");
    assert_error_resp(read_json(c), -32700, "null");
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.info\"\n"); /* unclosed */
    assert_error_resp(read_json(c), -32700, "null");
    send_str(c, "[]\n");
    assert_error_resp(read_json(c), -32600, "null");
    send_str(c, "{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"node.info\"}\n");
    assert_error_resp(read_json(c), -32600, NULL);
    send_str(c, "{\"id\":6,\"method\":\"node.info\"}\n");
    assert_error_resp(read_json(c), -32600, NULL);
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":42}\n");
    assert_error_resp(read_json(c), -32600, NULL);
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"node.info\"}\n");
    assert_error_resp(read_json(c), -32600, NULL);
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"no.such\"}\n");
    assert_error_resp(read_json(c), -32601, "8");
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"node.info\",\"params\":[1]}\n");
    assert_error_resp(read_json(c), -32602, "\"s\"");
    /* \r\n line ends are accepted, string ids are echoed. */
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":\"crlf\",\"method\":\"node.info\"}\r\n");
    assert_result_resp(read_json(c), "\"crlf\"");

    /* Batches: 100 is the limit; 101 is one error for the whole line. */
    size_t cap = 200 * 64;
    char *batch = malloc(cap);
    ck_assert_ptr_nonnull(batch);
    for (int n = 100; n <= 101; n++) {
        size_t off = 0;
        batch[off++] = '[';
        for (int i = 0; i < n; i++)
            off += (size_t)snprintf(batch + off, cap - off,
                                    "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"chain.head\"}",
                                    i ? "," : "", i);
        snprintf(batch + off, cap - off, "]\n");
        send_str(c, batch);
        json_t *resp = read_json(c);
        if (n == 100) {
            ck_assert(json_is_array(resp));
            ck_assert_uint_eq(json_array_size(resp), 100);
            for (int i = 0; i < 100; i++)
                ck_assert_int_eq(jint(json_array_get(resp, (size_t)i), "id"), i);
        } else {
            ck_assert_msg(json_is_object(resp), "a batch too large gets one error object");
            assert_error_resp(resp, -32600, "null");
        }
    }
    free(batch);

    /* The same through the client, with the data the contract promises. */
    json_t *data = NULL;
    ck_assert_int_eq(call_err(c, "no.such.method", NULL, &data), -32601);
    expect_bad_param(c, "identity.get", P("{s:s,s:i}", "identity", "00", "bogus", 1), "bogus");
    expect_bad_param(c, "identity.get", P("{s:s}", "identity", "xyz"), "identity");
    char h63[64];
    memset(h63, 'a', 63);
    h63[63] = 0;
    expect_bad_param(c, "identity.get", P("{s:s}", "identity", h63), "identity");
    expect_bad_param(c, "identity.get", P("{s:i}", "identity", 7), "identity");
    expect_bad_param(c, "identity.get", P("{}"), "identity");
    expect_bad_param(c, "record.get", NULL, "id");
    expect_bad_param(c, "record.submit", P("{}"), "record");

    /* The connection is still fine after all of that. */
    call_ok(c, "node.info", NULL);
    json_t *m = call_ok(c, "node.metrics", NULL);
    ck_assert_uint_gt((uint64_t)jint(json_object_get(m, "counters"), "rpc_errors"), 10);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* JSON that is not an object or array is valid JSON, so it is an invalid
 * request (-32600), not a parse error (-32700): docs/rpc.md, "Errors". */
START_TEST(test_scalar_line_is_invalid_request)
{
    node_start();
    rp_rpc_client *c = cli();
    static const char *const lines[] = {"42\n", "\"node.info\"\n", "null\n", "true\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        send_str(c, lines[i]);
        json_t *r = read_json(c);
        ck_assert_msg(jint(json_object_get(r, "error"), "code") == -32600,
                      "the line %.*s got %lld, expected -32600", (int)strlen(lines[i]) - 1,
                      lines[i], (long long)jint(json_object_get(r, "error"), "code"));
        assert_error_resp(r, -32600, "null");
    }
    call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* ---- batches, notifications, pipelining ------------------------------------------------------ */

START_TEST(test_batch_and_notifications)
{
    node_start();
    rp_rpc_client *c = cli();

    /* Requests, notifications and bad entries mixed: answers in the batch's
     * order, none for the notifications. */
    send_str(c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"chain.head\"},"
                "{\"jsonrpc\":\"2.0\",\"method\":\"node.info\"},"
                "{\"jsonrpc\":\"2.0\",\"id\":\"two\",\"method\":\"node.info\"},"
                "{\"jsonrpc\":\"2.0\",\"method\":\"mempool.info\"},"
                "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"},"
                "5,"
                "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"identity.get\",\"params\":{}},"
                "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"mempool.info\"}]\n");
    json_t *arr = read_json(c);
    ck_assert(json_is_array(arr));
    ck_assert_uint_eq(json_array_size(arr), 6);
    assert_result_resp(json_array_get(arr, 0), "1");
    assert_result_resp(json_array_get(arr, 1), "\"two\"");
    assert_error_resp(json_array_get(arr, 2), -32601, "3");
    assert_error_resp(json_array_get(arr, 3), -32600, "null");
    assert_error_resp(json_array_get(arr, 4), -32602, "4");
    assert_result_resp(json_array_get(arr, 5), "null");

    /* A notification, and a batch of notifications only: no line at all.
     * The next line is the answer to the request after them. */
    send_str(c, "{\"jsonrpc\":\"2.0\",\"method\":\"chain.head\"}\n");
    send_str(c, "[{\"jsonrpc\":\"2.0\",\"method\":\"chain.head\"},"
                "{\"jsonrpc\":\"2.0\",\"method\":\"no.such\"}]\n");
    send_str(c, "{\"jsonrpc\":\"2.0\",\"method\":\"no.such\"}\n");
    send_str(c, "\n  \n"); /* blank lines are no requests */
    send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"node.info\"}\n");
    assert_result_resp(read_json(c), "99");

    /* A notification is executed: a registration sent as one is admitted. */
    ident a;
    ident_gen(&a, RP_ROLE_BRAND, "Notified Brand");
    rp_record reg = r_identity(&a);
    json_t *p = submit_params(&reg, 0, 0);
    rp_rpc_error e;
    ck_assert_int_eq(rp_rpc_notify(c, "record.submit", p, &e), 0);
    json_decref(p);
    uint64_t end = mono_ms() + 30000;
    for (;;) {
        json_t *res = NULL, *q = P("{s:s}", "identity", a.hex);
        int rc = rp_rpc_call(c, "identity.get", q, &res, &e);
        json_decref(q);
        if (rc == 0) {
            ck_assert_uint_eq(ju64(res, "next_seq"), 2);
            json_decref(res);
            break;
        }
        ck_assert_int_eq(rc, RP_RPC_REPLY_ERROR);
        ck_assert_int_eq(e.code, -32001);
        rp_rpc_error_clear(&e);
        ck_assert_msg(mono_ms() < end, "the notified registration never showed up");
        sleep_ms(20);
    }

    /* Pipelining: 200 requests in one write, 200 answers in order. */
    size_t cap = 200 * 80, off = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 200; i++)
        off += (size_t)snprintf(buf + off, cap - off,
                                "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}\n", 1000 + i,
                                i % 3 == 0   ? "chain.head"
                                : i % 3 == 1 ? "node.info"
                                             : "nope");
    ck_assert_int_eq(rp_rpc_send_raw(c, buf, off), 0);
    free(buf);
    for (int i = 0; i < 200; i++) {
        json_t *r = read_json(c);
        ck_assert_int_eq(jint(r, "id"), 1000 + i);
        ck_assert(!!json_object_get(r, "error") == (i % 3 == 2));
    }
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* ---- hostile input: long lines, binary garbage, clients that vanish ---------------------- */

START_TEST(test_long_line)
{
    node_start();
    rp_rpc_client *c = cli();
    const size_t mib = 1u << 20;
    char *line = malloc(mib + 256);
    ck_assert_ptr_nonnull(line);

    /* Just under the limit: a real request, refused for its parameter. */
    const char *head =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.info\",\"params\":{\"x\":\"";
    size_t hl = strlen(head), target = mib - 16;
    memcpy(line, head, hl);
    memset(line + hl, 'a', target - hl - 3);
    memcpy(line + target - 3, "\"}}\n", 5);
    ck_assert_uint_eq(strlen(line), target + 1);
    send_str(c, line);
    assert_error_resp(read_json(c), -32602, "1");

    /* Over it, twice in a row: -32600 with id null each, then business as usual. */
    for (int k = 0; k < 2; k++) {
        target = mib + 100;
        memcpy(line, head, hl);
        memset(line + hl, 'b', target - hl - 3);
        memcpy(line + target - 3, "\"}}\n", 5);
        send_str(c, line);
        assert_error_resp(read_json(c), -32600, "null");
    }
    /* Over it without any structure, followed by a request in the same write. */
    memset(line, 'z', mib + 10);
    strcpy(line + mib + 10, "\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"chain.head\"}\n");
    send_str(c, line);
    assert_error_resp(read_json(c), -32600, "null");
    assert_result_resp(read_json(c), "2");
    free(line);
    call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

struct garbage_reader {
    int fd;
    int lines, bad_lines, answered_end, eof;
};

static void *garbage_read(void *arg)
{
    struct garbage_reader *g = arg;
    char *buf = malloc(1 << 20);
    size_t len = 0;
    uint64_t end = mono_ms() + 60000;
    while (!g->answered_end && !g->eof && mono_ms() < end) {
        struct pollfd pfd = {.fd = g->fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = read(g->fd, buf + len, (1 << 20) - len);
        if (n <= 0) {
            g->eof = 1;
            break;
        }
        len += (size_t)n;
        char *nl;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            size_t ll = (size_t)(nl - buf);
            json_t *v = json_loadb(buf, ll, 0, NULL);
            g->lines++;
            json_t *e = v ? json_object_get(v, "error") : NULL;
            json_t *id = v ? json_object_get(v, "id") : NULL;
            if (json_is_string(id) && !strcmp(json_string_value(id), "end") &&
                json_object_get(v, "result"))
                g->answered_end = 1;
            else if (!json_is_object(e) || !json_is_null(id))
                g->bad_lines++;
            else {
                json_int_t code = json_integer_value(json_object_get(e, "code"));
                if (code != -32700 && code != -32600)
                    g->bad_lines++;
            }
            json_decref(v);
            memmove(buf, nl + 1, len - ll - 1);
            len -= ll + 1;
        }
        if (len == 1 << 20)
            len = 0;
    }
    free(buf);
    return NULL;
}

START_TEST(test_garbage)
{
    node_start();
    rp_rpc_client *good = cli();
    int fd = raw_connect();
    struct garbage_reader g = {.fd = fd};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, garbage_read, &g), 0);

    /* 512 KiB of random bytes, in chunks, the good client working between. */
    unsigned s = (unsigned)seed_value;
    unsigned char chunk[8192];
    for (int k = 0; k < 64; k++) {
        for (size_t i = 0; i < sizeof chunk; i++) {
            s = s * 1103515245u + 12345u;
            chunk[i] = (unsigned char)(s >> 16);
        }
        if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
            break; /* the node may drop us: allowed */
        if (k % 8 == 0)
            call_ok(good, "chain.head", NULL);
    }
    /* Bytes that are not UTF-8 inside otherwise good JSON, then a request. */
    static const char bad_utf8[] =
        "\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.\xff\xfe\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":\"end\",\"method\":\"node.info\"}\n";
    ssize_t sent = send(fd, bad_utf8, sizeof bad_utf8 - 1, MSG_NOSIGNAL);
    pthread_join(th, NULL);
    close(fd);
    ck_assert_int_eq(g.bad_lines, 0);
    ck_assert_msg(g.answered_end || g.eof || sent < 0,
                  "the garbage connection was neither answered nor closed");

    /* A client that sends half a line and vanishes, and one that vanishes
     * while waiting for a record's inclusion, cost nothing. */
    fd = raw_connect();
    ck_assert_int_gt(send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth", 29, MSG_NOSIGNAL), 0);
    close(fd);
    ident a;
    ident_gen(&a, RP_ROLE_TALENT, "Vanishing");
    rp_record reg = r_identity(&a);
    char hex[HEX_MAX], line[HEX_MAX + 200];
    rhex(&reg, hex);
    snprintf(line, sizeof line,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"record.submit\",\"params\":"
             "{\"record\":\"%s\",\"wait\":true}}\n",
             hex);
    fd = raw_connect();
    ck_assert_int_gt(send(fd, line, strlen(line), MSG_NOSIGNAL), 0);
    close(fd);
    wait_included(good, &reg);
    /* An idle connection stays open and harmless. */
    int idle = raw_connect();
    call_ok(good, "node.info", NULL);
    json_t *m = call_ok(good, "node.metrics", NULL);
    ck_assert_int_ge(jint(json_object_get(m, "gauges"), "connections"), 2);
    close(idle);
    rp_rpc_close(good);
    node_stop();
}
END_TEST

struct flood {
    int fd;
    int n;
    int sent_all;
};

static void *flood_write(void *arg)
{
    struct flood *f = arg;
    char line[96];
    for (int i = 0; i < f->n; i++) {
        int k = snprintf(line, sizeof line,
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"chain.head\"}\n", i);
        for (int off = 0; off < k;) {
            ssize_t w = send(f->fd, line + off, (size_t)(k - off), MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return NULL;
            off += (int)w;
        }
    }
    f->sent_all = 1;
    return NULL;
}

/* A client that pipelines far more than it reads is slowed down (the node
 * stops reading it), gets every answer in order once it reads, and nobody
 * else notices. */
START_TEST(test_backpressure)
{
    node_start();
    struct flood f = {.fd = raw_connect(), .n = 30000};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, flood_write, &f), 0);
    sleep_ms(500);
    rp_rpc_client *c = cli();
    for (int i = 0; i < 20; i++) {
        uint64_t t = mono_ms();
        call_ok(c, "node.info", NULL);
        ck_assert_msg(mono_ms() - t < 2000, "a flooding client delayed another by %llu ms",
                      (unsigned long long)(mono_ms() - t));
    }
    /* Now read the flood's answers: all there, in order. */
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int next = 0;
    uint64_t end = mono_ms() + 120000;
    while (next < f.n) {
        struct pollfd pfd = {.fd = f.fd, .events = POLLIN};
        ck_assert_msg(mono_ms() < end, "only %d of %d answers arrived", next, f.n);
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        ssize_t r = read(f.fd, buf + len, cap - len);
        ck_assert_msg(r > 0, "the node closed the flooding connection after %d answers", next);
        len += (size_t)r;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
            size_t ll = (size_t)(nl - (buf + start));
            json_t *v = json_loadb(buf + start, ll, 0, NULL);
            ck_assert_ptr_nonnull(v);
            ck_assert_msg(json_integer_value(json_object_get(v, "id")) == next,
                          "answer %d out of order", next);
            ck_assert(json_is_object(json_object_get(v, "result")));
            json_decref(v);
            next++;
            start += ll + 1;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        ck_assert_uint_lt(len, cap);
    }
    free(buf);
    pthread_join(th, NULL);
    ck_assert(f.sent_all);
    close(f.fd);
    call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* ---- many clients, and the connection limit ------------------------------------------------ */

#define NCLIENTS 200

struct client_job {
    pthread_barrier_t *bar;
    const char *anchor_hex;
    int ok_calls;
    char fail[256];
};

static void *client_thread(void *arg)
{
    struct client_job *j = arg;
    rp_rpc_client *c = NULL;
    int rc = rp_rpc_connect(&c, T.sock);
    pthread_barrier_wait(j->bar);
    if (rc) {
        snprintf(j->fail, sizeof j->fail, "connect: %s", strerror(-rc));
        return NULL;
    }
    rp_rpc_set_timeout(c, CALL_TIMEOUT_MS);
    /* Everyone connected; now all at once. */
    pthread_barrier_wait(j->bar);
    static const char *const methods[] = {"node.info", "chain.head", "identity.get", "mempool.info",
                                          "node.metrics"};
    for (int k = 0; k < 5; k++) {
        json_t *params = k == 2 ? json_pack("{s:s}", "identity", j->anchor_hex) : NULL;
        json_t *res = NULL;
        rp_rpc_error e;
        rc = rp_rpc_call(c, methods[k], params, &res, &e);
        json_decref(params);
        if (rc == 0 && json_is_object(res))
            j->ok_calls++;
        else if (!j->fail[0])
            snprintf(j->fail, sizeof j->fail, "%s: rc %d code %d %.100s", methods[k], rc, e.code,
                     e.message);
        json_decref(res);
        rp_rpc_error_clear(&e);
    }
    rp_rpc_close(c);
    return NULL;
}

START_TEST(test_many_clients)
{
    node_start();
    ident anchor;
    ident_anchor(&anchor);
    pthread_barrier_t bar;
    ck_assert_int_eq(pthread_barrier_init(&bar, NULL, NCLIENTS + 1), 0);
    static struct client_job jobs[NCLIENTS];
    static pthread_t th[NCLIENTS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < NCLIENTS; i++) {
        jobs[i] = (struct client_job){.bar = &bar, .anchor_hex = anchor.hex};
        ck_assert_int_eq(pthread_create(&th[i], &attr, client_thread, &jobs[i]), 0);
    }
    pthread_barrier_wait(&bar); /* all connected */
    rp_rpc_client *c = cli();
    uint64_t end = mono_ms() + 20000;
    while (jint(json_object_get(call_ok(c, "node.metrics", NULL), "gauges"), "connections") <
           NCLIENTS + 1) {
        ck_assert_msg(mono_ms() < end, "the node never held %d connections", NCLIENTS + 1);
        sleep_ms(20);
    }
    pthread_barrier_wait(&bar); /* go */
    int total = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(!jobs[i].fail[0], "client %d: %s", i, jobs[i].fail);
        total += jobs[i].ok_calls;
    }
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&bar);
    ck_assert_int_eq(total, NCLIENTS * 5);
    call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

static void conf_four_connections(rp_config *cfg)
{
    cfg->rpc_max_connections = 4;
}

START_TEST(test_connection_limit)
{
    conf_edit(conf_four_connections);
    node_start();
    rp_rpc_client *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = cli();
        call_ok(c[i], "node.info", NULL);
    }
    /* The fifth gets one -32007 line, then the connection closes. */
    rp_rpc_client *x = cli();
    assert_error_resp(read_json(x), -32007, "null");
    const char *line;
    size_t len;
    ck_assert_int_eq(rp_rpc_read_line(x, &line, &len), -ECONNRESET);
    rp_rpc_close(x);
    /* The others are unaffected; once one leaves, a newcomer gets in. */
    for (int i = 0; i < 4; i++)
        call_ok(c[i], "chain.head", NULL);
    rp_rpc_close(c[3]);
    uint64_t end = mono_ms() + 10000;
    for (;;) {
        x = cli();
        json_t *res = NULL;
        rp_rpc_error e;
        int rc = rp_rpc_call(x, "node.info", NULL, &res, &e);
        json_decref(res);
        rp_rpc_error_clear(&e);
        rp_rpc_close(x);
        if (rc == 0)
            break;
        ck_assert_msg(mono_ms() < end, "no connection admitted after one closed");
        sleep_ms(20);
    }
    for (int i = 0; i < 3; i++)
        rp_rpc_close(c[i]);
    node_stop();
}
END_TEST

/* ---- record.submit, record.get, identity.get ----------------------------------------------- */

START_TEST(test_submit_and_get)
{
    node_start();
    rp_rpc_client *c = cli();
    ident a, b, stranger;
    ident_gen(&a, RP_ROLE_TALENT, "Ada Singer");
    ident_gen(&b, RP_ROLE_AGENT, "Bea Agency");
    ident_gen(&stranger, RP_ROLE_BRAND, "Never Registered");

    /* Registrations: pending, then on chain. */
    rp_record ra = r_identity(&a), rb = r_identity(&b);
    expect_status(submit_ok(c, &ra, 0), "pending");
    json_t *inc = submit_ok(c, &rb, 1);
    expect_status(inc, "included");
    uint64_t hb = ju64(inc, "height");
    uint64_t ha = wait_included(c, &ra);
    ck_assert_uint_le(ha, hb);
    /* Submitting an included record again: included at once, same place. */
    json_t *again = submit_ok(c, &rb, 0);
    expect_status(again, "included");
    ck_assert_uint_eq(ju64(again, "height"), hb);
    ck_assert_int_eq(jint(again, "index"), jint(inc, "index"));

    /* record.get of an included record. */
    char idh[65];
    id_hex(&rb, idh);
    json_t *g = call_ok(c, "record.get", P("{s:s}", "id", idh));
    ck_assert_str_eq(jstr(g, "id"), idh);
    ck_assert_str_eq(jstr(g, "status"), "included");
    ck_assert_uint_eq(ju64(g, "height"), hb);
    ck_assert_int_eq(jint(g, "index"), jint(inc, "index"));
    ck_assert_str_eq(jstr(g, "type"), "identity");
    ck_assert_str_eq(jstr(g, "issuer"), b.hex);
    char hex[HEX_MAX];
    rhex(&rb, hex);
    ck_assert_str_eq(jstr(g, "hex"), hex);
    ju64(g, "time");

    /* identity.get of a registered identity. */
    json_t *ig = call_ok(c, "identity.get", P("{s:s}", "identity", a.hex));
    ck_assert_str_eq(jstr(ig, "identity"), a.hex);
    ck_assert(json_is_true(json_object_get(ig, "registered")));
    ck_assert_str_eq(jstr(ig, "key"), a.hex);
    ck_assert_str_eq(jstr(ig, "role"), "talent");
    ck_assert_str_eq(jstr(ig, "name"), "Ada Singer");
    ck_assert_uint_eq(ju64(ig, "seq"), 1);
    ck_assert_uint_eq(ju64(ig, "next_seq"), 2);
    ck_assert_int_eq(jint(ig, "pending"), 0);
    ck_assert_uint_eq(ju64(ig, "registered_height"), ha);
    static const char *const ifields[] = {"profile",          "recovery",      "updated_height",
                                          "reviews_received", "reviews_given", "vouches_received",
                                          "engagements"};
    for (size_t i = 0; i < sizeof ifields / sizeof ifields[0]; i++)
        ck_assert_msg(json_object_get(ig, ifields[i]), "identity.get has no \"%s\"", ifields[i]);
    ck_assert_int_eq(call_err(c, "identity.get", P("{s:s}", "identity", stranger.hex), NULL),
                     -32001);

    /* -32002: a rule violation (the issuer is not registered). */
    json_t *data = NULL;
    rp_record orphan = r_vouch(&stranger, &a); /* sequence 1, not an IDENTITY */
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&orphan, 0, 0), &data), -32002);
    ck_assert(json_is_object(data));
    ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_NOT_REGISTERED);
    ck_assert_str_eq(jstr(data, "reason"), rp_strerror(RP_ERR_NOT_REGISTERED));
    jstr(data, "detail");
    /* ... and an unregistered counterparty. */
    rp_record eng_bad = r_engagement(&a, &stranger);
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&eng_bad, 0, 0), &data), -32002);
    ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_UNKNOWN_PARTY);
    a.seq--; /* it was not admitted */

    /* -32002: a bad signature, with and without wait. */
    for (int w = 0; w <= 1; w++) {
        rp_record bad = r_update(&a, 77);
        bad.sigs[0].bytes[10] ^= 0x01;
        ck_assert_int_eq(call_err(c, "record.submit", submit_params(&bad, w, 0), &data), -32002);
        ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_BAD_SIGNATURE);
        ck_assert_str_eq(jstr(data, "reason"), rp_strerror(RP_ERR_BAD_SIGNATURE));
        a.seq--;
    }
    /* -32002: bytes that do not decode. */
    ck_assert_int_eq(call_err(c, "record.submit", P("{s:s}", "record", "0103"), &data), -32002);
    ck_assert(json_is_integer(json_object_get(data, "ledger_code")));

    /* -32602: not hex, odd length, too long, bad wait or timeout. */
    expect_bad_param(c, "record.submit", P("{s:s}", "record", "xyz1"), "record");
    expect_bad_param(c, "record.submit", P("{s:s}", "record", "abc"), "record");
    char *longhex = malloc(2 * RP_RECORD_MAX_SIZE + 3);
    memset(longhex, 'a', 2 * RP_RECORD_MAX_SIZE + 2);
    longhex[2 * RP_RECORD_MAX_SIZE + 2] = 0;
    expect_bad_param(c, "record.submit", P("{s:s}", "record", longhex), "record");
    free(longhex);
    rp_record ok_next = r_vouch(&a, &b);
    expect_bad_param(c, "record.submit", submit_params(&ok_next, 1, 60001), "timeout_ms");
    json_t *pw = submit_params(&ok_next, 0, 0);
    json_object_set_new(pw, "wait", json_string("yes"));
    expect_bad_param(c, "record.submit", pw, "wait");
    json_t *pu = submit_params(&ok_next, 0, 0);
    json_object_set_new(pu, "wiat", json_true());
    expect_bad_param(c, "record.submit", pu, "wiat");

    /* A valid next record of a: pending, then a duplicate is "known" while
     * it waits (or "included" if a block took it in between). */
    json_t *s1 = submit_ok(c, &ok_next, 0);
    expect_status(s1, "pending");
    json_t *s2 = submit_ok(c, &ok_next, 0);
    ck_assert_msg(!strcmp(jstr(s2, "status"), "known") || !strcmp(jstr(s2, "status"), "included"),
                  "duplicate answered %s", jstr(s2, "status"));
    wait_included(c, &ok_next);

    /* -32004: too far ahead, with the sequence expected. */
    json_t *ia = call_ok(c, "identity.get", P("{s:s}", "identity", a.hex));
    uint64_t next = ju64(ia, "next_seq");
    ck_assert_uint_eq(next, a.seq + 1);
    rp_record far = rbase(&a, RP_REC_VOUCH);
    far.seq = next + 17; /* max_gap 16 */
    far.body.vouch.subject = stranger.pk;
    far.body.vouch.relation = RP_VOUCH_KNOWS;
    rsign(&far, 0, &a.sk);
    a.seq--;
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&far, 0, 0), &data), -32004);
    ck_assert_uint_eq(ju64(data, "expected"), next);

    /* Held: one ahead waits for the gap; a duplicate is "known"; wait with
     * a short timeout is -32005 with the id, and the record stays. */
    uint64_t saved = a.seq;
    a.seq = next; /* skip one */
    rp_record held = r_update(&a, 1);
    a.seq = saved;
    expect_status(submit_ok(c, &held, 0), "held");
    expect_status(submit_ok(c, &held, 0), "known");
    char held_id[65];
    id_hex(&held, held_id);
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&held, 1, 300), &data), -32005);
    ck_assert_str_eq(jstr(data, "id"), held_id);
    json_t *hg = call_ok(c, "record.get", P("{s:s}", "id", held_id));
    ck_assert_str_eq(jstr(hg, "status"), "held");
    json_t *mi = call_ok(c, "mempool.info", NULL);
    ck_assert_int_ge(jint(mi, "held"), 1);
    ia = call_ok(c, "identity.get", P("{s:s}", "identity", a.hex));
    ck_assert_uint_eq(ju64(ia, "next_seq"), next);
    ck_assert_int_ge(jint(ia, "pending"), 1);
    sleep_ms(1200); /* blocks pass; it stays held */
    hg = call_ok(c, "record.get", P("{s:s}", "id", held_id));
    ck_assert_str_ne(jstr(hg, "status"), "included");

    /* A client that waits for the held record and goes away is forgotten
     * at once, not when its 60 s timeout fires: the node's count of waiting
     * calls and of connections falls back. */
    {
        rp_rpc_client *w = cli();
        json_t *p = submit_params(&held, 1, 60000);
        json_t *req = json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", 1, "method",
                                "record.submit", "params", p);
        char *text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        send_str(w, text);
        send_str(w, "\n");
        free(text);
        uint64_t until = mono_ms() + 5000;
        while (jint(json_object_get(call_ok(c, "node.metrics", NULL), "gauges"), "waiting_calls") != 1) {
            ck_assert_msg(mono_ms() < until, "the waiting call never registered");
            sleep_ms(10);
        }
        rp_rpc_close(w);
        until = mono_ms() + 2000;
        for (;;) {
            json_t *gg = json_object_get(call_ok(c, "node.metrics", NULL), "gauges");
            if (jint(gg, "waiting_calls") == 0 && jint(gg, "connections") == 1)
                break;
            ck_assert_msg(mono_ms() < until, "the departed client's wait lingers");
            sleep_ms(10);
        }
    }

    /* The gap fills: both go in, the held one after. */
    rp_record fill = r_update(&a, 0);
    ck_assert_uint_eq(fill.seq, next);
    a.seq = held.seq;
    json_t *fr = submit_ok(c, &fill, 1);
    json_t *hr = submit_ok(c, &held, 1); /* waits for inclusion, or included already */
    ck_assert_uint_ge(ju64(hr, "height"), ju64(fr, "height"));
    if (ju64(hr, "height") == ju64(fr, "height"))
        ck_assert_int_gt(jint(hr, "index"), jint(fr, "index"));
    ia = call_ok(c, "identity.get", P("{s:s}", "identity", a.hex));
    ck_assert_uint_eq(ju64(ia, "seq"), held.seq);
    ck_assert_str_eq(jstr(ia, "name"), "Ada Singer 1");

    /* record.get errors. */
    char zeros[65];
    memset(zeros, '0', 64);
    zeros[64] = 0;
    ck_assert_int_eq(call_err(c, "record.get", P("{s:s}", "id", zeros), NULL), -32001);
    expect_bad_param(c, "record.get", P("{s:s}", "id", "0x12"), "id");
    expect_bad_param(c, "record.get", P("{s:s,s:i}", "id", zeros, "verbose", 1), "verbose");

    /* A pending registration: identity.get answers registered false (or,
     * if a block was quick, true). */
    ident d;
    ident_gen(&d, RP_ROLE_TALENT, "Dee Pending");
    rp_record rd = r_identity(&d);
    expect_status(submit_ok(c, &rd, 0), "pending");
    json_t *dg = call_ok(c, "identity.get", P("{s:s}", "identity", d.hex));
    if (json_is_false(json_object_get(dg, "registered"))) {
        ck_assert_uint_eq(ju64(dg, "next_seq"), 2);
        ck_assert_str_eq(jstr(dg, "role"), "talent");
        ck_assert_str_eq(jstr(dg, "name"), "Dee Pending");
        ck_assert(json_is_null(json_object_get(dg, "registered_height")));
        ck_assert(json_is_null(json_object_get(dg, "updated_height")));
    } else {
        ck_assert(json_is_true(json_object_get(dg, "registered")));
    }

    /* mempool.info's fields. */
    mi = call_ok(c, "mempool.info", NULL);
    static const char *const mf[] = {"count",     "bytes",   "held",     "verifying", "max_count",
                                     "max_bytes", "max_gap", "admitted", "rejected"};
    for (size_t i = 0; i < sizeof mf / sizeof mf[0]; i++)
        ck_assert_msg(json_is_integer(json_object_get(mi, mf[i])), "mempool.info \"%s\"", mf[i]);
    ck_assert_int_eq(jint(mi, "max_count"), 20000);
    ck_assert_int_eq(jint(mi, "max_gap"), 16);
    ck_assert_int_ge(jint(mi, "admitted"), 5);
    ck_assert_int_ge(jint(mi, "rejected"), 4);
    expect_bad_param(c, "mempool.info", P("{s:b}", "all", 1), "all");
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* A pool of 12 records, of which held ones may take a quarter: 3. */
static void conf_tiny_pool(rp_config *cfg)
{
    cfg->mempool_max_count = 12;
}

START_TEST(test_mempool_full)
{
    conf_edit(conf_tiny_pool);
    node_start();
    rp_rpc_client *c = cli();
    ident a;
    ident_gen(&a, RP_ROLE_TALENT, "Full Pool");
    rp_record reg = r_identity(&a);
    submit_ok(c, &reg, 1);
    /* Three held records fill the held quarter of the pool; the fourth is
     * refused as the pool being full, while records that can go into a
     * block still find room. */
    a.seq = 2;
    rp_record h[4];
    for (int i = 0; i < 4; i++)
        h[i] = r_update(&a, (unsigned)i);
    for (int i = 0; i < 3; i++)
        expect_status(submit_ok(c, &h[i], 0), "held");
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&h[3], 0, 0), NULL), -32003);
    json_t *mi = call_ok(c, "mempool.info", NULL);
    ck_assert_int_eq(jint(mi, "count"), 3);
    ck_assert_int_eq(jint(mi, "held"), 3);
    ck_assert_int_eq(jint(mi, "max_count"), 12);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

struct shutdown_waiter {
    rp_record rec;
    int code;
    int rc;
};

static void *shutdown_wait_thread(void *arg)
{
    struct shutdown_waiter *w = arg;
    rp_rpc_client *c = NULL;
    if (rp_rpc_connect(&c, T.sock) != 0) {
        w->rc = -1;
        return NULL;
    }
    rp_rpc_set_timeout(c, CALL_TIMEOUT_MS);
    char hex[HEX_MAX];
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    rp_record_encode(&w->rec, buf, sizeof buf, &len);
    rp_hex_encode(hex, sizeof hex, buf, len);
    json_t *p = json_pack("{s:s,s:b,s:i}", "record", hex, "wait", 1, "timeout_ms", 60000);
    json_t *res = NULL;
    rp_rpc_error e;
    w->rc = rp_rpc_call(c, "record.submit", p, &res, &e);
    w->code = e.code;
    json_decref(p);
    json_decref(res);
    rp_rpc_error_clear(&e);
    rp_rpc_close(c);
    return NULL;
}

/* A client waiting for inclusion when the node stops gets -32006. */
START_TEST(test_shutdown_answers_waiters)
{
    node_start();
    rp_rpc_client *c = cli();
    ident a;
    ident_gen(&a, RP_ROLE_TALENT, "Shutdown");
    rp_record reg = r_identity(&a);
    submit_ok(c, &reg, 1);
    a.seq = 2;
    struct shutdown_waiter w = {.rec = r_update(&a, 1)};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, shutdown_wait_thread, &w), 0);
    uint64_t end = mono_ms() + 20000;
    while (jint(call_ok(c, "mempool.info", NULL), "held") < 1) {
        ck_assert(mono_ms() < end);
        sleep_ms(10);
    }
    sleep_ms(100); /* the waiter is registered with the same call */
    rp_rpc_close(c);
    node_stop();
    pthread_join(th, NULL);
    ck_assert_int_eq(w.rc, RP_RPC_REPLY_ERROR);
    ck_assert_int_eq(w.code, -32006);
    /* A clean stop removes the socket. */
    struct stat sb;
    ck_assert_int_ne(stat(T.sock, &sb), 0);
}
END_TEST

/* ---- scores, proofs, rankings, reviews ---------------------------------------------------------
 */

static void verify_proof(const char *hexproof, const rp_pubkey *who, int expect_present)
{
    size_t hl = strlen(hexproof);
    ck_assert_uint_eq(hl % 2, 0);
    ck_assert_uint_le(hl / 2, RP_PROOF_MAX_SIZE);
    unsigned char *bytes = malloc(hl / 2 + 1);
    size_t n;
    ck_assert_int_eq(rp_hex_decode_var(bytes, hl / 2 + 1, &n, hexproof, hl), 0);
    rp_score_proof *p = malloc(sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(rp_score_proof_decode(p, bytes, n), 0);
    ck_assert_int_eq(p->present, expect_present);
    ck_assert_int_eq(rp_score_proof_verify(p, T.g, &T.chain, who), 1);
    /* The same proof does not hold for anyone else: a presence proof for a
     * neighbouring key, an absence proof for an identity that has a row. */
    rp_pubkey other = *who;
    if (expect_present)
        other.bytes[31] ^= 1;
    else
        other = p->has_left ? p->left.identity : p->right.identity;
    ck_assert_int_eq(rp_score_proof_verify(p, T.g, &T.chain, &other), 0);
    /* Nor against another chain. */
    rp_hash chain2 = T.chain;
    chain2.bytes[0] ^= 1;
    ck_assert_int_eq(rp_score_proof_verify(p, T.g, &chain2, who), 0);
    free(p);
    free(bytes);
}

START_TEST(test_scores_and_lists)
{
    node_start();
    rp_rpc_client *c = cli();
    ident anchor, t1, t2, t3, b1, nobody;
    ident_anchor(&anchor);
    ident_gen(&t1, RP_ROLE_TALENT, "Tia Dancer");
    ident_gen(&t2, RP_ROLE_TALENT, "Tom Actor");
    ident_gen(&t3, RP_ROLE_TALENT, "Tess Model");
    ident_gen(&b1, RP_ROLE_BRAND, "Bold Brand");
    ident_gen(&nobody, RP_ROLE_TALENT, "Nobody");

    /* Before the first epoch: -32008. */
    ck_assert_uint_eq(head_epoch(c), 0);
    ck_assert_int_eq(call_err(c, "score.get", P("{s:s}", "identity", anchor.hex), NULL), -32008);
    ck_assert_int_eq(call_err(c, "score.top", NULL, NULL), -32008);
    ck_assert_int_eq(call_err(c, "audience.get", P("{s:s}", "identity", anchor.hex), NULL), -32008);

    /* A small graph, all in the mempool at once: identities, engagements
     * with t1, reviews both ways, a vouch. */
    rp_record recs[32];
    size_t n = 0;
    ident *others[] = {&anchor, &t2, &t3, &b1};
    static const uint8_t stars[] = {5, 4, 3, 5};
    recs[n++] = r_identity(&t1);
    recs[n++] = r_identity(&t2);
    recs[n++] = r_identity(&t3);
    recs[n++] = r_identity(&b1);
    rp_record eng[4];
    for (int i = 0; i < 4; i++)
        recs[n++] = eng[i] = r_engagement(others[i], &t1);
    for (int i = 0; i < 4; i++) {
        recs[n++] = r_review(others[i], &t1, &eng[i], stars[i]);
        recs[n++] = r_review(&t1, others[i], &eng[i], 4);
    }
    recs[n++] = r_vouch(&anchor, &b1);
    for (size_t i = 0; i + 1 < n; i++)
        expect_status(submit_ok(c, &recs[i], 0), "pending");
    uint64_t hmax = ju64(submit_ok(c, &recs[n - 1], 1), "height");
    for (size_t i = 0; i < n; i++) {
        uint64_t h = wait_included(c, &recs[i]);
        if (h > hmax)
            hmax = h;
    }
    /* The epoch whose snapshot holds them all. */
    uint64_t epoch = (hmax + 9) / 10;
    wait_epoch(c, epoch);
    json_t *head = call_ok(c, "chain.head", NULL);
    ck_assert_uint_ge(ju64(head, "epoch"), epoch);

    /* score.get, and its proof checked against the genesis alone. */
    json_t *s = call_ok(c, "score.get", P("{s:s,s:b}", "identity", t1.hex, "proof", 1));
    ck_assert_str_eq(jstr(s, "identity"), t1.hex);
    ck_assert_uint_eq(ju64(s, "epoch"), ju64(head, "epoch"));
    uint64_t ce = ju64(s, "epoch");
    ck_assert_uint_eq(ju64(s, "commit_height"), ce * 10 + 2);
    ck_assert(json_is_true(json_object_get(s, "present")));
    ck_assert_int_ge(jint(s, "score"), 0);
    ck_assert_int_le(jint(s, "score"), 1000);
    ck_assert_int_ge(jint(s, "confidence"), 0);
    ck_assert_int_le(jint(s, "confidence"), 1000);
    ju64(s, "trust");
    ck_assert_int_eq(jint(s, "reviews"), 4);
    json_int_t rating = jint(s, "rating");
    ck_assert_msg(rating == 0 || (rating >= 1000000 && rating <= 5000000), "rating %lld",
                  (long long)rating);
    verify_proof(jstr(s, "proof"), &t1.pk, 1);
    /* Without proof: the same row, no proof. */
    json_t *s2 =
        call_ok(c, "score.get", P("{s:s,s:s}", "identity", t1.hex, "epoch", jstr(s, "epoch")));
    ck_assert_int_eq(jint(s2, "score"), jint(s, "score"));
    ck_assert_str_eq(jstr(s2, "trust"), jstr(s, "trust"));
    ck_assert_ptr_null(json_object_get(s2, "proof"));
    /* The anchor is pre-trusted: it has trust. */
    json_t *sa = call_ok(c, "score.get", P("{s:s,s:b}", "identity", anchor.hex, "proof", 1));
    ck_assert_uint_gt(ju64(sa, "trust"), 0);
    verify_proof(jstr(sa, "proof"), &anchor.pk, 1);
    /* Someone with no row: present false, and a proof of absence. */
    json_t *sn = call_ok(c, "score.get", P("{s:s,s:b}", "identity", nobody.hex, "proof", 1));
    ck_assert(json_is_false(json_object_get(sn, "present")));
    verify_proof(jstr(sn, "proof"), &nobody.pk, 0);
    /* Errors. */
    ck_assert_int_eq(
        call_err(c, "score.get", P("{s:s,s:s}", "identity", t1.hex, "epoch", "999"), NULL), -32001);
    expect_bad_param(c, "score.get", P("{s:b}", "proof", 1), "identity");
    expect_bad_param(c, "score.get", P("{s:s,s:s}", "identity", t1.hex, "proof", "yes"), "proof");
    expect_bad_param(c, "score.get", P("{s:s,s:s}", "identity", t1.hex, "epoch", "one"), "epoch");
    /* audience.get: no attestations here, so no figures (test_audience has them). */
    json_t *au = call_ok(c, "audience.get", P("{s:s,s:s}", "identity", t1.hex, "platform", "x"));
    ck_assert_uint_eq(ju64(au, "epoch"), ce);
    ck_assert_uint_eq(json_array_size(json_object_get(au, "figures")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(au, "attestations")), 0);
    expect_bad_param(c, "audience.get", P("{s:s,s:s}", "identity", t1.hex, "platform", "vine"),
                     "platform");
    expect_bad_param(c, "audience.get", P("{s:s}", "platform", "x"), "identity");

    /* score.top: a total order, pages that add up, the role filter. */
    json_t *all = call_ok(c, "score.top", P("{s:i}", "limit", 100));
    ck_assert_uint_eq(ju64(all, "epoch"), ce);
    json_t *rows = json_object_get(all, "rows");
    size_t nrows = json_array_size(rows);
    ck_assert_int_eq(jint(all, "total"), (json_int_t)nrows);
    ck_assert_uint_ge(nrows, 5);
    for (size_t i = 0; i < nrows; i++) {
        json_t *r = json_array_get(rows, i);
        ck_assert_int_eq(jint(r, "rank"), (json_int_t)i + 1);
        static const char *const tf[] = {"identity",   "name",   "role",    "score",
                                         "confidence", "rating", "reviews", "trust"};
        for (size_t k = 0; k < sizeof tf / sizeof tf[0]; k++)
            ck_assert_msg(json_object_get(r, tf[k]), "score.top row has no \"%s\"", tf[k]);
        if (i == 0)
            continue;
        json_t *q = json_array_get(rows, i - 1);
        json_int_t sc = jint(r, "score"), sq = jint(q, "score");
        uint64_t tr = ju64(r, "trust"), tq = ju64(q, "trust");
        ck_assert_msg(sq > sc ||
                          (sq == sc && (tq > tr || (tq == tr && strcmp(jstr(q, "identity"),
                                                                       jstr(r, "identity")) < 0))),
                      "score.top rows %zu and %zu are out of order", i - 1, i);
    }
    /* The default page is 20 rows (or all of them). */
    json_t *def = call_ok(c, "score.top", NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(def, "rows")), nrows < 20 ? nrows : 20);
    for (size_t off = 0; off < nrows + 2; off += 2) {
        json_t *pg = call_ok(c, "score.top", P("{s:i,s:I}", "limit", 2, "offset", (json_int_t)off));
        json_t *pr = json_object_get(pg, "rows");
        ck_assert_int_eq(jint(pg, "total"), (json_int_t)nrows);
        size_t want = off >= nrows ? 0 : nrows - off < 2 ? nrows - off : 2;
        ck_assert_uint_eq(json_array_size(pr), want);
        for (size_t k = 0; k < want; k++)
            ck_assert(json_equal(json_array_get(pr, k), json_array_get(rows, off + k)));
    }
    json_t *tal = call_ok(c, "score.top", P("{s:s,s:s}", "role", "talent", "offset", "0"));
    ck_assert_int_eq(jint(tal, "total"), 3);
    json_t *tr = json_object_get(tal, "rows");
    ck_assert_uint_eq(json_array_size(tr), 3);
    for (size_t k = 0; k < 3; k++) {
        ck_assert_str_eq(jstr(json_array_get(tr, k), "role"), "talent");
        ck_assert_int_eq(jint(json_array_get(tr, k), "rank"), (json_int_t)k + 1);
    }
    json_t *br = call_ok(c, "score.top", P("{s:s}", "role", "brand"));
    ck_assert_int_eq(jint(br, "total"), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(br, "rows"), 0), "name"), "Bold Brand");
    expect_bad_param(c, "score.top", P("{s:i}", "limit", 0), "limit");
    expect_bad_param(c, "score.top", P("{s:i}", "limit", 101), "limit");
    expect_bad_param(c, "score.top", P("{s:s}", "role", "singer"), "role");
    expect_bad_param(c, "score.top", P("{s:i}", "offset", -1), "offset");

    /* reviews.list: four reviews about t1 and four by t1, paged. */
    for (int by_issuer = 0; by_issuer <= 1; by_issuer++) {
        const char *key = by_issuer ? "issuer" : "subject";
        json_t *full = call_ok(c, "reviews.list", P("{s:s}", key, t1.hex));
        json_t *rv = json_object_get(full, "reviews");
        ck_assert_uint_eq(json_array_size(rv), 4);
        ck_assert(json_is_null(json_object_get(full, "next")));
        for (size_t k = 0; k < 4; k++) {
            json_t *r = json_array_get(rv, k);
            ck_assert_str_eq(jstr(r, by_issuer ? "issuer" : "subject"), t1.hex);
            assert_hex(r, "id", 32);
            assert_hex(r, "engagement", 32);
            json_int_t ov = jint(r, "overall");
            ck_assert(ov >= 1 && ov <= 5);
            json_t *dims = json_object_get(r, "dims");
            ck_assert(json_is_object(dims));
            ck_assert_int_eq(jint(dims, "reliability"), 4);
            ck_assert_int_eq(jint(dims, "quality"), by_issuer ? 4 : ov);
            ju64(r, "time");
            ck_assert_uint_ge(ju64(r, "height"), 1);
            if (k)
                ck_assert_str_lt(jstr(json_array_get(rv, k - 1), "id"), jstr(r, "id"));
        }
        for (int lim = 1; lim <= 3; lim++) {
            size_t got = 0;
            const char *after = NULL;
            for (int guard = 0; guard < 10; guard++) {
                json_t *p = P("{s:s,s:i}", key, t1.hex, "limit", lim);
                if (after)
                    json_object_set_new(p, "after", json_string(after));
                json_t *pg = call_ok(c, "reviews.list", p);
                json_t *pr = json_object_get(pg, "reviews");
                ck_assert_uint_le(json_array_size(pr), (size_t)lim);
                for (size_t k = 0; k < json_array_size(pr); k++, got++)
                    ck_assert_str_eq(jstr(json_array_get(pr, k), "id"),
                                     jstr(json_array_get(rv, got), "id"));
                json_t *nx = json_object_get(pg, "next");
                if (json_is_null(nx))
                    break;
                after = json_string_value(nx);
                ck_assert_ptr_nonnull(after);
            }
            ck_assert_uint_eq(got, 4);
        }
    }
    json_t *none = call_ok(c, "reviews.list", P("{s:s}", "subject", nobody.hex));
    ck_assert_uint_eq(json_array_size(json_object_get(none, "reviews")), 0);
    ck_assert(json_is_null(json_object_get(none, "next")));
    ck_assert_int_eq(call_err(c, "reviews.list", P("{}"), NULL), -32602);
    ck_assert_int_eq(
        call_err(c, "reviews.list", P("{s:s,s:s}", "subject", t1.hex, "issuer", t2.hex), NULL),
        -32602);
    expect_bad_param(c, "reviews.list", P("{s:s,s:i}", "subject", t1.hex, "limit", 0), "limit");
    expect_bad_param(c, "reviews.list", P("{s:s,s:i}", "subject", t1.hex, "limit", 101), "limit");
    expect_bad_param(c, "reviews.list", P("{s:s,s:s}", "subject", t1.hex, "after", "zz"), "after");

    /* identity.get counts. */
    json_t *it = call_ok(c, "identity.get", P("{s:s}", "identity", t1.hex));
    ck_assert_int_eq(jint(it, "reviews_received"), 4);
    ck_assert_int_eq(jint(it, "reviews_given"), 4);
    json_t *ib = call_ok(c, "identity.get", P("{s:s}", "identity", b1.hex));
    ck_assert_int_eq(jint(ib, "vouches_received"), 1);

    /* node.metrics after all that. */
    json_t *m = call_ok(c, "node.metrics", NULL);
    json_t *gauges = json_object_get(m, "gauges"), *counters = json_object_get(m, "counters");
    ck_assert_uint_ge(ju64(gauges, "height"), hmax);
    static const char *const gf[] = {"mempool_count", "mempool_bytes", "connections"};
    for (size_t i = 0; i < sizeof gf / sizeof gf[0]; i++)
        ck_assert_msg(json_is_integer(json_object_get(gauges, gf[i])), "gauges.%s", gf[i]);
    ju64(gauges, "uptime_s");
    static const char *const cf[] = {"blocks_produced",  "records_included", "records_admitted",
                                     "records_rejected", "rpc_calls",        "rpc_errors"};
    for (size_t i = 0; i < sizeof cf / sizeof cf[0]; i++)
        ck_assert_msg(json_is_integer(json_object_get(counters, cf[i])), "counters.%s", cf[i]);
    ck_assert_int_ge(jint(counters, "records_included"), (json_int_t)n);
    ck_assert(json_is_number(json_object_get(json_object_get(m, "rates"), "records_per_s")));
    json_t *sg = json_object_get(json_object_get(m, "methods"), "score.get");
    ck_assert_msg(json_is_object(sg), "methods has no score.get");
    ck_assert_int_ge(jint(sg, "calls"), 5);
    ck_assert_int_ge(jint(sg, "errors"), 4);
    jint(sg, "p50_us");
    ck_assert_int_ge(jint(sg, "p99_us"), jint(sg, "p50_us"));
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* ---- restarts, locks, the socket ----------------------------------------------------------------
 */

START_TEST(test_restart_keeps_data)
{
    node_start();
    rp_rpc_client *c = cli();
    ident a, b;
    ident_gen(&a, RP_ROLE_TALENT, "Restart A");
    ident_gen(&b, RP_ROLE_BRAND, "Restart B");
    rp_record recs[4];
    recs[0] = r_identity(&a);
    recs[1] = r_identity(&b);
    recs[2] = r_engagement(&b, &a);
    recs[3] = r_review(&b, &a, &recs[2], 5);
    for (int i = 0; i < 3; i++)
        submit_ok(c, &recs[i], 0);
    uint64_t h = ju64(submit_ok(c, &recs[3], 1), "height");
    /* Let the node settle (it keeps producing until the epoch holding these
     * records is committed), so the height stops moving. */
    wait_epoch(c, (h + 9) / 10);
    uint64_t h0 = head_height(c);
    sleep_ms(1200);
    ck_assert_uint_eq(head_height(c), h0);
    json_t *head0 = call_ok(c, "chain.head", NULL);
    json_t *score0 = call_ok(c, "score.get", P("{s:s}", "identity", a.hex));
    rp_rpc_close(c);
    node_stop();

    node_start();
    c = cli();
    json_t *head1 = call_ok(c, "chain.head", NULL);
    ck_assert(json_equal(head0, head1));
    for (int i = 0; i < 4; i++) {
        char idh[65];
        id_hex(&recs[i], idh);
        json_t *g = call_ok(c, "record.get", P("{s:s}", "id", idh));
        ck_assert_str_eq(jstr(g, "status"), "included");
    }
    json_t *ia = call_ok(c, "identity.get", P("{s:s}", "identity", a.hex));
    ck_assert_int_eq(jint(ia, "reviews_received"), 1);
    json_t *score1 = call_ok(c, "score.get", P("{s:s}", "identity", a.hex));
    ck_assert(json_equal(score0, score1));
    /* And it goes on: a new record after the restart. */
    rp_record more = r_vouch(&b, &a);
    submit_ok(c, &more, 1);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

START_TEST(test_socket_mode)
{
    node_start();
    struct stat sb;
    ck_assert_int_eq(stat(T.dir, &sb), 0);
    ck_assert_msg((sb.st_mode & 07777) == 0700, "the datadir is mode %o", sb.st_mode & 07777);
    ck_assert_int_eq(lstat(T.sock, &sb), 0);
    ck_assert(S_ISSOCK(sb.st_mode));
    ck_assert_msg((sb.st_mode & 07777) == 0600, "rpc.sock is mode %o, documented 0600",
                  sb.st_mode & 07777);
    node_stop();
}
END_TEST

START_TEST(test_second_instance_refused)
{
    node_start();
    struct stat sb;

    char out[4096];
    char *argv[] = {reputed_bin, "run", "--datadir", T.dir, NULL};
    int st = run_cmd(argv, out, sizeof out, 30000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "a second reputed run exited 0: %s", out);
    ck_assert_msg(strstr(out, "lock") != NULL, "the refusal does not mention the lock: %s", out);
    /* The first node is untouched, socket and all. */
    ck_assert_int_eq(lstat(T.sock, &sb), 0);
    rp_rpc_client *c = cli();
    call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    node_stop();
}
END_TEST


/* A socket path of 108 bytes or more would be silently truncated by libuv:
 * the node refuses to start and says why, and touches nothing. */
START_TEST(test_socket_path_too_long)
{
    char longdir[512];
    int n = snprintf(longdir, sizeof longdir, "%s/", T.work);
    while (n < 120) {
        longdir[n++] = 'x';
        longdir[n] = 0;
    }
    ck_assert_int_eq(rename(T.dir, longdir), 0);
    char out[4096];
    char *argv[] = {reputed_bin, "run", "--datadir", longdir, NULL};
    int st = run_cmd(argv, out, sizeof out, 30000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "reputed run exited %d: %s", st, out);
    ck_assert_msg(strstr(out, "socket path") != NULL, "no clear message: %s", out);
    char sock[600];
    struct stat sb;
    snprintf(sock, sizeof sock, "%s/rpc.sock", longdir);
    ck_assert_int_ne(lstat(sock, &sb), 0);
    ck_assert_int_eq(rename(longdir, T.dir), 0);
}
END_TEST

/* ---- kill -9 under load
 * ---------------------------------------------------------------------------- */

#define FEEDERS    3
#define FEED_DEPTH 8
#define MAX_ACKED  4096

struct feeder {
    ident *id;
    unsigned counter;
    char (*acked)[65];
    size_t nacked;
    int errors; /* answers that were errors other than shutdown */
    char last_error[200];
};

/* Submit FEED_DEPTH updates at a time, all with wait, and keep the ids the
 * node acknowledged as included, until the connection dies. */
static void *feed_thread(void *arg)
{
    struct feeder *f = arg;
    rp_rpc_client *c = NULL;
    if (rp_rpc_connect(&c, T.sock) != 0)
        return NULL;
    rp_rpc_set_timeout(c, CALL_TIMEOUT_MS);
    char *buf = malloc(FEED_DEPTH * (HEX_MAX + 200));
    for (;;) {
        char ids[FEED_DEPTH][65];
        size_t off = 0;
        for (int k = 0; k < FEED_DEPTH; k++) {
            rp_record r = r_update(f->id, f->counter++);
            char hex[HEX_MAX];
            unsigned char bytes[RP_RECORD_MAX_SIZE];
            size_t len;
            rp_hash id;
            rp_record_encode(&r, bytes, sizeof bytes, &len);
            rp_hex_encode(hex, sizeof hex, bytes, len);
            rp_record_id(&id, &T.chain, &r);
            rp_hex_encode(ids[k], 65, id.bytes, 32);
            off += (size_t)snprintf(buf + off, FEED_DEPTH * (HEX_MAX + 200) - off,
                                    "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"record.submit\","
                                    "\"params\":{\"record\":\"%s\",\"wait\":true}}\n",
                                    k, hex);
        }
        if (rp_rpc_send_raw(c, buf, off) != 0)
            break;
        int dead = 0;
        for (int k = 0; k < FEED_DEPTH && !dead; k++) {
            const char *line;
            size_t len;
            if (rp_rpc_read_line(c, &line, &len) != 0) {
                dead = 1;
                break;
            }
            json_t *v = json_loadb(line, len, 0, NULL);
            json_t *res = json_object_get(v, "result");
            json_t *st = json_object_get(res, "status");
            json_t *idv = json_object_get(v, "id");
            if (json_is_string(st) && !strcmp(json_string_value(st), "included") &&
                json_is_integer(idv) && json_integer_value(idv) == k && f->nacked < MAX_ACKED) {
                if (!strcmp(json_string_value(json_object_get(res, "id")), ids[k]))
                    memcpy(f->acked[f->nacked++], ids[k], 65);
                else
                    f->errors++;
            } else {
                f->errors++;
                snprintf(f->last_error, sizeof f->last_error, "%.*s", (int)(len < 190 ? len : 190),
                         line);
            }
            json_decref(v);
        }
        if (dead)
            break;
    }
    free(buf);
    rp_rpc_close(c);
    return NULL;
}

START_TEST(test_kill9_keeps_acknowledged)
{
    node_start();
    rp_rpc_client *c = cli();
    ident ids[FEEDERS];
    ident *idp[FEEDERS];
    for (int i = 0; i < FEEDERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "Feeder %d", i);
        ident_gen(&ids[i], RP_ROLE_TALENT, name);
        idp[i] = &ids[i];
    }
    register_all(c, idp, FEEDERS);
    rp_rpc_close(c);

    srand((unsigned)seed_value);
    static char acked[FEEDERS][MAX_ACKED][65];
    struct feeder f[FEEDERS];
    size_t total_acked = 0;
    for (int round = 0; round < 2; round++) {
        pthread_t th[FEEDERS];
        for (int i = 0; i < FEEDERS; i++) {
            f[i] = (struct feeder){
                .id = &ids[i], .acked = acked[i], .counter = 1000u * (unsigned)round};
            ck_assert_int_eq(pthread_create(&th[i], NULL, feed_thread, &f[i]), 0);
        }
        unsigned delay = 1500 + (unsigned)(rand() % 2000);
        sleep_ms(delay);
        node_kill9();
        for (int i = 0; i < FEEDERS; i++)
            pthread_join(th[i], NULL);
        size_t n = 0;
        for (int i = 0; i < FEEDERS; i++) {
            ck_assert_msg(f[i].errors == 0, "feeder %d got %d unexpected answers, last: %s", i,
                          f[i].errors, f[i].last_error);
            n += f[i].nacked;
        }
        ck_assert_msg(n > 0, "no record was acknowledged in %u ms before the kill", delay);
        total_acked += n;

        node_start();
        c = cli();
        for (int i = 0; i < FEEDERS; i++) {
            for (size_t k = 0; k < f[i].nacked; k++) {
                json_t *res = NULL;
                rp_rpc_error e;
                json_t *p = P("{s:s}", "id", f[i].acked[k]);
                int rc = rp_rpc_call(c, "record.get", p, &res, &e);
                json_decref(p);
                ck_assert_msg(rc == 0, "acknowledged record %s lost after kill -9 (round %d): %s",
                              f[i].acked[k], round, e.message);
                ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "included");
                json_decref(res);
                rp_rpc_error_clear(&e);
            }
            /* Carry on from what the chain holds. */
            json_t *ig = call_ok(c, "identity.get", P("{s:s}", "identity", ids[i].hex));
            ids[i].seq = ju64(ig, "next_seq") - 1;
        }
        rp_rpc_close(c);
    }
    fprintf(stderr, "test_kill9: %zu acknowledged records survived 2 kills (seed %lu)\n",
            total_acked, seed_value);
    node_stop();

    char out[8192];
    char *argv[] = {reputed_bin, "verify", "--datadir", T.dir, NULL};
    int st = run_cmd(argv, out, sizeof out, 120000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reputed verify failed: %s", out);
}
END_TEST

/* ---- repute-cli end to end
 * ------------------------------------------------------------------------- */

START_TEST(test_cli_end_to_end)
{
    if (!cli_bin[0] || access(cli_bin, X_OK) != 0) {
        fprintf(stderr, "test_cli_end_to_end: no repute-cli (RP_REPUTE_CLI): skipped\n");
        return;
    }
    node_start();
    setenv("REPUTE_PASSPHRASE", "correct horse battery", 1);
    setenv("RP_ANCHOR_PASS", "", 1);
    char maya_key[256], lumen_key[256], eng_file[256], proof_file[256], anchor_key[256],
        genesis[256];
    snprintf(maya_key, sizeof maya_key, "%s/maya.key", T.work);
    snprintf(lumen_key, sizeof lumen_key, "%s/lumen.key", T.work);
    snprintf(eng_file, sizeof eng_file, "%s/engagement.hex", T.work);
    snprintf(proof_file, sizeof proof_file, "%s/maya.proof", T.work);
    snprintf(anchor_key, sizeof anchor_key, "%s/%s", T.dir, RP_DEV_ANCHOR_FILE);
    snprintf(genesis, sizeof genesis, "%s/genesis.json", T.dir);

    /* keygen: two identities. */
    json_t *j;
    CLI_OK(&j, "--json", "keygen", "--out", maya_key, "--kdf", "interactive");
    char maya[65], lumen[65];
    snprintf(maya, sizeof maya, "%s", jstr(j, "identity"));
    struct stat sb;
    ck_assert_int_eq(stat(maya_key, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 077, 0);
    CLI_OK(&j, "--json", "keygen", "--out", lumen_key, "--kdf", "interactive");
    snprintf(lumen, sizeof lumen, "%s", jstr(j, "identity"));
    /* A key file is never overwritten. */
    ck_assert_int_ne(cli_run(NULL, "keygen", "--out", maya_key, "--kdf", "interactive", NULL), 0);

    /* identity: registrations, waited for. */
    CLI_OK(&j, "--json", "identity", "--key", maya_key, "--role", "talent", "--name",
           "Maya Okafor");
    ck_assert_str_eq(jstr(j, "status"), "included");
    CLI_OK(&j, "--json", "identity", "--key", lumen_key, "--role", "brand", "--name",
           "Lumen Cosmetics");
    ck_assert_str_eq(jstr(j, "status"), "included");

    /* engage (the brand), cosign (the talent), both review. */
    CLI_OK(&j, "--json", "engage", "--key", lumen_key, "--with", maya, "--kind", "sponsorship",
           "--out", eng_file);
    CLI_OK(&j, "--json", "cosign", "--key", maya_key, eng_file, "--submit");
    ck_assert_str_eq(jstr(j, "status"), "included");
    char eng_id[65];
    snprintf(eng_id, sizeof eng_id, "%s", jstr(j, "id"));
    CLI_OK(&j, "--json", "review", "--key", maya_key, "--engagement", eng_id, "--rating", "4",
           "--payment", "5");
    ck_assert_str_eq(jstr(j, "status"), "included");
    CLI_OK(&j, "--json", "review", "--key", lumen_key, "--engagement", eng_id, "--rating", "5",
           "--quality", "5");
    ck_assert_str_eq(jstr(j, "status"), "included");
    uint64_t h = ju64(j, "height");
    /* The pre-trusted anchor (empty passphrase) vouches for the talent. */
    CLI_OK(&j, "--json", "vouch", "--key", anchor_key, "--passphrase-env", "RP_ANCHOR_PASS",
           "--for", maya, "--relation", "represents");
    if (ju64(j, "height") > h)
        h = ju64(j, "height");

    /* A second review in the same direction: exit 1, the rule named. */
    int rc =
        cli_run(NULL, "review", "--key", lumen_key, "--engagement", eng_id, "--rating", "1", NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(cli_err, "-32002") && strstr(cli_err, "-1708"),
                  "the refusal does not name the rule:\n%s", cli_err);

    /* whois, reviews, record. */
    CLI_OK(&j, "--json", "whois", maya);
    ck_assert(json_is_true(json_object_get(j, "registered")));
    ck_assert_str_eq(jstr(j, "name"), "Maya Okafor");
    ck_assert_int_eq(jint(j, "reviews_received"), 1);
    ck_assert_int_eq(jint(j, "vouches_received"), 1);
    CLI_OK(&j, "--json", "reviews", "--subject", maya);
    json_t *rv = json_object_get(j, "reviews");
    ck_assert_uint_eq(json_array_size(rv), 1);
    ck_assert_str_eq(jstr(json_array_get(rv, 0), "issuer"), lumen);
    ck_assert_int_eq(jint(json_array_get(rv, 0), "overall"), 5);
    CLI_OK(&j, "--json", "record", eng_id);
    ck_assert_str_eq(jstr(j, "status"), "included");

    /* score, once the epoch holding it all is committed, and its proof
     * checked offline. */
    rp_rpc_client *c = cli();
    wait_epoch(c, (h + 9) / 10);
    rp_rpc_close(c);
    CLI_OK(&j, "--json", "score", maya, "--proof", proof_file);
    ck_assert(json_is_true(json_object_get(j, "present")));
    ck_assert_int_eq(jint(j, "reviews"), 1);
    ck_assert_int_gt(jint(j, "score"), 0);
    CLI_OK(NULL, "verify-proof", "--genesis", genesis, "--identity", maya, proof_file);
    ck_assert_msg(strstr(cli_out, "VALID"), "verify-proof said:\n%s", cli_out);
    rc = cli_run(NULL, "verify-proof", "--genesis", genesis, "--identity", lumen, proof_file, NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert(strstr(cli_out, "INVALID") || strstr(cli_err, "INVALID"));
    /* The same proof checks with the library. */
    char *hexproof = NULL;
    {
        FILE *f = fopen(proof_file, "r");
        ck_assert_ptr_nonnull(f);
        static char buf[2 * RP_PROOF_MAX_SIZE + 8];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
            n--;
        buf[n] = 0;
        hexproof = buf;
    }
    rp_pubkey mpk;
    ck_assert_int_eq(rp_hex_decode(mpk.bytes, 32, maya, 64), 0);
    if (strspn(hexproof, "0123456789abcdef") == strlen(hexproof)) {
        verify_proof(hexproof, &mpk, 1);
    } else {
        /* A binary proof file. */
        unsigned char *bytes = malloc(RP_PROOF_MAX_SIZE);
        FILE *f = fopen(proof_file, "rb");
        size_t n = fread(bytes, 1, RP_PROOF_MAX_SIZE, f);
        fclose(f);
        rp_score_proof *p = malloc(sizeof *p);
        ck_assert_int_eq(rp_score_proof_decode(p, bytes, n), 0);
        ck_assert_int_eq(rp_score_proof_verify(p, T.g, &T.chain, &mpk), 1);
        free(p);
        free(bytes);
    }

    /* top, call, usage errors. */
    CLI_OK(&j, "--json", "top", "--role", "talent");
    ck_assert_int_ge(jint(j, "total"), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(j, "rows"), 0), "identity"), maya);
    CLI_OK(&j, "--json", "call", "chain.head");
    ck_assert_uint_ge(ju64(j, "height"), h);
    ck_assert_int_eq(cli_run(NULL, "no-such-command", NULL), 2);
    ck_assert_int_eq(cli_run(NULL, "score", NULL), 2);

    /* The node gone: exit 3. */
    node_stop();
    ck_assert_int_eq(cli_run(NULL, "info", NULL), 3);
}
END_TEST

/* ---- held records: only what the issuer signed ------------------------------------------- */

/* A record ahead of its issuer's sequence is held only if its issuer
 * signed it. Forgeries of the victim's next-but-one record (a valid
 * signature by another key, random bytes) and a flood by an unregistered
 * issuer are refused with -32002 and never held nor served; the victim's
 * own record for that sequence is held, served as the victim's, and
 * included once the gap fills. */
START_TEST(test_held_forgeries_refused)
{
    node_start();
    rp_rpc_client *c = cli();
    ident victim, mallory, ghost;
    ident_gen(&victim, RP_ROLE_TALENT, "Vic Held");
    ident_gen(&mallory, RP_ROLE_BRAND, "Mallory Forger");
    ident_gen(&ghost, RP_ROLE_BRAND, "Ghost Unregistered");
    ident *reg[2] = {&victim, &mallory};
    register_all(c, reg, 2);
    uint64_t next = victim.seq + 1;

    /* The victim's next-but-one sequence, signed by mallory's key... */
    victim.seq = next;
    rp_record forged = r_update(&victim, 666);
    victim.seq = next - 1;
    rsign(&forged, 0, &mallory.sk);
    json_t *data = NULL;
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&forged, 0, 0), &data), -32002);
    ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_BAD_SIGNATURE);
    /* ... or with random bytes for a signature, waiting or not. */
    rp_record junk = forged;
    for (int w = 0; w <= 1; w++) {
        randombytes_buf(junk.sigs[0].bytes, sizeof junk.sigs[0].bytes);
        ck_assert_int_eq(call_err(c, "record.submit", submit_params(&junk, w, 0), &data), -32002);
        ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_BAD_SIGNATURE);
    }
    /* A flood by an issuer nobody registered: refused, nothing verified. */
    for (uint64_t i = 0; i < 32; i++) {
        ghost.seq = 1 + i % 16;
        rp_record g = r_vouch(&ghost, &victim);
        randombytes_buf(g.sigs[0].bytes, sizeof g.sigs[0].bytes);
        ck_assert_int_eq(call_err(c, "record.submit", submit_params(&g, 0, 0), &data), -32002);
        ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_NOT_REGISTERED);
    }
    json_t *mi = call_ok(c, "mempool.info", NULL);
    ck_assert_int_eq(jint(mi, "held"), 0);
    char fid[65];
    id_hex(&forged, fid);
    ck_assert_int_eq(call_err(c, "record.get", P("{s:s}", "id", fid), NULL), -32001);

    /* The victim's own record for that sequence: held, and served as such. */
    victim.seq = next;
    rp_record real = r_update(&victim, 1);
    victim.seq = next - 1;
    expect_status(submit_ok(c, &real, 0), "held");
    char rid_hex[65], hex[HEX_MAX];
    id_hex(&real, rid_hex);
    rhex(&real, hex);
    json_t *hg = call_ok(c, "record.get", P("{s:s}", "id", rid_hex));
    ck_assert_str_eq(jstr(hg, "status"), "held");
    ck_assert_str_eq(jstr(hg, "issuer"), victim.hex);
    ck_assert_str_eq(jstr(hg, "hex"), hex);
    /* The forgery once more, now that the slot is taken: still refused. */
    ck_assert_int_eq(call_err(c, "record.submit", submit_params(&forged, 0, 0), &data), -32002);
    ck_assert_int_eq(jint(data, "ledger_code"), RP_ERR_BAD_SIGNATURE);

    /* The gap fills: both go in, the held one after. */
    rp_record fill = r_update(&victim, 0);
    ck_assert_uint_eq(fill.seq, next);
    victim.seq = real.seq;
    json_t *fr = submit_ok(c, &fill, 1);
    json_t *hr = submit_ok(c, &real, 1);
    ck_assert_uint_ge(ju64(hr, "height"), ju64(fr, "height"));
    if (ju64(hr, "height") == ju64(fr, "height"))
        ck_assert_int_gt(jint(hr, "index"), jint(fr, "index"));
    json_t *ia = call_ok(c, "identity.get", P("{s:s}", "identity", victim.hex));
    ck_assert_uint_eq(ju64(ia, "seq"), real.seq);
    ck_assert_str_eq(jstr(ia, "name"), "Vic Held 1");
    hg = call_ok(c, "record.get", P("{s:s}", "id", rid_hex));
    ck_assert_str_eq(jstr(hg, "status"), "included");
    ck_assert_str_eq(jstr(hg, "hex"), hex);
    rp_rpc_close(c);
    node_stop();
}
END_TEST

/* ---- start-up safety (docs/operators.md, "The datadir") ---------------------------------- */

/* `reputed run --datadir dir` must stop at once, exit 1, say needle and
 * leave no socket behind. */
static void run_refused_with(const char *dir, const char *needle)
{
    char out[4096], sock[600], d[300];
    snprintf(d, sizeof d, "%s", dir);
    char *argv[] = {reputed_bin, "run", "--datadir", d, NULL};
    int st = run_cmd(argv, out, sizeof out, 20000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "reputed run exited 0x%x: %s", st, out);
    ck_assert_msg(strstr(out, needle) != NULL, "'%s' not in: %s", needle, out);
    struct stat sb;
    snprintf(sock, sizeof sock, "%s/rpc.sock", dir);
    ck_assert_msg(lstat(sock, &sb) != 0, "a refused start left %s", sock);
}

/* A datadir, config or ledger folder that another user could change is
 * refused with the fix; read access for others is not the datadir's
 * business, and the node starts again once the modes are right. */
START_TEST(test_unsafe_datadir_refused)
{
    char want[1024], conf[256], ledger[256];
    snprintf(conf, sizeof conf, "%s/reputed.conf", T.dir);
    snprintf(ledger, sizeof ledger, "%s/ledger", T.dir);

    ck_assert_int_eq(chmod(T.dir, 0777), 0);
    snprintf(want, sizeof want,
             "reputed run: datadir %s is mode 0777: group and others must not be able to write "
             "to it, or they could replace its config, keys or socket (chmod 700 %s)",
             T.dir, T.dir);
    run_refused_with(T.dir, want);
    ck_assert_int_eq(chmod(T.dir, 0700), 0);

    ck_assert_int_eq(chmod(conf, 0666), 0);
    snprintf(want, sizeof want,
             "reputed run: config %s is mode 0666: group and others must not be able to write "
             "to it, or they could point the node at other keys (chmod 600 %s)",
             conf, conf);
    run_refused_with(T.dir, want);
    ck_assert_int_eq(chmod(conf, 0600), 0);

    ck_assert_int_eq(chmod(ledger, 0770), 0);
    snprintf(want, sizeof want, "(chmod 700 %s)", ledger);
    run_refused_with(T.dir, want);
    ck_assert_int_eq(chmod(ledger, 0700), 0);

    ck_assert_int_eq(chmod(T.dir, 0755), 0);
    ck_assert_int_eq(chmod(conf, 0644), 0);
    node_start();
    node_stop();
}
END_TEST

static int die_after_steps;

static void die_at_init_step(const char *step)
{
    (void)step;
    if (die_after_steps-- == 0)
        raise(SIGKILL);
}

/* An init killed after its ledger is made: `reputed run` and `reputed
 * init` both say what happened and what to do, in the same words. */
START_TEST(test_interrupted_init_refused)
{
    char dir[256], out[4096], want[1024];
    snprintf(dir, sizeof dir, "%s/half", T.work);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* datadir, marker, genesis.json, node.key, validator.key,
         * dev-anchor.key, ledger: dies there. */
        die_after_steps = 6;
        rp_init_test_hook = die_at_init_step;
        rp_init_opts o;
        char err[600];
        memset(&o, 0, sizeof o);
        o.datadir = dir;
        o.dev = 1;
        _exit(rp_node_init(&o, err, sizeof err) == 0 ? 0 : 3);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "init was not killed: 0x%x", st);
    struct stat sb;
    snprintf(want, sizeof want, "%s/ledger", dir);
    ck_assert_int_eq(stat(want, &sb), 0);

    snprintf(want, sizeof want,
             "%s: an interrupted reputed init (%s/init.incomplete is still there); remove %s, "
             "or everything in it, and run reputed init again",
             dir, dir, dir);
    run_refused_with(dir, want);
    char *argv[] = {reputed_bin, "init", "--datadir", dir, "--dev", NULL};
    st = run_cmd(argv, out, sizeof out, 30000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "reputed init exited 0x%x: %s", st, out);
    ck_assert_msg(strstr(out, want) != NULL, "'%s' not in: %s", want, out);

    /* Doing what it says works. */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    st = run_cmd(argv, out, sizeof out, 60000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "init again: 0x%x: %s", st, out);
}
END_TEST

/* An empty reputed.conf next to the validator key must not make a
 * validator a follower without a word: [validator] enabled is required. */
START_TEST(test_empty_conf_refused)
{
    char conf[256], want[1024];
    snprintf(conf, sizeof conf, "%s/reputed.conf", T.dir);
    write_file(conf, "");
    snprintf(want, sizeof want,
             "reputed run: %s: [validator] enabled is not set, but the validator key "
             "%s/validator.key exists: add 'enabled = true' under [validator] to sign blocks "
             "with it, or 'enabled = false' to follow the chain without signing",
             conf, T.dir);
    run_refused_with(T.dir, want);

    /* Said either way, it starts. */
    write_file(conf, "[validator]\nenabled = false\n");
    node_start();
    node_stop();
}
END_TEST

/* [node] genesis and [node] node_key, which nothing else reads yet, are
 * checked at start: another chain's genesis, or a node key others can
 * read, is refused with the fix. */
START_TEST(test_node_files_checked)
{
    char genesis[256], saved[256], other[1024], nk[256], want[1024], cmd[2400];
    snprintf(genesis, sizeof genesis, "%s/genesis.json", T.dir);
    snprintf(saved, sizeof saved, "%s/genesis.saved", T.work);
    snprintf(nk, sizeof nk, "%s/node.key", T.dir);
    const char *root = getenv("RP_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    snprintf(other, sizeof other, "%s/configs/devnet/genesis.json", root);
    ck_assert_int_eq(rename(genesis, saved), 0);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", other, genesis);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(want, sizeof want, "reputed run: [node] genesis %s is chain 'repute-devnet'", genesis);
    run_refused_with(T.dir, want);
    ck_assert_int_eq(rename(saved, genesis), 0);

    ck_assert_int_eq(chmod(nk, 0640), 0);
    snprintf(want, sizeof want,
             "reputed run: node key %s is mode 0640: group and others must have no access to it "
             "(chmod 600 %s) ([node] node_key)",
             nk, nk);
    run_refused_with(T.dir, want);
    ck_assert_int_eq(chmod(nk, 0600), 0);
    node_start();
    node_stop();
}
END_TEST

/* ---- main
 * ------------------------------------------------------------------------------------------- */

static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, node_fixture_setup, node_fixture_teardown);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    const char *bin = getenv("RP_REPUTED");
    if (!bin || strlen(bin) >= sizeof reputed_bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "test_node: set RP_REPUTED to the built reputed binary (got %s)\n",
                bin ? bin : "nothing");
        return 1;
    }
    memcpy(reputed_bin, bin, strlen(bin) + 1);
    const char *cb = getenv("RP_REPUTE_CLI");
    if (cb && strlen(cb) < sizeof cli_bin)
        memcpy(cli_bin, cb, strlen(cb) + 1);
    const char *env_seed = getenv("RP_TEST_SEED");
    seed_value = env_seed ? strtoul(env_seed, NULL, 10) : (unsigned long)time(NULL);
    fprintf(stderr, "test_node: seed %lu (set RP_TEST_SEED to repeat)\n", seed_value);
    if (rp_crypto_init() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    snprintf(base_dir, sizeof base_dir, "/tmp/rp-test-node-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }

    Suite *s = suite_create("node");
    add(s, "info_head_block", test_info_head_block, 120);
    add(s, "record_and_block_fields", test_record_and_block_fields, 120);
    add(s, "envelope_errors", test_envelope_errors, 120);
    add(s, "scalar_line_is_invalid_request", test_scalar_line_is_invalid_request, 120);
    add(s, "batch_and_notifications", test_batch_and_notifications, 120);
    add(s, "long_line", test_long_line, 120);
    add(s, "garbage", test_garbage, 120);
    add(s, "backpressure", test_backpressure, 180);
    add(s, "many_clients", test_many_clients, 180);
    add(s, "connection_limit", test_connection_limit, 120);
    add(s, "submit_and_get", test_submit_and_get, 180);
    add(s, "mempool_full", test_mempool_full, 120);
    add(s, "shutdown_answers_waiters", test_shutdown_answers_waiters, 120);
    add(s, "scores_and_lists", test_scores_and_lists, 240);
    add(s, "restart_keeps_data", test_restart_keeps_data, 240);
    add(s, "socket_mode", test_socket_mode, 120);
    add(s, "second_instance_refused", test_second_instance_refused, 120);
    add(s, "socket_path_too_long", test_socket_path_too_long, 60);
    add(s, "kill9_keeps_acknowledged", test_kill9_keeps_acknowledged, 300);
    add(s, "cli_end_to_end", test_cli_end_to_end, 300);
    add(s, "held_forgeries_refused", test_held_forgeries_refused, 120);
    add(s, "unsafe_datadir_refused", test_unsafe_datadir_refused, 120);
    add(s, "interrupted_init_refused", test_interrupted_init_refused, 120);
    add(s, "empty_conf_refused", test_empty_conf_refused, 120);
    add(s, "node_files_checked", test_node_files_checked, 120);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_node: could not remove %s\n", base_dir);
    return failed ? 1 : 0;
}
