/*
 * catalog_hooked: edged-hooked with a canary, a victim and an attacker, and
 * the checks every row of the catalog's parts B and C shares (see
 * catalog_hooked.h).
 */
#define _GNU_SOURCE
#include "catalog_hooked.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CANARY                                                                                     \
	"var __worker = { default: { fetch: function () { return new Response('alive'); } } };"

/* The victim reads its own value through its own broker channel. */
#define VICTIM                                                                                     \
	"var __worker = { default: { fetch: function (req, env) {"                                 \
	"  return env.KV.get('secret').then(function (v) { return new Response(String(v)); });"    \
	"} } };"

/* mallory: see catalog_deploy_attacker. */
#define ATTACKER                                                                                   \
	"function parse(u) { var p = u.indexOf('/', u.indexOf('//') + 2), q = u.indexOf('?');"     \
	"  return { action: u.slice(p + 1, q < 0 ? u.length : q),"                                 \
	"    arg: q < 0 ? '' : decodeURIComponent(u.slice(q + 1)) }; }"                            \
	"function failed(e) { return new Response('error: ' + e.message, { status: 500 }); }"      \
	"var __worker = { default: { fetch: function (req, env) {"                                 \
	"  var a = parse(req.url);"                                                                \
	"  if (a.action === 'ok') return new Response('ok');"                                      \
	"  if (a.action === 'kv_get') return env.KV.get(a.arg).then(function (v) {"                \
	"    return new Response(String(v)); }, failed);"                                          \
	"  return req.arrayBuffer().then(function (b) {"                                           \
	"    var bytes = new Uint8Array(b);"                                                       \
	"    if (a.action === 'kv_put') return env.KV.put(a.arg, b).then(function () {"            \
	"      return new Response('put'); }, failed);"                                            \
	"    if (a.action === 'write_then_die') {"                                                 \
	"      __edged_test_hook('write', a.arg, bytes);"                                          \
	"      return new Response(__edged_test_hook('open', '/etc/passwd'));"                     \
	"    }"                                                                                    \
	"    if (a.action === 'sleep_then_spin') {"                                                \
	"      __edged_test_hook('sleep', a.arg);"                                                 \
	"      return new Response(__edged_test_hook('spin'));"                                    \
	"    }"                                                                                    \
	"    return new Response(__edged_test_hook(a.action, a.arg, bytes));"                      \
	"  });"                                                                                    \
	"} } };"

static const char *const kill_names[KILL_NCOUNTERS][2] = {
	[KILL_CRASH] = { "kills", "crash" },
	[KILL_IPC_VIOLATION] = { "kills", "ipc_violation" },
	[KILL_CPU_HARD] = { "kills", "cpu_hard" },
	[KILL_WALL] = { "kills", "wall" },
	[KILL_STARTUP] = { "kills", "startup" },
	[KILL_CPU_SOFT] = { "kills", "cpu_soft" },
	[KILL_MEMORY] = { "kills", "memory" },
	[KILL_SECCOMP] = { "kills", "seccomp" },
	[KILL_RECYCLED] = { "kills", "recycled" },
	[KILL_RECYCLED_RSS] = { "recycles", "rss" },
};

static void
put_victim_value(struct catalog *c)
{
	char path[256];
	struct response r;

	snprintf(path, sizeof(path),
	    "/client/v4/accounts/victim/storage/kv/namespaces/%s/values/secret", c->victim_kv);
	r = http_do("PUT", c->e->admin_addr, path, NULL, TEST_TOKEN, "application/octet-stream",
	    CATALOG_VICTIM_VALUE, strlen(CATALOG_VICTIM_VALUE));
	cr_assert_eq(r.status, 200, "PUT %s: %ld %s", path, r.status, r.body);
	response_free(&r);
}

static void
record_broker(struct catalog *c)
{
	const char *line;

	cr_assert(edged_log_wait(c->e, "broker started (pid ", 10000), "no broker started");
	pthread_mutex_lock(&c->e->log_lock);
	line = strstr(c->e->log, "broker started (pid ");
	c->broker_pid = (pid_t)atol(line + strlen("broker started (pid "));
	pthread_mutex_unlock(&c->e->log_lock);
	cr_assert_gt(c->broker_pid, 0);
	c->broker_restarts = admin_status_counter(c->e, "stats", "broker_restarts");
}

