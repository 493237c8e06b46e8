/* repute-cli's audience commands: attest (sign and submit an AUDIENCE
 * attestation) and audience (an identity's trust-weighted audience figures
 * and the live attestations about it, from audience.get).
 *
 * attest builds the record like vouch: the node supplies the issuer's
 * sequence and the time, the body comes from the options. Dates may be
 * given as unix seconds or as YYYY-MM-DD (midnight UTC); the expiry also as
 * a number of days after the record's time. Percentages are decimal with up
 * to four places, turned into ppm exactly (no floating point).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/error.h"
#include "ledger/record.h"
#include "node/cli.h"

const char rp_cli_usage_attest[] =
    "usage: repute-cli attest --key FILE --subject IDENTITY --platform P --handle H\n"
    "                         --followers N (--authentic-pct X | --authentic-ppm N)\n"
    "                         (--engagement-pct X | --engagement-ppm N)\n"
    "                         --period-start T --period-end T --expires E [OPTIONS]\n"
    "\n"
    "Attest what you measured of a talent's audience on one platform. One live\n"
    "attestation per talent and platform: a later one replaces it, revoke\n"
    "withdraws it. Each epoch weighs it by your trust (docs/trust.md).\n"
    "\n"
    "Options:\n"
    "  --subject IDENTITY    the talent measured (64 hex)\n"
    "  --platform P          instagram, tiktok, youtube, twitch or x\n"
    "  --handle H            the account: letters, digits, '.', '_', '-' (no '@')\n"
    "  --followers N         the follower count\n"
    "  --authentic-pct X     authentic followers, percent (0-100, up to 4 decimals)\n"
    "  --authentic-ppm N     the same in parts per million (0-1000000)\n"
    "  --engagement-pct X, --engagement-ppm N\n"
    "                        the engagement rate, likewise\n"
    "  --period-start T, --period-end T\n"
    "                        the measured period: unix seconds or YYYY-MM-DD (UTC);\n"
    "                        it must have ended by now\n"
    "  --expires E           Nd (N days from now), unix seconds or YYYY-MM-DD\n" RP_CLI_SIGNING_HELP
        RP_CLI_SUBMIT_HELP "  -h, --help            show this help\n";

const char rp_cli_usage_audience[] =
    "usage: repute-cli audience IDENTITY [--platform P] [--epoch N]\n"
    "\n"
    "A talent's audience per platform as the latest (or a given) epoch\n"
    "computed it: the trust-weighted medians of the live attestations, with\n"
    "how many attesters there were and their total trust; then the\n"
    "attestations live now. --json prints audience.get's answer.\n"
    "\n"
    "Options:\n"
    "  --platform P          one platform only\n"
    "  --epoch N             an earlier epoch (the last 8 are kept)\n"
    "  -h, --help            show this help\n";

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Unix seconds, or YYYY-MM-DD at midnight UTC. Returns 0 or -1. */
static int parse_when(const char *s, uint64_t *out)
{
    unsigned y, m, d;
    char tail;
    if (rp_cli_parse_u64(s, out) == 0)
        return 0;
    if (strlen(s) != 10 || sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || y < 1970 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *out = (uint64_t)days_from_civil(y, m, d) * 86400;
    return 0;
}

/* A percentage with up to four decimals, in ppm, exactly. Returns 0 or -1. */
static int parse_pct(const char *s, uint32_t *ppm)
{
    uint64_t whole = 0, frac = 0;
    unsigned places = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((whole = whole * 10 + (uint64_t)(*p - '0')) > 100)
            return -1;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, places++)
            if (places == 4)
                return -1;
            else
                frac = frac * 10 + (uint64_t)(*p - '0');
        if (places == 0)
            return -1;
    }
    if (*p)
        return -1;
    while (places++ < 4)
        frac *= 10;
    uint64_t v = whole * 10000 + frac;
    if (v > 1000000)
        return -1;
    *ppm = (uint32_t)v;
    return 0;
}

/* One of --X-pct and --X-ppm. Returns -1 to go on, or a usage error. */
static int ppm_arg(const char *pct, const char *ppm, const char *what, uint32_t *out)
{
    uint64_t v;
    if (!pct == !ppm)
        return rp_cli_usage_error(rp_cli_usage_attest, "give one of --%s-pct and --%s-ppm", what,
                                  what);
    if (pct && parse_pct(pct, out) != 0)
        return rp_cli_usage_error(rp_cli_usage_attest,
                                  "--%s-pct needs a percentage, 0-100 with up to 4 decimals", what);
    if (ppm) {
        if (rp_cli_parse_u64(ppm, &v) != 0 || v > RP_PPM)
            return rp_cli_usage_error(rp_cli_usage_attest, "--%s-ppm needs 0-1000000", what);
        *out = (uint32_t)v;
    }
    return -1;
}

