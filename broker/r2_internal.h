/*
 * r2_internal: what the files of the R2 backend (broker/r2*.c) share:
 * bucket handles and their sqlite index, blob files, argument checks,
 * conditions, ranges and the per-tenant quota.  Runs in the broker.
 *
 * On disk, under <data_dir>/r2/<tenant>/<bucket>/:
 *   index.sqlite    objects, pending multipart uploads and their parts, and
 *                   "trash" (blobs a commit replaced, unlinked after it)
 *   objects/xx/ID   one blob per object or part; ID is 32 random hex digits
 *                   and xx its first two; names never come from keys
 *   tmp/ID          a body being written; swept at start-up
 * A bucket is created under a ".new-ID" name and renamed into place, and
 * dropped by renaming it to ".trash-ID" first, so it exists or not.
 */
#ifndef EDGED_R2_INTERNAL_H
#define EDGED_R2_INTERNAL_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "broker/store.h"

#define R2_ID_HEX 32         /* random ids (blobs, versions, uploads): 16 bytes in hex */
#define R2_KEY_MAX 1024      /* bytes of UTF-8 */
#define R2_METADATA_MAX 8192 /* httpMetadata + customMetadata bytes */
#define R2_LIST_MAX 1000
#define R2_DELETE_MAX 1000
#define R2_PARTS_MAX 10000
#define R2_PART_MIN (5ull << 20)                 /* all parts but the last, as R2 */
#define R2_PUT_MAX ((5ull << 30) - (5ull << 20)) /* one put or one part */
#define R2_ETAG_MAX 48                           /* "<32 hex>-10000" and its NUL */
#define R2_HEX_MAX 129                           /* SHA-512 in hex and its NUL */

/*
 * R2's error codes, from developers.cloudflare.com/r2/api/error-codes.
 * R2 has no documented code for a malformed argument (the Workers runtime
 * throws a TypeError before R2 sees it); R2_CODE_INVALID_ARGUMENT is ours.
 */
enum r2_code {
	R2_CODE_INTERNAL = 10001,
	R2_CODE_INVALID_BUCKET_NAME = 10005,
	R2_CODE_NO_SUCH_BUCKET = 10006,
	R2_CODE_BUCKET_NOT_EMPTY = 10008,
	R2_CODE_ENTITY_TOO_SMALL = 10011,
	R2_CODE_METADATA_TOO_LARGE = 10012,
	R2_CODE_INVALID_DIGEST = 10014,
	R2_CODE_INVALID_OBJECT_NAME = 10020,
	R2_CODE_NO_SUCH_UPLOAD = 10024,
	R2_CODE_INVALID_PART = 10025,
	R2_CODE_BAD_DIGEST = 10037,
	R2_CODE_INVALID_RANGE = 10039,
	R2_CODE_INVALID_ARGUMENT = 10040,
	R2_CODE_PART_SIZES = 10048,
	R2_CODE_BUCKET_EXISTS = 10073,
	R2_CODE_TOO_LARGE = 100100,
};

/* The prepared statements of one index, as data in r2_index.c. */
enum r2_stmt_id {
	R2_ST_BEGIN,
	R2_ST_COMMIT,
	R2_ST_ROLLBACK,
	R2_ST_BUCKET_GET,
	R2_ST_OBJECT_GET,
	R2_ST_OBJECT_PUT,
	R2_ST_OBJECT_DELETE,
	R2_ST_OBJECT_ANY,
	R2_ST_OBJECT_FROM,
	R2_ST_UPLOAD_PUT,
	R2_ST_UPLOAD_GET,
	R2_ST_UPLOAD_DELETE,
	R2_ST_PART_GET,
	R2_ST_PART_PUT,
	R2_ST_PART_LIST,
	R2_ST_PART_DELETE_ALL,
	R2_ST_TRASH_ADD,
	R2_ST_TRASH_LIST,
	R2_ST_TRASH_CLEAR,
	R2_ST_BLOB_USED,
	R2_ST_USAGE,
	R2_STMT_COUNT
};

/* The backend: its root folder, open indexes and known tenant usage. */
struct r2 {
	char *root;                                    /* <data_dir>/r2 */
	TAILQ_HEAD(r2_bucket_list, r2_bucket) buckets; /* open handles, most recently used first */
	size_t nbuckets;
	TAILQ_HEAD(, r2_usage) usage;
	uint64_t min_part_size;
};

/*
 * An open bucket: a directory fd and the index connection.  Handles live in
 * the r2's cache; a streamed upload holds one (refs) so that eviction leaves
 * it open.  `dropped` is set when the bucket goes while a holder remains.
 */
struct r2_bucket {
	TAILQ_ENTRY(r2_bucket) entry;
	char tenant[65];
	char name[64];
	int dirfd;
	sqlite3 *db;
	sqlite3_stmt *st[R2_STMT_COUNT];
	unsigned refs;
	bool cached;
	bool dropped;
};

