/*
 * End to end: the WPT data files urlencoded-parser-data.json and
 * urltestdata.json run through URLSearchParams and URL inside a real edged
 * sandbox; the data is prepended to a small checker worker as JS variables.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WPT EDGED_SOURCE_DIR "/tests/data/wpt/"

/* Answers {suite: {passed, failed: [messages]}} for both data sets. */
static const char checker[] =
    "function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }\n"
    "function runForm() {\n"
    "	var r = { passed: 0, failed: [] };\n"
    "	FORM.forEach(function (t) {\n"
    "		var got;\n"
    "		try { got = Array.from(new URLSearchParams(t.input)); }\n"
    "		catch (e) { got = 'threw ' + e; }\n"
    "		if (same(got, t.output)) r.passed++;\n"
    "		else r.failed.push(JSON.stringify(t.input) + ': got ' + JSON.stringify(got));\n"
    "	});\n"
    "	return r;\n"
    "}\n"
    "var KEYS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname',\n"
    "    'port', 'pathname', 'search', 'hash'];\n"
    "function runURL() {\n"
    "	var r = { passed: 0, failed: [] };\n"
    "	URLS.forEach(function (t) {\n"
    "		var u, bad = [];\n"
    "		if (typeof t !== 'object') return;\n"
    "		try { u = t.base === null ? new URL(t.input) : new URL(t.input, t.base); }\n"
    "		catch (e) { u = e; }\n"
    "		if (t.failure) {\n"
    "			if (!(u instanceof TypeError)) bad.push('expected a TypeError');\n"
    "			if (URL.canParse(t.input, t.base === null ? undefined : t.base))\n"
    "				bad.push('canParse is true');\n"
    "		} else if (!(u instanceof URL)) {\n"
    "			bad.push('threw ' + u);\n"
    "		} else {\n"
    "			KEYS.forEach(function (k) {\n"
    "				if (t[k] !== undefined && u[k] !== t[k])\n"
    "					bad.push(k + ' ' + JSON.stringify(u[k]) + ' != ' + "
    "JSON.stringify(t[k]));\n"
    "			});\n"
    "		}\n"
    "		if (bad.length === 0) r.passed++;\n"
    "		else r.failed.push(JSON.stringify(t.input) + ' @ ' + JSON.stringify(t.base) + ': ' "
    "+\n"
    "		    bad.join('; '));\n"
    "	});\n"
    "	return r;\n"
    "}\n"
    "var __worker = { default: { fetch: function () {\n"
    "	return new Response(JSON.stringify({ form: runForm(), url: runURL() }));\n"
    "} } };\n";

/* The file's JSON re-serialized as pure ASCII (so that Duktape's ES5 lexer takes it). */
static char *
load_ascii_json(const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_ALLOW_NUL, &err);
	char *text;

	cr_assert_not_null(j, "cannot load %s: %s", path, err.text);
	text = json_dumps(j, JSON_ENSURE_ASCII | JSON_COMPACT);
	cr_assert_not_null(text);
	json_decref(j);
	return text;
}

static int
report(json_t *suite, const char *name, int expected_cases)
{
	json_t *failed = json_object_get(suite, "failed"), *it;
	long long passed = json_integer_value(json_object_get(suite, "passed"));
	size_t i, nfailed = json_array_size(failed);

	fprintf(stderr, "%s in JS: %lld passed, %zu failed\n", name, passed, nfailed);
	json_array_foreach (failed, i, it)
		cr_expect(false, "%s: %s", name, json_string_value(it));
	cr_expect_eq(passed + (long long)nfailed, expected_cases, "%s: case count", name);
	return (int)nfailed;
}

Test(url_conformance, wpt_data_passes_through_the_js_classes, .timeout = 240)
{
	struct edged *e;
	struct response r;
	json_t *result;
	char *form, *urls, *script;

	form = load_ascii_json(WPT "urlencoded-parser-data.json");
	urls = load_ascii_json(WPT "urltestdata.json");
	if (asprintf(&script, "var FORM = %s;\nvar URLS = %s;\n%s", form, urls, checker) < 0)
		cr_assert_fail("out of memory");
	free(form);
	free(urls);

	e = edged_start("cpu_ms = 5000\nwall_ms = 60000\nstartup_cpu_ms = 5000\n");
	deploy(e, "wpt", "url", "url.test", script, "[]");
	free(script);
	r = http_do("GET", e->public_addr, "/", "url.test", NULL, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "status %ld: %s", r.status, r.body);
	result = json_loads(r.body, 0, NULL);
	cr_assert_not_null(result, "not JSON: %s", r.body);
	cr_expect_eq(report(json_object_get(result, "form"), "urlencoded-parser-data.json", 35), 0);
	cr_expect_eq(report(json_object_get(result, "url"), "urltestdata.json", 891), 0);
	json_decref(result);
	response_free(&r);
	edged_free(e);
}
