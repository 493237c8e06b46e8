/* DATADIR/reputed.conf: reading, checking and writing the node's config.
 *
 * Every key lives in one table below: its section, name, type, range,
 * default (as the text a file would hold, so defaults go through the same
 * parser as the file) and the comment that documents it. rp_config_defaults,
 * the parser, rp_config_format (which writes configs/reputed.conf.example and
 * the file `reputed init` creates) and the "known keys" hints in error
 * messages all walk that table, so a key cannot be documented one way and
 * parsed another.
 *
 * inih does the INI syntax, but it is lenient where a config must not be: it
 * splits lines longer than its buffer into two silently, takes an indented
 * line as the continuation of the previous value, never reports a section
 * without keys, and does not tell its handler the line number. So the file
 * is read whole and pre-scanned first (line length, NUL bytes, indentation,
 * section headers), and inih reads it through a reader callback that hands
 * it one line at a time and counts them, which gives every handler error
 * its exact line.
 */
#include "node/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"

#define MAX_FILE (1u << 20) /* a config file is a few KiB; refuse megabytes unread */
#define GIB      (1ULL << 30)

enum kind {
    K_BOOL,  /* int: true/false */
    K_U32,   /* uint32_t */
    K_U64,   /* uint64_t */
    K_GIB,   /* uint64_t bytes, written in GiB */
    K_LEVEL, /* enum rp_log_level */
    K_PATH,  /* char[size]; empty allowed if min == 0 */
    K_ENV,   /* char[size]: an environment variable name, or empty */
    K_CRED,  /* char[size]: a systemd credential name, or empty */
    K_LISTEN, /* char[size]: host:port to listen on (port 0: any), or empty */
    K_PEERS, /* rp_config_list of ID@host:port, one per line, repeatable */
};

struct key {
    const char *section, *name;
    enum kind kind;
    size_t off, size;
    uint64_t min, max; /* integers: the range; K_PATH: min 1 = required */
    const char *def;   /* the default, as file text */
    const char *doc;   /* comment lines for rp_config_format, '\n'-separated */
};

#define F(field) offsetof(rp_config, field), sizeof(((rp_config *)0)->field)

static const char *const sections[] = {"node",      "rpc",       "mempool",
                                        "validator", "p2p",       "consensus",
                                        "metrics"};
#define NSECTIONS (sizeof sections / sizeof sections[0])

static const char *const section_docs[] = {
    "The node itself.",
    "The JSON-RPC server on DATADIR/rpc.sock (docs/rpc.md).",
    "Records waiting for a block.",
    ("Block production. Only a node whose key is in the genesis validator set\n"
     "signs blocks; every other node follows the chain."),
    ("The peer-to-peer network (docs/p2p.md). Peers are written ID@host:port:\n"
     "ID is the peer's node key (64 hex digits, `repute-cli info` shows it as\n"
     "node_id), host an IPv4 address, an IPv6 address in brackets or a DNS name."),
    ("Consensus on a chain of several validators (docs/consensus.md). Timeouts\n"
     "grow by their delta each round; every validator should use the same."),
    ("Prometheus metrics over HTTP (docs/operators.md, \"Metrics\"): GET /metrics\n"
     "answers the node's figures in the text exposition format. Off by default."),
};

