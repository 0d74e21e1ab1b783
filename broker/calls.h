/*
 * calls: the broker's side of storage calls on one channel, a sandbox's
 * (calls naming a binding) or the supervisor's (ADMIN_CALL): input bodies
 * pulled piece by piece, dispatch to the backends of broker/store.h, and
 * results with their output bodies sent as the caller pulls them.  The
 * protocol is the "Calls" comment of common/ipc.h.  Runs in the broker,
 * single-threaded on its libevent loop.  (Prefix bcalls_, "broker calls":
 * the sandbox's side, sandbox/calls.c, has calls_ and links into the same
 * binary.)
 *
 * Protocol discipline, the same on both channel kinds: a CALL whose id is
 * in flight, a CALL_BODY for no call in flight or not asked for, or a
 * RESULT_PULL while the call still takes its input break the protocol;
 * the channel is then closed (channel_close) and the violation logged
 * with the channel's identity.  RESULT_PULL and CALL_CANCEL for an id not
 * in flight are ignored: they race with the end of a call.
 *
 * A call is in flight from its CALL until the broker sent RESULT with
 * more=0 or the RESULT_BODY with last=1, or got CALL_CANCEL.  A call
 * answered while input pieces it pulled may still be on their way (a body
 * over its limit, a failed upload) leaves flight at once, as the caller
 * sees it, but the broker keeps discarding its pieces until the pulled
 * ones or one with last=1 arrived, a new CALL reuses its id, or many later
 * such calls push it out.  After CALL_CANCEL the caller sends nothing more
 * for that id and ignores whatever still comes for it (a CALL_PULL may
 * cross the cancel).
 */
#ifndef EDGED_BCALLS_H
#define EDGED_BCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/store.h"
#include "common/ipc.h"

struct channel;
struct bcalls;

/* Calls in flight on one sandbox channel; the next one is answered STORE_E_UNAVAILABLE. */
#define BCALLS_MAX_SANDBOX 64
/* The same for the supervisor's channel (every admin API request may hold one). */
#define BCALLS_MAX_ADMIN 256

/* The open backends; borrowed by every table, owned by broker_main. */
struct bcalls_backends {
	struct kv *kv;
	struct d1 *d1;
	struct r2 *r2;
};

/*
 * A new call table answering on `ch`.  `admin` allows the admin-only
 * methods (create, drop, bulkPut, bulkDelete, queryAll, info).  A call
 * beyond `max_in_flight` is answered STORE_E_UNAVAILABLE.  `who`
 * names the caller in logs ("tenant 'acme' worker 'api'").  be, ch and
 * who are borrowed and must outlive the table.  Sets ch's low-water
 * mark: the channel's owner forwards its on_drained to
 * bcalls_on_drained().  NULL on ENOMEM.
 */
struct bcalls *bcalls_new(const struct bcalls_backends *be, struct channel *ch, bool admin,
    unsigned max_in_flight, const char *who);

/*
 * Ends every call in flight, as a cancel would: uploads are aborted
 * (nothing of them becomes visible), results and bodies freed.  Sends
 * nothing.  Accepts NULL.
 */
void bcalls_free(struct bcalls *cs);

/*
 * A CALL or ADMIN_CALL as its receiver understood it.  Every pointer is
 * borrowed for the duration of bcalls_begin() only; the table copies what
 * it keeps.  `tenant` and `resource` have passed the store_*_is_valid
 * checks unless `invalid` is set.
 */
struct bcalls_request {
	uint64_t id;
	enum store_kind kind;
	const char *tenant;
	const char *resource;
	const char *method;
	struct ipc_bytes args;  /* JSON object text; empty counts as {} */
	struct ipc_bytes chunk; /* the first piece of the input body */
	bool more;              /* input pieces follow */
	const struct store_limits *limits;
	/*
	 * Non-NULL when the receiver already knows the call cannot run
	 * ("no binding named 'X'"): after the in-flight checks it is answered
	 * STORE_E_INVALID with this message.
	 */
	const char *invalid;
};

/*
 * Starts a call: checks it, and either answers it at once (errors, and
 * methods without an input body) or asks for its input with CALL_PULL.
 * Returns 0, or -1 when the request broke the protocol and the channel
 * was closed.
 */
int bcalls_begin(struct bcalls *cs, const struct bcalls_request *req);

/*
 * Handles the other call messages of a caller: CALL_BODY, RESULT_PULL and
 * CALL_CANCEL (any other type is a violation).  `msg` is borrowed.
 * Returns 0, or -1 when the channel was closed for a violation.
 */
int bcalls_on_message(struct bcalls *cs, const struct ipc_msg *msg);

/*
 * The channel's on_drained: output pieces that waited for the channel's
 * queue to shrink go now.  Accepts NULL (no table yet).
 */
void bcalls_on_drained(struct bcalls *cs);

/* Calls in flight, not counting those only discarding input (tests, status). */
size_t bcalls_in_flight(const struct bcalls *cs);

/*
 * Copies a STR field into dst as a C string.  False when it does not fit
 * in `size` bytes with its NUL or holds a NUL byte itself.
 */
bool bcalls_copy_str(const struct ipc_value *v, char *dst, size_t size);

#endif
