/*
 * Unit tests for supervisor/broker_calls.c: storage calls over a real
 * channel pair against a scripted broker: the input body sent only as
 * pulled, the output body pulled and gathered, limits, cancels, a broker
 * that goes away, and one that breaks the protocol.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/store.h"
#include "common/buf.h"
#include "common/channel.h"
#include "common/ipc.h"
#include "supervisor/broker_calls.h"

/* --- the scripted broker ------------------------------------------------------- */

struct fake {
	struct channel *ch;
	int admin_calls;
	uint64_t id;
	char tenant[65], kind[17], resource[65], method[33], args[256], limits[256];
	struct buf in;      /* the input body as it arrived */
	int in_pieces;      /* CALL_BODY pieces */
	bool in_last;       /* a piece with last=1 came */
	bool manual;        /* the test sends the RESULT itself */
	int status;         /* of the RESULT it sends */
	const char *doc;    /* of the RESULT it sends */
	const uint8_t *out; /* the output body it sends */
	size_t out_len;
	size_t out_sent;
	uint64_t credit;     /* RESULT_BODY pieces asked for */
	uint64_t max_credit; /* the most ever outstanding */
	int cancels;
	bool closed;
};

static struct event_base *base;
static struct broker_calls *bc;
static struct channel *sup_ch;
static struct fake fake;

struct outcome {
	int calls;
	int status;
	char doc[512];
	struct buf body;
};

static void
fake_send_piece(void)
{
	struct ipc_value f[2];
	size_t n = fake.out_len - fake.out_sent;

	if (n > IPC_BODY_CHUNK_MAX)
		n = IPC_BODY_CHUNK_MAX;
	f[IPC_RESULT_BODY_CHUNK] = ipc_bytes(fake.out + fake.out_sent, n);
	f[IPC_RESULT_BODY_LAST] = ipc_u64(fake.out_sent + n == fake.out_len);
	cr_assert_eq(channel_send(fake.ch, IPC_RESULT_BODY, fake.id, f, 2), 0);
	fake.out_sent += n;
}

static void
fake_result(void)
{
	struct ipc_value f[4];
	size_t n = fake.out_len > IPC_BODY_CHUNK_MAX ? IPC_BODY_CHUNK_MAX : fake.out_len;

	f[IPC_RESULT_STATUS] = ipc_u64((uint64_t)fake.status);
	f[IPC_RESULT_DOC] = ipc_str(fake.doc != NULL ? fake.doc : "{}");
	f[IPC_RESULT_CHUNK] = ipc_bytes(fake.out != NULL ? fake.out : (const uint8_t *)"", n);
	f[IPC_RESULT_MORE] = ipc_u64(n < fake.out_len);
	cr_assert_eq(channel_send(fake.ch, IPC_RESULT, fake.id, f, 4), 0);
	fake.out_sent = n;
}

static void
fake_pull(uint64_t chunks)
{
	struct ipc_value f[1] = { ipc_u64(chunks) };

	cr_assert_eq(channel_send(fake.ch, IPC_CALL_PULL, fake.id, f, 1), 0);
}

static void
copy_str(char *dst, size_t len, const struct ipc_value *v)
{
	snprintf(dst, len, "%.*s", (int)v->b.len, v->b.ptr);
}

static void
fake_on_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	(void)ch;
	(void)arg;
	switch (msg->type) {
	case IPC_ADMIN_CALL:
		fake.admin_calls++;
		fake.id = msg->id;
		copy_str(fake.tenant, sizeof(fake.tenant), &msg->field[IPC_ADMIN_CALL_TENANT]);
		copy_str(fake.kind, sizeof(fake.kind), &msg->field[IPC_ADMIN_CALL_KIND]);
		copy_str(
		    fake.resource, sizeof(fake.resource), &msg->field[IPC_ADMIN_CALL_RESOURCE]);
		copy_str(fake.method, sizeof(fake.method), &msg->field[IPC_ADMIN_CALL_METHOD]);
		copy_str(fake.args, sizeof(fake.args), &msg->field[IPC_ADMIN_CALL_ARGS]);
		copy_str(fake.limits, sizeof(fake.limits), &msg->field[IPC_ADMIN_CALL_LIMITS]);
		buf_append(&fake.in, msg->field[IPC_ADMIN_CALL_CHUNK].b.ptr,
		    msg->field[IPC_ADMIN_CALL_CHUNK].b.len);
		if (msg->field[IPC_ADMIN_CALL_MORE].u != 0)
			fake_pull(IPC_PULL_MAX);
		else if (!fake.manual)
			fake_result();
		break;
	case IPC_CALL_BODY:
		fake.in_pieces++;
		cr_assert_not(fake.in_last, "a piece after the last");
		buf_append(&fake.in, msg->field[IPC_CALL_BODY_CHUNK].b.ptr,
		    msg->field[IPC_CALL_BODY_CHUNK].b.len);
		if (msg->field[IPC_CALL_BODY_LAST].u != 0) {
			fake.in_last = true;
			/* As the real broker may: a top-up pull that crosses the last piece. */
			fake_pull(8);
			if (!fake.manual)
				fake_result();
		}
		break;
	case IPC_RESULT_PULL:
		fake.credit += msg->field[IPC_RESULT_PULL_CHUNKS].u;
		if (fake.credit > fake.max_credit)
			fake.max_credit = fake.credit;
		while (fake.credit > 0 && fake.out_sent < fake.out_len) {
			fake.credit--;
			fake_send_piece();
		}
		break;
	case IPC_CALL_CANCEL:
		fake.cancels++;
		break;
	default:
		cr_assert_fail("unexpected %s", msg->spec->name);
	}
}

