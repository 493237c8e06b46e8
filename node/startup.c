/* reputed run's start-up checks (node/init.h, rp_node_load_config): the
 * datadir and its files are this user's and nobody else's to change, the
 * conf holds the keys whose defaults can be wrong, the node key and the
 * genesis are the ledger's, and no init was left half done. init.c creates
 * datadirs; this file checks them before a node runs on one. */
#include "node/init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "ledger/genesis.h"
#include "ledger/store.h"
#include "node/errors.h"
#include "node/init_checks.h"

/* ---- reputed run's start-up checks ---------------------------------------------------- */

/* A folder or file of the datadir that no other user can change: owned by
 * this user (or, with root_ok, by root, who can change anything anyway),
 * and not writable by group or others. The message says the fix. */
static int check_owner_mode(const char *what, const char *path, const struct stat *st, int root_ok,
                            const char *mode, const char *why, char *err, size_t errlen)
{
    unsigned me = (unsigned)geteuid();
    if (st->st_uid != me && !(root_ok && st->st_uid == 0)) {
        rp_errf(err, errlen,
               "%s %s belongs to uid %u, not to this user (uid %u)%s: that user could %s; "
               "run reputed as the user that owns the datadir, or give it to this user "
               "(chown %u %s)",
               what, path, (unsigned)st->st_uid, me, root_ok ? " or root" : "", why, me, path);
        return RP_ERR_UNSAFE_PERMS;
    }
    if (st->st_mode & 022) {
        rp_errf(err, errlen,
               "%s %s is mode %04o: group and others must not be able to write to it, or they "
               "could %s (chmod %s %s)",
               what, path, (unsigned)(st->st_mode & 07777), why, st->st_uid == me ? mode : "go-w",
               path);
        return RP_ERR_UNSAFE_PERMS;
    }
    return 0;
}

/* The keys whose default can be wrong for this datadir must be in the
 * file. [validator] enabled defaults to false, which is right for a
 * follower, but next to a validator key it would turn a validator into a
 * follower without a word when the conf loses the line (an empty or
 * truncated file). Every other key's default is safe: a wrong one fails
 * loudly (a plaintext key without dev_plaintext_key, a missing passphrase
 * source) or changes nothing that matters (limits, the log level). */
static int check_required(const char *datadir, const char *conf, const rp_config *cfg, char *err,
                          size_t errlen)
{
    char key[RP_CONFIG_PATH_MAX];
    struct stat st;
    if (!rp_config_is_set(cfg, "validator", "enabled") &&
        rp_config_path(key, sizeof key, datadir, cfg->key_file) == 0 && stat(key, &st) == 0) {
        rp_errf(err, errlen,
               "%s: [validator] enabled is not set, but the validator key %s exists: add "
               "'enabled = true' under [validator] to sign blocks with it, or 'enabled = false' "
               "to follow the chain without signing",
               conf, key);
        return RP_ERR_CONFIG;
    }
    return 0;
}

/* [node] node_key and [node] genesis name files that nothing else in run
 * reads yet: the ledger holds its own copy of the genesis, and the network
 * that will use the node key is still to come. A setting that is never
 * read cannot be wrong, so an operator who edits it learns nothing; both
 * are read and checked here instead. The node key must be a private,
 * well-formed key file. The genesis must parse and be the one the ledger
 * was created from (a missing or unreadable ledger is left to the store
 * to report). */
