/* Building EVIDENCE records (contract in evidence.h). The codec itself is
 * record.c's, like every other type's: this file only fills the struct in
 * its one canonical order and lets rp_record_encode apply the decoder's
 * checks. */
#include "ledger/evidence.h"

#include <string.h>

#include "crypto/error.h"

int rp_evidence_make(rp_record *r, const rp_pubkey *validator, uint8_t type, uint64_t height,
                     uint32_t round, const rp_hash *hash_a, const rp_sig *sig_a,
                     const rp_hash *hash_b, const rp_sig *sig_b)
{
    memset(r, 0, sizeof *r);
    r->version = RP_RECORD_VERSION;
    r->type = RP_REC_EVIDENCE;
    r->issuer = *validator;
    rp_evidence_body *b = &r->body.evidence;
    b->vote_type = type;
    b->height = height;
    b->round = round;
    int swap = memcmp(hash_a->bytes, hash_b->bytes, 32) > 0;
    b->hash_a = swap ? *hash_b : *hash_a;
    b->sig_a = swap ? *sig_b : *sig_a;
    b->hash_b = swap ? *hash_a : *hash_b;
    b->sig_b = swap ? *sig_a : *sig_b;
    int err = rp_record_check(r, NULL);
    if (err)
        memset(r, 0, sizeof *r);
    return err;
}

int rp_evidence_record(unsigned char out[static RP_RECORD_MAX_SIZE], size_t *len,
                       const rp_pubkey *validator, uint8_t type, uint64_t height, uint32_t round,
                       const rp_hash *hash_a, const rp_sig *sig_a, const rp_hash *hash_b,
                       const rp_sig *sig_b)
{
    rp_record r;
    *len = 0;
    int err = rp_evidence_make(&r, validator, type, height, round, hash_a, sig_a, hash_b, sig_b);
    return err ? err : rp_record_encode(&r, out, RP_RECORD_MAX_SIZE, len);
}
