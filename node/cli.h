/* Internal to repute-cli: what its source files share.
 *
 * Not a public header: only node/cli*.c include it. repute-cli is split by
 * job, one file each:
 *
 *   cli.c          main: the global options, the command table, help
 *   cli_args.c     reading arguments: numbers, durations, hex, names, and
 *                  hex given inline or in a file
 *   cli_output.c   writing results: messages, JSON, aligned tables,
 *                  "key  value" lines, files
 *   cli_node.c     talking to the node over its JSON-RPC socket
 *   cli_keys.c     key files and passphrases, and the keygen command
 *   cli_sign.c     the steps every signing command shares: ask the node,
 *                  check, sign, then write or submit
 *   cli_records.c  the signing commands: identity, engage, cosign, review,
 *                  vouch, revoke, rotate, and submit
 *   cli_query.c    the reading commands: score, top, history, reviews, whois, record,
 *                  head, block, info, mempool, metrics, call
 *   cli_proof.c    verify-proof: a score proof checked offline
 *   cli_peers.c    peers: list, add, disconnect, ban and unban peers
 *   cli_watch.c    watch: follow blocks, epochs and records as they come
 *
 * Conventions. A function that can fail prints its message on stderr and
 * returns the process's exit status (RP_CLI_EXIT_*), 0 meaning success, so
 * that a command can return it as it is. Functions that check arguments
 * before a command runs return -1 to go on, or the exit status to return
 * now (0 after printing help). Pointer arguments are borrowed and non-NULL
 * unless a comment says otherwise. The program is single-threaded; the
 * global state is rp_cli and the connection in cli_node.c.
 */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/sig.h"
#include "ledger/record.h"
#include "node/cmdline.h"

#define RP_CLI_PROG         "repute-cli"
#define RP_CLI_EXIT_FAIL    1                /* the node answered an error, a check failed */
#define RP_CLI_EXIT_USAGE   RP_CMDLINE_USAGE /* 2 */
#define RP_CLI_EXIT_CONNECT 3                /* the node cannot be reached */

#define RP_CLI_CALL_TIMEOUT_MS 30000u /* a call without wait */
#define RP_CLI_DEFAULT_WAIT_MS 10000u /* record.submit's default timeout */

/* A record's hex and its NUL. */
#define RP_CLI_RECORD_HEX_SIZE (2 * RP_RECORD_MAX_SIZE + 1)

/* Every usage error names the program; the usage text follows the message.
 * Returns RP_CLI_EXIT_USAGE. */
#define rp_cli_usage_error(...) rp_cmdline_usage_error(RP_CLI_PROG, __VA_ARGS__)

/* The global options, as parsed before or after the command. */
typedef struct rp_cli_ctx {
    const char *datadir; /* --datadir DIR, or NULL (./devnet) */
    const char *socket;  /* --socket PATH, or NULL (DIR/rpc.sock) */
    int json;            /* --json: print the node's JSON instead of text */
} rp_cli_ctx;

extern rp_cli_ctx rp_cli;

/* ---- the commands (cli_keys.c, cli_records.c, cli_query.c, cli_proof.c) --------------- */

/* Each runs one command, as rp_cmdline_command's run: argv[1] is the
 * command's name and its arguments start at argv[2]. Each returns the
 * process's exit status. Each usage text is the command's --help. */
int rp_cli_cmd_keygen(int argc, char **argv);
int rp_cli_cmd_identity(int argc, char **argv);
int rp_cli_cmd_engage(int argc, char **argv);
int rp_cli_cmd_cosign(int argc, char **argv);
int rp_cli_cmd_review(int argc, char **argv);
int rp_cli_cmd_vouch(int argc, char **argv);
int rp_cli_cmd_attest(int argc, char **argv);
int rp_cli_cmd_audience(int argc, char **argv);
int rp_cli_cmd_revoke(int argc, char **argv);
int rp_cli_cmd_rotate(int argc, char **argv);
int rp_cli_cmd_submit(int argc, char **argv);
int rp_cli_cmd_score(int argc, char **argv);
int rp_cli_cmd_top(int argc, char **argv);
int rp_cli_cmd_history(int argc, char **argv);
int rp_cli_cmd_reviews(int argc, char **argv);
int rp_cli_cmd_whois(int argc, char **argv);
int rp_cli_cmd_record(int argc, char **argv);
int rp_cli_cmd_head(int argc, char **argv);
int rp_cli_cmd_block(int argc, char **argv);
int rp_cli_cmd_info(int argc, char **argv);
int rp_cli_cmd_mempool(int argc, char **argv);
int rp_cli_cmd_metrics(int argc, char **argv);
int rp_cli_cmd_peers(int argc, char **argv);
int rp_cli_cmd_verify_proof(int argc, char **argv);
int rp_cli_cmd_call(int argc, char **argv);
int rp_cli_cmd_watch(int argc, char **argv);

