/*
 * End to end: the service's lifecycle as an operator and a client see it --
 * draining on SIGTERM, reloading on SIGHUP, version swaps under load, the
 * per-request wall and CPU limits, the request queue and upload limits.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS 20000 /* bound on every wait; never a synchronisation */
#define NEW_TOKEN "reloaded-operator-token-4711"

static struct edged *e;

static void
teardown(void)
{
	edged_free(e);
	e = NULL;
}

TestSuite(lifecycle, .fini = teardown, .timeout = 120);

/*
 * A worker with three paths, each answer prefixed with `tag`:
 *   /slow  logs "<tag> slow started", answers "<tag> slow done" 300 ms later;
 *   /held  logs "<tag> held started", answers "<tag> held <body>" once the
 *          whole request body is in -- the test decides when that is;
 *   else   answers "<tag> quick" at once.
 */
#define TAGGED_WORKER(tag)                                                                         \
	"var __worker = { default: { fetch: function (req) {"                                      \
	"  var u = req.url;"                                                                       \
	"  if (u.indexOf('/slow') >= 0) {"                                                         \
	"    console.log('" tag " slow started');"                                                 \
	"    return new Promise(function (ok) { setTimeout(function () {"                          \
	"      ok(new Response('" tag " slow done')); }, 300); });"                                \
	"  }"                                                                                      \
	"  if (u.indexOf('/held') >= 0) {"                                                         \
	"    console.log('" tag " held started');"                                                 \
	"    return req.text().then(function (t) { return new Response('" tag " held ' + t); });"  \
	"  }"                                                                                      \
	"  return new Response('" tag " quick');"                                                  \
	"} } };"

#define OK_WORKER                                                                                  \
	"var __worker = { default: { fetch: function () { return new Response('ok'); } } };"
#define SW_OK_WORKER                                                                               \
	"addEventListener('fetch', function (ev) { ev.respondWith(new Response('ok')); });"

/* --- raw HTTP helpers ------------------------------------------------------------- */

/* Connects and sends `request` whole; returns the fd (receive timeout WAIT_MS). */
static int
send_raw(const char *request)
{
	int fd = raw_connect(e->public_port, WAIT_MS);
	size_t len = strlen(request);

	cr_assert_eq(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	return fd;
}

static void
send_more(int fd, const char *data)
{
	size_t len = strlen(data);

	cr_assert_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The body of a raw response (after the head), or "" if it has none. */
static const char *
raw_body(const char *raw)
{
	const char *p = strstr(raw, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

/* Whether the raw response head has header `name` (case-insensitive). */
static bool
raw_has_header(const char *raw, const char *name)
{
	const char *end = strstr(raw, "\r\n\r\n"), *p = raw;
	size_t n = strlen(name);

	while (p != NULL && end != NULL && p < end) {
		p = strstr(p, "\r\n");
		if (p == NULL || p >= end)
			break;
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
	}
	return false;
}

/*
 * Whether a new connection to `port` is refused: connect fails with
 * ECONNREFUSED, or -- when it raced into the backlog of a listener that
 * was closing -- the connection is reset without a byte of answer.
 */
static bool
connection_refused(int port)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: any.test\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000, .tv_usec = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[64];
	ssize_t r;

	cr_assert_geq(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		int err = errno;

		close(fd);
		cr_expect_eq(err, ECONNREFUSED, "connect failed with %s", strerror(err));
		return err == ECONNREFUSED;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	r = recv(fd, buf, sizeof(buf), 0);
	close(fd);
	return r == 0 || (r == -1 && errno == ECONNRESET);
}

static void
expect_get(const char *host, const char *path, long status, const char *body)
{
	struct response r = http_do("GET", e->public_addr, path, host, NULL, NULL, NULL, 0);

	cr_expect_eq(r.status, status, "GET %s%s: %ld %s", host, path, r.status, r.body);
	if (body != NULL)
		cr_expect_str_eq(r.body, body, "GET %s%s", host, path);
	response_free(&r);
}

/* A counter from /status: result.<group>.<name>. */
/*
 * Waits until edged has counted `n` public requests, i.e. routed and queued
 * them (it counts and queues in one step).  Each look is an admin round trip.
 */
static void
wait_requests_seen(long n)
{
	for (int i = 0; i < 1000; i++)
		if (admin_status_counter(e, "stats", "requests") >= n)
			return;
	cr_assert_fail("edged never saw %ld requests", n);
}

/* The sandboxes of `tenant` in /status: how many, how many busy, how many ready. */
static void
tenant_sandboxes(const char *tenant, int *total, int *busy, int *ready)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *list, *it;
	size_t i;

	cr_assert_not_null(j, "%s", text);
	*total = *busy = *ready = 0;
	list = json_object_get(json_object_get(json_object_get(j, "result"), "pool"), "list");
	cr_assert(json_is_array(list), "%s", text);
	json_array_foreach (list, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "tenant")), tenant) != 0)
			continue;
		(*total)++;
		if (json_integer_value(json_object_get(it, "inflight")) != 0)
			(*busy)++;
		if (strcmp(json_string_value(json_object_get(it, "state")), "ready") == 0)
			(*ready)++;
	}
	json_decref(j);
	free(text);
}

