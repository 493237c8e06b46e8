/* repute-cli's reading commands: score, top, history, reviews, whois, record, head,
 * block, info, mempool, metrics, and call for any method.
 *
 * Each is one JSON-RPC call. With --json the node's result is printed as
 * it came; without, objects become "key  value" lines and lists become
 * aligned tables (cli_output.c), with a hint when there are more pages.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "node/cli.h"
#include "node/rpc_client.h"

const char rp_cli_usage_score[] =
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

const char rp_cli_usage_top[] =
    "usage: repute-cli top [--role talent|agent|brand] [--rising [--epochs K]]\n"
    "                      [--min-reviews N] [--min-confidence C]\n"
    "                      [--platform P [--min-authentic-pct X]]\n"
    "                      [--limit N] [--offset N]\n"
    "\n"
    "The latest committed score table, best first (by score, then trust, then\n"
    "identity): rank, score, confidence, reviews, rating in stars, role, name\n"
    "and identity. With --rising, the identities whose score rose most over the\n"
    "last K epochs: rise is the score now minus the score K epochs back (both\n"
    "0-1000); identities without a score K epochs back are left out.\n"
    "\n"
    "Options:\n"
    "  --role ROLE           only talents, agents or brands\n"
    "  --rising              order by rise instead of score\n"
    "  --epochs K            with --rising: the span, 1-7 epochs (default 3;\n"
    "                        at most the epochs the node keeps, less one)\n"
    "  --min-reviews N       only identities with at least N live reviews\n"
    "  --min-confidence C    only identities with confidence at least C (0-1000,\n"
    "                        as the table shows it)\n"
    "  --platform P          only talents with an audience figure on platform P\n"
    "                        (instagram, tiktok, youtube, ...: 'repute-cli audience')\n"
    "  --min-authentic-pct X with --platform: a trust-weighted authentic share of\n"
    "                        at least X percent (0-100, decimals allowed)\n"
    "  --limit N             rows, 1-100 (default 20)\n"
    "  --offset N            skip the first N rows\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_history[] =
    "usage: repute-cli history IDENTITY\n"
    "\n"
    "An identity's score in each epoch the node keeps (the last 8), newest\n"
    "first: epoch, score, its change from the epoch before, confidence, live\n"
    "reviews and rating. '-' marks an epoch without a row for the identity\n"
    "(not registered yet at its snapshot).\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_reviews[] =
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

const char rp_cli_usage_whois[] =
    "usage: repute-cli whois IDENTITY\n"
    "\n"
    "An identity as the node knows it (identity.get): current key, role, name,\n"
    "profile and recovery commitment, sequence numbers, and counters.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_record[] =
    "usage: repute-cli record ID\n"
    "\n"
    "A record by id (record.get): where it is (block and index, or pending),\n"
    "its type, issuer, sequence and time, its fields and its hex.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_head[] =
    "usage: repute-cli head\n"
    "\n"
    "The latest block: height, hash, time, state hash, commit hash, and the\n"
    "latest committed score epoch and its root.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_block[] =
    "usage: repute-cli block HEIGHT|HASH\n"
    "\n"
    "A block by height (a decimal number) or header hash (64 hex): its header\n"
    "and its records.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_info[] =
    "usage: repute-cli info\n"
    "\n"
    "What the node is: version, chain id, height, whether it validates, the\n"
    "chain's parameters, uptime.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_mempool[] =
    "usage: repute-cli mempool\n"
    "\n"
    "The node's pending records: count and bytes against the limits, records\n"
    "held for a sequence gap, signatures being verified, admitted and rejected\n"
    "since start.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_metrics[] =
    "usage: repute-cli metrics\n"
    "\n"
    "The node's gauges, counters since start, rates, and per-method RPC calls,\n"
    "errors and latency percentiles.\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

const char rp_cli_usage_call[] =
    "usage: repute-cli call METHOD [PARAMS]\n"
    "\n"
    "Call any RPC method (docs/rpc.md) with PARAMS, a JSON object, and print\n"
    "the JSON result (indented; one line with --json). For example:\n"
    "  repute-cli call score.get '{\"identity\":\"79be...\",\"proof\":true}'\n"
    "\n"
    "Options:\n"
    "  -h, --help            show this help\n";

/* ---- helpers -------------------------------------------------------------------------------- */