extern const char rp_cli_usage_keygen[];
extern const char rp_cli_usage_identity[];
extern const char rp_cli_usage_engage[];
extern const char rp_cli_usage_cosign[];
extern const char rp_cli_usage_review[];
extern const char rp_cli_usage_vouch[];
extern const char rp_cli_usage_attest[];
extern const char rp_cli_usage_audience[];
extern const char rp_cli_usage_revoke[];
extern const char rp_cli_usage_rotate[];
extern const char rp_cli_usage_submit[];
extern const char rp_cli_usage_score[];
extern const char rp_cli_usage_top[];
extern const char rp_cli_usage_history[];
extern const char rp_cli_usage_reviews[];
extern const char rp_cli_usage_whois[];
extern const char rp_cli_usage_record[];
extern const char rp_cli_usage_head[];
extern const char rp_cli_usage_block[];
extern const char rp_cli_usage_info[];
extern const char rp_cli_usage_mempool[];
extern const char rp_cli_usage_metrics[];
extern const char rp_cli_usage_peers[];
extern const char rp_cli_usage_verify_proof[];
extern const char rp_cli_usage_call[];
extern const char rp_cli_usage_watch[];

/* ---- parsing a command's arguments (cli.c, cli_args.c) ------------------------------- */

/* Parse a command's arguments, argv[2..] (node/cmdline.h), against opts and
 * the global options.
 * Returns: -1 to go on; 0 after printing usage for -h/--help; otherwise the
 *          exit status of a usage error, already reported.
 * Out:     pos[0..*npos): the positional arguments; pos and npos may be NULL
 *          when npos_max is 0.
 * In:      opts[0..nopts) (NULL when nopts is 0); usage: the command's help;
 *          at least npos_min positional arguments ("missing WHAT"
 *          otherwise) and at most npos_max. */
int rp_cli_parse_command(int argc, char **argv, const rp_cmdline_opt *opts, size_t nopts,
                         const char *usage, const char **pos, size_t npos_min, size_t npos_max,
                         size_t *npos, const char *what);

/* Value parsers. Each returns 0 and sets *out, or -1 (nothing printed) when
 * s is not such a value. */

/* A decimal number that fits in 64 bits: digits only, no sign. */
int rp_cli_parse_u64(const char *s, uint64_t *out);

/* N with an optional unit s, m, h, d, w, at most ten years; in seconds. */
int rp_cli_parse_duration(const char *s, uint64_t *out);

/* Exactly 64 hex digits. s may be NULL (-1). */
int rp_cli_parse_hex32(const char *s, unsigned char out[32]);

/* A name from names[0..n); *out is its index + 1 (the enums' values). */
int rp_cli_parse_enum(const char *s, const char *const *names, size_t n, uint8_t *out);

/* The name of enum value v in names[0..n), or "?". */
const char *rp_cli_enum_name(const char *const *names, size_t n, unsigned v);

/* The roles, in enum rp_role's order: talent, agent, brand. */
extern const char *const rp_cli_role_names[3];

/* Read ARG as bytes: if a file of that name exists (or ARG is "-", for
 * stdin), its content, else ARG itself; either way hex, white space around
 * ignored. what names the thing in messages ("record").
 * Returns: 0 with out[0..*len), *len > 0; or an exit status after a message.
 * In:      cap: the size of out. */
