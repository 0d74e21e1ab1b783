/*
 * End to end: supervisor robustness under sandbox churn (SECURITY.md suite
 * 6).  About a thousand sandboxes die by SIGKILL from outside; afterwards
 * edged holds no more fds than before, leaves no zombies, keeps its memory,
 * counts every death, and still serves.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define POOL_BLANKS 4
#define TARGET_KILLS 1000
#define CHURN_BUDGET_MS 45000 /* keeps the suite under a minute */
#define SETTLE_MS 20000
#define FD_SLACK 4
#define RSS_SLACK_KIB (64L * 1024)

static struct edged *e;

static void
setup(void)
{
	char cfg[128];

	snprintf(cfg, sizeof(cfg), "pool_blanks = %d\nmax_sandboxes = 16\n", POOL_BLANKS);
	e = edged_start(cfg);
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(churn, .init = setup, .fini = teardown, .timeout = 180);

static int
fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	cr_assert_not_null(d, "cannot list %s", path);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* State and parent of a process from /proc/<pid>/stat; false if it is gone. */
static bool
proc_stat(long pid, char *state, long *ppid)
{
	char path[64], buf[512], *close_paren;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: parse after the last ')'. */
	if ((close_paren = strrchr(buf, ')')) == NULL)
		return false;
	return sscanf(close_paren + 1, " %c %ld", state, ppid) == 2;
}

/* Zombies whose parent is one of `parents`. */
static int
zombies_of(const long *parents, int nparents)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL) {
		long pid = atol(de->d_name), ppid;
		char state;

		if (pid <= 0 || !proc_stat(pid, &state, &ppid) || state != 'Z')
			continue;
		for (int i = 0; i < nparents; i++)
			if (ppid == parents[i]) {
				fprintf(stderr, "zombie %ld (parent %ld)\n", pid, ppid);
				n++;
			}
	}
	closedir(d);
	return n;
}

struct pool_view {
	long pids[64];
	int npids; /* blank or ready: locked down and listed */
	int blanks;
	long crashes;
};

static void
pool_view(struct pool_view *v)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *res, *list, *it;
	size_t i;

	cr_assert_not_null(j, "%s", text);
	memset(v, 0, sizeof(*v));
	res = json_object_get(j, "result");
	list = json_object_get(json_object_get(res, "pool"), "list");
	json_array_foreach (list, i, it) {
		const char *state = json_string_value(json_object_get(it, "state"));

		if (state == NULL)
			continue;
		if (strcmp(state, "blank") == 0)
			v->blanks++;
		if ((strcmp(state, "blank") == 0 || strcmp(state, "ready") == 0) && v->npids < 64)
			v->pids[v->npids++] = (long)json_integer_value(json_object_get(it, "pid"));
	}
	v->crashes =
	    (long)json_integer_value(json_object_get(json_object_get(res, "kills"), "crash"));
	json_decref(j);
	free(text);
}

/* Waits (bounded, paced by /status round trips) until the pool is full again. */
static bool
pool_settled(struct pool_view *v, long want_crashes)
{
	long deadline = harness_now_ms() + SETTLE_MS;

	do {
		pool_view(v);
		if (v->blanks >= POOL_BLANKS && v->crashes >= want_crashes)
			return true;
	} while (harness_now_ms() < deadline);
	return false;
}

static void
expect_serving(const char *when)
{
	struct response r = http_do("GET", e->public_addr, "/", "churn.test", NULL, NULL, NULL, 0);

	cr_expect_eq(r.status, 200, "%s: %ld %s", when, r.status, r.body);
	cr_expect_str_eq(r.body, "still here", "%s", when);
	response_free(&r);
}

static bool
already_killed(const long *killed, int n, long pid)
{
	for (int i = n - 1; i >= 0; i--)
		if (killed[i] == pid)
			return true;
	return false;
}

