/*
 * native_crypto: the Duktape adapters of sandbox/crypto.h, reached by
 * sdk-js/runtime/65-crypto.js through `native.crypto*`.  Runs in sandboxes.
 * Inputs are validated by the JS side; a crypto failure answers null.
 */
#include <string.h>

#include "sandbox/crypto.h"
#include "sandbox/host.h"

/* getRandomValues' quota (Web Crypto). */
#define NATIVE_CRYPTO_MAX_RANDOM 65536

/* Bytes of the buffer value (ArrayBuffer, view or plain buffer) at idx; throws TypeError otherwise.
 */
static const unsigned char *
native_crypto_bytes(duk_context *ctx, duk_idx_t idx, size_t *len)
{
	duk_size_t n = 0;
	const unsigned char *p = duk_require_buffer_data(ctx, idx, &n);

	*len = n;
	return p != NULL ? p : (const unsigned char *)"";
}

/* Like native_crypto_bytes, but null and undefined are empty. */
static const unsigned char *
native_crypto_opt_bytes(duk_context *ctx, duk_idx_t idx, size_t *len)
{
	if (duk_is_null_or_undefined(ctx, idx)) {
		*len = 0;
		return (const unsigned char *)"";
	}
	return native_crypto_bytes(ctx, idx, len);
}

/*
 * Pushes a scratch buffer of `cap` bytes (on the value stack, so that a
 * throw frees it) and returns its data.
 */
static unsigned char *
native_crypto_scratch(duk_context *ctx, size_t cap)
{
	return duk_push_dynamic_buffer(ctx, cap > 0 ? cap : 1);
}

/* Replaces the scratch buffer at the top with an ArrayBuffer of its first n bytes, or null. */
static duk_ret_t
native_crypto_finish(duk_context *ctx, ssize_t n)
{
	if (n < 0) {
		duk_pop(ctx);
		duk_push_null(ctx);
		return 1;
	}
	duk_resize_buffer(ctx, -1, (duk_size_t)n);
	duk_push_buffer_object(ctx, -1, 0, (duk_size_t)n, DUK_BUFOBJ_ARRAYBUFFER);
	return 1;
}

static int
native_crypto_hash(duk_context *ctx, duk_idx_t idx)
{
	return crypto_hash_from_name(duk_require_string(ctx, idx));
}

static int
native_crypto_kind(duk_context *ctx, duk_idx_t idx)
{
	return crypto_kind_from_name(duk_require_string(ctx, idx));
}

/* cryptoRandom(view): fills an integer view in place; false when refused. */
static duk_ret_t
native_crypto_random(duk_context *ctx)
{
	duk_size_t n = 0;
	void *p = duk_require_buffer_data(ctx, 0, &n);

	duk_push_boolean(ctx, n <= NATIVE_CRYPTO_MAX_RANDOM && crypto_random(p, n) == 0);
	return 1;
}

/* cryptoDigest(hash, data) -> ArrayBuffer or null */
static duk_ret_t
native_crypto_digest(duk_context *ctx)
{
	int hash = native_crypto_hash(ctx, 0);
	size_t len;
	const unsigned char *in = native_crypto_bytes(ctx, 1, &len);
	unsigned char *out = native_crypto_scratch(ctx, CRYPTO_MAX_DIGEST);

	return native_crypto_finish(ctx, crypto_digest(hash, in, len, out, CRYPTO_MAX_DIGEST));
}

/* cryptoHmac(hash, key, data) -> ArrayBuffer or null */
static duk_ret_t
native_crypto_hmac(duk_context *ctx)
{
	int hash = native_crypto_hash(ctx, 0);
	size_t keylen, len;
	const unsigned char *key = native_crypto_bytes(ctx, 1, &keylen);
	const unsigned char *in = native_crypto_bytes(ctx, 2, &len);
	unsigned char *out = native_crypto_scratch(ctx, CRYPTO_MAX_DIGEST);

	return native_crypto_finish(
	    ctx, crypto_hmac(hash, key, keylen, in, len, out, CRYPTO_MAX_DIGEST));
}

/* cryptoEqual(a, b) -> bool in time independent of the contents; TypeError on a length mismatch. */
static duk_ret_t
native_crypto_equal(duk_context *ctx)
{
	size_t alen, blen;
	const unsigned char *a = native_crypto_bytes(ctx, 0, &alen);
	const unsigned char *b = native_crypto_bytes(ctx, 1, &blen);

	if (alen != blen)
		return duk_error(
		    ctx, DUK_ERR_TYPE_ERROR, "Input buffers must have the same byte length.");
	duk_push_boolean(ctx, crypto_equal(a, b, alen));
	return 1;
}

