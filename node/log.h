/* The one logger of the node's programs: one line per event on stderr,
 *
 *   2026-11-26T04:12:09.123Z info  block_produced height=12 records=40 ms=3.1
 *
 * a UTC timestamp with milliseconds, the level, an event name (a word an
 * operator can grep for) and key=value fields. Values with spaces, quotes or
 * control characters are quoted with C-style escapes, so a line is always
 * one line and always splits the same way. Never log secrets: keys,
 * passphrases and seeds do not go through here.
 *
 * Not thread-safe by design: only the loop thread logs (workers report back
 * through the loop). Each line is written with one write(2).
 */
#ifndef RP_LOG_H
#define RP_LOG_H

enum rp_log_level { RP_LOG_DEBUG = 0, RP_LOG_INFO = 1, RP_LOG_WARN = 2, RP_LOG_ERROR = 3 };

/* Lines below this level are dropped (default RP_LOG_INFO). */
void rp_log_set_level(enum rp_log_level level);

/* Parse "debug", "info", "warn" or "error". Returns: 0, or -1 if unknown. */
int rp_log_parse_level(const char *s, enum rp_log_level *out);

/* Log one event. fields is a printf format producing space-separated
 * key=value pairs whose values are already safe (numbers, hex); use
 * rp_log_str for free text. fields may be NULL. Lines are cut at 2 KiB. */
void rp_log(enum rp_log_level level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* Quote a free-text value for a field: writes at most cap bytes (always
 * NUL-terminated) and returns out, so it can be used inline:
 *   char q[256]; rp_log(RP_LOG_WARN, "rpc_error", "msg=%s", rp_log_str(q, sizeof q, m)); */
const char *rp_log_str(char *out, unsigned long cap, const char *s);

#endif /* RP_LOG_H */
