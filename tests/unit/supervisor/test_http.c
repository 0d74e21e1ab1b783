/*
 * test_http: the HTTP/1.1 front, end to end over loopback -- a real
 * http_server runs its own event_base on a helper thread with a tiny owner,
 * and the test speaks raw HTTP through blocking sockets (SO_RCVTIMEO bounds).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/buf.h"
#include "supervisor/http.h"
#include "supervisor/http_internal.h"
#include "tests/support.h"

#define CLIENT_TIMEOUT_S 5

/* --- the server under test ---------------------------------------------------- */

struct fixture {
	struct event_base *base;
	struct http_server *srv;
	struct event *stop_ev;
	pthread_t thread;
	int stop_fds[2];   /* test -> loop: stop */
	int notify_fds[2]; /* loop -> test: 'R' request held, 'A' aborted */
	uint16_t port;
	atomic_int aborts;
	atomic_int requests;
	atomic_int body_ends;
	int fds_at_start;
	int clients_open;
};

static struct fixture fx;

static void
notify(char ch)
{
	(void)write(fx.notify_fds[0], &ch, 1);
}

struct owner_req {
	struct buf body;
	const char *mode;
	struct http_request *req;
	size_t big_sent;
};

static struct owner_req *
owner_of(struct http_request *req)
{
	return http_request_data(req);
}

static void
owner_done(struct http_request *req)
{
	struct owner_req *o = owner_of(req);

	buf_release(&o->body);
	free(o);
	http_request_set_data(req, NULL);
}

static void
answer_hello(struct http_request *req)
{
	owner_done(req);
	http_response_simple(req, 200, NULL, "hello");
}

static void
answer_echo(struct http_request *req)
{
	struct owner_req *o = owner_of(req);
	struct http_header h = { "Content-Type", "application/octet-stream" };

	http_response_start(req, 200, &h, 1, (int64_t)o->body.len);
	http_response_body(req, o->body.data, o->body.len);
	owner_done(req);
	http_response_end(req);
}

static void
answer_chunked(struct http_request *req)
{
	owner_done(req);
	http_response_start(req, 200, NULL, 0, -1);
	http_response_body(req, "hel", 3);
	http_response_body(req, "", 0);
	http_response_body(req, "lo", 2);
	http_response_end(req);
}

static void
answer_info(struct http_request *req)
{
	char text[1024];

	snprintf(text, sizeof(text), "method=%s host=%s path=%s target=%s peer=%s",
	    http_request_method(req), http_request_host(req), http_request_path(req),
	    http_request_target(req), http_request_peer(req));
	owner_done(req);
	http_response_simple(req, 200, NULL, text);
}

static void
answer_stats(struct http_request *req)
{
	char text[256];

	snprintf(text, sizeof(text), "active=%zu conns=%zu aborts=%d",
	    http_server_active_requests(fx.srv), http_server_connections(fx.srv),
	    atomic_load(&fx.aborts));
	owner_done(req);
	http_response_simple(req, 200, NULL, text);
}

static void
answer_headers(struct http_request *req)
{
	const struct http_header bad_value[] = { { "X-A", "a\r\nX-Injected: 1" } };
	const struct http_header bad_name[] = { { "X A", "1" } };
	const struct http_header bad_nul[] = { { "X-A", "a\nb" } };
	const struct http_header hop[] = {
		{ "Connection", "upgrade" },
		{ "Transfer-Encoding", "gzip" },
		{ "Content-Length", "99" },
		{ "Keep-Alive", "timeout=1" },
		{ "X-Ok", "yes" },
		{ "Date", "yesterday" },
		{ "Upgrade", "h2c" },
	};
	char text[64];
	int r1, r2, r3;

	r1 = http_response_start(req, 200, bad_value, 1, 2);
	r2 = http_response_start(req, 200, bad_name, 1, 2);
	r3 = http_response_start(req, 200, bad_nul, 1, 2);
	snprintf(text, sizeof(text), "%d %d %d", r1, r2, r3);
	owner_done(req);
	http_response_start(req, 200, hop, sizeof(hop) / sizeof(hop[0]), (int64_t)strlen(text));
	http_response_body(req, text, strlen(text));
	http_response_end(req);
}

static void
deferred_answer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	answer_echo(arg);
}

