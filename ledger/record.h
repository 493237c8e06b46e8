/* Records: the statements repute is made of, their one canonical encoding,
 * their ids and their signatures.
 *
 * Byte layout (all integers big-endian; full tables and a worked example in
 * docs/records.md):
 *
 *   unsigned body = version u8 (1) | type u8 | issuer 32 | sequence u64 |
 *                   time u64 | type-specific fields
 *   record        = unsigned body | signature 64 x nsigs(type)
 *
 * The number of signatures follows from the type (two for ENGAGEMENT, none
 * for EVIDENCE, one for every other type), so the encoding carries no count.
 *
 * AUDIENCE (type 8) is an attestation: the issuer (an agency, a brand, an
 * analytics provider) states what it measured of a talent's audience on one
 * platform. Body:
 *   subject 32 | platform (u16 length | 1..16 bytes) |
 *   handle (u16 length | 1..RP_HANDLE_MAX bytes) | followers u64 |
 *   authentic_ppm u32 | engagement_ppm u32 | period_start u64 |
 *   period_end u64 | expiry u64
 * platform is one of the registered names (rp_platform_name: "instagram",
 * "tiktok", "youtube", "twitch", "x"), lowercase ASCII, and nothing else;
 * the handle is ASCII letters, digits, '.', '_' and '-' (no '@', no
 * spaces), case kept as given. Both ppm figures are 0..1000000;
 * period_start < period_end <= time < expiry: a measurement of a past
 * period, valid until expiry.
 *
 * EVIDENCE (type 7) is the odd one: it is not an identity's statement but
 * proof that a validator signed two different votes at one (height, round,
 * vote type). Its issuer is the accused validator's key, its sequence and
 * time are zero (the only encoding: nothing on chain orders or dates it but
 * the votes themselves), and it carries no record signature: the two vote
 * signatures inside the body are the proof. Body:
 *   vote type u8 (1 prevote, 2 precommit) | height u64 (>= 1) | round u32 |
 *   block_hash_a 32 | sig_a 64 | block_hash_b 32 | sig_b 64
 * with block_hash_a < block_hash_b (memcmp): one encoding per pair, and two
 * equal hashes are no conflict. Each sig is a BIP-340 signature by the issuer
 * over rp_vote_message(chain id, height, round, vote type, block hash)
 * (ledger/block.h; nil is the all-zero hash). ledger/evidence.h builds them.
 *
 * A record's id is
 *   TH("repute/record/v1", chain id || unsigned body),
 * and every signature is a BIP-340 signature of those 32 id bytes. Signatures
 * are outside the id: a second valid signature over the same body is the same
 * record.
 *
 * What the decoder checks is only what the bytes themselves can tell: layout,
 * lengths, versions, types, enum and rating ranges, UTF-8 and canonical form.
 * Whether a record is allowed (sequence, registration, engagement parties,
 * expiry, signer keys after a rotation) depends on ledger state and is checked
 * by the ledger's rules. rp_record_encode applies the same checks as the
 * decoder, so repute never writes bytes that it would refuse to read.
 *
 * A struct rp_record is a plain value: no pointers, no allocation; copy it
 * freely. All functions are thread-safe (after rp_crypto_init()).
 */
#ifndef RP_RECORD_H
#define RP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"

#define RP_RECORD_VERSION 1
#define RP_NAME_MAX 64          /* display name, bytes of UTF-8 */
#define RP_RECORD_MAX_SIGS 2
#define RP_RECORD_MAX_SIZE    512      /* no valid record is longer (largest is 263) */
#define RP_HANDLE_MAX         64       /* AUDIENCE account handle, bytes of ASCII */
#define RP_PLATFORM_NAME_MAX  16       /* AUDIENCE platform name, bytes */
#define RP_PPM                1000000u /* parts per million: 100% */
#define RP_POW_MAX_DIFFICULTY 64

enum rp_record_type {
    RP_REC_IDENTITY = 1,
    RP_REC_ENGAGEMENT = 2,
    RP_REC_REVIEW = 3,
    RP_REC_VOUCH = 4,
    RP_REC_REVOKE = 5,
    RP_REC_ROTATE = 6,
    RP_REC_EVIDENCE = 7,
    RP_REC_AUDIENCE = 8,
};
#define RP_REC_TYPE_MAX 8

enum rp_role { RP_ROLE_TALENT = 1, RP_ROLE_AGENT = 2, RP_ROLE_BRAND = 3 };
#define RP_ROLE_MAX 3

