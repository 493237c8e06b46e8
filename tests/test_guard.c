/* Check suite for the double-sign guard and the consensus write-ahead log:
 * the pure parts (consensus/guard.h, consensus/wal.h) and their files
 * (node/signer.h, node/cswal.h).
 *
 * Guard: every decision case; the file's round trip and every refusal
 * (each truncation, trailing bytes, magic, version, a flipped byte
 * anywhere, non-canonical states); the "signed elsewhere" check. Signer:
 * signatures verify; REUSE hands out the identical stored signature;
 * refusals at an earlier step, round and height, and at the same position
 * with other bytes; a reopened signer remembers; a corrupt, truncated,
 * foreign or wrongly keyed guard file is refused with its path named and
 * is left as it was.
 *
 * Log: a round trip of every input kind; a torn tail cut at every byte
 * offset of the last entry, the prefix kept; a flipped byte anywhere ends
 * the valid prefix at its entry; inputs of other heights are not
 * returned; a new height leaves only its header.
 *
 * Every test gets a fresh temporary datadir.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/errors.h"
#include "consensus/guard.h"
#include "consensus/types.h"
#include "consensus/wal.h"
#include "crypto/error.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "node/cswal.h"
#include "node/signer.h"

static char tmp[64];
static char guard_path[128], wal_path[128];
static rp_hash chain_id;
static rp_seckey sk;
static rp_pubkey pk;

static void setup(void)
{
    ck_assert_int_eq(rp_crypto_init(), 0);
    strcpy(tmp, "/tmp/rp-test-guard-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(guard_path, sizeof guard_path, "%s/consensus/guard", tmp);
    snprintf(wal_path, sizeof wal_path, "%s/consensus/wal", tmp);
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-guard-test", 17);
    unsigned char seed[32] = {7};
    ck_assert_int_eq(rp_seckey_from_seed(&sk, seed, 0), 0);
    ck_assert_int_eq(rp_pubkey_from_seckey(&pk, &sk), 0);
}

static void teardown(void)
{
    static const char *const names[] = {"consensus/guard", "consensus/guard.tmp", "consensus/wal",
                                        "consensus/wal.tmp"};
    char p[160];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmp, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/consensus", tmp);
    rmdir(p);
    rmdir(tmp);
}

static void fill(rp_hash *h, unsigned char v)
{
    memset(h->bytes, v, sizeof h->bytes);
}

static size_t read_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- the guard's decision ------------------------------------------------ */

static rp_cs_guard signed_at(uint64_t h, uint32_t r, uint8_t step, unsigned char msgbyte)
{
    rp_cs_guard g;
    rp_hash m;
    rp_sig s;
    fill(&m, msgbyte);
    memset(s.bytes, 0x5a, sizeof s.bytes);
    rp_cs_guard_init(&g, &chain_id, &pk);
    rp_cs_guard_record(&g, h, r, step, &m, &s);
    return g;
}

START_TEST(decide_cases)
{
    rp_cs_guard g;
    rp_hash m, other;
    fill(&m, 0xAA);
    fill(&other, 0xBB);

    rp_cs_guard_init(&g, &chain_id, &pk);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 0, 0, RP_CS_PROPOSE, &m), RP_CS_GUARD_SIGN);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 9, 3, RP_CS_PRECOMMIT, &m), RP_CS_GUARD_SIGN);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 9, 3, 3, &m), RP_CS_GUARD_REFUSE);

    g = signed_at(10, 2, RP_CS_PREVOTE, 0xAA);
    /* Strictly later: step, round (any step), height (any round). */
    ck_assert_int_eq(rp_cs_guard_decide(&g, 10, 2, RP_CS_PRECOMMIT, &other), RP_CS_GUARD_SIGN);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 10, 3, RP_CS_PROPOSE, &other), RP_CS_GUARD_SIGN);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 11, 0, RP_CS_PROPOSE, &other), RP_CS_GUARD_SIGN);
    /* Same position. */
    ck_assert_int_eq(rp_cs_guard_decide(&g, 10, 2, RP_CS_PREVOTE, &m), RP_CS_GUARD_REUSE);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 10, 2, RP_CS_PREVOTE, &other), RP_CS_GUARD_REFUSE);
    /* Earlier: step, round (even a later step), height (even a later round). */
    ck_assert_int_eq(rp_cs_guard_decide(&g, 10, 2, RP_CS_PROPOSE, &m), RP_CS_GUARD_REFUSE);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 10, 1, RP_CS_PRECOMMIT, &m), RP_CS_GUARD_REFUSE);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 9, 100, RP_CS_PRECOMMIT, &m), RP_CS_GUARD_REFUSE);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 11, 0, 7, &m), RP_CS_GUARD_REFUSE);

    /* The extremes of the ranges compare as numbers. */
    g = signed_at(UINT64_MAX - 1, UINT32_MAX, RP_CS_PRECOMMIT, 0xAA);
    ck_assert_int_eq(rp_cs_guard_decide(&g, UINT64_MAX, 0, RP_CS_PROPOSE, &m), RP_CS_GUARD_SIGN);
    ck_assert_int_eq(rp_cs_guard_decide(&g, UINT64_MAX - 1, UINT32_MAX, RP_CS_PRECOMMIT, &m),
                     RP_CS_GUARD_REUSE);
    ck_assert_int_eq(rp_cs_guard_decide(&g, 0, UINT32_MAX, RP_CS_PRECOMMIT, &m),
                     RP_CS_GUARD_REFUSE);
}
END_TEST

