/*
 * pool_validate: running uploads in throwaway sandboxes: queueing them for a
 * blank, loading them, and reporting the outcome to the admin API.  Runs in
 * the supervisor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/core.h"
#include "supervisor/pool_internal.h"

void
pool_validation_finish(
    struct validation *val, bool ok, unsigned line, unsigned column, const char *message)
{
	struct admin_validation result = {
		.ok = ok,
		.line = line,
		.column = column,
		.message = message,
	};

	val->done(val->ctx, &result);
	free(val->script);
	free(val->bindings);
	free(val);
}

void
pool_assign_validation(struct pool *p, struct sandbox *sbx, struct validation *val)
{
	sbx->validation = val;
	val->sbx = sbx;
	/* A throwaway sandbox never reaches the broker. */
	close(sbx->broker_fd);
	sbx->broker_fd = -1;
	if (pool_send_load(
		p, sbx, val->tenant, val->worker, 0, val->format, val->script, val->bindings) == -1)
		pool_kill(sbx, "crash");
}

void
pool_validate(struct pool *p, const struct admin_script *s, admin_validate_done done, void *ctx)
{
	struct admin_validation busy = {
		.ok = false, .line = 0, .message = "too many uploads in progress, try again"
	};
	struct validation *val;

	if (p->nvalidations >= POOL_VALIDATIONS_MAX || (val = calloc(1, sizeof(*val))) == NULL) {
		done(ctx, &busy);
		return;
	}
	val->done = done;
	val->ctx = ctx;
	snprintf(val->tenant, sizeof(val->tenant), "%s", s->tenant);
	snprintf(val->worker, sizeof(val->worker), "%s", s->worker);
	val->format = s->format;
	val->script = strndup(s->script, s->script_len);
	val->bindings = strdup(s->bindings != NULL ? s->bindings : "[]");
	if (val->script == NULL || val->bindings == NULL) {
		free(val->script);
		free(val->bindings);
		free(val);
		done(ctx, &busy);
		return;
	}
	TAILQ_INSERT_TAIL(&p->validations, val, entry);
	p->nvalidations++;
	pool_use_blanks(p);
	pool_refill(p);
}
