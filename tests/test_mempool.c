/* The mempool (node/mempool.h) on a real ledger: admission against the tip
 * plus pending records, idempotence, held gaps, limits, signature batches,
 * subscribers and sources, and the move to a new tip after a block of this
 * node's or of another's. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain_fixture.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/mempool.h"
#include "node/solo.h"

static void setup(void)
{
    fx_setup(&(fx_config){
        .chain_name = "repute-test-mempool",
        .seed0 = 0x50,
        .dir_prefix = "/tmp/rp-test-mempool-",
    });
}

/* Events one subscriber saw, for the assertions. */
#define LOG_MAX 64
struct seen {
    size_t ready, dropped, included;
    int last_code;
    rp_hash last_id;
    size_t n;
    rp_mp_event log[LOG_MAX]; /* every event, its msg cleared */
};

/* ev: the subscriber new_pool adds (subscription sub0); ev2: a second one. */
static struct seen ev, ev2;
static rp_mp_sub sub0;

static void on_event(void *ctx, const rp_mp_event *e)
{
    struct seen *s = ctx;
    s->last_id = e->id;
    if (e->kind == RP_MP_EV_READY) {
        s->ready++;
    } else if (e->kind == RP_MP_EV_DROPPED) {
        s->dropped++;
        s->last_code = e->code;
        ck_assert_msg(e->msg && e->msg[0], "a drop says why");
    } else {
        ck_assert_int_eq(e->kind, RP_MP_EV_INCLUDED);
        s->included++;
    }
    ck_assert_uint_lt(s->n, LOG_MAX);
    s->log[s->n] = *e;
    s->log[s->n].msg = NULL;
    s->n++;
}

/* The latest event of a kind a subscriber saw for a record, or NULL. */
static const rp_mp_event *seen_event(const struct seen *s, const rp_hash *id,
                                     enum rp_mp_event_kind kind)
{
    for (size_t i = s->n; i-- > 0;)
        if (s->log[i].kind == kind && rp_hash_eq(&s->log[i].id, id))
            return &s->log[i];
    return NULL;
}

/* seen_event, and fail the test if there is none. */
static const rp_mp_event *saw(const struct seen *s, const rp_hash *id, enum rp_mp_event_kind kind)
{
    const rp_mp_event *e = seen_event(s, id, kind);
    ck_assert_msg(e != NULL, "no event of kind %d for the record", (int)kind);
    return e;
}

/* Identities 1 (talent) and 2 (agent) on chain, in block 1. */
static void register_two(void)
{
    rp_record reg[2] = {fx_identity(1, NULL, RP_ROLE_TALENT, "t"),
                        fx_identity(2, NULL, RP_ROLE_AGENT, "a")};
    fx_ok(reg, 2);
}

static rp_mempool *new_pool(uint32_t max_count, uint64_t max_bytes, uint32_t max_gap)
{
    rp_mempool *mp;
    rp_mempool_limits lim = {max_count, max_bytes, max_gap};
    memset(&ev, 0, sizeof ev);
    memset(&ev2, 0, sizeof ev2);
    ck_assert_int_eq(rp_mempool_new(&mp, fx.st, &lim), 0);
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev, &sub0), 0);
    ck_assert_uint_ne(sub0, 0);
    return mp;
}

static const rp_mp_source from_rpc = {RP_MP_FROM_RPC, 0};

static int submit_from(rp_mempool *mp, const rp_record *r, rp_mp_source src, rp_mp_result *res)
{
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_record_encode(r, buf, sizeof buf, &len), 0);
    return rp_mempool_submit(mp, buf, len, src, fx.now_s, res);
}

static int submit(rp_mempool *mp, const rp_record *r, rp_mp_result *res)
{
    return submit_from(mp, r, from_rpc, res);
}

/* Verify every waiting signature, as the daemon's pool does. */
static void verify_all(rp_mempool *mp)
{
    rp_mp_batch *b;
    while ((b = rp_mempool_take_batch(mp, 16)) != NULL) {
        rp_verify_range(b->items, 0, b->n, b->ok);
        rp_mempool_batch_done(mp, b, fx.now_s);
    }
}

/* Put the ready prefix in a block and tell the pool, as the producer does. */
static size_t produce(rp_mempool *mp)
{
    rp_block_item items[64];
    rp_hash ids[64];
    unsigned char aux[32] = {7};
    size_t n = rp_mempool_block(mp, items, ids, 64, 1 << 20);
    rp_store_error err;
    fx.now_s += 5;
    rp_mempool_release(mp);
    int rc =
        rp_solo_produce(fx.st, items, n, fx.now_s * 1000, &fx.sk[0], aux, NULL, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "block refused: %s", err.msg);
    ck_assert_int_eq(rp_mempool_committed(mp, ids, n, fx.now_s), 0);
    return n;
}

/* A block made without the pool, as another validator would make it: recs
 * in that order, some of which the pool may hold. Out: ids[0..n). */
static void foreign_block(const rp_record *recs, size_t n, rp_hash *ids)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = fx_id(&recs[i]);
    fx_ok(recs, n);
}

