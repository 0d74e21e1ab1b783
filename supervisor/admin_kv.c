/*
 * admin_kv: the Workers KV endpoints of the admin API in the supervisor:
 * namespaces (in meta's registry, created and dropped in the broker too)
 * and their keys and values (storage calls to the broker).  Shapes follow
 * Cloudflare's /accounts/{id}/storage/kv/namespaces API.
 */
#include "supervisor/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/store.h"
#include "common/log.h"
#include "supervisor/http.h"
#include "supervisor/multipart.h"

#define KV_KEY_MAX 512
#define KV_PREFIX_MAX 512
#define KV_CURSOR_MAX 1024

static json_t *
admin_kv_json(const struct meta_resource *r)
{
	return json_pack(
	    "{s:s, s:s, s:b}", "id", r->id, "title", r->name, "supports_url_encoding", true);
}

/* The path's namespace; false when ex was answered (404 or 500). */
static bool
admin_kv_find(struct admin_exchange *ex, struct meta_resource *ns)
{
	return admin_tenant_check(ex) &&
	    admin_resource_find(ex, META_KV, ADMIN_E_KV_NAMESPACE_NOT_FOUND, "namespace", ns);
}

/* --- namespaces ----------------------------------------------------------------- */

static void
admin_kv_created(struct admin_exchange *ex, const struct admin_call_result *r)
{
	struct meta_resource ns;

	if (r->status != STORE_OK) {
		/* The broker has no such namespace: neither may the registry. */
		(void)meta_resource_delete(ex->admin->meta, META_KV, ex->params[0], ex->params[1]);
		admin_call_fail(ex, r, META_KV);
		return;
	}
	if (meta_resource_get(ex->admin->meta, META_KV, ex->params[0], ex->params[1], &ns) != 1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' created KV namespace %s", ns.tenant, ns.id);
	admin_reply(ex, 200, admin_kv_json(&ns));
}

void
admin_kv_namespace_create(struct admin_exchange *ex)
{
	struct meta_resource ns;
	const char *title;
	json_t *body, *t;
	int rc;

	if (!admin_tenant_check(ex) || (body = admin_body_json(ex, false)) == NULL)
		return;
	t = json_object_get(body, "title");
	title = json_string_value(t);
	if (title == NULL || title[0] == '\0' || strlen(title) != json_string_length(t) ||
	    strlen(title) > META_RESOURCE_NAME_MAX) {
		json_decref(body);
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "'title' must be a string of 1 to %d bytes", META_RESOURCE_NAME_MAX);
		return;
	}
	rc = meta_resource_create(ex->admin->meta, META_KV, ex->params[0], title, &ns);
	if (rc != 1) {
		admin_resource_create_failed(ex, META_KV, rc, "KV namespace", title);
		json_decref(body);
		return;
	}
	json_decref(body);
	/* The continuation finds the namespace by the path's second parameter. */
	snprintf(ex->params[1], sizeof(ex->params[1]), "%s", ns.id);
	admin_call(ex, "kv", ns.id, "create", json_object(), false, false, admin_kv_created);
}

static int
admin_kv_list_cb(const struct meta_resource *r, void *arg)
{
	return json_array_append_new(arg, admin_kv_json(r)) == -1 ? -1 : 0;
}

void
admin_kv_namespaces_list(struct admin_exchange *ex)
{
	json_t *list;

	if (!admin_tenant_check(ex))
		return;
	if ((list = json_array()) == NULL ||
	    meta_foreach_resource(
		ex->admin->meta, META_KV, ex->params[0], admin_kv_list_cb, list) != 0) {
		json_decref(list);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply_page(ex, list);
}

static void
admin_kv_dropped(struct admin_exchange *ex, const struct admin_call_result *r)
{
	/* Not found in the broker: a create that failed half-way; forget it all the same. */
	if (r->status != STORE_OK && r->status != STORE_E_NOT_FOUND) {
		admin_call_fail(ex, r, META_KV);
		return;
	}
	if (meta_resource_delete(ex->admin->meta, META_KV, ex->params[0], ex->params[1]) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' deleted KV namespace %s", ex->params[0], ex->params[1]);
	admin_reply(ex, 200, NULL);
}

void
admin_kv_namespace_delete(struct admin_exchange *ex)
{
	struct meta_resource ns;

	if (admin_kv_find(ex, &ns))
		admin_call(ex, "kv", ns.id, "drop", json_object(), false, false, admin_kv_dropped);
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
	if (r->status != STORE_OK)
		admin_call_fail(ex, r, META_KV);
	else
		admin_reply(ex, 200, r->doc != NULL ? json_incref(r->doc) : json_object());
}

static void
admin_kv_reply_null(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (r->status != STORE_OK)
		admin_call_fail(ex, r, META_KV);
	else
		admin_reply(ex, 200, NULL);
}

/*
 * A multipart value: its "value" part becomes the whole body (moved to the
 * front, in place) and "metadata" goes into args.  False when ex was answered.
 */
static bool
admin_kv_multipart(struct admin_exchange *ex, const char *ct, json_t *args)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	const struct multipart_part *v, *m;
	struct multipart *mp;
	json_t *md = NULL;
	const char *why;
	bool ok = false;

	if ((mp = malloc(sizeof(*mp))) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return false;
	}
	if (multipart_boundary(ct, boundary, sizeof(boundary), &why) == -1 ||
	    multipart_parse(ex->body.data, ex->body.len, boundary, mp, &why) == -1) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "malformed multipart body: %s", why);
		goto done;
	}
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

	if (!admin_kv_find(ex, &ns) || (args = admin_kv_key_args(ex)) == NULL)
		return;
	if (!admin_kv_expiration(ex, args) ||
	    (admin_media_type_is(ct, "multipart/form-data") && !admin_kv_multipart(ex, ct, args))) {
		json_decref(args);
		return;
	}
	admin_call(ex, "kv", ns.id, "put", args, true, false, admin_kv_reply_doc);
}

