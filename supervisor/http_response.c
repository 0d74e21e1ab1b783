/*
 * http_response: writing responses on the front's connections -- status
 * line, the framing headers the front owns, chunked bodies, back-pressure,
 * and the front's own error answers.  Supervisor.
 */
#include "supervisor/http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

/* Headers the front writes itself or that describe this hop only. */
static const char *const http_hop_headers[] = {
	"connection",
	"keep-alive",
	"transfer-encoding",
	"content-length",
	"upgrade",
	"te",
	"trailer",
	"proxy-connection",
	"date",
};

const char *
http_status_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 203:
		return "Non-Authoritative Information";
	case 204:
		return "No Content";
	case 205:
		return "Reset Content";
	case 206:
		return "Partial Content";
	case 300:
		return "Multiple Choices";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Entity";
	case 425:
		return "Too Early";
	case 426:
		return "Upgrade Required";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 451:
		return "Unavailable For Legal Reasons";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

void
http_date_now(char *out, size_t len)
{
	/* Not strftime: %a and %b follow the locale. */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11) {
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
	    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* RFC 7230 tchar */
static bool
http_is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool
http_header_is_valid(const struct http_header *h)
{
	const unsigned char *s;

	if (h->name == NULL || h->value == NULL || h->name[0] == '\0')
		return false;
	for (s = (const unsigned char *)h->name; *s != '\0'; s++)
		if (!http_is_tchar(*s))
			return false;
	/* field-content: no control characters except HTAB */
	for (s = (const unsigned char *)h->value; *s != '\0'; s++)
		if ((*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static bool
http_header_is_hop(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(http_hop_headers) / sizeof(http_hop_headers[0]); i++)
		if (strcasecmp(name, http_hop_headers[i]) == 0)
			return true;
	return false;
}

bool
http_request_is_answerable(const struct http_request *req)
{
	return req != NULL && req->owned && !req->aborting && req->conn != NULL &&
	    req->conn->bev != NULL;
}

int
http_response_start(struct http_request *req, int status, const struct http_header *headers,
    size_t nheaders, int64_t content_length)
{
	struct http_conn *c;
	struct buf b;
	char date[64];
	size_t i;
	bool close;
	int rc = -1;

	if (!http_request_is_answerable(req) || req->resp_started || status < 200 || status > 599 ||
	    content_length < -1 || (nheaders > 0 && headers == NULL)) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nheaders; i++)
		if (!http_header_is_valid(&headers[i])) {
			errno = EINVAL;
			return -1;
		}
	c = req->conn;
	if (req->is_head || status == 204 || status == 304)
		req->resp_mode = HTTP_RESP_NONE;
	else if (content_length >= 0)
		req->resp_mode = HTTP_RESP_LENGTH;
	else if (req->http_minor >= 1)
		req->resp_mode = HTTP_RESP_CHUNKED;
	else
		req->resp_mode = HTTP_RESP_EOF;
	/* An unread request body cannot be skipped reliably: close after. */
	close = !req->keep_alive || c->srv->draining || (req->has_body && !req->body_done) ||
	    req->resp_mode == HTTP_RESP_EOF;

	buf_init(&b);
	http_date_now(date, sizeof(date));
	if (buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, http_status_reason(status)) == -1)
		goto done;
	for (i = 0; i < nheaders; i++) {
		if (http_header_is_hop(headers[i].name))
			continue;
		if (buf_printf(&b, "%s: %s\r\n", headers[i].name, headers[i].value) == -1)
			goto done;
	}
	if (buf_printf(&b, "Date: %s\r\n", date) == -1)
		goto done;
	if ((req->resp_mode == HTTP_RESP_LENGTH ||
		(req->resp_mode == HTTP_RESP_NONE && req->is_head && content_length >= 0)) &&
	    buf_printf(&b, "Content-Length: %" PRId64 "\r\n", content_length) == -1)
		goto done;
	if (req->resp_mode == HTTP_RESP_CHUNKED &&
	    buf_append_str(&b, "Transfer-Encoding: chunked\r\n") == -1)
		goto done;
	if (buf_printf(&b, "Connection: %s\r\n\r\n", close ? "close" : "keep-alive") == -1)
		goto done;
	if (bufferevent_write(c->bev, b.data, b.len) == -1)
		goto done;
	req->resp_started = true;
	req->resp_close = close;
	req->resp_remaining = content_length >= 0 ? (uint64_t)content_length : 0;
	rc = 0;
done:
	buf_release(&b);
	return rc;
}

int
http_response_body(struct http_request *req, const void *data, size_t len)
{
	struct evbuffer *out;
	char hdr[32];

	if (!http_request_is_answerable(req) || !req->resp_started || (len > 0 && data == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0 || req->resp_mode == HTTP_RESP_NONE)
		return 0;
	out = bufferevent_get_output(req->conn->bev);
	switch (req->resp_mode) {
	case HTTP_RESP_LENGTH:
		if (len > req->resp_remaining) {
			errno = EMSGSIZE;
			return -1;
		}
		req->resp_remaining -= len;
		return evbuffer_add(out, data, len);
	case HTTP_RESP_CHUNKED:
		snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
		if (evbuffer_add(out, hdr, strlen(hdr)) == -1 ||
		    evbuffer_add(out, data, len) == -1 || evbuffer_add(out, "\r\n", 2) == -1)
			return -1;
		return 0;
	case HTTP_RESP_EOF:
		return evbuffer_add(out, data, len);
	case HTTP_RESP_NONE:
		break;
	}
	return 0;
}

int
http_response_end(struct http_request *req)
{
	static const struct http_header none[1];
	struct http_conn *c;
	bool close;
	int rc = 0;

	if (!http_request_is_answerable(req)) {
		errno = EINVAL;
		return -1;
	}
	c = req->conn;
	if (!req->resp_started) {
		/* Ended without a response: the client still gets an answer. */
		rc = -1;
		if (http_response_start(req, 500, none, 0, 0) == -1) {
			req->resp_close = true;
			req->resp_mode = HTTP_RESP_NONE;
		}
	}
	if (req->resp_mode == HTTP_RESP_CHUNKED &&
	    evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5) == -1)
		req->resp_close = true;
	close = req->resp_close || req->resp_mode == HTTP_RESP_EOF;
	if (req->resp_mode == HTTP_RESP_LENGTH && req->resp_remaining > 0) {
		/* Fewer bytes than announced: only closing tells the client. */
		close = true;
		rc = -1;
	}
	req->owned = false;
	c->srv->active--;
	c->req = NULL;
	http_request_free(req);
	http_conn_response_done(c, close);
	return rc;
}

int
http_response_simple(
    struct http_request *req, int status, const char *content_type, const char *body)
{
	struct http_header h;
	size_t len = body == NULL ? 0 : strlen(body);
	int rc = 0;

	if (!http_request_is_answerable(req)) {
		errno = EINVAL;
		return -1;
	}
	h.name = "Content-Type";
	h.value = content_type != NULL ? content_type : "text/plain; charset=utf-8";
	if (http_response_start(req, status, &h, 1, (int64_t)len) == -1 ||
	    http_response_body(req, body, len) == -1)
		rc = -1;
	if (http_response_end(req) == -1)
		rc = -1;
	return rc;
}

size_t
http_response_pending(const struct http_request *req)
{
	if (req == NULL || req->conn == NULL || req->conn->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

void
http_response_on_drain(struct http_request *req, size_t low_water,
    void (*on_drain)(struct http_request *req, void *arg), void *arg)
{
	if (!http_request_is_answerable(req))
		return;
	req->on_drain = on_drain;
	req->drain_arg = arg;
	req->drain_low = low_water;
	if (on_drain == NULL) {
		bufferevent_setwatermark(req->conn->bev, EV_WRITE, 0, 0);
		return;
	}
	bufferevent_setwatermark(req->conn->bev, EV_WRITE, low_water, 0);
	/* Already low: no write will call back, so look again from the loop. */
	if (http_response_pending(req) <= low_water)
		http_conn_schedule(req->conn);
}

int
http_response_error(struct http_conn *c, int status, bool head)
{
	char date[64];
	struct buf b;
	int rc = -1;

	buf_init(&b);
	http_date_now(date, sizeof(date));
	if (buf_printf(&b,
		"HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: %zu\r\nConnection: close\r\n\r\n",
		status, http_status_reason(status), date,
		strlen(http_status_reason(status)) + 5) == -1)
		goto done;
	if (!head && buf_printf(&b, "%d %s\n", status, http_status_reason(status)) == -1)
		goto done;
	rc = bufferevent_write(c->bev, b.data, b.len);
done:
	buf_release(&b);
	return rc;
}
