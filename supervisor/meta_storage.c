/*
 * meta_storage: the registry of each tenant's KV namespaces, D1 databases
 * and R2 buckets, and the tenant's storage limits, in meta.sqlite.  Runs in
 * the supervisor.  As in meta.c, every statement is prepared once from the
 * tables below and every input is bound.
 */
#include "supervisor/meta.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hex.h"
#include "common/log.h"
#include "supervisor/meta_internal.h"

/*
 * Added after the first release: new tables (IF NOT EXISTS) so that an
 * older meta.sqlite gains them and needs no migration.
 */
static const char meta_storage_schema[] =
    "CREATE TABLE IF NOT EXISTS kv_namespaces ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  title TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant, title));"
    "CREATE TABLE IF NOT EXISTS d1_databases ("
    "  uuid TEXT PRIMARY KEY NOT NULL,"
    "  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant, name));"
    "CREATE TABLE IF NOT EXISTS r2_buckets ("
    "  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, name));"
    /* NULL = unlimited. */
    "CREATE TABLE IF NOT EXISTS tenant_storage_limits ("
    "  tenant TEXT PRIMARY KEY NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    "  kv_bytes INTEGER,"
    "  kv_keys INTEGER,"
    "  d1_bytes INTEGER,"
    "  r2_bytes INTEGER,"
    "  kv_namespaces INTEGER,"
    "  d1_databases INTEGER,"
    "  r2_buckets INTEGER);";

/* Per kind, the same five statements; rows come back as (id, tenant, name, created_at). */
enum meta_op {
	META_OP_INSERT, /* ?1 id, ?2 tenant, ?3 name, ?4 created_at */
	META_OP_GET,    /* ?1 tenant, ?2 id */
	META_OP_DELETE, /* ?1 tenant, ?2 id */
	META_OP_LIST,   /* ?1 tenant */
	META_OP_COUNT,  /* ?1 tenant -> count */
	META_OP_N
};

#define META_KINDS 3

/* Indexed by kind - 1.  R2's id is its name: its INSERT leaves ?3 unused. */
static const char *const meta_kind_sql[META_KINDS][META_OP_N] = {
	{
	    "INSERT INTO kv_namespaces(id, tenant, title, created_at) VALUES (?1, ?2, ?3, ?4)",
	    "SELECT id, tenant, title, created_at FROM kv_namespaces WHERE tenant = ?1 AND id = ?2",
	    "DELETE FROM kv_namespaces WHERE tenant = ?1 AND id = ?2",
	    "SELECT id, tenant, title, created_at FROM kv_namespaces WHERE tenant = ?1"
	    " ORDER BY created_at, rowid",
	    "SELECT count(*) FROM kv_namespaces WHERE tenant = ?1",
	},
	{
	    "INSERT INTO d1_databases(uuid, tenant, name, created_at) VALUES (?1, ?2, ?3, ?4)",
	    "SELECT uuid, tenant, name, created_at FROM d1_databases WHERE tenant = ?1 AND uuid = "
	    "?2",
	    "DELETE FROM d1_databases WHERE tenant = ?1 AND uuid = ?2",
	    "SELECT uuid, tenant, name, created_at FROM d1_databases WHERE tenant = ?1"
	    " ORDER BY created_at, rowid",
	    "SELECT count(*) FROM d1_databases WHERE tenant = ?1",
	},
	{
	    "INSERT INTO r2_buckets(tenant, name, created_at) VALUES (?2, ?1, ?4)",
	    "SELECT name, tenant, name, created_at FROM r2_buckets WHERE tenant = ?1 AND name = ?2",
	    "DELETE FROM r2_buckets WHERE tenant = ?1 AND name = ?2",
	    "SELECT name, tenant, name, created_at FROM r2_buckets WHERE tenant = ?1"
	    " ORDER BY created_at, rowid",
	    "SELECT count(*) FROM r2_buckets WHERE tenant = ?1",
	},
};

