/* repute-cli's keys: key files, passphrases, and the keygen command.
 *
 * A key file (crypto/keyfile.h, docs/keys.md) holds one secret key sealed
 * with a passphrase; its public key is in the clear, so a command that only
 * names an identity reads it without asking for anything. Every passphrase,
 * for a new key file or to open one, comes through passphrase_get: from an
 * environment variable (--passphrase-env, default REPUTE_PASSPHRASE) or,
 * when that is not set, from the terminal without echo. It lives in locked
 * memory and is wiped after use.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/error.h"
#include "crypto/keyfile.h"
#include "crypto/sig.h"
#include "node/cli.h"
#include "node/prompt.h"

#define PASS_MAX         1024 /* bytes of passphrase */
#define PASS_ENV_DEFAULT "REPUTE_PASSPHRASE"

/* ---- passphrases and keys ------------------------------------------------------------------- */

/* A passphrase, in sodium_malloc'd (guarded, locked) memory. */
typedef struct passphrase {
    char *buf; /* PASS_MAX + 1 bytes; the passphrase is NUL-terminated */
    size_t len;
    int typed; /* it came from the terminal, not the environment */
} passphrase;

static void passphrase_free(passphrase *p)
{
    sodium_free(p->buf); /* zeroes it */
    memset(p, 0, sizeof *p);
}

/* Fill p->buf from $env_name, or from the terminal. Returns 0, or an exit
 * status after a message. */
static int read_passphrase(passphrase *p, const char *env_name, const char *what, int confirm)
{
    const size_t cap = PASS_MAX + 1;
    const char *v = getenv(env_name);
    if (v) {
        size_t n = strlen(v);
        if (n >= cap)
            return rp_cli_fail("$%s is longer than %zu bytes", env_name, cap - 1);
        memcpy(p->buf, v, n + 1);
        p->len = n;
        return 0;
    }
    p->typed = 1;
    char prompt[600];
    snprintf(prompt, sizeof prompt, "Passphrase for %s: ", what);
    int rc = rp_prompt_secret(prompt, p->buf, cap, &p->len);
    if (rc == -ENXIO)
        return rp_cli_fail(
            "no passphrase for %s: set $%s (an empty value is an empty passphrase) or "
            "run on a terminal",
            what, env_name);
    if (rc == -E2BIG)
        return rp_cli_fail("the passphrase is longer than %zu bytes", cap - 1);
    if (rc)
        return rp_cli_fail("cannot read the passphrase: %s", strerror(-rc));
    if (!confirm)
        return 0;
    char *again = sodium_malloc(cap);
    if (!again)
        return rp_cli_fail("out of memory");
    size_t alen = 0;
    rc = rp_prompt_secret("Repeat it: ", again, cap, &alen);
    int same = rc == 0 && alen == p->len && sodium_memcmp(again, p->buf, alen) == 0;
    sodium_free(again);
    if (rc)
        return rp_cli_fail("cannot read the passphrase: %s", strerror(-rc));
    if (!same)
        return rp_cli_fail("the two passphrases differ; nothing was written");
    return 0;
}

/* The one way repute-cli gets a passphrase, for a new key file or to open
 * one (what names the file): from $env_opt (NULL or "": REPUTE_PASSPHRASE)
 * or, when that variable is not set, typed on the terminal without echo,
 * twice if confirm. Returns 0 with *p (release it with passphrase_free), or
 * an exit status after a message, with nothing to release. */
static int passphrase_get(passphrase *p, const char *env_opt, const char *what, int confirm)
{
    memset(p, 0, sizeof *p);
    p->buf = sodium_malloc(PASS_MAX + 1);
    if (!p->buf)
        return rp_cli_fail("out of memory");
    int rc = read_passphrase(p, env_opt && *env_opt ? env_opt : PASS_ENV_DEFAULT, what, confirm);
    if (rc)
        passphrase_free(p);
    return rc;
}

/* Explain a key-file error. Returns RP_CLI_EXIT_FAIL. */
static int key_error(const char *path, int rc)
{
    switch (rc) {
    case RP_ERR_KEYFILE_DECRYPT:
        return rp_cli_fail("%s: wrong passphrase (or the file was changed)", path);
    case RP_ERR_KEYFILE_PERMS:
        return rp_cli_fail("%s: group or others can access it; chmod 600 %s", path, path);
    case RP_ERR_KEYFILE_FORMAT:
    case RP_ERR_KEYFILE_VERSION:
    case RP_ERR_KEYFILE_PARAMS:
        return rp_cli_fail("%s: not a repute key file (%s)", path, rp_strerror(rc));
    default:
        return rp_cli_fail("%s: %s", path, rp_strerror(rc));
    }
}

