/*
 * End to end: D1 databases.  A database (and a KV namespace for the guide's
 * cache) is created through the admin API, bound to a Worker
 * (tests/e2e/workers/d1.js) as env.DB and env.KV, and used the way Workers
 * users do: statements with every bindable type, first/all/run/raw, meta,
 * batches that roll back, exec, errors, the guide's users API, restarts.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define D1_LIMITS "cpu_ms = 5000\nwall_ms = 60000\n"
#define HOST "d1.test"

static struct edged *e;
static char *script;

static void
setup(void)
{
	e = edged_start(D1_LIMITS);
	script = worker_script("d1");
}

static void
teardown(void)
{
	edged_free(e);
	free(script);
}

TestSuite(d1, .init = setup, .fini = teardown, .timeout = 240);

/* A tenant with a new database and namespace, the Worker on `host`; returns the database uuid. */
static char *
d1_deploy(const char *tenant, const char *host)
{
	char bindings[512];
	char *db, *ns;

	admin_create_tenant(e, tenant);
	db = admin_d1_database_create(e, tenant, "test-db");
	cr_expect(strlen(db) == 36 && strspn(db, "0123456789abcdef-") == 36 && db[8] == '-',
	    "database uuid '%s' is not a lowercase UUID", db);
	ns = admin_kv_namespace_create(e, tenant, "test-cache");
	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"d1\",\"name\":\"DB\",\"id\":\"%s\"},"
	    "{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"}]",
	    db, ns);
	deploy(e, tenant, "d1", host, script, bindings);
	free(ns);
	return db;
}

static void
create_schema(void)
{
	expect_get_json(
	    e, HOST, "/setup", "{'count':3,'durationType':'number','keys':['count','duration']}");
}

Test(d1, bind_of_every_type_and_the_rows_it_gives_back)
{
	free(d1_deploy("d1a", HOST));
	create_schema();
	expect_get_json(e, HOST, "/types",
	    "[{'id':1,'n':42,'r':2.5,'s':'text \\u00fc','b':[1,2,3],'flag':1,'note':null},"
	    "{'id':2,'n':-7,'r':0.125,'s':'','b':[9,8,7,6],'flag':0,'note':null},"
	    "{'id':3,'n':9007199254740991,'r':-1e300,'s':'x','b':[8,7],'flag':0,'note':'set'},"
	    "{'id':4,'n':3,'r':null,'s':null,'b':[4,5,255],'flag':null,'note':null},"
	    "{'id':5,'n':4,'r':null,'s':null,'b':[2,1],'flag':null,'note':null}]");
	expect_get_json(e, HOST, "/typeerror",
	    "{'undef':{'ok':false,'sync':true,'error':{'name':'Error','message':"
	    "'D1_TYPE_ERROR: Type \\'undefined\\' not supported for value \\'undefined\\''}},"
	    "'object':{'ok':false,'sync':true,'error':{'name':'Error','message':"
	    "'D1_TYPE_ERROR: Type \\'object\\' not supported for value \\'[object Object]\\''}},"
	    "'nested':{'ok':false,'sync':true,'error':{'name':'Error','message':"
	    "'D1_TYPE_ERROR: Type \\'undefined\\' not supported for value \\'undefined\\''}},"
	    "'strings':{'ok':false,'sync':true,'error':{'name':'Error','message':"
	    "'D1_TYPE_ERROR: Type \\'object\\' not supported for value \\'1,x\\''}},"
	    "'fine':{'?':1}}");
}

Test(d1, first_all_run_raw_and_meta)
{
	json_t *j;

	free(d1_deploy("d1a", HOST));
	create_schema();
	json_decref(get_json(e, HOST, "/types"));
	expect_get_json(e, HOST, "/query",
	    "{'first':{'id':1,'n':42,'s':'text \\u00fc'},'firstColumn':'text \\u00fc',"
	    "'missingColumn':{'ok':false,'error':{'name':'Error',"
	    "'message':'D1_COLUMN_NOTFOUND: Column not found (nope)'}},"
	    "'noRow':null,'noRowColumn':null,"
	    "'all':{'success':true,'results':[{'id':4,'n':3},{'id':5,'n':4},{'id':1,'n':42},"
	    "{'id':3,'n':9007199254740991}],'hasMeta':'object'},"
	    "'raw':[[4,3],[5,4],[1,42],[3,9007199254740991]],"
	    "'rawNames':[['id','n'],[4,3],[5,4],[1,42],[3,9007199254740991]],"
	    "'rawEmpty':[['id']],"
	    "'dupAll':[{'a':2,'b':3}],'dupRaw':[['a','a','b'],[1,2,3]],"
	    "'proto':{'own':['__proto__','constructor'],'value':1,'plainPrototype':true,"
	    "'constructor':2},"
	    "'reused':[1,2,1]}");
	expect_get_json(e, HOST, "/run",
	    "{'insert':{'success':true,'results':[],'changes':1,'last_row_id':6,'changed_db':true,"
	    "'wrote':true},"
	    "'update':{'success':true,'results':[],'changes':5,'changed_db':true},"
	    "'select':{'success':true,'results':[{'c':6}],'changed_db':false}}");
	j = get_json(e, HOST, "/meta");
	expect_json(json_object_get(j, "types"),
	    "{'duration':'number','size_after':'number','rows_read':'number',"
	    "'rows_written':'number','last_row_id':'number','changed_db':'boolean',"
	    "'changes':'number','served_by_primary':'boolean','timings':'object'}",
	    "meta fields");
	expect_json(json_object_get(j, "timings"), "{'sql_duration_ms':'number'}", "meta.timings");
	expect_json(json_object_get(j, "servedByPrimary"), "true", "meta.served_by_primary");
	expect_json(json_object_get(j, "sizeAfterPositive"), "true", "meta.size_after > 0");
	json_decref(j);
}

