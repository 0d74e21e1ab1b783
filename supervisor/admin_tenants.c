/*
 * admin_tenants: the tenant (account) endpoints of the admin API, in the
 * supervisor.  PUT creates a tenant or confirms that it exists, and sets its
 * own limits (runtime and storage) when the body has "limits"; GET reads a
 * tenant back.
 */
#include "supervisor/admin_internal.h"

#include <stddef.h>
#include <string.h>

#include "common/log.h"

/* A limit a tenant may be given: its JSON key, range and place in meta_limits. */
struct admin_limit_key {
	const char *name;
	json_int_t min, max;
	size_t offset;
};

/* The ranges match edged.conf's for the same settings. */
static const struct admin_limit_key admin_limit_keys[] = {
	{ "cpu_ms", 1, 600000, offsetof(struct meta_limits, cpu_ms) },
	{ "wall_ms", 1, 3600000, offsetof(struct meta_limits, wall_ms) },
	{ "max_sandboxes_per_version", 1, 65536, offsetof(struct meta_limits, max_per_version) },
	{ "request_queue_max", 0, 1000000, offsetof(struct meta_limits, queue_max) },
};

#define ADMIN_LIMIT_COUNT (sizeof(admin_limit_keys) / sizeof(admin_limit_keys[0]))

/* Storage limits, in enum meta_storage_limit order: byte and key quotas, then counts. */
static const json_int_t admin_storage_limit_min[META_SL_COUNT] = { 1, 1, 1, 1, 0, 0, 0 };
#define ADMIN_STORAGE_COUNT_MAX 1000000

static json_int_t
admin_storage_limit_max(enum meta_storage_limit l)
{
	return l >= META_SL_KV_NAMESPACES ? ADMIN_STORAGE_COUNT_MAX : INT64_MAX;
}

/* The storage limit called `key`, or META_SL_COUNT. */
static enum meta_storage_limit
admin_storage_limit(const char *key)
{
	for (int i = 0; i < META_SL_COUNT; i++)
		if (strcmp(meta_storage_limit_name(i), key) == 0)
			return i;
	return META_SL_COUNT;
}

/* One storage limit into *out; false when it answered 400. */
static bool
admin_storage_limit_parse(struct admin_exchange *ex, enum meta_storage_limit l, json_t *value,
    struct meta_storage_limits *out)
{
	json_int_t n;

	if (json_is_null(value))
		return true; /* unset: unlimited */
	if (!json_is_integer(value) ||
	    (n = json_integer_value(value)) < admin_storage_limit_min[l] ||
	    n > admin_storage_limit_max(l)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "'limits.%s' must be an integer from %lld to %lld (or null)",
		    meta_storage_limit_name(l), (long long)admin_storage_limit_min[l],
		    (long long)admin_storage_limit_max(l));
		return false;
	}
	out->value[l] = (uint64_t)n;
	out->set[l] = true;
	return true;
}

/* Keys of the API that this edged does not enforce per tenant yet, with why. */
static const struct {
	const char *name;
	const char *why;
} admin_limit_unsupported[] = {
	{ "memory_mb", "the sandbox heap cap is global (memory_mb in edged.conf)" },
	{ "subrequests", "subrequests are not counted per tenant yet" },
};

static unsigned *
admin_limit_field(struct meta_limits *l, const struct admin_limit_key *k)
{
	return (unsigned *)(void *)((char *)l + k->offset);
}

static unsigned
admin_limit_value(const struct meta_limits *l, const struct admin_limit_key *k)
{
	unsigned v;

	memcpy(&v, (const char *)l + k->offset, sizeof(v));
	return v;
}

/* Parses "limits" into *out and *sout; false when it answered 400 (ex is gone). */
static bool
admin_limits_parse(struct admin_exchange *ex, json_t *limits, struct meta_limits *out,
    struct meta_storage_limits *sout)
{
	enum meta_storage_limit sl;
	const char *key;
	json_t *value;

