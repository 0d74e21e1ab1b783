/*
 * admin_d1: the D1 endpoints of the admin API in the supervisor: databases
 * (in meta's registry, created and dropped in the broker too) and SQL
 * queries, which is how operators apply schema migrations from a script.
 * Shapes follow Cloudflare's /accounts/{id}/d1/database API.
 */
#include "supervisor/admin_internal.h"

#include <stdio.h>
#include <string.h>

#include "broker/store.h"
#include "common/log.h"

/* The registry's facts about a database; `info` adds the broker's (may be NULL). */
static json_t *
admin_d1_json(const struct meta_resource *r, json_t *info)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "uuid", r->id, "name", r->name, "created_at",
	    admin_json_time(r->created_at), "version", "production");
	json_t *tables = json_object_get(info, "num_tables"),
	       *size = json_object_get(info, "file_size");

	if (o != NULL && info != NULL) {
		json_object_set_new(o, "num_tables",
		    json_integer(json_is_integer(tables) ? json_integer_value(tables) : 0));
		json_object_set_new(o, "file_size",
		    json_integer(json_is_integer(size) ? json_integer_value(size) : 0));
	}
	return o;
}

static bool
admin_d1_find(struct admin_exchange *ex, struct meta_resource *db)
{
	return admin_tenant_check(ex) &&
	    admin_resource_find(ex, META_D1, ADMIN_E_D1_NOT_FOUND, "database", db);
}

/* --- databases ------------------------------------------------------------------ */

static void
admin_d1_created(struct admin_exchange *ex, const struct admin_call_result *r)
{
	struct meta_resource db;
	json_t *empty;

	if (r->status != STORE_OK) {
		(void)meta_resource_delete(ex->admin->meta, META_D1, ex->params[0], ex->params[1]);
		admin_call_fail(ex, r, META_D1);
		return;
	}
	if (meta_resource_get(ex->admin->meta, META_D1, ex->params[0], ex->params[1], &db) != 1 ||
	    (empty = json_pack("{s:i, s:i}", "num_tables", 0, "file_size", 0)) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' created D1 database %s", db.tenant, db.id);
	admin_reply(ex, 200, admin_d1_json(&db, empty));
	json_decref(empty);
}

void
admin_d1_create(struct admin_exchange *ex)
{
	struct meta_resource db;
	const char *name;
	json_t *body;
	int rc;

	if (!admin_tenant_check(ex) || (body = admin_body_json(ex, false)) == NULL)
		return;
	name = json_string_value(json_object_get(body, "name"));
	if (name == NULL || !meta_name_is_valid(name)) {
		json_decref(body);
		admin_reply_error(ex, 400, ADMIN_E_INVALID_NAME,
		    "'name' must be 1 to %d of A-Z, a-z, 0-9, '_' and '-'", META_NAME_MAX);
		return;
	}
	rc = meta_resource_create(ex->admin->meta, META_D1, ex->params[0], name, &db);
	if (rc != 1) {
		admin_resource_create_failed(ex, META_D1, rc, "D1 database", name);
		json_decref(body);
		return;
	}
	json_decref(body);
	snprintf(ex->params[1], sizeof(ex->params[1]), "%s", db.id);
	admin_call(ex, "d1", db.id, "create", json_object(), false, false, admin_d1_created);
}

static int
admin_d1_list_cb(const struct meta_resource *r, void *arg)
{
	return json_array_append_new(arg, admin_d1_json(r, NULL)) == -1 ? -1 : 0;
}

void
admin_d1_list(struct admin_exchange *ex)
{
	json_t *list;

	if (!admin_tenant_check(ex))
		return;
	if ((list = json_array()) == NULL ||
	    meta_foreach_resource(
		ex->admin->meta, META_D1, ex->params[0], admin_d1_list_cb, list) != 0) {
		json_decref(list);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply_page(ex, list);
}

static void
admin_d1_got_info(struct admin_exchange *ex, const struct admin_call_result *r)
{
	struct meta_resource db;

	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_D1);
		return;
	}
	if (meta_resource_get(ex->admin->meta, META_D1, ex->params[0], ex->params[1], &db) != 1) {
		/* Deleted while the broker answered. */
		admin_reply_error(ex, 404, ADMIN_E_D1_NOT_FOUND, "database not found");
		return;
	}
	admin_reply(ex, 200, admin_d1_json(&db, r->doc != NULL ? r->doc : json_null()));
}

