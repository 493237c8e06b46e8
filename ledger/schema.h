/* The whole LMDB schema of a repute datadir, in one place: the tables, the
 * layout of every key and value, their sizes, and the codecs that read and
 * write them.
 *
 * One environment at DATADIR/ledger/ holds the named databases below. Every
 * integer in a key or value is big-endian, so LMDB's byte order is numeric
 * order and tables keyed by height can be written with MDB_APPEND. Every
 * value is written and read through the codecs declared here (built on
 * ledger/codec.h), never by hand elsewhere; docs/storage.md has the same
 * tables for users. Any change to a key or value layout bumps
 * RP_SCHEMA_VERSION; a datadir of another version is refused at open with a
 * clear message.
 *
 * "state" tables are consensus state: every change to them in a block goes
 * into that block's state hash, and `reputed verify` rebuilds them from
 * genesis and compares them entry by entry. "chain" tables hold the blocks
 * themselves, "meta" the datadir's identity and tip.
 *
 * The decoders take bytes read back from LMDB, which a damaged or tampered
 * datadir may have changed: every one checks the exact size and returns
 * RP_ERR_CORRUPT (with its output zeroed) rather than trusting them.
 */
#ifndef RP_SCHEMA_H
#define RP_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/errors.h"
#include "ledger/record.h"

#define RP_SCHEMA_VERSION 4

/* X(enum name, LMDB name, kind: 1 = state, 0 = chain/meta)
 *
 * meta          "schema" -> u32 version
 *               "genesis" -> canonical genesis encoding (ledger/genesis.h)
 *               "chain_id" -> 32
 *               "tip" -> RP_TIP_SIZE: height u64 | head hash 32 |
 *                        state hash 32 | time_ms u64 | commit hash 32 |
 *                        epoch u64 | score root 32
 * headers       height u64 -> header (RP_HEADER_SIZE bytes)
 * bodies        height u64 -> the block's record list, as in the block encoding
 *               after the header (u16 length | record)*
 * commits       height u64 -> commit encoding
 * hash_height   header hash 32 -> height u64
 *
 * records       record id 32 -> RP_LOCATION_SIZE: height u64 | index u32
 * identities    name 32 -> key 32 | recovery commitment 32 | role u8 |
 *               display name (u16 length | bytes) | profile 32 | sequence u64 |
 *               registered height u64 | updated height u64 |
 *               reviews received u32 | reviews given u32 | vouches received u32 |
 *               engagements u32   (at most RP_IDENTITY_STATE_MAX bytes)
 * keys          x-only key 32 -> identity name 32 (every key ever used)
 * engagements   engagement id 32 -> RP_ENGAGEMENT_STATE_SIZE: initiator 32 |
 *               counterparty 32 | kind u8 | height u64 | live review by
 *               initiator 32 | by counterparty 32 (zero when none)
 * reviews       review id 32 -> RP_REVIEW_STATE_SIZE: issuer 32 | subject 32 |
 *               engagement 32 | overall u8 | dimensions 4 | time u64 |
 *               height u64 | live u8
 * by_subject    subject 32 | review id 32 -> "" (live reviews only)
 * by_issuer     issuer 32 | review id 32 -> "" (live reviews only)
 * vouches       issuer 32 | subject 32 -> RP_VOUCH_STATE_SIZE: vouch id 32 |
 *               relation u8 | height u64   (live vouches only)
 * vouch_ids     vouch id 32 -> RP_VOUCH_ID_STATE_SIZE: issuer 32 | subject 32 |
 *               live u8
 * revocations   target id 32 -> RP_REVOCATION_SIZE: revoke record id 32 |
 *               height u64
 * scores        epoch u64 | identity 32 (RP_SCORE_KEY_SIZE) ->
 *               RP_SCORE_VALUE_SIZE: trust u64 | rating u32 | reviews u32 |
 *               score u16 | confidence u16
 *               (the last RP_SCORE_HISTORY epochs; the Merkle leaf of an entry
 *               is identity | value, RP_SCORE_LEAF_SIZE bytes, in identity
 *               order: ledger/proof.h)
 * epochs        epoch u64 -> RP_EPOCH_VALUE_SIZE: snapshot height u64 |
 *               commit height u64 | score root 32 | identities u32
 *               (the same epochs)
 * evidence      validator 32 | vote height u64 | round u32 | vote type u8
 *               (RP_EVIDENCE_KEY_SIZE) -> RP_EVIDENCE_VALUE_SIZE: block
 *               height u64 | record index u32 | record id 32 |
 *               block_hash_a 32 | block_hash_b 32
 *               (one entry per EVIDENCE record on chain; schema 3)
 * attestations  attestation id 32 -> at most RP_ATTEST_STATE_MAX bytes:
 *               attester 32 | subject 32 | platform u8 | followers u64 |
 *               authentic ppm u32 | engagement ppm u32 | period start u64 |
 *               period end u64 | expiry u64 | time u64 | height u64 |
 *               ended u64 | handle (u16 length | bytes)
 *               (every AUDIENCE record on chain; ended is the height of the
 *               REVOKE or the replacing AUDIENCE, 0 while live; schema 4)
 * attest_live   subject 32 | platform u8 | attester 32 (RP_ATTEST_KEY_SIZE)
 *               -> attestation id 32   (live attestations only)
 * audience      epoch u64 | subject 32 | platform u8 (RP_AUDIENCE_KEY_SIZE)
 *               -> RP_AUDIENCE_VALUE_SIZE: attesters u32 | total trust u64 |
 *               has figure u8 | followers u64 | authentic ppm u32 |
 *               engagement ppm u32   (the same epochs as scores; the Merkle
 *               leaf of an entry is subject | platform | value,
 *               RP_AUDIENCE_LEAF_SIZE bytes, in key order; docs/trust.md)
 * audience_roots epoch u64 -> RP_AUDIENCE_ROOT_SIZE: audience root 32 |
 *               rows u32   (only for epochs with at least one row)
 */
