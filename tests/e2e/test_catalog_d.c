/*
 * End to end: the attack catalog, part D (outside clients), from
 * SECURITY.md: malformed and oversized HTTP, chunked and framing errors,
 * slowloris, connection floods, the admin API without or with a wrong
 * token, oversized and malformed uploads.  Each: a clear 4xx or a closed
 * connection, bounded memory, and a canary tenant still served.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define HEADER_TIMEOUT_MS 500
#define MAX_CONNECTIONS 200
#define FLOOD_CONNECTIONS 300
#define SLOW_CONNECTIONS 100

static struct edged *e;

static void
setup(void)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg),
	    "request_line_max = 1024\nheader_count_max = 20\nheader_bytes_max = 4096\n"
	    "request_body_max = 65536\nscript_max_bytes = 32768\n"
	    "header_timeout_ms = %d\nmax_connections = %d\n",
	    HEADER_TIMEOUT_MS, MAX_CONNECTIONS);
	e = edged_start(cfg);
	deploy(e, "canary", "canary", "canary.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  return req.text().then(function (t) { return new Response('alive' + t); });"
	    "} } };",
	    NULL);
}

static void
teardown(void)
{
	edged_free(e);
	e = NULL;
}

TestSuite(catalog_d, .init = setup, .fini = teardown, .timeout = 180);

/*
 * While every connection slot is taken, a new client is refused at once;
 * the canary retries (each attempt paces the next) until the header timeout
 * has freed slots, all within the bound.
 */
static void
expect_canary_within_bound(const char *row)
{
	long t0 = harness_now_ms();
	struct response r;
	int attempts = 0;

	for (;;) {
		r = http_do("GET", e->public_addr, "/", "canary.test", NULL, NULL, NULL, 0);
		attempts++;
		if (r.status == 200 || harness_now_ms() - t0 >= HARNESS_CANARY_BOUND_MS)
			break;
		response_free(&r);
	}
	cr_expect_eq(r.status, 200, "%s: no canary answer within %d ms (%d attempts)", row,
	    HARNESS_CANARY_BOUND_MS, attempts);
	if (r.status == 200)
		cr_expect_str_eq(r.body, "alive", "%s", row);
	response_free(&r);
}

/*
 * Sends a raw request; the answer must be a 4xx (`want` if not 0) or a
 * connection closed without any response.  Never a 2xx or a 5xx.
 */
static void
expect_refused(const char *row, const char *req, size_t len, int want)
{
	char *raw = raw_exchange(e->public_port, req, len, 10000);
	int status = raw_status(raw);

	if (want != 0)
		cr_expect_eq(status, want, "%s: got %.200s", row, raw);
	else
		cr_expect(raw[0] == '\0' || (status >= 400 && status < 500),
		    "%s: neither a 4xx nor a closed connection: %.200s", row, raw);
	free(raw);
	expect_canary_alive(e, row);
}

#define S(x) x, sizeof(x) - 1

