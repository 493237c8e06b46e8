/* The canonical binary codec (see codec.h for the rules).
 *
 * Every bounds check compares against what remains rather than computing
 * pos + n, so no length read from untrusted input can overflow a size_t.
 */
#include "ledger/codec.h"

#include <string.h>

#include "crypto/error.h"

void rp_writer_init(rp_writer *w, unsigned char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->err = 0;
}

/* Reserve n bytes and return where to put them; NULL when only counting or
 * after an error. */
static unsigned char *reserve(rp_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (!w->buf) {
        w->len += n;
        return NULL;
    }
    if (n > w->cap - w->len) {
        w->err = RP_ERR_BUFFER;
        return NULL;
    }
    unsigned char *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_be(rp_writer *w, uint64_t v, size_t n)
{
    unsigned char *p = reserve(w, n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

void rp_put_u8(rp_writer *w, uint8_t v) { put_be(w, v, 1); }
void rp_put_u16(rp_writer *w, uint16_t v) { put_be(w, v, 2); }
void rp_put_u32(rp_writer *w, uint32_t v) { put_be(w, v, 4); }
void rp_put_u64(rp_writer *w, uint64_t v) { put_be(w, v, 8); }

void rp_put_bytes(rp_writer *w, const unsigned char *p, size_t n)
{
    unsigned char *dst = reserve(w, n);
    if (dst && n)
        memcpy(dst, p, n);
}

void rp_put_var(rp_writer *w, const unsigned char *p, size_t n, size_t max)
{
    if (w->err)
        return;
    if (n > max || n > UINT16_MAX) {
        w->err = RP_ERR_TOO_LONG;
        return;
    }
    rp_put_u16(w, (uint16_t)n);
    rp_put_bytes(w, p, n);
}

int rp_writer_finish(const rp_writer *w, size_t *len)
{
    if (len)
        *len = w->err ? 0 : w->len;
    return w->err;
}

void rp_reader_init(rp_reader *r, const unsigned char *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
    r->err = 0;
    r->field = NULL;
}

void rp_reader_fail(rp_reader *r, int err, const char *field)
{
    if (r->err)
        return;
    r->err = err;
    r->field = field;
}

/* Take n bytes, or fail with RP_ERR_TRUNCATED. */
const unsigned char *rp_get_view(rp_reader *r, size_t n, const char *field)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        rp_reader_fail(r, RP_ERR_TRUNCATED, field);
        return NULL;
    }
    const unsigned char *p = r->p + r->pos;
    r->pos += n;
    return p;
}

static uint64_t get_be(rp_reader *r, size_t n, const char *field)
{
    const unsigned char *p = rp_get_view(r, n, field);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

uint8_t rp_get_u8(rp_reader *r, const char *field) { return (uint8_t)get_be(r, 1, field); }
uint16_t rp_get_u16(rp_reader *r, const char *field) { return (uint16_t)get_be(r, 2, field); }
uint32_t rp_get_u32(rp_reader *r, const char *field) { return (uint32_t)get_be(r, 4, field); }
uint64_t rp_get_u64(rp_reader *r, const char *field) { return get_be(r, 8, field); }

void rp_get_bytes(rp_reader *r, unsigned char *out, size_t n, const char *field)
{
    const unsigned char *p = rp_get_view(r, n, field);
    if (p)
        memcpy(out, p, n);
    else if (n)
        memset(out, 0, n);
}

size_t rp_get_var(rp_reader *r, unsigned char *out, size_t max, const char *field)
{
    size_t n = rp_get_u16(r, field);
    if (!r->err && n > max)
        rp_reader_fail(r, RP_ERR_TOO_LONG, field);
    if (r->err) {
        if (max)
            memset(out, 0, max);
        return 0;
    }
    rp_get_bytes(r, out, n, field);
    return r->err ? 0 : n;
}

int rp_reader_finish(rp_reader *r, const char **field)
{
    if (!r->err && r->pos != r->len)
        rp_reader_fail(r, RP_ERR_TRAILING, "end");
    if (field)
        *field = r->field;
    return r->err;
}

int rp_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0; /* a continuation byte or 0xF8..0xFF as a lead */
        }
        if (need > n - i - 1)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            unsigned char cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}
