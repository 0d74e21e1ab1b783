/*
 * pool: the life of sandboxes: assignment of blanks to script versions,
 * request leasing and queueing, messages from sandboxes, retirement and
 * death.  The launcher side is in pool_spawn.c, upload validations in
 * pool_validate.c, recycling rules and /status in pool_policy.c.  Runs in
 * the supervisor.
 */
#define _GNU_SOURCE /* SCHED_IDLE */
#include "supervisor/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/channel.h"
#include "common/log.h"
#include "supervisor/core.h"
#include "supervisor/exchange.h"
#include "supervisor/pool_internal.h"
#include "supervisor/registry.h"

static void pool_pump(struct pool *p, struct version *v);

/* --- killing and freeing ---------------------------------------------------- */

const char *
pool_sandbox_tenant(const struct sandbox *sbx)
{
	if (sbx->version != NULL)
		return sbx->version->tenant;
	if (sbx->validation != NULL)
		return sbx->validation->tenant;
	return "-";
}

const char *
pool_sandbox_worker(const struct sandbox *sbx)
{
	if (sbx->version != NULL)
		return sbx->version->worker;
	if (sbx->validation != NULL)
		return sbx->validation->worker;
	return "-";
}

static uint64_t
sandbox_channel_id(const struct sandbox *sbx)
{
	return ((uint64_t)sbx->slot << 32) | sbx->generation;
}

void
pool_timeval_ms(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

void
pool_count_kill(struct pool *p, const char *reason)
{
	struct core_stats *st = &p->core->stats;

	if (strcmp(reason, "ipc_violation") == 0)
		st->sandbox_killed_ipc++;
	else if (strcmp(reason, "wall") == 0)
		st->sandbox_killed_wall++;
	else if (strcmp(reason, "startup") == 0)
		st->sandbox_killed_startup++;
	else if (strcmp(reason, "crash") == 0)
		st->sandbox_killed_crash++;
	else if (strcmp(reason, "cpu_hard") == 0)
		st->sandbox_killed_cpu++;
	else if (strcmp(reason, "seccomp") == 0)
		st->sandbox_killed_seccomp++;
	else {
		/* Ended on purpose; the recycling reasons have their own counters too. */
		st->sandbox_recycled++;
		if (strcmp(reason, "recycle_requests") == 0)
			st->recycled_requests++;
		else if (strcmp(reason, "recycle_cpu") == 0)
			st->recycled_cpu++;
		else if (strcmp(reason, "recycle_rss") == 0)
			st->recycled_rss++;
		else if (strcmp(reason, "recycle_age") == 0)
			st->recycled_age++;
		else if (strcmp(reason, "idle") == 0)
			st->recycled_idle++;
		else if (strcmp(reason, "evicted") == 0)
			st->recycled_evicted++;
	}
}

/* --- per-tenant accounting ------------------------------------------------- */

/* The tenant's counters, created on first use; NULL when out of memory. */
static struct pool_tenant *
pool_tenant_get(struct pool *p, struct version *v)
{
	struct pool_tenant *t;

	if (v->pool_tenant != NULL)
		return v->pool_tenant;
	TAILQ_FOREACH (t, &p->tenants, entry)
		if (strcmp(t->name, v->tenant) == 0)
			break;
	if (t == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL)
			return NULL;
		memcpy(t->name, v->tenant, sizeof(t->name));
		TAILQ_INSERT_TAIL(&p->tenants, t, entry);
	}
	v->pool_tenant = t;
	return t;
}

static unsigned
pool_tenant_sandboxes(const struct version *v)
{
	return v->pool_tenant != NULL ? v->pool_tenant->nsandboxes : 0;
}

/* Queues a request on its version (and so on its tenant). */
static void
pool_enqueue(struct version *v, struct exchange *ex)
{
	TAILQ_INSERT_TAIL(&v->waiting, ex, entry);
	v->nwaiting++;
	if (v->pool_tenant != NULL)
		v->pool_tenant->nwaiting++;
}

static void
pool_dequeue(struct version *v, struct exchange *ex)
{
	TAILQ_REMOVE(&v->waiting, ex, entry);
	v->nwaiting--;
	if (v->pool_tenant != NULL && v->pool_tenant->nwaiting > 0)
		v->pool_tenant->nwaiting--;
}

