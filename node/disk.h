/* Telling a full disk from a broken one, for messages an operator can act
 * on; and replacing a small file durably. LMDB reports a write that did not fit as ENOSPC, or, when the write
 * was cut short, as EIO; an EIO on a disk with almost no room left is a
 * full disk, not a failing one.
 */
#ifndef RP_DISK_H
#define RP_DISK_H

#include <stddef.h>
#include <stdint.h>

/* Below this much free space an EIO counts as a full disk. */
#define RP_DISK_LOW_BYTES (64u << 20)

/* Is error rc (a project code or -errno) a full disk under path?
 * Returns: 1 (and *avail, if not NULL, the bytes free to this user) or 0. */
int rp_disk_full(const char *path, int rc, uint64_t *avail);

/* A byte count for people: "512 bytes", "3.2 MiB", "1.5 GiB". Out: buf. */
void rp_disk_size_text(char *buf, size_t cap, uint64_t bytes);

/* fsync a folder, so that the entries created, renamed or removed in it
 * survive a crash.
 * Returns: 0 or -errno. */
int rp_disk_fsync_dir(const char *dir);

/* Replace a small file's contents durably and atomically: write
 * data[0..len) to PATH.tmp (created or truncated, mode 0600, never through
 * a symbolic link), fsync it, rename it over path, and fsync path's
 * folder. After a crash path holds the old contents or the new, whole.
 * On failure PATH.tmp is removed; path is the old file unless the failure
 * was the folder's fsync (then it may be either).
 * Returns: 0; -ENAMETOOLONG; -errno. */
int rp_disk_replace(const char *path, const void *data, size_t len);

#endif /* RP_DISK_H */
