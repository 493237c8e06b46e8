/* Replay for `reputed verify` and `reputed import` (contracts in replay.h).
 *
 * Both are one loop: take the next (block, commit) from a source (a stored
 * datadir, or an export stream), commit it to a destination store with
 * rp_exec_commit, in write batches, stop at the first failure and say where. What
 * differs is the source and what happens after the loop: verify compares
 * the rebuilt store with the one it read, import keeps what it built.
 *
 * The loop is the replay pipeline (pipeline.c), which reads and verifies
 * ahead on two threads and commits in write batches; this file holds the
 * two sources and what verify checks after the last block.
 */
#include "ledger/replay.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/block.h"
#include "ledger/exec.h"
#include "ledger/export.h"
#include "ledger/pipeline.h"
#include "ledger/query.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/state.h"

#define VERIFY_ATTEMPTS 8 /* catch-ups on a chain that keeps growing */

/* ---- sources -------------------------------------------------------------------- */

/* A stored datadir, heights next..last, with each height's hash index entry
 * checked on the way (the store's own apply never reads it back). */
struct store_src {
    rp_store *s;
    uint64_t next, last;
};

static void check_index(rp_store *s, struct pblock *pb)
{
    rp_header h;
    rp_hash hh;
    unsigned char *v = NULL;
    size_t vlen = 0;
    char hex[65];
    if (rp_header_decode(&h, pb->block, RP_HEADER_SIZE) != 0)
        return; /* applying the block reports this */
    rp_header_hash(&hh, &h);
    rp_hex_encode(hex, sizeof hex, hh.bytes, 32);
    int rc = rp_store_debug_get(s, RP_DB_HASH_HEIGHT, hh.bytes, 32, &v, &vlen);
    if (rc == RP_ERR_NOT_FOUND) {
        pb->index_rc = RP_ERR_NOT_FOUND;
        snprintf(pb->index_msg, sizeof pb->index_msg,
                 "table hash_height: no entry for this block's hash %s", hex);
    } else if (rc) {
        pb->index_rc = rc;
        snprintf(pb->index_msg, sizeof pb->index_msg,
                 "table hash_height: cannot read the entry for %s: %s", hex, rp_strerror(rc));
    } else {
        uint64_t at = 0;
        for (size_t i = 0; i < vlen && i < 8; i++)
            at = at << 8 | v[i];
        if (vlen != 8 || at != pb->height) {
            pb->index_rc = RP_ERR_CORRUPT;
            if (vlen != 8)
                snprintf(pb->index_msg, sizeof pb->index_msg,
                         "table hash_height: entry %s has a %zu-byte value, not a height", hex,
                         vlen);
            else
                snprintf(pb->index_msg, sizeof pb->index_msg,
                         "table hash_height: entry %s says height %llu", hex,
                         (unsigned long long)at);
        }
    }
    free(v);
}

static int store_next(void *self, struct pblock *pb, rp_store_error *err)
{
    struct store_src *ss = self;
    if (ss->next > ss->last)
        return 0;
    uint64_t h = ss->next++;
    int rc = rp_store_read_block(ss->s, h, &pb->block, &pb->blen);
    if (rc == 0 && (rc = rp_store_read_commit(ss->s, h, &pb->commit, &pb->clen)) != 0) {
        err->code = rc;
        err->height = h;
        snprintf(err->msg, sizeof err->msg, "the commit of block %llu cannot be read: %s",
                 (unsigned long long)h, rc == RP_ERR_NOT_FOUND ? "it is missing" : rp_strerror(rc));
        return rc;
    }
    if (rc) {
        err->code = rc;
        err->height = h;
        snprintf(err->msg, sizeof err->msg, "block %llu cannot be read: %s", (unsigned long long)h,
                 rc == RP_ERR_NOT_FOUND ? "its header or body is missing" : rp_strerror(rc));
        return rc;
    }
    pb->height = h;
    if (pb->blen >= RP_HEADER_SIZE)
        check_index(ss->s, pb);
    return 1;
}

/* An export stream. Blocks at or below resume_height are already in the
 * datadir (an import that stopped or was killed): each must be the stored
 * block of its height, byte for byte in its header, and is skipped. */
struct reader_src {
    rp_export_reader *r;
    rp_store *dst;
    uint64_t resume_height;
    uint64_t skipped;
};

