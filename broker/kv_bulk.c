/*
 * kv_bulk: the admin API's KV bulk methods, bulkPut and bulkDelete, each
 * one transaction over a JSON array body.  Runs in the broker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kv_internal.h"

struct kv_bulk_item {
	struct kv_put put;
	char *metadata;   /* owned */
	uint8_t *decoded; /* owned: the value of a "base64" item */
};

struct kv_bulk {
	const struct store_call *c;
	const char *op;
	struct kv_bulk_item *items;
	size_t n;
};

/* The body as a JSON array of at most KV_BULK_ITEMS_MAX elements; NULL with r set. */
static json_t *
kv_bulk_parse(const uint8_t *body, size_t len, const char *op, struct store_result *r)
{
	json_t *a = json_loadb((const char *)body, len, JSON_ALLOW_NUL, NULL);

	if (!json_is_array(a)) {
		store_fail(
		    r, STORE_E_INVALID, "KV %s failed: 400 the body must be a JSON array", op);
		json_decref(a);
		return NULL;
	}
	if (json_array_size(a) > KV_BULK_ITEMS_MAX) {
		store_fail(r, STORE_E_INVALID, "KV %s failed: 400 at most %d items per call", op,
		    KV_BULK_ITEMS_MAX);
		json_decref(a);
		return NULL;
	}
	return a;
}

static int
kv_bulk_value(const json_t *o, struct kv_bulk_item *it, struct store_result *r)
{
	const json_t *value = json_object_get(o, "value"), *base64 = json_object_get(o, "base64");
	const char *text;
	size_t n;

	if (!json_is_string(value) || (base64 != NULL && !json_is_boolean(base64))) {
		store_fail(r, STORE_E_INVALID, "bad value");
		return -1;
	}
	text = json_string_value(value);
	n = json_string_length(value);
	if (json_is_true(base64)) {
		if ((it->decoded = malloc(n / 4 * 3 + 3)) == NULL)
			return ENOMEM;
		if (kv_base64_decode(text, n, false, it->decoded, &it->put.value_len) == -1) {
			store_fail(r, STORE_E_INVALID, "bad base64");
			return -1;
		}
		it->put.value = it->decoded;
	} else {
		it->put.value = (const uint8_t *)text;
		it->put.value_len = n;
	}
	if (it->put.value_len > KV_VALUE_MAX) {
		store_fail(r, STORE_E_TOO_LARGE, "value too large");
		return -1;
	}
	return 0;
}

/* One item's checks: 0, -1 (the item is unsuccessful), or ENOMEM. */
static int
kv_bulk_item(const json_t *o, uint64_t now_s, struct kv_bulk_item *it)
{
	const json_t *key = json_object_get(o, "key");
	struct store_result scratch;
	int rc;

	memset(&scratch, 0, sizeof(scratch));
	it->put.key = (const uint8_t *)json_string_value(key);
	it->put.key_len = json_string_length(key);
	if (kv_key_check("PUT_BULK", it->put.key, it->put.key_len, &scratch) == -1)
		return -1;
	if ((rc = kv_bulk_value(o, it, &scratch)) != 0)
		return rc;
	if (kv_arg_expiration(json_object_get(o, "expiration"),
		json_object_get(o, "expiration_ttl"), now_s, "PUT_BULK", &it->put.expiration,
		&scratch) == -1 ||
	    kv_arg_metadata(json_object_get(o, "metadata"), "PUT_BULK", &it->metadata,
		&it->put.metadata_len, &scratch) == -1)
		return -1;
	it->put.metadata = it->metadata;
	return 0;
}

static void
kv_bulk_release(struct kv_bulk *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].metadata);
		free(b->items[i].decoded);
	}
	free(b->items);
}

/* Checks every item: good ones into b->items, keys of bad ones into unsuccessful. */
static int
kv_bulk_items(
    json_t *a, uint64_t now_s, struct kv_bulk *b, json_t *unsuccessful, struct store_result *r)
{
	json_t *o, *key;
	size_t i;
	int rc;

	if ((b->items = calloc(json_array_size(a) + 1, sizeof(*b->items))) == NULL)
		return ENOMEM;
	json_array_foreach (a, i, o) {
		if (!json_is_object(o) || !json_is_string(key = json_object_get(o, "key"))) {
			store_fail(r, STORE_E_INVALID,
			    "KV PUT_BULK failed: 400 item %zu is not an object with a \"key\" "
			    "string",
			    i);
			return KV_REFUSED;
		}
		rc = kv_bulk_item(o, now_s, &b->items[b->n]);
		if (rc == 0) {
			b->n++;
			continue;
		}
		/* The failed item's allocations go now; its slot is reused. */
		free(b->items[b->n].metadata);
		free(b->items[b->n].decoded);
		memset(&b->items[b->n], 0, sizeof(b->items[b->n]));
		if (rc != -1)
			return rc;
		if (json_array_append(unsuccessful, key) != 0)
			return ENOMEM;
	}
	return 0;
}

