/*
 * kv_op: the KV methods a script calls: get, getMany, put, delete and
 * list (arguments and results as in broker/store.h).  Runs in the broker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kv_internal.h"
#include "common/ipc.h"

/* Expired keys one list call passes over before it returns what it has, with a cursor. */
#define KV_LIST_SKIP_MAX 10000
/* The longest cursor: base64url of a 512-byte key. */
#define KV_CURSOR_MAX ((KV_KEY_MAX * 4 + 2) / 3)

/* A record's metadata as JSON; NULL on ENOMEM or a damaged record. */
static json_t *
kv_op_metadata(const struct kv_record *rec)
{
	if (rec->metadata_len == 0)
		return json_null();
	return json_loadb(rec->metadata, rec->metadata_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static int
kv_op_found(const struct kv_record *rec, struct store_result *r)
{
	json_t *doc = json_object();
	uint8_t *mem = NULL;

	if (doc == NULL || json_object_set_new(doc, "found", json_true()) != 0 ||
	    json_object_set_new(doc, "metadata", kv_op_metadata(rec)) != 0 ||
	    (rec->expiration != 0 &&
		json_object_set_new(doc, "expiration", json_integer((json_int_t)rec->expiration)) !=
		    0) ||
	    (mem = malloc(rec->value_len > 0 ? rec->value_len : 1)) == NULL) {
		json_decref(doc);
		return ENOMEM;
	}
	if (rec->value_len > 0)
		memcpy(mem, rec->value, rec->value_len);
	r->doc = doc;
	r->body_kind = STORE_BODY_MEM;
	r->mem = mem;
	r->mem_len = rec->value_len;
	return 0;
}

static int
kv_op_missing(struct store_result *r)
{
	json_t *doc = json_object();

	if (doc == NULL || json_object_set_new(doc, "found", json_false()) != 0 ||
	    json_object_set_new(doc, "metadata", json_null()) != 0) {
		json_decref(doc);
		return ENOMEM;
	}
	r->doc = doc;
	return 0;
}

/* The live record of a key: 0, MDB_NOTFOUND (also when expired), KV_REFUSED or a code. */
static int
kv_op_lookup(
    struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len, struct kv_record *rec)
{
	int rc = kv_entry_get(kv, txn, ns, key, len, rec);

	if (rc == 0 && kv_record_is_expired(rec, kv->clock()))
		return MDB_NOTFOUND;
	return rc;
}

void
kv_op_get(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_record rec;
	const uint8_t *key;
	size_t key_len;
	MDB_txn *txn;
	uint64_t ns;
	int rc;

	if (kv_arg_key(c->args, "key", "GET", &key, &key_len, r) == -1 ||
	    kv_read_begin(kv, c, "GET", &txn, r) == -1)
		return;
	if ((rc = kv_ns_lookup(kv, txn, c, &ns, r)) == 0)
		rc = kv_op_lookup(kv, txn, ns, key, key_len, &rec);
	if (rc == 0)
		rc = kv_op_found(&rec, r); /* copies the value: the map goes with the transaction */
	else if (rc == MDB_NOTFOUND)
		rc = kv_op_missing(r);
	if (rc != 0 && rc != KV_REFUSED)
		kv_fail_internal(r, c, "GET", rc);
	mdb_txn_abort(txn);
}

static int
kv_op_bulk_keys(const json_t *keys, struct store_result *r)
{
	const json_t *k;
	size_t i;

	if (!json_is_array(keys)) {
		store_fail(r, STORE_E_INVALID, "KV GET_BULK failed: 400 \"keys\" must be an array");
		return -1;
	}
	if (json_array_size(keys) == 0) {
		store_fail(
		    r, STORE_E_INVALID, "KV GET_BULK failed: You must request a minimum of 1 key");
		return -1;
	}
	if (json_array_size(keys) > KV_GET_BULK_MAX) {
		store_fail(r, STORE_E_INVALID,
		    "KV GET_BULK failed: You can request a maximum of %d keys", KV_GET_BULK_MAX);
		return -1;
	}
	json_array_foreach (keys, i, k) {
		if (!json_is_string(k)) {
			store_fail(r, STORE_E_INVALID,
			    "KV GET_BULK failed: 400 \"keys\" must hold strings only");
			return -1;
		}
		if (kv_key_check("GET_BULK", (const uint8_t *)json_string_value(k),
			json_string_length(k), r) == -1)
			return -1;
	}
	return 0;
}

/* {"key", "found", "value", "metadata"} for one key; rec NULL when it is missing. */
static json_t *
kv_op_bulk_value(json_t *name, const struct kv_record *rec)
{
	json_t *v = json_object();

	if (v == NULL || json_object_set(v, "key", name) != 0 ||
	    json_object_set_new(v, "found", json_boolean(rec != NULL)) != 0 ||
	    json_object_set_new(v, "value",
		rec != NULL ? kv_utf8_string(rec->value, rec->value_len) : json_null()) != 0 ||
	    json_object_set_new(v, "metadata", rec != NULL ? kv_op_metadata(rec) : json_null()) !=
		0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static int
kv_op_bulk_values(
    struct kv *kv, MDB_txn *txn, uint64_t ns, json_t *keys, json_t *values, struct store_result *r)
{
	struct kv_record rec;
	json_t *name;
	size_t i, total = 0;
	int rc;

	json_array_foreach (keys, i, name) {
		rc = kv_op_lookup(kv, txn, ns, (const uint8_t *)json_string_value(name),
		    json_string_length(name), &rec);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		/* Checked before the copies: the values may add up to far more than a result holds.
		 */
		if (rc == 0 && (total += rec.value_len) > IPC_RESULT_MAX) {
			store_fail(r, STORE_E_TOO_LARGE,
			    "KV GET_BULK failed: 413 the values add up to more than %u bytes",
			    IPC_RESULT_MAX);
			return KV_REFUSED;
		}
		if (json_array_append_new(values, kv_op_bulk_value(name, rc == 0 ? &rec : NULL)) !=
		    0)
			return ENOMEM;
	}
	return 0;
}

void
kv_op_get_many(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	json_t *keys = json_object_get(c->args, "keys"), *values, *doc = NULL;
	MDB_txn *txn;
	uint64_t ns;
	int rc;

	if (kv_op_bulk_keys(keys, r) == -1 || kv_read_begin(kv, c, "GET_BULK", &txn, r) == -1)
		return;
	if ((values = json_array()) == NULL)
		rc = ENOMEM;
	else if ((rc = kv_ns_lookup(kv, txn, c, &ns, r)) == 0)
		rc = kv_op_bulk_values(kv, txn, ns, keys, values, r);
	mdb_txn_abort(txn);
	if (rc == 0 &&
	    ((doc = json_object()) == NULL || json_object_set(doc, "values", values) != 0))
		rc = ENOMEM;
	json_decref(values);
	/* Escapes and replacement characters make the text longer than the values. */
	if (rc == 0 && json_dumpb(doc, NULL, 0, JSON_COMPACT) > IPC_RESULT_MAX) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV GET_BULK failed: 413 the values add up to more than %u bytes",
		    IPC_RESULT_MAX);
		rc = KV_REFUSED;
	}
	if (rc != 0) {
		json_decref(doc);
		if (rc != KV_REFUSED)
			kv_fail_internal(r, c, "GET_BULK", rc);
		return;
	}
	r->doc = doc;
}

int
kv_puts_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	const struct kv_puts *p = arg;
	struct kv_usage before;
	struct kv_delta d = { 0, 0 };
	uint64_t ns;
	int rc;

	if ((rc = kv_ns_lookup(kv, txn, p->c, &ns, r)) != 0 ||
	    (rc = kv_usage_get(kv, txn, p->c->tenant, &before)) != 0)
		return rc;
	for (size_t i = 0; i < p->n; i++)
		if ((rc = kv_entry_put(kv, txn, ns, &p->put[i], &d)) != 0)
			return rc;
	if (!kv_usage_allows(p->c->limits, &before, &d, p->op, r))
		return KV_REFUSED;
	return kv_usage_apply(kv, txn, p->c->tenant, &d);
}

void
kv_op_put(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_put put;
	struct kv_puts p = { c, "PUT", &put, 1 };
	char *metadata;

	memset(&put, 0, sizeof(put));
	if (kv_arg_key(c->args, "key", "PUT", &put.key, &put.key_len, r) == -1 ||
	    kv_arg_expiration(json_object_get(c->args, "expiration"),
		json_object_get(c->args, "expiration_ttl"), kv->clock(), "PUT", &put.expiration,
		r) == -1)
		return;
	if (len > KV_VALUE_MAX) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV PUT failed: 413 Value length of %zu exceeds limit of %u.", len,
		    KV_VALUE_MAX);
		return;
	}
	if (kv_arg_metadata(
		json_object_get(c->args, "metadata"), "PUT", &metadata, &put.metadata_len, r) == -1)
		return;
	put.metadata = metadata;
	put.value = body;
	put.value_len = len;
	if (kv_write(kv, c, "PUT", kv_puts_txn, &p, r) == 0)
		r->doc = json_object();
	free(metadata);
}

