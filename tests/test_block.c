/* Check suite for ledger/merkle and ledger/block: Merkle roots against a
 * naive recursive reference of RFC 6962, domain separation, audit paths for
 * every index of small trees; header, block and commit round trips and one
 * test per rejection class; commit verification against a hand-built genesis
 * of four validators; and the worked example of docs/blocks.md as a
 * known-answer test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "ledger/record.h"

static unsigned char seed[32];
static rp_hash chain_id;

/* The same seed and chain id as tests/test_records.c, so the records built
 * here are byte for byte the ones in tests/vectors/records.txt. */
static void setup_globals(void)
{
    for (size_t i = 0; i < 32; i++)
        seed[i] = (unsigned char)(0xA0 + i);
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-kat", 10);
}

static void fill(rp_hash *h, unsigned char v)
{
    memset(h->bytes, v, sizeof h->bytes);
}

static void key(size_t i, rp_seckey *sk, rp_pubkey *pk)
{
    ck_assert_int_eq(rp_seckey_from_seed(sk, seed, i), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(pk, sk), 0);
}

static void hex_eq(const unsigned char *bytes, size_t n, const char *want)
{
    char got[1024];
    ck_assert_int_eq(rp_hex_encode(got, sizeof got, bytes, n), 0);
    ck_assert_str_eq(got, want);
}

/* ---- Merkle: a naive reference ---------------------------------------- */

static size_t split_point(size_t n)
{
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH from RFC 6962 section 2.1, recursively, over tagged hashes. */
static void ref_root(rp_hash *out, const rp_hash *leaves, size_t n)
{
    if (n == 0) {
        rp_merkle_empty(out);
        return;
    }
    if (n == 1) {
        *out = leaves[0];
        return;
    }
    size_t k = split_point(n);
    rp_hash l, r;
    ref_root(&l, leaves, k);
    ref_root(&r, leaves + k, n - k);
    rp_merkle_node(out, &l, &r);
}

/* PATH(m, D[n]) from RFC 6962 section 2.1.1, with for each entry whether the
 * sibling is on the left (1) or the right (0): the path's "shape". */
static void ref_path(rp_hash *path, unsigned char *left, size_t *depth, const rp_hash *leaves,
                     size_t n, size_t m)
{
    if (n <= 1)
        return;
    size_t k = split_point(n);
    if (m < k) {
        ref_path(path, left, depth, leaves, k, m);
        ref_root(&path[*depth], leaves + k, n - k);
        left[(*depth)++] = 0;
    } else {
        ref_path(path, left, depth, leaves + k, n - k, m - k);
        ref_root(&path[*depth], leaves, k);
        left[(*depth)++] = 1;
    }
}

/* Only the shape of PATH(m, D[n]): no hashing, for the many sizes tried. */
static void ref_shape(unsigned char *left, size_t *depth, size_t n, size_t m)
{
    if (n <= 1)
        return;
    size_t k = split_point(n);
    if (m < k) {
        ref_shape(left, depth, k, m);
        left[(*depth)++] = 0;
    } else {
        ref_shape(left, depth, n - k, m - k);
        left[(*depth)++] = 1;
    }
}

static void make_leaves(rp_hash *leaves, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char d[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16),
                              (unsigned char)(i >> 8), (unsigned char)i};
        rp_merkle_leaf(&leaves[i], d, sizeof d);
    }
}

/* ---- Merkle ----------------------------------------------------------- */

START_TEST(test_merkle_roots_match_reference)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17};
    rp_hash leaves[17], got, want;
    make_leaves(leaves, 17);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        ck_assert_int_eq(rp_merkle_root(&got, leaves, n), 0);
        ref_root(&want, leaves, n);
        ck_assert_msg(rp_hash_eq(&got, &want), "root of %zu leaves", n);
    }
    /* The two degenerate cases, spelled out. */
    ck_assert_int_eq(rp_merkle_root(&got, NULL, 0), 0);
    rp_tagged_hash(&want, RP_TAG_MERKLE_EMPTY, NULL, 0);
    ck_assert(rp_hash_eq(&got, &want));
    ck_assert_int_eq(rp_merkle_root(&got, leaves + 5, 1), 0);
    ck_assert(rp_hash_eq(&got, &leaves[5]));
    /* And one shape by hand: 3 leaves are node(node(a, b), c). */
    rp_hash ab;
    rp_merkle_node(&ab, &leaves[0], &leaves[1]);
    rp_merkle_node(&want, &ab, &leaves[2]);
    ck_assert_int_eq(rp_merkle_root(&got, leaves, 3), 0);
    ck_assert(rp_hash_eq(&got, &want));
}
END_TEST

START_TEST(test_merkle_domain_separation)
{
    rp_hash empty, leaf_empty, leaves[8], root;
    make_leaves(leaves, 8);
    ck_assert_int_eq(rp_merkle_root(&empty, NULL, 0), 0);
    rp_merkle_leaf(&leaf_empty, NULL, 0);
    ck_assert(!rp_hash_eq(&empty, &leaf_empty));
    for (size_t i = 0; i < 8; i++) {
        ck_assert_int_eq(rp_merkle_root(&root, leaves + i, 1), 0);
        ck_assert(!rp_hash_eq(&empty, &root));
    }
    ck_assert_int_eq(rp_merkle_root(&root, &leaf_empty, 1), 0);
    ck_assert(!rp_hash_eq(&empty, &root));

    /* A 2-leaf root is not the leaf hash of its two children's bytes, nor of
     * the two data items concatenated. */
    unsigned char a[] = {'a'}, b[] = {'b'}, ab[] = {'a', 'b'}, cat[64];
    rp_hash two[2], other;
    rp_merkle_leaf(&two[0], a, 1);
    rp_merkle_leaf(&two[1], b, 1);
    ck_assert_int_eq(rp_merkle_root(&root, two, 2), 0);
    memcpy(cat, two[0].bytes, 32);
    memcpy(cat + 32, two[1].bytes, 32);
    rp_merkle_leaf(&other, cat, sizeof cat);
    ck_assert(!rp_hash_eq(&root, &other));
    rp_merkle_leaf(&other, ab, sizeof ab);
    ck_assert(!rp_hash_eq(&root, &other));
    ck_assert_int_eq(rp_merkle_root(&other, &other, 1), 0);
    ck_assert(!rp_hash_eq(&root, &other));
}
END_TEST

