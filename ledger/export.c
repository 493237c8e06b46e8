/* Chain exports: the binary stream (writer and bounded incremental reader)
 * and the JSON Lines rendering (see export.h for both layouts).
 *
 * The binary writer copies the store's bytes verbatim and decodes nothing:
 * an export of a damaged store is a faithful copy of the damage, which
 * `reputed import` (or `verify` on the imported datadir) then reports. The
 * JSON writer has to decode every block to render it, so it stops with
 * RP_ERR_CORRUPT at the first block it cannot read.
 *
 * The reader is built for untrusted files: it reads through a callback in
 * exactly the sizes the framing announces, caps each length before it
 * allocates, and keeps its first error (with the message) so that a caller
 * that keeps calling gets the same answer. Its messages count blocks from 1,
 * which in a valid stream is also the height.
 */
#include "ledger/export.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/query.h"
#include "ledger/record.h"

static void seterr(rp_store_error *e, int code, uint64_t height, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void seterr(rp_store_error *e, int code, uint64_t height, const char *fmt, ...)
{
    if (!e)
        return;
    e->code = code;
    e->height = height;
    e->index = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

static void be32(unsigned char p[4], uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char p[4])
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- binary writer ------------------------------------------------------------ */

static int write_all(FILE *out, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    errno = 0;
    if (fwrite(p, 1, n, out) != n)
        return errno ? -errno : -EIO;
    return 0;
}

int rp_export_put_header(FILE *out, const rp_genesis *g)
{
    unsigned char *buf = malloc(RP_GENESIS_MAX_SIZE);
    unsigned char head[RP_EXPORT_MAGIC_LEN + 1 + 4];
    size_t len = 0;
    int rc;
    if (!buf)
        return RP_ERR_NOMEM;
    if ((rc = rp_genesis_encode(g, buf, RP_GENESIS_MAX_SIZE, &len)) == 0) {
        memcpy(head, RP_EXPORT_MAGIC, RP_EXPORT_MAGIC_LEN);
        head[RP_EXPORT_MAGIC_LEN] = RP_EXPORT_VERSION;
        be32(head + RP_EXPORT_MAGIC_LEN + 1, (uint32_t)len);
        if ((rc = write_all(out, head, sizeof head)) == 0)
            rc = write_all(out, buf, len);
    }
    free(buf);
    return rc;
}

int rp_export_put_block(FILE *out, const unsigned char *block, size_t blen,
                        const unsigned char *commit, size_t clen)
{
    unsigned char n[4];
    int rc;
    /* A zero length would read back as the end marker; the reader refuses
     * what is refused here. */
    if (blen > RP_BLOCK_MAX_SIZE || clen > RP_COMMIT_MAX_SIZE)
        return RP_ERR_TOO_LONG;
    if (blen < RP_HEADER_SIZE || clen == 0)
        return RP_ERR_RANGE;
    be32(n, (uint32_t)blen);
    if ((rc = write_all(out, n, 4)) != 0 || (rc = write_all(out, block, blen)) != 0)
        return rc;
    be32(n, (uint32_t)clen);
    if ((rc = write_all(out, n, 4)) != 0 || (rc = write_all(out, commit, clen)) != 0)
        return rc;
    return 0;
}

int rp_export_put_end(FILE *out)
{
    static const unsigned char zero[4];
    return write_all(out, zero, 4);
}

static int finish_stream(FILE *out, rp_store_error *err, uint64_t height)
{
    errno = 0;
    if (fflush(out) != 0) {
        int rc = errno ? -errno : -EIO;
        seterr(err, rc, height, "writing the export: %s", rp_strerror(rc));
        return rc;
    }
    return 0;
}

/* Read block and commit h from the store, naming the height on failure. */
static int read_pair(rp_store *s, uint64_t h, unsigned char **block, size_t *blen,
                     unsigned char **commit, size_t *clen, rp_store_error *err)
{
    int rc = rp_store_read_block(s, h, block, blen);
    if (rc) {
        seterr(err, rc, h, "block %llu cannot be read from the store: %s", (unsigned long long)h,
               rp_strerror(rc));
        return rc;
    }
    rc = rp_store_read_commit(s, h, commit, clen);
    if (rc) {
        free(*block);
        *block = NULL;
        seterr(err, rc, h, "the commit of block %llu cannot be read from the store: %s",
               (unsigned long long)h, rp_strerror(rc));
    }
    return rc;
}

int rp_export_write_bin(rp_store *s, FILE *out, rp_export_progress_fn progress, void *pctx,
                        rp_store_error *err)
{
    rp_tip tip;
    int rc;
    if (err)
        memset(err, 0, sizeof *err);
    if ((rc = rp_store_tip(s, &tip)) != 0) {
        seterr(err, rc, 0, "cannot read the chain tip: %s", rp_strerror(rc));
        return rc;
    }
    if ((rc = rp_export_put_header(out, rp_store_genesis(s))) != 0) {
        seterr(err, rc, 0, "writing the export header: %s", rp_strerror(rc));
        return rc;
    }
    for (uint64_t h = 1; h <= tip.height; h++) {
        unsigned char *block, *commit;
        size_t blen, clen;
        if ((rc = read_pair(s, h, &block, &blen, &commit, &clen, err)) != 0)
            return rc;
        rc = rp_export_put_block(out, block, blen, commit, clen);
        free(block);
        free(commit);
        if (rc == RP_ERR_TOO_LONG || rc == RP_ERR_RANGE) {
            seterr(err, RP_ERR_CORRUPT, h,
                   "block %llu: the stored block or commit has an "
                   "impossible length",
                   (unsigned long long)h);
            return RP_ERR_CORRUPT;
        }
        if (rc) {
            seterr(err, rc, h, "writing block %llu: %s", (unsigned long long)h, rp_strerror(rc));
            return rc;
        }
        if (progress)
            progress(pctx, h, tip.height);
    }
    if ((rc = rp_export_put_end(out)) != 0) {
        seterr(err, rc, tip.height, "writing the end marker: %s", rp_strerror(rc));
        return rc;
    }
    return finish_stream(out, err, tip.height);
}

/* ---- JSON rendering --------------------------------------------------------------- */

/* Building helpers in the style of genesis.c: a NULL value (allocation
 * failure) clears *ok, and every later call is then harmless. */
static void set(json_t *obj, const char *key, json_t *val, int *ok)
{
    if (!val || !obj || json_object_set_new(obj, key, val) != 0)
        *ok = 0;
}

static void push(json_t *arr, json_t *val, int *ok)
{
    if (!val || !arr || json_array_append_new(arr, val) != 0)
        *ok = 0;
}

static json_t *hex_json(const unsigned char *p, size_t n)
{
    char buf[2 * RP_RECORD_MAX_SIZE + 1];
    if (2 * n + 1 > sizeof buf || rp_hex_encode(buf, sizeof buf, p, n) != 0)
        return NULL;
    return json_stringn(buf, 2 * n);
}

static json_t *u64_json(uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_stringn(buf, (size_t)n);
}

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
    return v < n && names[v] ? names[v] : "unknown";
}

static const char *const role_names[] = {NULL, "talent", "agent", "brand"};
static const char *const kind_names[] = {NULL,          "gig",       "representation",
                                         "sponsorship", "licensing", "other"};
static const char *const relation_names[] = {NULL, "knows", "represents", "worked_with"};
static const char *const reason_names[] = {NULL, "mistake", "resolved", "disputed", "other"};
static const char *const auth_names[] = {"current", "recovery"};
static const char *const vote_names[] = {NULL, "prevote", "precommit"};
#define NAMES(a) a, sizeof(a) / sizeof((a)[0])

static json_t *record_json(size_t index, const rp_hash *chain_id, const unsigned char *bytes,
                           size_t len, uint64_t height, int *code, rp_store_error *err)
{
    rp_record r;
    rp_hash id;
    const char *field = NULL;
    int rc = rp_record_decode(&r, bytes, len, &field);
    if (rc) {
        seterr(err, RP_ERR_CORRUPT, height, "record %zu does not decode: %s (field %s)", index,
               rp_strerror(rc), field ? field : "?");
        if (err)
            err->index = (int64_t)index;
        *code = RP_ERR_CORRUPT;
        return NULL;
    }
    rp_record_id_from_body(&id, chain_id, bytes, rp_record_body_len(r.type, len));

    int ok = 1;
    json_t *o = json_object();
    set(o, "index", json_integer((json_int_t)index), &ok);
    set(o, "id", hex_json(id.bytes, 32), &ok);
    set(o, "type", json_string(rp_record_type_name(r.type)), &ok);
    set(o, "version", json_integer(r.version), &ok);
    set(o, "issuer", hex_json(r.issuer.bytes, 32), &ok);
    set(o, "sequence", u64_json(r.seq), &ok);
    set(o, "time", u64_json(r.time), &ok);
    switch (r.type) {
    case RP_REC_IDENTITY: {
        const rp_identity_body *b = &r.body.identity;
        set(o, "role", json_string(name_of(NAMES(role_names), b->role)), &ok);
        set(o, "name", json_stringn(b->name, b->name_len), &ok);
        set(o, "profile", hex_json(b->profile.bytes, 32), &ok);
        set(o, "recovery", hex_json(b->recovery.bytes, 32), &ok);
        set(o, "pow_nonce", u64_json(b->pow_nonce), &ok);
        break;
    }
    case RP_REC_ENGAGEMENT: {
        const rp_engagement_body *b = &r.body.engagement;
        set(o, "counterparty", hex_json(b->counterparty.bytes, 32), &ok);
        set(o, "kind", json_string(name_of(NAMES(kind_names), b->kind)), &ok);
        set(o, "terms", hex_json(b->terms.bytes, 32), &ok);
        set(o, "expiry", u64_json(b->expiry), &ok);
        break;
    }
    case RP_REC_REVIEW: {
        const rp_review_body *b = &r.body.review;
        set(o, "engagement", hex_json(b->engagement.bytes, 32), &ok);
        set(o, "subject", hex_json(b->subject.bytes, 32), &ok);
        set(o, "overall", json_integer(b->overall), &ok);
        set(o, "quality", json_integer(b->dims[RP_DIM_QUALITY]), &ok);
        set(o, "reliability", json_integer(b->dims[RP_DIM_RELIABILITY]), &ok);
        set(o, "communication", json_integer(b->dims[RP_DIM_COMMUNICATION]), &ok);
        set(o, "payment", json_integer(b->dims[RP_DIM_PAYMENT]), &ok);
        set(o, "comment", hex_json(b->comment.bytes, 32), &ok);
        break;
    }
    case RP_REC_VOUCH: {
        const rp_vouch_body *b = &r.body.vouch;
        set(o, "subject", hex_json(b->subject.bytes, 32), &ok);
        set(o, "relation", json_string(name_of(NAMES(relation_names), b->relation)), &ok);
        break;
    }
    case RP_REC_REVOKE: {
        const rp_revoke_body *b = &r.body.revoke;
        set(o, "target", hex_json(b->target.bytes, 32), &ok);
        set(o, "reason", json_string(name_of(NAMES(reason_names), b->reason)), &ok);
        break;
    }
    case RP_REC_ROTATE: {
        const rp_rotate_body *b = &r.body.rotate;
        set(o, "new_key", hex_json(b->new_key.bytes, 32), &ok);
        set(o, "new_recovery", hex_json(b->new_recovery.bytes, 32), &ok);
        set(o, "auth", json_string(name_of(NAMES(auth_names), b->auth)), &ok);
        set(o, "recovery_key", hex_json(b->recovery_key.bytes, 32), &ok);
        break;
    }
    case RP_REC_EVIDENCE: {
        const rp_evidence_body *b = &r.body.evidence;
        set(o, "vote_type", json_string(name_of(NAMES(vote_names), b->vote_type)), &ok);
        set(o, "vote_height", u64_json(b->height), &ok);
        set(o, "vote_round", json_integer((json_int_t)b->round), &ok);
        set(o, "block_hash_a", hex_json(b->hash_a.bytes, 32), &ok);
        set(o, "sig_a", hex_json(b->sig_a.bytes, 64), &ok);
        set(o, "block_hash_b", hex_json(b->hash_b.bytes, 32), &ok);
        set(o, "sig_b", hex_json(b->sig_b.bytes, 64), &ok);
        break;
    }
    case RP_REC_AUDIENCE: {
        const rp_audience_body *b = &r.body.audience;
        set(o, "subject", hex_json(b->subject.bytes, 32), &ok);
        set(o, "platform", json_string(rp_platform_name(b->platform)), &ok);
        set(o, "handle", json_stringn(b->handle, b->handle_len), &ok);
        set(o, "followers", u64_json(b->followers), &ok);
        set(o, "authentic_ppm", json_integer((json_int_t)b->authentic_ppm), &ok);
        set(o, "engagement_ppm", json_integer((json_int_t)b->engagement_ppm), &ok);
        set(o, "period_start", u64_json(b->period_start), &ok);
        set(o, "period_end", u64_json(b->period_end), &ok);
        set(o, "expiry", u64_json(b->expiry), &ok);
        break;
    }
    default:
        break; /* the decoder admits no other type */
    }
    json_t *sigs = json_array();
    for (size_t i = 0; i < rp_record_nsigs(r.type); i++)
        push(sigs, hex_json(r.sigs[i].bytes, 64), &ok);
    set(o, "signatures", sigs, &ok);
    set(o, "hex", hex_json(bytes, len), &ok);
    if (!ok) {
        json_decref(o);
        seterr(err, RP_ERR_NOMEM, height, "out of memory");
        *code = RP_ERR_NOMEM;
        return NULL;
    }
    return o;
}

static json_t *header_json(const rp_header *h, int *ok)
{
    json_t *o = json_object();
    set(o, "version", json_integer(h->version), ok);
    set(o, "chain_id", hex_json(h->chain_id.bytes, 32), ok);
    set(o, "height", u64_json(h->height), ok);
    set(o, "time_ms", u64_json(h->time_ms), ok);
    set(o, "prev_hash", hex_json(h->prev_hash.bytes, 32), ok);
    set(o, "records_root", hex_json(h->records_root.bytes, 32), ok);
    set(o, "record_count", json_integer(h->record_count), ok);
    set(o, "proposer", json_integer(h->proposer), ok);
    set(o, "validators_hash", hex_json(h->validators_hash.bytes, 32), ok);
    set(o, "prev_commit_hash", hex_json(h->prev_commit_hash.bytes, 32), ok);
    set(o, "state_hash", hex_json(h->state_hash.bytes, 32), ok);
    set(o, "epoch", u64_json(h->epoch), ok);
    set(o, "score_root", hex_json(h->score_root.bytes, 32), ok);
    set(o, "body_bytes", json_integer(h->body_bytes), ok);
    return o;
}

static json_t *commit_json(const rp_commit *c, int *ok)
{
    rp_hash ch;
    json_t *o = json_object();
    set(o, "version", json_integer(c->version), ok);
    set(o, "height", u64_json(c->height), ok);
    set(o, "round", json_integer((json_int_t)c->round), ok);
    set(o, "block_hash", hex_json(c->block_hash.bytes, 32), ok);
    if (rp_commit_hash(&ch, c) == 0)
        set(o, "hash", hex_json(ch.bytes, 32), ok);
    json_t *sigs = json_array();
    for (size_t i = 0; i < c->count; i++) {
        json_t *s = json_object();
        set(s, "validator", json_integer(c->sigs[i].validator), ok);
        set(s, "sig", hex_json(c->sigs[i].sig.bytes, 64), ok);
        push(sigs, s, ok);
    }
    set(o, "signatures", sigs, ok);
    return o;
}

json_t *rp_export_record_obj(size_t index, const rp_hash *chain_id, const unsigned char *bytes,
                             size_t len)
{
    int code = 0;
    return record_json(index, chain_id, bytes, len, 0, &code, NULL);
}

json_t *rp_export_header_obj(const rp_header *h)
{
    int ok = 1;
    json_t *o = header_json(h, &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Serialize compactly into our own malloc'd buffer (json_dumps would use
 * jansson's allocator, which a program may have replaced). */
static char *dump(const json_t *root)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t n = json_dumpb(root, NULL, 0, flags);
    char *out = n ? malloc(n + 1) : NULL;
    if (!out)
        return NULL;
    if (json_dumpb(root, out, n, flags) != n) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

int rp_export_block_obj(json_t **out, const rp_hash *chain_id, const unsigned char *block,
                        size_t blen, const unsigned char *commit, size_t clen, size_t first,
                        size_t max, rp_store_error *err)
{
    rp_header h;
    rp_hash hh;
    rp_block_item *items = NULL;
    rp_commit *c = NULL;
    json_t *root = NULL;
    int rc, ok = 1;

    *out = NULL;
    if (blen < RP_HEADER_SIZE || rp_header_decode(&h, block, RP_HEADER_SIZE) != 0) {
        seterr(err, RP_ERR_CORRUPT, 0, "the header does not decode");
        return RP_ERR_CORRUPT;
    }
    size_t n = h.record_count <= RP_BLOCK_MAX_RECORDS ? h.record_count : RP_BLOCK_MAX_RECORDS;
    items = malloc((n ? n : 1) * sizeof *items);
    c = malloc(sizeof *c);
    if (!items || !c) {
        rc = RP_ERR_NOMEM;
        seterr(err, rc, h.height, "out of memory");
        goto out;
    }
    if ((rc = rp_block_decode(&h, items, n, block, blen)) != 0) {
        seterr(err, RP_ERR_CORRUPT, h.height, "the block does not decode: %s", rp_strerror(rc));
        rc = RP_ERR_CORRUPT;
        goto out;
    }
    if ((rc = rp_commit_decode(c, commit, clen)) != 0) {
        seterr(err, RP_ERR_CORRUPT, h.height, "the commit does not decode: %s", rp_strerror(rc));
        rc = RP_ERR_CORRUPT;
        goto out;
    }
    rp_header_hash(&hh, &h);
    root = json_object();
    set(root, "type", json_string("block"), &ok);
    set(root, "height", u64_json(h.height), &ok);
    set(root, "hash", hex_json(hh.bytes, 32), &ok);
    set(root, "header", header_json(&h, &ok), &ok);
    json_t *recs = json_array();
    set(root, "records", recs, &ok);
    for (size_t i = first; ok && i < h.record_count && i - first < max; i++) {
        json_t *r = record_json(i, chain_id, items[i].bytes, items[i].len, h.height, &rc, err);
        if (!r)
            goto out;
        push(recs, r, &ok);
    }
    set(root, "commit", commit_json(c, &ok), &ok);
    if (!ok) {
        rc = RP_ERR_NOMEM;
        seterr(err, rc, h.height, "out of memory");
        goto out;
    }
    *out = root;
    root = NULL;
    rc = 0;
out:
    json_decref(root);
    free(items);
    free(c);
    return rc;
}

int rp_export_block_json(char **line, const rp_hash *chain_id, const unsigned char *block,
                         size_t blen, const unsigned char *commit, size_t clen, rp_store_error *err)
{
    json_t *root;
    *line = NULL;
    int rc = rp_export_block_obj(&root, chain_id, block, blen, commit, clen, 0, SIZE_MAX, err);
    if (rc)
        return rc;
    if ((*line = dump(root)) == NULL) {
        rc = RP_ERR_NOMEM;
        seterr(err, rc, 0, "out of memory");
    }
    json_decref(root);
    return rc;
}

int rp_export_genesis_json(char **line, const rp_genesis *g)
{
    rp_hash id;
    int rc, ok = 1;
    *line = NULL;
    if ((rc = rp_genesis_chain_id(&id, g)) != 0)
        return rc;
    char *text = rp_genesis_to_json(g);
    if (!text)
        return RP_ERR_NOMEM;
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    json_t *root = json_object();
    set(root, "type", json_string("genesis"), &ok);
    if (doc && ok) {
        const char *key;
        json_t *val;
        json_object_foreach(doc, key, val) set(root, key, json_incref(val), &ok);
    } else {
        ok = 0;
    }
    set(root, "chain_id", hex_json(id.bytes, 32), &ok);
    if (ok)
        *line = dump(root);
    json_decref(doc);
    json_decref(root);
    return *line ? 0 : RP_ERR_NOMEM;
}

static int put_line(FILE *out, char *line)
{
    size_t n = strlen(line);
    line[n] = '\n'; /* the NUL is not written */
    int rc = write_all(out, line, n + 1);
    free(line);
    return rc;
}

int rp_export_write_jsonl(rp_store *s, FILE *out, rp_export_progress_fn progress, void *pctx,
                          rp_store_error *err)
{
    rp_tip tip;
    char *line;
    int rc;
    if (err)
        memset(err, 0, sizeof *err);
    if ((rc = rp_store_tip(s, &tip)) != 0) {
        seterr(err, rc, 0, "cannot read the chain tip: %s", rp_strerror(rc));
        return rc;
    }
    if ((rc = rp_export_genesis_json(&line, rp_store_genesis(s))) != 0 ||
        (rc = put_line(out, line)) != 0) {
        seterr(err, rc, 0, "writing the genesis line: %s", rp_strerror(rc));
        return rc;
    }
    for (uint64_t h = 1; h <= tip.height; h++) {
        unsigned char *block, *commit;
        size_t blen, clen;
        if ((rc = read_pair(s, h, &block, &blen, &commit, &clen, err)) != 0)
            return rc;
        rc = rp_export_block_json(&line, rp_store_chain_id(s), block, blen, commit, clen, err);
        free(block);
        free(commit);
        if (rc) {
            if (err)
                err->height = h; /* even where the bytes could not say it */
            return rc;
        }
        if ((rc = put_line(out, line)) != 0) {
            seterr(err, rc, h, "writing block %llu: %s", (unsigned long long)h, rp_strerror(rc));
            return rc;
        }
        if (progress)
            progress(pctx, h, tip.height);
    }
    return finish_stream(out, err, tip.height);
}

/* ---- binary reader ------------------------------------------------------------------ */

struct rp_export_reader {
    rp_export_read_fn read;
    void *ctx;
    rp_genesis *genesis;
    rp_hash chain_id;
    uint64_t offset;
    uint64_t height; /* blocks returned so far */
    unsigned char *block;
    size_t blockcap;
    unsigned char commit[RP_COMMIT_MAX_SIZE];
    rp_commit decoded; /* scratch for checking the commit */
    int done;
    int err;                /* the first error, sticky */
    rp_store_error err_msg; /* and its message */
};

static int fail(rp_export_reader *r, rp_store_error *err, int code, uint64_t height,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(rp_export_reader *r, rp_store_error *err, int code, uint64_t height,
                const char *fmt, ...)
{
    va_list ap;
    r->err = code;
    r->err_msg.code = code;
    r->err_msg.height = height;
    r->err_msg.index = -1;
    va_start(ap, fmt);
    vsnprintf(r->err_msg.msg, sizeof r->err_msg.msg, fmt, ap);
    va_end(ap);
    if (err)
        *err = r->err_msg;
    return code;
}

/* Read up to n bytes; *got < n only at the end of input. */
static int get(rp_export_reader *r, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    if (n == 0)
        return 0;
    int rc = r->read(r->ctx, buf, n, got);
    if (*got > n)
        *got = n; /* a misbehaving source must not move us past the buffer */
    r->offset += *got;
    return rc;
}

static int file_read(void *ctx, unsigned char *buf, size_t n, size_t *got)
{
    FILE *f = ctx;
    errno = 0;
    *got = fread(buf, 1, n, f);
    if (*got < n && ferror(f))
        return errno ? -errno : -EIO;
    return 0;
}

int rp_export_reader_open_file(rp_export_reader **out, FILE *in, rp_store_error *err)
{
    return rp_export_reader_open(out, file_read, in, err);
}

void rp_export_reader_free(rp_export_reader *r)
{
    if (!r)
        return;
    free(r->genesis);
    free(r->block);
    free(r);
}

const rp_genesis *rp_export_reader_genesis(const rp_export_reader *r)
{
    return r->genesis;
}
const rp_hash *rp_export_reader_chain_id(const rp_export_reader *r)
{
    return &r->chain_id;
}
uint64_t rp_export_reader_offset(const rp_export_reader *r)
{
    return r->offset;
}

static int read_failed(rp_export_reader *r, rp_store_error *err, int rc, uint64_t height)
{
    return fail(r, err, rc, height, "reading the export: %s", rp_strerror(rc));
}

static int read_header(rp_export_reader *r, rp_store_error *err)
{
    unsigned char head[RP_EXPORT_MAGIC_LEN + 1 + 4];
    unsigned char *gbuf;
    size_t got;
    int rc;

    if ((rc = get(r, head, RP_EXPORT_MAGIC_LEN, &got)) != 0)
        return read_failed(r, err, rc, 0);
    if (got == 0)
        return fail(r, err, RP_ERR_BAD_TYPE, 0, "not a repute export: the input is empty");
    if (memcmp(head, RP_EXPORT_MAGIC, got) != 0)
        return fail(r, err, RP_ERR_BAD_TYPE, 0,
                    "not a repute export: it does not start with \"" RP_EXPORT_MAGIC "\"");
    if (got < RP_EXPORT_MAGIC_LEN)
        return fail(r, err, RP_ERR_TRUNCATED, 0, "export is truncated inside its magic");
    if ((rc = get(r, head + RP_EXPORT_MAGIC_LEN, 1, &got)) != 0)
        return read_failed(r, err, rc, 0);
    if (got < 1)
        return fail(r, err, RP_ERR_TRUNCATED, 0, "export is truncated before its version");
    if (head[RP_EXPORT_MAGIC_LEN] != RP_EXPORT_VERSION)
        return fail(r, err, RP_ERR_BAD_VERSION, 0,
                    "export format version %u; this build reads version %d",
                    (unsigned)head[RP_EXPORT_MAGIC_LEN], RP_EXPORT_VERSION);
    if ((rc = get(r, head + RP_EXPORT_MAGIC_LEN + 1, 4, &got)) != 0)
        return read_failed(r, err, rc, 0);
    if (got < 4)
        return fail(r, err, RP_ERR_TRUNCATED, 0, "export is truncated before the genesis length");
    uint32_t glen = get_be32(head + RP_EXPORT_MAGIC_LEN + 1);
    if (glen > RP_GENESIS_MAX_SIZE)
        return fail(r, err, RP_ERR_TOO_LONG, 0, "genesis length %u exceeds the maximum %u",
                    (unsigned)glen, (unsigned)RP_GENESIS_MAX_SIZE);
    if (glen == 0)
        return fail(r, err, RP_ERR_RANGE, 0, "the export's genesis is empty");
    gbuf = malloc(glen);
    if (!gbuf)
        return fail(r, err, RP_ERR_NOMEM, 0, "out of memory");
    rc = get(r, gbuf, glen, &got);
    if (rc) {
        free(gbuf);
        return read_failed(r, err, rc, 0);
    }
    if (got < glen) {
        free(gbuf);
        return fail(r, err, RP_ERR_TRUNCATED, 0,
                    "export is truncated inside the genesis (%zu of %u bytes)", got,
                    (unsigned)glen);
    }
    rc = rp_genesis_decode(r->genesis, gbuf, glen);
    free(gbuf);
    if (rc)
        return fail(r, err, rc, 0, "the export's genesis is invalid: %s", rp_strerror(rc));
    if ((rc = rp_genesis_chain_id(&r->chain_id, r->genesis)) != 0)
        return fail(r, err, rc, 0, "the export's genesis is invalid: %s", rp_strerror(rc));
    return 0;
}

int rp_export_reader_open(rp_export_reader **out, rp_export_read_fn read, void *ctx,
                          rp_store_error *err)
{
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    rp_export_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->genesis = calloc(1, sizeof *r->genesis))) {
        free(r);
        seterr(err, RP_ERR_NOMEM, 0, "out of memory");
        return RP_ERR_NOMEM;
    }
    r->read = read;
    r->ctx = ctx;
    int rc = read_header(r, err);
    if (rc) {
        rp_export_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int rp_export_reader_next(rp_export_reader *r, rp_export_block *b, rp_store_error *err)
{
    unsigned char n4[4];
    size_t got;
    int rc;

    memset(b, 0, sizeof *b);
    if (err)
        memset(err, 0, sizeof *err);
    if (r->err) {
        if (err)
            *err = r->err_msg;
        return r->err;
    }
    if (r->done)
        return 0;
    const uint64_t n = r->height + 1;
    const unsigned long long nl = (unsigned long long)n;

    if ((rc = get(r, n4, 4, &got)) != 0)
        return read_failed(r, err, rc, n);
    if (got == 0)
        return fail(r, err, RP_ERR_TRUNCATED, n,
                    "export is truncated at block %llu: the stream ends after block %llu "
                    "without the end marker",
                    nl, (unsigned long long)r->height);
    if (got < 4)
        return fail(r, err, RP_ERR_TRUNCATED, n,
                    "export is truncated at block %llu: the stream ends inside its length", nl);
    uint32_t blen = get_be32(n4);
    if (blen == 0) {
        unsigned char extra;
        if ((rc = get(r, &extra, 1, &got)) != 0)
            return read_failed(r, err, rc, n);
        if (got)
            return fail(r, err, RP_ERR_TRAILING, n,
                        "bytes follow the end marker (after block %llu, at offset %llu)",
                        (unsigned long long)r->height, (unsigned long long)(r->offset - 1));
        r->done = 1;
        return 0;
    }
    if (blen > RP_BLOCK_MAX_SIZE)
        return fail(r, err, RP_ERR_TOO_LONG, n, "block %llu: length %u exceeds the maximum %u", nl,
                    (unsigned)blen, (unsigned)RP_BLOCK_MAX_SIZE);
    if (blen < RP_HEADER_SIZE)
        return fail(r, err, RP_ERR_RANGE, n,
                    "block %llu: length %u is shorter than a block header (%d bytes)", nl,
                    (unsigned)blen, RP_HEADER_SIZE);
    if (blen > r->blockcap) {
        unsigned char *p = realloc(r->block, blen);
        if (!p)
            return fail(r, err, RP_ERR_NOMEM, n, "out of memory");
        r->block = p;
        r->blockcap = blen;
    }
    if ((rc = get(r, r->block, blen, &got)) != 0)
        return read_failed(r, err, rc, n);
    if (got < blen)
        return fail(r, err, RP_ERR_TRUNCATED, n,
                    "export is truncated at block %llu: the stream ends inside the block "
                    "(%zu of %u bytes)",
                    nl, got, (unsigned)blen);

    rp_header h;
    if ((rc = rp_header_decode(&h, r->block, RP_HEADER_SIZE)) != 0)
        return fail(r, err, rc, n, "block %llu: the header does not decode: %s", nl,
                    rp_strerror(rc));
    if (h.height != n)
        return fail(r, err, RP_ERR_BLOCK_HEIGHT, n,
                    "block %llu of the export is for height %llu (blocks must be in order "
                    "from 1)",
                    nl, (unsigned long long)h.height);
    if (!rp_hash_eq(&h.chain_id, &r->chain_id))
        return fail(r, err, RP_ERR_WRONG_CHAIN, n,
                    "block %llu is for another chain than the export's genesis", nl);

    if ((rc = get(r, n4, 4, &got)) != 0)
        return read_failed(r, err, rc, n);
    if (got < 4)
        return fail(r, err, RP_ERR_TRUNCATED, n,
                    "export is truncated at block %llu: the stream ends before its commit", nl);
    uint32_t clen = get_be32(n4);
    if (clen > RP_COMMIT_MAX_SIZE)
        return fail(r, err, RP_ERR_TOO_LONG, n,
                    "block %llu: commit length %u exceeds the maximum %u", nl, (unsigned)clen,
                    (unsigned)RP_COMMIT_MAX_SIZE);
    if (clen == 0)
        return fail(r, err, RP_ERR_RANGE, n, "block %llu: the commit is empty", nl);
    if ((rc = get(r, r->commit, clen, &got)) != 0)
        return read_failed(r, err, rc, n);
    if (got < clen)
        return fail(r, err, RP_ERR_TRUNCATED, n,
                    "export is truncated at block %llu: the stream ends inside its commit "
                    "(%zu of %u bytes)",
                    nl, got, (unsigned)clen);
    if ((rc = rp_commit_decode(&r->decoded, r->commit, clen)) != 0)
        return fail(r, err, rc, n, "block %llu: the commit does not decode: %s", nl,
                    rp_strerror(rc));
    if (r->decoded.height != n)
        return fail(r, err, RP_ERR_COMMIT, n, "block %llu: the commit is for height %llu", nl,
                    (unsigned long long)r->decoded.height);

    r->height = n;
    b->height = n;
    b->block = r->block;
    b->blen = blen;
    b->commit = r->commit;
    b->clen = clen;
    return 1;
}

/* ---- whole-buffer decoding ------------------------------------------------------------ */

struct mem_src {
    const unsigned char *p;
    size_t len, pos;
};

static int mem_read(void *ctx, unsigned char *buf, size_t n, size_t *got)
{
    struct mem_src *m = ctx;
    size_t left = m->len - m->pos;
    *got = n < left ? n : left;
    if (*got)
        memcpy(buf, m->p + m->pos, *got);
    m->pos += *got;
    return 0;
}

int rp_export_decode(const unsigned char *in, size_t len, rp_genesis *g,
                     int (*fn)(void *ctx, const rp_export_block *b), void *ctx, uint64_t *nblocks,
                     rp_store_error *err)
{
    struct mem_src m = {in, len, 0};
    rp_export_reader *r;
    rp_export_block b;
    uint64_t count = 0;
    int rc;

    if (nblocks)
        *nblocks = 0;
    if ((rc = rp_export_reader_open(&r, mem_read, &m, err)) != 0)
        return rc;
    if (g)
        *g = *r->genesis;
    while ((rc = rp_export_reader_next(r, &b, err)) == 1) {
        count++;
        if (fn && (rc = fn(ctx, &b)) != 0)
            break;
    }
    rp_export_reader_free(r);
    if (nblocks)
        *nblocks = count;
    return rc;
}
