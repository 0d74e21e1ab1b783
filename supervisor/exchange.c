/*
 * exchange: a client request forwarded to a sandbox, its response streamed
 * back, and the public listener's HTTP callbacks.  Runs in the supervisor.
 */
#include "supervisor/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "supervisor/core.h"
#include "supervisor/http.h"
#include "supervisor/pool.h"
#include "supervisor/registry.h"

#define EXCHANGE_HEADERS_MAX 256 /* name/value pairs forwarded each way */

/*
 * The hard CPU limit: what the sandbox's own soft check cannot stop (a
 * regular expression backtracking inside one built-in call, native code
 * that ignores the budget) is caught by the sandbox's process CPU clock.
 * A sandbox serving several requests at once shares its clock among them, so
 * the allowance scales with the configured concurrency.
 */
#define EXCHANGE_CPU_GRACE_MS 200
#define EXCHANGE_CPU_RECHECK_MIN_MS 10

/*
 * Response bytes are credited back to the sandbox once the client's queue
 * is below this, so a slow client holds at most about this much plus one
 * window of a streamed body in the supervisor.
 */
#define EXCHANGE_RESP_LOW_WATER (256u << 10)

static void
exchange_timeval_ms(struct timeval *tv, int64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static int64_t
exchange_cpu_allowance_ms(const struct exchange *ex)
{
	const struct config *c = &ex->core->cfg;
	unsigned share = c->sandbox_concurrency > 0 ? c->sandbox_concurrency : 1;

	return (int64_t)version_cpu_ms(ex->version, c) * share + EXCHANGE_CPU_GRACE_MS;
}

/* Lets go of the client: no drain callback may reach a freed exchange. */
static struct http_request *
exchange_release_client(struct exchange *ex)
{
	struct http_request *req = ex->req;

	if (req != NULL && ex->resp_drain_armed)
		http_response_on_drain(req, 0, NULL, NULL);
	ex->resp_drain_armed = false;
	ex->req = NULL;
	return req;
}

static void
exchange_free(struct exchange *ex)
{
	exchange_release_client(ex);
	if (ex->cpu_timer != NULL)
		event_free(ex->cpu_timer);
	if (ex->wall_timer != NULL)
		event_free(ex->wall_timer);
	buf_release(&ex->body);
	buf_release(&ex->held_headers);
	version_unref(ex->version);
	free(ex);
}

/* The exchange is over: it leaves the pool, then goes. */
static void
exchange_finish(struct exchange *ex, int cancel)
{
	pool_exchange_done(ex->core->pool, ex, cancel);
	if (ex->req != NULL)
		http_request_set_data(ex->req, NULL);
	exchange_free(ex);
}

/*
 * Answers the client, if it still waits, with an error: a short text
 * response when none has started, else a cut connection (the only way left
 * to say the body is incomplete).  The exchange lets go of the client.
 */
static void
exchange_answer_error(struct exchange *ex, int status, const char *body)
{
	struct http_request *req = exchange_release_client(ex);

	if (req == NULL)
		return;
	http_request_set_data(req, NULL);
	if (status >= 500)
		ex->core->stats.responses_5xx++;
	if (ex->response_started)
		http_response_abort(req);
	else
		http_response_simple(req, status, "text/plain; charset=utf-8", body);
}

void
exchange_fail(struct exchange *ex, int status, const char *body)
{
	exchange_answer_error(ex, status, body);
	exchange_free(ex);
}

static void
exchange_wall_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;
	struct sandbox *sbx = ex->sbx;

	(void)fd;
	(void)what;
	log_warnx("tenant '%s' worker '%s': request exceeded the wall-time limit",
	    ex->version->tenant, ex->version->worker);
	/* Nothing watches a sandbox's CPU between requests: one that overran goes. */
	if (sbx != NULL)
		pool_wall_expired(sbx);
	pool_exchange_done(ex->core->pool, ex, 1);
	exchange_fail(ex, 504, "error code: 504\n");
}

