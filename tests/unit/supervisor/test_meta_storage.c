/*
 * Unit tests for supervisor/meta_storage.c: the registry of KV namespaces,
 * D1 databases and R2 buckets per tenant, count limits, storage limits and
 * their text for the broker, in a meta.sqlite under a temporary directory.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "supervisor/meta.h"
#include "tests/unit/supervisor/meta_rig.h"

static struct meta_rig files;
static struct meta *m;

static void
setup(void)
{
	static const char *const tenants[] = { "acme", "other", NULL };

	m = meta_rig_open(&files, "edged-test-meta-storage", tenants);
}

static void
teardown(void)
{
	meta_close(m);
	m = NULL;
	meta_rig_remove(&files);
}

TestSuite(meta_storage, .init = setup, .fini = teardown);

struct list {
	struct meta_resource r[8];
	size_t n;
};

static int
collect(const struct meta_resource *r, void *arg)
{
	struct list *l = arg;

	if (l->n < 8)
		l->r[l->n] = *r;
	l->n++;
	return 0;
}

static size_t
count(enum meta_kind kind, const char *tenant)
{
	struct list l = { .n = 0 };

	cr_assert_eq(meta_foreach_resource(m, kind, tenant, collect, &l), 0);
	return l.n;
}

static bool
is_lower_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

Test(meta_storage, kv_namespace_ids_titles_and_scoping)
{
	struct meta_resource a, b, got;
	struct list l = { .n = 0 };

	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "sessions", &a), 1);
	cr_assert(is_lower_hex(a.id, META_KV_ID_LEN), "id '%s'", a.id);
	cr_assert_str_eq(a.name, "sessions");
	cr_assert_str_eq(a.tenant, "acme");
	cr_assert_gt(a.created_at, 0);
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "cache", &b), 1);
	cr_assert_str_neq(a.id, b.id);

	/* A title is unique per tenant; another tenant may use it. */
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "sessions", &got), META_E_TAKEN);
	cr_assert_eq(meta_resource_create(m, META_KV, "other", "sessions", &got), 1);
	cr_assert_eq(meta_resource_create(m, META_KV, "ghost", "x", &got), 0, "no such tenant");

	cr_assert_eq(meta_resource_get(m, META_KV, "acme", a.id, &got), 1);
	cr_assert_str_eq(got.name, "sessions");
	cr_assert_eq(got.created_at, a.created_at);
	cr_assert_eq(meta_resource_get(m, META_KV, "other", a.id, &got), 0, "another tenant's");
	cr_assert_eq(meta_resource_get(m, META_D1, "acme", a.id, &got), 0, "another kind");

	cr_assert_eq(meta_foreach_resource(m, META_KV, "acme", collect, &l), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.r[0].id, a.id, "oldest first");
	cr_assert_str_eq(l.r[1].id, b.id);

	cr_assert_eq(meta_resource_delete(m, META_KV, "other", a.id), 0, "not its own");
	cr_assert_eq(meta_resource_delete(m, META_KV, "acme", a.id), 1);
	cr_assert_eq(meta_resource_delete(m, META_KV, "acme", a.id), 0);
	cr_assert_eq(count(META_KV, "acme"), 1);
	/* The title is free again. */
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "sessions", &got), 1);
}

Test(meta_storage, d1_ids_are_lowercase_uuids)
{
	struct meta_resource a, b;

	cr_assert_eq(meta_resource_create(m, META_D1, "acme", "main", &a), 1);
	cr_assert_eq(strlen(a.id), META_D1_ID_LEN);
	for (size_t i = 0; i < META_D1_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			cr_assert_eq(a.id[i], '-', "'%s'", a.id);
		else
			cr_assert_not_null(strchr("0123456789abcdef", a.id[i]), "'%s'", a.id);
	}
	cr_assert_eq(a.id[14], '4', "version 4: '%s'", a.id);
	cr_assert_not_null(strchr("89ab", a.id[19]), "variant: '%s'", a.id);
	cr_assert_eq(meta_resource_create(m, META_D1, "acme", "main", &b), META_E_TAKEN);
	cr_assert_eq(meta_resource_create(m, META_D1, "acme", "logs", &b), 1);
	cr_assert_str_neq(a.id, b.id);
	cr_assert_eq(meta_resource_get(m, META_D1, "acme", b.id, &a), 1);
	cr_assert_str_eq(a.name, "logs");
}

