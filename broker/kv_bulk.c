/*
 * kv_bulk: the admin API's KV bulk methods, bulkPut and bulkDelete, each
 * one transaction over a JSON array body.  Runs in the broker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kv_internal.h"

/* What one checked put points into; freed with the call. */
struct kv_bulk_owned {
	char *metadata;   /* owned */
	uint8_t *decoded; /* owned: the value of a "base64" item */
};

struct kv_bulk {
	struct kv_put *puts;         /* the items that passed their checks */
	struct kv_bulk_owned *owned; /* puts[i] points into owned[i] */
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
kv_bulk_value(
    const json_t *o, struct kv_put *put, struct kv_bulk_owned *owned, struct store_result *r)
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
		if ((owned->decoded = malloc(base64_decoded_max(n))) == NULL)
			return ENOMEM;
		if (base64_decode(text, n, KV_BASE64_STRICT, owned->decoded, &put->value_len) ==
		    -1) {
			store_fail(r, STORE_E_INVALID, "bad base64");
			return -1;
		}
		put->value = owned->decoded;
	} else {
		put->value = (const uint8_t *)text;
		put->value_len = n;
	}
	if (put->value_len > KV_VALUE_MAX) {
		store_fail(r, STORE_E_TOO_LARGE, "value too large");
		return -1;
	}
	return 0;
}

/* One item's checks: 0, -1 (the item is unsuccessful), or ENOMEM. */
static int
kv_bulk_item(const json_t *o, uint64_t now_s, struct kv_put *put, struct kv_bulk_owned *owned)
{
	const json_t *key = json_object_get(o, "key");
	struct store_result scratch;
	int rc;

	memset(&scratch, 0, sizeof(scratch));
	put->key = (const uint8_t *)json_string_value(key);
	put->key_len = json_string_length(key);
	if (kv_key_check("PUT_BULK", put->key, put->key_len, &scratch) == -1)
		return -1;
	if ((rc = kv_bulk_value(o, put, owned, &scratch)) != 0)
		return rc;
	if (kv_arg_expiration(json_object_get(o, "expiration"),
		json_object_get(o, "expiration_ttl"), now_s, "PUT_BULK", &put->expiration,
		&scratch) == -1 ||
	    kv_arg_metadata(json_object_get(o, "metadata"), "PUT_BULK", &owned->metadata,
		&put->metadata_len, &scratch) == -1)
		return -1;
	put->metadata = owned->metadata;
	return 0;
}

static void
kv_bulk_release(struct kv_bulk *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->owned[i].metadata);
		free(b->owned[i].decoded);
	}
	free(b->puts);
	free(b->owned);
}

/* Checks every item: good ones into b->puts, keys of bad ones into unsuccessful. */
static int
kv_bulk_items(
    json_t *a, uint64_t now_s, struct kv_bulk *b, json_t *unsuccessful, struct store_result *r)
{
	json_t *o, *key;
	size_t i;
	int rc;

	if ((b->puts = calloc(json_array_size(a) + 1, sizeof(*b->puts))) == NULL ||
	    (b->owned = calloc(json_array_size(a) + 1, sizeof(*b->owned))) == NULL)
		return ENOMEM;
	json_array_foreach (a, i, o) {
		if (!json_is_object(o) || !json_is_string(key = json_object_get(o, "key"))) {
			store_fail(r, STORE_E_INVALID,
			    "KV PUT_BULK failed: 400 item %zu is not an object with a \"key\" "
			    "string",
			    i);
			return KV_REFUSED;
		}
		rc = kv_bulk_item(o, now_s, &b->puts[b->n], &b->owned[b->n]);
		if (rc == 0) {
			b->n++;
			continue;
		}
		/* The failed item's allocations go now; its slot is reused. */
		free(b->owned[b->n].metadata);
		free(b->owned[b->n].decoded);
		memset(&b->puts[b->n], 0, sizeof(b->puts[b->n]));
		memset(&b->owned[b->n], 0, sizeof(b->owned[b->n]));
		if (rc != -1)
			return rc;
		if (json_array_append(unsuccessful, key) != 0)
			return ENOMEM;
	}
	return 0;
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
	struct kv_bulk b = { NULL, NULL, 0 };
	struct kv_puts p = { c, "PUT_BULK", NULL, 0 };
	json_t *a, *unsuccessful;
	int rc;

	if ((a = kv_bulk_parse(body, len, p.op, r)) == NULL)
		return;
	if ((unsuccessful = json_array()) == NULL)
		rc = ENOMEM;
	else
		rc = kv_bulk_items(a, kv->clock(), &b, unsuccessful, r);
	p.put = b.puts;
	p.n = b.n;
	if (rc == 0 && kv_write(kv, c, p.op, kv_puts_txn, &p, r) == -1)
		rc = KV_REFUSED;
	if (rc == 0 && (r->doc = kv_bulk_put_doc(b.n, unsuccessful)) == NULL)
		rc = ENOMEM;
	if (rc != 0 && rc != KV_REFUSED)
		kv_fail_internal(r, c, p.op, rc);
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
