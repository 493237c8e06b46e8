/* Check suite for p2p/msg: the canonical encoding of every p2p message.
 *
 * Round trips of every type at its smallest and largest encodings; every
 * bound exceeded by one, refused alike by rp_p2p_msg_check, the encoder and
 * the decoder (the decoder before it reads what a count or length counts);
 * truncation at every byte; trailing bytes; every unknown type byte, the
 * reserved range included; known-answer vectors (tests/vectors/
 * p2p-messages.txt); and the HELLO binding of a node key to an X25519 static
 * key, chain id and protocol version.
 *
 * RP_WRITE_VECTORS=1 prints the known-answer lines instead of checking them.
 * RP_WRITE_P2PMSG_CORPUS=DIR writes the examples and the smaller minimum and
 * maximum messages to DIR: that is how tests/fuzz/corpus/p2pmsg/ was made.
 * RP_TEST_SEED sets the seed of the randomized mutation test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/codec.h"
#include "ledger/merkle.h"
#include "ledger/record.h"
#include "p2p/msg.h"

/* ---- fixed inputs ----------------------------------------------------- */

static unsigned char seed[32];
static rp_hash chain_id;
static unsigned char x25519_a[32], x25519_b[32]; /* two X25519 static public keys */

/* The vouch and revoke vectors of tests/vectors/records.txt, and their ids. */
static const char vouch_hex[] =
    "010456b5cb7bc686a7c865031b3257718ce33d0531d5a7263aa43480de7fd9a8b5dc00000000000000030000"
    "00006ab13b806e0c089d0d6b19954b93b4884f55d3cde83736eabea95b07351683ffd84bb87c0399e453248f"
    "a551391dd0f394d59a75ca47d494e67d0043035cb993b7d5c9f9cd28df52add27a424091b3f52ae9f5ffd4c8"
    "85440b3e2cb24fc8428f7ab471b38a";
static const char vouch_id_hex[] =
    "c94605c1f6723db09f31674f7a1f89a70b96bae6de6c7167b786df704d8289d8";
static const char revoke_hex[] =
    "010556b5cb7bc686a7c865031b3257718ce33d0531d5a7263aa43480de7fd9a8b5dc00000000000000040000"
    "00006ab13b8044444444444444444444444444444444444444444444444444444444444444440258f43c34bf"
    "c4e3c13b5a1f8e770d8a859919fb917f16aab6e8d47d1ffa3296a8821b65da749d93dd0bdb1ab124a9515b64"
    "d9f8a66079d7d1b310340af7f83e90";
static const char revoke_id_hex[] =
    "1245b83b2ccfc6f544691537913573a930e8f5ab69d61901505348ad8f2c77a2";

static unsigned char rec_vouch[RP_RECORD_MAX_SIZE], rec_revoke[RP_RECORD_MAX_SIZE];
static size_t rec_vouch_len, rec_revoke_len;
static rp_hash id_vouch, id_revoke;

/* A one-block chain's first block (no records) and its commit by one
 * validator, as a BLOCKS message carries them. */
static unsigned char kat_block[RP_HEADER_SIZE];
static size_t kat_block_len;
static unsigned char kat_commit[RP_COMMIT_MAX_SIZE];
static size_t kat_commit_len;
static rp_hash kat_block_hash;

/* Backing bytes for the largest messages' views (their contents are not
 * the message codec's business). */
static unsigned char *big;
#define BIG_SIZE (RP_P2P_MAX_MESSAGE + 16)

static void key(size_t i, rp_seckey *sk, rp_pubkey *pk)
{
    ck_assert_int_eq(rp_seckey_from_seed(sk, seed, i), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, sk), 0);
}

static void from_hex(unsigned char *out, size_t cap, size_t *len, const char *hex)
{
    ck_assert_int_eq(rp_hex_decode_var(out, cap, len, hex, strlen(hex)), 0);
}

/* The same seed and chain id as tests/test_records.c. */
static int setup_globals(void)
{
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0xA0 + i);
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-kat", 10);

    unsigned char sk[32];
    for (size_t i = 0; i < 32; i++)
        sk[i] = (unsigned char)(0x60 + i);
    if (crypto_scalarmult_base(x25519_a, sk) != 0)
        return -1;
    for (size_t i = 0; i < 32; i++)
        sk[i] = (unsigned char)(0x80 + i);
    if (crypto_scalarmult_base(x25519_b, sk) != 0)
        return -1;

    size_t n;
    if (rp_hex_decode_var(rec_vouch, sizeof rec_vouch, &rec_vouch_len, vouch_hex,
                          strlen(vouch_hex)) != 0 ||
        rp_hex_decode_var(rec_revoke, sizeof rec_revoke, &rec_revoke_len, revoke_hex,
                          strlen(revoke_hex)) != 0 ||
        rp_hex_decode_var(id_vouch.bytes, 32, &n, vouch_id_hex, 64) != 0 ||
        rp_hex_decode_var(id_revoke.bytes, 32, &n, revoke_id_hex, 64) != 0)
        return -1;

    rp_header h;
    memset(&h, 0, sizeof h);
    h.version = RP_BLOCK_VERSION;
    h.chain_id = chain_id;
    h.height = 1;
    h.time_ms = 1790000000000u;
    rp_merkle_empty(&h.records_root);
    memset(h.validators_hash.bytes, 0x5A, 32);
    memset(h.state_hash.bytes, 0x5B, 32);
    rp_merkle_empty(&h.score_root);
    if (rp_block_encode(&h, NULL, 0, kat_block, sizeof kat_block, &kat_block_len) != 0)
        return -1;
    rp_header_hash(&kat_block_hash, &h);

    rp_commit c;
    memset(&c, 0, sizeof c);
    c.version = RP_COMMIT_VERSION;
    c.height = 1;
    c.block_hash = kat_block_hash;
    c.count = 1;
    rp_hash vote;
    rp_vote_message(&vote, &chain_id, 1, 0, RP_VOTE_PRECOMMIT, &kat_block_hash);
    rp_seckey vk;
    unsigned char aux[32];
    rp_aux_derive(aux, seed, 200);
    if (rp_seckey_from_seed(&vk, seed, 8) != 0 ||
        rp_sign(&c.sigs[0].sig, vote.bytes, 32, &vk, aux) != 0 ||
        rp_commit_encode(&c, kat_commit, sizeof kat_commit, &kat_commit_len) != 0)
        return -1;
    sodium_memzero(&vk, sizeof vk);

    big = calloc(1, BIG_SIZE);
    return big ? 0 : -1;
}

static rp_p2p_msg *new_msg(void)
{
    rp_p2p_msg *m = malloc(sizeof *m);
    ck_assert_ptr_nonnull(m);
    memset(m, 0xA5, sizeof *m); /* decoders must not rely on a zeroed struct */
    return m;
}

