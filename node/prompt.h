/* Reading a secret typed at the terminal: the one prompt both programs use
 * (repute-cli for key-file passphrases, reputed init for the validator
 * key's), so echo handling and signals are right in one place.
 *
 * The prompt goes to /dev/tty and the answer is read from it, with echo off,
 * whatever standard input and output are (they may be a pipe or a file).
 * If SIGINT or SIGTERM arrives while echo is off, the terminal's settings
 * are restored and the signal is raised again with its default action, so
 * Ctrl-C leaves a usable terminal and ends the program as it would anywhere
 * else. Not thread-safe (terminal state is process-wide).
 */
#ifndef RP_PROMPT_H
#define RP_PROMPT_H

#include <stddef.h>

/* Prompt and read one line (the newline, and a carriage return before it,
 * are not kept) into buf[0..cap), NUL-terminated.
 * Returns: 0; -ENXIO if there is no terminal to ask on; -E2BIG if the line
 *          does not fit in cap - 1 bytes; another -errno. On failure buf is
 *          zeroed.
 * Out:     buf, *len. In: prompt (printed as it is). */
int rp_prompt_secret(const char *prompt, char *buf, size_t cap, size_t *len);

#endif /* RP_PROMPT_H */
