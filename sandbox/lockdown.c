/*
 * lockdown: the ordered privilege drop a freshly created sandbox applies to
 * itself, one function per layer; the seccomp filter is built from the tables
 * generated out of the policies/ files.  Runs in sandbox children (and the
 * probe and clone helpers in the launcher).
 *
 * Namespaces: the launcher creates each sandbox with clone() and the
 * CLONE_NEW* flags rather than letting the child unshare() them.  A new pid
 * namespace only takes effect for the children of the process that asks for
 * it, so a child that unshares would need a second fork to be inside it, and
 * the launcher would then hold the pid of an intermediate process instead of
 * the sandbox's.  With clone() the pid the launcher gets back is the
 * sandbox's own pid as seen from the launcher's (and the supervisor's)
 * namespace: the one the supervisor reads the CPU clock of and asks the
 * launcher to kill.  Inside, the sandbox is pid 1 of an empty pid namespace
 * (getppid() is 0 there, so the pdeathsig check compares against 0, and
 * signals the sandbox did not install a handler for cannot reach it from
 * inside).  As root, no user namespace is made: the per-slot uid in the
 * initial namespace is the sandbox's identity, and a user namespace would only
 * hand it a full capability set over its other namespaces.  Not root, a user
 * namespace is what allows the others; its capabilities are dropped here.
 * What lock-down does in the child is the rest: private mount propagation,
 * no capabilities.
 *
 * Landlock's restrict_self needs no_new_privs (we have no CAP_SYS_ADMIN by
 * then), so the Landlock layer sets it first; the no_new_privs layer after it
 * checks that it holds.
 */
#define _GNU_SOURCE
#include "sandbox/lockdown.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "common/log.h"
#include "policies/policy.h"
#include "sandbox/landlock.h"

#define LOCKDOWN_MAX_KEEP 16
#define LOCKDOWN_FD_BATCH 256
#define LOCKDOWN_BRUTE_FD_MAX (1 << 20) /* the kernel's default fs.nr_open */

extern char **environ;

#define LOCKDOWN_PROBE_FD 3 /* the probe child's report pipe */

#ifdef EDGED_TEST_HOOKS
bool lockdown_test_skip_seccomp;
#endif

struct lockdown_ctx {
	const struct lockdown_config *c;
	int keep[LOCKDOWN_MAX_KEEP]; /* sorted, no duplicates */
	unsigned nkeep;
	pid_t ppid;                    /* the parent when lock-down began */
	const char *failed;            /* a layer's more precise name for its failure */
	char why[LOCKDOWN_REASON_MAX]; /* engaged: detail; unavailable: the reason */
};

/*
 * A layer: 0 engaged, 1 unavailable on this host (s->why says why), -1
 * failed (errno set).
 */
struct lockdown_layer {
	const char *name;
	int (*apply)(struct lockdown_ctx *s);
};

#define LOCKDOWN_UNAVAILABLE_RC 1

static int lockdown_why(struct lockdown_ctx *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the report's reason for this layer and returns rc. */
static int
lockdown_why(struct lockdown_ctx *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return rc;
}

static bool
lockdown_is_kept(const struct lockdown_ctx *s, int fd)
{
	for (unsigned i = 0; i < s->nkeep; i++)
		if (s->keep[i] == fd)
			return true;
	return false;
}

/* Copies keep_fds into s->keep, sorted and without duplicates. */
static int
lockdown_sort_keep(struct lockdown_ctx *s)
{
	const struct lockdown_config *c = s->c;

	s->nkeep = 0;
	if (c->nkeep > LOCKDOWN_MAX_KEEP || (c->nkeep > 0 && c->keep_fds == NULL)) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < c->nkeep; i++) {
		int fd = c->keep_fds[i];
		unsigned at;

		if (fd < 0) {
			errno = EBADF;
			return -1;
		}
		if (lockdown_is_kept(s, fd))
			continue;
		for (at = s->nkeep; at > 0 && s->keep[at - 1] > fd; at--)
			s->keep[at] = s->keep[at - 1];
		s->keep[at] = fd;
		s->nkeep++;
	}
	return 0;
}

/* Last resort without /proc: every possible fd number up to the hard limit. */
static int
lockdown_close_fds_brute(const struct lockdown_ctx *s)
{
	struct rlimit rl;
	rlim_t max;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	max = rl.rlim_max;
	if (max == RLIM_INFINITY || max > LOCKDOWN_BRUTE_FD_MAX)
		max = LOCKDOWN_BRUTE_FD_MAX;
	for (rlim_t fd = 0; fd < max; fd++)
		if (!lockdown_is_kept(s, (int)fd))
			close((int)fd);
	return 0;
}

