/*
 * Unit tests for the admin API's storage endpoints (supervisor/admin_kv.c,
 * admin_d1.c, admin_r2.c over admin_storage.c): a real http_server with the
 * admin callbacks on 127.0.0.1:0 in its own event-loop thread (admin_rig.c),
 * and a fake broker behind the core's call hooks that records each call and
 * answers it as the test says.  Route captures with encoded keys, the mapping of
 * broker outcomes to HTTP, the registry, tenant scoping, binding checks.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "broker/store.h"
#include "common/buf.h"
#include "supervisor/admin.h"
#include "supervisor/http.h"
#include "supervisor/meta.h"
#include "tests/unit/supervisor/admin_rig.h"

#define TOKEN "operator-token-for-storage"
#define BODY_MAX 4096

/* --- the fake broker ------------------------------------------------------------- */

/* What the last call carried, and how the next one is answered; under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int calls;
	char kind[8], resource[80], method[40], limits[200];
	json_t *args;
	struct buf body;
	size_t output_max;
	bool discard_body;
} last;
static struct {
	bool refuse; /* the hook returns NULL: no broker */
	int status;
	char doc[1024];
	char body[256];
	size_t body_len;
} next;

struct fake_call {
	broker_call_done done;
	void *ctx;
	bool cancelled;
	int status;
	char doc[1024];
	char body[256];
	size_t body_len;
};

static void
fake_answer(evutil_socket_t fd, short what, void *arg)
{
	struct fake_call *c = arg;
	struct broker_outcome out = { c->status, c->doc, strlen(c->doc), (const uint8_t *)c->body,
		c->body_len };

	(void)fd;
	(void)what;
	if (!c->cancelled)
		c->done(c->ctx, &out);
	free(c);
}

static struct broker_call *
fake_call(void *core, const struct broker_call_args *a, broker_call_done done, void *ctx)
{
	struct fake_call *c;
	struct timeval now = { 0, 0 };

	(void)core;
	pthread_mutex_lock(&lock);
	last.calls++;
	snprintf(last.kind, sizeof(last.kind), "%s", a->kind);
	snprintf(last.resource, sizeof(last.resource), "%s", a->resource);
	snprintf(last.method, sizeof(last.method), "%s", a->method);
	snprintf(last.limits, sizeof(last.limits), "%s", a->limits);
	json_decref(last.args);
	last.args = json_loads(a->args, 0, NULL);
	buf_reset(&last.body);
	if (a->body != NULL) {
		buf_append(&last.body, a->body->data, a->body->len);
		buf_release(a->body); /* taken, as broker_call does */
	}
	last.output_max = a->output_max;
	last.discard_body = a->discard_body;
	if (next.refuse) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->done = done;
	c->ctx = ctx;
	c->status = next.status;
	memcpy(c->doc, next.doc, sizeof(c->doc));
	memcpy(c->body, next.body, sizeof(c->body));
	c->body_len = next.body_len;
	pthread_mutex_unlock(&lock);
	/* Answered from the loop, later, as the contract says. */
	cr_assert_eq(event_base_once(rig.base, -1, EV_TIMEOUT, fake_answer, c, &now), 0);
	return (struct broker_call *)c;
}

static void
fake_cancel(void *core, struct broker_call *call)
{
	(void)core;
	((struct fake_call *)call)->cancelled = true;
}

/* How the next call is answered. */
static void
answer(int status, const char *doc, const char *body, size_t body_len)
{
	pthread_mutex_lock(&lock);
	next.refuse = false;
	next.status = status;
	snprintf(next.doc, sizeof(next.doc), "%s", doc);
	memcpy(next.body, body != NULL ? body : "", body_len);
	next.body_len = body_len;
	pthread_mutex_unlock(&lock);
}

/* --- the server and its client ------------------------------------------------ */

