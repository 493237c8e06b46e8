/* Check suite for the score-proof encoding (ledger/proof.h).
 *
 * Proofs come from a real small chain (chain_fixture.c, with epochs of 4
 * blocks committed 2 blocks later), built the way the node builds them
 * (rp_store_score_proof), for an identity with a row and for identities with
 * none. The suite checks the round trip both ways (struct and bytes), that
 * a decoded proof still verifies and a tampered one does not, and that every
 * malformed form is refused: each truncation, a trailing byte, bad versions,
 * flags, depths and commits, and structs that carry data the encoding would
 * drop.
 *
 * With RP_WRITE_PROOF_CORPUS=DIR set, the round-trip tests also write their
 * encodings to DIR: that is how tests/fuzz/corpus/proof/ was made (the fuzz
 * target rebuilds the same genesis, so those seeds verify there).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "ledger/store.h"

/* Offsets in the encoding (proof.h): the fixed part, then the first entry. */
#define OFF_FLAGS 1
#define OFF_ENTRY 70
#define OFF_DEPTH (OFF_ENTRY + RP_PROOF_ROW_SIZE)

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-test-proof",
        .seed0 = 0x50,
        .dir_prefix = "/tmp/rp-test-proof-",
    });
    /* Short epochs, as tests/fuzz/fuzz_proof.c's genesis has them. */
    rp_store_error err;
    char cmd[256];
    rp_store_close(fx.st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ledger'", fx.datadir);
    ck_assert_int_eq(system(cmd), 0);
    fx.gen->params.epoch_blocks = 4;
    fx.gen->params.score_delay_blocks = 2;
    ck_assert_int_eq(rp_store_create(&fx.st, fx.datadir, fx.gen, NULL, &err), 0);
}

/* Identities 1..4 register, engage and review each other; blocks until
 * epoch 1 (snapshot at 4) is committed at height 6. */
static void build_chain(void)
{
    rp_record reg[4];
    for (size_t i = 1; i <= 4; i++)
        reg[i - 1] = fx_identity(i, NULL, RP_ROLE_TALENT, "talent");
    fx_ok(reg, 4);
    rp_record e[2] = {fx_engagement(1, 2, 2, RP_ENG_GIG), fx_engagement(3, 2, 4, RP_ENG_GIG)};
    fx_ok(e, 2);
    rp_hash e12 = fx_id(&e[0]), e34 = fx_id(&e[1]);
    rp_record r[3] = {fx_review(1, 3, 2, &e12, 5), fx_review(2, 2, 1, &e12, 4),
                      fx_review(4, 2, 3, &e34, 2)};
    fx_ok(r, 3);
    for (int h = 4; h <= 6; h++)
        fx_ok(NULL, 0);
    rp_tip tip;
    ck_assert_int_eq(rp_store_tip(fx.st, &tip), 0);
    ck_assert_uint_eq(tip.epoch, 1);
}

static rp_score_proof *new_proof(void)
{
    rp_score_proof *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

static int rows_eq(const rp_score_row *a, const rp_score_row *b)
{
    return !memcmp(a->identity.bytes, b->identity.bytes, 32) && a->trust == b->trust &&
           a->rating == b->rating && a->reviews == b->reviews && a->score == b->score &&
           a->confidence == b->confidence;
}

/* Field by field: struct padding is not part of the value. */
static int proofs_eq(const rp_score_proof *a, const rp_score_proof *b)
{
    unsigned char ha[RP_HEADER_SIZE], hb[RP_HEADER_SIZE];
    ck_assert_int_eq(rp_header_encode(&a->header, ha), 0);
    ck_assert_int_eq(rp_header_encode(&b->header, hb), 0);
    return a->epoch.epoch == b->epoch.epoch &&
           a->epoch.snapshot_height == b->epoch.snapshot_height &&
           a->epoch.commit_height == b->epoch.commit_height &&
           rp_hash_eq(&a->epoch.root, &b->epoch.root) &&
           a->epoch.identities == b->epoch.identities && a->present == b->present &&
           rows_eq(&a->row, &b->row) && a->index == b->index &&
           !memcmp(a->path, b->path, sizeof a->path) && a->depth == b->depth &&
           a->has_left == b->has_left && a->has_right == b->has_right &&
           rows_eq(&a->left, &b->left) && rows_eq(&a->right, &b->right) &&
           !memcmp(a->lpath, b->lpath, sizeof a->lpath) &&
           !memcmp(a->rpath, b->rpath, sizeof a->rpath) && a->ldepth == b->ldepth &&
           a->rdepth == b->rdepth && !memcmp(ha, hb, sizeof ha) &&
           a->commit_len == b->commit_len && !memcmp(a->commit, b->commit, sizeof a->commit);
}

static void maybe_write_seed(const char *name, const unsigned char *buf, size_t len)
{
    const char *dir = getenv("RP_WRITE_PROOF_CORPUS");
    if (!dir || !*dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Encode p, decode it back, and check both round trips and verification.
 * Returns the encoding's length; buf receives it. */
static size_t round_trip(const rp_score_proof *p, const rp_pubkey *who, unsigned char *buf)
{
    const rp_genesis *g = rp_store_genesis(fx.st);
    size_t len = 0, need = 0, len2 = 0;
    ck_assert_int_eq(rp_score_proof_encode(p, NULL, 0, &need), 0);
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &len), 0);
    ck_assert_uint_eq(len, need);
    ck_assert_uint_le(len, RP_PROOF_MAX_SIZE);

    rp_score_proof *q = new_proof();
    ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
    ck_assert(proofs_eq(p, q));
    ck_assert_int_eq(rp_score_proof_verify(q, g, fx_chain(), who), 1);
    unsigned char *again = malloc(RP_PROOF_MAX_SIZE);
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(rp_score_proof_encode(q, again, RP_PROOF_MAX_SIZE, &len2), 0);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(again, buf, len), 0);
    free(again);
    free(q);
    return len;
}

