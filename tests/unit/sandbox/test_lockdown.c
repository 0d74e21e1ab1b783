/*
 * test_lockdown: sandbox/lockdown.c for real.  Each test forks a child that
 * takes fds 3 and 4 (socketpairs to the test), locks itself down and tries one
 * thing: forbidden things must kill it by SIGSYS, allowed things must work.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox/lockdown.h"

#define CHILD_LOCKDOWN_FAILED 71
#define CHILD_SETUP_FAILED 72
#define TEST_AS_BYTES (1024ULL * 1024 * 1024)
#define TEST_CPU_SECONDS 10
#define X32_SYSCALL_BIT 0x40000000L
#define I386_NR_GETPID 20

/* A forbidden operation; returns what the call returned (errno is kept). */
typedef long (*forbidden_fn)(void);
/* The body of a child that must survive; exits 0 on success. */
typedef void (*child_fn)(void);

/* What the sanitizer build's relaxed deny-list does with an operation. */
enum relaxed {
	RELAXED_KILLS,  /* SIGSYS, like the real allowlist */
	RELAXED_ERRNO,  /* fails with the given errno */
	RELAXED_ALLOWS, /* only the real allowlist stops it */
};

struct child {
	pid_t pid;
	int fd3; /* the test's end of the child's fd 3 (supervisor channel) */
	int fd4; /* the test's end of the child's fd 4 (broker channel) */
};

static pid_t test_pid; /* the test process: the child's parent */
/* Set by a test before child_spawn: clone flags and per-slot identity for the child. */
static unsigned long test_namespaces;
static bool test_set_uid;
static uid_t test_uid;
static void (*before_lockdown)(void); /* run in the child just before lockdown_apply */

extern char **environ;

static void
child_report(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(3, line, (size_t)n > sizeof(line) ? sizeof(line) : (size_t)n) == -1)
		_exit(CHILD_SETUP_FAILED);
}

/* Puts `fd` on `target` via a high number so that the two placements cannot clobber each other. */
static void
child_place_fd(int fd, int target)
{
	int hi = fcntl(fd, F_DUPFD, 20);

	if (hi == -1 || dup2(hi, target) == -1)
		_exit(CHILD_SETUP_FAILED);
	close(hi);
}

/* In the forked child: fds 3/4 (and 2 if err_fd >= 0), a stray fd 5 and an env var, then lock-down.
 */
static void
child_lock(int end3, int end4, int err_fd)
{
	static const int keep[] = { 2, 3, 4 };
	struct lockdown_config lc;
	const char *failed = NULL;
	int devnull;

	child_place_fd(end3, 3);
	child_place_fd(end4, 4);
	if (err_fd >= 0)
		child_place_fd(err_fd, 2);
	if ((devnull = open("/dev/null", O_RDONLY)) == -1)
		_exit(CHILD_SETUP_FAILED);
	child_place_fd(devnull, 5);
	if (setenv("EDGED_TEST_SECRET", "hunter2", 1) == -1)
		_exit(CHILD_SETUP_FAILED);

	memset(&lc, 0, sizeof(lc));
	lc.keep_fds = keep;
	lc.nkeep = 3;
	lc.address_space_bytes = TEST_AS_BYTES;
	lc.cpu_seconds = TEST_CPU_SECONDS;
	lc.namespaces = test_namespaces;
	lc.set_uid = test_set_uid;
	lc.uid = test_uid;
	lc.gid = (gid_t)test_uid;
	if (before_lockdown != NULL)
		before_lockdown();
	if (lockdown_apply(&lc, &failed) == -1) {
		dprintf(2, "lockdown failed at '%s': %s\n", failed ? failed : "?", strerror(errno));
		_exit(CHILD_LOCKDOWN_FAILED);
	}
}

/*
 * Forks a child that locks down and runs `body`; err_fd (or -1) becomes its
 * fd 2.  The test keeps the other ends of fds 3 and 4.
 */
static void
child_spawn(struct child *ch, void (*body)(void *), void *arg, int err_fd)
{
	int s3[2], s4[2];

	test_pid = getpid();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s3), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s4), 0);
	ch->pid = lockdown_clone(test_namespaces);
	cr_assert_neq(ch->pid, -1, "clone: %s", strerror(errno));
	if (ch->pid == 0) {
		close(s3[0]);
		close(s4[0]);
		child_lock(s3[1], s4[1], err_fd);
		body(arg);
		_exit(0);
	}
	close(s3[1]);
	close(s4[1]);
	ch->fd3 = s3[0];
	ch->fd4 = s4[0];
}

static int
child_wait(struct child *ch)
{
	int status;

	while (waitpid(ch->pid, &status, 0) == -1)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	close(ch->fd3);
	close(ch->fd4);
	return status;
}

