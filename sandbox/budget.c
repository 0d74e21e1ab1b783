/*
 * budget: the soft CPU limit, checked from Duktape's executor interrupt, and
 * Duktape's fatal handler.  Runs in sandboxes (and the launcher at set-up).
 */
#include "sandbox/budget.h"

#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/host.h"

uint64_t
budget_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
budget_start(struct budget *b, uint64_t limit_ns)
{
	b->start_ns = budget_now_ns();
	b->deadline_ns = b->start_ns + limit_ns;
	b->expired = false;
	b->running = true;
}

bool
budget_check(struct budget *b)
{
	/*
	 * Duktape calls this once per DUK_HTHREAD_INTCTR_DEFAULT (256 Ki)
	 * instructions, so one clock read per call stays cheap.  Once it has
	 * fired, Duktape checks at every instruction until the error unwinds.
	 */
	if (!b->running)
		return false;
	if (!b->expired && budget_now_ns() >= b->deadline_ns)
		b->expired = true;
	return b->expired;
}

bool
budget_is_expired(const struct budget *b)
{
	return b->running && b->expired;
}

uint64_t
budget_stop(struct budget *b)
{
	uint64_t now = budget_now_ns();

	b->running = false;
	b->expired = false;
	return now > b->start_ns ? now - b->start_ns : 0;
}

duk_bool_t
edged_duk_exec_timeout_check(void *udata)
{
	struct sandbox_runtime *rt = udata;

	if (rt == NULL)
		return 0;
	return budget_check(&rt->budget) ? 1 : 0;
}

void
edged_duk_fatal(void *udata, const char *msg)
{
	(void)udata;
	log_warnx("duktape fatal error: %s", msg != NULL ? msg : "(no message)");
	_exit(70);
}