static unsigned char *new_buf(void)
{
    unsigned char *b = malloc(BIG_SIZE);
    ck_assert_ptr_nonnull(b);
    return b;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ---- the examples: one message of every type -------------------------- */

#define N_EXAMPLES 13
static const char *const example_names[N_EXAMPLES] = {
    "hello",   "status",  "ping",     "pong",      "getaddr", "addr",     "inv",
    "getdata", "records", "newblock", "getblocks", "blocks",  "noblocks",
};

static void build_hello(rp_p2p_msg *m, const char *user_agent)
{
    rp_seckey sk;
    rp_pubkey pk;
    unsigned char aux[32];
    rp_p2p_msg_init(m, RP_P2P_MSG_HELLO);
    key(0, &sk, &pk);
    rp_aux_derive(aux, seed, 100);
    ck_assert_int_eq(
        rp_p2p_hello_sign(&m->body.hello, &sk, &chain_id, x25519_a, RP_P2P_VERSION, aux), 0);
    sodium_memzero(&sk, sizeof sk);
    m->body.hello.port = RP_P2P_DEFAULT_PORT;
    m->body.hello.role = RP_P2P_ROLE_FULL;
    snprintf(m->body.hello.user_agent, sizeof m->body.hello.user_agent, "%s", user_agent);
}

static void build_example(size_t i, rp_p2p_msg *m)
{
    rp_seckey sk;
    rp_pubkey pk;
    switch (i) {
    case 0:
        build_hello(m, "repute/0.1.0");
        break;
    case 1:
        rp_p2p_msg_init(m, RP_P2P_MSG_STATUS);
        m->body.status.version = RP_P2P_VERSION;
        m->body.status.chain_id = chain_id;
        m->body.status.height = 1;
        m->body.status.head = kat_block_hash;
        m->body.status.role = RP_P2P_ROLE_VALIDATOR;
        m->body.status.low_height = 1;
        break;
    case 2:
        rp_p2p_msg_ping(m, 0x0102030405060708u);
        break;
    case 3:
        rp_p2p_msg_pong(m, 0x0102030405060708u);
        break;
    case 4:
        rp_p2p_msg_init(m, RP_P2P_MSG_GETADDR);
        break;
    case 5: {
        rp_p2p_msg_init(m, RP_P2P_MSG_ADDR);
        rp_p2p_addr *e = m->body.addr.entries;
        m->body.addr.count = 2;
        e[0].network = RP_P2P_NET_IPV4;
        memcpy(e[0].ip, (const unsigned char[]){192, 0, 2, 1}, 4); /* RFC 5737 */
        e[0].port = RP_P2P_DEFAULT_PORT;
        e[0].role = RP_P2P_ROLE_FULL;
        e[0].last_seen = 1790000000;
        key(1, &sk, &pk);
        e[0].node_id = pk;
        e[1].network = RP_P2P_NET_IPV6;
        memcpy(e[1].ip,
               (const unsigned char[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
               16); /* 2001:db8::1, RFC 3849 */
        e[1].port = RP_P2P_DEFAULT_PORT + 1;
        e[1].role = RP_P2P_ROLE_VALIDATOR;
        e[1].last_seen = 1790000100;
        key(2, &sk, &pk);
        e[1].node_id = pk;
        sodium_memzero(&sk, sizeof sk);
        break;
    }
    case 6:
    case 7:
        rp_p2p_msg_init(m, i == 6 ? RP_P2P_MSG_INV : RP_P2P_MSG_GETDATA);
        m->body.ids.count = 2;
        m->body.ids.ids[0] = id_vouch;
        m->body.ids.ids[1] = id_revoke;
        break;
    case 8:
        rp_p2p_msg_init(m, RP_P2P_MSG_RECORDS);
        m->body.records.count = 2;
        m->body.records.records[0] = (rp_p2p_view){rec_vouch, rec_vouch_len};
        m->body.records.records[1] = (rp_p2p_view){rec_revoke, rec_revoke_len};
        break;
    case 9:
        rp_p2p_msg_newblock(m, 1, &kat_block_hash);
        break;
    case 10:
        rp_p2p_msg_getblocks(m, 1, RP_P2P_MAX_BLOCKS);
        break;
    case 11:
        rp_p2p_msg_init(m, RP_P2P_MSG_BLOCKS);
        m->body.blocks.from = 1;
        m->body.blocks.count = 1;
        m->body.blocks.pairs[0].block = (rp_p2p_view){kat_block, kat_block_len};
        m->body.blocks.pairs[0].commit = (rp_p2p_view){kat_commit, kat_commit_len};
        break;
    case 12:
        rp_p2p_msg_noblocks(m, 2, RP_P2P_MAX_BLOCKS);
        break;
    default:
        ck_abort_msg("no example %zu", i);
    }
}

/* ---- the smallest and largest message of every type ------------------- */

#define N_TYPES 13
static const uint8_t all_types[N_TYPES] = {
    RP_P2P_MSG_HELLO,    RP_P2P_MSG_STATUS,   RP_P2P_MSG_PING,      RP_P2P_MSG_PONG,
    RP_P2P_MSG_GETADDR,  RP_P2P_MSG_ADDR,     RP_P2P_MSG_INV,       RP_P2P_MSG_GETDATA,
    RP_P2P_MSG_RECORDS,  RP_P2P_MSG_NEWBLOCK, RP_P2P_MSG_GETBLOCKS, RP_P2P_MSG_BLOCKS,
    RP_P2P_MSG_NOBLOCKS,
};

/* The two BLOCKS pairs that make a message of exactly RP_P2P_MAX_MESSAGE
 * bytes: the largest block and commit, then a second block filling the rest. */
#define MAX_B2                                                                                     \
    (RP_P2P_MAX_MESSAGE - RP_P2P_RANGE_SIZE - 2 * (4 + 2 + RP_COMMIT_MAX_SIZE) - RP_BLOCK_MAX_SIZE)

/* Build the smallest (max == 0) or largest (max == 1) message of a type.
 * Returns its encoded size, stated independently of the encoder. */
static size_t build_extreme(uint8_t type, int max, rp_p2p_msg *m)
{
    rp_p2p_msg_init(m, type);
    switch (type) {
    case RP_P2P_MSG_HELLO:
        build_hello(m, "");
        if (max) {
            for (size_t i = 0; i < RP_P2P_USER_AGENT_MAX; i++) /* 0x3F..0x7E */
                m->body.hello.user_agent[i] = (char)(0x7F - RP_P2P_USER_AGENT_MAX + i);
            m->body.hello.role = RP_P2P_ROLE_VALIDATOR;
            m->body.hello.port = UINT16_MAX;
        } else {
            m->body.hello.port = 0;
        }
        return max ? 166 : 102;
    case RP_P2P_MSG_STATUS:
        m->body.status.version = max ? UINT32_MAX : 1;
        m->body.status.role = max ? RP_P2P_ROLE_VALIDATOR : RP_P2P_ROLE_FULL;
        if (max) {
            memset(m->body.status.chain_id.bytes, 0xFF, 32);
            m->body.status.height = UINT64_MAX;
            memset(m->body.status.head.bytes, 0xFF, 32);
            m->body.status.low_height = UINT64_MAX;
        }
        return 86;
    case RP_P2P_MSG_PING:
    case RP_P2P_MSG_PONG:
        m->body.nonce = max ? UINT64_MAX : 0;
        return 9;
    case RP_P2P_MSG_GETADDR:
        return 1;
    case RP_P2P_MSG_ADDR:
        if (!max)
            return 3;
        m->body.addr.count = RP_P2P_MAX_ADDR;
        for (size_t i = 0; i < RP_P2P_MAX_ADDR; i++) {
            rp_p2p_addr *e = &m->body.addr.entries[i];
            e->network = RP_P2P_NET_IPV6;
            memset(e->ip, 0xFF, 16);
            e->ip[14] = (unsigned char)(i >> 8);
            e->ip[15] = (unsigned char)i;
            e->port = UINT16_MAX;
            e->role = RP_P2P_ROLE_VALIDATOR;
            e->last_seen = UINT64_MAX;
            memset(e->node_id.bytes, 0xFF, 32);
        }
        return 60003;
    case RP_P2P_MSG_INV:
    case RP_P2P_MSG_GETDATA:
        m->body.ids.count = max ? RP_P2P_MAX_INV : 1;
        for (size_t i = 0; i < m->body.ids.count; i++) {
            memset(m->body.ids.ids[i].bytes, 0xEE, 32);
            m->body.ids.ids[i].bytes[0] = (unsigned char)(i >> 8);
            m->body.ids.ids[i].bytes[1] = (unsigned char)i;
        }
        return max ? 32003 : 35;
    case RP_P2P_MSG_RECORDS:
        if (!max)
            return 3;
        m->body.records.count = RP_P2P_MAX_RECORDS;
        for (size_t i = 0; i < RP_P2P_MAX_RECORDS; i++)
            m->body.records.records[i] = (rp_p2p_view){big + i, RP_RECORD_MAX_SIZE};
        return 514003;
    case RP_P2P_MSG_NEWBLOCK:
        m->body.newblock.height = max ? UINT64_MAX : 1;
        if (max)
            memset(m->body.newblock.hash.bytes, 0xFF, 32);
        return 41;
    case RP_P2P_MSG_GETBLOCKS:
    case RP_P2P_MSG_NOBLOCKS:
        m->body.range.from = max ? UINT64_MAX - (RP_P2P_MAX_BLOCKS - 1) : 1;
        m->body.range.count = max ? RP_P2P_MAX_BLOCKS : 1;
        return 11;
    case RP_P2P_MSG_BLOCKS:
        m->body.blocks.from = max ? UINT64_MAX - 1 : 1;
        if (!max) {
            m->body.blocks.count = 1;
            m->body.blocks.pairs[0] = (rp_p2p_block_pair){{big, 1}, {big, 1}};
            return 19;
        }
        m->body.blocks.count = 2;
        m->body.blocks.pairs[0] =
            (rp_p2p_block_pair){{big, RP_BLOCK_MAX_SIZE}, {big, RP_COMMIT_MAX_SIZE}};
        m->body.blocks.pairs[1] = (rp_p2p_block_pair){{big, MAX_B2}, {big, RP_COMMIT_MAX_SIZE}};
        return RP_P2P_MAX_MESSAGE;
    default:
        ck_abort_msg("no type %u", type);
        return 0;
    }
}

/* BLOCKS at its largest count: 128 pairs of one-byte views. */
static size_t build_blocks_max_count(rp_p2p_msg *m)
{
    rp_p2p_msg_init(m, RP_P2P_MSG_BLOCKS);
    m->body.blocks.from = 1;
    m->body.blocks.count = RP_P2P_MAX_BLOCKS;
    for (size_t i = 0; i < RP_P2P_MAX_BLOCKS; i++)
        m->body.blocks.pairs[i] = (rp_p2p_block_pair){{big + i, 1}, {big + i, 1}};
    return 11 + RP_P2P_MAX_BLOCKS * 8;
}

/* ---- helpers ---------------------------------------------------------- */

static void views_eq(const rp_p2p_view *a, const rp_p2p_view *b)
{
    ck_assert_uint_eq(a->len, b->len);
    ck_assert_mem_eq(a->bytes, b->bytes, a->len);
}

/* Do two messages hold the same value? (Views are compared by content: a
 * decoded message's views point into the encoding, not at the originals.) */
static void assert_msg_eq(const rp_p2p_msg *a, const rp_p2p_msg *b)
{
    ck_assert_uint_eq(a->type, b->type);
    switch (a->type) {
    case RP_P2P_MSG_RECORDS:
        ck_assert_uint_eq(a->body.records.count, b->body.records.count);
        for (size_t i = 0; i < a->body.records.count; i++)
            views_eq(&a->body.records.records[i], &b->body.records.records[i]);
        break;
    case RP_P2P_MSG_BLOCKS:
        ck_assert_uint_eq(a->body.blocks.from, b->body.blocks.from);
        ck_assert_uint_eq(a->body.blocks.count, b->body.blocks.count);
        for (size_t i = 0; i < a->body.blocks.count; i++) {
            views_eq(&a->body.blocks.pairs[i].block, &b->body.blocks.pairs[i].block);
            views_eq(&a->body.blocks.pairs[i].commit, &b->body.blocks.pairs[i].commit);
        }
        break;
    default:
        /* Everything else is held by value; both structs started zeroed. */
        ck_assert_int_eq(memcmp(&a->body, &b->body, sizeof a->body), 0);
    }
}

/* Encode m (checking the measure-only mode agrees), decode it back and
 * re-encode: the value and the bytes must survive. Returns the length. */
static size_t round_trip(const rp_p2p_msg *m, unsigned char *buf)
{
    size_t need = 1, len = 0, len2 = 0;
    const char *field = "unset";
    ck_assert_int_eq(rp_p2p_msg_check(m, &field), 0);
    ck_assert_ptr_null(field);
    ck_assert_int_eq(rp_p2p_msg_encode(m, NULL, 0, &need), 0);
    ck_assert_int_eq(rp_p2p_msg_encode(m, buf, BIG_SIZE, &len), 0);
    ck_assert_uint_eq(len, need);
    ck_assert_uint_le(len, rp_p2p_msg_max_size(m->type));
    ck_assert_uint_eq(buf[0], m->type);

    rp_p2p_msg *back = new_msg();
    field = "unset";
    ck_assert_int_eq(rp_p2p_msg_decode(back, buf, len, &field), 0);
    ck_assert_ptr_null(field);
    assert_msg_eq(m, back);
    unsigned char *again = new_buf();
    ck_assert_int_eq(rp_p2p_msg_encode(back, again, BIG_SIZE, &len2), 0);
    ck_assert_uint_eq(len2, len);
    ck_assert_mem_eq(again, buf, len);
    free(again);
    free(back);
    return len;
}

/* Decoding in[0..n) must fail with err at field and leave m zeroed. */
static void expect_decode(const unsigned char *in, size_t n, int err, const char *field)
{
    rp_p2p_msg *m = new_msg();
    const char *got = NULL;
    ck_assert_int_eq(rp_p2p_msg_decode(m, in, n, &got), err);
    if (field) {
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got, field);
    }
    ck_assert_msg(all_zero(m, sizeof *m), "a failed decode left data behind");
    free(m);
}

/* The struct must be refused with err at field by the check and by the
 * encoder (in both modes), which must write nothing. */
static void expect_refused(const rp_p2p_msg *m, int err, const char *field)
{
    const char *got = NULL;
    ck_assert_int_eq(rp_p2p_msg_check(m, &got), err);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, field);
    size_t len = 1;
    ck_assert_int_eq(rp_p2p_msg_encode(m, NULL, 0, &len), err);
    ck_assert_uint_eq(len, 0);
    unsigned char out[64];
    memset(out, 0xCC, sizeof out);
    len = 1;
    ck_assert_int_eq(rp_p2p_msg_encode(m, out, sizeof out, &len), err);
    ck_assert_uint_eq(len, 0);
}

static size_t encode_ok(const rp_p2p_msg *m, unsigned char *buf, size_t cap)
{
    size_t len = 0;
    ck_assert_int_eq(rp_p2p_msg_encode(m, buf, cap, &len), 0);
    return len;
}

/* ---- round trips ------------------------------------------------------ */

START_TEST(test_examples_round_trip)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    build_example((size_t)_i, m);
    size_t n = round_trip(m, buf);
    ck_assert_str_eq(rp_p2p_msg_type_name(m->type), example_names[_i]);
    ck_assert_int_eq(rp_p2p_msg_type_class(m->type), RP_P2P_TYPE_KNOWN);
    ck_assert_uint_gt(n, 0);
    free(buf);
    free(m);
}
END_TEST

