/*
 * d1_run: the D1 methods that run tenant SQL (query, batch, exec,
 * queryAll), each call one transaction that commits before it answers or
 * rolls back whole.  Runs in the broker.
 *
 * meta is approximate where sqlite keeps no exact count:
 *   rows_read     the larger of the rows the statement returned and the
 *                 rows it stepped through in full-table scans
 *                 (SQLITE_STMTSTATUS_FULLSCAN_STEP); index lookups of
 *                 rows it did not return are not counted
 *   rows_written  rows inserted, updated or deleted, triggers included
 *                 (the change in sqlite3_total_changes64)
 *   changes       sqlite3_changes64() of the statement (0 for DDL)
 *   changed_db    rows were written, or the statement creates, drops or
 *                 alters a schema object (seen by the authorizer)
 *   size_after    page_count * page_size of "main" after the statement
 */
#include <stdio.h>
#include <string.h>

#include "broker/d1_internal.h"
#include "common/log.h"

#define D1_EXCERPT_MAX 80 /* bytes of a statement quoted in a D1_EXEC_ERROR */

struct d1_run {
	struct d1_conn *conn;
	struct store_result *r;
	json_t *params;       /* JSON array (borrowed), or NULL */
	bool params_bound;    /* a statement took the params */
	bool single;          /* params need sql to be one statement (queryAll) */
	bool keep_all;        /* keep every statement's result (queryAll), else the last */
	bool exec;            /* exec: no results kept, D1_EXEC_ERROR wording */
	unsigned batch_index; /* 1-based statement of a batch; 0 outside a batch */
	unsigned count;       /* statements run */
	size_t result_base;   /* JSON bytes of results kept by earlier runs of this call */
	size_t result_bytes;  /* JSON bytes of `results` */
	json_t *results;      /* statement results kept */
};

static int
d1_run_init(struct d1_run *run, struct d1_conn *conn, struct store_result *r, json_t *params)
{
	memset(run, 0, sizeof(*run));
	run->conn = conn;
	run->r = r;
	run->params = params;
	if ((run->results = json_array()) == NULL) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: out of memory");
		return -1;
	}
	return 0;
}

/* The start of a statement, for a message: one line, at most D1_EXCERPT_MAX bytes. */
static size_t
d1_excerpt(const char **text, size_t len)
{
	const char *s = *text;
	size_t n = 0;

	while (len > 0 && *s != '\0' && strchr(" \t\r\n", *s) != NULL)
		s++, len--;
	while (n < len && n < D1_EXCERPT_MAX && s[n] != '\n' && s[n] != '\0')
		n++;
	/* Never cut a UTF-8 sequence in two. */
	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	while (n > 0 && strchr(" \t\r;", s[n - 1]) != NULL)
		n--;
	*text = s;
	return n;
}

static void
d1_run_report(
    struct d1_run *run, enum store_status status, const char *detail, const char *text, size_t len)
{
	size_t n;

	if (run->exec) {
		n = d1_excerpt(&text, len);
		store_fail(run->r, status, "D1_EXEC_ERROR: Error in line %u: %.*s: %s",
		    run->count + 1, (int)n, text, detail);
	} else if (run->batch_index > 0)
		store_fail(run->r, status, "D1_ERROR: %s (statement %u of the batch)", detail,
		    run->batch_index);
	else
		store_fail(run->r, status, "D1_ERROR: %s", detail);
}

static void
d1_run_fail(struct d1_run *run, int rc, const char *text, size_t len)
{
	char detail[300];

	d1_run_report(
	    run, d1_conn_describe(run->conn, rc, detail, sizeof(detail)), detail, text, len);
}

static void
d1_run_wrong_count(struct d1_run *run, const char *text, size_t len)
{
	d1_run_report(
	    run, STORE_E_FAILED, "Wrong number of parameter bindings for SQL query.", text, len);
}

/*
 * The params go to every statement that has parameters, and each such
 * statement must take them all (?NNN counts up to its largest NNN).
 */
static int
d1_run_bind(struct d1_run *run, sqlite3_stmt *stmt, const char *text, size_t len)
{
	int want = sqlite3_bind_parameter_count(stmt);
	size_t given = json_array_size(run->params);

	if (run->single && given > 0 && run->count > 0) {
		store_fail(
		    run->r, STORE_E_INVALID, "D1_ERROR: params need sql to be a single statement");
		return -1;
	}
	if (want == 0)
		return 0;
	if ((size_t)want != given) {
		d1_run_wrong_count(run, text, len);
		return -1;
	}
	run->params_bound = true;
	return d1_bind_params(stmt, run->params, run->r);
}

