/*
 * admin: the admin API's HTTP glue in the supervisor: the endpoint table,
 * bearer-token auth, body buffering and the Cloudflare v4 response envelope.
 * The handlers live in admin_tenants.c, admin_workers.c, admin_upload.c,
 * admin_routes.c, and for storage admin_kv.c, admin_d1.c and admin_r2.c
 * (over admin_storage.c).
 *
 * Error codes (errors[].code) and their HTTP status:
 *
 *   code   status  meaning
 *   7000   404     no route for that URI
 *   10000  401     authentication error (missing, wrong or no operator token)
 *   10000  403     a tenant token used outside its own tenant, or on an
 *                  operator-only endpoint: "token not valid for this account"
 *   10001  400     malformed request: JSON, metadata, multipart body
 *   10002  500     internal error (database, memory); details only in the log
 *   10007  404     script not found
 *   10008  404     account (tenant) not found
 *   10009  404     route not found
 *   10010  404     tenant token not found
 *   10011  413     request body too large
 *   10014  400     invalid account or script name
 *   10020  409     the pattern's host belongs to another account
 *   10021  400     the script failed validation: "<message> (line N)"
 *   10022  400     invalid route pattern
 *   10023  400     invalid or unsupported binding
 *   10024  400     script exceeds the size limit
 *   10025  400     script is not valid UTF-8 (or holds NUL bytes)
 *   10026  409     a route with the same pattern already exists
 *   10030  4xx/5xx the storage broker refused a call: its status as HTTP
 *                  (invalid 400, not found 404, too large 413, conflict 409,
 *                  failed 400, internal 500) and its message; a code the
 *                  broker gives (R2's 10xxx) replaces 10030
 *   10031  503     the storage broker is restarting or has too many calls
 *   10032  403     a storage count limit (kv_namespaces, d1_databases, r2_buckets)
 *   10033  409     the account has a namespace/database/bucket by that name
 *   10034  400     a key in the path is badly escaped or not UTF-8
 *   10034  414     a key in the path is too long (KV 512 bytes, R2 1024)
 *   10405  405     method not allowed on that path (Allow header sent)
 *   10415  415     unsupported Content-Type for an upload
 *
 * Storage endpoints use Cloudflare's codes where it has them, per API:
 * KV 10009 key not found, 10013 namespace not found; D1 7404 database not
 * found, 7500 query failed; R2 10006 no such bucket, 10007 no such object,
 * 10008 bucket not empty.
 */
#include "supervisor/admin_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "supervisor/http.h"
#include "supervisor/multipart.h"

#define ADMIN_SCRIPT_MAX_DEFAULT (10u << 20)
#define ADMIN_BODY_MAX_DEFAULT (12u << 20)
#define ADMIN_MESSAGE_MAX 512

static void admin_healthz(struct admin_exchange *ex);
static void admin_status(struct admin_exchange *ex);

#define V4 "/client/v4/accounts/:tenant/workers"
#define KV "/client/v4/accounts/:tenant/storage/kv/namespaces"
#define D1 "/client/v4/accounts/:tenant/d1/database"
#define R2 "/client/v4/accounts/:tenant/r2/buckets"

