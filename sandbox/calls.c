/*
 * calls: the table of a sandbox's binding calls in flight and the broker
 * side of their protocol; each broker message becomes one macrotask of the
 * request that made the call.  Runs in sandboxes.
 */
#include "sandbox/calls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/host.h"
#include "sandbox/loop.h"
#include "sandbox/serve.h"

enum call_phase {
	CALL_FREE = 0, /* an unused slot */
	CALL_WAITING,  /* sent; no RESULT yet */
	CALL_OUTPUT,   /* RESULT had more=1: RESULT_BODY pieces to come as pulled */
	CALL_LOST,     /* the broker is gone: rt.onCallLost is due */
};

struct call {
	uint32_t id;
	uint32_t owner; /* the request's handle */
	enum call_phase phase;
	bool input_open;       /* CALL_BODY pieces still to send */
	uint64_t input_pulled; /* pieces the broker asked for and has not had */
	unsigned output_asked; /* RESULT_BODY pieces asked for and not yet received */
};

/* How many calls a live request has made. */
struct calls_count {
	uint32_t handle;
	unsigned made;
};

struct calls {
	struct serve *serve;
	struct loop *loop;
	struct call table[CALLS_IN_FLIGHT_MAX];
	uint32_t next_id;
	struct calls_count *counts; /* requests that made calls; few at once */
	size_t ncounts;
	size_t counts_cap;
	uint32_t *dropped; /* ids dropped with their request; JS not told yet */
	size_t ndropped;
	size_t dropped_cap;
	bool lost; /* some calls are CALL_LOST */
};

static void calls_on_message(void *arg, const struct ipc_msg *msg);
static void calls_on_lost(void *arg);
static void calls_run_deferred(void *arg);