/* One identity argument: 64 hex. Returns -1 to go on, or a usage error. */
static int identity_arg(const char *s, const char *usage)
{
    unsigned char b[32];
    if (rp_cli_parse_hex32(s, b) != 0)
        return rp_cli_usage_error(usage, "'%s' is not an identity (64 hex digits)", s);
    return -1;
}

/* --limit N: rows per page, 1-100. Returns -1 to go on, or a usage error. */
static int limit_arg(const char *s, uint64_t *lim, const char *usage)
{
    if (s && (rp_cli_parse_u64(s, lim) != 0 || *lim < 1 || *lim > 100))
        return rp_cli_usage_error(usage, "--limit needs 1-100");
    return -1;
}

/* Call a method and show its result (rp_cli_show). params is stolen. */
static int call_show(const char *method, json_t *params)
{
    json_t *res;
    int rc = rp_cli_call(method, params, &res);
    return rc ? rc : rp_cli_show(res);
}

/* Call a method whose text view is the command's own: with --json the
 * result is printed as it came. Returns 0 with *res to render (the caller
 * owns it), or with *res NULL when it was printed already; or an exit
 * status. params is stolen. */
static int call_for_text(const char *method, json_t *params, json_t **res)
{
    int rc = rp_cli_call(method, params, res);
    if (rc || !rp_cli.json)
        return rc;
    rc = rp_cli_print_json(*res);
    *res = NULL;
    return rc;
}

/* A number field as decimal text, 0 when it is missing or malformed. */
static void u64_text(char *out, size_t cap, const json_t *obj, const char *key)
{
    uint64_t v = 0;
    rp_rpc_get_u64(obj, key, &v);
    snprintf(out, cap, "%" PRIu64, v);
}

/* A table below "key  value" lines, after a blank line; nothing when it has
 * no rows. Frees t. */
static void print_section(rp_cli_table *t)
{
    if (t->nrows) {
        putchar('\n');
        rp_cli_table_print(t);
    }
    rp_cli_table_free(t);
}

/* ---- reading -------------------------------------------------------------------------------- */

int rp_cli_cmd_score(int argc, char **argv)
{
    const char *epoch = NULL, *proof = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "epoch", .value = &epoch},
                                   {.name = "proof", .value = &proof}};
    int rc = rp_cli_parse_command(argc, argv, opts, 2, rp_cli_usage_score, pos, 1, 1, &npos,
                                  "the IDENTITY");
    if (rc >= 0)
        return rc;
    if ((rc = identity_arg(pos[0], rp_cli_usage_score)) >= 0)
        return rc;
    uint64_t e = 0;
    if (epoch && (rp_cli_parse_u64(epoch, &e) != 0 || e == 0))
        return rp_cli_usage_error(rp_cli_usage_score, "--epoch needs an epoch number from 1");
    json_t *params = json_pack("{s:s}", "identity", pos[0]);
    if (epoch)
        json_object_set_new(params, "epoch", json_string(epoch));
    if (!proof)
        return call_show("score.get", params);
    json_object_set_new(params, "proof", json_true());
    json_t *res;
    if ((rc = rp_cli_call("score.get", params, &res)) != 0)
        return rc;
    const char *hex = json_string_value(json_object_get(res, "proof"));
    if (!hex)
        rc = rp_cli_fail("score.get returned no proof");
    else
        rc = rp_cli_write_text_file(proof, hex);
    if (rc == 0) {
        json_t *copy = json_copy(res);
        json_object_del(copy, "proof");
        if (!rp_cli.json)
            json_object_set_new(copy, "proof",
                                json_sprintf("written to %s (%zu bytes)", proof, strlen(hex) / 2));
        rc = rp_cli_show(copy);
        if (!rp_cli.json && strcmp(proof, "-") != 0)
            printf("check it offline:  repute-cli verify-proof --genesis %s/genesis.json "
                   "--identity %s %s\n",
                   rp_cli.datadir ? rp_cli.datadir : "devnet", pos[0], proof);
    }
    json_decref(res);
    return rc;
}

