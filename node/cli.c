/* repute-cli: the command-line client of a repute node.
 *
 * It builds and signs every record type with an encrypted key file, submits
 * records and reads the chain, scores and reviews over the node's JSON-RPC
 * socket (docs/rpc.md, through node/rpc_client.h), and checks score proofs
 * offline against a genesis file. docs/cli.md is the user's guide.
 *
 * How it reads:
 *   - Parsing is strict, as in reputed (node/cmdline.h): an unknown option,
 *     a missing value, an option given twice or a stray argument is a usage
 *     error (message and usage on stderr, exit 2). The global options
 *     (--datadir, --socket, --json) are accepted before or after the command.
 *   - Signing commands ask the node what they need (chain id, the issuer's
 *     next sequence number, current keys, the proof-of-work difficulty),
 *     check what can be checked before anything is signed, and only then
 *     decrypt the key: the passphrase is asked for last, and the secret key
 *     is wiped as soon as the record is signed.
 *   - Results go to stdout: aligned, readable text by default, the node's
 *     JSON with --json. Errors go to stderr as "error: MESSAGE (code N)"
 *     followed by the error's data.
 *   - Exit status: 0 success; 1 the node answered an error or a check
 *     failed; 2 usage; 3 the node cannot be reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/keyfile.h"
#include "crypto/sig.h"
#include "ledger/codec.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "ledger/record.h"
#include "ledger/store.h"
#include "node/cmdline.h"
#include "node/rpc_client.h"

#define PROG         "repute-cli"
#define EXIT_FAIL    1
#define EXIT_USAGE   RP_CMDLINE_USAGE /* 2 */
#define EXIT_CONNECT 3

/* Every usage error names the program; the usage text follows the message. */
#define usage_error(...) rp_cmdline_usage_error(PROG, __VA_ARGS__)

#define PASS_MAX 1024                     /* bytes of passphrase */
#define INPUT_MAX (4u << 20)              /* a record or proof file, hex and all */
#define CALL_TIMEOUT_MS 30000u            /* a call without wait */
#define DEFAULT_WAIT_MS 10000u            /* record.submit's default timeout */
#define DEFAULT_TTL_S (24u * 3600u)       /* an engagement's default expiry */
#define POW_MAX_TRIES (1ULL << 40)

/* ---- usage texts ------------------------------------------------------------------- */

static const char usage_main[] =
    "usage: repute-cli [--datadir DIR | --socket PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "The command-line client of a repute node (docs/cli.md).\n"
    "\n"
    "Keys and records (signing commands submit and wait by default):\n"
    "  keygen        create an encrypted key file: a new identity\n"
    "  identity      register an identity, or update its role, name or profile\n"
    "  engage        start a two-party engagement: sign it and hand it over\n"
    "  cosign        check an engagement, co-sign it, and submit it or hand it back\n"
    "  review        rate the other party of an engagement\n"
    "  vouch         state that an identity is genuine\n"
    "  revoke        withdraw one of your reviews or vouches\n"
    "  rotate        move an identity to a new key (by its key or its recovery key)\n"
    "  submit        submit a signed record (hex, or a file holding it)\n"
    "\n"
    "Reading:\n"
    "  score         an identity's score, optionally with its proof\n"
    "  top           the score table, best first\n"
    "  reviews       live reviews of or by an identity\n"
    "  whois         an identity's registration and counters\n"
    "  record        a record by id\n"
    "  head          the latest block\n"
    "  block         a block by height or hash\n"
    "  info          what the node is\n"
    "  mempool       the node's pending records\n"
    "  metrics       the node's counters, gauges and RPC latencies\n"
    "  verify-proof  check a score proof offline against a genesis file\n"
    "  call          call any RPC method with raw JSON params\n"
    "  help          this help, or a command's: repute-cli help COMMAND\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --datadir DIR   the node's datadir; the socket is DIR/rpc.sock\n"
    "                  (default: ./devnet)\n"
    "  --socket PATH   the node's socket, instead of --datadir\n"
    "  --json          print the node's JSON results instead of tables\n"
    "  -h, --help      show help\n"
    "\n"
    "Run 'repute-cli COMMAND --help' for a command's options.\n"
    "Exit status: 0 success, 1 the node answered an error or a check failed,\n"
    "2 usage error, 3 the node cannot be reached.\n";

#define SIGNING_OPTS                                                                          \
    "  --key FILE            the signing key file (repute-cli keygen)\n"                      \
    "  --as IDENTITY         sign for this identity (default: the key's own; needed\n"        \
    "                        after a rotation, when the key is no longer the name)\n"         \
    "  --passphrase-env VAR  read the key's passphrase from $VAR (default\n"                  \
    "                        REPUTE_PASSPHRASE; set to \"\" for an empty one); when\n"      \
    "                        VAR is not set, ask on the terminal without echo\n"            \
    "  --seq N               use sequence N instead of the node's next_seq\n"

#define SUBMIT_OPTS                                                                           \
    "  --out FILE            write the signed record's hex to FILE ('-': stdout)\n"           \
    "                        instead of submitting it\n"                                      \
    "  --no-wait             submit without waiting for a block\n"                             \
    "  --timeout MS          how long to wait for a block (default 10000, at most\n"          \
    "                        60000)\n"

static const char usage_keygen[] =
    "usage: repute-cli keygen --out FILE [--passphrase-env VAR]\n"
    "                         [--kdf moderate|interactive]\n"
    "\n"
    "Create a new secret key and write it to FILE, encrypted with a passphrase\n"
    "(Argon2id + XChaCha20-Poly1305, docs/keys.md), mode 0600. FILE must not\n"
    "exist: key files are never overwritten. Prints the new identity: the\n"
    "64-hex public key that names it for life. Nothing is sent to the node;\n"
    "register the identity with 'repute-cli identity'.\n"
    "\n"
    "Options:\n"
    "  --out FILE            the key file to create (required)\n"
    "  --passphrase-env VAR  take the passphrase from $VAR (default REPUTE_PASSPHRASE;\n"
    "                        an empty value is an empty passphrase); when VAR is\n"
    "                        not set, ask twice on the terminal without echo\n"
    "  --kdf moderate|interactive\n"
    "                        Argon2id cost: moderate (default; 256 MiB, about a\n"
    "                        second per use) or interactive (64 MiB; for dev\n"
    "                        chains, demos and tests)\n"
    "  -h, --help            show this help\n";

static const char usage_identity[] =
    "usage: repute-cli identity --key FILE --role talent|agent|brand --name NAME\n"
    "                           [--profile HEX] [--recovery-key FILE|HEX] [OPTIONS]\n"
    "\n"
    "Register the key's identity (sequence 1: the proof of work is solved at the\n"
    "genesis difficulty, which node.info reports), or update a registered one.\n"
    "An update keeps what it does not change: --role and --name are required to\n"
    "register and optional to update; the profile and the recovery key stay.\n"
    "Display names are PERMANENT AND PUBLIC: every version stays on chain.\n"
    "\n"
    "Options:\n"
    "  --role ROLE           talent, agent or brand\n"
    "  --name NAME           display name, 1-64 bytes of UTF-8\n"
    "  --profile HEX         32-byte hash of an off-chain profile (64 hex)\n"
    "  --recovery-key FILE|HEX\n"
    "                        commit to a recovery key: a key file (only its public\n"
    "                        key is read) or 64 hex. Set once; afterwards only a\n"
    "                        rotation signed by the recovery key changes it\n"
    "  --pow-difficulty N    solve at N bits instead of node.info's pow_difficulty\n" SIGNING_OPTS
        SUBMIT_OPTS "  -h, --help            show this help\n";

static const char usage_engage[] =
    "usage: repute-cli engage --key FILE --with IDENTITY --kind KIND [--terms HEX]\n"
    "                         [--expires-in DURATION] [--out FILE] [OPTIONS]\n"
    "\n"
    "Start an ENGAGEMENT with another registered identity: build it with your\n"
    "next sequence number, sign it as the initiator (slot 0) and write the\n"
    "half-signed record's hex to FILE or stdout. Give it to the counterparty,\n"
    "who checks and co-signs it with 'repute-cli cosign'; either of you then\n"
    "submits it, before it expires. Until then, your next record uses the\n"
    "sequence after this one, and is held by the node until this one arrives.\n"
    "\n"
    "Options:\n"
    "  --with IDENTITY       the counterparty (64 hex)\n"
    "  --kind KIND           gig, representation, sponsorship, licensing or other\n"
    "  --terms HEX           32-byte hash of the off-chain terms (default: zero)\n"
    "  --expires-in DURATION how long the counterparty has to co-sign and submit:\n"
    "                        N[s|m|h|d] (default 1d; at most the genesis\n"
    "                        max_engagement_ttl_s)\n"
    "  --out FILE            write the hex to FILE instead of stdout\n" SIGNING_OPTS
    "  -h, --help            show this help\n";

static const char usage_cosign[] =
    "usage: repute-cli cosign --key FILE RECORD [--submit] [--out FILE] [OPTIONS]\n"
    "\n"
    "Check a half-signed ENGAGEMENT (RECORD: its hex, or a file holding it, '-'\n"
    "for stdin) and co-sign it as the counterparty. Shows the initiator, kind,\n"
    "terms hash and expiry; refuses an engagement that names someone else, has\n"
    "expired, or whose initiator's signature does not verify against the\n"
    "initiator's current key (identity.get). Then writes the fully signed hex to\n"
    "--out or stdout, or with --submit submits it.\n"
    "\n"
    "Options:\n"
    "  --submit              submit the co-signed record (waits for a block\n"
    "                        unless --no-wait)\n"
    "  --out FILE            write the hex to FILE instead of stdout\n"
    "  --no-wait, --timeout MS   as for the other signing commands\n" SIGNING_OPTS
    "  -h, --help            show this help\n";

static const char usage_review[] =
    "usage: repute-cli review --key FILE --engagement ID --rating 1-5\n"
    "                         [--quality N] [--reliability N] [--communication N]\n"
    "                         [--payment N] [--comment-hash HEX] [OPTIONS]\n"
    "\n"
    "Review the other party of an engagement you are part of (the node must know\n"
    "the engagement: on chain or pending). One live review per direction and\n"
    "engagement; revoke it to write a corrected one.\n"
    "\n"
    "Options:\n"
    "  --engagement ID       the ENGAGEMENT's record id (64 hex)\n"
    "  --rating N            overall, 1 to 5 stars\n"
    "  --quality N, --reliability N, --communication N, --payment N\n"
    "                        optional dimensions, 1 to 5 (payment: paid on time)\n"
    "  --comment-hash HEX    32-byte hash of an off-chain comment\n" SIGNING_OPTS SUBMIT_OPTS
    "  -h, --help            show this help\n";

static const char usage_vouch[] =
    "usage: repute-cli vouch --key FILE --for IDENTITY\n"
    "                        [--relation knows|represents|worked-with] [OPTIONS]\n"
    "\n"
    "State that an identity is genuine: you know them (the default), you\n"
    "represent them (an agency for its talent), or you worked with them. One\n"
    "live vouch per pair; revoke withdraws it.\n"
    "\n"
    "Options:\n"
    "  --for IDENTITY        the identity vouched for (64 hex)\n"
    "  --relation REL        knows (default), represents or worked-with\n" SIGNING_OPTS
        SUBMIT_OPTS "  -h, --help            show this help\n";

static const char usage_revoke[] =
    "usage: repute-cli revoke --key FILE --target RECORD_ID\n"
    "                         [--reason mistake|resolved|disputed|other] [OPTIONS]\n"
    "\n"
    "Withdraw one of your own REVIEW or VOUCH records. It stays on chain but\n"
    "counts for nothing from then on.\n"
    "\n"
    "Options:\n"
    "  --target ID           the record id of your review or vouch (64 hex)\n"
    "  --reason REASON       mistake, resolved, disputed or other (default)\n" SIGNING_OPTS
        SUBMIT_OPTS "  -h, --help            show this help\n";

static const char usage_rotate[] =
    "usage: repute-cli rotate --key FILE --new-key FILE [--new-recovery-key FILE|HEX]\n"
    "       repute-cli rotate --by-recovery --recovery-key FILE\n"
    "                         (--as IDENTITY | --key FILE) --new-key FILE\n"
    "                         [--new-recovery-key FILE|HEX]\n"
    "\n"
    "Move an identity to a new signing key; its name, history and reputation\n"
    "stay. Make the new key with 'repute-cli keygen' first: only its public key\n"
    "is read here. Normally the current key signs (--key). If that key is lost\n"
    "or leaked, the recovery key the identity committed to signs instead\n"
    "(--by-recovery --recovery-key FILE); the identity is then named by --as, or\n"
    "by the public key of --key, which is not decrypted.\n"
    "\n"
    "A rotation signed by the current key keeps the recovery commitment (it\n"
    "cannot change it: a leaked key must not disable recovery). One signed by\n"
    "the recovery key reveals that key, so it sets a new commitment: give\n"
    "--new-recovery-key, or the identity is left without recovery.\n"
    "\n"
    "Options:\n"
    "  --new-key FILE|HEX    the key to move to: a key file or 64 hex\n"
    "  --by-recovery         sign with the recovery key\n"
    "  --recovery-key FILE   the recovery key file (with --by-recovery)\n"
    "  --new-recovery-key FILE|HEX\n"
    "                        the next recovery key (key file or 64 hex)\n" SIGNING_OPTS
        SUBMIT_OPTS "  -h, --help            show this help\n";