static void
big_write(struct http_request *req, void *arg)
{
	struct owner_req *o = owner_of(req);
	char chunk[16384];
	size_t i, n;

	(void)arg;
	/* Writes while the queue is short, then waits for it to drain. */
	while (o->big_sent < 1024 * 1024 && http_response_pending(req) < 128 * 1024) {
		n = sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = (char)('a' + (o->big_sent + i) % 26);
		http_response_body(req, chunk, n);
		o->big_sent += n;
	}
	if (o->big_sent < 1024 * 1024) {
		http_response_on_drain(req, 32 * 1024, big_write, NULL);
		return;
	}
	owner_done(req);
	http_response_end(req);
}

static void
resume_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_request_resume_body(arg);
}

/* After a detach the test owns the raw connection: an echo until EOF. */
static void
raw_echo(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void
raw_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void
owner_detach(struct http_request *req)
{
	struct bufferevent *bev;

	owner_done(req);
	bev = http_conn_detach(req);
	cr_assert_not_null(bev);
	raw_echo(bev, NULL);
	bufferevent_setcb(bev, raw_echo, NULL, raw_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
owner_on_request(struct http_request *req, void *arg)
{
	struct owner_req *o;
	const char *mode = http_request_header(req, "x-mode");

	(void)arg;
	atomic_fetch_add(&fx.requests, 1);
	o = calloc(1, sizeof(*o));
	cr_assert_not_null(o);
	buf_init(&o->body);
	o->mode = mode != NULL ? mode : "hello";
	o->req = req;
	http_request_set_data(req, o);
	if (strcmp(o->mode, "early") == 0) {
		answer_hello(req);
		return;
	}
	if (strcmp(o->mode, "hold") == 0)
		notify('R');
	if (strcmp(o->mode, "drain") == 0) {
		http_server_stop_accepting(fx.srv);
		http_server_close_idle(fx.srv);
	}
	if (strcmp(o->mode, "detach") == 0) {
		owner_detach(req);
		return;
	}
	if (strcmp(o->mode, "pausing") == 0) {
		struct timeval tv = { 0, 0 };

		http_request_pause_body(req);
		event_base_once(fx.base, -1, EV_TIMEOUT, resume_later, req, &tv);
	}
}

static void
owner_on_body(struct http_request *req, const void *data, size_t len, void *arg)
{
	struct owner_req *o = owner_of(req);
	struct timeval tv = { 0, 0 };

	(void)arg;
	buf_append(&o->body, data, len);
	if (strcmp(o->mode, "pausing") == 0) {
		http_request_pause_body(req);
		event_base_once(fx.base, -1, EV_TIMEOUT, resume_later, req, &tv);
	}
}

static void
owner_on_body_end(struct http_request *req, void *arg)
{
	struct owner_req *o = owner_of(req);
	struct timeval tv = { 0, 1000 };

	(void)arg;
	atomic_fetch_add(&fx.body_ends, 1);
	if (strcmp(o->mode, "hold") == 0)
		return;
	if (strcmp(o->mode, "echo") == 0 || strcmp(o->mode, "pausing") == 0)
		answer_echo(req);
	else if (strcmp(o->mode, "chunked") == 0)
		answer_chunked(req);
	else if (strcmp(o->mode, "info") == 0)
		answer_info(req);
	else if (strcmp(o->mode, "stats") == 0)
		answer_stats(req);
	else if (strcmp(o->mode, "headers") == 0)
		answer_headers(req);
	else if (strcmp(o->mode, "defer") == 0)
		event_base_once(fx.base, -1, EV_TIMEOUT, deferred_answer, req, &tv);
	else if (strcmp(o->mode, "big") == 0) {
		http_response_start(req, 200, NULL, 0, -1);
		big_write(req, NULL);
	} else
		answer_hello(req);
}

static void
owner_on_abort(struct http_request *req, void *arg)
{
	(void)arg;
	if (owner_of(req) != NULL)
		owner_done(req);
	atomic_fetch_add(&fx.aborts, 1);
	notify('A');
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	http_server_free(fx.srv);
	fx.srv = NULL;
	event_base_loopbreak(fx.base);
}

static void *
loop_main(void *arg)
{
	(void)arg;
	event_base_dispatch(fx.base);
	return NULL;
}

static void
test_limits(struct http_limits *l)
{
	http_limits_default(l);
	l->request_line_max = 1024;
	l->header_count_max = 20;
	l->header_bytes_max = 4096;
	l->body_max = 1024 * 1024;
	l->header_timeout_ms = 10000;
	l->idle_timeout_ms = 10000;
	l->body_timeout_ms = 10000;
	l->max_connections = 64;
}

static void
start_server(const struct http_limits *limits)
{
	static const struct http_server_callbacks cb = {
		.on_request = owner_on_request,
		.on_body = owner_on_body,
		.on_body_end = owner_on_body_end,
		.on_abort = owner_on_abort,
	};
	struct http_limits l;
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };
	char actual[64];
	const char *colon;
	int fd;

	if (limits == NULL) {
		test_limits(&l);
		limits = &l;
	}
	fx.fds_at_start = support_count_fds();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.stop_fds), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.notify_fds), 0);
	setsockopt(fx.notify_fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_not_null(fx.base = event_base_new());
	cr_assert_not_null(fx.srv = http_server_new(fx.base, limits, &cb, NULL));
	fd = http_listen_socket("127.0.0.1:0", actual, sizeof(actual));
	cr_assert_geq(fd, 0, "listen: %s", strerror(errno));
	cr_assert_eq(strncmp(actual, "127.0.0.1:", 10), 0, "actual '%s'", actual);
	colon = strrchr(actual, ':');
	fx.port = (uint16_t)atoi(colon + 1);
	cr_assert_neq(fx.port, 0);
	cr_assert_eq(http_server_listen(fx.srv, fd), 0);
	fx.stop_ev = event_new(fx.base, fx.stop_fds[1], EV_READ, stop_cb, NULL);
	cr_assert_not_null(fx.stop_ev);
	event_add(fx.stop_ev, NULL);
	cr_assert_eq(pthread_create(&fx.thread, NULL, loop_main, NULL), 0);
}