static void
exchange_cpu_check(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;
	struct sandbox *sbx = ex->sbx;
	int64_t now, used_ms, left_ms;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (sbx == NULL || (now = pool_sandbox_cpu_ns(sbx)) < 0)
		return;
	used_ms = (now - ex->cpu_at_dispatch_ns) / 1000000;
	left_ms = exchange_cpu_allowance_ms(ex) - used_ms;
	if (left_ms > 0) {
		/* Waiting on I/O or timers costs no CPU: look again when it could be spent. */
		exchange_timeval_ms(&tv,
		    left_ms > EXCHANGE_CPU_RECHECK_MIN_MS ? left_ms : EXCHANGE_CPU_RECHECK_MIN_MS);
		evtimer_add(ex->cpu_timer, &tv);
		return;
	}
	log_warnx("tenant '%s' worker '%s': request used %lld ms of CPU, past the hard limit",
	    ex->version->tenant, ex->version->worker, (long long)used_ms);
	/*
	 * This request gets 1102 now; the kill then fails whatever else the
	 * sandbox held with 502 and frees this exchange with them.
	 */
	exchange_answer_error(ex, 503, "error code: 1102\n");
	pool_kill(sbx, "cpu_hard");
}

static void
exchange_arm_cpu_limit(struct exchange *ex)
{
	struct timeval tv;

	ex->cpu_at_dispatch_ns = pool_sandbox_cpu_ns(ex->sbx);
	if (ex->cpu_at_dispatch_ns < 0)
		return;
	if (ex->cpu_timer == NULL &&
	    (ex->cpu_timer = evtimer_new(ex->core->base, exchange_cpu_check, ex)) == NULL)
		return;
	exchange_timeval_ms(&tv, exchange_cpu_allowance_ms(ex));
	evtimer_add(ex->cpu_timer, &tv);
}

/* --- towards the sandbox ----------------------------------------------------- */

/* Reading the client's body stops while a window's worth is unacknowledged. */
static void
exchange_req_flow(struct exchange *ex)
{
	uint64_t held = ex->sbx != NULL ? ex->req_in_flight : ex->body.len;
	bool full = held >= IPC_BODY_WINDOW;

	if (ex->req == NULL || full == ex->req_paused)
		return;
	ex->req_paused = full;
	if (full)
		http_request_pause_body(ex->req);
	else
		http_request_resume_body(ex->req);
}

static int
exchange_send_body(struct exchange *ex, const void *data, size_t len, int last)
{
	const uint8_t *p = data;
	struct ipc_value f[2];

	do {
		size_t n = len > IPC_BODY_CHUNK_MAX ? IPC_BODY_CHUNK_MAX : len;
		int is_last = last && n == len;

		f[IPC_REQ_BODY_CHUNK] = ipc_bytes(p, n);
		f[IPC_REQ_BODY_LAST] = ipc_u64(is_last ? 1 : 0);
		if (pool_send(ex->sbx, IPC_REQ_BODY, ex->id, f, 2) == -1)
			return -1;
		ex->req_in_flight += n;
		p += n;
		len -= n;
	} while (len > 0);
	exchange_req_flow(ex);
	return 0;
}

/* The absolute URL the Worker sees: http://host[:port]/target. */
static int
exchange_url(struct http_request *req, struct buf *url)
{
	const char *host = http_request_header(req, "host");

	return buf_printf(
	    url, "http://%s%s", host != NULL ? host : "localhost", http_request_target(req));
}

