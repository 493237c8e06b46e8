/* The record-gossip engine (p2p/gossip.h) in a simulated network: a few
 * engines, each with a simulated mempool, joined by links that deliver
 * messages in order. A "record" is 40 bytes; its id is their SHA-256.
 *
 *   - relay: a record admitted at one node reaches every node of a line
 *     and of a full mesh; each record body crosses each link at most once
 *     and never goes back to the peer it came from;
 *   - admission first: a node announces a record only after its mempool
 *     admitted it; a refused record goes no further;
 *   - a request that is not answered goes, after the timeout, to another
 *     peer that announced the id;
 *   - pacing: 20,000 records announced to one peer in INVs the receiver's
 *     flood rule accepts;
 *   - misbehaviour: an INV flood, an oversized INV or GETDATA, and a stream
 *     of records nobody asked for are each reported once, with the reason,
 *     and the peer is ignored afterwards.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "p2p/gossip.h"

#define MAXN 8
#define MAXREC 25000
#define RECLEN 40

enum { M_INV, M_GETDATA, M_RECORDS };

struct msg {
    int type;
    int from, to;
    size_t n;
    rp_hash *ids;
    unsigned char *recs; /* n * RECLEN */
};

struct node {
    rp_gossip *g;
    int idx;
    /* the mempool: ids held, their bytes */
    unsigned char *have; /* by record number */
    int refuse;          /* refuse every record (a full or strict mempool) */
    int admit_later;     /* submitted records wait in pending[] until the test admits them */
    int pending[MAXREC];
    size_t npending;
};

static struct {
    struct node node[MAXN];
    size_t nnodes;
    unsigned char recs[MAXREC][RECLEN];
    rp_hash ids[MAXREC];
    int sorted[MAXREC]; /* record numbers by id */
    size_t nrecs;
    /* the wire */
    struct msg *q;
    size_t qhead, qlen, qcap;
    int linked[MAXN][MAXN];
    /* per link, per record: bodies sent (from, to) */
    unsigned char sent[MAXN][MAXN][MAXREC];
    int misbehaved[MAXN][MAXN]; /* [node][peer] */
    char why[MAXN][MAXN][64];
    int drop_records_from[MAXN]; /* a peer whose RECORDS never arrive */
    uint64_t now;
} W;

static uint64_t pid(int idx) { return (uint64_t)idx + 1; }

static int by_id(const void *a, const void *b)
{
    return memcmp(&W.ids[*(const int *)a], &W.ids[*(const int *)b], sizeof(rp_hash));
}

static int key_cmp(const void *key, const void *b)
{
    return memcmp(key, &W.ids[*(const int *)b], sizeof(rp_hash));
}

static int rec_of(const rp_hash *id)
{
    const int *r = bsearch(id, W.sorted, W.nrecs, sizeof *W.sorted, key_cmp);
    return r ? *r : -1;
}

static void push(int type, int from, uint64_t to, const rp_hash *ids, size_t n,
                 const unsigned char *const *recs)
{
    ck_assert_uint_ge(to, 1);
    int t = (int)to - 1;
    ck_assert_msg(W.linked[from][t], "node %d sent to %d with no link", from, t);
    if (W.qlen == W.qcap) {
        size_t cap = W.qcap ? W.qcap * 2 : 1024;
        struct msg *q = malloc(cap * sizeof *q);
        ck_assert_ptr_nonnull(q);
        for (size_t i = 0; i < W.qlen; i++)
            q[i] = W.q[(W.qhead + i) % W.qcap];
        free(W.q);
        W.q = q;
        W.qhead = 0;
        W.qcap = cap;
    }
    struct msg *m = &W.q[(W.qhead + W.qlen++) % W.qcap];
    m->type = type;
    m->from = from;
    m->to = t;
    m->n = n;
    m->ids = malloc(n * sizeof(rp_hash));
    m->recs = NULL;
    if (recs) {
        m->recs = malloc(n * RECLEN);
        for (size_t i = 0; i < n; i++) {
            memcpy(m->recs + i * RECLEN, recs[i], RECLEN);
            rp_sha256(&m->ids[i], recs[i], RECLEN);
        }
    } else {
        memcpy(m->ids, ids, n * sizeof(rp_hash));
    }
}

/* ---- the io each node's engine gets ---- */

static int io_have(void *ctx, const rp_hash *id)
{
    struct node *nd = ctx;
    int r = rec_of(id);
    return r >= 0 && nd->have[r] == 1;
}

