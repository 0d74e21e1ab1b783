/*
 * r2_args: checks of the argument documents R2 calls carry (keys,
 * metadata, checksums), and the conditions ("onlyIf") and ranges of get and
 * put.  Arguments come from a sandbox: any shape is possible and none is a
 * reason to do more than fail the call.  Runs in the broker.
 */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "broker/r2_internal.h"

#define R2_JSON_INT_MAX (1ull << 53)

/* The httpMetadata members R2 keeps; all strings but cacheExpiry (ms). */
static const char *const r2_http_members[] = {
	"contentType",
	"contentLanguage",
	"contentDisposition",
	"contentEncoding",
	"cacheControl",
};

static const struct {
	const char *name;
	const char *label;
	size_t hex_len;
	const EVP_MD *(*md)(void);
} r2_checksums[] = {
	{ "md5", "MD5", 32, EVP_md5 },
	{ "sha1", "SHA-1", 40, EVP_sha1 },
	{ "sha256", "SHA-256", 64, EVP_sha256 },
	{ "sha384", "SHA-384", 96, EVP_sha384 },
	{ "sha512", "SHA-512", 128, EVP_sha512 },
};

static void
r2_invalid(struct store_result *r, const char *method, const char *what)
{
	r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, method, "%s", what);
}

static size_t
r2_utf8_sequence(const uint8_t *s, size_t left)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
r2_utf8_is_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = r2_utf8_sequence(s + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

bool
r2_json_uint(json_t *v, uint64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > R2_JSON_INT_MAX)
			return false;
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (!isfinite(d) || d < 0 || d > (double)R2_JSON_INT_MAX || floor(d) != d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* A time in ms: any finite number, rounded down. */
static bool
r2_json_time(json_t *v, int64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (!isfinite(d) || fabs(d) > (double)R2_JSON_INT_MAX)
		return false;
	*out = (int64_t)floor(d);
	return true;
}

int
r2_key_check(json_t *v, const char *method, struct store_result *r)
{
	size_t len = json_string_length(v);

	if (!json_is_string(v) || len == 0 || len > R2_KEY_MAX ||
	    !r2_utf8_is_valid((const uint8_t *)json_string_value(v), len)) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_OBJECT_NAME, method,
		    "The specified object name is not valid.");
		return -1;
	}
	return 0;
}

