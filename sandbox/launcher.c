/*
 * launcher: the zygote that forks locked-down blank sandboxes for the
 * supervisor and reports their deaths.  Runs in its own process.
 */
#include "sandbox/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "sandbox/lockdown.h"
#include "sandbox/sandbox.h"

/* Fixed descriptor numbers inside a sandbox; policies/ names them. */
#define SANDBOX_FD_LOG 2
#define SANDBOX_FD_SUPERVISOR 3
#define SANDBOX_FD_BROKER 4

/* A live child: only these are ever signalled. */
struct launcher_child {
	pid_t pid;
	uint32_t slot;
	uint32_t generation;
};

struct launcher {
	int sup_fd;
	struct launcher_child *children;
	size_t nchildren;
	size_t children_cap;
	int sig_fd;
	const struct launcher_config *cfg;
	unsigned long namespaces;                 /* CLONE_NEW* flags the probe got */
	char namespaces_why[LOCKDOWN_REASON_MAX]; /* why none, for the sandboxes' reports */
	struct sandbox_runtime *rt;
	struct buf in;
	struct buf out;
};

static int
launcher_send(struct launcher *l, uint16_t type, const struct ipc_value *f, size_t n,
    const int *fds, unsigned nfds)
{
	buf_reset(&l->out);
	if (ipc_encode(&l->out, type, 0, f, n) == -1)
		return -1;
	if (nfds > 0)
		return ipc_send_with_fds(l->sup_fd, &l->out, fds, nfds);
	return ipc_write_all(l->sup_fd, &l->out);
}

static int
launcher_child_add(struct launcher *l, pid_t pid, uint64_t slot, uint64_t generation)
{
	if (l->nchildren == l->children_cap) {
		size_t cap = l->children_cap ? l->children_cap * 2 : 64;
		struct launcher_child *p = reallocarray(l->children, cap, sizeof(*p));

		if (p == NULL)
			return -1;
		l->children = p;
		l->children_cap = cap;
	}
	l->children[l->nchildren].pid = pid;
	l->children[l->nchildren].slot = (uint32_t)slot;
	l->children[l->nchildren].generation = (uint32_t)generation;
	l->nchildren++;
	return 0;
}

static void
launcher_child_remove(struct launcher *l, pid_t pid)
{
	for (size_t i = 0; i < l->nchildren; i++) {
		if (l->children[i].pid == pid) {
			l->children[i] = l->children[--l->nchildren];
			return;
		}
	}
}

/* Moves `fd` to `target` (which may be occupied) without closing the source's peer. */
static int
launcher_place_fd(int fd, int target)
{
	if (fd == target) {
		/* dup2 would be a no-op that leaves FD_CLOEXEC set. */
		int flags = fcntl(fd, F_GETFD);
		return flags == -1 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
	}
	return dup2(fd, target) == -1 ? -1 : 0;
}

/* In the forked child: fixed fds, lock-down, then the sandbox's life. */
/* The lock-down recipe's parameters for a sandbox in `slot`. */
static void
launcher_lockdown_config(const struct launcher *l, uint64_t slot, struct lockdown_config *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->address_space_bytes = l->cfg->address_space;
	lc->cpu_seconds = l->cfg->cpu_seconds;
	lc->namespaces = l->namespaces;
	lc->namespaces_why = l->namespaces_why;
	/* config_check keeps base + every slot below 2^31. */
	if (geteuid() == 0 && l->cfg->uid_base != 0) {
		lc->set_uid = true;
		lc->uid = (uid_t)(l->cfg->uid_base + slot);
		lc->gid = (gid_t)(l->cfg->uid_base + slot);
	}
}

