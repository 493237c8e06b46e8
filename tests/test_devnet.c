/* Validator consensus end to end: a chain of four validators, each a real
 * `reputed` process on loopback with its own key, finalizing blocks by
 * Tendermint over the peer-to-peer sessions (docs/consensus.md).
 *
 *   - records submitted at any validator are final on all four, with
 *     identical heads and state hashes, and each commit carries more than
 *     two thirds of the power;
 *   - one validator killed with SIGKILL: the other three (a quorum of
 *     3 of 4) keep finalizing; restarted, it replays its consensus log,
 *     catches up and `reputed verify` passes on its datadir;
 *   - a second copy of a validator's key, started from another datadir
 *     (its key runs elsewhere), refuses to start and says why.
 *
 * Keys are plaintext dev keys (dev_plaintext_key); timeouts are short
 * ([consensus] in each reputed.conf) so the test runs in seconds.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consensus/types.h"
#include "consensus/wire.h"
#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "node/init.h"
#include "tests/node_fixture.h"
#include "tests/p2p_peer.h"

#define NV 4

static struct node_fixture NF[NV + 1];
static char node_id[NV + 1][65];
static unsigned p2p_port[NV + 1];
static int cur;
static rp_seckey vkeys[NV];

static void sel(int i)
{
    NF[cur] = T;
    T = NF[i];
    cur = i;
}

static void write_key(const char *path, const rp_seckey *sk)
{
    char hex[65], text[256];
    rp_hex_encode(hex, sizeof hex, sk->bytes, 32);
    snprintf(text, sizeof text, "%s\n# test key\n%s\n", RP_DEV_KEY_HEADER, hex);
    write_file(path, text);
    ck_assert_int_eq(chmod(path, 0600), 0);
}

/* What the conf edit sets. */
static char edit_peers[NV][RP_ENDPOINT_TEXT_MAX + 1];
static size_t edit_npeers;

static void edit_fn(rp_config *c)
{
    snprintf(c->p2p_listen, sizeof c->p2p_listen, "127.0.0.1:0");
    c->p2p_persistent.n = 0;
    for (size_t i = 0; i < edit_npeers; i++)
        memcpy(c->p2p_persistent.v[c->p2p_persistent.n++], edit_peers[i], sizeof edit_peers[i]);
    c->validator = 1;
    c->dev_plaintext_key = 1;
    snprintf(c->key_file, sizeof c->key_file, "validator.key");
    c->consensus.propose_ms = 1000;
    c->consensus.propose_delta_ms = 200;
    c->consensus.prevote_ms = 300;
    c->consensus.prevote_delta_ms = 100;
    c->consensus.precommit_ms = 300;
    c->consensus.precommit_delta_ms = 100;
    c->consensus.commit_ms = 200;
}

/* A four-validator genesis (the dev chain's parameters), T.g and T.chain
 * switched to it, and a datadir per validator. */
static void devnet_setup(void)
{
    node_fixture_setup();
    memset(NF, 0, sizeof NF);
    memset(node_id, 0, sizeof node_id);
    memset(p2p_port, 0, sizeof p2p_port);
    cur = 0;
    rp_genesis *g = T.g;
    g->nvalidators = NV;
    for (int i = 0; i < NV; i++) {
        unsigned char seed[32];
        memset(seed, 0x5a, sizeof seed);
        ck_assert_int_eq(rp_seckey_from_seed(&vkeys[i], seed, (uint64_t)i + (seed_value << 8)), 0);
        ck_assert_int_eq(rp_pubkey_from_seckey(&g->validators[i].pubkey, &vkeys[i]), 0);
        g->validators[i].power = 1;
        snprintf(g->validators[i].name, sizeof g->validators[i].name, "val-%d", i);
    }
    char path[256], err[1024];
    snprintf(path, sizeof path, "%s/devnet-genesis.json", T.work);
    char *json = rp_genesis_to_json(g);
    ck_assert_ptr_nonnull(json);
    write_file(path, json);
    free(json);
    ck_assert_msg(rp_genesis_load(T.g, path, err, sizeof err) == 0, "genesis: %s", err);
    ck_assert_int_eq(rp_genesis_chain_id(&T.chain, T.g), 0);
    rp_hex_encode(T.chain_hex, sizeof T.chain_hex, T.chain.bytes, 32);
    for (int i = 0; i <= NV; i++) {
        struct node_fixture f = T;
        snprintf(f.dir, sizeof f.dir, "%s/v%d", f.work, i);
        snprintf(f.sock, sizeof f.sock, "%s/rpc.sock", f.dir);
        snprintf(f.log, sizeof f.log, "%s/v%d.log", f.work, i);
        f.pid = 0;
        rp_init_opts o;
        memset(&o, 0, sizeof o);
        o.datadir = f.dir;
        o.genesis = path;
        ck_assert_msg(rp_node_init(&o, err, sizeof err) == 0, "init: %s", err);
        char kp[256];
        snprintf(kp, sizeof kp, "%s/validator.key", f.dir);
        write_key(kp, &vkeys[i < NV ? i : 0]); /* datadir NV: a second copy of key 0 */
        NF[i] = f;
    }
    T = NF[0];
}

