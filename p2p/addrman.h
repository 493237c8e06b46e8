/* The address book: the peers this node has heard of and the ones it has
 * reached, kept as Bitcoin Core's addrman keeps them, so that no one network
 * can fill it and an attacker cannot choose whom the node dials.
 *
 * Caveats first:
 *   - Pure. No sockets, no clock, no files: every call that needs the time
 *     takes `now` in unix seconds, randomness comes from a 32-byte seed the
 *     caller gives when the book is made or loaded (production: fresh random
 *     bytes; tests: a fixed seed, so a run can be repeated), and the book is
 *     saved to and loaded from a byte buffer (the node writes it to
 *     DATADIR/peers.dat atomically).
 *   - The bucketing key is a secret: whoever knows it can craft addresses
 *     that land in chosen buckets. It is kept in the saved book, so peers.dat
 *     must be as private as the node's other files.
 *   - Not thread-safe: one book belongs to one thread (the node's loop).
 *   - Needs rp_crypto_init() (libsodium) before the first call.
 *
 * Geometry (Bitcoin Core's numbers):
 *   - "new" table: RP_ADDRMAN_NEW_BUCKETS buckets of RP_ADDRMAN_BUCKET_SIZE
 *     slots (65,536 addresses) for addresses heard of but never reached. The
 *     bucket of an address is chosen by a keyed hash of its network group and
 *     of the group of the source that told us, so that one source group
 *     reaches at most RP_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP buckets (1/16
 *     of the table) and all the addresses of one group told by one source
 *     group share a single bucket.
 *   - "tried" table: RP_ADDRMAN_TRIED_BUCKETS buckets of
 *     RP_ADDRMAN_BUCKET_SIZE slots (16,384 addresses) for addresses we have
 *     connected to; one network group reaches at most
 *     RP_ADDRMAN_TRIED_BUCKETS_PER_GROUP buckets (1/32 of the table).
 *   - The slot inside a bucket is a keyed hash of the bucket and the address,
 *     so an address has exactly one place in each table, and every address
 *     is in one table only, once. (Bitcoin Core lets a new address be in up to
 *     8 new buckets, one per source group that told it; here it stays where
 *     its first source put it, which keeps the book and its file simple to
 *     check.)
 *
 * Network groups (rp_netaddr_group): an IPv4 /16; an IPv6 /32 (Hurricane
 * Electric's 2001:470::/32 by /36); IPv6 that embeds IPv4 (6to4, Teredo,
 * NAT64) by the embedded address's /16; all loopback addresses one group;
 * all private and otherwise unroutable addresses (RFC 1918, 2544, 3927,
 * 5737, 6598, 4193, 4843, 7343, link-local) another. Loopback and private
 * addresses are accepted (devnets run on them) but, being one group each,
 * they hold as little of the book as any single /16.
 *
 * Rules:
 *   - Adding: an address is placed in its one new slot. A slot held by
 *     another address is taken only if that address is terrible (below);
 *     otherwise the newcomer is dropped, never the incumbent, because the
 *     timestamps that would make it look "newer" are the senders' to choose.
 *     An address already in the book only has its last-seen time moved
 *     forward (at most once an hour, once a day for addresses not seen in
 *     the last 24 h, as Bitcoin Core does).
 *   - Terrible (not offered to the dialer or to peers, and replaceable):
 *     unless tried in the last minute, an address is terrible if its
 *     last-seen time is more than 10 minutes in the future or more than
 *     RP_ADDRMAN_HORIZON old, if it failed RP_ADDRMAN_RETRIES attempts and
 *     never succeeded, or if it failed RP_ADDRMAN_MAX_FAILURES attempts and
 *     has had no success for RP_ADDRMAN_MIN_FAIL.
 *   - Good (a connection completed the handshake): the address moves from new
 *     to its tried slot. If another address holds that slot, we test before
 *     we evict, as Bitcoin Core does: the newcomer is queued (at most
 *     RP_ADDRMAN_MAX_COLLISIONS; the queue is not saved),
 *     rp_addrman_collision names the incumbent for the node to dial as a
 *     feeler, and rp_addrman_resolve_collisions keeps an incumbent that
 *     connected in the last RP_ADDRMAN_REPLACEMENT, and replaces one whose
 *     attempt in that window failed (after at least a minute) or which
 *     could not be tested within RP_ADDRMAN_TEST_WINDOW. An evicted tried
 *     address goes back to its new slot.
 *   - Selecting whom to dial: half the time from tried, half from new (when
 *     both have entries): a random non-empty bucket, the first occupied slot
 *     from a random position, taken with probability chance x factor, where
 *     chance is 0.66^min(attempts, 8), times 0.01 if tried in the last 10
 *     minutes, and the factor grows by 1.2 at each miss. Terrible and
 *     discouraged addresses, and those the caller's predicate skips (those
 *     it is connected to), are never returned.
 *   - GETADDR: at most RP_ADDRMAN_GETADDR_MAX addresses and at most
 *     RP_ADDRMAN_GETADDR_PCT percent of the book (rounded down), a uniform
 *     random sample of its entries minus the terrible and discouraged ones.
 *   - Discouragement: an IP (any port) or a node ID refused until a time
 *     (RP_ADDRMAN_DISCOURAGE_SECS after misbehaviour), at most
 *     RP_ADDRMAN_MAX_DISCOURAGED of them; when the list is full the expired
 *     go first, then the one that would expire soonest. Peers the caller marks
 *     exempt (persistent and validator peers) are never recorded.
 *
 * File (rp_addrman_save / rp_addrman_load), version 1, integers big-endian;
 * docs/p2p.md, "The address book", has it byte by byte:
 *
 *   book  = magic 8 ("RPPEERDB") | version u8 (1) | key 32 |
 *           new_count u32 (<= 65536) | tried_count u32 (<= 16384) |
 *           new_count x entry (new table, by bucket then slot, ascending) |
 *           tried_count x entry (tried table, likewise) |
 *           disc_count u16 (<= RP_ADDRMAN_MAX_DISCOURAGED) |
 *           disc_count x disc (by kind then value, ascending)
 *   entry = bucket u16 | slot u8 | ip 16 | port u16 | source 16 |
 *           flags u8 (bit 0: a node id follows; other bits zero) |
 *           [node_id 32] | last_seen u64 | last_try u64 | last_success u64 |
 *           attempts u32
 *   disc  = kind u8 (1: ip 16 follows; 2: node_id 32 follows) | value |
 *           until u64 (nonzero)
 *
 * The loader refuses anything a book could not hold: an all-zero key, a
 * count or bucket or slot out of range, an entry not at the bucket and slot
 * the key gives it, entries out of order or in the same slot, one address in
 * two places, an invalid address or source, a tried entry that never
 * succeeded, unknown flags or kinds, discouragements out of order, trailing
 * bytes. Whatever loads saves back to exactly the same bytes.
 *
 * Pointer arguments are never NULL unless a contract says so. Times are unix
 * seconds; none is ever read from a clock here.
 */
