/* The whole LMDB schema of a repute datadir, in one place.
 *
 * One environment at DATADIR/ledger/ holds the named databases below. Every
 * integer in a key is big-endian, so LMDB's byte order is numeric order and
 * tables keyed by height can be written with MDB_APPEND. Values are written
 * with ledger/codec.h and their layouts are listed here and in docs/storage.md.
 * Any change to a key or value layout bumps RP_SCHEMA_VERSION; a datadir of
 * another version is refused at open with a clear message.
 *
 * "state" tables are consensus state: every change to them in a block goes
 * into that block's state hash, and `reputed verify` rebuilds them from
 * genesis and compares them entry by entry. "chain" tables hold the blocks
 * themselves, "meta" the datadir's identity and tip.
 */
#ifndef RP_SCHEMA_H
#define RP_SCHEMA_H

#define RP_SCHEMA_VERSION 2

/* X(enum name, LMDB name, kind: 1 = state, 0 = chain/meta)
 *
 * meta          "schema" -> u32 version
 *               "genesis" -> canonical genesis encoding (ledger/genesis.h)
 *               "chain_id" -> 32
 *               "tip" -> height u64 | head hash 32 | state hash 32 |
 *                        time_ms u64 | commit hash 32 | epoch u64 | score root 32
 * headers       height u64 -> header (RP_HEADER_SIZE bytes)
 * bodies        height u64 -> the block's record list, as in the block encoding
 *               after the header (u16 length | record)*
 * commits       height u64 -> commit encoding
 * hash_height   header hash 32 -> height u64
 *
 * records       record id 32 -> height u64 | index u32
 * identities    name 32 -> key 32 | recovery commitment 32 | role u8 |
 *               display name (u16 length | bytes) | profile 32 | sequence u64 |
 *               registered height u64 | updated height u64 |
 *               reviews received u32 | reviews given u32 | vouches received u32 |
 *               engagements u32
 * keys          x-only key 32 -> identity name 32 (every key ever used)
 * engagements   engagement id 32 -> initiator 32 | counterparty 32 | kind u8 |
 *               height u64 | live review by initiator 32 | by counterparty 32
 *               (zero when none)
 * reviews       review id 32 -> issuer 32 | subject 32 | engagement 32 |
 *               overall u8 | dimensions 4 | time u64 | height u64 | live u8
 * by_subject    subject 32 | review id 32 -> "" (live reviews only)
 * by_issuer     issuer 32 | review id 32 -> "" (live reviews only)
 * vouches       issuer 32 | subject 32 -> vouch id 32 | relation u8 | height u64
 *               (live vouches only)
 * vouch_ids     vouch id 32 -> issuer 32 | subject 32 | live u8
 * revocations   target id 32 -> revoke record id 32 | height u64
 * scores        epoch u64 | identity 32 -> trust u64 | rating u32 |
 *               reviews u32 | score u16 | confidence u16
 *               (the last RP_SCORE_HISTORY epochs; the Merkle leaf of an entry
 *               is identity | value, 52 bytes, in identity order)
 * epochs        epoch u64 -> snapshot height u64 | commit height u64 |
 *               score root 32 | identities u32   (the same epochs)
 */
#define RP_SCORE_HISTORY 8
#define RP_SCHEMA_TABLES(X)                                                                   \
    X(RP_DB_META, "meta", 0)                                                                  \
    X(RP_DB_HEADERS, "headers", 0)                                                            \
    X(RP_DB_BODIES, "bodies", 0)                                                              \
    X(RP_DB_COMMITS, "commits", 0)                                                            \
    X(RP_DB_HASH_HEIGHT, "hash_height", 0)                                                    \
    X(RP_DB_RECORDS, "records", 1)                                                            \
    X(RP_DB_IDENTITIES, "identities", 1)                                                      \
    X(RP_DB_KEYS, "keys", 1)                                                                  \
    X(RP_DB_ENGAGEMENTS, "engagements", 1)                                                    \
    X(RP_DB_REVIEWS, "reviews", 1)                                                            \
    X(RP_DB_BY_SUBJECT, "by_subject", 1)                                                      \
    X(RP_DB_BY_ISSUER, "by_issuer", 1)                                                        \
    X(RP_DB_VOUCHES, "vouches", 1)                                                            \
    X(RP_DB_VOUCH_IDS, "vouch_ids", 1)                                                        \
    X(RP_DB_REVOCATIONS, "revocations", 1)                                                    \
    X(RP_DB_SCORES, "scores", 1)                                                              \
    X(RP_DB_EPOCHS, "epochs", 1)

enum rp_db {
#define RP_SCHEMA_ENUM(id, name, state) id,
    RP_SCHEMA_TABLES(RP_SCHEMA_ENUM)
#undef RP_SCHEMA_ENUM
    RP_DB_COUNT
};

#endif /* RP_SCHEMA_H */
