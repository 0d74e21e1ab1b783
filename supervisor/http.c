/*
 * http: the supervisor's HTTP/1.1 front -- client connections, their
 * timeouts, and the parse loop that hands requests to the owner.  Listeners
 * are in http_server.c, parsing in http_parse.c, responses in http_response.c.
 */
#include "supervisor/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"

static void http_conn_close(struct http_conn *c);
static void http_conn_process(struct http_conn *c);

/* --- timers and phases ----------------------------------------------------- */

static void
http_conn_arm(struct http_conn *c, unsigned ms)
{
	struct timeval tv;

	event_del(c->timer);
	if (ms == 0)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

void
http_conn_set_phase(struct http_conn *c, enum http_phase phase)
{
	const struct http_limits *l = &c->srv->limits;

	c->phase = phase;
	switch (phase) {
	case HTTP_PHASE_IDLE:
		http_conn_arm(c, l->idle_timeout_ms);
		break;
	case HTTP_PHASE_HEADERS:
		http_conn_arm(c, l->header_timeout_ms);
		break;
	case HTTP_PHASE_BODY:
		http_conn_arm(c, c->req != NULL && c->req->body_paused ? 0 : l->body_timeout_ms);
		break;
	case HTTP_PHASE_WAIT:
	case HTTP_PHASE_CLOSING:
		/* The owner's wall clock, resp. the write timeout, bound these. */
		http_conn_arm(c, 0);
		break;
	case HTTP_PHASE_LINGER:
		http_conn_arm(c, HTTP_LINGER_MS);
		break;
	}
}

size_t
http_conn_output_len(const struct http_conn *c)
{
	return c->bev == NULL ? 0 : evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* --- the request held by a connection ------------------------------------- */

/* Drops the connection's request; the owner hears on_abort if it held it. */
static void
http_conn_abort_request(struct http_conn *c)
{
	struct http_request *req = c->req;
	struct http_server *srv = c->srv;

	if (req == NULL)
		return;
	if (req->owned) {
		req->owned = false;
		srv->active--;
		req->aborting = true;
		if (srv->cb.on_abort != NULL)
			srv->cb.on_abort(req, srv->arg);
	}
	c->req = NULL;
	http_request_free(req);
}

/*
 * Ends the connection because of `status` (0: close silently).  A request
 * the owner holds is aborted; the error answer goes out only when no
 * response bytes were sent for it.
 */
static void
http_conn_fail(struct http_conn *c, int status)
{
	bool head = false, started = false;

	if (c->req != NULL) {
		head = c->req->is_head;
		started = c->req->resp_started;
		http_conn_abort_request(c);
	}
	if (status == 0 || started || c->phase == HTTP_PHASE_CLOSING ||
	    c->phase == HTTP_PHASE_LINGER || c->read_eof) {
		http_conn_close(c);
		return;
	}
	log_debug("http: answering %d to %s", status, c->peer);
	if (http_response_error(c, status, head) == -1) {
		http_conn_close(c);
		return;
	}
	http_conn_set_phase(c, HTTP_PHASE_CLOSING);
}

/* Answers on_abort, closes the socket and frees; deferred inside the parse loop. */
static void
http_conn_close(struct http_conn *c)
{
	if (c->in_process) {
		c->want_free = true;
		return;
	}
	http_conn_free(c);
}

void
http_response_abort(struct http_request *req)
{
	struct http_conn *c;

	if (!http_request_is_answerable(req))
		return;
	c = req->conn;
	/* The owner gives the request up itself: no on_abort for it. */
	req->owned = false;
	c->srv->active--;
	c->req = NULL;
	http_request_free(req);
	/*
	 * What was queued still goes out, then the connection closes without
	 * the chunked terminator (or short of the Content-Length): the client
	 * sees a truncated body, never a complete-looking one.
	 */
	http_conn_response_done(c, true);
}

void
http_conn_free(struct http_conn *c)
{
	struct http_server *srv = c->srv;

	http_conn_abort_request(c);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	event_free(c->timer);
	event_free(c->resume);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

/* All output is flushed after the last response: shut writing, drain reads. */
static void
http_conn_linger(struct http_conn *c)
{
	int fd;

	fd = c->bev == NULL ? -1 : bufferevent_getfd(c->bev);
	if (c->read_eof || fd < 0) {
		http_conn_close(c);
		return;
	}
	/*
	 * Closing with unread input makes the kernel send a reset, which may
	 * destroy the response before the client read it; so half-close and
	 * discard what still comes, for a bounded time and amount.
	 */
	if (shutdown(fd, SHUT_WR) == -1) {
		http_conn_close(c);
		return;
	}
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	http_conn_set_phase(c, HTTP_PHASE_LINGER);
}

static void
http_conn_discard_input(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);

	evbuffer_drain(in, n);
	c->linger_bytes += n;
	if (c->linger_bytes > HTTP_LINGER_BYTES)
		http_conn_close(c);
}

static void
http_conn_check_drain(struct http_conn *c)
{
	struct http_request *req = c->req;
	void (*cb)(struct http_request *, void *);

	if (req == NULL || req->on_drain == NULL || req->aborting)
		return;
	if (http_conn_output_len(c) > req->drain_low)
		return;
	cb = req->on_drain;
	req->on_drain = NULL;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	cb(req, req->drain_arg);
}

/* Whatever may have become possible: flush-then-close, drain, parsing. */
static void
http_conn_kick(struct http_conn *c)
{
	if (c->phase == HTTP_PHASE_CLOSING && http_conn_output_len(c) == 0) {
		http_conn_linger(c);
		return;
	}
	http_conn_check_drain(c);
	http_conn_process(c);
}

void
http_conn_schedule(struct http_conn *c)
{
	event_active(c->resume, EV_TIMEOUT, 0);
}

void
http_conn_response_done(struct http_conn *c, bool close_after)
{
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (close_after || c->read_eof) {
		http_conn_set_phase(c, HTTP_PHASE_CLOSING);
		bufferevent_enable(c->bev, EV_READ);
	} else
		http_conn_set_phase(c, HTTP_PHASE_IDLE);
	http_conn_schedule(c);
}

void
http_conn_body_flow(struct http_conn *c)
{
	if (c->phase == HTTP_PHASE_BODY)
		http_conn_set_phase(c, HTTP_PHASE_BODY);
	if (c->req != NULL && !c->req->body_paused) {
		http_request_maybe_continue(c->req);
		http_conn_schedule(c);
	}
}

/* --- the parse loop ---------------------------------------------------------- */

static bool
http_conn_can_parse(const struct http_conn *c)
{
	if (c->stop_parsing || c->want_free)
		return false;
	if (c->phase == HTTP_PHASE_CLOSING || c->phase == HTTP_PHASE_LINGER)
		return false;
	if (c->req == NULL || !c->req->owned)
		return true;
	return !c->req->body_done && !c->req->body_paused;
}

/* Headers are complete and valid: the owner takes the request. */
static void
http_conn_start_request(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	struct http_request *req = c->req;

	req->owned = true;
	srv->active++;
	c->head_lf = false;
	http_conn_set_phase(c, req->has_body ? HTTP_PHASE_BODY : HTTP_PHASE_WAIT);
	if (srv->cb.on_request != NULL)
		srv->cb.on_request(req, srv->arg);
	/* The owner may have answered (and so freed req) already. */
	if (c->req != req || c->want_free)
		return;
	http_request_maybe_continue(req);
}

static void
http_conn_end_body(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	struct http_request *req = c->req;

	if (req == NULL || !req->owned)
		return;
	if (c->phase == HTTP_PHASE_BODY)
		http_conn_set_phase(c, HTTP_PHASE_WAIT);
	if (c->parser.upgrade)
		c->stop_parsing = true;
	if (srv->cb.on_body_end != NULL)
		srv->cb.on_body_end(req, srv->arg);
}

static int
http_conn_errno_status(const struct http_conn *c, enum http_errno err)
{
	switch (err) {
	case HPE_HEADER_OVERFLOW:
		/* Still on the request line when no header began. */
		return c->req != NULL && c->req->last_cb == HTTP_LAST_URL ? 414 : 431;
	default:
		return 400;
	}
}

/*
 * Looks for a header line that starts with whitespace in bytes the parser
 * consumed for a request head; the last byte carries over between calls.
 */
static bool
http_conn_has_fold(struct http_conn *c, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c->head_lf && (b[i] == ' ' || b[i] == '\t'))
			return true;
		c->head_lf = b[i] == '\n';
	}
	return false;
}