START_TEST(test_dependent_records_flow)
{
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record a = fx_identity(1, NULL, RP_ROLE_TALENT, "t"), b = fx_identity(2, NULL, RP_ROLE_BRAND, "b");
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    rp_hash eid = fx_id(&e);
    rp_record rv = fx_review(2, 2, 1, &eid, 5);
    const rp_record all[4] = {a, b, e, rv};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(submit(mp, &all[i], &res), 0);
        ck_assert_int_eq(res.status, RP_MP_VERIFYING);
    }
    /* Idempotent: the same record again changes nothing. */
    ck_assert_int_eq(submit(mp, &rv, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_KNOWN);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 4);

    /* The issuer's next sequence counts its pending records. */
    uint64_t next;
    uint32_t np;
    ck_assert_int_eq(rp_mempool_identity(mp, &fx.pk[1], &next, &np, NULL), 0);
    ck_assert_uint_eq(next, 3);
    ck_assert_uint_eq(np, 2);

    /* Nothing goes into a block before its signatures are verified. */
    rp_block_item items[8];
    ck_assert_uint_eq(rp_mempool_block(mp, items, NULL, 8, 1 << 20), 0);
    verify_all(mp);
    ck_assert_uint_eq(ev.ready, 4);
    ck_assert_uint_eq(produce(mp), 4);
    ck_assert_uint_eq(ev.included, 4);
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 0);
    ck_assert_uint_eq(st.bytes, 0);

    /* On chain now: a resubmission says where. */
    ck_assert_int_eq(submit(mp, &rv, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_INCLUDED);
    ck_assert_uint_eq(res.height, 1);
    ck_assert_uint_eq(res.index, 3);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_gap_held_then_released)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 2);
    rp_mp_result res;
    rp_record v3 = fx_vouch(1, 3, 2), v4 = fx_engagement(1, 4, 2, RP_ENG_SPONSORSHIP);
    /* Sequence 4 is two ahead of the next (2): held. 5 is too far. */
    ck_assert_int_eq(submit(mp, &v4, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_record e5 = fx_engagement(1, 5, 2, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &e5, &res), RP_ERR_SEQUENCE_GAP);
    ck_assert_uint_eq(res.expected_seq, 2);
    ck_assert_str_ne(res.msg, "");
    /* 3 is held too; 2 fills the gap and releases both, in order. */
    ck_assert_int_eq(submit(mp, &v3, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_record e2 = fx_engagement(1, 2, 2, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &e2, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_VERIFYING);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.held, 0);
    ck_assert_uint_eq(st.count, 3);
    verify_all(mp);
    ck_assert_uint_eq(produce(mp), 3);
    uint64_t next;
    uint32_t np;
    ck_assert_int_eq(rp_mempool_identity(mp, &fx.pk[1], &next, &np, NULL), 0);
    ck_assert_uint_eq(next, 5);
    ck_assert_uint_eq(np, 0);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_rules_and_limits)
{
    register_two();
    rp_mempool *mp = new_pool(2, 1 << 20, 4);
    rp_mp_result res;
    /* A rule violation: a review without an engagement. */
    rp_hash none = {{9}};
    rp_record bad = fx_review(1, 2, 2, &none, 5);
    ck_assert_int_eq(submit(mp, &bad, &res), RP_ERR_NO_ENGAGEMENT);
    ck_assert_str_ne(res.msg, "");
    /* Garbage does not decode. */
    unsigned char junk[10] = {0xff};
    ck_assert_int_ne(rp_mempool_submit(mp, junk, sizeof junk, from_rpc, fx.now_s, &res), 0);
    /* Full by count. */
    rp_record v2 = fx_vouch(1, 2, 2), e3 = fx_engagement(1, 3, 2, RP_ENG_GIG),
              e4 = fx_engagement(1, 4, 2, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &v2, &res), 0);
    ck_assert_int_eq(submit(mp, &e3, &res), 0);
    ck_assert_int_eq(submit(mp, &e4, &res), RP_ERR_MEMPOOL_FULL);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 2);
    ck_assert_uint_eq(st.rejected, 3);
    rp_mempool_free(mp);

    /* Full by bytes. */
    mp = new_pool(100, 150, 4);
    ck_assert_int_eq(submit(mp, &v2, &res), 0);
    ck_assert_int_eq(submit(mp, &e3, &res), RP_ERR_MEMPOOL_FULL);
    /* Closed: nothing more comes in. */
    rp_mempool_close(mp);
    ck_assert_int_eq(submit(mp, &e3, &res), RP_ERR_SHUTDOWN);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_bad_signature_drops_dependents)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    e.sigs[1].bytes[5] ^= 1; /* the counterparty's signature is broken */
    rp_hash eid = fx_id(&e);
    rp_record rv = fx_review(2, 2, 1, &eid, 5), v = fx_vouch(2, 3, 1);
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    ck_assert_int_eq(submit(mp, &rv, &res), 0);
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    verify_all(mp);
    /* The engagement goes, and the review that needed it; the vouch
     * depended only on the review's sequence, so it goes as well. */
    ck_assert_uint_ge(ev.dropped, 2);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count + ev.dropped, 3);
    enum rp_mp_status status;
    ck_assert_int_eq(rp_mempool_find(mp, &eid, &status, NULL, NULL), RP_ERR_NOT_FOUND);
    /* Whatever is left is valid: a block of it is accepted. */
    verify_all(mp);
    produce(mp);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_block_time_recheck)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG); /* expires an hour from now */
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    verify_all(mp);
    /* Two hours pass before the next block: the rebuild drops it (its
     * time is now outside the tolerance, and it has expired). */
    fx.now_s += 7200;
    ck_assert_int_eq(rp_mempool_rebuild(mp, fx.now_s, NULL, 0, NULL), 0);
    ck_assert_uint_eq(ev.dropped, 1);
    ck_assert(ev.last_code == RP_ERR_RECORD_TIME || ev.last_code == RP_ERR_EXPIRED);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_block_sigs)
{
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record reg[2] = {fx_identity(1, NULL, RP_ROLE_TALENT, "t"),
                        fx_identity(2, NULL, RP_ROLE_AGENT, "a")};
    ck_assert_int_eq(submit(mp, &reg[0], &res), 0);
    ck_assert_int_eq(submit(mp, &reg[1], &res), 0);
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    rp_block_item items[8];
    ck_assert_uint_eq(rp_mempool_block(mp, items, NULL, 8, 1 << 20), 0); /* nothing verified yet */
    verify_all(mp);
    ck_assert_uint_eq(rp_mempool_block(mp, items, NULL, 8, 1 << 20), 3);
    /* Four signatures (one each, two for the engagement), each checkable. */
    rp_sig_item sigs[8];
    ck_assert_uint_eq(rp_mempool_block_sigs(mp, 3, sigs, 8), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert(rp_verify(&sigs[i].sig, sigs[i].msg.bytes, 32, &sigs[i].key));
    ck_assert_uint_eq(rp_mempool_block_sigs(mp, 2, sigs, 8), 2);
    ck_assert_uint_eq(rp_mempool_block_sigs(mp, 3, sigs, 3), 3); /* bounded by cap */
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_freeze_defers_recheck)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record v = fx_vouch(1, 2, 2);
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    verify_all(mp);
    rp_block_item items[4];
    ck_assert_uint_eq(rp_mempool_block(mp, items, NULL, 4, 1 << 20), 1);
    rp_mempool_freeze(mp);
    /* While the block is made, a bad engagement and a review needing it
     * come in; the bad one goes at once, its dependent at the rebuild. */
    rp_record e = fx_engagement(1, 3, 2, RP_ENG_GIG);
    e.sigs[0].bytes[9] ^= 1;
    rp_hash eid = fx_id(&e);
    rp_record rv = fx_review(2, 2, 1, &eid, 5);
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    ck_assert_int_eq(submit(mp, &rv, &res), 0);
    verify_all(mp);
    ck_assert_uint_eq(ev.dropped, 1);
    /* The block's record is untouched, its bytes still valid: the block
     * taken before the freeze is applied as it was. */
    unsigned char aux[32] = {3};
    rp_store_error err;
    fx.now_s += 5;
    ck_assert_int_eq(
        rp_solo_produce(fx.st, items, 1, fx.now_s * 1000, &fx.sk[0], aux, NULL, NULL, NULL, &err),
        0);
    ck_assert_int_eq(rp_mempool_rebuild(mp, fx.now_s, NULL, 0, NULL), 0);
    ck_assert_uint_eq(ev.dropped, 2);
    ck_assert_uint_eq(ev.included, 1);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_held_cap_and_ttl)
{
    register_two();
    rp_mempool *mp = new_pool(8, 1 << 20, 4); /* held records: at most 2 */
    rp_mp_result res;
    rp_record e3 = fx_engagement(1, 3, 2, RP_ENG_GIG), e4 = fx_engagement(1, 4, 2, RP_ENG_GIG),
              e5 = fx_engagement(1, 5, 2, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &e3, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    ck_assert_int_eq(submit(mp, &e4, &res), 0);
    ck_assert_int_eq(submit(mp, &e5, &res), RP_ERR_MEMPOOL_FULL);
    ck_assert_str_ne(res.msg, "");
    /* Nobody sends sequence 2: after the TTL the next rebuild drops them. */
    ck_assert_int_eq(rp_mempool_rebuild(mp, fx.now_s + 10, NULL, 0, NULL), 0);
    ck_assert_uint_eq(ev.dropped, 0);
    ck_assert_int_eq(rp_mempool_rebuild(mp, fx.now_s + RP_MEMPOOL_HELD_TTL_S, NULL, 0, NULL), 0);
    ck_assert_uint_eq(ev.dropped, 2);
    ck_assert_int_eq(ev.last_code, RP_ERR_SEQUENCE_GAP);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 0);
    ck_assert_uint_eq(st.held, 0);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_partial_blocks_advance)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    /* Six records of issuer 1, then a review that needs the last one. */
    rp_record recs[7];
    for (uint64_t q = 2; q < 8; q++)
        recs[q - 2] = fx_engagement(1, q, 2, RP_ENG_GIG);
    rp_hash last = fx_id(&recs[5]);
    recs[6] = fx_review(2, 2, 1, &last, 4);
    for (size_t i = 0; i < 7; i++)
        ck_assert_int_eq(submit(mp, &recs[i], &res), 0);
    verify_all(mp);
    /* Blocks of two: each time the pool moves to the new tip without
     * checking the rest again, and the rest stays valid on top. */
    for (size_t round = 0; round < 3; round++) {
        rp_block_item items[2];
        rp_hash ids[2];
        unsigned char aux[32] = {(unsigned char)round};
        rp_store_error err;
        size_t n = rp_mempool_block(mp, items, ids, 2, 1 << 20);
        ck_assert_uint_eq(n, 2);
        rp_mempool_freeze(mp);
        fx.now_s += 5;
        ck_assert_int_eq(rp_solo_produce(fx.st, items, n, fx.now_s * 1000, &fx.sk[0], aux, NULL,
                                         NULL, NULL, &err),
                         0);
        ck_assert_int_eq(rp_mempool_committed(mp, ids, n, fx.now_s), 0);
        ck_assert_uint_eq(ev.included, 2 * (round + 1));
        uint64_t next;
        uint32_t np;
        ck_assert_int_eq(rp_mempool_identity(mp, &fx.pk[1], &next, &np, NULL), 0);
        ck_assert_uint_eq(next, 8);
        ck_assert_uint_eq(np, 4 - 2 * round);
        /* An included record resubmitted says where it is, from the chain. */
        rp_record again = recs[2 * round];
        ck_assert_int_eq(submit(mp, &again, &res), 0);
        ck_assert_int_eq(res.status, RP_MP_INCLUDED);
        ck_assert_uint_eq(res.height, 2 + round);
        ck_assert_uint_eq(res.index, 0);
    }
    /* The review, admitted on top of a pending engagement, goes last. */
    ck_assert_uint_eq(produce(mp), 1);
    ck_assert_uint_eq(ev.included, 7);
    ck_assert_uint_eq(ev.dropped, 0);
    rp_mempool_free(mp);
}
END_TEST

