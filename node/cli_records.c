/* repute-cli's signing commands: identity, engage, cosign, review, vouch,
 * revoke, rotate, and submit for records signed elsewhere.
 *
 * Each builds one record type (docs/records.md) from its options and what
 * the node says, through the steps in cli_sign.c. An engagement needs two
 * signatures, so it travels: engage signs it and writes it out, cosign
 * checks what it is about to sign, adds the counterparty's signature, and
 * submits it or hands it back.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto/error.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/codec.h"
#include "ledger/record.h"
#include "node/cli.h"
#include "node/rpc_client.h"

#define DEFAULT_TTL_S (24u * 3600u) /* an engagement's default expiry */
#define POW_MAX_TRIES (1ULL << 40)

static const char *const kind_names[] = {"gig", "representation", "sponsorship", "licensing",
                                         "other"};
static const char *const relation_names[] = {"knows", "represents", "worked-with"};
static const char *const reason_names[] = {"mistake", "resolved", "disputed", "other"};

const char rp_cli_usage_identity[] =
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
    "  --pow-difficulty N    solve at N bits instead of node.info's "
    "pow_difficulty\n" RP_CLI_SIGNING_HELP RP_CLI_SUBMIT_HELP
    "  -h, --help            show this help\n";

const char rp_cli_usage_engage[] =
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
    "  --out FILE            write the hex to FILE instead of stdout\n" RP_CLI_SIGNING_HELP
    "  -h, --help            show this help\n";

const char rp_cli_usage_cosign[] =
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
    "  --no-wait, --timeout MS   as for the other signing commands\n" RP_CLI_SIGNING_HELP
    "  -h, --help            show this help\n";

const char rp_cli_usage_review[] =
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
    "  --comment-hash HEX    32-byte hash of an off-chain comment\n" RP_CLI_SIGNING_HELP
        RP_CLI_SUBMIT_HELP "  -h, --help            show this help\n";

const char rp_cli_usage_vouch[] =
    "usage: repute-cli vouch --key FILE --for IDENTITY\n"
    "                        [--relation knows|represents|worked-with] [OPTIONS]\n"
    "\n"
    "State that an identity is genuine: you know them (the default), you\n"
    "represent them (an agency for its talent), or you worked with them. One\n"
    "live vouch per pair; revoke withdraws it.\n"
    "\n"
    "Options:\n"
    "  --for IDENTITY        the identity vouched for (64 hex)\n"
    "  --relation REL        knows (default), represents or worked-with\n" RP_CLI_SIGNING_HELP
        RP_CLI_SUBMIT_HELP "  -h, --help            show this help\n";

const char rp_cli_usage_revoke[] =
    "usage: repute-cli revoke --key FILE --target RECORD_ID\n"
    "                         [--reason mistake|resolved|disputed|other] [OPTIONS]\n"
    "\n"
    "Withdraw one of your own REVIEW or VOUCH records. It stays on chain but\n"
    "counts for nothing from then on.\n"
    "\n"
    "Options:\n"
    "  --target ID           the record id of your review or vouch (64 hex)\n"
    "  --reason REASON       mistake, resolved, disputed or other (default)\n" RP_CLI_SIGNING_HELP
        RP_CLI_SUBMIT_HELP "  -h, --help            show this help\n";

const char rp_cli_usage_rotate[] =
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
    "                        the next recovery key (key file or 64 hex)\n" RP_CLI_SIGNING_HELP
        RP_CLI_SUBMIT_HELP "  -h, --help            show this help\n";

const char rp_cli_usage_submit[] =
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

/* ---- helpers -------------------------------------------------------------------------------- */

static const rp_hash zero_hash;

/* Does --out name a file (rather than stdout, or nothing)? */
static int to_file(const char *out)
{
    return out && strcmp(out, "-") != 0;
}

/* A signed record given as hex or a file holding it ('-': stdin), decoded.
 * Returns: 0 with *r and its bytes buf[0..*len); or an exit status after a
 * message. */
