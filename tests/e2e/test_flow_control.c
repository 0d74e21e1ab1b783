/*
 * End to end: bodies are windowed between the supervisor and the sandbox
 * (common/ipc.h, IPC_BODY_WINDOW).  A Worker streaming a large response to
 * a client that does not read is held back instead of filling the
 * supervisor's memory; a request body larger than the window reaches a
 * script that reads it, and one the script ignores does not wedge anything.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define MIB (1024L * 1024L)
#define STREAM_MIB 64

static struct edged *e;

static void
setup(void)
{
	/* Moving 64 MiB through a stream costs CPU per chunk; these tests check behaviour. */
	e = edged_start("cpu_ms = 10000\nwall_ms = 120000\n");
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(flow_control, .init = setup, .fini = teardown, .timeout = 240);

/* 64 MiB in 64 KiB chunks, produced only when the stream is pulled; logs its progress. */
#define PRODUCER                                                                                   \
	"var CHUNK = new Uint8Array(65536);"                                                       \
	"var __worker = { default: { fetch: function () {"                                         \
	"  var sent = 0;"                                                                          \
	"  return new Response(new ReadableStream({ pull: function (c) {"                          \
	"    if (sent === 64 * 1048576) { console.log('produced all'); c.close(); return; }"       \
	"    c.enqueue(CHUNK); sent += CHUNK.length;"                                              \
	"    if (sent % (16 * 1048576) === 0) console.log('produced ' + (sent >> 20) + ' MiB');"   \
	"  } }, { highWaterMark: 0 }));"                                                           \
	"} } };"

/* A connection with a small receive buffer, so little hides in the kernel. */
static int
small_window_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 30 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), size = 64 * 1024;

	cr_assert_geq(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Reads until `want` bytes in all or EOF; returns the total. */
static long
read_at_least(int fd, long have, long want)
{
	char buf[65536];

	while (have < want) {
		ssize_t n = read(fd, buf, sizeof(buf));

		cr_assert_geq(n, 0, "read failed after %ld bytes", have);
		if (n == 0)
			break;
		have += n;
	}
	return have;
}

Test(flow_control, a_client_that_does_not_read_holds_the_stream_back)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: flow.test\r\n\r\n";
	long before, during, got;
	int fd;

	deploy(e, "flow", "producer", "flow.test", PRODUCER, NULL);
	before = proc_vm_rss_kib(e->pid);
	fd = small_window_connect(e->public_port);
	cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	got = read_at_least(fd, 0, 256 * 1024);
	/*
	 * The client stops reading.  With the windows, the producer stalls after
	 * a few MiB (kernel buffers + the window); without them it would run to
	 * the end and the supervisor would hold the rest.
	 */
	cr_expect_not(edged_log_wait(e, "produced 32 MiB", 3000),
	    "the Worker ran ahead of a client that reads nothing");
	during = proc_vm_rss_kib(e->pid);
	cr_expect_lt(during - before, 24 * 1024, "the supervisor grew by %ld KiB while stalled",
	    during - before);
	/* Now the client reads everything: the producer resumes and finishes. */
	got = read_at_least(fd, got, STREAM_MIB * MIB + 4096);
	close(fd);
	cr_expect_geq(got, STREAM_MIB * MIB, "only %ld bytes arrived", got);
	cr_expect(edged_log_wait(e, "produced all", 30000));
}

Test(flow_control, a_body_larger_than_the_window_reaches_a_reading_script)
{
	size_t len = 24 * MIB;
	char *body = malloc(len);
	struct response r;

	cr_assert_not_null(body);
	memset(body, 'b', len);
	deploy(e, "flow", "counter", "count.test",
	    "var __worker = { default: { fetch: function (req) {"
	    "  var reader = req.body.getReader(), n = 0;"
	    "  function next() { return reader.read().then(function (r) {"
	    "    if (r.done) return new Response(String(n));"
	    "    n += r.value.length; return next(); }); }"
	    "  return next();"
	    "} } };",
	    NULL);
	r = http_do(
	    "POST", e->public_addr, "/", "count.test", NULL, "application/octet-stream", body, len);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(r.body, "25165824");
	response_free(&r);

	/* A script that ignores a large body answers, and the next request is served. */
	deploy(e, "flow", "ignorer", "ignore.test",
	    "var __worker = { default: { fetch: function () { return new Response('ignored'); } } "
	    "};",
	    NULL);
	r = http_do("POST", e->public_addr, "/", "ignore.test", NULL, "application/octet-stream",
	    body, 8 * MIB);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(r.body, "ignored");
	response_free(&r);
	r = http_do("GET", e->public_addr, "/", "ignore.test", NULL, NULL, NULL, 0);
	cr_expect_str_eq(r.body, "ignored");
	response_free(&r);
	free(body);
}
