/* The validator's signer and the double-sign guard's file (contract in
 * signer.h).
 *
 * The order of a fresh signature is the whole point: decide, sign into a
 * local, persist the would-be state (rp_disk_replace: temp, fsync, rename,
 * fsync folder), and only then copy the state in memory and the signature
 * out. A failure anywhere before leaves memory and disk as they were and
 * hands nothing out.
 */
#include "node/errors.h"
#include "node/signer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "consensus/errors.h"
#include "crypto/error.h"
#include "ledger/block.h"
#include "node/disk.h"

struct rp_signer {
    rp_seckey sk; /* secret: the struct is sodium_malloc'd and wiped */
    rp_pubkey pk;
    rp_cs_guard guard;
    char path[PATH_MAX];
};


static int persist(const char *path, const rp_cs_guard *g)
{
    unsigned char buf[RP_CS_GUARD_SIZE];
    int rc = rp_cs_guard_encode(g, buf);
    if (!rc)
        rc = rp_disk_replace(path, buf, sizeof buf);
    return rc;
}

/* Read the guard file into buf: 0 and *len, -ENOENT, or -errno. One byte
 * more than a guard is read, so a longer file is seen as one. */
static int read_guard(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (!rc && !S_ISREG(st.st_mode))
        rc = -EINVAL;
    *len = 0;
    while (!rc && *len < cap) {
        ssize_t r = read(fd, buf + *len, cap - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = -errno;
        else if (r == 0)
            break;
        else
            *len += (size_t)r;
    }
    close(fd);
    return rc;
}

static int load_or_create(rp_signer *s, const char *datadir, const rp_hash *chain_id, char *err,
                          size_t errlen)
{
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%s", datadir, RP_SIGNER_DIR);
    if (n < 0 || (size_t)n >= sizeof dir ||
        (size_t)snprintf(s->path, sizeof s->path, "%s/%s", dir, RP_SIGNER_FILE) >= sizeof s->path) {
        rp_errf(err, errlen, "%s: path too long for the double-sign guard", datadir);
        return -ENAMETOOLONG;
    }
    if (mkdir(dir, 0700) == 0) {
        int rc = rp_disk_fsync_dir(datadir);
        if (rc) {
            rp_errf(err, errlen, "%s: %s", datadir, rp_strerror(rc));
            return rc;
        }
    } else if (errno != EEXIST) {
        int rc = -errno;
        rp_errf(err, errlen, "%s: cannot create: %s", dir, rp_strerror(rc));
        return rc;
    }

    unsigned char buf[RP_CS_GUARD_SIZE + 1];
    size_t len = 0;
    int rc = read_guard(s->path, buf, sizeof buf, &len);
    if (rc == -ENOENT) {
        rp_cs_guard_init(&s->guard, chain_id, &s->pk);
        rc = persist(s->path, &s->guard);
        if (rc)
            rp_errf(err, errlen, "%s: cannot write the double-sign guard: %s", s->path,
                   rp_strerror(rc));
        return rc;
    }
    if (rc) {
        rp_errf(err, errlen, "%s: cannot read the double-sign guard: %s", s->path, rp_strerror(rc));
        return rc;
    }
    rc = rp_cs_guard_decode(&s->guard, buf, len);
    if (rc) {
        rp_errf(err, errlen,
               "%s: corrupt double-sign guard (%s); it is never reset automatically. Move it "
               "aside only if this validator key has signed nothing at or above the chain's "
               "current height anywhere",
               s->path, rp_strerror(rc));
        return rc;
    }
    if (!rp_hash_eq(&s->guard.chain_id, chain_id)) {
        rp_errf(err, errlen, "%s: the double-sign guard of another chain", s->path);
        return RP_ERR_WRONG_CHAIN;
    }
    if (sodium_memcmp(s->guard.key.bytes, s->pk.bytes, sizeof s->pk.bytes) != 0) {
        rp_errf(err, errlen, "%s: the double-sign guard of another validator key", s->path);
        return RP_ERR_CS_OTHER_KEY;
    }
    return 0;
}

int rp_signer_open(rp_signer **out, const char *datadir, const rp_hash *chain_id,
                   const rp_seckey *sk, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    rp_cs_errors_register();
    rp_signer *s = sodium_malloc(sizeof *s);
    if (!s) {
        rp_errf(err, errlen, "out of memory for the signer");
        return RP_ERR_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->sk = *sk;
    int rc = rp_pubkey_from_seckey(&s->pk, &s->sk);
    if (rc)
        rp_errf(err, errlen, "the validator secret key is not a valid key");
    if (!rc)
        rc = load_or_create(s, datadir, chain_id, err, errlen);
    if (rc) {
        rp_signer_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static const char *step_name(uint8_t step)
{
    switch (step) {
    case RP_CS_PROPOSE:
        return "propose";
    case RP_CS_PREVOTE:
        return "prevote";
    case RP_CS_PRECOMMIT:
        return "precommit";
    }
    return "?";
}

/* Decide, and sign or reuse or refuse msg at a position. */
static int sign_at(rp_signer *s, uint64_t height, uint32_t round, uint8_t step, const rp_hash *msg,
                   rp_sig *sig, char *err, size_t errlen)
{
    memset(sig, 0, sizeof *sig);
    switch (rp_cs_guard_decide(&s->guard, height, round, step, msg)) {
    case RP_CS_GUARD_REUSE:
        *sig = s->guard.sig;
        return 0;
    case RP_CS_GUARD_REFUSE:
        rp_errf(err, errlen,
               "double-sign guard refused a %s at height %llu round %lu: this validator last "
               "signed a %s at height %llu round %lu%s",
               step_name(step), (unsigned long long)height, (unsigned long)round,
               step_name(s->guard.step), (unsigned long long)s->guard.height,
               (unsigned long)s->guard.round,
               s->guard.step == step && s->guard.height == height && s->guard.round == round
                   ? ", with other bytes"
                   : "");
        return RP_ERR_CS_REFUSED;
    case RP_CS_GUARD_SIGN:
        break;
    }

    unsigned char aux[32];
    rp_sig fresh;
    rp_aux_fresh(aux);
    int rc = rp_sign(&fresh, msg->bytes, sizeof msg->bytes, &s->sk, aux);
    if (rc) {
        rp_errf(err, errlen, "signing failed: %s", rp_strerror(rc));
        return rc;
    }
    rp_cs_guard next = s->guard;
    rp_cs_guard_record(&next, height, round, step, msg, &fresh);
    rc = persist(s->path, &next);
    if (rc) {
        rp_errf(err, errlen, "%s: cannot record the signature, so it is not given out: %s",
               s->path, rp_strerror(rc));
        return rc;
    }
    s->guard = next;
    *sig = fresh;
    return 0;
}

int rp_signer_sign_proposal(rp_signer *s, rp_cs_proposal *p, char *err, size_t errlen)
{
    rp_hash msg;
    rp_cs_proposal_message(&msg, &s->guard.chain_id, p);
    return sign_at(s, p->height, p->round, RP_CS_PROPOSE, &msg, &p->sig, err, errlen);
}

int rp_signer_sign_vote(rp_signer *s, rp_cs_vote *v, char *err, size_t errlen)
{
    uint8_t step;
    if (v->type == RP_VOTE_PREVOTE)
        step = RP_CS_PREVOTE;
    else if (v->type == RP_VOTE_PRECOMMIT)
        step = RP_CS_PRECOMMIT;
    else {
        memset(&v->sig, 0, sizeof v->sig);
        rp_errf(err, errlen, "not a vote type: %u", (unsigned)v->type);
        return RP_ERR_INVALID_ARG;
    }
    rp_hash msg;
    rp_vote_message(&msg, &s->guard.chain_id, v->height, v->round, v->type, &v->block_hash);
    return sign_at(s, v->height, v->round, step, &msg, &v->sig, err, errlen);
}

void rp_signer_state(const rp_signer *s, rp_cs_guard *g)
{
    *g = s->guard;
}

const rp_pubkey *rp_signer_pubkey(const rp_signer *s)
{
    return &s->pk;
}

void rp_signer_close(rp_signer *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof *s);
    sodium_free(s);
}