static const char *
status_text(int status)
{
	static char text[96];

	if (WIFSIGNALED(status))
		snprintf(text, sizeof(text), "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_LOCKDOWN_FAILED)
		snprintf(text, sizeof(text), "lockdown_apply failed (see stderr)");
	else if (WIFEXITED(status))
		snprintf(text, sizeof(text), "exited %d", WEXITSTATUS(status));
	else
		snprintf(text, sizeof(text), "status %#x", status);
	return text;
}

/* Reads until `want` bytes or EOF; NUL-terminates. */
static size_t
read_some(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) != 0) {
		if (n == -1) {
			cr_assert_eq(errno, EINTR, "read: %s", strerror(errno));
			continue;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

static void
skip_visibly(const char *layer, const char *reason)
{
	fprintf(stderr, "SKIP(%s unavailable: %s)\n", layer, reason);
	cr_skip_test("SKIP(%s unavailable: %s)", layer, reason);
}

/* --- forbidden operations: death by SIGSYS ------------------------------------ */

static void
forbidden_body(void *arg)
{
	forbidden_fn fn = (forbidden_fn)arg;
	long rc;

	errno = 0;
	rc = fn();
	child_report("survived: returned %ld, errno %d\n", rc, errno);
}

static void
expect_killed(forbidden_fn fn, const char *what, enum relaxed relaxed, int relaxed_errno)
{
	struct child ch;
	char out[128];
	int status;

#ifdef EDGED_SANITIZER_BUILD
	if (relaxed == RELAXED_ALLOWS) {
		char reason[128];

		snprintf(reason, sizeof(reason),
		    "sanitizer build installs the relaxed deny-list, "
		    "which lets %s through",
		    what);
		skip_visibly("seccomp allowlist", reason);
	}
#endif
	child_spawn(&ch, forbidden_body, (void *)fn, -1);
	read_some(ch.fd3, out, sizeof(out));
	status = child_wait(&ch);
#ifdef EDGED_SANITIZER_BUILD
	if (relaxed == RELAXED_ERRNO) {
		char want[64];

		snprintf(want, sizeof(want), "errno %d\n", relaxed_errno);
		cr_assert(WIFEXITED(status) && strstr(out, want) != NULL,
		    "%s: relaxed filter should fail it with errno %d: %s, child said '%s'", what,
		    relaxed_errno, status_text(status), out);
		return;
	}
#else
	(void)relaxed;
	(void)relaxed_errno;
#endif
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "%s: expected death by SIGSYS, got %s; child said '%s'", what, status_text(status),
	    out);
}

#define DEATH_TEST(name, relaxed, relaxed_errno)                                                   \
	static long forbid_##name(void);                                                           \
	Test(lockdown_forbidden, name, .timeout = 30)                                              \
	{                                                                                          \
		expect_killed(forbid_##name, #name, relaxed, relaxed_errno);                       \
	}                                                                                          \
	static long forbid_##name(void)

DEATH_TEST(open_root, RELAXED_ALLOWS, 0)
{
	return syscall(SYS_open, "/", O_RDONLY);
}

DEATH_TEST(openat_root, RELAXED_ALLOWS, 0)
{
	return openat(AT_FDCWD, "/", O_RDONLY);
}

DEATH_TEST(socket_inet, RELAXED_KILLS, 0)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

DEATH_TEST(socket_unix, RELAXED_KILLS, 0)
{
	return socket(AF_UNIX, SOCK_STREAM, 0);
}

DEATH_TEST(execve_true, RELAXED_KILLS, 0)
{
	char *const argv[] = { (char *)"true", NULL };
	char *const envp[] = { NULL };

	return execve("/bin/true", argv, envp);
}

DEATH_TEST(fork_raw, RELAXED_ERRNO, EPERM)
{
	long rc = syscall(SYS_fork);

	if (rc == 0)
		_exit(0); /* only if fork got through: the report comes from the parent */
	return rc;
}

DEATH_TEST(clone3, RELAXED_ERRNO, ENOSYS)
{
	return syscall(SYS_clone3, NULL, 0); /* EINVAL if it ever got to the kernel */
}

DEATH_TEST(kill_parent, RELAXED_KILLS, 0)
{
	return kill(test_pid, 0);
}

DEATH_TEST(tgkill_parent, RELAXED_KILLS, 0)
{
	return syscall(SYS_tgkill, test_pid, test_pid, 0);
}

DEATH_TEST(ptrace_parent, RELAXED_ERRNO, EPERM)
{
	return syscall(SYS_ptrace, PTRACE_PEEKUSER, test_pid, 0, 0);
}

DEATH_TEST(process_vm_readv, RELAXED_KILLS, 0)
{
	return syscall(SYS_process_vm_readv, test_pid, NULL, 0, NULL, 0, 0);
}

DEATH_TEST(mmap_exec, RELAXED_KILLS, 0)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

DEATH_TEST(mmap_file_backed, RELAXED_ALLOWS, 0)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0);

	return p == MAP_FAILED ? -1 : 0;
}

DEATH_TEST(mprotect_exec, RELAXED_KILLS, 0)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		child_report("the writable mapping failed\n");
		return -1;
	}
	return mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

DEATH_TEST(setrlimit_raw, RELAXED_KILLS, 0)
{
	struct rlimit rl = { 5, 5 }; /* what the lock-down set: harmless */

	return syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl);
}

