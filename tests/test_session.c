/* One connection's protocol (p2p/session.h): two sessions joined in memory.
 *
 *   - the handshake completes, each side sees the other's checked HELLO, and
 *     messages of every size up to 5 MiB cross both ways, fed in any split;
 *   - refusals, each ending the session with its reason: a node of another
 *     chain or protocol version, a dialed node that is not the one
 *     expected, a HELLO whose binding signature does not verify, a node
 *     that meets itself, garbage, a low-order X25519 key, replayed
 *     handshake messages from another session; a truncated handshake just
 *     waits (the transport's timer ends it).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "p2p/frame.h"
#include "p2p/session.h"

struct side {
    rp_session *s;
    unsigned char *out; /* what it sent, not delivered yet */
    size_t outlen, outcap;
    int ready;
    rp_p2p_hello peer;
    unsigned char *msg[8];
    size_t mlen[8];
    int nmsg;
    unsigned char *sent_all; /* everything it ever sent (for replays) */
    size_t sent_len;
};

static int io_send(void *ctx, unsigned char *bytes, size_t len)
{
    struct side *d = ctx;
    if (d->outlen + len > d->outcap) {
        d->outcap = (d->outlen + len) * 2;
        d->out = realloc(d->out, d->outcap);
        ck_assert_ptr_nonnull(d->out);
    }
    memcpy(d->out + d->outlen, bytes, len);
    d->outlen += len;
    if (d->sent_len < 4096) {
        d->sent_all = realloc(d->sent_all, d->sent_len + len);
        memcpy(d->sent_all + d->sent_len, bytes, len);
        d->sent_len += len;
    }
    free(bytes);
    return 0;
}

static void io_ready(void *ctx, const rp_p2p_hello *h)
{
    struct side *d = ctx;
    d->ready = 1;
    d->peer = *h;
}

static void io_message(void *ctx, unsigned char *msg, size_t len)
{
    struct side *d = ctx;
    ck_assert_int_lt(d->nmsg, 8);
    d->msg[d->nmsg] = msg;
    d->mlen[d->nmsg++] = len;
}

static rp_hash chain_a, chain_b;
static rp_seckey key_a, key_b, key_c;
static rp_session_local loc_a, loc_b, loc_b_other_chain, loc_a_as_b;

static void make_local(rp_session_local *l, const rp_seckey *k, const rp_hash *chain)
{
    ck_assert_int_eq(rp_session_local_init(l, k, chain, 27650, RP_P2P_ROLE_FULL, "test"), 0);
}

static void setup(void)
{
    ck_assert_int_eq(rp_crypto_init(), 0);
    memset(&chain_a, 0xA1, sizeof chain_a);
    memset(&chain_b, 0xB2, sizeof chain_b);
    memset(key_a.bytes, 0x11, 32);
    memset(key_b.bytes, 0x22, 32);
    memset(key_c.bytes, 0x33, 32);
    make_local(&loc_a, &key_a, &chain_a);
    make_local(&loc_b, &key_b, &chain_a);
    make_local(&loc_b_other_chain, &key_b, &chain_b);
    make_local(&loc_a_as_b, &key_a, &chain_a); /* same node key as A */
}

static void side_init(struct side *d, const rp_session_local *l, int initiator,
                      const rp_pubkey *expect)
{
    memset(d, 0, sizeof *d);
    rp_session_io io = {d, io_send, io_ready, io_message};
    ck_assert_int_eq(rp_session_new(&d->s, l, initiator, expect, &io), 0);
}

static void side_free(struct side *d)
{
    rp_session_free(d->s);
    free(d->out);
    free(d->sent_all);
    for (int i = 0; i < d->nmsg; i++)
        free(d->msg[i]);
}

/* Deliver what from sent to to, in chunks of `chunk` bytes (0: whole). */
static int deliver(struct side *from, struct side *to, size_t chunk)
{
    size_t off = 0;
    int moved = from->outlen > 0;
    while (off < from->outlen && !rp_session_failed(to->s)) {
        size_t n = from->outlen - off;
        if (chunk && n > chunk)
            n = chunk;
        size_t used = 0;
        int rc = rp_session_feed(to->s, from->out + off, n, &used);
        off += used;
        if (rc < 0)
            break;
    }
    from->outlen = 0;
    return moved;
}

static void pump(struct side *a, struct side *b, size_t chunk)
{
    for (int i = 0; i < 100; i++) {
        int m = deliver(a, b, chunk) | deliver(b, a, chunk);
        if (!m)
            break;
    }
}

