/* The mempool's one implementation: every pending and held record is an
 * entry in a map by id; pending ones sit in a list in admission order (the
 * order of the pending state's layer, and of the next block), held ones in
 * a second list and a map by (issuer, sequence), one record per slot. A
 * held record's signatures are verified at once, before it is held (its
 * rules wait for the gap), and the checks it passed stay with it: its
 * release skips the batch if they are still the ones the rules ask for.
 * Ids whose signatures wait for a batch sit in a queue. The pending state
 * (ledger/pending.h) holds the changes of every pending record, and
 * whenever a pending record leaves other than into a block, that state is
 * rebuilt from the records left so their dependents are judged again: no
 * path may drop a record and keep its changes. Events go to a fixed table
 * of subscribers; a record keeps one user pointer per subscriber slot,
 * allocated only for records someone waits on.
 */
#include "node/mempool.h"
#include "node/mempool_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/record.h"

/* ---- a small map from fixed-size keys to entries ------------------------------ */

static struct entry tombstone_; /* a deleted slot: only its address is used */
#define TOMB (&tombstone_)

static size_t key_hash(const unsigned char *k, size_t n)
{
    /* Keys are hashes and public keys: their bytes are already uniform. */
    uint64_t h = 0;
    memcpy(&h, k, 8);
    for (size_t i = 8; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, k + i, 8);
        h ^= x * 0x9e3779b97f4a7c15ULL;
    }
    return (size_t)(h ^ (h >> 31));
}

static struct slot *map_slot(struct map *m, const unsigned char *key)
{
    size_t mask = m->cap - 1, i = key_hash(key, m->klen) & mask;
    struct slot *tomb = NULL;
    for (;;) {
        struct slot *s = &m->s[i];
        if (!s->e)
            return tomb ? tomb : s;
        if (s->e == TOMB) {
            if (!tomb)
                tomb = s;
        } else if (memcmp(s->key, key, m->klen) == 0) {
            return s;
        }
        i = (i + 1) & mask;
    }
}

struct entry *mp_map_get(struct map *m, const unsigned char *key)
{
    if (!m->cap)
        return NULL;
    struct slot *s = map_slot(m, key);
    return s->e == TOMB ? NULL : s->e;
}

static int map_grow(struct map *m)
{
    size_t ncap = m->cap ? m->cap : 256;
    while ((m->live + 1) * 2 > ncap)
        ncap *= 2;
    if (ncap == m->cap && (m->used + 1) * 4 <= m->cap * 3)
        return 0;
    struct slot *old = m->s;
    size_t ocap = m->cap;
    m->s = calloc(ncap, sizeof *m->s);
    if (!m->s) {
        m->s = old;
        return RP_ERR_NOMEM;
    }
    m->cap = ncap;
    m->used = m->live;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].e && old[i].e != TOMB) {
            struct slot *s = map_slot(m, old[i].key);
            *s = old[i];
        }
    }
    free(old);
    return 0;
}

int mp_map_put(struct map *m, const unsigned char *key, struct entry *e)
{
    if ((m->used + 1) * 4 > m->cap * 3 || (m->live + 1) * 2 > m->cap) {
        int rc = map_grow(m);
        if (rc)
            return rc;
    }
    struct slot *s = map_slot(m, key);
    if (!s->e)
        m->used++;
    if (!s->e || s->e == TOMB)
        m->live++;
    s->e = e;
    memcpy(s->key, key, m->klen);
    return 0;
}

void mp_map_del(struct map *m, const unsigned char *key)
{
    if (!m->cap)
        return;
    struct slot *s = map_slot(m, key);
    if (s->e && s->e != TOMB) {
        s->e = TOMB;
        m->live--;
    }
}

/* ---- entries ------------------------------------------------------------------- */

void mp_list_push(struct list *l, struct entry *e)
{
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
}

