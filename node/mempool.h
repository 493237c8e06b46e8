/* The mempool: records admitted but not yet in a block.
 *
 * Every record enters through rp_mempool_submit, whether it came from RPC
 * or from a peer, and keeps the source it first came from. Admission:
 *   1. size and decoding; duplicates by record id are idempotent (KNOWN, or
 *      INCLUDED with where it is if it is on chain already), whoever sends
 *      them; EVIDENCE records are refused (RP_ERR_EVIDENCE_SUBMIT): they
 *      have no issuer identity or sequence to order them by, and the
 *      validators' nodes put them into blocks themselves (ledger/evidence.h);
 *   2. the issuer's sequence: the next expected one goes on; one at most
 *      max_gap ahead is HELD until the missing ones arrive (see "Held
 *      records" below); further ahead is RP_ERR_SEQUENCE_GAP;
 *   3. the block rules against the tip plus every pending record
 *      (ledger/pending.h), so dependent records (a REVIEW of a pending
 *      ENGAGEMENT, an issuer's next records) are admitted;
 *   4. the signatures the rules ask for are then VERIFYING: the caller takes
 *      them in batches (rp_mempool_take_batch), verifies them on its worker
 *      pool and hands the results back (rp_mempool_batch_done). A record
 *      becomes READY, or is dropped with its dependents.
 * The pool is bounded by count and bytes (held records count too, and may
 * take at most a quarter of the count; a held record is dropped after
 * RP_MEMPOOL_HELD_TTL_S at the next rebuild); a full pool answers
 * RP_ERR_MEMPOOL_FULL and does not grow.
 *
 * Held records. A held record's rules cannot be checked before the gap
 * fills (they depend on records not seen yet), but its signer can, and
 * nothing is held that its issuer did not sign: anyone could otherwise fill
 * the held quarter with junk, or squat an issuer's next sequence numbers
 * with forgeries that record.get would serve as the issuer's. So a record
 * ahead of its issuer's sequence is held only if
 *   - its issuer has a key: registered on chain or by a pending record
 *     (else RP_ERR_NOT_REGISTERED; nothing is verified);
 *   - its signatures verify with the keys the pending state names now
 *     (rp_pending_identity, so a pending ROTATE counts): slot 0 by the
 *     issuer's current key (a ROTATE by recovery: the revealed recovery key,
 *     which must match the commitment, else RP_ERR_RECOVERY_MISMATCH), and
 *     an ENGAGEMENT's slot 1 by the counterparty's current key if the
 *     counterparty is registered (if not, that signature waits for the
 *     release); else RP_ERR_BAD_SIGNATURE. A record signed with a key that a
 *     ROTATE still missing from the gap introduces is refused too: submit
 *     it again once the rotation is pending.
 * One record per (issuer, sequence) slot. A newcomer for a taken slot (a
 * different record id: the same id is KNOWN) is compared with the holder:
 * a holder that no longer verifies with its signers' current keys (the
 * issuer rotated since it was held) gives way (DROPPED, BAD_SIGNATURE) to
 * the newcomer, which does; a holder that still verifies is the issuer's
 * own first record for that sequence, and the newcomer, its equivocation,
 * is refused (RP_ERR_BAD_SEQUENCE). A valid record of the current key thus
 * always wins over anything that does not verify, and the first of two
 * valid ones stays.
 * Cost: these signatures are verified at once, on the caller's (the
 * loop's) thread: at most RP_RECORD_MAX_SIGS for the newcomer, and at most
 * as many for a holder whose keys changed since (its new checks are then
 * remembered), so at most 4 per submit, after every cheaper refusal (gap,
 * issuer, held quota). One BIP-340 verification takes about 40 us here
 * (bench_crypto: 25,600/s on one core; tests/test_mempool.c measures a
 * refused held candidate at about 45 us), and records ahead of their
 * sequence are the exception (the held quarter caps them), so the loop's
 * cost stays bounded per record; the batch path would need a state of
 * its own and a later event for this rare case.
 * Release: when the gap fills, a held record goes through step 3 like any
 * other. If the checks the rules then ask for are the ones it passed when
 * held, it is READY at once (not verified twice; the READY event comes
 * from whichever call released it: rp_mempool_submit, _committed, _rebuild
 * or _batch_done); if a key changed (a ROTATE pending or in a block since)
 * or its counterparty has registered since, it goes VERIFYING and a batch
 * checks it again, which drops it if it no longer verifies.
 *
 * Blocks this node makes take a prefix of the READY records in admission
 * order, which is an order in which they are valid (rp_mempool_block).
 * Whoever made a committed block, this node or another, rp_mempool_committed
 * takes its record ids: the records the pool holds leave as INCLUDED, and
 * everything left is valid on the new tip. When the block is exactly the
 * pool's oldest records (always, for a block of this node) the pending state
 * just moves to the new tip; otherwise every record is checked again, which
 * drops those the block made invalid.
 *
 * Outcomes that come later than the submit call (READY, dropped, included)
 * go to every subscriber (rp_mempool_subscribe): the RPC layer answers
 * clients who wait, the peer relay announces READY records to every peer but
 * the one they came from. Single-threaded: the loop thread owns the mempool;
 * the batches are plain memory that a worker may verify.
 */
