/* repute-gen's planner: what the synthetic chain says (see gen.h for what
 * is generated, internal.h for how the planner and the writer divide the work).
 *
 * The chain is one stream of records in application order. A main loop
 * draws the next event at random, weighted by how many of each kind remain
 * (an honest engagement, a vouch, a sybil-ring engagement, an attack edge, a
 * scenario engagement), and emits its record at once; the records that must
 * follow it later (reviews of an engagement, the revocation of a review) go
 * into a min-heap keyed by stream position and are emitted when their
 * position comes, or at the end. Because every dependency is emitted at an
 * earlier stream position, each record is valid when its block is applied
 * in order, whether its dependency ended up in an earlier block or earlier
 * in the same one. Sequence numbers are handed out at emission, which is
 * application order.
 *
 * Every choice comes from one PRNG (xoshiro256** seeded from the master
 * seed through splitmix64), drawn only here and only on the calling thread,
 * so the chain does not depend on how the writer cuts, signs or schedules
 * blocks. Records are built unsigned, and a record's id (which covers the
 * body, not the signatures) is known at emission, so reviews and revokes
 * name their targets before anything is signed: the writer stamps and signs
 * later, on the pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "node/gen/gen.h"
#include "node/gen/internal.h"

/* ---- deterministic PRNG: xoshiro256** seeded through splitmix64 ---------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(struct prng *p)
{
    uint64_t *s = p->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t below(struct prng *p, uint64_t n)
{
    uint64_t threshold = (0 - n) % n, x;
    do
        x = rnd(p);
    while (x < threshold);
    return x % n;
}

/* Skewed towards 0 in [0, n), n <= 2^32: n * u^power for u uniform in
 * [0, 1), in 32-bit fixed point so that no floating point is involved. With
 * power 3 the first 1% of positions draws about a fifth of the picks. */
static uint64_t skewed(struct prng *p, uint64_t n, int power)
{
    uint64_t u = rnd(p) >> 32, v = u;
    for (int i = 1; i < power; i++)
        v = (v * u) >> 32;
    return (n * v) >> 32;
}

static void rnd_bytes(struct prng *p, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = rnd(p);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            out[i + j] = (unsigned char)(x >> (8 * j));
    }
}

/* ---- keys, roles and the genesis ----------------------------------------------- */

