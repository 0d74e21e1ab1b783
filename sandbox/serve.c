/*
 * serve: the sandbox's side of the supervisor channel: HELLO, LOAD (compile
 * and run the tenant script under the startup budget), and REQ_HEAD/BODY/
 * CANCEL, each run as a macrotask under its request's CPU budget.
 * Runs in sandboxes.
 */
#include "sandbox/serve.h"
#include "sandbox/syntax.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/calls.h"
#include "sandbox/gc.h"
#include "sandbox/host.h"
#include "sandbox/loop.h"

#define SERVE_ERROR_EXCEPTION 1101
#define SERVE_ERROR_LIMITS 1102
#define SERVE_LOG_MAX (16u << 10) /* the LOG message cap of the IPC table */
#define SERVE_LOADED_MAX 1024     /* the LOADED message cap of the IPC table */
#define SERVE_DEFAULT_CPU_NS (50u * 1000000u)
#define SERVE_CLEANUP_CPU_NS (100u * 1000000u)
#define SERVE_SCRIPT_NAME "worker.js"
/* The loop timer of idle collections; the runtime's timer ids stay below 2^31. */
#define SERVE_GC_TIMER UINT32_MAX

struct serve_req {
	TAILQ_ENTRY(serve_req) entry;
	uint64_t id;     /* the supervisor's request id */
	uint32_t handle; /* the runtime's number for it */
	uint64_t cpu_left_ns;
	bool has_body;
	bool body_done; /* REQ_BODY with last=1 seen, or no body */
	bool responded; /* RESP_HEAD or RESP_ERROR queued */
	bool streaming; /* RESP_HEAD queued, RESP_BODY with last=1 not yet */
};

struct serve {
	struct sandbox_runtime *rt;
	struct loop loop;
	struct calls *calls; /* binding calls to the broker (sandbox/calls.c) */
	TAILQ_HEAD(, serve_req) reqs;
	uint32_t next_handle;
	uint32_t current;        /* the request whose JS runs now; 0 for none */
	uint64_t default_cpu_ns; /* timers outside any request */
	struct gc gc;            /* collections between tasks (sandbox/gc.h) */
};

/* ---- request table ---------------------------------------------------- */

static struct serve_req *
serve_req_by_id(struct serve *s, uint64_t id)
{
	struct serve_req *r;

	TAILQ_FOREACH (r, &s->reqs, entry)
		if (r->id == id)
			return r;
	return NULL;
}

static struct serve_req *
serve_req_by_handle(struct serve *s, uint32_t handle)
{
	struct serve_req *r;

	if (handle == 0)
		return NULL;
	TAILQ_FOREACH (r, &s->reqs, entry)
		if (r->handle == handle)
			return r;
	return NULL;
}

/* ---- output ---------------------------------------------------------- */

/* The length of the longest prefix of s[0..len) that is at most `max` and ends on a character. */
static size_t
serve_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void
serve_log(struct serve *s, unsigned level, const char *msg, size_t len)
{
	struct ipc_value f[2];

	f[IPC_LOG_LEVEL] = ipc_u64(level);
	f[IPC_LOG_MESSAGE] = ipc_bytes(msg, serve_utf8_cut(msg, len, SERVE_LOG_MAX));
	if (loop_send(&s->loop, IPC_LOG, 0, f, 2) == -1)
		log_warnx("cannot queue a console line (%zu bytes)", len);
}

static void
serve_send_error(struct serve *s, struct serve_req *r, unsigned code)
{
	struct ipc_value f[1];

	r->responded = true;
	r->streaming = false;
	f[IPC_RESP_ERROR_CODE] = ipc_u64(code);
	if (loop_send(&s->loop, IPC_RESP_ERROR, r->id, f, 1) == -1)
		log_warn("cannot queue RESP_ERROR");
}

/* Tells the tenant, through its console, why its request was cut short. */
static void
serve_log_limit(struct serve *s, const char *what)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "exceeded resource limits: %s", what);

	if (n > 0 && (size_t)n < sizeof(line))
		serve_log(s, LOG_LEVEL_ERROR, line, (size_t)n);
}