START_TEST(test_merkle_no_duplication)
{
    rp_hash l[4], r3, r4;
    make_leaves(l, 3);
    l[3] = l[2];
    ck_assert_int_eq(rp_merkle_root(&r3, l, 3), 0);
    ck_assert_int_eq(rp_merkle_root(&r4, l, 4), 0);
    ck_assert(!rp_hash_eq(&r3, &r4));

    /* The same for a longer odd tail: 5 leaves against 6 with the last twice. */
    rp_hash m[6], r5, r6;
    make_leaves(m, 5);
    m[5] = m[4];
    ck_assert_int_eq(rp_merkle_root(&r5, m, 5), 0);
    ck_assert_int_eq(rp_merkle_root(&r6, m, 6), 0);
    ck_assert(!rp_hash_eq(&r5, &r6));
}
END_TEST

/* Proofs for every index of trees of 1..33 leaves: equal to RFC 6962's
 * PATH, verified, and refused after any single change. */
START_TEST(test_merkle_proofs)
{
    enum { MAXN = 33 };
    rp_hash leaves[2 * MAXN + 2], root, path[RP_MERKLE_MAX_DEPTH + 1];
    rp_hash want[RP_MERKLE_MAX_DEPTH];
    unsigned char side[RP_MERKLE_MAX_DEPTH], side2[RP_MERKLE_MAX_DEPTH];
    size_t same_shape = 0, other_n = 0;
    make_leaves(leaves, 2 * MAXN + 2);

    for (size_t n = 1; n <= MAXN; n++) {
        ck_assert_int_eq(rp_merkle_root(&root, leaves, n), 0);
        for (size_t i = 0; i < n; i++) {
            size_t depth = 99, wdepth = 0;
            ck_assert_int_eq(rp_merkle_proof(path, &depth, leaves, n, i), 0);
            ref_path(want, side, &wdepth, leaves, n, i);
            ck_assert_uint_eq(depth, wdepth);
            for (size_t d = 0; d < depth; d++)
                ck_assert(rp_hash_eq(&path[d], &want[d]));
            ck_assert_int_eq(rp_merkle_verify(&root, &leaves[i], i, n, path, depth), 1);

            /* A flipped byte anywhere in the path. */
            for (size_t d = 0; d < depth; d++) {
                path[d].bytes[d % 32] ^= 0x01;
                ck_assert_int_eq(rp_merkle_verify(&root, &leaves[i], i, n, path, depth), 0);
                path[d].bytes[d % 32] ^= 0x01;
            }
            /* Every other index of the same tree. */
            for (size_t j = 0; j < n + 2; j++)
                if (j != i)
                    ck_assert_int_eq(rp_merkle_verify(&root, &leaves[i], j, n, path, depth), 0);
            /* A wrong leaf. */
            ck_assert_int_eq(rp_merkle_verify(&root, &leaves[n], i, n, path, depth), 0);
            /* A truncated path, and one with an extra entry. */
            if (depth > 0)
                ck_assert_int_eq(rp_merkle_verify(&root, &leaves[i], i, n, path, depth - 1), 0);
            path[depth] = leaves[0];
            ck_assert_int_eq(rp_merkle_verify(&root, &leaves[i], i, n, path, depth + 1), 0);
            /* A wrong root. */
            ck_assert_int_eq(rp_merkle_verify(&leaves[i], &leaves[i], i, n, path, depth), n == 1);

            /* A wrong tree size. The root does not commit to n (the header's
             * record_count does), so a size whose path has the same shape
             * for this index necessarily verifies; every other size must
             * fail. */
            for (size_t m = 1; m <= 2 * MAXN + 1; m++) {
                if (m == n)
                    continue;
                size_t d2 = 0;
                int expect = 0;
                if (i < m) {
                    ref_shape(side2, &d2, m, i);
                    expect = d2 == depth && memcmp(side, side2, depth) == 0;
                }
                ck_assert_int_eq(rp_merkle_verify(&root, &leaves[i], i, m, path, depth), expect);
                same_shape += (size_t)expect;
                other_n++;
            }
        }
        /* Out of range. */
        size_t depth = 99;
        ck_assert_int_eq(rp_merkle_proof(path, &depth, leaves, n, n), RP_ERR_INVALID_ARG);
        ck_assert_uint_eq(depth, 0);
        ck_assert_int_eq(rp_merkle_verify(&root, &leaves[0], n, n, path, 0), 0);
    }
    ck_assert_int_eq(rp_merkle_verify(&root, &leaves[0], 0, 0, path, 0), 0);
    ck_assert_int_eq(rp_merkle_verify(&root, &leaves[0], 0, 1, path, RP_MERKLE_MAX_DEPTH + 1), 0);
    /* Most wrong sizes fail outright. */
    ck_assert_uint_lt(same_shape * 4, other_n);
}
END_TEST

/* ---- headers ---------------------------------------------------------- */

static void example_header(rp_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = RP_BLOCK_VERSION;
    h->chain_id = chain_id;
    h->height = 0x0102030405060708u;
    h->time_ms = 1790000000123u;
    fill(&h->prev_hash, 0x11);
    fill(&h->records_root, 0x22);
    h->record_count = 0x0A0B0C0D;
    h->proposer = 0x0E0F;
    fill(&h->validators_hash, 0x33);
    fill(&h->prev_commit_hash, 0x44);
    fill(&h->state_hash, 0x55);
    h->epoch = 0x1112131415161718u;
    fill(&h->score_root, 0x66);
    h->body_bytes = 0x191A1B1C;
}

static void assert_header_eq(const rp_header *a, const rp_header *b)
{
    ck_assert_uint_eq(a->version, b->version);
    ck_assert_mem_eq(a->chain_id.bytes, b->chain_id.bytes, 32);
    ck_assert_uint_eq(a->height, b->height);
    ck_assert_uint_eq(a->time_ms, b->time_ms);
    ck_assert_mem_eq(a->prev_hash.bytes, b->prev_hash.bytes, 32);
    ck_assert_mem_eq(a->records_root.bytes, b->records_root.bytes, 32);
    ck_assert_uint_eq(a->record_count, b->record_count);
    ck_assert_uint_eq(a->proposer, b->proposer);
    ck_assert_mem_eq(a->validators_hash.bytes, b->validators_hash.bytes, 32);
    ck_assert_mem_eq(a->prev_commit_hash.bytes, b->prev_commit_hash.bytes, 32);
    ck_assert_mem_eq(a->state_hash.bytes, b->state_hash.bytes, 32);
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_mem_eq(a->score_root.bytes, b->score_root.bytes, 32);
    ck_assert_uint_eq(a->body_bytes, b->body_bytes);
}