int rp_cli_cmd_top(int argc, char **argv)
{
    const char *role = NULL, *limit = NULL, *offset = NULL, *epochs = NULL, *min_reviews = NULL,
               *min_conf = NULL, *platform = NULL, *min_auth = NULL;
    int rising = 0;
    const rp_cmdline_opt opts[] = {{.name = "role", .value = &role},
                                   {.name = "limit", .value = &limit},
                                   {.name = "offset", .value = &offset},
                                   {.name = "rising", .flag = &rising},
                                   {.name = "epochs", .value = &epochs},
                                   {.name = "min-reviews", .value = &min_reviews},
                                   {.name = "min-confidence", .value = &min_conf},
                                   {.name = "platform", .value = &platform},
                                   {.name = "min-authentic-pct", .value = &min_auth}};
    int rc = rp_cli_parse_command(argc, argv, opts, sizeof opts / sizeof opts[0], rp_cli_usage_top,
                                  NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    uint8_t r;
    uint64_t lim = 20, off = 0, k = 0, mr = 0, mc = 0;
    if (role && rp_cli_parse_enum(role, rp_cli_role_names, 3, &r) != 0)
        return rp_cli_usage_error(rp_cli_usage_top, "--role is talent, agent or brand");
    if ((rc = limit_arg(limit, &lim, rp_cli_usage_top)) >= 0)
        return rc;
    if (offset && rp_cli_parse_u64(offset, &off) != 0)
        return rp_cli_usage_error(rp_cli_usage_top, "--offset needs a number");
    if (epochs && !rising)
        return rp_cli_usage_error(rp_cli_usage_top, "--epochs goes with --rising");
    if (epochs && (rp_cli_parse_u64(epochs, &k) != 0 || k < 1 || k > 7))
        return rp_cli_usage_error(rp_cli_usage_top, "--epochs needs 1-7");
    if (min_reviews && (rp_cli_parse_u64(min_reviews, &mr) != 0 || mr > UINT32_MAX))
        return rp_cli_usage_error(rp_cli_usage_top, "--min-reviews needs a number");
    if (min_conf && (rp_cli_parse_u64(min_conf, &mc) != 0 || mc > 1000))
        return rp_cli_usage_error(rp_cli_usage_top, "--min-confidence needs 0-1000");
    uint64_t ppm = 0;
    if (min_auth && !platform)
        return rp_cli_usage_error(rp_cli_usage_top, "--min-authentic-pct goes with --platform");
    if (min_auth) {
        char *end = NULL;
        double pct = strtod(min_auth, &end);
        if (!end || *end || end == min_auth || !(pct >= 0.0 && pct <= 100.0))
            return rp_cli_usage_error(rp_cli_usage_top, "--min-authentic-pct needs 0-100");
        ppm = (uint64_t)(pct * 10000.0 + 0.5);
    }
    json_t *params = json_pack("{s:I}", "limit", (json_int_t)lim);
    /* The options again, for the "more:" line. */
    char again[200] = "";
    size_t ag = 0;
#define AGAIN(...) ag += (size_t)snprintf(again + ag, sizeof again - ag, __VA_ARGS__)
    if (role) {
        json_object_set_new(params, "role", json_string(role));
        AGAIN(" --role %s", role);
    }
    if (rising) {
        json_object_set_new(params, "order", json_string("rise"));
        AGAIN(" --rising");
    }
    if (epochs) {
        json_object_set_new(params, "epochs", json_integer((json_int_t)k));
        AGAIN(" --epochs %" PRIu64, k);
    }
    if (min_reviews) {
        json_object_set_new(params, "min_reviews", json_integer((json_int_t)mr));
        AGAIN(" --min-reviews %" PRIu64, mr);
    }
    if (min_conf) {
        json_object_set_new(params, "min_confidence", json_integer((json_int_t)mc));
        AGAIN(" --min-confidence %" PRIu64, mc);
    }
    if (platform) {
        json_object_set_new(params, "platform", json_string(platform));
        AGAIN(" --platform %.20s", platform);
    }
    if (min_auth) {
        json_object_set_new(params, "min_authentic_ppm", json_integer((json_int_t)ppm));
        AGAIN(" --min-authentic-pct %.10s", min_auth);
    }
    if (limit)
        AGAIN(" --limit %" PRIu64, lim);
#undef AGAIN
    if (offset)
        json_object_set_new(params, "offset", json_integer((json_int_t)off));
    json_t *res;
    if ((rc = call_for_text("score.top", params, &res)) != 0 || !res)
        return rc;
    static const char *const heads[] = {"rank",    "score",  "rise", "was",  "conf",
                                        "reviews", "rating", "role", "name", "identity"};
    /* Columns by head; without --rising, rise and was are left out. */
    static const int cols_score[] = {0, 1, 4, 5, 6, 7, 8, 9};
    static const int cols_rise[] = {0, 2, 3, 1, 4, 5, 6, 7, 8, 9};
    const int *cols = rising ? cols_rise : cols_score;
    size_t ncols = rising ? 10 : 8;
    const char *h[10];
    char align[11];
    for (size_t c = 0; c < ncols; c++) {
        h[c] = heads[cols[c]];
        align[c] = cols[c] < 6 ? 'r' : 'l';
    }
    align[ncols] = 0;
    rp_cli_table t;
    rp_cli_table_init(&t, ncols, h, align);
    json_t *rows = json_object_get(res, "rows");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        char v[10][80];
        u64_text(v[0], sizeof v[0], row, "rank");
        u64_text(v[1], sizeof v[1], row, "score");
        json_t *rise = json_object_get(row, "rise");
        snprintf(v[2], sizeof v[2], "%+lld",
                 json_is_integer(rise) ? (long long)json_integer_value(rise) : 0LL);
        u64_text(v[3], sizeof v[3], row, "previous_score");
        u64_text(v[4], sizeof v[4], row, "confidence");
        u64_text(v[5], sizeof v[5], row, "reviews");
        uint64_t st = 0;
        rp_rpc_get_u64(row, "rating", &st);
        rp_cli_format_stars(v[6], sizeof v[6], st);
        const char *rl = json_string_value(json_object_get(row, "role"));
        snprintf(v[7], sizeof v[7], "%s", rl ? rl : "");
        const char *nm = json_string_value(json_object_get(row, "name"));
        snprintf(v[8], sizeof v[8], "%s", nm ? nm : "");
        rp_cli_short_hex(v[9], json_string_value(json_object_get(row, "identity")));
        const char *cells[10];
        for (size_t c = 0; c < ncols; c++)
            cells[c] = v[cols[c]];
        rp_cli_table_add(&t, cells);
    }
    uint64_t epoch = 0, total = 0, since = 0;
    rp_rpc_get_u64(res, "epoch", &epoch);
    rp_rpc_get_u64(res, "total", &total);
    printf("epoch %" PRIu64, epoch);
    if (rising && rp_rpc_get_u64(res, "since_epoch", &since) == 0)
        printf(", rise since epoch %" PRIu64, since);
    printf(", %" PRIu64 " %s%s%s\n", total, role ? role : total == 1 ? "identity" : "identitie",
           total == 1 ? "" : "s",
           min_reviews || min_conf || platform ? " matching" : "");
    if (t.nrows)
        rp_cli_table_print(&t);
    else
        printf("(no rows%s)\n", off ? " at this offset" : "");
    if (off + t.nrows < total)
        printf("more: repute-cli top%s --offset %" PRIu64 "\n", again, off + t.nrows);
    rp_cli_table_free(&t);
    json_decref(res);
    return 0;
}