/* The API, as data: the first entry matching method and path handles it. */
static const struct admin_endpoint admin_endpoints[] = {
	{ "GET", "/healthz", admin_healthz, ADMIN_PUBLIC },
	{ "GET", "/status", admin_status, ADMIN_OPERATOR },
	{ "GET", "/edged/v1/status", admin_status, ADMIN_OPERATOR },
	{ "PUT", "/edged/v1/tenants/:tenant", admin_tenant_put, ADMIN_OPERATOR },
	{ "GET", "/edged/v1/tenants/:tenant", admin_tenant_get, ADMIN_TENANT },
	{ "POST", "/edged/v1/tenants/:tenant/tokens", admin_token_post, ADMIN_OPERATOR },
	{ "GET", "/edged/v1/tenants/:tenant/tokens", admin_tokens_list, ADMIN_OPERATOR },
	{ "DELETE", "/edged/v1/tenants/:tenant/tokens/:id", admin_token_delete, ADMIN_OPERATOR },
	{ "GET", V4 "/scripts", admin_scripts_list, ADMIN_TENANT },
	{ "PUT", V4 "/scripts/:script", admin_script_put, ADMIN_TENANT },
	{ "DELETE", V4 "/scripts/:script", admin_script_delete, ADMIN_TENANT },
	{ "GET", V4 "/scripts/:script/versions", admin_versions_list, ADMIN_TENANT },
	{ "GET", V4 "/routes", admin_routes_list, ADMIN_TENANT },
	{ "POST", V4 "/routes", admin_route_post, ADMIN_TENANT },
	{ "DELETE", V4 "/routes/:id", admin_route_delete, ADMIN_TENANT },
	{ "POST", KV, admin_kv_namespace_create, ADMIN_TENANT },
	{ "GET", KV, admin_kv_namespaces_list, ADMIN_TENANT },
	{ "DELETE", KV "/:id", admin_kv_namespace_delete, ADMIN_TENANT },
	{ "PUT", KV "/:id/values/*key", admin_kv_value_put, ADMIN_TENANT },
	{ "GET", KV "/:id/values/*key", admin_kv_value_get, ADMIN_TENANT },
	{ "DELETE", KV "/:id/values/*key", admin_kv_value_delete, ADMIN_TENANT },
	{ "GET", KV "/:id/metadata/*key", admin_kv_metadata_get, ADMIN_TENANT },
	{ "GET", KV "/:id/keys", admin_kv_keys_list, ADMIN_TENANT },
	{ "PUT", KV "/:id/bulk", admin_kv_bulk_put, ADMIN_TENANT },
	{ "DELETE", KV "/:id/bulk", admin_kv_bulk_delete, ADMIN_TENANT },
	{ "POST", KV "/:id/bulk/delete", admin_kv_bulk_delete, ADMIN_TENANT },
	{ "POST", D1, admin_d1_create, ADMIN_TENANT },
	{ "GET", D1, admin_d1_list, ADMIN_TENANT },
	{ "GET", D1 "/:id", admin_d1_get, ADMIN_TENANT },
	{ "DELETE", D1 "/:id", admin_d1_delete, ADMIN_TENANT },
	{ "POST", D1 "/:id/query", admin_d1_query, ADMIN_TENANT },
	{ "POST", D1 "/:id/raw", admin_d1_raw, ADMIN_TENANT },
	{ "POST", R2, admin_r2_bucket_create, ADMIN_TENANT },
	{ "GET", R2, admin_r2_buckets_list, ADMIN_TENANT },
	{ "GET", R2 "/:id", admin_r2_bucket_get, ADMIN_TENANT },
	{ "DELETE", R2 "/:id", admin_r2_bucket_delete, ADMIN_TENANT },
	{ "GET", R2 "/:id/objects", admin_r2_objects_list, ADMIN_TENANT },
	{ "PUT", R2 "/:id/objects/*key", admin_r2_object_put, ADMIN_TENANT },
	{ "GET", R2 "/:id/objects/*key", admin_r2_object_get, ADMIN_TENANT },
	{ "DELETE", R2 "/:id/objects/*key", admin_r2_object_delete, ADMIN_TENANT },
};

#define ADMIN_ENDPOINT_COUNT (sizeof(admin_endpoints) / sizeof(admin_endpoints[0]))

/* --- lifetime ---------------------------------------------------------------- */

struct admin *
admin_new(struct meta *meta, const char *token, const struct admin_limits *limits,
    const struct admin_hooks *hooks, void *core)
{
	struct admin *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->token = strdup(token != NULL ? token : "")) == NULL) {
		free(a);
		return NULL;
	}
	a->meta = meta;
	a->limits.script_max_bytes = ADMIN_SCRIPT_MAX_DEFAULT;
	a->limits.body_max_bytes = ADMIN_BODY_MAX_DEFAULT;
	if (limits != NULL)
		a->limits = *limits;
	if (hooks != NULL)
		a->hooks = *hooks;
	a->core = core;
	return a;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	free(a->token);
	free(a);
}

