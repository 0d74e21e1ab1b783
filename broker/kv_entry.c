/*
 * kv_entry: the KV backend's entries on LMDB: the split of a key into the
 * "keys" item, records in "vals", the expiry index, ordered walks over a
 * namespace, and the per-tenant usage counters.  The layout is described in
 * broker/kv_internal.h.  Runs in the broker.
 */
#include <inttypes.h>
#include <string.h>

#include "broker/kv_internal.h"

#define KV_RECORD_FORMAT 1

void
kv_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t
kv_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t
kv_lmdb_key(uint64_t ns, const uint8_t *key, size_t len, uint8_t *out)
{
	size_t head = len < KV_HEAD_MAX ? len : KV_HEAD_MAX;

	kv_put_u64(out, ns);
	if (head > 0)
		memcpy(out + 8, key, head);
	return 8 + head;
}

static void
kv_tail_field(const uint8_t *key, size_t len, uint8_t *out)
{
	size_t tail = len > KV_HEAD_MAX ? len - KV_HEAD_MAX : 0;

	memset(out, 0, KV_TAIL_FIELD);
	if (tail > 0)
		memcpy(out, key + KV_HEAD_MAX, tail);
	out[KV_TAIL_MAX] = (uint8_t)tail;
}

static size_t
kv_record_bytes(const struct kv_record *rec)
{
	return rec->key_len + rec->metadata_len + rec->value_len;
}

bool
kv_record_is_expired(const struct kv_record *rec, uint64_t now_s)
{
	return rec->expiration != 0 && rec->expiration <= now_s;
}

static int
kv_record_parse(const MDB_val *v, struct kv_record *rec)
{
	const uint8_t *p = v->mv_data;
	size_t key_len, metadata_len;

	if (v->mv_size < KV_RECORD_HEADER || p[0] != KV_RECORD_FORMAT)
		return MDB_CORRUPTED;
	key_len = (size_t)p[17] << 8 | p[18];
	metadata_len = (size_t)p[19] << 8 | p[20];
	if (key_len == 0 || key_len > KV_KEY_MAX ||
	    v->mv_size - KV_RECORD_HEADER < key_len + metadata_len)
		return MDB_CORRUPTED;
	rec->ns = kv_get_u64(p + 1);
	rec->expiration = kv_get_u64(p + 9);
	rec->key = p + KV_RECORD_HEADER;
	rec->key_len = key_len;
	rec->metadata = (const char *)rec->key + key_len;
	rec->metadata_len = metadata_len;
	rec->value = rec->key + key_len + metadata_len;
	rec->value_len = v->mv_size - KV_RECORD_HEADER - key_len - metadata_len;
	return 0;
}

int
kv_record_read(struct kv *kv, MDB_txn *txn, uint64_t id, struct kv_record *rec)
{
	uint8_t idb[8];
	MDB_val k = { sizeof(idb), idb }, v;
	int rc;

	kv_put_u64(idb, id);
	if ((rc = mdb_get(txn, kv->vals, &k, &v)) != 0)
		return rc;
	return kv_record_parse(&v, rec);
}

