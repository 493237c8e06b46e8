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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/record.h"

/* ---- a small map from fixed-size keys to entries ------------------------------ */

#define KEY_MAX 40

struct entry;

struct slot {
    struct entry *e; /* NULL: empty; TOMB: deleted */
    unsigned char key[KEY_MAX];
};

static struct entry tombstone_; /* a deleted slot: only its address is used */
#define TOMB (&tombstone_)

struct map {
    struct slot *s;
    size_t cap, used, live; /* used counts tombstones too */
    size_t klen;
};

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

static struct entry *map_get(struct map *m, const unsigned char *key)
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

static int map_put(struct map *m, const unsigned char *key, struct entry *e)
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

static void map_del(struct map *m, const unsigned char *key)
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

struct entry {
    rp_hash id;
    rp_pubkey issuer;
    uint64_t seq;
    unsigned char *rec;
    size_t len;
    enum rp_mp_status status; /* HELD, VERIFYING or READY */
    int taken;                /* its signatures are in a batch being verified */
    uint64_t since;           /* HELD: when it was held (unix seconds) */
    /* VERIFYING, READY: the checks the rules ask for; HELD: the checks it
     * passed (held_checks), verified. */
    rp_sig_item sigs[RP_RECORD_MAX_SIGS];
    size_t nsigs;
    rp_mp_source source; /* where it first came from */
    void **users;        /* NULL, or one pointer per subscriber slot */
    struct entry *prev, *next;
};

struct list {
    struct entry *head, *tail;
};

static void list_push(struct list *l, struct entry *e)
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

/* A subscriber slot; handle is slot + 1 in the low 8 bits and a generation
 * above, so a stale handle never names the slot's next subscriber. */
struct sub {
    rp_mp_event_fn fn; /* NULL: a free slot */
    void *ctx;
    rp_mp_sub handle;
    uint64_t since; /* the number of events emitted before it subscribed */
};

struct rp_mempool {
    rp_store *store;
    rp_mempool_limits lim;
    struct sub subs[RP_MEMPOOL_MAX_SUBSCRIBERS];
    uint32_t sub_gen;
    uint64_t nevents;
    rp_pending *pending;
    struct list live; /* VERIFYING and READY, in admission order */
    struct list held;
    struct map by_id;   /* every entry, by record id */
    struct map by_slot; /* held entries, by issuer | seq */
    rp_hash *queue;     /* ids whose signatures wait for a batch */
    size_t qhead, qlen, qcap;
    uint32_t count, nheld, nready;
    uint64_t bytes;
    uint64_t admitted, rejected, dropped;
    int closed;
    int frozen;          /* a block of the ready prefix is being made elsewhere */
    int recheck;         /* a record was dropped while frozen: check all again after */
    unsigned fail_queue; /* tests: refuse this many more requests for queue room */
};

static void slot_key(unsigned char out[KEY_MAX], const rp_pubkey *issuer, uint64_t seq)
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

void rp_mempool_close(rp_mempool *mp) { mp->closed = 1; }

void rp_mempool_test_fail_queue(rp_mempool *mp, unsigned n) { mp->fail_queue = n; }

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
static void emit(rp_mempool *mp, struct entry *e, rp_mp_event *ev)
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
    map_del(&mp->by_id, e->id.bytes);
    if (e->status == RP_MP_HELD) {
        unsigned char k[KEY_MAX];
        slot_key(k, &e->issuer, e->seq);
        map_del(&mp->by_slot, k);
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
    emit(mp, e, ev);
    entry_free(e);
}

/* Callers that drop a pending record (not a held one) must rebuild the
 * pending state afterwards, or have not added it to the state: its changes
 * would otherwise stay and keep its dependents valid. */
static void drop(rp_mempool *mp, struct entry *e, int code, const char *msg)
{
    mp->dropped++;
    leave(mp, e, &(rp_mp_event){.kind = RP_MP_EV_DROPPED, .code = code, .msg = msg});
}

static void included(rp_mempool *mp, struct entry *e, uint64_t height, uint32_t index)
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
static void queue_append(rp_mempool *mp, const rp_hash *id) { mp->queue[mp->qlen++] = *id; }

static int queue_push(rp_mempool *mp, const rp_hash *id)
{
    int rc = queue_reserve(mp, 1);
    if (rc == 0)
        queue_append(mp, id);
    return rc;
}

