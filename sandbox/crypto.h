/*
 * crypto: the OpenSSL 3 primitives behind Web Crypto (random bytes, digests,
 * HMAC, AES-GCM/CBC/CTR, ECDSA and RSASSA-PKCS1-v1_5 keys and signatures).
 * Initialised in the launcher before fork; used in sandboxes.  No Duktape here.
 */
#ifndef EDGED_CRYPTO_H
#define EDGED_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum crypto_hash {
	CRYPTO_SHA1,
	CRYPTO_SHA256,
	CRYPTO_SHA384,
	CRYPTO_SHA512,
	CRYPTO_MD5,
	CRYPTO_HASH_COUNT
};

/* Asymmetric key kinds: RSA, or EC on one named curve. */
enum crypto_kind { CRYPTO_RSA, CRYPTO_P256, CRYPTO_P384, CRYPTO_P521, CRYPTO_KIND_COUNT };

#define CRYPTO_MAX_DIGEST 64                   /* SHA-512 */
#define CRYPTO_MAX_KEY_DER 16384               /* a PKCS#8 RSA-8192 key is ~4.8 KiB */
#define CRYPTO_MAX_SIG 1024                    /* RSA-8192 */
#define CRYPTO_MAX_PARTS 8                     /* RSA n e d p q dp dq qi */
#define CRYPTO_MAX_PARTS_BYTES 8192            /* all parts of the largest key */
#define CRYPTO_MAX_DATA (1024UL * 1024 * 1024) /* any one input */
#define CRYPTO_RSA_MIN_BITS 512
#define CRYPTO_RSA_MAX_BITS 8192
#define CRYPTO_RSA_MAX_GEN_BITS 4096 /* key generation is not interruptible */

/*
 * Key components as unsigned big-endian integers (borrowed pointers).
 * EC: x, y [, d], each exactly the curve's field size.
 * RSA: n, e [, d, p, q, dp, dq, qi], minimal length.
 */
struct crypto_parts {
	size_t count;
	const unsigned char *ptr[CRYPTO_MAX_PARTS];
	size_t len[CRYPTO_MAX_PARTS];
};

/*
 * Initialises OpenSSL without reading any configuration file, fetches every
 * algorithm used here and seeds the random generators, so that nothing is
 * opened lazily after lock-down.  Idempotent.  0, or -1 (logged); every other
 * function fails (-1) until it has succeeded.
 */
int crypto_init(void);

/* Fills buf with len cryptographically strong random bytes; 0 or -1. */
int crypto_random(void *buf, size_t len);

/* The hash called `name` (Web Crypto spelling, case-insensitive, "SHA-256"); -1 if unknown. */
int crypto_hash_from_name(const char *name);

/* The output size of `hash` in bytes; 0 for an invalid value. */
size_t crypto_hash_size(int hash);

/* The block size of `hash` in bytes (HMAC's default key length); 0 for an invalid value. */
size_t crypto_hash_block_size(int hash);

/* The kind called `name` ("RSA", "P-256", "P-384", "P-521"); -1 if unknown. */
int crypto_kind_from_name(const char *name);

/* The field size in bytes of an EC kind (32 for P-256); 0 for RSA or an invalid value. */
size_t crypto_kind_field_size(int kind);

/*
 * The digests below write at most `cap` bytes to `out` (caller's memory) and
 * return the number written, or -1 on any error (invalid arguments, a
 * buffer too small, inputs over CRYPTO_MAX_DATA, an OpenSSL failure).
 */
ssize_t crypto_digest(int hash, const void *in, size_t len, unsigned char *out, size_t cap);
ssize_t crypto_hmac(int hash, const void *key, size_t keylen, const void *in, size_t len,
    unsigned char *out, size_t cap);

/* True when the len bytes at a and b are equal; time depends only on len. */
bool crypto_equal(const void *a, const void *b, size_t len);

/*
 * AES-GCM: `keylen` 16, 24 or 32; `ivlen` 1..1024; `taglen` 4, 8 or 12..16.
 * Encrypting writes ciphertext || tag (cap >= len + taglen); decrypting takes
 * ciphertext || tag and writes the plaintext (cap >= len).  -1 on any error,
 * including a tag that does not authenticate.
 */