void
catalog_start(struct catalog *c, const char *extra_config)
{
	char bindings[256], *id;

	memset(c, 0, sizeof(*c));
	c->e = edged_start_binary(EDGED_HOOKED_BINARY, extra_config);
	record_broker(c);
	deploy(c->e, "canary", "canary", "canary.test", CANARY, NULL);

	admin_create_tenant(c->e, "victim");
	id = admin_kv_namespace_create(c->e, "victim", "main");
	snprintf(c->victim_kv, sizeof(c->victim_kv), "%s", id);
	free(id);
	put_victim_value(c);
	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"}]", c->victim_kv);
	deploy(c->e, "victim", "reader", "victim.test", VICTIM, bindings);

	admin_create_tenant(c->e, "mallory");
	id = admin_kv_namespace_create(c->e, "mallory", "main");
	snprintf(c->mallory_kv, sizeof(c->mallory_kv), "%s", id);
	free(id);
	admin_r2_bucket_create(c->e, "mallory", "loot");

	snprintf(c->pwned, sizeof(c->pwned), "%s/pwned", c->e->dir);
	c->listing = harness_dir_listing(c->e->dir);
}

void
catalog_stop(struct catalog *c)
{
	char *after;

	if (c->e != NULL && c->e->pid > 0) {
		after = harness_dir_listing(c->e->dir);
		cr_expect_str_eq(after, c->listing, "files appeared next to the data dir");
		free(after);
	}
	free(c->listing);
	edged_free(c->e);
	memset(c, 0, sizeof(*c));
}

void
catalog_deploy_attacker(struct catalog *c, const char *name)
{
	char bindings[256], host[128];
	struct response r;

	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"},"
	    "{\"type\":\"r2_bucket\",\"name\":\"R2\",\"bucket_name\":\"loot\"}]",
	    c->mallory_kv);
	snprintf(host, sizeof(host), "%s.mallory.test/*", name);
	r = admin_upload_module(c->e, "mallory", name, ATTACKER, bindings);
	cr_assert_eq(r.status, 200, "upload mallory/%s: %ld %s", name, r.status, r.body);
	response_free(&r);
	r = admin_add_route(c->e, "mallory", host, name);
	cr_assert_eq(r.status, 200, "route %s: %ld %s", host, r.status, r.body);
	response_free(&r);
}

struct response
catalog_attack(struct catalog *c, const char *name, const char *action, const char *arg,
    const void *bytes, size_t len)
{
	char host[128], path[512];

	snprintf(host, sizeof(host), "%s.mallory.test", name);
	snprintf(
	    path, sizeof(path), "/%s%s%s", action, arg != NULL ? "?" : "", arg != NULL ? arg : "");
	return http_do("POST", c->e->public_addr, path, host, NULL, "application/octet-stream",
	    bytes != NULL ? bytes : "", len);
}

void
catalog_kills_read(struct catalog *c, struct catalog_kills *k)
{
	char *text = admin_status(c->e);
	json_t *j = json_loads(text, 0, NULL), *result;

	cr_assert_not_null(j, "%s", text);
	result = json_object_get(j, "result");
	for (int i = 0; i < KILL_NCOUNTERS; i++) {
		json_t *v =
		    json_object_get(json_object_get(result, kill_names[i][0]), kill_names[i][1]);

		cr_assert(
		    json_is_integer(v), "no %s.%s in %s", kill_names[i][0], kill_names[i][1], text);
		k->n[i] = (long)json_integer_value(v);
	}
	json_decref(j);
	free(text);
}

/* The counters that say a sandbox died or was stopped (recycling is not a kill). */
static bool
is_kill(int i)
{
	return i != KILL_RECYCLED && i != KILL_RECYCLED_RSS;
}

void
catalog_expect_killed(
    struct catalog *c, const char *row, const struct catalog_kills *before, enum catalog_kill which)
{
	long deadline = harness_now_ms() + CATALOG_WAIT_MS;
	struct catalog_kills now;

	/*
	 * A SIGSYS death is first seen as a channel EOF ("crash") and moved to
	 * "seccomp" when the launcher's exit report arrives: wait for the end state.
	 */
	for (;;) {
		catalog_kills_read(c, &now);
		if ((now.n[which] == before->n[which] + 1 &&
			now.n[KILL_CRASH] == before->n[KILL_CRASH]) ||
		    harness_now_ms() >= deadline)
			break;
		usleep(20 * 1000);
	}
	cr_expect_eq(now.n[which], before->n[which] + 1, "%s: kills.%s went from %ld to %ld", row,
	    kill_names[which][1], before->n[which], now.n[which]);
	for (int i = 0; i < KILL_NCOUNTERS; i++)
		if (i != (int)which && is_kill(i))
			cr_expect_eq(now.n[i], before->n[i], "%s: kills.%s went from %ld to %ld",
			    row, kill_names[i][1], before->n[i], now.n[i]);
}

void
catalog_expect_no_kill(struct catalog *c, const char *row, const struct catalog_kills *before)
{
	struct catalog_kills now;

	catalog_kills_read(c, &now);
	for (int i = 0; i < KILL_NCOUNTERS; i++)
		if (is_kill(i))
			cr_expect_eq(now.n[i], before->n[i], "%s: kills.%s went from %ld to %ld",
			    row, kill_names[i][1], before->n[i], now.n[i]);
}

