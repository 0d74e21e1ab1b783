/*
 * admin_upload: PUT .../workers/scripts/{name} in the supervisor: reads a
 * multipart (metadata + script part) or raw JavaScript upload, checks it
 * (storage bindings must name resources of the uploading tenant), has the
 * core validate it in a throwaway sandbox, then stores a version.
 */
#include "supervisor/admin_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ipc.h"
#include "common/log.h"
#include "supervisor/http.h"
#include "supervisor/multipart.h"

#define ADMIN_BINDINGS_MAX 256
#define ADMIN_BINDING_NAME_MAX 64

/*
 * A pending upload.  It owns the body (the script is a view into it) so
 * that it outlives the exchange: if the client goes away during validation,
 * the exchange detaches (ex = NULL) and done() only frees.
 */
struct admin_upload {
	struct admin *admin;
	struct admin_exchange *ex;
	char tenant[META_NAME_MAX + 1];
	char worker[META_NAME_MAX + 1];
	int format;
	struct buf body;
	const char *script;
	size_t script_len;
	char *bindings;  /* JSON array text */
	char compat[16]; /* "" or YYYY-MM-DD */
};

/*
 * The binding types accepted for now, and the field each one carries.
 * Storage bindings (kind != 0) name a resource of the registry; `alias` is
 * another name Cloudflare accepts for the field, normalised to `field`.
 */
static const struct admin_binding_type {
	const char *type;
	const char *field;
	bool string_only;
	enum meta_kind kind;
	const char *alias;
	const char *what; /* for messages */
} admin_binding_types[] = {
	{ "plain_text", "text", true, 0, NULL, NULL },
	{ "secret_text", "text", true, 0, NULL, NULL },
	{ "json", "json", false, 0, NULL, NULL },
	{ "kv_namespace", "namespace_id", true, META_KV, NULL, "KV namespace" },
	{ "d1", "id", true, META_D1, "database_id", "D1 database" },
	{ "r2_bucket", "bucket_name", true, META_R2, NULL, "R2 bucket" },
};

static void
admin_upload_free(struct admin_upload *up)
{
	if (up == NULL)
		return;
	buf_release(&up->body);
	free(up->bindings);
	free(up);
}

void
admin_upload_detach(struct admin_upload *up)
{
	up->ex = NULL;
}

/* --- metadata -------------------------------------------------------------- */

static bool
admin_binding_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ADMIN_BINDING_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '$'))
			return false;
	}
	return true;
}

static const struct admin_binding_type *
admin_binding_type(const char *type)
{
	for (size_t i = 0; i < sizeof(admin_binding_types) / sizeof(admin_binding_types[0]); i++)
		if (strcmp(admin_binding_types[i].type, type) == 0)
			return &admin_binding_types[i];
	return NULL;
}

/* The binding's value: its field, or the field's alias; NULL when neither or both differ. */
static json_t *
admin_binding_value(const struct admin_binding_type *t, json_t *b)
{
	json_t *value = json_object_get(b, t->field);
	json_t *alias = t->alias != NULL ? json_object_get(b, t->alias) : NULL;

	if (value == NULL)
		return alias;
	if (alias != NULL && !json_equal(value, alias))
		return NULL;
	return value;
}

/* A storage binding must name a resource of this tenant; false when ex was answered. */
static bool
admin_binding_resource(
    struct admin_exchange *ex, const struct admin_binding_type *t, const char *name, json_t *value)
{
	struct meta_resource r;
	const char *id = json_string_value(value);
	int rc;

	if (t->kind == 0)
		return true;
	rc = meta_resource_get(ex->admin->meta, t->kind, ex->params[0], id, &r);
	if (rc == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return false;
	}
	if (rc == 0 || strlen(id) != json_string_length(value)) {
		/* The id is the caller's text: admin_reply_error cleans it. */
		admin_reply_error(ex, 400, ADMIN_E_BAD_BINDING,
		    "binding '%s': %s '%.64s' not found", name, t->what, id);
		return false;
	}
	return true;
}

/* One binding, checked and copied into `out`; false when ex was answered. */
static bool
admin_binding(struct admin_exchange *ex, json_t *b, json_t *seen, json_t *out)
{
	const struct admin_binding_type *t;
	const char *type, *name;
	json_t *value;

	type = json_string_value(json_object_get(b, "type"));
	name = json_string_value(json_object_get(b, "name"));
	if (!json_is_object(b) || type == NULL || name == NULL) {
		admin_reply_error(
		    ex, 400, ADMIN_E_BAD_BINDING, "each binding needs a string 'type' and 'name'");
		return false;
	}
	if ((t = admin_binding_type(type)) == NULL) {
		admin_reply_error(
		    ex, 400, ADMIN_E_BAD_BINDING, "binding type '%.64s' is not supported", type);
		return false;
	}
	if (!admin_binding_name_is_valid(name)) {
		admin_reply_error(ex, 400, ADMIN_E_BAD_BINDING, "invalid binding name");
		return false;
	}
	if (json_object_get(seen, name) != NULL) {
		admin_reply_error(
		    ex, 400, ADMIN_E_BAD_BINDING, "duplicate binding name '%s'", name);
		return false;
	}
	value = admin_binding_value(t, b);
	if (value == NULL || (t->string_only && !json_is_string(value))) {
		admin_reply_error(ex, 400, ADMIN_E_BAD_BINDING, "binding '%s' needs %s '%s'", name,
		    t->string_only ? "a string" : "a value", t->field);
		return false;
	}
	if (!admin_binding_resource(ex, t, name, value))
		return false;
	if (json_object_set_new(seen, name, json_true()) == -1 ||
	    json_array_append_new(out,
		json_pack("{s:s, s:s, s:O}", "type", t->type, "name", name, t->field, value)) ==
		-1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return false;
	}
	return true;
}