Test(meta_storage, r2_bucket_names_are_per_tenant)
{
	struct meta_resource a, got;

	cr_assert_eq(meta_resource_create(m, META_R2, "acme", "photos", &a), 1);
	cr_assert_str_eq(a.id, "photos");
	cr_assert_str_eq(a.name, "photos");
	cr_assert_eq(meta_resource_create(m, META_R2, "acme", "photos", &got), META_E_TAKEN);
	cr_assert_eq(meta_resource_create(m, META_R2, "other", "photos", &got), 1);
	cr_assert_eq(meta_resource_get(m, META_R2, "other", "photos", &got), 1);
	cr_assert_str_eq(got.tenant, "other");
	cr_assert_eq(meta_resource_delete(m, META_R2, "acme", "photos"), 1);
	cr_assert_eq(meta_resource_get(m, META_R2, "other", "photos", &got), 1, "the other stays");
	cr_assert_eq(meta_resource_get(m, META_R2, "acme", "photos", &got), 0);
}

Test(meta_storage, names_that_do_not_fit_are_refused)
{
	struct meta_resource r;
	char title[META_RESOURCE_NAME_MAX + 2];

	memset(title, 'a', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", title, &r), -1);
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "", &r), -1);
	cr_assert_eq(meta_resource_create(m, 7, "acme", "x", &r), -1, "unknown kind");
	title[META_RESOURCE_NAME_MAX] = '\0';
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", title, &r), 1, "512 bytes fit");
}

Test(meta_storage, count_limits_are_enforced_per_kind)
{
	struct meta_storage_limits l, got;
	struct meta_resource r;

	memset(&l, 0, sizeof(l));
	l.set[META_SL_KV_NAMESPACES] = true;
	l.value[META_SL_KV_NAMESPACES] = 2;
	l.set[META_SL_R2_BUCKETS] = true;
	l.value[META_SL_R2_BUCKETS] = 0;
	cr_assert_eq(meta_storage_limits_put(m, "acme", &l), 1);
	cr_assert_eq(meta_storage_limits_get(m, "acme", &got), 1);
	cr_assert(got.set[META_SL_KV_NAMESPACES]);
	cr_assert_eq(got.value[META_SL_KV_NAMESPACES], 2);
	cr_assert(got.set[META_SL_R2_BUCKETS]);
	cr_assert_not(got.set[META_SL_D1_DATABASES]);

	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "one", &r), 1);
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "two", &r), 1);
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "three", &r), META_E_QUOTA);
	cr_assert_eq(count(META_KV, "acme"), 2, "nothing stored over the limit");
	cr_assert_eq(meta_resource_create(m, META_R2, "acme", "none-allowed", &r), META_E_QUOTA);
	cr_assert_eq(meta_resource_create(m, META_D1, "acme", "unlimited", &r), 1);
	cr_assert_eq(meta_resource_create(m, META_KV, "other", "three", &r), 1, "per tenant");

	/* Room again after a delete. */
	{
		struct list all = { .n = 0 };

		cr_assert_eq(meta_foreach_resource(m, META_KV, "acme", collect, &all), 0);
		cr_assert_eq(meta_resource_delete(m, META_KV, "acme", all.r[0].id), 1);
	}
	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "three", &r), 1);
}

