/*
 * test_kv: the broker's KV backend (broker/kv*.c) called directly, on a
 * fresh LMDB environment per test: every method and its errors, long keys,
 * pagination, expiration (through the clock hook), quotas, isolation,
 * durability across close and SIGKILL.
 */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/kv_internal.h"
#include "broker/store.h"
#include "tests/support.h"

#define NS1 "0123456789abcdef0123456789abcdef"
#define NS2 "fedcba9876543210fedcba9876543210"
#define NOW 1700000000u

static char dir[64];
static struct kv *kv;
static struct store_limits limits;
static uint64_t now_s;
static int fds_before;

static uint64_t
test_clock(void)
{
	return now_s;
}

/* A call with args as a JSON object (stolen); r is released by the caller. */
static void
call_json(const char *tenant, const char *ns, const char *method, json_t *args, const void *body,
    size_t len, bool admin, struct store_result *r)
{
	struct store_call c = { tenant, ns, method, args, admin, &limits };

	cr_assert_not_null(args);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	kv_call(kv, &c, body, len, r);
	json_decref(args);
	if (r->status != STORE_OK) {
		cr_assert_null(r->doc, "%s failed but left a doc", method);
		cr_assert_null(r->mem);
		cr_assert_neq(r->message[0], '\0', "%s failed without a message", method);
	} else
		cr_assert_not_null(r->doc, "%s succeeded without a doc", method);
}

static void
call_text(const char *tenant, const char *ns, const char *method, const char *args,
    const void *body, size_t len, bool admin, struct store_result *r)
{
	json_error_t err;
	json_t *a = json_loads(args, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);

	cr_assert_not_null(a, "bad test JSON %s: %s", args, err.text);
	call_json(tenant, ns, method, a, body, len, admin, r);
}

/* A call of tenant "acme" on NS1; returns the status, result in r. */
static enum store_status
acme(const char *method, const char *args, const void *body, size_t len, struct store_result *r)
{
	call_text("acme", NS1, method, args, body, len, false, r);
	return r->status;
}

static enum store_status
admin(const char *tenant, const char *ns, const char *method, const char *args, const char *body,
    struct store_result *r)
{
	call_text(tenant, ns, method, args, body, body != NULL ? strlen(body) : 0, true, r);
	return r->status;
}

static void
expect_ok(enum store_status st, struct store_result *r)
{
	cr_assert_eq(st, STORE_OK, "status %d: %s", st, r->message);
}

static void
expect_fail(
    enum store_status st, struct store_result *r, enum store_status want, const char *message)
{
	cr_assert_eq(st, want, "status %d (want %d): %s", st, want, r->message);
	if (message != NULL)
		cr_assert_str_eq(r->message, message);
	store_result_release(r);
}

/* put of a key given as bytes (any content) with extra args merged in. */
static enum store_status
put_key(const char *tenant, const char *ns, const void *key, size_t klen, const char *value,
    struct store_result *r)
{
	json_t *args = json_object();

	json_object_set_new(args, "key", json_stringn_nocheck(key, klen));
	call_json(tenant, ns, "put", args, value, strlen(value), false, r);
	return r->status;
}

static void
put_ok(const char *key, const char *value)
{
	struct store_result r;

	expect_ok(put_key("acme", NS1, key, strlen(key), value, &r), &r);
	store_result_release(&r);
}

/* get of a key: value copied into out (NUL-terminated); false when not found. */
static bool
get_key(const char *tenant, const char *ns, const void *key, size_t klen, char *out, size_t size)
{
	struct store_result r;
	json_t *args = json_object();
	bool found;

	json_object_set_new(args, "key", json_stringn_nocheck(key, klen));
	call_json(tenant, ns, "get", args, NULL, 0, false, &r);
	expect_ok(r.status, &r);
	found = json_is_true(json_object_get(r.doc, "found"));
	cr_assert(json_is_boolean(json_object_get(r.doc, "found")));
	cr_assert(json_object_get(r.doc, "metadata") != NULL, "get without metadata member");
	if (found) {
		cr_assert_eq(r.body_kind, STORE_BODY_MEM);
		cr_assert_lt(r.mem_len, size);
		memcpy(out, r.mem, r.mem_len);
		out[r.mem_len] = '\0';
	} else
		cr_assert_eq(r.body_kind, STORE_BODY_NONE);
	store_result_release(&r);
	return found;
}

static bool
get_ok(const char *key, char *out, size_t size)
{
	return get_key("acme", NS1, key, strlen(key), out, size);
}

static struct kv_usage
usage_of(const char *tenant)
{
	MDB_txn *txn;
	struct kv_usage u;

	cr_assert_eq(mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(kv_usage_get(kv, txn, tenant, &u), 0);
	mdb_txn_abort(txn);
	return u;
}

/* Every table but the namespaces' is empty: nothing of a key is left behind. */
static void
expect_empty_store(void)
{
	MDB_txn *txn;
	MDB_stat st;
	const MDB_dbi dbis[] = { kv->keys, kv->vals, kv->expiry, kv->usage };

	cr_assert_eq(mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn), 0);
	for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++) {
		cr_assert_eq(mdb_stat(txn, dbis[i], &st), 0);
		cr_assert_eq(st.ms_entries, 0, "table %zu keeps %zu entries", i, st.ms_entries);
	}
	mdb_txn_abort(txn);
}

static void
setup(void)
{
	struct store_result r;

	fds_before = support_count_fds();
	support_tempdir(dir, sizeof(dir), "/tmp", "test_kv");
	memset(&limits, 0, sizeof(limits));
	now_s = NOW;
	kv = kv_open(dir);
	cr_assert_not_null(kv);
	kv_set_clock(kv, test_clock);
	expect_ok(admin("acme", NS1, "create", "{}", NULL, &r), &r);
	store_result_release(&r);
}

static void
teardown(void)
{
	kv_close(kv);
	kv = NULL;
	support_remove_tree(dir);
	cr_assert_eq(support_count_fds(), fds_before, "file descriptors leaked");
}

static void
reopen(void)
{
	kv_close(kv);
	kv = kv_open(dir);
	cr_assert_not_null(kv);
	kv_set_clock(kv, test_clock);
}

TestSuite(kv, .init = setup, .fini = teardown);

Test(kv, open_creates_a_private_directory)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/kv", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/kv/data.mdb", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0077, 0, "data.mdb readable by others");
}

Test(kv, open_fails_cleanly_on_a_bad_directory)
{
	cr_assert_null(kv_open("/nonexistent/dir/for/kv"));
}