START_TEST(test_min_and_max_round_trip)
{
    uint8_t type = all_types[_i / 2];
    int max = _i % 2;
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    size_t want = build_extreme(type, max, m);
    ck_assert_uint_eq(round_trip(m, buf), want);
    if (max)
        ck_assert_uint_eq(want, rp_p2p_msg_max_size(type));
    free(buf);
    free(m);
}
END_TEST

START_TEST(test_blocks_max_count_round_trip)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    size_t want = build_blocks_max_count(m);
    ck_assert_uint_eq(round_trip(m, buf), want);
    free(buf);
    free(m);
}
END_TEST

/* The decoder returns views into its input, copies nothing and allocates
 * nothing: a record's view is the very bytes of the message. */
START_TEST(test_views_point_into_input)
{
    rp_p2p_msg *m = new_msg(), *back = new_msg();
    unsigned char *buf = new_buf();
    build_example(8, m); /* records */
    size_t n = encode_ok(m, buf, BIG_SIZE);
    ck_assert_int_eq(rp_p2p_msg_decode(back, buf, n, NULL), 0);
    const rp_p2p_view *v = &back->body.records.records[0];
    ck_assert_ptr_eq(v->bytes, buf + 5);
    ck_assert_ptr_eq(back->body.records.records[1].bytes, buf + 5 + rec_vouch_len + 2);
    /* And the record inside decodes with its own decoder, to its own id. */
    rp_record r;
    rp_hash id;
    ck_assert_int_eq(rp_record_decode(&r, v->bytes, v->len, NULL), 0);
    ck_assert_int_eq(rp_record_id(&id, &chain_id, &r), 0);
    ck_assert(rp_hash_eq(&id, &id_vouch));

    build_example(11, m); /* blocks */
    n = encode_ok(m, buf, BIG_SIZE);
    ck_assert_int_eq(rp_p2p_msg_decode(back, buf, n, NULL), 0);
    const rp_p2p_block_pair *p = &back->body.blocks.pairs[0];
    ck_assert_ptr_eq(p->block.bytes, buf + 15);
    rp_header h;
    rp_block_item item;
    ck_assert_int_eq(rp_block_decode(&h, &item, 1, p->block.bytes, p->block.len), 0);
    ck_assert_uint_eq(h.height, back->body.blocks.from);
    rp_commit *c = malloc(sizeof *c);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(rp_commit_decode(c, p->commit.bytes, p->commit.len), 0);
    ck_assert(rp_hash_eq(&c->block_hash, &kat_block_hash));
    free(c);
    free(buf);
    free(back);
    free(m);
}
END_TEST