DEATH_TEST(prlimit64, RELAXED_KILLS, 0)
{
	struct rlimit rl = { 5, 5 };

	return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, NULL);
}

DEATH_TEST(ioctl_tiocsti, RELAXED_KILLS, 0)
{
	char c = 'x';

	return syscall(SYS_ioctl, 3, TIOCSTI, &c);
}

DEATH_TEST(ioctl_tiocsti_high_bits, RELAXED_KILLS, 0)
{
	char c = 'x';

	return syscall(SYS_ioctl, 3, (unsigned long)TIOCSTI | (1UL << 32), &c);
}

DEATH_TEST(personality, RELAXED_KILLS, 0)
{
	return syscall(SYS_personality, 0xffffffffUL); /* a query */
}

DEATH_TEST(bpf, RELAXED_KILLS, 0)
{
	return syscall(SYS_bpf, -1, NULL, 0);
}

DEATH_TEST(perf_event_open, RELAXED_KILLS, 0)
{
	return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
}

DEATH_TEST(io_uring_setup, RELAXED_KILLS, 0)
{
	return syscall(SYS_io_uring_setup, 0, NULL);
}

DEATH_TEST(userfaultfd, RELAXED_KILLS, 0)
{
	return syscall(SYS_userfaultfd, -1);
}

DEATH_TEST(keyctl, RELAXED_KILLS, 0)
{
	return syscall(SYS_keyctl, -1, 0, 0, 0, 0);
}

DEATH_TEST(unshare, RELAXED_KILLS, 0)
{
	return unshare(0);
}

DEATH_TEST(setns, RELAXED_KILLS, 0)
{
	return setns(-1, 0);
}

DEATH_TEST(mount, RELAXED_KILLS, 0)
{
	return mount(NULL, NULL, NULL, 0, NULL);
}

DEATH_TEST(timer_create, RELAXED_KILLS, 0)
{
	return syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, NULL);
}

DEATH_TEST(clock_gettime_other_process_cpu, RELAXED_KILLS, 0)
{
	/* MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): a negative clock id. */
	long clock = (long)(int)((~(unsigned)test_pid << 3) | 2);
	struct timespec ts;

	return syscall(SYS_clock_gettime, clock, &ts);
}

DEATH_TEST(sendto_address, RELAXED_ALLOWS, 0)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "\0edged-test" };

	return sendto(3, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&sun, sizeof(sun));
}

DEATH_TEST(fcntl_dupfd, RELAXED_ALLOWS, 0)
{
	return fcntl(3, F_DUPFD, 0);
}

DEATH_TEST(fcntl_getfl_log_fd, RELAXED_ALLOWS, 0)
{
	return fcntl(2, F_GETFL);
}

DEATH_TEST(write_closed_stdout, RELAXED_ALLOWS, 0)
{
	return write(1, "x", 1);
}

DEATH_TEST(x32_getpid, RELAXED_KILLS, 0)
{
	return syscall(SYS_getpid | X32_SYSCALL_BIT);
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

/* True when this kernel runs i386 syscalls from a 64-bit process at all. */
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

Test(lockdown_forbidden, i386_getpid, .timeout = 30)
{
	if (!i386_entry_available())
		skip_visibly("i386 syscall entry", "int $0x80 does not reach the kernel here");
	expect_killed(i386_getpid, "i386_getpid", RELAXED_KILLS, 0);
}

/* --- allowed operations ----------------------------------------------------------- */

static void
run_ok(void (*body)(void *), void *arg, char *out, size_t outlen)
{
	struct child ch;
	int status;

	child_spawn(&ch, body, arg, -1);
	read_some(ch.fd3, out, outlen);
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "allowed operations must work: %s; child said '%s'", status_text(status), out);
}

static void
ipc_body(void *arg)
{
	char buf[16];
	ssize_t n;

	(void)arg;
	child_report("hello");
	if ((n = read(4, buf, sizeof(buf) - 1)) <= 0)
		_exit(1);
	buf[n] = '\0';
	child_report(" got %s", buf);
	if (write(4, "pong", 4) != 4)
		_exit(1);
}

Test(lockdown_allowed, ipc_read_write, .timeout = 30)
{
	struct child ch;
	char out[64], reply[8];
	int status;

	child_spawn(&ch, ipc_body, NULL, -1);
	cr_assert_eq(write(ch.fd4, "ping", 4), 4);
	cr_assert_eq(read(ch.fd4, reply, 4), 4);
	cr_assert_eq(memcmp(reply, "pong", 4), 0);
	read_some(ch.fd3, out, sizeof(out));
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
	cr_assert_str_eq(out, "hello got ping");
}

