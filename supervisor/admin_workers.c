/*
 * admin_workers: the worker script endpoints of the admin API other than
 * upload (list, delete, versions), and the facts about a worker that the
 * upload reply shares.  Runs in the supervisor.
 */
#include "supervisor/admin_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

void
admin_etag(const char *tenant, const char *worker, uint64_t id, char out[17])
{
	/* FNV-1a over "tenant/worker/id": stable per version, reveals nothing. */
	uint64_t h = 0xcbf29ce484222325ull;
	char key[2 * META_NAME_MAX + 32];
	int n = snprintf(key, sizeof(key), "%s/%s/%" PRIu64, tenant, worker, id);

	for (int i = 0; i < n && (size_t)i < sizeof(key); i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ull;
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

static int
admin_info_cb(const struct meta_version *v, void *arg)
{
	struct admin_worker_info *info = arg;

	/* Newest first: the first row is the newest, the last the oldest. */
	if (info->versions++ == 0) {
		info->newest_id = v->id;
		info->newest_created_at = v->created_at;
	}
	info->oldest_created_at = v->created_at;
	return 0;
}

int
admin_worker_info(
    struct admin *a, const char *tenant, const char *worker, struct admin_worker_info *out)
{
	memset(out, 0, sizeof(*out));
	if (meta_foreach_version(a->meta, tenant, worker, admin_info_cb, out) == -1)
		return -1;
	return out->versions > 0 ? 1 : 0;
}

static json_t *
admin_version_id(uint64_t id)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, id);
	return json_string(text);
}

/* One entry of the script list, from the worker's active version. */
static int
admin_list_cb(const struct meta_version *v, void *arg)
{
	json_t *list = arg;
	char etag[17];

	admin_etag(v->tenant, v->worker, v->id, etag);
	/* created_on is filled in afterwards, from the oldest version. */
	if (json_array_append_new(list,
		json_pack("{s:s, s:o, s:s, s:o}", "id", v->worker, "modified_on",
		    admin_json_time(v->created_at), "etag", etag, "version_id",
		    admin_version_id(v->id))) == -1)
		return -1;
	return 0;
}

static int
admin_list_created_on(struct admin *a, const char *tenant, json_t *list)
{
	struct admin_worker_info info;
	size_t i;
	json_t *item;

	json_array_foreach (list, i, item) {
		const char *worker = json_string_value(json_object_get(item, "id"));

		if (worker == NULL || admin_worker_info(a, tenant, worker, &info) != 1 ||
		    json_object_set_new(
			item, "created_on", admin_json_time(info.oldest_created_at)) == -1)
			return -1;
	}
	return 0;
}

void
admin_scripts_list(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	json_t *list;

	if (!admin_tenant_check(ex))
		return;
	if ((list = json_array()) == NULL ||
	    meta_foreach_worker(a->meta, ex->params[0], admin_list_cb, list) != 0 ||
	    admin_list_created_on(a, ex->params[0], list) == -1) {
		json_decref(list);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply(ex, 200, list);
}

void
admin_script_delete(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	const char *tenant = ex->params[0], *worker = ex->params[1];
	int rc;

	if (!admin_tenant_check(ex))
		return;
	if ((rc = meta_worker_delete(a->meta, tenant, worker)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 0) {
		admin_reply_error(
		    ex, 404, ADMIN_E_SCRIPT_NOT_FOUND, "script '%s' not found", worker);
		return;
	}
	log_info("admin: deleted worker '%s/%s'", tenant, worker);
	if (a->hooks.changed != NULL)
		a->hooks.changed(a->core);
	admin_reply(ex, 200, json_pack("{s:s}", "id", worker));
}

static int
admin_versions_cb(const struct meta_version *v, void *arg)
{
	json_t *items = arg;

	if (json_array_append_new(items,
		json_pack("{s:o, s:i, s:{s:o, s:s}, s:b}", "id", admin_version_id(v->id), "number",
		    0, "metadata", "created_on", admin_json_time(v->created_at), "source", "api",
		    "active", v->active)) == -1)
		return -1;
	return 0;
}

void
admin_versions_list(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	json_t *items, *item;
	size_t i, n;

	if (!admin_tenant_check(ex))
		return;
	if ((items = json_array()) == NULL ||
	    meta_foreach_version(a->meta, ex->params[0], ex->params[1], admin_versions_cb, items) !=
		0) {
		json_decref(items);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if ((n = json_array_size(items)) == 0) {
		json_decref(items);
		admin_reply_error(
		    ex, 404, ADMIN_E_SCRIPT_NOT_FOUND, "script '%s' not found", ex->params[1]);
		return;
	}
	/* Numbers count from the first upload; the list is newest first. */
	json_array_foreach (items, i, item)
		json_object_set_new(item, "number", json_integer((json_int_t)(n - i)));
	admin_reply(ex, 200, json_pack("{s:o}", "items", items));
}
