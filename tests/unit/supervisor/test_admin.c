/*
 * Unit tests for supervisor/admin*.c: a real http_server with the admin
 * callbacks on 127.0.0.1:0 in its own event-loop thread (admin_rig.c) and
 * fake core hooks, driven over HTTP with libcurl.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/ipc.h"
#include "supervisor/admin.h"
#include "supervisor/http.h"
#include "supervisor/meta.h"
#include "tests/unit/supervisor/admin_rig.h"

#define TOKEN "s3cret-operator-token"
#define SCRIPT_MAX 1000
#define BODY_MAX 4096
#define BOUNDARY "XbOuNdArY7"

static atomic_int changed_calls;
static atomic_int validate_calls;
static atomic_int last_format = -1;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_bindings[1024];

/* --- the fake core ------------------------------------------------------------- */

struct pending {
	admin_validate_done done;
	void *ctx;
	bool ok;
};

static void
finish(admin_validate_done done, void *ctx, bool ok)
{
	struct admin_validation r = {
		.ok = ok, .line = ok ? 0 : 3, .message = ok ? "" : "SyntaxError: unexpected token"
	};

	done(ctx, &r);
}

static void
pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	finish(p->done, p->ctx, p->ok);
	free(p);
}

static bool
has(const struct admin_script *s, const char *word)
{
	return memmem(s->script, s->script_len, word, strlen(word)) != NULL;
}

/* Fails scripts containing "SYNTAX" (line 3); "SYNC" answers inside the call, "SLOW" late. */
static void
fake_validate(void *core, const struct admin_script *s, admin_validate_done done, void *ctx)
{
	struct timeval tv = { 0, has(s, "SLOW") ? 300000 : 0 };
	struct pending *p;

	(void)core;
	atomic_fetch_add(&validate_calls, 1);
	atomic_store(&last_format, s->format);
	pthread_mutex_lock(&last_lock);
	snprintf(last_bindings, sizeof(last_bindings), "%s", s->bindings);
	pthread_mutex_unlock(&last_lock);
	if (has(s, "SYNC")) {
		finish(done, ctx, !has(s, "SYNTAX"));
		return;
	}
	p = malloc(sizeof(*p));
	cr_assert_not_null(p);
	*p = (struct pending) { done, ctx, !has(s, "SYNTAX") };
	cr_assert_eq(event_base_once(rig.base, -1, EV_TIMEOUT, pending_cb, p, &tv), 0);
}

static void
fake_changed(void *core)
{
	(void)core;
	atomic_fetch_add(&changed_calls, 1);
}

static char *
fake_status(void *core)
{
	(void)core;
	return strdup("{\"pool\":{\"idle\":2}}");
}

/* --- the server and its client ------------------------------------------------ */

static void
setup(void)
{
	static const struct admin_hooks hooks = {
		.validate = fake_validate, .changed = fake_changed, .status_json = fake_status
	};
	struct admin_limits limits = { SCRIPT_MAX, BODY_MAX };

	admin_rig_start(&hooks, &limits, TOKEN, NULL);
}

TestSuite(admin, .init = setup, .fini = admin_rig_stop, .timeout = 60);

/* An operator call: checks the envelope and returns it (decref it). */
static json_t *
call(const char *method, const char *path, const char *ctype, const char *body, size_t len,
    long want_status)
{
	return admin_rig_call(TOKEN, method, path, ctype, body, len, want_status);
}

static json_t *
call_json(const char *method, const char *path, const char *body, long want_status)
{
	return call(
	    method, path, "application/json", body, body != NULL ? strlen(body) : 0, want_status);
}

static void
tenant(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/edged/v1/tenants/%s", name);
	json_decref(call_json("PUT", path, NULL, 200));
}

/* A multipart upload body with a metadata part and one script part. */
static size_t
form(char *out, size_t out_len, const char *metadata, const char *part, const char *script)
{
	int n = snprintf(out, out_len,
	    "--" BOUNDARY "\r\n"
	    "Content-Disposition: form-data; name=\"metadata\"\r\n"
	    "Content-Type: application/json\r\n\r\n"
	    "%s\r\n"
	    "--" BOUNDARY "\r\n"
	    "Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
	    "Content-Type: application/javascript+module\r\n\r\n"
	    "%s\r\n"
	    "--" BOUNDARY "--\r\n",
	    metadata, part, part, script);

	cr_assert(n > 0 && (size_t)n < out_len);
	return (size_t)n;
}