/* What sandbox/loop.c and common/ipc_fd.c do: O_NONBLOCK, then send(MSG_NOSIGNAL). */
static void
nonblocking_send_body(void *arg)
{
	int flags;

	(void)arg;
	for (int fd = 3; fd <= 4; fd++)
		if ((flags = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
			_exit(1);
	if (send(4, "b", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		_exit(2);
	if (send(3, "sent", 4, MSG_NOSIGNAL) != 4)
		_exit(3);
}

Test(lockdown_allowed, nonblocking_send, .timeout = 30)
{
	struct child ch;
	char out[32], b;
	int status;

	child_spawn(&ch, nonblocking_send_body, NULL, -1);
	read_some(ch.fd3, out, sizeof(out));
	cr_assert_eq(read(ch.fd4, &b, 1), 1);
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
	cr_assert_str_eq(out, "sent");
	cr_assert_eq(b, 'b');
}

static void
malloc_body(void *arg)
{
	size_t size = 50u << 20;
	char *p, *q;

	(void)arg;
	if ((p = malloc(size)) == NULL)
		_exit(1);
	memset(p, 0xa5, size);
	if ((q = realloc(p, 2 * size)) == NULL)
		_exit(2);
	memset(q + size, 0x5a, size);
	free(q);
	for (int i = 0; i < 1000; i++)
		free(malloc((size_t)i * 97));
	child_report("ok");
}

Test(lockdown_allowed, malloc_50mib, .timeout = 30)
{
	char out[32];

	run_ok(malloc_body, NULL, out, sizeof(out));
	cr_assert_str_eq(out, "ok");
}

static void
clock_body(void *arg)
{
	static const clockid_t clocks[] = { CLOCK_THREAD_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID,
		CLOCK_MONOTONIC, CLOCK_REALTIME };
	struct timespec ts;
	struct timeval tv;

	(void)arg;
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		/* The raw call: the vDSO would hide a filter that kills the syscall. */
		if (syscall(SYS_clock_gettime, (long)clocks[i], &ts) != 0)
			_exit(1);
		if (clock_gettime(clocks[i], &ts) != 0)
			_exit(1);
	}
	if (syscall(SYS_gettimeofday, &tv, NULL) != 0)
		_exit(1);
	child_report("ok");
}

Test(lockdown_allowed, clocks, .timeout = 30)
{
	char out[32];

	run_ok(clock_body, NULL, out, sizeof(out));
	cr_assert_str_eq(out, "ok");
}

static void
poll_body(void *arg)
{
	struct pollfd pfd = { .fd = 4, .events = POLLIN };
	char c;

	(void)arg;
	if (poll(&pfd, 1, 10000) != 1 || (pfd.revents & POLLIN) == 0)
		_exit(1);
	if (read(4, &c, 1) != 1)
		_exit(2);
	child_report("polled %c", c);
}

Test(lockdown_allowed, poll, .timeout = 30)
{
	struct child ch;
	char out[32];
	int status;

	child_spawn(&ch, poll_body, NULL, -1);
	cr_assert_eq(write(ch.fd4, "z", 1), 1);
	read_some(ch.fd3, out, sizeof(out));
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
	cr_assert_str_eq(out, "polled z");
}

static void
stderr_body(void *arg)
{
	(void)arg;
	if (write(2, "diagnostic\n", 11) != 11)
		_exit(1);
}

Test(lockdown_allowed, write_log_fd, .timeout = 30)
{
	struct child ch;
	char out[1024];
	int err[2], status;

	cr_assert_eq(pipe(err), 0);
	child_spawn(&ch, stderr_body, NULL, err[1]);
	close(err[1]);
	status = child_wait(&ch);
	read_some(err[0], out, sizeof(out));
	close(err[0]);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
	/* A sanitizer build also says "seccomp relaxed" there first. */
	cr_assert(strstr(out, "diagnostic\n") != NULL, "log fd got '%s'", out);
}

static void
environment_body(void *arg)
{
	size_t n = 0;

	(void)arg;
	for (char **e = environ; e != NULL && *e != NULL; e++)
		n++;
	child_report("%zu %s", n, getenv("EDGED_TEST_SECRET") ? "secret" : "none");
}

Test(lockdown_layers, environment_is_empty, .timeout = 30)
{
	char out[32];

	run_ok(environment_body, NULL, out, sizeof(out));
	cr_assert_str_eq(out, "0 none");
}

/*
 * poll() is allowed and answers POLLNVAL for a closed fd (fcntl is not
 * allowed).  One fd per call: poll refuses more fds than RLIMIT_NOFILE.
 */
static void
fds_body(void *arg)
{
	char open_fds[128] = "";
	size_t len = 0;

	(void)arg;
	for (int fd = 0; fd < 300; fd++) {
		struct pollfd pfd = { .fd = fd, .events = 0 };

		if (poll(&pfd, 1, 0) == -1)
			_exit(1);
		if ((pfd.revents & POLLNVAL) == 0 && len < sizeof(open_fds) - 8)
			len += (size_t)snprintf(open_fds + len, sizeof(open_fds) - len, "%d ", fd);
	}
	child_report("open: %s", open_fds);
}

Test(lockdown_layers, only_kept_fds_stay_open, .timeout = 30)
{
	char out[160];

	run_ok(fds_body, NULL, out, sizeof(out));
	/* fd 5 was open (/dev/null) before lock-down, and so were the test runner's. */
	cr_assert_str_eq(out, "open: 2 3 4 ");
}

/* An old kernel (before 5.9): close_range says ENOSYS, /proc/self/fd is walked instead. */
static void
hide_close_range(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	if (ctx == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(close_range), 0) != 0 ||
	    seccomp_load(ctx) != 0)
		_exit(CHILD_SETUP_FAILED);
	seccomp_release(ctx);
	/* More strays, above and between batches of the /proc walk. */
	for (int fd = 40; fd < 300; fd += 3)
		if (dup2(5, fd) == -1)
			_exit(CHILD_SETUP_FAILED);
}

Test(lockdown_layers, only_kept_fds_stay_open_without_close_range, .timeout = 30)
{
	char out[160];

	before_lockdown = hide_close_range;
	run_ok(fds_body, NULL, out, sizeof(out));
	cr_assert_str_eq(out, "open: 2 3 4 ");
}

static void
block_body(void *arg)
{
	char c;

	(void)arg;
	child_report("ready");
	if (read(3, &c, 1) != 1)
		_exit(1);
}

/* Runs a child that blocks reading fd 3; gives the test `path` under /proc/<pid>/. */
static void
read_proc_of_locked_child(const char *name, char *text, size_t size)
{
	struct child ch;
	char ready[8], path[64];
	size_t got;
	int fd, status;

	child_spawn(&ch, block_body, NULL, -1);
	cr_assert_eq(read(ch.fd3, ready, 5), 5, "the child did not come up");
	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)ch.pid, name);
	fd = open(path, O_RDONLY);
	cr_assert_neq(fd, -1, "%s: %s", path, strerror(errno));
	got = read_some(fd, text, size);
	close(fd);
	cr_assert_gt(got, 0);
	cr_assert_eq(write(ch.fd3, "g", 1), 1);
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
}