#define RP_SCORE_HISTORY 8
/* An AUDIENCE attestation counts for at most this long after its time (a
 * consensus constant, docs/rules.md): 366 days. */
#define RP_AUDIENCE_MAX_TTL_S (366u * 86400u)
#define RP_SCHEMA_TABLES(X)                                                                        \
    X(RP_DB_META, "meta", 0)                                                                       \
    X(RP_DB_HEADERS, "headers", 0)                                                                 \
    X(RP_DB_BODIES, "bodies", 0)                                                                   \
    X(RP_DB_COMMITS, "commits", 0)                                                                 \
    X(RP_DB_HASH_HEIGHT, "hash_height", 0)                                                         \
    X(RP_DB_RECORDS, "records", 1)                                                                 \
    X(RP_DB_IDENTITIES, "identities", 1)                                                           \
    X(RP_DB_KEYS, "keys", 1)                                                                       \
    X(RP_DB_ENGAGEMENTS, "engagements", 1)                                                         \
    X(RP_DB_REVIEWS, "reviews", 1)                                                                 \
    X(RP_DB_BY_SUBJECT, "by_subject", 1)                                                           \
    X(RP_DB_BY_ISSUER, "by_issuer", 1)                                                             \
    X(RP_DB_VOUCHES, "vouches", 1)                                                                 \
    X(RP_DB_VOUCH_IDS, "vouch_ids", 1)                                                             \
    X(RP_DB_REVOCATIONS, "revocations", 1)                                                         \
    X(RP_DB_SCORES, "scores", 1)                                                                   \
    X(RP_DB_EPOCHS, "epochs", 1)                                                                   \
    X(RP_DB_EVIDENCE, "evidence", 1)                                                               \
    X(RP_DB_ATTESTATIONS, "attestations", 1)                                                       \
    X(RP_DB_ATTEST_LIVE, "attest_live", 1)                                                         \
    X(RP_DB_AUDIENCE, "audience", 1)                                                               \
    X(RP_DB_AUDIENCE_ROOTS, "audience_roots", 1)

enum rp_db {
#define RP_SCHEMA_ENUM(id, name, state) id,
    RP_SCHEMA_TABLES(RP_SCHEMA_ENUM)
#undef RP_SCHEMA_ENUM
        RP_DB_COUNT
};

/* A table's LMDB name, and whether it is a state table. db must be a valid
 * enum rp_db value. */
const char *rp_schema_table_name(int db);
int rp_schema_table_is_state(int db);

/* ---- sizes ------------------------------------------------------------------ */