int
r2_key_parse(
    json_t *args, const uint8_t **key, size_t *len, const char *method, struct store_result *r)
{
	json_t *v = json_object_get(args, "key");

	if (r2_key_check(v, method, r) == -1)
		return -1;
	*key = (const uint8_t *)json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static bool
r2_is_string(json_t *v)
{
	return json_is_string(v) &&
	    r2_utf8_is_valid((const uint8_t *)json_string_value(v), json_string_length(v));
}

/* Copies the known httpMetadata members; *bytes grows by their lengths. */
static int
r2_http_parse(json_t *in, json_t *out, size_t *bytes)
{
	json_t *v;

	for (size_t i = 0; i < sizeof(r2_http_members) / sizeof(r2_http_members[0]); i++) {
		v = json_object_get(in, r2_http_members[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!r2_is_string(v) ||
		    json_object_set_new(out, r2_http_members[i], json_copy(v)) == -1)
			return -1;
		*bytes += json_string_length(v);
	}
	v = json_object_get(in, "cacheExpiry");
	if (v != NULL && !json_is_null(v)) {
		int64_t ms;

		if (!r2_json_time(v, &ms) ||
		    json_object_set_new(out, "cacheExpiry", json_integer(ms)) == -1)
			return -1;
		*bytes += 8;
	}
	return 0;
}

static int
r2_custom_parse(json_t *in, json_t *out, size_t *bytes)
{
	const char *name;
	json_t *v;

	json_object_foreach (in, name, v) {
		if (!r2_is_string(v) || !r2_utf8_is_valid((const uint8_t *)name, strlen(name)) ||
		    json_object_set_new(out, name, json_copy(v)) == -1)
			return -1;
		*bytes += strlen(name) + json_string_length(v);
	}
	return 0;
}

int
r2_metadata_parse(
    json_t *args, json_t **http, json_t **custom, const char *method, struct store_result *r)
{
	json_t *h = json_object_get(args, "httpMetadata");
	json_t *c = json_object_get(args, "customMetadata");
	size_t bytes = 0;

	*http = json_object();
	*custom = json_object();
	if (*http == NULL || *custom == NULL) {
		r2_fail_internal(r, method);
		goto fail;
	}
	if ((h != NULL && !json_is_null(h) &&
		(!json_is_object(h) || r2_http_parse(h, *http, &bytes) == -1)) ||
	    (c != NULL && !json_is_null(c) &&
		(!json_is_object(c) || r2_custom_parse(c, *custom, &bytes) == -1))) {
		r2_invalid(r, method, "The metadata is not valid.");
		goto fail;
	}
	if (bytes > R2_METADATA_MAX) {
		r2_fail(r, STORE_E_TOO_LARGE, R2_CODE_METADATA_TOO_LARGE, method,
		    "Your metadata headers exceed the maximum allowed metadata size.");
		goto fail;
	}
	return 0;
fail:
	json_decref(*http);
	json_decref(*custom);
	*http = *custom = NULL;
	return -1;
}

static bool
r2_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int
r2_checksum_parse(json_t *args, struct r2_checksum *sum, const char *method, struct store_result *r)
{
	json_t *v;

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < sizeof(r2_checksums) / sizeof(r2_checksums[0]); i++) {
		v = json_object_get(args, r2_checksums[i].name);
		if (v == NULL || json_is_null(v))
			continue;
		if (sum->name != NULL) {
			r2_invalid(r, method, "You cannot specify multiple hashing algorithms.");
			return -1;
		}
		if (!json_is_string(v) || json_string_length(v) != r2_checksums[i].hex_len ||
		    !r2_is_hex(json_string_value(v), r2_checksums[i].hex_len)) {
			r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_DIGEST, method,
			    "The %s checksum you specified is not valid.", r2_checksums[i].label);
			return -1;
		}
		sum->name = r2_checksums[i].name;
		sum->label = r2_checksums[i].label;
		sum->md = r2_checksums[i].md();
		for (size_t j = 0; j < r2_checksums[i].hex_len; j++)
			sum->hex[j] = (char)tolower((unsigned char)json_string_value(v)[j]);
	}
	return 0;
}

static int
r2_cond_etag(json_t *o, const char *name, const char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int
r2_cond_time(json_t *o, const char *name, bool *has, int64_t *out)
{
	json_t *v = json_object_get(o, name);

	*has = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!r2_json_time(v, out))
		return -1;
	*has = true;
	return 0;
}

int
r2_cond_parse(json_t *args, struct r2_cond *cond, const char *method, struct store_result *r)
{
	json_t *o = json_object_get(args, "onlyIf");
	json_t *seconds;

	memset(cond, 0, sizeof(*cond));
	if (o == NULL || json_is_null(o))
		return 0;
	seconds = json_object_get(o, "secondsGranularity");
	if (!json_is_object(o) || r2_cond_etag(o, "etagMatches", &cond->etag_matches) == -1 ||
	    r2_cond_etag(o, "etagDoesNotMatch", &cond->etag_does_not_match) == -1 ||
	    r2_cond_time(o, "uploadedBefore", &cond->has_before, &cond->before) == -1 ||
	    r2_cond_time(o, "uploadedAfter", &cond->has_after, &cond->after) == -1 ||
	    (seconds != NULL && !json_is_boolean(seconds) && !json_is_null(seconds))) {
		r2_invalid(r, method, "The onlyIf conditions are not valid.");
		return -1;
	}
	cond->seconds = json_is_true(seconds);
	return 0;
}

/* Skips spaces and commas; returns the end of the next list item. */
static const char *
r2_etag_item(const char *s, const char **start)
{
	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	*start = s;
	if (*s == 'W' && s[1] == '/')
		s += 2;
	if (*s == '"') {
		const char *close = strchr(s + 1, '"');

		return close != NULL ? close + 1 : s + strlen(s);
	}
	while (*s != '\0' && *s != ',' && *s != ' ' && *s != '\t')
		s++;
	return s;
}