static const char usage_submit[] =
    "usage: repute-cli submit RECORD [--wait] [--timeout MS]\n"
    "\n"
    "Submit a signed record: its hex, or a file holding it ('-' for stdin), as\n"
    "engage, cosign and --out write them. The record is decoded here first, so\n"
    "a damaged file is reported before anything is sent.\n"
    "\n"
    "Options:\n"
    "  --wait                wait until the record is in a block\n"
    "  --timeout MS          how long to wait (default 10000, at most 60000)\n"
    "  -h, --help            show this help\n";

static const char usage_score[] =
    "usage: repute-cli score IDENTITY [--epoch N] [--proof FILE]\n"
    "\n"
    "An identity's row in a committed score epoch (default: the latest): score\n"
    "and confidence (0-1000), trust-weighted rating, live reviews received and\n"
    "global trust. docs/trust.md defines each figure.\n"
    "\n"
    "Options:\n"
    "  --epoch N             a past epoch (the node keeps the last 8)\n"
    "  --proof FILE          also fetch the score's Merkle proof with the signed\n"
    "                        header that commits it, and write its hex to FILE;\n"
    "                        check it with 'repute-cli verify-proof'\n"
    "  -h, --help            show this help\n";

static const char usage_top[] =
    "usage: repute-cli top [--role talent|agent|brand] [--limit N] [--offset N]\n"
    "\n"
    "The latest committed score table, best first (by score, then trust, then\n"
    "identity): rank, score, confidence, reviews, rating in stars, role, name\n"
    "and identity.\n"
    "\n"
    "Options:\n"
    "  --role ROLE           only talents, agents or brands\n"
    "  --limit N             rows, 1-100 (default 20)\n"
    "  --offset N            skip the first N rows\n"
    "  -h, --help            show this help\n";

static const char usage_reviews[] =
    "usage: repute-cli reviews (--subject IDENTITY | --issuer IDENTITY)\n"
    "                          [--limit N] [--after ID]\n"
    "\n"
    "Live reviews received by (--subject) or written by (--issuer) an identity,\n"
    "in review-id order. When there are more, the last line says how to get\n"
    "the next page.\n"
    "\n"
    "Options:\n"
    "  --subject IDENTITY    reviews of this identity\n"
    "  --issuer IDENTITY     reviews by this identity\n"
    "  --limit N             reviews per page, 1-100 (default 20)\n"
    "  --after ID            continue after this review id\n"
    "  -h, --help            show this help\n";

static const char usage_whois[] =
    "usage: repute-cli whois IDENTITY\n"
    "\n"
    "An identity as the node knows it (identity.get): current key, role, name,\n"
    "profile and recovery commitment, sequence numbers, and counters.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_record[] =
    "usage: repute-cli record ID\n"
    "\n"
    "A record by id (record.get): where it is (block and index, or pending),\n"
    "its type, issuer, sequence and time, its fields and its hex.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_head[] =
    "usage: repute-cli head\n"
    "\n"
    "The latest block: height, hash, time, state hash, commit hash, and the\n"
    "latest committed score epoch and its root.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_block[] =
    "usage: repute-cli block HEIGHT|HASH\n"
    "\n"
    "A block by height (a decimal number) or header hash (64 hex): its header\n"
    "and its records.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_info[] =
    "usage: repute-cli info\n"
    "\n"
    "What the node is: version, chain id, height, whether it validates, the\n"
    "chain's parameters, uptime.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_mempool[] =
    "usage: repute-cli mempool\n"
    "\n"
    "The node's pending records: count and bytes against the limits, records\n"
    "held for a sequence gap, signatures being verified, admitted and rejected\n"
    "since start.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_metrics[] =
    "usage: repute-cli metrics\n"
    "\n"
    "The node's gauges, counters since start, rates, and per-method RPC calls,\n"
    "errors and latency percentiles.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

static const char usage_verify_proof[] =
    "usage: repute-cli verify-proof --genesis FILE --identity IDENTITY PROOF\n"
    "\n"
    "Check a score proof (PROOF: its hex, or a file holding it, as 'score\n"
    "--proof' writes) offline, trusting nothing but the genesis file: the\n"
    "commit's signatures carry more than 2/3 of the genesis validators' power\n"
    "for the header, the header carries the epoch and its score root, and the\n"
    "identity's row (or, for an identity without one, its two neighbours in\n"
    "the sorted table) sits under that root. No node is contacted.\n"
    "\n"
    "Prints the verified figures, or INVALID and exits 1.\n"
    "\n"
    "Options:\n"
    "  --genesis FILE        the chain's genesis.json (e.g. DATADIR/genesis.json)\n"
    "  --identity IDENTITY   whose score the proof is about (64 hex)\n"
    "  -h, --help            show this help\n";

static const char usage_call[] =
    "usage: repute-cli call METHOD [PARAMS]\n"
    "\n"
    "Call any RPC method (docs/rpc.md) with PARAMS, a JSON object, and print\n"
    "the JSON result (indented; one line with --json). For example:\n"
    "  repute-cli call score.get '{\"identity\":\"79be...\",\"proof\":true}'\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

/* ---- global state and output helpers ----------------------------------------------- */

static struct {
    const char *datadir;
    const char *socket;
    int json;
    char sock_path[4096];
    rp_rpc_client *rpc;
} G;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAIL;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void hex32(char out[65], const unsigned char in[32])
{
    rp_hex_encode(out, 65, in, 32);
}

/* The first 16 hex digits, for tables. */
static void short_hex(char out[17], const char *hex)
{
    snprintf(out, 17, "%s", hex ? hex : "");
}

static void format_time(char *out, size_t cap, uint64_t secs)
{
    struct tm tm;
    time_t t = (time_t)secs;
    if ((uint64_t)t != secs || !gmtime_r(&t, &tm) ||
        strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "%" PRIu64, secs);
}

static void format_span(char *out, size_t cap, uint64_t s)
{
    if (s >= 86400)
        snprintf(out, cap, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s / 3600 % 24);
    else if (s >= 3600)
        snprintf(out, cap, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(out, cap, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
    else
        snprintf(out, cap, "%" PRIu64 "s", s);
}

/* Micro-stars as stars with one decimal, "-" for none. */
static void format_stars(char *out, size_t cap, uint64_t micro)
{
    if (micro == 0)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "\xe2\x98\x85%" PRIu64 ".%" PRIu64, (micro + 50000) / 1000000,
                 (micro + 50000) / 100000 % 10);
}

/* Display width of UTF-8 text: code points, not bytes. Names are checked
 * UTF-8 without control characters (docs/records.md). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Text from the node goes to a terminal: replace control characters, so a
 * name or message can never move the cursor or change colours. (The ledger
 * refuses them in names already; this also covers a misbehaving node.) */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static int print_json(json_t *v)
{
    size_t flags = G.json ? JSON_COMPACT : (JSON_INDENT(2));
    if (json_dumpf(v, stdout, flags | JSON_ENCODE_ANY) != 0)
        return fail("cannot write the result");
    putchar('\n');
    return 0;
}

/* ---- aligned tables ------------------------------------------------------------------ */

typedef struct table {
    size_t ncols, nrows, cap;
    const char *const *heads;
    const char *align; /* one 'l' or 'r' per column */
    char **cells;      /* nrows x ncols, malloc'd strings */
} table;

static void table_init(table *t, size_t ncols, const char *const *heads, const char *align)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->heads = heads;
    t->align = align;
}

/* Add a row of ncols strings (copied). Exits on out of memory. */
static void table_add(table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, t->cap * t->ncols * sizeof *nc);
        if (!nc) {
            fail("out of memory");
            exit(EXIT_FAIL);
        }
        t->cells = nc;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *s = strdup(row[i] ? row[i] : "");
        if (!s) {
            fail("out of memory");
            exit(EXIT_FAIL);
        }
        sanitize(s);
        t->cells[t->nrows * t->ncols + i] = s;
    }
    t->nrows++;
}

static void print_cell(const char *s, size_t width, char align, int last)
{
    size_t w = text_width(s), pad = width > w ? width - w : 0;
    if (align == 'r')
        printf("%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, stdout);
    else
        printf("%s%*s", s, (int)pad, "");
}

static void table_print(const table *t)
{
    size_t widths[16] = {0};
    for (size_t c = 0; c < t->ncols && c < 16; c++) {
        widths[c] = text_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    }
    for (size_t c = 0; c < t->ncols; c++) {
        print_cell(t->heads[c], widths[c], t->align[c], c + 1 == t->ncols);
        fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            print_cell(t->cells[r * t->ncols + c], widths[c], t->align[c], c + 1 == t->ncols);
            fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
        }
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* ---- key: value output for JSON objects ------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A JSON scalar as text, with times, ratings and trust spelled out. */
static void scalar_text(char *out, size_t cap, const char *key, const json_t *v)
{
    uint64_t u = 0;
    int is_num = 0;
    if (json_is_string(v)) {
        snprintf(out, cap, "%s", json_string_value(v));
        const char *s = json_string_value(v);
        is_num = s[0] != '\0' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 19;
        if (is_num)
            u = strtoull(s, NULL, 10);
    } else if (json_is_integer(v)) {
        snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        is_num = json_integer_value(v) >= 0;
        u = (uint64_t)json_integer_value(v);
    } else if (json_is_true(v)) {
        snprintf(out, cap, "yes");
    } else if (json_is_false(v)) {
        snprintf(out, cap, "no");
    } else if (json_is_null(v)) {
        snprintf(out, cap, "-");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, cap, "%s", s ? s : "?");
        free(s);
        return;
    }
    if (!is_num)
        return;
    char extra[96] = "";
    if (!strcmp(key, "time_ms") || ends_with(key, "_time_ms")) {
        format_time(extra, sizeof extra, u / 1000);
    } else if (!strcmp(key, "time") || !strcmp(key, "genesis_time") || !strcmp(key, "expiry")) {
        format_time(extra, sizeof extra, u);
    } else if (!strcmp(key, "rating")) {
        format_stars(extra, sizeof extra, u);
        snprintf(out, cap, "%s", extra);
        if (u)
            snprintf(out + strlen(out), cap - strlen(out), " (%" PRIu64 " micro-stars)", u);
        return;
    } else if (!strcmp(key, "trust") && u) {
        snprintf(extra, sizeof extra, "%.3g of all trust", (double)u / 1152921504606846976.0);
    } else if (ends_with(key, "uptime_s") && u >= 60) {
        format_span(extra, sizeof extra, u);
    }
    if (extra[0])
        snprintf(out + strlen(out), cap - strlen(out), " (%s)", extra);
}

static void kv_collect(table *t, const char *prefix, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, k);
        if (json_is_object(v) && json_object_size(v) > 0) {
            char p[sizeof name + 1];
            snprintf(p, sizeof p, "%s.", name);
            kv_collect(t, p, v);
            continue;
        }
        char val[1024];
        scalar_text(val, sizeof val, k, v);
        const char *row[2] = {name, val};
        table_add(t, row);
    }
}

/* Print an object as aligned "key  value" lines (nested objects as a.b). */
static void print_kv(json_t *obj)
{
    static const char *const heads[2] = {"", ""};
    table t;
    table_init(&t, 2, heads, "ll");
    kv_collect(&t, "", obj);
    size_t w = 0;
    for (size_t r = 0; r < t.nrows; r++)
        if (strlen(t.cells[r * 2]) > w)
            w = strlen(t.cells[r * 2]);
    for (size_t r = 0; r < t.nrows; r++)
        printf("%-*s  %s\n", (int)w, t.cells[r * 2], t.cells[r * 2 + 1]);
    table_free(&t);
}

/* ---- argument parsing --------------------------------------------------------------------- */

/* Parse a command's arguments, argv[2..] (node/cmdline.h), against opts and
 * the global options; positional arguments go to pos, at least npos_min
 * ("missing WHAT" otherwise) and at most npos_max. npos may be NULL. Returns
 * -1 to go on, or the exit status to return now. */
