/*
 * test_policy_table: the seccomp allowlist (policies/sandbox.policy) without
 * the kernel.  The filter lock-down would install is built with the same code
 * (lockdown_build_filter), exported as classic BPF and run by a small
 * interpreter here for every syscall number on x86_64, the x32 range and
 * i386, with argument variants; the decisions are compared with the golden
 * table policies/sandbox.golden.  EDGED_UPDATE_GOLDEN=1 rewrites it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "policies/policy.h"
#include "sandbox/lockdown.h"

#define GOLDEN_PATH EDGED_SOURCE_DIR "/policies/sandbox.golden"
#define X32_BIT 0x40000000U
/* Highest numbers evaluated: past today's tables, with room for new calls. */
#define X86_64_NR_LAST 549 /* includes the x32-only numbers 512..547 */
#define I386_NR_LAST 469
#define BPF_MAX_INSNS 4096 /* BPF_MAXINSNS, the kernel's limit */
#define MAX_VARIANTS 512

/* ---- a classic BPF interpreter for seccomp programs ------------------------- */

struct program {
	struct sock_filter *insn;
	size_t len;
};

/*
 * Checks the program the way the kernel's seccomp_check_filter() and
 * bpf_check_classic() would: known opcodes only, aligned loads inside
 * struct seccomp_data, forward jumps inside the program, a return at the end.
 * Returns NULL, or what is wrong.
 */
static const char *
program_check(const struct program *p)
{
	if (p->len == 0 || p->len > BPF_MAX_INSNS)
		return "bad program length";
	for (size_t pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->insn[pc];

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
				if (f->k >= sizeof(struct seccomp_data) || (f->k & 3) != 0)
					return "misaligned or out-of-range load";
			} else if (f->code == (BPF_LD | BPF_MEM)) {
				if (f->k >= BPF_MEMWORDS)
					return "scratch index out of range";
			} else if (f->code != (BPF_LD | BPF_W | BPF_LEN) &&
			    f->code != (BPF_LD | BPF_IMM))
				return "load mode seccomp does not allow";
			break;
		case BPF_LDX:
			if (f->code == (BPF_LDX | BPF_MEM)) {
				if (f->k >= BPF_MEMWORDS)
					return "scratch index out of range";
			} else if (f->code != (BPF_LDX | BPF_W | BPF_LEN) &&
			    f->code != (BPF_LDX | BPF_IMM))
				return "ldx mode seccomp does not allow";
			break;
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return "scratch index out of range";
			break;
		case BPF_ALU:
			if (BPF_OP(f->code) == BPF_DIV && BPF_SRC(f->code) == BPF_K && f->k == 0)
				return "division by constant zero";
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				if (f->k >= p->len - pc - 1)
					return "jump out of the program";
			} else if ((size_t)f->jt >= p->len - pc - 1 ||
			    (size_t)f->jf >= p->len - pc - 1)
				return "conditional jump out of the program";
			break;
		case BPF_RET:
		case BPF_MISC:
			break;
		}
	}
	if (BPF_CLASS(p->insn[p->len - 1].code) != BPF_RET)
		return "program does not end with a return";
	return NULL;
}