int rp_cli_cmd_attest(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *subject = NULL, *platform = NULL, *handle = NULL, *followers = NULL;
    const char *apct = NULL, *appm = NULL, *epct = NULL, *eppm = NULL;
    const char *pstart = NULL, *pend = NULL, *expires = NULL;
    const rp_cmdline_opt opts[] = {
        RP_CLI_SIGN_OPT_TABLE(so),
        RP_CLI_SUBMIT_OPT_TABLE(so),
        {.name = "subject", .value = &subject},
        {.name = "platform", .value = &platform},
        {.name = "handle", .value = &handle},
        {.name = "followers", .value = &followers},
        {.name = "authentic-pct", .value = &apct},
        {.name = "authentic-ppm", .value = &appm},
        {.name = "engagement-pct", .value = &epct},
        {.name = "engagement-ppm", .value = &eppm},
        {.name = "period-start", .value = &pstart},
        {.name = "period-end", .value = &pend},
        {.name = "expires", .value = &expires},
    };
    int rc = rp_cli_parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_attest, &so);
    if (rc >= 0)
        return rc;
    rp_audience_body b;
    memset(&b, 0, sizeof b);
    if (!subject || rp_cli_parse_hex32(subject, b.subject.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_attest, "--subject needs an identity (64 hex)");
    if (!platform || (b.platform = (uint8_t)rp_platform_code(platform, strlen(platform))) == 0)
        return rp_cli_usage_error(rp_cli_usage_attest,
                                  "--platform is instagram, tiktok, youtube, twitch or x");
    if (!handle || !rp_handle_valid(handle, strlen(handle)))
        return rp_cli_usage_error(rp_cli_usage_attest,
                                  "--handle needs 1-%d letters, digits, '.', '_' or '-'",
                                  RP_HANDLE_MAX);
    memcpy(b.handle, handle, strlen(handle) + 1);
    b.handle_len = (uint8_t)strlen(handle);
    if (!followers || rp_cli_parse_u64(followers, &b.followers) != 0)
        return rp_cli_usage_error(rp_cli_usage_attest, "--followers needs a number");
    if ((rc = ppm_arg(apct, appm, "authentic", &b.authentic_ppm)) >= 0 ||
        (rc = ppm_arg(epct, eppm, "engagement", &b.engagement_ppm)) >= 0)
        return rc;
    if (!pstart || parse_when(pstart, &b.period_start) != 0 || !pend ||
        parse_when(pend, &b.period_end) != 0 || b.period_start >= b.period_end)
        return rp_cli_usage_error(rp_cli_usage_attest,
                                  "--period-start and --period-end need unix seconds or "
                                  "YYYY-MM-DD, start before end");
    uint64_t days = 0, exp_abs = 0;
    size_t el = expires ? strlen(expires) : 0;
    int in_days = el > 1 && expires[el - 1] == 'd';
    if (in_days) {
        char num[24];
        if (el > sizeof num)
            return rp_cli_usage_error(rp_cli_usage_attest, "--expires: too long");
        memcpy(num, expires, el - 1);
        num[el - 1] = '\0';
        if (rp_cli_parse_u64(num, &days) != 0 || days == 0 || days > 366)
            return rp_cli_usage_error(rp_cli_usage_attest, "--expires Nd needs 1-366 days");
    } else if (!expires || parse_when(expires, &exp_abs) != 0) {
        return rp_cli_usage_error(rp_cli_usage_attest,
                                  "--expires needs Nd (days), unix seconds or YYYY-MM-DD");
    }

    rp_cli_signer s;
    if ((rc = rp_cli_signer_open(&s, &so, so.key, 1)) == 0) {
        rp_record r;
        rp_cli_record_base(&r, &s, RP_REC_AUDIENCE);
        b.expiry = in_days ? r.time + days * 86400 : exp_abs;
        r.body.audience = b;
        if (b.period_end > r.time)
            rc = rp_cli_fail("the period must have ended by now (--period-end is in the future)");
        else if (b.expiry <= r.time)
            rc = rp_cli_fail("--expires is not in the future");
        else
            rc = rp_cli_sign_and_finish(&r, &s, &so);
    }
    rp_cli_signer_free(&s);
    return rc;
}