Test(meta_storage, limits_text_for_the_broker)
{
	struct meta_storage_limits l, got;
	char text[META_STORAGE_LIMITS_TEXT_MAX];

	memset(&l, 0, sizeof(l));
	cr_assert_eq(meta_storage_limits_text(&l, text, sizeof(text)), 0);
	cr_assert_str_eq(text, "{}");
	l.set[META_SL_KV_BYTES] = true;
	l.value[META_SL_KV_BYTES] = 1048576;
	l.set[META_SL_R2_BYTES] = true;
	l.value[META_SL_R2_BYTES] = 9007199254740993ull;
	l.set[META_SL_KV_NAMESPACES] = true; /* counts are the supervisor's: left out */
	l.value[META_SL_KV_NAMESPACES] = 3;
	cr_assert_eq(meta_storage_limits_text(&l, text, sizeof(text)), 0);
	cr_assert_str_eq(text, "{\"kv_bytes\":1048576,\"r2_bytes\":9007199254740993}");
	cr_assert_eq(meta_storage_limits_text(&l, text, 10), -1, "does not fit");

	/* Every member set, at its largest: still fits the buffer size promised. */
	for (int i = 0; i < META_SL_COUNT; i++) {
		l.set[i] = true;
		l.value[i] = INT64_MAX;
	}
	cr_assert_eq(meta_storage_limits_text(&l, text, sizeof(text)), 0);
	cr_assert_eq(meta_storage_limits_put(m, "acme", &l), 1);
	cr_assert_eq(meta_storage_limits_get(m, "acme", &got), 1);
	cr_assert_eq(got.value[META_SL_D1_BYTES], INT64_MAX);

	/* Put replaces all: a cleared struct clears them; survives a reopen. */
	memset(&l, 0, sizeof(l));
	l.set[META_SL_KV_KEYS] = true;
	l.value[META_SL_KV_KEYS] = 10;
	cr_assert_eq(meta_storage_limits_put(m, "acme", &l), 1);
	meta_close(m);
	cr_assert_not_null(m = meta_open(files.path));
	cr_assert_eq(meta_storage_limits_get(m, "acme", &got), 1);
	cr_assert_not(got.set[META_SL_D1_BYTES]);
	cr_assert_eq(got.value[META_SL_KV_KEYS], 10);
	cr_assert_eq(meta_storage_limits_get(m, "ghost", &got), 0);
	cr_assert_eq(meta_storage_limits_put(m, "ghost", &l), 0);
	l.value[META_SL_KV_KEYS] = (uint64_t)INT64_MAX + 1;
	cr_assert_eq(meta_storage_limits_put(m, "acme", &l), -1, "beyond sqlite's integers");
}

Test(meta_storage, names_of_the_limits)
{
	cr_assert_str_eq(meta_storage_limit_name(META_SL_KV_BYTES), "kv_bytes");
	cr_assert_str_eq(meta_storage_limit_name(META_SL_R2_BUCKETS), "r2_buckets");
	cr_assert_eq(meta_storage_count_limit(META_KV), META_SL_KV_NAMESPACES);
	cr_assert_eq(meta_storage_count_limit(META_D1), META_SL_D1_DATABASES);
	cr_assert_eq(meta_storage_count_limit(META_R2), META_SL_R2_BUCKETS);
}

Test(meta_storage, registry_survives_a_reopen)
{
	struct meta_resource a, got;

	cr_assert_eq(meta_resource_create(m, META_KV, "acme", "kept", &a), 1);
	meta_close(m);
	cr_assert_not_null(m = meta_open(files.path));
	cr_assert_eq(meta_resource_get(m, META_KV, "acme", a.id, &got), 1);
	cr_assert_str_eq(got.name, "kept");
}

/* A meta.sqlite from before the storage registry existed opens and gains it. */
Test(meta_storage, database_without_the_storage_tables_is_upgraded)
{
	static const char drop[] = "DROP TABLE kv_namespaces; DROP TABLE d1_databases;"
				   "DROP TABLE r2_buckets; DROP TABLE tenant_storage_limits;";
	struct meta_storage_limits l;
	struct meta_resource r;
	sqlite3 *db;

	meta_close(m);
	m = NULL;
	cr_assert_eq(sqlite3_open(files.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, drop, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_not_null(m = meta_open(files.path));
	cr_assert(meta_tenant_exists(m, "acme"));
	cr_assert_eq(meta_storage_limits_get(m, "acme", &l), 1);
	cr_assert_not(l.set[META_SL_KV_BYTES]);
	cr_assert_eq(meta_resource_create(m, META_R2, "acme", "after-upgrade", &r), 1);
}