static void
stop_server(void)
{
	cr_assert_eq(write(fx.stop_fds[0], "x", 1), 1);
	pthread_join(fx.thread, NULL);
	event_free(fx.stop_ev);
	event_base_free(fx.base);
	close(fx.stop_fds[0]);
	close(fx.stop_fds[1]);
	close(fx.notify_fds[0]);
	close(fx.notify_fds[1]);
	/* the server closed every socket it had */
	cr_expect_eq(support_count_fds(), fx.fds_at_start + fx.clients_open, "descriptors leaked");
}

/* Waits for the owner to report `ch`. */
static void
wait_notify(char ch)
{
	char got = 0;

	cr_assert_eq(read(fx.notify_fds[1], &got, 1), 1, "owner did not report '%c'", ch);
	cr_assert_eq(got, ch);
}

/* --- a minimal client ---------------------------------------------------------- */

struct client {
	int fd;
	char buf[65536];
	size_t off, len;
};

struct response {
	int status;
	char lines[64][1024];
	size_t nlines;
	char *body;
	size_t body_len;
};

static struct client *
client_open(void)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_in sin;
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };

	cr_assert_not_null(c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c->fd, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(fx.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fx.clients_open++;
	return c;
}

static void
client_close(struct client *c)
{
	close(c->fd);
	free(c);
	fx.clients_open--;
}

static void
client_send_n(struct client *c, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return; /* the server may have closed already; the reply tells */
		p += n;
		len -= (size_t)n;
	}
}

static void
client_send(struct client *c, const char *s)
{
	client_send_n(c, s, strlen(s));
}

/* Next byte, or -1 on EOF, reset or timeout. */
static int
client_getc(struct client *c)
{
	ssize_t n;

	if (c->off == c->len) {
		n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n <= 0)
			return -1;
		c->off = 0;
		c->len = (size_t)n;
	}
	return (unsigned char)c->buf[c->off++];
}

static bool
client_line(struct client *c, char *line, size_t max)
{
	size_t n = 0;
	int ch;

	while ((ch = client_getc(c)) != -1) {
		if (ch == '\n') {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			return true;
		}
		if (n + 1 < max)
			line[n++] = (char)ch;
	}
	return false;
}

static bool
client_read_n(struct client *c, char *out, size_t n)
{
	size_t i;
	int ch;

	for (i = 0; i < n; i++) {
		if ((ch = client_getc(c)) == -1)
			return false;
		out[i] = (char)ch;
	}
	return true;
}

static const char *
resp_header(const struct response *r, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < r->nlines; i++)
		if (strncasecmp(r->lines[i], name, len) == 0 && r->lines[i][len] == ':')
			return r->lines[i] + len + 2;
	return NULL;
}