/*
 * Without close_range: list /proc/self/fd first, then close what was listed,
 * and list again until a pass finds nothing, so that closing never races the
 * directory walk.
 */
static int
lockdown_close_fds_proc(const struct lockdown_ctx *s)
{
	int found[LOCKDOWN_FD_BATCH];
	struct dirent *de;
	unsigned n;
	DIR *dir;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return lockdown_close_fds_brute(s);
	do {
		n = 0;
		rewinddir(dir);
		while (n < LOCKDOWN_FD_BATCH && (de = readdir(dir)) != NULL) {
			char *end;
			long fd;

			errno = 0;
			fd = strtol(de->d_name, &end, 10);
			if (de->d_name[0] == '.' || *end != '\0' || errno != 0 || fd < 0 ||
			    fd > INT32_MAX)
				continue;
			if (fd != dirfd(dir) && !lockdown_is_kept(s, (int)fd))
				found[n++] = (int)fd;
		}
		for (unsigned i = 0; i < n; i++)
			close(found[i]);
	} while (n > 0);
	closedir(dir);
	return 0;
}

static int
lockdown_close_fds_all(struct lockdown_ctx *s)
{
	unsigned first = 0;

	if (lockdown_sort_keep(s) == -1)
		return -1;
	for (unsigned i = 0; i < s->nkeep; i++) {
		unsigned fd = (unsigned)s->keep[i];

		if (fd > first && close_range(first, fd - 1, 0) == -1)
			goto fallback;
		first = fd + 1;
	}
	if (close_range(first, ~0U, 0) == -1)
		goto fallback;
	return 0;
fallback:
	/* Kernels before 5.9, or a container runtime's filter saying EPERM. */
	if (errno != ENOSYS && errno != EPERM)
		return -1;
	return lockdown_close_fds_proc(s);
}

static int
lockdown_close_fds(struct lockdown_ctx *s)
{
	if (lockdown_close_fds_all(s) == -1) {
		s->failed = "close fds";
		return -1;
	}
	return 0;
}

static int
lockdown_clear_env(struct lockdown_ctx *s)
{
	(void)s;
	if (clearenv() != 0)
		return -1;
	if (environ != NULL && environ[0] != NULL) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Soft == hard == value, but never above the current hard limit (we cannot raise it). */
static int
lockdown_rlimit(int resource, rlim_t value)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == -1)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && value > rl.rlim_max)
		value = rl.rlim_max;
	rl.rlim_cur = value;
	rl.rlim_max = value;
	return setrlimit(resource, &rl);
}

static int
lockdown_rlimits(struct lockdown_ctx *s)
{
	const struct {
		const char *name;
		int resource;
		rlim_t value;
		bool apply;
	} limits[] = {
		/* No new fd can get a number above the kept ones. */
		{ "rlimit NOFILE", RLIMIT_NOFILE,
		    s->nkeep > 0 ? (rlim_t)s->keep[s->nkeep - 1] + 1 : 1, true },
		{ "rlimit NPROC", RLIMIT_NPROC, 0, true },
		{ "rlimit FSIZE", RLIMIT_FSIZE, 0, true },
		{ "rlimit CORE", RLIMIT_CORE, 0, true },
		{ "rlimit MEMLOCK", RLIMIT_MEMLOCK, 0, true },
#ifdef EDGED_SANITIZER_BUILD
		/* ASan reserves terabytes of shadow address space. */
		{ "rlimit AS", RLIMIT_AS, 0, false },
#else
		{ "rlimit AS", RLIMIT_AS, (rlim_t)s->c->address_space_bytes,
		    s->c->address_space_bytes != 0 },
#endif
		{ "rlimit CPU", RLIMIT_CPU, (rlim_t)s->c->cpu_seconds, s->c->cpu_seconds != 0 },
	};

#ifdef EDGED_SANITIZER_BUILD
	if (s->c->address_space_bytes != 0)
		log_warnx("rlimit AS not applied: sanitizer build");
#endif
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (!limits[i].apply)
			continue;
		if (lockdown_rlimit(limits[i].resource, limits[i].value) == -1) {
			s->failed = limits[i].name;
			return -1;
		}
	}
	/*
	 * FSIZE 0 would kill the sandbox by SIGXFSZ on its first diagnostic if
	 * the log (fd 2) is a regular file; ignored, that write fails with
	 * EFBIG instead.
	 */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
		s->failed = "rlimit FSIZE";
		return -1;
	}
	return 0;
}