/* Checks the bindings array and stores its normalised text in up. */
static bool
admin_bindings(struct admin_exchange *ex, json_t *in, struct admin_upload *up)
{
	json_t *seen = json_object(), *out = json_array(), *b;
	bool ok = false;
	size_t i;

	if (seen == NULL || out == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		goto done;
	}
	if (in != NULL && !json_is_array(in)) {
		admin_reply_error(ex, 400, ADMIN_E_BAD_BINDING, "'bindings' must be an array");
		goto done;
	}
	if (json_array_size(in) > ADMIN_BINDINGS_MAX) {
		admin_reply_error(
		    ex, 400, ADMIN_E_BAD_BINDING, "more than %d bindings", ADMIN_BINDINGS_MAX);
		goto done;
	}
	json_array_foreach (in, i, b) {
		if (!admin_binding(ex, b, seen, out))
			goto done;
	}
	if ((up->bindings = json_dumps(out, JSON_COMPACT)) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		goto done;
	}
	ok = true;
done:
	json_decref(seen);
	json_decref(out);
	return ok;
}

static bool
admin_date_is_valid(const char *s)
{
	int month, day;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	month = (s[5] - '0') * 10 + (s[6] - '0');
	day = (s[8] - '0') * 10 + (s[9] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Reads metadata fields other than bindings; *part names the script part. */
static bool
admin_metadata(struct admin_exchange *ex, json_t *md, struct admin_upload *up, const char **part)
{
	json_t *main_module = json_object_get(md, "main_module");
	json_t *body_part = json_object_get(md, "body_part");
	json_t *date = json_object_get(md, "compatibility_date");

	if ((main_module != NULL) == (body_part != NULL)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "metadata needs exactly one of 'main_module' and 'body_part'");
		return false;
	}
	*part = json_string_value(main_module != NULL ? main_module : body_part);
	if (*part == NULL || (*part)[0] == '\0') {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "'%s' must be a non-empty string",
		    main_module != NULL ? "main_module" : "body_part");
		return false;
	}
	up->format = main_module != NULL ? IPC_FORMAT_MODULE : IPC_FORMAT_SERVICE_WORKER;
	if (date != NULL) {
		if (!json_is_string(date) || !admin_date_is_valid(json_string_value(date))) {
			admin_reply_error(
			    ex, 400, ADMIN_E_MALFORMED, "'compatibility_date' must be YYYY-MM-DD");
			return false;
		}
		snprintf(up->compat, sizeof(up->compat), "%s", json_string_value(date));
	}
	return true;
}

/* --- the two upload shapes --------------------------------------------------- */

static bool
admin_upload_multipart(struct admin_exchange *ex, const char *content_type, struct admin_upload *up)
{
	const struct multipart_part *mdp, *sp;
	struct multipart *mp;
	const char *part;
	json_error_t err;
	json_t *md = NULL;
	bool ok = false;

	if ((mp = admin_multipart(ex, content_type, up->body.data, up->body.len)) == NULL)
		return false;
	if ((mdp = multipart_find(mp, "metadata")) == NULL) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "missing the 'metadata' part");
		goto done;
	}
	/* Position only in the message: jansson's text may quote secrets. */
	if ((md = json_loadb(mdp->data, mdp->len, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "metadata is not valid JSON (line %d, column %d)", err.line, err.column);
		goto done;
	}
	if (!json_is_object(md)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "metadata must be a JSON object");
		goto done;
	}
	if (!admin_metadata(ex, md, up, &part) ||
	    !admin_bindings(ex, json_object_get(md, "bindings"), up))
		goto done;
	if ((sp = multipart_find(mp, part)) == NULL) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "no part is named by '%s'",
		    up->format == IPC_FORMAT_MODULE ? "main_module" : "body_part");
		goto done;
	}
	up->script = sp->data;
	up->script_len = sp->len;
	ok = true;
done:
	json_decref(md);
	free(mp);
	return ok;
}

static bool
admin_upload_raw(struct admin_exchange *ex, struct admin_upload *up)
{
	if ((up->bindings = strdup("[]")) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return false;
	}
	up->format = IPC_FORMAT_SERVICE_WORKER;
	up->script = up->body.data != NULL ? (const char *)up->body.data : "";
	up->script_len = up->body.len;
	return true;
}

