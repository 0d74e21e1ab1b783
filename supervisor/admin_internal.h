/*
 * admin_internal: what the admin API's files share (admin.c: dispatch, auth
 * and replies; admin_tenants.c, admin_workers.c, admin_upload.c,
 * admin_routes.c: the handlers; admin_storage.c: storage calls and helpers
 * for admin_kv.c, admin_d1.c and admin_r2.c).  Not for other modules.
 * Supervisor.
 */
#ifndef EDGED_ADMIN_INTERNAL_H
#define EDGED_ADMIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "supervisor/admin.h"
#include "supervisor/meta.h"

struct http_request;
struct http_header;
struct admin_upload;
struct admin_call;
struct admin_kind;
struct multipart;

/* Error codes in the v4 envelope; the table at the top of admin.c explains each. */
enum admin_error_code {
	ADMIN_E_NO_ROUTE = 7000,
	ADMIN_E_AUTH = 10000, /* 401, and 403 for a tenant token out of its tenant */
	ADMIN_E_MALFORMED = 10001,
	ADMIN_E_INTERNAL = 10002,
	ADMIN_E_SCRIPT_NOT_FOUND = 10007,
	ADMIN_E_ACCOUNT_NOT_FOUND = 10008,
	ADMIN_E_ROUTE_NOT_FOUND = 10009,
	ADMIN_E_TOKEN_NOT_FOUND = 10010,
	ADMIN_E_TOO_LARGE = 10011,
	ADMIN_E_INVALID_NAME = 10014,
	ADMIN_E_HOST_TAKEN = 10020,
	ADMIN_E_SCRIPT_INVALID = 10021,
	ADMIN_E_BAD_PATTERN = 10022,
	ADMIN_E_BAD_BINDING = 10023,
	ADMIN_E_SCRIPT_TOO_LARGE = 10024,
	ADMIN_E_NOT_UTF8 = 10025,
	ADMIN_E_DUPLICATE_ROUTE = 10026,
	ADMIN_E_STORAGE = 10030,     /* the broker refused a storage call (its status) */
	ADMIN_E_UNAVAILABLE = 10031, /* the broker is restarting or busy */
	ADMIN_E_QUOTA = 10032,       /* a storage count limit */
	ADMIN_E_NAME_TAKEN = 10033,  /* a namespace/database/bucket by that name exists */
	ADMIN_E_INVALID_KEY = 10034, /* a key in the path: too long, bad escape, not UTF-8 */
	ADMIN_E_MEDIA_TYPE = 10415,
	ADMIN_E_METHOD = 10405,
	/* Cloudflare's own codes for these; numbers are per API there, as here. */
	ADMIN_E_KV_KEY_NOT_FOUND = 10009,
	ADMIN_E_KV_NAMESPACE_NOT_FOUND = 10013,
	ADMIN_E_D1_NOT_FOUND = 7404,
	ADMIN_E_D1_QUERY = 7500,
	ADMIN_E_R2_BUCKET_NOT_FOUND = 10006,
	ADMIN_E_R2_OBJECT_NOT_FOUND = 10007,
	ADMIN_E_R2_BUCKET_NOT_EMPTY = 10008,
};

struct admin {
	struct meta *meta;
	char *token; /* operator token; "" refuses everything */
	struct admin_limits limits;
	struct admin_hooks hooks;
	void *core;
};

#define ADMIN_PARAMS_MAX 3
#define ADMIN_KEY_MAX 1024 /* a key captured by "*key", percent-decoded */

/* One admin request, from on_request until its response (or on_abort). */
struct admin_exchange {
	struct admin *admin;
	struct http_request *req;
	const struct admin_endpoint *endpoint; /* NULL when rejected early */
	/* A rejection decided at on_request, answered at on_body_end. */
	int reject_status;
	int reject_code;
	const char *reject_message;
	char allow[64]; /* Allow header for 405 */
	/* Path parameters in pattern order; "" when the segment was too long. */
	char params[ADMIN_PARAMS_MAX][META_NAME_MAX + 1];
	/* The "*key" capture: the rest of the path, percent-decoded (may hold NUL). */
	char key[ADMIN_KEY_MAX + 1];
	size_t key_len;
	struct buf body;
	bool too_large;
	bool no_memory;
	struct admin_upload *upload;   /* validation in flight */
	struct admin_call *call;       /* storage call in flight */
	const struct admin_kind *kind; /* of the last storage call (admin_call) */
};