static void
resp_free(struct response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Reads one response; `head` for answers to HEAD (no body whatever the headers say). */
static bool
read_response(struct client *c, struct response *r, bool head)
{
	char line[1024];
	const char *cl, *te;
	size_t len, cap = 0;
	int ch;

	memset(r, 0, sizeof(*r));
	if (!client_line(c, line, sizeof(line)) || sscanf(line, "HTTP/1.1 %d", &r->status) != 1)
		return false;
	for (;;) {
		if (!client_line(c, line, sizeof(line)))
			return false;
		if (line[0] == '\0')
			break;
		if (r->nlines < 64)
			snprintf(r->lines[r->nlines++], sizeof(r->lines[0]), "%s", line);
	}
	r->body = calloc(1, 1);
	if (head || r->status == 100 || r->status == 204 || r->status == 304)
		return true;
	cl = resp_header(r, "content-length");
	te = resp_header(r, "transfer-encoding");
	if (cl != NULL) {
		r->body_len = strtoul(cl, NULL, 10);
		r->body = realloc(r->body, r->body_len + 1);
		if (!client_read_n(c, r->body, r->body_len))
			return false;
		r->body[r->body_len] = '\0';
	} else if (te != NULL && strcmp(te, "chunked") == 0) {
		for (;;) {
			if (!client_line(c, line, sizeof(line)))
				return false;
			len = strtoul(line, NULL, 16);
			if (len == 0)
				break;
			if (r->body_len + len + 1 > cap) {
				cap = (r->body_len + len + 1) * 2;
				r->body = realloc(r->body, cap);
			}
			if (!client_read_n(c, r->body + r->body_len, len))
				return false;
			r->body_len += len;
			r->body[r->body_len] = '\0';
			if (!client_line(c, line, sizeof(line)) || line[0] != '\0')
				return false;
		}
		if (!client_line(c, line, sizeof(line)) || line[0] != '\0')
			return false;
	} else {
		while ((ch = client_getc(c)) != -1) {
			if (r->body_len + 2 > cap) {
				cap = cap ? cap * 2 : 256;
				r->body = realloc(r->body, cap);
			}
			r->body[r->body_len++] = (char)ch;
			r->body[r->body_len] = '\0';
		}
	}
	return true;
}

/* The server closed: EOF (or a reset) rather than a timeout or more bytes. */
static bool
client_sees_close(struct client *c)
{
	ssize_t n;
	char ch;

	if (c->off < c->len)
		return false;
	n = recv(c->fd, &ch, 1, 0);
	return n == 0 || (n == -1 && errno == ECONNRESET);
}

/* One request on a new connection, expecting "hello". */
static void
expect_alive(void)
{
	struct client *c = client_open();
	struct response r;

	client_send(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert(read_response(c, &r, false), "server no longer answers");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
}

/* Sends `req` on a new connection; expects `status`, Connection: close and a close. */
static void
expect_error(const char *req, size_t len, int status)
{
	struct client *c = client_open();
	struct response r;
	const char *conn;

	client_send_n(c, req, len == SIZE_MAX ? strlen(req) : len);
	cr_assert(read_response(c, &r, false), "no answer, expected %d", status);
	cr_expect_eq(r.status, status, "got %d, expected %d for '%.60s'", r.status, status, req);
	conn = resp_header(&r, "connection");
	cr_expect(conn != NULL && strcmp(conn, "close") == 0);
	cr_expect(client_sees_close(c), "connection left open after %d", status);
	resp_free(&r);
	client_close(c);
	expect_alive();
}

static struct response
roundtrip(struct client *c, const char *req, bool head)
{
	struct response r;

	client_send(c, req);
	cr_assert(read_response(c, &r, head), "no response to '%.40s'", req);
	return r;
}

/* --- tests ------------------------------------------------------------------- */

TestSuite(http, .init = NULL, .fini = NULL, .timeout = 60);

Test(http, simple_get)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c, "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello");
	cr_expect_str_eq(resp_header(&r, "content-length"), "5");
	cr_expect_str_eq(resp_header(&r, "connection"), "keep-alive");
	cr_expect_str_eq(resp_header(&r, "content-type"), "text/plain; charset=utf-8");
	cr_expect_not_null(resp_header(&r, "date"));
	cr_expect(strstr(resp_header(&r, "date"), " GMT") != NULL);
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, keep_alive_two_requests)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	r = roundtrip(c, "GET /2 HTTP/1.1\r\nHost: a\r\nX-Mode: info\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "path=/2 ") != NULL, "body '%s'", r.body);
	resp_free(&r);
	/* an explicit close is honoured */
	r = roundtrip(c, "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false);
	cr_expect_str_eq(resp_header(&r, "connection"), "close");
	cr_expect(client_sees_close(c));
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, http10_keep_alive)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	/* HTTP/1.0 needs no Host */
	r = roundtrip(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(resp_header(&r, "connection"), "keep-alive");
	resp_free(&r);
	r = roundtrip(c, "GET / HTTP/1.0\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello");
	cr_expect_str_eq(resp_header(&r, "connection"), "close");
	cr_expect(client_sees_close(c));
	resp_free(&r);
	client_close(c);
	/* unknown length to an HTTP/1.0 client: delimited by the close */
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.0\r\nX-Mode: chunked\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect_null(resp_header(&r, "transfer-encoding"));
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, pipelined_in_order)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	/* the first answer is deferred: a server that did not serialise would answer 2 first */
	client_send(c,
	    "POST /1 HTTP/1.1\r\nHost: a\r\nX-Mode: defer\r\nContent-Length: 3\r\n\r\none"
	    "GET /2 HTTP/1.1\r\nHost: a\r\nX-Mode: info\r\n\r\n"
	    "POST /3 HTTP/1.1\r\nHost: a\r\nX-Mode: echo\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nthree\r\n0\r\n\r\n"
	    "HEAD /4 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /5 HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert(read_response(c, &r, false));
	cr_expect_str_eq(r.body, "one");
	resp_free(&r);
	cr_assert(read_response(c, &r, false));
	cr_expect(strstr(r.body, "path=/2 ") != NULL, "body '%s'", r.body);
	resp_free(&r);
	cr_assert(read_response(c, &r, false));
	cr_expect_str_eq(r.body, "three");
	resp_free(&r);
	cr_assert(read_response(c, &r, true));
	cr_expect_eq(r.status, 200);
	resp_free(&r);
	cr_assert(read_response(c, &r, false));
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, chunked_request_echoed)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c,
	    "POST /e HTTP/1.1\r\nHost: a\r\nX-Mode: echo\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
	    false);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello world");
	resp_free(&r);
	/* and a Content-Length body on the same connection */
	r = roundtrip(c,
	    "PUT /e HTTP/1.1\r\nHost: a\r\nX-Mode: echo\r\nContent-Length: 4\r\n\r\nabcd", false);
	cr_expect_str_eq(r.body, "abcd");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, chunked_response)
{
	struct client *c;
	struct response r;
	char raw[512];
	size_t n = 0;
	int ch;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: chunked\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(resp_header(&r, "transfer-encoding"), "chunked");
	cr_expect_null(resp_header(&r, "content-length"));
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	/* the exact framing on the wire */
	client_send(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: chunked\r\nConnection: close\r\n\r\n");
	while ((ch = client_getc(c)) != -1 && n + 1 < sizeof(raw))
		raw[n++] = (char)ch;
	raw[n] = '\0';
	cr_expect(strstr(raw, "\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n") != NULL, "wire: %s", raw);
	client_close(c);
	stop_server();
}

Test(http, head_has_no_body)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", true);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(resp_header(&r, "content-length"), "5");
	resp_free(&r);
	/* no stray body bytes: the next response starts right away */
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: info\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_expect(strncmp(r.body, "method=GET ", 11) == 0, "body '%s'", r.body);
	resp_free(&r);
	/* HEAD of an unknown length: neither framing header */
	r = roundtrip(c, "HEAD / HTTP/1.1\r\nHost: a\r\nX-Mode: chunked\r\n\r\n", true);
	cr_expect_null(resp_header(&r, "transfer-encoding"));
	cr_expect_null(resp_header(&r, "content-length"));
	resp_free(&r);
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, expect_100_continue)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	client_send(c,
	    "POST / HTTP/1.1\r\nHost: a\r\nX-Mode: echo\r\nExpect: 100-continue\r\n"
	    "Content-Length: 5\r\n\r\n");
	cr_assert(read_response(c, &r, false));
	cr_expect_eq(r.status, 100);
	resp_free(&r);
	client_send(c, "hello");
	cr_assert(read_response(c, &r, false));
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
	/* other expectations are refused */
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n",
	    SIZE_MAX, 417);
	stop_server();
}

