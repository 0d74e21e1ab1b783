/*
 * admin_storage: what the admin API's storage endpoints (admin_kv.c,
 * admin_d1.c, admin_r2.c) share in the supervisor: storage calls to the
 * broker through the core's hooks, the mapping of their outcome to HTTP,
 * the resources' life (create, list, find, drop) driven by each file's
 * struct admin_kind, list pages, query parameters and path keys.
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
admin_call_fail(struct admin_exchange *ex, const struct admin_call_result *r)
{
	int status = admin_store_http_status(r->status);

	if (status == 200)
		status = 500; /* a "failure" that says OK is the broker's bug */
	if (status >= 500)
		log_warnx("admin: tenant '%s': storage call failed (status %d): %s", ex->params[0],
		    r->status, r->message);
	admin_reply_error(ex, status, admin_store_code(r, ex->kind->kind), "%s", r->message);
}

bool
admin_call_ok(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (r->status == STORE_OK)
		return true;
	admin_call_fail(ex, r);
	return false;
}

void
admin_call_reply_null(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (admin_call_ok(ex, r))
		admin_reply(ex, 200, NULL);
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
admin_call(struct admin_exchange *ex, const struct admin_kind *k, const char *resource,
    const char *method, json_t *args, bool with_body, bool discard_body, admin_call_cont cont)
{
	struct admin *a = ex->admin;
	struct meta_storage_limits l;
	char limits[META_STORAGE_LIMITS_TEXT_MAX];
	struct broker_call_args ca;
	struct admin_call *ac = NULL;
	char *text;

	ex->kind = k;
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
		.kind = k->backend,
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
admin_resource_find(
    struct admin_exchange *ex, const struct admin_kind *k, struct meta_resource *out)
{
	int rc;

	if (!admin_tenant_check(ex))
		return false;
	rc = meta_resource_get(ex->admin->meta, k->kind, ex->params[0], ex->params[1], out);
	if (rc == 1)
		return true;
	if (rc == 0)
		/* The id is the caller's text: admin_reply_error cleans it. */
		admin_reply_error(
		    ex, 404, k->not_found, "%s '%.64s' not found", k->what, ex->params[1]);
	else
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
	return false;
}

struct admin_resource_list {
	const struct admin_kind *k;
	json_t *items;
};

static int
admin_resource_list_cb(const struct meta_resource *r, void *arg)
{
	struct admin_resource_list *l = arg;

	return json_array_append_new(l->items, l->k->json(r, false)) == -1 ? -1 : 0;
}

json_t *
admin_resource_list(struct admin_exchange *ex, const struct admin_kind *k)
{
	struct admin_resource_list l = { k, NULL };

	if (!admin_tenant_check(ex))
		return NULL;
	if ((l.items = json_array()) == NULL ||
	    meta_foreach_resource(
		ex->admin->meta, k->kind, ex->params[0], admin_resource_list_cb, &l) != 0) {
		json_decref(l.items);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return NULL;
	}
	return l.items;
}

/* Answers a failed meta_resource_create (0, META_E_TAKEN, META_E_QUOTA, -1). */
static void
admin_resource_create_failed(
    struct admin_exchange *ex, const struct admin_kind *k, int rc, const char *name)
{
	struct meta_storage_limits l;
	enum meta_storage_limit which = meta_storage_count_limit(k->kind);

	switch (rc) {
	case 0:
		admin_reply_error(
		    ex, 404, ADMIN_E_ACCOUNT_NOT_FOUND, "account '%s' not found", ex->params[0]);
		break;
	case META_E_TAKEN:
		admin_reply_error(ex, 409, ADMIN_E_NAME_TAKEN,
		    "account '%s' already has a %s named '%.512s'", ex->params[0], k->noun, name);
		break;
	case META_E_QUOTA:
		if (meta_storage_limits_get(ex->admin->meta, ex->params[0], &l) != 1)
			l.value[which] = 0;
		admin_reply_error(ex, 403, ADMIN_E_QUOTA,
		    "account '%s' is at its limit of %llu %ss (limits.%s)", ex->params[0],
		    (unsigned long long)l.value[which], k->noun, meta_storage_limit_name(which));
		break;
	default:
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		break;
	}
}

static void
admin_resource_created(struct admin_exchange *ex, const struct admin_call_result *r)
{
	const struct admin_kind *k = ex->kind;
	struct meta_resource res;
	json_t *shown;

	if (r->status != STORE_OK) {
		/* The broker has no such resource: neither may the registry. */
		(void)meta_resource_delete(ex->admin->meta, k->kind, ex->params[0], ex->params[1]);
		admin_call_fail(ex, r);
		return;
	}
	if (meta_resource_get(ex->admin->meta, k->kind, ex->params[0], ex->params[1], &res) != 1 ||
	    (shown = k->json(&res, true)) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' created %s '%s'", res.tenant, k->noun, res.id);
	admin_reply(ex, 200, shown);
}

/* Records the resource and asks the broker to create it; `name` is borrowed. */
static void
admin_resource_create_named(struct admin_exchange *ex, const struct admin_kind *k, const char *name)
{
	struct meta_resource res;
	int rc;

	rc = meta_resource_create(ex->admin->meta, k->kind, ex->params[0], name, &res);
	if (rc != 1) {
		admin_resource_create_failed(ex, k, rc, name);
		return;
	}
	/* The continuation finds the resource by the path's second parameter. */
	snprintf(ex->params[1], sizeof(ex->params[1]), "%s", res.id);
	admin_call(ex, k, res.id, "create", json_object(), false, false, admin_resource_created);
}

void
admin_resource_create(struct admin_exchange *ex, const struct admin_kind *k)
{
	const char *name;
	json_t *body, *member;

	if (!admin_tenant_check(ex) || (body = admin_body_json(ex, false)) == NULL)
		return;
	member = json_object_get(body, k->name_member);
	name = json_string_value(member);
	if (name == NULL || !k->name_is_valid(name, json_string_length(member)))
		admin_reply_error(ex, 400, k->bad_name_code, "%s", k->bad_name);
	else
		admin_resource_create_named(ex, k, name);
	json_decref(body);
}

static void
admin_resource_dropped(struct admin_exchange *ex, const struct admin_call_result *r)
{
	const struct admin_kind *k = ex->kind;

	/*
	 * Not found in the broker: a create that failed half-way; forget it all
	 * the same.  Anything else is refused as the broker says (an R2 bucket
	 * that is not empty: 409 with R2's code).
	 */
	if (r->status != STORE_OK && r->status != STORE_E_NOT_FOUND) {
		admin_call_fail(ex, r);
		return;
	}
	if (meta_resource_delete(ex->admin->meta, k->kind, ex->params[0], ex->params[1]) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' deleted %s '%s'", ex->params[0], k->noun, ex->params[1]);
	admin_reply(ex, 200, NULL);
}

void
admin_resource_drop(struct admin_exchange *ex, const struct admin_kind *k)
{
	struct meta_resource res;

	if (admin_resource_find(ex, k, &res))
		admin_call(
		    ex, k, res.id, "drop", json_object(), false, false, admin_resource_dropped);
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

bool
admin_query_text(struct admin_exchange *ex, const char *name, size_t max, json_t *args)
{
	char text[ADMIN_QUERY_TEXT_MAX + 1];
	size_t len;
	int rc;

	if (max > ADMIN_QUERY_TEXT_MAX)
		max = ADMIN_QUERY_TEXT_MAX;
	rc = admin_query(ex, name, text, max + 1, &len);
	if (rc == -1 || (rc == 1 && !utf8_is_valid(text, len))) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "'%s' must be UTF-8 of at most %zu bytes, percent-encoded", name, max);
		return false;
	}
	if (rc == 1 && json_object_set_new(args, name, json_stringn(text, len)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return false;
	}
	return true;
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
	if (!utf8_is_valid(ex->key, ex->key_len)) {
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
