/*
 * End to end: the attack catalog's storage rows (SECURITY.md, part A): A12
 * binding forgery, A14 hostile D1 SQL, A15 KV and R2 keys that look like
 * paths.  Tenant "victim" holds data; tenant "mallory" attacks it with its
 * own Worker, its own bindings and its own admin token.  Each row checks
 * what mallory sees, that the victim's data is untouched, and that a canary
 * tenant still answers.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CANARY                                                                                     \
	"var __worker = { default: { fetch: function () { return new Response('alive'); } } };"

/*
 * Runs every attempt of the script's ATTEMPTS array (functions returning a
 * value or a promise) and answers a JSON array of "ok:<json>" or
 * "<ErrorName>: <message>" strings, in order.
 */
#define ATTEMPT_RUNNER                                                                             \
	"function attempt(f) { return Promise.resolve().then(f).then("                             \
	"  function (v) { return 'ok:' + JSON.stringify(v === undefined ? null : v); },"           \
	"  function (e) { return String(e && e.name) + ': ' + String(e && e.message); }); }"       \
	"var __worker = { default: { fetch: function (req, env) {"                                 \
	"  return Promise.all(ATTEMPTS(env).map(attempt)).then(function (out) {"                   \
	"    return new Response(JSON.stringify(out)); }); } } };"

static struct edged *e;
static char victim_kv[64], victim_d1[64], mallory_kv[64], mallory_d1[64];

/* An admin call with `token` (NULL: the operator's) that must answer `status`. */
static void
admin_expect(const char *token, const char *method, const char *path, const char *body, long status)
{
	json_decref(admin_json(e, token, method, path, body, status));
}

/* A tenant with a namespace, a database and a bucket "vault". */
static void
provision(const char *tenant, char *kv, char *d1)
{
	char *id;

	admin_create_tenant(e, tenant);
	id = admin_kv_namespace_create(e, tenant, "main");
	snprintf(kv, 64, "%s", id);
	free(id);
	id = admin_d1_database_create(e, tenant, "main");
	snprintf(d1, 64, "%s", id);
	free(id);
	admin_r2_bucket_create(e, tenant, "vault");
}

static void
put_value(const char *path, const char *value)
{
	struct response r = http_do("PUT", e->admin_addr, path, NULL, TEST_TOKEN,
	    "application/octet-stream", value, strlen(value));

	cr_assert_eq(r.status, 200, "PUT %s: %ld %s", path, r.status, r.body);
	response_free(&r);
}

static void
setup(void)
{
	char path[256];

	e = edged_start("d1_query_ms = 1000\n");
	deploy(e, "canary", "canary", "canary.test", CANARY, NULL);
	provision("victim", victim_kv, victim_d1);
	provision("mallory", mallory_kv, mallory_d1);
	snprintf(path, sizeof(path),
	    "/client/v4/accounts/victim/storage/kv/namespaces/%s/values/secret", victim_kv);
	put_value(path, "victim-kv-secret");
	put_value("/client/v4/accounts/victim/r2/buckets/vault/objects/secret", "victim-r2-secret");
	snprintf(path, sizeof(path), "/client/v4/accounts/victim/d1/database/%s/query", victim_d1);
	admin_expect(NULL, "POST", path,
	    "{\"sql\":\"CREATE TABLE secrets (v TEXT); "
	    "INSERT INTO secrets VALUES ('victim-d1-secret')\"}",
	    200);
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(catalog_storage, .init = setup, .fini = teardown, .timeout = 180);

/*
 * Mallory's Worker with its own three bindings and the attempts (JS source
 * defining function ATTEMPTS(env), a printf format for the arguments).
 */
static void __attribute__((format(printf, 2, 3)))
deploy_mallory(const char *name, const char *fmt, ...)
{
	char bindings[512], host[128], *script, *attempts;
	va_list ap;

	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"},"
	    "{\"type\":\"d1\",\"name\":\"DB\",\"id\":\"%s\"},"
	    "{\"type\":\"r2_bucket\",\"name\":\"R2\",\"bucket_name\":\"vault\"}]",
	    mallory_kv, mallory_d1);
	snprintf(host, sizeof(host), "%s.mallory.test", name);
	va_start(ap, fmt);
	cr_assert_gt(vasprintf(&attempts, fmt, ap), 0);
	va_end(ap);
	cr_assert_gt(asprintf(&script, "%s\n%s", attempts, ATTEMPT_RUNNER), 0);
	deploy(e, "mallory", name, host, script, bindings);
	free(attempts);
	free(script);
}

/* Runs mallory's Worker `name`; returns its outcome array. */
static json_t *
run_mallory(const char *name)
{
	char host[128];
	struct response r;
	json_t *out;

	snprintf(host, sizeof(host), "%s.mallory.test", name);
	r = http_do("GET", e->public_addr, "/", host, NULL, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "%s: %ld %s", name, r.status, r.body);
	out = json_loads(r.body, 0, NULL);
	cr_assert(json_is_array(out), "%s: %s", name, r.body);
	response_free(&r);
	return out;
}

