/* Committing what consensus decided (node/consensus.h): the decided block
 * and the commit assembled from its precommits go to the one writer with the
 * parent commit the block names; a decision that cannot be written now (a
 * full disk, a full queue, a block not received yet) is kept and retried. */
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

/* ---- committing a decision ---------------------------------------------------------- */

struct decide_job {
    struct consensus *c;
    uint64_t height;
    rp_hash hash;
    rp_commit commit;
    rp_hash *ids;
    size_t nids;
    uint64_t t0;
};

static void note_commit_signers(struct consensus *c, const rp_commit *cm)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nval; i++) {
        if (k < cm->count && cm->sigs[k].validator == i) {
            c->signed_blocks[i]++;
            k++;
        } else {
            c->missed[i]++;
        }
    }
}

#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 30000

/* The decision could not be written: keep it and try again later, saying
 * so once (with the path and the room left if the disk is full). */
static void commit_later(struct consensus *c, int rc, const char *msg)
{
    struct node *n = c->n;
    c->commit_pending = 1;
    c->retry_ms = c->retry_ms ? (c->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : c->retry_ms * 2)
                              : RETRY_FIRST_MS;
    c->retry_at_ms = cs_now_ms(c) + c->retry_ms;
    if (c->commit_trouble_logged)
        return;
    c->commit_trouble_logged = 1;
    char q[300], room[32];
    uint64_t avail = 0;
    if (rp_disk_full(n->datadir, rc, &avail)) {
        rp_disk_size_text(room, sizeof room, avail);
        rp_log(RP_LOG_ERROR, "disk_full",
               "path=%s free=\"%s\" height=%llu msg=\"the decided block waits and is tried "
               "again; make room on this disk\"",
               rp_log_str(q, sizeof q, n->datadir), room, (unsigned long long)c->height);
    } else {
        rp_log(RP_LOG_ERROR, "consensus_commit_failed", "height=%llu code=%d msg=%s retry=true",
               (unsigned long long)c->height, rc, rp_log_str(q, sizeof q, msg));
    }
}

static void decide_done(void *ctx, int rc, const rp_store_error *err)
{
    struct decide_job *j = ctx;
    struct consensus *c = j->c;
    struct node *n = c->n;
    c->committing = 0;
    if (rc) {
        rp_tip tip;
        int behind = rp_store_tip(n->st, &tip) == 0 && tip.height >= j->height;
        free(j->ids);
        free(j);
        if (c->stopped)
            return;
        if (behind) /* sync wrote the same height first: no failure */
            cs_new_height(c, tip.height + 1);
        else
            commit_later(c, rc, err && err->msg[0] ? err->msg : rp_strerror(rc));
        return;
    }
    if (c->commit_trouble_logged)
        rp_log(RP_LOG_INFO, "consensus_commit_ok", "height=%llu", (unsigned long long)j->height);
    c->decided_blocks++;
    note_commit_signers(c, &j->commit);
    /* Moves consensus to the next height (rp_consensus_block_committed). */
    rp_producer_committed(n, j->height, &j->hash, j->ids, j->nids, j->t0);
    free(j->ids);
    free(j);
}

/* Hand the decided block and its commit to the writer, if it can be now. */
void cs_try_commit(struct consensus *c)
{
    struct node *n = c->n;
    if (!c->commit_pending || c->committing || c->stopped || cs_now_ms(c) < c->retry_at_ms)
        return;
    struct cs_block *b = cs_block_find(c, &c->decision);
    if (!b || !b->bytes) {
        if (!c->commit_trouble_logged) {
            char hh[17];
            cs_hash8(hh, &c->decision);
            c->commit_trouble_logged = 1;
            rp_log(RP_LOG_WARN, "consensus_decided_unknown",
                   "height=%llu block=%s msg=\"decided on a block this node has not received: "
                   "waiting for it\"",
                   (unsigned long long)c->height, hh);
        }
        return; /* its proposal (STATE) or block sync brings it */
    }
    struct decide_job *j = calloc(1, sizeof *j);
    unsigned char *block = malloc(b->len), *commit = malloc(RP_COMMIT_MAX_SIZE);
    unsigned char *pc = b->plen ? malloc(b->plen) : NULL;
    size_t clen = 0;
    int rc = !j || !block || !commit || (b->plen && !pc) ? RP_ERR_NOMEM : 0;
    if (!rc && (rp_cs_commit(c->e, &j->commit) != 0 ||
                rp_commit_encode(&j->commit, commit, RP_COMMIT_MAX_SIZE, &clen) != 0))
        rc = RP_ERR_COMMIT; /* cannot happen: the engine decided on these precommits */
    if (rc) {
        free(j);
        free(block);
        free(commit);
        free(pc);
        commit_later(c, rc, rp_strerror(rc));
        return;
    }
    memcpy(block, b->bytes, b->len);
    if (b->plen)
        memcpy(pc, b->pc, b->plen);
    j->c = c;
    j->height = c->height;
    j->hash = c->decision;
    j->t0 = uv_hrtime();
    rp_checked *checked = b->checked;
    if (checked && rp_checked_record_ids(checked, &j->ids, &j->nids) != 0)
        j->nids = 0;
    if (!checked && rp_block_record_ids(n, block, b->len, &j->ids, &j->nids) != 0)
        j->nids = 0; /* a retry: the commit runs the rules itself */
    b->checked = NULL;
    rc = rp_node_writer_commit(n->writer, block, b->len, commit, clen, pc, b->plen, checked, NULL,
                               NULL, decide_done, j);
    if (rc) {
        free(block);
        free(commit);
        free(pc);
        rp_checked_free(checked);
        free(j->ids);
        free(j);
        commit_later(c, rc, rp_strerror(rc));
        return;
    }
    c->commit_pending = 0;
    c->committing = 1;
}

void cs_decide(struct consensus *c, uint32_t round, const rp_hash *hash)
{
    char hh[17];
    cs_hash8(hh, hash);
    c->decided = 1;
    c->last_round = round;
    c->decision = *hash;
    c->commit_pending = 1;
    rp_commit cm;
    unsigned signers = rp_cs_commit(c->e, &cm) == 0 ? cm.count : 0;
    rp_log(RP_LOG_INFO, "consensus_decided", "height=%llu round=%u block=%s signers=%u",
           (unsigned long long)c->height, round, hh, signers);
    cs_try_commit(c);
}
