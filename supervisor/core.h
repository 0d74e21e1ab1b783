/*
 * core: the supervisor's per-process state, built once in main() and passed
 * down to the modules that need it.  Runs in the supervisor.
 */
#ifndef EDGED_CORE_H
#define EDGED_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "common/config.h"

struct event_base;
struct meta;
struct registry;
struct pool;
struct admin;
struct http_server;
struct broker_link;
struct event;
struct ipc_msg;

#define CORE_LAYERS_MAX 32
#define CORE_LAYER_LINE_MAX 256

/* The launcher's start-up lock-down probe, as it reported it. */
struct core_layers {
	bool received;
	size_t n;
	char line[CORE_LAYERS_MAX][CORE_LAYER_LINE_MAX]; /* "name=state:reason" */
};

/* Counters, reported by /status (and later /metrics). */
struct core_stats {
	uint64_t requests;
	uint64_t responses_5xx;
	uint64_t sandbox_spawned;
	uint64_t sandbox_killed_crash;
	uint64_t sandbox_killed_ipc;
	uint64_t sandbox_killed_wall;
	uint64_t sandbox_killed_cpu;
	uint64_t sandbox_killed_startup;
	uint64_t sandbox_killed_cpu_soft; /* 1102 for CPU from the sandbox (which lives on) */
	uint64_t sandbox_killed_memory;   /* 1102 for memory from the sandbox (then recycled) */
	uint64_t sandbox_killed_seccomp;  /* died of SIGSYS */
	uint64_t sandbox_recycled;        /* ended on purpose: every reason below, and more */
	uint64_t recycled_requests;       /* recycle_after_requests */
	uint64_t recycled_cpu;            /* recycle_after_cpu_s */
	uint64_t recycled_rss;            /* recycle_after_rss_mb */
	uint64_t recycled_age;            /* recycle_after_age_s */
	uint64_t recycled_idle;           /* sandbox_idle_timeout */
	uint64_t recycled_evicted;        /* made room for another version */
	uint64_t queue_full_version;      /* 503: the version's queue was full */
	uint64_t queue_full_tenant;       /* 503: the tenant's queue was full */
	uint64_t broker_restarts;
};

struct core {
	struct event_base *base;
	struct config cfg;
	const char *config_path; /* NULL without --config */
	struct meta *meta;
	struct registry *registry;
	struct pool *pool;
	struct admin *admin;
	struct http_server *public_srv;
	struct http_server *admin_srv;
	struct broker_link *broker;
	struct core_stats stats;
	bool draining;
	pid_t launcher_pid;
	struct event *drain_timer;
	struct timeval drain_deadline;
	struct core_layers layers;
	bool drop_privileges; /* started as root with a service user */
	uid_t run_uid;        /* the service user, when drop_privileges */
	gid_t run_gid;
	char public_addr[CONFIG_ADDR_MAX]; /* as bound, port resolved */
	char admin_addr[CONFIG_ADDR_MAX];
};

/*
 * Builds the running service from core->cfg, in this order: binds the
 * listeners and opens the metadata store (still as root when started so),
 * drops to the service user (core->drop_privileges), waits for the
 * launcher's lock-down report and refuses to go on when a layer of
 * cfg.required_layers did not engage, then starts the broker (which
 * inherits the service user) and serves.  `launcher_fd` is the channel to
 * the already started launcher (consumed).  Returns 0, or -1 with the reason
 * logged.
 */
int core_start(struct core *core, int launcher_fd);

/*
 * The launcher's LAYERS message (called by the pool, which owns the launcher
 * channel): stores it and logs one line per layer.  `msg` is borrowed.
 */
void core_layers_received(struct core *core, const struct ipc_msg *msg);

/* Applies a re-read configuration (SIGHUP); settings that need a restart are logged. */
void core_reload(struct core *core, const struct config *next);

/* Stops accepting and ends the event loop once in-flight requests are done (SIGTERM). */
void core_drain(struct core *core);

/* Releases everything core_start built. */
void core_stop(struct core *core);

#endif