static int check_node_files(const char *datadir, const rp_config *cfg, char *err, size_t errlen)
{
    char path[RP_CONFIG_PATH_MAX], msg[RP_CONFIG_PATH_MAX + 200];
    unsigned char key[32];
    int rc;
    if (rp_config_path(path, sizeof path, datadir, cfg->node_key) != 0) {
        rp_errf(err, errlen, "[node] node_key: path too long");
        return -ENAMETOOLONG;
    }
    rc = rp_node_key_read(path, key, msg, sizeof msg);
    sodium_memzero(key, sizeof key);
    if (rc) {
        rp_errf(err, errlen, "%s ([node] node_key)", msg);
        return rc;
    }

    if (rp_config_path(path, sizeof path, datadir, cfg->genesis) != 0) {
        rp_errf(err, errlen, "[node] genesis: path too long");
        return -ENAMETOOLONG;
    }
    rp_genesis *g = calloc(1, sizeof *g);
    if (!g) {
        rp_errf(err, errlen, "out of memory");
        return RP_ERR_NOMEM;
    }
    rp_hash id;
    if ((rc = rp_genesis_load(g, path, msg, sizeof msg)) != 0) {
        rp_errf(err, errlen, "[node] genesis: %s", msg);
    } else if ((rc = rp_genesis_chain_id(&id, g)) != 0) {
        rp_errf(err, errlen, "[node] genesis %s: cannot encode it: %s", path, rp_strerror(rc));
    } else {
        rp_store *st = NULL;
        rp_store_error serr;
        rp_store_opts ro = {.map_size = cfg->map_size, .read_only = 1};
        if (rp_store_open(&st, datadir, &ro, &serr) == 0) {
            const rp_hash *ledger = rp_store_chain_id(st);
            if (!rp_hash_eq(&id, ledger)) {
                char a[65], b[65];
                rp_hex_encode(a, sizeof a, id.bytes, 32);
                rp_hex_encode(b, sizeof b, ledger->bytes, 32);
                rp_errf(err, errlen,
                       "[node] genesis %s is chain '%s' (id %.16s...), but the ledger in %s is "
                       "chain id %.16s...: point [node] genesis at the genesis this datadir was "
                       "created from",
                       path, g->chain_name, a, datadir, b);
                rc = RP_ERR_CHAIN_MISMATCH;
            }
            rp_store_close(st);
        }
    }
    free(g);
    return rc;
}

int rp_node_load_config(const char *datadir, rp_config *cfg, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    int rc;
    rp_node_errors_register();
    rp_config_defaults(cfg);
    if (!datadir || !datadir[0]) {
        rp_errf(err, errlen, "a datadir is required");
        return RP_ERR_INVALID_ARG;
    }
    if ((rc = rp_crypto_init()) != 0) { /* the genesis's chain id is a tagged hash */
        rp_errf(err, errlen, "cannot start the crypto library: %s", rp_strerror(rc));
        return rc;
    }

    /* The folder: ours, and nobody else may add, remove or replace what
     * is in it (reputed.conf, the keys, the ledger, the socket). */
    if (stat(datadir, &st) != 0) {
        rc = -errno;
        if (rc == -ENOENT)
            rp_errf(err, errlen, "%s does not exist: create a datadir with 'reputed init'", datadir);
        else
            rp_errf(err, errlen, "cannot use %s: %s", datadir, rp_strerror(rc));
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        rp_errf(err, errlen, "%s is not a folder: give --datadir the folder 'reputed init' made",
               datadir);
        return -ENOTDIR;
    }
    if ((rc = check_owner_mode("datadir", datadir, &st, 0, "700",
                               "replace its config, keys or socket", err, errlen)) != 0 ||
        (rc = rp_init_check_marker(datadir, err, errlen)) != 0 ||
        (rc = rp_init_check_socket_path(datadir, err, errlen)) != 0)
        return rc;

    /* The config names the key files: only we (or root) may change it. */
    if (snprintf(path, sizeof path, "%s/reputed.conf", datadir) >= (int)sizeof path) {
        rp_errf(err, errlen, "datadir path too long: %s", datadir);
        return -ENAMETOOLONG;
    }
    if (stat(path, &st) != 0 && errno == ENOENT) {
        rp_errf(err, errlen, "%s not found: is %s a datadir? Create one with 'reputed init'", path,
               datadir);
        return -ENOENT;
    }
    if (S_ISREG(st.st_mode) &&
        (rc = check_owner_mode("config", path, &st, 1, "600", "point the node at other keys", err,
                               errlen)) != 0)
        return rc;
    if ((rc = rp_config_load(cfg, path, err, errlen)) != 0 ||
        (rc = check_required(datadir, path, cfg, err, errlen)) != 0 ||
        (rc = check_node_files(datadir, cfg, err, errlen)) != 0) {
        rp_config_defaults(cfg);
        return rc;
    }

    /* The ledger folder: a missing one is the store's to report. */
    if (snprintf(path, sizeof path, "%s/ledger", datadir) < (int)sizeof path &&
        stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
        (rc = check_owner_mode("ledger folder", path, &st, 0, "700", "replace the chain", err,
                               errlen)) != 0)
        return rc;
    if (errlen)
        err[0] = '\0';
    return 0;
}
