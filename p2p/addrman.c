/* The address book (addrman.h has the rules and the file format; Bitcoin
 * Core's src/addrman.cpp is the model).
 *
 * How it is laid out in memory:
 *   - every entry lives in one dense array, e[0..n). The array is also the
 *     pool that GETADDR samples (a partial Fisher-Yates shuffle in place) and
 *     that select's fallback walks. Deleting moves the last entry into the
 *     hole, so an index is valid only until the next deletion; nothing keeps
 *     one across calls (the collision queue keeps addresses);
 *   - each table is a flat array of cells, bucket-major, holding an entry's
 *     index + 1 or 0 (so that a zeroed table is empty), with a count per
 *     bucket and a list of the non-empty buckets, so that select draws
 *     among non-empty buckets directly (which gives each entry the
 *     probability Bitcoin Core's "random bucket, retry if empty" gives it,
 *     without the retries on a sparse table);
 *   - an open-addressing index (linear probing, backward-shift deletion)
 *     from address to entry, hashed with SipHash under a key derived from
 *     the book's key, so that peers cannot aim collisions at it.
 * Each entry records its table, bucket and slot, which is what lets a move
 * in the dense array fix the one cell that points at it.
 *
 * Bucket and slot are keyed BLAKE2b hashes (the book's secret key) of the
 * inputs Bitcoin Core hashes, each with its own leading byte so that no two
 * purposes share an input. Because an address's place follows from the key,
 * its address and its recorded source alone, the loader recomputes it and
 * refuses an entry found anywhere else.
 *
 * Randomness is ChaCha20's keystream under the caller's seed, read in
 * 256-byte blocks. The key, the index's key and the generator are wiped when
 * the book is freed.
 */
#include "p2p/addrman.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"

#define NB_NEW   RP_ADDRMAN_NEW_BUCKETS
#define NB_TRIED RP_ADDRMAN_TRIED_BUCKETS
#define BSIZE    RP_ADDRMAN_BUCKET_SIZE

/* select's draws before its fallback pass. */
#define SELECT_ROUNDS 1000

static const unsigned char MAGIC[8] = {'R', 'P', 'P', 'E', 'E', 'R', 'D', 'B'};

typedef struct entry {
    rp_netaddr addr;
    unsigned char src[16];
    rp_pubkey id;
    uint64_t seen, last_try, last_success;
    uint32_t attempts;
    uint8_t has_id;
    uint8_t tried; /* which table */
    uint8_t slot;
    uint16_t bucket;
} entry;

typedef struct table {
    unsigned nbuckets;
    size_t count;
    uint32_t *cells; /* nbuckets * BSIZE: an entry's index + 1, or 0 when empty */
    uint8_t fill[NB_NEW];
    uint16_t nonempty[NB_NEW]; /* the buckets with fill > 0, in any order */
    uint16_t where[NB_NEW];    /* a bucket's index in nonempty */
    unsigned n_nonempty;
} table;

typedef struct disc {
    uint8_t kind;
    unsigned char value[32];
    uint64_t until;
} disc;

typedef struct rng {
    unsigned char key[crypto_stream_chacha20_KEYBYTES];
    uint64_t counter;
    unsigned char buf[256];
    size_t pos;
} rng;

struct rp_addrman {
    unsigned char key[32];
    unsigned char map_key[crypto_shorthash_KEYBYTES];
    rng rng;

    entry *e;
    size_t n, cap;

    int32_t *map; /* entry indices or -1; map_cap is a power of two */
    size_t map_cap;

    table tab[2]; /* [0] new, [1] tried */

    rp_netaddr coll[RP_ADDRMAN_MAX_COLLISIONS];
    size_t n_coll;

    disc d[RP_ADDRMAN_MAX_DISCOURAGED]; /* sorted by (kind, value) */
    size_t n_disc;
};

/* ---- addresses and groups ---- */

static const unsigned char V4_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void rp_netaddr_ipv4(rp_netaddr *a, const unsigned char ip[static 4], uint16_t port)
{
    memcpy(a->ip, V4_PREFIX, 12);
    memcpy(a->ip + 12, ip, 4);
    a->port = port;
}

int rp_netaddr_is_ipv4(const unsigned char ip[static 16])
{
    return memcmp(ip, V4_PREFIX, 12) == 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int rp_netaddr_ip_valid(const unsigned char ip[static 16])
{
    if (rp_netaddr_is_ipv4(ip)) {
        /* 0.0.0.0/8 is "this network"; 224/4 multicast; 240/4 reserved,
         * the broadcast address among them. */
        return ip[12] != 0 && ip[12] < 224;
    }
    if (all_zero(ip, 16))
        return 0;
    if (ip[0] == 0xff) /* multicast */
        return 0;
    if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8) /* RFC 3849 */
        return 0;
    return 1;
}

int rp_netaddr_valid(const rp_netaddr *a)
{
    return a->port != 0 && rp_netaddr_ip_valid(a->ip);
}

enum { GROUP_LOCAL = 1, GROUP_PRIVATE = 2, GROUP_IPV4 = 3, GROUP_IPV6 = 4 };

/* Is this IPv4 address (4 bytes) private or otherwise unroutable? */
static int v4_private(const unsigned char *v)
{
    return v[0] == 10                                    /* RFC 1918 */
           || (v[0] == 172 && (v[1] & 0xf0) == 16)       /* RFC 1918 */
           || (v[0] == 192 && v[1] == 168)               /* RFC 1918 */
           || (v[0] == 198 && (v[1] & 0xfe) == 18)       /* RFC 2544 */
           || (v[0] == 169 && v[1] == 254)               /* RFC 3927 */
           || (v[0] == 100 && (v[1] & 0xc0) == 64)       /* RFC 6598 */
           || (v[0] == 192 && v[1] == 0 && v[2] == 2)    /* RFC 5737 */
           || (v[0] == 198 && v[1] == 51 && v[2] == 100) /* RFC 5737 */
           || (v[0] == 203 && v[1] == 0 && v[2] == 113); /* RFC 5737 */
}