int rp_cli_read_hex_arg(const char *arg, const char *what, unsigned char *out, size_t cap,
                        size_t *len);

/* ---- output (cli_output.c) ------------------------------------------------------------ */

/* "error: MESSAGE" on stderr. Returns RP_CLI_EXIT_FAIL. */
int rp_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* MESSAGE on stderr: hints, warnings and progress. */
void rp_cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 32 bytes as 64 lowercase hex digits. */
void rp_cli_hex32(char out[65], const unsigned char in[32]);

/* The first 16 hex digits, for tables. hex may be NULL (""). */
void rp_cli_short_hex(char out[17], const char *hex);

/* Unix seconds as "YYYY-MM-DD HH:MM:SS UTC" (the number itself if it is out
 * of range). */
void rp_cli_format_time(char *out, size_t cap, uint64_t secs);

/* A span of seconds, two units at most: "2d 3h", "5m 10s", "42s". */
void rp_cli_format_span(char *out, size_t cap, uint64_t s);

/* Micro-stars as stars with one decimal, "-" for none. */
void rp_cli_format_stars(char *out, size_t cap, uint64_t micro);

/* Text from the node goes to a terminal: replace control characters in s,
 * so a name or message can never move the cursor or change colours. */
void rp_cli_sanitize(char *s);

/* A JSON scalar as text, with times, ratings and trust spelled out (key
 * says what the value is). Not sanitized. */
void rp_cli_scalar_text(char *out, size_t cap, const char *key, const json_t *v);

/* Print v as JSON on stdout: one line with --json, else indented. Takes
 * the reference to v (NULL, from a failed json_pack, is a failure).
 * Returns: 0, or RP_CLI_EXIT_FAIL after a message if stdout fails. */
int rp_cli_print_json(json_t *v);

/* Print an object as aligned "key  value" lines (nested objects as a.b),
 * sanitized. Takes the reference to obj. */
void rp_cli_print_kv(json_t *obj);

/* A result as JSON (--json) or as "key  value" lines. Takes the reference
 * to result.
 * Returns: as rp_cli_print_json. */
int rp_cli_show(json_t *result);

/* Write text and a newline to path ("-": stdout). Returns 0 or an exit
 * status after a message. */
int rp_cli_write_text_file(const char *path, const char *text);

/* An aligned table: a header line, then rows, columns two spaces apart. */
typedef struct rp_cli_table {
    size_t ncols, nrows, cap;
    const char *const *heads;
    const char *align; /* one 'l' or 'r' per column */
    char **cells;      /* nrows x ncols, malloc'd strings */
} rp_cli_table;

/* Start an empty table of ncols columns (at most 16). heads (ncols titles)
 * and align (ncols of 'l' or 'r') are borrowed until rp_cli_table_free. */
void rp_cli_table_init(rp_cli_table *t, size_t ncols, const char *const *heads, const char *align);

/* Add a row of ncols strings (copied and sanitized; NULL is ""). Exits the
 * process on out of memory. */
void rp_cli_table_add(rp_cli_table *t, const char *const *row);

/* Print the header and the rows on stdout. */
void rp_cli_table_print(const rp_cli_table *t);

/* Free the rows; t is empty afterwards. */
void rp_cli_table_free(rp_cli_table *t);

/* ---- the node (cli_node.c) ------------------------------------------------------------ */

/* Call a method on the node, connecting at the first call (to --socket, or
 * --datadir's rpc.sock). params is stolen (may be NULL).
 * Returns: 0 with *result (the caller owns it); RP_CLI_EXIT_FAIL after
 *          printing the node's error and its data; RP_CLI_EXIT_CONNECT when
 *          the node cannot be reached or the connection failed (it is
 *          closed; a later call reconnects).
 * Out:     *nf, if nf is not NULL: 1 when the node answered -32001 (not
 *          found), with 0 returned, *result NULL and nothing printed.
 * In:      timeout_ms: for the whole call. */
int rp_cli_call_ex(const char *method, json_t *params, json_t **result, int *nf,
                   unsigned timeout_ms);

/* rp_cli_call_ex without nf, with the default timeout. */
int rp_cli_call(const char *method, json_t *params, json_t **result);

