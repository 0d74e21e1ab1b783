/*
 * d1_conn: one D1 database connection, opened and guarded against the
 * tenant SQL it will run (defensive config, limits, an authorizer and a
 * wall-time progress handler), and its error wording.  Runs in the broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/d1_internal.h"
#include "common/log.h"

/* max_page_count for "unlimited": the largest page count sqlite allows here. */
#define D1_PAGES_UNLIMITED 1073741823ull

static const struct {
	int op;
	int value;
} d1_conn_config[] = {
	{ SQLITE_DBCONFIG_DEFENSIVE, 1 },
	{ SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0 },
	{ SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0 },
	/* Debian builds with SQLITE_ENABLE_FTS3_TOKENIZER, which turns this on. */
	{ SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0 },
	{ SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0 },
	{ SQLITE_DBCONFIG_RESET_DATABASE, 0 },
	{ SQLITE_DBCONFIG_ENABLE_TRIGGER, 1 },
	{ SQLITE_DBCONFIG_ENABLE_VIEW, 1 },
	/* D1 enforces foreign keys unless a query defers them. */
	{ SQLITE_DBCONFIG_ENABLE_FKEY, 1 },
};

static const struct {
	int id;
	int value;
} d1_conn_limits[] = {
	{ SQLITE_LIMIT_LENGTH, D1_VALUE_MAX },
	{ SQLITE_LIMIT_SQL_LENGTH, D1_STATEMENT_MAX },
	{ SQLITE_LIMIT_COLUMN, 100 },
	{ SQLITE_LIMIT_EXPR_DEPTH, 100 },
	{ SQLITE_LIMIT_FUNCTION_ARG, 32 },
	{ SQLITE_LIMIT_ATTACHED, 0 },
	{ SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50 },
	{ SQLITE_LIMIT_VARIABLE_NUMBER, D1_PARAMS_MAX },
	{ SQLITE_LIMIT_TRIGGER_DEPTH, 100 },
	{ SQLITE_LIMIT_VDBE_OP, D1_PROGRAM_MAX },
};

/*
 * PRAGMAs tenant SQL may run: introspection (any argument is a table or
 * index name), two settings only read (the FTS and R*Tree modules read
 * them when a table is created), and the two foreign-key switches (no
 * argument, or a boolean).  Everything else is denied: the rest either
 * changes how the file is kept (journal_mode, synchronous, max_page_count)
 * or reaches past the schema (writable_schema).
 */
static const char *const d1_pragma_read[] = {
	"table_info",
	"table_xinfo",
	"table_list",
	"index_list",
	"index_info",
	"index_xinfo",
	"foreign_key_list",
	"foreign_key_check",
};
static const char *const d1_pragma_get[] = { "page_size", "data_version" };
static const char *const d1_pragma_switch[] = { "foreign_keys", "defer_foreign_keys" };
static const char *const d1_pragma_bool[] = { "0", "1", "on", "off", "true", "false", "yes", "no" };

/* Virtual-table modules tenants may create: full-text search and R*Trees. */
static const char *const d1_vtab_modules[] = { "fts3", "fts4", "fts5", "fts5vocab", "rtree",
	"rtree_i32" };

/*
 * SQL functions denied although built in: load_extension() loads code;
 * fts3_tokenizer() with a bound blob takes a raw pointer.
 */
static const char *const d1_functions_denied[] = { "load_extension", "fts3_tokenizer" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool
d1_name_in(const char *name, const char *const *list, size_t n)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return true;
	return false;
}

static bool
d1_pragma_is_allowed(const char *name, const char *value)
{
	if (d1_name_in(name, d1_pragma_read, NELEM(d1_pragma_read)))
		return true;
	if (d1_name_in(name, d1_pragma_get, NELEM(d1_pragma_get)))
		return value == NULL;
	if (d1_name_in(name, d1_pragma_switch, NELEM(d1_pragma_switch)))
		return value == NULL || d1_name_in(value, d1_pragma_bool, NELEM(d1_pragma_bool));
	return false;
}

