/* What the generator's two halves share; internal to node/gen/ (the API is
 * gen.h).
 *
 * The planner (planner.c) decides what the chain says: the keys, the roles,
 * the genesis and the stream of records in application order, every choice
 * drawn from one PRNG on the calling thread. The writer (writer.c) decides
 * how it gets on disk: it cuts the stream into blocks, stamps, signs and
 * encodes them on libuv's worker pool, produces them through the store,
 * computes score epochs ahead, ends with the empty blocks that commit the
 * last one, and writes the datadir's other files and the output files;
 * rp_gen_run, which drives both, lives there too.
 *
 * They meet in struct gen (one per run, on rp_gen_run's stack) and in the
 * few calls declared at the end of this file. The planner asks the
 * writer for the next record slot (rp_gen_begin_record), fills its body and
 * hands it back (rp_gen_emit); it never sees a block boundary. The writer
 * never draws a random number, so how blocks are cut, signed or scheduled
 * cannot change what the chain says.
 *
 * Nothing here is thread-safe: everything but the pool's signing and epoch
 * work runs on the thread that called rp_gen_run.
 */
#ifndef RP_GEN_INTERNAL_H
#define RP_GEN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/block.h"
#include "ledger/epoch.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/gen/gen.h"
#include "node/pool.h"

/* Key and randomness index spaces under the master seed. Identity keys use
 * 0..N+S+W; recovery keys and commit signatures live far above them. */
#define RECOVERY_KEY_BASE (1ULL << 40)
#define COMMIT_AUX_BASE   (1ULL << 62)

/* The pre-trusted identities: the first min(n, 3) honest ones. */
#define PRETRUST_COUNT(n) ((n) < RP_GEN_MAX_PRETRUSTED ? (n) : RP_GEN_MAX_PRETRUSTED)

/* Signing a block is split into at most this many pool jobs, none smaller
 * than MIN_CHUNK records. */
#define MAX_CHUNKS 64
#define MIN_CHUNK  8

/* xoshiro256** state (the planner's; see planner.c). */
struct prng {
    uint64_t s[4];
};

struct ident {
    rp_pubkey pk;
    uint64_t seq; /* last sequence used */
    uint8_t role;
    uint8_t bad; /* whitewash: an honest talent rated 1 star by the market */
};

/* A record of the block being built, unsigned until the block is full. */
struct job {
    rp_record r;
    uint64_t aux;       /* signing randomness counter of slot 0 (slot 1: +1) */
    uint32_t signer[2]; /* key indices of the slots */
    uint8_t recovery;   /* IDENTITY: commit to a recovery key */
    int rc;
    size_t len; /* encoded length, once done */
};

/* An output file written under PATH.tmp and renamed into place (writer.c). */
struct outfile {
    const char *path, *what;
    char tmp[4096];
    int fd; /* -1: not open */
    int rc; /* first write error */
    size_t n;
    char buf[65536];
};

struct gen;
struct block;

/* One pool job: records [begin, end) of a block. */
struct chunk {
    uv_work_t req;
    struct gen *G;
    struct block *b;
    size_t begin, end;
};

/* A block's records. Two of these take turns: while one is signed on the
 * pool, the main thread produces the other (or builds the next). */
struct block {
    uint64_t height;
    struct job *jobs;
    size_t njobs, capjobs, bytes;
    unsigned char *bufs; /* RP_RECORD_MAX_SIZE bytes per job */
    size_t capbufs;
    rp_block_item *items;
    size_t capitems;
    struct chunk chunks[MAX_CHUNKS];
    size_t busy; /* chunks queued and not back yet */
};

/* A record the planner will emit later (planner.c). */
struct pending;

struct gen {
    const rp_gen_opts *o;
    rp_gen_stats stats;
    uint64_t total; /* records the run will write (the planner counts them) */
    char *err;
    size_t errlen;

