/* The ledger store: the LMDB environment, opening and creating datadirs, and
 * applying a block in one write transaction (see store.h for the contract and
 * schema.h for the tables).
 *
 * Applying a block:
 *   1. pure checks, outside any transaction: framing, header links against
 *      the tip, limits, Merkle root, the commit's signatures and power;
 *   2. one write transaction: each record is decoded and run through the
 *      rules (rules.c), which read earlier records' writes, log their own and
 *      queue signature checks;
 *   3. the queued signatures are verified as one batch (on every core, if
 *      the caller's verifier has a pool), then the state hash over the
 *      block's changes in key order is compared with the header's;
 *   4. header, body, commit, hash index and tip are written and the
 *      transaction commits; any failure before that aborts it.
 * Preparing a block (for a proposer or a generator) runs 2 and 3 in a
 * transaction that is always aborted, and reports the state hash.
 */
#include "ledger/store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"
#include "ledger/codec.h"
#include "ledger/merkle.h"
#include "ledger/pending.h"
#include "ledger/record.h"
#include "ledger/schema.h"
#include "ledger/state.h"

static const char *const table_names[RP_DB_COUNT] = {
#define RP_SCHEMA_NAME(id, name, state) name,
    RP_SCHEMA_TABLES(RP_SCHEMA_NAME)
#undef RP_SCHEMA_NAME
};
static const int table_is_state[RP_DB_COUNT] = {
#define RP_SCHEMA_STATE(id, name, state) state,
    RP_SCHEMA_TABLES(RP_SCHEMA_STATE)
#undef RP_SCHEMA_STATE
};

struct rp_store {
    MDB_env *env;
    MDB_dbi dbi[RP_DB_COUNT];
    unsigned int env_flags;
    int lock_fd;
    int read_only;
    rp_genesis *genesis; /* heap: the struct is large */
    rp_hash chain_id;
    rp_hash validators_hash;
    rp_epoch_result *offer; /* a precomputed epoch, see rp_store_epoch_offer */
};

static void seterr(rp_store_error *e, int code, uint64_t height, int64_t index, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void seterr(rp_store_error *e, int code, uint64_t height, int64_t index, const char *fmt,
                   ...)
{
    if (!e)
        return;
    e->code = code;
    e->height = height;
    e->index = index;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* LMDB's codes enter the project here. */
static int from_mdb(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == MDB_NOTFOUND)
        return RP_ERR_NOT_FOUND;
    if (rc == MDB_MAP_FULL)
        return RP_ERR_MAP_FULL;
    if (rc > 0)
        return -rc;
    return RP_ERR_STORE;
}

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static MDB_val mv(const void *p, size_t n)
{
    MDB_val v;
    v.mv_data = (void *)(uintptr_t)p; /* LMDB never writes through a key */
    v.mv_size = n;
    return v;
}

/* ---- tip ------------------------------------------------------------------ */

#define TIP_SIZE (8 + 32 + 32 + 8 + 32 + 8 + 32)

static void tip_encode(const rp_tip *t, unsigned char out[TIP_SIZE])
{
    rp_writer w;
    rp_writer_init(&w, out, TIP_SIZE);
    rp_put_u64(&w, t->height);
    rp_put_bytes(&w, t->head_hash.bytes, 32);
    rp_put_bytes(&w, t->state_hash.bytes, 32);
    rp_put_u64(&w, t->time_ms);
    rp_put_bytes(&w, t->commit_hash.bytes, 32);
    rp_put_u64(&w, t->epoch);
    rp_put_bytes(&w, t->score_root.bytes, 32);
}

static int tip_decode(rp_tip *t, const MDB_val *v)
{
    rp_reader r;
    rp_reader_init(&r, v->mv_data, v->mv_size);
    t->height = rp_get_u64(&r, "height");
    rp_get_bytes(&r, t->head_hash.bytes, 32, "head");
    rp_get_bytes(&r, t->state_hash.bytes, 32, "state");
    t->time_ms = rp_get_u64(&r, "time");
    rp_get_bytes(&r, t->commit_hash.bytes, 32, "commit");
    t->epoch = rp_get_u64(&r, "epoch");
    rp_get_bytes(&r, t->score_root.bytes, 32, "score_root");
    return rp_reader_finish(&r, NULL) ? RP_ERR_CORRUPT : 0;
}

static int read_tip(rp_store *s, MDB_txn *txn, rp_tip *t)
{
    MDB_val k = mv("tip", 3), v;
    int err = from_mdb(mdb_get(txn, s->dbi[RP_DB_META], &k, &v));
    if (err)
        return err == RP_ERR_NOT_FOUND ? RP_ERR_CORRUPT : err;
    return tip_decode(t, &v);
}

static void genesis_tip(const rp_store *s, rp_tip *t)
{
    memset(t, 0, sizeof *t);
    rp_tagged_hash(&t->state_hash, RP_TAG_STATE, s->chain_id.bytes, 32);
    t->time_ms = s->genesis->genesis_time * 1000;
    rp_merkle_empty(&t->score_root);
}

/* ---- opening ---------------------------------------------------------------- */

/* Open the environment in `path` (a ledger folder), taking the writer's
 * flock first unless read-only. */
static int open_env(rp_store *s, const char *path, const rp_store_opts *opts,
                    rp_store_error *err)
{
    char lock[4096];
    int rc;

    if (snprintf(lock, sizeof lock, "%s/writer.lock", path) >= (int)sizeof lock) {
        seterr(err, -ENAMETOOLONG, 0, -1, "datadir path too long");
        return -ENAMETOOLONG;
    }
    if (!s->read_only) {
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0) {
            rc = -errno;
            seterr(err, rc, 0, -1, "cannot open %s: %s", lock, rp_strerror(rc));
            return rc;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            rc = errno == EWOULDBLOCK ? RP_ERR_LOCKED : -errno;
            seterr(err, rc, 0, -1, "%s is in use by another process (%s)", path,
                   rp_strerror(rc));
            return rc;
        }
    }
    if ((rc = mdb_env_create(&s->env)) != 0) {
        s->env = NULL;
        seterr(err, from_mdb(rc), 0, -1, "mdb_env_create: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    uint64_t map = opts && opts->map_size ? opts->map_size : RP_STORE_DEFAULT_MAP_SIZE;
    s->env_flags = MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0);
    if ((rc = mdb_env_set_maxdbs(s->env, RP_DB_COUNT)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, (size_t)map)) != 0 ||
        (rc = mdb_env_set_maxreaders(s->env, 256)) != 0 ||
        (rc = mdb_env_open(s->env, path, s->env_flags, 0600)) != 0) {
        seterr(err, from_mdb(rc), 0, -1, "cannot open LMDB environment %s: %s", path,
               mdb_strerror(rc));
        return from_mdb(rc);
    }
    int dead = 0;
    (void)mdb_reader_check(s->env, &dead);
    return 0;
}