struct kv_op_delete {
	const struct store_call *c;
	const uint8_t *key;
	size_t len;
};

static int
kv_op_delete_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	struct kv_op_delete *del = arg;
	struct kv_delta d = { 0, 0 };
	uint64_t ns;
	int rc;

	if ((rc = kv_ns_lookup(kv, txn, del->c, &ns, r)) != 0 ||
	    (rc = kv_entry_delete(kv, txn, ns, del->key, del->len, &d)) != 0)
		return rc;
	return kv_usage_apply(kv, txn, del->c->tenant, &d);
}

void
kv_op_delete(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_op_delete d = { c, NULL, 0 };

	if (kv_arg_key(c->args, "key", "DELETE", &d.key, &d.len, r) == -1)
		return;
	if (kv_write(kv, c, "DELETE", kv_op_delete_txn, &d, r) == 0)
		r->doc = json_object();
}

struct kv_op_list {
	const uint8_t *prefix;
	size_t prefix_len;
	uint8_t cursor[KV_KEY_MAX + 3];
	size_t cursor_len; /* 0: from the start */
	size_t limit;
	/* What the walk found. */
	uint8_t last[KV_KEY_MAX];
	size_t last_len;
	bool complete;
};

static int
kv_op_list_prefix(const json_t *v, struct kv_op_list *l, struct store_result *r)
{
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		store_fail(r, STORE_E_INVALID, "KV LIST failed: 400 \"prefix\" must be a string");
		return -1;
	}
	l->prefix = (const uint8_t *)json_string_value(v);
	l->prefix_len = json_string_length(v);
	if (l->prefix_len > KV_KEY_MAX) {
		store_fail(r, STORE_E_TOO_LARGE,
		    "KV LIST failed: 414 UTF-8 encoded length of %zu exceeds key length limit of "
		    "%d.",
		    l->prefix_len, KV_KEY_MAX);
		return -1;
	}
	if (!utf8_is_valid(l->prefix, l->prefix_len)) {
		store_fail(
		    r, STORE_E_INVALID, "KV LIST failed: 400 the prefix must be valid UTF-8");
		return -1;
	}
	return 0;
}