START_TEST(test_handshake_and_messages)
{
    static const size_t chunks[] = {0, 1, 7, 4096};
    for (size_t c = 0; c < 4; c++) {
        struct side a, b;
        side_init(&a, &loc_a, 1, &loc_b.hello.node_key);
        side_init(&b, &loc_b, 0, NULL);
        ck_assert_int_eq(rp_session_start(a.s), 0);
        pump(&a, &b, chunks[c]);
        ck_assert(a.ready && b.ready);
        ck_assert(rp_session_ready(a.s) && rp_session_ready(b.s));
        ck_assert_mem_eq(a.peer.node_key.bytes, loc_b.hello.node_key.bytes, 32);
        ck_assert_mem_eq(b.peer.node_key.bytes, loc_a.hello.node_key.bytes, 32);
        ck_assert_str_eq(b.peer.user_agent, "test");
        /* Messages both ways: small, one frame exactly, 5 MiB. */
        size_t sizes[3] = {1, RP_P2P_FRAME_FIRST_DATA, RP_P2P_MAX_MESSAGE};
        for (int i = 0; i < 3 && (chunks[c] == 0 || chunks[c] == 4096 || i < 2); i++) {
            unsigned char *m = malloc(sizes[i]);
            for (size_t k = 0; k < sizes[i]; k++)
                m[k] = (unsigned char)(k * 31 + (size_t)i);
            ck_assert_int_eq(rp_session_send(a.s, m, sizes[i]), 0);
            ck_assert_int_eq(rp_session_send(b.s, m, sizes[i]), 0);
            pump(&a, &b, chunks[c]);
            ck_assert_int_eq(a.nmsg, 1);
            ck_assert_int_eq(b.nmsg, 1);
            ck_assert_uint_eq(b.mlen[0], sizes[i]);
            ck_assert_mem_eq(b.msg[0], m, sizes[i]);
            ck_assert_mem_eq(a.msg[0], m, sizes[i]);
            free(a.msg[0]);
            free(b.msg[0]);
            a.nmsg = b.nmsg = 0;
            free(m);
        }
        side_free(&a);
        side_free(&b);
    }
}
END_TEST

/* Run a handshake between a (initiator, expecting expect) and b; return
 * which side failed (1 a, 2 b, 0 none) and check its reason. */
static int refused(const rp_session_local *la, const rp_session_local *lb,
                   const rp_pubkey *expect, const char *needle)
{
    struct side a, b;
    side_init(&a, la, 1, expect);
    side_init(&b, lb, 0, NULL);
    ck_assert_int_eq(rp_session_start(a.s), 0);
    pump(&a, &b, 0);
    int who = rp_session_failed(a.s) ? 1 : rp_session_failed(b.s) ? 2 : 0;
    ck_assert_msg(who != 0, "the handshake was not refused (%s)", needle);
    const char *why = rp_session_why(who == 1 ? a.s : b.s);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, needle) != NULL, "'%s' not in '%s'", needle, why);
    /* Neither side is ready, and the failure sticks. */
    ck_assert(!(a.ready && b.ready));
    size_t used;
    unsigned char x = 0;
    ck_assert_int_lt(rp_session_feed(who == 1 ? a.s : b.s, &x, 1, &used), 0);
    side_free(&a);
    side_free(&b);
    return who;
}

START_TEST(test_refusals)
{
    /* Another chain: the prologue differs, message 2 does not decrypt. */
    ck_assert_int_eq(refused(&loc_a, &loc_b_other_chain, NULL, "another chain"), 1);
    /* The node answering is not the one dialed. */
    ck_assert_int_eq(refused(&loc_a, &loc_b, &loc_a_as_b.hello.node_key, "not the node ID"), 1);
    /* A node that dials itself (the same node key on both ends). */
    ck_assert_int_eq(refused(&loc_a, &loc_a_as_b, NULL, "itself"), 1);
    /* A HELLO whose binding does not verify: the responder's tampered... */
    rp_session_local bad = loc_b;
    bad.hello.binding.bytes[3] ^= 0x40;
    ck_assert_int_eq(refused(&loc_a, &bad, NULL, "binding signature"), 1);
    /* ... and the initiator's, checked by the responder. */
    rp_session_local bad_a = loc_a;
    bad_a.hello.binding.bytes[60] ^= 0x01;
    ck_assert_int_eq(refused(&bad_a, &loc_b, NULL, "binding signature"), 2);
    /* A HELLO signed for another static key (copied from another node's
     * session): the binding names the wrong key. */
    rp_session_local copied = loc_b;
    copied.hello = loc_a_as_b.hello;
    ck_assert_int_eq(refused(&loc_a, &copied, NULL, "binding signature"), 1);
}
END_TEST

