/*
 * kv: KV namespaces on LMDB (the contract is the KV section of
 * broker/store.h, the layout is in broker/kv_internal.h): the environment,
 * durable write transactions that grow the map when it fills, the method
 * table, and the sweep of expired keys.  Runs in the broker,
 * single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "broker/kv_internal.h"
#include "common/log.h"

/* Sparse: only the pages in use take disk space.  Doubles on MDB_MAP_FULL. */
#define KV_MAP_INITIAL ((size_t)16 << 30)
#define KV_DBS 8

static const struct kv_method {
	const char *name;
	bool admin;
	kv_method_fn *fn;
} kv_methods[] = {
	{ "get", false, kv_op_get },
	{ "getMany", false, kv_op_get_many },
	{ "put", false, kv_op_put },
	{ "delete", false, kv_op_delete },
	{ "list", false, kv_op_list },
	{ "create", true, kv_ns_create },
	{ "drop", true, kv_ns_drop },
	{ "bulkPut", true, kv_bulk_put },
	{ "bulkDelete", true, kv_bulk_delete },
};

static uint64_t
kv_real_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec;
}

void
kv_set_clock(struct kv *kv, kv_clock_fn *clock)
{
	kv->clock = clock != NULL ? clock : kv_real_clock;
}

static int
kv_open_dbs(struct kv *kv)
{
	static const struct {
		const char *name;
		size_t offset;
		unsigned flags;
	} dbs[] = {
		{ "meta", offsetof(struct kv, meta), 0 },
		{ "ns", offsetof(struct kv, ns), 0 },
		{ "names", offsetof(struct kv, names), 0 },
		{ "keys", offsetof(struct kv, keys), MDB_DUPSORT },
		{ "vals", offsetof(struct kv, vals), 0 },
		{ "expiry", offsetof(struct kv, expiry), 0 },
		{ "usage", offsetof(struct kv, usage), 0 },
	};
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(kv->env, NULL, 0, &txn)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)kv + dbs[i].offset);

		if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE | dbs[i].flags, dbi)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return mdb_txn_commit(txn);
}

static int
kv_open_env(struct kv *kv)
{
	int rc, dead;

	if ((rc = mdb_env_create(&kv->env)) != 0)
		return rc;
	/*
	 * Default flags on purpose: every commit is synced (no MDB_NOSYNC,
	 * MDB_NOMETASYNC or MDB_WRITEMAP).  MDB_NOTLS ties readers to
	 * transactions, not threads.
	 */
	if ((rc = mdb_env_set_maxdbs(kv->env, KV_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(kv->env, KV_MAP_INITIAL)) != 0 ||
	    (rc = mdb_env_open(kv->env, kv->path, MDB_NOTLS, 0600)) != 0)
		return rc;
	if (mdb_env_get_maxkeysize(kv->env) < 8 + KV_HEAD_MAX) {
		log_warnx("cannot use '%s': LMDB keys are limited to %d bytes, %d needed", kv->path,
		    mdb_env_get_maxkeysize(kv->env), 8 + KV_HEAD_MAX);
		return EINVAL;
	}
	/* Reader slots of processes that died (a broker killed mid-read). */
	if ((rc = mdb_reader_check(kv->env, &dead)) != 0)
		return rc;
	return kv_open_dbs(kv);
}

struct kv *
kv_open(const char *data_dir)
{
	struct kv *kv;
	size_t n = strlen(data_dir) + sizeof("/kv");
	int rc;

	if ((kv = calloc(1, sizeof(*kv))) == NULL || (kv->path = malloc(n)) == NULL) {
		log_warnx("cannot open the KV store: out of memory");
		free(kv);
		return NULL;
	}
	kv->clock = kv_real_clock;
	snprintf(kv->path, n, "%s/kv", data_dir);
	if (mkdir(kv->path, 0700) == -1 && errno != EEXIST) {
		log_warn("cannot create '%s'", kv->path);
		kv_close(kv);
		return NULL;
	}
	if ((rc = kv_open_env(kv)) != 0) {
		log_warnx("cannot open '%s': %s", kv->path, mdb_strerror(rc));
		kv_close(kv);
		return NULL;
	}
	/* Finishes drops that a crash interrupted; a failure is logged and retried next time. */
	kv_ns_purge_dropped(kv);
	return kv;
}

void
kv_close(struct kv *kv)
{
	if (kv == NULL)
		return;
	if (kv->env != NULL)
		mdb_env_close(kv->env);
	free(kv->path);
	free(kv);
}

void
kv_fail_internal(struct store_result *r, const struct store_call *c, const char *op, int rc)
{
	if (c != NULL)
		log_warnx("kv: tenant '%s' namespace '%s': %s failed: %s", c->tenant, c->resource,
		    op, mdb_strerror(rc));
	else
		log_warnx("kv: %s failed: %s", op, mdb_strerror(rc));
	if (r != NULL)
		store_fail(r, STORE_E_INTERNAL, "KV %s failed: 500 internal storage error", op);
}

/* Doubles the map.  Only while no transaction is open, which holds between calls. */
static int
kv_grow(struct kv *kv)
{
	MDB_envinfo info;
	size_t size;
	int rc;

	if ((rc = mdb_env_info(kv->env, &info)) != 0)
		return rc;
	if (info.me_mapsize > SIZE_MAX / 2)
		return MDB_MAP_FULL;
	size = info.me_mapsize * 2;
	if ((rc = mdb_env_set_mapsize(kv->env, size)) != 0) {
		log_warnx("cannot grow '%s' to %zu bytes: %s", kv->path, size, mdb_strerror(rc));
		return rc;
	}
	log_info("kv: map of '%s' grown to %zu bytes", kv->path, size);
	return 0;
}

static int
kv_txn_begin(struct kv *kv, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(kv->env, NULL, flags, txn);

	/* Another process grew the map: adopt its size and try again. */
	if (rc == MDB_MAP_RESIZED && (rc = mdb_env_set_mapsize(kv->env, 0)) == 0)
		rc = mdb_txn_begin(kv->env, NULL, flags, txn);
	return rc;
}

int
kv_read_begin(struct kv *kv, const struct store_call *c, const char *op, MDB_txn **txn,
    struct store_result *r)
{
	int rc;

	if ((rc = kv_txn_begin(kv, MDB_RDONLY, txn)) != 0) {
		kv_fail_internal(r, c, op, rc);
		return -1;
	}
	return 0;
}

int
kv_write(struct kv *kv, const struct store_call *c, const char *op, kv_txn_fn *fn, void *arg,
    struct store_result *r)
{
	MDB_txn *txn;
	int rc;

	for (int attempt = 0;; attempt++) {
		if ((rc = kv_txn_begin(kv, 0, &txn)) != 0)
			break;
		if ((rc = fn(kv, txn, arg, r)) == 0)
			rc = mdb_txn_commit(txn); /* synced before it returns */
		else
			mdb_txn_abort(txn);
		if (rc == 0)
			return 0;
		if (rc == KV_REFUSED)
			return -1;
		if (rc != MDB_MAP_FULL || attempt > 0 || kv_grow(kv) != 0)
			break;
	}
	kv_fail_internal(r, c, op, rc);
	return -1;
}

static const struct kv_method *
kv_method_find(const char *name, bool admin)
{
	for (size_t i = 0; name != NULL && i < sizeof(kv_methods) / sizeof(kv_methods[0]); i++)
		if (strcmp(kv_methods[i].name, name) == 0)
			return !kv_methods[i].admin || admin ? &kv_methods[i] : NULL;
	return NULL;
}

/* Whether a method name may appear in a message as it is (short, plain ASCII). */
static bool
kv_method_is_printable(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e || name[i] == '\'')
			return false;
	return true;
}

