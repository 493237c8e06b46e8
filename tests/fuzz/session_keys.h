/* Fixed keys shared by the fuzz targets of the Noise handshake and the p2p
 * framing (fuzz_noise.c, fuzz_frame.c) and by the tests that write their seed
 * corpora (test_noise.c, test_frame.c): a seed written with these keys is an
 * input the target can take all the way through. Test keys only: everything
 * about a session made with them is public.
 */
#ifndef RP_FUZZ_SESSION_KEYS_H
#define RP_FUZZ_SESSION_KEYS_H

#include <stddef.h>

enum rp_fuzz_key {
    RP_FUZZ_INIT_STATIC = 1,
    RP_FUZZ_INIT_EPHEMERAL = 2,
    RP_FUZZ_RESP_STATIC = 3,
    RP_FUZZ_RESP_EPHEMERAL = 4,
    RP_FUZZ_FRAME_KEY = 5, /* the transport key of fuzz_frame's decoder */
};

/* The handshake's prologue in the fuzz targets and their seeds. */
#define RP_FUZZ_PROLOGUE "repute/fuzz/v1"

/* Fill one of the fixed 32-byte keys. */
static inline void rp_fuzz_key(unsigned char out[32], enum rp_fuzz_key which)
{
    for (size_t i = 0; i < 32; i++)
        out[i] = (unsigned char)(0x11 * (unsigned)which + 7 * i);
}

#endif /* RP_FUZZ_SESSION_KEYS_H */
