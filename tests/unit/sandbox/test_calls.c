/*
 * Tests of sandbox/calls.c, sandbox/native_calls.c and the runtime's storage
 * calls (sdk-js/runtime/44-calls.js): a forked child runs sandbox_serve() and
 * the test plays the supervisor on one socketpair and the broker on another
 * (the rig: sbx.c).
 * Scripts reach the calls through the KV binding, and through `__calls`, a
 * test-only global the child installs before serving (tenant code never
 * sees rt otherwise).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "sandbox/host.h"
#include "sandbox/sandbox.h"
#include "tests/unit/sandbox/sbx.h"

#define MODULE IPC_FORMAT_MODULE
#define SW IPC_FORMAT_SERVICE_WORKER
#define KV_BINDING                                                                                 \
	"[{\"type\":\"kv_namespace\",\"name\":\"KV\","                                             \
	"\"namespace_id\":\"0123456789abcdef0123456789abcdef\"}]"
#define PIECE IPC_BODY_CHUNK_MAX
#define CPU_MS 2000

/* ---- the child ------------------------------------------------------------ */

/* The test-only way in: rt.call and rt.callBytes as the global `__calls`. */
static const char test_hook[] = "(function (rt) {\n"
				"  Object.defineProperty(globalThis, '__calls', { value: {\n"
				"    call: rt.call, callBytes: rt.callBytes } });\n"
				"})";

static duk_ret_t
install_hook(duk_context *ctx, void *udata)
{
	(void)udata;
	duk_eval_string(ctx, test_hook);
	duk_push_global_stash(ctx);
	duk_get_prop_string(ctx, -1, "rt");
	duk_remove(ctx, -2);
	duk_call(ctx, 1);
	return 0;
}

static void
child(int sup, int brk)
{
	struct sandbox_limits limits = { .memory_bytes = 128u << 20 };
	struct sandbox_runtime *rt;

	if ((rt = sandbox_runtime_new(&limits)) == NULL)
		_exit(3);
	if (duk_safe_call(rt->ctx, install_hook, NULL, 0, 1) != DUK_EXEC_SUCCESS)
		_exit(4);
	duk_pop(rt->ctx);
	sandbox_serve(rt, sup, brk);
}

static void
setup(void)
{
	sbx_start(child, true);
}

/* ---- the broker's side of its channel ------------------------------------------ */

static void
brk_send(uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	sbx_send_on(sb.brk, type, id, f, n);
}

static void
brk_recv(struct buf *in, struct ipc_msg *m)
{
	sbx_recv_on(sb.brk, IPC_PEER_BROKER, IPC_ST_READY, in, m);
}

/* ---- the supervisor's side --------------------------------------------------- */

static void
request(uint64_t id, const char *path)
{
	struct ipc_value f[5];
	char url[256];

	snprintf(url, sizeof(url), "http://example.com%s", path);
	f[IPC_REQ_HEAD_METHOD] = ipc_str("GET");
	f[IPC_REQ_HEAD_URL] = ipc_str(url);
	f[IPC_REQ_HEAD_HEADERS] = ipc_strlist(NULL, 0);
	f[IPC_REQ_HEAD_HAS_BODY] = ipc_u64(0);
	f[IPC_REQ_HEAD_CPU_MS] = ipc_u64(CPU_MS);
	sbx_send(IPC_REQ_HEAD, id, f, 5);
}

static void
cancel_request(uint64_t id)
{
	struct ipc_value f[1];

	f[IPC_REQ_CANCEL_REASON] = ipc_u64(0);
	sbx_send(IPC_REQ_CANCEL, id, f, 1);
}

/*
 * Reads the response of request `id` and returns its body as a string (the
 * caller frees), or "error <code>" for RESP_ERROR.
 */
