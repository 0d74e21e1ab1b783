/*
 * meta: <data_dir>/meta.sqlite in the supervisor: the schema, the statements
 * and the sqlite helpers meta_internal.h shares, tenants, workers and their
 * versions.  Every statement is prepared once from the table below and
 * every input is bound; no SQL is ever built from strings.  Routes are in
 * meta_routes.c, tenant tokens in meta_tokens.c, the storage registry (KV,
 * D1, R2) in meta_storage.c.
 */
#include "supervisor/meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <sqlite3.h>

#include "common/hex.h"
#include "common/log.h"
#include "supervisor/meta_internal.h"

#define META_BUSY_TIMEOUT_MS 5000

static const char meta_schema[] =
    "CREATE TABLE IF NOT EXISTS tenants ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS workers ("
    "  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  active_version INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  modified_on INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, name));"
    "CREATE TABLE IF NOT EXISTS versions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant TEXT NOT NULL,"
    "  worker TEXT NOT NULL,"
    "  format INTEGER NOT NULL,"
    "  script BLOB NOT NULL,"
    "  bindings TEXT NOT NULL,"
    "  compatibility_date TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  FOREIGN KEY (tenant, worker) REFERENCES workers(tenant, name) ON DELETE CASCADE);"
    "CREATE INDEX IF NOT EXISTS versions_by_worker ON versions(tenant, worker, id);"
    "CREATE TABLE IF NOT EXISTS routes ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  pattern TEXT NOT NULL UNIQUE,"
    "  host TEXT NOT NULL,"
    "  worker TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS routes_by_host ON routes(host);"
    "CREATE INDEX IF NOT EXISTS routes_by_tenant ON routes(tenant);"
    /*
     * Added after the first release: a table of its own (not a column on
     * tenants) so that an older meta.sqlite gains it with IF NOT EXISTS and
     * needs no migration.  NULL = not set.
     */
    "CREATE TABLE IF NOT EXISTS tenant_limits ("
    "  tenant TEXT PRIMARY KEY NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  cpu_ms INTEGER,"
    "  wall_ms INTEGER,"
    "  max_sandboxes_per_version INTEGER,"
    "  request_queue_max INTEGER);"
    /*
     * Tenant-scoped admin tokens, also added after the first release (IF NOT
     * EXISTS upgrades an older file).  Only a SHA-256 of the token is kept.
     */
    "CREATE TABLE IF NOT EXISTS tenant_tokens ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tenant_tokens_by_tenant ON tenant_tokens(tenant);";

/* The columns every version query returns, in this order. */
#define META_VERSION_COLUMNS                                                                       \
	"v.id, v.tenant, v.worker, v.format, v.compatibility_date, v.created_at, "                 \
	"w.active_version = v.id"

