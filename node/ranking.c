/* Discovery over the score tables: score.top (the latest epoch ranked by
 * score or by rise, with filters and pages) and score.history (one
 * identity over the kept epochs).
 *
 * score.top must answer a filtered, ordered page over 100,000 identities in
 * well under 10 ms, so nothing is sorted per request. Once per epoch, the
 * first time it is asked for, a job on the worker pool (through the read
 * lane, node/lane.h, with an owner of its own) reads the kept epochs' tables
 * in one read transaction and builds the ranking cache:
 *
 *   rows     the latest table with each identity's role and name and its
 *            score in each earlier kept epoch, sorted by score, then trust,
 *            then identity (the score order; a row's index is its place);
 *   orders   for the score order and for each rise span k (1 .. kept - 1),
 *            the rows in that order as compact entries that carry what the
 *            filters read (12 bytes a row), so a filtered request scans a
 *            dense array and touches a full row only for the page it sends.
 *
 * A request then walks one order from the top: without min_* filters it
 * stops after its page (the totals per role are counted at build time);
 * with them it scans the entries to count the matches, about 0.1 ms per
 * 100,000 rows. The page is built on the loop from the cache.
 *
 * Rise (docs/rpc.md): score in the latest epoch L minus score in epoch L-k,
 * both the integer 0..1000 of the tables. An identity without a row in L-k
 * (registered later) has no rise over k and is left out of that order: a
 * newcomer would otherwise "rise" by its whole score. Ties: score, trust,
 * identity, as in the score order.
 *
 * score.history reads at most RP_SCORE_HISTORY rows in one short read
 * transaction, on the loop like score.get.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/error.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "node/lane.h"
#include "node/node.h"
#include "node/rpc_params.h"

#define RISE_MAX            (RP_SCORE_HISTORY - 1) /* the longest rise span */
#define RISE_EPOCHS_DEFAULT 3
#define CONFIDENCE_MAX      1000

/* One row of the latest table. */
struct top_row {
    rp_score_row row;
    int16_t prev[RISE_MAX]; /* the score k + 1 epochs back; -1: no row then */
    uint8_t role;
    char name[RP_NAME_MAX + 1];
};

/* One row in an order, with the fields the filters read. */
struct top_ent {
    uint32_t idx; /* into rows */
    uint32_t reviews;
    uint16_t confidence;
    uint8_t role;
};

struct top_cache;

/* What one score.top asks. */
struct top_query {
    int role;                /* 0: all */
    uint32_t min_reviews;    /* 0: no filter */
    uint16_t min_confidence; /* 0..1000; 0: no filter */
    unsigned rise;           /* 0: the score order; k: rise over k epochs */
    size_t limit, offset;
    unsigned platform;       /* 0: no audience filter; else enum rp_platform */
    uint32_t min_authentic_ppm;
};

/* ---- the extension point: filters on figures from other tables --------------------- *
 *
 * A filter on a figure that is not in the score row (issue 13's audience
 * share: `platform` and `min_authentic_ppm`, over the AUDIENCE attestations'
 * trust-weighted figure per (talent, platform)) plugs in as one entry here:
 *
 *   build   on the pool, once per epoch, after the rows are sorted: look the
 *           figure up for each of c->rows[0..c->n) (by row.identity) and
 *           keep it in *state indexed like c->rows, e.g. a uint32_t
 *           authentic_ppm per row and platform;
 *   active  on the loop: does this query use the filter (its params given)?
 *   keep    on the loop, per entry in the scan: 1 if row idx passes (its
 *           figure on q's platform is at least q's min_authentic_ppm);
 *   free    the state, when the cache is dropped.
 *
 * Its parameters go in struct top_query, are read in rp_m_score_top next to
 * min_confidence, and are added to score.top's row of the method table
 * (node/methods.c) and docs/rpc.md. An active extra filter takes the
 * scanning path, like min_reviews. The array ends with a NULL build. */
struct top_extra {
    int (*build)(rp_store *st, const struct top_cache *c, void **state);
    int (*active)(const struct top_query *q);
    int (*keep)(const void *state, uint32_t idx, const struct top_query *q);
    void (*free)(void *state);
};

