/* The canonical binary codec: one bounded writer and one bounded reader that
 * every repute format is built from (records now; blocks, votes and p2p
 * messages later).
 *
 * The rules, which docs/records.md states for users:
 *   - integers are fixed-width, unsigned, big-endian;
 *   - byte strings are a u16 big-endian length followed by the bytes, and every
 *     such field has its own maximum, checked before anything is copied;
 *   - text is a byte string that must be shortest-form UTF-8;
 *   - fixed-size values (keys, hashes, signatures) are raw bytes;
 *   - a value is decoded from exactly its bytes: leftovers are an error.
 *
 * Both sides follow the Knot DNS wire_ctx idea: the first error sticks, a
 * failed read zeroes what it would have returned, and every later call is a
 * no-op, so encoders and decoders read straight down without an `if` per field
 * and check once at the end. The reader also remembers the name of the field
 * at which it first failed, for error messages.
 *
 * Neither side allocates. Both are used by one thread at a time.
 */
#ifndef RP_CODEC_H
#define RP_CODEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct rp_writer {
    unsigned char *buf; /* borrowed; NULL means "only count" */
    size_t cap;
    size_t len;
    int err; /* 0, or the first error (RP_ERR_BUFFER, RP_ERR_TOO_LONG) */
} rp_writer;

/* Start writing into buf[0..cap). buf may be NULL (with cap 0) to measure. */
void rp_writer_init(rp_writer *w, unsigned char *buf, size_t cap);
void rp_put_u8(rp_writer *w, uint8_t v);
void rp_put_u16(rp_writer *w, uint16_t v);
void rp_put_u32(rp_writer *w, uint32_t v);
void rp_put_u64(rp_writer *w, uint64_t v);
/* Raw bytes (n may be 0; p may then be NULL). */
void rp_put_bytes(rp_writer *w, const unsigned char *p, size_t n);
/* A u16 length and the bytes. Sets RP_ERR_TOO_LONG if n > max. */
void rp_put_var(rp_writer *w, const unsigned char *p, size_t n, size_t max);

/* Finish writing.
 * Returns: 0, or the first error. Out: len: bytes written (or, with a NULL
 *          buffer, needed); may be NULL.
 */
int rp_writer_finish(const rp_writer *w, size_t *len);

typedef struct rp_reader {
    const unsigned char *p; /* borrowed */
    size_t len;
    size_t pos;
    int err;           /* 0, or the first error */
    const char *field; /* name of the field of the first error, or NULL */
} rp_reader;

void rp_reader_init(rp_reader *r, const unsigned char *p, size_t len);

/* Record an error at a named field unless one is recorded already.
 * field must be a string literal (or otherwise outlive the reader). */
void rp_reader_fail(rp_reader *r, int err, const char *field);

/* Readers for each form. On error (or after an earlier one) the integer
 * readers return 0 and the byte readers zero their whole output. */
uint8_t rp_get_u8(rp_reader *r, const char *field);
uint16_t rp_get_u16(rp_reader *r, const char *field);
uint32_t rp_get_u32(rp_reader *r, const char *field);
uint64_t rp_get_u64(rp_reader *r, const char *field);
void rp_get_bytes(rp_reader *r, unsigned char *out, size_t n, const char *field);

/* A view of the next n bytes, without copying (for framing, where the bytes
 * are decoded later by their own decoder).
 * Returns: a pointer into the input, valid as long as it is; NULL on error
 *          (RP_ERR_TRUNCATED if fewer than n bytes remain). */
const unsigned char *rp_get_view(rp_reader *r, size_t n, const char *field);

/* A u16 length and that many bytes into out[0..max). Fails with
 * RP_ERR_TOO_LONG if the length exceeds max (before reading any of it).
 * Returns: the length read (0 on error). */
size_t rp_get_var(rp_reader *r, unsigned char *out, size_t max, const char *field);

/* Finish reading: fails with RP_ERR_TRAILING if bytes are left.
 * Returns: 0, or the first error. Out: field: if not NULL, the name of the
 * field of the first error (NULL if none). */
int rp_reader_finish(rp_reader *r, const char **field);

/* Is s[0..n) valid UTF-8 as RFC 3629 defines it: shortest form only, no
 * surrogates (U+D800..DFFF), nothing above U+10FFFF?
 * Returns: 1 if valid, 0 if not. */
int rp_utf8_valid(const unsigned char *s, size_t n);

#endif /* RP_CODEC_H */