static void
http_conn_process(struct http_conn *c)
{
	struct evbuffer *in;
	struct evbuffer_iovec v;
	enum http_errno err;
	bool in_head;
	size_t n;

	if (c->in_process || c->bev == NULL)
		return;
	c->in_process = true;
	in = bufferevent_get_input(c->bev);
	while (http_conn_can_parse(c)) {
		/*
		 * Parse what arrived as one piece (bounded by the input high water):
		 * each piece of body becomes one on_body call, and each of those
		 * travels on to the sandbox as one message.
		 */
		if (evbuffer_pullup(in,
			(ev_ssize_t)(evbuffer_get_length(in) < HTTP_INPUT_HIGH_WATER
				? evbuffer_get_length(in)
				: HTTP_INPUT_HIGH_WATER)) == NULL ||
		    evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		c->error_status = 0;
		c->lf_pending = false;
		in_head = c->req == NULL || !c->req->owned;
		if (c->crlf_due > 0 && !http_parse_crlf_due(c, v.iov_base, v.iov_len)) {
			http_conn_fail(c, 400);
			break;
		}
		c->exec_base = v.iov_base;
		c->exec_len = v.iov_len;
		n = http_parser_execute(&c->parser, &http_parse_settings, v.iov_base, v.iov_len);
		if (in_head && http_conn_has_fold(c, v.iov_base, n)) {
			/* obs-fold, which the parser would silently join (RFC 7230 3.2.4) */
			c->ev_headers = false;
			http_conn_fail(c, 400);
			break;
		}
		evbuffer_drain(in, n);
		err = HTTP_PARSER_ERRNO(&c->parser);
		if (err == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			if (c->ev_headers) {
				c->ev_headers = false;
				http_conn_start_request(c);
			} else if (c->ev_message) {
				c->ev_message = false;
				http_conn_end_body(c);
			}
			continue;
		}
		if (err != HPE_OK) {
			/* A callback stops the parser when the connection is closing. */
			if (c->want_free || c->phase == HTTP_PHASE_CLOSING)
				break;
			if (c->error_status == 0 && err <= HPE_CB_chunk_complete)
				http_conn_fail(c, 0);
			else
				http_conn_fail(c,
				    c->error_status != 0 ? c->error_status
							 : http_conn_errno_status(c, err));
			break;
		}
		if (c->parser.upgrade && c->req == NULL)
			c->stop_parsing = true;
	}
	if (!c->want_free && (c->phase == HTTP_PHASE_CLOSING || c->phase == HTTP_PHASE_LINGER))
		http_conn_discard_input(c);
	c->in_process = false;
	if (c->want_free)
		http_conn_free(c);
}

/* --- bufferevent and timer callbacks ------------------------------------------- */

static void
http_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->phase == HTTP_PHASE_BODY && c->req != NULL && !c->req->body_paused)
		http_conn_set_phase(c, HTTP_PHASE_BODY);
	http_conn_process(c);
}

