/*
 * pool_spawn: the pool's side of the launcher: asking for blanks, receiving
 * them, reporting deaths, evicting idle sandboxes when full, and the idle
 * sweep.  Runs in the supervisor.
 */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/channel.h"
#include "common/log.h"
#include "supervisor/core.h"
#include "supervisor/pool_internal.h"
#include "supervisor/registry.h"

void
pool_send_kill(struct pool *p, struct sandbox *sbx)
{
	struct ipc_value f[3];

	if (p->launcher == NULL || sbx->pid <= 0)
		return;
	f[IPC_KILL_PID] = ipc_u64((uint64_t)sbx->pid);
	f[IPC_KILL_SLOT] = ipc_u64(sbx->slot);
	f[IPC_KILL_GENERATION] = ipc_u64(sbx->generation);
	channel_send(p->launcher, IPC_KILL, 0, f, 3);
}

/* --- spawning ----------------------------------------------------------------- */

time_t
pool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
pool_free_slot(struct pool *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		if (!p->slots[i].used)
			return (int)i;
	return -1;
}

static unsigned
pool_tenant_count(const struct version *v)
{
	return v != NULL && v->pool_tenant != NULL ? v->pool_tenant->nsandboxes : 0;
}

/*
 * What a tenant holds or is about to: its sandboxes, and blanks on their way
 * to its other versions that wait for one (they may not be assigned yet).
 */
static unsigned
pool_tenant_claim(const struct pool *p, const struct version *v)
{
	const struct version *w;
	unsigned n;

	if (v == NULL)
		return 0;
	n = pool_tenant_count(v);
	TAILQ_FOREACH (w, &p->wanting, want_entry)
		if (w != v && w->pool_tenant == v->pool_tenant)
			n++;
	return n;
}

/*
 * Closes an idle sandbox to make room for `for_version` (NULL: an upload):
 * one of the tenant holding the most sandboxes, least recently used first.
 * A tenant's last sandbox goes only for a tenant that has none, so a tenant
 * with many never takes a quiet tenant's warm sandbox.  False if none may go.
 */
static bool
pool_evict_idle(struct pool *p, const struct version *for_version)
{
	struct sandbox *sbx, *victim = NULL;
	unsigned have = pool_tenant_claim(p, for_version), count;

	TAILQ_FOREACH (sbx, &p->all, all_entry) {
		if (sbx->state != SBX_READY || sbx->inflight > 0 || sbx->closing)
			continue;
		count = pool_tenant_count(sbx->version);
		if (victim == NULL || count > pool_tenant_count(victim->version) ||
		    (count == pool_tenant_count(victim->version) &&
			sbx->last_used < victim->last_used))
			victim = sbx;
	}
	if (victim == NULL)
		return false;
	count = pool_tenant_count(victim->version);
	if (for_version != NULL && victim->version->pool_tenant != for_version->pool_tenant &&
	    count <= 1 && have > 0)
		return false;
	pool_close_sandbox(victim, "evicted");
	return true;
}

/* The blanks kept ready for nobody in particular: none while draining. */
static unsigned
pool_standing_blanks(const struct pool *p)
{
	return p->core->draining ? 0 : p->core->cfg.pool_blanks;
}

/* How many blanks we want: the standing pool plus everyone waiting for one. */
static unsigned
pool_blanks_wanted(const struct pool *p)
{
	const struct version *v;
	unsigned n = pool_standing_blanks(p) + p->nvalidations;

	TAILQ_FOREACH (v, &p->wanting, want_entry)
		n++;
	return n;
}

void
pool_refill(struct pool *p)
{
	struct ipc_value f[2];
	int slot;

	/* While draining, queued requests and uploads still get their sandbox. */
	if (p->launcher == NULL || p->shutting_down)
		return;
	while (p->nblanks + p->nstarting + p->nspawning < pool_blanks_wanted(p)) {
		if ((slot = pool_free_slot(p)) == -1 ||
		    p->nall + p->nspawning >= p->core->cfg.max_sandboxes) {
			/* Full: make room only for someone actually waiting. */
			if (p->nblanks + p->nstarting + p->nspawning >=
				pool_blanks_wanted(p) - pool_standing_blanks(p) ||
			    !pool_evict_idle(p, pool_fairest_wanting(p)))
				return;
			continue;
		}
		p->slots[slot].used = true;
		p->slots[slot].generation++;
		f[IPC_SPAWN_SLOT] = ipc_u64((uint64_t)slot);
		f[IPC_SPAWN_GENERATION] = ipc_u64(p->slots[slot].generation);
		if (channel_send(p->launcher, IPC_SPAWN, 0, f, 2) == -1) {
			p->slots[slot].used = false;
			return;
		}
		p->nspawning++;
	}
}

