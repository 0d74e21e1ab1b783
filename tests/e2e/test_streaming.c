/*
 * End to end: bodies as streams.  A Response whose body is a ReadableStream
 * reaches the client chunk by chunk (HTTP chunked encoding) as the stream
 * produces; a request body is a stream fed as it arrives; an error in the
 * stream mid-response cuts the connection.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	/*
	 * A stream costs CPU per chunk: 1 MiB through a TransformStream (in
	 * pieces of up to 64 KiB) is close to the default 50 ms on a loaded
	 * machine.  These tests check behaviour, not cost.
	 */
	e = edged_start("cpu_ms = 500\nwall_ms = 30000\n");
	admin_create_tenant(e, "s");
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(streaming, .init = setup, .fini = teardown, .timeout = 120);

#define MODULE(body) "var __worker = { default: { fetch: " body " } };"

/* Ten chunks "chunk N\n", a timer between each: no chunk exists before the previous one left. */
static const char ten_chunks[] =
    MODULE("function (req) {"
	   "  var i = 0;"
	   "  var enc = new TextEncoder();"
	   "  return new Response(new ReadableStream({"
	   "    pull: function (c) {"
	   "      if (i === 10) { c.close(); return; }"
	   "      var n = i++;"
	   "      return (n === 0 ? Promise.resolve() : scheduler.wait(1)).then(function () {"
	   "        c.enqueue(enc.encode('chunk ' + n + '\\n'));"
	   "      });"
	   "    }"
	   "  }), { headers: { 'content-type': 'text/plain' } });"
	   "}");

/*
 * Decodes the chunked body that follows the head in `raw`: the payload into
 * out (malloc'd), the number of non-empty chunks into *chunks; returns whether
 * the terminating zero-size chunk was there.
 */
static bool
dechunk(const char *raw, char **out, int *chunks)
{
	const char *p = strstr(raw, "\r\n\r\n");
	size_t len = 0;
	bool complete = false;

	*out = calloc(1, strlen(raw) + 1);
	*chunks = 0;
	if (p == NULL)
		return false;
	p += 4;
	for (;;) {
		char *end;
		unsigned long n = strtoul(p, &end, 16);

		if (end == p || strncmp(end, "\r\n", 2) != 0)
			break;
		p = end + 2;
		if (n == 0) {
			complete = true;
			break;
		}
		if (strlen(p) < n + 2)
			break;
		memcpy(*out + len, p, n);
		len += n;
		(*chunks)++;
		p += n + 2;
	}
	return complete;
}

Test(streaming, a_stream_body_arrives_chunked_as_it_is_produced)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: ten.test\r\nConnection: close\r\n\r\n";
	char *raw, *body;
	int chunks;

	deploy(e, "s", "ten", "ten.test", ten_chunks, NULL);
	raw = raw_exchange(e->public_port, req, sizeof(req) - 1, 10000);
	cr_expect_eq(raw_status(raw), 200, "%s", raw);
	cr_expect(
	    strcasestr(raw, "\r\ntransfer-encoding: chunked\r\n") != NULL, "not chunked: %s", raw);
	cr_expect(strcasestr(raw, "\r\ncontent-length:") == NULL, "%s", raw);
	cr_expect(dechunk(raw, &body, &chunks), "no final chunk: %s", raw);
	cr_expect_str_eq(body,
	    "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n"
	    "chunk 5\nchunk 6\nchunk 7\nchunk 8\nchunk 9\n");
	/* One RESP_BODY per chunk of the stream: no buffering of the whole body. */
	cr_expect_geq(chunks, 2, "the body came in %d chunk(s)", chunks);
	free(body);
	free(raw);

	/* The same through libcurl, on a keep-alive connection. */
	struct response r = http_do("GET", e->public_addr, "/", "ten.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, 80);
	cr_expect(strncmp(r.body, "chunk 0\n", 8) == 0 && strstr(r.body, "chunk 9\n") != NULL);
	response_free(&r);
}