/* The statements, as data; columns 7 and 8 of version queries are script, bindings. */
static const char *const meta_sql[META_STMT_COUNT] = {
	[META_BEGIN] = "BEGIN IMMEDIATE",
	[META_COMMIT] = "COMMIT",
	[META_ROLLBACK] = "ROLLBACK",
	[META_TENANT_INSERT] = "INSERT OR IGNORE INTO tenants(name, created_at) VALUES (?1, ?2)",
	[META_TENANT_EXISTS] = "SELECT 1 FROM tenants WHERE name = ?1",
	[META_LIMITS_PUT] =
	    "INSERT OR REPLACE INTO tenant_limits(tenant, cpu_ms, wall_ms,"
	    " max_sandboxes_per_version, request_queue_max) VALUES (?1, ?2, ?3, ?4, ?5)",
	[META_LIMITS_GET] =
	    "SELECT l.cpu_ms, l.wall_ms, l.max_sandboxes_per_version, l.request_queue_max"
	    " FROM tenants t LEFT JOIN tenant_limits l ON l.tenant = t.name WHERE t.name = ?1",
	[META_WORKER_INSERT] =
	    "INSERT OR IGNORE INTO workers(tenant, name, active_version, created_at, modified_on)"
	    " VALUES (?1, ?2, NULL, ?3, ?3)",
	[META_WORKER_ACTIVATE] = "UPDATE workers SET active_version = ?3, modified_on = ?4"
				 " WHERE tenant = ?1 AND name = ?2",
	[META_WORKER_DELETE] = "DELETE FROM workers WHERE tenant = ?1 AND name = ?2",
	[META_VERSION_INSERT] =
	    "INSERT INTO versions(tenant, worker, format, script, bindings, compatibility_date,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[META_VERSION_ACTIVE_ALL] = "SELECT " META_VERSION_COLUMNS ", v.script, v.bindings"
				    " FROM workers w JOIN versions v ON v.id = w.active_version"
				    " ORDER BY w.tenant, w.name",
	[META_VERSION_ACTIVE_TENANT] = "SELECT " META_VERSION_COLUMNS
				       " FROM workers w JOIN versions v ON v.id = w.active_version"
				       " WHERE w.tenant = ?1 ORDER BY w.name",
	[META_VERSION_OF_WORKER] =
	    "SELECT " META_VERSION_COLUMNS
	    " FROM versions v JOIN workers w ON w.tenant = v.tenant AND w.name = v.worker"
	    " WHERE v.tenant = ?1 AND v.worker = ?2 ORDER BY v.id DESC",
	[META_VERSION_GET] =
	    "SELECT " META_VERSION_COLUMNS ", v.script, v.bindings"
	    " FROM versions v JOIN workers w ON w.tenant = v.tenant AND w.name = v.worker"
	    " WHERE v.id = ?1",
	[META_ROUTE_HOST_TAKEN] = "SELECT 1 FROM routes WHERE host = ?1 AND tenant <> ?2 LIMIT 1",
	[META_ROUTE_INSERT] = "INSERT INTO routes(id, tenant, pattern, host, worker, created_at)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[META_ROUTE_DELETE] = "DELETE FROM routes WHERE id = ?1 AND tenant = ?2",
	[META_ROUTE_DELETE_WORKER] = "DELETE FROM routes WHERE tenant = ?1 AND worker = ?2",
	[META_ROUTE_ALL] =
	    "SELECT id, tenant, pattern, worker FROM routes ORDER BY created_at, rowid",
	[META_ROUTE_TENANT] = "SELECT id, tenant, pattern, worker FROM routes WHERE tenant = ?1"
			      " ORDER BY created_at, rowid",
	[META_TOKEN_INSERT] = "INSERT INTO tenant_tokens(id, tenant, hash, created_at)"
			      " VALUES (?1, ?2, ?3, ?4)",
	[META_TOKEN_LOOKUP] = "SELECT tenant FROM tenant_tokens WHERE hash = ?1",
	[META_TOKEN_DELETE] = "DELETE FROM tenant_tokens WHERE id = ?1 AND tenant = ?2",
	[META_TOKEN_TENANT] = "SELECT id, tenant, created_at FROM tenant_tokens WHERE tenant = ?1"
			      " ORDER BY created_at, rowid",
};

struct meta {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[META_STMT_COUNT];
	struct meta_storage *storage; /* meta_storage.c */
};

static char meta_empty[1];

void
meta_log_db(struct meta *m, const char *what)
{
	log_warnx("meta: cannot %s in '%s': %s", what, m->path, sqlite3_errmsg(m->db));
}

sqlite3 *
meta_db(struct meta *m)
{
	return m->db;
}

struct meta_storage *
meta_storage_of(struct meta *m)
{
	return m->storage;
}

sqlite3_stmt *
meta_stmt_ready(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

sqlite3_stmt *
meta_stmt(struct meta *m, enum meta_stmt_id id)
{
	return meta_stmt_ready(m->stmt[id]);
}

int
meta_prepare_all(struct meta *m, const char *const *sql, size_t n, sqlite3_stmt **st)
{
	for (size_t i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(
			m->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK) {
			meta_log_db(m, "prepare a statement");
			return -1;
		}
	}
	return 0;
}

void
meta_finalize_all(sqlite3_stmt **st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
}

int
meta_step_end(struct meta *m, sqlite3_stmt *st, int rc, const char *what)
{
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	meta_log_db(m, what);
	return -1;
}

int
meta_walk_end(struct meta *m, sqlite3_stmt *st, int rc, int stop, const char *what)
{
	/* A walk the callback stopped ended on a row: no error to report. */
	rc = meta_step_end(m, st, rc, what);
	return stop != 0 ? stop : rc;
}

int
meta_exec_stmt(struct meta *m, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		meta_log_db(m, what);
		return -1;
	}
	return 0;
}

int
meta_exec_changes(struct meta *m, sqlite3_stmt *st, const char *what)
{
	if (meta_exec_stmt(m, st, what) == -1)
		return -1;
	return sqlite3_changes(m->db) > 0 ? 1 : 0;
}

int
meta_exec_insert(struct meta *m, sqlite3_stmt *st, int conflict, const char *what)
{
	int rc = sqlite3_step(st), code;

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	/* An extended code names itself; a primary one stands for all its extended codes. */
	code = sqlite3_extended_errcode(m->db);
	if (code == conflict || (code & 0xff) == conflict)
		return 1;
	meta_log_db(m, what);
	return -1;
}

