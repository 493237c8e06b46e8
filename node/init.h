/* `reputed init`: create a datadir, and load the validator key for `run`.
 *
 * A datadir holds (docs/operators.md):
 *
 *   reputed.conf     the config (node/config.h), documented key by key
 *   genesis.json     the chain's genesis, copied (--genesis) or written (--dev)
 *   node.key         the node's network identity: 32 random bytes in hex,
 *                    plaintext by design (like Tendermint's node_key)
 *   validator.key    a validator's secret key: encrypted (docs/keys.md), or
 *                    for --dev a PLAINTEXT dev key
 *   dev-anchor.key   --dev only: the dev chain's pre-trusted identity,
 *                    encrypted with the EMPTY passphrase
 *   ledger/          the LMDB ledger (ledger/store.h)
 *
 * The folder is mode 0700 and every file in it 0600, created with O_EXCL
 * and fsynced: init never overwrites anything. If a step fails, what the
 * earlier steps created is removed again, so a failed init leaves the
 * folder as it found it.
 *
 * An init that is killed (SIGKILL, a power cut) cannot clean up. So the
 * first file init writes is DIR/init.incomplete (RP_INIT_MARKER), and the
 * last thing it does is remove it, after reputed.conf: while the marker is
 * there, init, repute-gen and `reputed run` refuse the folder with one
 * message (RP_ERR_UNFINISHED), "DIR: an interrupted reputed init
 * (DIR/init.incomplete is still there); remove DIR, or everything in it,
 * and run reputed init again".
 * Building in a temporary folder and renaming it would be atomic too, but
 * cannot work for a datadir that exists already and whose parent the user
 * may not write (systemd's StateDirectory, a mount point).
 *
 * Passphrases. A validator key file's passphrase is looked for in this
 * order, the first that is present winning:
 *   1. a systemd credential: $CREDENTIALS_DIRECTORY/NAME (LoadCredential=
 *      in the unit; NAME is [validator] credential, default
 *      validator-passphrase);
 *   2. a passphrase file (--passphrase-file, [validator] passphrase_file):
 *      a regular file owned by the user, mode 0600 or stricter, one
 *      trailing newline ignored;
 *   3. an environment variable ([validator] passphrase_env, default
 *      REPUTE_PASSPHRASE), taken as is;
 *   4. a prompt without echo on the terminal, when standard input is one
 *      (twice when a new key is sealed).
 * With none of them the call fails with a message listing the four.
 * Passphrase buffers are wiped with sodium_memzero on every path; nothing
 * here logs a secret.
 *
 * Call rp_crypto_init() first (rp_node_init calls it itself).
 */
#ifndef RP_INIT_H
#define RP_INIT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "node/config.h"

#define RP_DEV_CHAIN_NAME  "devnet-local"
#define RP_DEV_ANCHOR_NAME "Repute Dev Anchor"
#define RP_DEV_ANCHOR_FILE "dev-anchor.key"
#define RP_DEV_KEY_HEADER  "# repute PLAINTEXT DEV KEY - never use for a real chain"
#define RP_INIT_MARKER     "init.incomplete" /* in a datadir being created */
#define RP_PASSPHRASE_MAX  1024              /* bytes, from any source */

/* What init made, for the caller to print. */
typedef struct rp_init_result {
    char chain_name[65];
    rp_hash chain_id;
    uint64_t height;            /* 0, or 1 for --dev (the anchor's IDENTITY) */
    int has_validator;          /* a validator key was written */
    rp_pubkey validator;        /* its public key */
    int validator_in_genesis;   /* it is in the genesis validator set ([validator] enabled) */
    int has_anchor;             /* --dev */
    rp_pubkey anchor;           /* the dev chain's pre-trusted, registered identity */
    char passphrase_source[96]; /* where the validator passphrase came from, or "" */
} rp_init_result;

typedef struct rp_init_opts {
    const char *datadir;         /* required: created with mode 0700, or an
                                    existing empty folder (set to 0700) */
    const char *genesis;         /* a genesis file to check and copy; or NULL with dev */
    int dev;                     /* 1: a fresh single-validator dev chain of our own */
    int validator;               /* with genesis: generate a validator key, encrypted */
    const char *validator_key;   /* with genesis: copy this existing encrypted key file
                                    (its passphrase is checked) instead; implies validator */
    const char *passphrase_file; /* NULL: none. Written to the conf for `run` */
    const char *passphrase_env;  /* NULL: REPUTE_PASSPHRASE. Written to the conf */
    uint64_t kdf_ops, kdf_mem;   /* Argon2id cost of a new validator key file;
                                    0: RP_KDF_*_MODERATE (tests pass cheaper ones) */
    rp_init_result *result;      /* if not NULL, filled on success */
} rp_init_opts;