static int parse_command(int argc, char **argv, const rp_cmdline_opt *opts, size_t nopts,
                         const char *usage, const char **pos, size_t npos_min, size_t npos_max,
                         size_t *npos, const char *what)
{
    static const rp_cmdline_opt globals[] = {
        {.name = "datadir", .value = &G.datadir},
        {.name = "socket", .value = &G.socket},
        {.name = "json", .flag = &G.json},
    };
    const rp_cmdline cl = {.prog = PROG,
                           .usage = usage,
                           .opts = opts,
                           .nopts = nopts,
                           .more = globals,
                           .nmore = sizeof globals / sizeof globals[0],
                           .pos = pos,
                           .npos_max = npos_max};
    size_t n = 0;
    int rc = rp_cmdline_parse(&cl, argc, argv, 2, npos ? npos : &n);
    if (rc == RP_CMDLINE_HELP) {
        fputs(usage, stdout);
        return 0;
    }
    if (rc)
        return rc;
    if (G.datadir && G.socket)
        return usage_error(usage, "give --datadir or --socket, not both");
    if ((npos ? *npos : n) < npos_min)
        return usage_error(usage, "missing %s", what);
    return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
        return -1;
    uint64_t x = 0;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* N with an optional unit s, m, h, d, w; in seconds. */
static int parse_duration(const char *s, uint64_t *out)
{
    char num[24];
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n >= sizeof num || strlen(s) > n + 1)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    uint64_t v, mul = 1;
    if (parse_u64(num, &v) != 0)
        return -1;
    switch (s[n]) {
    case '\0':
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    case 'w': mul = 7 * 86400; break;
    default: return -1;
    }
    if (v > 10ULL * 365 * 86400 / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int parse_hex32(const char *s, unsigned char out[32])
{
    return s && strlen(s) == 64 && rp_hex_decode(out, 32, s, 64) == 0 ? 0 : -1;
}

/* Look a name up in a table of names (index + 1 is the value). */
static int parse_enum(const char *s, const char *const *names, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = (uint8_t)(i + 1);
            return 0;
        }
    return -1;
}

static const char *const role_names[] = {"talent", "agent", "brand"};
static const char *const kind_names[] = {"gig", "representation", "sponsorship", "licensing",
                                         "other"};
static const char *const relation_names[] = {"knows", "represents", "worked-with"};
static const char *const reason_names[] = {"mistake", "resolved", "disputed", "other"};

static const char *enum_name(const char *const *names, size_t n, unsigned v)
{
    return v >= 1 && v <= n ? names[v - 1] : "?";
}

/* ---- input: hex or a file holding it ------------------------------------------------------ */

/* Read ARG as bytes: if a file of that name exists (or ARG is "-"), its
 * content, else ARG itself; either way hex, white space around ignored.
 * Returns 0, or an exit status after a message. */
static int read_hex_arg(const char *arg, const char *what, unsigned char *out, size_t cap,
                        size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    struct stat st;
    int from_file = !strcmp(arg, "-") || stat(arg, &st) == 0;
    if (from_file) {
        FILE *f = strcmp(arg, "-") ? fopen(arg, "rb") : stdin;
        if (!f)
            return fail("cannot open %s: %s", arg, strerror(errno));
        text = malloc(INPUT_MAX + 1);
        if (!text) {
            if (f != stdin)
                fclose(f);
            return fail("out of memory");
        }
        n = fread(text, 1, INPUT_MAX + 1, f);
        int bad = ferror(f);
        if (f != stdin)
            fclose(f);
        if (bad) {
            free(text);
            return fail("cannot read %s", arg);
        }
        if (n > INPUT_MAX) {
            free(text);
            return fail("%s: more than %u bytes: not a %s", arg, INPUT_MAX, what);
        }
    } else {
        n = strlen(arg);
        text = malloc(n + 1);
        if (!text)
            return fail("out of memory");
        memcpy(text, arg, n);
    }
    text[n] = '\0';
    size_t b = 0, e = n;
    while (b < e && strchr(" \t\r\n", text[b]))
        b++;
    while (e > b && strchr(" \t\r\n", text[e - 1]))
        e--;
    int rc = rp_hex_decode_var(out, cap, len, text + b, e - b);
    free(text);
    if (rc == RP_ERR_BUFFER)
        return fail("%s: too long for a %s", from_file ? arg : "the argument", what);
    if (rc || *len == 0) {
        if (from_file)
            return fail("%s does not hold the hex of a %s", arg, what);
        return fail("'%.40s%s' is neither a file nor the hex of a %s", arg,
                    strlen(arg) > 40 ? "..." : "", what);
    }
    return 0;
}

/* Write text and a newline to path ("-": stdout). Returns 0 or an exit status. */
static int write_text_file(const char *path, const char *text)
{
    if (!strcmp(path, "-")) {
        puts(text);
        return fflush(stdout) == 0 ? 0 : fail("cannot write to stdout");
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return fail("cannot create %s: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    return bad ? fail("cannot write %s", path) : 0;
}

/* ---- passphrases and keys ---------------------------------------------------------------- */

static struct termios saved_tty;
static volatile sig_atomic_t tty_fd = -1;

static void restore_tty_and_die(int sig)
{
    if (tty_fd >= 0) {
        tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
        (void)!write(tty_fd, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Read a line from the terminal without echo. Returns 0, or -errno (-ENXIO
 * when there is no terminal). */
static int prompt_secret(const char *prompt, char *buf, size_t cap, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -ENXIO;
    struct termios raw;
    if (tcgetattr(fd, &saved_tty) != 0) {
        close(fd);
        return -ENXIO;
    }
    raw = saved_tty;
    raw.c_lflag &= ~(tcflag_t)ECHO;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_tty_and_die;
    sigemptyset(&sa.sa_mask);
    tty_fd = fd;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = 0;
    if (tcsetattr(fd, TCSAFLUSH, &raw) != 0)
        rc = -errno;
    if (rc == 0 && write(fd, prompt, strlen(prompt)) < 0)
        rc = -errno;
    size_t n = 0;
    while (rc == 0) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        if (n + 1 >= cap) {
            rc = -E2BIG;
            break;
        }
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    tcsetattr(fd, TCSAFLUSH, &saved_tty);
    (void)!write(fd, "\n", 1);
    tty_fd = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(fd);
    buf[n] = '\0';
    *len = n;
    if (rc)
        sodium_memzero(buf, cap);
    return rc;
}

/* A passphrase from $env_name, or the terminal (twice if confirm).
 * Returns 0, or an exit status after a message. */
static int get_passphrase(const char *env_name, const char *what, int confirm, char *buf,
                          size_t cap, size_t *len)
{
    const char *v = getenv(env_name);
    if (v) {
        size_t n = strlen(v);
        if (n >= cap)
            return fail("$%s is longer than %zu bytes", env_name, cap - 1);
        memcpy(buf, v, n + 1);
        *len = n;
        return 0;
    }
    char prompt[600];
    snprintf(prompt, sizeof prompt, "Passphrase for %s: ", what);
    int rc = prompt_secret(prompt, buf, cap, len);
    if (rc == -ENXIO)
        return fail("no passphrase for %s: set $%s (an empty value is an empty passphrase) or "
                    "run on a terminal",
                    what, env_name);
    if (rc == -E2BIG)
        return fail("the passphrase is longer than %zu bytes", cap - 1);
    if (rc)
        return fail("cannot read the passphrase: %s", strerror(-rc));
    if (!confirm)
        return 0;
    char *again = sodium_malloc(cap);
    if (!again)
        return fail("out of memory");
    size_t alen = 0;
    rc = prompt_secret("Repeat it: ", again, cap, &alen);
    int same = rc == 0 && alen == *len && sodium_memcmp(again, buf, alen) == 0;
    sodium_free(again);
    if (rc)
        return fail("cannot read the passphrase: %s", strerror(-rc));
    if (!same) {
        sodium_memzero(buf, cap);
        return fail("the two passphrases differ; nothing was written");
    }
    return 0;
}

/* Explain a key-file error. Returns EXIT_FAIL. */
static int key_error(const char *path, int rc)
{
    switch (rc) {
    case RP_ERR_KEYFILE_DECRYPT:
        return fail("%s: wrong passphrase (or the file was changed)", path);
    case RP_ERR_KEYFILE_PERMS:
        return fail("%s: group or others can access it; chmod 600 %s", path, path);
    case RP_ERR_KEYFILE_FORMAT:
    case RP_ERR_KEYFILE_VERSION:
    case RP_ERR_KEYFILE_PARAMS:
        return fail("%s: not a repute key file (%s)", path, rp_strerror(rc));
    default:
        return fail("%s: %s", path, rp_strerror(rc));
    }
}

/* The public key in a key file's clear header; nothing is decrypted. */
static int key_public(const char *path, rp_pubkey *pk)
{
    unsigned char buf[RP_KEYFILE_SIZE + 1];
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail("cannot open key file %s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    rp_keyfile kf;
    int rc = rp_keyfile_parse(&kf, buf, n);
    if (rc)
        return key_error(path, rc);
    *pk = kf.pubkey;
    return 0;
}

/* A public key given as a key file or as 64 hex. */
static int pubkey_arg(const char *arg, rp_pubkey *pk)
{
    struct stat st;
    if (stat(arg, &st) != 0 && parse_hex32(arg, pk->bytes) == 0) {
        if (!rp_pubkey_valid(pk))
            return fail("%s is not a valid x-only public key", arg);
        return 0;
    }
    return key_public(arg, pk);
}

/* Decrypt a key file. Returns 0 or an exit status. sk is wiped on failure. */
static int key_unseal(const char *path, const char *env_name, rp_seckey *sk, rp_pubkey *pk)
{
    char *pass = sodium_malloc(PASS_MAX + 1);
    if (!pass)
        return fail("out of memory");
    size_t plen = 0;
    int rc = get_passphrase(env_name, path, 0, pass, PASS_MAX + 1, &plen);
    if (rc == 0) {
        int k = rp_keyfile_read(sk, pk, path, pass, plen);
        if (k)
            rc = key_error(path, k);
    }
    sodium_free(pass); /* zeroes it */
    if (rc)
        sodium_memzero(sk, sizeof *sk);
    return rc;
}

/* ---- talking to the node ------------------------------------------------------------------ */

static const char *socket_path(void)
{
    if (G.socket)
        return G.socket;
    snprintf(G.sock_path, sizeof G.sock_path, "%s/rpc.sock", G.datadir ? G.datadir : "devnet");
    return G.sock_path;
}

static int connect_node(void)
{
    if (G.rpc)
        return 0;
    const char *path = socket_path();
    int rc = rp_rpc_connect(&G.rpc, path);
    if (rc == -ENAMETOOLONG) {
        fprintf(stderr,
                "error: the socket path %s is %zu bytes; Unix sockets allow at most 107: use a "
                "shorter --datadir or a symbolic link with --socket\n",
                path, strlen(path));
        return EXIT_CONNECT;
    }
    if (rc) {
        fprintf(stderr, "error: cannot connect to the node at %s: %s\n", path, strerror(-rc));
        fprintf(stderr, "hint: is reputed running? scripts/dev.sh run%s\n",
                G.datadir || G.socket ? "" : " (or give --datadir DIR)");
        return EXIT_CONNECT;
    }
    rp_rpc_set_timeout(G.rpc, CALL_TIMEOUT_MS);
    return 0;
}

static void print_rpc_error(const rp_rpc_error *err)
{
    char msg[sizeof err->message];
    snprintf(msg, sizeof msg, "%s", err->message);
    sanitize(msg);
    fprintf(stderr, "error: %s (code %d)\n", msg, err->code);
    if (!json_is_object(err->data))
        return;
    const char *k;
    json_t *v;
    json_object_foreach(err->data, k, v) {
        char val[1024];
        scalar_text(val, sizeof val, k, v);
        sanitize(val);
        fprintf(stderr, "  %s: %s\n", k, val);
    }
}

/* Call a method; params is stolen (may be NULL). Returns 0 with *result (the
 * caller decrefs), or an exit status after printing the error. If nf is not
 * NULL and the node answers -32001 (not found), *nf is set and 0 returned
 * with *result NULL, without printing. */
static int call_ex(const char *method, json_t *params, json_t **result, int *nf,
                   unsigned timeout_ms)
{
    *result = NULL;
    if (nf)
        *nf = 0;
    int rc = connect_node();
    if (rc) {
        json_decref(params);
        return rc;
    }
    rp_rpc_set_timeout(G.rpc, timeout_ms);
    rp_rpc_error err;
    rc = rp_rpc_call(G.rpc, method, params, result, &err);
    json_decref(params);
    if (rc == 0)
        return 0;
    if (rc == RP_RPC_REPLY_ERROR) {
        if (nf && err.code == -32001) {
            *nf = 1;
            rp_rpc_error_clear(&err);
            return 0;
        }
        print_rpc_error(&err);
        rp_rpc_error_clear(&err);
        return EXIT_FAIL;
    }
    fprintf(stderr, "error: %s (node at %s)\n", err.message, socket_path());
    rp_rpc_close(G.rpc);
    G.rpc = NULL;
    return EXIT_CONNECT;
}

static int call(const char *method, json_t *params, json_t **result)
{
    return call_ex(method, params, result, NULL, CALL_TIMEOUT_MS);
}

/* Print a result as JSON (--json) or key: value lines. */
static int show(json_t *result)
{
    if (G.json)
        return print_json(result);
    print_kv(result);
    return 0;
}

/* A field the node must send. Returns 0, or EXIT_FAIL after a message. */
static int need_u64(const json_t *obj, const char *method, const char *key, uint64_t *out)
{
    int rc = rp_rpc_get_u64(obj, key, out);
    if (rc == -ENOENT)
        return fail("%s did not return \"%s\" (docs/rpc.md): is the node older than this "
                    "client?",
                    method, key);
    if (rc)
        return fail("%s returned a malformed \"%s\"", method, key);
    return 0;
}

static int need_hex32(const json_t *obj, const char *method, const char *key,
                      unsigned char out[32])
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return fail("%s did not return \"%s\" (docs/rpc.md)", method, key);
    if (parse_hex32(s, out) != 0)
        return fail("%s returned a malformed \"%s\"", method, key);
    return 0;
}

/* ---- signing --------------------------------------------------------------------------------- */

/* Options every signing command shares. */
struct sign_opts {
    const char *key, *as, *pass_env, *seq, *out, *timeout;
    int no_wait;
};

/* Option table entries that fill a struct sign_opts so: the signing options,
 * and those of the commands that submit what they sign. */
/* clang-format off */
#define SIGN_OPT_TABLE(so)                                                                         \
    {.name = "key", .value = &(so).key},                                                           \
    {.name = "as", .value = &(so).as},                                                             \
    {.name = "passphrase-env", .value = &(so).pass_env},                                           \
    {.name = "seq", .value = &(so).seq}

#define SUBMIT_OPT_TABLE(so)                                                                       \
    {.name = "out", .value = &(so).out},                                                           \
    {.name = "no-wait", .flag = &(so).no_wait},                                                    \
    {.name = "timeout", .value = &(so).timeout}
/* clang-format on */

/* What a signing command learns before it signs. */
struct signer {
    rp_pubkey key;      /* the key file's public key */
    rp_pubkey identity; /* the issuer: --as, or the key */
    rp_hash chain_id;
    uint64_t seq;       /* the record's sequence */
    int registered;     /* identity.get knows the issuer (on chain or pending) */
    json_t *info;       /* node.info */
    json_t *ident;      /* identity.get of the issuer, or NULL */
    unsigned timeout_ms;
};

static void signer_free(struct signer *s)
{
    json_decref(s->info);
    json_decref(s->ident);
    memset(s, 0, sizeof *s);
}

static int check_sign_opts(const struct sign_opts *so, const char *usage, int need_key)
{
    if (need_key && !so->key)
        return usage_error(usage, "missing --key FILE");
    uint64_t v;
    if (so->seq && (parse_u64(so->seq, &v) != 0 || v == 0))
        return usage_error(usage, "--seq needs a sequence number from 1");
    if (so->as) {
        rp_pubkey pk;
        if (parse_hex32(so->as, pk.bytes) != 0)
            return usage_error(usage, "--as needs an identity: 64 hex digits");
    }
    if (so->timeout && (parse_u64(so->timeout, &v) != 0 || v == 0 || v > 60000))
        return usage_error(usage, "--timeout needs milliseconds, 1-60000");
    if (so->timeout && so->no_wait)
        return usage_error(usage, "--timeout and --no-wait contradict each other");
    if (so->out && (so->no_wait || so->timeout))
        return usage_error(usage, "--out writes the record instead of submitting it; "
                                  "--no-wait and --timeout do not apply");
    return -1;
}

/* Parse a signing command whose signer is --key: its options (parse_command),
 * then the signing options it shares with the others (check_sign_opts).
 * Returns -1 to go on, or the exit status to return now. */
static int parse_signing(int argc, char **argv, const rp_cmdline_opt *opts, size_t nopts,
                         const char *usage, const struct sign_opts *so)
{
    int rc = parse_command(argc, argv, opts, nopts, usage, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    return check_sign_opts(so, usage, 1);
}

/* Ask the node for the chain id and the issuer's state; work out the
 * sequence. key_path may be NULL when --as names the identity (rotation by
 * recovery). Returns 0 or an exit status. */
static int signer_open(struct signer *s, const struct sign_opts *so, const char *key_path,
                       int must_be_registered)
{
    memset(s, 0, sizeof *s);
    int rc;
    if (key_path && (rc = key_public(key_path, &s->key)) != 0)
        return rc;
    if (so->as)
        parse_hex32(so->as, s->identity.bytes);
    else
        s->identity = s->key;
    if ((rc = call("node.info", NULL, &s->info)) != 0)
        return rc;
    if ((rc = need_hex32(s->info, "node.info", "chain_id", s->chain_id.bytes)) != 0)
        return rc;
    char id[65];
    hex32(id, s->identity.bytes);
    int nf = 0;
    if ((rc = call_ex("identity.get", json_pack("{s:s}", "identity", id), &s->ident, &nf,
                      CALL_TIMEOUT_MS)) != 0)
        return rc;
    s->registered = !nf;
    if (nf && must_be_registered)
        return fail("identity %s is not registered on this chain: register it first with "
                    "'repute-cli identity'%s",
                    id, so->as ? "" : " (or, if the key was rotated to, add --as IDENTITY)");
    if (so->seq) {
        parse_u64(so->seq, &s->seq);
    } else if (nf) {
        s->seq = 1;
    } else if ((rc = need_u64(s->ident, "identity.get", "next_seq", &s->seq)) != 0) {
        return rc;
    }
    /* The key must be the identity's current one, or the node refuses the
     * signature; say so now rather than after the passphrase. */
    const char *cur = json_string_value(json_object_get(s->ident, "key"));
    if (key_path && cur && json_is_true(json_object_get(s->ident, "registered"))) {
        char mine[65];
        hex32(mine, s->key.bytes);
        if (strcmp(cur, mine) != 0)
            return fail("%s holds key %.16s..., but identity %.16s... now signs with key "
                        "%.16s... (rotated?)",
                        key_path, mine, id, cur);
    }
    uint64_t t = DEFAULT_WAIT_MS;
    if (so->timeout)
        parse_u64(so->timeout, &t);
    s->timeout_ms = (unsigned)t;
    return 0;
}

static void record_base(rp_record *r, const struct signer *s, unsigned type)
{
    memset(r, 0, sizeof *r);
    r->version = RP_RECORD_VERSION;
    r->type = (uint8_t)type;
    r->issuer = s->identity;
    r->seq = s->seq;
    r->time = (uint64_t)time(NULL);
}

/* Check a record before it is signed. Returns 0 or EXIT_FAIL. */
static int check_record(const rp_record *r)
{
    const char *field = NULL;
    int rc = rp_record_check(r, &field);
    if (rc)
        return fail("the record would be invalid: %s: %s", field ? field : "?", rp_strerror(rc));
    return 0;
}

/* The environment variable that holds the passphrase of --key. */
static const char *pass_env(const struct sign_opts *so)
{
    return so->pass_env && *so->pass_env ? so->pass_env : "REPUTE_PASSPHRASE";
}

/* Sign slot of r with the key file, wiping the secret afterwards. */
static int sign_slot(rp_record *r, size_t slot, const struct signer *s, const char *key_path,
                     const char *env_name)
{
    rp_seckey *sk = sodium_malloc(sizeof *sk);
    if (!sk)
        return fail("out of memory");
    rp_pubkey pk;
    int rc = key_unseal(key_path, env_name, sk, &pk);
    if (rc == 0) {
        unsigned char aux[32];
        rp_aux_fresh(aux);
        int k = rp_record_sign(r, slot, &s->chain_id, sk, aux);
        if (k)
            rc = fail("cannot sign: %s", rp_strerror(k));
    }
    sodium_memzero(sk, sizeof *sk);
    sodium_free(sk);
    return rc;
}

static int record_hex(const rp_record *r, char *hex, size_t cap)
{
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    int rc = rp_record_encode(r, buf, sizeof buf, &len);
    if (rc)
        return fail("cannot encode the record: %s", rp_strerror(rc));
    rp_hex_encode(hex, cap, buf, len);
    return 0;
}

/* Submit a record's hex and print the outcome. */
static int submit_hex(const char *hex, int wait, unsigned timeout_ms, const char *identity_line)
{
    json_t *params = json_pack("{s:s}", "record", hex);
    if (wait) {
        json_object_set_new(params, "wait", json_true());
        json_object_set_new(params, "timeout_ms", json_integer(timeout_ms));
    }
    json_t *res;
    int rc = call_ex("record.submit", params, &res, NULL,
                     wait ? timeout_ms + CALL_TIMEOUT_MS : CALL_TIMEOUT_MS);
    if (rc)
        return rc;
    if (identity_line) { /* the identity first: it is what `identity` is about */
        json_t *o = json_pack("{s:s}", "identity", identity_line);
        json_object_update(o, res);
        json_decref(res);
        res = o;
    }
    rc = show(res);
    json_decref(res);
    return rc;
}

/* The end of every signing command: write the record or submit it. */
static int finish_record(const rp_record *r, const struct signer *s, const struct sign_opts *so,
                         const char *identity_line)
{
    char hex[2 * RP_RECORD_MAX_SIZE + 1];
    int rc = record_hex(r, hex, sizeof hex);
    if (rc)
        return rc;
    if (!so->out)
        return submit_hex(hex, !so->no_wait, s->timeout_ms, identity_line);
    rp_hash id;
    rp_record_id(&id, &s->chain_id, r);
    char idh[65];
    hex32(idh, id.bytes);
    if ((rc = write_text_file(so->out, hex)) != 0)
        return rc;
    if (strcmp(so->out, "-") != 0) {
        if (G.json) {
            json_t *j = json_pack("{s:s,s:s}", "id", idh, "file", so->out);
            rc = print_json(j);
            json_decref(j);
        } else {
            printf("id    %s\nfile  %s (signed, not submitted: repute-cli submit %s)\n", idh,
                   so->out, so->out);
        }
    }
    return rc;
}

/* The end of a record that its issuer alone signs with --key (review, vouch,
 * revoke): check it, sign slot 0, then write or submit it. */
static int sign_and_finish(rp_record *r, const struct signer *s, const struct sign_opts *so)
{
    int rc;
    if ((rc = check_record(r)) != 0 || (rc = sign_slot(r, 0, s, so->key, pass_env(so))) != 0)
        return rc;
    return finish_record(r, s, so, NULL);
}

/* ---- keygen -------------------------------------------------------------------------------- */

static int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL, *env = NULL, *kdf = NULL;
    const rp_cmdline_opt opts[] = {{.name = "out", .value = &out},
                                   {.name = "passphrase-env", .value = &env},
                                   {.name = "kdf", .value = &kdf}};
    int rc = parse_command(argc, argv, opts, 3, usage_keygen, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    if (!out)
        return usage_error(usage_keygen, "missing --out FILE");
    uint64_t ops = RP_KDF_OPS_MODERATE, mem = RP_KDF_MEM_MODERATE;
    if (kdf && !strcmp(kdf, "interactive"))
        ops = RP_KDF_OPS_INTERACTIVE, mem = RP_KDF_MEM_INTERACTIVE;
    else if (kdf && strcmp(kdf, "moderate") != 0)
        return usage_error(usage_keygen, "--kdf is moderate or interactive");
    if (!env || !*env)
        env = "REPUTE_PASSPHRASE";
    struct stat st;
    if (lstat(out, &st) == 0)
        return fail("%s exists: key files are never overwritten", out);

    char *pass = sodium_malloc(PASS_MAX + 1);
    rp_seckey *sk = sodium_malloc(sizeof *sk);
    if (!pass || !sk) {
        sodium_free(pass);
        sodium_free(sk);
        return fail("out of memory");
    }
    size_t plen = 0;
    rp_pubkey pk;
    rc = get_passphrase(env, out, 1, pass, PASS_MAX + 1, &plen);
    if (rc == 0) {
        int k = rp_seckey_generate(sk);
        if (!k)
            k = rp_pubkey_from_seckey(&pk, sk);
        if (!k)
            k = rp_keyfile_write(out, sk, pass, plen, ops, mem);
        if (k == -EEXIST)
            rc = fail("%s exists: key files are never overwritten", out);
        else if (k)
            rc = fail("cannot write %s: %s", out, rp_strerror(k));
    }
    sodium_memzero(sk, sizeof *sk);
    sodium_free(sk);
    sodium_free(pass);
    if (rc)
        return rc;
    char id[65];
    hex32(id, pk.bytes);
    if (G.json) {
        json_t *j = json_pack("{s:s,s:s}", "identity", id, "file", out);
        rc = print_json(j);
        json_decref(j);
        return rc;
    }
    printf("identity  %s\nkey file  %s (encrypted; keep it and its passphrase safe)\n", id, out);
    if (plen == 0 && !getenv(env))
        note("warning: the passphrase is empty: only the file's permissions protect the key");
    return 0;
}

/* ---- identity ------------------------------------------------------------------------------ */

static int cmd_identity(int argc, char **argv)
{
    struct sign_opts so = {0};
    const char *role = NULL, *name = NULL, *profile = NULL, *recovery = NULL, *pow = NULL;
    const rp_cmdline_opt opts[] = {
        SIGN_OPT_TABLE(so),
        SUBMIT_OPT_TABLE(so),
        {.name = "role", .value = &role},
        {.name = "name", .value = &name},
        {.name = "profile", .value = &profile},
        {.name = "recovery-key", .value = &recovery},
        {.name = "pow-difficulty", .value = &pow},
    };
    int rc = parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0], usage_identity, &so);
    if (rc >= 0)
        return rc;
    uint8_t role_v = 0;
    if (role && parse_enum(role, role_names, 3, &role_v) != 0)
        return usage_error(usage_identity, "--role is talent, agent or brand");
    if (name && (strlen(name) > RP_NAME_MAX ||
                 !rp_utf8_valid((const unsigned char *)name, strlen(name))))
        return usage_error(usage_identity, "--name must be 1-%d bytes of UTF-8", RP_NAME_MAX);
    rp_hash profile_v;
    memset(&profile_v, 0, sizeof profile_v);
    if (profile && parse_hex32(profile, profile_v.bytes) != 0)
        return usage_error(usage_identity, "--profile needs 64 hex digits");
    uint64_t difficulty = 0;
    if (pow && (parse_u64(pow, &difficulty) != 0 || difficulty > RP_POW_MAX_DIFFICULTY))
        return usage_error(usage_identity, "--pow-difficulty needs 0-%d", RP_POW_MAX_DIFFICULTY);

    rp_hash rec_commit;
    memset(&rec_commit, 0, sizeof rec_commit);
    if (recovery) {
        rp_pubkey rk;
        if ((rc = pubkey_arg(recovery, &rk)) != 0)
            return rc;
        rp_recovery_commitment(&rec_commit, &rk);
    }

    struct signer s;
    if ((rc = signer_open(&s, &so, so.key, 0)) != 0)
        goto out;
    rp_record r;
    record_base(&r, &s, RP_REC_IDENTITY);
    rp_identity_body *b = &r.body.identity;
    if (s.seq == 1) {
        if (!role || !name) {
            rc = usage_error(usage_identity, "registering needs --role and --name");
            goto out;
        }
        if (!pow && (rc = need_u64(s.info, "node.info", "pow_difficulty", &difficulty)) != 0) {
            note("hint: give --pow-difficulty N (the genesis params.pow_difficulty)");
            goto out;
        }
    } else {
        /* An update keeps what it does not change. */
        const json_t *id = s.ident;
        const char *cur_role = json_string_value(json_object_get(id, "role"));
        const char *cur_name = json_string_value(json_object_get(id, "name"));
        const char *cur_prof = json_string_value(json_object_get(id, "profile"));
        const char *cur_rec = json_string_value(json_object_get(id, "recovery"));
        if (!role && (!cur_role || parse_enum(cur_role, role_names, 3, &role_v) != 0)) {
            rc = fail("identity.get did not say the current role: give --role");
            goto out;
        }
        if (!name && !(name = cur_name)) {
            rc = fail("identity.get did not say the current name: give --name");
            goto out;
        }
        if (!profile && cur_prof && parse_hex32(cur_prof, profile_v.bytes) != 0) {
            rc = fail("identity.get returned a malformed profile");
            goto out;
        }
        rp_hash cur;
        memset(&cur, 0, sizeof cur);
        if (cur_rec && parse_hex32(cur_rec, cur.bytes) != 0) {
            rc = fail("identity.get returned a malformed recovery commitment");
            goto out;
        }
        static const rp_hash zero;
        if (!recovery) {
            rec_commit = cur;
        } else if (!rp_hash_eq(&cur, &zero) && !rp_hash_eq(&cur, &rec_commit)) {
            rc = fail("the identity already commits to another recovery key; only a rotation "
                      "signed by that key changes it (repute-cli rotate --by-recovery)");
            goto out;
        }
    }
    b->role = role_v;
    b->name_len = (uint8_t)strlen(name);
    memcpy(b->name, name, b->name_len);
    b->profile = profile_v;
    b->recovery = rec_commit;
    if (b->name_len == 0) {
        rc = usage_error(usage_identity, "--name must not be empty");
        goto out;
    }
    if ((rc = check_record(&r)) != 0)
        goto out;
    if (s.seq == 1) {
        if (difficulty > 16 && !G.json)
            note("solving the proof of work (%" PRIu64 " bits)...", difficulty);
        int k = rp_identity_pow_solve(&r, &s.chain_id, (unsigned)difficulty, POW_MAX_TRIES);
        if (k) {
            rc = fail("proof of work: %s", rp_strerror(k));
            goto out;
        }
    }
    if ((rc = sign_slot(&r, 0, &s, so.key, pass_env(&so))) != 0)
        goto out;
    char idh[65];
    hex32(idh, s.identity.bytes);
    rc = finish_record(&r, &s, &so, idh);
out:
    signer_free(&s);
    return rc;
}

/* ---- engage and cosign ------------------------------------------------------------------------ */

static int cmd_engage(int argc, char **argv)
{
    struct sign_opts so = {0};
    const char *with = NULL, *kind = NULL, *terms = NULL, *expires = NULL;
    const rp_cmdline_opt opts[] = {
        SIGN_OPT_TABLE(so),
        {.name = "out", .value = &so.out},
        {.name = "with", .value = &with},
        {.name = "kind", .value = &kind},
        {.name = "terms", .value = &terms},
        {.name = "expires-in", .value = &expires},
    };
    int rc = parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0], usage_engage, &so);
    if (rc >= 0)
        return rc;
    rp_pubkey cp;
    if (!with || parse_hex32(with, cp.bytes) != 0)
        return usage_error(usage_engage, "--with needs the counterparty's identity (64 hex)");
    uint8_t kind_v;
    if (!kind || parse_enum(kind, kind_names, 5, &kind_v) != 0)
        return usage_error(usage_engage,
                           "--kind is gig, representation, sponsorship, licensing or other");
    rp_hash terms_v;
    memset(&terms_v, 0, sizeof terms_v);
    if (terms && parse_hex32(terms, terms_v.bytes) != 0)
        return usage_error(usage_engage, "--terms needs 64 hex digits");
    uint64_t ttl = DEFAULT_TTL_S;
    if (expires && (parse_duration(expires, &ttl) != 0 || ttl == 0))
        return usage_error(usage_engage, "--expires-in needs a duration such as 90m, 12h or 2d");

    struct signer s;
    if ((rc = signer_open(&s, &so, so.key, 1)) != 0)
        goto out;
    if (!memcmp(cp.bytes, s.identity.bytes, 32)) {
        rc = fail("an engagement needs two distinct parties");
        goto out;
    }
    uint64_t max_ttl;
    if (rp_rpc_get_u64(s.info, "max_engagement_ttl_s", &max_ttl) == 0 && ttl > max_ttl) {
        char span[64];
        format_span(span, sizeof span, max_ttl);
        rc = fail("--expires-in is longer than this chain allows (%s)", span);
        goto out;
    }
    json_t *other;
    int nf;
    if ((rc = call_ex("identity.get", json_pack("{s:s}", "identity", with), &other, &nf,
                      CALL_TIMEOUT_MS)) != 0)
        goto out;
    json_decref(other);
    if (nf) {
        rc = fail("the counterparty %s is not registered on this chain", with);
        goto out;
    }
    rp_record r;
    record_base(&r, &s, RP_REC_ENGAGEMENT);
    r.body.engagement.counterparty = cp;
    r.body.engagement.kind = kind_v;
    r.body.engagement.terms = terms_v;
    r.body.engagement.expiry = r.time + ttl;
    if ((rc = check_record(&r)) != 0 || (rc = sign_slot(&r, 0, &s, so.key, pass_env(&so))) != 0)
        goto out;
    char hex[2 * RP_RECORD_MAX_SIZE + 1], idh[65], when[64];
    rp_hash id;
    rp_record_id(&id, &s.chain_id, &r);
    hex32(idh, id.bytes);
    if ((rc = record_hex(&r, hex, sizeof hex)) != 0)
        goto out;
    format_time(when, sizeof when, r.body.engagement.expiry);
    if (G.json && !so.out) {
        char exp[24];
        snprintf(exp, sizeof exp, "%" PRIu64, r.body.engagement.expiry);
        json_t *j = json_pack("{s:s,s:s,s:s}", "id", idh, "record", hex, "expiry", exp);
        rc = print_json(j);
        json_decref(j);
        goto out;
    }
    if (so.out && (rc = write_text_file(so.out, hex)) != 0)
        goto out;
    if (!so.out)
        puts(hex);
    FILE *msg = so.out && strcmp(so.out, "-") ? stdout : stderr;
    fprintf(msg, "engagement %s (sequence %" PRIu64 "), signed by you; expires %s.\n", idh,
            r.seq, when);
    fprintf(msg, "Next: the counterparty runs  repute-cli cosign --key THEIR_KEY %s --submit\n",
            so.out && strcmp(so.out, "-") ? so.out : "HEX");
out:
    signer_free(&s);
    return rc;
}

static int cmd_cosign(int argc, char **argv)
{
    struct sign_opts so = {0};
    int submit = 0;
    const char *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {
        SIGN_OPT_TABLE(so), SUBMIT_OPT_TABLE(so), {.name = "submit", .flag = &submit}};
    int rc = parse_command(argc, argv, opts, sizeof opts / sizeof opts[0], usage_cosign, pos, 1,
                           1, &npos, "the RECORD to co-sign (hex or a file)");
    if (rc >= 0)
        return rc;
    if (so.out && submit)
        return usage_error(usage_cosign, "--out and --submit exclude each other");
    if ((so.no_wait || so.timeout) && !submit)
        return usage_error(usage_cosign, "--no-wait and --timeout need --submit");
    struct sign_opts chk = so;
    chk.out = NULL;
    if ((rc = check_sign_opts(&chk, usage_cosign, 1)) >= 0)
        return rc;
    if (so.seq)
        return usage_error(usage_cosign, "--seq does not apply: the initiator's sequence is "
                                         "in the record");

    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    if ((rc = read_hex_arg(pos[0], "record", buf, sizeof buf, &len)) != 0)
        return rc;
    rp_record r;
    const char *field = NULL;
    int k = rp_record_decode(&r, buf, len, &field);
    if (k)
        return fail("not a valid record: %s: %s", field ? field : "?", rp_strerror(k));
    if (r.type != RP_REC_ENGAGEMENT)
        return fail("this is a %s record, not an engagement", rp_record_type_name(r.type));
    static const rp_sig nosig;
    if (!memcmp(&r.sigs[0], &nosig, sizeof nosig))
        return fail("the initiator has not signed this engagement");
    if (memcmp(&r.sigs[1], &nosig, sizeof nosig) != 0)
        return fail("this engagement is co-signed already: submit it with repute-cli submit");

    struct signer s;
    if ((rc = signer_open(&s, &so, so.key, 1)) != 0)
        goto out;
    char me[65], initiator[65], cp[65], idh[65];
    hex32(me, s.identity.bytes);
    hex32(initiator, r.issuer.bytes);
    hex32(cp, r.body.engagement.counterparty.bytes);
    if (strcmp(me, cp) != 0) {
        rc = fail("this engagement names %s as the counterparty, not you (%s)", cp, me);
        goto out;
    }
    rp_hash id;
    rp_record_id(&id, &s.chain_id, &r);
    hex32(idh, id.bytes);
    /* The initiator's signature, against its current key. */
    json_t *ini = NULL;
    int nf;
    if ((rc = call_ex("identity.get", json_pack("{s:s}", "identity", initiator), &ini, &nf,
                      CALL_TIMEOUT_MS)) != 0)
        goto out;
    rp_pubkey ikey;
    if (nf) {
        rc = fail("the initiator %s is not registered on this chain", initiator);
        goto out;
    }
    /* A registration still pending has no key on chain yet: its key is its name. */
    if (json_object_get(ini, "key") || json_is_true(json_object_get(ini, "registered")))
        rc = need_hex32(ini, "identity.get", "key", ikey.bytes);
    else
        ikey = r.issuer;
    char idesc[160] = "";
    const char *iname = json_string_value(json_object_get(ini, "name"));
    const char *irole = json_string_value(json_object_get(ini, "role"));
    if (iname)
        snprintf(idesc, sizeof idesc, " \"%s\" (%s)", iname, irole ? irole : "?");
    json_decref(ini);
    if (rc)
        goto out;
    if (!rp_verify(&r.sigs[0], id.bytes, 32, &ikey)) {
        rc = fail("the initiator's signature does not verify against its current key: the "
                  "record was changed, or is for another chain");
        goto out;
    }
    uint64_t now = (uint64_t)time(NULL);
    char when[64], terms[65], left[64];
    format_time(when, sizeof when, r.body.engagement.expiry);
    hex32(terms, r.body.engagement.terms.bytes);
    if (r.body.engagement.expiry <= now) {
        rc = fail("this engagement expired at %s", when);
        goto out;
    }
    format_span(left, sizeof left, r.body.engagement.expiry - now);
    if (!G.json) {
        FILE *msg = submit || (so.out && strcmp(so.out, "-")) ? stdout : stderr;
        char signed_at[64];
        format_time(signed_at, sizeof signed_at, r.time);
        fprintf(msg,
                "engagement    %s\n"
                "initiator     %s%s (signature OK)\n"
                "counterparty  %s (you)\n"
                "kind          %s\n"
                "terms hash    %s\n"
                "created       %s\n"
                "expires       %s (in %s)\n%s",
                idh, initiator, idesc, cp,
                enum_name(kind_names, 5, r.body.engagement.kind), terms, signed_at, when, left,
                submit ? "\n" : "");
    }
    if ((rc = sign_slot(&r, 1, &s, so.key, pass_env(&so))) != 0)
        goto out;
    if (submit) {
        rc = finish_record(&r, &s, &so, NULL);
        goto out;
    }
    char hex[2 * RP_RECORD_MAX_SIZE + 1];
    if ((rc = record_hex(&r, hex, sizeof hex)) != 0)
        goto out;
    if (G.json && !so.out) {
        json_t *j = json_pack("{s:s,s:s}", "id", idh, "record", hex);
        rc = print_json(j);
        json_decref(j);
        goto out;
    }
    if (so.out)
        rc = write_text_file(so.out, hex);
    else
        puts(hex);
    if (rc == 0 && !G.json)
        fprintf(so.out && strcmp(so.out, "-") ? stdout : stderr,
                "co-signed; either party submits it:  repute-cli submit %s --wait\n",
                so.out && strcmp(so.out, "-") ? so.out : "HEX");
out:
    signer_free(&s);
    return rc;
}

/* ---- review, vouch, revoke --------------------------------------------------------------------- */

static int parse_rating(const char *s, const char *what, uint8_t *out, const char *usage)
{
    uint64_t v;
    if (parse_u64(s, &v) != 0 || v < 1 || v > 5)
        return usage_error(usage, "%s needs 1 to 5", what);
    *out = (uint8_t)v;
    return -1;
}

static int cmd_review(int argc, char **argv)
{
    struct sign_opts so = {0};
    const char *eng = NULL, *rating = NULL, *dims[RP_REVIEW_DIMS] = {NULL}, *comment = NULL;
    const rp_cmdline_opt opts[] = {
        SIGN_OPT_TABLE(so),
        SUBMIT_OPT_TABLE(so),
        {.name = "engagement", .value = &eng},
        {.name = "rating", .value = &rating},
        {.name = "quality", .value = &dims[RP_DIM_QUALITY]},
        {.name = "reliability", .value = &dims[RP_DIM_RELIABILITY]},
        {.name = "communication", .value = &dims[RP_DIM_COMMUNICATION]},
        {.name = "payment", .value = &dims[RP_DIM_PAYMENT]},
        {.name = "comment-hash", .value = &comment},
    };
    static const char *const dim_opts[RP_REVIEW_DIMS] = {"--quality", "--reliability",
                                                          "--communication", "--payment"};
    int rc = parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0], usage_review, &so);
    if (rc >= 0)
        return rc;
    rp_hash eng_id;
    if (!eng || parse_hex32(eng, eng_id.bytes) != 0)
        return usage_error(usage_review, "--engagement needs the engagement's record id (64 hex)");
    if (!rating)
        return usage_error(usage_review, "missing --rating 1-5");
    uint8_t overall = 0, dim_v[RP_REVIEW_DIMS] = {0};
    if ((rc = parse_rating(rating, "--rating", &overall, usage_review)) >= 0)
        return rc;
    for (size_t i = 0; i < RP_REVIEW_DIMS; i++)
        if (dims[i] && (rc = parse_rating(dims[i], dim_opts[i], &dim_v[i], usage_review)) >= 0)
            return rc;
    rp_hash comment_v;
    memset(&comment_v, 0, sizeof comment_v);
    if (comment && parse_hex32(comment, comment_v.bytes) != 0)
        return usage_error(usage_review, "--comment-hash needs 64 hex digits");

    struct signer s;
    if ((rc = signer_open(&s, &so, so.key, 1)) != 0)
        goto out;
    /* The engagement, decoded from its own bytes: the subject is the other party. */
    json_t *er = NULL;
    int nf;
    if ((rc = call_ex("record.get", json_pack("{s:s}", "id", eng), &er, &nf, CALL_TIMEOUT_MS)) !=
        0)
        goto out;
    if (nf) {
        rc = fail("the node knows no record %s", eng);
        goto out;
    }
    const char *ehex = json_string_value(json_object_get(er, "hex"));
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len = 0;
    rp_record e;
    if (!ehex || rp_hex_decode_var(buf, sizeof buf, &len, ehex, strlen(ehex)) != 0 ||
        rp_record_decode(&e, buf, len, NULL) != 0) {
        json_decref(er);
        rc = fail("record.get returned no valid \"hex\" for %s", eng);
        goto out;
    }
    json_decref(er);
    if (e.type != RP_REC_ENGAGEMENT) {
        rc = fail("%s is a %s record, not an engagement", eng, rp_record_type_name(e.type));
        goto out;
    }
    rp_pubkey subject;
    if (!memcmp(e.issuer.bytes, s.identity.bytes, 32))
        subject = e.body.engagement.counterparty;
    else if (!memcmp(e.body.engagement.counterparty.bytes, s.identity.bytes, 32))
        subject = e.issuer;
    else {
        char me[65];
        hex32(me, s.identity.bytes);
        rc = fail("you (%s) are not a party of engagement %s", me, eng);
        goto out;
    }
    rp_record r;
    record_base(&r, &s, RP_REC_REVIEW);
    r.body.review.engagement = eng_id;
    r.body.review.subject = subject;
    r.body.review.overall = overall;
    memcpy(r.body.review.dims, dim_v, sizeof dim_v);
    r.body.review.comment = comment_v;
    rc = sign_and_finish(&r, &s, &so);
out:
    signer_free(&s);
    return rc;
}

static int cmd_vouch(int argc, char **argv)
{
    struct sign_opts so = {0};
    const char *who = NULL, *relation = NULL;
    const rp_cmdline_opt opts[] = {SIGN_OPT_TABLE(so),
                                   SUBMIT_OPT_TABLE(so),
                                   {.name = "for", .value = &who},
                                   {.name = "relation", .value = &relation}};
    int rc = parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0], usage_vouch, &so);
    if (rc >= 0)
        return rc;
    rp_pubkey subject;
    if (!who || parse_hex32(who, subject.bytes) != 0)
        return usage_error(usage_vouch, "--for needs an identity (64 hex)");
    uint8_t rel = RP_VOUCH_KNOWS;
    if (relation && parse_enum(relation, relation_names, 3, &rel) != 0)
        return usage_error(usage_vouch, "--relation is knows, represents or worked-with");
    struct signer s;
    if ((rc = signer_open(&s, &so, so.key, 1)) == 0) {
        rp_record r;
        record_base(&r, &s, RP_REC_VOUCH);
        r.body.vouch.subject = subject;
        r.body.vouch.relation = rel;
        rc = sign_and_finish(&r, &s, &so);
    }
    signer_free(&s);
    return rc;
}

