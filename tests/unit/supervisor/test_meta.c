/*
 * Unit tests for supervisor/meta.c: tenants, versions, workers and routes
 * in a meta.sqlite under a temporary directory, reopened to check durability.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/ipc.h"
#include "supervisor/meta.h"
#include "tests/unit/supervisor/meta_rig.h"

static struct meta_rig files;
static struct meta *m;

static void
setup(void)
{
	m = meta_rig_open(&files, "edged-test-meta", NULL);
}

static void
teardown(void)
{
	meta_close(m);
	m = NULL;
	meta_rig_remove(&files);
}

TestSuite(meta, .init = setup, .fini = teardown);

struct collect {
	uint64_t ids[16];
	bool active[16];
	char workers[16][META_NAME_MAX + 1];
	size_t n;
};

static int
collect_version(const struct meta_version *v, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16) {
		c->ids[c->n] = v->id;
		c->active[c->n] = v->active;
		snprintf(c->workers[c->n], sizeof(c->workers[0]), "%s", v->worker);
	}
	c->n++;
	return 0;
}

struct route_collect {
	struct meta_route r[8];
	size_t n;
};

static int
collect_route(const struct meta_route *r, void *arg)
{
	struct route_collect *c = arg;

	if (c->n < 8)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

static uint64_t
add_version(const char *tenant, const char *worker, const char *script)
{
	uint64_t id = 0;

	cr_assert_eq(
	    meta_version_add(m, tenant, worker, IPC_FORMAT_MODULE, script, strlen(script),
		"[{\"type\":\"plain_text\",\"name\":\"A\",\"text\":\"b\"}]", "2024-01-01", &id),
	    0);
	cr_assert_gt(id, 0);
	return id;
}

Test(meta, names)
{
	cr_assert(meta_name_is_valid("acme"));
	cr_assert(meta_name_is_valid("A-b_9"));
	cr_assert_not(meta_name_is_valid(""));
	cr_assert_not(meta_name_is_valid("a b"));
	cr_assert_not(meta_name_is_valid("a/b"));
	cr_assert_not(meta_name_is_valid("../x"));
	cr_assert_not(meta_name_is_valid("caf\xc3\xa9"));
	cr_assert(
	    meta_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	cr_assert_not(meta_name_is_valid(
	    "01234567890123456789012345678901234567890123456789012345678901234"));
}

Test(meta, tenants)
{
	cr_assert_not(meta_tenant_exists(m, "acme"));
	cr_assert_eq(meta_tenant_put(m, "acme"), 1);
	cr_assert_eq(meta_tenant_put(m, "acme"), 0);
	cr_assert(meta_tenant_exists(m, "acme"));
	cr_assert_not(meta_tenant_exists(m, "other"));
	cr_assert_eq(meta_tenant_put(m, "bad name"), -1);
	cr_assert_not(meta_tenant_exists(m, "bad name"));
}

Test(meta, versions_newest_first_and_durable)
{
	struct collect c = { 0 };
	struct meta_version v;
	uint64_t v1, v2, v3;

	cr_assert_eq(meta_tenant_put(m, "acme"), 1);
	v1 = add_version("acme", "api", "addEventListener('fetch', function () {});");
	v2 = add_version("acme", "api", "var second = 2;");
	v3 = add_version("acme", "web", "var web = 1;");
	cr_assert_lt(v1, v2);
	cr_assert_lt(v2, v3);

	cr_assert_eq(meta_foreach_version(m, "acme", "api", collect_version, &c), 0);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.ids[0], v2, "newest first");
	cr_assert_eq(c.ids[1], v1);
	cr_assert(c.active[0], "the new version becomes active");
	cr_assert_not(c.active[1]);

	/* Reopen the file: everything is still there. */
	meta_close(m);
	m = meta_open(files.path);
	cr_assert_not_null(m);
	cr_assert(meta_tenant_exists(m, "acme"));

	memset(&c, 0, sizeof(c));
	cr_assert_eq(meta_foreach_worker(m, "acme", collect_version, &c), 0);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.workers[0], "api");
	cr_assert_eq(c.ids[0], v2);
	cr_assert_str_eq(c.workers[1], "web");
	cr_assert_eq(c.ids[1], v3);

	memset(&c, 0, sizeof(c));
	cr_assert_eq(meta_foreach_active_version(m, collect_version, &c), 0);
	cr_assert_eq(c.n, 2);

	cr_assert_eq(meta_version_get(m, v2, &v), 1);
	cr_assert_str_eq(v.script, "var second = 2;");
	cr_assert_eq(v.script_len, strlen("var second = 2;"));
	cr_assert_str_eq(v.tenant, "acme");
	cr_assert_str_eq(v.worker, "api");
	cr_assert_str_eq(v.compatibility_date, "2024-01-01");
	cr_assert_not_null(strstr(v.bindings, "plain_text"));
	cr_assert_eq(v.format, IPC_FORMAT_MODULE);
	cr_assert(v.active);
	cr_assert_gt(v.created_at, 0);
	meta_version_release(&v);

	cr_assert_eq(meta_version_get(m, v1, &v), 1);
	cr_assert_not(v.active);
	cr_assert_str_eq(v.script, "addEventListener('fetch', function () {});");
	meta_version_release(&v);
	cr_assert_eq(meta_version_get(m, 999999, &v), 0);
}