/* Runs a checked program on `d`; returns the seccomp return value. */
static uint32_t
program_run(const struct program *p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	const uint8_t *data = (const uint8_t *)d;

	for (size_t pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->insn[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (BPF_MODE(f->code) == BPF_ABS)
				memcpy(&a, data + f->k, sizeof(a));
			else if (BPF_MODE(f->code) == BPF_LEN)
				a = sizeof(*d);
			else if (BPF_MODE(f->code) == BPF_IMM)
				a = f->k;
			else
				a = mem[f->k];
			break;
		case BPF_LDX:
			if (BPF_MODE(f->code) == BPF_LEN)
				x = sizeof(*d);
			else if (BPF_MODE(f->code) == BPF_IMM)
				x = f->k;
			else
				x = mem[f->k];
			break;
		case BPF_ST:
			mem[f->k] = a;
			break;
		case BPF_STX:
			mem[f->k] = x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD:
				a += src;
				break;
			case BPF_SUB:
				a -= src;
				break;
			case BPF_MUL:
				a *= src;
				break;
			case BPF_DIV:
				if (src == 0)
					return SECCOMP_RET_KILL_THREAD; /* the kernel returns 0 */
				a /= src;
				break;
			case BPF_MOD:
				if (src == 0)
					return SECCOMP_RET_KILL_THREAD;
				a %= src;
				break;
			case BPF_OR:
				a |= src;
				break;
			case BPF_AND:
				a &= src;
				break;
			case BPF_XOR:
				a ^= src;
				break;
			case BPF_LSH:
				a = src >= 32 ? 0 : a << src;
				break;
			case BPF_RSH:
				a = src >= 32 ? 0 : a >> src;
				break;
			case BPF_NEG:
				a = (uint32_t)-a;
				break;
			default:
				cr_assert_fail("unknown ALU op 0x%x at %zu", f->code, pc);
			}
			break;
		case BPF_JMP:
			switch (BPF_OP(f->code)) {
			case BPF_JA:
				pc += f->k;
				break;
			case BPF_JEQ:
				pc += a == src ? f->jt : f->jf;
				break;
			case BPF_JGT:
				pc += a > src ? f->jt : f->jf;
				break;
			case BPF_JGE:
				pc += a >= src ? f->jt : f->jf;
				break;
			case BPF_JSET:
				pc += (a & src) != 0 ? f->jt : f->jf;
				break;
			default:
				cr_assert_fail("unknown jump op 0x%x at %zu", f->code, pc);
			}
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	cr_assert_fail("the program ran off its end");
	return 0;
}

/* Exports a libseccomp context as BPF through a memfd; the caller frees insn. */
static struct program
program_export(scmp_filter_ctx ctx)
{
	struct program p = { 0 };
	int fd = memfd_create("policy-bpf", MFD_CLOEXEC);
	off_t size;
	const char *bad;

	cr_assert_geq(fd, 0, "memfd_create: %s", strerror(errno));
	cr_assert_eq(seccomp_export_bpf(ctx, fd), 0, "seccomp_export_bpf failed");
	size = lseek(fd, 0, SEEK_END);
	cr_assert_gt(size, 0);
	cr_assert_eq(
	    size % (off_t)sizeof(struct sock_filter), 0, "odd BPF size %lld", (long long)size);
	p.len = (size_t)size / sizeof(struct sock_filter);
	p.insn = malloc((size_t)size);
	cr_assert_not_null(p.insn);
	cr_assert_eq(pread(fd, p.insn, (size_t)size, 0), (ssize_t)size);
	close(fd);
	bad = program_check(&p);
	cr_assert_null(bad, "the exported filter is not valid seccomp BPF: %s", bad);
	return p;
}

static struct program
program_of_policy(const struct policy *pol)
{
	scmp_filter_ctx ctx = lockdown_build_filter(pol);
	struct program p;

	cr_assert_not_null(ctx, "lockdown_build_filter(%s): %s", pol->name, strerror(errno));
	p = program_export(ctx);
	seccomp_release(ctx);
	return p;
}

/* ---- decisions ----------------------------------------------------------------- */

static void
action_text(uint32_t ret, char *out, size_t len)
{
	uint32_t data = ret & SECCOMP_RET_DATA;

	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW:
		snprintf(out, len, "allow");
		break;
	case SECCOMP_RET_KILL_PROCESS:
		snprintf(out, len, "kill");
		break;
	case SECCOMP_RET_KILL_THREAD:
		snprintf(out, len, "kill_thread");
		break;
	case SECCOMP_RET_ERRNO:
		snprintf(out, len, "errno(%u)", data);
		break;
	case SECCOMP_RET_TRAP:
		snprintf(out, len, "trap(%u)", data);
		break;
	case SECCOMP_RET_TRACE:
		snprintf(out, len, "trace(%u)", data);
		break;
	case SECCOMP_RET_LOG:
		snprintf(out, len, "log");
		break;
	case SECCOMP_RET_USER_NOTIF:
		snprintf(out, len, "user_notif");
		break;
	default:
		snprintf(out, len, "unknown(0x%08x)", ret);
		break;
	}
}

struct arch {
	const char *name;
	uint32_t audit;  /* seccomp_data.arch */
	uint32_t scmp;   /* for syscall names */
	uint32_t nr_bit; /* x32: 0x40000000 */
	unsigned last;
};

static const struct arch arches[] = {
	{ "x86_64", AUDIT_ARCH_X86_64, SCMP_ARCH_X86_64, 0, X86_64_NR_LAST },
	{ "x32", AUDIT_ARCH_X86_64, SCMP_ARCH_X32, X32_BIT, X86_64_NR_LAST },
	{ "i386", AUDIT_ARCH_I386, SCMP_ARCH_X86, 0, I386_NR_LAST },
};

