/* The messages two repute nodes exchange: one canonical encoding for each.
 *
 * This is the application layer of the wire. The Noise handshake and the
 * framing (p2p/frame.h) deliver one message's bytes, already decrypted and
 * reassembled, at most RP_P2P_MAX_MESSAGE long; this module turns them into a
 * struct and back. docs/p2p.md, "Messages", is the normative description;
 * the layouts (all integers big-endian, as ledger/codec.h writes them):
 *
 *   message   = type u8 | body (fixed field order; nothing after it)
 *   HELLO     0x01  node_key 32 | binding 64 | port u16 | role u8 |
 *                   user_agent (u16 length 0..64 | printable ASCII)
 *   STATUS    0x02  version u32 | chain_id 32 | height u64 | head 32 |
 *                   role u8 | low_height u64
 *   PING      0x03  nonce u64
 *   PONG      0x04  nonce u64
 *   GETADDR   0x10  (empty)
 *   ADDR      0x11  count u16 (0..1000) | count x (network u8 | address 4
 *                   or 16 | port u16 | role u8 | last_seen u64 | node_id 32)
 *   INV       0x20  count u16 (1..1000) | count x record id 32
 *   GETDATA   0x21  count u16 (1..1000) | count x record id 32
 *   RECORDS   0x22  count u16 (0..1000) | count x (u16 length 1..512 |
 *                   record bytes)
 *   NEWBLOCK  0x30  height u64 | hash 32
 *   GETBLOCKS 0x31  from u64 | count u16 (1..128)
 *   BLOCKS    0x32  from u64 | count u16 (1..128) | count x (u32 length
 *                   1..RP_BLOCK_MAX_SIZE | block | u16 length
 *                   1..RP_COMMIT_MAX_SIZE | commit), the whole message at
 *                   most RP_P2P_MAX_MESSAGE
 *   NOBLOCKS  0x33  from u64 | count u16 (1..128)
 *   0x40..0x4F      reserved for consensus (PROPOSAL, VOTE, vote-set bits)
 *
 * Records, blocks and commits travel as their own canonical encodings
 * (ledger/record.h, ledger/block.h). This codec frames them and bounds their
 * lengths; their contents are decoded later, by their own decoders, by
 * whoever takes them in.
 *
 * Canonical both ways: whatever rp_p2p_msg_decode accepts re-encodes to
 * exactly the same bytes, and whatever rp_p2p_msg_encode accepts decodes
 * back to the same field values. Both apply one check (rp_p2p_msg_check), so
 * nothing is ever sent that a peer running this code would refuse.
 *
 * An rp_p2p_msg is large (about 64 KB, for ADDR's 1,000 entries): allocate
 * it rather than put one on a worker's stack. The record, block and commit
 * bytes of a decoded message are views into the decoder's input (valid while
 * that buffer is, and unchanged); for encoding they are the caller's,
 * borrowed for the call. Everything else is copied into the struct.
 *
 * Pointer arguments are never NULL unless a contract says so. The functions
 * are pure and thread-safe (rp_p2p_hello_sign and rp_p2p_hello_verify after
 * rp_crypto_init()).
 */
#ifndef RP_P2P_MSG_H
#define RP_P2P_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/record.h"
#include "p2p/proto.h"

/* Message types. Never reuse a number; a retired type stays refused. */
enum rp_p2p_msg_type {
    RP_P2P_MSG_HELLO = 0x01, /* the handshake payload (Noise messages 2 and 3) */
    RP_P2P_MSG_STATUS = 0x02,
    RP_P2P_MSG_PING = 0x03,
    RP_P2P_MSG_PONG = 0x04,
    RP_P2P_MSG_GETADDR = 0x10,
    RP_P2P_MSG_ADDR = 0x11,
    RP_P2P_MSG_INV = 0x20,
    RP_P2P_MSG_GETDATA = 0x21,
    RP_P2P_MSG_RECORDS = 0x22,
    RP_P2P_MSG_NEWBLOCK = 0x30,
    RP_P2P_MSG_GETBLOCKS = 0x31,
    RP_P2P_MSG_BLOCKS = 0x32,
    RP_P2P_MSG_NOBLOCKS = 0x33,
};

/* The range kept for the consensus messages of the next protocol addition
 * (planned: PROPOSAL 0x40, VOTE 0x41, vote-set bits 0x42). A node that does
 * not know a type in this range skips the message; any other unknown type
 * is a protocol violation (docs/p2p.md says why). */
#define RP_P2P_MSG_RESERVED_FIRST 0x40
#define RP_P2P_MSG_RESERVED_LAST  0x4F