/* ---- the guard's file format --------------------------------------------- */

START_TEST(guard_round_trip)
{
    unsigned char buf[RP_CS_GUARD_SIZE];
    rp_cs_guard g, back;

    rp_cs_guard_init(&g, &chain_id, &pk);
    ck_assert_int_eq(rp_cs_guard_encode(&g, buf), 0);
    ck_assert_int_eq(memcmp(buf, "repute-guard\x01", 13), 0);
    ck_assert_int_eq(rp_cs_guard_decode(&back, buf, sizeof buf), 0);
    ck_assert_int_eq(memcmp(&g, &back, sizeof g), 0);

    g = signed_at(0x0102030405060708ull, 0x0a0b0c0d, RP_CS_PRECOMMIT, 0x33);
    ck_assert_int_eq(rp_cs_guard_encode(&g, buf), 0);
    /* The layout: height right after magic, version, chain id, key, flag. */
    ck_assert_int_eq(buf[12 + 1 + 32 + 32], 1);
    ck_assert_int_eq(buf[12 + 1 + 32 + 32 + 1], 0x01);
    ck_assert_int_eq(buf[12 + 1 + 32 + 32 + 8], 0x08);
    ck_assert_int_eq(rp_cs_guard_decode(&back, buf, sizeof buf), 0);
    ck_assert_int_eq(memcmp(&g, &back, sizeof g), 0);

    /* Non-canonical states are not written. */
    g.step = 3;
    ck_assert_int_eq(rp_cs_guard_encode(&g, buf), RP_ERR_RANGE);
    rp_cs_guard_init(&g, &chain_id, &pk);
    g.round = 1;
    ck_assert_int_eq(rp_cs_guard_encode(&g, buf), RP_ERR_RANGE);
}
END_TEST

/* Rewrite the checksum of a guard file's bytes after changing a field. */
static void reseal(unsigned char buf[RP_CS_GUARD_SIZE])
{
    rp_hash sum;
    rp_sha256(&sum, buf, RP_CS_GUARD_SIZE - 32);
    memcpy(buf + RP_CS_GUARD_SIZE - 32, sum.bytes, 32);
}

START_TEST(guard_decode_refuses)
{
    static const rp_cs_guard zero;
    unsigned char good[RP_CS_GUARD_SIZE], buf[RP_CS_GUARD_SIZE + 1];
    rp_cs_guard g = signed_at(5, 1, RP_CS_PREVOTE, 0x44), back;
    ck_assert_int_eq(rp_cs_guard_encode(&g, good), 0);

    for (size_t n = 0; n < RP_CS_GUARD_SIZE; n++) {
        int rc = rp_cs_guard_decode(&back, good, n);
        ck_assert_int_eq(rc, RP_ERR_TRUNCATED);
        ck_assert_int_eq(memcmp(&back, &zero, sizeof back), 0);
    }
    memcpy(buf, good, sizeof good);
    buf[RP_CS_GUARD_SIZE] = 0;
    ck_assert_int_eq(rp_cs_guard_decode(&back, buf, sizeof buf), RP_ERR_TRAILING);

    /* Any flipped bit is caught (magic, version, or else the checksum). */
    for (size_t i = 0; i < RP_CS_GUARD_SIZE; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(buf, good, sizeof good);
            buf[i] ^= (unsigned char)(1u << bit);
            int rc = rp_cs_guard_decode(&back, buf, RP_CS_GUARD_SIZE);
            int want = i < 12 ? RP_ERR_CS_MAGIC : i == 12 ? RP_ERR_BAD_VERSION : RP_ERR_CS_CHECKSUM;
            ck_assert_int_eq(rc, want);
            ck_assert_int_eq(memcmp(&back, &zero, sizeof back), 0);
        }
    }

    /* Fields that pass the checksum but not the rules. */
    const size_t flag = 12 + 1 + 32 + 32, step = flag + 1 + 8 + 4;
    memcpy(buf, good, sizeof good);
    buf[flag] = 2;
    reseal(buf);
    ck_assert_int_eq(rp_cs_guard_decode(&back, buf, RP_CS_GUARD_SIZE), RP_ERR_RANGE);
    memcpy(buf, good, sizeof good);
    buf[step] = 3;
    reseal(buf);
    ck_assert_int_eq(rp_cs_guard_decode(&back, buf, RP_CS_GUARD_SIZE), RP_ERR_RANGE);
    memcpy(buf, good, sizeof good);
    buf[flag] = 0; /* empty, but with a position: a second encoding of "empty" */
    reseal(buf);
    ck_assert_int_eq(rp_cs_guard_decode(&back, buf, RP_CS_GUARD_SIZE), RP_ERR_NONCANONICAL);
    ck_assert_int_eq(memcmp(&back, &zero, sizeof back), 0);
}
END_TEST