static int sigs_equal(const struct entry *e, const rp_sig_item *sigs, size_t n)
{
    return e->nsigs == n && memcmp(e->sigs, sigs, n * sizeof *sigs) == 0;
}

/* Does the set have[0..nhave) hold every check of need[0..nneed)? */
static int covers(const rp_sig_item *have, size_t nhave, const rp_sig_item *need, size_t nneed)
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
    if (held && covers(e->sigs, e->nsigs, sigs, n)) {
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
    list_push(&mp->live, e);
    return 0;
}

static uint64_t next_seq(rp_mempool *mp, const rp_pubkey *issuer)
{
    rp_identity_state st;
    return rp_pending_identity(mp->pending, issuer, &st) == 0 ? st.seq + 1 : 1;
}

/* After an issuer's record went live, its held successors may follow. */
static void promote(rp_mempool *mp, const rp_pubkey *issuer, uint64_t now_s)
{
    if (!mp->nheld)
        return;
    for (;;) {
        unsigned char k[KEY_MAX];
        slot_key(k, issuer, next_seq(mp, issuer));
        struct entry *e = map_get(&mp->by_slot, k);
        if (!e)
            return;
        map_del(&mp->by_slot, k);
        list_remove(&mp->held, e);
        mp->nheld--;
        e->status = 0; /* in no list until admit puts it in live */
        char msg[256];
        int rc = admit(mp, e, now_s, 1, msg, sizeof msg);
        if (rc) {
            /* A refused record leaves no trace in the pending state. */
            drop(mp, e, rc, msg);
            return;
        }
        mp->admitted++;
        if (e->status == RP_MP_READY)
            emit(mp, e, &(rp_mp_event){.kind = RP_MP_EV_READY});
    }
}

/* Held records may take at most a quarter of the pool, so records that
 * can go into a block always find room. */
static uint32_t held_cap(const rp_mempool *mp)
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

/* ---- held records: verified before they are held ------------------------------ */

/* The signatures a held record needs, with the keys its signers have as the
 * pending state sees them now (the chain plus pending records, so a pending
 * registration or ROTATE counts): slot 0 by the issuer's current key (for a
 * ROTATE by recovery, by the revealed recovery key, if it matches the
 * issuer's commitment), slot 1 of an ENGAGEMENT by the counterparty's
 * current key if the counterparty is registered (else it cannot be checked
 * yet, and the release's batch will). The rules of the record itself wait
 * for its release: they depend on the records of the gap.
 * Returns: 0; RP_ERR_NOT_REGISTERED (an issuer nobody registered has no key:
 *          it cannot have signed anything); RP_ERR_RECOVERY_MISMATCH; a
 *          store error. msg says why. */
static int held_checks(rp_mempool *mp, const rp_record *r, const rp_hash *id,
                       rp_sig_item out[static RP_RECORD_MAX_SIGS], size_t *n, char *msg,
                       size_t msglen)
{
    static const rp_hash zero;
    rp_identity_state st;
    *n = 0;
    int rc = rp_pending_identity(mp->pending, &r->issuer, &st);
    if (rc == RP_ERR_NOT_FOUND) {
        snprintf(msg, msglen,
                 "the issuer is not registered, on chain or by a pending record: a record "
                 "ahead of its sequence is held only if it verifies with the issuer's key");
        return RP_ERR_NOT_REGISTERED;
    }
    if (rc) {
        snprintf(msg, msglen, "the node could not read its ledger");
        return rc;
    }
    const rp_pubkey *signer = &st.key;
    if (r->type == RP_REC_ROTATE && r->body.rotate.auth == RP_ROTATE_BY_RECOVERY) {
        rp_hash c;
        rp_recovery_commitment(&c, &r->body.rotate.recovery_key);
        if (memcmp(st.recovery.bytes, zero.bytes, 32) == 0 ||
            memcmp(c.bytes, st.recovery.bytes, 32) != 0) {
            snprintf(msg, msglen, "the recovery key does not match the commitment");
            return RP_ERR_RECOVERY_MISMATCH;
        }
        signer = &r->body.rotate.recovery_key;
    }
    out[0] = (rp_sig_item){.msg = *id, .key = *signer, .sig = r->sigs[0]};
    *n = 1;
    if (r->type == RP_REC_ENGAGEMENT) {
        rp_identity_state cp;
        rc = rp_pending_identity(mp->pending, &r->body.engagement.counterparty, &cp);
        if (rc == 0) {
            out[1] = (rp_sig_item){.msg = *id, .key = cp.key, .sig = r->sigs[1]};
            *n = 2;
        } else if (rc != RP_ERR_NOT_FOUND) {
            snprintf(msg, msglen, "the node could not read its ledger");
            return rc;
        }
    }
    return 0;
}