static const struct key keys[] = {
    {"node", "log_level", K_LEVEL, F(log_level), 0, 0, "info",
     "Lowest level of log lines written to stderr: debug, info, warn or error."},
    {"node", "map_size_gib", K_GIB, F(map_size), 1, 1024, "64",
     "Address space reserved for the ledger, in GiB (1..1024). It is not disk:\n"
     "the file grows with the chain. If the node stops with \"map full\",\n"
     "nothing is lost: raise this and start it again."},
    {"node", "genesis", K_PATH, F(genesis), 1, 0, "genesis.json",
     "The genesis file the datadir was created from; the node checks at start\n"
     "that it is its ledger's. Relative paths are relative to the datadir (as\n"
     "for every path below)."},
    {"node", "node_key", K_PATH, F(node_key), 1, 0, "node.key",
     "This node's network identity key: 32 random bytes in hex, mode 0600\n"
     "(checked at start). Plaintext by design (like Tendermint's node_key): it\n"
     "names the node to its peers and signs nothing on chain."},

    {"rpc", "max_connections", K_U32, F(rpc_max_connections), 1, 65536, "256",
     "Most clients connected at once (1..65536); one more gets an error and\n"
     "is closed."},
    {"rpc", "max_line", K_U32, F(rpc_max_line), 4096, 16777216, "1048576",
     "Longest request line in bytes (4096..16777216); a longer one is\n"
     "answered with an error."},
    {"rpc", "max_batch", K_U32, F(rpc_max_batch), 1, 10000, "100",
     "Most requests in one batch (1..10000)."},
    {"rpc", "max_inflight", K_U32, F(rpc_max_inflight), 1, 4096, "64",
     "Requests of one connection in hand at once (1..4096); beyond it the node\n"
     "stops reading that connection until its answers drain."},

    {"mempool", "max_count", K_U32, F(mempool_max_count), 1, 10000000, "20000",
     "Most records waiting (1..10000000); when full, new ones are refused\n"
     "with an error rather than the pool growing."},
    {"mempool", "max_bytes", K_U64, F(mempool_max_bytes), 65536, 17179869184ULL, "16777216",
     "Most bytes of records waiting (65536..17179869184)."},
    {"mempool", "max_gap", K_U32, F(mempool_max_gap), 0, 1000, "16",
     "How far ahead of an issuer's next sequence number a record may arrive\n"
     "and be held until the gap fills (0..1000); further ahead is refused."},

    {"validator", "enabled", K_BOOL, F(validator), 0, 1, "false",
     "true: sign and produce blocks with key_file. Required whenever key_file\n"
     "exists, so that a conf that lost this line cannot quietly turn a\n"
     "validator into a follower."},
    {"validator", "key_file", K_PATH, F(key_file), 1, 0, "validator.key",
     "The validator's secret key: a key file encrypted with a passphrase\n"
     "(docs/keys.md), or with dev_plaintext_key a plaintext dev key."},
    {"validator", "dev_plaintext_key", K_BOOL, F(dev_plaintext_key), 0, 1, "false",
     "true: key_file is a PLAINTEXT dev key (reputed init --dev). Never for a\n"
     "real chain: anyone who reads the file can sign as this validator."},
    {"validator", "passphrase_file", K_PATH, F(passphrase_file), 0, 0, "",
     "A file holding key_file's passphrase (one trailing newline ignored): a\n"
     "regular file of yours, mode 0600 or stricter. Empty: none.\n"
     "The passphrase is looked for in this order: the systemd credential,\n"
     "this file, the environment variable, a prompt on a terminal."},
    {"validator", "passphrase_env", K_ENV, F(passphrase_env), 0, 0, "REPUTE_PASSPHRASE",
     "An environment variable holding the passphrase. Empty: none."},
    {"validator", "credential", K_CRED, F(credential), 0, 0, "validator-passphrase",
     "A systemd credential holding the passphrase, read from\n"
     "$CREDENTIALS_DIRECTORY/NAME (LoadCredential=NAME:/etc/repute/FILE in\n"
     "the unit, configs/systemd/reputed.service). Empty: none."},
    {"validator", "block_interval_ms", K_U32, F(block_interval_ms), 100, 600000, "1000",
     "Time between the blocks this validator makes, in milliseconds\n"
     "(100..600000)."},

    {"p2p", "listen", K_LISTEN, F(p2p_listen), 0, 0, "0.0.0.0:27650",
     "Address and TCP port peers connect to: 0.0.0.0:PORT for every IPv4\n"
     "address, [::]:PORT for IPv6 (and IPv4 where the system maps it), port 0\n"
     "for any free port (node.info shows it). Empty: accept no peers; the node\n"
     "still dials out."},
    {"p2p", "persistent_peer", K_PEERS, F(p2p_persistent), 0, 0, "",
     "A peer to stay connected to (ID@host:port), one line each, at most 32:\n"
     "dialed again whenever it drops, never counted against max_outbound and\n"
     "never discouraged. Validators list each other here."},
    {"p2p", "seed", K_PEERS, F(p2p_seeds), 0, 0, "",
     "A node that introduces this one to the network (ID@host:port), one line\n"
     "each, at most 32: dialed when the address book has too few addresses."},
    {"p2p", "max_outbound", K_U32, F(p2p_max_outbound), 0, 64, "8",
     "Peers this node dials on its own (0..64), besides persistent peers."},
    {"p2p", "max_inbound", K_U32, F(p2p_max_inbound), 0, 1024, "32",
     "Peers that may connect to this node at once (0..1024); when full, a new\n"
     "one may take the place of the least useful (docs/p2p.md, \"Eviction\")."},

    {"consensus", "propose_ms", K_U32, F(consensus.propose_ms), 10, 600000, "3000",
     "How long a round waits for its proposal, in milliseconds (10..600000)."},
    {"consensus", "propose_delta_ms", K_U32, F(consensus.propose_delta_ms), 0, 600000, "500",
     "Added to propose_ms for each round after the first (0..600000)."},
    {"consensus", "prevote_ms", K_U32, F(consensus.prevote_ms), 10, 600000, "1000",
     "How long a round waits for more prevotes once 2/3 arrived, mixed (10..600000)."},
    {"consensus", "prevote_delta_ms", K_U32, F(consensus.prevote_delta_ms), 0, 600000, "500",
     "Added to prevote_ms for each round after the first (0..600000)."},
    {"consensus", "precommit_ms", K_U32, F(consensus.precommit_ms), 10, 600000, "1000",
     "How long a round waits for more precommits once 2/3 arrived, mixed\n"
     "(10..600000)."},
    {"consensus", "precommit_delta_ms", K_U32, F(consensus.precommit_delta_ms), 0, 600000, "500",
     "Added to precommit_ms for each round after the first (0..600000)."},
    {"consensus", "commit_ms", K_U32, F(consensus.commit_ms), 0, 600000, "1000",
     "After a block is committed, how long before the next height starts on\n"
     "its own (late precommits still count; a peer's proposal starts it at\n"
     "once) (0..600000)."},

    {"metrics", "listen", K_LISTEN, F(metrics_listen), 0, 0, "",
     "Address and TCP port of the metrics endpoint, such as 127.0.0.1:9464\n"
     "(port 0: any free port; node.info shows it). Empty: no endpoint. It has\n"
     "no authentication and no TLS, so it must be a loopback address (127.x.x.x,\n"
     "[::1]) unless allow_remote is true."},
    {"metrics", "allow_remote", K_BOOL, F(metrics_allow_remote), 0, 1, "false",
     "true: let listen be any address. Anyone who can reach it then reads the\n"
     "node's figures (heights, peers, mempool, validators' signing record);\n"
     "firewall it to the Prometheus server."},
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= 64, "rp_config.set_keys has a bit per key");