static bool
d1_action_changes_schema(int action)
{
	switch (action) {
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_VIEW:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_VIEW:
	case SQLITE_ALTER_TABLE:
	case SQLITE_REINDEX:
	case SQLITE_ANALYZE:
	case SQLITE_CREATE_VTABLE:
	case SQLITE_DROP_VTABLE:
		return true;
	}
	return false;
}

/*
 * The authorizer, consulted while tenant SQL is compiled.  Transactions
 * are ours (every call is one), so BEGIN/COMMIT/SAVEPOINT are denied with
 * ATTACH and DETACH; nothing may name a schema but "main" and "temp".  It
 * is called for every column a statement reads, which makes it the place
 * to keep a huge statement's compilation within the time limit.
 */
static int
d1_conn_authorize(
    void *arg, int action, const char *a1, const char *a2, const char *schema, const char *trigger)
{
	struct d1_conn *conn = arg;

	(void)trigger;
	if (conn->trusted)
		return SQLITE_OK;
	if ((++conn->authorized & 1023) == 0 && d1_deadline_passed(conn->d1))
		return SQLITE_DENY;
	if (schema != NULL && strcmp(schema, "main") != 0 && strcmp(schema, "temp") != 0)
		return SQLITE_DENY;
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return SQLITE_DENY;
	case SQLITE_PRAGMA:
		return d1_pragma_is_allowed(a1, a2) ? SQLITE_OK : SQLITE_DENY;
	case SQLITE_FUNCTION:
		return d1_name_in(a2, d1_functions_denied, NELEM(d1_functions_denied)) ? SQLITE_DENY
										       : SQLITE_OK;
	case SQLITE_CREATE_VTABLE:
	case SQLITE_DROP_VTABLE:
		if (!d1_name_in(a2, d1_vtab_modules, NELEM(d1_vtab_modules)))
			return SQLITE_DENY;
		break;
	}
	if (d1_action_changes_schema(action))
		conn->ddl = true;
	return SQLITE_OK;
}

/* The progress handler: a non-zero return interrupts the statement. */
static int
d1_conn_on_progress(void *arg)
{
	struct d1_conn *conn = arg;

	if (conn->trusted)
		return 0;
	return d1_deadline_passed(conn->d1);
}

int
d1_conn_exec(struct d1_conn *conn, const char *sql)
{
	int rc;

	conn->trusted = true;
	rc = sqlite3_exec(conn->db, sql, NULL, NULL, NULL);
	conn->trusted = false;
	return rc;
}