struct version *
pool_fairest_wanting(const struct pool *p)
{
	struct version *v, *best = NULL;

	TAILQ_FOREACH (v, &p->wanting, want_entry)
		if (best == NULL || pool_tenant_sandboxes(v) < pool_tenant_sandboxes(best))
			best = v;
	return best;
}

/* Marks a sandbox as going: nothing may lease it from now on. */
static void
pool_mark_closing(struct pool *p, struct sandbox *sbx)
{
	sbx->closing = true;
	if (sbx->in_blanks) {
		TAILQ_REMOVE(&p->blanks, sbx, list_entry);
		sbx->in_blanks = false;
		p->nblanks--;
	}
}

void
pool_kill(struct sandbox *sbx, const char *reason)
{
	struct pool *p = sbx->pool;

	if (sbx->closing)
		return;
	pool_mark_closing(p, sbx);
	log_warnx("killing sandbox %ld (tenant '%s', worker '%s', slot %u): %s", (long)sbx->pid,
	    pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->slot, reason);
	pool_count_kill(p, reason);
	pool_send_kill(p, sbx);
	/* The channel's end runs pool_sandbox_closed, which frees the sandbox. */
	channel_close(sbx->ch, reason);
}

void
pool_wall_expired(struct sandbox *sbx)
{
	if (sbx->closing || sbx->retiring)
		return;
	sbx->retiring = true;
	sbx->recycle_reason = "wall";
}

static void
pool_detach_broker(struct pool *p, struct sandbox *sbx)
{
	struct ipc_value f[1];

	if (sbx->broker_fd != -1) {
		close(sbx->broker_fd);
		sbx->broker_fd = -1;
	}
	if (sbx->attached && p->broker != NULL) {
		f[IPC_DETACH_CHANNEL] = ipc_u64(sandbox_channel_id(sbx));
		channel_send(p->broker, IPC_DETACH, 0, f, 1);
	}
	sbx->attached = false;
}

/* Fails what the sandbox was doing; it is gone or going. */
static void
pool_fail_work(struct pool *p, struct sandbox *sbx, const char *reason)
{
	struct exchange *ex;
	struct validation *val = sbx->validation;

	while ((ex = TAILQ_FIRST(&sbx->exchanges)) != NULL) {
		TAILQ_REMOVE(&sbx->exchanges, ex, entry);
		ex->sbx = NULL;
		sbx->inflight--;
		exchange_fail(ex, 502, "error code: 502\n");
	}
	if (val != NULL) {
		sbx->validation = NULL;
		val->sbx = NULL;
		pool_validation_finish(val, false, 0, 0,
		    strcmp(reason, "startup") == 0
			? "the script's global scope exceeded the startup CPU limit"
			: "the script's global scope crashed its sandbox");
	}
	/* A version whose sandbox died while loading: do not retry forever. */
	if (sbx->state == SBX_LOADING && sbx->version != NULL) {
		struct version *v = sbx->version;

		while ((ex = TAILQ_FIRST(&v->waiting)) != NULL) {
			pool_dequeue(v, ex);
			exchange_fail(ex, 502, "error code: 502\n");
		}
	}
}

static void
pool_sandbox_free(struct pool *p, struct sandbox *sbx)
{
	struct version *v = sbx->version;

	TAILQ_REMOVE(&p->all, sbx, all_entry);
	p->nall--;
	if (sbx->state == SBX_STARTING)
		p->nstarting--;
	if (sbx->in_blanks) {
		TAILQ_REMOVE(&p->blanks, sbx, list_entry);
		p->nblanks--;
	} else if (v != NULL) {
		TAILQ_REMOVE(&v->sandboxes, sbx, list_entry);
		v->nsandboxes--;
		if (v->pool_tenant != NULL && v->pool_tenant->nsandboxes > 0)
			v->pool_tenant->nsandboxes--;
	}
	if (sbx->slot < p->nslots)
		p->slots[sbx->slot].used = false;
	if (sbx->load_timer != NULL)
		event_free(sbx->load_timer);
	pool_detach_broker(p, sbx);
	free(sbx);
	if (v != NULL) {
		if (v->nwaiting > 0)
			pool_pump(p, v);
		else if (v->retired)
			pool_retire_version(p, v);
		version_unref(v);
	}
}