static void v4_group(unsigned char g[RP_NETGROUP_SIZE], const unsigned char *v)
{
    if (v[0] == 127) {
        g[0] = GROUP_LOCAL;
    } else if (v4_private(v)) {
        g[0] = GROUP_PRIVATE;
    } else {
        g[0] = GROUP_IPV4;
        g[1] = v[0];
        g[2] = v[1];
    }
}

static int has_prefix(const unsigned char *ip, const unsigned char *prefix, size_t n)
{
    return memcmp(ip, prefix, n) == 0;
}

void rp_netaddr_group(unsigned char group[static RP_NETGROUP_SIZE],
                      const unsigned char ip[static 16])
{
    static const unsigned char LOOPBACK6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char NAT64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char TEREDO[4] = {0x20, 0x01, 0, 0};
    static const unsigned char HENET[4] = {0x20, 0x01, 0x04, 0x70};
    memset(group, 0, RP_NETGROUP_SIZE);
    if (rp_netaddr_is_ipv4(ip)) {
        v4_group(group, ip + 12);
        return;
    }
    if (memcmp(ip, LOOPBACK6, 16) == 0) {
        group[0] = GROUP_LOCAL;
        return;
    }
    if ((ip[0] & 0xfe) == 0xfc                       /* RFC 4193 */
        || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) /* link-local */
        || (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x00 &&
            ((ip[3] & 0xf0) == 0x10 || (ip[3] & 0xf0) == 0x20))) { /* RFC 4843, 7343 */
        group[0] = GROUP_PRIVATE;
        return;
    }
    /* IPv6 that carries an IPv4 address is grouped by that address, so a
     * tunnel is no way around the IPv4 /16s. */
    if (ip[0] == 0x20 && ip[1] == 0x02) { /* 6to4, RFC 3964 */
        v4_group(group, ip + 2);
        return;
    }
    if (has_prefix(ip, TEREDO, 4)) { /* RFC 4380: the client's IPv4, inverted */
        unsigned char v[4] = {(unsigned char)~ip[12], (unsigned char)~ip[13],
                              (unsigned char)~ip[14], (unsigned char)~ip[15]};
        v4_group(group, v);
        return;
    }
    if (has_prefix(ip, NAT64, 12)) { /* RFC 6052 */
        v4_group(group, ip + 12);
        return;
    }
    group[0] = GROUP_IPV6;
    memcpy(group + 1, ip, 4);
    if (has_prefix(ip, HENET, 4)) /* Hurricane Electric hands out /36s */
        group[5] = ip[4] & 0xf0;
}