/* ---- values ------------------------------------------------------------------ */

/* Copy s for a message: printable ASCII only, cut at 40 characters. */
static const char *shown(char out[48], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 40; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i])
        out[i - 3] = out[i - 2] = out[i - 1] = '.';
    out[i] = '\0';
    return out;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int env_name_ok(const char *s)
{
    if (!*s)
        return 1;
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static int cred_name_ok(const char *s)
{
    if (!*s)
        return 1;
    if (!strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.' || *s == '@' || *s == ':'))
            return 0;
    return 1;
}

/* Set one key from its text. Returns: 0, or -1 with msg describing why. */
static int set_value(rp_config *cfg, const struct key *k, const char *v, char *msg, size_t cap)
{
    char *p = (char *)cfg + k->off;
    char sv[48];
    size_t n = strlen(v);
    uint64_t x;
    switch (k->kind) {
    case K_BOOL:
        if (!strcmp(v, "true"))
            *(int *)(void *)p = 1;
        else if (!strcmp(v, "false"))
            *(int *)(void *)p = 0;
        else {
            snprintf(msg, cap, "%s: must be true or false, not '%s'", k->name, shown(sv, v));
            return -1;
        }
        return 0;
    case K_U32:
    case K_U64:
    case K_GIB:
        if (parse_u64(v, &x) != 0 || x < k->min || x > k->max) {
            snprintf(msg, cap, "%s: must be an integer in %llu..%llu, not '%s'", k->name,
                     (unsigned long long)k->min, (unsigned long long)k->max, shown(sv, v));
            return -1;
        }
        if (k->kind == K_U32)
            *(uint32_t *)(void *)p = (uint32_t)x;
        else
            *(uint64_t *)(void *)p = k->kind == K_GIB ? x * GIB : x;
        return 0;
    case K_LEVEL: {
        enum rp_log_level l;
        if (rp_log_parse_level(v, &l) != 0) {
            snprintf(msg, cap, "%s: must be debug, info, warn or error, not '%s'", k->name,
                     shown(sv, v));
            return -1;
        }
        *(enum rp_log_level *)(void *)p = l;
        return 0;
    }
    case K_PATH:
        if (k->min && !n) {
            snprintf(msg, cap, "%s: must not be empty", k->name);
            return -1;
        }
        for (const char *c = v; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                snprintf(msg, cap, "%s: control characters are not allowed in a path", k->name);
                return -1;
            }
        break;
    case K_LISTEN:
        if (n) {
            rp_endpoint e;
            const char *why;
            if (rp_endpoint_parse(&e, v, -1, 1, &why) != 0 || e.kind == RP_ENDPOINT_NAME) {
                snprintf(msg, cap, "%s: '%s': %s", k->name, shown(sv, v),
                         why ? why : "listen on an IP address, not a name");
                return -1;
            }
        }
        break;
    case K_PEERS: {
        rp_config_list *l = (rp_config_list *)(void *)p;
        rp_endpoint e;
        const char *why;
        if (rp_endpoint_parse(&e, v, 1, 0, &why) != 0) {
            snprintf(msg, cap, "%s: '%s': %s", k->name, shown(sv, v), why);
            return -1;
        }
        if (n >= sizeof l->v[0]) {
            snprintf(msg, cap, "%s: longer than %zu characters", k->name, sizeof l->v[0] - 1);
            return -1;
        }
        for (uint32_t i = 0; i < l->n; i++)
            if (!strcmp(l->v[i], v)) {
                snprintf(msg, cap, "%s: '%s' is listed twice", k->name, shown(sv, v));
                return -1;
            }
        if (l->n >= RP_CONFIG_MAX_PEERS) {
            snprintf(msg, cap, "%s: at most %d lines", k->name, RP_CONFIG_MAX_PEERS);
            return -1;
        }
        memcpy(l->v[l->n++], v, n + 1);
        return 0;
    }
    case K_ENV:
        if (!env_name_ok(v)) {
            snprintf(msg, cap,
                     "%s: must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*) or "
                     "empty, not '%s'",
                     k->name, shown(sv, v));
            return -1;
        }
        break;
    case K_CRED:
        if (!cred_name_ok(v)) {
            snprintf(msg, cap,
                     "%s: must be a credential name ([A-Za-z0-9_.@:-], no '/') or empty, not "
                     "'%s'",
                     k->name, shown(sv, v));
            return -1;
        }
        break;
    }
    if (n >= k->size) {
        snprintf(msg, cap, "%s: longer than %zu characters", k->name, k->size - 1);
        return -1;
    }
    memcpy(p, v, n + 1);
    return 0;
}

void rp_config_defaults(rp_config *cfg)
{
    rp_node_errors_register();
    char msg[160];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].kind == K_PEERS)
            continue; /* lists start empty */
        int rc = set_value(cfg, &keys[i], keys[i].def, msg, sizeof msg);
        (void)rc; /* the table's defaults are valid (tests/test_config.c checks) */
    }
}

