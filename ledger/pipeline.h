/* Internal to ledger/: the replay pipeline that `reputed verify` and
 * `reputed import` (replay.c) drive, and what they share with it.
 *
 * A source yields (block, commit) pairs; rp_pipeline_run reads them ahead on
 * a decoder thread, verifies their signatures ahead on a verifier thread
 * through the caller's verifier, and commits them in order on the calling
 * thread through rp_exec_commit, in write batches (pipeline.c has the
 * details).
 */
#ifndef RP_LEDGER_PIPELINE_H
#define RP_LEDGER_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/presig.h"
#include "ledger/replay.h"
#include "ledger/store.h"

/* One block in flight, or (final set) the end of the source. */
struct pblock {
    uint64_t height;
    unsigned char *block, *commit;
    size_t blen, clen;
    uint64_t offset;       /* source position after this block (import) */
    uint32_t nrecords;     /* from the header */
    uint32_t ncommit_sigs; /* from the commit */
    rp_presig pre;         /* its signatures, verified ahead (ledger/presig.h) */
    int index_rc; /* verify: the hash index entry of this block is wrong */
    char index_msg[256];
    int final; /* end of the source: rc 0 (clean) or the error, in err */
    int rc;
    rp_store_error err;
};

/* A source yields blocks: 1 (pb->block/commit filled, malloc'd), 0 at the
 * end, or a negative error with err filled. Runs on the producer thread. */
struct source {
    int (*next)(void *self, struct pblock *pb, rp_store_error *err);
    void *self;
};

/* Counts of a run, for the report. */
struct run_stats {
    uint64_t last_height;
    uint64_t blocks, records, signatures;
    uint64_t bytes_total;
    double t0;
};

/* Seconds on a monotonic clock. */
double rp_replay_now(void);

/* Record the first failure in out (later ones are ignored). */
void rp_replay_fail(rp_replay_report *out, int code, uint64_t height, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Commit every block of src to dst. Returns 0 at the source's clean end,
 * else the first error (reported in out); either way every block before the
 * failing one is committed. total: the height the run ends at, for progress
 * (0: unknown). */
int rp_pipeline_run(rp_store *dst, const struct source *src, const rp_replay_opts *o,
                    struct run_stats *st, uint64_t total, rp_replay_report *out);

#endif /* RP_LEDGER_PIPELINE_H */
