/*
 * core: builds, reloads and drains the supervisor's running service.  Runs
 * in the supervisor.
 */
#include "supervisor/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "supervisor/admin.h"
#include "supervisor/broker_link.h"
#include "supervisor/exchange.h"
#include "supervisor/http.h"
#include "supervisor/meta.h"
#include "supervisor/notify.h"
#include "supervisor/pool.h"
#include "supervisor/proc.h"
#include "supervisor/registry.h"

#define CORE_DRAIN_POLL_MS 50

static void
core_validate(void *arg, const struct admin_script *s, admin_validate_done done, void *ctx)
{
	struct core *core = arg;

	pool_validate(core->pool, s, done, ctx);
}

static void
core_changed(void *arg)
{
	struct core *core = arg;

	if (registry_reload(core->registry, core->meta) == -1)
		log_warnx("registry reload failed: serving the previous routes");
}

/* --- the lock-down layers ------------------------------------------------------ */

void
core_layers_received(struct core *core, const struct ipc_msg *msg)
{
	const struct ipc_value *list = &msg->field[IPC_LAYERS_LIST];
	struct core_layers *l = &core->layers;

	if (l->received) {
		log_warnx("launcher sent a second lock-down report: ignored");
		return;
	}
	l->n = 0;
	for (size_t i = 0; i < list->count && l->n < CORE_LAYERS_MAX; i++) {
		snprintf(l->line[l->n], CORE_LAYER_LINE_MAX, "%.*s", (int)list->list[i].len,
		    list->list[i].ptr);
		log_info("sandbox layer %s", l->line[l->n]);
		l->n++;
	}
	l->received = true;
}

/*
 * Finds `name` in the report: its state ("engaged" ...) and reason, both
 * copied out.  false when the launcher did not report it.
 */
static bool
core_layer_find(
    const struct core *core, const char *name, char *state, size_t state_len, const char **reason)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < core->layers.n; i++) {
		const char *line = core->layers.line[i], *colon;

		if (strncmp(line, name, len) != 0 || line[len] != '=')
			continue;
		line += len + 1;
		if ((colon = strchr(line, ':')) == NULL)
			colon = line + strlen(line);
		snprintf(state, state_len, "%.*s", (int)(colon - line), line);
		*reason = *colon == ':' ? colon + 1 : "";
		return true;
	}
	return false;
}

/* Waits (running the loop) for the launcher's report; -1 if it never comes. */
static int
core_wait_layers(struct core *core)
{
	while (!core->layers.received && core->pool != NULL && !core->draining)
		if (event_base_loop(core->base, EVLOOP_ONCE) == -1)
			return -1;
	return core->layers.received ? 0 : -1;
}

/* The layer names in "a,b,c" (config text), one call per name. */
static int
core_check_required(struct core *core)
{
	const char *p = core->cfg.required_layers;
	int rc = 0;

	while (*p != '\0') {
		char name[CONFIG_LIST_MAX], state[32];
		const char *end = strchr(p, ','), *reason;
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		p += n + (end != NULL ? 1 : 0);
		if (!core_layer_find(core, name, state, sizeof(state), &reason)) {
			log_warnx("required layer '%s' did not engage: no such layer (the launcher "
				  "reported none by that name)",
			    name);
			rc = -1;
		} else if (strcmp(state, "engaged") != 0) {
			log_warnx("required layer '%s' did not engage: %s%s%s", name, state,
			    *reason != '\0' ? ": " : "", reason);
			rc = -1;
		}
	}
	return rc;
}

/* --dev: every start says which layers the sandboxes run without. */
static void
core_warn_missing_layers(const struct core *core)
{
	struct buf missing;
	char state[32];

	buf_init(&missing);
	for (size_t i = 0; i < core->layers.n; i++) {
		const char *line = core->layers.line[i], *eq = strchr(line, '='), *reason;
		char name[64];

		if (eq == NULL)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - line), line);
		if (!core_layer_find(core, name, state, sizeof(state), &reason) ||
		    strcmp(state, "engaged") == 0)
			continue;
		buf_printf(&missing, "%s%s (%s%s%s)", missing.len > 0 ? ", " : "", name, state,
		    *reason != '\0' ? ": " : "", reason);
	}
	if (missing.len > 0)
		log_warnx("DEVELOPMENT MODE: sandboxes run WITHOUT these layers: %.*s",
		    (int)missing.len, (const char *)missing.data);
	buf_release(&missing);
}

