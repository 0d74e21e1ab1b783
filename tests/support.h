/*
 * support: what every test suite shares, unit and end-to-end alike: fresh
 * temporary directories, their removal, and the descriptor count a suite's
 * teardown compares to check that nothing leaked.  Runs in the test process.
 * Linking it also makes an assertion that fails in a suite's .init or .fini
 * fail the test and the run (support.c says why).
 */
#ifndef EDGED_TESTS_SUPPORT_H
#define EDGED_TESTS_SUPPORT_H

#include <stddef.h>

/*
 * Makes a new directory "<parent>/<name>-XXXXXX" (mode 0700) and writes its
 * path to out (size bytes, the caller's); fails the test if it cannot.
 */
void support_tempdir(char *out, size_t size, const char *parent, const char *name);

/*
 * Removes path and everything below it, without following symbolic links.
 * Best effort: what cannot be removed stays, and nothing fails.
 */
void support_remove_tree(const char *path);

/* The number of descriptors this process has open (the one used to count them excluded). */
int support_count_fds(void);

#endif
