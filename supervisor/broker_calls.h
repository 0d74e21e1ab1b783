/*
 * broker_calls: the supervisor's storage calls in flight on the broker's
 * control channel (ADMIN_CALL, see "Calls" in common/ipc.h): the input body
 * sent as the broker pulls it, the output body pulled and gathered.  The
 * broker_link owns one and hands it the channel and the broker's messages;
 * callers use broker_call() in broker_link.h.  Runs in the supervisor.
 */
#ifndef EDGED_BROKER_CALLS_H
#define EDGED_BROKER_CALLS_H

#include <stdbool.h>

#include "supervisor/broker_link.h"

struct channel;
struct ipc_msg;
struct broker_calls;

#define BROKER_CALLS_MAX 256 /* calls in flight; more are refused */

struct broker_calls *broker_calls_new(void);
/* Fails the calls in flight (STORE_E_UNAVAILABLE) and frees.  NULL is ignored. */
void broker_calls_free(struct broker_calls *bc);

/*
 * The channel calls go on (borrowed; the owner keeps it open or calls this
 * again).  NULL: the broker is gone: every call in flight fails with
 * STORE_E_UNAVAILABLE and new ones are refused until a channel is set.
 */
void broker_calls_set_channel(struct broker_calls *bc, struct channel *ch);

/*
 * A message from the broker.  Returns true when it belongs to the call
 * protocol (CALL_PULL, RESULT, RESULT_BODY), whether or not a call was
 * waiting for it (late messages for a cancelled call are dropped).  `msg`
 * is borrowed for the call.
 */
bool broker_calls_on_message(struct broker_calls *bc, const struct ipc_msg *msg);

/* As broker_call() (broker_link.h), on this set. */
struct broker_call *broker_calls_start(
    struct broker_calls *bc, const struct broker_call_args *a, broker_call_done done, void *ctx);

/* Calls in flight. */
size_t broker_calls_count(const struct broker_calls *bc);

#endif