/* One index row of an object; r2_object_release() frees what it holds. */
struct r2_object {
	uint8_t *key;
	size_t key_len;
	char blob[R2_ID_HEX + 1];
	char version[R2_ID_HEX + 1];
	uint64_t size;
	char etag[R2_ETAG_MAX];
	int64_t uploaded;
	json_t *checksums;
	json_t *http;
	json_t *custom;
};

/* A pending multipart upload; r2_mpu_release() frees what it holds. */
struct r2_mpu {
	char id[R2_ID_HEX + 1];
	uint8_t *key;
	size_t key_len;
	json_t *http;
	json_t *custom;
};

struct r2_part {
	int number;
	char blob[R2_ID_HEX + 1];
	uint64_t size;
	char etag[R2_ID_HEX + 1];
};

/* Conditions ("onlyIf"); the etag strings are borrowed from the call's args. */
struct r2_cond {
	const char *etag_matches;
	const char *etag_does_not_match;
	bool has_before;
	bool has_after;
	bool seconds;
	int64_t before;
	int64_t after;
};

struct r2_range {
	bool present;
	bool has_offset;
	bool has_length;
	bool has_suffix;
	uint64_t offset;
	uint64_t length;
	uint64_t suffix;
};

/* The one checksum a put may carry. */
struct r2_checksum {
	const char *name; /* "md5", "sha1", ... or NULL when none was given */
	const char *label;
	const EVP_MD *md;
	char hex[R2_HEX_MAX];
};

/* A blob being written: tmp/<id>, then objects/<xx>/<id>. */
struct r2_blob {
	int fd;
	char id[R2_ID_HEX + 1];
};

/* Test hook: the minimum size of all parts but the last (R2_PART_MIN by default). */
void r2_set_min_part_size(struct r2 *r2, uint64_t size);

/* ---- r2.c: results and small helpers ---- */

