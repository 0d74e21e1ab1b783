/*
 * native: the C functions the sdk-js runtime reaches through its `native`
 * argument (never through a global).  Each is a thin adapter from Duktape
 * values to sandbox/serve.h.  Runs in sandboxes.
 */
#include <stdio.h>
#include <string.h>

#include "sandbox/host.h"
#include "sandbox/serve.h"
#ifdef EDGED_TEST_HOOKS
#include "sandbox/test_hooks.h" /* edged-hooked only: the catalog's attacker */
#endif

/* More header items than the IPC table allows are refused before allocating. */
#define NATIVE_MAX_HEADER_ITEMS 512

/* The serve state, or NULL while the runtime is being built (natives are then no-ops). */
static struct serve *
native_serve(duk_context *ctx)
{
	return host_of(ctx)->serve;
}

/* Bytes of a buffer or string value at `idx`; NULL for anything else. */
static const char *
native_bytes(duk_context *ctx, duk_idx_t idx, size_t *len)
{
	duk_size_t n = 0;
	const char *p;

	if (duk_is_buffer_data(ctx, idx)) {
		p = duk_get_buffer_data(ctx, idx, &n);
		*len = n;
		return p != NULL ? p : "";
	}
	if (duk_is_string(ctx, idx)) {
		p = duk_get_lstring(ctx, idx, &n);
		*len = n;
		return p;
	}
	return NULL;
}

/* hidden(name): a hidden Symbol, a property key tenant code can neither create nor list. */
static duk_ret_t
native_hidden(duk_context *ctx)
{
	const char *name = duk_require_string(ctx, 0);
	char key[64];
	int n;

	/* Built in C: Duktape refuses to concatenate a symbol as a string. */
	n = snprintf(key, sizeof(key), "%cedged.%s", 0xff, name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return duk_error(ctx, DUK_ERR_RANGE_ERROR, "hidden symbol name too long");
	duk_push_lstring(ctx, key, (duk_size_t)n);
	return 1;
}

/* log(level, bytes) */
static duk_ret_t
native_log(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	unsigned level = duk_require_uint(ctx, 0);
	const char *msg;
	size_t len;

	if (s == NULL || level > 3 || (msg = native_bytes(ctx, 1, &len)) == NULL)
		return 0;
	serve_log(s, level, msg, len);
	return 0;
}

/* timerSet(id, delayMs) */
static duk_ret_t
native_timer_set(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t id = duk_require_uint(ctx, 0);
	double ms = duk_require_number(ctx, 1);

	if (s == NULL)
		return 0;
	if (serve_timer_set(s, id, ms > 0 && ms < 2147483648.0 ? (uint64_t)ms : 0) == -1)
		return duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory for timers");
	return 0;
}

/* timerClear(id) */
static duk_ret_t
native_timer_clear(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t id = duk_require_uint(ctx, 0);

	if (s != NULL)
		serve_timer_clear(s, id);
	return 0;
}

/*
 * respond(handle, status, [name, value, ...], body or null or true); items are
 * strings or bytes.  `true`: the body follows through respondChunk.
 */
static duk_ret_t
native_respond(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t handle = duk_require_uint(ctx, 0);
	unsigned status = duk_require_uint(ctx, 1);
	duk_size_t count;
	struct ipc_bytes *list;
	const char *body = NULL;
	size_t body_len = 0;
	bool streaming = duk_is_boolean(ctx, 3) && duk_get_boolean(ctx, 3);

	duk_require_object(ctx, 2);
	count = duk_get_length(ctx, 2);
	if (count > NATIVE_MAX_HEADER_ITEMS + 1)
		count = NATIVE_MAX_HEADER_ITEMS + 1; /* serve_respond rejects it */
	/* On the value stack, not malloc: the reads below may throw. */
	list = duk_push_fixed_buffer(ctx, count * sizeof(*list) + 1);
	for (duk_size_t i = 0; i < count; i++) {
		duk_get_prop_index(ctx, 2, (duk_uarridx_t)i);
		/* The array keeps the value alive; its bytes stay put until we return. */
		if ((list[i].ptr = native_bytes(ctx, -1, &list[i].len)) == NULL)
			return duk_error(ctx, DUK_ERR_TYPE_ERROR, "header items must be strings");
		duk_pop(ctx);
	}
	if (!streaming && !duk_is_null_or_undefined(ctx, 3) &&
	    (body = native_bytes(ctx, 3, &body_len)) == NULL)
		return duk_error(ctx, DUK_ERR_TYPE_ERROR, "the body must be bytes");
	if (s != NULL)
		serve_respond(s, handle, status, list, count, body, body_len, streaming);
	return 0;
}

/* respondChunk(handle, bytes or null, last): the next piece of a streaming body. */
static duk_ret_t
native_respond_chunk(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t handle = duk_require_uint(ctx, 0);
	bool last = duk_to_boolean(ctx, 2);
	const char *chunk = NULL;
	size_t len = 0;

	if (!duk_is_null_or_undefined(ctx, 1) && (chunk = native_bytes(ctx, 1, &len)) == NULL)
		return duk_error(ctx, DUK_ERR_TYPE_ERROR, "a body chunk must be bytes");
	if (s != NULL)
		serve_respond_chunk(s, handle, chunk, len, last);
	return 0;
}

/* reqCredit(handle, bytes): the script took `bytes` of the request body. */
static duk_ret_t
native_req_credit(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t handle = duk_require_uint(ctx, 0);
	double bytes = duk_require_number(ctx, 1);

	if (s != NULL && bytes >= 1 && bytes <= 9007199254740991.0)
		serve_credit_request_body(s, handle, (uint64_t)bytes);
	return 0;
}

/* fail(handle, code) */
static duk_ret_t
native_fail(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t handle = duk_require_uint(ctx, 0);
	unsigned code = duk_require_uint(ctx, 1);

	if (s != NULL)
		serve_fail(s, handle, code);
	return 0;
}

/* done(handle) -> ids of the request's timers, now disarmed */
static duk_ret_t
native_done(duk_context *ctx)
{
	struct serve *s = native_serve(ctx);
	uint32_t handle = duk_require_uint(ctx, 0);
	uint32_t ids[64];
	duk_uarridx_t at = 0;
	size_t n;

	duk_push_array(ctx);
	if (s == NULL)
		return 1;
	serve_end(s, handle);
	do {
		n = serve_take_timers(s, handle, ids, sizeof(ids) / sizeof(ids[0]));
		for (size_t i = 0; i < n; i++) {
			duk_push_uint(ctx, ids[i]);
			duk_put_prop_index(ctx, -2, at++);
		}
	} while (n == sizeof(ids) / sizeof(ids[0]));
	return 1;
}

static const duk_function_list_entry native_functions[] = {
	{ "hidden", native_hidden, 1 },
	{ "log", native_log, 2 },
	{ "timerSet", native_timer_set, 2 },
	{ "timerClear", native_timer_clear, 1 },
	{ "respond", native_respond, 4 },
	{ "respondChunk", native_respond_chunk, 3 },
	{ "reqCredit", native_req_credit, 2 },
	{ "fail", native_fail, 2 },
	{ "done", native_done, 1 },
	{ NULL, NULL, 0 },
};

void
native_register(duk_context *ctx)
{
	duk_put_function_list(ctx, -1, native_functions);
	native_crypto_register(ctx);
	native_url_register(ctx);
	native_calls_register(ctx);
#ifdef EDGED_TEST_HOOKS
	test_hooks_register(ctx);
#endif
}
