/*
 * native_calls: the natives behind rt.call (sdk-js/runtime/44-calls.js), thin
 * adapters from Duktape values to sandbox/calls.h that check every type and
 * size before anything reaches the IPC encoder.  Runs in sandboxes.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/calls.h"
#include "sandbox/host.h"
#include "sandbox/serve.h"

#define NATIVE_BINDING_MAX 64 /* the CALL binding cap of the IPC table */
#define NATIVE_METHOD_MAX 32  /* the CALL method cap of the IPC table */

/* callStart results that are not ids (44-calls.js knows them). */
#define NATIVE_CALL_GONE 0
#define NATIVE_CALL_BUSY (-1)

/* The call table, or NULL while the runtime is being built (there are no requests then). */
static struct calls *
native_calls(duk_context *ctx)
{
	struct serve *s = host_of(ctx)->serve;

	return s != NULL ? serve_calls(s) : NULL;
}

/* Bytes of a string or buffer value at `idx`, at most `max`; throws TypeError/RangeError. */
static const char *
native_call_bytes(duk_context *ctx, duk_idx_t idx, size_t max, const char *what, size_t *len)
{
	duk_size_t n = 0;
	const char *p;

	if (duk_is_string(ctx, idx)) {
		p = duk_get_lstring(ctx, idx, &n);
	} else if (duk_is_buffer_data(ctx, idx)) {
		p = duk_get_buffer_data(ctx, idx, &n);
	} else {
		duk_error(ctx, DUK_ERR_TYPE_ERROR, "%s must be a string or bytes", what);
		return NULL;
	}
	if (n > max) {
		duk_error(ctx, DUK_ERR_RANGE_ERROR, "%s is over %zu bytes", what, max);
		return NULL;
	}
	*len = n;
	return p != NULL ? p : "";
}

/* An id or count argument: a whole number in [1, max]; throws RangeError. */
static uint32_t
native_call_uint(duk_context *ctx, duk_idx_t idx, uint32_t max, const char *what)
{
	double v = duk_require_number(ctx, idx);

	if (!(v >= 1 && v <= max) || v != (double)(uint32_t)v) {
		duk_error(ctx, DUK_ERR_RANGE_ERROR, "bad %s", what);
		return 0;
	}
	return (uint32_t)v;
}

/*
 * callAdmit() -> the handle of the running request, counted as making one
 * more call; 0 outside any request (global scope, or after it ended); -1 when
 * the request has made CALLS_PER_REQUEST_MAX calls.
 */
static duk_ret_t
native_call_admit(duk_context *ctx)
{
	struct serve *s = host_of(ctx)->serve;
	uint32_t handle = s != NULL ? serve_current(s) : 0;

	if (handle == 0) {
		duk_push_uint(ctx, 0);
		return 1;
	}
	if (calls_admit(serve_calls(s), handle) == -1) {
		if (errno == ENOMEM)
			return duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory for calls");
		duk_push_int(ctx, -1);
		return 1;
	}
	duk_push_uint(ctx, handle);
	return 1;
}

/*
 * callStart(owner, binding, method, args, chunk or null, more) -> id > 0; 0
 * when request `owner` has ended (nothing was sent); -1 while
 * CALLS_IN_FLIGHT_MAX calls are in flight.  binding, method and args (JSON
 * text) are UTF-8 bytes or strings; chunk is bytes.  Throws TypeError or
 * RangeError for anything that does not fit the CALL message.
 */
static duk_ret_t
native_call_start(duk_context *ctx)
{
	struct calls *c = native_calls(ctx);
	uint32_t owner = native_call_uint(ctx, 0, UINT32_MAX, "request");
	struct ipc_bytes binding, method, args;
	const char *chunk = NULL;
	size_t chunk_len = 0;
	bool more = duk_require_boolean(ctx, 5);
	uint32_t id = 0;

	binding.ptr = native_call_bytes(ctx, 1, NATIVE_BINDING_MAX, "binding", &binding.len);
	method.ptr = native_call_bytes(ctx, 2, NATIVE_METHOD_MAX, "method", &method.len);
	args.ptr = native_call_bytes(ctx, 3, IPC_CALL_ARGS_MAX, "args", &args.len);
	if (!duk_is_null_or_undefined(ctx, 4))
		chunk = native_call_bytes(ctx, 4, IPC_BODY_CHUNK_MAX, "chunk", &chunk_len);
	if (c == NULL) {
		duk_push_uint(ctx, NATIVE_CALL_GONE);
		return 1;
	}
	switch (calls_start(c, owner, &binding, &method, &args, chunk, chunk_len, more, &id)) {
	case CALLS_STARTED:
		duk_push_uint(ctx, id);
		return 1;
	case CALLS_GONE:
		duk_push_uint(ctx, NATIVE_CALL_GONE);
		return 1;
	case CALLS_BUSY:
		duk_push_int(ctx, NATIVE_CALL_BUSY);
		return 1;
	default:
		return duk_error(
		    ctx, DUK_ERR_TYPE_ERROR, "the call's names or arguments are not UTF-8");
	}
}

/*
 * callBody(id, chunk, last) -> true when sent; false when the call takes no
 * more input.  Throws when the broker has not asked for a piece.
 */
static duk_ret_t
native_call_body(duk_context *ctx)
{
	struct calls *c = native_calls(ctx);
	uint32_t id = native_call_uint(ctx, 0, UINT32_MAX, "call id");
	size_t len = 0;
	const char *chunk = NULL;
	bool last = duk_require_boolean(ctx, 2);
	int rc;

	if (!duk_is_null_or_undefined(ctx, 1))
		chunk = native_call_bytes(ctx, 1, IPC_BODY_CHUNK_MAX, "chunk", &len);
	rc = c != NULL ? calls_body(c, id, chunk, len, last) : 0;
	if (rc == -1)
		return duk_error(ctx, DUK_ERR_ERROR, "an input piece the broker did not ask for");
	duk_push_boolean(ctx, rc == 1);
	return 1;
}

/* callPull(id, n): asks for n (1..IPC_PULL_MAX) more output pieces. */
static duk_ret_t
native_call_pull(duk_context *ctx)
{
	struct calls *c = native_calls(ctx);
	uint32_t id = native_call_uint(ctx, 0, UINT32_MAX, "call id");
	uint32_t n = native_call_uint(ctx, 1, IPC_PULL_MAX, "pull count");

	if (c != NULL)
		calls_pull(c, id, n);
	return 0;
}

/* callCancel(id): the outcome is no longer wanted. */
static duk_ret_t
native_call_cancel(duk_context *ctx)
{
	struct calls *c = native_calls(ctx);
	uint32_t id = native_call_uint(ctx, 0, UINT32_MAX, "call id");

	if (c != NULL)
		calls_cancel(c, id);
	return 0;
}

static const duk_function_list_entry native_calls_functions[] = {
	{ "callAdmit", native_call_admit, 0 },
	{ "callStart", native_call_start, 6 },
	{ "callBody", native_call_body, 3 },
	{ "callPull", native_call_pull, 2 },
	{ "callCancel", native_call_cancel, 1 },
	{ NULL, NULL, 0 },
};

void
native_calls_register(duk_context *ctx)
{
	duk_put_function_list(ctx, -1, native_calls_functions);
}
