/* The consensus messages' codec (consensus/wire.h): round trips, and every
 * refusal of the decoders with the field it names. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/wire.h"
#include "crypto/error.h"
#include "ledger/block.h"

static rp_cs_vote sample_vote(void)
{
    rp_cs_vote v;
    memset(&v, 0, sizeof v);
    v.type = RP_VOTE_PRECOMMIT;
    v.height = 42;
    v.round = 3;
    memset(v.block_hash.bytes, 0xab, 32);
    v.validator = 5;
    memset(v.sig.bytes, 0x11, 64);
    return v;
}

START_TEST(test_vote_round_trip)
{
    rp_cs_vote v = sample_vote(), w;
    unsigned char buf[RP_CS_VOTE_SIZE];
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), 0);
    ck_assert_int_eq(buf[0], RP_CS_MSG_VOTE);
    ck_assert_int_eq(rp_cs_wire_vote_decode(&w, buf, sizeof buf, NULL), 0);
    ck_assert_mem_eq(&v, &w, sizeof v);
    /* nil */
    memset(v.block_hash.bytes, 0, 32);
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), 0);
    ck_assert_int_eq(rp_cs_wire_vote_decode(&w, buf, sizeof buf, NULL), 0);
    ck_assert(rp_cs_is_nil(&w.block_hash));
}
END_TEST

START_TEST(test_vote_refusals)
{
    rp_cs_vote v = sample_vote(), w;
    unsigned char buf[RP_CS_VOTE_SIZE + 1];
    const char *field;
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), 0);
    ck_assert_int_eq(rp_cs_wire_vote_decode(&w, buf, RP_CS_VOTE_SIZE - 1, &field),
                     RP_ERR_TRUNCATED);
    buf[RP_CS_VOTE_SIZE] = 0;
    ck_assert_int_eq(rp_cs_wire_vote_decode(&w, buf, RP_CS_VOTE_SIZE + 1, &field),
                     RP_ERR_TRAILING);
    buf[1] = 3; /* not a vote type */
    ck_assert_int_eq(rp_cs_wire_vote_decode(&w, buf, RP_CS_VOTE_SIZE, &field), RP_ERR_RANGE);
    ck_assert_str_eq(field, "vote_type");
    ck_assert_int_eq(w.height, 0); /* zeroed on failure */
    buf[1] = 1;
    buf[0] = RP_CS_MSG_STATE;
    ck_assert_int_eq(rp_cs_wire_vote_decode(&w, buf, RP_CS_VOTE_SIZE, &field), RP_ERR_BAD_TYPE);
    v.height = 0;
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), RP_ERR_RANGE);
    v = sample_vote();
    v.validator = RP_CS_MAX_VALIDATORS;
    ck_assert_int_eq(rp_cs_wire_vote(&v, buf), RP_ERR_RANGE);
}
END_TEST

START_TEST(test_proposal_round_trip)
{
    rp_cs_proposal p, q;
    memset(&p, 0, sizeof p);
    p.height = 7;
    p.round = 2;
    p.pol_round = 1;
    memset(p.block_hash.bytes, 0x22, 32);
    p.proposer = 3;
    memset(p.sig.bytes, 0x33, 64);
    unsigned char block[100], pcb[60], buf[RP_CS_PROPOSAL_FIXED + 100 + 60];
    memset(block, 0x44, sizeof block);
    memset(pcb, 0x55, sizeof pcb);
    size_t len;
    const unsigned char *b, *pc;
    size_t blen, plen;
    ck_assert_int_eq(
        rp_cs_wire_proposal(&p, block, sizeof block, pcb, sizeof pcb, buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(len, sizeof buf);
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, buf, len, NULL), 0);
    ck_assert_mem_eq(&p, &q, sizeof p);
    ck_assert_uint_eq(blen, sizeof block);
    ck_assert_mem_eq(b, block, blen);
    ck_assert_uint_eq(plen, sizeof pcb);
    ck_assert_mem_eq(pc, pcb, plen);
    /* pol_round -1 travels as 0xffffffff; no parent commit at height 1 */
    p.pol_round = -1;
    ck_assert_int_eq(rp_cs_wire_proposal(&p, block, sizeof block, NULL, 0, buf, sizeof buf, &len),
                     0);
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, buf, len, NULL), 0);
    ck_assert_int_eq(q.pol_round, -1);
    ck_assert_ptr_null(pc);
    ck_assert_uint_eq(plen, 0);
    /* too small a buffer */
    ck_assert_int_eq(rp_cs_wire_proposal(&p, block, sizeof block, NULL, 0, buf, 50, &len),
                     RP_ERR_BUFFER);
    /* a parent commit longer than any commit */
    ck_assert_int_eq(rp_cs_wire_proposal(&p, block, sizeof block, pcb, RP_COMMIT_MAX_SIZE + 1, buf,
                                         sizeof buf, &len),
                     RP_ERR_TOO_LONG);
}
END_TEST