	memset(out, 0, sizeof(*out));
	memset(sout, 0, sizeof(*sout));
	if (!json_is_object(limits)) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED, "'limits' must be a JSON object");
		return false;
	}
	json_object_foreach (limits, key, value) {
		const struct admin_limit_key *k = NULL;
		json_int_t n;

		for (size_t i = 0; i < ADMIN_LIMIT_COUNT; i++)
			if (strcmp(admin_limit_keys[i].name, key) == 0)
				k = &admin_limit_keys[i];
		if (k == NULL && (sl = admin_storage_limit(key)) != META_SL_COUNT) {
			if (!admin_storage_limit_parse(ex, sl, value, sout))
				return false;
			continue;
		}
		if (k == NULL) {
			for (size_t i = 0; i <
			     sizeof(admin_limit_unsupported) / sizeof(admin_limit_unsupported[0]);
			     i++) {
				if (strcmp(admin_limit_unsupported[i].name, key) == 0) {
					admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
					    "'limits.%s' cannot be set per tenant: %s", key,
					    admin_limit_unsupported[i].why);
					return false;
				}
			}
			/* The key is the caller's text: admin_reply_error cleans it. */
			admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
			    "unknown key 'limits.%.64s' (known: cpu_ms, wall_ms, "
			    "max_sandboxes_per_version, request_queue_max, kv_bytes, kv_keys, "
			    "d1_bytes, r2_bytes, kv_namespaces, d1_databases, r2_buckets)",
			    key);
			return false;
		}
		if (json_is_null(value))
			continue; /* explicitly unset: the configured value applies */
		if (!json_is_integer(value) || (n = json_integer_value(value)) < k->min ||
		    n > k->max) {
			admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
			    "'limits.%s' must be an integer from %lld to %lld (or null)", k->name,
			    (long long)k->min, (long long)k->max);
			return false;
		}
		*admin_limit_field(out, k) = (unsigned)n;
		if (k->offset == offsetof(struct meta_limits, queue_max))
			out->queue_max_set = true;
	}
	if (out->cpu_ms > 0 && out->wall_ms > 0 && out->wall_ms < out->cpu_ms) {
		admin_reply_error(ex, 400, ADMIN_E_MALFORMED,
		    "'limits.wall_ms' (%u) is below 'limits.cpu_ms' (%u)", out->wall_ms,
		    out->cpu_ms);
		return false;
	}
	return true;
}