int
meta_begin(struct meta *m)
{
	return meta_exec_stmt(m, meta_stmt(m, META_BEGIN), "begin a transaction");
}

int
meta_commit(struct meta *m)
{
	return meta_exec_stmt(m, meta_stmt(m, META_COMMIT), "commit");
}

void
meta_rollback(struct meta *m)
{
	int saved = errno;

	if (sqlite3_get_autocommit(m->db) == 0)
		(void)meta_exec_stmt(m, meta_stmt(m, META_ROLLBACK), "roll back");
	errno = saved;
}

int
meta_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

int
meta_bind_int(sqlite3_stmt *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st, idx, v) == SQLITE_OK ? 0 : -1;
}

static int
meta_configure(struct meta *m)
{
	static const char pragmas[] = "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = FULL;"
				      "PRAGMA foreign_keys = ON;";

	sqlite3_busy_timeout(m->db, META_BUSY_TIMEOUT_MS);
	sqlite3_db_config(m->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(m->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(m->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (sqlite3_exec(m->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		meta_log_db(m, "set the pragmas");
		return -1;
	}
	if (sqlite3_exec(m->db, meta_schema, NULL, NULL, NULL) != SQLITE_OK) {
		meta_log_db(m, "create the schema");
		return -1;
	}
	return 0;
}

struct meta *
meta_open(const char *path)
{
	struct meta *m;

	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(path)) == NULL) {
		log_warn("meta: cannot open '%s'", path);
		free(m);
		return NULL;
	}
	if (sqlite3_open_v2(path, &m->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
		NULL) != SQLITE_OK) {
		if (m->db != NULL)
			meta_log_db(m, "open the database");
		else
			log_warnx("meta: cannot open '%s': out of memory", path);
		goto fail;
	}
	if (meta_configure(m) == -1 ||
	    meta_prepare_all(m, meta_sql, META_STMT_COUNT, m->stmt) == -1 ||
	    (m->storage = meta_storage_open(m)) == NULL)
		goto fail;
	return m;
fail:
	meta_close(m);
	return NULL;
}

void
meta_close(struct meta *m)
{
	if (m == NULL)
		return;
	meta_storage_close(m->storage);
	meta_finalize_all(m->stmt, META_STMT_COUNT);
	if (m->db != NULL && sqlite3_close(m->db) != SQLITE_OK)
		meta_log_db(m, "close the database");
	free(m->path);
	free(m);
}

bool
meta_name_is_valid(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= META_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* --- tenants ------------------------------------------------------------- */

int
meta_tenant_put(struct meta *m, const char *tenant)
{
	sqlite3_stmt *st = meta_stmt(m, META_TENANT_INSERT);

	if (!meta_name_is_valid(tenant))
		return -1;
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_int(st, 2, time(NULL)) == -1)
		return -1;
	return meta_exec_changes(m, st, "insert a tenant");
}

bool
meta_tenant_exists(struct meta *m, const char *tenant)
{
	sqlite3_stmt *st = meta_stmt(m, META_TENANT_EXISTS);

	if (meta_bind_text(st, 1, tenant) == -1)
		return false;
	return meta_step_end(m, st, sqlite3_step(st), "look up a tenant") == 1;
}

/* Binds a limit: NULL when unset. */
static int
meta_bind_limit(sqlite3_stmt *st, int idx, unsigned v, bool set)
{
	if (!set)
		return sqlite3_bind_null(st, idx) == SQLITE_OK ? 0 : -1;
	return meta_bind_int(st, idx, v);
}

int
meta_tenant_limits_put(struct meta *m, const char *tenant, const struct meta_limits *l)
{
	sqlite3_stmt *st;

	if (!meta_name_is_valid(tenant))
		return -1;
	if (!meta_tenant_exists(m, tenant))
		return 0;
	st = meta_stmt(m, META_LIMITS_PUT);
	if (meta_bind_text(st, 1, tenant) == -1 ||
	    meta_bind_limit(st, 2, l->cpu_ms, l->cpu_ms > 0) == -1 ||
	    meta_bind_limit(st, 3, l->wall_ms, l->wall_ms > 0) == -1 ||
	    meta_bind_limit(st, 4, l->max_per_version, l->max_per_version > 0) == -1 ||
	    meta_bind_limit(st, 5, l->queue_max, l->queue_max_set) == -1)
		return -1;
	return meta_exec_stmt(m, st, "store tenant limits") == -1 ? -1 : 1;
}

/* A stored limit: 0 for NULL, and for anything a hand-edited database made invalid. */
static unsigned
meta_column_limit(sqlite3_stmt *st, int col, bool *set)
{
	sqlite3_int64 v;

	if (set != NULL)
		*set = false;
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return 0;
	v = sqlite3_column_int64(st, col);
	if (v < 0 || v > UINT32_MAX)
		return 0;
	if (set != NULL)
		*set = true;
	return (unsigned)v;
}

int
meta_tenant_limits_get(struct meta *m, const char *tenant, struct meta_limits *out)
{
	sqlite3_stmt *st = meta_stmt(m, META_LIMITS_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->cpu_ms = meta_column_limit(st, 0, NULL);
		out->wall_ms = meta_column_limit(st, 1, NULL);
		out->max_per_version = meta_column_limit(st, 2, NULL);
		out->queue_max = meta_column_limit(st, 3, &out->queue_max_set);
	}
	return meta_step_end(m, st, rc, "read tenant limits");
}

/* --- versions ------------------------------------------------------------ */

void
meta_version_release(struct meta_version *v)
{
	if (v == NULL)
		return;
	if (v->script != meta_empty)
		free(v->script);
	if (v->bindings != meta_empty)
		free(v->bindings);
	if (v->compatibility_date != meta_empty)
		free(v->compatibility_date);
	v->script = v->bindings = v->compatibility_date = NULL;
	v->script_len = 0;
}

static int
meta_version_insert(struct meta *m, const char *tenant, const char *worker, int format,
    const char *script, size_t script_len, const char *bindings, const char *compat, int64_t now,
    uint64_t *id)
{
	sqlite3_stmt *st = meta_stmt(m, META_WORKER_INSERT);

	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, worker) == -1 ||
	    meta_bind_int(st, 3, now) == -1 || meta_exec_stmt(m, st, "insert a worker") == -1)
		return -1;
	st = meta_stmt(m, META_VERSION_INSERT);
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, worker) == -1 ||
	    meta_bind_int(st, 3, format) == -1 ||
	    sqlite3_bind_blob64(st, 4, script_len > 0 ? script : "", script_len, SQLITE_STATIC) !=
		SQLITE_OK ||
	    meta_bind_text(st, 5, bindings) == -1 || meta_bind_text(st, 6, compat) == -1 ||
	    meta_bind_int(st, 7, now) == -1 || meta_exec_stmt(m, st, "insert a version") == -1)
		return -1;
	*id = (uint64_t)sqlite3_last_insert_rowid(m->db);
	st = meta_stmt(m, META_WORKER_ACTIVATE);
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, worker) == -1 ||
	    meta_bind_int(st, 3, (int64_t)*id) == -1 || meta_bind_int(st, 4, now) == -1 ||
	    meta_exec_stmt(m, st, "activate a version") == -1)
		return -1;
	return 0;
}

