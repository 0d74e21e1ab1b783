/*
 * landlock: the slice of the Landlock user-space ABI that lockdown.c uses,
 * declared here because Debian 12's <linux/landlock.h> stops at ABI 2 (no
 * TCP rights, no scopes).  Values follow the kernel's documented ABI
 * (Documentation/userspace-api/landlock.rst); names carry our own prefix so
 * that this header never collides with the system one.  Runs in sandboxes.
 */
#ifndef EDGED_LANDLOCK_H
#define EDGED_LANDLOCK_H

#include <stdint.h>

/* x86_64 system call numbers (stable since Linux 5.13). */
#define LANDLOCK_SYS_CREATE_RULESET 444
#define LANDLOCK_SYS_ADD_RULE 445
#define LANDLOCK_SYS_RESTRICT_SELF 446

/* landlock_create_ruleset(NULL, 0, this flag) returns the highest ABI version. */
#define LANDLOCK_FLAG_VERSION (1u << 0)

/*
 * The ruleset attribute.  The kernel takes its size as an argument, so an
 * older kernel is given only the members its ABI knows: 8 bytes (fs) for ABI
 * 1-3, 16 (and net) for ABI 4-5, 24 (and scoped) from ABI 6.
 */
struct landlock_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LANDLOCK_ATTR_SIZE_FS 8u
#define LANDLOCK_ATTR_SIZE_NET 16u
#define LANDLOCK_ATTR_SIZE_SCOPED 24u

/* Filesystem rights, by the ABI version that introduced them. */
#define LANDLOCK_FS_EXECUTE (1ull << 0) /* ABI 1 */
#define LANDLOCK_FS_WRITE_FILE (1ull << 1)
#define LANDLOCK_FS_READ_FILE (1ull << 2)
#define LANDLOCK_FS_READ_DIR (1ull << 3)
#define LANDLOCK_FS_REMOVE_DIR (1ull << 4)
#define LANDLOCK_FS_REMOVE_FILE (1ull << 5)
#define LANDLOCK_FS_MAKE_CHAR (1ull << 6)
#define LANDLOCK_FS_MAKE_DIR (1ull << 7)
#define LANDLOCK_FS_MAKE_REG (1ull << 8)
#define LANDLOCK_FS_MAKE_SOCK (1ull << 9)
#define LANDLOCK_FS_MAKE_FIFO (1ull << 10)
#define LANDLOCK_FS_MAKE_BLOCK (1ull << 11)
#define LANDLOCK_FS_MAKE_SYM (1ull << 12)
#define LANDLOCK_FS_ABI1 ((1ull << 13) - 1)
#define LANDLOCK_FS_REFER (1ull << 13)     /* ABI 2 */
#define LANDLOCK_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define LANDLOCK_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */

/* Network rights (ABI 4). */
#define LANDLOCK_NET_BIND_TCP (1ull << 0)
#define LANDLOCK_NET_CONNECT_TCP (1ull << 1)

/* Scopes (ABI 6): IPC that may not leave the sandbox's Landlock domain. */
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ull << 1)

#endif