static int io_lookup(void *ctx, const rp_hash *id, const unsigned char **b, size_t *len)
{
    struct node *nd = ctx;
    int r = rec_of(id);
    if (r < 0 || nd->have[r] != 1)
        return 0;
    *b = W.recs[r];
    *len = RECLEN;
    return 1;
}

static void admit(struct node *nd, int r, uint64_t source)
{
    nd->have[r] = 1;
    rp_gossip_admitted(nd->g, &W.ids[r], source);
}

static void io_submit(void *ctx, uint64_t peer, const unsigned char *rec, size_t len)
{
    struct node *nd = ctx;
    ck_assert_uint_eq(len, RECLEN);
    rp_hash id;
    rp_sha256(&id, rec, len);
    int r = rec_of(&id);
    ck_assert_int_ge(r, 0);
    ck_assert_msg(nd->have[r] != 1, "node %d was handed record %d it already holds", nd->idx, r);
    if (nd->refuse)
        return;
    if (nd->admit_later) {
        nd->have[r] = 2; /* being checked */
        nd->pending[nd->npending++] = r;
        (void)peer;
        return;
    }
    admit(nd, r, peer);
}

static void io_send_inv(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    struct node *nd = ctx;
    ck_assert_uint_le(n, RP_GOSSIP_MAX_IDS);
    push(M_INV, nd->idx, peer, ids, n, NULL);
}

static void io_send_getdata(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    struct node *nd = ctx;
    ck_assert_uint_le(n, RP_GOSSIP_MAX_IDS);
    push(M_GETDATA, nd->idx, peer, ids, n, NULL);
}

static void io_send_records(void *ctx, uint64_t peer, const unsigned char *const *recs,
                            const size_t *lens, size_t n)
{
    struct node *nd = ctx;
    int to = (int)peer - 1;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(lens[i], RECLEN);
        rp_hash id;
        rp_sha256(&id, recs[i], RECLEN);
        int r = rec_of(&id);
        ck_assert_msg(W.sent[nd->idx][to][r] == 0, "record %d crossed link %d->%d twice", r,
                      nd->idx, to);
        W.sent[nd->idx][to][r] = 1;
    }
    push(M_RECORDS, nd->idx, peer, NULL, n, recs);
}

static void io_misbehaved(void *ctx, uint64_t peer, const char *why)
{
    struct node *nd = ctx;
    int p = (int)peer - 1;
    ck_assert_int_eq(W.misbehaved[nd->idx][p], 0); /* reported once */
    W.misbehaved[nd->idx][p]++;
    snprintf(W.why[nd->idx][p], sizeof W.why[0][0], "%s", why);
}

/* ---- the world ---- */

static void world(size_t nnodes, size_t nrecs)
{
    memset(&W, 0, sizeof W);
    W.nnodes = nnodes;
    W.nrecs = nrecs;
    W.now = 1000;
    for (size_t i = 0; i < nrecs; i++) {
        snprintf((char *)W.recs[i], RECLEN, "record %zu", i);
        rp_sha256(&W.ids[i], W.recs[i], RECLEN);
        W.sorted[i] = (int)i;
    }
    qsort(W.sorted, nrecs, sizeof *W.sorted, by_id);
    for (size_t i = 0; i < nnodes; i++) {
        struct node *nd = &W.node[i];
        nd->idx = (int)i;
        nd->have = calloc(MAXREC, 1);
        rp_gossip_io io = {nd,          io_have,          io_lookup,       io_submit,
                           io_send_inv, io_send_getdata, io_send_records, io_misbehaved};
        ck_assert_int_eq(rp_gossip_new(&nd->g, &io), 0);
    }
}

static void world_free(void)
{
    for (size_t i = 0; i < W.nnodes; i++) {
        rp_gossip_free(W.node[i].g);
        free(W.node[i].have);
    }
    while (W.qlen) {
        struct msg *m = &W.q[W.qhead];
        free(m->ids);
        free(m->recs);
        W.qhead = (W.qhead + 1) % W.qcap;
        W.qlen--;
    }
    free(W.q);
}

static void link_nodes(int a, int b)
{
    W.linked[a][b] = W.linked[b][a] = 1;
    ck_assert_int_eq(rp_gossip_add_peer(W.node[a].g, pid(b), W.now), 0);
    ck_assert_int_eq(rp_gossip_add_peer(W.node[b].g, pid(a), W.now), 0);
}