Test(http, limits_414_431)
{
	char req[8192], *p;
	struct client *c;
	struct response r;
	int i;

	start_server(NULL);
	/* request line over 1024 */
	p = req + sprintf(req, "GET /");
	memset(p, 'a', 1100);
	p += 1100;
	sprintf(p, " HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_error(req, strlen(req), 414);
	/* a request line just under the limit passes */
	p = req + sprintf(req, "GET /");
	memset(p, 'a', 900);
	p += 900;
	sprintf(p, " HTTP/1.1\r\nHost: a\r\n\r\n");
	c = client_open();
	r = roundtrip(c, req, false);
	cr_expect_eq(r.status, 200);
	resp_free(&r);
	client_close(c);
	/* 21 headers, the limit is 20 */
	p = req + sprintf(req, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 20; i++)
		p += sprintf(p, "X-H%d: v\r\n", i);
	sprintf(p, "\r\n");
	expect_error(req, strlen(req), 431);
	/* one header of 5000 bytes, the limit is 4096 */
	p = req + sprintf(req, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(p, 'b', 5000);
	p += 5000;
	sprintf(p, "\r\n\r\n");
	expect_error(req, strlen(req), 431);
	stop_server();
}

Test(http, limits_413)
{
	struct http_limits l;
	char req[4096], *p;
	int i;

	test_limits(&l);
	l.body_max = 1000;
	start_server(&l);
	/* declared: refused before any body byte */
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", SIZE_MAX, 413);
	/* streamed: 5 chunks of 300 */
	p = req +
	    sprintf(req,
		"POST / HTTP/1.1\r\nHost: a\r\nX-Mode: echo\r\n"
		"Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 5; i++) {
		p += sprintf(p, "12c\r\n");
		memset(p, 'x', 300);
		p += 300;
		p += sprintf(p, "\r\n");
	}
	sprintf(p, "0\r\n\r\n");
	expect_error(req, strlen(req), 413);
	stop_server();
}

Test(http, framing_errors_400)
{
	start_server(NULL);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    SIZE_MAX, 400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
		     "hello!",
	    SIZE_MAX, 400);
	expect_error(
	    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", SIZE_MAX, 400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
		     "0\r\n\r\n",
	    SIZE_MAX, 400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    SIZE_MAX, 400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", SIZE_MAX, 400);
	stop_server();
}

Test(http, garbage_and_missing_host_400)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n";

	start_server(NULL);
	expect_error("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", SIZE_MAX, 400);
	expect_error("GET / HTTP/1.1\r\n\r\n", SIZE_MAX, 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", SIZE_MAX, 400);
	expect_error("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", SIZE_MAX, 400);
	expect_error("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", SIZE_MAX, 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", SIZE_MAX, 400);
	expect_error(nul, sizeof(nul) - 1, 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n", SIZE_MAX, 400);
	expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", SIZE_MAX, 505);
	expect_error("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", SIZE_MAX, 405);
	stop_server();
}

Test(http, host_and_path)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c,
	    "GET /a/b?q=1 HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nX-Mode: info\r\n\r\n", false);
	cr_expect_str_eq(r.body,
	    "method=GET host=www.example.com path=/a/b target=/a/b?q=1 "
	    "peer=127.0.0.1");
	resp_free(&r);
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\nX-Mode: info\r\n\r\n", false);
	cr_expect(strstr(r.body, "host=[::1] path=/ ") != NULL, "body '%s'", r.body);
	resp_free(&r);
	/* absolute-form: the target's host wins */
	r = roundtrip(c,
	    "GET http://Other.Example:81/x/y?z HTTP/1.1\r\nHost: ignored\r\n"
	    "X-Mode: info\r\n\r\n",
	    false);
	cr_expect(strstr(r.body,
		      "host=other.example path=/x/y target=http://Other.Example:81/x/y?z") != NULL,
	    "body '%s'", r.body);
	resp_free(&r);
	r = roundtrip(
	    c, "GET http://h.example HTTP/1.1\r\nHost: h.example\r\nX-Mode: info\r\n\r\n", false);
	cr_expect(strstr(r.body, "host=h.example path=/ ") != NULL, "body '%s'", r.body);
	resp_free(&r);
	r = roundtrip(c, "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Mode: info\r\n\r\n", false);
	cr_expect(strstr(r.body, "method=OPTIONS host=a path=* ") != NULL, "body '%s'", r.body);
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, response_headers_checked)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: headers\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	/* the three bad starts were refused */
	cr_expect_str_eq(r.body, "-1 -1 -1");
	cr_expect_str_eq(resp_header(&r, "x-ok"), "yes");
	cr_expect_null(resp_header(&r, "x-injected"));
	cr_expect_null(resp_header(&r, "transfer-encoding"));
	cr_expect_null(resp_header(&r, "keep-alive"));
	cr_expect_null(resp_header(&r, "upgrade"));
	cr_expect_str_eq(resp_header(&r, "connection"), "keep-alive");
	cr_expect_str_eq(resp_header(&r, "content-length"), "8");
	cr_expect_neq(strcmp(resp_header(&r, "date"), "yesterday"), 0);
	resp_free(&r);
	/* the connection is still in step */
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, answer_in_on_request)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	/* without a body the connection stays usable */
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: early\r\n\r\n", false);
	cr_expect_str_eq(r.body, "hello");
	cr_expect_str_eq(resp_header(&r, "connection"), "keep-alive");
	resp_free(&r);
	/* with an unread body it closes after the answer */
	r = roundtrip(
	    c, "POST / HTTP/1.1\r\nHost: a\r\nX-Mode: early\r\nContent-Length: 10\r\n\r\n", false);
	cr_expect_str_eq(r.body, "hello");
	cr_expect_str_eq(resp_header(&r, "connection"), "close");
	cr_expect(client_sees_close(c));
	resp_free(&r);
	client_close(c);
	expect_alive();
	stop_server();
}