static void
fake_on_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	(void)ch;
	(void)arg;
	cr_assert_eq(violation, 0, "the broker side saw a violation: %s", reason);
	fake.closed = true;
	fake.ch = NULL;
}

static const struct channel_ops fake_ops = { .on_message = fake_on_message,
	.on_closed = fake_on_closed };

/* --- the supervisor's side ------------------------------------------------------ */

static void
sup_on_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	(void)ch;
	(void)arg;
	cr_assert(broker_calls_on_message(bc, msg), "%s not taken", msg->spec->name);
}

static void
sup_on_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	(void)ch;
	(void)arg;
	cr_assert_eq(violation, 0, "the supervisor side saw a violation: %s", reason);
	sup_ch = NULL;
	broker_calls_set_channel(bc, NULL);
}

static const struct channel_ops sup_ops = { .on_message = sup_on_message,
	.on_closed = sup_on_closed };

static void
setup(void)
{
	int pair[2];

	memset(&fake, 0, sizeof(fake));
	buf_init(&fake.in);
	cr_assert_not_null(base = event_base_new());
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	sup_ch = channel_new(base, pair[0], IPC_PEER_SUPERVISOR, IPC_PEER_BROKER,
	    IPC_CAP_FROM_BROKER, IPC_ST_READY, 0, &sup_ops, NULL);
	fake.ch = channel_new(base, pair[1], IPC_PEER_BROKER, IPC_PEER_SUPERVISOR,
	    IPC_CAP_BROKER_CONTROL, IPC_ST_READY, 0, &fake_ops, NULL);
	cr_assert_not_null(sup_ch);
	cr_assert_not_null(fake.ch);
	cr_assert_not_null(bc = broker_calls_new());
	broker_calls_set_channel(bc, sup_ch);
}

static void
teardown(void)
{
	cr_assert_eq(broker_calls_count(bc), 0, "a test left a call in flight");
	if (sup_ch != NULL)
		channel_close(sup_ch, "done");
	if (fake.ch != NULL)
		channel_close(fake.ch, "done");
	broker_calls_free(bc);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	buf_release(&fake.in);
}

TestSuite(broker_calls, .init = setup, .fini = teardown, .timeout = 30);

static void
on_done(void *ctx, const struct broker_outcome *out)
{
	struct outcome *o = ctx;

	o->calls++;
	o->status = out->status;
	cr_assert_eq(strlen(out->doc), out->doc_len, "the document is NUL-terminated");
	snprintf(o->doc, sizeof(o->doc), "%s", out->doc);
	buf_append(&o->body, out->body, out->body_len);
}

/* Runs the loop until `done` calls came in (the suite's timeout bounds it). */
static void
run_until(const struct outcome *o, int calls)
{
	while (o->calls < calls)
		cr_assert_neq(event_base_loop(base, EVLOOP_ONCE), -1);
}

static struct broker_call *
start(const char *method, struct buf *body, size_t output_max, struct outcome *o)
{
	struct broker_call_args a = {
		.tenant = "acme",
		.kind = "kv",
		.resource = "0123456789abcdef0123456789abcdef",
		.method = method,
		.args = "{\"key\":\"k\"}",
		.limits = "{\"kv_bytes\":100}",
		.body = body,
		.output_max = output_max,
	};

	buf_init(&o->body);
	return broker_calls_start(bc, &a, on_done, o);
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len);

	cr_assert_not_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	return p;
}

