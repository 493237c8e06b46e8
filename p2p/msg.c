/* The p2p messages: one canonical encoding each (layouts in msg.h and
 * docs/p2p.md, "Messages"), and the HELLO binding of a node key to a Noise
 * static key.
 *
 * Built on the one bounded codec (ledger/codec.h), as block.c and record.c
 * are: for every body a put_ and a get_ function kept side by side, walking
 * the same fields in the same order, and one check (check_fields plus the
 * size bound) that the encoder applies before writing and the decoder after
 * reading. Decoding thus accepts exactly what encoding can produce, and what
 * decodes re-encodes to the bytes it came from (the fuzz target checks it).
 *
 * The decoder refuses an input longer than RP_P2P_MAX_MESSAGE before reading
 * anything, and every count and length before reading what it counts: the
 * counts also index the struct's fixed arrays, so that order is what keeps
 * the arrays in bounds. Every message type's largest encoding is at most
 * RP_P2P_MAX_MESSAGE, and only BLOCKS can reach it, so the size bound the
 * check applies after reading refuses nothing the decoder let through. Nothing is
 * allocated; records, blocks and commits come back as views of the input.
 */
#include "p2p/msg.h"

#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"

/* The sizes stated in msg.h, and what the encoding's widths can carry. */
_Static_assert(RP_P2P_HELLO_MAX_SIZE == 166, "hello layout");
_Static_assert(RP_P2P_STATUS_SIZE == 86, "status layout");
_Static_assert(RP_P2P_ADDR_V4_SIZE == 48 && RP_P2P_ADDR_V6_SIZE == 60, "addr entry layout");
_Static_assert(RP_P2P_MAX_ADDR <= UINT16_MAX && RP_P2P_MAX_INV <= UINT16_MAX &&
                   RP_P2P_MAX_RECORDS <= UINT16_MAX && RP_P2P_MAX_BLOCKS <= UINT16_MAX,
               "counts are u16");
_Static_assert(RP_RECORD_MAX_SIZE <= UINT16_MAX, "a record length is a u16");
_Static_assert(RP_COMMIT_MAX_SIZE <= UINT16_MAX, "a commit length is a u16");
_Static_assert(RP_BLOCK_MAX_SIZE <= UINT32_MAX, "a block length is a u32");
/* One (block, commit) pair of the largest size always fits in one BLOCKS. */
_Static_assert(RP_P2P_RANGE_SIZE + 4 + RP_BLOCK_MAX_SIZE + 2 + RP_COMMIT_MAX_SIZE <=
                   RP_P2P_MAX_MESSAGE,
               "a full block fits a message");
_Static_assert(RP_P2P_RECORDS_MAX_SIZE <= RP_P2P_MAX_MESSAGE &&
                   RP_P2P_ADDR_MAX_SIZE <= RP_P2P_MAX_MESSAGE,
               "every message fits the frame layer's limit");

#define BINDING_INPUT_SIZE (32 + 32 + 4)

static const struct type_info {
    uint8_t type;
    const char *name;
    size_t max;
} types[] = {
    {RP_P2P_MSG_HELLO, "hello", RP_P2P_HELLO_MAX_SIZE},
    {RP_P2P_MSG_STATUS, "status", RP_P2P_STATUS_SIZE},
    {RP_P2P_MSG_PING, "ping", RP_P2P_PING_SIZE},
    {RP_P2P_MSG_PONG, "pong", RP_P2P_PING_SIZE},
    {RP_P2P_MSG_GETADDR, "getaddr", 1},
    {RP_P2P_MSG_ADDR, "addr", RP_P2P_ADDR_MAX_SIZE},
    {RP_P2P_MSG_INV, "inv", RP_P2P_INV_MAX_SIZE},
    {RP_P2P_MSG_GETDATA, "getdata", RP_P2P_INV_MAX_SIZE},
    {RP_P2P_MSG_RECORDS, "records", RP_P2P_RECORDS_MAX_SIZE},
    {RP_P2P_MSG_NEWBLOCK, "newblock", RP_P2P_NEWBLOCK_SIZE},
    {RP_P2P_MSG_GETBLOCKS, "getblocks", RP_P2P_RANGE_SIZE},
    {RP_P2P_MSG_BLOCKS, "blocks", RP_P2P_BLOCKS_MAX_SIZE},
    {RP_P2P_MSG_NOBLOCKS, "noblocks", RP_P2P_RANGE_SIZE},
};
#define NTYPES (sizeof types / sizeof types[0])