static void devnet_teardown(void)
{
    NF[cur] = T;
    for (int i = 1; i <= NV; i++)
        if (NF[i].pid > 0) {
            kill(NF[i].pid, SIGKILL);
            waitpid(NF[i].pid, NULL, 0);
        }
    T = NF[0];
    node_fixture_teardown();
}

/* Configure node i with persistent peers 0..i-1 (started already) and
 * start it; learn its node ID and port. */
static void start(int i, int npeers)
{
    edit_npeers = 0;
    for (int k = 0; k < npeers; k++)
        if (k != i && node_id[k][0])
            snprintf(edit_peers[edit_npeers++], sizeof edit_peers[0], "%.64s@127.0.0.1:%u",
                     node_id[k], p2p_port[k]);
    sel(i);
    conf_edit(edit_fn);
    node_start();
    rp_rpc_client *c = cli();
    json_t *info = call_ok(c, "node.info", NULL);
    json_t *net = json_object_get(info, "network");
    snprintf(node_id[i], sizeof node_id[i], "%s", jstr(net, "node_id"));
    p2p_port[i] = (unsigned)jint(net, "p2p_port");
    rp_rpc_close(c);
}

static json_t *head(int i)
{
    sel(i);
    rp_rpc_client *c = cli();
    json_t *h = call_ok(c, "chain.head", NULL);
    rp_rpc_close(c);
    return h;
}

static int record_included(int i, const char *id)
{
    sel(i);
    rp_rpc_client *c = cli();
    json_t *res = NULL;
    rp_rpc_error e;
    json_t *params = P("{s:s}", "id", id);
    int rc = rp_rpc_call(c, "record.get", params, &res, &e);
    json_decref(params);
    int inc = rc == 0 && !strcmp(jstr(res, "status"), "included");
    json_decref(res);
    rp_rpc_error_clear(&e);
    rp_rpc_close(c);
    return inc;
}

/* Submit n registrations at node `at`; wait until each is included on
 * every node in nodes[0..nn). */
static void submit_and_wait(int at, int n, const int *nodes, int nn, unsigned timeout_ms)
{
    static int serial;
    char ids[16][65];
    ck_assert_int_le(n, 16);
    sel(at);
    rp_rpc_client *c = cli();
    for (int k = 0; k < n; k++) {
        ident who;
        char name[40];
        snprintf(name, sizeof name, "Devnet Person%d", serial++);
        ident_gen(&who, (uint8_t)(1 + k % 3), name);
        rp_record r = r_identity(&who);
        id_hex(&r, ids[k]);
        (void)submit_ok(c, &r, 0);
    }
    rp_rpc_close(c);
    uint64_t end = mono_ms() + timeout_ms;
    for (int x = 0; x < nn; x++)
        for (int k = 0; k < n; k++)
            while (!record_included(nodes[x], ids[k])) {
                ck_assert_msg(mono_ms() < end, "record %d not included on node %d; its log:\n%s",
                              k, nodes[x], log_tail());
                sleep_ms(100);
            }
}

static void wait_same_head(const int *nodes, int nn, unsigned timeout_ms)
{
    uint64_t end = mono_ms() + timeout_ms;
    for (;;) {
        json_t *h0 = head(nodes[0]);
        int same = 1;
        for (int x = 1; x < nn && same; x++) {
            json_t *h = head(nodes[x]);
            same = !strcmp(jstr(h, "hash"), jstr(h0, "hash")) &&
                   !strcmp(jstr(h, "state_hash"), jstr(h0, "state_hash"));
        }
        if (same)
            return;
        ck_assert_msg(mono_ms() < end, "heads differ after %u ms; log:\n%s", timeout_ms,
                      log_tail());
        sleep_ms(200);
    }
}