void
serve_fail(struct serve *s, uint32_t handle, unsigned code)
{
	struct serve_req *r = serve_req_by_handle(s, handle);

	if (r == NULL || (r->responded && !r->streaming))
		return;
	/* An exception while the allocator refused memory is the memory limit. */
	if (code == SERVE_ERROR_EXCEPTION && alloc_hit_cap(&s->rt->alloc)) {
		serve_log_limit(s, "memory");
		code = SERVE_ERROR_LIMITS;
	}
	serve_send_error(s, r, code);
}

/* Queues `body` in RESP_BODY chunks; `last` marks the final one (an empty one if len is 0). */
static int
serve_send_body(struct serve *s, struct serve_req *r, const uint8_t *body, size_t len, bool last)
{
	size_t at = 0;

	do {
		size_t n = len - at > IPC_BODY_CHUNK_MAX ? IPC_BODY_CHUNK_MAX : len - at;
		struct ipc_value f[2];

		if (n == 0 && !last)
			break;
		f[IPC_RESP_BODY_CHUNK] = ipc_bytes(n > 0 ? body + at : (const uint8_t *)"", n);
		f[IPC_RESP_BODY_LAST] = ipc_u64(last && at + n == len);
		if (loop_send(&s->loop, IPC_RESP_BODY, r->id, f, 2) == -1)
			return -1;
		at += n;
	} while (at < len);
	return 0;
}

void
serve_respond(struct serve *s, uint32_t handle, unsigned status, const struct ipc_bytes *headers,
    size_t count, const void *body, size_t len, bool streaming)
{
	static const char too_big[] =
	    "the response headers exceed the limits (256 fields of 16 KiB)";
	struct serve_req *r = serve_req_by_handle(s, handle);
	struct ipc_value f[3];
	bool has_body = streaming || (body != NULL && len > 0);

	if (r == NULL || r->responded)
		return;
	f[IPC_RESP_HEAD_STATUS] = ipc_u64(status);
	f[IPC_RESP_HEAD_HEADERS] = ipc_strlist(headers, count);
	f[IPC_RESP_HEAD_HAS_BODY] = ipc_u64(has_body);
	if (count % 2 != 0 || loop_send(&s->loop, IPC_RESP_HEAD, r->id, f, 3) == -1) {
		serve_log(s, LOG_LEVEL_ERROR, too_big, sizeof(too_big) - 1);
		serve_send_error(s, r, SERVE_ERROR_EXCEPTION);
		return;
	}
	r->responded = true;
	r->streaming = streaming;
	if (!streaming && has_body && serve_send_body(s, r, body, len, true) == -1) {
		/* Only memory can fail here; the supervisor sees a truncated body. */
		log_warn(
		    "cannot queue the response body of request %llu", (unsigned long long)r->id);
		loop_exit(&s->loop, 1);
	}
}

void
serve_respond_chunk(struct serve *s, uint32_t handle, const void *chunk, size_t len, bool last)
{
	struct serve_req *r = serve_req_by_handle(s, handle);

	if (r == NULL || !r->streaming)
		return;
	if (serve_send_body(s, r, chunk, len, last) == -1) {
		log_warn(
		    "cannot queue the response body of request %llu", (unsigned long long)r->id);
		loop_exit(&s->loop, 1);
	}
	if (last)
		r->streaming = false;
}

/* ---- timers and request ends -------------------------------------------- */

int
serve_timer_set(struct serve *s, uint32_t id, uint64_t delay_ms)
{
	if (id == SERVE_GC_TIMER)
		return -1;
	return loop_timer_set(&s->loop, id, delay_ms, s->current);
}

void
serve_timer_clear(struct serve *s, uint32_t id)
{
	if (id != SERVE_GC_TIMER)
		loop_timer_clear(&s->loop, id);
}

size_t
serve_take_timers(struct serve *s, uint32_t handle, uint32_t *ids, size_t max)
{
	if (handle == 0)
		return 0;
	return loop_timer_take(&s->loop, handle, ids, max);
}