Test(kv, put_get_round_trip)
{
	static const uint8_t bin[] = { 0, 1, 2, 0xff, 0xfe, 0, 'x' };
	struct store_result r;

	expect_ok(acme("put", "{\"key\": \"bin\"}", bin, sizeof(bin), &r), &r);
	cr_assert(json_is_object(r.doc) && json_object_size(r.doc) == 0);
	store_result_release(&r);
	expect_ok(acme("get", "{\"key\": \"bin\"}", NULL, 0, &r), &r);
	cr_assert(json_is_true(json_object_get(r.doc, "found")));
	cr_assert(json_is_null(json_object_get(r.doc, "metadata")));
	cr_assert_null(json_object_get(r.doc, "expiration"), "expiration member without one");
	cr_assert_eq(r.body_kind, STORE_BODY_MEM);
	cr_assert_eq(r.mem_len, sizeof(bin));
	cr_assert_eq(memcmp(r.mem, bin, sizeof(bin)), 0);
	store_result_release(&r);

	/* Overwrite, and an empty value is a value. */
	expect_ok(acme("put", "{\"key\": \"bin\"}", NULL, 0, &r), &r);
	store_result_release(&r);
	expect_ok(acme("get", "{\"key\": \"bin\"}", NULL, 0, &r), &r);
	cr_assert(json_is_true(json_object_get(r.doc, "found")));
	cr_assert_eq(r.body_kind, STORE_BODY_MEM);
	cr_assert_eq(r.mem_len, 0);
	store_result_release(&r);
}

Test(kv, get_missing_key)
{
	struct store_result r;

	expect_ok(acme("get", "{\"key\": \"nope\"}", NULL, 0, &r), &r);
	cr_assert(json_is_false(json_object_get(r.doc, "found")));
	cr_assert(json_is_null(json_object_get(r.doc, "metadata")));
	cr_assert_eq(r.body_kind, STORE_BODY_NONE);
	store_result_release(&r);
}

Test(kv, delete_removes_and_tolerates_missing)
{
	char v[16];
	struct store_result r;

	put_ok("a", "1");
	expect_ok(acme("delete", "{\"key\": \"a\"}", NULL, 0, &r), &r);
	store_result_release(&r);
	cr_assert_not(get_ok("a", v, sizeof(v)));
	expect_ok(acme("delete", "{\"key\": \"a\"}", NULL, 0, &r), &r);
	store_result_release(&r);
	expect_ok(acme("delete", "{\"key\": \"never\"}", NULL, 0, &r), &r);
	store_result_release(&r);
	cr_assert_eq(usage_of("acme").keys, 0);
	cr_assert_eq(usage_of("acme").bytes, 0);
}

