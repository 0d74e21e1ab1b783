/*
 * fuzz_http_request: arbitrary client bytes into the HTTP front's connection
 * code (parser glue, limits, pipelining, responses) through an in-memory
 * bufferevent pair, with an owner that answers early, late, streamed, paused.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "supervisor/http.h"
#include "supervisor/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *fuzz_base;
static struct http_request *fuzz_paused; /* resumed by the driver between turns */

static void
fuzz_forget(struct http_request *req)
{
	free(http_request_data(req));
	http_request_set_data(req, NULL);
	if (fuzz_paused == req)
		fuzz_paused = NULL;
}

static void
fuzz_on_request(struct http_request *req, void *arg)
{
	const char *path = http_request_path(req);
	size_t i;

	(void)arg;
	/* touch everything the owner may read */
	(void)http_request_method(req);
	(void)http_request_target(req);
	(void)http_request_host(req);
	(void)http_request_peer(req);
	(void)http_request_header(req, "content-type");
	for (i = 0; i < http_request_header_count(req); i++)
		(void)strlen(http_request_header_at(req, i)->value);
	http_request_set_data(req, calloc(1, 16));
	if (strncmp(path, "/early", 6) == 0) {
		fuzz_forget(req);
		http_response_simple(req, 404, NULL, "not found");
	} else if (strncmp(path, "/stream", 7) == 0) {
		http_response_start(req, 200, NULL, 0, -1);
	} else if (strncmp(path, "/pause", 6) == 0) {
		http_request_pause_body(req);
		fuzz_paused = req;
	}
}

static void
fuzz_on_body(struct http_request *req, const void *data, size_t len, void *arg)
{
	const char *path = http_request_path(req);

	(void)arg;
	if (strncmp(path, "/stream", 7) == 0)
		http_response_body(req, data, len);
	else if (strncmp(path, "/pause", 6) == 0) {
		http_request_pause_body(req);
		fuzz_paused = req;
	} else if (strncmp(path, "/bodyend", 8) == 0) {
		fuzz_forget(req);
		http_response_simple(req, 413, NULL, "no");
	}
}

static void
fuzz_on_body_end(struct http_request *req, void *arg)
{
	const char *path = http_request_path(req);
	static const struct http_header h[] = { { "X-A", "1" }, { "Connection", "x" } };

	(void)arg;
	if (strncmp(path, "/hold", 5) == 0)
		return; /* aborted when the server goes */
	fuzz_forget(req);
	if (strncmp(path, "/stream", 7) == 0) {
		http_response_end(req);
		return;
	}
	if (http_response_start(req, 200, h, 2, 5) == 0)
		http_response_body(req, "hello", 5);
	http_response_end(req);
}

static void
fuzz_on_abort(struct http_request *req, void *arg)
{
	(void)arg;
	fuzz_forget(req);
}

static void
fuzz_turn(struct bufferevent *client)
{
	struct evbuffer *in = bufferevent_get_input(client);

	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (fuzz_paused != NULL) {
		struct http_request *req = fuzz_paused;

		fuzz_paused = NULL;
		http_request_resume_body(req);
	}
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	evbuffer_drain(in, evbuffer_get_length(in));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_server_callbacks cb = {
		.on_request = fuzz_on_request,
		.on_body = fuzz_on_body,
		.on_body_end = fuzz_on_body_end,
		.on_abort = fuzz_on_abort,
	};
	struct bufferevent *pair[2];
	struct http_server *srv;
	struct http_limits l;
	size_t off, piece, turns;

	if (fuzz_base == NULL) {
		log_init("fuzz", LOG_LEVEL_ERROR);
		if ((fuzz_base = event_base_new()) == NULL)
			abort();
	}
	http_limits_default(&l);
	l.request_line_max = 512;
	l.header_count_max = 16;
	l.header_bytes_max = 2048;
	l.body_max = 4096;
	if ((srv = http_server_new(fuzz_base, &l, &cb, NULL)) == NULL)
		abort();
	if (bufferevent_pair_new(fuzz_base, BEV_OPT_DEFER_CALLBACKS, pair) == -1)
		abort();
	if (http_conn_adopt(srv, pair[0], "fuzz") == NULL)
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);

	/* The first byte picks how the rest is cut: partial reads matter. */
	piece = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	if (size > 0) {
		data++;
		size--;
	}
	for (off = 0, turns = 0; off < size && turns < 256; off += piece, turns++) {
		bufferevent_write(pair[1], data + off, size - off < piece ? size - off : piece);
		fuzz_turn(pair[1]);
	}
	if (off < size)
		bufferevent_write(pair[1], data + off, size - off);
	for (turns = 0; turns < 4; turns++)
		fuzz_turn(pair[1]);

	(void)http_server_active_requests(srv);
	(void)http_server_connections(srv);
	http_server_close_idle(srv);
	http_server_free(srv);
	fuzz_paused = NULL;
	bufferevent_free(pair[1]);
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return 0;
}
