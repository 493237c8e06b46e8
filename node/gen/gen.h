/* repute-gen as a library: write a reproducible synthetic chain into a new
 * datadir, for tests, benchmarks and demos.
 *
 * The datadir is one `reputed run --datadir DIR` serves at once: besides
 * DIR/ledger it holds what `reputed init --dev` writes (node/init.h,
 * rp_init_dev_files): genesis.json, a fresh node.key, validator.key (the
 * generator's validator key, key index 0, as a PLAINTEXT dev key: for
 * development only) and reputed.conf, written last, with the validator
 * enabled on that key. Like init, it wants a new or empty folder.
 *
 * What is generated:
 *   - A genesis of its own (chain "repute-gen", genesis time 1790000000, one
 *     validator of power 1, params like the devnet's) whose keys the
 *     generator holds. Every key is derived from a 32-byte master seed,
 *         master = TH("repute/gen-seed/v1", seed as u64 big-endian),
 *         key i  = rp_seckey_from_seed(master, i),
 *     index 0 being the validator, 1..identities the honest identities (the
 *     first min(3, identities) of which are genesis's pre-trusted set) and
 *     identities+1..identities+sybil the sybils. The pre-trusted are
 *     ordinary honest identities, registered in block 1: the identities
 *     table ends up with exactly identities + sybil entries.
 *   - An honest market: roles ~60% talent, ~25% agent, ~15% brand;
 *     engagements between a talent and an agent or brand (popular
 *     counterparties chosen on a power law), each followed later by one or two
 *     reviews (exactly `reviews` of them in all, ratings ~45% 5, 35% 4, 10% 3,
 *     6% 2, 4% 1); identities/10 vouches (agents for talents); 1% of the
 *     reviews later revoked by their issuer.
 *   - A sybil ring (if sybil > 0): sybils registered as talents, each
 *     initiating fake engagements with up to 3 other ring members, reviewed
 *     5 stars both ways; and attack_edges distinct honest identities that
 *     each engage a sybil and give it a 5-star review.
 * Optional attack scenarios (all off by default; with every one of them 0
 * the chain is exactly what it was without them):
 *   - badmouth: that many engagements in which a ring member engages an
 *     honest talent (a popular one, drawn like the market's) and reviews it
 *     1 star; the talent does not review back.
 *   - camouflage: that many engagements between a ring member and an honest
 *     agent or brand, reviewed both ways: the sybil gives 5 stars, the
 *     honest side 4 or 5 (even odds).
 *   - beneficiaries B (1..5): a concentrated ring. The ring members other
 *     than the first B sybils each engage beneficiaries (up to 3 times,
 *     round robin) and review them 5 stars; the beneficiaries review no one.
 *     Attack edges still land on any ring member.
 *   - whitewash W: W honest talents (never pre-trusted) get 1 star in every
 *     market review they receive, and each registers a second identity
 *     under a new key (key index identities+sybil+1.., registered with the
 *     others) that does nothing else: a bad actor starting over. The
 *     manifest lists the old identities in group "bad" and the new ones in
 *     group "whitewash" (otherwise every group is "honest" or "sybil").
 * The market, ring, attack edges and scenario events are interleaved at
 * random through the chain, after all registrations.
 *
 * Every block goes through rp_solo_produce (node/solo.h): the ledger's one
 * execution path (build, then commit with the built result), every rule and
 * signature checked (verification on the pool, rp_pool_verify), the commit
 * signed by the generator's validator key; records are signed on libuv's
 * worker pool. Blocks hold records_per_block records (fewer if max_block_bytes
 * would be exceeded, and the last one); block h has time
 * genesis_time*1000 + h*1000 ms and its records the time genesis_time + h s.
 * Then, as the node does, empty blocks follow up to the one that commits
 * the score epoch whose snapshot covers the last records: with L the last
 * block of records, up to block ceil(L / 100) * 100 + 10 (epochs of 100
 * blocks, committed 10 blocks after their snapshot). So the chain ends with
 * scores for all of it, and `reputed run` on it has nothing left to settle.
 * Nothing depends on the wall clock or on thread scheduling: the same
 * options give the same chain, bit for bit.
 *
 * Memory: per identity one public key, a sequence number and a role (about
 * 48 bytes); two blocks of records at a time (one signing while the other
 * is applied); the manifest is streamed. Secret keys are re-derived from
 * the master seed when needed and wiped after each signature.
 */
#ifndef RP_GEN_H
#define RP_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "node/pool.h"

#define RP_GEN_CHAIN_NAME                "repute-gen"
#define RP_GEN_GENESIS_TIME              1790000000ULL
#define RP_GEN_DEFAULT_RECORDS_PER_BLOCK 1000
#define RP_GEN_DEFAULT_POW_DIFFICULTY    4
#define RP_GEN_MAX_PRETRUSTED            3
#define RP_GEN_MAX_IDENTITIES            50000000ULL /* honest + sybil */
#define RP_GEN_MAX_REVIEWS_PER_IDENTITY  500         /* reviews <= 500 x identities */

