/*
 * store: what the broker's call transport (broker/calls.c) and its storage
 * backends (broker/kv.c, broker/d1.c, broker/r2.c) agree on.  A call is a
 * method of one backend on one resource of one tenant, with a JSON argument
 * document and an optional body in and out.  Runs in the broker.
 *
 * Identity: `tenant` always comes from the channel (ATTACH) or from the
 * supervisor (ADMIN_CALL), never from a sandbox; `resource` is resolved by
 * the transport from the binding name and has been checked with
 * store_resource_is_valid() before any backend sees it.  Backends scope all
 * storage by (tenant, resource): keys and object names are data, never parts
 * of a path.
 *
 * The method catalogue below is the contract with sdk-js (which builds the
 * argument documents and reads the results) and with the supervisor's admin
 * API.  Times are milliseconds since the epoch unless said otherwise; byte
 * strings that must travel inside JSON are base64.
 */
#ifndef EDGED_STORE_H
#define EDGED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* RESULT status: how the caller reports a failure. */
enum store_status {
	STORE_OK = 0,
	STORE_E_INVALID = 1,   /* bad argument: TypeError in JS; admin 400 */
	STORE_E_NOT_FOUND = 2, /* no such namespace/database/bucket/upload: Error; admin 404 */
	STORE_E_TOO_LARGE = 3, /* a size limit or a quota: Error; admin 413 */
	STORE_E_CONFLICT = 4,  /* exists already, bucket not empty: Error; admin 409 */
	STORE_E_FAILED = 5,    /* well-formed but refused (D1_ERROR, R2 errors): Error; admin 400 */
	STORE_E_INTERNAL = 6,  /* disk or engine trouble (logged): Error; admin 500 */
	STORE_E_UNAVAILABLE = 7, /* too many calls in flight, broker restarting: Error; admin 503 */
};

enum store_kind {
	STORE_KV = 1, /* binding type "kv_namespace", resource = namespace id */
	STORE_D1 = 2, /* binding type "d1", resource = database id */
	STORE_R2 = 3, /* binding type "r2_bucket", resource = bucket name */
};

/*
 * Resource names.  KV namespace ids: 32 lowercase hex digits.  D1 database
 * ids: a lowercase UUID (8-4-4-4-12 hex).  R2 bucket names: 3..63 of
 * [a-z0-9-], not starting or ending with '-'.  Tenants: [A-Za-z0-9_-]{1,64}.
 */
bool store_resource_is_valid(enum store_kind kind, const char *resource);
bool store_tenant_is_valid(const char *tenant);
/* "kv", "d1", "r2" <-> enum; 0 for an unknown name. */
enum store_kind store_kind_from_name(const char *name);
/* The upload binding type ("kv_namespace", "d1", "r2_bucket"); 0 for others. */
enum store_kind store_kind_from_binding_type(const char *type);

/*
 * Per-tenant quotas (ATTACH and ADMIN_CALL "limits", a JSON object; a
 * missing or 0 member means unlimited):
 *   {"kv_bytes": n, "kv_keys": n, "d1_bytes": n, "r2_bytes": n}
 * kv_bytes counts key + value + metadata bytes of live keys of all the
 * tenant's namespaces; d1_bytes is per database; r2_bytes counts object
 * bytes of all the tenant's buckets (parts of unfinished uploads included).
 * Over a quota, a write fails with STORE_E_TOO_LARGE and changes nothing.
 */
struct store_limits {
	uint64_t kv_bytes;
	uint64_t kv_keys;
	uint64_t d1_bytes;
	uint64_t r2_bytes;
};
/* Parses the limits text; unknown members are ignored.  0, or -1 when it is not an object. */
int store_limits_parse(const char *text, size_t len, struct store_limits *out);

struct store_call {
	const char *tenant;
	const char *resource;
	const char *method;
	json_t *args; /* an object (borrowed); {} when the caller sent none */
	bool admin;   /* from the supervisor: the admin-only methods are allowed */
	const struct store_limits *limits;
};

enum store_body_kind {
	STORE_BODY_NONE = 0,
	STORE_BODY_MEM,  /* mem[0..mem_len), malloc'd; the transport frees it */
	STORE_BODY_FILE, /* fd, bytes [offset, offset + length); the transport closes fd */
};

/*
 * What a backend fills in.  The transport zeroes it (fd = -1) before the
 * call.  On STORE_OK, `doc` is the result document (stolen; NULL sends
 * JSON null) and the body is optional.  On failure, `message` says what
 * went wrong in the words the script or the operator sees; `code` is an
 * optional numeric code (R2's 10xxx codes) and `doc`/body must be left
 * empty.
 */
