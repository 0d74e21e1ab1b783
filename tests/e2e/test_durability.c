/*
 * End to end: the storage durability promise.  A client writes KV keys, D1
 * rows and R2 objects through a Worker as fast as it can; the broker, and
 * separately the whole service, is killed with SIGKILL in the middle of
 * that storm.  Afterwards every write whose response the client saw is
 * present and intact, and a write it did not see is either absent or
 * whole, never half there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TENANT "dura"
#define HOST "dura.test"
#define V4 "/client/v4/accounts/" TENANT
#define WRITES_MAX 4000
#define ACKS_BEFORE_KILL 30
#define ACKS_AFTER_KILL 30
#define STORM_TIMEOUT_MS 90000

/* Value sizes: a KV value and a D1 row of a few KiB, an R2 object of several IPC pieces. */
#define KV_BYTES 3000
#define D1_BYTES 1500
#define R2_BYTES 600000

static struct edged *e;

/*
 * Write i goes to KV (i % 3 == 0), D1 (1) or R2 (2); its value is "[i]"
 * repeated to the kind's size, so a reader can tell a whole value from a
 * torn one.
 */
#define WORKER                                                                                     \
	"function payload(i, n) { var s = '[' + i + ']'; while (s.length < n) s += s;"             \
	"  return s.slice(0, n); }"                                                                \
	"var SIZES = { kv: 3000, d1: 1500, r2: 600000 };"                                          \
	"function found(v) { return v === null ? new Response('absent', { status: 404 })"          \
	"  : new Response(v); }"                                                                   \
	"var __worker = { default: { fetch: function (req, env) {"                                 \
	"  var p = new URL(req.url).pathname.split('/'), kind = p[1], i = Number(p[2]);"           \
	"  var ok = function () { return new Response('ok'); };"                                   \
	"  if (req.method === 'POST') {"                                                           \
	"    var v = payload(i, SIZES[kind]);"                                                     \
	"    if (kind === 'kv') return env.KV.put('k' + i, v).then(ok);"                           \
	"    if (kind === 'd1') return env.DB.prepare('INSERT INTO t (i, v) VALUES (?, ?)')"       \
	"      .bind(i, v).run().then(ok);"                                                        \
	"    return env.R2.put('o' + i, v).then(ok);"                                              \
	"  }"                                                                                      \
	"  if (kind === 'kv') return env.KV.get('k' + i).then(found);"                             \
	"  if (kind === 'd1') return env.DB.prepare('SELECT v FROM t WHERE i = ?').bind(i)"        \
	"    .first('v').then(found);"                                                             \
	"  return env.R2.get('o' + i).then(function (o) {"                                         \
	"    return o === null ? found(null) : o.text().then(found); });"                          \
	"} } };"

static const char *const kinds[] = { "kv", "d1", "r2" };
static const size_t sizes[] = { KV_BYTES, D1_BYTES, R2_BYTES };

static void
setup(void)
{
	e = edged_start(NULL);
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(durability, .init = setup, .fini = teardown, .timeout = 300);

/* A tenant with a namespace, a database with table t, a bucket, and the Worker. */
static void
provision(void)
{
	char bindings[512], path[256], *kv, *db;

	admin_create_tenant(e, TENANT);
	kv = admin_kv_namespace_create(e, TENANT, "storm");
	db = admin_d1_database_create(e, TENANT, "storm");
	admin_r2_bucket_create(e, TENANT, "storm");
	snprintf(path, sizeof(path), V4 "/d1/database/%s/query", db);
	json_decref(admin_json(e, NULL, "POST", path,
	    "{\"sql\":\"CREATE TABLE t (i INTEGER PRIMARY KEY, v TEXT NOT NULL)\"}", 200));
	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"%s\"},"
	    "{\"type\":\"d1\",\"name\":\"DB\",\"id\":\"%s\"},"
	    "{\"type\":\"r2_bucket\",\"name\":\"R2\",\"bucket_name\":\"storm\"}]",
	    kv, db);
	free(kv);
	free(db);
	cr_assert_eq(admin_upload_module(e, TENANT, "storm", WORKER, bindings).status, 200);
	cr_assert_eq(admin_add_route(e, TENANT, HOST "/*", "storm").status, 200);
}

/*
 * The client: writes 0, 1, 2 ... in turn, and reports each write whose
 * 200 it saw as one line on `acks`.  Runs until killed.
 */
static void __attribute__((noreturn)) storm(int acks)
{
	for (int i = 0; i < WRITES_MAX; i++) {
		char path[64], line[32];
		struct response r;
		int n;

		snprintf(path, sizeof(path), "/%s/%d", kinds[i % 3], i);
		r = http_do("POST", e->public_addr, path, HOST, NULL, NULL, NULL, 0);
		if (r.status == 200) {
			n = snprintf(line, sizeof(line), "%d\n", i);
			if (write(acks, line, (size_t)n) != n)
				_exit(1);
		}
		response_free(&r);
	}
	_exit(0);
}