struct calls *
calls_new(struct serve *serve, struct loop *loop, int broker_fd)
{
	struct calls *c = calloc(1, sizeof(*c));
	struct ipc_value hello[3];

	if (c == NULL) {
		log_warn("cannot allocate the call table");
		return NULL;
	}
	c->serve = serve;
	c->loop = loop;
	if (loop_attach_broker(loop, broker_fd, calls_on_message, calls_on_lost, c) == -1)
		goto fail;
	loop_set_idle(loop, calls_run_deferred, c);
	if (!loop_broker_is_open(loop))
		return c;
	hello[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	hello[IPC_HELLO_ROLE] = ipc_u64(IPC_PEER_SANDBOX);
	hello[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	if (loop_send_broker(loop, IPC_HELLO, 0, hello, 3) == -1) {
		log_warn("cannot queue HELLO to the broker");
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

void
calls_free(struct calls *c)
{
	if (c == NULL)
		return;
	free(c->counts);
	free(c->dropped);
	free(c);
}

/* ---- the table ------------------------------------------------------------ */

static struct call *
calls_find(struct calls *c, uint64_t id)
{
	if (id == 0 || id > UINT32_MAX)
		return NULL;
	for (size_t i = 0; i < CALLS_IN_FLIGHT_MAX; i++)
		if (c->table[i].phase != CALL_FREE && c->table[i].id == id)
			return &c->table[i];
	return NULL;
}

static struct call *
calls_free_slot(struct calls *c)
{
	for (size_t i = 0; i < CALLS_IN_FLIGHT_MAX; i++)
		if (c->table[i].phase == CALL_FREE)
			return &c->table[i];
	return NULL;
}

/* A fresh id: a per-sandbox counter from 1 that skips 0 and ids in the table. */
static uint32_t
calls_next_id(struct calls *c)
{
	do {
		if (++c->next_id == 0)
			c->next_id = 1;
	} while (calls_find(c, c->next_id) != NULL);
	return c->next_id;
}

static void
calls_forget(struct call *call)
{
	memset(call, 0, sizeof(*call));
}

/* Sends CALL_CANCEL for `call` unless the broker is gone.  Only memory can fail here. */
static void
calls_send_cancel(struct calls *c, const struct call *call)
{
	struct ipc_value f[1];

	if (!loop_broker_is_open(c->loop))
		return;
	f[IPC_CALL_CANCEL_REASON] = ipc_u64(0);
	if (loop_send_broker(c->loop, IPC_CALL_CANCEL, call->id, f, 1) == -1)
		log_warn("cannot queue CALL_CANCEL for call %u", call->id);
}

/* ---- counting --------------------------------------------------------------- */

static struct calls_count *
calls_count_of(struct calls *c, uint32_t handle)
{
	for (size_t i = 0; i < c->ncounts; i++)
		if (c->counts[i].handle == handle)
			return &c->counts[i];
	return NULL;
}

int
calls_admit(struct calls *c, uint32_t handle)
{
	struct calls_count *n = calls_count_of(c, handle);

	if (n == NULL) {
		if (c->ncounts == c->counts_cap) {
			size_t cap = c->counts_cap ? c->counts_cap * 2 : 8;
			struct calls_count *grown = reallocarray(c->counts, cap, sizeof(*grown));

			if (grown == NULL)
				return -1;
			c->counts = grown;
			c->counts_cap = cap;
		}
		n = &c->counts[c->ncounts++];
		n->handle = handle;
		n->made = 0;
	}
	if (n->made >= CALLS_PER_REQUEST_MAX) {
		errno = EMFILE;
		return -1;
	}
	n->made++;
	return 0;
}

/* ---- from JS ------------------------------------------------------------------ */

enum calls_start_result
calls_start(struct calls *c, uint32_t owner, const struct ipc_bytes *binding,
    const struct ipc_bytes *method, const struct ipc_bytes *args, const void *chunk, size_t len,
    bool more, uint32_t *id)
{
	struct ipc_value f[5];
	struct call *call;

	if (!serve_has_request(c->serve, owner))
		return CALLS_GONE;
	if ((call = calls_free_slot(c)) == NULL)
		return CALLS_BUSY;
	call->id = calls_next_id(c);
	call->owner = owner;
	if (loop_broker_is_open(c->loop)) {
		f[IPC_CALL_BINDING] = ipc_bytes(binding->ptr, binding->len);
		f[IPC_CALL_METHOD] = ipc_bytes(method->ptr, method->len);
		f[IPC_CALL_ARGS] = ipc_bytes(args->ptr, args->len);
		f[IPC_CALL_CHUNK] = ipc_bytes(chunk != NULL ? chunk : "", chunk != NULL ? len : 0);
		f[IPC_CALL_MORE] = ipc_u64(more);
		if (loop_send_broker(c->loop, IPC_CALL, call->id, f, 5) == -1) {
			if (errno != EINVAL) {
				log_warn("cannot queue CALL");
				loop_exit(c->loop, 1);
			}
			calls_forget(call);
			return CALLS_INVALID;
		}
		call->phase = CALL_WAITING;
		call->input_open = more;
	} else {
		call->phase = CALL_LOST;
		c->lost = true;
	}
	*id = call->id;
	return CALLS_STARTED;
}

int
calls_body(struct calls *c, uint32_t id, const void *chunk, size_t len, bool last)
{
	struct call *call = calls_find(c, id);
	struct ipc_value f[2];

	if (call == NULL || call->phase != CALL_WAITING || !call->input_open)
		return 0;
	if (call->input_pulled == 0 || len > IPC_BODY_CHUNK_MAX)
		return -1;
	f[IPC_CALL_BODY_CHUNK] = ipc_bytes(len > 0 ? chunk : "", len);
	f[IPC_CALL_BODY_LAST] = ipc_u64(last);
	if (loop_send_broker(c->loop, IPC_CALL_BODY, id, f, 2) == -1) {
		log_warn("cannot queue CALL_BODY");
		loop_exit(c->loop, 1);
	}
	call->input_pulled--;
	if (last)
		call->input_open = false;
	return 1;
}

void
calls_pull(struct calls *c, uint32_t id, unsigned n)
{
	struct call *call = calls_find(c, id);
	struct ipc_value f[1];

	if (call == NULL || call->phase != CALL_OUTPUT)
		return;
	if (n > IPC_PULL_MAX - call->output_asked)
		n = IPC_PULL_MAX - call->output_asked;
	if (n == 0)
		return;
	f[IPC_RESULT_PULL_CHUNKS] = ipc_u64(n);
	if (loop_send_broker(c->loop, IPC_RESULT_PULL, id, f, 1) == -1) {
		log_warn("cannot queue RESULT_PULL");
		loop_exit(c->loop, 1);
	}
	call->output_asked += n;
}

void
calls_cancel(struct calls *c, uint32_t id)
{
	struct call *call = calls_find(c, id);

	if (call == NULL)
		return;
	if (call->phase != CALL_LOST)
		calls_send_cancel(c, call);
	calls_forget(call);
}

void
calls_end_request(struct calls *c, uint32_t handle)
{
	struct calls_count *n = calls_count_of(c, handle);

	if (n != NULL)
		*n = c->counts[--c->ncounts];
	for (size_t i = 0; i < CALLS_IN_FLIGHT_MAX; i++) {
		struct call *call = &c->table[i];

		if (call->phase == CALL_FREE || call->owner != handle)
			continue;
		if (call->phase != CALL_LOST)
			calls_send_cancel(c, call);
		if (c->ndropped == c->dropped_cap) {
			size_t cap = c->dropped_cap ? c->dropped_cap * 2 : CALLS_IN_FLIGHT_MAX;
			uint32_t *grown = reallocarray(c->dropped, cap, sizeof(*grown));

			if (grown != NULL) {
				c->dropped = grown;
				c->dropped_cap = cap;
			}
		}
		/* Without memory JS keeps a stale entry, which nothing will ever reach. */
		if (c->ndropped < c->dropped_cap)
			c->dropped[c->ndropped++] = call->id;
		calls_forget(call);
	}
}

/* ---- macrotasks ------------------------------------------------------------ */

/* Pushes a Uint8Array holding a copy of `b`. */
static void
calls_push_chunk(duk_context *ctx, const struct ipc_bytes *b)
{
	void *p = duk_push_fixed_buffer(ctx, b->len);

	if (b->len > 0)
		memcpy(p, b->ptr, b->len);
	duk_push_buffer_object(ctx, -1, 0, b->len, DUK_BUFOBJ_UINT8ARRAY);
	duk_remove(ctx, -2);
}

/* What a task passes into JS: the call and the message that concerns it. */
struct calls_event {
	uint32_t id;
	const struct ipc_msg *msg;
	bool more; /* RESULT: whether output pieces follow */
	const uint32_t *ids;
	size_t nids;
};

static duk_ret_t
calls_result_call(duk_context *ctx, void *arg)
{
	struct calls_event *ev = arg;
	const struct ipc_value *f = ev->msg->field;

	host_push_method(ctx, "onCallResult");
	duk_push_uint(ctx, ev->id);
	duk_push_uint(ctx, (duk_uint_t)f[IPC_RESULT_STATUS].u);
	duk_push_lstring(ctx, f[IPC_RESULT_DOC].b.ptr, f[IPC_RESULT_DOC].b.len);
	calls_push_chunk(ctx, &f[IPC_RESULT_CHUNK].b);
	duk_push_boolean(ctx, ev->more);
	duk_call_method(ctx, 5);
	return 0;
}

static duk_ret_t
calls_body_call(duk_context *ctx, void *arg)
{
	struct calls_event *ev = arg;
	const struct ipc_value *f = ev->msg->field;

	host_push_method(ctx, "onCallBody");
	duk_push_uint(ctx, ev->id);
	calls_push_chunk(ctx, &f[IPC_RESULT_BODY_CHUNK].b);
	duk_push_boolean(ctx, f[IPC_RESULT_BODY_LAST].u != 0);
	duk_call_method(ctx, 3);
	return 0;
}

static duk_ret_t
calls_pull_call(duk_context *ctx, void *arg)
{
	struct calls_event *ev = arg;

	host_push_method(ctx, "onCallPull");
	duk_push_uint(ctx, ev->id);
	duk_push_uint(ctx, (duk_uint_t)ev->msg->field[IPC_CALL_PULL_CHUNKS].u);
	duk_call_method(ctx, 2);
	return 0;
}

static duk_ret_t
calls_lost_call(duk_context *ctx, void *arg)
{
	struct calls_event *ev = arg;

	host_push_method(ctx, "onCallLost");
	duk_push_uint(ctx, ev->id);
	duk_call_method(ctx, 1);
	return 0;
}

static duk_ret_t
calls_dropped_call(duk_context *ctx, void *arg)
{
	struct calls_event *ev = arg;

	host_push_method(ctx, "onCallsDropped");
	duk_push_array(ctx);
	for (size_t i = 0; i < ev->nids; i++) {
		duk_push_uint(ctx, ev->ids[i]);
		duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
	}
	duk_call_method(ctx, 1);
	return 0;
}

/* ---- from the broker ----------------------------------------------------------- */

static void
calls_violation(struct calls *c, const char *what, uint64_t id)
{
	log_warnx("protocol violation by the broker: %s (call %llu)", what, (unsigned long long)id);
	loop_exit(c->loop, 2);
}

static void
calls_on_pull(struct calls *c, struct call *call, const struct ipc_msg *m)
{
	struct calls_event ev = { .id = call->id, .msg = m };
	uint64_t n = m->field[IPC_CALL_PULL_CHUNKS].u;

	/* A pull after the last piece went out races with it: nothing to send. */
	if (call->phase != CALL_WAITING || !call->input_open || n == 0)
		return;
	call->input_pulled += n;
	serve_task(c->serve, call->owner, calls_pull_call, &ev);
}

static void
calls_on_result(struct calls *c, struct call *call, const struct ipc_msg *m)
{
	struct calls_event ev = { .id = call->id, .msg = m };
	uint32_t owner = call->owner;

	if (call->phase != CALL_WAITING)
		calls_violation(c, "a second RESULT", m->id);
	ev.more = m->field[IPC_RESULT_MORE].u != 0;
	/* A failure carries no body (broker/store.h): do not wait for one. */
	if (ev.more && m->field[IPC_RESULT_STATUS].u != 0) {
		calls_send_cancel(c, call);
		ev.more = false;
	}
	/* The outcome is known: the broker wants no more input. */
	call->input_open = false;
	call->input_pulled = 0;
	if (ev.more)
		call->phase = CALL_OUTPUT;
	else
		calls_forget(call);
	serve_task(c->serve, owner, calls_result_call, &ev);
}

static void
calls_on_result_body(struct calls *c, struct call *call, const struct ipc_msg *m)
{
	struct calls_event ev = { .id = call->id, .msg = m };
	uint32_t owner = call->owner;

	if (call->phase != CALL_OUTPUT || call->output_asked == 0)
		calls_violation(c, "RESULT_BODY that was not asked for", m->id);
	call->output_asked--;
	if (m->field[IPC_RESULT_BODY_LAST].u != 0)
		calls_forget(call);
	serve_task(c->serve, owner, calls_body_call, &ev);
}

static void
calls_on_hello(struct calls *c, const struct ipc_msg *m)
{
	if (m->field[IPC_HELLO_VERSION].u != IPC_VERSION)
		calls_violation(c, "unsupported IPC version", 0);
	if (m->field[IPC_HELLO_ROLE].u != IPC_PEER_BROKER)
		calls_violation(c, "HELLO from a peer that is not the broker", 0);
	c->loop->broker.state = IPC_ST_READY;
}

static void
calls_on_message(void *arg, const struct ipc_msg *m)
{
	struct calls *c = arg;
	struct call *call;

	if (m->type == IPC_HELLO) {
		calls_on_hello(c, m);
		return;
	}
	/* Messages for calls that ended or were cancelled race with the end. */
	if ((call = calls_find(c, m->id)) == NULL || call->phase == CALL_LOST)
		return;
	switch (m->type) {
	case IPC_CALL_PULL:
		calls_on_pull(c, call, m);
		break;
	case IPC_RESULT:
		calls_on_result(c, call, m);
		break;
	case IPC_RESULT_BODY:
		calls_on_result_body(c, call, m);
		break;
	default:
		/* The table lets no other message reach a sandbox from the broker. */
		calls_violation(c, "unexpected message", m->id);
	}
}

static void
calls_on_lost(void *arg)
{
	struct calls *c = arg;
	size_t n = 0;

	for (size_t i = 0; i < CALLS_IN_FLIGHT_MAX; i++) {
		if (c->table[i].phase != CALL_FREE) {
			c->table[i].phase = CALL_LOST;
			c->lost = true;
			n++;
		}
	}
	/* Sandboxes that never make calls (upload checks) lose the channel routinely. */
	if (n > 0)
		log_warnx("the broker channel is gone: %zu calls in flight fail", n);
}

/* Tells JS the ids dropped with their requests, in one task of no request. */
static void
calls_report_dropped(struct calls *c)
{
	struct calls_event ev = { 0 };
	uint32_t *ids = c->dropped;

	ev.ids = ids;
	ev.nids = c->ndropped;
	/* Taken first: the task may end requests, which drop more. */
	c->dropped = NULL;
	c->ndropped = c->dropped_cap = 0;
	serve_task(c->serve, 0, calls_dropped_call, &ev);
	free(ids);
}

/* Reports one lost call to its request; false when there was none. */
static bool
calls_report_one_lost(struct calls *c)
{
	for (size_t i = 0; i < CALLS_IN_FLIGHT_MAX; i++) {
		struct call *call = &c->table[i];
		struct calls_event ev = { .id = call->id };
		uint32_t owner = call->owner;

		if (call->phase != CALL_LOST)
			continue;
		calls_forget(call);
		serve_task(c->serve, owner, calls_lost_call, &ev);
		return true;
	}
	return false;
}

static void
calls_run_deferred(void *arg)
{
	struct calls *c = arg;

	/* Each task may start calls that are lost at once, or end requests: loop until quiet. */
	while (c->ndropped > 0 || c->lost) {
		if (c->ndropped > 0)
			calls_report_dropped(c);
		else if (!calls_report_one_lost(c))
			c->lost = false;
	}
}