/* "87.4000%" from ppm, or "-" for no figure. */
static void pct_text(char *out, size_t cap, const json_t *v)
{
    if (!json_is_integer(v)) {
        snprintf(out, cap, "-");
        return;
    }
    json_int_t p = json_integer_value(v);
    if (p < 0 || p > (json_int_t)RP_PPM) {
        snprintf(out, cap, "?");
        return;
    }
    snprintf(out, cap, "%u.%04u%%", (unsigned)(p / 10000), (unsigned)(p % 10000));
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

int rp_cli_cmd_audience(int argc, char **argv)
{
    const char *platform = NULL, *epoch = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "platform", .value = &platform},
                                   {.name = "epoch", .value = &epoch}};
    int rc = rp_cli_parse_command(argc, argv, opts, 2, rp_cli_usage_audience, pos, 1, 1, &npos,
                                  "the IDENTITY");
    if (rc >= 0)
        return rc;
    unsigned char id[32];
    uint64_t e = 0;
    if (rp_cli_parse_hex32(pos[0], id) != 0)
        return rp_cli_usage_error(rp_cli_usage_audience, "'%s' is not an identity (64 hex digits)",
                                  pos[0]);
    if (platform && rp_platform_code(platform, strlen(platform)) == 0)
        return rp_cli_usage_error(rp_cli_usage_audience,
                                  "--platform is instagram, tiktok, youtube, twitch or x");
    if (epoch && (rp_cli_parse_u64(epoch, &e) != 0 || e == 0))
        return rp_cli_usage_error(rp_cli_usage_audience, "--epoch needs an epoch number from 1");
    json_t *params = json_pack("{s:s}", "identity", pos[0]), *res;
    if (platform)
        json_object_set_new(params, "platform", json_string(platform));
    if (epoch)
        json_object_set_new(params, "epoch", json_string(epoch));
    if ((rc = rp_cli_call("audience.get", params, &res)) != 0)
        return rc;
    if (rp_cli.json) {
        rc = rp_cli_print_json(res);
        json_decref(res);
        return rc;
    }
    printf("identity  %s\nepoch     %s (committed at height %s)\n", pos[0],
           str_or(res, "epoch", "?"), str_or(res, "commit_height", "?"));
    static const char *const fh[] = {"platform",   "followers", "authentic",
                                     "engagement", "attesters", "total trust"};
    rp_cli_table t;
    rp_cli_table_init(&t, 6, fh, "lrrrrr");
    json_t *figs = json_object_get(res, "figures"), *f;
    size_t i;
    json_array_foreach(figs, i, f)
    {
        char fol[32], au[48], en[48], at[16], tr[32];
        const json_t *fv = json_object_get(f, "followers");
        snprintf(fol, sizeof fol, "%s", json_is_string(fv) ? json_string_value(fv) : "-");
        pct_text(au, sizeof au, json_object_get(f, "authentic_ppm"));
        pct_text(en, sizeof en, json_object_get(f, "engagement_ppm"));
        snprintf(at, sizeof at, "%lld",
                 (long long)json_integer_value(json_object_get(f, "attesters")));
        snprintf(tr, sizeof tr, "%s", str_or(f, "total_trust", "0"));
        const char *row[6] = {str_or(f, "platform", "?"), fol, au, en, at, tr};
        rp_cli_table_add(&t, row);
    }
    if (t.nrows) {
        putchar('\n');
        rp_cli_table_print(&t);
    } else {
        printf("\nno audience figures in this epoch\n");
    }
    rp_cli_table_free(&t);

    static const char *const ah[] = {"platform",  "handle",     "attester", "followers",
                                     "authentic", "engagement", "expires"};
    rp_cli_table_init(&t, 7, ah, "lllrrrl");
    json_t *atts = json_object_get(res, "attestations"), *a;
    json_array_foreach(atts, i, a)
    {
        char who[17], au[48], en[48], exp[96], handle[RP_HANDLE_MAX + 1];
        rp_cli_short_hex(who, str_or(a, "attester", ""));
        pct_text(au, sizeof au, json_object_get(a, "authentic_ppm"));
        pct_text(en, sizeof en, json_object_get(a, "engagement_ppm"));
        uint64_t x = 0;
        (void)rp_cli_parse_u64(str_or(a, "expiry", "0"), &x);
        rp_cli_format_time(exp, sizeof exp, x);
        if (json_is_true(json_object_get(a, "expired")))
            strncat(exp, " (expired)", sizeof exp - strlen(exp) - 1);
        snprintf(handle, sizeof handle, "%s", str_or(a, "handle", ""));
        rp_cli_sanitize(handle);
        const char *row[7] = {
            str_or(a, "platform", "?"), handle, who, str_or(a, "followers", "?"), au, en, exp};
        rp_cli_table_add(&t, row);
    }
    if (t.nrows) {
        printf("\nlive attestations\n");
        rp_cli_table_print(&t);
    }
    rp_cli_table_free(&t);
    json_decref(res);
    return 0;
}
