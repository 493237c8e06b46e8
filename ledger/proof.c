/* Score proofs: checking one, and their binary encoding (layout in proof.h
 * and docs/trust.md). Pure: no LMDB, so `repute-cli verify-proof` checks a
 * proof with nothing but the proof and a genesis file.
 *
 * Built on the one codec (ledger/codec.h): the encoder writes straight down
 * and checks once at the end, the decoder reads straight down and checks
 * once; the header and the commit go through their own codecs in block.c,
 * so a proof carries them in exactly the bytes the chain hashed and signed.
 *
 * Canonical form rests on two rules: the decoder zeroes the struct before it
 * fills the fields the flags select, and the encoder refuses a struct whose
 * unselected fields are not zero. Every other field is written as it is.
 */
#include "ledger/proof.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "ledger/codec.h"

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static int row_is_zero(const rp_score_row *r)
{
    return all_zero(r->identity.bytes, 32) && r->trust == 0 && r->rating == 0 && r->reviews == 0 &&
           r->score == 0 && r->confidence == 0;
}

/* An entry that is not in the encoding: row, depth and path all zero. */
static int entry_is_zero(const rp_score_row *row, const rp_hash *path, size_t depth)
{
    return depth == 0 && row_is_zero(row) && all_zero(path, RP_MERKLE_MAX_DEPTH * sizeof *path);
}

/* An entry that is: a bounded depth and nothing past it. */
static int check_entry(const rp_hash *path, size_t depth)
{
    if (depth > RP_MERKLE_MAX_DEPTH)
        return RP_ERR_TOO_LONG;
    if (!all_zero(path + depth, (RP_MERKLE_MAX_DEPTH - depth) * sizeof *path))
        return RP_ERR_NONCANONICAL;
    return 0;
}

/* Is the commit in p->commit[0..commit_len) canonical? The decoder's answer
 * and the encoder's, so neither accepts what the other refuses. */
static int check_commit(const unsigned char *commit, size_t len)
{
    if (len == 0)
        return RP_ERR_RANGE;
    if (len > RP_COMMIT_MAX_SIZE)
        return RP_ERR_TOO_LONG;
    rp_commit *c = malloc(sizeof *c); /* 8.5 KB: not on a worker's stack */
    if (!c)
        return RP_ERR_NOMEM;
    int rc = rp_commit_decode(c, commit, len);
    free(c);
    return rc;
}

static int check_struct(const rp_score_proof *p)
{
    if ((p->present | p->has_left | p->has_right) & ~1)
        return RP_ERR_RANGE;
    if (p->present && (p->has_left || p->has_right))
        return RP_ERR_RANGE;
    int rc;
    if (p->present) {
        if ((rc = check_entry(p->path, p->depth)) != 0)
            return rc;
    } else if (!entry_is_zero(&p->row, p->path, p->depth)) {
        return RP_ERR_NONCANONICAL;
    }
    if (p->has_left) {
        if ((rc = check_entry(p->lpath, p->ldepth)) != 0)
            return rc;
    } else if (!entry_is_zero(&p->left, p->lpath, p->ldepth)) {
        return RP_ERR_NONCANONICAL;
    }
    if (p->has_right) {
        if ((rc = check_entry(p->rpath, p->rdepth)) != 0)
            return rc;
    } else if (!entry_is_zero(&p->right, p->rpath, p->rdepth)) {
        return RP_ERR_NONCANONICAL;
    }
    if (p->header.version != RP_BLOCK_VERSION)
        return RP_ERR_BAD_VERSION;
    if ((rc = check_commit(p->commit, p->commit_len)) != 0)
        return rc;
    if (!all_zero(p->commit + p->commit_len, sizeof p->commit - p->commit_len))
        return RP_ERR_NONCANONICAL;
    return 0;
}

static void put_entry(rp_writer *w, const rp_score_row *row, const rp_hash *path, size_t depth)
{
    unsigned char leaf[RP_SCORE_LEAF_SIZE];
    rp_score_leaf_bytes(leaf, row);
    rp_put_bytes(w, leaf, sizeof leaf);
    rp_put_u8(w, (uint8_t)depth);
    for (size_t i = 0; i < depth; i++)
        rp_put_bytes(w, path[i].bytes, 32);
}