static json_t *
upload(const char *tenant_name, const char *worker, const char *metadata, const char *part,
    const char *script, long want_status)
{
	char body[BODY_MAX * 2], path[256];
	size_t len = form(body, sizeof(body), metadata, part, script);

	snprintf(
	    path, sizeof(path), "/client/v4/accounts/%s/workers/scripts/%s", tenant_name, worker);
	return call("PUT", path, "multipart/form-data; boundary=" BOUNDARY, body, len, want_status);
}

static const char module_md[] =
    "{\"main_module\":\"index.js\",\"compatibility_date\":\"2024-09-01\",\"bindings\":["
    "{\"type\":\"plain_text\",\"name\":\"GREETING\",\"text\":\"hi\"},"
    "{\"type\":\"secret_text\",\"name\":\"API_KEY\",\"text\":\"hush\"},"
    "{\"type\":\"json\",\"name\":\"CONF\",\"json\":{\"a\":[1,2]}}]}";
static const char module_js[] = "export default { fetch() { return new Response('hi'); } };";

static size_t
version_count(const char *tenant_name, const char *worker)
{
	char path[256];
	json_t *env;
	size_t n;

	snprintf(path, sizeof(path), "/client/v4/accounts/%s/workers/scripts/%s/versions",
	    tenant_name, worker);
	env = call("GET", path, NULL, NULL, 0, 200);
	n = json_array_size(json_object_get(envelope_result(env), "items"));
	json_decref(env);
	return n;
}

/* --- tests ----------------------------------------------------------------------- */

Test(admin, auth_required)
{
	static const char *const tokens[] = { NULL, "", "wrong", TOKEN "x",
		"s3cret-operator-tokeN" };
	struct admin_rig_response r;

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		json_t *env;

		admin_rig_request("PUT", "/edged/v1/tenants/acme", tokens[i], NULL, NULL, 0, &r);
		cr_assert_eq(r.status, 401, "token %zu: %ld", i, r.status);
		cr_assert_str_eq(r.content_type, "application/json");
		cr_assert_not_null(env = json_loads(r.body, 0, NULL));
		cr_assert(json_is_false(json_object_get(env, "success")));
		cr_assert(json_is_null(json_object_get(env, "result")), "no data");
		cr_assert_eq(envelope_error_code(env), 10000);
		cr_assert_str_eq(envelope_error_message(env), "Authentication error");
		cr_assert_null(strstr(r.body, TOKEN), "the token is never echoed");
		json_decref(env);
	}
	/* Unknown paths and /status need the token too. */
	admin_rig_request("GET", "/nope", NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 401);
	admin_rig_request("GET", "/status", "wrong", NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 401);
	/* Nothing was created. */
	admin_rig_request(
	    "GET", "/client/v4/accounts/acme/workers/scripts", TOKEN, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 404);
}

