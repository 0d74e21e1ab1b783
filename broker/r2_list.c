/*
 * r2_list: the list method.  Keys come out in bytewise order; with a
 * delimiter, keys sharing a prefix up to the delimiter fold into one
 * delimitedPrefixes entry, which counts toward the limit as S3 and R2 do.
 * The cursor is "1" + 'a' (after this key) or 'g' (after every key under
 * this prefix) + the bytes in hex.  Runs in the broker.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "broker/r2_internal.h"

struct r2_list {
	const uint8_t *prefix;
	size_t prefix_len;
	const uint8_t *delim;
	size_t delim_len;
	unsigned flags;
	uint64_t limit;
	uint8_t *lower; /* the smallest key still to look at */
	size_t lower_len;
	json_t *objects;
	json_t *prefixes;
	uint64_t count;
	char last_mode;
	uint8_t *last;
	size_t last_len;
	bool truncated;
	bool done; /* the cursor was past every possible key */
};

static void
r2_list_release(struct r2_list *l)
{
	free(l->lower);
	free(l->last);
	json_decref(l->objects);
	json_decref(l->prefixes);
}

static int
r2_bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int cmp = memcmp(a, b, alen < blen ? alen : blen);

	if (cmp != 0 || alen == blen)
		return cmp;
	return alen < blen ? -1 : 1;
}

/* Raises the lower bound to bytes (followed by a NUL, the next key, when exclusive). */
static int
r2_list_raise(struct r2_list *l, const uint8_t *bytes, size_t len, bool exclusive)
{
	size_t n = len + (exclusive ? 1 : 0);
	uint8_t *p;

	if ((p = malloc(n + 1)) == NULL)
		return -1;
	memcpy(p, bytes, len);
	p[len] = '\0';
	if (r2_bytes_cmp(p, n, l->lower, l->lower_len) <= 0) {
		free(p);
		return 0;
	}
	free(l->lower);
	l->lower = p;
	l->lower_len = n;
	return 0;
}

/* The first byte string after every string that starts with bytes; len 0 when none. */
static size_t
r2_successor(uint8_t *bytes, size_t len)
{
	while (len > 0 && bytes[len - 1] == 0xff)
		len--;
	if (len > 0)
		bytes[len - 1]++;
	return len;
}

static int
r2_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
r2_list_cursor(struct r2_list *l, json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), len;
	uint8_t *bytes;
	int rc = -1;

	if (!json_is_string(v) || n < 4 || n % 2 != 0 || s[0] != '1' ||
	    (s[1] != 'a' && s[1] != 'g') || (len = (n - 2) / 2) > R2_KEY_MAX ||
	    (bytes = malloc(len)) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = r2_hex_value(s[2 + 2 * i]), lo = r2_hex_value(s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			goto out;
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	if (s[1] == 'a')
		rc = r2_list_raise(l, bytes, len, true);
	else if ((len = r2_successor(bytes, len)) > 0)
		rc = r2_list_raise(l, bytes, len, false);
	else
		rc = 0, l->done = true;
out:
	free(bytes);
	return rc;
}

static int
r2_list_include(struct r2_list *l, json_t *v)
{
	json_t *item;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return -1;
	json_array_foreach (v, i, item) {
		if (json_is_string(item) && strcmp(json_string_value(item), "httpMetadata") == 0)
			l->flags |= R2_JSON_HTTP;
		else if (json_is_string(item) &&
		    strcmp(json_string_value(item), "customMetadata") == 0)
			l->flags |= R2_JSON_CUSTOM;
		else
			return -1;
	}
	return 0;
}

static int
r2_list_string(json_t *args, const char *name, const uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(args, name);

	*out = NULL;
	*len = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = (const uint8_t *)json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int
r2_list_parse(struct r2_list *l, json_t *args, struct store_result *r)
{
	json_t *limit = json_object_get(args, "limit"), *cursor = json_object_get(args, "cursor");
	const uint8_t *after;
	size_t after_len;

	l->limit = R2_LIST_MAX;
	if (r2_list_string(args, "prefix", &l->prefix, &l->prefix_len) == -1 ||
	    r2_list_string(args, "delimiter", &l->delim, &l->delim_len) == -1 ||
	    r2_list_string(args, "startAfter", &after, &after_len) == -1 ||
	    r2_list_include(l, json_object_get(args, "include")) == -1 ||
	    (limit != NULL && !json_is_null(limit) &&
		(!r2_json_uint(limit, &l->limit) || l->limit < 1 || l->limit > R2_LIST_MAX))) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, "list",
		    "The list options are not valid.");
		return -1;
	}
	if ((l->lower = malloc(1)) == NULL ||
	    (l->prefix != NULL && r2_list_raise(l, l->prefix, l->prefix_len, false) == -1) ||
	    (after != NULL && r2_list_raise(l, after, after_len, true) == -1)) {
		r2_fail_internal(r, "list");
		return -1;
	}
	if (cursor != NULL && !json_is_null(cursor) && r2_list_cursor(l, cursor) == -1) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, "list",
		    "The cursor is not valid.");
		return -1;
	}
	return 0;
}

