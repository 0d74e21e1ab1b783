/*
 * broker_link: the supervisor's side of the broker: starts it, keeps its
 * control channel, and restarts it (with back-off) when it dies, retiring
 * the sandboxes that were attached to the old one.  It also carries the
 * admin API's storage calls (ADMIN_CALL) to the broker.  Runs in the
 * supervisor.
 */
#ifndef EDGED_BROKER_LINK_H
#define EDGED_BROKER_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct core;
struct broker_link;
struct broker_call;

/* Starts the broker; NULL if the first start failed (logged). */
struct broker_link *broker_link_new(struct core *core);
/* Stops the broker (closes its channel; it exits) and frees.  NULL is ignored. */
void broker_link_free(struct broker_link *bl);
/* True when `pid` is the current broker (for SIGCHLD reaping). */
bool broker_link_owns(const struct broker_link *bl, pid_t pid);
/* The running broker's pid, 0 while restarting. */
pid_t broker_link_pid(const struct broker_link *bl);

/*
 * A storage call: one method of the broker's store contract (broker/store.h)
 * on one resource of one tenant.  Every pointer is borrowed for the
 * broker_call() only, except `body`, whose bytes move into the call.
 */
struct broker_call_args {
	const char *tenant;
	const char *kind;     /* "kv", "d1" or "r2" */
	const char *resource; /* namespace id, database id or bucket name */
	const char *method;
	const char *args;   /* JSON object text, <= IPC_CALL_ARGS_MAX bytes */
	const char *limits; /* the tenant's storage limits, JSON text (store.h) */
	struct buf *body;   /* input body, taken (left empty); NULL or empty: none */
	size_t output_max;  /* an output body past this fails the call STORE_E_TOO_LARGE */
	bool discard_body;  /* only the result document is wanted: the body is never pulled */
};

/*
 * A call's outcome, borrowed for the callback.  On failure `doc` is the
 * broker's failure document ({"message", "code"?}) when it sent one; calls
 * failed by the supervisor itself get {"message": ...}.
 */
struct broker_outcome {
	int status;      /* enum store_status */
	const char *doc; /* NUL-terminated JSON text ("" when none) */
	size_t doc_len;
	const uint8_t *body; /* the whole output body */
	size_t body_len;
};

typedef void (*broker_call_done)(void *ctx, const struct broker_outcome *out);

/*
 * Sends an ADMIN_CALL.  The input body goes in IPC_BODY_CHUNK_MAX pieces as
 * the broker pulls them; the output body is pulled and gathered in memory
 * (up to output_max).  done(ctx, outcome) is called exactly once, always
 * from the event loop and never from inside broker_call(), unless the call
 * is cancelled first.  A broker that dies fails its calls in flight with
 * STORE_E_UNAVAILABLE.  Returns the call, or NULL when it cannot be made
 * (no broker running, too many calls in flight, arguments over their caps,
 * no memory): done is then never called, and the body was still taken.
 */
struct broker_call *broker_call(
    struct broker_link *bl, const struct broker_call_args *a, broker_call_done done, void *ctx);
/*
 * Drops a call in flight (CALL_CANCEL): its callback will not run and
 * nothing the broker half-wrote for it becomes visible.  `c` is freed.
 */
void broker_call_cancel(struct broker_call *c);

#endif
