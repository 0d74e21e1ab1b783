/*
 * scratch: scratch folders for the fuzz harnesses (see scratch.h).
 */
#define _GNU_SOURCE
#include "scratch.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
scratch_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
scratch_remove(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, scratch_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes "edged-fuzz-<tag>-<pid>-*" under base whose process is gone. */
static void
scratch_sweep(const char *base, const char *tag)
{
	char prefix[64], path[512];
	struct dirent *e;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "edged-fuzz-%s-", tag);
	if ((d = opendir(base)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(prefix), &end, 10);
		if (pid <= 0 || *end != '-' || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		scratch_remove(path);
	}
	closedir(d);
}

int
scratch_make(const char *tag, char *dir, size_t size)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int n;

	if (size == 0)
		return -1;
	scratch_sweep(base, tag);
	n = snprintf(dir, size, "%s/edged-fuzz-%s-%ld-XXXXXX", base, tag, (long)getpid());
	if (n < 0 || (size_t)n >= size || mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}