typedef void (*admin_handler)(struct admin_exchange *ex);

/* Who may call an endpoint. */
enum admin_access {
	ADMIN_PUBLIC,   /* no token */
	ADMIN_OPERATOR, /* the operator token only */
	ADMIN_TENANT,   /* the operator token, or a token of the path's tenant (params[0]) */
};

struct admin_endpoint {
	const char *method;
	/*
	 * "/a/:tenant/b": ":x" captures one segment (raw) into params;
	 * ":tenant" and ":script" are checked as names.  A last segment "*key"
	 * captures the non-empty rest of the path, '/' included, percent-decoded
	 * into key (a bad escape: 400; over ADMIN_KEY_MAX bytes: 414).
	 */
	const char *pattern;
	admin_handler handler;
	enum admin_access access;
};

/*
 * Replies end the exchange: the response is sent, the request and the
 * exchange are freed, and ex must not be used afterwards.  `result` is
 * stolen (NULL means JSON null).  Messages are plain text; invalid UTF-8 is
 * replaced, never echoed raw.
 */
void admin_reply(struct admin_exchange *ex, int status, json_t *result);
/* The same with "result_info" (stolen; NULL leaves it out). */
void admin_reply_info(struct admin_exchange *ex, int status, json_t *result, json_t *info);
void admin_reply_error(struct admin_exchange *ex, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * A response that is not enveloped: `data` (binary) of Content-Type `type`
 * with up to six more headers; everything is borrowed.
 */
void admin_reply_raw(struct admin_exchange *ex, int status, const char *type,
    const struct http_header *headers, size_t nheaders, const void *data, size_t len);
/* Frees an exchange whose request is already gone (answered or aborted). */
void admin_exchange_free(struct admin_exchange *ex);

/* Parses the request body as a JSON object (an empty body is {} when allowed). */
json_t *admin_body_json(struct admin_exchange *ex, bool empty_ok);
/*
 * Parses data[0..len) as the multipart/form-data body that Content-Type
 * `ct` announces; the parts are views into data.  Free the result with
 * free().  NULL after answering 400 (malformed) or 500.
 */
struct multipart *admin_multipart(
    struct admin_exchange *ex, const char *ct, const void *data, size_t len);
/* A JSON string from possibly invalid UTF-8 (bad bytes become '?'); NULL on ENOMEM. */
json_t *admin_json_text(const char *s, size_t len);
/* "2024-01-02T03:04:05Z" */
json_t *admin_json_time(int64_t t);
/* True when the Content-Type value `ct` (may be NULL) is `type`, parameters aside. */
bool admin_media_type_is(const char *ct, const char *type);
/*
 * Percent-decodes in[0..len) into out (at most max bytes, not terminated);
 * '+' becomes ' ' when plus_is_space (query strings).  Returns the length,
 * -1 for a bad escape, or -2 when it does not fit.
 */
ssize_t admin_percent_decode(const char *in, size_t len, bool plus_is_space, char *out, size_t max);
/* The tenant of the path, answering 404 when it does not exist (false: ex is gone). */
bool admin_tenant_check(struct admin_exchange *ex);

/* Handlers. */
void admin_tenant_put(struct admin_exchange *ex);
void admin_tenant_get(struct admin_exchange *ex);
void admin_scripts_list(struct admin_exchange *ex);
void admin_script_put(struct admin_exchange *ex);
void admin_script_delete(struct admin_exchange *ex);
void admin_versions_list(struct admin_exchange *ex);
void admin_route_post(struct admin_exchange *ex);
void admin_routes_list(struct admin_exchange *ex);
void admin_route_delete(struct admin_exchange *ex);
void admin_token_post(struct admin_exchange *ex);
void admin_tokens_list(struct admin_exchange *ex);
void admin_token_delete(struct admin_exchange *ex);

/* Storage resources (admin_kv.c, admin_d1.c, admin_r2.c). */
void admin_kv_namespace_create(struct admin_exchange *ex);
void admin_kv_namespaces_list(struct admin_exchange *ex);
void admin_kv_namespace_delete(struct admin_exchange *ex);
void admin_kv_value_put(struct admin_exchange *ex);
void admin_kv_value_get(struct admin_exchange *ex);
void admin_kv_value_delete(struct admin_exchange *ex);
void admin_kv_metadata_get(struct admin_exchange *ex);
void admin_kv_keys_list(struct admin_exchange *ex);
void admin_kv_bulk_put(struct admin_exchange *ex);
void admin_kv_bulk_delete(struct admin_exchange *ex);
void admin_d1_create(struct admin_exchange *ex);
void admin_d1_list(struct admin_exchange *ex);
void admin_d1_get(struct admin_exchange *ex);
void admin_d1_delete(struct admin_exchange *ex);
void admin_d1_query(struct admin_exchange *ex);
void admin_d1_raw(struct admin_exchange *ex);
void admin_r2_bucket_create(struct admin_exchange *ex);
void admin_r2_buckets_list(struct admin_exchange *ex);
void admin_r2_bucket_get(struct admin_exchange *ex);
void admin_r2_bucket_delete(struct admin_exchange *ex);
void admin_r2_object_put(struct admin_exchange *ex);
void admin_r2_object_get(struct admin_exchange *ex);
void admin_r2_object_delete(struct admin_exchange *ex);
void admin_r2_objects_list(struct admin_exchange *ex);

/*
 * A kind of storage resource as the admin API serves it: admin_kv.c,
 * admin_d1.c and admin_r2.c each define one (static, for the program's
 * life), and admin_storage.c's shared code reads it.
 */
struct admin_kind {
	enum meta_kind kind;
	const char *backend; /* the broker's name for the kind: "kv", "d1", "r2" */
	const char *what;    /* in "<what> '<id>' not found": "namespace" */
	const char *noun;    /* in logs and in name and count refusals: "KV namespace" */
	int not_found;       /* errors[].code of that 404 */
	/*
	 * The resource as the API shows it, in lists and, with `created`, as
	 * the answer to its creation.  NULL on ENOMEM.
	 */
	json_t *(*json)(const struct meta_resource *r, bool created);
	/* The member of a create's body that names the new one: "title", "name". */
	const char *name_member;
	/* Whether a name (len bytes of JSON string, NUL-terminated) is one. */
	bool (*name_is_valid)(const char *name, size_t len);
	int bad_name_code;    /* the errors[].code of a 400 for a name that is not */
	const char *bad_name; /* and its message */
};

/* A number macro as a string literal, for constant messages. */
#define ADMIN_STR(x) ADMIN_STR_(x)
#define ADMIN_STR_(x) #x

/*
 * Storage calls (admin_storage.c).  The outcome of a call, borrowed for the
 * continuation: on STORE_OK `doc` is the parsed result document (NULL when
 * it was not JSON) and the body is whole; otherwise `message` and `code`
 * are the broker's (code 0 when it gave none).
 */
struct admin_call_result {
	int status; /* enum store_status */
	json_t *doc;
	const char *message;
	int code;
	const uint8_t *body;
	size_t body_len;
};
typedef void (*admin_call_cont)(struct admin_exchange *ex, const struct admin_call_result *r);

/*
 * Calls `method` of the broker's backend for kind `k` on `resource` for
 * the path's tenant, with that tenant's storage limits, and notes k in
 * ex->kind.  `args` (an object) is stolen.  With `with_body`, ex->body
 * moves into the call as its input.  `cont` runs once with the outcome —
 * maybe before this returns (the broker is down: STORE_E_UNAVAILABLE) —
 * and must answer ex; if the client goes away first, the call is cancelled
 * and cont never runs.  With `discard_body` the output body is not
 * fetched.  ex must not be used after this returns.
 */
void admin_call(struct admin_exchange *ex, const struct admin_kind *k, const char *resource,
    const char *method, json_t *args, bool with_body, bool discard_body, admin_call_cont cont);
/*
 * Answers a failed call: its status as HTTP and the broker's message, with
 * the broker's code, else ex->kind's own for "not found" (and D1's for a
 * failed query, R2's for a bucket not empty), else ADMIN_E_STORAGE.
 */
void admin_call_fail(struct admin_exchange *ex, const struct admin_call_result *r);
/* True when the call succeeded; otherwise answers it with admin_call_fail. */
bool admin_call_ok(struct admin_exchange *ex, const struct admin_call_result *r);
/* A continuation that answers 200 with a null result, or the failure. */
void admin_call_reply_null(struct admin_exchange *ex, const struct admin_call_result *r);
/* Cancels the exchange's call in flight, if any (the client went away). */
void admin_call_abandon(struct admin_exchange *ex);

/*
 * The registry's resources of kind `k` for the path's tenant (params[0]).
 * Each answers ex when it returns false or NULL.
 *
 * admin_resource_find: the path's resource (params[1]) into *out; false
 * after answering 404 (no such tenant or resource) or 500.
 * admin_resource_list: all of them as a JSON array (k->json); NULL after
 * answering 404 or 500.
 * admin_resource_create: records a resource named by the request body
 * (k->name_member) and creates it in the broker; always answers, with the
 * new resource (k->json) or a refusal (400 for the body or the name, 404,
 * 409 taken, 403 over the count limit, the broker's failure: then the
 * record goes again).
 * admin_resource_drop: drops the path's resource in the broker, then
 * forgets it; always answers.
 */
bool admin_resource_find(
    struct admin_exchange *ex, const struct admin_kind *k, struct meta_resource *out);
json_t *admin_resource_list(struct admin_exchange *ex, const struct admin_kind *k);
void admin_resource_create(struct admin_exchange *ex, const struct admin_kind *k);
void admin_resource_drop(struct admin_exchange *ex, const struct admin_kind *k);
/*
 * A list page: `items` (stolen) cut to the request's ?page and ?per_page
 * (default 20, at most 100); answers 200 with result_info {page, per_page,
 * count, total_count}, or 400.
 */
void admin_reply_page(struct admin_exchange *ex, json_t *items);
/*
 * A query parameter, percent-decoded ('+' is a space) into out (at most
 * len - 1 bytes, NUL-terminated; *out_len its length when non-NULL): 1 found,
 * 0 absent, -1 malformed or too long.
 */
int admin_query(
    struct admin_exchange *ex, const char *name, char *out, size_t len, size_t *out_len);
/* A query parameter as an integer in [min, max]: 1 found, 0 absent, -1 bad (ex answered 400). */
int admin_query_int(
    struct admin_exchange *ex, const char *name, json_int_t min, json_int_t max, json_int_t *out);
/*
 * Query parameter `name`, when present, into args[name] as a string: UTF-8
 * of at most `max` bytes (max <= ADMIN_QUERY_TEXT_MAX).  False when ex was
 * answered (400, 500).
 */
#define ADMIN_QUERY_TEXT_MAX 1024
bool admin_query_text(struct admin_exchange *ex, const char *name, size_t max, json_t *args);
/*
 * The captured key as a JSON string; NULL after answering 414 (over `max`
 * bytes) or 400 (not UTF-8).
 */
json_t *admin_key_json(struct admin_exchange *ex, size_t max);
/* Parses the body as any JSON value; NULL after answering 400. */
json_t *admin_body_any_json(struct admin_exchange *ex);
/* "Thu, 01 Jan 1970 00:00:00 GMT" for unix milliseconds, into out (>= 32 bytes). */
void admin_http_date(int64_t ms, char *out, size_t len);

/* Upload plumbing (admin_upload.c): an exchange that goes away mid-validation. */
void admin_upload_detach(struct admin_upload *up);

/* Worker facts gathered from its versions (admin_workers.c). */
struct admin_worker_info {
	size_t versions;
	uint64_t newest_id;
	int64_t newest_created_at;
	int64_t oldest_created_at;
};
/* 1 found, 0 no such worker, -1 error. */
int admin_worker_info(
    struct admin *a, const char *tenant, const char *worker, struct admin_worker_info *out);
/* An opaque, stable hex tag for one version into out (17 bytes). */
void admin_etag(const char *tenant, const char *worker, uint64_t id, char out[17]);

#endif