static void
setup(void)
{
	static const struct admin_hooks hooks = { .call = fake_call, .call_cancel = fake_cancel };
	static const char *const tenants[] = { "acme", "other", NULL };
	struct admin_limits limits = { 1000, BODY_MAX };

	memset(&last, 0, sizeof(last));
	buf_init(&last.body);
	answer(STORE_OK, "{}", NULL, 0);
	admin_rig_start(&hooks, &limits, TOKEN, tenants);
}

static void
teardown(void)
{
	admin_rig_stop();
	json_decref(last.args);
	buf_release(&last.body);
}

TestSuite(admin_storage, .init = setup, .fini = teardown, .timeout = 60);

/* An enveloped answer with the expected status; decref it. */
static json_t *
call_as(const char *token, const char *method, const char *path, const char *body, long want)
{
	return admin_rig_call(token, method, path, body != NULL ? "application/json" : NULL, body,
	    body != NULL ? strlen(body) : 0, want);
}

static json_t *
call(const char *method, const char *path, const char *body, long want)
{
	return call_as(TOKEN, method, path, body, want);
}

/* The last call's argument `name` as a string ("" when absent). */
static const char *
last_arg(const char *name)
{
	const char *s = json_string_value(json_object_get(last.args, name));

	return s != NULL ? s : "";
}

#define KV "/client/v4/accounts/acme/storage/kv/namespaces"

/* Creates a namespace of acme; its id into id (33 bytes). */
static void
kv_create(const char *title, char *id)
{
	char body[256];
	json_t *env;

	snprintf(body, sizeof(body), "{\"title\":\"%s\"}", title);
	answer(STORE_OK, "{}", NULL, 0);
	env = call("POST", KV, body, 200);
	snprintf(id, 33, "%s", json_string_value(json_object_get(envelope_result(env), "id")));
	json_decref(env);
}

/* --- KV ------------------------------------------------------------------------- */

Test(admin_storage, kv_namespace_create_list_delete)
{
	char id[33], path[256];
	json_t *env, *info;

	kv_create("sessions", id);
	cr_assert_eq(strlen(id), 32);
	cr_assert_str_eq(last.kind, "kv");
	cr_assert_str_eq(last.method, "create");
	cr_assert_str_eq(last.resource, id);

	env = call("POST", KV, "{\"title\":\"sessions\"}", 409);
	cr_assert_eq(envelope_error_code(env), 10033);
	json_decref(env);
	env = call("POST", KV, "{\"title\":\"\"}", 400);
	json_decref(env);
	env = call("POST", KV, "{\"name\":\"x\"}", 400);
	json_decref(env);

	env = call("GET", KV, NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 1);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(envelope_result(env), 0), "title")),
	    "sessions");
	cr_assert(json_is_true(
	    json_object_get(json_array_get(envelope_result(env), 0), "supports_url_encoding")));
	info = json_object_get(env, "result_info");
	cr_assert_eq(json_integer_value(json_object_get(info, "total_count")), 1);
	cr_assert_eq(json_integer_value(json_object_get(info, "page")), 1);
	json_decref(env);

	snprintf(path, sizeof(path), KV "/%s", id);
	answer(STORE_OK, "{}", NULL, 0);
	json_decref(call("DELETE", path, NULL, 200));
	cr_assert_str_eq(last.method, "drop");
	env = call("DELETE", path, NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10013);
	json_decref(env);
	env = call("GET", KV, NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 0);
	json_decref(env);
}

Test(admin_storage, a_create_the_broker_refuses_leaves_no_row)
{
	json_t *env;

	answer(STORE_E_INTERNAL, "{\"message\":\"disk full\"}", NULL, 0);
	env = call("POST", KV, "{\"title\":\"doomed\"}", 500);
	cr_assert_str_eq(envelope_error_message(env), "disk full");
	json_decref(env);
	env = call("GET", KV, NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 0);
	json_decref(env);
	/* The title is free for the next try. */
	answer(STORE_OK, "{}", NULL, 0);
	json_decref(call("POST", KV, "{\"title\":\"doomed\"}", 200));
}