struct storm {
	pid_t pid;
	int fd;
	char buf[64];
	size_t len;
	bool acked[WRITES_MAX];
	int count;
	int highest;
};

static void
storm_start(struct storm *s)
{
	int p[2];

	memset(s, 0, sizeof(*s));
	s->highest = -1;
	cr_assert_eq(pipe(p), 0);
	s->pid = fork();
	cr_assert_neq(s->pid, -1);
	if (s->pid == 0) {
		close(p[0]);
		storm(p[1]);
	}
	close(p[1]);
	s->fd = p[0];
}

/* Reads acknowledgements until `count` in all have been seen (bounded). */
static void
storm_wait_acks(struct storm *s, int count)
{
	long deadline = harness_now_ms() + STORM_TIMEOUT_MS;

	while (s->count < count) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		ssize_t n;
		char *nl;

		cr_assert(harness_now_ms() < deadline, "only %d writes acknowledged", s->count);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
		cr_assert_gt(n, 0, "the client stopped after %d acknowledged writes", s->count);
		s->len += (size_t)n;
		s->buf[s->len] = '\0';
		while ((nl = strchr(s->buf, '\n')) != NULL) {
			int i = atoi(s->buf);

			cr_assert(i >= 0 && i < WRITES_MAX);
			s->acked[i] = true;
			s->count++;
			if (i > s->highest)
				s->highest = i;
			s->len -= (size_t)(nl + 1 - s->buf);
			memmove(s->buf, nl + 1, s->len + 1);
		}
	}
}

static void
storm_stop(struct storm *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	close(s->fd);
}

/* The broker's pid, from the newest "broker started" line of the log. */
static pid_t
broker_pid(void)
{
	static const char needle[] = "broker started (pid ";
	const char *line = NULL, *p;

	cr_assert(edged_log_wait(e, needle, 10000));
	for (p = e->log; (p = strstr(p, needle)) != NULL; p++)
		line = p;
	return (pid_t)atol(line + strlen(needle));
}

/* SIGKILLs a process that is not our child and waits (bounded) until it is gone. */
static void
kill_and_wait(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	cr_assert_geq(pidfd, 0, "pidfd_open(%ld): %s", (long)pid, strerror(errno));
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "process %ld did not die", (long)pid);
	close(pidfd);
}

/* Write i read back: 1 whole, 0 absent; a torn or wrong value fails the test. */
static int
read_back(int i)
{
	char path[64];
	const size_t size = sizes[i % 3];
	char unit[16];
	size_t ulen;
	struct response r;
	int found;

	snprintf(path, sizeof(path), "/%s/%d", kinds[i % 3], i);
	r = http_do("GET", e->public_addr, path, HOST, NULL, NULL, NULL, 0);
	cr_assert(r.status == 200 || r.status == 404, "GET %s: %ld %s", path, r.status, r.body);
	found = r.status == 200;
	if (found) {
		ulen = (size_t)snprintf(unit, sizeof(unit), "[%d]", i);
		cr_assert_eq(
		    r.body_len, size, "GET %s: %zu bytes, wrote %zu", path, r.body_len, size);
		for (size_t j = 0; j < size; j++)
			if (r.body[j] != unit[j % ulen])
				cr_assert_fail("GET %s: byte %zu differs", path, j);
	}
	response_free(&r);
	return found;
}

/* Every acknowledged write is whole; unacknowledged ones just past them are whole or absent. */
static void
verify(const struct storm *s)
{
	int present = 0;

	for (int i = 0; i <= s->highest + 3 && i < WRITES_MAX; i++) {
		int found = read_back(i);

		if (s->acked[i])
			cr_assert(found, "acknowledged write %d (%s) is missing", i, kinds[i % 3]);
		present += found;
	}
	cr_assert_geq(present, s->count);
}

Test(durability, broker_killed_mid_storm_loses_no_acknowledged_write)
{
	struct storm s;
	long restarts = admin_status_counter(e, "stats", "broker_restarts");

	provision();
	storm_start(&s);
	storm_wait_acks(&s, ACKS_BEFORE_KILL);
	kill_and_wait(broker_pid());
	/* The storm goes on against the restarted broker. */
	storm_wait_acks(&s, s.count + ACKS_AFTER_KILL);
	storm_stop(&s);
	cr_assert_gt(admin_status_counter(e, "stats", "broker_restarts"), restarts);
	verify(&s);
}

Test(durability, service_killed_mid_storm_loses_no_acknowledged_write)
{
	struct storm s;
	pid_t broker;

	provision();
	storm_start(&s);
	storm_wait_acks(&s, ACKS_BEFORE_KILL);
	broker = broker_pid();
	/* The whole service at once: supervisor and broker (the rest follow by PDEATHSIG). */
	kill(e->pid, SIGKILL);
	kill_and_wait(broker);
	edged_wait_exit(e, 10000);
	storm_stop(&s);
	edged_restart(e);
	verify(&s);
}