int
meta_version_add(struct meta *m, const char *tenant, const char *worker, int format,
    const char *script, size_t script_len, const char *bindings, const char *compatibility_date,
    uint64_t *id)
{
	if (!meta_name_is_valid(tenant) || !meta_name_is_valid(worker) || script == NULL)
		return -1;
	if (bindings == NULL)
		bindings = "[]";
	if (compatibility_date == NULL)
		compatibility_date = "";
	if (meta_begin(m) == -1)
		return -1;
	if (meta_version_insert(m, tenant, worker, format, script, script_len, bindings,
		compatibility_date, (int64_t)time(NULL), id) == -1 ||
	    meta_commit(m) == -1) {
		meta_rollback(m);
		return -1;
	}
	return 0;
}

int
meta_worker_delete(struct meta *m, const char *tenant, const char *worker)
{
	sqlite3_stmt *st;
	int deleted;

	if (meta_begin(m) == -1)
		return -1;
	st = meta_stmt(m, META_WORKER_DELETE);
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, worker) == -1 ||
	    (deleted = meta_exec_changes(m, st, "delete a worker")) == -1)
		goto fail;
	st = meta_stmt(m, META_ROUTE_DELETE_WORKER);
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, worker) == -1 ||
	    meta_exec_stmt(m, st, "delete a worker's routes") == -1)
		goto fail;
	if (meta_commit(m) == -1)
		goto fail;
	return deleted;
fail:
	meta_rollback(m);
	return -1;
}

void
meta_copy_text(char *dst, size_t dst_len, const unsigned char *src)
{
	snprintf(dst, dst_len, "%s", src != NULL ? (const char *)src : "");
}

