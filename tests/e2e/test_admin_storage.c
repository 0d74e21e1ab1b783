/*
 * End to end: the admin API's storage resources against a real edged and
 * its broker: KV namespaces, D1 databases and R2 buckets (create, list,
 * delete, names, tenant scoping, count quotas, upload bindings) and data
 * round trips through the broker (KV values, D1 SQL, R2 objects).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	e = edged_start(NULL);
	admin_create_tenant(e, "acme");
	admin_create_tenant(e, "other");
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(admin_storage, .init = setup, .fini = teardown, .timeout = 120);

#define ACC "/client/v4/accounts/"
#define HELLO "var __worker = { default: { fetch: function () { return new Response('hi'); } } };"

static void
expect(const char *method, const char *path, const char *body, long status, int code)
{
	json_t *env = admin_json(e, NULL, method, path, body, status);

	if (code != 0)
		cr_expect_eq(envelope_error_code(env), code, "%s %s: code %d, expected %d (%s)",
		    method, path, envelope_error_code(env), code, envelope_error_message(env));
	json_decref(env);
}

static size_t
list_size(const char *token, const char *path, const char *member)
{
	json_t *env = admin_json(e, token, "GET", path, NULL, 200);
	json_t *list =
	    member != NULL ? json_object_get(envelope_result(env), member) : envelope_result(env);
	size_t n = json_array_size(list);

	cr_assert(json_is_array(list));
	json_decref(env);
	return n;
}

static char *
tenant_token(const char *tenant)
{
	char path[128];
	json_t *env;
	char *token;

	snprintf(path, sizeof(path), "/edged/v1/tenants/%s/tokens", tenant);
	env = admin_json(e, NULL, "POST", path, NULL, 200);
	token = strdup(json_string_value(json_object_get(envelope_result(env), "token")));
	json_decref(env);
	return token;
}

/* --- resources ------------------------------------------------------------------- */

Test(admin_storage, kv_namespaces_create_list_delete)
{
	char *id = admin_kv_namespace_create(e, "acme", "sessions"), path[256];

	cr_expect_eq(strlen(id), 32);
	cr_expect_eq(strspn(id, "0123456789abcdef"), 32);
	cr_expect_eq(list_size(NULL, ACC "acme/storage/kv/namespaces", NULL), 1);
	expect("POST", ACC "acme/storage/kv/namespaces", "{\"title\":\"sessions\"}", 409, 10033);
	expect("POST", ACC "acme/storage/kv/namespaces", "{\"title\":\"\"}", 400, 0);
	expect("POST", ACC "acme/storage/kv/namespaces", "{}", 400, 0);
	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s", id);
	expect("DELETE", path, NULL, 200, 0);
	expect("DELETE", path, NULL, 404, 10013);
	expect("DELETE", ACC "acme/storage/kv/namespaces/00000000000000000000000000000000", NULL,
	    404, 10013);
	cr_expect_eq(list_size(NULL, ACC "acme/storage/kv/namespaces", NULL), 0);
	free(id);
}

Test(admin_storage, d1_databases_create_list_get_delete)
{
	char *id = admin_d1_database_create(e, "acme", "main"), path[256];
	json_t *env;

	cr_expect_eq(strlen(id), 36);
	cr_expect_eq(list_size(NULL, ACC "acme/d1/database", NULL), 1);
	snprintf(path, sizeof(path), ACC "acme/d1/database/%s", id);
	env = admin_json(e, NULL, "GET", path, NULL, 200);
	cr_expect_str_eq(json_string_value(json_object_get(envelope_result(env), "name")), "main");
	cr_expect_str_eq(json_string_value(json_object_get(envelope_result(env), "uuid")), id);
	cr_expect(json_is_integer(json_object_get(envelope_result(env), "file_size")));
	cr_expect(json_is_integer(json_object_get(envelope_result(env), "num_tables")));
	json_decref(env);
	expect("POST", ACC "acme/d1/database", "{\"name\":\"main\"}", 409, 10033);
	expect("POST", ACC "acme/d1/database", "{\"name\":\"no spaces\"}", 400, 10014);
	expect("DELETE", path, NULL, 200, 0);
	expect("GET", path, NULL, 404, 7404);
	cr_expect_eq(list_size(NULL, ACC "acme/d1/database", NULL), 0);
	free(id);
}