Test(lockdown_layers, proc_status_seccomp_and_no_new_privs, .timeout = 30)
{
	char status[4096];

	read_proc_of_locked_child("status", status, sizeof(status));
	cr_assert(strstr(status, "\nSeccomp:\t2\n") != NULL, "no 'Seccomp: 2' in:\n%s", status);
	cr_assert(
	    strstr(status, "\nNoNewPrivs:\t1\n") != NULL, "no 'NoNewPrivs: 1' in:\n%s", status);
}

/* One "Max ..." row of /proc/<pid>/limits: soft and hard, as text. */
static void
assert_limit(const char *limits, const char *row, const char *soft_hard)
{
	const char *at = strstr(limits, row);
	char soft[32], hard[32], want[64];

	cr_assert_not_null(at, "no '%s' in:\n%s", row, limits);
	cr_assert_eq(sscanf(at + strlen(row), "%31s %31s", soft, hard), 2);
	snprintf(want, sizeof(want), "%s %s", soft, hard);
	cr_assert_str_eq(want, soft_hard, "%s", row);
}

Test(lockdown_layers, rlimits_soft_equals_hard, .timeout = 30)
{
	char limits[4096], as[64];

	read_proc_of_locked_child("limits", limits, sizeof(limits));
	assert_limit(limits, "Max open files", "5 5");
	assert_limit(limits, "Max processes", "0 0");
	assert_limit(limits, "Max file size", "0 0");
	assert_limit(limits, "Max core file size", "0 0");
	assert_limit(limits, "Max locked memory", "0 0");
	assert_limit(limits, "Max cpu time", "10 10");
#ifdef EDGED_SANITIZER_BUILD
	(void)as;
	fprintf(stderr, "SKIP(rlimit AS unavailable: sanitizer build)\n");
#else
	snprintf(as, sizeof(as), "%llu %llu", TEST_AS_BYTES, TEST_AS_BYTES);
	assert_limit(limits, "Max address space", as);
#endif
}

Test(lockdown_layers, dies_with_its_parent, .timeout = 30)
{
	struct pollfd pfd;
	char buf[16];
	pid_t middle;
	int s[2], status;
	ssize_t n;

	/*
	 * test -> middle -> locked child, whose fds 3 and 4 are both the one
	 * socket to the test.  The child blocks on fd 4 forever; when the middle
	 * is killed, PDEATHSIG must kill the child, which the test sees as EOF.
	 */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	middle = fork();
	cr_assert_neq(middle, -1);
	if (middle == 0) {
		pid_t pid = fork();

		if (pid == 0) {
			close(s[0]);
			child_lock(s[1], s[1], -1);
			child_report("ready");
			for (;;)
				if (read(4, buf, sizeof(buf)) == 0)
					_exit(0);
		}
		close(s[0]);
		close(s[1]);
		for (;;)
			pause();
	}
	close(s[1]);
	cr_assert_eq(read(s[0], buf, 5), 5, "the grandchild did not come up");
	cr_assert_eq(kill(middle, SIGKILL), 0);
	cr_assert_eq(waitpid(middle, &status, 0), middle);
	pfd.fd = s[0];
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "the locked child outlived its parent by 10 s");
	n = read(s[0], buf, sizeof(buf));
	close(s[0]);
	cr_assert_eq(n, 0, "expected EOF from the dead child, read returned %zd", n);
}

