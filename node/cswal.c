/* The consensus write-ahead log on disk (contract in cswal.h).
 *
 * The file is read whole at open (it holds one height's inputs and is
 * capped at RP_CSWAL_MAX_BYTES), scanned with rp_cs_wal_scan, and cut to
 * its valid prefix. Appends are positioned writes at the known end (not
 * O_APPEND), so that a failed write can be cut off again, followed by
 * fdatasync, which covers the file's new size. A new height replaces the
 * file through a temporary file and a rename, so the log is never without
 * a header.
 */
#include "node/errors.h"
#include "node/cswal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/errors.h"
#include "crypto/error.h"
#include "node/disk.h"
#include "node/signer.h"

struct rp_cswal {
    int fd;          /* -1 after a failed new height */
    uint64_t height;
    uint64_t size;   /* bytes of valid entries: where the next goes */
    int broken;      /* 0, or the error every append returns */
    char path[PATH_MAX];
};


static int open_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

static int write_header(const char *path, uint64_t height)
{
    unsigned char buf[RP_CS_WAL_MAX_ENTRY];
    size_t len;
    int rc = rp_cs_wal_encode_header(height, buf, sizeof buf, &len);
    return rc ? rc : rp_disk_replace(path, buf, len);
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO; /* shorter than fstat said: changed under us */
        got += (size_t)r;
    }
    return 0;
}

struct collect {
    rp_cswal_replay *rep;
    size_t cap;
    int nomem;
};

static int collect(void *ctx, const rp_cs_wal_entry *e)
{
    struct collect *c = ctx;
    rp_cswal_replay *rep = c->rep;
    uint64_t h;

    if (e->kind == RP_CS_WAL_HEADER) {
        rep->height = e->height;
        return 0;
    }
    if (rp_cs_wal_input_height(&e->in, &h) && h != rep->height) {
        rep->other_heights++;
        return 0;
    }
    if (rep->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        rp_cs_input *v = realloc(rep->inputs, cap * sizeof *v);
        if (!v) {
            c->nomem = 1;
            return RP_ERR_NOMEM;
        }
        rep->inputs = v;
        c->cap = cap;
    }
    rep->inputs[rep->n++] = e->in;
    return 0;
}