static int reader_next(void *self, struct pblock *pb, rp_store_error *err)
{
    struct reader_src *rs = self;
    rp_export_block b;
    int rc;
    for (;;) {
        rc = rp_export_reader_next(rs->r, &b, err);
        if (rc != 1)
            return rc;
        if (b.height > rs->resume_height)
            break;
        rp_header stored;
        if ((rc = rp_store_read_header(rs->dst, b.height, &stored)) != 0 ||
            b.blen < RP_HEADER_SIZE) {
            rp_store_error_set(err, rc ? rc : RP_ERR_CORRUPT, b.height, -1,
                               "cannot read the datadir's block %llu to resume: %s",
                               (unsigned long long)b.height, rp_strerror(rc ? rc : RP_ERR_CORRUPT));
            return rc ? rc : RP_ERR_CORRUPT;
        }
        unsigned char enc[RP_HEADER_SIZE];
        if (rp_header_encode(&stored, enc) != 0 || memcmp(enc, b.block, RP_HEADER_SIZE) != 0) {
            rp_store_error_set(err, RP_ERR_CHAIN_MISMATCH, b.height, -1,
                               "the datadir's block %llu differs from the export's: it holds "
                               "another chain's blocks; import into a new datadir",
                               (unsigned long long)b.height);
            return RP_ERR_CHAIN_MISMATCH;
        }
        rs->skipped++;
    }
    pb->block = malloc(b.blen);
    pb->commit = malloc(b.clen);
    if (!pb->block || !pb->commit) {
        err->code = RP_ERR_NOMEM;
        err->height = b.height;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return RP_ERR_NOMEM;
    }
    memcpy(pb->block, b.block, b.blen);
    memcpy(pb->commit, b.commit, b.clen);
    pb->blen = b.blen;
    pb->clen = b.clen;
    pb->height = b.height;
    pb->offset = rp_export_reader_offset(rs->r);
    return 1;
}

/* ---- verify ------------------------------------------------------------------------- */

/* Remove scratch/ledger and the files in it (LMDB's two and the lock). */
static void remove_ledger(const char *scratch)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/ledger", scratch) >= (int)sizeof path)
        return;
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char f[4096 + 256];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        (void)unlink(f);
    }
    closedir(d);
    (void)rmdir(path);
}

static void hexs(char out[65], const rp_hash *h)
{
    rp_hex_encode(out, 65, h->bytes, 32);
}

/* Compare the stored tip with the rebuilt one, naming the first field that
 * differs. */
static int compare_tips(const rp_tip *stored, const rp_tip *rebuilt, rp_replay_report *out)
{
    static const struct {
        const char *name;
        size_t off;
    } hashes[] = {
        {"head hash", offsetof(rp_tip, head_hash)},
        {"state hash", offsetof(rp_tip, state_hash)},
        {"commit hash", offsetof(rp_tip, commit_hash)},
        {"score root", offsetof(rp_tip, score_root)},
    };
    char a[65], b[65];
    if (stored->height != rebuilt->height || stored->time_ms != rebuilt->time_ms ||
        stored->epoch != rebuilt->epoch) {
        rp_replay_fail(out, RP_ERR_CORRUPT, 0,
                       "the stored tip (height %llu, time %llu ms, epoch %llu) differs from the "
                       "replayed one (height %llu, time %llu ms, epoch %llu)",
                       (unsigned long long)stored->height, (unsigned long long)stored->time_ms,
                       (unsigned long long)stored->epoch, (unsigned long long)rebuilt->height,
                       (unsigned long long)rebuilt->time_ms, (unsigned long long)rebuilt->epoch);
        return RP_ERR_CORRUPT;
    }
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        const rp_hash *x = (const rp_hash *)(const void *)((const char *)stored + hashes[i].off);
        const rp_hash *y = (const rp_hash *)(const void *)((const char *)rebuilt + hashes[i].off);
        if (!rp_hash_eq(x, y)) {
            hexs(a, x);
            hexs(b, y);
            rp_replay_fail(out, RP_ERR_CORRUPT, 0, "the stored tip's %s is %s, the replay gives %s",
                           hashes[i].name, a, b);
            return RP_ERR_CORRUPT;
        }
    }
    return 0;
}