int rp_cli_cmd_history(int argc, char **argv)
{
    const char *pos[1];
    size_t npos;
    int rc = rp_cli_parse_command(argc, argv, NULL, 0, rp_cli_usage_history, pos, 1, 1, &npos,
                                  "the IDENTITY");
    if (rc >= 0)
        return rc;
    if ((rc = identity_arg(pos[0], rp_cli_usage_history)) >= 0)
        return rc;
    json_t *res;
    if ((rc = call_for_text("score.history", json_pack("{s:s}", "identity", pos[0]), &res)) != 0 ||
        !res)
        return rc;
    static const char *const heads[] = {"epoch", "score", "change", "conf", "reviews", "rating"};
    rp_cli_table t;
    rp_cli_table_init(&t, 6, heads, "rrrrrr");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(res, "rows"), i, row)
    {
        char v[6][32];
        u64_text(v[0], sizeof v[0], row, "epoch");
        if (!json_is_true(json_object_get(row, "present"))) {
            const char *cells[6] = {v[0], "-", "-", "-", "-", "-"};
            rp_cli_table_add(&t, cells);
            continue;
        }
        u64_text(v[1], sizeof v[1], row, "score");
        json_t *ch = json_object_get(row, "change");
        if (json_is_integer(ch))
            snprintf(v[2], sizeof v[2], "%+lld", (long long)json_integer_value(ch));
        else
            snprintf(v[2], sizeof v[2], "-");
        u64_text(v[3], sizeof v[3], row, "confidence");
        u64_text(v[4], sizeof v[4], row, "reviews");
        uint64_t st = 0;
        rp_rpc_get_u64(row, "rating", &st);
        rp_cli_format_stars(v[5], sizeof v[5], st);
        const char *cells[6] = {v[0], v[1], v[2], v[3], v[4], v[5]};
        rp_cli_table_add(&t, cells);
    }
    uint64_t kept = 0, present = 0;
    rp_rpc_get_u64(res, "epochs", &kept);
    rp_rpc_get_u64(res, "present", &present);
    printf("%s: a score in %" PRIu64 " of the %" PRIu64 " kept epoch%s\n", pos[0], present, kept,
           kept == 1 ? "" : "s");
    if (t.nrows)
        rp_cli_table_print(&t);
    rp_cli_table_free(&t);
    json_decref(res);
    return 0;
}

