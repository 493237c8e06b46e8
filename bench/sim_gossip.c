/* Record gossip at network scale: thousands of real gossip engines
 * (p2p/gossip.c, unchanged) in one process, joined by simulated links, to
 * see how fast a record reaches every node, along how many links, and at
 * what cost in announcements, before there are that many machines.
 *
 * The network:
 *   - every node dials K outbound peers (--outbound, default 8 as the
 *     node's p2p max_outbound) chosen at random among the nodes that still
 *     have inbound room (--inbound, default 32 as max_inbound); no link to
 *     itself, no second link between two nodes; links carry both ways;
 *   - each link has one fixed one-way latency drawn uniformly from 20..120
 *     ms and delivers its messages in order (a message sent later never
 *     arrives earlier: same latency, ties broken by send order);
 *   - each node's engine ticks every 100 ms (rp_gossip_tick) at a phase of
 *     its own, as independent nodes would;
 *   - a node holds a record from the moment its body arrives (the engine's
 *     `have` says yes, as the node's mempool does for a record it is still
 *     checking) and admits it 1 ms later (the signature check), which is
 *     when rp_gossip_admitted announces it onwards, with the sender as the
 *     record's source;
 *   - R records (--records, default 200) enter at random nodes, as if
 *     submitted over RPC there, at Poisson times (--rate a second, default
 *     20), after a quiet first second.
 * Not modelled: bandwidth and queueing (a message costs only its link's
 * latency), packet loss, churn, misbehaving peers, blocks (nothing leaves the
 * mempools) and the batching of signature checks on the worker pool.
 *
 * Measured per record: the time until every node has admitted it (p50,
 * p99, max over records); the hops of each (record, node), i.e. how many
 * links its body crossed to get there, beside the shortest path in hops
 * from the origin (breadth-first); the bodies received over all nodes
 * divided by nodes - 1 (1.0 when every node got exactly one body); INV ids
 * sent per node per record (the announcement overhead). The simulation is
 * a discrete-event loop over one binary heap ordered by (time, sequence),
 * so a seed gives the same figures every run.
 *
 * Memory: the engine reserves, per node, a request table of 200,000 slots
 * (14 MB) and per peer two known-id generations of 16,384 slots (256 KiB),
 * zeroed by calloc, so only the pages written become resident. Record ids
 * are hashes in production, which scatter writes over every page: about
 * 4.8 MiB resident per node at 16 peers and 200 records (--ids hash). By
 * default the simulation gives record r an id whose first 8 bytes (the
 * engine's fingerprint, which picks the slots) are 2(r + 1), so each
 * engine's writes land on a few consecutive pages, and every other slot
 * stays empty so the request table's tombstones never form long runs to
 * probe through. The fingerprints stay distinct, so no decision of the
 * engine changes: both modes print the same figures for a seed. glibc is
 * also told to mmap every large allocation (past its default of 65,536
 * mmaps it would carve them from the heap and zero every page by hand)
 * and to keep no slack at the heap's top (which calloc zeroes by hand).
 *
 * Usage: sim_gossip [--nodes N] [--records R] [--seed S] [--outbound K]
 *                   [--inbound M] [--rate RECORDS_PER_S] [--ids compact|hash]
 */
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "crypto/error.h"
#include "crypto/hash.h"
#include "p2p/gossip.h"

#define RECLEN 64        /* bytes of a simulated record */
#define TICK_MS 100      /* the engine's tick, as the node runs it */
#define CHECK_MS 1       /* a record's signature check */
#define LAT_MIN_MS 20    /* one-way link latency, uniform over [min, max] */
#define LAT_MAX_MS 120
#define START_MS 1000    /* the first record enters after this */
#define HORIZON_MS 60000 /* give up this long after the last record entered */
#define NO_SOURCE UINT32_MAX

enum { EV_TICK, EV_INJECT, EV_ADMIT, EV_INV, EV_GETDATA, EV_RECORDS };

/* An event: a node's tick, a record entering, a checked record admitted, or
 * a message arriving (record numbers in recs, owned by the event). */
struct ev {
    uint64_t t, seq;
    uint32_t kind, from, to, n;
    uint32_t *recs;
};

struct link {
    uint32_t peer;
    uint32_t lat_ms;
};

struct node {
    rp_gossip *g;
    uint32_t idx;
    struct link *adj; /* outbound and inbound peers */
    uint32_t nadj, nout, nin;
};