static const char *
outcome(json_t *out, size_t i)
{
	const char *s = json_string_value(json_array_get(out, i));

	cr_assert_not_null(s, "no outcome %zu", i);
	return s;
}

#define expect_outcome_prefix(out, i, prefix)                                                      \
	cr_expect(strncmp(outcome(out, i), prefix, strlen(prefix)) == 0,                           \
	    "attempt %d: '%s', expected '%s...'", (int)(i), outcome(out, i), prefix)

/* The victim still reads its own secrets, unchanged. */
static void
expect_victim_intact(const char *row)
{
	char path[256];
	struct response r;

	snprintf(path, sizeof(path),
	    "/client/v4/accounts/victim/storage/kv/namespaces/%s/values/secret", victim_kv);
	r = http_do("GET", e->admin_addr, path, NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_expect_str_eq(r.body, "victim-kv-secret", "%s: the victim's KV value changed", row);
	response_free(&r);
	r = http_do("GET", e->admin_addr,
	    "/client/v4/accounts/victim/r2/buckets/vault/objects/secret", NULL, TEST_TOKEN, NULL,
	    NULL, 0);
	cr_expect_str_eq(r.body, "victim-r2-secret", "%s: the victim's R2 object changed", row);
	response_free(&r);
	expect_canary_alive(e, row);
}

Test(catalog_storage, a12_binding_forgery)
{
	char bindings[256], path[256], *token;
	struct response r;
	json_t *out, *t;

	/* An upload naming the victim's resources is refused. */
	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"}]", victim_kv);
	r = admin_upload_module(e, "mallory", "forge", CANARY, bindings);
	cr_expect_eq(r.status, 400, "A12: a binding to another tenant's namespace: %s", r.body);
	response_free(&r);
	snprintf(bindings, sizeof(bindings), "[{\"type\":\"d1\",\"name\":\"DB\",\"id\":\"%s\"}]",
	    victim_d1);
	r = admin_upload_module(e, "mallory", "forge", CANARY, bindings);
	cr_expect_eq(r.status, 400, "A12: a binding to another tenant's database: %s", r.body);
	response_free(&r);

	/* Fake `this`, borrowed methods, ids as keys: all of it stays in mallory's own data. */
	deploy_mallory("a12",
	    "function ATTEMPTS(env) { var kvp = Object.getPrototypeOf(env.KV);"
	    "  var d1p = Object.getPrototypeOf(env.DB), r2p = Object.getPrototypeOf(env.R2);"
	    "  return ["
	    "    function () { return kvp.get.call({}, 'secret'); },"
	    "    function () { return kvp.get.call(Object.create(kvp), 'secret'); },"
	    "    function () { return d1p.prepare.call({}, 'SELECT 1'); },"
	    "    function () { return r2p.get.call({ name: 'R2' }, 'secret'); },"
	    "    function () { return env.KV.get('secret'); },"
	    "    function () { return env.R2.get('secret'); },"
	    "    function () { return env.DB.prepare('SELECT v FROM secrets').all(); },"
	    "    function () { return env.KV.get('%s'); },"
	    "    function () { return new env.KV.constructor('KV').get('secret'); }"
	    "  ]; }",
	    victim_kv);
	out = run_mallory("a12");
	expect_outcome_prefix(out, 0, "TypeError: ");
	expect_outcome_prefix(out, 1, "TypeError: ");
	expect_outcome_prefix(out, 2, "TypeError: ");
	expect_outcome_prefix(out, 3, "TypeError: ");
	cr_expect_str_eq(outcome(out, 4), "ok:null", "A12: mallory read a KV secret");
	cr_expect_str_eq(outcome(out, 5), "ok:null", "A12: mallory read an R2 secret");
	expect_outcome_prefix(out, 6, "Error: D1_ERROR: no such table: secrets");
	cr_expect_str_eq(outcome(out, 7), "ok:null");
	cr_expect(strstr(outcome(out, 8), "victim") == NULL, "A12: %s", outcome(out, 8));
	json_decref(out);

	/* Mallory's own admin token reaches none of the victim's resources. */
	t = admin_json(e, NULL, "POST", "/edged/v1/tenants/mallory/tokens", NULL, 200);
	cr_assert(json_is_string(json_object_get(envelope_result(t), "token")));
	token = strdup(json_string_value(json_object_get(envelope_result(t), "token")));
	json_decref(t);
	admin_expect(token, "GET", "/client/v4/accounts/victim/storage/kv/namespaces", NULL, 403);
	snprintf(path, sizeof(path),
	    "/client/v4/accounts/mallory/storage/kv/namespaces/%s/values/secret", victim_kv);
	admin_expect(token, "GET", path, NULL, 404);
	snprintf(path, sizeof(path), "/client/v4/accounts/mallory/d1/database/%s/query", victim_d1);
	admin_expect(token, "POST", path, "{\"sql\":\"SELECT * FROM secrets\"}", 404);
	admin_expect(
	    token, "GET", "/client/v4/accounts/victim/r2/buckets/vault/objects/secret", NULL, 403);
	free(token);
	expect_victim_intact("A12");
}

