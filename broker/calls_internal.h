/*
 * calls_internal: what the two halves of the broker's storage calls share:
 * calls.c (the state machine and the input side) and calls_out.c (results
 * and their bodies out).  The call record and the table; not for other
 * modules.  Broker.
 */
#ifndef EDGED_BCALLS_INTERNAL_H
#define EDGED_BCALLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "broker/calls.h"
#include "common/buf.h"

/*
 * Output pieces wait while this much is queued for the peer, so that a
 * caller that pulls faster than it reads cannot make the broker hold a
 * whole object in memory.  It is also the channel's low-water mark: the
 * pieces resume in bcalls_on_drained.
 */
#define BCALLS_OUT_HIGH IPC_BODY_WINDOW

enum call_phase {
	CALL_INPUT,  /* taking the input body as pulled */
	CALL_DRAIN,  /* answered early: discarding the pieces already pulled */
	CALL_OUTPUT, /* answered with more=1: sending output pieces as pulled */
};

struct call {
	TAILQ_ENTRY(call) entry;
	struct bcalls *cs;
	uint64_t id;
	enum call_phase phase;
	enum store_kind kind;
	enum store_body_mode mode;
	uint64_t max; /* WHOLE: the largest body */

	/* What the backend sees; the strings and args live as long as the call. */
	char *tenant;
	char *resource;
	char *method;
	json_t *args;
	struct store_limits limits;
	struct store_call sc;

	struct buf body;      /* WHOLE: the input so far */
	struct r2_upload *up; /* STREAM: the upload being written */
	unsigned asked;       /* input pieces pulled and not yet received */
	bool stalled;         /* WHOLE: waits for room under BCALLS_HOLD_MAX to pull */
	struct store_result res;
	uint64_t out_total; /* output body bytes */
	uint64_t out_sent;
	uint64_t credit; /* output pieces pulled and not yet sent */
};

struct bcalls {
	const struct bcalls_backends *be;
	struct channel *ch;
	bool admin;
	bool broken; /* the channel is closing for a violation */
	unsigned max_in_flight;
	const char *who;
	TAILQ_HEAD(, call) list; /* oldest first */
	size_t count;            /* calls in flight: CALL_INPUT and CALL_OUTPUT */
	size_t ndrain;           /* calls in CALL_DRAIN */
};

/* ---- calls.c ---- */

/*
 * Closes the channel for a broken protocol (or an output that cannot go
 * on); returns -1.  Outside a callback of the channel the owner frees the
 * table at once, so the caller must return without touching `cs` or its
 * calls.
 */
int bcalls_fail(struct bcalls *cs, const char *reason);
/* The call in flight (or draining) with that id; NULL when none. */
struct call *call_find(struct bcalls *cs, uint64_t id);
/* Unlinks and frees a call, aborting its upload. */
void call_free(struct call *c);

/* ---- calls_out.c ---- */

/* Answers a call that never got a record; 0, or -1 when the channel is closing. */
int bcalls_refuse(struct bcalls *cs, uint64_t id, enum store_status status, const char *message);
/*
 * Sends the RESULT of c->res.  Afterwards the call is in CALL_OUTPUT when
 * output pieces remain, and its result is released otherwise.  0, or -1
 * when the channel is closing.
 */
int call_answer(struct call *c);
/* Answers a finished call and frees it unless output pieces remain. */
int call_finish(struct call *c);
/*
 * RESULT_PULL: more output pieces for a call in CALL_OUTPUT, sent at once
 * as far as the channel's queue allows.  0, or -1 when the channel closed.
 */
int bcalls_on_result_pull(struct bcalls *cs, const struct ipc_msg *msg);

#endif