Test(admin_storage, r2_buckets_create_list_get_delete)
{
	json_t *env;

	admin_r2_bucket_create(e, "acme", "photos");
	env = admin_json(e, NULL, "GET", ACC "acme/r2/buckets/photos", NULL, 200);
	cr_expect_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "name")), "photos");
	cr_expect_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "storage_class")), "Standard");
	json_decref(env);
	cr_expect_eq(list_size(NULL, ACC "acme/r2/buckets", "buckets"), 1);
	expect("POST", ACC "acme/r2/buckets", "{\"name\":\"photos\"}", 409, 10033);
	expect("POST", ACC "acme/r2/buckets", "{\"name\":\"UPPER\"}", 400, 10014);
	expect("POST", ACC "acme/r2/buckets", "{\"name\":\"ab\"}", 400, 10014);
	expect("POST", ACC "acme/r2/buckets", "{\"name\":\"-dash\"}", 400, 10014);
	expect("DELETE", ACC "acme/r2/buckets/photos", NULL, 200, 0);
	expect("GET", ACC "acme/r2/buckets/photos", NULL, 404, 10006);
	cr_expect_eq(list_size(NULL, ACC "acme/r2/buckets", "buckets"), 0);
}

Test(admin_storage, unknown_accounts_are_404)
{
	expect("GET", ACC "ghost/storage/kv/namespaces", NULL, 404, 10008);
	expect("POST", ACC "ghost/d1/database", "{\"name\":\"x\"}", 404, 10008);
	expect("GET", ACC "ghost/r2/buckets", NULL, 404, 10008);
}

/* --- tenants ---------------------------------------------------------------------- */

Test(admin_storage, a_tenant_token_reaches_only_its_own_storage)
{
	char *token_a = tenant_token("acme"), path[256];
	char *ns = admin_kv_namespace_create(e, "other", "private");
	char *db = admin_d1_database_create(e, "other", "private");
	json_t *env;

	admin_r2_bucket_create(e, "other", "private-bucket");
	/* Tenant B's collections through B's path: not A's account. */
	json_decref(admin_json(e, token_a, "GET", ACC "other/storage/kv/namespaces", NULL, 403));
	json_decref(admin_json(e, token_a, "GET", ACC "other/d1/database", NULL, 403));
	json_decref(admin_json(e, token_a, "GET", ACC "other/r2/buckets", NULL, 403));
	snprintf(path, sizeof(path), ACC "other/storage/kv/namespaces/%s/values/k", ns);
	json_decref(admin_json(e, token_a, "PUT", path, "x", 403));
	/* B's resources through A's own path: they do not exist there. */
	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/k", ns);
	env = admin_json(e, token_a, "GET", path, NULL, 404);
	cr_expect_eq(envelope_error_code(env), 10013);
	json_decref(env);
	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s", ns);
	json_decref(admin_json(e, token_a, "DELETE", path, NULL, 404));
	snprintf(path, sizeof(path), ACC "acme/d1/database/%s/query", db);
	json_decref(admin_json(e, token_a, "POST", path, "{\"sql\":\"SELECT 1\"}", 404));
	json_decref(
	    admin_json(e, token_a, "GET", ACC "acme/r2/buckets/private-bucket/objects", NULL, 404));
	/* A sees only its own (none). */
	cr_expect_eq(list_size(token_a, ACC "acme/storage/kv/namespaces", NULL), 0);
	cr_expect_eq(list_size(token_a, ACC "acme/r2/buckets", "buckets"), 0);
	/* And B's survive all of that. */
	cr_expect_eq(list_size(NULL, ACC "other/storage/kv/namespaces", NULL), 1);
	free(token_a);
	free(ns);
	free(db);
}

