/*
 * budget: the soft CPU limit of a sandbox, measured on the thread CPU clock
 * and enforced through Duktape's exec-timeout hook.  Runs in sandboxes.
 */
#ifndef EDGED_BUDGET_H
#define EDGED_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct budget {
	bool running;         /* between budget_start and budget_stop */
	bool expired;         /* sticky until budget_stop */
	uint64_t start_ns;    /* thread CPU time at budget_start */
	uint64_t deadline_ns; /* thread CPU time at which it expires */
};

/* Thread CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID). */
uint64_t budget_now_ns(void);

/* Arms the budget: JS may now run for `limit_ns` of thread CPU time. */
void budget_start(struct budget *b, uint64_t limit_ns);

/*
 * Called by Duktape every few hundred thousand bytecode instructions (through
 * edged_duk_exec_timeout_check).  True once the deadline has passed, and from
 * then on until budget_stop, so that a try/catch cannot swallow the RangeError
 * Duktape throws.  False while no budget runs.
 */
bool budget_check(struct budget *b);

/* True when the running budget has expired (JS was interrupted). */
bool budget_is_expired(const struct budget *b);

/* Disarms the budget; returns the CPU nanoseconds used since budget_start. */
uint64_t budget_stop(struct budget *b);

#endif
