/* The Noise Protocol Framework (revision 34), one protocol only:
 * Noise_XX_25519_ChaChaPoly_SHA256.
 *
 *   XX:
 *     -> e
 *     <- e, ee, s, es
 *     -> s, se
 *
 * Built from libsodium alone: DH is X25519 (crypto_scalarmult), the cipher
 * is the IETF ChaCha20-Poly1305 AEAD with the 96-bit nonce 0x00000000 ||
 * little-endian 64-bit n, the hash is SHA-256 and HKDF is built from
 * HMAC-SHA256 exactly as section 4.3 of the specification says. The three
 * objects are the specification's own (section 5): a CipherState
 * (rp_noise_cipher), a SymmetricState (rp_noise_symmetric) and a
 * HandshakeState (rp_noise_handshake). The handshake is what callers use; the
 * first two are public because the transport (p2p/frame.h) runs on the
 * CipherStates that Split returns, and because tests build hostile messages
 * with them.
 *
 * Caveats, read before use:
 * - A handshake authenticates keys, not identities. After it, the caller
 *   knows that the peer holds the private key behind the remote static
 *   key (rp_noise_handshake_remote_static); whose key that is must be
 *   proved by the payloads (repute signs the static key with the node key,
 *   as DESIGN.md says).
 * - Message 1 is in the clear: its payload is neither encrypted nor
 *   authenticated, and anything of 32 bytes or more is a valid message 1.
 *   A wrong prologue, a reflected message or a forged message 1 is only
 *   detected when message 2 fails to decrypt.
 * - The responder meets the initiator's ephemeral key in message 1 but first
 *   uses it when it writes message 2 (token ee); a low-order key is refused
 *   there, before a byte of message 2 is written.
 * - Every failure of ReadMessage or WriteMessage (other than a caller's
 *   output buffer being too small) ends the handshake: its secrets are wiped
 *   and every later call returns RP_ERR_NOISE_STATE, as an LMDB transaction
 *   that failed refuses further use. The specification says the same
 *   ("the handshake has failed and the HandshakeState is deleted").
 * - SetNonce is not offered: repute runs over TCP, where messages arrive in
 *   order, and a nonce set by hand is how nonces get reused. Tests reach the
 *   end of the nonce space through rp_noise_cipher_set_nonce_for_testing.
 *
 * Nonces never wrap. The largest nonce, 2^64-1, is reserved for Rekey; once
 * n reaches it, every EncryptWithAd and DecryptWithAd of that CipherState
 * returns RP_ERR_NOISE_NONCE (section 5.1). A failed decryption leaves n
 * unchanged.
 *
 * Secrets (private keys, the chaining key, cipher keys, DH results, HMAC
 * states) are wiped with sodium_memzero on every path out of every function,
 * and by the _wipe functions. The structs are plain fixed-size values so
 * that they need no allocation; their fields are private to noise.c: use the
 * functions. Copying a struct copies its secrets: wipe both.
 *
 * Threading: no global state. A given state may be used by one thread at a
 * time; distinct states are independent. Call rp_crypto_init() (crypto/sig.h)
 * first, as for everything in crypto/.
 *
 * Pointer arguments are never NULL unless a contract says so. Errors are
 * those of crypto/error.h.
 */
#ifndef RP_NOISE_H
#define RP_NOISE_H

#include <stddef.h>
#include <stdint.h>

/* The protocol name, hashed into every handshake (p2p/proto.h has the same
 * string as RP_P2P_NOISE_NAME). */
#define RP_NOISE_PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_SHA256"

#define RP_NOISE_DHLEN   32 /* X25519 keys and DH results */
#define RP_NOISE_HASHLEN 32 /* SHA-256 */
#define RP_NOISE_KEYLEN  32 /* ChaCha20-Poly1305 keys */
#define RP_NOISE_TAGLEN  16 /* Poly1305 tags */

/* The framework's bound on any Noise message, handshake or transport. */
#define RP_NOISE_MAX_MSG 65535