Test(admin_storage, the_same_bucket_name_under_two_tenants_is_two_buckets)
{
	struct response r;

	admin_r2_bucket_create(e, "acme", "shared-name");
	admin_r2_bucket_create(e, "other", "shared-name");
	r = http_do("PUT", e->admin_addr, ACC "acme/r2/buckets/shared-name/objects/only-in-acme",
	    NULL, TEST_TOKEN, "text/plain", "acme's", 6);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	cr_expect_eq(list_size(NULL, ACC "acme/r2/buckets/shared-name/objects", NULL), 1);
	cr_expect_eq(list_size(NULL, ACC "other/r2/buckets/shared-name/objects", NULL), 0);
	r = http_do("GET", e->admin_addr, ACC "other/r2/buckets/shared-name/objects/only-in-acme",
	    NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_expect_eq(r.status, 404, "%s", r.body);
	response_free(&r);
	/* Deleting one leaves the other. */
	expect("DELETE", ACC "other/r2/buckets/shared-name", NULL, 200, 0);
	cr_expect_eq(list_size(NULL, ACC "acme/r2/buckets/shared-name/objects", NULL), 1);
}

Test(admin_storage, count_quotas_refuse_with_403)
{
	json_t *env;

	json_decref(admin_json(e, NULL, "PUT", "/edged/v1/tenants/acme",
	    "{\"limits\":{\"kv_namespaces\":1,\"d1_databases\":0,\"r2_buckets\":2}}", 200));
	env = admin_json(e, NULL, "GET", "/edged/v1/tenants/acme", NULL, 200);
	cr_expect_eq(json_integer_value(json_object_get(
			 json_object_get(envelope_result(env), "limits"), "kv_namespaces")),
	    1);
	json_decref(env);
	free(admin_kv_namespace_create(e, "acme", "first"));
	env = admin_json(
	    e, NULL, "POST", ACC "acme/storage/kv/namespaces", "{\"title\":\"second\"}", 403);
	cr_expect_eq(envelope_error_code(env), 10032);
	cr_expect_not_null(
	    strstr(envelope_error_message(env), "limit"), "%s", envelope_error_message(env));
	json_decref(env);
	expect("POST", ACC "acme/d1/database", "{\"name\":\"none\"}", 403, 10032);
	admin_r2_bucket_create(e, "acme", "one");
	admin_r2_bucket_create(e, "acme", "two");
	expect("POST", ACC "acme/r2/buckets", "{\"name\":\"three\"}", 403, 10032);
	/* The other tenant is not bound by acme's limits. */
	free(admin_kv_namespace_create(e, "other", "second"));
	/* Raising the limit makes room. */
	json_decref(admin_json(
	    e, NULL, "PUT", "/edged/v1/tenants/acme", "{\"limits\":{\"kv_namespaces\":2}}", 200));
	free(admin_kv_namespace_create(e, "acme", "second"));
}

Test(admin_storage, upload_bindings_must_name_the_tenants_own_resources)
{
	char *mine = admin_kv_namespace_create(e, "acme", "mine");
	char *theirs = admin_kv_namespace_create(e, "other", "theirs");
	char *db = admin_d1_database_create(e, "acme", "db");
	char bindings[512];
	struct response r;

	admin_r2_bucket_create(e, "acme", "assets");
	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"}]", theirs);
	r = admin_upload_module(e, "acme", "site", HELLO, bindings);
	cr_expect_eq(r.status, 400, "%s", r.body);
	cr_expect_not_null(strstr(r.body, "binding 'KV': KV namespace"), "%s", r.body);
	response_free(&r);

	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"},"
	    "{\"type\":\"d1\",\"name\":\"DB\",\"database_id\":\"%s\"},"
	    "{\"type\":\"r2_bucket\",\"name\":\"ASSETS\",\"bucket_name\":\"assets\"}]",
	    mine, db);
	r = admin_upload_module(e, "acme", "site", HELLO, bindings);
	cr_expect_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = admin_upload_module(e, "other", "site", HELLO, bindings);
	cr_expect_eq(r.status, 400, "%s", r.body);
	response_free(&r);
	free(mine);
	free(theirs);
	free(db);
}

/* --- data through the broker --------------------------------------------------- */

static struct response
admin_raw(const char *method, const char *path, const char *ctype, const char *body, size_t len)
{
	return http_do(method, e->admin_addr, path, NULL, TEST_TOKEN, ctype, body, len);
}

