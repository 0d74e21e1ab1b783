/*
 * r2_quota: the r2_bytes quota of each tenant, over all its buckets.  The
 * truth is in the indexes (objects and pending parts, committed with them);
 * a tenant's total is summed from them the first time it is needed and then
 * kept up to date in memory as writes commit.  Runs in the broker.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/r2_internal.h"
#include "common/log.h"

struct r2_usage {
	TAILQ_ENTRY(r2_usage) entry;
	char tenant[65];
	uint64_t bytes;
};

static struct r2_usage *
r2_usage_find(struct r2 *r2, const char *tenant)
{
	struct r2_usage *u;

	TAILQ_FOREACH (u, &r2->usage, entry)
		if (strcmp(u->tenant, tenant) == 0)
			return u;
	return NULL;
}

static struct r2_bucket *
r2_cached(struct r2 *r2, const char *tenant, const char *name)
{
	struct r2_bucket *b;

	TAILQ_FOREACH (b, &r2->buckets, entry)
		if (strcmp(b->tenant, tenant) == 0 && strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

/* The bytes of one bucket; a bucket that cannot be read counts as empty (logged). */
static uint64_t
r2_bucket_bytes(struct r2 *r2, const char *tenant, const char *name)
{
	struct r2_bucket *b = r2_cached(r2, tenant, name);
	uint64_t bytes = 0;

	if (b != NULL) {
		r2_index_usage(b, &bytes);
		return bytes;
	}
	if ((b = r2_bucket_open(r2, tenant, name)) == NULL)
		return 0;
	r2_index_usage(b, &bytes);
	r2_bucket_close(b);
	return bytes;
}

static int
r2_usage_load(struct r2 *r2, const char *tenant, uint64_t *bytes)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = snprintf(path, sizeof(path), "%s/%s", r2->root, tenant);

	*bytes = 0;
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("r2: cannot open '%s'", path);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (store_resource_is_valid(STORE_R2, e->d_name))
			*bytes += r2_bucket_bytes(r2, tenant, e->d_name);
	closedir(d);
	return 0;
}

static int
r2_usage_get(struct r2 *r2, const char *tenant, uint64_t *bytes)
{
	struct r2_usage *u = r2_usage_find(r2, tenant);

	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL) {
			log_warn("r2: tenant '%s': cannot count its bytes", tenant);
			return -1;
		}
		if (r2_usage_load(r2, tenant, &u->bytes) == -1) {
			free(u);
			return -1;
		}
		snprintf(u->tenant, sizeof(u->tenant), "%s", tenant);
		TAILQ_INSERT_HEAD(&r2->usage, u, entry);
	}
	*bytes = u->bytes;
	return 0;
}

bool
r2_quota_allows(struct r2 *r2, const struct store_call *c, uint64_t added, uint64_t removed,
    const char *method, struct store_result *r)
{
	uint64_t limit = c->limits != NULL ? c->limits->r2_bytes : 0;
	uint64_t used;

	/* A change that does not grow the tenant is always allowed. */
	if (limit == 0 || added <= removed)
		return true;
	if (r2_usage_get(r2, c->tenant, &used) == -1) {
		r2_fail_internal(r, method);
		return false;
	}
	if (used + (added - removed) > limit || used + (added - removed) < used) {
		r2_fail(r, STORE_E_TOO_LARGE, R2_CODE_TOO_LARGE, method,
		    "Your account's R2 storage quota of %llu bytes would be exceeded.",
		    (unsigned long long)limit);
		return false;
	}
	return true;
}

void
r2_usage_update(struct r2 *r2, const char *tenant, uint64_t added, uint64_t removed)
{
	struct r2_usage *u = r2_usage_find(r2, tenant);

	if (u == NULL)
		return;
	u->bytes += added;
	u->bytes = u->bytes > removed ? u->bytes - removed : 0;
}

void
r2_usage_forget(struct r2 *r2, const char *tenant)
{
	struct r2_usage *u = r2_usage_find(r2, tenant);

	if (u != NULL) {
		TAILQ_REMOVE(&r2->usage, u, entry);
		free(u);
	}
}

void
r2_usage_free_all(struct r2 *r2)
{
	struct r2_usage *u;

	while ((u = TAILQ_FIRST(&r2->usage)) != NULL) {
		TAILQ_REMOVE(&r2->usage, u, entry);
		free(u);
	}
}
