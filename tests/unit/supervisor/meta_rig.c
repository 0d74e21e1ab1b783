/*
 * meta_rig: a meta.sqlite in a temporary directory for the supervisor's
 * unit suites (linked into each of them; runs in the test process).
 */
#include "tests/unit/supervisor/meta_rig.h"

#include <criterion/criterion.h>

#include <stdio.h>

#include "tests/support.h"

struct meta *
meta_rig_open(struct meta_rig *mr, const char *name, const char *const *tenants)
{
	struct meta *m;

	support_tempdir(mr->dir, sizeof(mr->dir), "/tmp", name);
	snprintf(mr->path, sizeof(mr->path), "%s/meta.sqlite", mr->dir);
	cr_assert_not_null(m = meta_open(mr->path), "cannot open %s", mr->path);
	for (size_t i = 0; tenants != NULL && tenants[i] != NULL; i++)
		cr_assert_eq(meta_tenant_put(m, tenants[i]), 1, "tenant %s", tenants[i]);
	return m;
}

void
meta_rig_remove(struct meta_rig *mr)
{
	support_remove_tree(mr->dir);
}
