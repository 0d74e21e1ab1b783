/*
 * clock: the time tenant code sees (Date.now(), performance.now()).  As on
 * Workers, it stands still while JS runs and moves only across I/O: the
 * sandbox loop ticks it once per wake-up, before any macrotask.  Runs in sandboxes.
 */
#ifndef EDGED_CLOCK_H
#define EDGED_CLOCK_H

/* Reads the real time into the clock; call before running a macrotask. */
void clock_tick(void);

/*
 * The clock, in whole milliseconds since the Unix epoch.  Before the first
 * clock_tick() (while the runtime is being built, in tools and tests) it is
 * the real time at each call.
 */
double clock_now_ms(void);

/*
 * Duktape's Date provider (DUK_USE_DATE_GET_NOW in the generated
 * duk_config.h, declared weak there so that tools without this module fall
 * back to the real time).
 */
double edged_duk_date_now(void);

#endif
