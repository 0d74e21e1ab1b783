/*
 * End to end: fair dispatch.  Under a small global sandbox cap, one tenant
 * flooding with slow requests neither takes every slot from another tenant
 * nor its warm sandbox, and its backlog is bounded per tenant
 * (tenant_queue_max: 503 with Retry-After).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS 30000 /* bound on every wait; never a synchronisation */
#define FLOOD_MAX 16

static struct edged *e;

static void
teardown(void)
{
	edged_free(e);
	e = NULL;
}

TestSuite(fairness, .fini = teardown, .timeout = 180);

/* Holds each request 3 s, then answers "slow". */
#define SLOW_WORKER                                                                                \
	"var __worker = { default: { fetch: function (req) {"                                      \
	"  console.log('flood request started');"                                                  \
	"  return new Promise(function (ok) { setTimeout(function () {"                            \
	"    ok(new Response('slow')); }, 3000); });"                                              \
	"} } };"
#define HELLO_WORKER                                                                               \
	"var __worker = { default: { fetch: function () { return new Response('hello'); } } };"

/* Sends one GET on a new connection; returns the fd. */
static int
send_get(const char *host)
{
	char req[256];
	int fd = raw_connect(e->public_port, WAIT_MS);
	int len = snprintf(
	    req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);

	cr_assert_eq(send(fd, req, (size_t)len, MSG_NOSIGNAL), (ssize_t)len);
	return fd;
}

/* result.pool.tenants[name].<field> from /status, 0 when the tenant is not listed. */
static long
tenant_field(const char *tenant, const char *field)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *list, *it;
	long n = 0;
	size_t i;

	cr_assert_not_null(j, "%s", text);
	list = json_object_get(json_object_get(json_object_get(j, "result"), "pool"), "tenants");
	cr_assert(json_is_array(list), "no pool.tenants in %s", text);
	json_array_foreach (list, i, it)
		if (strcmp(json_string_value(json_object_get(it, "tenant")), tenant) == 0)
			n = (long)json_integer_value(json_object_get(it, field));
	json_decref(j);
	free(text);
	return n;
}

/* The pid of the first sandbox of `tenant` in /status, or -1. */
static long
tenant_pid(const char *tenant)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *list, *it;
	long pid = -1;
	size_t i;

	list = json_object_get(json_object_get(json_object_get(j, "result"), "pool"), "list");
	json_array_foreach (list, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "tenant")), tenant) == 0) {
			pid = (long)json_integer_value(json_object_get(it, "pid"));
			break;
		}
	}
	json_decref(j);
	free(text);
	return pid;
}

/* Waits until edged has counted `n` public requests (routed and queued them). */
static void
wait_requests_seen(long n)
{
	for (int i = 0; i < 2000; i++)
		if (admin_status_counter(e, "stats", "requests") >= n)
			return;
	cr_assert_fail("edged never saw %ld requests", n);
}

/*
 * Three slots in all.  Tenant "flood" has three workers and keeps each busy
 * with slow requests, more than its sandboxes can take.  Tenant "quiet",
 * which has no sandbox yet, is served as soon as one of the flood's requests
 * ends -- ahead of the flood's own backlog, which is still queued then.
 */
