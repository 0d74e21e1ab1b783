/*
 * Tests of sandbox/serve.c and the sdk-js runtime: a forked child runs
 * sandbox_serve() on one end of a socketpair and the test speaks the
 * supervisor's side of the protocol on the other (the rig: sbx.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "sandbox/sandbox.h"
#include "tests/unit/sandbox/sbx.h"

#define MODULE IPC_FORMAT_MODULE
#define SW IPC_FORMAT_SERVICE_WORKER

struct resp {
	uint64_t id;
	unsigned status;
	unsigned error;
	bool done;
	uint64_t credited;  /* request body bytes returned with REQ_CREDIT */
	struct buf headers; /* "name: value\n" ... */
	struct buf body;
};

/* The sandbox: a runtime with a 64 MiB heap, and no broker channel. */
static void
serve_child(int sup, int brk)
{
	struct sandbox_limits limits = { .memory_bytes = 64u << 20 };
	struct sandbox_runtime *rt;

	(void)brk;
	if ((rt = sandbox_runtime_new(&limits)) == NULL)
		_exit(3);
	sandbox_serve(rt, sup, -1);
}

static void
setup(void)
{
	sbx_start(serve_child, false);
}

/* REQ_HEAD (+ REQ_BODY in one chunk when body != NULL). headers: NULL-terminated name, value... */
static void
sbx_request(uint64_t id, const char *method, const char *url, const char *const *headers,
    const char *body, uint64_t cpu_ms)
{
	struct ipc_bytes list[32];
	struct ipc_value f[5];
	size_t n = 0;

	for (; headers != NULL && headers[n] != NULL; n++)
		list[n] = (struct ipc_bytes) { headers[n], strlen(headers[n]) };
	f[IPC_REQ_HEAD_METHOD] = ipc_str(method);
	f[IPC_REQ_HEAD_URL] = ipc_str(url);
	f[IPC_REQ_HEAD_HEADERS] = ipc_strlist(list, n);
	f[IPC_REQ_HEAD_HAS_BODY] = ipc_u64(body != NULL);
	f[IPC_REQ_HEAD_CPU_MS] = ipc_u64(cpu_ms);
	sbx_send(IPC_REQ_HEAD, id, f, 5);
	if (body != NULL) {
		struct ipc_value b[2];

		b[IPC_REQ_BODY_CHUNK] = ipc_bytes(body, strlen(body));
		b[IPC_REQ_BODY_LAST] = ipc_u64(1);
		sbx_send(IPC_REQ_BODY, id, b, 2);
	}
}

static struct resp *
resp_for(struct resp *r, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].id == id)
			return &r[i];
	cr_assert_fail("a frame for unknown request %llu", (unsigned long long)id);
	return NULL;
}

/* Reads frames until every response in r[0..n) is complete. */
static void
sbx_collect(struct resp *r, size_t n)
{
	struct buf in;
	size_t left = n;

	buf_init(&in);
	while (left > 0) {
		struct ipc_msg m;
		struct resp *x;

		sbx_recv(&in, &m);
		if (m.type == IPC_LOG) {
			sbx_log(&m);
			ipc_msg_release(&m);
			continue;
		}
		x = resp_for(r, n, m.id);
		if (m.type == IPC_REQ_CREDIT) {
			/* The script took request body bytes: it may come before or after the end.
			 */
			x->credited += m.field[IPC_REQ_CREDIT_BYTES].u;
			ipc_msg_release(&m);
			continue;
		}
		cr_assert(
		    !x->done, "a frame after the end of request %llu", (unsigned long long)m.id);
		if (m.type == IPC_RESP_ERROR) {
			x->error = (unsigned)m.field[IPC_RESP_ERROR_CODE].u;
			x->done = true;
		} else if (m.type == IPC_RESP_HEAD) {
			const struct ipc_value *h = &m.field[IPC_RESP_HEAD_HEADERS];

			cr_assert_eq(x->status, 0, "two RESP_HEAD");
			x->status = (unsigned)m.field[IPC_RESP_HEAD_STATUS].u;
			for (size_t i = 0; i + 1 < h->count; i += 2)
				buf_printf(&x->headers, "%.*s: %.*s\n", (int)h->list[i].len,
				    h->list[i].ptr, (int)h->list[i + 1].len, h->list[i + 1].ptr);
			x->done = m.field[IPC_RESP_HEAD_HAS_BODY].u == 0;
		} else {
			cr_assert_eq(m.type, IPC_RESP_BODY);
			cr_assert_neq(x->status, 0, "RESP_BODY before RESP_HEAD");
			buf_append(&x->body, m.field[IPC_RESP_BODY_CHUNK].b.ptr,
			    m.field[IPC_RESP_BODY_CHUNK].b.len);
			x->done = m.field[IPC_RESP_BODY_LAST].u == 1;
		}
		if (x->done)
			left--;
		ipc_msg_release(&m);
	}
	buf_release(&in);
	for (size_t i = 0; i < n; i++)
		buf_append(&r[i].body, "", 1); /* NUL-terminate for string asserts */
	for (size_t i = 0; i < n; i++)
		buf_append(&r[i].headers, "", 1);
}