/* Fails r with R2's form "<method>: <text> (<code>)". */
void r2_fail(struct store_result *r, enum store_status status, enum r2_code code,
    const char *method, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The failure for disk or index trouble, which the caller has logged. */
void r2_fail_internal(struct store_result *r, const char *method);
int64_t r2_now_ms(void);
/* Fills out with R2_ID_HEX random hex digits and a NUL; -1 when no randomness. */
int r2_random_id(char out[R2_ID_HEX + 1]);
void r2_hex(const uint8_t *bin, size_t len, char *out);
bool r2_is_id(const char *s);

/* ---- r2_bucket.c: handles, the cache, create and drop ---- */

/*
 * Finds (opening and caching) the bucket of c, after checking the tenant
 * and bucket names again.  NULL with r set when it does not exist.  The
 * handle stays valid until the next r2_bucket_find() unless held.
 */
struct r2_bucket *r2_bucket_find(
    struct r2 *r2, const struct store_call *c, const char *method, struct store_result *r);
void r2_bucket_hold(struct r2_bucket *b);
void r2_bucket_release(struct r2 *r2, struct r2_bucket *b);
/* Opens a handle outside the cache (start-up, usage); NULL when missing or broken. */
struct r2_bucket *r2_bucket_open(struct r2 *r2, const char *tenant, const char *name);
void r2_bucket_close(struct r2_bucket *b);
void r2_log_db(const struct r2_bucket *b, const char *what);
void r2_method_create(struct r2 *r2, const struct store_call *c, struct store_result *r);
void r2_method_drop(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r);

/* ---- r2_recover.c: start-up sweep and tree removal ---- */

/* Removes stale tmp files, committed trash and unreferenced blobs of every bucket. */
void r2_recover(struct r2 *r2);
/* Removes the tree `name` under dirfd (a bucket's layout, a few levels deep). */
int r2_remove_tree(int parent, const char *name);

/* ---- r2_index.c: the sqlite index ---- */

int r2_index_create(sqlite3 *db, int64_t created);
int r2_index_configure(sqlite3 *db);
int r2_index_prepare(struct r2_bucket *b);
int r2_tx_begin(struct r2_bucket *b);
int r2_tx_commit(struct r2_bucket *b);
void r2_tx_rollback(struct r2_bucket *b);
/* Runs a prepared statement that returns no rows; 0 or -1 (logged). */
int r2_exec(struct r2_bucket *b, enum r2_stmt_id id);
int r2_trash_add(struct r2_bucket *b, const char *blob);
/* 1 found (o filled), 0 missing, -1 failure (logged). */
int r2_object_load(struct r2_bucket *b, const uint8_t *key, size_t len, struct r2_object *o);
int r2_object_from_row(sqlite3_stmt *st, struct r2_object *o);
int r2_object_store(struct r2_bucket *b, const struct r2_object *o);
void r2_object_release(struct r2_object *o);
#define R2_JSON_HTTP 0x1
#define R2_JSON_CUSTOM 0x2
/* A new object document (R2_JSON_* say which metadata to include); NULL on failure. */
json_t *r2_object_json(const struct r2_object *o, unsigned flags);
int r2_mpu_load(struct r2_bucket *b, const char *id, struct r2_mpu *m);
/* Stores a new upload row (inside a transaction). */
int r2_mpu_store(struct r2_bucket *b, const struct r2_mpu *m, int64_t created);
/* Deletes an upload's row and its parts' rows (inside a transaction). */
int r2_mpu_delete(struct r2_bucket *b, const char *id);
void r2_mpu_release(struct r2_mpu *m);
int r2_part_load(struct r2_bucket *b, const char *upload, int number, struct r2_part *p);
/* All parts of an upload by number; *parts is malloc'd (NULL when none). */
int r2_part_list(struct r2_bucket *b, const char *upload, struct r2_part **parts, size_t *n);
/* Bytes of the objects and pending parts of the bucket. */
int r2_index_usage(struct r2_bucket *b, uint64_t *bytes);

/* ---- r2_args.c: arguments, conditions and ranges ---- */

bool r2_utf8_is_valid(const uint8_t *s, size_t len);
/* Reads a non-negative integral number (<= 2^53); false when it is not one. */
bool r2_json_uint(json_t *v, uint64_t *out);
int r2_key_check(json_t *v, const char *method, struct store_result *r);
int r2_key_parse(
    json_t *args, const uint8_t **key, size_t *len, const char *method, struct store_result *r);
/* httpMetadata and customMetadata, normalized into new objects (both {} when absent). */
int r2_metadata_parse(
    json_t *args, json_t **http, json_t **custom, const char *method, struct store_result *r);
int r2_checksum_parse(
    json_t *args, struct r2_checksum *sum, const char *method, struct store_result *r);
int r2_cond_parse(json_t *args, struct r2_cond *cond, const char *method, struct store_result *r);
/* Whether the conditions hold for o (NULL: there is no object). */
bool r2_cond_passes(const struct r2_cond *cond, const struct r2_object *o);
/* Whether an etag list ("a", "\"a\", W/\"b\"", "*") names etag. */
bool r2_etag_list_matches(const char *list, const char *etag);
/* Whether one etag ("a", "\"a\"" or W/"a"; not "*") is etag. */
bool r2_etag_is(const char *given, const char *etag);
int r2_range_parse(
    json_t *args, struct r2_range *range, const char *method, struct store_result *r);
int r2_range_resolve(const struct r2_range *range, uint64_t size, uint64_t *offset,
    uint64_t *length, const char *method, struct store_result *r);

/* ---- r2_blob.c: blob files ---- */

int r2_blob_create(struct r2_bucket *b, struct r2_blob *blob);
int r2_blob_write(struct r2_blob *blob, const uint8_t *data, size_t len);
/* fsync, rename into objects/ and fsync the folder; closes the fd, even on failure. */
int r2_blob_commit(struct r2_bucket *b, struct r2_blob *blob);
/* Closes and unlinks a blob still in tmp/ (NULL-safe on a blob with fd -1). */
void r2_blob_discard(struct r2_bucket *b, struct r2_blob *blob);
void r2_blob_unlink(struct r2_bucket *b, const char *id);
/* An fd reading a committed blob, or -1 (errno set). */
int r2_blob_open(struct r2_bucket *b, const char *id);
/* Appends len bytes of in (from offset 0) to blob. */
int r2_blob_append_file(struct r2_blob *blob, int in, uint64_t len);
/* Unlinks every blob named by the trash table, after the commit that filled it. */
void r2_trash_flush(struct r2_bucket *b);

/* ---- r2_quota.c: per-tenant usage ---- */

/* Whether replacing `removed` bytes with `added` keeps c's tenant under its r2_bytes. */
bool r2_quota_allows(struct r2 *r2, const struct store_call *c, uint64_t added, uint64_t removed,
    const char *method, struct store_result *r);
/* Applies a committed change to a tenant's known usage. */
void r2_usage_update(struct r2 *r2, const char *tenant, uint64_t added, uint64_t removed);
void r2_usage_forget(struct r2 *r2, const char *tenant);
void r2_usage_free_all(struct r2 *r2);

/* ---- r2_upload.c: put and uploadPart ---- */

/* The upload named by args' "uploadId", which must be for key; 0, or -1 with r set. */
int r2_mpu_find(struct r2_bucket *b, json_t *args, const uint8_t *key, size_t key_len,
    struct r2_mpu *m, const char *method, struct store_result *r);

/* ---- the methods (r2_object.c, r2_list.c, r2_multipart.c) ---- */

typedef void r2_method_fn(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r);
r2_method_fn r2_method_head;
r2_method_fn r2_method_get;
r2_method_fn r2_method_delete;
r2_method_fn r2_method_list;
r2_method_fn r2_method_mpu_create;
r2_method_fn r2_method_mpu_complete;
r2_method_fn r2_method_mpu_abort;

#endif
