/* The consensus simulator's shared types: a seeded PRNG, the event queue of
 * simulated time, the network model, the validators and the checks.
 *
 * One process holds every validator's real engine (consensus/engine.h). Time
 * is an integer count of milliseconds that only the event queue moves;
 * events are ordered by (time, sequence), and every random choice comes from
 * one xoshiro256** stream seeded by splitmix64 from the 64-bit seed, so a
 * seed replays the same run, event for event. docs/consensus.md ("Simulator") tells
 * the whole story.
 *
 * Files: sim_net.c (PRNG, queue, network), sim_node.c (a validator: signing
 * through the guard, the write-ahead log, crash and restart, catch-up, the
 * Byzantine behaviour), sim_consensus.c (scenarios, checks, runner).
 */
#ifndef RP_TESTS_SIM_H
#define RP_TESTS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/engine.h"
#include "consensus/guard.h"
#include "consensus/input.h"
#include "consensus/proposer.h"
#include "consensus/types.h"
#include "crypto/sig.h"

struct sim;

#define SIM_MAX_NODES   7
#define SIM_MAX_HEIGHTS 64
#define SIM_MAX_PARTS   3
#define SIM_MAX_CRASHES 4

/* ---- PRNG: xoshiro256**, seeded through splitmix64 ---- */
typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;
void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
uint64_t sim_rng_below(sim_rng *r, uint64_t n);               /* uniform in 0..n-1 (n > 0) */
uint64_t sim_rng_range(sim_rng *r, uint64_t lo, uint64_t hi); /* lo..hi inclusive */
int sim_rng_permille(sim_rng *r, uint32_t permille);          /* 1 with that chance */

/* ---- messages and events ---- */
enum sim_msg_kind {
    MSG_PROPOSAL = 1, /* a signed proposal; the block is its hash (abstract) */
    MSG_VOTE,
    MSG_STATUS,   /* unsigned: the sender works on `height` */
    MSG_SYNC_REQ, /* block sync: send me your blocks from `height` on */
    MSG_SYNC,     /* blocks and commits `height`..`to` of the sender's ledger */
};

typedef struct sim_msg {
    uint8_t kind;
    uint16_t from;
    uint64_t height, to;
    rp_cs_proposal proposal;
    rp_cs_vote vote;
} sim_msg;

enum sim_ev_kind {
    EV_DELIVER = 1, /* msg to node (dropped if the node restarted since) */
    EV_INPUT,       /* a timeout that fired, a verdict or a built block */
    EV_TICK,        /* the node's periodic rebroadcast */
    EV_NEXT_HEIGHT, /* the commit timeout after a decision ran out */
    EV_CRASH,
    EV_RESTART,
    EV_GST, /* every fault is over */
};

typedef struct sim_event {
    uint64_t t, seq;
    uint8_t kind;
    uint16_t node;
    uint32_t inc; /* the node's incarnation when the event was made */
    uint64_t height;
    sim_msg msg;
    rp_cs_input in;
} sim_event;

/* ---- a validator ---- */
typedef struct sim_block {
    rp_hash hash;
    uint32_t round;
    rp_commit commit;
} sim_block;

typedef struct sim_node {
    uint16_t id;
    int byz;
    int up;
    uint32_t inc; /* bumped by every crash: in-flight messages to it die */
    uint32_t tick_phase;
    /* Volatile (lost in a crash). */
    rp_cs_engine *eng;
    uint64_t height; /* the height the engine works on */
    int decided;     /* waiting the commit timeout */
    int replaying;
    rp_cs_sched sched;
    sim_msg pending[256]; /* messages for height + 1, held until it starts */
    size_t npending;
    /* Persisted (survive a crash). */
    rp_cs_guard guard;
    unsigned char *wal;
    size_t wal_len, wal_cap;
    uint64_t tip; /* committed height */
    /* The simulator's own note (not the node's): the engine's state at the
     * crash, which the replay must rebuild exactly. */
    int crash_state_set;
    rp_cs_state crash_state;
    sim_block *ledger; /* ledger[h - 1] */
    size_t ledger_cap;
    rp_seckey sk;
    uint64_t aux_counter;
} sim_node;

/* ---- what a scenario is ---- */
typedef struct sim_partition {
    uint64_t start, end;
    uint32_t side; /* bit i: node i is on side 1 */
} sim_partition;

typedef struct sim_crash {
    uint16_t node;
    uint64_t at, down_ms;
    int torn; /* leave a torn entry at the WAL's end */
} sim_crash;

