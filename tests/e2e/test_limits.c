/*
 * End to end: per-tenant limits through PUT/GET /edged/v1/tenants/{tenant}
 * (what a tenant's clients then see), the pool's recycling policy (after N
 * requests with jitter, lifetime CPU, RSS and age) and the kill counters by
 * reason in /status.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS 20000 /* bound on every wait; never a synchronisation */

static struct edged *e;

static void
teardown(void)
{
	edged_free(e);
	e = NULL;
}

TestSuite(limits, .fini = teardown, .timeout = 180);

/*
 * Burns CPU (Date.now() does not move while a request runs, as on Workers):
 * ?ms=N runs N * 150000 loop turns, about N ms on the machine this was
 * written on.  Only orders of magnitude matter below.
 */
#define BURN(ms) "for (var i = 0, end = (" ms ") * 150000; i < end; i++) {}"
#define BURN_WORKER                                                                                \
	"var __worker = { default: { fetch: function (req) {"                                      \
	"  var ms = Number(new URL(req.url).searchParams.get('ms') || '0');"                       \
	"  " BURN("ms") "  return new Response('burned');"                                         \
			"} } };"

/* Answers after ?ms=N milliseconds of waiting (no CPU). */
#define WAIT_WORKER                                                                                \
	"var __worker = { default: { fetch: function (req) {"                                      \
	"  var ms = Number(new URL(req.url).searchParams.get('ms') || '0');"                       \
	"  console.log('waiter started');"                                                         \
	"  return new Promise(function (ok) { setTimeout(function () {"                            \
	"    ok(new Response('waited')); }, ms); });"                                              \
	"} } };"

/* Counts its requests: a new sandbox starts again at 1. */
#define COUNT_WORKER                                                                               \
	"var n = 0, keep = [], mib = 'x';"                                                         \
	"for (var k = 0; k < 20; k++) mib += mib;"                                                 \
	"var __worker = { default: { fetch: function (req) {"                                      \
	"  var u = new URL(req.url), ms = Number(u.searchParams.get('ms') || '0');"                \
	"  if (u.searchParams.get('grow')) keep.push(mib + n);"                                    \
	"  if (u.searchParams.get('burn')) { " BURN(                                               \
	    "ms") " }"                                                                             \
		  "  n++;"                                                                         \
		  "  if (u.searchParams.get('wait')) return new Promise(function (ok) {"           \
		  "    setTimeout(function () { ok(new Response(String(n))); }, ms); });"          \
		  "  return new Response(String(n));"                                              \
		  "} } };"

/* --- helpers -------------------------------------------------------------------- */

static struct response
tenant_call(const char *method, const char *tenant, const char *body)
{
	char path[256];

	snprintf(path, sizeof(path), "/edged/v1/tenants/%s", tenant);
	return http_do(method, e->admin_addr, path, NULL, TEST_TOKEN,
	    body != NULL ? "application/json" : NULL, body, body != NULL ? strlen(body) : 0);
}

/* PUT with a body, asserting 200; returns result.limits as JSON text (caller frees). */
static char *
set_limits(const char *tenant, const char *body)
{
	struct response r = tenant_call("PUT", tenant, body);
	json_t *j = json_loads(r.body, 0, NULL);
	char *text;

	cr_assert_eq(r.status, 200, "PUT %s %s: %ld %s", tenant, body, r.status, r.body);
	cr_assert_not_null(j, "%s", r.body);
	text = json_dumps(
	    json_object_get(json_object_get(j, "result"), "limits"), JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_not_null(text, "no result.limits in %s", r.body);
	json_decref(j);
	response_free(&r);
	return text;
}

static void
expect_rejected(const char *tenant, const char *body, const char *words)
{
	struct response r = tenant_call("PUT", tenant, body);

	cr_expect_eq(r.status, 400, "PUT %s: %ld %s", body, r.status, r.body);
	cr_expect(strstr(r.body, words) != NULL, "PUT %s: '%s' not in %s", body, words, r.body);
	response_free(&r);
}

static struct response
get(const char *host, const char *path)
{
	return http_do("GET", e->public_addr, path, host, NULL, NULL, NULL, 0);
}

static void
expect_get(const char *host, const char *path, long status, const char *body)
{
	struct response r = get(host, path);

	cr_expect_eq(r.status, status, "GET %s%s: %ld %s", host, path, r.status, r.body);
	if (body != NULL)
		cr_expect_str_eq(r.body, body, "GET %s%s", host, path);
	response_free(&r);
}

/* A counter from /status: result.<group>.<name>. */
/* Waits (each look an admin round trip) until result.<group>.<name> >= n. */
static bool
wait_counter(const char *group, const char *name, long n)
{
	for (int i = 0; i < 2000; i++)
		if (admin_status_counter(e, group, name) >= n)
			return true;
	return false;
}

/* The pid of the (first) ready sandbox of `tenant`, or -1. */
static long
tenant_pid(const char *tenant)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *list, *it;
	long pid = -1;
	size_t i;

	cr_assert_not_null(j, "%s", text);
	list = json_object_get(json_object_get(json_object_get(j, "result"), "pool"), "list");
	json_array_foreach (list, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "tenant")), tenant) == 0 &&
		    strcmp(json_string_value(json_object_get(it, "state")), "ready") == 0) {
			pid = (long)json_integer_value(json_object_get(it, "pid"));
			break;
		}
	}
	json_decref(j);
	free(text);
	return pid;
}