START_TEST(test_measure_and_buffer)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        build_example(i, m);
        size_t need = 0, len = 7;
        ck_assert_int_eq(rp_p2p_msg_encode(m, NULL, 0, &need), 0);
        ck_assert_int_eq(rp_p2p_msg_encode(m, NULL, 12345, &len), 0); /* cap ignored */
        ck_assert_uint_eq(len, need);
        len = 7;
        ck_assert_int_eq(rp_p2p_msg_encode(m, buf, need - 1, &len), RP_ERR_BUFFER);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(rp_p2p_msg_encode(m, buf, need, &len), 0);
        ck_assert_uint_eq(len, need);
    }
    free(buf);
    free(m);
}
END_TEST

/* ---- every bound, exceeded by one ------------------------------------- */

/* Wire bytes for hand-built refusals. */
static size_t bytes_of(unsigned char *out, size_t cap, const unsigned char *p, size_t n)
{
    ck_assert_uint_le(n, cap);
    memcpy(out, p, n);
    return n;
}
#define BYTES(out, ...)                                                                            \
    bytes_of((out), sizeof(out), (const unsigned char[]){__VA_ARGS__},                             \
             sizeof((const unsigned char[]){__VA_ARGS__}))

START_TEST(test_counts_over_limit)
{
    rp_p2p_msg *m = new_msg();
    unsigned char in[64];
    size_t n;

    /* ADDR: 1,001 entries. The decoder refuses the count alone, before
     * reading a single entry (RP_ERR_TOO_LONG, not RP_ERR_TRUNCATED). */
    build_extreme(RP_P2P_MSG_ADDR, 1, m);
    m->body.addr.count = RP_P2P_MAX_ADDR + 1;
    expect_refused(m, RP_ERR_TOO_LONG, "count");
    n = BYTES(in, RP_P2P_MSG_ADDR, 0x03, 0xE9);
    expect_decode(in, n, RP_ERR_TOO_LONG, "count");
    n = BYTES(in, RP_P2P_MSG_ADDR, 0x03, 0xE8); /* 1,000: read on, and run out */
    expect_decode(in, n, RP_ERR_TRUNCATED, "network");

    /* INV and GETDATA: 1,001 ids, and none. */
    const uint8_t id_types[2] = {RP_P2P_MSG_INV, RP_P2P_MSG_GETDATA};
    for (size_t k = 0; k < 2; k++) {
        build_extreme(id_types[k], 1, m);
        m->body.ids.count = RP_P2P_MAX_INV + 1;
        expect_refused(m, RP_ERR_TOO_LONG, "count");
        m->body.ids.count = 0;
        expect_refused(m, RP_ERR_RANGE, "count");
        n = BYTES(in, id_types[k], 0x03, 0xE9);
        expect_decode(in, n, RP_ERR_TOO_LONG, "count");
        n = BYTES(in, id_types[k], 0x00, 0x00);
        expect_decode(in, n, RP_ERR_RANGE, "count");
        n = BYTES(in, id_types[k], 0x03, 0xE8);
        expect_decode(in, n, RP_ERR_TRUNCATED, "id");
    }

    /* RECORDS: 1,001 records. */
    build_extreme(RP_P2P_MSG_RECORDS, 1, m);
    m->body.records.count = RP_P2P_MAX_RECORDS + 1;
    expect_refused(m, RP_ERR_TOO_LONG, "count");
    n = BYTES(in, RP_P2P_MSG_RECORDS, 0x03, 0xE9);
    expect_decode(in, n, RP_ERR_TOO_LONG, "count");

    /* GETBLOCKS, NOBLOCKS, BLOCKS: 129 heights, and none. */
    const uint8_t range_types[3] = {RP_P2P_MSG_GETBLOCKS, RP_P2P_MSG_NOBLOCKS, RP_P2P_MSG_BLOCKS};
    for (size_t k = 0; k < 3; k++) {
        if (range_types[k] == RP_P2P_MSG_BLOCKS) {
            build_blocks_max_count(m);
            m->body.blocks.count = RP_P2P_MAX_BLOCKS + 1;
            expect_refused(m, RP_ERR_TOO_LONG, "count");
            m->body.blocks.count = 0;
            expect_refused(m, RP_ERR_RANGE, "count");
        } else {
            build_extreme(range_types[k], 1, m);
            m->body.range.from = 1;
            m->body.range.count = RP_P2P_MAX_BLOCKS + 1;
            expect_refused(m, RP_ERR_TOO_LONG, "count");
            m->body.range.count = 0;
            expect_refused(m, RP_ERR_RANGE, "count");
        }
        n = BYTES(in, range_types[k], 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x81);
        expect_decode(in, n, RP_ERR_TOO_LONG, "count");
        n = BYTES(in, range_types[k], 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x00);
        expect_decode(in, n, RP_ERR_RANGE, "count");
    }
    /* 128 heights asked from BLOCKS, none of them there. */
    n = BYTES(in, RP_P2P_MSG_BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x80);
    expect_decode(in, n, RP_ERR_TRUNCATED, "block_length");
    free(m);
}
END_TEST

