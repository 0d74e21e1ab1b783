/*
 * End to end: crashes, hostile HTTP, and the sandbox's lock-down as seen
 * from outside.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	e = edged_start("request_line_max = 1024\nheader_count_max = 20\n"
			"header_bytes_max = 4096\nrequest_body_max = 65536\nlog_level = debug\n");
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(robustness, .init = setup, .fini = teardown, .timeout = 120);

#define SLOW_WORKER                                                                                \
	"var __worker = { default: { fetch: function (req) {"                                      \
	"  if (req.url.indexOf('/wait') < 0) return new Response('quick');"                        \
	"  console.log('slow request started');"                                                   \
	"  return new Promise(function (ok) { setTimeout(function () {"                            \
	"    ok(new Response('late')); }, 60000); });"                                             \
	"} } };"

/* Pids of sandboxes in a given state (and busy, if asked) from /status. */
static int
sandbox_pids(const char *state, bool busy, long *pids, int max)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *list, *it;
	size_t i;
	int n = 0;

	cr_assert_not_null(j, "%s", text);
	list = json_object_get(json_object_get(json_object_get(j, "result"), "pool"), "list");
	json_array_foreach (list, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "state")), state) != 0)
			continue;
		if (busy && json_integer_value(json_object_get(it, "inflight")) == 0)
			continue;
		if (n < max)
			pids[n++] = (long)json_integer_value(json_object_get(it, "pid"));
	}
	json_decref(j);
	free(text);
	return n;
}

static int
blank_count(void)
{
	long pids[64];

	return sandbox_pids("blank", false, pids, 64);
}

Test(robustness, kill_9_of_a_sandbox_mid_request_is_502_and_the_pool_refills)
{
	static const char req[] = "GET /wait HTTP/1.1\r\nHost: slow.test\r\n\r\n";
	struct response r;
	char buf[4096];
	long pids[4];
	ssize_t n;
	int fd, spawned;

	deploy(e, "s", "slow", "slow.test", SLOW_WORKER, NULL);
	fd = raw_connect(e->public_port, 20000);
	cr_assert_eq(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
	cr_assert(edged_log_wait(e, "slow request started", 20000));
	cr_assert_eq(sandbox_pids("ready", true, pids, 4), 1);
	cr_assert_eq(kill((pid_t)pids[0], SIGKILL), 0);

	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0, "no response after the sandbox died");
	buf[n] = '\0';
	cr_expect_eq(raw_status(buf), 502, "%s", buf);
	close(fd);

	/* The next request takes a blank; the pool spawns its replacement. */
	spawned = edged_log_count(e, "sandbox spawned");
	r = http_do("GET", e->public_addr, "/", "slow.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "quick");
	response_free(&r);
	cr_expect(edged_log_wait_count(e, "sandbox spawned", spawned + 1, 20000));
	/* Other replacements (the upload's check used a blank too) may still be on their way. */
	for (int i = 0; i < 4 && blank_count() < 2; i++) {
		spawned = edged_log_count(e, "sandbox spawned");
		edged_log_wait_count(e, "sandbox spawned", spawned + 1, 10000);
	}
	cr_expect_eq(blank_count(), 2, "the blank pool was not refilled");
}

Test(robustness, sandbox_shows_seccomp_and_no_new_privs)
{
	char path[64], line[256];
	long pids[8];
	int n, checked = 0;

	/* A blank is listed once its HELLO said its lock-down is complete. */
	cr_assert(edged_log_wait(e, "sandbox spawned", 20000), "no sandbox came up");
	n = sandbox_pids("blank", false, pids, 8);
	cr_assert_gt(n, 0, "no blank sandbox to look at");
	for (int i = 0; i < n; i++) {
		bool seccomp = false, nnp = false;
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/%ld/status", pids[i]);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (strcmp(line, "Seccomp:\t2\n") == 0)
				seccomp = true;
			if (strcmp(line, "NoNewPrivs:\t1\n") == 0)
				nnp = true;
		}
		fclose(fp);
		cr_expect(seccomp, "sandbox %ld is not in seccomp filter mode", pids[i]);
		cr_expect(nnp, "sandbox %ld lacks no_new_privs", pids[i]);
		checked++;
	}
	cr_expect_gt(checked, 0);
}

static void
expect_raw(const char *request, size_t len, int status)
{
	char *raw = raw_exchange(e->public_port, request, len, 10000);

	cr_expect_eq(raw_status(raw), status, "sent %.60s... got: %.200s", request, raw);
	free(raw);
}

