/*
 * End to end: the attack catalog, part B (native code inside a sandbox), from
 * SECURITY.md, against the test-only edged-hooked.  An attacker Worker makes
 * its real, locked-down sandbox run one raw system call through
 * __edged_test_hook (sandbox/test_hooks.c).  Every row checks what the
 * attacker's client saw, that the sandbox was killed and counted for the
 * right reason in /status (seccomp, or cpu_hard for the hard timer), that
 * its slot was refilled, and that nothing outside changed: the supervisor
 * and the same broker run, the victim's data and Worker are intact, no file
 * appeared, no connection arrived, and the canary answers.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog_hooked.h"

#define ATTACKER_NAME "b"
#define I386_NR_GETPID 20

static struct catalog c;

static void
setup(void)
{
	catalog_start(&c, "memory_mb = 64\n");
	catalog_deploy_attacker(&c, ATTACKER_NAME);
}

static void
teardown(void)
{
	catalog_stop(&c);
}

TestSuite(catalog_b, .init = setup, .fini = teardown, .timeout = 240);

/* The sanitizer build installs the relaxed deny-list: the allowlist's rows cannot be checked. */
static void
skip_without_allowlist(void)
{
#ifdef EDGED_SANITIZER_BUILD
	catalog_skip("seccomp allowlist", "sanitizer build installs the relaxed deny-list");
#endif
}

/* A warm sandbox for the attacker; returns its pid. */
static long
attacker_sandbox(void)
{
	struct response r = catalog_attack(&c, ATTACKER_NAME, "ok", NULL, NULL, 0);
	long pid;

	cr_assert_eq(
	    r.status, 200, "the attacker's Worker does not answer: %ld %s", r.status, r.body);
	response_free(&r);
	pid = catalog_sandbox_pid(&c, "mallory", ATTACKER_NAME);
	cr_assert_gt(pid, 0, "no sandbox serves the attacker");
	return pid;
}

/* The parent of a process, from /proc/PID/stat (the launcher, for a sandbox). */
static long
parent_of(long pid)
{
	char path[64], stat[512], *paren;
	long ppid = -1;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s", path);
	n = fread(stat, 1, sizeof(stat) - 1, fp);
	fclose(fp);
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	cr_assert(paren != NULL && sscanf(paren + 2, "%*c %ld", &ppid) == 1, "%s", stat);
	return ppid;
}

/*
 * The argument of a row: literal text, or one of the targets only known at
 * run time ("$supervisor", "$broker", "$parent" (the launcher), "$pwned",
 * "$proc_supervisor", and what a test set in `extra`).
 */
static void
row_arg(const char *spec, long sandbox, const char *extra, char *out, size_t size)
{
	if (spec == NULL)
		out[0] = '\0';
	else if (strcmp(spec, "$supervisor") == 0)
		snprintf(out, size, "%ld", (long)c.e->pid);
	else if (strcmp(spec, "$broker") == 0)
		snprintf(out, size, "%ld", (long)c.broker_pid);
	else if (strcmp(spec, "$parent") == 0)
		snprintf(out, size, "%ld", parent_of(sandbox));
	else if (strcmp(spec, "$pwned") == 0)
		snprintf(out, size, "%s", c.pwned);
	else if (strcmp(spec, "$proc_supervisor") == 0)
		snprintf(out, size, "/proc/%ld/environ", (long)c.e->pid);
	else if (strcmp(spec, "$extra") == 0)
		snprintf(out, size, "%s", extra);
	else
		snprintf(out, size, "%s", spec);
}

struct row {
	const char *name;   /* the catalog's words */
	const char *action; /* of __edged_test_hook */
	const char *arg;    /* see row_arg */
};

/*
 * One row whose system call the allowlist forbids: the client sees 502, the
 * sandbox dies of SIGSYS (counted "seccomp"), a new one serves the next
 * request, and nothing outside changed.
 */
