/* Pre-signed IDENTITY registrations for the benchmarks (records.h): each
 * by a fresh key, so none waits for another (no sequence gaps), and all of
 * them independent of the node they are sent to.
 */
#include "bench/records.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/procs.h"
#include "crypto/hex.h"
#include "crypto/sig.h"

rp_bench_rec *rp_bench_registrations(size_t n, const rp_hash *chain, unsigned pow_difficulty,
                                     const char *name_prefix)
{
    rp_bench_rec *out = calloc(n, sizeof *out);
    if (!out)
        rp_procs_die("out of memory");
    uint64_t t = (uint64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        rp_seckey sk;
        rp_record r;
        memset(&r, 0, sizeof r);
        r.version = RP_RECORD_VERSION;
        r.type = RP_REC_IDENTITY;
        if (rp_seckey_generate(&sk) != 0 || rp_pubkey_from_seckey(&r.issuer, &sk) != 0)
            rp_procs_die("keygen failed");
        r.seq = 1;
        r.time = t;
        r.body.identity.role = (uint8_t)(1 + i % 3);
        int k =
            snprintf(r.body.identity.name, sizeof r.body.identity.name, "%s %zu", name_prefix, i);
        r.body.identity.name_len = (uint8_t)k;
        if (rp_identity_pow_solve(&r, chain, pow_difficulty, 1u << 30) != 0)
            rp_procs_die("proof of work failed");
        unsigned char aux[32], bytes[RP_RECORD_MAX_SIZE];
        rp_aux_fresh(aux);
        rp_hash id;
        if (rp_record_sign(&r, 0, chain, &sk, aux) != 0 ||
            rp_record_encode(&r, bytes, sizeof bytes, &out[i].size) != 0 ||
            rp_record_id(&id, chain, &r) != 0)
            rp_procs_die("signing failed");
        sodium_memzero(&sk, sizeof sk);
        rp_hex_encode(out[i].line_hex, sizeof out[i].line_hex, bytes, out[i].size);
        rp_hex_encode(out[i].id, sizeof out[i].id, id.bytes, 32);
    }
    return out;
}
