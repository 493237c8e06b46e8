/* Double votes (node/consensus.h): each pair the engine reports becomes an
 * EVIDENCE record (ledger/evidence.h) that this validator puts first in its
 * next proposal until a block carries it; evidence.list and node.info's
 * consensus member show it and the state of consensus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/input.h"
#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/evidence.h"
#include "ledger/query.h"
#include "node/consensus.h"
#include "node/disk.h"
#include "node/log.h"
#include "node/node.h"
#include "node/rpc_params.h"

/* Keep the EVIDENCE record of a double vote for our next proposal (at most
 * CS_MAX_PENDING_EV; one per slot; the oldest gives way). */
static void pend_evidence(struct consensus *c, const rp_cs_evidence *ev)
{
    const rp_cs_vote *a = &ev->a;
    for (size_t i = 0; i < c->npending_ev; i++)
        if (c->pending_ev[i].height == a->height && c->pending_ev[i].round == a->round &&
            c->pending_ev[i].type == a->type &&
            !memcmp(c->pending_ev[i].validator.bytes, c->keys[a->validator].bytes, 32))
            return;
    c->ev_gen++;
    if (c->npending_ev == CS_MAX_PENDING_EV) {
        memmove(&c->pending_ev[0], &c->pending_ev[1],
                (CS_MAX_PENDING_EV - 1) * sizeof c->pending_ev[0]);
        c->npending_ev--;
    }
    size_t i = c->npending_ev;
    if (rp_evidence_record(c->pending_ev[i].rec, &c->pending_ev[i].len, &c->keys[a->validator],
                           a->type, a->height, a->round, &ev->a.block_hash, &ev->a.sig,
                           &ev->b.block_hash, &ev->b.sig) != 0)
        return;
    c->pending_ev[i].validator = c->keys[a->validator];
    c->pending_ev[i].height = a->height;
    c->pending_ev[i].round = a->round;
    c->pending_ev[i].type = a->type;
    c->npending_ev++;
}

void cs_drop_pending_ev(struct consensus *c, size_t i)
{
    c->ev_gen++;
    memmove(&c->pending_ev[i], &c->pending_ev[i + 1],
            (c->npending_ev - i - 1) * sizeof c->pending_ev[0]);
    c->npending_ev--;
}

/* Forget pending evidence that is on chain now (ours or another's block). */
void cs_prune_pending_ev(struct consensus *c)
{
    for (size_t i = 0; i < c->npending_ev;) {
        rp_evidence_row rows[64];
        size_t n = 0;
        int more = 0, found = 0;
        if (rp_store_evidence_list(c->n->st, &c->pending_ev[i].validator, NULL, rows, 64, &n,
                                   &more) == 0)
            for (size_t k = 0; k < n && !found; k++)
                found = rows[k].height == c->pending_ev[i].height &&
                        rows[k].round == c->pending_ev[i].round &&
                        rows[k].vote_type == c->pending_ev[i].type;
        if (found)
            cs_drop_pending_ev(c, i);
        else
            i++;
    }
}

void cs_record_evidence(struct consensus *c, const rp_cs_evidence *ev)
{
    pend_evidence(c, ev);
    c->evidence[c->evidence_next] = *ev;
    c->evidence_next = (c->evidence_next + 1) % CS_MAX_EVIDENCE;
    if (c->nevidence < CS_MAX_EVIDENCE)
        c->nevidence++;
    char ha[17], hb[17];
    cs_hash8(ha, &ev->a.block_hash);
    cs_hash8(hb, &ev->b.block_hash);
    rp_log(RP_LOG_WARN, "consensus_evidence",
           "validator=%u height=%llu round=%u type=%s a=%s b=%s msg=\"signed two votes\"",
           (unsigned)ev->a.validator, (unsigned long long)ev->a.height, ev->a.round,
           ev->a.type == RP_VOTE_PREVOTE ? "prevote" : "precommit", ha, hb);
}

/* ---- node.info and evidence.list ------------------------------------------------------ */

static json_t *vote_json(const rp_cs_vote *v)
{
    char h[65], s[129];
    rp_hex_encode(h, sizeof h, v->block_hash.bytes, 32);
    rp_hex_encode(s, sizeof s, v->sig.bytes, 64);
    return json_pack("{s:s, s:s, s:s}", "block_hash", rp_cs_is_nil(&v->block_hash) ? "nil" : h,
                     "signature", s, "type", v->type == RP_VOTE_PREVOTE ? "prevote" : "precommit");
}

#define EVIDENCE_PAGE 1000

/* evidence.list: the evidence on chain (the first EVIDENCE_PAGE rows, in
 * the table's order) and the double votes this node saw itself. */
