/* Secret keys encrypted at rest.
 *
 * A key file holds one secp256k1 secret key sealed with a passphrase:
 * Argon2id (crypto_pwhash) stretches the passphrase into a 32-byte key, and
 * XChaCha20-Poly1305 encrypts the secret with the whole header as associated
 * data, so a changed KDF parameter, salt or public key fails authentication
 * just like a wrong passphrase. The file is 146 bytes (layout in docs/keys.md):
 *
 *   offset size  field
 *        0    8  magic "RPKEYF\0\1"
 *        8    1  version (1)
 *        9    1  kdf (1 = Argon2id v1.3)
 *       10    8  opslimit, big-endian
 *       18    8  memlimit in bytes, big-endian
 *       26   32  x-only public key (in the clear, so tools can show it)
 *       58   16  salt
 *       74   24  nonce
 *       98   48  ciphertext: secret key (32) + Poly1305 tag (16)
 *
 * Files are created with mode 0600 and never overwritten; a file that group or
 * others can read is refused before it is opened for decryption.
 * The KDF parameters in a file must lie within RP_KDF_*_MIN..MAX so that a
 * crafted file cannot make a node allocate gigabytes or spin for minutes.
 */
#ifndef RP_KEYFILE_H
#define RP_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

#define RP_KEYFILE_SIZE 146
#define RP_KEYFILE_VERSION 1
#define RP_KEYFILE_KDF_ARGON2ID13 1

/* Accepted KDF parameter ranges (inclusive). */
#define RP_KDF_OPS_MIN 1ULL
#define RP_KDF_OPS_MAX 16ULL
#define RP_KDF_MEM_MIN 8192ULL
#define RP_KDF_MEM_MAX (1ULL << 30)

/* Presets. Interactive is for tests and dev tools; moderate is the default for
 * real keys (about a second and 256 MiB on a typical core). */
#define RP_KDF_OPS_INTERACTIVE 2ULL
#define RP_KDF_MEM_INTERACTIVE (64ULL << 20)
#define RP_KDF_OPS_MODERATE 3ULL
#define RP_KDF_MEM_MODERATE (256ULL << 20)

/* The parsed, still encrypted contents of a key file. Holds no secret. */
typedef struct rp_keyfile {
    uint8_t version;
    uint8_t kdf;
    uint64_t opslimit;
    uint64_t memlimit;
    rp_pubkey pubkey;
    unsigned char salt[16];
    unsigned char nonce[24];
    unsigned char ciphertext[48];
} rp_keyfile;

/* Parse the bytes of a key file without decrypting anything.
 * Returns: 0; RP_ERR_KEYFILE_FORMAT for a wrong size or magic or an unknown
 *          kdf; RP_ERR_KEYFILE_VERSION for another version;
 *          RP_ERR_KEYFILE_PARAMS for KDF parameters outside the accepted ranges.
 *          kf is zeroed on failure.
 * Out:     kf: the fields.
 * In:      buf, len: the file's bytes (untrusted).
 */
int rp_keyfile_parse(rp_keyfile *kf, const unsigned char *buf, size_t len);

/* Encrypt a secret key into key-file bytes.
 * Returns: 0; RP_ERR_BAD_KEY if sk is invalid; RP_ERR_KEYFILE_PARAMS if the
 *          parameters are outside the accepted ranges; RP_ERR_NOMEM if Argon2id
 *          could not get its memory.
 * Out:     out: RP_KEYFILE_SIZE bytes.
 * In:      sk: the secret key; pass, passlen: the passphrase (any bytes, may
 *          be empty); opslimit, memlimit: Argon2id cost.
 * Every derived secret is wiped before returning.
 */
int rp_keyfile_seal(unsigned char out[static RP_KEYFILE_SIZE], const rp_seckey *sk,
                    const char *pass, size_t passlen, uint64_t opslimit, uint64_t memlimit);

/* Decrypt key-file bytes.
 * Returns: 0; any error of rp_keyfile_parse; RP_ERR_KEYFILE_DECRYPT for a wrong
 *          passphrase or any change to the file; RP_ERR_NOMEM.
 * Out:     sk: the secret key (zeroed on failure; the caller wipes it after use);
 *          pk: if not NULL, the public key.
 * In:      buf, len: the file's bytes; pass, passlen: the passphrase.
 */
int rp_keyfile_unseal(rp_seckey *sk, rp_pubkey *pk, const unsigned char *buf, size_t len,
                      const char *pass, size_t passlen);

/* Seal a key and write it to a new file with mode 0600; the file and then its
 * folder are fsynced, so the key survives a crash once this returns 0. On any
 * error after creation the partial file is removed.
 * Returns: 0; errors of rp_keyfile_seal; -EEXIST if path exists (key files are
 *          never overwritten); other -errno values from the file system.
 * In:      path; sk; pass, passlen; opslimit, memlimit as for rp_keyfile_seal.
 */
int rp_keyfile_write(const char *path, const rp_seckey *sk, const char *pass, size_t passlen,
                     uint64_t opslimit, uint64_t memlimit);

/* Read and decrypt a key file.
 * Returns: 0; RP_ERR_KEYFILE_PERMS if group or others have any access to the
 *          file; -EISDIR for a folder and RP_ERR_KEYFILE_FORMAT for any other
 *          file that is not a regular file; errors of rp_keyfile_unseal;
 *          -errno from the file system. Symbolic links are followed, and the
 *          permission check applies to the file they lead to.
 * Out:     sk: the secret key (zeroed on failure); pk: if not NULL, its public key.
 * In:      path; pass, passlen.
 */
int rp_keyfile_read(rp_seckey *sk, rp_pubkey *pk, const char *path, const char *pass,
                    size_t passlen);

#endif /* RP_KEYFILE_H */