/* Odd numbers every arch gets too: negative, just below and above the x32 bit. */
static const uint32_t edge_numbers[] = { 0xffffffffU, 0x3fffffffU, 0x7fffffffU, 0x80000000U,
	X32_BIT | 0x3fffffffU };

/* An argument variant: a syscall (x86_64 name) and its six arguments. */
struct variant {
	const char *syscall;
	char label[96];
	uint64_t args[6];
};

#define HI(v) ((uint64_t)1 << 32 | (uint64_t)(v)) /* the same value with high bits set */

/*
 * The fixed variants: the arguments the policy conditions on, plus the
 * high-bits tricks (a 32-bit kernel argument with garbage above it).
 */
static const struct {
	const char *syscall;
	const char *label;
	uint64_t args[6];
} fixed_variants[] = {
	{ "read", "fd=0", { 0 } },
	{ "read", "fd=2", { 2 } },
	{ "read", "fd=3", { 3 } },
	{ "read", "fd=4", { 4 } },
	{ "read", "fd=5", { 5 } },
	{ "read", "fd=3|hi", { HI(3) } },
	{ "write", "fd=1", { 1 } },
	{ "write", "fd=2", { 2 } },
	{ "write", "fd=3", { 3 } },
	{ "write", "fd=4", { 4 } },
	{ "write", "fd=5", { 5 } },
	{ "write", "fd=2|hi", { HI(2) } },
	{ "sendto", "fd=3,addr=0", { 3 } },
	{ "sendto", "fd=3,addr=0x1000", { 3, 0, 0, 0, 0x1000 } },
	{ "sendto", "fd=5,addr=0", { 5 } },
	{ "close", "fd=2", { 2 } },
	{ "close", "fd=3", { 3 } },
	{ "close", "fd=5", { 5 } },
	{ "mmap", "prot=rw,anon",
	    { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS } },
	{ "mmap", "prot=rwx,anon",
	    { 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS } },
	{ "mmap", "prot=rx,anon", { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS } },
	{ "mmap", "prot=rw,file", { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, 3 } },
	{ "mmap", "prot=rx,file", { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, 3 } },
	{ "mmap", "prot=r|hi,anon", { 0, 4096, HI(PROT_READ), MAP_PRIVATE | MAP_ANONYMOUS } },
	{ "mprotect", "prot=rw", { 0, 4096, PROT_READ | PROT_WRITE } },
	{ "mprotect", "prot=rx", { 0, 4096, PROT_READ | PROT_EXEC } },
	{ "mprotect", "prot=none", { 0, 4096, PROT_NONE } },
	{ "clock_gettime", "clock=-1", { (uint64_t)-1 } },
	{ "clock_gettime", "clock=-2(32bit)", { 0xfffffffeU } },
	{ "clock_gettime", "clock=0", { CLOCK_REALTIME } },
	{ "clock_gettime", "clock=1", { CLOCK_MONOTONIC } },
	{ "clock_gettime", "clock=2", { CLOCK_PROCESS_CPUTIME_ID } },
	{ "clock_gettime", "clock=3", { CLOCK_THREAD_CPUTIME_ID } },
	{ "clock_gettime", "clock=7", { CLOCK_BOOTTIME } },
	{ "clock_gettime", "clock=8", { CLOCK_REALTIME_ALARM } },
	{ "clock_gettime", "clock=11", { CLOCK_TAI } },
	{ "clock_gettime", "clock=1|hi", { HI(CLOCK_MONOTONIC) } },
	{ "fcntl", "fd=3,F_GETFL", { 3, F_GETFL } },
	{ "fcntl", "fd=3,F_SETFL", { 3, F_SETFL } },
	{ "fcntl", "fd=4,F_SETFL", { 4, F_SETFL } },
	{ "fcntl", "fd=5,F_SETFL", { 5, F_SETFL } },
	{ "fcntl", "fd=3,F_DUPFD", { 3, F_DUPFD } },
	{ "fcntl", "fd=3,F_DUPFD_CLOEXEC", { 3, F_DUPFD_CLOEXEC } },
	{ "fcntl", "fd=3,F_GETFD", { 3, F_GETFD } },
	{ "fcntl", "fd=3,F_SETFD", { 3, F_SETFD } },
	{ "fcntl", "fd=3,F_SETOWN", { 3, F_SETOWN } },
	{ "fcntl", "fd=3,F_SETSIG", { 3, F_SETSIG } },
	{ "fcntl", "fd=3,F_SETLK", { 3, F_SETLK } },
	{ "fcntl", "fd=3,F_SETPIPE_SZ", { 3, F_SETPIPE_SZ } },
	{ "madvise", "MADV_NORMAL", { 0, 4096, MADV_NORMAL } },
	{ "madvise", "MADV_DONTNEED", { 0, 4096, MADV_DONTNEED } },
	{ "madvise", "MADV_FREE", { 0, 4096, MADV_FREE } },
	{ "madvise", "MADV_REMOVE", { 0, 4096, MADV_REMOVE } },
	{ "madvise", "MADV_DONTFORK", { 0, 4096, MADV_DONTFORK } },
	{ "madvise", "MADV_MERGEABLE", { 0, 4096, MADV_MERGEABLE } },
	{ "madvise", "MADV_HWPOISON", { 0, 4096, MADV_HWPOISON } },
	{ "madvise", "MADV_WIPEONFORK", { 0, 4096, MADV_WIPEONFORK } },
	{ "futex", "FUTEX_WAIT", { 0, FUTEX_WAIT } },
	{ "futex", "FUTEX_WAKE", { 0, FUTEX_WAKE } },
	{ "futex", "FUTEX_WAIT_PRIVATE", { 0, FUTEX_WAIT_PRIVATE } },
	{ "futex", "FUTEX_WAKE_PRIVATE", { 0, FUTEX_WAKE_PRIVATE } },
	{ "futex", "FUTEX_WAIT_BITSET_PRIVATE", { 0, FUTEX_WAIT_BITSET_PRIVATE } },
	{ "futex", "FUTEX_WAIT_BITSET_PRIVATE|CLOCK_REALTIME",
	    { 0, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME } },
	{ "futex", "FUTEX_REQUEUE_PRIVATE", { 0, FUTEX_REQUEUE_PRIVATE } },
	{ "futex", "FUTEX_CMP_REQUEUE_PRIVATE", { 0, FUTEX_CMP_REQUEUE_PRIVATE } },
	{ "futex", "FUTEX_WAKE_OP_PRIVATE", { 0, FUTEX_WAKE_OP_PRIVATE } },
	{ "futex", "FUTEX_LOCK_PI_PRIVATE", { 0, FUTEX_LOCK_PI_PRIVATE } },
	{ "ioctl", "fd=2,TIOCSTI", { 2, TIOCSTI } },
	{ "ioctl", "fd=2,TIOCSTI|hi", { 2, HI(TIOCSTI) } },
	{ "kill", "pid=0,sig=0", { 0 } },
	{ "prlimit64", "pid=0,RLIMIT_CPU", { 0, 0 } },
	{ "clone", "flags=CLONE_THREAD", { 0x10000 } },
	{ "socket", "AF_UNIX", { AF_UNIX, SOCK_STREAM } },
};