/* One request, one response. */
static struct resp
fetch(uint64_t id, const char *method, const char *url, const char *const *headers,
    const char *body, uint64_t cpu_ms)
{
	struct resp r = { .id = id };

	buf_init(&r.headers);
	buf_init(&r.body);
	sbx_request(id, method, url, headers, body, cpu_ms);
	sbx_collect(&r, 1);
	return r;
}

static void
resp_release(struct resp *r)
{
	buf_release(&r->headers);
	buf_release(&r->body);
}

#define BODY(r) ((const char *)(r).body.data)
#define HEADERS(r) ((const char *)(r).headers.data)

TestSuite(serve, .init = setup, .fini = sbx_teardown, .timeout = 30);

static const char hello_module[] =
    "var __worker = { default: { fetch: function (request, env, ctx) {\n"
    "  return new Response('hello');\n"
    "} } };\n";

Test(serve, module_hello)
{
	struct resp r;

	sbx_load_ok(MODULE, hello_module, NULL);
	r = fetch(1, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.error, 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(BODY(r), "hello");
	cr_assert(strstr(HEADERS(r), "content-type: text/plain;charset=UTF-8\n") != NULL,
	    "headers: %s", HEADERS(r));
	resp_release(&r);
}

Test(serve, syntax_error_has_its_line)
{
	struct sbx_loaded l;

	cr_assert_not(sbx_load(MODULE, "var a = 1;\nvar b = 2;\nvar c = 'oops;\n", NULL, &l));
	cr_assert_eq(l.line, 3, "line %u: %s", l.line, l.message);
	cr_assert(strstr(l.message, "SyntaxError") != NULL, "message: %s", l.message);
	cr_assert(
	    strstr(l.message, "(line") == NULL, "the position belongs in fields: %s", l.message);
	cr_assert(strchr(l.message, '/') == NULL, "a path leaks: %s", l.message);
	/* The string starts at column 9; Duktape notices it unterminated at the line's end. */
	cr_assert_geq(l.column, 9, "column %u", l.column);
}

Test(serve, syntax_error_has_its_column)
{
	struct sbx_loaded l;

	cr_assert_not(sbx_load(MODULE, "var a = 1;\nvar c = ;\n", NULL, &l));
	cr_assert_eq(l.line, 2, "line %u: %s", l.line, l.message);
	cr_assert_eq(l.column, 9, "column %u: %s", l.column, l.message);
	cr_assert(strstr(l.message, "SyntaxError") != NULL, "message: %s", l.message);
}

Test(serve, throwing_global_scope)
{
	struct sbx_loaded l;

	cr_assert_not(
	    sbx_load(MODULE, "var x = 1;\n\nthrow new Error('boom at start');\n", NULL, &l));
	cr_assert_eq(l.line, 3, "line %u: %s", l.line, l.message);
	cr_assert(strstr(l.message, "Error: boom at start") != NULL, "message: %s", l.message);
}

Test(serve, module_without_fetch)
{
	struct sbx_loaded l;

	cr_assert_not(sbx_load(MODULE, "var __worker = { default: {} };", NULL, &l));
	cr_assert_str_eq(l.message, "module worker has no default export with a fetch handler");
}

Test(serve, unknown_binding_type)
{
	struct sbx_loaded l;

	cr_assert_not(
	    sbx_load(MODULE, hello_module, "[{\"type\":\"warp_drive\",\"name\":\"W\"}]", &l));
	cr_assert(strstr(l.message, "warp_drive") != NULL, "message: %s", l.message);
}

Test(serve, async_handler_with_timer)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  return new Promise(function (resolve) { setTimeout(resolve, 0, 'a'); })\n"
	    "    .then(function (v) { return Promise.resolve(v + 'b'); })\n"
	    "    .then(function (v) { return { then: function (ok) { ok(v + 'c'); } }; })\n"
	    "    .then(function (v) { return Promise.all([v, Promise.resolve('d')]); })\n"
	    "    .then(function (v) { return new Response(v.join('')); });\n"
	    "} } };\n",
	    NULL);
	r = fetch(7, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(BODY(r), "abcd");
	resp_release(&r);
}