static int read_record_arg(const char *arg, rp_record *r, unsigned char buf[RP_RECORD_MAX_SIZE],
                           size_t *len)
{
    int rc = rp_cli_read_hex_arg(arg, "record", buf, RP_RECORD_MAX_SIZE, len);
    if (rc)
        return rc;
    const char *field = NULL;
    int k = rp_record_decode(r, buf, *len, &field);
    if (k)
        return rp_cli_fail("not a valid record: %s: %s", field ? field : "?", rp_strerror(k));
    return 0;
}

/* The recovery commitment the signer's identity holds now (zero: none), as
 * identity.get reports it. Returns 0, or an exit status after a message. */
static int current_recovery(const rp_cli_signer *s, rp_hash *cur)
{
    memset(cur, 0, sizeof *cur);
    const char *hex = json_string_value(json_object_get(s->ident, "recovery"));
    if (hex && rp_cli_parse_hex32(hex, cur->bytes) != 0)
        return rp_cli_fail("identity.get returned a malformed recovery commitment");
    return 0;
}

/* Hand a signed engagement over to be co-signed or submitted: its hex to
 * --out (a file, or '-') or stdout; with --json and no --out, instead
 * {"id", "record"} and the members of extra (stolen; may be NULL).
 * Returns: 0 with *hint the stream for the next steps (stdout when the hex
 * went to a file, else stderr; NULL when the JSON was printed); or an exit
 * status after a message. */
static int hand_over(const rp_record *r, const char *idh, const char *out, json_t *extra,
                     FILE **hint)
{
    char hex[RP_CLI_RECORD_HEX_SIZE];
    *hint = NULL;
    int rc = rp_cli_record_hex(r, hex, sizeof hex);
    if (rc == 0 && rp_cli.json && !out) {
        json_t *j = json_pack("{s:s,s:s}", "id", idh, "record", hex);
        if (extra)
            json_object_update(j, extra);
        rc = rp_cli_print_json(j);
    } else if (rc == 0) {
        if (out)
            rc = rp_cli_write_text_file(out, hex);
        else
            puts(hex);
        if (rc == 0)
            *hint = to_file(out) ? stdout : stderr;
    }
    json_decref(extra);
    return rc;
}

/* Sign and write or submit a record that its issuer alone signs and whose
 * body needs nothing from the node (vouch, revoke): r holds the type and
 * the body; the issuer, sequence and time come from the node here. */
static int sign_body(rp_record *r, const rp_cli_sign_opts *so)
{
    rp_cli_signer s;
    int rc = rp_cli_signer_open(&s, so, so->key, 1);
    if (rc == 0) {
        rp_record full;
        rp_cli_record_base(&full, &s, r->type);
        full.body = r->body;
        *r = full;
        rc = rp_cli_sign_and_finish(r, &s, so);
    }
    rp_cli_signer_free(&s);
    return rc;
}

/* ---- identity ------------------------------------------------------------------------------- */

