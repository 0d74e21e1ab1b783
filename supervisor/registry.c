/*
 * registry: active versions and the route table, rebuilt from meta.  Runs in
 * the supervisor.
 */
#include "supervisor/registry.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "supervisor/route.h"

struct registry {
	struct route_table *routes;
	struct version **versions; /* active versions, each holding one reference */
	size_t nversions;
	registry_retire_cb retire;
	void *retire_arg;
};

void
version_ref(struct version *v)
{
	v->refs++;
}

void
version_unref(struct version *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	free(v->script);
	free(v->bindings);
	free(v);
}

unsigned
version_cpu_ms(const struct version *v, const struct config *c)
{
	return v->limits.cpu_ms > 0 ? v->limits.cpu_ms : c->cpu_ms;
}

unsigned
version_wall_ms(const struct version *v, const struct config *c)
{
	return v->limits.wall_ms > 0 ? v->limits.wall_ms : c->wall_ms;
}

unsigned
version_max_sandboxes(const struct version *v, const struct config *c)
{
	return v->limits.max_per_version > 0 ? v->limits.max_per_version : c->max_per_version;
}

unsigned
version_queue_max(const struct version *v, const struct config *c)
{
	return v->limits.queue_max_set ? v->limits.queue_max : c->queue_max;
}

static struct version *
version_from_meta(const struct meta_version *mv)
{
	struct version *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->refs = 1;
	v->id = mv->id;
	memcpy(v->tenant, mv->tenant, sizeof(v->tenant));
	memcpy(v->worker, mv->worker, sizeof(v->worker));
	v->format = mv->format;
	v->script_len = mv->script_len;
	v->script = malloc(mv->script_len + 1);
	v->bindings = strdup(mv->bindings != NULL ? mv->bindings : "[]");
	if (v->script == NULL || v->bindings == NULL) {
		version_unref(v);
		return NULL;
	}
	memcpy(v->script, mv->script, mv->script_len);
	v->script[mv->script_len] = '\0';
	TAILQ_INIT(&v->sandboxes);
	TAILQ_INIT(&v->waiting);
	return v;
}

struct registry *
registry_new(registry_retire_cb retire, void *arg)
{
	struct registry *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->routes = route_table_new()) == NULL) {
		free(r);
		return NULL;
	}
	r->retire = retire;
	r->retire_arg = arg;
	return r;
}

static void
registry_drop_versions(struct version **versions, size_t n)
{
	for (size_t i = 0; i < n; i++)
		version_unref(versions[i]);
	free(versions);
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	route_table_free(r->routes);
	registry_drop_versions(r->versions, r->nversions);
	free(r);
}

/* The building state of a reload. */
struct registry_build {
	struct registry *old;
	struct meta *meta;
	struct version **versions;
	size_t n;
	size_t cap;
	struct route_table *routes;
	int failed;
};

static struct version *
registry_find(struct version **versions, size_t n, const char *tenant, const char *worker)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(versions[i]->tenant, tenant) == 0 &&
		    strcmp(versions[i]->worker, worker) == 0)
			return versions[i];
	return NULL;
}

/* A version not yet in memory: its script is read now, and only now. */
static struct version *
registry_load_version(struct meta *m, uint64_t id)
{
	struct meta_version full;
	struct version *v;

	if (meta_version_get(m, id, &full) != 1)
		return NULL;
	v = version_from_meta(&full);
	meta_version_release(&full);
	return v;
}

static int
registry_add_version(const struct meta_version *mv, void *arg)
{
	struct registry_build *b = arg;
	struct version *v = NULL;

	for (size_t i = 0; i < b->old->nversions; i++) {
		if (b->old->versions[i]->id == mv->id) {
			v = b->old->versions[i];
			version_ref(v);
			break;
		}
	}
	if (v == NULL && (v = registry_load_version(b->meta, mv->id)) == NULL)
		return -1;
	/* Limits change without a new version: read them on every reload. */
	if (meta_tenant_limits_get(b->meta, v->tenant, &v->limits) == -1) {
		version_unref(v);
		return -1;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct version **p = reallocarray(b->versions, cap, sizeof(*p));

		if (p == NULL) {
			version_unref(v);
			return -1;
		}
		b->versions = p;
		b->cap = cap;
	}
	b->versions[b->n++] = v;
	return 0;
}

static int
registry_add_route(const struct meta_route *mr, void *arg)
{
	struct registry_build *b = arg;
	struct version *v;

	if (mr->worker[0] == '\0')
		return 0;
	v = registry_find(b->versions, b->n, mr->tenant, mr->worker);
	if (v == NULL)
		return 0;
	if (route_table_add(b->routes, mr->pattern, mr->id, v) == -1)
		log_warnx(
		    "route '%s' of tenant '%s' skipped: invalid pattern", mr->pattern, mr->tenant);
	return 0;
}

int
registry_reload(struct registry *r, struct meta *m)
{
	struct registry_build b;

	memset(&b, 0, sizeof(b));
	b.old = r;
	b.meta = m;
	if ((b.routes = route_table_new()) == NULL)
		return -1;
	if (meta_foreach_active_version_brief(m, registry_add_version, &b) != 0 ||
	    meta_foreach_route(m, NULL, registry_add_route, &b) != 0) {
		log_warnx("cannot load the registry from meta");
		route_table_free(b.routes);
		registry_drop_versions(b.versions, b.n);
		return -1;
	}
	for (size_t i = 0; i < r->nversions; i++) {
		struct version *old = r->versions[i];

		if (registry_find(b.versions, b.n, old->tenant, old->worker) != old) {
			old->retired = true;
			if (r->retire != NULL)
				r->retire(old, r->retire_arg);
		}
	}
	route_table_free(r->routes);
	registry_drop_versions(r->versions, r->nversions);
	r->routes = b.routes;
	r->versions = b.versions;
	r->nversions = b.n;
	return 0;
}

struct version *
registry_match(struct registry *r, const char *host, const char *path)
{
	return route_table_match(r->routes, host, path);
}

size_t
registry_version_count(const struct registry *r)
{
	return r->nversions;
}

size_t
registry_route_count(const struct registry *r)
{
	return route_table_count(r->routes);
}