/* Limits. Like those of p2p/proto.h, they are part of the wire. */
#define RP_P2P_USER_AGENT_MAX 64   /* bytes of printable ASCII */
#define RP_P2P_MAX_ADDR       1000 /* entries in one ADDR */
#define RP_P2P_MAX_INV        1000 /* ids in one INV or GETDATA */
#define RP_P2P_MAX_RECORDS    1000 /* records in one RECORDS */
#define RP_P2P_MAX_BLOCKS     128  /* heights in GETBLOCKS, BLOCKS, NOBLOCKS */

/* Encoded sizes (each includes the type byte). */
#define RP_P2P_HELLO_MIN_SIZE   (1 + 32 + 64 + 2 + 1 + 2)
#define RP_P2P_HELLO_MAX_SIZE   (RP_P2P_HELLO_MIN_SIZE + RP_P2P_USER_AGENT_MAX)
#define RP_P2P_STATUS_SIZE      (1 + 4 + 32 + 8 + 32 + 1 + 8)
#define RP_P2P_PING_SIZE        (1 + 8)
#define RP_P2P_ADDR_V4_SIZE     (1 + 4 + 2 + 1 + 8 + 32)  /* one IPv4 entry: 48 */
#define RP_P2P_ADDR_V6_SIZE     (1 + 16 + 2 + 1 + 8 + 32) /* one IPv6 entry: 60 */
#define RP_P2P_ADDR_MAX_SIZE    (1 + 2 + RP_P2P_MAX_ADDR * RP_P2P_ADDR_V6_SIZE)
#define RP_P2P_INV_MAX_SIZE     (1 + 2 + RP_P2P_MAX_INV * 32)
#define RP_P2P_RECORDS_MAX_SIZE (1 + 2 + RP_P2P_MAX_RECORDS * (2 + RP_RECORD_MAX_SIZE))
#define RP_P2P_NEWBLOCK_SIZE    (1 + 8 + 32)
#define RP_P2P_RANGE_SIZE       (1 + 8 + 2) /* GETBLOCKS and NOBLOCKS */
#define RP_P2P_BLOCKS_MAX_SIZE  RP_P2P_MAX_MESSAGE

/* What a node says it is (HELLO, STATUS, ADDR). A claim, not a proof: the
 * node key is not a validator key. */
enum rp_p2p_role { RP_P2P_ROLE_FULL = 1, RP_P2P_ROLE_VALIDATOR = 2 };
#define RP_P2P_ROLE_MAX 2

/* Address families of ADDR entries (BIP 155's numbers). */
enum rp_p2p_network { RP_P2P_NET_IPV4 = 1, RP_P2P_NET_IPV6 = 2 };

/* Bytes that belong to someone else: a record, a block or a commit. */
typedef struct rp_p2p_view {
    const unsigned char *bytes; /* borrowed, see the lifetime note above */
    size_t len;
} rp_p2p_view;

typedef struct rp_p2p_hello {
    rp_pubkey node_key; /* BIP-340 x-only: the node's identity on the network */
    rp_sig binding;     /* by node_key, over rp_p2p_binding_message */
    uint16_t port;      /* where it listens for peers; 0: it does not */
    uint8_t role;       /* enum rp_p2p_role */
    /* NUL-terminated, at most RP_P2P_USER_AGENT_MAX bytes of 0x20..0x7E. */
    char user_agent[RP_P2P_USER_AGENT_MAX + 1];
} rp_p2p_hello;

typedef struct rp_p2p_status {
    uint32_t version; /* RP_P2P_VERSION of the sender; at least 1 */
    rp_hash chain_id;
    uint64_t height;     /* its latest committed block; 0: none yet */
    rp_hash head;        /* that block's hash; zero at height 0 */
    uint8_t role;        /* enum rp_p2p_role */
    uint64_t low_height; /* lowest height it serves (1..height); 0: none */
} rp_p2p_status;

typedef struct rp_p2p_addr {
    uint8_t network;      /* enum rp_p2p_network */
    unsigned char ip[16]; /* IPv4: ip[0..4), the rest zero; IPv6: all 16,
                             never an IPv4-mapped address (::ffff:0:0/96) */
    uint16_t port;        /* 1..65535 */
    uint8_t role;         /* enum rp_p2p_role */
    uint64_t last_seen;   /* unix seconds */
    rp_pubkey node_id;    /* the node key its HELLO showed */
} rp_p2p_addr;

typedef struct rp_p2p_addr_list { /* ADDR */
    uint16_t count;               /* 0..RP_P2P_MAX_ADDR */
    rp_p2p_addr entries[RP_P2P_MAX_ADDR];
} rp_p2p_addr_list;