static void
expect_seccomp_kill(const struct row *row, const char *extra)
{
	struct catalog_kills before;
	struct response r;
	char arg[512];
	long pid = attacker_sandbox();

	row_arg(row->arg, pid, extra, arg, sizeof(arg));
	catalog_kills_read(&c, &before);
	r = catalog_attack(&c, ATTACKER_NAME, row->action, arg[0] != '\0' ? arg : NULL, NULL, 0);
	catalog_expect_response(row->name, &r, 502, "error code: 502");
	response_free(&r);
	catalog_expect_killed(&c, row->name, &before, KILL_SECCOMP);
	catalog_expect_refilled(&c, row->name, ATTACKER_NAME, pid);
	catalog_expect_outside_intact(&c, row->name);
}

static void
run_rows(const struct row *rows, size_t n, const char *extra)
{
	skip_without_allowlist();
	for (size_t i = 0; i < n; i++)
		expect_seccomp_kill(&rows[i], extra);
}

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

Test(catalog_b, files_programs_and_proc)
{
	static const struct row rows[] = {
		{ "B open /etc/passwd", "open", "/etc/passwd" },
		{ "B openat /proc/self/environ", "openat", "/proc/self/environ" },
		{ "B openat the supervisor's /proc environ", "openat", "$proc_supervisor" },
		{ "B create a file", "create", "$pwned" },
		{ "B execve a shell that writes a file", "execve", "$pwned" },
		{ "B mmap a channel fd", "mmap_file", NULL },
	};

	run_rows(rows, NROWS(rows), NULL);
}

/* A listener on loopback TCP and one on an abstract unix name: nothing may reach them. */
struct listeners {
	int tcp, unix_fd;
	char tcp_port[16];
	char unix_name[64];
};

static void
listeners_open(struct listeners *l)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(l->tcp, 0);
	cr_assert_eq(bind(l->tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(l->tcp, 8), 0);
	cr_assert_eq(getsockname(l->tcp, (struct sockaddr *)&sin, &len), 0);
	snprintf(l->tcp_port, sizeof(l->tcp_port), "%u", ntohs(sin.sin_port));

	snprintf(l->unix_name, sizeof(l->unix_name), "edged-catalog-b-%ld", (long)getpid());
	memcpy(sun.sun_path + 1, l->unix_name, strlen(l->unix_name));
	l->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(l->unix_fd, 0);
	cr_assert_eq(
	    bind(l->unix_fd, (struct sockaddr *)&sun,
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(l->unix_name))),
	    0, "bind @%s: %s", l->unix_name, strerror(errno));
	cr_assert_eq(listen(l->unix_fd, 8), 0);
}

static void
expect_nobody_connected(int fd, const char *what, const char *row)
{
	int got = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	cr_expect(got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
	    "%s: a connection reached the test's %s listener", row, what);
	if (got >= 0)
		close(got);
}

Test(catalog_b, network)
{
	static const struct row tcp_rows[] = {
		{ "B socket and connect TCP to loopback", "tcp_connect", "$extra" },
	};
	static const struct row unix_rows[] = {
		{ "B socket and connect an abstract unix socket", "unix_connect", "$extra" },
		{ "B connect the supervisor channel elsewhere", "connect_fd", "$extra" },
		{ "B sendto an address on the supervisor channel", "sendto_addr", "$extra" },
	};
	struct listeners l;

	skip_without_allowlist();
	listeners_open(&l);
	run_rows(tcp_rows, NROWS(tcp_rows), l.tcp_port);
	run_rows(unix_rows, NROWS(unix_rows), l.unix_name);
	expect_nobody_connected(l.tcp, "TCP", "B network");
	expect_nobody_connected(l.unix_fd, "abstract unix", "B network");
	close(l.tcp);
	close(l.unix_fd);
}

Test(catalog_b, processes_and_signals)
{
	static const struct row rows[] = {
		{ "B fork", "fork", NULL },
		{ "B clone", "clone", NULL },
		{ "B clone3", "clone3", NULL },
		{ "B fork bomb", "fork_bomb", NULL },
		{ "B ptrace the supervisor", "ptrace", "$supervisor" },
		{ "B process_vm_readv the supervisor", "process_vm_readv", "$supervisor" },
		{ "B process_vm_writev the broker", "process_vm_writev", "$broker" },
		{ "B kill the parent (launcher)", "kill", "$parent" },
		{ "B kill the supervisor", "kill", "$supervisor" },
		{ "B kill the broker", "kill", "$broker" },
		{ "B kill every process (-1)", "kill_all", NULL },
		{ "B tgkill the supervisor", "tgkill", "$supervisor" },
		{ "B read the supervisor's CPU clock", "cpu_clock", "$supervisor" },
		{ "B ignore SIGXCPU", "ignore_sigxcpu", NULL },
		{ "B setrlimit", "setrlimit", NULL },
		{ "B prlimit64 on the supervisor", "prlimit64", "$supervisor" },
	};

	run_rows(rows, NROWS(rows), NULL);
}