enum rp_engagement_kind {
    RP_ENG_GIG = 1,
    RP_ENG_REPRESENTATION = 2,
    RP_ENG_SPONSORSHIP = 3,
    RP_ENG_LICENSING = 4,
    RP_ENG_OTHER = 5,
};
#define RP_ENG_KIND_MAX 5

enum rp_vouch_relation {
    RP_VOUCH_KNOWS = 1,      /* knows the subject personally */
    RP_VOUCH_REPRESENTS = 2, /* an agency for its talent */
    RP_VOUCH_WORKED_WITH = 3,
};
#define RP_VOUCH_RELATION_MAX 3

enum rp_revoke_reason {
    RP_REVOKE_MISTAKE = 1,
    RP_REVOKE_RESOLVED = 2,
    RP_REVOKE_DISPUTED = 3,
    RP_REVOKE_OTHER = 4,
};
#define RP_REVOKE_REASON_MAX 4

/* The registered platforms of AUDIENCE attestations. The wire carries the
 * name (rp_platform_name), never the number; the number is the order of
 * the ledger's tables. Adding one is a consensus change: append only. */
enum rp_platform {
    RP_PLATFORM_INSTAGRAM = 1,
    RP_PLATFORM_TIKTOK = 2,
    RP_PLATFORM_YOUTUBE = 3,
    RP_PLATFORM_TWITCH = 4,
    RP_PLATFORM_X = 5,
};
#define RP_PLATFORM_MAX 5

enum rp_rotate_auth { RP_ROTATE_BY_CURRENT = 0, RP_ROTATE_BY_RECOVERY = 1 };

/* Review dimensions; 0 means "not rated", otherwise 1..5 like overall. */
enum rp_review_dim {
    RP_DIM_QUALITY = 0,
    RP_DIM_RELIABILITY = 1,
    RP_DIM_COMMUNICATION = 2,
    RP_DIM_PAYMENT = 3,
};
#define RP_REVIEW_DIMS 4

typedef struct rp_identity_body {
    uint8_t role;                 /* enum rp_role */
    uint8_t name_len;             /* 1..RP_NAME_MAX */
    char name[RP_NAME_MAX + 1];   /* UTF-8, NUL-terminated, no control chars */
    rp_hash profile;              /* hash of an off-chain profile; zero = none */
    rp_hash recovery;             /* TH(RP_TAG_RECOVERY, recovery key); zero = none */
    uint64_t pow_nonce;           /* the stamp at sequence 1; must be 0 after */
} rp_identity_body;

typedef struct rp_engagement_body {
    rp_pubkey counterparty; /* the second signer */
    uint8_t kind;           /* enum rp_engagement_kind */
    rp_hash terms;          /* hash of the off-chain terms */
    uint64_t expiry;        /* unix seconds: must be included before this */
} rp_engagement_body;

typedef struct rp_review_body {
    rp_hash engagement;              /* record id of the ENGAGEMENT */
    rp_pubkey subject;               /* the other party */
    uint8_t overall;                 /* 1..5 */
    uint8_t dims[RP_REVIEW_DIMS];    /* 0 = not rated, else 1..5 */
    rp_hash comment;                 /* hash of an off-chain comment; zero = none */
} rp_review_body;

typedef struct rp_vouch_body {
    rp_pubkey subject;
    uint8_t relation; /* enum rp_vouch_relation */
} rp_vouch_body;

typedef struct rp_revoke_body {
    rp_hash target;  /* record id of the issuer's REVIEW or VOUCH */
    uint8_t reason;  /* enum rp_revoke_reason */
} rp_revoke_body;

typedef struct rp_rotate_body {
    rp_pubkey new_key;
    rp_hash new_recovery;   /* commitment for the next recovery key; zero = none */
    uint8_t auth;           /* enum rp_rotate_auth: which key signs */
    rp_pubkey recovery_key; /* revealed key when auth = BY_RECOVERY, else zero */
} rp_rotate_body;

/* EVIDENCE: two conflicting votes of the issuer (a validator). */
typedef struct rp_evidence_body {
    uint8_t vote_type; /* RP_VOTE_PREVOTE (1) or RP_VOTE_PRECOMMIT (2), ledger/block.h */
    uint64_t height;   /* the votes' height, >= 1 */
    uint32_t round;
    rp_hash hash_a; /* hash_a < hash_b (memcmp); all zero: a nil vote */
    rp_sig sig_a;
    rp_hash hash_b;
    rp_sig sig_b;
} rp_evidence_body;

