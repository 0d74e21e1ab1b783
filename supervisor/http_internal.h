/*
 * http_internal: the structures shared by the HTTP front's files (http.c:
 * connections, http_server.c: listeners, http_parse.c: request parsing,
 * http_response.c: responses).  Not for other modules; the fuzz harness
 * uses it.  Supervisor.
 */
#ifndef EDGED_HTTP_INTERNAL_H
#define EDGED_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <http_parser.h>

#include "common/buf.h"
#include "supervisor/http.h"

struct bufferevent;
struct event;
struct evconnlistener;

/* Input kept unparsed while a request waits for its response (pipelining). */
#define HTTP_INPUT_HIGH_WATER (64 * 1024)
/* After a final "Connection: close" response, how long unread input is discarded. */
#define HTTP_LINGER_MS 2000
/* ... and how many bytes at most. */
#define HTTP_LINGER_BYTES (1024 * 1024)
/* Pause before accepting again after EMFILE/ENFILE. */
#define HTTP_ACCEPT_RETRY_MS 500

enum http_phase {
	HTTP_PHASE_IDLE,    /* between requests; idle timer */
	HTTP_PHASE_HEADERS, /* request line and headers; header timer (deadline) */
	HTTP_PHASE_BODY,    /* owner holds the request, body streaming; body timer */
	HTTP_PHASE_WAIT,    /* body complete, waiting for the owner's response */
	HTTP_PHASE_CLOSING, /* last response queued; flush, then linger */
	HTTP_PHASE_LINGER,  /* write side shut; discard input until EOF or timer */
};

enum http_resp_mode {
	HTTP_RESP_LENGTH,  /* Content-Length */
	HTTP_RESP_CHUNKED, /* Transfer-Encoding: chunked */
	HTTP_RESP_EOF,     /* delimited by closing (HTTP/1.0, unknown length) */
	HTTP_RESP_NONE,    /* no body: HEAD, 204, 304 */
};

enum http_last_cb {
	HTTP_LAST_NONE,
	HTTP_LAST_URL,
	HTTP_LAST_FIELD,
	HTTP_LAST_VALUE,
};

struct http_header_off {
	size_t name;
	size_t value;
};

struct http_request {
	struct http_conn *conn; /* NULL once the connection is gone */
	uint64_t id;
	const char *method; /* static, from http_method_str() */
	unsigned short http_major;
	unsigned short http_minor;

	/* target, then NUL-terminated header names and values, then path and host */
	struct buf raw;
	size_t target_len;
	struct http_header_off *offs;
	size_t noffs;
	size_t offs_cap;
	enum http_last_cb last_cb;
	size_t header_bytes; /* header lines, with ": " and CRLF */
	size_t trailer_bytes;
	struct http_header *headers; /* built at headers complete */
	size_t nheaders;
	size_t path_off;
	size_t host_off;

	bool is_head;
	bool has_body;
	bool chunked;
	bool keep_alive; /* client allows another request */
	bool expect_continue;
	bool continue_sent;
	bool owned; /* on_request called, response not ended */
	bool body_done;
	bool body_paused;
	bool aborting; /* inside on_abort */
	uint64_t body_received;

	bool resp_started;
	bool resp_close; /* the response says Connection: close */
	enum http_resp_mode resp_mode;
	uint64_t resp_remaining; /* HTTP_RESP_LENGTH: bytes still owed */

	void *data;
	void (*on_drain)(struct http_request *, void *);
	void *drain_arg;
	size_t drain_low;
};

struct http_conn {
	TAILQ_ENTRY(http_conn) entry;
	struct http_server *srv;
	struct bufferevent *bev;
	struct event *timer;
	struct event *resume; /* deferred http_conn_process */
	http_parser parser;
	enum http_phase phase;
	struct http_request *req; /* the one request being parsed or answered */
	char peer[64];

