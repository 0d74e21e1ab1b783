/*
 * admin: the admin API's HTTP glue in the supervisor: the endpoint table,
 * bearer-token auth, body buffering and the Cloudflare v4 response envelope.
 * The handlers live in admin_tenants.c, admin_workers.c, admin_upload.c and
 * admin_routes.c.
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
 *   10405  405     method not allowed on that path (Allow header sent)
 *   10415  415     unsupported Content-Type for an upload
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

#define ADMIN_SCRIPT_MAX_DEFAULT (10u << 20)
#define ADMIN_BODY_MAX_DEFAULT (12u << 20)
#define ADMIN_MESSAGE_MAX 512

static void admin_healthz(struct admin_exchange *ex);
static void admin_status(struct admin_exchange *ex);

#define V4 "/client/v4/accounts/:tenant/workers"

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

/* --- text helpers ------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
admin_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool
admin_utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = admin_utf8_seq(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

json_t *
admin_json_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *j;
	char *copy;
	size_t i = 0, n;

	if (admin_utf8_is_valid(s, len))
		return json_stringn(s, len);
	if ((copy = malloc(len)) == NULL)
		return NULL;
	while (i < len) {
		if ((n = admin_utf8_seq(p + i, len - i)) == 0) {
			copy[i++] = '?';
			continue;
		}
		memcpy(copy + i, s + i, n);
		i += n;
	}
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

json_t *
admin_json_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char text[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_string("1970-01-01T00:00:00Z");
	return json_string(text);
}

/* --- replies ----------------------------------------------------------------- */

void
admin_exchange_free(struct admin_exchange *ex)
{
	if (ex == NULL)
		return;
	if (ex->upload != NULL)
		admin_upload_detach(ex->upload);
	buf_release(&ex->body);
	free(ex);
}

/* Sends `text` as the response and ends the exchange. */
static void
admin_send(struct admin_exchange *ex, int status, const char *type, const char *text)
{
	struct http_header headers[2] = {
		{ "Content-Type", type },
		{ "Allow", ex->allow },
	};
	struct http_request *req = ex->req;
	size_t len = strlen(text);

	log_info("admin: %s %s -> %d (request %" PRIu64 ")", http_request_method(req),
	    http_request_path(req), status, http_request_id(req));
	http_request_set_data(req, NULL);
	if (http_response_start(req, status, headers, ex->allow[0] != '\0' ? 2 : 1, (int64_t)len) ==
	    0)
		(void)http_response_body(req, text, len);
	(void)http_response_end(req);
	ex->req = NULL;
	admin_exchange_free(ex);
}

static void
admin_send_envelope(
    struct admin_exchange *ex, int status, bool success, json_t *errors, json_t *result)
{
	json_t *env;
	char *text = NULL;

	env = json_pack("{s:b, s:o, s:[], s:o}", "success", success, "errors",
	    errors != NULL ? errors : json_array(), "messages", "result",
	    result != NULL ? result : json_null());
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
	admin_send_envelope(ex, status, true, NULL, result);
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
	admin_send_envelope(ex, status, false, errors, NULL);
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
 * Matches a path against a pattern, capturing ":x" segments into params.
 * A captured segment longer than a name is captured as "" (invalid).
 */
static bool
admin_path_match(const char *pattern, const char *path, char params[][META_NAME_MAX + 1])
{
	size_t np = 0;

	while (*pattern != '\0' && *path != '\0') {
		size_t plen = strcspn(pattern + 1, "/") + 1, slen = strcspn(path + 1, "/") + 1;

		if (*pattern != '/' || *path != '/')
			return false;
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
admin_route(struct admin_exchange *ex, const char *method, const char *path, bool *path_known)
{
	const struct admin_endpoint *found = NULL;

	*path_known = false;
	for (size_t i = 0; i < ADMIN_ENDPOINT_COUNT; i++) {
		const struct admin_endpoint *e = &admin_endpoints[i];
		char params[ADMIN_PARAMS_MAX][META_NAME_MAX + 1];

		if (!admin_path_match(e->pattern, path, params))
			continue;
		*path_known = true;
		if (strcmp(e->method, method) == 0 && found == NULL) {
			found = e;
			memcpy(ex->params, params, sizeof(params));
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

	e = admin_route(ex, http_request_method(req), http_request_path(req), &path_known);
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