Test(admin_storage, kv_values_round_trip)
{
	char *id = admin_kv_namespace_create(e, "acme", "data"), path[512];
	struct response r;
	json_t *env, *keys;

	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/user%%2F1", id);
	r = admin_raw("PUT", path, "application/octet-stream", "hello\0world", 11);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = admin_raw("GET", path, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(r.body_len, 11);
	cr_expect_eq(memcmp(r.body, "hello\0world", 11), 0);
	response_free(&r);

	/* Multipart with metadata, then read the metadata back. */
	{
		static const char form[] =
		    "--b\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nv2\r\n"
		    "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
		    "{\"owner\":\"ops\"}\r\n--b--\r\n";
		char mpath[512];

		snprintf(
		    path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/user%%2F2", id);
		r = admin_raw(
		    "PUT", path, "multipart/form-data; boundary=b", form, sizeof(form) - 1);
		cr_assert_eq(r.status, 200, "%s", r.body);
		response_free(&r);
		snprintf(mpath, sizeof(mpath),
		    ACC "acme/storage/kv/namespaces/%s/metadata/user%%2F2", id);
		env = admin_json(e, NULL, "GET", mpath, NULL, 200);
		cr_expect_str_eq(
		    json_string_value(json_object_get(envelope_result(env), "owner")), "ops");
		json_decref(env);
	}

	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/keys?prefix=user%%2F", id);
	env = admin_json(e, NULL, "GET", path, NULL, 200);
	keys = envelope_result(env);
	cr_expect_eq(json_array_size(keys), 2);
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(keys, 0), "name")), "user/1");
	json_decref(env);

	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/bulk", id);
	env = admin_json(e, NULL, "PUT", path,
	    "[{\"key\":\"b1\",\"value\":\"one\"},{\"key\":\"b2\",\"value\":\"dHdv\","
	    "\"base64\":true}]",
	    200);
	json_decref(env);
	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/b2", id);
	r = admin_raw("GET", path, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(r.body, "two");
	response_free(&r);
	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/bulk/delete", id);
	json_decref(admin_json(e, NULL, "POST", path, "[\"b1\",\"b2\"]", 200));
	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/b1", id);
	expect("GET", path, NULL, 404, 10009);

	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/user%%2F1", id);
	expect("DELETE", path, NULL, 200, 0);
	expect("GET", path, NULL, 404, 10009);
	free(id);
}

Test(admin_storage, kv_values_survive_a_restart)
{
	char *id = admin_kv_namespace_create(e, "acme", "durable"), path[512];
	struct response r;

	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/k", id);
	r = admin_raw("PUT", path, NULL, "kept", 4);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	cr_assert_eq(edged_stop(e), 0);
	edged_restart(e);
	r = admin_raw("GET", path, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(r.body, "kept");
	response_free(&r);
	free(id);
}

/* The newest "broker started (pid N)" of the log. */
static pid_t
broker_pid(void)
{
	static const char needle[] = "broker started (pid ";
	const char *p, *last = NULL;
	pid_t pid;

	pthread_mutex_lock(&e->log_lock);
	for (p = e->log; p != NULL && (p = strstr(p, needle)) != NULL; p += sizeof(needle) - 1)
		last = p;
	pid = last != NULL ? (pid_t)atol(last + sizeof(needle) - 1) : 0;
	pthread_mutex_unlock(&e->log_lock);
	return pid;
}

Test(admin_storage, calls_work_again_after_the_broker_restarts)
{
	char *id = admin_kv_namespace_create(e, "acme", "restart"), path[512];
	struct response r;
	pid_t pid = broker_pid();

	snprintf(path, sizeof(path), ACC "acme/storage/kv/namespaces/%s/values/k", id);
	r = admin_raw("PUT", path, NULL, "before", 6);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	cr_assert_gt(pid, 0);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert(edged_log_wait_count(e, "broker started (pid ", 2, 30000),
	    "the broker was not restarted");
	cr_assert_neq(broker_pid(), pid);
	/* What was acknowledged before the crash is there, and new calls go through. */
	r = admin_raw("GET", path, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(r.body, "before");
	response_free(&r);
	r = admin_raw("PUT", path, NULL, "after", 5);
	cr_expect_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	free(id);
}

Test(admin_storage, d1_sql_round_trip)
{
	char *id = admin_d1_database_create(e, "acme", "app"), path[256];
	json_t *env, *rows, *st;

	snprintf(path, sizeof(path), ACC "acme/d1/database/%s/query", id);
	env = admin_json(e, NULL, "POST", path,
	    "{\"sql\":\"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
	    " INSERT INTO users (name) VALUES ('ada')\"}",
	    200);
	cr_expect_eq(json_array_size(envelope_result(env)), 2, "one entry per statement");
	json_decref(env);
	json_decref(admin_json(e, NULL, "POST", path,
	    "{\"sql\":\"INSERT INTO users (name) VALUES (?1)\",\"params\":[\"grace\"]}", 200));
	env = admin_json(
	    e, NULL, "POST", path, "{\"sql\":\"SELECT id, name FROM users ORDER BY id\"}", 200);
	st = json_array_get(envelope_result(env), 0);
	cr_expect(json_is_true(json_object_get(st, "success")));
	cr_expect(json_is_object(json_object_get(st, "meta")));
	rows = json_object_get(st, "results");
	cr_assert_eq(json_array_size(rows), 2, "%s", json_dumps(env, 0));
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(rows, 1), "name")), "grace");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), 1);
	json_decref(env);

	snprintf(path, sizeof(path), ACC "acme/d1/database/%s/raw", id);
	env =
	    admin_json(e, NULL, "POST", path, "{\"sql\":\"SELECT count(*) AS n FROM users\"}", 200);
	st = json_object_get(json_array_get(envelope_result(env), 0), "results");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(st, "columns"), 0)), "n");
	cr_expect_eq(
	    json_integer_value(json_array_get(json_array_get(json_object_get(st, "rows"), 0), 0)),
	    2);
	json_decref(env);

	env = admin_json(e, NULL, "POST", path, "{\"sql\":\"SELECT * FROM nowhere\"}", 400);
	cr_expect_not_null(
	    strstr(envelope_error_message(env), "nowhere"), "%s", envelope_error_message(env));
	json_decref(env);

	snprintf(path, sizeof(path), ACC "acme/d1/database/%s", id);
	env = admin_json(e, NULL, "GET", path, NULL, 200);
	cr_expect_eq(json_integer_value(json_object_get(envelope_result(env), "num_tables")), 1);
	cr_expect_gt(json_integer_value(json_object_get(envelope_result(env), "file_size")), 0);
	json_decref(env);
	free(id);
}