static const struct type_info *lookup(unsigned type)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (types[i].type == type)
            return &types[i];
    return NULL;
}

int rp_p2p_msg_type_class(unsigned type)
{
    if (lookup(type))
        return RP_P2P_TYPE_KNOWN;
    if (type >= RP_P2P_MSG_RESERVED_FIRST && type <= RP_P2P_MSG_RESERVED_LAST)
        return RP_P2P_TYPE_RESERVED;
    return RP_P2P_TYPE_INVALID;
}

const char *rp_p2p_msg_type_name(unsigned type)
{
    const struct type_info *t = lookup(type);
    if (t)
        return t->name;
    return rp_p2p_msg_type_class(type) == RP_P2P_TYPE_RESERVED ? "reserved" : "unknown";
}

size_t rp_p2p_msg_max_size(unsigned type)
{
    const struct type_info *t = lookup(type);
    return t ? t->max : 0;
}

/* ---- constructors ----------------------------------------------------- */

void rp_p2p_msg_init(rp_p2p_msg *m, unsigned type)
{
    memset(m, 0, sizeof *m);
    m->type = (uint8_t)type;
}

void rp_p2p_msg_ping(rp_p2p_msg *m, uint64_t nonce)
{
    rp_p2p_msg_init(m, RP_P2P_MSG_PING);
    m->body.nonce = nonce;
}

void rp_p2p_msg_pong(rp_p2p_msg *m, uint64_t nonce)
{
    rp_p2p_msg_init(m, RP_P2P_MSG_PONG);
    m->body.nonce = nonce;
}

void rp_p2p_msg_newblock(rp_p2p_msg *m, uint64_t height, const rp_hash *hash)
{
    rp_p2p_msg_init(m, RP_P2P_MSG_NEWBLOCK);
    m->body.newblock.height = height;
    m->body.newblock.hash = *hash;
}

void rp_p2p_msg_getblocks(rp_p2p_msg *m, uint64_t from, uint16_t count)
{
    rp_p2p_msg_init(m, RP_P2P_MSG_GETBLOCKS);
    m->body.range.from = from;
    m->body.range.count = count;
}

void rp_p2p_msg_noblocks(rp_p2p_msg *m, uint64_t from, uint16_t count)
{
    rp_p2p_msg_init(m, RP_P2P_MSG_NOBLOCKS);
    m->body.range.from = from;
    m->body.range.count = count;
}

/* ---- what is allowed -------------------------------------------------- */

#define FAIL(code, name)                                                                           \
    do {                                                                                           \
        if (field)                                                                                 \
            *field = (name);                                                                       \
        return (code);                                                                             \
    } while (0)

static int is_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static int role_ok(uint8_t role)
{
    return role >= 1 && role <= RP_P2P_ROLE_MAX;
}

/* A user agent is printable ASCII: safe in a log line or a terminal as it
 * is, and free of NUL, so the struct's C string has the wire's length. */
static int user_agent_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++)
        if (u[i] < 0x20 || u[i] > 0x7E)
            return 0;
    return 1;
}

/* Address bytes a network carries, 0 for an unknown network. */
static size_t ip_len(uint8_t network)
{
    return network == RP_P2P_NET_IPV4 ? 4 : network == RP_P2P_NET_IPV6 ? 16 : 0;
}