/* The audience filter: `platform` and `min_authentic_ppm`. Its state is,
 * per platform, the epoch's trust-weighted authentic share of each row
 * (indexed like c->rows), or AUD_NONE where the epoch has no figure (no
 * counted attestation, or none with trust). */
#define AUD_NONE UINT32_MAX

struct aud_state {
    uint32_t *ppm[RP_PLATFORM_MAX + 1]; /* [platform][row]; NULL: no row has one */
};

static const struct top_row *cache_rows(const struct top_cache *c, size_t *n);

/* The rows are in score order by the time extras are built: the audience
 * rows are matched through a copy of the identities sorted by key. */
struct aud_key {
    unsigned char id[32];
    uint32_t idx;
};

struct aud_build {
    struct aud_state *st;
    struct aud_key *keys;
    size_t n;
};

static int aud_key_cmp(const void *a, const void *b)
{
    return memcmp(((const struct aud_key *)a)->id, ((const struct aud_key *)b)->id, 32);
}

static int aud_row(void *ctx, const rp_audience_row *r)
{
    struct aud_build *b = ctx;
    if (!r->has_figure || r->platform == 0 || r->platform > RP_PLATFORM_MAX)
        return 0;
    struct aud_key want;
    memcpy(want.id, r->subject.bytes, 32);
    const struct aud_key *k = bsearch(&want, b->keys, b->n, sizeof *b->keys, aud_key_cmp);
    if (!k)
        return 0; /* a subject with no score row: nothing to filter */
    uint32_t **col = &b->st->ppm[r->platform];
    if (!*col) {
        if (!(*col = malloc((b->n ? b->n : 1) * sizeof **col)))
            return RP_ERR_NOMEM;
        for (size_t i = 0; i < b->n; i++)
            (*col)[i] = AUD_NONE;
    }
    (*col)[k->idx] = r->authentic_ppm;
    return 0;
}

static void aud_free(void *state)
{
    struct aud_state *st = state;
    for (size_t p = 0; st && p <= RP_PLATFORM_MAX; p++)
        free(st->ppm[p]);
    free(st);
}

static int aud_build(rp_store *st, const struct top_cache *c, void **state)
{
    size_t n;
    const struct top_row *rows = cache_rows(c, &n);
    struct aud_build b = {calloc(1, sizeof(struct aud_state)), malloc((n ? n : 1) * sizeof *b.keys),
                          n};
    if (!b.st || !b.keys) {
        free(b.st);
        free(b.keys);
        return RP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(b.keys[i].id, rows[i].row.identity.bytes, 32);
        b.keys[i].idx = (uint32_t)i;
    }
    qsort(b.keys, n, sizeof *b.keys, aud_key_cmp);
    int rc = rp_store_walk_audience(st, 0, aud_row, &b);
    free(b.keys);
    if (rc == RP_ERR_NOT_FOUND)
        rc = 0;
    if (rc) {
        aud_free(b.st);
        return rc;
    }
    *state = b.st;
    return 0;
}

static int aud_active(const struct top_query *q)
{
    return q->platform != 0;
}

static int aud_keep(const void *state, uint32_t idx, const struct top_query *q)
{
    const struct aud_state *st = state;
    const uint32_t *col = st ? st->ppm[q->platform] : NULL;
    return col && col[idx] != AUD_NONE && col[idx] >= q->min_authentic_ppm;
}

static const struct top_extra top_extras[] = {
    {aud_build, aud_active, aud_keep, aud_free},
    {NULL, NULL, NULL, NULL},
};
#define NEXTRA_SLOTS  (sizeof top_extras / sizeof top_extras[0])
#define FOR_EXTRAS(x) for (const struct top_extra *x = top_extras; x->build; x++)

struct top_order {
    struct top_ent *e;
    size_t n;
    size_t by_role[4]; /* [0]: all, [r]: role r */
};

struct top_cache {
    uint64_t epoch;
    size_t nkept;                    /* kept epochs, the latest included */
    uint64_t kept[RP_SCORE_HISTORY]; /* their numbers, newest first */
    size_t n, cap;
    struct top_row *rows;
    struct top_order score;          /* the score order */
    struct top_order rise[RISE_MAX]; /* rise[k - 1]: rise over k epochs */
    void *extra[NEXTRA_SLOTS];       /* the extra filters' state (above) */
};

