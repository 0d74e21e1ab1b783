/*
 * End to end: KV namespaces.  A namespace is created through the admin API,
 * bound to a Worker (tests/e2e/workers/kv.js) as env.KV, and used the way
 * Workers users do: every method and option, lists over many keys, large
 * and streamed values, restarts, two tenants, and the guide's rate limiter
 * and feature flags.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* Scenarios run hundreds of calls per request: budgets well above one call's cost. */
#define KV_LIMITS "cpu_ms = 5000\nwall_ms = 60000\n"

static struct edged *e;
static char *script;

static void
setup(void)
{
	e = edged_start(KV_LIMITS);
	script = worker_script("kv");
}

static void
teardown(void)
{
	edged_free(e);
	free(script);
}

TestSuite(kv, .init = setup, .fini = teardown, .timeout = 240);

static void
bindings_for(char *out, size_t size, const char *namespace_id)
{
	snprintf(out, size, "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"}]",
	    namespace_id);
}

/* A tenant with a new namespace and the Worker on `host`; returns the namespace id. */
static char *
kv_deploy(const char *tenant, const char *host)
{
	char bindings[256];
	char *id;

	admin_create_tenant(e, tenant);
	id = admin_kv_namespace_create(e, tenant, "test-namespace");
	cr_expect(strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32,
	    "namespace id '%s' is not 32 lowercase hex digits", id);
	bindings_for(bindings, sizeof(bindings), id);
	deploy(e, tenant, "kv", host, script, bindings);
	return id;
}

Test(kv, get_and_put_text_and_json)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/text",
	    "{'putResult':'undefined','plain':'hello, w\\u00f6rld \\u2603',"
	    "'text':'hello, w\\u00f6rld \\u2603','options':'hello, w\\u00f6rld \\u2603',"
	    "'missing':null,'coerced':'number key'}");

	json_t *j = get_json(e, "kv.test", "/json");
	expect_json(json_object_get(j, "json"), "{'a':1,'list':[true,null,'x']}", "get json");
	expect_json(json_object_get(j, "options"), "{'a':1,'list':[true,null,'x']}",
	    "get {type: json, cacheTtl}");
	expect_json(json_object_get(j, "missing"), "null", "missing json key");
	expect_settle_failed(json_object_get(j, "bad"), "SyntaxError", NULL, "", "json of '{oops'");
	json_decref(j);
}

Test(kv, binary_values_and_streams)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/binary",
	    "{'isArrayBuffer':true,'u8':[0,1,2,255,128],'ab':[10,20,30,40,50,60],'dv':[20,30],"
	    "'sub':[40,50],'badutf8':'a\\ufffdb','num':'12.5'}");
	expect_get_json(e, "kv.test", "/stream",
	    "{'text':'part one, part two, part three: \\u00e9','isStream':true,"
	    "'streamText':'part one, part two, part three: \\u00e9','missing':null}");
}

Test(kv, bad_arguments_are_type_errors_with_workerd_wording)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/arguments",
	    "{'badType':{'ok':false,'error':{'name':'TypeError','message':"
	    "'Unknown response type. Possible types are \\\"text\\\", \\\"arrayBuffer\\\", "
	    "\\\"json\\\", and \\\"stream\\\".'}},"
	    "'lowCacheTtl':{'ok':false,'error':{'name':'TypeError','message':"
	    "'KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30.'}},"
	    "'okCacheTtl':{'ok':true,'value':null},"
	    "'objectValue':{'ok':false,'error':{'name':'TypeError','message':"
	    "'KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams "
	    "as values.'}},"
	    "'mapValue':{'ok':false,'error':{'name':'TypeError','message':"
	    "'KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams "
	    "as values.'}},"
	    "'bulkArrayBuffer':{'ok':false,'error':{'name':'TypeError','message':"
	    "'KV GET_BULK failed: 400 \\\"arrayBuffer\\\" is not a valid type. Use \\\"json\\\" or "
	    "\\\"text\\\"'}},"
	    "'bulkStream':{'ok':false,'error':{'name':'TypeError','message':"
	    "'KV GET_BULK failed: 400 \\\"stream\\\" is not a valid type. Use \\\"json\\\" or "
	    "\\\"text\\\"'}}}");
}