Test(catalog_d, malformed_requests_get_4xx_or_a_closed_connection)
{
	long before = proc_vm_rss_kib(e->pid);

	expect_refused("garbage", S("GARBAGE\r\n\r\n"), 400);
	expect_refused("binary", S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"), 0);
	expect_refused("bad version", S("GET / HTTP/9.9\r\nHost: canary.test\r\n\r\n"), 505);
	expect_refused("no colon", S("GET / HTTP/1.1\r\nHost: canary.test\r\nBroken\r\n\r\n"), 400);
	expect_refused("space before colon", S("GET / HTTP/1.1\r\nHost : canary.test\r\n\r\n"), 0);
	expect_refused(
	    "NUL in a header", S("GET / HTTP/1.1\r\nHost: canary.test\r\nX: a\0b\r\n\r\n"), 0);
	expect_refused(
	    "obs-fold", S("GET / HTTP/1.1\r\nHost: canary.test\r\nX: a\r\n  folded\r\n\r\n"), 0);
	expect_refused(
	    "two Hosts", S("GET / HTTP/1.1\r\nHost: canary.test\r\nHost: other.test\r\n\r\n"), 0);
	expect_refused("negative Content-Length",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nContent-Length: -5\r\n\r\nhello"), 400);
	expect_refused("two Content-Lengths",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nContent-Length: 5\r\n"
	      "Content-Length: 6\r\n\r\nhello!"),
	    400);
	expect_refused("Content-Length overflow",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\n"
	      "Content-Length: 99999999999999999999999\r\n\r\n"),
	    0);
	expect_refused("CL and TE",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nContent-Length: 5\r\n"
	      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	    400);
	expect_refused("TE not chunked",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nTransfer-Encoding: gzip\r\n\r\nxx"), 0);
	expect_refused("TE chunked twice",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
	      "0\r\n\r\n"),
	    0);
	expect_refused("bad chunk size",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "zz\r\nhello\r\n0\r\n\r\n"),
	    400);
	expect_refused("chunk size overflow",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
	    0);
	expect_refused("chunked body over the limit",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "100000\r\n"),
	    0);
	cr_expect_lt(proc_vm_rss_kib(e->pid) - before, 100L * 1024, "supervisor memory grew");
}

/*
 * A bare LF ends a header line (RFC 9112 lets a server accept it); what
 * matters is that the framing stays the one the headers say: the five body
 * bytes, nothing smuggled as a second request.
 */
Test(catalog_d, a_bare_lf_does_not_change_the_framing)
{
	static const char req[] =
	    "POST / HTTP/1.1\r\nHost: canary.test\nX: y\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhelloGET /x HTTP/1.1\r\n"
	    "Host: canary.test\r\n\r\n";
	char *raw = raw_exchange(e->public_port, req, sizeof(req) - 1, 10000);
	int status = raw_status(raw);

	cr_expect(raw[0] == '\0' || (status >= 400 && status < 500) ||
		(status == 200 && strstr(raw, "\r\n\r\nalivehello") != NULL &&
		    strstr(strstr(raw, "alivehello"), "HTTP/1.1") == NULL),
	    "bare LF: %.300s", raw);
	free(raw);
	expect_canary_alive(e, "bare LF");
}

/*
 * Chunk data must be followed by CRLF.  Accepting other bytes there is a
 * framing disagreement a proxy in front could be smuggled through.
 */
Test(catalog_d, chunk_data_not_followed_by_crlf_is_refused)
{
	expect_refused("chunk without CRLF",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nTransfer-Encoding: chunked\r\n"
	      "Connection: close\r\n\r\n5\r\nhelloXX6\r\n world\r\n0\r\n\r\n"),
	    0);
}

Test(catalog_d, oversized_request_parts_get_414_431_413)
{
	char *big = malloc(200000), *p;
	long before = proc_vm_rss_kib(e->pid);

	cr_assert_not_null(big);
	p = big + sprintf(big, "GET /");
	memset(p, 'a', 100000);
	p += 100000;
	p += sprintf(p, " HTTP/1.1\r\nHost: canary.test\r\n\r\n");
	expect_refused("huge request line", big, (size_t)(p - big), 414);

	p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: canary.test\r\n");
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "X-H%d: v\r\n", i);
	p += sprintf(p, "\r\n");
	expect_refused("1000 headers", big, (size_t)(p - big), 431);

	p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: canary.test\r\nX-Big: ");
	memset(p, 'b', 100000);
	p += 100000;
	p += sprintf(p, "\r\n\r\n");
	expect_refused("100 kB header", big, (size_t)(p - big), 431);

	expect_refused("declared body over the limit",
	    S("POST / HTTP/1.1\r\nHost: canary.test\r\nContent-Length: 10000000000\r\n\r\n"), 413);
	free(big);
	cr_expect_lt(proc_vm_rss_kib(e->pid) - before, 100L * 1024, "supervisor memory grew");
}

/* Connects without blocking on a full backlog; the fd is blocking again afterwards. */
static int
connect_nb(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	cr_assert_geq(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 && errno != EINPROGRESS)
		cr_assert_fail("connect: %s", strerror(errno));
	return fd;
}