#ifndef RP_MEMPOOL_H
#define RP_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "ledger/block.h"
#include "ledger/pending.h"
#include "ledger/store.h"
#include "node/errors.h"

typedef struct rp_mempool rp_mempool;

#define RP_MEMPOOL_HELD_TTL_S 300

typedef struct rp_mempool_limits {
    uint32_t max_count;
    uint64_t max_bytes;
    uint32_t max_gap;
} rp_mempool_limits;

enum rp_mp_status {
    RP_MP_KNOWN = 1,     /* already pending or held: nothing changed */
    RP_MP_HELD = 2,      /* waiting for the issuer's earlier sequence numbers */
    RP_MP_VERIFYING = 3, /* admitted; its signatures are being verified */
    RP_MP_READY = 4,     /* admitted and verified: goes into the next block */
    RP_MP_INCLUDED = 5,  /* on chain */
};

enum rp_mp_event_kind {
    RP_MP_EV_READY = 1,    /* signatures verified */
    RP_MP_EV_DROPPED = 2,  /* removed: bad signature, or no longer valid (code, msg) */
    RP_MP_EV_INCLUDED = 3, /* in the block at height, index */
};

/* Where a record came from: the first submit of its id. */
enum rp_mp_origin {
    RP_MP_FROM_RPC = 1,  /* a client of this node's RPC socket */
    RP_MP_FROM_PEER = 2, /* a peer, named by peer */
};

typedef struct rp_mp_source {
    enum rp_mp_origin origin;
    uint64_t peer; /* RP_MP_FROM_PEER: the peer's id (the p2p layer's); else 0 */
} rp_mp_source;

/* One later outcome of one record, as a subscriber sees it. */
typedef struct rp_mp_event {
    enum rp_mp_event_kind kind;
    rp_hash id;
    rp_mp_source source; /* where the record first came from */
    int code;            /* DROPPED: why, a code of crypto/error.h; else 0 */
    const char *msg;     /* DROPPED: a sentence, borrowed for the call; else NULL */
    uint64_t height;     /* INCLUDED: where the record is on chain; else 0 */
    uint32_t index;
    void *user; /* this subscriber's own pointer (rp_mempool_set_user) */
} rp_mp_event;

/* A subscriber's callback, on the loop thread; ev is borrowed for the call.
 * DROPPED and INCLUDED are a record's last events: a subscriber frees what
 * its user pointer holds then. From inside the callback a subscriber may call
 * rp_mempool_find, _source, _get_user, _set_user, _subscribe, _unsubscribe
 * and _stats_get, and nothing else of the mempool's (nothing that adds,
 * removes or re-checks records). */
typedef void (*rp_mp_event_fn)(void *ctx, const rp_mp_event *ev);

/* A subscription; 0 is never one. */
typedef uint32_t rp_mp_sub;

/* At most this many subscribers at once: the RPC waiters, the peer relay and
 * room for a few more. Each event costs a call per subscriber. */
#define RP_MEMPOOL_MAX_SUBSCRIBERS 8

typedef struct rp_mp_result {
    rp_hash id;
    enum rp_mp_status status;
    uint64_t height; /* INCLUDED */
    uint32_t index;
    uint64_t expected_seq; /* RP_ERR_SEQUENCE_GAP: the next sequence expected */
    char msg[256];         /* on error: why, for the submitter */
} rp_mp_result;

/* Returns: 0, RP_ERR_NOMEM, or an error of rp_pending_new.
 * Out: *out (rp_mempool_free). In: store (borrowed, must outlive the pool);
 * limits (copied). The pool starts with no subscriber. */
int rp_mempool_new(rp_mempool **out, rp_store *store, const rp_mempool_limits *limits);
void rp_mempool_free(rp_mempool *mp);

/* Call fn(ctx, event) for every event from now on (not for one being
 * delivered while it subscribes), until rp_mempool_unsubscribe.
 * Subscribers are called one after another in no set order.
 * Returns: 0; RP_ERR_TOO_MANY if RP_MEMPOOL_MAX_SUBSCRIBERS are subscribed.
 * Out: *sub, the handle for rp_mempool_unsubscribe and the user pointers.
 * In: fn; ctx (borrowed: must outlive the subscription). */