static char *
response(uint64_t id)
{
	struct buf in, body;
	bool done = false;
	char *text;

	buf_init(&in);
	buf_init(&body);
	while (!done) {
		struct ipc_msg m;

		sbx_recv_reply(&in, &m);
		cr_assert_eq(m.id, id, "a frame of request %llu while waiting for %llu",
		    (unsigned long long)m.id, (unsigned long long)id);
		if (m.type == IPC_RESP_ERROR) {
			buf_printf(&body, "error %u", (unsigned)m.field[IPC_RESP_ERROR_CODE].u);
			done = true;
		} else if (m.type == IPC_RESP_HEAD) {
			done = m.field[IPC_RESP_HEAD_HAS_BODY].u == 0;
		} else {
			cr_assert_eq(m.type, IPC_RESP_BODY);
			buf_append(&body, m.field[IPC_RESP_BODY_CHUNK].b.ptr,
			    m.field[IPC_RESP_BODY_CHUNK].b.len);
			done = m.field[IPC_RESP_BODY_LAST].u == 1;
		}
		ipc_msg_release(&m);
	}
	buf_release(&in);
	buf_append(&body, "", 1);
	text = strdup((const char *)body.data);
	buf_release(&body);
	cr_assert_not_null(text);
	return text;
}

/* One request, and its response compared with `want`. */
static void
fetch_expect(uint64_t id, const char *path, const char *want)
{
	char *got;

	request(id, path);
	got = response(id);
	cr_assert_str_eq(
	    got, want, "request %llu (%s): logs:\n%s", (unsigned long long)id, path, sbx_logs());
	free(got);
}

static void
expect_response(uint64_t id, const char *want)
{
	char *got = response(id);

	cr_assert_str_eq(got, want, "request %llu: logs:\n%s", (unsigned long long)id, sbx_logs());
	free(got);
}

/* ---- the broker's side ----------------------------------------------------------- */

struct call_frame {
	uint64_t id;
	char binding[80];
	char method[40];
	char args[512];
	size_t chunk_len;
	bool more;
};

/* Reads the next broker-bound message and checks it is a CALL. */
static struct call_frame
expect_call(void)
{
	struct call_frame c = { 0 };
	struct buf in;
	struct ipc_msg m;
	const struct ipc_value *f;

	buf_init(&in);
	brk_recv(&in, &m);
	cr_assert_eq(m.type, IPC_CALL, "message type %u instead of CALL", m.type);
	f = m.field;
	c.id = m.id;
	snprintf(c.binding, sizeof(c.binding), "%.*s", (int)f[IPC_CALL_BINDING].b.len,
	    f[IPC_CALL_BINDING].b.ptr);
	snprintf(c.method, sizeof(c.method), "%.*s", (int)f[IPC_CALL_METHOD].b.len,
	    f[IPC_CALL_METHOD].b.ptr);
	snprintf(
	    c.args, sizeof(c.args), "%.*s", (int)f[IPC_CALL_ARGS].b.len, f[IPC_CALL_ARGS].b.ptr);
	c.chunk_len = f[IPC_CALL_CHUNK].b.len;
	c.more = f[IPC_CALL_MORE].u != 0;
	ipc_msg_release(&m);
	buf_release(&in);
	return c;
}

/* Reads the next broker-bound message and checks its type and call id. */
static void
expect_broker(uint16_t type, uint64_t id, struct buf *in, struct ipc_msg *m)
{
	brk_recv(in, m);
	cr_assert_eq(m->type, type, "message type %u instead of %u", m->type, type);
	cr_assert_eq(m->id, id, "call %llu instead of %llu", (unsigned long long)m->id,
	    (unsigned long long)id);
}

static void
expect_cancel(uint64_t id)
{
	struct buf in;
	struct ipc_msg m;

	buf_init(&in);
	expect_broker(IPC_CALL_CANCEL, id, &in, &m);
	ipc_msg_release(&m);
	buf_release(&in);
}