void
serve_end(struct serve *s, uint32_t handle)
{
	struct serve_req *r = serve_req_by_handle(s, handle);

	if (r == NULL)
		return;
	/* The supervisor waits for the end of a body: tell it there is none. */
	if (r->streaming)
		serve_send_error(s, r, SERVE_ERROR_EXCEPTION);
	TAILQ_REMOVE(&s->reqs, r, entry);
	free(r);
	calls_end_request(s->calls, handle);
}

uint32_t
serve_current(struct serve *s)
{
	return serve_req_by_handle(s, s->current) != NULL ? s->current : 0;
}

bool
serve_has_request(struct serve *s, uint32_t handle)
{
	return serve_req_by_handle(s, handle) != NULL;
}

struct calls *
serve_calls(struct serve *s)
{
	return s->calls;
}

/* ---- running JS --------------------------------------------------------- */

static duk_ret_t
serve_drain_call(duk_context *ctx, void *arg)
{
	(void)arg;
	host_push_method(ctx, "drain");
	duk_call_method(ctx, 0);
	return 0;
}

/* Runs fn, then the microtasks; returns whether an error escaped the runtime. */
static bool
serve_call(struct serve *s, duk_safe_call_function fn, void *arg)
{
	duk_context *ctx = s->rt->ctx;
	bool failed = false;

	if (duk_safe_call(ctx, fn, arg, 0, 1) != DUK_EXEC_SUCCESS) {
		failed = true;
		if (!budget_is_expired(&s->rt->budget))
			host_log_error(ctx, "runtime task failed");
	}
	duk_pop(ctx);
	if (budget_is_expired(&s->rt->budget))
		return true;
	if (duk_safe_call(ctx, serve_drain_call, NULL, 0, 1) != DUK_EXEC_SUCCESS) {
		failed = true;
		if (!budget_is_expired(&s->rt->budget))
			host_log_error(ctx, "microtasks failed");
	}
	duk_pop(ctx);
	return failed;
}

struct serve_cancel {
	uint32_t handle;
	uint32_t ids[64];
	size_t nids;
};

static duk_ret_t
serve_cancel_call(duk_context *ctx, void *arg)
{
	struct serve_cancel *c = arg;

	host_push_method(ctx, "onCancel");
	duk_push_uint(ctx, c->handle);
	duk_push_array(ctx);
	for (size_t i = 0; i < c->nids; i++) {
		duk_push_uint(ctx, c->ids[i]);
		duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
	}
	duk_call_method(ctx, 2);
	return 0;
}

/*
 * Ends request `handle` from the host's side: sends RESP_ERROR `code` unless
 * it was answered (code 0: send nothing, as for REQ_CANCEL), disarms its
 * timers and lets the runtime forget it.
 */
static void
serve_abort(struct serve *s, uint32_t handle, unsigned code)
{
	struct serve_req *r = serve_req_by_handle(s, handle);
	struct serve_cancel c = { .handle = handle };

	if (r == NULL)
		return;
	if (code != 0 && (!r->responded || r->streaming))
		serve_send_error(s, r, code);
	/* Cancelled by the supervisor: it expects nothing more. */
	r->streaming = false;
	serve_end(s, handle);
	do {
		c.nids = serve_take_timers(s, handle, c.ids, sizeof(c.ids) / sizeof(c.ids[0]));
		budget_start(&s->rt->budget, SERVE_CLEANUP_CPU_NS);
		if (duk_safe_call(s->rt->ctx, serve_cancel_call, &c, 0, 1) != DUK_EXEC_SUCCESS)
			host_log_error(s->rt->ctx, "cannot drop a request");
		duk_pop(s->rt->ctx);
		budget_stop(&s->rt->budget);
	} while (c.nids == sizeof(c.ids) / sizeof(c.ids[0]));
}

/*
 * After a task, outside every budget: collects when the heap has grown
 * enough, else, if there is garbage, (re)arms the idle timer so that it is
 * collected once no task has run for GC_IDLE_MS.
 */
