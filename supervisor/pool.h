/*
 * pool: the supervisor's sandboxes.  Keeps pre-forked blanks ready (asking
 * the launcher for more as they are used), assigns blanks to script versions
 * with LOAD, leases warm sandboxes to requests, queues requests when a
 * version is at its process cap, runs upload validations in throwaway
 * sandboxes, and kills and replaces sandboxes that crash or misbehave.  Runs
 * in the supervisor.
 */
#ifndef EDGED_POOL_H
#define EDGED_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/ipc.h"
#include "supervisor/admin.h"

struct buf;
struct channel;
struct core;
struct pool;
struct sandbox;
struct exchange;
struct version;

/*
 * Creates the pool on the launcher channel `launcher_fd` (consumed) and asks
 * for the configured number of blanks.  NULL on failure.
 */
struct pool *pool_new(struct core *core, int launcher_fd);
/* Kills every sandbox (through the launcher) and frees.  NULL is ignored. */
void pool_free(struct pool *p);

#define POOL_FULL_VERSION (-1) /* the version's queue (request_queue_max) is full */
#define POOL_FULL_TENANT (-2)  /* the tenant's queue (tenant_queue_max) is full */

/*
 * Gives a new exchange (holding a reference to its version) to the pool: it
 * is dispatched at once to a warm sandbox, or queued until one is ready.
 * Returns 0, or POOL_FULL_VERSION / POOL_FULL_TENANT when a queue is full
 * (the caller answers 503; the exchange was not taken).
 */
int pool_submit(struct pool *p, struct exchange *ex);

/*
 * The sandbox ended a request with 1102 (it lives on): counted as "memory"
 * when its last log line said so (the sandbox is then recycled), else as
 * "cpu_soft".  Call before pool_exchange_done.
 */
void pool_resource_limit(struct sandbox *sbx);

/*
 * The exchange is over (answered or abandoned): it leaves its sandbox or its
 * queue.  When `cancel` is set and the sandbox is still working on it, the
 * sandbox is told to drop it.
 */
void pool_exchange_done(struct pool *p, struct exchange *ex, int cancel);

/* Sends a message for an exchange on its sandbox's channel; 0 or -1. */
int pool_send(struct sandbox *sbx, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n);

/*
 * The sandbox's CPU time so far (its process CPU clock) in nanoseconds, or
 * -1 when it cannot be read (the process is gone).
 */
int64_t pool_sandbox_cpu_ns(const struct sandbox *sbx);

/* Bytes queued towards the sandbox and not yet written. */
size_t pool_sandbox_pending(const struct sandbox *sbx);

/*
 * Kills a sandbox for a reason counted in the stats ("ipc_violation",
 * "wall" ...); its exchanges fail with 502.
 */
void pool_kill(struct sandbox *sbx, const char *reason);

/*
 * A request of `sbx` ran past the wall-time limit (call before
 * pool_exchange_done cancels it): the sandbox may be stuck, or spin where no
 * request's CPU timer watches it, so it is retired and killed, counted
 * "wall", as soon as nothing else runs in it.
 */
void pool_wall_expired(struct sandbox *sbx);

/* A version stopped being active: idle sandboxes go now, busy ones when done. */
void pool_retire_version(struct pool *p, struct version *v);

/*
 * The broker died, and with it every sandbox's broker channel: ready
 * sandboxes finish what they hold and are replaced, loading ones are
 * replaced now.  Sandboxes assigned until pool_set_broker names the new
 * broker wait for it.
 */
void pool_broker_lost(struct pool *p);

/* Runs a validation (admin upload) in a throwaway sandbox; see admin.h. */
void pool_validate(
    struct pool *p, const struct admin_script *s, admin_validate_done done, void *ctx);

/*
 * The broker came (back): sandboxes assigned while there was none, and
 * every one assigned from now on, are attached to it.
 */
void pool_set_broker(struct pool *p, struct channel *broker);

/* Appends the pool's state as JSON members ("\"pool\": {...}") to `out`. */
int pool_status_json(const struct pool *p, struct buf *out);

/* Exchanges in flight or queued: the drain waits for zero. */
size_t pool_busy(const struct pool *p);

#endif
