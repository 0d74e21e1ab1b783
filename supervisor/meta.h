/*
 * meta: the durable record of tenants, workers (scripts), their immutable
 * versions and routes, and the registry of each tenant's storage resources
 * (KV namespaces, D1 databases, R2 buckets) with its storage limits, in
 * <data_dir>/meta.sqlite (WAL, synchronous=FULL).  Runs in the supervisor;
 * the admin API writes it, the registry and the pool read it.  The storage
 * data itself is the broker's: meta only records what exists and whose it is.
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

/*
 * Storage resources (meta_storage.c).  Each belongs to one tenant; ids are
 * global, names are unique per tenant:
 *   KV namespace: id = 32 lowercase hex digits (random), name = its title
 *                 (1..512 bytes of UTF-8, no NUL)
 *   D1 database:  id = a lowercase random UUID (8-4-4-4-12), name = its name
 *                 ([A-Za-z0-9_-], 1..64)
 *   R2 bucket:    id = name = the bucket name (3..63 of [a-z0-9-]); the same
 *                 name may exist under another tenant
 * The caller validates names; meta checks only that they fit.
 */
enum meta_kind {
	META_KV = 1, /* the values of enum store_kind (broker/store.h) */
	META_D1 = 2,
	META_R2 = 3,
};

#define META_KV_ID_LEN 32
#define META_D1_ID_LEN 36
#define META_RESOURCE_ID_MAX 64
#define META_RESOURCE_NAME_MAX 512

struct meta_resource {
	enum meta_kind kind;
	char id[META_RESOURCE_ID_MAX + 1];
	char tenant[META_NAME_MAX + 1];
	char name[META_RESOURCE_NAME_MAX + 1];
	int64_t created_at; /* unix seconds */
};

#define META_E_TAKEN (-2) /* the tenant has a resource of that kind by that name */
#define META_E_QUOTA (-3) /* the tenant is at its count limit for the kind */

/*
 * Records a new resource of `kind` named `name` for tenant, checking the
 * tenant's count limit (META_SL_*_COUNT) in the same transaction.  Returns
 * 1 with *out filled, 0 when there is no such tenant, META_E_TAKEN,
 * META_E_QUOTA, or -1 on error (and for a name that does not fit).
 */
int meta_resource_create(struct meta *m, enum meta_kind kind, const char *tenant, const char *name,
    struct meta_resource *out);
/* The tenant's resource by id: 1 found, 0 not found (or another tenant's), -1 error. */
int meta_resource_get(struct meta *m, enum meta_kind kind, const char *tenant, const char *id,
    struct meta_resource *out);
/* Forgets the tenant's resource: 1 deleted, 0 not found (or another tenant's), -1 error. */
int meta_resource_delete(struct meta *m, enum meta_kind kind, const char *tenant, const char *id);
/*
 * The tenant's resources of one kind, oldest first; `r` is borrowed for the
 * call.  A non-zero return from cb stops the walk and is returned; -1 on a
 * database error.
 */
typedef int (*meta_resource_cb)(const struct meta_resource *r, void *arg);
int meta_foreach_resource(
    struct meta *m, enum meta_kind kind, const char *tenant, meta_resource_cb cb, void *arg);

/*
 * A tenant's storage limits.  Byte and key quotas travel to the broker
 * (meta_storage_limits_text); counts are enforced by meta_resource_create.
 * An unset limit (set[i] false, NULL in the table) is unlimited.
 */
enum meta_storage_limit {
	META_SL_KV_BYTES,
	META_SL_KV_KEYS,
	META_SL_D1_BYTES,
	META_SL_R2_BYTES,
	META_SL_KV_NAMESPACES,
	META_SL_D1_DATABASES,
	META_SL_R2_BUCKETS,
	META_SL_COUNT
};
struct meta_storage_limits {
	uint64_t value[META_SL_COUNT];
	bool set[META_SL_COUNT];
};
/* "kv_bytes", "kv_keys", "d1_bytes", "r2_bytes", "kv_namespaces", "d1_databases", "r2_buckets". */
const char *meta_storage_limit_name(enum meta_storage_limit l);
/* The count limit that applies to creating resources of `kind`. */
enum meta_storage_limit meta_storage_count_limit(enum meta_kind kind);

/* Replaces all of the tenant's storage limits: 1 stored, 0 no such tenant, -1 error. */
int meta_storage_limits_put(
    struct meta *m, const char *tenant, const struct meta_storage_limits *l);
/* The tenant's storage limits (all unset when none): 1 found, 0 no such tenant, -1 error. */
int meta_storage_limits_get(struct meta *m, const char *tenant, struct meta_storage_limits *out);

/*
 * The limits as the broker takes them (ATTACH and ADMIN_CALL, see
 * broker/store.h): {"kv_bytes": n, "kv_keys": n, "d1_bytes": n, "r2_bytes": n}
 * with the set members only.  Writes at most len bytes (NUL included);
 * 0, or -1 when it does not fit.
 */
#define META_STORAGE_LIMITS_TEXT_MAX 160
int meta_storage_limits_text(const struct meta_storage_limits *l, char *out, size_t len);

#endif