Test(serve, post_body_echo)
{
	static const char *const headers[] = { "Content-Type", "text/plain", NULL };
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  return req.text().then(function (t) {\n"
	    "    return new Response(req.method + ' ' + t + ' ' + req.bodyUsed);\n"
	    "  });\n"
	    "} } };\n",
	    NULL);
	r = fetch(2, "POST", "http://example.com/echo", headers, "ping", 50);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(BODY(r), "POST ping true");
	cr_assert_eq(r.credited, 4, "the body the script read was credited back");
	resp_release(&r);
}

Test(serve, response_json)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  return Response.json({ a: [1, 2], u: req.url }, { status: 201 });\n"
	    "} } };\n",
	    NULL);
	r = fetch(3, "GET", "http://example.com/j", NULL, NULL, 50);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(BODY(r), "{\"a\":[1,2],\"u\":\"http://example.com/j\"}");
	cr_assert_str_eq(HEADERS(r), "content-type: application/json\n");
	resp_release(&r);
}

Test(serve, headers_round_trip)
{
	static const char *const headers[] = { "X-One", "1", "x-two", "a", "X-Two", "b", NULL };
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var h = new Headers(req.headers);\n"
	    "  h.set('X-Seen', String(req.headers.get('X-TWO')));\n"
	    "  h.append('Set-Cookie', 'a=1'); h.append('set-cookie', 'b=2');\n"
	    "  h['delete']('x-one');\n"
	    "  var bad = 0; try { h.set('x-bad', 'a\\r\\nb'); } catch (e) { bad = e instanceof "
	    "TypeError; }\n"
	    "  h.set('x-bad-rejected', String(bad));\n"
	    "  return new Response(null, { status: 204, headers: h });\n"
	    "} } };\n",
	    NULL);
	r = fetch(4, "GET", "http://example.com/", headers, NULL, 50);
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.body.len, 1, "no body expected");
	cr_assert_str_eq(HEADERS(r),
	    "set-cookie: a=1\nset-cookie: b=2\nx-bad-rejected: true\nx-seen: a, b\nx-two: a, b\n");
	resp_release(&r);
}

Test(serve, throwing_handler_is_1101_and_logged)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var n = 0;\n"
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  if (n++ === 0) throw new Error('handler exploded');\n"
	    "  return new Response('fine');\n"
	    "} } };\n",
	    NULL);
	r = fetch(5, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.error, 1101);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(sbx_logs(), "0 Uncaught Error: handler exploded") != NULL, "logs: %s",
	    sbx_logs());
	resp_release(&r);
	r = fetch(6, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(BODY(r), "fine");
	resp_release(&r);
}

