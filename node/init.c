/* `reputed init` and the validator key's loading (contracts in init.h).
 *
 * Init is a sequence of steps, each of which records what it created: the
 * folder (if it was not there), each file, the ledger. Everything is
 * checked and every secret gathered before the first of them (the genesis
 * is parsed, the folder inspected, the passphrase obtained), and if a later
 * step fails the recorded things are removed in reverse order, so a failed
 * init leaves the folder as it was. The config file is written last: a
 * folder with a reputed.conf is a finished one.
 *
 * The dev chain registers its pre-trusted identity in block 1, produced
 * through the store's own single-validator path (rp_store_produce_block),
 * so the chain `reputed run` starts from is exactly what a node would have
 * made: a pre-trusted identity that is not registered would carry no
 * trust (DESIGN.md, trust scores).
 *
 * Passphrases are read into one fixed buffer on the stack that is wiped on
 * every path; a terminal prompt turns echo off and restores it even when
 * interrupted with Ctrl-C.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include "node/disk.h"
#include "node/errors.h"
#include "node/init.h"
#include "node/init_checks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/keyfile.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/log.h"
#include "node/prompt.h"
#include "node/rpc.h"
#include "node/solo.h"

#define DEV_POW_DIFFICULTY 8
#define MAX_KEY_TEXT       4096 /* a plaintext dev key or node key file is a few lines */
#define MAX_CREATED        8


/* ---- files ------------------------------------------------------------------ */

/* Create a new file with mode 0600 (never replacing one), write it whole
 * and fsync it. On failure nothing is left behind. */
static int write_new_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, 0600) == 0 ? 0 : -errno; /* whatever the umask */
    const unsigned char *p = data;
    while (!rc && len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = -errno;
        else {
            p += w;
            len -= (size_t)w;
        }
    }
    if (!rc && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (rc)
        unlink(path);
    return rc;
}

/* Read a whole small file into buf[0..*len), at most cap bytes.
 * Returns: 0; -EFBIG if larger; -errno. st: if not NULL, its fstat. */
static int read_small_file(const char *path, unsigned char *buf, size_t cap, size_t *len,
                           struct stat *st_out)
{
    /* O_NONBLOCK: a FIFO in the way must not hang us before fstat says
     * what it is. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (st_out)
        *st_out = st;
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            unsigned char extra;
            ssize_t r = read(fd, &extra, 1);
            close(fd);
            return r == 0 ? (*len = n, 0) : -EFBIG;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return 0;
}

/* A private file: regular, no access for group or others. */
static int check_private(const char *path, const struct stat *st, const char *what, char *err,
                         size_t errlen)
{
    if (st->st_mode & 077) {
        rp_errf(err, errlen,
               "%s %s is mode %04o: group and others must have no access to it (chmod 600 %s)",
               what, path, (unsigned)(st->st_mode & 07777), path);
        return RP_ERR_KEYFILE_PERMS;
    }
    return 0;
}

/* ---- passphrases ------------------------------------------------------------- */

struct pass {
    char buf[RP_PASSPHRASE_MAX + 2];
    size_t len;
    char source[96];
};

static void pass_wipe(struct pass *p)
{
    sodium_memzero(p->buf, sizeof p->buf);
    p->len = 0;
}

/* A passphrase file or credential: a regular file (private; owned by us
 * unless it is systemd's credential), one trailing newline dropped. */
static int read_pass_file(struct pass *p, const char *path, int check_owner, const char *what,
                          char *err, size_t errlen)
{
    struct stat st;
    size_t n = 0;
    int rc = read_small_file(path, (unsigned char *)p->buf, sizeof p->buf, &n, &st);
    if (rc)
        pass_wipe(p); /* a read that failed half-way may have left bytes */
    if (rc == -EFBIG || (rc == 0 && n > RP_PASSPHRASE_MAX + 1)) {
        pass_wipe(p);
        rp_errf(err, errlen, "%s %s is too long: a passphrase is at most %d bytes", what, path,
               RP_PASSPHRASE_MAX);
        return RP_ERR_INVALID_ARG;
    }
    if (rc == -EINVAL) {
        rp_errf(err, errlen, "%s %s is not a regular file", what, path);
        return RP_ERR_KEYFILE_PERMS;
    }
    if (rc) {
        rp_errf(err, errlen, "cannot read %s %s: %s", what, path, rp_strerror(rc));
        return rc;
    }
    if ((rc = check_private(path, &st, what, err, errlen)) != 0) {
        pass_wipe(p);
        return rc;
    }
    if (check_owner && st.st_uid != geteuid()) {
        pass_wipe(p);
        rp_errf(err, errlen, "%s %s belongs to uid %u, not to this user (uid %u): refused", what,
               path, (unsigned)st.st_uid, (unsigned)geteuid());
        return RP_ERR_KEYFILE_PERMS;
    }
    if (n && p->buf[n - 1] == '\n') {
        n--;
        if (n && p->buf[n - 1] == '\r')
            n--;
    }
    if (n > RP_PASSPHRASE_MAX) {
        pass_wipe(p);
        rp_errf(err, errlen, "%s %s is too long: a passphrase is at most %d bytes", what, path,
               RP_PASSPHRASE_MAX);
        return RP_ERR_INVALID_ARG;
    }
    p->len = n;
    snprintf(p->source, sizeof p->source, "%s", what);
    return 0;
}

static int prompt_pass(struct pass *p, const char *what, int confirm, char *err, size_t errlen)
{
    char prompt[300];
    snprintf(prompt, sizeof prompt, "Passphrase for %s: ", what);
    int rc = rp_prompt_secret(prompt, p->buf, RP_PASSPHRASE_MAX + 1, &p->len);
    if (!rc && confirm) {
        struct pass again;
        rc = rp_prompt_secret("Repeat it: ", again.buf, RP_PASSPHRASE_MAX + 1, &again.len);
        if (!rc && (again.len != p->len || sodium_memcmp(again.buf, p->buf, p->len) != 0)) {
            pass_wipe(&again);
            pass_wipe(p);
            rp_errf(err, errlen, "the two passphrases differ; nothing was written");
            return RP_ERR_INVALID_ARG;
        }
        pass_wipe(&again);
    }
    if (rc == -E2BIG)
        rp_errf(err, errlen, "passphrase longer than %d bytes", RP_PASSPHRASE_MAX);
    else if (rc)
        rp_errf(err, errlen, "cannot read a passphrase from the terminal: %s", rp_strerror(rc));
    if (rc) {
        pass_wipe(p);
        return rc == -E2BIG ? RP_ERR_INVALID_ARG : rc;
    }
    snprintf(p->source, sizeof p->source, "the terminal prompt");
    return 0;
}

/* Find the passphrase for key file `what`, trying the four sources in
 * order. pass_file is already resolved (or NULL/empty for none). */
static int get_pass(struct pass *p, const char *credential, const char *pass_file,
                    const char *pass_env, int confirm, const char *file_hint, const char *what,
                    char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    const char *cdir = getenv("CREDENTIALS_DIRECTORY");
    if (credential && *credential && cdir && *cdir) {
        char path[PATH_MAX], label[96];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", cdir, credential) >= (int)sizeof path) {
            rp_errf(err, errlen, "$CREDENTIALS_DIRECTORY/%s: path too long", credential);
            return -ENAMETOOLONG;
        }
        if (stat(path, &st) == 0) {
            snprintf(label, sizeof label, "systemd credential %s", credential);
            return read_pass_file(p, path, 0, label, err, errlen);
        }
        if (errno != ENOENT) {
            int rc = -errno;
            rp_errf(err, errlen, "cannot read systemd credential %s: %s", path, rp_strerror(rc));
            return rc;
        }
    }
    if (pass_file && *pass_file)
        return read_pass_file(p, pass_file, 1, "passphrase file", err, errlen);
    if (pass_env && *pass_env) {
        const char *v = getenv(pass_env);
        if (v) {
            size_t n = strlen(v);
            if (n > RP_PASSPHRASE_MAX) {
                rp_errf(err, errlen, "environment variable %s is longer than %d bytes", pass_env,
                       RP_PASSPHRASE_MAX);
                return RP_ERR_INVALID_ARG;
            }
            memcpy(p->buf, v, n);
            p->len = n;
            snprintf(p->source, sizeof p->source, "environment variable %s", pass_env);
            return 0;
        }
    }
    int rc = prompt_pass(p, what, confirm, err, errlen);
    if (rc != -ENXIO)
        return rc;
    rp_errf(err, errlen,
           "no passphrase for %s. Give it in one of four ways: a systemd credential "
           "(LoadCredential=%s:FILE in the unit, read from $CREDENTIALS_DIRECTORY/%s); a "
           "passphrase file (%s: mode 0600, owned by you); the environment variable %s; or "
           "a terminal on standard input to type it at",
           what, credential && *credential ? credential : "validator-passphrase",
           credential && *credential ? credential : "NAME", file_hint,
           pass_env && *pass_env ? pass_env : "REPUTE_PASSPHRASE");
    return RP_ERR_INVALID_ARG;
}

