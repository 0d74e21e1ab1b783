/*
 * r2_bucket: open bucket handles (a directory fd and the index connection),
 * their small LRU cache, and the admin methods that create and drop
 * buckets.  Runs in the broker.
 */
#define _GNU_SOURCE /* renameat2 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/r2_internal.h"
#include "common/log.h"

#define R2_CACHE_MAX 16

void
r2_log_db(const struct r2_bucket *b, const char *what)
{
	log_warnx("r2: tenant '%s' bucket '%s': cannot %s: %s", b->tenant, b->name, what,
	    b->db != NULL ? sqlite3_errmsg(b->db) : "out of memory");
}

/* Closes the index connection; the handle keeps its directory fd. */
static void
r2_bucket_close_db(struct r2_bucket *b)
{
	for (size_t i = 0; i < R2_STMT_COUNT; i++) {
		sqlite3_finalize(b->st[i]);
		b->st[i] = NULL;
	}
	sqlite3_close(b->db);
	b->db = NULL;
}

void
r2_bucket_close(struct r2_bucket *b)
{
	if (b == NULL)
		return;
	r2_bucket_close_db(b);
	if (b->dirfd != -1)
		close(b->dirfd);
	free(b);
}

static bool
r2_names_are_valid(const char *tenant, const char *name)
{
	return store_tenant_is_valid(tenant) && store_resource_is_valid(STORE_R2, name);
}

/* The transport checked both names; they are checked again before any path is built. */
static bool
r2_call_names_are_valid(const struct store_call *c, const char *method, struct store_result *r)
{
	if (!store_tenant_is_valid(c->tenant)) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, method,
		    "The tenant name is not valid.");
		return false;
	}
	if (!store_resource_is_valid(STORE_R2, c->resource)) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_BUCKET_NAME, method,
		    "The specified bucket name is not valid.");
		return false;
	}
	return true;
}

static int
r2_bucket_check(struct r2_bucket *b)
{
	sqlite3_stmt *st = b->st[R2_ST_BUCKET_GET];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		log_warnx(
		    "r2: tenant '%s' bucket '%s': the index has no bucket row", b->tenant, b->name);
	else
		r2_log_db(b, "read the index");
	return -1;
}

static struct r2_bucket *
r2_bucket_open_at(struct r2 *r2, const char *tenant, const char *name, bool *missing)
{
	struct r2_bucket *b;
	char path[PATH_MAX];
	int n;

	*missing = false;
	if (!r2_names_are_valid(tenant, name))
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("r2: cannot open bucket '%s'", name);
		return NULL;
	}
	b->dirfd = -1;
	snprintf(b->tenant, sizeof(b->tenant), "%s", tenant);
	snprintf(b->name, sizeof(b->name), "%s", name);
	n = snprintf(path, sizeof(path), "%s/%s/%s", r2->root, tenant, name);
	if (n < 0 || (size_t)n >= sizeof(path) - sizeof("/index.sqlite")) {
		log_warnx("r2: tenant '%s' bucket '%s': path too long", tenant, name);
		goto fail;
	}
	if ((b->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			*missing = true;
		else
			log_warn("r2: cannot open '%s'", path);
		goto fail;
	}
	if (faccessat(b->dirfd, "index.sqlite", F_OK, AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("r2: tenant '%s' bucket '%s': no index", tenant, name);
		*missing = true;
		goto fail;
	}
	strcat(path, "/index.sqlite");
	if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		r2_log_db(b, "open the index");
		goto fail;
	}
	if (r2_index_configure(b->db) == -1) {
		r2_log_db(b, "configure the index");
		goto fail;
	}
	if (r2_index_prepare(b) == -1 || r2_bucket_check(b) == -1)
		goto fail;
	return b;
fail:
	r2_bucket_close(b);
	return NULL;
}

struct r2_bucket *
r2_bucket_open(struct r2 *r2, const char *tenant, const char *name)
{
	bool missing;

	return r2_bucket_open_at(r2, tenant, name, &missing);
}

static void
r2_cache_evict(struct r2 *r2)
{
	struct r2_bucket *b, *prev;

	for (b = TAILQ_LAST(&r2->buckets, r2_bucket_list); b != NULL && r2->nbuckets > R2_CACHE_MAX;
	     b = prev) {
		prev = TAILQ_PREV(b, r2_bucket_list, entry);
		if (b->refs > 0)
			continue;
		TAILQ_REMOVE(&r2->buckets, b, entry);
		r2->nbuckets--;
		r2_bucket_close(b);
	}
}