#define RP_HEIGHT_KEY_SIZE       8  /* headers, bodies, commits; the value of hash_height */
#define RP_PAIR_KEY_SIZE         64 /* by_subject, by_issuer, vouches */
#define RP_MAX_KEY_SIZE          65 /* no key of any table is longer (attest_live) */
#define RP_TIP_SIZE              (8 + 32 + 32 + 8 + 32 + 8 + 32)
#define RP_LOCATION_SIZE         (8 + 4)
#define RP_IDENTITY_STATE_MAX    256
#define RP_ENGAGEMENT_STATE_SIZE (32 + 32 + 1 + 8 + 32 + 32)
#define RP_REVIEW_STATE_SIZE     (32 + 32 + 32 + 1 + RP_REVIEW_DIMS + 8 + 8 + 1)
#define RP_VOUCH_STATE_SIZE      (32 + 1 + 8)
#define RP_VOUCH_ID_STATE_SIZE   (32 + 32 + 1)
#define RP_REVOCATION_SIZE       (32 + 8)
#define RP_SCORE_KEY_SIZE        (8 + 32)
#define RP_SCORE_VALUE_SIZE      (8 + 4 + 4 + 2 + 2)
#define RP_SCORE_LEAF_SIZE       (32 + RP_SCORE_VALUE_SIZE)
#define RP_EPOCH_VALUE_SIZE      (8 + 8 + 32 + 4)
#define RP_EVIDENCE_KEY_SIZE     (32 + 8 + 4 + 1)
#define RP_EVIDENCE_VALUE_SIZE   (8 + 4 + 32 + 32 + 32)
#define RP_ATTEST_STATE_MAX      (32 + 32 + 1 + 8 + 4 + 4 + 8 * 6 + 2 + RP_HANDLE_MAX)
#define RP_ATTEST_KEY_SIZE       (32 + 1 + 32)
#define RP_AUDIENCE_KEY_SIZE     (8 + 32 + 1)
#define RP_AUDIENCE_VALUE_SIZE   (4 + 8 + 1 + 8 + 4 + 4)
#define RP_AUDIENCE_LEAF_SIZE    (32 + 1 + RP_AUDIENCE_VALUE_SIZE)
#define RP_AUDIENCE_ROOT_SIZE    (32 + 4)

/* ---- values ----------------------------------------------------------------- */

/* meta "tip": the chain tip. At height 0 (no block yet) the hashes are zero,
 * the state hash is TH("repute/state/v1", chain id), time_ms is
 * genesis_time*1000 and the score root is the empty table's. */
typedef struct rp_tip {
    uint64_t height;
    rp_hash head_hash;
    rp_hash state_hash;
    uint64_t time_ms;
    rp_hash commit_hash;
    uint64_t epoch;
    rp_hash score_root;
} rp_tip;

/* records: where a record is on chain. */
typedef struct rp_location {
    uint64_t height;
    uint32_t index;
} rp_location;

/* identities: a registered identity's state. */
typedef struct rp_identity_state {
    rp_pubkey key;    /* current signing key */
    rp_hash recovery; /* recovery commitment; zero = none */
    uint8_t role;
    uint8_t name_len;
    char name[RP_NAME_MAX + 1];
    rp_hash profile;
    uint64_t seq; /* last sequence used */
    uint64_t registered_height;
    uint64_t updated_height;
    uint32_t reviews_received;
    uint32_t reviews_given;
    uint32_t vouches_received;
    uint32_t engagements;
} rp_identity_state;

/* engagements */
typedef struct rp_engagement_state {
    rp_pubkey initiator, counterparty;
    uint8_t kind;
    uint64_t height;
    rp_hash review_by_initiator, review_by_counterparty; /* zero: none live */
} rp_engagement_state;

/* reviews (live and revoked) */
typedef struct rp_review_state {
    rp_pubkey issuer, subject;
    rp_hash engagement;
    uint8_t overall;
    uint8_t dims[RP_REVIEW_DIMS];
    uint64_t time, height;
    uint8_t live;
} rp_review_state;

/* vouches (live ones, keyed by issuer | subject) */
typedef struct rp_vouch_state {
    rp_hash id;
    uint8_t relation;
    uint64_t height;
} rp_vouch_state;

