/*
 * test_hooks: __edged_test_hook(action, arg, bytes), the test-only native
 * through which the end-to-end catalog plays an attacker who runs native
 * code inside a sandbox (SECURITY.md parts B and C).  Each action is one raw
 * step taken after the real lock-down, with arguments that would do no harm
 * if the step were ever allowed.  Built into edged-hooked only.  Runs in
 * sandboxes.
 */
#ifndef EDGED_TEST_HOOKS
#error "sandbox/test_hooks.c belongs to edged-hooked only (EDGED_TEST_HOOKS)"
#endif

#define _GNU_SOURCE
#include "sandbox/test_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define HOOK_X32_BIT 0x40000000L
#define HOOK_I386_NR_GETPID 20
#define HOOK_CHUNK_BYTES (1u << 20)    /* the memory action's allocation step */
#define HOOK_RESERVE_BYTES (16u << 20) /* ... and what it gives back to answer */

/* What one call of the hook got from JS; the strings live on the value stack. */
struct hook_call {
	const char *arg; /* the second argument as a string */
	long num;        /* ... and as a number (0 when it is not one) */
	const uint8_t *bytes;
	size_t len;
};

/* An action returns what its last system call returned, errno kept. */
typedef long (*hook_fn)(const struct hook_call *h);

/* ---- helpers ------------------------------------------------------------- */

static socklen_t
hook_abstract(struct sockaddr_un *sun, const char *name)
{
	size_t n = strnlen(name, sizeof(sun->sun_path) - 1);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, name, n); /* sun_path[0] == 0: the abstract namespace */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* Writes all of p on a (non-blocking) channel fd, waiting while it is full. */
static long
hook_write_all(int fd, const uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		(void)poll(&pfd, 1, -1);
	}
	return (long)done;
}

static void __attribute__((noreturn)) hook_block_forever(void)
{
	for (;;)
		(void)poll(NULL, 0, -1);
}

/* ---- part B: files, programs, the network ---------------------------------- */

static long
hook_open(const struct hook_call *h)
{
	return syscall(SYS_open, h->arg, O_RDONLY);
}

static long
hook_openat(const struct hook_call *h)
{
	return openat(AT_FDCWD, h->arg, O_RDONLY);
}

static long
hook_create(const struct hook_call *h)
{
	int fd = openat(AT_FDCWD, h->arg, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd == -1)
		return -1;
	return write(fd, "pwned\n", 6);
}

/* If exec were allowed, the shell would leave the file `arg` behind. */
static long
hook_execve(const struct hook_call *h)
{
	char cmd[512];
	char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
	char *envp[] = { NULL };

	snprintf(cmd, sizeof(cmd), ": > '%s'", h->arg);
	return execve("/bin/sh", argv, envp);
}

static long
hook_tcp_connect(const struct hook_call *h)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->num) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd == -1)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

static long
hook_unix_connect(const struct hook_call *h)
{
	struct sockaddr_un sun;
	socklen_t len = hook_abstract(&sun, h->arg);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd == -1)
		return -1;
	return connect(fd, (struct sockaddr *)&sun, len);
}

/* connect(2) on the supervisor channel itself: no new socket needed. */
static long
hook_connect_fd(const struct hook_call *h)
{
	struct sockaddr_un sun;
	socklen_t len = hook_abstract(&sun, h->arg);

	return connect(3, (struct sockaddr *)&sun, len);
}

static long
hook_sendto_addr(const struct hook_call *h)
{
	struct sockaddr_un sun;
	socklen_t len = hook_abstract(&sun, h->arg);

	return sendto(3, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
}

/* ---- part B: processes ------------------------------------------------------- */

/* In a child that got through (it must not): leave at once, the parent reports. */
static long
hook_child_exits(long rc)
{
	if (rc == 0)
		_exit(0);
	return rc;
}

static long
hook_fork(const struct hook_call *h)
{
	(void)h;
	return hook_child_exits(syscall(SYS_fork));
}

static long
hook_clone(const struct hook_call *h)
{
	(void)h;
	return hook_child_exits(syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0));
}

