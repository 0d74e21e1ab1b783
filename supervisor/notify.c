/*
 * notify: sd_notify messages and the watchdog timer.  Runs in the supervisor.
 */
#include "supervisor/notify.h"

#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"

static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

int
notify_start_watchdog(struct event_base *base)
{
	static struct event *timer;
	uint64_t usec = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	/* Twice per period, so one late tick is not a missed deadline. */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	if (timer == NULL &&
	    (timer = event_new(base, -1, EV_PERSIST, notify_watchdog_cb, NULL)) == NULL)
		return -1;
	return event_add(timer, &tv);
}

void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