static json_t *consensus_info(int i)
{
    sel(i);
    rp_rpc_client *c = cli();
    json_t *info = call_ok(c, "node.info", NULL);
    rp_rpc_close(c);
    json_t *cs = json_object_get(info, "consensus");
    ck_assert_msg(json_is_object(cs), "node.info has no consensus member");
    return cs;
}

START_TEST(test_four_validators)
{
    for (int i = 0; i < NV; i++)
        start(i, i);
    int all[NV] = {0, 1, 2, 3};
    submit_and_wait(1, 6, all, NV, 60000);
    submit_and_wait(3, 4, all, NV, 60000);
    wait_same_head(all, NV, 30000);
    /* Every validator took part, and the last block's commit holds more
     * than two thirds of the power (3 or 4 of 4 signatures). */
    json_t *cs = consensus_info(0);
    ck_assert_uint_ge(ju64(cs, "decided_blocks"), 1);
    json_t *vals = json_object_get(cs, "validators");
    ck_assert_int_eq((int)json_array_size(vals), NV);
    uint64_t signed_total = 0;
    for (size_t i = 0; i < NV; i++)
        signed_total += ju64(json_array_get(vals, i), "signed");
    ck_assert_uint_ge(signed_total, 3 * ju64(cs, "decided_blocks"));
    /* The chain passes an auditor's replay: every commit verifies. */
    for (int i = NV - 1; i >= 0; i--) {
        sel(i);
        node_stop();
    }
    sel(2);
    char *argv[] = {reputed_bin, "verify", "--datadir", T.dir, NULL};
    char out[8192];
    int st = run_cmd(argv, out, sizeof out, 120000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reputed verify: %s", out);
}
END_TEST

START_TEST(test_crash_and_rejoin)
{
    for (int i = 0; i < NV; i++)
        start(i, i);
    int all[NV] = {0, 1, 2, 3}, three[3] = {0, 1, 2};
    submit_and_wait(0, 3, all, NV, 60000);
    /* Validator 3 dies mid-flight; three of four are a quorum. */
    sel(3);
    node_kill9();
    submit_and_wait(1, 4, three, 3, 60000);
    /* It comes back: replays its log, catches up, follows again. */
    start(3, 3);
    submit_and_wait(2, 3, all, NV, 60000);
    wait_same_head(all, NV, 30000);
    for (int i = NV - 1; i >= 0; i--) {
        sel(i);
        node_stop();
    }
    sel(3);
    char *argv[] = {reputed_bin, "verify", "--datadir", T.dir, NULL};
    char out[8192];
    int st = run_cmd(argv, out, sizeof out, 120000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reputed verify: %s", out);
}
END_TEST

/* A validator killed in the middle of a height, with inputs in its log:
 * it replays them at start (consensus_replayed) and the height is decided
 * once a quorum is back. */
START_TEST(test_replay_mid_height)
{
    for (int i = 0; i < NV; i++)
        start(i, i);
    int all[NV] = {0, 1, 2, 3};
    submit_and_wait(0, 1, all, NV, 60000);
    /* Two down: no quorum; 0 and 1 start the next height and go round. */
    for (int i = 2; i < NV; i++) {
        sel(i);
        node_kill9();
    }
    sel(0);
    rp_rpc_client *c = cli();
    ident who;
    ident_gen(&who, RP_ROLE_TALENT, "Stuck Talent");
    rp_record r = r_identity(&who);
    char id[65];
    id_hex(&r, id);
    (void)submit_ok(c, &r, 0);
    rp_rpc_close(c);
    /* Wait until node 1 has voted at the new height (its log says so by
     * a round past 0 or a prevote step), then kill it too. */
    uint64_t end = mono_ms() + 30000;
    for (;;) {
        json_t *cs = consensus_info(1);
        if (strcmp(jstr(cs, "step"), "idle") != 0 && (jint(cs, "round") > 0 ||
                                                       strcmp(jstr(cs, "step"), "propose") != 0))
            break;
        ck_assert_msg(mono_ms() < end, "node 1 never took part in the height:\n%s", log_tail());
        sleep_ms(50);
    }
    sel(1);
    node_kill9();
    for (int i = 1; i < NV; i++)
        start(i, i == 1 ? 1 : i);
    sel(1);
    ck_assert_msg(strstr(log_tail(), "consensus_replayed") != NULL,
                  "node 1 did not replay its consensus log:\n%s", log_tail());
    for (int x = 0; x < NV; x++)
        while (!record_included(x, id)) {
            ck_assert_msg(mono_ms() < end + 60000, "not included on node %d:\n%s", x, log_tail());
            sleep_ms(100);
        }
    wait_same_head(all, NV, 30000);
    for (int i = NV - 1; i >= 0; i--) {
        sel(i);
        node_stop();
    }
}
END_TEST

/* A vote signed by validator `who` at (height, round, type) for h. */
static rp_cs_vote signed_vote(int who, uint64_t height, uint32_t round, uint8_t type,
                              unsigned char fill)
{
    rp_cs_vote v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = height;
    v.round = round;
    memset(v.block_hash.bytes, fill, 32);
    v.validator = (uint16_t)who;
    rp_hash msg;
    rp_vote_message(&msg, &T.chain, height, round, type, &v.block_hash);
    unsigned char aux[32] = {0};
    ck_assert_int_eq(rp_sign(&v.sig, msg.bytes, 32, &vkeys[who], aux), 0);
    return v;
}

static void connect_hostile(p2p_peer *p, unsigned port, unsigned char b)
{
    rp_seckey key;
    memset(key.bytes, b, 32);
    ck_assert_int_eq(p2p_peer_connect(p, (uint16_t)port, &T.chain, &key, 0), 0);
}

/* One bad consensus message: the node closes the connection. */
static void expect_dropped(unsigned port, unsigned char b, const unsigned char *msg, size_t len,
                           const char *what)
{
    p2p_peer p;
    connect_hostile(&p, port, b);
    ck_assert_int_eq(p2p_peer_send_bytes(&p, msg, len), 0);
    ck_assert_msg(p2p_peer_wait_closed(&p, 10000) == 1, "%s: still connected", what);
    p2p_peer_close(&p);
}

/* Hostile consensus messages are misbehaviour; a validator's double vote
 * becomes evidence that evidence.list and node.info show. */
START_TEST(test_hostile_consensus)
{
    for (int i = 0; i < NV; i++)
        start(i, i);
    int all[NV] = {0, 1, 2, 3};
    submit_and_wait(1, 1, all, NV, 60000);
    wait_same_head(all, NV, 30000);
    unsigned port = p2p_port[0];
    uint64_t h = ju64(head(0), "height") + 1;

    unsigned char buf[RP_CS_STATE_MAX_SIZE + 600];
    /* A VOTE cut short. */
    rp_cs_vote v = signed_vote(1, h, 0, RP_VOTE_PREVOTE, 0x11);
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), 0);
    expect_dropped(port, 0x61, buf, RP_CS_VOTE_SIZE - 5, "a truncated vote");
    /* A vote whose signature is not its validator's. */
    v.sig.bytes[5] ^= 1;
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), 0);
    expect_dropped(port, 0x62, buf, RP_CS_VOTE_SIZE, "a vote with a bad signature");
    /* A vote by an index past the validator set. */
    v = signed_vote(1, h, 0, RP_VOTE_PREVOTE, 0x11);
    v.validator = 9;
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), 0);
    expect_dropped(port, 0x63, buf, RP_CS_VOTE_SIZE, "a vote by no validator");
    /* A STATE for another validator set. */
    rp_cs_state_msg st;
    memset(&st, 0, sizeof st);
    st.height = h;
    st.n = 7;
    size_t len;
    ck_assert_int_eq(rp_cs_wire_state(&st, buf, sizeof buf, &len), 0);
    expect_dropped(port, 0x64, buf, len, "a STATE of another set");
    /* A proposal whose block is not the one it names. */
    rp_cs_proposal pr;
    memset(&pr, 0, sizeof pr);
    pr.height = h;
    pr.pol_round = -1;
    unsigned char junk[RP_HEADER_SIZE + 4];
    memset(junk, 0x5a, sizeof junk);
    junk[0] = RP_BLOCK_VERSION;
    ck_assert_int_eq(rp_cs_wire_proposal(&pr, junk, sizeof junk, NULL, 0, buf, sizeof buf, &len),
                     0);
    expect_dropped(port, 0x65, buf, len, "a proposal of another block");
    sel(0);
    ck_assert_msg(strstr(log_tail(), "a vote with a bad signature") != NULL, "no reason logged:\n%s",
                  log_tail());

    /* Validator 3 (its key, from a stranger's connection) prevotes two
     * blocks in round 5: the first counts, the pair is evidence. */
    p2p_peer p;
    connect_hostile(&p, port, 0x66);
    rp_cs_vote a = signed_vote(3, h, 5, RP_VOTE_PREVOTE, 0xa1);
    rp_cs_vote b = signed_vote(3, h, 5, RP_VOTE_PREVOTE, 0xb2);
    ck_assert_int_eq(rp_cs_wire_vote(&a, buf), 0);
    ck_assert_int_eq(p2p_peer_send_bytes(&p, buf, RP_CS_VOTE_SIZE), 0);
    ck_assert_int_eq(rp_cs_wire_vote(&b, buf), 0);
    ck_assert_int_eq(p2p_peer_send_bytes(&p, buf, RP_CS_VOTE_SIZE), 0);
    uint64_t end = mono_ms() + 20000;
    json_t *ev = NULL;
    for (;;) {
        sel(0);
        rp_rpc_client *c = cli();
        ev = json_object_get(call_ok(c, "evidence.list", NULL), "seen");
        rp_rpc_close(c);
        if (json_array_size(ev) >= 1)
            break;
        ck_assert_msg(mono_ms() < end, "no evidence after a double vote:\n%s", log_tail());
        sleep_ms(100);
    }
    json_t *e0 = json_array_get(ev, 0);
    ck_assert_int_eq(jint(e0, "validator"), 3);
    ck_assert_uint_eq(ju64(e0, "height"), h);
    ck_assert_int_eq(jint(e0, "round"), 5);
    /* Carried on chain by a later block, whoever proposes it (node 0
     * relayed both votes), and listed by every node. */
    submit_and_wait(1, 1, all, NV, 60000);
    submit_and_wait(2, 1, all, NV, 60000);
    for (int i = 0; i < NV; i++) {
        end = mono_ms() + 30000;
        for (;;) {
            sel(i);
            rp_rpc_client *c = cli();
            ev = json_object_get(call_ok(c, "evidence.list", NULL), "evidence");
            rp_rpc_close(c);
            if (json_array_size(ev) >= 1)
                break;
            ck_assert_msg(mono_ms() < end, "evidence not on chain at node %d:\n%s", i,
                          log_tail());
            submit_and_wait(i, 1, all, NV, 60000); /* another height */
        }
        e0 = json_array_get(ev, 0);
        ck_assert_int_eq(jint(e0, "validator"), 3);
        ck_assert_uint_eq(ju64(e0, "height"), h);
        ck_assert_str_eq(jstr(e0, "type"), "prevote");
        ck_assert_uint_gt(ju64(e0, "block_height"), h);
        json_t *vals = json_object_get(consensus_info(i), "validators");
        ck_assert_uint_eq(ju64(json_array_get(vals, 3), "evidence"), 1);
        ck_assert_uint_eq(ju64(json_array_get(vals, 2), "evidence"), 0);
    }
    /* Valid votes are no misbehaviour: the connection stays. */
    unsigned char *msg = NULL;
    size_t mlen;
    ck_assert_int_ne(p2p_peer_recv(&p, &msg, &mlen, 500), -1);
    free(msg);
    p2p_peer_close(&p);
    for (int i = NV - 1; i >= 0; i--) {
        sel(i);
        node_stop();
    }
}
END_TEST