Test(kv, bulk_get_is_a_map_and_metadata_round_trips)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/bulk",
	    "{'isMap':true,'size':3,"
	    "'text':[['b1','one'],['b2','{\\\"n\\\":2}'],['nope',null]],"
	    "'json':[['b2',{'n':2}],['nope',null]],"
	    "'withMetadata':[['b1',{'value':'one','metadata':null}],"
	    "['b2',{'value':'{\\\"n\\\":2}','metadata':{'tag':'two'}}],['nope',null]],"
	    "'jsonWithMetadata':[['b2',{'value':{'n':2},'metadata':{'tag':'two'}}]],"
	    "'tooMany':{'ok':false,'error':{'name':'Error',"
	    "'message':'KV GET_BULK failed: 400 You can request a maximum of 100 keys'}}}");
	expect_get_json(e, "kv.test", "/metadata",
	    "{'withMetadata':{'value':'value one','metadata':{'owner':'ann','n':1,"
	    "'nested':{'ok':true}},'cacheStatus':null},"
	    "'json':{'value':'value one','metadata':{'owner':'ann','n':1,'nested':{'ok':true}},"
	    "'cacheStatus':null},"
	    "'none':{'value':'value two','metadata':null,'cacheStatus':null},"
	    "'missing':{'value':null,'metadata':null,'cacheStatus':null},"
	    "'listed':{'keys':[{'name':'m1','metadata':{'owner':'ann','n':1,'nested':{'ok':true}}},"
	    "{'name':'m2'}],'list_complete':true,'cacheStatus':null}}");
	expect_get_json(e, "kv.test", "/delete",
	    "{'before':'x','deleteResult':'undefined','after':null,'again':{'ok':true}}");
}

/* The expiration of key `name` in a list() result, or -1. */
static long long
listed_expiration(json_t *listed, const char *name)
{
	size_t i;
	json_t *k;

	json_array_foreach (json_object_get(listed, "keys"), i, k)
		if (strcmp(json_string_value(json_object_get(k, "name")), name) == 0)
			return json_is_integer(json_object_get(k, "expiration"))
			    ? (long long)json_integer_value(json_object_get(k, "expiration"))
			    : -2;
	return -1;
}

Test(kv, expirations_below_a_minute_are_refused_and_others_listed)
{
	json_t *j, *results;
	long long now;

	kv_deploy("kva", "kv.test");
	j = get_json(e, "kv.test", "/expiry");
	now = (long long)json_integer_value(json_object_get(j, "now"));
	results = json_object_get(j, "results");
	expect_settle_failed(
	    json_object_get(results, "shortTtl"), "TypeError", NULL, "", "expirationTtl 30");
	expect_settle_failed(
	    json_object_get(results, "past"), NULL, NULL, "", "an expiration in the past");
	expect_json(json_object_get(results, "ttl"), "{'ok':true}", "expirationTtl 120");
	expect_json(json_object_get(results, "absolute"), "{'ok':true}", "expiration in an hour");
	expect_json(json_object_get(j, "shortValue"), "null", "the refused key");
	expect_json(json_object_get(j, "ttlValue"), "'v'", "the key with a ttl");
	cr_expect(listed_expiration(json_object_get(j, "listed"), "ttl") >= now + 119 &&
		listed_expiration(json_object_get(j, "listed"), "ttl") <= now + 121,
	    "ttl key expires at %lld, now is %lld",
	    listed_expiration(json_object_get(j, "listed"), "ttl"), now);
	cr_expect_eq(listed_expiration(json_object_get(j, "listed"), "absolute"), now + 3600);
	cr_expect_eq(listed_expiration(json_object_get(j, "listed"), "short"), -1);
	cr_expect_eq(listed_expiration(json_object_get(j, "listed"), "past"), -1);
	json_decref(j);
}

Test(kv, a_key_over_512_bytes_is_an_error)
{
	json_t *j;

	kv_deploy("kva", "kv.test");
	j = get_json(e, "kv.test", "/longkey");
	expect_settle_failed(json_object_get(j, "put"), NULL, NULL, "key", "put of a 513-byte key");
	expect_settle_failed(json_object_get(j, "get"), NULL, NULL, "key", "get of a 513-byte key");
	expect_json(json_object_get(j, "putMax"), "{'ok':true}", "put of a 512-byte key");
	expect_json(json_object_get(j, "maxValue"), "'max'", "the 512-byte key");
	expect_json(json_object_get(j, "listedLengths"), "[512]", "the keys stored");
	json_decref(j);
}

