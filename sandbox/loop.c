/*
 * loop: poll() over the supervisor channel and the JS timers; decodes frames
 * with the IPC table and never blocks on a write while ignoring reads.
 * Runs in sandboxes.
 */
#include "sandbox/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/clock.h"

#define LOOP_READ_CHUNK (64u << 10)

static uint64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
loop_init(struct loop *l, int fd, loop_message_fn *on_message, loop_timer_fn *on_timer, void *arg)
{
	int flags;

	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->state = IPC_ST_HELLO;
	buf_init(&l->in);
	buf_init(&l->out);
	l->on_message = on_message;
	l->on_timer = on_timer;
	l->arg = arg;
	if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_warn("cannot make the supervisor channel non-blocking");
		return -1;
	}
	return 0;
}

void
loop_release(struct loop *l)
{
	buf_release(&l->in);
	buf_release(&l->out);
	free(l->timers);
	l->timers = NULL;
	l->ntimers = l->timers_cap = 0;
}

int
loop_send(
    struct loop *l, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields)
{
	return ipc_encode(&l->out, type, id, fields, nfields);
}

void
loop_exit(struct loop *l, int status)
{
	(void)l;
	fflush(stderr);
	_exit(status);
}

static struct loop_timer *
loop_timer_find(struct loop *l, uint32_t id)
{
	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == id)
			return &l->timers[i];
	return NULL;
}

int
loop_timer_set(struct loop *l, uint32_t id, uint64_t delay_ms, uint64_t tag)
{
	struct loop_timer *t = loop_timer_find(l, id);

	if (t == NULL) {
		if (l->ntimers == l->timers_cap) {
			size_t cap = l->timers_cap ? l->timers_cap * 2 : 16;
			struct loop_timer *grown = reallocarray(l->timers, cap, sizeof(*grown));

			if (grown == NULL)
				return -1;
			l->timers = grown;
			l->timers_cap = cap;
		}
		t = &l->timers[l->ntimers++];
	}
	t->id = id;
	t->tag = tag;
	t->due_ms = loop_now_ms() + delay_ms;
	t->seq = l->seq++;
	return 0;
}

static void
loop_timer_remove_at(struct loop *l, size_t i)
{
	l->timers[i] = l->timers[--l->ntimers];
}

void
loop_timer_clear(struct loop *l, uint32_t id)
{
	struct loop_timer *t = loop_timer_find(l, id);

	if (t != NULL)
		loop_timer_remove_at(l, (size_t)(t - l->timers));
}

size_t
loop_timer_take(struct loop *l, uint64_t tag, uint32_t *ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < l->ntimers && n < max;) {
		if (l->timers[i].tag == tag) {
			ids[n++] = l->timers[i].id;
			loop_timer_remove_at(l, i);
		} else {
			i++;
		}
	}
	return n;
}

/* The earliest armed timer, or NULL. */
static struct loop_timer *
loop_timer_next(struct loop *l)
{
	struct loop_timer *best = NULL;

	for (size_t i = 0; i < l->ntimers; i++) {
		struct loop_timer *t = &l->timers[i];

		if (best == NULL || t->due_ms < best->due_ms ||
		    (t->due_ms == best->due_ms && t->seq < best->seq))
			best = t;
	}
	return best;
}

/*
 * Fires the timers due now, earliest first, one macrotask each.  Timers armed
 * while firing (their seq is past `until`) wait for the next round, so a
 * setTimeout(0) loop cannot starve the channel.
 */
static void
loop_fire_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();
	uint64_t until = l->seq;
	struct loop_timer *t;

	while ((t = loop_timer_next(l)) != NULL && t->due_ms <= now && t->seq < until) {
		uint32_t id = t->id;
		uint64_t tag = t->tag;

		loop_timer_remove_at(l, (size_t)(t - l->timers));
		l->on_timer(l->arg, id, tag);
	}
}

static int
loop_poll_timeout(struct loop *l)
{
	struct loop_timer *t = loop_timer_next(l);
	uint64_t now;

	if (t == NULL)
		return -1;
	now = loop_now_ms();
	if (t->due_ms <= now)
		return 0;
	return t->due_ms - now > INT32_MAX ? INT32_MAX : (int)(t->due_ms - now);
}

/* Writes what the socket accepts now.  The peer having gone is an ordinary end. */
static void
loop_flush(struct loop *l)
{
	while (l->out.len > 0) {
		ssize_t n = send(l->fd, l->out.data, l->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1 && errno == ENOTSOCK)
			n = write(l->fd, l->out.data, l->out.len);
		if (n > 0) {
			buf_consume(&l->out, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			loop_exit(l, 0);
		log_warn("cannot write to the supervisor");
		loop_exit(l, 1);
	}
}

/* Decodes and dispatches every whole frame in `in`. */
static void
loop_dispatch(struct loop *l)
{
	for (;;) {
		struct ipc_msg msg;
		const char *why = NULL;
		uint32_t len;
		int rc = ipc_frame_check(l->in.data, l->in.len, IPC_CAP_TO_SANDBOX, &len);

		if (rc == 0)
			return;
		if (rc == -1) {
			log_warnx("protocol violation by the supervisor: bad frame length");
			loop_exit(l, 2);
		}
		memset(&msg, 0, sizeof(msg));
		if (ipc_decode(l->in.data + IPC_FRAME_HEADER, len, IPC_PEER_SUPERVISOR,
			IPC_PEER_SANDBOX, l->state, &msg, &why) == -1) {
			log_warnx("protocol violation by the supervisor: %s", why ? why : "?");
			loop_exit(l, 2);
		}
		l->on_message(l->arg, &msg);
		ipc_msg_release(&msg);
		buf_consume(&l->in, IPC_FRAME_HEADER + (size_t)len);
		loop_flush(l);
	}
}

static void
loop_read(struct loop *l)
{
	ssize_t n;

	if (buf_reserve(&l->in, LOOP_READ_CHUNK) == -1) {
		log_warn("cannot grow the input buffer");
		loop_exit(l, 1);
	}
	n = read(l->fd, l->in.data + l->in.len, LOOP_READ_CHUNK);
	if (n == 0)
		loop_exit(l, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == ECONNRESET)
			loop_exit(l, 0);
		log_warn("cannot read from the supervisor");
		loop_exit(l, 1);
	}
	l->in.len += (size_t)n;
	loop_dispatch(l);
}

void
loop_run(struct loop *l)
{
	for (;;) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };

		loop_flush(l);
		if (l->out.len > 0)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, loop_poll_timeout(l)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			loop_exit(l, 1);
		}
		clock_tick(); /* I/O happened: tenant time moves now, never while JS runs */
		if (pfd.revents & POLLOUT)
			loop_flush(l);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			loop_read(l);
		loop_fire_timers(l);
	}
}