Test(streaming, a_1mib_post_echoed_through_a_transform_stream)
{
	size_t len = 1u << 20;
	char *data = malloc(len);
	struct response r;

	for (size_t i = 0; i < len; i++)
		data[i] = (char)((i * 7 + i / 1000) % 251);
	deploy(e, "s", "echo", "echo.test",
	    MODULE("function (req) {"
		   "  var copy = new TransformStream({"
		   "    transform: function (chunk, c) { c.enqueue(new Uint8Array(chunk)); }"
		   "  });"
		   "  return new Response(req.body.pipeThrough(copy));"
		   "}"),
	    NULL);
	r = http_do(
	    "POST", e->public_addr, "/", "echo.test", NULL, "application/octet-stream", data, len);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(r.body_len, len);
	cr_expect(r.body_len == len && memcmp(r.body, data, len) == 0, "the echo differs");
	response_free(&r);
	free(data);
}

Test(streaming, the_request_body_is_a_stream_of_byte_chunks)
{
	size_t len = 600u << 10;
	char *data = malloc(len);
	struct response r;

	memset(data, 'x', len);
	deploy(e, "s", "count", "count.test",
	    MODULE(
		"function (req) {"
		"  var reader = req.body.getReader(), total = 0, bytes = true;"
		"  function next() {"
		"    return reader.read().then(function (c) {"
		"      if (c.done) return new Response(bytes + ' ' + total + ' ' + req.bodyUsed);"
		"      bytes = bytes && c.value instanceof Uint8Array;"
		"      total += c.value.length;"
		"      return next();"
		"    });"
		"  }"
		"  return next();"
		"}"),
	    NULL);
	r = http_do("POST", e->public_addr, "/", "count.test", NULL, "text/plain", data, len);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "true 614400 true");
	response_free(&r);
	free(data);
}

Test(streaming, an_error_mid_stream_cuts_the_connection)
{
	static const char req[] =
	    "GET / HTTP/1.1\r\nHost: broken.test\r\nConnection: close\r\n\r\n";
	char *raw, *body;
	int chunks;
	struct response r;

	deploy(e, "s", "broken", "broken.test",
	    MODULE(
		"function (req) {"
		"  if (req.url.indexOf('/ok') !== -1) return new Response('fine');"
		"  if (req.url.indexOf('/early') !== -1)"
		"    return new Response(new ReadableStream({"
		"      pull: function (c) { throw new Error('no body at all'); }"
		"    }));"
		"  var n = 0;"
		"  return new Response(new ReadableStream({"
		"    pull: function (c) {"
		"      if (n++ === 0) { c.enqueue(new TextEncoder().encode('partial')); return; }"
		"      return scheduler.wait(1).then(function () { throw new Error('source "
		"failed'); });"
		"    }"
		"  }));"
		"}"),
	    NULL);
	raw = raw_exchange(e->public_port, req, sizeof(req) - 1, 10000);
	cr_expect_eq(raw_status(raw), 200, "%s", raw);
	cr_expect(!dechunk(raw, &body, &chunks), "the body must not look complete: %s", raw);
	cr_expect_str_eq(body, "partial");
	free(body);
	free(raw);
	cr_expect(edged_log_wait(e, "source failed", 5000), "the error is logged");

	/* Before any byte: an ordinary error response. */
	r = http_do("GET", e->public_addr, "/early", "broken.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 500);
	response_free(&r);

	/* The worker goes on serving. */
	r = http_do("GET", e->public_addr, "/ok", "broken.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "fine");
	response_free(&r);
}

Test(streaming, a_used_or_locked_body_cannot_be_returned)
{
	struct response r;

	deploy(e, "s", "locked", "locked.test",
	    MODULE("function (req) {"
		   "  var res = new Response('x');"
		   "  res.body.getReader();"
		   "  return res;"
		   "}"),
	    NULL);
	r = http_do("GET", e->public_addr, "/", "locked.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 500);
	response_free(&r);
}