int rp_mempool_subscribe(rp_mempool *mp, rp_mp_event_fn fn, void *ctx, rp_mp_sub *sub);

/* Stop the calls at once, even in the middle of an event's delivery. The
 * pool forgets the user pointers of the subscription; what they point to is
 * the subscriber's to free. Costs a walk over the pool.
 * Returns: 0; RP_ERR_NOT_FOUND if sub is not a current subscription. */
int rp_mempool_unsubscribe(rp_mempool *mp, rp_mp_sub sub);

/* Admit one encoded record (copied) from src at time now_s (unix seconds).
 * The first submit of a record id sets its source for good: the same record
 * from another source is KNOWN and changes nothing.
 * Returns: 0 with res->status KNOWN, HELD, VERIFYING or INCLUDED; or
 *          RP_ERR_TOO_LONG, a decode error, RP_ERR_EVIDENCE_SUBMIT (an
 *          EVIDENCE record), a rule error (res->msg),
 *          RP_ERR_MEMPOOL_FULL, RP_ERR_SEQUENCE_GAP, RP_ERR_NOMEM,
 *          RP_ERR_STORE, RP_ERR_SHUTDOWN, RP_ERR_INVALID_ARG (an unknown
 *          src.origin). A record ahead of its sequence is refused with
 *          RP_ERR_NOT_REGISTERED, RP_ERR_RECOVERY_MISMATCH,
 *          RP_ERR_BAD_SIGNATURE (verified here, see "Held records") or
 *          RP_ERR_BAD_SEQUENCE (its slot holds another valid record).
 *          Held records admitted by this one go VERIFYING, or READY (with
 *          the event, during the call) if their checks did not change.
 *          Holding a record may drop a held one that no longer verifies
 *          (DROPPED event, during the call). */
int rp_mempool_submit(rp_mempool *mp, const unsigned char *rec, size_t len, rp_mp_source src,
                      uint64_t now_s, rp_mp_result *res);

/* Where a record is, and its bytes if they may be served as its issuer's.
 * Returns: 0; RP_ERR_NOT_FOUND.
 * Out: *status; if not NULL, *bytes and *len: the record, borrowed until the
 *      next mempool call, only if its signatures verified: READY records,
 *      and HELD ones whose checks are still the ones they passed (none of
 *      their signers' keys changed since); NULL and 0 for the others (a
 *      VERIFYING record, a held one whose issuer rotated since). Verifies
 *      nothing: a few reads of the pending state at most. */
int rp_mempool_find(rp_mempool *mp, const rp_hash *id, enum rp_mp_status *status,
                    const unsigned char **bytes, size_t *len);

/* Where a pending or held record first came from.
 * Returns: 0; RP_ERR_NOT_FOUND. Out: src. */
int rp_mempool_source(rp_mempool *mp, const rp_hash *id, rp_mp_source *src);

/* Attach a subscriber's own pointer to a pending or held record (e.g. the
 * RPC calls waiting for it): it comes back in that subscriber's events of
 * the record, and only in its own. NULL detaches. The pool never frees it.
 * Returns: 0; RP_ERR_NOT_FOUND (no such record, or sub is not a current
 *          subscription); RP_ERR_NOMEM (the first pointer on a record takes
 *          a small allocation). */
int rp_mempool_set_user(rp_mempool *mp, rp_mp_sub sub, const rp_hash *id, void *user);
void *rp_mempool_get_user(rp_mempool *mp, rp_mp_sub sub, const rp_hash *id);

/* Drop the pending state's read transaction before the caller writes to
 * the store on this thread; rp_mempool_rebuild opens a new one. */
void rp_mempool_release(rp_mempool *mp);

/* The next sequence number an issuer's record must carry, counting pending
 * records (not held ones), and how many of its records are pending or held.
 * Returns: 0; RP_ERR_NOT_FOUND if the identity is neither on chain nor
 *          registered by a pending record; store errors.
 * Out: st: the identity as pending state sees it (may be NULL). */
int rp_mempool_identity(rp_mempool *mp, const rp_pubkey *name, uint64_t *next_seq,
                        uint32_t *npending, rp_identity_state *st);

/* A batch of signatures to verify: items[i] checks sig i, the worker sets
 * ok[i]. Plain memory: safe to verify on another thread while the loop goes
 * on. Owned by the mempool until rp_mempool_batch_done. */
typedef struct rp_mp_batch {
    size_t n;
    rp_sig_check *items;
    unsigned char *ok;
    rp_sig_item *sigs;
    rp_hash *ids; /* the record each signature belongs to */
} rp_mp_batch;

/* Take up to max_sigs signatures waiting to be verified.
 * Returns: a batch, or NULL if none wait (or out of memory). */
rp_mp_batch *rp_mempool_take_batch(rp_mempool *mp, size_t max_sigs);