static int cmd_revoke(int argc, char **argv)
{
    struct sign_opts so = {0};
    const char *target = NULL, *reason = NULL;
    const rp_cmdline_opt opts[] = {SIGN_OPT_TABLE(so),
                                   SUBMIT_OPT_TABLE(so),
                                   {.name = "target", .value = &target},
                                   {.name = "reason", .value = &reason}};
    int rc = parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0], usage_revoke, &so);
    if (rc >= 0)
        return rc;
    rp_hash t;
    if (!target || parse_hex32(target, t.bytes) != 0)
        return usage_error(usage_revoke, "--target needs a record id (64 hex)");
    uint8_t why = RP_REVOKE_OTHER;
    if (reason && parse_enum(reason, reason_names, 4, &why) != 0)
        return usage_error(usage_revoke, "--reason is mistake, resolved, disputed or other");
    struct signer s;
    if ((rc = signer_open(&s, &so, so.key, 1)) == 0) {
        rp_record r;
        record_base(&r, &s, RP_REC_REVOKE);
        r.body.revoke.target = t;
        r.body.revoke.reason = why;
        rc = sign_and_finish(&r, &s, &so);
    }
    signer_free(&s);
    return rc;
}

/* ---- rotate ----------------------------------------------------------------------------------- */

static int cmd_rotate(int argc, char **argv)
{
    struct sign_opts so = {0};
    const char *new_key = NULL, *recovery_key = NULL, *new_recovery = NULL;
    int by_recovery = 0;
    const rp_cmdline_opt opts[] = {
        SIGN_OPT_TABLE(so),
        SUBMIT_OPT_TABLE(so),
        {.name = "new-key", .value = &new_key},
        {.name = "by-recovery", .flag = &by_recovery},
        {.name = "recovery-key", .value = &recovery_key},
        {.name = "new-recovery-key", .value = &new_recovery},
    };
    int rc = parse_command(argc, argv, opts, sizeof opts / sizeof opts[0], usage_rotate, NULL, 0,
                           0, NULL, "");
    if (rc >= 0)
        return rc;
    if ((rc = check_sign_opts(&so, usage_rotate, !by_recovery)) >= 0)
        return rc;
    if (!new_key)
        return usage_error(usage_rotate, "missing --new-key FILE");
    if (by_recovery && !recovery_key)
        return usage_error(usage_rotate, "--by-recovery needs --recovery-key FILE");
    if (!by_recovery && recovery_key)
        return usage_error(usage_rotate, "--recovery-key signs only with --by-recovery");
    if (by_recovery && !so.key && !so.as)
        return usage_error(usage_rotate, "--by-recovery needs the identity: --as IDENTITY, or "
                                         "--key FILE (only its public key is read)");
    rp_pubkey nk, rk;
    rp_hash new_commit;
    memset(&new_commit, 0, sizeof new_commit);
    if ((rc = pubkey_arg(new_key, &nk)) != 0)
        return rc;
    if (new_recovery) {
        rp_pubkey nr;
        if ((rc = pubkey_arg(new_recovery, &nr)) != 0)
            return rc;
        rp_recovery_commitment(&new_commit, &nr);
    }
    if (by_recovery && (rc = key_public(recovery_key, &rk)) != 0)
        return rc;

    /* By recovery, the signing key is the recovery key, and --key (if any)
     * only names the identity: its public key is read, nothing decrypted. */
    char named_hex[65];
    if (by_recovery && !so.as) {
        rp_pubkey named;
        if ((rc = key_public(so.key, &named)) != 0)
            return rc;
        hex32(named_hex, named.bytes);
        so.as = named_hex;
    }
    struct signer s;
    if ((rc = signer_open(&s, &so, by_recovery ? NULL : so.key, 1)) != 0)
        goto out;
    rp_hash cur;
    memset(&cur, 0, sizeof cur);
    const char *cur_rec = json_string_value(json_object_get(s.ident, "recovery"));
    if (cur_rec && parse_hex32(cur_rec, cur.bytes) != 0) {
        rc = fail("identity.get returned a malformed recovery commitment");
        goto out;
    }
    static const rp_hash zero;
    if (by_recovery) {
        rp_hash c;
        rp_recovery_commitment(&c, &rk);
        if (!rp_hash_eq(&c, &cur)) {
            if (rp_hash_eq(&cur, &zero))
                rc = fail("this identity has no recovery key");
            else
                rc = fail("%s is not the recovery key this identity committed to",
                          recovery_key);
            goto out;
        }
        if (!new_recovery)
            note("warning: no --new-recovery-key: after this rotation the identity has no "
                 "recovery key");
    } else if (!new_recovery) {
        new_commit = cur; /* kept, as the rules require */
    } else if (!rp_hash_eq(&cur, &zero) && !rp_hash_eq(&cur, &new_commit)) {
        rc = fail("a rotation signed by the current key cannot change the recovery key; use "
                  "--by-recovery, or leave out --new-recovery-key");
        goto out;
    }
    rp_record r;
    record_base(&r, &s, RP_REC_ROTATE);
    r.body.rotate.new_key = nk;
    r.body.rotate.new_recovery = new_commit;
    r.body.rotate.auth = by_recovery ? RP_ROTATE_BY_RECOVERY : RP_ROTATE_BY_CURRENT;
    if (by_recovery)
        r.body.rotate.recovery_key = rk;
    if ((rc = check_record(&r)) != 0)
        goto out;
    if ((rc = sign_slot(&r, 0, &s, by_recovery ? recovery_key : so.key, pass_env(&so))) != 0)
        goto out;
    rc = finish_record(&r, &s, &so, NULL);
    if (rc == 0 && !G.json && !so.out)
        note("from now on, sign with the new key file%s",
             so.as ? "" : " and --as IDENTITY (the identity keeps its name)");
out:
    signer_free(&s);
    return rc;
}