int rp_score_proof_encode(const rp_score_proof *p, unsigned char *out, size_t cap, size_t *len)
{
    *len = 0;
    int rc = check_struct(p);
    if (rc)
        return rc;
    unsigned char hdr[RP_HEADER_SIZE];
    if ((rc = rp_header_encode(&p->header, hdr)) != 0)
        return rc;

    rp_writer w;
    rp_writer_init(&w, out, cap);
    rp_put_u8(&w, RP_PROOF_VERSION);
    rp_put_u8(&w, (uint8_t)((p->present ? RP_PROOF_FLAG_PRESENT : 0) |
                            (p->has_left ? RP_PROOF_FLAG_LEFT : 0) |
                            (p->has_right ? RP_PROOF_FLAG_RIGHT : 0)));
    rp_put_u64(&w, p->epoch.epoch);
    rp_put_u64(&w, p->epoch.snapshot_height);
    rp_put_u64(&w, p->epoch.commit_height);
    rp_put_bytes(&w, p->epoch.root.bytes, 32);
    rp_put_u32(&w, p->epoch.identities);
    rp_put_u64(&w, p->index);
    if (p->present)
        put_entry(&w, &p->row, p->path, p->depth);
    if (p->has_left)
        put_entry(&w, &p->left, p->lpath, p->ldepth);
    if (p->has_right)
        put_entry(&w, &p->right, p->rpath, p->rdepth);
    rp_put_bytes(&w, hdr, sizeof hdr);
    rp_put_var(&w, p->commit, p->commit_len, RP_COMMIT_MAX_SIZE);
    return rp_writer_finish(&w, len);
}

static void get_entry(rp_reader *r, rp_score_row *row, rp_hash *path, size_t *depth)
{
    rp_get_bytes(r, row->identity.bytes, 32, "row.identity");
    row->trust = rp_get_u64(r, "row.trust");
    row->rating = rp_get_u32(r, "row.rating");
    row->reviews = rp_get_u32(r, "row.reviews");
    row->score = rp_get_u16(r, "row.score");
    row->confidence = rp_get_u16(r, "row.confidence");
    size_t d = rp_get_u8(r, "depth");
    if (d > RP_MERKLE_MAX_DEPTH)
        rp_reader_fail(r, RP_ERR_TOO_LONG, "depth");
    if (r->err)
        return;
    *depth = d;
    for (size_t i = 0; i < d; i++)
        rp_get_bytes(r, path[i].bytes, 32, "path");
}

int rp_score_proof_decode(rp_score_proof *p, const unsigned char *in, size_t len)
{
    memset(p, 0, sizeof *p);
    if (len > RP_PROOF_MAX_SIZE)
        return RP_ERR_TOO_LONG;
    rp_reader r;
    rp_reader_init(&r, in, len);
    uint8_t version = rp_get_u8(&r, "version");
    if (!r.err && version != RP_PROOF_VERSION)
        rp_reader_fail(&r, RP_ERR_BAD_VERSION, "version");
    uint8_t flags = rp_get_u8(&r, "flags");
    if (!r.err && ((flags & ~(RP_PROOF_FLAG_PRESENT | RP_PROOF_FLAG_LEFT | RP_PROOF_FLAG_RIGHT)) ||
                   ((flags & RP_PROOF_FLAG_PRESENT) && flags != RP_PROOF_FLAG_PRESENT)))
        rp_reader_fail(&r, RP_ERR_RANGE, "flags");
    p->present = !!(flags & RP_PROOF_FLAG_PRESENT);
    p->has_left = !!(flags & RP_PROOF_FLAG_LEFT);
    p->has_right = !!(flags & RP_PROOF_FLAG_RIGHT);
    p->epoch.epoch = rp_get_u64(&r, "epoch");
    p->epoch.snapshot_height = rp_get_u64(&r, "snapshot_height");
    p->epoch.commit_height = rp_get_u64(&r, "commit_height");
    rp_get_bytes(&r, p->epoch.root.bytes, 32, "root");
    p->epoch.identities = rp_get_u32(&r, "identities");
    p->index = rp_get_u64(&r, "index");
    if (p->present)
        get_entry(&r, &p->row, p->path, &p->depth);
    if (p->has_left)
        get_entry(&r, &p->left, p->lpath, &p->ldepth);
    if (p->has_right)
        get_entry(&r, &p->right, p->rpath, &p->rdepth);
    const unsigned char *hdr = rp_get_view(&r, RP_HEADER_SIZE, "header");
    if (hdr) {
        int hrc = rp_header_decode(&p->header, hdr, RP_HEADER_SIZE);
        if (hrc)
            rp_reader_fail(&r, hrc, "header");
    }
    p->commit_len = rp_get_var(&r, p->commit, RP_COMMIT_MAX_SIZE, "commit");
    int rc = rp_reader_finish(&r, NULL);
    if (rc == 0)
        rc = check_commit(p->commit, p->commit_len);
    if (rc)
        memset(p, 0, sizeof *p);
    return rc;
}