#ifndef RP_P2P_ADDRMAN_H
#define RP_P2P_ADDRMAN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

#define RP_ADDRMAN_NEW_BUCKETS                  1024
#define RP_ADDRMAN_TRIED_BUCKETS                256
#define RP_ADDRMAN_BUCKET_SIZE                  64
#define RP_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP 64
#define RP_ADDRMAN_TRIED_BUCKETS_PER_GROUP      8
#define RP_ADDRMAN_MAX_NEW                      (RP_ADDRMAN_NEW_BUCKETS * RP_ADDRMAN_BUCKET_SIZE)
#define RP_ADDRMAN_MAX_TRIED                    (RP_ADDRMAN_TRIED_BUCKETS * RP_ADDRMAN_BUCKET_SIZE)

#define RP_ADDRMAN_HORIZON        (30u * 86400u) /* not seen for this long: terrible */
#define RP_ADDRMAN_RETRIES        3u             /* failures without any success */
#define RP_ADDRMAN_MAX_FAILURES   10u            /* failures ... */
#define RP_ADDRMAN_MIN_FAIL       (7u * 86400u)  /* ... with no success for this long */
#define RP_ADDRMAN_REPLACEMENT    (4u * 3600u)   /* a tried address this fresh is kept */
#define RP_ADDRMAN_TEST_WINDOW    (40u * 60u)    /* a collision untested this long evicts */
#define RP_ADDRMAN_MAX_COLLISIONS 10

#define RP_ADDRMAN_GETADDR_MAX 1000
#define RP_ADDRMAN_GETADDR_PCT 23

#define RP_ADDRMAN_MAX_DISCOURAGED 1024
#define RP_ADDRMAN_DISCOURAGE_SECS (24u * 3600u) /* the node's period for misbehaviour */