enum meta_limits_op { META_STORAGE_LIMITS_PUT, META_STORAGE_LIMITS_GET, META_STORAGE_LIMITS_N };

static const char *const meta_limits_sql[META_STORAGE_LIMITS_N] = {
	[META_STORAGE_LIMITS_PUT] =
	    "INSERT OR REPLACE INTO tenant_storage_limits(tenant, kv_bytes, kv_keys, d1_bytes,"
	    " r2_bytes, kv_namespaces, d1_databases, r2_buckets)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[META_STORAGE_LIMITS_GET] =
	    "SELECT l.kv_bytes, l.kv_keys, l.d1_bytes, l.r2_bytes, l.kv_namespaces, l.d1_databases,"
	    " l.r2_buckets FROM tenants t LEFT JOIN tenant_storage_limits l ON l.tenant = t.name"
	    " WHERE t.name = ?1",
};

/* In enum meta_storage_limit order: the JSON names and the table's columns. */
static const char *const meta_limit_names[META_SL_COUNT] = {
	"kv_bytes",
	"kv_keys",
	"d1_bytes",
	"r2_bytes",
	"kv_namespaces",
	"d1_databases",
	"r2_buckets",
};

struct meta_storage {
	sqlite3_stmt *kind[META_KINDS][META_OP_N];
	sqlite3_stmt *limits[META_STORAGE_LIMITS_N];
};

struct meta_storage *
meta_storage_open(struct meta *m)
{
	struct meta_storage *s;

	if (sqlite3_exec(meta_db(m), meta_storage_schema, NULL, NULL, NULL) != SQLITE_OK) {
		meta_log_db(m, "create the storage schema");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("meta: cannot open the storage registry");
		return NULL;
	}
	for (size_t k = 0; k < META_KINDS; k++)
		if (meta_prepare_all(m, meta_kind_sql[k], META_OP_N, s->kind[k]) == -1)
			goto fail;
	if (meta_prepare_all(m, meta_limits_sql, META_STORAGE_LIMITS_N, s->limits) == -1)
		goto fail;
	return s;
fail:
	meta_storage_close(s);
	return NULL;
}

void
meta_storage_close(struct meta_storage *s)
{
	if (s == NULL)
		return;
	for (size_t k = 0; k < META_KINDS; k++)
		meta_finalize_all(s->kind[k], META_OP_N);
	meta_finalize_all(s->limits, META_STORAGE_LIMITS_N);
	free(s);
}

static bool
meta_kind_is_valid(enum meta_kind kind)
{
	return kind == META_KV || kind == META_D1 || kind == META_R2;
}

static sqlite3_stmt *
meta_kind_stmt(struct meta *m, enum meta_kind kind, enum meta_op op)
{
	return meta_stmt_ready(meta_storage_of(m)->kind[kind - 1][op]);
}

/* --- limits ------------------------------------------------------------------ */

const char *
meta_storage_limit_name(enum meta_storage_limit l)
{
	return (unsigned)l < META_SL_COUNT ? meta_limit_names[l] : "";
}

enum meta_storage_limit
meta_storage_count_limit(enum meta_kind kind)
{
	switch (kind) {
	case META_KV:
		return META_SL_KV_NAMESPACES;
	case META_D1:
		return META_SL_D1_DATABASES;
	case META_R2:
		break;
	}
	return META_SL_R2_BUCKETS;
}

int
meta_storage_limits_put(struct meta *m, const char *tenant, const struct meta_storage_limits *l)
{
	sqlite3_stmt *st;

	if (!meta_name_is_valid(tenant))
		return -1;
	if (!meta_tenant_exists(m, tenant))
		return 0;
	st = meta_stmt_ready(meta_storage_of(m)->limits[META_STORAGE_LIMITS_PUT]);
	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	for (int i = 0; i < META_SL_COUNT; i++) {
		/* sqlite integers are signed: larger values cannot be meant. */
		if (l->set[i] && l->value[i] > INT64_MAX)
			return -1;
		if (l->set[i] ? meta_bind_int(st, i + 2, (int64_t)l->value[i]) == -1
			      : sqlite3_bind_null(st, i + 2) != SQLITE_OK)
			return -1;
	}
	return meta_exec_stmt(m, st, "store tenant storage limits") == -1 ? -1 : 1;
}