/* struct clone_args as of its first version: a plain fork if it were allowed. */
static long
hook_clone3(const struct hook_call *h)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} ca;

	(void)h;
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	return hook_child_exits(syscall(SYS_clone3, &ca, sizeof(ca)));
}

/* Every child forks again; the first fork must already be the last. */
static long
hook_fork_bomb(const struct hook_call *h)
{
	long rc = 0;

	(void)h;
	for (int i = 0; i < 64 && rc != -1; i++)
		rc = syscall(SYS_fork);
	return rc;
}

static long
hook_ptrace(const struct hook_call *h)
{
	return syscall(SYS_ptrace, PTRACE_PEEKUSER, (pid_t)h->num, 0, 0);
}

static long
hook_process_vm_readv(const struct hook_call *h)
{
	char buf[8];
	struct iovec local = { buf, sizeof(buf) }, remote = { buf, sizeof(buf) };

	return syscall(SYS_process_vm_readv, (pid_t)h->num, &local, 1, &remote, 1, 0);
}

/* Zero-length vectors: even if it got through, nothing would be written. */
static long
hook_process_vm_writev(const struct hook_call *h)
{
	char buf[1];
	struct iovec local = { buf, 0 }, remote = { buf, 0 };

	return syscall(SYS_process_vm_writev, (pid_t)h->num, &local, 1, &remote, 1, 0);
}

/* Signal 0 only: a probe, harmless had it been delivered. */
static long
hook_kill(const struct hook_call *h)
{
	return syscall(SYS_kill, (pid_t)h->num, 0);
}

static long
hook_kill_all(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_kill, -1, 0);
}

static long
hook_tgkill(const struct hook_call *h)
{
	return syscall(SYS_tgkill, (pid_t)h->num, (pid_t)h->num, 0);
}

/* MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): a negative clock id. */
static long
hook_cpu_clock(const struct hook_call *h)
{
	long clock = (long)(int)((~(unsigned)h->num << 3) | 2);
	struct timespec ts;

	return syscall(SYS_clock_gettime, clock, &ts);
}

static long
hook_ignore_sigxcpu(const struct hook_call *h)
{
	(void)h;
	return signal(SIGXCPU, SIG_IGN) == SIG_ERR ? -1 : 0;
}

static long
hook_setrlimit(const struct hook_call *h)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	(void)h;
	return syscall(SYS_setrlimit, RLIMIT_CPU, &rl);
}

/* A query of another process's limits: read-only even if it got through. */
static long
hook_prlimit64(const struct hook_call *h)
{
	struct rlimit old;

	return syscall(SYS_prlimit64, (pid_t)h->num, RLIMIT_NOFILE, NULL, &old);
}

/* ---- part B: kernel interfaces --------------------------------------------------- */

static long
hook_timer_create(const struct hook_call *h)
{
	int id;

	(void)h;
	return syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id);
}

static long
hook_perf_event_open(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
}

static long
hook_bpf(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_bpf, -1, NULL, 0);
}

static long
hook_io_uring_setup(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_io_uring_setup, 0, NULL);
}

static long
hook_userfaultfd(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_userfaultfd, 0);
}

static long
hook_keyctl(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_keyctl, -1, 0, 0, 0, 0);
}

static long
hook_mount(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_mount, NULL, NULL, NULL, 0, NULL);
}

static long
hook_unshare(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_unshare, 0);
}

static long
hook_setns(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_setns, -1, 0);
}

static long
hook_personality(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_personality, 0xffffffffUL); /* a query */
}

static long
hook_ioctl_tiocsti(const struct hook_call *h)
{
	char c = '\n';

	(void)h;
	return syscall(SYS_ioctl, 2, TIOCSTI, &c);
}

static long
hook_ioctl_tiocsti_high(const struct hook_call *h)
{
	char c = '\n';

	(void)h;
	return syscall(SYS_ioctl, 2, (unsigned long)TIOCSTI | (1UL << 32), &c);
}