Test(admin, healthz_without_token)
{
	struct admin_rig_response r;

	admin_rig_request("GET", "/healthz", NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ok\n");
	cr_assert_eq(strncmp(r.content_type, "text/plain", 10), 0);
}

Test(admin, tenant_create)
{
	json_t *env;
	struct admin_rig_response r;

	env = call_json("PUT", "/edged/v1/tenants/acme", NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), "acme");
	cr_assert(json_is_true(json_object_get(envelope_result(env), "created")));
	json_decref(env);
	env = call_json("PUT", "/edged/v1/tenants/acme", "{\"plan\":\"free\"}", 200);
	cr_assert(json_is_false(json_object_get(envelope_result(env), "created")));
	json_decref(env);

	env = call_json("PUT", "/edged/v1/tenants/bad.name", NULL, 400);
	cr_assert_eq(envelope_error_code(env), 10014);
	json_decref(env);
	env = call_json("PUT", "/edged/v1/tenants/acme", "{\"plan\":", 400);
	cr_assert_neq(envelope_error_message(env)[0], '\0');
	json_decref(env);

	/* Bearer is case-insensitive and extra spaces are fine. */
	admin_rig_request("PUT", "/edged/v1/tenants/other", "  " TOKEN, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
}

Test(admin, multipart_upload_and_versions)
{
	const char *etag;
	char version[32], *dump;
	json_t *env, *items, *first;

	tenant("acme");
	env = upload("acme", "api", module_md, "index.js", module_js, 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), "api");
	cr_assert(json_is_string(json_object_get(envelope_result(env), "version_id")));
	snprintf(version, sizeof(version), "%s",
	    json_string_value(json_object_get(envelope_result(env), "version_id")));
	etag = json_string_value(json_object_get(envelope_result(env), "etag"));
	cr_assert_gt(atoi(version), 0);
	cr_assert_not_null(etag);
	cr_assert_eq(strspn(etag, "0123456789abcdef"), strlen(etag));
	cr_assert_gt(strlen(etag), 0);
	cr_assert_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "compatibility_date")),
	    "2024-09-01");
	cr_assert_eq(
	    strlen(json_string_value(json_object_get(envelope_result(env), "created_on"))), 20);
	cr_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(envelope_result(env), "handlers"), 0)),
	    "fetch");
	cr_assert_eq(atomic_load(&last_format), IPC_FORMAT_MODULE);
	pthread_mutex_lock(&last_lock);
	cr_assert_not_null(strstr(last_bindings, "\"GREETING\""));
	cr_assert_not_null(strstr(last_bindings, "secret_text"));
	pthread_mutex_unlock(&last_lock);
	cr_assert_eq(atomic_load(&changed_calls), 1);
	json_decref(env);
	cr_assert_eq(version_count("acme", "api"), 1);

	env = upload("acme", "api", "{\"main_module\":\"w.js\"}", "w.js", "var SYNC = 1;", 200);
	json_decref(env);
	cr_assert_eq(atomic_load(&changed_calls), 2);

	env = call(
	    "GET", "/client/v4/accounts/acme/workers/scripts/api/versions", NULL, NULL, 0, 200);
	items = json_object_get(envelope_result(env), "items");
	cr_assert_eq(json_array_size(items), 2, "the versions listing grows");
	first = json_array_get(items, 0);
	cr_assert(json_is_true(json_object_get(first, "active")), "newest first, and active");
	cr_assert_eq(json_integer_value(json_object_get(first, "number")), 2);
	cr_assert_gt(atoi(json_string_value(json_object_get(first, "id"))), atoi(version));
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(first, "metadata"), "source")),
	    "api");
	cr_assert(json_is_false(json_object_get(json_array_get(items, 1), "active")));
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 1), "number")), 1);
	dump = json_dumps(env, 0);
	cr_assert_null(strstr(dump, "hush"), "secrets are never returned");
	free(dump);
	json_decref(env);
}

Test(admin, bad_metadata)
{
	json_t *env;

	tenant("acme");
	env = upload("acme", "api", "{\"main_module\": \"index.js\",", "index.js", module_js, 400);
	cr_assert_eq(envelope_error_code(env), 10001);
	cr_assert_not_null(
	    strstr(envelope_error_message(env), "metadata"), "%s", envelope_error_message(env));
	json_decref(env);
	env = upload("acme", "api", "[1]", "index.js", module_js, 400);
	json_decref(env);
	env = upload("acme", "api", "{}", "index.js", module_js, 400);
	cr_assert_not_null(strstr(envelope_error_message(env), "main_module"));
	json_decref(env);
	env = upload("acme", "api", "{\"main_module\":\"other.js\"}", "index.js", module_js, 400);
	json_decref(env);
	env =
	    upload("acme", "api", "{\"main_module\":\"index.js\",\"compatibility_date\":\"soon\"}",
		"index.js", module_js, 400);
	json_decref(env);
	env = upload("acme", "api", "{\"main_module\":\"index.js\",\"bindings\":{}}", "index.js",
	    module_js, 400);
	json_decref(env);
	cr_assert_eq(atomic_load(&validate_calls), 0, "nothing reached validation");
	cr_assert_eq(atomic_load(&changed_calls), 0);
}