static int
lockdown_dumpable(struct lockdown_ctx *s)
{
	(void)s;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return -1;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int
lockdown_pdeathsig(struct lockdown_ctx *s)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		return -1;
	/* The parent may have died before the signal was armed. */
	if (getppid() != s->ppid) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

static const struct {
	unsigned long flag;
	const char *name;
} lockdown_ns_names[] = {
	{ CLONE_NEWUSER, "user" },
	{ CLONE_NEWPID, "pid" },
	{ CLONE_NEWNET, "net" },
	{ CLONE_NEWIPC, "ipc" },
	{ CLONE_NEWNS, "mount" },
};

/* "pid,net,ipc,mount" into out. */
static void
lockdown_ns_list(unsigned long flags, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(lockdown_ns_names) / sizeof(lockdown_ns_names[0]); i++) {
		int n;

		if ((flags & lockdown_ns_names[i].flag) == 0)
			continue;
		n = snprintf(
		    out + at, len - at, "%s%s", at > 0 ? "," : "", lockdown_ns_names[i].name);
		if (n < 0 || (size_t)n >= len - at)
			return;
		at += (size_t)n;
	}
}

/* Empties every capability set: in a new user namespace we hold them all. */
static int
lockdown_drop_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL)
		return -1;
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * The namespaces were made by lockdown_clone(); what is left is to check we
 * are in them and to finish them: no mount event propagates to or from the
 * host, and no capability survives in a user namespace.
 */
static int
lockdown_namespaces(struct lockdown_ctx *s)
{
	unsigned long ns = s->c->namespaces;
	char list[64];

	if (ns == 0)
		return lockdown_why(s, LOCKDOWN_UNAVAILABLE_RC, "%s",
		    s->c->namespaces_why != NULL ? s->c->namespaces_why : "not requested");
	if ((ns & CLONE_NEWPID) != 0 && getpid() != 1) {
		s->failed = "namespaces pid";
		errno = EPERM;
		return -1;
	}
	if ((ns & CLONE_NEWNS) != 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		s->failed = "namespaces mount";
		return -1;
	}
	if ((ns & CLONE_NEWUSER) != 0 && lockdown_drop_caps() == -1) {
		s->failed = "namespaces capabilities";
		return -1;
	}
	lockdown_ns_list(ns, list, sizeof(list));
	return lockdown_why(s, 0, "%s", list);
}

static int
lockdown_uid(struct lockdown_ctx *s)
{
	const struct lockdown_config *c = s->c;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (!c->set_uid)
		return lockdown_why(s, LOCKDOWN_UNAVAILABLE_RC, "not started as root");
	if (c->uid == 0 || c->gid == 0) {
		errno = EINVAL;
		return -1;
	}
	if (setgroups(0, NULL) == -1 || setresgid(c->gid, c->gid, c->gid) == -1 ||
	    setresuid(c->uid, c->uid, c->uid) == -1)
		return -1;
	/* Trust, but verify: a partial change must not go unnoticed. */
	if (getresuid(&ruid, &euid, &suid) == -1 || getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != c->uid || euid != c->uid || suid != c->uid || rgid != c->gid ||
	    egid != c->gid || sgid != c->gid || setresuid(0, 0, 0) != -1) {
		errno = EPERM;
		return -1;
	}
	return lockdown_why(s, 0, "uid %lu gid %lu", (unsigned long)c->uid, (unsigned long)c->gid);
}

/* Every right the kernel's ABI version knows, handled with no rule: deny all. */
static void
lockdown_landlock_attr(long abi, struct landlock_attr *a, size_t *size)
{
	memset(a, 0, sizeof(*a));
	a->handled_access_fs = LANDLOCK_FS_ABI1;
	*size = LANDLOCK_ATTR_SIZE_FS;
	if (abi >= 2)
		a->handled_access_fs |= LANDLOCK_FS_REFER;
	if (abi >= 3)
		a->handled_access_fs |= LANDLOCK_FS_TRUNCATE;
	if (abi >= 4) {
		a->handled_access_net = LANDLOCK_NET_BIND_TCP | LANDLOCK_NET_CONNECT_TCP;
		*size = LANDLOCK_ATTR_SIZE_NET;
	}
	if (abi >= 5)
		a->handled_access_fs |= LANDLOCK_FS_IOCTL_DEV;
	if (abi >= 6) {
		a->scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		*size = LANDLOCK_ATTR_SIZE_SCOPED;
	}
}