static void
serve_gc_after_task(struct serve *s, uint64_t used_ns)
{
	struct sandbox_runtime *rt = s->rt;

	gc_charge(&s->gc, used_ns);
	if (gc_is_due(&s->gc, &rt->alloc))
		gc_collect(&s->gc, rt);
	else if (alloc_growth(&rt->alloc) >= GC_IDLE_GROWTH_MIN)
		(void)loop_timer_set(&s->loop, SERVE_GC_TIMER, GC_IDLE_MS, 0);
}

/*
 * One macrotask on behalf of request `handle` (0: none): runs fn and the
 * microtasks under the request's remaining CPU, charges what it used, and
 * ends the request with 1102 when the budget or memory ran out, or 1101
 * when an error escaped the runtime.
 */
void
serve_task(struct serve *s, uint32_t handle, duk_safe_call_function fn, void *arg)
{
	struct serve_req *r = serve_req_by_handle(s, handle);
	uint64_t limit = r != NULL ? r->cpu_left_ns : s->default_cpu_ns;
	bool failed, expired, out_of_memory;
	uint64_t used;

	s->current = handle;
	alloc_clear_hit(&s->rt->alloc);
	budget_start(&s->rt->budget, limit);
	failed = serve_call(s, fn, arg);
	expired = budget_is_expired(&s->rt->budget);
	used = budget_stop(&s->rt->budget);
	out_of_memory = failed && alloc_hit_cap(&s->rt->alloc);
	s->current = 0;
	if ((r = serve_req_by_handle(s, handle)) != NULL)
		r->cpu_left_ns = used >= r->cpu_left_ns ? 0 : r->cpu_left_ns - used;
	if (expired || out_of_memory) {
		serve_log_limit(s, expired ? "CPU time" : "memory");
		serve_abort(s, handle, SERVE_ERROR_LIMITS);
	} else if (failed) {
		serve_abort(s, handle, SERVE_ERROR_EXCEPTION);
	}
	serve_gc_after_task(s, used);
}

/* ---- timers as macrotasks ----------------------------------------------- */

static duk_ret_t
serve_timer_call(duk_context *ctx, void *arg)
{
	host_push_method(ctx, "fireTimer");
	duk_push_uint(ctx, *(uint32_t *)arg);
	duk_call_method(ctx, 1);
	return 0;
}

static void
serve_on_timer(void *arg, uint32_t id, uint64_t tag)
{
	struct serve *s = arg;

	if (id == SERVE_GC_TIMER) {
		if (gc_is_due_idle(&s->gc, &s->rt->alloc))
			gc_collect(&s->gc, s->rt);
		return;
	}
	serve_task(s, (uint32_t)tag, serve_timer_call, &id);
}

/* ---- messages -------------------------------------------------------------- */

static void
serve_violation(struct serve *s, const char *what, uint64_t id)
{
	log_warnx("protocol violation by the supervisor: %s (request %llu)", what,
	    (unsigned long long)id);
	loop_exit(&s->loop, 2);
}

static void
serve_on_hello(struct serve *s, const struct ipc_msg *m)
{
	if (m->field[IPC_HELLO_VERSION].u != IPC_VERSION)
		serve_violation(s, "unsupported IPC version", 0);
	if (m->field[IPC_HELLO_ROLE].u != IPC_PEER_SUPERVISOR)
		serve_violation(s, "HELLO from a peer that is not the supervisor", 0);
	s->loop.sup.state = IPC_ST_BLANK;
}

struct serve_load {
	const struct ipc_msg *msg;
	bool ok;
	unsigned line;
	unsigned column;
	char message[SERVE_LOADED_MAX + 1];
};

static void
serve_load_set(struct serve_load *ld, const char *text, unsigned line)
{
	size_t len = serve_utf8_cut(text, strlen(text), SERVE_LOADED_MAX);

	memcpy(ld->message, text, len);
	ld->message[len] = '\0';
	ld->line = line;
}