Test(admin_storage, keys_in_the_path_are_percent_decoded)
{
	char id[33], path[2048];
	struct admin_rig_response r;
	json_t *env;

	kv_create("keys", id);
	answer(STORE_OK, "{}", NULL, 0);
	snprintf(path, sizeof(path), KV "/%s/values/a%%2Fb%%20c%%25+d", id);
	admin_rig_request("PUT", path, TOKEN, NULL, "v", 1, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(last.method, "put");
	cr_assert_str_eq(last_arg("key"), "a/b c%+d", "'+' stays in a path");
	cr_assert_eq(last.body.len, 1);

	/* A raw '/' is part of the key too. */
	snprintf(path, sizeof(path), KV "/%s/values/dir/sub/file.txt", id);
	admin_rig_request("PUT", path, TOKEN, NULL, "", 0, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(last_arg("key"), "dir/sub/file.txt");

	/* Bad escapes, bad UTF-8, too long, missing. */
	snprintf(path, sizeof(path), KV "/%s/values/a%%zz", id);
	env = call("GET", path, NULL, 400);
	cr_assert_eq(envelope_error_code(env), 10034);
	json_decref(env);
	snprintf(path, sizeof(path), KV "/%s/values/%%ff", id);
	env = call("GET", path, NULL, 400);
	cr_assert_eq(envelope_error_code(env), 10034);
	json_decref(env);
	{
		int n = snprintf(path, sizeof(path), KV "/%s/values/", id);

		memset(path + n, 'k', 513);
		path[n + 513] = '\0';
		env = call("GET", path, NULL, 414);
		json_decref(env);
		path[n + 512] = '\0';
		answer(STORE_OK, "{\"found\":false}", NULL, 0);
		env = call("GET", path, NULL, 404);
		cr_assert_eq(strlen(last_arg("key")), 512, "512 bytes are a key");
		json_decref(env);
	}
	snprintf(path, sizeof(path), KV "/%s/values/", id);
	env = call("GET", path, NULL, 404);
	json_decref(env);
}

Test(admin_storage, kv_values_come_back_raw)
{
	static const char value[] = "bin\0ary\xff";
	char id[33], path[256];
	struct admin_rig_response r;
	json_t *env;

	kv_create("raw", id);
	snprintf(path, sizeof(path), KV "/%s/values/k", id);
	answer(STORE_OK, "{\"found\":true,\"metadata\":null}", value, sizeof(value) - 1);
	admin_rig_request("GET", path, TOKEN, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, sizeof(value) - 1);
	cr_assert_eq(memcmp(r.body, value, r.len), 0);
	cr_assert_not_null(strcasestr(r.headers, "Content-Type: application/octet-stream"));
	cr_assert_eq(last.output_max, BODY_MAX, "downloads are held up to the body limit");

	answer(STORE_OK, "{\"found\":false}", NULL, 0);
	env = call("GET", path, NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10009);
	cr_assert_str_eq(envelope_error_message(env), "key not found");
	json_decref(env);

	snprintf(path, sizeof(path), KV "/%s/metadata/k", id);
	answer(STORE_OK, "{\"found\":true,\"metadata\":{\"v\":2}}", NULL, 0);
	env = call("GET", path, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(envelope_result(env), "v")), 2);
	cr_assert(last.discard_body, "metadata never fetches the value");
	json_decref(env);
}

Test(admin_storage, kv_put_takes_expiration_and_multipart_metadata)
{
	static const char form[] = "--XyZ\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n"
				   "the value\r\n--XyZ\r\n"
				   "Content-Disposition: form-data; name=\"metadata\"\r\n\r\n"
				   "{\"owner\":\"ops\"}\r\n--XyZ--\r\n";
	char id[33], path[256];
	struct admin_rig_response r;

	kv_create("put", id);
	snprintf(path, sizeof(path), KV "/%s/values/k?expiration_ttl=120", id);
	admin_rig_request(
	    "PUT", path, TOKEN, "multipart/form-data; boundary=XyZ", form, sizeof(form) - 1, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(last.body.len, 9);
	cr_assert_eq(memcmp(last.body.data, "the value", 9), 0);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(last.args, "metadata"), "owner")),
	    "ops");
	cr_assert_eq(json_integer_value(json_object_get(last.args, "expiration_ttl")), 120);

	snprintf(path, sizeof(path), KV "/%s/values/k?expiration=abc", id);
	admin_rig_request("PUT", path, TOKEN, NULL, "x", 1, &r);
	cr_assert_eq(r.status, 400);
}