Test(catalog_b, kernel_interfaces)
{
	static const struct row rows[] = {
		{ "B timer_create", "timer_create", NULL },
		{ "B perf_event_open", "perf_event_open", NULL },
		{ "B bpf", "bpf", NULL },
		{ "B io_uring_setup", "io_uring_setup", NULL },
		{ "B userfaultfd", "userfaultfd", NULL },
		{ "B keyctl", "keyctl", NULL },
		{ "B mount", "mount", NULL },
		{ "B unshare", "unshare", NULL },
		{ "B setns", "setns", NULL },
		{ "B personality", "personality", NULL },
		{ "B ioctl TIOCSTI", "ioctl_tiocsti", NULL },
		{ "B ioctl TIOCSTI with high bits set", "ioctl_tiocsti_high", NULL },
		{ "B mmap PROT_EXEC", "mmap_exec", NULL },
		{ "B mprotect PROT_EXEC", "mprotect_exec", NULL },
	};

	run_rows(rows, NROWS(rows), NULL);
}

Test(catalog_b, x32_syscall_entry)
{
	static const struct row row = { "B x32 syscall entry", "x32_getpid", NULL };

	run_rows(&row, 1, NULL);
}

static long
i386_getpid(void)
{
	long rc;

	__asm__ volatile("int $0x80"
			 : "=a"(rc)
			 : "0"((long)I386_NR_GETPID)
			 : "memory", "r8", "r9", "r10", "r11");
	return rc;
}