Test(kv, list_pages_through_1200_keys_with_cursors)
{
	char path[64];
	json_t *j;

	kv_deploy("kva", "kv.test");
	for (int from = 0; from < 1200; from += 300) {
		snprintf(path, sizeof(path), "/seed?from=%d&count=300", from);
		expect_get_json(e, "kv.test", path, "{'seeded':300}");
	}
	j = get_json(e, "kv.test", "/list");
	expect_json(json_object_get(j, "byDefault"),
	    "[{'count':1000,'first':'item:0000','last':'item:0999','list_complete':false,"
	    "'hasCursor':true,'cacheStatus':null,'sorted':true},"
	    "{'count':200,'first':'item:1000','last':'item:1199','list_complete':true,"
	    "'hasCursor':false,'cacheStatus':null,'sorted':true}]",
	    "list() pages");
	expect_json(json_object_get(j, "by500"),
	    "[{'count':500,'first':'item:0000','last':'item:0499','list_complete':false,"
	    "'hasCursor':true,'cacheStatus':null,'sorted':true},"
	    "{'count':500,'first':'item:0500','last':'item:0999','list_complete':false,"
	    "'hasCursor':true,'cacheStatus':null,'sorted':true},"
	    "{'count':200,'first':'item:1000','last':'item:1199','list_complete':true,"
	    "'hasCursor':false,'cacheStatus':null,'sorted':true}]",
	    "list({limit: 500}) pages");
	expect_json(json_object_get(j, "narrow"),
	    "{'count':100,'first':'item:1100','last':'item:1199','list_complete':true,"
	    "'hasCursor':false,'cacheStatus':null,'sorted':true}",
	    "list({prefix: 'item:11'})");
	expect_json(json_object_get(json_object_get(j, "withMetadata"), "keys"),
	    "[{'name':'item:0200','metadata':{'n':200}}]", "list({prefix: 'item:02', limit: 1})");
	expect_json(json_object_get(json_object_get(j, "withMetadata"), "list_complete"), "false",
	    "a page of 1 out of 100");
	expect_json(json_object_get(j, "none"),
	    "{'keys':[],'list_complete':true,'cacheStatus':null}", "list of a prefix nobody has");
	json_decref(j);
}

Test(kv, a_one_mebibyte_value_round_trips)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/bigtext", "{'length':1048576,'same':true}");
}

Test(kv, a_request_body_streams_into_kv_and_back_out_to_the_client)
{
	const size_t size = 1024 * 1024;
	char *data = malloc(size);
	struct response r;
	char *type;

	cr_assert_not_null(data);
	kv_deploy("kva", "kv.test");
	for (size_t i = 0; i < size; i++)
		data[i] = (char)((i * 7 + i / 251) & 0xff);
	r = http_do("POST", e->public_addr, "/upload?key=blob", "kv.test", NULL,
	    "application/octet-stream", data, size);
	cr_assert_eq(r.status, 200, "upload: %ld %s", r.status, r.body);
	response_free(&r);
	r = http_do("GET", e->public_addr, "/download?key=blob", "kv.test", NULL, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "download: %ld %s", r.status, r.body);
	cr_expect_eq(r.body_len, size, "downloaded %zu bytes of %zu", r.body_len, size);
	cr_expect(r.body_len == size && memcmp(r.body, data, size) == 0, "the bytes differ");
	type = response_header(&r, "content-type");
	cr_expect(type != NULL && strcmp(type, "application/octet-stream") == 0);
	free(type);
	response_free(&r);
	r = http_do("GET", e->public_addr, "/download?key=nothing", "kv.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 404);
	response_free(&r);
	free(data);
}

Test(kv, the_binding_is_opaque_and_its_methods_check_their_receiver)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/illegal",
	    "{'call':{'ok':false,'sync':true,'error':{'name':'TypeError','message':'Illegal "
	    "invocation'}},"
	    "'fake':{'ok':false,'sync':true,'error':{'name':'TypeError','message':'Illegal "
	    "invocation'}},"
	    "'construct':{'ok':false,'sync':true,'error':{'name':'TypeError','message':'Illegal "
	    "constructor'}},"
	    "'keys':[],'names':[],'symbols':0,'json':'{}','tag':'[object KvNamespace]',"
	    "'methods':['function','function','function','function','function']}");
}