struct store_result {
	enum store_status status;
	json_t *doc;
	char message[512];
	int code;
	enum store_body_kind body_kind;
	uint8_t *mem;
	size_t mem_len;
	int fd;
	uint64_t offset;
	uint64_t length;
};

/* Sets a failure (status and printf-style message). */
void store_fail(struct store_result *r, enum store_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Frees what a result holds (doc, mem, fd) and resets it. */
void store_result_release(struct store_result *r);

/*
 * How a method takes its input body, so that the transport knows whether
 * to collect it (WHOLE, up to max bytes: more is STORE_E_TOO_LARGE) or to
 * stream it into an upload (STREAM).  Methods not listed take no body (a
 * body sent to them is STORE_E_INVALID).
 */
enum store_body_mode { STORE_IN_NONE, STORE_IN_WHOLE, STORE_IN_STREAM };
enum store_body_mode store_body_mode(enum store_kind kind, const char *method, uint64_t *max);

/*
 * ==== KV (broker/kv.c): one LMDB environment under <data_dir>/kv ====
 *
 * Keys: 1..512 bytes of UTF-8, not "." or "..".  Values <= 25 MiB.
 * Metadata: any JSON value whose compact text is <= 1024 bytes.
 * Expiration: seconds since the epoch, at least 60 s in the future;
 * expiration_ttl: seconds >= 60.  Expired keys are invisible at once and
 * swept by kv_sweep().  Every write is a durable LMDB commit before the
 * result is sent.
 *
 *   get          {"key"}                      -> {"found": bool, "metadata": v|null,
 *                                                 "expiration": s?}; body = value
 *   getMany      {"keys": [<= 100]}           -> {"values": [{"key", "found", "value": text|null,
 *                                                 "metadata": v|null}]} (text: UTF-8, bad
 *                                                 bytes replaced)
 *   put          {"key", "expiration"?, "expiration_ttl"?, "metadata"?}; body = value (WHOLE)
 *                                             -> {}
 *   delete       {"key"}                      -> {}
 *   list         {"prefix"?, "limit"? (1..1000, default 1000), "cursor"?}
 *                                             -> {"keys": [{"name", "expiration"?, "metadata"?}],
 *                                                 "list_complete": bool, "cursor"?: text}
 *   admin only:
 *   create       {}                           -> {}   (STORE_E_CONFLICT when it exists)
 *   drop         {}                           -> {}   (every key goes)
 *   bulkPut      {}; body = JSON array of {"key", "value", "base64"?, "expiration"?,
 *                "expiration_ttl"?, "metadata"?} (WHOLE, <= 100 MiB, <= 10000 items)
 *                                             -> {"successful_key_count", "unsuccessful_keys": []}
 *   bulkDelete   {}; body = JSON array of keys (WHOLE)      -> {"successful_key_count"}
 * Any call on a namespace that was never created (or was dropped) is
 * STORE_E_NOT_FOUND "namespace not found".
 */
struct kv;
struct kv *kv_open(const char *data_dir); /* NULL on failure (logged) */
void kv_close(struct kv *kv);
void kv_call(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r);
/* Deletes up to `max` keys that expired before `now_s`; returns how many. */
size_t kv_sweep(struct kv *kv, uint64_t now_s, size_t max);

/*
 * ==== D1 (broker/d1.c): <data_dir>/d1/<tenant>/<id>.sqlite ====
 *
 * Parameters: JSON null, number, string, or {"blob": base64} (the runtime
 * maps booleans to 1/0 and rejects other types itself).  Result values:
 * null, number (INTEGER and REAL), string, and BLOB as an array of byte
 * values.  A statement's result:
 *   {"columns": [names], "rows": [[values]], "meta": {"duration", "size_after",
 *    "rows_read", "rows_written", "last_row_id", "changed_db", "changes"}}
 * Failures are STORE_E_FAILED with a message starting "D1_ERROR: " (or
 * "D1_EXEC_ERROR: " for exec).
 *
 *   query        {"sql", "params"?: []}       -> a statement result
 *   batch        {"statements": [{"sql", "params"?}]} -> {"results": [statement results]},
 *                                                one transaction: all or nothing
 *   exec         {"sql"} (several statements, no parameters) -> {"count", "duration"}
 *   admin only:
 *   queryAll     {"sql", "params"?} -> {"results": [statement results]}: every statement
 *                of sql in turn, in one transaction; params only with a single statement
 *   create       {}                           -> {}
 *   drop         {}                           -> {}
 *   info         {}                           -> {"file_size", "num_tables"}
 *
 * create on an existing database is STORE_E_CONFLICT.  A call (a whole
 * batch) running past the time limit is stopped with STORE_E_FAILED
 * "D1_ERROR: query exceeded the time limit".  d1_open caps sqlite's heap for
 * the whole broker process (sqlite3_hard_heap_limit64, 512 MiB) unless a cap
 * was already set.
 */
struct d1;
struct d1 *d1_open(const char *data_dir);
void d1_close(struct d1 *d1);
/* The wall-time limit of one call (config d1_query_ms; 0 restores the 30 s default). */
void d1_set_time_limit_ms(struct d1 *d1, unsigned ms);
void d1_call(struct d1 *d1, const struct store_call *c, struct store_result *r);

/*
 * ==== R2 (broker/r2.c): <data_dir>/r2/<tenant>/<bucket>/ ====
 *
 * Keys: 1..1024 bytes of UTF-8.  httpMetadata + customMetadata <= 8192
 * bytes.  Objects are stored under names derived from ids, never from keys;
 * writes are write-temp + fsync + rename + index commit.  An R2 object in
 * a result document:
 *   {"key", "version", "size", "etag" (hex MD5, or "<md5 of part md5s>-<n>"
 *    for a multipart object), "httpEtag" ("\"etag\""), "uploaded" (ms),
 *    "checksums": {"md5"?: hex, "sha1"?, "sha256"?, "sha384"?, "sha512"?},
 *    "httpMetadata": {"contentType"?, "contentLanguage"?, "contentDisposition"?,
 *    "contentEncoding"?, "cacheControl"?, "cacheExpiry"? (ms)},
 *    "customMetadata": {name: text}, "storageClass": "Standard",
 *    "range"?: {"offset", "length"}}
 * Conditions ("onlyIf"): {"etagMatches"?, "etagDoesNotMatch"?: etag text or
 * "*" (quotes and W/ allowed), "uploadedBefore"?, "uploadedAfter"?: ms}.
 * Failures: STORE_E_FAILED (or INVALID/NOT_FOUND/TOO_LARGE) with a message
 * ending in " (<code>)" and `code` set, as Cloudflare's R2 errors do.
 *
 *   head         {"key"}                      -> {"object": obj|null}
 *   get          {"key", "range"?: {"offset"?, "length"?, "suffix"?}, "onlyIf"?}
 *                                             -> {"object": obj|null, "body": bool};
 *                                                body = the (ranged) bytes, FILE, when
 *                                                "body" is true; a failed condition gives
 *                                                the object and "body": false
 *   put          {"key", "httpMetadata"?, "customMetadata"?, "onlyIf"?,
 *                 "md5"? | "sha1"? | "sha256"? | "sha384"? | "sha512"? (hex, at most one)};
 *                body = the value (STREAM)    -> {"object": obj|null} (null: condition failed)
 *   delete       {"keys": [<= 1000]}          -> {}
 *   list         {"prefix"?, "delimiter"?, "cursor"?, "startAfter"?, "limit"? (1..1000),
 *                 "include"?: ["httpMetadata", "customMetadata"]}
 *                                             -> {"objects": [obj], "delimitedPrefixes": [],
 *                                                 "truncated": bool, "cursor"?: text}
 *   createMultipartUpload {"key", "httpMetadata"?, "customMetadata"?} -> {"uploadId"}
 *   uploadPart   {"key", "uploadId", "partNumber" (1..10000)}; body (STREAM)
 *                                             -> {"partNumber", "etag"}
 *   completeMultipartUpload {"key", "uploadId", "parts": [{"partNumber", "etag"}]}
 *                                             -> {"object": obj}
 *   abortMultipartUpload {"key", "uploadId"}  -> {}
 *   admin only:
 *   create       {}                           -> {"creation_date": ms}
 *   drop         {}                           -> {} (STORE_E_CONFLICT unless empty)
 */
struct r2;
struct r2 *r2_open(const char *data_dir);
void r2_close(struct r2 *r2); /* every r2_upload must have been finished or aborted */
/* Every method without a STREAM body. */
void r2_call(struct r2 *r2, const struct store_call *c, struct store_result *r);

/*
 * STREAM methods (put, uploadPart): begin checks the arguments (and put's
 * conditions, once more at finish) and opens a temporary file; write
 * appends a piece; finish makes it durable and visible and fills r; abort
 * removes every trace.  begin returns NULL with r set on failure; write
 * returns 0, or -1 with r set (the upload is then to be aborted).  The
 * call `c` and its args must stay valid until finish or abort.
 */
struct r2_upload;
struct r2_upload *r2_upload_begin(
    struct r2 *r2, const struct store_call *c, struct store_result *r);
int r2_upload_write(struct r2_upload *up, const uint8_t *data, size_t len, struct store_result *r);
void r2_upload_finish(struct r2_upload *up, struct store_result *r); /* frees up */
void r2_upload_abort(struct r2_upload *up);                          /* frees up */

#endif
