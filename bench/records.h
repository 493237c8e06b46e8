/* Pre-signed records for the multi-process benchmarks: IDENTITY
 * registrations by fresh keys, encoded as record.submit wants them, so that
 * the signing is done before any clock starts.
 *
 * Failures (key generation, proof of work, signing) end the run through
 * rp_procs_die (bench/procs.h).
 */
#ifndef RP_BENCH_RECORDS_H
#define RP_BENCH_RECORDS_H

#include <stddef.h>

#include "crypto/hash.h"
#include "ledger/record.h"

/* One record, ready to send. */
typedef struct rp_bench_rec {
    char line_hex[2 * RP_RECORD_MAX_SIZE + 1]; /* its encoding, hex: record.submit's "record" */
    char id[65];                               /* its record id, hex: record.get's "id" */
    size_t size;                               /* bytes of its encoding */
} rp_bench_rec;

/* n IDENTITY registrations of chain, each by a fresh identity (seq 1, time
 * now, role 1 + i % 3, name "PREFIX i"), with the chain's proof of work,
 * signed now.
 * Returns: an array of n (the caller frees it).
 * In: chain: the chain id the records are signed for; pow_difficulty: the
 *     chain's (node.info's pow_difficulty); name_prefix: a few bytes. */
rp_bench_rec *rp_bench_registrations(size_t n, const rp_hash *chain, unsigned pow_difficulty,
                                     const char *name_prefix);

#endif /* RP_BENCH_RECORDS_H */