Test(lockdown_layers, reports_the_failed_layer, .timeout = 30)
{
	static const int bad[] = { 3, -1 };
	struct lockdown_config lc;
	const char *failed = NULL;
	int status;
	pid_t pid;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		memset(&lc, 0, sizeof(lc));
		lc.keep_fds = bad;
		lc.nkeep = 2;
		if (lockdown_apply(&lc, &failed) != -1)
			_exit(1);
		_exit(failed != NULL && strcmp(failed, "close fds") == 0 ? 0 : 2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
}

/* Waits in poll with a timeout: a stop and continue resume it via restart_syscall. */
static void
poll_wait_body(void *arg)
{
	struct pollfd pfd = { .fd = 3, .events = POLLIN };
	char c;

	(void)arg;
	child_report("ready");
	while (poll(&pfd, 1, 20000) == 0)
		;
	if (read(3, &c, 1) != 1)
		_exit(1);
}

/* True once the process sleeps in a system call ('S' in /proc/PID/stat). */
static bool
child_is_sleeping(pid_t pid)
{
	char path[64], stat[512], *paren;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return false;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return false;
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'S';
}

Test(lockdown_allowed, stop_and_continue_while_polling, .timeout = 30)
{
	struct child ch;
	char ready[8];
	siginfo_t si;
	int status, tries;

	child_spawn(&ch, poll_wait_body, NULL, -1);
	cr_assert_eq(read(ch.fd3, ready, 5), 5, "the child did not come up");
	/* After "ready" its next call is the poll: wait (bounded) until it sleeps there. */
	for (tries = 0; tries < 1000000 && !child_is_sleeping(ch.pid); tries++)
		sched_yield();
	cr_assert(child_is_sleeping(ch.pid), "the child never blocked in poll");
	cr_assert_eq(kill(ch.pid, SIGSTOP), 0);
	cr_assert_eq(waitid(P_PID, (id_t)ch.pid, &si, WSTOPPED), 0);
	cr_assert_eq(kill(ch.pid, SIGCONT), 0);
	cr_assert_eq(waitid(P_PID, (id_t)ch.pid, &si, WCONTINUED), 0);
	cr_assert_eq(write(ch.fd3, "g", 1), 1);
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a stopped and continued sandbox must live on: %s", status_text(status));
}

/* --- namespaces, per-slot uid, Landlock, the probe, the release binary ---------- */

static void
read_proc_file(pid_t pid, const char *name, char *text, size_t size)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY);
	cr_assert_neq(fd, -1, "%s: %s", path, strerror(errno));
	cr_assert_gt(read_some(fd, text, size), 0);
	close(fd);
}

/* Blocks until the test closes fd 3 (after saying "ready"). */
static void
wait_body(void *arg)
{
	char c;

	(void)arg;
	child_report("ready");
	while (read(3, &c, 1) > 0)
		;
}

static void skip_seccomp(void);

/* The namespaces this host lets us create, or a visible SKIP. */
static unsigned long
namespaces_or_skip(void)
{
	unsigned long ns = lockdown_namespaces_wanted();
	char reason[128];
	int status;
	pid_t pid = lockdown_clone(ns);

	if (pid == -1) {
		snprintf(reason, sizeof(reason), "clone with new namespaces: %s", strerror(errno));
		skip_visibly("namespaces", reason);
	}
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return ns;
}

static void
ns_link(pid_t pid, const char *ns, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/ns/%s", (long)pid, ns);
	n = readlink(path, out, len - 1);
	cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
	out[n] = '\0';
}

/* Spawns a locked child that waits; the test inspects it, then lets it go. */
static void
with_waiting_child(void (*inspect)(pid_t pid))
{
	struct child ch;
	char ready[8];
	int status;

	child_spawn(&ch, wait_body, NULL, -1);
	cr_assert_eq(read(ch.fd3, ready, 5), 5, "the child did not come up");
	inspect(ch.pid);
	shutdown(ch.fd3, SHUT_RDWR);
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
}

static const char *const ns_kinds[] = { "net", "ipc", "mnt", "pid" };

/* Inside the locked child (seccomp skipped by the test hook): its own links. */
static void
ns_report_body(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(ns_kinds) / sizeof(ns_kinds[0]); i++) {
		char path[64], link[128];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_kinds[i]);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		child_report("%s\n", n > 0 ? link : strerror(errno));
	}
}

Test(lockdown_layers, namespaces_are_new, .timeout = 30)
{
	char out[1024], mine[128], *line, *save = NULL;
	struct child ch;
	int status;

	test_namespaces = namespaces_or_skip();
	before_lockdown = skip_seccomp;
	child_spawn(&ch, ns_report_body, NULL, -1);
	read_some(ch.fd3, out, sizeof(out));
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
	line = strtok_r(out, "\n", &save);
	for (size_t i = 0; i < sizeof(ns_kinds) / sizeof(ns_kinds[0]); i++) {
		cr_assert_not_null(line, "the child reported %zu namespaces", i);
		ns_link(getpid(), ns_kinds[i], mine, sizeof(mine));
		cr_assert(strncmp(line, ns_kinds[i], strlen(ns_kinds[i])) == 0, "child's %s: %s",
		    ns_kinds[i], line);
		cr_assert_str_neq(
		    mine, line, "the sandbox shares our %s namespace (%s)", ns_kinds[i], mine);
		line = strtok_r(NULL, "\n", &save);
	}
}