/* Deliver every queued message, ticking every node every 100 ms of
 * simulated time (each delivery takes 1 ms), until the wire is quiet and
 * nothing is waiting to be announced. */
static void run(void)
{
    for (int quiet = 0; quiet < 30;) {
        size_t batch = W.qlen;
        for (size_t k = 0; k < batch; k++) {
            struct msg m = W.q[W.qhead];
            W.qhead = (W.qhead + 1) % W.qcap;
            W.qlen--;
            rp_gossip *g = W.node[m.to].g;
            uint64_t from = pid(m.from);
            if (m.type == M_INV) {
                rp_gossip_on_inv(g, from, m.ids, m.n, W.now);
            } else if (m.type == M_GETDATA) {
                rp_gossip_on_getdata(g, from, m.ids, m.n, W.now);
            } else if (!W.drop_records_from[m.from]) {
                const unsigned char *recs[RP_GOSSIP_MAX_IDS];
                size_t lens[RP_GOSSIP_MAX_IDS];
                for (size_t i = 0; i < m.n; i++) {
                    recs[i] = m.recs + i * RECLEN;
                    lens[i] = RECLEN;
                }
                rp_gossip_on_records(g, from, m.ids, recs, lens, m.n, W.now);
            }
            free(m.ids);
            free(m.recs);
        }
        W.now += 100;
        for (size_t i = 0; i < W.nnodes; i++)
            rp_gossip_tick(W.node[i].g, W.now);
        quiet = W.qlen ? 0 : quiet + 1;
    }
}

static size_t holders(int r)
{
    size_t n = 0;
    for (size_t i = 0; i < W.nnodes; i++)
        n += W.node[i].have[r] == 1;
    return n;
}

/* ---- tests ---- */

START_TEST(test_relay_line_and_mesh)
{
    /* A line 0-1-2-3-4: records admitted at both ends reach everyone. */
    world(5, 200);
    for (int i = 0; i + 1 < 5; i++)
        link_nodes(i, i + 1);
    for (int r = 0; r < 100; r++)
        admit(&W.node[0], r, 0);
    for (int r = 100; r < 200; r++)
        admit(&W.node[4], r, 0);
    run();
    for (int r = 0; r < 200; r++)
        ck_assert_uint_eq(holders(r), 5);
    /* Never echoed: on a line each body crosses each link one way only. */
    for (int r = 0; r < 200; r++)
        for (int i = 0; i + 1 < 5; i++)
            ck_assert_int_eq(W.sent[i][i + 1][r] + W.sent[i + 1][i][r], 1);
    rp_gossip_stats st;
    rp_gossip_stats_get(W.node[2].g, &st);
    ck_assert_uint_eq(st.duplicates, 0);
    ck_assert_uint_eq(st.unrequested, 0);
    ck_assert_uint_eq(st.inflight, 0);
    world_free();

    /* A full mesh of 6: every record everywhere, at most once per link
     * direction (asserted in io_send_records), and no node is handed a
     * record it holds (asserted in io_submit). */
    world(6, 300);
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++)
            link_nodes(a, b);
    for (int r = 0; r < 300; r++)
        admit(&W.node[r % 6], r, 0);
    run();
    size_t bodies = 0;
    for (int r = 0; r < 300; r++) {
        ck_assert_uint_eq(holders(r), 6);
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++)
                bodies += W.sent[a][b][r];
    }
    /* Each node but the origin receives each body exactly once. */
    ck_assert_uint_eq(bodies, 300 * 5);
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++)
            ck_assert_int_eq(W.misbehaved[a][b], 0);
    world_free();
}
END_TEST

START_TEST(test_admission_first)
{
    /* 0-1-2: node 1 checks records before admitting them. Until it does,
     * node 2 hears nothing; a record node 1 refuses never reaches node 2. */
    world(3, 10);
    link_nodes(0, 1);
    link_nodes(1, 2);
    W.node[1].admit_later = 1;
    for (int r = 0; r < 10; r++)
        admit(&W.node[0], r, 0);
    run();
    ck_assert_uint_eq(W.node[1].npending, 10);
    for (int r = 0; r < 10; r++)
        ck_assert_int_eq(W.node[2].have[r], 0);
    /* Node 1 admits the even records; the odd ones fail its checks. */
    for (size_t i = 0; i < W.node[1].npending; i++) {
        int r = W.node[1].pending[i];
        if (r % 2 == 0)
            admit(&W.node[1], r, pid(0));
        else
            W.node[1].have[r] = 0;
    }
    run();
    for (int r = 0; r < 10; r++)
        ck_assert_int_eq(W.node[2].have[r], r % 2 == 0);
    /* Nothing went back to node 0. */
    for (int r = 0; r < 10; r++)
        ck_assert_int_eq(W.sent[1][0][r], 0);
    world_free();
}
END_TEST