Test(d1, a_batch_is_one_transaction)
{
	json_t *j;

	free(d1_deploy("d1a", HOST));
	create_schema();
	expect_get_json(e, HOST, "/batch-ok",
	    "{'isArray':true,'length':3,'changes':[1,1],'success':[true,true,true],"
	    "'last':[{'s':'batch one'},{'s':'batch two'}]}");
	j = get_json(e, HOST, "/batch-fail");
	expect_json(json_object_get(j, "before"), "2", "rows before the failed batch");
	expect_json(json_object_get(j, "after"), "2", "rows after the failed batch");
	expect_json(json_object_get(j, "lost"), "0", "rows of the failed batch");
	expect_settle_failed(json_object_get(j, "failed"), "Error", "D1_ERROR", "no_such_table",
	    "a batch with a bad statement");
	expect_settle_failed(json_object_get(j, "notStatements"), "TypeError", "D1 batch()", "",
	    "a batch of strings");
	expect_json(json_object_get(j, "empty"), "[]", "an empty batch");
	json_decref(j);
}

Test(d1, errors_say_d1_error_and_exec_counts_statements)
{
	json_t *j;

	free(d1_deploy("d1a", HOST));
	create_schema();
	j = get_json(e, HOST, "/errors");
	expect_settle_failed(
	    json_object_get(j, "syntax"), "Error", "D1_ERROR", "syntax", "bad SQL");
	expect_settle_failed(
	    json_object_get(j, "table"), "Error", "D1_ERROR", "no such table", "a missing table");
	expect_settle_failed(
	    json_object_get(j, "unique"), "Error", "D1_ERROR", "UNIQUE", "a duplicate key");
	expect_settle_failed(
	    json_object_get(j, "exec"), "Error", "D1_EXEC_ERROR", "", "exec of bad SQL");
	json_decref(j);
	expect_get_json(e, HOST, "/dump",
	    "{'ok':false,'error':{'name':'Error','message':'D1_DUMP_ERROR: not supported'}}");
	expect_get_json(e, HOST, "/session",
	    "{'first':{'one':1},'batch':[{'v':'in session'}],'bookmark':null,'otherBookmark':null,"
	    "'methods':{'prepare':'function','batch':'function','getBookmark':'function'},"
	    "'tag':'[object D1DatabaseSession]'}");
	expect_get_json(e, HOST, "/illegal",
	    "{'prepare':{'ok':false,'sync':true,'error':{'name':'TypeError','message':"
	    "'Illegal invocation'}},"
	    "'batch':{'ok':false,'sync':true,'error':{'name':'TypeError','message':"
	    "'Illegal invocation'}},"
	    "'all':{'ok':false,'sync':true,'error':{'name':'TypeError','message':"
	    "'Illegal invocation'}},"
	    "'construct':{'ok':false,'sync':true,'error':{'name':'TypeError','message':"
	    "'Illegal constructor'}},"
	    "'constructStatement':{'ok':false,'sync':true,'error':{'name':'TypeError','message':"
	    "'Illegal constructor'}},"
	    "'keys':[],'statementKeys':[],'json':'{}',"
	    "'tags':['[object D1Database]','[object D1PreparedStatement]']}");
}

/* One request to the users API; checks status and X-Cache, returns the parsed body. */
static json_t *
users(const char *method, const char *path, const char *body, long status, const char *cache)
{
	struct response r = http_do(method, e->public_addr, path, HOST, NULL,
	    body ? "application/json" : NULL, body, body ? strlen(body) : 0);
	char *got = response_header(&r, "x-cache");
	json_t *j;

	cr_expect_eq(r.status, status, "%s %s: %ld %s", method, path, r.status, r.body);
	if (cache != NULL)
		cr_expect(got != NULL && strcmp(got, cache) == 0, "%s %s: X-Cache %s, not %s",
		    method, path, got ? got : "(none)", cache);
	free(got);
	j = json_loads(r.body, 0, NULL);
	cr_assert_not_null(j, "%s %s: not JSON: %s", method, path, r.body);
	response_free(&r);
	return j;
}