int
exchange_dispatch(struct exchange *ex, struct sandbox *sbx, uint64_t id)
{
	struct http_request *req = ex->req;
	struct ipc_bytes headers[EXCHANGE_HEADERS_MAX * 2];
	size_t nheaders = 0, count = http_request_header_count(req);
	struct ipc_value f[5];
	struct buf url;
	int rc;

	ex->sbx = sbx;
	ex->id = id;
	exchange_arm_cpu_limit(ex);
	for (size_t i = 0; i < count && nheaders < EXCHANGE_HEADERS_MAX * 2; i++) {
		const struct http_header *h = http_request_header_at(req, i);

		headers[nheaders].ptr = h->name;
		headers[nheaders++].len = strlen(h->name);
		headers[nheaders].ptr = h->value;
		headers[nheaders++].len = strlen(h->value);
	}
	buf_init(&url);
	if (exchange_url(req, &url) == -1 || buf_append(&url, "", 1) == -1) {
		buf_release(&url);
		return -1;
	}
	f[IPC_REQ_HEAD_METHOD] = ipc_str(http_request_method(req));
	f[IPC_REQ_HEAD_URL] = ipc_str((const char *)url.data);
	f[IPC_REQ_HEAD_HEADERS] = ipc_strlist(headers, nheaders);
	f[IPC_REQ_HEAD_HAS_BODY] = ipc_u64(http_request_has_body(req) ? 1 : 0);
	f[IPC_REQ_HEAD_CPU_MS] = ipc_u64(version_cpu_ms(ex->version, &ex->core->cfg));
	rc = pool_send(sbx, IPC_REQ_HEAD, id, f, 5);
	buf_release(&url);
	if (rc == -1 || !http_request_has_body(req))
		return rc;
	if (ex->body.len > 0 || ex->body_ended) {
		rc = exchange_send_body(ex, ex->body.data, ex->body.len, ex->body_ended);
		buf_release(&ex->body);
	}
	exchange_req_flow(ex);
	return rc;
}

/* --- from the sandbox ---------------------------------------------------------- */

/* Copies the response head so it can wait for the first body chunk. */
static int
exchange_hold_head(struct exchange *ex, const struct ipc_msg *msg)
{
	const struct ipc_value *h = &msg->field[IPC_RESP_HEAD_HEADERS];

	if (h->count % 2 != 0 || h->count > EXCHANGE_HEADERS_MAX * 2)
		return -1;
	ex->held_status = (int)msg->field[IPC_RESP_HEAD_STATUS].u;
	if (ex->held_status < 200)
		return -1; /* 1xx cannot be a final response; 101 needs an upgrade path */
	for (size_t i = 0; i < h->count; i++) {
		/* NUL is valid UTF-8 but never valid in a header, and it separates ours. */
		if (memchr(h->list[i].ptr, '\0', h->list[i].len) != NULL)
			return -1;
		if (buf_append(&ex->held_headers, h->list[i].ptr, h->list[i].len) == -1 ||
		    buf_append(&ex->held_headers, "", 1) == -1)
			return -1;
	}
	ex->held_count = (unsigned)(h->count / 2);
	ex->head_held = true;
	return 0;
}

/* Starts the client response from the held head; -1 if a header was refused. */
static int
exchange_start_response(struct exchange *ex, int64_t content_length)
{
	struct http_header headers[EXCHANGE_HEADERS_MAX];
	const char *p = (const char *)ex->held_headers.data;

	for (unsigned i = 0; i < ex->held_count; i++) {
		headers[i].name = p;
		p += strlen(p) + 1;
		headers[i].value = p;
		p += strlen(p) + 1;
	}
	ex->head_held = false;
	/* A refused head leaves the client unanswered: the caller's failure then sends 502. */
	if (http_response_start(
		ex->req, ex->held_status, headers, ex->held_count, content_length) == -1)
		return -1;
	ex->response_started = true;
	if (ex->held_status >= 500)
		ex->core->stats.responses_5xx++;
	return 0;
}

static void
exchange_complete(struct exchange *ex)
{
	struct http_request *req = exchange_release_client(ex);

	if (req != NULL) {
		http_request_set_data(req, NULL);
		http_response_end(req);
	}
	exchange_finish(ex, 0);
}

