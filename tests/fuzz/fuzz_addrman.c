/* Fuzz target: the address book's loader (p2p/addrman.h, rp_addrman_load).
 *
 * A refusal leaves no book and names its field. Whatever loads passes the
 * consistency check and saves back to exactly the input bytes. Then the
 * loaded book is worked a little (select, good, attempt, add, discourage,
 * collisions, GETADDR), since a book that came from a file must behave like
 * any other: it stays consistent, and its save loads again and saves the
 * same.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/sig.h"
#include "p2p/addrman.h"
#include "tests/fuzz/fuzz.h"

#define NOW UINT64_C(1790000000)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    return 0;
}

static unsigned char *save_all(const rp_addrman *am, size_t *len)
{
    size_t need;
    if (rp_addrman_save(am, NULL, 0, &need) != 0)
        abort();
    unsigned char *buf = malloc(need);
    if (!buf || rp_addrman_save(am, buf, need, len) != 0 || *len != need)
        abort();
    return buf;
}

/* A loaded book is consistent and saves back to the bytes it came from. */
static void same_bytes(const rp_addrman *am, const unsigned char *in, size_t len)
{
    size_t len2;
    unsigned char *again = save_all(am, &len2);
    if (rp_addrman_check(am) != 0 || len2 != len || memcmp(again, in, len) != 0)
        abort();
    free(again);
}

static void work(rp_addrman *am, const uint8_t *data, size_t size)
{
    rp_addrman_entry e;
    uint64_t t = NOW;
    for (int k = 0; k < 4; k++) {
        t += 3600;
        if (rp_addrman_select(am, k & 1, NULL, NULL, t, &e) == 1) {
            if (rp_addrman_find(am, &e.addr, NULL) != 1)
                abort();
            if (k == 2)
                rp_addrman_attempt(am, &e.addr, 1, t);
            else if (rp_addrman_good(am, &e.addr, NULL, t) < 0)
                abort();
            if (rp_addrman_discourage(am, &e.addr, e.has_id ? &e.id : NULL, t + 86400, k == 3, t) <
                0)
                abort();
        }
    }
    /* A few addresses made of the input's bytes. */
    for (size_t off = 0; off + 20 <= size && off < 200; off += 20) {
        rp_netaddr a;
        memcpy(a.ip, data + off, 16);
        a.port = (uint16_t)(data[off + 16] << 8 | data[off + 17]);
        if (rp_addrman_add(am, &a, NULL, t - data[off + 18] * 60u, data + off, t) < 0)
            abort();
        if (data[off + 19] & 1 && rp_addrman_good(am, &a, NULL, t) < 0)
            abort();
    }
    if (rp_addrman_collision(am, &e) == 1)
        rp_addrman_attempt(am, &e.addr, 1, t);
    if (rp_addrman_resolve_collisions(am, t + 7200) != 0)
        abort();
    static rp_addrman_entry out[RP_ADDRMAN_GETADDR_MAX];
    size_t n, total = rp_addrman_size(am, NULL, NULL);
    if (rp_addrman_getaddr(am, out, RP_ADDRMAN_GETADDR_MAX, &n, t) != 0 ||
        n > total * RP_ADDRMAN_GETADDR_PCT / 100)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char seed[32] = {0};
    memcpy(seed, data, size < 32 ? size : 32);
    rp_addrman *am = (rp_addrman *)1;
    const char *field = NULL;
    int err = rp_addrman_load(&am, data, size, seed, &field);
    if (err) {
        if (am != NULL || field == NULL || rp_strerror(err)[0] == '\0')
            abort();
        return 0;
    }
    same_bytes(am, data, size);

    work(am, data, size);
    size_t len;
    unsigned char *buf = save_all(am, &len);
    rp_addrman_free(am);
    if (rp_addrman_load(&am, buf, len, seed, NULL) != 0)
        abort();
    same_bytes(am, buf, len);
    free(buf);
    rp_addrman_free(am);
    return 0;
}