/* The argument value that satisfies one condition, or that breaks it. */
static uint64_t
cond_value(const struct policy_cond *c, bool satisfy)
{
	switch (c->op) {
	case POLICY_OP_EQ:
		return satisfy ? c->value : c->value + 1;
	case POLICY_OP_NE:
		return satisfy ? c->value + 1 : c->value;
	case POLICY_OP_LT:
		return satisfy ? c->value - 1 : c->value;
	case POLICY_OP_LE:
		return satisfy ? c->value : c->value + 1;
	case POLICY_OP_GT:
		return satisfy ? c->value + 1 : c->value;
	case POLICY_OP_GE:
		return satisfy ? c->value : c->value - 1;
	case POLICY_OP_MASKED_EQ: {
		uint64_t low = c->mask & -c->mask; /* the lowest bit the mask looks at */

		return satisfy ? c->value : c->value ^ low;
	}
	}
	return 0;
}

static void
variant_label(struct variant *v)
{
	size_t at = 0;

	v->label[0] = '\0';
	for (int i = 0; i < 6; i++) {
		int n;

		if (v->args[i] == 0)
			continue;
		n = snprintf(v->label + at, sizeof(v->label) - at, "%sa%d=0x%llx",
		    at > 0 ? "," : "", i, (unsigned long long)v->args[i]);
		if (n < 0 || (size_t)n >= sizeof(v->label) - at)
			break;
		at += (size_t)n;
	}
	if (at == 0)
		snprintf(v->label, sizeof(v->label), "args=0");
}

static bool
variant_add(
    struct variant *list, size_t *n, const char *syscall, const uint64_t args[6], const char *label)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i].syscall, syscall) == 0 &&
		    memcmp(list[i].args, args, sizeof(list[i].args)) == 0)
			return false;
	cr_assert_lt(*n, MAX_VARIANTS);
	list[*n].syscall = syscall;
	memcpy(list[*n].args, args, sizeof(list[*n].args));
	if (label != NULL)
		snprintf(list[*n].label, sizeof(list[*n].label), "%s", label);
	else
		variant_label(&list[*n]);
	(*n)++;
	return true;
}

