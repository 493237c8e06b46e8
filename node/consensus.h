/* Internal to the daemon: the node's side of consensus (consensus.c drives
 * the engine, cs_gossip.c exchanges its messages with peers).
 *
 * On a chain of several validators every node runs the engine of
 * consensus/engine.h for the next height: a validator with its own index
 * (it builds, signs through the double-sign guard and logs its inputs
 * ahead), a full node with none (it follows the votes, relays them and
 * commits what is decided). A chain whose one validator is a quorum alone
 * keeps the single-validator producer (node/producer.c) instead.
 *
 *   peer PROPOSAL/VOTE -> decode, signature checked on the loop against the
 *                         genesis key -> the log (fsync) -> the engine
 *   engine BUILD       -> rp_producer_build (pool) -> rp_consensus_built
 *   engine PROPOSAL/VOTE -> the signer (guard file, fsync) -> peers, and
 *                         back into the engine through the log
 *   engine CHECK       -> rp_exec_check on the pool -> verdict -> engine
 *   engine DECIDE      -> the writer commits block + commit ->
 *                         rp_producer_committed -> the next height
 *   STATE              -> each peer is sent the proposal and votes of its
 *                         round that it lacks (cs_gossip.c)
 *
 * Everything here runs on the loop thread; checks run on the pool and
 * touch only their job.
 */
#ifndef RP_NODE_CONSENSUS_H
#define RP_NODE_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "consensus/engine.h"
#include "consensus/proposer.h"
#include "consensus/wire.h"
#include "ledger/exec.h"
#include "ledger/record.h"

#define CS_MAX_BLOCKS 16      /* proposed blocks kept per height */
#define CS_MAX_PEERS 1200     /* peers whose consensus state is tracked (= NW_MAX_PEERS) */
#define CS_ANSWER_MS 100      /* a peer's STATE is answered at most this often */
#define CS_MAX_EVIDENCE 256   /* evidence kept for evidence.list (oldest go) */
#define CS_STATE_MS 1000      /* STATE to every peer at least this often */
#define CS_MAX_PENDING_EV 32  /* evidence records waiting for a block of ours */
#define CS_TICK_MS 200        /* start an idle height when work arrives */

struct node;
struct rp_signer;
struct rp_cswal;

/* A block some proposal named at the current height. */
struct cs_block {
    int used;
    rp_hash hash;
    unsigned char *bytes; /* NULL: named by a logged input, not received yet */
    size_t len;
    unsigned char *pc;    /* the parent commit its header names (NULL at height 1) */
    size_t plen;
    rp_checked *checked;  /* after a check or our build */
    int verdict;          /* -1 unknown, 0 invalid, 1 valid */
    int checking, wanted; /* a check runs; the engine asked for a verdict */
};

struct cs_peer {
    uint64_t id; /* 0: free */
    int has_state;
    rp_cs_state_msg st; /* its last STATE, with what we sent it since marked */
    uint64_t last_state_ms;
};

struct consensus {
    struct node *n;
    rp_hash chain_id;
    size_t nval;
    uint64_t power[RP_CS_MAX_VALIDATORS];
    rp_pubkey keys[RP_CS_MAX_VALIDATORS];
    int32_t self; /* our validator index, -1: a full node */
    rp_cs_timeouts to;
    rp_cs_sched sched;

    rp_cs_engine *e;
    uint64_t height; /* the engine's */
    int started, decided, committing, building, replaying;
    int want_build;       /* a BUILD the producer could not start yet */
    size_t build_nfirst;  /* evidence records the running build was given first */
    size_t build_map[CS_MAX_PENDING_EV]; /* and where each is in pending_ev */
    uint64_t ev_gen, build_ev_gen; /* pending_ev changes; its value at the build */
    uint32_t want_round;
    /* the decision, until the writer has it (retried: a full disk, a full
     * queue, a block still to come by sync) */
    int commit_pending, commit_trouble_logged;
    rp_hash decision;
    uint64_t retry_at_ms;
    unsigned retry_ms;
    uint64_t height_since_ms; /* when the previous height was committed */
    struct cs_block blocks[CS_MAX_BLOCKS];
    struct {
        uint64_t height;
        uint32_t round;
        int armed;
    } step_to[3];
    uv_timer_t step_timer[3], tick;
    int timers_open;

    struct rp_signer *signer; /* validators only */
    struct rp_cswal *wal;     /* validators only */
    int sign_refused_logged;

    struct cs_peer peers[CS_MAX_PEERS];
    uint64_t last_state_ms;
    uint32_t sent_round; /* our (round, step) in the last STATE broadcast */
    int sent_step;

    /* EVIDENCE records (ledger/evidence.h) to put first in our next
     * proposal, until a block carries them or the rules refuse them */
    struct {
        rp_pubkey validator;
        uint64_t height;
        uint32_t round;
        uint8_t type;
        unsigned char rec[RP_RECORD_MAX_SIZE];
        size_t len;
    } pending_ev[CS_MAX_PENDING_EV];
    size_t npending_ev;
    rp_cs_evidence evidence[CS_MAX_EVIDENCE];
    size_t nevidence, evidence_next;
    uint64_t missed[RP_CS_MAX_VALIDATORS], signed_blocks[RP_CS_MAX_VALIDATORS];
    uint64_t decided_blocks, last_round;
    int stopped;
};

/* ---- consensus.c ---- */

uint64_t cs_now_ms(struct consensus *c);
/* The first 8 bytes of a hash in hex, for log lines. */
void cs_hash8(char out[17], const rp_hash *h);
/* Move to height with a fresh engine (the log started over). */
void cs_new_height(struct consensus *c, uint64_t height);

/* ---- cs_commit.c ---- */

/* The engine decided hash at round: log it and hand it to the writer. */
void cs_decide(struct consensus *c, uint32_t round, const rp_hash *hash);
/* A decision still waiting is handed to the writer if it can be now. */
void cs_try_commit(struct consensus *c);

/* ---- cs_evidence.c ---- */

/* A double vote: kept (evidence.list) and pending for our next proposal. */
void cs_record_evidence(struct consensus *c, const rp_cs_evidence *ev);
void cs_drop_pending_ev(struct consensus *c, size_t i);
/* Forget pending evidence that a block has carried. */
void cs_prune_pending_ev(struct consensus *c);

/* ---- cs_gossip.c ---- */

/* Our STATE to one peer (0: to every peer). */
void cs_send_state(struct consensus *c, uint64_t peer);
/* A STATE from a peer: remember it, send what it lacks. */
void cs_on_state(struct consensus *c, uint64_t peer, const rp_cs_state_msg *st);
/* A proposal or vote was accepted: relay it to every peer (but from) that
 * is at our height and lacks it. second: the vote is its validator's
 * second at (round, type) (evidence), sent whatever the peer's bitmap. */
void cs_relay_vote(struct consensus *c, const rp_cs_vote *v, uint64_t from, int second);
void cs_relay_proposal(struct consensus *c, const rp_cs_proposal *p, const struct cs_block *b,
                       uint64_t from);
struct cs_peer *cs_peer_get(struct consensus *c, uint64_t id, int create);
struct cs_block *cs_block_find(struct consensus *c, const rp_hash *hash);

#endif /* RP_NODE_CONSENSUS_H */