/* Verify checks[0..n) here, on the loop (at most RP_RECORD_MAX_SIGS).
 * Returns: 1 if every one verifies, 0 if not. */
static int verify_now(const rp_sig_item *checks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!rp_verify(&checks[i].sig, checks[i].msg.bytes, 32, &checks[i].key))
            return 0;
    return 1;
}

/* Held record e with the checks it needs now. Returns: 0 and checks[0..*n);
 * 1 if no key can have signed it now (its issuer's registration was a
 * pending record that left, a recovery commitment changed); a store error. */
static int held_now(rp_mempool *mp, const struct entry *e,
                    rp_sig_item checks[static RP_RECORD_MAX_SIGS], size_t *n)
{
    rp_record r;
    char msg[160];
    if (rp_record_decode(&r, e->rec, e->len, NULL) != 0)
        return 1; /* never: it decoded when it was held */
    int rc = held_checks(mp, &r, &e->id, checks, n, msg, sizeof msg);
    return rc == RP_ERR_NOT_REGISTERED || rc == RP_ERR_RECOVERY_MISMATCH ? 1 : rc;
}

/* May held record e be served as the issuer's (rp_mempool_find)? Only if
 * every check it needs now was verified: nothing is verified here. */
static int held_servable(rp_mempool *mp, const struct entry *e)
{
    rp_sig_item now[RP_RECORD_MAX_SIGS];
    size_t n;
    return mp->pending && held_now(mp, e, now, &n) == 0 && covers(e->sigs, e->nsigs, now, n);
}

/* Does held record e still verify with the keys its signers have now? The
 * checks it has not verified yet (its issuer rotated since, its
 * counterparty registered since) are verified now, at most
 * RP_RECORD_MAX_SIGS, and remembered. Returns: 1, 0, or a store error. */
static int held_still_valid(rp_mempool *mp, struct entry *e)
{
    rp_sig_item now[RP_RECORD_MAX_SIGS], todo[RP_RECORD_MAX_SIGS];
    size_t n, ntodo = 0;
    int rc = held_now(mp, e, now, &n);
    if (rc)
        return rc == 1 ? 0 : rc;
    for (size_t i = 0; i < n; i++)
        if (!covers(e->sigs, e->nsigs, &now[i], 1))
            todo[ntodo++] = now[i];
    if (!verify_now(todo, ntodo))
        return 0;
    memcpy(e->sigs, now, n * sizeof *now);
    e->nsigs = n;
    return 1;
}

/* Hold e, record r, whose sequence is ahead of the issuer's next (expected).
 * Its rules cannot be checked before the gap fills, but its signer can: it
 * is held only if its signatures verify now with the keys its signers have
 * (held_checks), which then stay in e->sigs as the checks it passed. For
 * its (issuer, sequence) slot, a held record that no longer verifies
 * (its issuer's key changed since) gives way to e; one that still does is
 * the issuer's own first record for that sequence, and stays.
 * Returns: 0 (e held); RP_ERR_SEQUENCE_GAP, an error of held_checks,
 *          RP_ERR_MEMPOOL_FULL, RP_ERR_BAD_SIGNATURE, RP_ERR_BAD_SEQUENCE,
 *          RP_ERR_NOMEM or a store error, with res->msg (e is then in no
 *          map, for the caller to free). */