static int open_tables(rp_store *s, int create, rp_store_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
    if (rc) {
        seterr(err, from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    for (int i = 0; i < RP_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, table_names[i], create ? MDB_CREATE : 0, &s->dbi[i]);
        if (rc) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND) {
                seterr(err, RP_ERR_SCHEMA, 0, -1,
                       "ledger has no table '%s': not a repute schema %d datadir",
                       table_names[i], RP_SCHEMA_VERSION);
                return RP_ERR_SCHEMA;
            }
            seterr(err, from_mdb(rc), 0, -1, "opening table %s: %s", table_names[i],
                   mdb_strerror(rc));
            return from_mdb(rc);
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc) {
        seterr(err, from_mdb(rc), 0, -1, "mdb_txn_commit: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    return 0;
}

static rp_store *store_new(const rp_store_opts *opts)
{
    rp_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->genesis = calloc(1, sizeof *s->genesis);
    if (!s->genesis) {
        free(s);
        return NULL;
    }
    s->lock_fd = -1;
    s->read_only = opts ? opts->read_only : 0;
    return s;
}

void rp_store_close(rp_store *s)
{
    if (!s)
        return;
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    rp_epoch_result_free(s->offer);
    free(s->genesis);
    free(s);
}

static int load_meta(rp_store *s, rp_store_error *err)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        seterr(err, from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    int e = 0;
    k = mv("schema", 6);
    rc = mdb_get(txn, s->dbi[RP_DB_META], &k, &v);
    if (rc || v.mv_size != 4) {
        e = RP_ERR_CORRUPT;
        seterr(err, e, 0, -1, "ledger meta has no schema version");
        goto out;
    }
    const unsigned char *p = v.mv_data;
    uint32_t version = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (version != RP_SCHEMA_VERSION) {
        e = RP_ERR_SCHEMA;
        seterr(err, e, 0, -1, "ledger schema version %u; this build reads version %d",
               (unsigned)version, RP_SCHEMA_VERSION);
        goto out;
    }
    k = mv("genesis", 7);
    if (mdb_get(txn, s->dbi[RP_DB_META], &k, &v) != 0 ||
        rp_genesis_decode(s->genesis, v.mv_data, v.mv_size) != 0) {
        e = RP_ERR_CORRUPT;
        seterr(err, e, 0, -1, "ledger meta holds no valid genesis");
        goto out;
    }
    rp_hash stored;
    k = mv("chain_id", 8);
    if (mdb_get(txn, s->dbi[RP_DB_META], &k, &v) != 0 || v.mv_size != 32 ||
        rp_genesis_chain_id(&s->chain_id, s->genesis) != 0 ||
        (memcpy(stored.bytes, v.mv_data, 32), !rp_hash_eq(&stored, &s->chain_id))) {
        e = RP_ERR_CORRUPT;
        seterr(err, e, 0, -1, "ledger meta chain id does not match its genesis");
        goto out;
    }
    rp_genesis_validators_hash(&s->validators_hash, s->genesis);
out:
    mdb_txn_abort(txn);
    return e;
}

int rp_store_open(rp_store **out, const char *dir, const rp_store_opts *opts,
                  rp_store_error *err)
{
    rp_store *s = store_new(opts);
    int rc;
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    if (!s) {
        seterr(err, RP_ERR_NOMEM, 0, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/ledger", dir) >= (int)sizeof path) {
        rp_store_close(s);
        seterr(err, -ENAMETOOLONG, 0, -1, "datadir path too long");
        return -ENAMETOOLONG;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rp_store_close(s);
        seterr(err, -ENOENT, 0, -1, "no ledger in %s", dir);
        return -ENOENT;
    }
    if ((rc = open_env(s, path, opts, err)) != 0 || (rc = open_tables(s, 0, err)) != 0 ||
        (rc = load_meta(s, err)) != 0) {
        rp_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rp_store_open_chain(rp_store **out, const char *dir, const rp_hash *chain_id,
                        const rp_store_opts *opts, rp_store_error *err)
{
    int rc = rp_store_open(out, dir, opts, err);
    if (rc)
        return rc;
    if (!rp_hash_eq(chain_id, &(*out)->chain_id)) {
        rp_store_close(*out);
        *out = NULL;
        seterr(err, RP_ERR_CHAIN_MISMATCH, 0, -1,
               "the datadir %s belongs to another chain (its genesis differs)", dir);
        return RP_ERR_CHAIN_MISMATCH;
    }
    return 0;
}

/* Remove a half-built ledger folder left by a crash during creation. */
static void remove_partial(const char *path)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    char f[4200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(f, sizeof f, "%s/%s", path, files[i]);
        (void)unlink(f);
    }
    (void)rmdir(path);
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Creation is atomic: the ledger is built in DIR/ledger.new, its meta
 * committed, and only then renamed to DIR/ledger. A crash at any point
 * leaves either no ledger or a complete, empty one. */
int rp_store_create(rp_store **out, const char *dir, const rp_genesis *g,
                    const rp_store_opts *opts, rp_store_error *err)
{
    rp_store *s = store_new(opts);
    unsigned char *gbuf = NULL;
    MDB_txn *txn = NULL;
    int rc;
    char gerr[256], path[4096], tmp[4096];
    struct stat st;

    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    if (!s) {
        seterr(err, RP_ERR_NOMEM, 0, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    if (s->read_only) {
        rp_store_close(s);
        seterr(err, RP_ERR_INVALID_ARG, 0, -1, "cannot create a ledger read-only");
        return RP_ERR_INVALID_ARG;
    }
    if ((rc = rp_genesis_check(g, gerr, sizeof gerr)) != 0) {
        rp_store_close(s);
        seterr(err, rc, 0, -1, "genesis: %s", gerr);
        return rc;
    }
    if (snprintf(path, sizeof path, "%s/ledger", dir) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/ledger.new", dir) >= (int)sizeof tmp) {
        rp_store_close(s);
        seterr(err, -ENAMETOOLONG, 0, -1, "datadir path too long");
        return -ENAMETOOLONG;
    }
    if (stat(path, &st) == 0) {
        rp_store_close(s);
        seterr(err, -EEXIST, 0, -1, "%s already holds a ledger", dir);
        return -EEXIST;
    }
    remove_partial(tmp);
    if (mkdir(tmp, 0700) != 0) {
        rc = -errno;
        rp_store_close(s);
        seterr(err, rc, 0, -1, "cannot create %s: %s", tmp, rp_strerror(rc));
        return rc;
    }
    if ((rc = open_env(s, tmp, opts, err)) != 0 || (rc = open_tables(s, 1, err)) != 0)
        goto fail;

    *s->genesis = *g;
    size_t glen;
    gbuf = malloc(RP_GENESIS_MAX_SIZE);
    if (!gbuf) {
        rc = RP_ERR_NOMEM;
        seterr(err, rc, 0, -1, "out of memory");
        goto fail;
    }
    if ((rc = rp_genesis_encode(g, gbuf, RP_GENESIS_MAX_SIZE, &glen)) != 0 ||
        (rc = rp_genesis_chain_id(&s->chain_id, g)) != 0) {
        seterr(err, rc, 0, -1, "cannot encode genesis: %s", rp_strerror(rc));
        goto fail;
    }

    rp_tip tip;
    unsigned char tbuf[TIP_SIZE], ver[4] = {0, 0, 0, RP_SCHEMA_VERSION};
    genesis_tip(s, &tip);
    tip_encode(&tip, tbuf);
    MDB_val k, v;
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
        goto mdb_fail;
    k = mv("schema", 6), v = mv(ver, 4);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    k = mv("genesis", 7), v = mv(gbuf, glen);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    k = mv("chain_id", 8), v = mv(s->chain_id.bytes, 32);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    k = mv("tip", 3), v = mv(tbuf, TIP_SIZE);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto mdb_fail;
    free(gbuf);
    gbuf = NULL;
    rp_store_close(s); /* releases the creation lock before the rename */
    s = NULL;
    if (rename(tmp, path) != 0 || (rc = fsync_dir(dir)) != 0) {
        rc = rc ? rc : -errno;
        seterr(err, rc, 0, -1, "cannot move %s into place: %s", tmp, rp_strerror(rc));
        remove_partial(tmp);
        return rc;
    }
    return rp_store_open(out, dir, opts, err);

mdb_fail:
    if (txn)
        mdb_txn_abort(txn);
    seterr(err, from_mdb(rc), 0, -1, "writing ledger meta: %s", mdb_strerror(rc));
    rc = from_mdb(rc);
fail:
    free(gbuf);
    rp_store_close(s);
    remove_partial(tmp);
    return rc;
}

const rp_genesis *rp_store_genesis(const rp_store *s) { return s->genesis; }
const rp_hash *rp_store_chain_id(const rp_store *s) { return &s->chain_id; }

int rp_store_is_durable(const rp_store *s)
{
    unsigned int flags = 0;
    if (mdb_env_get_flags(s->env, &flags) != 0)
        return 0;
    return !(flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC));
}

int rp_store_tip(rp_store *s, rp_tip *tip)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    rc = read_tip(s, txn, tip);
    mdb_txn_abort(txn);
    return rc;
}

/* ---- the apply transaction's state access (state.h) ------------------------- */

/* Pending mode's index: open addressing over the change log, from (table,
 * key) to the newest accepted change of that key. A slot keeps the key's
 * hash beside the change index, so a probe rarely touches the log. Slots
 * are pointed at newer changes, or turned into tombstones when the changes
 * they point at reach the chain (rp_pending_advance). */
#define OV_EMPTY 0u
#define OV_DEAD UINT32_MAX

struct ov_slot {
    uint32_t idx; /* change index + 1, OV_EMPTY or OV_DEAD */
    uint32_t h;
};

struct rp_overlay {
    struct ov_slot *slot;
    size_t cap, used; /* used counts tombstones too */
};

static uint32_t ov_hash(int db, const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)db;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

static int change_is(const struct rp_change *c, int db, const void *key, size_t klen)
{
    return c->db == db && c->klen == klen && memcmp(c->key, key, klen) == 0;
}

/* The slot holding (db, key), or NULL. */
static struct ov_slot *ov_lookup(rp_apply *a, int db, const void *key, size_t klen, uint32_t h)
{
    struct rp_overlay *ov = a->ov;
    if (!ov->cap)
        return NULL;
    size_t mask = ov->cap - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        struct ov_slot *sl = &ov->slot[i];
        if (sl->idx == OV_EMPTY)
            return NULL;
        if (sl->idx != OV_DEAD && sl->h == h && change_is(&a->changes[sl->idx - 1], db, key, klen))
            return sl;
    }
}

/* Room for n more keys without failing later: grow (dropping tombstones)
 * while the table would pass half full. */
static int ov_reserve(rp_apply *a, size_t n)
{
    struct rp_overlay *ov = a->ov;
    if ((ov->used + n) * 2 <= ov->cap)
        return 0;
    size_t live = 0;
    for (size_t i = 0; i < ov->cap; i++)
        live += ov->slot[i].idx != OV_EMPTY && ov->slot[i].idx != OV_DEAD;
    size_t ncap = 1024;
    while ((live + n) * 2 > ncap)
        ncap *= 2;
    struct ov_slot *old = ov->slot, *nslot = calloc(ncap, sizeof *nslot);
    size_t ocap = ov->cap;
    if (!nslot)
        return RP_ERR_NOMEM;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].idx == OV_EMPTY || old[i].idx == OV_DEAD)
            continue;
        size_t j = old[i].h & (ncap - 1);
        while (nslot[j].idx != OV_EMPTY)
            j = (j + 1) & (ncap - 1);
        nslot[j] = old[i];
    }
    free(old);
    ov->slot = nslot;
    ov->cap = ncap;
    ov->used = live;
    return 0;
}

/* Point (the key of) change at it. Cannot fail after ov_reserve. */
static void ov_insert(rp_apply *a, size_t change)
{
    struct rp_overlay *ov = a->ov;
    const struct rp_change *c = &a->changes[change];
    uint32_t h = ov_hash(c->db, c->key, c->klen);
    struct ov_slot *sl = ov_lookup(a, c->db, c->key, c->klen, h);
    if (!sl) {
        size_t i = h & (ov->cap - 1);
        while (ov->slot[i].idx != OV_EMPTY)
            i = (i + 1) & (ov->cap - 1);
        sl = &ov->slot[i];
        ov->used++;
    }
    sl->idx = (uint32_t)change + 1;
    sl->h = h;
}

static int change_value(rp_apply *a, const struct rp_change *c, MDB_val *val)
{
    if (c->vlen == UINT32_MAX)
        return RP_ERR_NOT_FOUND;
    *val = mv(a->vals + c->voff, c->vlen);
    return 0;
}

int rp_st_get(rp_apply *a, int db, const void *key, size_t klen, MDB_val *val)
{
    MDB_val k = mv(key, klen);
    if (a->ov) {
        for (size_t i = a->nchanges; i-- > a->ov_from;)
            if (change_is(&a->changes[i], db, key, klen))
                return change_value(a, &a->changes[i], val);
        struct ov_slot *sl = ov_lookup(a, db, key, klen, ov_hash(db, key, klen));
        if (sl)
            return change_value(a, &a->changes[sl->idx - 1], val);
    }
    return from_mdb(mdb_get(a->txn, a->store->dbi[db], &k, val));
}

static int log_change(rp_apply *a, int db, const void *key, size_t klen, const void *val,
                      size_t vlen, int del)
{
    if (klen > 64)
        return RP_ERR_INVALID_ARG;
    if (a->nchanges == a->capchanges) {
        size_t cap = a->capchanges ? a->capchanges * 2 : 256;
        void *p = realloc(a->changes, cap * sizeof *a->changes);
        if (!p)
            return RP_ERR_NOMEM;
        a->changes = p;
        a->capchanges = cap;
    }
    if (!del && vlen > a->capvals - a->nvals) {
        size_t cap = a->capvals ? a->capvals * 2 : 16384;
        while (cap - a->nvals < vlen)
            cap *= 2;
        void *p = realloc(a->vals, cap);
        if (!p)
            return RP_ERR_NOMEM;
        a->vals = p;
        a->capvals = cap;
    }
    struct rp_change *c = &a->changes[a->nchanges];
    c->db = (uint8_t)db;
    c->klen = (uint8_t)klen;
    memcpy(c->key, key, klen);
    c->seq = a->nchanges++;
    if (del) {
        c->vlen = UINT32_MAX;
        c->voff = 0;
    } else {
        c->vlen = (uint32_t)vlen;
        c->voff = a->nvals;
        if (vlen)
            memcpy(a->vals + a->nvals, val, vlen);
        a->nvals += vlen;
    }
    return 0;
}

int rp_st_put(rp_apply *a, int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (a->ov)
        return log_change(a, db, key, klen, val, vlen, 0);
    MDB_val k = mv(key, klen), v = mv(val, vlen);
    int rc = from_mdb(mdb_put(a->txn, a->store->dbi[db], &k, &v, 0));
    return rc ? rc : log_change(a, db, key, klen, val, vlen, 0);
}

int rp_st_del(rp_apply *a, int db, const void *key, size_t klen)
{
    if (a->ov) {
        MDB_val v;
        int rc = rp_st_get(a, db, key, klen, &v);
        return rc ? rc : log_change(a, db, key, klen, NULL, 0, 1);
    }
    MDB_val k = mv(key, klen);
    int rc = from_mdb(mdb_del(a->txn, a->store->dbi[db], &k, NULL));
    return rc ? rc : log_change(a, db, key, klen, NULL, 0, 1);
}

int rp_st_walk_prefix(rp_apply *a, int db, const void *prefix, size_t plen,
                      int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val), void *ctx)
{
    MDB_cursor *c;
    MDB_val k = mv(prefix, plen), v;
    if (a->ov)
        return RP_ERR_INVALID_ARG; /* walks would miss the pending layer */
    int rc = from_mdb(mdb_cursor_open(a->txn, a->store->dbi[db], &c));
    if (rc)
        return rc;
    int m = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (m == 0 && rc == 0) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        rc = fn(ctx, &k, &v);
        if (rc == 0)
            m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = from_mdb(m);
    return rc;
}

