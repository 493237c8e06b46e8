/* The codecs of every LMDB key and value (layouts in schema.h).
 *
 * Each value has one encoder and one decoder built on the bounded codec
 * (ledger/codec.h), so a layout is written down in exactly one place in
 * code. Nothing here touches LMDB: the ledger's store and rules move the
 * bytes, the auditor's tools and the proof builder read them back.
 */
#include "ledger/schema.h"

#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"

static const char *const table_names[RP_DB_COUNT] = {
#define RP_SCHEMA_NAME(id, name, state) name,
    RP_SCHEMA_TABLES(RP_SCHEMA_NAME)
#undef RP_SCHEMA_NAME
};
static const int table_is_state[RP_DB_COUNT] = {
#define RP_SCHEMA_STATE(id, name, state) state,
    RP_SCHEMA_TABLES(RP_SCHEMA_STATE)
#undef RP_SCHEMA_STATE
};

const char *rp_schema_table_name(int db)
{
    return table_names[db];
}
int rp_schema_table_is_state(int db)
{
    return table_is_state[db];
}

void rp_be64_put(unsigned char out[static 8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

uint64_t rp_be64_get(const unsigned char in[static 8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

/* Finish a decode: RP_ERR_CORRUPT (and the output zeroed) on any error. */
static int finish(rp_reader *r, void *out, size_t size)
{
    if (rp_reader_finish(r, NULL) == 0)
        return 0;
    memset(out, 0, size);
    return RP_ERR_CORRUPT;
}

void rp_tip_encode(unsigned char out[static RP_TIP_SIZE], const rp_tip *t)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_TIP_SIZE);
    rp_put_u64(&w, t->height);
    rp_put_bytes(&w, t->head_hash.bytes, 32);
    rp_put_bytes(&w, t->state_hash.bytes, 32);
    rp_put_u64(&w, t->time_ms);
    rp_put_bytes(&w, t->commit_hash.bytes, 32);
    rp_put_u64(&w, t->epoch);
    rp_put_bytes(&w, t->score_root.bytes, 32);
}

int rp_tip_decode(rp_tip *t, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    t->height = rp_get_u64(&r, "height");
    rp_get_bytes(&r, t->head_hash.bytes, 32, "head");
    rp_get_bytes(&r, t->state_hash.bytes, 32, "state");
    t->time_ms = rp_get_u64(&r, "time");
    rp_get_bytes(&r, t->commit_hash.bytes, 32, "commit");
    t->epoch = rp_get_u64(&r, "epoch");
    rp_get_bytes(&r, t->score_root.bytes, 32, "score_root");
    return finish(&r, t, sizeof *t);
}

void rp_location_encode(unsigned char out[static RP_LOCATION_SIZE], const rp_location *l)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_LOCATION_SIZE);
    rp_put_u64(&w, l->height);
    rp_put_u32(&w, l->index);
}

int rp_location_decode(rp_location *l, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    l->height = rp_get_u64(&r, "height");
    l->index = rp_get_u32(&r, "index");
    return finish(&r, l, sizeof *l);
}

int rp_identity_state_encode(const rp_identity_state *st,
                             unsigned char out[static RP_IDENTITY_STATE_MAX], size_t *len)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_IDENTITY_STATE_MAX);
    rp_put_bytes(&w, st->key.bytes, 32);
    rp_put_bytes(&w, st->recovery.bytes, 32);
    rp_put_u8(&w, st->role);
    rp_put_var(&w, (const unsigned char *)st->name, st->name_len, RP_NAME_MAX);
    rp_put_bytes(&w, st->profile.bytes, 32);
    rp_put_u64(&w, st->seq);
    rp_put_u64(&w, st->registered_height);
    rp_put_u64(&w, st->updated_height);
    rp_put_u32(&w, st->reviews_received);
    rp_put_u32(&w, st->reviews_given);
    rp_put_u32(&w, st->vouches_received);
    rp_put_u32(&w, st->engagements);
    return rp_writer_finish(&w, len);
}

