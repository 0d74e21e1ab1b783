/*
 * End to end: requests routed to tenants' Workers and served by sandboxes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	e = edged_start(NULL);
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 120);

#define MODULE(body) "var __worker = { default: { fetch: " body " } };"

static struct response
get(const char *host, const char *path)
{
	return http_do("GET", e->public_addr, path, host, NULL, NULL, NULL, 0);
}

Test(serve, two_tenants_on_their_hostnames_and_unrouted_host_404)
{
	struct response r;

	deploy(e, "alice", "hello", "alice.test",
	    MODULE("function (req) { return new Response('hello from alice'); }"), NULL);
	deploy(e, "bob", "hello", "bob.test",
	    MODULE("function (req) { return new Response('hello from bob'); }"), NULL);

	r = get("alice.test", "/");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello from alice");
	response_free(&r);
	r = get("bob.test", "/any/path?x=1");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello from bob");
	response_free(&r);
	r = get("nobody.test", "/");
	cr_expect_eq(r.status, 404);
	cr_expect(strlen(r.body) > 0 && strlen(r.body) < 200, "short plain-text 404 body");
	response_free(&r);
}

Test(serve, async_handler_with_a_promise_chain)
{
	struct response r;

	deploy(e, "t1", "chain", "chain.test",
	    MODULE("function (req) {"
		   "  return Promise.resolve(1)"
		   "    .then(function (n) { return new Promise(function (ok) {"
		   "      setTimeout(function () { ok(n + 1); }, 1); }); })"
		   "    .then(function (n) { return Response.json({ n: n, url: req.url,"
		   "      method: req.method }); });"
		   "}"),
	    NULL);
	r = get("chain.test", "/p?q=1");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(
	    r.body, "{\"n\":2,\"url\":\"http://chain.test/p?q=1\",\"method\":\"GET\"}");
	response_free(&r);
}

Test(serve, service_worker_syntax)
{
	struct response r;

	admin_create_tenant(e, "sw");
	r = admin_upload_raw(e, "sw", "legacy",
	    "addEventListener('fetch', function (event) {"
	    "  event.respondWith(new Response('service worker says ' + event.request.method));"
	    "});");
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = admin_add_route(e, "sw", "sw.test/*", "legacy");
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = http_do("POST", e->public_addr, "/", "sw.test", NULL, "text/plain", "x", 1);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "service worker says POST");
	response_free(&r);
}

Test(serve, plain_text_and_json_bindings)
{
	struct response r;

	deploy(e, "b", "vars", "vars.test",
	    MODULE("function (req, env) {"
		   "  return new Response(env.GREETING + ' ' + env.CONF.who + ' ' + env.CONF.n);"
		   "}"),
	    "[{\"type\":\"plain_text\",\"name\":\"GREETING\",\"text\":\"hi\"},"
	    "{\"type\":\"json\",\"name\":\"CONF\",\"json\":{\"who\":\"there\",\"n\":3}}]");
	r = get("vars.test", "/");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hi there 3");
	response_free(&r);
}

Test(serve, request_body_headers_and_status_round_trip)
{
	struct response r;
	char *h;

	deploy(e, "echo", "echo", "echo.test",
	    MODULE("function (req) {"
		   "  return req.text().then(function (t) {"
		   "    return new Response('got ' + t + ' ' + req.headers.get('x-test'),"
		   "      { status: 201, headers: { 'x-reply': 'yes' } });"
		   "  });"
		   "}"),
	    NULL);
	r = http_do("POST", e->public_addr, "/", "echo.test", NULL, "text/plain", "payload", 7);
	cr_expect_eq(r.status, 201);
	cr_expect_str_eq(r.body, "got payload null");
	h = response_header(&r, "x-reply");
	cr_expect(h != NULL && strcmp(h, "yes") == 0);
	free(h);
	response_free(&r);
}

Test(serve, exception_is_500_1101_without_detail_and_next_request_served)
{
	struct response r;

	deploy(e, "err", "boom", "boom.test",
	    MODULE("function (req) {"
		   "  if (req.url.indexOf('/ok') >= 0) return new Response('fine');"
		   "  throw new Error('secret detail 42');"
		   "}"),
	    NULL);
	r = get("boom.test", "/");
	cr_expect_eq(r.status, 500);
	cr_expect(strstr(r.body, "error code: 1101") != NULL, "body: %s", r.body);
	cr_expect(strstr(r.body, "secret") == NULL, "the error leaked to the client");
	response_free(&r);
	cr_expect(edged_log_wait(e, "secret detail 42", 10000), "the error was not logged");

	r = get("boom.test", "/ok");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "fine");
	response_free(&r);
}

Test(serve, rejected_promise_is_500_1101)
{
	struct response r;

	deploy(e, "rej", "rej", "rej.test",
	    MODULE("function (req) { return Promise.reject(new TypeError('nope')); }"), NULL);
	r = get("rej.test", "/");
	cr_expect_eq(r.status, 500);
	cr_expect(strstr(r.body, "error code: 1101") != NULL);
	response_free(&r);
}

Test(serve, console_goes_to_the_log_with_tenant_and_worker)
{
	struct response r;

	deploy(e, "logs", "talker", "talk.test",
	    MODULE(
		"function (req) { console.log('hello log', { a: 1 }); console.error('bad thing');"
		" return new Response('ok'); }"),
	    NULL);
	r = get("talk.test", "/");
	cr_expect_eq(r.status, 200);
	response_free(&r);
	cr_expect(edged_log_wait(e, "tenant 'logs' worker 'talker': hello log", 10000));
	cr_expect(edged_log_wait(e, "bad thing", 10000));
}

Test(serve, head_and_keepalive)
{
	static const char req[] = "HEAD / HTTP/1.1\r\nHost: head.test\r\n\r\n"
				  "GET / HTTP/1.1\r\nHost: head.test\r\nConnection: close\r\n\r\n";

	const char *second, *body;
	char *raw;

	deploy(e, "h", "head", "head.test",
	    MODULE("function (req) { return new Response('body text'); }"), NULL);

	raw = raw_exchange(e->public_port, req, sizeof(req) - 1, 10000);
	cr_expect_eq(raw_status(raw), 200);
	/* Two responses on one connection; only the GET one has a body. */
	second = strstr(raw + 4, "HTTP/1.1 200");
	body = strstr(raw, "body text");
	cr_assert_not_null(second, "no second response on the kept-alive connection:\n%s", raw);
	cr_assert_not_null(body, "the GET response has no body:\n%s", raw);
	cr_expect(body > second, "the HEAD response carried a body:\n%s", raw);
	cr_expect_null(strstr(body + 1, "body text"));
	free(raw);
}