Test(admin_storage, kv_keys_list_and_bulk)
{
	char id[33], path[256];
	json_t *env;

	kv_create("list", id);
	snprintf(path, sizeof(path), KV "/%s/keys?prefix=a%%20b+c&limit=5&cursor=xyz", id);
	answer(STORE_OK,
	    "{\"keys\":[{\"name\":\"a b c1\"}],\"list_complete\":false,\"cursor\":\"n\"}", NULL, 0);
	env = call("GET", path, NULL, 200);
	cr_assert_str_eq(last.method, "list");
	cr_assert_str_eq(last_arg("prefix"), "a b c");
	cr_assert_str_eq(last_arg("cursor"), "xyz");
	cr_assert_eq(json_integer_value(json_object_get(last.args, "limit")), 5);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(envelope_result(env), 0), "name")),
	    "a b c1");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(env, "result_info"), "cursor")), "n");
	json_decref(env);
	snprintf(path, sizeof(path), KV "/%s/keys?limit=0", id);
	json_decref(call("GET", path, NULL, 400));

	snprintf(path, sizeof(path), KV "/%s/bulk", id);
	answer(STORE_OK, "{\"successful_key_count\":1,\"unsuccessful_keys\":[]}", NULL, 0);
	env = call("PUT", path, "[{\"key\":\"a\",\"value\":\"1\"}]", 200);
	cr_assert_str_eq(last.method, "bulkPut");
	cr_assert_eq(last.body.len, strlen("[{\"key\":\"a\",\"value\":\"1\"}]"));
	cr_assert_eq(
	    json_integer_value(json_object_get(envelope_result(env), "successful_key_count")), 1);
	json_decref(env);
	json_decref(call("PUT", path, "{\"key\":\"a\"}", 400));
	answer(STORE_OK, "{\"successful_key_count\":1}", NULL, 0);
	json_decref(call("DELETE", path, "[\"a\"]", 200));
	cr_assert_str_eq(last.method, "bulkDelete");
	snprintf(path, sizeof(path), KV "/%s/bulk/delete", id);
	json_decref(call("POST", path, "[\"a\"]", 200));
	cr_assert_str_eq(last.method, "bulkDelete");
}

Test(admin_storage, broker_outcomes_map_to_http)
{
	static const struct {
		int status;
		long http;
	} table[] = {
		{ STORE_E_INVALID, 400 },
		{ STORE_E_NOT_FOUND, 404 },
		{ STORE_E_TOO_LARGE, 413 },
		{ STORE_E_CONFLICT, 409 },
		{ STORE_E_FAILED, 400 },
		{ STORE_E_INTERNAL, 500 },
		{ STORE_E_UNAVAILABLE, 503 },
	};
	char id[33], path[256];
	json_t *env;

	kv_create("map", id);
	snprintf(path, sizeof(path), KV "/%s/values/k", id);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		answer(table[i].status, "{\"message\":\"said the broker\"}", NULL, 0);
		env = call("DELETE", path, NULL, table[i].http);
		cr_assert_str_eq(envelope_error_message(env), "said the broker");
		json_decref(env);
	}
	answer(STORE_E_FAILED, "{\"message\":\"nope (10020)\",\"code\":10020}", NULL, 0);
	env = call("DELETE", path, NULL, 400);
	cr_assert_eq(envelope_error_code(env), 10020, "the broker's code is kept");
	json_decref(env);

	pthread_mutex_lock(&lock);
	next.refuse = true;
	pthread_mutex_unlock(&lock);
	env = call("DELETE", path, NULL, 503);
	cr_assert_eq(envelope_error_code(env), 10031);
	json_decref(env);
}