static void
pool_sandbox_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct sandbox *sbx = arg;
	struct pool *p = sbx->pool;

	(void)ch;
	if (violation) {
		log_warnx("killing sandbox %ld (tenant '%s', worker '%s', slot %u): %s",
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->slot,
		    reason);
		pool_count_kill(p, "ipc_violation");
		pool_send_kill(p, sbx);
	} else if (!sbx->closing) {
		log_warnx("sandbox %ld (tenant '%s', worker '%s', slot %u) ended: %s",
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->slot,
		    reason);
		pool_count_kill(p, "crash");
		/* The launcher's exit report may come later and say it was seccomp. */
		p->crashed[p->crashed_next++ % POOL_CRASHED_RING] = sbx->pid;
		pool_send_kill(p, sbx);
	}
	pool_mark_closing(p, sbx);
	pool_fail_work(p, sbx, reason);
	pool_sandbox_free(p, sbx);
	pool_use_blanks(p);
	pool_refill(p);
}

void
pool_close_sandbox(struct sandbox *sbx, const char *reason)
{
	struct pool *p = sbx->pool;

	if (sbx->closing)
		return;
	pool_mark_closing(p, sbx);
	pool_count_kill(p, reason);
	pool_send_kill(p, sbx);
	channel_close(sbx->ch, reason);
}

/* --- messages from a sandbox ----------------------------------------------- */

static void
pool_on_loaded(struct pool *p, struct sandbox *sbx, const struct ipc_msg *msg)
{
	bool ok = msg->field[IPC_LOADED_OK].u == 1;
	unsigned line = (unsigned)msg->field[IPC_LOADED_LINE].u;
	unsigned column = (unsigned)msg->field[IPC_LOADED_COLUMN].u;
	char *message = ipc_strdup(&msg->field[IPC_LOADED_MESSAGE]);
	struct validation *val = sbx->validation;
	struct version *v = sbx->version;
	struct exchange *ex;

	if (sbx->load_timer != NULL)
		event_del(sbx->load_timer);
	if (val != NULL) {
		sbx->validation = NULL;
		val->sbx = NULL;
		pool_validation_finish(
		    val, ok, line, column, message != NULL ? message : "out of memory");
		free(message);
		pool_close_sandbox(sbx, "validated");
		return;
	}
	if (!ok) {
		log_warnx("tenant '%s' worker '%s': version %llu failed to load: %s (line %u)",
		    v->tenant, v->worker, (unsigned long long)v->id, message ? message : "?", line);
		free(message);
		while ((ex = TAILQ_FIRST(&v->waiting)) != NULL) {
			pool_dequeue(v, ex);
			exchange_fail(ex, 500, "error code: 1101\n");
		}
		pool_close_sandbox(sbx, "load_failed");
		return;
	}
	free(message);
	sbx->state = SBX_READY;
	channel_set_state(sbx->ch, IPC_ST_READY);
	sbx->last_used = time(NULL);
	pool_pump(p, v);
}

static void
pool_on_log(struct sandbox *sbx, const struct ipc_msg *msg)
{
	static const char memory_line[] = "exceeded resource limits: memory";
	const struct ipc_bytes *m = &msg->field[IPC_LOG_MESSAGE].b;
	int len = m->len > 16384 ? 16384 : (int)m->len;

	/*
	 * The sandbox says which limit ended a request just before its 1102
	 * (sandbox/serve.c).  A script can print the same words, but that only
	 * changes how its own 1102 is counted.
	 */
	if (msg->field[IPC_LOG_LEVEL].u == LOG_LEVEL_ERROR)
		sbx->said_memory =
		    m->len == sizeof(memory_line) - 1 && memcmp(m->ptr, memory_line, m->len) == 0;

	switch (msg->field[IPC_LOG_LEVEL].u) {
	case LOG_LEVEL_ERROR:
	case LOG_LEVEL_WARN:
		log_warnx("tenant '%s' worker '%s': %.*s", pool_sandbox_tenant(sbx),
		    pool_sandbox_worker(sbx), len, m->ptr);
		break;
	default:
		log_info("tenant '%s' worker '%s': %.*s", pool_sandbox_tenant(sbx),
		    pool_sandbox_worker(sbx), len, m->ptr);
		break;
	}
}