static void
expect_users(const char *method, const char *path, const char *body, long status, const char *cache,
    const char *expected)
{
	json_t *j = users(method, path, body, status, cache);
	char what[128];

	snprintf(what, sizeof(what), "%s %s", method, path);
	expect_json(j, expected, what);
	json_decref(j);
}

Test(d1, the_guides_users_api_with_a_kv_cache_in_front)
{
	json_t *j;
	const char *message;

	free(d1_deploy("d1a", HOST));
	create_schema();
	expect_users("POST", "/users", "{\"name\":\"Ann\",\"email\":\"ann@example.com\"}", 201,
	    NULL, "{'id':1,'name':'Ann','email':'ann@example.com'}");
	expect_users("POST", "/users", "{\"name\":\"Bob\",\"email\":\"bob@example.com\"}", 201,
	    NULL, "{'id':2,'name':'Bob','email':'bob@example.com'}");
	expect_users("GET", "/users/1", NULL, 200, "MISS",
	    "{'id':1,'name':'Ann','email':'ann@example.com'}");
	expect_users(
	    "GET", "/users/1", NULL, 200, "HIT", "{'id':1,'name':'Ann','email':'ann@example.com'}");
	expect_users("GET", "/users", NULL, 200, "MISS",
	    "[{'id':1,'name':'Ann','email':'ann@example.com'},"
	    "{'id':2,'name':'Bob','email':'bob@example.com'}]");
	expect_users("GET", "/users", NULL, 200, "HIT",
	    "[{'id':1,'name':'Ann','email':'ann@example.com'},"
	    "{'id':2,'name':'Bob','email':'bob@example.com'}]");

	/* The update invalidates both cached answers. */
	expect_users("PUT", "/users/1", "{\"name\":\"Ann Lee\"}", 200, NULL,
	    "{'id':1,'name':'Ann Lee','email':'ann@example.com'}");
	expect_users("GET", "/users/1", NULL, 200, "MISS",
	    "{'id':1,'name':'Ann Lee','email':'ann@example.com'}");
	expect_users("GET", "/users/1", NULL, 200, "HIT",
	    "{'id':1,'name':'Ann Lee','email':'ann@example.com'}");
	expect_users("GET", "/users", NULL, 200, "MISS",
	    "[{'id':1,'name':'Ann Lee','email':'ann@example.com'},"
	    "{'id':2,'name':'Bob','email':'bob@example.com'}]");

	expect_users("GET", "/users/99", NULL, 404, NULL, "{'error':'Not found'}");
	expect_users("PUT", "/users/99", "{\"name\":\"x\"}", 404, NULL, "{'error':'Not found'}");
	j = users("POST", "/users", "{\"name\":\"Imp\",\"email\":\"ann@example.com\"}", 500, NULL);
	message = json_string_value(json_object_get(json_object_get(j, "uncaught"), "message"));
	cr_expect(message != NULL && strncmp(message, "D1_ERROR", 8) == 0 &&
		strstr(message, "UNIQUE") != NULL,
	    "a duplicate email: %s", message ? message : "(no message)");
	json_decref(j);
}

Test(d1, data_survives_a_restart)
{
	free(d1_deploy("d1a", HOST));
	expect_get_json(e, HOST, "/persist-put", "{'ok':true}");
	cr_assert_eq(edged_stop(e), 0);
	edged_restart(e);
	expect_get_json(e, HOST, "/persist-get", "[{'k':'kept','v':[7,7,7]}]");
}

Test(d1, another_tenant_cannot_use_a_database_by_its_id)
{
	char bindings[256];
	struct response r;
	char *db;

	db = d1_deploy("d1-alice", HOST);
	expect_get_json(e, HOST, "/persist-put", "{'ok':true}");
	admin_create_tenant(e, "d1-bob");
	snprintf(
	    bindings, sizeof(bindings), "[{\"type\":\"d1\",\"name\":\"DB\",\"id\":\"%s\"}]", db);
	r = admin_upload_module(e, "d1-bob", "thief", script, bindings);
	if (r.status == 200) {
		response_free(&r);
		r = admin_add_route(e, "d1-bob", "thief.d1.test/*", "thief");
		cr_assert_eq(r.status, 200, "%s", r.body);
		response_free(&r);
		r = http_do(
		    "GET", e->public_addr, "/persist-get", "thief.d1.test", NULL, NULL, NULL, 0);
		cr_expect(strstr(r.body, "kept") == NULL, "bob read alice's database: %s", r.body);
	}
	response_free(&r);
	expect_get_json(e, HOST, "/persist-get", "[{'k':'kept','v':[7,7,7]}]");
	free(db);
}