int rp_cli_cmd_reviews(int argc, char **argv)
{
    const char *subject = NULL, *issuer = NULL, *limit = NULL, *after = NULL;
    const rp_cmdline_opt opts[] = {{.name = "subject", .value = &subject},
                                   {.name = "issuer", .value = &issuer},
                                   {.name = "limit", .value = &limit},
                                   {.name = "after", .value = &after}};
    int rc = rp_cli_parse_command(argc, argv, opts, 4, rp_cli_usage_reviews, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    if (!subject == !issuer)
        return rp_cli_usage_error(rp_cli_usage_reviews,
                                  "give exactly one of --subject or --issuer");
    const char *who = subject ? subject : issuer;
    if ((rc = identity_arg(who, rp_cli_usage_reviews)) >= 0)
        return rc;
    unsigned char b[32];
    if (after && rp_cli_parse_hex32(after, b) != 0)
        return rp_cli_usage_error(rp_cli_usage_reviews, "--after needs a review id (64 hex)");
    uint64_t lim = 20;
    if ((rc = limit_arg(limit, &lim, rp_cli_usage_reviews)) >= 0)
        return rc;
    json_t *params =
        json_pack("{s:s,s:I}", subject ? "subject" : "issuer", who, "limit", (json_int_t)lim);
    if (after)
        json_object_set_new(params, "after", json_string(after));
    json_t *res;
    if ((rc = call_for_text("reviews.list", params, &res)) != 0 || !res)
        return rc;
    static const char *const heads[] = {"review",  "issuer", "subject", "stars",
                                        "q r c p", "time",   "height"};
    rp_cli_table t;
    rp_cli_table_init(&t, 7, heads, "lllrlll");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(res, "reviews"), i, row)
    {
        char idp[17], isp[17], sbp[17], stars[16], dims[16], when[64], height[24];
        rp_cli_short_hex(idp, json_string_value(json_object_get(row, "id")));
        rp_cli_short_hex(isp, json_string_value(json_object_get(row, "issuer")));
        rp_cli_short_hex(sbp, json_string_value(json_object_get(row, "subject")));
        u64_text(stars, sizeof stars, row, "overall");
        json_t *d = json_object_get(row, "dims");
        static const char *const dn[4] = {"quality", "reliability", "communication", "payment"};
        size_t p = 0;
        for (size_t k = 0; k < 4; k++) {
            uint64_t dv = 0;
            rp_rpc_get_u64(d, dn[k], &dv);
            p += (size_t)snprintf(dims + p, sizeof dims - p, "%s%c", k ? " " : "",
                                  dv >= 1 && dv <= 5 ? (char)('0' + dv) : '-');
        }
        uint64_t v = 0;
        rp_rpc_get_u64(row, "time", &v);
        rp_cli_format_time(when, sizeof when, v);
        u64_text(height, sizeof height, row, "height");
        const char *cells[7] = {idp, isp, sbp, stars, dims, when, height};
        rp_cli_table_add(&t, cells);
    }
    if (t.nrows)
        rp_cli_table_print(&t);
    else
        printf("(no live reviews%s)\n", after ? " after that one" : "");
    const char *next = json_string_value(json_object_get(res, "next"));
    if (next)
        printf("more: repute-cli reviews --%s %s --after %s\n", subject ? "subject" : "issuer", who,
               next);
    rp_cli_table_free(&t);
    json_decref(res);
    return 0;
}