static void
http_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->in_process) {
		http_conn_schedule(c);
		return;
	}
	http_conn_kick(c);
}

static void
http_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->in_process) {
		/* Only in-memory pairs call back synchronously; fail at once. */
		c->want_free = true;
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (c->req == NULL || !c->req->owned) && http_conn_output_len(c) > 0) {
		/* A half-close: still deliver what was answered, then close. */
		c->read_eof = true;
		if (c->req != NULL)
			http_conn_abort_request(c);
		http_conn_set_phase(c, HTTP_PHASE_CLOSING);
		return;
	}
	http_conn_free(c);
}

static void
http_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd;
	(void)what;
	switch (c->phase) {
	case HTTP_PHASE_IDLE:
		if (http_conn_output_len(c) > 0) {
			/* Still writing the last response; the write timeout guards it. */
			http_conn_set_phase(c, HTTP_PHASE_IDLE);
			return;
		}
		http_conn_close(c);
		break;
	case HTTP_PHASE_HEADERS:
	case HTTP_PHASE_BODY:
		log_debug("http: %s timed out reading the request", c->peer);
		http_conn_fail(c, 408);
		break;
	case HTTP_PHASE_LINGER:
		http_conn_close(c);
		break;
	case HTTP_PHASE_WAIT:
	case HTTP_PHASE_CLOSING:
		break;
	}
}

static void
http_conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_conn_kick(arg);
}

struct http_conn *
http_conn_adopt(struct http_server *srv, struct bufferevent *bev, const char *peer)
{
	struct http_conn *c;
	struct timeval tv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->srv = srv;
	c->bev = bev;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	if ((c->timer = evtimer_new(srv->base, http_conn_timer_cb, c)) == NULL)
		goto fail_conn;
	if ((c->resume = event_new(srv->base, -1, 0, http_conn_resume_cb, c)) == NULL)
		goto fail_timer;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	bufferevent_setcb(bev, http_conn_read_cb, http_conn_write_cb, http_conn_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, HTTP_INPUT_HIGH_WATER);
	/* Large reads, so a body reaches the owner in a few big pieces. */
	bufferevent_set_max_single_read(bev, HTTP_INPUT_HIGH_WATER);
	if (srv->limits.body_timeout_ms > 0) {
		/* A client that stops reading its response is dropped. */
		tv.tv_sec = srv->limits.body_timeout_ms / 1000;
		tv.tv_usec = (srv->limits.body_timeout_ms % 1000) * 1000;
		bufferevent_set_timeouts(bev, NULL, &tv);
	}
	if (bufferevent_enable(bev, EV_READ | EV_WRITE) == -1)
		goto fail_resume;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	http_conn_set_phase(c, HTTP_PHASE_IDLE);
	/*
	 * Before its first byte a client gets header_timeout_ms, not the
	 * keep-alive idle time: silent connections would otherwise hold
	 * max_connections slots for a minute (or forever with keep-alive off).
	 */
	http_conn_arm(c, srv->limits.header_timeout_ms);
	return c;

fail_resume:
	event_free(c->resume);
fail_timer:
	event_free(c->timer);
fail_conn:
	free(c);
fail:
	bufferevent_free(bev);
	return NULL;
}

struct bufferevent *
http_conn_detach(struct http_request *req)
{
	struct http_conn *c = req->conn;
	struct bufferevent *bev;

	if (c == NULL || req->resp_started || req->aborting || c->req != req)
		return NULL;
	bev = c->bev;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setwatermark(bev, EV_READ | EV_WRITE, 0, 0);
	if (c->lf_pending)
		evbuffer_drain(bufferevent_get_input(bev), 1);
	c->bev = NULL;
	if (req->owned) {
		req->owned = false;
		c->srv->active--;
	}
	c->req = NULL;
	http_request_free(req);
	http_conn_close(c);
	return bev;
}
