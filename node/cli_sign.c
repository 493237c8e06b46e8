/* What every signing command of repute-cli does, around the record it
 * builds: ask the node, check, sign, then write or submit.
 *
 * The order matters. The node is asked first (the chain id, the issuer's
 * next sequence number and current key), the record is checked as the node
 * would check it, and only then is the key decrypted: a mistake costs no
 * passphrase, and the secret key lives only as long as the signature takes.
 * The signed record is then written for someone else (--out) or submitted,
 * waiting for its block unless --no-wait.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "ledger/record.h"
#include "node/cli.h"
#include "node/rpc_client.h"

void rp_cli_signer_free(rp_cli_signer *s)
{
    json_decref(s->info);
    json_decref(s->ident);
    memset(s, 0, sizeof *s);
}

int rp_cli_check_sign_opts(const rp_cli_sign_opts *so, const char *usage, int need_key)
{
    if (need_key && !so->key)
        return rp_cli_usage_error(usage, "missing --key FILE");
    uint64_t v;
    if (so->seq && (rp_cli_parse_u64(so->seq, &v) != 0 || v == 0))
        return rp_cli_usage_error(usage, "--seq needs a sequence number from 1");
    if (so->as) {
        rp_pubkey pk;
        if (rp_cli_parse_hex32(so->as, pk.bytes) != 0)
            return rp_cli_usage_error(usage, "--as needs an identity: 64 hex digits");
    }
    if (so->timeout && (rp_cli_parse_u64(so->timeout, &v) != 0 || v == 0 || v > 60000))
        return rp_cli_usage_error(usage, "--timeout needs milliseconds, 1-60000");
    if (so->timeout && so->no_wait)
        return rp_cli_usage_error(usage, "--timeout and --no-wait contradict each other");
    if (so->out && (so->no_wait || so->timeout))
        return rp_cli_usage_error(usage, "--out writes the record instead of submitting it; "
                                         "--no-wait and --timeout do not apply");
    return -1;
}

int rp_cli_parse_signing(int argc, char **argv, const rp_cmdline_opt *opts, size_t nopts,
                         const char *usage, const rp_cli_sign_opts *so)
{
    int rc = rp_cli_parse_command(argc, argv, opts, nopts, usage, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    return rp_cli_check_sign_opts(so, usage, 1);
}

int rp_cli_signer_open(rp_cli_signer *s, const rp_cli_sign_opts *so, const char *key_path,
                       int must_be_registered)
{
    memset(s, 0, sizeof *s);
    int rc;
    if (key_path && (rc = rp_cli_key_public(key_path, &s->key)) != 0)
        return rc;
    if (so->as)
        rp_cli_parse_hex32(so->as, s->identity.bytes);
    else
        s->identity = s->key;
    if ((rc = rp_cli_call("node.info", NULL, &s->info)) != 0)
        return rc;
    if ((rc = rp_cli_need_hex32(s->info, "node.info", "chain_id", s->chain_id.bytes)) != 0)
        return rc;
    char id[65];
    rp_cli_hex32(id, s->identity.bytes);
    int nf = 0;
    if ((rc = rp_cli_lookup("identity.get", "identity", id, &s->ident, &nf)) != 0)
        return rc;
    s->registered = !nf;
    if (nf && must_be_registered)
        return rp_cli_fail("identity %s is not registered on this chain: register it first with "
                           "'repute-cli identity'%s",
                           id, so->as ? "" : " (or, if the key was rotated to, add --as IDENTITY)");
    if (so->seq) {
        rp_cli_parse_u64(so->seq, &s->seq);
    } else if (nf) {
        s->seq = 1;
    } else if ((rc = rp_cli_need_u64(s->ident, "identity.get", "next_seq", &s->seq)) != 0) {
        return rc;
    }
    /* The key must be the identity's current one, or the node refuses the
     * signature; say so now rather than after the passphrase. */
    const char *cur = json_string_value(json_object_get(s->ident, "key"));
    if (key_path && cur && json_is_true(json_object_get(s->ident, "registered"))) {
        char mine[65];
        rp_cli_hex32(mine, s->key.bytes);
        if (strcmp(cur, mine) != 0)
            return rp_cli_fail("%s holds key %.16s..., but identity %.16s... now signs with key "
                               "%.16s... (rotated?)",
                               key_path, mine, id, cur);
    }
    uint64_t t = RP_CLI_DEFAULT_WAIT_MS;
    if (so->timeout)
        rp_cli_parse_u64(so->timeout, &t);
    s->timeout_ms = (unsigned)t;
    return 0;
}

