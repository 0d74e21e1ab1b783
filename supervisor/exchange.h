/*
 * exchange: one client request forwarded to a sandbox and its response
 * streamed back: REQ_HEAD/REQ_BODY out, RESP_HEAD/RESP_BODY/RESP_ERROR in,
 * with the wall-time limit.  Also the public listener's HTTP callbacks.  Runs
 * in the supervisor.
 */
#ifndef EDGED_EXCHANGE_H
#define EDGED_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/buf.h"
#include "common/ipc.h"

struct core;
struct sandbox;
struct version;
struct http_request;
struct http_server_callbacks;
struct event;

struct exchange {
	TAILQ_ENTRY(exchange) entry; /* in version->waiting, or in its sandbox's list */
	struct core *core;
	struct http_request *req; /* NULL once the client is gone */
	struct version *version;  /* reference */
	struct sandbox *sbx;      /* set while dispatched */
	uint64_t id;              /* request id on the sandbox's channel */
	struct buf body;          /* body bytes received before dispatch */
	bool body_ended;
	bool response_started;
	bool head_held; /* RESP_HEAD seen, waiting for the first body chunk */
	int held_status;
	struct buf held_headers; /* NUL-separated name, value, name, value ... */
	unsigned held_count;
	/* Flow control (common/ipc.h: IPC_BODY_WINDOW each way). */
	uint64_t req_in_flight; /* REQ_BODY bytes the sandbox has not credited back */
	bool req_paused;        /* reading the client's body is paused */
	uint64_t resp_owed;     /* RESP_BODY bytes passed on to the client, not yet credited */
	bool resp_drain_armed;  /* waiting for the client to drain before crediting */
	struct event *wall_timer;
	struct event *cpu_timer;    /* hard CPU limit, while dispatched */
	int64_t cpu_at_dispatch_ns; /* the sandbox's CPU clock at dispatch */
};

/* The callbacks, with the core as arg, for the public listener. */
const struct http_server_callbacks *exchange_http_callbacks(void);

/*
 * Sends the request to `sbx` as request `id` (called by the pool once it
 * leased a sandbox).  Returns 0, or -1 when the channel refused it.
 */
int exchange_dispatch(struct exchange *ex, struct sandbox *sbx, uint64_t id);

/*
 * A RESP_* or REQ_CREDIT message for this exchange.  Returns 0, or -1 when the sandbox
 * broke the protocol (the pool then kills it).  May finish the exchange.
 */
int exchange_on_message(struct exchange *ex, const struct ipc_msg *msg);

/*
 * Ends the exchange with an error response when the client still waits and
 * no response has started (status and a short text body), or by dropping the
 * client connection when one has.  Frees the exchange; the pool has already
 * detached it.
 */
void exchange_fail(struct exchange *ex, int status, const char *body);

#endif