int rp_cli_key_public(const char *path, rp_pubkey *pk)
{
    unsigned char buf[RP_KEYFILE_SIZE + 1];
    FILE *f = fopen(path, "rb");
    if (!f)
        return rp_cli_fail("cannot open key file %s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    rp_keyfile kf;
    int rc = rp_keyfile_parse(&kf, buf, n);
    if (rc)
        return key_error(path, rc);
    *pk = kf.pubkey;
    return 0;
}

int rp_cli_pubkey_arg(const char *arg, rp_pubkey *pk)
{
    struct stat st;
    if (stat(arg, &st) != 0 && rp_cli_parse_hex32(arg, pk->bytes) == 0) {
        if (!rp_pubkey_valid(pk))
            return rp_cli_fail("%s is not a valid x-only public key", arg);
        return 0;
    }
    return rp_cli_key_public(arg, pk);
}

int rp_cli_key_unseal(const char *path, const char *pass_env, rp_seckey *sk, rp_pubkey *pk)
{
    passphrase pass;
    int rc = passphrase_get(&pass, pass_env, path, 0);
    if (rc == 0) {
        int k = rp_keyfile_read(sk, pk, path, pass.buf, pass.len);
        if (k)
            rc = key_error(path, k);
        passphrase_free(&pass);
    }
    if (rc)
        sodium_memzero(sk, sizeof *sk);
    return rc;
}

/* ---- keygen --------------------------------------------------------------------------------- */

const char rp_cli_usage_keygen[] =
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

int rp_cli_cmd_keygen(int argc, char **argv)
{
    const char *out = NULL, *env = NULL, *kdf = NULL;
    const rp_cmdline_opt opts[] = {{.name = "out", .value = &out},
                                   {.name = "passphrase-env", .value = &env},
                                   {.name = "kdf", .value = &kdf}};
    int rc = rp_cli_parse_command(argc, argv, opts, 3, rp_cli_usage_keygen, NULL, 0, 0, NULL, "");
    if (rc >= 0)
        return rc;
    if (!out)
        return rp_cli_usage_error(rp_cli_usage_keygen, "missing --out FILE");
    uint64_t ops = RP_KDF_OPS_MODERATE, mem = RP_KDF_MEM_MODERATE;
    if (kdf && !strcmp(kdf, "interactive"))
        ops = RP_KDF_OPS_INTERACTIVE, mem = RP_KDF_MEM_INTERACTIVE;
    else if (kdf && strcmp(kdf, "moderate") != 0)
        return rp_cli_usage_error(rp_cli_usage_keygen, "--kdf is moderate or interactive");
    struct stat st;
    if (lstat(out, &st) == 0)
        return rp_cli_fail("%s exists: key files are never overwritten", out);

    rp_seckey *sk = sodium_malloc(sizeof *sk);
    if (!sk)
        return rp_cli_fail("out of memory");
    passphrase pass;
    rp_pubkey pk;
    int empty_typed = 0;
    rc = passphrase_get(&pass, env, out, 1);
    if (rc == 0) {
        int k = rp_seckey_generate(sk);
        if (!k)
            k = rp_pubkey_from_seckey(&pk, sk);
        if (!k)
            k = rp_keyfile_write(out, sk, pass.buf, pass.len, ops, mem);
        if (k == -EEXIST)
            rc = rp_cli_fail("%s exists: key files are never overwritten", out);
        else if (k)
            rc = rp_cli_fail("cannot write %s: %s", out, rp_strerror(k));
        empty_typed = pass.typed && pass.len == 0;
        passphrase_free(&pass);
    }
    sodium_memzero(sk, sizeof *sk);
    sodium_free(sk);
    if (rc)
        return rc;
    char id[65];
    rp_cli_hex32(id, pk.bytes);
    if (rp_cli.json)
        return rp_cli_print_json(json_pack("{s:s,s:s}", "identity", id, "file", out));
    printf("identity  %s\nkey file  %s (encrypted; keep it and its passphrase safe)\n", id, out);
    if (empty_typed)
        rp_cli_note(
            "warning: the passphrase is empty: only the file's permissions protect the key");
    return 0;
}