int rp_st_walk(rp_apply *a, int db, int (*fn)(void *ctx, const MDB_val *key, const MDB_val *val),
               void *ctx)
{
    return rp_st_walk_prefix(a, db, NULL, 0, fn, ctx);
}

int rp_st_queue_sig(rp_apply *a, const rp_hash *msg, const rp_pubkey *key, const rp_sig *sig)
{
    if (a->nsigs == a->capsigs) {
        size_t cap = a->capsigs ? a->capsigs * 2 : 256;
        void *p = realloc(a->sigs, cap * sizeof *a->sigs);
        if (!p)
            return RP_ERR_NOMEM;
        a->sigs = p;
        a->capsigs = cap;
    }
    struct rp_pending_sig *ps = &a->sigs[a->nsigs++];
    ps->msg = *msg;
    ps->key = *key;
    ps->sig = *sig;
    ps->record = a->record;
    return 0;
}

static void apply_free(rp_apply *a)
{
    free(a->changes);
    free(a->vals);
    free(a->sigs);
}

static int cmp_change(const void *x, const void *y)
{
    const struct rp_change *a = x, *b = y;
    if (a->db != b->db)
        return a->db < b->db ? -1 : 1;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* state = TH(RP_TAG_STATE, prev || TH(RP_TAG_CHANGES, the final value of every
 * key written, in (table, key) order)), each entry
 * table u8 | klen u8 | key | 1 | vlen u32 | value   (or ... | 0 for a deletion). */
static void state_hash(rp_apply *a, const rp_hash *prev, rp_hash *out)
{
    rp_th_ctx ctx;
    rp_hash digest;
    if (a->nchanges > 1)
        qsort(a->changes, a->nchanges, sizeof *a->changes, cmp_change);
    rp_th_init(&ctx, RP_TAG_CHANGES);
    for (size_t i = 0; i < a->nchanges; i++) {
        const struct rp_change *c = &a->changes[i];
        if (i + 1 < a->nchanges && c->db == c[1].db && c->klen == c[1].klen &&
            !memcmp(c->key, c[1].key, c->klen))
            continue; /* a later write to the same key wins */
        unsigned char hdr[2] = {c->db, c->klen};
        rp_th_update(&ctx, hdr, 2);
        rp_th_update(&ctx, c->key, c->klen);
        if (c->vlen == UINT32_MAX) {
            unsigned char z = 0;
            rp_th_update(&ctx, &z, 1);
        } else {
            unsigned char v[5] = {1, (unsigned char)(c->vlen >> 24),
                                  (unsigned char)(c->vlen >> 16), (unsigned char)(c->vlen >> 8),
                                  (unsigned char)c->vlen};
            rp_th_update(&ctx, v, 5);
            rp_th_update(&ctx, a->vals + c->voff, c->vlen);
        }
    }
    rp_th_final(&ctx, &digest);
    rp_th_init(&ctx, RP_TAG_STATE);
    rp_th_update(&ctx, prev->bytes, 32);
    rp_th_update(&ctx, digest.bytes, 32);
    rp_th_final(&ctx, out);
}

/* Decode and apply every record, then verify the queued signatures. */
static int apply_records(rp_apply *a, const rp_block_item *items, size_t n,
                         rp_verify_batch_fn verify, void *vctx, rp_store_error *err)
{
    char msg[200];
    for (size_t i = 0; i < n; i++) {
        rp_record r;
        rp_hash id;
        const char *field = NULL;
        a->record = i;
        int rc = rp_record_decode(&r, items[i].bytes, items[i].len, &field);
        if (rc) {
            seterr(err, rc, a->height, (int64_t)i, "record %zu: %s (field %s)", i,
                   rp_strerror(rc), field ? field : "?");
            return rc;
        }
        rp_record_id_from_body(&id, a->chain_id, items[i].bytes,
                               rp_record_body_len(r.type, items[i].len));
        rc = rp_rules_apply(a, &r, &id, msg, sizeof msg);
        if (rc) {
            seterr(err, rc, a->height, (int64_t)i, "record %zu (%s, seq %llu): %s%s%s", i,
                   rp_record_type_name(r.type), (unsigned long long)r.seq, rp_strerror(rc),
                   msg[0] ? ": " : "", msg);
            return rc;
        }
    }
    if (a->nsigs == 0)
        return 0;
    rp_sig_check *checks = malloc(a->nsigs * sizeof *checks);
    unsigned char *ok = malloc(a->nsigs);
    if (!checks || !ok) {
        free(checks);
        free(ok);
        seterr(err, RP_ERR_NOMEM, a->height, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->nsigs; i++) {
        checks[i].msg = a->sigs[i].msg.bytes;
        checks[i].msglen = 32;
        checks[i].pubkey = &a->sigs[i].key;
        checks[i].sig = &a->sigs[i].sig;
    }
    size_t bad = verify ? verify(vctx, checks, a->nsigs, ok)
                        : rp_verify_range(checks, 0, a->nsigs, ok);
    int rc = 0;
    if (bad) {
        for (size_t i = 0; i < a->nsigs; i++) {
            if (!ok[i]) {
                rc = RP_ERR_BAD_SIGNATURE;
                seterr(err, rc, a->height, (int64_t)a->sigs[i].record,
                       "record %zu: a signature does not verify with the signer's current key",
                       a->sigs[i].record);
                break;
            }
        }
    }
    free(checks);
    free(ok);
    return rc;
}

/* Header checks that need only the tip and the block itself. */
static int check_header(rp_store *s, const rp_tip *tip, const rp_header *h,
                        const rp_block_item *items, rp_store_error *err)
{
    const rp_params *p = &s->genesis->params;
    uint64_t height = tip->height + 1;
    rp_hash root;
    if (!rp_hash_eq(&h->chain_id, &s->chain_id)) {
        seterr(err, RP_ERR_WRONG_CHAIN, h->height, -1, "block is for another chain");
        return RP_ERR_WRONG_CHAIN;
    }
    if (h->height != height) {
        seterr(err, RP_ERR_BLOCK_HEIGHT, h->height, -1, "block height %llu, expected %llu",
               (unsigned long long)h->height, (unsigned long long)height);
        return RP_ERR_BLOCK_HEIGHT;
    }
    if (!rp_hash_eq(&h->prev_hash, &tip->head_hash)) {
        seterr(err, RP_ERR_BLOCK_PREV, height, -1, "previous hash does not match the tip");
        return RP_ERR_BLOCK_PREV;
    }
    if (!rp_hash_eq(&h->prev_commit_hash, &tip->commit_hash)) {
        seterr(err, RP_ERR_BLOCK_PREV_COMMIT, height, -1,
               "previous commit hash does not match the stored commit");
        return RP_ERR_BLOCK_PREV_COMMIT;
    }
    if (h->time_ms <= tip->time_ms) {
        seterr(err, RP_ERR_BLOCK_TIME, height, -1, "block time %llu is not after %llu",
               (unsigned long long)h->time_ms, (unsigned long long)tip->time_ms);
        return RP_ERR_BLOCK_TIME;
    }
    if (h->proposer >= s->genesis->nvalidators ||
        !rp_hash_eq(&h->validators_hash, &s->validators_hash)) {
        seterr(err, RP_ERR_BLOCK_VALIDATORS, height, -1,
               "proposer index or validator-set hash does not match the genesis");
        return RP_ERR_BLOCK_VALIDATORS;
    }
    if (h->record_count > p->max_block_records || h->body_bytes > p->max_block_bytes) {
        seterr(err, RP_ERR_BLOCK_LIMITS, height, -1,
               "%u records in %u bytes exceed the limits (%u records, %u bytes)",
               (unsigned)h->record_count, (unsigned)h->body_bytes,
               (unsigned)p->max_block_records, (unsigned)p->max_block_bytes);
        return RP_ERR_BLOCK_LIMITS;
    }
    if (h->epoch != tip->epoch || !rp_hash_eq(&h->score_root, &tip->score_root)) {
        seterr(err, RP_ERR_BLOCK_EPOCH, height, -1,
               "epoch or score root differs from the latest committed epoch");
        return RP_ERR_BLOCK_EPOCH;
    }
    int rc = rp_block_records_root(&root, items, h->record_count);
    if (rc) {
        seterr(err, rc, height, -1, "%s", rp_strerror(rc));
        return rc;
    }
    if (!rp_hash_eq(&root, &h->records_root)) {
        seterr(err, RP_ERR_BLOCK_ROOT, height, -1, "records Merkle root does not match");
        return RP_ERR_BLOCK_ROOT;
    }
    return 0;
}

static int begin_apply(rp_store *s, rp_apply *a, rp_tip *tip, rp_store_error *err)
{
    memset(a, 0, sizeof *a);
    a->store = s;
    a->g = s->genesis;
    a->chain_id = &s->chain_id;
    if (s->read_only) {
        seterr(err, RP_ERR_INVALID_ARG, 0, -1, "store is open read-only");
        return RP_ERR_INVALID_ARG;
    }
    int rc = mdb_txn_begin(s->env, NULL, 0, &a->txn);
    if (rc) {
        seterr(err, from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    rc = read_tip(s, a->txn, tip);
    if (rc) {
        mdb_txn_abort(a->txn);
        a->txn = NULL;
        seterr(err, rc, 0, -1, "cannot read the chain tip: %s", rp_strerror(rc));
        return rc;
    }
    return 0;
}

int rp_store_prepare_block(rp_store *s, const rp_block_item *records, size_t n, uint64_t time_ms,
                           uint16_t proposer, rp_verify_batch_fn verify, void *vctx, rp_header *h,
                           rp_store_error *err)
{
    rp_apply a;
    rp_tip tip;
    if (err)
        memset(err, 0, sizeof *err);
    memset(h, 0, sizeof *h);
    int rc = begin_apply(s, &a, &tip, err);
    if (rc)
        return rc;
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += 2 + records[i].len;
    h->version = RP_BLOCK_VERSION;
    h->chain_id = s->chain_id;
    h->height = tip.height + 1;
    h->time_ms = time_ms;
    h->prev_hash = tip.head_hash;
    h->record_count = (uint32_t)n;
    h->proposer = proposer;
    h->validators_hash = s->validators_hash;
    h->prev_commit_hash = tip.commit_hash;
    a.height = h->height;
    a.time_s = time_ms / 1000;
    {
        char msg[200];
        if ((rc = rp_epoch_advance(&a, &tip, msg, sizeof msg)) != 0) {
            seterr(err, rc, h->height, -1, "score epoch: %s", msg);
            goto out;
        }
    }
    h->epoch = tip.epoch;
    h->score_root = tip.score_root;
    h->body_bytes = (uint32_t)body;
    if (n > s->genesis->params.max_block_records || body > s->genesis->params.max_block_bytes ||
        body > UINT32_MAX) {
        rc = RP_ERR_BLOCK_LIMITS;
        seterr(err, rc, h->height, -1, "%zu records in %zu bytes exceed the block limits", n,
               body);
        goto out;
    }
    if ((rc = rp_block_records_root(&h->records_root, records, n)) != 0 ||
        (rc = check_header(s, &tip, h, records, err)) != 0)
        goto out;
    if ((rc = apply_records(&a, records, n, verify, vctx, err)) != 0)
        goto out;
    state_hash(&a, &tip.state_hash, &h->state_hash);
out:
    mdb_txn_abort(a.txn);
    apply_free(&a);
    return rc;
}

/* Write a block's chain tables (header, body, commit, hash index) and the new
 * tip inside a's transaction, and commit it; the transaction is gone after
 * (a->txn is NULL), whatever the result. state is the state hash after the
 * block. Returns: 0 or an error (err says which). */
static int write_chain(rp_store *s, rp_apply *a, rp_tip *tip, const rp_header *h,
                       const rp_hash *hh, const rp_hash *state, const unsigned char *body,
                       size_t bodylen, const unsigned char *commit, size_t clen,
                       const rp_commit *c, rp_store_error *err)
{
    unsigned char hk[8], hbuf[RP_HEADER_SIZE], tbuf[TIP_SIZE];
    MDB_val k, v;
    int rc, m;
    be64(hk, h->height);
    if ((rc = rp_header_encode(h, hbuf)) != 0 || (rc = rp_commit_hash(&tip->commit_hash, c)) != 0) {
        seterr(err, rc, h->height, -1, "%s", rp_strerror(rc));
        mdb_txn_abort(a->txn);
        a->txn = NULL;
        return rc;
    }
    k = mv(hk, 8);
    v = mv(hbuf, sizeof hbuf);
    if ((m = mdb_put(a->txn, s->dbi[RP_DB_HEADERS], &k, &v, MDB_APPEND)) != 0)
        goto fail;
    v = mv(body, bodylen);
    if ((m = mdb_put(a->txn, s->dbi[RP_DB_BODIES], &k, &v, MDB_APPEND)) != 0)
        goto fail;
    v = mv(commit, clen);
    if ((m = mdb_put(a->txn, s->dbi[RP_DB_COMMITS], &k, &v, MDB_APPEND)) != 0)
        goto fail;
    k = mv(hh->bytes, 32);
    v = mv(hk, 8);
    if ((m = mdb_put(a->txn, s->dbi[RP_DB_HASH_HEIGHT], &k, &v, MDB_NOOVERWRITE)) != 0)
        goto fail;
    tip->height = h->height;
    tip->head_hash = *hh;
    tip->state_hash = *state;
    tip->time_ms = h->time_ms;
    tip_encode(tip, tbuf);
    k = mv("tip", 3);
    v = mv(tbuf, sizeof tbuf);
    if ((m = mdb_put(a->txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto fail;
    m = mdb_txn_commit(a->txn);
    a->txn = NULL;
    if (m == 0)
        return 0;
fail:
    if (a->txn)
        mdb_txn_abort(a->txn);
    a->txn = NULL;
    rc = from_mdb(m);
    seterr(err, rc, h->height, -1, "%s: %s",
           rc == RP_ERR_MAP_FULL ? "LMDB map is full; raise map_size (the block was not applied)"
                                 : "writing the block",
           mdb_strerror(m));
    return rc;
}

int rp_store_apply_block(rp_store *s, const unsigned char *block, size_t blen,
                         const unsigned char *commit, size_t clen, rp_verify_batch_fn verify,
                         void *vctx, rp_store_error *err)
{
    rp_header h;
    rp_commit *c = NULL;
    rp_block_item *items = NULL;
    rp_apply a;
    rp_tip tip;
    rp_hash hh, computed;
    int rc;

    if (err)
        memset(err, 0, sizeof *err);
    memset(&a, 0, sizeof a);
    /* Peek at the header so the limits are reported as limits, and so the
     * item array is sized to the block rather than to the maximum. */
    if (blen < RP_HEADER_SIZE || (rc = rp_header_decode(&h, block, RP_HEADER_SIZE)) != 0) {
        rc = blen < RP_HEADER_SIZE ? RP_ERR_TRUNCATED : rc;
        seterr(err, rc, 0, -1, "block header does not decode: %s", rp_strerror(rc));
        goto done;
    }
    if (h.record_count > s->genesis->params.max_block_records ||
        h.body_bytes > s->genesis->params.max_block_bytes) {
        rc = RP_ERR_BLOCK_LIMITS;
        seterr(err, rc, h.height, -1, "%u records in %u bytes exceed the block limits",
               (unsigned)h.record_count, (unsigned)h.body_bytes);
        goto done;
    }
    size_t max_items = h.record_count;
    items = malloc((max_items ? max_items : 1) * sizeof *items);
    c = malloc(sizeof *c);
    if (!items || !c) {
        rc = RP_ERR_NOMEM;
        seterr(err, rc, 0, -1, "out of memory");
        goto done;
    }
    if ((rc = rp_block_decode(&h, items, max_items, block, blen)) != 0) {
        seterr(err, rc, 0, -1, "block does not decode: %s", rp_strerror(rc));
        goto done;
    }
    if ((rc = rp_commit_decode(c, commit, clen)) != 0) {
        seterr(err, rc, h.height, -1, "commit does not decode: %s", rp_strerror(rc));
        goto done;
    }
    rp_header_hash(&hh, &h);
    if ((rc = rp_commit_verify(c, s->genesis, &s->chain_id, h.height, &hh)) != 0) {
        seterr(err, rc, h.height, -1,
               "commit does not finalize this block with more than 2/3 of the voting power");
        goto done;
    }
    if ((rc = begin_apply(s, &a, &tip, err)) != 0)
        goto done;
    a.height = h.height;
    a.time_s = h.time_ms / 1000;
    if (h.height == tip.height + 1) {
        char msg[200];
        if ((rc = rp_epoch_advance(&a, &tip, msg, sizeof msg)) != 0) {
            seterr(err, rc, h.height, -1, "score epoch: %s", msg);
            goto abort;
        }
    }
    if ((rc = check_header(s, &tip, &h, items, err)) != 0)
        goto abort;
    if ((rc = apply_records(&a, items, h.record_count, verify, vctx, err)) != 0)
        goto abort;
    state_hash(&a, &tip.state_hash, &computed);
    if (!rp_hash_eq(&computed, &h.state_hash)) {
        rc = RP_ERR_BLOCK_STATE;
        seterr(err, rc, h.height, -1, "state hash after the block does not match the header");
        goto abort;
    }

    /* The chain tables and the tip, in the same transaction. */
    if ((rc = write_chain(s, &a, &tip, &h, &hh, &computed, block + RP_HEADER_SIZE,
                          blen - RP_HEADER_SIZE, commit, clen, c, err)) != 0)
        goto abort;
    rc = 0;
    goto done;

abort:
    if (err && err->code == 0)
        seterr(err, rc, h.height, -1, "%s", rp_strerror(rc));
    if (a.txn)
        mdb_txn_abort(a.txn);
done:
    apply_free(&a);
    free(items);
    free(c);
    return rc;
}


int rp_store_produce_block(rp_store *s, const rp_block_item *records, size_t n, uint64_t time_ms,
                           const rp_seckey *key, const unsigned char aux[static 32],
                           rp_verify_batch_fn verify, void *vctx, rp_hash *hash,
                           rp_store_error *err)
{
    rp_pubkey pk;
    rp_header h;
    rp_hash hh, vote, state;
    rp_commit *c = NULL;
    rp_apply a;
    rp_tip tip;
    unsigned char *block = NULL, cbuf[RP_COMMIT_MAX_SIZE];
    size_t blen, clen, body = 0;
    int rc;

    if (err)
        memset(err, 0, sizeof *err);
    memset(&a, 0, sizeof a);
    if ((rc = rp_pubkey_from_seckey(&pk, key)) != 0) {
        seterr(err, rc, 0, -1, "invalid validator key");
        return rc;
    }
    int idx = rp_genesis_validator_index(s->genesis, &pk);
    if (idx < 0 || !rp_genesis_is_quorum(s->genesis, s->genesis->validators[idx].power)) {
        seterr(err, RP_ERR_COMMIT, 0, -1,
               "this key is not a validator holding more than 2/3 of the power alone");
        return RP_ERR_COMMIT;
    }
    /* One pass in one transaction: the header is built from the tip, then
     * the block goes through exactly the checks rp_store_apply_block makes
     * (header links and limits, every rule, every signature through verify,
     * the epoch), its state hash is taken from the changes it made, and the
     * commit is signed and written with it. A producer never writes a block
     * it would refuse from a peer; it only skips decoding its own encoding
     * and comparing the state hash with itself. */
    if ((rc = begin_apply(s, &a, &tip, err)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        body += 2 + records[i].len;
    memset(&h, 0, sizeof h);
    h.version = RP_BLOCK_VERSION;
    h.chain_id = s->chain_id;
    h.height = tip.height + 1;
    h.time_ms = time_ms;
    h.prev_hash = tip.head_hash;
    h.record_count = (uint32_t)n;
    h.proposer = (uint16_t)idx;
    h.validators_hash = s->validators_hash;
    h.prev_commit_hash = tip.commit_hash;
    h.body_bytes = (uint32_t)body;
    a.height = h.height;
    a.time_s = time_ms / 1000;
    if (n > s->genesis->params.max_block_records || body > s->genesis->params.max_block_bytes) {
        rc = RP_ERR_BLOCK_LIMITS;
        seterr(err, rc, h.height, -1, "%zu records in %zu bytes exceed the block limits", n, body);
        goto out;
    }
    {
        char msg[200];
        if ((rc = rp_epoch_advance(&a, &tip, msg, sizeof msg)) != 0) {
            seterr(err, rc, h.height, -1, "score epoch: %s", msg);
            goto out;
        }
    }
    h.epoch = tip.epoch;
    h.score_root = tip.score_root;
    if ((rc = rp_block_records_root(&h.records_root, records, n)) != 0 ||
        (rc = check_header(s, &tip, &h, records, err)) != 0 ||
        (rc = apply_records(&a, records, n, verify, vctx, err)) != 0)
        goto out;
    state_hash(&a, &tip.state_hash, &state);
    h.state_hash = state;

    block = malloc(RP_HEADER_SIZE + body);
    c = calloc(1, sizeof *c);
    if (!block || !c) {
        rc = RP_ERR_NOMEM;
        seterr(err, rc, h.height, -1, "out of memory");
        goto out;
    }
    if ((rc = rp_block_encode(&h, records, n, block, RP_HEADER_SIZE + body, &blen)) != 0) {
        seterr(err, rc, h.height, -1, "cannot encode the block: %s", rp_strerror(rc));
        goto out;
    }
    rp_header_hash(&hh, &h);
    rp_vote_message(&vote, &s->chain_id, h.height, 0, RP_VOTE_PRECOMMIT, &hh);
    c->version = RP_COMMIT_VERSION;
    c->height = h.height;
    c->round = 0;
    c->block_hash = hh;
    c->count = 1;
    c->sigs[0].validator = (uint16_t)idx;
    if ((rc = rp_sign(&c->sigs[0].sig, vote.bytes, 32, key, aux)) != 0 ||
        (rc = rp_commit_encode(c, cbuf, sizeof cbuf, &clen)) != 0 ||
        (rc = rp_commit_verify(c, s->genesis, &s->chain_id, h.height, &hh)) != 0) {
        seterr(err, rc, h.height, -1, "cannot sign the commit: %s", rp_strerror(rc));
        goto out;
    }
    rc = write_chain(s, &a, &tip, &h, &hh, &state, block + RP_HEADER_SIZE, blen - RP_HEADER_SIZE,
                     cbuf, clen, c, err);
    if (rc == 0 && hash)
        *hash = hh;
out:
    if (a.txn)
        mdb_txn_abort(a.txn);
    apply_free(&a);
    free(block);
    free(c);
    return rc;
}

/* ---- reads -------------------------------------------------------------------- */

static int read_copy(rp_store *s, int db, const void *key, size_t klen, unsigned char **out,
                     size_t *len)
{
    MDB_txn *txn;
    MDB_val k = mv(key, klen), v;
    *out = NULL;
    *len = 0;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    rc = from_mdb(mdb_get(txn, s->dbi[db], &k, &v));
    if (rc == 0) {
        *out = malloc(v.mv_size ? v.mv_size : 1);
        if (!*out)
            rc = RP_ERR_NOMEM;
        else {
            memcpy(*out, v.mv_data, v.mv_size);
            *len = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_read_header(rp_store *s, uint64_t height, rp_header *h)
{
    unsigned char k[8], *buf;
    size_t len;
    be64(k, height);
    int rc = read_copy(s, RP_DB_HEADERS, k, 8, &buf, &len);
    if (rc)
        return rc;
    rc = rp_header_decode(h, buf, len) ? RP_ERR_CORRUPT : 0;
    free(buf);
    return rc;
}

int rp_store_read_block(rp_store *s, uint64_t height, unsigned char **out, size_t *len)
{
    MDB_txn *txn;
    MDB_val hv, bv;
    unsigned char k[8];
    be64(k, height);
    MDB_val key = mv(k, 8);
    *out = NULL;
    *len = 0;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    if ((rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_HEADERS], &key, &hv))) == 0 &&
        (rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_BODIES], &key, &bv))) == 0) {
        *out = malloc(hv.mv_size + bv.mv_size);
        if (!*out) {
            rc = RP_ERR_NOMEM;
        } else {
            memcpy(*out, hv.mv_data, hv.mv_size);
            memcpy(*out + hv.mv_size, bv.mv_data, bv.mv_size);
            *len = hv.mv_size + bv.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_read_record(rp_store *s, uint64_t height, uint32_t index,
                         unsigned char out[static RP_RECORD_MAX_SIZE], size_t *len)
{
    MDB_txn *txn;
    MDB_val bv;
    unsigned char k[8];
    be64(k, height);
    MDB_val key = mv(k, 8);
    *len = 0;
    int rc = from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    if ((rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_BODIES], &key, &bv))) == 0) {
        /* Walk the (u16 length | record) list to the index'th record. */
        const unsigned char *p = bv.mv_data, *end = p + bv.mv_size;
        rc = RP_ERR_CORRUPT;
        for (uint32_t i = 0; end - p >= 2; i++) {
            size_t n = (size_t)p[0] << 8 | p[1];
            if (n > (size_t)(end - p - 2))
                break;
            if (i == index) {
                if (n <= RP_RECORD_MAX_SIZE) {
                    memcpy(out, p + 2, n);
                    *len = n;
                    rc = 0;
                }
                break;
            }
            p += 2 + n;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int rp_store_read_commit(rp_store *s, uint64_t height, unsigned char **out, size_t *len)
{
    unsigned char k[8];
    be64(k, height);
    return read_copy(s, RP_DB_COMMITS, k, 8, out, len);
}

int rp_store_read_identity(rp_store *s, const rp_pubkey *name, rp_identity_state *out)
{
    unsigned char *buf;
    size_t len;
    int rc = read_copy(s, RP_DB_IDENTITIES, name->bytes, 32, &buf, &len);
    if (rc)
        return rc;
    rc = rp_identity_state_decode(out, buf, len);
    free(buf);
    return rc;
}

int rp_store_find_record(rp_store *s, const rp_hash *id, uint64_t *height, uint32_t *index)
{
    unsigned char *buf;
    size_t len;
    int rc = read_copy(s, RP_DB_RECORDS, id->bytes, 32, &buf, &len);
    if (rc)
        return rc;
    if (len != 12) {
        free(buf);
        return RP_ERR_CORRUPT;
    }
    uint64_t hgt = 0;
    for (int i = 0; i < 8; i++)
        hgt = hgt << 8 | buf[i];
    *height = hgt;
    *index = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
    free(buf);
    return 0;
}

int rp_store_debug_put(rp_store *s, int table, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    MDB_txn *txn;
    MDB_val k = mv(key, klen), v = mv(val, vlen);
    if (table < 0 || table >= RP_DB_COUNT || s->read_only)
        return RP_ERR_INVALID_ARG;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return from_mdb(rc);
    rc = val ? mdb_put(txn, s->dbi[table], &k, &v, 0) : mdb_del(txn, s->dbi[table], &k, NULL);
    if (rc) {
        mdb_txn_abort(txn);
        return from_mdb(rc);
    }
    return from_mdb(mdb_txn_commit(txn));
}

int rp_store_debug_get(rp_store *s, int table, const void *key, size_t klen, unsigned char **out,
                       size_t *len)
{
    if (table < 0 || table >= RP_DB_COUNT)
        return RP_ERR_INVALID_ARG;
    return read_copy(s, table, key, klen, out, len);
}

int rp_store_count(rp_store *s, int table, uint64_t *count)
{
    MDB_txn *txn;
    MDB_stat st;
    *count = 0;
    if (table < 0 || table >= RP_DB_COUNT)
        return RP_ERR_INVALID_ARG;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    rc = from_mdb(mdb_stat(txn, s->dbi[table], &st));
    if (!rc)
        *count = st.ms_entries;
    mdb_txn_abort(txn);
    return rc;
}

static void hex_prefix(char *out, size_t cap, const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 2 < cap; i++) {
        out[j++] = digits[b[i] >> 4];
        out[j++] = digits[b[i] & 15];
    }
    out[j] = '\0';
}

int rp_store_compare_state(rp_store *a, rp_store *b, rp_store_error *err)
{
    MDB_txn *ta = NULL, *tb = NULL;
    int rc;
    if (err)
        memset(err, 0, sizeof *err);
    if ((rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &ta)) != 0 ||
        (rc = mdb_txn_begin(b->env, NULL, MDB_RDONLY, &tb)) != 0) {
        if (ta)
            mdb_txn_abort(ta);
        seterr(err, from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    rc = 0;
    for (int t = 0; t < RP_DB_COUNT && rc == 0; t++) {
        if (!table_is_state[t])
            continue;
        MDB_cursor *ca, *cb;
        MDB_val ka, va, kb, vb;
        if (mdb_cursor_open(ta, a->dbi[t], &ca) || mdb_cursor_open(tb, b->dbi[t], &cb)) {
            rc = RP_ERR_STORE;
            seterr(err, rc, 0, -1, "cannot open a cursor on %s", table_names[t]);
            break;
        }
        int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST);
        int rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
        while (rc == 0 && (ra == 0 || rb == 0)) {
            char hex[129];
            if (ra != 0 || rb != 0) {
                const MDB_val *k = ra == 0 ? &ka : &kb;
                hex_prefix(hex, sizeof hex, k->mv_data, k->mv_size);
                rc = RP_ERR_CORRUPT;
                seterr(err, rc, 0, -1, "table %s: entry %s is %s", table_names[t], hex,
                       ra == 0 ? "stored but not produced by replay"
                               : "produced by replay but missing from the store");
                break;
            }
            int kc = ka.mv_size == kb.mv_size ? memcmp(ka.mv_data, kb.mv_data, ka.mv_size)
                                              : (ka.mv_size < kb.mv_size ? -1 : 1);
            if (kc != 0) {
                const MDB_val *k = kc < 0 ? &ka : &kb;
                hex_prefix(hex, sizeof hex, k->mv_data, k->mv_size);
                rc = RP_ERR_CORRUPT;
                seterr(err, rc, 0, -1, "table %s: entry %s is %s", table_names[t], hex,
                       kc < 0 ? "stored but not produced by replay"
                              : "produced by replay but missing from the store");
                break;
            }
            if (va.mv_size != vb.mv_size || memcmp(va.mv_data, vb.mv_data, va.mv_size) != 0) {
                hex_prefix(hex, sizeof hex, ka.mv_data, ka.mv_size);
                rc = RP_ERR_CORRUPT;
                seterr(err, rc, 0, -1, "table %s: entry %s differs from the replayed value",
                       table_names[t], hex);
                break;
            }
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        }
        mdb_cursor_close(ca);
        mdb_cursor_close(cb);
    }
    mdb_txn_abort(ta);
    mdb_txn_abort(tb);
    return rc;
}

/* ---- score tables and proofs --------------------------------------------------- */

static int epoch_decode(rp_epoch_info *e, uint64_t epoch, const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    if (v->mv_size != 52)
        return RP_ERR_CORRUPT;
    memset(e, 0, sizeof *e);
    e->epoch = epoch;
    for (int i = 0; i < 8; i++) {
        e->snapshot_height = e->snapshot_height << 8 | p[i];
        e->commit_height = e->commit_height << 8 | p[8 + i];
    }
    memcpy(e->root.bytes, p + 16, 32);
    e->identities = (uint32_t)p[48] << 24 | (uint32_t)p[49] << 16 | (uint32_t)p[50] << 8 | p[51];
    return 0;
}

static int read_epoch_txn(rp_store *s, MDB_txn *txn, uint64_t epoch, rp_epoch_info *out)
{
    unsigned char k[8];
    MDB_val key, v;
    int rc;
    if (epoch == 0) {
        rp_tip tip;
        if ((rc = read_tip(s, txn, &tip)) != 0)
            return rc;
        if (tip.epoch == 0)
            return RP_ERR_NOT_FOUND;
        epoch = tip.epoch;
    }
    be64(k, epoch);
    key = mv(k, 8);
    rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_EPOCHS], &key, &v));
    return rc ? rc : epoch_decode(out, epoch, &v);
}

int rp_store_read_epoch(rp_store *s, uint64_t epoch, rp_epoch_info *out)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    rc = read_epoch_txn(s, txn, epoch, out);
    mdb_txn_abort(txn);
    return rc;
}

static int row_decode(rp_score_row *row, const MDB_val *k, const MDB_val *v)
{
    rp_reader r;
    if (k->mv_size != 40)
        return RP_ERR_CORRUPT;
    memcpy(row->identity.bytes, (const unsigned char *)k->mv_data + 8, 32);
    rp_reader_init(&r, v->mv_data, v->mv_size);
    row->trust = rp_get_u64(&r, "trust");
    row->rating = rp_get_u32(&r, "rating");
    row->reviews = rp_get_u32(&r, "reviews");
    row->score = rp_get_u16(&r, "score");
    row->confidence = rp_get_u16(&r, "confidence");
    return rp_reader_finish(&r, NULL) ? RP_ERR_CORRUPT : 0;
}

int rp_store_read_score(rp_store *s, const rp_pubkey *identity, uint64_t epoch,
                        rp_epoch_info *info, rp_score_row *row, int *present)
{
    MDB_txn *txn;
    *present = 0;
    int rc = from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    if ((rc = read_epoch_txn(s, txn, epoch, info)) == 0) {
        unsigned char key[40];
        be64(key, info->epoch);
        memcpy(key + 8, identity->bytes, 32);
        MDB_val k = mv(key, 40), v;
        rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_SCORES], &k, &v));
        if (rc == 0 && (rc = row_decode(row, &k, &v)) == 0)
            *present = 1;
        else if (rc == RP_ERR_NOT_FOUND)
            rc = 0;
    }
    mdb_txn_abort(txn);
    return rc;
}

/* Walk one epoch's rows inside a read transaction. */
static int walk_scores(rp_store *s, MDB_txn *txn, uint64_t epoch,
                       int (*fn)(void *ctx, const rp_score_row *row), void *ctx)
{
    MDB_cursor *c;
    unsigned char prefix[8];
    be64(prefix, epoch);
    MDB_val k = mv(prefix, 8), v;
    int rc = from_mdb(mdb_cursor_open(txn, s->dbi[RP_DB_SCORES], &c));
    if (rc)
        return rc;
    int m = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (m == 0 && rc == 0 && k.mv_size == 40 && !memcmp(k.mv_data, prefix, 8)) {
        rp_score_row row;
        if ((rc = row_decode(&row, &k, &v)) == 0 && (rc = fn(ctx, &row)) == 0)
            m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = from_mdb(m);
    return rc;
}

int rp_store_read_scores(rp_store *s, uint64_t epoch,
                         int (*fn)(void *ctx, const rp_score_row *row), void *ctx)
{
    MDB_txn *txn;
    rp_epoch_info e;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    if ((rc = read_epoch_txn(s, txn, epoch, &e)) == 0)
        rc = walk_scores(s, txn, e.epoch, fn, ctx);
    mdb_txn_abort(txn);
    return rc;
}

struct rows {
    rp_score_row *rows;
    size_t n, cap;
};

static int keep_row(void *ctx, const rp_score_row *row)
{
    struct rows *r = ctx;
    if (r->n == r->cap)
        return RP_ERR_CORRUPT; /* more rows than the epoch says it has */
    r->rows[r->n++] = *row;
    return 0;
}

int rp_store_score_proof(rp_store *s, const rp_pubkey *identity, uint64_t epoch,
                         rp_score_proof *p)
{
    MDB_txn *txn;
    struct rows r = {0};
    rp_hash *leaves = NULL;
    unsigned char hk[8];
    MDB_val key, v;
    memset(p, 0, sizeof *p);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return from_mdb(rc);
    if ((rc = read_epoch_txn(s, txn, epoch, &p->epoch)) != 0)
        goto out;
    r.cap = p->epoch.identities;
    r.rows = malloc((r.cap ? r.cap : 1) * sizeof *r.rows);
    leaves = malloc((r.cap ? r.cap : 1) * sizeof *leaves);
    if (!r.rows || !leaves) {
        rc = RP_ERR_NOMEM;
        goto out;
    }
    if ((rc = walk_scores(s, txn, p->epoch.epoch, keep_row, &r)) != 0)
        goto out;
    if (r.n != r.cap) {
        rc = RP_ERR_CORRUPT;
        goto out;
    }
    be64(hk, p->epoch.commit_height);
    key = mv(hk, 8);
    if ((rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_HEADERS], &key, &v))) != 0 ||
        (rc = rp_header_decode(&p->header, v.mv_data, v.mv_size) ? RP_ERR_CORRUPT : 0) != 0 ||
        (rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_COMMITS], &key, &v))) != 0)
        goto out;
    if (v.mv_size > sizeof p->commit) {
        rc = RP_ERR_CORRUPT;
        goto out;
    }
    memcpy(p->commit, v.mv_data, v.mv_size);
    p->commit_len = v.mv_size;

    /* Rows are in identity order: find the identity or where it would be. */
    size_t lo = 0, hi = r.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(r.rows[mid].identity.bytes, identity->bytes, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < r.n; i++)
        rp_score_leaf(&leaves[i], &r.rows[i]);
    if (lo < r.n && !memcmp(r.rows[lo].identity.bytes, identity->bytes, 32)) {
        p->present = 1;
        p->row = r.rows[lo];
        p->index = lo;
        rc = rp_merkle_proof(p->path, &p->depth, leaves, r.n, lo);
    } else {
        p->index = lo; /* where it would be */
        if (lo > 0) {
            p->has_left = 1;
            p->left = r.rows[lo - 1];
            rc = rp_merkle_proof(p->lpath, &p->ldepth, leaves, r.n, lo - 1);
        }
        if (rc == 0 && lo < r.n) {
            p->has_right = 1;
            p->right = r.rows[lo];
            rc = rp_merkle_proof(p->rpath, &p->rdepth, leaves, r.n, lo);
        }
    }