void
admin_set_token(struct admin *a, const char *token)
{
	char *copy = strdup(token != NULL ? token : "");

	if (copy == NULL) {
		/* Failing closed: no token refuses every call until the next reload. */
		log_warnx("admin: cannot replace the token: out of memory");
		a->token[0] = '\0';
		return;
	}
	free(a->token);
	a->token = copy;
}

/* --- replies ----------------------------------------------------------------- */

void
admin_exchange_free(struct admin_exchange *ex)
{
	if (ex == NULL)
		return;
	if (ex->upload != NULL)
		admin_upload_detach(ex->upload);
	admin_call_abandon(ex);
	buf_release(&ex->body);
	free(ex);
}

/* Sends the response (`extra` headers after Content-Type) and ends the exchange. */
static void
admin_send_bytes(struct admin_exchange *ex, int status, const char *type,
    const struct http_header *extra, size_t nextra, const void *data, size_t len)
{
	struct http_header headers[8];
	struct http_request *req = ex->req;
	size_t n = 0;

	headers[n++] = (struct http_header) { "Content-Type", type };
	if (ex->allow[0] != '\0')
		headers[n++] = (struct http_header) { "Allow", ex->allow };
	for (size_t i = 0; i < nextra && n < sizeof(headers) / sizeof(headers[0]); i++)
		headers[n++] = extra[i];
	log_info("admin: %s %s -> %d (request %" PRIu64 ")", http_request_method(req),
	    http_request_path(req), status, http_request_id(req));
	http_request_set_data(req, NULL);
	if (http_response_start(req, status, headers, n, (int64_t)len) == 0 && len > 0)
		(void)http_response_body(req, data, len);
	(void)http_response_end(req);
	ex->req = NULL;
	admin_exchange_free(ex);
}

/* Sends `text` as the response and ends the exchange. */
static void
admin_send(struct admin_exchange *ex, int status, const char *type, const char *text)
{
	admin_send_bytes(ex, status, type, NULL, 0, text, strlen(text));
}

void
admin_reply_raw(struct admin_exchange *ex, int status, const char *type,
    const struct http_header *headers, size_t nheaders, const void *data, size_t len)
{
	admin_send_bytes(ex, status, type, headers, nheaders, data, len);
}

static void
admin_send_envelope(struct admin_exchange *ex, int status, bool success, json_t *errors,
    json_t *result, json_t *info)
{
	json_t *env;
	char *text = NULL;

	env = json_pack("{s:b, s:o, s:[], s:o, s:o*}", "success", success, "errors",
	    errors != NULL ? errors : json_array(), "messages", "result",
	    result != NULL ? result : json_null(), "result_info", info);
	if (env != NULL)
		text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	if (text == NULL) {
		admin_send(ex, 500, "application/json",
		    "{\"success\":false,\"errors\":"
		    "[{\"code\":10002,\"message\":\"internal error\"}],\"messages\":[],"
		    "\"result\":null}");
		return;
	}
	admin_send(ex, status, "application/json", text);
	free(text);
}

void
admin_reply(struct admin_exchange *ex, int status, json_t *result)
{
	admin_send_envelope(ex, status, true, NULL, result, NULL);
}

void
admin_reply_info(struct admin_exchange *ex, int status, json_t *result, json_t *info)
{
	admin_send_envelope(ex, status, true, NULL, result, info);
}

void
admin_reply_error(struct admin_exchange *ex, int status, int code, const char *fmt, ...)
{
	char message[ADMIN_MESSAGE_MAX];
	va_list ap;
	json_t *errors;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	errors = json_pack(
	    "[{s:i, s:o}]", "code", code, "message", admin_json_text(message, strlen(message)));
	admin_send_envelope(ex, status, false, errors, NULL, NULL);
}