json_t *rp_consensus_evidence(struct node *n)
{
    struct consensus *c = n->cs;
    json_t *onchain = json_array(), *seen = json_array();
    rp_evidence_row *rows = malloc(EVIDENCE_PAGE * sizeof *rows);
    size_t nrows = 0;
    int more = 0;
    if (!onchain || !seen || !rows) {
        json_decref(onchain);
        json_decref(seen);
        free(rows);
        return NULL;
    }
    if (rp_store_evidence_list(n->st, NULL, NULL, rows, EVIDENCE_PAGE, &nrows, &more) != 0)
        nrows = 0;
    static const char *const types[] = {"", "prevote", "precommit"};
    for (size_t i = 0; i < nrows; i++) {
        const rp_evidence_row *r = &rows[i];
        int idx = rp_genesis_validator_index(n->g, &r->validator);
        char key[65], ha[65], hb[65], id[65];
        rp_hex_encode(key, sizeof key, r->validator.bytes, 32);
        rp_hex_encode(ha, sizeof ha, r->hash_a.bytes, 32);
        rp_hex_encode(hb, sizeof hb, r->hash_b.bytes, 32);
        rp_hex_encode(id, sizeof id, r->id.bytes, 32);
        json_array_append_new(
            onchain,
            json_pack("{s:i, s:s, s:o, s:I, s:s, s:s, s:s, s:o, s:I, s:s}", "validator", idx,
                      "pubkey", key, "height", rp_json_u64(r->height), "round",
                      (json_int_t)r->round, "type", types[r->vote_type <= 2 ? r->vote_type : 0],
                      "block_hash_a", ha, "block_hash_b", hb, "block_height",
                      rp_json_u64(r->block_height), "index", (json_int_t)r->index, "id", id));
    }
    free(rows);
    for (size_t k = 0; c && k < c->nevidence; k++) {
        size_t i = (c->evidence_next + CS_MAX_EVIDENCE - c->nevidence + k) % CS_MAX_EVIDENCE;
        const rp_cs_evidence *e = &c->evidence[i];
        char key[65];
        rp_hex_encode(key, sizeof key, c->keys[e->a.validator].bytes, 32);
        json_array_append_new(
            seen, json_pack("{s:i, s:s, s:s, s:o, s:I, s:o, s:o}", "validator", (int)e->a.validator,
                            "name", n->g->validators[e->a.validator].name, "pubkey", key, "height",
                            rp_json_u64(e->a.height), "round", (json_int_t)e->a.round, "a",
                            vote_json(&e->a), "b", vote_json(&e->b)));
    }
    return json_pack("{s:o, s:b, s:o}", "evidence", onchain, "more", more, "seen", seen);
}

/* Evidence on chain per validator (from the first EVIDENCE_PAGE rows). */
static void evidence_counts(struct node *n, uint64_t *count)
{
    rp_evidence_row *rows = malloc(EVIDENCE_PAGE * sizeof *rows);
    size_t nrows = 0;
    int more = 0;
    if (rows && rp_store_evidence_list(n->st, NULL, NULL, rows, EVIDENCE_PAGE, &nrows, &more) == 0)
        for (size_t i = 0; i < nrows; i++) {
            int idx = rp_genesis_validator_index(n->g, &rows[i].validator);
            if (idx >= 0)
                count[idx]++;
        }
    free(rows);
}

json_t *rp_consensus_info(struct node *n)
{
    struct consensus *c = n->cs;
    if (!c)
        return json_null();
    rp_cs_state st;
    memset(&st, 0, sizeof st);
    if (c->e)
        rp_cs_get_state(c->e, &st);
    static const char *const steps[] = {"propose", "prevote", "precommit"};
    json_t *vals = json_array();
    uint64_t onchain[RP_CS_MAX_VALIDATORS] = {0};
    evidence_counts(n, onchain);
    for (size_t i = 0; i < c->nval; i++) {
        uint64_t ev = onchain[i];
        json_array_append_new(vals, json_pack("{s:i, s:s, s:o, s:o, s:o, s:o}", "index", (int)i,
                                              "name", n->g->validators[i].name, "power",
                                              rp_json_u64(c->power[i]), "signed",
                                              rp_json_u64(c->signed_blocks[i]), "missed",
                                              rp_json_u64(c->missed[i]), "evidence",
                                              rp_json_u64(ev)));
    }
    return json_pack("{s:o, s:I, s:s, s:b, s:i, s:o, s:I, s:o}", "height", rp_json_u64(c->height),
                     "round", (json_int_t)st.round, "step",
                     c->started ? steps[st.step <= 2 ? st.step : 0] : "idle", "decided",
                     st.decided, "self", (int)c->self, "decided_blocks",
                     rp_json_u64(c->decided_blocks), "last_round", (json_int_t)c->last_round,
                     "validators", vals);
}