static void
inspect_uid(pid_t pid)
{
	char status[4096], want[96];

	read_proc_file(pid, "status", status, sizeof(status));
	snprintf(want, sizeof(want), "\nUid:\t%lu\t%lu\t%lu\t%lu\n", (unsigned long)test_uid,
	    (unsigned long)test_uid, (unsigned long)test_uid, (unsigned long)test_uid);
	cr_assert(strstr(status, want) != NULL, "no '%s' in:\n%s", want + 1, status);
	snprintf(want, sizeof(want), "\nGid:\t%lu\t%lu\t%lu\t%lu\n", (unsigned long)test_uid,
	    (unsigned long)test_uid, (unsigned long)test_uid, (unsigned long)test_uid);
	cr_assert(strstr(status, want) != NULL, "no '%s' in:\n%s", want + 1, status);
	{
		const char *groups = strstr(status, "\nGroups:");

		cr_assert_not_null(groups, "no Groups line in:\n%s", status);
		groups += strlen("\nGroups:");
		cr_assert_eq(strspn(groups, " \t"), strcspn(groups, "\n"),
		    "supplementary groups left:\n%s", status);
	}
}

Test(lockdown_layers, per_slot_uid_when_root, .timeout = 30)
{
	if (geteuid() != 0)
		skip_visibly("uid", "not running as root");
	test_set_uid = true;
	test_uid = 200000 + 7;
	with_waiting_child(inspect_uid);
}