/* ---- subscribers ------------------------------------------------------------------ */

static void assert_same_events(const struct seen *a, const struct seen *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const rp_mp_event *x = &a->log[i], *y = &b->log[i];
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert(rp_hash_eq(&x->id, &y->id));
        ck_assert_int_eq(x->code, y->code);
        ck_assert_uint_eq(x->height, y->height);
        ck_assert_uint_eq(x->index, y->index);
        ck_assert_int_eq(x->source.origin, y->source.origin);
        ck_assert_uint_eq(x->source.peer, y->source.peer);
    }
}

START_TEST(test_two_subscribers)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_sub sub2;
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev2, &sub2), 0);
    ck_assert_uint_ne(sub2, sub0);
    rp_mp_result res;
    rp_record v = fx_vouch(1, 2, 2), e = fx_engagement(2, 2, 1, RP_ENG_GIG);
    rp_record bad = fx_vouch(2, 3, 1);
    bad.sigs[0].bytes[3] ^= 1;
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    ck_assert_int_eq(submit(mp, &bad, &res), 0);
    /* Each subscriber has its own pointer on a record, and sees only its own. */
    rp_hash vid = fx_id(&v);
    int mine = 1, yours = 2;
    ck_assert_int_eq(rp_mempool_set_user(mp, sub0, &vid, &mine), 0);
    ck_assert_int_eq(rp_mempool_set_user(mp, sub2, &vid, &yours), 0);
    ck_assert_ptr_eq(rp_mempool_get_user(mp, sub0, &vid), &mine);
    ck_assert_ptr_eq(rp_mempool_get_user(mp, sub2, &vid), &yours);
    verify_all(mp);
    ck_assert_ptr_eq(saw(&ev, &vid, RP_MP_EV_READY)->user, &mine);
    ck_assert_ptr_eq(saw(&ev2, &vid, RP_MP_EV_READY)->user, &yours);
    produce(mp);
    /* Both saw every event: two READY, one DROPPED, two INCLUDED, alike. */
    ck_assert_uint_eq(ev.ready, 2);
    ck_assert_uint_eq(ev.dropped, 1);
    ck_assert_int_eq(ev.last_code, RP_ERR_BAD_SIGNATURE);
    ck_assert_uint_eq(ev.included, 2);
    assert_same_events(&ev, &ev2);
    ck_assert_ptr_eq(saw(&ev2, &vid, RP_MP_EV_INCLUDED)->user, &yours);
    rp_hash eid = fx_id(&e);
    ck_assert_ptr_null(saw(&ev2, &eid, RP_MP_EV_INCLUDED)->user);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_subscribers_bounded)
{
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_sub subs[RP_MEMPOOL_MAX_SUBSCRIBERS], extra;
    subs[0] = sub0;
    for (size_t i = 1; i < RP_MEMPOOL_MAX_SUBSCRIBERS; i++)
        ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev2, &subs[i]), 0);
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev2, &extra), RP_ERR_TOO_MANY);
    ck_assert_uint_eq(extra, 0);
    /* A freed slot takes a new subscriber. */
    ck_assert_int_eq(rp_mempool_unsubscribe(mp, subs[3]), 0);
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev2, &extra), 0);
    rp_mempool_free(mp);
}
END_TEST

/* A subscriber that leaves on its first event. */
static rp_mempool *leaving_mp;
static rp_mp_sub leaving_sub;
static size_t leaving_calls;

static void on_event_leave(void *ctx, const rp_mp_event *e)
{
    (void)ctx, (void)e;
    leaving_calls++;
    ck_assert_int_eq(rp_mempool_unsubscribe(leaving_mp, leaving_sub), 0);
}