static void
r2_cache_detach(struct r2 *r2, struct r2_bucket *b)
{
	if (!b->cached)
		return;
	TAILQ_REMOVE(&r2->buckets, b, entry);
	r2->nbuckets--;
	b->cached = false;
}

struct r2_bucket *
r2_bucket_find(
    struct r2 *r2, const struct store_call *c, const char *method, struct store_result *r)
{
	struct r2_bucket *b;
	bool missing;

	if (!r2_call_names_are_valid(c, method, r))
		return NULL;
	TAILQ_FOREACH (b, &r2->buckets, entry) {
		if (strcmp(b->tenant, c->tenant) == 0 && strcmp(b->name, c->resource) == 0) {
			TAILQ_REMOVE(&r2->buckets, b, entry);
			TAILQ_INSERT_HEAD(&r2->buckets, b, entry);
			return b;
		}
	}
	if ((b = r2_bucket_open_at(r2, c->tenant, c->resource, &missing)) == NULL) {
		if (missing)
			r2_fail(r, STORE_E_NOT_FOUND, R2_CODE_NO_SUCH_BUCKET, method,
			    "The specified bucket does not exist.");
		else
			r2_fail_internal(r, method);
		return NULL;
	}
	b->cached = true;
	TAILQ_INSERT_HEAD(&r2->buckets, b, entry);
	r2->nbuckets++;
	r2_cache_evict(r2);
	return b;
}

void
r2_bucket_hold(struct r2_bucket *b)
{
	b->refs++;
}

void
r2_bucket_release(struct r2 *r2, struct r2_bucket *b)
{
	if (b == NULL)
		return;
	b->refs--;
	if (b->refs == 0 && !b->cached)
		r2_bucket_close(b);
	else if (b->refs == 0)
		r2_cache_evict(r2);
}

/* Opens (creating it when asked) <root>/<tenant>; -1 with errno set on failure. */
static int
r2_tenant_dir(struct r2 *r2, const char *tenant, bool create)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", r2->root, tenant);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (create && mkdir(path, 0700) == 0) {
		/* The root must remember the new folder before a bucket appears in it. */
		if ((fd = open(r2->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			return -1;
		n = fsync(fd);
		close(fd);
		if (n == -1)
			return -1;
	} else if (create && errno != EEXIST)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Writes a new, empty index into the staging folder. */
static int
r2_staging_index(struct r2 *r2, const char *tenant, const char *staging, int64_t created)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	int n, rc = -1;

	n = snprintf(path, sizeof(path), "%s/%s/%s/index.sqlite", r2->root, tenant, staging);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
		NULL) == SQLITE_OK &&
	    r2_index_configure(db) == 0 && r2_index_create(db, created) == 0)
		rc = 0;
	else
		log_warnx("r2: tenant '%s': cannot create an index: %s", tenant,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
	if (sqlite3_close(db) != SQLITE_OK)
		rc = -1;
	return rc;
}

