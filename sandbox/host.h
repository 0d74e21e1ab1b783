/*
 * host: the Duktape heap of a sandbox with the sdk-js runtime loaded, and
 * the helpers the rest of sandbox/ uses to call into it.  Built in the
 * launcher before fork; used in sandboxes.
 */
#ifndef EDGED_HOST_H
#define EDGED_HOST_H

#include "duktape.h"
#include "sandbox/alloc.h"
#include "sandbox/budget.h"
#include "sandbox/sandbox.h"

struct serve;

/* The heap's udata: the allocator and the CPU budget find their state here. */
struct sandbox_runtime {
	duk_context *ctx;
	struct alloc alloc;
	struct budget budget;
	struct serve *serve; /* set while sandbox_serve runs; the natives' target */
};

/* The runtime of the heap `ctx` belongs to (its allocator udata). */
struct sandbox_runtime *host_of(duk_context *ctx);

/*
 * Pushes rt.<name> and rt (the runtime's shared object) so that the caller
 * can push arguments and duk_call_method().  May throw: call it only inside
 * a protected call (duk_safe_call).
 */
void host_push_method(duk_context *ctx, const char *name);

/* Logs the error value at the top of the stack (its stack trace when it has one). */
void host_log_error(duk_context *ctx, const char *what);

/*
 * Registers the host's C functions on the object at the top of the stack
 * (sandbox/native.c).  May throw.
 */
void native_register(duk_context *ctx);
void native_crypto_register(duk_context *ctx); /* sandbox/native_crypto.c */
void native_url_register(duk_context *ctx);    /* sandbox/native_url.c */
void native_calls_register(duk_context *ctx);  /* sandbox/native_calls.c */

#endif