Test(admin, bindings_rejected)
{
	json_t *env;

	tenant("acme");
	env = upload("acme", "api",
	    "{\"main_module\":\"index.js\",\"bindings\":[{\"type\":"
	    "\"queue\",\"name\":\"Q\",\"queue_name\":\"x\"}]}",
	    "index.js", module_js, 400);
	cr_assert_eq(envelope_error_code(env), 10023);
	cr_assert_str_eq(envelope_error_message(env), "binding type 'queue' is not supported");
	json_decref(env);
	/* Storage bindings must name a resource the tenant has. */
	env = upload("acme", "api",
	    "{\"main_module\":\"index.js\",\"bindings\":[{\"type\":"
	    "\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"x\"}]}",
	    "index.js", module_js, 400);
	cr_assert_eq(envelope_error_code(env), 10023);
	cr_assert_str_eq(envelope_error_message(env), "binding 'KV': KV namespace 'x' not found");
	json_decref(env);
	env = upload("acme", "api",
	    "{\"main_module\":\"index.js\",\"bindings\":["
	    "{\"type\":\"plain_text\",\"name\":\"A\",\"text\":\"1\"},"
	    "{\"type\":\"plain_text\",\"name\":\"A\",\"text\":\"2\"}]}",
	    "index.js", module_js, 400);
	cr_assert_not_null(strstr(envelope_error_message(env), "duplicate"));
	json_decref(env);
	env = upload("acme", "api",
	    "{\"main_module\":\"index.js\",\"bindings\":["
	    "{\"type\":\"plain_text\",\"name\":\"not valid\",\"text\":\"1\"}]}",
	    "index.js", module_js, 400);
	json_decref(env);
	env = upload("acme", "api",
	    "{\"main_module\":\"index.js\",\"bindings\":["
	    "{\"type\":\"secret_text\",\"name\":\"S\",\"text\":5}]}",
	    "index.js", module_js, 400);
	json_decref(env);
	cr_assert_eq(atomic_load(&validate_calls), 0);
	json_decref(call(
	    "GET", "/client/v4/accounts/acme/workers/scripts/api/versions", NULL, NULL, 0, 404));
}

Test(admin, syntax_error_reports_line)
{
	json_t *env;

	tenant("acme");
	env = upload("acme", "api", module_md, "index.js", "var a = 1;\nvar b = 2;\nSYNTAX(", 400);
	cr_assert_eq(envelope_error_code(env), 10021);
	cr_assert_not_null(
	    strstr(envelope_error_message(env), "line 3"), "%s", envelope_error_message(env));
	cr_assert_not_null(strstr(envelope_error_message(env), "SyntaxError"));
	json_decref(env);
	/* The synchronous path too. */
	env = upload("acme", "api", module_md, "index.js", "SYNC SYNTAX", 400);
	cr_assert_not_null(strstr(envelope_error_message(env), "line 3"));
	json_decref(env);
	cr_assert_eq(atomic_load(&changed_calls), 0);
	cr_assert_eq(atomic_load(&validate_calls), 2);
	env = call(
	    "GET", "/client/v4/accounts/acme/workers/scripts/api/versions", NULL, NULL, 0, 404);
	cr_assert_eq(envelope_error_code(env), 10007);
	json_decref(env);
}

Test(admin, raw_javascript_upload)
{
	static const char js[] = "addEventListener('fetch', function (e) {});";
	json_t *env;

	tenant("acme");
	env = call("PUT", "/client/v4/accounts/acme/workers/scripts/sw", "application/javascript",
	    js, strlen(js), 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), "sw");
	json_decref(env);
	cr_assert_eq(atomic_load(&last_format), IPC_FORMAT_SERVICE_WORKER);
	pthread_mutex_lock(&last_lock);
	cr_assert_str_eq(last_bindings, "[]");
	pthread_mutex_unlock(&last_lock);
	env = call("PUT", "/client/v4/accounts/acme/workers/scripts/sw",
	    "text/javascript; charset=utf-8", "SYNC", 4, 200);
	json_decref(env);
	cr_assert_eq(version_count("acme", "sw"), 2);

	env = call("PUT", "/client/v4/accounts/acme/workers/scripts/sw", "text/plain", js,
	    strlen(js), 415);
	json_decref(env);
	env = call("PUT", "/client/v4/accounts/acme/workers/scripts/sw", "application/javascript",
	    "var s = '\xff\xfe';", 12, 400);
	cr_assert_eq(envelope_error_code(env), 10025);
	json_decref(env);
	env = call("PUT", "/client/v4/accounts/acme/workers/scripts/bad.name",
	    "application/javascript", js, strlen(js), 400);
	cr_assert_eq(envelope_error_code(env), 10014);
	json_decref(env);
}

Test(admin, script_too_large)
{
	char script[SCRIPT_MAX + 2];
	json_t *env;

	tenant("acme");
	memset(script, 'x', sizeof(script) - 1);
	script[sizeof(script) - 1] = '\0';
	env = upload("acme", "api", "{\"body_part\":\"s\"}", "s", script, 400);
	cr_assert_eq(envelope_error_code(env), 10024);
	cr_assert_str_eq(envelope_error_message(env), "script exceeds 1000 bytes");
	json_decref(env);
	cr_assert_eq(atomic_load(&validate_calls), 0);
}