Test(lockdown_layers, uid_unavailable_without_root_says_so, .timeout = 30)
{
	struct lockdown_config lc;
	struct lockdown_report r;
	const char *failed;
	int p[2], status;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int keep[] = { 2, 3 };

		child_place_fd(p[1], 3);
		memset(&lc, 0, sizeof(lc));
		lc.keep_fds = keep;
		lc.nkeep = 2;
		lc.namespaces_why = "test: not requested";
		(void)lockdown_apply_report(&lc, &failed, &r);
		_exit(write(3, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(r.state[LOCKDOWN_UID], LOCKDOWN_UNAVAILABLE);
	cr_assert_str_eq(r.reason[LOCKDOWN_UID], "not started as root");
	cr_assert_eq(r.state[LOCKDOWN_NAMESPACES], LOCKDOWN_UNAVAILABLE);
	cr_assert_str_eq(r.reason[LOCKDOWN_NAMESPACES], "test: not requested");
	cr_assert_eq(r.state[LOCKDOWN_SECCOMP], LOCKDOWN_ENGAGED);
}

/* The Landlock ABI version, or a visible SKIP. */
static long
landlock_abi_or_skip(void)
{
	long abi = syscall(444 /* landlock_create_ruleset */, NULL, 0, 1u);

	if (abi < 0)
		skip_visibly("landlock",
		    errno == ENOSYS           ? "kernel built without landlock"
			: errno == EOPNOTSUPP ? "landlock not enabled at boot"
					      : strerror(errno));
	return abi;
}

static void
skip_seccomp(void)
{
	lockdown_test_skip_seccomp = true;
}

/* Under every layer but seccomp: Landlock alone must refuse. */
static void
landlock_body(void *arg)
{
	long abi = *(long *)arg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd, rc;

	errno = 0;
	fd = open("/etc/passwd", O_RDONLY);
	child_report("open=%d:%d ", fd, fd == -1 ? errno : 0);
	fd = open("/", O_RDONLY | O_DIRECTORY);
	child_report("opendir=%d:%d ", fd, fd == -1 ? errno : 0);
	if (abi >= 4) {
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		rc = fd == -1 ? -1 : connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		child_report("connect=%d:%d ", rc, rc == -1 ? errno : 0);
	}
	if (abi >= 6) {
		rc = kill(test_pid, 0);
		child_report("kill=%d:%d ", rc, rc == -1 ? errno : 0);
	}
}

Test(lockdown_layers, landlock_denies_files_tcp_and_signals, .timeout = 30)
{
	long abi = landlock_abi_or_skip();
	char out[256], want[64];
	struct child ch;
	int status;

	before_lockdown = skip_seccomp;
	child_spawn(&ch, landlock_body, &abi, -1);
	read_some(ch.fd3, out, sizeof(out));
	status = child_wait(&ch);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", status_text(status));
	snprintf(want, sizeof(want), "open=-1:%d opendir=-1:%d ", EACCES, EACCES);
	cr_assert(strncmp(out, want, strlen(want)) == 0, "want '%s...', got '%s'", want, out);
	if (abi < 4)
		fprintf(stderr, "SKIP(landlock tcp unavailable: abi %ld)\n", abi);
	else {
		snprintf(want, sizeof(want), "connect=-1:%d ", EACCES);
		cr_assert(strstr(out, want) != NULL, "want '%s', got '%s'", want, out);
	}
	if (abi < 6)
		fprintf(stderr, "SKIP(landlock signal scope unavailable: abi %ld)\n", abi);
	else {
		snprintf(want, sizeof(want), "kill=-1:%d ", EPERM);
		cr_assert(strstr(out, want) != NULL, "want '%s', got '%s'", want, out);
	}
}

Test(lockdown_layers, probe_reports_every_layer, .timeout = 30)
{
	char lines[LOCKDOWN_NLAYERS][LOCKDOWN_LINE_MAX];
	struct lockdown_config lc;
	struct lockdown_report r;
	unsigned long ns = 0;

	memset(&lc, 0, sizeof(lc));
	lc.address_space_bytes = TEST_AS_BYTES;
	lc.cpu_seconds = TEST_CPU_SECONDS;
	lc.set_uid = geteuid() == 0;
	lc.uid = lc.gid = 200000;
	cr_assert_eq(lockdown_probe(&lc, &ns, &r), 0);
	lockdown_report_lines(&r, lines);
	for (size_t i = 0; i < LOCKDOWN_NLAYERS; i++) {
		fprintf(stderr, "probe: %s\n", lines[i]);
		cr_assert(r.state[i] == LOCKDOWN_ENGAGED || r.state[i] == LOCKDOWN_UNAVAILABLE,
		    "%s", lines[i]);
		if (r.state[i] == LOCKDOWN_UNAVAILABLE)
			fprintf(stderr, "SKIP(%s unavailable: %s)\n", lockdown_layer_name(i),
			    r.reason[i]);
	}
	/* What always works must have engaged. */
	cr_assert_eq(r.state[LOCKDOWN_SECCOMP], LOCKDOWN_ENGAGED, "%s", lines[LOCKDOWN_SECCOMP]);
	cr_assert_eq(r.state[LOCKDOWN_NO_NEW_PRIVS], LOCKDOWN_ENGAGED);
	cr_assert_eq(r.state[LOCKDOWN_RLIMITS], LOCKDOWN_ENGAGED);
	cr_assert_eq(r.state[LOCKDOWN_CLOSED_FDS], LOCKDOWN_ENGAGED);
	cr_assert_eq(ns != 0, r.state[LOCKDOWN_NAMESPACES] == LOCKDOWN_ENGAGED);
}

/* What nm says of `binary`: whether any symbol contains each of names[] (found[] in order). */
static void
nm_has_symbols(const char *binary, const char *const *names, bool *found, size_t n)
{
	char cmd[1200], line[512];
	FILE *fp;

	memset(found, 0, n * sizeof(found[0]));
	snprintf(cmd, sizeof(cmd), "nm '%s' 2>&1", binary);
	fp = popen(cmd, "r");
	cr_assert_not_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		for (size_t i = 0; i < n; i++)
			if (strstr(line, names[i]) != NULL)
				found[i] = true;
	pclose(fp);
}

/* Whether the file holds the bytes of `needle` anywhere (strings, not only symbols). */
static bool
file_contains(const char *path, const char *needle)
{
	size_t len = strlen(needle), got;
	char *data = NULL;
	bool found;
	FILE *fp = fopen(path, "rb");
	struct stat st;

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fileno(fp), &st), 0);
	data = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(data);
	got = fread(data, 1, (size_t)st.st_size, fp);
	fclose(fp);
	found = memmem(data, got, needle, len) != NULL;
	free(data);
	return found;
}

/*
 * The release edged has none of the test hooks: not lockdown.c's, not
 * sandbox/test_hooks.c's (symbols, or the JS name they would install).
 * edged-hooked, built from the same sources with them, is the control that
 * shows the check can see them.
 */
Test(lockdown_release, binary_has_no_test_hooks, .timeout = 30)
{
	static const char *const names[] = { " lockdown_apply", "lockdown_test_", "test_hook" };
	bool release[3], hooked[3];

	nm_has_symbols(EDGED_BINARY, names, release, 3);
	cr_assert(release[0], "no lockdown_apply symbol in %s: cannot check", EDGED_BINARY);
	cr_assert(!release[1], "the release binary %s has a lockdown_test_ symbol", EDGED_BINARY);
	cr_assert(!release[2], "the release binary %s has a test_hook symbol", EDGED_BINARY);
	cr_assert(!file_contains(EDGED_BINARY, "__edged_test_hook"),
	    "the release binary %s holds the name of the test hook", EDGED_BINARY);

	nm_has_symbols(EDGED_HOOKED_BINARY, names, hooked, 3);
	cr_assert(hooked[0], "no lockdown_apply symbol in %s", EDGED_HOOKED_BINARY);
	cr_assert(hooked[2], "the control %s has no test_hook symbol: the check is blind",
	    EDGED_HOOKED_BINARY);
	cr_assert(file_contains(EDGED_HOOKED_BINARY, "__edged_test_hook"),
	    "the control %s lacks the hook's name: the check is blind", EDGED_HOOKED_BINARY);
}
