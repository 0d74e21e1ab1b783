/*
 * pool_internal: the pool's data structures and the functions its files
 * (pool.c: lifecycle, messages and leasing; pool_spawn.c: the launcher and
 * blanks; pool_validate.c: upload validations) share.  Supervisor only.
 */
#ifndef EDGED_POOL_INTERNAL_H
#define EDGED_POOL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>

#include "supervisor/admin.h"
#include "supervisor/meta.h"
#include "supervisor/pool.h"

#define POOL_VALIDATIONS_MAX 32    /* uploads waiting for a throwaway sandbox */
#define POOL_LOAD_GRACE_MS 5000    /* wall time past the startup CPU limit */
#define POOL_SWEEP_MS 5000         /* idle sandbox sweep period */
#define POOL_RESPAWN_DELAY_MS 1000 /* after the launcher failed to fork */
#define POOL_CRASHED_RING 32       /* recent crashes a late SIGSYS report may reclassify */
#define POOL_DEMOTE_AFTER 3        /* CPU limit hits before a sandbox runs at idle priority */

enum sandbox_state {
	SBX_STARTING, /* forked, locking itself down: its HELLO is awaited */
	SBX_BLANK,    /* locked down (it said HELLO), no script yet */
	SBX_LOADING,  /* LOAD sent, LOADED awaited */
	SBX_READY,    /* serving its version */
};

struct validation;
struct channel_ops;

struct sandbox {
	TAILQ_ENTRY(sandbox) all_entry;  /* pool->all */
	TAILQ_ENTRY(sandbox) list_entry; /* pool->blanks, or version->sandboxes */
	struct pool *pool;
	uint32_t slot;
	uint32_t generation;
	pid_t pid;
	clockid_t cpu_clock; /* the process's CPU clock */
	bool has_cpu_clock;
	struct channel *ch;
	int broker_fd; /* until handed to the broker */
	bool attached; /* the broker holds its channel */
	enum sandbox_state state;
	bool in_blanks;                /* on pool->blanks */
	bool closing;                  /* ended on purpose or killed; freed on close */
	struct version *version;       /* reference, once assigned */
	struct validation *validation; /* throwaway sandboxes only */
	TAILQ_HEAD(, exchange) exchanges;
	unsigned inflight;
	uint64_t next_id;
	uint64_t served;
	bool retiring;
	const char *recycle_reason; /* why it is retiring ("recycle_age" ...), or NULL */
	struct event *load_timer;
	time_t last_used;
	time_t started;      /* CLOCK_MONOTONIC seconds at spawn */
	bool said_memory;    /* its last limit log line named memory */
	unsigned limit_hits; /* requests it ended with 1102 */
	bool demoted;        /* running at idle CPU priority */
};

/*
 * Per-tenant counters, so that no tenant takes more than its share: created
 * when a tenant's first request arrives, kept until the pool goes.
 */
struct pool_tenant {
	TAILQ_ENTRY(pool_tenant) entry;
	char name[META_NAME_MAX + 1];
	unsigned nwaiting;   /* requests queued over all its versions */
	unsigned nsandboxes; /* sandboxes assigned to its versions */
};

struct validation {
	TAILQ_ENTRY(validation) entry;
	admin_validate_done done;
	void *ctx;
	char tenant[META_NAME_MAX + 1];
	char worker[META_NAME_MAX + 1];
	int format;
	char *script;
	char *bindings;
	struct sandbox *sbx;
};

struct pool_slot {
	uint32_t generation;
	bool used;
};

struct pool {
	struct core *core;
	struct channel *launcher;
	struct channel *broker;
	TAILQ_HEAD(, sandbox) all;
	TAILQ_HEAD(, sandbox) blanks;
	unsigned nall;
	unsigned nblanks;
	unsigned nspawning; /* asked of the launcher, not forked yet */
	unsigned nstarting; /* forked, HELLO not yet received */
	struct pool_slot *slots;
	unsigned nslots;
	TAILQ_HEAD(, version) wanting;        /* versions waiting for a blank */
	TAILQ_HEAD(, validation) validations; /* uploads waiting for a blank */
	unsigned nvalidations;
	struct event *sweep_timer;
	struct event *respawn_timer;
	bool shutting_down; /* pool_free runs: spawn nothing */
	TAILQ_HEAD(, pool_tenant) tenants;
	pid_t crashed[POOL_CRASHED_RING]; /* pids last counted as "crash" */
	unsigned crashed_next;
};

/* pool.c */
const char *pool_sandbox_tenant(const struct sandbox *sbx);
const char *pool_sandbox_worker(const struct sandbox *sbx);
void pool_timeval_ms(struct timeval *tv, unsigned ms);
/* Ends a sandbox on purpose (recycling, retirement, validation done). */
void pool_close_sandbox(struct sandbox *sbx, const char *reason);
/* Hands blanks to waiting validations first, then to versions wanting one. */
void pool_use_blanks(struct pool *p);
struct sandbox *pool_take_blank(struct pool *p);
/* Sends LOAD to a blank taken off the blank list; -1 if the channel refused it. */
int pool_send_load(struct pool *p, struct sandbox *sbx, const char *tenant, const char *worker,
    uint64_t version, int format, const char *script, const char *bindings);
void pool_count_kill(struct pool *p, const char *reason);
/* Closes every retiring sandbox that is idle. */
void pool_close_retired(struct pool *p);
/* The version waiting for a blank whose tenant has the fewest sandboxes; NULL if none. */
struct version *pool_fairest_wanting(const struct pool *p);
/* A sandbox died of SIGSYS (launcher report): counted as "seccomp". */
void pool_sandbox_sigsys(struct pool *p, pid_t pid);
extern const struct channel_ops pool_sandbox_ops;

/* pool_policy.c */
/* The sandbox's resident set in bytes (/proc/PID/statm), or -1. */
int64_t pool_sandbox_rss(const struct sandbox *sbx);
/* Why the sandbox should be recycled now that a request ended, or NULL. */
const char *pool_recycle_reason(struct pool *p, const struct sandbox *sbx);

/* pool_spawn.c */
/* Seconds on CLOCK_MONOTONIC. */
time_t pool_now(void);
/* Opens the launcher channel (consumed) and starts the timers; 0 or -1. */
int pool_launcher_open(struct pool *p, int launcher_fd);
void pool_launcher_close(struct pool *p);
/* Asks the launcher for blanks until the pool has what it wants. */
void pool_refill(struct pool *p);
/* A started sandbox said HELLO: it is locked down and joins the blanks. */
void pool_sandbox_ready(struct pool *p, struct sandbox *sbx);
/* Asks the launcher to kill a sandbox it forked. */
void pool_send_kill(struct pool *p, struct sandbox *sbx);

/* pool_validate.c */
/* Reports the outcome to the admin and frees the validation. */
void pool_validation_finish(
    struct validation *val, bool ok, unsigned line, unsigned column, const char *message);
void pool_assign_validation(struct pool *p, struct sandbox *sbx, struct validation *val);

#endif
