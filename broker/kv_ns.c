/*
 * kv_ns: KV namespaces: lookup by (tenant, namespace id), the admin
 * methods create and drop, and the purge of a dropped namespace's keys.
 * Runs in the broker.
 */
#include <stdio.h>
#include <string.h>

#include "broker/kv_internal.h"
#include "common/log.h"

/* Keys removed per transaction while purging, so that no transaction outgrows LMDB's limits. */
#define KV_PURGE_BATCH 1000

static MDB_val
kv_ns_name(const char *tenant, const char *id, char *out)
{
	MDB_val v;
	int n = snprintf(out, KV_NS_NAME_MAX, "%s/%s", tenant, id);

	v.mv_data = out;
	v.mv_size = n < 0 ? 0 : (size_t)n < KV_NS_NAME_MAX ? (size_t)n : KV_NS_NAME_MAX - 1;
	return v;
}

int
kv_ns_lookup(
    struct kv *kv, MDB_txn *txn, const struct store_call *c, uint64_t *ns, struct store_result *r)
{
	char name[KV_NS_NAME_MAX];
	MDB_val k = kv_ns_name(c->tenant, c->resource, name), v;
	int rc;

	rc = mdb_get(txn, kv->ns, &k, &v);
	if (rc == MDB_NOTFOUND) {
		store_fail(r, STORE_E_NOT_FOUND, "namespace not found");
		return KV_REFUSED;
	}
	if (rc != 0)
		return rc;
	if (v.mv_size != 8)
		return MDB_CORRUPTED;
	*ns = kv_get_u64(v.mv_data);
	return 0;
}

int
kv_ns_tenant(struct kv *kv, MDB_txn *txn, uint64_t ns, char *tenant, size_t size)
{
	uint8_t nb[8];
	MDB_val k = { sizeof(nb), nb }, v;
	const char *name, *slash;
	int rc;

	kv_put_u64(nb, ns);
	if ((rc = mdb_get(txn, kv->names, &k, &v)) != 0)
		return rc;
	if (v.mv_size < 2)
		return MDB_CORRUPTED;
	name = (const char *)v.mv_data + 1;
	if ((slash = memchr(name, '/', v.mv_size - 1)) == NULL || (size_t)(slash - name) >= size)
		return MDB_CORRUPTED;
	memcpy(tenant, name, (size_t)(slash - name));
	tenant[slash - name] = '\0';
	return 0;
}

/* names[ns] = state + "<tenant>/<id>". */
static int
kv_ns_set_state(
    struct kv *kv, MDB_txn *txn, uint64_t ns, const MDB_val *name, enum kv_ns_state state)
{
	uint8_t nb[8], rec[1 + KV_NS_NAME_MAX];
	MDB_val k = { sizeof(nb), nb }, v = { 1 + name->mv_size, rec };

	kv_put_u64(nb, ns);
	rec[0] = (uint8_t)state;
	memcpy(rec + 1, name->mv_data, name->mv_size);
	return mdb_put(txn, kv->names, &k, &v, 0);
}

static int
kv_ns_create_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	const struct store_call *c = arg;
	char name[KV_NS_NAME_MAX];
	uint8_t nb[8];
	MDB_val k = kv_ns_name(c->tenant, c->resource, name), v;
	uint64_t ns;
	int rc;

	rc = mdb_get(txn, kv->ns, &k, &v);
	if (rc == 0) {
		store_fail(r, STORE_E_CONFLICT, "namespace already exists");
		return KV_REFUSED;
	}
	if (rc != MDB_NOTFOUND || (rc = kv_seq_next(kv, txn, &ns)) != 0)
		return rc;
	kv_put_u64(nb, ns);
	v.mv_data = nb;
	v.mv_size = sizeof(nb);
	if ((rc = mdb_put(txn, kv->ns, &k, &v, 0)) != 0)
		return rc;
	return kv_ns_set_state(kv, txn, ns, &k, KV_NS_LIVE);
}

void
kv_ns_create(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	if (kv_write(kv, c, "CREATE", kv_ns_create_txn, (void *)c, r) == 0)
		r->doc = json_object();
}