START_TEST(test_header_roundtrip)
{
    rp_header h, back;
    unsigned char buf[RP_HEADER_SIZE], again[RP_HEADER_SIZE];
    example_header(&h);
    ck_assert_int_eq(rp_header_encode(&h, buf), 0);
    /* Spot checks of the layout: big-endian integers at their offsets. */
    ck_assert_uint_eq(buf[0], 1);
    ck_assert_mem_eq(buf + 1, chain_id.bytes, 32);
    ck_assert_uint_eq(buf[33], 0x01);
    ck_assert_uint_eq(buf[40], 0x08);
    ck_assert_uint_eq(buf[113], 0x0A);
    ck_assert_uint_eq(buf[117], 0x0E);
    ck_assert_uint_eq(buf[118], 0x0F);
    ck_assert_uint_eq(buf[215], 0x11);
    ck_assert_uint_eq(buf[255], 0x19);
    ck_assert_uint_eq(buf[258], 0x1C);

    ck_assert_int_eq(rp_header_decode(&back, buf, sizeof buf), 0);
    assert_header_eq(&h, &back);
    ck_assert_int_eq(rp_header_encode(&back, again), 0);
    ck_assert_mem_eq(buf, again, sizeof buf);

    rp_hash h1, h2, want;
    rp_header_hash(&h1, &h);
    rp_header_hash(&h2, &back);
    rp_tagged_hash(&want, RP_TAG_HEADER, buf, sizeof buf);
    ck_assert(rp_hash_eq(&h1, &h2));
    ck_assert(rp_hash_eq(&h1, &want));
}
END_TEST

static void assert_header_zero(const rp_header *h)
{
    static const rp_header zero;
    assert_header_eq(h, &zero);
}

START_TEST(test_header_reject)
{
    rp_header h, back;
    unsigned char buf[RP_HEADER_SIZE + 1];
    example_header(&h);
    ck_assert_int_eq(rp_header_encode(&h, buf), 0);

    for (size_t n = 0; n < RP_HEADER_SIZE; n++) {
        ck_assert_int_eq(rp_header_decode(&back, buf, n), RP_ERR_TRUNCATED);
        assert_header_zero(&back);
    }
    buf[RP_HEADER_SIZE] = 0;
    ck_assert_int_eq(rp_header_decode(&back, buf, RP_HEADER_SIZE + 1), RP_ERR_TRAILING);
    assert_header_zero(&back);

    static const unsigned char versions[] = {0, 2, 0xFF};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[0] = versions[i];
        ck_assert_int_eq(rp_header_decode(&back, buf, RP_HEADER_SIZE), RP_ERR_BAD_VERSION);
        assert_header_zero(&back);
        h.version = versions[i];
        ck_assert_int_eq(rp_header_encode(&h, buf), RP_ERR_BAD_VERSION);
    }
}
END_TEST

START_TEST(test_header_hash_covers_every_field)
{
    rp_header base, h;
    rp_hash hb, hh;
    example_header(&base);
    rp_header_hash(&hb, &base);
    for (int f = 0; f < 14; f++) {
        h = base;
        switch (f) {
        case 0:
            h.version = 2;
            break;
        case 1:
            h.chain_id.bytes[31] ^= 1;
            break;
        case 2:
            h.height++;
            break;
        case 3:
            h.time_ms++;
            break;
        case 4:
            h.prev_hash.bytes[0] ^= 1;
            break;
        case 5:
            h.records_root.bytes[0] ^= 1;
            break;
        case 6:
            h.record_count++;
            break;
        case 7:
            h.proposer++;
            break;
        case 8:
            h.validators_hash.bytes[0] ^= 1;
            break;
        case 9:
            h.prev_commit_hash.bytes[0] ^= 1;
            break;
        case 10:
            h.state_hash.bytes[0] ^= 1;
            break;
        case 11:
            h.epoch++;
            break;
        case 12:
            h.score_root.bytes[0] ^= 1;
            break;
        default:
            h.body_bytes++;
            break;
        }
        rp_header_hash(&hh, &h);
        ck_assert_msg(!rp_hash_eq(&hb, &hh), "field %d not hashed", f);
    }
    /* And every byte of the encoding (each decodable flip changes the hash). */
    unsigned char buf[RP_HEADER_SIZE];
    ck_assert_int_eq(rp_header_encode(&base, buf), 0);
    for (size_t i = 1; i < RP_HEADER_SIZE; i++) {
        buf[i] ^= 0x80;
        ck_assert_int_eq(rp_header_decode(&h, buf, sizeof buf), 0);
        rp_header_hash(&hh, &h);
        ck_assert_msg(!rp_hash_eq(&hb, &hh), "byte %zu not hashed", i);
        buf[i] ^= 0x80;
    }
}
END_TEST

/* ---- blocks ----------------------------------------------------------- */

static void sign_slot(rp_record *r, size_t slot, size_t keyidx, uint64_t counter)
{
    rp_seckey sk;
    rp_pubkey pk;
    unsigned char aux[32];
    key(keyidx, &sk, &pk);
    rp_aux_derive(aux, seed, counter);
    ck_assert_int_eq(rp_record_sign(r, slot, &chain_id, &sk, aux), 0);
}

/* Three signed records: the engagement, vouch and revoke examples of
 * tests/test_records.c (key 0 a talent, key 1 a brand). */