/* Builds a complete bucket folder under a staging name; -1 (logged) on failure. */
static int
r2_staging_build(struct r2 *r2, const char *tenant, int tfd, const char *staging, int64_t created)
{
	int sfd, rc = -1;

	if (mkdirat(tfd, staging, 0700) == -1) {
		log_warn("r2: tenant '%s': cannot create '%s'", tenant, staging);
		return -1;
	}
	if ((sfd = openat(tfd, staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("r2: tenant '%s': cannot open '%s'", tenant, staging);
		return -1;
	}
	if (mkdirat(sfd, "objects", 0700) == -1 || mkdirat(sfd, "tmp", 0700) == -1)
		log_warn("r2: tenant '%s': cannot create the folders of '%s'", tenant, staging);
	else if (r2_staging_index(r2, tenant, staging, created) == 0 && fsync(sfd) == 0)
		rc = 0;
	close(sfd);
	return rc;
}

static void
r2_create_reply(struct store_result *r, int64_t created)
{
	if ((r->doc = json_pack("{s:I}", "creation_date", (json_int_t)created)) == NULL)
		r2_fail_internal(r, "create");
}

void
r2_method_create(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	char staging[sizeof(".new-") + R2_ID_HEX];
	char id[R2_ID_HEX + 1];
	int64_t created = r2_now_ms();
	int tfd;

	if (!r2_call_names_are_valid(c, "create", r))
		return;
	if ((tfd = r2_tenant_dir(r2, c->tenant, true)) == -1) {
		log_warn("r2: tenant '%s': cannot open its folder", c->tenant);
		r2_fail_internal(r, "create");
		return;
	}
	if (faccessat(tfd, c->resource, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r2_fail(r, STORE_E_CONFLICT, R2_CODE_BUCKET_EXISTS, "create",
		    "The bucket you tried to create already exists, and you own it.");
		goto out;
	}
	if (r2_random_id(id) == -1) {
		r2_fail_internal(r, "create");
		goto out;
	}
	snprintf(staging, sizeof(staging), ".new-%s", id);
	if (r2_staging_build(r2, c->tenant, tfd, staging, created) == -1) {
		r2_remove_tree(tfd, staging);
		r2_fail_internal(r, "create");
		goto out;
	}
	if (renameat2(tfd, staging, tfd, c->resource, RENAME_NOREPLACE) == -1) {
		int saved = errno;

		r2_remove_tree(tfd, staging);
		if (saved == EEXIST)
			r2_fail(r, STORE_E_CONFLICT, R2_CODE_BUCKET_EXISTS, "create",
			    "The bucket you tried to create already exists, and you own it.");
		else {
			log_warnx("r2: tenant '%s': cannot rename '%s' to '%s': %s", c->tenant,
			    staging, c->resource, strerror(saved));
			r2_fail_internal(r, "create");
		}
		goto out;
	}
	if (fsync(tfd) == -1) {
		log_warn("r2: tenant '%s': cannot sync its folder", c->tenant);
		r2_fail_internal(r, "create");
		goto out;
	}
	r2_create_reply(r, created);
out:
	close(tfd);
}

static int
r2_bucket_is_empty(struct r2_bucket *b, bool *empty)
{
	sqlite3_stmt *st = b->st[R2_ST_OBJECT_ANY];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r2_log_db(b, "read the index");
		return -1;
	}
	*empty = rc == SQLITE_DONE;
	return 0;
}

/*
 * Renames the bucket away (atomic: it exists or not), then removes the
 * renamed tree; pending multipart uploads go with it.
 */
void
r2_method_drop(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	char trash[sizeof(".trash-") + R2_ID_HEX];
	char id[R2_ID_HEX + 1];
	bool empty;
	int tfd;

	if (r2_bucket_is_empty(b, &empty) == -1 || r2_random_id(id) == -1) {
		r2_fail_internal(r, "drop");
		return;
	}
	if (!empty) {
		r2_fail(r, STORE_E_CONFLICT, R2_CODE_BUCKET_NOT_EMPTY, "drop",
		    "The bucket you tried to delete is not empty");
		return;
	}
	if ((tfd = r2_tenant_dir(r2, c->tenant, false)) == -1) {
		log_warn("r2: tenant '%s': cannot open its folder", c->tenant);
		r2_fail_internal(r, "drop");
		return;
	}
	/*
	 * The connection closes before the rename: closing it later would
	 * unlink "<bucket>/index.sqlite-wal" by name, which by then may be
	 * the WAL of a new bucket of the same name.  Holders (streamed
	 * uploads) only look at `dropped` and the directory fd from now on.
	 */
	r2_cache_detach(r2, b);
	b->dropped = true;
	if (b->refs == 0)
		r2_bucket_close(b);
	else
		r2_bucket_close_db(b);
	snprintf(trash, sizeof(trash), ".trash-%s", id);
	if (renameat(tfd, c->resource, tfd, trash) == -1) {
		log_warn("r2: tenant '%s': cannot drop bucket '%s'", c->tenant, c->resource);
		r2_fail_internal(r, "drop");
		close(tfd);
		return;
	}
	if (fsync(tfd) == -1)
		log_warn("r2: tenant '%s': cannot sync its folder", c->tenant);
	r2_remove_tree(tfd, trash);
	r2_usage_forget(r2, c->tenant);
	if ((r->doc = json_object()) == NULL)
		r2_fail_internal(r, "drop");
	close(tfd);
}
