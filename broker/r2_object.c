/*
 * r2_object: the methods that read or delete objects: head, get (with
 * ranges and conditions; the body goes out as a file range) and delete.
 * Runs in the broker.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/r2_internal.h"

/* Loads the object named by args' "key"; 1 found, 0 missing, -1 with r set. */
static int
r2_lookup(
    struct r2_bucket *b, const struct store_call *c, struct r2_object *o, struct store_result *r)
{
	const uint8_t *key;
	size_t len;
	int found;

	memset(o, 0, sizeof(*o));
	if (r2_key_parse(c->args, &key, &len, c->method, r) == -1)
		return -1;
	if ((found = r2_object_load(b, key, len, o)) == -1)
		r2_fail_internal(r, c->method);
	return found;
}

/* Answers {"object", "body"}; takes object (NULL: failure). */
static void
r2_reply_object(struct store_result *r, const char *method, json_t *object, bool with_body)
{
	if (object != NULL)
		r->doc = json_pack("{s:O,s:b}", "object", object, "body", with_body);
	json_decref(object);
	if (r->doc == NULL)
		r2_fail_internal(r, method);
}

void
r2_method_head(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	struct r2_object o;
	json_t *object = json_null();
	int found;

	if ((found = r2_lookup(b, c, &o, r)) == -1)
		return;
	if (found)
		object = r2_object_json(&o, R2_JSON_HTTP | R2_JSON_CUSTOM);
	r2_object_release(&o);
	if (object != NULL)
		r->doc = json_pack("{s:O}", "object", object);
	json_decref(object);
	if (r->doc == NULL)
		r2_fail_internal(r, "head");
}

static int
r2_add_range(json_t *object, uint64_t offset, uint64_t length)
{
	return json_object_set_new(object, "range",
	    json_pack("{s:I,s:I}", "offset", (json_int_t)offset, "length", (json_int_t)length));
}

/* Answers a get whose conditions hold: the object, its range and the body's fd. */
static void
r2_get_body(struct r2_bucket *b, const struct r2_object *o, const struct r2_range *range,
    struct store_result *r)
{
	uint64_t offset, length;
	json_t *object;
	int fd;

	if (r2_range_resolve(range, o->size, &offset, &length, "get", r) == -1)
		return;
	if ((object = r2_object_json(o, R2_JSON_HTTP | R2_JSON_CUSTOM)) == NULL ||
	    (range->present && r2_add_range(object, offset, length) == -1) ||
	    (fd = r2_blob_open(b, o->blob)) == -1) {
		json_decref(object);
		r2_fail_internal(r, "get");
		return;
	}
	r2_reply_object(r, "get", object, true);
	if (r->status != STORE_OK) {
		close(fd);
		return;
	}
	r->body_kind = STORE_BODY_FILE;
	r->fd = fd;
	r->offset = offset;
	r->length = length;
}

void
r2_method_get(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	struct r2_range range;
	struct r2_cond cond;
	struct r2_object o;
	int found;

	if (r2_range_parse(c->args, &range, "get", r) == -1 ||
	    r2_cond_parse(c->args, &cond, "get", r) == -1 || (found = r2_lookup(b, c, &o, r)) == -1)
		return;
	if (!found) {
		if ((r->doc = json_pack("{s:n,s:b}", "object", "body", 0)) == NULL)
			r2_fail_internal(r, "get");
		return;
	}
	if (!r2_cond_passes(&cond, &o))
		r2_reply_object(r, "get", r2_object_json(&o, R2_JSON_HTTP | R2_JSON_CUSTOM), false);
	else
		r2_get_body(b, &o, &range, r);
	r2_object_release(&o);
}

/* Deletes one key inside the transaction; its blob goes to the trash. */
static int
r2_delete_one(struct r2_bucket *b, json_t *key, uint64_t *freed)
{
	struct r2_object o;
	int found;

	found =
	    r2_object_load(b, (const uint8_t *)json_string_value(key), json_string_length(key), &o);
	if (found <= 0)
		return found;
	*freed += o.size;
	if (r2_trash_add(b, o.blob) == -1) {
		r2_object_release(&o);
		return -1;
	}
	sqlite3_bind_blob(b->st[R2_ST_OBJECT_DELETE], 1, o.key, (int)o.key_len, SQLITE_STATIC);
	found = r2_exec(b, R2_ST_OBJECT_DELETE);
	r2_object_release(&o);
	return found;
}

void
r2_method_delete(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	json_t *keys = json_object_get(c->args, "keys"), *key;
	uint64_t freed = 0;
	size_t i;

	if (!json_is_array(keys) || json_array_size(keys) > R2_DELETE_MAX) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, "delete",
		    "keys must be an array of at most %d keys.", R2_DELETE_MAX);
		return;
	}
	json_array_foreach (keys, i, key)
		if (r2_key_check(key, "delete", r) == -1)
			return;
	if (r2_tx_begin(b) == -1) {
		r2_fail_internal(r, "delete");
		return;
	}
	json_array_foreach (keys, i, key) {
		if (r2_delete_one(b, key, &freed) == -1) {
			r2_tx_rollback(b);
			r2_fail_internal(r, "delete");
			return;
		}
	}
	if (r2_tx_commit(b) == -1) {
		r2_fail_internal(r, "delete");
		return;
	}
	r2_trash_flush(b);
	r2_usage_update(r2, c->tenant, 0, freed);
	if ((r->doc = json_object()) == NULL)
		r2_fail_internal(r, "delete");
}