START_TEST(test_proposal_refusals)
{
    rp_cs_proposal p, q;
    memset(&p, 0, sizeof p);
    p.height = 7;
    p.round = 2;
    p.pol_round = 2; /* not below round */
    unsigned char block[10] = {1}, buf[RP_CS_PROPOSAL_FIXED + 10];
    size_t len;
    const unsigned char *b, *pc;
    size_t blen, plen;
    const char *field;
    ck_assert_int_eq(
        rp_cs_wire_proposal(&p, block, sizeof block, NULL, 0, buf, sizeof buf, &len),
        RP_ERR_RANGE);
    p.pol_round = -1;
    ck_assert_int_eq(rp_cs_wire_proposal(&p, block, 0, NULL, 0, buf, sizeof buf, &len),
                     RP_ERR_TOO_LONG);
    ck_assert_int_eq(
        rp_cs_wire_proposal(&p, block, sizeof block, NULL, 0, buf, sizeof buf, &len), 0);
    /* the parent commit's length past the data */
    unsigned char pcl[sizeof buf];
    memcpy(pcl, buf, sizeof buf);
    pcl[len - 1] = 1;
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, pcl, len, &field),
                     RP_ERR_TRUNCATED);
    /* pol_round 5 at round 2 */
    unsigned char bad[sizeof buf];
    memcpy(bad, buf, sizeof buf);
    bad[13 + 3] = 5;
    memset(bad + 13, 0, 3);
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, bad, len, &field), RP_ERR_RANGE);
    ck_assert_str_eq(field, "pol_round");
    ck_assert_ptr_null(b);
    /* pol_round 0x80000000 below a round of 0xffffff00: not an int32 */
    memcpy(bad, buf, sizeof buf);
    memset(bad + 9, 0xff, 3);
    bad[12] = 0x00;
    bad[13] = 0x80;
    memset(bad + 14, 0, 3);
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, bad, len, &field),
                     RP_ERR_RANGE);
    ck_assert_str_eq(field, "pol_round");
    /* a block length past the data */
    memcpy(bad, buf, sizeof buf);
    bad[RP_CS_PROPOSAL_FIXED - 3] = 11;
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, bad, len, &field),
                     RP_ERR_TRUNCATED);
    /* a block length above the limit, refused before anything is read */
    memcpy(bad, buf, sizeof buf);
    bad[RP_CS_PROPOSAL_FIXED - 6] = 0xff;
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, bad, len, &field),
                     RP_ERR_TOO_LONG);
    ck_assert_str_eq(field, "block_len");
    /* height 0 */
    memcpy(bad, buf, sizeof buf);
    memset(bad + 1, 0, 8);
    ck_assert_int_eq(rp_cs_wire_proposal_decode(&q, &b, &blen, &pc, &plen, bad, len, &field), RP_ERR_RANGE);
    ck_assert_str_eq(field, "height");
}
END_TEST

START_TEST(test_state)
{
    rp_cs_state_msg s, t;
    memset(&s, 0, sizeof s);
    s.height = 9;
    s.round = 1;
    s.step = RP_CS_PRECOMMIT;
    s.has_proposal = 1;
    s.n = 10;
    rp_cs_bit_set(s.prevotes, 0);
    rp_cs_bit_set(s.prevotes, 9);
    rp_cs_bit_set(s.precommits, 4);
    unsigned char buf[RP_CS_STATE_MAX_SIZE];
    size_t len;
    const char *field;
    ck_assert_int_eq(rp_cs_wire_state(&s, buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(len, 1 + 8 + 4 + 1 + 1 + 2 + 2 + 2);
    ck_assert_int_eq(rp_cs_wire_state_decode(&t, buf, len, NULL), 0);
    ck_assert_mem_eq(&s, &t, sizeof s);
    /* a bit past n */
    unsigned char bad[sizeof buf];
    memcpy(bad, buf, len);
    bad[18] |= 0x80; /* second prevote byte, bit 15 */
    ck_assert_int_eq(rp_cs_wire_state_decode(&t, bad, len, &field), RP_ERR_NONCANONICAL);
    /* unknown flags */
    memcpy(bad, buf, len);
    bad[14] = 3;
    ck_assert_int_eq(rp_cs_wire_state_decode(&t, bad, len, &field), RP_ERR_NONCANONICAL);
    ck_assert_str_eq(field, "flags");
    /* step 3 */
    memcpy(bad, buf, len);
    bad[13] = 3;
    ck_assert_int_eq(rp_cs_wire_state_decode(&t, bad, len, &field), RP_ERR_RANGE);
    ck_assert_str_eq(field, "step");
    /* n 0 and n above the limit */
    memcpy(bad, buf, len);
    bad[15] = 0;
    bad[16] = 0;
    ck_assert_int_eq(rp_cs_wire_state_decode(&t, bad, len, &field), RP_ERR_RANGE);
    s.n = RP_CS_MAX_VALIDATORS + 1;
    ck_assert_int_eq(rp_cs_wire_state(&s, buf, sizeof buf, &len), RP_ERR_RANGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cswire");
    TCase *tc = tcase_create("wire");
    tcase_add_test(tc, test_vote_round_trip);
    tcase_add_test(tc, test_vote_refusals);
    tcase_add_test(tc, test_proposal_round_trip);
    tcase_add_test(tc, test_proposal_refusals);
    tcase_add_test(tc, test_state);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
