/*
 * pool: pre-forked blank sandboxes, their assignment to script versions,
 * request leasing and queueing, throwaway validation sandboxes, and the
 * death of sandboxes.  Runs in the supervisor.
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
#include "supervisor/registry.h"

#define POOL_VALIDATIONS_MAX 32     /* uploads waiting for a throwaway sandbox */
#define POOL_LOAD_GRACE_MS 5000     /* wall time past the startup CPU limit */
#define POOL_SWEEP_MS 5000          /* idle sandbox sweep period */
#define POOL_RESPAWN_DELAY_MS 1000  /* after the launcher failed to fork */

enum sandbox_state {
	SBX_BLANK,     /* forked and locked down, no script yet */
	SBX_LOADING,   /* LOAD sent, LOADED awaited */
	SBX_READY,     /* serving its version */
};

struct validation;

struct sandbox {
	TAILQ_ENTRY(sandbox) all_entry;   /* pool->all */
	TAILQ_ENTRY(sandbox) list_entry;  /* pool->blanks, or version->sandboxes */
	struct pool *pool;
	uint32_t slot;
	uint32_t generation;
	pid_t pid;
	struct channel *ch;
	int broker_fd;                    /* until handed to the broker */
	bool attached;                    /* the broker holds its channel */
	enum sandbox_state state;
	bool in_blanks;                   /* on pool->blanks */
	bool closing;                     /* ended on purpose or killed; freed on close */
	struct version *version;          /* reference, once assigned */
	struct validation *validation;    /* throwaway sandboxes only */
	TAILQ_HEAD(, exchange) exchanges;
	unsigned inflight;
	uint64_t next_id;
	uint64_t served;
	bool retiring;
	struct event *load_timer;
	time_t last_used;
};

struct validation {
	TAILQ_ENTRY(validation) entry;
	admin_validate_done done;
	void *ctx;
	char tenant[META_NAME_MAX + 1];
	char worker[META_NAME_MAX + 1];
	int format;
	char *script;
	char *bindings;
	struct sandbox *sbx;
};

struct pool_slot {
	uint32_t generation;
	bool used;
};

struct pool {
	struct core *core;
	struct channel *launcher;
	struct channel *broker;
	TAILQ_HEAD(, sandbox) all;
	TAILQ_HEAD(, sandbox) blanks;
	unsigned nall;
	unsigned nblanks;
	unsigned nspawning;
	struct pool_slot *slots;
	unsigned nslots;
	TAILQ_HEAD(, version) wanting;          /* versions waiting for a blank */
	TAILQ_HEAD(, validation) validations;   /* uploads waiting for a blank */
	unsigned nvalidations;
	struct event *sweep_timer;
	struct event *respawn_timer;
};

static void pool_refill(struct pool *p);
static void pool_use_blanks(struct pool *p);
static void pool_pump(struct pool *p, struct version *v);

static const char *
sandbox_tenant(const struct sandbox *sbx)
{
	if (sbx->version != NULL)
		return sbx->version->tenant;
	if (sbx->validation != NULL)
		return sbx->validation->tenant;
	return "-";
}

static const char *
sandbox_worker(const struct sandbox *sbx)
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

static void
pool_timeval_ms(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* --- validations ---------------------------------------------------------- */

static void
validation_finish(struct validation *val, bool ok, unsigned line, const char *message)
{
	struct admin_validation result = { .ok = ok, .line = line, .message = message };

	val->done(val->ctx, &result);
	free(val->script);
	free(val->bindings);
	free(val);
}

/* --- killing and freeing ---------------------------------------------------- */

static void
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
	else
		st->sandbox_recycled++;
}

static void
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
	    sandbox_tenant(sbx), sandbox_worker(sbx), sbx->slot, reason);
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
		validation_finish(val, false, 0,
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
		if (!v->retired && v->nwaiting > 0)
			pool_pump(p, v);
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
		    (long)sbx->pid, sandbox_tenant(sbx), sandbox_worker(sbx), sbx->slot, reason);
		pool_count_kill(p, "ipc_violation");
		pool_send_kill(p, sbx);
	} else if (!sbx->closing) {
		log_warnx("sandbox %ld (tenant '%s', worker '%s', slot %u) ended: %s",
		    (long)sbx->pid, sandbox_tenant(sbx), sandbox_worker(sbx), sbx->slot, reason);
		pool_count_kill(p, "crash");
		pool_send_kill(p, sbx);
	}
	pool_mark_closing(p, sbx);
	pool_fail_work(p, sbx, reason);
	pool_sandbox_free(p, sbx);
	pool_use_blanks(p);
	pool_refill(p);
}

