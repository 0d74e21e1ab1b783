/*
 * admin_internal: what the admin API's files share (admin.c: dispatch, auth
 * and replies; admin_tenants.c, admin_workers.c, admin_upload.c,
 * admin_routes.c: the handlers).  Not for other modules.  Supervisor.
 */
#ifndef EDGED_ADMIN_INTERNAL_H
#define EDGED_ADMIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "supervisor/admin.h"
#include "supervisor/meta.h"

struct http_request;
struct admin_upload;

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
	ADMIN_E_MEDIA_TYPE = 10415,
	ADMIN_E_METHOD = 10405,
};

struct admin {
	struct meta *meta;
	char *token; /* operator token; "" refuses everything */
	struct admin_limits limits;
	struct admin_hooks hooks;
	void *core;
};

#define ADMIN_PARAMS_MAX 3

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
	struct buf body;
	bool too_large;
	bool no_memory;
	struct admin_upload *upload; /* validation in flight */
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
	const char *pattern; /* "/a/:tenant/b": ":tenant", ":script" and ":id" capture */
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
void admin_reply_error(struct admin_exchange *ex, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Frees an exchange whose request is already gone (answered or aborted). */
void admin_exchange_free(struct admin_exchange *ex);

/* Parses the request body as a JSON object (an empty body is {} when allowed). */
json_t *admin_body_json(struct admin_exchange *ex, bool empty_ok);
/* A JSON string from possibly invalid UTF-8 (bad bytes become '?'); NULL on ENOMEM. */
json_t *admin_json_text(const char *s, size_t len);
/* "2024-01-02T03:04:05Z" */
json_t *admin_json_time(int64_t t);
bool admin_utf8_is_valid(const char *s, size_t len);
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
