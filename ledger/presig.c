/* Signatures verified ahead of execution (contract in presig.h). */
#include "ledger/presig.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/record.h"

_Static_assert(RP_RECORD_MAX_SIGS >= 2, "an EVIDENCE record lists two vote signatures");

void rp_presig_list(rp_presig *ps, const rp_hash *chain_id, const unsigned char *block,
                    size_t blen, rp_block_item *items, size_t max_records)
{
    memset(ps, 0, sizeof *ps);
    rp_header h;
    if (rp_block_decode(&h, items, max_records, block, blen) != 0 || h.record_count == 0)
        return;
    ps->sigs = malloc((size_t)h.record_count * RP_RECORD_MAX_SIGS * sizeof *ps->sigs);
    ps->ok = malloc((size_t)h.record_count * RP_RECORD_MAX_SIGS);
    if (!ps->sigs || !ps->ok) {
        rp_presig_free(ps);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < h.record_count; i++) {
        rp_record r;
        rp_pubkey keys[RP_RECORD_MAX_SIGS];
        rp_hash id;
        if (rp_record_decode(&r, items[i].bytes, items[i].len, NULL) != 0)
            break;
        rp_record_id_from_body(&id, chain_id, items[i].bytes,
                               rp_record_body_len(r.type, items[i].len));
        if (r.type == RP_REC_EVIDENCE) {
            /* In the order the rules queue them: sig_a, then sig_b (the
             * room per record above is RP_RECORD_MAX_SIGS >= 2). */
            rp_hash msgs[2];
            (void)rp_evidence_vote_messages(msgs, chain_id, &r);
            const rp_sig *sigs[2] = {&r.body.evidence.sig_a, &r.body.evidence.sig_b};
            for (size_t s = 0; s < 2; s++) {
                ps->sigs[n].msg = msgs[s];
                ps->sigs[n].key = r.issuer;
                ps->sigs[n].sig = *sigs[s];
                n++;
            }
            continue;
        }
        size_t k = rp_record_default_signers(&r, keys);
        for (size_t s = 0; s < k; s++) {
            ps->sigs[n].msg = id;
            ps->sigs[n].key = keys[s];
            ps->sigs[n].sig = r.sigs[s];
            n++;
        }
    }
    ps->n = n;
}

void rp_presig_verify(rp_presig *ps, rp_verify_batch_fn verify, void *vctx)
{
    if (!ps->sigs || ps->n == 0)
        return;
    rp_sig_check *checks = malloc(ps->n * sizeof *checks);
    if (!checks) {
        ps->n = 0; /* no cache: execution verifies its batch in full */
        return;
    }
    for (size_t i = 0; i < ps->n; i++) {
        checks[i].msg = ps->sigs[i].msg.bytes;
        checks[i].msglen = 32;
        checks[i].pubkey = &ps->sigs[i].key;
        checks[i].sig = &ps->sigs[i].sig;
    }
    if (verify)
        (void)verify(vctx, checks, ps->n, ps->ok);
    else
        (void)rp_verify_range(checks, 0, ps->n, ps->ok);
    free(checks);
    ps->verified = 1;
}

void rp_presig_free(rp_presig *ps)
{
    free(ps->sigs);
    free(ps->ok);
    memset(ps, 0, sizeof *ps);
}

static int same_check(const rp_sig_check *c, const rp_presig_ent *e)
{
    return c->msglen == 32 && memcmp(c->msg, e->msg.bytes, 32) == 0 &&
           memcmp(c->pubkey->bytes, e->key.bytes, 32) == 0 &&
           memcmp(c->sig->bytes, e->sig.bytes, 64) == 0;
}

static size_t fallback(const rp_presig_cache *vc, const rp_sig_check *c, size_t n,
                       unsigned char *ok)
{
    return vc->verify ? vc->verify(vc->vctx, c, n, ok) : rp_verify_range(c, 0, n, ok);
}

size_t rp_presig_cached_verify(void *ctx, const rp_sig_check *items, size_t n, unsigned char *ok)
{
    rp_presig_cache *vc = ctx;
    const rp_presig *ps = vc->ps;
    size_t *miss = malloc((n ? n : 1) * sizeof *miss);
    size_t nmiss = 0, bad = 0;

    vc->checked += n;
    for (size_t i = 0; i < n; i++) {
        if (ps && ps->verified && i < ps->n && same_check(&items[i], &ps->sigs[i]))
            ok[i] = ps->ok[i];
        else if (miss)
            miss[nmiss++] = i;
        else
            ok[i] = (unsigned char)rp_verify(items[i].sig, items[i].msg, items[i].msglen,
                                             items[i].pubkey);
    }
    if (nmiss) {
        rp_sig_check *c = malloc(nmiss * sizeof *c);
        unsigned char *r = malloc(nmiss);
        if (c && r) {
            for (size_t j = 0; j < nmiss; j++)
                c[j] = items[miss[j]];
            (void)fallback(vc, c, nmiss, r);
            for (size_t j = 0; j < nmiss; j++)
                ok[miss[j]] = r[j];
        } else {
            for (size_t j = 0; j < nmiss; j++)
                (void)rp_verify_range(items, miss[j], miss[j] + 1, ok);
        }
        free(c);
        free(r);
    }
    free(miss);
    for (size_t i = 0; i < n; i++)
        bad += ok[i] == 0;
    return bad;
}