#define RP_ADDRMAN_FILE_VERSION 1
#define RP_ADDRMAN_FILE_HEADER  (8 + 1 + 32 + 4 + 4)
#define RP_ADDRMAN_ENTRY_MIN    (2 + 1 + 16 + 2 + 16 + 1 + 3 * 8 + 4) /* without node id */
#define RP_ADDRMAN_ENTRY_MAX    (RP_ADDRMAN_ENTRY_MIN + 32)
#define RP_ADDRMAN_DISC_MAX     (1 + 32 + 8)
/* The largest file: a full book, every entry with its node id, a full list
 * of discouragements (about 8.1 MB). */
#define RP_ADDRMAN_MAX_FILE_SIZE                                                                   \
    (RP_ADDRMAN_FILE_HEADER + (RP_ADDRMAN_MAX_NEW + RP_ADDRMAN_MAX_TRIED) * RP_ADDRMAN_ENTRY_MAX + \
     2 + RP_ADDRMAN_MAX_DISCOURAGED * RP_ADDRMAN_DISC_MAX)

/* A peer's address: IPv6, with IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so each address has one form. */
typedef struct rp_netaddr {
    unsigned char ip[16];
    uint16_t port; /* host order */
} rp_netaddr;

/* A network group: a class byte (1 loopback, 2 private/unroutable, 3 IPv4
 * /16, 4 IPv6 prefix) and up to 5 bytes of prefix, zero-padded. */
#define RP_NETGROUP_SIZE 6

/* Make an IPv4 address.
 * Out: a: ::ffff:ip[0].ip[1].ip[2].ip[3], port.
 * In:  ip: 4 bytes in network order; port.
 */
void rp_netaddr_ipv4(rp_netaddr *a, const unsigned char ip[static 4], uint16_t port);

/* Is this an IPv4 address (IPv4-mapped form)? Returns: 1 or 0. */
int rp_netaddr_is_ipv4(const unsigned char ip[static 16]);

/* Could this IP be a peer's, or a source's? Not the unspecified address, not
 * 0.0.0.0/8, not multicast, not 240.0.0.0/4 or the broadcast address, not
 * the IPv6 documentation prefix 2001:db8::/32.
 * Returns: 1 if usable, 0 if not. */
int rp_netaddr_ip_valid(const unsigned char ip[static 16]);

/* Could we dial it? A usable IP and a nonzero port. Returns: 1 or 0. */
int rp_netaddr_valid(const rp_netaddr *a);

/* The network group of an IP (see the top of this file). Two peers in one
 * group are, for the book's purposes, one network.
 * Out: group: RP_NETGROUP_SIZE bytes.
 * In:  ip: 16 bytes (any; an invalid IP still has a group).
 */
void rp_netaddr_group(unsigned char group[static RP_NETGROUP_SIZE],
                      const unsigned char ip[static 16]);

/* The address book. Opaque. */
typedef struct rp_addrman rp_addrman;

/* What the book knows of one address (a copy; the book keeps its own). */
typedef struct rp_addrman_entry {
    rp_netaddr addr;
    unsigned char source[16]; /* IP of whoever told us first */
    int has_id;               /* 1: id is the peer's node key */
    rp_pubkey id;
    uint64_t last_seen;    /* as gossiped, or when we were last connected */
    uint64_t last_try;     /* our last attempt to connect, 0 if none */
    uint64_t last_success; /* our last completed handshake, 0 if none */
    uint32_t attempts;     /* failures counted since the last success */
    int tried;             /* 1: tried table; 0: new table */
    unsigned bucket, slot; /* its place in that table */
} rp_addrman_entry;

/* Make an empty book.
 * Returns: 0; RP_ERR_INVALID_ARG for an all-zero key; RP_ERR_NOMEM.
 * Out:     out: the book (about 400 KB; free it with rp_addrman_free), NULL on
 *          failure.
 * In:      key: the secret bucketing key, 32 bytes, normally random (it is
 *               copied and kept, and saved with the book);
 *          seed: 32 bytes that seed the book's random choices (copied).
 */
int rp_addrman_new(rp_addrman **out, const unsigned char key[static 32],
                   const unsigned char seed[static 32]) __attribute__((warn_unused_result));

/* Free a book and wipe its key. am may be NULL. */
void rp_addrman_free(rp_addrman *am);

/* How many addresses in each table. Either pointer may be NULL.
 * Returns: the total. */