/* Wait, without a timeout, for the next notification of the subscriptions
 * made on this connection (rp_rpc_next_notification).
 * Returns: 0 with *note (a new reference); RP_CLI_EXIT_FAIL after printing
 *          the node's last error (it cut the subscriber off);
 *          RP_CLI_EXIT_CONNECT after a message when the node closed the
 *          connection or failed. */
int rp_cli_next_notification(json_t **note);

/* Look one thing up: rp_cli_call_ex(method, {key: value}, result, nf) with
 * the default timeout, as in identity.get {"identity": HEX}. nf may be NULL
 * (not found is then an error like any other). */
int rp_cli_lookup(const char *method, const char *key, const char *value, json_t **result, int *nf);

/* Close the connection, if any. */
void rp_cli_disconnect(void);

/* A field the node must send: a 64-bit number, or 64 hex digits. method
 * names the call in messages.
 * Returns: 0 with *out; or RP_CLI_EXIT_FAIL after a message. */
int rp_cli_need_u64(const json_t *obj, const char *method, const char *key, uint64_t *out);
int rp_cli_need_hex32(const json_t *obj, const char *method, const char *key,
                      unsigned char out[32]);

/* ---- keys (cli_keys.c) ---------------------------------------------------------------- */

/* The public key in a key file's clear header; nothing is decrypted.
 * Returns: 0 or an exit status after a message. */
int rp_cli_key_public(const char *path, rp_pubkey *pk);

/* A public key given as a key file (its header only) or as 64 hex.
 * Returns: 0 or an exit status after a message. */
int rp_cli_pubkey_arg(const char *arg, rp_pubkey *pk);

/* Decrypt a key file with its passphrase, which comes from $pass_env (the
 * --passphrase-env option: NULL or "" for REPUTE_PASSPHRASE) or, when that
 * variable is not set, from the terminal without echo.
 * Returns: 0 or an exit status after a message; *sk is wiped on failure.
 * Out:     sk (best in sodium_malloc'd memory; the caller wipes it), pk. */
int rp_cli_key_unseal(const char *path, const char *pass_env, rp_seckey *sk, rp_pubkey *pk);

/* ---- signing (cli_sign.c) ------------------------------------------------------------- */

/* The options every signing command shares, as the command line gave them
 * (NULL: not given). */
typedef struct rp_cli_sign_opts {
    const char *key, *as, *pass_env, *seq, *out, *timeout;
    int no_wait;
} rp_cli_sign_opts;

/* Option table entries that fill an rp_cli_sign_opts so: the signing
 * options, and those of the commands that submit what they sign; and their
 * help, for the commands' usage texts. */
/* clang-format off */
#define RP_CLI_SIGN_OPT_TABLE(so)                                                                  \
    {.name = "key", .value = &(so).key},                                                           \
    {.name = "as", .value = &(so).as},                                                             \
    {.name = "passphrase-env", .value = &(so).pass_env},                                           \
    {.name = "seq", .value = &(so).seq}

#define RP_CLI_SUBMIT_OPT_TABLE(so)                                                                \
    {.name = "out", .value = &(so).out},                                                           \
    {.name = "no-wait", .flag = &(so).no_wait},                                                    \
    {.name = "timeout", .value = &(so).timeout}

#define RP_CLI_SIGNING_HELP                                                                        \
    "  --key FILE            the signing key file (repute-cli keygen)\n"                           \
    "  --as IDENTITY         sign for this identity (default: the key's own; needed\n"             \
    "                        after a rotation, when the key is no longer the name)\n"              \
    "  --passphrase-env VAR  read the key's passphrase from $VAR (default\n"                       \
    "                        REPUTE_PASSPHRASE; set to \"\" for an empty one); when\n"             \
    "                        VAR is not set, ask on the terminal without echo\n"                   \
    "  --seq N               use sequence N instead of the node's next_seq\n"

#define RP_CLI_SUBMIT_HELP                                                                         \
    "  --out FILE            write the signed record's hex to FILE ('-': stdout)\n"                \
    "                        instead of submitting it\n"                                           \
    "  --no-wait             submit without waiting for a block\n"                                 \
    "  --timeout MS          how long to wait for a block (default 10000, at most\n"               \
    "                        60000)\n"