/* ---- round trips --------------------------------------------------------- */

START_TEST(test_present_round_trip)
{
    build_chain();
    rp_score_proof *p = new_proof();
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    ck_assert_ptr_nonnull(buf);
    for (size_t k = 1; k <= 4; k++) {
        ck_assert_int_eq(rp_store_score_proof(fx.st, &fx.pk[k], 0, p), 0);
        ck_assert(p->present);
        size_t len = round_trip(p, &fx.pk[k], buf);
        /* Fixed part, one entry, header, commit of one signature. */
        ck_assert_uint_eq(len, OFF_ENTRY + RP_PROOF_ROW_SIZE + 1 + 32 * p->depth +
                                   RP_HEADER_SIZE + 2 + 47 + 66);
        ck_assert_uint_eq(buf[0], RP_PROOF_VERSION);
        ck_assert_uint_eq(buf[OFF_FLAGS], RP_PROOF_FLAG_PRESENT);
        ck_assert_int_eq(memcmp(buf + OFF_ENTRY, fx.pk[k].bytes, 32), 0);
        char name[32];
        snprintf(name, sizeof name, "present-%zu.bin", k);
        maybe_write_seed(name, buf, len);
    }
    free(buf);
    free(p);
}
END_TEST

START_TEST(test_absent_round_trip)
{
    build_chain();
    rp_score_proof *p = new_proof();
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    ck_assert_ptr_nonnull(buf);
    int seen[4] = {0}; /* by has_left | has_right << 1 */
    for (size_t k = 5; k < FX_NKEYS; k++) { /* never registered */
        ck_assert_int_eq(rp_store_score_proof(fx.st, &fx.pk[k], 0, p), 0);
        ck_assert(!p->present);
        round_trip(p, &fx.pk[k], buf);
        size_t len = 0;
        ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &len), 0);
        int shape = p->has_left | p->has_right << 1;
        ck_assert_int_ne(shape, 0); /* the table has rows */
        ck_assert_uint_eq(buf[OFF_FLAGS], (unsigned)shape << 1);
        if (!seen[shape]) {
            static const char *names[4] = {"", "absent-left.bin", "absent-right.bin",
                                           "absent-both.bin"};
            maybe_write_seed(names[shape], buf, len);
        }
        seen[shape] = 1;
        /* An absence proof says nothing for a registered identity. */
        rp_score_proof *q = new_proof();
        ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
        ck_assert_int_eq(rp_score_proof_verify(q, rp_store_genesis(fx.st), fx_chain(), &fx.pk[1]),
                         0);
        free(q);
    }
    ck_assert(seen[3]); /* at least one identity sorts between two rows */
    free(buf);
    free(p);
}
END_TEST

/* ---- what the decoder refuses ---------------------------------------------- */

/* A present proof's encoding in a malloc'd buffer of RP_PROOF_MAX_SIZE + 1. */
static unsigned char *present_bytes(size_t *len, rp_score_proof **pout)
{
    build_chain();
    rp_score_proof *p = new_proof();
    ck_assert_int_eq(rp_store_score_proof(fx.st, &fx.pk[2], 0, p), 0);
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, len), 0);
    if (pout)
        *pout = p;
    else
        free(p);
    return buf;
}

static void refused(const unsigned char *buf, size_t len, int want)
{
    static const rp_score_proof zero;
    rp_score_proof *q = malloc(sizeof *q);
    ck_assert_ptr_nonnull(q);
    memset(q, 0xa5, sizeof *q);
    int rc = rp_score_proof_decode(q, buf, len);
    ck_assert_msg(rc == want, "len %zu: got %d (%s), want %d (%s)", len, rc, rp_strerror(rc), want,
                  rp_strerror(want));
    ck_assert_int_eq(memcmp(q, &zero, sizeof *q), 0); /* zeroed on failure */
    free(q);
}