static void __attribute__((noreturn))
launcher_become_sandbox(struct launcher *l, uint64_t slot, int sup_end, int broker_end)
{
	static const int keep[] = { SANDBOX_FD_LOG, SANDBOX_FD_SUPERVISOR, SANDBOX_FD_BROKER };
	struct lockdown_config lc;
	const char *failed = "fd placement";
	int hi_sup, hi_broker;

	log_init("sandbox", LOG_LEVEL_INFO);
	prctl(PR_SET_NAME, "edged-sandbox", 0, 0, 0);
	signal(SIGCHLD, SIG_DFL);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	/* Park both ends above 4 first so the dup2s below cannot clobber them. */
	hi_sup = fcntl(sup_end, F_DUPFD_CLOEXEC, 10);
	hi_broker = fcntl(broker_end, F_DUPFD_CLOEXEC, 10);
	if (hi_sup == -1 || hi_broker == -1 ||
	    launcher_place_fd(hi_sup, SANDBOX_FD_SUPERVISOR) == -1 ||
	    launcher_place_fd(hi_broker, SANDBOX_FD_BROKER) == -1)
		goto fail;

	launcher_lockdown_config(l, slot, &lc);
	lc.keep_fds = keep;
	lc.nkeep = sizeof(keep) / sizeof(keep[0]);
	if (lockdown_apply(&lc, &failed) == -1)
		goto fail;
	sandbox_serve(l->rt, SANDBOX_FD_SUPERVISOR, SANDBOX_FD_BROKER);
fail:
	log_warn("sandbox lock-down failed at '%s'", failed);
	_exit(71);
}

static void
launcher_spawn(struct launcher *l, uint64_t slot, uint64_t generation)
{
	int sup_pair[2] = { -1, -1 }, broker_pair[2] = { -1, -1 };
	struct ipc_value f[3];
	int fds[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sup_pair) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, broker_pair) == -1)
		goto fail;
	/* The pid we get is the one the supervisor sees: see sandbox/lockdown.c. */
	if ((pid = lockdown_clone(l->namespaces)) == -1)
		goto fail;
	if (pid == 0) {
		close(l->sup_fd);
		close(l->sig_fd);
		close(sup_pair[0]);
		close(broker_pair[0]);
		launcher_become_sandbox(l, slot, sup_pair[1], broker_pair[1]);
	}
	close(sup_pair[1]);
	close(broker_pair[1]);
	if (launcher_child_add(l, pid, slot, generation) == -1) {
		/* Untracked children could never be killed on request. */
		kill(pid, SIGKILL);
		errno = ENOMEM;
		sup_pair[1] = broker_pair[1] = -1;
		goto fail;
	}
	f[IPC_SPAWNED_SLOT] = ipc_u64(slot);
	f[IPC_SPAWNED_GENERATION] = ipc_u64(generation);
	f[IPC_SPAWNED_PID] = ipc_u64((uint64_t)pid);
	fds[0] = sup_pair[0];
	fds[1] = broker_pair[0];
	if (launcher_send(l, IPC_SPAWNED, f, 3, fds, 2) == -1)
		log_warn("cannot hand sandbox %ld to the supervisor", (long)pid);
	close(sup_pair[0]);
	close(broker_pair[0]);
	return;
fail:
	log_warn("cannot spawn sandbox for slot %llu", (unsigned long long)slot);
	for (int i = 0; i < 2; i++) {
		if (sup_pair[i] != -1)
			close(sup_pair[i]);
		if (broker_pair[i] != -1)
			close(broker_pair[i]);
	}
	f[IPC_SPAWN_FAILED_SLOT] = ipc_u64(slot);
	f[IPC_SPAWN_FAILED_GENERATION] = ipc_u64(generation);
	f[IPC_SPAWN_FAILED_REASON] = ipc_str(strerror(errno));
	launcher_send(l, IPC_SPAWN_FAILED, f, 3, NULL, 0);
}