START_TEST(test_lengths_over_limit)
{
    rp_p2p_msg *m = new_msg();
    unsigned char in[256];
    size_t n;

    /* The user agent: 65 bytes. */
    build_extreme(RP_P2P_MSG_HELLO, 1, m);
    memset(m->body.hello.user_agent, 'a', sizeof m->body.hello.user_agent); /* no NUL */
    expect_refused(m, RP_ERR_TOO_LONG, "user_agent");
    build_extreme(RP_P2P_MSG_HELLO, 0, m);
    n = encode_ok(m, in, sizeof in);
    ck_assert_uint_eq(n, RP_P2P_HELLO_MIN_SIZE);
    in[n - 2] = 0;
    in[n - 1] = RP_P2P_USER_AGENT_MAX + 1; /* the length, and no bytes after */
    expect_decode(in, n, RP_ERR_TOO_LONG, "user_agent");
    in[n - 1] = RP_P2P_USER_AGENT_MAX;
    expect_decode(in, n, RP_ERR_TRUNCATED, "user_agent");

    /* A record: 513 bytes, and 0. */
    build_extreme(RP_P2P_MSG_RECORDS, 1, m);
    m->body.records.records[999].len = RP_RECORD_MAX_SIZE + 1;
    expect_refused(m, RP_ERR_TOO_LONG, "record_length");
    m->body.records.records[999].len = 0;
    expect_refused(m, RP_ERR_RANGE, "record_length");
    m->body.records.records[999] = (rp_p2p_view){NULL, 1};
    expect_refused(m, RP_ERR_INVALID_ARG, "record");
    n = BYTES(in, RP_P2P_MSG_RECORDS, 0x00, 0x01, 0x02, 0x01);
    expect_decode(in, n, RP_ERR_TOO_LONG, "record_length");
    n = BYTES(in, RP_P2P_MSG_RECORDS, 0x00, 0x01, 0x00, 0x00);
    expect_decode(in, n, RP_ERR_RANGE, "record_length");
    n = BYTES(in, RP_P2P_MSG_RECORDS, 0x00, 0x01, 0x02, 0x00);
    expect_decode(in, n, RP_ERR_TRUNCATED, "record");

    /* A block: RP_BLOCK_MAX_SIZE + 1 bytes, and 0; a commit likewise. */
    build_extreme(RP_P2P_MSG_BLOCKS, 0, m);
    m->body.blocks.pairs[0].block.len = RP_BLOCK_MAX_SIZE + 1;
    expect_refused(m, RP_ERR_TOO_LONG, "block_length");
    m->body.blocks.pairs[0].block.len = 0;
    expect_refused(m, RP_ERR_RANGE, "block_length");
    m->body.blocks.pairs[0].block = (rp_p2p_view){NULL, 1};
    expect_refused(m, RP_ERR_INVALID_ARG, "block");
    build_extreme(RP_P2P_MSG_BLOCKS, 0, m);
    m->body.blocks.pairs[0].commit.len = RP_COMMIT_MAX_SIZE + 1;
    expect_refused(m, RP_ERR_TOO_LONG, "commit_length");
    m->body.blocks.pairs[0].commit.len = 0;
    expect_refused(m, RP_ERR_RANGE, "commit_length");
    m->body.blocks.pairs[0].commit = (rp_p2p_view){NULL, 1};
    expect_refused(m, RP_ERR_INVALID_ARG, "commit");

    const uint32_t bl = RP_BLOCK_MAX_SIZE + 1;
    n = BYTES(in, RP_P2P_MSG_BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, (unsigned char)(bl >> 24),
              (unsigned char)(bl >> 16), (unsigned char)(bl >> 8), (unsigned char)bl);
    expect_decode(in, n, RP_ERR_TOO_LONG, "block_length");
    n = BYTES(in, RP_P2P_MSG_BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0);
    expect_decode(in, n, RP_ERR_RANGE, "block_length");
    const unsigned cl = RP_COMMIT_MAX_SIZE + 1;
    n = BYTES(in, RP_P2P_MSG_BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0xBB,
              (unsigned char)(cl >> 8), (unsigned char)cl);
    expect_decode(in, n, RP_ERR_TOO_LONG, "commit_length");
    n = BYTES(in, RP_P2P_MSG_BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0xBB, 0, 0);
    expect_decode(in, n, RP_ERR_RANGE, "commit_length");
    free(m);
}
END_TEST

/* One byte over RP_P2P_MAX_MESSAGE: the encoder refuses the struct, the
 * decoder the input before it reads its first byte. */
START_TEST(test_total_size_over_limit)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    build_extreme(RP_P2P_MSG_BLOCKS, 1, m);
    size_t n = encode_ok(m, buf, BIG_SIZE);
    ck_assert_uint_eq(n, RP_P2P_MAX_MESSAGE);

    m->body.blocks.pairs[1].block.len++;
    expect_refused(m, RP_ERR_TOO_LONG, "length");

    /* The same message as bytes: block 2 one byte longer. */
    rp_writer w;
    rp_writer_init(&w, buf, BIG_SIZE);
    rp_put_u8(&w, RP_P2P_MSG_BLOCKS);
    rp_put_u64(&w, m->body.blocks.from);
    rp_put_u16(&w, 2);
    for (size_t i = 0; i < 2; i++) {
        rp_put_u32(&w, (uint32_t)m->body.blocks.pairs[i].block.len);
        rp_put_bytes(&w, big, m->body.blocks.pairs[i].block.len);
        rp_put_u16(&w, (uint16_t)m->body.blocks.pairs[i].commit.len);
        rp_put_bytes(&w, big, m->body.blocks.pairs[i].commit.len);
    }
    ck_assert_int_eq(rp_writer_finish(&w, &n), 0);
    ck_assert_uint_eq(n, RP_P2P_MAX_MESSAGE + 1);
    expect_decode(buf, n, RP_ERR_TOO_LONG, "length");

    /* Whatever the type: a PING with 5 MiB of junk is refused by size. */
    memset(buf, 0, n);
    buf[0] = RP_P2P_MSG_PING;
    expect_decode(buf, n, RP_ERR_TOO_LONG, "length");
    expect_decode(buf, RP_P2P_MAX_MESSAGE, RP_ERR_TRAILING, "end");
    free(buf);
    free(m);
}
END_TEST

/* ---- truncation, trailing bytes, unknown types ------------------------ */

static void truncate_at(const unsigned char *buf, size_t k)
{
    expect_decode(k ? buf : NULL, k, RP_ERR_TRUNCATED, NULL);
}

START_TEST(test_truncated_at_every_byte)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    /* The examples and the smallest of each type: every prefix. */
    for (size_t i = 0; i < N_EXAMPLES + N_TYPES; i++) {
        if (i < N_EXAMPLES)
            build_example(i, m);
        else
            build_extreme(all_types[i - N_EXAMPLES], 0, m);
        size_t n = encode_ok(m, buf, BIG_SIZE);
        for (size_t k = 0; k < n; k++)
            truncate_at(buf, k);
    }
    expect_decode(NULL, 0, RP_ERR_TRUNCATED, "type");
    free(buf);
    free(m);
}
END_TEST

/* The largest of each type: the first and last few hundred prefixes and a
 * spread in between (every prefix of 5 MiB would take minutes). */
START_TEST(test_truncated_large)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    build_extreme(all_types[_i], 1, m);
    size_t n = encode_ok(m, buf, BIG_SIZE);
    size_t step = n / 97 + 1;
    for (size_t k = 0; k < n; k++) {
        if (k < 300 || n - k <= 300 || k % step == 0)
            truncate_at(buf, k);
    }
    free(buf);
    free(m);
}
END_TEST

START_TEST(test_trailing_bytes)
{
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    for (size_t i = 0; i < N_EXAMPLES + 2 * N_TYPES; i++) {
        if (i < N_EXAMPLES)
            build_example(i, m);
        else
            build_extreme(all_types[(i - N_EXAMPLES) / 2], (int)((i - N_EXAMPLES) % 2), m);
        size_t n = encode_ok(m, buf, BIG_SIZE);
        buf[n] = 0;
        if (n == RP_P2P_MAX_MESSAGE) /* the largest BLOCKS: now too long */
            expect_decode(buf, n + 1, RP_ERR_TOO_LONG, "length");
        else
            expect_decode(buf, n + 1, RP_ERR_TRAILING, "end");
    }
    free(buf);
    free(m);
}
END_TEST

