/*
 * http_parse: the glue between libhttp-parser and the front's requests --
 * collecting the request line and headers within the limits, checking the
 * framing rules, and the request accessors the owner uses.  Supervisor.
 */
#include "supervisor/http_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "common/log.h"

#define HTTP_HOST_MAX 255

static atomic_uint_fast64_t http_next_id = 1;

struct http_request *
http_request_new(struct http_conn *c)
{
	struct http_request *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->conn = c;
	req->id = atomic_fetch_add(&http_next_id, 1);
	req->method = "";
	buf_init(&req->raw);
	return req;
}

void
http_request_free(struct http_request *req)
{
	if (req == NULL)
		return;
	buf_release(&req->raw);
	free(req->offs);
	free(req->headers);
	free(req);
}

void
http_request_maybe_continue(struct http_request *req)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!req->expect_continue || req->continue_sent || req->resp_started || !req->has_body ||
	    req->body_paused || !req->owned || req->body_done || req->conn == NULL)
		return;
	req->continue_sent = true;
	bufferevent_write(req->conn->bev, cont, sizeof(cont) - 1);
}

/* --- parser callbacks ---------------------------------------------------- */

static int
http_parse_fail(struct http_conn *c, int status)
{
	c->error_status = status;
	return -1;
}

static int
http_parse_on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	if (c->req != NULL)
		return http_parse_fail(c, 400);
	if ((c->req = http_request_new(c)) == NULL)
		return http_parse_fail(c, 503);
	http_conn_set_phase(c, HTTP_PHASE_HEADERS);
	return 0;
}

static int
http_parse_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	size_t line;

	if (req == NULL)
		return http_parse_fail(c, 400);
	/* method SP target SP HTTP/x.y */
	line = strlen(http_method_str(p->method)) + 10 + req->target_len;
	if (len > c->srv->limits.request_line_max || line + len > c->srv->limits.request_line_max)
		return http_parse_fail(c, 414);
	if (buf_append(&req->raw, at, len) == -1)
		return http_parse_fail(c, 503);
	req->target_len += len;
	req->last_cb = HTTP_LAST_URL;
	return 0;
}

/* Trailers after a chunked body: counted against the header budget, dropped. */
static int
http_parse_trailer(struct http_conn *c, size_t len)
{
	struct http_request *req = c->req;

	if (req == NULL || !req->owned)
		return -1;
	req->trailer_bytes += len;
	if (req->trailer_bytes > c->srv->limits.header_bytes_max)
		return http_parse_fail(c, 431);
	return 0;
}

static int
http_parse_add_bytes(struct http_conn *c, const char *at, size_t len)
{
	struct http_request *req = c->req;

	if (len > c->srv->limits.header_bytes_max ||
	    req->header_bytes + len > c->srv->limits.header_bytes_max)
		return http_parse_fail(c, 431);
	req->header_bytes += len;
	if (buf_append(&req->raw, at, len) == -1)
		return http_parse_fail(c, 503);
	return 0;
}

static int
http_parse_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	struct http_header_off *v;
	size_t cap;

	if (req != NULL && req->owned)
		return http_parse_trailer(c, len);
	if (req == NULL)
		return http_parse_fail(c, 400);
	if (req->last_cb != HTTP_LAST_FIELD) {
		if (req->noffs >= c->srv->limits.header_count_max)
			return http_parse_fail(c, 431);
		if (req->noffs == req->offs_cap) {
			cap = req->offs_cap ? req->offs_cap * 2 : 16;
			if ((v = reallocarray(req->offs, cap, sizeof(*v))) == NULL)
				return http_parse_fail(c, 503);
			req->offs = v;
			req->offs_cap = cap;
		}
		/* Terminates the target or the previous value. */
		if (buf_append(&req->raw, "", 1) == -1)
			return http_parse_fail(c, 503);
		req->offs[req->noffs].name = req->raw.len;
		req->offs[req->noffs].value = SIZE_MAX;
		req->noffs++;
		req->last_cb = HTTP_LAST_FIELD;
		/* ": " and CRLF */
		if (req->header_bytes + 4 > c->srv->limits.header_bytes_max)
			return http_parse_fail(c, 431);
		req->header_bytes += 4;
	}
	return http_parse_add_bytes(c, at, len);
}

