/*
 * End to end: edged as a systemd Type=notify service — readiness, reloading,
 * stopping and the watchdog, as systemd would see them on NOTIFY_SOCKET.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

/* A datagram socket standing in for systemd's notification socket. */
struct notify_sink {
	int fd;
	char path[108];
	char seen[8192]; /* every datagram so far, newline-separated */
};

static void
sink_open(struct notify_sink *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "/tmp/edged-notify-%ld.sock", (long)getpid());
	unlink(s->path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s->fd, 0);
	memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", s->path, 1);
}

/* Collects datagrams until `needle` was seen (bounded by timeout_ms). */
static bool
sink_wait(struct notify_sink *s, const char *needle, int timeout_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	char dgram[1024];
	ssize_t n;

	while (strstr(s->seen, needle) == NULL) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		if ((n = recv(s->fd, dgram, sizeof(dgram) - 1, 0)) <= 0)
			return false;
		dgram[n] = '\0';
		strncat(s->seen, dgram, sizeof(s->seen) - strlen(s->seen) - 2);
		strcat(s->seen, "\n");
	}
	return true;
}

static void
sink_close(struct notify_sink *s)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	close(s->fd);
	unlink(s->path);
}

Test(service, ready_reloading_and_stopping_are_notified, .timeout = 60)
{
	struct notify_sink sink;
	struct edged *e;

	sink_open(&sink);
	e = edged_start(NULL);
	cr_expect(sink_wait(&sink, "READY=1", 10000), "no READY=1; got: %s", sink.seen);

	kill(e->pid, SIGHUP);
	cr_expect(sink_wait(&sink, "RELOADING=1", 10000), "no RELOADING=1; got: %s", sink.seen);
	cr_expect(edged_log_wait(e, "configuration reloaded", 10000));

	kill(e->pid, SIGTERM);
	cr_expect(sink_wait(&sink, "STOPPING=1", 10000), "no STOPPING=1; got: %s", sink.seen);
	cr_expect_eq(edged_stop(e), 0);
	edged_free(e);
	sink_close(&sink);
}

Test(service, watchdog_keepalives_are_sent, .timeout = 60)
{
	struct notify_sink sink;
	struct edged *e;

	sink_open(&sink);
	/* systemd's WatchdogSec: edged pings at half the period. */
	setenv("WATCHDOG_USEC", "200000", 1);
	e = edged_start(NULL);
	cr_expect(sink_wait(&sink, "WATCHDOG=1", 10000), "no WATCHDOG=1; got: %s", sink.seen);
	edged_free(e);
	sink_close(&sink);
}
