/* Records: canonical encoding, decoding, ids, signatures and the IDENTITY
 * proof-of-work stamp.
 *
 * Encoding and decoding walk the same field list in the same order (put_body
 * and get_body below, kept side by side so they cannot drift apart), and
 * both end in check_fields, the one place that says which values are
 * allowed. Decoding therefore accepts exactly what encoding can produce, and
 * a decoded record re-encodes to the bytes it came from.
 */
#include "ledger/record.h"

#include <string.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/codec.h"

#define HEADER_LEN 50 /* version, type, issuer, sequence, time */

size_t rp_record_nsigs(unsigned type)
{
    if (type == RP_REC_ENGAGEMENT)
        return 2;
    if (type == RP_REC_EVIDENCE)
        return 0; /* its proof is the two vote signatures in its body */
    if (type >= 1 && type <= RP_REC_TYPE_MAX)
        return 1;
    return 0;
}

const char *rp_record_type_name(unsigned type)
{
    static const char *const names[] = {"unknown", "identity", "engagement", "review",  "vouch",
                                        "revoke",  "rotate",   "evidence",   "audience"};
    return type <= RP_REC_TYPE_MAX ? names[type] : names[0];
}

static int is_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Display names: valid UTF-8 without C0 controls or DEL, so a name can be
 * printed in a terminal or a log line without escaping tricks. */
static int name_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++)
        if (u[i] < 0x20 || u[i] == 0x7F)
            return 0;
    return rp_utf8_valid(u, n);
}

static int in_range(unsigned v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; }

static const char *const platform_names[RP_PLATFORM_MAX + 1] = {
    NULL, "instagram", "tiktok", "youtube", "twitch", "x",
};

const char *rp_platform_name(unsigned platform)
{
    return platform >= 1 && platform <= RP_PLATFORM_MAX ? platform_names[platform] : NULL;
}

unsigned rp_platform_code(const char *s, size_t len)
{
    for (unsigned i = 1; i <= RP_PLATFORM_MAX; i++)
        if (strlen(platform_names[i]) == len && memcmp(platform_names[i], s, len) == 0)
            return i;
    return 0;
}

/* Handles are plain ASCII so that two attestations of one account cannot
 * differ by a look-alike character and a handle prints safely anywhere. */
