/*
 * crypto: the OpenSSL 3 primitives behind Web Crypto, through the EVP APIs
 * only.  Initialised in the launcher before fork (no configuration file, every
 * algorithm prefetched, generators seeded); used in sandboxes.
 */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "sandbox/crypto.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/log.h"

#define CRYPTO_MAX_FIELD 66 /* P-521 */
#define CRYPTO_MAX_IV 1024
#define CRYPTO_MAX_SIG_DER (2 * CRYPTO_MAX_FIELD + 16)

struct crypto_hash_info {
	const char *web;   /* Web Crypto name */
	const char *fetch; /* OpenSSL name */
	size_t size, block;
};

static const struct crypto_hash_info crypto_hashes[CRYPTO_HASH_COUNT] = {
	[CRYPTO_SHA1] = { "SHA-1", "SHA1", 20, 64 },
	[CRYPTO_SHA256] = { "SHA-256", "SHA2-256", 32, 64 },
	[CRYPTO_SHA384] = { "SHA-384", "SHA2-384", 48, 128 },
	[CRYPTO_SHA512] = { "SHA-512", "SHA2-512", 64, 128 },
	[CRYPTO_MD5] = { "MD5", "MD5", 16, 64 },
};

struct crypto_kind_info {
	const char *web;   /* Web Crypto name */
	const char *group; /* OpenSSL group name; NULL for RSA */
	size_t field;
};

static const struct crypto_kind_info crypto_kinds[CRYPTO_KIND_COUNT] = {
	[CRYPTO_RSA] = { "RSA", NULL, 0 },
	[CRYPTO_P256] = { "P-256", "prime256v1", 32 },
	[CRYPTO_P384] = { "P-384", "secp384r1", 48 },
	[CRYPTO_P521] = { "P-521", "secp521r1", 66 },
};

static const char *const crypto_cipher_names[3][3] = {
	{ "AES-128-GCM", "AES-192-GCM", "AES-256-GCM" },
	{ "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" },
	{ "AES-128-CTR", "AES-192-CTR", "AES-256-CTR" },
};

enum { CRYPTO_GCM, CRYPTO_CBC, CRYPTO_CTR };

/* Prefetched once before fork and kept for the life of the process. */
static struct {
	bool ready;
	EVP_MD *md[CRYPTO_HASH_COUNT];
	EVP_MAC *hmac;
	EVP_CIPHER *cipher[3][3];
	EVP_KEYMGMT *keymgmt[2];
	EVP_SIGNATURE *signature[2];
} crypto;

/* The OpenSSL error queue is per thread and grows: drop it after every failure. */
static int
crypto_fail(void)
{
	ERR_clear_error();
	return -1;
}

static bool
crypto_hash_ok(int hash)
{
	return crypto.ready && hash >= 0 && hash < CRYPTO_HASH_COUNT;
}

static bool
crypto_kind_ok(int kind)
{
	return crypto.ready && kind >= 0 && kind < CRYPTO_KIND_COUNT;
}

int
crypto_hash_from_name(const char *name)
{
	for (int i = 0; i < CRYPTO_HASH_COUNT; i++)
		if (strcasecmp(name, crypto_hashes[i].web) == 0)
			return i;
	return -1;
}

size_t
crypto_hash_size(int hash)
{
	return hash >= 0 && hash < CRYPTO_HASH_COUNT ? crypto_hashes[hash].size : 0;
}

size_t
crypto_hash_block_size(int hash)
{
	return hash >= 0 && hash < CRYPTO_HASH_COUNT ? crypto_hashes[hash].block : 0;
}

int
crypto_kind_from_name(const char *name)
{
	for (int i = 0; i < CRYPTO_KIND_COUNT; i++)
		if (strcmp(name, crypto_kinds[i].web) == 0)
			return i;
	return -1;
}

size_t
crypto_kind_field_size(int kind)
{
	return kind >= 0 && kind < CRYPTO_KIND_COUNT ? crypto_kinds[kind].field : 0;
}