/* ---- parsing ----------------------------------------------------------------- */

struct parser {
    const char *name; /* for messages */
    const char *text; /* the whole file */
    size_t len, pos;
    int line; /* lines handed to inih so far */
    rp_config cfg;
    int set_line[NKEYS];         /* line a key was set on, 0 if not yet */
    int section_line[NSECTIONS]; /* line of a section header, 0 if not seen */
    int err_line;                /* first error, 0 if none */
    char err[512];
};

static void fail(struct parser *P, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parser *P, int line, const char *fmt, ...)
{
    if (P->err_line)
        return;
    P->err_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err, sizeof P->err, fmt, ap);
    va_end(ap);
}

static int section_index(const char *s, size_t n)
{
    for (size_t i = 0; i < NSECTIONS; i++)
        if (strlen(sections[i]) == n && !strncmp(sections[i], s, n))
            return (int)i;
    return -1;
}

static void known_keys(char *out, size_t cap, const char *section)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NKEYS && o < cap; i++)
        if (!strcmp(keys[i].section, section)) {
            int n = snprintf(out + o, cap - o, "%s%s", o ? ", " : "", keys[i].name);
            if (n < 0)
                break;
            o += (size_t)n;
        }
}

/* Check the raw text line by line before inih sees it: what inih would
 * silently misread is refused here, with its line number. Section headers
 * are checked here too, since inih reports nothing for a section that has
 * no keys. */
