/*
 * launcher: the zygote.  Started by the supervisor before it holds any client
 * state; builds the sandbox runtime once, then forks blank sandboxes on
 * request, locks each child down and hands the child's channel ends back over
 * SCM_RIGHTS.  Reports the death of every child.  Runs in its own process.
 */
#ifndef EDGED_LAUNCHER_H
#define EDGED_LAUNCHER_H

#include <stdint.h>

struct launcher_config {
	uint64_t memory_bytes;  /* Duktape allocator cap per sandbox */
	uint64_t address_space; /* RLIMIT_AS per sandbox (0: none) */
	unsigned cpu_seconds;   /* RLIMIT_CPU backstop per sandbox */
	uint32_t uid_base;      /* as root: sandbox in slot N runs as uid/gid base + N */
};

/*
 * The launcher's life on `sup_fd`.  Right after its HELLO it probes the
 * lock-down (lockdown_probe) and sends the LAYERS report; every sandbox after
 * that is created with the namespaces the probe got.  Its life on `sup_fd` (its channel to the
 * supervisor; every other descriptor the caller does not need should be closed by then).  Exits 0
 * when the supervisor closes the channel, 1 on a set-up failure.
 */
void launcher_main(int sup_fd, const struct launcher_config *cfg) __attribute__((noreturn));

#endif