/* vouch_ids (every vouch, keyed by its record id) */
typedef struct rp_vouch_id_state {
    rp_pubkey issuer, subject;
    uint8_t live;
} rp_vouch_id_state;

/* revocations (keyed by the revoked record's id) */
typedef struct rp_revocation {
    rp_hash by; /* the REVOKE record's id */
    uint64_t height;
} rp_revocation;

/* One row of an epoch's score table (the scores table; docs/trust.md). */
typedef struct rp_score_row {
    rp_pubkey identity;
    uint64_t trust;  /* units of 2^-60 */
    uint32_t rating; /* micro-stars */
    uint32_t reviews;
    uint16_t score;      /* 0..1000 */
    uint16_t confidence; /* 0..1000 */
} rp_score_row;

/* A committed epoch (the epochs table). */
typedef struct rp_epoch_info {
    uint64_t epoch;
    uint64_t snapshot_height; /* b: the graph as it stood here */
    uint64_t commit_height;   /* b + delay: the header carrying root */
    rp_hash root;             /* Merkle root of the table */
    uint32_t identities;      /* rows in the table */
} rp_epoch_info;

/* One EVIDENCE record on chain (the evidence table: the first four fields
 * are the key, the rest the value). */
typedef struct rp_evidence_row {
    rp_pubkey validator; /* the accused validator's key (the record's issuer) */
    uint64_t height;     /* the conflicting votes' height, round and type */
    uint32_t round;
    uint8_t vote_type;
    uint64_t block_height; /* where the record is on chain */
    uint32_t index;
    rp_hash id;             /* the record's id */
    rp_hash hash_a, hash_b; /* the two block hashes voted for, hash_a < hash_b */
} rp_evidence_row;

/* One AUDIENCE record on chain (attestations), live or not. */
typedef struct rp_attest_state {
    rp_pubkey attester, subject;
    uint8_t platform; /* enum rp_platform */
    uint64_t followers;
    uint32_t authentic_ppm, engagement_ppm;
    uint64_t period_start, period_end, expiry;
    uint64_t time;   /* the record's time */
    uint64_t height; /* the block that applied it */
    uint64_t ended;  /* height of the REVOKE or the replacement; 0: live */
    uint8_t handle_len;
    char handle[RP_HANDLE_MAX + 1];
} rp_attest_state;

/* One row of an epoch's audience table (docs/trust.md, "Audience"). */
typedef struct rp_audience_row {
    rp_pubkey subject;
    uint8_t platform;
    uint32_t attesters;   /* live, unexpired attestations counted */
    uint64_t total_trust; /* sum of their attesters' trust, units of 2^-60 */
    uint8_t has_figure;   /* 0 when total_trust is 0: the figures below are 0 */
    uint64_t followers;   /* trust-weighted medians */
    uint32_t authentic_ppm;
    uint32_t engagement_ppm;
} rp_audience_row;

/* ---- codecs ------------------------------------------------------------------
 *
 * Encoders write exactly the documented size (or, for identities, at most
 * RP_IDENTITY_STATE_MAX bytes) and cannot fail on valid input. Decoders:
 * Returns: 0, or RP_ERR_CORRUPT if the bytes are not exactly one value of
 *          the layout (the output is then zeroed). */

void rp_be64_put(unsigned char out[static 8], uint64_t v);
uint64_t rp_be64_get(const unsigned char in[static 8]);

void rp_tip_encode(unsigned char out[static RP_TIP_SIZE], const rp_tip *t);
int rp_tip_decode(rp_tip *t, const unsigned char *in, size_t len);

void rp_location_encode(unsigned char out[static RP_LOCATION_SIZE], const rp_location *l);
int rp_location_decode(rp_location *l, const unsigned char *in, size_t len);

/* Returns: 0, or RP_ERR_TOO_LONG if the name is longer than RP_NAME_MAX.
 * Out: out[0..*len), at most RP_IDENTITY_STATE_MAX bytes. */
int rp_identity_state_encode(const rp_identity_state *st,
                             unsigned char out[static RP_IDENTITY_STATE_MAX], size_t *len);
int rp_identity_state_decode(rp_identity_state *st, const unsigned char *in, size_t len);

void rp_engagement_state_encode(unsigned char out[static RP_ENGAGEMENT_STATE_SIZE],
                                const rp_engagement_state *e);