ssize_t crypto_aes_gcm(bool encrypt, const void *key, size_t keylen, const void *iv, size_t ivlen,
    const void *aad, size_t aadlen, size_t taglen, const void *in, size_t len, unsigned char *out,
    size_t cap);

/*
 * AES-CBC with PKCS#7 padding: `iv` is 16 bytes; cap >= len + 16 either way.
 * -1 on any error, including bad padding.
 */
ssize_t crypto_aes_cbc(bool encrypt, const void *key, size_t keylen, const void *iv, const void *in,
    size_t len, unsigned char *out, size_t cap);

/*
 * AES-CTR as Web Crypto defines it: the rightmost `counter_bits` (1..128) of
 * the 16-byte `counter` block count blocks and wrap around; the rest stays.
 * Encryption and decryption are the same.  cap >= len.  -1 on any error,
 * including more blocks than the counter can number.
 */
ssize_t crypto_aes_ctr(const void *key, size_t keylen, const void *counter, unsigned counter_bits,
    const void *in, size_t len, unsigned char *out, size_t cap);

/*
 * Decodes DER key material of `kind` (PKCS#8 PrivateKeyInfo when
 * `is_private`, SubjectPublicKeyInfo otherwise), checks it is what `kind`
 * says (an RSA key of CRYPTO_RSA_MIN_BITS..CRYPTO_RSA_MAX_BITS, an EC key on
 * the named curve), and writes its canonical DER encoding.  Trailing bytes
 * are rejected.  Returns the length written, or -1.
 */
ssize_t crypto_key_normalize(int kind, bool is_private, const unsigned char *der, size_t len,
    unsigned char *out, size_t cap);

/*
 * Builds a key of `kind` from its components (see struct crypto_parts; a
 * private key needs all of them) and writes it as DER, as above.  EC points
 * must be on the curve and a private EC key must match its public point.
 */
ssize_t crypto_key_from_parts(
    int kind, bool is_private, const struct crypto_parts *parts, unsigned char *out, size_t cap);

/*
 * Splits DER key material (as crypto_key_normalize takes it) into its
 * components, written one after another into `out`; `parts` points into
 * `out`.  0 or -1.
 */
int crypto_key_parts(int kind, bool is_private, const unsigned char *der, size_t len,
    unsigned char *out, size_t cap, struct crypto_parts *parts);

/*
 * Generates a key pair of `kind` (`bits` and the public exponent `exponent`,
 * 3 or 65537, for RSA, ignored for EC) and writes its PKCS#8 private key to
 * priv and its SubjectPublicKeyInfo to pub (CRYPTO_MAX_KEY_DER bytes each
 * suffice).  0 or -1.
 */
int crypto_generate(int kind, unsigned bits, unsigned long exponent, unsigned char *priv,
    size_t priv_cap, size_t *priv_len, unsigned char *pub, size_t pub_cap, size_t *pub_len);

/*
 * Signs `in` with the PKCS#8 private key `der` of `kind`: ECDSA (signature
 * in IEEE P1363 form, r || s) or RSASSA-PKCS1-v1_5.  Returns the signature's
 * length, or -1.
 */
ssize_t crypto_sign(int kind, int hash, const unsigned char *der, size_t derlen, const void *in,
    size_t len, unsigned char *out, size_t cap);

/*
 * Verifies `sig` (P1363 form for ECDSA) over `in` with the SubjectPublicKeyInfo
 * `der`.  1 valid, 0 invalid (including a malformed signature), -1 when the
 * key or the arguments are unusable.
 */
int crypto_verify(int kind, int hash, const unsigned char *der, size_t derlen, const void *sig,
    size_t siglen, const void *in, size_t len);

/*
 * ECDSA signature conversions.  DER (SEQUENCE { r, s }, strict, no trailing
 * bytes) to P1363 with `field` bytes per integer (writes 2 * field bytes),
 * and back (writes DER).  The length written, or -1.
 */
ssize_t crypto_ecdsa_der_to_p1363(
    const unsigned char *der, size_t len, size_t field, unsigned char *out, size_t cap);
ssize_t crypto_ecdsa_p1363_to_der(
    const unsigned char *sig, size_t len, unsigned char *out, size_t cap);

#endif
