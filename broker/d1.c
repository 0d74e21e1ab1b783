/*
 * d1: D1 databases on sqlite3, one file per database at
 * <data_dir>/d1/<tenant>/<id>.sqlite.  The backend's entry points, the
 * cache of open connections, and the admin methods that create, drop and
 * describe a database.  Runs in the broker.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/d1_internal.h"
#include "common/log.h"

/* What sqlite keeps next to a database; removed before the database itself. */
static const char *const d1_side_suffixes[] = { "-wal", "-shm", "-journal" };

double
d1_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void
d1_set_time_limit_ms(struct d1 *d1, unsigned ms)
{
	d1->time_limit_ms = ms != 0 ? ms : D1_TIME_LIMIT_MS;
}

void
d1_deadline_start(struct d1 *d1)
{
	d1->deadline_ms = d1_now_ms() + d1->time_limit_ms;
	d1->timed_out = false;
}

bool
d1_deadline_passed(struct d1 *d1)
{
	if (!d1->timed_out && d1_now_ms() >= d1->deadline_ms)
		d1->timed_out = true;
	return d1->timed_out;
}

/* <dir>/<tenant>, or <dir>/<tenant>/<id>.sqlite<suffix> when id is given. */
static int
d1_path(
    struct d1 *d1, const char *tenant, const char *id, const char *suffix, char *buf, size_t len)
{
	int n;

	if (id == NULL)
		n = snprintf(buf, len, "%s/%s", d1->dir, tenant);
	else
		n = snprintf(buf, len, "%s/%s/%s.sqlite%s", d1->dir, tenant, id, suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
d1_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1 || fsync(fd) == -1)
		log_warn("d1: cannot sync '%s'", dir);
	if (fd != -1)
		close(fd);
}

/* Creates dir (0700) unless it exists; it must be a directory, not a link. */
static int
d1_make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("d1: cannot create '%s'", dir);
		return -1;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("d1: '%s' is not a directory", dir);
		return -1;
	}
	return 0;
}

struct d1 *
d1_open(const char *data_dir)
{
	char path[PATH_MAX], *root;
	struct d1 *d1 = NULL;
	int n;

	if ((root = realpath(data_dir, NULL)) == NULL) {
		log_warn("d1: cannot resolve '%s'", data_dir);
		return NULL;
	}
	n = snprintf(path, sizeof(path), "%s/d1", root);
	free(root);
	if (n < 0 || (size_t)n >= sizeof(path) || d1_make_dir(path) == -1)
		return NULL;
	if ((d1 = calloc(1, sizeof(*d1))) == NULL || (d1->dir = strdup(path)) == NULL) {
		log_warn("d1: cannot allocate");
		free(d1);
		return NULL;
	}
	d1->time_limit_ms = D1_TIME_LIMIT_MS;
	if (sqlite3_hard_heap_limit64(-1) == 0)
		sqlite3_hard_heap_limit64(D1_HEAP_LIMIT);
	return d1;
}

void
d1_close(struct d1 *d1)
{
	if (d1 == NULL)
		return;
	for (size_t i = 0; i < D1_CACHE_MAX; i++)
		d1_conn_close(d1->cache[i]);
	free(d1->dir);
	free(d1);
}

static struct d1_conn **
d1_cache_find(struct d1 *d1, const char *tenant, const char *id)
{
	for (size_t i = 0; i < D1_CACHE_MAX; i++) {
		struct d1_conn *conn = d1->cache[i];

		if (conn != NULL && strcmp(conn->tenant, tenant) == 0 && strcmp(conn->id, id) == 0)
			return &d1->cache[i];
	}
	return NULL;
}

/* Takes conn into a free slot, or into the least recently used one's. */
static void
d1_cache_put(struct d1 *d1, struct d1_conn *conn)
{
	size_t victim = 0;

	for (size_t i = 0; i < D1_CACHE_MAX; i++) {
		if (d1->cache[i] == NULL) {
			victim = i;
			break;
		}
		if (d1->cache[i]->last_used < d1->cache[victim]->last_used)
			victim = i;
	}
	d1_conn_close(d1->cache[victim]);
	conn->last_used = ++d1->tick;
	d1->cache[victim] = conn;
}