/* Reads CALL_BODY of call `id` and checks its bytes (NULL: do not check) and last flag. */
static void
expect_piece(uint64_t id, const void *want, size_t len, bool last)
{
	struct buf in;
	struct ipc_msg m;
	const struct ipc_bytes *b;

	buf_init(&in);
	expect_broker(IPC_CALL_BODY, id, &in, &m);
	b = &m.field[IPC_CALL_BODY_CHUNK].b;
	cr_assert_eq(b->len, len, "a piece of %zu bytes instead of %zu", b->len, len);
	if (want != NULL && len > 0)
		cr_assert(memcmp(b->ptr, want, len) == 0, "piece bytes differ");
	cr_assert_eq(m.field[IPC_CALL_BODY_LAST].u, last, "last flag");
	ipc_msg_release(&m);
	buf_release(&in);
}

static void
result(uint64_t id, unsigned status, const char *doc, const void *chunk, size_t len, bool more)
{
	struct ipc_value f[4];

	f[IPC_RESULT_STATUS] = ipc_u64(status);
	f[IPC_RESULT_DOC] = ipc_str(doc);
	f[IPC_RESULT_CHUNK] = ipc_bytes(chunk != NULL ? chunk : "", len);
	f[IPC_RESULT_MORE] = ipc_u64(more);
	brk_send(IPC_RESULT, id, f, 4);
}

static void
result_body(uint64_t id, const void *chunk, size_t len, bool last)
{
	struct ipc_value f[2];

	f[IPC_RESULT_BODY_CHUNK] = ipc_bytes(chunk, len);
	f[IPC_RESULT_BODY_LAST] = ipc_u64(last);
	brk_send(IPC_RESULT_BODY, id, f, 2);
}

static void
call_pull(uint64_t id, unsigned chunks)
{
	struct ipc_value f[1];

	f[IPC_CALL_PULL_CHUNKS] = ipc_u64(chunks);
	brk_send(IPC_CALL_PULL, id, f, 1);
}

TestSuite(calls, .init = setup, .fini = sbx_teardown, .timeout = 60);

/* ---- through the KV binding --------------------------------------------------- */

Test(calls, kv_get_as_the_broker_sees_it)
{
	struct call_frame c;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env) {\n"
	    "  return env.KV.get('k\\u00e9').then(function (v) { return new Response('got ' + v); "
	    "});\n"
	    "} } };\n",
	    KV_BINDING);
	request(1, "/");
	c = expect_call();
	cr_assert_eq(c.id, 1, "call ids count from 1");
	cr_assert_str_eq(c.binding, "KV");
	cr_assert_str_eq(c.method, "get");
	cr_assert_str_eq(c.args, "{\"key\":\"k\xc3\xa9\"}");
	cr_assert_eq(c.chunk_len, 0);
	cr_assert_not(c.more);
	result(1, 0, "{\"found\":true,\"metadata\":null}", "value!", 6, false);
	expect_response(1, "got value!");

	request(2, "/");
	c = expect_call();
	cr_assert_eq(c.id, 2, "one counter per sandbox");
	result(2, 0, "{\"found\":false}", NULL, 0, false);
	expect_response(2, "got null");
}

Test(calls, error_status_reaches_the_script)
{
	struct call_frame c;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env) {\n"
	    "  return env.KV.get('k').then(function (v) { return new Response('got ' + v); },\n"
	    "    function (e) { return new Response(e.name + ': ' + e.message); });\n"
	    "} } };\n",
	    KV_BINDING);
	request(1, "/");
	c = expect_call();
	result(c.id, 1,
	    "{\"message\":\"KV GET failed: 414 UTF-8 encoded length of 513 exceeds "
	    "key length limit of 512.\"}",
	    NULL, 0, false);
	expect_response(1,
	    "TypeError: KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length "
	    "limit of 512.");
	request(2, "/");
	c = expect_call();
	result(c.id, 2, "{\"message\":\"namespace not found\"}", NULL, 0, false);
	expect_response(2, "Error: namespace not found");
}