/* Apply a verified batch: records whose signatures all held become READY
 * (event), a record with a bad one is dropped (event, RP_ERR_BAD_SIGNATURE)
 * and the pending state is rebuilt without it at now_s, which drops its
 * dependents. Frees the batch. */
void rp_mempool_batch_done(rp_mempool *mp, rp_mp_batch *b, uint64_t now_s);

/* The next block's records: the longest prefix of READY records within the
 * limits. Returns: how many; items[i] borrow the records until the next
 * mempool call (or until rp_mempool_committed or _rebuild, across a freeze);
 * ids[i], if ids is not NULL, is record i's id (for rp_mempool_committed). */
size_t rp_mempool_block(rp_mempool *mp, rp_block_item *items, rp_hash *ids, size_t max_records,
                        size_t max_bytes);

/* After a block at height was applied (or a block with records the caller
 * took failed): forget the included records (INCLUDED events, by asking the
 * store where each one is), drop record drop_id if not NULL (DROPPED event
 * with code and msg), then re-check every remaining record against the new
 * tip at now_s, dropping the ones that no longer pass. Ends a freeze.
 * Returns: 0, or a store error (the pool is then empty). */
int rp_mempool_rebuild(rp_mempool *mp, uint64_t now_s, const rp_hash *drop_id, int code,
                       const char *msg);

/* A block was committed and is the store's tip, whoever made it: ids[0..n)
 * are the ids of all its records, in block order. They may be any of the
 * pool's records (pending or held), in any order, and records the pool never
 * saw. The pool's records among them leave with INCLUDED events (height and
 * index as the store has them), and the pool moves to the new tip at now_s:
 *   - when the block is exactly the pool's n oldest pending records in
 *     admission order (so always for a block of rp_mempool_block's prefix),
 *     without checking the other records again (rp_pending_advance), which
 *     keeps a busy node's cost per block proportional to the block, not to
 *     the backlog;
 *   - otherwise, or whenever that premise cannot be confirmed (a record
 *     missing from the chain, a record dropped during a freeze, too much
 *     memory held by included records' changes), as rp_mempool_rebuild:
 *     every record is checked again, and those the block made invalid (a
 *     record of the same issuer with the same sequence number was included,
 *     an engagement they need is gone...) leave with DROPPED events, their
 *     dependents with them.
 * Held records whose sequence number the block took leave too (INCLUDED if
 * the block holds them, else DROPPED with RP_ERR_BAD_SEQUENCE). Ends a
 * freeze. Returns: 0, or an error of the rebuild (the pool is then empty). */
int rp_mempool_committed(rp_mempool *mp, const rp_hash *ids, size_t n, uint64_t now_s);

/* The verified signatures of the first n records rp_mempool_block returned
 * (copies, at most cap; each record has at most RP_RECORD_MAX_SIGS), so the
 * block's verify callback, on another thread, need not verify them again nor
 * touch the pool. Returns: how many were written. */
size_t rp_mempool_block_sigs(rp_mempool *mp, size_t n, rp_sig_item *out, size_t cap);

/* Drop held records older than RP_MEMPOOL_HELD_TTL_S (DROPPED events,
 * RP_ERR_SEQUENCE_GAP). rp_mempool_rebuild does it too; call it from time to
 * time on a node that makes no blocks. */
void rp_mempool_expire(rp_mempool *mp, uint64_t now_s);

/* A block of the records rp_mempool_block returned is being made on another
 * thread: until rp_mempool_committed or rp_mempool_rebuild, those records
 * stay exactly where they are (their bytes, borrowed by the block, stay
 * valid). A bad signature found meanwhile drops its record at once, but the
 * re-check of the others waits for the end of the freeze. */
void rp_mempool_freeze(rp_mempool *mp);
/* End a freeze whose block went elsewhere (a consensus proposal, which
 * holds copies of its records): the records stay as they are, and a
 * re-check that waited for the freeze runs now. */
void rp_mempool_thaw(rp_mempool *mp, uint64_t now_s);

typedef struct rp_mempool_stats {
    uint32_t count, held, ready, verifying;
    uint64_t bytes;
    uint64_t admitted, rejected, dropped;
} rp_mempool_stats;

void rp_mempool_stats_get(const rp_mempool *mp, rp_mempool_stats *st);

/* Refuse new records from now on (RP_ERR_SHUTDOWN): the node is stopping. */
void rp_mempool_close(rp_mempool *mp);

/* For tests only: the next n times the pool needs room in its queue of
 * signatures to verify, it fails as an allocation would (RP_ERR_NOMEM). */
void rp_mempool_test_fail_queue(rp_mempool *mp, unsigned n);

#endif /* RP_MEMPOOL_H */