Test(serve, non_response_is_1101)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) { return 'nope'; } } };\n", NULL);
	r = fetch(8, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.error, 1101);
	cr_assert(strstr(sbx_logs(), "did not return a Response") != NULL, "logs: %s", sbx_logs());
	resp_release(&r);
}

Test(serve, busy_loop_is_1102)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  if (req.url.indexOf('catch') !== -1) {\n"
	    "    for (;;) { try { while (true) {} } catch (e) {} }\n"
	    "  }\n"
	    "  if (req.url.indexOf('later') !== -1)\n"
	    "    return new Promise(function () { setTimeout(function () { while (true) {} }, 0); "
	    "});\n"
	    "  while (true) {}\n"
	    "} } };\n",
	    NULL);
	r = fetch(9, "GET", "http://example.com/plain", NULL, NULL, 50);
	cr_assert_eq(r.error, 1102);
	resp_release(&r);
	r = fetch(10, "GET", "http://example.com/catch", NULL, NULL, 50);
	cr_assert_eq(r.error, 1102);
	resp_release(&r);
	r = fetch(11, "GET", "http://example.com/later", NULL, NULL, 50);
	cr_assert_eq(r.error, 1102);
	resp_release(&r);
}

Test(serve, budget_is_per_request)
{
	struct resp r;

	/*
	 * Each request burns part of its budget: three in a row are fine every
	 * time.  (A counted loop: Date.now() does not advance while JS runs.)
	 */
	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  for (var i = 0, x = 0; i < 100000; i++) x += i;\n"
	    "  return new Response('ok');\n"
	    "} } };\n",
	    NULL);
	for (uint64_t id = 1; id <= 3; id++) {
		r = fetch(id, "GET", "http://example.com/", NULL, NULL, 50);
		cr_assert_eq(
		    r.status, 200, "request %llu: error %u", (unsigned long long)id, r.error);
		resp_release(&r);
	}
}

Test(serve, service_worker_with_binding)
{
	struct resp r;

	sbx_load_ok(SW,
	    "addEventListener('fetch', function (event) {\n"
	    "  event.respondWith(new Response(GREETING + ' ' + event.request.method));\n"
	    "});\n",
	    "[{\"type\":\"plain_text\",\"name\":\"GREETING\",\"text\":\"hi\"}]");
	r = fetch(12, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(BODY(r), "hi GET");
	resp_release(&r);
}

Test(serve, service_worker_without_listener)
{
	struct sbx_loaded l;

	cr_assert_not(sbx_load(SW, "var x = 1;", NULL, &l));
	cr_assert_str_eq(l.message, "no fetch event listener");
}

Test(serve, module_env_bindings)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env) {\n"
	    "  return new Response(env.GREETING + ' ' + env.CONF.a + ' ' + env.SECRET + ' ' +\n"
	    "    typeof GREETING);\n"
	    "} } };\n",
	    "[{\"type\":\"plain_text\",\"name\":\"GREETING\",\"text\":\"hi\"},"
	    "{\"type\":\"json\",\"name\":\"CONF\",\"json\":{\"a\":1}},"
	    "{\"type\":\"secret_text\",\"name\":\"SECRET\",\"text\":\"s3\"}]");
	r = fetch(13, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(BODY(r), "hi 1 s3 undefined");
	resp_release(&r);
}

Test(serve, interleaved_requests)
{
	struct resp r[2] = { { .id = 100 }, { .id = 200 } };

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  if (req.url.indexOf('slow') !== -1)\n"
	    "    return new Promise(function (ok) {\n"
	    "      setTimeout(function () { ok(new Response('slow')); }, 50);\n"
	    "    });\n"
	    "  return new Response('fast');\n"
	    "} } };\n",
	    NULL);
	for (int i = 0; i < 2; i++) {
		buf_init(&r[i].headers);
		buf_init(&r[i].body);
	}
	sbx_request(100, "GET", "http://example.com/slow", NULL, NULL, 50);
	sbx_request(200, "GET", "http://example.com/fast", NULL, NULL, 50);
	sbx_collect(r, 2);
	cr_assert_str_eq(BODY(r[0]), "slow");
	cr_assert_str_eq(BODY(r[1]), "fast");
	for (int i = 0; i < 2; i++)
		resp_release(&r[i]);
}