static int
r2_list_remember(struct r2_list *l, char mode, const uint8_t *bytes, size_t len)
{
	uint8_t *p = malloc(len + 1);

	if (p == NULL)
		return -1;
	memcpy(p, bytes, len);
	free(l->last);
	l->last = p;
	l->last_len = len;
	l->last_mode = mode;
	l->count++;
	return 0;
}

/* Adds one row: 1 when the bound moved (a folded prefix), 0 when not, -1 on failure. */
static int
r2_list_row(struct r2_list *l, sqlite3_stmt *st)
{
	const uint8_t *key = sqlite3_column_blob(st, 0);
	size_t len = (size_t)sqlite3_column_bytes(st, 0);
	const uint8_t *found = NULL;
	struct r2_object o;
	json_t *doc;
	int rc;

	if (l->delim_len > 0)
		found = memmem(key + l->prefix_len, len - l->prefix_len, l->delim, l->delim_len);
	if (found != NULL) {
		len = (size_t)(found - key) + l->delim_len;
		if (json_array_append_new(l->prefixes, json_stringn((const char *)key, len)) ==
			-1 ||
		    r2_list_remember(l, 'g', key, len) == -1)
			return -1;
		free(l->lower);
		l->lower = NULL;
		if ((l->lower = malloc(len)) == NULL)
			return -1;
		memcpy(l->lower, key, len);
		l->lower_len = r2_successor(l->lower, len);
		return 1;
	}
	if (r2_object_from_row(st, &o) == -1)
		return -1;
	doc = r2_object_json(&o, l->flags);
	rc = doc != NULL && json_array_append_new(l->objects, doc) == 0 ? 0 : -1;
	if (rc == 0)
		rc = r2_list_remember(l, 'a', o.key, o.key_len);
	r2_object_release(&o);
	return rc;
}

static bool
r2_list_has_prefix(const struct r2_list *l, sqlite3_stmt *st)
{
	size_t len = (size_t)sqlite3_column_bytes(st, 0);
	const uint8_t *key = sqlite3_column_blob(st, 0);

	return len >= l->prefix_len &&
	    (l->prefix_len == 0 || memcmp(key, l->prefix, l->prefix_len) == 0);
}

/* Walks keys from the lower bound; one statement run per folded prefix. */
static int
r2_list_walk(struct r2_list *l, struct r2_bucket *b)
{
	sqlite3_stmt *st = b->st[R2_ST_OBJECT_FROM];
	int rc, moved;

	if (l->done)
		return 0;
	do {
		moved = 0;
		sqlite3_bind_blob(st, 1, l->lower, (int)l->lower_len, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && r2_list_has_prefix(l, st)) {
			if (l->count == l->limit) {
				l->truncated = true;
				break;
			}
			if ((moved = r2_list_row(l, st)) != 0)
				break;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (moved == -1 || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
			if (moved != -1)
				r2_log_db(b, "list the index");
			return -1;
		}
	} while (moved == 1 && l->lower_len > 0);
	return 0;
}

static json_t *
r2_list_cursor_text(const struct r2_list *l)
{
	char *text = malloc(2 * l->last_len + 3);
	json_t *v;

	if (text == NULL)
		return NULL;
	text[0] = '1';
	text[1] = l->last_mode;
	r2_hex(l->last, l->last_len, text + 2);
	v = json_string(text);
	free(text);
	return v;
}

void
r2_method_list(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	struct r2_list l;

	memset(&l, 0, sizeof(l));
	if (r2_list_parse(&l, c->args, r) == -1)
		goto out;
	if ((l.objects = json_array()) == NULL || (l.prefixes = json_array()) == NULL ||
	    r2_list_walk(&l, b) == -1) {
		r2_fail_internal(r, "list");
		goto out;
	}
	r->doc = json_pack("{s:O,s:O,s:b}", "objects", l.objects, "delimitedPrefixes", l.prefixes,
	    "truncated", l.truncated);
	if (r->doc != NULL && l.truncated &&
	    json_object_set_new(r->doc, "cursor", r2_list_cursor_text(&l)) == -1) {
		json_decref(r->doc);
		r->doc = NULL;
	}
	if (r->doc == NULL)
		r2_fail_internal(r, "list");
out:
	r2_list_release(&l);
}