/* GET that answers with a number (COUNT_WORKER). */
static long
get_count(const char *host, const char *path)
{
	struct response r = get(host, path);
	long n;

	cr_assert_eq(r.status, 200, "GET %s%s: %ld %s", host, path, r.status, r.body);
	n = strtol(r.body, NULL, 10);
	response_free(&r);
	return n;
}

/*
 * From a fresh sandbox, sends requests until the count starts again at 1
 * (the sandbox was recycled), at most `max`; returns how many the first
 * sandbox served, or -1.
 */
static long
served_before_recycle(const char *host, const char *path, int max)
{
	long last = 0, n;

	for (int i = 0; i < max; i++) {
		n = get_count(host, path);
		if (n <= last)
			return last;
		last = n;
	}
	return -1;
}

/* --- 1. the admin API ------------------------------------------------------------- */

Test(limits, tenant_limits_are_validated_stored_and_read_back)
{
	struct response r;
	char *limits;

	e = edged_start(NULL);
	limits = set_limits("acme", NULL);
	cr_expect_str_eq(limits, "{}", "a new tenant has no limits of its own");
	free(limits);

	limits = set_limits("acme",
	    "{\"limits\":{\"cpu_ms\":200,\"wall_ms\":900,\"max_sandboxes_per_version\":2,"
	    "\"request_queue_max\":0}}");
	cr_expect_str_eq(limits,
	    "{\"cpu_ms\":200,\"max_sandboxes_per_version\":2,"
	    "\"request_queue_max\":0,\"wall_ms\":900}");
	free(limits);

	r = tenant_call("GET", "acme", NULL);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "\"cpu_ms\":200") != NULL || strstr(r.body, "\"cpu_ms\": 200"),
	    "%s", r.body);
	response_free(&r);

	/* A PUT without "limits" (edgectl's) leaves them as they are. */
	limits = set_limits("acme", "{}");
	cr_expect(strstr(limits, "\"wall_ms\":900") != NULL, "%s", limits);
	free(limits);

	expect_rejected(
	    "acme", "{\"limits\":{\"cpu_ms\":50,\"cpu\":1}}", "unknown key 'limits.cpu'");
	expect_rejected(
	    "acme", "{\"limits\":{\"cpu_ms\":0}}", "'limits.cpu_ms' must be an integer");
	expect_rejected("acme", "{\"limits\":{\"cpu_ms\":\"50\"}}", "'limits.cpu_ms'");
	expect_rejected("acme", "{\"limits\":{\"wall_ms\":-1}}", "'limits.wall_ms'");
	expect_rejected("acme", "{\"limits\":{\"wall_ms\":10,\"cpu_ms\":20}}", "below");
	expect_rejected("acme", "{\"limits\":[1]}", "'limits' must be a JSON object");
	expect_rejected("acme", "{\"limits\":{\"memory_mb\":64}}", "cannot be set per tenant");
	/* A rejected PUT changed nothing. */
	r = tenant_call("GET", "acme", NULL);
	cr_expect(strstr(r.body, "900") != NULL, "%s", r.body);
	response_free(&r);

	/* "limits": {} clears them. */
	limits = set_limits("acme", "{\"limits\":{}}");
	cr_expect_str_eq(limits, "{}");
	free(limits);

	r = tenant_call("GET", "nobody", NULL);
	cr_expect_eq(r.status, 404, "%s", r.body);
	response_free(&r);
	r = http_do("GET", e->admin_addr, "/edged/v1/tenants/acme", NULL, "wrong-token-wrong", NULL,
	    NULL, 0);
	cr_expect_eq(r.status, 401);
	response_free(&r);

	/* Stored durably. */
	free(set_limits("acme", "{\"limits\":{\"cpu_ms\":321}}"));
	edged_stop(e);
	edged_restart(e);
	r = tenant_call("GET", "acme", NULL);
	cr_expect(strstr(r.body, "321") != NULL, "after a restart: %s", r.body);
	response_free(&r);
}