Test(serve, console_levels)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "console.log('at start', 1, { a: [1, 'x'] });\n"
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  console.warn('careful'); console.error(new TypeError('bad'));\n"
	    "  return new Response('ok');\n"
	    "} } };\n",
	    NULL);
	r = fetch(14, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.status, 200);
	cr_assert(
	    strstr(sbx_logs(), "2 at start 1 { a: [ 1, 'x' ] }\n") != NULL, "logs: %s", sbx_logs());
	cr_assert(strstr(sbx_logs(), "1 careful\n") != NULL, "logs: %s", sbx_logs());
	cr_assert(strstr(sbx_logs(), "0 TypeError: bad") != NULL, "logs: %s", sbx_logs());
	resp_release(&r);
}

Test(serve, malformed_frame_exits_2)
{
	static const uint8_t garbage[] = { 0, 0, 0, 3, 0xc1, 0xc1, 0xc1 };
	int status;

	sbx_load_ok(MODULE, hello_module, NULL);
	cr_assert_eq(write(sb.sup, garbage, sizeof(garbage)), (ssize_t)sizeof(garbage));
	status = sbx_stop();
	cr_assert(WIFEXITED(status), "status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 2);
}

Test(serve, request_before_load_exits_2)
{
	int status;

	sbx_request(1, "GET", "http://example.com/", NULL, NULL, 50);
	status = sbx_stop();
	cr_assert(WIFEXITED(status), "status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 2);
}

static void
sbx_body_chunk(uint64_t id, const char *chunk, bool last)
{
	struct ipc_value b[2];

	b[IPC_REQ_BODY_CHUNK] = ipc_bytes(chunk, strlen(chunk));
	b[IPC_REQ_BODY_LAST] = ipc_u64(last);
	sbx_send(IPC_REQ_BODY, id, b, 2);
}

Test(serve, body_in_chunks_as_json)
{
	struct resp r = { .id = 20 };
	struct ipc_bytes none[1];
	struct ipc_value f[5];

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  return req.json().then(function (v) {\n"
	    "    return req.arrayBuffer().then(function () { return new Response('reused'); },\n"
	    "      function (e) { return new Response(String(v.a + 1) + ' ' + e.name); });\n"
	    "  });\n"
	    "} } };\n",
	    NULL);
	f[IPC_REQ_HEAD_METHOD] = ipc_str("PUT");
	f[IPC_REQ_HEAD_URL] = ipc_str("http://example.com/");
	f[IPC_REQ_HEAD_HEADERS] = ipc_strlist(none, 0);
	f[IPC_REQ_HEAD_HAS_BODY] = ipc_u64(1);
	f[IPC_REQ_HEAD_CPU_MS] = ipc_u64(50);
	sbx_send(IPC_REQ_HEAD, 20, f, 5);
	sbx_body_chunk(20, "{\"a\":", false);
	sbx_body_chunk(20, "", false);
	sbx_body_chunk(20, " 41}", true);
	buf_init(&r.headers);
	buf_init(&r.body);
	sbx_collect(&r, 1);
	cr_assert_eq(r.status, 200, "error %u, logs %s", r.error, sbx_logs());
	cr_assert_str_eq(BODY(r), "42 TypeError");
	resp_release(&r);
}

Test(serve, body_after_last_chunk_exits_2)
{
	int status;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  return new Promise(function () {});\n"
	    "} } };\n",
	    NULL);
	sbx_request(21, "POST", "http://example.com/", NULL, "x", 50);
	sbx_body_chunk(21, "more", true);
	status = sbx_stop();
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
}

Test(serve, cancelled_request_stays_silent)
{
	static const struct ipc_value reason[1] = { { .u = 1 } };
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var ms = Number(req.url.split('/').pop());\n"
	    "  return new Promise(function (ok) {\n"
	    "    setTimeout(function () { console.log('timer ' + ms); ok(new Response('after ' + "
	    "ms)); }, ms);\n"
	    "  });\n"
	    "} } };\n",
	    NULL);
	sbx_request(30, "GET", "http://example.com/20", NULL, NULL, 50);
	sbx_send(IPC_REQ_CANCEL, 30, reason, 1);
	/* Outlives request 30's timer: any frame for 30 fails sbx_collect. */
	r = fetch(31, "GET", "http://example.com/80", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "after 80");
	cr_assert(
	    strstr(sbx_logs(), "timer 20") == NULL, "the cancelled timer ran: %s", sbx_logs());
	resp_release(&r);
}

Test(serve, wait_until_runs_after_the_response)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env, ctx) {\n"
	    "  if (req.url.indexOf('wait') !== -1)\n"
	    "    return new Promise(function (ok) { setTimeout(function () { ok(new "
	    "Response('w')); }, 60); });\n"
	    "  ctx.waitUntil(new Promise(function (ok) {\n"
	    "    setTimeout(function () { console.log('background done'); ok(); }, 5);\n"
	    "  }));\n"
	    "  ctx.waitUntil(Promise.reject(new Error('background failed')));\n"
	    "  return new Response('first');\n"
	    "} } };\n",
	    NULL);
	r = fetch(40, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "first");
	resp_release(&r);
	r = fetch(41, "GET", "http://example.com/wait", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "w");
	cr_assert(strstr(sbx_logs(), "2 background done\n") != NULL, "logs: %s", sbx_logs());
	cr_assert(strstr(sbx_logs(), "Error: background failed") != NULL, "logs: %s", sbx_logs());
	resp_release(&r);
}