/* The largest plaintext one transport message (EncryptWithAd under a key)
 * carries. */
#define RP_NOISE_MAX_PLAINTEXT (RP_NOISE_MAX_MSG - RP_NOISE_TAGLEN)

/* What each XX handshake message adds to its payload:
 *   1: e (32)
 *   2: e (32) + encrypted s (32 + 16) + the payload's tag (16)
 *   3: encrypted s (32 + 16) + the payload's tag (16) */
#define RP_NOISE_XX_OVERHEAD1 32
#define RP_NOISE_XX_OVERHEAD2 96
#define RP_NOISE_XX_OVERHEAD3 64

/* The largest payload of each handshake message. */
#define RP_NOISE_XX_MAX_PAYLOAD1 (RP_NOISE_MAX_MSG - RP_NOISE_XX_OVERHEAD1)
#define RP_NOISE_XX_MAX_PAYLOAD2 (RP_NOISE_MAX_MSG - RP_NOISE_XX_OVERHEAD2)
#define RP_NOISE_XX_MAX_PAYLOAD3 (RP_NOISE_MAX_MSG - RP_NOISE_XX_OVERHEAD3)

/* The longest prologue accepted (it is only hashed; the bound is there so
 * that no length in this module is unbounded). */
#define RP_NOISE_MAX_PROLOGUE 65535

/* ---- key pairs ------------------------------------------------------- */

/* Make a fresh X25519 key pair (a node's static key).
 * Out: priv: the private key (secret: wipe it); pub: its public key.
 */
void rp_noise_keygen(unsigned char pub[static RP_NOISE_DHLEN],
                     unsigned char priv[static RP_NOISE_DHLEN]);

/* The X25519 public key of a private key (clamped as X25519 requires).
 * Returns: 0; RP_ERR_BAD_KEY should libsodium refuse the key (it never does
 *          for 32 arbitrary bytes, but the result is checked anyway), in
 *          which case pub is zeroed.
 * Out:     pub.  In: priv.
 */
__attribute__((warn_unused_result)) int
rp_noise_pubkey(unsigned char pub[static RP_NOISE_DHLEN],
                const unsigned char priv[static RP_NOISE_DHLEN]);

/* ---- CipherState (section 5.1) --------------------------------------- */

typedef struct rp_noise_cipher {
    unsigned char k[RP_NOISE_KEYLEN]; /* secret */
    uint64_t n;
    int has_key;
} rp_noise_cipher;

/* InitializeKey(k): take a key and start its nonce at 0.
 * Out: cs.  In: k: 32 bytes, copied (the caller wipes its own copy).
 */
void rp_noise_cipher_init(rp_noise_cipher *cs, const unsigned char k[static RP_NOISE_KEYLEN]);

/* HasKey().
 * Returns: 1 if cs holds a key, 0 if it is empty (or wiped).
 */
int rp_noise_cipher_has_key(const rp_noise_cipher *cs);

/* EncryptWithAd(ad, plaintext): with a key, ENCRYPT(k, n++, ad, plaintext),
 * which is inlen + 16 bytes; without one, plaintext itself.
 * Returns: 0;
 *          RP_ERR_NOISE_NONCE if n has reached 2^64-1 (nothing written);
 *          RP_ERR_INVALID_ARG if the result would exceed RP_NOISE_MAX_MSG;
 *          RP_ERR_BUFFER if outcap is too small (nothing changes).
 * Out:     out, outcap: the ciphertext's room; *outlen: its length.
 * In:      ad, adlen: associated data (ad may be NULL if adlen is 0);
 *          in, inlen: the plaintext (in may be NULL if inlen is 0).
 *          out may be exactly in (encryption in place), not otherwise
 *          overlapping it.
 */
__attribute__((warn_unused_result)) int
rp_noise_cipher_encrypt(rp_noise_cipher *cs, unsigned char *out, size_t outcap, size_t *outlen,
                        const unsigned char *ad, size_t adlen, const unsigned char *in,
                        size_t inlen);

