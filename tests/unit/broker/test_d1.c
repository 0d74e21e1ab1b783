/*
 * Unit tests for broker/d1*.c: real sqlite files under a temporary data
 * directory, d1_call driven directly as the transport would, hostile SQL
 * included, and a writer SIGKILLed mid-stream for durability.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "broker/d1_internal.h"
#include "broker/store.h"
#include "tests/support.h"

#define TENANT "acme"
#define OTHER "rival_co"
#define DB "0a1b2c3d-0000-4000-8000-000000000001"
#define DB2 "0a1b2c3d-0000-4000-8000-000000000002"

static char dir[64];
static struct d1 *d1;
static struct store_limits limits;
static int fds_before;

static void
setup(void)
{
	fds_before = support_count_fds();
	support_tempdir(dir, sizeof(dir), "/tmp", "edged-test-d1");
	memset(&limits, 0, sizeof(limits));
	cr_assert_not_null(d1 = d1_open(dir));
}

static void
teardown(void)
{
	d1_close(d1);
	d1 = NULL;
	support_remove_tree(dir);
	cr_expect_eq(support_count_fds(), fds_before, "file descriptors leaked");
}

TestSuite(d1, .init = setup, .fini = teardown);

/* --- helpers ------------------------------------------------------------------------ */

/* One call; args is stolen.  The result must be released by the caller. */
static void
call_as(const char *tenant, const char *id, const char *method, bool admin, json_t *args,
    struct store_result *r)
{
	struct store_call c = {
		.tenant = tenant,
		.resource = id,
		.method = method,
		.args = args != NULL ? args : json_object(),
		.admin = admin,
		.limits = &limits,
	};

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	d1_call(d1, &c, r);
	json_decref(c.args);
}

static json_t *
ok_as(const char *tenant, const char *id, const char *method, bool admin, json_t *args)
{
	struct store_result r;
	json_t *doc;

	call_as(tenant, id, method, admin, args, &r);
	cr_assert_eq(r.status, STORE_OK, "%s: status %d: %s", method, r.status, r.message);
	doc = r.doc;
	r.doc = NULL;
	store_result_release(&r);
	return doc;
}

static void
create_db(const char *tenant, const char *id)
{
	json_decref(ok_as(tenant, id, "create", true, NULL));
}

static json_t *
query(const char *sql, json_t *params)
{
	return ok_as(TENANT, DB, "query", false,
	    params != NULL ? json_pack("{s:s, s:o}", "sql", sql, "params", params)
			   : json_pack("{s:s}", "sql", sql));
}

/* Runs sql and frees the result. */
static void
run(const char *sql)
{
	json_decref(query(sql, NULL));
}

/* The call fails with `status` and exactly `message`. */
static void
expect_fail(const char *method, json_t *args, enum store_status status, const char *message)
{
	struct store_result r;

	call_as(TENANT, DB, method, true, args, &r);
	cr_expect_eq(r.status, status, "status %d, want %d: %s", r.status, status, r.message);
	cr_expect_null(r.doc);
	if (message != NULL)
		cr_expect_str_eq(r.message, message);
	store_result_release(&r);
}

static void
expect_query_fails(const char *sql, enum store_status status, const char *message)
{
	expect_fail("query", json_pack("{s:s}", "sql", sql), status, message);
}

#define NOT_AUTHORIZED "D1_ERROR: not authorized: SQLITE_AUTH"

static json_t *
first_row(json_t *result)
{
	return json_array_get(json_object_get(result, "rows"), 0);
}

static json_int_t
scalar_int(const char *sql)
{
	json_t *res = query(sql, NULL);
	json_int_t v;

	cr_assert(json_is_integer(json_array_get(first_row(res), 0)), "%s: not an integer", sql);
	v = json_integer_value(json_array_get(first_row(res), 0));
	json_decref(res);
	return v;
}

static json_int_t
meta_int(json_t *result, const char *name)
{
	json_t *v = json_object_get(json_object_get(result, "meta"), name);

	cr_assert(json_is_integer(v), "meta.%s is not an integer", name);
	return json_integer_value(v);
}

/* --- lifecycle ---------------------------------------------------------------------- */

