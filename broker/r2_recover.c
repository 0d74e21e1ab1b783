/*
 * r2_recover: the start-up sweep that undoes what a crash left behind
 * (bodies half written in tmp/, blobs renamed into objects/ whose index
 * commit never happened, blobs a commit replaced but did not unlink yet,
 * buckets half created or half dropped), and tree removal.  Runs in the
 * broker, from r2_open().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/r2_internal.h"
#include "common/log.h"

/* A bucket folder is three levels deep (objects/xx/ID); a little slack. */
#define R2_TREE_DEPTH 5

static bool
r2_is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static DIR *
r2_opendir_at(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;

	if (fd == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

static int
r2_remove_at(int parent, const char *name, int depth)
{
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth == 0)
		return -1;
	if ((d = r2_opendir_at(parent, name)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (!r2_is_dot(e->d_name) && r2_remove_at(dirfd(d), e->d_name, depth - 1) == -1)
			rc = -1;
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) == -1)
		rc = -1;
	return rc;
}

int
r2_remove_tree(int parent, const char *name)
{
	if (r2_remove_at(parent, name, R2_TREE_DEPTH) == -1) {
		log_warn("r2: cannot remove '%s'", name);
		return -1;
	}
	return 0;
}

static void
r2_sweep_tmp(struct r2_bucket *b)
{
	struct dirent *e;
	DIR *d;

	if ((d = r2_opendir_at(b->dirfd, "tmp")) == NULL) {
		log_warn("r2: tenant '%s' bucket '%s': cannot open tmp", b->tenant, b->name);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (!r2_is_dot(e->d_name))
			r2_remove_at(dirfd(d), e->d_name, 1);
	closedir(d);
}

/* 1 when an object or a part names the blob, 0 when none does, -1 on failure. */
static int
r2_blob_is_used(struct r2_bucket *b, const char *id)
{
	sqlite3_stmt *st = b->st[R2_ST_BLOB_USED];
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	r2_log_db(b, "read the index");
	return -1;
}

static void
r2_sweep_fan(struct r2_bucket *b, DIR *objects, const char *fan)
{
	struct dirent *e;
	DIR *d;

	if ((d = r2_opendir_at(dirfd(objects), fan)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (r2_is_dot(e->d_name))
			continue;
		if (!r2_is_id(e->d_name) || strncmp(e->d_name, fan, 2) != 0) {
			log_warnx(
			    "r2: tenant '%s' bucket '%s': stray file 'objects/%s/%s' left alone",
			    b->tenant, b->name, fan, e->d_name);
			continue;
		}
		if (r2_blob_is_used(b, e->d_name) == 0 && unlinkat(dirfd(d), e->d_name, 0) == -1)
			log_warn("r2: cannot remove 'objects/%s/%s'", fan, e->d_name);
	}
	closedir(d);
}

static void
r2_sweep_objects(struct r2_bucket *b)
{
	struct dirent *e;
	DIR *d;

	if ((d = r2_opendir_at(b->dirfd, "objects")) == NULL) {
		log_warn("r2: tenant '%s' bucket '%s': cannot open objects", b->tenant, b->name);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (!r2_is_dot(e->d_name) && strlen(e->d_name) == 2)
			r2_sweep_fan(b, d, e->d_name);
	closedir(d);
}

static void
r2_recover_bucket(struct r2 *r2, const char *tenant, const char *name)
{
	struct r2_bucket *b = r2_bucket_open(r2, tenant, name);

	if (b == NULL) {
		log_warnx("r2: tenant '%s' bucket '%s': cannot recover", tenant, name);
		return;
	}
	/* A commit filled trash; the crash came before the unlinks. */
	r2_trash_flush(b);
	r2_exec(b, R2_ST_TRASH_CLEAR);
	r2_sweep_tmp(b);
	r2_sweep_objects(b);
	r2_bucket_close(b);
}

static bool
r2_is_staging(const char *name)
{
	return strncmp(name, ".new-", 5) == 0 || strncmp(name, ".trash-", 7) == 0;
}

static void
r2_recover_tenant(struct r2 *r2, DIR *root, const char *tenant)
{
	struct dirent *e;
	DIR *d;

	if ((d = r2_opendir_at(dirfd(root), tenant)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (r2_is_staging(e->d_name))
			r2_remove_tree(dirfd(d), e->d_name);
		else if (store_resource_is_valid(STORE_R2, e->d_name))
			r2_recover_bucket(r2, tenant, e->d_name);
	}
	closedir(d);
}

void
r2_recover(struct r2 *r2)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(r2->root)) == NULL) {
		log_warn("r2: cannot open '%s'", r2->root);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (store_tenant_is_valid(e->d_name))
			r2_recover_tenant(r2, d, e->d_name);
	closedir(d);
}