int rp_identity_state_decode(rp_identity_state *st, const unsigned char *in, size_t len)
{
    rp_reader r;
    memset(st, 0, sizeof *st);
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, st->key.bytes, 32, "key");
    rp_get_bytes(&r, st->recovery.bytes, 32, "recovery");
    st->role = rp_get_u8(&r, "role");
    st->name_len = (uint8_t)rp_get_var(&r, (unsigned char *)st->name, RP_NAME_MAX, "name");
    st->name[st->name_len] = '\0';
    rp_get_bytes(&r, st->profile.bytes, 32, "profile");
    st->seq = rp_get_u64(&r, "sequence");
    st->registered_height = rp_get_u64(&r, "registered");
    st->updated_height = rp_get_u64(&r, "updated");
    st->reviews_received = rp_get_u32(&r, "reviews_received");
    st->reviews_given = rp_get_u32(&r, "reviews_given");
    st->vouches_received = rp_get_u32(&r, "vouches_received");
    st->engagements = rp_get_u32(&r, "engagements");
    return finish(&r, st, sizeof *st);
}

void rp_engagement_state_encode(unsigned char out[static RP_ENGAGEMENT_STATE_SIZE],
                                const rp_engagement_state *e)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_ENGAGEMENT_STATE_SIZE);
    rp_put_bytes(&w, e->initiator.bytes, 32);
    rp_put_bytes(&w, e->counterparty.bytes, 32);
    rp_put_u8(&w, e->kind);
    rp_put_u64(&w, e->height);
    rp_put_bytes(&w, e->review_by_initiator.bytes, 32);
    rp_put_bytes(&w, e->review_by_counterparty.bytes, 32);
}

int rp_engagement_state_decode(rp_engagement_state *e, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, e->initiator.bytes, 32, "initiator");
    rp_get_bytes(&r, e->counterparty.bytes, 32, "counterparty");
    e->kind = rp_get_u8(&r, "kind");
    e->height = rp_get_u64(&r, "height");
    rp_get_bytes(&r, e->review_by_initiator.bytes, 32, "review_by_initiator");
    rp_get_bytes(&r, e->review_by_counterparty.bytes, 32, "review_by_counterparty");
    return finish(&r, e, sizeof *e);
}

void rp_review_state_encode(unsigned char out[static RP_REVIEW_STATE_SIZE],
                            const rp_review_state *rv)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_REVIEW_STATE_SIZE);
    rp_put_bytes(&w, rv->issuer.bytes, 32);
    rp_put_bytes(&w, rv->subject.bytes, 32);
    rp_put_bytes(&w, rv->engagement.bytes, 32);
    rp_put_u8(&w, rv->overall);
    rp_put_bytes(&w, rv->dims, RP_REVIEW_DIMS);
    rp_put_u64(&w, rv->time);
    rp_put_u64(&w, rv->height);
    rp_put_u8(&w, rv->live);
}

int rp_review_state_decode(rp_review_state *rv, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, rv->issuer.bytes, 32, "issuer");
    rp_get_bytes(&r, rv->subject.bytes, 32, "subject");
    rp_get_bytes(&r, rv->engagement.bytes, 32, "engagement");
    rv->overall = rp_get_u8(&r, "overall");
    rp_get_bytes(&r, rv->dims, RP_REVIEW_DIMS, "dims");
    rv->time = rp_get_u64(&r, "time");
    rv->height = rp_get_u64(&r, "height");
    rv->live = rp_get_u8(&r, "live");
    return finish(&r, rv, sizeof *rv);
}

void rp_vouch_state_encode(unsigned char out[static RP_VOUCH_STATE_SIZE], const rp_vouch_state *v)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_VOUCH_STATE_SIZE);
    rp_put_bytes(&w, v->id.bytes, 32);
    rp_put_u8(&w, v->relation);
    rp_put_u64(&w, v->height);
}