START_TEST(signed_elsewhere)
{
    rp_commit c;
    memset(&c, 0, sizeof c);
    c.version = 1;
    c.height = 20;
    c.round = 1;
    fill(&c.block_hash, 0x77);
    c.count = 2;
    c.sigs[0].validator = 0;
    c.sigs[1].validator = 3;
    memset(c.sigs[1].sig.bytes, 0x5a, 64);

    rp_cs_guard g;
    rp_cs_guard_init(&g, &chain_id, &pk);
    /* Empty guard: any precommit of mine in a commit was made elsewhere. */
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 1);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 2), 0); /* not a signer */

    /* A later height, a later round of the same height: not this guard's. */
    g = signed_at(19, 5, RP_CS_PRECOMMIT, 0x11);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 1);
    g = signed_at(20, 0, RP_CS_PRECOMMIT, 0x11);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 1);
    /* The same round, but the guard stopped at prevote. */
    g = signed_at(20, 1, RP_CS_PREVOTE, 0x11);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 1);

    /* The same position: ours only with our message and our signature. */
    rp_hash msg;
    rp_vote_message(&msg, &chain_id, 20, 1, RP_VOTE_PRECOMMIT, &c.block_hash);
    rp_sig sig;
    memset(sig.bytes, 0x5a, 64);
    rp_cs_guard_init(&g, &chain_id, &pk);
    rp_cs_guard_record(&g, 20, 1, RP_CS_PRECOMMIT, &msg, &sig);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 0);
    c.sigs[1].sig.bytes[0] ^= 1; /* same vote, another signature: another signer */
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 1);
    c.sigs[1].sig.bytes[0] ^= 1;
    fill(&c.block_hash, 0x78); /* another block at our position */
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 1);

    /* Earlier than the guard's last: cannot be judged, not reported. */
    g = signed_at(21, 0, RP_CS_PROPOSE, 0x11);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 0);
    g = signed_at(20, 2, RP_CS_PROPOSE, 0x11);
    ck_assert_int_eq(rp_cs_guard_signed_elsewhere(&g, &c, 3), 0);
}
END_TEST

/* ---- the signer ----------------------------------------------------------- */

static rp_signer *open_signer(void)
{
    char err[512];
    rp_signer *s;
    int rc = rp_signer_open(&s, tmp, &chain_id, &sk, err, sizeof err);
    ck_assert_msg(rc == 0, "open: %s", err);
    return s;
}

static rp_cs_vote vote(uint8_t type, uint64_t h, uint32_t r, unsigned char hashbyte)
{
    rp_cs_vote v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = h;
    v.round = r;
    fill(&v.block_hash, hashbyte);
    v.validator = 2;
    return v;
}

static int vote_ok(const rp_cs_vote *v)
{
    rp_hash m;
    rp_vote_message(&m, &chain_id, v->height, v->round, v->type, &v->block_hash);
    return rp_verify(&v->sig, m.bytes, 32, &pk);
}