static int
kv_record_write(struct kv *kv, MDB_txn *txn, uint64_t id, uint64_t ns, const struct kv_put *p)
{
	uint8_t idb[8], *out;
	MDB_val k = { sizeof(idb), idb }, v;
	int rc;

	kv_put_u64(idb, id);
	v.mv_size = KV_RECORD_HEADER + p->key_len + p->metadata_len + p->value_len;
	v.mv_data = NULL;
	/* MDB_RESERVE: the value is written in place, not built in a copy first. */
	if ((rc = mdb_put(txn, kv->vals, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	out = v.mv_data;
	out[0] = KV_RECORD_FORMAT;
	kv_put_u64(out + 1, ns);
	kv_put_u64(out + 9, p->expiration);
	out[17] = (uint8_t)(p->key_len >> 8);
	out[18] = (uint8_t)p->key_len;
	out[19] = (uint8_t)(p->metadata_len >> 8);
	out[20] = (uint8_t)p->metadata_len;
	out += KV_RECORD_HEADER;
	memcpy(out, p->key, p->key_len);
	out += p->key_len;
	if (p->metadata_len > 0)
		memcpy(out, p->metadata, p->metadata_len);
	out += p->metadata_len;
	if (p->value_len > 0)
		memcpy(out, p->value, p->value_len);
	return 0;
}

static int
kv_expiry_change(struct kv *kv, MDB_txn *txn, uint64_t expiration, uint64_t id, bool add)
{
	uint8_t kb[16];
	MDB_val k = { sizeof(kb), kb }, v = { 0, NULL };
	int rc;

	kv_put_u64(kb, expiration);
	kv_put_u64(kb + 8, id);
	if (add)
		return mdb_put(txn, kv->expiry, &k, &v, 0);
	rc = mdb_del(txn, kv->expiry, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Positions cur on the item of (ns, key) and sets its value id: 0, MDB_NOTFOUND or a code. */
static int
kv_item_seek(MDB_cursor *cur, uint64_t ns, const uint8_t *key, size_t len, uint64_t *id)
{
	uint8_t kb[8 + KV_HEAD_MAX], field[KV_TAIL_FIELD];
	MDB_val k, d;
	int rc;

	k.mv_data = kb;
	k.mv_size = kv_lmdb_key(ns, key, len, kb);
	kv_tail_field(key, len, field);
	d.mv_data = field;
	d.mv_size = sizeof(field);
	/* The probe is the item without its id: the first item not below it is ours if any. */
	if ((rc = mdb_cursor_get(cur, &k, &d, MDB_GET_BOTH_RANGE)) != 0)
		return rc;
	if ((rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT)) != 0)
		return rc;
	if (d.mv_size != KV_ITEM_SIZE)
		return MDB_CORRUPTED;
	if (memcmp(d.mv_data, field, KV_TAIL_FIELD) != 0)
		return MDB_NOTFOUND;
	*id = kv_get_u64((const uint8_t *)d.mv_data + KV_TAIL_FIELD);
	return 0;
}

static int
kv_item_add(struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len, uint64_t id)
{
	uint8_t kb[8 + KV_HEAD_MAX], item[KV_ITEM_SIZE];
	MDB_val k, d = { sizeof(item), item };

	k.mv_data = kb;
	k.mv_size = kv_lmdb_key(ns, key, len, kb);
	kv_tail_field(key, len, item);
	kv_put_u64(item + KV_TAIL_FIELD, id);
	return mdb_put(txn, kv->keys, &k, &d, MDB_NODUPDATA);
}

static int
kv_item_find(struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len, uint64_t *id)
{
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(txn, kv->keys, &cur)) != 0)
		return rc;
	rc = kv_item_seek(cur, ns, key, len, id);
	mdb_cursor_close(cur);
	return rc;
}

int
kv_entry_get(
    struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len, struct kv_record *rec)
{
	uint64_t id;
	int rc;

	if ((rc = kv_item_find(kv, txn, ns, key, len, &id)) != 0)
		return rc;
	/* An item without its record means the two databases disagree. */
	rc = kv_record_read(kv, txn, id, rec);
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

int
kv_entry_put(struct kv *kv, MDB_txn *txn, uint64_t ns, const struct kv_put *p, struct kv_delta *d)
{
	struct kv_record old;
	uint64_t id, old_expiration = 0;
	size_t old_bytes = 0;
	int rc;

	rc = kv_item_find(kv, txn, ns, p->key, p->key_len, &id);
	if (rc == 0) {
		if ((rc = kv_record_read(kv, txn, id, &old)) != 0)
			return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
		old_expiration = old.expiration;
		old_bytes = kv_record_bytes(&old);
		if (old_expiration != 0 && old_expiration != p->expiration &&
		    (rc = kv_expiry_change(kv, txn, old_expiration, id, false)) != 0)
			return rc;
	} else if (rc == MDB_NOTFOUND) {
		if ((rc = kv_seq_next(kv, txn, &id)) != 0 ||
		    (rc = kv_item_add(kv, txn, ns, p->key, p->key_len, id)) != 0)
			return rc;
		d->keys++;
	} else
		return rc;
	if ((rc = kv_record_write(kv, txn, id, ns, p)) != 0)
		return rc;
	if (p->expiration != 0 && p->expiration != old_expiration &&
	    (rc = kv_expiry_change(kv, txn, p->expiration, id, true)) != 0)
		return rc;
	d->bytes += (int64_t)(p->key_len + p->metadata_len + p->value_len) - (int64_t)old_bytes;
	return 0;
}

int
kv_entry_delete_id(struct kv *kv, MDB_txn *txn, uint64_t id, uint64_t *ns, struct kv_delta *d)
{
	struct kv_record rec;
	uint8_t key[KV_KEY_MAX], idb[8];
	MDB_val k = { sizeof(idb), idb };
	MDB_cursor *cur;
	uint64_t expiration, found;
	size_t len, bytes;
	int rc;

	if ((rc = kv_record_read(kv, txn, id, &rec)) != 0)
		return rc;
	/* Copies: the record's pages may move once this transaction writes. */
	*ns = rec.ns;
	expiration = rec.expiration;
	len = rec.key_len;
	bytes = kv_record_bytes(&rec);
	memcpy(key, rec.key, len);
	if ((rc = mdb_cursor_open(txn, kv->keys, &cur)) != 0)
		return rc;
	rc = kv_item_seek(cur, *ns, key, len, &found);
	if (rc == 0 && found == id)
		rc = mdb_cursor_del(cur, 0);
	else if (rc == 0 || rc == MDB_NOTFOUND)
		rc = 0; /* no item points here; the record is an orphan and goes alone */
	mdb_cursor_close(cur);
	if (rc != 0)
		return rc;
	if (expiration != 0 && (rc = kv_expiry_change(kv, txn, expiration, id, false)) != 0)
		return rc;
	kv_put_u64(idb, id);
	if ((rc = mdb_del(txn, kv->vals, &k, NULL)) != 0)
		return rc;
	d->keys--;
	d->bytes -= (int64_t)bytes;
	return 0;
}

int
kv_entry_delete(
    struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len, struct kv_delta *d)
{
	uint64_t id, owner;
	int rc;

	rc = kv_item_find(kv, txn, ns, key, len, &id);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	rc = kv_entry_delete_id(kv, txn, id, &owner, d);
	return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

int
kv_iter_open(struct kv *kv, MDB_txn *txn, uint64_t ns, struct kv_iter *it)
{
	it->kv = kv;
	it->ns = ns;
	it->len = 0;
	it->id = 0;
	return mdb_cursor_open(txn, kv->keys, &it->cursor);
}

void
kv_iter_close(struct kv_iter *it)
{
	if (it->cursor != NULL)
		mdb_cursor_close(it->cursor);
	it->cursor = NULL;
}

/* Rebuilds the user key of the cursor's current item; MDB_NOTFOUND past the namespace. */
static int
kv_iter_load(struct kv_iter *it)
{
	MDB_val k, d;
	const uint8_t *kp, *dp;
	size_t head, tail;
	int rc;

	if ((rc = mdb_cursor_get(it->cursor, &k, &d, MDB_GET_CURRENT)) != 0)
		return rc;
	kp = k.mv_data;
	dp = d.mv_data;
	if (k.mv_size < 8 || kv_get_u64(kp) != it->ns)
		return MDB_NOTFOUND;
	head = k.mv_size - 8;
	if (head > KV_HEAD_MAX || d.mv_size != KV_ITEM_SIZE)
		return MDB_CORRUPTED;
	tail = dp[KV_TAIL_MAX];
	if (tail > KV_TAIL_MAX || (tail > 0 && head != KV_HEAD_MAX) || head + tail == 0)
		return MDB_CORRUPTED;
	memcpy(it->key, kp + 8, head);
	memcpy(it->key + head, dp, tail);
	it->len = head + tail;
	it->id = kv_get_u64(dp + KV_TAIL_FIELD);
	return 0;
}

int
kv_iter_seek(struct kv_iter *it, const uint8_t *from, size_t len)
{
	uint8_t kb[8 + KV_HEAD_MAX], field[KV_TAIL_FIELD];
	MDB_val k, d;
	size_t klen = kv_lmdb_key(it->ns, from, len, kb);
	int rc;

	k.mv_data = kb;
	k.mv_size = klen;
	if ((rc = mdb_cursor_get(it->cursor, &k, &d, MDB_SET_RANGE)) != 0)
		return rc;
	/*
	 * A long `from` shares its LMDB key with the keys of the same head:
	 * skip, among those, the ones whose tail sorts before its tail.
	 */
	if (len > KV_HEAD_MAX && k.mv_size == klen && memcmp(k.mv_data, kb, klen) == 0) {
		kv_tail_field(from, len, field);
		d.mv_data = field;
		d.mv_size = sizeof(field);
		rc = mdb_cursor_get(it->cursor, &k, &d, MDB_GET_BOTH_RANGE);
		if (rc == MDB_NOTFOUND) {
			k.mv_data = kb;
			k.mv_size = klen;
			if ((rc = mdb_cursor_get(it->cursor, &k, &d, MDB_SET)) == 0)
				rc = mdb_cursor_get(it->cursor, &k, &d, MDB_NEXT_NODUP);
		}
		if (rc != 0)
			return rc;
	}
	return kv_iter_load(it);
}

int
kv_iter_next(struct kv_iter *it)
{
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_get(it->cursor, &k, &d, MDB_NEXT)) != 0)
		return rc;
	return kv_iter_load(it);
}

int
kv_iter_delete(struct kv_iter *it, struct kv_delta *d)
{
	MDB_txn *txn = mdb_cursor_txn(it->cursor);
	struct kv_record rec;
	uint8_t idb[8];
	MDB_val k = { sizeof(idb), idb };
	uint64_t expiration = 0;
	size_t bytes = 0;
	bool counted = false;
	int rc;

	rc = kv_record_read(it->kv, txn, it->id, &rec);
	if (rc == 0) {
		expiration = rec.expiration;
		bytes = kv_record_bytes(&rec);
		counted = true;
	} else if (rc != MDB_NOTFOUND && rc != MDB_CORRUPTED)
		return rc;
	if ((rc = mdb_cursor_del(it->cursor, 0)) != 0)
		return rc;
	if (expiration != 0 && (rc = kv_expiry_change(it->kv, txn, expiration, it->id, false)) != 0)
		return rc;
	kv_put_u64(idb, it->id);
	if ((rc = mdb_del(txn, it->kv->vals, &k, NULL)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (counted) {
		d->keys--;
		d->bytes -= (int64_t)bytes;
	}
	return 0;
}

int
kv_seq_next(struct kv *kv, MDB_txn *txn, uint64_t *out)
{
	uint8_t buf[8];
	MDB_val k = { 3, (void *)"seq" }, v;
	uint64_t seq = 0;
	int rc;

	rc = mdb_get(txn, kv->meta, &k, &v);
	if (rc == 0 && v.mv_size != sizeof(buf))
		return MDB_CORRUPTED;
	if (rc == 0)
		seq = kv_get_u64(v.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc;
	seq++;
	kv_put_u64(buf, seq);
	v.mv_data = buf;
	v.mv_size = sizeof(buf);
	if ((rc = mdb_put(txn, kv->meta, &k, &v, 0)) != 0)
		return rc;
	*out = seq;
	return 0;
}

int
kv_usage_get(struct kv *kv, MDB_txn *txn, const char *tenant, struct kv_usage *u)
{
	MDB_val k = { strlen(tenant), (void *)tenant }, v;
	int rc;

	u->keys = 0;
	u->bytes = 0;
	rc = mdb_get(txn, kv->usage, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 16)
		return MDB_CORRUPTED;
	u->keys = kv_get_u64(v.mv_data);
	u->bytes = kv_get_u64((const uint8_t *)v.mv_data + 8);
	return 0;
}

static uint64_t
kv_usage_add(uint64_t count, int64_t change)
{
	if (change < 0)
		return (uint64_t)-change > count ? 0 : count - (uint64_t)-change;
	return count + (uint64_t)change;
}

int
kv_usage_apply(struct kv *kv, MDB_txn *txn, const char *tenant, const struct kv_delta *d)
{
	uint8_t buf[16];
	MDB_val k = { strlen(tenant), (void *)tenant }, v = { sizeof(buf), buf };
	struct kv_usage u;
	int rc;

	if (d->keys == 0 && d->bytes == 0)
		return 0;
	if ((rc = kv_usage_get(kv, txn, tenant, &u)) != 0)
		return rc;
	u.keys = kv_usage_add(u.keys, d->keys);
	u.bytes = kv_usage_add(u.bytes, d->bytes);
	if (u.keys == 0 && u.bytes == 0) {
		rc = mdb_del(txn, kv->usage, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	kv_put_u64(buf, u.keys);
	kv_put_u64(buf + 8, u.bytes);
	return mdb_put(txn, kv->usage, &k, &v, 0);
}

bool
kv_usage_allows(const struct store_limits *limits, const struct kv_usage *before,
    const struct kv_delta *d, const char *op, struct store_result *r)
{
	if (limits == NULL)
		return true;
	if (limits->kv_keys != 0 && d->keys > 0 &&
	    kv_usage_add(before->keys, d->keys) > limits->kv_keys) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV %s failed: 413 the KV quota of %" PRIu64 " keys is used up", op,
		    limits->kv_keys);
		return false;
	}
	if (limits->kv_bytes != 0 && d->bytes > 0 &&
	    kv_usage_add(before->bytes, d->bytes) > limits->kv_bytes) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV %s failed: 413 the KV storage quota of %" PRIu64 " bytes is used up", op,
		    limits->kv_bytes);
		return false;
	}
	return true;
}