typedef struct rp_p2p_ids { /* INV, GETDATA */
    uint16_t count;         /* 1..RP_P2P_MAX_INV */
    rp_hash ids[RP_P2P_MAX_INV];
} rp_p2p_ids;

typedef struct rp_p2p_records {              /* RECORDS */
    uint16_t count;                          /* 0..RP_P2P_MAX_RECORDS */
    rp_p2p_view records[RP_P2P_MAX_RECORDS]; /* each 1..RP_RECORD_MAX_SIZE */
} rp_p2p_records;

typedef struct rp_p2p_newblock { /* NEWBLOCK */
    uint64_t height;             /* at least 1 */
    rp_hash hash;                /* its header hash */
} rp_p2p_newblock;

typedef struct rp_p2p_range { /* GETBLOCKS, NOBLOCKS */
    uint64_t from;            /* at least 1 */
    uint16_t count;           /* 1..RP_P2P_MAX_BLOCKS; from + count - 1 fits */
} rp_p2p_range;

typedef struct rp_p2p_block_pair {
    rp_p2p_view block;  /* 1..RP_BLOCK_MAX_SIZE: a block (ledger/block.h) */
    rp_p2p_view commit; /* 1..RP_COMMIT_MAX_SIZE: the commit that finalized it */
} rp_p2p_block_pair;

typedef struct rp_p2p_blocks { /* BLOCKS: heights from .. from + count - 1 */
    uint64_t from;             /* as rp_p2p_range */
    uint16_t count;
    rp_p2p_block_pair pairs[RP_P2P_MAX_BLOCKS];
} rp_p2p_blocks;

/* One message. body holds the member that type names; the others are
 * unused (a decoded message has them zero). */
typedef struct rp_p2p_msg {
    uint8_t type; /* enum rp_p2p_msg_type */
    union {
        rp_p2p_hello hello;       /* HELLO */
        rp_p2p_status status;     /* STATUS */
        uint64_t nonce;           /* PING, PONG */
        rp_p2p_addr_list addr;    /* ADDR (GETADDR has no body) */
        rp_p2p_ids ids;           /* INV, GETDATA */
        rp_p2p_records records;   /* RECORDS */
        rp_p2p_newblock newblock; /* NEWBLOCK */
        rp_p2p_range range;       /* GETBLOCKS, NOBLOCKS */
        rp_p2p_blocks blocks;     /* BLOCKS */
    } body;
} rp_p2p_msg;

/* How a receiver treats a type byte. */
enum rp_p2p_type_class {
    RP_P2P_TYPE_INVALID = 0,  /* a protocol violation */
    RP_P2P_TYPE_KNOWN = 1,    /* decode it */
    RP_P2P_TYPE_RESERVED = 2, /* skip the message (and count it) */
};

/* Classify a message's first byte: the session asks before decoding, since
 * rp_p2p_msg_decode refuses every type it cannot decode, reserved or not.
 * Returns: an enum rp_p2p_type_class. */
int rp_p2p_msg_type_class(unsigned type);

/* Returns: a static lowercase name ("hello", "blocks", ...), "reserved" for
 * the reserved range, "unknown" otherwise. */
const char *rp_p2p_msg_type_name(unsigned type);

/* Returns: the largest encoding of a known type, its type byte included
 * (RP_P2P_MAX_MESSAGE for BLOCKS); 0 for any other type. */
size_t rp_p2p_msg_max_size(unsigned type);

/* Zero a message and set its type (for building one to encode).
 * Out: m.  In: type (not checked here: rp_p2p_msg_encode checks it). */
void rp_p2p_msg_init(rp_p2p_msg *m, unsigned type);

/* Constructors of the small messages: rp_p2p_msg_init, then the fields. */
void rp_p2p_msg_ping(rp_p2p_msg *m, uint64_t nonce);
void rp_p2p_msg_pong(rp_p2p_msg *m, uint64_t nonce);
void rp_p2p_msg_newblock(rp_p2p_msg *m, uint64_t height, const rp_hash *hash);
void rp_p2p_msg_getblocks(rp_p2p_msg *m, uint64_t from, uint16_t count);
void rp_p2p_msg_noblocks(rp_p2p_msg *m, uint64_t from, uint16_t count);