size_t rp_addrman_size(const rp_addrman *am, size_t *n_new, size_t *n_tried);

/* Look an address up (exact IP and port).
 * Returns: 1 if it is in the book (and fills out, if out is not NULL); 0 if
 *          not (out untouched).
 */
int rp_addrman_find(const rp_addrman *am, const rp_netaddr *addr, rp_addrman_entry *out);

/* Add an address we heard of (gossip, seeds, config).
 * Returns: 1 if it is a new entry of the book; 0 if not: already known (its
 *          last-seen time may have moved forward, and an id is recorded if
 *          none was), an invalid address or source, or its new slot held by
 *          an address that is not terrible; RP_ERR_NOMEM.
 * In:      addr; id: its node key if the sender named one, else NULL (only
 *          recorded when none is known: a handshake's is authoritative);
 *          last_seen: the time to record (the node takes 2 h off relayed
 *          addresses' own claims, as Bitcoin Core does, but not off a peer's
 *          announcement of itself); source: the IP of the sender (the
 *          address itself for seeds and config); now.
 */
int rp_addrman_add(rp_addrman *am, const rp_netaddr *addr, const rp_pubkey *id, uint64_t last_seen,
                   const unsigned char source[static 16], uint64_t now);

/* Record a connection attempt to an address (before or as it is made).
 * Returns: 1 if the address is in the book, 0 if not (nothing changes).
 * In:      addr; count_failure: 1 to count it as a failure (the node passes
 *          0 when it is itself offline, so that an outage does not make the
 *          whole book terrible); now.
 */
int rp_addrman_attempt(rp_addrman *am, const rp_netaddr *addr, int count_failure, uint64_t now);

/* A connection to the address completed the handshake: record the success
 * (last try and last success now, failures reset) and move it to the tried
 * table (see "Good" above).
 * Returns: 1 if the address is now in the tried table; 0 if it is not in
 *          the book, or its move waits on a collision; RP_ERR_INVALID_ARG if
 *          now is 0.
 * In:      addr; id: the node key the handshake proved, or NULL; now.
 */
int rp_addrman_good(rp_addrman *am, const rp_netaddr *addr, const rp_pubkey *id, uint64_t now);

/* We are (or were until now) connected to the address: keep its last-seen
 * time fresh, moving it forward at most every 20 minutes. Called when a
 * connection ends; the time is not changed on connect, so what we gossip
 * does not tell who we are connected to right now.
 * Returns: 1 if the address is in the book, 0 if not. */
int rp_addrman_connected(rp_addrman *am, const rp_netaddr *addr, uint64_t now);

/* The caller's say in selection: return nonzero to skip the entry (one we
 * are connected to, or whose group we already have an outbound peer in).
 * Must not call into the book. */
typedef int (*rp_addrman_skip_fn)(void *ctx, const rp_addrman_entry *e);

/* Choose an address to dial (see "Selecting" above).
 * Returns: 1 and fills out; 0 if no entry qualifies (the book is empty, or
 *          every entry is terrible, discouraged or skipped).
 * Out:     out.
 * In:      new_only: 1 to choose from the new table only (feelers); skip,
 *          ctx: the predicate, or NULL for none; now.
 * Bounded: after 1000 draws without a hit it falls back to one pass over
 * the book from a random start.
 */
int rp_addrman_select(rp_addrman *am, int new_only, rp_addrman_skip_fn skip, void *ctx,
                      uint64_t now, rp_addrman_entry *out);

/* The answer to a peer's GETADDR (see above).
 * Returns: 0.
 * Out:     out[0..*n): distinct entries, in random order.
 * In:      cap: room in out (the answer is at most min(cap,
 *          RP_ADDRMAN_GETADDR_MAX, RP_ADDRMAN_GETADDR_PCT% of the book)); now.
 */
int rp_addrman_getaddr(rp_addrman *am, rp_addrman_entry *out, size_t cap, size_t *n, uint64_t now);

/* An address whose move to tried waits on a collision: the tried entry it
 * would evict, for the node to test with a feeler connection (then call
 * rp_addrman_attempt / rp_addrman_good on it and
 * rp_addrman_resolve_collisions).
 * Returns: 1 and fills out with the incumbent; 0 if no collision waits. */
int rp_addrman_collision(rp_addrman *am, rp_addrman_entry *out);

/* Settle the waiting collisions that can be settled now (see "Good").
 * Returns: 0. */
