/* The ledger store's environment: creating and opening a datadir's LMDB
 * environment, its tables and meta, the tip, write batches and raw access
 * for tests (contract in store.h; the tables in schema.h).
 *
 * Executing blocks is exec.c, the change log state.c, reads query.c, the
 * audit's table comparison audit.c, the mempool's pending state pending.c.
 * They share the private parts declared in state.h.
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
#include "ledger/schema.h"
#include "ledger/state.h"

void rp_store_error_set(rp_store_error *e, int code, uint64_t height, int64_t index,
                        const char *fmt, ...)
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

int rp_from_mdb(int rc)
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

MDB_val rp_mv(const void *p, size_t n)
{
    MDB_val v;
    v.mv_data = (void *)(uintptr_t)p; /* LMDB never writes through a key */
    v.mv_size = n;
    return v;
}

/* ---- tip ------------------------------------------------------------------ */

int rp_read_tip(rp_store *s, MDB_txn *txn, rp_tip *t)
{
    MDB_val k = rp_mv("tip", 3), v;
    int err = rp_from_mdb(mdb_get(txn, s->dbi[RP_DB_META], &k, &v));
    if (err)
        return err == RP_ERR_NOT_FOUND ? RP_ERR_CORRUPT : err;
    return rp_tip_decode(t, v.mv_data, v.mv_size);
}

int rp_read_begin(rp_store *s, MDB_txn **txn)
{
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
    if (rc)
        *txn = NULL;
    return rc;
}

/* The tip of a ledger without blocks (store.h). */
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
static int open_env(rp_store *s, const char *path, const rp_store_opts *opts, rp_store_error *err)
{
    char lock[4096];
    int rc;

    if (snprintf(lock, sizeof lock, "%s/writer.lock", path) >= (int)sizeof lock) {
        rp_store_error_set(err, -ENAMETOOLONG, 0, -1, "datadir path too long");
        return -ENAMETOOLONG;
    }
    if (!s->read_only) {
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0) {
            rc = -errno;
            rp_store_error_set(err, rc, 0, -1, "cannot open %s: %s", lock, rp_strerror(rc));
            return rc;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            rc = errno == EWOULDBLOCK ? RP_ERR_LOCKED : -errno;
            rp_store_error_set(err, rc, 0, -1, "%s is in use by another process (%s)", path,
                               rp_strerror(rc));
            return rc;
        }
    }
    if ((rc = mdb_env_create(&s->env)) != 0) {
        s->env = NULL;
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "mdb_env_create: %s", mdb_strerror(rc));
        return rp_from_mdb(rc);
    }
    uint64_t map = opts && opts->map_size ? opts->map_size : RP_STORE_DEFAULT_MAP_SIZE;
    /* A scratch store is thrown away after use, so its commits need not
     * reach the disk (no fsync). It is not written through a writable map
     * (MDB_WRITEMAP): a full disk under a sparse map file is a SIGBUS there,
     * where write() returns an error the caller can report. */
    unsigned int flags = MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0) |
                         (s->scratch ? MDB_NOSYNC | MDB_NOMETASYNC : 0);
    if ((rc = mdb_env_set_maxdbs(s->env, RP_DB_COUNT)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, (size_t)map)) != 0 ||
        (rc = mdb_env_set_maxreaders(s->env, 256)) != 0 ||
        (rc = mdb_env_open(s->env, path, flags, 0600)) != 0) {
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "cannot open LMDB environment %s: %s", path,
                           mdb_strerror(rc));
        return rp_from_mdb(rc);
    }
    int dead = 0;
    (void)mdb_reader_check(s->env, &dead);
    return 0;
}

/* Schema 2 or 3 -> 4 in place: schema 3 added only the evidence table,
 * schema 4 only the AUDIENCE tables, which an older chain holds nothing
 * for (it could carry no such record). Inside open_tables' write
 * transaction, after the missing tables were created: the stored version
 * must be the one that lacks exactly those tables (2 if evidence was
 * missing, else 3); it becomes 4, both in one commit, so a crash leaves
 * either ledger whole. */