Test(catalog_storage, a14_hostile_d1_sql)
{
	json_t *out;
	char path[256];

	deploy_mallory("a14",
	    "function ATTEMPTS(env) { function q(sql) { return function () {"
	    "    return env.DB.prepare(sql).all(); }; }"
	    "  return ["
	    "    q(\"ATTACH DATABASE '/etc/passwd' AS x\"),"
	    "    q(\"SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')\"),"
	    "    q('PRAGMA writable_schema = ON'),"
	    "    q(\"VACUUM INTO '/tmp/edged-a14-copy.sqlite'\"),"
	    "    q('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
	    "SELECT count(*) FROM c'),"
	    "    q('SELECT randomblob(1000000000)'),"
	    "    q('SELECT 1 AS still_here'),"
	    "    function () { return env.DB.exec(\"ATTACH '%s/data/d1/victim/%s.sqlite' AS v\"); }"
	    "  ]; }",
	    e->dir, victim_d1);
	out = run_mallory("a14");
	for (size_t i = 0; i < 6; i++)
		expect_outcome_prefix(out, i, "Error: D1_");
	cr_expect(strstr(outcome(out, 6), "still_here") != NULL, "A14: %s", outcome(out, 6));
	expect_outcome_prefix(out, 7, "Error: D1_");
	json_decref(out);
	cr_expect_neq(
	    access("/tmp/edged-a14-copy.sqlite", F_OK), 0, "A14: VACUUM INTO wrote a file");
	/* The broker was not stalled for the victim. */
	snprintf(path, sizeof(path), "/client/v4/accounts/victim/d1/database/%s/query", victim_d1);
	admin_expect(NULL, "POST", path, "{\"sql\":\"SELECT v FROM secrets\"}", 200);
	expect_victim_intact("A14");
}

static int found_outside;

static int
look_for_pwn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (strstr(path, "edged-pwn") != NULL)
		found_outside++;
	return 0;
}

Test(catalog_storage, a15_keys_that_look_like_paths)
{
	json_t *out;
	char data[300];

	deploy_mallory("a15",
	    "function ATTEMPTS(env) { var long = new Array(514).join('k');"
	    "  var longer = new Array(1026).join('r');"
	    "  function kvRound(key) { return function () { return env.KV.put(key, 'v:' + key)"
	    "    .then(function () { return env.KV.get(key); }); }; }"
	    "  function r2Round(key) { return function () { return env.R2.put(key, 'o:' + key)"
	    "    .then(function () { return env.R2.get(key); })"
	    "    .then(function (o) { return o.text(); }); }; }"
	    "  return ["
	    "    kvRound('../../../../../../tmp/edged-pwn-kv'),"
	    "    kvRound('a\\u0000b'),"
	    "    function () { return env.KV.get('a'); },"
	    "    function () { return env.KV.put(long, 'x'); },"
	    "    function () { return env.KV.put('..', 'x'); },"
	    "    r2Round('../../../../../../tmp/edged-pwn-r2'),"
	    "    r2Round('/etc/passwd'),"
	    "    function () { return env.R2.put(longer, 'x'); },"
	    "    function () { return env.KV.list({ prefix: '../' }).then(function (l) {"
	    "      return l.keys.map(function (k) { return k.name; }); }); }"
	    "  ]; }");
	out = run_mallory("a15");
	cr_expect_str_eq(outcome(out, 0), "ok:\"v:../../../../../../tmp/edged-pwn-kv\"");
	cr_expect_str_eq(outcome(out, 1), "ok:\"v:a\\u0000b\"");
	cr_expect_str_eq(outcome(out, 2), "ok:null", "A15: 'a\\0b' and 'a' are one key");
	/* Over-long keys are Error (HTTP 414 in Cloudflare's words), "." and ".." TypeError. */
	expect_outcome_prefix(out, 3, "Error: KV PUT failed: 414 ");
	expect_outcome_prefix(out, 4, "TypeError: ");
	cr_expect_str_eq(outcome(out, 5), "ok:\"o:../../../../../../tmp/edged-pwn-r2\"");
	cr_expect_str_eq(outcome(out, 6), "ok:\"o:/etc/passwd\"");
	expect_outcome_prefix(out, 7, "Error: put: ");
	cr_expect_str_eq(outcome(out, 8), "ok:[\"../../../../../../tmp/edged-pwn-kv\"]");
	json_decref(out);
	cr_expect_neq(access("/tmp/edged-pwn-kv", F_OK), 0, "A15: a KV key became a file");
	cr_expect_neq(access("/tmp/edged-pwn-r2", F_OK), 0, "A15: an R2 key became a file");
	snprintf(data, sizeof(data), "%s/data", e->dir);
	found_outside = 0;
	cr_assert_eq(nftw(data, look_for_pwn, 16, FTW_PHYS), 0);
	cr_expect_eq(found_outside, 0, "A15: a key appears in a file name under the data dir");
	expect_victim_intact("A15");
}
