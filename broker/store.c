/*
 * store: the helpers the broker's transport and backends share (results,
 * resource names, limits, body modes).  Runs in the broker.
 */
#include "broker/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KV_VALUE_MAX (25u << 20)
#define KV_BULK_MAX (100u << 20)

void
store_fail(struct store_result *r, enum store_status status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void
store_result_release(struct store_result *r)
{
	json_decref(r->doc);
	free(r->mem);
	if (r->body_kind == STORE_BODY_FILE && r->fd != -1)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static bool
store_all_of(const char *s, size_t from, size_t to, const char *set)
{
	for (size_t i = from; i < to; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

#define HEX "0123456789abcdef"

static bool
store_uuid_is_valid(const char *s)
{
	static const size_t dash[] = { 8, 13, 18, 23 };

	if (strlen(s) != 36)
		return false;
	for (size_t i = 0, d = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (strchr(HEX, s[i]) == NULL)
			return false;
	}
	return true;
}

static bool
store_bucket_is_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= 63 &&
	    store_all_of(s, 0, n, "abcdefghijklmnopqrstuvwxyz0123456789-") && s[0] != '-' &&
	    s[n - 1] != '-';
}

bool
store_resource_is_valid(enum store_kind kind, const char *resource)
{
	if (resource == NULL)
		return false;
	switch (kind) {
	case STORE_KV:
		return strlen(resource) == 32 && store_all_of(resource, 0, 32, HEX);
	case STORE_D1:
		return store_uuid_is_valid(resource);
	case STORE_R2:
		return store_bucket_is_valid(resource);
	}
	return false;
}

bool
store_tenant_is_valid(const char *tenant)
{
	size_t n = tenant != NULL ? strlen(tenant) : 0;

	return n >= 1 && n <= 64 &&
	    store_all_of(
		tenant, 0, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
}

enum store_kind
store_kind_from_name(const char *name)
{
	if (strcmp(name, "kv") == 0)
		return STORE_KV;
	if (strcmp(name, "d1") == 0)
		return STORE_D1;
	if (strcmp(name, "r2") == 0)
		return STORE_R2;
	return 0;
}

enum store_kind
store_kind_from_binding_type(const char *type)
{
	if (strcmp(type, "kv_namespace") == 0)
		return STORE_KV;
	if (strcmp(type, "d1") == 0)
		return STORE_D1;
	if (strcmp(type, "r2_bucket") == 0)
		return STORE_R2;
	return 0;
}

static uint64_t
store_limit_member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
							       : 0;
}

int
store_limits_parse(const char *text, size_t len, struct store_limits *out)
{
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	out->kv_bytes = store_limit_member(o, "kv_bytes");
	out->kv_keys = store_limit_member(o, "kv_keys");
	out->d1_bytes = store_limit_member(o, "d1_bytes");
	out->r2_bytes = store_limit_member(o, "r2_bytes");
	json_decref(o);
	return 0;
}

enum store_body_mode
store_body_mode(enum store_kind kind, const char *method, uint64_t *max)
{
	*max = 0;
	if (kind == STORE_KV && strcmp(method, "put") == 0) {
		*max = KV_VALUE_MAX;
		return STORE_IN_WHOLE;
	}
	if (kind == STORE_KV &&
	    (strcmp(method, "bulkPut") == 0 || strcmp(method, "bulkDelete") == 0)) {
		*max = KV_BULK_MAX;
		return STORE_IN_WHOLE;
	}
	if (kind == STORE_R2 && (strcmp(method, "put") == 0 || strcmp(method, "uploadPart") == 0))
		return STORE_IN_STREAM;
	return STORE_IN_NONE;
}