/* ---- submit --------------------------------------------------------------------------------- */

static int cmd_submit(int argc, char **argv)
{
    int wait = 0;
    const char *timeout = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "wait", .flag = &wait},
                                   {.name = "timeout", .value = &timeout}};
    int rc = parse_command(argc, argv, opts, 2, usage_submit, pos, 1, 1, &npos,
                           "the RECORD to submit (hex or a file)");
    if (rc >= 0)
        return rc;
    uint64_t t = DEFAULT_WAIT_MS;
    if (timeout && (parse_u64(timeout, &t) != 0 || t == 0 || t > 60000))
        return usage_error(usage_submit, "--timeout needs milliseconds, 1-60000");
    if (timeout && !wait)
        return usage_error(usage_submit, "--timeout needs --wait");
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    if ((rc = read_hex_arg(pos[0], "record", buf, sizeof buf, &len)) != 0)
        return rc;
    rp_record r;
    const char *field = NULL;
    int k = rp_record_decode(&r, buf, len, &field);
    if (k)
        return fail("not a valid record: %s: %s", field ? field : "?", rp_strerror(k));
    char hex[2 * RP_RECORD_MAX_SIZE + 1];
    rp_hex_encode(hex, sizeof hex, buf, len);
    return submit_hex(hex, wait, (unsigned)t, NULL);
}