static int prescan(struct parser *P)
{
    size_t pos = 0;
    int line = 0;
    if (P->len >= 3 && !memcmp(P->text, "\xEF\xBB\xBF", 3))
        pos = 3; /* a UTF-8 byte order mark, which inih skips too */
    while (pos < P->len) {
        const char *s = P->text + pos;
        const char *nl = memchr(s, '\n', P->len - pos);
        size_t n = nl ? (size_t)(nl - s) : P->len - pos;
        pos += n + (nl != NULL);
        line++;
        if (memchr(s, '\0', n)) {
            fail(P, line, "contains a NUL byte");
            return -1;
        }
        if (n && s[n - 1] == '\r')
            n--;
        if (n > RP_CONFIG_MAX_LINE - 1) {
            fail(P, line, "line is %zu characters long; the limit is %d", n,
                 RP_CONFIG_MAX_LINE - 1);
            return -1;
        }
        size_t i = 0;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n || s[i] == '#' || s[i] == ';')
            continue; /* blank or a comment */
        if (i > 0) {
            fail(P, line,
                 "indented line: continuation lines are not supported; start keys and "
                 "sections at the beginning of the line");
            return -1;
        }
        if (s[0] == '[') {
            const char *close = memchr(s, ']', n);
            if (!close) {
                fail(P, line, "section header without ']'");
                return -1;
            }
            size_t rest = (size_t)(s + n - close - 1), k = 0;
            const char *after = close + 1;
            while (k < rest && (after[k] == ' ' || after[k] == '\t'))
                k++;
            if (k < rest && after[k] != ';' && after[k] != '#') {
                fail(P, line, "unexpected text after the section header");
                return -1;
            }
            char name[48];
            size_t nlen = (size_t)(close - s - 1);
            int idx = section_index(s + 1, nlen);
            if (idx < 0) {
                memcpy(name, s + 1, nlen < 40 ? nlen : 40);
                name[nlen < 40 ? nlen : 40] = '\0';
                char sv[48];
                fail(P, line,
                     "unknown section [%s] (known: [node], [rpc], [mempool], [validator], [p2p], "
                     "[consensus], [metrics])",
                     shown(sv, name));
                return -1;
            }
            if (P->section_line[idx]) {
                fail(P, line, "section [%s] appears twice (first on line %d)", sections[idx],
                     P->section_line[idx]);
                return -1;
            }
            P->section_line[idx] = line;
        }
    }
    return 0;
}

/* inih's fgets-like reader: one line of the text per call, without its
 * terminator (the pre-scan guarantees it fits). Counting calls gives the
 * line number inih is on when it calls the handler. */