static const struct top_row *cache_rows(const struct top_cache *c, size_t *n)
{
    *n = c->n;
    return c->rows;
}

struct top_waiter {
    rp_rpc_call *call;
    struct top_query q;
    struct top_waiter *next;
};

/* ---- building the cache, on the pool ---------------------------------------------- */

struct top_job {
    rp_lane_job lj; /* first: the lane's uv_work_t is the job's */
    struct node *n;
    struct top_cache *c;
    int rc;
};

struct top_build {
    rp_store *st;
    struct top_cache *c;
    size_t cur;  /* which kept epoch is being walked: 0 the latest */
    size_t next; /* the merge's place in rows (identity order) */
};

static int build_epoch(void *ctx, const rp_epoch_info *e)
{
    struct top_build *b = ctx;
    struct top_cache *c = b->c;
    if (c->nkept == 0) {
        c->epoch = e->epoch;
        c->cap = e->identities ? e->identities : 1;
        if (!(c->rows = malloc(c->cap * sizeof *c->rows)))
            return RP_ERR_NOMEM;
    }
    b->cur = c->nkept;
    b->next = 0;
    c->kept[c->nkept++] = e->epoch;
    return 0;
}

static int build_row(void *ctx, const rp_score_row *row)
{
    struct top_build *b = ctx;
    struct top_cache *c = b->c;
    if (b->cur > 0) {
        /* An earlier epoch: both tables come in identity order, so one pass
         * merges them. */
        while (b->next < c->n &&
               memcmp(c->rows[b->next].row.identity.bytes, row->identity.bytes, 32) < 0)
            b->next++;
        if (b->next < c->n && !memcmp(c->rows[b->next].row.identity.bytes, row->identity.bytes, 32))
            c->rows[b->next].prev[b->cur - 1] = (int16_t)row->score;
        return 0;
    }
    if (c->n == c->cap)
        return RP_ERR_CORRUPT; /* more rows than the epoch says it has */
    struct top_row *t = &c->rows[c->n++];
    memset(t, 0, sizeof *t);
    t->row = *row;
    for (size_t k = 0; k < RISE_MAX; k++)
        t->prev[k] = -1;
    rp_identity_state st;
    if (rp_store_read_identity(b->st, &row->identity, &st) == 0) {
        t->role = st.role;
        memcpy(t->name, st.name, st.name_len);
        t->name[st.name_len] = 0;
    }
    return 0;
}

/* Score, then trust, then identity: a total order, the same everywhere. */
static int top_cmp(const void *x, const void *y)
{
    const struct top_row *a = x, *b = y;
    if (a->row.score != b->row.score)
        return a->row.score > b->row.score ? -1 : 1;
    if (a->row.trust != b->row.trust)
        return a->row.trust > b->row.trust ? -1 : 1;
    return memcmp(a->row.identity.bytes, b->row.identity.bytes, 32);
}

struct rise_key {
    int32_t rise;
    uint32_t idx;
};