static void
d1_cache_drop(struct d1 *d1, const char *tenant, const char *id)
{
	struct d1_conn **slot = d1_cache_find(d1, tenant, id);

	if (slot != NULL) {
		d1_conn_close(*slot);
		*slot = NULL;
	}
}

/* The open connection to an existing database; NULL with r set otherwise. */
static struct d1_conn *
d1_cache_get(struct d1 *d1, const struct store_call *c, struct store_result *r)
{
	struct d1_conn **slot = d1_cache_find(d1, c->tenant, c->resource), *conn;
	char path[PATH_MAX];
	struct stat st;

	if (slot != NULL) {
		(*slot)->last_used = ++d1->tick;
		return *slot;
	}
	if (d1_path(d1, c->tenant, c->resource, "", path, sizeof(path)) == -1) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: database path too long");
		return NULL;
	}
	if (lstat(path, &st) == -1 && (errno == ENOENT || errno == ENOTDIR)) {
		store_fail(r, STORE_E_NOT_FOUND, "D1_ERROR: database not found");
		return NULL;
	}
	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("d1 '%s/%s': not a regular file", c->tenant, c->resource);
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: cannot open the database");
		return NULL;
	}
	if ((conn = d1_conn_open(d1, path, c->tenant, c->resource)) == NULL) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: cannot open the database");
		return NULL;
	}
	d1_cache_put(d1, conn);
	return conn;
}

/* Removes a database's side files; ENOENT is no failure. */
static int
d1_remove_side_files(struct d1 *d1, const char *tenant, const char *id)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(d1_side_suffixes) / sizeof(d1_side_suffixes[0]); i++) {
		if (d1_path(d1, tenant, id, d1_side_suffixes[i], path, sizeof(path)) == -1)
			return -1;
		if (unlink(path) == -1 && errno != ENOENT) {
			log_warn("d1 '%s/%s': cannot remove '%s'", tenant, id, path);
			return -1;
		}
	}
	return 0;
}

/*
 * create: an empty file made with O_EXCL (so that two creates cannot both
 * win), then opened by sqlite, which turns it into a WAL database.  Side
 * files left by a drop that crashed half-way go first: a stale -wal next to
 * a new file would bring the old rows back.
 */
static void
d1_create(struct d1 *d1, const struct store_call *c, struct store_result *r)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct d1_conn *conn;
	struct stat st;
	int fd;

	if (d1_path(d1, c->tenant, NULL, NULL, dir, sizeof(dir)) == -1 ||
	    d1_path(d1, c->tenant, c->resource, "", path, sizeof(path)) == -1 ||
	    d1_make_dir(dir) == -1)
		goto internal;
	if (lstat(path, &st) == 0) {
		store_fail(r, STORE_E_CONFLICT, "D1_ERROR: database already exists");
		return;
	}
	if (d1_remove_side_files(d1, c->tenant, c->resource) == -1)
		goto internal;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		store_fail(r, STORE_E_CONFLICT, "D1_ERROR: database already exists");
		return;
	}
	if (fd == -1) {
		log_warn("d1 '%s/%s': cannot create the database file", c->tenant, c->resource);
		goto internal;
	}
	close(fd);
	if ((conn = d1_conn_open(d1, path, c->tenant, c->resource)) == NULL) {
		unlink(path);
		d1_remove_side_files(d1, c->tenant, c->resource);
		goto internal;
	}
	d1_sync_dir(dir);
	d1_sync_dir(d1->dir);
	d1_cache_put(d1, conn);
	r->doc = json_object();
	return;
internal:
	store_fail(r, STORE_E_INTERNAL, "D1_ERROR: cannot create the database");
}

