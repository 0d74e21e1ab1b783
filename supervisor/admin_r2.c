/*
 * admin_r2: the R2 endpoints of the admin API in the supervisor: buckets (in
 * meta's registry, created and dropped in the broker too) and, for
 * operators, their objects (storage calls to the broker; a download is held
 * in memory up to the admin body limit).  Shapes follow Cloudflare's
 * /accounts/{id}/r2/buckets API.
 */
#include "supervisor/admin_internal.h"

#include <string.h>

#include "broker/store.h"
#include "supervisor/http.h"

#define R2_KEY_MAX 1024
#define R2_CURSOR_MAX 1024
#define R2_CONTENT_TYPE_MAX 256

static json_t *
admin_r2_bucket_json(const struct meta_resource *r, bool created)
{
	(void)created;
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
admin_r2_name_is_valid(const char *name, size_t len)
{
	(void)len;
	return store_resource_is_valid(STORE_R2, name);
}

/* A bucket's id is its name; "bucket" is the noun Cloudflare's messages use. */
static const struct admin_kind admin_r2 = {
	.kind = META_R2,
	.backend = "r2",
	.what = "bucket",
	.noun = "bucket",
	.not_found = ADMIN_E_R2_BUCKET_NOT_FOUND,
	.json = admin_r2_bucket_json,
	.name_member = "name",
	.name_is_valid = admin_r2_name_is_valid,
	.bad_name_code = ADMIN_E_INVALID_NAME,
	.bad_name = "'name' must be 3 to 63 of a-z, 0-9 and '-', not starting or ending with '-'",
};

/* --- buckets -------------------------------------------------------------------- */

void
admin_r2_bucket_create(struct admin_exchange *ex)
{
	admin_resource_create(ex, &admin_r2);
}

void
admin_r2_buckets_list(struct admin_exchange *ex)
{
	json_t *list;

	if ((list = admin_resource_list(ex, &admin_r2)) != NULL)
		admin_reply(ex, 200, json_pack("{s:o}", "buckets", list));
}

void
admin_r2_bucket_get(struct admin_exchange *ex)
{
	struct meta_resource b;

	if (admin_resource_find(ex, &admin_r2, &b))
		admin_reply(ex, 200, admin_r2_bucket_json(&b, false));
}

void
admin_r2_bucket_delete(struct admin_exchange *ex)
{
	admin_resource_drop(ex, &admin_r2);
}

/* --- objects -------------------------------------------------------------------- */

static void
admin_r2_put_done(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (admin_call_ok(ex, r))
		admin_reply(ex, 200, admin_r2_object_json(json_object_get(r->doc, "object")));
}

void
admin_r2_object_put(struct admin_exchange *ex)
{
	const char *ct = http_request_header(ex->req, "Content-Type");
	struct meta_resource b;
	json_t *key, *args;

	if (!admin_resource_find(ex, &admin_r2, &b) ||
	    (key = admin_key_json(ex, R2_KEY_MAX)) == NULL)
		return;
	if (ct != NULL && strlen(ct) <= R2_CONTENT_TYPE_MAX && utf8_is_valid(ct, strlen(ct)))
		args = json_pack("{s:o, s:{s:s}}", "key", key, "httpMetadata", "contentType", ct);
	else
		args = json_pack("{s:o}", "key", key);
	if (args == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_call(ex, &admin_r2, b.id, "put", args, true, false, admin_r2_put_done);
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

	if (!admin_call_ok(ex, r))
		return;
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

	if (admin_resource_find(ex, &admin_r2, &b) &&
	    (key = admin_key_json(ex, R2_KEY_MAX)) != NULL)
		admin_call(ex, &admin_r2, b.id, "get", json_pack("{s:o}", "key", key), false, false,
		    admin_r2_got);
}

void
admin_r2_object_delete(struct admin_exchange *ex)
{
	struct meta_resource b;
	json_t *key;

	if (admin_resource_find(ex, &admin_r2, &b) &&
	    (key = admin_key_json(ex, R2_KEY_MAX)) != NULL)
		admin_call(ex, &admin_r2, b.id, "delete", json_pack("{s:[o]}", "keys", key), false,
		    false, admin_call_reply_null);
}

static void
admin_r2_listed(struct admin_exchange *ex, const struct admin_call_result *r)
{
	json_t *objects = json_object_get(r->doc, "objects"), *out, *o;
	json_t *cursor = json_object_get(r->doc, "cursor");
	json_t *prefixes = json_object_get(r->doc, "delimitedPrefixes");
	json_int_t per_page = 1000;
	size_t i;

	if (!admin_call_ok(ex, r))
		return;
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

void
admin_r2_objects_list(struct admin_exchange *ex)
{
	struct meta_resource b;
	json_int_t per_page;
	json_t *args;
	int rc;

	if (!admin_resource_find(ex, &admin_r2, &b))
		return;
	args = json_pack("{s:[s, s]}", "include", "httpMetadata", "customMetadata");
	if (args == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (!admin_query_text(ex, "prefix", R2_CURSOR_MAX, args) ||
	    !admin_query_text(ex, "delimiter", R2_CURSOR_MAX, args) ||
	    !admin_query_text(ex, "cursor", R2_CURSOR_MAX, args) ||
	    (rc = admin_query_int(ex, "per_page", 1, 1000, &per_page)) == -1) {
		json_decref(args);
		return;
	}
	if (rc == 1)
		json_object_set_new(args, "limit", json_integer(per_page));
	admin_call(ex, &admin_r2, b.id, "list", args, false, false, admin_r2_listed);
}