/* ---- checking a proof ------------------------------------------------------- */

void rp_score_leaf(rp_hash *out, const rp_score_row *row)
{
    unsigned char leaf[RP_SCORE_LEAF_SIZE];
    rp_score_leaf_bytes(leaf, row);
    rp_merkle_leaf(out, leaf, sizeof leaf);
}

int rp_score_proof_verify(const rp_score_proof *p, const rp_genesis *g, const rp_hash *chain_id,
                          const rp_pubkey *identity)
{
    rp_commit *c = malloc(sizeof *c);
    rp_hash hh, leaf;
    int ok = 0;
    if (!c)
        return 0;
    /* The header is final: its commit carries more than 2/3 of the power. */
    rp_header_hash(&hh, &p->header);
    if (p->commit_len > sizeof p->commit || rp_commit_decode(c, p->commit, p->commit_len) != 0 ||
        rp_commit_verify(c, g, chain_id, p->header.height, &hh) != 0)
        goto out;
    if (!rp_hash_eq(&p->header.chain_id, chain_id) || p->header.height != p->epoch.commit_height ||
        p->header.epoch != p->epoch.epoch || !rp_hash_eq(&p->header.score_root, &p->epoch.root))
        goto out;
    uint64_t n = p->epoch.identities;
    if (p->present) {
        rp_score_leaf(&leaf, &p->row);
        ok =
            !memcmp(p->row.identity.bytes, identity->bytes, 32) && p->index < n &&
            rp_merkle_verify(&p->epoch.root, &leaf, (size_t)p->index, (size_t)n, p->path, p->depth);
        goto out;
    }
    /* Absent: the neighbours are adjacent leaves that sort around it, and
     * the ends of the table stand in for a missing neighbour. */
    if (p->index > n || (p->index > 0) != !!p->has_left || (p->index < n) != !!p->has_right)
        goto out;
    if (n == 0) {
        rp_hash empty;
        rp_merkle_empty(&empty);
        ok = rp_hash_eq(&empty, &p->epoch.root);
        goto out;
    }
    if (p->has_left) {
        rp_score_leaf(&leaf, &p->left);
        if (memcmp(p->left.identity.bytes, identity->bytes, 32) >= 0 ||
            !rp_merkle_verify(&p->epoch.root, &leaf, (size_t)p->index - 1, (size_t)n, p->lpath,
                              p->ldepth))
            goto out;
    }
    if (p->has_right) {
        rp_score_leaf(&leaf, &p->right);
        if (memcmp(p->right.identity.bytes, identity->bytes, 32) <= 0 ||
            !rp_merkle_verify(&p->epoch.root, &leaf, (size_t)p->index, (size_t)n, p->rpath,
                              p->rdepth))
            goto out;
    }
    ok = 1;
out:
    free(c);
    return ok;
}