out:
    mdb_txn_abort(txn);
    free(r.rows);
    free(leaves);
    return rc;
}

/* ---- epochs computed ahead ---------------------------------------------------- */

int rp_store_epoch_compute(rp_store *s, uint64_t epoch, rp_epoch_result **out,
                           rp_store_error *err)
{
    rp_apply a;
    rp_tip tip;
    char msg[200];
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    memset(&a, 0, sizeof a);
    a.store = s;
    a.g = s->genesis;
    a.chain_id = &s->chain_id;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &a.txn);
    if (rc) {
        seterr(err, from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return from_mdb(rc);
    }
    uint64_t b = epoch * s->genesis->params.epoch_blocks;
    if ((rc = read_tip(s, a.txn, &tip)) == 0 && (epoch == 0 || tip.height < b)) {
        rc = RP_ERR_NOT_FOUND;
        seterr(err, rc, b, -1, "epoch %llu snapshots height %llu; the tip is at %llu",
               (unsigned long long)epoch, (unsigned long long)b,
               (unsigned long long)tip.height);
    } else if (rc == 0 && (rc = rp_epoch_compute(&a, epoch, out, msg, sizeof msg)) != 0) {
        seterr(err, rc, b, -1, "score epoch %llu: %s", (unsigned long long)epoch, msg);
    }
    mdb_txn_abort(a.txn);
    return rc;
}