START_TEST(test_unsubscribe)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_sub sub2;
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev2, &sub2), 0);
    leaving_mp = mp;
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event_leave, NULL, &leaving_sub), 0);
    rp_mp_result res;
    rp_record v = fx_vouch(1, 2, 2), e = fx_engagement(2, 2, 1, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    rp_hash vid = fx_id(&v);
    int p = 1;
    ck_assert_int_eq(rp_mempool_set_user(mp, sub2, &vid, &p), 0);
    ck_assert_int_eq(rp_mempool_unsubscribe(mp, sub2), 0);
    /* Gone at once: a second unsubscribe, or a stale handle, names nothing. */
    ck_assert_int_eq(rp_mempool_unsubscribe(mp, sub2), RP_ERR_NOT_FOUND);
    ck_assert_int_eq(rp_mempool_set_user(mp, sub2, &vid, &p), RP_ERR_NOT_FOUND);
    ck_assert_ptr_null(rp_mempool_get_user(mp, sub2, &vid));
    ck_assert_int_eq(rp_mempool_unsubscribe(mp, 0), RP_ERR_NOT_FOUND);
    /* The slot's next subscriber does not inherit the old one's pointers. */
    rp_mp_sub sub3;
    ck_assert_int_eq(rp_mempool_subscribe(mp, on_event, &ev2, &sub3), 0);
    ck_assert_uint_ne(sub3, sub2);
    ck_assert_ptr_null(rp_mempool_get_user(mp, sub3, &vid));
    ck_assert_int_eq(rp_mempool_unsubscribe(mp, sub3), 0);
    verify_all(mp);
    produce(mp);
    /* The first subscriber saw all four events, the others none at all
     * after leaving; the one that left from its callback saw exactly one. */
    ck_assert_uint_eq(ev.n, 4);
    ck_assert_uint_eq(ev2.n, 0);
    ck_assert_uint_eq(leaving_calls, 1);
    rp_mempool_free(mp);
}
END_TEST

/* ---- sources ---------------------------------------------------------------------- */