static int hold(rp_mempool *mp, struct entry *e, const rp_record *r, uint64_t expected,
                uint64_t now_s, rp_mp_result *res)
{
    char *msg = res->msg;
    size_t msglen = sizeof res->msg;
    res->expected_seq = expected;
    if (r->seq - expected > mp->lim.max_gap) {
        snprintf(msg, msglen,
                 "sequence %llu, but the issuer's next is %llu (at most %u ahead are held)",
                 (unsigned long long)r->seq, (unsigned long long)expected, mp->lim.max_gap);
        return RP_ERR_SEQUENCE_GAP;
    }
    rp_sig_item checks[RP_RECORD_MAX_SIGS];
    size_t n;
    int rc = held_checks(mp, r, &e->id, checks, &n, msg, msglen);
    if (rc)
        return rc;
    unsigned char k[KEY_MAX];
    slot_key(k, &r->issuer, r->seq);
    struct entry *holder = map_get(&mp->by_slot, k);
    /* A replacement does not grow the held records. */
    if (!holder && mp->nheld >= held_cap(mp)) {
        snprintf(msg, msglen,
                 "%u records are already held waiting for earlier sequence numbers "
                 "(the limit is a quarter of the pool); submit the missing ones first",
                 mp->nheld);
        return RP_ERR_MEMPOOL_FULL;
    }
    if (!verify_now(checks, n)) {
        snprintf(msg, msglen, "a signature does not verify with the signer's current key");
        return RP_ERR_BAD_SIGNATURE;
    }
    if (holder) {
        rc = held_still_valid(mp, holder);
        if (rc < 0) {
            snprintf(msg, msglen, "the node could not read its ledger");
            return rc;
        }
        if (rc == 1) {
            snprintf(msg, msglen,
                     "another record of this issuer with sequence %llu, signed with its "
                     "current key, is already held; the first one stays",
                     (unsigned long long)r->seq);
            return RP_ERR_BAD_SEQUENCE;
        }
        drop(mp, holder, RP_ERR_BAD_SIGNATURE,
             "a signature no longer verifies with the signer's current key; a record for the "
             "same sequence that does took its place");
    }
    if ((rc = map_put(&mp->by_slot, k, e)) == 0 && (rc = map_put(&mp->by_id, e->id.bytes, e)) != 0)
        map_del(&mp->by_slot, k);
    if (rc) {
        snprintf(msg, msglen, "out of memory");
        return rc;
    }
    memcpy(e->sigs, checks, n * sizeof *checks);
    e->nsigs = n;
    e->status = RP_MP_HELD;
    e->since = now_s;
    list_push(&mp->held, e);
    mp->nheld++;
    mp->count++;
    mp->bytes += e->len;
    return 0;
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
    rp_record_id_from_body(&res->id, rp_store_chain_id(mp->store), rec,
                           rp_record_body_len(r.type, len));
    struct entry *known = map_get(&mp->by_id, res->id.bytes);
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
        snprintf(res->msg, sizeof res->msg, "mempool holds %u records, %llu bytes (limits %u, %llu)",
                 mp->count, (unsigned long long)mp->bytes, mp->lim.max_count,
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

    uint64_t expected = next_seq(mp, &r.issuer);
    if (r.seq > expected) {
        if ((rc = hold(mp, e, &r, expected, now_s, res)) != 0) {
            entry_free(e);
            mp->rejected++;
            return rc;
        }
        res->status = RP_MP_HELD;
        return 0;
    }
    if ((rc = map_put(&mp->by_id, e->id.bytes, e)) != 0) {
        entry_free(e);
        return rc;
    }
    rc = admit(mp, e, now_s, 0, res->msg, sizeof res->msg);
    if (rc) {
        map_del(&mp->by_id, e->id.bytes);
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
    promote(mp, &r.issuer, now_s);
    return 0;
}

int rp_mempool_find(rp_mempool *mp, const rp_hash *id, enum rp_mp_status *status,
                    const unsigned char **bytes, size_t *len)
{
    struct entry *e = map_get(&mp->by_id, id->bytes);
    if (!e)
        return RP_ERR_NOT_FOUND;
    *status = e->status;
    /* Only what verified is served as the issuer's: a record waiting for
     * its batch is not, nor a held one whose signer's key changed since. */
    int verified = e->status == RP_MP_READY || (e->status == RP_MP_HELD && held_servable(mp, e));
    if (bytes)
        *bytes = verified ? e->rec : NULL;
    if (len)
        *len = verified ? e->len : 0;
    return 0;
}

int rp_mempool_source(rp_mempool *mp, const rp_hash *id, rp_mp_source *src)
{
    struct entry *e = map_get(&mp->by_id, id->bytes);
    if (!e)
        return RP_ERR_NOT_FOUND;
    *src = e->source;
    return 0;
}

int rp_mempool_set_user(rp_mempool *mp, rp_mp_sub sub, const rp_hash *id, void *user)
{
    struct sub *s = sub_find(mp, sub);
    struct entry *e = map_get(&mp->by_id, id->bytes);
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
    struct entry *e = map_get(&mp->by_id, id->bytes);
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
        slot_key(k, name, q);
        n += map_get(&mp->by_slot, k) != NULL;
    }
    *npending = n;
    return 0;
}

/* ---- signature batches --------------------------------------------------------- */

static void batch_free(rp_mp_batch *b)
{
    if (b) {
        free(b->items);
        free(b->ok);
        free(b->sigs);
        free(b->ids);
        free(b);
    }
}

rp_mp_batch *rp_mempool_take_batch(rp_mempool *mp, size_t max_sigs)
{
    if (mp->qhead == mp->qlen || max_sigs < RP_RECORD_MAX_SIGS)
        return NULL;
    rp_mp_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->items = malloc(max_sigs * sizeof *b->items);
    b->ok = calloc(max_sigs, 1);
    b->sigs = malloc(max_sigs * sizeof *b->sigs);
    b->ids = malloc(max_sigs * sizeof *b->ids);
    if (!b->items || !b->ok || !b->sigs || !b->ids) {
        batch_free(b);
        return NULL;
    }
    while (mp->qhead < mp->qlen && b->n + RP_RECORD_MAX_SIGS <= max_sigs) {
        struct entry *e = map_get(&mp->by_id, mp->queue[mp->qhead].bytes);
        mp->qhead++;
        if (!e || e->status != RP_MP_VERIFYING || e->taken)
            continue;
        e->taken = 1;
        for (size_t i = 0; i < e->nsigs; i++) {
            b->sigs[b->n] = e->sigs[i];
            b->ids[b->n] = e->id;
            b->n++;
        }
    }
    if (b->n == 0) {
        batch_free(b);
        return NULL;
    }
    for (size_t i = 0; i < b->n; i++) {
        b->items[i].msg = b->sigs[i].msg.bytes;
        b->items[i].msglen = 32;
        b->items[i].pubkey = &b->sigs[i].key;
        b->items[i].sig = &b->sigs[i].sig;
    }
    return b;
}

static int reopen_pending(rp_mempool *mp);
static int recheck_all(rp_mempool *mp, uint64_t now_s, int rc);
static void promote_all(rp_mempool *mp, uint64_t now_s);

void rp_mempool_batch_done(rp_mempool *mp, rp_mp_batch *b, uint64_t now_s)
{
    int bad = 0;
    for (size_t i = 0; i < b->n;) {
        /* One record's signatures are adjacent in the batch. */
        size_t j = i;
        int ok = 1;
        while (j < b->n && rp_hash_eq(&b->ids[j], &b->ids[i])) {
            ok &= b->ok[j];
            j++;
        }
        struct entry *e = map_get(&mp->by_id, b->ids[i].bytes);
        /* Only if the entry still expects exactly these signatures. When a
         * re-check changes which key must sign, it queues the entry again
         * with taken cleared; an entry that is taken but expects other
         * signatures is therefore in a later batch, whose answer counts:
         * this stale one is ignored (neither queued again nor dropped). */
        if (e && e->status == RP_MP_VERIFYING && e->taken && sigs_equal(e, b->sigs + i, j - i)) {
            e->taken = 0;
            if (ok) {
                e->status = RP_MP_READY;
                mp->nready++;
                emit(mp, e, &(rp_mp_event){.kind = RP_MP_EV_READY});
            } else {
                drop(mp, e, RP_ERR_BAD_SIGNATURE,
                     "a signature does not verify with the signer's current key");
                bad = 1;
            }
        }
        i = j;
    }
    batch_free(b);
    /* Records admitted after the bad one may have depended on it: check
     * them all again, now, or after the block being made. */
    if (bad && !mp->frozen)
        recheck_all(mp, now_s, reopen_pending(mp));
    else if (bad)
        mp->recheck = 1;
}

/* ---- blocks --------------------------------------------------------------------- */

size_t rp_mempool_block(rp_mempool *mp, rp_block_item *items, rp_hash *ids, size_t max_records,
                        size_t max_bytes)
{
    size_t n = 0, bytes = 0;
    for (struct entry *e = mp->live.head; e && n < max_records; e = e->next) {
        if (e->status != RP_MP_READY || bytes + 2 + e->len > max_bytes)
            break;
        items[n].bytes = e->rec;
        items[n].len = e->len;
        if (ids)
            ids[n] = e->id;
        bytes += 2 + e->len;
        n++;
    }
    return n;
}

/* A fresh pending state on the current tip. */
static int reopen_pending(rp_mempool *mp)
{
    rp_pending_free(mp->pending);
    mp->pending = NULL;
    return rp_pending_new(mp->store, &mp->pending);
}

/* Re-check every live record, in order, against a fresh pending state
 * (rc: the result of reopening it). */
static int recheck_all(rp_mempool *mp, uint64_t now_s, int rc)
{
    int again;
    do {
        again = 0;
        struct list old = mp->live;
        mp->live.head = mp->live.tail = NULL;
        struct entry *e, *n;
        for (e = old.head; e; e = n) {
            n = e->next;
            char msg[256];
            rp_hash id;
            rp_sig_item sigs[RP_RECORD_MAX_SIGS];
            size_t ns = 0;
            int r = rc ? rc
                       : rp_pending_add(mp->pending, e->rec, e->len, now_s, &id, sigs, &ns, msg,
                                        sizeof msg);
            list_push(&mp->live, e);
            if (r) {
                drop(mp, e, r, rc ? "the node could not read its ledger" : msg);
                continue;
            }
            if (!sigs_equal(e, sigs, ns)) {
                /* A pending rotation changed the key that must sign. */
                if (e->status == RP_MP_READY)
                    mp->nready--;
                e->status = RP_MP_VERIFYING;
                e->taken = 0;
                memcpy(e->sigs, sigs, ns * sizeof *sigs);
                e->nsigs = ns;
                if (queue_push(mp, &e->id) != 0) {
                    /* Never verified, so it must go; but the pending state
                     * has its changes now, which would keep the records
                     * after it that depend on it: start over without it. */
                    drop(mp, e, RP_ERR_NOMEM, "out of memory");
                    again = 1;
                }
            }
        }
        if (rc)
            return rc;
        if (again)
            rc = reopen_pending(mp);
    } while (again);
    promote_all(mp, now_s);
    return 0;
}

void rp_mempool_freeze(rp_mempool *mp) { mp->frozen = 1; }

void rp_mempool_expire(rp_mempool *mp, uint64_t now_s)
{
    /* A gap that nobody fills does not hold its records for ever. */
    struct entry *e = mp->held.head;
    while (e) {
        if (now_s >= e->since + RP_MEMPOOL_HELD_TTL_S) {
            drop(mp, e, RP_ERR_SEQUENCE_GAP,
                 "held too long: the issuer's earlier sequence numbers never arrived");
            e = mp->held.head; /* the event's receiver may change the list */
        } else {
            e = e->next;
        }
    }
}

size_t rp_mempool_block_sigs(rp_mempool *mp, size_t n, rp_sig_item *out, size_t cap)
{
    size_t k = 0;
    for (struct entry *e = mp->live.head; e && n; e = e->next, n--)
        for (size_t i = 0; i < e->nsigs && k < cap; i++)
            out[k++] = e->sigs[i];
    return k;
}

/* Has a record on chain taken held record e's sequence number? Then e can
 * never be admitted. (A pending record with that number does not count: it
 * may still be dropped, and e's turn come.) */
static int seq_taken(rp_mempool *mp, const struct entry *e)
{
    rp_identity_state st;
    return rp_pending_chain_identity(mp->pending, &e->issuer, &st) == 0 && st.seq >= e->seq;
}

/* A held record whose sequence number the chain took: it leaves as included
 * if it is the record that took it, dropped otherwise. */
static void held_taken(rp_mempool *mp, struct entry *e)
{
    uint64_t height;
    uint32_t index;
    if (rp_pending_find_record(mp->pending, &e->id, &height, &index) == 0) {
        included(mp, e, height, index);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "another record of the issuer with sequence %llu is on chain",
             (unsigned long long)e->seq);
    drop(mp, e, RP_ERR_BAD_SEQUENCE, msg);
}

/* Records whose turn came while their predecessors went into a block, and
 * records whose turn will never come. */
static void promote_all(rp_mempool *mp, uint64_t now_s)
{
    struct entry *e, *n;
    for (e = mp->held.head; e; e = n) {
        n = e->next;
        uint64_t next = next_seq(mp, &e->issuer);
        if (e->seq == next) {
            rp_pubkey issuer = e->issuer;
            promote(mp, &issuer, now_s);
            n = mp->held.head; /* promote may have unlinked any of them */
        } else if (e->seq < next && seq_taken(mp, e)) {
            held_taken(mp, e); /* unlinks e alone: n stays */
        }
    }
}

/* Changes of included records kept by the pending state before it is
 * rebuilt from scratch, which also frees them. */
#define DEAD_CHANGES_MAX 65536

/* Is the block ids[0..n) exactly the pool's n oldest pending records, in
 * order, and can the pending state take the short way there? */
static int is_oldest(rp_mempool *mp, const rp_hash *ids, size_t n)
{
    if (!mp->pending || mp->recheck || rp_pending_dead(mp->pending) >= DEAD_CHANGES_MAX)
        return 0;
    struct entry *e = mp->live.head;
    for (size_t i = 0; i < n; i++, e = e->next)
        if (!e || !rp_hash_eq(&e->id, &ids[i]))
            return 0;
    return 1;
}

/* The short way to the new tip for a block of the n oldest pending records:
 * their changes leave the pending state, the others' stay, unchecked.
 * Returns: 0; or not 0 before any event if the chain does not confirm the
 * premise (the caller then rebuilds). */
static int advance(rp_mempool *mp, size_t n, uint64_t now_s)
{
    if (rp_pending_advance(mp->pending, n) != 0)
        return -1;
    /* Each of the n must now be record i of the tip block, read from the
     * chain itself; otherwise take the long way. */
    uint64_t tip = rp_pending_height(mp->pending), height;
    uint32_t index;
    struct entry *e = mp->live.head;
    for (size_t i = 0; i < n; i++, e = e->next)
        if (rp_pending_find_record(mp->pending, &e->id, &height, &index) != 0 || height != tip ||
            index != i)
            return -1;
    mp->frozen = 0;
    for (size_t i = 0; i < n; i++)
        included(mp, mp->live.head, tip, (uint32_t)i);
    rp_mempool_expire(mp, now_s);
    promote_all(mp, now_s);
    return 0;
}

/* The long way to the new tip: a fresh pending state, the block's records
 * (ids[0..n), pending or held) and any other pending record on chain leave
 * as included, drop_id leaves as dropped, and every record left is checked
 * again in admission order. */
static int rebuild(rp_mempool *mp, uint64_t now_s, const rp_hash *ids, size_t n,
                   const rp_hash *drop_id, int code, const char *msg)
{
    mp->frozen = 0;
    mp->recheck = 0;
    int rc = reopen_pending(mp);
    struct entry *e, *next;
    uint64_t height;
    uint32_t index;
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((e = map_get(&mp->by_id, ids[i].bytes)) != NULL &&
            rp_pending_find_record(mp->pending, &e->id, &height, &index) == 0)
            included(mp, e, height, index);
    /* Also those of blocks the pool was not told of. */
    for (e = mp->live.head; e && rc == 0; e = next) {
        next = e->next;
        if (rp_pending_find_record(mp->pending, &e->id, &height, &index) == 0)
            included(mp, e, height, index);
    }
    if (drop_id && (e = map_get(&mp->by_id, drop_id->bytes)) != NULL)
        drop(mp, e, code, msg);
    rp_mempool_expire(mp, now_s);
    return recheck_all(mp, now_s, rc);
}

int rp_mempool_committed(rp_mempool *mp, const rp_hash *ids, size_t n, uint64_t now_s)
{
    if (is_oldest(mp, ids, n) && advance(mp, n, now_s) == 0)
        return 0;
    return rebuild(mp, now_s, ids, n, NULL, 0, NULL);
}

int rp_mempool_rebuild(rp_mempool *mp, uint64_t now_s, const rp_hash *drop_id, int code,
                       const char *msg)
{
    return rebuild(mp, now_s, NULL, 0, drop_id, code, msg);
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