/* A non-NULL pointer for zero-length inputs, which OpenSSL may not accept as NULL. */
static const void *
crypto_nonnull(const void *p)
{
	return p != NULL ? p : "";
}

int
crypto_random(void *buf, size_t len)
{
	if (!crypto.ready || len > INT_MAX)
		return -1;
	if (len == 0)
		return 0;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : crypto_fail();
}

ssize_t
crypto_digest(int hash, const void *in, size_t len, unsigned char *out, size_t cap)
{
	unsigned int n = 0;

	if (!crypto_hash_ok(hash) || cap < crypto_hashes[hash].size || len > CRYPTO_MAX_DATA)
		return -1;
	if (EVP_Digest(crypto_nonnull(in), len, out, &n, crypto.md[hash], NULL) != 1)
		return crypto_fail();
	return n;
}

ssize_t
crypto_hmac(int hash, const void *key, size_t keylen, const void *in, size_t len,
    unsigned char *out, size_t cap)
{
	EVP_MAC_CTX *mc;
	OSSL_PARAM params[2];
	size_t n = 0;
	int ok;

	if (!crypto_hash_ok(hash) || keylen == 0 || keylen > CRYPTO_MAX_DATA ||
	    len > CRYPTO_MAX_DATA || cap < crypto_hashes[hash].size)
		return -1;
	if ((mc = EVP_MAC_CTX_new(crypto.hmac)) == NULL)
		return crypto_fail();
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)crypto_hashes[hash].fetch, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(mc, key, keylen, params) == 1 &&
	    EVP_MAC_update(mc, crypto_nonnull(in), len) == 1 &&
	    EVP_MAC_final(mc, out, &n, cap) == 1;
	EVP_MAC_CTX_free(mc);
	return ok ? (ssize_t)n : crypto_fail();
}

bool
crypto_equal(const void *a, const void *b, size_t len)
{
	return len == 0 || CRYPTO_memcmp(a, b, len) == 0;
}

static EVP_CIPHER *
crypto_aes(int mode, size_t keylen)
{
	switch (keylen) {
	case 16:
		return crypto.cipher[mode][0];
	case 24:
		return crypto.cipher[mode][1];
	case 32:
		return crypto.cipher[mode][2];
	default:
		return NULL;
	}
}

ssize_t
crypto_aes_gcm(bool encrypt, const void *key, size_t keylen, const void *iv, size_t ivlen,
    const void *aad, size_t aadlen, size_t taglen, const void *in, size_t len, unsigned char *out,
    size_t cap)
{
	EVP_CIPHER *cipher = crypto.ready ? crypto_aes(CRYPTO_GCM, keylen) : NULL;
	EVP_CIPHER_CTX *cc;
	OSSL_PARAM params[2];
	unsigned char tag[16];
	size_t ivl = ivlen, datalen;
	int n = 0, m = 0, ok;

	if (cipher == NULL || ivlen == 0 || ivlen > CRYPTO_MAX_IV || len > CRYPTO_MAX_DATA ||
	    aadlen > CRYPTO_MAX_DATA || taglen > 16 || (taglen < 12 && taglen != 4 && taglen != 8))
		return -1;
	if (encrypt) {
		datalen = len;
		if (cap < len + taglen)
			return -1;
	} else {
		if (len < taglen || cap < len - taglen)
			return -1;
		datalen = len - taglen;
		memcpy(tag, (const unsigned char *)in + datalen, taglen);
	}
	if ((cc = EVP_CIPHER_CTX_new()) == NULL)
		return crypto_fail();
	params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivl);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_CipherInit_ex2(cc, cipher, NULL, NULL, encrypt, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_params(cc, params) == 1 &&
	    EVP_CipherInit_ex2(cc, NULL, key, iv, encrypt, NULL) == 1;
	if (ok && aadlen > 0)
		ok = EVP_CipherUpdate(cc, NULL, &n, aad, (int)aadlen) == 1;
	if (ok && !encrypt) {
		params[0] =
		    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, taglen);
		ok = EVP_CIPHER_CTX_set_params(cc, params) == 1;
	}
	n = 0;
	if (ok && datalen > 0)
		ok = EVP_CipherUpdate(cc, out, &n, in, (int)datalen) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(cc, out + n, &m) == 1;
	if (ok && encrypt) {
		params[0] = OSSL_PARAM_construct_octet_string(
		    OSSL_CIPHER_PARAM_AEAD_TAG, out + n + m, taglen);
		ok = EVP_CIPHER_CTX_get_params(cc, params) == 1;
	}
	EVP_CIPHER_CTX_free(cc);
	if (!ok)
		return crypto_fail();
	return (ssize_t)n + m + (encrypt ? (ssize_t)taglen : 0);
}

