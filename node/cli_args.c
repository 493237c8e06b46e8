/* repute-cli's argument values: numbers, durations, hex, names, and hex
 * given inline or in a file.
 *
 * Parsers accept exactly one spelling of a value (no signs, no spaces, no
 * 0x) and say only yes or no: the command that calls them knows which
 * option was wrong and says so in its usage error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "node/cli.h"

#define INPUT_MAX (4u << 20) /* a record or proof file, hex and all */

int rp_cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
        return -1;
    uint64_t x = 0;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

int rp_cli_parse_duration(const char *s, uint64_t *out)
{
    char num[24];
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n >= sizeof num || strlen(s) > n + 1)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    uint64_t v, mul = 1;
    if (rp_cli_parse_u64(num, &v) != 0)
        return -1;
    switch (s[n]) {
    case '\0':
    case 's':
        mul = 1;
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = 86400;
        break;
    case 'w':
        mul = 7 * 86400;
        break;
    default:
        return -1;
    }
    if (v > 10ULL * 365 * 86400 / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int rp_cli_parse_hex32(const char *s, unsigned char out[32])
{
    return s && strlen(s) == 64 && rp_hex_decode(out, 32, s, 64) == 0 ? 0 : -1;
}

int rp_cli_parse_enum(const char *s, const char *const *names, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = (uint8_t)(i + 1);
            return 0;
        }
    return -1;
}

const char *const rp_cli_role_names[3] = {"talent", "agent", "brand"};

const char *rp_cli_enum_name(const char *const *names, size_t n, unsigned v)
{
    return v >= 1 && v <= n ? names[v - 1] : "?";
}

/* ---- hex, or a file holding it -------------------------------------------------------------- */

int rp_cli_read_hex_arg(const char *arg, const char *what, unsigned char *out, size_t cap,
                        size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    struct stat st;
    int from_file = !strcmp(arg, "-") || stat(arg, &st) == 0;
    if (from_file) {
        FILE *f = strcmp(arg, "-") ? fopen(arg, "rb") : stdin;
        if (!f)
            return rp_cli_fail("cannot open %s: %s", arg, strerror(errno));
        text = malloc(INPUT_MAX + 1);
        if (!text) {
            if (f != stdin)
                fclose(f);
            return rp_cli_fail("out of memory");
        }
        n = fread(text, 1, INPUT_MAX + 1, f);
        int bad = ferror(f);
        if (f != stdin)
            fclose(f);
        if (bad) {
            free(text);
            return rp_cli_fail("cannot read %s", arg);
        }
        if (n > INPUT_MAX) {
            free(text);
            return rp_cli_fail("%s: more than %u bytes: not a %s", arg, INPUT_MAX, what);
        }
    } else {
        n = strlen(arg);
        text = malloc(n + 1);
        if (!text)
            return rp_cli_fail("out of memory");
        memcpy(text, arg, n);
    }
    text[n] = '\0';
    size_t b = 0, e = n;
    while (b < e && strchr(" \t\r\n", text[b]))
        b++;
    while (e > b && strchr(" \t\r\n", text[e - 1]))
        e--;
    int rc = rp_hex_decode_var(out, cap, len, text + b, e - b);
    free(text);
    if (rc == RP_ERR_BUFFER)
        return rp_cli_fail("%s: too long for a %s", from_file ? arg : "the argument", what);
    if (rc || *len == 0) {
        if (from_file)
            return rp_cli_fail("%s does not hold the hex of a %s", arg, what);
        return rp_cli_fail("'%.40s%s' is neither a file nor the hex of a %s", arg,
                           strlen(arg) > 40 ? "..." : "", what);
    }
    return 0;
}