static int
http_parse_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;

	if (req != NULL && req->owned)
		return http_parse_trailer(c, len);
	if (req == NULL || req->noffs == 0)
		return http_parse_fail(c, 400);
	if (req->last_cb != HTTP_LAST_VALUE) {
		if (buf_append(&req->raw, "", 1) == -1)
			return http_parse_fail(c, 503);
		req->offs[req->noffs - 1].value = req->raw.len;
		req->last_cb = HTTP_LAST_VALUE;
	}
	return http_parse_add_bytes(c, at, len);
}

static bool
http_is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	return true;
}

static bool
http_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Host without port, lower-cased, into out; -1 when it is not a valid authority. */
static int
http_parse_host(const char *v, size_t len, char *out, size_t outlen)
{
	static const char ok[] = "-._~%!$&'()*+,;=";
	size_t i, hlen;

	if (len > 0 && v[0] == '[') {
		for (hlen = 1; hlen < len && v[hlen] != ']'; hlen++)
			if (!(strchr("0123456789abcdefABCDEF:.", v[hlen]) != NULL &&
				v[hlen] != '\0'))
				return -1;
		if (hlen == len)
			return -1;
		hlen++;
	} else {
		for (hlen = 0; hlen < len && v[hlen] != ':'; hlen++)
			if (!((v[hlen] >= 'a' && v[hlen] <= 'z') ||
				(v[hlen] >= 'A' && v[hlen] <= 'Z') ||
				(v[hlen] >= '0' && v[hlen] <= '9') ||
				(v[hlen] != '\0' && strchr(ok, v[hlen]) != NULL)))
				return -1;
	}
	if (hlen < len) {
		if (v[hlen] != ':')
			return -1;
		for (i = hlen + 1; i < len; i++)
			if (v[i] < '0' || v[i] > '9')
				return -1;
		if (len - hlen - 1 > 5)
			return -1;
	}
	if (hlen >= outlen)
		return -1;
	for (i = 0; i < hlen; i++)
		out[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] - 'A' + 'a') : v[i];
	out[hlen] = '\0';
	return 0;
}

/* The host of an absolute-form target, lower-cased, into out (HTTP_HOST_MAX + 3). */
static int
http_parse_url_host(const char *h, size_t hlen, char *out, size_t outlen)
{
	char tmp[HTTP_HOST_MAX + 3];

	if (hlen == 0 || hlen > HTTP_HOST_MAX)
		return -1;
	if (memchr(h, ':', hlen) == NULL)
		return http_parse_host(h, hlen, out, outlen);
	/* The parser strips IPv6 brackets; they are put back. */
	tmp[0] = '[';
	memcpy(tmp + 1, h, hlen);
	tmp[hlen + 1] = ']';
	return http_parse_host(tmp, hlen + 2, out, outlen);
}

/*
 * Derives path and host from the target (origin, absolute or asterisk form)
 * and the Host header, appending both to raw.  Returns 0 or an HTTP status.
 */
static int
http_parse_target(struct http_request *req, const http_parser *p, const char *hosthdr)
{
	char host[HTTP_HOST_MAX + 3];
	struct http_parser_url u;
	const char *t, *path = "/";
	size_t poff = 0, plen = 1;
	bool in_raw = false;
	uint16_t f;

	t = (const char *)req->raw.data;
	host[0] = '\0';
	if (hosthdr != NULL && http_parse_host(hosthdr, strlen(hosthdr), host, sizeof(host)) == -1)
		return 400;
	if (req->target_len > 0 && t[0] == '/') {
		in_raw = true;
		plen = strcspn(t, "?#");
	} else if (req->target_len == 1 && t[0] == '*' && p->method == HTTP_OPTIONS) {
		path = "*";
	} else {
		/* absolute-form: the host in the target wins over Host (RFC 7230 5.4) */
		http_parser_url_init(&u);
		if (req->target_len > UINT16_MAX ||
		    http_parser_parse_url(t, req->target_len, 0, &u) != 0)
			return 400;
		f = u.field_set;
		if (!(f & (1 << UF_SCHEMA)) || !(f & (1 << UF_HOST)) || (f & (1 << UF_USERINFO)))
			return 400;
		if (!((u.field_data[UF_SCHEMA].len == 4 &&
			  strncasecmp(t + u.field_data[UF_SCHEMA].off, "http", 4) == 0) ||
			(u.field_data[UF_SCHEMA].len == 5 &&
			    strncasecmp(t + u.field_data[UF_SCHEMA].off, "https", 5) == 0)))
			return 400;
		if (http_parse_url_host(t + u.field_data[UF_HOST].off, u.field_data[UF_HOST].len,
			host, sizeof(host)) == -1)
			return 400;
		if (f & (1 << UF_PATH)) {
			in_raw = true;
			poff = u.field_data[UF_PATH].off;
			plen = u.field_data[UF_PATH].len;
		}
	}
	/* path and host follow the headers in raw; pointers are taken afterwards */
	if (buf_reserve(&req->raw, plen + 1 + strlen(host) + 1) == -1)
		return 503;
	if (in_raw)
		path = (const char *)req->raw.data + poff;
	req->path_off = req->raw.len;
	buf_append(&req->raw, path, plen);
	buf_append(&req->raw, "", 1);
	req->host_off = req->raw.len;
	buf_append(&req->raw, host, strlen(host) + 1);
	return 0;
}