/*
 * Waits (bounded) until the server ends the connection: EOF, a reset, or a
 * response (a 408) followed by EOF.  True if it did.
 */
static bool
closed_by_server(int fd, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	char buf[1024];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - harness_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

static long
status_connections(void)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL);
	long n;

	cr_assert_not_null(j, "%s", text);
	n = (long)json_integer_value(json_object_get(json_object_get(j, "result"), "connections"));
	json_decref(j);
	free(text);
	return n;
}

Test(catalog_d, slowloris_connections_are_closed_by_the_header_timeout)
{
	static const char partial[] = "GET / HTTP/1.1\r\nHost: canary.test\r\nX-Slow: ";
	int fds[SLOW_CONNECTIONS];
	long before = proc_vm_rss_kib(e->pid);
	int closed = 0;

	for (int i = 0; i < SLOW_CONNECTIONS; i++) {
		fds[i] = raw_connect(e->public_port, 10000);
		cr_assert_eq(send(fds[i], partial, sizeof(partial) - 1, MSG_NOSIGNAL),
		    (ssize_t)sizeof(partial) - 1);
	}
	/* While they hang: the canary is served. */
	expect_canary_alive(e, "slowloris during");
	/* Each one more byte: a trickle does not reset the head deadline. */
	for (int i = 0; i < SLOW_CONNECTIONS; i++)
		send(fds[i], "x", 1, MSG_NOSIGNAL);
	for (int i = 0; i < SLOW_CONNECTIONS; i++) {
		if (closed_by_server(fds[i], 10 * HEADER_TIMEOUT_MS + 5000))
			closed++;
		close(fds[i]);
	}
	cr_expect_eq(closed, SLOW_CONNECTIONS, "only %d of %d slow connections were closed", closed,
	    SLOW_CONNECTIONS);
	expect_canary_alive(e, "slowloris after");
	cr_expect_leq(status_connections(), 1, "connections left open after slowloris");
	cr_expect_lt(proc_vm_rss_kib(e->pid) - before, 100L * 1024, "supervisor memory grew");
}

Test(catalog_d, a_connection_flood_is_bounded_and_the_service_keeps_serving)
{
	int fds[FLOOD_CONNECTIONS];
	long before = proc_vm_rss_kib(e->pid);
	int closed = 0;
	long open_now;

	for (int i = 0; i < FLOOD_CONNECTIONS; i++)
		fds[i] = connect_nb(e->public_port);
	/* The flood holds every slot until the header timeout frees them. */
	expect_canary_within_bound("flood during");
	open_now = status_connections();
	cr_expect_leq(open_now, MAX_CONNECTIONS, "%ld connections open, max_connections is %d",
	    open_now, MAX_CONNECTIONS);
	for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
		if (closed_by_server(fds[i], 20000))
			closed++;
		close(fds[i]);
	}
	cr_expect_eq(closed, FLOOD_CONNECTIONS, "only %d of %d idle connections were closed",
	    closed, FLOOD_CONNECTIONS);
	expect_canary_alive(e, "flood after");
	cr_expect_lt(proc_vm_rss_kib(e->pid) - before, 100L * 1024, "supervisor memory grew");
}

/* ---- the admin API ------------------------------------------------------------------ */

static void
expect_admin_401(const char *row, const char *method, const char *path, const char *token,
    const char *ctype, const char *body)
{
	struct response r = http_do(
	    method, e->admin_addr, path, NULL, token, ctype, body, body != NULL ? strlen(body) : 0);

	cr_expect_eq(r.status, 401, "%s: got %ld %s", row, r.status, r.body);
	cr_expect(strstr(r.body, "10000") != NULL, "%s: not the auth error: %s", row, r.body);
	response_free(&r);
}