START_TEST(test_unknown_types)
{
    rp_p2p_msg *m = new_msg();
    unsigned char in[64];
    size_t known = 0, reserved = 0;
    for (unsigned t = 0; t < 256; t++) {
        int cls = rp_p2p_msg_type_class(t);
        if (cls == RP_P2P_TYPE_KNOWN) {
            known++;
            ck_assert_uint_gt(rp_p2p_msg_max_size(t), 0);
            ck_assert_str_ne(rp_p2p_msg_type_name(t), "unknown");
            continue;
        }
        ck_assert_uint_eq(rp_p2p_msg_max_size(t), 0);
        if (t >= RP_P2P_MSG_RESERVED_FIRST && t <= RP_P2P_MSG_RESERVED_LAST) {
            ck_assert_int_eq(cls, RP_P2P_TYPE_RESERVED);
            ck_assert_str_eq(rp_p2p_msg_type_name(t), "reserved");
            reserved++;
        } else {
            ck_assert_int_eq(cls, RP_P2P_TYPE_INVALID);
            ck_assert_str_eq(rp_p2p_msg_type_name(t), "unknown");
        }
        /* Refused alike, whatever follows: the decoder cannot read a body
         * it does not know, and the encoder never writes one. */
        memset(in, 0, sizeof in);
        in[0] = (unsigned char)t;
        expect_decode(in, 1, RP_ERR_BAD_TYPE, "type");
        expect_decode(in, sizeof in, RP_ERR_BAD_TYPE, "type");
        rp_p2p_msg_init(m, t);
        expect_refused(m, RP_ERR_BAD_TYPE, "type");
    }
    ck_assert_uint_eq(known, N_TYPES);
    ck_assert_uint_eq(reserved, 16);
    for (size_t i = 0; i < N_TYPES; i++)
        ck_assert_int_eq(rp_p2p_msg_type_class(all_types[i]), RP_P2P_TYPE_KNOWN);
    free(m);
}
END_TEST

/* ---- values out of range or not canonical ----------------------------- */

/* Patch one byte of a valid encoding and expect the decoder to refuse it. */
static void patched(const rp_p2p_msg *valid, size_t off, unsigned char v, int err,
                    const char *field)
{
    unsigned char buf[512];
    size_t n = encode_ok(valid, buf, sizeof buf);
    ck_assert_uint_lt(off, n);
    buf[off] = v;
    expect_decode(buf, n, err, field);
}

START_TEST(test_hello_refusals)
{
    rp_p2p_msg *m = new_msg(), *v = new_msg();
    build_example(0, v); /* user agent "repute/0.1.0" */
    const size_t role = 99, ua = 102;

    for (unsigned bad = 0; bad < 256; bad += 3) {
        if (bad == RP_P2P_ROLE_FULL || bad == RP_P2P_ROLE_VALIDATOR)
            continue;
        *m = *v;
        m->body.hello.role = (uint8_t)bad;
        expect_refused(m, RP_ERR_RANGE, "role");
        patched(v, role, (unsigned char)bad, RP_ERR_RANGE, "role");
    }
    const unsigned char bad_chars[] = {0x00, 0x01, 0x0A, 0x1F, 0x7F, 0x80, 0xC3, 0xFF};
    for (size_t i = 0; i < sizeof bad_chars; i++) {
        /* NUL can only be sent, not held: the struct's string ends there. */
        if (bad_chars[i]) {
            *m = *v;
            m->body.hello.user_agent[3] = (char)bad_chars[i];
            expect_refused(m, RP_ERR_BAD_UTF8, "user_agent");
        }
        patched(v, ua + 3, bad_chars[i], RP_ERR_BAD_UTF8, "user_agent");
    }
    /* Printable ASCII, both ends, is fine; so are port 0 and any key bytes
     * (the binding check, not the codec, judges the key). */
    *m = *v;
    m->body.hello.user_agent[0] = ' ';
    m->body.hello.user_agent[1] = '~';
    m->body.hello.port = 0;
    memset(m->body.hello.node_key.bytes, 0xFF, 32);
    unsigned char *buf = new_buf();
    round_trip(m, buf);
    free(buf);
    free(v);
    free(m);
}
END_TEST

START_TEST(test_status_refusals)
{
    rp_p2p_msg *m = new_msg(), *v = new_msg();
    build_example(1, v); /* height 1, low_height 1 */
    const size_t version = 1, height = 37, role = 77, low = 78;

    *m = *v;
    m->body.status.version = 0;
    expect_refused(m, RP_ERR_RANGE, "version");
    unsigned char buf[RP_P2P_STATUS_SIZE];
    size_t n = encode_ok(v, buf, sizeof buf);
    memset(buf + version, 0, 4);
    expect_decode(buf, n, RP_ERR_RANGE, "version");

    *m = *v;
    m->body.status.role = 3;
    expect_refused(m, RP_ERR_RANGE, "role");
    patched(v, role, 0, RP_ERR_RANGE, "role");
    patched(v, role, 3, RP_ERR_RANGE, "role");

    /* Lowest served height above the head. */
    *m = *v;
    m->body.status.low_height = 2;
    expect_refused(m, RP_ERR_RANGE, "low_height");
    patched(v, low + 7, 2, RP_ERR_RANGE, "low_height");

    /* Height 0: no block, so no head hash and nothing to serve. */
    *m = *v;
    m->body.status.height = 0;
    expect_refused(m, RP_ERR_NONCANONICAL, "head");
    memset(m->body.status.head.bytes, 0, 32);
    expect_refused(m, RP_ERR_RANGE, "low_height");
    m->body.status.low_height = 0;
    unsigned char *big_buf = new_buf();
    round_trip(m, big_buf);
    free(big_buf);
    patched(v, height + 7, 0, RP_ERR_NONCANONICAL, "head");

    /* low_height 0 at any height: serves no blocks. */
    *m = *v;
    m->body.status.low_height = 0;
    ck_assert_int_eq(rp_p2p_msg_check(m, NULL), 0);
    free(v);
    free(m);
}
END_TEST

START_TEST(test_addr_refusals)
{
    rp_p2p_msg *m = new_msg(), *v = new_msg();
    build_example(5, v); /* entry 0 IPv4 at offset 3 (48 bytes), entry 1 IPv6 at 51 */
    const size_t e0 = 3, e1 = 3 + RP_P2P_ADDR_V4_SIZE;

    for (unsigned bad = 0; bad < 256; bad += 5) {
        if (bad == RP_P2P_NET_IPV4 || bad == RP_P2P_NET_IPV6)
            continue;
        *m = *v;
        m->body.addr.entries[1].network = (uint8_t)bad;
        expect_refused(m, RP_ERR_RANGE, "network");
        patched(v, e1, (unsigned char)bad, RP_ERR_RANGE, "network");
    }
    /* An IPv4 entry with bytes past its fourth: the encoding cannot carry
     * them, so the struct is refused rather than silently cut. */
    *m = *v;
    m->body.addr.entries[0].ip[4] = 1;
    expect_refused(m, RP_ERR_NONCANONICAL, "address");

    /* An IPv4-mapped IPv6 address: IPv4 has its own network id. */
    *m = *v;
    unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1};
    memcpy(m->body.addr.entries[1].ip, mapped, 16);
    expect_refused(m, RP_ERR_NONCANONICAL, "address");
    unsigned char buf[256];
    size_t n = encode_ok(v, buf, sizeof buf);
    memcpy(buf + e1 + 1, mapped, 16);
    expect_decode(buf, n, RP_ERR_NONCANONICAL, "address");
    /* ::fffe:... and ::ffff:0:0 with a non-zero prefix are plain IPv6. */
    mapped[11] = 0xFE;
    memcpy(m->body.addr.entries[1].ip, mapped, 16);
    ck_assert_int_eq(rp_p2p_msg_check(m, NULL), 0);
    mapped[11] = 0xFF;
    mapped[0] = 0x20;
    memcpy(m->body.addr.entries[1].ip, mapped, 16);
    ck_assert_int_eq(rp_p2p_msg_check(m, NULL), 0);

    /* Port 0: an address nobody can connect to. */
    *m = *v;
    m->body.addr.entries[0].port = 0;
    expect_refused(m, RP_ERR_RANGE, "port");
    n = encode_ok(v, buf, sizeof buf);
    buf[e0 + 5] = 0;
    buf[e0 + 6] = 0;
    expect_decode(buf, n, RP_ERR_RANGE, "port");

    /* Roles. */
    *m = *v;
    m->body.addr.entries[1].role = 0;
    expect_refused(m, RP_ERR_RANGE, "role");
    patched(v, e0 + 7, 0, RP_ERR_RANGE, "role");
    patched(v, e1 + 19, 3, RP_ERR_RANGE, "role");
    free(v);
    free(m);
}
END_TEST