static void build_record(size_t which, rp_record *r)
{
    rp_seckey sk;
    rp_pubkey talent, brand;
    key(0, &sk, &talent);
    key(1, &sk, &brand);
    memset(r, 0, sizeof *r);
    r->version = RP_RECORD_VERSION;
    r->time = 1790000000;
    switch (which) {
    case 0:
        r->type = RP_REC_ENGAGEMENT;
        r->issuer = talent;
        r->seq = 2;
        r->body.engagement.counterparty = brand;
        r->body.engagement.kind = RP_ENG_SPONSORSHIP;
        fill(&r->body.engagement.terms, 0x22);
        r->body.engagement.expiry = 1790086400;
        sign_slot(r, 0, 0, 20);
        sign_slot(r, 1, 1, 21);
        break;
    case 1:
        r->type = RP_REC_VOUCH;
        r->issuer = brand;
        r->seq = 3;
        r->body.vouch.subject = talent;
        r->body.vouch.relation = RP_VOUCH_WORKED_WITH;
        sign_slot(r, 0, 1, 40);
        break;
    default:
        r->type = RP_REC_REVOKE;
        r->issuer = brand;
        r->seq = 4;
        fill(&r->body.revoke.target, 0x44);
        r->body.revoke.reason = RP_REVOKE_RESOLVED;
        sign_slot(r, 0, 1, 50);
        break;
    }
}

typedef struct test_block {
    rp_record recs[3];
    unsigned char rbuf[3][RP_RECORD_MAX_SIZE];
    rp_block_item items[3];
    rp_header h;
    unsigned char buf[RP_HEADER_SIZE + 3 * (2 + RP_RECORD_MAX_SIZE) + 16];
    size_t len;
} test_block;

/* A block at height 1 of the first n of the three records. */
static void build_block(test_block *b, size_t n)
{
    size_t body = 0;
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        build_record(i, &b->recs[i]);
        ck_assert_int_eq(
            rp_record_encode(&b->recs[i], b->rbuf[i], RP_RECORD_MAX_SIZE, &b->items[i].len), 0);
        b->items[i].bytes = b->rbuf[i];
        body += 2 + b->items[i].len;
    }
    rp_header *h = &b->h;
    h->version = RP_BLOCK_VERSION;
    h->chain_id = chain_id;
    h->height = 1;
    h->time_ms = 1790000001000u;
    ck_assert_int_eq(rp_block_records_root(&h->records_root, b->items, n), 0);
    h->record_count = (uint32_t)n;
    h->proposer = 0;
    fill(&h->validators_hash, 0x11);
    fill(&h->state_hash, 0x22);
    h->epoch = 0;
    fill(&h->score_root, 0x33);
    h->body_bytes = (uint32_t)body;
    ck_assert_int_eq(rp_block_encode(h, b->items, n, b->buf, sizeof b->buf, &b->len), 0);
    ck_assert_uint_eq(b->len, RP_HEADER_SIZE + body);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

#define OFF_RECORD_COUNT 113
#define OFF_BODY_BYTES   255

static int decode_block(const unsigned char *buf, size_t len)
{
    rp_header h;
    rp_block_item items[8];
    memset(items, 0xAB, sizeof items);
    int err = rp_block_decode(&h, items, 8, buf, len);
    if (err) {
        /* A failed decode leaves nothing behind in what it wrote. */
        static const rp_header zero;
        assert_header_eq(&h, &zero);
    }
    return err;
}

START_TEST(test_block_roundtrip)
{
    static const size_t counts[] = {0, 1, 3};
    size_t n = counts[_i];
    test_block *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    build_block(b, n);

    rp_header h;
    rp_block_item items[3];
    ck_assert_int_eq(rp_block_decode(&h, items, 3, b->buf, b->len), 0);
    assert_header_eq(&h, &b->h);
    ck_assert_uint_eq(h.record_count, n);
    size_t off = RP_HEADER_SIZE;
    for (size_t i = 0; i < n; i++) {
        /* A view into the buffer, just past its length prefix. */
        ck_assert_ptr_eq(items[i].bytes, b->buf + off + 2);
        ck_assert_uint_eq(items[i].len, b->items[i].len);
        ck_assert_mem_eq(items[i].bytes, b->rbuf[i], items[i].len);
        off += 2 + items[i].len;
        rp_record r;
        ck_assert_int_eq(rp_record_decode(&r, items[i].bytes, items[i].len, NULL), 0);
        ck_assert_int_eq(memcmp(&r, &b->recs[i], sizeof r), 0);
    }
    ck_assert_uint_eq(off, b->len);

    /* Re-encoding the decoded block gives the same bytes and root. */
    unsigned char again[sizeof b->buf];
    size_t len2 = 0;
    ck_assert_int_eq(rp_block_encode(&h, items, n, again, sizeof again, &len2), 0);
    ck_assert_uint_eq(len2, b->len);
    ck_assert_mem_eq(again, b->buf, b->len);
    rp_hash root, leaves[3];
    ck_assert_int_eq(rp_block_records_root(&root, items, n), 0);
    ck_assert(rp_hash_eq(&root, &h.records_root));
    for (size_t i = 0; i < n; i++)
        rp_merkle_leaf(&leaves[i], b->rbuf[i], b->items[i].len);
    ck_assert_int_eq(rp_merkle_root(&root, leaves, n), 0);
    ck_assert(rp_hash_eq(&root, &h.records_root));

    /* Exactly enough room works; one byte less is RP_ERR_BUFFER. */
    ck_assert_int_eq(rp_block_encode(&h, items, n, again, b->len, &len2), 0);
    ck_assert_int_eq(rp_block_encode(&h, items, n, again, b->len - 1, &len2), RP_ERR_BUFFER);
    ck_assert_uint_eq(len2, 0);
    free(b);
}
END_TEST

START_TEST(test_block_truncated_and_trailing)
{
    test_block *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    build_block(b, 3);
    for (size_t n = 0; n < b->len; n++)
        ck_assert_int_eq(decode_block(b->buf, n), RP_ERR_TRUNCATED);
    b->buf[b->len] = 0;
    ck_assert_int_eq(decode_block(b->buf, b->len + 1), RP_ERR_TRAILING);
    b->buf[b->len] = 0x55;
    ck_assert_int_eq(decode_block(b->buf, b->len + 1), RP_ERR_TRAILING);
    /* A bad version. */
    b->buf[0] = 2;
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_BAD_VERSION);
    free(b);
}
END_TEST

