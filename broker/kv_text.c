/*
 * kv_text: the KV backend's checks of call arguments (keys, expirations,
 * metadata, with Cloudflare's error wording) and its text codecs (UTF-8
 * repair, base64).  Pure functions.  Runs in the broker.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kv_internal.h"

/* Number.MAX_SAFE_INTEGER: larger seconds cannot come from a script exactly. */
#define KV_SECONDS_MAX 9007199254740991.0

/*
 * The length of the valid UTF-8 sequence at s[0..n), or 0 when there is
 * none; then *bad is the length of the maximal invalid subpart (what one
 * U+FFFD replaces, as the Encoding Standard's decoder does).
 */
static size_t
kv_utf8_sequence(const uint8_t *s, size_t n, size_t *bad)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

bool
kv_utf8_is_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, step, bad;

	while (i < n) {
		if ((step = kv_utf8_sequence(s + i, n - i, &bad)) == 0)
			return false;
		i += step;
	}
	return true;
}

json_t *
kv_utf8_string(const uint8_t *s, size_t n)
{
	static const uint8_t replacement[] = { 0xef, 0xbf, 0xbd };
	uint8_t *out;
	size_t i = 0, o = 0, step, bad;
	json_t *str;

	if (kv_utf8_is_valid(s, n))
		return json_stringn((const char *)s, n);
	/* Each replaced subpart is at least one byte and becomes three. */
	if (n > SIZE_MAX / 3 || (out = malloc(n * 3)) == NULL)
		return NULL;
	while (i < n) {
		if ((step = kv_utf8_sequence(s + i, n - i, &bad)) != 0) {
			memcpy(out + o, s + i, step);
			o += step;
			i += step;
		} else {
			memcpy(out + o, replacement, sizeof(replacement));
			o += sizeof(replacement);
			i += bad;
		}
	}
	str = json_stringn((const char *)out, o);
	free(out);
	return str;
}

