/* The terminal prompt for secrets (contract in prompt.h). */
#include "node/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

static struct termios saved_tty;
static volatile sig_atomic_t tty_fd = -1;

static void restore_tty_and_die(int sig)
{
    if (tty_fd >= 0) {
        tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
        (void)!write(tty_fd, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int rp_prompt_secret(const char *prompt, char *buf, size_t cap, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -ENXIO;
    struct termios raw;
    if (tcgetattr(fd, &saved_tty) != 0) {
        close(fd);
        return -ENXIO;
    }
    raw = saved_tty;
    raw.c_lflag &= ~(tcflag_t)ECHO;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_tty_and_die;
    sigemptyset(&sa.sa_mask);
    tty_fd = fd;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = 0;
    if (tcsetattr(fd, TCSAFLUSH, &raw) != 0)
        rc = -errno;
    if (rc == 0 && write(fd, prompt, strlen(prompt)) < 0)
        rc = -errno;
    size_t n = 0;
    while (rc == 0) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        if (n + 1 >= cap) {
            rc = -E2BIG;
            break;
        }
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    tcsetattr(fd, TCSAFLUSH, &saved_tty);
    (void)!write(fd, "\n", 1);
    tty_fd = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(fd);
    buf[n] = '\0';
    *len = n;
    if (rc)
        sodium_memzero(buf, cap);
    return rc;
}
