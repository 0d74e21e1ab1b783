/*
 * lockdown: the ordered privilege drop a freshly forked sandbox applies to
 * itself, one function per layer; the seccomp filter is built from the tables
 * generated out of the policies/ files.  Runs in sandbox children.
 */
#define _GNU_SOURCE
#include "sandbox/lockdown.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <seccomp.h>

#include "common/log.h"
#include "policies/policy.h"

#define LOCKDOWN_MAX_KEEP 16
#define LOCKDOWN_FD_BATCH 256
#define LOCKDOWN_BRUTE_FD_MAX (1 << 20) /* the kernel's default fs.nr_open */

extern char **environ;

struct lockdown_state {
	const struct lockdown_config *c;
	int keep[LOCKDOWN_MAX_KEEP]; /* sorted, no duplicates */
	unsigned nkeep;
	pid_t ppid;         /* the parent when lock-down began */
	const char *failed; /* a layer's more precise name for its failure */
};

struct lockdown_layer {
	const char *name;
	int (*apply)(struct lockdown_state *s);
};

static bool
lockdown_is_kept(const struct lockdown_state *s, int fd)
{
	for (unsigned i = 0; i < s->nkeep; i++)
		if (s->keep[i] == fd)
			return true;
	return false;
}

/* Copies keep_fds into s->keep, sorted and without duplicates. */
static int
lockdown_sort_keep(struct lockdown_state *s)
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
lockdown_close_fds_brute(const struct lockdown_state *s)
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
lockdown_close_fds_proc(const struct lockdown_state *s)
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
lockdown_close_fds(struct lockdown_state *s)
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
lockdown_clear_env(struct lockdown_state *s)
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
lockdown_rlimits(struct lockdown_state *s)
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
lockdown_dumpable(struct lockdown_state *s)
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
lockdown_pdeathsig(struct lockdown_state *s)
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

static int
lockdown_no_new_privs(struct lockdown_state *s)
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
	case POLICY_ALLOW: return SCMP_ACT_ALLOW;
	case POLICY_ERRNO: return SCMP_ACT_ERRNO((uint32_t)errnum);
	case POLICY_KILL: break;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static enum scmp_compare
lockdown_seccomp_op(enum policy_op op)
{
	switch (op) {
	case POLICY_OP_EQ: return SCMP_CMP_EQ;
	case POLICY_OP_NE: return SCMP_CMP_NE;
	case POLICY_OP_LT: return SCMP_CMP_LT;
	case POLICY_OP_LE: return SCMP_CMP_LE;
	case POLICY_OP_GT: return SCMP_CMP_GT;
	case POLICY_OP_GE: return SCMP_CMP_GE;
	case POLICY_OP_MASKED_EQ: return SCMP_CMP_MASKED_EQ;
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

static int
lockdown_seccomp(struct lockdown_state *s)
{
	const struct policy *p = &policy_sandbox;
	scmp_filter_ctx ctx;
	int persona, rc = -1, saved;

	(void)s;
#ifdef EDGED_SANITIZER_BUILD
	p = &policy_sandbox_relaxed;
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

	if ((ctx = seccomp_init(lockdown_seccomp_action(p->default_action, p->default_errnum))) ==
	    NULL) {
		errno = ENOMEM;
		return -1;
	}
	/*
	 * Native arch only: i386 (int $0x80) and x32 entries fail the arch check
	 * and die; libseccomp also sends x32 numbers (>= 0x40000000) on the
	 * x86_64 arch to this action.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		goto cleanup;
	for (size_t i = 0; i < p->nrules; i++)
		if (lockdown_seccomp_rule(ctx, p, &p->rules[i]) == -1) {
			rc = -errno;
			goto cleanup;
		}
	rc = seccomp_load(ctx);
cleanup:
	saved = rc < 0 ? -rc : 0;
	seccomp_release(ctx);
	if (rc < 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

/* The recipe, top to bottom (ARCHITECTURE.md section 6). */
static const struct lockdown_layer lockdown_layers[] = {
	{ "close fds", lockdown_close_fds },
	{ "environment", lockdown_clear_env },
	{ "rlimits", lockdown_rlimits },
	{ "dumpable", lockdown_dumpable },
	{ "pdeathsig", lockdown_pdeathsig },
	{ "no_new_privs", lockdown_no_new_privs },
	{ "seccomp", lockdown_seccomp },
};

int
lockdown_apply(const struct lockdown_config *c, const char **failed)
{
	struct lockdown_state s;
	const char *dummy;

	if (failed == NULL)
		failed = &dummy;
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.ppid = getppid();
	for (size_t i = 0; i < sizeof(lockdown_layers) / sizeof(lockdown_layers[0]); i++) {
		if (lockdown_layers[i].apply(&s) == -1) {
			*failed = s.failed != NULL ? s.failed : lockdown_layers[i].name;
			return -1;
		}
	}
	*failed = NULL;
	return 0;
}