/* --- requests ---------------------------------------------------------------- */

json_t *
admin_body_json(struct admin_exchange *ex, bool empty_ok)
{
	json_error_t err;
	json_t *j;

	if (ex->body.len == 0 && empty_ok)
		return json_object();
	j = json_loadb((const char *)ex->body.data, ex->body.len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		/* Position only: jansson's text may quote the input. */
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "request body is not valid JSON (line %d, column %d)", err.line, err.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "request body must be a JSON object");
		return NULL;
	}
	return j;
}

struct multipart *
admin_multipart(struct admin_exchange *ex, const char *ct, const void *data, size_t len)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	struct multipart *mp;
	const char *why;

	/* Too big for the stack: the part table is a few kilobytes. */
	if ((mp = malloc(sizeof(*mp))) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return NULL;
	}
	if (multipart_boundary(ct, boundary, sizeof(boundary), &why) == -1 ||
	    multipart_parse(data, len, boundary, mp, &why) == -1) {
		free(mp);
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "malformed multipart body: %s", why);
		return NULL;
	}
	return mp;
}

bool
admin_tenant_check(struct admin_exchange *ex)
{
	if (meta_tenant_exists(ex->admin->meta, ex->params[0]))
		return true;
	admin_reply_error(
	    ex, 404, ADMIN_E_ACCOUNT_NOT_FOUND, "account '%s' not found", ex->params[0]);
	return false;
}

/* Constant time in the secret: the loop runs over the presented token only. */
static bool
admin_token_matches(const char *want, const char *got)
{
	size_t wlen = strlen(want), glen = strlen(got);
	unsigned char diff = (unsigned char)(wlen != glen);

	if (wlen == 0)
		return false;
	for (size_t i = 0; i < glen; i++)
		diff |= (unsigned char)(got[i] ^ want[i < wlen ? i : 0]);
	return diff == 0;
}

/* Who presented the request's bearer token. */
enum admin_caller {
	ADMIN_CALLER_NONE,     /* no token, or an unknown one */
	ADMIN_CALLER_OPERATOR, /* the operator token */
	ADMIN_CALLER_TENANT,   /* a tenant token; the tenant in `tenant` */
};

/*
 * The operator token is compared in constant time; a tenant token is found
 * by its SHA-256 (meta never holds the token).  An empty operator token
 * refuses every call, tenant tokens included: that state means "fail closed".
 */
static enum admin_caller
admin_caller(const struct admin *a, struct http_request *req, char tenant[META_NAME_MAX + 1])
{
	const char *h = http_request_header(req, "Authorization");

	tenant[0] = '\0';
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || a->token[0] == '\0')
		return ADMIN_CALLER_NONE;
	h += 7;
	while (*h == ' ')
		h++;
	if (admin_token_matches(a->token, h))
		return ADMIN_CALLER_OPERATOR;
	if (meta_token_lookup(a->meta, h, tenant) == 1)
		return ADMIN_CALLER_TENANT;
	tenant[0] = '\0';
	return ADMIN_CALLER_NONE;
}

/*
 * Matches a path against a pattern, capturing ":x" segments into params
 * and, for a final segment "*x", the raw rest of the path into *rest.  A captured
 * segment longer than a name is captured as "" (invalid).
 */
static bool
admin_path_match(
    const char *pattern, const char *path, char params[][META_NAME_MAX + 1], const char **rest)
{
	size_t np = 0;

	*rest = NULL;
	while (*pattern != '\0' && *path != '\0') {
		size_t plen = strcspn(pattern + 1, "/") + 1, slen = strcspn(path + 1, "/") + 1;

		if (*pattern != '/' || *path != '/')
			return false;
		if (pattern[1] == '*') {
			if (path[1] == '\0')
				return false;
			*rest = path + 1;
			return true;
		}
		if (pattern[1] == ':') {
			if (slen == 1 || np == ADMIN_PARAMS_MAX)
				return false;
			if (slen - 1 <= META_NAME_MAX)
				snprintf(params[np], META_NAME_MAX + 1, "%.*s", (int)(slen - 1),
				    path + 1);
			else
				params[np][0] = '\0';
			np++;
		} else if (plen != slen || memcmp(pattern, path, plen) != 0) {
			return false;
		}
		pattern += plen;
		path += slen;
	}
	return *pattern == '\0' && *path == '\0';
}