START_TEST(signer_signs_and_reuses)
{
    char err[512];
    rp_signer *s = open_signer();
    struct stat st;
    ck_assert_int_eq(stat(guard_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq((int)st.st_size, RP_CS_GUARD_SIZE);
    ck_assert_int_eq(memcmp(rp_signer_pubkey(s)->bytes, pk.bytes, 32), 0);

    rp_cs_proposal p;
    memset(&p, 0, sizeof p);
    p.height = 3;
    p.round = 0;
    p.pol_round = -1;
    fill(&p.block_hash, 0x21);
    ck_assert_int_eq(rp_signer_sign_proposal(s, &p, err, sizeof err), 0);
    rp_hash pm;
    rp_cs_proposal_message(&pm, &chain_id, &p);
    ck_assert_int_eq(rp_verify(&p.sig, pm.bytes, 32, &pk), 1);
    rp_sig first = p.sig;
    memset(&p.sig, 0, sizeof p.sig);
    ck_assert_int_eq(rp_signer_sign_proposal(s, &p, err, sizeof err), 0);
    ck_assert_int_eq(memcmp(&p.sig, &first, sizeof first), 0); /* the stored one */

    rp_cs_vote v = vote(RP_VOTE_PREVOTE, 3, 0, 0x21);
    ck_assert_int_eq(rp_signer_sign_vote(s, &v, err, sizeof err), 0);
    ck_assert_int_eq(vote_ok(&v), 1);
    rp_sig pv = v.sig;

    /* The proposal is behind us now. */
    ck_assert_int_eq(rp_signer_sign_proposal(s, &p, err, sizeof err), RP_ERR_CS_REFUSED);
    ck_assert_ptr_nonnull(strstr(err, "refused"));

    /* The same prevote again: the stored signature, never a new one. */
    for (int i = 0; i < 3; i++) {
        rp_cs_vote again = vote(RP_VOTE_PREVOTE, 3, 0, 0x21);
        ck_assert_int_eq(rp_signer_sign_vote(s, &again, err, sizeof err), 0);
        ck_assert_int_eq(memcmp(&again.sig, &pv, sizeof pv), 0);
    }
    /* A nil prevote at the same position: refused, signature zeroed. */
    rp_cs_vote nil = vote(RP_VOTE_PREVOTE, 3, 0, 0);
    memset(&nil.sig, 0xff, sizeof nil.sig);
    ck_assert_int_eq(rp_signer_sign_vote(s, &nil, err, sizeof err), RP_ERR_CS_REFUSED);
    ck_assert_ptr_nonnull(strstr(err, "other bytes"));
    static const rp_sig zsig;
    ck_assert_int_eq(memcmp(&nil.sig, &zsig, sizeof zsig), 0);

    rp_cs_vote bad = vote(9, 3, 0, 0x21);
    ck_assert_int_eq(rp_signer_sign_vote(s, &bad, err, sizeof err), RP_ERR_INVALID_ARG);

    rp_cs_guard g;
    rp_signer_state(s, &g);
    ck_assert_int_eq(g.height, 3);
    ck_assert_int_eq(g.step, RP_CS_PREVOTE);
    ck_assert_int_eq(memcmp(&g.sig, &pv, sizeof pv), 0);
    rp_signer_close(s);
}
END_TEST

START_TEST(signer_refuses_going_back)
{
    char err[512];
    rp_signer *s = open_signer();
    rp_cs_vote v = vote(RP_VOTE_PRECOMMIT, 8, 4, 0x31);
    ck_assert_int_eq(rp_signer_sign_vote(s, &v, err, sizeof err), 0);

    rp_cs_vote step = vote(RP_VOTE_PREVOTE, 8, 4, 0x31);       /* earlier step */
    rp_cs_vote round = vote(RP_VOTE_PRECOMMIT, 8, 3, 0x31);    /* earlier round */
    rp_cs_vote height = vote(RP_VOTE_PRECOMMIT, 7, 9, 0x31);   /* earlier height */
    ck_assert_int_eq(rp_signer_sign_vote(s, &step, err, sizeof err), RP_ERR_CS_REFUSED);
    ck_assert_int_eq(rp_signer_sign_vote(s, &round, err, sizeof err), RP_ERR_CS_REFUSED);
    ck_assert_int_eq(rp_signer_sign_vote(s, &height, err, sizeof err), RP_ERR_CS_REFUSED);
    rp_cs_proposal p;
    memset(&p, 0, sizeof p);
    p.height = 8;
    p.round = 4;
    p.pol_round = -1;
    ck_assert_int_eq(rp_signer_sign_proposal(s, &p, err, sizeof err), RP_ERR_CS_REFUSED);

    /* Later positions sign. */
    rp_cs_vote next = vote(RP_VOTE_PREVOTE, 8, 5, 0);
    ck_assert_int_eq(rp_signer_sign_vote(s, &next, err, sizeof err), 0);
    ck_assert_int_eq(vote_ok(&next), 1);
    p.round = 6;
    ck_assert_int_eq(rp_signer_sign_proposal(s, &p, err, sizeof err), 0);
    rp_signer_close(s);
}
END_TEST

START_TEST(signer_remembers_across_reopen)
{
    char err[512];
    rp_signer *s = open_signer();
    rp_cs_vote v = vote(RP_VOTE_PRECOMMIT, 12, 2, 0x41);
    ck_assert_int_eq(rp_signer_sign_vote(s, &v, err, sizeof err), 0);
    rp_sig stored = v.sig;
    rp_signer_close(s);

    s = open_signer();
    rp_cs_vote other = vote(RP_VOTE_PRECOMMIT, 12, 2, 0x42);
    ck_assert_int_eq(rp_signer_sign_vote(s, &other, err, sizeof err), RP_ERR_CS_REFUSED);
    rp_cs_vote earlier = vote(RP_VOTE_PREVOTE, 12, 2, 0x41);
    ck_assert_int_eq(rp_signer_sign_vote(s, &earlier, err, sizeof err), RP_ERR_CS_REFUSED);
    rp_cs_vote same = vote(RP_VOTE_PRECOMMIT, 12, 2, 0x41);
    ck_assert_int_eq(rp_signer_sign_vote(s, &same, err, sizeof err), 0);
    ck_assert_int_eq(memcmp(&same.sig, &stored, sizeof stored), 0);
    rp_signer_close(s);

    /* The file holds exactly the state the signer reports. */
    unsigned char buf[RP_CS_GUARD_SIZE + 8];
    rp_cs_guard g;
    size_t n = read_file(guard_path, buf, sizeof buf);
    ck_assert_int_eq(rp_cs_guard_decode(&g, buf, n), 0);
    ck_assert_int_eq(g.height, 12);
    ck_assert_int_eq(g.round, 2);
    ck_assert_int_eq(g.step, RP_CS_PRECOMMIT);
    ck_assert_int_eq(memcmp(&g.sig, &stored, sizeof stored), 0);
}
END_TEST

/* Open must fail with want, name the guard's path, and leave the file's
 * bytes as they were. */
static void refused(const rp_seckey *key, const rp_hash *chain, int want)
{
    unsigned char before[512], after[512];
    size_t nb = read_file(guard_path, before, sizeof before);
    char err[512];
    rp_signer *s = (rp_signer *)1;
    int rc = rp_signer_open(&s, tmp, chain, key, err, sizeof err);
    ck_assert_int_eq(rc, want);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, guard_path) != NULL, "message without the path: %s", err);
    size_t na = read_file(guard_path, after, sizeof after);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(before, after, na), 0);
}

