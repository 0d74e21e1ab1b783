/*
 * pool: the life of sandboxes: assignment of blanks to script versions,
 * request leasing and queueing, messages from sandboxes, retirement and
 * death.  The launcher side is in pool_spawn.c, upload validations in
 * pool_validate.c.  Runs in the supervisor.
 */
#include "supervisor/pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
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
	else
		st->sandbox_recycled++;
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
			TAILQ_REMOVE(&v->waiting, ex, entry);
			v->nwaiting--;
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
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->slot, reason);
		pool_count_kill(p, "ipc_violation");
		pool_send_kill(p, sbx);
	} else if (!sbx->closing) {
		log_warnx("sandbox %ld (tenant '%s', worker '%s', slot %u) ended: %s",
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->slot, reason);
		pool_count_kill(p, "crash");
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
		pool_validation_finish(val, ok, line, column,
		    message != NULL ? message : "out of memory");
		free(message);
		pool_close_sandbox(sbx, "validated");
		return;
	}
	if (!ok) {
		log_warnx("tenant '%s' worker '%s': version %llu failed to load: %s (line %u)",
		    v->tenant, v->worker, (unsigned long long)v->id, message ? message : "?", line);
		free(message);
		while ((ex = TAILQ_FIRST(&v->waiting)) != NULL) {
			TAILQ_REMOVE(&v->waiting, ex, entry);
			v->nwaiting--;
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
	const struct ipc_bytes *m = &msg->field[IPC_LOG_MESSAGE].b;
	int len = m->len > 16384 ? 16384 : (int)m->len;

	switch (msg->field[IPC_LOG_LEVEL].u) {
	case LOG_LEVEL_ERROR:
	case LOG_LEVEL_WARN:
		log_warnx("tenant '%s' worker '%s': %.*s", pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx),
		    len, m->ptr);
		break;
	default:
		log_info("tenant '%s' worker '%s': %.*s", pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx),
		    len, m->ptr);
		break;
	}
}

static struct exchange *
pool_find_exchange(struct sandbox *sbx, uint64_t id)
{
	struct exchange *ex;

	TAILQ_FOREACH(ex, &sbx->exchanges, entry)
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
		    (long)sbx->pid, pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), msg->spec->name,
		    (unsigned long long)msg->id);
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
	struct ipc_value f[5];
	int fd = sbx->broker_fd;

	if (p->broker == NULL)
		return;
	f[IPC_ATTACH_CHANNEL] = ipc_u64(sandbox_channel_id(sbx));
	f[IPC_ATTACH_TENANT] = ipc_str(v->tenant);
	f[IPC_ATTACH_WORKER] = ipc_str(v->worker);
	f[IPC_ATTACH_VERSION] = ipc_u64(v->id);
	f[IPC_ATTACH_BINDINGS] = ipc_str(v->bindings);
	sbx->broker_fd = -1;
	if (channel_send_fds(p->broker, IPC_ATTACH, 0, f, 5, &fd, 1) == 0)
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
	pool_attach_broker(p, sbx);
	if (pool_send_load(p, sbx, v->tenant, v->worker, v->id, v->format, v->script,
	    v->bindings) == -1)
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
		if ((v = TAILQ_FIRST(&p->wanting)) == NULL)
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

	TAILQ_FOREACH(sbx, &v->sandboxes, list_entry)
		if (sbx->state == SBX_READY && !sbx->retiring && !sbx->closing &&
		    sbx->inflight < p->core->cfg.sandbox_concurrency)
			return sbx;
	return NULL;
}

static bool
pool_version_is_loading(struct version *v)
{
	struct sandbox *sbx;

	TAILQ_FOREACH(sbx, &v->sandboxes, list_entry)
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

	TAILQ_REMOVE(&v->waiting, ex, entry);
	v->nwaiting--;
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
	if (v->nsandboxes < p->core->cfg.max_per_version && !pool_version_is_loading(v))
		pool_want_blank(p, v);
}

int
pool_submit(struct pool *p, struct exchange *ex)
{
	struct version *v = ex->version;

	if (v->nwaiting >= p->core->cfg.queue_max)
		return -1;
	TAILQ_INSERT_TAIL(&v->waiting, ex, entry);
	v->nwaiting++;
	pool_pump(p, v);
	return 0;
}

void
pool_exchange_done(struct pool *p, struct exchange *ex, int cancel)
{
	struct sandbox *sbx = ex->sbx;
	struct version *v = ex->version;
	struct ipc_value f[1];

	if (sbx == NULL) {
		/* Still queued (or already detached by a dying sandbox). */
		struct exchange *it;

		TAILQ_FOREACH(it, &v->waiting, entry) {
			if (it == ex) {
				TAILQ_REMOVE(&v->waiting, ex, entry);
				v->nwaiting--;
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
	if (p->core->cfg.recycle_requests > 0 && sbx->served >= p->core->cfg.recycle_requests)
		sbx->retiring = true;
	if (sbx->retiring) {
		if (sbx->inflight == 0)
			pool_close_sandbox(sbx, "recycled");
		return;
	}
	if (v->nwaiting > 0)
		pool_pump(p, v);
	else if (v->retired)
		pool_retire_version(p, v);
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
		TAILQ_FOREACH(sbx, &p->all, all_entry)
			if (sbx->retiring && !sbx->closing && sbx->inflight == 0)
				break;
		if (sbx == NULL)
			return;
		pool_close_sandbox(sbx, "retired");
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
	TAILQ_FOREACH(sbx, &v->sandboxes, list_entry)
		sbx->retiring = true;
	pool_close_retired(p);
}

void
pool_retire_all(struct pool *p)
{
	struct sandbox *sbx;

	TAILQ_FOREACH(sbx, &p->all, all_entry)
		if (sbx->state == SBX_READY)
			sbx->retiring = true;
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
	free(p->slots);
	free(p);
}

void
pool_set_broker(struct pool *p, struct channel *broker)
{
	p->broker = broker;
}

size_t
pool_busy(const struct pool *p)
{
	const struct sandbox *sbx;
	size_t n = 0;

	TAILQ_FOREACH(sbx, &p->all, all_entry)
		n += sbx->inflight;
	return n;
}

static const char *
pool_state_name(const struct sandbox *sbx)
{
	static const char *const names[] = { "starting", "blank", "loading", "ready" };

	return sbx->closing ? "closing" : names[sbx->state];
}

int
pool_status_json(const struct pool *p, struct buf *out)
{
	const struct sandbox *sbx;
	const char *sep = "";

	if (buf_printf(out,
	    "\"pool\":{\"sandboxes\":%u,\"blank\":%u,\"starting\":%u,\"spawning\":%u,"
	    "\"validations_waiting\":%u,\"list\":[",
	    p->nall, p->nblanks, p->nstarting, p->nspawning, p->nvalidations) == -1)
		return -1;
	/* Names are [A-Za-z0-9_-] (meta_name_is_valid): no JSON escaping needed. */
	TAILQ_FOREACH(sbx, &p->all, all_entry) {
		if (buf_printf(out,
		    "%s{\"pid\":%ld,\"slot\":%u,\"state\":\"%s\",\"tenant\":\"%s\","
		    "\"worker\":\"%s\",\"inflight\":%u,\"served\":%llu}",
		    sep, (long)sbx->pid, sbx->slot, pool_state_name(sbx), pool_sandbox_tenant(sbx),
		    pool_sandbox_worker(sbx), sbx->inflight, (unsigned long long)sbx->served) == -1)
			return -1;
		sep = ",";
	}
	return buf_append_str(out, "]}");
}