/* Create a datadir: `reputed init`.
 * Exactly one of o->genesis and o->dev. With genesis: the file is parsed
 * (every rule of ledger/genesis.h) and copied byte for byte; with
 * validator or validator_key a validator key file is written (encrypted)
 * and [validator] enabled is set if the key is in the genesis validator
 * set. With dev: a genesis of our own (chain RP_DEV_CHAIN_NAME,
 * genesis_time now, one validator of power 1, one pre-trusted identity,
 * low proof-of-work difficulty, epochs of 10 blocks), a plaintext dev
 * validator key, the pre-trusted identity's key file (dev-anchor.key,
 * EMPTY passphrase, cheapest KDF), and block 1 registering that identity
 * as "Repute Dev Anchor" (role agent); the conf enables the validator with
 * dev_plaintext_key and a 500 ms block interval.
 * A datadir whose socket path, DIR/rpc.sock as given, would not fit a Unix
 * socket address (RP_RPC_PATH_MAX) is refused as `reputed run` refuses it.
 * Returns: 0; RP_ERR_INVALID_ARG for contradictory options; -ENAMETOOLONG
 *          for a datadir path too long for its socket; -EEXIST if the
 *          datadir holds a ledger, a reputed.conf or a file init would
 *          create; RP_ERR_UNFINISHED if it holds RP_INIT_MARKER (an
 *          interrupted init or repute-gen); -ENOTEMPTY for any other
 *          non-empty datadir;
 *          RP_ERR_GENESIS; errors of the key files, the passphrase sources
 *          (RP_ERR_KEYFILE_PERMS, -ECANCELED for an interrupted prompt,
 *          RP_ERR_INVALID_ARG for none at all or an empty one), the store
 *          and -errno. err says what and where, for an operator.
 * Out:     o->result if not NULL; err[0..errlen). */
int rp_node_init(const rp_init_opts *o, char *err, size_t errlen);

/* Load the validator's secret key for `reputed run`: cfg->key_file
 * (relative to datadir) decrypted with a passphrase from the sources above
 * (cfg->credential, cfg->passphrase_file, cfg->passphrase_env, a prompt),
 * or, with cfg->dev_plaintext_key, read as a plaintext dev key (and a
 * warning logged). Key files that group or others can access are refused.
 * Returns: 0; RP_ERR_KEYFILE_* (RP_ERR_KEYFILE_DECRYPT: wrong passphrase);
 *          RP_ERR_KEYFILE_PERMS also for a passphrase file that is too
 *          open or not the user's; RP_ERR_INVALID_ARG when no passphrase
 *          source is available; -ECANCELED; -errno. err names the file
 *          and the passphrase source.
 * Out:     sk (zeroed on failure; the caller wipes it after use), pk. */
int rp_validator_key_load(const char *datadir, const rp_config *cfg, rp_seckey *sk, rp_pubkey *pk,
                          char *err, size_t errlen);

/* What `reputed run` does first: check that datadir is a finished datadir
 * that no other user can change, and load its config.
 *   - The datadir must be a folder owned by this user that group and
 *     others cannot write (they could replace reputed.conf, a key or the
 *     socket); reputed.conf a file owned by this user or root that group
 *     and others cannot write (it names the key files); the ledger folder
 *     likewise the datadir. Read access is not checked here: key files
 *     refuse it themselves (rp_validator_key_load, rp_node_key_read).
 *   - Keys without a safe default must be in the file: [validator]
 *     enabled whenever the validator key file ([validator] key_file)
 *     exists, so that a lost line cannot make a validator a follower.
 *   - Every setting is read: [node] node_key must be a node key file
 *     (rp_node_key_read), [node] genesis a genesis file whose chain id is
 *     the ledger's.
 *   - An interrupted init (RP_INIT_MARKER) is refused as init refuses it.
 *   - DIR/rpc.sock must fit in a Unix socket address (RP_RPC_PATH_MAX).
 * Every message names the path and the fix ("chmod 700 DIR").
 * Returns: 0; RP_ERR_UNSAFE_PERMS; RP_ERR_UNFINISHED; -ENAMETOOLONG;
 *          RP_ERR_KEYFILE_* for the node key; RP_ERR_GENESIS, or
 *          RP_ERR_CHAIN_MISMATCH for another chain's genesis;
 *          -ENOENT (no datadir, or no reputed.conf in it); -ENOTDIR;
 *          RP_ERR_CONFIG and the other errors of rp_config_load;
 *          RP_ERR_INVALID_ARG without a datadir; -errno.
 * Out:     cfg (the defaults on failure); err[0..errlen). */