/* ---- plaintext key files ------------------------------------------------------ */

/* Parse '#' comment lines and exactly one line of 64 hex digits. If header
 * is not NULL the first line must be it. */
static int parse_hex_key_text(const char *text, size_t len, const char *header,
                              unsigned char key[32])
{
    size_t pos = 0;
    int found = 0, first = 1, rc = 0;
    while (pos < len && !rc) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        if (n && s[n - 1] == '\r')
            n--;
        if (first && header && (n != strlen(header) || memcmp(s, header, n) != 0))
            rc = RP_ERR_KEYFILE_FORMAT;
        first = 0;
        if (rc || n == 0 || s[0] == '#')
            continue;
        if (found || n != 64 || rp_hex_decode(key, 32, s, 64) != 0)
            rc = RP_ERR_KEYFILE_FORMAT;
        found = 1;
    }
    if (!rc && !found)
        rc = RP_ERR_KEYFILE_FORMAT;
    if (rc)
        sodium_memzero(key, 32);
    return rc;
}

/* Read a private file of '#' comments and one line of hex. */
static int read_hex_key_file(const char *path, const char *header, const char *what,
                             unsigned char key[32], char *err, size_t errlen)
{
    char text[MAX_KEY_TEXT];
    size_t n = 0;
    struct stat st;
    int rc = read_small_file(path, (unsigned char *)text, sizeof text, &n, &st);
    if (rc == -EINVAL || rc == -EFBIG)
        rc = RP_ERR_KEYFILE_FORMAT;
    if (rc) {
        rp_errf(err, errlen, "cannot read %s %s: %s", what, path, rp_strerror(rc));
    } else if ((rc = check_private(path, &st, what, err, errlen)) == 0) {
        rc = parse_hex_key_text(text, n, header, key);
        if (rc)
            rp_errf(err, errlen,
                   "%s %s is not in the expected format (%s'#' comment lines and "
                   "one line of 64 hex digits)",
                   what, path, header ? "its first line '" RP_DEV_KEY_HEADER "', " : "");
    }
    sodium_memzero(text, sizeof text);
    if (rc)
        sodium_memzero(key, 32);
    return rc;
}

int rp_node_key_read(const char *path, unsigned char key[static 32], char *err, size_t errlen)
{
    return read_hex_key_file(path, NULL, "node key", key, err, errlen);
}

static int write_hex_key_file(const char *path, const char *comments, const unsigned char key[32])
{
    char text[1024], hex[65];
    rp_hex_encode(hex, sizeof hex, key, 32);
    int n = snprintf(text, sizeof text, "%s%s\n", comments, hex);
    int rc = n > 0 && (size_t)n < sizeof text ? write_new_file(path, text, (size_t)n) : -EOVERFLOW;
    sodium_memzero(text, sizeof text);
    sodium_memzero(hex, sizeof hex);
    return rc;
}

/* A fresh random node key at path. */
static int write_node_key_file(const char *path)
{
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    int rc =
        write_hex_key_file(path,
                           "# repute node key: this node's network identity (32 random bytes).\n"
                           "# Plaintext by design, like Tendermint's node_key: it names the node\n"
                           "# to its peers and signs nothing on chain. Keep it mode 0600.\n",
                           key);
    sodium_memzero(key, sizeof key);
    return rc;
}

/* A plaintext dev validator key at path: RP_DEV_KEY_HEADER, a warning that
 * names its writer (say "`reputed init --dev`"), the public key, the key. */