/* Reads a stream body whole: its length, a checksum of every 4093rd byte and the chunk count. */
#define READ_STREAM_JS                                                                             \
	"function readStream(s) {\n"                                                               \
	"  var reader = s.getReader(), total = 0, sum = 0, chunks = 0;\n"                          \
	"  function next() {\n"                                                                    \
	"    return reader.read().then(function (r) {\n"                                           \
	"      var j;\n"                                                                           \
	"      if (r.done) return total + ' ' + sum + ' ' + chunks;\n"                             \
	"      if (!(r.value instanceof Uint8Array)) throw new TypeError('not bytes');\n"          \
	"      chunks++;\n"                                                                        \
	"      for (j = (4093 - total % 4093) % 4093; j < r.value.length; j += 4093)\n"            \
	"        sum = (sum + r.value[j] * ((total + j) % 251 + 1)) % 1000000007;\n"               \
	"      total += r.value.length;\n"                                                         \
	"      return next();\n"                                                                   \
	"    });\n"                                                                                \
	"  }\n"                                                                                    \
	"  return next();\n"                                                                       \
	"}\n"

static uint8_t
pattern_byte(size_t i)
{
	return (uint8_t)(i * 31 + (i >> 11));
}

static uint64_t
pattern_sum(size_t total)
{
	uint64_t sum = 0;

	for (size_t j = 0; j < total; j += 4093)
		sum = (sum + (uint64_t)pattern_byte(j) * (j % 251 + 1)) % 1000000007u;
	return sum;
}

Test(calls, big_output_is_pulled_piece_by_piece)
{
	const size_t total = 3u << 20;
	uint8_t *data = malloc(total);
	struct call_frame c;
	size_t sent;
	unsigned asked = 0, pulls = 0;
	char want[128];

	cr_assert_not_null(data);
	for (size_t i = 0; i < total; i++)
		data[i] = pattern_byte(i);
	sbx_load_ok(MODULE,
	    READ_STREAM_JS "var __worker = { default: { fetch: function (req, env) {\n"
			   "  return env.KV.get('big', 'stream').then(function (s) {\n"
			   "    return readStream(s);\n"
			   "  }).then(function (t) { return new Response(t); });\n"
			   "} } };\n",
	    KV_BINDING);
	request(1, "/");
	c = expect_call();
	result(c.id, 0, "{\"found\":true,\"metadata\":null}", data, PIECE, true);
	sent = PIECE;
	while (sent < total) {
		struct buf in;
		struct ipc_msg m;

		/* We answer only what was asked for, so a pull arrives only when all of it came. */
		buf_init(&in);
		expect_broker(IPC_RESULT_PULL, c.id, &in, &m);
		asked += (unsigned)m.field[IPC_RESULT_PULL_CHUNKS].u;
		pulls++;
		ipc_msg_release(&m);
		buf_release(&in);
		cr_assert_geq(asked, 1, "an empty pull");
		cr_assert_leq(asked, IPC_PULL_MAX, "%u pieces asked for ahead", asked);
		for (; asked > 0 && sent < total; asked--) {
			result_body(c.id, data + sent, PIECE, sent + PIECE == total);
			sent += PIECE;
		}
	}
	snprintf(want, sizeof(want), "%zu %llu %zu", total, (unsigned long long)pattern_sum(total),
	    total / PIECE);
	expect_response(1, want);
	cr_assert_geq(pulls, 1);
	free(data);
}

