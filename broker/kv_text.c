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
#include "common/base64.h"
#include "common/utf8.h"

/* Number.MAX_SAFE_INTEGER: larger seconds cannot come from a script exactly. */
#define KV_SECONDS_MAX 9007199254740991.0

json_t *
kv_utf8_string(const uint8_t *s, size_t n)
{
	static const uint8_t replacement[] = { 0xef, 0xbf, 0xbd };
	uint8_t *out;
	size_t i = 0, o = 0, step, bad;
	json_t *str;

	if (utf8_is_valid(s, n))
		return json_stringn((const char *)s, n);
	/* Each replaced subpart is at least one byte and becomes three. */
	if (n > SIZE_MAX / 3 || (out = malloc(n * 3)) == NULL)
		return NULL;
	while (i < n) {
		if ((step = utf8_sequence(s + i, n - i, NULL, &bad)) != 0) {
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

size_t
kv_base64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t len = base64_encode_as(in, n, BASE64_URL | BASE64_NO_PAD, out);

	out[len] = '\0';
	return len;
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
	if (!utf8_is_valid(key, len)) {
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