START_TEST(test_block_count_mismatch)
{
    test_block *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    build_block(b, 3);
    /* More records announced than the body holds: the fourth length prefix
     * runs off the end of the body. */
    put_be32(b->buf + OFF_RECORD_COUNT, 4);
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TRUNCATED);
    /* Fewer: the third record is left over inside the body. */
    put_be32(b->buf + OFF_RECORD_COUNT, 2);
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TRAILING);
    put_be32(b->buf + OFF_RECORD_COUNT, 0);
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TRAILING);

    /* The encoder refuses a header whose count is not the list's. */
    size_t len = 1;
    b->h.record_count = 2;
    ck_assert_int_eq(rp_block_encode(&b->h, b->items, 3, b->buf, sizeof b->buf, &len),
                     RP_ERR_BLOCK_LIMITS);
    ck_assert_uint_eq(len, 0);
    b->h.record_count = 4;
    ck_assert_int_eq(rp_block_encode(&b->h, b->items, 3, b->buf, sizeof b->buf, &len),
                     RP_ERR_BLOCK_LIMITS);
    free(b);
}
END_TEST

START_TEST(test_block_body_bytes_mismatch)
{
    test_block *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    build_block(b, 3);
    uint32_t body = b->h.body_bytes;
    put_be32(b->buf + OFF_BODY_BYTES, body + 1);
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TRUNCATED);
    put_be32(b->buf + OFF_BODY_BYTES, body - 1);
    /* The body now ends one byte before the block does (a byte left over) and
     * one byte into the last record (which runs past the body). */
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TRAILING);
    ck_assert_int_eq(decode_block(b->buf, b->len - 1), RP_ERR_TRUNCATED);
    /* A body that fits the records but has room to spare. */
    put_be32(b->buf + OFF_BODY_BYTES, body + 1);
    b->buf[b->len] = 0;
    ck_assert_int_eq(decode_block(b->buf, b->len + 1), RP_ERR_TRAILING);
    /* More than any block may hold is refused before it is read. */
    put_be32(b->buf + OFF_BODY_BYTES, (4u << 20) + 1);
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TOO_LONG);
    put_be32(b->buf + OFF_BODY_BYTES, 0xFFFFFFFFu);
    ck_assert_int_eq(decode_block(b->buf, b->len), RP_ERR_TOO_LONG);

    size_t len = 1;
    b->h.body_bytes = body + 1;
    ck_assert_int_eq(rp_block_encode(&b->h, b->items, 3, b->buf, sizeof b->buf, &len),
                     RP_ERR_BLOCK_LIMITS);
    b->h.body_bytes = body - 1;
    ck_assert_int_eq(rp_block_encode(&b->h, b->items, 3, b->buf, sizeof b->buf, &len),
                     RP_ERR_BLOCK_LIMITS);
    ck_assert_uint_eq(len, 0);
    free(b);
}
END_TEST

/* A block of one record of a given length, framed by hand. */
static size_t raw_block(unsigned char *buf, size_t reclen)
{
    rp_header h;
    example_header(&h);
    h.record_count = 1;
    h.body_bytes = (uint32_t)(2 + reclen);
    ck_assert_int_eq(rp_header_encode(&h, buf), 0);
    buf[RP_HEADER_SIZE] = (unsigned char)(reclen >> 8);
    buf[RP_HEADER_SIZE + 1] = (unsigned char)reclen;
    memset(buf + RP_HEADER_SIZE + 2, 0x5A, reclen);
    return RP_HEADER_SIZE + 2 + reclen;
}

START_TEST(test_block_record_lengths)
{
    unsigned char buf[RP_HEADER_SIZE + 2 + RP_RECORD_MAX_SIZE + 1];
    ck_assert_int_eq(decode_block(buf, raw_block(buf, 0)), RP_ERR_RANGE);
    ck_assert_int_eq(decode_block(buf, raw_block(buf, 1)), 0);
    ck_assert_int_eq(decode_block(buf, raw_block(buf, RP_RECORD_MAX_SIZE)), 0);
    ck_assert_int_eq(decode_block(buf, raw_block(buf, RP_RECORD_MAX_SIZE + 1)), RP_ERR_TOO_LONG);

    /* The encoder refuses the same lengths. */
    rp_header h;
    example_header(&h);
    unsigned char rec[RP_RECORD_MAX_SIZE + 1] = {0};
    rp_block_item item = {rec, 0};
    size_t len;
    h.record_count = 1;
    h.body_bytes = 2;
    ck_assert_int_eq(rp_block_encode(&h, &item, 1, buf, sizeof buf, &len), RP_ERR_BLOCK_LIMITS);
    item.len = RP_RECORD_MAX_SIZE + 1;
    h.body_bytes = 2 + RP_RECORD_MAX_SIZE + 1;
    ck_assert_int_eq(rp_block_encode(&h, &item, 1, buf, sizeof buf, &len), RP_ERR_BLOCK_LIMITS);
    item.len = RP_RECORD_MAX_SIZE;
    h.body_bytes = 2 + RP_RECORD_MAX_SIZE;
    ck_assert_int_eq(rp_block_encode(&h, &item, 1, buf, sizeof buf, &len), 0);
    /* A bad header version is refused by the block encoder too. */
    h.version = 0;
    ck_assert_int_eq(rp_block_encode(&h, &item, 1, buf, sizeof buf, &len), RP_ERR_BAD_VERSION);
}
END_TEST

START_TEST(test_block_max_items)
{
    test_block *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    build_block(b, 3);
    rp_header h;
    rp_block_item items[3];
    ck_assert_int_eq(rp_block_decode(&h, items, 3, b->buf, b->len), 0);
    ck_assert_int_eq(rp_block_decode(&h, items, 2, b->buf, b->len), RP_ERR_TOO_LONG);
    ck_assert_int_eq(rp_block_decode(&h, items, 0, b->buf, b->len), RP_ERR_TOO_LONG);

    /* Above RP_BLOCK_MAX_RECORDS, whatever room the caller has: refused from
     * the header alone. */
    size_t cap = RP_BLOCK_MAX_RECORDS + 2;
    rp_block_item *many = calloc(cap, sizeof *many);
    ck_assert_ptr_nonnull(many);
    put_be32(b->buf + OFF_RECORD_COUNT, RP_BLOCK_MAX_RECORDS + 1);
    ck_assert_int_eq(rp_block_decode(&h, many, cap, b->buf, b->len), RP_ERR_TOO_LONG);
    put_be32(b->buf + OFF_RECORD_COUNT, 0xFFFFFFFFu);
    ck_assert_int_eq(rp_block_decode(&h, many, cap, b->buf, b->len), RP_ERR_TOO_LONG);
    free(many);

    /* Longer than RP_BLOCK_MAX_SIZE is refused unread. */
    ck_assert_int_eq(rp_block_decode(&h, items, 3, b->buf, (size_t)RP_BLOCK_MAX_SIZE + 1),
                     RP_ERR_TOO_LONG);
    free(b);
}
END_TEST