Test(broker_calls, a_call_without_bodies_carries_every_field)
{
	struct outcome o = { .calls = 0 };

	fake.doc = "{\"found\":false}";
	cr_assert_not_null(start("get", NULL, 1000, &o));
	cr_assert_eq(broker_calls_count(bc), 1);
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_OK);
	cr_assert_str_eq(o.doc, "{\"found\":false}");
	cr_assert_eq(o.body.len, 0);
	cr_assert_str_eq(fake.tenant, "acme");
	cr_assert_str_eq(fake.kind, "kv");
	cr_assert_str_eq(fake.resource, "0123456789abcdef0123456789abcdef");
	cr_assert_str_eq(fake.method, "get");
	cr_assert_str_eq(fake.args, "{\"key\":\"k\"}");
	cr_assert_str_eq(fake.limits, "{\"kv_bytes\":100}");
	cr_assert_eq(broker_calls_count(bc), 0);
	buf_release(&o.body);
}

Test(broker_calls, the_input_body_goes_in_pieces_as_pulled)
{
	size_t len = 3 * IPC_BODY_CHUNK_MAX + 10;
	uint8_t *data = pattern(len);
	struct outcome o = { .calls = 0 };
	struct buf body;

	buf_init(&body);
	cr_assert_eq(buf_append(&body, data, len), 0);
	cr_assert_not_null(start("put", &body, 1000, &o));
	cr_assert_eq(body.len, 0, "the body moved into the call");
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_OK);
	cr_assert_eq(fake.in_pieces, 3, "first piece in ADMIN_CALL, three pulled");
	cr_assert(fake.in_last);
	cr_assert_eq(fake.in.len, len);
	cr_assert_eq(memcmp(fake.in.data, data, len), 0);
	/* The crossing pull asked for nothing more and failed nothing. */
	cr_assert_eq(fake.cancels, 0);
	free(data);
	buf_release(&o.body);
}

Test(broker_calls, a_body_of_exactly_one_piece_needs_no_pull)
{
	uint8_t *data = pattern(IPC_BODY_CHUNK_MAX);
	struct outcome o = { .calls = 0 };
	struct buf body;

	buf_init(&body);
	buf_append(&body, data, IPC_BODY_CHUNK_MAX);
	cr_assert_not_null(start("put", &body, 1000, &o));
	run_until(&o, 1);
	cr_assert_eq(fake.in_pieces, 0);
	cr_assert_eq(fake.in.len, IPC_BODY_CHUNK_MAX);
	free(data);
	buf_release(&o.body);
}

Test(broker_calls, the_output_body_is_pulled_within_the_window)
{
	size_t len = 40 * IPC_BODY_CHUNK_MAX + 1;
	uint8_t *data = pattern(len);
	struct outcome o = { .calls = 0 };

	fake.out = data;
	fake.out_len = len;
	fake.doc = "{\"found\":true}";
	cr_assert_not_null(start("get", NULL, len, &o));
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_OK);
	cr_assert_str_eq(o.doc, "{\"found\":true}");
	cr_assert_eq(o.body.len, len);
	cr_assert_eq(memcmp(o.body.data, data, len), 0);
	cr_assert_leq(fake.max_credit, IPC_PULL_MAX, "never more than one window asked for");
	free(data);
	buf_release(&o.body);
}

Test(broker_calls, an_output_body_over_the_limit_fails_and_is_cancelled)
{
	size_t len = 4 * IPC_BODY_CHUNK_MAX;
	uint8_t *data = pattern(len);
	struct outcome o = { .calls = 0 };

	fake.out = data;
	fake.out_len = len;
	cr_assert_not_null(start("get", NULL, IPC_BODY_CHUNK_MAX + 5, &o));
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_E_TOO_LARGE);
	cr_assert_not_null(strstr(o.doc, "\"message\""), "%s", o.doc);
	cr_assert_eq(o.body.len, 0);
	while (fake.cancels == 0)
		event_base_loop(base, EVLOOP_ONCE);
	free(data);
	buf_release(&o.body);
}