/* Ends a sandbox on purpose (recycling, retirement, validation done). */
static void
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
	char *message = ipc_strdup(&msg->field[IPC_LOADED_MESSAGE]);
	struct validation *val = sbx->validation;
	struct version *v = sbx->version;
	struct exchange *ex;

	if (sbx->load_timer != NULL)
		event_del(sbx->load_timer);
	if (val != NULL) {
		sbx->validation = NULL;
		val->sbx = NULL;
		validation_finish(val, ok, line, message != NULL ? message : "out of memory");
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
		log_warnx("tenant '%s' worker '%s': %.*s", sandbox_tenant(sbx), sandbox_worker(sbx),
		    len, m->ptr);
		break;
	default:
		log_info("tenant '%s' worker '%s': %.*s", sandbox_tenant(sbx), sandbox_worker(sbx),
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
		    (long)sbx->pid, sandbox_tenant(sbx), sandbox_worker(sbx), msg->spec->name,
		    (unsigned long long)msg->id);
		pool_kill(sbx, "ipc_violation");
	}
}

static const struct channel_ops pool_sandbox_ops = {
	.on_message = pool_on_sandbox_message,
	.on_closed = pool_sandbox_closed,
};

/* --- assignment ------------------------------------------------------------ */

static void
pool_load_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct sandbox *sbx = arg;

	(void)fd;
	(void)what;
	log_warnx("sandbox %ld (tenant '%s', worker '%s'): start-up took too long", (long)sbx->pid,
	    sandbox_tenant(sbx), sandbox_worker(sbx));
	pool_kill(sbx, "startup");
}

/* Sends LOAD to a blank taken off the blank list; -1 if the channel refused it. */
static int
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

static struct sandbox *
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

static void
pool_assign_validation(struct pool *p, struct sandbox *sbx, struct validation *val)
{
	sbx->validation = val;
	val->sbx = sbx;
	/* A throwaway sandbox never reaches the broker. */
	close(sbx->broker_fd);
	sbx->broker_fd = -1;
	if (pool_send_load(p, sbx, val->tenant, val->worker, 0, val->format, val->script,
	    val->bindings) == -1)
		pool_kill(sbx, "crash");
}

/* Hands blanks to waiting validations first, then to versions wanting one. */
static void
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
	if (TAILQ_EMPTY(&v->waiting) || v->retired)
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
}