static int
lockdown_landlock(struct lockdown_ctx *s)
{
	struct landlock_attr attr;
	size_t size;
	long abi;
	int fd, rc, saved;

	abi = syscall(LANDLOCK_SYS_CREATE_RULESET, NULL, 0, LANDLOCK_FLAG_VERSION);
	if (abi < 0) {
		if (errno == ENOSYS)
			return lockdown_why(
			    s, LOCKDOWN_UNAVAILABLE_RC, "kernel built without landlock");
		if (errno == EOPNOTSUPP)
			return lockdown_why(
			    s, LOCKDOWN_UNAVAILABLE_RC, "landlock not enabled at boot (lsm=)");
		return -1;
	}
	lockdown_landlock_attr(abi, &attr, &size);
	if ((fd = (int)syscall(LANDLOCK_SYS_CREATE_RULESET, &attr, size, 0)) == -1)
		return -1;
	/* restrict_self needs no_new_privs when we lack CAP_SYS_ADMIN. */
	rc = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (rc == 0)
		rc = (int)syscall(LANDLOCK_SYS_RESTRICT_SELF, fd, 0);
	saved = errno;
	close(fd);
	if (rc == -1) {
		errno = saved;
		return -1;
	}
	return lockdown_why(s, 0, "abi %ld: filesystem%s%s", abi, abi >= 4 ? ", tcp" : "",
	    abi >= 6 ? ", abstract unix, signals" : " (no tcp/scope rights in this abi)");
}

static int
lockdown_no_new_privs(struct lockdown_ctx *s)
{
	(void)s;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static uint32_t
lockdown_seccomp_action(enum policy_action action, int errnum)
{
	switch (action) {
	case POLICY_ALLOW:
		return SCMP_ACT_ALLOW;
	case POLICY_ERRNO:
		return SCMP_ACT_ERRNO((uint32_t)errnum);
	case POLICY_KILL:
		break;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static enum scmp_compare
lockdown_seccomp_op(enum policy_op op)
{
	switch (op) {
	case POLICY_OP_EQ:
		return SCMP_CMP_EQ;
	case POLICY_OP_NE:
		return SCMP_CMP_NE;
	case POLICY_OP_LT:
		return SCMP_CMP_LT;
	case POLICY_OP_LE:
		return SCMP_CMP_LE;
	case POLICY_OP_GT:
		return SCMP_CMP_GT;
	case POLICY_OP_GE:
		return SCMP_CMP_GE;
	case POLICY_OP_MASKED_EQ:
		return SCMP_CMP_MASKED_EQ;
	}
	return _SCMP_CMP_MIN; /* rejected by libseccomp */
}

static int
lockdown_seccomp_rule(scmp_filter_ctx ctx, const struct policy *p, const struct policy_rule *r)
{
	struct scmp_arg_cmp cmp[POLICY_MAX_CONDS];
	int rc;

	if (r->nr < 0 || r->ncond > POLICY_MAX_CONDS) {
		log_warnx("%s:%u: '%s' is not an x86_64 system call", p->name, r->line, r->syscall);
		errno = EINVAL;
		return -1;
	}
	memset(cmp, 0, sizeof(cmp));
	for (unsigned i = 0; i < r->ncond; i++) {
		const struct policy_cond *pc = &r->cond[i];

		cmp[i].arg = pc->arg;
		cmp[i].op = lockdown_seccomp_op(pc->op);
		if (pc->op == POLICY_OP_MASKED_EQ) {
			cmp[i].datum_a = pc->mask;
			cmp[i].datum_b = pc->value;
		} else
			cmp[i].datum_a = pc->value;
	}
	/* _exact: a rule libseccomp would have to rewrite is an error, not a surprise. */
	rc = seccomp_rule_add_exact_array(
	    ctx, lockdown_seccomp_action(r->action, r->errnum), r->nr, r->ncond, cmp);
	if (rc < 0) {
		errno = -rc;
		log_warn("%s:%u: cannot add the rule for '%s'", p->name, r->line, r->syscall);
		return -1;
	}
	return 0;
}

scmp_filter_ctx
lockdown_build_filter(const struct policy *p)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(lockdown_seccomp_action(p->default_action, p->default_errnum))) ==
	    NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * Native arch only: i386 (int $0x80) and x32 entries fail the arch check
	 * and die; libseccomp also sends x32 numbers (>= 0x40000000) on the
	 * x86_64 arch to this action.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) {
		seccomp_release(ctx);
		errno = -rc;
		return NULL;
	}
	for (size_t i = 0; i < p->nrules; i++)
		if (lockdown_seccomp_rule(ctx, p, &p->rules[i]) == -1) {
			rc = errno;
			seccomp_release(ctx);
			errno = rc;
			return NULL;
		}
	return ctx;
}