static int
kv_op_list_limit(const json_t *v, struct kv_op_list *l, struct store_result *r)
{
	json_int_t n;

	l->limit = KV_LIST_MAX;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		store_fail(r, STORE_E_INVALID,
		    "KV LIST failed: 400 Invalid key_count_limit. Please specify an integer.");
		return -1;
	}
	if ((n = json_integer_value(v)) < 1 || n > KV_LIST_MAX) {
		store_fail(r, STORE_E_INVALID,
		    "KV LIST failed: 400 Invalid key_count_limit of %" JSON_INTEGER_FORMAT
		    ". Please specify an integer between 1 and %d.",
		    n, KV_LIST_MAX);
		return -1;
	}
	l->limit = (size_t)n;
	return 0;
}

static int
kv_op_list_cursor(const json_t *v, struct kv_op_list *l, struct store_result *r)
{
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		store_fail(r, STORE_E_INVALID, "KV LIST failed: 400 \"cursor\" must be a string");
		return -1;
	}
	if ((n = json_string_length(v)) == 0)
		return 0;
	if (n > KV_CURSOR_MAX ||
	    base64_decode(json_string_value(v), n, BASE64_URL | KV_BASE64_STRICT, l->cursor,
		&l->cursor_len) == -1 ||
	    l->cursor_len == 0 || l->cursor_len > KV_KEY_MAX ||
	    !utf8_is_valid(l->cursor, l->cursor_len)) {
		store_fail(r, STORE_E_INVALID, "KV LIST failed: 400 Invalid cursor");
		return -1;
	}
	return 0;
}

static int
kv_op_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int cmp = memcmp(a, b, alen < blen ? alen : blen);

	if (cmp != 0)
		return cmp;
	return alen < blen ? -1 : alen > blen;
}

