/*
 * broker_link: the supervisor's side of the broker: starts it, keeps its
 * control channel, and restarts it (with back-off) when it dies, retiring
 * the sandboxes that were attached to the old one.  Runs in the supervisor.
 */
#ifndef EDGED_BROKER_LINK_H
#define EDGED_BROKER_LINK_H

#include <stdbool.h>
#include <sys/types.h>

struct core;
struct broker_link;

/* Starts the broker; NULL if the first start failed (logged). */
struct broker_link *broker_link_new(struct core *core);
/* Stops the broker (closes its channel; it exits) and frees.  NULL is ignored. */
void broker_link_free(struct broker_link *bl);
/* True when `pid` is the current broker (for SIGCHLD reaping). */
bool broker_link_owns(const struct broker_link *bl, pid_t pid);
/* The running broker's pid, 0 while restarting. */
pid_t broker_link_pid(const struct broker_link *bl);

#endif