/* A JSON string literal of `s` (our own text, but escaped all the same). */
static void
core_json_string(struct buf *out, const char *s)
{
	buf_append(out, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			buf_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			buf_printf(out, "\\u%04x", ch);
		else
			buf_append(out, s, 1);
	}
	buf_append(out, "\"", 1);
}

/* "\"layers\":{\"seccomp\":{\"state\":\"engaged\",\"reason\":\"\"},...}" */
static void
core_layers_json(const struct core *core, struct buf *out)
{
	buf_append_str(out, "\"layers\":{");
	for (size_t i = 0; i < core->layers.n; i++) {
		const char *line = core->layers.line[i], *eq = strchr(line, '='), *reason;
		char name[64], state[32];

		if (eq == NULL)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - line), line);
		if (!core_layer_find(core, name, state, sizeof(state), &reason))
			continue;
		if (i > 0)
			buf_append(out, ",", 1);
		core_json_string(out, name);
		buf_append_str(out, ":{\"state\":");
		core_json_string(out, state);
		buf_append_str(out, ",\"reason\":");
		core_json_string(out, reason);
		buf_append(out, "}", 1);
	}
	buf_append(out, "}", 1);
}

static char *
core_status_json(void *arg)
{
	struct core *core = arg;
	const struct core_stats *st = &core->stats;
	struct buf out;

	buf_init(&out);
	buf_printf(&out,
	    "{\"version\":\"%s\",\"draining\":%s,\"workers\":%zu,\"routes\":%zu,"
	    "\"connections\":%zu,",
	    EDGED_VERSION, core->draining ? "true" : "false",
	    registry_version_count(core->registry), registry_route_count(core->registry),
	    http_server_connections(core->public_srv));
	pool_status_json(core->pool, &out);
	buf_append(&out, ",", 1);
	core_layers_json(core, &out);
	buf_printf(&out,
	    ",\"stats\":{\"requests\":%llu,\"responses_5xx\":%llu,\"sandboxes_spawned\":%llu,"
	    "\"broker_restarts\":%llu,\"queue_full_version\":%llu,\"queue_full_tenant\":%llu},",
	    (unsigned long long)st->requests, (unsigned long long)st->responses_5xx,
	    (unsigned long long)st->sandbox_spawned, (unsigned long long)st->broker_restarts,
	    (unsigned long long)st->queue_full_version, (unsigned long long)st->queue_full_tenant);
	buf_printf(&out,
	    "\"kills\":{\"crash\":%llu,\"ipc_violation\":%llu,\"cpu_hard\":%llu,\"wall\":%llu,"
	    "\"startup\":%llu,\"cpu_soft\":%llu,\"memory\":%llu,\"seccomp\":%llu,"
	    "\"recycled\":%llu},",
	    (unsigned long long)st->sandbox_killed_crash,
	    (unsigned long long)st->sandbox_killed_ipc, (unsigned long long)st->sandbox_killed_cpu,
	    (unsigned long long)st->sandbox_killed_wall,
	    (unsigned long long)st->sandbox_killed_startup,
	    (unsigned long long)st->sandbox_killed_cpu_soft,
	    (unsigned long long)st->sandbox_killed_memory,
	    (unsigned long long)st->sandbox_killed_seccomp,
	    (unsigned long long)st->sandbox_recycled);
	buf_printf(&out,
	    "\"recycles\":{\"requests\":%llu,\"cpu\":%llu,\"rss\":%llu,\"age\":%llu,"
	    "\"idle\":%llu,\"evicted\":%llu}}",
	    (unsigned long long)st->recycled_requests, (unsigned long long)st->recycled_cpu,
	    (unsigned long long)st->recycled_rss, (unsigned long long)st->recycled_age,
	    (unsigned long long)st->recycled_idle, (unsigned long long)st->recycled_evicted);
	if (buf_append(&out, "", 1) == -1) {
		buf_release(&out);
		return NULL;
	}
	return (char *)out.data;
}

static struct broker_call *
core_call(void *arg, const struct broker_call_args *a, broker_call_done done, void *ctx)
{
	struct core *core = arg;

	return broker_call(core->broker, a, done, ctx);
}

static void
core_call_cancel(void *arg, struct broker_call *call)
{
	(void)arg;
	broker_call_cancel(call);
}

static const struct admin_hooks core_admin_hooks = {
	.validate = core_validate,
	.changed = core_changed,
	.status_json = core_status_json,
	.call = core_call,
	.call_cancel = core_call_cancel,
};

static void
core_retire_version(struct version *v, void *arg)
{
	struct core *core = arg;

	if (core->pool != NULL)
		pool_retire_version(core->pool, v);
}