/* drop: closes the connection (which checkpoints), then removes every file. */
static void
d1_drop(struct d1 *d1, const struct store_call *c, struct store_result *r)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct stat st;

	if (d1_path(d1, c->tenant, NULL, NULL, dir, sizeof(dir)) == -1 ||
	    d1_path(d1, c->tenant, c->resource, "", path, sizeof(path)) == -1) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: database path too long");
		return;
	}
	if (lstat(path, &st) == -1) {
		store_fail(r, STORE_E_NOT_FOUND, "D1_ERROR: database not found");
		return;
	}
	d1_cache_drop(d1, c->tenant, c->resource);
	if (d1_remove_side_files(d1, c->tenant, c->resource) == -1 || unlink(path) == -1) {
		log_warn("d1 '%s/%s': cannot remove the database", c->tenant, c->resource);
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: cannot drop the database");
		return;
	}
	d1_sync_dir(dir);
	r->doc = json_object();
}

static void
d1_info(struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	int64_t tables = d1_conn_int(conn,
	    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
	    "'sqlite\\_%' ESCAPE '\\'");

	(void)c;
	if (tables < 0) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: cannot read the schema");
		return;
	}
	r->doc = json_pack("{s:I, s:I}", "file_size", (json_int_t)d1_conn_size(conn), "num_tables",
	    (json_int_t)tables);
}

static const struct d1_method {
	const char *name;
	bool admin;
	/* Exactly one: methods that make or remove a database, or run on one. */
	void (*on_store)(struct d1 *, const struct store_call *, struct store_result *);
	void (*on_db)(struct d1_conn *, const struct store_call *, struct store_result *);
} d1_methods[] = {
	{ "query", false, NULL, d1_query },
	{ "batch", false, NULL, d1_batch },
	{ "exec", false, NULL, d1_exec },
	{ "queryAll", true, NULL, d1_query_all },
	{ "create", true, d1_create, NULL },
	{ "drop", true, d1_drop, NULL },
	{ "info", true, NULL, d1_info },
};

static const struct d1_method *
d1_method_find(const char *name, bool admin)
{
	for (size_t i = 0; name != NULL && i < sizeof(d1_methods) / sizeof(d1_methods[0]); i++)
		if (strcmp(d1_methods[i].name, name) == 0)
			return d1_methods[i].admin && !admin ? NULL : &d1_methods[i];
	return NULL;
}

/* The message goes out as a UTF-8 string: a byte that is not (a cut sequence) becomes '?'. */
static void
d1_message_sanitize(char *msg)
{
	size_t len = strlen(msg), step;

	for (size_t i = 0; i < len; i += step)
		if ((step = d1_utf8_sequence((unsigned char *)msg + i, len - i)) == 0) {
			msg[i] = '?';
			step = 1;
		}
}

static int
d1_apply_quota(struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	uint64_t bytes = c->limits != NULL ? c->limits->d1_bytes : 0;

	if (conn->has_quota && conn->quota == bytes)
		return 0;
	if (d1_conn_set_quota(conn, bytes) == -1) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: cannot apply the quota");
		return -1;
	}
	return 0;
}

void
d1_call(struct d1 *d1, const struct store_call *c, struct store_result *r)
{
	const struct d1_method *m = d1_method_find(c->method, c->admin);
	struct d1_conn *conn;

	if (m == NULL) {
		store_fail(r, STORE_E_INVALID, "D1_ERROR: unknown method '%.64s'",
		    c->method != NULL ? c->method : "");
		goto out;
	}
	/* The transport checked both; they become parts of a path, so check again. */
	if (!store_tenant_is_valid(c->tenant) || !store_resource_is_valid(STORE_D1, c->resource)) {
		log_warnx("d1: call with an invalid tenant or database id");
		store_fail(r, STORE_E_INVALID, "D1_ERROR: invalid database id");
		goto out;
	}
	if (!json_is_object(c->args)) {
		store_fail(r, STORE_E_INVALID, "D1_ERROR: arguments must be an object");
		goto out;
	}
	d1_deadline_start(d1);
	if (m->on_store != NULL)
		m->on_store(d1, c, r);
	else if ((conn = d1_cache_get(d1, c, r)) != NULL && d1_apply_quota(conn, c, r) == 0)
		m->on_db(conn, c, r);
out:
	d1_message_sanitize(r->message);
}