void
admin_d1_get(struct admin_exchange *ex)
{
	struct meta_resource db;

	if (admin_d1_find(ex, &db))
		admin_call(ex, "d1", db.id, "info", json_object(), false, false, admin_d1_got_info);
}

static void
admin_d1_dropped(struct admin_exchange *ex, const struct admin_call_result *r)
{
	if (r->status != STORE_OK && r->status != STORE_E_NOT_FOUND) {
		admin_call_fail(ex, r, META_D1);
		return;
	}
	if (meta_resource_delete(ex->admin->meta, META_D1, ex->params[0], ex->params[1]) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	log_info("admin: tenant '%s' deleted D1 database %s", ex->params[0], ex->params[1]);
	admin_reply(ex, 200, NULL);
}

void
admin_d1_delete(struct admin_exchange *ex)
{
	struct meta_resource db;

	if (admin_d1_find(ex, &db))
		admin_call(ex, "d1", db.id, "drop", json_object(), false, false, admin_d1_dropped);
}

/* --- queries -------------------------------------------------------------------- */

/* Rows as objects, column name -> value, as /query gives them. */
static json_t *
admin_d1_rows_as_objects(json_t *columns, json_t *rows)
{
	json_t *out = json_array(), *row;
	size_t i;

	json_array_foreach (rows, i, row) {
		json_t *o = json_object();

		for (size_t c = 0; o != NULL && c < json_array_size(columns); c++) {
			const char *name = json_string_value(json_array_get(columns, c));
			json_t *v = json_array_get(row, c);

			if (name != NULL)
				json_object_set(o, name, v != NULL ? v : json_null());
		}
		if (o == NULL || json_array_append_new(out, o) == -1) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* One statement result of queryAll in the API's shape; NULL on ENOMEM. */
static json_t *
admin_d1_statement(json_t *st, bool raw)
{
	json_t *columns = json_object_get(st, "columns"), *rows = json_object_get(st, "rows");
	json_t *meta = json_object_get(st, "meta"), *results;

	if (!json_is_array(columns))
		columns = NULL;
	if (!json_is_array(rows))
		rows = NULL;
	if (raw)
		results = json_pack("{s:O*, s:O*}", "columns", columns, "rows", rows);
	else
		results = admin_d1_rows_as_objects(columns, rows);
	return json_pack("{s:o*, s:b, s:O*}", "results", results, "success", true, "meta",
	    json_is_object(meta) ? meta : NULL);
}

static void
admin_d1_answered(struct admin_exchange *ex, const struct admin_call_result *r, bool raw)
{
	json_t *in = json_object_get(r->doc, "results"), *out, *st;
	size_t i;

	if (r->status != STORE_OK) {
		admin_call_fail(ex, r, META_D1);
		return;
	}
	if ((out = json_array()) == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	json_array_foreach (in, i, st) {
		if (json_array_append_new(out, admin_d1_statement(st, raw)) == -1) {
			json_decref(out);
			admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
			return;
		}
	}
	admin_reply(ex, 200, out);
}

static void
admin_d1_answered_objects(struct admin_exchange *ex, const struct admin_call_result *r)
{
	admin_d1_answered(ex, r, false);
}

static void
admin_d1_answered_raw(struct admin_exchange *ex, const struct admin_call_result *r)
{
	admin_d1_answered(ex, r, true);
}

/* {"sql", "params"?}: every statement of sql in turn, in one transaction. */
static void
admin_d1_run(struct admin_exchange *ex, admin_call_cont cont)
{
	struct meta_resource db;
	json_t *body, *sql, *params, *args;

	if (!admin_d1_find(ex, &db) || (body = admin_body_json(ex, false)) == NULL)
		return;
	sql = json_object_get(body, "sql");
	params = json_object_get(body, "params");
	if (!json_is_string(sql) || json_string_length(sql) == 0 ||
	    (params != NULL && !json_is_array(params))) {
		json_decref(body);
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "the body needs a non-empty string 'sql' and an optional array 'params'");
		return;
	}
	args = json_pack("{s:O, s:O*}", "sql", sql, "params", params);
	json_decref(body);
	if (args == NULL) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_call(ex, "d1", db.id, "queryAll", args, false, false, cont);
}

void
admin_d1_query(struct admin_exchange *ex)
{
	admin_d1_run(ex, admin_d1_answered_objects);
}

void
admin_d1_raw(struct admin_exchange *ex)
{
	admin_d1_run(ex, admin_d1_answered_raw);
}