/* ::ffff:0:0/96 holds IPv4 addresses, which have their own network id (as
 * BIP 155 rules): one address, one encoding. */
static int ipv4_mapped(const unsigned char ip[static 16])
{
    return is_zero(ip, 10) && ip[10] == 0xFF && ip[11] == 0xFF;
}

static int check_range(uint64_t from, uint16_t count, const char **field)
{
    if (from == 0)
        FAIL(RP_ERR_RANGE, "from"); /* height 1 is the first block */
    if (count == 0)
        FAIL(RP_ERR_RANGE, "count");
    if (count > RP_P2P_MAX_BLOCKS)
        FAIL(RP_ERR_TOO_LONG, "count");
    if (from > UINT64_MAX - (count - 1u))
        FAIL(RP_ERR_RANGE, "from"); /* the last height must exist */
    return 0;
}

/* The error names the length field as the decoder does (record_length...),
 * or the bytes for a NULL view, which only a caller can make. */
static int check_view(const rp_p2p_view *v, size_t max, const char *len_name, const char *name,
                      const char **field)
{
    if (v->len == 0)
        FAIL(RP_ERR_RANGE, len_name);
    if (v->len > max)
        FAIL(RP_ERR_TOO_LONG, len_name);
    if (!v->bytes)
        FAIL(RP_ERR_INVALID_ARG, name);
    return 0;
}

static int check_fields(const rp_p2p_msg *m, const char **field)
{
    int err;
    switch (m->type) {
    case RP_P2P_MSG_HELLO: {
        const rp_p2p_hello *h = &m->body.hello;
        if (!role_ok(h->role))
            FAIL(RP_ERR_RANGE, "role");
        size_t n = strnlen(h->user_agent, sizeof h->user_agent);
        if (n > RP_P2P_USER_AGENT_MAX)
            FAIL(RP_ERR_TOO_LONG, "user_agent");
        if (!user_agent_ok(h->user_agent, n))
            FAIL(RP_ERR_BAD_UTF8, "user_agent");
        return 0;
    }
    case RP_P2P_MSG_STATUS: {
        const rp_p2p_status *s = &m->body.status;
        if (s->version == 0)
            FAIL(RP_ERR_RANGE, "version");
        if (s->height == 0 && !is_zero(s->head.bytes, 32))
            FAIL(RP_ERR_NONCANONICAL, "head");
        if (!role_ok(s->role))
            FAIL(RP_ERR_RANGE, "role");
        if (s->low_height > s->height)
            FAIL(RP_ERR_RANGE, "low_height");
        return 0;
    }
    case RP_P2P_MSG_PING:
    case RP_P2P_MSG_PONG:
    case RP_P2P_MSG_GETADDR:
        return 0;
    case RP_P2P_MSG_ADDR: {
        const rp_p2p_addr_list *a = &m->body.addr;
        if (a->count > RP_P2P_MAX_ADDR)
            FAIL(RP_ERR_TOO_LONG, "count");
        for (size_t i = 0; i < a->count; i++) {
            const rp_p2p_addr *e = &a->entries[i];
            size_t n = ip_len(e->network);
            if (n == 0)
                FAIL(RP_ERR_RANGE, "network");
            if (!is_zero(e->ip + n, sizeof e->ip - n) ||
                (e->network == RP_P2P_NET_IPV6 && ipv4_mapped(e->ip)))
                FAIL(RP_ERR_NONCANONICAL, "address");
            if (e->port == 0)
                FAIL(RP_ERR_RANGE, "port");
            if (!role_ok(e->role))
                FAIL(RP_ERR_RANGE, "role");
        }
        return 0;
    }
    case RP_P2P_MSG_INV:
    case RP_P2P_MSG_GETDATA:
        /* An empty announcement or request says nothing: refused, so that
         * it cannot be used to keep a connection busy for free. */
        if (m->body.ids.count == 0)
            FAIL(RP_ERR_RANGE, "count");
        if (m->body.ids.count > RP_P2P_MAX_INV)
            FAIL(RP_ERR_TOO_LONG, "count");
        return 0;
    case RP_P2P_MSG_RECORDS: {
        /* Empty is allowed: it answers a GETDATA of which nothing is left. */
        const rp_p2p_records *rs = &m->body.records;
        if (rs->count > RP_P2P_MAX_RECORDS)
            FAIL(RP_ERR_TOO_LONG, "count");
        for (size_t i = 0; i < rs->count; i++)
            if ((err = check_view(&rs->records[i], RP_RECORD_MAX_SIZE, "record_length", "record",
                                  field)) != 0)
                return err;
        return 0;
    }
    case RP_P2P_MSG_NEWBLOCK:
        if (m->body.newblock.height == 0)
            FAIL(RP_ERR_RANGE, "height");
        return 0;
    case RP_P2P_MSG_GETBLOCKS:
    case RP_P2P_MSG_NOBLOCKS:
        return check_range(m->body.range.from, m->body.range.count, field);
    case RP_P2P_MSG_BLOCKS: {
        const rp_p2p_blocks *b = &m->body.blocks;
        if ((err = check_range(b->from, b->count, field)) != 0)
            return err;
        for (size_t i = 0; i < b->count; i++) {
            const rp_p2p_block_pair *p = &b->pairs[i];
            err = check_view(&p->block, RP_BLOCK_MAX_SIZE, "block_length", "block", field);
            if (!err)
                err = check_view(&p->commit, RP_COMMIT_MAX_SIZE, "commit_length", "commit", field);
            if (err)
                return err;
        }
        return 0;
    }
    default:
        FAIL(RP_ERR_BAD_TYPE, "type");
    }
}