static bool
r2_etag_item_matches(const char *start, const char *end, const char *etag)
{
	size_t n;

	if (end - start == 1 && *start == '*')
		return true;
	if (end - start >= 2 && start[0] == 'W' && start[1] == '/')
		start += 2;
	if (end - start >= 2 && *start == '"' && end[-1] == '"') {
		start++;
		end--;
	}
	n = (size_t)(end - start);
	return n > 0 && n == strlen(etag) && memcmp(start, etag, n) == 0;
}

bool
r2_etag_list_matches(const char *list, const char *etag)
{
	const char *start, *end;

	for (const char *s = list; *s != '\0'; s = end) {
		end = r2_etag_item(s, &start);
		if (end == start)
			break;
		if (r2_etag_item_matches(start, end, etag))
			return true;
	}
	return false;
}

bool
r2_etag_is(const char *given, const char *etag)
{
	size_t n = strlen(given);

	return !(n == 1 && *given == '*') && r2_etag_item_matches(given, given + n, etag);
}

static int64_t
r2_cond_round(const struct r2_cond *cond, int64_t ms)
{
	if (!cond->seconds)
		return ms;
	return ms >= 0 ? ms / 1000 * 1000 : (ms - 999) / 1000 * 1000;
}

/*
 * HTTP's order (RFC 9110 13.2.2): an etag condition, when given, decides
 * and the date condition of its pair is not looked at.  With no object,
 * etagMatches fails and the others hold.
 */
bool
r2_cond_passes(const struct r2_cond *cond, const struct r2_object *o)
{
	int64_t uploaded;

	if (o == NULL)
		return cond->etag_matches == NULL;
	uploaded = r2_cond_round(cond, o->uploaded);
	if (cond->etag_matches != NULL) {
		if (!r2_etag_list_matches(cond->etag_matches, o->etag))
			return false;
	} else if (cond->has_before && !(uploaded < r2_cond_round(cond, cond->before)))
		return false;
	if (cond->etag_does_not_match != NULL) {
		if (r2_etag_list_matches(cond->etag_does_not_match, o->etag))
			return false;
	} else if (cond->has_after && !(uploaded > r2_cond_round(cond, cond->after)))
		return false;
	return true;
}

static int
r2_range_member(json_t *range, const char *name, bool *has, uint64_t *out)
{
	json_t *v = json_object_get(range, name);

	*has = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!r2_json_uint(v, out))
		return -1;
	*has = true;
	return 0;
}

int
r2_range_parse(json_t *args, struct r2_range *range, const char *method, struct store_result *r)
{
	json_t *v = json_object_get(args, "range");

	memset(range, 0, sizeof(*range));
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v) ||
	    r2_range_member(v, "offset", &range->has_offset, &range->offset) == -1 ||
	    r2_range_member(v, "length", &range->has_length, &range->length) == -1 ||
	    r2_range_member(v, "suffix", &range->has_suffix, &range->suffix) == -1 ||
	    (range->has_suffix && (range->has_offset || range->has_length)) ||
	    (!range->has_suffix && !range->has_offset && !range->has_length)) {
		r2_invalid(r, method, "The range is not valid.");
		return -1;
	}
	range->present = true;
	return 0;
}

/* Lengths past the end are cut short, as HTTP does; an empty result is not satisfiable. */
int
r2_range_resolve(const struct r2_range *range, uint64_t size, uint64_t *offset, uint64_t *length,
    const char *method, struct store_result *r)
{
	*offset = 0;
	*length = size;
	if (!range->present)
		return 0;
	if (range->has_suffix) {
		*length = range->suffix < size ? range->suffix : size;
		*offset = size - *length;
	} else {
		*offset = range->has_offset ? range->offset : 0;
		if (*offset >= size) {
			*length = 0;
		} else {
			*length = size - *offset;
			if (range->has_length && range->length < *length)
				*length = range->length;
		}
	}
	if (*length == 0) {
		r2_fail(r, STORE_E_FAILED, R2_CODE_INVALID_RANGE, method,
		    "The requested range is not satisfiable");
		return -1;
	}
	return 0;
}
