/*
 * meta_internal: what the files of meta share (meta.c: the database, its
 * statements and tenants and versions; meta_routes.c, meta_tokens.c,
 * meta_storage.c): the database handle, the statement table and the small
 * sqlite helpers.  Not for other modules.  Supervisor.
 */
#ifndef EDGED_META_INTERNAL_H
#define EDGED_META_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "supervisor/meta.h"

struct meta_storage;

/* meta.c's statements, prepared at meta_open from its table of SQL. */
enum meta_stmt_id {
	META_BEGIN,
	META_COMMIT,
	META_ROLLBACK,
	META_TENANT_INSERT,
	META_TENANT_EXISTS,
	META_LIMITS_PUT,
	META_LIMITS_GET,
	META_WORKER_INSERT,
	META_WORKER_ACTIVATE,
	META_WORKER_DELETE,
	META_VERSION_INSERT,
	META_VERSION_ACTIVE_ALL,
	META_VERSION_ACTIVE_TENANT,
	META_VERSION_OF_WORKER,
	META_VERSION_GET,
	META_ROUTE_HOST_TAKEN,
	META_ROUTE_INSERT,
	META_ROUTE_DELETE,
	META_ROUTE_DELETE_WORKER,
	META_ROUTE_ALL,
	META_ROUTE_TENANT,
	META_TOKEN_INSERT,
	META_TOKEN_LOOKUP,
	META_TOKEN_DELETE,
	META_TOKEN_TENANT,
	META_STMT_COUNT
};

/* The open database; borrowed for the life of m. */
sqlite3 *meta_db(struct meta *m);
/* meta_storage.c's state, set by meta_open. */
struct meta_storage *meta_storage_of(struct meta *m);

/* Logs "meta: cannot <what> in '<path>': <sqlite message>". */
void meta_log_db(struct meta *m, const char *what);
/*
 * Prepares the n statements sql[] once for the life of m into st[]; 0 or
 * -1 (logged).  meta_finalize_all() frees them, also after a failure here
 * when st[] started out zeroed.
 */
int meta_prepare_all(struct meta *m, const char *const *sql, size_t n, sqlite3_stmt **st);
void meta_finalize_all(sqlite3_stmt **st, size_t n);
/* A prepared statement, reset and unbound, ready for new bindings. */
sqlite3_stmt *meta_stmt_ready(sqlite3_stmt *st);
/* meta.c's statement `id`, ready for new bindings (borrowed). */
sqlite3_stmt *meta_stmt(struct meta *m, enum meta_stmt_id id);

/*
 * Ends the steps of st: resets it and reads the last sqlite3_step() code
 * `rc` as 1 (a row), 0 (done) or -1 (an error, logged with `what`).  Read
 * the row's columns before: the reset ends them.
 */
int meta_step_end(struct meta *m, sqlite3_stmt *st, int rc, const char *what);
/*
 * Ends a walk over st's rows: `rc` the last step's code, `stop` what the
 * callback returned.  Returns stop when it is not 0, else 0 or -1 as
 * meta_step_end.
 */
int meta_walk_end(struct meta *m, sqlite3_stmt *st, int rc, int stop, const char *what);
/* Runs a statement that returns no rows; 0 or -1 (logged). */
int meta_exec_stmt(struct meta *m, sqlite3_stmt *st, const char *what);
/* The same for a statement that changes rows: 1 when it changed any, 0 when none, or -1. */
int meta_exec_changes(struct meta *m, sqlite3_stmt *st, const char *what);
/*
 * Runs an INSERT: 0, 1 when constraint `conflict` refused the row (an
 * extended result code such as SQLITE_CONSTRAINT_UNIQUE, or
 * SQLITE_CONSTRAINT for any constraint), or -1 on another error (logged).
 */
int meta_exec_insert(struct meta *m, sqlite3_stmt *st, int conflict, const char *what);
/* BEGIN IMMEDIATE / COMMIT: 0 or -1.  Rollback keeps errno and is a no-op outside one. */
int meta_begin(struct meta *m);
int meta_commit(struct meta *m);
void meta_rollback(struct meta *m);
/* Binds a text (static: it must outlive the step) or an integer; 0 or -1. */
int meta_bind_text(sqlite3_stmt *st, int idx, const char *s);
int meta_bind_int(sqlite3_stmt *st, int idx, int64_t v);
/* Copies a column's text (NULL as "") into dst, truncating to dst_len. */
void meta_copy_text(char *dst, size_t dst_len, const unsigned char *src);
/* The same into a name field (META_NAME_MAX + 1 bytes). */
void meta_copy_name(char *dst, const unsigned char *src);
/* len bytes from getrandom(); 0 or -1 (logged with `what`). */
int meta_random_bytes(void *out, size_t len, const char *what);
/* len random bytes, hex-encoded into out (2 * len + 1 bytes, len <= 64); 0 or -1. */
int meta_random_hex(char *out, size_t len, const char *what);

/*
 * meta_storage.c: creates the registry's tables (IF NOT EXISTS, so an older
 * meta.sqlite gains them) and prepares its statements.  NULL on failure
 * (logged).  Close accepts NULL.
 */
struct meta_storage *meta_storage_open(struct meta *m);
void meta_storage_close(struct meta_storage *s);

#endif