Test(admin, list_and_delete_scripts)
{
	json_t *env, *list;

	tenant("acme");
	tenant("other");
	json_decref(upload("acme", "api", module_md, "index.js", module_js, 200));
	json_decref(upload("acme", "web", "{\"body_part\":\"s\"}", "s", "var SYNC;", 200));
	json_decref(upload("other", "mine", "{\"body_part\":\"s\"}", "s", "var x;", 200));

	env = call("GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 0, 200);
	list = envelope_result(env);
	cr_assert_eq(json_array_size(list), 2, "only this tenant's scripts");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "api");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), "web");
	for (size_t i = 0; i < 2; i++) {
		json_t *item = json_array_get(list, i);

		cr_assert(json_is_string(json_object_get(item, "created_on")));
		cr_assert(json_is_string(json_object_get(item, "modified_on")));
		cr_assert(json_is_string(json_object_get(item, "etag")));
		cr_assert(json_is_string(json_object_get(item, "version_id")));
	}
	json_decref(env);

	env = call("DELETE", "/client/v4/accounts/acme/workers/scripts/api", NULL, NULL, 0, 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), "api");
	json_decref(env);
	cr_assert_eq(atomic_load(&changed_calls), 4);
	env = call("DELETE", "/client/v4/accounts/acme/workers/scripts/api", NULL, NULL, 0, 404);
	cr_assert_eq(envelope_error_code(env), 10007);
	json_decref(env);
	/* Another tenant cannot delete it. */
	env = call("DELETE", "/client/v4/accounts/acme/workers/scripts/mine", NULL, NULL, 0, 404);
	json_decref(env);
	cr_assert_eq(version_count("other", "mine"), 1);

	env = call("GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 0, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 1);
	json_decref(env);
}

Test(admin, routes)
{
	json_t *env, *list;
	char id[64], path[256];

	tenant("acme");
	tenant("evil");
	json_decref(upload("acme", "api", module_md, "index.js", module_js, 200));
	cr_assert_eq(atomic_load(&changed_calls), 1);

	env = call_json("POST", "/client/v4/accounts/acme/workers/routes",
	    "{\"pattern\":\"shop.example.com/*\",\"script\":\"api\"}", 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "pattern")),
	    "shop.example.com/*");
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "script")), "api");
	snprintf(
	    id, sizeof(id), "%s", json_string_value(json_object_get(envelope_result(env), "id")));
	cr_assert_eq(strlen(id), 32);
	json_decref(env);
	cr_assert_eq(atomic_load(&changed_calls), 2);

	/* No script is fine. */
	json_decref(call_json("POST", "/client/v4/accounts/acme/workers/routes",
	    "{\"pattern\":\"shop.example.com/static/*\"}", 200));

	/* Another tenant claiming the host. */
	env = call_json("POST", "/client/v4/accounts/evil/workers/routes",
	    "{\"pattern\":\"*.shop.example.com/*\"}", 409);
	cr_assert_eq(envelope_error_code(env), 10020);
	cr_assert_str_eq(envelope_error_message(env), "pattern's host belongs to another account");
	json_decref(env);
	env = call_json("POST", "/client/v4/accounts/acme/workers/routes",
	    "{\"pattern\":\"shop.example.com/*\",\"script\":\"api\"}", 409);
	cr_assert_eq(envelope_error_code(env), 10026);
	json_decref(env);
	env = call_json("POST", "/client/v4/accounts/acme/workers/routes",
	    "{\"pattern\":\"http://shop.example.com:8080/*\"}", 400);
	cr_assert_eq(envelope_error_code(env), 10022);
	json_decref(env);
	env = call_json("POST", "/client/v4/accounts/acme/workers/routes",
	    "{\"pattern\":\"a.example.com/*\",\"script\":\"nope\"}", 404);
	cr_assert_eq(envelope_error_code(env), 10007);
	json_decref(env);
	env = call_json("POST", "/client/v4/accounts/acme/workers/routes", "{\"pattern\":5}", 400);
	json_decref(env);
	env = call_json("POST", "/client/v4/accounts/acme/workers/routes", "not json", 400);
	cr_assert_eq(envelope_error_code(env), 10001);
	json_decref(env);
	cr_assert_eq(atomic_load(&changed_calls), 3);

	env = call("GET", "/client/v4/accounts/acme/workers/routes", NULL, NULL, 0, 200);
	list = envelope_result(env);
	cr_assert_eq(json_array_size(list), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), id);
	json_decref(env);
	env = call("GET", "/client/v4/accounts/evil/workers/routes", NULL, NULL, 0, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 0);
	json_decref(env);

	/* Another tenant cannot delete it; the owner can, once. */
	snprintf(path, sizeof(path), "/client/v4/accounts/evil/workers/routes/%s", id);
	json_decref(call("DELETE", path, NULL, NULL, 0, 404));
	snprintf(path, sizeof(path), "/client/v4/accounts/acme/workers/routes/%s", id);
	env = call("DELETE", path, NULL, NULL, 0, 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), id);
	json_decref(env);
	cr_assert_eq(atomic_load(&changed_calls), 4);
	env = call("DELETE", path, NULL, NULL, 0, 404);
	cr_assert_eq(envelope_error_code(env), 10009);
	json_decref(env);
}