/* Per (node, record) state. */
enum { HAS_NOT = 0, CHECKING = 1, READY = 2 };

static struct {
    /* parameters */
    uint32_t nodes, records, outbound, inbound;
    uint64_t seed;
    double rate;
    int hash_ids;
    /* the network */
    struct node *node;
    uint64_t rng;
    /* records */
    unsigned char (*body)[RECLEN];
    rp_hash *ids;
    uint32_t *slot; /* id -> record number: open addressing, record + 1, 0 empty */
    size_t nslot;
    uint64_t *t_in;      /* when each record entered */
    uint32_t *origin;    /* where */
    uint32_t *reached;   /* nodes that admitted it */
    uint64_t *reach_ms;  /* time until the last one did (0: not yet) */
    uint64_t *bodies;    /* record bodies received, all nodes */
    uint32_t done;       /* records every node admitted */
    /* per (node, record): node * records + record */
    unsigned char *state;
    uint16_t *hops;
    uint32_t *delay_ms; /* from entry to admission */
    /* events */
    struct ev *heap;
    size_t nheap, capheap;
    uint64_t seq, now, events, messages;
    /* anomalies the engine reported or the simulation saw */
    uint64_t misbehaved, handed_twice, stray_records;
} S;

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "sim_gossip: %s\n", what);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint32_t below(uint32_t n) { return (uint32_t)(splitmix(&S.rng) % n); }

static double uniform01(void) { return (double)(splitmix(&S.rng) >> 11) * 0x1.0p-53; }

/* ---- the event heap, ordered by (time, sequence) -------------------------------- */

static int ev_before(const struct ev *a, const struct ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ev_push(uint64_t t, uint32_t kind, uint32_t from, uint32_t to, uint32_t n,
                    uint32_t *recs)
{
    if (S.nheap == S.capheap) {
        size_t cap = S.capheap ? S.capheap * 2 : 4096;
        struct ev *h = realloc(S.heap, cap * sizeof *h);
        if (!h)
            die("out of memory");
        S.heap = h;
        S.capheap = cap;
    }
    struct ev e = {t, S.seq++, kind, from, to, n, recs};
    size_t i = S.nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!ev_before(&e, &S.heap[up]))
            break;
        S.heap[i] = S.heap[up];
        i = up;
    }
    S.heap[i] = e;
}

static struct ev ev_pop(void)
{
    struct ev top = S.heap[0], last = S.heap[--S.nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= S.nheap)
            break;
        if (c + 1 < S.nheap && ev_before(&S.heap[c + 1], &S.heap[c]))
            c++;
        if (!ev_before(&S.heap[c], &last))
            break;
        S.heap[i] = S.heap[c];
        i = c;
    }
    if (S.nheap)
        S.heap[i] = last;
    return top;
}

/* ---- records ---------------------------------------------------------------------- */

static uint64_t fp(const rp_hash *id)
{
    uint64_t f = 0;
    for (int i = 0; i < 8; i++)
        f = f << 8 | id->bytes[i];
    return f;
}

static size_t slot_home(const rp_hash *id)
{
    uint64_t z = fp(id) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(z >> 17) & (S.nslot - 1);
}

/* The record number of an id, or -1 for one the simulation never made. */
static long rec_of(const rp_hash *id)
{
    for (size_t i = slot_home(id);; i = (i + 1) & (S.nslot - 1)) {
        uint32_t s = S.slot[i];
        if (!s)
            return -1;
        if (!memcmp(&S.ids[s - 1], id, sizeof *id))
            return (long)s - 1;
    }
}

