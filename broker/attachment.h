/*
 * attachment: one sandbox's broker channel and the identity the supervisor
 * bound to it with ATTACH (tenant, worker, version, the storage bindings it
 * may use and the tenant's quotas).  Calls on the channel name a binding;
 * the attachment resolves it and hands the call to its call table
 * (broker/calls.h).  Runs in the broker.
 */
#ifndef EDGED_ATTACHMENT_H
#define EDGED_ATTACHMENT_H

#include <stdint.h>
#include <sys/queue.h>

#include "broker/calls.h"
#include "common/ipc.h"

struct event_base;
struct attachment;

/* The broker's attachments; each removes itself from its list when its channel ends. */
TAILQ_HEAD(attachment_list, attachment);

/*
 * Attaches the sandbox channel `fd` (consumed, also on failure) as the
 * ATTACH message `msg` (borrowed) describes.  Bindings other than KV, D1
 * and R2 are ignored; a storage binding with an invalid resource is left
 * out and logged; limits that do not parse mean none (logged).  Refused,
 * and logged, when the tenant is not valid, the channel id is attached
 * already, or memory runs out.  `base` and `be` are borrowed and must
 * outlive the attachment.  Returns 0 or -1.
 */
int attachment_new(struct attachment_list *list, struct event_base *base,
    const struct bcalls_backends *be, const struct ipc_msg *msg, int fd);

/* The attachment of a channel id; NULL when there is none. */
struct attachment *attachment_find(struct attachment_list *list, uint64_t channel_id);

/*
 * Ends an attachment (DETACH, shutdown): closes its channel and aborts and
 * frees its calls; it leaves its list and is freed before this returns
 * (when called from outside a callback of its own channel).
 */
void attachment_close(struct attachment *a, const char *reason);

#endif
