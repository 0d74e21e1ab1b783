/*
 * admin_routes: the route endpoints of the admin API (add, list, delete).
 * Runs in the supervisor; a pattern's host belongs to the first tenant that
 * routes it (meta enforces it).
 */
#include "supervisor/admin_internal.h"

#include <string.h>

#include "common/log.h"
#include "supervisor/route.h"

static json_t *
admin_route_json(const struct meta_route *r)
{
	return json_pack(
	    "{s:s, s:s, s:s}", "id", r->id, "pattern", r->pattern, "script", r->worker);
}

/* Reads "pattern" and "script" from the body; false when ex was answered. */
static bool
admin_route_fields(
    struct admin_exchange *ex, json_t *body, const char **pattern, const char **script)
{
	json_t *p = json_object_get(body, "pattern"), *s = json_object_get(body, "script");
	const char *why = NULL;

	if (!json_is_string(p)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "'pattern' must be a string");
		return false;
	}
	if (s != NULL && !json_is_null(s) && !json_is_string(s)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "'script' must be a string");
		return false;
	}
	*pattern = json_string_value(p);
	*script = json_is_string(s) ? json_string_value(s) : "";
	if (strlen(*pattern) != json_string_length(p) ||
	    json_string_length(p) >= sizeof(((struct meta_route *)NULL)->pattern) ||
	    !route_pattern_is_valid(*pattern, &why)) {
		admin_reply_error(ex, 400, ADMIN_E_BAD_PATTERN, "invalid route pattern: %s",
		    why != NULL ? why : "too long");
		return false;
	}
	if ((*script)[0] != '\0' && !meta_name_is_valid(*script)) {
		admin_reply_error(ex, 400, ADMIN_E_INVALID_NAME, "invalid script name");
		return false;
	}
	return true;
}

void
admin_route_post(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	struct admin_worker_info info;
	const char *tenant = ex->params[0], *pattern, *script;
	struct meta_route r;
	json_t *body;
	int rc;

	if (!admin_tenant_check(ex) || (body = admin_body_json(ex, false)) == NULL)
		return;
	if (!admin_route_fields(ex, body, &pattern, &script))
		goto done;
	if (script[0] != '\0' && (rc = admin_worker_info(a, tenant, script, &info)) != 1) {
		if (rc == 0)
			admin_reply_error(
			    ex, 404, ADMIN_E_SCRIPT_NOT_FOUND, "script '%s' not found", script);
		else
			admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		goto done;
	}
	switch (meta_route_add(a->meta, tenant, pattern, script, &r)) {
	case 0:
		log_info("admin: tenant '%s' added route '%s'", tenant, r.pattern);
		if (a->hooks.changed != NULL)
			a->hooks.changed(a->core);
		admin_reply(ex, 200, admin_route_json(&r));
		break;
	case -2:
		admin_reply_error(
		    ex, 409, ADMIN_E_HOST_TAKEN, "pattern's host belongs to another account");
		break;
	case -3:
		admin_reply_error(ex, 409, ADMIN_E_DUPLICATE_ROUTE,
		    "a route with the same pattern already exists");
		break;
	default:
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		break;
	}
done:
	json_decref(body);
}

static int
admin_routes_cb(const struct meta_route *r, void *arg)
{
	return json_array_append_new(arg, admin_route_json(r)) == -1 ? -1 : 0;
}

void
admin_routes_list(struct admin_exchange *ex)
{
	json_t *list;

	if (!admin_tenant_check(ex))
		return;
	if ((list = json_array()) == NULL ||
	    meta_foreach_route(ex->admin->meta, ex->params[0], admin_routes_cb, list) != 0) {
		json_decref(list);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply(ex, 200, list);
}

void
admin_route_delete(struct admin_exchange *ex)
{
	struct admin *a = ex->admin;
	char id[META_ROUTE_ID_LEN + 1];
	int rc;

	if (!admin_tenant_check(ex))
		return;
	/* Copied: the reply frees ex and its params. */
	memcpy(id, ex->params[1], sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	if (strlen(ex->params[1]) != META_ROUTE_ID_LEN)
		rc = 0;
	else if ((rc = meta_route_delete(a->meta, ex->params[0], id)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 0) {
		admin_reply_error(ex, 404, ADMIN_E_ROUTE_NOT_FOUND, "route not found");
		return;
	}
	log_info("admin: tenant '%s' deleted route %s", ex->params[0], id);
	if (a->hooks.changed != NULL)
		a->hooks.changed(a->core);
	admin_reply(ex, 200, json_pack("{s:s}", "id", id));
}