static void
pool_on_spawned(struct pool *p, struct channel *ch, const struct ipc_msg *msg)
{
	uint64_t slot = msg->field[IPC_SPAWNED_SLOT].u;
	int sup_fd = channel_take_fd(ch);
	int broker_fd = channel_take_fd(ch);
	struct sandbox *sbx;

	if (p->nspawning > 0)
		p->nspawning--;
	if (sup_fd == -1 || broker_fd == -1 || slot >= p->nslots ||
	    (sbx = calloc(1, sizeof(*sbx))) == NULL) {
		if (sup_fd != -1)
			close(sup_fd);
		if (broker_fd != -1)
			close(broker_fd);
		if (slot < p->nslots)
			p->slots[slot].used = false;
		return;
	}
	sbx->pool = p;
	sbx->slot = (uint32_t)slot;
	sbx->generation = (uint32_t)msg->field[IPC_SPAWNED_GENERATION].u;
	sbx->pid = (pid_t)msg->field[IPC_SPAWNED_PID].u;
	sbx->has_cpu_clock = clock_getcpuclockid(sbx->pid, &sbx->cpu_clock) == 0;
	sbx->broker_fd = broker_fd;
	sbx->state = SBX_STARTING;
	sbx->started = pool_now();
	sbx->next_id = 1;
	TAILQ_INIT(&sbx->exchanges);
	sbx->ch = channel_new(p->core->base, sup_fd, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX,
	    IPC_CAP_FROM_SANDBOX, IPC_ST_BLANK, 0, &pool_sandbox_ops, sbx);
	if (sbx->ch == NULL) {
		close(broker_fd);
		p->slots[slot].used = false;
		free(sbx);
		return;
	}
	/* It becomes a blank once its HELLO says the lock-down is complete. */
	TAILQ_INSERT_TAIL(&p->all, sbx, all_entry);
	p->nall++;
	p->nstarting++;
}

void
pool_sandbox_ready(struct pool *p, struct sandbox *sbx)
{
	p->nstarting--;
	sbx->state = SBX_BLANK;
	TAILQ_INSERT_TAIL(&p->blanks, sbx, list_entry);
	sbx->in_blanks = true;
	p->nblanks++;
	p->core->stats.sandbox_spawned++;
	log_debug("sandbox spawned (pid %ld, slot %u)", (long)sbx->pid, sbx->slot);
	pool_use_blanks(p);
	pool_refill(p);
}

static void
pool_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_refill(arg);
}

static void
pool_on_launcher(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct pool *p = arg;
	struct timeval tv;

	switch (msg->type) {
	case IPC_SPAWNED:
		pool_on_spawned(p, ch, msg);
		break;
	case IPC_SPAWN_FAILED:
		if (p->nspawning > 0)
			p->nspawning--;
		if (msg->field[IPC_SPAWN_FAILED_SLOT].u < p->nslots)
			p->slots[msg->field[IPC_SPAWN_FAILED_SLOT].u].used = false;
		log_warnx("launcher cannot fork a sandbox: %.*s",
		    (int)msg->field[IPC_SPAWN_FAILED_REASON].b.len,
		    msg->field[IPC_SPAWN_FAILED_REASON].b.ptr);
		pool_timeval_ms(&tv, POOL_RESPAWN_DELAY_MS);
		evtimer_add(p->respawn_timer, &tv);
		break;
	case IPC_LAYERS:
		core_layers_received(p->core, msg);
		break;
	case IPC_CHILD_EXITED: {
		int status = (int)msg->field[IPC_CHILD_EXITED_STATUS].u;

		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
			pool_sandbox_sigsys(p, (pid_t)msg->field[IPC_CHILD_EXITED_PID].u);
		else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			log_warnx("sandbox %llu killed by signal %d",
			    (unsigned long long)msg->field[IPC_CHILD_EXITED_PID].u,
			    WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("sandbox %llu exited with status %d",
			    (unsigned long long)msg->field[IPC_CHILD_EXITED_PID].u,
			    WEXITSTATUS(status));
		break;
	}
	default:
		break;
	}
}

static void
pool_on_launcher_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct pool *p = arg;

	(void)ch;
	(void)violation;
	p->launcher = NULL;
	if (!p->shutting_down)
		fatalx("launcher channel lost: %s", reason);
}

static const struct channel_ops pool_launcher_ops = {
	.on_message = pool_on_launcher,
	.on_closed = pool_on_launcher_closed,
};

/* --- idle sweep ------------------------------------------------------------- */

static void
pool_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	const struct config *c = &p->core->cfg;
	struct sandbox *sbx;
	time_t now = time(NULL), mono = pool_now();

	(void)fd;
	(void)what;
	TAILQ_FOREACH (sbx, &p->all, all_entry) {
		if (sbx->state != SBX_READY || sbx->retiring || sbx->closing)
			continue;
		/* Busy ones past their age drain: they close when their requests end. */
		if (c->recycle_age_s > 0 && mono - sbx->started >= (time_t)c->recycle_age_s) {
			sbx->retiring = true;
			sbx->recycle_reason = "recycle_age";
		} else if (sbx->inflight == 0 &&
		    now - sbx->last_used >= (time_t)c->sandbox_idle_s) {
			sbx->retiring = true;
			sbx->recycle_reason = "idle";
		}
	}
	pool_close_retired(p);
}

int
pool_launcher_open(struct pool *p, int launcher_fd)
{
	struct timeval tv;

	p->sweep_timer = event_new(p->core->base, -1, EV_PERSIST, pool_sweep_cb, p);
	p->respawn_timer = evtimer_new(p->core->base, pool_respawn_cb, p);
	p->launcher =
	    channel_new(p->core->base, launcher_fd, IPC_PEER_SUPERVISOR, IPC_PEER_LAUNCHER,
		IPC_CAP_CONTROL, IPC_ST_READY, CHANNEL_RECV_FDS, &pool_launcher_ops, p);
	if (p->sweep_timer == NULL || p->respawn_timer == NULL || p->launcher == NULL)
		return -1;
	pool_timeval_ms(&tv, POOL_SWEEP_MS);
	return event_add(p->sweep_timer, &tv);
}

void
pool_launcher_close(struct pool *p)
{
	if (p->launcher != NULL)
		channel_close(p->launcher, "shutdown");
	if (p->sweep_timer != NULL)
		event_free(p->sweep_timer);
	if (p->respawn_timer != NULL)
		event_free(p->respawn_timer);
	p->sweep_timer = p->respawn_timer = NULL;
}