/* ---- commits ---------------------------------------------------------- */

static void example_commit(rp_commit *c, size_t n)
{
    memset(c, 0, sizeof *c);
    c->version = RP_COMMIT_VERSION;
    c->height = 0x0102030405060708u;
    c->round = 0x0A0B0C0D;
    fill(&c->block_hash, 0x77);
    c->count = (uint16_t)n;
    for (size_t i = 0; i < n; i++) {
        c->sigs[i].validator = (uint16_t)(3 * i + 1);
        memset(c->sigs[i].sig.bytes, (int)(0x80 + i), 64);
    }
}

static void assert_commit_eq(const rp_commit *a, const rp_commit *b)
{
    ck_assert_uint_eq(a->version, b->version);
    ck_assert_uint_eq(a->height, b->height);
    ck_assert_uint_eq(a->round, b->round);
    ck_assert_mem_eq(a->block_hash.bytes, b->block_hash.bytes, 32);
    ck_assert_uint_eq(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        ck_assert_uint_eq(a->sigs[i].validator, b->sigs[i].validator);
        ck_assert_mem_eq(a->sigs[i].sig.bytes, b->sigs[i].sig.bytes, 64);
    }
}

static void assert_commit_zero(const rp_commit *c)
{
    static const rp_commit zero;
    ck_assert_int_eq(memcmp(c, &zero, sizeof *c), 0);
}

START_TEST(test_commit_roundtrip)
{
    static rp_commit c, back;
    static unsigned char buf[RP_COMMIT_MAX_SIZE], again[RP_COMMIT_MAX_SIZE];
    static const size_t counts[] = {1, 3, RP_COMMIT_MAX_SIGS};
    for (size_t k = 0; k < 3; k++) {
        size_t n = counts[k], len = 0, len2 = 0;
        example_commit(&c, n);
        if (n == RP_COMMIT_MAX_SIGS)
            for (size_t i = 0; i < n; i++)
                c.sigs[i].validator = (uint16_t)i;
        ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);
        ck_assert_uint_eq(len, 47 + 66 * n);
        ck_assert_uint_eq(buf[0], 1);
        ck_assert_uint_eq(buf[1], 0x01);
        ck_assert_uint_eq(buf[9], 0x0A);
        ck_assert_uint_eq(buf[45], (n >> 8) & 0xFF);
        ck_assert_uint_eq(buf[46], n & 0xFF);
        ck_assert_int_eq(rp_commit_decode(&back, buf, len), 0);
        assert_commit_eq(&c, &back);
        ck_assert_int_eq(rp_commit_encode(&back, again, sizeof again, &len2), 0);
        ck_assert_uint_eq(len2, len);
        ck_assert_mem_eq(buf, again, len);

        rp_hash h1, h2, want;
        ck_assert_int_eq(rp_commit_hash(&h1, &c), 0);
        rp_tagged_hash(&want, RP_TAG_COMMIT, buf, len);
        ck_assert(rp_hash_eq(&h1, &want));
        /* The hash covers the signatures. */
        back.sigs[n - 1].sig.bytes[63] ^= 1;
        ck_assert_int_eq(rp_commit_hash(&h2, &back), 0);
        ck_assert(!rp_hash_eq(&h1, &h2));
    }
    /* A buffer one byte short. */
    size_t len = 1;
    example_commit(&c, 3);
    ck_assert_int_eq(rp_commit_encode(&c, buf, 47 + 66 * 3 - 1, &len), RP_ERR_BUFFER);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_commit_reject)
{
    static rp_commit c, back;
    static unsigned char buf[RP_COMMIT_MAX_SIZE + 70];
    size_t len;
    rp_hash h;
    example_commit(&c, 3);
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);

    /* Every truncation, and a trailing byte. */
    for (size_t n = 0; n < len; n++) {
        ck_assert_int_eq(rp_commit_decode(&back, buf, n), RP_ERR_TRUNCATED);
        assert_commit_zero(&back);
    }
    buf[len] = 0;
    ck_assert_int_eq(rp_commit_decode(&back, buf, len + 1), RP_ERR_TRAILING);
    assert_commit_zero(&back);

    /* Equal and decreasing validator indices (at offsets 47, 113, 179). */
    static const unsigned char second[][2] = {{0, 1}, {0, 0}, {0, 4}, {0, 7}, {0, 8}};
    static const int want[] = {RP_ERR_NONCANONICAL, RP_ERR_NONCANONICAL, 0, RP_ERR_NONCANONICAL,
                               RP_ERR_NONCANONICAL};
    unsigned char saved[2] = {buf[113], buf[114]};
    for (size_t i = 0; i < 5; i++) {
        buf[113] = second[i][0];
        buf[114] = second[i][1];
        ck_assert_int_eq(rp_commit_decode(&back, buf, len), want[i]);
        if (want[i])
            assert_commit_zero(&back);
    }
    buf[113] = saved[0];
    buf[114] = saved[1];
    c.sigs[1].validator = c.sigs[0].validator;
    ck_assert_int_eq(rp_commit_encode(&c, buf + 300, 300, &len), RP_ERR_NONCANONICAL);
    ck_assert_int_eq(rp_commit_hash(&h, &c), RP_ERR_NONCANONICAL);
    c.sigs[1].validator = 0;
    ck_assert_int_eq(rp_commit_encode(&c, buf + 300, 300, &len), RP_ERR_NONCANONICAL);

    /* Count 0, and more than RP_COMMIT_MAX_SIGS. */
    example_commit(&c, 3);
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);
    buf[45] = 0;
    buf[46] = 0;
    ck_assert_int_eq(rp_commit_decode(&back, buf, 47), RP_ERR_RANGE);
    assert_commit_zero(&back);
    c.count = 0;
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), RP_ERR_RANGE);
    buf[45] = 0;
    buf[46] = RP_COMMIT_MAX_SIGS + 1;
    ck_assert_int_eq(rp_commit_decode(&back, buf, sizeof buf), RP_ERR_TOO_LONG);
    buf[45] = 0xFF;
    buf[46] = 0xFF;
    ck_assert_int_eq(rp_commit_decode(&back, buf, sizeof buf), RP_ERR_TOO_LONG);
    c.count = RP_COMMIT_MAX_SIGS + 1;
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), RP_ERR_TOO_LONG);

    /* Another version. */
    example_commit(&c, 1);
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);
    buf[0] = 2;
    ck_assert_int_eq(rp_commit_decode(&back, buf, len), RP_ERR_BAD_VERSION);
    c.version = 0;
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), RP_ERR_BAD_VERSION);
}
END_TEST