START_TEST(signer_refuses_bad_files)
{
    char err[512];
    rp_signer *s = open_signer();
    rp_cs_vote v = vote(RP_VOTE_PREVOTE, 2, 0, 0x51);
    ck_assert_int_eq(rp_signer_sign_vote(s, &v, err, sizeof err), 0);
    rp_signer_close(s);

    unsigned char good[RP_CS_GUARD_SIZE], buf[RP_CS_GUARD_SIZE];
    ck_assert_uint_eq(read_file(guard_path, good, sizeof good), RP_CS_GUARD_SIZE);

    /* Truncated at a few lengths, including empty. */
    size_t cuts[] = {0, 1, 12, 13, 100, RP_CS_GUARD_SIZE - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(guard_path, good, cuts[i]);
        refused(&sk, &chain_id, RP_ERR_TRUNCATED);
    }
    /* A flipped byte in the middle. */
    memcpy(buf, good, sizeof buf);
    buf[120] ^= 0x10;
    write_file(guard_path, buf, sizeof buf);
    refused(&sk, &chain_id, RP_ERR_CS_CHECKSUM);
    /* Not a guard file at all. */
    write_file(guard_path, (const unsigned char *)"hello, world\n", 13);
    refused(&sk, &chain_id, RP_ERR_CS_MAGIC);

    /* A sound file of another key, or another chain. */
    write_file(guard_path, good, sizeof good);
    rp_seckey sk2;
    unsigned char seed[32] = {8};
    ck_assert_int_eq(rp_seckey_from_seed(&sk2, seed, 0), 0);
    refused(&sk2, &chain_id, RP_ERR_CS_OTHER_KEY);
    rp_hash chain2;
    fill(&chain2, 0x99);
    refused(&sk, &chain2, RP_ERR_WRONG_CHAIN);

    /* And the sound file still opens and remembers. */
    s = open_signer();
    rp_cs_vote earlier = vote(RP_VOTE_PREVOTE, 1, 0, 0x51);
    ck_assert_int_eq(rp_signer_sign_vote(s, &earlier, err, sizeof err), RP_ERR_CS_REFUSED);
    rp_signer_close(s);
    ck_assert_str_ne(rp_strerror(RP_ERR_CS_REFUSED), rp_strerror(-2299));
}
END_TEST

/* ---- the write-ahead log: format ------------------------------------------ */

/* One input of every kind, at height h, with every field used set. */
static size_t sample_inputs(rp_cs_input *in, uint64_t h)
{
    memset(in, 0, 6 * sizeof *in);
    in[0].kind = RP_CS_IN_PROPOSAL;
    in[0].proposal.height = h;
    in[0].proposal.round = 3;
    in[0].proposal.pol_round = 1;
    fill(&in[0].proposal.block_hash, 0x61);
    in[0].proposal.proposer = 0x0102;
    memset(in[0].proposal.sig.bytes, 0x62, 64);
    in[1] = in[0];
    in[1].proposal.pol_round = -1;
    in[2].kind = RP_CS_IN_VOTE;
    in[2].vote.type = RP_VOTE_PRECOMMIT;
    in[2].vote.height = h;
    in[2].vote.round = 0xfffffffe;
    fill(&in[2].vote.block_hash, 0x63);
    in[2].vote.validator = 127;
    memset(in[2].vote.sig.bytes, 0x64, 64);
    in[3].kind = RP_CS_IN_TIMEOUT;
    in[3].step = RP_CS_PRECOMMIT;
    in[3].height = h;
    in[3].round = 7;
    in[4].kind = RP_CS_IN_VERDICT;
    fill(&in[4].block_hash, 0x65);
    in[4].valid = 1;
    in[5].kind = RP_CS_IN_BUILT;
    in[5].height = h;
    in[5].round = 2;
    fill(&in[5].block_hash, 0x66);
    return 6;
}

