/*
 * End to end: what tenant console.* calls write to the edged log — levels,
 * util.format placeholders, Node-style inspection, counters, groups, tables.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	e = edged_start(NULL);
	admin_create_tenant(e, "con");
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(console, .init = setup, .fini = teardown, .timeout = 120);

#define MODULE(body)                                                                               \
	"var __worker = { default: { fetch: function (req) {" body                                 \
	" return new Response('ok'); } } };"

/* Deploys `body` as the fetch handler and requests it once. */
static void
run(const char *name, const char *body)
{
	char host[64];
	struct response r;

	snprintf(host, sizeof(host), "%s.test", name);
	deploy(e, "con", name, host, body, NULL);
	r = http_do("GET", e->public_addr, "/", host, NULL, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "status %ld: %s", r.status, r.body);
	response_free(&r);
}

static void
expect_log(const char *needle)
{
	cr_expect(edged_log_wait(e, needle, 10000), "not in the log: %s", needle);
}

Test(console, placeholders_follow_util_format)
{
	run("fmt",
	    MODULE("console.log('s=%s d=%d i=%i f=%f j=%j %% %c|', 'str', '42', 3.9, '2.5x', {x: "
		   "[1]}, 'color: red');"
		   "console.log('o=%o', {a: 'q'}, 'rest', 7);"
		   "console.log('100%', 'done');"));
	expect_log("worker 'fmt': s=str d=42 i=3 f=2.5 j={\"x\":[1]} % |");
	expect_log("worker 'fmt': o={ a: 'q' } rest 7");
	expect_log("worker 'fmt': 100% done");
}

Test(console, objects_are_inspected_compactly_and_cycle_safe)
{
	run("insp",
	    MODULE("var o = {a: 1, s: \"it's\", deep: {b: {c: {d: 1}}}, arr: [1, 'x'], f: function "
		   "foo() {}};"
		   "o.self = o;"
		   "console.log(o);"
		   "console.log([new Date(0), /x/g, new Uint8Array([1, 2])]);"
		   "console.log(new Error('kaput'));"
		   "function K() { this.z = 1; } console.log(new K(), null, undefined, -0);"
		   "if (typeof Map === 'function') console.log(new Map([['k', 1]]), new Set([2]));"
		   "console.log(typeof Map === 'function' ? 'collections: yes' : 'collections: "
		   "no');"));
	expect_log("{ a: 1, s: 'it\\'s', deep: { b: { c: [Object] } }, arr: [ 1, 'x' ], "
		   "f: [Function: foo], self: [Circular] }");
	expect_log("[ 1970-01-01T00:00:00.000Z, /x/g, Uint8Array(2) [ 1, 2 ] ]");
	expect_log("Error: kaput\n    at ");
	expect_log("K { z: 1 } null undefined -0");
	expect_log("collections: ");
	/* Map and Set come from another part of the runtime; inspect them once they exist. */
	if (edged_log_count(e, "collections: yes") > 0)
		expect_log("Map(1) { 'k' => 1 } Set(1) { 2 }");
}

Test(console, levels_reach_the_log)
{
	run("lvl",
	    MODULE("console.error('an error line'); console.warn('a warn line');"
		   "console.info('an info line'); console.debug('a debug line');"
		   "console.assert(true, 'never'); console.assert(false, 'it %s', 'failed');"));
	expect_log("worker 'lvl': an error line");
	expect_log("worker 'lvl': a warn line");
	expect_log("worker 'lvl': an info line");
	expect_log("worker 'lvl': Assertion failed: it failed");
	/* ("never" alone appears in the sanitizer build's own warning.) */
	cr_expect_eq(edged_log_count(e, "Assertion failed: never"), 0);
}

Test(console, count_time_group_and_table)
{
	run("misc",
	    MODULE("console.count(); console.count(); console.count('x');"
		   "console.time('t'); console.timeEnd('t'); console.timeEnd('missing');"
		   "console.group('G'); console.log('inside'); console.groupEnd(); "
		   "console.log('outside');"
		   "console.table([{a: 1, b: 'x'}]);"));
	expect_log("worker 'misc': default: 2");
	expect_log("worker 'misc': x: 1");
	expect_log("worker 'misc': t: 0ms");
	expect_log("No such label 'missing' for console.timeEnd()");
	expect_log("worker 'misc':   inside");
	expect_log("worker 'misc': outside");
	expect_log("\xe2\x94\x82 0       \xe2\x94\x82 1 \xe2\x94\x82 'x' \xe2\x94\x82");
}

Test(console, huge_output_is_capped)
{
	run("big",
	    MODULE("var s = new Array(100001).join('y'); console.log(s + 'TAIL');"
		   "var deep = {}; var p = deep; for (var i = 0; i < 10000; i++) { p.n = {}; p = "
		   "p.n; }"
		   "console.log('deep', deep); console.log('after the big ones');"));
	expect_log("worker 'big': after the big ones");
	expect_log("worker 'big': deep { n: { n: { n: [Object] } } }");
	cr_expect_eq(edged_log_count(e, "TAIL"), 0, "a line past 16 KiB was not cut");
}