/* DecryptWithAd(ad, ciphertext): with a key, DECRYPT(k, n, ad, ciphertext)
 * and n++ if it authenticates; without one, ciphertext itself.
 * Returns: 0;
 *          RP_ERR_NOISE_DECRYPT if the tag does not verify (n unchanged,
 *          out zeroed);
 *          RP_ERR_NOISE_MSG_LEN if inlen is below 16 (keyed) or above
 *          RP_NOISE_MAX_MSG;
 *          RP_ERR_NOISE_NONCE if n has reached 2^64-1;
 *          RP_ERR_BUFFER if outcap is too small (nothing changes).
 * Out:     out, outcap: room for inlen - 16 bytes (inlen unkeyed);
 *          *outlen: the plaintext's length (0 on failure).
 * In:      ad, adlen (ad may be NULL if adlen is 0); in, inlen. out may be
 *          exactly in, not otherwise overlapping it.
 */
__attribute__((warn_unused_result)) int
rp_noise_cipher_decrypt(rp_noise_cipher *cs, unsigned char *out, size_t outcap, size_t *outlen,
                        const unsigned char *ad, size_t adlen, const unsigned char *in,
                        size_t inlen);

/* Rekey() (section 11.3): k = the first 32 bytes of ENCRYPT(k, 2^64-1, "",
 * 32 zero bytes). n is left as it is, as the specification says. The old
 * key is wiped; nothing encrypted under it decrypts with the new one.
 * Returns: 0; RP_ERR_NOISE_STATE if cs has no key.
 */
__attribute__((warn_unused_result)) int rp_noise_cipher_rekey(rp_noise_cipher *cs);

/* Wipe a CipherState: no key, n = 0. */
void rp_noise_cipher_wipe(rp_noise_cipher *cs);

/* FOR TESTS ONLY. Set n, so that tests reach the end of the nonce space.
 * Production code never calls it: a nonce set by hand can repeat one. */
void rp_noise_cipher_set_nonce_for_testing(rp_noise_cipher *cs, uint64_t n);

/* ---- SymmetricState (section 5.2) ------------------------------------ */

typedef struct rp_noise_symmetric {
    rp_noise_cipher cs;
    unsigned char ck[RP_NOISE_HASHLEN]; /* chaining key: secret */
    unsigned char h[RP_NOISE_HASHLEN];  /* handshake hash */
} rp_noise_symmetric;

/* InitializeSymmetric(protocol_name): h = the name padded with zeros (32
 * bytes or fewer) or its hash; ck = h; no key.
 * Out: ss.  In: name, namelen (namelen <= RP_NOISE_MAX_MSG, else the
 *      name is hashed all the same: there is no failure).
 */
void rp_noise_symmetric_init(rp_noise_symmetric *ss, const char *name, size_t namelen);

/* MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k).
 * In: ikm, len (ikm may be NULL if len is 0). temp_k is wiped. */
void rp_noise_symmetric_mix_key(rp_noise_symmetric *ss, const unsigned char *ikm, size_t len);

/* MixHash(data): h = HASH(h || data). In: data, len (NULL if len is 0). */
void rp_noise_symmetric_mix_hash(rp_noise_symmetric *ss, const unsigned char *data, size_t len);

/* EncryptAndHash(plaintext): EncryptWithAd(h, plaintext), then MixHash of
 * the result. Returns and arguments as rp_noise_cipher_encrypt's (without
 * ad); on failure h is unchanged. */
__attribute__((warn_unused_result)) int
rp_noise_symmetric_encrypt_and_hash(rp_noise_symmetric *ss, unsigned char *out, size_t outcap,
                                    size_t *outlen, const unsigned char *in, size_t inlen);

/* DecryptAndHash(ciphertext): DecryptWithAd(h, ciphertext), then MixHash of
 * the ciphertext. Returns and arguments as rp_noise_cipher_decrypt's; on
 * failure h is unchanged and out zeroed. out must not overlap in. */
