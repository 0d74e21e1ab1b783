/*
 * broker: owns storage and serves binding calls from sandboxes, on channels
 * the supervisor attaches with the caller's identity.  Runs in its own
 * process.
 */
#include "broker/broker.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/channel.h"
#include "common/ipc.h"
#include "common/log.h"

/* One sandbox channel and the identity the supervisor bound to it. */
struct attachment {
	TAILQ_ENTRY(attachment) entry;
	struct broker *broker;
	uint64_t channel_id;
	char *tenant;
	char *worker;
	uint64_t version;
	struct channel *ch;
};

struct broker {
	struct event_base *base;
	const struct broker_config *cfg;
	struct channel *sup;
	TAILQ_HEAD(, attachment) attachments;
};

static void
attachment_free(struct attachment *a)
{
	TAILQ_REMOVE(&a->broker->attachments, a, entry);
	free(a->tenant);
	free(a->worker);
	free(a);
}

static void
attachment_on_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct attachment *a = arg;

	/* No binding call exists yet: anything past HELLO is a violation. */
	log_warnx("tenant '%s' worker '%s': unexpected %s on the broker channel", a->tenant,
	    a->worker, msg->spec->name);
	channel_close(ch, "unexpected message");
}

static void
attachment_on_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct attachment *a = arg;

	(void)ch;
	if (violation)
		log_warnx("tenant '%s' worker '%s': broker channel dropped: %s", a->tenant,
		    a->worker, reason);
	a->ch = NULL;
	attachment_free(a);
}

static const struct channel_ops attachment_ops = {
	.on_message = attachment_on_message,
	.on_closed = attachment_on_closed,
};

static void
broker_attach(struct broker *b, struct channel *sup, const struct ipc_msg *msg)
{
	struct attachment *a;
	int fd = channel_take_fd(sup);

	if (fd == -1)
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->tenant = ipc_strdup(&msg->field[IPC_ATTACH_TENANT])) == NULL ||
	    (a->worker = ipc_strdup(&msg->field[IPC_ATTACH_WORKER])) == NULL) {
		log_warnx("cannot attach a sandbox channel: out of memory");
		if (a != NULL) {
			free(a->tenant);
			free(a);
		}
		close(fd);
		return;
	}
	a->broker = b;
	a->channel_id = msg->field[IPC_ATTACH_CHANNEL].u;
	a->version = msg->field[IPC_ATTACH_VERSION].u;
	TAILQ_INSERT_TAIL(&b->attachments, a, entry);
	a->ch = channel_new(b->base, fd, IPC_PEER_BROKER, IPC_PEER_SANDBOX, IPC_CAP_FROM_SANDBOX,
	    IPC_ST_READY, 0, &attachment_ops, a);
	if (a->ch == NULL)
		attachment_free(a);
}

static void
broker_detach(struct broker *b, uint64_t channel_id)
{
	struct attachment *a;

	TAILQ_FOREACH (a, &b->attachments, entry) {
		if (a->channel_id == channel_id) {
			channel_close(a->ch, "detached by the supervisor");
			return;
		}
	}
}

static void
broker_on_supervisor(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct broker *b = arg;

	switch (msg->type) {
	case IPC_ATTACH:
		broker_attach(b, ch, msg);
		break;
	case IPC_DETACH:
		broker_detach(b, msg->field[IPC_DETACH_CHANNEL].u);
		break;
	default:
		break;
	}
}

static void
broker_on_supervisor_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct broker *b = arg;

	(void)ch;
	if (violation)
		log_warnx("supervisor channel: %s", reason);
	b->sup = NULL;
	event_base_loopbreak(b->base);
}

static const struct channel_ops broker_sup_ops = {
	.on_message = broker_on_supervisor,
	.on_closed = broker_on_supervisor_closed,
};

void
broker_main(int sup_fd, const struct broker_config *cfg)
{
	struct broker b;

	log_init("broker", LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The supervisor forks the broker after it dropped to the service user,
	 * so the broker is born unprivileged; only --dev without that user (or
	 * an empty 'user') leaves it root, and then it says so.
	 */
	if (geteuid() == 0)
		log_warnx("broker running as root: no service user to drop to");
	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	TAILQ_INIT(&b.attachments);
	if ((b.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	b.sup = channel_new(b.base, sup_fd, IPC_PEER_BROKER, IPC_PEER_SUPERVISOR,
	    IPC_CAP_BROKER_CONTROL, IPC_ST_READY, CHANNEL_RECV_FDS, &broker_sup_ops, &b);
	if (b.sup == NULL)
		fatalx("cannot open the supervisor channel");
	event_base_dispatch(b.base);
	exit(0);
}