Test(admin, unknown_tenant)
{
	json_t *env;

	env = upload("ghost", "api", module_md, "index.js", module_js, 404);
	cr_assert_eq(envelope_error_code(env), 10008);
	json_decref(env);
	json_decref(call("GET", "/client/v4/accounts/ghost/workers/scripts", NULL, NULL, 0, 404));
	json_decref(call("GET", "/client/v4/accounts/ghost/workers/routes", NULL, NULL, 0, 404));
	json_decref(call_json("POST", "/client/v4/accounts/ghost/workers/routes",
	    "{\"pattern\":\"x.example.com/*\"}", 404));
	env = call("GET", "/client/v4/accounts/bad%20name/workers/scripts", NULL, NULL, 0, 400);
	cr_assert_eq(envelope_error_code(env), 10014);
	json_decref(env);
	cr_assert_eq(atomic_load(&validate_calls), 0);
}

Test(admin, body_too_large)
{
	char body[BODY_MAX + 100];
	json_t *env;

	tenant("acme");
	memset(body, 'a', sizeof(body));
	env = call("PUT", "/client/v4/accounts/acme/workers/scripts/api", "application/javascript",
	    body, sizeof(body), 413);
	cr_assert_eq(envelope_error_code(env), 10011);
	json_decref(env);
	/* The connection and server still work. */
	tenant("acme");
}

Test(admin, unknown_path_and_wrong_method)
{
	static struct admin_rig_response r;
	json_t *env;

	env = call("GET", "/client/v4/accounts/acme/workers/nothing", NULL, NULL, 0, 404);
	cr_assert_eq(envelope_error_code(env), 7000);
	json_decref(env);
	env = call("POST", "/client/v4/accounts/acme/workers/scripts/api", NULL, NULL, 0, 405);
	cr_assert_eq(envelope_error_code(env), 10405);
	json_decref(env);
	admin_rig_request(
	    "PATCH", "/client/v4/accounts/acme/workers/routes", TOKEN, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(r.allow, "GET, POST");
}

Test(admin, status)
{
	json_t *env = call("GET", "/status", NULL, NULL, 0, 200);

	cr_assert_eq(json_integer_value(
			 json_object_get(json_object_get(envelope_result(env), "pool"), "idle")),
	    2);
	json_decref(env);
}

Test(admin, client_gone_during_validation)
{
	char body[BODY_MAX], head[512];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)rig.port) };
	size_t len = form(body, sizeof(body), "{\"body_part\":\"s\"}", "s", "var SLOW;");
	int fd, n;

	tenant("acme");
	n = snprintf(head, sizeof(head),
	    "PUT /client/v4/accounts/acme/workers/scripts/api HTTP/1.1"
	    "\r\nHost: x\r\nAuthorization: Bearer " TOKEN "\r\n"
	    "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    len);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	cr_assert_geq(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(write(fd, head, (size_t)n), n);
	cr_assert_eq(write(fd, body, len), (ssize_t)len);
	/* Wait until validation started, then hang up before it ends. */
	for (int i = 0; i < 200 && atomic_load(&validate_calls) == 0; i++)
		usleep(5000);
	cr_assert_eq(atomic_load(&validate_calls), 1);
	close(fd);
	usleep(500000);
	/* The late verdict neither crashed nor stored anything; the server still serves. */
	cr_assert_eq(atomic_load(&changed_calls), 0);
	json_decref(call(
	    "GET", "/client/v4/accounts/acme/workers/scripts/api/versions", NULL, NULL, 0, 404));
}

/* --- tenant tokens ------------------------------------------------------------ */

/*
 * A call with a given token; checks the status and the envelope, which
 * carries no result on an error, and returns it (decref it).
 */
static json_t *
call_as(const char *token, const char *method, const char *path, const char *ctype,
    const char *body, long want_status)
{
	json_t *env = admin_rig_call(
	    token, method, path, ctype, body, body != NULL ? strlen(body) : 0, want_status);

	if (want_status != 200)
		cr_assert(json_is_null(envelope_result(env)), "no data: %s", rig.last.body);
	cr_assert_eq(rig.last.allow[0], '\0', "no Allow header");
	return env;
}