/* ---- reading ----------------------------------------------------------------------------------- */

/* One positional identity argument. */
static int identity_pos(const char *s, const char *usage)
{
    unsigned char b[32];
    if (parse_hex32(s, b) != 0)
        return usage_error(usage, "'%s' is not an identity (64 hex digits)", s);
    return -1;
}

static int cmd_score(int argc, char **argv)
{
    const char *epoch = NULL, *proof = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "epoch", .value = &epoch},
                                   {.name = "proof", .value = &proof}};
    int rc = parse_command(argc, argv, opts, 2, usage_score, pos, 1, 1, &npos, "the IDENTITY");
    if (rc >= 0)
        return rc;
    if ((rc = identity_pos(pos[0], usage_score)) >= 0)
        return rc;
    uint64_t e = 0;
    if (epoch && (parse_u64(epoch, &e) != 0 || e == 0))
        return usage_error(usage_score, "--epoch needs an epoch number from 1");
    json_t *params = json_pack("{s:s}", "identity", pos[0]);
    if (epoch)
        json_object_set_new(params, "epoch", json_string(epoch));
    if (proof)
        json_object_set_new(params, "proof", json_true());
    json_t *res;
    if ((rc = call("score.get", params, &res)) != 0)
        return rc;
    if (proof) {
        const char *hex = json_string_value(json_object_get(res, "proof"));
        if (!hex) {
            json_decref(res);
            return fail("score.get returned no proof");
        }
        if ((rc = write_text_file(proof, hex)) != 0) {
            json_decref(res);
            return rc;
        }
        json_t *copy = json_copy(res);
        json_object_del(copy, "proof");
        if (!G.json)
            json_object_set_new(copy, "proof",
                                json_sprintf("written to %s (%zu bytes)", proof,
                                             strlen(hex) / 2));
        rc = show(copy);
        json_decref(copy);
        if (!G.json && strcmp(proof, "-") != 0)
            printf("check it offline:  repute-cli verify-proof --genesis %s/genesis.json "
                   "--identity %s %s\n",
                   G.datadir ? G.datadir : "devnet", pos[0], proof);
    } else {
        rc = show(res);
    }
    json_decref(res);
    return rc;
}