static int
stop_at_first(const struct meta_version *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 7;
}

Test(meta, walk_stops_on_nonzero)
{
	int calls = 0;

	meta_tenant_put(m, "acme");
	add_version("acme", "api", "a");
	add_version("acme", "api", "b");
	cr_assert_eq(meta_foreach_version(m, "acme", "api", stop_at_first, &calls), 7);
	cr_assert_eq(calls, 1);
}

Test(meta, version_needs_tenant)
{
	uint64_t id;

	cr_assert_eq(meta_version_add(m, "ghost", "api", IPC_FORMAT_MODULE, "x", 1, "[]", "", &id),
	    -1, "foreign key: the tenant must exist");
	cr_assert_eq(meta_version_add(m, "bad/tenant", "api", 0, "x", 1, "[]", "", &id), -1);
}

Test(meta, script_with_nul_bytes_round_trips)
{
	struct meta_version v;
	uint64_t id = 0;
	static const char script[] = "var a = 1;\0var b = 2;";

	meta_tenant_put(m, "acme");
	cr_assert_eq(
	    meta_version_add(m, "acme", "api", 0, script, sizeof(script) - 1, "[]", "", &id), 0);
	cr_assert_eq(meta_version_get(m, id, &v), 1);
	cr_assert_eq(v.script_len, sizeof(script) - 1);
	cr_assert_eq(memcmp(v.script, script, sizeof(script) - 1), 0);
	cr_assert_str_eq(v.compatibility_date, "");
	meta_version_release(&v);
}

Test(meta, delete_worker_removes_versions_and_routes)
{
	struct collect c = { 0 };
	struct route_collect rc = { 0 };
	struct meta_route r;
	struct meta_version v;
	uint64_t id;

	meta_tenant_put(m, "acme");
	id = add_version("acme", "api", "x");
	add_version("acme", "web", "y");
	cr_assert_eq(meta_route_add(m, "acme", "api.example.com/*", "api", &r), 0);
	cr_assert_eq(meta_route_add(m, "acme", "www.example.com/*", "web", &r), 0);

	cr_assert_eq(meta_worker_delete(m, "acme", "api"), 1);
	cr_assert_eq(meta_worker_delete(m, "acme", "api"), 0);
	cr_assert_eq(meta_worker_delete(m, "other", "web"), 0);

	cr_assert_eq(meta_foreach_version(m, "acme", "api", collect_version, &c), 0);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(meta_version_get(m, id, &v), 0);
	cr_assert_eq(meta_foreach_route(m, "acme", collect_route, &rc), 0);
	cr_assert_eq(rc.n, 1);
	cr_assert_str_eq(rc.r[0].worker, "web");

	/* Ids are never reused after a delete. */
	cr_assert_gt(add_version("acme", "api", "z"), id + 1);
}