/* --- 2. limits in force ----------------------------------------------------------- */

Test(limits, a_tenants_cpu_ms_replaces_the_configured_one_for_it_only)
{
	e = edged_start("cpu_ms = 50\n");
	deploy(e, "roomy", "w", "roomy.test", BURN_WORKER, NULL);
	deploy(e, "tight", "w", "tight.test", BURN_WORKER, NULL);

	/* Both at the configured 50 ms: 300 ms of CPU is too much. */
	expect_get("roomy.test", "/?ms=300", 503, "error code: 1102\n");

	/* Applied to the running version at once, without a new upload. */
	free(set_limits("roomy", "{\"limits\":{\"cpu_ms\":5000}}"));
	expect_get("roomy.test", "/?ms=300", 200, "burned");
	expect_get("tight.test", "/?ms=300", 503, "error code: 1102\n");

	/* And cleared again. */
	free(set_limits("roomy", "{\"limits\":{}}"));
	expect_get("roomy.test", "/?ms=300", 503, "error code: 1102\n");
}

Test(limits, a_tenants_wall_ms_is_504_for_it_only)
{
	e = edged_start(NULL);
	deploy(e, "hasty", "w", "hasty.test", WAIT_WORKER, NULL);
	deploy(e, "patient", "w", "patient.test", WAIT_WORKER, NULL);
	free(set_limits("hasty", "{\"limits\":{\"wall_ms\":200}}"));

	expect_get("hasty.test", "/?ms=1500", 504, NULL);
	expect_get("patient.test", "/?ms=1500", 200, "waited");
	expect_get("hasty.test", "/?ms=0", 200, "waited");
}

Test(limits, a_tenants_queue_and_sandbox_caps_give_503_with_retry_after)
{
	static const char req[] =
	    "GET /?ms=3000 HTTP/1.1\r\nHost: small.test\r\nConnection: close\r\n\r\n";
	struct response r;
	char *raw, *retry;
	int fd;

	e = edged_start("max_sandboxes_per_version = 4\nrequest_queue_max = 64\n");
	deploy(e, "small", "w", "small.test", WAIT_WORKER, NULL);
	free(set_limits(
	    "small", "{\"limits\":{\"max_sandboxes_per_version\":1,\"request_queue_max\":0}}"));

	/* One sandbox, busy for 3 s; no queue: the next request is turned away. */
	fd = raw_connect(e->public_port, WAIT_MS);
	cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	cr_assert(edged_log_wait(e, "waiter started", WAIT_MS));
	r = get("small.test", "/?ms=0");
	cr_expect_eq(r.status, 503, "%ld %s", r.status, r.body);
	retry = response_header(&r, "Retry-After");
	cr_expect_not_null(retry, "no Retry-After: %s", r.headers);
	free(retry);
	response_free(&r);
	cr_expect_eq(admin_status_counter(e, "stats", "queue_full_version"), 1);

	raw = NULL;
	{
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk) - 1, 0);

		cr_assert_gt(n, 0);
		chunk[n] = '\0';
		raw = strdup(chunk);
	}
	close(fd);
	cr_expect_eq(raw_status(raw), 200, "the first request: %s", raw);
	free(raw);
	/* Free again: it is served at once. */
	expect_get("small.test", "/?ms=0", 200, "waited");
}

/* --- 3. kills by reason ------------------------------------------------------------- */

Test(limits, soft_cpu_and_memory_stops_are_1102_and_counted_by_reason)
{
	long pid;

	/* CPU enough to fill the heap before the soft CPU stop. */
	e = edged_start("memory_mb = 32\ncpu_ms = 1000\n");
	deploy(e, "spin", "w", "spin.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  if (req.url.indexOf('/ok') >= 0) return new Response('fine');"
	    "  if (req.url.indexOf('/hog') >= 0) {"
	    "    var s = 'y'; for (var k = 0; k < 20; k++) s += s;"
	    "    var a = []; for (;;) a.push(s + a.length); }"
	    "  while (true) {}"
	    "} } };",
	    NULL);
	expect_get("spin.test", "/ok", 200, "fine");
	pid = tenant_pid("spin");
	cr_assert_gt(pid, 0);

	expect_get("spin.test", "/", 503, "error code: 1102\n");
	cr_expect_eq(admin_status_counter(e, "kills", "cpu_soft"), 1);
	cr_expect_eq(admin_status_counter(e, "kills", "cpu_hard"), 0);
	/* The soft stop leaves the sandbox alive: the same process answers next. */
	expect_get("spin.test", "/ok", 200, "fine");
	cr_expect_eq(tenant_pid("spin"), pid, "the sandbox was replaced after a soft stop");

	expect_get("spin.test", "/hog", 503, "error code: 1102\n");
	cr_expect_eq(admin_status_counter(e, "kills", "memory"), 1);
	cr_expect_eq(admin_status_counter(e, "kills", "cpu_soft"), 1);
	cr_expect(edged_log_wait(e, "memory limit (1102)", WAIT_MS));
	/* The memory stop recycles the sandbox: a fresh one serves. */
	expect_get("spin.test", "/ok", 200, "fine");
	cr_expect_neq(tenant_pid("spin"), pid, "the sandbox kept its full heap");
}