static int make_keys(struct gen *G)
{
    for (uint32_t i = 0; i < G->nids; i++) {
        rp_seckey sk;
        derive_key(G, &sk, i);
        int rc = rp_pubkey_from_seckey(&G->ids[i].pk, &sk);
        sodium_memzero(&sk, sizeof sk);
        if (rc) {
            rp_gen_seterr(G, "cannot derive key %u: %s", (unsigned)i, rp_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Roles of the honest identities: exact shares (60/25/15, rounded, with at
 * least one talent and one agent or brand), shuffled; the pre-trusted are
 * then given agent or brand roles where possible, as established agencies
 * and brands are the natural anchors of trust. Sybils are talents. */
static int assign_roles(struct gen *G)
{
    uint64_t n = G->n;
    uint64_t nt = (n * 60 + 50) / 100, na = (n * 25 + 50) / 100;
    if (nt == 0)
        nt = 1;
    if (nt >= n)
        nt = n - 1;
    if (na > n - nt)
        na = n - nt;
    for (uint64_t i = 1; i <= n; i++)
        G->ids[i].role = i <= nt ? RP_ROLE_TALENT : i <= nt + na ? RP_ROLE_AGENT : RP_ROLE_BRAND;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = 1 + below(&G->rng, i);
        uint8_t t = G->ids[i].role;
        G->ids[i].role = G->ids[j].role;
        G->ids[j].role = t;
    }
    uint64_t npre = PRETRUST_COUNT(n), next = npre + 1;
    for (uint64_t p = 1; p <= npre; p++) {
        if (G->ids[p].role != RP_ROLE_TALENT)
            continue;
        while (next <= n && G->ids[next].role == RP_ROLE_TALENT)
            next++;
        if (next > n)
            break;
        G->ids[p].role = G->ids[next].role;
        G->ids[next].role = RP_ROLE_TALENT;
        next++;
    }
    for (uint64_t i = n + 1; i < G->nids; i++)
        G->ids[i].role = RP_ROLE_TALENT;

    G->talents = malloc(n * sizeof *G->talents);
    G->agents = malloc(n * sizeof *G->agents);
    G->brands = malloc(n * sizeof *G->brands);
    if (!G->talents || !G->agents || !G->brands) {
        rp_gen_seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    for (uint32_t i = 1; i <= n; i++) {
        if (G->ids[i].role == RP_ROLE_TALENT)
            G->talents[G->ntalents++] = i;
        else if (G->ids[i].role == RP_ROLE_AGENT)
            G->agents[G->nagents++] = i;
        else
            G->brands[G->nbrands++] = i;
    }
    /* Whitewashers: w distinct talents that are not pre-trusted, by rejection.
     * Draws nothing when w is 0. */
    uint64_t eligible = 0;
    for (uint64_t k = 0; k < G->ntalents; k++)
        eligible += G->talents[k] > npre;
    if (G->w > eligible) {
        rp_gen_seterr(
            G, "whitewash %llu needs as many talents that are not pre-trusted (there are %llu)",
            (unsigned long long)G->w, (unsigned long long)eligible);
        return RP_ERR_INVALID_ARG;
    }
    for (uint64_t k = 0; k < G->w;) {
        uint32_t t = G->talents[below(&G->rng, G->ntalents)];
        if (t <= npre || G->ids[t].bad)
            continue;
        G->ids[t].bad = 1;
        k++;
    }
    return 0;
}

static void make_genesis(struct gen *G)
{
    rp_genesis *g = G->g;
    memset(g, 0, sizeof *g);
    strcpy(g->chain_name, RP_GEN_CHAIN_NAME);
    g->genesis_time = RP_GEN_GENESIS_TIME;
    g->nvalidators = 1;
    g->validators[0].pubkey = G->ids[0].pk;
    g->validators[0].power = 1;
    strcpy(g->validators[0].name, "val-0");
    g->npretrusted = PRETRUST_COUNT(G->n);
    for (size_t i = 0; i < g->npretrusted; i++)
        g->pretrusted[i] = G->ids[1 + i].pk;
    g->params = (rp_params){
        .block_interval_ms = 1000,
        .epoch_blocks = 100,
        .score_delay_blocks = 10,
        .max_block_records = G->rpb > 10000 ? G->rpb : 10000,
        .max_block_bytes = RP_MAX_BLOCK_BYTES_LIMIT,
        .pow_difficulty =
            G->o->pow_difficulty ? G->o->pow_difficulty : RP_GEN_DEFAULT_POW_DIFFICULTY,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 2592000,
    };
}

int rp_gen_plan_genesis(struct gen *G)
{
    const rp_gen_opts *o = G->o;
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(o->seed >> (56 - 8 * i));
    rp_hash master;
    rp_tagged_hash(&master, RP_TAG_GEN_SEED, be, sizeof be);
    memcpy(G->master, master.bytes, 32);
    sodium_memzero(&master, sizeof master);
    for (int k = 0; k < 4; k++) {
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
            x = x << 8 | G->master[8 * k + i];
        G->rng.s[k] = splitmix64(&x);
    }

    G->n = o->identities;
    G->s = o->sybil;
    G->w = o->whitewash;
    G->nids = (uint32_t)(1 + G->n + G->s + G->w);
    G->g = malloc(sizeof *G->g);
    G->ids = calloc(G->nids, sizeof *G->ids);
    if (!G->g || !G->ids) {
        rp_gen_seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    int rc;
    if ((rc = make_keys(G)) != 0 || (rc = assign_roles(G)) != 0)
        return rc;
    make_genesis(G);
    if ((rc = rp_genesis_chain_id(&G->chain_id, G->g)) != 0)
        rp_gen_seterr(G, "generated an invalid genesis: %s", rp_strerror(rc));
    return rc;
}

/* ---- the pending heap -------------------------------------------------------------- */

/* A record waiting for its stream position. */
enum { P_REVIEW = 1, P_REVOKE = 2 };

struct pending {
    uint64_t due, order;
    rp_hash target; /* the engagement (P_REVIEW) or review (P_REVOKE) */
    uint32_t issuer, subject;
    uint8_t kind;
    uint8_t stars;  /* P_REVIEW: fixed rating, or 0 to draw one */
    uint8_t market; /* P_REVIEW: an honest-market review (may be revoked) */
};

static int pending_less(const struct pending *a, const struct pending *b)
{
    return a->due != b->due ? a->due < b->due : a->order < b->order;
}

static int heap_push(struct gen *G, struct pending *p, uint64_t delay)
{
    void *q = rp_gen_grow(G->heap, &G->capheap, G->nheap + 1, sizeof *G->heap);
    if (!q) {
        rp_gen_seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    G->heap = q;
    p->due = G->pos + delay;
    p->order = G->order++;
    size_t i = G->nheap++;
    while (i > 0 && pending_less(p, &G->heap[(i - 1) / 2])) {
        G->heap[i] = G->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    G->heap[i] = *p;
    return 0;
}

static struct pending heap_pop(struct gen *G)
{
    struct pending top = G->heap[0], last = G->heap[--G->nheap];
    size_t i = 0, n = G->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && pending_less(&G->heap[c + 1], &G->heap[c]))
            c++;
        if (!pending_less(&G->heap[c], &last))
            break;
        G->heap[i] = G->heap[c];
        i = c;
    }
    if (n)
        G->heap[i] = last;
    return top;
}

/* ---- the records ------------------------------------------------------------------ */

static const char *const first_names[] = {"Ada",  "Bea",  "Cleo",  "Dara", "Eli",  "Femi", "Gia",
                                          "Hugo", "Ines", "Jae",   "Kai",  "Lena", "Milo", "Nia",
                                          "Omar", "Pia",  "Quinn", "Rosa", "Sami", "Tao",  "Uma",
                                          "Vik",  "Wren", "Yara",  "Zoe"};
static const char *const last_names[] = {
    "Adeyemi", "Bauer",  "Costa",    "Dubois", "Eriksen", "Fischer",  "Garcia", "Haddad",
    "Ito",     "Jensen", "Kowalski", "Lopez",  "Moreau",  "Nakamura", "Okafor", "Petrov",
    "Rossi",   "Silva",  "Tanaka",   "Vargas", "Weber",   "Yilmaz",   "Zhou"};
static const char *const words[] = {"Aurora",   "Beacon", "Cobalt", "Delta",   "Ember",   "Fable",
                                    "Granite",  "Harbor", "Indigo", "Juniper", "Kestrel", "Lumen",
                                    "Meridian", "Nova",   "Orchid", "Prism",   "Quartz",  "Riviera",
                                    "Summit",   "Tidal",  "Umber",  "Vertex",  "Willow",  "Zenith"};
static const char *const agent_suffixes[] = {"Talent", "Artists", "Management", "Agency"};
static const char *const brand_suffixes[] = {"Studios", "Labs",  "Wear", "Beauty",
                                             "Media",   "Foods", "Audio"};
#define PICK(a) ((a)[below(&G->rng, sizeof(a) / sizeof((a)[0]))])

static int emit_identity(struct gen *G, uint32_t i)
{
    struct job *j;
    int rc = rp_gen_begin_record(G, RP_REC_IDENTITY, i, &j);
    if (rc)
        return rc;
    rp_identity_body *b = &j->r.body.identity;
    b->role = G->ids[i].role;
    if (b->role == RP_ROLE_TALENT)
        snprintf(b->name, sizeof b->name, "%s %s %u", PICK(first_names), PICK(last_names),
                 (unsigned)i);
    else
        snprintf(b->name, sizeof b->name, "%s %s %u", PICK(words),
                 b->role == RP_ROLE_AGENT ? PICK(agent_suffixes) : PICK(brand_suffixes),
                 (unsigned)i);
    b->name_len = (uint8_t)strlen(b->name);
    if (below(&G->rng, 2))
        rnd_bytes(&G->rng, b->profile.bytes, 32);
    j->recovery = below(&G->rng, 10) < 7;
    /* The recovery commitment and the stamp are filled on the pool; neither
     * changes the record's size, and nothing refers to its id. */
    return rp_gen_emit(G, j, NULL);
}

static int emit_engagement(struct gen *G, uint32_t initiator, uint32_t counterparty, uint8_t kind,
                           rp_hash *id)
{
    struct job *j;
    int rc = rp_gen_begin_record(G, RP_REC_ENGAGEMENT, initiator, &j);
    if (rc)
        return rc;
    rp_engagement_body *b = &j->r.body.engagement;
    b->counterparty = G->ids[counterparty].pk;
    b->kind = kind;
    rnd_bytes(&G->rng, b->terms.bytes, 32);
    b->expiry = j->r.time + 86400 * (1 + below(&G->rng, 30)); /* within the 30-day TTL */
    j->signer[1] = counterparty;
    return rp_gen_emit(G, j, id);
}

static uint8_t draw_rating(struct gen *G)
{
    uint64_t x = below(&G->rng, 100);
    return x < 45 ? 5 : x < 80 ? 4 : x < 90 ? 3 : x < 96 ? 2 : 1;
}

static int emit_review(struct gen *G, const struct pending *p, rp_hash *id)
{
    struct job *j;
    int rc = rp_gen_begin_record(G, RP_REC_REVIEW, p->issuer, &j);
    if (rc)
        return rc;
    rp_review_body *b = &j->r.body.review;
    b->engagement = p->target;
    b->subject = G->ids[p->subject].pk;
    b->overall = p->stars ? p->stars : G->ids[p->subject].bad ? 1 : draw_rating(G);
    if (p->stars) {
        memset(b->dims, p->stars, sizeof b->dims);
    } else if (below(&G->rng, 100) < 35) {
        for (size_t d = 0; d < RP_REVIEW_DIMS; d++) {
            if (below(&G->rng, 5) == 0)
                continue; /* not rated */
            int v = b->overall + (int)below(&G->rng, 3) - 1;
            b->dims[d] = (uint8_t)(v < 1 ? 1 : v > 5 ? 5 : v);
        }
        /* Only the paying side is rated on paying on time. */
        if (G->ids[p->subject].role == RP_ROLE_TALENT)
            b->dims[RP_DIM_PAYMENT] = 0;
    }
    if (below(&G->rng, 100) < 30)
        rnd_bytes(&G->rng, b->comment.bytes, 32);
    return rp_gen_emit(G, j, id);
}

static int emit_revoke(struct gen *G, const struct pending *p)
{
    struct job *j;
    int rc = rp_gen_begin_record(G, RP_REC_REVOKE, p->issuer, &j);
    if (rc)
        return rc;
    j->r.body.revoke.target = p->target;
    j->r.body.revoke.reason = (uint8_t)(1 + below(&G->rng, RP_REVOKE_REASON_MAX));
    return rp_gen_emit(G, j, NULL);
}

static int emit_vouch(struct gen *G, uint32_t agent, uint32_t talent)
{
    struct job *j;
    int rc = rp_gen_begin_record(G, RP_REC_VOUCH, agent, &j);
    if (rc)
        return rc;
    j->r.body.vouch.subject = G->ids[talent].pk;
    j->r.body.vouch.relation = below(&G->rng, 10) < 8 ? RP_VOUCH_REPRESENTS : RP_VOUCH_WORKED_WITH;
    return rp_gen_emit(G, j, NULL);
}

/* ---- vouch pairs ------------------------------------------------------------------- */

/* Insert a pair; returns 1 if it was new, 0 if present. */
static int vouch_insert(struct gen *G, uint32_t agent, uint32_t talent)
{
    uint64_t key = ((uint64_t)agent << 32 | talent) + 1, mask = G->vouched_cap - 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    for (uint64_t i = (h >> 20) & mask;; i = (i + 1) & mask) {
        if (G->vouched[i] == key)
            return 0;
        if (G->vouched[i] == 0) {
            G->vouched[i] = key;
            return 1;
        }
    }
}

static int do_vouch(struct gen *G)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t a = G->agents[below(&G->rng, G->nagents)];
        uint32_t t = G->talents[below(&G->rng, G->ntalents)];
        if (vouch_insert(G, a, t))
            return emit_vouch(G, a, t);
    }
    /* Dense corner: the first free pair in order (the count guarantees one). */
    for (uint64_t x = 0; x < G->nagents; x++)
        for (uint64_t y = 0; y < G->ntalents; y++)
            if (vouch_insert(G, G->agents[x], G->talents[y]))
                return emit_vouch(G, G->agents[x], G->talents[y]);
    rp_gen_seterr(G, "no free agent-talent pair left for a vouch");
    return RP_ERR_INVALID_ARG;
}

/* ---- the plan ---------------------------------------------------------------------- */

struct plan {
    uint64_t single, twice; /* honest engagements with one or two reviews */
    uint64_t vouches;
    uint64_t revokes, market_left; /* revokes still to draw among the reviews left */
    uint64_t ring, ring_done, ring_deg;
    uint64_t attacks, attacks_done;
    uint32_t *attackers;
    uint64_t badmouth, camouflage; /* scenario engagements left */
};

static void make_plan(struct gen *G, struct plan *pl)
{
    uint64_t m = G->o->reviews;
    memset(pl, 0, sizeof *pl);
    /* About 80% of engagements are reviewed both ways: singles are a ninth of
     * the reviews, and the rest pair up. */
    pl->single = m / 9;
    if ((m - pl->single) % 2)
        pl->single++;
    pl->twice = (m - pl->single) / 2;
    pl->vouches = G->n / 10;
    if (pl->vouches > G->nagents * G->ntalents / 2)
        pl->vouches = G->nagents * G->ntalents / 2;
    pl->revokes = m / 100;
    pl->market_left = m;
    uint64_t ben = G->o->beneficiaries;
    if (ben) {
        /* Concentrated: the other members each engage beneficiaries 3 times,
         * one review each (engagement + review: 2 records). */
        pl->ring_deg = 3;
        pl->ring = (G->s - ben) * pl->ring_deg;
    } else {
        pl->ring_deg = G->s > 1 ? (G->s - 1 < 3 ? G->s - 1 : 3) : 0;
        pl->ring = G->s * pl->ring_deg;
    }
    pl->attacks = G->o->attack_edges;
    pl->badmouth = G->o->badmouth;
    pl->camouflage = G->o->camouflage;
    G->total = G->n + G->s + pl->single + pl->twice + m + pl->vouches + pl->revokes +
               (ben ? 2 : 3) * pl->ring + 2 * pl->attacks + G->w + 2 * pl->badmouth +
               3 * pl->camouflage;
}

/* K distinct honest attackers: a partial shuffle, preferring identities that
 * are not pre-trusted when there are enough of them. */
static int pick_attackers(struct gen *G, struct plan *pl)
{
    if (!pl->attacks)
        return 0;
    uint64_t npre = PRETRUST_COUNT(G->n);
    uint64_t first = pl->attacks <= G->n - npre ? npre + 1 : 1, count = G->n - first + 1;
    uint32_t *c = malloc(count * sizeof *c);
    if (!c) {
        rp_gen_seterr(G, "out of memory");
        return RP_ERR_NOMEM;
    }
    for (uint64_t i = 0; i < count; i++)
        c[i] = (uint32_t)(first + i);
    for (uint64_t i = 0; i < pl->attacks; i++) {
        uint64_t j = i + below(&G->rng, count - i);
        uint32_t t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
    pl->attackers = c;
    return 0;
}

static uint32_t pick_client(struct gen *G)
{
    int agent = G->nbrands == 0 || (G->nagents > 0 && below(&G->rng, 100) < 55);
    return agent ? G->agents[skewed(&G->rng, G->nagents, 3)]
                 : G->brands[skewed(&G->rng, G->nbrands, 3)];
}

static int honest_engagement(struct gen *G, struct plan *pl)
{
    uint32_t t = G->talents[skewed(&G->rng, G->ntalents, 2)];
    uint32_t c = pick_client(G);
    uint8_t kind;
    uint64_t x = below(&G->rng, 100);
    if (G->ids[c].role == RP_ROLE_AGENT)
        kind = x < 50 ? RP_ENG_REPRESENTATION : x < 90 ? RP_ENG_GIG : RP_ENG_OTHER;
    else
        kind = x < 50 ? RP_ENG_SPONSORSHIP : x < 80 ? RP_ENG_GIG : RP_ENG_LICENSING;
    int client_first = below(&G->rng, 100) < 60;
    rp_hash id;
    int rc =
        client_first ? emit_engagement(G, c, t, kind, &id) : emit_engagement(G, t, c, kind, &id);
    if (rc)
        return rc;

    int twice = below(&G->rng, pl->single + pl->twice) < pl->twice;
    if (twice)
        pl->twice--;
    else
        pl->single--;
    int talent_reviews = twice || below(&G->rng, 2);
    int client_reviews = twice || !talent_reviews;
    struct pending p = {.kind = P_REVIEW, .target = id, .market = 1};
    if (talent_reviews) {
        p.issuer = t;
        p.subject = c;
        if ((rc = heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb))) != 0)
            return rc;
    }
    if (client_reviews) {
        p.issuer = c;
        p.subject = t;
        if ((rc = heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb))) != 0)
            return rc;
    }
    return 0;
}

