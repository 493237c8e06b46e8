/* Commits of a validator that decides alone (contract in solo.h). */
#include "node/solo.h"

#include <stdio.h>
#include <string.h>

#include "crypto/error.h"

int rp_solo_index(const rp_genesis *g, const rp_seckey *key, uint16_t *index)
{
    rp_pubkey pk;
    int rc = rp_pubkey_from_seckey(&pk, key);
    if (rc)
        return rc;
    int idx = rp_genesis_validator_index(g, &pk);
    if (idx < 0 || !rp_genesis_is_quorum(g, g->validators[idx].power))
        return RP_ERR_COMMIT;
    *index = (uint16_t)idx;
    return 0;
}

int rp_solo_commit(const rp_hash *chain_id, const rp_header *h, const rp_seckey *key,
                   uint16_t index, const unsigned char aux[static 32],
                   unsigned char out[static RP_COMMIT_MAX_SIZE], size_t *len)
{
    rp_hash hh, vote;
    rp_commit c;
    rp_header_hash(&hh, h);
    rp_vote_message(&vote, chain_id, h->height, 0, RP_VOTE_PRECOMMIT, &hh);
    memset(&c, 0, sizeof c);
    c.version = RP_COMMIT_VERSION;
    c.height = h->height;
    c.round = 0;
    c.block_hash = hh;
    c.count = 1;
    c.sigs[0].validator = index;
    int rc = rp_sign(&c.sigs[0].sig, vote.bytes, 32, key, aux);
    return rc ? rc : rp_commit_encode(&c, out, RP_COMMIT_MAX_SIZE, len);
}

int rp_solo_produce(rp_store *s, const rp_block_item *records, size_t n, uint64_t time_ms,
                    const rp_seckey *key, const unsigned char aux[static 32],
                    rp_verify_batch_fn verify, void *vctx, rp_hash *hash, rp_store_error *err)
{
    const rp_genesis *g = rp_store_genesis(s);
    rp_checked *c = NULL;
    rp_rejected rej;
    size_t taken, nrej;
    uint16_t index;
    unsigned char commit[RP_COMMIT_MAX_SIZE];
    size_t clen, blen;
    if (err)
        memset(err, 0, sizeof *err);
    int rc = rp_solo_index(g, key, &index);
    if (rc) {
        rp_store_error_set(
            err, rc, 0, -1,
            rc == RP_ERR_COMMIT
                ? "this key is not a validator holding more than 2/3 of the power alone"
                : "invalid validator key");
        return rc;
    }
    rc =
        rp_exec_build(s, records, n, time_ms, index, verify, vctx, &c, &taken, &rej, 1, &nrej, err);
    if (rc)
        return rc;
    if (nrej || taken < n) {
        const rp_header *h = rp_checked_header(c);
        rc = nrej ? rej.code : RP_ERR_BLOCK_LIMITS;
        if (nrej)
            rp_store_error_set(err, rc, h->height, (int64_t)rej.index, "record %zu %s", rej.index,
                               rej.msg);
        else
            rp_store_error_set(err, rc, h->height, -1,
                               "%zu records exceed the block limits (%zu fit)", n, taken);
        rp_checked_free(c);
        return rc;
    }
    const unsigned char *block = rp_checked_block(c, &blen);
    rc = rp_solo_commit(rp_store_chain_id(s), rp_checked_header(c), key, index, aux, commit, &clen);
    if (rc)
        rp_store_error_set(err, rc, rp_checked_header(c)->height, -1, "cannot sign the commit: %s",
                           rp_strerror(rc));
    else
        rc = rp_exec_commit(s, block, blen, commit, clen, c, verify, vctx, err);
    if (rc == 0 && hash)
        *hash = *rp_checked_hash(c);
    rp_checked_free(c);
    return rc;
}
