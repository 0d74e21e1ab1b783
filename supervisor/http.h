/*
 * http: the supervisor's HTTP/1.1 front, on libevent bufferevents and
 * Debian's libhttp-parser.  It owns client connections end to end (so a later
 * WebSocket upgrade can take the connection over), enforces the size limits
 * and timeouts, and streams bodies in both directions.  The public listener
 * and the admin listener are two http_server instances with their own
 * callbacks.  Runs in the supervisor.
 */
#ifndef EDGED_HTTP_H
#define EDGED_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_server;
struct http_request;

struct http_limits {
	size_t request_line_max;    /* method + target + version; over -> 414 */
	size_t header_count_max;    /* over -> 431 */
	size_t header_bytes_max;    /* all header lines together; over -> 431 */
	uint64_t body_max;          /* declared or streamed; over -> 413 */
	unsigned header_timeout_ms; /* first byte .. end of headers; over -> 408 + close */
	unsigned idle_timeout_ms;   /* keep-alive idle between requests; over -> close */
	unsigned body_timeout_ms;   /* gap between body reads; over -> 408 + close */
	size_t max_connections;     /* beyond: accept and close at once */
};

/* Fills the defaults of ARCHITECTURE.md section 5 and the example config. */
void http_limits_default(struct http_limits *l);

struct http_header {
	const char *name;  /* as received (case preserved); NUL-terminated */
	const char *value; /* NUL-terminated, surrounding whitespace trimmed */
};

/*
 * Callbacks into the owner of a listener.  A request is handed over at
 * on_request (headers complete); the owner then answers it with the
 * http_response_* calls, exactly one response per request.  Requests on one
 * connection are answered in order (pipelining is serialised: the next
 * request is not parsed before the previous response ended).
 */
struct http_server_callbacks {
	/* Headers are complete and valid.  Body bytes follow through on_body. */
	void (*on_request)(struct http_request *req, void *arg);
	/* A piece of the body (de-chunked); the bytes are borrowed for the call. */
	void (*on_body)(struct http_request *req, const void *data, size_t len, void *arg);
	/* The body ended (also called, at once, for requests without a body). */
	void (*on_body_end)(struct http_request *req, void *arg);
	/*
	 * The connection failed or closed before the response ended.  After the
	 * call returns the request is freed: the owner must drop its pointer.
	 */
	void (*on_abort)(struct http_request *req, void *arg);
};

/* Creates a server on `base`; limits and callbacks are copied. NULL on ENOMEM. */
struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
    const struct http_server_callbacks *cb, void *arg);

/* Starts accepting on a bound, listening, non-blocking socket; consumes fd. */
int http_server_listen(struct http_server *srv, int fd);

/* Stops accepting (listeners closed); open connections go on. */
void http_server_stop_accepting(struct http_server *srv);

/* Requests begun (on_request called) whose response has not ended yet. */
size_t http_server_active_requests(const struct http_server *srv);

/* Open client connections. */
size_t http_server_connections(const struct http_server *srv);

/* Closes idle keep-alive connections (used by graceful drain). */
void http_server_close_idle(struct http_server *srv);

/* Closes everything and frees; pending requests get on_abort first.  NULL ok. */
void http_server_free(struct http_server *srv);

/*
 * Binds and listens on "ADDR:PORT" ("127.0.0.1:8080", "[::1]:0",
 * "0.0.0.0:80"); returns the non-blocking fd or -1 (errno set).  When
 * `actual` is non-NULL it receives the bound address as "ADDR:PORT" (port 0
 * resolved), at most `actual_len` bytes.
 */
int http_listen_socket(const char *addr_port, char *actual, size_t actual_len);

/* --- the request, as the owner sees it ----------------------------------- */

const char *http_request_method(const struct http_request *req); /* "GET" */
const char *http_request_target(const struct http_request *req); /* raw: "/a?b" */
const char *http_request_path(const struct http_request *req);   /* target without ?query */
const char *http_request_host(
    const struct http_request *req); /* Host without port, lower case; "" if none */
size_t http_request_header_count(const struct http_request *req);
const struct http_header *http_request_header_at(const struct http_request *req, size_t i);
/* First header of that name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
bool http_request_has_body(const struct http_request *req);
const char *http_request_peer(const struct http_request *req); /* "127.0.0.1" */
/* Request id for logs: unique in this supervisor's life. */
uint64_t http_request_id(const struct http_request *req);

/* An opaque pointer the owner may hang on the request. */
void http_request_set_data(struct http_request *req, void *data);
void *http_request_data(const struct http_request *req);

/*
 * Flow control for the request body: stop and resume reading from the
 * client (the owner pauses while the sandbox has not taken earlier chunks).
 */
void http_request_pause_body(struct http_request *req);
void http_request_resume_body(struct http_request *req);

/* --- the response ---------------------------------------------------------- */

/*
 * Starts the response.  content_length -1 means unknown: the body is sent
 * chunked (or, for HTTP/1.0 clients, delimited by closing).  The front adds
 * Date, Connection and Content-Length/Transfer-Encoding itself and drops
 * those names and any hop-by-hop headers from `headers`; header names and
 * values with CR, LF or NUL are refused (-1).  For HEAD requests, body
 * calls are accepted and discarded.  Returns 0 or -1.
 */
int http_response_start(struct http_request *req, int status, const struct http_header *headers,
    size_t nheaders, int64_t content_length);
int http_response_body(struct http_request *req, const void *data, size_t len);
/* Ends the response; the request is freed after this returns 0 or -1. */
int http_response_end(struct http_request *req);

/*
 * Gives up on a response that has started and cannot end well (its sandbox
 * died mid-body): what was already queued is still written, then the
 * connection is closed without ending the body, so the client sees a
 * truncated response.  The request is freed; on_abort is not called.
 */
void http_response_abort(struct http_request *req);

/* Whole response with a plain-text (or given type) body, in one call; frees req. */
int http_response_simple(
    struct http_request *req, int status, const char *content_type, const char *body);

/*
 * Bytes queued for this response's client that were not yet written; the
 * owner uses it to apply back-pressure on the sandbox.  on_drain, when set,
 * is called once the queue falls below `low_water`.
 */
size_t http_response_pending(const struct http_request *req);
void http_response_on_drain(struct http_request *req, size_t low_water,
    void (*on_drain)(struct http_request *req, void *arg), void *arg);

/* The standard reason phrase ("Not Found"), or "Unknown". */
const char *http_status_reason(int status);

#endif
