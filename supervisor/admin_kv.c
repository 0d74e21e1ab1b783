/*
 * admin_kv: the Workers KV endpoints of the admin API in the supervisor:
 * namespaces (in meta's registry, created and dropped in the broker too)
 * and their keys and values (storage calls to the broker).  Shapes follow
 * Cloudflare's /accounts/{id}/storage/kv/namespaces API.
 */
#include "supervisor/admin_internal.h"

#include <stdlib.h>
#include <string.h>

#include "broker/store.h"
#include "supervisor/http.h"
#include "supervisor/multipart.h"

#define KV_KEY_MAX 512
#define KV_PREFIX_MAX 512
#define KV_CURSOR_MAX 1024

static json_t *
admin_kv_json(const struct meta_resource *r, bool created)
{
	(void)created;
	return json_pack(
	    "{s:s, s:s, s:b}", "id", r->id, "title", r->name, "supports_url_encoding", true);
}

/* A title: any text without NUL that fits the registry. */
static bool
admin_kv_title_is_valid(const char *title, size_t len)
{
	return title[0] != '\0' && strlen(title) == len && len <= META_RESOURCE_NAME_MAX;
}

static const struct admin_kind admin_kv = {
	.kind = META_KV,
	.backend = "kv",
	.what = "namespace",
	.noun = "KV namespace",
	.not_found = ADMIN_E_KV_NAMESPACE_NOT_FOUND,
	.json = admin_kv_json,
	.name_member = "title",
	.name_is_valid = admin_kv_title_is_valid,
	.bad_name_code = ADMIN_E_MALFORMED,
	.bad_name = "'title' must be a string of 1 to " ADMIN_STR(META_RESOURCE_NAME_MAX) " bytes",
};

/* --- namespaces ----------------------------------------------------------------- */

void
admin_kv_namespace_create(struct admin_exchange *ex)
{
	admin_resource_create(ex, &admin_kv);
}

void
admin_kv_namespaces_list(struct admin_exchange *ex)
{
	json_t *list;

	if ((list = admin_resource_list(ex, &admin_kv)) != NULL)
		admin_reply_page(ex, list);
}

void
admin_kv_namespace_delete(struct admin_exchange *ex)
{
	admin_resource_drop(ex, &admin_kv);
}

/* --- values --------------------------------------------------------------------- */

/* {"key": ...} for the path's key; NULL when ex was answered. */
static json_t *
admin_kv_key_args(struct admin_exchange *ex)
{
	json_t *key = admin_key_json(ex, KV_KEY_MAX), *args;

	if (key == NULL)
		return NULL;
	if ((args = json_pack("{s:o}", "key", key)) == NULL)
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
	return args;
}

static void
admin_kv_reply_doc(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (admin_call_ok(ex, r))
		admin_reply(ex, 200, r->doc != NULL ? json_incref(r->doc) : json_object());
}

/* A get's outcome: true when the key was found; otherwise ex was answered. */
static bool
admin_kv_found(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (!admin_call_ok(ex, r))
		return false;
	if (json_is_true(json_object_get(r->doc, "found")))
		return true;
	admin_reply_error(ex, 404, ADMIN_E_KV_KEY_NOT_FOUND, "key not found");
	return false;
}

/*
 * A multipart value: its "value" part becomes the whole body (moved to the
 * front, in place) and "metadata" goes into args.  False when ex was answered.
 */
static bool
admin_kv_multipart(struct admin_exchange *ex, const char *ct, json_t *args)
{
	const struct multipart_part *v, *m;
	struct multipart *mp;
	json_t *md = NULL;
	bool ok = false;

	if ((mp = admin_multipart(ex, ct, ex->body.data, ex->body.len)) == NULL)
		return false;
	if ((v = multipart_find(mp, "value")) == NULL) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "missing the 'value' part");
		goto done;
	}
	if ((m = multipart_find(mp, "metadata")) != NULL &&
	    ((md = json_loadb(m->data, m->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL)) ==
		    NULL ||
		json_object_set(args, "metadata", md) == -1)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "'metadata' must be JSON");
		goto done;
	}
	memmove(ex->body.data, v->data, v->len);
	ex->body.len = v->len;
	ok = true;
done:
	json_decref(md);
	free(mp);
	return ok;
}