void rp_store_epoch_offer(rp_store *s, rp_epoch_result *r)
{
    rp_epoch_result_free(s->offer);
    s->offer = r;
}

const rp_epoch_result *rp_store_offered(rp_store *s, uint64_t epoch)
{
    rp_epoch_info info;
    if (!s->offer)
        return NULL;
    rp_epoch_result_info(s->offer, &info, NULL, NULL, NULL);
    return info.epoch == epoch ? s->offer : NULL;
}

/* ---- pending state (ledger/pending.h) ------------------------------------------- */

struct rp_pending {
    rp_apply a;
    struct rp_overlay ov;
    uint64_t tip_height;
    size_t *starts;   /* first change of each record added, oldest first */
    size_t first;     /* starts[first..nrec): records not yet on chain */
    size_t nrec, caprec;
    size_t dead;      /* changes [0, dead) belong to records now on chain */
};

int rp_pending_new(rp_store *s, rp_pending **out)
{
    *out = NULL;
    rp_pending *p = calloc(1, sizeof *p);
    if (!p)
        return RP_ERR_NOMEM;
    p->a.store = s;
    p->a.g = s->genesis;
    p->a.chain_id = &s->chain_id;
    p->a.ov = &p->ov;
    int rc = from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &p->a.txn));
    rp_tip tip;
    if (rc == 0 && (rc = read_tip(s, p->a.txn, &tip)) == 0) {
        p->tip_height = tip.height;
        p->a.height = tip.height + 1;
        *out = p;
        return 0;
    }
    rp_pending_free(p);
    return rc;
}