Test(catalog_d, admin_without_or_with_a_wrong_token_is_401_and_changes_nothing)
{
	static const char evil[] =
	    "var __worker = { default: { fetch: function () { return new Response('owned'); } } };";
	static const char *const tokens[] = { NULL, "", "wrong-token-wrong-token", TEST_TOKEN "x",
		"test-operator-toke", "Test-Operator-Token" };
	struct response r;

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		expect_admin_401("status", "GET", "/status", tokens[i], NULL, NULL);
		expect_admin_401(
		    "create tenant", "PUT", "/edged/v1/tenants/evil", tokens[i], NULL, NULL);
		expect_admin_401("upload over canary", "PUT",
		    "/client/v4/accounts/canary/workers/scripts/canary", tokens[i],
		    "application/javascript", evil);
		expect_admin_401("route", "POST", "/client/v4/accounts/canary/workers/routes",
		    tokens[i], "application/json",
		    "{\"pattern\":\"x.test/*\",\"script\":\"canary\"}");
		expect_admin_401("delete", "DELETE",
		    "/client/v4/accounts/canary/workers/scripts/canary", tokens[i], NULL, NULL);
	}
	/* Basic instead of Bearer, and a token in the query string. */
	r = http_do("GET", e->admin_addr, "/status?token=" TEST_TOKEN, NULL, NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 401);
	response_free(&r);
	{
		static const char basic[] =
		    "GET /status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
		    "Authorization: Basic dGVzdC1vcGVyYXRvci10b2tlbg==\r\n\r\n";
		char *raw = raw_exchange(e->admin_port, basic, sizeof(basic) - 1, 10000);

		cr_expect_eq(raw_status(raw), 401, "%.200s", raw);
		free(raw);
	}
	/* Nothing changed: the canary still answers with its own script. */
	expect_canary_alive(e, "admin after");
	r = http_do("GET", e->admin_addr, "/client/v4/accounts/evil/workers/scripts", NULL,
	    TEST_TOKEN, NULL, NULL, 0);
	cr_expect_eq(r.status, 404, "a tenant was created without a token: %s", r.body);
	response_free(&r);
}

static void
expect_admin_403(const char *row, const char *token, const char *method, const char *path,
    const char *ctype, const char *body)
{
	struct response r = http_do(
	    method, e->admin_addr, path, NULL, token, ctype, body, body != NULL ? strlen(body) : 0);

	cr_expect_eq(r.status, 403, "%s: got %ld %s", row, r.status, r.body);
	cr_expect(
	    strstr(r.body, "\"code\":10000") != NULL, "%s: not the auth error: %s", row, r.body);
	cr_expect(
	    strstr(r.body, "\"result\":null") != NULL, "%s: data in a refusal: %s", row, r.body);
	response_free(&r);
}

/* An operator GET of the admin API; the body (malloc'd), asserting 200. */
static char *
admin_get_body(const char *path)
{
	struct response r = http_do("GET", e->admin_addr, path, NULL, TEST_TOKEN, NULL, NULL, 0);
	char *body;

	cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body);
	cr_assert_not_null(body = strdup(r.body));
	response_free(&r);
	return body;
}