START_TEST(test_rerequest_from_another)
{
    /* 1 and 2 both hold record 0 and both link to 0. Node 0 asks the first
     * announcer; its RECORDS are lost on the wire; after the timeout node 0
     * asks the other announcer and gets it. */
    world(3, 1);
    link_nodes(0, 1);
    link_nodes(0, 2);
    W.drop_records_from[1] = 1;
    W.drop_records_from[2] = 1;
    W.node[1].have[0] = 1;
    W.node[2].have[0] = 1;
    rp_gossip_admitted(W.node[1].g, &W.ids[0], 0);
    rp_gossip_admitted(W.node[2].g, &W.ids[0], 0);
    run();
    ck_assert_int_eq(W.node[0].have[0], 0);
    /* Exactly one of them was asked so far. */
    ck_assert_int_eq(W.sent[1][0][0] + W.sent[2][0][0], 1);
    int first = W.sent[1][0][0] ? 1 : 2;
    W.drop_records_from[3 - first] = 0;
    /* Time passes beyond the request timeout. */
    for (int i = 0; i < RP_GOSSIP_REQUEST_TIMEOUT_MS / 100 + 2; i++) {
        W.now += 100;
        rp_gossip_tick(W.node[0].g, W.now);
    }
    run();
    ck_assert_int_eq(W.node[0].have[0], 1);
    ck_assert_int_eq(W.sent[3 - first][0][0], 1);
    rp_gossip_stats st;
    rp_gossip_stats_get(W.node[0].g, &st);
    ck_assert_uint_eq(st.inflight, 0);
    world_free();
}
END_TEST

START_TEST(test_pacing)
{
    /* 20,000 records admitted at once at node 0 reach node 1 in INVs its
     * flood rule accepts, in no less time than the pace allows. */
    world(2, 20000);
    link_nodes(0, 1);
    uint64_t start = W.now;
    for (int r = 0; r < 20000; r++)
        admit(&W.node[0], r, 0);
    run();
    for (int r = 0; r < 20000; r++)
        ck_assert_int_eq(W.node[1].have[r], 1);
    ck_assert_int_eq(W.misbehaved[1][0], 0);
    ck_assert_int_eq(W.misbehaved[0][1], 0);
    /* 20,000 ids at 4/5 of the INV budget per second, after a first
     * second's worth: no faster than the pace allows. */
    double pace = RP_GOSSIP_INV_BUDGET * 4.0 / 5.0;
    ck_assert_uint_ge(W.now - start, (uint64_t)((20000 - pace) / pace * 1000.0));
    world_free();
}
END_TEST

/* Node 1 is the hostile peer of node 0; the test speaks for it. */
static void hostile_world(void)
{
    world(2, 2000);
    link_nodes(0, 1);
}