Test(admin_storage, list_pages)
{
	char id[33];
	json_t *env, *info;

	kv_create("a", id);
	kv_create("b", id);
	kv_create("c", id);
	env = call("GET", KV "?per_page=2&page=2", NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 1);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(envelope_result(env), 0), "title")),
	    "c");
	info = json_object_get(env, "result_info");
	cr_assert_eq(json_integer_value(json_object_get(info, "count")), 1);
	cr_assert_eq(json_integer_value(json_object_get(info, "per_page")), 2);
	cr_assert_eq(json_integer_value(json_object_get(info, "total_count")), 3);
	json_decref(env);
	json_decref(call("GET", KV "?per_page=0", NULL, 400));
	json_decref(call("GET", KV "?per_page=101", NULL, 400));
}

/* --- tenants, limits, bindings --------------------------------------------------- */

static char *
tenant_token(const char *tenant)
{
	char path[128];
	json_t *env;
	char *token;

	snprintf(path, sizeof(path), "/edged/v1/tenants/%s/tokens", tenant);
	env = call("POST", path, NULL, 200);
	token = strdup(json_string_value(json_object_get(envelope_result(env), "token")));
	json_decref(env);
	return token;
}

Test(admin_storage, a_tenant_reaches_only_its_own_resources)
{
	char *other = tenant_token("other");
	char id[33], path[256];
	json_t *env;

	kv_create("mine", id);
	/* Through acme's path: not its account. */
	env = call_as(other, "GET", KV, NULL, 403);
	json_decref(env);
	snprintf(path, sizeof(path), KV "/%s/values/k", id);
	json_decref(call_as(other, "GET", path, NULL, 403));
	/* Through its own path: acme's namespace does not exist there. */
	snprintf(
	    path, sizeof(path), "/client/v4/accounts/other/storage/kv/namespaces/%s/values/k", id);
	pthread_mutex_lock(&lock);
	last.calls = 0;
	pthread_mutex_unlock(&lock);
	env = call_as(other, "GET", path, NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10013);
	cr_assert_eq(last.calls, 0, "the broker never heard of it");
	json_decref(env);
	env = call_as(other, "GET", "/client/v4/accounts/other/storage/kv/namespaces", NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 0);
	json_decref(env);
	free(other);
}

Test(admin_storage, storage_limits_on_the_tenant_and_count_quotas)
{
	char id[33];
	json_t *env, *limits;

	env = call("PUT", "/edged/v1/tenants/acme",
	    "{\"limits\":{\"cpu_ms\":100,\"kv_bytes\":1000000,\"kv_namespaces\":1,"
	    "\"r2_buckets\":0}}",
	    200);
	limits = json_object_get(envelope_result(env), "limits");
	cr_assert_eq(json_integer_value(json_object_get(limits, "kv_bytes")), 1000000);
	cr_assert_eq(json_integer_value(json_object_get(limits, "kv_namespaces")), 1);
	cr_assert_eq(json_integer_value(json_object_get(limits, "cpu_ms")), 100);
	json_decref(env);
	env = call("GET", "/edged/v1/tenants/acme", NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(
			 json_object_get(envelope_result(env), "limits"), "r2_buckets")),
	    0);
	json_decref(env);
	json_decref(call("PUT", "/edged/v1/tenants/acme", "{\"limits\":{\"kv_bytes\":0}}", 400));
	json_decref(call("PUT", "/edged/v1/tenants/acme", "{\"limits\":{\"kv_keys\":\"9\"}}", 400));

	kv_create("only", id);
	cr_assert_str_eq(last.limits, "{\"kv_bytes\":1000000}", "calls carry the quotas");
	env = call("POST", KV, "{\"title\":\"second\"}", 403);
	cr_assert_eq(envelope_error_code(env), 10032);
	cr_assert_not_null(strstr(envelope_error_message(env), "kv_namespaces"), "%s",
	    envelope_error_message(env));
	json_decref(env);
	env = call("POST", "/client/v4/accounts/acme/r2/buckets", "{\"name\":\"photos\"}", 403);
	json_decref(env);
	/* Another tenant is not limited by acme's limits. */
	json_decref(
	    call("POST", "/client/v4/accounts/other/r2/buckets", "{\"name\":\"photos\"}", 200));
}