int
meta_storage_limits_get(struct meta *m, const char *tenant, struct meta_storage_limits *out)
{
	sqlite3_stmt *st = meta_stmt_ready(meta_storage_of(m)->limits[META_STORAGE_LIMITS_GET]);
	int rc;

	memset(out, 0, sizeof(*out));
	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < META_SL_COUNT; i++) {
			/* NULL, and anything a hand-edited file made invalid, is unset. */
			if (sqlite3_column_type(st, i) != SQLITE_INTEGER ||
			    sqlite3_column_int64(st, i) < 0)
				continue;
			out->value[i] = (uint64_t)sqlite3_column_int64(st, i);
			out->set[i] = true;
		}
	}
	return meta_step_end(m, st, rc, "read tenant storage limits");
}

int
meta_storage_limits_text(const struct meta_storage_limits *l, char *out, size_t len)
{
	static const enum meta_storage_limit quotas[] = { META_SL_KV_BYTES, META_SL_KV_KEYS,
		META_SL_D1_BYTES, META_SL_R2_BYTES };
	size_t used = 0;
	int n;

	if (len < 3)
		return -1;
	out[used++] = '{';
	for (size_t i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++) {
		enum meta_storage_limit q = quotas[i];

		/* 0 means unlimited to the broker: an unset limit is simply left out. */
		if (!l->set[q] || l->value[q] == 0)
			continue;
		n = snprintf(out + used, len - used, "%s\"%s\":%" PRIu64, used > 1 ? "," : "",
		    meta_limit_names[q], l->value[q]);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	if (used + 2 > len)
		return -1;
	out[used++] = '}';
	out[used] = '\0';
	return 0;
}

/* --- resources --------------------------------------------------------------- */

/* A random version-4 UUID, lowercase. */
static int
meta_uuid(char out[META_D1_ID_LEN + 1])
{
	static const size_t group[] = { 4, 2, 2, 2, 6 }; /* bytes of each dash-separated part */
	unsigned char b[16];
	size_t from = 0, o = 0;

	if (meta_random_bytes(b, sizeof(b), "a database id") == -1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (size_t g = 0; g < sizeof(group) / sizeof(group[0]); g++) {
		if (g > 0)
			out[o++] = '-';
		hex_encode(b + from, group[g], out + o);
		o += 2 * group[g];
		from += group[g];
	}
	return 0;
}

static int
meta_resource_new_id(enum meta_kind kind, const char *name, char *id)
{
	switch (kind) {
	case META_KV:
		return meta_random_hex(id, META_KV_ID_LEN / 2, "a namespace id");
	case META_D1:
		return meta_uuid(id);
	case META_R2:
		break;
	}
	snprintf(id, META_RESOURCE_ID_MAX + 1, "%s", name);
	return 0;
}

/* How many resources of kind the tenant has; -1 on error. */
static int64_t
meta_resource_count(struct meta *m, enum meta_kind kind, const char *tenant)
{
	sqlite3_stmt *st = meta_kind_stmt(m, kind, META_OP_COUNT);
	int64_t n = -1;
	int rc;

	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	/* count(*) always yields its row: none is an error too. */
	return meta_step_end(m, st, rc, "count storage resources") == 1 ? n : -1;
}

/* Inside the transaction: 0 when one more fits, META_E_QUOTA, or -1. */
static int
meta_resource_quota(struct meta *m, enum meta_kind kind, const char *tenant)
{
	struct meta_storage_limits l;
	enum meta_storage_limit which = meta_storage_count_limit(kind);
	int64_t n;

	if (meta_storage_limits_get(m, tenant, &l) != 1)
		return -1;
	if (!l.set[which])
		return 0;
	if ((n = meta_resource_count(m, kind, tenant)) < 0)
		return -1;
	return (uint64_t)n >= l.value[which] ? META_E_QUOTA : 0;
}

static int
meta_resource_insert(struct meta *m, const struct meta_resource *r)
{
	sqlite3_stmt *st = meta_kind_stmt(m, r->kind, META_OP_INSERT);
	int rc;

	if (meta_bind_text(st, 1, r->id) == -1 || meta_bind_text(st, 2, r->tenant) == -1 ||
	    meta_bind_text(st, 3, r->name) == -1 || meta_bind_int(st, 4, r->created_at) == -1)
		return -1;
	rc = meta_exec_insert(m, st, SQLITE_CONSTRAINT, "insert a storage resource");
	return rc == 1 ? META_E_TAKEN : rc;
}

int
meta_resource_create(struct meta *m, enum meta_kind kind, const char *tenant, const char *name,
    struct meta_resource *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!meta_kind_is_valid(kind) || !meta_name_is_valid(tenant) || name == NULL ||
	    name[0] == '\0' || strlen(name) > META_RESOURCE_NAME_MAX ||
	    (kind == META_R2 && strlen(name) > META_RESOURCE_ID_MAX))
		return -1;
	out->kind = kind;
	snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->created_at = (int64_t)time(NULL);
	if (meta_resource_new_id(kind, name, out->id) == -1 || meta_begin(m) == -1)
		return -1;
	if (!meta_tenant_exists(m, tenant)) {
		rc = 0;
		goto fail;
	}
	if ((rc = meta_resource_quota(m, kind, tenant)) != 0 ||
	    (rc = meta_resource_insert(m, out)) != 0)
		goto fail;
	if (meta_commit(m) == -1) {
		rc = -1;
		goto fail;
	}
	return 1;
fail:
	meta_rollback(m);
	out->id[0] = '\0';
	return rc;
}

static void
meta_resource_from_row(sqlite3_stmt *st, enum meta_kind kind, struct meta_resource *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	meta_copy_text(r->id, sizeof(r->id), sqlite3_column_text(st, 0));
	meta_copy_text(r->tenant, sizeof(r->tenant), sqlite3_column_text(st, 1));
	meta_copy_text(r->name, sizeof(r->name), sqlite3_column_text(st, 2));
	r->created_at = sqlite3_column_int64(st, 3);
}

int
meta_resource_get(struct meta *m, enum meta_kind kind, const char *tenant, const char *id,
    struct meta_resource *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!meta_kind_is_valid(kind) || tenant == NULL || id == NULL)
		return -1;
	st = meta_kind_stmt(m, kind, META_OP_GET);
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, id) == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		meta_resource_from_row(st, kind, out);
	return meta_step_end(m, st, rc, "look up a storage resource");
}

int
meta_resource_delete(struct meta *m, enum meta_kind kind, const char *tenant, const char *id)
{
	sqlite3_stmt *st;

	if (!meta_kind_is_valid(kind) || tenant == NULL || id == NULL)
		return -1;
	st = meta_kind_stmt(m, kind, META_OP_DELETE);
	if (meta_bind_text(st, 1, tenant) == -1 || meta_bind_text(st, 2, id) == -1)
		return -1;
	return meta_exec_changes(m, st, "delete a storage resource");
}

int
meta_foreach_resource(
    struct meta *m, enum meta_kind kind, const char *tenant, meta_resource_cb cb, void *arg)
{
	struct meta_resource r;
	sqlite3_stmt *st;
	int rc, stop = 0;

	if (!meta_kind_is_valid(kind) || tenant == NULL)
		return -1;
	st = meta_kind_stmt(m, kind, META_OP_LIST);
	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		meta_resource_from_row(st, kind, &r);
		if ((stop = cb(&r, arg)) != 0)
			break;
	}
	return meta_walk_end(m, st, rc, stop, "list storage resources");
}
