/*
 * channel: an IPC channel on a non-blocking socket driven by libevent: HELLO
 * exchange, frame reading under a cap, table-driven decoding, output
 * queueing with a low-water callback, and descriptor passing between
 * trusted processes.
 */
#include "common/channel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "common/buf.h"
#include "common/log.h"

#define CHANNEL_FDS_MAX 8 /* received descriptors waiting to be claimed */
#define CHANNEL_FDS_PER_MSG 4
#define CHANNEL_OUT_FDS_MAX 64 /* outgoing descriptor-carrying frames queued */

/* Descriptors that leave with the frame starting at `offset` of the output. */
struct channel_fd_send {
	size_t offset;
	int fds[CHANNEL_FDS_PER_MSG];
	unsigned nfds;
};

struct channel {
	int fd;
	struct event *read_ev;
	struct event *write_ev;
	enum ipc_peer self;
	enum ipc_peer peer;
	uint32_t cap;
	unsigned flags;
	unsigned state;
	unsigned after_hello;
	pid_t peer_pid;
	struct channel_ops ops;
	void *arg;
	struct buf in;
	struct buf out;      /* encoded frames not yet written */
	size_t low_water;    /* on_drained's mark; 0: off */
	bool over_low_water; /* out reached low_water since on_drained last ran */
	int in_callback;     /* depth of callbacks into the owner */
	bool closing;
	const char *close_reason;
	int close_violation;

	int fds_in[CHANNEL_FDS_MAX];
	unsigned nfds_in;
	unsigned msg_fds; /* descriptors the current message may still take */

	struct channel_fd_send fds_out[CHANNEL_OUT_FDS_MAX];
	unsigned nfds_out;
};

static void channel_finish(struct channel *ch);

static void
channel_drop_fds(struct channel *ch)
{
	for (unsigned i = 0; i < ch->nfds_in; i++)
		close(ch->fds_in[i]);
	ch->nfds_in = 0;
	for (unsigned i = 0; i < ch->nfds_out; i++)
		for (unsigned j = 0; j < ch->fds_out[i].nfds; j++)
			close(ch->fds_out[i].fds[j]);
	ch->nfds_out = 0;
}

static void
channel_begin_close(struct channel *ch, const char *reason, int violation)
{
	if (ch->closing)
		return;
	ch->closing = true;
	ch->close_reason = reason;
	ch->close_violation = violation;
	event_del(ch->read_ev);
	event_del(ch->write_ev);
	if (ch->in_callback == 0)
		channel_finish(ch);
}

static void
channel_finish(struct channel *ch)
{
	channel_closed_cb closed = ch->ops.on_closed;
	void *arg = ch->arg;
	const char *reason = ch->close_reason;
	int violation = ch->close_violation;

	event_free(ch->read_ev);
	event_free(ch->write_ev);
	close(ch->fd);
	channel_drop_fds(ch);
	buf_release(&ch->in);
	buf_release(&ch->out);
	/* The owner learns of the end last, with nothing of ours left to touch. */
	closed(ch, reason, violation, arg);
	free(ch);
}

static void
channel_on_hello(struct channel *ch, const struct ipc_msg *msg)
{
	if (msg->field[IPC_HELLO_VERSION].u != IPC_VERSION) {
		channel_begin_close(ch, "peer speaks another IPC version", 1);
		return;
	}
	if (msg->field[IPC_HELLO_ROLE].u != ch->peer) {
		channel_begin_close(ch, "peer announced the wrong role", 1);
		return;
	}
	ch->peer_pid = (pid_t)msg->field[IPC_HELLO_PID].u;
	ch->state = ch->after_hello;
	if (ch->ops.on_hello != NULL)
		ch->ops.on_hello(ch, ch->arg);
}

/* Decodes and delivers one whole frame; false when the channel is closing. */
static bool
channel_deliver(struct channel *ch, const uint8_t *payload, uint32_t len)
{
	struct ipc_msg msg;
	const char *why;

	memset(&msg, 0, sizeof(msg));
	if (ipc_decode(payload, len, ch->peer, ch->self, ch->state, &msg, &why) == -1) {
		channel_begin_close(ch, why, 1);
		return false;
	}
	if (msg.spec->nfds > 0 && ch->nfds_in < msg.spec->nfds) {
		ipc_msg_release(&msg);
		channel_begin_close(ch, "message arrived without its descriptors", 1);
		return false;
	}
	if (msg.type == IPC_HELLO) {
		channel_on_hello(ch, &msg);
	} else {
		ch->msg_fds = msg.spec->nfds;
		ch->ops.on_message(ch, &msg, ch->arg);
		/* Whatever the owner did not claim of this message's share goes. */
		while (ch->msg_fds > 0) {
			int fd = channel_take_fd(ch);

			if (fd == -1)
				break;
			close(fd);
		}
	}
	ipc_msg_release(&msg);
	return !ch->closing;
}

