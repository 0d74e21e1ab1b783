/*
 * proc: forking the launcher and the broker with a clean descriptor table.
 * Runs in the supervisor.
 */
#define _GNU_SOURCE
#include "supervisor/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

#define PROC_CHANNEL_FD 3

/* In the child: nothing of the supervisor's descriptors or signals survives. */
static void
proc_clean_child(int channel)
{
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (channel != PROC_CHANNEL_FD) {
		if (dup2(channel, PROC_CHANNEL_FD) == -1)
			_exit(70);
		close(channel);
	} else {
		fcntl(channel, F_SETFD, 0);
	}
	if (syscall(SYS_close_range, PROC_CHANNEL_FD + 1, ~0U, 0) == -1) {
		for (fd = PROC_CHANNEL_FD + 1; fd < 65536; fd++)
			close(fd);
	}
}

/* "edged-broker" in ps and /proc/PID/comm. */
static void
proc_set_title(const char *name)
{
	char title[16];

	snprintf(title, sizeof(title), "edged-%s", name);
	prctl(PR_SET_NAME, title, 0, 0, 0);
}

pid_t
proc_spawn(const char *name, proc_main_fn main_fn, void *arg, int *fd)
{
	int pair[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1) {
		log_warn("cannot create the %s channel", name);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("cannot fork the %s", name);
		close(pair[0]);
		close(pair[1]);
		return -1;
	}
	if (pid == 0) {
		close(pair[0]);
		proc_clean_child(pair[1]);
		proc_set_title(name);
		main_fn(PROC_CHANNEL_FD, arg);
		_exit(0);
	}
	close(pair[1]);
	*fd = pair[0];
	return pid;
}

int
proc_drop_privileges(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (uid == 0 || gid == 0) {
		errno = EINVAL;
		return -1;
	}
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return -1;
	if (getresuid(&ruid, &euid, &suid) == -1 || getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid ||
	    sgid != gid || setresuid(0, 0, 0) != -1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* nftw has no argument pointer: the walk is single-threaded, in the supervisor. */
static uid_t proc_chown_uid;
static gid_t proc_chown_gid;

static int
proc_chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (st->st_uid == proc_chown_uid && st->st_gid == proc_chown_gid)
		return 0;
	return lchown(path, proc_chown_uid, proc_chown_gid) == -1 ? -1 : 0;
}

int
proc_chown_tree(const char *dir, uid_t uid, gid_t gid)
{
	proc_chown_uid = uid;
	proc_chown_gid = gid;
	return nftw(dir, proc_chown_entry, 16, FTW_PHYS | FTW_MOUNT);
}