static char *reader(char *str, int num, void *stream)
{
    struct parser *P = stream;
    if (P->pos >= P->len || P->err_line)
        return NULL;
    size_t start = P->pos;
    if (start == 0 && P->len >= 3 && !memcmp(P->text, "\xEF\xBB\xBF", 3))
        start = 3;
    const char *s = P->text + start;
    const char *nl = memchr(s, '\n', P->len - start);
    size_t n = nl ? (size_t)(nl - s) : P->len - start;
    P->pos = start + n + (nl != NULL);
    P->line++;
    if (n && s[n - 1] == '\r')
        n--;
    if (num <= 0 || n >= (size_t)num) /* cannot happen after the pre-scan */
        n = num > 0 ? (size_t)num - 1 : 0;
    memcpy(str, s, n);
    str[n] = '\0';
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parser *P = user;
    char msg[400], sv[48], known[200];
    if (P->err_line)
        return 0;
    if (!*section) {
        fail(P, P->line, "key '%s' before any [section]", shown(sv, name));
        return 0;
    }
    /* The pre-scan refused unknown sections. */
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
            continue;
        if (P->set_line[i] && keys[i].kind != K_PEERS) {
            fail(P, P->line, "duplicate key '%s' in [%s] (first set on line %d)", name, section,
                 P->set_line[i]);
            return 0;
        }
        if (set_value(&P->cfg, &keys[i], value, msg, sizeof msg) != 0) {
            fail(P, P->line, "%s", msg);
            return 0;
        }
        P->set_line[i] = P->line;
        P->cfg.set_keys |= UINT64_C(1) << i;
        return 1;
    }
    known_keys(known, sizeof known, section);
    fail(P, P->line, "unknown key '%s' in [%s] (known: %s)", shown(sv, name), section, known);
    return 0;
}

int rp_config_parse(rp_config *cfg, const char *name, const char *text, size_t len, char *errbuf,
                    size_t errlen)
{
    struct parser *P = calloc(1, sizeof *P);
    if (!P) {
        if (errlen)
            snprintf(errbuf, errlen, "%s: out of memory", name);
        return RP_ERR_NOMEM;
    }
    P->name = name;
    P->text = text;
    P->len = len;
    rp_config_defaults(&P->cfg);
    int rc = 0;
    if (prescan(P) == 0) {
        int bad = ini_parse_stream(reader, P, handler, P);
        if (!P->err_line && bad > 0)
            fail(P, bad, "expected '[section]', 'key = value' or a comment");
        else if (!P->err_line && bad < 0)
            fail(P, 0, "inih failed (%d)", bad);
    }
    if (P->err_line || P->err[0]) {
        if (errlen)
            snprintf(errbuf, errlen, "%s:%d: %s", name, P->err_line, P->err);
        rc = RP_ERR_CONFIG;
        rp_config_defaults(cfg);
    } else {
        *cfg = P->cfg;
        if (errlen)
            errbuf[0] = '\0';
    }
    free(P);
    return rc;
}

int rp_config_load(rp_config *cfg, const char *path, char *errbuf, size_t errlen)
{
    rp_node_errors_register();
    rp_config_defaults(cfg);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        if (errlen)
            snprintf(errbuf, errlen, "cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE) {
        int rc = S_ISDIR(st.st_mode) ? -EISDIR : RP_ERR_CONFIG;
        if (errlen)
            snprintf(errbuf, errlen, "%s:0: %s", path,
                     S_ISDIR(st.st_mode)    ? "is a folder, not a config file"
                     : !S_ISREG(st.st_mode) ? "is not a regular file"
                                            : "larger than 1 MiB: not a config file");
        close(fd);
        return rc;
    }
    char *text = malloc((size_t)st.st_size + 1);
    if (!text) {
        close(fd);
        if (errlen)
            snprintf(errbuf, errlen, "%s: out of memory", path);
        return RP_ERR_NOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, text + len, (size_t)st.st_size + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = -errno;
            if (errlen)
                snprintf(errbuf, errlen, "cannot read %s: %s", path, strerror(-rc));
            free(text);
            close(fd);
            return rc;
        }
        if (r == 0 || (len += (size_t)r) > (size_t)st.st_size)
            break;
    }
    close(fd);
    if (len > (size_t)st.st_size) { /* grew while we read it */
        if (errlen)
            snprintf(errbuf, errlen, "%s:0: changed while being read", path);
        free(text);
        return RP_ERR_CONFIG;
    }
    int rc = rp_config_parse(cfg, path, text, len, errbuf, errlen);
    free(text);
    return rc;
}

int rp_config_is_set(const rp_config *cfg, const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
            return (cfg->set_keys >> i) & 1;
    return 0;
}