static int write_dev_key_file(const char *path, const char *writer, const rp_seckey *sk,
                              const rp_pubkey *pk)
{
    char comments[400], hex[65];
    rp_hex_encode(hex, sizeof hex, pk->bytes, 32);
    int n = snprintf(comments, sizeof comments,
                     "%s\n"
                     "# Written by %s: the validator key of a development chain,\n"
                     "# in the clear. Anyone who can read this file can sign blocks as it.\n"
                     "# public key: %s\n",
                     RP_DEV_KEY_HEADER, writer, hex);
    if (n < 0 || (size_t)n >= sizeof comments)
        return -EOVERFLOW;
    return write_hex_key_file(path, comments, sk->bytes);
}

/* ---- loading the validator key ------------------------------------------------ */

int rp_validator_key_load(const char *datadir, const rp_config *cfg, rp_seckey *sk, rp_pubkey *pk,
                          char *err, size_t errlen)
{
    char path[RP_CONFIG_PATH_MAX], pfile[RP_CONFIG_PATH_MAX];
    int rc;
    memset(sk, 0, sizeof *sk);
    memset(pk, 0, sizeof *pk);
    if (rp_config_path(path, sizeof path, datadir, cfg->key_file) != 0 ||
        rp_config_path(pfile, sizeof pfile, datadir, cfg->passphrase_file) != 0) {
        rp_errf(err, errlen, "validator key path too long");
        return -ENAMETOOLONG;
    }
    if (cfg->dev_plaintext_key) {
        rc =
            read_hex_key_file(path, RP_DEV_KEY_HEADER, "plaintext dev key", sk->bytes, err, errlen);
        if (!rc && (rc = rp_pubkey_from_seckey(pk, sk)) != 0) {
            sodium_memzero(sk, sizeof *sk);
            rp_errf(err, errlen, "plaintext dev key %s does not hold a valid secret key", path);
        }
        if (!rc) {
            char q[300];
            rp_log(RP_LOG_WARN, "validator_key_plaintext",
                   "path=%s note=\"dev_plaintext_key: for development chains only\"",
                   rp_log_str(q, sizeof q, path));
        }
        return rc;
    }

    /* An encrypted key file: check the file before asking for anything. */
    unsigned char raw[MAX_KEY_TEXT];
    size_t n = 0;
    struct stat st;
    rc = read_small_file(path, raw, sizeof raw, &n, &st);
    if (rc == -EINVAL || rc == -EFBIG)
        rc = RP_ERR_KEYFILE_FORMAT;
    if (rc) {
        rp_errf(err, errlen, "cannot read validator key %s: %s", path, rp_strerror(rc));
        return rc;
    }
    rp_keyfile kf;
    if ((rc = check_private(path, &st, "validator key", err, errlen)) == 0 &&
        (rc = rp_keyfile_parse(&kf, raw, n)) != 0) {
        if (n >= strlen(RP_DEV_KEY_HEADER) &&
            !memcmp(raw, RP_DEV_KEY_HEADER, strlen(RP_DEV_KEY_HEADER)))
            rp_errf(err, errlen,
                   "validator key %s is a PLAINTEXT dev key, but [validator] dev_plaintext_key "
                   "is false",
                   path);
        else
            rp_errf(err, errlen, "validator key %s: %s", path, rp_strerror(rc));
    }
    if (rc) {
        sodium_memzero(raw, sizeof raw);
        return rc;
    }
    struct pass p;
    char what[RP_CONFIG_PATH_MAX + 32];
    snprintf(what, sizeof what, "validator key %s", path);
    rc = get_pass(&p, cfg->credential, cfg->passphrase_file[0] ? pfile : NULL, cfg->passphrase_env,
                  0, "[validator] passphrase_file in reputed.conf", what, err, errlen);
    if (rc)
        return rc;
    rc = rp_keyfile_unseal(sk, pk, raw, n, p.buf, p.len);
    pass_wipe(&p);
    sodium_memzero(raw, sizeof raw);
    if (rc == RP_ERR_KEYFILE_DECRYPT)
        rp_errf(err, errlen, "wrong passphrase for %s (from %s), or the file was changed", what,
               p.source);
    else if (rc)
        rp_errf(err, errlen, "%s: %s", what, rp_strerror(rc));
    return rc;
}

/* ---- init ------------------------------------------------------------------------ */

void (*rp_init_test_hook)(const char *step);

static void step_done(const char *step)
{
    if (rp_init_test_hook)
        rp_init_test_hook(step);
}

struct init {
    const rp_init_opts *o;
    const char *who;     /* "init", or the tool making the datadir, for messages */
    const char *program; /* the command to run again: "reputed init", "repute-gen" */
    char *err;
    size_t errlen;
    int dir_created;
    char created[MAX_CREATED][PATH_MAX]; /* files, in creation order */
    size_t ncreated;
    int ledger_created;
};

static int dpath(struct init *I, char *out, const char *name)
{
    if (snprintf(out, PATH_MAX, "%s/%s", I->o->datadir, name) >= PATH_MAX) {
        rp_errf(I->err, I->errlen, "datadir path too long: %s", I->o->datadir);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Write DIR/name and remember it for the rollback. */
static int create_file(struct init *I, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX];
    int rc = dpath(I, path, name);
    if (!rc && (rc = write_new_file(path, data, len)) != 0)
        rp_errf(I->err, I->errlen, "cannot create %s: %s", path, rp_strerror(rc));
    if (!rc && I->ncreated < MAX_CREATED)
        snprintf(I->created[I->ncreated++], PATH_MAX, "%s", path);
    return rc;
}

static void remember(struct init *I, const char *name)
{
    if (I->ncreated < MAX_CREATED && dpath(I, I->created[I->ncreated], name) == 0)
        I->ncreated++;
}

/* Remove every file of a folder (the LMDB folder has no subfolders), then it. */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[PATH_MAX];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
                (void)unlink(p);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

static void rollback(struct init *I)
{
    char p[PATH_MAX];
    if (I->ledger_created && dpath(I, p, "ledger") == 0)
        remove_flat_dir(p);
    while (I->ncreated)
        (void)unlink(I->created[--I->ncreated]);
    if (I->dir_created)
        (void)rmdir(I->o->datadir);
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* ---- the marker of a datadir being created -------------------------------------- */

/* If DIR/RP_INIT_MARKER exists, say so: what wrote it (its first line, one
 * of the programs that make datadirs) was interrupted, and what to do.
 * Returns: 0 without a marker; RP_ERR_UNFINISHED with err set. */
int rp_init_check_marker(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX], text[1024]; /* the marker is a few lines */
    struct stat st;
    size_t n = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, RP_INIT_MARKER) >= (int)sizeof path ||
        lstat(path, &st) != 0)
        return 0;
    const char *prog = "reputed init";
    if (read_small_file(path, (unsigned char *)text, sizeof text - 1, &n, NULL) == 0) {
        text[n] = '\0';
        if (!strncmp(text, "repute-gen\n", 11))
            prog = "repute-gen";
    }
    rp_errf(err, errlen,
           "%s: an interrupted %s (%s is still there); remove %s, or everything in it, and run "
           "%s again",
           dir, prog, path, dir, prog);
    return RP_ERR_UNFINISHED;
}