Test(calls, reader_cancel_sends_call_cancel)
{
	struct call_frame c;
	static uint8_t first[1000];

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env) {\n"
	    "  return env.KV.get('big', 'stream').then(function (s) {\n"
	    "    if (s === null) return new Response('none');\n"
	    "    var r = s.getReader();\n"
	    "    return r.read().then(function (x) {\n"
	    "      return r.cancel().then(function () { return new Response('read ' + "
	    "x.value.length); });\n"
	    "    });\n"
	    "  });\n"
	    "} } };\n",
	    KV_BINDING);
	request(1, "/");
	c = expect_call();
	result(c.id, 0, "{\"found\":true,\"metadata\":null}", first, sizeof(first), true);
	/* The first piece came with RESULT: reading it pulls nothing; cancelling ends the call. */
	expect_cancel(c.id);
	expect_response(1, "read 1000");
	/* A piece that crossed the cancel is ignored. */
	result_body(c.id, "late", 4, true);
	request(2, "/");
	c = expect_call();
	cr_assert_eq(c.id, 2);
	result(c.id, 0, "{\"found\":false}", NULL, 0, false);
	expect_response(2, "none");
}

Test(calls, request_end_cancels_calls_in_flight)
{
	struct call_frame c;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env, ctx) {\n"
	    "  var p = env.KV.get('k').then(function (v) {\n"
	    "    console.log('continued ' + v);\n"
	    "    return new Response('late');\n"
	    "  });\n"
	    "  if (req.url.indexOf('/early') !== -1)\n"
	    "    return new Response('early');\n"
	    "  if (req.url.indexOf('/wait') !== -1) {\n"
	    "    ctx.waitUntil(p.then(function () {\n"
	    "      console.log('waitUntil done');\n"
	    "      return env.KV.get('after');\n"
	    "    }));\n"
	    "    return new Response('early');\n"
	    "  }\n"
	    "  return p;\n"
	    "} } };\n",
	    KV_BINDING);

	/* The client went away while the handler awaited the call. */
	request(1, "/await");
	c = expect_call();
	cr_assert_eq(c.id, 1);
	cancel_request(1);
	expect_cancel(1);
	result(1, 0, "{\"found\":true}", "v1", 2, false); /* crossed the cancel: ignored */

	/* The response went out and nothing waits for the call. */
	request(2, "/early");
	expect_response(2, "early");
	c = expect_call();
	cr_assert_eq(c.id, 2);
	expect_cancel(2);
	result(2, 0, "{\"found\":true}", "v2", 2, false);

	/* waitUntil keeps the request, and its call, alive. */
	request(3, "/wait");
	expect_response(3, "early");
	c = expect_call();
	cr_assert_eq(c.id, 3);
	result(3, 0, "{\"found\":true}", "v3", 2, false);
	/* The continuation's own call, with no CALL_CANCEL for 3 before it. */
	c = expect_call();
	cr_assert_eq(c.id, 4);
	cr_assert_str_eq(c.args, "{\"key\":\"after\"}");
	result(4, 0, "{\"found\":false}", NULL, 0, false);

	/* Its log lines came before this response on the channel. */
	request(4, "/early");
	expect_response(4, "early");
	c = expect_call();
	cr_assert_eq(c.id, 5);
	expect_cancel(5);
	cr_assert(strstr(sbx_logs(), "continued v3\n") != NULL, "logs:\n%s", sbx_logs());
	cr_assert(strstr(sbx_logs(), "waitUntil done\n") != NULL, "logs:\n%s", sbx_logs());
	cr_assert(
	    strstr(sbx_logs(), "continued v1") == NULL, "a cancelled call ran: %s", sbx_logs());
	cr_assert(
	    strstr(sbx_logs(), "continued v2") == NULL, "a cancelled call ran: %s", sbx_logs());
}

