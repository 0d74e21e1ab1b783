/*
 * admin_d1: the D1 endpoints of the admin API in the supervisor: databases
 * (in meta's registry, created and dropped in the broker too) and SQL
 * queries, which is how operators apply schema migrations from a script.
 * Shapes follow Cloudflare's /accounts/{id}/d1/database API.
 */
#include "supervisor/admin_internal.h"

#include "broker/store.h"

/*
 * The registry's facts about a database; with `sized`, its size from the
 * broker's `info` too (0 for what info lacks; info may be NULL).
 */
static json_t *
admin_d1_describe(const struct meta_resource *r, bool sized, json_t *info)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "uuid", r->id, "name", r->name, "created_at",
	    admin_json_time(r->created_at), "version", "production");
	json_t *tables = json_object_get(info, "num_tables"),
	       *size = json_object_get(info, "file_size");

	if (o != NULL && sized) {
		json_object_set_new(o, "num_tables",
		    json_integer(json_is_integer(tables) ? json_integer_value(tables) : 0));
		json_object_set_new(o, "file_size",
		    json_integer(json_is_integer(size) ? json_integer_value(size) : 0));
	}
	return o;
}

/* Lists leave the size out; a database just created is empty. */
static json_t *
admin_d1_json(const struct meta_resource *r, bool created)
{
	return admin_d1_describe(r, created, NULL);
}

static bool
admin_d1_name_is_valid(const char *name, size_t len)
{
	(void)len;
	return meta_name_is_valid(name);
}

static const struct admin_kind admin_d1 = {
	.kind = META_D1,
	.backend = "d1",
	.what = "database",
	.noun = "D1 database",
	.not_found = ADMIN_E_D1_NOT_FOUND,
	.json = admin_d1_json,
	.name_member = "name",
	.name_is_valid = admin_d1_name_is_valid,
	.bad_name_code = ADMIN_E_INVALID_NAME,
	.bad_name =
	    "'name' must be 1 to " ADMIN_STR(META_NAME_MAX) " of A-Z, a-z, 0-9, '_' and '-'",
};

/* --- databases ------------------------------------------------------------------ */

void
admin_d1_create(struct admin_exchange *ex)
{
	admin_resource_create(ex, &admin_d1);
}

void
admin_d1_list(struct admin_exchange *ex)
{
	json_t *list;

	if ((list = admin_resource_list(ex, &admin_d1)) != NULL)
		admin_reply_page(ex, list);
}

static void
admin_d1_got_info(struct admin_exchange *ex, const struct admin_call_result *r)
{
	struct meta_resource db;

	if (!admin_call_ok(ex, r))
		return;
	if (meta_resource_get(ex->admin->meta, META_D1, ex->params[0], ex->params[1], &db) != 1) {
		/* Deleted while the broker answered. */
		admin_reply_error(ex, 404, ADMIN_E_D1_NOT_FOUND, "database not found");
		return;
	}
	admin_reply(ex, 200, admin_d1_describe(&db, true, r->doc));
}

void
admin_d1_get(struct admin_exchange *ex)
{
	struct meta_resource db;

	if (admin_resource_find(ex, &admin_d1, &db))
		admin_call(
		    ex, &admin_d1, db.id, "info", json_object(), false, false, admin_d1_got_info);
}

void
admin_d1_delete(struct admin_exchange *ex)
{
	admin_resource_drop(ex, &admin_d1);
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

	if (!admin_call_ok(ex, r))
		return;
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

	if (!admin_resource_find(ex, &admin_d1, &db) || (body = admin_body_json(ex, false)) == NULL)
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
	admin_call(ex, &admin_d1, db.id, "queryAll", args, false, false, cont);
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
