/*
 * calls: the sandbox's side of binding calls to the broker (CALL, CALL_BODY,
 * CALL_PULL, RESULT, RESULT_BODY, RESULT_PULL, CALL_CANCEL; see "Calls" in
 * common/ipc.h).  The table of calls in flight, what each may still send and
 * receive, and the JS entry points each broker message becomes: run as a
 * macrotask under the CPU budget of the request that made the call.
 * Runs in sandboxes.
 *
 * The JS side (sdk-js/runtime/44-calls.js) is told through rt methods:
 *   rt.onCallResult(id, status, text, chunk, more)  RESULT (chunk: Uint8Array)
 *   rt.onCallBody(id, chunk, last)                  RESULT_BODY
 *   rt.onCallPull(id, n)                            CALL_PULL: send n more pieces
 *   rt.onCallLost(id)                               the broker is gone
 *   rt.onCallsDropped([ids])                        calls ended with their request
 * A call leaves the table when its outcome has been delivered whole (RESULT
 * with more=0, RESULT_BODY with last=1), when it is cancelled, when its
 * request ends, or when its loss has been reported.  Nothing is delivered for
 * a call after it left the table; broker messages for ids not in the table
 * are ignored (they race with cancels).
 */
#ifndef EDGED_CALLS_H
#define EDGED_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipc.h"

#define CALLS_IN_FLIGHT_MAX 64     /* calls in the table at once, per sandbox */
#define CALLS_PER_REQUEST_MAX 1000 /* calls a request may make in its life */

struct calls;
struct loop;
struct serve;

/*
 * A call table on the broker channel `broker_fd` (-1: none; not consumed),
 * which it adds to `loop` and opens with HELLO, as the broker does (both
 * ends check the other's HELLO before anything else).  JS runs through
 * serve_task() of `serve`.  `serve` and `loop` are borrowed and outlive it.
 * NULL on failure (logged).
 */
struct calls *calls_new(struct serve *serve, struct loop *loop, int broker_fd);
void calls_free(struct calls *c);

/*
 * Counts one more call made by request `handle`.  0, or -1 when the request
 * has made CALLS_PER_REQUEST_MAX already (errno EMFILE) or memory ran out
 * (ENOMEM).
 */
int calls_admit(struct calls *c, uint32_t handle);

enum calls_start_result {
	CALLS_STARTED = 0, /* *id is the new call's; it is in the table */
	CALLS_GONE = 1,    /* request `owner` has ended: nothing was sent */
	CALLS_BUSY = 2,    /* CALLS_IN_FLIGHT_MAX calls are in flight: try again later */
	CALLS_INVALID = 3, /* a field does not fit the IPC table (size, UTF-8): nothing sent */
};

/*
 * Starts a call on behalf of request `owner`: sends CALL with the first
 * input piece (`chunk` may be NULL for none) and `more` when CALL_BODY pieces
 * will follow as the broker pulls them.  Borrowed pointers, used before
 * returning.  When the broker channel is lost, the call still starts and its
 * loss is reported (rt.onCallLost) in a later macrotask.
 */
enum calls_start_result calls_start(struct calls *c, uint32_t owner,
    const struct ipc_bytes *binding, const struct ipc_bytes *method, const struct ipc_bytes *args,
    const void *chunk, size_t len, bool more, uint32_t *id);

/*
 * Sends the next input piece of call `id` (CALL_BODY; `last` ends the input).
 * Returns 1 when sent; 0 when the call no longer takes input (it ended, was
 * answered or lost: stop sending); -1 when the broker has not asked for a
 * piece (a bug of the caller: nothing is sent).
 */
int calls_body(struct calls *c, uint32_t id, const void *chunk, size_t len, bool last);

/*
 * Asks for up to `n` more output pieces of call `id` (RESULT_PULL), never
 * more than IPC_PULL_MAX outstanding.  Ignored unless the call has an output
 * body still arriving.
 */
void calls_pull(struct calls *c, uint32_t id, unsigned n);

/* Sends CALL_CANCEL for call `id` and forgets it; no-op for an unknown id. */
void calls_cancel(struct calls *c, uint32_t id);

/*
 * Request `handle` has ended: cancels its calls (CALL_CANCEL), forgets its
 * count, and tells JS in a later macrotask which ids it dropped.
 */
void calls_end_request(struct calls *c, uint32_t handle);

#endif
