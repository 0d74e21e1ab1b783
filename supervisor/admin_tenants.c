/*
 * admin_tenants: the tenant (account) endpoints of the admin API, in the
 * supervisor.  PUT creates a tenant or confirms that it exists.
 */
#include "supervisor/admin_internal.h"

#include "common/log.h"

void
admin_tenant_put(struct admin_exchange *ex)
{
	const char *tenant = ex->params[0];
	json_t *body;
	int rc;

	/* The body (tenant settings) is optional and not used yet, but must be JSON. */
	if ((body = admin_body_json(ex, true)) == NULL)
		return;
	json_decref(body);
	if ((rc = meta_tenant_put(ex->admin->meta, tenant)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 1)
		log_info("admin: created tenant '%s'", tenant);
	admin_reply(ex, 200, json_pack("{s:s, s:b}", "id", tenant, "created", rc == 1));
}