static void list_remove(struct list *l, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

void mp_slot_key(unsigned char out[KEY_MAX], const rp_pubkey *issuer, uint64_t seq)
{
    memcpy(out, issuer->bytes, 32);
    for (int i = 0; i < 8; i++)
        out[32 + i] = (unsigned char)(seq >> (56 - 8 * i));
}

int rp_mempool_new(rp_mempool **out, rp_store *store, const rp_mempool_limits *limits)
{
    rp_node_errors_register();
    *out = NULL;
    rp_mempool *mp = calloc(1, sizeof *mp);
    if (!mp)
        return RP_ERR_NOMEM;
    mp->store = store;
    mp->lim = *limits;
    mp->by_id.klen = 32;
    mp->by_slot.klen = KEY_MAX;
    int rc = rp_pending_new(store, &mp->pending);
    if (rc) {
        free(mp);
        return rc;
    }
    *out = mp;
    return 0;
}

static void entry_free(struct entry *e)
{
    if (e) {
        free(e->rec);
        free(e->users);
        free(e);
    }
}

void rp_mempool_free(rp_mempool *mp)
{
    if (!mp)
        return;
    struct entry *e, *n;
    for (e = mp->live.head; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    for (e = mp->held.head; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    free(mp->by_id.s);
    free(mp->by_slot.s);
    free(mp->queue);
    rp_pending_free(mp->pending);
    free(mp);
}

void rp_mempool_close(rp_mempool *mp)
{
    mp->closed = 1;
}

void rp_mempool_test_fail_queue(rp_mempool *mp, unsigned n)
{
    mp->fail_queue = n;
}

/* ---- subscribers ---------------------------------------------------------------- */

static struct sub *sub_find(rp_mempool *mp, rp_mp_sub h)
{
    size_t i = (h & 0xff) - 1;
    if (i >= RP_MEMPOOL_MAX_SUBSCRIBERS || !mp->subs[i].fn || mp->subs[i].handle != h)
        return NULL;
    return &mp->subs[i];
}

int rp_mempool_subscribe(rp_mempool *mp, rp_mp_event_fn fn, void *ctx, rp_mp_sub *out)
{
    *out = 0;
    for (size_t i = 0; i < RP_MEMPOOL_MAX_SUBSCRIBERS; i++) {
        struct sub *s = &mp->subs[i];
        if (s->fn)
            continue;
        mp->sub_gen = (mp->sub_gen + 1) & 0xffffff;
        s->fn = fn;
        s->ctx = ctx;
        s->handle = mp->sub_gen << 8 | (rp_mp_sub)(i + 1);
        s->since = mp->nevents;
        *out = s->handle;
        return 0;
    }
    return RP_ERR_TOO_MANY;
}

int rp_mempool_unsubscribe(rp_mempool *mp, rp_mp_sub h)
{
    struct sub *s = sub_find(mp, h);
    if (!s)
        return RP_ERR_NOT_FOUND;
    size_t i = (size_t)(s - mp->subs);
    memset(s, 0, sizeof *s);
    /* The slot's next subscriber must not inherit these pointers. */
    struct list *lists[2] = {&mp->live, &mp->held};
    for (size_t l = 0; l < 2; l++)
        for (struct entry *e = lists[l]->head; e; e = e->next)
            if (e->users)
                e->users[i] = NULL;
    return 0;
}

/* Deliver one event of entry e to every subscriber. Each one's user pointer
 * is read just before its call: an earlier subscriber may have set its own
 * meanwhile, which may have allocated e->users. */
void mp_emit(rp_mempool *mp, struct entry *e, rp_mp_event *ev)
{
    uint64_t n = ++mp->nevents;
    ev->id = e->id;
    ev->source = e->source;
    for (size_t i = 0; i < RP_MEMPOOL_MAX_SUBSCRIBERS; i++) {
        struct sub *s = &mp->subs[i];
        /* since: a subscriber added during this very event waits for the next. */
        if (!s->fn || s->since >= n)
            continue;
        ev->user = e->users ? e->users[i] : NULL;
        s->fn(s->ctx, ev);
    }
}

/* ---- leaving the pool ----------------------------------------------------------- */

/* Unlink an entry from every map and list and from the counts (not freed,
 * no event). An entry with status 0 is in no list (being promoted). */
static void unlink_entry(rp_mempool *mp, struct entry *e)
{
    mp_map_del(&mp->by_id, e->id.bytes);
    if (e->status == RP_MP_HELD) {
        unsigned char k[KEY_MAX];
        mp_slot_key(k, &e->issuer, e->seq);
        mp_map_del(&mp->by_slot, k);
        list_remove(&mp->held, e);
        mp->nheld--;
    } else if (e->status == RP_MP_VERIFYING || e->status == RP_MP_READY) {
        list_remove(&mp->live, e);
        if (e->status == RP_MP_READY)
            mp->nready--;
    }
    mp->count--;
    mp->bytes -= e->len;
}

/* A record's last event: it is out of the pool before the subscribers hear
 * of it, so none of them finds it any more, and freed after. */
static void leave(rp_mempool *mp, struct entry *e, rp_mp_event *ev)
{
    unlink_entry(mp, e);
    mp_emit(mp, e, ev);
    entry_free(e);
}

/* Callers that drop a pending record (not a held one) must rebuild the
 * pending state afterwards, or have not added it to the state: its changes
 * would otherwise stay and keep its dependents valid. */
void mp_drop(rp_mempool *mp, struct entry *e, int code, const char *msg)
{
    mp->dropped++;
    leave(mp, e, &(rp_mp_event){.kind = RP_MP_EV_DROPPED, .code = code, .msg = msg});
}

void mp_included(rp_mempool *mp, struct entry *e, uint64_t height, uint32_t index)
{
    leave(mp, e, &(rp_mp_event){.kind = RP_MP_EV_INCLUDED, .height = height, .index = index});
}

/* Make room for n more ids, so queue_append cannot fail. The space of ids
 * already taken is reused once it is at least half the queue. */
static int queue_reserve(rp_mempool *mp, size_t n)
{
    if (mp->qhead > 0 && mp->qhead == mp->qlen)
        mp->qhead = mp->qlen = 0;
    if (mp->fail_queue) {
        mp->fail_queue--;
        return RP_ERR_NOMEM;
    }
    if (mp->qcap - mp->qlen >= n)
        return 0;
    if (mp->qhead > mp->qcap / 2) {
        memmove(mp->queue, mp->queue + mp->qhead, (mp->qlen - mp->qhead) * sizeof *mp->queue);
        mp->qlen -= mp->qhead;
        mp->qhead = 0;
        if (mp->qcap - mp->qlen >= n)
            return 0;
    }
    size_t cap = mp->qcap ? mp->qcap : 256;
    while (cap - mp->qlen < n)
        cap *= 2;
    rp_hash *q = realloc(mp->queue, cap * sizeof *q);
    if (!q)
        return RP_ERR_NOMEM;
    mp->queue = q;
    mp->qcap = cap;
    return 0;
}

/* After queue_reserve. */
static void queue_append(rp_mempool *mp, const rp_hash *id)
{
    mp->queue[mp->qlen++] = *id;
}

int mp_queue_push(rp_mempool *mp, const rp_hash *id)
{
    int rc = queue_reserve(mp, 1);
    if (rc == 0)
        queue_append(mp, id);
    return rc;
}

int mp_sigs_equal(const struct entry *e, const rp_sig_item *sigs, size_t n)
{
    return e->nsigs == n && memcmp(e->sigs, sigs, n * sizeof *sigs) == 0;
}

/* Does the set have[0..nhave) hold every check of need[0..nneed)? */
int mp_covers(const rp_sig_item *have, size_t nhave, const rp_sig_item *need, size_t nneed)
{
    for (size_t i = 0; i < nneed; i++) {
        size_t j = 0;
        while (j < nhave && memcmp(&have[j], &need[i], sizeof need[i]) != 0)
            j++;
        if (j == nhave)
            return 0;
    }
    return 1;
}

/* Check e against the pending state and make it live, or return the rule's
 * error with the reason in msg, leaving e as it was and unlinked. It goes
 * VERIFYING (queued for a batch), except a record released from the held
 * list (held) whose verified checks, e->sigs, are still every check the
 * rules ask for: that one is READY at once, its signatures not verified a
 * second time (the caller emits the event). */
static int admit(rp_mempool *mp, struct entry *e, uint64_t now_s, int held, char *msg,
                 size_t msglen)
{
    rp_hash id;
    rp_sig_item sigs[RP_RECORD_MAX_SIGS];
    size_t n;
    /* Room in the queue first: once the pending state has the record,
     * nothing may fail. */
    int rc = queue_reserve(mp, 1);
    if (rc) {
        snprintf(msg, msglen, "out of memory");
        return rc;
    }
    rc = rp_pending_add(mp->pending, e->rec, e->len, now_s, &id, sigs, &n, msg, msglen);
    if (rc)
        return rc;
    if (held && mp_covers(e->sigs, e->nsigs, sigs, n)) {
        e->status = RP_MP_READY;
        mp->nready++;
    } else {
        /* A key changed since it was held, or a signer it could not be
         * checked against then is known now: verified again, in a batch. */
        queue_append(mp, &e->id);
        e->status = RP_MP_VERIFYING;
    }
    e->taken = 0;
    memcpy(e->sigs, sigs, n * sizeof *sigs);
    e->nsigs = n;
    mp_list_push(&mp->live, e);
    return 0;
}

uint64_t mp_next_seq(rp_mempool *mp, const rp_pubkey *issuer)
{
    rp_identity_state st;
    return rp_pending_identity(mp->pending, issuer, &st) == 0 ? st.seq + 1 : 1;
}

/* After an issuer's record went live, its held successors may follow. */
void mp_promote(rp_mempool *mp, const rp_pubkey *issuer, uint64_t now_s)
{
    if (!mp->nheld)
        return;
    for (;;) {
        unsigned char k[KEY_MAX];
        mp_slot_key(k, issuer, mp_next_seq(mp, issuer));
        struct entry *e = mp_map_get(&mp->by_slot, k);
        if (!e)
            return;
        mp_map_del(&mp->by_slot, k);
        list_remove(&mp->held, e);
        mp->nheld--;
        e->status = 0; /* in no list until admit puts it in live */
        char msg[256];
        int rc = admit(mp, e, now_s, 1, msg, sizeof msg);
        if (rc) {
            /* A refused record leaves no trace in the pending state. */
            mp_drop(mp, e, rc, msg);
            return;
        }
        mp->admitted++;
        if (e->status == RP_MP_READY)
            mp_emit(mp, e, &(rp_mp_event){.kind = RP_MP_EV_READY});
    }
}

/* Held records may take at most a quarter of the pool, so records that
 * can go into a block always find room. */
uint32_t mp_held_cap(const rp_mempool *mp)
{
    return mp->lim.max_count / 4 ? mp->lim.max_count / 4 : 1;
}

/* Is the record of res->id on chain? Every pending and held record is in
 * by_id, so the pending state's answer for one that is not comes from the
 * chain. Sets res (INCLUDED, height, index) if so. */
static int on_chain(rp_mempool *mp, rp_mp_result *res)
{
    if (rp_pending_find_record(mp->pending, &res->id, &res->height, &res->index) != 0)
        return 0;
    res->status = RP_MP_INCLUDED;
    res->msg[0] = 0;
    return 1;
}

/* The pending state is gone after rp_mempool_release or a failed rebuild. */
static int ensure_pending(rp_mempool *mp)
{
    return mp->pending ? 0 : rp_pending_new(mp->store, &mp->pending);
}

int rp_mempool_submit(rp_mempool *mp, const unsigned char *rec, size_t len, rp_mp_source src,
                      uint64_t now_s, rp_mp_result *res)
{
    memset(res, 0, sizeof *res);
    if (mp->closed)
        return RP_ERR_SHUTDOWN;
    if (src.origin != RP_MP_FROM_RPC && src.origin != RP_MP_FROM_PEER)
        return RP_ERR_INVALID_ARG;
    int prc = ensure_pending(mp);
    if (prc)
        return prc;
    if (len > RP_RECORD_MAX_SIZE) {
        snprintf(res->msg, sizeof res->msg, "record of %zu bytes; the limit is %d", len,
                 RP_RECORD_MAX_SIZE);
        mp->rejected++;
        return RP_ERR_TOO_LONG;
    }
    rp_record r;
    const char *field = NULL;
    int rc = rp_record_decode(&r, rec, len, &field);
    if (rc) {
        snprintf(res->msg, sizeof res->msg, "record does not decode: %s (field %s)",
                 rp_strerror(rc), field ? field : "?");
        mp->rejected++;
        return rc;
    }
    if (r.type == RP_REC_EVIDENCE) {
        /* Evidence has no issuer identity or sequence for the pool to order
         * it by; the validators' own nodes put it into the blocks they
         * build (ledger/evidence.h). Refused, not relayed, from anyone. */
        snprintf(res->msg, sizeof res->msg,
                 "evidence records are made by validators: they are not submitted");
        mp->rejected++;
        return RP_ERR_EVIDENCE_SUBMIT;
    }
    rp_record_id_from_body(&res->id, rp_store_chain_id(mp->store), rec,
                           rp_record_body_len(r.type, len));
    struct entry *known = mp_map_get(&mp->by_id, res->id.bytes);
    if (known) {
        /* Whoever sends it again, the first source stays: relay must never
         * echo a record to the peer it came from. */
        res->status = RP_MP_KNOWN;
        return 0;
    }
    /* A record on chain already is no news either; the rules find it (as a
     * duplicate) without a lookup of every new record here. */
    if (mp->count >= mp->lim.max_count || mp->bytes + len > mp->lim.max_bytes) {
        if (on_chain(mp, res))
            return 0;
        snprintf(res->msg, sizeof res->msg,
                 "mempool holds %u records, %llu bytes (limits %u, %llu)", mp->count,
                 (unsigned long long)mp->bytes, mp->lim.max_count,
                 (unsigned long long)mp->lim.max_bytes);
        mp->rejected++;
        return RP_ERR_MEMPOOL_FULL;
    }
    struct entry *e = calloc(1, sizeof *e);
    if (!e || !(e->rec = malloc(len))) {
        free(e);
        return RP_ERR_NOMEM;
    }
    memcpy(e->rec, rec, len);
    e->len = len;
    e->id = res->id;
    e->issuer = r.issuer;
    e->seq = r.seq;
    e->source = src;

    uint64_t expected = mp_next_seq(mp, &r.issuer);
    if (r.seq > expected) {
        if ((rc = mp_hold(mp, e, &r, expected, now_s, res)) != 0) {
            entry_free(e);
            mp->rejected++;
            return rc;
        }
        res->status = RP_MP_HELD;
        return 0;
    }
    if ((rc = mp_map_put(&mp->by_id, e->id.bytes, e)) != 0) {
        entry_free(e);
        return rc;
    }
    rc = admit(mp, e, now_s, 0, res->msg, sizeof res->msg);
    if (rc) {
        mp_map_del(&mp->by_id, e->id.bytes);
        entry_free(e);
        if (rc == RP_ERR_DUPLICATE_RECORD && on_chain(mp, res))
            return 0;
        mp->rejected++;
        return rc;
    }
    mp->count++;
    mp->bytes += len;
    mp->admitted++;
    res->status = RP_MP_VERIFYING;
    mp_promote(mp, &r.issuer, now_s);
    return 0;
}

int rp_mempool_find(rp_mempool *mp, const rp_hash *id, enum rp_mp_status *status,
                    const unsigned char **bytes, size_t *len)
{
    struct entry *e = mp_map_get(&mp->by_id, id->bytes);
    if (!e)
        return RP_ERR_NOT_FOUND;
    *status = e->status;
    /* Only what verified is served as the issuer's: a record waiting for
     * its batch is not, nor a held one whose signer's key changed since. */
    int verified = e->status == RP_MP_READY || (e->status == RP_MP_HELD && mp_held_servable(mp, e));
    if (bytes)
        *bytes = verified ? e->rec : NULL;
    if (len)
        *len = verified ? e->len : 0;
    return 0;
}

int rp_mempool_source(rp_mempool *mp, const rp_hash *id, rp_mp_source *src)
{
    struct entry *e = mp_map_get(&mp->by_id, id->bytes);
    if (!e)
        return RP_ERR_NOT_FOUND;
    *src = e->source;
    return 0;
}

int rp_mempool_set_user(rp_mempool *mp, rp_mp_sub sub, const rp_hash *id, void *user)
{
    struct sub *s = sub_find(mp, sub);
    struct entry *e = mp_map_get(&mp->by_id, id->bytes);
    if (!s || !e)
        return RP_ERR_NOT_FOUND;
    if (!e->users) {
        if (!user)
            return 0;
        if (!(e->users = calloc(RP_MEMPOOL_MAX_SUBSCRIBERS, sizeof *e->users)))
            return RP_ERR_NOMEM;
    }
    e->users[s - mp->subs] = user;
    return 0;
}

void *rp_mempool_get_user(rp_mempool *mp, rp_mp_sub sub, const rp_hash *id)
{
    struct sub *s = sub_find(mp, sub);
    struct entry *e = mp_map_get(&mp->by_id, id->bytes);
    return s && e && e->users ? e->users[s - mp->subs] : NULL;
}

void rp_mempool_release(rp_mempool *mp)
{
    rp_pending_free(mp->pending);
    mp->pending = NULL;
}

int rp_mempool_identity(rp_mempool *mp, const rp_pubkey *name, uint64_t *next, uint32_t *npending,
                        rp_identity_state *st)
{
    rp_identity_state tmp;
    int rc = ensure_pending(mp);
    if (rc == 0)
        rc = rp_pending_identity(mp->pending, name, st ? st : &tmp);
    if (rc)
        return rc;
    *next = (st ? st : &tmp)->seq + 1;
    /* Derived, not counted: every pending record of the issuer took one
     * sequence number past the chain's, and held ones sit in the max_gap
     * numbers after the next. */
    rp_identity_state chain;
    uint64_t chain_seq = rp_pending_chain_identity(mp->pending, name, &chain) == 0 ? chain.seq : 0;
    uint32_t n = (uint32_t)(*next - 1 - chain_seq);
    for (uint64_t q = *next + 1; mp->nheld && q <= *next + mp->lim.max_gap; q++) {
        unsigned char k[KEY_MAX];
        mp_slot_key(k, name, q);
        n += mp_map_get(&mp->by_slot, k) != NULL;
    }
    *npending = n;
    return 0;
}

void rp_mempool_stats_get(const rp_mempool *mp, rp_mempool_stats *st)
{
    st->count = mp->count;
    st->held = mp->nheld;
    st->ready = mp->nready;
    st->verifying = mp->count - mp->nheld - mp->nready;
    st->bytes = mp->bytes;
    st->admitted = mp->admitted;
    st->rejected = mp->rejected;
    st->dropped = mp->dropped;
}