Test(meta, routes_add_list_delete)
{
	struct route_collect rc = { 0 };
	struct meta_route r1, r2;

	meta_tenant_put(m, "acme");
	add_version("acme", "api", "x");
	cr_assert_eq(meta_route_add(m, "acme", "Example.COM/api/*", "api", &r1), 0);
	cr_assert_eq(strlen(r1.id), META_ROUTE_ID_LEN);
	cr_assert_eq(strspn(r1.id, "0123456789abcdef"), META_ROUTE_ID_LEN);
	cr_assert_str_eq(r1.pattern, "example.com/api/*", "the host is stored lower-cased");
	cr_assert_eq(meta_route_add(m, "acme", "*.example.com/*", NULL, &r2), 0);
	cr_assert_str_neq(r1.id, r2.id);
	cr_assert_str_eq(r2.worker, "");

	cr_assert_eq(meta_foreach_route(m, "acme", collect_route, &rc), 0);
	cr_assert_eq(rc.n, 2);
	cr_assert_str_eq(rc.r[0].id, r1.id);
	cr_assert_str_eq(rc.r[0].pattern, "example.com/api/*");
	cr_assert_str_eq(rc.r[0].worker, "api");
	cr_assert_str_eq(rc.r[0].tenant, "acme");
	cr_assert_str_eq(rc.r[1].worker, "");

	cr_assert_eq(meta_route_delete(m, "acme", r1.id), 1);
	cr_assert_eq(meta_route_delete(m, "acme", r1.id), 0);
	memset(&rc, 0, sizeof(rc));
	cr_assert_eq(meta_foreach_route(m, NULL, collect_route, &rc), 0);
	cr_assert_eq(rc.n, 1);
	cr_assert_str_eq(rc.r[0].id, r2.id);
}

Test(meta, route_host_belongs_to_one_tenant)
{
	struct route_collect rc = { 0 };
	struct meta_route r;

	meta_tenant_put(m, "acme");
	meta_tenant_put(m, "evil");
	cr_assert_eq(meta_route_add(m, "acme", "shop.example.com/*", NULL, &r), 0);
	/* Same host, with a wildcard, another case or another path: all refused. */
	cr_assert_eq(meta_route_add(m, "evil", "shop.example.com/login", NULL, &r), -2);
	cr_assert_eq(meta_route_add(m, "evil", "*.shop.example.com/*", NULL, &r), -2);
	cr_assert_eq(meta_route_add(m, "evil", "SHOP.example.com/x*", NULL, &r), -2);
	cr_assert_eq(meta_route_add(m, "evil", "shop.example.com/*", NULL, &r), -2);
	/* Another host is fine. */
	cr_assert_eq(meta_route_add(m, "evil", "evil.example.com/*", NULL, &r), 0);
	/* The owner may add more patterns on its host. */
	cr_assert_eq(meta_route_add(m, "acme", "shop.example.com/api/*", NULL, &r), 0);
	cr_assert_eq(meta_foreach_route(m, "evil", collect_route, &rc), 0);
	cr_assert_eq(rc.n, 1);
}

Test(meta, route_duplicate_pattern)
{
	struct meta_route r;

	meta_tenant_put(m, "acme");
	cr_assert_eq(meta_route_add(m, "acme", "example.com/*", NULL, &r), 0);
	cr_assert_eq(meta_route_add(m, "acme", "example.com/*", NULL, &r), -3);
	cr_assert_eq(meta_route_add(m, "acme", "EXAMPLE.com/*", NULL, &r), -3);
	cr_assert_eq(r.id[0], '\0');
}

Test(meta, delete_other_tenants_route_is_not_found)
{
	struct route_collect rc = { 0 };
	struct meta_route r;

	meta_tenant_put(m, "acme");
	meta_tenant_put(m, "evil");
	cr_assert_eq(meta_route_add(m, "acme", "example.com/*", NULL, &r), 0);
	cr_assert_eq(meta_route_delete(m, "evil", r.id), 0);
	cr_assert_eq(meta_route_delete(m, "acme", "no-such-id"), 0);
	cr_assert_eq(meta_foreach_route(m, "acme", collect_route, &rc), 0);
	cr_assert_eq(rc.n, 1);
}

Test(meta, route_needs_tenant)
{
	struct meta_route r;

	cr_assert_eq(meta_route_add(m, "ghost", "example.com/*", NULL, &r), -1);
}