/* {"cpu_ms": 100, ...}: the limits the tenant has of its own (unset ones left out). */
static json_t *
admin_limits_json(const struct meta_limits *l, const struct meta_storage_limits *sl)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (int i = 0; i < META_SL_COUNT; i++) {
		if (sl->set[i] &&
		    json_object_set_new(o, meta_storage_limit_name(i),
			json_integer((json_int_t)sl->value[i])) == -1) {
			json_decref(o);
			return NULL;
		}
	}
	for (size_t i = 0; i < ADMIN_LIMIT_COUNT; i++) {
		const struct admin_limit_key *k = &admin_limit_keys[i];
		unsigned v = admin_limit_value(l, k);
		bool set =
		    k->offset == offsetof(struct meta_limits, queue_max) ? l->queue_max_set : v > 0;

		if (set && json_object_set_new(o, k->name, json_integer(v)) == -1) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

void
admin_tenant_put(struct admin_exchange *ex)
{
	const char *tenant = ex->params[0];
	struct meta_storage_limits storage;
	struct meta_limits limits;
	json_t *body, *given;
	bool set_limits;
	int rc;

	/* The body is optional; of its members only "limits" is used. */
	if ((body = admin_body_json(ex, true)) == NULL)
		return;
	given = json_object_get(body, "limits");
	set_limits = given != NULL && !json_is_null(given);
	if (set_limits && !admin_limits_parse(ex, given, &limits, &storage)) {
		json_decref(body);
		return;
	}
	json_decref(body);
	if ((rc = meta_tenant_put(ex->admin->meta, tenant)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 1)
		log_info("admin: created tenant '%s'", tenant);
	if (set_limits) {
		if (meta_tenant_limits_put(ex->admin->meta, tenant, &limits) != 1 ||
		    meta_storage_limits_put(ex->admin->meta, tenant, &storage) != 1) {
			admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
			return;
		}
		log_info("admin: tenant '%s': limits set", tenant);
		/* Running versions take the new limits with the next request. */
		if (ex->admin->hooks.changed != NULL)
			ex->admin->hooks.changed(ex->admin->core);
	}
	if (meta_tenant_limits_get(ex->admin->meta, tenant, &limits) != 1 ||
	    meta_storage_limits_get(ex->admin->meta, tenant, &storage) != 1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply(ex, 200,
	    json_pack("{s:s, s:b, s:o*}", "id", tenant, "created", rc == 1, "limits",
		admin_limits_json(&limits, &storage)));
}

void
admin_tenant_get(struct admin_exchange *ex)
{
	const char *tenant = ex->params[0];
	struct meta_storage_limits storage;
	struct meta_limits limits;
	int rc;

	if ((rc = meta_tenant_limits_get(ex->admin->meta, tenant, &limits)) == -1 ||
	    (rc == 1 && meta_storage_limits_get(ex->admin->meta, tenant, &storage) != 1)) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 0) {
		admin_reply_error(
		    ex, 404, ADMIN_E_ACCOUNT_NOT_FOUND, "account '%s' not found", tenant);
		return;
	}
	admin_reply(ex, 200,
	    json_pack("{s:s, s:o*}", "id", tenant, "limits", admin_limits_json(&limits, &storage)));
}

/* --- tenant tokens ------------------------------------------------------------ */

void
admin_token_post(struct admin_exchange *ex)
{
	const char *tenant = ex->params[0];
	char id[META_TOKEN_ID_LEN + 1], token[META_TOKEN_LEN + 1];
	json_t *result;
	int rc;

	if ((rc = meta_token_create(ex->admin->meta, tenant, id, token)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 0) {
		admin_reply_error(
		    ex, 404, ADMIN_E_ACCOUNT_NOT_FOUND, "account '%s' not found", tenant);
		return;
	}
	log_info("admin: tenant '%s': token %s created", tenant, id);
	/* The only time the token is shown: meta keeps its hash. */
	result = json_pack("{s:s, s:s, s:s}", "id", id, "token", token, "tenant", tenant);
	explicit_bzero(token, sizeof(token));
	admin_reply(ex, 200, result);
}

static int
admin_token_json(const struct meta_token *t, void *arg)
{
	json_t *o =
	    json_pack("{s:s, s:o}", "id", t->id, "created_on", admin_json_time(t->created_at));

	return json_array_append_new(arg, o) == -1 ? -1 : 0;
}

void
admin_tokens_list(struct admin_exchange *ex)
{
	json_t *list;

	if (!admin_tenant_check(ex))
		return;
	if ((list = json_array()) == NULL ||
	    meta_foreach_token(ex->admin->meta, ex->params[0], admin_token_json, list) != 0) {
		json_decref(list);
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	admin_reply(ex, 200, list);
}

void
admin_token_delete(struct admin_exchange *ex)
{
	const char *tenant = ex->params[0], *id = ex->params[1];
	int rc;

	if (!admin_tenant_check(ex))
		return;
	if ((rc = meta_token_delete(ex->admin->meta, tenant, id)) == -1) {
		admin_reply_error(ex, 500, ADMIN_E_INTERNAL, "internal error");
		return;
	}
	if (rc == 0) {
		/* The id is the caller's text: admin_reply_error cleans it. */
		admin_reply_error(ex, 404, ADMIN_E_TOKEN_NOT_FOUND, "token '%.64s' not found", id);
		return;
	}
	log_info("admin: tenant '%s': token %s revoked", tenant, id);
	admin_reply(ex, 200, json_pack("{s:s}", "id", id));
}