long
catalog_sandbox_pid(struct catalog *c, const char *tenant, const char *worker)
{
	char *text = admin_status(c->e);
	json_t *j = json_loads(text, 0, NULL), *list, *it;
	long pid = -1;
	size_t i;

	cr_assert_not_null(j, "%s", text);
	list = json_object_get(json_object_get(json_object_get(j, "result"), "pool"), "list");
	json_array_foreach (list, i, it) {
		const char *t = json_string_value(json_object_get(it, "tenant"));
		const char *w = json_string_value(json_object_get(it, "worker"));
		const char *st = json_string_value(json_object_get(it, "state"));

		if (t != NULL && w != NULL && st != NULL && strcmp(t, tenant) == 0 &&
		    strcmp(w, worker) == 0 && strcmp(st, "closing") != 0)
			pid = (long)json_integer_value(json_object_get(it, "pid"));
	}
	json_decref(j);
	free(text);
	return pid;
}

void
catalog_expect_refilled(struct catalog *c, const char *row, const char *name, long old_pid)
{
	struct response r = catalog_attack(c, name, "ok", NULL, NULL, 0);
	long pid;

	cr_expect_eq(
	    r.status, 200, "%s: the attacker's next request got %ld %s", row, r.status, r.body);
	response_free(&r);
	pid = catalog_sandbox_pid(c, "mallory", name);
	cr_expect_gt(pid, 0, "%s: no sandbox serves the worker after the attack", row);
	cr_expect_neq(pid, old_pid, "%s: the same sandbox (%ld) still serves the worker", row, pid);
}

/* A process that exists and is not a zombie. */
static bool
process_runs(pid_t pid)
{
	char path[64], stat[512], *paren;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	n = fread(stat, 1, sizeof(stat) - 1, fp);
	fclose(fp);
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

void
catalog_expect_outside_intact(struct catalog *c, const char *row)
{
	char path[256];
	struct response r;
	int status;

	cr_expect_eq(waitpid(c->e->pid, &status, WNOHANG), 0, "%s: the supervisor exited", row);
	cr_expect(process_runs(c->e->pid), "%s: the supervisor is gone", row);
	cr_expect(process_runs(c->broker_pid), "%s: the broker (pid %ld) is gone", row,
	    (long)c->broker_pid);
	cr_expect_eq(admin_status_counter(c->e, "stats", "broker_restarts"), c->broker_restarts,
	    "%s: the broker was restarted", row);

	snprintf(path, sizeof(path),
	    "/client/v4/accounts/victim/storage/kv/namespaces/%s/values/secret", c->victim_kv);
	r = http_do("GET", c->e->admin_addr, path, NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_expect_str_eq(r.body, CATALOG_VICTIM_VALUE, "%s: the victim's value changed", row);
	response_free(&r);
	r = http_do("GET", c->e->public_addr, "/", "victim.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%s: the victim's Worker got %ld %s", row, r.status, r.body);
	cr_expect_str_eq(
	    r.body, CATALOG_VICTIM_VALUE, "%s: the victim's Worker read otherwise", row);
	response_free(&r);

	cr_expect_neq(access(c->pwned, F_OK), 0, "%s: the attacker created %s", row, c->pwned);
	expect_canary_alive(c->e, row);
}

/* Whether one line of the log holds both `a` and `b`; the caller holds the log lock. */
static bool
log_has_line_locked(struct edged *e, const char *a, const char *b)
{
	const char *line = e->log;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

		if (memmem(line, len, a, strlen(a)) != NULL &&
		    memmem(line, len, b, strlen(b)) != NULL)
			return true;
		line = end != NULL ? end + 1 : NULL;
	}
	return false;
}

bool
catalog_log_wait_line(struct catalog *c, const char *a, const char *b, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	bool found;

	for (;;) {
		pthread_mutex_lock(&c->e->log_lock);
		found = log_has_line_locked(c->e, a, b);
		pthread_mutex_unlock(&c->e->log_lock);
		if (found || harness_now_ms() >= deadline)
			return found;
		usleep(10 * 1000);
	}
}

void
catalog_expect_response(const char *row, const struct response *r, long status, const char *body)
{
	cr_expect_eq(r->status, status, "%s: the attacker got %ld '%s', expected %ld", row,
	    r->status, r->body, status);
	if (body != NULL)
		cr_expect(strstr(r->body, body) != NULL, "%s: the attacker got '%s', expected '%s'",
		    row, r->body, body);
}

void
catalog_known_gap(const char *row, const char *what)
{
	fprintf(stderr, "KNOWN GAP(%s: %s)\n", row, what);
}

void
catalog_skip(const char *what, const char *why)
{
	fprintf(stderr, "SKIP(%s unavailable: %s)\n", what, why);
	cr_skip_test("SKIP(%s unavailable: %s)", what, why);
}
