/*
 * clock: a wall clock frozen between I/O events, the Spectre mitigation
 * Workers apply to Date.now() and performance.now().  Runs in sandboxes.
 */
#include "sandbox/clock.h"

#include <math.h>
#include <time.h>

/* One JS heap per process, one clock per process. */
static double clock_frozen_ms;
static int clock_ticked;

static double
clock_real_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return 0;
	return floor((double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6);
}

void
clock_tick(void)
{
	double now = clock_real_ms();

	/* A wall clock stepped backwards must not make tenant time run backwards. */
	if (!clock_ticked || now > clock_frozen_ms)
		clock_frozen_ms = now;
	clock_ticked = 1;
}

double
clock_now_ms(void)
{
	return clock_ticked ? clock_frozen_ms : clock_real_ms();
}

double
edged_duk_date_now(void)
{
	return clock_now_ms();
}