/* ---- commit verification ---------------------------------------------- */

enum { NVAL = 4, OUTSIDER = 9 };
#define V_HEIGHT 7
#define V_ROUND  2

static rp_genesis genesis;
static rp_hash v_block;

/* Four validators of power 1 (seed keys 100..103); key 109 is not one. */
static void setup_genesis(void)
{
    memset(&genesis, 0, sizeof genesis);
    strcpy(genesis.chain_name, "repute-test");
    genesis.nvalidators = NVAL;
    for (size_t i = 0; i < NVAL; i++) {
        rp_seckey sk;
        key(100 + i, &sk, &genesis.validators[i].pubkey);
        genesis.validators[i].power = 1;
        snprintf(genesis.validators[i].name, sizeof genesis.validators[i].name, "val-%zu", i);
    }
    fill(&v_block, 0x42);
}

/* A precommit-style signature by seed key `who` over the given vote. */
static void vote_sig(rp_sig *sig, size_t who, uint64_t height, uint32_t round, uint8_t type,
                     const rp_hash *block)
{
    rp_seckey sk;
    rp_pubkey pk;
    rp_hash msg;
    unsigned char aux[32];
    key(100 + who, &sk, &pk);
    rp_vote_message(&msg, &chain_id, height, round, type, block);
    rp_aux_derive(aux, seed, 1000 + who);
    ck_assert_int_eq(rp_sign(sig, msg.bytes, 32, &sk, aux), 0);
}

/* A commit at V_HEIGHT, V_ROUND for v_block signed by the given validators. */
static void signed_commit(rp_commit *c, const size_t *who, size_t n)
{
    memset(c, 0, sizeof *c);
    c->version = RP_COMMIT_VERSION;
    c->height = V_HEIGHT;
    c->round = V_ROUND;
    c->block_hash = v_block;
    c->count = (uint16_t)n;
    for (size_t i = 0; i < n; i++) {
        c->sigs[i].validator = (uint16_t)who[i];
        vote_sig(&c->sigs[i].sig, who[i], V_HEIGHT, V_ROUND, RP_VOTE_PRECOMMIT, &v_block);
    }
}

static int verify(const rp_commit *c)
{
    return rp_commit_verify(c, &genesis, &chain_id, V_HEIGHT, &v_block);
}

START_TEST(test_vote_message_layout)
{
    rp_hash msg, want;
    unsigned char buf[77];
    rp_vote_message(&msg, &chain_id, 0x0102030405060708u, 0x0A0B0C0D, RP_VOTE_PRECOMMIT, &v_block);
    memcpy(buf, chain_id.bytes, 32);
    for (size_t i = 0; i < 8; i++)
        buf[32 + i] = (unsigned char)(i + 1);
    buf[40] = 0x0A;
    buf[41] = 0x0B;
    buf[42] = 0x0C;
    buf[43] = 0x0D;
    buf[44] = 2;
    memcpy(buf + 45, v_block.bytes, 32);
    rp_tagged_hash(&want, RP_TAG_VOTE, buf, sizeof buf);
    ck_assert(rp_hash_eq(&msg, &want));
    /* A prevote is a different message. */
    rp_vote_message(&want, &chain_id, 0x0102030405060708u, 0x0A0B0C0D, RP_VOTE_PREVOTE, &v_block);
    ck_assert(!rp_hash_eq(&msg, &want));
}
END_TEST

START_TEST(test_commit_verify_quorum)
{
    static rp_commit c;
    static const size_t three[] = {0, 1, 2}, other3[] = {1, 2, 3}, all[] = {0, 1, 2, 3},
                        two[] = {0, 3};
    signed_commit(&c, three, 3);
    ck_assert_int_eq(verify(&c), 0);
    signed_commit(&c, other3, 3);
    ck_assert_int_eq(verify(&c), 0);
    signed_commit(&c, all, 4);
    ck_assert_int_eq(verify(&c), 0);
    /* Two of four is exactly half: no quorum. */
    signed_commit(&c, two, 2);
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);
    signed_commit(&c, three, 1);
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* The same validator three times (never decodable, but a struct can hold
     * it) does not make a quorum. */
    signed_commit(&c, three, 3);
    c.sigs[1] = c.sigs[0];
    c.sigs[2] = c.sigs[0];
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* Weighted power: validator 3 alone holds more than two thirds. */
    genesis.validators[3].power = 7;
    static const size_t big[] = {3}, small[] = {0, 1, 2};
    signed_commit(&c, big, 1);
    ck_assert_int_eq(verify(&c), 0);
    signed_commit(&c, small, 3);
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);
}
END_TEST