START_TEST(test_misbehaviour)
{
    rp_hash ids[RP_GOSSIP_MAX_IDS + 1];
    for (int i = 0; i <= RP_GOSSIP_MAX_IDS; i++)
        rp_sha256(&ids[i], (const unsigned char *)&i, sizeof i);

    /* An INV of too many ids. */
    hostile_world();
    rp_gossip_on_inv(W.node[0].g, pid(1), ids, RP_GOSSIP_MAX_IDS + 1, W.now);
    ck_assert_int_eq(W.misbehaved[0][1], 1);
    ck_assert_str_eq(W.why[0][1], "INV with too many ids");
    /* Ignored afterwards: no GETDATA for what it announces now. */
    size_t q = W.qlen;
    rp_gossip_on_inv(W.node[0].g, pid(1), ids, 10, W.now);
    ck_assert_uint_eq(W.qlen, q);
    world_free();

    /* A flood of INVs: more than two seconds' budget at once. */
    hostile_world();
    int flagged_at = -1;
    for (int k = 0; k < 4 * RP_GOSSIP_INV_BUDGET / RP_GOSSIP_MAX_IDS && flagged_at < 0; k++) {
        rp_gossip_on_inv(W.node[0].g, pid(1), ids, RP_GOSSIP_MAX_IDS, W.now);
        if (W.misbehaved[0][1])
            flagged_at = k;
    }
    ck_assert_int_eq(flagged_at, 2 * RP_GOSSIP_INV_BUDGET / RP_GOSSIP_MAX_IDS);
    ck_assert_str_eq(W.why[0][1], "INV flood");
    world_free();

    /* The same pace spread over time is fine. */
    hostile_world();
    for (int k = 0; k < 50; k++) {
        rp_gossip_on_inv(W.node[0].g, pid(1), ids, RP_GOSSIP_MAX_IDS, W.now);
        W.now += 250;
    }
    ck_assert_int_eq(W.misbehaved[0][1], 0);
    world_free();

    /* A GETDATA of too many ids, then a GETDATA flood. */
    hostile_world();
    rp_gossip_on_getdata(W.node[0].g, pid(1), ids, RP_GOSSIP_MAX_IDS + 1, W.now);
    ck_assert_str_eq(W.why[0][1], "GETDATA with too many ids");
    world_free();
    hostile_world();
    for (int k = 0; k < 4 * RP_GOSSIP_GETDATA_BUDGET / RP_GOSSIP_MAX_IDS && !W.misbehaved[0][1]; k++)
        rp_gossip_on_getdata(W.node[0].g, pid(1), ids, RP_GOSSIP_MAX_IDS, W.now);
    ck_assert_str_eq(W.why[0][1], "GETDATA flood");
    world_free();

    /* Records nobody asked for: a few are tolerated (they cross on the
     * wire after a timeout), a stream is not; none reach the mempool. */
    hostile_world();
    const unsigned char *recs[1];
    size_t lens[1] = {RECLEN};
    int k;
    for (k = 0; k < 1000 && !W.misbehaved[0][1]; k++) {
        recs[0] = W.recs[k];
        rp_gossip_on_records(W.node[0].g, pid(1), &W.ids[k], recs, lens, 1, W.now);
    }
    ck_assert_int_gt(k, 10);
    ck_assert_int_lt(k, 1000);
    ck_assert_str_eq(W.why[0][1], "records nobody asked for");
    for (int r = 0; r < 2000; r++)
        ck_assert_int_eq(W.node[0].have[r], 0);
    world_free();
}
END_TEST

/* Is there an INV from node a to node b naming id in the queue? */
static int inv_queued(int a, int b, const rp_hash *id)
{
    for (size_t k = 0; k < W.qlen; k++) {
        const struct msg *m = &W.q[(W.qhead + k) % W.qcap];
        if (m->type == M_INV && m->from == a && m->to == b)
            for (size_t i = 0; i < m->n; i++)
                if (rp_hash_eq(&m->ids[i], id))
                    return 1;
    }
    return 0;
}

START_TEST(test_known_set_rolls)
{
    /* Node 0 remembers that peer 1 announced record 0 and does not
     * announce it back; once peer 1 has announced two generations' worth
     * of other ids, the memory of record 0 is gone (the set is bounded)
     * and costs no more than one repeated INV. */
    world(2, 1);
    link_nodes(0, 1);
    rp_gossip_on_inv(W.node[0].g, pid(1), &W.ids[0], 1, W.now);
    W.node[0].have[0] = 1;
    rp_gossip_admitted(W.node[0].g, &W.ids[0], 0);
    W.now += 1000;
    rp_gossip_tick(W.node[0].g, W.now);
    ck_assert(!inv_queued(0, 1, &W.ids[0]));

    rp_hash id;
    for (uint32_t i = 0; i < RP_GOSSIP_KNOWN; i++) {
        rp_sha256(&id, (const unsigned char *)&i, sizeof i);
        rp_gossip_on_inv(W.node[0].g, pid(1), &id, 1, W.now);
        W.now += 1; /* 1,000 a second: within the budget */
    }
    ck_assert_int_eq(W.misbehaved[0][1], 0);
    rp_gossip_stats st;
    rp_gossip_stats_get(W.node[0].g, &st);
    ck_assert_uint_eq(st.inflight, RP_GOSSIP_INFLIGHT_PEER); /* requests capped per peer */
    rp_gossip_admitted(W.node[0].g, &W.ids[0], 0);
    W.now += 1000;
    rp_gossip_tick(W.node[0].g, W.now);
    ck_assert(inv_queued(0, 1, &W.ids[0]));
    world_free();
}
END_TEST

