/*
 * meta_internal: what meta.c shares with meta_storage.c (the storage
 * registry): the database handle and the small sqlite helpers.  Not for
 * other modules.  Supervisor.
 */
#ifndef EDGED_META_INTERNAL_H
#define EDGED_META_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "supervisor/meta.h"

struct meta_storage;

/* The open database; borrowed for the life of m. */
sqlite3 *meta_db(struct meta *m);
/* meta_storage.c's state, set by meta_open. */
struct meta_storage *meta_storage_of(struct meta *m);

/* Logs "meta: cannot <what> in '<path>': <sqlite message>". */
void meta_log_db(struct meta *m, const char *what);
/* A prepared statement, reset and unbound, ready for new bindings. */
sqlite3_stmt *meta_stmt_ready(sqlite3_stmt *st);
/* Runs a statement that returns no rows; 0 or -1 (logged). */
int meta_exec_stmt(struct meta *m, sqlite3_stmt *st, const char *what);
/* BEGIN IMMEDIATE / COMMIT: 0 or -1.  Rollback keeps errno and is a no-op outside one. */
int meta_begin(struct meta *m);
int meta_commit(struct meta *m);
void meta_rollback(struct meta *m);
/* Binds a text (static: it must outlive the step) or an integer; 0 or -1. */
int meta_bind_text(sqlite3_stmt *st, int idx, const char *s);
int meta_bind_int(sqlite3_stmt *st, int idx, int64_t v);
/* Copies a column's text (NULL as "") into dst, truncating to dst_len. */
void meta_copy_text(char *dst, size_t dst_len, const unsigned char *src);
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