	int error_status;  /* a parser callback asks for this answer */
	bool ev_headers;   /* parser paused at end of headers */
	bool ev_message;   /* parser paused at end of message */
	bool in_process;   /* inside http_conn_process */
	bool want_free;    /* free when http_conn_process returns */
	bool stop_parsing; /* upgrade: parse nothing more */
	bool lf_pending;   /* paused before the LF that ends the headers */
	bool read_eof;     /* the client shut its side */
	bool head_lf;      /* the last request-head byte was LF */
	size_t linger_bytes;
	/*
	 * Chunked bodies: the parser (not built strict) does not check that a
	 * chunk's data is followed by CRLF, so we do.  exec_base/exec_len is the
	 * buffer being parsed; crlf_due holds the part of "\r\n" still to be
	 * seen at the start of the next buffer (0, 1 or 2 bytes).
	 */
	const char *exec_base;
	size_t exec_len;
	unsigned crlf_due;
};

TAILQ_HEAD(http_conn_list, http_conn);

struct http_server {
	struct event_base *base;
	struct http_limits limits;
	struct http_server_callbacks cb;
	void *arg;
	struct http_conn_list conns;
	size_t nconns;
	size_t active; /* owned requests */
	struct evconnlistener **listeners;
	size_t nlisteners;
	struct event *accept_retry;
	bool draining; /* answer everything with Connection: close */
};

/* http.c (http_server.c calls http_conn_adopt from accept) */

/*
 * Hands an already connected bufferevent (socket or in-memory pair) to the
 * server, as accept does; the server owns bev from then on, even on failure.
 * `peer` is copied.  Returns the connection or NULL.  Used by accept and by
 * the fuzz harness.
 */
struct http_conn *http_conn_adopt(
    struct http_server *srv, struct bufferevent *bev, const char *peer);

/*
 * Takes the connection under `req` away from the server for a protocol
 * switch (WebSocket): the request is freed without on_abort, the
 * connection's state is released, and the bufferevent (with any unparsed
 * input still in its input buffer and callbacks cleared) is returned for the
 * caller to own.  NULL when the request has no connection or already sent
 * response bytes.
 */
struct bufferevent *http_conn_detach(struct http_request *req);

/* Enters a phase and arms the matching timer. */
void http_conn_set_phase(struct http_conn *c, enum http_phase phase);

/* Aborts the connection's request (on_abort if owned) and frees it all now. */
void http_conn_free(struct http_conn *c);

/* Bytes queued for the client. */
size_t http_conn_output_len(const struct http_conn *c);

/* The owner ended the response of the connection's current request. */
void http_conn_response_done(struct http_conn *c, bool close_after);

/* The owner paused or resumed the body of the current request. */
void http_conn_body_flow(struct http_conn *c);

/* Lets the parse loop run again soon (outside the current call stack). */
void http_conn_schedule(struct http_conn *c);

/* http_parse.c */

extern const http_parser_settings http_parse_settings;

struct http_request *http_request_new(struct http_conn *c);
void http_request_free(struct http_request *req);

/* Sends the interim 100 Continue when the request waits for it. */
void http_request_maybe_continue(struct http_request *req);

/* http_response.c */

/*
 * Queues a complete front-generated error response (text body) with
 * Connection: close; `head` drops the body.  Returns 0 or -1.
 */
int http_response_error(struct http_conn *c, int status, bool head);

/* "Date: ..." value for now, into out (at least 32 bytes). */
void http_date_now(char *out, size_t len);

/*
 * Checks the CRLF after a chunk's data, which ends at `end` in the buffer
 * being parsed; false when the bytes there are something else.
 */
bool http_parse_chunk_end(struct http_conn *c, const char *end);

/* Checks what of a chunk's CRLF is due at the start of buf; false on a mismatch. */
bool http_parse_crlf_due(struct http_conn *c, const char *buf, size_t len);

/* The request may still be answered: handed to the owner, not aborted. */
bool http_request_is_answerable(const struct http_request *req);

#endif
