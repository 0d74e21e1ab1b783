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

struct serve;

/* Queues a LOG frame; `msg` is UTF-8, cut to the LOG cap at a character boundary. */
void serve_log(struct serve *s, unsigned level, const char *msg, size_t len);

/* Arms JS timer `id`, charged to the request whose task is running.  0 or -1. */
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
 * Sends RESP_ERROR `code` for request `handle` unless it is gone or answered;
 * a response whose body is still streaming counts as unanswered (the
 * supervisor then cuts the client's connection).
 */
void serve_fail(struct serve *s, uint32_t handle, unsigned code);

/*
 * Forgets request `handle` (answered and its waitUntil work settled).  A body
 * still streaming is cut with RESP_ERROR 1101.
 */
void serve_end(struct serve *s, uint32_t handle);

/* Disarms up to `max` timers of request `handle`, ids into ids[]; returns how many. */
size_t serve_take_timers(struct serve *s, uint32_t handle, uint32_t *ids, size_t max);

#endif
