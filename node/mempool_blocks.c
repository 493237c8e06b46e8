/* The mempool's signature batches and blocks (contract in mempool.h):
 * batches of waiting signatures handed to the caller's workers and their
 * verdicts applied, the ready prefix a block takes, and what happens when a
 * block (this node's or another's) is committed: the fast move of the
 * pending state past the block's records, or a full re-check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/record.h"
#include "node/mempool.h"
#include "node/mempool_impl.h"

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
        struct entry *e = mp_map_get(&mp->by_id, mp->queue[mp->qhead].bytes);
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
        struct entry *e = mp_map_get(&mp->by_id, b->ids[i].bytes);
        /* Only if the entry still expects exactly these signatures. When a
         * re-check changes which key must sign, it queues the entry again
         * with taken cleared; an entry that is taken but expects other
         * signatures is therefore in a later batch, whose answer counts:
         * this stale one is ignored (neither queued again nor dropped). */
        if (e && e->status == RP_MP_VERIFYING && e->taken && mp_sigs_equal(e, b->sigs + i, j - i)) {
            e->taken = 0;
            if (ok) {
                e->status = RP_MP_READY;
                mp->nready++;
                mp_emit(mp, e, &(rp_mp_event){.kind = RP_MP_EV_READY});
            } else {
                mp_drop(mp, e, RP_ERR_BAD_SIGNATURE,
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
            mp_list_push(&mp->live, e);
            if (r) {
                mp_drop(mp, e, r, rc ? "the node could not read its ledger" : msg);
                continue;
            }
            if (!mp_sigs_equal(e, sigs, ns)) {
                /* A pending rotation changed the key that must sign. */
                if (e->status == RP_MP_READY)
                    mp->nready--;
                e->status = RP_MP_VERIFYING;
                e->taken = 0;
                memcpy(e->sigs, sigs, ns * sizeof *sigs);
                e->nsigs = ns;
                if (mp_queue_push(mp, &e->id) != 0) {
                    /* Never verified, so it must go; but the pending state
                     * has its changes now, which would keep the records
                     * after it that depend on it: start over without it. */
                    mp_drop(mp, e, RP_ERR_NOMEM, "out of memory");
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

void rp_mempool_freeze(rp_mempool *mp)
{
    mp->frozen = 1;
}

static int rebuild(rp_mempool *mp, uint64_t now_s, const rp_hash *ids, size_t n,
                   const rp_hash *drop_id, int code, const char *msg);

void rp_mempool_thaw(rp_mempool *mp, uint64_t now_s)
{
    if (!mp->frozen)
        return;
    mp->frozen = 0;
    if (mp->recheck)
        (void)rebuild(mp, now_s, NULL, 0, NULL, 0, NULL);
}

void rp_mempool_expire(rp_mempool *mp, uint64_t now_s)
{
    /* A gap that nobody fills does not hold its records for ever. */
    struct entry *e = mp->held.head;
    while (e) {
        if (now_s >= e->since + RP_MEMPOOL_HELD_TTL_S) {
            mp_drop(mp, e, RP_ERR_SEQUENCE_GAP,
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

/* Records whose turn came while their predecessors went into a block, and
 * records whose turn will never come. */
static void promote_all(rp_mempool *mp, uint64_t now_s)
{
    struct entry *e, *n;
    for (e = mp->held.head; e; e = n) {
        n = e->next;
        uint64_t next = mp_next_seq(mp, &e->issuer);
        if (e->seq == next) {
            rp_pubkey issuer = e->issuer;
            mp_promote(mp, &issuer, now_s);
            n = mp->held.head; /* promote may have unlinked any of them */
        } else if (e->seq < next && mp_seq_taken(mp, e)) {
            mp_held_taken(mp, e); /* unlinks e alone: n stays */
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
        mp_included(mp, mp->live.head, tip, (uint32_t)i);
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
        if ((e = mp_map_get(&mp->by_id, ids[i].bytes)) != NULL &&
            rp_pending_find_record(mp->pending, &e->id, &height, &index) == 0)
            mp_included(mp, e, height, index);
    /* Also those of blocks the pool was not told of. */
    for (e = mp->live.head; e && rc == 0; e = next) {
        next = e->next;
        if (rp_pending_find_record(mp->pending, &e->id, &height, &index) == 0)
            mp_included(mp, e, height, index);
    }
    if (drop_id && (e = mp_map_get(&mp->by_id, drop_id->bytes)) != NULL)
        mp_drop(mp, e, code, msg);
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
