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

#endif