/* True when this kernel runs i386 system calls from a 64-bit process at all. */
static bool
i386_entry_available(void)
{
	pid_t pid = fork();
	int status;

	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(i386_getpid() == getpid() ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Test(catalog_b, i386_syscall_entry)
{
	static const struct row row = { "B i386 syscall entry (int 0x80)", "i386_getpid", NULL };

	if (!i386_entry_available())
		catalog_skip("B i386 syscall entry", "int $0x80 does not reach the kernel here");
	run_rows(&row, 1, NULL);
}

/*
 * Native code that never checks the CPU budget: spinning, or flooding
 * stderr with one-byte writes (each costs CPU, none is refused).  The
 * supervisor's hard limit on the sandbox's CPU clock stops it: 503 1102,
 * counted "cpu_hard", slot refilled.
 */
static void
expect_hard_kill(const char *row, const char *action)
{
	struct catalog_kills before;
	struct response r;
	long pid = attacker_sandbox();

	catalog_kills_read(&c, &before);
	r = catalog_attack(&c, ATTACKER_NAME, action, NULL, NULL, 0);
	catalog_expect_response(row, &r, 503, "error code: 1102");
	response_free(&r);
	catalog_expect_killed(&c, row, &before, KILL_CPU_HARD);
	catalog_expect_refilled(&c, row, ATTACKER_NAME, pid);
	catalog_expect_outside_intact(&c, row);
}

Test(catalog_b, spinning_and_flooding_stderr_meet_the_hard_limit)
{
	expect_hard_kill("B spinning in native code", "spin");
	expect_hard_kill("B flooding stderr", "stderr_flood");
}

/* ---- memory: its own edged, with room in the CPU limit to touch it all ---------- */

#define MEMORY_MB 64
/* supervisor/main.c: RLIMIT_AS = 2 * memory_mb + 512 MiB of headroom. */
#define ADDRESS_SPACE_MB (2 * MEMORY_MB + 512)
#define RECYCLE_RSS_MB 256

static void
memory_setup(void)
{
	char cfg[256];

	snprintf(cfg, sizeof(cfg), "memory_mb = %d\ncpu_ms = 10000\nrecycle_after_rss_mb = %d\n",
	    MEMORY_MB, RECYCLE_RSS_MB);
	catalog_start(&c, cfg);
	catalog_deploy_attacker(&c, ATTACKER_NAME);
}

TestSuite(catalog_b_memory, .init = memory_setup, .fini = teardown, .timeout = 240);

/*
 * Native code takes and touches memory until malloc fails.  The capped
 * allocator never sees it; RLIMIT_AS stops it below the address-space limit
 * (the host never runs out), and the sandbox, left holding it, is recycled
 * at the RSS limit once the request ends.
 */
Test(catalog_b_memory, exhausting_memory_stops_at_rlimit_as_and_recycles)
{
	static const char row[] = "B exhausting memory";
	struct catalog_kills before, after;
	struct response r;
	long mib = -1, pid;

#ifdef EDGED_SANITIZER_BUILD
	catalog_skip("rlimit AS", "sanitizer build does not apply it");
#endif
	pid = attacker_sandbox();
	catalog_kills_read(&c, &before);
	r = catalog_attack(&c, ATTACKER_NAME, "memory", NULL, NULL, 0);
	catalog_expect_response(row, &r, 200, "rc=");
	cr_expect(sscanf(r.body, "rc=%ld", &mib) == 1, "%s: %s", row, r.body);
	response_free(&r);
	fprintf(
	    stderr, "%s: native code got %ld MiB (RLIMIT_AS %d MiB)\n", row, mib, ADDRESS_SPACE_MB);
	cr_expect_gt(mib, RECYCLE_RSS_MB, "%s: stopped at %ld MiB, before the RSS limit", row, mib);
	cr_expect_lt(mib, ADDRESS_SPACE_MB, "%s: %ld MiB is past RLIMIT_AS", row, mib);
	/* Recycled, not killed: the pool closes it once the request is over. */
	for (long deadline = harness_now_ms() + CATALOG_WAIT_MS; harness_now_ms() < deadline;
	     usleep(20 * 1000)) {
		catalog_kills_read(&c, &after);
		if (after.n[KILL_RECYCLED_RSS] > before.n[KILL_RECYCLED_RSS])
			break;
	}
	cr_expect_eq(after.n[KILL_RECYCLED_RSS], before.n[KILL_RECYCLED_RSS] + 1,
	    "%s: the sandbox holding the memory was not recycled at the RSS limit", row);
	catalog_expect_no_kill(&c, row, &before);
	catalog_expect_refilled(&c, row, ATTACKER_NAME, pid);
	catalog_expect_outside_intact(&c, row);
}

/* ---- the wall time: native code that waits it out, then spins -------------------- */

#define WALL_MS 3000 /* long enough for the hard limit to act first under load */

static void
wall_setup(void)
{
	char cfg[64];

	snprintf(cfg, sizeof(cfg), "wall_ms = %d\n", WALL_MS);
	catalog_start(&c, cfg);
	catalog_deploy_attacker(&c, ATTACKER_NAME);
}

TestSuite(catalog_b_wall, .init = wall_setup, .fini = teardown, .timeout = 120);

/*
 * Native code sleeps past the wall time (no CPU, so the hard limit has
 * nothing to see), the client gets 504, and then it would spin where no
 * request's CPU timer watches it: the sandbox is killed at the wall time,
 * counted "wall", and the Worker's next request gets a fresh one.
 */
Test(catalog_b_wall, blocking_past_the_wall_time_then_spinning)
{
	static const char row[] = "B blocking past the wall time, then spinning";
	struct catalog_kills before;
	struct response r;
	long pid = attacker_sandbox();
	char arg[16];

	snprintf(arg, sizeof(arg), "%d", WALL_MS + 500);
	catalog_kills_read(&c, &before);
	r = catalog_attack(&c, ATTACKER_NAME, "sleep_then_spin", arg, NULL, 0);
	catalog_expect_response(row, &r, 504, "error code: 504");
	response_free(&r);
	catalog_expect_killed(&c, row, &before, KILL_WALL);
	r = catalog_attack(&c, ATTACKER_NAME, "ok", NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%s: the next request got %ld %s", row, r.status, r.body);
	response_free(&r);
	catalog_expect_refilled(&c, row, ATTACKER_NAME, pid);
	catalog_expect_outside_intact(&c, row);
}