static struct exchange *
pool_find_exchange(struct sandbox *sbx, uint64_t id)
{
	struct exchange *ex;

	TAILQ_FOREACH (ex, &sbx->exchanges, entry)
		if (ex->id == id)
			return ex;
	return NULL;
}

static void
pool_on_sandbox_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct sandbox *sbx = arg;
	struct exchange *ex;

	(void)ch;
	switch (msg->type) {
	case IPC_LOADED:
		pool_on_loaded(sbx->pool, sbx, msg);
		return;
	case IPC_LOG:
		pool_on_log(sbx, msg);
		return;
	default:
		break;
	}
	/* RESP_*: ids we never issued are a violation; finished ones are late. */
	if (msg->id == 0 || msg->id >= sbx->next_id) {
		pool_kill(sbx, "ipc_violation");
		return;
	}
	if ((ex = pool_find_exchange(sbx, msg->id)) == NULL)
		return;
	if (exchange_on_message(ex, msg) == -1) {
		log_warnx("killing sandbox %ld (tenant '%s', worker '%s'): bad %s for request %llu",
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx),
		    msg->spec->name, (unsigned long long)msg->id);
		pool_kill(sbx, "ipc_violation");
	}
}

static void
pool_on_sandbox_hello(struct channel *ch, void *arg)
{
	struct sandbox *sbx = arg;

	(void)ch;
	if (sbx->state == SBX_STARTING && !sbx->closing)
		pool_sandbox_ready(sbx->pool, sbx);
}

const struct channel_ops pool_sandbox_ops = {
	.on_message = pool_on_sandbox_message,
	.on_closed = pool_sandbox_closed,
	.on_hello = pool_on_sandbox_hello,
};

/* --- assignment ------------------------------------------------------------ */

static void
pool_load_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct sandbox *sbx = arg;

	(void)fd;
	(void)what;
	log_warnx("sandbox %ld (tenant '%s', worker '%s'): start-up took too long", (long)sbx->pid,
	    pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx));
	pool_kill(sbx, "startup");
}

int
pool_send_load(struct pool *p, struct sandbox *sbx, const char *tenant, const char *worker,
    uint64_t version, int format, const char *script, const char *bindings)
{
	struct ipc_value f[7];
	struct timeval tv;

	f[IPC_LOAD_TENANT] = ipc_str(tenant);
	f[IPC_LOAD_WORKER] = ipc_str(worker);
	f[IPC_LOAD_VERSION] = ipc_u64(version);
	f[IPC_LOAD_FORMAT] = ipc_u64((uint64_t)format);
	f[IPC_LOAD_SCRIPT] = ipc_str(script);
	f[IPC_LOAD_BINDINGS] = ipc_str(bindings);
	f[IPC_LOAD_STARTUP_CPU_MS] = ipc_u64(p->core->cfg.startup_cpu_ms);
	sbx->state = SBX_LOADING;
	channel_set_state(sbx->ch, IPC_ST_LOADING);
	if (channel_send(sbx->ch, IPC_LOAD, 0, f, 7) == -1)
		return -1;
	sbx->load_timer = evtimer_new(p->core->base, pool_load_timeout, sbx);
	if (sbx->load_timer != NULL) {
		pool_timeval_ms(&tv, p->core->cfg.startup_cpu_ms + POOL_LOAD_GRACE_MS);
		evtimer_add(sbx->load_timer, &tv);
	}
	return 0;
}