/* A log: header at h, then the inputs; offsets of each entry in at[]. */
static size_t build_log(unsigned char *buf, size_t cap, uint64_t h, const rp_cs_input *in,
                        size_t n, size_t *at)
{
    size_t off, len;
    ck_assert_int_eq(rp_cs_wal_encode_header(h, buf, cap, &off), 0);
    at[0] = 0;
    for (size_t i = 0; i < n; i++) {
        at[i + 1] = off;
        ck_assert_int_eq(rp_cs_wal_encode_input(&in[i], buf + off, cap - off, &len), 0);
        off += len;
    }
    at[n + 1] = off;
    return off;
}

struct got {
    rp_cs_wal_entry e[16];
    size_t n;
};

static int got_entry(void *ctx, const rp_cs_wal_entry *e)
{
    struct got *g = ctx;
    ck_assert_uint_lt(g->n, 16);
    g->e[g->n++] = *e;
    return 0;
}

static void input_eq(const rp_cs_input *a, const rp_cs_input *b)
{
    ck_assert_int_eq(memcmp(a, b, sizeof *a), 0);
}

START_TEST(wal_round_trip)
{
    rp_cs_input in[6];
    unsigned char buf[1024];
    size_t at[8];
    size_t n = sample_inputs(in, 40);
    size_t len = build_log(buf, sizeof buf, 40, in, n, at);

    struct got g = {.n = 0};
    int err = -1;
    ck_assert_uint_eq(rp_cs_wal_scan(buf, len, got_entry, &g, &err), len);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(g.n, n + 1);
    ck_assert_int_eq(g.e[0].kind, RP_CS_WAL_HEADER);
    ck_assert_uint_eq(g.e[0].height, 40);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(g.e[i + 1].kind, in[i].kind);
        input_eq(&g.e[i + 1].in, &in[i]);
    }
    /* The documented sizes: header 8+22, proposal 8+115, vote 8+112. */
    ck_assert_uint_eq(at[1], 30);
    ck_assert_uint_eq(at[2] - at[1], 123);
    ck_assert_uint_eq(at[4] - at[3], 120);

    /* Values outside the format are not written. */
    unsigned char e[RP_CS_WAL_MAX_ENTRY];
    size_t elen;
    rp_cs_input bad = in[2];
    bad.vote.type = 3;
    ck_assert_int_eq(rp_cs_wal_encode_input(&bad, e, sizeof e, &elen), RP_ERR_RANGE);
    bad = in[0];
    bad.proposal.pol_round = -2;
    ck_assert_int_eq(rp_cs_wal_encode_input(&bad, e, sizeof e, &elen), RP_ERR_RANGE);
    bad = in[3];
    bad.step = 3;
    ck_assert_int_eq(rp_cs_wal_encode_input(&bad, e, sizeof e, &elen), RP_ERR_RANGE);
    bad = in[4];
    bad.valid = 2;
    ck_assert_int_eq(rp_cs_wal_encode_input(&bad, e, sizeof e, &elen), RP_ERR_RANGE);
    bad.kind = 0;
    ck_assert_int_eq(rp_cs_wal_encode_input(&bad, e, sizeof e, &elen), RP_ERR_BAD_TYPE);
    bad.kind = 6;
    ck_assert_int_eq(rp_cs_wal_encode_input(&bad, e, sizeof e, &elen), RP_ERR_BAD_TYPE);
    ck_assert_int_eq(rp_cs_wal_encode_input(&in[0], e, 50, &elen), RP_ERR_BUFFER);
}
END_TEST

START_TEST(wal_structure)
{
    rp_cs_input in[6];
    unsigned char buf[1024], body[RP_CS_WAL_MAX_ENTRY];
    size_t at[8], len, n = sample_inputs(in, 40);
    int err;

    /* No header first: nothing is valid. */
    ck_assert_int_eq(rp_cs_wal_encode_input(&in[3], buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(rp_cs_wal_scan(buf, len, NULL, NULL, &err), 0);
    ck_assert_int_eq(err, RP_ERR_CS_NO_HEADER);
    /* A second header ends the prefix. */
    len = build_log(buf, sizeof buf, 40, in, n, at);
    size_t hl;
    ck_assert_int_eq(rp_cs_wal_encode_header(41, buf + len, sizeof buf - len, &hl), 0);
    ck_assert_uint_eq(rp_cs_wal_scan(buf, len + hl, NULL, NULL, &err), len);
    ck_assert_int_eq(err, RP_ERR_NONCANONICAL);
    /* An empty buffer is a valid (empty) prefix. */
    ck_assert_uint_eq(rp_cs_wal_scan(buf, 0, NULL, NULL, &err), 0);
    ck_assert_int_eq(err, 0);

    /* Lengths: 0, above the maximum. */
    memset(body, 0, sizeof body);
    rp_cs_wal_entry e;
    size_t used;
    ck_assert_int_eq(rp_cs_wal_decode(&e, body, sizeof body, &used), RP_ERR_RANGE);
    body[2] = 1; /* 256 */
    ck_assert_int_eq(rp_cs_wal_decode(&e, body, sizeof body, &used), RP_ERR_TOO_LONG);
    body[0] = 0xff; /* a huge length never reads past the buffer */
    ck_assert_int_eq(rp_cs_wal_decode(&e, body, 8, &used), RP_ERR_TOO_LONG);
}
END_TEST

START_TEST(wal_flipped_byte)
{
    rp_cs_input in[6];
    unsigned char good[1024], buf[1024];
    size_t at[8], n = sample_inputs(in, 40);
    size_t len = build_log(good, sizeof good, 40, in, n, at);

    for (size_t i = 0; i < len; i++) {
        size_t entry = 0;
        while (at[entry + 1] <= i)
            entry++;
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, good, len);
            buf[i] ^= (unsigned char)(1u << bit);
            int err = 0;
            size_t valid = rp_cs_wal_scan(buf, len, NULL, NULL, &err);
            ck_assert_msg(valid == at[entry], "byte %zu bit %d: prefix %zu, want %zu", i, bit,
                          valid, at[entry]);
            ck_assert_int_ne(err, 0);
        }
    }
}
END_TEST

