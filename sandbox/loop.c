/*
 * loop: poll() over the supervisor and broker channels and the JS timers;
 * decodes frames with the IPC table and never blocks on a write while
 * ignoring reads.  Runs in sandboxes.
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

/* ---- channels ----------------------------------------------------------- */

static int
loop_channel_init(struct loop_channel *ch, int fd, unsigned peer, unsigned state, const char *name,
    loop_message_fn *on_message, void *arg)
{
	int flags;

	ch->fd = fd;
	ch->peer = peer;
	ch->state = state;
	ch->name = name;
	buf_init(&ch->in);
	buf_init(&ch->out);
	ch->on_message = on_message;
	ch->arg = arg;
	if (fd == -1)
		return 0;
	if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_warn("cannot make the %s channel non-blocking", name);
		return -1;
	}
	return 0;
}

static void
loop_channel_release(struct loop_channel *ch)
{
	buf_release(&ch->in);
	buf_release(&ch->out);
}

int
loop_init(struct loop *l, int fd, loop_message_fn *on_message, loop_timer_fn *on_timer, void *arg)
{
	memset(l, 0, sizeof(*l));
	l->on_timer = on_timer;
	l->arg = arg;
	if (loop_channel_init(
		&l->broker, -1, IPC_PEER_BROKER, IPC_ST_READY, "broker", NULL, NULL) == -1)
		return -1;
	return loop_channel_init(
	    &l->sup, fd, IPC_PEER_SUPERVISOR, IPC_ST_HELLO, "supervisor", on_message, arg);
}

int
loop_attach_broker(
    struct loop *l, int fd, loop_message_fn *on_message, loop_lost_fn *on_lost, void *arg)
{
	loop_channel_release(&l->broker);
	l->on_broker_lost = on_lost;
	return loop_channel_init(
	    &l->broker, fd, IPC_PEER_BROKER, IPC_ST_HELLO, "broker", on_message, arg);
}

void
loop_set_idle(struct loop *l, loop_idle_fn *on_idle, void *arg)
{
	l->on_idle = on_idle;
	l->idle_arg = arg;
}

void
loop_release(struct loop *l)
{
	loop_channel_release(&l->sup);
	loop_channel_release(&l->broker);
	free(l->timers);
	l->timers = NULL;
	l->ntimers = l->timers_cap = 0;
}

int
loop_send(
    struct loop *l, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields)
{
	return ipc_encode(&l->sup.out, type, id, fields, nfields);
}

int
loop_send_broker(
    struct loop *l, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields)
{
	if (l->broker.fd == -1) {
		errno = ENOTCONN;
		return -1;
	}
	return ipc_encode(&l->broker.out, type, id, fields, nfields);
}

bool
loop_broker_is_open(const struct loop *l)
{
	return l->broker.fd != -1;
}

void
loop_exit(struct loop *l, int status)
{
	(void)l;
	fflush(stderr);
	_exit(status);
}

/*
 * The broker went away: close its channel, forget what was queued either
 * way, and tell the owner.  The sandbox keeps serving.
 */
static void
loop_lose_broker(struct loop *l)
{
	if (l->broker.fd == -1)
		return;
	close(l->broker.fd);
	l->broker.fd = -1;
	buf_reset(&l->broker.in);
	buf_reset(&l->broker.out);
	if (l->on_broker_lost != NULL)
		l->on_broker_lost(l->broker.arg);
}

/* The end of a channel: the supervisor's ends the process (`status`), the broker's does not. */
static void
loop_channel_gone(struct loop *l, struct loop_channel *ch, int status)
{
	if (ch == &l->broker)
		loop_lose_broker(l);
	else
		loop_exit(l, status);
}

/* ---- timers --------------------------------------------------------------- */

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
 * setTimeout(0) loop cannot starve the channels.
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

/* ---- I/O ------------------------------------------------------------------- */