START_TEST(test_block_refusals)
{
    rp_p2p_msg *m = new_msg();
    unsigned char in[64];
    size_t n;
    const uint8_t types[3] = {RP_P2P_MSG_GETBLOCKS, RP_P2P_MSG_NOBLOCKS, RP_P2P_MSG_BLOCKS};
    for (size_t k = 0; k < 3; k++) {
        /* From height 0: there is no block 0. */
        build_extreme(types[k], 0, m);
        m->body.range.from = 0;
        m->body.blocks.from = 0;
        expect_refused(m, RP_ERR_RANGE, "from");
        n = BYTES(in, types[k], 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xBB, 0, 1, 0xCC);
        if (types[k] != RP_P2P_MSG_BLOCKS)
            n = RP_P2P_RANGE_SIZE;
        expect_decode(in, n, RP_ERR_RANGE, "from");

        /* A range running past 2^64 - 1, by one. */
        build_extreme(types[k], 0, m);
        m->body.range.from = UINT64_MAX;
        m->body.blocks.from = UINT64_MAX;
        ck_assert_int_eq(rp_p2p_msg_check(m, NULL), 0); /* count 1: the last height */
        if (types[k] == RP_P2P_MSG_BLOCKS) {
            m->body.blocks.count = 2;
            m->body.blocks.pairs[1] = m->body.blocks.pairs[0];
        } else {
            m->body.range.count = 2;
        }
        expect_refused(m, RP_ERR_RANGE, "from");
        n = BYTES(in, types[k], 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 2, 0, 0, 0, 1,
                  0xBB, 0, 1, 0xCC, 0, 0, 0, 1, 0xBB, 0, 1, 0xCC);
        if (types[k] != RP_P2P_MSG_BLOCKS)
            n = RP_P2P_RANGE_SIZE;
        expect_decode(in, n, RP_ERR_RANGE, "from");
    }

    /* NEWBLOCK at height 0. */
    rp_hash h;
    memset(h.bytes, 1, 32);
    rp_p2p_msg_newblock(m, 0, &h);
    expect_refused(m, RP_ERR_RANGE, "height");
    rp_p2p_msg_newblock(m, 1, &h);
    unsigned char buf[64];
    n = encode_ok(m, buf, sizeof buf);
    buf[8] = 0;
    expect_decode(buf, n, RP_ERR_RANGE, "height");
    free(m);
}
END_TEST

/* Random mutations of valid messages: decoding never crashes, refuses with
 * a zeroed struct, and whatever it accepts re-encodes to the same bytes. */
START_TEST(test_mutations_are_canonical)
{
    unsigned long s = 12345;
    const char *env = getenv("RP_TEST_SEED");
    if (env)
        s = strtoul(env, NULL, 10);
    fprintf(stderr, "test_mutations_are_canonical: RP_TEST_SEED=%lu\n", s);
    srand((unsigned)s);
    rp_p2p_msg *m = new_msg(), *back = new_msg();
    unsigned char buf[1024], again[1024];
    memset(buf, 0, sizeof buf);
    size_t accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        build_example((size_t)iter % N_EXAMPLES, m);
        size_t n = encode_ok(m, buf, sizeof buf);
        int flips = 1 + rand() % 3;
        for (int k = 0; k < flips; k++)
            buf[(size_t)rand() % n] ^= (unsigned char)(1 + rand() % 255);
        if (rand() % 8 == 0)
            n = (size_t)rand() % (n + 8);
        if (rp_p2p_msg_decode(back, buf, n, NULL) == 0) {
            accepted++;
            size_t len = encode_ok(back, again, sizeof again);
            ck_assert_uint_eq(len, n);
            ck_assert_mem_eq(again, buf, n);
        } else {
            ck_assert(all_zero(back, sizeof *back));
        }
    }
    ck_assert_uint_gt(accepted, 0);
    free(back);
    free(m);
}
END_TEST

/* ---- the HELLO binding ------------------------------------------------ */

START_TEST(test_binding_message_layout)
{
    unsigned char in[68];
    memcpy(in, chain_id.bytes, 32);
    memcpy(in + 32, x25519_a, 32);
    in[64] = 0;
    in[65] = 0;
    in[66] = 0;
    in[67] = 1;
    rp_hash want, got;
    rp_tagged_hash(&want, "repute/p2p-binding/v1", in, sizeof in);
    rp_p2p_binding_message(&got, &chain_id, x25519_a, 1);
    ck_assert(rp_hash_eq(&want, &got));
    ck_assert_str_eq(RP_TAG_P2P_BINDING, "repute/p2p-binding/v1");
}
END_TEST

START_TEST(test_binding)
{
    rp_p2p_msg *m = new_msg(), *back = new_msg();
    build_example(0, m); /* signed for x25519_a, chain_id, RP_P2P_VERSION */
    const rp_p2p_hello *h = &m->body.hello;

    /* Valid, and still valid after a trip through the codec. */
    ck_assert_int_eq(rp_p2p_hello_verify(h, &chain_id, x25519_a, RP_P2P_VERSION), 1);
    unsigned char buf[RP_P2P_HELLO_MAX_SIZE];
    size_t n = encode_ok(m, buf, sizeof buf);
    ck_assert_int_eq(rp_p2p_msg_decode(back, buf, n, NULL), 0);
    ck_assert_int_eq(rp_p2p_hello_verify(&back->body.hello, &chain_id, x25519_a, RP_P2P_VERSION),
                     1);
    rp_seckey sk;
    rp_pubkey pk;
    key(0, &sk, &pk);
    ck_assert_mem_eq(h->node_key.bytes, pk.bytes, 32);

    /* Another X25519 static key: the handshake saw a different one than the
     * node key vouched for (a relayed or stolen HELLO). */
    ck_assert_int_eq(rp_p2p_hello_verify(h, &chain_id, x25519_b, RP_P2P_VERSION), 0);

    /* A signature made over another X25519 key, checked against ours. */
    rp_p2p_hello other = *h;
    unsigned char aux[32];
    rp_aux_derive(aux, seed, 101);
    ck_assert_int_eq(rp_p2p_hello_sign(&other, &sk, &chain_id, x25519_b, RP_P2P_VERSION, aux), 0);
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_b, RP_P2P_VERSION), 1);
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION), 0);

    /* The wrong node key: a valid key that did not sign, and bytes that are
     * no key at all. */
    other = *h;
    rp_seckey sk2;
    rp_pubkey pk2;
    key(1, &sk2, &pk2);
    other.node_key = pk2;
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION), 0);
    memset(other.node_key.bytes, 0xFF, 32);
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION), 0);

    /* Another chain. */
    rp_hash chain2 = chain_id;
    chain2.bytes[31] ^= 1;
    ck_assert_int_eq(rp_p2p_hello_verify(h, &chain2, x25519_a, RP_P2P_VERSION), 0);

    /* Another protocol version, both ways. */
    ck_assert_int_eq(rp_p2p_hello_verify(h, &chain_id, x25519_a, RP_P2P_VERSION + 1), 0);
    other = *h;
    ck_assert_int_eq(rp_p2p_hello_sign(&other, &sk, &chain_id, x25519_a, RP_P2P_VERSION + 1, aux),
                     0);
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION + 1), 1);
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION), 0);

    /* Any bit of the signature. */
    for (size_t i = 0; i < 64; i += 7) {
        other = *h;
        other.binding.bytes[i] ^= 0x10;
        ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION), 0);
    }

    /* The rest of the HELLO is not signed (the handshake authenticates it):
     * port, role and user agent leave the binding valid. */
    other = *h;
    other.port = 1;
    other.role = RP_P2P_ROLE_VALIDATOR;
    snprintf(other.user_agent, sizeof other.user_agent, "other");
    ck_assert_int_eq(rp_p2p_hello_verify(&other, &chain_id, x25519_a, RP_P2P_VERSION), 1);

    /* An invalid secret key signs nothing and leaves no half-made binding. */
    rp_seckey zero;
    memset(&zero, 0, sizeof zero);
    other = *h;
    ck_assert_int_eq(rp_p2p_hello_sign(&other, &zero, &chain_id, x25519_a, RP_P2P_VERSION, aux),
                     RP_ERR_BAD_KEY);
    ck_assert(all_zero(other.node_key.bytes, 32));
    ck_assert(all_zero(other.binding.bytes, 64));
    ck_assert_uint_eq(other.port, h->port);
    ck_assert_str_eq(other.user_agent, h->user_agent);

    sodium_memzero(&sk, sizeof sk);
    sodium_memzero(&sk2, sizeof sk2);
    free(back);
    free(m);
}
END_TEST

