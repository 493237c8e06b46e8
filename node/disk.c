/* Full-disk detection, byte counts for messages, and durable replacement of
 * small files (contract in disk.h). */
#include "node/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

int rp_disk_full(const char *path, int rc, uint64_t *avail)
{
    struct statvfs v;
    uint64_t free_bytes = 0;
    int known = statvfs(path, &v) == 0;
    if (known)
        free_bytes = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    if (avail)
        *avail = free_bytes;
    if (rc == -ENOSPC || rc == -EDQUOT)
        return 1;
    return rc == -EIO && known && free_bytes < RP_DISK_LOW_BYTES;
}

void rp_disk_size_text(char *buf, size_t cap, uint64_t bytes)
{
    if (bytes < 1024)
        snprintf(buf, cap, "%llu bytes", (unsigned long long)bytes);
    else if (bytes < (1u << 20))
        snprintf(buf, cap, "%.1f KiB", (double)bytes / 1024.0);
    else if (bytes < (1u << 30))
        snprintf(buf, cap, "%.1f MiB", (double)bytes / 1048576.0);
    else
        snprintf(buf, cap, "%.1f GiB", (double)bytes / 1073741824.0);
}

int rp_disk_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int rp_disk_replace(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -ENAMETOOLONG;
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, 0600) == 0 ? 0 : -errno; /* whatever the umask */
    if (!rc)
        rc = write_all(fd, data, len);
    if (!rc && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return rp_disk_fsync_dir(dir);
}