void rp_pending_free(rp_pending *p)
{
    if (!p)
        return;
    if (p->a.txn)
        mdb_txn_abort(p->a.txn);
    apply_free(&p->a);
    free(p->ov.slot);
    free(p->starts);
    free(p);
}

uint64_t rp_pending_height(const rp_pending *p) { return p->tip_height; }

int rp_pending_add(rp_pending *p, const unsigned char *rec, size_t len, uint64_t time_s,
                   rp_hash *id, rp_sig_item sigs[static RP_RECORD_MAX_SIGS], size_t *nsigs,
                   char *msg, size_t msglen)
{
    rp_apply *a = &p->a;
    rp_record r;
    const char *field = NULL;
    *nsigs = 0;
    if (msglen)
        msg[0] = 0;
    memset(id, 0, sizeof *id);
    int rc = rp_record_decode(&r, rec, len, &field);
    if (rc) {
        snprintf(msg, msglen, "record does not decode: %s (field %s)", rp_strerror(rc),
                 field ? field : "?");
        return rc;
    }
    rp_record_id_from_body(id, a->chain_id, rec, rp_record_body_len(r.type, len));
    size_t nchanges = a->nchanges, nvals = a->nvals;
    a->ov_from = nchanges;
    a->nsigs = 0;
    a->time_s = time_s;
    rc = rp_rules_apply(a, &r, id, msg, msglen);
    if (rc == 0 && a->nsigs > RP_RECORD_MAX_SIGS)
        rc = RP_ERR_INVALID_ARG; /* the rules never ask for more */
    if (rc == 0 && p->nrec == p->caprec) {
        size_t cap = p->caprec ? p->caprec * 2 : 256;
        size_t *ns = realloc(p->starts, cap * sizeof *ns);
        if (!ns)
            rc = RP_ERR_NOMEM;
        else {
            p->starts = ns;
            p->caprec = cap;
        }
    }
    if (rc == 0)
        rc = ov_reserve(a, a->nchanges - nchanges);
    if (rc == 0) {
        for (size_t i = nchanges; i < a->nchanges; i++)
            ov_insert(a, i);
        p->starts[p->nrec++] = nchanges;
    }
    if (rc) {
        /* Nothing of the record stays; ov holds only earlier changes. */
        a->nchanges = nchanges;
        a->nvals = nvals;
        a->ov_from = nchanges;
        a->nsigs = 0;
        return rc;
    }
    a->ov_from = a->nchanges;
    for (size_t i = 0; i < a->nsigs; i++) {
        sigs[i].msg = a->sigs[i].msg;
        sigs[i].key = a->sigs[i].key;
        sigs[i].sig = a->sigs[i].sig;
    }
    *nsigs = a->nsigs;
    a->nsigs = 0;
    return 0;
}