/* ---- known answers ---------------------------------------------------- */

#define MAX_KAT_HEX (2 * 1024 + 1)

/* The lines of tests/vectors/p2p-messages.txt, in order. */
static size_t kat_lines(char names[][32], char (*hexes)[MAX_KAT_HEX], size_t cap)
{
    size_t k = 0;
    rp_p2p_msg *m = new_msg();
    unsigned char buf[1024];
    rp_hash bm;
    rp_p2p_binding_message(&bm, &chain_id, x25519_a, RP_P2P_VERSION);
    build_example(0, m);
    struct {
        const char *name;
        const unsigned char *p;
        size_t n;
    } fixed[] = {
        {"binding.chain_id", chain_id.bytes, 32},
        {"binding.x25519", x25519_a, 32},
        {"binding.version", (const unsigned char[]){0, 0, 0, RP_P2P_VERSION}, 4},
        {"binding.message", bm.bytes, 32},
        {"binding.node_key", m->body.hello.node_key.bytes, 32},
        {"binding.signature", m->body.hello.binding.bytes, 64},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, k++) {
        ck_assert_uint_lt(k, cap);
        snprintf(names[k], 32, "%s", fixed[i].name);
        ck_assert_int_eq(rp_hex_encode(hexes[k], MAX_KAT_HEX, fixed[i].p, fixed[i].n), 0);
    }
    for (size_t i = 0; i < N_EXAMPLES; i++, k++) {
        ck_assert_uint_lt(k, cap);
        build_example(i, m);
        size_t n = encode_ok(m, buf, sizeof buf);
        snprintf(names[k], 32, "%s", example_names[i]);
        ck_assert_int_eq(rp_hex_encode(hexes[k], MAX_KAT_HEX, buf, n), 0);
    }
    free(m);
    return k;
}

START_TEST(test_known_answers)
{
    enum { CAP = 32 };
    static char names[CAP][32];
    static char hexes[CAP][MAX_KAT_HEX];
    size_t k = kat_lines(names, hexes, CAP);
    if (getenv("RP_WRITE_VECTORS")) {
        for (size_t i = 0; i < k; i++)
            printf("%s %s\n", names[i], hexes[i]);
        return;
    }
    const char *dir = getenv("RP_VECTORS");
    ck_assert_msg(dir != NULL, "RP_VECTORS is not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/p2p-messages.txt", dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[MAX_KAT_HEX + 64];
    size_t i = 0;
    while (fgets(line, sizeof line, f)) {
        char name[32], hex[MAX_KAT_HEX];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        ck_assert_int_eq(sscanf(line, "%31s %2048s", name, hex), 2);
        ck_assert_uint_lt(i, k);
        ck_assert_str_eq(name, names[i]);
        ck_assert_msg(strcmp(hex, hexes[i]) == 0, "%s changed:\n%s", name, hexes[i]);
        i++;
    }
    fclose(f);
    ck_assert_uint_eq(i, k);

    /* The file's messages decode, and the HELLO's binding holds. */
    rp_p2p_msg *m = new_msg();
    unsigned char buf[1024];
    for (size_t j = 0; j < k; j++) {
        if (strncmp(names[j], "binding.", 8) == 0)
            continue;
        size_t n;
        from_hex(buf, sizeof buf, &n, hexes[j]);
        ck_assert_int_eq(rp_p2p_msg_decode(m, buf, n, NULL), 0);
        ck_assert_str_eq(rp_p2p_msg_type_name(m->type), names[j]);
        if (m->type == RP_P2P_MSG_HELLO)
            ck_assert_int_eq(
                rp_p2p_hello_verify(&m->body.hello, &chain_id, x25519_a, RP_P2P_VERSION), 1);
    }
    free(m);
}
END_TEST

/* ---- the fuzz seeds --------------------------------------------------- */

static void write_seed(const char *dir, const char *name, const unsigned char *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_write_corpus)
{
    const char *dir = getenv("RP_WRITE_P2PMSG_CORPUS");
    if (!dir || !*dir)
        return;
    rp_p2p_msg *m = new_msg();
    unsigned char *buf = new_buf();
    char name[64];
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        build_example(i, m);
        write_seed(dir, example_names[i], buf, encode_ok(m, buf, BIG_SIZE));
    }
    for (size_t i = 0; i < N_TYPES; i++) {
        for (int max = 0; max < 2; max++) {
            size_t n = build_extreme(all_types[i], max, m);
            /* Small seeds keep the fuzzer fast (libFuzzer's -max_len follows
             * the largest); GETADDR has one encoding, written above. */
            if (n > 4096 || all_types[i] == RP_P2P_MSG_GETADDR)
                continue;
            snprintf(name, sizeof name, "%s-%s", rp_p2p_msg_type_name(all_types[i]),
                     max ? "max" : "min");
            write_seed(dir, name, buf, encode_ok(m, buf, BIG_SIZE));
        }
    }
    build_blocks_max_count(m);
    write_seed(dir, "blocks-max-count", buf, encode_ok(m, buf, BIG_SIZE));
    free(buf);
    free(m);
}
END_TEST

static Suite *p2pmsg_suite(void)
{
    Suite *s = suite_create("p2pmsg");
    TCase *tc;

    tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_examples_round_trip, 0, N_EXAMPLES);
    tcase_add_loop_test(tc, test_min_and_max_round_trip, 0, 2 * N_TYPES);
    tcase_add_test(tc, test_blocks_max_count_round_trip);
    tcase_add_test(tc, test_views_point_into_input);
    tcase_add_test(tc, test_measure_and_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("bounds");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_counts_over_limit);
    tcase_add_test(tc, test_lengths_over_limit);
    tcase_add_test(tc, test_total_size_over_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_truncated_at_every_byte);
    tcase_add_loop_test(tc, test_truncated_large, 0, N_TYPES);
    tcase_add_test(tc, test_trailing_bytes);
    tcase_add_test(tc, test_unknown_types);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_hello_refusals);
    tcase_add_test(tc, test_status_refusals);
    tcase_add_test(tc, test_addr_refusals);
    tcase_add_test(tc, test_block_refusals);
    tcase_add_test(tc, test_mutations_are_canonical);
    suite_add_tcase(s, tc);

    tc = tcase_create("binding");
    tcase_add_test(tc, test_binding_message_layout);
    tcase_add_test(tc, test_binding);
    suite_add_tcase(s, tc);

    tc = tcase_create("vectors");
    tcase_add_test(tc, test_known_answers);
    tcase_add_test(tc, test_write_corpus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0 || setup_globals() != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    SRunner *sr = srunner_create(p2pmsg_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(big);
    return failed ? 1 : 0;
}