static const char kv_b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char kv_b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
kv_base64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = kv_b64_url[v >> 18 & 63];
		out[o++] = kv_b64_url[v >> 12 & 63];
		out[o++] = kv_b64_url[v >> 6 & 63];
		out[o++] = kv_b64_url[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = kv_b64_url[v >> 18 & 63];
		out[o++] = kv_b64_url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = kv_b64_url[v >> 18 & 63];
		out[o++] = kv_b64_url[v >> 12 & 63];
		out[o++] = kv_b64_url[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

int
kv_base64_decode(const char *in, size_t n, bool url, uint8_t *out, size_t *out_len)
{
	const char *alphabet = url ? kv_b64_url : kv_b64_std;
	const char *hit;
	uint32_t acc = 0;
	size_t o = 0, bits = 0, padding = 0;

	while (padding < 2 && n > 0 && in[n - 1] == '=') {
		n--;
		padding++;
	}
	if (n % 4 == 1 || (padding > 0 && (n + padding) % 4 != 0))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\0' || (hit = strchr(alphabet, in[i])) == NULL)
			return -1;
		acc = (acc << 6 | (uint32_t)(hit - alphabet)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Bits past the last byte must be zero: one text per byte string. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	*out_len = o;
	return 0;
}

int
kv_key_check(const char *op, const uint8_t *key, size_t len, struct store_result *r)
{
	if (len == 0) {
		store_fail(r, STORE_E_INVALID, "Key names must not be empty");
		return -1;
	}
	if ((len == 1 && key[0] == '.') || (len == 2 && key[0] == '.' && key[1] == '.')) {
		store_fail(r, STORE_E_INVALID,
		    "Illegal key name \"%.*s\". Please use a different name.", (int)len,
		    (const char *)key);
		return -1;
	}
	if (len > KV_KEY_MAX) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV %s failed: 414 UTF-8 encoded length of %zu exceeds key length limit of %d.",
		    op, len, KV_KEY_MAX);
		return -1;
	}
	if (!kv_utf8_is_valid(key, len)) {
		store_fail(
		    r, STORE_E_INVALID, "KV %s failed: 400 Key names must be valid UTF-8", op);
		return -1;
	}
	return 0;
}

int
kv_arg_key(const json_t *args, const char *name, const char *op, const uint8_t **key, size_t *len,
    struct store_result *r)
{
	const json_t *v = json_object_get(args, name);

	if (!json_is_string(v)) {
		store_fail(
		    r, STORE_E_INVALID, "KV %s failed: 400 \"%s\" must be a string", op, name);
		return -1;
	}
	*key = (const uint8_t *)json_string_value(v);
	*len = json_string_length(v);
	return kv_key_check(op, *key, *len, r);
}

/* A number as the script wrote it: integers plainly, reals in their shortest exact form. */
static void
kv_number_text(const json_t *v, char *buf, size_t size)
{
	double d;

	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	}
	d = json_real_value(v);
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, size, "%.*g", precision, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* A seconds member as a whole number (fractions dropped, as parseInt would). */
static int
kv_seconds(const json_t *v, const char *what, const char *op, double *out, char *text, size_t size,
    struct store_result *r)
{
	if (!json_is_number(v)) {
		store_fail(r, STORE_E_INVALID, "KV %s failed: 400 Invalid %s: expected a number",
		    op, what);
		return -1;
	}
	kv_number_text(v, text, size);
	*out = trunc(json_number_value(v));
	if (*out > KV_SECONDS_MAX) {
		store_fail(r, STORE_E_INVALID,
		    "KV %s failed: 400 Invalid %s of %s. Please specify a smaller integer.", op,
		    what, text);
		return -1;
	}
	return 0;
}

static int
kv_arg_ttl(const json_t *ttl, uint64_t now_s, const char *op, uint64_t *out, struct store_result *r)
{
	char text[64];
	double v;

	if (kv_seconds(ttl, "expiration_ttl", op, &v, text, sizeof(text), r) == -1)
		return -1;
	if (v <= 0) {
		store_fail(r, STORE_E_INVALID,
		    "KV %s failed: 400 Invalid expiration_ttl of %s. Please specify integer "
		    "greater "
		    "than 0.",
		    op, text);
		return -1;
	}
	if (v < KV_EXPIRATION_MIN) {
		store_fail(r, STORE_E_INVALID,
		    "KV %s failed: 400 Invalid expiration_ttl of %s. Expiration TTL must be at "
		    "least "
		    "%d.",
		    op, text, KV_EXPIRATION_MIN);
		return -1;
	}
	*out = now_s + (uint64_t)v;
	return 0;
}

static int
kv_arg_absolute(
    const json_t *expiration, uint64_t now_s, const char *op, uint64_t *out, struct store_result *r)
{
	char text[64];
	double v;

	if (kv_seconds(expiration, "expiration", op, &v, text, sizeof(text), r) == -1)
		return -1;
	if (v <= (double)now_s) {
		store_fail(r, STORE_E_INVALID,
		    "KV %s failed: 400 Invalid expiration of %s. Please specify integer greater "
		    "than "
		    "the current number of seconds since the UNIX epoch.",
		    op, text);
		return -1;
	}
	if (v < (double)(now_s + KV_EXPIRATION_MIN)) {
		store_fail(r, STORE_E_INVALID,
		    "KV %s failed: 400 Invalid expiration of %s. Expiration times must be at least "
		    "%d "
		    "seconds in the future.",
		    op, text, KV_EXPIRATION_MIN);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

int
kv_arg_expiration(const json_t *expiration, const json_t *ttl, uint64_t now_s, const char *op,
    uint64_t *out, struct store_result *r)
{
	*out = 0;
	/* Both given: the TTL wins, as in Cloudflare's API. */
	if (ttl != NULL && !json_is_null(ttl))
		return kv_arg_ttl(ttl, now_s, op, out, r);
	if (expiration != NULL && !json_is_null(expiration))
		return kv_arg_absolute(expiration, now_s, op, out, r);
	return 0;
}

int
kv_arg_metadata(
    const json_t *metadata, const char *op, char **text, size_t *len, struct store_result *r)
{
	size_t n;

	*text = NULL;
	*len = 0;
	if (metadata == NULL || json_is_null(metadata))
		return 0;
	if ((*text = json_dumps(metadata, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		store_fail(
		    r, STORE_E_INVALID, "KV %s failed: 400 the metadata is not serializable", op);
		return -1;
	}
	if ((n = strlen(*text)) > KV_METADATA_MAX) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV %s failed: 413 Metadata length of %zu exceeds limit of %d.", op, n,
		    KV_METADATA_MAX);
		free(*text);
		*text = NULL;
		return -1;
	}
	*len = n;
	return 0;
}
