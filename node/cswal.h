/* The consensus write-ahead log on disk: DATADIR/consensus/wal.
 *
 * The node appends every input before it hands it to the engine, and acts
 * on the engine's outputs only after rp_cswal_append returned (the entry
 * is fsynced by then). After a crash, rp_cswal_open gives back the inputs
 * of the log's height in order; replayed into a fresh engine
 * (rp_cs_input_apply) they rebuild its rounds, locks and votes. When a
 * height is decided and committed, rp_cswal_new_height starts the log over
 * with only the new height's header. The bytes are consensus/wal.h's.
 *
 * The log is for liveness and correctness of resuming; it does not keep
 * the validator from signing twice -- node/signer.h's guard does. So a torn
 * or corrupt tail is cut (and reported), not an error: everything after
 * the first bad entry is dropped, and the file truncated there and
 * fsynced. A log whose very header is bad is an error naming the path.
 *
 * Nothing here logs; open returns what it cut. One thread at a time;
 * appends block on an fsync. Call rp_crypto_init() first.
 */
#ifndef RP_CSWAL_H
#define RP_CSWAL_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/input.h"
#include "consensus/wal.h"

#define RP_CSWAL_FILE "wal"                /* in DATADIR/consensus */
#define RP_CSWAL_MAX_BYTES (64u << 20)     /* a log is never larger */

typedef struct rp_cswal rp_cswal;

/* What rp_cswal_open found. */
typedef struct rp_cswal_replay {
    uint64_t height;     /* the log's height (the one given, for a new log) */
    int created;         /* 1: there was no log; it was created */
    rp_cs_input *inputs; /* the inputs for `height`, in log order (malloc'd) */
    size_t n;
    size_t other_heights; /* inputs in the log for other heights: not returned */
    uint64_t cut;         /* bytes of torn or corrupt tail cut off (0: none) */
    int cut_reason;       /* why (an error of rp_cs_wal_scan), 0 if none */
} rp_cswal_replay;

/* Open DATADIR/consensus/wal (creating the folder, 0700, if missing), read
 * and check it, and cut a bad tail (ftruncate and fsync). With no log, a
 * new one (mode 0600) is written durably for height.
 * Returns: 0; RP_ERR_CS_NO_HEADER, RP_ERR_CS_MAGIC, RP_ERR_BAD_VERSION,
 *          RP_ERR_CS_CHECKSUM (...) for a log whose header is missing or
 *          bad; -EFBIG above RP_CSWAL_MAX_BYTES; RP_ERR_NOMEM;
 *          -ENAMETOOLONG; -errno. err names the path.
 * Out:     *out (NULL on failure); rep (release with rp_cswal_replay_free,
 *          also after a failure, when it is empty); err[0..errlen).
 * In:      datadir: an existing folder; height: for a new log only. */
int rp_cswal_open(rp_cswal **out, const char *datadir, uint64_t height, rp_cswal_replay *rep,
                  char *err, size_t errlen);

/* Free rep's inputs and empty it. */
void rp_cswal_replay_free(rp_cswal_replay *rep);

/* Append an input and make it durable (fdatasync) before returning.
 * Returns: 0; RP_ERR_RANGE for an input of another height than the log's
 *          (not written: the engine ignores it, so it need not be logged)
 *          and the encoding errors of rp_cs_wal_encode_input (not
 *          written); -EFBIG if the log would pass RP_CSWAL_MAX_BYTES;
 *          -errno from the disk. After a disk error the partial entry is
 *          cut again; if even that fails, every later append returns the
 *          same error until rp_cswal_new_height rewrites the log. */
int rp_cswal_append(rp_cswal *w, const rp_cs_input *in);

/* Start the log over for a new height: the file is replaced (temporary
 * file, fsync, rename, fsync of the folder) by one holding only the
 * height's header. Before it returns the old height's inputs are durable
 * or the new log is.
 * Returns: 0, or -errno (the log is then unusable: appends fail until a
 *          later call succeeds). */
int rp_cswal_new_height(rp_cswal *w, uint64_t height);

/* The log's height. */
uint64_t rp_cswal_height(const rp_cswal *w);

/* Close the log. w may be NULL. */
void rp_cswal_close(rp_cswal *w);

#endif /* RP_CSWAL_H */