static int ring_engagement(struct gen *G, struct plan *pl)
{
    uint64_t j = pl->ring_done++;
    uint64_t ben = G->o->beneficiaries;
    if (ben) {
        uint64_t i = ben + j / pl->ring_deg, d = j % pl->ring_deg;
        uint32_t a = (uint32_t)(G->n + 1 + i), b = (uint32_t)(G->n + 1 + (i + d) % ben);
        rp_hash id;
        int rc = emit_engagement(G, a, b, RP_ENG_GIG, &id);
        if (rc)
            return rc;
        struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = a, .subject = b};
        return heap_push(G, &p, 1 + below(&G->rng, G->rpb));
    }
    uint64_t i = j / pl->ring_deg, d = j % pl->ring_deg + 1;
    uint32_t a = (uint32_t)(G->n + 1 + i), b = (uint32_t)(G->n + 1 + (i + d) % G->s);
    rp_hash id;
    int rc = emit_engagement(G, a, b, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = a, .subject = b};
    if ((rc = heap_push(G, &p, 1 + below(&G->rng, G->rpb))) != 0)
        return rc;
    p.issuer = b;
    p.subject = a;
    return heap_push(G, &p, 1 + below(&G->rng, G->rpb));
}

static int attack_edge(struct gen *G, struct plan *pl)
{
    uint32_t h = pl->attackers[pl->attacks_done++];
    uint32_t s = (uint32_t)(G->n + 1 + below(&G->rng, G->s));
    rp_hash id;
    int rc = emit_engagement(G, h, s, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = h, .subject = s};
    return heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb));
}