/* Rise, then the score order (a row's index in the sorted rows). */
static int rise_cmp(const void *x, const void *y)
{
    const struct rise_key *a = x, *b = y;
    if (a->rise != b->rise)
        return a->rise > b->rise ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void order_add(struct top_order *o, const struct top_cache *c, uint32_t idx)
{
    const struct top_row *t = &c->rows[idx];
    o->e[o->n++] = (struct top_ent){idx, t->row.reviews, t->row.confidence, t->role};
    o->by_role[0]++;
    if (t->role <= 3)
        o->by_role[t->role]++;
}

static int build_orders(struct top_cache *c)
{
    qsort(c->rows, c->n, sizeof *c->rows, top_cmp);
    size_t cap = c->n ? c->n : 1;
    if (!(c->score.e = malloc(cap * sizeof *c->score.e)))
        return RP_ERR_NOMEM;
    for (uint32_t i = 0; i < c->n; i++)
        order_add(&c->score, c, i);
    struct rise_key *keys = malloc(cap * sizeof *keys);
    if (!keys)
        return RP_ERR_NOMEM;
    for (size_t k = 1; k < c->nkept && k <= RISE_MAX; k++) {
        struct top_order *o = &c->rise[k - 1];
        size_t m = 0;
        for (uint32_t i = 0; i < c->n; i++)
            if (c->rows[i].prev[k - 1] >= 0)
                keys[m++] =
                    (struct rise_key){(int32_t)c->rows[i].row.score - c->rows[i].prev[k - 1], i};
        qsort(keys, m, sizeof *keys, rise_cmp);
        if (!(o->e = malloc((m ? m : 1) * sizeof *o->e))) {
            free(keys);
            return RP_ERR_NOMEM;
        }
        for (size_t i = 0; i < m; i++)
            order_add(o, c, keys[i].idx);
    }
    free(keys);
    return 0;
}

static void top_work(uv_work_t *req)
{
    struct top_job *j = req->data;
    struct top_build b = {j->n->st, j->c, 0, 0};
    j->rc = rp_store_walk_history(j->n->st, RP_SCORE_HISTORY, build_epoch, build_row, &b);
    if (j->rc == 0)
        j->rc = build_orders(j->c);
    FOR_EXTRAS(x)
    {
        if (j->rc == 0)
            j->rc = x->build(j->n->st, j->c, &j->c->extra[x - top_extras]);
    }
}

static void top_free(struct top_cache *c)
{
    if (!c)
        return;
    FOR_EXTRAS(x)
    {
        if (c->extra[x - top_extras])
            x->free(c->extra[x - top_extras]);
    }
    free(c->score.e);
    for (size_t k = 0; k < RISE_MAX; k++)
        free(c->rise[k].e);
    free(c->rows);
    free(c);
}

/* ---- answering, on the loop ------------------------------------------------------- */

static int ent_keep(const struct top_cache *c, const struct top_ent *e, const struct top_query *q)
{
    if ((q->role && e->role != q->role) || e->reviews < q->min_reviews ||
        e->confidence < q->min_confidence)
        return 0;
    FOR_EXTRAS(x)
    {
        if (x->active(q) && !x->keep(c->extra[x - top_extras], e->idx, q))
            return 0;
    }
    return 1;
}

static json_t *row_json(const struct top_cache *c, const struct top_ent *e, size_t rank,
                        const struct top_query *q)
{
    const struct top_row *t = &c->rows[e->idx];
    json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:i,s:i,s:I,s:I,s:o}", "rank", (json_int_t)rank,
                          "identity", rp_json_hex(t->row.identity.bytes, 32), "name", t->name,
                          "role", rp_role_name(t->role), "score", t->row.score, "confidence",
                          t->row.confidence, "rating", (json_int_t)t->row.rating, "reviews",
                          (json_int_t)t->row.reviews, "trust", rp_json_u64(t->row.trust));
    if (o && q->platform) {
        const struct aud_state *st = c->extra[0];
        const uint32_t *col = st ? st->ppm[q->platform] : NULL;
        json_object_set_new(o, "authentic_ppm", col ? json_integer(col[e->idx]) : json_null());
    }
    if (o && q->rise) {
        int prev = t->prev[q->rise - 1];
        json_object_set_new(o, "rise", json_integer(t->row.score - prev));
        json_object_set_new(o, "previous_score", json_integer(prev));
    }
    return o;
}

static void top_answer(struct node *n, const struct top_waiter *w)
{
    const struct top_cache *c = n->top;
    const struct top_query *q = &w->q;
    if (q->rise && q->rise >= c->nkept) {
        char why[120];
        if (c->nkept < 2)
            snprintf(why, sizeof why, "needs an earlier epoch, and only epoch %llu is kept yet",
                     (unsigned long long)c->epoch);
        else
            snprintf(why, sizeof why, "must be 1..%zu: the node keeps %zu epochs (%llu..%llu)",
                     c->nkept - 1, c->nkept, (unsigned long long)c->kept[c->nkept - 1],
                     (unsigned long long)c->epoch);
        rp_param_bad(w->call, "epochs", why);
        return;
    }
    const struct top_order *o = q->rise ? &c->rise[q->rise - 1] : &c->score;
    int scan = q->min_reviews > 0 || q->min_confidence > 0;
    FOR_EXTRAS(x)
    {
        scan |= x->active(q);
    }
    json_t *rows = json_array();
    size_t matched = 0, end = q->offset + q->limit < q->offset ? SIZE_MAX : q->offset + q->limit;
    for (size_t i = 0; i < o->n && (scan || matched < end); i++) {
        const struct top_ent *e = &o->e[i];
        if (!ent_keep(c, e, q))
            continue;
        matched++;
        if (matched > q->offset && matched <= end)
            json_array_append_new(rows, row_json(c, e, matched, q));
    }
    size_t total = scan ? matched : o->by_role[q->role];
    json_t *res = json_pack("{s:o,s:s,s:I,s:o}", "epoch", rp_json_u64(c->epoch), "order",
                            q->rise ? "rise" : "score", "total", (json_int_t)total, "rows", rows);
    if (q->rise) {
        json_object_set_new(res, "epochs", json_integer(q->rise));
        json_object_set_new(res, "since_epoch", rp_json_u64(c->kept[q->rise]));
    }
    rp_rpc_reply(w->call, res);
}