Test(churn, a_thousand_sandbox_deaths_leave_no_trace)
{
	static long killed[TARGET_KILLS];
	struct pool_view v;
	long start, launcher = -1, parents[2], crashes_before, rss_before, rss_after, ppid;
	int nkilled = 0, fds_before, fds_after, answered = 0, failed = 0;
	char state;

	deploy(e, "churn", "churn", "churn.test",
	    "var __worker = { default: { fetch: function () { return new Response('still here'); } "
	    "} };",
	    NULL);
	expect_serving("before");
	cr_assert(pool_settled(&v, 0), "the pool never filled");
	cr_assert_gt(v.npids, 0);
	cr_assert(proc_stat(v.pids[0], &state, &launcher), "sandbox %ld vanished", v.pids[0]);
	cr_assert_neq(launcher, (long)e->pid, "sandboxes should be the launcher's children");
	crashes_before = v.crashes;
	fds_before = fd_count(e->pid);
	rss_before = proc_vm_rss_kib(e->pid);

	start = harness_now_ms();
	while (nkilled < TARGET_KILLS && harness_now_ms() - start < CHURN_BUDGET_MS) {
		pool_view(&v);
		for (int i = 0; i < v.npids && nkilled < TARGET_KILLS; i++) {
			/* Listed until the supervisor notices: kill each pid once. */
			if (already_killed(killed, nkilled, v.pids[i]))
				continue;
			if (kill((pid_t)v.pids[i], SIGKILL) == 0)
				killed[nkilled++] = v.pids[i];
		}
		/* Now and then a request, which takes a blank and may meet a dying one. */
		if (nkilled % 50 < 5) {
			struct response r =
			    http_do("GET", e->public_addr, "/", "churn.test", NULL, NULL, NULL, 0);

			if (r.status == 200)
				answered++;
			else if (r.status == 502 || r.status == 503)
				failed++;
			else
				cr_expect(
				    false, "a request during churn got %ld %s", r.status, r.body);
			response_free(&r);
		}
	}
	fprintf(stderr, "churn: %d sandboxes killed in %ld ms; %d requests answered, %d failed\n",
	    nkilled, harness_now_ms() - start, answered, failed);
	cr_expect_eq(nkilled, TARGET_KILLS, "only %d kills within the time budget", nkilled);

	cr_expect(pool_settled(&v, crashes_before + nkilled),
	    "the pool did not settle: %d blanks, %ld crashes counted", v.blanks,
	    v.crashes - crashes_before);
	/* Every death counted once; a blank being replaced at the end may lag. */
	cr_expect(v.crashes - crashes_before >= nkilled &&
		v.crashes - crashes_before <= nkilled + POOL_BLANKS,
	    "%ld deaths counted for %d kills", v.crashes - crashes_before, nkilled);

	expect_serving("after");
	fds_after = fd_count(e->pid);
	cr_expect_leq(fds_after, fds_before + FD_SLACK, "supervisor fds grew from %d to %d",
	    fds_before, fds_after);
	cr_expect(proc_stat(launcher, &state, &ppid) && ppid == (long)e->pid,
	    "the launcher %ld is gone", launcher);
	parents[0] = (long)e->pid;
	parents[1] = launcher;
	{
		/* A death the launcher has not reaped yet is a zombie for a moment. */
		long deadline = harness_now_ms() + SETTLE_MS;
		int z;

		while ((z = zombies_of(parents, 2)) > 0 && harness_now_ms() < deadline)
			free(admin_status(e));
		cr_expect_eq(z, 0, "%d zombies left behind", z);
	}
	rss_after = proc_vm_rss_kib(e->pid);
	cr_expect_lt(rss_after - rss_before, RSS_SLACK_KIB,
	    "supervisor RSS grew from %ld to %ld KiB", rss_before, rss_after);
	fprintf(stderr, "churn: fds %d -> %d, rss %ld -> %ld KiB\n", fds_before, fds_after,
	    rss_before, rss_after);
}