int rp_handle_valid(const char *h, size_t len)
{
    if (len < 1 || len > RP_HANDLE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

#define FAIL(code, name)                                                                      \
    do {                                                                                      \
        if (field)                                                                            \
            *field = (name);                                                                  \
        return (code);                                                                        \
    } while (0)

int rp_record_check(const rp_record *r, const char **field)
{
    if (field)
        *field = NULL;
    if (r->version != RP_RECORD_VERSION)
        FAIL(RP_ERR_BAD_VERSION, "version");
    if (!in_range(r->type, 1, RP_REC_TYPE_MAX))
        FAIL(RP_ERR_BAD_TYPE, "type");
    if (r->type == RP_REC_EVIDENCE) {
        /* No sequence and no clock: zero is the only encoding. */
        if (r->seq != 0)
            FAIL(RP_ERR_NONCANONICAL, "sequence");
        if (r->time != 0)
            FAIL(RP_ERR_NONCANONICAL, "time");
    } else if (r->seq == 0) {
        FAIL(RP_ERR_RANGE, "sequence");
    }

    switch (r->type) {
    case RP_REC_IDENTITY: {
        const rp_identity_body *b = &r->body.identity;
        if (!in_range(b->role, 1, RP_ROLE_MAX))
            FAIL(RP_ERR_RANGE, "role");
        if (!in_range(b->name_len, 1, RP_NAME_MAX))
            FAIL(b->name_len ? RP_ERR_TOO_LONG : RP_ERR_RANGE, "name");
        if (b->name[b->name_len] != '\0' || !name_ok(b->name, b->name_len))
            FAIL(RP_ERR_BAD_UTF8, "name");
        /* The stamp is only meaningful at registration (sequence 1). */
        if (r->seq != 1 && b->pow_nonce != 0)
            FAIL(RP_ERR_NONCANONICAL, "pow_nonce");
        break;
    }
    case RP_REC_ENGAGEMENT:
        if (!in_range(r->body.engagement.kind, 1, RP_ENG_KIND_MAX))
            FAIL(RP_ERR_RANGE, "kind");
        break;
    case RP_REC_REVIEW: {
        const rp_review_body *b = &r->body.review;
        if (!in_range(b->overall, 1, 5))
            FAIL(RP_ERR_RANGE, "overall");
        for (size_t i = 0; i < RP_REVIEW_DIMS; i++)
            if (b->dims[i] > 5)
                FAIL(RP_ERR_RANGE, "dimension");
        break;
    }
    case RP_REC_VOUCH:
        if (!in_range(r->body.vouch.relation, 1, RP_VOUCH_RELATION_MAX))
            FAIL(RP_ERR_RANGE, "relation");
        break;
    case RP_REC_REVOKE:
        if (!in_range(r->body.revoke.reason, 1, RP_REVOKE_REASON_MAX))
            FAIL(RP_ERR_RANGE, "reason");
        break;
    case RP_REC_ROTATE: {
        const rp_rotate_body *b = &r->body.rotate;
        int zero_key = is_zero(b->recovery_key.bytes, 32);
        if (b->auth == RP_ROTATE_BY_CURRENT) {
            if (!zero_key)
                FAIL(RP_ERR_NONCANONICAL, "recovery_key");
        } else if (b->auth == RP_ROTATE_BY_RECOVERY) {
            if (zero_key)
                FAIL(RP_ERR_RANGE, "recovery_key");
        } else {
            FAIL(RP_ERR_RANGE, "auth");
        }
        break;
    }
    case RP_REC_EVIDENCE: {
        const rp_evidence_body *b = &r->body.evidence;
        if (!in_range(b->vote_type, RP_VOTE_PREVOTE, RP_VOTE_PRECOMMIT))
            FAIL(RP_ERR_RANGE, "vote_type");
        if (b->height == 0)
            FAIL(RP_ERR_RANGE, "height");
        /* Ordered, hence also different: equal hashes are no conflict. */
        if (memcmp(b->hash_a.bytes, b->hash_b.bytes, 32) >= 0)
            FAIL(RP_ERR_NONCANONICAL, "block_hash_b");
        break;
    }
    case RP_REC_AUDIENCE: {
        const rp_audience_body *b = &r->body.audience;
        if (!in_range(b->platform, 1, RP_PLATFORM_MAX))
            FAIL(RP_ERR_RANGE, "platform");
        if (b->handle_len > RP_HANDLE_MAX)
            FAIL(RP_ERR_TOO_LONG, "handle");
        if (b->handle[b->handle_len] != '\0' || !rp_handle_valid(b->handle, b->handle_len))
            FAIL(RP_ERR_RANGE, "handle");
        if (b->authentic_ppm > RP_PPM)
            FAIL(RP_ERR_RANGE, "authentic_ppm");
        if (b->engagement_ppm > RP_PPM)
            FAIL(RP_ERR_RANGE, "engagement_ppm");
        /* A past period, measured before the statement, valid after it. */
        if (b->period_start >= b->period_end || b->period_end > r->time)
            FAIL(RP_ERR_RANGE, "period_end");
        if (b->expiry <= r->time)
            FAIL(RP_ERR_RANGE, "expiry");
        break;
    }
    default:
        break;
    }
    return 0;
}

/* The unsigned body, in wire order. */
static void put_body(rp_writer *w, const rp_record *r)
{
    rp_put_u8(w, r->version);
    rp_put_u8(w, r->type);
    rp_put_bytes(w, r->issuer.bytes, 32);
    rp_put_u64(w, r->seq);
    rp_put_u64(w, r->time);
    switch (r->type) {
    case RP_REC_IDENTITY: {
        const rp_identity_body *b = &r->body.identity;
        rp_put_u8(w, b->role);
        rp_put_var(w, (const unsigned char *)b->name, b->name_len, RP_NAME_MAX);
        rp_put_bytes(w, b->profile.bytes, 32);
        rp_put_bytes(w, b->recovery.bytes, 32);
        rp_put_u64(w, b->pow_nonce);
        break;
    }
    case RP_REC_ENGAGEMENT: {
        const rp_engagement_body *b = &r->body.engagement;
        rp_put_bytes(w, b->counterparty.bytes, 32);
        rp_put_u8(w, b->kind);
        rp_put_bytes(w, b->terms.bytes, 32);
        rp_put_u64(w, b->expiry);
        break;
    }
    case RP_REC_REVIEW: {
        const rp_review_body *b = &r->body.review;
        rp_put_bytes(w, b->engagement.bytes, 32);
        rp_put_bytes(w, b->subject.bytes, 32);
        rp_put_u8(w, b->overall);
        rp_put_bytes(w, b->dims, RP_REVIEW_DIMS);
        rp_put_bytes(w, b->comment.bytes, 32);
        break;
    }
    case RP_REC_VOUCH:
        rp_put_bytes(w, r->body.vouch.subject.bytes, 32);
        rp_put_u8(w, r->body.vouch.relation);
        break;
    case RP_REC_REVOKE:
        rp_put_bytes(w, r->body.revoke.target.bytes, 32);
        rp_put_u8(w, r->body.revoke.reason);
        break;
    case RP_REC_ROTATE: {
        const rp_rotate_body *b = &r->body.rotate;
        rp_put_bytes(w, b->new_key.bytes, 32);
        rp_put_bytes(w, b->new_recovery.bytes, 32);
        rp_put_u8(w, b->auth);
        rp_put_bytes(w, b->recovery_key.bytes, 32);
        break;
    }
    case RP_REC_EVIDENCE: {
        const rp_evidence_body *b = &r->body.evidence;
        rp_put_u8(w, b->vote_type);
        rp_put_u64(w, b->height);
        rp_put_u32(w, b->round);
        rp_put_bytes(w, b->hash_a.bytes, 32);
        rp_put_bytes(w, b->sig_a.bytes, 64);
        rp_put_bytes(w, b->hash_b.bytes, 32);
        rp_put_bytes(w, b->sig_b.bytes, 64);
        break;
    }
    case RP_REC_AUDIENCE: {
        const rp_audience_body *b = &r->body.audience;
        const char *p = rp_platform_name(b->platform);
        rp_put_bytes(w, b->subject.bytes, 32);
        rp_put_var(w, (const unsigned char *)p, strlen(p), RP_PLATFORM_NAME_MAX);
        rp_put_var(w, (const unsigned char *)b->handle, b->handle_len, RP_HANDLE_MAX);
        rp_put_u64(w, b->followers);
        rp_put_u32(w, b->authentic_ppm);
        rp_put_u32(w, b->engagement_ppm);
        rp_put_u64(w, b->period_start);
        rp_put_u64(w, b->period_end);
        rp_put_u64(w, b->expiry);
        break;
    }
    default:
        break;
    }
}

/* The mirror of put_body. Unknown versions and types stop the reader early so
 * that the field named in the error is the one that is wrong. */
static void get_body(rp_reader *rd, rp_record *r)
{
    r->version = rp_get_u8(rd, "version");
    if (!rd->err && r->version != RP_RECORD_VERSION)
        rp_reader_fail(rd, RP_ERR_BAD_VERSION, "version");
    r->type = rp_get_u8(rd, "type");
    if (!rd->err && !in_range(r->type, 1, RP_REC_TYPE_MAX))
        rp_reader_fail(rd, RP_ERR_BAD_TYPE, "type");
    rp_get_bytes(rd, r->issuer.bytes, 32, "issuer");
    r->seq = rp_get_u64(rd, "sequence");
    r->time = rp_get_u64(rd, "time");
    switch (rd->err ? 0 : r->type) {
    case RP_REC_IDENTITY: {
        rp_identity_body *b = &r->body.identity;
        b->role = rp_get_u8(rd, "role");
        b->name_len = (uint8_t)rp_get_var(rd, (unsigned char *)b->name, RP_NAME_MAX, "name");
        b->name[b->name_len] = '\0';
        rp_get_bytes(rd, b->profile.bytes, 32, "profile");
        rp_get_bytes(rd, b->recovery.bytes, 32, "recovery");
        b->pow_nonce = rp_get_u64(rd, "pow_nonce");
        break;
    }
    case RP_REC_ENGAGEMENT: {
        rp_engagement_body *b = &r->body.engagement;
        rp_get_bytes(rd, b->counterparty.bytes, 32, "counterparty");
        b->kind = rp_get_u8(rd, "kind");
        rp_get_bytes(rd, b->terms.bytes, 32, "terms");
        b->expiry = rp_get_u64(rd, "expiry");
        break;
    }
    case RP_REC_REVIEW: {
        rp_review_body *b = &r->body.review;
        rp_get_bytes(rd, b->engagement.bytes, 32, "engagement");
        rp_get_bytes(rd, b->subject.bytes, 32, "subject");
        b->overall = rp_get_u8(rd, "overall");
        rp_get_bytes(rd, b->dims, RP_REVIEW_DIMS, "dimension");
        rp_get_bytes(rd, b->comment.bytes, 32, "comment");
        break;
    }
    case RP_REC_VOUCH:
        rp_get_bytes(rd, r->body.vouch.subject.bytes, 32, "subject");
        r->body.vouch.relation = rp_get_u8(rd, "relation");
        break;
    case RP_REC_REVOKE:
        rp_get_bytes(rd, r->body.revoke.target.bytes, 32, "target");
        r->body.revoke.reason = rp_get_u8(rd, "reason");
        break;
    case RP_REC_ROTATE: {
        rp_rotate_body *b = &r->body.rotate;
        rp_get_bytes(rd, b->new_key.bytes, 32, "new_key");
        rp_get_bytes(rd, b->new_recovery.bytes, 32, "new_recovery");
        b->auth = rp_get_u8(rd, "auth");
        rp_get_bytes(rd, b->recovery_key.bytes, 32, "recovery_key");
        break;
    }
    case RP_REC_EVIDENCE: {
        rp_evidence_body *b = &r->body.evidence;
        b->vote_type = rp_get_u8(rd, "vote_type");
        b->height = rp_get_u64(rd, "height");
        b->round = rp_get_u32(rd, "round");
        rp_get_bytes(rd, b->hash_a.bytes, 32, "block_hash_a");
        rp_get_bytes(rd, b->sig_a.bytes, 64, "sig_a");
        rp_get_bytes(rd, b->hash_b.bytes, 32, "block_hash_b");
        rp_get_bytes(rd, b->sig_b.bytes, 64, "sig_b");
        break;
    }
    case RP_REC_AUDIENCE: {
        rp_audience_body *b = &r->body.audience;
        char name[RP_PLATFORM_NAME_MAX];
        rp_get_bytes(rd, b->subject.bytes, 32, "subject");
        size_t n = rp_get_var(rd, (unsigned char *)name, sizeof name, "platform");
        b->platform = (uint8_t)(rd->err ? 0 : rp_platform_code(name, n));
        if (!rd->err && b->platform == 0)
            rp_reader_fail(rd, RP_ERR_RANGE, "platform");
        b->handle_len =
            (uint8_t)rp_get_var(rd, (unsigned char *)b->handle, RP_HANDLE_MAX, "handle");
        b->handle[b->handle_len] = '\0';
        b->followers = rp_get_u64(rd, "followers");
        b->authentic_ppm = rp_get_u32(rd, "authentic_ppm");
        b->engagement_ppm = rp_get_u32(rd, "engagement_ppm");
        b->period_start = rp_get_u64(rd, "period_start");
        b->period_end = rp_get_u64(rd, "period_end");
        b->expiry = rp_get_u64(rd, "expiry");
        break;
    }
    default:
        break;
    }
}

int rp_record_encode_body(const rp_record *r, unsigned char *out, size_t cap, size_t *len)
{
    int err = rp_record_check(r, NULL);
    if (err) {
        if (len)
            *len = 0;
        return err;
    }
    rp_writer w;
    rp_writer_init(&w, out, cap);
    put_body(&w, r);
    return rp_writer_finish(&w, len);
}

int rp_record_encode(const rp_record *r, unsigned char *out, size_t cap, size_t *len)
{
    int err = rp_record_check(r, NULL);
    if (err) {
        if (len)
            *len = 0;
        return err;
    }
    rp_writer w;
    rp_writer_init(&w, out, cap);
    put_body(&w, r);
    size_t n = rp_record_nsigs(r->type);
    for (size_t i = 0; i < n; i++)
        rp_put_bytes(&w, r->sigs[i].bytes, 64);
    return rp_writer_finish(&w, len);
}

int rp_record_decode(rp_record *r, const unsigned char *in, size_t len, const char **field)
{
    memset(r, 0, sizeof *r);
    if (field)
        *field = NULL;
    if (len > RP_RECORD_MAX_SIZE) {
        if (field)
            *field = "record";
        return RP_ERR_TOO_LONG;
    }
    rp_reader rd;
    rp_reader_init(&rd, in, len);
    get_body(&rd, r);
    size_t n = rd.err ? 0 : rp_record_nsigs(r->type);
    for (size_t i = 0; i < n; i++)
        rp_get_bytes(&rd, r->sigs[i].bytes, 64, "signature");
    int err = rp_reader_finish(&rd, field);
    if (!err)
        err = rp_record_check(r, field);
    if (err)
        memset(r, 0, sizeof *r);
    return err;
}

size_t rp_record_body_len(unsigned type, size_t len)
{
    size_t n = rp_record_nsigs(type);
    if (type < 1 || type > RP_REC_TYPE_MAX || len < HEADER_LEN + 64 * n)
        return 0;
    return len - 64 * n;
}

void rp_record_id_from_body(rp_hash *id, const rp_hash *chain_id, const unsigned char *body,
                            size_t bodylen)
{
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_RECORD);
    rp_th_update(&ctx, chain_id->bytes, 32);
    rp_th_update(&ctx, body, bodylen);
    rp_th_final(&ctx, id);
}

int rp_record_id(rp_hash *id, const rp_hash *chain_id, const rp_record *r)
{
    unsigned char body[RP_RECORD_MAX_SIZE];
    size_t n;
    int err = rp_record_encode_body(r, body, sizeof body, &n);
    if (err) {
        memset(id, 0, sizeof *id);
        return err;
    }
    rp_record_id_from_body(id, chain_id, body, n);
    return 0;
}

size_t rp_record_default_signers(const rp_record *r, rp_pubkey keys[static RP_RECORD_MAX_SIGS])
{
    size_t n = rp_record_nsigs(r->type);
    memset(keys, 0, RP_RECORD_MAX_SIGS * sizeof keys[0]);
    if (n == 0)
        return 0;
    keys[0] = r->issuer;
    if (r->type == RP_REC_ROTATE && r->body.rotate.auth == RP_ROTATE_BY_RECOVERY)
        keys[0] = r->body.rotate.recovery_key;
    if (r->type == RP_REC_ENGAGEMENT)
        keys[1] = r->body.engagement.counterparty;
    return n;
}

int rp_record_sign(rp_record *r, size_t slot, const rp_hash *chain_id, const rp_seckey *sk,
                   const unsigned char aux[static 32])
{
    if (slot >= rp_record_nsigs(r->type))
        return RP_ERR_INVALID_ARG;
    rp_hash id;
    int err = rp_record_id(&id, chain_id, r);
    if (err)
        return err;
    return rp_sign(&r->sigs[slot], id.bytes, 32, sk, aux);
}

int rp_record_verify(const rp_record *r, const rp_hash *chain_id, const rp_pubkey *keys,
                     size_t nkeys)
{
    size_t n = rp_record_nsigs(r->type);
    rp_hash id;
    if (r->type == RP_REC_EVIDENCE) {
        rp_hash msgs[2];
        const rp_evidence_body *b = &r->body.evidence;
        if (nkeys != 0 || rp_record_check(r, NULL) != 0 ||
            rp_evidence_vote_messages(msgs, chain_id, r) != 0)
            return 0;
        return rp_verify(&b->sig_a, msgs[0].bytes, 32, &r->issuer) &&
               rp_verify(&b->sig_b, msgs[1].bytes, 32, &r->issuer);
    }
    if (n == 0 || nkeys != n || rp_record_id(&id, chain_id, r) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!rp_verify(&r->sigs[i], id.bytes, 32, &keys[i]))
            return 0;
    return 1;
}

int rp_evidence_vote_messages(rp_hash msgs[static 2], const rp_hash *chain_id, const rp_record *r)
{
    memset(msgs, 0, 2 * sizeof msgs[0]);
    if (r->type != RP_REC_EVIDENCE)
        return RP_ERR_BAD_TYPE;
    const rp_evidence_body *b = &r->body.evidence;
    rp_vote_message(&msgs[0], chain_id, b->height, b->round, b->vote_type, &b->hash_a);
    rp_vote_message(&msgs[1], chain_id, b->height, b->round, b->vote_type, &b->hash_b);
    return 0;
}

unsigned rp_hash_leading_zeros(const rp_hash *h)
{
    unsigned bits = 0;
    for (size_t i = 0; i < 32; i++) {
        unsigned char b = h->bytes[i];
        if (b == 0) {
            bits += 8;
            continue;
        }
        while (!(b & 0x80)) {
            bits++;
            b = (unsigned char)(b << 1);
        }
        break;
    }
    return bits;
}

int rp_identity_pow_hash(rp_hash *out, const rp_hash *chain_id, const rp_record *r)
{
    unsigned char body[RP_RECORD_MAX_SIZE];
    size_t n;
    memset(out, 0, sizeof *out);
    if (r->type != RP_REC_IDENTITY)
        return RP_ERR_BAD_TYPE;
    int err = rp_record_encode_body(r, body, sizeof body, &n);
    if (err)
        return err;
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_POW);
    rp_th_update(&ctx, chain_id->bytes, 32);
    rp_th_update(&ctx, body, n);
    rp_th_final(&ctx, out);
    return 0;
}