static int upgrade_from(rp_store *s, MDB_txn *txn, unsigned from, rp_store_error *err)
{
    MDB_val k = rp_mv("schema", 6), v;
    unsigned char want[4] = {0, 0, 0, (unsigned char)from};
    if (mdb_get(txn, s->dbi[RP_DB_META], &k, &v) != 0 || v.mv_size != 4 ||
        memcmp(v.mv_data, want, 4) != 0) {
        rp_store_error_set(err, RP_ERR_SCHEMA, 0, -1,
                           "ledger lacks the tables of schema %u and later but is not schema "
                           "%u: not a repute schema %d datadir",
                           from + 1, from, RP_SCHEMA_VERSION);
        return RP_ERR_SCHEMA;
    }
    unsigned char ver[4] = {0, 0, 0, RP_SCHEMA_VERSION};
    v = rp_mv(ver, sizeof ver);
    int rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0);
    if (rc) {
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "upgrading the schema: %s",
                           mdb_strerror(rc));
        return rp_from_mdb(rc);
    }
    return 0;
}

/* The schema that added a table: 2 for the original ones. */
static unsigned table_since(int db)
{
    if (db == RP_DB_EVIDENCE)
        return 3;
    return db > RP_DB_EVIDENCE ? 4 : 2;
}

static int open_tables(rp_store *s, int create, rp_store_error *err)
{
    unsigned upgrade = 0; /* the schema the ledger is at, if older */
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
    if (rc) {
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return rp_from_mdb(rc);
    }
    for (int i = 0; i < RP_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, rp_schema_table_name(i), create ? MDB_CREATE : 0, &s->dbi[i]);
        if (rc == MDB_NOTFOUND && table_since(i) > 2 && !s->read_only && !create) {
            /* An older ledger: the tables added since start empty. */
            rc = mdb_dbi_open(txn, rp_schema_table_name(i), MDB_CREATE, &s->dbi[i]);
            if (!upgrade)
                upgrade = table_since(i) - 1;
        }
        if (rc) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND && table_since(i) > 2) {
                rp_store_error_set(err, RP_ERR_SCHEMA, 0, -1,
                                   "ledger has no table '%s': a schema %u ledger, which "
                                   "opening it read-write (reputed run) upgrades to schema %d",
                                   rp_schema_table_name(i), table_since(i) - 1, RP_SCHEMA_VERSION);
                return RP_ERR_SCHEMA;
            }
            if (rc == MDB_NOTFOUND) {
                rp_store_error_set(err, RP_ERR_SCHEMA, 0, -1,
                                   "ledger has no table '%s': not a repute schema %d datadir",
                                   rp_schema_table_name(i), RP_SCHEMA_VERSION);
                return RP_ERR_SCHEMA;
            }
            rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "opening table %s: %s",
                               rp_schema_table_name(i), mdb_strerror(rc));
            return rp_from_mdb(rc);
        }
    }
    if (upgrade && (rc = upgrade_from(s, txn, upgrade, err)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc) {
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "mdb_txn_commit: %s", mdb_strerror(rc));
        return rp_from_mdb(rc);
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
    s->scratch = opts ? opts->scratch : 0;
    pthread_mutex_init(&s->offer_mu, NULL);
    return s;
}

void rp_store_close(rp_store *s)
{
    if (!s)
        return;
    if (s->batch)
        mdb_txn_abort(s->batch);
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    rp_epoch_result_free(s->offer);
    pthread_mutex_destroy(&s->offer_mu);
    free(s->genesis);
    free(s);
}

static int load_meta(rp_store *s, rp_store_error *err)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "mdb_txn_begin: %s", mdb_strerror(rc));
        return rp_from_mdb(rc);
    }
    int e = 0;
    k = rp_mv("schema", 6);
    rc = mdb_get(txn, s->dbi[RP_DB_META], &k, &v);
    if (rc || v.mv_size != 4) {
        e = RP_ERR_CORRUPT;
        rp_store_error_set(err, e, 0, -1, "ledger meta has no schema version");
        goto out;
    }
    const unsigned char *p = v.mv_data;
    uint32_t version = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (version != RP_SCHEMA_VERSION) {
        e = RP_ERR_SCHEMA;
        rp_store_error_set(err, e, 0, -1, "ledger schema version %u; this build reads version %d",
                           (unsigned)version, RP_SCHEMA_VERSION);
        goto out;
    }
    k = rp_mv("genesis", 7);
    if (mdb_get(txn, s->dbi[RP_DB_META], &k, &v) != 0 ||
        rp_genesis_decode(s->genesis, v.mv_data, v.mv_size) != 0) {
        e = RP_ERR_CORRUPT;
        rp_store_error_set(err, e, 0, -1, "ledger meta holds no valid genesis");
        goto out;
    }
    rp_hash stored;
    k = rp_mv("chain_id", 8);
    if (mdb_get(txn, s->dbi[RP_DB_META], &k, &v) != 0 || v.mv_size != 32 ||
        rp_genesis_chain_id(&s->chain_id, s->genesis) != 0 ||
        (memcpy(stored.bytes, v.mv_data, 32), !rp_hash_eq(&stored, &s->chain_id))) {
        e = RP_ERR_CORRUPT;
        rp_store_error_set(err, e, 0, -1, "ledger meta chain id does not match its genesis");
        goto out;
    }
    rp_genesis_validators_hash(&s->validators_hash, s->genesis);
