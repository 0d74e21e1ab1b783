/*
 * test_layers: the sandbox lock-down layers seen from outside a real edged:
 * every layer reported with a state in GET /edged/v1/status, required_layers
 * refusing to start, the per-slot uid of a sandbox and the service user of
 * the supervisor when started as root.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tests/support.h"

#define EXIT_TIMEOUT_MS 20000
#define UID_BASE 300000

static const char *const layer_names[] = {
	"closed_fds",
	"environment",
	"namespaces",
	"uid",
	"rlimits",
	"dumpable",
	"pdeathsig",
	"landlock",
	"no_new_privs",
	"seccomp",
};

static json_t *
status_json(struct edged *e)
{
	struct response r =
	    http_do("GET", e->admin_addr, "/edged/v1/status", NULL, TEST_TOKEN, NULL, NULL, 0);
	json_error_t err;
	json_t *root, *result;

	cr_assert_eq(r.status, 200, "GET /edged/v1/status: %ld %s", r.status, r.body);
	root = json_loads(r.body, 0, &err);
	cr_assert_not_null(root, "not JSON: %s", r.body);
	response_free(&r);
	/* The envelope's result, or the object itself. */
	result = json_object_get(root, "result");
	if (result != NULL) {
		json_incref(result);
		json_decref(root);
		return result;
	}
	return root;
}

Test(layers, status_lists_every_layer_with_a_state, .timeout = 60)
{
	struct edged *e = edged_start(NULL);
	json_t *st = status_json(e), *layers = json_object_get(st, "layers");

	cr_assert(json_is_object(layers), "no \"layers\" object in /edged/v1/status");
	for (size_t i = 0; i < sizeof(layer_names) / sizeof(layer_names[0]); i++) {
		json_t *l = json_object_get(layers, layer_names[i]);
		const char *state = json_string_value(json_object_get(l, "state"));
		const char *reason = json_string_value(json_object_get(l, "reason"));

		cr_assert_not_null(state, "layer '%s' has no state", layer_names[i]);
		cr_assert_not_null(reason, "layer '%s' has no reason", layer_names[i]);
		cr_expect(strcmp(state, "engaged") == 0 || strcmp(state, "unavailable") == 0,
		    "layer '%s' is '%s' (%s)", layer_names[i], state, reason);
		if (strcmp(state, "unavailable") == 0)
			fprintf(stderr, "SKIP(%s unavailable: %s)\n", layer_names[i], reason);
		cr_expect(edged_log_count(e, layer_names[i]) > 0, "layer '%s' not logged at start",
		    layer_names[i]);
	}
	/* The default required layers engaged, or edged would not be serving. */
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(layers, "seccomp"), "state")),
	    "engaged");
	json_decref(st);
	edged_free(e);
}

/*
 * Runs edged on a fresh config with `extra` and expects it to exit by itself
 * with status 1 and `needle` on stderr.
 */