/* ---- the write-ahead log: the file ----------------------------------------- */

static rp_cswal *open_wal(uint64_t height, rp_cswal_replay *rep)
{
    char err[512];
    rp_cswal *w;
    int rc = rp_cswal_open(&w, tmp, height, rep, err, sizeof err);
    ck_assert_msg(rc == 0, "open: %s", err);
    return w;
}

static off_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

START_TEST(cswal_round_trip)
{
    rp_cswal_replay rep;
    rp_cs_input in[6];
    size_t n = sample_inputs(in, 9);

    rp_cswal *w = open_wal(9, &rep);
    ck_assert_int_eq(rep.created, 1);
    ck_assert_uint_eq(rep.height, 9);
    ck_assert_uint_eq(rep.n, 0);
    ck_assert_uint_eq(rp_cswal_height(w), 9);
    struct stat st;
    ck_assert_int_eq(stat(wal_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    rp_cswal_replay_free(&rep);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rp_cswal_append(w, &in[i]), 0);
    /* Another height's input is not written. */
    rp_cs_input late = in[2];
    late.vote.height = 10;
    off_t before = file_size(wal_path);
    ck_assert_int_eq(rp_cswal_append(w, &late), RP_ERR_RANGE);
    ck_assert_int_eq(file_size(wal_path), before);
    rp_cswal_close(w);

    w = open_wal(1234, &rep); /* the height is for a new log only */
    ck_assert_int_eq(rep.created, 0);
    ck_assert_uint_eq(rep.height, 9);
    ck_assert_uint_eq(rep.n, n);
    ck_assert_uint_eq(rep.cut, 0);
    for (size_t i = 0; i < n; i++)
        input_eq(&rep.inputs[i], &in[i]);
    rp_cswal_replay_free(&rep);
    /* Appending after a reopen continues the same log. */
    ck_assert_int_eq(rp_cswal_append(w, &in[4]), 0);
    rp_cswal_close(w);
    w = open_wal(9, &rep);
    ck_assert_uint_eq(rep.n, n + 1);
    input_eq(&rep.inputs[n], &in[4]);
    rp_cswal_replay_free(&rep);
    rp_cswal_close(w);
}
END_TEST

START_TEST(cswal_torn_tail)
{
    rp_cswal_replay rep;
    rp_cs_input in[6];
    size_t n = sample_inputs(in, 9);
    unsigned char full[1024];

    rp_cswal *w = open_wal(9, &rep);
    rp_cswal_replay_free(&rep);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rp_cswal_append(w, &in[i]), 0);
    size_t before_last = (size_t)file_size(wal_path);
    ck_assert_int_eq(rp_cswal_append(w, &in[0]), 0); /* the largest kind, last */
    rp_cswal_close(w);
    size_t len = read_file(wal_path, full, sizeof full);

    for (size_t cut = before_last; cut < len; cut++) {
        write_file(wal_path, full, cut);
        w = open_wal(9, &rep);
        ck_assert_uint_eq(rep.n, n);
        for (size_t i = 0; i < n; i++)
            input_eq(&rep.inputs[i], &in[i]);
        ck_assert_uint_eq(rep.cut, cut - before_last);
        if (cut > before_last)
            ck_assert_int_eq(rep.cut_reason, RP_ERR_TRUNCATED);
        ck_assert_int_eq(file_size(wal_path), (off_t)before_last);
        rp_cswal_replay_free(&rep);
        /* The log goes on after the cut, and what follows is read back. */
        ck_assert_int_eq(rp_cswal_append(w, &in[3]), 0);
        rp_cswal_close(w);
        w = open_wal(9, &rep);
        ck_assert_uint_eq(rep.n, n + 1);
        input_eq(&rep.inputs[n], &in[3]);
        ck_assert_uint_eq(rep.cut, 0);
        rp_cswal_replay_free(&rep);
        rp_cswal_close(w);
    }

    /* A corrupt entry in the middle: everything from it on is cut. */
    unsigned char buf[1024];
    memcpy(buf, full, len);
    buf[before_last - 3] ^= 0x01; /* inside the entry before the last */
    write_file(wal_path, buf, len);
    w = open_wal(9, &rep);
    ck_assert_uint_eq(rep.n, n - 1);
    ck_assert_int_eq(rep.cut_reason, RP_ERR_CS_CHECKSUM);
    ck_assert_uint_lt(file_size(wal_path), before_last);
    rp_cswal_replay_free(&rep);
    rp_cswal_close(w);
}
END_TEST