static int cmd_top(int argc, char **argv)
{
    const char *role = NULL, *limit = NULL, *offset = NULL;
    const rp_cmdline_opt opts[] = {{.name = "role", .value = &role},
                                   {.name = "limit", .value = &limit},
                                   {.name = "offset", .value = &offset}};
    int rc = parse_command(argc, argv, opts, 3, usage_top, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    uint8_t r;
    uint64_t lim = 20, off = 0;
    if (role && parse_enum(role, role_names, 3, &r) != 0)
        return usage_error(usage_top, "--role is talent, agent or brand");
    if (limit && (parse_u64(limit, &lim) != 0 || lim < 1 || lim > 100))
        return usage_error(usage_top, "--limit needs 1-100");
    if (offset && parse_u64(offset, &off) != 0)
        return usage_error(usage_top, "--offset needs a number");
    json_t *params = json_pack("{s:I}", "limit", (json_int_t)lim);
    if (role)
        json_object_set_new(params, "role", json_string(role));
    if (offset)
        json_object_set_new(params, "offset", json_integer((json_int_t)off));
    json_t *res;
    if ((rc = call("score.top", params, &res)) != 0)
        return rc;
    if (G.json) {
        rc = print_json(res);
        json_decref(res);
        return rc;
    }
    static const char *const heads[] = {"rank",   "score", "conf", "reviews",
                                        "rating", "role",  "name", "identity"};
    table t;
    table_init(&t, 8, heads, "rrrrllll");
    json_t *rows = json_object_get(res, "rows");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char rank[24], score[24], conf[24], reviews[24], stars[32], idp[17], name[80];
        uint64_t v = 0;
        rp_rpc_get_u64(row, "rank", &v);
        snprintf(rank, sizeof rank, "%" PRIu64, v);
        rp_rpc_get_u64(row, "score", &v);
        snprintf(score, sizeof score, "%" PRIu64, v);
        rp_rpc_get_u64(row, "confidence", &v);
        snprintf(conf, sizeof conf, "%" PRIu64, v);
        rp_rpc_get_u64(row, "reviews", &v);
        snprintf(reviews, sizeof reviews, "%" PRIu64, v);
        v = 0;
        rp_rpc_get_u64(row, "rating", &v);
        format_stars(stars, sizeof stars, v);
        short_hex(idp, json_string_value(json_object_get(row, "identity")));
        const char *nm = json_string_value(json_object_get(row, "name"));
        snprintf(name, sizeof name, "%s", nm ? nm : "");
        const char *cells[8] = {rank, score, conf, reviews, stars,
                                json_string_value(json_object_get(row, "role")), name, idp};
        table_add(&t, cells);
    }
    uint64_t epoch = 0, total = 0;
    rp_rpc_get_u64(res, "epoch", &epoch);
    rp_rpc_get_u64(res, "total", &total);
    printf("epoch %" PRIu64 ", %" PRIu64 " %s%s\n", epoch, total, role ? role : "identitie",
           total == 1 ? "" : "s");
    if (t.nrows)
        table_print(&t);
    else
        printf("(no rows%s)\n", off ? " at this offset" : "");
    if (off + t.nrows < total)
        printf("more: repute-cli top%s%s --offset %" PRIu64 "\n", role ? " --role " : "",
               role ? role : "", off + t.nrows);
    table_free(&t);
    json_decref(res);
    return 0;
}

static int cmd_reviews(int argc, char **argv)
{
    const char *subject = NULL, *issuer = NULL, *limit = NULL, *after = NULL;
    const rp_cmdline_opt opts[] = {{.name = "subject", .value = &subject},
                                   {.name = "issuer", .value = &issuer},
                                   {.name = "limit", .value = &limit},
                                   {.name = "after", .value = &after}};
    int rc = parse_command(argc, argv, opts, 4, usage_reviews, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    if (!subject == !issuer)
        return usage_error(usage_reviews, "give exactly one of --subject or --issuer");
    const char *who = subject ? subject : issuer;
    unsigned char b[32];
    if (parse_hex32(who, b) != 0)
        return usage_error(usage_reviews, "'%s' is not an identity (64 hex digits)", who);
    if (after && parse_hex32(after, b) != 0)
        return usage_error(usage_reviews, "--after needs a review id (64 hex)");
    uint64_t lim = 20;
    if (limit && (parse_u64(limit, &lim) != 0 || lim < 1 || lim > 100))
        return usage_error(usage_reviews, "--limit needs 1-100");
    json_t *params = json_pack("{s:s,s:I}", subject ? "subject" : "issuer", who, "limit",
                               (json_int_t)lim);
    if (after)
        json_object_set_new(params, "after", json_string(after));
    json_t *res;
    if ((rc = call("reviews.list", params, &res)) != 0)
        return rc;
    if (G.json) {
        rc = print_json(res);
        json_decref(res);
        return rc;
    }
    static const char *const heads[] = {"review", "issuer", "subject", "stars",
                                        "q r c p", "time",   "height"};
    table t;
    table_init(&t, 7, heads, "lllrlll");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(res, "reviews"), i, row) {
        char idp[17], isp[17], sbp[17], stars[16], dims[16], when[64], height[24];
        short_hex(idp, json_string_value(json_object_get(row, "id")));
        short_hex(isp, json_string_value(json_object_get(row, "issuer")));
        short_hex(sbp, json_string_value(json_object_get(row, "subject")));
        uint64_t v = 0;
        rp_rpc_get_u64(row, "overall", &v);
        snprintf(stars, sizeof stars, "%" PRIu64, v);
        json_t *d = json_object_get(row, "dims");
        static const char *const dn[4] = {"quality", "reliability", "communication", "payment"};
        size_t p = 0;
        for (size_t k = 0; k < 4; k++) {
            uint64_t dv = 0;
            rp_rpc_get_u64(d, dn[k], &dv);
            p += (size_t)snprintf(dims + p, sizeof dims - p, "%s%c", k ? " " : "",
                                  dv >= 1 && dv <= 5 ? (char)('0' + dv) : '-');
        }
        v = 0;
        rp_rpc_get_u64(row, "time", &v);
        format_time(when, sizeof when, v);
        v = 0;
        rp_rpc_get_u64(row, "height", &v);
        snprintf(height, sizeof height, "%" PRIu64, v);
        const char *cells[7] = {idp, isp, sbp, stars, dims, when, height};
        table_add(&t, cells);
    }
    if (t.nrows)
        table_print(&t);
    else
        printf("(no live reviews%s)\n", after ? " after that one" : "");
    const char *next = json_string_value(json_object_get(res, "next"));
    if (next)
        printf("more: repute-cli reviews --%s %s --after %s\n", subject ? "subject" : "issuer",
               who, next);
    table_free(&t);
    json_decref(res);
    return 0;
}

/* A command with no arguments, or one positional, that shows one method's
 * result. */