ssize_t
crypto_aes_cbc(bool encrypt, const void *key, size_t keylen, const void *iv, const void *in,
    size_t len, unsigned char *out, size_t cap)
{
	EVP_CIPHER *cipher = crypto.ready ? crypto_aes(CRYPTO_CBC, keylen) : NULL;
	EVP_CIPHER_CTX *cc;
	int n = 0, m = 0, ok;

	if (cipher == NULL || len > CRYPTO_MAX_DATA || cap < len + 16)
		return -1;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL)
		return crypto_fail();
	ok = EVP_CipherInit_ex2(cc, cipher, key, iv, encrypt, NULL) == 1;
	if (ok && len > 0)
		ok = EVP_CipherUpdate(cc, out, &n, in, (int)len) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(cc, out + n, &m) == 1;
	EVP_CIPHER_CTX_free(cc);
	return ok ? (ssize_t)n + m : crypto_fail();
}

/* One CTR pass with OpenSSL's full-width counter; the caller keeps it from wrapping. */
static int
crypto_ctr_pass(EVP_CIPHER *cipher, const void *key, const unsigned char *counter,
    const unsigned char *in, size_t len, unsigned char *out)
{
	EVP_CIPHER_CTX *cc;
	int n = 0, m = 0, ok;

	if (len == 0)
		return 0;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL)
		return crypto_fail();
	ok = EVP_CipherInit_ex2(cc, cipher, key, counter, 1, NULL) == 1 &&
	    EVP_CipherUpdate(cc, out, &n, in, (int)len) == 1 &&
	    EVP_CipherFinal_ex(cc, out + n, &m) == 1;
	EVP_CIPHER_CTX_free(cc);
	return ok && (size_t)n + (size_t)m == len ? 0 : crypto_fail();
}

ssize_t
crypto_aes_ctr(const void *key, size_t keylen, const void *counter, unsigned counter_bits,
    const void *in, size_t len, unsigned char *out, size_t cap)
{
	__extension__ typedef unsigned __int128 u128;
	EVP_CIPHER *cipher = crypto.ready ? crypto_aes(CRYPTO_CTR, keylen) : NULL;
	unsigned char block[16];
	u128 value = 0, mask, room, blocks;
	size_t first;

	if (cipher == NULL || counter_bits == 0 || counter_bits > 128 || len > CRYPTO_MAX_DATA ||
	    cap < len)
		return -1;
	memcpy(block, counter, sizeof(block));
	for (int i = 0; i < 16; i++)
		value = value << 8 | block[i];
	mask = counter_bits == 128 ? ~(u128)0 : ((u128)1 << counter_bits) - 1;
	blocks = (len + 15) / 16;
	/* Blocks numbered before the counter bits wrap to zero. */
	room = counter_bits == 128 ? ~(value & mask) + 1 : (mask - (value & mask)) + 1;
	if (counter_bits < 128 && blocks > mask + 1)
		return -1;
	if (room == 0 || blocks <= room)
		return crypto_ctr_pass(cipher, key, block, in, len, out) == 0 ? (ssize_t)len : -1;
	first = (size_t)room * 16;
	if (crypto_ctr_pass(cipher, key, block, in, first, out) == -1)
		return -1;
	value &= ~mask;
	for (int i = 15; i >= 0; i--, value >>= 8)
		block[i] = (unsigned char)value;
	if (crypto_ctr_pass(cipher, key, block, (const unsigned char *)in + first, len - first,
		out + first) == -1)
		return -1;
	return (ssize_t)len;
}