START_TEST(test_source_first_wins)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    const rp_mp_source peer7 = {RP_MP_FROM_PEER, 7}, peer9 = {RP_MP_FROM_PEER, 9};
    rp_record v = fx_vouch(1, 2, 2);
    rp_hash vid = fx_id(&v);
    ck_assert_int_eq(submit_from(mp, &v, peer7, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_VERIFYING);
    rp_mp_source src;
    ck_assert_int_eq(rp_mempool_source(mp, &vid, &src), 0);
    ck_assert_int_eq(src.origin, RP_MP_FROM_PEER);
    ck_assert_uint_eq(src.peer, 7);
    /* The same record from RPC, then from another peer: nothing changes. */
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_KNOWN);
    ck_assert_int_eq(submit_from(mp, &v, peer9, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_KNOWN);
    ck_assert_int_eq(rp_mempool_source(mp, &vid, &src), 0);
    ck_assert_int_eq(src.origin, RP_MP_FROM_PEER);
    ck_assert_uint_eq(src.peer, 7);
    /* A held record keeps its source when its turn comes. */
    rp_record h = fx_vouch(2, 3, 1), g = fx_engagement(2, 2, 1, RP_ENG_GIG);
    rp_hash hid = fx_id(&h), gid = fx_id(&g);
    ck_assert_int_eq(submit_from(mp, &h, peer9, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    ck_assert_int_eq(submit(mp, &g, &res), 0);
    ck_assert_int_eq(rp_mempool_source(mp, &hid, &src), 0);
    ck_assert_uint_eq(src.peer, 9);
    rp_mp_source bogus = {0, 0};
    ck_assert_int_eq(submit_from(mp, &h, bogus, &res), RP_ERR_INVALID_ARG);
    /* Subscribers get each record's source with every event. */
    verify_all(mp);
    produce(mp);
    ck_assert_uint_eq(saw(&ev, &vid, RP_MP_EV_READY)->source.peer, 7);
    ck_assert_uint_eq(saw(&ev, &vid, RP_MP_EV_INCLUDED)->source.peer, 7);
    ck_assert_uint_eq(saw(&ev, &hid, RP_MP_EV_READY)->source.peer, 9);
    ck_assert_int_eq(saw(&ev, &gid, RP_MP_EV_INCLUDED)->source.origin, RP_MP_FROM_RPC);
    ck_assert_int_eq(rp_mempool_source(mp, &vid, &src), RP_ERR_NOT_FOUND);
    rp_mempool_free(mp);
}
END_TEST

/* ---- blocks of other nodes -------------------------------------------------------- */

START_TEST(test_foreign_block_any_order)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    /* Pending: a, b, c (in that order); held: h, waiting for 2's sequence 3. */
    rp_record a = fx_vouch(1, 2, 2), b = fx_vouch(2, 2, 1), c = fx_engagement(1, 3, 2, RP_ENG_GIG);
    rp_record h = fx_engagement(2, 4, 1, RP_ENG_SPONSORSHIP);
    const rp_record mine[4] = {a, b, c, h};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(submit(mp, &mine[i], &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    verify_all(mp);
    ck_assert_uint_eq(ev.ready, 3);
    /* Another validator's block: b and a in reverse order, h, and records the
     * pool never saw (2's sequence 3, a new identity). */
    rp_record u = fx_engagement(2, 3, 1, RP_ENG_GIG), x = fx_identity(3, NULL, RP_ROLE_BRAND, "x");
    const rp_record blk[5] = {b, u, h, x, a};
    rp_hash ids[5];
    foreign_block(blk, 5, ids);
    ck_assert_int_eq(rp_mempool_committed(mp, ids, 5, fx.now_s), 0);
    /* What the pool held leaves as included, where the block has it. */
    const size_t at[3] = {0, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        const rp_mp_event *inc = saw(&ev, &ids[at[i]], RP_MP_EV_INCLUDED);
        ck_assert_uint_eq(inc->height, 2);
        ck_assert_uint_eq(inc->index, at[i]);
    }
    ck_assert_uint_eq(ev.included, 3);
    ck_assert_uint_eq(ev.dropped, 0);
    /* The rest stays valid on the new tip, and goes into the next block. */
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 1);
    ck_assert_uint_eq(st.held, 0);
    ck_assert_uint_eq(st.ready, 1);
    uint64_t next;
    uint32_t np;
    ck_assert_int_eq(rp_mempool_identity(mp, &fx.pk[2], &next, &np, NULL), 0);
    ck_assert_uint_eq(next, 5);
    ck_assert_uint_eq(np, 0);
    ck_assert_uint_eq(produce(mp), 1);
    rp_hash cid = fx_id(&c);
    const rp_mp_event *inc = saw(&ev, &cid, RP_MP_EV_INCLUDED);
    ck_assert_uint_eq(inc->height, 3);
    ck_assert_uint_eq(ev.dropped, 0);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_foreign_block_conflict)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    /* Pending: 1's engagement e (sequence 2), 2's review r of it, 2's
     * vouch w after r, and an unrelated registration; held: 1's sequence 4. */
    rp_record e = fx_engagement(1, 2, 2, RP_ENG_GIG);
    rp_hash eid = fx_id(&e);
    rp_record r = fx_review(2, 2, 1, &eid, 5), w = fx_vouch(2, 3, 1);
    rp_record reg = fx_identity(3, NULL, RP_ROLE_BRAND, "x");
    rp_record h = fx_engagement(1, 4, 2, RP_ENG_SPONSORSHIP);
    const rp_record mine[5] = {e, r, w, reg, h};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(submit(mp, &mine[i], &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    verify_all(mp);
    ck_assert_uint_eq(ev.ready, 4);
    /* Another validator's block gives 1's sequences 2, 3 and 4 to other
     * records. */
    const rp_record blk[3] = {fx_vouch(1, 2, 2), fx_engagement(1, 3, 2, RP_ENG_SPONSORSHIP),
                              fx_engagement(1, 4, 2, RP_ENG_GIG)};
    rp_hash ids[3];
    foreign_block(blk, 3, ids);
    ck_assert_int_eq(rp_mempool_committed(mp, ids, 3, fx.now_s), 0);
    /* e lost its sequence; r needed e and w needed r's sequence; h lost its
     * sequence too. Each leaves with a DROPPED event and its reason. */
    ck_assert_uint_eq(ev.included, 0);
    ck_assert_uint_eq(ev.dropped, 4);
    const rp_hash rid = fx_id(&r), wid = fx_id(&w), hid = fx_id(&h);
    ck_assert_int_eq(saw(&ev, &eid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SEQUENCE);
    ck_assert_int_eq(saw(&ev, &rid, RP_MP_EV_DROPPED)->code, RP_ERR_NO_ENGAGEMENT);
    ck_assert_int_eq(saw(&ev, &wid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SEQUENCE);
    ck_assert_int_eq(saw(&ev, &hid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SEQUENCE);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 1);
    ck_assert_uint_eq(st.held, 0);
    /* The unrelated record is untouched and valid. */
    ck_assert_uint_eq(produce(mp), 1);
    ck_assert_uint_eq(ev.included, 1);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_own_block_fast_path)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record v = fx_vouch(1, 2, 2), e = fx_engagement(2, 2, 1, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    ck_assert_int_eq(submit(mp, &e, &res), 0);
    verify_all(mp);
    rp_block_item items[1];
    rp_hash ids[1];
    unsigned char aux[32] = {5};
    rp_store_error err;
    ck_assert_uint_eq(rp_mempool_block(mp, items, ids, 1, 1 << 20), 1);
    rp_hash vid = fx_id(&v);
    ck_assert(rp_hash_eq(&ids[0], &vid));
    rp_mempool_freeze(mp);
    fx.now_s += 5;
    ck_assert_int_eq(rp_solo_produce(fx.st, items, 1, fx.now_s * 1000, &fx.sk[0], aux, NULL,
                                            NULL, NULL, &err),
                     0);
    /* Told long after the records' time tolerance (600 s): the block of the
     * pool's oldest record moves the pool on without checking e again... */
    uint64_t late = fx.now_s + 700;
    ck_assert_int_eq(rp_mempool_committed(mp, ids, 1, late), 0);
    ck_assert_uint_eq(ev.included, 1);
    ck_assert_uint_eq(saw(&ev, &ids[0], RP_MP_EV_INCLUDED)->height, 2);
    ck_assert_uint_eq(ev.dropped, 0);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.ready, 1);
    uint64_t next;
    uint32_t np;
    ck_assert_int_eq(rp_mempool_identity(mp, &fx.pk[1], &next, &np, NULL), 0);
    ck_assert_uint_eq(next, 3);
    ck_assert_uint_eq(np, 0);
    /* ...which a full re-check at that time would have done. */
    ck_assert_int_eq(rp_mempool_rebuild(mp, late, NULL, 0, NULL), 0);
    ck_assert_uint_eq(ev.dropped, 1);
    ck_assert_int_eq(ev.last_code, RP_ERR_RECORD_TIME);
    rp_mempool_free(mp);
}
END_TEST

/* Identity 2 rotates to key 7 (pending), then 1's engagement x with 2 is
 * co-signed by key 7 and 1's review y of x follows; all verified. */
static void rotation_then_dependents(rp_mempool *mp, rp_hash *xid, rp_hash *yid)
{
    rp_mp_result res;
    rp_record ro = fx_base(RP_REC_ROTATE, 2, 2);
    ro.body.rotate.new_key = fx.pk[7];
    rp_recovery_commitment(&ro.body.rotate.new_recovery, &fx.pk[FX_NKEYS - 1]);
    ro.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    fx_sign(&ro, 0, 2);
    rp_record x = fx_engagement(1, 2, 2, RP_ENG_GIG);
    fx_sign(&x, 1, 7);
    *xid = fx_id(&x);
    rp_record y = fx_review(1, 3, 2, xid, 5);
    *yid = fx_id(&y);
    ck_assert_int_eq(submit(mp, &ro, &res), 0);
    ck_assert_int_eq(submit(mp, &x, &res), 0);
    ck_assert_int_eq(submit(mp, &y, &res), 0);
}

/* Another validator's block gives 2's sequence 2 to another record: the
 * rotation is gone, and x must now be signed by 2's old key. */
static void block_without_rotation(rp_mempool *mp, uint64_t now_s)
{
    rp_record c = fx_vouch(2, 2, 1);
    rp_hash cid;
    foreign_block(&c, 1, &cid);
    ck_assert_int_eq(rp_mempool_committed(mp, &cid, 1, now_s), 0);
}

START_TEST(test_oom_drop_rechecks_dependents)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_hash xid, yid;
    rotation_then_dependents(mp, &xid, &yid);
    verify_all(mp);
    ck_assert_uint_eq(ev.ready, 3);
    /* x's signatures must be verified again, but the queue for that cannot
     * grow: x goes, and y, which needs x's engagement and sequence, with it,
     * not left in the pool on top of x's changes. */
    rp_mempool_test_fail_queue(mp, 1);
    block_without_rotation(mp, fx.now_s);
    ck_assert_int_eq(saw(&ev, &xid, RP_MP_EV_DROPPED)->code, RP_ERR_NOMEM);
    saw(&ev, &yid, RP_MP_EV_DROPPED);
    ck_assert_uint_eq(ev.dropped, 3);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 0);
    rp_mempool_free(mp);
}
END_TEST

START_TEST(test_stale_batch_ignored)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_hash xid, yid;
    rotation_then_dependents(mp, &xid, &yid);
    /* x's signatures are out for verification when the block changes which
     * key must co-sign it; a second batch takes them again. */
    rp_mp_batch *old = rp_mempool_take_batch(mp, 16);
    ck_assert_ptr_nonnull(old);
    block_without_rotation(mp, fx.now_s);
    rp_mp_batch *cur = rp_mempool_take_batch(mp, 16);
    ck_assert_ptr_nonnull(cur);
    ck_assert_ptr_null(rp_mempool_take_batch(mp, 16));
    /* The old batch (key 7: good) does not count; the current one (2's own
     * key: bad) decides, at once, and y goes with x. */
    rp_verify_range(old->items, 0, old->n, old->ok);
    rp_mempool_batch_done(mp, old, fx.now_s);
    ck_assert_ptr_null(seen_event(&ev, &xid, RP_MP_EV_DROPPED));
    ck_assert_ptr_null(seen_event(&ev, &xid, RP_MP_EV_READY));
    /* (y still needs the same signature: the old batch's answer holds.) */
    ck_assert_uint_eq(ev.ready, 1);
    saw(&ev, &yid, RP_MP_EV_READY);
    rp_verify_range(cur->items, 0, cur->n, cur->ok);
    rp_mempool_batch_done(mp, cur, fx.now_s);
    ck_assert_int_eq(saw(&ev, &xid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SIGNATURE);
    saw(&ev, &yid, RP_MP_EV_DROPPED);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 0);
    ck_assert_ptr_null(rp_mempool_take_batch(mp, 16));
    rp_mempool_free(mp);
}
END_TEST

/* ---- held records: only verified ones, never a squatter ----------------------------- */

/* An IDENTITY update of identity i at sequence seq (same role as
 * register_two gives 1 and 2 would keep, a name of its own), signed by
 * key signer: a cheap record an issuer may send again and again. */
static rp_record update(size_t i, uint64_t seq, unsigned n, size_t signer)
{
    rp_record r = fx_base(RP_REC_IDENTITY, i, seq);
    r.body.identity.role = RP_ROLE_TALENT;
    int k = snprintf(r.body.identity.name, sizeof r.body.identity.name, "update %u", n);
    r.body.identity.name_len = (uint8_t)k;
    fx_sign(&r, 0, signer);
    return r;
}

/* A ROTATE of identity i (sequence seq) to key new_key, by its current key. */
static rp_record rotate(size_t i, uint64_t seq, size_t new_key)
{
    rp_record r = fx_base(RP_REC_ROTATE, i, seq);
    r.body.rotate.new_key = fx.pk[new_key];
    r.body.rotate.auth = RP_ROTATE_BY_CURRENT;
    fx_sign(&r, 0, i);
    return r;
}

/* Where the pool has a record, and whether it would serve its bytes. */
static enum rp_mp_status find_status(rp_mempool *mp, const rp_record *r, int *served)
{
    rp_hash id = fx_id(r);
    enum rp_mp_status status = 0;
    const unsigned char *bytes = (const unsigned char *)"x";
    size_t len = 7;
    ck_assert_int_eq(rp_mempool_find(mp, &id, &status, &bytes, &len), 0);
    *served = bytes != NULL;
    if (bytes) {
        unsigned char buf[RP_RECORD_MAX_SIZE];
        size_t n;
        ck_assert_int_eq(rp_record_encode(r, buf, sizeof buf, &n), 0);
        ck_assert_uint_eq(len, n);
        ck_assert_mem_eq(bytes, buf, n);
    } else {
        ck_assert_uint_eq(len, 0);
    }
    return status;
}

static void assert_not_in_pool(rp_mempool *mp, const rp_record *r)
{
    rp_hash id = fx_id(r);
    enum rp_mp_status status;
    ck_assert_int_eq(rp_mempool_find(mp, &id, &status, NULL, NULL), RP_ERR_NOT_FOUND);
}

/* The flood of issue 10: records a little ahead of the next sequence, by
 * issuers nobody registered, signed with random bytes. None is held (an
 * issuer with no key cannot have signed anything), so the held quarter
 * stays free for a real issuer's record. */
START_TEST(test_held_unregistered_refused)
{
    register_two();
    rp_mempool *mp = new_pool(40000, 64 << 20, 16); /* room for 10000 held */
    rp_mp_result res;
    for (uint64_t i = 0; i < 5200; i++) {
        rp_record r = fx_base(RP_REC_VOUCH, 1, 2 + i % 16);
        unsigned char rnd[32];
        rp_aux_derive(rnd, fx.seed, 1000000 + i);
        memcpy(r.issuer.bytes, rnd, 32);
        r.body.vouch.subject = fx.pk[1];
        r.body.vouch.relation = RP_VOUCH_KNOWS;
        for (size_t h = 0; h < 2; h++) {
            rp_aux_derive(rnd, fx.seed, 2000000 + 2 * i + h);
            memcpy(r.sigs[0].bytes + 32 * h, rnd, 32);
        }
        ck_assert_int_eq(submit(mp, &r, &res), RP_ERR_NOT_REGISTERED);
        ck_assert_str_ne(res.msg, "");
    }
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.held, 0);
    ck_assert_uint_eq(st.count, 0);
    ck_assert_uint_eq(st.rejected, 5200);
    ck_assert_uint_eq(ev.n, 0);
    /* A real issuer's record a little ahead is held as ever. */
    rp_record v = fx_vouch(1, 3, 2);
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    /* An issuer whose registration is pending has a key, that one: its
     * records ahead are held if they verify with it, refused if not. */
    rp_record reg3 = fx_identity(3, NULL, RP_ROLE_BRAND, "b");
    ck_assert_int_eq(submit(mp, &reg3, &res), 0);
    rp_record forged = fx_base(RP_REC_VOUCH, 3, 3);
    forged.body.vouch.subject = fx.pk[1];
    forged.body.vouch.relation = RP_VOUCH_KNOWS;
    fx_sign(&forged, 0, 4);
    ck_assert_int_eq(submit(mp, &forged, &res), RP_ERR_BAD_SIGNATURE);
    rp_record w = fx_vouch(3, 3, 1);
    ck_assert_int_eq(submit(mp, &w, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.held, 2);
    rp_mempool_free(mp);
}
END_TEST

/* A ROTATE by recovery held ahead of its sequence: signed by the revealed
 * recovery key, which must match the issuer's commitment. */
START_TEST(test_held_rotation_by_recovery)
{
    const size_t rk = FX_NKEYS - 1;
    rp_record reg = fx_identity(3, &fx.pk[rk], RP_ROLE_TALENT, "r");
    fx_ok(&reg, 1);
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record wrong = fx_base(RP_REC_ROTATE, 3, 3);
    wrong.body.rotate.new_key = fx.pk[9];
    wrong.body.rotate.auth = RP_ROTATE_BY_RECOVERY;
    wrong.body.rotate.recovery_key = fx.pk[10];
    fx_sign(&wrong, 0, 10);
    ck_assert_int_eq(submit(mp, &wrong, &res), RP_ERR_RECOVERY_MISMATCH);
    rp_record ro = fx_base(RP_REC_ROTATE, 3, 3);
    ro.body.rotate.new_key = fx.pk[9];
    ro.body.rotate.auth = RP_ROTATE_BY_RECOVERY;
    ro.body.rotate.recovery_key = fx.pk[rk];
    rp_record unsigned_ro = ro;
    fx_sign(&unsigned_ro, 0, 3); /* by the current key, not the recovery key */
    ck_assert_int_eq(submit(mp, &unsigned_ro, &res), RP_ERR_BAD_SIGNATURE);
    fx_sign(&ro, 0, rk);
    ck_assert_int_eq(submit(mp, &ro, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_record fill = update(3, 2, 2, 3);
    rp_recovery_commitment(&fill.body.identity.recovery, &fx.pk[rk]); /* an update keeps it */
    fx_sign(&fill, 0, 3);
    ck_assert_int_eq(submit(mp, &fill, &res), 0);
    rp_hash rid = fx_id(&ro);
    saw(&ev, &rid, RP_MP_EV_READY); /* its check did not change: ready at once */
    verify_all(mp);
    ck_assert_uint_eq(produce(mp), 2);
    rp_identity_state is;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[3], &is), 0);
    ck_assert_mem_eq(is.key.bytes, fx.pk[9].bytes, 32);
    rp_mempool_free(mp);
}
END_TEST

/* A registered issuer's held candidates are verified before they are held:
 * a broken signature, a valid signature by another key, and an engagement
 * whose (registered) counterparty did not sign are all refused. */
START_TEST(test_held_bad_signature_refused)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record flipped = fx_vouch(1, 3, 2);
    flipped.sigs[0].bytes[17] ^= 0x20;
    rp_record other = fx_base(RP_REC_VOUCH, 1, 3);
    other.body.vouch.subject = fx.pk[2];
    other.body.vouch.relation = RP_VOUCH_KNOWS;
    fx_sign(&other, 0, 2); /* valid, but by 2's key */
    rp_record eng = fx_engagement(1, 4, 2, RP_ENG_GIG);
    eng.sigs[1].bytes[40] ^= 0x01;
    const rp_record bad[3] = {flipped, other, eng};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(submit(mp, &bad[i], &res), RP_ERR_BAD_SIGNATURE);
        ck_assert_str_ne(res.msg, "");
        assert_not_in_pool(mp, &bad[i]);
    }
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.held, 0);
    ck_assert_uint_eq(st.count, 0);

    /* The cost on the loop: one synchronous verification per refused
     * candidate (a figure for mempool.h, not a timed assertion). */
    enum { N = 400 };
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    ck_assert_int_eq(rp_record_encode(&flipped, buf, sizeof buf, &len), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        buf[len - 1] = (unsigned char)i; /* another bad signature, same record id */
        ck_assert_int_eq(rp_mempool_submit(mp, buf, len, from_rpc, fx.now_s, &res),
                         RP_ERR_BAD_SIGNATURE);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    fprintf(stderr, "test_mempool: a refused held candidate costs %.1f us on the loop\n", us / N);

    /* The real ones are held. */
    rp_record good = fx_vouch(1, 3, 2), geng = fx_engagement(1, 4, 2, RP_ENG_GIG);
    ck_assert_int_eq(submit(mp, &good, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    ck_assert_int_eq(submit(mp, &geng, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_mempool_free(mp);
}
END_TEST

/* Squatting: a forgery for the victim's next-but-one sequence is refused,
 * so the victim's own record for that sequence is held, served as the
 * victim's, and included once the gap fills. */
START_TEST(test_held_forgery_cannot_squat)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record forged = update(1, 3, 666, 3); /* 1's sequence 3, signed by key 3 */
    ck_assert_int_eq(submit(mp, &forged, &res), RP_ERR_BAD_SIGNATURE);
    assert_not_in_pool(mp, &forged);
    rp_record real = update(1, 3, 3, 1);
    ck_assert_int_eq(submit(mp, &real, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    int served;
    ck_assert_int_eq(find_status(mp, &real, &served), RP_MP_HELD);
    ck_assert(served);
    /* The forgery again, now that the slot is taken: still refused for
     * its signature, and the real one stays. */
    ck_assert_int_eq(submit(mp, &forged, &res), RP_ERR_BAD_SIGNATURE);
    /* The gap fills: both go, the held one after. */
    rp_record fill = update(1, 2, 2, 1);
    ck_assert_int_eq(submit(mp, &fill, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_VERIFYING);
    verify_all(mp);
    ck_assert_uint_eq(produce(mp), 2);
    rp_hash rid = fx_id(&real);
    const rp_mp_event *inc = saw(&ev, &rid, RP_MP_EV_INCLUDED);
    ck_assert_uint_eq(inc->index, 1);
    ck_assert_uint_eq(ev.dropped, 0);
    rp_identity_state is;
    ck_assert_int_eq(rp_store_read_identity(fx.st, &fx.pk[1], &is), 0);
    ck_assert_uint_eq(is.seq, 3);
    ck_assert_str_eq(is.name, "update 3");
    rp_mempool_free(mp);
}
END_TEST

/* Two validly signed records of one issuer for one sequence: the issuer's
 * own equivocation. The first stays held, the second is refused. */
START_TEST(test_held_equivocation_first_stays)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record first = update(1, 3, 1, 1), second = update(1, 3, 2, 1);
    ck_assert_int_eq(submit(mp, &first, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    ck_assert_int_eq(submit(mp, &second, &res), RP_ERR_BAD_SEQUENCE);
    ck_assert_ptr_nonnull(strstr(res.msg, "already held"));
    assert_not_in_pool(mp, &second);
    int served;
    ck_assert_int_eq(find_status(mp, &first, &served), RP_MP_HELD);
    ck_assert(served);
    rp_mempool_free(mp);
}
END_TEST

/* The issuer's key changes after a record was held: the record is no
 * longer served, is checked again when released, and is dropped, whether
 * the rotation is pending or in a block. */
START_TEST(test_held_key_rotated_before_release)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    /* Pending rotation: 1 holds h at 4, then rotates (2) to key 7. */
    rp_record h = update(1, 4, 4, 1);
    ck_assert_int_eq(submit(mp, &h, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_record ro = rotate(1, 2, 7);
    ck_assert_int_eq(submit(mp, &ro, &res), 0);
    int served;
    ck_assert_int_eq(find_status(mp, &h, &served), RP_MP_HELD);
    ck_assert_msg(!served, "a held record whose signer's key changed is served");
    rp_record u3 = update(1, 3, 3, 7);
    ck_assert_int_eq(submit(mp, &u3, &res), 0);
    verify_all(mp);
    rp_hash hid = fx_id(&h);
    ck_assert_int_eq(saw(&ev, &hid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SIGNATURE);
    ck_assert_ptr_null(seen_event(&ev, &hid, RP_MP_EV_READY));
    ck_assert_uint_eq(produce(mp), 2);
    ck_assert_uint_eq(ev.dropped, 1);

    /* Rotation in a block: 2 holds g at 3; another validator's block holds
     * 2's rotation to key 8. */
    rp_record g = update(2, 3, 3, 2);
    ck_assert_int_eq(submit(mp, &g, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_record ro2 = rotate(2, 2, 8);
    rp_hash rid;
    foreign_block(&ro2, 1, &rid);
    ck_assert_int_eq(rp_mempool_committed(mp, &rid, 1, fx.now_s), 0);
    verify_all(mp);
    rp_hash gid = fx_id(&g);
    ck_assert_int_eq(saw(&ev, &gid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SIGNATURE);
    rp_mempool_stats st;
    rp_mempool_stats_get(mp, &st);
    ck_assert_uint_eq(st.count, 0);
    ck_assert_uint_eq(st.held, 0);
    rp_mempool_free(mp);
}
END_TEST

/* A held record that no longer verifies (its issuer rotated since) never
 * blocks the issuer's real record for that sequence: the newcomer, signed
 * by the current key, takes the slot, and goes ready without a second
 * verification once its turn comes. */
START_TEST(test_held_stale_record_replaced)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record old = update(1, 4, 40, 1);
    ck_assert_int_eq(submit(mp, &old, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_record ro = rotate(1, 2, 7);
    ck_assert_int_eq(submit(mp, &ro, &res), 0);
    rp_record real = update(1, 4, 4, 7);
    ck_assert_int_eq(submit(mp, &real, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_hash oid = fx_id(&old), rid = fx_id(&real);
    ck_assert_int_eq(saw(&ev, &oid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SIGNATURE);
    assert_not_in_pool(mp, &old);
    int served;
    ck_assert_int_eq(find_status(mp, &real, &served), RP_MP_HELD);
    ck_assert(served);
    /* An old-key record for the slot now is simply a bad signature. */
    rp_record late = update(1, 4, 41, 1);
    ck_assert_int_eq(submit(mp, &late, &res), RP_ERR_BAD_SIGNATURE);
    /* The gap fills; the held record's check still holds: ready at once. */
    rp_record u3 = update(1, 3, 3, 7);
    ck_assert_int_eq(submit(mp, &u3, &res), 0);
    saw(&ev, &rid, RP_MP_EV_READY);
    ck_assert_int_eq(find_status(mp, &real, &served), RP_MP_READY);
    ck_assert(served);
    verify_all(mp);
    ck_assert_uint_eq(produce(mp), 3);
    ck_assert_uint_eq(saw(&ev, &rid, RP_MP_EV_INCLUDED)->index, 2);
    rp_mempool_free(mp);
}
END_TEST

/* An engagement with a counterparty nobody registered yet: only the
 * issuer's signature can be checked, so it is held on that. Once the
 * counterparty is known, its signature counts too: a record for that slot
 * signed by both parties replaces one whose counterparty signature is bad,
 * and the bad one is never served. */
START_TEST(test_held_engagement_counterparty)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record bad = fx_engagement(1, 3, 3, RP_ENG_GIG);
    bad.sigs[1].bytes[3] ^= 0x04;
    ck_assert_int_eq(submit(mp, &bad, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    int served;
    ck_assert_int_eq(find_status(mp, &bad, &served), RP_MP_HELD);
    ck_assert(served);
    /* 3 registers (pending): now its signature can be, and is, checked. */
    rp_record reg3 = fx_identity(3, NULL, RP_ROLE_BRAND, "b");
    ck_assert_int_eq(submit(mp, &reg3, &res), 0);
    ck_assert_int_eq(find_status(mp, &bad, &served), RP_MP_HELD);
    ck_assert(!served);
    rp_record good = fx_engagement(1, 3, 3, RP_ENG_SPONSORSHIP);
    ck_assert_int_eq(submit(mp, &good, &res), 0);
    ck_assert_int_eq(res.status, RP_MP_HELD);
    rp_hash bid = fx_id(&bad), gid = fx_id(&good);
    ck_assert_int_eq(saw(&ev, &bid, RP_MP_EV_DROPPED)->code, RP_ERR_BAD_SIGNATURE);
    rp_record fill = update(1, 2, 2, 1);
    ck_assert_int_eq(submit(mp, &fill, &res), 0);
    verify_all(mp);
    ck_assert_uint_eq(produce(mp), 3);
    saw(&ev, &gid, RP_MP_EV_INCLUDED);
    rp_mempool_free(mp);
}
END_TEST

/* record.get's source: a record whose signatures are still being verified
 * is in the pool but not served; once verified it is. */
START_TEST(test_find_serves_verified_only)
{
    register_two();
    rp_mempool *mp = new_pool(100, 1 << 20, 4);
    rp_mp_result res;
    rp_record v = fx_vouch(1, 2, 2);
    ck_assert_int_eq(submit(mp, &v, &res), 0);
    int served;
    ck_assert_int_eq(find_status(mp, &v, &served), RP_MP_VERIFYING);
    ck_assert_msg(!served, "a record not yet verified is served");
    verify_all(mp);
    ck_assert_int_eq(find_status(mp, &v, &served), RP_MP_READY);
    ck_assert(served);
    rp_mempool_free(mp);
}
END_TEST

static Suite *mempool_suite(void)
{
    Suite *s = suite_create("mempool");
    TCase *tc = tcase_create("mempool");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_dependent_records_flow);
    tcase_add_test(tc, test_gap_held_then_released);
    tcase_add_test(tc, test_rules_and_limits);
    tcase_add_test(tc, test_bad_signature_drops_dependents);
    tcase_add_test(tc, test_block_time_recheck);
    tcase_add_test(tc, test_block_sigs);
    tcase_add_test(tc, test_partial_blocks_advance);
    tcase_add_test(tc, test_held_cap_and_ttl);
    tcase_add_test(tc, test_freeze_defers_recheck);
    tcase_add_test(tc, test_two_subscribers);
    tcase_add_test(tc, test_subscribers_bounded);
    tcase_add_test(tc, test_unsubscribe);
    tcase_add_test(tc, test_source_first_wins);
    tcase_add_test(tc, test_foreign_block_any_order);
    tcase_add_test(tc, test_foreign_block_conflict);
    tcase_add_test(tc, test_own_block_fast_path);
    tcase_add_test(tc, test_oom_drop_rechecks_dependents);
    tcase_add_test(tc, test_stale_batch_ignored);
    tcase_add_test(tc, test_held_unregistered_refused);
    tcase_add_test(tc, test_held_bad_signature_refused);
    tcase_add_test(tc, test_held_rotation_by_recovery);
    tcase_add_test(tc, test_held_forgery_cannot_squat);
    tcase_add_test(tc, test_held_equivocation_first_stays);
    tcase_add_test(tc, test_held_key_rotated_before_release);
    tcase_add_test(tc, test_held_stale_record_replaced);
    tcase_add_test(tc, test_held_engagement_counterparty);
    tcase_add_test(tc, test_find_serves_verified_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (rp_crypto_init() != 0)
        return 1;
    SRunner *sr = srunner_create(mempool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