Test(serve, memory_cap_is_1102)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  if (req.url.indexOf('big') !== -1) return new Response(new ArrayBuffer(100 * 1024 * "
	    "1024));\n"
	    "  return new Response('small');\n"
	    "} } };\n",
	    NULL);
	r = fetch(50, "GET", "http://example.com/big", NULL, NULL, 500);
	cr_assert_eq(r.error, 1102, "status %u error %u", r.status, r.error);
	cr_assert(
	    strstr(sbx_logs(), "exceeded resource limits: memory") != NULL, "logs: %s", sbx_logs());
	resp_release(&r);
	r = fetch(51, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "small");
	resp_release(&r);
}

Test(serve, engine_internals_are_hidden)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var names = Object.getOwnPropertyNames(globalThis).filter(function (n) {\n"
	    "    return /native|edged(?!_builtin)|^rt$|Duktape/.test(n);\n"
	    "  });\n"
	    "  var p = Promise.resolve(1);\n"
	    "  var leaks = Object.getOwnPropertyNames(p).length + "
	    "Object.getOwnPropertySymbols(p).length +\n"
	    "    Object.getOwnPropertySymbols(req.headers).length;\n"
	    "  return new Response(typeof Duktape + ' [' + names.join() + '] ' + leaks + ' ' +\n"
	    "    (self === globalThis));\n"
	    "} } };\n",
	    NULL);
	r = fetch(60, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "undefined [] 0 true");
	resp_release(&r);
}

Test(serve, unhandled_rejection_is_reported)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  Promise.reject(new Error('nobody listens'));\n"
	    "  var handled = Promise.reject(new Error('handled later'));\n"
	    "  handled['catch'](function () {});\n"
	    "  return new Response('ok');\n"
	    "} } };\n",
	    NULL);
	r = fetch(70, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "ok");
	resp_release(&r);
	/* The report follows the response on the channel; a second exchange flushes it. */
	r = fetch(71, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert(strstr(sbx_logs(), "0 Uncaught (in promise) Error: nobody listens") != NULL,
	    "logs: %s", sbx_logs());
	cr_assert(strstr(sbx_logs(), "handled later") == NULL, "logs: %s", sbx_logs());
	resp_release(&r);
}