static void
core_http_limits(const struct config *c, struct http_limits *l)
{
	http_limits_default(l);
	l->request_line_max = c->request_line_max;
	l->header_count_max = c->header_count_max;
	l->header_bytes_max = c->header_bytes_max;
	l->body_max = c->request_body_max;
	l->header_timeout_ms = c->header_timeout_ms;
	l->idle_timeout_ms = c->keepalive_timeout_ms;
	l->max_connections = c->max_connections;
}

/* Serves on an already bound listening socket `fd` (consumed). */
static struct http_server *
core_serve(
    struct core *core, int fd, const struct http_server_callbacks *cb, void *arg, uint64_t body_max)
{
	struct http_limits limits;
	struct http_server *srv;

	core_http_limits(&core->cfg, &limits);
	limits.body_max = body_max;
	if ((srv = http_server_new(core->base, &limits, cb, arg)) == NULL) {
		close(fd);
		return NULL;
	}
	if (http_server_listen(srv, fd) == -1) {
		http_server_free(srv);
		return NULL;
	}
	return srv;
}

/*
 * Started as root: the data dir and what is in it belong to the service user,
 * then we become it.  The launcher, forked earlier, stays root; the broker,
 * forked later, is born unprivileged.
 */
static int
core_drop_privileges(struct core *core)
{
	if (!core->drop_privileges)
		return 0;
	if (proc_chown_tree(core->cfg.data_dir, core->run_uid, core->run_gid) == -1) {
		log_warn("cannot give '%s' to user '%s'", core->cfg.data_dir, core->cfg.user);
		return -1;
	}
	if (proc_drop_privileges(core->run_uid, core->run_gid) == -1) {
		log_warn("cannot drop to user '%s'", core->cfg.user);
		return -1;
	}
	/* The broker, born as this user, must reach the data dir through its parents. */
	if (access(core->cfg.data_dir, R_OK | W_OK | X_OK) == -1) {
		log_warn("user '%s' cannot use data_dir '%s' (every directory above it must be "
			 "searchable by that user)",
		    core->cfg.user, core->cfg.data_dir);
		return -1;
	}
	log_info("running as user '%s' (uid %lu)", core->cfg.user, (unsigned long)core->run_uid);
	return 0;
}