int64_t
d1_conn_int(struct d1_conn *conn, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int64_t v = -1;

	conn->trusted = true;
	if (sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	conn->trusted = false;
	return v;
}

static bool
d1_conn_text_is(struct d1_conn *conn, const char *sql, const char *want)
{
	sqlite3_stmt *stmt = NULL;
	bool same = false;

	conn->trusted = true;
	if (sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != NULL)
		same = strcasecmp((const char *)sqlite3_column_text(stmt, 0), want) == 0;
	sqlite3_finalize(stmt);
	conn->trusted = false;
	return same;
}

/* Defensive config and limits; each config option is read back. */
static int
d1_conn_harden(struct d1_conn *conn)
{
	for (size_t i = 0; i < NELEM(d1_conn_config); i++) {
		int got = -1;

		if (sqlite3_db_config(conn->db, d1_conn_config[i].op, d1_conn_config[i].value,
			&got) != SQLITE_OK ||
		    got != d1_conn_config[i].value) {
			log_warnx("d1 '%s/%s': cannot set sqlite option %d", conn->tenant, conn->id,
			    d1_conn_config[i].op);
			return -1;
		}
	}
	if (sqlite3_enable_load_extension(conn->db, 0) != SQLITE_OK)
		return -1;
	for (size_t i = 0; i < NELEM(d1_conn_limits); i++) {
		sqlite3_limit(conn->db, d1_conn_limits[i].id, d1_conn_limits[i].value);
		if (sqlite3_limit(conn->db, d1_conn_limits[i].id, -1) != d1_conn_limits[i].value) {
			log_warnx("d1 '%s/%s': cannot set sqlite limit %d", conn->tenant, conn->id,
			    d1_conn_limits[i].id);
			return -1;
		}
	}
	sqlite3_extended_result_codes(conn->db, 0);
	if (sqlite3_set_authorizer(conn->db, d1_conn_authorize, conn) != SQLITE_OK)
		return -1;
	sqlite3_progress_handler(conn->db, D1_PROGRESS_OPS, d1_conn_on_progress, conn);
	return 0;
}

/*
 * Durability: WAL, and synchronous=FULL so that a commit is on disk before
 * the call answers.  journal_size_limit keeps a checkpointed WAL small.
 */
static int
d1_conn_setup(struct d1_conn *conn)
{
	if (!d1_conn_text_is(conn, "PRAGMA journal_mode=WAL", "wal") ||
	    d1_conn_exec(conn, "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=16777216") !=
		SQLITE_OK ||
	    d1_conn_int(conn, "PRAGMA synchronous") != 2) {
		log_warnx("d1 '%s/%s': cannot set WAL and synchronous=FULL: %s", conn->tenant,
		    conn->id, sqlite3_errmsg(conn->db));
		return -1;
	}
	conn->page_size = d1_conn_int(conn, "PRAGMA page_size");
	if (conn->page_size <= 0) {
		log_warnx("d1 '%s/%s': cannot read the page size", conn->tenant, conn->id);
		return -1;
	}
	return 0;
}

struct d1_conn *
d1_conn_open(struct d1 *d1, const char *path, const char *tenant, const char *id)
{
	struct d1_conn *conn;
	int rc;

	if ((conn = calloc(1, sizeof(*conn))) == NULL) {
		log_warn("d1 '%s/%s': cannot allocate a connection", tenant, id);
		return NULL;
	}
	conn->d1 = d1;
	snprintf(conn->tenant, sizeof(conn->tenant), "%s", tenant);
	snprintf(conn->id, sizeof(conn->id), "%s", id);
	rc = sqlite3_open_v2(path, &conn->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_PRIVATECACHE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("d1 '%s/%s': cannot open: %s", tenant, id,
		    conn->db != NULL ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (d1_conn_harden(conn) == -1 || d1_conn_setup(conn) == -1)
		goto fail;
	return conn;
fail:
	sqlite3_close_v2(conn->db);
	free(conn);
	return NULL;
}

void
d1_conn_close(struct d1_conn *conn)
{
	if (conn == NULL)
		return;
	if (sqlite3_close_v2(conn->db) != SQLITE_OK)
		log_warnx(
		    "d1 '%s/%s': close: %s", conn->tenant, conn->id, sqlite3_errmsg(conn->db));
	free(conn);
}

/*
 * The quota is a page count, applied to "main" and to "temp" (whose
 * tables would otherwise grow without bound in the cached connection).
 * max_page_count never goes below the current size: a database already
 * over its quota stays readable and can shrink.
 */
int
d1_conn_set_quota(struct d1_conn *conn, uint64_t bytes)
{
	uint64_t pages = D1_PAGES_UNLIMITED;
	char sql[160];

	if (bytes != 0) {
		pages = bytes / (uint64_t)conn->page_size;
		if (pages == 0)
			pages = 1;
		if (pages > D1_PAGES_UNLIMITED)
			pages = D1_PAGES_UNLIMITED;
	}
	snprintf(sql, sizeof(sql),
	    "PRAGMA main.max_page_count=%llu; PRAGMA temp.max_page_count=%llu",
	    (unsigned long long)pages, (unsigned long long)pages);
	if (d1_conn_exec(conn, sql) != SQLITE_OK) {
		log_warnx("d1 '%s/%s': cannot set the quota: %s", conn->tenant, conn->id,
		    sqlite3_errmsg(conn->db));
		return -1;
	}
	conn->quota = bytes;
	conn->has_quota = true;
	return 0;
}

uint64_t
d1_conn_size(struct d1_conn *conn)
{
	int64_t pages = d1_conn_int(conn, "PRAGMA main.page_count");

	return pages > 0 ? (uint64_t)pages * (uint64_t)conn->page_size : 0;
}

static const char *const d1_code_names[] = {
	[SQLITE_OK] = "OK",
	[SQLITE_ERROR] = "ERROR",
	[SQLITE_INTERNAL] = "INTERNAL",
	[SQLITE_PERM] = "PERM",
	[SQLITE_ABORT] = "ABORT",
	[SQLITE_BUSY] = "BUSY",
	[SQLITE_LOCKED] = "LOCKED",
	[SQLITE_NOMEM] = "NOMEM",
	[SQLITE_READONLY] = "READONLY",
	[SQLITE_INTERRUPT] = "INTERRUPT",
	[SQLITE_IOERR] = "IOERR",
	[SQLITE_CORRUPT] = "CORRUPT",
	[SQLITE_NOTFOUND] = "NOTFOUND",
	[SQLITE_FULL] = "FULL",
	[SQLITE_CANTOPEN] = "CANTOPEN",
	[SQLITE_PROTOCOL] = "PROTOCOL",
	[SQLITE_EMPTY] = "EMPTY",
	[SQLITE_SCHEMA] = "SCHEMA",
	[SQLITE_TOOBIG] = "TOOBIG",
	[SQLITE_CONSTRAINT] = "CONSTRAINT",
	[SQLITE_MISMATCH] = "MISMATCH",
	[SQLITE_MISUSE] = "MISUSE",
	[SQLITE_NOLFS] = "NOLFS",
	[SQLITE_AUTH] = "AUTH",
	[SQLITE_FORMAT] = "FORMAT",
	[SQLITE_RANGE] = "RANGE",
	[SQLITE_NOTADB] = "NOTADB",
	[SQLITE_NOTICE] = "NOTICE",
	[SQLITE_WARNING] = "WARNING",
};

const char *
d1_code_name(int rc)
{
	int primary = rc & 0xff;

	if (primary == SQLITE_ROW)
		return "ROW";
	if (primary == SQLITE_DONE)
		return "DONE";
	if (primary >= 0 && (size_t)primary < NELEM(d1_code_names) &&
	    d1_code_names[primary] != NULL)
		return d1_code_names[primary];
	return "UNKNOWN";
}

/* Codes that mean the engine or the disk is in trouble, not the SQL. */
static bool
d1_code_is_internal(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_INTERNAL:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_NOLFS:
	case SQLITE_NOTADB:
	case SQLITE_MISUSE:
		return true;
	}
	return false;
}

enum store_status
d1_conn_describe(struct d1_conn *conn, int rc, char *buf, size_t len)
{
	const char *msg = sqlite3_errmsg(conn->db);

	if (conn->d1->timed_out) {
		snprintf(buf, len, "query exceeded the time limit");
		return STORE_E_FAILED;
	}
	if ((rc & 0xff) == SQLITE_FULL) {
		snprintf(buf, len, "database is full");
		return STORE_E_TOO_LARGE;
	}
	/* A failed bind leaves errmsg at "not an error" on some paths. */
	if (sqlite3_errcode(conn->db) == SQLITE_OK)
		msg = sqlite3_errstr(rc);
	snprintf(buf, len, "%s: SQLITE_%s", msg, d1_code_name(rc));
	if (d1_code_is_internal(rc)) {
		log_warnx("d1 '%s/%s': %s", conn->tenant, conn->id, buf);
		return STORE_E_INTERNAL;
	}
	/* Usually a statement past the heap or program limit: the tenant's doing, but rare. */
	if ((rc & 0xff) == SQLITE_NOMEM)
		log_warnx("d1 '%s/%s': %s", conn->tenant, conn->id, buf);
	return STORE_E_FAILED;
}