/* Trims header values in place; -1 when a value holds CR, LF or NUL. */
static int
http_parse_trim_values(struct http_request *req)
{
	char *raw = (char *)req->raw.data, *v, *end;
	size_t i, len;

	for (i = 0; i < req->noffs; i++) {
		if (req->offs[i].value == SIZE_MAX)
			continue;
		v = raw + req->offs[i].value;
		len = strlen(v);
		/* A NUL inside the value shows as a shorter string; compare. */
		end = i + 1 < req->noffs ? raw + req->offs[i + 1].name - 1 : raw + req->raw.len - 1;
		if (v + len != end)
			return -1;
		if (strpbrk(v, "\r\n") != NULL)
			return -1;
		while (http_is_space(*v)) {
			v++;
			req->offs[i].value++;
		}
		len = strlen(v);
		while (len > 0 && http_is_space(v[len - 1]))
			v[--len] = '\0';
	}
	return 0;
}

/* Checks the complete header block; 0, or the HTTP status to answer. */
static int
http_parse_finish_headers(struct http_conn *c, struct http_request *req, const http_parser *p)
{
	const char *name, *value, *host = NULL, *te = NULL, *expect = NULL;
	size_t i, nhost = 0, nte = 0, ncl = 0;
	char *raw;
	int status;

	req->http_major = p->http_major;
	req->http_minor = p->http_minor;
	req->method = http_method_str(p->method);
	req->is_head = p->method == HTTP_HEAD;
	if (p->http_major != 1 || p->http_minor > 1)
		return 505;
	if (p->method == HTTP_CONNECT)
		return 405;
	if (buf_append(&req->raw, "", 1) == -1)
		return 503;
	if (http_parse_trim_values(req) == -1)
		return 400;
	raw = (char *)req->raw.data;
	for (i = 0; i < req->noffs; i++) {
		name = raw + req->offs[i].name;
		/* the parser lets spaces into names; RFC 7230 wants a token */
		if (!http_is_token(name))
			return 400;
		value = req->offs[i].value == SIZE_MAX ? "" : raw + req->offs[i].value;
		if (strcasecmp(name, "host") == 0) {
			nhost++;
			host = value;
		} else if (strcasecmp(name, "transfer-encoding") == 0) {
			nte++;
			te = value;
		} else if (strcasecmp(name, "content-length") == 0)
			ncl++;
		else if (strcasecmp(name, "expect") == 0)
			expect = value;
	}
	if (nhost > 1 || (nhost == 0 && p->http_minor == 1))
		return 400;
	if (nte > 0 && (nte > 1 || ncl > 0 || strcasecmp(te, "chunked") != 0 || p->http_minor == 0))
		return 400;
	if (ncl > 1)
		return 400;
	req->chunked = (p->flags & F_CHUNKED) != 0;
	if (nte > 0 && !req->chunked)
		return 400;
	if (ncl == 1 && !(p->flags & F_CONTENTLENGTH))
		return 400;
	if (ncl == 1 && p->content_length > c->srv->limits.body_max)
		return 413;
	req->has_body = req->chunked || (ncl == 1 && p->content_length > 0);
	if (expect != NULL) {
		if (strcasecmp(expect, "100-continue") != 0)
			return 417;
		req->expect_continue = p->http_minor >= 1;
	}
	req->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	if ((status = http_parse_target(req, p, host)) != 0)
		return status;

	/* raw does not grow any more: the owner's view points into it */
	raw = (char *)req->raw.data;
	if (req->noffs > 0 && (req->headers = calloc(req->noffs, sizeof(*req->headers))) == NULL)
		return 503;
	for (i = 0; i < req->noffs; i++) {
		req->headers[i].name = raw + req->offs[i].name;
		req->headers[i].value =
		    req->offs[i].value == SIZE_MAX ? "" : raw + req->offs[i].value;
	}
	req->nheaders = req->noffs;
	return 0;
}

