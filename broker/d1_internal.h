/*
 * d1_internal: what the files of the D1 backend (broker/d1.c, d1_conn.c,
 * d1_run.c, d1_value.c) share.  Not an interface for the rest of the
 * broker: that is broker/store.h.  Runs in the broker.
 */
#ifndef EDGED_D1_INTERNAL_H
#define EDGED_D1_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "broker/store.h"
#include "common/ipc.h"

#define D1_CACHE_MAX 32         /* open databases kept, least recently used goes first */
#define D1_TIME_LIMIT_MS 30000u /* wall time of one call (D1: 30 s per query) */
#define D1_PROGRESS_OPS 1000    /* VM steps between two looks at the clock */
#define D1_STATEMENT_MAX 100000 /* bytes of one SQL statement (D1's limit) */
#define D1_VALUE_MAX 1000000    /* bytes of a string, blob or row (D1's limit) */
#define D1_PARAMS_MAX 100       /* bound parameters of one statement (D1's limit) */
/*
 * Instructions in one compiled statement.  Straight-line code runs without
 * a look at the clock (sqlite calls the progress handler on jumps only),
 * and some instructions cost as much as the statement has cursors open:
 * bounding the program bounds that stretch.  Ordinary statements take tens
 * to a few thousand.
 */
#define D1_PROGRAM_MAX 100000
/*
 * sqlite3_hard_heap_limit64 for the whole broker process, set by d1_open
 * unless something set one before: views and CTEs named several times are
 * copied per reference while a statement compiles, before any callback of
 * ours runs, and a few small views multiply into gigabytes.  Past the
 * limit the statement fails with SQLITE_NOMEM and the broker lives on.
 */
#define D1_HEAP_LIMIT (512ll << 20)
/*
 * The result document travels as JSON text in one RESULT message; what a
 * call returns is counted as it is built (D1_RESULT_MAX minus headroom for
 * the meta objects and framing) and a call past it fails.
 */
#define D1_RESULT_MAX (IPC_RESULT_MAX - (64u << 10))

/* One open database of one tenant, hardened (d1_conn.c). */
struct d1_conn {
	struct d1 *d1;
	sqlite3 *db;
	char tenant[65];
	char id[37];
	uint64_t last_used; /* d1->tick when last handed out */
	bool has_quota;     /* quota below has been applied with max_page_count */
	uint64_t quota;     /* d1_bytes applied; 0: unlimited */
	int64_t page_size;
	bool trusted;        /* our own statement runs: authorizer and time limit stand aside */
	bool ddl;            /* the statement being prepared creates, drops or alters */
	unsigned authorized; /* authorizer calls, to look at the clock every so often */
};

struct d1 {
	char *dir; /* absolute <data_dir>/d1 */
	struct d1_conn *cache[D1_CACHE_MAX];
	uint64_t tick;
	unsigned time_limit_ms;
	double deadline_ms; /* of the call in progress, on d1_now_ms()'s clock */
	bool timed_out;     /* the call in progress ran past the deadline */
};

/* Milliseconds of CLOCK_MONOTONIC, as a double (for "duration"). */
double d1_now_ms(void);
/* Starts the clock of one call: the deadline is now + the time limit. */
void d1_deadline_start(struct d1 *d1);
/* True (and d1->timed_out set) once the call's deadline has passed. */
bool d1_deadline_passed(struct d1 *d1);

/* ---- d1_conn.c: opening and guarding one database ---- */

/*
 * Opens the existing database at `path` (never creates it), hardens the
 * connection (defensive config, limits, authorizer, progress handler) and
 * sets WAL with synchronous=FULL.  Returns NULL on failure (logged).  The
 * caller owns the result (d1_conn_close).
 */
struct d1_conn *d1_conn_open(struct d1 *d1, const char *path, const char *tenant, const char *id);
/* Closes and frees; accepts NULL. */
void d1_conn_close(struct d1_conn *conn);
/* Runs our own SQL (no authorizer, no time limit); returns the sqlite3 code. */
int d1_conn_exec(struct d1_conn *conn, const char *sql);
/* Our own one-integer query; -1 on failure. */
int64_t d1_conn_int(struct d1_conn *conn, const char *sql);
/* Applies a per-database quota in bytes (0: unlimited) with max_page_count. */
int d1_conn_set_quota(struct d1_conn *conn, uint64_t bytes);
/* Bytes the database takes (page_count * page_size), in or out of a transaction. */
uint64_t d1_conn_size(struct d1_conn *conn);
/*
 * Describes the failure `rc` of the last call on conn into buf ("<sqlite
 * message>: SQLITE_<code>", or the time-limit and quota wordings) and
 * returns the store status for it.  Engine trouble is logged.
 */
enum store_status d1_conn_describe(struct d1_conn *conn, int rc, char *buf, size_t len);
/* "ERROR", "CONSTRAINT", ... for a primary or extended sqlite3 result code. */
const char *d1_code_name(int rc);

/* ---- d1_value.c: JSON <-> sqlite3 values ---- */

/*
 * Binds the JSON array `params` (borrowed; it must outlive the statement)
 * to stmt.  Returns 0, or -1 with r set.
 */
int d1_bind_params(sqlite3_stmt *stmt, json_t *params, struct store_result *r);
/*
 * Column `col` of the current row as JSON (new reference; NULL when out of
 * memory); adds the bytes its JSON text takes to *cost.
 */
json_t *d1_column_json(sqlite3_stmt *stmt, int col, size_t *cost);
/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0: common/utf8.h's. */
size_t d1_utf8_sequence(const unsigned char *s, size_t n);
/* Text as a JSON string, invalid UTF-8 replaced by U+FFFD; adds its JSON bytes to *cost. */
json_t *d1_text_json(const char *s, size_t len, size_t *cost);

/* ---- d1_run.c: the methods that run SQL, each in one transaction ---- */

void d1_query(struct d1_conn *conn, const struct store_call *c, struct store_result *r);
void d1_batch(struct d1_conn *conn, const struct store_call *c, struct store_result *r);
void d1_exec(struct d1_conn *conn, const struct store_call *c, struct store_result *r);
void d1_query_all(struct d1_conn *conn, const struct store_call *c, struct store_result *r);

#endif