static void
pool_attach_broker(struct pool *p, struct sandbox *sbx)
{
	struct version *v = sbx->version;
	char limits[META_STORAGE_LIMITS_TEXT_MAX];
	struct meta_storage_limits l;
	struct ipc_value f[6];
	int fd = sbx->broker_fd;

	if (p->broker == NULL)
		return;
	/* Read now: a sandbox keeps the tenant's quotas of the time it was attached. */
	if (meta_storage_limits_get(p->core->meta, v->tenant, &l) != 1 ||
	    meta_storage_limits_text(&l, limits, sizeof(limits)) == -1) {
		log_warnx("tenant '%s': cannot read storage limits: none sent", v->tenant);
		snprintf(limits, sizeof(limits), "{}");
	}
	f[IPC_ATTACH_CHANNEL] = ipc_u64(sandbox_channel_id(sbx));
	f[IPC_ATTACH_TENANT] = ipc_str(v->tenant);
	f[IPC_ATTACH_WORKER] = ipc_str(v->worker);
	f[IPC_ATTACH_VERSION] = ipc_u64(v->id);
	f[IPC_ATTACH_BINDINGS] = ipc_str(v->bindings);
	f[IPC_ATTACH_LIMITS] = ipc_str(limits);
	sbx->broker_fd = -1;
	if (channel_send_fds(p->broker, IPC_ATTACH, 0, f, 6, &fd, 1) == 0)
		sbx->attached = true;
}

struct sandbox *
pool_take_blank(struct pool *p)
{
	struct sandbox *sbx = TAILQ_FIRST(&p->blanks);

	if (sbx != NULL) {
		TAILQ_REMOVE(&p->blanks, sbx, list_entry);
		sbx->in_blanks = false;
		p->nblanks--;
	}
	return sbx;
}

static void
pool_assign_version(struct pool *p, struct sandbox *sbx, struct version *v)
{
	version_ref(v);
	sbx->version = v;
	TAILQ_INSERT_TAIL(&v->sandboxes, sbx, list_entry);
	v->nsandboxes++;
	if (pool_tenant_get(p, v) != NULL)
		v->pool_tenant->nsandboxes++;
	pool_attach_broker(p, sbx);
	if (pool_send_load(
		p, sbx, v->tenant, v->worker, v->id, v->format, v->script, v->bindings) == -1)
		pool_kill(sbx, "crash");
}

void
pool_use_blanks(struct pool *p)
{
	struct validation *val;
	struct version *v;
	struct sandbox *sbx;

	while (p->nblanks > 0) {
		if ((val = TAILQ_FIRST(&p->validations)) != NULL) {
			TAILQ_REMOVE(&p->validations, val, entry);
			p->nvalidations--;
			pool_assign_validation(p, pool_take_blank(p), val);
			continue;
		}
		/* Fair across tenants: the one with the fewest sandboxes goes first. */
		if ((v = pool_fairest_wanting(p)) == NULL)
			break;
		TAILQ_REMOVE(&p->wanting, v, want_entry);
		v->wants_blank = false;
		sbx = pool_take_blank(p);
		pool_assign_version(p, sbx, v);
		version_unref(v); /* the wanting list's reference */
	}
}

/* --- leasing ----------------------------------------------------------------- */

static struct sandbox *
pool_find_ready(struct pool *p, struct version *v)
{
	struct sandbox *sbx;

	TAILQ_FOREACH (sbx, &v->sandboxes, list_entry)
		if (sbx->state == SBX_READY && !sbx->retiring && !sbx->closing &&
		    sbx->inflight < p->core->cfg.sandbox_concurrency)
			return sbx;
	return NULL;
}

static bool
pool_version_is_loading(struct version *v)
{
	struct sandbox *sbx;

	TAILQ_FOREACH (sbx, &v->sandboxes, list_entry)
		if (sbx->state == SBX_LOADING)
			return true;
	return false;
}

static void
pool_want_blank(struct pool *p, struct version *v)
{
	if (v->wants_blank)
		return;
	v->wants_blank = true;
	version_ref(v);
	TAILQ_INSERT_TAIL(&p->wanting, v, want_entry);
	pool_use_blanks(p);
	pool_refill(p);
}

static void
pool_dispatch(struct pool *p, struct sandbox *sbx, struct exchange *ex)
{
	struct version *v = ex->version;

	pool_dequeue(v, ex);
	TAILQ_INSERT_TAIL(&sbx->exchanges, ex, entry);
	sbx->inflight++;
	ex->sbx = sbx;
	sbx->last_used = time(NULL);
	(void)p;
	if (exchange_dispatch(ex, sbx, sbx->next_id++) == -1)
		pool_kill(sbx, "crash");
}

