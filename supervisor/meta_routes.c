/*
 * meta_routes: the routes of meta.sqlite, pattern -> worker, and which
 * tenant owns each host.  Runs in the supervisor; the statements are meta.c's
 * (meta_internal.h), every input bound.
 */
#include "supervisor/meta.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "supervisor/meta_internal.h"
#include "supervisor/route.h"

static int
meta_route_id(char out[META_ROUTE_ID_LEN + 1])
{
	return meta_random_hex(out, META_ROUTE_ID_LEN / 2, "a route id");
}

/*
 * The pattern as stored: its host part lower-cased (hosts compare without
 * case) and the path kept as given.  Also yields the ownership host.
 */
static int
meta_route_host(const char *pattern, char *canon, size_t canon_len, char *host, size_t host_len)
{
	size_t len = strlen(pattern);
	bool in_host = true;

	if (len >= canon_len)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		char c = pattern[i];

		if (c == '/')
			in_host = false;
		if (in_host && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		canon[i] = c;
	}
	if (route_pattern_host(canon, host, host_len) == -1 || host[0] == '\0')
		return -1;
	return 0;
}

static bool
meta_host_taken(struct meta *m, const char *host, const char *tenant, int *err)
{
	sqlite3_stmt *st = meta_stmt(m, META_ROUTE_HOST_TAKEN);
	int rc;

	*err = 0;
	if (meta_bind_text(st, 1, host) == -1 || meta_bind_text(st, 2, tenant) == -1) {
		*err = -1;
		return false;
	}
	rc = meta_step_end(m, st, sqlite3_step(st), "look up a route host");
	if (rc == -1)
		*err = -1;
	return rc == 1;
}

/* Inserts the route row: 0, -3 on a duplicate pattern, -1 on error. */
static int
meta_route_insert(struct meta *m, const struct meta_route *r, const char *host)
{
	sqlite3_stmt *st = meta_stmt(m, META_ROUTE_INSERT);
	int rc;

	if (meta_bind_text(st, 1, r->id) == -1 || meta_bind_text(st, 2, r->tenant) == -1 ||
	    meta_bind_text(st, 3, r->pattern) == -1 || meta_bind_text(st, 4, host) == -1 ||
	    meta_bind_text(st, 5, r->worker) == -1 || meta_bind_int(st, 6, time(NULL)) == -1)
		return -1;
	rc = meta_exec_insert(m, st, SQLITE_CONSTRAINT_UNIQUE, "insert a route");
	return rc == 1 ? -3 : rc;
}

int
meta_route_add(struct meta *m, const char *tenant, const char *pattern, const char *worker,
    struct meta_route *out)
{
	char host[256];
	int rc, err;

	memset(out, 0, sizeof(*out));
	if (worker == NULL)
		worker = "";
	if (!meta_name_is_valid(tenant) || (worker[0] != '\0' && !meta_name_is_valid(worker)))
		return -1;
	if (meta_route_host(pattern, out->pattern, sizeof(out->pattern), host, sizeof(host)) == -1)
		return -1;
	snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
	snprintf(out->worker, sizeof(out->worker), "%s", worker);
	if (meta_route_id(out->id) == -1 || meta_begin(m) == -1)
		return -1;
	if (meta_host_taken(m, host, tenant, &err)) {
		rc = -2;
		goto fail;
	}
	if (err != 0 || (rc = meta_route_insert(m, out, host)) != 0) {
		rc = err != 0 ? -1 : rc;
		goto fail;
	}
	if (meta_commit(m) == -1) {
		rc = -1;
		goto fail;
	}
	return 0;
fail:
	meta_rollback(m);
	out->id[0] = '\0';
	return rc;
}

int
meta_route_delete(struct meta *m, const char *tenant, const char *id)
{
	sqlite3_stmt *st = meta_stmt(m, META_ROUTE_DELETE);

	if (meta_bind_text(st, 1, id) == -1 || meta_bind_text(st, 2, tenant) == -1)
		return -1;
	return meta_exec_changes(m, st, "delete a route");
}

int
meta_foreach_route(struct meta *m, const char *tenant, meta_route_cb cb, void *arg)
{
	sqlite3_stmt *st;
	struct meta_route r;
	int rc, stop = 0;

	st = meta_stmt(m, tenant != NULL ? META_ROUTE_TENANT : META_ROUTE_ALL);
	if (tenant != NULL && meta_bind_text(st, 1, tenant) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		meta_copy_text(r.id, sizeof(r.id), sqlite3_column_text(st, 0));
		meta_copy_name(r.tenant, sqlite3_column_text(st, 1));
		meta_copy_text(r.pattern, sizeof(r.pattern), sqlite3_column_text(st, 2));
		meta_copy_name(r.worker, sqlite3_column_text(st, 3));
		if ((stop = cb(&r, arg)) != 0)
			break;
	}
	return meta_walk_end(m, st, rc, stop, "list routes");
}
