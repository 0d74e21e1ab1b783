/*
 * test_channel: an IPC channel as the supervisor runs it, against a raw peer
 * on a socketpair: the HELLO exchange, delivery in the right state, the
 * close with `violation` set for every gate a hostile peer can fail, and
 * the output queue's low-water callback.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/channel.h"
#include "common/ipc.h"

struct seen {
	int messages;
	uint16_t last_type;
	int closed;
	int violation;
	char reason[128];
	int fd; /* taken from a descriptor-carrying message */
	int drained;
	size_t pending_when_drained;
};

static void
on_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct seen *s = arg;

	s->messages++;
	s->last_type = msg->type;
	if (msg->spec->nfds > 0)
		s->fd = channel_take_fd(ch);
}

static void
on_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct seen *s = arg;

	(void)ch;
	s->closed++;
	s->violation = violation;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

static void
on_drained(struct channel *ch, void *arg)
{
	struct seen *s = arg;

	s->drained++;
	s->pending_when_drained = channel_pending(ch);
}

static void
on_drained_close(struct channel *ch, void *arg)
{
	on_drained(ch, arg);
	channel_close(ch, "drained");
}

static const struct channel_ops ops = { .on_message = on_message, .on_closed = on_closed };

/* The test's side of the socketpair speaks raw frames, as a hostile peer would. */
struct rig {
	struct event_base *base;
	struct channel *ch;
	int peer;
	struct seen seen;
};

static void
rig_open(
    struct rig *r, enum ipc_peer self, enum ipc_peer peer, unsigned after_hello, unsigned flags)
{
	int pair[2];

	memset(r, 0, sizeof(*r));
	r->seen.fd = -1;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	r->peer = pair[1];
	cr_assert_not_null(r->base = event_base_new());
	r->ch = channel_new(
	    r->base, pair[0], self, peer, IPC_CAP_FROM_SANDBOX, after_hello, flags, &ops, &r->seen);
	cr_assert_not_null(r->ch);
}

/* Runs the loop until the channel closed or `messages` arrived (bounded). */
static void
rig_run(struct rig *r, int messages)
{
	struct timeval bound = { 5, 0 };

	event_base_loopexit(r->base, &bound);
	while (!r->seen.closed && r->seen.messages < messages)
		if (event_base_loop(r->base, EVLOOP_ONCE) != 0)
			break;
}

static void
rig_close(struct rig *r)
{
	if (!r->seen.closed)
		channel_close(r->ch, "test over");
	event_base_free(r->base);
	close(r->peer);
	if (r->seen.fd != -1)
		close(r->seen.fd);
}

static void
peer_send(struct rig *r, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	struct buf b;

	buf_init(&b);
	cr_assert_eq(ipc_encode(&b, type, id, f, n), 0);
	cr_assert_eq(ipc_write_all(r->peer, &b), 0);
	buf_release(&b);
}

static void
peer_hello(struct rig *r, uint64_t version, enum ipc_peer role)
{
	struct ipc_value f[3] = { ipc_u64(version), ipc_u64(role), ipc_u64(4242) };

	peer_send(r, IPC_HELLO, 0, f, 3);
}

static void
peer_log(struct rig *r)
{
	struct ipc_value f[2] = { ipc_u64(2), ipc_str("hello") };

	peer_send(r, IPC_LOG, 0, f, 2);
}

Test(channel, hello_then_messages_in_the_allowed_state)
{
	struct rig r;

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	peer_hello(&r, IPC_VERSION, IPC_PEER_SANDBOX);
	peer_log(&r);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.messages, 1);
	cr_expect_eq(r.seen.last_type, IPC_LOG);
	cr_expect_eq(r.seen.closed, 0);
	cr_expect_eq(channel_peer_pid(r.ch), 4242);
	rig_close(&r);
}

Test(channel, wrong_version_is_a_violation)
{
	struct rig r;

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	peer_hello(&r, IPC_VERSION + 1, IPC_PEER_SANDBOX);
	peer_log(&r);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 1);
	cr_expect_eq(r.seen.messages, 0, "a message got through after a bad HELLO");
	rig_close(&r);
}

