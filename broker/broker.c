/*
 * broker: owns storage and serves binding calls from sandboxes, on channels
 * the supervisor attaches with the caller's identity, and the operator's
 * storage calls (ADMIN_CALL) on the supervisor's own channel.  Runs in its
 * own process.
 */
#include "broker/broker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/attachment.h"
#include "broker/calls.h"
#include "broker/store.h"
#include "common/channel.h"
#include "common/ipc.h"
#include "common/log.h"

#define BROKER_SWEEP_SECONDS 5
#define BROKER_SWEEP_MAX 1000 /* expired KV keys deleted per sweep */

#define BROKER_NAME_MAX 64 /* tenants, resources */
#define BROKER_KIND_MAX 16
#define BROKER_METHOD_MAX 32

struct broker {
	struct event_base *base;
	const struct broker_config *cfg;
	struct channel *sup;
	struct bcalls *admin; /* ADMIN_CALLs on the supervisor's channel */
	struct bcalls_backends be;
	struct event *sweep;
	struct attachment_list attachments;
};

static void
broker_detach(struct broker *b, uint64_t channel_id)
{
	struct attachment *a = attachment_find(&b->attachments, channel_id);

	if (a != NULL)
		attachment_close(a, "detached by the supervisor");
}

/* What a resource of a kind is called, for messages. */
static const char *
broker_resource_noun(enum store_kind kind)
{
	switch (kind) {
	case STORE_KV:
		return "KV namespace id";
	case STORE_D1:
		return "D1 database id";
	case STORE_R2:
		return "R2 bucket name";
	}
	return "resource";
}

/*
 * Checks tenant, kind, resource and limits of an ADMIN_CALL, copying them
 * out.  NULL when they are fine, else what is wrong, written into `why`.
 */
static const char *
broker_admin_check(const struct ipc_msg *msg, char *tenant, char *kind_name, char *resource,
    struct store_limits *limits, char *why, size_t why_size)
{
	const struct ipc_bytes *text = &msg->field[IPC_ADMIN_CALL_LIMITS].b;
	enum store_kind kind;

	if (!bcalls_copy_str(&msg->field[IPC_ADMIN_CALL_TENANT], tenant, BROKER_NAME_MAX + 1) ||
	    !store_tenant_is_valid(tenant)) {
		snprintf(why, why_size, "invalid tenant '%s'", tenant);
		return why;
	}
	if (!bcalls_copy_str(&msg->field[IPC_ADMIN_CALL_KIND], kind_name, BROKER_KIND_MAX + 1) ||
	    (kind = store_kind_from_name(kind_name)) == 0) {
		snprintf(why, why_size, "unknown storage kind '%s' (kv, d1 or r2)", kind_name);
		return why;
	}
	if (!bcalls_copy_str(&msg->field[IPC_ADMIN_CALL_RESOURCE], resource, BROKER_NAME_MAX + 1) ||
	    !store_resource_is_valid(kind, resource)) {
		snprintf(why, why_size, "invalid %s '%s'", broker_resource_noun(kind), resource);
		return why;
	}
	memset(limits, 0, sizeof(*limits));
	if (text->len > 0 && store_limits_parse(text->ptr, text->len, limits) == -1)
		return "limits must be a JSON object";
	return NULL;
}

/* An operator's storage call: the supervisor names tenant, kind and resource. */
static void
broker_admin_call(struct broker *b, const struct ipc_msg *msg)
{
	char tenant[BROKER_NAME_MAX + 1], kind_name[BROKER_KIND_MAX + 1];
	char resource[BROKER_NAME_MAX + 1], method[BROKER_METHOD_MAX + 1];
	char why[256];
	struct store_limits limits;
	struct bcalls_request req;

	tenant[0] = kind_name[0] = resource[0] = '\0';
	memset(&limits, 0, sizeof(limits));
	memset(&req, 0, sizeof(req));
	req.id = msg->id;
	req.tenant = tenant;
	req.resource = resource;
	req.method = method;
	req.args = msg->field[IPC_ADMIN_CALL_ARGS].b;
	req.chunk = msg->field[IPC_ADMIN_CALL_CHUNK].b;
	req.more = msg->field[IPC_ADMIN_CALL_MORE].u;
	req.limits = &limits;
	req.invalid =
	    broker_admin_check(msg, tenant, kind_name, resource, &limits, why, sizeof(why));
	if (!bcalls_copy_str(&msg->field[IPC_ADMIN_CALL_METHOD], method, sizeof(method))) {
		method[0] = '\0';
		if (req.invalid == NULL)
			req.invalid = "unknown method";
	}
	if (req.invalid == NULL)
		req.kind = store_kind_from_name(kind_name);
	bcalls_begin(b->admin, &req);
}