START_TEST(cswal_other_heights_and_bad_header)
{
    rp_cswal_replay rep;
    rp_cs_input in[6];
    unsigned char buf[1024];
    size_t at[8], n = sample_inputs(in, 5);
    in[2].vote.height = 6;  /* early votes for the next height */
    in[3].height = 4;       /* a stale timeout */
    size_t len = build_log(buf, sizeof buf, 5, in, n, at);
    rp_cswal *w = open_wal(5, &rep); /* makes the folder */
    rp_cswal_replay_free(&rep);
    rp_cswal_close(w);
    write_file(wal_path, buf, len);

    w = open_wal(5, &rep);
    ck_assert_uint_eq(rep.height, 5);
    ck_assert_uint_eq(rep.n, n - 2);
    ck_assert_uint_eq(rep.other_heights, 2);
    for (size_t i = 0; i < rep.n; i++) {
        uint64_t h;
        if (rp_cs_wal_input_height(&rep.inputs[i], &h))
            ck_assert_uint_eq(h, 5);
    }
    rp_cswal_replay_free(&rep);
    rp_cswal_close(w);

    /* A bad header is an error naming the file, and the file stays. */
    buf[3] ^= 0x01;
    write_file(wal_path, buf, len);
    char err[512];
    ck_assert_int_eq(rp_cswal_open(&w, tmp, 5, &rep, err, sizeof err), RP_ERR_CS_CHECKSUM);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(err, wal_path));
    ck_assert_int_eq(file_size(wal_path), (off_t)len);
    write_file(wal_path, buf, 0);
    ck_assert_int_eq(rp_cswal_open(&w, tmp, 5, &rep, err, sizeof err), RP_ERR_CS_NO_HEADER);
    ck_assert_ptr_nonnull(strstr(err, wal_path));
}
END_TEST

START_TEST(cswal_new_height)
{
    rp_cswal_replay rep;
    rp_cs_input in[6], next[6];
    size_t n = sample_inputs(in, 9);
    sample_inputs(next, 10);

    rp_cswal *w = open_wal(9, &rep);
    rp_cswal_replay_free(&rep);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rp_cswal_append(w, &in[i]), 0);
    ck_assert_int_eq(rp_cswal_new_height(w, 10), 0);
    ck_assert_uint_eq(rp_cswal_height(w), 10);
    ck_assert_int_eq(file_size(wal_path), 30); /* the header alone */
    ck_assert_int_eq(access(wal_path, F_OK), 0);
    char tmpfile[160];
    snprintf(tmpfile, sizeof tmpfile, "%s.tmp", wal_path);
    ck_assert_int_eq(access(tmpfile, F_OK), -1);
    ck_assert_int_eq(rp_cswal_append(w, &in[2]), RP_ERR_RANGE); /* the old height */
    ck_assert_int_eq(rp_cswal_append(w, &next[2]), 0);
    rp_cswal_close(w);

    w = open_wal(10, &rep);
    ck_assert_uint_eq(rep.height, 10);
    ck_assert_uint_eq(rep.n, 1);
    input_eq(&rep.inputs[0], &next[2]);
    rp_cswal_replay_free(&rep);
    rp_cswal_close(w);
}
END_TEST

static Suite *guard_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, decide_cases);
    tcase_add_test(tc, guard_round_trip);
    tcase_add_test(tc, guard_decode_refuses);
    tcase_add_test(tc, signed_elsewhere);
    tcase_add_test(tc, signer_signs_and_reuses);
    tcase_add_test(tc, signer_refuses_going_back);
    tcase_add_test(tc, signer_remembers_across_reopen);
    tcase_add_test(tc, signer_refuses_bad_files);
    suite_add_tcase(s, tc);
    TCase *wal = tcase_create("wal");
    tcase_add_checked_fixture(wal, setup, teardown);
    tcase_add_test(wal, wal_round_trip);
    tcase_add_test(wal, wal_structure);
    tcase_add_test(wal, wal_flipped_byte);
    tcase_add_test(wal, cswal_round_trip);
    tcase_add_test(wal, cswal_torn_tail);
    tcase_add_test(wal, cswal_other_heights_and_bad_header);
    tcase_add_test(wal, cswal_new_height);
    suite_add_tcase(s, wal);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(guard_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