/* ---- the layouts ------------------------------------------------------ */

static void put_view32(rp_writer *w, const rp_p2p_view *v)
{
    rp_put_u32(w, (uint32_t)v->len);
    rp_put_bytes(w, v->bytes, v->len);
}

static void put_view16(rp_writer *w, const rp_p2p_view *v)
{
    rp_put_u16(w, (uint16_t)v->len);
    rp_put_bytes(w, v->bytes, v->len);
}

/* Writes m, which has passed check_fields (so every count indexes inside its
 * array and every length fits its width). */
static void put_msg(rp_writer *w, const rp_p2p_msg *m)
{
    rp_put_u8(w, m->type);
    switch (m->type) {
    case RP_P2P_MSG_HELLO: {
        const rp_p2p_hello *h = &m->body.hello;
        rp_put_bytes(w, h->node_key.bytes, 32);
        rp_put_bytes(w, h->binding.bytes, 64);
        rp_put_u16(w, h->port);
        rp_put_u8(w, h->role);
        rp_put_var(w, (const unsigned char *)h->user_agent,
                   strnlen(h->user_agent, sizeof h->user_agent), RP_P2P_USER_AGENT_MAX);
        break;
    }
    case RP_P2P_MSG_STATUS: {
        const rp_p2p_status *s = &m->body.status;
        rp_put_u32(w, s->version);
        rp_put_bytes(w, s->chain_id.bytes, 32);
        rp_put_u64(w, s->height);
        rp_put_bytes(w, s->head.bytes, 32);
        rp_put_u8(w, s->role);
        rp_put_u64(w, s->low_height);
        break;
    }
    case RP_P2P_MSG_PING:
    case RP_P2P_MSG_PONG:
        rp_put_u64(w, m->body.nonce);
        break;
    case RP_P2P_MSG_GETADDR:
        break;
    case RP_P2P_MSG_ADDR: {
        const rp_p2p_addr_list *a = &m->body.addr;
        rp_put_u16(w, a->count);
        for (size_t i = 0; i < a->count; i++) {
            const rp_p2p_addr *e = &a->entries[i];
            rp_put_u8(w, e->network);
            rp_put_bytes(w, e->ip, ip_len(e->network));
            rp_put_u16(w, e->port);
            rp_put_u8(w, e->role);
            rp_put_u64(w, e->last_seen);
            rp_put_bytes(w, e->node_id.bytes, 32);
        }
        break;
    }
    case RP_P2P_MSG_INV:
    case RP_P2P_MSG_GETDATA:
        rp_put_u16(w, m->body.ids.count);
        for (size_t i = 0; i < m->body.ids.count; i++)
            rp_put_bytes(w, m->body.ids.ids[i].bytes, 32);
        break;
    case RP_P2P_MSG_RECORDS:
        rp_put_u16(w, m->body.records.count);
        for (size_t i = 0; i < m->body.records.count; i++)
            put_view16(w, &m->body.records.records[i]);
        break;
    case RP_P2P_MSG_NEWBLOCK:
        rp_put_u64(w, m->body.newblock.height);
        rp_put_bytes(w, m->body.newblock.hash.bytes, 32);
        break;
    case RP_P2P_MSG_GETBLOCKS:
    case RP_P2P_MSG_NOBLOCKS:
        rp_put_u64(w, m->body.range.from);
        rp_put_u16(w, m->body.range.count);
        break;
    case RP_P2P_MSG_BLOCKS:
        rp_put_u64(w, m->body.blocks.from);
        rp_put_u16(w, m->body.blocks.count);
        for (size_t i = 0; i < m->body.blocks.count; i++) {
            put_view32(w, &m->body.blocks.pairs[i].block);
            put_view16(w, &m->body.blocks.pairs[i].commit);
        }
        break;
    default:
        break; /* unreachable: check_fields refused it */
    }
}