static void
broker_on_supervisor(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct broker *b = arg;
	int fd;

	switch (msg->type) {
	case IPC_ATTACH:
		if ((fd = channel_take_fd(ch)) != -1)
			attachment_new(&b->attachments, b->base, &b->be, msg, fd);
		break;
	case IPC_DETACH:
		broker_detach(b, msg->field[IPC_DETACH_CHANNEL].u);
		break;
	case IPC_ADMIN_CALL:
		broker_admin_call(b, msg);
		break;
	default:
		bcalls_on_message(b->admin, msg);
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
	bcalls_free(b->admin);
	b->admin = NULL;
	b->sup = NULL;
	event_base_loopbreak(b->base);
}

static void
broker_on_supervisor_drained(struct channel *ch, void *arg)
{
	struct broker *b = arg;

	(void)ch;
	bcalls_on_drained(b->admin);
}

static const struct channel_ops broker_sup_ops = {
	.on_message = broker_on_supervisor,
	.on_closed = broker_on_supervisor_closed,
	.on_drained = broker_on_supervisor_drained,
};

/* Deletes expired KV keys every few seconds, at once again while there are more. */
static void
broker_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	struct timeval tv = { .tv_sec = BROKER_SWEEP_SECONDS };
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	if (kv_sweep(b->be.kv, now > 0 ? (uint64_t)now : 0, BROKER_SWEEP_MAX) >= BROKER_SWEEP_MAX)
		tv.tv_sec = 0;
	evtimer_add(b->sweep, &tv);
}

static void
broker_open_backends(struct broker *b)
{
	const char *dir = b->cfg->data_dir;

	if ((b->be.kv = kv_open(dir)) == NULL)
		fatalx("cannot open the KV store under '%s'", dir);
	if ((b->be.d1 = d1_open(dir)) == NULL)
		fatalx("cannot open the D1 store under '%s'", dir);
	d1_set_time_limit_ms(b->be.d1, b->cfg->d1_query_ms);
	if ((b->be.r2 = r2_open(dir)) == NULL)
		fatalx("cannot open the R2 store under '%s'", dir);
}

/* After the loop: every channel and call ends (uploads aborted), then the backends close. */
static void
broker_shutdown(struct broker *b)
{
	while (!TAILQ_EMPTY(&b->attachments))
		attachment_close(TAILQ_FIRST(&b->attachments), "broker exiting");
	if (b->sup != NULL)
		channel_close(b->sup, "broker exiting");
	bcalls_free(b->admin);
	event_free(b->sweep);
	kv_close(b->be.kv);
	d1_close(b->be.d1);
	r2_close(b->be.r2);
	event_base_free(b->base);
}

void
broker_main(int sup_fd, const struct broker_config *cfg)
{
	struct broker b;
	struct timeval tv = { .tv_sec = BROKER_SWEEP_SECONDS };

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
	broker_open_backends(&b);
	if ((b.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if ((b.sweep = evtimer_new(b.base, broker_sweep, &b)) == NULL ||
	    evtimer_add(b.sweep, &tv) == -1)
		fatalx("cannot arm the KV sweep timer");
	b.sup = channel_new(b.base, sup_fd, IPC_PEER_BROKER, IPC_PEER_SUPERVISOR,
	    IPC_CAP_BROKER_CONTROL, IPC_ST_READY, CHANNEL_RECV_FDS, &broker_sup_ops, &b);
	if (b.sup == NULL)
		fatalx("cannot open the supervisor channel");
	if ((b.admin = bcalls_new(&b.be, b.sup, true, BCALLS_MAX_ADMIN, "supervisor")) == NULL)
		fatalx("cannot set up admin calls: out of memory");
	event_base_dispatch(b.base);
	broker_shutdown(&b);
	exit(0);
}
