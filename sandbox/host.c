/*
 * host: creates a sandbox's Duktape heap with the capped allocator, loads
 * the embedded sdk-js runtime and removes engine internals tenant code must
 * not reach.  Runs in the launcher (set-up) and sandboxes.
 */
#include "sandbox/host.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sandbox/crypto.h"
#include "sandbox/runtime_parts.h"

/* Stash keys: the runtime's shared object (the `rt` of every part). */
#define HOST_STASH_RT "rt"

/* Globals of the engine that tenant code must not reach. */
static const char *const host_removed_globals[] = {
	"Duktape", /* gc, act, fin, errCreate/errThrow hooks, compact, info */
};

struct sandbox_runtime *
host_of(duk_context *ctx)
{
	duk_memory_functions funcs;

	duk_get_memory_functions(ctx, &funcs);
	return funcs.udata;
}

void
host_push_method(duk_context *ctx, const char *name)
{
	duk_push_global_stash(ctx);
	duk_get_prop_string(ctx, -1, HOST_STASH_RT);
	duk_remove(ctx, -2);
	duk_get_prop_string(ctx, -1, name);
	duk_swap_top(ctx, -2);
}

/* Safe-call body: loads every part with (native, rt), then removes the internals. */
static duk_ret_t
host_load_parts(duk_context *ctx, void *udata)
{
	(void)udata;
	duk_push_global_stash(ctx);
	duk_push_object(ctx);
	duk_put_prop_string(ctx, -2, HOST_STASH_RT);
	duk_pop(ctx);
	duk_push_object(ctx);
	native_register(ctx);
	for (size_t i = 0; i < sandbox_runtime_part_count; i++) {
		const struct sandbox_runtime_part *p = &sandbox_runtime_parts[i];
		void *code = duk_push_fixed_buffer(ctx, p->len);

		memcpy(code, p->code, p->len);
		duk_load_function(ctx);
		duk_dup(ctx, -2);
		duk_push_global_stash(ctx);
		duk_get_prop_string(ctx, -1, HOST_STASH_RT);
		duk_remove(ctx, -2);
		duk_call(ctx, 2);
		duk_pop(ctx);
	}
	duk_pop(ctx);
	duk_push_global_object(ctx);
	for (size_t i = 0; i < sizeof(host_removed_globals) / sizeof(host_removed_globals[0]); i++)
		duk_del_prop_string(ctx, -1, host_removed_globals[i]);
	duk_pop(ctx);
	return 0;
}

void
host_log_error(duk_context *ctx, const char *what)
{
	const char *stack = NULL;

	if (duk_is_error(ctx, -1)) {
		duk_get_prop_string(ctx, -1, "stack");
		stack = duk_get_string(ctx, -1);
		duk_pop(ctx);
	}
	log_warnx("%s: %s", what, stack != NULL ? stack : duk_safe_to_string(ctx, -1));
}

struct sandbox_runtime *
sandbox_runtime_new(const struct sandbox_limits *limits)
{
	struct sandbox_runtime *rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		log_warn("cannot allocate the sandbox runtime");
		return NULL;
	}
	(void)crypto_init(); /* before fork and lock-down; failure is logged, crypto then fails */
	alloc_init(&rt->alloc, limits != NULL ? limits->memory_bytes : 0);
	rt->ctx = duk_create_heap(alloc_malloc, alloc_realloc, alloc_free, rt, edged_duk_fatal);
	if (rt->ctx == NULL) {
		log_warnx("cannot create the duktape heap");
		free(rt);
		return NULL;
	}
	if (duk_safe_call(rt->ctx, host_load_parts, NULL, 0, 1) != DUK_EXEC_SUCCESS) {
		host_log_error(rt->ctx, "cannot load the sdk-js runtime");
		sandbox_runtime_free(rt);
		return NULL;
	}
	duk_pop(rt->ctx);
	/* The runtime's own garbage is not the tenant's to pay for. */
	duk_gc(rt->ctx, 0);
	alloc_collected(&rt->alloc);
	return rt;
}

void
sandbox_runtime_free(struct sandbox_runtime *rt)
{
	if (rt == NULL)
		return;
	duk_destroy_heap(rt->ctx);
	free(rt);
}
