/*
 * catalog_hooked: the world the catalog's parts B and C (SECURITY.md) attack
 * end to end.  The test-only edged-hooked runs on loopback with a canary
 * tenant, a victim tenant (a KV value and a Worker that reads it through the
 * broker) and an attacker tenant "mallory" whose Workers hand each request
 * to __edged_test_hook (sandbox/test_hooks.c): one raw system call, or
 * crafted bytes on a channel, from inside a locked-down sandbox.  Each row
 * then checks what the attacker's client saw, which kill /status counted,
 * and that nothing outside the attacker's sandbox changed.
 */
#ifndef EDGED_TEST_CATALOG_HOOKED_H
#define EDGED_TEST_CATALOG_HOOKED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

#define CATALOG_VICTIM_VALUE "victim-kv-secret"
#define CATALOG_WAIT_MS 15000 /* bound on waiting for a kill to be counted */

/* The kill counters of GET /status (result.kills and result.recycles). */
enum catalog_kill {
	KILL_CRASH,
	KILL_IPC_VIOLATION,
	KILL_CPU_HARD,
	KILL_WALL,
	KILL_STARTUP,
	KILL_CPU_SOFT,
	KILL_MEMORY,
	KILL_SECCOMP,
	KILL_RECYCLED,
	KILL_RECYCLED_RSS,
	KILL_NCOUNTERS
};

struct catalog_kills {
	long n[KILL_NCOUNTERS];
};

struct catalog {
	struct edged *e;
	char victim_kv[64];
	char mallory_kv[64];
	pid_t broker_pid;     /* from "broker started (pid N)" */
	long broker_restarts; /* stats.broker_restarts at start */
	char *listing;        /* the names in e->dir at start, sorted */
	char pwned[320];      /* a path the attacker tries to create: must never exist */
};

/*
 * Starts edged-hooked with `extra_config` and builds the world: canary,
 * victim (KV value and reader Worker), mallory's KV namespace.  Fails the
 * test on any error.
 */
void catalog_start(struct catalog *c, const char *extra_config);
/* Checks that no file appeared next to the data dir, stops edged (exit 0), frees. */
void catalog_stop(struct catalog *c);

/*
 * Deploys mallory's attacker Worker `name` at host "<name>.mallory.test",
 * with mallory's own storage: binding "KV" (namespace mallory_kv) and "R2"
 * (bucket "loot").  A fresh version: its first request is request id 1 of
 * a new sandbox.  Paths:
 *   /ok                  answers "ok"
 *   /kv_get?K            answers env.KV.get(K), or "error: <message>" with 500
 *   /kv_put?K            env.KV.put(K, body), answers "put"
 *   /write_then_die?FD   writes the body on FD, then opens a file (SIGSYS)
 *   /sleep_then_spin?MS  waits MS milliseconds without CPU, then spins
 *   /ACTION?ARG          answers __edged_test_hook(ACTION, ARG, body bytes)
 */
void catalog_deploy_attacker(struct catalog *c, const char *name);
/* POSTs `len` bytes to http://<name>.mallory.test/<action>?<arg> (arg may be NULL). */
struct response catalog_attack(struct catalog *c, const char *name, const char *action,
    const char *arg, const void *bytes, size_t len);

/* The kill counters now. */
void catalog_kills_read(struct catalog *c, struct catalog_kills *k);
/*
 * Waits (bounded) until counter `which` is one above `before`, then expects
 * every other kill counter (recycling excepted) to be unchanged: the row
 * killed the sandbox for that reason and no other.
 */
void catalog_expect_killed(struct catalog *c, const char *row, const struct catalog_kills *before,
    enum catalog_kill which);
/* Expects no kill counter (recycling excepted) to have moved since `before`. */
void catalog_expect_no_kill(struct catalog *c, const char *row, const struct catalog_kills *before);

/* The pid of a sandbox serving tenant's worker (any, when several), or -1. */
long catalog_sandbox_pid(struct catalog *c, const char *tenant, const char *worker);
/* The worker answers /ok again, from a sandbox other than `old_pid`: the slot was refilled. */
void catalog_expect_refilled(struct catalog *c, const char *row, const char *name, long old_pid);

/*
 * Nothing outside the attacker's sandbox changed: the supervisor and the
 * same broker run (no restart), the victim's value is intact through the
 * admin API and through the victim's own Worker (another broker channel),
 * the canary answers within its bound, and the attacker's file was never
 * created.
 */
void catalog_expect_outside_intact(struct catalog *c, const char *row);

/* Waits (bounded) for one line of edged's log to hold both `a` and `b`; true if one does. */
bool catalog_log_wait_line(struct catalog *c, const char *a, const char *b, int timeout_ms);

/* Expects the response status and, when `body` is not NULL, a body containing it. */
void catalog_expect_response(
    const char *row, const struct response *r, long status, const char *body);

/*
 * A row where edged does not (yet) do what SECURITY.md promises.  Prints
 * "KNOWN GAP(<row>: <what>)" on every run; the row then expects today's
 * behaviour exactly, so that the change closing the gap fails the row and
 * turns it into the assertion of the promise (a strict expected failure).
 */
void catalog_known_gap(const char *row, const char *what);

/* Prints and records a visible skip: "SKIP(<what> unavailable: <why>)". */
void catalog_skip(const char *what, const char *why) __attribute__((noreturn));

#endif
