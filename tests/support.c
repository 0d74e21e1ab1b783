/*
 * support: temporary directories, descriptor counting, and fixture failures
 * that fail the run, for the test suites (linked into every unit and
 * end-to-end test executable).
 */
#define _GNU_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS */
#include "tests/support.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

void
support_tempdir(char *out, size_t size, const char *parent, const char *name)
{
	int n = snprintf(out, size, "%s/%s-XXXXXX", parent, name);

	cr_assert(
	    n > 0 && (size_t)n < size, "temporary directory name too long: %s/%s", parent, name);
	cr_assert_not_null(mkdtemp(out), "cannot make a directory like '%s'", out);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0; /* keep going: remove what can be */
}

void
support_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
support_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "cannot list /proc/self/fd");
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

/*
 * Criterion 2.4 prints an assertion that fails in a suite's .init or .fini
 * but still counts the test as passed, and the run exits 0
 * (Snaipe/Criterion#211): every teardown check (descriptors leaked, a child
 * that did not exit cleanly) could never fail a run.  These hooks, run by
 * the runner, count such a test as failed, so that the exit status says so.
 */
static size_t fixture_failures;

ReportHook(POST_FINI)(struct criterion_test_stats *stats)
{
	if (stats->test_status == CR_STATUS_PASSED && stats->failed_asserts > 0) {
		fixture_failures++;
		fprintf(stderr, "[FAIL] %s::%s: an assertion of its fixture failed\n",
		    stats->test->category, stats->test->name);
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	stats->tests_failed += fixture_failures;
	stats->tests_passed -= fixture_failures;
}