int rp_cli_cmd_identity(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *role = NULL, *name = NULL, *profile = NULL, *recovery = NULL, *pow = NULL;
    const rp_cmdline_opt opts[] = {
        RP_CLI_SIGN_OPT_TABLE(so),
        RP_CLI_SUBMIT_OPT_TABLE(so),
        {.name = "role", .value = &role},
        {.name = "name", .value = &name},
        {.name = "profile", .value = &profile},
        {.name = "recovery-key", .value = &recovery},
        {.name = "pow-difficulty", .value = &pow},
    };
    int rc = rp_cli_parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_identity, &so);
    if (rc >= 0)
        return rc;
    uint8_t role_v = 0;
    if (role && rp_cli_parse_enum(role, rp_cli_role_names, 3, &role_v) != 0)
        return rp_cli_usage_error(rp_cli_usage_identity, "--role is talent, agent or brand");
    if (name &&
        (strlen(name) > RP_NAME_MAX || !rp_utf8_valid((const unsigned char *)name, strlen(name))))
        return rp_cli_usage_error(rp_cli_usage_identity, "--name must be 1-%d bytes of UTF-8",
                                  RP_NAME_MAX);
    rp_hash profile_v;
    memset(&profile_v, 0, sizeof profile_v);
    if (profile && rp_cli_parse_hex32(profile, profile_v.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_identity, "--profile needs 64 hex digits");
    uint64_t difficulty = 0;
    if (pow && (rp_cli_parse_u64(pow, &difficulty) != 0 || difficulty > RP_POW_MAX_DIFFICULTY))
        return rp_cli_usage_error(rp_cli_usage_identity, "--pow-difficulty needs 0-%d",
                                  RP_POW_MAX_DIFFICULTY);

    rp_hash rec_commit;
    memset(&rec_commit, 0, sizeof rec_commit);
    if (recovery) {
        rp_pubkey rk;
        if ((rc = rp_cli_pubkey_arg(recovery, &rk)) != 0)
            return rc;
        rp_recovery_commitment(&rec_commit, &rk);
    }

    rp_cli_signer s;
    if ((rc = rp_cli_signer_open(&s, &so, so.key, 0)) != 0)
        goto out;
    rp_record r;
    rp_cli_record_base(&r, &s, RP_REC_IDENTITY);
    rp_identity_body *b = &r.body.identity;
    if (s.seq == 1) {
        if (!role || !name) {
            rc = rp_cli_usage_error(rp_cli_usage_identity, "registering needs --role and --name");
            goto out;
        }
        if (!pow &&
            (rc = rp_cli_need_u64(s.info, "node.info", "pow_difficulty", &difficulty)) != 0) {
            rp_cli_note("hint: give --pow-difficulty N (the genesis params.pow_difficulty)");
            goto out;
        }
    } else {
        /* An update keeps what it does not change. */
        const json_t *id = s.ident;
        const char *cur_role = json_string_value(json_object_get(id, "role"));
        const char *cur_name = json_string_value(json_object_get(id, "name"));
        const char *cur_prof = json_string_value(json_object_get(id, "profile"));
        if (!role &&
            (!cur_role || rp_cli_parse_enum(cur_role, rp_cli_role_names, 3, &role_v) != 0)) {
            rc = rp_cli_fail("identity.get did not say the current role: give --role");
            goto out;
        }
        if (!name && !(name = cur_name)) {
            rc = rp_cli_fail("identity.get did not say the current name: give --name");
            goto out;
        }
        if (!profile && cur_prof && rp_cli_parse_hex32(cur_prof, profile_v.bytes) != 0) {
            rc = rp_cli_fail("identity.get returned a malformed profile");
            goto out;
        }
        rp_hash cur;
        if ((rc = current_recovery(&s, &cur)) != 0)
            goto out;
        if (!recovery) {
            rec_commit = cur;
        } else if (!rp_hash_eq(&cur, &zero_hash) && !rp_hash_eq(&cur, &rec_commit)) {
            rc =
                rp_cli_fail("the identity already commits to another recovery key; only a rotation "
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
        rc = rp_cli_usage_error(rp_cli_usage_identity, "--name must not be empty");
        goto out;
    }
    if ((rc = rp_cli_check_record(&r)) != 0)
        goto out;
    if (s.seq == 1) {
        if (difficulty > 16 && !rp_cli.json)
            rp_cli_note("solving the proof of work (%" PRIu64 " bits)...", difficulty);
        int k = rp_identity_pow_solve(&r, &s.chain_id, (unsigned)difficulty, POW_MAX_TRIES);
        if (k) {
            rc = rp_cli_fail("proof of work: %s", rp_strerror(k));
            goto out;
        }
    }
    if ((rc = rp_cli_sign_slot(&r, 0, &s, so.key, so.pass_env)) != 0)
        goto out;
    char idh[65];
    rp_cli_hex32(idh, s.identity.bytes);
    rc = rp_cli_finish_record(&r, &s, &so, idh);
out:
    rp_cli_signer_free(&s);
    return rc;
}

/* ---- engage and cosign ---------------------------------------------------------------------- */

int rp_cli_cmd_engage(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *with = NULL, *kind = NULL, *terms = NULL, *expires = NULL;
    const rp_cmdline_opt opts[] = {
        RP_CLI_SIGN_OPT_TABLE(so),          {.name = "out", .value = &so.out},
        {.name = "with", .value = &with},   {.name = "kind", .value = &kind},
        {.name = "terms", .value = &terms}, {.name = "expires-in", .value = &expires},
    };
    int rc = rp_cli_parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_engage, &so);
    if (rc >= 0)
        return rc;
    rp_pubkey cp;
    if (!with || rp_cli_parse_hex32(with, cp.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_engage,
                                  "--with needs the counterparty's identity (64 hex)");
    uint8_t kind_v;
    if (!kind || rp_cli_parse_enum(kind, kind_names, 5, &kind_v) != 0)
        return rp_cli_usage_error(rp_cli_usage_engage,
                                  "--kind is gig, representation, sponsorship, licensing or other");
    rp_hash terms_v;
    memset(&terms_v, 0, sizeof terms_v);
    if (terms && rp_cli_parse_hex32(terms, terms_v.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_engage, "--terms needs 64 hex digits");
    uint64_t ttl = DEFAULT_TTL_S;
    if (expires && (rp_cli_parse_duration(expires, &ttl) != 0 || ttl == 0))
        return rp_cli_usage_error(rp_cli_usage_engage,
                                  "--expires-in needs a duration such as 90m, 12h or 2d");

    rp_cli_signer s;
    if ((rc = rp_cli_signer_open(&s, &so, so.key, 1)) != 0)
        goto out;
    if (!memcmp(cp.bytes, s.identity.bytes, 32)) {
        rc = rp_cli_fail("an engagement needs two distinct parties");
        goto out;
    }
    uint64_t max_ttl;
    if (rp_rpc_get_u64(s.info, "max_engagement_ttl_s", &max_ttl) == 0 && ttl > max_ttl) {
        char span[64];
        rp_cli_format_span(span, sizeof span, max_ttl);
        rc = rp_cli_fail("--expires-in is longer than this chain allows (%s)", span);
        goto out;
    }
    json_t *other;
    int nf;
    if ((rc = rp_cli_lookup("identity.get", "identity", with, &other, &nf)) != 0)
        goto out;
    json_decref(other);
    if (nf) {
        rc = rp_cli_fail("the counterparty %s is not registered on this chain", with);
        goto out;
    }
    rp_record r;
    rp_cli_record_base(&r, &s, RP_REC_ENGAGEMENT);
    r.body.engagement.counterparty = cp;
    r.body.engagement.kind = kind_v;
    r.body.engagement.terms = terms_v;
    r.body.engagement.expiry = r.time + ttl;
    if ((rc = rp_cli_check_record(&r)) != 0 ||
        (rc = rp_cli_sign_slot(&r, 0, &s, so.key, so.pass_env)) != 0)
        goto out;
    char idh[65], when[64], exp[24];
    rp_hash id;
    rp_record_id(&id, &s.chain_id, &r);
    rp_cli_hex32(idh, id.bytes);
    snprintf(exp, sizeof exp, "%" PRIu64, r.body.engagement.expiry);
    FILE *hint;
    if ((rc = hand_over(&r, idh, so.out, json_pack("{s:s}", "expiry", exp), &hint)) != 0 || !hint)
        goto out;
    rp_cli_format_time(when, sizeof when, r.body.engagement.expiry);
    fprintf(hint, "engagement %s (sequence %" PRIu64 "), signed by you; expires %s.\n", idh, r.seq,
            when);
    fprintf(hint, "Next: the counterparty runs  repute-cli cosign --key THEIR_KEY %s --submit\n",
            to_file(so.out) ? so.out : "HEX");
out:
    rp_cli_signer_free(&s);
    return rc;
}

int rp_cli_cmd_cosign(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    int submit = 0;
    const char *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {RP_CLI_SIGN_OPT_TABLE(so),
                                   RP_CLI_SUBMIT_OPT_TABLE(so),
                                   {.name = "submit", .flag = &submit}};
    int rc =
        rp_cli_parse_command(argc, argv, opts, sizeof opts / sizeof opts[0], rp_cli_usage_cosign,
                             pos, 1, 1, &npos, "the RECORD to co-sign (hex or a file)");
    if (rc >= 0)
        return rc;
    if (so.out && submit)
        return rp_cli_usage_error(rp_cli_usage_cosign, "--out and --submit exclude each other");
    if ((so.no_wait || so.timeout) && !submit)
        return rp_cli_usage_error(rp_cli_usage_cosign, "--no-wait and --timeout need --submit");
    rp_cli_sign_opts chk = so;
    chk.out = NULL;
    if ((rc = rp_cli_check_sign_opts(&chk, rp_cli_usage_cosign, 1)) >= 0)
        return rc;
    if (so.seq)
        return rp_cli_usage_error(rp_cli_usage_cosign,
                                  "--seq does not apply: the initiator's sequence is "
                                  "in the record");

    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    rp_record r;
    if ((rc = read_record_arg(pos[0], &r, buf, &len)) != 0)
        return rc;
    if (r.type != RP_REC_ENGAGEMENT)
        return rp_cli_fail("this is a %s record, not an engagement", rp_record_type_name(r.type));
    static const rp_sig nosig;
    if (!memcmp(&r.sigs[0], &nosig, sizeof nosig))
        return rp_cli_fail("the initiator has not signed this engagement");
    if (memcmp(&r.sigs[1], &nosig, sizeof nosig) != 0)
        return rp_cli_fail(
            "this engagement is co-signed already: submit it with repute-cli submit");

    rp_cli_signer s;
    if ((rc = rp_cli_signer_open(&s, &so, so.key, 1)) != 0)
        goto out;
    char me[65], initiator[65], cp[65], idh[65];
    rp_cli_hex32(me, s.identity.bytes);
    rp_cli_hex32(initiator, r.issuer.bytes);
    rp_cli_hex32(cp, r.body.engagement.counterparty.bytes);
    if (strcmp(me, cp) != 0) {
        rc = rp_cli_fail("this engagement names %s as the counterparty, not you (%s)", cp, me);
        goto out;
    }
    rp_hash id;
    rp_record_id(&id, &s.chain_id, &r);
    rp_cli_hex32(idh, id.bytes);
    /* The initiator's signature, against its current key. */
    json_t *ini = NULL;
    int nf;
    if ((rc = rp_cli_lookup("identity.get", "identity", initiator, &ini, &nf)) != 0)
        goto out;
    rp_pubkey ikey;
    if (nf) {
        rc = rp_cli_fail("the initiator %s is not registered on this chain", initiator);
        goto out;
    }
    /* A registration still pending has no key on chain yet: its key is its name. */
    if (json_object_get(ini, "key") || json_is_true(json_object_get(ini, "registered")))
        rc = rp_cli_need_hex32(ini, "identity.get", "key", ikey.bytes);
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
        rc = rp_cli_fail("the initiator's signature does not verify against its current key: the "
                         "record was changed, or is for another chain");
        goto out;
    }
    uint64_t now = (uint64_t)time(NULL);
    char when[64], terms[65], left[64];
    rp_cli_format_time(when, sizeof when, r.body.engagement.expiry);
    rp_cli_hex32(terms, r.body.engagement.terms.bytes);
    if (r.body.engagement.expiry <= now) {
        rc = rp_cli_fail("this engagement expired at %s", when);
        goto out;
    }
    rp_cli_format_span(left, sizeof left, r.body.engagement.expiry - now);
    if (!rp_cli.json) {
        FILE *msg = submit || to_file(so.out) ? stdout : stderr;
        char signed_at[64];
        rp_cli_format_time(signed_at, sizeof signed_at, r.time);
        fprintf(msg,
                "engagement    %s\n"
                "initiator     %s%s (signature OK)\n"
                "counterparty  %s (you)\n"
                "kind          %s\n"
                "terms hash    %s\n"
                "created       %s\n"
                "expires       %s (in %s)\n%s",
                idh, initiator, idesc, cp, rp_cli_enum_name(kind_names, 5, r.body.engagement.kind),
                terms, signed_at, when, left, submit ? "\n" : "");
    }
    if ((rc = rp_cli_sign_slot(&r, 1, &s, so.key, so.pass_env)) != 0)
        goto out;
    if (submit) {
        rc = rp_cli_finish_record(&r, &s, &so, NULL);
        goto out;
    }
    FILE *hint;
    if ((rc = hand_over(&r, idh, so.out, NULL, &hint)) == 0 && hint && !rp_cli.json)
        fprintf(hint, "co-signed; either party submits it:  repute-cli submit %s --wait\n",
                to_file(so.out) ? so.out : "HEX");
out:
    rp_cli_signer_free(&s);
    return rc;
}

/* ---- review, vouch, revoke ------------------------------------------------------------------ */

static int parse_rating(const char *s, const char *what, uint8_t *out, const char *usage)
{
    uint64_t v;
    if (rp_cli_parse_u64(s, &v) != 0 || v < 1 || v > 5)
        return rp_cli_usage_error(usage, "%s needs 1 to 5", what);
    *out = (uint8_t)v;
    return -1;
}

int rp_cli_cmd_review(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *eng = NULL, *rating = NULL, *dims[RP_REVIEW_DIMS] = {NULL}, *comment = NULL;
    const rp_cmdline_opt opts[] = {
        RP_CLI_SIGN_OPT_TABLE(so),
        RP_CLI_SUBMIT_OPT_TABLE(so),
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
    int rc = rp_cli_parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_review, &so);
    if (rc >= 0)
        return rc;
    rp_hash eng_id;
    if (!eng || rp_cli_parse_hex32(eng, eng_id.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_review,
                                  "--engagement needs the engagement's record id (64 hex)");
    if (!rating)
        return rp_cli_usage_error(rp_cli_usage_review, "missing --rating 1-5");
    uint8_t overall = 0, dim_v[RP_REVIEW_DIMS] = {0};
    if ((rc = parse_rating(rating, "--rating", &overall, rp_cli_usage_review)) >= 0)
        return rc;
    for (size_t i = 0; i < RP_REVIEW_DIMS; i++)
        if (dims[i] &&
            (rc = parse_rating(dims[i], dim_opts[i], &dim_v[i], rp_cli_usage_review)) >= 0)
            return rc;
    rp_hash comment_v;
    memset(&comment_v, 0, sizeof comment_v);
    if (comment && rp_cli_parse_hex32(comment, comment_v.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_review, "--comment-hash needs 64 hex digits");

    rp_cli_signer s;
    if ((rc = rp_cli_signer_open(&s, &so, so.key, 1)) != 0)
        goto out;
    /* The engagement, decoded from its own bytes: the subject is the other party. */
    json_t *er = NULL;
    int nf;
    if ((rc = rp_cli_lookup("record.get", "id", eng, &er, &nf)) != 0)
        goto out;
    if (nf) {
        rc = rp_cli_fail("the node knows no record %s", eng);
        goto out;
    }
    const char *ehex = json_string_value(json_object_get(er, "hex"));
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len = 0;
    rp_record e;
    if (!ehex || rp_hex_decode_var(buf, sizeof buf, &len, ehex, strlen(ehex)) != 0 ||
        rp_record_decode(&e, buf, len, NULL) != 0) {
        json_decref(er);
        rc = rp_cli_fail("record.get returned no valid \"hex\" for %s", eng);
        goto out;
    }
    json_decref(er);
    if (e.type != RP_REC_ENGAGEMENT) {
        rc = rp_cli_fail("%s is a %s record, not an engagement", eng, rp_record_type_name(e.type));
        goto out;
    }
    rp_pubkey subject;
    if (!memcmp(e.issuer.bytes, s.identity.bytes, 32))
        subject = e.body.engagement.counterparty;
    else if (!memcmp(e.body.engagement.counterparty.bytes, s.identity.bytes, 32))
        subject = e.issuer;
    else {
        char me[65];
        rp_cli_hex32(me, s.identity.bytes);
        rc = rp_cli_fail("you (%s) are not a party of engagement %s", me, eng);
        goto out;
    }
    rp_record r;
    rp_cli_record_base(&r, &s, RP_REC_REVIEW);
    r.body.review.engagement = eng_id;
    r.body.review.subject = subject;
    r.body.review.overall = overall;
    memcpy(r.body.review.dims, dim_v, sizeof dim_v);
    r.body.review.comment = comment_v;
    rc = rp_cli_sign_and_finish(&r, &s, &so);
out:
    rp_cli_signer_free(&s);
    return rc;
}

int rp_cli_cmd_vouch(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *who = NULL, *relation = NULL;
    const rp_cmdline_opt opts[] = {RP_CLI_SIGN_OPT_TABLE(so),
                                   RP_CLI_SUBMIT_OPT_TABLE(so),
                                   {.name = "for", .value = &who},
                                   {.name = "relation", .value = &relation}};
    int rc = rp_cli_parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_vouch, &so);
    if (rc >= 0)
        return rc;
    rp_pubkey subject;
    if (!who || rp_cli_parse_hex32(who, subject.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_vouch, "--for needs an identity (64 hex)");
    uint8_t rel = RP_VOUCH_KNOWS;
    if (relation && rp_cli_parse_enum(relation, relation_names, 3, &rel) != 0)
        return rp_cli_usage_error(rp_cli_usage_vouch,
                                  "--relation is knows, represents or worked-with");
    rp_record r = {.type = RP_REC_VOUCH};
    r.body.vouch.subject = subject;
    r.body.vouch.relation = rel;
    return sign_body(&r, &so);
}

int rp_cli_cmd_revoke(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *target = NULL, *reason = NULL;
    const rp_cmdline_opt opts[] = {RP_CLI_SIGN_OPT_TABLE(so),
                                   RP_CLI_SUBMIT_OPT_TABLE(so),
                                   {.name = "target", .value = &target},
                                   {.name = "reason", .value = &reason}};
    int rc = rp_cli_parse_signing(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_revoke, &so);
    if (rc >= 0)
        return rc;
    rp_hash t;
    if (!target || rp_cli_parse_hex32(target, t.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_revoke, "--target needs a record id (64 hex)");
    uint8_t why = RP_REVOKE_OTHER;
    if (reason && rp_cli_parse_enum(reason, reason_names, 4, &why) != 0)
        return rp_cli_usage_error(rp_cli_usage_revoke,
                                  "--reason is mistake, resolved, disputed or other");
    rp_record r = {.type = RP_REC_REVOKE};
    r.body.revoke.target = t;
    r.body.revoke.reason = why;
    return sign_body(&r, &so);
}

/* ---- rotate --------------------------------------------------------------------------------- */

int rp_cli_cmd_rotate(int argc, char **argv)
{
    rp_cli_sign_opts so = {0};
    const char *new_key = NULL, *recovery_key = NULL, *new_recovery = NULL;
    int by_recovery = 0;
    const rp_cmdline_opt opts[] = {
        RP_CLI_SIGN_OPT_TABLE(so),
        RP_CLI_SUBMIT_OPT_TABLE(so),
        {.name = "new-key", .value = &new_key},
        {.name = "by-recovery", .flag = &by_recovery},
        {.name = "recovery-key", .value = &recovery_key},
        {.name = "new-recovery-key", .value = &new_recovery},
    };
    int rc = rp_cli_parse_command(argc, argv, opts, sizeof opts / sizeof opts[0],
                                  rp_cli_usage_rotate, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    if ((rc = rp_cli_check_sign_opts(&so, rp_cli_usage_rotate, !by_recovery)) >= 0)
        return rc;
    if (!new_key)
        return rp_cli_usage_error(rp_cli_usage_rotate, "missing --new-key FILE");
    if (by_recovery && !recovery_key)
        return rp_cli_usage_error(rp_cli_usage_rotate, "--by-recovery needs --recovery-key FILE");
    if (!by_recovery && recovery_key)
        return rp_cli_usage_error(rp_cli_usage_rotate,
                                  "--recovery-key signs only with --by-recovery");
    if (by_recovery && !so.key && !so.as)
        return rp_cli_usage_error(rp_cli_usage_rotate,
                                  "--by-recovery needs the identity: --as IDENTITY, or "
                                  "--key FILE (only its public key is read)");
    rp_pubkey nk, rk;
    rp_hash new_commit;
    memset(&new_commit, 0, sizeof new_commit);
    if ((rc = rp_cli_pubkey_arg(new_key, &nk)) != 0)
        return rc;
    if (new_recovery) {
        rp_pubkey nr;
        if ((rc = rp_cli_pubkey_arg(new_recovery, &nr)) != 0)
            return rc;
        rp_recovery_commitment(&new_commit, &nr);
    }
    if (by_recovery && (rc = rp_cli_key_public(recovery_key, &rk)) != 0)
        return rc;

    /* By recovery, the signing key is the recovery key, and --key (if any)
     * only names the identity: its public key is read, nothing decrypted. */
    char named_hex[65];
    if (by_recovery && !so.as) {
        rp_pubkey named;
        if ((rc = rp_cli_key_public(so.key, &named)) != 0)
            return rc;
        rp_cli_hex32(named_hex, named.bytes);
        so.as = named_hex;
    }
    rp_cli_signer s;
    if ((rc = rp_cli_signer_open(&s, &so, by_recovery ? NULL : so.key, 1)) != 0)
        goto out;
    rp_hash cur;
    if ((rc = current_recovery(&s, &cur)) != 0)
        goto out;
    if (by_recovery) {
        rp_hash c;
        rp_recovery_commitment(&c, &rk);
        if (!rp_hash_eq(&c, &cur)) {
            if (rp_hash_eq(&cur, &zero_hash))
                rc = rp_cli_fail("this identity has no recovery key");
            else
                rc = rp_cli_fail("%s is not the recovery key this identity committed to",
                                 recovery_key);
            goto out;
        }
        if (!new_recovery)
            rp_cli_note("warning: no --new-recovery-key: after this rotation the identity has no "
                        "recovery key");
    } else if (!new_recovery) {
        new_commit = cur; /* kept, as the rules require */
    } else if (!rp_hash_eq(&cur, &zero_hash) && !rp_hash_eq(&cur, &new_commit)) {
        rc = rp_cli_fail("a rotation signed by the current key cannot change the recovery key; use "
                         "--by-recovery, or leave out --new-recovery-key");
        goto out;
    }
    rp_record r;
    rp_cli_record_base(&r, &s, RP_REC_ROTATE);
    r.body.rotate.new_key = nk;
    r.body.rotate.new_recovery = new_commit;
    r.body.rotate.auth = by_recovery ? RP_ROTATE_BY_RECOVERY : RP_ROTATE_BY_CURRENT;
    if (by_recovery)
        r.body.rotate.recovery_key = rk;
    if ((rc = rp_cli_check_record(&r)) != 0)
        goto out;
    if ((rc = rp_cli_sign_slot(&r, 0, &s, by_recovery ? recovery_key : so.key, so.pass_env)) != 0)
        goto out;
    rc = rp_cli_finish_record(&r, &s, &so, NULL);
    if (rc == 0 && !rp_cli.json && !so.out)
        rp_cli_note("from now on, sign with the new key file%s",
                    so.as ? "" : " and --as IDENTITY (the identity keeps its name)");
out:
    rp_cli_signer_free(&s);
    return rc;
}

/* ---- submit --------------------------------------------------------------------------------- */

int rp_cli_cmd_submit(int argc, char **argv)
{
    int wait = 0;
    const char *timeout = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "wait", .flag = &wait},
                                   {.name = "timeout", .value = &timeout}};
    int rc = rp_cli_parse_command(argc, argv, opts, 2, rp_cli_usage_submit, pos, 1, 1, &npos,
                                  "the RECORD to submit (hex or a file)");
    if (rc >= 0)
        return rc;
    uint64_t t = RP_CLI_DEFAULT_WAIT_MS;
    if (timeout && (rp_cli_parse_u64(timeout, &t) != 0 || t == 0 || t > 60000))
        return rp_cli_usage_error(rp_cli_usage_submit, "--timeout needs milliseconds, 1-60000");
    if (timeout && !wait)
        return rp_cli_usage_error(rp_cli_usage_submit, "--timeout needs --wait");
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    rp_record r;
    if ((rc = read_record_arg(pos[0], &r, buf, &len)) != 0)
        return rc;
    char hex[RP_CLI_RECORD_HEX_SIZE];
    rp_hex_encode(hex, sizeof hex, buf, len);
    return rp_cli_submit_hex(hex, wait, (unsigned)t, NULL);
}
