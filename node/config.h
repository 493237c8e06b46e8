/* DATADIR/reputed.conf: the node's one configuration file (INI, read with
 * inih). Every key, its default and its meaning are in
 * configs/reputed.conf.example; docs/operators.md explains them.
 *
 * Parsing is strict, because a typo in a config file must never silently do
 * something else: an unknown section or key, a malformed value, a value out
 * of range, a duplicate key or a line longer than RP_CONFIG_MAX_LINE (inih
 * would silently split it) is an error naming the file and line number.
 */
#ifndef RP_CONFIG_H
#define RP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/engine.h"
#include "node/errors.h"
#include "node/log.h"
#include "p2p/endpoint.h"

#define RP_CONFIG_MAX_LINE 200 /* inih's INI_MAX_LINE, including the newline */
#define RP_CONFIG_PATH_MAX 4096
#define RP_CONFIG_MAX_PEERS 32 /* persistent_peer lines, and seed lines */

/* A key that may be given on several lines, one value per line. */
typedef struct rp_config_list {
    uint32_t n;
    char v[RP_CONFIG_MAX_PEERS][RP_ENDPOINT_TEXT_MAX + 1];
} rp_config_list;

typedef struct rp_config {
    /* [node] */
    enum rp_log_level log_level;     /* log_level = info */
    uint64_t map_size;               /* map_size_gib = 64 (bytes here) */
    char genesis[RP_CONFIG_PATH_MAX]; /* genesis = genesis.json (relative to the datadir) */
    char node_key[RP_CONFIG_PATH_MAX];/* node_key = node.key */

    /* [rpc] */
    uint32_t rpc_max_connections;    /* max_connections = 256 */
    uint32_t rpc_max_line;           /* max_line = 1048576 */
    uint32_t rpc_max_batch;          /* max_batch = 100 */
    uint32_t rpc_max_inflight;       /* max_inflight = 64 */

    /* [mempool] */
    uint32_t mempool_max_count;      /* max_count = 20000 */
    uint64_t mempool_max_bytes;      /* max_bytes = 16777216 */
    uint32_t mempool_max_gap;        /* max_gap = 16 */

    /* [validator] */
    int validator;                   /* enabled = false */
    char key_file[RP_CONFIG_PATH_MAX];/* key_file = validator.key */
    int dev_plaintext_key;           /* dev_plaintext_key = false: key_file is a plain dev key */
    char passphrase_file[RP_CONFIG_PATH_MAX]; /* passphrase_file = (empty) */
    char passphrase_env[64];         /* passphrase_env = REPUTE_PASSPHRASE */
    char credential[64];             /* credential = validator-passphrase ($CREDENTIALS_DIRECTORY/NAME) */
    uint32_t block_interval_ms;      /* block_interval_ms = 1000 */

    /* [p2p] (docs/p2p.md; endpoints as p2p/endpoint.h parses them) */
    char p2p_listen[RP_ENDPOINT_TEXT_MAX + 1]; /* listen = 0.0.0.0:27650; empty: none */
    rp_config_list p2p_persistent;   /* persistent_peer = ID@host:port (repeatable) */
    rp_config_list p2p_seeds;        /* seed = ID@host:port (repeatable) */
    uint32_t p2p_max_outbound;       /* max_outbound = 8 */
    uint32_t p2p_max_inbound;        /* max_inbound = 32 */

    /* [consensus] (docs/consensus.md): propose_ms = 3000, propose_delta_ms =
     * 500, prevote_ms = 1000, prevote_delta_ms = 500, precommit_ms = 1000,
     * precommit_delta_ms = 500, commit_ms = 1000 */
    rp_cs_timeouts consensus;

    /* [metrics] (docs/operators.md, "Metrics") */
    char metrics_listen[RP_ENDPOINT_TEXT_MAX + 1]; /* listen = (empty: off) */
    int metrics_allow_remote;        /* allow_remote = false: listen must be loopback */

    /* Which keys the file set (one bit per key of the table in config.c):
     * read it with rp_config_is_set, never directly. */
    uint64_t set_keys;
} rp_config;

/* Fill cfg with the defaults above. */
void rp_config_defaults(rp_config *cfg);

/* Read a config file over the defaults.
 * Returns: 0; -ENOENT and the other -errno of opening it; RP_ERR_CONFIG with
 *          errbuf saying "PATH:LINE: what is wrong".
 * Out:     cfg (unchanged fields keep their defaults). */
int rp_config_load(rp_config *cfg, const char *path, char *errbuf, size_t errlen);

/* Did the file set this key, rather than leave it at its default?
 * For keys whose default is wrong for some datadirs (a validator's
 * [validator] enabled), so that their absence can be an error.
 * Returns: 1 if the last rp_config_load or rp_config_parse that filled cfg
 *          read the key from the file; 0 if it kept its default, after
 *          rp_config_defaults, or for a key that does not exist.
 * In:      section, name: as in the file ("validator", "enabled"). */
int rp_config_is_set(const rp_config *cfg, const char *section, const char *name);

/* Resolve a path from the config against the datadir: absolute paths are
 * kept, relative ones are joined to datadir. Returns: 0, or -ENAMETOOLONG. */
int rp_config_path(char *out, size_t cap, const char *datadir, const char *path);

/* Parse config text held in memory, with every rule of rp_config_load.
 * Returns: 0; RP_ERR_CONFIG with errbuf saying "NAME:LINE: what is wrong";
 *          RP_ERR_NOMEM. On failure cfg holds the defaults.
 * In:      name: the file name for messages; text, len: the contents
 *          (need not be NUL-terminated). */
int rp_config_parse(rp_config *cfg, const char *name, const char *text, size_t len,
                    char *errbuf, size_t errlen);

/* Write cfg as a complete, documented config file: every section and key
 * with its meaning, range and default in comments, and cfg's value.
 * configs/reputed.conf.example is exactly this text for the defaults (a
 * test keeps them equal), and `reputed init` writes it into the datadir.
 * Returns: a malloc'd NUL-terminated string (the caller frees it), or NULL
 *          if out of memory. A path too long for one line (see
 *          RP_CONFIG_MAX_LINE) gives a text rp_config_parse refuses: writers
 *          parse the text back before saving it. */
char *rp_config_format(const rp_config *cfg);

#endif /* RP_CONFIG_H */