static bool
d1_run_over_budget(struct d1_run *run, size_t more)
{
	run->result_bytes += more;
	if (run->result_base + run->result_bytes <= D1_RESULT_MAX)
		return false;
	store_fail(run->r, STORE_E_TOO_LARGE, "D1_ERROR: the result is larger than %u bytes",
	    (unsigned)D1_RESULT_MAX);
	return true;
}

/* Appends the current row to rows; -1 with r set when the result grows too large. */
static int
d1_run_row(struct d1_run *run, sqlite3_stmt *stmt, int ncol, json_t *rows)
{
	json_t *row = json_array(), *v;
	size_t cost;

	if (row == NULL || json_array_append_new(rows, row) == -1)
		goto nomem;
	if (d1_run_over_budget(run, 3))
		return -1;
	for (int i = 0; i < ncol; i++) {
		cost = 1;
		if ((v = d1_column_json(stmt, i, &cost)) == NULL ||
		    json_array_append_new(row, v) == -1)
			goto nomem;
		if (d1_run_over_budget(run, cost))
			return -1;
	}
	return 0;
nomem:
	store_fail(run->r, STORE_E_INTERNAL, "D1_ERROR: out of memory");
	return -1;
}

static json_t *
d1_run_columns(struct d1_run *run, sqlite3_stmt *stmt, int ncol)
{
	json_t *columns = json_array(), *name;
	size_t cost = 2;

	for (int i = 0; columns != NULL && i < ncol; i++) {
		const char *s = sqlite3_column_name(stmt, i);

		if (s == NULL)
			s = "";
		if ((name = d1_text_json(s, strlen(s), &cost)) == NULL ||
		    json_array_append_new(columns, name) == -1) {
			json_decref(columns);
			columns = NULL;
		}
	}
	run->result_bytes += cost;
	return columns;
}

static json_t *
d1_run_meta(struct d1_run *run, sqlite3_stmt *stmt, double started, sqlite3_int64 total_before,
    int64_t returned)
{
	struct d1_conn *conn = run->conn;
	double duration = d1_now_ms() - started;
	sqlite3_int64 written = sqlite3_total_changes64(conn->db) - total_before;
	sqlite3_int64 changes = sqlite3_changes64(conn->db);
	int64_t read = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);

	/* After DDL, sqlite3_changes64() still holds the previous statement's count. */
	if (changes > written)
		changes = written;
	if (read < returned)
		read = returned;
	run->result_bytes += 256;
	return json_pack("{s:f, s:I, s:I, s:I, s:I, s:b, s:I}", "duration", duration, "size_after",
	    (json_int_t)d1_conn_size(conn), "rows_read", (json_int_t)read, "rows_written",
	    (json_int_t)written, "last_row_id", (json_int_t)sqlite3_last_insert_rowid(conn->db),
	    "changed_db", written > 0 || conn->ddl, "changes", (json_int_t)changes);
}

/* Steps one prepared statement to the end; keeps its result unless the run is an exec. */
static int
d1_run_statement(struct d1_run *run, sqlite3_stmt *stmt, const char *text, size_t len)
{
	sqlite3 *db = run->conn->db;
	double started = d1_now_ms();
	sqlite3_int64 total_before = sqlite3_total_changes64(db);
	int ncol = sqlite3_column_count(stmt), rc;
	json_t *result = NULL, *rows = NULL, *columns = NULL, *meta;
	int64_t returned = 0;

	if (d1_run_bind(run, stmt, text, len) == -1)
		return -1;
	if (!run->exec) {
		if (!run->keep_all) {
			json_array_clear(run->results);
			run->result_bytes = 0;
		}
		columns = d1_run_columns(run, stmt, ncol);
		rows = json_array();
		result = json_pack("{s:o?, s:o?}", "columns", columns, "rows", rows);
		if (columns == NULL || rows == NULL || result == NULL) {
			json_decref(result);
			store_fail(run->r, STORE_E_INTERNAL, "D1_ERROR: out of memory");
			return -1;
		}
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		returned++;
		if (rows != NULL && d1_run_row(run, stmt, ncol, rows) == -1)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		d1_run_fail(run, rc, text, len);
		goto fail;
	}
	run->count++;
	if (result == NULL)
		return 0;
	if ((meta = d1_run_meta(run, stmt, started, total_before, returned)) == NULL ||
	    json_object_set_new(result, "meta", meta) == -1 ||
	    json_array_append_new(run->results, result) == -1) {
		store_fail(run->r, STORE_E_INTERNAL, "D1_ERROR: out of memory");
		return -1;
	}
	return 0;
fail:
	json_decref(result);
	return -1;
}