START_TEST(test_truncations)
{
    size_t len;
    unsigned char *buf = present_bytes(&len, NULL);
    for (size_t n = 0; n < len; n++)
        refused(buf, n, RP_ERR_TRUNCATED);
    free(buf);
}
END_TEST

START_TEST(test_absent_truncations)
{
    build_chain();
    rp_score_proof *p = new_proof();
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    ck_assert_ptr_nonnull(buf);
    for (size_t k = 5; k < FX_NKEYS; k++) {
        size_t len;
        ck_assert_int_eq(rp_store_score_proof(fx.st, &fx.pk[k], 0, p), 0);
        ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &len), 0);
        for (size_t n = 0; n < len; n++)
            refused(buf, n, RP_ERR_TRUNCATED);
    }
    free(buf);
    free(p);
}
END_TEST

START_TEST(test_trailing)
{
    size_t len;
    unsigned char *buf = present_bytes(&len, NULL);
    buf[len] = 0;
    refused(buf, len + 1, RP_ERR_TRAILING);
    refused(buf, RP_PROOF_MAX_SIZE + 1, RP_ERR_TOO_LONG);
    free(buf);
}
END_TEST

START_TEST(test_bad_fields)
{
    size_t len;
    unsigned char *buf = present_bytes(&len, NULL);

    buf[0] = 2;
    refused(buf, len, RP_ERR_BAD_VERSION);
    buf[0] = RP_PROOF_VERSION;

    static const unsigned char bad_flags[] = {0x08, 0x80, 0x03, 0x05, 0x07};
    for (size_t i = 0; i < sizeof bad_flags; i++) {
        buf[OFF_FLAGS] = bad_flags[i];
        refused(buf, len, RP_ERR_RANGE);
    }
    buf[OFF_FLAGS] = RP_PROOF_FLAG_PRESENT;

    unsigned char depth = buf[OFF_DEPTH];
    buf[OFF_DEPTH] = RP_MERKLE_MAX_DEPTH + 1;
    refused(buf, len, RP_ERR_TOO_LONG);
    buf[OFF_DEPTH] = depth;

    /* The header inside: its version. */
    size_t hoff = OFF_DEPTH + 1 + 32 * (size_t)depth;
    ck_assert_uint_eq(buf[hoff], RP_BLOCK_VERSION);
    buf[hoff] = 2;
    refused(buf, len, RP_ERR_BAD_VERSION);
    buf[hoff] = RP_BLOCK_VERSION;

    /* The commit: its length, then its own form. */
    size_t coff = hoff + RP_HEADER_SIZE;
    ck_assert_uint_eq((size_t)buf[coff] << 8 | buf[coff + 1], len - coff - 2);
    buf[coff] = 0xff;
    refused(buf, len, RP_ERR_TOO_LONG);
    buf[coff] = 0;
    buf[coff + 1] = 0;
    refused(buf, coff + 2, RP_ERR_RANGE); /* an empty commit */
    buf[coff + 1] = (unsigned char)(len - coff - 2);
    ck_assert_uint_eq(buf[coff + 2], RP_COMMIT_VERSION);
    buf[coff + 2] = 2;
    refused(buf, len, RP_ERR_BAD_VERSION);
    buf[coff + 2] = RP_COMMIT_VERSION;

    rp_score_proof *q = new_proof();
    ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
    free(q);
    free(buf);
}
END_TEST

/* ---- verification after decoding -------------------------------------------- */

START_TEST(test_tampered_bytes)
{
    size_t len;
    unsigned char *buf = present_bytes(&len, NULL);
    const rp_genesis *g = rp_store_genesis(fx.st);
    rp_score_proof *q = new_proof();
    /* Every byte of the row, and of the first path hash: still a well-formed
     * proof, no longer a valid one. */
    for (size_t off = OFF_ENTRY; off < OFF_DEPTH + 1 + 32; off++) {
        if (off == OFF_DEPTH)
            continue;
        buf[off] ^= 0x01;
        ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
        rp_pubkey who = fx.pk[2];
        ck_assert_msg(rp_score_proof_verify(q, g, fx_chain(), &who) == 0,
                      "a proof with byte %zu flipped verifies", off);
        buf[off] ^= 0x01;
    }
    /* The score itself, changed to look better. */
    buf[OFF_ENTRY + 48] ^= 0x03;
    ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
    ck_assert_int_eq(rp_score_proof_verify(q, g, fx_chain(), &fx.pk[2]), 0);
    buf[OFF_ENTRY + 48] ^= 0x03;
    ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
    ck_assert_int_eq(rp_score_proof_verify(q, g, fx_chain(), &fx.pk[2]), 1);
    /* Against another chain's genesis: the validators differ. */
    rp_genesis *other = malloc(sizeof *other);
    ck_assert_ptr_nonnull(other);
    *other = *g;
    other->validators[0].pubkey = fx.pk[3];
    rp_hash other_id;
    ck_assert_int_eq(rp_genesis_chain_id(&other_id, other), 0);
    ck_assert_int_eq(rp_score_proof_verify(q, other, &other_id, &fx.pk[2]), 0);
    free(other);
    free(q);
    free(buf);
}
END_TEST