START_TEST(test_commit_verify_refusals)
{
    static rp_commit c;
    static const size_t three[] = {0, 1, 2};

    /* A signature under an index that is not a validator: refused even when
     * the others alone would be a quorum. */
    signed_commit(&c, three, 3);
    c.count = 4;
    c.sigs[3].validator = NVAL;
    vote_sig(&c.sigs[3].sig, OUTSIDER, V_HEIGHT, V_ROUND, RP_VOTE_PRECOMMIT, &v_block);
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);
    c.sigs[3].validator = 0xFFFF;
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* A non-validator's key signing in a validator's slot. */
    signed_commit(&c, three, 3);
    vote_sig(&c.sigs[2].sig, OUTSIDER, V_HEIGHT, V_ROUND, RP_VOTE_PRECOMMIT, &v_block);
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);
    /* Validator 3's signature filed under index 2. */
    vote_sig(&c.sigs[2].sig, 3, V_HEIGHT, V_ROUND, RP_VOTE_PRECOMMIT, &v_block);
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* One signature over another round, block, height or vote type. */
    rp_hash other;
    fill(&other, 0x43);
    for (int k = 0; k < 4; k++) {
        signed_commit(&c, three, 3);
        vote_sig(&c.sigs[1].sig, 1, V_HEIGHT + (k == 2), V_ROUND + (k == 0),
                 k == 3 ? RP_VOTE_PREVOTE : RP_VOTE_PRECOMMIT, k == 1 ? &other : &v_block);
        ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);
    }
    /* The whole commit for another round verifies as that round, and the
     * round is not the caller's to choose. */
    signed_commit(&c, three, 3);
    c.round = V_ROUND + 1;
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* The wrong height or block hash asked for, or claimed. */
    signed_commit(&c, three, 3);
    ck_assert_int_eq(rp_commit_verify(&c, &genesis, &chain_id, V_HEIGHT + 1, &v_block),
                     RP_ERR_COMMIT);
    ck_assert_int_eq(rp_commit_verify(&c, &genesis, &chain_id, V_HEIGHT, &other), RP_ERR_COMMIT);
    c.height = V_HEIGHT + 1;
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);
    signed_commit(&c, three, 3);
    c.block_hash = other;
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* Another chain. */
    signed_commit(&c, three, 3);
    ck_assert_int_eq(rp_commit_verify(&c, &genesis, &other, V_HEIGHT, &v_block), RP_ERR_COMMIT);

    /* A commit that is not canonical. */
    signed_commit(&c, three, 3);
    c.version = 2;
    ck_assert_int_eq(verify(&c), RP_ERR_COMMIT);

    /* And after all that, the untouched commit still verifies, also after a
     * round trip through its encoding. */
    static unsigned char buf[RP_COMMIT_MAX_SIZE];
    static rp_commit back;
    size_t len;
    signed_commit(&c, three, 3);
    ck_assert_int_eq(rp_commit_encode(&c, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(rp_commit_decode(&back, buf, len), 0);
    ck_assert_int_eq(verify(&back), 0);
}
END_TEST

/* ---- the worked example of docs/blocks.md ----------------------------- */

/* The engagement and vouch records (as in tests/vectors/records.txt) in a
 * block at height 1. RP_PRINT_EXAMPLE=1 prints what the document shows. */
START_TEST(test_worked_example)
{
    test_block *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    build_block(b, 2);
    rp_hash hh;
    rp_header_hash(&hh, &b->h);

    if (getenv("RP_PRINT_EXAMPLE")) {
        static char hex[2 * sizeof b->buf + 1];
        for (size_t i = 0; i < 2; i++) {
            rp_hash leaf;
            rp_merkle_leaf(&leaf, b->rbuf[i], b->items[i].len);
            ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, leaf.bytes, 32), 0);
            printf("leaf %zu (%zu bytes): %s\n", i, b->items[i].len, hex);
        }
        ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, b->h.records_root.bytes, 32), 0);
        printf("records_root: %s\n", hex);
        ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, b->buf, RP_HEADER_SIZE), 0);
        printf("header: %s\n", hex);
        ck_assert_int_eq(rp_hex_encode(hex, sizeof hex, hh.bytes, 32), 0);
        printf("header hash: %s\n", hex);
        printf("block: %zu bytes, body_bytes %u\n", b->len, b->h.body_bytes);
    }

    ck_assert_uint_eq(b->h.body_bytes, 251 + 147 + 4);
    ck_assert_uint_eq(b->len, 661);
    hex_eq(b->h.records_root.bytes, 32,
           "75f6eef5de78a127bb706c8dad30397eabfead9731ff61c706bd9c04c87788a9");
    hex_eq(hh.bytes, 32, "4b2be8699aeeb79b03845326d11b5f08bcc2970b6300e35a98e4c3e497c3a1b9");
    rp_hash empty;
    rp_merkle_empty(&empty);
    hex_eq(empty.bytes, 32, "07b62b6a530629ea9a43604f4d5dd2332a238997bf846622c1580ba8b2ddd3ac");
    free(b);
}
END_TEST

static Suite *block_suite(void)
{
    Suite *s = suite_create("block");
    TCase *tc;

    tc = tcase_create("merkle");
    tcase_add_test(tc, test_merkle_roots_match_reference);
    tcase_add_test(tc, test_merkle_domain_separation);
    tcase_add_test(tc, test_merkle_no_duplication);
    tcase_add_test(tc, test_merkle_proofs);
    suite_add_tcase(s, tc);

    tc = tcase_create("header");
    tcase_add_test(tc, test_header_roundtrip);
    tcase_add_test(tc, test_header_reject);
    tcase_add_test(tc, test_header_hash_covers_every_field);
    suite_add_tcase(s, tc);

    tc = tcase_create("block");
    tcase_add_loop_test(tc, test_block_roundtrip, 0, 3);
    tcase_add_test(tc, test_block_truncated_and_trailing);
    tcase_add_test(tc, test_block_count_mismatch);
    tcase_add_test(tc, test_block_body_bytes_mismatch);
    tcase_add_test(tc, test_block_record_lengths);
    tcase_add_test(tc, test_block_max_items);
    suite_add_tcase(s, tc);

    tc = tcase_create("commit");
    tcase_add_test(tc, test_commit_roundtrip);
    tcase_add_test(tc, test_commit_reject);
    suite_add_tcase(s, tc);

    tc = tcase_create("commit_verify");
    tcase_add_checked_fixture(tc, setup_genesis, NULL);
    tcase_add_test(tc, test_vote_message_layout);
    tcase_add_test(tc, test_commit_verify_quorum);
    tcase_add_test(tc, test_commit_verify_refusals);
    suite_add_tcase(s, tc);

    tc = tcase_create("example");
    tcase_add_test(tc, test_worked_example);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "rp_crypto_init failed\n");
        return 1;
    }
    setup_globals();
    SRunner *sr = srunner_create(block_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