Test(calls, broker_eof_fails_calls_and_the_sandbox_serves_on)
{
	struct call_frame c;
	struct buf in;
	struct ipc_msg m;

	sbx_load_ok(MODULE,
	    READ_STREAM_JS
	    "function show(e) { return new Response(e.name + ': ' + e.message + ' ' "
	    "+ e.storeStatus); }\n"
	    "var __worker = { default: { fetch: function (req, env) {\n"
	    "  if (req.url.indexOf('/plain') !== -1) return new Response('still here');\n"
	    "  if (req.url.indexOf('/stream') !== -1)\n"
	    "    return env.KV.get('big', 'stream').then(readStream).then(function (t) {\n"
	    "      return new Response(t); }, show);\n"
	    "  return env.KV.get('k').then(function (v) { return new Response('value ' + "
	    "v); }, show);\n"
	    "} } };\n",
	    KV_BINDING);
	/* One call mid-way through its output body, one waiting for its RESULT. */
	request(1, "/stream");
	c = expect_call();
	result(c.id, 0, "{\"found\":true}", "abc", 3, true);
	buf_init(&in);
	expect_broker(IPC_RESULT_PULL, c.id, &in, &m);
	ipc_msg_release(&m);
	buf_release(&in);
	request(2, "/");
	c = expect_call();
	cr_assert_eq(c.id, 2);
	close(sb.brk);
	sb.brk = -1;
	expect_response(1, "Error: storage is unavailable 7");
	expect_response(2, "Error: storage is unavailable 7");
	fetch_expect(3, "/plain", "still here");
	fetch_expect(4, "/", "Error: storage is unavailable 7");
}

Test(calls, broker_breaking_the_protocol_exits_2)
{
	struct call_frame c;
	int status;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req, env) {\n"
	    "  return env.KV.get('k').then(function (v) { return new Response('got ' + v); });\n"
	    "} } };\n",
	    KV_BINDING);
	request(1, "/");
	c = expect_call();
	/* For an unknown call: ignored. */
	result(c.id + 1, 0, "{}", NULL, 0, false);
	/* A piece nobody asked for: the end. */
	result_body(c.id, "x", 1, false);
	status = sbx_wait_exit();
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
}