/* Delivers every whole frame at the front of the input; drops what it used. */
static void
channel_process(struct channel *ch)
{
	size_t used = 0;
	uint32_t len;
	int r;

	while (!ch->closing && ch->in.len - used >= IPC_FRAME_HEADER) {
		r = ipc_frame_check(ch->in.data + used, ch->in.len - used, ch->cap, &len);
		if (r == -1) {
			channel_begin_close(ch, "frame length over the channel cap", 1);
			break;
		}
		if (r == 0)
			break;
		if (!channel_deliver(ch, ch->in.data + used + IPC_FRAME_HEADER, len))
			break;
		used += IPC_FRAME_HEADER + (size_t)len;
	}
	if (!ch->closing)
		buf_consume(&ch->in, used);
}

static void
channel_keep_fds(struct channel *ch, const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if ((ch->flags & CHANNEL_RECV_FDS) && ch->nfds_in < CHANNEL_FDS_MAX)
			ch->fds_in[ch->nfds_in++] = fds[i];
		else
			close(fds[i]);
	}
}

static void
channel_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct channel *ch = arg;
	int fds[CHANNEL_FDS_PER_MSG];
	unsigned got = 0;
	unsigned max_fds = (ch->flags & CHANNEL_RECV_FDS) ? CHANNEL_FDS_PER_MSG : 0;
	ssize_t n;

	(void)what;
	ch->in_callback++;
	n = ipc_recv_with_fds(fd, &ch->in, fds, max_fds, &got);
	channel_keep_fds(ch, fds, got);
	if (n == 0)
		channel_begin_close(ch, "peer closed the channel", 0);
	else if (n == -1 && errno == EPROTO)
		channel_begin_close(ch, "peer sent descriptors", 1);
	else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		channel_begin_close(ch, "channel i/o error", 0);
	else
		channel_process(ch);
	ch->in_callback--;
	if (ch->closing && ch->in_callback == 0)
		channel_finish(ch);
}

/* Writes as much queued output as the socket takes; -1 on a fatal error. */
static int
channel_flush(struct channel *ch)
{
	while (ch->out.len > 0) {
		struct buf part;
		size_t len = ch->out.len;
		ssize_t n;

		if (ch->nfds_out > 0 && ch->fds_out[0].offset == 0) {
			/* This frame carries descriptors: send its first bytes with them. */
			struct channel_fd_send *s = &ch->fds_out[0];

			part.data = ch->out.data;
			part.len = 1;
			if (ipc_send_with_fds(ch->fd, &part, s->fds, s->nfds) == -1)
				return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
			for (unsigned j = 0; j < s->nfds; j++)
				close(s->fds[j]);
			memmove(&ch->fds_out[0], &ch->fds_out[1],
			    (ch->nfds_out - 1) * sizeof(ch->fds_out[0]));
			ch->nfds_out--;
			n = 1;
		} else {
			if (ch->nfds_out > 0)
				len = ch->fds_out[0].offset;
			n = send(ch->fd, ch->out.data, len, MSG_NOSIGNAL);
			if (n == -1)
				return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				    ? 0
				    : -1;
		}
		buf_consume(&ch->out, (size_t)n);
		for (unsigned i = 0; i < ch->nfds_out; i++)
			ch->fds_out[i].offset -= (size_t)n;
	}
	return 0;
}

/* The output went below the low-water mark: tells the owner, who may send or close. */
static void
channel_drained(struct channel *ch)
{
	ch->over_low_water = false;
	if (ch->ops.on_drained == NULL)
		return;
	ch->in_callback++;
	ch->ops.on_drained(ch, ch->arg);
	ch->in_callback--;
	if (ch->closing && ch->in_callback == 0)
		channel_finish(ch);
}