/*
 * The fixed variants, then for every conditional rule of `pol` the arguments
 * that satisfy all its conditions and, for each condition, the same with
 * only that one broken: a new condition always shows in the table.
 */
static size_t
variants_build(const struct policy *pol, struct variant *list)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fixed_variants) / sizeof(fixed_variants[0]); i++)
		variant_add(list, &n, fixed_variants[i].syscall, fixed_variants[i].args,
		    fixed_variants[i].label);
	for (size_t r = 0; r < pol->nrules; r++) {
		const struct policy_rule *rule = &pol->rules[r];
		uint64_t args[6] = { 0 };

		if (rule->ncond == 0)
			continue;
		for (unsigned c = 0; c < rule->ncond; c++)
			args[rule->cond[c].arg] = cond_value(&rule->cond[c], true);
		variant_add(list, &n, rule->syscall, args, NULL);
		for (unsigned c = 0; c < rule->ncond; c++) {
			uint64_t broken[6];

			memcpy(broken, args, sizeof(broken));
			broken[rule->cond[c].arg] = cond_value(&rule->cond[c], false);
			variant_add(list, &n, rule->syscall, broken, NULL);
		}
	}
	return n;
}

static uint32_t
decide(const struct program *p, uint32_t audit, uint32_t nr, const uint64_t args[6])
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.nr = (int)nr;
	d.arch = audit;
	d.instruction_pointer = 0x401000;
	for (int i = 0; i < 6; i++)
		d.args[i] = args != NULL ? args[i] : 0;
	return program_run(p, &d);
}

static const char *
op_text(enum policy_op op)
{
	switch (op) {
	case POLICY_OP_EQ:
		return "==";
	case POLICY_OP_NE:
		return "!=";
	case POLICY_OP_LT:
		return "<";
	case POLICY_OP_LE:
		return "<=";
	case POLICY_OP_GT:
		return ">";
	case POLICY_OP_GE:
		return ">=";
	case POLICY_OP_MASKED_EQ:
		return "&";
	}
	return "?";
}

static void
rule_action_text(enum policy_action a, int errnum, char *out, size_t len)
{
	switch (a) {
	case POLICY_ALLOW:
		snprintf(out, len, "allow");
		break;
	case POLICY_KILL:
		snprintf(out, len, "kill");
		break;
	case POLICY_ERRNO:
		snprintf(out, len, "errno(%d)", errnum);
		break;
	}
}

/*
 * The whole decision table of `pol` as text (malloc'd): a header, the rules
 * as the table holds them, then one line per (arch, number, variant).
 */