/* --- tenant limits ---------------------------------------------------------------- */

Test(meta, tenant_limits_round_trip_survive_reopen_and_clear)
{
	struct meta_limits l = { .cpu_ms = 250,
		.wall_ms = 1000,
		.max_per_version = 2,
		.queue_max = 0,
		.queue_max_set = true };
	struct meta_limits got;

	cr_assert_eq(meta_tenant_limits_get(m, "acme", &got), 0, "no such tenant yet");
	cr_assert_eq(meta_tenant_limits_put(m, "acme", &l), 0, "limits for a missing tenant");
	cr_assert_eq(meta_tenant_put(m, "acme"), 1);

	/* A tenant without limits of its own: every field unset. */
	memset(&got, 0xff, sizeof(got));
	cr_assert_eq(meta_tenant_limits_get(m, "acme", &got), 1);
	cr_assert_eq(got.cpu_ms, 0);
	cr_assert_eq(got.wall_ms, 0);
	cr_assert_eq(got.max_per_version, 0);
	cr_assert_not(got.queue_max_set);

	cr_assert_eq(meta_tenant_limits_put(m, "acme", &l), 1);
	meta_close(m);
	m = meta_open(files.path);
	cr_assert_not_null(m);
	cr_assert_eq(meta_tenant_limits_get(m, "acme", &got), 1);
	cr_assert_eq(got.cpu_ms, 250);
	cr_assert_eq(got.wall_ms, 1000);
	cr_assert_eq(got.max_per_version, 2);
	cr_assert(got.queue_max_set, "a queue of 0 is a limit, not 'unset'");
	cr_assert_eq(got.queue_max, 0);

	/* Replacing with fewer keys drops the others. */
	memset(&l, 0, sizeof(l));
	l.wall_ms = 5000;
	cr_assert_eq(meta_tenant_limits_put(m, "acme", &l), 1);
	cr_assert_eq(meta_tenant_limits_get(m, "acme", &got), 1);
	cr_assert_eq(got.cpu_ms, 0);
	cr_assert_eq(got.wall_ms, 5000);
	cr_assert_not(got.queue_max_set);

	/* Another tenant is untouched. */
	cr_assert_eq(meta_tenant_put(m, "other"), 1);
	cr_assert_eq(meta_tenant_limits_get(m, "other", &got), 1);
	cr_assert_eq(got.wall_ms, 0);
	cr_assert_eq(meta_tenant_limits_put(m, "bad name", &l), -1);
}

