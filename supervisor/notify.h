/*
 * notify: the systemd service protocol (Type=notify): readiness, reloading,
 * stopping, status text and the watchdog keep-alive.  Harmless outside
 * systemd.  Runs in the supervisor.
 */
#ifndef EDGED_NOTIFY_H
#define EDGED_NOTIFY_H

struct event_base;

/* Starts the watchdog keep-alive timer when systemd asked for one; 0 or -1. */
int notify_start_watchdog(struct event_base *base);
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);

#endif