/* AUDIENCE: an attestation of a talent's audience on one platform. */
typedef struct rp_audience_body {
    rp_pubkey subject;              /* the talent measured */
    uint8_t platform;               /* enum rp_platform (the wire carries its name) */
    uint8_t handle_len;             /* 1..RP_HANDLE_MAX */
    char handle[RP_HANDLE_MAX + 1]; /* [A-Za-z0-9._-], NUL-terminated */
    uint64_t followers;
    uint32_t authentic_ppm;  /* share of authentic followers, 0..RP_PPM */
    uint32_t engagement_ppm; /* engagement rate, 0..RP_PPM */
    uint64_t period_start;   /* unix seconds; < period_end */
    uint64_t period_end;     /* unix seconds; <= the record's time */
    uint64_t expiry;         /* unix seconds; > the record's time */
} rp_audience_body;

typedef struct rp_record {
    uint8_t version;  /* RP_RECORD_VERSION */
    uint8_t type;     /* enum rp_record_type */
    rp_pubkey issuer; /* the issuing identity's name (its first key); EVIDENCE: the validator */
    uint64_t seq;     /* issuer's sequence number, from 1; EVIDENCE: 0 */
    uint64_t time;    /* unix seconds, the issuer's clock; EVIDENCE: 0 */
    union {
        rp_identity_body identity;
        rp_engagement_body engagement;
        rp_review_body review;
        rp_vouch_body vouch;
        rp_revoke_body revoke;
        rp_rotate_body rotate;
        rp_evidence_body evidence;
        rp_audience_body audience;
    } body;
    rp_sig sigs[RP_RECORD_MAX_SIGS]; /* nsigs(type) of them are meaningful */
} rp_record;

/* Returns: how many record signatures a record of this type carries (1 or
 * 2), or 0 for EVIDENCE (whose proof is its vote signatures) and for an
 * unknown type. */
size_t rp_record_nsigs(unsigned type);

/* Returns: a static lowercase name ("identity", "engagement", ...), or
 * "unknown". */
const char *rp_record_type_name(unsigned type);

/* Check every field of a record as the decoder would.
 * Returns: 0, or the decoder's error code for the first bad field.
 * Out:     field: if not NULL, the name of that field (a static string).
 */
int rp_record_check(const rp_record *r, const char **field);

/* Encode the unsigned body (what the id commits to).
 * Returns: 0; any error of rp_record_check; RP_ERR_BUFFER if cap is too small.
 * Out:     out[0..*len).  In: cap: size of out (RP_RECORD_MAX_SIZE is enough).
 */
int rp_record_encode_body(const rp_record *r, unsigned char *out, size_t cap, size_t *len);

/* Encode the whole record, signatures included.
 * Returns, Out, In: as rp_record_encode_body.
 */
int rp_record_encode(const rp_record *r, unsigned char *out, size_t cap, size_t *len);

/* Decode a whole record from exactly len bytes of untrusted input.
 * Returns: 0, or RP_ERR_TRUNCATED, RP_ERR_TRAILING, RP_ERR_TOO_LONG,
 *          RP_ERR_BAD_VERSION, RP_ERR_BAD_TYPE, RP_ERR_BAD_UTF8, RP_ERR_RANGE,
 *          RP_ERR_NONCANONICAL. r is zeroed on failure.
 * Out:     r: the record; field: if not NULL, the name of the offending field
 *          (a static string) or NULL on success.
 * In:      in, len: the bytes. Signatures are not checked here.
 * On success, rp_record_encode(r) reproduces exactly in[0..len).
 */
int rp_record_decode(rp_record *r, const unsigned char *in, size_t len, const char **field);

/* Length of the unsigned body inside an encoded record of this type.
 * Returns: len minus the signatures (len itself for EVIDENCE), or 0 if len
 *          is too short or type unknown. */
size_t rp_record_body_len(unsigned type, size_t len);

/* Record id from the encoded unsigned body: TH(RP_TAG_RECORD, chain_id || body).
 * Out: id.  In: chain_id; body, bodylen (at most RP_RECORD_MAX_SIZE). */
void rp_record_id_from_body(rp_hash *id, const rp_hash *chain_id, const unsigned char *body,
                            size_t bodylen);