int rp_vouch_state_decode(rp_vouch_state *v, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, v->id.bytes, 32, "id");
    v->relation = rp_get_u8(&r, "relation");
    v->height = rp_get_u64(&r, "height");
    return finish(&r, v, sizeof *v);
}

void rp_vouch_id_state_encode(unsigned char out[static RP_VOUCH_ID_STATE_SIZE],
                              const rp_vouch_id_state *v)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_VOUCH_ID_STATE_SIZE);
    rp_put_bytes(&w, v->issuer.bytes, 32);
    rp_put_bytes(&w, v->subject.bytes, 32);
    rp_put_u8(&w, v->live);
}

int rp_vouch_id_state_decode(rp_vouch_id_state *v, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, v->issuer.bytes, 32, "issuer");
    rp_get_bytes(&r, v->subject.bytes, 32, "subject");
    v->live = rp_get_u8(&r, "live");
    return finish(&r, v, sizeof *v);
}

void rp_revocation_encode(unsigned char out[static RP_REVOCATION_SIZE], const rp_revocation *rv)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_REVOCATION_SIZE);
    rp_put_bytes(&w, rv->by.bytes, 32);
    rp_put_u64(&w, rv->height);
}

int rp_revocation_decode(rp_revocation *rv, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, rv->by.bytes, 32, "by");
    rv->height = rp_get_u64(&r, "height");
    return finish(&r, rv, sizeof *rv);
}

void rp_pair_key(unsigned char out[static RP_PAIR_KEY_SIZE], const unsigned char a[static 32],
                 const unsigned char b[static 32])
{
    memcpy(out, a, 32);
    memcpy(out + 32, b, 32);
}

void rp_score_key(unsigned char out[static RP_SCORE_KEY_SIZE], uint64_t epoch,
                  const rp_pubkey *identity)
{
    rp_be64_put(out, epoch);
    memcpy(out + 8, identity->bytes, 32);
}

void rp_score_value_encode(unsigned char out[static RP_SCORE_VALUE_SIZE], const rp_score_row *row)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_SCORE_VALUE_SIZE);
    rp_put_u64(&w, row->trust);
    rp_put_u32(&w, row->rating);
    rp_put_u32(&w, row->reviews);
    rp_put_u16(&w, row->score);
    rp_put_u16(&w, row->confidence);
}

int rp_score_row_decode(rp_score_row *row, const unsigned char *key, size_t klen,
                        const unsigned char *val, size_t vlen)
{
    rp_reader r;
    memset(row, 0, sizeof *row);
    if (klen != RP_SCORE_KEY_SIZE)
        return RP_ERR_CORRUPT;
    memcpy(row->identity.bytes, key + 8, 32);
    rp_reader_init(&r, val, vlen);
    row->trust = rp_get_u64(&r, "trust");
    row->rating = rp_get_u32(&r, "rating");
    row->reviews = rp_get_u32(&r, "reviews");
    row->score = rp_get_u16(&r, "score");
    row->confidence = rp_get_u16(&r, "confidence");
    return finish(&r, row, sizeof *row);
}

void rp_score_leaf_bytes(unsigned char out[static RP_SCORE_LEAF_SIZE], const rp_score_row *row)
{
    memcpy(out, row->identity.bytes, 32);
    rp_score_value_encode(out + 32, row);
}

void rp_epoch_value_encode(unsigned char out[static RP_EPOCH_VALUE_SIZE], const rp_epoch_info *e)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_EPOCH_VALUE_SIZE);
    rp_put_u64(&w, e->snapshot_height);
    rp_put_u64(&w, e->commit_height);
    rp_put_bytes(&w, e->root.bytes, 32);
    rp_put_u32(&w, e->identities);
}