/* cryptoAesGcm(encrypt, key, iv, aad, tagBytes, data) -> ArrayBuffer or null */
static duk_ret_t
native_crypto_aes_gcm(duk_context *ctx)
{
	bool encrypt = duk_require_boolean(ctx, 0);
	size_t keylen, ivlen, aadlen, len, cap;
	const unsigned char *key = native_crypto_bytes(ctx, 1, &keylen);
	const unsigned char *iv = native_crypto_bytes(ctx, 2, &ivlen);
	const unsigned char *aad = native_crypto_opt_bytes(ctx, 3, &aadlen);
	unsigned taglen = duk_require_uint(ctx, 4);
	const unsigned char *in = native_crypto_bytes(ctx, 5, &len);
	unsigned char *out;

	if (len > CRYPTO_MAX_DATA) {
		duk_push_null(ctx);
		return 1;
	}
	cap = len + 16;
	out = native_crypto_scratch(ctx, cap);
	return native_crypto_finish(ctx,
	    crypto_aes_gcm(
		encrypt, key, keylen, iv, ivlen, aad, aadlen, taglen, in, len, out, cap));
}

/* cryptoAesCbc(encrypt, key, iv, data) -> ArrayBuffer or null */
static duk_ret_t
native_crypto_aes_cbc(duk_context *ctx)
{
	bool encrypt = duk_require_boolean(ctx, 0);
	size_t keylen, ivlen, len, cap;
	const unsigned char *key = native_crypto_bytes(ctx, 1, &keylen);
	const unsigned char *iv = native_crypto_bytes(ctx, 2, &ivlen);
	const unsigned char *in = native_crypto_bytes(ctx, 3, &len);
	unsigned char *out;

	if (ivlen != 16 || len > CRYPTO_MAX_DATA) {
		duk_push_null(ctx);
		return 1;
	}
	cap = len + 16;
	out = native_crypto_scratch(ctx, cap);
	return native_crypto_finish(
	    ctx, crypto_aes_cbc(encrypt, key, keylen, iv, in, len, out, cap));
}

/* cryptoAesCtr(key, counter, bits, data) -> ArrayBuffer or null */
static duk_ret_t
native_crypto_aes_ctr(duk_context *ctx)
{
	size_t keylen, counterlen, len;
	const unsigned char *key = native_crypto_bytes(ctx, 0, &keylen);
	const unsigned char *counter = native_crypto_bytes(ctx, 1, &counterlen);
	unsigned bits = duk_require_uint(ctx, 2);
	const unsigned char *in = native_crypto_bytes(ctx, 3, &len);
	unsigned char *out;

	if (counterlen != 16 || len > CRYPTO_MAX_DATA) {
		duk_push_null(ctx);
		return 1;
	}
	out = native_crypto_scratch(ctx, len);
	return native_crypto_finish(
	    ctx, crypto_aes_ctr(key, keylen, counter, bits, in, len, out, len));
}

/* cryptoKeyNormalize(kind, isPrivate, der) -> canonical DER ArrayBuffer or null */
static duk_ret_t
native_crypto_key_normalize(duk_context *ctx)
{
	int kind = native_crypto_kind(ctx, 0);
	bool is_private = duk_require_boolean(ctx, 1);
	size_t len;
	const unsigned char *der = native_crypto_bytes(ctx, 2, &len);
	unsigned char *out = native_crypto_scratch(ctx, CRYPTO_MAX_KEY_DER);

	return native_crypto_finish(
	    ctx, crypto_key_normalize(kind, is_private, der, len, out, CRYPTO_MAX_KEY_DER));
}

/* cryptoKeyFromParts(kind, isPrivate, [bytes, ...]) -> DER ArrayBuffer or null */
static duk_ret_t
native_crypto_key_from_parts(duk_context *ctx)
{
	int kind = native_crypto_kind(ctx, 0);
	bool is_private = duk_require_boolean(ctx, 1);
	struct crypto_parts parts;
	unsigned char *out;

	duk_require_object(ctx, 2);
	memset(&parts, 0, sizeof(parts));
	parts.count = duk_get_length(ctx, 2);
	if (parts.count > CRYPTO_MAX_PARTS) {
		duk_push_null(ctx);
		return 1;
	}
	for (size_t i = 0; i < parts.count; i++) {
		/* Left on the stack: the parts' bytes stay alive until we return. */
		duk_get_prop_index(ctx, 2, (duk_uarridx_t)i);
		parts.ptr[i] = native_crypto_bytes(ctx, -1, &parts.len[i]);
	}
	out = native_crypto_scratch(ctx, CRYPTO_MAX_KEY_DER);
	return native_crypto_finish(
	    ctx, crypto_key_from_parts(kind, is_private, &parts, out, CRYPTO_MAX_KEY_DER));
}