int rp_config_path(char *out, size_t cap, const char *datadir, const char *path)
{
    int n = path[0] == '/' ? snprintf(out, cap, "%s", path)
                           : snprintf(out, cap, "%s/%s", datadir, path);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------------- */

struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->n) {
            b->n += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

/* Each line of a '\n'-separated text as a comment. */
static void sb_comment(struct sbuf *b, const char *text)
{
    while (*text) {
        const char *nl = strchr(text, '\n');
        int n = nl ? (int)(nl - text) : (int)strlen(text);
        sb_printf(b, "# %.*s\n", n, text);
        text += n + (nl != NULL);
    }
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void sb_value(struct sbuf *b, const rp_config *cfg, const struct key *k)
{
    const char *p = (const char *)cfg + k->off;
    switch (k->kind) {
    case K_BOOL:
        sb_printf(b, "%s", *(const int *)(const void *)p ? "true" : "false");
        break;
    case K_U32:
        sb_printf(b, "%u", (unsigned)*(const uint32_t *)(const void *)p);
        break;
    case K_U64:
        sb_printf(b, "%llu", (unsigned long long)*(const uint64_t *)(const void *)p);
        break;
    case K_GIB: {
        uint64_t v = *(const uint64_t *)(const void *)p;
        sb_printf(b, "%llu", (unsigned long long)(v / GIB + (v % GIB != 0)));
        break;
    }
    case K_LEVEL: {
        unsigned l = (unsigned)*(const enum rp_log_level *)(const void *)p;
        sb_printf(b, "%s", level_names[l < 4 ? l : 1]);
        break;
    }
    case K_PATH:
    case K_ENV:
    case K_CRED:
    case K_LISTEN:
        sb_printf(b, "%s", p);
        break;
    case K_PEERS: /* written line by line by rp_config_format */
        break;
    }
}

char *rp_config_format(const rp_config *cfg)
{
    struct sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.p)
        return NULL;
    b.p[0] = '\0';
    sb_printf(&b,
              "# reputed.conf: the configuration of one repute node (INI).\n"
              "#\n"
              "# `reputed init` writes this file into the datadir; `reputed run` reads\n"
              "# DATADIR/reputed.conf at start. Every key is listed with its meaning and\n"
              "# range; a key left out keeps its default (configs/reputed.conf.example\n"
              "# shows them all), except [validator] enabled next to a validator key.\n"
              "# Group and others must not be able to write this file (chmod 600).\n"
              "# Unknown sections and keys, duplicate keys, malformed values and lines\n"
              "# longer than %d characters are refused with the line number. Booleans\n"
              "# are true or false, integers plain decimal. Comments start with # or ;\n"
              "# at the beginning of a line. docs/operators.md explains each setting.\n",
              RP_CONFIG_MAX_LINE - 1);
    for (size_t s = 0; s < NSECTIONS; s++) {
        sb_printf(&b, "\n");
        sb_comment(&b, section_docs[s]);
        sb_printf(&b, "[%s]\n", sections[s]);
        for (size_t i = 0; i < NKEYS; i++) {
            if (strcmp(keys[i].section, sections[s]) != 0)
                continue;
            sb_printf(&b, "\n");
            sb_comment(&b, keys[i].doc);
            if (keys[i].kind == K_PEERS) {
                const rp_config_list *l =
                    (const rp_config_list *)(const void *)((const char *)cfg + keys[i].off);
                sb_printf(&b, "# Default: none. For example:\n# %s = %064d@192.0.2.7:%d\n",
                          keys[i].name, 0, 27650);
                for (uint32_t j = 0; j < l->n; j++)
                    sb_printf(&b, "%s = %s\n", keys[i].name, l->v[j]);
                continue;
            }
            sb_printf(&b, "# Default: %s\n", keys[i].def[0] ? keys[i].def : "(empty)");
            const char *v = (const char *)cfg + keys[i].off;
            int empty =
                (keys[i].kind == K_PATH || keys[i].kind == K_ENV || keys[i].kind == K_CRED ||
                 keys[i].kind == K_LISTEN) &&
                !v[0];
            sb_printf(&b, "%s =%s", keys[i].name, empty ? "" : " ");
            sb_value(&b, cfg, &keys[i]);
            sb_printf(&b, "\n");
        }
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