static int simple(int argc, char **argv, const char *usage, const char *method)
{
    int rc = parse_command(argc, argv, NULL, 0, usage, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    json_t *res;
    if ((rc = call(method, NULL, &res)) != 0)
        return rc;
    rc = show(res);
    json_decref(res);
    return rc;
}

static int cmd_head(int argc, char **argv) { return simple(argc, argv, usage_head, "chain.head"); }
static int cmd_info(int argc, char **argv) { return simple(argc, argv, usage_info, "node.info"); }
static int cmd_mempool(int argc, char **argv)
{
    return simple(argc, argv, usage_mempool, "mempool.info");
}

static int cmd_whois(int argc, char **argv)
{
    const char *pos[1];
    size_t npos;
    int rc = parse_command(argc, argv, NULL, 0, usage_whois, pos, 1, 1, &npos, "the IDENTITY");
    if (rc >= 0)
        return rc;
    if ((rc = identity_pos(pos[0], usage_whois)) >= 0)
        return rc;
    json_t *res;
    if ((rc = call("identity.get", json_pack("{s:s}", "identity", pos[0]), &res)) != 0)
        return rc;
    rc = show(res);
    json_decref(res);
    return rc;
}

static int cmd_record(int argc, char **argv)
{
    const char *pos[1];
    size_t npos;
    int rc = parse_command(argc, argv, NULL, 0, usage_record, pos, 1, 1, &npos, "the record ID");
    if (rc >= 0)
        return rc;
    unsigned char b[32];
    if (parse_hex32(pos[0], b) != 0)
        return usage_error(usage_record, "'%s' is not a record id (64 hex digits)", pos[0]);
    json_t *res;
    if ((rc = call("record.get", json_pack("{s:s}", "id", pos[0]), &res)) != 0)
        return rc;
    rc = show(res);
    json_decref(res);
    return rc;
}

static int cmd_block(int argc, char **argv)
{
    const char *pos[1];
    size_t npos;
    int rc = parse_command(argc, argv, NULL, 0, usage_block, pos, 1, 1, &npos, "HEIGHT or HASH");
    if (rc >= 0)
        return rc;
    uint64_t h;
    unsigned char b[32];
    json_t *params;
    if (parse_u64(pos[0], &h) == 0)
        params = json_pack("{s:s}", "height", pos[0]);
    else if (parse_hex32(pos[0], b) == 0)
        params = json_pack("{s:s}", "hash", pos[0]);
    else
        return usage_error(usage_block, "'%s' is neither a height nor a block hash", pos[0]);
    json_t *res;
    if ((rc = call("chain.block", params, &res)) != 0)
        return rc;
    if (G.json) {
        rc = print_json(res);
        json_decref(res);
        return rc;
    }
    json_t *top = json_copy(res);
    json_t *commit = json_object_get(res, "commit");
    json_object_del(top, "records");
    json_object_del(top, "commit");
    json_object_del(top, "commit_hex");
    if (json_is_array(json_object_get(commit, "signatures")))
        json_object_set_new(top, "commit_signatures",
                            json_integer((json_int_t)json_array_size(
                                json_object_get(commit, "signatures"))));
    print_kv(top);
    json_decref(top);
    static const char *const heads[] = {"#", "type", "issuer", "seq", "id"};
    table t;
    table_init(&t, 5, heads, "rllrl");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(res, "records"), i, row) {
        char idx[24], isp[17], seq[24];
        snprintf(idx, sizeof idx, "%zu", i);
        short_hex(isp, json_string_value(json_object_get(row, "issuer")));
        uint64_t v = 0;
        if (rp_rpc_get_u64(row, "seq", &v) != 0)
            rp_rpc_get_u64(row, "sequence", &v);
        snprintf(seq, sizeof seq, "%" PRIu64, v);
        const char *cells[5] = {idx, json_string_value(json_object_get(row, "type")), isp, seq,
                                json_string_value(json_object_get(row, "id"))};
        table_add(&t, cells);
    }
    if (t.nrows) {
        putchar('\n');
        table_print(&t);
    }
    table_free(&t);
    json_decref(res);
    return 0;
}

static int cmd_metrics(int argc, char **argv)
{
    int rc = parse_command(argc, argv, NULL, 0, usage_metrics, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    json_t *res;
    if ((rc = call("node.metrics", NULL, &res)) != 0)
        return rc;
    if (G.json) {
        rc = print_json(res);
        json_decref(res);
        return rc;
    }
    json_t *rest = json_copy(res);
    json_object_del(rest, "methods");
    print_kv(rest);
    json_decref(rest);
    json_t *methods = json_object_get(res, "methods");
    if (json_is_object(methods) && json_object_size(methods)) {
        static const char *const heads[] = {"method", "calls", "errors", "p50 us", "p99 us"};
        table t;
        table_init(&t, 5, heads, "lrrrr");
        const char *name;
        json_t *m;
        json_object_foreach(methods, name, m) {
            char c[5][32];
            static const char *const keys[4] = {"calls", "errors", "p50_us", "p99_us"};
            for (size_t k = 0; k < 4; k++) {
                uint64_t v = 0;
                rp_rpc_get_u64(m, keys[k], &v);
                snprintf(c[k], sizeof c[k], "%" PRIu64, v);
            }
            const char *cells[5] = {name, c[0], c[1], c[2], c[3]};
            table_add(&t, cells);
        }
        putchar('\n');
        table_print(&t);
        table_free(&t);
    }
    json_decref(res);
    return 0;
}

/* ---- verify-proof ------------------------------------------------------------------------------ */

static int cmd_verify_proof(int argc, char **argv)
{
    const char *genesis = NULL, *identity = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "genesis", .value = &genesis},
                                   {.name = "identity", .value = &identity}};
    int rc = parse_command(argc, argv, opts, 2, usage_verify_proof, pos, 1, 1, &npos,
                           "the PROOF (hex or a file)");
    if (rc >= 0)
        return rc;
    if (!genesis)
        return usage_error(usage_verify_proof, "missing --genesis FILE");
    rp_pubkey who;
    if (!identity || parse_hex32(identity, who.bytes) != 0)
        return usage_error(usage_verify_proof, "--identity needs an identity (64 hex)");

    rp_genesis *g = malloc(sizeof *g);
    rp_score_proof *p = malloc(sizeof *p);
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    if (!g || !p || !buf) {
        rc = fail("out of memory");
        goto out;
    }
    char errbuf[256];
    int k = rp_genesis_load(g, genesis, errbuf, sizeof errbuf);
    if (k) {
        rc = fail("%s: %s", genesis, errbuf[0] ? errbuf : rp_strerror(k));
        goto out;
    }
    rp_hash chain;
    if ((k = rp_genesis_chain_id(&chain, g)) != 0) {
        rc = fail("%s: %s", genesis, rp_strerror(k));
        goto out;
    }
    size_t len;
    if ((rc = read_hex_arg(pos[0], "score proof", buf, RP_PROOF_MAX_SIZE, &len)) != 0) {
        puts("INVALID");
        goto out;
    }
    if ((k = rp_score_proof_decode(p, buf, len)) != 0) {
        puts("INVALID");
        rc = fail("not a score proof: %s", rp_strerror(k));
        goto out;
    }
    /* The snapshot height is not in the signed header; it follows from the
     * epoch number and the genesis, so a proof that says otherwise is lying. */
    int ok = rp_score_proof_verify(p, g, &chain, &who) &&
             p->epoch.snapshot_height == p->epoch.epoch * g->params.epoch_blocks;
    char chainh[65], root[65];
    hex32(chainh, chain.bytes);
    hex32(root, p->epoch.root.bytes);
    if (G.json) {
        json_t *j = json_pack("{s:b,s:s,s:s,s:s,s:b}", "valid", ok, "identity", identity,
                              "chain_id", chainh, "score_root", root, "present", p->present);
        char num[24];
        snprintf(num, sizeof num, "%" PRIu64, p->epoch.epoch);
        json_object_set_new(j, "epoch", json_string(num));
        snprintf(num, sizeof num, "%" PRIu64, p->epoch.commit_height);
        json_object_set_new(j, "commit_height", json_string(num));
        if (ok && p->present) {
            snprintf(num, sizeof num, "%" PRIu64, p->row.trust);
            json_object_set_new(j, "score", json_integer(p->row.score));
            json_object_set_new(j, "confidence", json_integer(p->row.confidence));
            json_object_set_new(j, "trust", json_string(num));
            json_object_set_new(j, "rating", json_integer(p->row.rating));
            json_object_set_new(j, "reviews", json_integer(p->row.reviews));
        }
        print_json(j);
        json_decref(j);
        rc = ok ? 0 : EXIT_FAIL;
        goto out;
    }
    if (!ok) {
        puts("INVALID");
        note("the proof does not hold for identity %s on chain %s (genesis %s): its commit, "
             "header, root or Merkle path does not check out",
             identity, chainh, genesis);
        rc = EXIT_FAIL;
        goto out;
    }
    char stars[32];
    format_stars(stars, sizeof stars, p->row.rating);
    if (p->present)
        printf("VALID: identity %s\n"
               "  epoch       %" PRIu64 " (snapshot at height %" PRIu64
               ", committed by the header at height %" PRIu64 ")\n"
               "  score       %u\n"
               "  confidence  %u\n"
               "  rating      %s\n"
               "  reviews     %u\n"
               "  trust       %" PRIu64 " (%.3g of all trust)\n",
               identity, p->epoch.epoch, p->epoch.snapshot_height, p->epoch.commit_height,
               (unsigned)p->row.score, (unsigned)p->row.confidence, stars,
               (unsigned)p->row.reviews, p->row.trust,
               (double)p->row.trust / 1152921504606846976.0);
    else
        printf("VALID: identity %s has no score in epoch %" PRIu64
               " (committed at height %" PRIu64 ", %u identities)\n",
               identity, p->epoch.epoch, p->epoch.commit_height, (unsigned)p->epoch.identities);
    printf("  checked against chain %s: the header's commit carries more than 2/3 of the "
           "genesis validators' power, and score root %s\n",
           chainh, root);
    rc = 0;
out:
    free(g);
    free(p);
    free(buf);
    return rc;
}

/* ---- call ----------------------------------------------------------------------------------- */

static int cmd_call(int argc, char **argv)
{
    const char *pos[2];
    size_t npos;
    int rc = parse_command(argc, argv, NULL, 0, usage_call, pos, 1, 2, &npos, "the METHOD");
    if (rc >= 0)
        return rc;
    json_t *params = NULL;
    if (npos == 2) {
        json_error_t jerr;
        params = json_loads(pos[1], JSON_REJECT_DUPLICATES, &jerr);
        if (!params)
            return usage_error(usage_call, "PARAMS is not JSON: %s", jerr.text);
        if (!json_is_object(params) && !json_is_array(params)) {
            json_decref(params);
            return usage_error(usage_call, "PARAMS must be a JSON object (or array)");
        }
    }
    json_t *res;
    if ((rc = call_ex(pos[0], params, &res, NULL, 70000)) != 0)
        return rc;
    rc = print_json(res);
    json_decref(res);
    return rc;
}

/* ---- main ----------------------------------------------------------------------------------- */

static const rp_cmdline_command commands[] = {
    {"keygen", cmd_keygen, usage_keygen},
    {"identity", cmd_identity, usage_identity},
    {"engage", cmd_engage, usage_engage},
    {"cosign", cmd_cosign, usage_cosign},
    {"review", cmd_review, usage_review},
    {"vouch", cmd_vouch, usage_vouch},
    {"revoke", cmd_revoke, usage_revoke},
    {"rotate", cmd_rotate, usage_rotate},
    {"submit", cmd_submit, usage_submit},
    {"score", cmd_score, usage_score},
    {"top", cmd_top, usage_top},
    {"reviews", cmd_reviews, usage_reviews},
    {"whois", cmd_whois, usage_whois},
    {"record", cmd_record, usage_record},
    {"head", cmd_head, usage_head},
    {"block", cmd_block, usage_block},
    {"info", cmd_info, usage_info},
    {"mempool", cmd_mempool, usage_mempool},
    {"metrics", cmd_metrics, usage_metrics},
    {"verify-proof", cmd_verify_proof, usage_verify_proof},
    {"call", cmd_call, usage_call},
};

static const rp_cmdline_command *find_command(const char *name)
{
    return rp_cmdline_find_command(commands, sizeof commands / sizeof commands[0], name);
}

int main(int argc, char **argv)
{
    /* Global options before the command. */
    int i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_main, stdout);
            return 0;
        }
        const char **slot = NULL;
        const char *val = NULL;
        size_t n = strcspn(a, "=");
        if (!strncmp(a, "--datadir", n) && n == 9)
            slot = &G.datadir;
        else if (!strncmp(a, "--socket", n) && n == 8)
            slot = &G.socket;
        else if (!strcmp(a, "--json")) {
            G.json = 1;
            i++;
            continue;
        } else
            return usage_error(usage_main, "unknown option '%s' (before the command)", a);
        if (a[n] == '=')
            val = a + n + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        if (!val || !*val)
            return usage_error(usage_main, "option '%.*s' needs a value", (int)n, a);
        if (*slot)
            return usage_error(usage_main, "option '%.*s' is given twice", (int)n, a);
        *slot = val;
        i++;
    }
    if (i >= argc)
        return usage_error(usage_main, "missing command");
    const char *cmd = argv[i];
    if (!strcmp(cmd, "help")) {
        if (i + 1 >= argc) {
            fputs(usage_main, stdout);
            return 0;
        }
        const rp_cmdline_command *c = find_command(argv[i + 1]);
        if (!c || i + 2 < argc)
            return usage_error(usage_main, "help takes one known command");
        fputs(c->usage, stdout);
        return 0;
    }
    const rp_cmdline_command *c = find_command(cmd);
    if (!c)
        return usage_error(usage_main, "unknown command '%s'", cmd);
    if (rp_crypto_init() != 0) {
        fprintf(stderr, "error: cannot start the crypto library\n");
        return EXIT_FAIL;
    }
    /* Commands parse argv[2..]: shift so the command sits at argv[1]. */
    int rc = c->run(argc - (i - 1), argv + (i - 1));
    rp_rpc_close(G.rpc);
    if (rc == 0 && fflush(stdout) != 0)
        return EXIT_FAIL;
    return rc;
}