static char *
table_text(const struct policy *pol)
{
	static struct variant variants[MAX_VARIANTS];
	struct program p = program_of_policy(pol);
	size_t nvariants = variants_build(pol, variants), len;
	char act[64], *text;
	FILE *fp = open_memstream(&text, &len);

	cr_assert_not_null(fp);
	fprintf(fp,
	    "# policies/sandbox.golden: what the seccomp filter built from %s decides,\n"
	    "# evaluated in user space by tests/unit/policies/test_policy_table.c.\n"
	    "# Generated: do not edit.  After a policy change, regenerate with\n"
	    "#   EDGED_UPDATE_GOLDEN=1 build/tests/unit_policies_test_policy_table\n"
	    "# and review the diff of this file with the policy change.\n"
	    "# Lines: rule SYSCALL ACTION [CONDITIONS] (the compiled table), then\n"
	    "#        ARCH NR NAME VARIANT -> DECISION (kill = SIGSYS, whole process).\n",
	    pol->name);
	rule_action_text(pol->default_action, pol->default_errnum, act, sizeof(act));
	fprintf(fp, "default %s\n", act);
	for (size_t r = 0; r < pol->nrules; r++) {
		const struct policy_rule *rule = &pol->rules[r];

		rule_action_text(rule->action, rule->errnum, act, sizeof(act));
		fprintf(fp, "rule %s(%d) %s", rule->syscall, rule->nr, act);
		for (unsigned c = 0; c < rule->ncond; c++) {
			const struct policy_cond *pc = &rule->cond[c];

			if (pc->op == POLICY_OP_MASKED_EQ)
				fprintf(fp, " arg%u&0x%llx==0x%llx", pc->arg,
				    (unsigned long long)pc->mask, (unsigned long long)pc->value);
			else
				fprintf(fp, " arg%u%s0x%llx", pc->arg, op_text(pc->op),
				    (unsigned long long)pc->value);
		}
		fputc('\n', fp);
	}

	for (size_t a = 0; a < sizeof(arches) / sizeof(arches[0]); a++) {
		const struct arch *ar = &arches[a];
		size_t nedges = sizeof(edge_numbers) / sizeof(edge_numbers[0]);

		for (size_t i = 0; i <= ar->last + nedges; i++) {
			uint32_t nr = i <= ar->last ? ((uint32_t)i | ar->nr_bit)
						    : edge_numbers[i - ar->last - 1];
			char *name = seccomp_syscall_resolve_num_arch(ar->scmp, (int)nr);

			action_text(decide(&p, ar->audit, nr, NULL), act, sizeof(act));
			fprintf(fp, "%s 0x%x %s args=0 -> %s\n", ar->name, nr,
			    name != NULL ? name : "-", act);
			free(name);
		}
		for (size_t v = 0; v < nvariants; v++) {
			int native = seccomp_syscall_resolve_name_arch(
			    SCMP_ARCH_X86_64, variants[v].syscall);
			uint32_t nr;

			cr_assert_geq(native, 0, "unknown syscall '%s'", variants[v].syscall);
			/* i386 has other numbers: look the name up there. */
			if (ar->audit == AUDIT_ARCH_I386) {
				int n386 = seccomp_syscall_resolve_name_arch(
				    SCMP_ARCH_X86, variants[v].syscall);

				if (n386 < 0)
					continue;
				nr = (uint32_t)n386;
			} else
				nr = (uint32_t)native | ar->nr_bit;
			action_text(decide(&p, ar->audit, nr, variants[v].args), act, sizeof(act));
			fprintf(fp, "%s 0x%x %s %s -> %s\n", ar->name, nr, variants[v].syscall,
			    variants[v].label, act);
		}
	}
	fclose(fp);
	free(p.insn);
	return text;
}

/* ---- the golden file ------------------------------------------------------------- */

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	char buf[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	out = open_memstream(&text, &len);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		fwrite(buf, 1, n, out);
	fclose(fp);
	fclose(out);
	return text;
}

static bool
has_line(const char *text, const char *line, size_t len)
{
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (n == len && memcmp(p, line, len) == 0)
			return true;
		p = eol != NULL ? eol + 1 : NULL;
	}
	return false;
}