Test(broker_calls, discard_body_takes_the_document_only)
{
	size_t len = 3 * IPC_BODY_CHUNK_MAX;
	uint8_t *data = pattern(len);
	struct outcome o = { .calls = 0 };
	struct broker_call_args a = { "acme", "kv", "0123456789abcdef0123456789abcdef", "get", "{}",
		"{}", NULL, 10, true };

	fake.out = data;
	fake.out_len = len;
	fake.doc = "{\"found\":true,\"metadata\":{\"a\":1}}";
	buf_init(&o.body);
	cr_assert_not_null(broker_calls_start(bc, &a, on_done, &o));
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_OK, "the body was never over the limit: never pulled");
	cr_assert_str_eq(o.doc, "{\"found\":true,\"metadata\":{\"a\":1}}");
	cr_assert_eq(o.body.len, 0);
	while (fake.cancels == 0)
		event_base_loop(base, EVLOOP_ONCE);
	cr_assert_eq(fake.max_credit, 0);
	free(data);
	buf_release(&o.body);
}

Test(broker_calls, a_failure_carries_its_document)
{
	struct outcome o = { .calls = 0 };

	fake.status = STORE_E_NOT_FOUND;
	fake.doc = "{\"message\":\"namespace not found\"}";
	cr_assert_not_null(start("get", NULL, 1000, &o));
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_E_NOT_FOUND);
	cr_assert_str_eq(o.doc, "{\"message\":\"namespace not found\"}");
	buf_release(&o.body);
}

Test(broker_calls, a_cancelled_call_never_calls_back)
{
	struct outcome o = { .calls = 0 }, o2 = { .calls = 0 };
	struct broker_call *c;

	fake.manual = true;
	cr_assert_not_null(c = start("get", NULL, 1000, &o));
	while (fake.admin_calls == 0)
		event_base_loop(base, EVLOOP_ONCE);
	broker_call_cancel(c);
	cr_assert_eq(broker_calls_count(bc), 0);
	while (fake.cancels == 0)
		event_base_loop(base, EVLOOP_ONCE);
	/* Its RESULT still crosses the cancel: dropped.  A later call goes on. */
	fake_result();
	fake.manual = false;
	cr_assert_not_null(start("get", NULL, 1000, &o2));
	run_until(&o2, 1);
	cr_assert_eq(o.calls, 0);
	cr_assert_eq(o2.status, STORE_OK);
	buf_release(&o.body);
	buf_release(&o2.body);
}

Test(broker_calls, a_broker_that_goes_away_fails_calls_in_flight)
{
	struct outcome o = { .calls = 0 }, o2 = { .calls = 0 };

	fake.manual = true;
	cr_assert_not_null(start("get", NULL, 1000, &o));
	cr_assert_not_null(start("list", NULL, 1000, &o2));
	while (fake.admin_calls < 2)
		event_base_loop(base, EVLOOP_ONCE);
	channel_close(fake.ch, "broker crashed");
	run_until(&o2, 1);
	cr_assert_eq(o.calls, 1);
	cr_assert_eq(o.status, STORE_E_UNAVAILABLE);
	cr_assert_eq(o2.status, STORE_E_UNAVAILABLE);
	cr_assert_not_null(strstr(o.doc, "restarting"), "%s", o.doc);
	/* Until a new channel is set, calls are refused and never call back. */
	cr_assert_null(start("get", NULL, 1000, &o));
	cr_assert_eq(o.calls, 1);
	buf_release(&o.body);
	buf_release(&o2.body);
}

Test(broker_calls, a_body_nobody_asked_for_fails_only_its_call)
{
	struct outcome o = { .calls = 0 };
	struct ipc_value f[2] = { ipc_bytes("x", 1), ipc_u64(1) };

	fake.manual = true;
	cr_assert_not_null(start("get", NULL, 1000, &o));
	while (fake.admin_calls == 0)
		event_base_loop(base, EVLOOP_ONCE);
	cr_assert_eq(channel_send(fake.ch, IPC_RESULT_BODY, fake.id, f, 2), 0);
	run_until(&o, 1);
	cr_assert_eq(o.status, STORE_E_INTERNAL);
	cr_assert_not_null(sup_ch, "the channel stays open");
	buf_release(&o.body);
}

Test(broker_calls, oversized_arguments_are_refused_at_once)
{
	struct outcome o = { .calls = 0 };
	struct broker_call_args a = { .tenant = "acme",
		.kind = "kv",
		.resource = "r",
		.method = "get",
		.limits = "{}",
		.output_max = 10 };
	char *args = malloc(IPC_CALL_ARGS_MAX + 2);

	memset(args, ' ', IPC_CALL_ARGS_MAX + 1);
	args[IPC_CALL_ARGS_MAX + 1] = '\0';
	a.args = args;
	cr_assert_null(broker_calls_start(bc, &a, on_done, &o));
	cr_assert_eq(broker_calls_count(bc), 0);
	free(args);
}