/* Record r's body names r in its first 4 bytes; the rest is filler. */
static uint32_t rec_of_body(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void make_records(void)
{
    uint32_t R = S.records;
    S.body = xcalloc(R, sizeof *S.body);
    S.ids = xcalloc(R, sizeof *S.ids);
    for (S.nslot = 16; S.nslot < 2 * (size_t)R; S.nslot *= 2) {
    }
    S.slot = xcalloc(S.nslot, sizeof *S.slot);
    for (uint32_t r = 0; r < R; r++) {
        unsigned char *b = S.body[r];
        b[0] = (unsigned char)(r >> 24);
        b[1] = (unsigned char)(r >> 16);
        b[2] = (unsigned char)(r >> 8);
        b[3] = (unsigned char)r;
        for (size_t i = 4; i < RECLEN; i++)
            b[i] = (unsigned char)splitmix(&S.rng);
        rp_sha256(&S.ids[r], b, RECLEN);
        if (!S.hash_ids) { /* the fingerprint: twice the record's number + 1 */
            uint64_t f = 2 * ((uint64_t)r + 1);
            for (int i = 7; i >= 0; i--, f >>= 8)
                S.ids[r].bytes[i] = (unsigned char)f;
        }
        size_t i = slot_home(&S.ids[r]);
        while (S.slot[i])
            i = (i + 1) & (S.nslot - 1);
        S.slot[i] = r + 1;
    }
}

/* ---- links ------------------------------------------------------------------------ */

static struct link *link_to(const struct node *a, uint32_t b)
{
    for (uint32_t i = 0; i < a->nadj; i++)
        if (a->adj[i].peer == b)
            return &a->adj[i];
    return NULL;
}

static uint64_t peer_id(uint32_t idx) { return (uint64_t)idx + 1; }

static uint32_t peer_idx(uint64_t peer)
{
    if (peer < 1 || peer > S.nodes)
        die("the engine named a peer that does not exist");
    return (uint32_t)(peer - 1);
}

/* A message from a to b arrives after the link's latency. */
static void send_msg(uint32_t kind, uint32_t a, uint64_t peer, uint32_t n, uint32_t *recs)
{
    uint32_t b = peer_idx(peer);
    const struct link *l = link_to(&S.node[a], b);
    if (!l)
        die("the engine sent to a node it has no link with");
    S.messages++;
    ev_push(S.now + l->lat_ms, kind, a, b, n, recs);
}

static uint32_t *ids_to_recs(const rp_hash *ids, size_t n)
{
    uint32_t *recs = xcalloc(n, sizeof *recs);
    for (size_t i = 0; i < n; i++) {
        long r = rec_of(&ids[i]);
        if (r < 0)
            die("the engine sent an id the simulation never made");
        recs[i] = (uint32_t)r;
    }
    return recs;
}

/* ---- the engine's io -------------------------------------------------------------- */

static unsigned char *state_of(uint32_t node, uint32_t r)
{
    return &S.state[(size_t)node * S.records + r];
}

static int io_have(void *ctx, const rp_hash *id)
{
    const struct node *nd = ctx;
    long r = rec_of(id);
    return r >= 0 && *state_of(nd->idx, (uint32_t)r) != HAS_NOT;
}

static int io_lookup(void *ctx, const rp_hash *id, const unsigned char **b, size_t *len)
{
    const struct node *nd = ctx;
    long r = rec_of(id);
    if (r < 0 || *state_of(nd->idx, (uint32_t)r) != READY)
        return 0;
    *b = S.body[r];
    *len = RECLEN;
    return 1;
}

/* A body arrived from a peer: the node holds it now and admits it once its
 * signature is checked. */
static void io_submit(void *ctx, uint64_t peer, const unsigned char *rec, size_t len)
{
    const struct node *nd = ctx;
    uint32_t from = peer_idx(peer), r = rec_of_body(rec);
    if (len != RECLEN || r >= S.records)
        die("the engine submitted bytes that are not a simulated record");
    unsigned char *st = state_of(nd->idx, r);
    if (*st != HAS_NOT) {
        S.handed_twice++;
        return;
    }
    *st = CHECKING;
    size_t at = (size_t)nd->idx * S.records + r;
    S.hops[at] = (uint16_t)(S.hops[(size_t)from * S.records + r] + 1);
    ev_push(S.now + CHECK_MS, EV_ADMIT, from, nd->idx, r, NULL);
}

static void io_send_inv(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    const struct node *nd = ctx;
    send_msg(EV_INV, nd->idx, peer, (uint32_t)n, ids_to_recs(ids, n));
}

static void io_send_getdata(void *ctx, uint64_t peer, const rp_hash *ids, size_t n)
{
    const struct node *nd = ctx;
    send_msg(EV_GETDATA, nd->idx, peer, (uint32_t)n, ids_to_recs(ids, n));
}

static void io_send_records(void *ctx, uint64_t peer, const unsigned char *const *recs,
                            const size_t *lens, size_t n)
{
    const struct node *nd = ctx;
    uint32_t *rs = xcalloc(n, sizeof *rs);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] != RECLEN || rec_of_body(recs[i]) >= S.records)
            die("the engine sent bytes that are not a simulated record");
        rs[i] = rec_of_body(recs[i]);
    }
    send_msg(EV_RECORDS, nd->idx, peer, (uint32_t)n, rs);
}

