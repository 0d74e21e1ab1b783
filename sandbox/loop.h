/*
 * loop: the sandbox's event loop.  One poll() over its two channels (the
 * supervisor's and the broker's) with a timeout from the nearest JS timer;
 * frames in are decoded and handed to the channel's callback one at a time,
 * frames out are queued and written as each socket accepts them.
 * Runs in sandboxes.
 */
#ifndef EDGED_LOOP_H
#define EDGED_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ipc.h"

/*
 * Called for every valid message received; `msg` and the bytes it points to
 * live until the callback returns.  Each call is one macrotask.
 */
typedef void loop_message_fn(void *arg, const struct ipc_msg *msg);
/* Called when timer `id` is due; it has been removed (re-arm to repeat). */
typedef void loop_timer_fn(void *arg, uint32_t id, uint64_t tag);
/* Called once when the broker channel is lost (EOF or an I/O error); it is closed by then. */
typedef void loop_lost_fn(void *arg);
/* Called at the top of every turn of the loop, before it waits: work deferred by a task. */
typedef void loop_idle_fn(void *arg);

struct loop_timer {
	uint32_t id;
	uint64_t tag;    /* the owner's label (a request), for loop_timer_take */
	uint64_t due_ms; /* CLOCK_MONOTONIC milliseconds */
	uint64_t seq;    /* ties broken in arming order */
};

/* One IPC channel: its socket, what it accepts, and its byte queues. */
struct loop_channel {
	int fd;           /* -1 while absent or after it was lost */
	unsigned peer;    /* enum ipc_peer at the other end */
	unsigned state;   /* enum ipc_state: what this end accepts now */
	const char *name; /* "supervisor", "broker": for logs */
	struct buf in;
	struct buf out;
	loop_message_fn *on_message;
	void *arg;
};

struct loop {
	struct loop_channel sup;    /* fd 3: its loss ends the process */
	struct loop_channel broker; /* fd 4: its loss is survived (on_broker_lost) */
	loop_lost_fn *on_broker_lost;
	loop_idle_fn *on_idle;
	void *idle_arg;
	struct loop_timer *timers; /* unordered; few per sandbox */
	size_t ntimers;
	size_t timers_cap;
	uint64_t seq;
	loop_timer_fn *on_timer;
	void *arg; /* of on_timer */
};

/*
 * Prepares a loop on the supervisor channel `fd` (made non-blocking; not
 * consumed) in state IPC_ST_HELLO, without a broker channel.  Returns 0 or -1.
 */
int loop_init(
    struct loop *l, int fd, loop_message_fn *on_message, loop_timer_fn *on_timer, void *arg);
void loop_release(struct loop *l);

/*
 * Adds the broker channel `fd` (made non-blocking; not consumed; -1 for none,
 * which counts as lost from the start without calling on_lost).  It starts in
 * IPC_ST_HELLO (the owner sets broker.state once the broker's HELLO came);
 * messages go to on_message(arg), and on_lost(arg) runs once if the channel
 * is lost later.  Returns 0 or -1.
 */
int loop_attach_broker(
    struct loop *l, int fd, loop_message_fn *on_message, loop_lost_fn *on_lost, void *arg);

/* Sets the hook run at the top of every turn of the loop (NULL: none). */
void loop_set_idle(struct loop *l, loop_idle_fn *on_idle, void *arg);

/*
 * Queues one message to the supervisor (ipc_encode); written by the loop.
 * Returns 0, or -1 when the message does not fit the table's caps (EINVAL)
 * or memory ran out; nothing is queued then.
 */
int loop_send(
    struct loop *l, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields);

/* The same to the broker; also -1 with ENOTCONN when the broker channel is lost. */
int loop_send_broker(
    struct loop *l, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields);

/* Whether the broker channel is there and has not been lost. */
bool loop_broker_is_open(const struct loop *l);

/* Arms (or re-arms) timer `id` to fire after `delay_ms`, labelled `tag`.  0 or -1 (ENOMEM). */
int loop_timer_set(struct loop *l, uint32_t id, uint64_t delay_ms, uint64_t tag);
/* Disarms timer `id`; no-op when it is not armed. */
void loop_timer_clear(struct loop *l, uint32_t id);
/*
 * Disarms up to `max` timers labelled `tag`, storing their ids in ids[];
 * returns how many.  Call again while it returns `max`.
 */
size_t loop_timer_take(struct loop *l, uint64_t tag, uint32_t *ids, size_t max);

/*
 * Runs until the supervisor closes its channel (exit 0) or either peer
 * breaks the protocol (logged, exit 2): a malformed or oversized frame, or a
 * message not allowed on that channel in its current state.  The broker
 * closing its channel is not an end: on_broker_lost runs and the loop goes
 * on.  Never returns.
 */
void loop_run(struct loop *l) __attribute__((noreturn));

/* Ends the process: what is queued is written first when the peer still reads. */
void loop_exit(struct loop *l, int status) __attribute__((noreturn));

#endif