static void
channel_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct channel *ch = arg;

	(void)fd;
	(void)what;
	if (channel_flush(ch) == -1) {
		channel_begin_close(ch, "channel i/o error", 0);
		return;
	}
	if (ch->out.len > 0)
		event_add(ch->write_ev, NULL);
	if (ch->over_low_water && ch->out.len < ch->low_water)
		channel_drained(ch);
}

struct channel *
channel_new(struct event_base *base, int fd, enum ipc_peer self, enum ipc_peer peer, uint32_t cap,
    unsigned after_hello, unsigned flags, const struct channel_ops *ops, void *arg)
{
	struct channel *ch;
	struct ipc_value hello[3];

	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		close(fd);
		return NULL;
	}
	ch->fd = fd;
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	ch->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, channel_read_cb, ch);
	ch->write_ev = event_new(base, fd, EV_WRITE, channel_write_cb, ch);
	if (ch->read_ev == NULL || ch->write_ev == NULL || event_add(ch->read_ev, NULL) == -1)
		goto fail;
	ch->self = self;
	ch->peer = peer;
	ch->cap = cap;
	ch->flags = flags;
	ch->state = IPC_ST_HELLO;
	ch->after_hello = after_hello;
	ch->ops = *ops;
	ch->arg = arg;
	buf_init(&ch->in);
	buf_init(&ch->out);

	hello[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	hello[IPC_HELLO_ROLE] = ipc_u64(self);
	hello[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	if (channel_send(ch, IPC_HELLO, 0, hello, 3) == -1)
		goto fail;
	return ch;
fail:
	if (ch->read_ev != NULL)
		event_free(ch->read_ev);
	if (ch->write_ev != NULL)
		event_free(ch->write_ev);
	buf_release(&ch->out);
	close(fd);
	free(ch);
	return NULL;
}

int
channel_take_fd(struct channel *ch)
{
	int fd;

	if (ch->msg_fds == 0 || ch->nfds_in == 0)
		return -1;
	fd = ch->fds_in[0];
	memmove(ch->fds_in, ch->fds_in + 1, (ch->nfds_in - 1) * sizeof(ch->fds_in[0]));
	ch->nfds_in--;
	ch->msg_fds--;
	return fd;
}

void
channel_set_state(struct channel *ch, unsigned state)
{
	/* Before the peer's HELLO, the new state applies once it arrived. */
	if (ch->state == IPC_ST_HELLO)
		ch->after_hello = state;
	else
		ch->state = state;
}

unsigned
channel_state(const struct channel *ch)
{
	return ch->state;
}

pid_t
channel_peer_pid(const struct channel *ch)
{
	return ch->peer_pid;
}

static int
channel_queue(
    struct channel *ch, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields)
{
	if (ch->closing) {
		errno = EPIPE;
		return -1;
	}
	if (ipc_encode(&ch->out, type, id, fields, nfields) == -1)
		return -1;
	if (ch->low_water > 0 && ch->out.len >= ch->low_water)
		ch->over_low_water = true;
	event_add(ch->write_ev, NULL);
	return 0;
}

int
channel_send(
    struct channel *ch, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields)
{
	return channel_queue(ch, type, id, fields, nfields);
}

int
channel_send_fds(struct channel *ch, uint16_t type, uint64_t id, const struct ipc_value *fields,
    size_t nfields, const int *fds, unsigned nfds)
{
	struct channel_fd_send *s;
	size_t offset = ch->out.len;

	if (!(ch->flags & CHANNEL_SEND_FDS) || nfds > CHANNEL_FDS_PER_MSG ||
	    ch->nfds_out == CHANNEL_OUT_FDS_MAX ||
	    channel_queue(ch, type, id, fields, nfields) == -1) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (errno == 0)
			errno = EINVAL;
		return -1;
	}
	s = &ch->fds_out[ch->nfds_out++];
	s->offset = offset;
	s->nfds = nfds;
	memcpy(s->fds, fds, nfds * sizeof(fds[0]));
	return 0;
}

size_t
channel_pending(const struct channel *ch)
{
	return ch->out.len;
}

void
channel_set_low_water(struct channel *ch, size_t mark)
{
	ch->low_water = mark;
	ch->over_low_water = mark > 0 && ch->out.len >= mark;
}

void
channel_close(struct channel *ch, const char *reason)
{
	channel_begin_close(ch, reason, 0);
}