/* The line of the tenant script an error points at: its own, else the first worker.js frame. */
static unsigned
serve_error_line(duk_context *ctx)
{
	const char *file, *stack, *at;
	unsigned line = 0;

	if (!duk_is_error(ctx, -1))
		return 0;
	duk_get_prop_string(ctx, -1, "fileName");
	file = duk_get_string(ctx, -1);
	duk_get_prop_string(ctx, -2, "lineNumber");
	if (file != NULL && strcmp(file, SERVE_SCRIPT_NAME) == 0)
		line = duk_get_uint_default(ctx, -1, 0);
	duk_pop_2(ctx);
	if (line != 0)
		return line;
	duk_get_prop_string(ctx, -1, "stack");
	stack = duk_get_string(ctx, -1);
	if (stack != NULL && (at = strstr(stack, "(" SERVE_SCRIPT_NAME ":")) != NULL)
		line = (unsigned)strtoul(at + sizeof(SERVE_SCRIPT_NAME) + 1, NULL, 10);
	duk_pop(ctx);
	return line;
}

/*
 * Records the error at the top of the stack as the load failure: its text
 * ("SyntaxError: unterminated string") without Duktape's position suffix,
 * which travels as numbers instead.
 */
static void
serve_load_error(duk_context *ctx, struct serve_load *ld)
{
	unsigned line = serve_error_line(ctx);

	serve_load_set(ld, duk_safe_to_string(ctx, -1), line);
	syntax_strip_position(ld->message);
}

/* Safe-call body of LOAD: bindings, compile, global scope, handler check. */
static duk_ret_t
serve_load_call(duk_context *ctx, void *arg)
{
	struct serve_load *ld = arg;
	const struct ipc_value *f = ld->msg->field;

	host_push_method(ctx, "prepare");
	duk_push_uint(ctx, (duk_uint_t)f[IPC_LOAD_FORMAT].u);
	duk_push_lstring(ctx, f[IPC_LOAD_BINDINGS].b.ptr, f[IPC_LOAD_BINDINGS].b.len);
	duk_call_method(ctx, 2);
	if (duk_is_string(ctx, -1)) {
		serve_load_set(ld, duk_get_string(ctx, -1), 0);
		return 0;
	}
	duk_pop(ctx);
	duk_push_lstring(ctx, f[IPC_LOAD_SCRIPT].b.ptr, f[IPC_LOAD_SCRIPT].b.len);
	duk_push_string(ctx, SERVE_SCRIPT_NAME);
	if (duk_pcompile(ctx, 0) != 0) {
		serve_load_error(ctx, ld);
		ld->column = syntax_error_column(
		    ctx, f[IPC_LOAD_SCRIPT].b.ptr, f[IPC_LOAD_SCRIPT].b.len, ld->line);
		return 0;
	}
	if (duk_pcall(ctx, 0) != 0) {
		serve_load_error(ctx, ld);
		return 0;
	}
	duk_pop(ctx);
	host_push_method(ctx, "drain");
	duk_call_method(ctx, 0);
	duk_pop(ctx);
	host_push_method(ctx, "finishLoad");
	duk_call_method(ctx, 0);
	if (duk_is_string(ctx, -1)) {
		serve_load_set(ld, duk_get_string(ctx, -1), 0);
		return 0;
	}
	ld->ok = true;
	return 0;
}

static void
serve_on_load(struct serve *s, const struct ipc_msg *m)
{
	struct serve_load ld = { .msg = m };
	struct ipc_value f[4];
	uint64_t startup_ms = m->field[IPC_LOAD_STARTUP_CPU_MS].u;
	duk_context *ctx = s->rt->ctx;
	bool expired;
	uint64_t used;

	s->default_cpu_ns = startup_ms > 0 ? startup_ms * 1000000u : SERVE_DEFAULT_CPU_NS;
	s->loop.sup.state = 0; /* until it has loaded, nothing more is expected */
	budget_start(&s->rt->budget, s->default_cpu_ns);
	if (duk_safe_call(ctx, serve_load_call, &ld, 0, 1) != DUK_EXEC_SUCCESS) {
		ld.ok = false;
		if (!budget_is_expired(&s->rt->budget))
			serve_load_error(ctx, &ld);
	}
	duk_pop(ctx);
	expired = budget_is_expired(&s->rt->budget);
	used = budget_stop(&s->rt->budget);
	if (expired) {
		ld.ok = false;
		serve_load_set(
		    &ld, "the script's global scope exceeded its startup CPU time limit", 0);
	}
	f[IPC_LOADED_OK] = ipc_u64(ld.ok);
	f[IPC_LOADED_LINE] = ipc_u64(ld.ok ? 0 : ld.line);
	f[IPC_LOADED_COLUMN] = ipc_u64(ld.ok ? 0 : ld.column);
	f[IPC_LOADED_MESSAGE] = ipc_str(ld.ok ? "" : ld.message);
	if (loop_send(&s->loop, IPC_LOADED, 0, f, 4) == -1) {
		log_warn("cannot queue LOADED");
		loop_exit(&s->loop, 1);
	}
	if (ld.ok)
		s->loop.sup.state = IPC_ST_READY;
	else
		log_info("script %llu did not load: %s",
		    (unsigned long long)m->field[IPC_LOAD_VERSION].u, ld.message);
	serve_gc_after_task(s, used);
}