int rp_pending_advance(rp_pending *p, size_t k)
{
    rp_apply *a = &p->a;
    if (k > p->nrec - p->first)
        return RP_ERR_INVALID_ARG;
    size_t end = p->first + k < p->nrec ? p->starts[p->first + k] : a->nchanges;
    /* Keys whose newest change belongs to those records read from the
     * chain again; later records' changes stay on top. */
    for (size_t i = p->dead; i < end; i++) {
        const struct rp_change *c = &a->changes[i];
        struct ov_slot *sl = ov_lookup(a, c->db, c->key, c->klen, ov_hash(c->db, c->key, c->klen));
        if (sl && sl->idx == i + 1)
            sl->idx = OV_DEAD;
    }
    p->dead = end;
    p->first += k;
    mdb_txn_reset(a->txn);
    int rc = from_mdb(mdb_txn_renew(a->txn));
    rp_tip tip;
    if (rc == 0 && (rc = read_tip(a->store, a->txn, &tip)) == 0) {
        p->tip_height = tip.height;
        a->height = tip.height + 1;
    }
    return rc;
}

size_t rp_pending_dead(const rp_pending *p) { return p->dead; }

int rp_pending_find_record(rp_pending *p, const rp_hash *id, uint64_t *height, uint32_t *index)
{
    /* The chain only: the layer's locations of pending records are guesses
     * (the next height, index 0). */
    MDB_val k = mv(id->bytes, 32), v;
    int rc = from_mdb(mdb_get(p->a.txn, p->a.store->dbi[RP_DB_RECORDS], &k, &v));
    if (rc)
        return rc;
    if (v.mv_size != 12)
        return RP_ERR_CORRUPT;
    const unsigned char *b = v.mv_data;
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | b[i];
    *height = h;
    *index = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
    return 0;
}