int rp_epoch_value_decode(rp_epoch_info *e, uint64_t epoch, const unsigned char *in, size_t len)
{
    rp_reader r;
    memset(e, 0, sizeof *e);
    rp_reader_init(&r, in, len);
    e->snapshot_height = rp_get_u64(&r, "snapshot_height");
    e->commit_height = rp_get_u64(&r, "commit_height");
    rp_get_bytes(&r, e->root.bytes, 32, "root");
    e->identities = rp_get_u32(&r, "identities");
    if (finish(&r, e, sizeof *e))
        return RP_ERR_CORRUPT;
    e->epoch = epoch;
    return 0;
}

void rp_evidence_key(unsigned char out[static RP_EVIDENCE_KEY_SIZE], const rp_pubkey *validator,
                     uint64_t height, uint32_t round, uint8_t vote_type)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_EVIDENCE_KEY_SIZE);
    rp_put_bytes(&w, validator->bytes, 32);
    rp_put_u64(&w, height);
    rp_put_u32(&w, round);
    rp_put_u8(&w, vote_type);
}

void rp_evidence_value_encode(unsigned char out[static RP_EVIDENCE_VALUE_SIZE],
                              const rp_evidence_row *row)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_EVIDENCE_VALUE_SIZE);
    rp_put_u64(&w, row->block_height);
    rp_put_u32(&w, row->index);
    rp_put_bytes(&w, row->id.bytes, 32);
    rp_put_bytes(&w, row->hash_a.bytes, 32);
    rp_put_bytes(&w, row->hash_b.bytes, 32);
}

int rp_evidence_row_decode(rp_evidence_row *row, const unsigned char *key, size_t klen,
                           const unsigned char *val, size_t vlen)
{
    rp_reader r;
    memset(row, 0, sizeof *row);
    rp_reader_init(&r, key, klen);
    rp_get_bytes(&r, row->validator.bytes, 32, "validator");
    row->height = rp_get_u64(&r, "height");
    row->round = rp_get_u32(&r, "round");
    row->vote_type = rp_get_u8(&r, "vote_type");
    if (finish(&r, row, sizeof *row))
        return RP_ERR_CORRUPT;
    rp_reader_init(&r, val, vlen);
    row->block_height = rp_get_u64(&r, "block_height");
    row->index = rp_get_u32(&r, "index");
    rp_get_bytes(&r, row->id.bytes, 32, "id");
    rp_get_bytes(&r, row->hash_a.bytes, 32, "hash_a");
    rp_get_bytes(&r, row->hash_b.bytes, 32, "hash_b");
    return finish(&r, row, sizeof *row);
}

int rp_attest_state_encode(const rp_attest_state *st, unsigned char out[static RP_ATTEST_STATE_MAX],
                           size_t *len)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_ATTEST_STATE_MAX);
    rp_put_bytes(&w, st->attester.bytes, 32);
    rp_put_bytes(&w, st->subject.bytes, 32);
    rp_put_u8(&w, st->platform);
    rp_put_u64(&w, st->followers);
    rp_put_u32(&w, st->authentic_ppm);
    rp_put_u32(&w, st->engagement_ppm);
    rp_put_u64(&w, st->period_start);
    rp_put_u64(&w, st->period_end);
    rp_put_u64(&w, st->expiry);
    rp_put_u64(&w, st->time);
    rp_put_u64(&w, st->height);
    rp_put_u64(&w, st->ended);
    rp_put_var(&w, (const unsigned char *)st->handle, st->handle_len, RP_HANDLE_MAX);
    return rp_writer_finish(&w, len);
}