Test(channel, wrong_role_is_a_violation)
{
	struct rig r;

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	peer_hello(&r, IPC_VERSION, IPC_PEER_BROKER);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 1);
	rig_close(&r);
}

Test(channel, message_before_hello_is_a_violation)
{
	struct rig r;

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	peer_log(&r);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 1);
	cr_expect_eq(r.seen.messages, 0);
	rig_close(&r);
}

Test(channel, message_not_allowed_in_the_state_is_a_violation)
{
	struct rig r;

	/* A blank sandbox may say nothing at all after its HELLO. */
	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_BLANK, 0);
	peer_hello(&r, IPC_VERSION, IPC_PEER_SANDBOX);
	peer_log(&r);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 1);
	cr_expect_eq(r.seen.messages, 0);
	rig_close(&r);
}

Test(channel, frame_over_the_cap_is_a_violation_before_any_allocation)
{
	static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
	struct rig r;

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	peer_hello(&r, IPC_VERSION, IPC_PEER_SANDBOX);
	cr_assert_eq(write(r.peer, huge, sizeof(huge)), (ssize_t)sizeof(huge));
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 1);
	cr_expect(strstr(r.seen.reason, "cap") != NULL, "reason: %s", r.seen.reason);
	rig_close(&r);
}

Test(channel, descriptors_from_an_untrusted_peer_are_a_violation)
{
	struct rig r;
	struct buf b;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct ipc_value f[3] = { ipc_u64(IPC_VERSION), ipc_u64(IPC_PEER_SANDBOX), ipc_u64(1) };

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	buf_init(&b);
	cr_assert_eq(ipc_encode(&b, IPC_HELLO, 0, f, 3), 0);
	cr_assert_eq(ipc_send_with_fds(r.peer, &b, &fd, 1), 0);
	buf_release(&b);
	close(fd);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 1);
	rig_close(&r);
}

Test(channel, eof_is_a_close_without_violation)
{
	struct rig r;

	rig_open(&r, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY, 0);
	peer_hello(&r, IPC_VERSION, IPC_PEER_SANDBOX);
	shutdown(r.peer, SHUT_WR);
	rig_run(&r, 1);
	cr_expect_eq(r.seen.closed, 1);
	cr_expect_eq(r.seen.violation, 0);
	rig_close(&r);
}

Test(channel, descriptors_travel_between_trusted_channels)
{
	struct event_base *base = event_base_new();
	struct seen sender = { .fd = -1 }, receiver = { .fd = -1 };
	struct channel *a, *b;
	struct timeval bound = { 5, 0 };
	struct ipc_value f[6];
	int pair[2], pipefd[2];
	char c = 0;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	a = channel_new(base, pair[0], IPC_PEER_SUPERVISOR, IPC_PEER_BROKER, IPC_CAP_CONTROL,
	    IPC_ST_READY, CHANNEL_SEND_FDS, &ops, &sender);
	b = channel_new(base, pair[1], IPC_PEER_BROKER, IPC_PEER_SUPERVISOR, IPC_CAP_BROKER_CONTROL,
	    IPC_ST_READY, CHANNEL_RECV_FDS, &ops, &receiver);
	cr_assert(a != NULL && b != NULL);
	f[IPC_ATTACH_CHANNEL] = ipc_u64(7);
	f[IPC_ATTACH_TENANT] = ipc_str("t");
	f[IPC_ATTACH_WORKER] = ipc_str("w");
	f[IPC_ATTACH_VERSION] = ipc_u64(1);
	f[IPC_ATTACH_BINDINGS] = ipc_str("[]");
	f[IPC_ATTACH_LIMITS] = ipc_str("{}");
	cr_assert_eq(channel_send_fds(a, IPC_ATTACH, 0, f, 6, &pipefd[1], 1), 0);
	event_base_loopexit(base, &bound);
	while (receiver.messages == 0 && !receiver.closed)
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			break;
	cr_assert_eq(receiver.messages, 1);
	cr_assert_eq(receiver.last_type, IPC_ATTACH);
	cr_assert_neq(receiver.fd, -1, "the descriptor did not arrive");
	/* The received descriptor is the pipe's write end. */
	cr_expect_eq(write(receiver.fd, "x", 1), 1);
	cr_expect_eq(read(pipefd[0], &c, 1), 1);
	cr_expect_eq(c, 'x');
	close(receiver.fd);
	close(pipefd[0]);
	channel_close(a, "done");
	channel_close(b, "done");
	event_base_free(base);
}

