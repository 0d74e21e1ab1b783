/*
 * lockdown: the ordered privilege drop a freshly forked sandbox applies to
 * itself before any tenant byte reaches it (ARCHITECTURE.md section 6).  The
 * seccomp allowlist is data in policies/.  Runs in sandbox children.
 */
#ifndef EDGED_LOCKDOWN_H
#define EDGED_LOCKDOWN_H

#include <stdint.h>

struct lockdown_config {
	const int *keep_fds;        /* IPC sockets (and 2, the log) stay open */
	unsigned nkeep;
	uint64_t address_space_bytes; /* RLIMIT_AS */
	unsigned cpu_seconds;       /* RLIMIT_CPU backstop */
};

/*
 * In the calling process (single-threaded, just forked), in order: close
 * every fd not in keep_fds, empty the environment, rlimits with soft == hard
 * (NOFILE, NPROC 0, FSIZE 0, CORE 0, MEMLOCK 0, AS, CPU), PR_SET_DUMPABLE 0,
 * PR_SET_PDEATHSIG SIGKILL, no_new_privs, then the seccomp allowlist with
 * default KILL_PROCESS and the arch checked first.  Returns 0, or -1 with
 * *failed naming the layer ("seccomp", "rlimit NPROC" ...); the caller must
 * then exit without running tenant code.  A sanitizer build installs a
 * relaxed filter and says so on stderr.
 */
int lockdown_apply(const struct lockdown_config *c, const char **failed);

#endif