void rp_cli_record_base(rp_record *r, const rp_cli_signer *s, unsigned type)
{
    memset(r, 0, sizeof *r);
    r->version = RP_RECORD_VERSION;
    r->type = (uint8_t)type;
    r->issuer = s->identity;
    r->seq = s->seq;
    r->time = (uint64_t)time(NULL);
}

int rp_cli_check_record(const rp_record *r)
{
    const char *field = NULL;
    int rc = rp_record_check(r, &field);
    if (rc)
        return rp_cli_fail("the record would be invalid: %s: %s", field ? field : "?",
                           rp_strerror(rc));
    return 0;
}

int rp_cli_sign_slot(rp_record *r, size_t slot, const rp_cli_signer *s, const char *key_path,
                     const char *pass_env)
{
    rp_seckey *sk = sodium_malloc(sizeof *sk);
    if (!sk)
        return rp_cli_fail("out of memory");
    rp_pubkey pk;
    int rc = rp_cli_key_unseal(key_path, pass_env, sk, &pk);
    if (rc == 0) {
        unsigned char aux[32];
        rp_aux_fresh(aux);
        int k = rp_record_sign(r, slot, &s->chain_id, sk, aux);
        if (k)
            rc = rp_cli_fail("cannot sign: %s", rp_strerror(k));
    }
    sodium_memzero(sk, sizeof *sk);
    sodium_free(sk);
    return rc;
}

int rp_cli_record_hex(const rp_record *r, char *hex, size_t cap)
{
    unsigned char buf[RP_RECORD_MAX_SIZE];
    size_t len;
    int rc = rp_record_encode(r, buf, sizeof buf, &len);
    if (rc)
        return rp_cli_fail("cannot encode the record: %s", rp_strerror(rc));
    rp_hex_encode(hex, cap, buf, len);
    return 0;
}

int rp_cli_submit_hex(const char *hex, int wait, unsigned timeout_ms, const char *identity_line)
{
    json_t *params = json_pack("{s:s}", "record", hex);
    if (wait) {
        json_object_set_new(params, "wait", json_true());
        json_object_set_new(params, "timeout_ms", json_integer(timeout_ms));
    }
    json_t *res;
    int rc = rp_cli_call_ex("record.submit", params, &res, NULL,
                            wait ? timeout_ms + RP_CLI_CALL_TIMEOUT_MS : RP_CLI_CALL_TIMEOUT_MS);
    if (rc)
        return rc;
    if (identity_line) { /* the identity first: it is what `identity` is about */
        json_t *o = json_pack("{s:s}", "identity", identity_line);
        json_object_update(o, res);
        json_decref(res);
        res = o;
    }
    return rp_cli_show(res);
}

int rp_cli_finish_record(const rp_record *r, const rp_cli_signer *s, const rp_cli_sign_opts *so,
                         const char *identity_line)
{
    char hex[RP_CLI_RECORD_HEX_SIZE];
    int rc = rp_cli_record_hex(r, hex, sizeof hex);
    if (rc)
        return rc;
    if (!so->out)
        return rp_cli_submit_hex(hex, !so->no_wait, s->timeout_ms, identity_line);
    rp_hash id;
    rp_record_id(&id, &s->chain_id, r);
    char idh[65];
    rp_cli_hex32(idh, id.bytes);
    if ((rc = rp_cli_write_text_file(so->out, hex)) != 0)
        return rc;
    if (strcmp(so->out, "-") != 0) {
        if (rp_cli.json) {
            rc = rp_cli_print_json(json_pack("{s:s,s:s}", "id", idh, "file", so->out));
        } else {
            printf("id    %s\nfile  %s (signed, not submitted: repute-cli submit %s)\n", idh,
                   so->out, so->out);
        }
    }
    return rc;
}

int rp_cli_sign_and_finish(rp_record *r, const rp_cli_signer *s, const rp_cli_sign_opts *so)
{
    int rc;
    if ((rc = rp_cli_check_record(r)) != 0 ||
        (rc = rp_cli_sign_slot(r, 0, s, so->key, so->pass_env)) != 0)
        return rc;
    return rp_cli_finish_record(r, s, so, NULL);
}
