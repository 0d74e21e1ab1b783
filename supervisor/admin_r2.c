/*
 * admin_r2: the R2 endpoints of the admin API in the supervisor: buckets (in
 * meta's registry, created and dropped in the broker too) and, for
 * operators, their objects (storage calls to the broker; a download is held
 * in memory up to the admin body limit).  Shapes follow Cloudflare's
 * /accounts/{id}/r2/buckets API.
 */
#include "supervisor/admin_internal.h"

#include <stdio.h>
#include <string.h>

#include "broker/store.h"
#include "common/log.h"
#include "supervisor/http.h"

#define R2_KEY_MAX 1024
#define R2_CURSOR_MAX 1024
#define R2_CONTENT_TYPE_MAX 256

static json_t *
admin_r2_bucket_json(const struct meta_resource *r)
{
	return json_pack("{s:s, s:o, s:s, s:s}", "name", r->name, "creation_date",
	    admin_json_time(r->created_at), "location", "auto", "storage_class", "Standard");
}

/* A store object (broker/store.h) as the API shows it; NULL for a non-object. */
static json_t *
admin_r2_object_json(json_t *obj)
{
	json_t *uploaded = json_object_get(obj, "uploaded");
	json_t *hm = json_object_get(obj, "httpMetadata"),
	       *cm = json_object_get(obj, "customMetadata");
	json_t *sc = json_object_get(obj, "storageClass");

	if (!json_is_object(obj))
		return NULL;
	return json_pack("{s:O*, s:O*, s:O*, s:o, s:O*, s:O*, s:s}", "key",
	    json_object_get(obj, "key"), "etag", json_object_get(obj, "etag"), "size",
	    json_object_get(obj, "size"), "last_modified",
	    admin_json_time(json_is_integer(uploaded) ? json_integer_value(uploaded) / 1000 : 0),
	    "http_metadata", json_is_object(hm) ? hm : NULL, "custom_metadata",
	    json_is_object(cm) ? cm : NULL, "storage_class",
	    json_is_string(sc) ? json_string_value(sc) : "Standard");
}

static bool
admin_r2_find(struct admin_exchange *ex, struct meta_resource *b)
{
	return admin_tenant_check(ex) &&
	    admin_resource_find(ex, META_R2, ADMIN_E_R2_BUCKET_NOT_FOUND, "bucket", b);
}

/* --- buckets -------------------------------------------------------------------- */