START_TEST(test_garbage_and_truncation)
{
    struct side b;
    /* An HTTP request: its first two bytes are a length no message 1 has. */
    side_init(&b, &loc_b, 0, NULL);
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t used;
    ck_assert_int_lt(rp_session_feed(b.s, (const unsigned char *)http, strlen(http), &used), 0);
    ck_assert_ptr_nonnull(strstr(rp_session_why(b.s), "wrong size"));
    ck_assert_uint_eq(b.outlen, 0); /* nothing said back */
    side_free(&b);

    /* Half of message 1: the session waits, neither failed nor ready. */
    struct side a;
    side_init(&a, &loc_a, 1, NULL);
    side_init(&b, &loc_b, 0, NULL);
    ck_assert_int_eq(rp_session_start(a.s), 0);
    ck_assert_int_eq(rp_session_feed(b.s, a.out, a.outlen / 2, &used), 0);
    ck_assert(!rp_session_failed(b.s) && !rp_session_ready(b.s));
    ck_assert_uint_eq(b.outlen, 0);
    side_free(&a);
    side_free(&b);

    /* A low-order ephemeral key in message 1: refused before message 2. */
    side_init(&b, &loc_b, 0, NULL);
    unsigned char m1[34] = {0x00, 0x20}; /* the point 0: order 1 */
    ck_assert_int_lt(rp_session_feed(b.s, m1, sizeof m1, &used), 0);
    ck_assert_ptr_nonnull(strstr(rp_session_why(b.s), "low-order"));
    ck_assert_uint_eq(b.outlen, 0);
    side_free(&b);

    /* Message 1 with a payload (33 bytes): refused by its size. */
    side_init(&b, &loc_b, 0, NULL);
    unsigned char m1b[35] = {0x00, 0x21, 9};
    ck_assert_int_lt(rp_session_feed(b.s, m1b, sizeof m1b, &used), 0);
    side_free(&b);
}
END_TEST

START_TEST(test_replayed_messages)
{
    /* Session 1 completes; its messages are recorded. */
    struct side a1, b1, a2, b2;
    side_init(&a1, &loc_a, 1, NULL);
    side_init(&b1, &loc_b, 0, NULL);
    ck_assert_int_eq(rp_session_start(a1.s), 0);
    pump(&a1, &b1, 0);
    ck_assert(a1.ready && b1.ready);
    /* a1.sent_all = message 1 | message 3; b1.sent_all = message 2. */
    size_t m1len = 2 + 32;
    const unsigned char *m3 = a1.sent_all + m1len;
    size_t m3len = a1.sent_len - m1len;

    /* Message 3 of session 1, replayed into a new responder after a fresh
     * message 1: it does not decrypt (other ephemeral keys). */
    side_init(&a2, &loc_a, 1, NULL);
    side_init(&b2, &loc_b, 0, NULL);
    ck_assert_int_eq(rp_session_start(a2.s), 0);
    deliver(&a2, &b2, 0); /* message 1 */
    size_t used;
    ck_assert_int_lt(rp_session_feed(b2.s, m3, m3len, &used), 0);
    ck_assert_ptr_nonnull(strstr(rp_session_why(b2.s), "did not decrypt"));
    side_free(&a2);
    side_free(&b2);

    /* Message 2 of session 1, replayed to a new initiator. */
    side_init(&a2, &loc_a, 1, NULL);
    ck_assert_int_eq(rp_session_start(a2.s), 0);
    ck_assert_int_lt(rp_session_feed(a2.s, b1.sent_all, b1.sent_len, &used), 0);
    ck_assert_ptr_nonnull(strstr(rp_session_why(a2.s), "did not decrypt"));
    side_free(&a2);

    /* The whole of session 1's initiator stream replayed to a new
     * responder: message 1 is accepted (it is only a key), message 3 not. */
    side_init(&b2, &loc_b, 0, NULL);
    ck_assert_int_lt(rp_session_feed(b2.s, a1.sent_all, a1.sent_len, &used), 0);
    ck_assert(!rp_session_ready(b2.s));
    side_free(&b2);
    side_free(&a1);
    side_free(&b1);
}
END_TEST

START_TEST(test_send_before_ready)
{
    struct side a;
    side_init(&a, &loc_a, 1, NULL);
    unsigned char m = 1;
    ck_assert_int_eq(rp_session_send(a.s, &m, 1), RP_ERR_NOISE_STATE);
    ck_assert_int_eq(rp_session_start(a.s), 0);
    ck_assert_int_ne(rp_session_start(a.s), 0); /* twice */
    side_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_handshake_and_messages);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_garbage_and_truncation);
    tcase_add_test(tc, test_replayed_messages);
    tcase_add_test(tc, test_send_before_ready);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