struct serve_head {
	const struct ipc_msg *msg;
	uint32_t handle;
};

static duk_ret_t
serve_head_call(duk_context *ctx, void *arg)
{
	struct serve_head *h = arg;
	const struct ipc_value *f = h->msg->field;
	const struct ipc_value *hl = &f[IPC_REQ_HEAD_HEADERS];

	host_push_method(ctx, "onRequest");
	duk_push_uint(ctx, h->handle);
	duk_push_lstring(ctx, f[IPC_REQ_HEAD_METHOD].b.ptr, f[IPC_REQ_HEAD_METHOD].b.len);
	duk_push_lstring(ctx, f[IPC_REQ_HEAD_URL].b.ptr, f[IPC_REQ_HEAD_URL].b.len);
	duk_push_array(ctx);
	for (size_t i = 0; i < hl->count; i++) {
		duk_push_lstring(ctx, hl->list[i].ptr, hl->list[i].len);
		duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
	}
	duk_push_boolean(ctx, f[IPC_REQ_HEAD_HAS_BODY].u != 0);
	duk_call_method(ctx, 5);
	return 0;
}

static void
serve_on_req_head(struct serve *s, const struct ipc_msg *m)
{
	struct serve_head h = { .msg = m };
	struct serve_req *r;

	if (serve_req_by_id(s, m->id) != NULL)
		serve_violation(s, "REQ_HEAD for a request in progress", m->id);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("cannot allocate request %llu", (unsigned long long)m->id);
		loop_exit(&s->loop, 1);
	}
	r->id = m->id;
	if (++s->next_handle == 0)
		s->next_handle = 1;
	r->handle = s->next_handle;
	r->cpu_left_ns = m->field[IPC_REQ_HEAD_CPU_MS].u * 1000000u;
	r->has_body = m->field[IPC_REQ_HEAD_HAS_BODY].u != 0;
	r->body_done = !r->has_body;
	TAILQ_INSERT_TAIL(&s->reqs, r, entry);
	h.handle = r->handle;
	serve_task(s, h.handle, serve_head_call, &h);
}

struct serve_body {
	const struct ipc_msg *msg;
	uint32_t handle;
};

static duk_ret_t
serve_body_call(duk_context *ctx, void *arg)
{
	struct serve_body *b = arg;
	const struct ipc_value *chunk = &b->msg->field[IPC_REQ_BODY_CHUNK];
	void *p;

	host_push_method(ctx, "onBody");
	duk_push_uint(ctx, b->handle);
	p = duk_push_fixed_buffer(ctx, chunk->b.len);
	if (chunk->b.len > 0)
		memcpy(p, chunk->b.ptr, chunk->b.len);
	duk_push_buffer_object(ctx, -1, 0, chunk->b.len, DUK_BUFOBJ_UINT8ARRAY);
	duk_remove(ctx, -2);
	duk_push_boolean(ctx, b->msg->field[IPC_REQ_BODY_LAST].u != 0);
	duk_call_method(ctx, 3);
	return 0;
}