typedef struct rp_gen_opts {
    const char *datadir;        /* created (0700) if missing, or an empty folder */
    uint64_t identities;        /* honest identities N, at least 2 */
    uint64_t reviews;           /* honest-market reviews M, at most 500 x N */
    uint64_t sybil;             /* sybil identities S (0 = none) */
    uint64_t attack_edges;      /* K <= N honest identities reviewing a sybil; needs S > 0 */
    uint64_t seed;              /* everything follows from it */
    const char *genesis_out;    /* NULL, or a path to write the genesis JSON to */
    const char *manifest;       /* NULL, or a path to write the manifest JSON to */
    uint32_t records_per_block; /* 0 = 1000; at most RP_BLOCK_MAX_RECORDS */
    unsigned pow_difficulty;    /* 0 = 4; at most 32 (the genesis limit) */
    /* Called after every block, on the calling thread; may be NULL. total is
     * the number of records the whole run writes (exact, known up front);
     * records reaches it with the last block of records, and stays there
     * through the empty blocks that follow. */
    void (*progress)(void *ctx, uint64_t height, uint64_t records, uint64_t total);
    void *progress_ctx;
    /* The verifier pool (node/pool.h) for the blocks' signatures, borrowed;
     * NULL: rp_gen_run makes one for the run. Signing also runs on libuv's
     * worker pool, whose size rp_pool_new fixes, so create the pool (or run
     * rp_gen_run) before anything else in the process uses libuv's pool. */
    rp_pool *pool;
    /* Attack scenarios, see the top of this file; 0 = off. badmouth and
     * camouflage need sybil > 0; beneficiaries is at most 5 and below sybil;
     * whitewash is at most identities / 4. */
    uint64_t badmouth;
    uint64_t camouflage;
    uint32_t beneficiaries;
    uint64_t whitewash;
    /* Called for every review as it is emitted, on the calling thread; may be
     * NULL. Identities are key indices (1..identities honest, then sybils,
     * then whitewash identities: the manifest's order, from 1); height is the
     * review's block; revoked says the issuer will revoke it later in the
     * chain (revocations follow within a few blocks). */
    void (*on_review)(void *ctx, uint64_t height, uint32_t issuer, uint32_t subject,
                      uint8_t overall, int revoked);
    void *on_review_ctx;
} rp_gen_opts;

typedef struct rp_gen_stats {
    uint64_t blocks, records;
    uint64_t identities;  /* registered: identities + sybil + whitewash */
    uint64_t engagements; /* honest, ring, attack-edge and scenario engagements */
    uint64_t reviews;     /* all reviews: reviews + ring + attack edges + scenarios */
    uint64_t vouches, revokes;
    uint64_t epochs_ahead;  /* score epochs computed ahead on the pool and offered */
    uint64_t settle_blocks; /* empty blocks after the last record (counted in blocks) */
    uint64_t epoch;         /* the last committed score epoch: it covers every record */
    rp_hash head;           /* header hash of the last block */
} rp_gen_stats;

/* Check options without touching anything: the rules listed with the fields
 * above, plus reviews > 0 needing a talent and an agent or brand (always
 * true for identities >= 2).
 * Returns: 0, or RP_ERR_INVALID_ARG with a sentence naming the option in err.
 * Out:     err[0..errlen): NUL-terminated message (may be NULL if errlen is 0).
 */
int rp_gen_check(const rp_gen_opts *o, char *err, size_t errlen);

/* Generate a chain into o->datadir (see the top of this file).
 * Returns: 0; RP_ERR_INVALID_ARG (options, see rp_gen_check); the errors
 *          of rp_init_check_datadir before anything is touched (-EEXIST if
 *          the datadir holds a ledger, a reputed.conf or a key or genesis
 *          file, -ENOTEMPTY if it holds anything else, -ENOTDIR, -EPERM);
 *          -errno for the datadir, genesis or manifest files; RP_ERR_NOMEM;
 *          any error of rp_store_create, rp_solo_produce or
 *          rp_init_dev_files. A block the store refuses is a bug in the
 *          generator: the run stops there and err carries the store's message
 *          (height, record index, rule). After a failure the datadir may hold
 *          a partial chain, valid up to its tip, but no reputed.conf (so no
 *          node runs on it); the manifest is written only on success.
 * Out:     stats: if not NULL, filled on success (zeroed on failure);
 *          err[0..errlen): message on failure, "" on success.
 * In:      o. Needs rp_crypto_init(). Call from one thread at a time: it
 *          waits on libuv's worker pool, and without o->pool it creates a
 *          pool, which sets UV_THREADPOOL_SIZE in the environment.
 * The datadir is checked and the output files are opened (as PATH.tmp)
 * before the datadir is touched, so a bad path fails at once; they are
 * renamed into place on success.
 */
int rp_gen_run(const rp_gen_opts *o, rp_gen_stats *stats, char *err, size_t errlen);

#endif /* RP_GEN_H */
