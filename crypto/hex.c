/* Hex encoding at the edges: keys, ids and signatures in RPC, CLI and files.
 *
 * Hex strings may carry secret keys (a CLI import, a dev seed), so both
 * directions avoid data-dependent branches and table lookups: encoding is
 * libsodium's constant-time sodium_bin2hex, and decoding maps each digit with
 * arithmetic and accumulates validity, deciding only once at the end. Only
 * the lengths, which are public, are branched on. Outputs are zeroed on every
 * failure so a caller that ignores the error reads zeros, not half a key.
 */
#include <stdint.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hex.h"

int rp_hex_encode(char *out, size_t outcap, const unsigned char *in, size_t len)
{
    if (len > (SIZE_MAX - 1) / 2 || outcap < 2 * len + 1) {
        if (outcap > 0)
            out[0] = '\0';
        return RP_ERR_BUFFER;
    }
    if (len == 0) {
        out[0] = '\0';
        return 0;
    }
    sodium_bin2hex(out, outcap, in, len);
    return 0;
}

/* Value of one hex digit in the low 4 bits; bit 8 set if c is not a digit.
 * Branch-free, after libsodium's sodium_hex2bin. */
static unsigned digit(unsigned char ch)
{
    unsigned c = ch;
    unsigned num = c ^ 48U;                       /* '0'..'9' -> 0..9 */
    unsigned num_ok = ((num - 10U) >> 8) & 0xFFU; /* 0xFF if num < 10, else 0 */
    unsigned alpha = (c & ~32U) - 55U;            /* 'A'..'F', 'a'..'f' -> 10..15 */
    unsigned alpha_ok = (((alpha - 10U) ^ (alpha - 16U)) >> 8) & 0xFFU; /* 10 <= alpha < 16 */
    unsigned ok = num_ok | alpha_ok;                                    /* 0xFF or 0 */
    unsigned val = (num_ok & num) | (alpha_ok & alpha);

    return (val & 0x0FU) | (((ok - 1U) >> 8) & 0x100U);
}

/* Decode 2*n digits into n bytes. Returns nonzero if any character was not a
 * hex digit (out then holds garbage the caller must wipe). */
static unsigned decode(unsigned char *out, const char *hex, size_t n)
{
    unsigned bad = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned hi = digit((unsigned char)hex[2 * i]);
        unsigned lo = digit((unsigned char)hex[2 * i + 1]);
        bad |= hi | lo;
        out[i] = (unsigned char)(((hi & 0x0FU) << 4) | (lo & 0x0FU));
    }
    return bad & 0x100U;
}

int rp_hex_decode(unsigned char *out, size_t outlen, const char *hex, size_t hexlen)
{
    if (outlen > SIZE_MAX / 2 || hexlen != 2 * outlen) {
        if (outlen > 0)
            sodium_memzero(out, outlen);
        return RP_ERR_BAD_HEX;
    }
    if (decode(out, hex, outlen) != 0) {
        sodium_memzero(out, outlen);
        return RP_ERR_BAD_HEX;
    }
    return 0;
}

int rp_hex_decode_var(unsigned char *out, size_t outcap, size_t *outlen, const char *hex,
                      size_t hexlen)
{
    int err = 0;

    *outlen = 0;
    if (hexlen % 2 != 0)
        err = RP_ERR_BAD_HEX;
    else if (hexlen / 2 > outcap)
        err = RP_ERR_BUFFER;
    else if (decode(out, hex, hexlen / 2) != 0)
        err = RP_ERR_BAD_HEX;
    if (err != 0) {
        if (outcap > 0)
            sodium_memzero(out, outcap);
        return err;
    }
    *outlen = hexlen / 2;
    return 0;
}