int rp_attest_state_decode(rp_attest_state *st, const unsigned char *in, size_t len)
{
    rp_reader r;
    memset(st, 0, sizeof *st);
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, st->attester.bytes, 32, "attester");
    rp_get_bytes(&r, st->subject.bytes, 32, "subject");
    st->platform = rp_get_u8(&r, "platform");
    st->followers = rp_get_u64(&r, "followers");
    st->authentic_ppm = rp_get_u32(&r, "authentic_ppm");
    st->engagement_ppm = rp_get_u32(&r, "engagement_ppm");
    st->period_start = rp_get_u64(&r, "period_start");
    st->period_end = rp_get_u64(&r, "period_end");
    st->expiry = rp_get_u64(&r, "expiry");
    st->time = rp_get_u64(&r, "time");
    st->height = rp_get_u64(&r, "height");
    st->ended = rp_get_u64(&r, "ended");
    st->handle_len = (uint8_t)rp_get_var(&r, (unsigned char *)st->handle, RP_HANDLE_MAX, "handle");
    st->handle[st->handle_len] = '\0';
    return finish(&r, st, sizeof *st);
}

void rp_attest_key(unsigned char out[static RP_ATTEST_KEY_SIZE], const rp_pubkey *subject,
                   uint8_t platform, const rp_pubkey *attester)
{
    memcpy(out, subject->bytes, 32);
    out[32] = platform;
    memcpy(out + 33, attester->bytes, 32);
}

void rp_audience_key(unsigned char out[static RP_AUDIENCE_KEY_SIZE], uint64_t epoch,
                     const rp_pubkey *subject, uint8_t platform)
{
    rp_be64_put(out, epoch);
    memcpy(out + 8, subject->bytes, 32);
    out[40] = platform;
}

void rp_audience_value_encode(unsigned char out[static RP_AUDIENCE_VALUE_SIZE],
                              const rp_audience_row *row)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_AUDIENCE_VALUE_SIZE);
    rp_put_u32(&w, row->attesters);
    rp_put_u64(&w, row->total_trust);
    rp_put_u8(&w, row->has_figure);
    rp_put_u64(&w, row->followers);
    rp_put_u32(&w, row->authentic_ppm);
    rp_put_u32(&w, row->engagement_ppm);
}

int rp_audience_row_decode(rp_audience_row *row, const unsigned char *key, size_t klen,
                           const unsigned char *val, size_t vlen)
{
    rp_reader r;
    memset(row, 0, sizeof *row);
    if (klen != RP_AUDIENCE_KEY_SIZE)
        return RP_ERR_CORRUPT;
    memcpy(row->subject.bytes, key + 8, 32);
    row->platform = key[40];
    rp_reader_init(&r, val, vlen);
    row->attesters = rp_get_u32(&r, "attesters");
    row->total_trust = rp_get_u64(&r, "total_trust");
    row->has_figure = rp_get_u8(&r, "has_figure");
    row->followers = rp_get_u64(&r, "followers");
    row->authentic_ppm = rp_get_u32(&r, "authentic_ppm");
    row->engagement_ppm = rp_get_u32(&r, "engagement_ppm");
    return finish(&r, row, sizeof *row);
}

void rp_audience_leaf_bytes(unsigned char out[static RP_AUDIENCE_LEAF_SIZE],
                            const rp_audience_row *row)
{
    memcpy(out, row->subject.bytes, 32);
    out[32] = row->platform;
    rp_audience_value_encode(out + 33, row);
}

void rp_audience_root_encode(unsigned char out[static RP_AUDIENCE_ROOT_SIZE], const rp_hash *root,
                             uint32_t rows)
{
    rp_writer w;
    rp_writer_init(&w, out, RP_AUDIENCE_ROOT_SIZE);
    rp_put_bytes(&w, root->bytes, 32);
    rp_put_u32(&w, rows);
}

int rp_audience_root_decode(rp_hash *root, uint32_t *rows, const unsigned char *in, size_t len)
{
    rp_reader r;
    rp_reader_init(&r, in, len);
    rp_get_bytes(&r, root->bytes, 32, "root");
    *rows = rp_get_u32(&r, "rows");
    if (rp_reader_finish(&r, NULL) == 0)
        return 0;
    memset(root, 0, sizeof *root);
    *rows = 0;
    return RP_ERR_CORRUPT;
}