/* A count read from the wire, refused before anything it counts is read:
 * below min is RP_ERR_RANGE, above max RP_ERR_TOO_LONG. Returns 0 on error. */
static size_t get_count(rp_reader *r, size_t min, size_t max)
{
    size_t n = rp_get_u16(r, "count");
    if (!r->err && n < min)
        rp_reader_fail(r, RP_ERR_RANGE, "count");
    if (!r->err && n > max)
        rp_reader_fail(r, RP_ERR_TOO_LONG, "count");
    return r->err ? 0 : n;
}

/* A length and a view of that many bytes; the length is bounded first. */
static void get_view(rp_reader *r, rp_p2p_view *v, int wide, size_t max, const char *len_name,
                     const char *name)
{
    size_t n = wide ? rp_get_u32(r, len_name) : rp_get_u16(r, len_name);
    if (!r->err && n == 0)
        rp_reader_fail(r, RP_ERR_RANGE, len_name);
    if (!r->err && n > max)
        rp_reader_fail(r, RP_ERR_TOO_LONG, len_name);
    v->bytes = rp_get_view(r, r->err ? 0 : n, name);
    v->len = r->err ? 0 : n;
    if (r->err)
        v->bytes = NULL;
}

/* The mirror of put_msg, for a known type. */
static void get_body(rp_reader *r, rp_p2p_msg *m)
{
    switch (m->type) {
    case RP_P2P_MSG_HELLO: {
        rp_p2p_hello *h = &m->body.hello;
        rp_get_bytes(r, h->node_key.bytes, 32, "node_key");
        rp_get_bytes(r, h->binding.bytes, 64, "binding");
        h->port = rp_get_u16(r, "port");
        h->role = rp_get_u8(r, "role");
        size_t n =
            rp_get_var(r, (unsigned char *)h->user_agent, RP_P2P_USER_AGENT_MAX, "user_agent");
        /* Refused here, not only in check_fields: a NUL inside would
         * shorten the C string and re-encode differently. */
        if (!r->err && !user_agent_ok(h->user_agent, n))
            rp_reader_fail(r, RP_ERR_BAD_UTF8, "user_agent");
        break;
    }
    case RP_P2P_MSG_STATUS: {
        rp_p2p_status *s = &m->body.status;
        s->version = rp_get_u32(r, "version");
        rp_get_bytes(r, s->chain_id.bytes, 32, "chain_id");
        s->height = rp_get_u64(r, "height");
        rp_get_bytes(r, s->head.bytes, 32, "head");
        s->role = rp_get_u8(r, "role");
        s->low_height = rp_get_u64(r, "low_height");
        break;
    }
    case RP_P2P_MSG_PING:
    case RP_P2P_MSG_PONG:
        m->body.nonce = rp_get_u64(r, "nonce");
        break;
    case RP_P2P_MSG_GETADDR:
        break;
    case RP_P2P_MSG_ADDR: {
        rp_p2p_addr_list *a = &m->body.addr;
        size_t n = get_count(r, 0, RP_P2P_MAX_ADDR);
        a->count = (uint16_t)n;
        for (size_t i = 0; i < n && !r->err; i++) {
            rp_p2p_addr *e = &a->entries[i];
            e->network = rp_get_u8(r, "network");
            size_t iplen = ip_len(e->network);
            /* The network decides how long the address is: an unknown one
             * leaves nothing to read the rest by. */
            if (!r->err && iplen == 0)
                rp_reader_fail(r, RP_ERR_RANGE, "network");
            rp_get_bytes(r, e->ip, iplen, "address");
            e->port = rp_get_u16(r, "port");
            e->role = rp_get_u8(r, "role");
            e->last_seen = rp_get_u64(r, "last_seen");
            rp_get_bytes(r, e->node_id.bytes, 32, "node_id");
        }
        break;
    }
    case RP_P2P_MSG_INV:
    case RP_P2P_MSG_GETDATA: {
        size_t n = get_count(r, 1, RP_P2P_MAX_INV);
        m->body.ids.count = (uint16_t)n;
        for (size_t i = 0; i < n; i++)
            rp_get_bytes(r, m->body.ids.ids[i].bytes, 32, "id");
        break;
    }
    case RP_P2P_MSG_RECORDS: {
        size_t n = get_count(r, 0, RP_P2P_MAX_RECORDS);
        m->body.records.count = (uint16_t)n;
        for (size_t i = 0; i < n && !r->err; i++)
            get_view(r, &m->body.records.records[i], 0, RP_RECORD_MAX_SIZE, "record_length",
                     "record");
        break;
    }
    case RP_P2P_MSG_NEWBLOCK:
        m->body.newblock.height = rp_get_u64(r, "height");
        rp_get_bytes(r, m->body.newblock.hash.bytes, 32, "hash");
        break;
    case RP_P2P_MSG_GETBLOCKS:
    case RP_P2P_MSG_NOBLOCKS:
        m->body.range.from = rp_get_u64(r, "from");
        m->body.range.count = (uint16_t)get_count(r, 1, RP_P2P_MAX_BLOCKS);
        break;
    case RP_P2P_MSG_BLOCKS: {
        rp_p2p_blocks *b = &m->body.blocks;
        b->from = rp_get_u64(r, "from");
        size_t n = get_count(r, 1, RP_P2P_MAX_BLOCKS);
        b->count = (uint16_t)n;
        for (size_t i = 0; i < n && !r->err; i++) {
            get_view(r, &b->pairs[i].block, 1, RP_BLOCK_MAX_SIZE, "block_length", "block");
            get_view(r, &b->pairs[i].commit, 0, RP_COMMIT_MAX_SIZE, "commit_length", "commit");
        }
        break;
    }
    default:
        break; /* unreachable: the caller checked the type */
    }
}