/* A ring member engages a popular honest talent and 1-stars it. */
static int badmouth_engagement(struct gen *G, struct plan *pl)
{
    pl->badmouth--;
    uint32_t s = (uint32_t)(G->n + 1 + below(&G->rng, G->s));
    uint32_t t = G->talents[skewed(&G->rng, G->ntalents, 2)];
    rp_hash id;
    int rc = emit_engagement(G, s, t, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 1, .issuer = s, .subject = t};
    return heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb));
}

/* A ring member does real work for an honest agent or brand: 5 stars from
 * the sybil, 4 or 5 from the client. */
static int camouflage_engagement(struct gen *G, struct plan *pl)
{
    pl->camouflage--;
    uint32_t s = (uint32_t)(G->n + 1 + below(&G->rng, G->s));
    uint32_t c = pick_client(G);
    rp_hash id;
    int rc = emit_engagement(G, c, s, RP_ENG_GIG, &id);
    if (rc)
        return rc;
    struct pending p = {.kind = P_REVIEW, .target = id, .stars = 5, .issuer = s, .subject = c};
    if ((rc = heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb))) != 0)
        return rc;
    p.issuer = c;
    p.subject = s;
    p.stars = (uint8_t)(4 + below(&G->rng, 2));
    return heap_push(G, &p, 1 + below(&G->rng, 2ULL * G->rpb));
}