/* ---- a request stuck at the head of the queue ---- */

static struct {
    uint64_t getdata, misbehaved;
} Q;

static int q_have(void *ctx, const rp_hash *id)
{
    (void)ctx;
    (void)id;
    return 0;
}
static int q_lookup(void *ctx, const rp_hash *id, const unsigned char **b, size_t *len)
{
    (void)ctx;
    (void)id;
    (void)b;
    (void)len;
    return 0;
}
static void q_submit(void *ctx, uint64_t peer, const unsigned char *rec, size_t len)
{
    (void)ctx;
    (void)peer;
    (void)rec;
    (void)len;
}
static void q_send(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    (void)ctx;
    (void)peer;
    (void)ids;
    (void)n;
}
static void q_getdata(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    (void)ctx;
    (void)peer;
    (void)ids;
    Q.getdata += n;
}
static void q_records(void *ctx, uint64_t peer, const unsigned char *const *recs,
                      const size_t *lens, size_t n)
{
    (void)ctx;
    (void)peer;
    (void)recs;
    (void)lens;
    (void)n;
}
static void q_misbehaved(void *ctx, uint64_t peer, const char *why)
{
    (void)ctx;
    (void)peer;
    (void)why;
    Q.misbehaved++;
}

START_TEST(test_stuck_request_does_not_block)
{
    /* Peer 1 announces one record and never delivers it: its request sits
     * at the head of the timeout queue for 10 s. Meanwhile peer 2 announces
     * and delivers 120,000 others. Every one must be requested (the queue
     * of answered requests behind the stuck one is compacted), not only
     * the first 50,000. */
    memset(&Q, 0, sizeof Q);
    rp_gossip_io io = {NULL, q_have, q_lookup, q_submit, q_send, q_getdata, q_records,
                       q_misbehaved};
    rp_gossip *g;
    ck_assert_int_eq(rp_gossip_new(&g, &io), 0);
    uint64_t now = 1000;
    ck_assert_int_eq(rp_gossip_add_peer(g, 1, now), 0);
    ck_assert_int_eq(rp_gossip_add_peer(g, 2, now), 0);
    rp_hash stuck;
    memset(stuck.bytes, 0xEE, 32);
    rp_gossip_on_inv(g, 1, &stuck, 1, now);
    static rp_hash ids[RP_GOSSIP_MAX_IDS];
    static const unsigned char *recs[RP_GOSSIP_MAX_IDS];
    static size_t lens[RP_GOSSIP_MAX_IDS];
    static const unsigned char body[8] = {1};
    const int rounds = 120;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < RP_GOSSIP_MAX_IDS; i++) {
            uint32_t v = (uint32_t)(r * RP_GOSSIP_MAX_IDS + i + 1);
            memset(ids[i].bytes, 0, 32);
            memcpy(ids[i].bytes, &v, sizeof v);
            ids[i].bytes[8] = 0x5A;
            recs[i] = body;
            lens[i] = sizeof body;
        }
        rp_gossip_on_inv(g, 2, ids, RP_GOSSIP_MAX_IDS, now);
        rp_gossip_on_records(g, 2, ids, recs, lens, RP_GOSSIP_MAX_IDS, now);
        now += 1000 * RP_GOSSIP_MAX_IDS / RP_GOSSIP_INV_BUDGET; /* within the budget */
        rp_gossip_tick(g, now);
    }
    ck_assert_uint_lt(now - 1000, RP_GOSSIP_REQUEST_TIMEOUT_MS); /* still stuck */
    ck_assert_uint_eq(Q.misbehaved, 0);
    ck_assert_uint_eq(Q.getdata, 1 + (uint64_t)rounds * RP_GOSSIP_MAX_IDS);
    rp_gossip_stats st;
    rp_gossip_stats_get(g, &st);
    ck_assert_uint_eq(st.inflight, 1);
    rp_gossip_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gossip");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_relay_line_and_mesh);
    tcase_add_test(tc, test_admission_first);
    tcase_add_test(tc, test_rerequest_from_another);
    tcase_add_test(tc, test_pacing);
    tcase_add_test(tc, test_misbehaviour);
    tcase_add_test(tc, test_known_set_rolls);
    tcase_add_test(tc, test_stuck_request_does_not_block);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
