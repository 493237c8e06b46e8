/* repute-cli's output: where results and messages go, and how they look.
 *
 * Results go to stdout: the node's JSON with --json, else readable text:
 * aligned tables, and objects as "key  value" lines in which times, star
 * ratings and trust are spelled out. Messages go to stderr. Text that came
 * from the node is sanitized before it reaches a terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/hex.h"
#include "node/cli.h"

/* ---- messages and values -------------------------------------------------------------------- */

static void message(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* One line on stderr: prefix, the message, a newline. */
static void message(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int rp_cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("error: ", fmt, ap);
    va_end(ap);
    return RP_CLI_EXIT_FAIL;
}

void rp_cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("", fmt, ap);
    va_end(ap);
}

void rp_cli_hex32(char out[65], const unsigned char in[32])
{
    rp_hex_encode(out, 65, in, 32);
}

void rp_cli_short_hex(char out[17], const char *hex)
{
    snprintf(out, 17, "%s", hex ? hex : "");
}

void rp_cli_format_time(char *out, size_t cap, uint64_t secs)
{
    struct tm tm;
    time_t t = (time_t)secs;
    if ((uint64_t)t != secs || !gmtime_r(&t, &tm) ||
        strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "%" PRIu64, secs);
}

void rp_cli_format_span(char *out, size_t cap, uint64_t s)
{
    if (s >= 86400)
        snprintf(out, cap, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s / 3600 % 24);
    else if (s >= 3600)
        snprintf(out, cap, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(out, cap, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
    else
        snprintf(out, cap, "%" PRIu64 "s", s);
}

void rp_cli_format_stars(char *out, size_t cap, uint64_t micro)
{
    if (micro == 0)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "\xe2\x98\x85%" PRIu64 ".%" PRIu64, (micro + 50000) / 1000000,
                 (micro + 50000) / 100000 % 10);
}

/* Display width of UTF-8 text: code points, not bytes. Names are checked
 * UTF-8 without control characters (docs/records.md). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Text from the node goes to a terminal: replace control characters, so a
 * name or message can never move the cursor or change colours. (The ledger
 * refuses them in names already; this also covers a misbehaving node.) */
void rp_cli_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* ---- aligned tables ------------------------------------------------------------------------- */

void rp_cli_table_init(rp_cli_table *t, size_t ncols, const char *const *heads, const char *align)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->heads = heads;
    t->align = align;
}

void rp_cli_table_add(rp_cli_table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, t->cap * t->ncols * sizeof *nc);
        if (!nc) {
            rp_cli_fail("out of memory");
            exit(RP_CLI_EXIT_FAIL);
        }
        t->cells = nc;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *s = strdup(row[i] ? row[i] : "");
        if (!s) {
            rp_cli_fail("out of memory");
            exit(RP_CLI_EXIT_FAIL);
        }
        rp_cli_sanitize(s);
        t->cells[t->nrows * t->ncols + i] = s;
    }
    t->nrows++;
}

