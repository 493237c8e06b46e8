/* Telling a full disk from a broken one, for messages an operator can act
 * on. LMDB reports a write that did not fit as ENOSPC, or, when the write
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

#endif /* RP_DISK_H */