/* Serves the version's queue from its ready sandboxes; asks for more if needed. */
static void
pool_pump(struct pool *p, struct version *v)
{
	struct sandbox *sbx;
	struct exchange *ex;

	while ((ex = TAILQ_FIRST(&v->waiting)) != NULL) {
		if ((sbx = pool_find_ready(p, v)) == NULL)
			break;
		pool_dispatch(p, sbx, ex);
	}
	/* A retired version still serves the requests routed to it before. */
	if (TAILQ_EMPTY(&v->waiting))
		return;
	if (v->nsandboxes < version_max_sandboxes(v, &p->core->cfg) && !pool_version_is_loading(v))
		pool_want_blank(p, v);
}

/*
 * Requests a version may hold waiting: its queue (request_queue_max), plus
 * one per request slot of the sandboxes it may still start -- those wait for
 * a sandbox that is coming, not behind busy ones.
 */
static unsigned
pool_version_room(const struct pool *p, const struct version *v)
{
	const struct config *c = &p->core->cfg;
	unsigned cap = version_max_sandboxes(v, c);
	unsigned starting = cap > v->nsandboxes ? cap - v->nsandboxes : 0;

	return version_queue_max(v, c) + starting * c->sandbox_concurrency;
}

int
pool_submit(struct pool *p, struct exchange *ex)
{
	struct version *v = ex->version;
	struct pool_tenant *t = pool_tenant_get(p, v);
	struct sandbox *sbx;

	if (t == NULL)
		return POOL_FULL_VERSION;
	/* Nothing ahead of it and a sandbox free: no queue involved. */
	if (TAILQ_EMPTY(&v->waiting) && (sbx = pool_find_ready(p, v)) != NULL) {
		pool_enqueue(v, ex);
		pool_dispatch(p, sbx, ex);
		return 0;
	}
	if (v->nwaiting >= pool_version_room(p, v))
		return POOL_FULL_VERSION;
	/* The tenant's bound is on requests queued behind busy sandboxes. */
	if (v->nwaiting >= pool_version_room(p, v) - version_queue_max(v, &p->core->cfg) &&
	    t->nwaiting >= p->core->cfg.tenant_queue_max)
		return POOL_FULL_TENANT;
	pool_enqueue(v, ex);
	pool_pump(p, v);
	return 0;
}

/* Marks a sandbox to drain: it takes no new request and closes once idle. */
static void
pool_retire_sandbox(struct sandbox *sbx, const char *reason)
{
	if (sbx->retiring)
		return;
	sbx->retiring = true;
	sbx->recycle_reason = reason;
	log_info("recycling sandbox %ld (tenant '%s', worker '%s', served %llu): %s",
	    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx),
	    (unsigned long long)sbx->served, reason);
}

/*
 * The pool is full and another tenant waits for a blank while this idle
 * sandbox's tenant holds more than one sandbox more than that tenant: it
 * gives its slot up, so a flood of one tenant cannot hold every slot.
 */
static bool
pool_should_yield(struct pool *p, const struct sandbox *sbx)
{
	struct version *w;
	unsigned mine = pool_tenant_sandboxes(sbx->version);

	if (sbx->inflight > 0 || p->nblanks > 0 ||
	    p->nall + p->nspawning < p->core->cfg.max_sandboxes)
		return false;
	if ((w = pool_fairest_wanting(p)) == NULL || w->pool_tenant == sbx->version->pool_tenant)
		return false;
	return pool_tenant_sandboxes(w) + 1 < mine;
}