__attribute__((warn_unused_result)) int
rp_noise_symmetric_decrypt_and_hash(rp_noise_symmetric *ss, unsigned char *out, size_t outcap,
                                    size_t *outlen, const unsigned char *in, size_t inlen);

/* Split(): temp_k1, temp_k2 = HKDF(ck, "", 2); c1 = InitializeKey(temp_k1),
 * c2 = InitializeKey(temp_k2). c1 encrypts what the initiator sends, c2
 * what the responder sends. ss is left as it was (wipe it after).
 * Out: c1, c2. */
void rp_noise_symmetric_split(const rp_noise_symmetric *ss, rp_noise_cipher *c1,
                              rp_noise_cipher *c2);

/* Wipe a SymmetricState. */
void rp_noise_symmetric_wipe(rp_noise_symmetric *ss);

/* ---- HandshakeState (section 5.3), pattern XX ------------------------ */

typedef enum rp_noise_role {
    RP_NOISE_INITIATOR = 1, /* writes messages 1 and 3 */
    RP_NOISE_RESPONDER = 2, /* writes message 2 */
} rp_noise_role;

/* What a handshake expects its caller to do next. */
typedef enum rp_noise_action {
    RP_NOISE_FAILED = 0, /* failed, wiped, or never initialized */
    RP_NOISE_WRITE = 1,  /* call rp_noise_handshake_write */
    RP_NOISE_READ = 2,   /* call rp_noise_handshake_read */
    RP_NOISE_SPLIT = 3,  /* all three messages done: call rp_noise_handshake_split */
    RP_NOISE_DONE = 4,   /* split: only the remote static key and the hash remain */
} rp_noise_action;

typedef struct rp_noise_handshake {
    rp_noise_symmetric ss;
    unsigned char s[RP_NOISE_DHLEN], s_pub[RP_NOISE_DHLEN]; /* s: secret */
    unsigned char e[RP_NOISE_DHLEN], e_pub[RP_NOISE_DHLEN]; /* e: secret */
    unsigned char rs[RP_NOISE_DHLEN], re[RP_NOISE_DHLEN];
    unsigned char test_e[RP_NOISE_DHLEN]; /* secret; tests only */
    int has_test_e;
    int role;   /* rp_noise_role */
    int next;   /* the next message, 0..2; 3 when all are done */
    int status; /* private to noise.c */
} rp_noise_handshake;

/* Initialize(XX, initiator, prologue, s): InitializeSymmetric(protocol name),
 * MixHash(prologue), keep the static key pair. XX has no pre-messages.
 * Returns: 0; RP_ERR_INVALID_ARG for an unknown role or a prologue longer
 *          than RP_NOISE_MAX_PROLOGUE (hs is then wiped).
 * Out:     hs: a handshake that expects WRITE (initiator) or READ
 *          (responder).
 * In:      role; s: the local static private key (copied; the caller wipes
 *          its own); prologue, prologue_len: bytes both sides must agree
 *          on (prologue may be NULL if prologue_len is 0).
 */
__attribute__((warn_unused_result)) int
rp_noise_handshake_init(rp_noise_handshake *hs, rp_noise_role role,
                        const unsigned char s[static RP_NOISE_DHLEN], const unsigned char *prologue,
                        size_t prologue_len);

/* FOR TESTS ONLY (known-answer vectors and fuzz corpora). Use e as the
 * ephemeral private key instead of 32 fresh random bytes when this side
 * writes its e token. A fixed ephemeral key makes every secret of the
 * session predictable: production code never calls this.
 * Returns: 0; RP_ERR_NOISE_STATE unless called after init and before the
 *          message that carries this side's e.
 */
__attribute__((warn_unused_result)) int
rp_noise_handshake_set_ephemeral_for_testing(rp_noise_handshake *hs,
                                             const unsigned char e[static RP_NOISE_DHLEN]);

/* What the handshake expects next (see rp_noise_action). */
rp_noise_action rp_noise_handshake_action(const rp_noise_handshake *hs);

