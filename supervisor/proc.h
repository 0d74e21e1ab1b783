/*
 * proc: starting edged's helper processes (launcher, broker) from the
 * supervisor, each on its own socketpair.  Runs in the supervisor.
 */
#ifndef EDGED_PROC_H
#define EDGED_PROC_H

#include <sys/types.h>

/* A helper process's body: runs on its channel end `fd`; never returns. */
typedef void (*proc_main_fn)(int fd, void *arg);

/*
 * Forks a helper.  In the child: the channel end becomes fd 3, every other
 * descriptor above 2 is closed, signal dispositions and the signal mask are
 * reset, then main(3, arg) runs.  In the parent: returns the child's pid and
 * stores our channel end (close-on-exec) in *fd; -1 on failure.
 */
pid_t proc_spawn(const char *name, proc_main_fn main, void *arg, int *fd);

/*
 * Becomes uid/gid for good (supplementary groups cleared, real, effective
 * and saved ids all set, and a way back checked to fail).  0 or -1.
 */
int proc_drop_privileges(uid_t uid, gid_t gid);

/*
 * Gives `dir` and everything under it (not following symlinks, not leaving
 * the file system) to uid/gid; entries already owned are left alone.  0 or -1.
 */
int proc_chown_tree(const char *dir, uid_t uid, gid_t gid);

#endif