/* Record id of a record.
 * Returns: 0, or an error of rp_record_check.  Out: id.  In: chain_id, r. */
int rp_record_id(rp_hash *id, const rp_hash *chain_id, const rp_record *r);

/* The keys that sign a record when no rotation has happened: slot 0 is the
 * issuer (for a ROTATE by recovery, the revealed recovery key), slot 1 the
 * ENGAGEMENT's counterparty. The ledger substitutes current keys for
 * identities that have rotated.
 * Returns: the number of signers (rp_record_nsigs): 0 for EVIDENCE (see
 *          rp_evidence_vote_messages) and for an unknown type.
 * Out:     keys[0..n).
 */
size_t rp_record_default_signers(const rp_record *r, rp_pubkey keys[static RP_RECORD_MAX_SIGS]);

/* Sign one slot of a record.
 * Returns: 0; RP_ERR_INVALID_ARG if slot >= nsigs(type); errors of
 *          rp_record_check and rp_sign.
 * Out:     r->sigs[slot].
 * In:      slot; chain_id; sk: the signer's key; aux: 32 bytes of randomness.
 */
int rp_record_sign(rp_record *r, size_t slot, const rp_hash *chain_id, const rp_seckey *sk,
                   const unsigned char aux[static 32]);

/* Verify every signature of a record against the given keys (keys[i] for
 * slot i). For EVIDENCE, which has no record signature (nkeys must be 0),
 * its two vote signatures are verified against its issuer instead.
 * Returns: 1 if all nsigs(type) signatures verify, 0 otherwise (including
 *          nkeys != nsigs or a record that fails rp_record_check).
 */
int rp_record_verify(const rp_record *r, const rp_hash *chain_id, const rp_pubkey *keys,
                     size_t nkeys);

/* The two messages an EVIDENCE record's vote signatures sign:
 * msgs[0] = rp_vote_message(chain_id, height, round, vote_type, hash_a) for
 * sig_a, msgs[1] the same with hash_b for sig_b.
 * Returns: 0, or RP_ERR_BAD_TYPE if r is not an EVIDENCE record (msgs
 *          zeroed). */
int rp_evidence_vote_messages(rp_hash msgs[static 2], const rp_hash *chain_id, const rp_record *r);

/* The registered platform names (lowercase ASCII).
 * rp_platform_name returns: the name of a platform 1..RP_PLATFORM_MAX, or
 *   NULL for any other value.
 * rp_platform_code returns: the platform whose name is exactly s[0..len)
 *   (case-sensitive), or 0 if none is. */
const char *rp_platform_name(unsigned platform);
unsigned rp_platform_code(const char *s, size_t len);

/* Is h[0..len) a valid AUDIENCE handle (1..RP_HANDLE_MAX bytes of ASCII
 * letters, digits, '.', '_', '-')? Returns: 1 or 0. */
int rp_handle_valid(const char *h, size_t len);

/* Number of leading zero bits of a hash, 0..256. */
unsigned rp_hash_leading_zeros(const rp_hash *h);

/* The IDENTITY proof-of-work hash: TH(RP_TAG_POW, chain_id || unsigned body),
 * the body including pow_nonce.
 * Returns: 0, or an error of rp_record_check (also if r is not an IDENTITY). */
int rp_identity_pow_hash(rp_hash *out, const rp_hash *chain_id, const rp_record *r);

/* Does an IDENTITY's stamp meet a difficulty (leading zero bits)?
 * Returns: 1 if it does, 0 if not or if r is not a valid IDENTITY. */
int rp_identity_pow_ok(const rp_hash *chain_id, const rp_record *r, unsigned difficulty);

/* Find the smallest nonce that meets the difficulty, trying at most max_tries
 * nonces from 0. The answer depends only on the body, so it is reproducible.
 * Returns: 0 (r->body.identity.pow_nonce set); RP_ERR_POW if none was found
 *          within max_tries; RP_ERR_INVALID_ARG if r is not an IDENTITY at
 *          sequence 1 or difficulty > RP_POW_MAX_DIFFICULTY.
 */
int rp_identity_pow_solve(rp_record *r, const rp_hash *chain_id, unsigned difficulty,
                          uint64_t max_tries);

/* The recovery-key commitment stored in IDENTITY and ROTATE:
 * TH(RP_TAG_RECOVERY, key). */
void rp_recovery_commitment(rp_hash *out, const rp_pubkey *recovery_key);

#endif /* RP_RECORD_H */