static void print_cell(const char *s, size_t width, char align, int last)
{
    size_t w = text_width(s), pad = width > w ? width - w : 0;
    if (align == 'r')
        printf("%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, stdout);
    else
        printf("%s%*s", s, (int)pad, "");
}

void rp_cli_table_print(const rp_cli_table *t)
{
    size_t widths[16] = {0};
    for (size_t c = 0; c < t->ncols && c < 16; c++) {
        widths[c] = text_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    }
    for (size_t c = 0; c < t->ncols; c++) {
        print_cell(t->heads[c], widths[c], t->align[c], c + 1 == t->ncols);
        fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            print_cell(t->cells[r * t->ncols + c], widths[c], t->align[c], c + 1 == t->ncols);
            fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
        }
}

void rp_cli_table_free(rp_cli_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* ---- key: value output for JSON objects ----------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

void rp_cli_scalar_text(char *out, size_t cap, const char *key, const json_t *v)
{
    uint64_t u = 0;
    int is_num = 0;
    if (json_is_string(v)) {
        snprintf(out, cap, "%s", json_string_value(v));
        const char *s = json_string_value(v);
        is_num = s[0] != '\0' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 19;
        if (is_num)
            u = strtoull(s, NULL, 10);
    } else if (json_is_integer(v)) {
        snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        is_num = json_integer_value(v) >= 0;
        u = (uint64_t)json_integer_value(v);
    } else if (json_is_true(v)) {
        snprintf(out, cap, "yes");
    } else if (json_is_false(v)) {
        snprintf(out, cap, "no");
    } else if (json_is_null(v)) {
        snprintf(out, cap, "-");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, cap, "%s", s ? s : "?");
        free(s);
        return;
    }
    if (!is_num)
        return;
    char extra[96] = "";
    if (!strcmp(key, "time_ms") || ends_with(key, "_time_ms")) {
        rp_cli_format_time(extra, sizeof extra, u / 1000);
    } else if (!strcmp(key, "time") || !strcmp(key, "genesis_time") || !strcmp(key, "expiry")) {
        rp_cli_format_time(extra, sizeof extra, u);
    } else if (!strcmp(key, "rating")) {
        rp_cli_format_stars(extra, sizeof extra, u);
        snprintf(out, cap, "%s", extra);
        if (u)
            snprintf(out + strlen(out), cap - strlen(out), " (%" PRIu64 " micro-stars)", u);
        return;
    } else if (!strcmp(key, "trust") && u) {
        snprintf(extra, sizeof extra, "%.3g of all trust", (double)u / 1152921504606846976.0);
    } else if (ends_with(key, "uptime_s") && u >= 60) {
        rp_cli_format_span(extra, sizeof extra, u);
    }
    if (extra[0])
        snprintf(out + strlen(out), cap - strlen(out), " (%s)", extra);
}

static void kv_collect(rp_cli_table *t, const char *prefix, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, k);
        if (json_is_object(v) && json_object_size(v) > 0) {
            char p[sizeof name + 1];
            snprintf(p, sizeof p, "%s.", name);
            kv_collect(t, p, v);
            continue;
        }
        char val[1024];
        rp_cli_scalar_text(val, sizeof val, k, v);
        const char *row[2] = {name, val};
        rp_cli_table_add(t, row);
    }
}

void rp_cli_print_kv(json_t *obj)
{
    static const char *const heads[2] = {"", ""};
    rp_cli_table t;
    rp_cli_table_init(&t, 2, heads, "ll");
    kv_collect(&t, "", obj);
    json_decref(obj);
    size_t w = 0;
    for (size_t r = 0; r < t.nrows; r++)
        if (strlen(t.cells[r * 2]) > w)
            w = strlen(t.cells[r * 2]);
    for (size_t r = 0; r < t.nrows; r++)
        printf("%-*s  %s\n", (int)w, t.cells[r * 2], t.cells[r * 2 + 1]);
    rp_cli_table_free(&t);
}

/* ---- results: JSON or text, and files ------------------------------------------------------- */

int rp_cli_print_json(json_t *v)
{
    size_t flags = rp_cli.json ? JSON_COMPACT : (JSON_INDENT(2));
    int bad = json_dumpf(v, stdout, flags | JSON_ENCODE_ANY) != 0;
    json_decref(v);
    if (bad)
        return rp_cli_fail("cannot write the result");
    putchar('\n');
    return 0;
}

int rp_cli_show(json_t *result)
{
    if (rp_cli.json)
        return rp_cli_print_json(result);
    rp_cli_print_kv(result);
    return 0;
}

int rp_cli_write_text_file(const char *path, const char *text)
{
    if (!strcmp(path, "-")) {
        puts(text);
        return fflush(stdout) == 0 ? 0 : rp_cli_fail("cannot write to stdout");
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return rp_cli_fail("cannot create %s: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    return bad ? rp_cli_fail("cannot write %s", path) : 0;
}