/* DIR/rpc.sock must fit a Unix socket address, with the message `run`
 * has always given. Returns: 0, or -ENAMETOOLONG with err set. */
int rp_init_check_socket_path(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/rpc.sock", dir);
    if (n < 0 || n > RP_RPC_PATH_MAX) {
        rp_errf(err, errlen,
               "socket path %s is %d bytes; Unix sockets allow at most %d: use a shorter "
               "datadir path",
               path, n, RP_RPC_PATH_MAX);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Write the marker, first: its first line names the program, the rest
 * tells whoever finds it what it means. Then fsync the folder, so that no
 * file of the datadir can reach the disk before it. */
static int begin_marker(struct init *I)
{
    char text[600];
    int n = snprintf(text, sizeof text,
                     "%s\n"
                     "# %s is creating this datadir. While this file is here, reputed run,\n"
                     "# reputed init and repute-gen refuse the folder. If it is here and %s\n"
                     "# is not running, it was interrupted: remove the folder, or everything\n"
                     "# in it, and run %s again.\n",
                     I->program, I->program, I->program, I->program);
    int rc = n > 0 && (size_t)n < sizeof text ? create_file(I, RP_INIT_MARKER, text, (size_t)n)
                                              : -EOVERFLOW;
    if (!rc && (rc = rp_disk_fsync_dir(I->o->datadir)) != 0)
        rp_errf(I->err, I->errlen, "cannot sync %s: %s", I->o->datadir, rp_strerror(rc));
    return rc;
}

/* The datadir is complete: remove the marker, the commit point of init
 * (nothing is rolled back after it), and fsync the folder. */
static int end_marker(struct init *I)
{
    char path[PATH_MAX];
    int rc = dpath(I, path, RP_INIT_MARKER);
    if (!rc && unlink(path) != 0) {
        rc = -errno;
        rp_errf(I->err, I->errlen, "cannot remove %s: %s", path, rp_strerror(rc));
    }
    if (rc)
        return rc;
    I->ncreated = 0;
    I->ledger_created = 0;
    I->dir_created = 0;
    if ((rc = rp_disk_fsync_dir(I->o->datadir)) != 0)
        rp_errf(I->err, I->errlen, "cannot sync %s: %s", I->o->datadir, rp_strerror(rc));
    return rc;
}

/* Check the datadir before anything is written: it may be missing (we
 * create it) or an empty folder. Out: *genesis_in_place if DIR/genesis.json
 * is the --genesis file itself. */
static int inspect_datadir(struct init *I, int *genesis_in_place)
{
    const char *dir = I->o->datadir;
    struct stat st;
    *genesis_in_place = 0;
    /* `reputed run --datadir DIR` binds DIR/rpc.sock: refuse now what run
     * would refuse later, in the same words. */
    int rc = rp_init_check_socket_path(dir, I->err, I->errlen);
    if (rc)
        return rc;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        rc = -errno;
        rp_errf(I->err, I->errlen, "cannot use %s: %s", dir, rp_strerror(rc));
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        rp_errf(I->err, I->errlen, "%s exists and is not a folder", dir);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid()) {
        rp_errf(I->err, I->errlen,
               "%s belongs to uid %u, not to this user (uid %u): run %s as the user the "
               "node will run as",
               dir, (unsigned)st.st_uid, (unsigned)geteuid(), I->who);
        return -EPERM;
    }
    if ((rc = rp_init_check_marker(dir, I->err, I->errlen)) != 0)
        return rc;
    DIR *d = opendir(dir);
    if (!d) {
        rc = -errno;
        rp_errf(I->err, I->errlen, "cannot read %s: %s", dir, rp_strerror(rc));
        return rc;
    }
    static const char *const node_files[] = {"ledger", "ledger.new", "reputed.conf"};
    static const char *const our_files[] = {"node.key", "validator.key", RP_DEV_ANCHOR_FILE,
                                            "genesis.json"};
    /* Look at every entry first, so that the message names the most telling
     * one (a node, then one of our files, then anything else) whatever the
     * order readdir gives. */
    char node[256] = "", ours[256] = "", other[256] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        char p[PATH_MAX];
        int is_node = 0, is_ours = 0;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "lost+found"))
            continue; /* lost+found: a datadir may be a file system of its own */
        for (size_t i = 0; i < sizeof node_files / sizeof *node_files; i++)
            is_node |= !strcmp(n, node_files[i]);
        for (size_t i = 0; i < sizeof our_files / sizeof *our_files; i++)
            is_ours |= !strcmp(n, our_files[i]);
        if (is_node && !node[0])
            snprintf(node, sizeof node, "%s", n);
        else if (!strcmp(n, "genesis.json") && I->o->genesis && dpath(I, p, n) == 0 &&
                 same_file(p, I->o->genesis))
            *genesis_in_place = 1; /* --genesis DIR/genesis.json: kept as it is */
        else if (is_ours && !ours[0])
            snprintf(ours, sizeof ours, "%s", n);
        else if (!is_node && !is_ours && !other[0])
            snprintf(other, sizeof other, "%.255s", n);
    }
    if (node[0]) {
        rp_errf(I->err, I->errlen,
               "%s already holds a node (it has %s): %s never overwrites one; choose a new "
               "folder, or move this one away first",
               dir, node, I->who);
        rc = -EEXIST;
    } else if (ours[0]) {
        rp_errf(I->err, I->errlen, "%s/%s exists: %s never overwrites it", dir, ours, I->who);
        rc = -EEXIST;
    } else if (other[0]) {
        rp_errf(I->err, I->errlen, "%s is not empty (it has %s): %s wants a new or empty folder",
               dir, other, I->who);
        rc = -ENOTEMPTY;
    }
    closedir(d);
    return rc;
}