Test(calls, second_broker_hello_exits_2)
{
	struct ipc_value hello[3];
	int status;

	sbx_load_ok(MODULE, "var __worker = { default: { fetch: function () {} } };\n", NULL);
	hello[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	hello[IPC_HELLO_ROLE] = ipc_u64(IPC_PEER_BROKER);
	hello[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	brk_send(IPC_HELLO, 0, hello, 3);
	status = sbx_wait_exit();
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
}

Test(calls, kv_in_global_scope_rejects)
{
	sbx_load_ok(SW,
	    "var msg = 'none';\n"
	    "KV.get('k').then(null, function (e) { msg = e.name + ': ' + e.message; });\n"
	    "addEventListener('fetch', function (ev) { ev.respondWith(new Response(msg)); });\n",
	    KV_BINDING);
	fetch_expect(1, "/",
	    "Error: Disallowed operation called within global scope. Asynchronous I/O (ex: fetch() "
	    "or connect()), setting a timeout, and generating random values are not allowed within "
	    "global scope. To fix this error, perform this operation within a handler.");
}

/* ---- through rt.call itself (the test-only __calls) ---------------------------- */

Test(calls, call_in_global_scope_throws)
{
	struct sbx_loaded l;

	cr_assert_not(sbx_load(MODULE,
	    "__calls.call('KV', 'get', { key: 'k' });\n"
	    "var __worker = { default: { fetch: function () { return new Response('x'); } } };\n",
	    KV_BINDING, &l));
	cr_assert(strstr(l.message,
		      "Error: Disallowed operation called within global scope. Asynchronous I/O") ==
		l.message,
	    "message: %s", l.message);
}

Test(calls, docs_bytes_and_errors)
{
	struct call_frame c;

	sbx_load_ok(MODULE,
	    "function show(e) { return e.name + ': ' + e.message + ' status=' + e.storeStatus +\n"
	    "  ' code=' + e.code; }\n"
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var out = [];\n"
	    "  return __calls.callBytes('KV', 'get', { key: 'b' }).then(function (r) {\n"
	    "    out.push(r.doc.found + ' ' + r.bytes.length + ' ' + r.bytes[2]);\n"
	    "    return __calls.call('KV', 'list', { prefix: 'a', limit: 2 });\n"
	    "  }).then(function (r) {\n"
	    "    out.push(JSON.stringify(r.doc) + ' body=' + r.body);\n"
	    "    return __calls.callBytes('KV', 'delete', { key: 'x' });\n"
	    "  }).then(function (r) {\n"
	    "    out.push(JSON.stringify(r.doc) + ' bytes=' + r.bytes);\n"
	    "    return __calls.call('KV', 'get', { key: '' });\n"
	    "  }).then(null, function (e) {\n"
	    "    out.push(show(e) + ' ' + (e instanceof TypeError));\n"
	    "    return __calls.call('R2', 'get', { key: 'x' });\n"
	    "  }).then(null, function (e) {\n"
	    "    out.push(show(e) + ' ' + (e instanceof TypeError));\n"
	    "    return new Response(out.join('\\n'));\n"
	    "  });\n"
	    "} } };\n",
	    NULL);
	request(1, "/");
	c = expect_call();
	cr_assert_str_eq(c.args, "{\"key\":\"b\"}");
	result(c.id, 0, "{\"found\":true}", "xyz", 3, false);
	c = expect_call();
	cr_assert_str_eq(c.method, "list");
	cr_assert_str_eq(c.args, "{\"prefix\":\"a\",\"limit\":2}");
	result(c.id, 0, "{\"keys\":[],\"list_complete\":true}", NULL, 0, false);
	c = expect_call();
	result(c.id, 0, "null", NULL, 0, false);
	c = expect_call();
	result(c.id, 1, "{\"message\":\"bad key\"}", NULL, 0, false);
	c = expect_call();
	cr_assert_str_eq(c.binding, "R2");
	result(c.id, 5, "{\"message\":\"precondition failed (10031)\",\"code\":10031}", NULL, 0,
	    false);
	expect_response(1,
	    "true 3 122\n"
	    "{\"keys\":[],\"list_complete\":true} body=null\n"
	    "null bytes=null\n"
	    "TypeError: bad key status=1 code=undefined true\n"
	    "Error: precondition failed (10031) status=5 code=10031 false");
}

Test(calls, streamed_input_is_read_only_as_pulled)
{
	static uint8_t big[300u << 10];
	struct call_frame c;

	big[0] = 1;
	big[sizeof(big) - 1] = 2;
	sbx_load_ok(MODULE,
	    "var pulls = 0, outcome = 'pending';\n"
	    "var parts = [\n"
	    "  function () { return new Uint8Array([97, 98]); },\n"
	    "  function () { return 'cd\\u00e9'; },\n"
	    "  function () { return new Uint8Array([101, 102]).buffer; },\n"
	    "  function () { var b = new Uint8Array(300 * 1024); b[0] = 1; b[b.length - 1] = 2; "
	    "return b; },\n"
	    "  function () { return new DataView(new Uint8Array([103, 104, 105, 106]).buffer, 1, "
	    "2); }\n"
	    "];\n"
	    "var __worker = { default: { fetch: function (req, env, ctx) {\n"
	    "  var i = 0, s;\n"
	    "  if (req.url.indexOf('/count') !== -1) return new Response(pulls + ' ' + outcome);\n"
	    "  s = new ReadableStream({ pull: function (c) {\n"
	    "    pulls++;\n"
	    "    if (i < parts.length) c.enqueue(parts[i++]()); else c.close();\n"
	    "  } }, { highWaterMark: 0 });\n"
	    "  ctx.waitUntil(__calls.call('KV', 'put', { key: 'k' }, s).then(function (r) {\n"
	    "    outcome = JSON.stringify(r.doc);\n"
	    "    return __calls.call('KV', 'get', { key: outcome });\n"
	    "  }));\n"
	    "  return new Response('started');\n"
	    "} } };\n",
	    NULL);
	fetch_expect(1, "/start", "started");
	c = expect_call();
	cr_assert_str_eq(c.method, "put");
	cr_assert_eq(c.chunk_len, 0, "a stream is not read before the broker asks");
	cr_assert(c.more);
	fetch_expect(2, "/count", "0 pending");
	call_pull(c.id, 1);
	expect_piece(c.id, "ab", 2, false);
	fetch_expect(3, "/count", "1 pending");
	call_pull(c.id, 2);
	expect_piece(c.id, "cd\xc3\xa9", 4, false);
	expect_piece(c.id, "ef", 2, false);
	fetch_expect(4, "/count", "3 pending");
	/* A chunk over 256 KiB goes in two pieces, one per pulled chunk, read once. */
	call_pull(c.id, 1);
	expect_piece(c.id, big, PIECE, false);
	fetch_expect(5, "/count", "4 pending");
	call_pull(c.id, 1);
	expect_piece(c.id, big + PIECE, sizeof(big) - PIECE, false);
	fetch_expect(6, "/count", "4 pending");
	call_pull(c.id, 3);
	expect_piece(c.id, "hi", 2, false);
	expect_piece(c.id, NULL, 0, true);
	fetch_expect(7, "/count", "6 pending");
	result(c.id, 0, "{\"stored\":1}", NULL, 0, false);
	c = expect_call();
	cr_assert_str_eq(c.args, "{\"key\":\"{\\\"stored\\\":1}\"}");
	result(c.id, 0, "{}", NULL, 0, false);
	fetch_expect(8, "/count", "6 {\"stored\":1}");
}

Test(calls, bytes_input_goes_in_pieces)
{
	struct call_frame c;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var b = new Uint8Array(600 * 1024);\n"
	    "  b[0] = 7; b[b.length - 1] = 9;\n"
	    "  return __calls.call('KV', 'put', { key: 'k' }, b).then(function (r) {\n"
	    "    return new Response(JSON.stringify(r.doc));\n"
	    "  });\n"
	    "} } };\n",
	    NULL);
	request(1, "/");
	c = expect_call();
	cr_assert_eq(c.chunk_len, PIECE);
	cr_assert(c.more);
	call_pull(c.id, 16);
	expect_piece(c.id, NULL, PIECE, false);
	expect_piece(c.id, NULL, 600u * 1024 - 2 * PIECE, true);
	result(c.id, 0, "{}", NULL, 0, false);
	expect_response(1, "{}");
}

Test(calls, per_request_and_in_flight_limits)
{
	struct call_frame c;

	sbx_load_ok(MODULE,
	    "var __worker = { default: { fetch: function (req) {\n"
	    "  var i, msg = 'none';\n"
	    "  if (req.url.indexOf('/one') !== -1)\n"
	    "    return __calls.call('KV', 'get', { key: 'x' }).then(function () {\n"
	    "      return new Response('one'); });\n"
	    "  try {\n"
	    "    for (i = 0; i < 1001; i++)\n"
	    "      __calls.call('KV', 'get', { key: 'k' + i }).then(null, function () {});\n"
	    "  } catch (e) { msg = i + ' ' + e.message; }\n"
	    "  return new Response(msg);\n"
	    "} } };\n",
	    NULL);
	fetch_expect(1, "/many", "1000 Too many API requests by single Worker invocation.");
	/* 64 calls went out, the rest waited; the request's end cancelled those 64. */
	for (uint64_t id = 1; id <= 64; id++) {
		char want[32];

		c = expect_call();
		snprintf(want, sizeof(want), "{\"key\":\"k%llu\"}", (unsigned long long)id - 1);
		cr_assert_eq(c.id, id);
		cr_assert_str_eq(c.args, want);
	}
	for (uint64_t id = 1; id <= 64; id++)
		expect_cancel(id);
	/* None of the waiting calls of the ended request ever starts. */
	request(2, "/one");
	c = expect_call();
	cr_assert_eq(c.id, 65);
	cr_assert_str_eq(c.args, "{\"key\":\"x\"}");
	result(c.id, 0, "{}", NULL, 0, false);
	expect_response(2, "one");
}
