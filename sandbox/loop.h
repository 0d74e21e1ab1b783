/*
 * loop: the sandbox's event loop.  One poll() over the supervisor channel
 * with a timeout from the nearest JS timer; frames in are decoded and handed
 * to a callback one at a time, frames out are queued and written as the
 * socket accepts them.  Runs in sandboxes.
 */
#ifndef EDGED_LOOP_H
#define EDGED_LOOP_H

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

struct loop_timer {
	uint32_t id;
	uint64_t tag;    /* the owner's label (a request), for loop_timer_take */
	uint64_t due_ms; /* CLOCK_MONOTONIC milliseconds */
	uint64_t seq;    /* ties broken in arming order */
};

struct loop {
	int fd;
	unsigned state; /* enum ipc_state: what this end accepts now */
	struct buf in;
	struct buf out;
	struct loop_timer *timers; /* unordered; few per sandbox */
	size_t ntimers;
	size_t timers_cap;
	uint64_t seq;
	loop_message_fn *on_message;
	loop_timer_fn *on_timer;
	void *arg;
};

/*
 * Prepares a loop on `fd` (made non-blocking; not consumed) in state
 * IPC_ST_HELLO.  Returns 0 or -1.
 */
int loop_init(
    struct loop *l, int fd, loop_message_fn *on_message, loop_timer_fn *on_timer, void *arg);
void loop_release(struct loop *l);

/*
 * Queues one message to the supervisor (ipc_encode); written by the loop.
 * Returns 0, or -1 when the message does not fit the table's caps (EINVAL)
 * or memory ran out; nothing is queued then.
 */
int loop_send(
    struct loop *l, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields);

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
 * Runs until the peer closes the channel (exit 0) or breaks the protocol
 * (logged, exit 2): a malformed or oversized frame, or a message not allowed
 * in the current state.  Never returns.
 */
void loop_run(struct loop *l) __attribute__((noreturn));

/* Ends the process: what is queued is written first when the peer still reads. */
void loop_exit(struct loop *l, int status) __attribute__((noreturn));

#endif