/* A command without arguments that shows one method's result. */
static int simple(int argc, char **argv, const char *usage, const char *method)
{
    int rc = rp_cli_parse_command(argc, argv, NULL, 0, usage, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    return call_show(method, NULL);
}

int rp_cli_cmd_head(int argc, char **argv)
{
    return simple(argc, argv, rp_cli_usage_head, "chain.head");
}
int rp_cli_cmd_info(int argc, char **argv)
{
    return simple(argc, argv, rp_cli_usage_info, "node.info");
}
int rp_cli_cmd_mempool(int argc, char **argv)
{
    return simple(argc, argv, rp_cli_usage_mempool, "mempool.info");
}

/* A command whose one argument is 64 hex (noun: what it names) and that
 * shows what method says about it, as {key: ARG}. */
static int show_by_hex(int argc, char **argv, const char *usage, const char *missing,
                       const char *noun, const char *method, const char *key)
{
    const char *pos[1];
    size_t npos;
    int rc = rp_cli_parse_command(argc, argv, NULL, 0, usage, pos, 1, 1, &npos, missing);
    if (rc >= 0)
        return rc;
    unsigned char b[32];
    if (rp_cli_parse_hex32(pos[0], b) != 0)
        return rp_cli_usage_error(usage, "'%s' is not %s (64 hex digits)", pos[0], noun);
    return call_show(method, json_pack("{s:s}", key, pos[0]));
}

int rp_cli_cmd_whois(int argc, char **argv)
{
    return show_by_hex(argc, argv, rp_cli_usage_whois, "the IDENTITY", "an identity",
                       "identity.get", "identity");
}

int rp_cli_cmd_record(int argc, char **argv)
{
    return show_by_hex(argc, argv, rp_cli_usage_record, "the record ID", "a record id",
                       "record.get", "id");
}

/* chain.block answers a block's records in pages: fetch every page and
 * put the records together, so the command shows the whole block. Takes
 * params; on success *res is the first page's answer with every record. */
static int fetch_block(json_t *params, json_t **res)
{
    json_t *all = NULL;
    int rc = 0;
    json_int_t offset = 0;
    for (;;) {
        json_t *p = json_deep_copy(params), *page = NULL;
        json_object_set_new(p, "records_offset", json_integer(offset));
        json_object_set_new(p, "records_limit", json_integer(1000));
        if ((rc = rp_cli_call("chain.block", p, &page)) != 0 || !page)
            break;
        json_t *next = json_object_get(page, "next_offset");
        int more = json_is_integer(next) && json_integer_value(next) > offset;
        if (more)
            offset = json_integer_value(next);
        if (!all) {
            all = page;
        } else {
            json_array_extend(json_object_get(all, "records"), json_object_get(page, "records"));
            json_decref(page);
        }
        if (!more)
            break;
    }
    json_decref(params);
    if (rc || !all) {
        json_decref(all);
        return rc ? rc : RP_CLI_EXIT_FAIL;
    }
    json_object_del(all, "records_offset");
    json_object_del(all, "next_offset");
    *res = all;
    return 0;
}

int rp_cli_cmd_block(int argc, char **argv)
{
    const char *pos[1];
    size_t npos;
    int rc = rp_cli_parse_command(argc, argv, NULL, 0, rp_cli_usage_block, pos, 1, 1, &npos,
                                  "HEIGHT or HASH");
    if (rc >= 0)
        return rc;
    uint64_t h;
    unsigned char b[32];
    json_t *params;
    if (rp_cli_parse_u64(pos[0], &h) == 0)
        params = json_pack("{s:s}", "height", pos[0]);
    else if (rp_cli_parse_hex32(pos[0], b) == 0)
        params = json_pack("{s:s}", "hash", pos[0]);
    else
        return rp_cli_usage_error(rp_cli_usage_block, "'%s' is neither a height nor a block hash",
                                  pos[0]);
    json_t *res;
    if ((rc = fetch_block(params, &res)) != 0)
        return rc;
    if (rp_cli.json)
        return rp_cli_print_json(res);
    json_t *top = json_copy(res);
    json_t *commit = json_object_get(res, "commit");
    json_object_del(top, "records");
    json_object_del(top, "commit");
    json_object_del(top, "commit_hex");
    if (json_is_array(json_object_get(commit, "signatures")))
        json_object_set_new(
            top, "commit_signatures",
            json_integer((json_int_t)json_array_size(json_object_get(commit, "signatures"))));
    rp_cli_print_kv(top);
    static const char *const heads[] = {"#", "type", "issuer", "seq", "id"};
    rp_cli_table t;
    rp_cli_table_init(&t, 5, heads, "rllrl");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(res, "records"), i, row)
    {
        char idx[24], isp[17], seq[24];
        snprintf(idx, sizeof idx, "%zu", i);
        rp_cli_short_hex(isp, json_string_value(json_object_get(row, "issuer")));
        uint64_t v = 0;
        if (rp_rpc_get_u64(row, "seq", &v) != 0)
            rp_rpc_get_u64(row, "sequence", &v);
        snprintf(seq, sizeof seq, "%" PRIu64, v);
        const char *cells[5] = {idx, json_string_value(json_object_get(row, "type")), isp, seq,
                                json_string_value(json_object_get(row, "id"))};
        rp_cli_table_add(&t, cells);
    }
    print_section(&t);
    json_decref(res);
    return 0;
}