/*
 * A sandbox that dies under it is a crash, not a seccomp kill.  (A SIGSYS
 * from outside cannot be sent: the sandbox is its pid namespace's init,
 * which only SIGKILL reaches; the seccomp count is the launcher's report.)
 */
Test(limits, a_sandbox_killed_from_outside_counts_as_a_crash)
{
	long pid;

	e = edged_start(NULL);
	deploy(e, "victim", "w", "victim.test", COUNT_WORKER, NULL);
	cr_assert_eq(get_count("victim.test", "/"), 1);
	pid = tenant_pid("victim");
	cr_assert_gt(pid, 0);
	cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
	cr_expect(wait_counter("kills", "crash", 1), "the death was not counted as a crash");
	cr_expect_eq(admin_status_counter(e, "kills", "seccomp"), 0);
	cr_expect_eq(admin_status_counter(e, "kills", "cpu_hard"), 0);
	cr_assert_eq(get_count("victim.test", "/"), 1, "a fresh sandbox serves");
}

/* --- 4. recycling -------------------------------------------------------------------- */

Test(limits, recycle_after_requests_has_per_sandbox_jitter_within_ten_percent)
{
	long n, last = 0;
	int complete = 0;

	e = edged_start("recycle_after_requests = 20\nmax_sandboxes_per_version = 1\n");
	deploy(e, "cyc", "w", "cyc.test", COUNT_WORKER, NULL);
	/* Every sandbox serves 18 to 22 requests, then a fresh one takes over. */
	for (int i = 0; i < 100; i++) {
		n = get_count("cyc.test", "/");
		if (n <= last) {
			cr_expect_eq(n, 1, "a fresh sandbox starts at 1");
			cr_expect_geq(last, 18, "a sandbox served only %ld", last);
			cr_expect_leq(last, 22, "a sandbox served %ld", last);
			complete++;
		}
		last = n;
	}
	cr_expect_geq(complete, 4, "only %d sandboxes were recycled in 100 requests", complete);
	cr_expect_geq(admin_status_counter(e, "recycles", "requests"), 4);
	cr_expect_eq(admin_status_counter(e, "kills", "crash"), 0);
}

Test(limits, recycle_after_lifetime_cpu)
{
	long served;

	e = edged_start("recycle_after_cpu_s = 1\ncpu_ms = 1000\nmax_sandboxes_per_version = 1\n");
	deploy(e, "cpu", "w", "cpu.test", COUNT_WORKER, NULL);
	/* About 100 ms of CPU each: the sandbox goes after a second of them. */
	served = served_before_recycle("cpu.test", "/?burn=1&ms=100", 100);
	cr_expect_gt(served, 1, "recycled after %ld requests", served);
	cr_expect_eq(admin_status_counter(e, "recycles", "cpu"), 1);
}

Test(limits, recycle_after_rss)
{
	long served;

	e = edged_start("recycle_after_rss_mb = 48\nmax_sandboxes_per_version = 1\n");
	deploy(e, "fat", "w", "fat.test", COUNT_WORKER, NULL);
	/* Each request keeps about 1 MiB more. */
	served = served_before_recycle("fat.test", "/?grow=1", 100);
	cr_expect_gt(served, 0, "never recycled");
	cr_expect_eq(admin_status_counter(e, "recycles", "rss"), 1);
}

Test(limits, recycle_after_age_drains_first)
{
	long served;

	e = edged_start("recycle_after_age_s = 1\nmax_sandboxes_per_version = 1\n");
	deploy(e, "old", "w", "old.test", COUNT_WORKER, NULL);
	/* 300 ms per request: past a second of age, the next request end recycles it. */
	served = served_before_recycle("old.test", "/?wait=1&ms=300", 40);
	cr_expect_gt(served, 0, "never recycled");
	cr_expect_geq(admin_status_counter(e, "recycles", "age"), 1);
	/* Drained: nothing failed on the way. */
	cr_expect_eq(admin_status_counter(e, "stats", "responses_5xx"), 0);
}