void
meta_copy_name(char *dst, const unsigned char *src)
{
	meta_copy_text(dst, META_NAME_MAX + 1, src);
}

/* Fills v from a row of META_VERSION_COLUMNS (+ script, bindings when full), borrowed. */
static void
meta_version_from_row(sqlite3_stmt *st, bool full, struct meta_version *v)
{
	const unsigned char *date;

	memset(v, 0, sizeof(*v));
	v->id = (uint64_t)sqlite3_column_int64(st, 0);
	meta_copy_name(v->tenant, sqlite3_column_text(st, 1));
	meta_copy_name(v->worker, sqlite3_column_text(st, 2));
	v->format = sqlite3_column_int(st, 3);
	date = sqlite3_column_text(st, 4);
	v->compatibility_date = date != NULL ? (char *)date : meta_empty;
	v->created_at = sqlite3_column_int64(st, 5);
	v->active = sqlite3_column_int(st, 6) != 0;
	v->script = v->bindings = meta_empty;
	if (full) {
		/* column_text on a BLOB yields the bytes with a terminating NUL. */
		const unsigned char *script = sqlite3_column_text(st, 7);
		const unsigned char *bindings = sqlite3_column_text(st, 8);

		if (script != NULL) {
			v->script = (char *)script;
			v->script_len = (size_t)sqlite3_column_bytes(st, 7);
		}
		if (bindings != NULL)
			v->bindings = (char *)bindings;
	}
}

/* Steps a bound version query, calling cb on each row. */
static int
meta_walk_versions(struct meta *m, sqlite3_stmt *st, bool full, meta_version_cb cb, void *arg)
{
	struct meta_version v;
	int rc, stop = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		meta_version_from_row(st, full, &v);
		if ((stop = cb(&v, arg)) != 0)
			break;
	}
	return meta_walk_end(m, st, rc, stop, "list versions");
}

int
meta_foreach_active_version(struct meta *m, meta_version_cb cb, void *arg)
{
	return meta_walk_versions(m, meta_stmt(m, META_VERSION_ACTIVE_ALL), true, cb, arg);
}

int
meta_foreach_active_version_brief(struct meta *m, meta_version_cb cb, void *arg)
{
	/* Without touching the script columns, sqlite leaves their pages unread. */
	return meta_walk_versions(m, meta_stmt(m, META_VERSION_ACTIVE_ALL), false, cb, arg);
}

int
meta_foreach_worker(struct meta *m, const char *tenant, meta_version_cb cb, void *arg)
{
	sqlite3_stmt *st = meta_stmt(m, META_VERSION_ACTIVE_TENANT);

	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	return meta_walk_versions(m, st, false, cb, arg);
}

int
meta_foreach_version(
    struct meta *m, const char *tenant, const char *worker, meta_version_cb cb, void *arg)
{
	sqlite3_stmt *st = meta_stmt(m, META_VERSION_OF_WORKER);

	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, worker) == -1)
		return -1;
	return meta_walk_versions(m, st, false, cb, arg);
}

static char *
meta_dup_bytes(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static int
meta_version_copy(const struct meta_version *v, void *arg)
{
	struct meta_version *out = arg;

	*out = *v;
	out->script = meta_dup_bytes(v->script, v->script_len);
	out->bindings = meta_dup_bytes(v->bindings, strlen(v->bindings));
	out->compatibility_date =
	    meta_dup_bytes(v->compatibility_date, strlen(v->compatibility_date));
	if (out->script == NULL || out->bindings == NULL || out->compatibility_date == NULL) {
		meta_version_release(out);
		return -1;
	}
	return 1;
}

int
meta_version_get(struct meta *m, uint64_t id, struct meta_version *out)
{
	sqlite3_stmt *st = meta_stmt(m, META_VERSION_GET);

	memset(out, 0, sizeof(*out));
	if (id > INT64_MAX)
		return 0;
	if (meta_bind_int(st, 1, (int64_t)id) == -1)
		return -1;
	return meta_walk_versions(m, st, true, meta_version_copy, out);
}

/* --- ids ---------------------------------------------------------------- */

int
meta_random_bytes(void *out, size_t len, const char *what)
{
	unsigned char *p = out;
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("meta: cannot make %s", what);
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int
meta_random_hex(char *out, size_t len, const char *what)
{
	unsigned char raw[64];

	if (len > sizeof(raw) || meta_random_bytes(raw, len, what) == -1)
		return -1;
	hex_encode(raw, len, out);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}