/* True when `pkey` is what `kind` says, within our size limits. */
static bool
crypto_pkey_is(EVP_PKEY *pkey, int kind)
{
	char group[64];
	int bits;

	if (kind == CRYPTO_RSA) {
		bits = EVP_PKEY_get_bits(pkey);
		return EVP_PKEY_is_a(pkey, "RSA") && bits >= CRYPTO_RSA_MIN_BITS &&
		    bits <= CRYPTO_RSA_MAX_BITS;
	}
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
		return false;
	return strcmp(group, crypto_kinds[kind].group) == 0 ||
	    strcmp(group, crypto_kinds[kind].web) == 0;
}

/* Decodes PKCS#8 or SPKI DER of `kind`; NULL on anything else (caller frees). */
static EVP_PKEY *
crypto_decode(int kind, bool is_private, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *pkey = NULL;

	if (!crypto_kind_ok(kind) || len == 0 || len > CRYPTO_MAX_KEY_DER)
		return NULL;
	if (is_private) {
		if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) == NULL)
			goto fail;
		if (p == der + len)
			pkey = EVP_PKCS82PKEY(p8);
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else {
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
		if (pkey != NULL && p != der + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	if (pkey != NULL && crypto_pkey_is(pkey, kind))
		return pkey;
	EVP_PKEY_free(pkey);
fail:
	ERR_clear_error();
	return NULL;
}

/* Writes `pkey` as PKCS#8 or SPKI DER; the length or -1. */
static ssize_t
crypto_encode(EVP_PKEY *pkey, bool is_private, unsigned char *out, size_t cap)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *p = out;
	int n;

	if (is_private) {
		if ((p8 = EVP_PKEY2PKCS8(pkey)) == NULL)
			return crypto_fail();
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
		if (n > 0 && (size_t)n <= cap)
			n = i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
		else
			n = -1;
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else {
		n = i2d_PUBKEY(pkey, NULL);
		if (n > 0 && (size_t)n <= cap)
			n = i2d_PUBKEY(pkey, &p);
		else
			n = -1;
	}
	return n > 0 ? n : crypto_fail();
}

ssize_t
crypto_key_normalize(
    int kind, bool is_private, const unsigned char *der, size_t len, unsigned char *out, size_t cap)
{
	EVP_PKEY *pkey;
	ssize_t n;

	if ((pkey = crypto_decode(kind, is_private, der, len)) == NULL)
		return -1;
	n = crypto_encode(pkey, is_private, out, cap);
	EVP_PKEY_free(pkey);
	return n;
}

/* Runs EVP_PKEY_fromdata over `params` and checks the result; NULL on failure. */
static EVP_PKEY *
crypto_fromdata(int kind, bool is_private, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *pc, *check = NULL;
	EVP_PKEY *pkey = NULL;
	int ok;

	pc = EVP_PKEY_CTX_new_from_name(NULL, kind == CRYPTO_RSA ? "RSA" : "EC", NULL);
	if (pc == NULL)
		return NULL;
	ok = EVP_PKEY_fromdata_init(pc) == 1 &&
	    EVP_PKEY_fromdata(
		pc, &pkey, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) == 1 &&
	    crypto_pkey_is(pkey, kind);
	/* EC points must be on the curve, and a private scalar must match its point. */
	if (ok && kind != CRYPTO_RSA) {
		ok = (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
		    (is_private ? EVP_PKEY_pairwise_check(check) : EVP_PKEY_public_check(check)) ==
			1;
		EVP_PKEY_CTX_free(check);
	}
	EVP_PKEY_CTX_free(pc);
	if (!ok) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

static EVP_PKEY *
crypto_ec_from_parts(int kind, bool is_private, const struct crypto_parts *parts)
{
	size_t field = crypto_kinds[kind].field;
	unsigned char point[1 + 2 * CRYPTO_MAX_FIELD];
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	BIGNUM *d = NULL;
	EVP_PKEY *pkey = NULL;

	if (parts->count != (is_private ? 3u : 2u))
		return NULL;
	for (size_t i = 0; i < parts->count; i++)
		if (parts->len[i] != field)
			return NULL;
	point[0] = 4; /* uncompressed */
	memcpy(point + 1, parts->ptr[0], field);
	memcpy(point + 1 + field, parts->ptr[1], field);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME, crypto_kinds[kind].group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * field) !=
		1)
		goto out;
	if (is_private &&
	    ((d = BN_bin2bn(parts->ptr[2], (int)field, NULL)) == NULL ||
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1))
		goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
		pkey = crypto_fromdata(kind, is_private, params);
out:
	OSSL_PARAM_free(params);
	BN_clear_free(d);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static const char *const crypto_rsa_params[CRYPTO_MAX_PARTS] = {
	OSSL_PKEY_PARAM_RSA_N,
	OSSL_PKEY_PARAM_RSA_E,
	OSSL_PKEY_PARAM_RSA_D,
	OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2,
	OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2,
	OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

static EVP_PKEY *
crypto_rsa_from_parts(bool is_private, const struct crypto_parts *parts)
{
	BIGNUM *bn[CRYPTO_MAX_PARTS] = { NULL };
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	size_t i;

	if (parts->count != (is_private ? 8u : 2u))
		return NULL;
	for (i = 0; i < parts->count; i++)
		if (parts->len[i] == 0 || parts->len[i] > CRYPTO_RSA_MAX_BITS / 8)
			return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	for (i = 0; i < parts->count; i++)
		if ((bn[i] = BN_bin2bn(parts->ptr[i], (int)parts->len[i], NULL)) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, crypto_rsa_params[i], bn[i]) != 1)
			goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
		pkey = crypto_fromdata(CRYPTO_RSA, is_private, params);
out:
	OSSL_PARAM_free(params);
	for (i = 0; i < CRYPTO_MAX_PARTS; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

ssize_t
crypto_key_from_parts(
    int kind, bool is_private, const struct crypto_parts *parts, unsigned char *out, size_t cap)
{
	EVP_PKEY *pkey;
	ssize_t n;

	if (!crypto_kind_ok(kind) || parts->count > CRYPTO_MAX_PARTS)
		return -1;
	if (kind == CRYPTO_RSA)
		pkey = crypto_rsa_from_parts(is_private, parts);
	else
		pkey = crypto_ec_from_parts(kind, is_private, parts);
	if (pkey == NULL)
		return crypto_fail();
	n = crypto_encode(pkey, is_private, out, cap);
	EVP_PKEY_free(pkey);
	return n;
}

/* Appends the BIGNUM parameter `name` of `pkey` to `parts` (padded to `pad` bytes when non-zero).
 */
static int
crypto_put_bn(EVP_PKEY *pkey, const char *name, size_t pad, unsigned char *out, size_t cap,
    size_t *used, struct crypto_parts *parts)
{
	BIGNUM *bn = NULL;
	size_t n;
	int ok;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return -1;
	n = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	if (n == 0)
		n = 1; /* zero is one octet in JWK */
	ok = *used + n <= cap && (size_t)BN_num_bytes(bn) <= n &&
	    BN_bn2binpad(bn, out + *used, (int)n) == (int)n;
	BN_clear_free(bn);
	if (!ok)
		return -1;
	parts->ptr[parts->count] = out + *used;
	parts->len[parts->count++] = n;
	*used += n;
	return 0;
}

int
crypto_key_parts(int kind, bool is_private, const unsigned char *der, size_t len,
    unsigned char *out, size_t cap, struct crypto_parts *parts)
{
	static const char *const ec_params[3] = {
		OSSL_PKEY_PARAM_EC_PUB_X,
		OSSL_PKEY_PARAM_EC_PUB_Y,
		OSSL_PKEY_PARAM_PRIV_KEY,
	};
	EVP_PKEY *pkey;
	size_t used = 0, count;
	int rc = 0;

	memset(parts, 0, sizeof(*parts));
	if ((pkey = crypto_decode(kind, is_private, der, len)) == NULL)
		return -1;
	if (kind == CRYPTO_RSA) {
		count = is_private ? 8 : 2;
		for (size_t i = 0; i < count && rc == 0; i++)
			rc = crypto_put_bn(pkey, crypto_rsa_params[i], 0, out, cap, &used, parts);
	} else {
		count = is_private ? 3 : 2;
		for (size_t i = 0; i < count && rc == 0; i++)
			rc = crypto_put_bn(
			    pkey, ec_params[i], crypto_kinds[kind].field, out, cap, &used, parts);
	}
	EVP_PKEY_free(pkey);
	if (rc == -1) {
		memset(parts, 0, sizeof(*parts));
		return crypto_fail();
	}
	return 0;
}

int
crypto_generate(int kind, unsigned bits, unsigned long exponent, unsigned char *priv,
    size_t priv_cap, size_t *priv_len, unsigned char *pub, size_t pub_cap, size_t *pub_len)
{
	EVP_PKEY_CTX *pc;
	EVP_PKEY *pkey = NULL;
	BIGNUM *e = NULL;
	ssize_t n, m;
	int ok;

	if (!crypto_kind_ok(kind))
		return -1;
	if (kind == CRYPTO_RSA &&
	    (bits < 1024 || bits > CRYPTO_RSA_MAX_GEN_BITS || bits % 8 != 0 ||
		(exponent != 3 && exponent != 65537)))
		return -1;
	pc = EVP_PKEY_CTX_new_from_name(NULL, kind == CRYPTO_RSA ? "RSA" : "EC", NULL);
	if (pc == NULL)
		return crypto_fail();
	ok = EVP_PKEY_keygen_init(pc) == 1;
	if (ok && kind == CRYPTO_RSA)
		ok = (e = BN_new()) != NULL && BN_set_word(e, exponent) == 1 &&
		    EVP_PKEY_CTX_set_rsa_keygen_bits(pc, (int)bits) == 1 &&
		    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(pc, e) == 1;
	else if (ok)
		ok = EVP_PKEY_CTX_set_group_name(pc, crypto_kinds[kind].group) == 1;
	if (ok)
		ok = EVP_PKEY_generate(pc, &pkey) == 1;
	BN_free(e);
	EVP_PKEY_CTX_free(pc);
	if (!ok) {
		EVP_PKEY_free(pkey);
		return crypto_fail();
	}
	n = crypto_encode(pkey, true, priv, priv_cap);
	m = crypto_encode(pkey, false, pub, pub_cap);
	EVP_PKEY_free(pkey);
	if (n == -1 || m == -1)
		return -1;
	*priv_len = (size_t)n;
	*pub_len = (size_t)m;
	return 0;
}

ssize_t
crypto_sign(int kind, int hash, const unsigned char *der, size_t derlen, const void *in, size_t len,
    unsigned char *out, size_t cap)
{
	unsigned char sig[CRYPTO_MAX_SIG];
	EVP_MD_CTX *mc;
	EVP_PKEY *pkey;
	size_t n = sizeof(sig);
	ssize_t rc = -1;
	int ok;

	if (!crypto_hash_ok(hash) || len > CRYPTO_MAX_DATA)
		return -1;
	if ((pkey = crypto_decode(kind, true, der, derlen)) == NULL)
		return -1;
	if ((mc = EVP_MD_CTX_new()) == NULL) {
		EVP_PKEY_free(pkey);
		return crypto_fail();
	}
	ok = EVP_DigestSignInit(mc, NULL, crypto.md[hash], NULL, pkey) == 1 &&
	    EVP_DigestSign(mc, NULL, &n, crypto_nonnull(in), len) == 1 && n <= sizeof(sig) &&
	    EVP_DigestSign(mc, sig, &n, crypto_nonnull(in), len) == 1;
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pkey);
	if (ok && kind != CRYPTO_RSA)
		rc = crypto_ecdsa_der_to_p1363(sig, n, crypto_kinds[kind].field, out, cap);
	else if (ok && n <= cap) {
		memcpy(out, sig, n);
		rc = (ssize_t)n;
	}
	OPENSSL_cleanse(sig, sizeof(sig));
	return rc != -1 ? rc : crypto_fail();
}

int
crypto_verify(int kind, int hash, const unsigned char *der, size_t derlen, const void *sig,
    size_t siglen, const void *in, size_t len)
{
	unsigned char der_sig[CRYPTO_MAX_SIG_DER];
	EVP_MD_CTX *mc;
	EVP_PKEY *pkey;
	ssize_t n;
	int rc;

	if (!crypto_hash_ok(hash) || len > CRYPTO_MAX_DATA)
		return -1;
	if ((pkey = crypto_decode(kind, false, der, derlen)) == NULL)
		return -1;
	if (kind != CRYPTO_RSA) {
		/* Web Crypto: a P1363 signature of the wrong length is simply invalid. */
		if (siglen != 2 * crypto_kinds[kind].field ||
		    (n = crypto_ecdsa_p1363_to_der(sig, siglen, der_sig, sizeof(der_sig))) == -1) {
			EVP_PKEY_free(pkey);
			return 0;
		}
		sig = der_sig;
		siglen = (size_t)n;
	} else if (siglen > CRYPTO_MAX_SIG) {
		EVP_PKEY_free(pkey);
		return 0;
	}
	if ((mc = EVP_MD_CTX_new()) == NULL) {
		EVP_PKEY_free(pkey);
		return crypto_fail();
	}
	if (EVP_DigestVerifyInit(mc, NULL, crypto.md[hash], NULL, pkey) != 1)
		rc = -1;
	else
		rc =
		    EVP_DigestVerify(mc, crypto_nonnull(sig), siglen, crypto_nonnull(in), len) == 1;
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

ssize_t
crypto_ecdsa_der_to_p1363(
    const unsigned char *der, size_t len, size_t field, unsigned char *out, size_t cap)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	ssize_t rc = -1;

	if (field == 0 || field > CRYPTO_MAX_FIELD || cap < 2 * field || len == 0 ||
	    len > CRYPTO_MAX_SIG_DER)
		return -1;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return crypto_fail();
	ECDSA_SIG_get0(sig, &r, &s);
	if (p == der + len && !BN_is_negative(r) && !BN_is_negative(s) &&
	    BN_bn2binpad(r, out, (int)field) == (int)field &&
	    BN_bn2binpad(s, out + field, (int)field) == (int)field)
		rc = (ssize_t)(2 * field);
	ECDSA_SIG_free(sig);
	return rc != -1 ? rc : crypto_fail();
}

ssize_t
crypto_ecdsa_p1363_to_der(const unsigned char *sig, size_t len, unsigned char *out, size_t cap)
{
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *es;
	unsigned char *p = out;
	int n = -1;

	if (len == 0 || len % 2 != 0 || len > 2 * CRYPTO_MAX_FIELD)
		return -1;
	if ((es = ECDSA_SIG_new()) == NULL)
		return crypto_fail();
	if ((r = BN_bin2bn(sig, (int)(len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL)) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	/* es owns r and s now. */
	n = i2d_ECDSA_SIG(es, NULL);
	if (n > 0 && (size_t)n <= cap)
		n = i2d_ECDSA_SIG(es, &p);
	else
		n = -1;
out:
	ECDSA_SIG_free(es);
	return n > 0 ? n : crypto_fail();
}

/* Exercises every code path once so that each lazily fetched implementation is in place. */
static int
crypto_warm_up(void)
{
	static unsigned char priv[CRYPTO_MAX_KEY_DER], pub[CRYPTO_MAX_KEY_DER];
	unsigned char out[CRYPTO_MAX_PARTS_BYTES], sig[CRYPTO_MAX_SIG], key[32] = { 0 };
	struct crypto_parts parts;
	size_t priv_len, pub_len;
	ssize_t n;

	for (int h = 0; h < CRYPTO_HASH_COUNT; h++)
		if (crypto_digest(h, "abc", 3, out, sizeof(out)) == -1 ||
		    crypto_hmac(h, key, sizeof(key), "abc", 3, out, sizeof(out)) == -1)
			return -1;
	if (crypto_aes_gcm(true, key, 32, key, 12, "a", 1, 16, "abc", 3, out, sizeof(out)) == -1 ||
	    crypto_aes_cbc(true, key, 32, key, "abc", 3, out, sizeof(out)) == -1 ||
	    crypto_aes_ctr(key, 32, key, 64, "abc", 3, out, sizeof(out)) == -1)
		return -1;
	if (crypto_generate(CRYPTO_P256, 0, 0, priv, sizeof(priv), &priv_len, pub, sizeof(pub),
		&pub_len) == -1 ||
	    (n = crypto_sign(
		 CRYPTO_P256, CRYPTO_SHA256, priv, priv_len, "abc", 3, sig, sizeof(sig))) == -1 ||
	    crypto_verify(CRYPTO_P256, CRYPTO_SHA256, pub, pub_len, sig, (size_t)n, "abc", 3) !=
		1 ||
	    crypto_key_parts(CRYPTO_P256, true, priv, priv_len, out, sizeof(out), &parts) == -1 ||
	    crypto_key_from_parts(CRYPTO_P256, true, &parts, priv, sizeof(priv)) == -1 ||
	    crypto_key_normalize(CRYPTO_P256, false, pub, pub_len, pub, sizeof(pub)) == -1)
		return -1;
	OPENSSL_cleanse(priv, sizeof(priv));
	return 0;
}

int
crypto_init(void)
{
	unsigned char seed[32];

	if (crypto.ready)
		return 0;
	/* Marks the configuration as loaded: no openssl.cnf is read, now or later. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		goto fail;
	for (int i = 0; i < CRYPTO_HASH_COUNT; i++)
		if ((crypto.md[i] = EVP_MD_fetch(NULL, crypto_hashes[i].fetch, NULL)) == NULL)
			goto fail;
	if ((crypto.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto fail;
	for (int m = 0; m < 3; m++)
		for (int k = 0; k < 3; k++)
			if ((crypto.cipher[m][k] = EVP_CIPHER_fetch(
				 NULL, crypto_cipher_names[m][k], NULL)) == NULL)
				goto fail;
	if ((crypto.keymgmt[0] = EVP_KEYMGMT_fetch(NULL, "RSA", NULL)) == NULL ||
	    (crypto.keymgmt[1] = EVP_KEYMGMT_fetch(NULL, "EC", NULL)) == NULL ||
	    (crypto.signature[0] = EVP_SIGNATURE_fetch(NULL, "RSA", NULL)) == NULL ||
	    (crypto.signature[1] = EVP_SIGNATURE_fetch(NULL, "ECDSA", NULL)) == NULL)
		goto fail;
	/* Seeds the public and private generators now; after fork they reseed from getrandom. */
	if (RAND_bytes(seed, sizeof(seed)) != 1 || RAND_priv_bytes(seed, sizeof(seed)) != 1)
		goto fail;
	OPENSSL_cleanse(seed, sizeof(seed));
	crypto.ready = true;
	if (crypto_warm_up() == -1) {
		crypto.ready = false;
		goto fail;
	}
	return 0;
fail:
	log_warnx("cannot initialise openssl: %s",
	    ERR_reason_error_string(ERR_peek_error()) ? ERR_reason_error_string(ERR_peek_error())
						      : "unknown error");
	ERR_clear_error();
	return -1;
}