/* Writes what the socket accepts now.  The peer having gone is an ordinary end. */
static void
loop_flush_channel(struct loop *l, struct loop_channel *ch)
{
	while (ch->fd != -1 && ch->out.len > 0) {
		ssize_t n = send(ch->fd, ch->out.data, ch->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1 && errno == ENOTSOCK)
			n = write(ch->fd, ch->out.data, ch->out.len);
		if (n > 0) {
			buf_consume(&ch->out, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
			loop_channel_gone(l, ch, 0);
			return;
		}
		log_warn("cannot write to the %s", ch->name);
		loop_channel_gone(l, ch, 1);
		return;
	}
}

static void
loop_flush(struct loop *l)
{
	loop_flush_channel(l, &l->sup);
	loop_flush_channel(l, &l->broker);
}

/*
 * Decodes and dispatches every whole frame in the channel's input.  A frame
 * that fails any gate of the IPC table ends the process, whichever peer sent
 * it: a peer that breaks the protocol cannot be trusted with what follows.
 */
static void
loop_dispatch(struct loop *l, struct loop_channel *ch)
{
	while (ch->fd != -1) {
		struct ipc_msg msg;
		const char *why = NULL;
		uint32_t len;
		int rc = ipc_frame_check(ch->in.data, ch->in.len, IPC_CAP_TO_SANDBOX, &len);

		if (rc == 0)
			return;
		if (rc == -1) {
			log_warnx("protocol violation by the %s: bad frame length", ch->name);
			loop_exit(l, 2);
		}
		memset(&msg, 0, sizeof(msg));
		if (ipc_decode(ch->in.data + IPC_FRAME_HEADER, len, ch->peer, IPC_PEER_SANDBOX,
			ch->state, &msg, &why) == -1) {
			log_warnx("protocol violation by the %s: %s", ch->name, why ? why : "?");
			loop_exit(l, 2);
		}
		ch->on_message(ch->arg, &msg);
		ipc_msg_release(&msg);
		buf_consume(&ch->in, IPC_FRAME_HEADER + (size_t)len);
		/* May lose the broker, which empties its input: the loop then ends. */
		loop_flush(l);
	}
}

static void
loop_read(struct loop *l, struct loop_channel *ch)
{
	ssize_t n;

	if (buf_reserve(&ch->in, LOOP_READ_CHUNK) == -1) {
		log_warn("cannot grow the input buffer of the %s channel", ch->name);
		loop_exit(l, 1);
	}
	n = read(ch->fd, ch->in.data + ch->in.len, LOOP_READ_CHUNK);
	if (n == 0) {
		loop_channel_gone(l, ch, 0);
		return;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == ECONNRESET) {
			loop_channel_gone(l, ch, 0);
			return;
		}
		log_warn("cannot read from the %s", ch->name);
		loop_channel_gone(l, ch, 1);
		return;
	}
	ch->in.len += (size_t)n;
	loop_dispatch(l, ch);
}

/* Fills a pollfd for a channel; fd -1 makes poll() skip it. */
static void
loop_poll_set(struct pollfd *pfd, const struct loop_channel *ch)
{
	pfd->fd = ch->fd;
	pfd->events = POLLIN;
	if (ch->out.len > 0)
		pfd->events |= POLLOUT;
	pfd->revents = 0;
}

static void
loop_poll_done(struct loop *l, struct loop_channel *ch, const struct pollfd *pfd)
{
	if (ch->fd == -1 || pfd->fd != ch->fd)
		return;
	if (pfd->revents & POLLOUT)
		loop_flush_channel(l, ch);
	if (ch->fd != -1 && (pfd->revents & (POLLIN | POLLHUP | POLLERR)))
		loop_read(l, ch);
}

void
loop_run(struct loop *l)
{
	for (;;) {
		struct pollfd pfd[2];

		if (l->on_idle != NULL)
			l->on_idle(l->idle_arg);
		loop_flush(l);
		loop_poll_set(&pfd[0], &l->sup);
		loop_poll_set(&pfd[1], &l->broker);
		if (poll(pfd, 2, loop_poll_timeout(l)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			loop_exit(l, 1);
		}
		clock_tick(); /* I/O happened: tenant time moves now, never while JS runs */
		loop_poll_done(l, &l->sup, &pfd[0]);
		loop_poll_done(l, &l->broker, &pfd[1]);
		loop_fire_timers(l);
	}
}