Test(kv, values_survive_a_restart)
{
	kv_deploy("kva", "kv.test");
	expect_get_json(e, "kv.test", "/persist-put", "{'ok':true}");
	cr_assert_eq(edged_stop(e), 0);
	edged_restart(e);
	expect_get_json(e, "kv.test", "/persist-get",
	    "{'value':{'value':'still here','metadata':{'v':1},'cacheStatus':null},'bin':[1,2,3]}");
}

Test(kv, two_tenants_never_see_each_others_keys)
{
	char bindings[256];
	struct response r;
	char *alice_ns;

	alice_ns = kv_deploy("kv-alice", "alice.kv.test");
	free(kv_deploy("kv-bob", "bob.kv.test"));

	expect_get_json(
	    e, "alice.kv.test", "/own?label=alice-secret-42", "{'stored':'alice-secret-42'}");
	expect_get_json(e, "bob.kv.test", "/peek", "{'secret':null,'keys':[]}");
	expect_get_json(e, "bob.kv.test", "/own?label=bob-secret-7", "{'stored':'bob-secret-7'}");
	expect_get_json(
	    e, "alice.kv.test", "/peek", "{'secret':'alice-secret-42','keys':['secret']}");

	/* Bob names Alice's namespace id in his own upload: refused, or a namespace he cannot read.
	 */
	bindings_for(bindings, sizeof(bindings), alice_ns);
	r = admin_upload_module(e, "kv-bob", "thief", script, bindings);
	if (r.status == 200) {
		response_free(&r);
		r = admin_add_route(e, "kv-bob", "thief.kv.test/*", "thief");
		cr_assert_eq(r.status, 200, "%s", r.body);
		response_free(&r);
		r = http_do("GET", e->public_addr, "/peek", "thief.kv.test", NULL, NULL, NULL, 0);
		cr_expect(
		    strstr(r.body, "alice-secret-42") == NULL, "bob read alice's key: %s", r.body);
	}
	response_free(&r);
	expect_get_json(
	    e, "alice.kv.test", "/peek", "{'secret':'alice-secret-42','keys':['secret']}");
	free(alice_ns);
}

/* GET path on host with a CF-Connecting-IP header; returns the raw response (malloc'd). */
static char *
get_from(const char *host, const char *path, const char *ip)
{
	char req[512];
	int n = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nCF-Connecting-IP: %s\r\nConnection: close\r\n\r\n",
	    path, host, ip);

	return raw_exchange(e->public_port, req, (size_t)n, 10000);
}

Test(kv, the_guides_rate_limiter_answers_429_with_retry_after)
{
	char *raw;

	kv_deploy("kva", "kv.test");
	for (int i = 0; i < 3; i++) {
		raw = get_from("kv.test", "/api/items", "10.0.0.1");
		cr_expect_eq(raw_status(raw), 200, "request %d:\n%s", i + 1, raw);
		free(raw);
	}
	raw = get_from("kv.test", "/api/items", "10.0.0.1");
	cr_expect_eq(raw_status(raw), 429, "the fourth request:\n%s", raw);
	cr_expect(
	    strcasestr(raw, "\r\nretry-after: 60\r\n") != NULL, "no Retry-After: 60:\n%s", raw);
	cr_expect(strstr(raw, "{\"error\":\"Rate limit exceeded\"}") != NULL, "%s", raw);
	free(raw);
	raw = get_from("kv.test", "/api/items", "10.0.0.2");
	cr_expect_eq(raw_status(raw), 200, "another client is limited too:\n%s", raw);
	free(raw);
}

static void
expect_text(const char *host, const char *path, const char *text)
{
	struct response r = http_do("GET", e->public_addr, path, host, NULL, NULL, NULL, 0);

	cr_expect_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body);
	cr_expect_str_eq(r.body, text, "GET %s", path);
	response_free(&r);
}

Test(kv, feature_flags_from_kv_switch_the_answer)
{
	static const char flags[] = "{\"beta-checkout\":true,\"dark-mode\":false}";
	struct response r;

	kv_deploy("kva", "kv.test");
	expect_text("kv.test", "/flags/check?name=beta-checkout", "old checkout");
	r = http_do("POST", e->public_addr, "/flags/set", "kv.test", NULL, "application/json",
	    flags, strlen(flags));
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	expect_text("kv.test", "/flags/check?name=beta-checkout", "new checkout");
	expect_text("kv.test", "/flags/check?name=dark-mode", "old checkout");
	expect_text("kv.test", "/flags/check?name=unknown", "old checkout");
}