int rp_pending_chain_identity(rp_pending *p, const rp_pubkey *name, rp_identity_state *out)
{
    MDB_val k = mv(name->bytes, 32), v;
    int rc = from_mdb(mdb_get(p->a.txn, p->a.store->dbi[RP_DB_IDENTITIES], &k, &v));
    return rc ? rc : rp_identity_state_decode(out, v.mv_data, v.mv_size);
}

int rp_pending_identity(rp_pending *p, const rp_pubkey *name, rp_identity_state *out)
{
    MDB_val v;
    int rc = rp_st_get(&p->a, RP_DB_IDENTITIES, name->bytes, 32, &v);
    return rc ? rc : rp_identity_state_decode(out, v.mv_data, v.mv_size);
}

/* ---- lookups for the RPC server ------------------------------------------------- */

int rp_store_find_block(rp_store *s, const rp_hash *hash, uint64_t *height)
{
    unsigned char *buf;
    size_t len;
    int rc = read_copy(s, RP_DB_HASH_HEIGHT, hash->bytes, 32, &buf, &len);
    if (rc)
        return rc;
    uint64_t h = 0;
    for (size_t i = 0; i < len; i++)
        h = h << 8 | buf[i];
    free(buf);
    if (len != 8)
        return RP_ERR_CORRUPT;
    *height = h;
    return 0;
}

int rp_store_list_reviews(rp_store *s, const rp_pubkey *who, int by_issuer, const rp_hash *after,
                          rp_review_info *out, size_t max, size_t *n, int *more)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    unsigned char start[64];
    *n = 0;
    *more = 0;
    memcpy(start, who->bytes, 32);
    if (after)
        memcpy(start + 32, after->bytes, 32);
    int rc = from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc)
        return rc;
    rc = from_mdb(mdb_cursor_open(txn, s->dbi[by_issuer ? RP_DB_BY_ISSUER : RP_DB_BY_SUBJECT], &c));
    MDB_val k = mv(start, after ? 64 : 32), v;
    int m = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    /* Skip the review named by after itself. */
    if (m == 0 && after && k.mv_size == 64 && memcmp(k.mv_data, start, 64) == 0)
        m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    while (rc == 0 && m == 0) {
        if (k.mv_size != 64 || memcmp(k.mv_data, who->bytes, 32) != 0)
            break;
        if (*n == max) {
            *more = 1;
            break;
        }
        MDB_val rk = mv((const unsigned char *)k.mv_data + 32, 32), rv;
        struct rp_review_state st;
        if ((rc = from_mdb(mdb_get(txn, s->dbi[RP_DB_REVIEWS], &rk, &rv))) != 0 ||
            (rc = rp_review_state_decode(&st, &rv)) != 0) {
            if (rc == RP_ERR_NOT_FOUND)
                rc = RP_ERR_CORRUPT; /* an index entry without its review */
            break;
        }
        rp_review_info *o = &out[(*n)++];
        memcpy(o->id.bytes, rk.mv_data, 32);
        o->issuer = st.issuer;
        o->subject = st.subject;
        o->engagement = st.engagement;
        o->overall = st.overall;
        memcpy(o->dims, st.dims, sizeof o->dims);
        o->time = st.time;
        o->height = st.height;
        m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = from_mdb(m);
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}