/* clang-format on */

/* What a signing command learns before it signs. */
typedef struct rp_cli_signer {
    rp_pubkey key;      /* the key file's public key */
    rp_pubkey identity; /* the issuer: --as, or the key */
    rp_hash chain_id;
    uint64_t seq;   /* the record's sequence */
    int registered; /* identity.get knows the issuer (on chain or pending) */
    json_t *info;   /* node.info */
    json_t *ident;  /* identity.get of the issuer, or NULL */
    unsigned timeout_ms;
} rp_cli_signer;

/* Check the shared signing options (--seq, --as, --timeout, --no-wait,
 * --out); need_key: --key is required.
 * Returns: -1 to go on, or the exit status of a usage error. */
int rp_cli_check_sign_opts(const rp_cli_sign_opts *so, const char *usage, int need_key);

/* Parse a signing command whose signer is --key: its options
 * (rp_cli_parse_command, no positional arguments), then the signing
 * options it shares with the others (rp_cli_check_sign_opts).
 * Returns: -1 to go on, or the exit status to return now. */
int rp_cli_parse_signing(int argc, char **argv, const rp_cmdline_opt *opts, size_t nopts,
                         const char *usage, const rp_cli_sign_opts *so);

/* Ask the node for the chain id and the issuer's state, and work out the
 * sequence. The issuer is --as, or the key's own identity. Refuses a key
 * that is not the identity's current one, before any passphrase is asked.
 * Returns: 0 or an exit status after a message. Either way s is to be
 *          released with rp_cli_signer_free.
 * In:      key_path: the key file whose public key signs, or NULL when --as
 *          names the identity and another key signs (rotation by recovery);
 *          must_be_registered: refuse an identity the node does not know. */
int rp_cli_signer_open(rp_cli_signer *s, const rp_cli_sign_opts *so, const char *key_path,
                       int must_be_registered);

/* Release what rp_cli_signer_open kept; s is zeroed. */
void rp_cli_signer_free(rp_cli_signer *s);

/* Zero r and fill its head: version, type, the signer's identity and
 * sequence, the time now. */
void rp_cli_record_base(rp_record *r, const rp_cli_signer *s, unsigned type);

/* Check a record before it is signed.
 * Returns: 0, or RP_CLI_EXIT_FAIL naming the bad field. */
int rp_cli_check_record(const rp_record *r);

/* Sign slot of r with the key file, its passphrase found as
 * rp_cli_key_unseal finds it (pass_env: --passphrase-env, or NULL), and wipe
 * the secret key afterwards.
 * Returns: 0 or an exit status after a message. */
int rp_cli_sign_slot(rp_record *r, size_t slot, const rp_cli_signer *s, const char *key_path,
                     const char *pass_env);

/* The record's canonical encoding as hex, in hex[0..cap) (cap at least
 * RP_CLI_RECORD_HEX_SIZE). Returns: 0 or an exit status after a message. */
int rp_cli_record_hex(const rp_record *r, char *hex, size_t cap);

/* Submit a record's hex and print the node's answer; with wait, wait up to
 * timeout_ms for a block. identity_line, if not NULL, is shown first as
 * "identity". Returns: 0 or an exit status after a message. */
int rp_cli_submit_hex(const char *hex, int wait, unsigned timeout_ms, const char *identity_line);

/* The end of every signing command: write the signed record's hex to --out
 * or submit it (rp_cli_submit_hex). Returns: 0 or an exit status. */
int rp_cli_finish_record(const rp_record *r, const rp_cli_signer *s, const rp_cli_sign_opts *so,
                         const char *identity_line);

/* The end of a record that its issuer alone signs with --key (review,
 * vouch, revoke): check it, sign slot 0, then write or submit it.
 * Returns: 0 or an exit status after a message. */
int rp_cli_sign_and_finish(rp_record *r, const rp_cli_signer *s, const rp_cli_sign_opts *so);

#endif /* RP_CLI_H */