static void top_done(uv_work_t *req, int status)
{
    struct top_job *j = req->data;
    struct node *n = j->n;
    n->top_job = 0;
    if (status == UV_ECANCELED)
        j->rc = RP_ERR_SHUTDOWN;
    struct top_waiter *w = n->top_waiters, *next;
    n->top_waiters = NULL;
    if (j->rc == 0) {
        top_free(n->top);
        n->top = j->c;
    } else {
        top_free(j->c);
    }
    for (; w; w = next) {
        next = w->next;
        if (j->rc == RP_ERR_NOT_FOUND)
            rp_rpc_error(w->call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        else if (j->rc == RP_ERR_SHUTDOWN)
            rp_rpc_error(w->call, RP_RPC_SHUTTING_DOWN, "the node is shutting down", NULL);
        else if (j->rc)
            rp_rpc_store_error(w->call, j->rc);
        else
            top_answer(n, w);
        free(w);
    }
    free(j);
}

/* The ranking is shared by every client that asks, so its job belongs to
 * no connection: it has an owner of its own in the read lane. */
static void start_top_job(struct node *n)
{
    if (n->top_job)
        return;
    struct top_job *j = calloc(1, sizeof *j);
    struct top_cache *c = calloc(1, sizeof *c);
    if (!j || !c) {
        free(j);
        free(c);
        return;
    }
    j->c = c;
    j->n = n;
    j->lj.req.data = j;
    j->lj.work = top_work;
    j->lj.after = top_done;
    j->lj.owner = &n->top;
    if (rp_lane_submit(n->reads, &j->lj) != 0) {
        free(j);
        free(c);
        return;
    }
    n->top_job = 1;
}

/* ---- the methods ------------------------------------------------------------------ */

/* A small count parameter: absent leaves *out; over max is refused. */
static int param_count(rp_rpc_call *call, json_t *params, const char *name, uint64_t max,
                       const char *why, uint64_t *out)
{
    int r = rp_param_u64(call, params, name, out);
    if (r > 0 && *out > max) {
        rp_param_bad(call, name, why);
        return -1;
    }
    return r;
}

void rp_m_score_top(struct node *n, rp_rpc_call *call, json_t *params)
{
    struct top_query q = {0};
    json_t *rv = params ? json_object_get(params, "role") : NULL;
    if (rv) {
        for (int i = 1; i <= 3 && json_is_string(rv); i++)
            if (strcmp(json_string_value(rv), rp_role_names[i]) == 0)
                q.role = i;
        if (!q.role) {
            rp_param_bad(call, "role", "must be talent, agent or brand");
            return;
        }
    }
    json_t *ov = params ? json_object_get(params, "order") : NULL;
    int rise = 0;
    if (ov) {
        if (json_is_string(ov) && strcmp(json_string_value(ov), "rise") == 0)
            rise = 1;
        else if (!json_is_string(ov) || strcmp(json_string_value(ov), "score") != 0) {
            rp_param_bad(call, "order", "must be score or rise");
            return;
        }
    }
    uint64_t offset = 0, min_reviews = 0, min_conf = 0, epochs = RISE_EPOCHS_DEFAULT;
    int ke = 0;
    if (rp_param_limit(call, params, &q.limit) < 0 ||
        rp_param_u64(call, params, "offset", &offset) < 0 ||
        param_count(call, params, "min_reviews", UINT32_MAX, "must be 0..4294967295",
                    &min_reviews) < 0 ||
        param_count(call, params, "min_confidence", CONFIDENCE_MAX,
                    "must be 0..1000 (the confidence of score rows, in thousandths)",
                    &min_conf) < 0 ||
        (ke = param_count(call, params, "epochs", RISE_MAX, "must be 1..7", &epochs)) < 0)
        return;
    if (ke && !rise) {
        rp_param_bad(call, "epochs", "applies only to order rise");
        return;
    }
    if (rise && epochs == 0) {
        rp_param_bad(call, "epochs", "must be 1..7");
        return;
    }
    json_t *pv = params ? json_object_get(params, "platform") : NULL;
    uint64_t min_auth = 0;
    int ka = param_count(call, params, "min_authentic_ppm", 1000000, "must be 0..1000000",
                         &min_auth);
    if (ka < 0)
        return;
    if (pv) {
        const char *ps = json_is_string(pv) ? json_string_value(pv) : "";
        q.platform = rp_platform_code(ps, strlen(ps));
        if (!q.platform) {
            rp_param_bad(call, "platform", "must be a registered platform (docs/records.md)");
            return;
        }
    } else if (ka) {
        rp_param_bad(call, "min_authentic_ppm", "needs platform");
        return;
    }
    q.min_authentic_ppm = (uint32_t)min_auth;
    q.min_reviews = (uint32_t)min_reviews;
    q.min_confidence = (uint16_t)min_conf;
    q.rise = rise ? (unsigned)epochs : 0;
    q.offset = offset > SIZE_MAX ? SIZE_MAX : (size_t)offset;

    rp_epoch_info info;
    int rc = rp_store_read_epoch(n->st, 0, &info);
    if (rc == RP_ERR_NOT_FOUND) {
        rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        return;
    }
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    struct top_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        rp_rpc_store_error(call, RP_ERR_NOMEM);
        return;
    }
    w->call = call;
    w->q = q;
    if (n->top && n->top->epoch == info.epoch) {
        top_answer(n, w);
        free(w);
        return;
    }
    w->next = n->top_waiters;
    n->top_waiters = w;
    start_top_job(n);
}