static long
hook_x32_getpid(const struct hook_call *h)
{
	(void)h;
	return syscall(SYS_getpid | HOOK_X32_BIT);
}

static long
hook_i386_getpid(const struct hook_call *h)
{
	long rc;

	(void)h;
	__asm__ volatile("int $0x80"
			 : "=a"(rc)
			 : "0"((long)HOOK_I386_NR_GETPID)
			 : "memory", "r8", "r9", "r10", "r11");
	return rc;
}

static long
hook_mmap_exec(const struct hook_call *h)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)h;
	return p == MAP_FAILED ? -1 : 0;
}

static long
hook_mprotect_exec(const struct hook_call *h)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)h;
	if (p == MAP_FAILED)
		return -1;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static long
hook_mmap_file(const struct hook_call *h)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0);

	(void)h;
	return p == MAP_FAILED ? -1 : 0;
}

/* ---- part B: resources ------------------------------------------------------------ */

/* Native code that never checks the budget: only the hard limit stops it. */
static long
hook_spin(const struct hook_call *h)
{
	volatile unsigned long n = 0;

	(void)h;
	for (;;)
		n++;
	return 0;
}

/* Waits `arg` milliseconds, costing no CPU: a request that outlives its wall time. */
static long
hook_sleep(const struct hook_call *h)
{
	return poll(NULL, 0, (int)h->num);
}

/* Small writes: the flood costs CPU (the hard limit's to stop), not megabytes of log. */
static long
hook_stderr_flood(const struct hook_call *h)
{
	(void)h;
	for (;;)
		if (write(2, ".", 1) == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
	return 0;
}

/*
 * Takes and touches memory until malloc fails (RLIMIT_AS) and keeps it;
 * returns the MiB it got.  The capped allocator never sees it.  A reserve,
 * given back at the end, leaves JS the room to answer.
 */
static long
hook_memory(const struct hook_call *h)
{
	char *reserve = malloc(HOOK_RESERVE_BYTES), *p;
	long mib = 0;

	(void)h;
	if (reserve == NULL)
		return -1;
	memset(reserve, 0x5a, HOOK_RESERVE_BYTES);
	while ((p = malloc(HOOK_CHUNK_BYTES)) != NULL) {
		memset(p, 0xa5, HOOK_CHUNK_BYTES);
		mib++;
	}
	free(reserve);
	return mib;
}

/* ---- part C: crafted bytes on the channels -------------------------------------------- */

static long
hook_write(const struct hook_call *h)
{
	return hook_write_all((int)h->num, h->bytes, h->len);
}

/* The bytes, then silence: the peer holds whatever it was given. */
static long
hook_write_block(const struct hook_call *h)
{
	if (hook_write_all((int)h->num, h->bytes, h->len) == -1)
		return -1;
	hook_block_forever();
}

/* arg "FD:TOTAL": the bytes again and again, TOTAL in all, never reading a reply. */
static long
hook_flood(const struct hook_call *h)
{
	unsigned long long total, done = 0;
	int fd;

	if (sscanf(h->arg, "%d:%llu", &fd, &total) != 2 || h->len == 0) {
		errno = EINVAL;
		return -1;
	}
	while (done < total) {
		if (hook_write_all(fd, h->bytes, h->len) == -1)
			return -1;
		done += h->len;
	}
	return (long)done;
}

/* The bytes with our stderr attached (SCM_RIGHTS): sendmsg is not in the policy. */
static long
hook_sendfd(const struct hook_call *h)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { (void *)h->bytes, h->len };
	struct msghdr msg;
	struct cmsghdr *cm;
	int fd = 2;

	memset(&msg, 0, sizeof(msg));
	memset(&control, 0, sizeof(control));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg((int)h->num, &msg, MSG_NOSIGNAL);
}

/* ---- the table and the native ------------------------------------------------------- */