/* WriteMessage(payload, message_buffer): the next message of XX, which must
 * be this side's to write.
 * Returns: 0;
 *          RP_ERR_NOISE_STATE if it is not this side's turn to write, or
 *          the handshake failed before (nothing changes);
 *          RP_ERR_INVALID_ARG if the payload is longer than this message
 *          allows (RP_NOISE_XX_MAX_PAYLOAD1..3; nothing changes);
 *          RP_ERR_BUFFER if outcap is below payload_len plus this message's
 *          overhead (nothing changes);
 *          RP_ERR_NOISE_LOW_ORDER if the remote ephemeral key is a
 *          low-order point (the responder's message 2): the handshake fails;
 *          RP_ERR_NOISE_NONCE (never in practice): the handshake fails.
 * Out:     out, outcap: the message's room (RP_NOISE_MAX_MSG always
 *          suffices); *outlen: its length (0, and out zeroed, on failure).
 * In:      payload, payload_len (payload may be NULL if payload_len is 0).
 *          Message 1's payload travels in the clear; 2's and 3's are
 *          encrypted.
 */
__attribute__((warn_unused_result)) int
rp_noise_handshake_write(rp_noise_handshake *hs, unsigned char *out, size_t outcap, size_t *outlen,
                         const unsigned char *payload, size_t payload_len);

/* ReadMessage(message, payload_buffer): the next message of XX, which must
 * be the peer's to write.
 * Returns: 0;
 *          RP_ERR_NOISE_STATE if it is not this side's turn to read, or the
 *          handshake failed before (nothing changes);
 *          RP_ERR_BUFFER if payload_cap cannot hold the payload (nothing
 *          changes; the payload is msglen minus the message's overhead);
 *          and, each ending the handshake:
 *          RP_ERR_NOISE_MSG_LEN if msglen is below the message's overhead
 *          or above RP_NOISE_MAX_MSG;
 *          RP_ERR_NOISE_DECRYPT if the static key or the payload does not
 *          authenticate (tampering, a wrong prologue, a message out of
 *          order or replayed);
 *          RP_ERR_NOISE_LOW_ORDER if a remote key is a low-order point.
 * Out:     payload, payload_cap: the payload's room (may be NULL if
 *          payload_cap is 0); *payload_len: its length (0, and payload
 *          zeroed, on failure).
 * In:      msg, msglen: the message as received; must not overlap payload.
 */
__attribute__((warn_unused_result)) int
rp_noise_handshake_read(rp_noise_handshake *hs, unsigned char *payload, size_t payload_cap,
                        size_t *payload_len, const unsigned char *msg, size_t msglen);

/* The remote party's static public key, once a message has carried it and
 * authenticated (the initiator after reading message 2, the responder after
 * reading message 3), before and after the split.
 * Returns: 0; RP_ERR_NOISE_STATE if it is not known yet, or the handshake
 *          failed (rs zeroed).
 * Out:     rs.
 */
__attribute__((warn_unused_result)) int
rp_noise_handshake_remote_static(const rp_noise_handshake *hs,
                                 unsigned char rs[static RP_NOISE_DHLEN]);

/* Split() at the end of the handshake: the two transport CipherStates,
 * oriented for this side, and the handshake hash (which both sides share
 * and may sign to bind something to this session). Afterwards hs holds only
 * the remote static key and the hash; every secret in it is wiped.
 * Returns: 0; RP_ERR_NOISE_STATE unless all three messages are done (the
 *          outputs are then wiped).
 * Out:     send: encrypts what this side sends; recv: decrypts what it
 *          receives (the caller wipes both when the session ends);
 *          h: the handshake hash.
 */
__attribute__((warn_unused_result)) int
rp_noise_handshake_split(rp_noise_handshake *hs, rp_noise_cipher *send, rp_noise_cipher *recv,
                         unsigned char h[static RP_NOISE_HASHLEN]);

/* Wipe a handshake, whatever its state (the action becomes FAILED). */
void rp_noise_handshake_wipe(rp_noise_handshake *hs);

#endif /* RP_NOISE_H */