static int
lockdown_seccomp(struct lockdown_ctx *s)
{
	const struct policy *p = &policy_sandbox;
	scmp_filter_ctx ctx;
	int persona, rc;

#ifdef EDGED_TEST_HOOKS
	if (lockdown_test_skip_seccomp)
		return lockdown_why(s, LOCKDOWN_UNAVAILABLE_RC, "skipped by the test hook");
#endif
#ifdef EDGED_SANITIZER_BUILD
	p = &policy_sandbox_relaxed;
	lockdown_why(s, 0, "relaxed deny-list: sanitizer build");
	log_warnx("SECCOMP RELAXED: sanitizer build, installing the deny-list '%s' instead of "
		  "the allowlist 'sandbox.policy'; never run this build in production",
	    p->name);
#endif
	/* The policies name x86_64 numbers and check x86_64 argument layouts. */
	if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
		errno = ENOSYS;
		return -1;
	}
	/* READ_IMPLIES_EXEC would make every PROT_READ mapping executable. */
	if ((persona = personality(0xffffffff)) == -1)
		return -1;
	if ((persona & READ_IMPLIES_EXEC) != 0 &&
	    personality((unsigned long)persona & ~(unsigned long)READ_IMPLIES_EXEC) == -1)
		return -1;

	if ((ctx = lockdown_build_filter(p)) == NULL)
		return -1;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* The recipe, top to bottom (ARCHITECTURE.md section 6); indexed by enum lockdown_layer_id. */
static const struct lockdown_layer lockdown_layers[LOCKDOWN_NLAYERS] = {
	[LOCKDOWN_CLOSED_FDS] = { "closed_fds", lockdown_close_fds },
	[LOCKDOWN_ENVIRONMENT] = { "environment", lockdown_clear_env },
	[LOCKDOWN_NAMESPACES] = { "namespaces", lockdown_namespaces },
	[LOCKDOWN_UID] = { "uid", lockdown_uid },
	[LOCKDOWN_RLIMITS] = { "rlimits", lockdown_rlimits },
	[LOCKDOWN_DUMPABLE] = { "dumpable", lockdown_dumpable },
	[LOCKDOWN_PDEATHSIG] = { "pdeathsig", lockdown_pdeathsig },
	[LOCKDOWN_LANDLOCK] = { "landlock", lockdown_landlock },
	[LOCKDOWN_NO_NEW_PRIVS] = { "no_new_privs", lockdown_no_new_privs },
	[LOCKDOWN_SECCOMP] = { "seccomp", lockdown_seccomp },
};

const char *
lockdown_layer_name(enum lockdown_layer_id id)
{
	return (unsigned)id < LOCKDOWN_NLAYERS ? lockdown_layers[id].name : NULL;
}

const char *
lockdown_state_name(enum lockdown_state st)
{
	switch (st) {
	case LOCKDOWN_ENGAGED:
		return "engaged";
	case LOCKDOWN_UNAVAILABLE:
		return "unavailable";
	case LOCKDOWN_FAILED:
		return "failed";
	case LOCKDOWN_NOT_RUN:
		break;
	}
	return "not_run";
}

int
lockdown_apply_report(
    const struct lockdown_config *c, const char **failed, struct lockdown_report *report)
{
	struct lockdown_report dummy_report;
	struct lockdown_ctx s;
	const char *dummy;

	if (failed == NULL)
		failed = &dummy;
	if (report == NULL)
		report = &dummy_report;
	memset(report, 0, sizeof(*report));
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.ppid = getppid();
	for (size_t i = 0; i < LOCKDOWN_NLAYERS; i++) {
		int rc, saved;

		s.why[0] = '\0';
		rc = lockdown_layers[i].apply(&s);
		if (rc == -1) {
			saved = errno;
			*failed = s.failed != NULL ? s.failed : lockdown_layers[i].name;
			report->state[i] = LOCKDOWN_FAILED;
			snprintf(report->reason[i], sizeof(report->reason[i]), "%s: %s", *failed,
			    strerror(saved));
			errno = saved;
			return -1;
		}
		report->state[i] = rc == 0 ? LOCKDOWN_ENGAGED : LOCKDOWN_UNAVAILABLE;
		memcpy(report->reason[i], s.why, sizeof(report->reason[i]));
	}
	*failed = NULL;
	return 0;
}