/* ?expiration= and ?expiration_ttl= into args; false when ex was answered. */
static bool
admin_kv_expiration(struct admin_exchange *ex, json_t *args)
{
	static const char *const names[] = { "expiration", "expiration_ttl" };
	json_int_t v;
	int rc;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((rc = admin_query_int(ex, names[i], 1, INT64_MAX / 1000, &v)) == -1)
			return false;
		if (rc == 1 && json_object_set_new(args, names[i], json_integer(v)) == -1) {
			admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
			return false;
		}
	}
	return true;
}

void
admin_kv_value_put(struct admin_exchange *ex)
{
	const char *ct = http_request_header(ex->req, "Content-Type");
	struct meta_resource ns;
	json_t *args;

	if (!admin_resource_find(ex, &admin_kv, &ns) || (args = admin_kv_key_args(ex)) == NULL)
		return;
	if (!admin_kv_expiration(ex, args) ||
	    (admin_media_type_is(ct, "multipart/form-data") && !admin_kv_multipart(ex, ct, args))) {
		json_decref(args);
		return;
	}
	admin_call(ex, &admin_kv, ns.id, "put", args, true, false, admin_kv_reply_doc);
}

static void
admin_kv_got(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (admin_kv_found(ex, r))
		admin_reply_raw(ex, 200, "application/octet-stream", NULL, 0, r->body, r->body_len);
}

void
admin_kv_value_get(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_t *args;

	if (admin_resource_find(ex, &admin_kv, &ns) && (args = admin_kv_key_args(ex)) != NULL)
		admin_call(ex, &admin_kv, ns.id, "get", args, false, false, admin_kv_got);
}

void
admin_kv_value_delete(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_t *args;

	if (admin_resource_find(ex, &admin_kv, &ns) && (args = admin_kv_key_args(ex)) != NULL)
		admin_call(
		    ex, &admin_kv, ns.id, "delete", args, false, false, admin_call_reply_null);
}

static void
admin_kv_got_metadata(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *md;

	if (!admin_kv_found(ex, r))
		return;
	md = json_object_get(r->doc, "metadata");
	admin_reply(ex, 200, md != NULL ? json_incref(md) : NULL);
}

void
admin_kv_metadata_get(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_t *args;

	/* The value itself is never fetched: only the result document is wanted. */
	if (admin_resource_find(ex, &admin_kv, &ns) && (args = admin_kv_key_args(ex)) != NULL)
		admin_call(ex, &admin_kv, ns.id, "get", args, false, true, admin_kv_got_metadata);
}

/* --- listing and bulk ---------------------------------------------------------- */

static void
admin_kv_listed(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *keys, *cursor;

	if (!admin_call_ok(ex, r))
		return;
	keys = json_object_get(r->doc, "keys");
	cursor = json_object_get(r->doc, "cursor");
	if (!json_is_array(keys)) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply_info(ex, 200, json_incref(keys),
	    json_pack("{s:I, s:s}", "count", (json_int_t)json_array_size(keys), "cursor",
		json_is_string(cursor) ? json_string_value(cursor) : ""));
}

void
admin_kv_keys_list(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_int_t limit;
	json_t *args;
	int rc;

	if (!admin_resource_find(ex, &admin_kv, &ns))
		return;
	if ((args = json_object()) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (!admin_query_text(ex, "prefix", KV_PREFIX_MAX, args) ||
	    !admin_query_text(ex, "cursor", KV_CURSOR_MAX, args) ||
	    (rc = admin_query_int(ex, "limit", 1, 1000, &limit)) == -1) {
		json_decref(args);
		return;
	}
	if (rc == 1)
		json_object_set_new(args, "limit", json_integer(limit));
	admin_call(ex, &admin_kv, ns.id, "list", args, false, false, admin_kv_listed);
}

/* bulkPut and bulkDelete: the body (a JSON array) goes to the broker as it came. */
static void
admin_kv_bulk(struct admin_exchange *ex, const char *method)
{
	struct meta_resource ns;
	json_t *body;

	if (!admin_resource_find(ex, &admin_kv, &ns) || (body = admin_body_any_json(ex)) == NULL)
		return;
	if (!json_is_array(body)) {
		json_decref(body);
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "request body must be a JSON array");
		return;
	}
	json_decref(body);
	admin_call(ex, &admin_kv, ns.id, method, json_object(), true, false, admin_kv_reply_doc);
}

void
admin_kv_bulk_put(struct admin_exchange *ex)
{
	admin_kv_bulk(ex, "bulkPut");
}

void
admin_kv_bulk_delete(struct admin_exchange *ex)
{
	admin_kv_bulk(ex, "bulkDelete");
}
