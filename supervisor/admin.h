/*
 * admin: the admin API on its own listener, in Cloudflare API v4 shapes
 * (tenant = account): tenants, worker scripts and versions, routes, health,
 * and the tenants' storage (KV namespaces, D1 databases, R2 buckets and
 * their data).  Runs in the supervisor; writes through meta, and asks the
 * supervisor core (through hooks) to validate uploads, to pick up changes
 * and to carry storage calls to the broker.
 */
#ifndef EDGED_ADMIN_H
#define EDGED_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor/broker_link.h"

struct admin;
struct meta;
struct http_server_callbacks;

/* The outcome of compiling a script and running its global scope. */
struct admin_validation {
	bool ok;
	unsigned line;       /* 0 when unknown */
	unsigned column;     /* 0 when unknown */
	const char *message; /* borrowed for the call; "" when ok */
};

/* A script to validate; every pointer is borrowed for the duration of the call. */
struct admin_script {
	const char *tenant;
	const char *worker;
	int format; /* enum ipc_script_format */
	const char *script;
	size_t script_len;
	const char *bindings; /* JSON array */
};

typedef void (*admin_validate_done)(void *ctx, const struct admin_validation *result);

struct admin_hooks {
	/*
	 * Compiles and runs the global scope of `s` in a throwaway sandbox under
	 * the startup CPU limit, then calls done(ctx, result) exactly once, maybe
	 * before returning.  `s` need not outlive the call.
	 */
	void (*validate)(
	    void *core, const struct admin_script *s, admin_validate_done done, void *ctx);
	/* Versions or routes changed in meta: the core refreshes its registry. */
	void (*changed)(void *core);
	/* Text for GET /status (JSON object), appended by the core; may be NULL. */
	char *(*status_json)(void *core); /* malloc'd; admin frees */
	/*
	 * A storage call to the broker, with broker_call()'s contract
	 * (broker_link.h): NULL when it cannot be made, else done runs once,
	 * later, unless call_cancel(core, call) came first.  Without these
	 * hooks every storage call answers 503.
	 */
	struct broker_call *(*call)(
	    void *core, const struct broker_call_args *a, broker_call_done done, void *ctx);
	void (*call_cancel)(void *core, struct broker_call *call);
};

struct admin_limits {
	size_t script_max_bytes; /* uploads above: 400 */
	size_t body_max_bytes;   /* whole admin request body above: 413 */
};

/*
 * Creates the admin API.  `meta` is borrowed and must outlive it; `token` is
 * copied (an empty token refuses every authenticated call).
 */
struct admin *admin_new(struct meta *meta, const char *token, const struct admin_limits *limits,
    const struct admin_hooks *hooks, void *core);
void admin_free(struct admin *a);
/* Replaces the operator token (SIGHUP). */
void admin_set_token(struct admin *a, const char *token);

/* The callbacks to pass, with the admin as arg, to http_server_new. */
const struct http_server_callbacks *admin_http_callbacks(void);

#endif
