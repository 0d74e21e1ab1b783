/*
 * r2_index: a bucket's index.sqlite: its schema, the prepared statements
 * (as data, every input bound), transactions, and the rows of objects,
 * multipart uploads and parts.  Keys are BLOBs so that sqlite orders them
 * bytewise, as R2 lists them.  Runs in the broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/r2_internal.h"
#include "common/log.h"

#define R2_BUSY_TIMEOUT_MS 5000

static const char r2_schema[] =
    "CREATE TABLE IF NOT EXISTS bucket ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS objects ("
    "  key BLOB PRIMARY KEY NOT NULL,"
    "  blob TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  uploaded INTEGER NOT NULL,"
    "  checksums TEXT NOT NULL,"
    "  http TEXT NOT NULL,"
    "  custom TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS objects_by_blob ON objects(blob);"
    "CREATE TABLE IF NOT EXISTS uploads ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  key BLOB NOT NULL,"
    "  http TEXT NOT NULL,"
    "  custom TEXT NOT NULL,"
    "  created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS parts ("
    "  upload TEXT NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  blob TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  PRIMARY KEY (upload, number)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS parts_by_blob ON parts(blob);"
    /* Blobs the last commit replaced: unlinked after it, cleared by the next. */
    "CREATE TABLE IF NOT EXISTS trash (blob TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;";

#define R2_OBJECT_COLUMNS "key, blob, version, size, etag, uploaded, checksums, http, custom"

static const char *const r2_sql[R2_STMT_COUNT] = {
	[R2_ST_BEGIN] = "BEGIN IMMEDIATE",
	[R2_ST_COMMIT] = "COMMIT",
	[R2_ST_ROLLBACK] = "ROLLBACK",
	[R2_ST_BUCKET_GET] = "SELECT created FROM bucket WHERE id = 1",
	[R2_ST_OBJECT_GET] = "SELECT " R2_OBJECT_COLUMNS " FROM objects WHERE key = ?1",
	[R2_ST_OBJECT_PUT] = "INSERT OR REPLACE INTO objects(" R2_OBJECT_COLUMNS ")"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[R2_ST_OBJECT_DELETE] = "DELETE FROM objects WHERE key = ?1",
	[R2_ST_OBJECT_ANY] = "SELECT 1 FROM objects LIMIT 1",
	[R2_ST_OBJECT_FROM] = "SELECT " R2_OBJECT_COLUMNS " FROM objects WHERE key >= ?1"
			      " ORDER BY key",
	[R2_ST_UPLOAD_PUT] = "INSERT INTO uploads(id, key, http, custom, created)"
			     " VALUES (?1, ?2, ?3, ?4, ?5)",
	[R2_ST_UPLOAD_GET] = "SELECT id, key, http, custom FROM uploads WHERE id = ?1",
	[R2_ST_UPLOAD_DELETE] = "DELETE FROM uploads WHERE id = ?1",
	[R2_ST_PART_GET] = "SELECT number, blob, size, etag FROM parts"
			   " WHERE upload = ?1 AND number = ?2",
	[R2_ST_PART_PUT] = "INSERT OR REPLACE INTO parts(upload, number, blob, size, etag)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
	[R2_ST_PART_LIST] = "SELECT number, blob, size, etag FROM parts WHERE upload = ?1"
			    " ORDER BY number",
	[R2_ST_PART_DELETE_ALL] = "DELETE FROM parts WHERE upload = ?1",
	[R2_ST_TRASH_ADD] = "INSERT OR IGNORE INTO trash(blob) VALUES (?1)",
	[R2_ST_TRASH_LIST] = "SELECT blob FROM trash",
	[R2_ST_TRASH_CLEAR] = "DELETE FROM trash",
	[R2_ST_BLOB_USED] = "SELECT 1 FROM objects WHERE blob = ?1"
			    " UNION ALL SELECT 1 FROM parts WHERE blob = ?1 LIMIT 1",
	[R2_ST_USAGE] = "SELECT (SELECT IFNULL(SUM(size), 0) FROM objects) +"
			" (SELECT IFNULL(SUM(size), 0) FROM parts)",
};