static int
exchange_on_head(struct exchange *ex, const struct ipc_msg *msg)
{
	if (ex->head_held || ex->response_started)
		return -1;
	if (exchange_hold_head(ex, msg) == -1)
		return -1;
	if (msg->field[IPC_RESP_HEAD_HAS_BODY].u == 0) {
		if (ex->req != NULL && exchange_start_response(ex, 0) == -1)
			return -1;
		exchange_complete(ex);
	}
	return 0;
}

/* Returns passed-on response bytes to the sandbox's window. */
static void
exchange_resp_credit(struct exchange *ex)
{
	while (ex->resp_owed > 0 && ex->sbx != NULL) {
		uint64_t n = ex->resp_owed > IPC_BODY_WINDOW ? IPC_BODY_WINDOW : ex->resp_owed;
		struct ipc_value f[1];

		f[IPC_RESP_CREDIT_BYTES] = ipc_u64(n);
		if (pool_send(ex->sbx, IPC_RESP_CREDIT, ex->id, f, 1) == -1)
			return;
		ex->resp_owed -= n;
	}
}

static void
exchange_on_client_drained(struct http_request *req, void *arg)
{
	struct exchange *ex = arg;

	(void)req;
	ex->resp_drain_armed = false;
	exchange_resp_credit(ex);
}

/* Credits at once while the client keeps up, else when its queue drains. */
static void
exchange_resp_flow(struct exchange *ex, size_t passed)
{
	ex->resp_owed += passed;
	if (ex->req == NULL || http_response_pending(ex->req) <= EXCHANGE_RESP_LOW_WATER) {
		exchange_resp_credit(ex);
		return;
	}
	if (!ex->resp_drain_armed) {
		ex->resp_drain_armed = true;
		http_response_on_drain(
		    ex->req, EXCHANGE_RESP_LOW_WATER, exchange_on_client_drained, ex);
	}
}

static int
exchange_on_credit(struct exchange *ex, const struct ipc_msg *msg)
{
	uint64_t n = msg->field[IPC_REQ_CREDIT_BYTES].u;

	/* Credit for bytes never sent is a broken sandbox. */
	if (n > ex->req_in_flight)
		return -1;
	ex->req_in_flight -= n;
	exchange_req_flow(ex);
	return 0;
}

static int
exchange_on_body(struct exchange *ex, const struct ipc_msg *msg)
{
	const struct ipc_bytes *chunk = &msg->field[IPC_RESP_BODY_CHUNK].b;
	bool last = msg->field[IPC_RESP_BODY_LAST].u == 1;

	if (!ex->head_held && !ex->response_started)
		return -1;
	if (ex->req == NULL) {
		if (last)
			exchange_finish(ex, 0);
		else
			exchange_resp_flow(ex, chunk->len);
		return 0;
	}
	/* A body that comes whole gets a Content-Length; otherwise chunked. */
	if (ex->head_held && exchange_start_response(ex, last ? (int64_t)chunk->len : -1) == -1)
		return -1;
	if (chunk->len > 0 && http_response_body(ex->req, chunk->ptr, chunk->len) == -1)
		return -1;
	if (last)
		exchange_complete(ex);
	else
		exchange_resp_flow(ex, chunk->len);
	return 0;
}

static void
exchange_on_error(struct exchange *ex, const struct ipc_msg *msg)
{
	uint64_t code = msg->field[IPC_RESP_ERROR_CODE].u;
	char body[64];

	if (code == 1102 && ex->sbx != NULL)
		pool_resource_limit(ex->sbx);
	pool_exchange_done(ex->core->pool, ex, 0);
	snprintf(body, sizeof(body), "error code: %llu\n", (unsigned long long)code);
	exchange_fail(ex, code == 1102 ? 503 : 500, body);
}

int
exchange_on_message(struct exchange *ex, const struct ipc_msg *msg)
{
	switch (msg->type) {
	case IPC_RESP_HEAD:
		return exchange_on_head(ex, msg);
	case IPC_RESP_BODY:
		return exchange_on_body(ex, msg);
	case IPC_RESP_ERROR:
		exchange_on_error(ex, msg);
		return 0;
	case IPC_REQ_CREDIT:
		return exchange_on_credit(ex, msg);
	default:
		return -1;
	}
}