int rp_addrman_resolve_collisions(rp_addrman *am, uint64_t now);

/* Kinds of discouragement. */
#define RP_ADDRMAN_DISC_IP 1
#define RP_ADDRMAN_DISC_ID 2

typedef struct rp_addrman_disc {
    int kind;                /* RP_ADDRMAN_DISC_IP or RP_ADDRMAN_DISC_ID */
    unsigned char value[32]; /* IP: 16 bytes then zeros; ID: the node key */
    uint64_t until;          /* discouraged while now < until */
} rp_addrman_disc;

/* Discourage a peer's IP (any port), its node ID, or both, until a time;
 * an earlier discouragement of the same key lasts until the later of the
 * two.
 * Returns: 1 if recorded; 0 if exempt is set, until <= now, or the list is
 *          full of discouragements that all last longer (nothing is
 *          recorded); RP_ERR_INVALID_ARG if addr and id are both NULL or
 *          addr's IP is not valid (rp_netaddr_ip_valid).
 * In:      addr: the peer's address, or NULL; id: its node key, or NULL;
 *          until: normally now + RP_ADDRMAN_DISCOURAGE_SECS;
 *          exempt: 1 for persistent and validator peers (the caller knows
 *          which), which are never discouraged; now.
 */
int rp_addrman_discourage(rp_addrman *am, const rp_netaddr *addr, const rp_pubkey *id,
                          uint64_t until, int exempt, uint64_t now);

/* Is this IP or node ID discouraged now? Checked by select, and by the node
 * when it accepts an inbound connection (by IP before the handshake, by ID
 * after it).
 * Returns: 1 if either is discouraged; 0 if not (or both NULL).
 * In:      ip: 16 bytes, or NULL; id, or NULL; now.
 */
int rp_addrman_is_discouraged(const rp_addrman *am, const unsigned char *ip, const rp_pubkey *id,
                              uint64_t now);

/* Lift a discouragement (peers.unban).
 * Returns: 1 if one was removed, 0 if there was none.
 * In:      kind, value (as in rp_addrman_disc; for an IP, 16 bytes). */
int rp_addrman_undiscourage(rp_addrman *am, int kind, const unsigned char *value);

/* The discouragements, expired ones included until they are dropped.
 * Returns: how many there are; fills out[0..min(that, cap)), in file order. */
size_t rp_addrman_discouragements(const rp_addrman *am, rp_addrman_disc *out, size_t cap);

/* Save the whole book (key, both tables, discouragements; not the waiting
 * collisions) in the file format above.
 * Returns: 0; RP_ERR_BUFFER if cap is too small. *len is 0 on failure.
 * Out:     out[0..*len). out may be NULL with cap 0: *len is then the size
 *          needed (RP_ADDRMAN_MAX_FILE_SIZE is always enough).
 */
int rp_addrman_save(const rp_addrman *am, unsigned char *out, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Load a book from exactly len bytes of untrusted input.
 * Returns: 0; RP_ERR_BAD_TYPE (not an address book: wrong magic);
 *          RP_ERR_BAD_VERSION; RP_ERR_TRUNCATED; RP_ERR_TRAILING;
 *          RP_ERR_TOO_LONG (a count above its maximum); RP_ERR_RANGE (a
 *          zero key, a bucket or slot out of range, an invalid address or
 *          source, unknown flags or kind, a tried entry that never
 *          succeeded, a zero until); RP_ERR_NONCANONICAL (an entry not where
 *          the key places it, out of order, in an occupied slot or already in
 *          the book, discouragements out of order); RP_ERR_NOMEM.
 * Out:     out: the book, NULL on failure; field: if not NULL, the name of
 *          the offending field ("tried.bucket", "new.duplicate", ...) on
 *          failure, NULL on success.
 * In:      in, len; seed: seeds the loaded book's random choices, as in
 *          rp_addrman_new.
 */
int rp_addrman_load(rp_addrman **out, const unsigned char *in, size_t len,
                    const unsigned char seed[static 32], const char **field)
    __attribute__((warn_unused_result));

/* Check every internal invariant (each entry where its table says, the
 * index, the counts, the discouragement order). O(size); for tests and
 * fuzzing.
 * Returns: 0 if consistent, RP_ERR_NONCANONICAL if not. */
int rp_addrman_check(const rp_addrman *am);

#endif /* RP_P2P_ADDRMAN_H */
