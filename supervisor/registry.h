/*
 * registry: the supervisor's in-memory view of what is deployed: the active
 * version of every worker, and the route table that leads a request to one.
 * Rebuilt from meta after every admin change; versions are reference-counted
 * so that requests and sandboxes on an old version finish on it.  Runs in the
 * supervisor.
 */
#ifndef EDGED_REGISTRY_H
#define EDGED_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/config.h"
#include "supervisor/meta.h"

struct sandbox;
struct exchange;
struct pool_tenant;

/* One immutable script version, shared by its sandboxes and requests. */
struct version {
	unsigned refs;
	uint64_t id;
	char tenant[META_NAME_MAX + 1];
	char worker[META_NAME_MAX + 1];
	int format; /* enum ipc_script_format */
	char *script;
	size_t script_len;
	char *bindings;            /* JSON array */
	bool retired;              /* no longer active: its sandboxes drain and go */
	struct meta_limits limits; /* its tenant's own limits, refreshed on every reload */

	/* Pool state, managed by pool.c. */
	TAILQ_HEAD(, sandbox) sandboxes; /* loading and ready, of this version */
	unsigned nsandboxes;
	TAILQ_HEAD(, exchange) waiting; /* requests waiting for a sandbox */
	unsigned nwaiting;
	TAILQ_ENTRY(version) want_entry; /* in pool's list of versions wanting a blank */
	bool wants_blank;
	struct pool_tenant *pool_tenant; /* the pool's per-tenant counters (pool.c) */
};

/* The limits in force for a version: its tenant's where set, else the configured ones. */
unsigned version_cpu_ms(const struct version *v, const struct config *c);
unsigned version_wall_ms(const struct version *v, const struct config *c);
unsigned version_max_sandboxes(const struct version *v, const struct config *c);
unsigned version_queue_max(const struct version *v, const struct config *c);

void version_ref(struct version *v);
/* Drops a reference; the last one frees the version.  NULL is ignored. */
void version_unref(struct version *v);

struct registry;

/* Called for each version that stops being active when the registry reloads. */
typedef void (*registry_retire_cb)(struct version *v, void *arg);

struct registry *registry_new(registry_retire_cb retire, void *arg);
void registry_free(struct registry *r);

/*
 * Rebuilds the route table and active versions from meta.  Versions whose id
 * is unchanged keep their object (and their warm sandboxes); every active
 * version's tenant limits are read again.  On failure the previous view stays
 * in place and -1 is returned.
 */
int registry_reload(struct registry *r, struct meta *m);

/*
 * The active version serving host + path (host lower-cased, no port), or NULL
 * when no route matches or the route has no script.  Borrowed: take a
 * reference to keep it past the current event.
 */
struct version *registry_match(struct registry *r, const char *host, const char *path);

/* Counts for /status. */
size_t registry_version_count(const struct registry *r);
size_t registry_route_count(const struct registry *r);

#endif