Test(http, upgrade_passed_through)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c,
	    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "X-Mode: info\r\n\r\n",
	    false);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "path=/ws ") != NULL, "body '%s'", r.body);
	cr_expect_str_eq(resp_header(&r, "connection"), "close");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, detach_for_protocol_switch)
{
	struct client *c;
	struct response r;
	char got[9] = "";

	start_server(NULL);
	c = client_open();
	/* bytes after the head stay with the connection, not the HTTP front */
	client_send(c,
	    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "X-Mode: detach\r\n\r\nping");
	cr_assert(client_read_n(c, got, 4));
	cr_expect_str_eq(got, "ping");
	client_send(c, "pong");
	cr_assert(client_read_n(c, got, 4));
	cr_expect_str_eq(got, "pong");
	client_close(c);
	/* the server let go of it: nothing active, and it still serves */
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: stats\r\n\r\n", false);
	cr_expect_str_eq(r.body, "active=1 conns=1 aborts=0");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, graceful_drain)
{
	struct client *idle, *c;
	struct response r;
	struct sockaddr_in sin;
	int fd;

	start_server(NULL);
	idle = client_open();
	r = roundtrip(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	resp_free(&r);
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: drain\r\n\r\n", false);
	/* the request in flight is answered, then its connection closes */
	cr_expect_str_eq(r.body, "hello");
	cr_expect_str_eq(resp_header(&r, "connection"), "close");
	cr_expect(client_sees_close(c));
	resp_free(&r);
	/* the idle keep-alive connection was closed */
	cr_expect(client_sees_close(idle));
	client_close(idle);
	client_close(c);
	/* and nobody is accepted any more */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(fx.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_expect_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), -1);
	cr_expect_eq(errno, ECONNREFUSED);
	close(fd);
	stop_server();
}