/* Empties the peer end of the socketpair without waiting. */
static void
peer_drain(int fd)
{
	char junk[65536];

	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		continue;
}

/* Queues LOG messages of 1 KiB text until at least `bytes` are pending. */
static void
queue_logs(struct channel *ch, size_t bytes)
{
	static char text[1024];
	struct ipc_value f[2];

	memset(text, 'x', sizeof(text) - 1);
	f[0] = ipc_u64(2);
	f[1] = ipc_str(text);
	while (channel_pending(ch) < bytes)
		cr_assert_eq(channel_send(ch, IPC_LOG, 0, f, 2), 0);
}

/* Turns the loop, the peer reading everything, until on_drained ran `want` times (bounded). */
static void
run_reading(struct event_base *base, int peer, struct seen *s, int want)
{
	for (int i = 0; i < 1000 && s->drained < want && !s->closed; i++) {
		peer_drain(peer);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
}

/* A sandbox's channel to the supervisor, which the test's end of the pair reads. */
static struct channel *
drain_rig(struct event_base *base, int pair[2], const struct channel_ops *o, struct seen *s)
{
	struct channel *ch;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	ch = channel_new(base, pair[0], IPC_PEER_SANDBOX, IPC_PEER_SUPERVISOR, IPC_CAP_CONTROL,
	    IPC_ST_READY, 0, o, s);
	cr_assert_not_null(ch);
	return ch;
}

Test(channel, on_drained_runs_once_the_queue_is_back_under_the_low_water_mark)
{
	static const struct channel_ops o = {
		.on_message = on_message,
		.on_closed = on_closed,
		.on_drained = on_drained,
	};
	struct event_base *base = event_base_new();
	struct seen s = { .fd = -1 };
	struct channel *ch;
	int pair[2];

	cr_assert_not_null(base);
	ch = drain_rig(base, pair, &o, &s);

	/* Without a mark the queue fills and empties without a call. */
	queue_logs(ch, 64 << 10);
	run_reading(base, pair[1], &s, 1);
	cr_expect_eq(channel_pending(ch), 0);
	cr_expect_eq(s.drained, 0, "on_drained ran with no low-water mark set");

	/* Over the mark: one call, once the queue is under it again. */
	channel_set_low_water(ch, 32 << 10);
	queue_logs(ch, 256 << 10);
	run_reading(base, pair[1], &s, 1);
	cr_expect_eq(s.drained, 1);
	cr_expect_lt(s.pending_when_drained, 32 << 10);

	/* Output that never reached the mark calls nothing. */
	queue_logs(ch, 1);
	run_reading(base, pair[1], &s, 2);
	cr_expect_eq(channel_pending(ch), 0);
	cr_expect_eq(s.drained, 1, "on_drained ran for output under the mark");
	cr_expect_eq(s.closed, 0);

	channel_close(ch, "test over");
	cr_expect_eq(s.closed, 1);
	close(pair[1]);
	event_base_free(base);
}

Test(channel, on_drained_may_close_its_channel)
{
	static const struct channel_ops o = {
		.on_message = on_message,
		.on_closed = on_closed,
		.on_drained = on_drained_close,
	};
	struct event_base *base = event_base_new();
	struct seen s = { .fd = -1 };
	struct channel *ch;
	int pair[2];

	cr_assert_not_null(base);
	ch = drain_rig(base, pair, &o, &s);
	channel_set_low_water(ch, 16 << 10);
	queue_logs(ch, 64 << 10);
	run_reading(base, pair[1], &s, 1);
	/* The close waits for the callback to return, then ends the channel once. */
	cr_expect_eq(s.drained, 1);
	cr_expect_eq(s.closed, 1);
	cr_expect_str_eq(s.reason, "drained");
	cr_expect_eq(s.violation, 0);
	close(pair[1]);
	event_base_free(base);
}