/* --- the public listener --------------------------------------------------------- */

/* 503 with Retry-After: the worker's or the tenant's queue is full. */
static void
front_overloaded(struct core *core, struct http_request *req, int why)
{
	static const struct http_header headers[] = {
		{ "Retry-After", "1" },
		{ "Content-Type", "text/plain; charset=utf-8" },
	};
	const char *body = why == POOL_FULL_TENANT ? "too many requests queued for this account\n"
						   : "too many requests queued for this worker\n";
	size_t len = strlen(body);

	core->stats.responses_5xx++;
	if (why == POOL_FULL_TENANT)
		core->stats.queue_full_tenant++;
	else
		core->stats.queue_full_version++;
	if (http_response_start(req, 503, headers, 2, (int64_t)len) == 0)
		http_response_body(req, body, len);
	http_response_end(req);
}

static void
front_on_request(struct http_request *req, void *arg)
{
	struct core *core = arg;
	struct version *v;
	struct exchange *ex;
	struct timeval tv;
	int rc;

	core->stats.requests++;
	v = registry_match(core->registry, http_request_host(req), http_request_path(req));
	if (v == NULL) {
		http_response_simple(req, 404, "text/plain; charset=utf-8",
		    "no worker is routed for this host and path\n");
		return;
	}
	if ((ex = calloc(1, sizeof(*ex))) == NULL) {
		http_response_simple(req, 503, "text/plain; charset=utf-8", "out of memory\n");
		return;
	}
	ex->core = core;
	ex->req = req;
	ex->version = v;
	version_ref(v);
	buf_init(&ex->body);
	buf_init(&ex->held_headers);
	ex->body_ended = !http_request_has_body(req);
	ex->wall_timer = evtimer_new(core->base, exchange_wall_timeout, ex);
	if (ex->wall_timer == NULL) {
		exchange_free(ex);
		http_response_simple(req, 503, "text/plain; charset=utf-8", "out of memory\n");
		return;
	}
	exchange_timeval_ms(&tv, version_wall_ms(v, &core->cfg));
	evtimer_add(ex->wall_timer, &tv);
	http_request_set_data(req, ex);
	if ((rc = pool_submit(core->pool, ex)) != 0) {
		http_request_set_data(req, NULL);
		exchange_free(ex);
		front_overloaded(core, req, rc);
	}
}

static void
front_on_body(struct http_request *req, const void *data, size_t len, void *arg)
{
	struct exchange *ex = http_request_data(req);

	(void)arg;
	if (ex == NULL)
		return;
	if (ex->sbx == NULL) {
		/* Not dispatched yet: keep up to a window of it. */
		if (buf_append(&ex->body, data, len) == -1)
			exchange_fail(ex, 503, "out of memory\n");
		else
			exchange_req_flow(ex);
		return;
	}
	if (exchange_send_body(ex, data, len, 0) == -1)
		pool_kill(ex->sbx, "crash");
}

static void
front_on_body_end(struct http_request *req, void *arg)
{
	struct exchange *ex = http_request_data(req);

	(void)arg;
	if (ex == NULL || !http_request_has_body(req))
		return;
	ex->body_ended = true;
	if (ex->sbx != NULL && exchange_send_body(ex, "", 0, 1) == -1)
		pool_kill(ex->sbx, "crash");
}

static void
front_on_abort(struct http_request *req, void *arg)
{
	struct exchange *ex = http_request_data(req);

	(void)arg;
	if (ex == NULL)
		return;
	exchange_release_client(ex);
	exchange_finish(ex, 1);
}

static const struct http_server_callbacks front_callbacks = {
	.on_request = front_on_request,
	.on_body = front_on_body,
	.on_body_end = front_on_body_end,
	.on_abort = front_on_abort,
};

const struct http_server_callbacks *
exchange_http_callbacks(void)
{
	return &front_callbacks;
}
