/* Key files: one secp256k1 secret key sealed under a passphrase.
 *
 * Argon2id (crypto_pwhash, ALG_ARGON2ID13) stretches the passphrase and the
 * file's random salt into a 32-byte key; XChaCha20-Poly1305 encrypts the
 * 32-byte secret under it with a random 24-byte nonce and the whole 98-byte
 * header (everything before the ciphertext) as associated data, so any change
 * to the KDF parameters, salt, nonce or public key fails like a wrong
 * passphrase. After decryption the secret must be a valid key whose public key
 * is the one in the header, which catches a file assembled from two others.
 * The byte layout is in crypto/keyfile.h.
 *
 * Parsing checks the KDF parameters against RP_KDF_* before any work, so a
 * crafted file cannot make us allocate a gigabyte or spin for minutes. Files
 * are created with O_EXCL and mode 0600 and fsynced; reading refuses files
 * that group or others can access and anything that is not a regular file.
 * Symbolic links are followed (secret stores often mount keys through them);
 * the permission check applies to the file actually opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/error.h"
#include "crypto/keyfile.h"

#define OFF_MAGIC   0
#define OFF_VERSION 8
#define OFF_KDF     9
#define OFF_OPS     10
#define OFF_MEM     18
#define OFF_PUBKEY  26
#define OFF_SALT    58
#define OFF_NONCE   74
#define OFF_CT      98
#define HEADER_SIZE OFF_CT
#define KEY_SIZE    32

static const unsigned char magic[8] = {'R', 'P', 'K', 'E', 'Y', 'F', 0, 1};

_Static_assert(OFF_CT + 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES == RP_KEYFILE_SIZE,
               "key file layout");
_Static_assert(sizeof((rp_keyfile *)0)->salt == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(sizeof((rp_keyfile *)0)->nonce == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
               "nonce size");
_Static_assert(KEY_SIZE == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xFFU);
        v >>= 8;
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int params_ok(uint64_t ops, uint64_t mem)
{
    return ops >= RP_KDF_OPS_MIN && ops <= RP_KDF_OPS_MAX && mem >= RP_KDF_MEM_MIN &&
           mem <= RP_KDF_MEM_MAX;
}

int rp_keyfile_parse(rp_keyfile *kf, const unsigned char *buf, size_t len)
{
    int err = 0;

    memset(kf, 0, sizeof *kf);
    if (len != RP_KEYFILE_SIZE || memcmp(buf + OFF_MAGIC, magic, sizeof magic) != 0)
        return RP_ERR_KEYFILE_FORMAT;

    kf->version = buf[OFF_VERSION];
    kf->kdf = buf[OFF_KDF];
    kf->opslimit = get_be64(buf + OFF_OPS);
    kf->memlimit = get_be64(buf + OFF_MEM);
    if (kf->version != RP_KEYFILE_VERSION)
        err = RP_ERR_KEYFILE_VERSION;
    else if (kf->kdf != RP_KEYFILE_KDF_ARGON2ID13)
        err = RP_ERR_KEYFILE_FORMAT;
    else if (!params_ok(kf->opslimit, kf->memlimit))
        err = RP_ERR_KEYFILE_PARAMS;
    if (err != 0) {
        memset(kf, 0, sizeof *kf);
        return err;
    }
    memcpy(kf->pubkey.bytes, buf + OFF_PUBKEY, sizeof kf->pubkey.bytes);
    memcpy(kf->salt, buf + OFF_SALT, sizeof kf->salt);
    memcpy(kf->nonce, buf + OFF_NONCE, sizeof kf->nonce);
    memcpy(kf->ciphertext, buf + OFF_CT, sizeof kf->ciphertext);
    return 0;
}

/* Argon2id(pass, salt) -> key. Returns 0 or RP_ERR_NOMEM. The parameters
 * have been range-checked, so the only failure left is memory. */