Test(catalog_d, admin_with_another_tenants_token_is_403_and_changes_nothing)
{
	static const char evil[] =
	    "var __worker = { default: { fetch: function () { return new Response('owned'); } } };";
	static const char *const canary_gets[] = {
		"/client/v4/accounts/canary/workers/scripts",
		"/client/v4/accounts/canary/workers/scripts/canary/versions",
		"/client/v4/accounts/canary/workers/routes",
		"/edged/v1/tenants/canary",
		"/edged/v1/tenants/canary/tokens",
		"/edged/v1/tenants/alpha/tokens",
		"/status",
		"/edged/v1/status",
	};
	char token[128], route_path[256], *routes_before, *versions_before, *routes_after,
	    *versions_after;
	struct response r;
	json_t *j, *route;

	deploy(e, "alpha", "alpha", "alpha.test",
	    "var __worker = { default: { fetch: function () { return new Response('a'); } } };",
	    NULL);
	r = http_do("POST", e->admin_addr, "/edged/v1/tenants/alpha/tokens", NULL, TEST_TOKEN, NULL,
	    NULL, 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(j = json_loads(r.body, 0, NULL));
	snprintf(token, sizeof(token), "%s",
	    json_string_value(json_object_get(json_object_get(j, "result"), "token")));
	json_decref(j);
	response_free(&r);
	cr_assert_eq(strlen(token), 64);

	routes_before = admin_get_body("/client/v4/accounts/canary/workers/routes");
	versions_before =
	    admin_get_body("/client/v4/accounts/canary/workers/scripts/canary/versions");
	cr_assert_not_null(j = json_loads(routes_before, 0, NULL));
	route = json_array_get(json_object_get(j, "result"), 0);
	snprintf(route_path, sizeof(route_path), "/client/v4/accounts/canary/workers/routes/%s",
	    json_string_value(json_object_get(route, "id")));
	json_decref(j);

	/* The token works on its own tenant. */
	r = http_do("GET", e->admin_addr, "/client/v4/accounts/alpha/workers/scripts", NULL, token,
	    NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "own tenant: %s", r.body);
	cr_expect(strstr(r.body, "\"alpha\"") != NULL, "%s", r.body);
	response_free(&r);

	/* Reading another tenant, or operator data. */
	for (size_t i = 0; i < sizeof(canary_gets) / sizeof(canary_gets[0]); i++)
		expect_admin_403(canary_gets[i], token, "GET", canary_gets[i], NULL, NULL);
	/* Changing another tenant. */
	expect_admin_403("upload over canary", token, "PUT",
	    "/client/v4/accounts/canary/workers/scripts/canary", "application/javascript", evil);
	expect_admin_403("new script for canary", token, "PUT",
	    "/client/v4/accounts/canary/workers/scripts/evil", "application/javascript", evil);
	expect_admin_403("delete canary", token, "DELETE",
	    "/client/v4/accounts/canary/workers/scripts/canary", NULL, NULL);
	expect_admin_403("route for canary", token, "POST",
	    "/client/v4/accounts/canary/workers/routes", "application/json",
	    "{\"pattern\":\"canary.test/x*\",\"script\":\"canary\"}");
	expect_admin_403("delete canary's route", token, "DELETE", route_path, NULL, NULL);
	expect_admin_403("canary's limits", token, "PUT", "/edged/v1/tenants/canary",
	    "application/json", "{\"limits\":{\"cpu_ms\":1}}");
	expect_admin_403("own limits", token, "PUT", "/edged/v1/tenants/alpha", "application/json",
	    "{\"limits\":{\"cpu_ms\":600000}}");
	expect_admin_403("new tenant", token, "PUT", "/edged/v1/tenants/evil", NULL, NULL);
	expect_admin_403(
	    "token for canary", token, "POST", "/edged/v1/tenants/canary/tokens", NULL, NULL);
	expect_admin_403("another token for itself", token, "POST",
	    "/edged/v1/tenants/alpha/tokens", NULL, NULL);

	/* Nothing changed: canary's script, versions and routes; no tenant, no token. */
	expect_canary_alive(e, "another tenant's token");
	routes_after = admin_get_body("/client/v4/accounts/canary/workers/routes");
	versions_after =
	    admin_get_body("/client/v4/accounts/canary/workers/scripts/canary/versions");
	cr_expect_str_eq(routes_after, routes_before, "canary's routes changed");
	cr_expect_str_eq(versions_after, versions_before, "canary's versions changed");
	free(routes_before);
	free(routes_after);
	free(versions_before);
	free(versions_after);
	r = http_do(
	    "GET", e->admin_addr, "/edged/v1/tenants/evil", NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_expect_eq(r.status, 404, "a tenant was created with a tenant token: %s", r.body);
	response_free(&r);
	r = http_do(
	    "GET", e->admin_addr, "/edged/v1/tenants/alpha", NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_expect(strstr(r.body, "\"limits\":{}") != NULL, "alpha's limits changed: %s", r.body);
	response_free(&r);
	r = http_do("GET", e->admin_addr, "/edged/v1/tenants/canary/tokens", NULL, TEST_TOKEN, NULL,
	    NULL, 0);
	cr_expect(strstr(r.body, "\"result\":[]") != NULL, "canary has a token: %s", r.body);
	response_free(&r);
	cr_expect_eq(edged_log_count(e, token), 0, "the token is in the log");
}

static void
expect_upload_400(const char *row, const char *ctype, const char *body, size_t len, long want)
{
	struct response r =
	    http_do("PUT", e->admin_addr, "/client/v4/accounts/canary/workers/scripts/canary", NULL,
		TEST_TOKEN, ctype, body, len);

	cr_expect_eq(r.status, want, "%s: got %ld %.300s", row, r.status, r.body);
	cr_expect(strstr(r.body, "\"success\":false") != NULL, "%s: %.300s", row, r.body);
	response_free(&r);
	expect_canary_alive(e, row);
}

Test(catalog_d, oversized_and_malformed_uploads_are_refused_and_change_nothing)
{
	char *big = malloc(200000);
	long before = proc_vm_rss_kib(e->pid);
	const char *mp = "multipart/form-data; boundary=XyZ";

	cr_assert_not_null(big);
	memset(big, ' ', 40000);
	strcpy(big + 40000, "var __worker = {};");
	expect_upload_400(
	    "script over script_max_bytes", "application/javascript", big, strlen(big), 400);
	memset(big, ' ', 150000);
	strcpy(big + 150000, "var __worker = {};");
	/* The admin API caps a body at its script limit: 400 (10024) or 413 (10011). */
	{
		struct response r = http_do("PUT", e->admin_addr,
		    "/client/v4/accounts/canary/workers/scripts/canary", NULL, TEST_TOKEN,
		    "application/javascript", big, strlen(big));

		cr_expect(r.status == 400 || r.status == 413,
		    "body over the limits: got %ld %.200s", r.status, r.body);
		response_free(&r);
	}
	free(big);

	expect_upload_400("no boundary", "multipart/form-data", S("--XyZ\r\n\r\n--XyZ--\r\n"), 400);
	expect_upload_400("truncated multipart", mp,
	    S("--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"main_mod"),
	    400);
	expect_upload_400("metadata not JSON", mp,
	    S("--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{nope\r\n"
	      "--XyZ--\r\n"),
	    400);
	expect_upload_400("main module missing", mp,
	    S("--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
	      "{\"main_module\":\"w.js\"}\r\n--XyZ--\r\n"),
	    400);
	expect_upload_400(
	    "NUL in the script", "application/javascript", S("var __worker = {};\0 evil"), 400);
	expect_upload_400("invalid UTF-8", "application/javascript", S("var x = '\xff\xfe';"), 400);
	expect_upload_400("bad binding", mp,
	    S("--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
	      "{\"main_module\":\"w.js\",\"bindings\":[{\"type\":\"kv_namespace\",\"name\":\"../"
	      "x\"}]}\r\n"
	      "--XyZ\r\nContent-Disposition: form-data; name=\"w.js\"; filename=\"w.js\"\r\n\r\n"
	      "var __worker = {};\r\n--XyZ--\r\n"),
	    400);
	{
		struct response r = http_do("PUT", e->admin_addr,
		    "/client/v4/accounts/canary/workers/scripts/..%2f..%2fetc", NULL, TEST_TOKEN,
		    "application/javascript", "var __worker = {};", 18);

		cr_expect(
		    r.status == 400 || r.status == 404, "path name: got %ld %s", r.status, r.body);
		response_free(&r);
	}
	/* Only the original version exists. */
	{
		struct response r = http_do("GET", e->admin_addr,
		    "/client/v4/accounts/canary/workers/scripts/canary/versions", NULL, TEST_TOKEN,
		    NULL, NULL, 0);
		json_t *j = json_loads(r.body, 0, NULL);

		cr_expect_eq(r.status, 200, "%s", r.body);
		cr_expect_eq(
		    json_array_size(json_object_get(json_object_get(j, "result"), "items")), 1,
		    "a refused upload made a version: %s", r.body);
		json_decref(j);
		response_free(&r);
	}
	cr_expect_lt(proc_vm_rss_kib(e->pid) - before, 100L * 1024, "supervisor memory grew");
}