int rp_cli_cmd_metrics(int argc, char **argv)
{
    int rc = rp_cli_parse_command(argc, argv, NULL, 0, rp_cli_usage_metrics, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    json_t *res;
    if ((rc = call_for_text("node.metrics", NULL, &res)) != 0 || !res)
        return rc;
    json_t *rest = json_copy(res);
    json_object_del(rest, "methods");
    rp_cli_print_kv(rest);
    static const char *const heads[] = {"method", "calls", "errors", "p50 us", "p99 us"};
    rp_cli_table t;
    rp_cli_table_init(&t, 5, heads, "lrrrr");
    json_t *methods = json_object_get(res, "methods"), *m;
    const char *name;
    json_object_foreach(methods, name, m)
    {
        char c[4][32];
        static const char *const keys[4] = {"calls", "errors", "p50_us", "p99_us"};
        for (size_t k = 0; k < 4; k++)
            u64_text(c[k], sizeof c[k], m, keys[k]);
        const char *cells[5] = {name, c[0], c[1], c[2], c[3]};
        rp_cli_table_add(&t, cells);
    }
    print_section(&t);
    json_decref(res);
    return 0;
}

/* ---- call ----------------------------------------------------------------------------------- */

int rp_cli_cmd_call(int argc, char **argv)
{
    const char *pos[2];
    size_t npos;
    int rc = rp_cli_parse_command(argc, argv, NULL, 0, rp_cli_usage_call, pos, 1, 2, &npos,
                                  "the METHOD");
    if (rc >= 0)
        return rc;
    json_t *params = NULL;
    if (npos == 2) {
        json_error_t jerr;
        params = json_loads(pos[1], JSON_REJECT_DUPLICATES, &jerr);
        if (!params)
            return rp_cli_usage_error(rp_cli_usage_call, "PARAMS is not JSON: %s", jerr.text);
        if (!json_is_object(params) && !json_is_array(params)) {
            json_decref(params);
            return rp_cli_usage_error(rp_cli_usage_call, "PARAMS must be a JSON object (or array)");
        }
    }
    json_t *res;
    if ((rc = rp_cli_call_ex(pos[0], params, &res, NULL, 70000)) != 0)
        return rc;
    return rp_cli_print_json(res);
}