/* Decodes the "*key" capture into ex->key; false with the rejection set. */
static bool
admin_capture_key(struct admin_exchange *ex, const char *rest)
{
	ssize_t n;

	ex->key_len = 0;
	ex->key[0] = '\0';
	if (rest == NULL)
		return true;
	if ((n = admin_percent_decode(rest, strlen(rest), false, ex->key, ADMIN_KEY_MAX)) < 0) {
		ex->reject_status = n == -2 ? 414 : 400;
		ex->reject_code = ADMIN_E_INVALID_KEY;
		ex->reject_message =
		    n == -2 ? "key is longer than 1024 bytes" : "key is badly percent-encoded";
		ex->endpoint = NULL;
		return false;
	}
	ex->key_len = (size_t)n;
	ex->key[n] = '\0';
	return true;
}

/* Validates the captured names; on failure sets the exchange's rejection. */
static void
admin_check_params(struct admin_exchange *ex)
{
	const char *p = ex->endpoint->pattern;
	size_t i = 0;

	while ((p = strstr(p, "/:")) != NULL && i < ADMIN_PARAMS_MAX) {
		p += 2;
		if ((strncmp(p, "tenant", 6) == 0 || strncmp(p, "script", 6) == 0) &&
		    !meta_name_is_valid(ex->params[i])) {
			ex->reject_status = 400;
			ex->reject_code = ADMIN_E_INVALID_NAME;
			ex->reject_message = strncmp(p, "tenant", 6) == 0 ? "invalid account id"
									  : "invalid script name";
			ex->endpoint = NULL;
			return;
		}
		i++;
	}
}

/* Finds the endpoint; fills ex->allow when only the method is wrong. */
static const struct admin_endpoint *
admin_route(struct admin_exchange *ex, const char *method, const char *path, bool *path_known,
    const char **rest)
{
	const struct admin_endpoint *found = NULL;

	*path_known = false;
	*rest = NULL;
	for (size_t i = 0; i < ADMIN_ENDPOINT_COUNT; i++) {
		const struct admin_endpoint *e = &admin_endpoints[i];
		char params[ADMIN_PARAMS_MAX][META_NAME_MAX + 1];
		const char *r;

		if (!admin_path_match(e->pattern, path, params, &r))
			continue;
		*path_known = true;
		if (strcmp(e->method, method) == 0 && found == NULL) {
			found = e;
			memcpy(ex->params, params, sizeof(params));
			*rest = r;
		}
		if (strlen(ex->allow) + strlen(e->method) + 3 < sizeof(ex->allow)) {
			if (ex->allow[0] != '\0')
				strcat(ex->allow, ", ");
			strcat(ex->allow, e->method);
		}
	}
	if (found != NULL)
		ex->allow[0] = '\0';
	return found;
}

static void
admin_reject(struct admin_exchange *ex, int status, int code, const char *message)
{
	ex->reject_status = status;
	ex->reject_code = code;
	ex->reject_message = message;
}

