/* Internal to the mempool: its state and the functions its three files
 * share. mempool.c keeps the pool itself (entries, maps, subscribers,
 * admission, lookups), mempool_held.c the records that wait for an earlier
 * sequence number, mempool_blocks.c signature batches and what happens when
 * a block is made or committed. The contract is node/mempool.h; these are
 * its workings. Loop thread only, like the pool.
 */
#ifndef RP_MEMPOOL_IMPL_H
#define RP_MEMPOOL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/record.h"
#include "node/mempool.h"

/* Keys of the maps: a record id (32 bytes), or issuer | sequence (40). */
#define KEY_MAX 40

struct entry;

/* An open-addressing map from keys to entries (mempool.c). */
struct slot {
    struct entry *e; /* NULL: empty; TOMB: deleted */
    unsigned char key[KEY_MAX];
};

struct map {
    struct slot *s;
    size_t cap, used, live; /* used counts tombstones too */
    size_t klen;
};

/* A pending or held record. */
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

/* mempool.c: the maps and lists; the slot key of (issuer, sequence); events
 * to subscribers; a record leaving (dropped with an event, or included);
 * the queue of ids waiting for a signature batch; admission helpers. */
struct entry *mp_map_get(struct map *m, const unsigned char *key);
int mp_map_put(struct map *m, const unsigned char *key, struct entry *e);
void mp_map_del(struct map *m, const unsigned char *key);
void mp_list_push(struct list *l, struct entry *e);
void mp_slot_key(unsigned char out[KEY_MAX], const rp_pubkey *issuer, uint64_t seq);
void mp_emit(rp_mempool *mp, struct entry *e, rp_mp_event *ev);
void mp_drop(rp_mempool *mp, struct entry *e, int code, const char *msg);
void mp_included(rp_mempool *mp, struct entry *e, uint64_t height, uint32_t index);
int mp_queue_push(rp_mempool *mp, const rp_hash *id);
int mp_sigs_equal(const struct entry *e, const rp_sig_item *sigs, size_t n);
int mp_covers(const rp_sig_item *have, size_t nhave, const rp_sig_item *need, size_t nneed);
uint64_t mp_next_seq(rp_mempool *mp, const rp_pubkey *issuer);
void mp_promote(rp_mempool *mp, const rp_pubkey *issuer, uint64_t now_s);
/* mempool_held.c: the held records' quota, whether one may be served, holding
 * a record (its signatures checked first), and a block that took an issuer's
 * sequence a held record was waiting for. */
uint32_t mp_held_cap(const rp_mempool *mp);
int mp_held_servable(rp_mempool *mp, const struct entry *e);
int mp_hold(rp_mempool *mp, struct entry *e, const rp_record *r, uint64_t expected, uint64_t now_s,
            rp_mp_result *res);
int mp_seq_taken(rp_mempool *mp, const struct entry *e);
void mp_held_taken(rp_mempool *mp, struct entry *e);

#endif /* RP_MEMPOOL_IMPL_H */