static void
expect_403(
    const char *token, const char *method, const char *path, const char *ctype, const char *body)
{
	json_t *env = call_as(token, method, path, ctype, body, 403);

	cr_assert_eq(envelope_error_code(env), 10000, "%s %s", method, path);
	cr_assert_str_eq(envelope_error_message(env), "token not valid for this account");
	json_decref(env);
}

/* Creates a token for tenant_name with the operator token; its secret into out. */
static void
new_token(const char *tenant_name, char *id, size_t id_len, char *out, size_t out_len)
{
	char path[128];
	json_t *env;

	snprintf(path, sizeof(path), "/edged/v1/tenants/%s/tokens", tenant_name);
	env = call_json("POST", path, NULL, 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(envelope_result(env), "tenant")), tenant_name);
	cr_assert_eq(strlen(json_string_value(json_object_get(envelope_result(env), "token"))), 64);
	cr_assert_eq(strlen(json_string_value(json_object_get(envelope_result(env), "id"))), 16);
	snprintf(
	    out, out_len, "%s", json_string_value(json_object_get(envelope_result(env), "token")));
	snprintf(id, id_len, "%s", json_string_value(json_object_get(envelope_result(env), "id")));
	json_decref(env);
}

Test(admin, tenant_token_reaches_only_its_own_tenant)
{
	char tok[128], id[32], other_tok[128], other_id[32];
	json_t *env;

	tenant("acme");
	tenant("evil");
	json_decref(upload("evil", "api", module_md, "index.js", module_js, 200));
	new_token("acme", id, sizeof(id), tok, sizeof(tok));
	new_token("evil", other_id, sizeof(other_id), other_tok, sizeof(other_tok));
	cr_assert_str_neq(tok, other_tok);

	/* Its own tenant: scripts, versions, routes and the tenant itself. */
	env = call_as(tok, "PUT", "/client/v4/accounts/acme/workers/scripts/site",
	    "application/javascript", "addEventListener('fetch', e => {}); // SYNC", 200);
	json_decref(env);
	json_decref(
	    call_as(tok, "GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 200));
	json_decref(call_as(
	    tok, "GET", "/client/v4/accounts/acme/workers/scripts/site/versions", NULL, NULL, 200));
	json_decref(call_as(tok, "POST", "/client/v4/accounts/acme/workers/routes",
	    "application/json", "{\"pattern\":\"acme.example.com/*\",\"script\":\"site\"}", 200));
	json_decref(
	    call_as(tok, "GET", "/client/v4/accounts/acme/workers/routes", NULL, NULL, 200));
	env = call_as(tok, "GET", "/edged/v1/tenants/acme", NULL, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), "acme");
	json_decref(env);

	/* Another tenant: 403 for every method, existing or not. */
	expect_403(tok, "GET", "/client/v4/accounts/evil/workers/scripts", NULL, NULL);
	expect_403(tok, "GET", "/client/v4/accounts/evil/workers/scripts/api/versions", NULL, NULL);
	expect_403(tok, "PUT", "/client/v4/accounts/evil/workers/scripts/api",
	    "application/javascript", "addEventListener('fetch', e => {}); // SYNC");
	expect_403(tok, "DELETE", "/client/v4/accounts/evil/workers/scripts/api", NULL, NULL);
	expect_403(tok, "GET", "/client/v4/accounts/evil/workers/routes", NULL, NULL);
	expect_403(tok, "POST", "/client/v4/accounts/evil/workers/routes", "application/json",
	    "{\"pattern\":\"evil.example.com/*\"}");
	expect_403(tok, "GET", "/client/v4/accounts/ghost/workers/scripts", NULL, NULL);
	expect_403(tok, "GET", "/edged/v1/tenants/evil", NULL, NULL);
	/* Operator endpoints, its own tenant's included. */
	expect_403(tok, "GET", "/status", NULL, NULL);
	expect_403(tok, "GET", "/edged/v1/status", NULL, NULL);
	expect_403(tok, "PUT", "/edged/v1/tenants/acme", "application/json",
	    "{\"limits\":{\"cpu_ms\":600000}}");
	expect_403(tok, "PUT", "/edged/v1/tenants/newco", NULL, NULL);
	expect_403(tok, "POST", "/edged/v1/tenants/acme/tokens", NULL, NULL);
	expect_403(tok, "GET", "/edged/v1/tenants/acme/tokens", NULL, NULL);
	expect_403(tok, "DELETE", "/edged/v1/tenants/evil/tokens/0123456789abcdef", NULL, NULL);
	{
		char path[128];

		snprintf(path, sizeof(path), "/edged/v1/tenants/acme/tokens/%s", id);
		expect_403(tok, "DELETE", path, NULL, NULL);
	}
	/* Unknown paths and wrong methods tell a tenant token nothing. */
	expect_403(tok, "GET", "/nope", NULL, NULL);
	expect_403(tok, "POST", "/client/v4/accounts/acme/workers/scripts", NULL, NULL);

	/* Nothing of evil's changed; newco was not created; acme's limits are unset. */
	cr_assert_eq(version_count("evil", "api"), 1);
	env = call("GET", "/client/v4/accounts/evil/workers/routes", NULL, NULL, 0, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 0);
	json_decref(env);
	json_decref(call_json("GET", "/edged/v1/tenants/newco", NULL, 404));
	env = call_json("GET", "/edged/v1/tenants/acme", NULL, 200);
	cr_assert_eq(json_object_size(json_object_get(envelope_result(env), "limits")), 0);
	json_decref(env);

	/* evil's token works for evil only. */
	json_decref(
	    call_as(other_tok, "GET", "/client/v4/accounts/evil/workers/scripts", NULL, NULL, 200));
	expect_403(other_tok, "GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL);
}

Test(admin, tenant_tokens_list_and_revoke)
{
	char tok[128], id[32], tok2[128], id2[32], path[128];
	static struct admin_rig_response r;
	json_t *env, *list;

	tenant("acme");
	tenant("evil");
	new_token("acme", id, sizeof(id), tok, sizeof(tok));
	new_token("acme", id2, sizeof(id2), tok2, sizeof(tok2));

	/* The list has ids and times, never a secret. */
	admin_rig_request("GET", "/edged/v1/tenants/acme/tokens", TOKEN, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_null(strstr(r.body, tok), "a secret in the list: %s", r.body);
	cr_assert_null(strstr(r.body, tok2), "a secret in the list: %s", r.body);
	cr_assert_null(strstr(r.body, "\"token\""), "%s", r.body);
	cr_assert_not_null(env = json_loads(r.body, 0, NULL));
	list = envelope_result(env);
	cr_assert_eq(json_array_size(list), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), id);
	cr_assert(json_is_string(json_object_get(json_array_get(list, 0), "created_on")));
	cr_assert_eq(json_object_size(json_array_get(list, 0)), 2);
	json_decref(env);
	env = call_json("GET", "/edged/v1/tenants/evil/tokens", NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 0);
	json_decref(env);

	/* Unknown tenants and ids. */
	env = call_json("POST", "/edged/v1/tenants/ghost/tokens", NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10008);
	json_decref(env);
	json_decref(call_json("GET", "/edged/v1/tenants/ghost/tokens", NULL, 404));
	json_decref(call_json("POST", "/edged/v1/tenants/bad%20name/tokens", NULL, 400));
	/* Another tenant's path cannot revoke acme's token. */
	snprintf(path, sizeof(path), "/edged/v1/tenants/evil/tokens/%s", id);
	env = call_json("DELETE", path, NULL, 404);
	cr_assert_eq(envelope_error_code(env), 10010);
	json_decref(env);
	json_decref(
	    call_as(tok, "GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 200));

	/* Revoked: the token is unknown (401), the other one still works. */
	snprintf(path, sizeof(path), "/edged/v1/tenants/acme/tokens/%s", id);
	env = call_json("DELETE", path, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(envelope_result(env), "id")), id);
	json_decref(env);
	env = call_as(tok, "GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 401);
	cr_assert_eq(envelope_error_code(env), 10000);
	cr_assert_str_eq(envelope_error_message(env), "Authentication error");
	json_decref(env);
	json_decref(call_json("DELETE", path, NULL, 404));
	json_decref(
	    call_as(tok2, "GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 200));
	env = call_json("GET", "/edged/v1/tenants/acme/tokens", NULL, 200);
	cr_assert_eq(json_array_size(envelope_result(env)), 1);
	json_decref(env);

	/* An operator token cleared (fail closed) refuses tenant tokens too. */
	admin_set_token(rig.admin, "");
	json_decref(
	    call_as(tok2, "GET", "/client/v4/accounts/acme/workers/scripts", NULL, NULL, 401));
	admin_set_token(rig.admin, TOKEN);
}
