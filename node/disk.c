/* Full-disk detection and byte counts for messages (contract in disk.h). */
#include "node/disk.h"

#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>

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