Test(fairness, a_flooding_tenant_does_not_starve_another_of_sandboxes)
{
	static const char *const hosts[] = { "f1.test", "f2.test", "f3.test" };
	int fds[FLOOD_MAX], nfds = 0;
	struct response r;
	long queued;

	e = edged_start("max_sandboxes = 3\npool_blanks = 1\nmax_sandboxes_per_version = 2\n"
			"request_queue_max = 8\ntenant_queue_max = 64\n");
	deploy(e, "flood", "f1", "f1.test", SLOW_WORKER, NULL);
	deploy(e, "flood", "f2", "f2.test", SLOW_WORKER, NULL);
	deploy(e, "flood", "f3", "f3.test", SLOW_WORKER, NULL);
	deploy(e, "quiet", "hello", "quiet.test", HELLO_WORKER, NULL);

	for (int i = 0; i < 9; i++)
		fds[nfds++] = send_get(hosts[i % 3]);
	/* Every slot is the flood's, and it has a backlog. */
	cr_assert(edged_log_wait_count(e, "flood request started", 3, WAIT_MS));
	wait_requests_seen(9);
	cr_expect_eq(tenant_field("flood", "sandboxes"), 3);
	cr_expect_eq(tenant_field("flood", "queued"), 6);

	r = http_do("GET", e->public_addr, "/", "quiet.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "the quiet tenant: %ld %s", r.status, r.body);
	cr_expect_str_eq(r.body, "hello");
	response_free(&r);
	/* It did not wait for the flood's backlog to drain. */
	queued = tenant_field("flood", "queued");
	cr_expect_gt(queued, 0, "the quiet tenant was served only after the flood's backlog");
	cr_expect_geq(admin_status_counter(e, "recycles", "evicted"), 1);

	/* The flood is not failed for it: every one of its requests is answered. */
	for (int i = 0; i < nfds; i++) {
		char *raw = raw_read_all(fds[i]);

		cr_expect_eq(raw_status(raw), 200, "flood request %d: %s", i, raw);
		free(raw);
	}
}

/* A quiet tenant's only warm sandbox is not evicted for a tenant that has many. */
Test(fairness, a_quiet_tenants_warm_sandbox_is_not_evicted_for_a_flood)
{
	static const char *const hosts[] = { "f1.test", "f2.test", "f3.test" };
	int fds[FLOOD_MAX], nfds = 0;
	struct response r;
	long pid;

	e = edged_start("max_sandboxes = 3\npool_blanks = 0\nmax_sandboxes_per_version = 2\n"
			"request_queue_max = 8\n");
	deploy(e, "quiet", "hello", "quiet.test", HELLO_WORKER, NULL);
	deploy(e, "flood", "f1", "f1.test", SLOW_WORKER, NULL);
	deploy(e, "flood", "f2", "f2.test", SLOW_WORKER, NULL);
	deploy(e, "flood", "f3", "f3.test", SLOW_WORKER, NULL);
	r = http_do("GET", e->public_addr, "/", "quiet.test", NULL, NULL, NULL, 0);
	cr_assert_eq(r.status, 200);
	response_free(&r);
	pid = tenant_pid("quiet");
	cr_assert_gt(pid, 0);

	for (int i = 0; i < 6; i++)
		fds[nfds++] = send_get(hosts[i % 3]);
	/* The flood gets the two free slots; the third stays the quiet tenant's. */
	cr_assert(edged_log_wait_count(e, "flood request started", 2, WAIT_MS));
	wait_requests_seen(7);
	cr_expect_eq(tenant_field("flood", "sandboxes"), 2);
	cr_expect_eq(tenant_pid("quiet"), pid, "the quiet tenant's sandbox was evicted");

	r = http_do("GET", e->public_addr, "/", "quiet.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	response_free(&r);
	cr_expect_eq(tenant_pid("quiet"), pid, "the quiet tenant was served by another sandbox");

	for (int i = 0; i < nfds; i++) {
		char *raw = raw_read_all(fds[i]);

		cr_expect_eq(raw_status(raw), 200, "flood request %d: %s", i, raw);
		free(raw);
	}
}

/* A tenant's backlog over all its workers is bounded; other tenants still queue. */
Test(fairness, tenant_queue_max_bounds_one_tenants_backlog_only)
{
	static const char *const hosts[] = { "f1.test", "f2.test" };
	int fds[FLOOD_MAX], nfds = 0;
	int other;
	char *raw, *all = NULL;
	int rejected = 0;

	e = edged_start("max_sandboxes = 4\npool_blanks = 1\nmax_sandboxes_per_version = 1\n"
			"request_queue_max = 100\ntenant_queue_max = 2\n");
	deploy(e, "flood", "f1", "f1.test", SLOW_WORKER, NULL);
	deploy(e, "flood", "f2", "f2.test", SLOW_WORKER, NULL);
	deploy(e, "calm", "c", "calm.test", SLOW_WORKER, NULL);

	/* Two running, two queued: the flood's tenant queue is full. */
	for (int i = 0; i < 2; i++)
		fds[nfds++] = send_get(hosts[i % 2]);
	cr_assert(edged_log_wait_count(e, "flood request started", 2, WAIT_MS));
	for (int i = 0; i < 2; i++)
		fds[nfds++] = send_get(hosts[i % 2]);
	wait_requests_seen(4);
	cr_expect_eq(tenant_field("flood", "queued"), 2);

	/* More of the flood is turned away at once, on either worker. */
	for (int i = 0; i < 2; i++) {
		raw = raw_read_all(send_get(hosts[i]));
		if (raw_status(raw) == 503 && strstr(raw, "Retry-After") != NULL &&
		    strstr(raw, "account") != NULL)
			rejected++;
		free(all);
		all = raw;
	}
	cr_expect_eq(rejected, 2, "last answer: %s", all);
	free(all);
	cr_expect_eq(admin_status_counter(e, "stats", "queue_full_tenant"), 2);

	/* Another tenant queues and is served as usual. */
	other = send_get("calm.test");
	raw = raw_read_all(other);
	cr_expect_eq(raw_status(raw), 200, "%s", raw);
	free(raw);
	for (int i = 0; i < nfds; i++) {
		raw = raw_read_all(fds[i]);
		cr_expect_eq(raw_status(raw), 200, "flood request %d: %s", i, raw);
		free(raw);
	}
}