void
pool_exchange_done(struct pool *p, struct exchange *ex, int cancel)
{
	struct sandbox *sbx = ex->sbx;
	struct version *v = ex->version;
	struct ipc_value f[1];
	const char *reason;

	if (sbx == NULL) {
		/* Still queued (or already detached by a dying sandbox). */
		struct exchange *it;

		TAILQ_FOREACH (it, &v->waiting, entry) {
			if (it == ex) {
				pool_dequeue(v, ex);
				break;
			}
		}
		return;
	}
	TAILQ_REMOVE(&sbx->exchanges, ex, entry);
	ex->sbx = NULL;
	sbx->inflight--;
	sbx->served++;
	sbx->last_used = time(NULL);
	if (cancel) {
		f[IPC_REQ_CANCEL_REASON] = ipc_u64(0);
		channel_send(sbx->ch, IPC_REQ_CANCEL, ex->id, f, 1);
	}
	if (!sbx->retiring && (reason = pool_recycle_reason(p, sbx)) != NULL)
		pool_retire_sandbox(sbx, reason);
	if (!sbx->retiring && pool_should_yield(p, sbx)) {
		sbx->retiring = true;
		sbx->recycle_reason = "evicted";
		log_info("sandbox %ld (tenant '%s', worker '%s') gives its slot to tenant '%s'",
		    (long)sbx->pid, v->tenant, v->worker, pool_fairest_wanting(p)->tenant);
	}
	if (sbx->retiring) {
		if (sbx->inflight == 0)
			pool_close_sandbox(
			    sbx, sbx->recycle_reason != NULL ? sbx->recycle_reason : "recycled");
		return;
	}
	if (v->nwaiting > 0)
		pool_pump(p, v);
	else if (v->retired)
		pool_retire_version(p, v);
	else if (sbx->inflight == 0 && !TAILQ_EMPTY(&p->wanting))
		pool_refill(p); /* idle now: room for a version waiting when the pool is full */
}

/*
 * A sandbox that keeps running into the CPU limit is a CPU bomb: it goes to
 * the idle scheduling class so that it only gets CPU nobody else wants.
 * Best effort: a sandbox running under another uid may refuse (EPERM).
 */
static void
pool_demote(struct sandbox *sbx)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (sbx->demoted || ++sbx->limit_hits < POOL_DEMOTE_AFTER)
		return;
	sbx->demoted = true;
	if (sched_setscheduler(sbx->pid, SCHED_IDLE, &sp) == -1 &&
	    setpriority(PRIO_PROCESS, (id_t)sbx->pid, 19) == -1) {
		log_debug("cannot lower the priority of sandbox %ld: %s", (long)sbx->pid,
		    strerror(errno));
		return;
	}
	log_info("sandbox %ld (tenant '%s', worker '%s') hit the CPU limit %u times: idle priority",
	    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->limit_hits);
}

void
pool_resource_limit(struct sandbox *sbx)
{
	struct core_stats *st = &sbx->pool->core->stats;

	if (sbx->said_memory) {
		st->sandbox_killed_memory++;
		log_warnx("sandbox %ld (tenant '%s', worker '%s'): request stopped at the memory "
			  "limit (1102)",
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx));
		/* Its heap may stay full of what the script kept: start afresh. */
		pool_retire_sandbox(sbx, "memory");
	} else {
		st->sandbox_killed_cpu_soft++;
		log_info("sandbox %ld (tenant '%s', worker '%s'): request stopped at the soft CPU "
			 "limit (1102)",
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx));
		pool_demote(sbx);
	}
	sbx->said_memory = false;
}

void
pool_sandbox_sigsys(struct pool *p, pid_t pid)
{
	struct core_stats *st = &p->core->stats;
	struct sandbox *sbx;

	TAILQ_FOREACH (sbx, &p->all, all_entry) {
		if (sbx->pid != pid)
			continue;
		if (!sbx->closing) {
			log_warnx(
			    "sandbox %ld (tenant '%s', worker '%s') was killed by the seccomp "
			    "filter (SIGSYS)",
			    (long)pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx));
			pool_kill(sbx, "seccomp");
			return;
		}
		break;
	}
	/* Its channel ended first and it was counted as a crash: it was seccomp. */
	for (unsigned i = 0; i < POOL_CRASHED_RING; i++) {
		if (p->crashed[i] == pid) {
			p->crashed[i] = 0;
			if (st->sandbox_killed_crash > 0)
				st->sandbox_killed_crash--;
			st->sandbox_killed_seccomp++;
			log_warnx(
			    "sandbox %ld was killed by the seccomp filter (SIGSYS)", (long)pid);
			return;
		}
	}
}

int
pool_send(struct sandbox *sbx, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	return channel_send(sbx->ch, type, id, f, n);
}

