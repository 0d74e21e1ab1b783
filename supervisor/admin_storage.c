/*
 * admin_storage: what the admin API's storage endpoints (admin_kv.c,
 * admin_d1.c, admin_r2.c) share in the supervisor: storage calls to the
 * broker through the core's hooks, the mapping of their outcome to HTTP,
 * registry look-ups, list pages, query parameters and path keys.
 */
#include "supervisor/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/store.h"
#include "common/ipc.h"
#include "common/log.h"
#include "supervisor/http.h"

#define ADMIN_PAGE_DEFAULT 20
#define ADMIN_PAGE_MAX 100

/* meta's kinds are the broker's. */
_Static_assert(
    (int)META_KV == (int)STORE_KV && (int)META_D1 == (int)STORE_D1 && (int)META_R2 == (int)STORE_R2,
    "meta_kind and store_kind differ");

/* A call in flight; owned by its exchange (ex->call). */
struct admin_call {
	struct admin_exchange *ex;
	struct broker_call *handle;
	admin_call_cont cont;
};

/* --- the outcome --------------------------------------------------------------- */

static int
admin_store_http_status(int status)
{
	switch (status) {
	case STORE_OK:
		return 200;
	case STORE_E_INVALID:
	case STORE_E_FAILED:
		return 400;
	case STORE_E_NOT_FOUND:
		return 404;
	case STORE_E_TOO_LARGE:
		return 413;
	case STORE_E_CONFLICT:
		return 409;
	case STORE_E_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

static int
admin_store_code(const struct admin_call_result *r, enum meta_kind kind)
{
	if (r->status == STORE_E_UNAVAILABLE)
		return ADMIN_E_UNAVAILABLE;
	if (r->code != 0)
		return r->code;
	if (r->status == STORE_E_NOT_FOUND)
		return kind == META_KV ? ADMIN_E_KV_NAMESPACE_NOT_FOUND
		    : kind == META_D1  ? ADMIN_E_D1_NOT_FOUND
				       : ADMIN_E_R2_BUCKET_NOT_FOUND;
	if (r->status == STORE_E_FAILED && kind == META_D1)
		return ADMIN_E_D1_QUERY;
	if (r->status == STORE_E_CONFLICT && kind == META_R2)
		return ADMIN_E_R2_BUCKET_NOT_EMPTY;
	return ADMIN_E_STORAGE;
}

void
admin_call_fail(struct admin_exchange *ex, const struct admin_call_result *r, enum meta_kind kind)
{
	int status = admin_store_http_status(r->status);

	if (status == 200)
		status = 500; /* a "failure" that says OK is the broker's bug */
	if (status >= 500)
		log_warnx("admin: tenant '%s': storage call failed (status %d): %s", ex->params[0],
		    r->status, r->message);
	admin_reply_error(ex, status, admin_store_code(r, kind), "%s", r->message);
}

/*
 * The broker's failure document is {"message", "code"?}; a bare string or
 * other text is taken as the message, so that nothing the broker says is
 * lost.  The message points into doc or text.
 */
static void
admin_failure_read(json_t *doc, const char *text, struct admin_call_result *r)
{
	json_t *code = json_object_get(doc, "code");

	r->code = json_is_integer(code) ? (int)json_integer_value(code) : 0;
	if (json_is_string(json_object_get(doc, "message")))
		r->message = json_string_value(json_object_get(doc, "message"));
	else if (json_is_string(doc))
		r->message = json_string_value(doc);
	else if (doc == NULL && text[0] != '\0')
		r->message = text;
	else
		r->message = "storage call failed";
}

static void
admin_call_done(void *ctx, const struct broker_outcome *out)
{
	struct admin_call *ac = ctx;
	struct admin_exchange *ex = ac->ex;
	admin_call_cont cont = ac->cont;
	struct admin_call_result r = { .status = out->status };
	json_t *doc = NULL;

	ex->call = NULL;
	free(ac);
	if (out->doc_len > 0)
		doc = json_loadb(out->doc, out->doc_len, JSON_DECODE_ANY, NULL);
	if (out->status == STORE_OK) {
		r.doc = doc;
		r.message = "";
		r.body = out->body;
		r.body_len = out->body_len;
	} else {
		admin_failure_read(doc, out->doc, &r);
	}
	cont(ex, &r);
	json_decref(doc);
}

void
admin_call_abandon(struct admin_exchange *ex)
{
	struct admin_call *ac = ex->call;

	if (ac == NULL)
		return;
	ex->call = NULL;
	if (ex->admin->hooks.call_cancel != NULL)
		ex->admin->hooks.call_cancel(ex->admin->core, ac->handle);
	free(ac);
}

/* --- the call ------------------------------------------------------------------ */

static void
admin_call_unavailable(struct admin_exchange *ex, admin_call_cont cont)
{
	struct admin_call_result r = {
		.status = STORE_E_UNAVAILABLE,
		.message = "the storage broker is not available; try again",
	};

	cont(ex, &r);
}

void
admin_call(struct admin_exchange *ex, const char *kind, const char *resource, const char *method,
    json_t *args, bool with_body, bool discard_body, admin_call_cont cont)
{
	struct admin *a = ex->admin;
	struct meta_storage_limits l;
	char limits[META_STORAGE_LIMITS_TEXT_MAX];
	struct broker_call_args ca;
	struct admin_call *ac = NULL;
	char *text;

	text = args != NULL ? json_dumps(args, JSON_COMPACT) : NULL;
	json_decref(args);
	if (text == NULL || meta_storage_limits_get(a->meta, ex->params[0], &l) != 1 ||
	    meta_storage_limits_text(&l, limits, sizeof(limits)) == -1 ||
	    (ac = calloc(1, sizeof(*ac))) == NULL) {
		free(text);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (strlen(text) > IPC_CALL_ARGS_MAX) {
		free(text);
		free(ac);
		admin_reply_error(ex, 413, ADMIN_E_TOO_LARGE, "arguments exceed %u bytes",
		    (unsigned)IPC_CALL_ARGS_MAX);
		return;
	}
	ca = (struct broker_call_args) {
		.tenant = ex->params[0],
		.kind = kind,
		.resource = resource,
		.method = method,
		.args = text,
		.limits = limits,
		.body = with_body ? &ex->body : NULL,
		.output_max = a->limits.body_max_bytes,
		.discard_body = discard_body,
	};
	ac->ex = ex;
	ac->cont = cont;
	if (a->hooks.call != NULL)
		ac->handle = a->hooks.call(a->core, &ca, admin_call_done, ac);
	free(text);
	if (ac->handle == NULL) {
		free(ac);
		admin_call_unavailable(ex, cont);
		return;
	}
	ex->call = ac;
}

/* --- the registry ------------------------------------------------------------- */

bool
admin_resource_find(struct admin_exchange *ex, enum meta_kind kind, int code, const char *what,
    struct meta_resource *out)
{
	int rc = meta_resource_get(ex->admin->meta, kind, ex->params[0], ex->params[1], out);

	if (rc == 1)
		return true;
	if (rc == 0)
		/* The id is the caller's text: admin_reply_error cleans it. */
		admin_reply_error(ex, 404, code, "%s '%.64s' not found", what, ex->params[1]);
	else
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
	return false;
}

void
admin_resource_create_failed(
    struct admin_exchange *ex, enum meta_kind kind, int rc, const char *what, const char *name)
{
	struct meta_storage_limits l;
	enum meta_storage_limit which = meta_storage_count_limit(kind);

	switch (rc) {
	case 0:
		admin_reply_error(
		    ex, 404, ADMIN_E_ACCOUNT_NOT_FOUND, "account '%s' not found", ex->params[0]);
		break;
	case META_E_TAKEN:
		admin_reply_error(ex, 409, ADMIN_E_NAME_TAKEN,
		    "account '%s' already has a %s named '%.512s'", ex->params[0], what, name);
		break;
	case META_E_QUOTA:
		if (meta_storage_limits_get(ex->admin->meta, ex->params[0], &l) != 1)
			l.value[which] = 0;
		admin_reply_error(ex, 403, ADMIN_E_QUOTA,
		    "account '%s' is at its limit of %llu %ss (limits.%s)", ex->params[0],
		    (unsigned long long)l.value[which], what, meta_storage_limit_name(which));
		break;
	default:
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		break;
	}
}

void
admin_reply_page(struct admin_exchange *ex, json_t *items)
{
	json_int_t page = 1, per_page = ADMIN_PAGE_DEFAULT;
	size_t total = json_array_size(items), from;
	json_t *slice;

	if (admin_query_int(ex, "page", 1, INT32_MAX, &page) == -1 ||
	    admin_query_int(ex, "per_page", 1, ADMIN_PAGE_MAX, &per_page) == -1) {
		json_decref(items);
		return;
	}
	from = (size_t)(page - 1) * (size_t)per_page;
	if ((slice = json_array()) == NULL) {
		json_decref(items);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	for (size_t i = from; i < total && i < from + (size_t)per_page; i++)
		json_array_append(slice, json_array_get(items, i));
	json_decref(items);
	admin_reply_info(ex, 200, slice,
	    json_pack("{s:I, s:I, s:I, s:I}", "page", page, "per_page", per_page, "count",
		(json_int_t)json_array_size(slice), "total_count", (json_int_t)total));
}

/* --- request parts -------------------------------------------------------------- */

int
admin_query(struct admin_exchange *ex, const char *name, char *out, size_t len, size_t *out_len)
{
	const char *q = strchr(http_request_target(ex->req), '?');
	size_t nlen = strlen(name);

	if (q == NULL || len == 0)
		return 0;
	q++;
	while (*q != '\0' && *q != '#') {
		size_t plen = strcspn(q, "&#");
		const char *eq = memchr(q, '=', plen);
		size_t klen = eq != NULL ? (size_t)(eq - q) : plen;
		ssize_t n;

		if (klen == nlen && memcmp(q, name, nlen) == 0) {
			const char *v = eq != NULL ? eq + 1 : q + plen;
			size_t vlen = (size_t)(q + plen - v);

			if ((n = admin_percent_decode(v, vlen, true, out, len - 1)) < 0)
				return -1;
			out[n] = '\0';
			if (out_len != NULL)
				*out_len = (size_t)n;
			return 1;
		}
		q += plen;
		if (*q == '&')
			q++;
	}
	return 0;
}

int
admin_query_int(
    struct admin_exchange *ex, const char *name, json_int_t min, json_int_t max, json_int_t *out)
{
	char text[32], *end;
	long long v;
	int rc = admin_query(ex, name, text, sizeof(text), NULL);

	if (rc == 0)
		return 0;
	if (rc == 1 && text[0] != '\0' && text[0] != '-' && text[0] != '+') {
		v = strtoll(text, &end, 10);
		if (*end == '\0' && v >= min && v <= max) {
			*out = (json_int_t)v;
			return 1;
		}
	}
	admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "'%s' must be an integer from %lld to %lld",
	    name, (long long)min, (long long)max);
	return -1;
}

json_t *
admin_key_json(struct admin_exchange *ex, size_t max)
{
	json_t *j;

	if (ex->key_len > max) {
		admin_reply_error(
		    ex, 414, ADMIN_E_INVALID_KEY, "key is longer than %zu bytes", max);
		return NULL;
	}
	if (!admin_utf8_is_valid(ex->key, ex->key_len)) {
		admin_reply_error(ex, 400, ADMIN_E_INVALID_KEY, "key must be valid UTF-8");
		return NULL;
	}
	if ((j = json_stringn(ex->key, ex->key_len)) == NULL)
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
	return j;
}

json_t *
admin_body_any_json(struct admin_exchange *ex)
{
	json_error_t err;
	json_t *j;

	j = json_loadb((const char *)ex->body.data, ex->body.len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "request body is not valid JSON (line %d, column %d)", err.line, err.column);
	return j;
}