void rp_m_score_history(struct node *n, rp_rpc_call *call, json_t *params)
{
    rp_pubkey who;
    if (rp_param_require_hex32(call, params, "identity", who.bytes))
        return;
    rp_score_hist h[RP_SCORE_HISTORY];
    size_t nh = 0;
    int rc = rp_store_score_history(n->st, &who, h, RP_SCORE_HISTORY, &nh);
    if (rc == RP_ERR_NOT_FOUND) {
        rp_rpc_error(call, RP_RPC_NO_EPOCH, "no score epoch is committed yet", NULL);
        return;
    }
    if (rc) {
        rp_rpc_store_error(call, rc);
        return;
    }
    json_t *rows = json_array();
    size_t present = 0;
    for (size_t i = 0; i < nh; i++) {
        const rp_score_hist *e = &h[i];
        present += (size_t)e->present;
        /* change: against the next older kept epoch, when both have a row. */
        json_t *change = i + 1 < nh && e->present && h[i + 1].present
                             ? json_integer((json_int_t)e->row.score - h[i + 1].row.score)
                             : json_null();
        json_array_append_new(
            rows,
            json_pack("{s:o,s:o,s:b,s:i,s:o,s:i,s:I,s:I,s:o}", "epoch", rp_json_u64(e->epoch.epoch),
                      "commit_height", rp_json_u64(e->epoch.commit_height), "present", e->present,
                      "score", e->row.score, "change", change, "confidence", e->row.confidence,
                      "rating", (json_int_t)e->row.rating, "reviews", (json_int_t)e->row.reviews,
                      "trust", rp_json_u64(e->row.trust)));
    }
    rp_rpc_reply(call,
                 json_pack("{s:o,s:I,s:I,s:o}", "identity", rp_json_hex(who.bytes, 32), "epochs",
                           (json_int_t)nh, "present", (json_int_t)present, "rows", rows));
}

void rp_ranking_free(struct node *n)
{
    top_free(n->top);
    n->top = NULL;
}