struct kv_ns_drop {
	const struct store_call *c;
	uint64_t ns;
};

/* The namespace disappears at once; its keys go in batches afterwards. */
static int
kv_ns_drop_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	struct kv_ns_drop *d = arg;
	char name[KV_NS_NAME_MAX];
	MDB_val k = kv_ns_name(d->c->tenant, d->c->resource, name);
	int rc;

	if ((rc = kv_ns_lookup(kv, txn, d->c, &d->ns, r)) != 0)
		return rc;
	if ((rc = mdb_del(txn, kv->ns, &k, NULL)) != 0)
		return rc;
	return kv_ns_set_state(kv, txn, d->ns, &k, KV_NS_DROPPING);
}

struct kv_ns_purge {
	uint64_t ns;
	bool finished;
};

/* Removes up to KV_PURGE_BATCH keys of a dropped namespace, and the namespace once empty. */
static int
kv_ns_purge_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	struct kv_ns_purge *p = arg;
	struct kv_delta d = { 0, 0 };
	struct kv_iter it;
	char tenant[KV_NS_NAME_MAX];
	uint8_t nb[8];
	MDB_val k = { sizeof(nb), nb };
	int rc;

	p->finished = false;
	rc = kv_ns_tenant(kv, txn, p->ns, tenant, sizeof(tenant));
	if (rc == MDB_NOTFOUND)
		p->finished = true;
	if (rc != 0)
		return p->finished ? 0 : rc;
	if ((rc = kv_iter_open(kv, txn, p->ns, &it)) != 0)
		return rc;
	for (int n = 0; n < KV_PURGE_BATCH; n++)
		if ((rc = kv_iter_seek(&it, NULL, 0)) != 0 || (rc = kv_iter_delete(&it, &d)) != 0)
			break;
	kv_iter_close(&it);
	if (rc == MDB_NOTFOUND) {
		kv_put_u64(nb, p->ns);
		if ((rc = mdb_del(txn, kv->names, &k, NULL)) != 0)
			return rc;
		p->finished = true;
	}
	if (rc != 0)
		return rc;
	return kv_usage_apply(kv, txn, tenant, &d);
}

static int
kv_ns_purge(struct kv *kv, const struct store_call *c, uint64_t ns, struct store_result *r)
{
	struct kv_ns_purge p = { ns, false };

	while (!p.finished)
		if (kv_write(kv, c, "DROP", kv_ns_purge_txn, &p, r) == -1)
			return -1;
	return 0;
}

void
kv_ns_drop(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_ns_drop d = { c, 0 };

	if (kv_write(kv, c, "DROP", kv_ns_drop_txn, &d, r) == -1)
		return;
	/* On failure the namespace stays gone; kv_open finishes the purge. */
	if (kv_ns_purge(kv, c, d.ns, r) == -1)
		return;
	r->doc = json_object();
}

/* The first namespace number after `after` whose drop is unfinished: 0, MDB_NOTFOUND or a code. */
static int
kv_ns_next_dropped(struct kv *kv, uint64_t after, uint64_t *ns)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t nb[8];
	MDB_val k = { sizeof(nb), nb }, v;
	int rc;

	if ((rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, kv->names, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	kv_put_u64(nb, after + 1);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 8 && v.mv_size > 0 &&
		    ((const uint8_t *)v.mv_data)[0] == KV_NS_DROPPING) {
			*ns = kv_get_u64(k.mv_data);
			break;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

void
kv_ns_purge_dropped(struct kv *kv)
{
	struct store_result r;
	uint64_t ns = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	while ((rc = kv_ns_next_dropped(kv, ns, &ns)) == 0) {
		log_info("kv: finishing the drop of namespace number %llu", (unsigned long long)ns);
		if (kv_ns_purge(kv, NULL, ns, &r) == -1)
			return;
	}
	if (rc != MDB_NOTFOUND)
		log_warnx("kv: cannot look for dropped namespaces: %s", mdb_strerror(rc));
}