int
lockdown_apply(const struct lockdown_config *c, const char **failed)
{
	return lockdown_apply_report(c, failed, NULL);
}

unsigned long
lockdown_namespaces_wanted(void)
{
	unsigned long ns = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS;

	return geteuid() == 0 ? ns : ns | CLONE_NEWUSER;
}

pid_t
lockdown_clone(unsigned long namespaces)
{
	/*
	 * The raw system call with no new stack behaves like fork(): the child
	 * resumes here on a copy of ours.  glibc's clone() wrapper would want a
	 * separate stack and a function; its fork() has no flags.
	 */
	return (pid_t)syscall(SYS_clone, namespaces | SIGCHLD, NULL, NULL, NULL, 0);
}

/* In the probe child: lock down with the report pipe on fd 3, write the report, exit. */
static void __attribute__((noreturn)) lockdown_probe_child(
    const struct lockdown_config *base, int pipe_fd, unsigned long ns, const char *ns_why)
{
	static const int keep[] = { 2, LOCKDOWN_PROBE_FD };
	struct lockdown_config c = *base;
	struct lockdown_report r;
	const char *failed;

	if (pipe_fd != LOCKDOWN_PROBE_FD) {
		if (dup2(pipe_fd, LOCKDOWN_PROBE_FD) == -1)
			_exit(70);
		close(pipe_fd);
	}
	c.keep_fds = keep;
	c.nkeep = sizeof(keep) / sizeof(keep[0]);
	c.namespaces = ns;
	c.namespaces_why = ns_why;
	(void)lockdown_apply_report(&c, &failed, &r);
	/* Smaller than PIPE_BUF: one atomic write, allowed on fd 3 by the policy. */
	if (write(LOCKDOWN_PROBE_FD, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(70);
	_exit(0);
}

/* Reads the child's report; a short one marks every layer failed with `why`. */
static void
lockdown_probe_collect(int fd, pid_t pid, struct lockdown_report *r)
{
	size_t got = 0;
	ssize_t n;
	int status = 0;
	char why[LOCKDOWN_REASON_MAX];

	while (got < sizeof(*r) && (n = read(fd, (char *)r + got, sizeof(*r) - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (got == sizeof(*r))
		return;
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "probe child killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "probe child exited %d without a report",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	for (size_t i = 0; i < LOCKDOWN_NLAYERS; i++) {
		r->state[i] = LOCKDOWN_FAILED;
		memcpy(r->reason[i], why, sizeof(r->reason[i]));
	}
}

int
lockdown_probe(
    const struct lockdown_config *c, unsigned long *namespaces, struct lockdown_report *report)
{
	static char ns_why[LOCKDOWN_REASON_MAX];
	unsigned long ns = lockdown_namespaces_wanted();
	const char *why = NULL;
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) == -1)
		return -1;
	if ((pid = lockdown_clone(ns)) == -1) {
		char list[64];

		lockdown_ns_list(ns, list, sizeof(list));
		snprintf(ns_why, sizeof(ns_why), "clone(%s): %s", list, strerror(errno));
		why = ns_why;
		ns = 0;
		pid = lockdown_clone(0);
	}
	if (pid == -1) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		lockdown_probe_child(c, pipefd[1], ns, why);
	}
	close(pipefd[1]);
	memset(report, 0, sizeof(*report));
	lockdown_probe_collect(pipefd[0], pid, report);
	close(pipefd[0]);
	*namespaces = ns;
	return 0;
}

size_t
lockdown_report_lines(
    const struct lockdown_report *r, char out[LOCKDOWN_NLAYERS][LOCKDOWN_LINE_MAX])
{
	for (size_t i = 0; i < LOCKDOWN_NLAYERS; i++)
		snprintf(out[i], LOCKDOWN_LINE_MAX, "%s=%s:%.*s", lockdown_layers[i].name,
		    lockdown_state_name(r->state[i]), LOCKDOWN_REASON_MAX - 1, r->reason[i]);
	return LOCKDOWN_NLAYERS;
}