/* Fills up from the body; false when ex was answered. */
static bool
admin_upload_read(struct admin_exchange *ex, struct admin_upload *up)
{
	const char *ct = http_request_header(ex->req, "Content-Type");
	size_t max = ex->admin->limits.script_max_bytes;

	if (ct != NULL && admin_media_type_is(ct, "multipart/form-data")) {
		if (!admin_upload_multipart(ex, ct, up))
			return false;
	} else if (ct != NULL &&
	    (admin_media_type_is(ct, "application/javascript") ||
		admin_media_type_is(ct, "text/javascript"))) {
		if (!admin_upload_raw(ex, up))
			return false;
	} else {
		admin_reply_error(ex, 415, ADMIN_E_MEDIA_TYPE,
		    "upload must be multipart/form-data "
		    "or application/javascript");
		return false;
	}
	if (up->script_len > max) {
		admin_reply_error(
		    ex, 400, ADMIN_E_SCRIPT_TOO_LARGE, "script exceeds %zu bytes", max);
		return false;
	}
	if (up->script_len > 0 &&
	    (!utf8_is_valid(up->script, up->script_len) ||
		memchr(up->script, '\0', up->script_len) != NULL)) {
		admin_reply_error(
		    ex, 400, ADMIN_E_NOT_UTF8, "script must be valid UTF-8 without NUL bytes");
		return false;
	}
	return true;
}

/* --- validation and storage ---------------------------------------------------- */

static void
admin_upload_store(struct admin_exchange *ex, struct admin_upload *up)
{
	struct admin *a = up->admin;
	struct admin_worker_info info;
	char etag[17], version[24];
	uint64_t id;

	if (meta_version_add(a->meta, up->tenant, up->worker, up->format, up->script,
		up->script_len, up->bindings, up->compat, &id) == -1 ||
	    admin_worker_info(a, up->tenant, up->worker, &info) != 1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' uploaded worker '%s' version %" PRIu64 " (%zu bytes)",
	    up->tenant, up->worker, id, up->script_len);
	if (a->hooks.changed != NULL)
		a->hooks.changed(a->core);
	admin_etag(up->tenant, up->worker, id, etag);
	snprintf(version, sizeof(version), "%" PRIu64, id);
	admin_reply(ex, 200,
	    json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:[s]}", "id", up->worker, "version_id",
		version, "etag", etag, "created_on", admin_json_time(info.oldest_created_at),
		"modified_on", admin_json_time(info.newest_created_at), "compatibility_date",
		up->compat, "handlers", "fetch"));
}

/* The core's verdict; may run inside validate() or much later. */
static void
admin_upload_done(void *ctx, const struct admin_validation *result)
{
	struct admin_upload *up = ctx;
	struct admin_exchange *ex = up->ex;

	if (ex == NULL) {
		log_info("admin: upload of '%s/%s' dropped: the client went away", up->tenant,
		    up->worker);
		admin_upload_free(up);
		return;
	}
	ex->upload = NULL;
	up->ex = NULL;
	if (result == NULL || !result->ok) {
		const char *msg =
		    result != NULL && result->message != NULL && result->message[0] != '\0'
		    ? result->message
		    : "script failed to load";

		log_info("admin: upload of '%s/%s' rejected by validation", up->tenant, up->worker);
		if (result != NULL && result->line > 0 && result->column > 0)
			admin_reply_error(ex, 400, ADMIN_E_SCRIPT_INVALID,
			    "%.400s (line %u, column %u)", msg, result->line, result->column);
		else if (result != NULL && result->line > 0)
			admin_reply_error(
			    ex, 400, ADMIN_E_SCRIPT_INVALID, "%.400s (line %u)", msg, result->line);
		else
			admin_reply_error(ex, 400, ADMIN_E_SCRIPT_INVALID, "%.400s", msg);
	} else {
		admin_upload_store(ex, up);
	}
	admin_upload_free(up);
}

void
admin_script_put(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	struct admin_upload *up;
	struct admin_script s;
	static const struct admin_validation ok = { .ok = true, .message = "" };

	if (!admin_tenant_check(ex))
		return;
	if ((up = calloc(1, sizeof(*up))) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	up->admin = a;
	snprintf(up->tenant, sizeof(up->tenant), "%s", ex->params[0]);
	snprintf(up->worker, sizeof(up->worker), "%s", ex->params[1]);
	/* The body moves to the upload: it must outlive an aborted exchange. */
	up->body = ex->body;
	buf_init(&ex->body);
	if (!admin_upload_read(ex, up)) {
		admin_upload_free(up);
		return;
	}
	up->ex = ex;
	ex->upload = up;
	s = (struct admin_script) {
		.tenant = up->tenant,
		.worker = up->worker,
		.format = up->format,
		.script = up->script != NULL ? up->script : "",
		.script_len = up->script_len,
		.bindings = up->bindings,
	};
	/* Nothing may touch ex or up after this: done() may have freed both. */
	if (a->hooks.validate != NULL)
		a->hooks.validate(a->core, &s, admin_upload_done, up);
	else
		admin_upload_done(up, &ok);
}