out:
    mdb_txn_abort(txn);
    return e;
}

int rp_store_open(rp_store **out, const char *dir, const rp_store_opts *opts, rp_store_error *err)
{
    rp_store *s = store_new(opts);
    int rc;
    rp_ledger_errors_register();
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    if (!s) {
        rp_store_error_set(err, RP_ERR_NOMEM, 0, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/ledger", dir) >= (int)sizeof path) {
        rp_store_close(s);
        rp_store_error_set(err, -ENAMETOOLONG, 0, -1, "datadir path too long");
        return -ENAMETOOLONG;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rp_store_close(s);
        rp_store_error_set(err, -ENOENT, 0, -1, "no ledger in %s", dir);
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
        rp_store_error_set(err, RP_ERR_CHAIN_MISMATCH, 0, -1,
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
int rp_store_create(rp_store **out, const char *dir, const rp_genesis *g, const rp_store_opts *opts,
                    rp_store_error *err)
{
    rp_store *s = store_new(opts);
    unsigned char *gbuf = NULL;
    MDB_txn *txn = NULL;
    int rc;
    char gerr[256], path[4096], tmp[4096];
    struct stat st;

    rp_ledger_errors_register();
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    if (!s) {
        rp_store_error_set(err, RP_ERR_NOMEM, 0, -1, "out of memory");
        return RP_ERR_NOMEM;
    }
    if (s->read_only) {
        rp_store_close(s);
        rp_store_error_set(err, RP_ERR_INVALID_ARG, 0, -1, "cannot create a ledger read-only");
        return RP_ERR_INVALID_ARG;
    }
    if ((rc = rp_genesis_check(g, gerr, sizeof gerr)) != 0) {
        rp_store_close(s);
        rp_store_error_set(err, rc, 0, -1, "genesis: %s", gerr);
        return rc;
    }
    if (snprintf(path, sizeof path, "%s/ledger", dir) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/ledger.new", dir) >= (int)sizeof tmp) {
        rp_store_close(s);
        rp_store_error_set(err, -ENAMETOOLONG, 0, -1, "datadir path too long");
        return -ENAMETOOLONG;
    }
    if (stat(path, &st) == 0) {
        rp_store_close(s);
        rp_store_error_set(err, -EEXIST, 0, -1, "%s already holds a ledger", dir);
        return -EEXIST;
    }
    remove_partial(tmp);
    if (mkdir(tmp, 0700) != 0) {
        rc = -errno;
        rp_store_close(s);
        rp_store_error_set(err, rc, 0, -1, "cannot create %s: %s", tmp, rp_strerror(rc));
        return rc;
    }
    if ((rc = open_env(s, tmp, opts, err)) != 0 || (rc = open_tables(s, 1, err)) != 0)
        goto fail;

    *s->genesis = *g;
    size_t glen;
    gbuf = malloc(RP_GENESIS_MAX_SIZE);
    if (!gbuf) {
        rc = RP_ERR_NOMEM;
        rp_store_error_set(err, rc, 0, -1, "out of memory");
        goto fail;
    }
    if ((rc = rp_genesis_encode(g, gbuf, RP_GENESIS_MAX_SIZE, &glen)) != 0 ||
        (rc = rp_genesis_chain_id(&s->chain_id, g)) != 0) {
        rp_store_error_set(err, rc, 0, -1, "cannot encode genesis: %s", rp_strerror(rc));
        goto fail;
    }

    rp_tip tip;
    unsigned char tbuf[RP_TIP_SIZE], ver[4] = {0, 0, 0, RP_SCHEMA_VERSION};
    genesis_tip(s, &tip);
    rp_tip_encode(tbuf, &tip);
    MDB_val k, v;
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
        goto mdb_fail;
    k = rp_mv("schema", 6), v = rp_mv(ver, 4);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    k = rp_mv("genesis", 7), v = rp_mv(gbuf, glen);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    k = rp_mv("chain_id", 8), v = rp_mv(s->chain_id.bytes, 32);
    if ((rc = mdb_put(txn, s->dbi[RP_DB_META], &k, &v, 0)) != 0)
        goto mdb_fail;
    k = rp_mv("tip", 3), v = rp_mv(tbuf, RP_TIP_SIZE);
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
        rp_store_error_set(err, rc, 0, -1, "cannot move %s into place: %s", tmp, rp_strerror(rc));
        remove_partial(tmp);
        return rc;
    }
    return rp_store_open(out, dir, opts, err);

mdb_fail:
    if (txn)
        mdb_txn_abort(txn);
    rp_store_error_set(err, rp_from_mdb(rc), 0, -1, "writing ledger meta: %s", mdb_strerror(rc));
    rc = rp_from_mdb(rc);
fail:
    free(gbuf);
    rp_store_close(s);
    remove_partial(tmp);
    return rc;
}

const rp_genesis *rp_store_genesis(const rp_store *s)
{
    return s->genesis;
}
const rp_hash *rp_store_chain_id(const rp_store *s)
{
    return &s->chain_id;
}
const rp_hash *rp_store_validators_hash(const rp_store *s)
{
    return &s->validators_hash;
}

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
    if (s->batch)
        return rp_read_tip(s, s->batch, tip);
    int rc = rp_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = rp_read_tip(s, txn, tip);
    mdb_txn_abort(txn);
    return rc;
}

/* ---- write batches ------------------------------------------------------------- */

int rp_store_batch_begin(rp_store *s, rp_store_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (s->read_only || s->batch) {
        rp_store_error_set(err, RP_ERR_INVALID_ARG, 0, -1,
                           s->batch ? "a write batch is already open"
                                    : "the store is open read-only");
        return RP_ERR_INVALID_ARG;
    }
    int rc = rp_from_mdb(mdb_txn_begin(s->env, NULL, 0, &s->batch));
    if (rc) {
        s->batch = NULL;
        rp_store_error_set(err, rc, 0, -1, "cannot begin a write transaction: %s", rp_strerror(rc));
        return rc;
    }
    s->batch_blocks = 0;
    return 0;
}

int rp_store_batch_commit(rp_store *s, rp_store_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (!s->batch) {
        rp_store_error_set(err, RP_ERR_INVALID_ARG, 0, -1, "no write batch is open");
        return RP_ERR_INVALID_ARG;
    }
    int rc = rp_from_mdb(mdb_txn_commit(s->batch));
    s->batch = NULL;
    s->batch_blocks = 0;
    if (rc)
        rp_store_error_set(err, rc, 0, -1, "committing the write batch: %s",
                           rc == -ENOSPC ? "the disk is full" : rp_strerror(rc));
    return rc;
}

void rp_store_batch_abort(rp_store *s)
{
    if (s->batch)
        mdb_txn_abort(s->batch);
    s->batch = NULL;
    s->batch_blocks = 0;
}

uint64_t rp_store_batch_blocks(const rp_store *s)
{
    return s->batch ? s->batch_blocks : 0;
}

/* ---- raw access ------------------------------------------------------------------ */

int rp_read_copy(rp_store *s, int db, const void *key, size_t klen, unsigned char **out,
                 size_t *len)
{
    MDB_txn *txn;
    MDB_val k = rp_mv(key, klen), v;
    *out = NULL;
    *len = 0;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rp_from_mdb(rc);
    rc = rp_from_mdb(mdb_get(txn, s->dbi[db], &k, &v));
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

int rp_store_debug_put(rp_store *s, int table, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    MDB_txn *txn;
    MDB_val k = rp_mv(key, klen), v = rp_mv(val, vlen);
    if (table < 0 || table >= RP_DB_COUNT || s->read_only || s->batch)
        return RP_ERR_INVALID_ARG;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return rp_from_mdb(rc);
    rc = val ? mdb_put(txn, s->dbi[table], &k, &v, 0) : mdb_del(txn, s->dbi[table], &k, NULL);
    if (rc) {
        mdb_txn_abort(txn);
        return rp_from_mdb(rc);
    }
    return rp_from_mdb(mdb_txn_commit(txn));
}

int rp_store_debug_get(rp_store *s, int table, const void *key, size_t klen, unsigned char **out,
                       size_t *len)
{
    if (table < 0 || table >= RP_DB_COUNT)
        return RP_ERR_INVALID_ARG;
    return rp_read_copy(s, table, key, klen, out, len);
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
        return rp_from_mdb(rc);
    rc = rp_from_mdb(mdb_stat(txn, s->dbi[table], &st));
    if (!rc)
        *count = st.ms_entries;
    mdb_txn_abort(txn);
    return rc;
}