/*
 * Runs every statement of sql in turn.  The deadline is looked at between
 * statements too: a long list of cheap statements never wakes the
 * progress handler.
 */
static int
d1_run_sql(struct d1_run *run, const char *sql)
{
	const char *tail = sql, *start;
	sqlite3_stmt *stmt;
	int rc, ret;

	while (*tail != '\0') {
		start = tail;
		if (d1_deadline_passed(run->conn->d1)) {
			d1_run_fail(run, SQLITE_INTERRUPT, start, strlen(start));
			return -1;
		}
		stmt = NULL;
		run->conn->ddl = false;
		rc = sqlite3_prepare_v3(run->conn->db, start, -1, 0, &stmt, &tail);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(stmt);
			d1_run_fail(run, rc, start, strlen(start));
			return -1;
		}
		if (stmt == NULL) { /* only blanks or a comment */
			if (tail == NULL || tail <= start)
				break;
			continue;
		}
		ret = d1_run_statement(run, stmt, start, (size_t)(tail - start));
		sqlite3_finalize(stmt);
		if (ret == -1)
			return -1;
	}
	if (json_array_size(run->params) > 0 && !run->params_bound) {
		d1_run_wrong_count(run, sql, strlen(sql));
		return -1;
	}
	return 0;
}

static int
d1_begin(struct d1_conn *conn, struct store_result *r)
{
	char detail[300];
	int rc;

	/* Every call ends its transaction; one left open would be a bug of ours. */
	if (!sqlite3_get_autocommit(conn->db)) {
		log_warnx("d1 '%s/%s': a transaction was left open", conn->tenant, conn->id);
		d1_conn_exec(conn, "ROLLBACK");
	}
	if ((rc = d1_conn_exec(conn, "BEGIN")) != SQLITE_OK) {
		store_fail(
		    r, d1_conn_describe(conn, rc, detail, sizeof(detail)), "D1_ERROR: %s", detail);
		return -1;
	}
	return 0;
}

/*
 * Commits while r is still OK (the write is on disk when COMMIT returns:
 * synchronous=FULL), else rolls back.  doc (stolen) becomes the result
 * only once the commit succeeded.
 */
static void
d1_end(struct d1_conn *conn, struct store_result *r, json_t *doc)
{
	char detail[300];
	int rc;

	if (r->status == STORE_OK) {
		if (doc == NULL) {
			store_fail(r, STORE_E_INTERNAL, "D1_ERROR: out of memory");
		} else if ((rc = d1_conn_exec(conn, "COMMIT")) == SQLITE_OK) {
			r->doc = doc;
			return;
		} else
			store_fail(r, d1_conn_describe(conn, rc, detail, sizeof(detail)),
			    "D1_ERROR: %s", detail);
	}
	json_decref(doc);
	if (!sqlite3_get_autocommit(conn->db) && d1_conn_exec(conn, "ROLLBACK") != SQLITE_OK)
		log_warnx(
		    "d1 '%s/%s': rollback: %s", conn->tenant, conn->id, sqlite3_errmsg(conn->db));
}

static const char *
d1_arg_sql(json_t *obj, struct store_result *r)
{
	json_t *sql = json_object_get(obj, "sql");

	if (!json_is_string(sql)) {
		store_fail(r, STORE_E_INVALID, "D1_ERROR: sql must be a string");
		return NULL;
	}
	if (strlen(json_string_value(sql)) != json_string_length(sql)) {
		store_fail(r, STORE_E_INVALID, "D1_ERROR: sql must not contain NUL characters");
		return NULL;
	}
	return json_string_value(sql);
}