static void io_misbehaved(void *ctx, uint64_t peer, const char *why)
{
    const struct node *nd = ctx;
    if (S.misbehaved++ < 10)
        fprintf(stderr, "sim_gossip: node %" PRIu32 " reports peer %" PRIu64 ": %s\n", nd->idx,
                peer - 1, why);
}

/* ---- topology --------------------------------------------------------------------- */

static int can_dial(uint32_t a, uint32_t b)
{
    return a != b && S.node[b].nin < S.inbound && !link_to(&S.node[a], b);
}

static void connect_nodes(uint32_t a, uint32_t b)
{
    uint32_t lat = LAT_MIN_MS + below(LAT_MAX_MS - LAT_MIN_MS + 1);
    struct node *na = &S.node[a], *nb = &S.node[b];
    na->adj[na->nadj++] = (struct link){b, lat};
    nb->adj[nb->nadj++] = (struct link){a, lat};
    na->nout++;
    nb->nin++;
}

/* Every node, in a random order, dials its outbound peers: random picks
 * first, then (when the network is nearly full) a scan for what is left. */
static uint32_t build_topology(void)
{
    uint32_t N = S.nodes, short_nodes = 0;
    uint32_t *order = xcalloc(N, sizeof *order), *cand = xcalloc(N, sizeof *cand);
    for (uint32_t i = 0; i < N; i++)
        order[i] = i;
    for (uint32_t i = N; i > 1; i--) {
        uint32_t j = below(i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (uint32_t k = 0; k < N; k++) {
        uint32_t a = order[k];
        while (S.node[a].nout < S.outbound) {
            uint32_t b = UINT32_MAX;
            for (int tries = 0; tries < 64 && b == UINT32_MAX; tries++) {
                uint32_t c = below(N);
                if (can_dial(a, c))
                    b = c;
            }
            if (b == UINT32_MAX) {
                uint32_t nc = 0;
                for (uint32_t c = 0; c < N; c++)
                    if (can_dial(a, c))
                        cand[nc++] = c;
                if (!nc)
                    break;
                b = cand[below(nc)];
            }
            connect_nodes(a, b);
        }
        if (S.node[a].nout < S.outbound)
            short_nodes++;
    }
    free(order);
    free(cand);
    return short_nodes;
}

/* Shortest paths in hops from r's origin, into dist (UINT32_MAX: unreachable). */
static void bfs(uint32_t from, uint32_t *dist, uint32_t *queue)
{
    for (uint32_t i = 0; i < S.nodes; i++)
        dist[i] = UINT32_MAX;
    size_t head = 0, tail = 0;
    dist[from] = 0;
    queue[tail++] = from;
    while (head < tail) {
        uint32_t a = queue[head++];
        for (uint32_t i = 0; i < S.node[a].nadj; i++) {
            uint32_t b = S.node[a].adj[i].peer;
            if (dist[b] == UINT32_MAX) {
                dist[b] = dist[a] + 1;
                queue[tail++] = b;
            }
        }
    }
}

/* ---- the run ---------------------------------------------------------------------- */

static void admit(uint32_t node, uint32_t r, uint32_t source)
{
    unsigned char *st = state_of(node, r);
    *st = READY;
    S.delay_ms[(size_t)node * S.records + r] = (uint32_t)(S.now - S.t_in[r]);
    if (++S.reached[r] == S.nodes) {
        S.reach_ms[r] = S.now - S.t_in[r];
        S.done++;
    }
    rp_gossip_admitted(S.node[node].g, &S.ids[r],
                       source == NO_SOURCE ? 0 : peer_id(source));
}

static void run_event(const struct ev *e)
{
    static rp_hash ids[RP_GOSSIP_MAX_IDS];
    static const unsigned char *recs[RP_GOSSIP_MAX_IDS];
    static size_t lens[RP_GOSSIP_MAX_IDS];
    struct node *nd = &S.node[e->to];
    uint64_t from = peer_id(e->from);

    switch (e->kind) {
    case EV_TICK:
        rp_gossip_tick(nd->g, S.now);
        ev_push(S.now + TICK_MS, EV_TICK, e->to, e->to, 0, NULL);
        return;
    case EV_INJECT:
        *state_of(e->to, e->n) = CHECKING;
        admit(e->to, e->n, NO_SOURCE);
        return;
    case EV_ADMIT:
        admit(e->to, e->n, e->from);
        return;
    }
    if (e->n > RP_GOSSIP_MAX_IDS)
        die("a message longer than the engine may send");
    for (uint32_t i = 0; i < e->n; i++)
        ids[i] = S.ids[e->recs[i]];
    switch (e->kind) {
    case EV_INV:
        rp_gossip_on_inv(nd->g, from, ids, e->n, S.now);
        break;
    case EV_GETDATA:
        rp_gossip_on_getdata(nd->g, from, ids, e->n, S.now);
        break;
    case EV_RECORDS:
        for (uint32_t i = 0; i < e->n; i++) {
            recs[i] = S.body[e->recs[i]];
            lens[i] = RECLEN;
            S.bodies[e->recs[i]]++;
        }
        rp_gossip_on_records(nd->g, from, ids, recs, lens, e->n, S.now);
        break;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static size_t rank(size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);
    return k ? k - 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: sim_gossip [--nodes N] [--records R] [--seed S] [--outbound K]\n"
                    "                  [--inbound M] [--rate RECORDS_PER_S] [--ids compact|hash]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    S.nodes = 1000;
    S.records = 200;
    S.seed = 1;
    S.outbound = 8;
    S.inbound = 32;
    S.rate = 20.0;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[i + 1];
        char *end;
        if (!strcmp(k, "--ids")) {
            if (!strcmp(v, "hash"))
                S.hash_ids = 1;
            else if (strcmp(v, "compact"))
                usage();
            continue;
        }
        if (!strcmp(k, "--rate")) {
            S.rate = strtod(v, &end);
            if (*end || !(S.rate > 0))
                usage();
            continue;
        }
        unsigned long long x = strtoull(v, &end, 10);
        if (*end || !*v || *v == '-')
            usage();
        if (!strcmp(k, "--seed"))
            S.seed = x;
        else if (x > 10000000)
            usage();
        else if (!strcmp(k, "--nodes"))
            S.nodes = (uint32_t)x;
        else if (!strcmp(k, "--records"))
            S.records = (uint32_t)x;
        else if (!strcmp(k, "--outbound"))
            S.outbound = (uint32_t)x;
        else if (!strcmp(k, "--inbound"))
            S.inbound = (uint32_t)x;
        else
            usage();
    }
    if (S.nodes < 2 || S.records < 1 || S.outbound < 1 || S.outbound >= S.nodes)
        usage();
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
#ifdef M_MMAP_MAX
    /* glibc serves at most 65,536 allocations with their own mmap; past
     * that (5,000 nodes make 170,000 of 128 KiB and more) calloc carves
     * them from the heap and zeroes them by hand, every page resident.
     * Slack at the heap's top is zeroed by hand too when calloc reuses it. */
    mallopt(M_MMAP_MAX, INT32_MAX);
    mallopt(M_TOP_PAD, 0);
#endif
    double t0 = wall();
    uint32_t N = S.nodes, R = S.records;
    S.rng = S.seed;

    /* The network and its engines. */
    S.node = xcalloc(N, sizeof *S.node);
    for (uint32_t i = 0; i < N; i++) {
        S.node[i].idx = i;
        S.node[i].adj = xcalloc(S.outbound + S.inbound, sizeof *S.node[i].adj);
    }
    uint32_t short_nodes = build_topology();
    uint64_t links = 0;
    uint32_t deg_min = UINT32_MAX, deg_max = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct node *nd = &S.node[i];
        links += nd->nout;
        deg_min = nd->nadj < deg_min ? nd->nadj : deg_min;
        deg_max = nd->nadj > deg_max ? nd->nadj : deg_max;
        rp_gossip_io io = {nd,          io_have,         io_lookup,       io_submit,
                           io_send_inv, io_send_getdata, io_send_records, io_misbehaved};
        int rc = rp_gossip_new(&nd->g, &io);
        for (uint32_t k = 0; rc == 0 && k < nd->nadj; k++)
            rc = rp_gossip_add_peer(nd->g, peer_id(nd->adj[k].peer), 0);
        if (rc) {
            fprintf(stderr, "sim_gossip: engine %" PRIu32 ": %s\n", i, rp_strerror(rc));
            return 1;
        }
        ev_push(below(TICK_MS), EV_TICK, i, i, 0, NULL);
    }

    /* The records, their entry times and places. */
    make_records();
    S.t_in = xcalloc(R, sizeof *S.t_in);
    S.origin = xcalloc(R, sizeof *S.origin);
    S.reached = xcalloc(R, sizeof *S.reached);
    S.reach_ms = xcalloc(R, sizeof *S.reach_ms);
    S.bodies = xcalloc(R, sizeof *S.bodies);
    S.state = xcalloc((size_t)N * R, 1);
    S.hops = xcalloc((size_t)N * R, sizeof *S.hops);
    S.delay_ms = xcalloc((size_t)N * R, sizeof *S.delay_ms);
    double t = START_MS;
    for (uint32_t r = 0; r < R; r++) {
        S.t_in[r] = (uint64_t)t;
        S.origin[r] = below(N);
        ev_push(S.t_in[r], EV_INJECT, NO_SOURCE, S.origin[r], r, NULL);
        t += -1000.0 / S.rate * log1p(-uniform01());
    }
    uint64_t deadline = S.t_in[R - 1] + HORIZON_MS;
    double t_setup = wall() - t0;

    /* Run until every node has every record, or the horizon. */
    while (S.nheap && S.done < R) {
        struct ev e = ev_pop();
        if (e.t > deadline)
            break;
        S.now = e.t;
        S.events++;
        run_event(&e);
        free(e.recs);
    }
    uint64_t sim_end = S.now;
    double t_run = wall() - t0 - t_setup;

    /* Figures. */
    uint64_t unreached = 0, hop_sum = 0, hop_n = 0, sp_sum = 0, longer = 0;
    uint32_t hop_max = 0, sp_max = 0, unconnected = 0;
    uint32_t *dist = xcalloc(N, sizeof *dist), *queue = xcalloc(N, sizeof *queue);
    for (uint32_t r = 0; r < R; r++) {
        bfs(S.origin[r], dist, queue);
        for (uint32_t i = 0; i < N; i++) {
            if (dist[i] == UINT32_MAX) {
                unconnected++;
                continue;
            }
            if (i == S.origin[r])
                continue;
            sp_sum += dist[i];
            sp_max = dist[i] > sp_max ? dist[i] : sp_max;
            size_t at = (size_t)i * R + r;
            if (S.state[at] != READY) {
                unreached++;
                continue;
            }
            hop_sum += S.hops[at];
            hop_n++;
            hop_max = S.hops[at] > hop_max ? S.hops[at] : hop_max;
            longer += S.hops[at] > dist[i];
        }
    }
    uint64_t *reach = xcalloc(R, sizeof *reach);
    uint32_t nreach = 0;
    double dup_sum = 0, dup_max = 0;
    for (uint32_t r = 0; r < R; r++) {
        if (S.reached[r] == N)
            reach[nreach++] = S.reach_ms[r];
        double d = (double)S.bodies[r] / (double)(N - 1);
        dup_sum += d;
        dup_max = d > dup_max ? d : dup_max;
    }
    qsort(reach, nreach, sizeof *reach, cmp_u64);
    /* Per (record, node) delays, the origin's zeros left out. */
    uint32_t *delays = xcalloc((size_t)N * R, sizeof *delays);
    size_t ndelays = 0;
    for (uint32_t i = 0; i < N; i++)
        for (uint32_t r = 0; r < R; r++)
            if (i != S.origin[r] && S.state[(size_t)i * R + r] == READY)
                delays[ndelays++] = S.delay_ms[(size_t)i * R + r];
    qsort(delays, ndelays, sizeof *delays, cmp_u32);
    rp_gossip_stats sum = {0};
    for (uint32_t i = 0; i < N; i++) {
        rp_gossip_stats st;
        rp_gossip_stats_get(S.node[i].g, &st);
        sum.inv_sent += st.inv_sent;
        sum.getdata_sent += st.getdata_sent;
        sum.records_sent += st.records_sent;
        sum.records_received += st.records_received;
        sum.duplicates += st.duplicates;
        sum.unrequested += st.unrequested;
        sum.inflight += st.inflight;
    }
    double per_nr = (double)N * R;
    double reach_p50 = nreach ? (double)reach[rank(nreach, 0.50)] : -1;
    double reach_p99 = nreach ? (double)reach[rank(nreach, 0.99)] : -1;
    double reach_max = nreach ? (double)reach[nreach - 1] : -1;
    double hops_mean = hop_n ? (double)hop_sum / (double)hop_n : 0;
    uint64_t sp_n = (uint64_t)R * (N - 1) - unconnected;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mib = (double)ru.ru_maxrss / 1024.0;
    double elapsed = wall() - t0;

    printf("sim_gossip: %" PRIu32 " nodes, %" PRIu32 " records at %.0f/s, seed %" PRIu64
           ", ids %s\n",
           N, R, S.rate, S.seed, S.hash_ids ? "hash" : "compact");
    printf("  topology:  %" PRIu64 " links (outbound %" PRIu32 ", inbound up to %" PRIu32
           "), degree %" PRIu32 "..%" PRIu32 " mean %.1f, %" PRIu32
           " nodes short of outbound, %" PRIu32 " (record, node) pairs unconnected\n",
           links, S.outbound, S.inbound, deg_min, deg_max, 2.0 * (double)links / N, short_nodes,
           unconnected);
    printf("  model:     one-way latency %d..%d ms per link, tick %d ms, check %d ms, "
           "no bandwidth limit, no loss\n",
           LAT_MIN_MS, LAT_MAX_MS, TICK_MS, CHECK_MS);
    printf("  reach:     every node has it after p50 %.0f ms, p99 %.0f ms, max %.0f ms "
           "(%" PRIu32 " of %" PRIu32 " records everywhere)\n",
           reach_p50, reach_p99, reach_max, nreach, R);
    if (ndelays)
        printf("  per node:  a node has it after p50 %" PRIu32 " ms, p90 %" PRIu32
               " ms, p99 %" PRIu32 " ms\n",
               delays[rank(ndelays, 0.50)], delays[rank(ndelays, 0.90)],
               delays[rank(ndelays, 0.99)]);
    printf("  hops:      mean %.2f, max %" PRIu32 "; shortest paths mean %.2f, max %" PRIu32
           "; %.1f%% of bodies took more hops than the shortest path\n",
           hops_mean, hop_max, sp_n ? (double)sp_sum / (double)sp_n : 0, sp_max,
           hop_n ? 100.0 * (double)longer / (double)hop_n : 0);
    printf("  bodies:    %.4f per record per node (max %.4f); engine counted %" PRIu64
           " duplicates, %" PRIu64 " unrequested\n",
           dup_sum / R, dup_max, sum.duplicates, sum.unrequested);
    printf("  overhead:  %.2f INV ids and %.3f GETDATA ids sent per node per record; "
           "%" PRIu64 " messages\n",
           (double)sum.inv_sent / per_nr, (double)sum.getdata_sent / per_nr, S.messages);
    printf("  anomalies: %" PRIu64 " (record, node) pairs unreached, %" PRIu64
           " misbehaviour reports, %" PRIu64 " bodies handed twice, %zu requests in flight\n",
           unreached, S.misbehaved, S.handed_twice, sum.inflight);
    printf("  run:       %.1f s simulated, %" PRIu64 " events; setup %.2f s, run %.2f s, "
           "peak RSS %.0f MiB\n",
           (double)sim_end / 1000.0, S.events, t_setup, t_run, rss_mib);
    printf("sim_gossip nodes=%" PRIu32 " records=%" PRIu32 " seed=%" PRIu64
           " reach_p50_ms=%.0f reach_p99_ms=%.0f reach_max_ms=%.0f hops_mean=%.2f"
           " hops_max=%" PRIu32 " dup_ratio=%.4f inv_per_node_record=%.2f unreached=%" PRIu64
           " rss_mib=%.0f elapsed_s=%.2f\n",
           N, R, S.seed, reach_p50, reach_p99, reach_max, hops_mean, hop_max, dup_sum / R,
           (double)sum.inv_sent / per_nr, unreached, rss_mib, elapsed);

    /* Everything is left to the process exit: freeing the engines one by
     * one unmaps 34 regions per node, each unmapping a TLB shootdown on
     * every core, which at 5,000 nodes takes seconds longer than the
     * exit's single sweep. */
    free(dist);
    free(queue);
    free(reach);
    free(delays);
    return 0;
}