static void report_review(struct gen *G, const struct pending *p, int revoked)
{
    if (G->o->on_review)
        G->o->on_review(G->o->on_review_ctx, G->cur->height, p->issuer, p->subject,
                        G->cur->jobs[G->cur->njobs - 1].r.body.review.overall, revoked);
}

static int emit_pending(struct gen *G, struct plan *pl)
{
    struct pending p = heap_pop(G);
    if (p.kind == P_REVOKE)
        return emit_revoke(G, &p);
    rp_hash id;
    int rc = emit_review(G, &p, &id);
    if (rc)
        return rc;
    if (!p.market) {
        report_review(G, &p, 0);
        return 0;
    }
    /* Exactly pl->revokes of the market reviews, each equally likely. */
    int revoke = below(&G->rng, pl->market_left) < pl->revokes;
    pl->market_left--;
    report_review(G, &p, revoke);
    if (!revoke)
        return 0;
    pl->revokes--;
    struct pending r = {.kind = P_REVOKE, .target = id, .issuer = p.issuer};
    return heap_push(G, &r, 1 + below(&G->rng, 4ULL * G->rpb));
}

int rp_gen_plan_records(struct gen *G)
{
    struct plan pl;
    int rc;
    make_plan(G, &pl);
    if ((rc = pick_attackers(G, &pl)) != 0)
        return rc;
    if (pl.vouches) {
        G->vouched_cap = 16;
        while (G->vouched_cap < 2 * pl.vouches)
            G->vouched_cap *= 2;
        if (!(G->vouched = calloc(G->vouched_cap, sizeof *G->vouched))) {
            free(pl.attackers);
            rp_gen_seterr(G, "out of memory");
            return RP_ERR_NOMEM;
        }
    }

    /* Registrations first: block 1 opens with the pre-trusted. */
    for (uint32_t i = 1; i < G->nids && !rc; i++)
        rc = emit_identity(G, i);

    for (;;) {
        if (rc)
            break;
        uint64_t w_honest = pl.single + pl.twice, w_vouch = pl.vouches;
        uint64_t w_ring = pl.ring - pl.ring_done, w_attack = pl.attacks - pl.attacks_done;
        uint64_t w_bad = pl.badmouth, w_camo = pl.camouflage;
        uint64_t events = w_honest + w_vouch + w_ring + w_attack + w_bad + w_camo;
        if (G->nheap && (G->heap[0].due <= G->pos || events == 0)) {
            rc = emit_pending(G, &pl);
            continue;
        }
        if (events == 0)
            break;
        uint64_t x = below(&G->rng, events);
        if (x < w_honest) {
            rc = honest_engagement(G, &pl);
        } else if ((x -= w_honest) < w_vouch) {
            pl.vouches--;
            rc = do_vouch(G);
        } else if ((x -= w_vouch) < w_ring) {
            rc = ring_engagement(G, &pl);
        } else if ((x -= w_ring) < w_attack) {
            rc = attack_edge(G, &pl);
        } else if ((x -= w_attack) < w_bad) {
            rc = badmouth_engagement(G, &pl);
        } else {
            (void)w_camo;
            rc = camouflage_engagement(G, &pl);
        }
    }
    free(pl.attackers);
    return rc;
}