START_TEST(test_key_runs_elsewhere)
{
    for (int i = 0; i < NV; i++)
        start(i, i);
    int all[NV] = {0, 1, 2, 3};
    submit_and_wait(0, 2, all, NV, 60000);
    wait_same_head(all, NV, 30000);
    /* Datadir NV holds validator 0's key with a guard that never signed:
     * it must refuse to start, naming the block its key signed. */
    for (int i = NV - 1; i >= 0; i--) {
        sel(i);
        node_stop();
    }
    /* Give it the chain: copy node 0's ledger over. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ledger' && cp -a '%s/ledger' '%s/ledger'", NF[NV].dir,
             NF[0].dir, NF[NV].dir);
    ck_assert_int_eq(system(cmd), 0);
    sel(NV);
    conf_edit(edit_fn);
    char *argv[] = {reputed_bin, "run", "--datadir", T.dir, NULL};
    char out[8192];
    int st = run_cmd(argv, out, sizeof out, 60000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "a second copy of a key started: %s", out);
    ck_assert_msg(strstr(out, "runs elsewhere") != NULL, "no reason given:\n%s", out);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, devnet_setup, devnet_teardown);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    if (fixture_prepare("devnet") != 0)
        return 1;
    Suite *s = suite_create("devnet");
    add(s, "four_validators", test_four_validators, 300);
    add(s, "crash_and_rejoin", test_crash_and_rejoin, 300);
    add(s, "replay_mid_height", test_replay_mid_height, 300);
    add(s, "key_runs_elsewhere", test_key_runs_elsewhere, 300);
    add(s, "hostile_consensus", test_hostile_consensus, 300);
    return fixture_run("devnet", s);
}