Test(admin_storage, r2_objects_round_trip)
{
	static const char obj[] = ACC "acme/r2/buckets/files/objects/docs%2Fa%20b.txt";
	struct response r;
	char *etag, *type, *modified;
	json_t *env, *info;

	admin_r2_bucket_create(e, "acme", "files");
	r = admin_raw("PUT", obj, "text/plain", "hello r2", 8);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_not_null(strstr(r.body, "\"key\":\"docs/a b.txt\""), "%s", r.body);
	response_free(&r);
	r = admin_raw("PUT", ACC "acme/r2/buckets/files/objects/docs/c.txt", NULL, "c", 1);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = admin_raw("PUT", ACC "acme/r2/buckets/files/objects/top.txt", NULL, "t", 1);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);

	r = admin_raw("GET", obj, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(r.body, "hello r2");
	etag = response_header(&r, "ETag");
	type = response_header(&r, "Content-Type");
	modified = response_header(&r, "Last-Modified");
	cr_expect_not_null(etag);
	cr_expect(etag != NULL && etag[0] == '"', "ETag %s", etag != NULL ? etag : "");
	cr_expect_str_eq(type != NULL ? type : "", "text/plain");
	cr_expect(modified != NULL && strstr(modified, "GMT") != NULL);
	free(etag);
	free(type);
	free(modified);
	response_free(&r);

	env = admin_json(
	    e, NULL, "GET", ACC "acme/r2/buckets/files/objects?delimiter=%2F", NULL, 200);
	cr_expect_eq(json_array_size(envelope_result(env)), 1, "only top.txt outside a folder");
	info = json_object_get(env, "result_info");
	cr_expect_str_eq(
	    json_string_value(json_array_get(json_object_get(info, "delimited"), 0)), "docs/");
	json_decref(env);
	cr_expect_eq(list_size(NULL, ACC "acme/r2/buckets/files/objects?prefix=docs%2F", NULL), 2);

	expect("DELETE", ACC "acme/r2/buckets/files", NULL, 409, 10008);
	expect("DELETE", obj, NULL, 200, 0);
	expect("GET", obj, NULL, 404, 10007);
	expect("DELETE", ACC "acme/r2/buckets/files/objects/docs/c.txt", NULL, 200, 0);
	expect("DELETE", ACC "acme/r2/buckets/files/objects/top.txt", NULL, 200, 0);
	expect("DELETE", ACC "acme/r2/buckets/files", NULL, 200, 0);
}