static int addr_eq(const rp_netaddr *a, const rp_netaddr *b)
{
    return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

/* ip 16 | port u16: the bytes an address is hashed as. */
static void addr_bytes(unsigned char out[18], const rp_netaddr *a)
{
    memcpy(out, a->ip, 16);
    out[16] = (unsigned char)(a->port >> 8);
    out[17] = (unsigned char)a->port;
}

/* ---- time ---- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Seconds from t to now; 0 if t is in the future. */
static uint64_t since(uint64_t now, uint64_t t)
{
    return sat_sub(now, t);
}

/* ---- randomness ---- */

static void rng_init(rng *r, const unsigned char seed[32])
{
    memcpy(r->key, seed, sizeof r->key);
    r->counter = 0;
    r->pos = sizeof r->buf;
}

static uint32_t rng_u32(rng *r)
{
    if (r->pos + 4 > sizeof r->buf) {
        unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
        for (size_t i = 0; i < sizeof nonce; i++)
            nonce[i] = (unsigned char)(r->counter >> (8 * i));
        crypto_stream_chacha20(r->buf, sizeof r->buf, nonce, r->key);
        r->counter++;
        r->pos = 0;
    }
    const unsigned char *p = r->buf + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Uniform in [0, n), n >= 1, without modulo bias. */
static uint32_t rng_below(rng *r, uint32_t n)
{
    uint32_t threshold = (uint32_t)-n % n; /* 2^32 mod n */
    for (;;) {
        uint32_t x = rng_u32(r);
        if (x >= threshold)
            return x % n;
    }
}

/* ---- places ---- */

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The keyed hash every place is drawn from: 64 bits of BLAKE2b keyed with
 * the book's key. */
static uint64_t khash(const rp_addrman *am, const unsigned char *m, size_t len)
{
    unsigned char out[16];
    crypto_generichash(out, sizeof out, m, len, am->key, sizeof am->key);
    return be64(out);
}

/* Tried: the address picks one of its group's 8 buckets. */
static unsigned tried_bucket(const rp_addrman *am, const rp_netaddr *a)
{
    unsigned char m1[2 + 18], m2[2 + RP_NETGROUP_SIZE + 1];
    m1[0] = 'K';
    m1[1] = '1';
    addr_bytes(m1 + 2, a);
    uint64_t h1 = khash(am, m1, sizeof m1) % RP_ADDRMAN_TRIED_BUCKETS_PER_GROUP;
    m2[0] = 'K';
    m2[1] = '2';
    rp_netaddr_group(m2 + 2, a->ip);
    m2[2 + RP_NETGROUP_SIZE] = (unsigned char)h1;
    return (unsigned)(khash(am, m2, sizeof m2) % NB_TRIED);
}

/* New: the (address group, source group) pair picks one of the source
 * group's 64 buckets. */
static unsigned new_bucket(const rp_addrman *am, const rp_netaddr *a, const unsigned char *src)
{
    unsigned char m1[2 + 2 * RP_NETGROUP_SIZE], m2[2 + RP_NETGROUP_SIZE + 1];
    m1[0] = 'N';
    m1[1] = '1';
    rp_netaddr_group(m1 + 2, a->ip);
    rp_netaddr_group(m1 + 2 + RP_NETGROUP_SIZE, src);
    uint64_t h1 = khash(am, m1, sizeof m1) % RP_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP;
    m2[0] = 'N';
    m2[1] = '2';
    memcpy(m2 + 2, m1 + 2 + RP_NETGROUP_SIZE, RP_NETGROUP_SIZE);
    m2[2 + RP_NETGROUP_SIZE] = (unsigned char)h1;
    return (unsigned)(khash(am, m2, sizeof m2) % NB_NEW);
}

static unsigned slot_of(const rp_addrman *am, int tried, unsigned bucket, const rp_netaddr *a)
{
    unsigned char m[4 + 18];
    m[0] = 'P';
    m[1] = tried ? 'K' : 'N';
    m[2] = (unsigned char)(bucket >> 8);
    m[3] = (unsigned char)bucket;
    addr_bytes(m + 4, a);
    return (unsigned)(khash(am, m, sizeof m) % BSIZE);
}

/* ---- tables ---- */

/* A cell holds an entry's index + 1, so that a calloc'ed table is empty
 * (the tables are most of a book's fixed size, and untouched pages of
 * them then cost nothing). */
static void cell_set(table *t, unsigned b, unsigned s, int32_t i)
{
    t->cells[(size_t)b * BSIZE + s] = (uint32_t)(i + 1);
}

/* The index of the entry in a cell, or -1. */
static int32_t cell_get(const table *t, unsigned b, unsigned s)
{
    return (int32_t)t->cells[(size_t)b * BSIZE + s] - 1;
}

static void place(rp_addrman *am, size_t i, int tried, unsigned b, unsigned s)
{
    table *t = &am->tab[tried];
    entry *x = &am->e[i];
    x->tried = (uint8_t)tried;
    x->bucket = (uint16_t)b;
    x->slot = (uint8_t)s;
    cell_set(t, b, s, (int32_t)i);
    t->count++;
    if (t->fill[b]++ == 0) {
        t->where[b] = (uint16_t)t->n_nonempty;
        t->nonempty[t->n_nonempty++] = (uint16_t)b;
    }
}

static void unplace(rp_addrman *am, size_t i)
{
    const entry *x = &am->e[i];
    table *t = &am->tab[x->tried];
    unsigned b = x->bucket;
    cell_set(t, b, x->slot, -1);
    t->count--;
    if (--t->fill[b] == 0) {
        uint16_t last = t->nonempty[--t->n_nonempty];
        t->nonempty[t->where[b]] = last;
        t->where[last] = t->where[b];
    }
}

/* ---- the index ---- */

static size_t map_hash(const rp_addrman *am, const rp_netaddr *a)
{
    unsigned char m[18], h[crypto_shorthash_BYTES];
    addr_bytes(m, a);
    crypto_shorthash(h, m, sizeof m, am->map_key);
    return (size_t)be64(h) & (am->map_cap - 1);
}

/* The index slot that holds a, or the empty one where it would go. */
static size_t map_probe(const rp_addrman *am, const rp_netaddr *a)
{
    size_t mask = am->map_cap - 1;
    for (size_t i = map_hash(am, a);; i = (i + 1) & mask) {
        int32_t v = am->map[i];
        if (v < 0 || addr_eq(&am->e[v].addr, a))
            return i;
    }
}

static int32_t find_idx(const rp_addrman *am, const rp_netaddr *a)
{
    if (am->map_cap == 0)
        return -1;
    return am->map[map_probe(am, a)];
}

/* Linear probing's deletion: shift back every later entry of the run that
 * may sit in the hole, so that probes never need tombstones. */
static void map_remove(rp_addrman *am, const rp_netaddr *a)
{
    size_t mask = am->map_cap - 1;
    size_t hole = map_probe(am, a);
    for (size_t j = (hole + 1) & mask; am->map[j] >= 0; j = (j + 1) & mask) {
        size_t home = map_hash(am, &am->e[am->map[j]].addr);
        /* Leave it if its home lies cyclically in (hole, j]. */
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            am->map[hole] = am->map[j];
            hole = j;
        }
    }
    am->map[hole] = -1;
}

/* Room for want entries, the index kept at most half full. */
static int reserve(rp_addrman *am, size_t want)
{
    if (want <= am->cap)
        return 0;
    size_t cap = am->cap ? am->cap : 64;
    while (cap < want)
        cap *= 2;
    entry *ne = realloc(am->e, cap * sizeof *ne);
    if (!ne)
        return RP_ERR_NOMEM;
    am->e = ne;
    size_t mcap = am->map_cap ? am->map_cap : 128;
    while (mcap < 2 * cap)
        mcap *= 2;
    if (mcap != am->map_cap) {
        int32_t *nm = malloc(mcap * sizeof *nm);
        if (!nm)
            return RP_ERR_NOMEM;
        free(am->map);
        am->map = nm;
        am->map_cap = mcap;
        memset(nm, 0xff, mcap * sizeof *nm);
        for (size_t i = 0; i < am->n; i++)
            am->map[map_probe(am, &am->e[i].addr)] = (int32_t)i;
    }
    am->cap = cap;
    return 0;
}

/* The index slot that holds entry i, found by its address along its run
 * and by the index itself, so that it can be looked up while the entries
 * are being moved. */
static size_t map_slot_of(const rp_addrman *am, size_t i)
{
    size_t mask = am->map_cap - 1;
    size_t s = map_hash(am, &am->e[i].addr);
    while (am->map[s] != (int32_t)i)
        s = (s + 1) & mask;
    return s;
}

/* Drop entry i, which no cell holds any more; the last entry takes its
 * index. */
static void delete_entry(rp_addrman *am, size_t i)
{
    map_remove(am, &am->e[i].addr);
    size_t last = am->n - 1;
    if (i != last) {
        am->map[map_slot_of(am, last)] = (int32_t)i;
        am->e[i] = am->e[last];
        cell_set(&am->tab[am->e[i].tried], am->e[i].bucket, am->e[i].slot, (int32_t)i);
    }
    am->n--;
}

static void swap_entries(rp_addrman *am, size_t i, size_t j)
{
    if (i == j)
        return;
    /* Both index slots first: once one is rewritten, two slots hold the
     * same index for a moment and the other could no longer be told. */
    size_t si = map_slot_of(am, i), sj = map_slot_of(am, j);
    entry tmp = am->e[i];
    am->e[i] = am->e[j];
    am->e[j] = tmp;
    am->map[si] = (int32_t)j;
    am->map[sj] = (int32_t)i;
    cell_set(&am->tab[am->e[i].tried], am->e[i].bucket, am->e[i].slot, (int32_t)i);
    cell_set(&am->tab[am->e[j].tried], am->e[j].bucket, am->e[j].slot, (int32_t)j);
}

/* ---- judging entries ---- */

static int terrible(const entry *x, uint64_t now)
{
    if (x->last_try && x->last_try >= sat_sub(now, 60)) /* being tried: leave it be */
        return 0;
    if (x->seen > sat_add(now, 600)) /* from the future */
        return 1;
    if (since(now, x->seen) > RP_ADDRMAN_HORIZON)
        return 1;
    if (x->last_success == 0 && x->attempts >= RP_ADDRMAN_RETRIES)
        return 1;
    if (since(now, x->last_success) > RP_ADDRMAN_MIN_FAIL && x->attempts >= RP_ADDRMAN_MAX_FAILURES)
        return 1;
    return 0;
}

/* Bitcoin Core's GetChance: 0.66 per failure (at most 8), and a hundredth
 * if tried in the last 10 minutes. */
static double chance(const entry *x, uint64_t now)
{
    static const double p66[9] = {1.0,         0.66,         0.4356,       0.287496,    0.18974736,
                                  0.125233258, 0.0826539500, 0.0545516070, 0.0360040606};
    double c = p66[x->attempts < 8 ? x->attempts : 8];
    if (since(now, x->last_try) < 600)
        c *= 0.01;
    return c;
}

static void to_view(const entry *x, rp_addrman_entry *v)
{
    memset(v, 0, sizeof *v);
    v->addr = x->addr;
    memcpy(v->source, x->src, 16);
    v->has_id = x->has_id;
    v->id = x->id;
    v->last_seen = x->seen;
    v->last_try = x->last_try;
    v->last_success = x->last_success;
    v->attempts = x->attempts;
    v->tried = x->tried;
    v->bucket = x->bucket;
    v->slot = x->slot;
}

/* ---- discouragement ---- */

static int disc_cmp(uint8_t kind, const unsigned char *value, const disc *d)
{
    if (kind != d->kind)
        return kind < d->kind ? -1 : 1;
    return memcmp(value, d->value, 32);
}

/* The first index whose key is not below (kind, value); *found if equal. */
static size_t disc_lower(const rp_addrman *am, uint8_t kind, const unsigned char *value, int *found)
{
    size_t lo = 0, hi = am->n_disc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (disc_cmp(kind, value, &am->d[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < am->n_disc && disc_cmp(kind, value, &am->d[lo]) == 0;
    return lo;
}

static void disc_key(unsigned char out[32], int kind, const unsigned char *value)
{
    memset(out, 0, 32);
    memcpy(out, value, kind == RP_ADDRMAN_DISC_IP ? 16 : 32);
}

static int disc_active(const rp_addrman *am, uint8_t kind, const unsigned char *value, uint64_t now)
{
    unsigned char k[32];
    disc_key(k, kind, value);
    int found;
    size_t i = disc_lower(am, kind, k, &found);
    return found && now < am->d[i].until;
}

static void disc_remove_at(rp_addrman *am, size_t i)
{
    memmove(&am->d[i], &am->d[i + 1], (am->n_disc - i - 1) * sizeof am->d[0]);
    am->n_disc--;
}

static int disc_put(rp_addrman *am, uint8_t kind, const unsigned char *value, uint64_t until,
                    uint64_t now)
{
    unsigned char k[32];
    disc_key(k, kind, value);
    int found;
    size_t i = disc_lower(am, kind, k, &found);
    if (found) {
        if (until > am->d[i].until)
            am->d[i].until = until;
        return 1;
    }
    if (am->n_disc == RP_ADDRMAN_MAX_DISCOURAGED) {
        size_t j = 0;
        for (size_t r = 0; r < am->n_disc; r++)
            if (am->d[r].until > now)
                am->d[j++] = am->d[r];
        am->n_disc = j;
        if (am->n_disc == RP_ADDRMAN_MAX_DISCOURAGED) {
            size_t m = 0;
            for (size_t r = 1; r < am->n_disc; r++)
                if (am->d[r].until < am->d[m].until)
                    m = r;
            if (am->d[m].until >= until) /* the newcomer would expire first */
                return 0;
            disc_remove_at(am, m);
        }
        i = disc_lower(am, kind, k, &found);
    }
    memmove(&am->d[i + 1], &am->d[i], (am->n_disc - i) * sizeof am->d[0]);
    am->d[i].kind = kind;
    memcpy(am->d[i].value, k, 32);
    am->d[i].until = until;
    am->n_disc++;
    return 1;
}

/* ---- the book ---- */

int rp_addrman_new(rp_addrman **out, const unsigned char key[static 32],
                   const unsigned char seed[static 32])
{
    *out = NULL;
    if (all_zero(key, 32))
        return RP_ERR_INVALID_ARG;
    rp_addrman *am = calloc(1, sizeof *am);
    if (!am)
        return RP_ERR_NOMEM;
    am->tab[0].nbuckets = NB_NEW;
    am->tab[1].nbuckets = NB_TRIED;
    for (int t = 0; t < 2; t++) {
        am->tab[t].cells = calloc((size_t)am->tab[t].nbuckets * BSIZE, sizeof(uint32_t));
        if (!am->tab[t].cells) {
            rp_addrman_free(am);
            return RP_ERR_NOMEM;
        }
    }
    memcpy(am->key, key, 32);
    static const unsigned char label[] = "repute/addrman/index";
    crypto_generichash(am->map_key, sizeof am->map_key, label, sizeof label - 1, am->key,
                       sizeof am->key);
    rng_init(&am->rng, seed);
    *out = am;
    return 0;
}

void rp_addrman_free(rp_addrman *am)
{
    if (!am)
        return;
    free(am->tab[0].cells);
    free(am->tab[1].cells);
    free(am->e);
    free(am->map);
    /* The secrets: the key, the index's key, the generator. The rest is
     * addresses anyone may gossip. */
    sodium_memzero(am->key, sizeof am->key);
    sodium_memzero(am->map_key, sizeof am->map_key);
    sodium_memzero(&am->rng, sizeof am->rng);
    free(am);
}

size_t rp_addrman_size(const rp_addrman *am, size_t *n_new, size_t *n_tried)
{
    if (n_new)
        *n_new = am->tab[0].count;
    if (n_tried)
        *n_tried = am->tab[1].count;
    return am->n;
}

int rp_addrman_find(const rp_addrman *am, const rp_netaddr *addr, rp_addrman_entry *out)
{
    int32_t i = find_idx(am, addr);
    if (i < 0)
        return 0;
    if (out)
        to_view(&am->e[i], out);
    return 1;
}

int rp_addrman_add(rp_addrman *am, const rp_netaddr *addr, const rp_pubkey *id, uint64_t last_seen,
                   const unsigned char source[static 16], uint64_t now)
{
    if (!rp_netaddr_valid(addr) || !rp_netaddr_ip_valid(source))
        return 0;
    int32_t i = find_idx(am, addr);
    if (i >= 0) {
        entry *x = &am->e[i];
        /* Move last-seen forward only now and then, so that gossip cannot
         * keep an address looking fresh minute by minute. */
        uint64_t interval = since(now, last_seen) < 86400 ? 3600 : 86400;
        if (sat_add(x->seen, interval) < last_seen)
            x->seen = last_seen;
        if (id && !x->has_id) {
            x->id = *id;
            x->has_id = 1;
        }
        return 0;
    }
    unsigned b = new_bucket(am, addr, source);
    unsigned s = slot_of(am, 0, b, addr);
    int32_t occupant = cell_get(&am->tab[0], b, s);
    if (occupant >= 0 && !terrible(&am->e[occupant], now))
        return 0;
    int rc = reserve(am, am->n + 1);
    if (rc)
        return rc;
    if (occupant >= 0) {
        unplace(am, (size_t)occupant);
        delete_entry(am, (size_t)occupant);
    }
    size_t n = am->n++;
    entry *x = &am->e[n];
    memset(x, 0, sizeof *x);
    x->addr = *addr;
    memcpy(x->src, source, 16);
    x->seen = last_seen;
    if (id) {
        x->id = *id;
        x->has_id = 1;
    }
    am->map[map_probe(am, addr)] = (int32_t)n;
    place(am, n, 0, b, s);
    return 1;
}

int rp_addrman_attempt(rp_addrman *am, const rp_netaddr *addr, int count_failure, uint64_t now)
{
    int32_t i = find_idx(am, addr);
    if (i < 0)
        return 0;
    entry *x = &am->e[i];
    x->last_try = now;
    if (count_failure && x->attempts < UINT32_MAX)
        x->attempts++;
    return 1;
}

/* Move entry i from new to its tried slot. An incumbent there goes back to
 * its own new slot, and whatever held that slot leaves the book. Never
 * allocates. */
static void make_tried(rp_addrman *am, size_t i)
{
    const rp_netaddr a = am->e[i].addr;
    unsigned tb = tried_bucket(am, &a), ts = slot_of(am, 1, tb, &a);
    unplace(am, i);
    int32_t old = cell_get(&am->tab[1], tb, ts);
    int32_t victim = -1;
    if (old >= 0) {
        const entry *o = &am->e[old];
        unplace(am, (size_t)old);
        unsigned nb = new_bucket(am, &o->addr, o->src);
        unsigned ns = slot_of(am, 0, nb, &o->addr);
        victim = cell_get(&am->tab[0], nb, ns);
        if (victim >= 0)
            unplace(am, (size_t)victim);
        place(am, (size_t)old, 0, nb, ns);
    }
    place(am, i, 1, tb, ts);
    if (victim >= 0)
        delete_entry(am, (size_t)victim);
}

static void queue_collision(rp_addrman *am, const rp_netaddr *a)
{
    for (size_t k = 0; k < am->n_coll; k++)
        if (addr_eq(&am->coll[k], a))
            return;
    if (am->n_coll < RP_ADDRMAN_MAX_COLLISIONS)
        am->coll[am->n_coll++] = *a;
}

int rp_addrman_good(rp_addrman *am, const rp_netaddr *addr, const rp_pubkey *id, uint64_t now)
{
    if (now == 0) /* a tried entry's last success is never 0 */
        return RP_ERR_INVALID_ARG;
    int32_t i = find_idx(am, addr);
    if (i < 0)
        return 0;
    entry *x = &am->e[i];
    x->last_success = now;
    x->last_try = now;
    x->attempts = 0;
    if (id) {
        x->id = *id;
        x->has_id = 1;
    }
    /* last_seen stays: changing it now would tell our peers, through
     * GETADDR, whom we have just connected to. */
    if (x->tried)
        return 1;
    unsigned tb = tried_bucket(am, &x->addr), ts = slot_of(am, 1, tb, &x->addr);
    if (cell_get(&am->tab[1], tb, ts) >= 0) {
        queue_collision(am, &x->addr);
        return 0;
    }
    make_tried(am, (size_t)i);
    return 1;
}

int rp_addrman_connected(rp_addrman *am, const rp_netaddr *addr, uint64_t now)
{
    int32_t i = find_idx(am, addr);
    if (i < 0)
        return 0;
    entry *x = &am->e[i];
    if (since(now, x->seen) > 20 * 60)
        x->seen = now;
    return 1;
}

/* May the dialer have x? Fills v with its view when it may. */
static int eligible(const rp_addrman *am, const entry *x, rp_addrman_skip_fn skip, void *ctx,
                    uint64_t now, rp_addrman_entry *v)
{
    if (terrible(x, now))
        return 0;
    if (disc_active(am, RP_ADDRMAN_DISC_IP, x->addr.ip, now))
        return 0;
    if (x->has_id && disc_active(am, RP_ADDRMAN_DISC_ID, x->id.bytes, now))
        return 0;
    to_view(x, v);
    return !(skip && skip(ctx, v));
}

int rp_addrman_select(rp_addrman *am, int new_only, rp_addrman_skip_fn skip, void *ctx,
                      uint64_t now, rp_addrman_entry *out)
{
    size_t nn = am->tab[0].count, nt = am->tab[1].count;
    if (nn + nt == 0 || (new_only && nn == 0))
        return 0;
    rp_addrman_entry v;
    double factor = 1.0;
    for (int round = 0; round < SELECT_ROUNDS; round++) {
        int use_tried = !new_only && nt > 0 && (nn == 0 || (rng_u32(&am->rng) & 1));
        const table *t = &am->tab[use_tried];
        unsigned b = t->nonempty[rng_below(&am->rng, t->n_nonempty)];
        unsigned s = rng_below(&am->rng, BSIZE);
        int32_t i = -1;
        for (unsigned k = 0; k < BSIZE && i < 0; k++)
            i = cell_get(t, b, (s + k) % BSIZE);
        const entry *x = &am->e[i];
        if (eligible(am, x, skip, ctx, now, &v)) {
            double r = (double)(rng_u32(&am->rng) >> 2); /* 30 bits */
            if (r < factor * chance(x, now) * 1073741824.0) {
                *out = v;
                return 1;
            }
        }
        factor *= 1.2;
    }
    /* Nearly everything is skipped: one pass, so that the answer is "none"
     * rather than an endless search. */
    size_t start = rng_below(&am->rng, (uint32_t)am->n);
    for (size_t k = 0; k < am->n; k++) {
        const entry *x = &am->e[(start + k) % am->n];
        if (new_only && x->tried)
            continue;
        if (eligible(am, x, skip, ctx, now, &v)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

int rp_addrman_getaddr(rp_addrman *am, rp_addrman_entry *out, size_t cap, size_t *n, uint64_t now)
{
    size_t total = am->n;
    size_t limit = total * RP_ADDRMAN_GETADDR_PCT / 100;
    if (limit > RP_ADDRMAN_GETADDR_MAX)
        limit = RP_ADDRMAN_GETADDR_MAX;
    if (limit > cap)
        limit = cap;
    *n = 0;
    /* A partial Fisher-Yates shuffle of the pool: e[0..i) is the sample so
     * far, drawn without replacement. */
    for (size_t i = 0; i < total && *n < limit; i++) {
        swap_entries(am, i, i + rng_below(&am->rng, (uint32_t)(total - i)));
        const entry *x = &am->e[i];
        if (terrible(x, now) || disc_active(am, RP_ADDRMAN_DISC_IP, x->addr.ip, now) ||
            (x->has_id && disc_active(am, RP_ADDRMAN_DISC_ID, x->id.bytes, now)))
            continue;
        to_view(x, &out[(*n)++]);
    }
    return 0;
}

int rp_addrman_collision(rp_addrman *am, rp_addrman_entry *out)
{
    if (am->n_coll == 0)
        return 0;
    size_t start = rng_below(&am->rng, (uint32_t)am->n_coll);
    for (size_t k = 0; k < am->n_coll; k++) {
        int32_t i = find_idx(am, &am->coll[(start + k) % am->n_coll]);
        if (i < 0 || am->e[i].tried)
            continue;
        const rp_netaddr *a = &am->e[i].addr;
        unsigned tb = tried_bucket(am, a);
        int32_t old = cell_get(&am->tab[1], tb, slot_of(am, 1, tb, a));
        if (old >= 0) {
            to_view(&am->e[old], out);
            return 1;
        }
    }
    return 0;
}

int rp_addrman_resolve_collisions(rp_addrman *am, uint64_t now)
{
    size_t k = 0;
    while (k < am->n_coll) {
        int settled = 1;
        int32_t i = find_idx(am, &am->coll[k]);
        if (i >= 0 && !am->e[i].tried) {
            const entry *x = &am->e[i];
            unsigned tb = tried_bucket(am, &x->addr);
            int32_t old = cell_get(&am->tab[1], tb, slot_of(am, 1, tb, &x->addr));
            if (old < 0) {
                make_tried(am, (size_t)i); /* the slot came free */
            } else {
                const entry *o = &am->e[old];
                if (since(now, o->last_success) < RP_ADDRMAN_REPLACEMENT) {
                    /* The incumbent works: keep it, forget the newcomer's claim. */
                } else if (since(now, o->last_try) < RP_ADDRMAN_REPLACEMENT) {
                    /* Tried lately and failed; give a test a minute to finish. */
                    if (since(now, o->last_try) > 60)
                        make_tried(am, (size_t)i);
                    else
                        settled = 0;
                } else if (since(now, x->last_success) > RP_ADDRMAN_TEST_WINDOW) {
                    make_tried(am, (size_t)i); /* never tested: the newcomer wins */
                } else {
                    settled = 0; /* wait for the test */
                }
            }
        }
        if (settled)
            am->coll[k] = am->coll[--am->n_coll];
        else
            k++;
    }
    return 0;
}

int rp_addrman_discourage(rp_addrman *am, const rp_netaddr *addr, const rp_pubkey *id,
                          uint64_t until, int exempt, uint64_t now)
{
    if (!addr && !id)
        return RP_ERR_INVALID_ARG;
    if (addr && !rp_netaddr_ip_valid(addr->ip))
        return RP_ERR_INVALID_ARG;
    if (exempt || until <= now)
        return 0;
    int recorded = 0;
    if (addr)
        recorded |= disc_put(am, RP_ADDRMAN_DISC_IP, addr->ip, until, now);
    if (id)
        recorded |= disc_put(am, RP_ADDRMAN_DISC_ID, id->bytes, until, now);
    return recorded;
}

int rp_addrman_is_discouraged(const rp_addrman *am, const unsigned char *ip, const rp_pubkey *id,
                              uint64_t now)
{
    return (ip && disc_active(am, RP_ADDRMAN_DISC_IP, ip, now)) ||
           (id && disc_active(am, RP_ADDRMAN_DISC_ID, id->bytes, now));
}

int rp_addrman_undiscourage(rp_addrman *am, int kind, const unsigned char *value)
{
    if (kind != RP_ADDRMAN_DISC_IP && kind != RP_ADDRMAN_DISC_ID)
        return 0;
    unsigned char k[32];
    disc_key(k, kind, value);
    int found;
    size_t i = disc_lower(am, (uint8_t)kind, k, &found);
    if (!found)
        return 0;
    disc_remove_at(am, i);
    return 1;
}

size_t rp_addrman_discouragements(const rp_addrman *am, rp_addrman_disc *out, size_t cap)
{
    for (size_t i = 0; i < am->n_disc && i < cap; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].kind = am->d[i].kind;
        memcpy(out[i].value, am->d[i].value, 32);
        out[i].until = am->d[i].until;
    }
    return am->n_disc;
}

/* ---- the file ---- */

static void put_entry(rp_writer *w, unsigned b, unsigned s, const entry *x)
{
    rp_put_u16(w, (uint16_t)b);
    rp_put_u8(w, (uint8_t)s);
    rp_put_bytes(w, x->addr.ip, 16);
    rp_put_u16(w, x->addr.port);
    rp_put_bytes(w, x->src, 16);
    rp_put_u8(w, x->has_id ? 1 : 0);
    if (x->has_id)
        rp_put_bytes(w, x->id.bytes, 32);
    rp_put_u64(w, x->seen);
    rp_put_u64(w, x->last_try);
    rp_put_u64(w, x->last_success);
    rp_put_u32(w, x->attempts);
}

int rp_addrman_save(const rp_addrman *am, unsigned char *out, size_t cap, size_t *len)
{
    rp_writer w;
    rp_writer_init(&w, out, cap);
    rp_put_bytes(&w, MAGIC, sizeof MAGIC);
    rp_put_u8(&w, RP_ADDRMAN_FILE_VERSION);
    rp_put_bytes(&w, am->key, sizeof am->key);
    rp_put_u32(&w, (uint32_t)am->tab[0].count);
    rp_put_u32(&w, (uint32_t)am->tab[1].count);
    for (int t = 0; t < 2; t++) {
        const table *tab = &am->tab[t];
        for (unsigned b = 0; b < tab->nbuckets; b++) {
            if (tab->fill[b] == 0)
                continue;
            for (unsigned s = 0; s < BSIZE; s++) {
                int32_t i = cell_get(tab, b, s);
                if (i >= 0)
                    put_entry(&w, b, s, &am->e[i]);
            }
        }
    }
    rp_put_u16(&w, (uint16_t)am->n_disc);
    for (size_t i = 0; i < am->n_disc; i++) {
        const disc *d = &am->d[i];
        rp_put_u8(&w, d->kind);
        rp_put_bytes(&w, d->value, d->kind == RP_ADDRMAN_DISC_IP ? 16 : 32);
        rp_put_u64(&w, d->until);
    }
    int rc = rp_writer_finish(&w, len);
    if (rc)
        *len = 0;
    return rc;
}

/* Field names per table, for the reader's errors (literals, as it wants). */
typedef struct table_fields {
    const char *bucket, *slot, *address, *source, *flags, *id, *times, *order, *position,
        *duplicate, *success;
} table_fields;

static const table_fields FIELDS[2] = {
    {"new.bucket", "new.slot", "new.address", "new.source", "new.flags", "new.node_id", "new.times",
     "new.order", "new.position", "new.duplicate", "new.last_success"},
    {"tried.bucket", "tried.slot", "tried.address", "tried.source", "tried.flags", "tried.node_id",
     "tried.times", "tried.order", "tried.position", "tried.duplicate", "tried.last_success"},
};

/* Read one table's entries, straight down; stops at the first error, which
 * the reader keeps. Room for them is reserved already. */
static void read_table(rp_addrman *am, rp_reader *r, int t, uint32_t count)
{
    const table_fields *f = &FIELDS[t];
    const table *tab = &am->tab[t];
    long prev = -1;
    for (uint32_t k = 0; k < count && !r->err; k++) {
        entry x;
        memset(&x, 0, sizeof x);
        unsigned b = rp_get_u16(r, f->bucket);
        unsigned s = rp_get_u8(r, f->slot);
        rp_get_bytes(r, x.addr.ip, 16, f->address);
        x.addr.port = rp_get_u16(r, f->address);
        rp_get_bytes(r, x.src, 16, f->source);
        uint8_t flags = rp_get_u8(r, f->flags);
        if (flags & ~1u)
            rp_reader_fail(r, RP_ERR_RANGE, f->flags);
        if (flags & 1u) {
            rp_get_bytes(r, x.id.bytes, 32, f->id);
            x.has_id = 1;
        }
        x.seen = rp_get_u64(r, f->times);
        x.last_try = rp_get_u64(r, f->times);
        x.last_success = rp_get_u64(r, f->times);
        x.attempts = rp_get_u32(r, f->times);
        if (r->err)
            return;
        if (b >= tab->nbuckets) {
            rp_reader_fail(r, RP_ERR_RANGE, f->bucket);
            return;
        }
        if (s >= BSIZE) {
            rp_reader_fail(r, RP_ERR_RANGE, f->slot);
            return;
        }
        long pos = (long)b * BSIZE + (long)s;
        if (pos <= prev) {
            rp_reader_fail(r, RP_ERR_NONCANONICAL, f->order);
            return;
        }
        prev = pos;
        if (!rp_netaddr_valid(&x.addr)) {
            rp_reader_fail(r, RP_ERR_RANGE, f->address);
            return;
        }
        if (!rp_netaddr_ip_valid(x.src)) {
            rp_reader_fail(r, RP_ERR_RANGE, f->source);
            return;
        }
        if (t == 1 && x.last_success == 0) {
            rp_reader_fail(r, RP_ERR_RANGE, f->success);
            return;
        }
        unsigned want_b = t ? tried_bucket(am, &x.addr) : new_bucket(am, &x.addr, x.src);
        if (b != want_b || s != slot_of(am, t, b, &x.addr)) {
            rp_reader_fail(r, RP_ERR_NONCANONICAL, f->position);
            return;
        }
        if (find_idx(am, &x.addr) >= 0) {
            rp_reader_fail(r, RP_ERR_NONCANONICAL, f->duplicate);
            return;
        }
        size_t i = am->n++;
        am->e[i] = x;
        am->map[map_probe(am, &x.addr)] = (int32_t)i;
        place(am, i, t, b, s);
    }
}

static void read_discouragements(rp_addrman *am, rp_reader *r)
{
    uint16_t count = rp_get_u16(r, "discouraged.count");
    if (count > RP_ADDRMAN_MAX_DISCOURAGED)
        rp_reader_fail(r, RP_ERR_TOO_LONG, "discouraged.count");
    for (uint16_t k = 0; k < count && !r->err; k++) {
        disc d;
        memset(&d, 0, sizeof d);
        d.kind = rp_get_u8(r, "discouraged.kind");
        if (!r->err && d.kind != RP_ADDRMAN_DISC_IP && d.kind != RP_ADDRMAN_DISC_ID) {
            rp_reader_fail(r, RP_ERR_RANGE, "discouraged.kind");
            return;
        }
        rp_get_bytes(r, d.value, d.kind == RP_ADDRMAN_DISC_IP ? 16 : 32, "discouraged.value");
        d.until = rp_get_u64(r, "discouraged.until");
        if (r->err)
            return;
        if (d.until == 0) {
            rp_reader_fail(r, RP_ERR_RANGE, "discouraged.until");
            return;
        }
        if (d.kind == RP_ADDRMAN_DISC_IP && !rp_netaddr_ip_valid(d.value)) {
            rp_reader_fail(r, RP_ERR_RANGE, "discouraged.value");
            return;
        }
        if (am->n_disc > 0 && disc_cmp(d.kind, d.value, &am->d[am->n_disc - 1]) <= 0) {
            rp_reader_fail(r, RP_ERR_NONCANONICAL, "discouraged.order");
            return;
        }
        am->d[am->n_disc++] = d;
    }
}

int rp_addrman_load(rp_addrman **out, const unsigned char *in, size_t len,
                    const unsigned char seed[static 32], const char **field)
{
    *out = NULL;
    if (field)
        *field = NULL;
    rp_reader r;
    rp_reader_init(&r, in, len);
    unsigned char magic[sizeof MAGIC], key[32];
    rp_get_bytes(&r, magic, sizeof magic, "magic");
    if (!r.err && memcmp(magic, MAGIC, sizeof MAGIC) != 0)
        rp_reader_fail(&r, RP_ERR_BAD_TYPE, "magic");
    uint8_t version = rp_get_u8(&r, "version");
    if (!r.err && version != RP_ADDRMAN_FILE_VERSION)
        rp_reader_fail(&r, RP_ERR_BAD_VERSION, "version");
    rp_get_bytes(&r, key, sizeof key, "key");
    if (!r.err && all_zero(key, sizeof key))
        rp_reader_fail(&r, RP_ERR_RANGE, "key");
    uint32_t counts[2];
    counts[0] = rp_get_u32(&r, "new.count");
    counts[1] = rp_get_u32(&r, "tried.count");
    if (counts[0] > RP_ADDRMAN_MAX_NEW)
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "new.count");
    if (counts[1] > RP_ADDRMAN_MAX_TRIED)
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "tried.count");
    /* Capped counts, and no more entries than the bytes could hold, before
     * anything is allocated. */
    size_t total = (size_t)counts[0] + counts[1];
    if (!r.err && total * RP_ADDRMAN_ENTRY_MIN > r.len - r.pos)
        rp_reader_fail(&r, RP_ERR_TRUNCATED, "entries");
    rp_addrman *am = NULL;
    int rc = r.err;
    if (!rc)
        rc = rp_addrman_new(&am, key, seed);
    if (!rc)
        rc = reserve(am, total);
    sodium_memzero(key, sizeof key);
    if (rc) {
        if (field)
            *field = r.field;
        rp_addrman_free(am);
        return rc;
    }
    read_table(am, &r, 0, counts[0]);
    read_table(am, &r, 1, counts[1]);
    read_discouragements(am, &r);
    const char *f = NULL;
    rc = rp_reader_finish(&r, &f);
    if (rc) {
        if (field)
            *field = f;
        rp_addrman_free(am);
        return rc;
    }
    *out = am;
    return 0;
}

/* ---- the consistency check ---- */

int rp_addrman_check(const rp_addrman *am)
{
    size_t placed = 0;
    for (int t = 0; t < 2; t++) {
        const table *tab = &am->tab[t];
        size_t count = 0, nonempty = 0;
        for (unsigned b = 0; b < tab->nbuckets; b++) {
            unsigned fill = 0;
            for (unsigned s = 0; s < BSIZE; s++) {
                int32_t i = cell_get(tab, b, s);
                if (i < 0)
                    continue;
                if ((size_t)i >= am->n)
                    return RP_ERR_NONCANONICAL;
                const entry *x = &am->e[i];
                if (x->tried != t || x->bucket != b || x->slot != s)
                    return RP_ERR_NONCANONICAL;
                unsigned want = t ? tried_bucket(am, &x->addr) : new_bucket(am, &x->addr, x->src);
                if (want != b || slot_of(am, t, b, &x->addr) != s)
                    return RP_ERR_NONCANONICAL;
                if (!rp_netaddr_valid(&x->addr) || !rp_netaddr_ip_valid(x->src))
                    return RP_ERR_NONCANONICAL;
                if (t == 1 && x->last_success == 0)
                    return RP_ERR_NONCANONICAL;
                if (find_idx(am, &x->addr) != i)
                    return RP_ERR_NONCANONICAL;
                fill++;
            }
            if (fill != tab->fill[b])
                return RP_ERR_NONCANONICAL;
            if (fill) {
                if (tab->where[b] >= tab->n_nonempty || tab->nonempty[tab->where[b]] != b)
                    return RP_ERR_NONCANONICAL;
                nonempty++;
            }
            count += fill;
        }
        if (count != tab->count || nonempty != tab->n_nonempty)
            return RP_ERR_NONCANONICAL;
        placed += count;
    }
    /* Every entry is in exactly one cell (each cell above named its entry
     * and the entry named that cell back), and the index holds no more. */
    if (placed != am->n)
        return RP_ERR_NONCANONICAL;
    size_t indexed = 0;
    for (size_t k = 0; k < am->map_cap; k++)
        indexed += am->map[k] >= 0;
    if (indexed != am->n)
        return RP_ERR_NONCANONICAL;
    for (size_t k = 0; k < am->n_disc; k++) {
        const disc *d = &am->d[k];
        if ((d->kind != RP_ADDRMAN_DISC_IP && d->kind != RP_ADDRMAN_DISC_ID) || d->until == 0)
            return RP_ERR_NONCANONICAL;
        if (k > 0 && disc_cmp(d->kind, d->value, &am->d[k - 1]) <= 0)
            return RP_ERR_NONCANONICAL;
    }
    if (am->n_coll > RP_ADDRMAN_MAX_COLLISIONS || all_zero(am->key, sizeof am->key))
        return RP_ERR_NONCANONICAL;
    return 0;
}