static json_t *
upload(const char *tenant, const char *bindings, long want)
{
	char body[2048], path[256];
	struct admin_rig_response r;
	json_t *env;
	int n = snprintf(body, sizeof(body),
	    "--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
	    "{\"main_module\":\"w.js\",\"bindings\":%s}\r\n"
	    "--B\r\nContent-Disposition: form-data; name=\"w.js\"\r\n\r\nvar x;\r\n--B--\r\n",
	    bindings);

	snprintf(path, sizeof(path), "/client/v4/accounts/%s/workers/scripts/w", tenant);
	admin_rig_request(
	    "PUT", path, TOKEN, "multipart/form-data; boundary=B", body, (size_t)n, &r);
	cr_assert_eq(r.status, want, "%ld: %s", r.status, r.body);
	cr_assert_not_null(env = json_loads(r.body, 0, NULL));
	return env;
}

Test(admin_storage, bindings_must_name_the_tenants_own_resources)
{
	char kv[33], bindings[512];
	char d1[64];
	json_t *env;
	struct meta_version v;

	kv_create("bound", kv);
	env = call("POST", "/client/v4/accounts/acme/d1/database", "{\"name\":\"main\"}", 200);
	snprintf(
	    d1, sizeof(d1), "%s", json_string_value(json_object_get(envelope_result(env), "uuid")));
	json_decref(env);
	json_decref(
	    call("POST", "/client/v4/accounts/acme/r2/buckets", "{\"name\":\"assets\"}", 200));

	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"},"
	    "{\"type\":\"d1\",\"name\":\"DB\",\"database_id\":\"%s\"},"
	    "{\"type\":\"r2_bucket\",\"name\":\"R2\",\"bucket_name\":\"assets\"}]",
	    kv, d1);
	json_decref(upload("acme", bindings, 200));
	/* Stored normalised: database_id became id. */
	cr_assert_eq(meta_version_get(rig.meta, 1, &v), 1);
	cr_assert_not_null(strstr(v.bindings, "\"id\":\""), "%s", v.bindings);
	cr_assert_null(strstr(v.bindings, "database_id"), "%s", v.bindings);
	cr_assert_not_null(strstr(v.bindings, kv), "%s", v.bindings);
	meta_version_release(&v);

	/* The same ids from another tenant are not found. */
	env = upload("other", bindings, 400);
	cr_assert_eq(envelope_error_code(env), 10023);
	cr_assert_not_null(strstr(envelope_error_message(env), "binding 'KV': KV namespace"), "%s",
	    envelope_error_message(env));
	cr_assert_not_null(strstr(envelope_error_message(env), "not found"));
	json_decref(env);
	env = upload("acme",
	    "[{\"type\":\"r2_bucket\",\"name\":\"R2\",\"bucket_name\":\"missing-bucket\"}]", 400);
	cr_assert_str_eq(
	    envelope_error_message(env), "binding 'R2': R2 bucket 'missing-bucket' not found");
	json_decref(env);
	env = upload("acme", "[{\"type\":\"d1\",\"name\":\"DB\"}]", 400);
	json_decref(env);
}

/* --- D1 and R2 ------------------------------------------------------------------ */

