/*
 * meta: the durable record of tenants, workers (scripts), their immutable
 * versions and routes, in <data_dir>/meta.sqlite (WAL, synchronous=FULL).
 * Runs in the supervisor; the admin API writes it, the registry reads it.
 */
#ifndef EDGED_META_H
#define EDGED_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meta;

#define META_NAME_MAX 64     /* tenant and worker names: [A-Za-z0-9_-], 1..64 */
#define META_ROUTE_ID_LEN 32 /* hex */
#define META_TOKEN_ID_LEN 16 /* hex */
#define META_TOKEN_LEN 64    /* hex: 32 random bytes */

/* Opens (creating the schema if needed); NULL with a logged reason. */
struct meta *meta_open(const char *path);
void meta_close(struct meta *m);

/* True when `name` is a valid tenant or worker name. */
bool meta_name_is_valid(const char *name);

/* Creates the tenant, or touches it if present: 1 created, 0 existed, -1 error. */
int meta_tenant_put(struct meta *m, const char *tenant);
bool meta_tenant_exists(struct meta *m, const char *tenant);

/*
 * A tenant's own limits; 0 in a field means "not set": the configured
 * (edged.conf) value applies.
 */
struct meta_limits {
	unsigned cpu_ms;          /* CPU per request */
	unsigned wall_ms;         /* wall time per request */
	unsigned max_per_version; /* sandboxes per script version */
	unsigned queue_max;       /* waiting requests per script version */
	bool queue_max_set;       /* queue_max may be 0 (no waiting at all) */
};

/*
 * Replaces the tenant's limits with *l (all fields; a zeroed struct clears
 * them).  1 stored, 0 no such tenant, -1 error.
 */
int meta_tenant_limits_put(struct meta *m, const char *tenant, const struct meta_limits *l);
/* The tenant's limits into *out (zeroed when none are set): 1 found, 0 no such tenant, -1 error. */
int meta_tenant_limits_get(struct meta *m, const char *tenant, struct meta_limits *out);

/* One script version, as stored.  Strings are owned by the struct. */
struct meta_version {
	uint64_t id; /* global, increasing */
	char tenant[META_NAME_MAX + 1];
	char worker[META_NAME_MAX + 1];
	int format;   /* enum ipc_script_format */
	char *script; /* NUL-terminated UTF-8 source */
	size_t script_len;
	char *bindings;           /* JSON array, Cloudflare binding objects */
	char *compatibility_date; /* "" when not given */
	int64_t created_at;       /* unix seconds */
	bool active;              /* the worker's current version */
};
void meta_version_release(struct meta_version *v);

/*
 * Stores a new version of tenant/worker (creating the worker) and makes it
 * the active one, in one transaction.  *id receives the version id.
 */
int meta_version_add(struct meta *m, const char *tenant, const char *worker, int format,
    const char *script, size_t script_len, const char *bindings, const char *compatibility_date,
    uint64_t *id);

/* Deletes a worker, its versions and its routes: 1 deleted, 0 not found, -1 error. */
int meta_worker_delete(struct meta *m, const char *tenant, const char *worker);

/*
 * Iteration.  The callback gets a version borrowed for the call (script and
 * bindings filled only where the name says "full", "" otherwise); returning
 * non-zero stops the walk and is returned.  -1 on a database error.
 */
typedef int (*meta_version_cb)(const struct meta_version *v, void *arg);
/* The active version of every worker of every tenant, full. */
int meta_foreach_active_version(struct meta *m, meta_version_cb cb, void *arg);
/* The same, without script text and bindings. */
int meta_foreach_active_version_brief(struct meta *m, meta_version_cb cb, void *arg);
/* The active version of each worker of one tenant (no script text). */
int meta_foreach_worker(struct meta *m, const char *tenant, meta_version_cb cb, void *arg);
/* Every version of one worker, newest first (no script text). */
int meta_foreach_version(
    struct meta *m, const char *tenant, const char *worker, meta_version_cb cb, void *arg);
/* One version, full; 1 found, 0 not found, -1 error.  Release with meta_version_release. */
int meta_version_get(struct meta *m, uint64_t id, struct meta_version *out);

struct meta_route {
	char id[META_ROUTE_ID_LEN + 1];
	char tenant[META_NAME_MAX + 1];
	char pattern[256];
	char worker[META_NAME_MAX + 1]; /* "" when the route has no script */
};

/*
 * Adds a route; the caller has validated the pattern.  The pattern's host
 * (without "*.") belongs to one tenant: if another tenant has a route on the
 * same host, returns -2 and stores nothing.  A duplicate pattern for the
 * same tenant returns -3.  On success fills out (out->pattern is the pattern
 * as stored: its host part lower-cased).
 */
int meta_route_add(struct meta *m, const char *tenant, const char *pattern, const char *worker,
    struct meta_route *out);
/* 1 deleted, 0 not found (or another tenant's), -1 error. */
int meta_route_delete(struct meta *m, const char *tenant, const char *id);
typedef int (*meta_route_cb)(const struct meta_route *r, void *arg);
/* Routes of one tenant, or of all tenants when tenant is NULL. */
int meta_foreach_route(struct meta *m, const char *tenant, meta_route_cb cb, void *arg);

/*
 * Tenant-scoped admin tokens.  Only a SHA-256 of a token is stored; the
 * token itself exists once, in the caller's buffer from meta_token_create.
 */
struct meta_token {
	char id[META_TOKEN_ID_LEN + 1];
	char tenant[META_NAME_MAX + 1];
	int64_t created_at; /* unix seconds */
};

/* A new token for tenant into id and token: 1 created, 0 no such tenant, -1 error. */
int meta_token_create(struct meta *m, const char *tenant, char id[META_TOKEN_ID_LEN + 1],
    char token[META_TOKEN_LEN + 1]);
/* The tenant a token belongs to, looked up by its hash: 1 found, 0 unknown, -1 error. */
int meta_token_lookup(struct meta *m, const char *token, char tenant[META_NAME_MAX + 1]);
/* Revokes a token of tenant: 1 deleted, 0 not found (or another tenant's), -1 error. */
int meta_token_delete(struct meta *m, const char *tenant, const char *id);
typedef int (*meta_token_cb)(const struct meta_token *t, void *arg);
/* The tokens of one tenant, oldest first (ids and times; there are no secrets to list). */
int meta_foreach_token(struct meta *m, const char *tenant, meta_token_cb cb, void *arg);

#endif
