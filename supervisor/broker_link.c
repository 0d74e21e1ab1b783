/*
 * broker_link: starting, watching and restarting the broker, and the
 * channel its storage calls travel on (broker_calls.c).  Runs in the
 * supervisor.
 */
#include "supervisor/broker_link.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/broker.h"
#include "common/channel.h"
#include "common/log.h"
#include "supervisor/broker_calls.h"
#include "supervisor/core.h"
#include "supervisor/pool.h"
#include "supervisor/proc.h"

#define BROKER_RESTART_MIN_MS 100
#define BROKER_RESTART_MAX_MS 10000

struct broker_link {
	struct core *core;
	struct channel *ch;
	pid_t pid;
	struct broker_config cfg;
	struct event *restart_timer;
	unsigned backoff_ms;
	struct broker_calls *calls; /* admin storage calls in flight */
};

static void broker_link_start(struct broker_link *bl);

static void
broker_link_child(int fd, void *arg)
{
	struct broker_link *bl = arg;

	broker_main(fd, &bl->cfg);
}

static void
broker_link_on_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct broker_link *bl = arg;

	(void)ch;
	/* Only answers to our calls come from the broker; nothing is unprompted yet. */
	if (!broker_calls_on_message(bl->calls, msg))
		log_debug("broker: unexpected %s ignored", msg->spec->name);
}

static void
broker_link_on_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct broker_link *bl = arg;
	struct timeval tv;

	(void)ch;
	(void)violation;
	bl->ch = NULL;
	/* Storage calls in flight fail (STORE_E_UNAVAILABLE): their broker is gone. */
	broker_calls_set_channel(bl->calls, NULL);
	/* Sandboxes attached to the dead broker lost their channel: replace them. */
	if (bl->core->pool != NULL && !bl->core->draining)
		pool_broker_lost(bl->core->pool);
	else if (bl->core->pool != NULL)
		pool_set_broker(bl->core->pool, NULL);
	if (bl->pid > 0)
		kill(bl->pid, SIGKILL);
	bl->pid = 0;
	if (bl->core->draining)
		return;
	log_warnx("broker lost (%s): restarting in %u ms", reason, bl->backoff_ms);
	bl->core->stats.broker_restarts++;
	tv.tv_sec = bl->backoff_ms / 1000;
	tv.tv_usec = (bl->backoff_ms % 1000) * 1000;
	evtimer_add(bl->restart_timer, &tv);
	bl->backoff_ms =
	    bl->backoff_ms * 2 > BROKER_RESTART_MAX_MS ? BROKER_RESTART_MAX_MS : bl->backoff_ms * 2;
}

static const struct channel_ops broker_link_ops = {
	.on_message = broker_link_on_message,
	.on_closed = broker_link_on_closed,
};

static void
broker_link_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	broker_link_start(arg);
}

static void
broker_link_start(struct broker_link *bl)
{
	struct timeval tv = { .tv_sec = 1 };
	int fd;

	bl->pid = proc_spawn("broker", broker_link_child, bl, &fd);
	if (bl->pid == -1) {
		bl->pid = 0;
		evtimer_add(bl->restart_timer, &tv);
		return;
	}
	bl->ch = channel_new(bl->core->base, fd, IPC_PEER_SUPERVISOR, IPC_PEER_BROKER,
	    IPC_CAP_FROM_BROKER, IPC_ST_READY, CHANNEL_SEND_FDS, &broker_link_ops, bl);
	if (bl->ch == NULL) {
		kill(bl->pid, SIGKILL);
		bl->pid = 0;
		evtimer_add(bl->restart_timer, &tv);
		return;
	}
	broker_calls_set_channel(bl->calls, bl->ch);
	if (bl->core->pool != NULL)
		pool_set_broker(bl->core->pool, bl->ch);
	log_info("broker started (pid %ld)", (long)bl->pid);
}

/* A broker that stayed up for a while earns a fresh back-off. */
static void
broker_link_reset_backoff(struct broker_link *bl)
{
	bl->backoff_ms = BROKER_RESTART_MIN_MS;
}

struct broker_link *
broker_link_new(struct core *core)
{
	struct broker_link *bl;

	if ((bl = calloc(1, sizeof(*bl))) == NULL)
		return NULL;
	bl->core = core;
	bl->cfg.data_dir = core->cfg.data_dir;
	bl->cfg.d1_query_ms = core->cfg.d1_query_ms;
	broker_link_reset_backoff(bl);
	if ((bl->calls = broker_calls_new()) == NULL) {
		free(bl);
		return NULL;
	}
	if ((bl->restart_timer = evtimer_new(core->base, broker_link_restart_cb, bl)) == NULL) {
		broker_calls_free(bl->calls);
		free(bl);
		return NULL;
	}
	broker_link_start(bl);
	if (bl->pid == 0) {
		broker_link_free(bl);
		return NULL;
	}
	return bl;
}

void
broker_link_free(struct broker_link *bl)
{
	if (bl == NULL)
		return;
	event_free(bl->restart_timer);
	if (bl->ch != NULL) {
		struct channel *ch = bl->ch;

		bl->pid = 0; /* it exits on EOF; the reaper collects it */
		channel_close(ch, "shutdown");
	}
	broker_calls_free(bl->calls);
	free(bl);
}

bool
broker_link_owns(const struct broker_link *bl, pid_t pid)
{
	return bl != NULL && bl->pid == pid;
}

pid_t
broker_link_pid(const struct broker_link *bl)
{
	return bl != NULL ? bl->pid : 0;
}

struct broker_call *
broker_call(
    struct broker_link *bl, const struct broker_call_args *a, broker_call_done done, void *ctx)
{
	return broker_calls_start(bl != NULL ? bl->calls : NULL, a, done, ctx);
}
