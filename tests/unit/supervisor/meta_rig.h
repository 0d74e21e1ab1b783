/*
 * meta_rig: a meta.sqlite in a fresh temporary directory, for the
 * supervisor's unit suites (test_meta*, and admin_rig under the admin API).
 * Runs in the test process.
 */
#ifndef EDGED_TESTS_META_RIG_H
#define EDGED_TESTS_META_RIG_H

#include "supervisor/meta.h"

struct meta_rig {
	char dir[64];   /* the temporary directory */
	char path[128]; /* its meta.sqlite, to reopen */
};

/*
 * Makes a directory "/tmp/<name>-XXXXXX" and opens a new meta.sqlite in it
 * where the tenants of the NULL-terminated `tenants` (may be NULL) exist.
 * Returns the meta: the caller closes it before meta_rig_remove.  Fails the
 * test on any error.
 */
struct meta *meta_rig_open(struct meta_rig *mr, const char *name, const char *const *tenants);
/* Removes the directory and all in it. */
void meta_rig_remove(struct meta_rig *mr);

#endif
