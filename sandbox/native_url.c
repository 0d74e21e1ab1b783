/*
 * native_url: the natives behind sdk-js's URL class (sandbox/url.c) and
 * atob/btoa (sandbox/base64.c).  Registered with the other natives in the
 * launcher; called in sandboxes.
 */
#include <string.h>

#include "common/log.h"
#include "sandbox/base64.h"
#include "sandbox/host.h"
#include "sandbox/url.h"

/* The URL getters, in the order of the arrays urlParse and urlSet return. */
static const enum url_part native_url_parts[] = {
	URL_PROTOCOL,
	URL_USERNAME,
	URL_PASSWORD,
	URL_HOST,
	URL_HOSTNAME,
	URL_PORT,
	URL_PATHNAME,
	URL_SEARCH,
	URL_HASH,
};

/* What the push step reads; everything malloc'd lives here, freed by the caller. */
struct native_url_result {
	struct url url;
	struct url base;
	struct url_buf text;
};

static void
native_url_result_init(struct native_url_result *r)
{
	url_init_record(&r->url);
	url_init_record(&r->base);
	memset(&r->text, 0, sizeof(r->text));
}

static void
native_url_result_release(struct native_url_result *r)
{
	url_release(&r->url);
	url_release(&r->base);
	url_buf_release(&r->text);
}

/* Safe-call body: pushes [href, origin, protocol, ..., hash] for r->url. */
static duk_ret_t
native_url_push(duk_context *ctx, void *udata)
{
	struct native_url_result *r = udata;
	duk_uarridx_t at = 0;

	duk_push_array(ctx);
	r->text.len = 0;
	if (url_href(&r->url, &r->text) == -1)
		return duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory for a URL");
	duk_push_lstring(ctx, r->text.p != NULL ? r->text.p : "", r->text.len);
	duk_put_prop_index(ctx, -2, at++);
	r->text.len = 0;
	if (url_origin(&r->url, &r->text) == -1)
		return duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory for a URL");
	duk_push_lstring(ctx, r->text.p != NULL ? r->text.p : "", r->text.len);
	duk_put_prop_index(ctx, -2, at++);
	for (size_t i = 0; i < sizeof(native_url_parts) / sizeof(native_url_parts[0]); i++) {
		r->text.len = 0;
		if (url_get(&r->url, native_url_parts[i], &r->text) == -1)
			return duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory for a URL");
		duk_push_lstring(ctx, r->text.p != NULL ? r->text.p : "", r->text.len);
		duk_put_prop_index(ctx, -2, at++);
	}
	return 1;
}

/* Pushes the result array through a protected call, frees `r`, and rethrows any error. */
static duk_ret_t
native_url_finish(duk_context *ctx, struct native_url_result *r)
{
	duk_int_t rc = duk_safe_call(ctx, native_url_push, r, 0, 1);

	native_url_result_release(r);
	if (rc != DUK_EXEC_SUCCESS)
		return duk_throw(ctx);
	return 1;
}

/* urlParse(input, base or undefined) -> [href, origin, protocol, ...] or null (failure). */
static duk_ret_t
native_url_parse(duk_context *ctx)
{
	struct native_url_result r;
	const char *input, *base = NULL;
	duk_size_t len, base_len = 0;

	input = duk_require_lstring(ctx, 0, &len);
	if (!duk_is_null_or_undefined(ctx, 1))
		base = duk_require_lstring(ctx, 1, &base_len);
	/* No Duktape call from here to native_url_finish: nothing may throw past `r`. */
	native_url_result_init(&r);
	if ((base != NULL && url_parse(&r.base, base, base_len, NULL) == -1) ||
	    url_parse(&r.url, input, len, base != NULL ? &r.base : NULL) == -1) {
		native_url_result_release(&r);
		duk_push_null(ctx);
		return 1;
	}
	return native_url_finish(ctx, &r);
}