int rp_engagement_state_decode(rp_engagement_state *e, const unsigned char *in, size_t len);

void rp_review_state_encode(unsigned char out[static RP_REVIEW_STATE_SIZE],
                            const rp_review_state *rv);
int rp_review_state_decode(rp_review_state *rv, const unsigned char *in, size_t len);

void rp_vouch_state_encode(unsigned char out[static RP_VOUCH_STATE_SIZE], const rp_vouch_state *v);
int rp_vouch_state_decode(rp_vouch_state *v, const unsigned char *in, size_t len);

void rp_vouch_id_state_encode(unsigned char out[static RP_VOUCH_ID_STATE_SIZE],
                              const rp_vouch_id_state *v);
int rp_vouch_id_state_decode(rp_vouch_id_state *v, const unsigned char *in, size_t len);

void rp_revocation_encode(unsigned char out[static RP_REVOCATION_SIZE], const rp_revocation *r);
int rp_revocation_decode(rp_revocation *r, const unsigned char *in, size_t len);

/* A pair key: a 32-byte identity followed by a 32-byte id or identity. */
void rp_pair_key(unsigned char out[static RP_PAIR_KEY_SIZE], const unsigned char a[static 32],
                 const unsigned char b[static 32]);

/* A scores key (epoch | identity) and value; a row from both. */
void rp_score_key(unsigned char out[static RP_SCORE_KEY_SIZE], uint64_t epoch,
                  const rp_pubkey *identity);
void rp_score_value_encode(unsigned char out[static RP_SCORE_VALUE_SIZE], const rp_score_row *row);
int rp_score_row_decode(rp_score_row *row, const unsigned char *key, size_t klen,
                        const unsigned char *val, size_t vlen);
/* The row's Merkle leaf bytes: identity | value. */
void rp_score_leaf_bytes(unsigned char out[static RP_SCORE_LEAF_SIZE], const rp_score_row *row);

/* An epochs value; the epoch number is the key, not in the value. */
void rp_epoch_value_encode(unsigned char out[static RP_EPOCH_VALUE_SIZE], const rp_epoch_info *e);
int rp_epoch_value_decode(rp_epoch_info *e, uint64_t epoch, const unsigned char *in, size_t len);

/* An evidence key, and a value; a row from both. */
void rp_evidence_key(unsigned char out[static RP_EVIDENCE_KEY_SIZE], const rp_pubkey *validator,
                     uint64_t height, uint32_t round, uint8_t vote_type);
void rp_evidence_value_encode(unsigned char out[static RP_EVIDENCE_VALUE_SIZE],
                              const rp_evidence_row *row);
int rp_evidence_row_decode(rp_evidence_row *row, const unsigned char *key, size_t klen,
                           const unsigned char *val, size_t vlen);

/* attestations values; the attest_live key. */
int rp_attest_state_encode(const rp_attest_state *st, unsigned char out[static RP_ATTEST_STATE_MAX],
                           size_t *len);
int rp_attest_state_decode(rp_attest_state *st, const unsigned char *in, size_t len);
void rp_attest_key(unsigned char out[static RP_ATTEST_KEY_SIZE], const rp_pubkey *subject,
                   uint8_t platform, const rp_pubkey *attester);

/* An audience key (epoch | subject | platform) and value; a row from both;
 * the row's Merkle leaf bytes (subject | platform | value). */
void rp_audience_key(unsigned char out[static RP_AUDIENCE_KEY_SIZE], uint64_t epoch,
                     const rp_pubkey *subject, uint8_t platform);
void rp_audience_value_encode(unsigned char out[static RP_AUDIENCE_VALUE_SIZE],
                              const rp_audience_row *row);
int rp_audience_row_decode(rp_audience_row *row, const unsigned char *key, size_t klen,
                           const unsigned char *val, size_t vlen);
void rp_audience_leaf_bytes(unsigned char out[static RP_AUDIENCE_LEAF_SIZE],
                            const rp_audience_row *row);
/* An audience_roots value: the epoch's audience root and its row count. */
void rp_audience_root_encode(unsigned char out[static RP_AUDIENCE_ROOT_SIZE], const rp_hash *root,
                             uint32_t rows);
int rp_audience_root_decode(rp_hash *root, uint32_t *rows, const unsigned char *in, size_t len);

#endif /* RP_SCHEMA_H */