Test(admin_storage, d1_databases_and_queries)
{
	char path[256], uuid[64];
	json_t *env, *st;

	json_decref(
	    call("POST", "/client/v4/accounts/acme/d1/database", "{\"name\":\"bad name\"}", 400));
	env = call("POST", "/client/v4/accounts/acme/d1/database", "{\"name\":\"main\"}", 200);
	snprintf(uuid, sizeof(uuid), "%s",
	    json_string_value(json_object_get(envelope_result(env), "uuid")));
	cr_assert_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "version")), "production");
	cr_assert_eq(json_integer_value(json_object_get(envelope_result(env), "num_tables")), 0);
	json_decref(env);
	cr_assert_str_eq(last.kind, "d1");

	snprintf(path, sizeof(path), "/client/v4/accounts/acme/d1/database/%s", uuid);
	answer(STORE_OK, "{\"file_size\":8192,\"num_tables\":2}", NULL, 0);
	env = call("GET", path, NULL, 200);
	cr_assert_str_eq(last.method, "info");
	cr_assert_eq(json_integer_value(json_object_get(envelope_result(env), "file_size")), 8192);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "name")), "main");
	json_decref(env);

	snprintf(path, sizeof(path), "/client/v4/accounts/acme/d1/database/%s/query", uuid);
	answer(STORE_OK,
	    "{\"results\":[{\"columns\":[\"id\",\"name\"],\"rows\":[[1,\"a\"],[2,null]],"
	    "\"meta\":{\"changes\":0}},{\"columns\":[],\"rows\":[],\"meta\":{\"changes\":1}}]}",
	    NULL, 0);
	env = call("POST", path, "{\"sql\":\"SELECT id, name FROM t; DELETE FROM t\"}", 200);
	cr_assert_str_eq(last.method, "queryAll");
	cr_assert_str_eq(last_arg("sql"), "SELECT id, name FROM t; DELETE FROM t");
	cr_assert_eq(json_array_size(envelope_result(env)), 2);
	st = json_array_get(envelope_result(env), 0);
	cr_assert(json_is_true(json_object_get(st, "success")));
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(st, "results"), 0), "name")),
	    "a");
	cr_assert(json_is_null(
	    json_object_get(json_array_get(json_object_get(st, "results"), 1), "name")));
	cr_assert_eq(
	    json_integer_value(json_object_get(
		json_object_get(json_array_get(envelope_result(env), 1), "meta"), "changes")),
	    1);
	json_decref(env);

	snprintf(path, sizeof(path), "/client/v4/accounts/acme/d1/database/%s/raw", uuid);
	answer(
	    STORE_OK, "{\"results\":[{\"columns\":[\"n\"],\"rows\":[[3]],\"meta\":{}}]}", NULL, 0);
	env = call("POST", path, "{\"sql\":\"SELECT ?1 AS n\",\"params\":[3]}", 200);
	cr_assert_eq(
	    json_integer_value(json_array_get(json_object_get(last.args, "params"), 0)), 3);
	st = json_object_get(json_array_get(envelope_result(env), 0), "results");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(st, "columns"), 0)), "n");
	json_decref(env);

	answer(STORE_E_FAILED, "{\"message\":\"D1_ERROR: no such table: t\"}", NULL, 0);
	env = call("POST", path, "{\"sql\":\"SELECT * FROM t\"}", 400);
	cr_assert_eq(envelope_error_code(env), 7500);
	cr_assert_str_eq(envelope_error_message(env), "D1_ERROR: no such table: t");
	json_decref(env);
	json_decref(call("POST", path, "{\"params\":[]}", 400));

	snprintf(path, sizeof(path), "/client/v4/accounts/acme/d1/database/%s", uuid);
	answer(STORE_OK, "{}", NULL, 0);
	json_decref(call("DELETE", path, NULL, 200));
	env = call("GET", path, NULL, 404);
	cr_assert_eq(envelope_error_code(env), 7404);
	json_decref(env);
}