/* urlSet(href, part 0..8 as in native_url_parts, value) -> the new array, or null. */
static duk_ret_t
native_url_set(duk_context *ctx)
{
	struct native_url_result r;
	const char *href, *value;
	duk_size_t len, value_len;
	duk_uint_t part;

	href = duk_require_lstring(ctx, 0, &len);
	part = duk_require_uint(ctx, 1);
	value = duk_require_lstring(ctx, 2, &value_len);
	if (part >= sizeof(native_url_parts) / sizeof(native_url_parts[0]))
		return duk_error(ctx, DUK_ERR_RANGE_ERROR, "no such URL part");
	native_url_result_init(&r);
	if (url_parse(&r.url, href, len, NULL) == -1 ||
	    url_set(&r.url, native_url_parts[part], value, value_len) == -1) {
		native_url_result_release(&r);
		duk_push_null(ctx);
		return 1;
	}
	return native_url_finish(ctx, &r);
}

/* atob(string) -> the decoded bytes as a string of code points 0..255, or null when invalid. */
static duk_ret_t
native_atob(duk_context *ctx)
{
	const char *in;
	duk_size_t n;
	unsigned char *bytes;
	char *text;
	size_t len, at = 0;

	in = duk_require_lstring(ctx, 0, &n);
	bytes = duk_push_fixed_buffer(ctx, n / 4 * 3 + 3);
	if (base64_decode_forgiving(in, n, bytes, &len) == -1) {
		duk_push_null(ctx);
		return 1;
	}
	/* Duktape keeps strings as (extended) UTF-8: 0x80..0xff take two bytes. */
	text = duk_push_fixed_buffer(ctx, len * 2 + 1);
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] < 0x80)
			text[at++] = (char)bytes[i];
		else {
			text[at++] = (char)(0xc0 | bytes[i] >> 6);
			text[at++] = (char)(0x80 | (bytes[i] & 0x3f));
		}
	}
	duk_push_lstring(ctx, text, at);
	return 1;
}

/* btoa(string) -> the base64 of its code units, or null when one is above 0xff. */
static duk_ret_t
native_btoa(duk_context *ctx)
{
	const unsigned char *in;
	duk_size_t n;
	unsigned char *bytes;
	char *out;
	size_t len = 0, out_len;

	in = (const unsigned char *)duk_require_lstring(ctx, 0, &n);
	bytes = duk_push_fixed_buffer(ctx, n + 1);
	for (size_t i = 0; i < n; i++) {
		if (in[i] < 0x80)
			bytes[len++] = in[i];
		else if ((in[i] == 0xc2 || in[i] == 0xc3) && i + 1 < n &&
		    (in[i + 1] & 0xc0) == 0x80) {
			bytes[len++] = (unsigned char)((in[i] & 0x03) << 6 | (in[i + 1] & 0x3f));
			i++;
		} else {
			duk_push_null(ctx);
			return 1;
		}
	}
	if ((out_len = base64_encoded_len(len)) == 0 && len > 0)
		return duk_error(ctx, DUK_ERR_RANGE_ERROR, "string too long for btoa");
	out = duk_push_fixed_buffer(ctx, out_len + 1);
	base64_encode(bytes, len, out);
	duk_push_lstring(ctx, out, out_len);
	return 1;
}

static const duk_function_list_entry native_url_functions[] = {
	{ "urlParse", native_url_parse, 2 },
	{ "urlSet", native_url_set, 3 },
	{ "atob", native_atob, 1 },
	{ "btoa", native_btoa, 1 },
	{ NULL, NULL, 0 },
};

void
native_url_register(duk_context *ctx)
{
	/* ICU's IDNA data must be in memory before the sandbox is locked down. */
	if (url_init() == -1)
		log_warnx("cannot load the IDNA data: non-ASCII hostnames will not parse");
	duk_put_function_list(ctx, -1, native_url_functions);
}