/* cryptoKeyParts(kind, isPrivate, der) -> [ArrayBuffer, ...] or null */
static duk_ret_t
native_crypto_key_parts(duk_context *ctx)
{
	int kind = native_crypto_kind(ctx, 0);
	bool is_private = duk_require_boolean(ctx, 1);
	struct crypto_parts parts;
	size_t len;
	const unsigned char *der = native_crypto_bytes(ctx, 2, &len);
	unsigned char *out = native_crypto_scratch(ctx, CRYPTO_MAX_PARTS_BYTES);

	if (crypto_key_parts(kind, is_private, der, len, out, CRYPTO_MAX_PARTS_BYTES, &parts) ==
	    -1) {
		duk_push_null(ctx);
		return 1;
	}
	duk_push_array(ctx);
	for (size_t i = 0; i < parts.count; i++) {
		/* `out` is a dynamic buffer that nothing resizes here: the pointers hold. */
		unsigned char *p = duk_push_fixed_buffer(ctx, parts.len[i]);

		memcpy(p, parts.ptr[i], parts.len[i]);
		duk_push_buffer_object(ctx, -1, 0, parts.len[i], DUK_BUFOBJ_ARRAYBUFFER);
		duk_remove(ctx, -2);
		duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
	}
	return 1;
}

/* cryptoGenerate(kind, bits, exponent) -> [pkcs8, spki] or null */
static duk_ret_t
native_crypto_generate(duk_context *ctx)
{
	int kind = native_crypto_kind(ctx, 0);
	unsigned bits = duk_get_uint(ctx, 1);
	unsigned long exponent = duk_get_uint(ctx, 2);
	unsigned char *priv, *pub;
	size_t priv_len = 0, pub_len = 0;
	duk_idx_t at;

	priv = native_crypto_scratch(ctx, CRYPTO_MAX_KEY_DER);
	at = duk_get_top_index(ctx);
	pub = native_crypto_scratch(ctx, CRYPTO_MAX_KEY_DER);
	if (crypto_generate(kind, bits, exponent, priv, CRYPTO_MAX_KEY_DER, &priv_len, pub,
		CRYPTO_MAX_KEY_DER, &pub_len) == -1) {
		duk_push_null(ctx);
		return 1;
	}
	duk_resize_buffer(ctx, at, priv_len);
	duk_resize_buffer(ctx, at + 1, pub_len);
	duk_push_array(ctx);
	duk_push_buffer_object(ctx, at, 0, priv_len, DUK_BUFOBJ_ARRAYBUFFER);
	duk_put_prop_index(ctx, -2, 0);
	duk_push_buffer_object(ctx, at + 1, 0, pub_len, DUK_BUFOBJ_ARRAYBUFFER);
	duk_put_prop_index(ctx, -2, 1);
	return 1;
}

/* cryptoSign(kind, hash, pkcs8, data) -> ArrayBuffer or null */
static duk_ret_t
native_crypto_sign(duk_context *ctx)
{
	int kind = native_crypto_kind(ctx, 0);
	int hash = native_crypto_hash(ctx, 1);
	size_t derlen, len;
	const unsigned char *der = native_crypto_bytes(ctx, 2, &derlen);
	const unsigned char *in = native_crypto_bytes(ctx, 3, &len);
	unsigned char *out = native_crypto_scratch(ctx, CRYPTO_MAX_SIG);

	return native_crypto_finish(
	    ctx, crypto_sign(kind, hash, der, derlen, in, len, out, CRYPTO_MAX_SIG));
}

/* cryptoVerify(kind, hash, spki, signature, data) -> bool, or null when the key is unusable */
static duk_ret_t
native_crypto_verify(duk_context *ctx)
{
	int kind = native_crypto_kind(ctx, 0);
	int hash = native_crypto_hash(ctx, 1);
	size_t derlen, siglen, len;
	const unsigned char *der = native_crypto_bytes(ctx, 2, &derlen);
	const unsigned char *sig = native_crypto_bytes(ctx, 3, &siglen);
	const unsigned char *in = native_crypto_bytes(ctx, 4, &len);
	int rc = crypto_verify(kind, hash, der, derlen, sig, siglen, in, len);

	if (rc == -1)
		duk_push_null(ctx);
	else
		duk_push_boolean(ctx, rc == 1);
	return 1;
}

static const duk_function_list_entry native_crypto_functions[] = {
	{ "cryptoRandom", native_crypto_random, 1 },
	{ "cryptoDigest", native_crypto_digest, 2 },
	{ "cryptoHmac", native_crypto_hmac, 3 },
	{ "cryptoEqual", native_crypto_equal, 2 },
	{ "cryptoAesGcm", native_crypto_aes_gcm, 6 },
	{ "cryptoAesCbc", native_crypto_aes_cbc, 4 },
	{ "cryptoAesCtr", native_crypto_aes_ctr, 4 },
	{ "cryptoKeyNormalize", native_crypto_key_normalize, 3 },
	{ "cryptoKeyFromParts", native_crypto_key_from_parts, 3 },
	{ "cryptoKeyParts", native_crypto_key_parts, 3 },
	{ "cryptoGenerate", native_crypto_generate, 3 },
	{ "cryptoSign", native_crypto_sign, 4 },
	{ "cryptoVerify", native_crypto_verify, 5 },
	{ NULL, NULL, 0 },
};

void
native_crypto_register(duk_context *ctx)
{
	duk_put_function_list(ctx, -1, native_crypto_functions);
}