void
kv_call(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	const struct kv_method *m = kv_method_find(c->method, c->admin);

	if (m == NULL) {
		if (c->method != NULL && kv_method_is_printable(c->method))
			store_fail(r, STORE_E_INVALID, "unknown method '%s'", c->method);
		else
			store_fail(r, STORE_E_INVALID, "unknown method");
		return;
	}
	if (!store_tenant_is_valid(c->tenant) || !store_resource_is_valid(STORE_KV, c->resource)) {
		store_fail(r, STORE_E_INVALID, "invalid tenant or namespace id");
		return;
	}
	if (!json_is_object(c->args)) {
		store_fail(r, STORE_E_INVALID, "the arguments must be a JSON object");
		return;
	}
	if (body == NULL && len != 0) {
		store_fail(r, STORE_E_INVALID, "no body");
		return;
	}
	m->fn(kv, c, body, len, r);
}

struct kv_sweep {
	uint64_t now_s;
	size_t max;
	size_t done;
};

/* Removes one expired entry and gives its usage back; MDB codes only. */
static int
kv_sweep_one(struct kv *kv, MDB_txn *txn, const uint8_t *index_key)
{
	uint8_t kb[16];
	MDB_val k = { sizeof(kb), kb };
	struct kv_delta d = { 0, 0 };
	char tenant[KV_NS_NAME_MAX];
	uint64_t ns;
	int rc;

	memcpy(kb, index_key, sizeof(kb));
	rc = kv_entry_delete_id(kv, txn, kv_get_u64(kb + 8), &ns, &d);
	if (rc == 0 && (rc = kv_ns_tenant(kv, txn, ns, tenant, sizeof(tenant))) == 0)
		rc = kv_usage_apply(kv, txn, tenant, &d);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	/* Whatever the record said, this index entry goes, so the sweep always advances. */
	rc = mdb_del(txn, kv->expiry, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
kv_sweep_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	struct kv_sweep *s = arg;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	s->done = 0;
	if ((rc = mdb_cursor_open(txn, kv->expiry, &cur)) != 0)
		return rc;
	while (s->done < s->max) {
		/* From the start each time: the deletes move the cursor's page. */
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0)
			break;
		if (k.mv_size != 16) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (kv_get_u64(k.mv_data) > s->now_s)
			break;
		if ((rc = kv_sweep_one(kv, txn, k.mv_data)) != 0)
			break;
		s->done++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

size_t
kv_sweep(struct kv *kv, uint64_t now_s, size_t max)
{
	struct kv_sweep s = { now_s, max, 0 };
	struct store_result r;

	if (max == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	if (kv_write(kv, NULL, "SWEEP", kv_sweep_txn, &s, &r) == -1)
		return 0;
	return s.done;
}