static void
admin_r2_created(struct admin_exchange *ex, const struct admin_call_result *r)
{
	struct meta_resource b;

	if (r->status != STORE_OK) {
		(void)meta_resource_delete(ex->admin->meta, META_R2, ex->params[0], ex->params[1]);
		admin_call_fail(ex, r, META_R2);
		return;
	}
	if (meta_resource_get(ex->admin->meta, META_R2, ex->params[0], ex->params[1], &b) != 1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' created R2 bucket '%s'", b.tenant, b.name);
	admin_reply(ex, 200, admin_r2_bucket_json(&b));
}

void
admin_r2_bucket_create(struct admin_exchange *ex)
{
	struct meta_resource b;
	const char *name;
	json_t *body;
	int rc;

	if (!admin_tenant_check(ex) || (body = admin_body_json(ex, false)) == NULL)
		return;
	name = json_string_value(json_object_get(body, "name"));
	if (name == NULL || !store_resource_is_valid(STORE_R2, name)) {
		json_decref(body);
		admin_reply_error(ex, 400, ADMIN_E_INVALID_NAME,
		    "'name' must be 3 to 63 of a-z, 0-9 and '-', not starting or ending with '-'");
		return;
	}
	rc = meta_resource_create(ex->admin->meta, META_R2, ex->params[0], name, &b);
	json_decref(body);
	if (rc != 1) {
		admin_resource_create_failed(ex, META_R2, rc, "bucket", b.name);
		return;
	}
	snprintf(ex->params[1], sizeof(ex->params[1]), "%s", b.id);
	admin_call(ex, "r2", b.id, "create", json_object(), false, false, admin_r2_created);
}

static int
admin_r2_list_cb(const struct meta_resource *r, void *arg)
{
	return json_array_append_new(arg, admin_r2_bucket_json(r)) == -1 ? -1 : 0;
}

void
admin_r2_buckets_list(struct admin_exchange *ex)
{
	json_t *list;

	if (!admin_tenant_check(ex))
		return;
	if ((list = json_array()) == NULL ||
	    meta_foreach_resource(
		ex->admin->meta, META_R2, ex->params[0], admin_r2_list_cb, list) != 0) {
		json_decref(list);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply(ex, 200, json_pack("{s:o}", "buckets", list));
}

void
admin_r2_bucket_get(struct admin_exchange *ex)
{
	struct meta_resource b;

	if (admin_r2_find(ex, &b))
		admin_reply(ex, 200, admin_r2_bucket_json(&b));
}

static void
admin_r2_dropped(struct admin_exchange *ex, const struct admin_call_result *r)
{
	/* STORE_E_CONFLICT (not empty) is a 409 with R2's code 10008. */
	if (r->status != STORE_OK && r->status != STORE_E_NOT_FOUND) {
		admin_call_fail(ex, r, META_R2);
		return;
	}
	if (meta_resource_delete(ex->admin->meta, META_R2, ex->params[0], ex->params[1]) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' deleted R2 bucket '%s'", ex->params[0], ex->params[1]);
	admin_reply(ex, 200, NULL);
}

void
admin_r2_bucket_delete(struct admin_exchange *ex)
{
	struct meta_resource b;

	if (admin_r2_find(ex, &b))
		admin_call(ex, "r2", b.id, "drop", json_object(), false, false, admin_r2_dropped);
}

/* --- objects -------------------------------------------------------------------- */

static void
admin_r2_put_done(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (r->status != STORE_OK)
		admin_call_fail(ex, r, META_R2);
	else
		admin_reply(ex, 200, admin_r2_object_json(json_object_get(r->doc, "object")));
}

void
admin_r2_object_put(struct admin_exchange *ex)
{
	const char *ct = http_request_header(ex->req, "Content-Type");
	struct meta_resource b;
	json_t *key, *args;

	if (!admin_r2_find(ex, &b) || (key = admin_key_json(ex, R2_KEY_MAX)) == NULL)
		return;
	if (ct != NULL && strlen(ct) <= R2_CONTENT_TYPE_MAX && admin_utf8_is_valid(ct, strlen(ct)))
		args = json_pack("{s:o, s:{s:s}}", "key", key, "httpMetadata", "contentType", ct);
	else
		args = json_pack("{s:o}", "key", key);
	if (args == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_call(ex, "r2", b.id, "put", args, true, false, admin_r2_put_done);
}

/* A header from an object's metadata, unless it could not travel in HTTP. */
static void
admin_r2_header(struct http_header *h, size_t *n, const char *name, json_t *value)
{
	const char *v = json_string_value(value);

	if (v == NULL || v[0] == '\0' || strlen(v) > 1024)
		return;
	for (const char *p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return;
	h[(*n)++] = (struct http_header) { name, v };
}

static void
admin_r2_got(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *obj = json_object_get(r->doc, "object"), *hm, *type, *uploaded;
	struct http_header h[6];
	char date[40];
	size_t n = 0;

	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_R2);
		return;
	}
	if (!json_is_object(obj) || !json_is_true(json_object_get(r->doc, "body"))) {
		admin_reply_error(ex, 404, ADMIN_E_R2_OBJECT_NOT_FOUND, "object not found");
		return;
	}
	hm = json_object_get(obj, "httpMetadata");
	type = json_object_get(hm, "contentType");
	uploaded = json_object_get(obj, "uploaded");
	admin_r2_header(h, &n, "ETag", json_object_get(obj, "httpEtag"));
	admin_http_date(
	    json_is_integer(uploaded) ? json_integer_value(uploaded) : 0, date, sizeof(date));
	h[n++] = (struct http_header) { "Last-Modified", date };
	admin_r2_header(h, &n, "Cache-Control", json_object_get(hm, "cacheControl"));
	admin_r2_header(h, &n, "Content-Disposition", json_object_get(hm, "contentDisposition"));
	admin_r2_header(h, &n, "Content-Language", json_object_get(hm, "contentLanguage"));
	admin_reply_raw(ex, 200,
	    json_is_string(type) && strpbrk(json_string_value(type), "\r\n") == NULL
		? json_string_value(type)
		: "application/octet-stream",
	    h, n, r->body, r->body_len);
}

void
admin_r2_object_get(struct admin_exchange *ex)
{
	struct meta_resource b;
	json_t *key;

	if (admin_r2_find(ex, &b) && (key = admin_key_json(ex, R2_KEY_MAX)) != NULL)
		admin_call(ex, "r2", b.id, "get", json_pack("{s:o}", "key", key), false, false,
		    admin_r2_got);
}

static void
admin_r2_deleted(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (r->status != STORE_OK)
		admin_call_fail(ex, r, META_R2);
	else
		admin_reply(ex, 200, NULL);
}

void
admin_r2_object_delete(struct admin_exchange *ex)
{
	struct meta_resource b;
	json_t *key;

	if (admin_r2_find(ex, &b) && (key = admin_key_json(ex, R2_KEY_MAX)) != NULL)
		admin_call(ex, "r2", b.id, "delete", json_pack("{s:[o]}", "keys", key), false,
		    false, admin_r2_deleted);
}

static void
admin_r2_listed(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *objects = json_object_get(r->doc, "objects"), *out, *o;
	json_t *cursor = json_object_get(r->doc, "cursor");
	json_t *prefixes = json_object_get(r->doc, "delimitedPrefixes");
	json_int_t per_page = 1000;
	size_t i;

	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_R2);
		return;
	}
	if ((out = json_array()) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	json_array_foreach (objects, i, o)
		json_array_append_new(out, admin_r2_object_json(o));
	(void)admin_query_int(ex, "per_page", 1, 1000, &per_page); /* checked before the call */
	admin_reply_info(ex, 200, out,
	    json_pack("{s:s, s:b, s:O*, s:I}", "cursor",
		json_is_string(cursor) ? json_string_value(cursor) : "", "is_truncated",
		json_is_true(json_object_get(r->doc, "truncated")), "delimited",
		json_is_array(prefixes) ? prefixes : NULL, "per_page", per_page));
}

/* Query parameter `name` into args[member] as a string; false when ex was answered. */
static bool
admin_r2_query_text(struct admin_exchange *ex, const char *name, const char *member, json_t *args)
{
	char text[R2_CURSOR_MAX + 1];
	size_t len;
	int rc = admin_query(ex, name, text, sizeof(text), &len);

	if (rc == -1 || (rc == 1 && !admin_utf8_is_valid(text, len))) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "'%s' must be UTF-8 of at most %d bytes, percent-encoded", name, R2_CURSOR_MAX);
		return false;
	}
	if (rc == 1 && json_object_set_new(args, member, json_stringn(text, len)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return false;
	}
	return true;
}

void
admin_r2_objects_list(struct admin_exchange *ex)
{
	struct meta_resource b;
	json_int_t per_page;
	json_t *args;
	int rc;

	if (!admin_r2_find(ex, &b))
		return;
	args = json_pack("{s:[s, s]}", "include", "httpMetadata", "customMetadata");
	if (args == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (!admin_r2_query_text(ex, "prefix", "prefix", args) ||
	    !admin_r2_query_text(ex, "delimiter", "delimiter", args) ||
	    !admin_r2_query_text(ex, "cursor", "cursor", args) ||
	    (rc = admin_query_int(ex, "per_page", 1, 1000, &per_page)) == -1) {
		json_decref(args);
		return;
	}
	if (rc == 1)
		json_object_set_new(args, "limit", json_integer(per_page));
	admin_call(ex, "r2", b.id, "list", args, false, false, admin_r2_listed);
}