Test(admin_storage, r2_buckets_and_objects)
{
	static const char path_obj[] = "/client/v4/accounts/acme/r2/buckets/photos/objects/"
				       "2024/cat%20one.jpg";
	struct admin_rig_response r;
	json_t *env;

	json_decref(
	    call("POST", "/client/v4/accounts/acme/r2/buckets", "{\"name\":\"Bad_Name\"}", 400));
	json_decref(call("POST", "/client/v4/accounts/acme/r2/buckets", "{\"name\":\"-x-\"}", 400));
	env = call("POST", "/client/v4/accounts/acme/r2/buckets", "{\"name\":\"photos\"}", 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "name")), "photos");
	cr_assert_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "location")), "auto");
	json_decref(env);
	env = call("GET", "/client/v4/accounts/acme/r2/buckets", NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(envelope_result(env), "buckets")), 1);
	json_decref(env);

	answer(STORE_OK,
	    "{\"object\":{\"key\":\"2024/cat one.jpg\",\"size\":3,\"etag\":\"abc\","
	    "\"httpEtag\":\"\\\"abc\\\"\",\"uploaded\":1700000000000,"
	    "\"httpMetadata\":{\"contentType\":\"image/jpeg\"},\"customMetadata\":{}}}",
	    NULL, 0);
	admin_rig_request("PUT", path_obj, TOKEN, "image/jpeg", "JPG", 3, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(last_arg("key"), "2024/cat one.jpg");
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(last.args, "httpMetadata"), "contentType")),
	    "image/jpeg");
	cr_assert_not_null(strstr(r.body, "\"etag\":\"abc\""), "%s", r.body);

	answer(STORE_OK,
	    "{\"body\":true,\"object\":{\"key\":\"2024/cat one.jpg\",\"size\":3,\"etag\":\"abc\","
	    "\"httpEtag\":\"\\\"abc\\\"\",\"uploaded\":1700000000000,"
	    "\"httpMetadata\":{\"contentType\":\"image/jpeg\"}}}",
	    "JPG", 3);
	admin_rig_request("GET", path_obj, TOKEN, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "JPG");
	cr_assert_not_null(strcasestr(r.headers, "ETag: \"abc\""), "%s", r.headers);
	cr_assert_not_null(strcasestr(r.headers, "Content-Type: image/jpeg"), "%s", r.headers);
	cr_assert_not_null(
	    strcasestr(r.headers, "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT"), "%s", r.headers);

	{
		char path[1200];
		int n = snprintf(
		    path, sizeof(path), "/client/v4/accounts/acme/r2/buckets/photos/objects/");

		memset(path + n, 'k', 1025);
		path[n + 1025] = '\0';
		env = call("GET", path, NULL, 414);
		cr_assert_eq(envelope_error_code(env), 10034);
		json_decref(env);
	}

	answer(STORE_OK, "{\"object\":null,\"body\":false}", NULL, 0);
	env = call("GET", "/client/v4/accounts/acme/r2/buckets/photos/objects/nope", NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10007);
	json_decref(env);

	answer(STORE_OK,
	    "{\"objects\":[{\"key\":\"a\",\"size\":1,\"uploaded\":0}],\"delimitedPrefixes\":[\"d/"
	    "\"],"
	    "\"truncated\":true,\"cursor\":\"c1\"}",
	    NULL, 0);
	env = call("GET",
	    "/client/v4/accounts/acme/r2/buckets/photos/objects?prefix=p&delimiter=%2F&per_page=5",
	    NULL, 200);
	cr_assert_str_eq(last_arg("delimiter"), "/");
	cr_assert_eq(json_integer_value(json_object_get(last.args, "limit")), 5);
	cr_assert_eq(json_array_size(envelope_result(env)), 1);
	cr_assert(
	    json_is_true(json_object_get(json_object_get(env, "result_info"), "is_truncated")));
	json_decref(env);

	answer(STORE_E_CONFLICT, "{\"message\":\"bucket not empty\"}", NULL, 0);
	env = call("DELETE", "/client/v4/accounts/acme/r2/buckets/photos", NULL, 409);
	cr_assert_eq(envelope_error_code(env), 10008);
	json_decref(env);
	answer(STORE_OK, "{}", NULL, 0);
	json_decref(call("DELETE", "/client/v4/accounts/acme/r2/buckets/photos", NULL, 200));
	env = call("GET", "/client/v4/accounts/acme/r2/buckets/photos", NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10006);
	json_decref(env);
}