int
core_start(struct core *core, int launcher_fd)
{
	struct admin_limits admin_limits;
	char path[CONFIG_PATH_MAX + 32];
	int public_fd = -1, admin_fd = -1;

	/* Bound first: a privileged port needs root, which goes below. */
	if ((public_fd = http_listen_socket(
		 core->cfg.listen, core->public_addr, sizeof(core->public_addr))) == -1) {
		log_warn("cannot listen on '%s'", core->cfg.listen);
		goto fail;
	}
	if ((admin_fd = http_listen_socket(
		 core->cfg.admin_listen, core->admin_addr, sizeof(core->admin_addr))) == -1) {
		log_warn("cannot listen on '%s'", core->cfg.admin_listen);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/meta.sqlite", core->cfg.data_dir);
	if ((core->meta = meta_open(path)) == NULL)
		goto fail;
	if (core_drop_privileges(core) == -1)
		goto fail;
	if ((core->registry = registry_new(core_retire_version, core)) == NULL ||
	    registry_reload(core->registry, core->meta) == -1)
		goto fail;
	if ((core->pool = pool_new(core, launcher_fd)) == NULL)
		goto fail;
	launcher_fd = -1;
	if (core_wait_layers(core) == -1) {
		log_warnx("the launcher sent no lock-down report");
		goto fail;
	}
	if (core->cfg.dev)
		core_warn_missing_layers(core);
	if (core_check_required(core) == -1) {
		log_warnx("refusing to start: a layer in 'required_layers' (%s) did not engage",
		    core->cfg.required_layers);
		goto fail;
	}
	if ((core->broker = broker_link_new(core)) == NULL)
		goto fail;

	admin_limits.script_max_bytes = core->cfg.script_max_bytes;
	admin_limits.body_max_bytes = core->cfg.script_max_bytes + (1u << 20);
	core->admin =
	    admin_new(core->meta, core->cfg.admin_token, &admin_limits, &core_admin_hooks, core);
	if (core->admin == NULL)
		goto fail;
	core->public_srv = core_serve(
	    core, public_fd, exchange_http_callbacks(), core, core->cfg.request_body_max);
	public_fd = -1;
	if (core->public_srv == NULL)
		goto fail;
	core->admin_srv = core_serve(
	    core, admin_fd, admin_http_callbacks(), core->admin, admin_limits.body_max_bytes);
	admin_fd = -1;
	if (core->admin_srv == NULL)
		goto fail;
	return 0;
fail:
	if (launcher_fd != -1)
		close(launcher_fd);
	if (public_fd != -1)
		close(public_fd);
	if (admin_fd != -1)
		close(admin_fd);
	return -1;
}

void
core_reload(struct core *core, const struct config *next)
{
	struct config *c = &core->cfg;

	if (strcmp(c->listen, next->listen) != 0 ||
	    strcmp(c->admin_listen, next->admin_listen) != 0 ||
	    strcmp(c->data_dir, next->data_dir) != 0 || c->max_sandboxes != next->max_sandboxes ||
	    c->memory_mb != next->memory_mb || c->script_max_bytes != next->script_max_bytes)
		log_warnx("reload: listen, admin_listen, data_dir, max_sandboxes, memory_mb and "
			  "script_max_bytes change only on restart");
	admin_set_token(core->admin, next->admin_token);
	memcpy(c->admin_token, next->admin_token, sizeof(c->admin_token));
	log_init("supervisor", (enum log_level)next->log_level);
	c->log_level = next->log_level;
	c->pool_blanks = next->pool_blanks;
	c->max_per_version = next->max_per_version;
	c->sandbox_concurrency = next->sandbox_concurrency;
	c->queue_max = next->queue_max;
	c->sandbox_idle_s = next->sandbox_idle_s;
	c->recycle_requests = next->recycle_requests;
	c->recycle_cpu_s = next->recycle_cpu_s;
	c->recycle_rss_mb = next->recycle_rss_mb;
	c->recycle_age_s = next->recycle_age_s;
	c->tenant_queue_max = next->tenant_queue_max;
	c->cpu_ms = next->cpu_ms;
	c->wall_ms = next->wall_ms;
	c->startup_cpu_ms = next->startup_cpu_ms;
	c->drain_timeout_s = next->drain_timeout_s;
	core_changed(core);
}

/* Client requests not yet answered, on either listener (an upload is one too). */
static size_t
core_requests_in_flight(const struct core *core)
{
	return http_server_active_requests(core->public_srv) +
	    http_server_active_requests(core->admin_srv);
}

static void
core_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct core *core = arg;
	struct timeval now;

	(void)fd;
	(void)what;
	gettimeofday(&now, NULL);
	if (core_requests_in_flight(core) == 0 && pool_busy(core->pool) == 0) {
		event_base_loopexit(core->base, NULL);
		return;
	}
	if (timercmp(&now, &core->drain_deadline, >=)) {
		log_warnx("drain timeout: %zu requests still in flight are cut off",
		    core_requests_in_flight(core));
		event_base_loopexit(core->base, NULL);
		return;
	}
	http_server_close_idle(core->public_srv);
	http_server_close_idle(core->admin_srv);
}

void
core_drain(struct core *core)
{
	struct timeval period = { 0, CORE_DRAIN_POLL_MS * 1000 };
	struct timeval grace = { (time_t)core->cfg.drain_timeout_s, 0 };
	struct timeval now;

	if (core->draining)
		return;
	core->draining = true;
	notify_stopping();
	log_info("draining: %zu requests in flight", core_requests_in_flight(core));
	http_server_stop_accepting(core->public_srv);
	http_server_stop_accepting(core->admin_srv);
	http_server_close_idle(core->public_srv);
	http_server_close_idle(core->admin_srv);
	gettimeofday(&now, NULL);
	timeradd(&now, &grace, &core->drain_deadline);
	core->drain_timer = event_new(core->base, -1, EV_PERSIST, core_drain_check, core);
	if (core->drain_timer == NULL || event_add(core->drain_timer, &period) == -1)
		event_base_loopexit(core->base, NULL);
	else
		core_drain_check(-1, 0, core);
}

void
core_stop(struct core *core)
{
	core->draining = true;
	if (core->drain_timer != NULL)
		event_free(core->drain_timer);
	core->drain_timer = NULL;
	http_server_free(core->public_srv);
	core->public_srv = NULL;
	http_server_free(core->admin_srv);
	core->admin_srv = NULL;
	/* Uploads still validating call back into the admin: the pool goes first. */
	broker_link_free(core->broker);
	core->broker = NULL;
	pool_free(core->pool);
	core->pool = NULL;
	admin_free(core->admin);
	core->admin = NULL;
	registry_free(core->registry);
	core->registry = NULL;
	meta_close(core->meta);
	core->meta = NULL;
}