Test(kv, key_checks_read_like_cloudflare)
{
	char big[600];
	struct store_result r;
	json_t *args;

	expect_fail(acme("get", "{\"key\": \"\"}", NULL, 0, &r), &r, STORE_E_INVALID,
	    "Key names must not be empty");
	expect_fail(acme("put", "{\"key\": \".\"}", "v", 1, &r), &r, STORE_E_INVALID,
	    "Illegal key name \".\". Please use a different name.");
	expect_fail(acme("delete", "{\"key\": \"..\"}", NULL, 0, &r), &r, STORE_E_INVALID,
	    "Illegal key name \"..\". Please use a different name.");
	memset(big, 'k', sizeof(big));
	cr_assert_eq(put_key("acme", NS1, big, 513, "v", &r), STORE_E_TOO_LARGE);
	cr_assert_str_eq(r.message,
	    "KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
	store_result_release(&r);
	args = json_pack("{s:s%}", "key", big, (size_t)513);
	call_json("acme", NS1, "get", args, NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_TOO_LARGE,
	    "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
	/* A key is text: bytes that are not UTF-8 cannot name one. */
	cr_assert_eq(put_key("acme", NS1, "a\xff", 2, "v", &r), STORE_E_INVALID);
	store_result_release(&r);
	cr_assert_eq(put_key("acme", NS1, "\xed\xa0\x80", 3, "v", &r), STORE_E_INVALID);
	store_result_release(&r);
	/* Wrong types and missing members. */
	expect_fail(acme("get", "{}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("get", "{\"key\": 5}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("put", "{\"key\": null}", "v", 1, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("delete", "{\"key\": [\"a\"]}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	cr_assert_eq(usage_of("acme").keys, 0, "a refused put stored something");
}

/* Keys of the test below, in byte order. */
static void
long_keys(char keys[][KV_KEY_MAX + 1], size_t *lens, size_t *n)
{
	char head[KV_HEAD_MAX];
	size_t i = 0;

	memset(head, 'h', sizeof(head));
#define ADD(tail, tlen)                                                                            \
	do {                                                                                       \
		memcpy(keys[i], head, KV_HEAD_MAX);                                                \
		memcpy(keys[i] + KV_HEAD_MAX, tail, tlen);                                         \
		lens[i++] = KV_HEAD_MAX + (tlen);                                                  \
	} while (0)
	ADD("", 0);
	ADD("\0", 1);
	ADD("\0\0", 2);
	ADD("\0a", 2);
	ADD("a", 1);
	ADD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0", 32);
	ADD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32);
	ADD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 32);
	ADD("ab", 2);
	ADD("b", 1);
	ADD("\xc3\xa9", 2);
	ADD("\xf4\x8f\xbf\xbf", 4);
#undef ADD
	/* Around the head: one byte shorter, one byte different just before it. */
	memcpy(keys[i], head, KV_HEAD_MAX - 1);
	lens[i++] = KV_HEAD_MAX - 1;
	memcpy(keys[i], head, KV_HEAD_MAX);
	keys[i][KV_HEAD_MAX - 1] = 'i';
	lens[i++] = KV_HEAD_MAX;
	memcpy(keys[i], head, KV_HEAD_MAX);
	keys[i][KV_HEAD_MAX - 1] = 'i';
	memset(keys[i] + KV_HEAD_MAX, 'z', KV_TAIL_MAX);
	lens[i++] = KV_KEY_MAX;
	*n = i;
}

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

Test(kv, long_keys_are_distinct_and_ordered)
{
	static char keys[20][KV_KEY_MAX + 1];
	size_t lens[20], n, order[20];
	char value[32], got[32];
	struct store_result r;
	json_t *list, *name;
	size_t i, j;

	long_keys(keys, lens, &n);
	/* Stored in a scrambled order. */
	for (i = 0; i < n; i++) {
		j = (i * 7) % n;
		snprintf(value, sizeof(value), "v%zu", j);
		expect_ok(put_key("acme", NS1, keys[j], lens[j], value, &r), &r);
		store_result_release(&r);
	}
	for (i = 0; i < n; i++) {
		snprintf(value, sizeof(value), "v%zu", i);
		cr_assert(
		    get_key("acme", NS1, keys[i], lens[i], got, sizeof(got)), "key %zu lost", i);
		cr_assert_str_eq(got, value, "key %zu reads another key's value", i);
	}
	cr_assert_eq(usage_of("acme").keys, n);
	/* The order list must give: sort the test's own copy. */
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 &&
		     bytes_cmp(keys[order[j - 1]], lens[order[j - 1]], keys[order[j]],
			 lens[order[j]]) > 0;
		     j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	expect_ok(acme("list", "{}", NULL, 0, &r), &r);
	list = json_object_get(r.doc, "keys");
	cr_assert_eq(json_array_size(list), n);
	json_array_foreach (list, i, name) {
		json_t *s = json_object_get(name, "name");

		cr_assert_eq(json_string_length(s), lens[order[i]], "position %zu", i);
		cr_assert_eq(memcmp(json_string_value(s), keys[order[i]], lens[order[i]]), 0,
		    "position %zu holds the wrong key", i);
	}
	store_result_release(&r);
	/* Pages of one key each walk the same order through the shared heads. */
	{
		json_t *args = json_pack("{s:i}", "limit", 1);
		char cursor[1024] = "";

		for (i = 0; i < n; i++) {
			if (i > 0)
				json_object_set_new(args, "cursor", json_string(cursor));
			call_json("acme", NS1, "list", json_deep_copy(args), NULL, 0, false, &r);
			expect_ok(r.status, &r);
			list = json_object_get(r.doc, "keys");
			cr_assert_eq(json_array_size(list), 1);
			name = json_object_get(json_array_get(list, 0), "name");
			cr_assert_eq(
			    memcmp(json_string_value(name), keys[order[i]], lens[order[i]]), 0);
			if (i + 1 < n) {
				cr_assert(json_is_false(json_object_get(r.doc, "list_complete")));
				snprintf(cursor, sizeof(cursor), "%s",
				    json_string_value(json_object_get(r.doc, "cursor")));
			}
			store_result_release(&r);
		}
		json_decref(args);
	}
	/* A cursor naming no stored key resumes at the first key after it. */
	{
		static const char *tails[] = { "aa",
			"\xf4\x8f\xbf\xbf"
			"a",
			"\x01", "" };
		char probe[KV_KEY_MAX + 1], cursor[1024];

		for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			size_t plen = KV_HEAD_MAX + strlen(tails[t]), want = n;

			memset(probe, 'h', KV_HEAD_MAX);
			memcpy(probe + KV_HEAD_MAX, tails[t], strlen(tails[t]));
			if (t == 3)
				plen = 100; /* shorter than every key, and a prefix of most */
			for (i = n; i-- > 0;)
				if (bytes_cmp(keys[order[i]], lens[order[i]], probe, plen) > 0)
					want = i;
			kv_base64url_encode((const uint8_t *)probe, plen, cursor);
			call_json("acme", NS1, "list",
			    json_pack("{s:i,s:s}", "limit", 1, "cursor", cursor), NULL, 0, false,
			    &r);
			expect_ok(r.status, &r);
			list = json_object_get(r.doc, "keys");
			cr_assert_lt(want, n);
			cr_assert_eq(json_array_size(list), 1);
			name = json_object_get(json_array_get(list, 0), "name");
			cr_assert_eq(json_string_length(name), lens[order[want]], "probe %zu", t);
			cr_assert_eq(
			    memcmp(json_string_value(name), keys[order[want]], lens[order[want]]),
			    0, "probe %zu resumed at the wrong key", t);
			store_result_release(&r);
		}
	}
	/* Deleting one long key leaves its neighbours. */
	json_t *del = json_object();
	json_object_set_new(del, "key", json_stringn(keys[5], lens[5]));
	call_json("acme", NS1, "delete", del, NULL, 0, false, &r);
	expect_ok(r.status, &r);
	store_result_release(&r);
	cr_assert_not(get_key("acme", NS1, keys[5], lens[5], got, sizeof(got)));
	cr_assert(get_key("acme", NS1, keys[6], lens[6], got, sizeof(got)));
	cr_assert(get_key("acme", NS1, keys[4], lens[4], got, sizeof(got)));
	cr_assert_eq(usage_of("acme").keys, n - 1);
}

/* Lists every key with pages of `limit` (0: default); returns the count, checks order. */
static size_t
list_all(const char *prefix, int limit, size_t *pages)
{
	char cursor[1024] = "", last[KV_KEY_MAX + 1] = "";
	struct store_result r;
	size_t total = 0;
	bool complete = false;

	*pages = 0;
	while (!complete) {
		json_t *args = json_object(), *keys, *k;
		size_t i;

		if (prefix != NULL)
			json_object_set_new(args, "prefix", json_string(prefix));
		if (limit > 0)
			json_object_set_new(args, "limit", json_integer(limit));
		if (cursor[0] != '\0')
			json_object_set_new(args, "cursor", json_string(cursor));
		call_json("acme", NS1, "list", args, NULL, 0, false, &r);
		expect_ok(r.status, &r);
		keys = json_object_get(r.doc, "keys");
		cr_assert(json_is_array(keys));
		cr_assert_leq(json_array_size(keys), limit > 0 ? (size_t)limit : 1000);
		json_array_foreach (keys, i, k) {
			const char *name = json_string_value(json_object_get(k, "name"));

			cr_assert_not_null(name);
			cr_assert_gt(strcmp(name, last), 0, "'%s' after '%s'", name, last);
			if (prefix != NULL)
				cr_assert_eq(strncmp(name, prefix, strlen(prefix)), 0);
			snprintf(last, sizeof(last), "%s", name);
		}
		total += json_array_size(keys);
		complete = json_is_true(json_object_get(r.doc, "list_complete"));
		cr_assert(json_is_boolean(json_object_get(r.doc, "list_complete")));
		if (complete)
			cr_assert_null(json_object_get(r.doc, "cursor"), "cursor on the last page");
		else
			snprintf(cursor, sizeof(cursor), "%s",
			    json_string_value(json_object_get(r.doc, "cursor")));
		(*pages)++;
		store_result_release(&r);
		cr_assert_lt(*pages, 100, "list does not end");
	}
	return total;
}

static void
bulk_fill(int from, int to, const char *prefix, int width)
{
	struct store_result r;
	json_t *items = json_array();
	char key[64], *body;

	for (int i = from; i < to; i++) {
		snprintf(key, sizeof(key), "%s%0*d", prefix, width, i);
		json_array_append_new(items, json_pack("{s:s,s:s}", "key", key, "value", "x"));
	}
	body = json_dumps(items, JSON_COMPACT);
	json_decref(items);
	expect_ok(admin("acme", NS1, "bulkPut", "{}", body, &r), &r);
	cr_assert_eq(json_integer_value(json_object_get(r.doc, "successful_key_count")), to - from);
	store_result_release(&r);
	free(body);
}

Test(kv, list_pages_with_cursors)
{
	size_t pages;

	bulk_fill(0, 2500, "key-", 5);
	bulk_fill(0, 30, "other-", 2);
	cr_assert_eq(list_all(NULL, 0, &pages), 2530);
	cr_assert_eq(pages, 3);
	cr_assert_eq(list_all("key-", 0, &pages), 2500);
	cr_assert_eq(pages, 3);
	cr_assert_eq(list_all("key-", 1000, &pages), 2500);
	cr_assert_eq(list_all("key-", 700, &pages), 2500);
	cr_assert_eq(pages, 4);
	cr_assert_eq(list_all("other-", 10, &pages), 30);
	/* Exactly a full page: the next call finds nothing more. */
	cr_assert_geq(pages, 3);
	cr_assert_eq(list_all("key-001", 0, &pages), 100);
	cr_assert_eq(pages, 1);
	cr_assert_eq(list_all("nothing", 0, &pages), 0);
	cr_assert_eq(list_all("", 1000, &pages), 2530);
}

Test(kv, list_exact_page_and_cursor_outside_prefix)
{
	struct store_result r;
	size_t pages;

	bulk_fill(0, 10, "p-", 0);
	expect_ok(acme("list", "{\"limit\": 10}", NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 10);
	cr_assert(json_is_true(json_object_get(r.doc, "list_complete")),
	    "a page that holds every key is complete");
	store_result_release(&r);
	cr_assert_eq(list_all("p-", 5, &pages), 10);
	cr_assert_eq(pages, 2);
	/* A cursor before the prefix starts at the prefix; one after it ends the list. */
	put_ok("a", "1");
	put_ok("z", "1");
	expect_ok(acme("list", "{\"prefix\": \"p-\", \"cursor\": \"YQ\"}", NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 10);
	store_result_release(&r);
	expect_ok(acme("list", "{\"prefix\": \"p-\", \"cursor\": \"eg\"}", NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 0);
	cr_assert(json_is_true(json_object_get(r.doc, "list_complete")));
	store_result_release(&r);
}

Test(kv, list_argument_errors)
{
	struct store_result r;
	char prefix[600], *args;

	expect_fail(acme("list", "{\"limit\": 0}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "{\"limit\": 1001}", NULL, 0, &r), &r, STORE_E_INVALID,
	    "KV LIST failed: 400 Invalid key_count_limit of 1001. Please specify an integer "
	    "between "
	    "1 and 1000.");
	expect_fail(acme("list", "{\"limit\": -5}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "{\"limit\": \"10\"}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "{\"limit\": 1.5}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "{\"prefix\": 7}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "{\"cursor\": 7}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "{\"cursor\": \"!!!\"}", NULL, 0, &r), &r, STORE_E_INVALID,
	    "KV LIST failed: 400 Invalid cursor");
	expect_fail(acme("list", "{\"cursor\": \"A\"}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	/* "_w" decodes to 0xff: not a key. */
	expect_fail(acme("list", "{\"cursor\": \"_w\"}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	memset(prefix, 'p', sizeof(prefix));
	prefix[513] = '\0';
	cr_assert(asprintf(&args, "{\"prefix\": \"%s\"}", prefix) > 0);
	expect_fail(acme("list", args, NULL, 0, &r), &r, STORE_E_TOO_LARGE,
	    "KV LIST failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
	free(args);
	/* Accepted: nulls mean absent, an empty cursor is the start. */
	expect_ok(
	    acme("list", "{\"prefix\": null, \"limit\": null, \"cursor\": \"\"}", NULL, 0, &r), &r);
	store_result_release(&r);
}

Test(kv, metadata_round_trip_and_cap)
{
	struct store_result r;
	char *args, meta[1100];
	json_t *m, *want;

	expect_ok(
	    acme("put",
		"{\"key\": \"m\", \"metadata\": {\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}, "
		"\"d\": true}}",
		"v", 1, &r),
	    &r);
	store_result_release(&r);
	expect_ok(acme("get", "{\"key\": \"m\"}", NULL, 0, &r), &r);
	m = json_object_get(r.doc, "metadata");
	want = json_loads("{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}, \"d\": true}", 0, NULL);
	cr_assert(json_equal(m, want), "metadata changed on the way");
	json_decref(want);
	store_result_release(&r);
	/* A scalar is metadata too, and list shows it. */
	expect_ok(acme("put", "{\"key\": \"s\", \"metadata\": \"just text\"}", "v", 1, &r), &r);
	store_result_release(&r);
	expect_ok(acme("list", "{}", NULL, 0, &r), &r);
	m = json_object_get(json_array_get(json_object_get(r.doc, "keys"), 1), "metadata");
	cr_assert_str_eq(json_string_value(m), "just text");
	cr_assert_null(
	    json_object_get(json_array_get(json_object_get(r.doc, "keys"), 0), "expiration"),
	    "expiration member without an expiration");
	store_result_release(&r);
	/* 1024 bytes of compact text pass; 1025 do not. */
	memset(meta, 'm', sizeof(meta));
	meta[1022] = '\0';
	cr_assert(asprintf(&args, "{\"key\": \"big\", \"metadata\": \"%s\"}", meta) > 0);
	expect_ok(acme("put", args, "v", 1, &r), &r);
	store_result_release(&r);
	free(args);
	meta[1022] = 'm';
	meta[1023] = '\0';
	cr_assert(asprintf(&args, "{\"key\": \"big\", \"metadata\": \"%s\"}", meta) > 0);
	expect_fail(acme("put", args, "w", 1, &r), &r, STORE_E_TOO_LARGE,
	    "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.");
	free(args);
	/* The refused put left the old one. */
	expect_ok(acme("get", "{\"key\": \"big\"}", NULL, 0, &r), &r);
	cr_assert_eq(json_string_length(json_object_get(r.doc, "metadata")), 1022);
	cr_assert_eq(r.mem[0], 'v');
	store_result_release(&r);
}

Test(kv, value_size_limit)
{
	struct store_result r;
	size_t n = KV_VALUE_MAX + 1;
	uint8_t *big = calloc(1, n);

	cr_assert_not_null(big);
	expect_fail(acme("put", "{\"key\": \"big\"}", big, n, &r), &r, STORE_E_TOO_LARGE,
	    "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.");
	expect_ok(acme("put", "{\"key\": \"big\"}", big, n - 1, &r), &r);
	store_result_release(&r);
	expect_ok(acme("get", "{\"key\": \"big\"}", NULL, 0, &r), &r);
	cr_assert_eq(r.mem_len, n - 1);
	store_result_release(&r);
	free(big);
}

Test(kv, expiration_checks)
{
	struct store_result r;
	char args[128];

	expect_fail(acme("put", "{\"key\": \"e\", \"expiration_ttl\": 10}", "v", 1, &r), &r,
	    STORE_E_INVALID,
	    "KV PUT failed: 400 Invalid expiration_ttl of 10. Expiration TTL must be at least 60.");
	expect_fail(acme("put", "{\"key\": \"e\", \"expiration_ttl\": 0}", "v", 1, &r), &r,
	    STORE_E_INVALID,
	    "KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than "
	    "0.");
	expect_fail(acme("put", "{\"key\": \"e\", \"expiration_ttl\": \"600\"}", "v", 1, &r), &r,
	    STORE_E_INVALID, NULL);
	expect_fail(acme("put", "{\"key\": \"e\", \"expiration\": 1600000000}", "v", 1, &r), &r,
	    STORE_E_INVALID,
	    "KV PUT failed: 400 Invalid expiration of 1600000000. Please specify integer greater "
	    "than the current number of seconds since the UNIX epoch.");
	snprintf(args, sizeof(args), "{\"key\": \"e\", \"expiration\": %u}", NOW + 59);
	expect_fail(acme("put", args, "v", 1, &r), &r, STORE_E_INVALID,
	    "KV PUT failed: 400 Invalid expiration of 1700000059. Expiration times must be at "
	    "least "
	    "60 seconds in the future.");
	expect_fail(acme("put", "{\"key\": \"e\", \"expiration\": 1e300}", "v", 1, &r), &r,
	    STORE_E_INVALID, NULL);
	expect_fail(acme("put", "{\"key\": \"e\", \"expiration\": true}", "v", 1, &r), &r,
	    STORE_E_INVALID, NULL);
	cr_assert_eq(usage_of("acme").keys, 0);
	/* The boundaries pass. */
	expect_ok(acme("put", "{\"key\": \"t\", \"expiration_ttl\": 60}", "v", 1, &r), &r);
	store_result_release(&r);
	snprintf(args, sizeof(args), "{\"key\": \"e\", \"expiration\": %u}", NOW + 60);
	expect_ok(acme("put", args, "v", 1, &r), &r);
	store_result_release(&r);
	expect_ok(acme("get", "{\"key\": \"t\"}", NULL, 0, &r), &r);
	cr_assert_eq(json_integer_value(json_object_get(r.doc, "expiration")), NOW + 60);
	store_result_release(&r);
}

Test(kv, expired_keys_are_invisible_then_swept)
{
	struct store_result r;
	char v[16], args[128];
	size_t pages;

	put_ok("keep", "1");
	snprintf(args, sizeof(args), "{\"key\": \"soon\", \"expiration\": %u, \"metadata\": 1}",
	    NOW + 100);
	expect_ok(acme("put", args, "2", 1, &r), &r);
	store_result_release(&r);
	expect_ok(acme("put", "{\"key\": \"later\", \"expiration_ttl\": 1000}", "3", 1, &r), &r);
	store_result_release(&r);
	/* Visible with their expiration until it comes. */
	now_s = NOW + 99;
	cr_assert(get_ok("soon", v, sizeof(v)));
	expect_ok(acme("list", "{}", NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 3);
	cr_assert_eq(json_integer_value(json_object_get(
			 json_array_get(json_object_get(r.doc, "keys"), 2), "expiration")),
	    NOW + 100);
	store_result_release(&r);
	cr_assert_eq(kv_sweep(kv, now_s, 100), 0, "swept a live key");
	/* Then gone from get, getMany and list at once, before any sweep. */
	now_s = NOW + 100;
	cr_assert_not(get_ok("soon", v, sizeof(v)));
	expect_ok(acme("getMany", "{\"keys\": [\"soon\", \"keep\"]}", NULL, 0, &r), &r);
	cr_assert(json_is_false(
	    json_object_get(json_array_get(json_object_get(r.doc, "values"), 0), "found")));
	cr_assert(json_is_true(
	    json_object_get(json_array_get(json_object_get(r.doc, "values"), 1), "found")));
	store_result_release(&r);
	cr_assert_eq(list_all(NULL, 0, &pages), 2);
	cr_assert_eq(usage_of("acme").keys, 3, "counted until swept");
	/* The sweep removes exactly the expired ones, and gives their usage back. */
	cr_assert_eq(kv_sweep(kv, now_s, 100), 1);
	cr_assert_eq(kv_sweep(kv, now_s, 100), 0);
	cr_assert_eq(usage_of("acme").keys, 2);
	cr_assert_eq(usage_of("acme").bytes, strlen("keep") + 1 + strlen("later") + 1);
	now_s = NOW + 5000;
	cr_assert_not(get_ok("later", v, sizeof(v)));
	cr_assert(get_ok("keep", v, sizeof(v)));
	cr_assert_eq(kv_sweep(kv, now_s, 100), 1);
	cr_assert_eq(usage_of("acme").keys, 1);
}

Test(kv, sweep_respects_max_and_overwrites_move_expiry)
{
	struct store_result r;
	char args[128], v[16];

	for (int i = 0; i < 10; i++) {
		snprintf(
		    args, sizeof(args), "{\"key\": \"k%d\", \"expiration_ttl\": %d}", i, 60 + i);
		expect_ok(acme("put", args, "v", 1, &r), &r);
		store_result_release(&r);
	}
	/* k0 is rewritten without expiration, k1 with a later one. */
	put_ok("k0", "forever");
	expect_ok(acme("put", "{\"key\": \"k1\", \"expiration_ttl\": 100000}", "v", 1, &r), &r);
	store_result_release(&r);
	now_s = NOW + 1000;
	cr_assert_eq(kv_sweep(kv, now_s, 3), 3);
	cr_assert_eq(kv_sweep(kv, now_s, 0), 0);
	cr_assert_eq(kv_sweep(kv, now_s, 100), 5);
	cr_assert(get_ok("k0", v, sizeof(v)));
	cr_assert_str_eq(v, "forever");
	cr_assert(get_ok("k1", v, sizeof(v)));
	cr_assert_eq(usage_of("acme").keys, 2);
}

Test(kv, get_many)
{
	static const char bad[] = "a\xff"
				  "b\xe2\x82";
	struct store_result r;
	json_t *values, *v;
	char args[2048];
	int n;

	put_ok("one", "1");
	expect_ok(
	    acme("put", "{\"key\": \"two\", \"metadata\": {\"m\": 2}}", bad, sizeof(bad) - 1, &r),
	    &r);
	store_result_release(&r);
	expect_ok(
	    acme("getMany", "{\"keys\": [\"two\", \"none\", \"one\", \"two\"]}", NULL, 0, &r), &r);
	values = json_object_get(r.doc, "values");
	cr_assert_eq(json_array_size(values), 4);
	v = json_array_get(values, 0);
	cr_assert_str_eq(json_string_value(json_object_get(v, "key")), "two");
	cr_assert(json_is_true(json_object_get(v, "found")));
	cr_assert_str_eq(json_string_value(json_object_get(v, "value")),
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "metadata"), "m")), 2);
	v = json_array_get(values, 1);
	cr_assert(json_is_false(json_object_get(v, "found")));
	cr_assert(json_is_null(json_object_get(v, "value")));
	cr_assert(json_is_null(json_object_get(v, "metadata")));
	v = json_array_get(values, 2);
	cr_assert_str_eq(json_string_value(json_object_get(v, "value")), "1");
	cr_assert(json_is_null(json_object_get(v, "metadata")));
	store_result_release(&r);
	/* 100 keys pass, 101 do not. */
	n = snprintf(args, sizeof(args), "{\"keys\": [");
	for (int i = 0; i < 101; i++)
		n += snprintf(args + n, sizeof(args) - (size_t)n, "%s\"k%d\"", i ? "," : "", i);
	snprintf(args + n, sizeof(args) - (size_t)n, "]}");
	expect_fail(acme("getMany", args, NULL, 0, &r), &r, STORE_E_INVALID,
	    "KV GET_BULK failed: You can request a maximum of 100 keys");
	strcpy(strstr(args, ",\"k100\""), "]}");
	expect_ok(acme("getMany", args, NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "values")), 100);
	store_result_release(&r);
	expect_fail(acme("getMany", "{\"keys\": []}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("getMany", "{\"keys\": \"one\"}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(
	    acme("getMany", "{\"keys\": [\"one\", 2]}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(
	    acme("getMany", "{\"keys\": [\"one\", \"\"]}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("getMany", "{}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
}

Test(kv, namespaces_exist_only_between_create_and_drop)
{
	struct store_result r;
	char v[16];

	expect_fail(admin("acme", NS1, "create", "{}", NULL, &r), &r, STORE_E_CONFLICT, NULL);
	call_text("acme", NS2, "get", "{\"key\": \"a\"}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_NOT_FOUND, "namespace not found");
	call_text("acme", NS2, "put", "{\"key\": \"a\"}", "v", 1, false, &r);
	expect_fail(r.status, &r, STORE_E_NOT_FOUND, "namespace not found");
	call_text("acme", NS2, "list", "{}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_NOT_FOUND, "namespace not found");
	call_text("acme", NS2, "delete", "{\"key\": \"a\"}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_NOT_FOUND, "namespace not found");
	call_text("acme", NS2, "getMany", "{\"keys\": [\"a\"]}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_NOT_FOUND, "namespace not found");
	expect_fail(admin("acme", NS2, "drop", "{}", NULL, &r), &r, STORE_E_NOT_FOUND,
	    "namespace not found");
	expect_fail(admin("acme", NS2, "bulkPut", "{}", "[]", &r), &r, STORE_E_NOT_FOUND, NULL);
	expect_fail(admin("acme", NS2, "bulkDelete", "{}", "[]", &r), &r, STORE_E_NOT_FOUND, NULL);

	/* Drop takes every key; a new namespace of the same id starts empty. */
	bulk_fill(0, 2500, "d", 0);
	put_ok("x", "1");
	cr_assert_eq(usage_of("acme").keys, 2501);
	expect_ok(admin("acme", NS1, "drop", "{}", NULL, &r), &r);
	store_result_release(&r);
	cr_assert_eq(usage_of("acme").keys, 0, "drop kept usage");
	cr_assert_eq(usage_of("acme").bytes, 0);
	expect_empty_store();
	expect_fail(acme("get", "{\"key\": \"x\"}", NULL, 0, &r), &r, STORE_E_NOT_FOUND, NULL);
	expect_ok(admin("acme", NS1, "create", "{}", NULL, &r), &r);
	store_result_release(&r);
	cr_assert_not(get_ok("x", v, sizeof(v)));
	expect_ok(acme("list", "{}", NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 0);
	store_result_release(&r);
}

/* A drop that a crash interrupted (namespace gone, keys still there) finishes at the next open. */
Test(kv, interrupted_drop_finishes_at_open)
{
	struct store_result r;
	MDB_txn *txn;
	MDB_val k = { strlen("acme/" NS1), (void *)"acme/" NS1 }, v, nk;
	uint8_t nb[8], state[1 + sizeof("acme/" NS1)];

	bulk_fill(0, 1500, "k", 0);
	expect_ok(acme("put", "{\"key\": \"e\", \"expiration_ttl\": 60}", "v", 1, &r), &r);
	store_result_release(&r);
	/* What the drop's first transaction commits, and nothing after it. */
	cr_assert_eq(mdb_txn_begin(kv->env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_get(txn, kv->ns, &k, &v), 0);
	memcpy(nb, v.mv_data, sizeof(nb));
	cr_assert_eq(mdb_del(txn, kv->ns, &k, NULL), 0);
	state[0] = KV_NS_DROPPING;
	memcpy(state + 1, k.mv_data, k.mv_size);
	nk.mv_data = nb;
	nk.mv_size = sizeof(nb);
	v.mv_data = state;
	v.mv_size = 1 + k.mv_size;
	cr_assert_eq(mdb_put(txn, kv->names, &nk, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	expect_fail(acme("get", "{\"key\": \"k1\"}", NULL, 0, &r), &r, STORE_E_NOT_FOUND, NULL);
	cr_assert_eq(usage_of("acme").keys, 1501);
	reopen();
	cr_assert_eq(usage_of("acme").keys, 0);
	expect_empty_store();
	expect_ok(admin("acme", NS1, "create", "{}", NULL, &r), &r);
	store_result_release(&r);
}

Test(kv, admin_methods_and_unknown_methods)
{
	struct store_result r;

	expect_fail(
	    acme("create", "{}", NULL, 0, &r), &r, STORE_E_INVALID, "unknown method 'create'");
	expect_fail(acme("drop", "{}", NULL, 0, &r), &r, STORE_E_INVALID, "unknown method 'drop'");
	expect_fail(acme("bulkPut", "{}", "[]", 2, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("bulkDelete", "{}", "[]", 2, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("frobnicate", "{}", NULL, 0, &r), &r, STORE_E_INVALID,
	    "unknown method 'frobnicate'");
	expect_fail(acme("", "{}", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	/* The admin may also call the script's methods. */
	expect_ok(admin("acme", NS1, "list", "{}", NULL, &r), &r);
	store_result_release(&r);
	/* Arguments that are not an object. */
	expect_fail(acme("get", "[\"key\"]", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(acme("list", "null", NULL, 0, &r), &r, STORE_E_INVALID, NULL);
	/* Identities the transport would have refused. */
	call_text("acme/x", NS1, "get", "{\"key\": \"a\"}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_INVALID, NULL);
	call_text("acme", "NOT-A-NAMESPACE", "get", "{\"key\": \"a\"}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_INVALID, NULL);
}

Test(kv, tenants_are_isolated)
{
	struct store_result r;
	char v[16];
	size_t pages;

	put_ok("secret", "acme's");
	/* Same namespace id, other tenant: not created for it. */
	call_text("other", NS1, "get", "{\"key\": \"secret\"}", NULL, 0, false, &r);
	expect_fail(r.status, &r, STORE_E_NOT_FOUND, NULL);
	expect_ok(admin("other", NS1, "create", "{}", NULL, &r), &r);
	store_result_release(&r);
	cr_assert_not(get_key("other", NS1, "secret", 6, v, sizeof(v)));
	call_text("other", NS1, "list", "{}", NULL, 0, false, &r);
	expect_ok(r.status, &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 0);
	store_result_release(&r);
	expect_ok(put_key("other", NS1, "secret", 6, "other's", &r), &r);
	store_result_release(&r);
	cr_assert(get_ok("secret", v, sizeof(v)));
	cr_assert_str_eq(v, "acme's");
	cr_assert(get_key("other", NS1, "secret", 6, v, sizeof(v)));
	cr_assert_str_eq(v, "other's");
	cr_assert_eq(usage_of("acme").keys, 1);
	cr_assert_eq(usage_of("other").keys, 1);
	/* Dropping one tenant's namespace leaves the other's. */
	expect_ok(admin("other", NS1, "drop", "{}", NULL, &r), &r);
	store_result_release(&r);
	cr_assert(get_ok("secret", v, sizeof(v)));
	cr_assert_eq(list_all(NULL, 0, &pages), 1);
	cr_assert_eq(usage_of("other").keys, 0);
}

Test(kv, key_quota)
{
	struct store_result r;
	char v[16];

	limits.kv_keys = 3;
	put_ok("a", "1");
	put_ok("b", "2");
	/* Another namespace of the tenant counts too. */
	expect_ok(admin("acme", NS2, "create", "{}", NULL, &r), &r);
	store_result_release(&r);
	call_text("acme", NS2, "put", "{\"key\": \"c\"}", "3", 1, false, &r);
	expect_ok(r.status, &r);
	store_result_release(&r);
	expect_fail(acme("put", "{\"key\": \"d\"}", "4", 1, &r), &r, STORE_E_TOO_LARGE, NULL);
	cr_assert_not(get_ok("d", v, sizeof(v)), "the refused put stored its key");
	cr_assert_eq(usage_of("acme").keys, 3);
	/* Overwriting does not add a key. */
	put_ok("a", "11");
	cr_assert(get_ok("a", v, sizeof(v)));
	cr_assert_str_eq(v, "11");
	/* Deleting makes room. */
	expect_ok(acme("delete", "{\"key\": \"b\"}", NULL, 0, &r), &r);
	store_result_release(&r);
	put_ok("d", "4");
	/* Another tenant has its own count. */
	expect_ok(admin("zed", NS1, "create", "{}", NULL, &r), &r);
	store_result_release(&r);
	expect_ok(put_key("zed", NS1, "z", 1, "z", &r), &r);
	store_result_release(&r);
}

Test(kv, byte_quota)
{
	struct store_result r;
	char v[64];

	/* key + metadata + value bytes. */
	limits.kv_bytes = 20;
	put_ok("k1", "12345678");                                                           /* 10 */
	expect_ok(acme("put", "{\"key\": \"k2\", \"metadata\": 1}", "1234567", 7, &r), &r); /* 10 */
	store_result_release(&r);
	cr_assert_eq(usage_of("acme").bytes, 20);
	expect_fail(acme("put", "{\"key\": \"k3\"}", NULL, 0, &r), &r, STORE_E_TOO_LARGE, NULL);
	/* Growing a value over the quota fails and keeps the old value; shrinking passes. */
	expect_fail(
	    acme("put", "{\"key\": \"k1\"}", "123456789", 9, &r), &r, STORE_E_TOO_LARGE, NULL);
	cr_assert(get_ok("k1", v, sizeof(v)));
	cr_assert_str_eq(v, "12345678");
	put_ok("k1", "1");
	cr_assert_eq(usage_of("acme").bytes, 13);
	put_ok("k3", "1234");
	cr_assert_eq(usage_of("acme").bytes, 19);
	/* A lowered quota still lets shrinking writes and deletes through. */
	limits.kv_bytes = 5;
	put_ok("k3", "1");
	expect_ok(acme("delete", "{\"key\": \"k2\"}", NULL, 0, &r), &r);
	store_result_release(&r);
	cr_assert_eq(usage_of("acme").bytes, 6);
}

Test(kv, bulk_put)
{
	struct store_result r;
	char v[64];
	json_t *bad;

	limits.kv_keys = 0;
	expect_ok(
	    admin("acme", NS1, "bulkPut", "{}",
		"[{\"key\": \"a\", \"value\": \"alpha\"},"
		" {\"key\": \"b\", \"value\": \"YmluAP8=\", \"base64\": true, \"metadata\": [1]},"
		" {\"key\": \"c\", \"value\": \"gamma\", \"expiration_ttl\": 120},"
		" {\"key\": \"\", \"value\": \"empty key\"},"
		" {\"key\": \"d\", \"value\": \"!!!\", \"base64\": true},"
		" {\"key\": \"e\", \"value\": 5},"
		" {\"key\": \"f\", \"value\": \"x\", \"expiration_ttl\": 5},"
		" {\"key\": \"g\", \"value\": \"x\", \"base64\": \"yes\"}]",
		&r),
	    &r);
	cr_assert_eq(json_integer_value(json_object_get(r.doc, "successful_key_count")), 3);
	bad = json_loads("[\"\", \"d\", \"e\", \"f\", \"g\"]", 0, NULL);
	cr_assert(json_equal(json_object_get(r.doc, "unsuccessful_keys"), bad));
	json_decref(bad);
	store_result_release(&r);
	cr_assert(get_ok("a", v, sizeof(v)));
	cr_assert_str_eq(v, "alpha");
	expect_ok(acme("get", "{\"key\": \"b\"}", NULL, 0, &r), &r);
	cr_assert_eq(r.mem_len, 5);
	cr_assert_eq(memcmp(r.mem, "bin\0\xff", 5), 0);
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(r.doc, "metadata"), 0)), 1);
	store_result_release(&r);
	expect_ok(acme("get", "{\"key\": \"c\"}", NULL, 0, &r), &r);
	cr_assert_eq(json_integer_value(json_object_get(r.doc, "expiration")), NOW + 120);
	store_result_release(&r);
	cr_assert_not(get_ok("d", v, sizeof(v)));
	cr_assert_eq(usage_of("acme").keys, 3);

	/* Whole-call failures. */
	expect_fail(
	    admin("acme", NS1, "bulkPut", "{}", "{\"key\": \"a\"}", &r), &r, STORE_E_INVALID, NULL);
	expect_fail(admin("acme", NS1, "bulkPut", "{}", "not json", &r), &r, STORE_E_INVALID, NULL);
	expect_fail(admin("acme", NS1, "bulkPut", "{}", NULL, &r), &r, STORE_E_INVALID, NULL);
	expect_fail(
	    admin("acme", NS1, "bulkPut", "{}", "[{\"key\": \"z\", \"value\": \"1\"}, 5]", &r), &r,
	    STORE_E_INVALID, NULL);
	expect_fail(admin("acme", NS1, "bulkPut", "{}", "[{\"value\": \"1\"}]", &r), &r,
	    STORE_E_INVALID, NULL);
	cr_assert_not(get_ok("z", v, sizeof(v)), "a refused bulkPut wrote an item");
}

Test(kv, bulk_put_limits_and_quota_are_all_or_nothing)
{
	struct store_result r;
	json_t *items = json_array();
	char *body;

	for (int i = 0; i < 10001; i++)
		json_array_append_new(items, json_pack("{s:s,s:s}", "key", "k", "value", "v"));
	body = json_dumps(items, JSON_COMPACT);
	expect_fail(admin("acme", NS1, "bulkPut", "{}", body, &r), &r, STORE_E_INVALID, NULL);
	free(body);
	json_decref(items);

	put_ok("before", "1");
	limits.kv_keys = 5;
	expect_fail(admin("acme", NS1, "bulkPut", "{}",
			"[{\"key\": \"a\", \"value\": \"1\"}, {\"key\": \"b\", \"value\": \"1\"},"
			" {\"key\": \"c\", \"value\": \"1\"}, {\"key\": \"d\", \"value\": \"1\"},"
			" {\"key\": \"e\", \"value\": \"1\"}]",
			&r),
	    &r, STORE_E_TOO_LARGE, NULL);
	cr_assert_eq(usage_of("acme").keys, 1);
	expect_ok(acme("list", "{}", NULL, 0, &r), &r);
	cr_assert_eq(json_array_size(json_object_get(r.doc, "keys")), 1);
	store_result_release(&r);
	/* The same key twice is one key; the later value wins. */
	expect_ok(
	    admin("acme", NS1, "bulkPut", "{}",
		"[{\"key\": \"a\", \"value\": \"1\"}, {\"key\": \"a\", \"value\": \"2\"}]", &r),
	    &r);
	store_result_release(&r);
	cr_assert_eq(usage_of("acme").keys, 2);
}

Test(kv, bulk_delete)
{
	struct store_result r;
	char v[16];

	bulk_fill(0, 10, "k", 0);
	expect_ok(
	    admin("acme", NS1, "bulkDelete", "{}", "[\"k1\", \"k2\", \"missing\", \"k1\"]", &r),
	    &r);
	cr_assert_eq(json_integer_value(json_object_get(r.doc, "successful_key_count")), 4);
	store_result_release(&r);
	cr_assert_not(get_ok("k1", v, sizeof(v)));
	cr_assert_not(get_ok("k2", v, sizeof(v)));
	cr_assert(get_ok("k3", v, sizeof(v)));
	cr_assert_eq(usage_of("acme").keys, 8);
	/* One bad key refuses the whole call. */
	expect_fail(
	    admin("acme", NS1, "bulkDelete", "{}", "[\"k3\", 4]", &r), &r, STORE_E_INVALID, NULL);
	expect_fail(admin("acme", NS1, "bulkDelete", "{}", "[\"k3\", \"..\"]", &r), &r,
	    STORE_E_INVALID, NULL);
	expect_fail(admin("acme", NS1, "bulkDelete", "{}", "{}", &r), &r, STORE_E_INVALID, NULL);
	cr_assert(get_ok("k3", v, sizeof(v)));
}

Test(kv, survives_close_and_reopen)
{
	struct store_result r;
	char v[16];

	put_ok("durable", "yes");
	expect_ok(acme("put", "{\"key\": \"exp\", \"expiration_ttl\": 600}", "e", 1, &r), &r);
	store_result_release(&r);
	reopen();
	cr_assert(get_ok("durable", v, sizeof(v)));
	cr_assert_str_eq(v, "yes");
	cr_assert_eq(usage_of("acme").keys, 2);
	now_s = NOW + 600;
	cr_assert_eq(kv_sweep(kv, now_s, 10), 1, "the expiry index was lost");
	expect_fail(admin("acme", NS1, "create", "{}", NULL, &r), &r, STORE_E_CONFLICT, NULL);
}

Test(kv, map_grows_when_full)
{
	struct store_result r;
	MDB_envinfo before, after;
	uint8_t *value = calloc(1, 256 << 10);

	cr_assert_not_null(value);
	/* A small map (no transaction is open between calls). */
	cr_assert_eq(mdb_env_set_mapsize(kv->env, 1 << 20), 0);
	cr_assert_eq(mdb_env_info(kv->env, &before), 0);
	for (int i = 0; i < 24; i++) {
		char args[64];

		snprintf(args, sizeof(args), "{\"key\": \"big%d\"}", i);
		expect_ok(acme("put", args, value, 256 << 10, &r), &r);
		store_result_release(&r);
	}
	cr_assert_eq(mdb_env_info(kv->env, &after), 0);
	cr_assert_gt(after.me_mapsize, before.me_mapsize);
	cr_assert_eq(usage_of("acme").keys, 24);
	free(value);
}

/* Garbage in every member of every method: refused, never a crash or a leak. */
Test(kv, odd_arguments_are_refused)
{
	static const char *methods[] = { "get", "getMany", "put", "delete", "list", "create",
		"drop", "bulkPut", "bulkDelete" };
	static const char *args[] = { "{}", "{\"key\": {}}", "{\"key\": 1e400}",
		"{\"key\": \"k\", \"expiration\": {}}", "{\"key\": \"k\", \"expiration_ttl\": []}",
		"{\"key\": \"k\", \"expiration\": -1}",
		"{\"key\": \"k\", \"expiration_ttl\": -1e20}",
		"{\"key\": \"k\", \"expiration_ttl\": 9e18}", "{\"keys\": [[]]}",
		"{\"keys\": {\"a\": 1}}", "{\"prefix\": [], \"limit\": {}}",
		"{\"cursor\": \"====\"}", "{\"limit\": 9223372036854775807}",
		"{\"key\": \"k\", \"metadata\": null}" };
	static const char *bodies[] = { NULL, "", "[", "[null]", "[{\"key\": 1}]",
		"[{\"key\": \"a\", \"value\": \"x\", \"metadata\": {\"a\": 1}, \"expiration\": "
		"\"soon\"}]",
		"[\"a\", \"b\"]" };
	struct store_result r;

	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
		for (size_t a = 0; a < sizeof(args) / sizeof(args[0]); a++)
			for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
				json_t *j = json_loads(args[a], JSON_DECODE_ANY, NULL);

				if (j == NULL)
					j = json_object();
				enum store_status st;

				call_json("acme", NS1, methods[m], j, bodies[b],
				    bodies[b] != NULL ? strlen(bodies[b]) : 0, true, &r);
				st = r.status;
				store_result_release(&r);
				/* Re-create what a drop in the table removed. */
				if (strcmp(methods[m], "drop") == 0 && st == STORE_OK) {
					expect_ok(admin("acme", NS1, "create", "{}", NULL, &r), &r);
					store_result_release(&r);
				}
			}
}

/* A writer killed mid-stream: every put it saw succeed is there afterwards. */
Test(kv, acknowledged_puts_survive_sigkill)
{
	char key[32], v[32], want[32];
	int fds[2], status, n = 0, got;
	int acked[4096];
	pid_t pid;

	/* One environment per process: the child opens its own. */
	kv_close(kv);
	kv = NULL;
	cr_assert_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct kv *child = kv_open(dir);
		struct store_result r;

		close(fds[0]);
		if (child == NULL)
			_exit(2);
		for (int i = 0;; i++) {
			json_t *args = json_object();
			struct store_call c = { "acme", NS1, "put", args, false, NULL };

			snprintf(key, sizeof(key), "k%d", i);
			snprintf(v, sizeof(v), "value %d", i);
			json_object_set_new(args, "key", json_string(key));
			memset(&r, 0, sizeof(r));
			kv_call(child, &c, (const uint8_t *)v, strlen(v), &r);
			json_decref(args);
			if (r.status != STORE_OK)
				_exit(3);
			store_result_release(&r);
			if (write(fds[1], &i, sizeof(i)) != sizeof(i))
				_exit(4);
		}
	}
	cr_assert_gt(pid, 0);
	close(fds[1]);
	/* Wait for some acknowledgements, then kill it in the middle of its stream. */
	while (n < 50 && read(fds[0], &got, sizeof(got)) == sizeof(got))
		acked[n++] = got;
	cr_assert_eq(n, 50, "the writer stopped early");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while (n < 4096 && read(fds[0], &got, sizeof(got)) == sizeof(got))
		acked[n++] = got;
	close(fds[0]);
	kv = kv_open(dir);
	cr_assert_not_null(kv);
	kv_set_clock(kv, test_clock);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", acked[i]);
		snprintf(want, sizeof(want), "value %d", acked[i]);
		cr_assert(get_ok(key, v, sizeof(v)), "acknowledged put of '%s' lost", key);
		cr_assert_str_eq(v, want);
	}
	/* The counters agree with what is there. */
	cr_assert_geq(usage_of("acme").keys, (uint64_t)n);
	cr_assert_leq(usage_of("acme").keys, (uint64_t)n + 1);
}