static void
admin_kv_got(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_KV);
		return;
	}
	if (!json_is_true(json_object_get(r->doc, "found"))) {
		admin_reply_error(ex, 404, ADMIN_E_KV_KEY_NOT_FOUND, "key not found");
		return;
	}
	admin_reply_raw(ex, 200, "application/octet-stream", NULL, 0, r->body, r->body_len);
}

void
admin_kv_value_get(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_t *args;

	if (admin_kv_find(ex, &ns) && (args = admin_kv_key_args(ex)) != NULL)
		admin_call(ex, "kv", ns.id, "get", args, false, false, admin_kv_got);
}

void
admin_kv_value_delete(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_t *args;

	if (admin_kv_find(ex, &ns) && (args = admin_kv_key_args(ex)) != NULL)
		admin_call(ex, "kv", ns.id, "delete", args, false, false, admin_kv_reply_null);
}

static void
admin_kv_got_metadata(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *md;

	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_KV);
		return;
	}
	if (!json_is_true(json_object_get(r->doc, "found"))) {
		admin_reply_error(ex, 404, ADMIN_E_KV_KEY_NOT_FOUND, "key not found");
		return;
	}
	md = json_object_get(r->doc, "metadata");
	admin_reply(ex, 200, md != NULL ? json_incref(md) : NULL);
}

void
admin_kv_metadata_get(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_t *args;

	/* The value itself is never fetched: only the result document is wanted. */
	if (admin_kv_find(ex, &ns) && (args = admin_kv_key_args(ex)) != NULL)
		admin_call(ex, "kv", ns.id, "get", args, false, true, admin_kv_got_metadata);
}

/* --- listing and bulk ---------------------------------------------------------- */

static void
admin_kv_listed(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *keys, *cursor;

	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_KV);
		return;
	}
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

/* Copies query parameter `name` into args as a string; false when ex was answered. */
static bool
admin_kv_query_text(struct admin_exchange *ex, const char *name, size_t max, json_t *args)
{
	char text[KV_CURSOR_MAX + 1];
	size_t len;
	int rc =
	    admin_query(ex, name, text, max + 1 <= sizeof(text) ? max + 1 : sizeof(text), &len);

	if (rc == -1 || (rc == 1 && !admin_utf8_is_valid(text, len))) {
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

void
admin_kv_keys_list(struct admin_exchange *ex)
{
	struct meta_resource ns;
	json_int_t limit;
	json_t *args;
	int rc;

	if (!admin_kv_find(ex, &ns))
		return;
	if ((args = json_object()) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (!admin_kv_query_text(ex, "prefix", KV_PREFIX_MAX, args) ||
	    !admin_kv_query_text(ex, "cursor", KV_CURSOR_MAX, args) ||
	    (rc = admin_query_int(ex, "limit", 1, 1000, &limit)) == -1) {
		json_decref(args);
		return;
	}
	if (rc == 1)
		json_object_set_new(args, "limit", json_integer(limit));
	admin_call(ex, "kv", ns.id, "list", args, false, false, admin_kv_listed);
}

/* bulkPut and bulkDelete: the body (a JSON array) goes to the broker as it came. */
static void
admin_kv_bulk(struct admin_exchange *ex, const char *method)
{
	struct meta_resource ns;
	json_t *body;

	if (!admin_kv_find(ex, &ns) || (body = admin_body_any_json(ex)) == NULL)
		return;
	if (!json_is_array(body)) {
		json_decref(body);
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "request body must be a JSON array");
		return;
	}
	json_decref(body);
	admin_call(ex, "kv", ns.id, method, json_object(), true, false, admin_kv_reply_doc);
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