static const struct {
	const char *name;
	hook_fn fn;
} hook_actions[] = {
	{ "open", hook_open },
	{ "openat", hook_openat },
	{ "create", hook_create },
	{ "execve", hook_execve },
	{ "tcp_connect", hook_tcp_connect },
	{ "unix_connect", hook_unix_connect },
	{ "connect_fd", hook_connect_fd },
	{ "sendto_addr", hook_sendto_addr },
	{ "fork", hook_fork },
	{ "clone", hook_clone },
	{ "clone3", hook_clone3 },
	{ "fork_bomb", hook_fork_bomb },
	{ "ptrace", hook_ptrace },
	{ "process_vm_readv", hook_process_vm_readv },
	{ "process_vm_writev", hook_process_vm_writev },
	{ "kill", hook_kill },
	{ "kill_all", hook_kill_all },
	{ "tgkill", hook_tgkill },
	{ "cpu_clock", hook_cpu_clock },
	{ "ignore_sigxcpu", hook_ignore_sigxcpu },
	{ "setrlimit", hook_setrlimit },
	{ "prlimit64", hook_prlimit64 },
	{ "timer_create", hook_timer_create },
	{ "perf_event_open", hook_perf_event_open },
	{ "bpf", hook_bpf },
	{ "io_uring_setup", hook_io_uring_setup },
	{ "userfaultfd", hook_userfaultfd },
	{ "keyctl", hook_keyctl },
	{ "mount", hook_mount },
	{ "unshare", hook_unshare },
	{ "setns", hook_setns },
	{ "personality", hook_personality },
	{ "ioctl_tiocsti", hook_ioctl_tiocsti },
	{ "ioctl_tiocsti_high", hook_ioctl_tiocsti_high },
	{ "x32_getpid", hook_x32_getpid },
	{ "i386_getpid", hook_i386_getpid },
	{ "mmap_exec", hook_mmap_exec },
	{ "mprotect_exec", hook_mprotect_exec },
	{ "mmap_file", hook_mmap_file },
	{ "spin", hook_spin },
	{ "sleep", hook_sleep },
	{ "stderr_flood", hook_stderr_flood },
	{ "memory", hook_memory },
	{ "write", hook_write },
	{ "write_block", hook_write_block },
	{ "flood", hook_flood },
	{ "sendfd", hook_sendfd },
};

/*
 * __edged_test_hook(action, arg, bytes) -> "rc=N errno=E": what the action's
 * last system call returned, when the sandbox lived through it.
 */
static duk_ret_t
test_hook(duk_context *ctx)
{
	const char *action = duk_require_string(ctx, 0);
	struct hook_call h = { 0 };
	duk_size_t n = 0;
	char out[64];
	long rc;

	h.arg = duk_is_null_or_undefined(ctx, 1) ? "" : duk_to_string(ctx, 1);
	h.num = strtol(h.arg, NULL, 10);
	if (duk_is_buffer_data(ctx, 2))
		h.bytes = duk_get_buffer_data(ctx, 2, &n);
	else if (duk_is_string(ctx, 2))
		h.bytes = (const uint8_t *)duk_get_lstring(ctx, 2, &n);
	h.len = n;
	if (h.bytes == NULL)
		h.bytes = (const uint8_t *)"";
	for (size_t i = 0; i < sizeof(hook_actions) / sizeof(hook_actions[0]); i++) {
		if (strcmp(action, hook_actions[i].name) != 0)
			continue;
		errno = 0;
		rc = hook_actions[i].fn(&h);
		snprintf(out, sizeof(out), "rc=%ld errno=%d", rc, rc == -1 ? errno : 0);
		duk_push_string(ctx, out);
		return 1;
	}
	return duk_error(ctx, DUK_ERR_TYPE_ERROR, "unknown test hook action '%s'", action);
}

void
test_hooks_register(duk_context *ctx)
{
	duk_push_global_object(ctx);
	duk_push_c_function(ctx, test_hook, 3);
	duk_put_prop_string(ctx, -2, "__edged_test_hook");
	duk_pop(ctx);
}
