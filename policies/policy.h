/*
 * policy: the seccomp policies (policies/NAME.policy) as C tables, generated
 * at build time by policies/policy_gen.cmake into policy_table.c.  Read by
 * sandbox/lockdown.c, which turns a table into a libseccomp filter.
 */
#ifndef EDGED_POLICY_H
#define EDGED_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum policy_action {
	POLICY_ALLOW,
	POLICY_KILL,  /* SECCOMP_RET_KILL_PROCESS: the whole process dies by SIGSYS */
	POLICY_ERRNO, /* the call fails with policy_rule.errnum */
};

enum policy_op {
	POLICY_OP_EQ,
	POLICY_OP_NE,
	POLICY_OP_LT,
	POLICY_OP_LE,
	POLICY_OP_GT,
	POLICY_OP_GE,
	POLICY_OP_MASKED_EQ, /* (arg & mask) == value */
};

#define POLICY_MAX_CONDS 6

/* One comparison on a syscall argument; all 64 bits of it are compared. */
struct policy_cond {
	unsigned arg; /* 0..5 */
	enum policy_op op;
	uint64_t mask; /* POLICY_OP_MASKED_EQ only */
	uint64_t value;
};

/* One line of a .policy file ("in (a,b)" lines become one rule per value). */
struct policy_rule {
	const char *syscall; /* the name, for messages */
	int nr;              /* native (x86_64) number */
	enum policy_action action;
	int errnum;     /* POLICY_ERRNO only */
	unsigned ncond; /* conditions, ANDed */
	struct policy_cond cond[POLICY_MAX_CONDS];
	unsigned line;      /* in the .policy file, for messages */
	const char *reason; /* the line's comment */
};

struct policy {
	const char *name; /* the file it came from, "sandbox.policy" */
	enum policy_action default_action;
	int default_errnum;
	const struct policy_rule *rules;
	size_t nrules;
};

/* The real allowlist: every plain build installs it in every sandbox. */
extern const struct policy policy_sandbox;

/* Sanitizer builds only: default allow, the dangerous calls killed. */
extern const struct policy policy_sandbox_relaxed;

#endif