static int make_datadir(struct init *I)
{
    const char *dir = I->o->datadir;
    if (mkdir(dir, 0700) == 0)
        I->dir_created = 1;
    else if (errno != EEXIST) {
        int rc = -errno;
        rp_errf(I->err, I->errlen, "cannot create %s: %s%s", dir, rp_strerror(rc),
               rc == -ENOENT ? " (its parent folder must exist)" : "");
        return rc;
    }
    if (chmod(dir, 0700) != 0) {
        int rc = -errno;
        rp_errf(I->err, I->errlen, "cannot set %s to mode 0700: %s", dir, rp_strerror(rc));
        return rc;
    }
    return 0;
}

static void dev_genesis(rp_genesis *g, uint64_t now_s, const rp_pubkey *validator,
                        const rp_pubkey *anchor)
{
    memset(g, 0, sizeof *g);
    snprintf(g->chain_name, sizeof g->chain_name, "%s", RP_DEV_CHAIN_NAME);
    g->genesis_time = now_s;
    g->nvalidators = 1;
    g->validators[0].pubkey = *validator;
    g->validators[0].power = 1;
    snprintf(g->validators[0].name, sizeof g->validators[0].name, "val-0");
    g->npretrusted = 1;
    g->pretrusted[0] = *anchor;
    /* As configs/devnet/genesis.json, but short epochs and blocks every
     * 500 ms (the conf's block_interval_ms), so scores show up within
     * seconds of a demo. */
    g->params = (rp_params){
        .block_interval_ms = 500,
        .epoch_blocks = 10,
        .score_delay_blocks = 2,
        .max_block_records = 10000,
        .max_block_bytes = RP_MAX_BLOCK_BYTES_LIMIT,
        .pow_difficulty = DEV_POW_DIFFICULTY,
        .review_half_life_days = 180,
        .trust_damping_ppm = 150000,
        .trust_max_iterations = 100,
        .trust_tolerance_ppb = 10,
        .time_tolerance_s = 600,
        .max_engagement_ttl_s = 2592000,
    };
}

/* Block 1 of the dev chain: the anchor's IDENTITY. */
static int register_anchor(struct init *I, rp_store *st, const rp_hash *chain_id,
                           const rp_genesis *g, const rp_seckey *anchor, const rp_pubkey *apk,
                           const rp_seckey *validator, uint64_t time_ms)
{
    rp_record r;
    memset(&r, 0, sizeof r);
    r.version = RP_RECORD_VERSION;
    r.type = RP_REC_IDENTITY;
    r.issuer = *apk;
    r.seq = 1;
    r.time = g->genesis_time;
    r.body.identity.role = RP_ROLE_AGENT;
    snprintf(r.body.identity.name, sizeof r.body.identity.name, "%s", RP_DEV_ANCHOR_NAME);
    r.body.identity.name_len = (uint8_t)strlen(RP_DEV_ANCHOR_NAME);

    unsigned char aux[32], buf[RP_RECORD_MAX_SIZE];
    size_t len = 0;
    int rc = rp_identity_pow_solve(&r, chain_id, g->params.pow_difficulty, UINT64_MAX);
    if (!rc) {
        rp_aux_fresh(aux);
        rc = rp_record_sign(&r, 0, chain_id, anchor, aux);
    }
    if (!rc)
        rc = rp_record_encode(&r, buf, sizeof buf, &len);
    if (rc) {
        rp_errf(I->err, I->errlen, "cannot build the dev anchor's identity record: %s",
               rp_strerror(rc));
        return rc;
    }
    rp_block_item item = {buf, len};
    rp_store_error serr;
    rp_aux_fresh(aux);
    rc = rp_solo_produce(st, &item, 1, time_ms, validator, aux, NULL, NULL, NULL, &serr);
    sodium_memzero(aux, sizeof aux);
    if (rc)
        rp_errf(I->err, I->errlen, "cannot produce block 1 (the dev anchor): %s",
               serr.msg[0] ? serr.msg : rp_strerror(rc));
    return rc;
}

/* The conf of a single-validator dev datadir: the validator enabled on its
 * plaintext key, making blocks at the genesis's interval, and no peers let
 * in (a dev chain is one node; scripts/devnet.sh sets [p2p] listen for the
 * nodes of a local network), so that dev nodes never fight over a port. */
static void dev_config(rp_config *cfg, const rp_genesis *g)
{
    cfg->p2p_listen[0] = '\0';
    cfg->validator = 1;
    cfg->dev_plaintext_key = 1;
    cfg->block_interval_ms = g->params.block_interval_ms;
}

/* genesis.json's text for g: its JSON and a newline.
 * Out: *json (malloc'd, the caller frees it), *len. */