static int
d1_arg_params(json_t *obj, json_t **params, struct store_result *r)
{
	json_t *p = json_object_get(obj, "params");

	*params = NULL;
	if (p == NULL || json_is_null(p))
		return 0;
	if (!json_is_array(p)) {
		store_fail(r, STORE_E_INVALID, "D1_ERROR: params must be an array");
		return -1;
	}
	*params = p;
	return 0;
}

/* The "sql" of a call with its "params", and a run over them; NULL with r set. */
static const char *
d1_run_start(
    struct d1_run *run, struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	const char *sql;
	json_t *params;

	if ((sql = d1_arg_sql(c->args, r)) == NULL || d1_arg_params(c->args, &params, r) == -1 ||
	    d1_run_init(run, conn, r, params) == -1)
		return NULL;
	return sql;
}

void
d1_query(struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	struct d1_run run;
	const char *sql;

	if ((sql = d1_run_start(&run, conn, c, r)) == NULL)
		return;
	if (d1_begin(conn, r) == 0) {
		if (d1_run_sql(&run, sql) == 0 && run.count == 0)
			store_fail(r, STORE_E_FAILED, "D1_ERROR: No SQL statements detected.");
		/* Several statements answer with the last one's result, as D1 does. */
		d1_end(conn, r, json_incref(json_array_get(run.results, 0)));
	}
	json_decref(run.results);
}

/* Checks every statement of a batch before anything runs. */
static json_t *
d1_batch_statements(const struct store_call *c, struct store_result *r)
{
	json_t *list = json_object_get(c->args, "statements"), *st, *params;
	size_t i;

	if (!json_is_array(list)) {
		store_fail(r, STORE_E_INVALID, "D1_ERROR: statements must be an array");
		return NULL;
	}
	json_array_foreach (list, i, st) {
		if (!json_is_object(st) || d1_arg_sql(st, r) == NULL ||
		    d1_arg_params(st, &params, r) == -1) {
			if (r->status == STORE_OK)
				store_fail(r, STORE_E_INVALID,
				    "D1_ERROR: statement %zu is not an object", i + 1);
			return NULL;
		}
	}
	return list;
}

void
d1_batch(struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	json_t *list, *st, *params, *results;
	struct d1_run run;
	size_t i, base = 0;

	if ((list = d1_batch_statements(c, r)) == NULL)
		return;
	if ((results = json_array()) == NULL) {
		store_fail(r, STORE_E_INTERNAL, "D1_ERROR: out of memory");
		return;
	}
	if (d1_begin(conn, r) == -1) {
		json_decref(results);
		return;
	}
	json_array_foreach (list, i, st) {
		d1_arg_params(st, &params, r);
		if (d1_run_init(&run, conn, r, params) == -1)
			break;
		run.batch_index = (unsigned)i + 1;
		run.result_base = base;
		if (d1_run_sql(&run, json_string_value(json_object_get(st, "sql"))) == 0 &&
		    run.count == 0)
			d1_run_report(&run, STORE_E_FAILED, "No SQL statements detected.", "", 0);
		if (r->status == STORE_OK)
			json_array_append(results, json_array_get(run.results, 0));
		base += run.result_bytes;
		json_decref(run.results);
		if (r->status != STORE_OK)
			break;
	}
	d1_end(conn, r, json_pack("{s:o}", "results", results));
}

void
d1_exec(struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	double started = d1_now_ms();
	struct d1_run run;
	const char *sql;

	if ((sql = d1_arg_sql(c->args, r)) == NULL || d1_run_init(&run, conn, r, NULL) == -1)
		return;
	run.exec = true;
	if (d1_begin(conn, r) == 0) {
		d1_run_sql(&run, sql);
		d1_end(conn, r,
		    json_pack("{s:I, s:f}", "count", (json_int_t)run.count, "duration",
			d1_now_ms() - started));
	}
	json_decref(run.results);
}

void
d1_query_all(struct d1_conn *conn, const struct store_call *c, struct store_result *r)
{
	struct d1_run run;
	const char *sql;

	if ((sql = d1_run_start(&run, conn, c, r)) == NULL)
		return;
	run.keep_all = true;
	run.single = true;
	if (d1_begin(conn, r) == 0) {
		d1_run_sql(&run, sql);
		d1_end(conn, r, json_pack("{s:O}", "results", run.results));
	}
	json_decref(run.results);
}