int64_t
pool_sandbox_cpu_ns(const struct sandbox *sbx)
{
	struct timespec ts;

	if (!sbx->has_cpu_clock || clock_gettime(sbx->cpu_clock, &ts) == -1)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

size_t
pool_sandbox_pending(const struct sandbox *sbx)
{
	return channel_pending(sbx->ch);
}

/* --- retirement -------------------------------------------------------------- */

/*
 * Closes every retiring sandbox that is idle.  Closing one can free others
 * (a pump or an eviction runs inside), so each close restarts the scan.
 */
void
pool_close_retired(struct pool *p)
{
	struct sandbox *sbx;

	for (;;) {
		TAILQ_FOREACH (sbx, &p->all, all_entry)
			if (sbx->retiring && !sbx->closing && sbx->inflight == 0)
				break;
		if (sbx == NULL)
			return;
		pool_close_sandbox(
		    sbx, sbx->recycle_reason != NULL ? sbx->recycle_reason : "retired");
	}
}

void
pool_retire_version(struct pool *p, struct version *v)
{
	struct sandbox *sbx;

	/*
	 * Requests still queued for it are served by it: they were routed there.
	 * Once its queue is empty (pool_exchange_done checks again), it goes.
	 */
	if (!TAILQ_EMPTY(&v->waiting))
		return;
	if (v->wants_blank) {
		TAILQ_REMOVE(&p->wanting, v, want_entry);
		v->wants_blank = false;
		version_unref(v);
	}
	TAILQ_FOREACH (sbx, &v->sandboxes, list_entry)
		sbx->retiring = true;
	pool_close_retired(p);
}

void
pool_broker_lost(struct pool *p)
{
	struct sandbox *sbx, *next;

	p->broker = NULL;
	for (sbx = TAILQ_FIRST(&p->all); sbx != NULL; sbx = next) {
		next = TAILQ_NEXT(sbx, all_entry);
		if (!sbx->attached || sbx->closing)
			continue;
		sbx->attached = false;
		if (sbx->state == SBX_READY)
			sbx->retiring = true;
		else
			pool_kill(sbx, "broker_lost");
	}
	pool_close_retired(p);
}

struct pool *
pool_new(struct core *core, int launcher_fd)
{
	struct pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(launcher_fd);
		return NULL;
	}
	p->core = core;
	TAILQ_INIT(&p->all);
	TAILQ_INIT(&p->blanks);
	TAILQ_INIT(&p->wanting);
	TAILQ_INIT(&p->validations);
	TAILQ_INIT(&p->tenants);
	p->nslots = core->cfg.max_sandboxes;
	if ((p->slots = calloc(p->nslots, sizeof(*p->slots))) == NULL) {
		close(launcher_fd);
		free(p);
		return NULL;
	}
	if (pool_launcher_open(p, launcher_fd) == -1) {
		pool_free(p);
		return NULL;
	}
	pool_refill(p);
	return p;
}

void
pool_free(struct pool *p)
{
	struct sandbox *sbx;
	struct validation *val;
	struct version *v;
	struct pool_tenant *t;

	if (p == NULL)
		return;
	p->shutting_down = true;
	while ((sbx = TAILQ_FIRST(&p->all)) != NULL)
		pool_close_sandbox(sbx, "shutdown");
	while ((val = TAILQ_FIRST(&p->validations)) != NULL) {
		TAILQ_REMOVE(&p->validations, val, entry);
		pool_validation_finish(val, false, 0, 0, "edged is shutting down");
	}
	while ((v = TAILQ_FIRST(&p->wanting)) != NULL) {
		TAILQ_REMOVE(&p->wanting, v, want_entry);
		v->wants_blank = false;
		version_unref(v);
	}
	pool_launcher_close(p);
	while ((t = TAILQ_FIRST(&p->tenants)) != NULL) {
		TAILQ_REMOVE(&p->tenants, t, entry);
		free(t);
	}
	free(p->slots);
	free(p);
}

void
pool_set_broker(struct pool *p, struct channel *broker)
{
	struct sandbox *sbx;

	p->broker = broker;
	if (broker == NULL)
		return;
	TAILQ_FOREACH (sbx, &p->all, all_entry)
		if (sbx->version != NULL && !sbx->attached && sbx->broker_fd != -1 && !sbx->closing)
			pool_attach_broker(p, sbx);
}

size_t
pool_busy(const struct pool *p)
{
	const struct sandbox *sbx;
	size_t n = 0;

	TAILQ_FOREACH (sbx, &p->all, all_entry)
		n += sbx->inflight;
	return n;
}
