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
#include "common/log.h"
#include "supervisor/admin.h"
#include "supervisor/broker_link.h"
#include "supervisor/exchange.h"
#include "supervisor/http.h"
#include "supervisor/meta.h"
#include "supervisor/notify.h"
#include "supervisor/pool.h"
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
	buf_printf(&out,
	    ",\"stats\":{\"requests\":%llu,\"responses_5xx\":%llu,\"sandboxes_spawned\":%llu,"
	    "\"broker_restarts\":%llu},\"kills\":{\"crash\":%llu,\"ipc_violation\":%llu,"
	    "\"cpu_hard\":%llu,\"wall\":%llu,\"startup\":%llu,\"recycled\":%llu}}",
	    (unsigned long long)st->requests, (unsigned long long)st->responses_5xx,
	    (unsigned long long)st->sandbox_spawned, (unsigned long long)st->broker_restarts,
	    (unsigned long long)st->sandbox_killed_crash, (unsigned long long)st->sandbox_killed_ipc,
	    (unsigned long long)st->sandbox_killed_cpu, (unsigned long long)st->sandbox_killed_wall,
	    (unsigned long long)st->sandbox_killed_startup,
	    (unsigned long long)st->sandbox_recycled);
	if (buf_append(&out, "", 1) == -1) {
		buf_release(&out);
		return NULL;
	}
	return (char *)out.data;
}

static const struct admin_hooks core_admin_hooks = {
	.validate = core_validate,
	.changed = core_changed,
	.status_json = core_status_json,
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

static struct http_server *
core_listen(struct core *core, const char *addr, const struct http_server_callbacks *cb,
    void *arg, uint64_t body_max, char *actual, size_t actual_len)
{
	struct http_limits limits;
	struct http_server *srv;
	int fd;

	core_http_limits(&core->cfg, &limits);
	limits.body_max = body_max;
	if ((fd = http_listen_socket(addr, actual, actual_len)) == -1) {
		log_warn("cannot listen on '%s'", addr);
		return NULL;
	}
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

int
core_start(struct core *core, int launcher_fd)
{
	struct admin_limits admin_limits;
	char path[CONFIG_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/meta.sqlite", core->cfg.data_dir);
	if ((core->meta = meta_open(path)) == NULL)
		goto fail;
	if ((core->registry = registry_new(core_retire_version, core)) == NULL ||
	    registry_reload(core->registry, core->meta) == -1)
		goto fail;
	if ((core->pool = pool_new(core, launcher_fd)) == NULL)
		goto fail;
	launcher_fd = -1;
	if ((core->broker = broker_link_new(core)) == NULL)
		goto fail;

	admin_limits.script_max_bytes = core->cfg.script_max_bytes;
	admin_limits.body_max_bytes = core->cfg.script_max_bytes + (1u << 20);
	core->admin = admin_new(core->meta, core->cfg.admin_token, &admin_limits, &core_admin_hooks,
	    core);
	if (core->admin == NULL)
		goto fail;
	core->public_srv = core_listen(core, core->cfg.listen, exchange_http_callbacks(), core,
	    core->cfg.request_body_max, core->public_addr, sizeof(core->public_addr));
	if (core->public_srv == NULL)
		goto fail;
	core->admin_srv = core_listen(core, core->cfg.admin_listen, admin_http_callbacks(),
	    core->admin, admin_limits.body_max_bytes, core->admin_addr, sizeof(core->admin_addr));
	if (core->admin_srv == NULL)
		goto fail;
	return 0;
fail:
	if (launcher_fd != -1)
		close(launcher_fd);
	return -1;
}

void
core_reload(struct core *core, const struct config *next)
{
	struct config *c = &core->cfg;

	if (strcmp(c->listen, next->listen) != 0 || strcmp(c->admin_listen, next->admin_listen) != 0 ||
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