static void
launcher_reap(struct launcher *l)
{
	struct signalfd_siginfo si;
	struct ipc_value f[2];
	int status;
	pid_t pid;

	while (read(l->sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		launcher_child_remove(l, pid);
		f[IPC_CHILD_EXITED_PID] = ipc_u64((uint64_t)pid);
		f[IPC_CHILD_EXITED_STATUS] = ipc_u64((uint32_t)status);
		if (launcher_send(l, IPC_CHILD_EXITED, f, 2, NULL, 0) == -1)
			exit(0);
	}
}

/*
 * Kills a live child named by pid, slot and generation.  A child stays in the
 * table until it is reaped, and an unreaped pid cannot be reused, so the
 * signal never reaches a stranger or a later sandbox that got the same pid.
 */
static void
launcher_kill(struct launcher *l, pid_t pid, uint64_t slot, uint64_t generation)
{
	for (size_t i = 0; i < l->nchildren; i++) {
		struct launcher_child *c = &l->children[i];

		if (c->pid == pid && c->slot == slot && c->generation == generation) {
			kill(pid, SIGKILL);
			return;
		}
	}
}

/*
 * Probes the lock-down once in a throwaway child and reports it to the
 * supervisor (which decides whether the service may start); later sandboxes
 * get the namespaces the probe got.
 */
static int
launcher_probe(struct launcher *l)
{
	char lines[LOCKDOWN_NLAYERS][LOCKDOWN_LINE_MAX];
	struct ipc_bytes list[LOCKDOWN_NLAYERS];
	struct lockdown_report report;
	struct lockdown_config lc;
	struct ipc_value f[1];
	size_t n;

	launcher_lockdown_config(l, 0, &lc);
	if (lockdown_probe(&lc, &l->namespaces, &report) == -1) {
		log_warn("cannot run the lock-down probe");
		return -1;
	}
	memcpy(l->namespaces_why, report.reason[LOCKDOWN_NAMESPACES], sizeof(l->namespaces_why));
	n = lockdown_report_lines(&report, lines);
	for (size_t i = 0; i < n; i++) {
		list[i].ptr = lines[i];
		list[i].len = strlen(lines[i]);
	}
	f[IPC_LAYERS_LIST] = ipc_strlist(list, n);
	return launcher_send(l, IPC_LAYERS, f, 1, NULL, 0);
}

/* Reads and handles one message from the supervisor; -1 ends the launcher. */
static int
launcher_on_supervisor(struct launcher *l, unsigned *state)
{
	struct ipc_msg msg;
	const char *why;

	if (ipc_read_frame(l->sup_fd, IPC_CAP_CONTROL, &l->in) == -1)
		return -1;
	if (ipc_decode(l->in.data, l->in.len, IPC_PEER_SUPERVISOR, IPC_PEER_LAUNCHER, *state, &msg,
		&why) == -1) {
		log_warnx("bad message from the supervisor: %s", why);
		return -1;
	}
	if (msg.type == IPC_HELLO) {
		if (msg.field[IPC_HELLO_VERSION].u != IPC_VERSION) {
			ipc_msg_release(&msg);
			log_warnx("supervisor speaks another IPC version");
			return -1;
		}
		*state = IPC_ST_READY;
	} else if (msg.type == IPC_SPAWN) {
		launcher_spawn(l, msg.field[IPC_SPAWN_SLOT].u, msg.field[IPC_SPAWN_GENERATION].u);
	} else if (msg.type == IPC_KILL) {
		launcher_kill(l, (pid_t)msg.field[IPC_KILL_PID].u, msg.field[IPC_KILL_SLOT].u,
		    msg.field[IPC_KILL_GENERATION].u);
	}
	ipc_msg_release(&msg);
	return 0;
}

/*
 * Builds the runtime every sandbox inherits (Duktape heap, sdk-js bytecode,
 * OpenSSL and ICU set-up), once, and says what it cost: this is the part of
 * a sandbox's start that assigning a tenant never repeats.
 */
static struct sandbox_runtime *
launcher_build_runtime(const struct sandbox_limits *limits)
{
	struct sandbox_runtime *rt;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rt = sandbox_runtime_new(limits)) == NULL)
		fatalx("cannot build the sandbox runtime");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("sandbox runtime built in %.1f ms",
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return rt;
}

void
launcher_main(int sup_fd, const struct launcher_config *cfg)
{
	struct sandbox_limits limits = { .memory_bytes = cfg->memory_bytes };
	struct launcher l = { .sup_fd = sup_fd, .cfg = cfg };
	struct ipc_value hello[3];
	unsigned state = IPC_ST_HELLO;
	sigset_t mask;

	log_init("launcher", LOG_LEVEL_INFO);
	buf_init(&l.in);
	buf_init(&l.out);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((l.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	l.rt = launcher_build_runtime(&limits);

	hello[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	hello[IPC_HELLO_ROLE] = ipc_u64(IPC_PEER_LAUNCHER);
	hello[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	if (launcher_send(&l, IPC_HELLO, hello, 3, NULL, 0) == -1)
		exit(0);
	/* SIGCHLD is blocked and read from sig_fd: the probe reaps its own child. */
	if (launcher_probe(&l) == -1)
		exit(1);

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = l.sup_fd, .events = POLLIN },
			{ .fd = l.sig_fd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents & POLLIN)
			launcher_reap(&l);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (launcher_on_supervisor(&l, &state) == -1)
				break;
	}
	/* Children die with us: their PDEATHSIG is SIGKILL. */
	exit(0);
}