/* --- 1. SIGTERM ------------------------------------------------------------------- */

Test(lifecycle, sigterm_drains_in_flight_requests_refuses_new_ones_and_exits_0)
{
	int slow_fd, held_fd, status;
	char *raw;

	e = edged_start(NULL);
	deploy(e, "drain", "w", "drain.test", TAGGED_WORKER("d"), NULL);

	slow_fd = send_raw("GET /slow HTTP/1.1\r\nHost: drain.test\r\n\r\n");
	cr_assert(edged_log_wait(e, "tenant 'drain' worker 'w': d slow started", WAIT_MS));
	/*
	 * A second request whose body is only half sent keeps edged draining for
	 * as long as the test wants: the checks below do not race its exit.
	 */
	held_fd = send_raw("POST /held HTTP/1.1\r\nHost: drain.test\r\nContent-Length: 4\r\n"
			   "\r\nab");
	cr_assert(edged_log_wait(e, "tenant 'drain' worker 'w': d held started", WAIT_MS));

	cr_assert_eq(kill(e->pid, SIGTERM), 0);
	cr_assert(edged_log_wait(e, "draining:", WAIT_MS));
	cr_expect(connection_refused(e->public_port), "a new connection was served while draining");

	raw = raw_read_all(slow_fd);
	cr_expect_eq(raw_status(raw), 200, "in-flight request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "d slow done");
	free(raw);

	/* edged still runs (the held request is unfinished), and still refuses. */
	cr_expect(connection_refused(e->public_port), "a new connection was served while draining");
	cr_expect(connection_refused(e->admin_port), "the admin API was served while draining");
	cr_expect_eq(edged_log_count(e, "supervisor: stopped"), 0, "edged exited with work left");

	send_more(held_fd, "cd");
	raw = raw_read_all(held_fd);
	cr_expect_eq(raw_status(raw), 200, "held request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "d held abcd");
	free(raw);

	/* Once the last request is answered edged exits on its own, with 0. */
	status = edged_wait_exit(e, WAIT_MS);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %#x", status);
}

/* Reads the interim "100 Continue": the server has taken the request head. */
static void
expect_continue(int fd)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	char buf[sizeof(cont)];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(cont) - 1 && (r = recv(fd, buf + n, sizeof(cont) - 1 - n, 0)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	cr_assert_str_eq(buf, cont, "no 100 Continue");
}

Test(lifecycle, sigterm_lets_an_admin_upload_in_flight_finish)
{
	char head[512], *raw;
	struct response r;
	size_t len = strlen(SW_OK_WORKER);
	int fd, status;

	e = edged_start(NULL);
	admin_create_tenant(e, "late");
	fd = raw_connect(e->admin_port, WAIT_MS);
	snprintf(head, sizeof(head),
	    "PUT /client/v4/accounts/late/workers/scripts/w HTTP/1.1\r\nHost: admin\r\n"
	    "Authorization: Bearer " TEST_TOKEN "\r\nContent-Type: application/javascript\r\n"
	    "Content-Length: %zu\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
	    len);
	send_more(fd, head);
	expect_continue(fd);
	cr_assert_eq(send(fd, SW_OK_WORKER, 10, MSG_NOSIGNAL), 10);

	cr_assert_eq(kill(e->pid, SIGTERM), 0);
	cr_assert(edged_log_wait(e, "draining:", WAIT_MS));
	send_more(fd, SW_OK_WORKER + 10);
	raw = raw_read_all(fd);
	cr_expect_eq(raw_status(raw), 200, "upload in flight at SIGTERM: %s", raw);
	free(raw);
	status = edged_wait_exit(e, WAIT_MS);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %#x", status);

	/* What was acknowledged is there after a restart. */
	edged_restart(e);
	r = admin_add_route(e, "late", "late.test/*", "w");
	cr_expect_eq(r.status, 200, "the acknowledged upload is gone: %ld %s", r.status, r.body);
	response_free(&r);
	expect_get("late.test", "/", 200, "ok");
}

/*
 * A request queued behind a sandbox that is recycled while edged drains
 * needs a fresh sandbox: draining must still provide it.
 */
Test(lifecycle, sigterm_serves_a_queued_request_that_needs_a_new_sandbox)
{
	int held_fd, queued_fd, status;
	char *raw;

	e = edged_start("pool_blanks = 0\nrecycle_after_requests = 1\n"
			"max_sandboxes_per_version = 1\nsandbox_concurrency = 1\n"
			"drain_timeout = 10\n");
	deploy(e, "recycle", "w", "recycle.test", TAGGED_WORKER("q"), NULL);

	held_fd = send_raw("POST /held HTTP/1.1\r\nHost: recycle.test\r\nConnection: close\r\n"
			   "Content-Length: 4\r\n\r\nab");
	cr_assert(edged_log_wait(e, "tenant 'recycle' worker 'w': q held started", WAIT_MS));
	queued_fd = send_raw("GET / HTTP/1.1\r\nHost: recycle.test\r\nConnection: close\r\n\r\n");
	wait_requests_seen(2);

	cr_assert_eq(kill(e->pid, SIGTERM), 0);
	cr_assert(edged_log_wait(e, "draining:", WAIT_MS));
	send_more(held_fd, "cd");
	raw = raw_read_all(held_fd);
	cr_expect_eq(raw_status(raw), 200, "held request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "q held abcd");
	free(raw);

	raw = raw_read_all(queued_fd);
	cr_expect_eq(raw_status(raw), 200, "queued request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "q quick");
	free(raw);
	status = edged_wait_exit(e, WAIT_MS);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %#x", status);
	cr_expect_eq(edged_log_count(e, "drain timeout"), 0, "requests were cut off");
}

/* --- 2. SIGHUP -------------------------------------------------------------------- */

/* Rewrites edged's config with the first `old_text` replaced (write then rename). */
static void
rewrite_config(const char *old_text, const char *new_text)
{
	char tmp[400], *text = NULL, *at;
	size_t len = 0;
	FILE *in = fopen(e->config, "r"), *out;
	char line[1024];
	FILE *mem = open_memstream(&text, &len);

	cr_assert_not_null(in);
	while (fgets(line, sizeof(line), in) != NULL)
		fputs(line, mem);
	fclose(in);
	fclose(mem);
	at = strstr(text, old_text);
	cr_assert_not_null(at, "no '%s' in the config:\n%s", old_text, text);
	snprintf(tmp, sizeof(tmp), "%s.new", e->config);
	out = fopen(tmp, "w");
	cr_assert_not_null(out);
	fprintf(out, "%.*s%s%s", (int)(at - text), text, new_text, at + strlen(old_text));
	cr_assert_eq(fclose(out), 0);
	cr_assert_eq(rename(tmp, e->config), 0);
	free(text);
}

static long
admin_status_code(const char *token)
{
	struct response r = http_do("GET", e->admin_addr, "/status", NULL, token, NULL, NULL, 0);
	long status = r.status;

	response_free(&r);
	return status;
}

Test(lifecycle, sighup_reloads_the_token_without_dropping_requests)
{
	int slow_fd, held_fd;
	char *raw;

	e = edged_start("log_level = info\n");
	deploy(e, "reload", "w", "reload.test", TAGGED_WORKER("r"), NULL);
	cr_assert_eq(admin_status_code(TEST_TOKEN), 200);

	slow_fd = send_raw("GET /slow HTTP/1.1\r\nHost: reload.test\r\nConnection: close\r\n\r\n");
	cr_assert(edged_log_wait(e, "tenant 'reload' worker 'w': r slow started", WAIT_MS));
	held_fd = send_raw("POST /held HTTP/1.1\r\nHost: reload.test\r\nConnection: close\r\n"
			   "Content-Length: 4\r\n\r\nab");
	cr_assert(edged_log_wait(e, "tenant 'reload' worker 'w': r held started", WAIT_MS));

	rewrite_config(TEST_TOKEN, NEW_TOKEN);
	cr_assert_eq(kill(e->pid, SIGHUP), 0);
	cr_assert(edged_log_wait(e, "configuration reloaded", WAIT_MS), "no reload logged");

	/* The request that spanned the reload completes. */
	send_more(held_fd, "cd");
	raw = raw_read_all(held_fd);
	cr_expect_eq(raw_status(raw), 200, "held request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "r held abcd");
	free(raw);
	raw = raw_read_all(slow_fd);
	cr_expect_eq(raw_status(raw), 200, "slow request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "r slow done");
	free(raw);

	cr_expect_eq(admin_status_code(TEST_TOKEN), 401, "the old token still works");
	cr_expect_eq(admin_status_code(NEW_TOKEN), 200, "the new token is refused");
	expect_get("reload.test", "/", 200, "r quick");
}

/* Appends lines to edged's config (write then rename). */
static void
append_config(const char *lines)
{
	char tmp[400], line[1024];
	FILE *in = fopen(e->config, "r"), *out;

	snprintf(tmp, sizeof(tmp), "%s.new", e->config);
	cr_assert_not_null(in);
	out = fopen(tmp, "w");
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), in) != NULL)
		fputs(line, out);
	fclose(in);
	fputs(lines, out);
	cr_assert_eq(fclose(out), 0);
	cr_assert_eq(rename(tmp, e->config), 0);
}

Test(lifecycle, sighup_keeps_the_running_config_on_a_bad_file_and_applies_new_limits)
{
	struct response r;

	e = edged_start(NULL);
	deploy(e, "limits", "w", "limits.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  if (req.url.indexOf('/hang') < 0) return new Response('fine');"
	    "  return new Promise(function (ok) { setTimeout(function () {"
	    "    ok(new Response('finally')); }, 5000); });"
	    "} } };",
	    NULL);

	/* A broken file is refused whole: the token and the service stay. */
	append_config("admin_token = " NEW_TOKEN "\nwall_ms = soon\n");
	cr_assert_eq(kill(e->pid, SIGHUP), 0);
	cr_assert(edged_log_wait(e, "keeping the running configuration", WAIT_MS));
	cr_expect_eq(edged_log_count(e, "configuration reloaded"), 0);
	cr_expect_eq(admin_status_code(TEST_TOKEN), 200, "the running token was dropped");
	cr_expect_eq(admin_status_code(NEW_TOKEN), 401, "half of a bad file was applied");
	expect_get("limits.test", "/", 200, "fine");

	/* Fixed, the same file applies, per-request limits included. */
	rewrite_config("wall_ms = soon", "wall_ms = 500\ncpu_ms = 50");
	cr_assert_eq(kill(e->pid, SIGHUP), 0);
	cr_assert(edged_log_wait(e, "configuration reloaded", WAIT_MS));
	cr_expect_eq(admin_status_code(NEW_TOKEN), 200);
	r = http_do("GET", e->public_addr, "/hang", "limits.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 504, "the new wall_ms does not apply: %ld %s", r.status, r.body);
	response_free(&r);
	expect_get("limits.test", "/", 200, "fine");
}

/* --- 3. versions ------------------------------------------------------------------ */

Test(lifecycle, new_version_takes_new_requests_while_in_flight_ones_finish_on_the_old)
{
	int slow_fd, held_fd, total, busy, ready;
	struct response r;
	char *raw;

	e = edged_start(NULL);
	deploy(e, "ver", "w", "ver.test", TAGGED_WORKER("v1"), NULL);
	expect_get("ver.test", "/", 200, "v1 quick");

	slow_fd = send_raw("GET /slow HTTP/1.1\r\nHost: ver.test\r\nConnection: close\r\n\r\n");
	cr_assert(edged_log_wait(e, "tenant 'ver' worker 'w': v1 slow started", WAIT_MS));
	/* Held by its body, this one is surely in flight across the upload. */
	held_fd = send_raw("POST /held HTTP/1.1\r\nHost: ver.test\r\nConnection: close\r\n"
			   "Content-Length: 4\r\n\r\nab");
	cr_assert(edged_log_wait(e, "tenant 'ver' worker 'w': v1 held started", WAIT_MS));

	r = admin_upload_module(e, "ver", "w",
	    "var __worker = { default: { fetch: function () { return new Response('v2'); } } };",
	    NULL);
	cr_assert_eq(r.status, 200, "upload v2: %ld %s", r.status, r.body);
	response_free(&r);

	expect_get("ver.test", "/", 200, "v2");
	expect_get("ver.test", "/held", 200, "v2");

	send_more(held_fd, "cd");
	raw = raw_read_all(held_fd);
	cr_expect_eq(raw_status(raw), 200, "held request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "v1 held abcd");
	free(raw);
	raw = raw_read_all(slow_fd);
	cr_expect_eq(raw_status(raw), 200, "slow request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "v1 slow done");
	free(raw);
	expect_get("ver.test", "/slow", 200, "v2");

	/* The old version's sandboxes went with their last request. */
	tenant_sandboxes("ver", &total, &busy, &ready);
	cr_expect_eq(ready, 1, "%d sandboxes of 'ver' are ready; only v2's should be", ready);
}

Test(lifecycle, old_version_serves_its_queue_then_its_sandbox_goes)
{
	int held_fd, queued_fd, total, busy, ready;
	struct response r;
	char *raw;

	e = edged_start("max_sandboxes_per_version = 1\nsandbox_concurrency = 1\n");
	deploy(e, "oldq", "w", "oldq.test", TAGGED_WORKER("old"), NULL);

	held_fd = send_raw("POST /held HTTP/1.1\r\nHost: oldq.test\r\nConnection: close\r\n"
			   "Content-Length: 4\r\n\r\nab");
	cr_assert(edged_log_wait(e, "tenant 'oldq' worker 'w': old held started", WAIT_MS));
	queued_fd = send_raw("POST /held HTTP/1.1\r\nHost: oldq.test\r\nConnection: close\r\n"
			     "Content-Length: 2\r\n\r\nxy");
	wait_requests_seen(2);

	r = admin_upload_module(e, "oldq", "w", TAGGED_WORKER("new"), NULL);
	cr_assert_eq(r.status, 200, "upload: %ld %s", r.status, r.body);
	response_free(&r);
	expect_get("oldq.test", "/", 200, "new quick");

	/* The queued request was routed to the old version: the old one serves it. */
	send_more(held_fd, "cd");
	raw = raw_read_all(held_fd);
	cr_expect_eq(raw_status(raw), 200, "held request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "old held abcd");
	free(raw);
	raw = raw_read_all(queued_fd);
	cr_expect_eq(raw_status(raw), 200, "queued request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "old held xy");
	free(raw);

	tenant_sandboxes("oldq", &total, &busy, &ready);
	cr_expect_eq(busy, 0);
	cr_expect_eq(
	    ready, 1, "%d sandboxes of 'oldq' are ready; only the new version's should be", ready);
}

/* --- 4. wall time ----------------------------------------------------------------- */

Test(lifecycle, wall_time_limit_is_504_and_service_continues)
{
	struct response r;

	e = edged_start("wall_ms = 500\ncpu_ms = 50\n");
	deploy(e, "hang", "w", "hang.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  if (req.url.indexOf('/ok') >= 0) return new Response('fine');"
	    "  console.log('hanging');"
	    "  return new Promise(function () {});"
	    "} } };",
	    NULL);
	deploy(e, "other", "ok", "other.test", OK_WORKER, NULL);

	r = http_do("GET", e->public_addr, "/", "hang.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 504, "%ld %s", r.status, r.body);
	response_free(&r);
	cr_expect(edged_log_wait(e, "exceeded the wall-time limit", WAIT_MS));

	expect_get("other.test", "/", 200, "ok");
	/* The hung request's sandbox was freed for the next one of its worker. */
	expect_get("hang.test", "/ok", 200, "fine");
}

/* --- 5. CPU ----------------------------------------------------------------------- */

Test(lifecycle, cpu_limit_is_503_1102_even_when_the_script_swallows_errors)
{
	int total, busy, ready;
	struct response r;

	e = edged_start(NULL);
	deploy(e, "spin", "w", "spin.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  if (req.url.indexOf('/ok') >= 0) return new Response('fine');"
	    "  if (req.url.indexOf('/stubborn') >= 0) {"
	    "    for (;;) { try { while (true) {} } catch (e) {} }"
	    "  }"
	    "  if (req.url.indexOf('/later') >= 0) {"
	    "    return new Promise(function (ok) { setTimeout(function () {"
	    "      for (;;) { try { while (true) {} } catch (e) {} } }, 1); });"
	    "  }"
	    "  while (true) {}"
	    "} } };",
	    NULL);
	deploy(e, "other", "ok", "other.test", OK_WORKER, NULL);

	r = http_do("GET", e->public_addr, "/", "spin.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 503, "plain loop: %ld %s", r.status, r.body);
	cr_expect(strstr(r.body, "error code: 1102") != NULL, "plain loop: %s", r.body);
	response_free(&r);

	r = http_do("GET", e->public_addr, "/stubborn", "spin.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 503, "error-swallowing loop: %ld %s", r.status, r.body);
	cr_expect(strstr(r.body, "error code: 1102") != NULL, "error-swallowing loop: %s", r.body);
	response_free(&r);

	r = http_do("GET", e->public_addr, "/later", "spin.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 503, "loop in a timer: %ld %s", r.status, r.body);
	cr_expect(strstr(r.body, "error code: 1102") != NULL, "loop in a timer: %s", r.body);
	response_free(&r);

	expect_get("other.test", "/", 200, "ok");

	/* /status: both answers were counted, and nothing of 'spin' still runs. */
	cr_expect_geq(admin_status_counter(e, "stats", "responses_5xx"), 3);
	tenant_sandboxes("spin", &total, &busy, &ready);
	cr_expect_eq(busy, 0, "a sandbox of 'spin' still counts a request in flight");
	expect_get("spin.test", "/ok", 200, "fine");
	tenant_sandboxes("spin", &total, &busy, &ready);
	cr_expect_geq(ready, 1, "no ready sandbox serves 'spin' after it answered");
	cr_expect_eq(busy, 0);
}

/* --- 6. queue --------------------------------------------------------------------- */

Test(lifecycle, full_queue_is_503_with_retry_after)
{
	static const char req[] =
	    "GET /wait HTTP/1.1\r\nHost: queue.test\r\nConnection: close\r\n\r\n";
	int fd1, fd2, fd3;
	char *raw;

	e = edged_start("max_sandboxes_per_version = 1\nrequest_queue_max = 1\n"
			"sandbox_concurrency = 1\n");
	deploy(e, "queue", "w", "queue.test",
	    "var n = 0;"
	    "var __worker = { default: { fetch: function (req) {"
	    "  var me = ++n;"
	    "  console.log('queued request ' + me + ' started');"
	    "  return new Promise(function (ok) { setTimeout(function () {"
	    "    ok(new Response('served ' + me)); }, 2000); });"
	    "} } };",
	    NULL);

	fd1 = send_raw(req);
	cr_assert(edged_log_wait(e, "queued request 1 started", WAIT_MS));
	fd2 = send_raw(req);
	wait_requests_seen(2); /* the second is queued now */
	fd3 = send_raw(req);

	raw = raw_read_all(fd3);
	cr_expect_eq(raw_status(raw), 503, "third request: %s", raw);
	cr_expect(raw_has_header(raw, "Retry-After"), "no Retry-After: %s", raw);
	free(raw);

	raw = raw_read_all(fd1);
	cr_expect_eq(raw_status(raw), 200, "first request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "served 1");
	free(raw);
	raw = raw_read_all(fd2);
	cr_expect_eq(raw_status(raw), 200, "queued request: %s", raw);
	cr_expect_str_eq(raw_body(raw), "served 2");
	free(raw);
}

/* --- 7. service worker exception ---------------------------------------------------- */

Test(lifecycle, uncaught_exception_in_a_service_worker_is_500_1101)
{
	struct response r;

	e = edged_start(NULL);
	admin_create_tenant(e, "sw");
	r = admin_upload_raw(e, "sw", "boom",
	    "addEventListener('fetch', function (event) {"
	    "  if (event.request.url.indexOf('/ok') >= 0) {"
	    "    event.respondWith(new Response('fine')); return; }"
	    "  if (event.request.url.indexOf('/later') >= 0) {"
	    "    event.respondWith(Promise.resolve().then(function () {"
	    "      throw new Error('sw async detail 7'); })); return; }"
	    "  throw new Error('sw detail 42');"
	    "});");
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = admin_add_route(e, "sw", "sw.test/*", "boom");
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);

	r = http_do("GET", e->public_addr, "/", "sw.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 500);
	cr_expect(strstr(r.body, "error code: 1101") != NULL, "body: %s", r.body);
	cr_expect(strstr(r.body, "detail") == NULL, "the error leaked to the client: %s", r.body);
	response_free(&r);
	cr_expect(edged_log_wait(e, "sw detail 42", WAIT_MS), "the error was not logged");

	r = http_do("GET", e->public_addr, "/later", "sw.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 500);
	cr_expect(strstr(r.body, "error code: 1101") != NULL, "body: %s", r.body);
	response_free(&r);

	expect_get("sw.test", "/ok", 200, "fine");
}

/* --- 8. script size ----------------------------------------------------------------- */

Test(lifecycle, upload_over_script_max_bytes_is_400_naming_the_limit)
{
	char script[2048], small[1025];
	struct response r;
	int n;

	e = edged_start("script_max_bytes = 1KiB\n");
	admin_create_tenant(e, "big");

	/* A script that would be accepted but for its size, in either format. */
	n = snprintf(script, sizeof(script), "%s/*", SW_OK_WORKER);
	memset(script + n, 'x', sizeof(script) - (size_t)n - 3);
	memcpy(script + sizeof(script) - 3, "*/", 3);
	r = admin_upload_raw(e, "big", "big", script);
	cr_expect_eq(r.status, 400, "%ld %s", r.status, r.body);
	cr_expect(
	    strstr(r.body, "1024") != NULL, "the message does not name the limit: %s", r.body);
	response_free(&r);
	n = snprintf(script, sizeof(script), "%s/*", OK_WORKER);
	memset(script + n, 'x', sizeof(script) - (size_t)n - 3);
	memcpy(script + sizeof(script) - 3, "*/", 3);
	r = admin_upload_module(e, "big", "big", script, NULL);
	cr_expect_eq(r.status, 400, "%ld %s", r.status, r.body);
	cr_expect(
	    strstr(r.body, "1024") != NULL, "the message does not name the limit: %s", r.body);
	response_free(&r);

	/* Exactly at the limit is fine. */
	n = snprintf(small, sizeof(small), "%s/*", OK_WORKER);
	memset(small + n, 'y', sizeof(small) - (size_t)n - 3);
	memcpy(small + sizeof(small) - 3, "*/", 3);
	small[sizeof(small) - 1] = '\0';
	cr_assert_eq(strlen(small), 1024);
	r = admin_upload_module(e, "big", "big", small, NULL);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	response_free(&r);
}