Test(d1, create_drop_and_missing_databases)
{
	char path[512];
	struct stat st;

	expect_query_fails("SELECT 1", STORE_E_NOT_FOUND, "D1_ERROR: database not found");
	create_db(TENANT, DB);
	expect_fail("create", NULL, STORE_E_CONFLICT, "D1_ERROR: database already exists");
	cr_expect_eq(scalar_int("SELECT 1"), 1);

	snprintf(path, sizeof(path), "%s/d1/%s", dir, TENANT);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/d1", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/d1/%s/%s.sqlite", dir, TENANT, DB);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_gt(st.st_size, 0, "the new file is a WAL database already");

	json_decref(ok_as(TENANT, DB, "drop", true, NULL));
	cr_expect_eq(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/d1/%s/%s.sqlite-wal", dir, TENANT, DB);
	cr_expect_eq(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/d1/%s/%s.sqlite-shm", dir, TENANT, DB);
	cr_expect_eq(stat(path, &st), -1);
	expect_query_fails("SELECT 1", STORE_E_NOT_FOUND, "D1_ERROR: database not found");
	expect_fail("drop", NULL, STORE_E_NOT_FOUND, "D1_ERROR: database not found");

	/* Created again, it starts empty. */
	create_db(TENANT, DB);
	expect_query_fails("SELECT * FROM nothing_here", STORE_E_FAILED,
	    "D1_ERROR: no such table: nothing_here: SQLITE_ERROR");
}

Test(d1, admin_methods_need_admin)
{
	struct store_result r;
	static const char *const admin_only[] = { "create", "drop", "info", "queryAll" };

	for (size_t i = 0; i < 4; i++) {
		call_as(
		    TENANT, DB, admin_only[i], false, json_pack("{s:s}", "sql", "SELECT 1"), &r);
		cr_expect_eq(r.status, STORE_E_INVALID, "%s", admin_only[i]);
		store_result_release(&r);
	}
}

Test(d1, info_reports_size_and_tables)
{
	json_t *info;

	create_db(TENANT, DB);
	run("CREATE TABLE a (x)");
	run("CREATE TABLE b (x PRIMARY KEY, y)");
	run("CREATE TABLE c (id INTEGER PRIMARY KEY AUTOINCREMENT)");
	info = ok_as(TENANT, DB, "info", true, NULL);
	cr_expect_gt(json_integer_value(json_object_get(info, "file_size")), 0);
	cr_expect_eq(json_integer_value(json_object_get(info, "num_tables")), 3,
	    "sqlite_sequence is not a table of the tenant's");
	json_decref(info);
}

/* --- queries ------------------------------------------------------------------------- */

Test(d1, every_parameter_and_result_type)
{
	json_t *res, *row, *blob;

	create_db(TENANT, DB);
	run("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)");
	json_decref(query("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
	    json_pack("[i, f, s, {s:s}, n]", 42, 1.5, "h\xc3\xa9llo \"q\"", "blob", "AAEC/w==")));
	res = query("SELECT i, r, s, b, n, typeof(i), typeof(r), typeof(s), typeof(b), typeof(n) "
		    "FROM t",
	    NULL);
	row = first_row(res);
	cr_assert_eq(json_array_size(row), 10);
	cr_expect(json_is_integer(json_array_get(row, 0)));
	cr_expect_eq(json_integer_value(json_array_get(row, 0)), 42);
	cr_expect(json_is_real(json_array_get(row, 1)));
	cr_expect_eq(json_real_value(json_array_get(row, 1)), 1.5);
	cr_expect_str_eq(json_string_value(json_array_get(row, 2)), "h\xc3\xa9llo \"q\"");
	blob = json_array_get(row, 3);
	cr_assert(json_is_array(blob));
	cr_assert_eq(json_array_size(blob), 4);
	cr_expect_eq(json_integer_value(json_array_get(blob, 0)), 0);
	cr_expect_eq(json_integer_value(json_array_get(blob, 1)), 1);
	cr_expect_eq(json_integer_value(json_array_get(blob, 2)), 2);
	cr_expect_eq(json_integer_value(json_array_get(blob, 3)), 255);
	cr_expect(json_is_null(json_array_get(row, 4)));
	cr_expect_str_eq(json_string_value(json_array_get(row, 5)), "integer");
	cr_expect_str_eq(json_string_value(json_array_get(row, 6)), "real");
	cr_expect_str_eq(json_string_value(json_array_get(row, 7)), "text");
	cr_expect_str_eq(json_string_value(json_array_get(row, 8)), "blob");
	cr_expect_str_eq(json_string_value(json_array_get(row, 9)), "null");
	json_decref(res);
}

Test(d1, numbers_bind_as_integer_only_when_safe_integers)
{
	json_t *res, *row;

	create_db(TENANT, DB);
	/* 3.0 arrives as a JSON real, 2^60 as a JSON integer no JS number holds exactly. */
	res = query("SELECT typeof(?1), typeof(?2), typeof(?3), typeof(?4), typeof(?5), "
		    "CAST(?1 AS TEXT)",
	    json_pack("[f, f, I, I, b]", 3.0, 2.5, (json_int_t)1 << 60,
		(json_int_t)-9007199254740991LL, 1));
	row = first_row(res);
	cr_expect_str_eq(json_string_value(json_array_get(row, 0)), "integer");
	cr_expect_str_eq(json_string_value(json_array_get(row, 1)), "real");
	cr_expect_str_eq(json_string_value(json_array_get(row, 2)), "real");
	cr_expect_str_eq(json_string_value(json_array_get(row, 3)), "integer");
	cr_expect_str_eq(json_string_value(json_array_get(row, 4)), "integer");
	cr_expect_str_eq(json_string_value(json_array_get(row, 5)), "3");
	json_decref(res);
}

Test(d1, columns_are_named_without_rows)
{
	json_t *res, *cols;

	create_db(TENANT, DB);
	run("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)");
	res = query("SELECT id, name AS who, email FROM users WHERE id = ?", json_pack("[i]", 7));
	cols = json_object_get(res, "columns");
	cr_assert_eq(json_array_size(cols), 3);
	cr_expect_str_eq(json_string_value(json_array_get(cols, 0)), "id");
	cr_expect_str_eq(json_string_value(json_array_get(cols, 1)), "who");
	cr_expect_str_eq(json_string_value(json_array_get(cols, 2)), "email");
	cr_expect_eq(json_array_size(json_object_get(res, "rows")), 0);
	json_decref(res);
}

Test(d1, several_statements_answer_with_the_last)
{
	json_t *res;

	create_db(TENANT, DB);
	res =
	    query("CREATE TABLE s (x); INSERT INTO s VALUES (5); SELECT x * 2 AS y FROM s;", NULL);
	cr_expect_str_eq(
	    json_string_value(json_array_get(json_object_get(res, "columns"), 0)), "y");
	cr_expect_eq(json_integer_value(json_array_get(first_row(res), 0)), 10);
	json_decref(res);
	expect_query_fails(
	    "  -- nothing\n ;", STORE_E_FAILED, "D1_ERROR: No SQL statements detected.");
}

Test(d1, wrong_parameter_count)
{
	create_db(TENANT, DB);
	expect_fail("query", json_pack("{s:s, s:[i]}", "sql", "SELECT ?, ?", "params", 1),
	    STORE_E_FAILED, "D1_ERROR: Wrong number of parameter bindings for SQL query.");
	expect_fail("query", json_pack("{s:s, s:[i, i]}", "sql", "SELECT ?", "params", 1, 2),
	    STORE_E_FAILED, "D1_ERROR: Wrong number of parameter bindings for SQL query.");
	expect_fail("query", json_pack("{s:s, s:[i]}", "sql", "SELECT 1", "params", 1),
	    STORE_E_FAILED, "D1_ERROR: Wrong number of parameter bindings for SQL query.");
	expect_fail("query", json_pack("{s:s}", "sql", "SELECT ?3"), STORE_E_FAILED,
	    "D1_ERROR: Wrong number of parameter bindings for SQL query.");
}

Test(d1, sqlite_errors_read_like_d1)
{
	create_db(TENANT, DB);
	run("CREATE TABLE u (email TEXT UNIQUE)");
	run("INSERT INTO u VALUES ('a@example.com')");
	expect_query_fails("INSERT INTO u VALUES ('a@example.com')", STORE_E_FAILED,
	    "D1_ERROR: UNIQUE constraint failed: u.email: SQLITE_CONSTRAINT");
	expect_query_fails(
	    "SELEC 1", STORE_E_FAILED, "D1_ERROR: near \"SELEC\": syntax error: SQLITE_ERROR");
}

Test(d1, foreign_keys_are_enforced)
{
	create_db(TENANT, DB);
	run("CREATE TABLE p (id INTEGER PRIMARY KEY)");
	run("CREATE TABLE c (p INTEGER REFERENCES p(id))");
	expect_query_fails("INSERT INTO c VALUES (9)", STORE_E_FAILED,
	    "D1_ERROR: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT");
	/* Deferred to the commit, which the call's single transaction reaches with a parent. */
	run("PRAGMA defer_foreign_keys = ON; INSERT INTO c VALUES (9); INSERT INTO p VALUES (9)");
	cr_expect_eq(scalar_int("SELECT count(*) FROM c"), 1);
}

/* --- batch, exec, queryAll --------------------------------------------------------- */

Test(d1, batch_is_all_or_nothing)
{
	json_t *doc, *results;

	create_db(TENANT, DB);
	run("CREATE TABLE t (x)");
	expect_fail("batch",
	    json_pack("{s:[{s:s, s:[i]}, {s:s}]}", "statements", "sql", "INSERT INTO t VALUES (?)",
		"params", 1, "sql", "INSERT INTO missing VALUES (2)"),
	    STORE_E_FAILED,
	    "D1_ERROR: no such table: missing: SQLITE_ERROR (statement 2 of the batch)");
	cr_expect_eq(scalar_int("SELECT count(*) FROM t"), 0, "the first insert was rolled back");

	doc = ok_as(TENANT, DB, "batch", false,
	    json_pack("{s:[{s:s, s:[i]}, {s:s}]}", "statements", "sql", "INSERT INTO t VALUES (?)",
		"params", 1, "sql", "SELECT x FROM t"));
	results = json_object_get(doc, "results");
	cr_assert_eq(json_array_size(results), 2);
	cr_expect_eq(meta_int(json_array_get(results, 0), "changes"), 1);
	cr_expect_eq(
	    json_integer_value(json_array_get(first_row(json_array_get(results, 1)), 0)), 1);
	json_decref(doc);

	/* A malformed statement anywhere stops the batch before anything runs. */
	expect_fail("batch",
	    json_pack(
		"{s:[{s:s}, {s:i}]}", "statements", "sql", "INSERT INTO t VALUES (3)", "sql", 4),
	    STORE_E_INVALID, NULL);
	cr_expect_eq(scalar_int("SELECT count(*) FROM t"), 1);
}

Test(d1, exec_counts_statements_and_fails_whole)
{
	json_t *doc;

	create_db(TENANT, DB);
	doc = ok_as(TENANT, DB, "exec", false,
	    json_pack("{s:s}", "sql",
		"CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n-- a comment\nINSERT INTO a "
		"VALUES (2);\n"));
	cr_expect_eq(json_integer_value(json_object_get(doc, "count")), 3);
	cr_expect(json_is_real(json_object_get(doc, "duration")));
	json_decref(doc);

	expect_fail("exec",
	    json_pack("{s:s}", "sql", "INSERT INTO a VALUES (3);\nSELECT * FROM nope;"),
	    STORE_E_FAILED,
	    "D1_EXEC_ERROR: Error in line 2: SELECT * FROM nope: no such table: nope: "
	    "SQLITE_ERROR");
	cr_expect_eq(scalar_int("SELECT count(*) FROM a"), 2);
	expect_fail("exec", json_pack("{s:s}", "sql", "SELECT ?"), STORE_E_FAILED,
	    "D1_EXEC_ERROR: Error in line 1: SELECT ?: Wrong number of parameter bindings for SQL "
	    "query.");
}

Test(d1, query_all_returns_every_statement)
{
	json_t *doc;

	create_db(TENANT, DB);
	doc = ok_as(TENANT, DB, "queryAll", true,
	    json_pack(
		"{s:s}", "sql", "CREATE TABLE q (x); INSERT INTO q VALUES (1); SELECT * FROM q"));
	cr_expect_eq(json_array_size(json_object_get(doc, "results")), 3);
	json_decref(doc);
	expect_fail("queryAll", json_pack("{s:s, s:[i]}", "sql", "SELECT ?; SELECT 2", "params", 1),
	    STORE_E_INVALID, "D1_ERROR: params need sql to be a single statement");
}

Test(d1, meta_fields)
{
	json_t *res;

	create_db(TENANT, DB);
	res = query("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)", NULL);
	cr_expect(json_is_true(json_object_get(json_object_get(res, "meta"), "changed_db")));
	cr_expect_eq(meta_int(res, "changes"), 0);
	json_decref(res);

	run("INSERT INTO m (v) VALUES ('a'), ('b')");
	res = query("INSERT INTO m (id, v) VALUES (41, 'c')", NULL);
	cr_expect_eq(meta_int(res, "last_row_id"), 41);
	cr_expect_eq(meta_int(res, "changes"), 1);
	cr_expect_eq(meta_int(res, "rows_written"), 1);
	cr_expect_gt(meta_int(res, "size_after"), 0);
	cr_expect(json_is_true(json_object_get(json_object_get(res, "meta"), "changed_db")));
	cr_expect(json_is_real(json_object_get(json_object_get(res, "meta"), "duration")));
	json_decref(res);

	res = query("SELECT * FROM m", NULL);
	cr_expect(json_is_false(json_object_get(json_object_get(res, "meta"), "changed_db")));
	cr_expect_eq(meta_int(res, "changes"), 0);
	cr_expect_eq(meta_int(res, "rows_read"), 3);
	cr_expect_eq(meta_int(res, "rows_written"), 0);
	json_decref(res);

	res = query("UPDATE m SET v = 'z' WHERE id < 3", NULL);
	cr_expect_eq(meta_int(res, "changes"), 2);
	json_decref(res);
}

/* --- defences ---------------------------------------------------------------------------- */

Test(d1, attach_is_refused)
{
	char sql[600];

	create_db(TENANT, DB);
	create_db(OTHER, DB2);
	expect_query_fails("ATTACH '/etc/passwd' AS pw", STORE_E_FAILED, NOT_AUTHORIZED);
	snprintf(sql, sizeof(sql), "ATTACH '%s/d1/%s/%s.sqlite' AS theirs", dir, OTHER, DB2);
	expect_query_fails(sql, STORE_E_FAILED, NOT_AUTHORIZED);
	expect_fail("exec", json_pack("{s:s}", "sql", sql), STORE_E_FAILED, NULL);
	expect_query_fails("DETACH main", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("VACUUM INTO '/tmp/edged-test-d1-vacuum.sqlite'", STORE_E_FAILED, NULL);
	cr_expect_eq(access("/tmp/edged-test-d1-vacuum.sqlite", F_OK), -1);
}

Test(d1, extensions_and_pointer_functions_are_refused)
{
	create_db(TENANT, DB);
	expect_query_fails("SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')",
	    STORE_E_FAILED,
	    "D1_ERROR: not authorized to use function: load_extension: SQLITE_ERROR");
	expect_fail("query",
	    json_pack("{s:s, s:[{s:s}]}", "sql", "SELECT fts3_tokenizer('simple', ?)", "params",
		"blob", "AAAAAAAAAAA="),
	    STORE_E_FAILED,
	    "D1_ERROR: not authorized to use function: fts3_tokenizer: SQLITE_ERROR");
	expect_query_fails(
	    "CREATE VIRTUAL TABLE s USING sqlite_stmt", STORE_E_FAILED, NOT_AUTHORIZED);
	/* Full-text search and R*Trees are allowed. */
	run("CREATE VIRTUAL TABLE docs USING fts5(body)");
	run("INSERT INTO docs VALUES ('the quick brown fox')");
	cr_expect_eq(scalar_int("SELECT count(*) FROM docs WHERE docs MATCH 'quick'"), 1);
	run("CREATE VIRTUAL TABLE old_docs USING fts4(body)");
	run("CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1)");
	expect_query_fails("PRAGMA page_size = 512", STORE_E_FAILED, NOT_AUTHORIZED);
}

Test(d1, pragmas_outside_the_allowlist_are_refused)
{
	json_t *res;

	create_db(TENANT, DB);
	run("CREATE TABLE t (a INTEGER, b TEXT)");
	expect_query_fails("PRAGMA writable_schema = ON", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("PRAGMA journal_mode = DELETE", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("PRAGMA synchronous = OFF", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("PRAGMA max_page_count = 999999999", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("PRAGMA foreign_keys = maybe", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("SELECT * FROM pragma_journal_mode", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("BEGIN", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("COMMIT", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("SAVEPOINT s", STORE_E_FAILED, NOT_AUTHORIZED);
	expect_query_fails("UPDATE sqlite_schema SET sql = 'x'", STORE_E_FAILED, NULL);

	res = query("PRAGMA table_info(t)", NULL);
	cr_expect_eq(json_array_size(json_object_get(res, "rows")), 2);
	json_decref(res);
	res = query("SELECT name FROM pragma_table_info('t') ORDER BY cid", NULL);
	cr_expect_str_eq(json_string_value(json_array_get(first_row(res), 0)), "a");
	json_decref(res);
	run("PRAGMA foreign_keys = ON");
	run("PRAGMA table_list");
}

Test(d1, a_query_that_never_ends_is_stopped)
{
	create_db(TENANT, DB);
	d1_set_time_limit_ms(d1, 200);
	expect_query_fails("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
			   "SELECT count(*) FROM c",
	    STORE_E_FAILED, "D1_ERROR: query exceeded the time limit");
	expect_fail("batch",
	    json_pack("{s:[{s:s}]}", "statements", "sql",
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) "
		"FROM c"),
	    STORE_E_FAILED, "D1_ERROR: query exceeded the time limit (statement 1 of the batch)");
	/* The next call has a time limit of its own. */
	cr_expect_eq(scalar_int("SELECT 7"), 7);
}

/*
 * Views named many times multiply while a statement compiles, and the
 * program they give runs long stretches without a jump (where sqlite
 * calls the progress handler).  30 tables, three views: 27,000 SELECTs.
 */
Test(d1, statements_that_compile_to_huge_programs_are_refused)
{
	char *sql = malloc(64 << 10);
	size_t len = 0;

	cr_expect_eq(sqlite3_hard_heap_limit64(-1), D1_HEAP_LIMIT, "d1_open caps sqlite's heap");
	create_db(TENANT, DB);
	for (int i = 1; i <= 30; i++)
		len += (size_t)sprintf(sql + len, "CREATE TABLE t%d (x);\n", i);
	len += (size_t)sprintf(sql + len, "CREATE VIEW v1 AS SELECT x FROM t1");
	for (int i = 2; i <= 30; i++)
		len += (size_t)sprintf(sql + len, " UNION ALL SELECT x FROM t%d", i);
	for (int v = 2; v <= 3; v++) {
		len +=
		    (size_t)sprintf(sql + len, ";\nCREATE VIEW v%d AS SELECT x FROM v%d", v, v - 1);
		for (int i = 2; i <= 30; i++)
			len += (size_t)sprintf(sql + len, " UNION ALL SELECT x FROM v%d", v - 1);
	}
	json_decref(ok_as(TENANT, DB, "exec", false, json_pack("{s:s}", "sql", sql)));
	free(sql);
	cr_expect_eq(scalar_int("SELECT count(*) FROM v2"), 0, "900 SELECTs are fine");
	expect_query_fails(
	    "SELECT count(*) FROM v3", STORE_E_FAILED, "D1_ERROR: out of memory: SQLITE_NOMEM");
	cr_expect_eq(scalar_int("SELECT 1"), 1);
}

Test(d1, statement_length_is_limited)
{
	size_t n = 100001;
	char *sql = malloc(n + 1);

	create_db(TENANT, DB);
	memset(sql, 'x', n);
	memcpy(sql, "SELECT '", 8);
	sql[n - 1] = '\'';
	sql[n] = '\0';
	expect_query_fails(sql, STORE_E_FAILED, "D1_ERROR: string or blob too big: SQLITE_TOOBIG");
	/* One byte less is a statement of the limit's length, and runs. */
	memcpy(sql + n - 2, "'", 2);
	run(sql);
	free(sql);
}

Test(d1, at_most_one_hundred_parameters)
{
	char sql[1024];
	json_t *params = json_array();
	size_t len = 0;

	create_db(TENANT, DB);
	len += (size_t)snprintf(sql, sizeof(sql), "SELECT ?");
	json_array_append_new(params, json_integer(0));
	for (int i = 1; i < 100; i++) {
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ",?");
		json_array_append_new(params, json_integer(i));
	}
	json_decref(query(sql, json_incref(params)));
	snprintf(sql + len, sizeof(sql) - len, ",?");
	json_array_append_new(params, json_integer(100));
	expect_fail("query", json_pack("{s:s, s:o}", "sql", sql, "params", params), STORE_E_FAILED,
	    "D1_ERROR: too many SQL variables: SQLITE_ERROR");
}

Test(d1, value_and_pattern_limits)
{
	create_db(TENANT, DB);
	expect_query_fails("SELECT randomblob(1000000000)", STORE_E_FAILED,
	    "D1_ERROR: string or blob too big: SQLITE_TOOBIG");
	expect_query_fails("SELECT length(zeroblob(1000001))", STORE_E_FAILED,
	    "D1_ERROR: string or blob too big: SQLITE_TOOBIG");
	cr_expect_eq(scalar_int("SELECT length(zeroblob(1000000))"), 1000000);
	expect_query_fails("SELECT 'a' LIKE printf('%.51c', '_')", STORE_E_FAILED,
	    "D1_ERROR: LIKE or GLOB pattern too complex: SQLITE_ERROR");
	cr_expect_eq(scalar_int("SELECT 'a' LIKE printf('%.50c', '%')"), 1);
}

Test(d1, a_full_database_says_so_and_stays_usable)
{
	struct store_result r;
	int full = 0;

	create_db(TENANT, DB);
	run("CREATE TABLE big (b BLOB)");
	limits.d1_bytes = 64 * 1024;
	for (int i = 0; i < 40 && full == 0; i++) {
		call_as(TENANT, DB, "query", false,
		    json_pack("{s:s}", "sql", "INSERT INTO big VALUES (zeroblob(8000))"), &r);
		if (r.status != STORE_OK) {
			cr_expect_eq(r.status, STORE_E_TOO_LARGE);
			cr_expect_str_eq(r.message, "D1_ERROR: database is full");
			full = i;
		}
		store_result_release(&r);
	}
	cr_assert_gt(full, 0, "the quota was never reached");
	cr_expect_eq(scalar_int("SELECT count(*) FROM big"), full);
	run("DELETE FROM big WHERE rowid = 1");
	run("INSERT INTO big VALUES (zeroblob(8000))");
	cr_expect_eq(scalar_int("SELECT count(*) FROM big"), full);
	/* Temp tables count against the quota as well. */
	expect_fail("exec",
	    json_pack("{s:s}", "sql",
		"CREATE TEMP TABLE scratch AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x "
		"+ "
		"1 FROM c WHERE x < 100) SELECT zeroblob(8000) FROM c"),
	    STORE_E_TOO_LARGE, NULL);
	/* A raised quota applies to the next call. */
	limits.d1_bytes = 0;
	run("INSERT INTO big VALUES (zeroblob(8000))");
}

Test(d1, results_are_bounded)
{
	create_db(TENANT, DB);
	expect_query_fails(
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
	    "20000) SELECT x, printf('%.1000c', 'x') FROM c",
	    STORE_E_TOO_LARGE, NULL);
	cr_expect_eq(scalar_int("SELECT 1"), 1);
}

Test(d1, invalid_utf8_text_is_replaced)
{
	json_t *res;

	create_db(TENANT, DB);
	res = query("SELECT CAST(x'ff41c3' AS TEXT)", NULL);
	cr_expect_str_eq(json_string_value(json_array_get(first_row(res), 0)),
	    "\xef\xbf\xbd"
	    "A\xef\xbf\xbd");
	json_decref(res);
}

Test(d1, malformed_calls_are_refused)
{
	struct store_result r;
	static const char *const bad_ids[] = { "../../etc", "",
		"0A1B2C3D-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-00000000000" };

	create_db(TENANT, DB);
	expect_fail("query", json_pack("{s:i}", "sql", 1), STORE_E_INVALID, NULL);
	expect_fail("query", json_pack("{}"), STORE_E_INVALID, NULL);
	expect_fail("query", json_pack("{s:s, s:s}", "sql", "SELECT ?", "params", "1"),
	    STORE_E_INVALID, NULL);
	expect_fail("query", json_pack("{s:s, s:[[]]}", "sql", "SELECT ?", "params"),
	    STORE_E_INVALID, NULL);
	expect_fail("query",
	    json_pack("{s:s, s:[{s:s}]}", "sql", "SELECT ?", "params", "blob", "@@"),
	    STORE_E_INVALID, NULL);
	expect_fail("query", json_pack("{s:s, s:[{s:i}]}", "sql", "SELECT ?", "params", "blob", 1),
	    STORE_E_INVALID, NULL);
	expect_fail("query", json_pack("{s:s%}", "sql", "SELECT 1\0 DROP", (size_t)14),
	    STORE_E_INVALID, NULL);
	expect_fail("batch", json_pack("{s:s}", "statements", "x"), STORE_E_INVALID, NULL);
	expect_fail("batch", json_pack("{s:[i]}", "statements", 1), STORE_E_INVALID, NULL);
	expect_fail("nonsense", NULL, STORE_E_INVALID, NULL);
	expect_fail("query", json_pack("[s]", "SELECT 1"), STORE_E_INVALID, NULL);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		call_as(TENANT, bad_ids[i], "create", true, NULL, &r);
		cr_expect_eq(r.status, STORE_E_INVALID, "id '%s'", bad_ids[i]);
		store_result_release(&r);
	}
	call_as("../x", DB, "create", true, NULL, &r);
	cr_expect_eq(r.status, STORE_E_INVALID);
	store_result_release(&r);
	cr_expect_eq(scalar_int("SELECT 1"), 1);
}

/* Every method, every argument of every JSON type: an answer, never a crash. */
Test(d1, every_method_survives_type_confusion)
{
	static const char *const methods[] = { "query", "batch", "exec", "queryAll", "info",
		"create", "drop" };
	static const char *const keys[] = { "sql", "params", "statements" };
	static const char *const values[] = { "null", "true", "-1", "1e308", "\"\"", "\"SELECT 1\"",
		"[]", "[null]", "[[1]]", "[{\"blob\": null}]", "[{\"blob\": \"A\"}]",
		"[{\"sql\": []}]", "[{\"sql\": \"SELECT ?\", \"params\": {}}]", "{}",
		"{\"blob\": \"AA==\"}" };
	struct store_result r;

	create_db(TENANT, DB);
	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
				json_t *value = json_loads(values[v], JSON_DECODE_ANY, NULL);

				cr_assert_not_null(value, "%s", values[v]);
				call_as(TENANT, DB, methods[m], true,
				    json_pack("{s:o}", keys[k], value), &r);
				cr_expect_eq(r.status == STORE_OK, r.doc != NULL,
				    "%s {%s: %s}: %d %s", methods[m], keys[k], values[v], r.status,
				    r.message);
				store_result_release(&r);
				/* drop/create pairs keep the database there for the next round. */
				if (strcmp(methods[m], "drop") == 0)
					create_db(TENANT, DB);
			}
	call_as(TENANT, DB, "\xff\xfequery", false, NULL, &r);
	cr_expect_eq(r.status, STORE_E_INVALID);
	cr_expect_str_eq(r.message, "D1_ERROR: unknown method '??query'");
	store_result_release(&r);
}

/* --- isolation and durability ------------------------------------------------------ */

Test(d1, same_id_under_two_tenants_is_two_databases)
{
	struct store_result r;

	create_db(TENANT, DB);
	create_db(OTHER, DB);
	run("CREATE TABLE secrets (s TEXT)");
	run("INSERT INTO secrets VALUES ('acme only')");
	call_as(OTHER, DB, "query", false, json_pack("{s:s}", "sql", "SELECT * FROM secrets"), &r);
	cr_expect_eq(r.status, STORE_E_FAILED);
	cr_expect_str_eq(r.message, "D1_ERROR: no such table: secrets: SQLITE_ERROR");
	store_result_release(&r);
	call_as(OTHER, DB2, "query", false, json_pack("{s:s}", "sql", "SELECT 1"), &r);
	cr_expect_eq(r.status, STORE_E_NOT_FOUND);
	store_result_release(&r);
}

Test(d1, rows_survive_close_and_reopen)
{
	json_t *res;

	create_db(TENANT, DB);
	run("CREATE TABLE d (v TEXT)");
	json_decref(query("INSERT INTO d VALUES (?)", json_pack("[s]", "kept")));
	d1_close(d1);
	cr_assert_not_null(d1 = d1_open(dir));
	res = query("SELECT v FROM d", NULL);
	cr_expect_str_eq(json_string_value(json_array_get(first_row(res), 0)), "kept");
	json_decref(res);
}

Test(d1, many_databases_share_a_bounded_cache)
{
	char id[64];
	int fds;

	for (int i = 0; i < D1_CACHE_MAX + 8; i++) {
		snprintf(id, sizeof(id), "0a1b2c3d-0000-4000-8000-%012d", i);
		create_db(TENANT, id);
		json_decref(ok_as(TENANT, id, "query", false,
		    json_pack("{s:s, s:[i]}", "sql", "CREATE TABLE n (i); INSERT INTO n VALUES (?)",
			"params", i)));
	}
	fds = support_count_fds();
	cr_expect_leq(fds, fds_before + 3 * D1_CACHE_MAX + 4, "%d descriptors open", fds);
	for (int i = 0; i < D1_CACHE_MAX + 8; i++) {
		json_t *res;

		snprintf(id, sizeof(id), "0a1b2c3d-0000-4000-8000-%012d", i);
		res =
		    ok_as(TENANT, id, "query", false, json_pack("{s:s}", "sql", "SELECT i FROM n"));
		cr_expect_eq(json_integer_value(json_array_get(first_row(res), 0)), i);
		json_decref(res);
	}
}

/* The child inserts until killed; each id it writes to the pipe had its call answer OK. */
static void
writer_child(int out)
{
	struct d1 *own = d1_open(dir);
	struct store_result r;
	char line[32];

	if (own == NULL)
		_exit(2);
	for (long i = 1;; i++) {
		struct store_call c = {
			.tenant = TENANT,
			.resource = DB,
			.method = "query",
			.args = json_pack("{s:s, s:[I]}", "sql", "INSERT INTO w VALUES (?)",
			    "params", (json_int_t)i),
			.limits = &limits,
		};
		int n;

		memset(&r, 0, sizeof(r));
		r.fd = -1;
		d1_call(own, &c, &r);
		json_decref(c.args);
		if (r.status != STORE_OK)
			_exit(3);
		store_result_release(&r);
		n = snprintf(line, sizeof(line), "%ld\n", i);
		if (write(out, line, (size_t)n) != n)
			_exit(4);
	}
}

Test(d1, reported_inserts_survive_sigkill)
{
	int fds[2], status;
	long reported = 0, want = 200;
	char buf[4096];
	FILE *in;
	pid_t pid;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[512];

	create_db(TENANT, DB);
	run("CREATE TABLE w (id INTEGER PRIMARY KEY)");
	d1_close(d1);
	d1 = NULL;
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		writer_child(fds[1]);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	cr_assert_not_null(in);
	while (reported < want && fgets(buf, sizeof(buf), in) != NULL)
		reported = atol(buf);
	cr_assert_eq(reported, want, "the writer stopped early");
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Whatever it managed to report before it died counts too. */
	while (fgets(buf, sizeof(buf), in) != NULL)
		if (strchr(buf, '\n') != NULL)
			reported = atol(buf);
	fclose(in);

	cr_assert_not_null(d1 = d1_open(dir));
	cr_expect_geq(scalar_int("SELECT count(*) FROM w"), reported);
	cr_expect_eq(scalar_int("SELECT count(*) FROM w"), scalar_int("SELECT max(id) FROM w"),
	    "ids are consecutive");
	cr_expect_geq(scalar_int("SELECT max(id) FROM w"), reported);
	d1_close(d1);
	d1 = NULL;

	snprintf(path, sizeof(path), "%s/d1/%s/%s.sqlite", dir, TENANT, DB);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_not_null(d1 = d1_open(dir));
}