/* Prints to stderr the lines of `a` missing from `b` with `mark`; returns the count. */
static int
print_missing(const char *a, const char *b, char mark, int budget)
{
	int count = 0;

	for (const char *p = a; p != NULL && *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (!has_line(b, p, n)) {
			if (count < budget)
				fprintf(stderr, "  %c %.*s\n", mark, (int)n, p);
			count++;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return count;
}

Test(policy_table, the_filter_matches_the_golden_table)
{
	char *now = table_text(&policy_sandbox);
	char *golden;
	const char *update = getenv("EDGED_UPDATE_GOLDEN");

	if (update != NULL && strcmp(update, "1") == 0) {
		FILE *fp = fopen(GOLDEN_PATH ".tmp", "w");

		cr_assert_not_null(fp, "cannot write '%s.tmp': %s", GOLDEN_PATH, strerror(errno));
		cr_assert_eq(fputs(now, fp) >= 0 && fclose(fp) == 0, true);
		cr_assert_eq(rename(GOLDEN_PATH ".tmp", GOLDEN_PATH), 0);
		fprintf(
		    stderr, "UPDATED %s: review its diff with the policy change\n", GOLDEN_PATH);
		free(now);
		return;
	}
	golden = read_file(GOLDEN_PATH);
	cr_assert_not_null(golden, "cannot read '%s': %s (generate it with EDGED_UPDATE_GOLDEN=1)",
	    GOLDEN_PATH, strerror(errno));
	if (strcmp(now, golden) != 0) {
		int gone, added;

		fprintf(stderr, "the seccomp decisions differ from %s (- golden, + now):\n",
		    GOLDEN_PATH);
		gone = print_missing(golden, now, '-', 40);
		added = print_missing(now, golden, '+', 40);
		cr_assert_fail("the seccomp filter's decisions changed (%d lines gone, %d new): "
			       "if the policy change is intended, rerun with EDGED_UPDATE_GOLDEN=1 "
			       "and commit policies/sandbox.golden with it",
		    gone, added);
	}
	free(golden);
	free(now);
}

/* ---- properties that hold whatever the golden file says ----------------------------- */

static struct program filter;

static void
filter_setup(void)
{
	filter = program_of_policy(&policy_sandbox);
}

static void
filter_teardown(void)
{
	free(filter.insn);
	filter.insn = NULL;
}

static uint32_t
decide_native(const char *name, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	const uint64_t args[6] = { a0, a1, a2, a3, 0, 0 };
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);

	cr_assert_geq(nr, 0, "unknown syscall '%s'", name);
	return decide(&filter, AUDIT_ARCH_X86_64, (uint32_t)nr, args);
}

TestSuite(policy_props, .init = filter_setup, .fini = filter_teardown);

/* The calls SECURITY.md catalog B says must kill, with harmless arguments. */
Test(policy_props, forbidden_calls_kill_the_process)
{
	static const char *const forbidden[] = { "open", "openat", "openat2", "creat", "execve",
		"execveat", "socket", "socketpair", "connect", "bind", "accept4", "fork", "vfork",
		"clone", "clone3", "ptrace", "process_vm_readv", "process_vm_writev", "kill",
		"tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "timer_create",
		"perf_event_open", "bpf", "io_uring_setup", "userfaultfd", "keyctl", "add_key",
		"mount", "umount2", "unshare", "setns", "personality", "ioctl", "setrlimit",
		"prlimit64", "seccomp", "prctl", "chroot", "pivot_root", "memfd_create", "uname",
		"getppid", "sched_setaffinity", "rt_sigaction", "sigaltstack", "mincore", "kcmp",
		"init_module", "finit_module", "reboot", "kexec_load", "landlock_create_ruleset",
		"name_to_handle_at", "open_by_handle_at", "dup", "dup2", "dup3", "pipe2",
		"eventfd2", "epoll_create1", "signalfd4", "inotify_init1", "fanotify_init", "rseq",
		"set_robust_list", "msgget", "shmget", "semget", "mq_open", "swapon", "acct",
		"syslog", "quotactl" };
	char act[64];

	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		action_text(decide_native(forbidden[i], 0, 0, 0, 0), act, sizeof(act));
		cr_expect_str_eq(act, "kill", "%s is %s, not kill", forbidden[i], act);
	}
	/* Allowed calls with the argument forms that must stay forbidden. */
	action_text(
	    decide_native("mmap", 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS), act,
	    sizeof(act));
	cr_expect_str_eq(act, "kill", "executable mmap is %s", act);
	action_text(decide_native("mmap", 0, 4096, PROT_READ, MAP_PRIVATE), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "file-backed mmap is %s", act);
	action_text(decide_native("mprotect", 0, 4096, PROT_READ | PROT_EXEC, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "mprotect to executable is %s", act);
	action_text(decide_native("clock_gettime", (uint64_t)-2, 0, 0, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "another process's CPU clock is %s", act);
	action_text(decide_native("clock_gettime", 0xfffffffaU, 0, 0, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "a 32-bit negative clock id is %s", act);
	action_text(decide_native("read", HI(3), 0, 0, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "read with high bits over fd 3 is %s", act);
	action_text(decide_native("write", 5, 0, 0, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "write to an fd not ours is %s", act);
	action_text(decide_native("futex", 0, FUTEX_WAIT, 0, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "a shared futex is %s", act);
	action_text(decide_native("fcntl", 3, F_DUPFD, 0, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "fcntl F_DUPFD is %s", act);
	action_text(decide_native("madvise", 0, 4096, MADV_HWPOISON, 0), act, sizeof(act));
	cr_expect_str_eq(act, "kill", "madvise MADV_HWPOISON is %s", act);
}

Test(policy_props, what_the_sandbox_needs_is_allowed)
{
	const struct {
		const char *name;
		uint64_t a0, a1, a2, a3;
	} allowed[] = {
		{ "read", 3, 0, 0, 0 },
		{ "read", 4, 0, 0, 0 },
		{ "write", 2, 0, 0, 0 },
		{ "sendto", 3, 0, 0, 0 },
		{ "fcntl", 3, F_SETFL, 0, 0 },
		{ "poll", 0, 0, 0, 0 },
		{ "brk", 0, 0, 0, 0 },
		{ "mmap", 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS },
		{ "munmap", 0, 0, 0, 0 },
		{ "madvise", 0, 4096, MADV_DONTNEED, 0 },
		{ "clock_gettime", CLOCK_THREAD_CPUTIME_ID, 0, 0, 0 },
		{ "clock_gettime", CLOCK_MONOTONIC, 0, 0, 0 },
		{ "getrandom", 0, 0, 0, 0 },
		{ "futex", 0, FUTEX_WAKE_PRIVATE, 0, 0 },
		{ "exit_group", 0, 0, 0, 0 },
	};
	char act[64];

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		action_text(decide_native(allowed[i].name, allowed[i].a0, allowed[i].a1,
				allowed[i].a2, allowed[i].a3),
		    act, sizeof(act));
		cr_expect_str_eq(act, "allow", "%s(%llu, %llu, ...) is %s", allowed[i].name,
		    (unsigned long long)allowed[i].a0, (unsigned long long)allowed[i].a1, act);
	}
}

/* x32 and i386 entries die at the arch check, even for calls x86_64 allows. */
Test(policy_props, other_abis_are_killed)
{
	const uint64_t fd3[6] = { 3 };
	char act[64];

	for (uint32_t nr = 0; nr <= X86_64_NR_LAST; nr++) {
		action_text(
		    decide(&filter, AUDIT_ARCH_X86_64, nr | X32_BIT, fd3), act, sizeof(act));
		cr_assert_str_eq(act, "kill", "x32 syscall %u is %s", nr, act);
	}
	for (uint32_t nr = 0; nr <= I386_NR_LAST; nr++) {
		action_text(decide(&filter, AUDIT_ARCH_I386, nr, fd3), act, sizeof(act));
		cr_assert_str_eq(act, "kill", "i386 syscall %u is %s", nr, act);
	}
	action_text(decide(&filter, AUDIT_ARCH_AARCH64, 63 /* read */, fd3), act, sizeof(act));
	cr_assert_str_eq(act, "kill", "an aarch64 entry is %s", act);
}

/*
 * The golden comparison must notice a policy change: one more rule (an
 * ioctl the table does not allow) changes the table's text.
 */
Test(policy_table, a_policy_change_shows_in_the_table)
{
	struct policy_rule *rules = calloc(policy_sandbox.nrules + 1, sizeof(*rules));
	struct policy changed = policy_sandbox;
	char *before, *after;

	cr_assert_not_null(rules);
	memcpy(rules, policy_sandbox.rules, policy_sandbox.nrules * sizeof(*rules));
	rules[policy_sandbox.nrules] = (struct policy_rule) { .syscall = "ioctl",
		.nr = SCMP_SYS(ioctl),
		.action = POLICY_ALLOW,
		.ncond = 1,
		.cond = { { .arg = 1, .op = POLICY_OP_EQ, .value = TIOCSTI } },
		.line = 999,
		.reason = "test" };
	changed.rules = rules;
	changed.nrules = policy_sandbox.nrules + 1;
	before = table_text(&policy_sandbox);
	after = table_text(&changed);
	cr_expect(strcmp(before, after) != 0, "adding a rule did not change the table");
	cr_expect(strstr(after, "x86_64 0x10 ioctl fd=2,TIOCSTI -> allow") != NULL,
	    "the new rule's decision is not in the table");
	cr_expect(strstr(before, "x86_64 0x10 ioctl fd=2,TIOCSTI -> kill") != NULL);
	/* The high-bits form of the same request is still refused. */
	cr_expect(strstr(after, "x86_64 0x10 ioctl fd=2,TIOCSTI|hi -> kill") != NULL);
	free(before);
	free(after);
	free(rules);
}

/* The interpreter itself, on hand-written programs, so that it cannot agree by accident. */
Test(policy_table, the_interpreter_follows_classic_bpf)
{
	struct sock_filter insn[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 10, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_IMM, SECCOMP_RET_ERRNO),
		BPF_STMT(BPF_ALU | BPF_OR | BPF_X, 0),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct program p = { insn, sizeof(insn) / sizeof(insn[0]) };
	struct program bad = { insn, 3 };
	char act[64];

	cr_assert_null(program_check(&p));
	cr_expect_not_null(program_check(&bad), "a program without a final return passed");
	action_text(decide(&p, 0, 3, NULL), act, sizeof(act));
	cr_expect_str_eq(act, "errno(1)");
	action_text(decide(&p, 0, 4, NULL), act, sizeof(act));
	cr_expect_str_eq(act, "allow");
	action_text(decide(&p, 0, 27, NULL), act, sizeof(act));
	cr_expect_str_eq(act, "errno(11)");
	insn[1].jt = 200;
	cr_expect_not_null(program_check(&p), "a jump out of the program passed");
}