static int
kv_bulk_put_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	struct kv_bulk *b = arg;
	struct kv_usage before;
	struct kv_delta d = { 0, 0 };
	uint64_t ns;
	int rc;

	if ((rc = kv_ns_lookup(kv, txn, b->c, &ns, r)) != 0 ||
	    (rc = kv_usage_get(kv, txn, b->c->tenant, &before)) != 0)
		return rc;
	for (size_t i = 0; i < b->n; i++)
		if ((rc = kv_entry_put(kv, txn, ns, &b->items[i].put, &d)) != 0)
			return rc;
	if (!kv_usage_allows(b->c->limits, &before, &d, "PUT_BULK", r))
		return KV_REFUSED;
	return kv_usage_apply(kv, txn, b->c->tenant, &d);
}

static json_t *
kv_bulk_put_doc(size_t n, json_t *unsuccessful)
{
	json_t *doc = json_object();

	if (doc == NULL ||
	    json_object_set_new(doc, "successful_key_count", json_integer((json_int_t)n)) != 0 ||
	    json_object_set(doc, "unsuccessful_keys", unsuccessful) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void
kv_bulk_put(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_bulk b = { c, "PUT_BULK", NULL, 0 };
	json_t *a, *unsuccessful;
	int rc;

	if ((a = kv_bulk_parse(body, len, b.op, r)) == NULL)
		return;
	if ((unsuccessful = json_array()) == NULL)
		rc = ENOMEM;
	else
		rc = kv_bulk_items(a, kv->clock(), &b, unsuccessful, r);
	if (rc == 0 && kv_write(kv, c, b.op, kv_bulk_put_txn, &b, r) == -1)
		rc = KV_REFUSED;
	if (rc == 0 && (r->doc = kv_bulk_put_doc(b.n, unsuccessful)) == NULL)
		rc = ENOMEM;
	if (rc != 0 && rc != KV_REFUSED)
		kv_fail_internal(r, c, b.op, rc);
	kv_bulk_release(&b);
	json_decref(unsuccessful);
	json_decref(a);
}

struct kv_bulk_delete {
	const struct store_call *c;
	json_t *keys;
};

static int
kv_bulk_delete_txn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r)
{
	struct kv_bulk_delete *b = arg;
	struct kv_delta d = { 0, 0 };
	json_t *key;
	uint64_t ns;
	size_t i;
	int rc;

	if ((rc = kv_ns_lookup(kv, txn, b->c, &ns, r)) != 0)
		return rc;
	json_array_foreach (b->keys, i, key) {
		rc = kv_entry_delete(kv, txn, ns, (const uint8_t *)json_string_value(key),
		    json_string_length(key), &d);
		if (rc != 0)
			return rc;
	}
	return kv_usage_apply(kv, txn, b->c->tenant, &d);
}

/* Every element a valid key, or the whole call fails: a key that cannot exist is a bad call. */
static int
kv_bulk_delete_keys(const json_t *a, struct store_result *r)
{
	const json_t *key;
	size_t i;

	json_array_foreach (a, i, key) {
		if (!json_is_string(key)) {
			store_fail(r, STORE_E_INVALID,
			    "KV DELETE_BULK failed: 400 item %zu is not a string", i);
			return -1;
		}
		if (kv_key_check("DELETE_BULK", (const uint8_t *)json_string_value(key),
			json_string_length(key), r) == -1)
			return -1;
	}
	return 0;
}

void
kv_bulk_delete(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	struct kv_bulk_delete b = { c, NULL };
	json_t *doc;

	if ((b.keys = kv_bulk_parse(body, len, "DELETE_BULK", r)) == NULL)
		return;
	if (kv_bulk_delete_keys(b.keys, r) == 0 &&
	    kv_write(kv, c, "DELETE_BULK", kv_bulk_delete_txn, &b, r) == 0) {
		doc = json_object();
		if (doc == NULL ||
		    json_object_set_new(doc, "successful_key_count",
			json_integer((json_int_t)json_array_size(b.keys))) != 0) {
			json_decref(doc);
			kv_fail_internal(r, c, "DELETE_BULK", ENOMEM);
		} else
			r->doc = doc;
	}
	json_decref(b.keys);
}