int rp_identity_pow_ok(const rp_hash *chain_id, const rp_record *r, unsigned difficulty)
{
    rp_hash h;
    if (rp_identity_pow_hash(&h, chain_id, r) != 0)
        return 0;
    return rp_hash_leading_zeros(&h) >= difficulty;
}

int rp_identity_pow_solve(rp_record *r, const rp_hash *chain_id, unsigned difficulty,
                          uint64_t max_tries)
{
    if (r->type != RP_REC_IDENTITY || r->seq != 1 || difficulty > RP_POW_MAX_DIFFICULTY)
        return RP_ERR_INVALID_ARG;
    if (rp_record_check(r, NULL) != 0)
        return RP_ERR_INVALID_ARG;

    /* The nonce is the body's last field, so hash the chain id and everything
     * before it once and only the 8 nonce bytes per try. */
    unsigned char body[RP_RECORD_MAX_SIZE];
    size_t n;
    r->body.identity.pow_nonce = 0;
    int err = rp_record_encode_body(r, body, sizeof body, &n);
    if (err)
        return err;
    rp_th_ctx prefix;
    rp_th_init(&prefix, RP_TAG_POW);
    rp_th_update(&prefix, chain_id->bytes, 32);
    rp_th_update(&prefix, body, n - 8);
    for (uint64_t nonce = 0; nonce < max_tries; nonce++) {
        unsigned char be[8];
        for (size_t i = 0; i < 8; i++)
            be[i] = (unsigned char)(nonce >> (56 - 8 * i));
        rp_th_ctx ctx = prefix;
        rp_hash h;
        rp_th_update(&ctx, be, 8);
        rp_th_final(&ctx, &h);
        if (rp_hash_leading_zeros(&h) >= difficulty) {
            r->body.identity.pow_nonce = nonce;
            return 0;
        }
    }
    return RP_ERR_POW;
}

void rp_recovery_commitment(rp_hash *out, const rp_pubkey *recovery_key)
{
    rp_tagged_hash(out, RP_TAG_RECOVERY, recovery_key->bytes, 32);
}