/* The encoded size of a message that has passed check_fields. */
static size_t measure(const rp_p2p_msg *m)
{
    rp_writer w;
    size_t n = 0;
    rp_writer_init(&w, NULL, 0);
    put_msg(&w, m);
    (void)rp_writer_finish(&w, &n);
    return n;
}

int rp_p2p_msg_check(const rp_p2p_msg *m, const char **field)
{
    if (field)
        *field = NULL;
    int err = check_fields(m, field);
    if (err)
        return err;
    if (measure(m) > rp_p2p_msg_max_size(m->type))
        FAIL(RP_ERR_TOO_LONG, "length");
    return 0;
}

/* ---- encode and decode ------------------------------------------------ */

int rp_p2p_msg_encode(const rp_p2p_msg *m, unsigned char *out, size_t cap, size_t *len)
{
    *len = 0;
    int err = check_fields(m, NULL);
    if (err)
        return err;
    size_t n = measure(m);
    if (n > rp_p2p_msg_max_size(m->type))
        return RP_ERR_TOO_LONG;
    if (!out) {
        *len = n;
        return 0;
    }
    if (n > cap)
        return RP_ERR_BUFFER;
    rp_writer w;
    rp_writer_init(&w, out, cap);
    put_msg(&w, m);
    return rp_writer_finish(&w, len);
}