/* ---- what the encoder refuses ------------------------------------------------ */

START_TEST(test_encoder_refuses)
{
    size_t len;
    rp_score_proof *p;
    unsigned char *buf = present_bytes(&len, &p);
    size_t out = 99;

    /* Too small a buffer, by one byte. */
    ck_assert_int_eq(rp_score_proof_encode(p, buf, len - 1, &out), RP_ERR_BUFFER);
    ck_assert_uint_eq(out, 0);

    /* Data the encoding would drop. */
    p->path[p->depth].bytes[0] = 1;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_NONCANONICAL);
    p->path[p->depth].bytes[0] = 0;
    p->left.score = 1; /* a neighbour in a presence proof */
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_NONCANONICAL);
    p->left.score = 0;
    p->rdepth = 1;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_NONCANONICAL);
    p->rdepth = 0;
    p->commit[p->commit_len] = 1;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_NONCANONICAL);
    p->commit[p->commit_len] = 0;

    /* Flags, depths, header and commit. */
    p->present = 2;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_RANGE);
    p->present = 1;
    p->has_right = 1;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_RANGE);
    p->has_right = 0;
    size_t depth = p->depth;
    p->depth = RP_MERKLE_MAX_DEPTH + 1;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_TOO_LONG);
    p->depth = depth;
    p->header.version = 2;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_BAD_VERSION);
    p->header.version = RP_BLOCK_VERSION;
    size_t clen = p->commit_len;
    p->commit_len = 0;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_RANGE);
    p->commit_len = clen - 1; /* no longer a whole commit */
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_TRUNCATED);
    p->commit_len = clen;
    p->commit[0] = 2;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), RP_ERR_BAD_VERSION);
    p->commit[0] = RP_COMMIT_VERSION;
    ck_assert_uint_eq(out, 0);

    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &out), 0);
    ck_assert_uint_eq(out, len);
    free(p);
    free(buf);
}
END_TEST

/* The largest proof: two neighbours of full depth and a commit of every
 * validator. RP_PROOF_MAX_SIZE is exactly its size, and it decodes. */
START_TEST(test_max_size)
{
    rp_score_proof *p = new_proof();
    p->has_left = p->has_right = 1;
    p->ldepth = p->rdepth = RP_MERKLE_MAX_DEPTH;
    memset(p->lpath, 0x11, sizeof p->lpath);
    memset(p->rpath, 0x22, sizeof p->rpath);
    p->header.version = RP_BLOCK_VERSION;
    rp_commit *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->version = RP_COMMIT_VERSION;
    c->height = 1;
    c->count = RP_COMMIT_MAX_SIGS;
    for (uint16_t i = 0; i < RP_COMMIT_MAX_SIGS; i++)
        c->sigs[i].validator = i;
    ck_assert_int_eq(rp_commit_encode(c, p->commit, sizeof p->commit, &p->commit_len), 0);
    ck_assert_uint_eq(p->commit_len, RP_COMMIT_MAX_SIZE);
    free(c);
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    ck_assert_ptr_nonnull(buf);
    size_t len;
    ck_assert_int_eq(rp_score_proof_encode(p, buf, RP_PROOF_MAX_SIZE, &len), 0);
    ck_assert_uint_eq(len, RP_PROOF_MAX_SIZE);
    rp_score_proof *q = new_proof();
    ck_assert_int_eq(rp_score_proof_decode(q, buf, len), 0);
    ck_assert(proofs_eq(p, q));
    free(q);
    free(buf);
    free(p);
}
END_TEST

static Suite *proof_suite(void)
{
    Suite *s = suite_create("proof");
    TCase *tc = tcase_create("round trip");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_present_round_trip);
    tcase_add_test(tc, test_absent_round_trip);
    tcase_add_test(tc, test_tampered_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("refused");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_absent_truncations);
    tcase_add_test(tc, test_trailing);
    tcase_add_test(tc, test_bad_fields);
    tcase_add_test(tc, test_encoder_refuses);
    tcase_add_test(tc, test_max_size);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return EXIT_FAILURE;
    SRunner *sr = srunner_create(proof_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