/* Read and check an existing log, cutting a bad tail. */
static int load(rp_cswal *w, rp_cswal_replay *rep, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(w->fd, &st) != 0) {
        int rc = -errno;
        rp_errf(err, errlen, "%s: %s", w->path, rp_strerror(rc));
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        rp_errf(err, errlen, "%s: not a regular file", w->path);
        return -EINVAL;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > RP_CSWAL_MAX_BYTES) {
        rp_errf(err, errlen, "%s: larger than a consensus log can be (%u bytes)", w->path,
               (unsigned)RP_CSWAL_MAX_BYTES);
        return -EFBIG;
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        rp_errf(err, errlen, "%s: out of memory to read it", w->path);
        return RP_ERR_NOMEM;
    }
    int rc = read_all(w->fd, buf, len);
    if (rc) {
        free(buf);
        rp_errf(err, errlen, "%s: %s", w->path, rp_strerror(rc));
        return rc;
    }
    struct collect c = {rep, 0, 0};
    int why = 0;
    size_t valid = rp_cs_wal_scan(buf, len, collect, &c, &why);
    free(buf);
    if (c.nomem) {
        rp_errf(err, errlen, "%s: out of memory for its inputs", w->path);
        return RP_ERR_NOMEM;
    }
    if (valid == 0) {
        rc = len == 0 ? RP_ERR_CS_NO_HEADER : why;
        rp_errf(err, errlen,
               "%s: not a consensus log, or its header is corrupt (%s). It only helps resume a "
               "height (the double-sign guard is a separate file): remove it to start the "
               "height afresh",
               w->path, rp_strerror(rc));
        return rc;
    }
    w->height = rep->height;
    w->size = valid;
    if (valid < len) {
        rep->cut = len - valid;
        rep->cut_reason = why;
        if (ftruncate(w->fd, (off_t)valid) != 0 || fsync(w->fd) != 0) {
            rc = -errno;
            rp_errf(err, errlen, "%s: cannot cut its torn tail: %s", w->path, rp_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int rp_cswal_open(rp_cswal **out, const char *datadir, uint64_t height, rp_cswal_replay *rep,
                  char *err, size_t errlen)
{
    char dir[PATH_MAX];
    int rc;

    *out = NULL;
    memset(rep, 0, sizeof *rep);
    if (errlen)
        err[0] = '\0';
    rp_cs_errors_register();
    rp_cswal *w = calloc(1, sizeof *w);
    if (!w) {
        rp_errf(err, errlen, "out of memory for the consensus log");
        return RP_ERR_NOMEM;
    }
    w->fd = -1;
    int n = snprintf(dir, sizeof dir, "%s/%s", datadir, RP_SIGNER_DIR);
    if (n < 0 || (size_t)n >= sizeof dir ||
        (size_t)snprintf(w->path, sizeof w->path, "%s/%s", dir, RP_CSWAL_FILE) >= sizeof w->path) {
        rp_errf(err, errlen, "%s: path too long for the consensus log", datadir);
        rc = -ENAMETOOLONG;
        goto fail;
    }
    if (mkdir(dir, 0700) == 0) {
        if ((rc = rp_disk_fsync_dir(datadir)) != 0) {
            rp_errf(err, errlen, "%s: %s", datadir, rp_strerror(rc));
            goto fail;
        }
    } else if (errno != EEXIST) {
        rc = -errno;
        rp_errf(err, errlen, "%s: cannot create: %s", dir, rp_strerror(rc));
        goto fail;
    }

    rc = open_file(w->path);
    if (rc == -ENOENT) {
        if ((rc = write_header(w->path, height)) != 0) {
            rp_errf(err, errlen, "%s: cannot create the consensus log: %s", w->path,
                   rp_strerror(rc));
            goto fail;
        }
        rep->created = 1;
        rc = open_file(w->path);
    }
    if (rc < 0) {
        rp_errf(err, errlen, "%s: %s", w->path, rp_strerror(rc));
        goto fail;
    }
    w->fd = rc;
    if ((rc = load(w, rep, err, errlen)) != 0)
        goto fail;
    *out = w;
    return 0;

fail:
    rp_cswal_replay_free(rep);
    rp_cswal_close(w);
    return rc;
}

void rp_cswal_replay_free(rp_cswal_replay *rep)
{
    free(rep->inputs);
    memset(rep, 0, sizeof *rep);
}

static int write_at(int fd, const unsigned char *p, size_t len, uint64_t off)
{
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int rp_cswal_append(rp_cswal *w, const rp_cs_input *in)
{
    unsigned char buf[RP_CS_WAL_MAX_ENTRY];
    size_t len;
    uint64_t h;

    if (w->broken)
        return w->broken;
    if (rp_cs_wal_input_height(in, &h) && h != w->height)
        return RP_ERR_RANGE;
    int rc = rp_cs_wal_encode_input(in, buf, sizeof buf, &len);
    if (rc)
        return rc;
    if (len > RP_CSWAL_MAX_BYTES - w->size)
        return -EFBIG;
    rc = write_at(w->fd, buf, len, w->size);
    if (!rc && fdatasync(w->fd) != 0)
        rc = -errno;
    if (rc) {
        /* Cut what may have reached the file, so later entries follow a
         * valid prefix; if that fails, refuse to append behind garbage. */
        if (ftruncate(w->fd, (off_t)w->size) != 0 || fdatasync(w->fd) != 0)
            w->broken = rc;
        return rc;
    }
    w->size += len;
    return 0;
}

int rp_cswal_new_height(rp_cswal *w, uint64_t height)
{
    int rc = write_header(w->path, height);
    if (!rc) {
        int fd = open_file(w->path);
        if (fd < 0)
            rc = fd;
        else {
            if (w->fd >= 0)
                close(w->fd);
            w->fd = fd;
        }
    }
    if (rc) {
        /* The file may be the old log or the new: neither matches what
         * this handle believes any more. */
        w->broken = rc;
        return rc;
    }
    unsigned char hdr[RP_CS_WAL_MAX_ENTRY];
    size_t len;
    (void)rp_cs_wal_encode_header(height, hdr, sizeof hdr, &len);
    w->height = height;
    w->size = len;
    w->broken = 0;
    return 0;
}

uint64_t rp_cswal_height(const rp_cswal *w)
{
    return w->height;
}

void rp_cswal_close(rp_cswal *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}