int rp_p2p_msg_decode(rp_p2p_msg *m, const unsigned char *in, size_t len, const char **field)
{
    memset(m, 0, sizeof *m);
    if (field)
        *field = NULL;
    rp_reader r;
    rp_reader_init(&r, in, len);
    /* Sizes first: nothing of an oversized message is looked at. */
    if (len > RP_P2P_MAX_MESSAGE)
        rp_reader_fail(&r, RP_ERR_TOO_LONG, "length");
    uint8_t type = rp_get_u8(&r, "type");
    if (!r.err && rp_p2p_msg_type_class(type) != RP_P2P_TYPE_KNOWN)
        rp_reader_fail(&r, RP_ERR_BAD_TYPE, "type");
    if (!r.err) {
        m->type = type;
        get_body(&r, m);
    }
    int err = rp_reader_finish(&r, field);
    if (!err)
        err = rp_p2p_msg_check(m, field);
    if (err)
        memset(m, 0, sizeof *m);
    return err;
}

/* ---- the HELLO binding ------------------------------------------------ */

void rp_p2p_binding_message(rp_hash *out, const rp_hash *chain_id,
                            const unsigned char x25519_static[static 32], uint32_t version)
{
    unsigned char buf[BINDING_INPUT_SIZE];
    rp_writer w;
    rp_writer_init(&w, buf, sizeof buf);
    rp_put_bytes(&w, chain_id->bytes, 32);
    rp_put_bytes(&w, x25519_static, 32);
    rp_put_u32(&w, version);
    rp_tagged_hash(out, RP_TAG_P2P_BINDING, buf, sizeof buf);
}

int rp_p2p_hello_sign(rp_p2p_hello *h, const rp_seckey *node_key, const rp_hash *chain_id,
                      const unsigned char x25519_static[static 32], uint32_t version,
                      const unsigned char aux[static 32])
{
    rp_hash msg;
    rp_p2p_binding_message(&msg, chain_id, x25519_static, version);
    int err = rp_pubkey_from_seckey(&h->node_key, node_key);
    if (!err)
        err = rp_sign(&h->binding, msg.bytes, sizeof msg.bytes, node_key, aux);
    if (err) {
        memset(&h->node_key, 0, sizeof h->node_key);
        memset(&h->binding, 0, sizeof h->binding);
    }
    return err;
}

int rp_p2p_hello_verify(const rp_p2p_hello *h, const rp_hash *chain_id,
                        const unsigned char x25519_static[static 32], uint32_t version)
{
    rp_hash msg;
    rp_p2p_binding_message(&msg, chain_id, x25519_static, version);
    return rp_verify(&h->binding, msg.bytes, sizeof msg.bytes, &h->node_key);
}