static int
http_parse_on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	int status;

	if (req == NULL)
		return http_parse_fail(c, 400);
	if ((status = http_parse_finish_headers(c, req, p)) != 0) {
		log_debug("http: request %llu from %s refused with %d", (unsigned long long)req->id,
		    c->peer, status);
		return http_parse_fail(c, status);
	}
	/* The owner is called from the parse loop, outside the parser. */
	c->ev_headers = true;
	c->lf_pending = true;
	http_parser_pause(p, 1);
	return 0;
}

bool
http_parse_chunk_end(struct http_conn *c, const char *end)
{
	size_t avail = (size_t)(c->exec_base + c->exec_len - end);

	if (avail >= 2)
		return end[0] == '\r' && end[1] == '\n';
	if (avail == 1) {
		c->crlf_due = 1;
		return end[0] == '\r';
	}
	c->crlf_due = 2;
	return true;
}

bool
http_parse_crlf_due(struct http_conn *c, const char *buf, size_t len)
{
	static const char crlf[] = "\r\n";
	const char *want = crlf + 2 - c->crlf_due;
	size_t n = c->crlf_due < len ? c->crlf_due : len;

	if (memcmp(buf, want, n) != 0)
		return false;
	c->crlf_due -= (unsigned)n;
	return true;
}

static int
http_parse_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	struct http_server *srv = c->srv;

	if (req == NULL || !req->owned)
		return -1;
	/* The last piece of a chunk's data: its CRLF must follow (no smuggling). */
	if ((p->flags & F_CHUNKED) && p->content_length == 0 && !http_parse_chunk_end(c, at + len))
		return http_parse_fail(c, 400);
	req->body_received += len;
	if (req->body_received > srv->limits.body_max)
		return http_parse_fail(c, 413);
	if (srv->cb.on_body != NULL && len > 0)
		srv->cb.on_body(req, at, len, srv->arg);
	/* The owner may have answered, so req may be gone. */
	if (c->req != req || c->want_free || c->phase == HTTP_PHASE_CLOSING)
		return -1;
	if (req->body_paused)
		http_parser_pause(p, 1);
	return 0;
}

static int
http_parse_on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;

	/* A request without a body whose response already ended. */
	if (req == NULL)
		return 0;
	if (!req->owned)
		return http_parse_fail(c, 400);
	req->body_done = true;
	c->ev_message = true;
	http_parser_pause(p, 1);
	return 0;
}

const http_parser_settings http_parse_settings = {
	.on_message_begin = http_parse_on_message_begin,
	.on_url = http_parse_on_url,
	.on_header_field = http_parse_on_header_field,
	.on_header_value = http_parse_on_header_value,
	.on_headers_complete = http_parse_on_headers_complete,
	.on_body = http_parse_on_body,
	.on_message_complete = http_parse_on_message_complete,
};

/* --- accessors ------------------------------------------------------------- */

const char *
http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_request_target(const struct http_request *req)
{
	return req->raw.data == NULL ? "" : (const char *)req->raw.data;
}

const char *
http_request_path(const struct http_request *req)
{
	return req->path_off == 0 ? "" : (const char *)req->raw.data + req->path_off;
}

const char *
http_request_host(const struct http_request *req)
{
	return req->host_off == 0 ? "" : (const char *)req->raw.data + req->host_off;
}

size_t
http_request_header_count(const struct http_request *req)
{
	return req->nheaders;
}

const struct http_header *
http_request_header_at(const struct http_request *req, size_t i)
{
	return i < req->nheaders ? &req->headers[i] : NULL;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

bool
http_request_has_body(const struct http_request *req)
{
	return req->has_body;
}

const char *
http_request_peer(const struct http_request *req)
{
	return req->conn == NULL ? "" : req->conn->peer;
}

uint64_t
http_request_id(const struct http_request *req)
{
	return req->id;
}

void
http_request_set_data(struct http_request *req, void *data)
{
	req->data = data;
}

void *
http_request_data(const struct http_request *req)
{
	return req->data;
}

void
http_request_pause_body(struct http_request *req)
{
	if (req->body_paused || !req->owned || req->body_done)
		return;
	req->body_paused = true;
	if (req->conn != NULL)
		http_conn_body_flow(req->conn);
}

void
http_request_resume_body(struct http_request *req)
{
	if (!req->body_paused)
		return;
	req->body_paused = false;
	if (req->conn != NULL && req->owned)
		http_conn_body_flow(req->conn);
}