    /* Shared: fixed before the first record. */
    unsigned char master[32];
    rp_genesis *g;
    rp_hash chain_id;
    uint64_t n, s, w;  /* honest, sybil, whitewash */
    uint32_t nids;     /* 1 + n + s + w */
    struct ident *ids; /* [0] the validator; seq advances at emission */
    uint32_t rpb;      /* records per block */

    /* The planner's. */
    struct prng rng;
    uint32_t *talents, *agents, *brands;
    uint64_t ntalents, nagents, nbrands;
    uint64_t *vouched; /* open-addressing set of (agent, talent) pairs */
    uint64_t vouched_cap;
    struct pending *heap;
    size_t nheap, capheap;
    uint64_t order;

    /* The writer's. */
    struct outfile genesis_f, manifest_f;
    rp_store *st;
    rp_pool *pool;
    int own_pool;
    uv_loop_t loop;
    int loop_ok;
    uint32_t max_bytes;
    /* Blocks: cur is being built, ready (if not NULL) is full and being
     * signed, waiting to be produced. The planner reads cur->height and
     * cur's last job right after rp_gen_emit: where that record landed. */
    struct block blocks[2];
    struct block *cur, *ready;
    uint64_t aux_ctr;
    uint64_t pos; /* records emitted: the stream position */
    /* A score epoch computed ahead on the worker pool, between its snapshot
     * height b and the block b + delay that commits it (as the node does),
     * so that block does not wait for the engine. */
    struct {
        uv_work_t req;
        int busy;
        uint64_t epoch, commit_height;
        rp_epoch_result *result;
        int rc;
        rp_store *st;
    } ep;
};

/* Block h's time in seconds; its header says h's time in ms, its records
 * this. */
static inline uint64_t block_time_s(uint64_t height)
{
    return RP_GEN_GENESIS_TIME + height;
}

/* Key `index` under the master seed (gen.h). The caller wipes sk. */
static inline void derive_key(const struct gen *G, rp_seckey *sk, uint64_t index)
{
    (void)rp_seckey_from_seed(sk, G->master, index);
}

/* ---- the writer, for the planner (writer.c) ---------------------------------------- */

/* Set the run's error message (printf-style); nothing if errlen is 0. */
void rp_gen_seterr(struct gen *G, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Make room for `need` elements of size elem in p (capacity *cap): returns p
 * or its reallocation, updating *cap; NULL if out of memory (p then still
 * valid, *cap unchanged). */
void *rp_gen_grow(void *p, size_t *cap, size_t need, size_t elem);

/* Start the next record of the stream, of `type`, issued by key index
 * `issuer`: takes the issuer's next sequence number and the current block's
 * time, and a slot in the current block (cutting the block first if it is
 * full). The caller fills the body, the second signer and `recovery`, then
 * calls rp_gen_emit before anything else.
 * Returns: 0; RP_ERR_NOMEM; an error producing an earlier block.
 * Out:     *out: the slot, valid until the next rp_gen_begin_record. */
int rp_gen_begin_record(struct gen *G, unsigned type, uint32_t issuer, struct job **out);

/* Add the started record to its block and count it.
 * Returns: 0; an encoding error (a generator bug).
 * Out:     id: if not NULL, the record's id (known before it is signed). */
int rp_gen_emit(struct gen *G, struct job *j, rp_hash *id);

/* ---- the planner, for the writer (planner.c) --------------------------------------- */

/* Derive the master seed, seed the PRNG, derive every public key, draw the
 * roles and build the genesis (G->g, allocated) and chain id.
 * Returns: 0; RP_ERR_INVALID_ARG (a whitewash count the roles cannot
 *          give); RP_ERR_NOMEM; a key or genesis error (a bug). */
int rp_gen_plan_genesis(struct gen *G);

/* Emit every record of the chain, in order, through rp_gen_begin_record and
 * rp_gen_emit; the last block may still be open when it returns.
 * Returns: 0, or the first error of the stream calls. */
int rp_gen_plan_records(struct gen *G);

#endif /* RP_GEN_INTERNAL_H */