int
pool_send(struct sandbox *sbx, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	return channel_send(sbx->ch, type, id, f, n);
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
static void
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

	if (v->wants_blank) {
		TAILQ_REMOVE(&p->wanting, v, want_entry);
		v->wants_blank = false;
		version_unref(v);
	}
	/* Requests still queued for it are served by it: they were routed there. */
	if (!TAILQ_EMPTY(&v->waiting))
		return;
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

/* --- validation -------------------------------------------------------------- */

void
pool_validate(struct pool *p, const struct admin_script *s, admin_validate_done done, void *ctx)
{
	struct admin_validation busy = { .ok = false, .line = 0,
		.message = "too many uploads in progress, try again" };
	struct validation *val;

	if (p->nvalidations >= POOL_VALIDATIONS_MAX || (val = calloc(1, sizeof(*val))) == NULL) {
		done(ctx, &busy);
		return;
	}
	val->done = done;
	val->ctx = ctx;
	snprintf(val->tenant, sizeof(val->tenant), "%s", s->tenant);
	snprintf(val->worker, sizeof(val->worker), "%s", s->worker);
	val->format = s->format;
	val->script = strndup(s->script, s->script_len);
	val->bindings = strdup(s->bindings != NULL ? s->bindings : "[]");
	if (val->script == NULL || val->bindings == NULL) {
		free(val->script);
		free(val->bindings);
		free(val);
		done(ctx, &busy);
		return;
	}
	TAILQ_INSERT_TAIL(&p->validations, val, entry);
	p->nvalidations++;
	pool_use_blanks(p);
	pool_refill(p);
}

/* --- spawning ----------------------------------------------------------------- */

static int
pool_free_slot(struct pool *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		if (!p->slots[i].used)
			return (int)i;
	return -1;
}

/* Closes the least recently used idle sandbox to make room; false if none. */
static bool
pool_evict_idle(struct pool *p)
{
	struct sandbox *sbx, *lru = NULL;

	TAILQ_FOREACH(sbx, &p->all, all_entry)
		if (sbx->state == SBX_READY && sbx->inflight == 0 &&
		    (lru == NULL || sbx->last_used < lru->last_used))
			lru = sbx;
	if (lru == NULL)
		return false;
	pool_close_sandbox(lru, "evicted");
	return true;
}

/* How many blanks we want: the standing pool plus everyone waiting for one. */
static unsigned
pool_blanks_wanted(const struct pool *p)
{
	const struct version *v;
	unsigned n = p->core->cfg.pool_blanks + p->nvalidations;

	TAILQ_FOREACH(v, &p->wanting, want_entry)
		n++;
	return n;
}

static void
pool_refill(struct pool *p)
{
	struct ipc_value f[2];
	int slot;

	if (p->launcher == NULL || p->core->draining)
		return;
	while (p->nblanks + p->nspawning < pool_blanks_wanted(p)) {
		if ((slot = pool_free_slot(p)) == -1 ||
		    p->nall + p->nspawning >= p->core->cfg.max_sandboxes) {
			/* Full: make room only for someone actually waiting. */
			if (p->nblanks + p->nspawning >= pool_blanks_wanted(p) - p->core->cfg.pool_blanks ||
			    !pool_evict_idle(p))
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
	sbx->broker_fd = broker_fd;
	sbx->state = SBX_BLANK;
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
	TAILQ_INSERT_TAIL(&p->all, sbx, all_entry);
	TAILQ_INSERT_TAIL(&p->blanks, sbx, list_entry);
	sbx->in_blanks = true;
	p->nall++;
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
	case IPC_CHILD_EXITED: {
		int status = (int)msg->field[IPC_CHILD_EXITED_STATUS].u;

		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			log_warnx("sandbox %llu killed by signal %d",
			    (unsigned long long)msg->field[IPC_CHILD_EXITED_PID].u, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("sandbox %llu exited with status %d",
			    (unsigned long long)msg->field[IPC_CHILD_EXITED_PID].u, WEXITSTATUS(status));
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
	if (!p->core->draining)
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
	struct sandbox *sbx;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	TAILQ_FOREACH(sbx, &p->all, all_entry)
		if (sbx->state == SBX_READY && sbx->inflight == 0 &&
		    now - sbx->last_used >= (time_t)p->core->cfg.sandbox_idle_s)
			sbx->retiring = true;
	pool_close_retired(p);
}

struct pool *
pool_new(struct core *core, int launcher_fd)
{
	struct pool *p;
	struct timeval tv;

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
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->sweep_timer = event_new(core->base, -1, EV_PERSIST, pool_sweep_cb, p);
	p->respawn_timer = evtimer_new(core->base, pool_respawn_cb, p);
	p->launcher = channel_new(core->base, launcher_fd, IPC_PEER_SUPERVISOR, IPC_PEER_LAUNCHER,
	    IPC_CAP_CONTROL, IPC_ST_READY, CHANNEL_RECV_FDS, &pool_launcher_ops, p);
	if (p->slots == NULL || p->sweep_timer == NULL || p->respawn_timer == NULL ||
	    p->launcher == NULL) {
		pool_free(p);
		return NULL;
	}
	pool_timeval_ms(&tv, POOL_SWEEP_MS);
	event_add(p->sweep_timer, &tv);
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
	p->core->draining = true;
	while ((sbx = TAILQ_FIRST(&p->all)) != NULL)
		pool_close_sandbox(sbx, "shutdown");
	while ((val = TAILQ_FIRST(&p->validations)) != NULL) {
		TAILQ_REMOVE(&p->validations, val, entry);
		validation_finish(val, false, 0, "edged is shutting down");
	}
	while ((v = TAILQ_FIRST(&p->wanting)) != NULL) {
		TAILQ_REMOVE(&p->wanting, v, want_entry);
		v->wants_blank = false;
		version_unref(v);
	}
	if (p->launcher != NULL)
		channel_close(p->launcher, "shutdown");
	if (p->sweep_timer != NULL)
		event_free(p->sweep_timer);
	if (p->respawn_timer != NULL)
		event_free(p->respawn_timer);
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
	static const char *const names[] = { "blank", "loading", "ready" };

	return sbx->closing ? "closing" : names[sbx->state];
}

int
pool_status_json(const struct pool *p, struct buf *out)
{
	const struct sandbox *sbx;
	const char *sep = "";

	if (buf_printf(out,
	    "\"pool\":{\"sandboxes\":%u,\"blank\":%u,\"spawning\":%u,"
	    "\"validations_waiting\":%u,\"list\":[",
	    p->nall, p->nblanks, p->nspawning, p->nvalidations) == -1)
		return -1;
	/* Names are [A-Za-z0-9_-] (meta_name_is_valid): no JSON escaping needed. */
	TAILQ_FOREACH(sbx, &p->all, all_entry) {
		if (buf_printf(out,
		    "%s{\"pid\":%ld,\"slot\":%u,\"state\":\"%s\",\"tenant\":\"%s\","
		    "\"worker\":\"%s\",\"inflight\":%u,\"served\":%llu}",
		    sep, (long)sbx->pid, sbx->slot, pool_state_name(sbx), sandbox_tenant(sbx),
		    sandbox_worker(sbx), sbx->inflight, (unsigned long long)sbx->served) == -1)
			return -1;
		sep = ",";
	}
	return buf_append_str(out, "]}");
}
