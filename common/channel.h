/*
 * channel: one IPC channel of an event-driven process (the supervisor's to a
 * sandbox or the broker, the broker's to the supervisor and to sandboxes) on
 * a libevent bufferevent.  It opens with the HELLO exchange, then reads
 * frames under the channel's cap, decodes them through the message table for
 * the channel's current state and hands each message to the owner.
 */
#ifndef EDGED_CHANNEL_H
#define EDGED_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ipc.h"

struct event_base;
struct channel;

/*
 * A message arrived.  `msg` and every byte string in it are borrowed for the
 * call only.  The callback may call channel_close() on this channel.
 */
typedef void (*channel_msg_cb)(struct channel *ch, const struct ipc_msg *msg, void *arg);

/*
 * The channel is finished: EOF, an I/O error, or a message that failed a
 * validation gate (`reason` says which; `violation` is 1 then).  Called once;
 * the channel is freed right after the callback returns.
 */
typedef void (*channel_closed_cb)(struct channel *ch, const char *reason, int violation, void *arg);

struct channel_ops {
	channel_msg_cb on_message;
	channel_closed_cb on_closed;
	/* Optional: the peer's HELLO arrived and was valid. */
	void (*on_hello)(struct channel *ch, void *arg);
	/*
	 * Optional: output queued while at least the low-water mark
	 * (channel_set_low_water) was pending has been written out to below
	 * it.  Called from the loop, never from inside channel_send; it may
	 * send, and call channel_close() on this channel.
	 */
	void (*on_drained)(struct channel *ch, void *arg);
};

/* Descriptor passing, for trusted peers only (see channel_new). */
enum channel_flags {
	CHANNEL_RECV_FDS = 1u << 0, /* the peer sends descriptors with its messages */
	CHANNEL_SEND_FDS = 1u << 1, /* we send descriptors with ours */
};

/*
 * Takes ownership of the connected socket `fd` (closed on free, even when
 * this fails), sends our HELLO and waits for the peer's, which must carry
 * IPC_VERSION and role `peer`.  After the HELLO the channel is in state
 * `after_hello`.  `cap` bounds every incoming frame.  With CHANNEL_RECV_FDS,
 * descriptors that arrive are kept (a few at most) and a message whose table
 * entry has nfds > 0 must arrive with that many; the message callback takes
 * them with channel_take_fd(), and those it leaves are closed.  Never set it
 * for a channel to a sandbox.  NULL on failure.
 */
struct channel *channel_new(struct event_base *base, int fd, enum ipc_peer self, enum ipc_peer peer,
    uint32_t cap, unsigned after_hello, unsigned flags, const struct channel_ops *ops, void *arg);

/*
 * Inside the message callback of a descriptor-carrying message: the next
 * descriptor that came with it, now owned by the caller; -1 when none is left.
 */
int channel_take_fd(struct channel *ch);

/*
 * The receiver state for the next message (one enum ipc_state bit).  Before
 * the peer's HELLO arrived, it replaces `after_hello` instead.
 */
void channel_set_state(struct channel *ch, unsigned state);
unsigned channel_state(const struct channel *ch);

/* The peer's pid as its HELLO announced it; 0 before the HELLO. */
pid_t channel_peer_pid(const struct channel *ch);

/*
 * Queues one message; 0, or -1 when it does not match the table (a bug) or
 * the channel is closing.  Never blocks.
 */
int channel_send(
    struct channel *ch, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields);

/*
 * Like channel_send, with descriptors attached (CHANNEL_SEND_FDS channels
 * only).  The channel takes ownership of fds[] and closes them once sent, or
 * at once on failure.
 */
int channel_send_fds(struct channel *ch, uint16_t type, uint64_t id, const struct ipc_value *fields,
    size_t nfields, const int *fds, unsigned nfds);

/* Bytes queued for the peer and not yet written. */
size_t channel_pending(const struct channel *ch);

/*
 * Sets the low-water mark of ops.on_drained, in bytes pending; 0 (the
 * default) turns the callback off.  A sender that stops queueing at a high
 * mark can set the same value and resume in on_drained, instead of polling
 * channel_pending().
 */
void channel_set_low_water(struct channel *ch, size_t mark);

/*
 * Ends the channel: stops reading, and calls on_closed(reason, 0) — at once,
 * or, when called from inside a callback of this channel, once that callback
 * returns.  Queued output is dropped.
 */
void channel_close(struct channel *ch, const char *reason);

#endif