static json_t *
kv_op_list_entry(const struct kv_iter *it, const struct kv_record *rec)
{
	json_t *e = json_object();

	if (e == NULL ||
	    json_object_set_new(e, "name", json_stringn((const char *)it->key, it->len)) != 0 ||
	    (rec->expiration != 0 &&
		json_object_set_new(e, "expiration", json_integer((json_int_t)rec->expiration)) !=
		    0) ||
	    (rec->metadata_len != 0 &&
		json_object_set_new(e, "metadata", kv_op_metadata(rec)) != 0)) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* Positions the walk on the first key the page may hold. */
static int
kv_op_list_start(struct kv_iter *it, const struct kv_op_list *l)
{
	int rc;

	if (l->cursor_len == 0 ||
	    kv_op_key_cmp(l->cursor, l->cursor_len, l->prefix, l->prefix_len) < 0)
		return kv_iter_seek(it, l->prefix, l->prefix_len);
	/* The cursor is the last key of the page before: start after it. */
	rc = kv_iter_seek(it, l->cursor, l->cursor_len);
	if (rc == 0 && it->len == l->cursor_len && memcmp(it->key, l->cursor, it->len) == 0)
		rc = kv_iter_next(it);
	return rc;
}

static int
kv_op_list_walk(struct kv *kv, struct kv_iter *it, struct kv_op_list *l, json_t *keys)
{
	MDB_txn *txn = mdb_cursor_txn(it->cursor);
	struct kv_record rec;
	uint64_t now_s = kv->clock();
	size_t count = 0, skipped = 0;
	bool expired;
	int rc;

	for (rc = kv_op_list_start(it, l); rc == 0; rc = kv_iter_next(it)) {
		if (it->len < l->prefix_len || memcmp(it->key, l->prefix, l->prefix_len) != 0) {
			rc = MDB_NOTFOUND;
			break;
		}
		if ((rc = kv_record_read(kv, txn, it->id, &rec)) != 0)
			return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
		expired = kv_record_is_expired(&rec, now_s);
		/* A visible key past a full page: there is more. */
		if (!expired && count == l->limit)
			return 0;
		if (!expired && json_array_append_new(keys, kv_op_list_entry(it, &rec)) != 0)
			return ENOMEM;
		count += !expired;
		memcpy(l->last, it->key, it->len);
		l->last_len = it->len;
		if (expired && ++skipped >= KV_LIST_SKIP_MAX)
			return 0;
	}
	if (rc == MDB_NOTFOUND) {
		l->complete = true;
		rc = 0;
	}
	return rc;
}

static json_t *
kv_op_list_doc(json_t *keys, const struct kv_op_list *l)
{
	char cursor[KV_CURSOR_MAX + 1];
	json_t *doc = json_object();

	if (doc == NULL || json_object_set(doc, "keys", keys) != 0 ||
	    json_object_set_new(doc, "list_complete", json_boolean(l->complete)) != 0)
		goto fail;
	if (!l->complete) {
		kv_base64url_encode(l->last, l->last_len, cursor);
		if (json_object_set_new(doc, "cursor", json_string(cursor)) != 0)
			goto fail;
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

void
kv_op_list(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_op_list *l;
	struct kv_iter it;
	json_t *keys = NULL;
	MDB_txn *txn;
	uint64_t ns;
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		kv_fail_internal(r, c, "LIST", ENOMEM);
		return;
	}
	l->prefix = (const uint8_t *)"";
	if (kv_op_list_prefix(json_object_get(c->args, "prefix"), l, r) == -1 ||
	    kv_op_list_limit(json_object_get(c->args, "limit"), l, r) == -1 ||
	    kv_op_list_cursor(json_object_get(c->args, "cursor"), l, r) == -1 ||
	    kv_read_begin(kv, c, "LIST", &txn, r) == -1) {
		free(l);
		return;
	}
	if ((rc = kv_ns_lookup(kv, txn, c, &ns, r)) == 0 && (keys = json_array()) == NULL)
		rc = ENOMEM;
	if (rc == 0 && (rc = kv_iter_open(kv, txn, ns, &it)) == 0) {
		rc = kv_op_list_walk(kv, &it, l, keys);
		kv_iter_close(&it);
	}
	mdb_txn_abort(txn);
	if (rc == 0 && (r->doc = kv_op_list_doc(keys, l)) == NULL)
		rc = ENOMEM;
	if (rc != 0 && rc != KV_REFUSED)
		kv_fail_internal(r, c, "LIST", rc);
	json_decref(keys);
	free(l);
}