static int derive(unsigned char key[static KEY_SIZE], const char *pass, size_t passlen,
                  const unsigned char salt[static 16], uint64_t ops, uint64_t mem)
{
    if (crypto_pwhash(key, KEY_SIZE, passlen > 0 ? pass : "", passlen, salt, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_memzero(key, KEY_SIZE);
        return RP_ERR_NOMEM;
    }
    return 0;
}

int rp_keyfile_seal(unsigned char out[static RP_KEYFILE_SIZE], const rp_seckey *sk,
                    const char *pass, size_t passlen, uint64_t opslimit, uint64_t memlimit)
{
    unsigned char key[KEY_SIZE];
    rp_pubkey pk;
    int err;

    memset(out, 0, RP_KEYFILE_SIZE);
    if (rp_pubkey_from_seckey(&pk, sk) != 0)
        return RP_ERR_BAD_KEY;
    if (!params_ok(opslimit, memlimit))
        return RP_ERR_KEYFILE_PARAMS;

    memcpy(out + OFF_MAGIC, magic, sizeof magic);
    out[OFF_VERSION] = RP_KEYFILE_VERSION;
    out[OFF_KDF] = RP_KEYFILE_KDF_ARGON2ID13;
    put_be64(out + OFF_OPS, opslimit);
    put_be64(out + OFF_MEM, memlimit);
    memcpy(out + OFF_PUBKEY, pk.bytes, sizeof pk.bytes);
    randombytes_buf(out + OFF_SALT, crypto_pwhash_SALTBYTES);
    randombytes_buf(out + OFF_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

    err = derive(key, pass, passlen, out + OFF_SALT, opslimit, memlimit);
    if (err == 0) {
        /* Cannot fail for these sizes. */
        (void)crypto_aead_xchacha20poly1305_ietf_encrypt(out + OFF_CT, NULL, sk->bytes,
                                                         sizeof sk->bytes, out, HEADER_SIZE, NULL,
                                                         out + OFF_NONCE, key);
    }
    sodium_memzero(key, sizeof key);
    if (err != 0)
        memset(out, 0, RP_KEYFILE_SIZE);
    return err;
}

int rp_keyfile_unseal(rp_seckey *sk, rp_pubkey *pk, const unsigned char *buf, size_t len,
                      const char *pass, size_t passlen)
{
    unsigned char key[KEY_SIZE];
    unsigned char plain[32];
    rp_seckey cand;
    rp_pubkey derived;
    rp_keyfile kf;
    int err;

    sodium_memzero(sk, sizeof *sk);
    if (pk != NULL)
        memset(pk, 0, sizeof *pk);

    err = rp_keyfile_parse(&kf, buf, len);
    if (err != 0)
        return err;
    err = derive(key, pass, passlen, kf.salt, kf.opslimit, kf.memlimit);
    if (err != 0)
        return err;

    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, kf.ciphertext,
                                                   sizeof kf.ciphertext, buf, HEADER_SIZE, kf.nonce,
                                                   key) != 0) {
        err = RP_ERR_KEYFILE_DECRYPT;
    } else {
        memcpy(cand.bytes, plain, sizeof cand.bytes);
        if (rp_pubkey_from_seckey(&derived, &cand) != 0 ||
            sodium_memcmp(derived.bytes, kf.pubkey.bytes, sizeof derived.bytes) != 0)
            err = RP_ERR_KEYFILE_DECRYPT;
    }

    if (err == 0) {
        memcpy(sk->bytes, cand.bytes, sizeof sk->bytes);
        if (pk != NULL)
            *pk = kf.pubkey;
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(&cand, sizeof cand);
    return err;
}

/* Write all of buf, retrying short writes and EINTR. Returns 0 or -errno. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Make a new directory entry durable: fsync the folder that holds path. */
static int fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, err = 0;

    if (slash == NULL) {
        dir[0] = '.', dir[1] = '\0';
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return -ENAMETOOLONG;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) != 0)
        err = -errno;
    (void)close(fd);
    return err;
}

int rp_keyfile_write(const char *path, const rp_seckey *sk, const char *pass, size_t passlen,
                     uint64_t opslimit, uint64_t memlimit)
{
    unsigned char buf[RP_KEYFILE_SIZE];
    int fd;
    int err;

    err = rp_keyfile_seal(buf, sk, pass, passlen, opslimit, memlimit);
    if (err != 0)
        return err;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* The umask can only narrow 0600; make it exactly 0600 so the owner can
     * always read the key back. */
    if (fchmod(fd, 0600) != 0)
        err = -errno;
    if (err == 0)
        err = write_all(fd, buf, sizeof buf);
    if (err == 0 && fsync(fd) != 0)
        err = -errno;
    if (close(fd) != 0 && err == 0)
        err = -errno;
    /* Without this a crash right after creation could lose the file's
     * directory entry, and with it the only copy of a new key. */
    if (err == 0)
        err = fsync_parent(path);
    if (err != 0)
        (void)unlink(path);
    return err;
}

int rp_keyfile_read(rp_seckey *sk, rp_pubkey *pk, const char *path, const char *pass,
                    size_t passlen)
{
    /* One spare byte so that a longer file shows up as the wrong size. */
    unsigned char buf[RP_KEYFILE_SIZE + 1];
    size_t len = 0;
    struct stat st;
    int fd;
    int err = 0;

    sodium_memzero(sk, sizeof *sk);
    if (pk != NULL)
        memset(pk, 0, sizeof *pk);

    /* O_NONBLOCK so that a FIFO planted at path cannot block the open; it is
     * then refused as not a regular file. Regular files ignore the flag. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0)
        err = -errno;
    else if (S_ISDIR(st.st_mode))
        err = -EISDIR;
    else if (!S_ISREG(st.st_mode))
        err = RP_ERR_KEYFILE_FORMAT;
    else if ((st.st_mode & 077) != 0)
        err = RP_ERR_KEYFILE_PERMS;

    while (err == 0 && len < sizeof buf) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
        } else if (n == 0) {
            break;
        } else {
            len += (size_t)n;
        }
    }
    (void)close(fd);

    if (err == 0)
        err = rp_keyfile_unseal(sk, pk, buf, len, pass, passlen);
    sodium_memzero(buf, sizeof buf);
    return err;
}