static void
expect_still_serving(void)
{
	struct response r = http_do("GET", e->public_addr, "/", "ok.test", NULL, NULL, NULL, 0);

	cr_expect_eq(r.status, 200);
	response_free(&r);
}

Test(robustness, malformed_and_oversized_http_get_4xx_and_service_continues)
{
	char big[8192];
	char *p;

	deploy(e, "ok", "ok", "ok.test",
	    "var __worker = { default: { fetch: function () { return new Response('ok'); } } };",
	    NULL);

	expect_raw("GARBAGE\r\n\r\n", 11, 400);
	expect_still_serving();

	/* request line over 1024 bytes */
	p = big + sprintf(big, "GET /");
	memset(p, 'a', 2000);
	p += 2000;
	p += sprintf(p, " HTTP/1.1\r\nHost: ok.test\r\n\r\n");
	expect_raw(big, (size_t)(p - big), 414);
	expect_still_serving();

	/* too many headers */
	p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: ok.test\r\n");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "X-H%d: v\r\n", i);
	p += sprintf(p, "\r\n");
	expect_raw(big, (size_t)(p - big), 431);
	expect_still_serving();

	/* headers too large */
	p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: ok.test\r\nX-Big: ");
	memset(p, 'b', 6000);
	p += 6000;
	p += sprintf(p, "\r\n\r\n");
	expect_raw(big, (size_t)(p - big), 431);
	expect_still_serving();

	/* body too large */
	expect_raw("POST / HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 1000000\r\n\r\n", 59, 413);
	expect_still_serving();

	/* Content-Length and Transfer-Encoding together */
	{
		static const char conflict[] =
		    "POST / HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
		expect_raw(conflict, sizeof(conflict) - 1, 400);
	}
	expect_still_serving();
}

Test(robustness, chunked_request_body_reaches_the_worker)
{
	static const char req[] =
	    "POST / HTTP/1.1\r\nHost: echo.test\r\nTransfer-Encoding: chunked\r\n"
	    "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	char *raw;

	deploy(e, "echo", "echo", "echo.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  return req.text().then(function (t) { return new Response('[' + t + ']'); });"
	    "} } };",
	    NULL);
	raw = raw_exchange(e->public_port, req, sizeof(req) - 1, 10000);
	cr_expect_eq(raw_status(raw), 200, "%s", raw);
	cr_expect(strstr(raw, "[hello world]") != NULL, "%s", raw);
	free(raw);
}

Test(robustness, broker_crash_is_survived)
{
	char *text = admin_status(e);
	struct response r;

	free(text);
	deploy(e, "b", "b", "b.test",
	    "var __worker = { default: { fetch: function () { return new Response('alive'); } } };",
	    NULL);
	cr_assert(edged_log_wait(e, "broker started (pid ", 10000));
	{
		const char *line = strstr(e->log, "broker started (pid ");
		long pid = atol(line + strlen("broker started (pid "));

		cr_assert_gt(pid, 1);
		cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
	}
	cr_expect(edged_log_wait(e, "broker lost", 10000));
	r = http_do("GET", e->public_addr, "/", "b.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "alive");
	response_free(&r);
}

Test(robustness, regex_backtracking_is_stopped_by_the_hard_cpu_limit)
{
	struct response r;
	char *status;

	deploy(e, "re", "re", "re.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  if (req.url.indexOf('/fine') >= 0) return new Response('fine');"
	    "  var s = new Array(40).join('a') + '!';"
	    "  return new Response(String(/^(a+)+$/.test(s)));"
	    "} } };",
	    NULL);
	deploy(e, "bystander", "ok", "bystander.test",
	    "var __worker = { default: { fetch: function () { return new Response('ok'); } } };",
	    NULL);
	r = http_do("GET", e->public_addr, "/", "re.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 503);
	cr_expect(strstr(r.body, "error code: 1102") != NULL, "%s", r.body);
	response_free(&r);
	status = admin_status(e);
	cr_expect(strstr(status, "\"cpu_hard\":1") != NULL, "no hard kill counted: %s", status);
	free(status);

	r = http_do("GET", e->public_addr, "/", "bystander.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	response_free(&r);
	r = http_do("GET", e->public_addr, "/fine", "re.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "fine");
	response_free(&r);
}