typedef struct sim_config {
    size_t n;
    uint64_t powers[SIM_MAX_NODES];
    uint32_t byz; /* bit i: validator i is Byzantine */
    uint64_t heights;
    uint32_t loss_pm, dup_pm, reorder_pm; /* per mille, before GST */
    uint64_t lossy_until;                 /* loss etc. stop here at the latest */
    uint32_t dmin, dmax;                  /* one-way delay, ms */
    size_t nparts;
    sim_partition parts[SIM_MAX_PARTS];
    size_t ncrashes;
    sim_crash crashes[SIM_MAX_CRASHES];
    uint64_t invalid_height; /* round-0 block built at this height is invalid; 0: none */
    rp_cs_timeouts to;
    uint32_t tick_ms;
    /* Scripted scenarios: drop a message (1) before the network sees it. */
    int (*filter)(struct sim *s, const sim_msg *m, uint16_t to);
    const char *name;
} sim_config;

/* A block ever built, for verdicts and the validity check. */
typedef struct sim_built {
    rp_hash hash;
    uint64_t height;
    uint32_t round;
    uint16_t proposer;
    int valid;
} sim_built;

/* One signature an honest validator gave, for the double-sign check. */
typedef struct sim_signed {
    uint16_t validator;
    uint64_t height;
    uint32_t round;
    uint8_t step;
    rp_hash msg;
    rp_sig sig;
} sim_signed;

typedef struct sim_stats {
    uint64_t events, delivered, lost, signs, verifies, verify_hits;
    uint64_t decisions, synced, max_round, evidence, double_votes, refused, reused;
    uint64_t worst_permille; /* the slowest goal's share of its liveness bound */
    uint64_t crashes, replayed, late; /* late: decided for a round before the engine's */
} sim_stats;

typedef struct sim {
    uint64_t seed;
    int verbose;
    sim_config cfg;
    sim_rng rng;
    uint64_t now, seq;
    rp_hash chain_id;
    rp_pubkey keys[SIM_MAX_NODES];
    sim_node nodes[SIM_MAX_NODES];
    /* the queue: a binary heap */
    sim_event *heap;
    size_t nheap, capheap;
    /* checks */
    uint64_t gst;
    int after_gst;
    uint64_t goal, deadline; /* liveness: every honest node commits goal by deadline */
    uint64_t goal_set;       /* when the goal was set */
    rp_hash decided[SIM_MAX_HEIGHTS + 1];
    int have_decided[SIM_MAX_HEIGHTS + 1];
    sim_built *built;
    size_t nbuilt, capbuilt;
    sim_signed *sigs;
    size_t nsigs, capsigs;
    char fail[512]; /* the first failure; empty while all holds */
    sim_stats st;
} sim;

/* sim_net.c */
void sim_push(sim *s, const sim_event *e); /* e->seq is assigned here */
int sim_pop(sim *s, sim_event *e);
void sim_send(sim *s, uint16_t from, uint16_t to, const sim_msg *m);
void sim_broadcast(sim *s, uint16_t from, const sim_msg *m);
int sim_partitioned(const sim *s, uint16_t a, uint16_t b, uint64_t t);
int sim_verify_vote(sim *s, const rp_cs_vote *v);
int sim_verify_proposal(sim *s, const rp_cs_proposal *p);
void sim_verify_cache_clear(void);

/* sim_node.c */
int sim_node_init(sim *s, sim_node *nd, uint16_t id);
void sim_node_free(sim_node *nd);
void sim_node_start_height(sim *s, sim_node *nd, uint64_t height);
void sim_node_deliver(sim *s, sim_node *nd, const sim_msg *m);
void sim_node_input(sim *s, sim_node *nd, const rp_cs_input *in);
void sim_node_tick(sim *s, sim_node *nd);
void sim_node_crash(sim *s, sim_node *nd, int torn);
void sim_node_restart(sim *s, sim_node *nd);

/* sim_consensus.c: checks the nodes call */
void sim_failf(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace(sim *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sim_on_decide(sim *s, sim_node *nd, uint64_t height, const rp_hash *h, uint32_t round,
                   int synced);
void sim_on_signed(sim *s, uint16_t validator, uint64_t height, uint32_t round, uint8_t step,
                   const rp_hash *msg, const rp_sig *sig, int reused);
void sim_on_evidence(sim *s, sim_node *nd, const rp_cs_evidence *ev);
int sim_signed_before(const sim *s, uint16_t validator, uint64_t height, uint32_t round,
                      uint8_t step, const rp_hash *msg);
const sim_built *sim_find_built(const sim *s, const rp_hash *h);
void sim_register_built(sim *s, const sim_built *b);
void sim_block_hash(const sim *s, rp_hash *out, uint64_t height, uint32_t round, uint16_t proposer,
                    uint32_t variant);
uint64_t sim_power(const sim *s, uint32_t mask);

#endif /* RP_TESTS_SIM_H */