static void
expect_refusal(const char *extra, const char *needle)
{
	char dir[64], config[256], log[16384];
	struct pollfd pfd;
	size_t got = 0;
	int p[2], status = -1, pidfd;
	pid_t pid;
	FILE *fp;

	support_tempdir(dir, sizeof(dir), "/tmp", "edged-layers");
	cr_assert_eq(chmod(dir, 0711), 0); /* edged's service user must reach data/ */
	snprintf(config, sizeof(config), "%s/edged.conf", dir);
	cr_assert_not_null(fp = fopen(config, "w"));
	fprintf(fp,
	    "listen = 127.0.0.1:0\nadmin_listen = 127.0.0.1:0\ndata_dir = %s/data\n"
	    "admin_token = %s\n%s\n",
	    dir, TEST_TOKEN, extra);
	fclose(fp);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(p[1], 2);
		execl(EDGED_BINARY, "edged", "--config", config, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* Everything edged writes, until every holder of the pipe is gone. */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (got + 1 < sizeof(log) && poll(&pfd, 1, EXIT_TIMEOUT_MS) == 1) {
		ssize_t n = read(p[0], log + got, sizeof(log) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	log[got] = '\0';
	close(p[0]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		pfd.fd = pidfd;
		poll(&pfd, 1, EXIT_TIMEOUT_MS);
		close(pidfd);
	}
	if (waitpid(pid, &status, WNOHANG) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert(false, "edged kept running with '%s':\n%s", extra, log);
	}
	support_remove_tree(dir);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "edged did not exit 1 (status %#x):\n%s", status, log);
	cr_assert(strstr(log, needle) != NULL, "no '%s' in:\n%s", needle, log);
	cr_assert(strstr(log, "ready: public") == NULL, "edged said ready:\n%s", log);
}

Test(layers, unknown_required_layer_refuses_to_start, .timeout = 60)
{
	expect_refusal("required_layers = seccomp,nonexistent_layer",
	    "required layer 'nonexistent_layer' did not engage");
}

/* A layer the host is known not to give: uid is unavailable unless root. */
Test(layers, unavailable_required_layer_refuses_to_start, .timeout = 60)
{
	if (geteuid() == 0) {
		fprintf(stderr, "SKIP(uid unavailable: cannot be, running as root)\n");
		cr_skip_test("SKIP(uid unavailable: cannot be, running as root)");
	}
	expect_refusal("required_layers = uid", "required layer 'uid' did not engage: unavailable");
}

static long
status_field(pid_t pid, const char *field)
{
	char path[64], line[256];
	long value = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			value = strtol(line + strlen(field), NULL, 10);
	fclose(fp);
	return value;
}

Test(layers, sandbox_runs_as_its_slot_uid_when_root, .timeout = 60)
{
	struct edged *e;
	json_t *st, *list, *sbx;
	size_t i;
	int checked = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP(uid unavailable: not running as root)\n");
		cr_skip_test("SKIP(uid unavailable: not running as root)");
	}
	e = edged_start("sandbox_uid_base = 300000");
	/* A served request means at least one sandbox is listed. */
	deploy(e, "acme", "hello", "hello.test",
	    "var __worker = { default: { fetch: function () { return new Response('hi'); } } };",
	    NULL);
	{
		struct response r =
		    http_do("GET", e->public_addr, "/", "hello.test", NULL, NULL, NULL, 0);

		cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
		response_free(&r);
	}
	st = status_json(e);
	list = json_object_get(json_object_get(st, "pool"), "list");
	json_array_foreach (list, i, sbx) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(sbx, "pid"));
		long slot = (long)json_integer_value(json_object_get(sbx, "slot"));
		long uid, gid;

		/* A starting sandbox is still locking itself down. */
		if (strcmp(json_string_value(json_object_get(sbx, "state")), "starting") == 0)
			continue;
		uid = status_field(pid, "Uid:\t");
		gid = status_field(pid, "Gid:\t");

		cr_expect_eq(uid, UID_BASE + slot, "sandbox %ld in slot %ld runs as uid %ld",
		    (long)pid, slot, uid);
		cr_expect_eq(gid, UID_BASE + slot, "sandbox %ld in slot %ld runs as gid %ld",
		    (long)pid, slot, gid);
		checked++;
	}
	cr_expect_gt(checked, 0, "no sandbox listed in /edged/v1/status");
	json_decref(st);
	edged_free(e);
}

Test(layers, supervisor_runs_as_the_service_user_when_root, .timeout = 60)
{
	struct passwd *pw;
	struct edged *e;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP(service user unavailable: not running as root)\n");
		cr_skip_test("SKIP(service user unavailable: not running as root)");
	}
	if ((pw = getpwnam("edged")) == NULL) {
		fprintf(stderr, "SKIP(service user unavailable: no user 'edged' on this host)\n");
		cr_skip_test("SKIP(service user unavailable: no user 'edged')");
	}
	e = edged_start("user = edged");
	cr_expect_eq(status_field(e->pid, "Uid:\t"), (long)pw->pw_uid);
	cr_expect(edged_log_wait(e, "running as user 'edged'", 1000));
	/* The dropped supervisor still writes its data dir. */
	admin_create_tenant(e, "acme");
	edged_free(e);
}