/* Check a message as the decoder would, without encoding it.
 * Returns: 0; RP_ERR_BAD_TYPE (not a known type; the reserved range
 *          included); RP_ERR_RANGE (a role, network, port 0 in ADDR, a count
 *          or length of 0 where at least 1 is needed, a version of 0, from 0
 *          or from + count - 1 past 2^64 - 1, low_height not 0 and not in
 *          1..height); RP_ERR_TOO_LONG (a count or length above its limit,
 *          or the encoding above rp_p2p_msg_max_size); RP_ERR_BAD_UTF8 (a
 *          user-agent byte outside 0x20..0x7E); RP_ERR_NONCANONICAL (an
 *          IPv4-mapped IPv6 address, IPv4 bytes past the fourth not zero, a
 *          head hash not zero at height 0); RP_ERR_INVALID_ARG (a view with
 *          NULL bytes).
 * Out:     field: if not NULL, the name of the offending field (a static
 *          string) or NULL.
 */
int rp_p2p_msg_check(const rp_p2p_msg *m, const char **field) __attribute__((warn_unused_result));

/* Encode a message.
 * Returns: 0; any error of rp_p2p_msg_check; RP_ERR_BUFFER if cap is too
 *          small. *len is 0 on failure.
 * Out:     out[0..*len). out may be NULL (cap is then ignored): nothing is
 *          written and *len is the size the encoding needs, after the same
 *          checks.
 * In:      m; cap: rp_p2p_msg_max_size(m->type) is always enough.
 */
int rp_p2p_msg_encode(const rp_p2p_msg *m, unsigned char *out, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decode one message from exactly len bytes of untrusted input.
 * len is checked against RP_P2P_MAX_MESSAGE before anything is read, every
 * count and length against its limit before anything it counts is read.
 * Nothing is allocated.
 * Returns: 0; RP_ERR_TRUNCATED (len 0 included); RP_ERR_TRAILING;
 *          RP_ERR_TOO_LONG (len above RP_P2P_MAX_MESSAGE, or a count or
 *          length above its limit); RP_ERR_BAD_TYPE
 *          (an unknown type: ask rp_p2p_msg_type_class whether to skip it);
 *          RP_ERR_RANGE, RP_ERR_BAD_UTF8, RP_ERR_NONCANONICAL as
 *          rp_p2p_msg_check. m is zeroed on failure.
 * Out:     m: the message, its views pointing into in[0..len); field: if
 *          not NULL, the name of the offending field (a static string) or
 *          NULL on success.
 * In:      in, len (in may be NULL when len is 0). On success
 *          rp_p2p_msg_encode(m) gives back exactly in[0..len).
 */
int rp_p2p_msg_decode(rp_p2p_msg *m, const unsigned char *in, size_t len, const char **field)
    __attribute__((warn_unused_result));

/* The HELLO binding: what a node key signs so that a peer knows which node
 * sits behind the X25519 static key its Noise handshake saw. */

/* The 32 bytes the binding signs:
 *   TH("repute/p2p-binding/v1", chain_id 32 | x25519_static 32 | version u32)
 * (68 bytes hashed, version big-endian).
 * Out: out.  In: chain_id; x25519_static: the signer's X25519 static public
 *      key; version: the protocol version (RP_P2P_VERSION).
 */
void rp_p2p_binding_message(rp_hash *out, const rp_hash *chain_id,
                            const unsigned char x25519_static[static 32], uint32_t version);

/* Sign a HELLO's binding: sets h->node_key to node_key's public key and
 * h->binding to its BIP-340 signature of rp_p2p_binding_message. Leaves
 * port, role and user_agent as they are.
 * Returns: 0; RP_ERR_BAD_KEY if node_key is not a valid secret key;
 *          RP_ERR_SIGN. On failure h->node_key and h->binding are zeroed.
 * Out:     h->node_key, h->binding.
 * In:      node_key: the node's secret key (borrowed; the caller wipes it);
 *          chain_id; x25519_static: the sender's own X25519 static public
 *          key; version;
 *          aux: 32 bytes of fresh randomness (rp_aux_fresh), or derived ones
 *          in tests.
 */
int rp_p2p_hello_sign(rp_p2p_hello *h, const rp_seckey *node_key, const rp_hash *chain_id,
                      const unsigned char x25519_static[static 32], uint32_t version,
                      const unsigned char aux[static 32]) __attribute__((warn_unused_result));

/* Check a peer's HELLO binding against the X25519 static key that the Noise
 * handshake authenticated for that peer, this node's chain id and version.
 * Returns: 1 if h->binding is a valid signature by h->node_key of
 *          rp_p2p_binding_message(chain_id, x25519_static, version); 0
 *          otherwise (including a node_key that is not a valid x-only key).
 */
int rp_p2p_hello_verify(const rp_p2p_hello *h, const rp_hash *chain_id,
                        const unsigned char x25519_static[static 32], uint32_t version)
    __attribute__((warn_unused_result));

#endif /* RP_P2P_MSG_H */
