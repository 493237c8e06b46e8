/* Hex encoding for keys, ids and signatures at the edges (RPC, CLI, files).
 *
 * Output is always lowercase. Input may be either case but nothing else: no
 * prefix, no white space, no odd digit counts. Both functions are pure and
 * thread-safe.
 */
#ifndef RP_HEX_H
#define RP_HEX_H

#include <stddef.h>

/* Encode bytes as NUL-terminated lowercase hex.
 * Returns: 0, or RP_ERR_BUFFER if outcap < 2*len + 1 (out is then set to "" if
 *          outcap > 0).
 * Out:     out: the hex string.
 * In:      outcap: size of out in bytes; in, len: the bytes.
 */
int rp_hex_encode(char *out, size_t outcap, const unsigned char *in, size_t len);

/* Decode exactly outlen bytes from exactly 2*outlen hex digits.
 * Returns: 0, or RP_ERR_BAD_HEX if hexlen != 2*outlen or any character is not a
 *          hex digit; out is zeroed on failure.
 * Out:     out: outlen bytes.
 * In:      hex, hexlen: the digits (need not be NUL-terminated).
 */
int rp_hex_decode(unsigned char *out, size_t outlen, const char *hex, size_t hexlen);

/* Decode a hex string of any even length up to 2*outcap digits.
 * Returns: 0, RP_ERR_BAD_HEX for an odd length or a non-digit, RP_ERR_BUFFER if
 *          the result would not fit; out is zeroed on failure.
 * Out:     out: the bytes; outlen: how many were written.
 * In:      outcap: size of out; hex, hexlen: the digits.
 */
int rp_hex_decode_var(unsigned char *out, size_t outcap, size_t *outlen, const char *hex,
                      size_t hexlen);

#endif /* RP_HEX_H */