int rp_node_load_config(const char *datadir, rp_config *cfg, char *err, size_t errlen);

/* Read a node key file (node.key): comment lines starting with '#' and one
 * line of 64 hex digits; the file must be a regular file that group and
 * others cannot access.
 * Returns: 0; RP_ERR_KEYFILE_PERMS; RP_ERR_KEYFILE_FORMAT; -errno.
 * Out:     key: 32 bytes (zeroed on failure; a secret: wipe after use). */
int rp_node_key_read(const char *path, unsigned char key[static 32], char *err, size_t errlen);

/* For tests only: if not NULL, rp_node_init calls it after each step that
 * changes the disk, with the step's name ("datadir", "marker", "genesis.json",
 * "node.key", "validator.key", "dev-anchor.key", "ledger", "block 1",
 * "reputed.conf", "done"), so that a test can stop the process there
 * (SIGKILL) and look at what an interrupted init leaves. Programs leave
 * it NULL. */
extern void (*rp_init_test_hook)(const char *step);

/* ---- for tools that build a datadir's ledger themselves (repute-gen) ---- */

/* Check, without changing anything, that a folder can become a datadir:
 * missing, or an empty folder of this user's (lost+found aside), as
 * rp_node_init requires, and with a socket path run can bind.
 * Returns: 0; -ENAMETOOLONG if DIR/rpc.sock is longer than
 *          RP_RPC_PATH_MAX; -EEXIST if it holds a ledger, a reputed.conf
 *          or a file init writes; RP_ERR_UNFINISHED if it holds
 *          RP_INIT_MARKER (an interrupted init); -ENOTEMPTY if it holds
 *          anything else; -ENOTDIR; -EPERM if it is another user's;
 *          RP_ERR_INVALID_ARG without a datadir; -errno. err names the
 *          entry in the way, for an operator.
 * In:      who: the program, for messages ("init", "repute-gen"). */
int rp_init_check_datadir(const char *datadir, const char *who, char *err, size_t errlen);

/* Mark a datadir as being created, before anything else is written in it,
 * as rp_node_init does: DIR/RP_INIT_MARKER is created (O_EXCL, mode 0600,
 * fsynced, then the folder), its first line writer. Until
 * rp_init_mark_done, init, repute-gen and run refuse the folder with
 * RP_ERR_UNFINISHED and a message that names writer ("an interrupted
 * repute-gen ...; remove DIR, or everything in it, and run repute-gen
 * again"), so a tool killed halfway leaves a folder that says so.
 * Returns: 0; -EEXIST if a marker is there already; RP_ERR_INVALID_ARG;
 *          -errno. err says what and where.
 * In:      datadir: an existing folder; writer: the command to run again
 *          ("repute-gen"). */
int rp_init_mark_begin(const char *datadir, const char *writer, char *err, size_t errlen);

/* The datadir is complete: remove the marker and fsync the folder. Call it
 * last, after rp_init_dev_files.
 * Returns: 0; -ENOENT without a marker; -errno. */
int rp_init_mark_done(const char *datadir, char *err, size_t errlen);

/* Write what `reputed init --dev` writes besides its ledger and its anchor
 * key, into a datadir whose ledger the caller has made, so that
 * `reputed run --datadir DIR` serves it at once:
 *   genesis.json   g, as rp_genesis_to_json prints it
 *   node.key       a fresh random node key
 *   validator.key  validator as a PLAINTEXT dev key (RP_DEV_KEY_HEADER and
 *                  a warning naming writer)
 *   reputed.conf   the defaults, with [validator] enabled on that key
 *                  (dev_plaintext_key) and block_interval_ms taken from g;
 *                  written last, as it marks a finished datadir
 * The folder is created if missing and set to mode 0700; every file is new
 * (O_EXCL, never replacing one), mode 0600 and fsynced, then the folder.
 * If a step fails, the files written before it are removed again. The
 * ledger is neither read nor checked: that its genesis is g is the
 * caller's promise.
 * Returns: 0; RP_ERR_INVALID_ARG if validator is not a validator of g
 *          holding a quorum alone (a node could not make blocks); -EEXIST
 *          if one of the files exists; RP_ERR_NOMEM; -errno. err says what
 *          and where.
 * In:      writer: who wrote the files, for the key file's warning
 *          ("repute-gen"). */
int rp_init_dev_files(const char *datadir, const rp_genesis *g, const rp_seckey *validator,
                      const char *writer, char *err, size_t errlen);

#endif /* RP_INIT_H */
