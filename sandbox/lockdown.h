/*
 * lockdown: the ordered privilege drop a freshly forked sandbox applies to
 * itself before any tenant byte reaches it (ARCHITECTURE.md section 6), the
 * clone() that creates it in new namespaces, and the start-up probe that
 * reports which layers this host gives us.  The seccomp allowlist is data in
 * policies/.  Runs in the launcher and in sandbox children.
 */
#ifndef EDGED_LOCKDOWN_H
#define EDGED_LOCKDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <seccomp.h>

struct policy;

struct lockdown_config {
	const int *keep_fds; /* IPC sockets (and 2, the log) stay open */
	unsigned nkeep;
	uint64_t address_space_bytes; /* RLIMIT_AS */
	unsigned cpu_seconds;         /* RLIMIT_CPU backstop */
	/*
	 * The CLONE_NEW* flags the child was created with (lockdown_clone);
	 * 0 when it was forked without namespaces, and then `namespaces_why`
	 * (static, or NULL) says why for the report.
	 */
	unsigned long namespaces;
	const char *namespaces_why;
	/* Per-slot identity: only when the launcher runs as root. */
	bool set_uid;
	uid_t uid;
	gid_t gid;
};

/* The layers, in the order they are applied; names are stable (config, API). */
enum lockdown_layer_id {
	LOCKDOWN_CLOSED_FDS,
	LOCKDOWN_ENVIRONMENT,
	LOCKDOWN_NAMESPACES,
	LOCKDOWN_UID,
	LOCKDOWN_RLIMITS,
	LOCKDOWN_DUMPABLE,
	LOCKDOWN_PDEATHSIG,
	LOCKDOWN_LANDLOCK,
	LOCKDOWN_NO_NEW_PRIVS,
	LOCKDOWN_SECCOMP,
	LOCKDOWN_NLAYERS
};

enum lockdown_state {
	LOCKDOWN_NOT_RUN = 0, /* an earlier layer failed */
	LOCKDOWN_ENGAGED,
	LOCKDOWN_UNAVAILABLE, /* the host (or the way we were started) lacks it */
	LOCKDOWN_FAILED,      /* attempted and failed: the sandbox does not run */
};

#define LOCKDOWN_REASON_MAX 96
/* One "name=state:reason" line of a report, NUL included. */
#define LOCKDOWN_LINE_MAX (32 + LOCKDOWN_REASON_MAX)

struct lockdown_report {
	enum lockdown_state state[LOCKDOWN_NLAYERS];
	char reason[LOCKDOWN_NLAYERS][LOCKDOWN_REASON_MAX];
};

/* "closed_fds", "namespaces" ...; NULL past the end. */
const char *lockdown_layer_name(enum lockdown_layer_id id);
/* "engaged", "unavailable", "failed", "not_run". */
const char *lockdown_state_name(enum lockdown_state st);

/*
 * In the calling process (single-threaded, just created by lockdown_clone()
 * or fork()), in order: close every fd not in keep_fds, empty the
 * environment, finish the namespaces it was created in (private mount
 * propagation; no capabilities left in a new user namespace), the per-slot
 * uid/gid, rlimits with soft == hard (NOFILE, NPROC 0, FSIZE 0, CORE 0,
 * MEMLOCK 0, AS, CPU), PR_SET_DUMPABLE 0, PR_SET_PDEATHSIG SIGKILL, Landlock
 * deny-all where the kernel has it, no_new_privs, then the seccomp allowlist
 * with default KILL_PROCESS and the arch checked first.  A layer the host
 * lacks is skipped and reported unavailable; any other failure stops the
 * recipe.  Returns 0, or -1 with *failed naming the layer ("seccomp",
 * "rlimit NPROC" ...); the caller must then exit without running tenant
 * code.  `report` (may be NULL) receives every layer's state.  A sanitizer
 * build installs a relaxed filter and says so on stderr.
 */
int lockdown_apply(const struct lockdown_config *c, const char **failed);
int lockdown_apply_report(
    const struct lockdown_config *c, const char **failed, struct lockdown_report *report);

/*
 * The namespaces the launcher asks clone() for: pid, net, ipc and mount; a
 * launcher that is not root adds a user namespace (which is what lets it
 * create the others).
 */
unsigned long lockdown_namespaces_wanted(void);

/*
 * fork() with `namespaces` (CLONE_NEW* flags, 0 for a plain fork): returns
 * the child's pid as the caller's pid namespace sees it (the pid the
 * supervisor signals and reads the CPU clock of), 0 in the child, -1 on
 * failure with errno set.  Only for a single-threaded caller.
 */
pid_t lockdown_clone(unsigned long namespaces);

/*
 * The start-up probe, run once by the launcher: clones a throwaway child with
 * lockdown_namespaces_wanted() (falling back to a plain fork when the host
 * refuses), applies the whole lock-down `c` in it (keep_fds and namespaces
 * are the probe's own) and reads back its report.  *namespaces receives the
 * flags later sandboxes should be created with (0 when refused).  Returns 0
 * with `report` filled (a child that died before reporting leaves every
 * layer failed, with the reason); -1 when the probe could not run at all.
 */
int lockdown_probe(
    const struct lockdown_config *c, unsigned long *namespaces, struct lockdown_report *report);

/*
 * The report as lines "name=state:reason" (reason may be empty): line i of
 * layer i into out[i].  Returns LOCKDOWN_NLAYERS.
 */
size_t lockdown_report_lines(
    const struct lockdown_report *r, char out[LOCKDOWN_NLAYERS][LOCKDOWN_LINE_MAX]);

/*
 * The seccomp filter of policy `p` (policies/policy.h: the arch check with
 * i386 and x32 killed, p's default action, its rules), built but not loaded:
 * exactly what the seccomp layer of lockdown_apply() installs (with
 * &policy_sandbox, or the relaxed policy in a sanitizer build).  Returns a
 * new context the caller frees with seccomp_release(), or NULL with errno
 * set (a rule libseccomp refuses is logged with its FILE:LINE).  Loads
 * nothing and changes nothing in the calling process: tests export it with
 * seccomp_export_bpf() and evaluate it in user space.
 */
scmp_filter_ctx lockdown_build_filter(const struct policy *p);

#ifdef EDGED_TEST_HOOKS
/*
 * Test-only (the unit tests compile lockdown.c with EDGED_TEST_HOOKS; the
 * release binary has no such symbol): when set, the seccomp layer is
 * skipped so that a test can observe the layers beneath it.
 */
extern bool lockdown_test_skip_seccomp;
#endif

#endif