int
r2_index_configure(sqlite3 *db)
{
	static const char pragmas[] = "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = FULL;";

	sqlite3_busy_timeout(db, R2_BUSY_TIMEOUT_MS);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	return sqlite3_exec(db, pragmas, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int
r2_index_create(sqlite3 *db, int64_t created)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_exec(db, r2_schema, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(
		db, "INSERT INTO bucket(id, created) VALUES (1, ?1)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, created) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
r2_index_prepare(struct r2_bucket *b)
{
	for (size_t i = 0; i < R2_STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(b->db, r2_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &b->st[i],
			NULL) != SQLITE_OK) {
			r2_log_db(b, "prepare a statement");
			return -1;
		}
	}
	return 0;
}

int
r2_exec(struct r2_bucket *b, enum r2_stmt_id id)
{
	sqlite3_stmt *st = b->st[id];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	r2_log_db(b, "write the index");
	return -1;
}

/* Every write transaction first forgets the trash its predecessor unlinked. */
int
r2_tx_begin(struct r2_bucket *b)
{
	if (r2_exec(b, R2_ST_BEGIN) == -1)
		return -1;
	if (r2_exec(b, R2_ST_TRASH_CLEAR) == -1) {
		r2_tx_rollback(b);
		return -1;
	}
	return 0;
}

int
r2_tx_commit(struct r2_bucket *b)
{
	if (r2_exec(b, R2_ST_COMMIT) == 0)
		return 0;
	r2_tx_rollback(b);
	return -1;
}

void
r2_tx_rollback(struct r2_bucket *b)
{
	/* sqlite may have rolled back already (disk full, I/O error). */
	if (!sqlite3_get_autocommit(b->db))
		r2_exec(b, R2_ST_ROLLBACK);
}

int
r2_trash_add(struct r2_bucket *b, const char *blob)
{
	sqlite3_bind_text(b->st[R2_ST_TRASH_ADD], 1, blob, -1, SQLITE_STATIC);
	return r2_exec(b, R2_ST_TRASH_ADD);
}

void
r2_object_release(struct r2_object *o)
{
	free(o->key);
	json_decref(o->checksums);
	json_decref(o->http);
	json_decref(o->custom);
	memset(o, 0, sizeof(*o));
}

/* Copies a TEXT column of at most max - 1 bytes; -1 when it is longer or NULL. */
static int
r2_column_text(sqlite3_stmt *st, int col, char *out, size_t max)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (s == NULL || n >= max)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static json_t *
r2_column_json(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	json_t *v;

	if (s == NULL)
		return NULL;
	v = json_loadb(s, (size_t)sqlite3_column_bytes(st, col), 0, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static uint8_t *
r2_column_key(sqlite3_stmt *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);
	uint8_t *key;

	*len = (size_t)sqlite3_column_bytes(st, col);
	if ((key = malloc(*len + 1)) == NULL)
		return NULL;
	if (*len > 0)
		memcpy(key, p, *len);
	key[*len] = '\0';
	return key;
}

int
r2_object_from_row(sqlite3_stmt *st, struct r2_object *o)
{
	memset(o, 0, sizeof(*o));
	if ((o->key = r2_column_key(st, 0, &o->key_len)) == NULL ||
	    r2_column_text(st, 1, o->blob, sizeof(o->blob)) == -1 || !r2_is_id(o->blob) ||
	    r2_column_text(st, 2, o->version, sizeof(o->version)) == -1 ||
	    r2_column_text(st, 4, o->etag, sizeof(o->etag)) == -1 ||
	    (o->checksums = r2_column_json(st, 6)) == NULL ||
	    (o->http = r2_column_json(st, 7)) == NULL ||
	    (o->custom = r2_column_json(st, 8)) == NULL) {
		log_warnx("r2: an object row cannot be read");
		r2_object_release(o);
		return -1;
	}
	o->size = (uint64_t)sqlite3_column_int64(st, 3);
	o->uploaded = sqlite3_column_int64(st, 5);
	return 0;
}

int
r2_object_load(struct r2_bucket *b, const uint8_t *key, size_t len, struct r2_object *o)
{
	sqlite3_stmt *st = b->st[R2_ST_OBJECT_GET];
	int rc;

	memset(o, 0, sizeof(*o));
	sqlite3_bind_blob(st, 1, key, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = r2_object_from_row(st, o) == 0 ? 1 : -1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		r2_log_db(b, "read an object");
		rc = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
r2_bind_json(sqlite3_stmt *st, int col, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);

	if (text == NULL)
		return -1;
	return sqlite3_bind_text(st, col, text, -1, free) == SQLITE_OK ? 0 : -1;
}

int
r2_object_store(struct r2_bucket *b, const struct r2_object *o)
{
	sqlite3_stmt *st = b->st[R2_ST_OBJECT_PUT];

	sqlite3_bind_blob(st, 1, o->key, (int)o->key_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o->blob, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, o->version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)o->size);
	sqlite3_bind_text(st, 5, o->etag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, o->uploaded);
	if (r2_bind_json(st, 7, o->checksums) == -1 || r2_bind_json(st, 8, o->http) == -1 ||
	    r2_bind_json(st, 9, o->custom) == -1) {
		sqlite3_clear_bindings(st);
		log_warnx("r2: cannot encode an object row");
		return -1;
	}
	return r2_exec(b, R2_ST_OBJECT_PUT);
}

json_t *
r2_object_json(const struct r2_object *o, unsigned flags)
{
	char quoted[R2_ETAG_MAX + 2];
	json_t *doc = json_object();
	int rc = 0;

	if (doc == NULL)
		return NULL;
	snprintf(quoted, sizeof(quoted), "\"%s\"", o->etag);
	rc |= json_object_set_new(doc, "key", json_stringn((const char *)o->key, o->key_len));
	rc |= json_object_set_new(doc, "version", json_string(o->version));
	rc |= json_object_set_new(doc, "size", json_integer((json_int_t)o->size));
	rc |= json_object_set_new(doc, "etag", json_string(o->etag));
	rc |= json_object_set_new(doc, "httpEtag", json_string(quoted));
	rc |= json_object_set_new(doc, "uploaded", json_integer(o->uploaded));
	rc |= json_object_set_new(doc, "checksums", json_deep_copy(o->checksums));
	if (flags & R2_JSON_HTTP)
		rc |= json_object_set_new(doc, "httpMetadata", json_deep_copy(o->http));
	if (flags & R2_JSON_CUSTOM)
		rc |= json_object_set_new(doc, "customMetadata", json_deep_copy(o->custom));
	rc |= json_object_set_new(doc, "storageClass", json_string("Standard"));
	if (rc != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void
r2_mpu_release(struct r2_mpu *m)
{
	free(m->key);
	json_decref(m->http);
	json_decref(m->custom);
	memset(m, 0, sizeof(*m));
}

int
r2_mpu_load(struct r2_bucket *b, const char *id, struct r2_mpu *m)
{
	sqlite3_stmt *st = b->st[R2_ST_UPLOAD_GET];
	int rc;

	memset(m, 0, sizeof(*m));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = 1;
		if (r2_column_text(st, 0, m->id, sizeof(m->id)) == -1 ||
		    (m->key = r2_column_key(st, 1, &m->key_len)) == NULL ||
		    (m->http = r2_column_json(st, 2)) == NULL ||
		    (m->custom = r2_column_json(st, 3)) == NULL) {
			log_warnx("r2: an upload row cannot be read");
			r2_mpu_release(m);
			rc = -1;
		}
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		r2_log_db(b, "read an upload");
		rc = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int
r2_mpu_store(struct r2_bucket *b, const struct r2_mpu *m, int64_t created)
{
	sqlite3_stmt *st = b->st[R2_ST_UPLOAD_PUT];

	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, m->key, (int)m->key_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, created);
	if (r2_bind_json(st, 3, m->http) == -1 || r2_bind_json(st, 4, m->custom) == -1) {
		sqlite3_clear_bindings(st);
		log_warnx("r2: cannot encode an upload row");
		return -1;
	}
	return r2_exec(b, R2_ST_UPLOAD_PUT);
}

int
r2_mpu_delete(struct r2_bucket *b, const char *id)
{
	sqlite3_bind_text(b->st[R2_ST_PART_DELETE_ALL], 1, id, -1, SQLITE_STATIC);
	if (r2_exec(b, R2_ST_PART_DELETE_ALL) == -1)
		return -1;
	sqlite3_bind_text(b->st[R2_ST_UPLOAD_DELETE], 1, id, -1, SQLITE_STATIC);
	return r2_exec(b, R2_ST_UPLOAD_DELETE);
}

static int
r2_part_from_row(sqlite3_stmt *st, struct r2_part *p)
{
	p->number = sqlite3_column_int(st, 0);
	p->size = (uint64_t)sqlite3_column_int64(st, 2);
	if (r2_column_text(st, 1, p->blob, sizeof(p->blob)) == -1 || !r2_is_id(p->blob) ||
	    r2_column_text(st, 3, p->etag, sizeof(p->etag)) == -1) {
		log_warnx("r2: a part row cannot be read");
		return -1;
	}
	return 0;
}

int
r2_part_load(struct r2_bucket *b, const char *upload, int number, struct r2_part *p)
{
	sqlite3_stmt *st = b->st[R2_ST_PART_GET];
	int rc;

	sqlite3_bind_text(st, 1, upload, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = r2_part_from_row(st, p) == 0 ? 1 : -1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		r2_log_db(b, "read a part");
		rc = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int
r2_part_list(struct r2_bucket *b, const char *upload, struct r2_part **parts, size_t *n)
{
	sqlite3_stmt *st = b->st[R2_ST_PART_LIST];
	struct r2_part *list = NULL, *grown;
	size_t count = 0, cap = 0;
	int rc;

	sqlite3_bind_text(st, 1, upload, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((grown = reallocarray(list, cap, sizeof(*list))) == NULL)
				break;
			list = grown;
		}
		if (r2_part_from_row(st, &list[count]) == -1)
			break;
		count++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			r2_log_db(b, "read the parts");
		free(list);
		return -1;
	}
	*parts = list;
	*n = count;
	return 0;
}

int
r2_index_usage(struct r2_bucket *b, uint64_t *bytes)
{
	sqlite3_stmt *st = b->st[R2_ST_USAGE];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	else
		r2_log_db(b, "read the usage");
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}