Test(http, client_abort_mid_body)
{
	struct client *c;
	struct response r;

	start_server(NULL);
	c = client_open();
	client_send(c,
	    "POST / HTTP/1.1\r\nHost: a\r\nX-Mode: hold\r\nContent-Length: 100\r\n\r\n"
	    "0123456789");
	wait_notify('R');
	client_close(c);
	wait_notify('A');
	/* once only, and nothing left active but the stats request itself */
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: stats\r\n\r\n", false);
	cr_expect_str_eq(r.body, "active=1 conns=1 aborts=1");
	resp_free(&r);
	client_close(c);
	stop_server();
	cr_expect_eq(atomic_load(&fx.aborts), 1);
	/* only the stats request reached the end of its body */
	cr_expect_eq(atomic_load(&fx.body_ends), 1);
}

Test(http, abort_while_waiting_for_response)
{
	struct client *c;

	start_server(NULL);
	c = client_open();
	client_send(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: hold\r\n\r\n");
	wait_notify('R');
	client_close(c);
	wait_notify('A');
	stop_server();
	cr_expect_eq(atomic_load(&fx.aborts), 1);
}

Test(http, server_free_aborts_held_requests)
{
	struct client *c;

	start_server(NULL);
	c = client_open();
	client_send(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: hold\r\n\r\n");
	wait_notify('R');
	stop_server();
	cr_expect_eq(atomic_load(&fx.aborts), 1);
	cr_expect(client_sees_close(c));
	client_close(c);
}

Test(http, header_timeout_408)
{
	struct http_limits l;
	struct client *c;
	struct response r;

	test_limits(&l);
	l.header_timeout_ms = 200;
	start_server(&l);
	c = client_open();
	client_send(c, "GET / HTTP/1.1\r\nHost: a\r\n");
	/* a blocking read: the server's answer arrives when its timer fires */
	cr_assert(read_response(c, &r, false));
	cr_expect_eq(r.status, 408);
	cr_expect_str_eq(resp_header(&r, "connection"), "close");
	cr_expect(client_sees_close(c));
	resp_free(&r);
	client_close(c);
	expect_alive();
	stop_server();
}

Test(http, body_timeout_408_and_abort)
{
	struct http_limits l;
	struct client *c;
	struct response r;

	test_limits(&l);
	l.body_timeout_ms = 200;
	start_server(&l);
	c = client_open();
	client_send(
	    c, "POST / HTTP/1.1\r\nHost: a\r\nX-Mode: hold\r\nContent-Length: 10\r\n\r\nab");
	cr_assert(read_response(c, &r, false));
	cr_expect_eq(r.status, 408);
	cr_expect(client_sees_close(c));
	resp_free(&r);
	client_close(c);
	wait_notify('R');
	wait_notify('A');
	stop_server();
	cr_expect_eq(atomic_load(&fx.aborts), 1);
}

Test(http, idle_timeout_closes_silently)
{
	struct http_limits l;
	struct client *c;
	struct response r;

	test_limits(&l);
	l.idle_timeout_ms = 200;
	start_server(&l);
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	resp_free(&r);
	cr_expect(client_sees_close(c));
	client_close(c);
	stop_server();
}

Test(http, max_connections)
{
	struct http_limits l;
	struct client *a, *b, *c;
	struct response r;

	test_limits(&l);
	l.max_connections = 2;
	start_server(&l);
	a = client_open();
	b = client_open();
	/* both answered, so both are accepted */
	r = roundtrip(a, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	resp_free(&r);
	r = roundtrip(b, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	resp_free(&r);
	c = client_open();
	cr_expect(client_sees_close(c), "a third connection was kept");
	client_close(c);
	r = roundtrip(a, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(a);
	client_close(b);
	stop_server();
}

Test(http, pause_resume_body)
{
	struct client *c;
	struct response r;
	char *body, head[256];
	size_t i, n = 300 * 1024;

	start_server(NULL);
	body = malloc(n);
	cr_assert_not_null(body);
	for (i = 0; i < n; i++)
		body[i] = (char)('A' + i % 23);
	c = client_open();
	snprintf(head, sizeof(head),
	    "POST / HTTP/1.1\r\nHost: a\r\nX-Mode: pausing\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    n);
	client_send(c, head);
	client_send_n(c, body, n);
	cr_assert(read_response(c, &r, false));
	cr_expect_eq(r.status, 200);
	cr_assert_eq(r.body_len, n);
	cr_expect_eq(memcmp(r.body, body, n), 0);
	resp_free(&r);
	free(body);
	client_close(c);
	stop_server();
}

Test(http, big_response_with_drain)
{
	struct client *c;
	struct response r;
	size_t i;
	bool same = true;

	start_server(NULL);
	c = client_open();
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Mode: big\r\n\r\n", false);
	cr_expect_eq(r.status, 200);
	cr_assert_eq(r.body_len, 1024 * 1024);
	for (i = 0; i < r.body_len; i++)
		if (r.body[i] != (char)('a' + i % 26))
			same = false;
	cr_expect(same);
	resp_free(&r);
	r = roundtrip(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
	cr_expect_str_eq(r.body, "hello");
	resp_free(&r);
	client_close(c);
	stop_server();
}

Test(http, listen_socket_addresses)
{
	char actual[64];
	int fd;

	fd = http_listen_socket("127.0.0.1:0", actual, sizeof(actual));
	cr_assert_geq(fd, 0);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_expect_neq(strcmp(actual, "127.0.0.1:0"), 0);
	close(fd);
	fd = http_listen_socket("[::1]:0", actual, sizeof(actual));
	if (fd >= 0) {
		cr_expect_eq(strncmp(actual, "[::1]:", 6), 0, "actual '%s'", actual);
		close(fd);
	}
	cr_expect_eq(http_listen_socket("127.0.0.1", NULL, 0), -1);
	cr_expect_eq(http_listen_socket("localhost:80", NULL, 0), -1);
	cr_expect_eq(http_listen_socket("127.0.0.1:65536", NULL, 0), -1);
	cr_expect_eq(http_listen_socket("127.0.0.1:-1", NULL, 0), -1);
	cr_expect_eq(http_listen_socket("[::1:80", NULL, 0), -1);
	cr_expect_eq(http_listen_socket(":80", NULL, 0), -1);
}

Test(http, status_reasons)
{
	cr_expect_str_eq(http_status_reason(200), "OK");
	cr_expect_str_eq(http_status_reason(404), "Not Found");
	cr_expect_str_eq(http_status_reason(431), "Request Header Fields Too Large");
	cr_expect_str_eq(http_status_reason(799), "Unknown");
}
