/*
 * serve: a sandbox's life after fork (sandbox_serve): the HELLO exchange,
 * LOAD, and the requests.  These entry points are for the natives
 * (sandbox/native.c) that the JS runtime calls while a task runs.
 * Runs in sandboxes.
 */
#ifndef EDGED_SERVE_H
#define EDGED_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipc.h"
#include "duktape.h"

struct calls;
struct serve;

/* Queues a LOG frame; `msg` is UTF-8, cut to the LOG cap at a character boundary. */
void serve_log(struct serve *s, unsigned level, const char *msg, size_t len);

/*
 * Arms JS timer `id` (below 2^31: the ids above are the host's), charged to
 * the request whose task is running.  0 or -1.
 */
int serve_timer_set(struct serve *s, uint32_t id, uint64_t delay_ms);
void serve_timer_clear(struct serve *s, uint32_t id);

/*
 * Sends the response of request `handle` (the JS-side number of a request):
 * RESP_HEAD, then the body in RESP_BODY chunks when `body` is not NULL and
 * not empty.  With `streaming`, `body` is ignored: RESP_HEAD announces a body
 * that serve_respond_chunk sends as it is produced.  Borrowed pointers, used
 * before returning.  Ignored when the request is gone or has already been
 * answered; headers over the IPC caps turn into RESP_ERROR 1101 with a LOG line.
 */
void serve_respond(struct serve *s, uint32_t handle, unsigned status,
    const struct ipc_bytes *headers, size_t count, const void *body, size_t len, bool streaming);

/*
 * Sends the next piece of a streaming response body (serve_respond with
 * `streaming`), in RESP_BODY chunks of at most IPC_BODY_CHUNK_MAX; `last`
 * ends the body (`len` may then be 0).  Borrowed pointer.  Ignored unless
 * request `handle` is streaming its body.
 */
void serve_respond_chunk(
    struct serve *s, uint32_t handle, const void *chunk, size_t len, bool last);

/*
 * Flow control (common/ipc.h, IPC_BODY_WINDOW).  The runtime keeps at most
 * a window of a streaming response unacknowledged and waits for
 * rt.onRespCredit(handle, bytes), which a RESP_CREDIT from the supervisor
 * runs; and it returns request-body bytes the script has taken with
 * serve_credit_request_body (REQ_CREDIT), so the supervisor sends more.
 */
void serve_credit_request_body(struct serve *s, uint32_t handle, uint64_t bytes);

/*
 * Sends RESP_ERROR `code` for request `handle` unless it is gone or answered;
 * a response whose body is still streaming counts as unanswered (the
 * supervisor then cuts the client's connection).
 */
void serve_fail(struct serve *s, uint32_t handle, unsigned code);

/*
 * Forgets request `handle` (answered and its waitUntil work settled).  A body
 * still streaming is cut with RESP_ERROR 1101; its binding calls in flight
 * are cancelled (calls_end_request).
 */
void serve_end(struct serve *s, uint32_t handle);

/* Disarms up to `max` timers of request `handle`, ids into ids[]; returns how many. */
size_t serve_take_timers(struct serve *s, uint32_t handle, uint32_t *ids, size_t max);

/*
 * The request whose task runs now, while it has not ended; 0 otherwise (the
 * script's global scope, a task of no request, a request already over).
 */
uint32_t serve_current(struct serve *s);

/* Whether request `handle` is in progress (serve_end has not run for it). */
bool serve_has_request(struct serve *s, uint32_t handle);

/* The sandbox's table of binding calls (sandbox/calls.h); lives as long as `s`. */
struct calls *serve_calls(struct serve *s);

/*
 * Runs one macrotask on behalf of request `handle` (0: none): fn(ctx, arg) in
 * a protected call, then the microtasks, under the request's remaining CPU
 * (the startup budget for 0), charged to it.  Ends the request with 1102
 * when the budget or memory ran out, 1101 when an error escaped the runtime.
 * Then, outside any budget, collects the heap's garbage when it is due
 * (sandbox/gc.h).  Not to be called from inside JS.
 */
void serve_task(struct serve *s, uint32_t handle, duk_safe_call_function fn, void *arg);

#endif
