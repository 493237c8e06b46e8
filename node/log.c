#include "node/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum rp_log_level min_level = RP_LOG_INFO;

void rp_log_set_level(enum rp_log_level level) { min_level = level; }

static const char *const names[] = {"debug", "info", "warn", "error"};

int rp_log_parse_level(const char *s, enum rp_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum rp_log_level)i;
            return 0;
        }
    }
    return -1;
}

void rp_log(enum rp_log_level level, const char *event, const char *fields, ...)
{
    if (level < min_level || level > RP_LOG_ERROR)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level], event);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (fields && len + 2 < sizeof line) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fields);
        n = vsnprintf(line + len, sizeof line - len, fields, ap);
        va_end(ap);
        if (n > 0)
            len += (size_t)n < sizeof line - len ? (size_t)n : sizeof line - len - 1;
    }
    /* One line, always: a field that smuggled a newline is cut there. */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

const char *rp_log_str(char *out, unsigned long cap, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    size_t o = 0;
    if (cap < 3) {
        if (cap)
            out[0] = 0;
        return out;
    }
    out[o++] = '"';
    for (; *s && o + 6 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hexd[c >> 4];
            out[o++] = hexd[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = 0;
    return out;
}