static void
serve_on_req_body(struct serve *s, const struct ipc_msg *m)
{
	struct serve_req *r = serve_req_by_id(s, m->id);
	struct serve_body b = { .msg = m };

	/* The request may have ended before its body was all sent: not an error. */
	if (r == NULL)
		return;
	if (r->body_done)
		serve_violation(s, "REQ_BODY after the last chunk", m->id);
	r->body_done = m->field[IPC_REQ_BODY_LAST].u != 0;
	b.handle = r->handle;
	serve_task(s, b.handle, serve_body_call, &b);
}

struct serve_credit {
	uint32_t handle;
	uint64_t bytes;
};

static duk_ret_t
serve_credit_call(duk_context *ctx, void *arg)
{
	struct serve_credit *c = arg;

	host_push_method(ctx, "onRespCredit");
	duk_push_uint(ctx, c->handle);
	duk_push_number(ctx, (duk_double_t)c->bytes);
	duk_call_method(ctx, 2);
	return 0;
}

/* RESP_CREDIT: the client took response bytes; a streaming body may go on. */
static void
serve_on_resp_credit(struct serve *s, const struct ipc_msg *m)
{
	struct serve_req *r = serve_req_by_id(s, m->id);
	struct serve_credit c;

	if (r == NULL || !r->streaming)
		return;
	c.handle = r->handle;
	c.bytes = m->field[IPC_RESP_CREDIT_BYTES].u;
	serve_task(s, c.handle, serve_credit_call, &c);
}

void
serve_credit_request_body(struct serve *s, uint32_t handle, uint64_t bytes)
{
	struct serve_req *r = serve_req_by_handle(s, handle);
	struct ipc_value f[1];

	while (r != NULL && bytes > 0) {
		uint64_t n = bytes > IPC_BODY_WINDOW ? IPC_BODY_WINDOW : bytes;

		f[IPC_REQ_CREDIT_BYTES] = ipc_u64(n);
		if (loop_send(&s->loop, IPC_REQ_CREDIT, r->id, f, 1) == -1) {
			log_warn("cannot queue REQ_CREDIT");
			loop_exit(&s->loop, 1);
		}
		bytes -= n;
	}
}

static void
serve_on_req_cancel(struct serve *s, const struct ipc_msg *m)
{
	struct serve_req *r = serve_req_by_id(s, m->id);

	if (r != NULL)
		serve_abort(s, r->handle, 0);
}

static void
serve_on_message(void *arg, const struct ipc_msg *m)
{
	struct serve *s = arg;

	switch (m->type) {
	case IPC_HELLO:
		serve_on_hello(s, m);
		break;
	case IPC_LOAD:
		serve_on_load(s, m);
		break;
	case IPC_REQ_HEAD:
		serve_on_req_head(s, m);
		break;
	case IPC_REQ_BODY:
		serve_on_req_body(s, m);
		break;
	case IPC_REQ_CANCEL:
		serve_on_req_cancel(s, m);
		break;
	case IPC_RESP_CREDIT:
		serve_on_resp_credit(s, m);
		break;
	default:
		/* The table lets no other message reach a sandbox. */
		serve_violation(s, "unexpected message", m->id);
	}
}

void
sandbox_serve(struct sandbox_runtime *rt, int sup_fd, int broker_fd)
{
	/* Lives as long as the process: loop_run never returns. */
	struct serve s = { 0 };
	struct ipc_value hello[3];

	s.rt = rt;
	s.default_cpu_ns = SERVE_DEFAULT_CPU_NS;
	gc_init(&s.gc);
	TAILQ_INIT(&s.reqs);
	rt->serve = &s;
	if (loop_init(&s.loop, sup_fd, serve_on_message, serve_on_timer, &s) == -1)
		loop_exit(&s.loop, 1);
	if ((s.calls = calls_new(&s, &s.loop, broker_fd)) == NULL)
		loop_exit(&s.loop, 1);
	hello[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	hello[IPC_HELLO_ROLE] = ipc_u64(IPC_PEER_SANDBOX);
	hello[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	if (loop_send(&s.loop, IPC_HELLO, 0, hello, 3) == -1) {
		log_warn("cannot queue HELLO");
		loop_exit(&s.loop, 1);
	}
	loop_run(&s.loop);
}