Test(serve, long_console_line_is_capped)
{
	struct resp r;
	const char *line, *end;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  console.log(new Array(20001).join('\\u00e9'));\n"
	    "  return new Response('ok');\n"
	    "} } };\n",
	    NULL);
	r = fetch(80, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_str_eq(BODY(r), "ok");
	line = strstr(sbx_logs(), "2 ");
	cr_assert_not_null(line);
	end = strchr(line, '\n');
	cr_assert_leq((size_t)(end - line - 2), 16384u);
	cr_assert_geq((size_t)(end - line - 2), 16000u);
	resp_release(&r);
}

Test(serve, response_api)
{
	struct resp r;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var out = [];\n"
	    "  try { new Response('x', { status: 600 }); } catch (e) { out.push(e.name); }\n"
	    "  var red = Response.redirect('http://example.com/a', 301);\n"
	    "  out.push(red.status, red.headers.get('Location'), red.ok);\n"
	    "  try { Response.redirect('/x', 200); } catch (e) { out.push(e.name); }\n"
	    "  var bytes = new Response(new Uint8Array([104, 105])).clone();\n"
	    "  var h = new Headers([['B', '2'], ['a', '1']]), keys = [], it = "
	    "h[Symbol.iterator](), s;\n"
	    "  while (!(s = it.next()).done) keys.push(s.value.join('='));\n"
	    "  out.push(keys.join('&'));\n"
	    "  return bytes.arrayBuffer().then(function (ab) {\n"
	    "    out.push(ab.byteLength, new TextDecoder().decode(ab));\n"
	    "    return new Response(out.join(' '), { status: 418, statusText: 'teapot' });\n"
	    "  });\n"
	    "} } };\n",
	    NULL);
	r = fetch(90, "GET", "http://example.com/", NULL, NULL, 50);
	cr_assert_eq(r.status, 418, "error %u logs %s", r.error, sbx_logs());
	cr_assert_str_eq(
	    BODY(r), "RangeError 301 http://example.com/a false RangeError a=1&b=2 2 hi");
	resp_release(&r);
}

Test(serve, big_bodies_both_ways_do_not_deadlock)
{
	static char chunk[IPC_BODY_CHUNK_MAX];
	struct resp r = { .id = 95 };
	struct ipc_value f[5];
	struct ipc_bytes none[1];
	const size_t nchunks = 16;

	/* Answers 4 MiB at once, before reading a 4 MiB request body. */
	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var b = new Uint8Array(4 * 1024 * 1024);\n"
	    "  for (var i = 0; i < b.length; i += 4096) b[i] = 1;\n"
	    "  return new Response(b);\n"
	    "} } };\n",
	    NULL);
	memset(chunk, 'q', sizeof(chunk));
	f[IPC_REQ_HEAD_METHOD] = ipc_str("POST");
	f[IPC_REQ_HEAD_URL] = ipc_str("http://example.com/");
	f[IPC_REQ_HEAD_HEADERS] = ipc_strlist(none, 0);
	f[IPC_REQ_HEAD_HAS_BODY] = ipc_u64(1);
	f[IPC_REQ_HEAD_CPU_MS] = ipc_u64(1000);
	sbx_send(IPC_REQ_HEAD, 95, f, 5);
	for (size_t i = 0; i < nchunks; i++) {
		struct ipc_value b[2];

		b[IPC_REQ_BODY_CHUNK] = ipc_bytes(chunk, sizeof(chunk));
		b[IPC_REQ_BODY_LAST] = ipc_u64(i + 1 == nchunks);
		sbx_send(IPC_REQ_BODY, 95, b, 2);
	}
	buf_init(&r.headers);
	buf_init(&r.body);
	sbx_collect(&r, 1);
	cr_assert_eq(r.status, 200, "error %u", r.error);
	cr_assert_eq(r.body.len, 4u * 1024 * 1024 + 1);
	cr_assert_eq(r.body.data[0], 1);
	cr_assert_eq(r.body.data[4096], 1);
	cr_assert_eq(r.body.data[1], 0);
	resp_release(&r);
}
