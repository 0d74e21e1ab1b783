/*
 * d1_value: JSON <-> sqlite3 values for the D1 backend: a query's
 * parameters bound to a statement, and result columns turned into JSON
 * with the bytes their JSON text will take.  Runs in the broker.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/d1_internal.h"
#include "common/base64.h"
#include "common/utf8.h"

/*
 * JavaScript numbers that are safe integers (|n| <= 2^53 - 1) bind as
 * INTEGER and every other number as REAL.  D1 documents the same split
 * ("Number -> REAL", "Number -> INTEGER" for integers JavaScript holds
 * exactly), and it makes 1 stored in a TEXT column read back as "1", not
 * "1.0".
 */
#define D1_SAFE_INTEGER 9007199254740991LL

static int
d1_bind_number(sqlite3_stmt *stmt, int i, json_t *v)
{
	double d;

	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (n >= -D1_SAFE_INTEGER && n <= D1_SAFE_INTEGER)
			return sqlite3_bind_int64(stmt, i, n);
		return sqlite3_bind_double(stmt, i, (double)n);
	}
	d = json_real_value(v);
	if (d >= -(double)D1_SAFE_INTEGER && d <= (double)D1_SAFE_INTEGER &&
	    d == (double)(sqlite3_int64)d)
		return sqlite3_bind_int64(stmt, i, (sqlite3_int64)d);
	return sqlite3_bind_double(stmt, i, d);
}

/* {"blob": base64}: returns the sqlite3 code, or -1 when the object is malformed. */
static int
d1_bind_blob(sqlite3_stmt *stmt, int i, json_t *v)
{
	json_t *b64 = json_object_get(v, "blob");
	size_t len, n = 0;
	unsigned char *bytes;

	if (json_object_size(v) != 1 || !json_is_string(b64))
		return -1;
	len = json_string_length(b64);
	if (len == 0)
		return sqlite3_bind_zeroblob(stmt, i, 0);
	if ((bytes = malloc(base64_decoded_max(len))) == NULL)
		return SQLITE_NOMEM;
	/* Lenient as D1 is: padding optional and not counted, stray bits dropped. */
	if (base64_decode(json_string_value(b64), len, 0, bytes, &n) == -1) {
		free(bytes);
		return -1;
	}
	if (n == 0) {
		free(bytes);
		return sqlite3_bind_zeroblob(stmt, i, 0);
	}
	/* sqlite3 calls free() on bytes whether or not the bind succeeds. */
	return sqlite3_bind_blob64(stmt, i, bytes, n, free);
}

/* Returns the sqlite3 code of the bind, or -1 for a value of no D1 type. */
static int
d1_bind_one(sqlite3_stmt *stmt, int i, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		return sqlite3_bind_null(stmt, i);
	case JSON_TRUE:
	case JSON_FALSE:
		/* The runtime sends 1/0 already; a boolean that slips through means the same. */
		return sqlite3_bind_int(stmt, i, json_is_true(v));
	case JSON_INTEGER:
	case JSON_REAL:
		return d1_bind_number(stmt, i, v);
	case JSON_STRING:
		return sqlite3_bind_text64(stmt, i, json_string_value(v), json_string_length(v),
		    SQLITE_STATIC, SQLITE_UTF8);
	case JSON_OBJECT:
		return d1_bind_blob(stmt, i, v);
	default:
		return -1;
	}
}

int
d1_bind_params(sqlite3_stmt *stmt, json_t *params, struct store_result *r)
{
	size_t i;
	json_t *v;
	int rc;

	json_array_foreach (params, i, v) {
		rc = d1_bind_one(stmt, (int)i + 1, v);
		if (rc == -1) {
			store_fail(r, STORE_E_INVALID,
			    "D1_TYPE_ERROR: parameter %zu is not null, a number, a string or "
			    "{\"blob\": base64}",
			    i + 1);
			return -1;
		}
		if (rc != SQLITE_OK) {
			store_fail(r, rc == SQLITE_TOOBIG ? STORE_E_TOO_LARGE : STORE_E_FAILED,
			    "D1_ERROR: parameter %zu: %s: SQLITE_%s", i + 1, sqlite3_errstr(rc),
			    d1_code_name(rc));
			return -1;
		}
	}
	return 0;
}

size_t
d1_utf8_sequence(const unsigned char *s, size_t n)
{
	return utf8_sequence(s, n, NULL, NULL);
}

/* Bytes a JSON string escape of one valid byte takes (no ensure-ASCII). */
static size_t
d1_json_escape_len(unsigned char c)
{
	if (c == '"' || c == '\\')
		return 2;
	return c < 0x20 ? 6 : 1;
}

json_t *
d1_text_json(const char *s, size_t len, size_t *cost)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bytes = 2, bad = 0, step;
	char *fixed, *p;
	json_t *j;

	for (size_t i = 0; i < len; i += step) {
		if ((step = utf8_sequence(u + i, len - i, NULL, NULL)) == 0) {
			bad++;
			bytes += 3;
			step = 1;
		} else
			bytes += step == 1 ? d1_json_escape_len(u[i]) : step;
	}
	*cost += bytes;
	if (bad == 0)
		return json_stringn_nocheck(s, len);
	/* Each bad byte becomes U+FFFD (EF BF BD), as TextDecoder would do. */
	if ((fixed = malloc(len + 2 * bad)) == NULL)
		return NULL;
	p = fixed;
	for (size_t i = 0; i < len; i += step) {
		if ((step = utf8_sequence(u + i, len - i, NULL, NULL)) == 0) {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			step = 1;
		} else {
			memcpy(p, s + i, step);
			p += step;
		}
	}
	j = json_stringn_nocheck(fixed, (size_t)(p - fixed));
	free(fixed);
	return j;
}

/* A BLOB as an array of byte values, as D1 returns it. */
static json_t *
d1_blob_json(const unsigned char *b, size_t len, size_t *cost)
{
	json_t *a = json_array();

	*cost += 2;
	for (size_t i = 0; a != NULL && i < len; i++) {
		*cost += b[i] >= 100 ? 4 : b[i] >= 10 ? 3 : 2;
		if (json_array_append_new(a, json_integer(b[i])) == -1) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

json_t *
d1_column_json(sqlite3_stmt *stmt, int col, size_t *cost)
{
	const char *text;
	double d;

	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER:
		*cost += 21;
		return json_integer(sqlite3_column_int64(stmt, col));
	case SQLITE_FLOAT:
		*cost += 25;
		d = sqlite3_column_double(stmt, col);
		/* JSON has no Infinity; JSON.stringify writes null for it too. */
		return isfinite(d) ? json_real(d) : json_null();
	case SQLITE_TEXT:
		text = (const char *)sqlite3_column_text(stmt, col);
		return d1_text_json(
		    text != NULL ? text : "", (size_t)sqlite3_column_bytes(stmt, col), cost);
	case SQLITE_BLOB:
		return d1_blob_json(
		    sqlite3_column_blob(stmt, col), (size_t)sqlite3_column_bytes(stmt, col), cost);
	default:
		*cost += 5;
		return json_null();
	}
}