static void
admin_on_request(struct http_request *req, void *arg)
{
	struct admin *a = arg;
	struct admin_exchange *ex;
	const struct admin_endpoint *e;
	enum admin_caller caller;
	char tenant[META_NAME_MAX + 1];
	const char *rest;
	bool path_known;

	if ((ex = calloc(1, sizeof(*ex))) == NULL) {
		log_warnx("admin: out of memory for request %" PRIu64, http_request_id(req));
		http_response_simple(req, 503, "text/plain", "out of memory\n");
		return;
	}
	ex->admin = a;
	ex->req = req;
	buf_init(&ex->body);
	http_request_set_data(req, ex);

	e = admin_route(ex, http_request_method(req), http_request_path(req), &path_known, &rest);
	if (e != NULL && e->access == ADMIN_PUBLIC)
		caller = ADMIN_CALLER_OPERATOR; /* no token needed */
	else
		caller = admin_caller(a, req, tenant);
	if (caller == ADMIN_CALLER_NONE) {
		ex->allow[0] = '\0';
		admin_reject(ex, 401, ADMIN_E_AUTH, "Authentication error");
	} else if (caller == ADMIN_CALLER_TENANT &&
	    (e == NULL || e->access != ADMIN_TENANT || strcmp(ex->params[0], tenant) != 0)) {
		/* Tells nothing of the path: not whether it exists, nor its methods. */
		ex->allow[0] = '\0';
		admin_reject(ex, 403, ADMIN_E_AUTH, "token not valid for this account");
	} else if (!path_known) {
		admin_reject(ex, 404, ADMIN_E_NO_ROUTE, "no route for that URI");
	} else if (e == NULL) {
		admin_reject(ex, 405, ADMIN_E_METHOD, "method not allowed");
	} else {
		ex->endpoint = e;
		if (admin_capture_key(ex, rest))
			admin_check_params(ex);
	}
}

static void
admin_on_body(struct http_request *req, const void *data, size_t len, void *arg)
{
	struct admin_exchange *ex = http_request_data(req);
	struct admin *a = arg;

	/* Rejected requests never buffer: an unauthenticated client costs no memory. */
	if (ex == NULL || ex->endpoint == NULL || ex->too_large || ex->no_memory)
		return;
	if (ex->body.len > a->limits.body_max_bytes ||
	    len > a->limits.body_max_bytes - ex->body.len) {
		ex->too_large = true;
		buf_release(&ex->body);
		return;
	}
	if (buf_append(&ex->body, data, len) == -1) {
		ex->no_memory = true;
		buf_release(&ex->body);
	}
}

static void
admin_on_body_end(struct http_request *req, void *arg)
{
	struct admin_exchange *ex = http_request_data(req);
	struct admin *a = arg;

	if (ex == NULL)
		return;
	if (ex->endpoint == NULL)
		admin_reply_error(ex, ex->reject_status, ex->reject_code, "%s", ex->reject_message);
	else if (ex->too_large)
		admin_reply_error(ex, 413, ADMIN_E_TOO_LARGE, "request body exceeds %zu bytes",
		    a->limits.body_max_bytes);
	else if (ex->no_memory)
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
	else
		ex->endpoint->handler(ex);
}

static void
admin_on_abort(struct http_request *req, void *arg)
{
	struct admin_exchange *ex = http_request_data(req);

	(void)arg;
	if (ex == NULL)
		return;
	log_info("admin: request %" PRIu64 " aborted by the client", http_request_id(req));
	http_request_set_data(req, NULL);
	ex->req = NULL;
	admin_exchange_free(ex);
}

const struct http_server_callbacks *
admin_http_callbacks(void)
{
	static const struct http_server_callbacks cb = {
		.on_request = admin_on_request,
		.on_body = admin_on_body,
		.on_body_end = admin_on_body_end,
		.on_abort = admin_on_abort,
	};

	return &cb;
}

/* --- small endpoints ----------------------------------------------------------- */

static void
admin_healthz(struct admin_exchange *ex)
{
	admin_send(ex, 200, "text/plain", "ok\n");
}

static void
admin_status(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	char *text = NULL;
	json_t *result;
	json_error_t err;

	if (a->hooks.status_json != NULL)
		text = a->hooks.status_json(a->core);
	if (text == NULL) {
		admin_reply(ex, 200, json_object());
		return;
	}
	result = json_loads(text, 0, &err);
	free(text);
	if (result == NULL) {
		log_warnx("admin: the core's status is not valid JSON: %s", err.text);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply(ex, 200, result);
}