/* A meta.sqlite from before tenant limits existed opens and gains them. */
Test(meta, database_without_the_limits_table_is_upgraded)
{
	struct meta_limits l = { .cpu_ms = 75 }, got;
	sqlite3 *db;

	cr_assert_eq(meta_tenant_put(m, "acme"), 1);
	meta_close(m);
	m = NULL;
	cr_assert_eq(sqlite3_open(files.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "DROP TABLE tenant_limits", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	m = meta_open(files.path);
	cr_assert_not_null(m);
	cr_assert(meta_tenant_exists(m, "acme"));
	cr_assert_eq(meta_tenant_limits_get(m, "acme", &got), 1);
	cr_assert_eq(got.cpu_ms, 0);
	cr_assert_eq(meta_tenant_limits_put(m, "acme", &l), 1);
	cr_assert_eq(meta_tenant_limits_get(m, "acme", &got), 1);
	cr_assert_eq(got.cpu_ms, 75);
}

struct token_list {
	struct meta_token t[8];
	size_t n;
};

static int
collect_token(const struct meta_token *t, void *arg)
{
	struct token_list *l = arg;

	if (l->n < 8)
		l->t[l->n++] = *t;
	return 0;
}

/* Does any stored text or blob of tenant_tokens contain needle? */
static bool
tokens_table_contains(const char *needle)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	bool found = false;

	cr_assert_eq(sqlite3_open(files.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT id, tenant, hash, hex(hash) FROM tenant_tokens",
			 -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < 4; c++) {
			const void *p = sqlite3_column_blob(st, c);
			int n = sqlite3_column_bytes(st, c);

			if (p != NULL && memmem(p, (size_t)n, needle, strlen(needle)) != NULL)
				found = true;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

Test(meta, tenant_tokens_create_lookup_list_delete)
{
	char id[META_TOKEN_ID_LEN + 1], id2[META_TOKEN_ID_LEN + 1];
	char token[META_TOKEN_LEN + 1], token2[META_TOKEN_LEN + 1];
	char tenant[META_NAME_MAX + 1];
	struct token_list l = { 0 };

	cr_assert_eq(meta_token_create(m, "ghost", id, token), 0, "no such tenant");
	cr_assert_eq(meta_token_create(m, "bad name", id, token), -1);
	cr_assert_eq(meta_tenant_put(m, "acme"), 1);
	cr_assert_eq(meta_tenant_put(m, "other"), 1);
	cr_assert_eq(meta_token_create(m, "acme", id, token), 1);
	cr_assert_eq(strlen(id), META_TOKEN_ID_LEN);
	cr_assert_eq(strlen(token), META_TOKEN_LEN);
	cr_assert_eq(strspn(token, "0123456789abcdef"), META_TOKEN_LEN);
	cr_assert_eq(meta_token_create(m, "acme", id2, token2), 1);
	cr_assert_str_neq(token, token2);
	cr_assert_str_neq(id, id2);

	cr_assert_eq(meta_token_lookup(m, token, tenant), 1);
	cr_assert_str_eq(tenant, "acme");
	cr_assert_eq(meta_token_lookup(m, token2, tenant), 1);
	token2[0] = token2[0] == 'a' ? 'b' : 'a';
	cr_assert_eq(meta_token_lookup(m, token2, tenant), 0, "one changed character");
	cr_assert_str_eq(tenant, "");
	cr_assert_eq(meta_token_lookup(m, "", tenant), 0);
	cr_assert_eq(meta_token_lookup(m, id, tenant), 0, "the id is not a token");

	/* Only the hash is stored: neither the token nor its hex appears in the table. */
	cr_assert_not(tokens_table_contains(token));
	{
		char upper[META_TOKEN_LEN + 1];

		for (size_t i = 0; i <= META_TOKEN_LEN; i++)
			upper[i] =
			    (char)(token[i] >= 'a' && token[i] <= 'f' ? token[i] - 32 : token[i]);
		cr_assert_not(tokens_table_contains(upper));
	}

	cr_assert_eq(meta_foreach_token(m, "acme", collect_token, &l), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.t[0].id, id);
	cr_assert_str_eq(l.t[0].tenant, "acme");
	cr_assert_gt(l.t[0].created_at, 0);
	l.n = 0;
	cr_assert_eq(meta_foreach_token(m, "other", collect_token, &l), 0);
	cr_assert_eq(l.n, 0);

	/* Another tenant cannot revoke it; its own tenant can, and then it is unknown. */
	cr_assert_eq(meta_token_delete(m, "other", id), 0);
	cr_assert_eq(meta_token_lookup(m, token, tenant), 1);
	cr_assert_eq(meta_token_delete(m, "acme", id), 1);
	cr_assert_eq(meta_token_delete(m, "acme", id), 0);
	cr_assert_eq(meta_token_lookup(m, token, tenant), 0);

	/* Tokens survive a reopen. */
	cr_assert_eq(meta_token_create(m, "other", id, token), 1);
	meta_close(m);
	cr_assert_not_null(m = meta_open(files.path));
	cr_assert_eq(meta_token_lookup(m, token, tenant), 1);
	cr_assert_str_eq(tenant, "other");
}

/* A meta.sqlite from before tenant tokens existed opens and gains them. */
Test(meta, database_without_the_tokens_table_is_upgraded)
{
	char id[META_TOKEN_ID_LEN + 1], token[META_TOKEN_LEN + 1], tenant[META_NAME_MAX + 1];
	sqlite3 *db;

	cr_assert_eq(meta_tenant_put(m, "acme"), 1);
	meta_close(m);
	m = NULL;
	cr_assert_eq(sqlite3_open(files.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "DROP TABLE tenant_tokens", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_not_null(m = meta_open(files.path));
	cr_assert_eq(meta_token_create(m, "acme", id, token), 1);
	cr_assert_eq(meta_token_lookup(m, token, tenant), 1);
}