/* The checks after the last block: tips, chain tables' sizes, state. */
static int final_checks(rp_store *src, rp_store *dst, const rp_tip *stored, rp_replay_report *out)
{
    static const int chain_tables[] = {RP_DB_HEADERS, RP_DB_BODIES, RP_DB_COMMITS,
                                       RP_DB_HASH_HEIGHT};
    static const char *const chain_names[] = {"headers", "bodies", "commits", "hash_height"};
    rp_tip rebuilt;
    rp_store_error err;
    int rc;

    if ((rc = rp_store_tip(dst, &rebuilt)) != 0) {
        rp_replay_fail(out, rc, 0, "cannot read the replayed tip: %s", rp_strerror(rc));
        return rc;
    }
    if ((rc = compare_tips(stored, &rebuilt, out)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof chain_tables / sizeof chain_tables[0]; i++) {
        uint64_t n;
        if ((rc = rp_store_count(src, chain_tables[i], &n)) != 0) {
            rp_replay_fail(out, rc, 0, "cannot count table %s: %s", chain_names[i],
                           rp_strerror(rc));
            return rc;
        }
        if (n != stored->height) {
            rp_replay_fail(out, RP_ERR_CORRUPT, 0,
                           "table %s holds %llu entries; a chain at height %llu has exactly %llu",
                           chain_names[i], (unsigned long long)n,
                           (unsigned long long)stored->height, (unsigned long long)stored->height);
            return RP_ERR_CORRUPT;
        }
    }
    if ((rc = rp_store_compare_state(src, dst, &err)) != 0) {
        rp_replay_fail(out, rc, 0, "state differs from the replay: %s",
                       err.msg[0] ? err.msg : rp_strerror(rc));
        return rc;
    }
    return 0;
}

static void finish_report(rp_replay_report *out, const struct run_stats *st, rp_store *dst)
{
    out->blocks = st->blocks;
    out->records = st->records;
    out->signatures = st->signatures;
    out->elapsed = rp_replay_now() - st->t0;
    if (out->elapsed > 0) {
        out->records_per_s = (double)out->records / out->elapsed;
        out->signatures_per_s = (double)out->signatures / out->elapsed;
    }
    if (dst) {
        (void)rp_store_count(dst, RP_DB_IDENTITIES, &out->identities);
        (void)rp_store_tip(dst, &out->tip);
    }
}

int rp_replay_verify(const char *dir, const char *scratch_dir, const rp_replay_opts *opts,
                     rp_replay_report *out)
{
    static const rp_replay_opts defaults;
    const rp_replay_opts *o = opts ? opts : &defaults;
    rp_store *src = NULL, *dst = NULL;
    rp_store_error err;
    rp_store_opts ro = {.map_size = 0, .read_only = 1};
    struct run_stats st;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.t0 = rp_replay_now();
    if ((rc = rp_store_open(&src, dir, &ro, &err)) != 0) {
        rp_replay_fail(out, rc, 0, "cannot open the datadir: %s", err.msg);
        return rc;
    }
    /* The replay's store is thrown away at the end: no fsync per commit. */
    rp_store_opts scratch = {.map_size = 0, .read_only = 0, .scratch = 1};
    if ((rc = rp_store_create(&dst, scratch_dir, rp_store_genesis(src), &scratch, &err)) != 0) {
        rp_replay_fail(out, rc, 0, "cannot create the scratch ledger in %s: %s", scratch_dir,
                       err.msg);
        rp_store_close(src);
        return rc;
    }

    /* Replay to the stored tip, check, and make sure the tip did not move
     * while we checked (a running node may be adding blocks): the state
     * comparison must see the state of the tip it is compared at. */
    int settled = 0;
    for (int attempt = 0; attempt < VERIFY_ATTEMPTS && rc == 0 && !settled; attempt++) {
        rp_tip before, after;
        if ((rc = rp_store_tip(src, &before)) != 0) {
            rp_replay_fail(out, rc, 0, "cannot read the datadir's tip: %s", rp_strerror(rc));
            break;
        }
        if (before.height < st.last_height) {
            rc = RP_ERR_CORRUPT;
            rp_replay_fail(out, rc, 0, "the datadir's tip went back from height %llu to %llu",
                           (unsigned long long)st.last_height, (unsigned long long)before.height);
            break;
        }
        if (before.height > st.last_height) {
            struct store_src ss = {src, st.last_height + 1, before.height};
            struct source so = {store_next, &ss};
            rc = rp_pipeline_run(dst, &so, o, &st, before.height, out);
            continue; /* read the tip again */
        }
        if (o->progress) {
            rp_replay_progress pr = {
                .stage = RP_REPLAY_COMPARE,
                .height = st.last_height,
                .total = before.height,
                .records = st.records,
                .signatures = st.signatures,
                .elapsed = rp_replay_now() - st.t0,
            };
            int prc = o->progress(o->pctx, &pr);
            if (prc) {
                rc = prc < 0 ? prc : -ECANCELED;
                rp_replay_fail(out, rc, 0, "stopped before comparing: %s", rp_strerror(rc));
                break;
            }
        }
        rc = final_checks(src, dst, &before, out);
        if ((rc == 0 || rc == RP_ERR_CORRUPT) && rp_store_tip(src, &after) == 0 &&
            memcmp(&before, &after, sizeof before) != 0) {
            /* The chain moved under the comparison: catch up and compare
             * again rather than report a difference that is only time. */
            out->code = 0;
            out->reason[0] = '\0';
            out->failed_height = 0;
            rc = 0;
            continue;
        }
        settled = 1;
    }
    if (rc == 0 && !settled) {
        rc = -EAGAIN;
        rp_replay_fail(out, rc, 0,
                       "the chain kept growing while it was verified; stop the node (or verify "
                       "a copy of the datadir) and run verify again");
    }
    finish_report(out, &st, dst);
    rp_store_close(dst);
    rp_store_close(src);
    remove_ledger(scratch_dir);
    out->code = rc;
    return rc;
}

/* ---- import ----------------------------------------------------------------------------- */

int rp_replay_import(const char *export_path, const char *dir, const rp_replay_opts *opts,
                     rp_replay_report *out)
{
    static const rp_replay_opts defaults;
    const rp_replay_opts *o = opts ? opts : &defaults;
    rp_export_reader *reader = NULL;
    rp_store *dst = NULL;
    rp_store_error err;
    struct run_stats st;
    struct reader_src rs = {0};
    struct stat sb;
    FILE *f;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.t0 = rp_replay_now();
    int is_stdin = strcmp(export_path, "-") == 0;
    f = is_stdin ? stdin : fopen(export_path, "rb");
    if (!f) {
        rc = -errno;
        rp_replay_fail(out, rc, 0, "cannot open %s: %s", export_path, rp_strerror(rc));
        return rc;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        st.bytes_total = (uint64_t)sb.st_size;
    if ((rc = rp_export_reader_open_file(&reader, f, &err)) != 0) {
        rp_replay_fail(out, rc, 0, "%s: %s", is_stdin ? "standard input" : export_path, err.msg);
        goto done;
    }

    /* The datadir: created if absent. A ledger already there must be of the
     * same chain: the import resumes after its tip (an import that stopped,
     * failed or was killed), skipping the blocks it holds once each is
     * found to be the export's own. */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        rp_replay_fail(out, rc, 0, "cannot create %s: %s", dir, rp_strerror(rc));
        goto done;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        rc = -ENOTDIR;
        rp_replay_fail(out, rc, 0, "%s is not a folder", dir);
        goto done;
    }
    {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/ledger", dir) >= (int)sizeof path) {
            rc = -ENAMETOOLONG;
            rp_replay_fail(out, rc, 0, "datadir path too long");
            goto done;
        }
        const rp_genesis *g = rp_export_reader_genesis(reader);
        if (stat(path, &sb) == 0) {
            rp_hash chain;
            rp_tip tip;
            if ((rc = rp_genesis_chain_id(&chain, g)) != 0 ||
                (rc = rp_store_open_chain(&dst, dir, &chain, NULL, &err)) != 0) {
                rp_replay_fail(out, rc, 0, "cannot resume the import into %s: %s", dir,
                               rc == RP_ERR_CHAIN_MISMATCH
                                   ? "it holds another chain; import into a new datadir"
                                   : err.msg);
                goto done;
            }
            if ((rc = rp_store_tip(dst, &tip)) != 0) {
                rp_replay_fail(out, rc, 0, "cannot read the tip of %s: %s", dir, rp_strerror(rc));
                goto done;
            }
            rs.resume_height = tip.height;
            out->resumed_from = tip.height;
        } else if ((rc = rp_store_create(&dst, dir, g, NULL, &err)) != 0) {
            rp_replay_fail(out, rc, 0, "cannot create the ledger in %s: %s", dir, err.msg);
            goto done;
        }
    }

    rs.r = reader;
    rs.dst = dst;
    struct source so = {reader_next, &rs};
    rc = rp_pipeline_run(dst, &so, o, &st, 0, out);

done:
    finish_report(out, &st, dst);
    rp_store_close(dst);
    rp_export_reader_free(reader);
    if (!is_stdin)
        fclose(f);
    out->code = rc;
    return rc;
}