static int genesis_text(struct init *I, const rp_genesis *g, char **json, size_t *len)
{
    char *text = rp_genesis_to_json(g);
    size_t n = text ? strlen(text) : 0;
    *json = text ? malloc(n + 2) : NULL;
    if (*json) {
        memcpy(*json, text, n);
        memcpy(*json + n, "\n", 2);
        *len = n + 1;
    }
    free(text);
    if (!*json) {
        rp_errf(I->err, I->errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    return 0;
}

/* reputed.conf's text for cfg, parsed back now, so that a value that cannot
 * be written (a path too long for one line) fails before anything is.
 * Out: *conf (malloc'd, the caller frees it). */
static int conf_text(struct init *I, const rp_config *cfg, char **conf)
{
    char msg[300];
    rp_config back;
    if (!(*conf = rp_config_format(cfg))) {
        rp_errf(I->err, I->errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    int rc = rp_config_parse(&back, "reputed.conf", *conf, strlen(*conf), msg, sizeof msg);
    if (rc)
        rp_errf(I->err, I->errlen, "cannot write this configuration: %s", msg);
    return rc;
}

static int check_opts(const rp_init_opts *o, char *err, size_t errlen)
{
    if (!o->datadir || !o->datadir[0]) {
        rp_errf(err, errlen, "a datadir is required");
        return RP_ERR_INVALID_ARG;
    }
    if (!!o->dev == !!(o->genesis && o->genesis[0])) {
        rp_errf(err, errlen, "give exactly one of a genesis file and --dev");
        return RP_ERR_INVALID_ARG;
    }
    if (o->dev && (o->validator || o->validator_key || o->passphrase_file || o->passphrase_env)) {
        rp_errf(err, errlen,
               "--dev makes its own validator key (a plaintext dev key): --validator, "
               "--validator-key and the passphrase options go with --genesis");
        return RP_ERR_INVALID_ARG;
    }
    if (!o->dev && !o->validator && !o->validator_key &&
        (o->passphrase_file || o->passphrase_env)) {
        rp_errf(err, errlen, "the passphrase options need --validator or --validator-key");
        return RP_ERR_INVALID_ARG;
    }
    if (o->passphrase_env) {
        int bad = strlen(o->passphrase_env) >= sizeof(((rp_config *)0)->passphrase_env) ||
                  !o->passphrase_env[0];
        for (const char *c = o->passphrase_env; *c && !bad; c++)
            bad = !((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (c != o->passphrase_env && *c >= '0' && *c <= '9') || *c == '_');
        if (bad) {
            rp_errf(err, errlen, "--passphrase-env takes a variable name ([A-Za-z_][A-Za-z0-9_]*)");
            return RP_ERR_INVALID_ARG;
        }
    }
    uint64_t ops = o->kdf_ops ? o->kdf_ops : RP_KDF_OPS_MODERATE;
    uint64_t mem = o->kdf_mem ? o->kdf_mem : RP_KDF_MEM_MODERATE;
    if (ops < RP_KDF_OPS_MIN || ops > RP_KDF_OPS_MAX || mem < RP_KDF_MEM_MIN ||
        mem > RP_KDF_MEM_MAX) {
        rp_errf(err, errlen, "KDF limits outside the accepted ranges");
        return RP_ERR_INVALID_ARG;
    }
    return 0;
}

/* Read and parse the --genesis file, keeping its bytes to copy verbatim. */
static int load_genesis(struct init *I, rp_genesis *g, char **json, size_t *len)
{
    const char *path = I->o->genesis;
    char msg[300];
    *json = malloc(RP_GENESIS_MAX_JSON + 1);
    if (!*json) {
        rp_errf(I->err, I->errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    int rc = read_small_file(path, (unsigned char *)*json, RP_GENESIS_MAX_JSON, len, NULL);
    if (rc == -EFBIG)
        rp_errf(I->err, I->errlen, "%s: larger than %u bytes: not a genesis file", path,
               (unsigned)RP_GENESIS_MAX_JSON);
    else if (rc == -EINVAL)
        rp_errf(I->err, I->errlen, "%s: not a regular file", path);
    else if (rc)
        rp_errf(I->err, I->errlen, "cannot read %s: %s", path, rp_strerror(rc));
    if (rc)
        return rc == -EFBIG || rc == -EINVAL ? RP_ERR_GENESIS : rc;
    if ((rc = rp_genesis_parse(g, *json, *len, msg, sizeof msg)) != 0)
        rp_errf(I->err, I->errlen, "%s: %s", path, msg);
    return rc;
}

/* Everything that needs freeing or wiping, in one place. */
struct init_state {
    rp_genesis *g;
    char *json;
    size_t json_len;
    char *conf;
    rp_seckey vsk, ask;
    rp_pubkey vpk, apk;
    struct pass pass;
    unsigned char import[RP_KEYFILE_SIZE + 1];
    size_t import_len;
    char pass_file_abs[PATH_MAX];
};

static int run_init(struct init *I, struct init_state *S, rp_init_result *res)
{
    const rp_init_opts *o = I->o;
    char msg[PATH_MAX + 64];
    int rc, genesis_in_place = 0, validator = o->dev || o->validator || o->validator_key;
    rp_config cfg;
    rp_config_defaults(&cfg);

    /* 1. Everything that can be checked before touching the disk. */
    if (!(S->g = calloc(1, sizeof *S->g))) {
        rp_errf(I->err, I->errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    if (o->genesis && (rc = load_genesis(I, S->g, &S->json, &S->json_len)) != 0)
        return rc;
    if ((rc = inspect_datadir(I, &genesis_in_place)) != 0)
        return rc;
    if (o->passphrase_file && !realpath(o->passphrase_file, S->pass_file_abs)) {
        rc = -errno;
        rp_errf(I->err, I->errlen, "cannot find --passphrase-file %s: %s", o->passphrase_file,
               rp_strerror(rc));
        return rc;
    }
    if (o->passphrase_file)
        snprintf(cfg.passphrase_file, sizeof cfg.passphrase_file, "%s", S->pass_file_abs);
    if (o->passphrase_env)
        snprintf(cfg.passphrase_env, sizeof cfg.passphrase_env, "%s", o->passphrase_env);

    if (o->validator_key) {
        /* Copy an existing key file, after proving the passphrase opens it. */
        struct stat st;
        rc = read_small_file(o->validator_key, S->import, sizeof S->import, &S->import_len, &st);
        if (rc == -EINVAL || rc == -EFBIG)
            rc = RP_ERR_KEYFILE_FORMAT;
        if (rc) {
            rp_errf(I->err, I->errlen, "cannot read --validator-key %s: %s", o->validator_key,
                   rp_strerror(rc));
            return rc;
        }
        if ((rc = check_private(o->validator_key, &st, "validator key", I->err, I->errlen)) != 0)
            return rc;
        rp_keyfile kf;
        if ((rc = rp_keyfile_parse(&kf, S->import, S->import_len)) != 0) {
            rp_errf(I->err, I->errlen, "--validator-key %s: %s", o->validator_key, rp_strerror(rc));
            return rc;
        }
        snprintf(msg, sizeof msg, "validator key %s", o->validator_key);
        if ((rc = get_pass(&S->pass, cfg.credential, cfg.passphrase_file, cfg.passphrase_env, 0,
                           "--passphrase-file FILE", msg, I->err, I->errlen)) != 0)
            return rc;
        rc =
            rp_keyfile_unseal(&S->vsk, &S->vpk, S->import, S->import_len, S->pass.buf, S->pass.len);
        if (rc) {
            rp_errf(I->err, I->errlen, "%s: %s (passphrase from %s)", msg,
                   rc == RP_ERR_KEYFILE_DECRYPT ? "wrong passphrase, or the file was changed"
                                                : rp_strerror(rc),
                   S->pass.source);
            return rc;
        }
    } else if (o->validator) {
        char target[PATH_MAX];
        if ((rc = dpath(I, target, cfg.key_file)) != 0)
            return rc;
        snprintf(msg, sizeof msg, "the new validator key %s", target);
        if ((rc = get_pass(&S->pass, cfg.credential, cfg.passphrase_file, cfg.passphrase_env, 1,
                           "--passphrase-file FILE", msg, I->err, I->errlen)) != 0)
            return rc;
        if (S->pass.len == 0) {
            rp_errf(I->err, I->errlen,
                   "the passphrase (from %s) is empty: an empty passphrase protects nothing; "
                   "for a development chain use --dev",
                   S->pass.source);
            return RP_ERR_INVALID_ARG;
        }
        if ((rc = rp_seckey_generate(&S->vsk)) != 0 ||
            (rc = rp_pubkey_from_seckey(&S->vpk, &S->vsk)) != 0) {
            rp_errf(I->err, I->errlen, "cannot generate a key: %s", rp_strerror(rc));
            return rc;
        }
    }

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    if (o->dev) {
        if ((rc = rp_seckey_generate(&S->vsk)) != 0 ||
            (rc = rp_pubkey_from_seckey(&S->vpk, &S->vsk)) != 0 ||
            (rc = rp_seckey_generate(&S->ask)) != 0 ||
            (rc = rp_pubkey_from_seckey(&S->apk, &S->ask)) != 0) {
            rp_errf(I->err, I->errlen, "cannot generate keys: %s", rp_strerror(rc));
            return rc;
        }
        dev_genesis(S->g, now_ms / 1000, &S->vpk, &S->apk);
        if ((rc = rp_genesis_check(S->g, msg, sizeof msg)) != 0) {
            rp_errf(I->err, I->errlen, "the dev genesis is invalid: %s", msg);
            return rc;
        }
        if ((rc = genesis_text(I, S->g, &S->json, &S->json_len)) != 0)
            return rc;
        dev_config(&cfg, S->g); /* blocks every 500 ms, as the dev genesis says */
    }
    rp_hash chain_id;
    if ((rc = rp_genesis_chain_id(&chain_id, S->g)) != 0) {
        rp_errf(I->err, I->errlen, "cannot encode the genesis: %s", rp_strerror(rc));
        return rc;
    }
    int in_genesis = validator && rp_genesis_validator_index(S->g, &S->vpk) >= 0;
    if (validator && !o->dev)
        cfg.validator = in_genesis;

    if ((rc = conf_text(I, &cfg, &S->conf)) != 0)
        return rc;

    /* 2. The folder and its files. */
    if ((rc = make_datadir(I)) != 0)
        return rc;
    step_done("datadir");
    if ((rc = begin_marker(I)) != 0)
        return rc;
    step_done("marker");
    if (!genesis_in_place && (rc = create_file(I, "genesis.json", S->json, S->json_len)) != 0)
        return rc;
    step_done("genesis.json");

    char path[PATH_MAX];
    if ((rc = dpath(I, path, "node.key")) != 0)
        return rc;
    if ((rc = write_node_key_file(path)) != 0) {
        rp_errf(I->err, I->errlen, "cannot create %s: %s", path, rp_strerror(rc));
        return rc;
    }
    remember(I, "node.key");
    step_done("node.key");

    if ((rc = dpath(I, path, cfg.key_file)) != 0)
        return rc;
    if (o->dev) {
        rc = write_dev_key_file(path, "`reputed init --dev`", &S->vsk, &S->vpk);
    } else if (o->validator_key) {
        rc = write_new_file(path, S->import, S->import_len);
    } else if (o->validator) {
        rc = rp_keyfile_write(path, &S->vsk, S->pass.buf, S->pass.len,
                              o->kdf_ops ? o->kdf_ops : RP_KDF_OPS_MODERATE,
                              o->kdf_mem ? o->kdf_mem : RP_KDF_MEM_MODERATE);
    }
    if (validator) {
        if (rc) {
            rp_errf(I->err, I->errlen, "cannot create %s: %s", path, rp_strerror(rc));
            return rc;
        }
        remember(I, cfg.key_file);
        step_done("validator.key");
    }
    pass_wipe(&S->pass);

    if (o->dev) {
        if ((rc = dpath(I, path, RP_DEV_ANCHOR_FILE)) != 0)
            return rc;
        rc = rp_keyfile_write(path, &S->ask, "", 0, RP_KDF_OPS_MIN, RP_KDF_MEM_MIN);
        if (rc) {
            rp_errf(I->err, I->errlen, "cannot create %s: %s", path, rp_strerror(rc));
            return rc;
        }
        remember(I, RP_DEV_ANCHOR_FILE);
        step_done(RP_DEV_ANCHOR_FILE);
    }

    /* 3. The ledger, and for --dev block 1. */
    rp_store *st = NULL;
    rp_store_error serr;
    rp_store_opts sopts = {.map_size = cfg.map_size, .read_only = 0};
    rc = rp_store_create(&st, o->datadir, S->g, &sopts, &serr);
    if (rc) {
        rp_errf(I->err, I->errlen, "cannot create the ledger: %s",
               serr.msg[0] ? serr.msg : rp_strerror(rc));
        return rc;
    }
    I->ledger_created = 1;
    step_done("ledger");
    if (o->dev) {
        uint64_t t = now_ms > S->g->genesis_time * 1000 ? now_ms : S->g->genesis_time * 1000 + 1;
        rc = register_anchor(I, st, &chain_id, S->g, &S->ask, &S->apk, &S->vsk, t);
        if (!rc)
            step_done("block 1");
    }
    rp_tip tip;
    memset(&tip, 0, sizeof tip);
    if (!rc && (rc = rp_store_tip(st, &tip)) != 0)
        rp_errf(I->err, I->errlen, "cannot read the new ledger: %s", rp_strerror(rc));
    rp_store_close(st);
    if (rc)
        return rc;

    /* 4. The conf, then the marker's removal: a datadir with a conf and no
     * marker is a finished one. */
    if ((rc = create_file(I, "reputed.conf", S->conf, strlen(S->conf))) != 0)
        return rc;
    step_done("reputed.conf");
    if ((rc = rp_disk_fsync_dir(o->datadir)) != 0) {
        rp_errf(I->err, I->errlen, "cannot sync %s: %s", o->datadir, rp_strerror(rc));
        return rc;
    }
    if ((rc = end_marker(I)) != 0)
        return rc;
    step_done("done");

    if (res) {
        memset(res, 0, sizeof *res);
        snprintf(res->chain_name, sizeof res->chain_name, "%s", S->g->chain_name);
        res->chain_id = chain_id;
        res->height = tip.height;
        res->has_validator = validator;
        if (validator)
            res->validator = S->vpk;
        res->validator_in_genesis = in_genesis;
        res->has_anchor = o->dev;
        if (o->dev)
            res->anchor = S->apk;
        snprintf(res->passphrase_source, sizeof res->passphrase_source, "%s", S->pass.source);
    }
    return 0;
}

int rp_node_init(const rp_init_opts *o, char *err, size_t errlen)
{
    int rc = check_opts(o, err, errlen);
    if (rc)
        return rc;
    if ((rc = rp_crypto_init()) != 0) {
        rp_errf(err, errlen, "cannot start the crypto library: %s", rp_strerror(rc));
        return rc;
    }
    struct init I;
    memset(&I, 0, sizeof I);
    I.o = o;
    I.who = "init";
    I.program = "reputed init";
    I.err = err;
    I.errlen = errlen;
    struct init_state *S = sodium_malloc(sizeof *S);
    if (!S) {
        rp_errf(err, errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    memset(S, 0, sizeof *S);
    rc = run_init(&I, S, o->result);
    if (rc)
        rollback(&I);
    else if (errlen)
        err[0] = '\0';
    free(S->g);
    free(S->json);
    free(S->conf);
    sodium_free(S); /* wipes the keys and the passphrase with it */
    return rc;
}

/* ---- for tools that build the ledger themselves ------------------------------------- */

int rp_init_check_datadir(const char *datadir, const char *who, char *err, size_t errlen)
{
    rp_init_opts o;
    struct init I;
    int in_place;
    if (!datadir || !datadir[0] || !who) {
        rp_errf(err, errlen, "a datadir is required");
        return RP_ERR_INVALID_ARG;
    }
    memset(&o, 0, sizeof o);
    o.datadir = datadir;
    memset(&I, 0, sizeof I);
    I.o = &o;
    I.who = who;
    I.program = who;
    I.err = err;
    I.errlen = errlen;
    int rc = inspect_datadir(&I, &in_place);
    if (!rc && errlen)
        err[0] = '\0';
    return rc;
}

/* A struct init for the marker alone, on datadir. */
static void marker_init(struct init *I, rp_init_opts *o, const char *datadir, const char *writer,
                        char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->datadir = datadir;
    memset(I, 0, sizeof *I);
    I->o = o;
    I->who = I->program = writer;
    I->err = err;
    I->errlen = errlen;
}

int rp_init_mark_begin(const char *datadir, const char *writer, char *err, size_t errlen)
{
    rp_init_opts o;
    struct init I;
    if (!datadir || !datadir[0] || !writer) {
        rp_errf(err, errlen, "a datadir and a writer are required");
        return RP_ERR_INVALID_ARG;
    }
    marker_init(&I, &o, datadir, writer, err, errlen);
    int rc = begin_marker(&I);
    if (rc)
        rollback(&I);
    else if (errlen)
        err[0] = '\0';
    return rc;
}

int rp_init_mark_done(const char *datadir, char *err, size_t errlen)
{
    rp_init_opts o;
    struct init I;
    if (!datadir || !datadir[0]) {
        rp_errf(err, errlen, "a datadir is required");
        return RP_ERR_INVALID_ARG;
    }
    marker_init(&I, &o, datadir, "", err, errlen);
    int rc = end_marker(&I);
    if (!rc && errlen)
        err[0] = '\0';
    return rc;
}

int rp_init_dev_files(const char *datadir, const rp_genesis *g, const rp_seckey *validator,
                      const char *writer, char *err, size_t errlen)
{
    rp_init_opts o;
    struct init I;
    rp_config cfg;
    rp_pubkey pk;
    char *json = NULL, *conf = NULL, path[PATH_MAX];
    size_t json_len = 0;
    int rc;
    if (!datadir || !datadir[0] || !writer) {
        rp_errf(err, errlen, "a datadir and a writer are required");
        return RP_ERR_INVALID_ARG;
    }
    memset(&o, 0, sizeof o);
    o.datadir = datadir;
    memset(&I, 0, sizeof I);
    I.o = &o;
    I.who = writer;
    I.program = writer;
    I.err = err;
    I.errlen = errlen;

    /* Everything that can be checked before touching the disk. */
    int idx = rp_pubkey_from_seckey(&pk, validator) == 0 ? rp_genesis_validator_index(g, &pk) : -1;
    if (idx < 0 || !rp_genesis_is_quorum(g, g->validators[idx].power)) {
        rp_errf(err, errlen,
               "the validator key is not a genesis validator holding a quorum alone: "
               "a node could not make blocks with it");
        return RP_ERR_INVALID_ARG;
    }
    rp_config_defaults(&cfg);
    dev_config(&cfg, g);
    if ((rc = genesis_text(&I, g, &json, &json_len)) != 0 || (rc = conf_text(&I, &cfg, &conf)) != 0)
        goto out;

    /* The files, the conf last: its presence marks a finished datadir. */
    if ((rc = make_datadir(&I)) != 0 || (rc = create_file(&I, cfg.genesis, json, json_len)) != 0 ||
        (rc = dpath(&I, path, cfg.node_key)) != 0)
        goto out;
    if ((rc = write_node_key_file(path)) != 0) {
        rp_errf(err, errlen, "cannot create %s: %s", path, rp_strerror(rc));
        goto out;
    }
    remember(&I, cfg.node_key);
    if ((rc = dpath(&I, path, cfg.key_file)) != 0)
        goto out;
    if ((rc = write_dev_key_file(path, writer, validator, &pk)) != 0) {
        rp_errf(err, errlen, "cannot create %s: %s", path, rp_strerror(rc));
        goto out;
    }
    remember(&I, cfg.key_file);
    if ((rc = create_file(&I, "reputed.conf", conf, strlen(conf))) != 0)
        goto out;
    if ((rc = rp_disk_fsync_dir(datadir)) != 0)
        rp_errf(err, errlen, "cannot sync %s: %s", datadir, rp_strerror(rc));
out:
    if (rc)
        rollback(&I);
    else if (errlen)
        err[0] = '\0';
    free(json);
    free(conf);
    return rc;
}
