/*
 * Unit tests for broker/r2*.c: R2 buckets on files with a sqlite index, in
 * a data dir made with mkdtemp; r2_call() and the r2_upload_* stream are
 * called directly, as the broker's transport does.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "broker/r2_internal.h"
#include "broker/store.h"
#include "tests/support.h"

#define PIECE (64u << 10)

static char data_dir[256];
static struct r2 *r2;
static struct store_limits limits;
static int fds_before;

/* ---- fixtures ---- */

static void
result_init(struct store_result *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static void
call_as(const char *tenant, const char *bucket, bool admin, const char *method, json_t *args,
    struct store_result *r)
{
	struct store_call c = {
		.tenant = tenant,
		.resource = bucket,
		.method = method,
		.args = args,
		.admin = admin,
		.limits = &limits,
	};

	result_init(r);
	r2_call(r2, &c, r);
	json_decref(args);
}

static void
call(const char *method, json_t *args, struct store_result *r)
{
	call_as("acme", "photos", false, method, args, r);
}

static void
create_bucket(const char *tenant, const char *bucket)
{
	struct store_result r;

	call_as(tenant, bucket, true, "create", json_object(), &r);
	cr_assert_eq(r.status, STORE_OK, "create %s/%s: %s", tenant, bucket, r.message);
	cr_assert(json_integer_value(json_object_get(r.doc, "creation_date")) > 0);
	store_result_release(&r);
}

static void
setup_in(const char *base)
{
	support_tempdir(data_dir, sizeof(data_dir), base, "edged-test-r2");
	memset(&limits, 0, sizeof(limits));
	fds_before = support_count_fds();
	r2 = r2_open(data_dir);
	cr_assert_not_null(r2);
	create_bucket("acme", "photos");
}

static void
setup(void)
{
	setup_in("/tmp");
}

/* Thousands of durable puts: on tmpfs when there is one, where fsync costs nothing. */
static void
setup_fast(void)
{
	setup_in(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
}

static void
teardown(void)
{
	r2_close(r2);
	r2 = NULL;
	cr_expect_eq(support_count_fds(), fds_before, "file descriptors leaked");
	support_remove_tree(data_dir);
}

TestSuite(r2, .init = setup, .fini = teardown);
TestSuite(r2_list, .init = setup_fast, .fini = teardown);

/* ---- helpers ---- */

static void
expect_error(const struct store_result *r, enum store_status status, int code)
{
	char suffix[32];
	size_t n = strlen(r->message), m;

	cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status, status, r->message);
	cr_assert_eq(r->code, code, "code %d, want %d: %s", r->code, code, r->message);
	m = (size_t)snprintf(suffix, sizeof(suffix), " (%d)", code);
	cr_assert(n > m && strcmp(r->message + n - m, suffix) == 0, "message '%s'", r->message);
	cr_assert_null(r->doc);
	cr_assert_eq(r->body_kind, STORE_BODY_NONE);
}

static void
stream(const char *tenant, const char *bucket, const char *method, json_t *args, const void *data,
    size_t len, size_t piece, struct store_result *r)
{
	struct store_call c = {
		.tenant = tenant,
		.resource = bucket,
		.method = method,
		.args = args,
		.limits = &limits,
	};
	const uint8_t *p = data;
	struct r2_upload *up;

	result_init(r);
	if ((up = r2_upload_begin(r2, &c, r)) == NULL) {
		json_decref(args);
		return;
	}
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		if (r2_upload_write(up, p + off, n, r) == -1) {
			r2_upload_abort(up);
			json_decref(args);
			return;
		}
	}
	r2_upload_finish(up, r);
	json_decref(args);
}

/*
 * A STREAM call on acme/photos begun, with `first` written: what a test then
 * interleaves with.  The call's args are taken and released by
 * streaming_release, after the upload's finish or abort.
 */
struct streaming {
	struct store_call call;
	struct r2_upload *up;
};

static void
streaming_begin(struct streaming *s, const char *method, json_t *args, const char *first,
    struct store_result *r)
{
	s->call = (struct store_call) {
		.tenant = "acme",
		.resource = "photos",
		.method = method,
		.args = args,
		.limits = &limits,
	};
	result_init(r);
	s->up = r2_upload_begin(r2, &s->call, r);
	cr_assert_not_null(s->up, "%s", r->message);
	cr_assert_eq(r2_upload_write(s->up, (const uint8_t *)first, strlen(first), r), 0);
}

static void
streaming_release(struct streaming *s)
{
	json_decref(s->call.args);
}

static void
put(json_t *args, const void *data, size_t len, struct store_result *r)
{
	stream("acme", "photos", "put", args, data, len, PIECE, r);
}

/* Puts text under key and returns the object document (a new reference). */
static json_t *
put_text(const char *key, const char *text)
{
	struct store_result r;
	json_t *object;

	put(json_pack("{s:s}", "key", key), text, strlen(text), &r);
	cr_assert_eq(r.status, STORE_OK, "put '%s': %s", key, r.message);
	object = json_incref(json_object_get(r.doc, "object"));
	cr_assert(json_is_object(object));
	store_result_release(&r);
	return object;
}

static uint8_t *
read_body(const struct store_result *r)
{
	uint8_t *buf = malloc(r->length + 1);
	size_t got = 0;

	cr_assert_eq(r->body_kind, STORE_BODY_FILE);
	cr_assert(r->fd >= 0);
	cr_assert_not_null(buf);
	while (got < r->length) {
		ssize_t n = pread(r->fd, buf + got, r->length - got, (off_t)(r->offset + got));

		cr_assert(n > 0, "short read of the body");
		got += (size_t)n;
	}
	buf[got] = '\0';
	return buf;
}

/* Gets key and returns its whole body (malloc'd), or NULL when it does not exist. */
static uint8_t *
get_body(const char *key, size_t *len)
{
	struct store_result r;
	uint8_t *body = NULL;

	call("get", json_pack("{s:s}", "key", key), &r);
	cr_assert_eq(r.status, STORE_OK, "get '%s': %s", key, r.message);
	if (json_is_true(json_object_get(r.doc, "body"))) {
		body = read_body(&r);
		*len = r.length;
	} else
		cr_assert(json_is_null(json_object_get(r.doc, "object")));
	store_result_release(&r);
	return body;
}

static bool
head_exists(const char *tenant, const char *bucket, const char *key)
{
	struct store_result r;
	bool found;

	call_as(tenant, bucket, false, "head", json_pack("{s:s}", "key", key), &r);
	cr_assert_eq(r.status, STORE_OK, "head '%s': %s", key, r.message);
	found = json_is_object(json_object_get(r.doc, "object"));
	store_result_release(&r);
	return found;
}

static void
md5_hex(const void *data, size_t len, char out[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	cr_assert_eq(EVP_Digest(data, len, md, &n, EVP_md5(), NULL), 1);
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

/* Files in <bucket>/<sub>, one or two levels down (objects/xx/ID, tmp/ID). */
static int
count_files(const char *tenant, const char *bucket, const char *sub)
{
	char path[512];
	struct dirent *e;
	struct stat st;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/r2/%s/%s/%s", data_dir, tenant, bucket, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char child[800];

		if (e->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		cr_assert_eq(lstat(child, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			char rel[600];

			snprintf(rel, sizeof(rel), "%s/%s", sub, e->d_name);
			n += count_files(tenant, bucket, rel);
		} else
			n++;
	}
	closedir(d);
	return n;
}

static void
reopen(void)
{
	r2_close(r2);
	r2 = r2_open(data_dir);
	cr_assert_not_null(r2);
}

/* ---- buckets ---- */

Test(r2, bucket_life_cycle)
{
	struct store_result r;
	json_t *object;

	call_as("acme", "photos", true, "create", json_object(), &r);
	expect_error(&r, STORE_E_CONFLICT, 10073);
	call_as("acme", "missing", false, "head", json_pack("{s:s}", "key", "a"), &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10006);
	cr_assert(strstr(r.message, "The specified bucket does not exist.") != NULL);
	call_as("acme", "photos", false, "create", json_object(), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call_as("acme", "photos", false, "drop", json_object(), &r);
	expect_error(&r, STORE_E_INVALID, 10040);

	object = put_text("a", "x");
	json_decref(object);
	call_as("acme", "photos", true, "drop", json_object(), &r);
	expect_error(&r, STORE_E_CONFLICT, 10008);
	cr_assert(strstr(r.message, "The bucket you tried to delete is not empty") != NULL);

	call("delete", json_pack("{s:[s]}", "keys", "a"), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	call_as("acme", "photos", true, "drop", json_object(), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	call("head", json_pack("{s:s}", "key", "a"), &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10006);

	/* Created again, it is empty and usable. */
	create_bucket("acme", "photos");
	cr_assert_not(head_exists("acme", "photos", "a"));
	json_decref(put_text("a", "y"));
	reopen();
	cr_assert(head_exists("acme", "photos", "a"));
}

Test(r2, names_are_checked_again)
{
	static const char *const tenants[] = { "", "../x", "a/b", "." };
	static const char *const buckets[] = { "", "..", "a", "UPPER", "-ab", "a/b/c" };
	struct store_result r;

	for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++) {
		call_as(tenants[i], "photos", true, "create", json_object(), &r);
		expect_error(&r, STORE_E_INVALID, 10040);
		call_as(tenants[i], "photos", false, "head", json_pack("{s:s}", "key", "k"), &r);
		expect_error(&r, STORE_E_INVALID, 10040);
	}
	for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
		call_as("acme", buckets[i], false, "head", json_pack("{s:s}", "key", "k"), &r);
		expect_error(&r, STORE_E_INVALID, 10005);
	}
}

/* ---- put and get ---- */

Test(r2, put_get_5mib_in_pieces)
{
	size_t len = 5u << 20, got_len;
	uint8_t *data = malloc(len), *got;
	struct store_result r;
	char md5[33], quoted[40];
	json_t *object;

	cr_assert_not_null(data);
	fill(data, len, 7);
	md5_hex(data, len, md5);
	put(json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "key", "big/file.bin", "md5", md5,
		"httpMetadata", "contentType", "application/octet-stream", "customMetadata",
		"owner", "ann"),
	    data, len, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	object = json_object_get(r.doc, "object");
	snprintf(quoted, sizeof(quoted), "\"%s\"", md5);
	cr_assert_str_eq(json_string_value(json_object_get(object, "key")), "big/file.bin");
	cr_assert_str_eq(json_string_value(json_object_get(object, "etag")), md5);
	cr_assert_str_eq(json_string_value(json_object_get(object, "httpEtag")), quoted);
	cr_assert_eq(json_integer_value(json_object_get(object, "size")), (json_int_t)len);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(object, "checksums"), "md5")), md5);
	cr_assert_str_eq(json_string_value(json_object_get(object, "storageClass")), "Standard");
	cr_assert_eq(strlen(json_string_value(json_object_get(object, "version"))), 32);
	cr_assert(json_integer_value(json_object_get(object, "uploaded")) > 0);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(object, "httpMetadata"), "contentType")),
	    "application/octet-stream");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(object, "customMetadata"), "owner")),
	    "ann");
	store_result_release(&r);

	got = get_body("big/file.bin", &got_len);
	cr_assert_not_null(got);
	cr_assert_eq(got_len, len);
	cr_assert(memcmp(got, data, len) == 0, "the body read back differs");
	free(got);

	call("head", json_pack("{s:s}", "key", "big/file.bin"), &r);
	cr_assert_eq(r.status, STORE_OK);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(r.doc, "object"), "etag")), md5);
	cr_assert_eq(r.body_kind, STORE_BODY_NONE);
	store_result_release(&r);
	call("head", json_pack("{s:s}", "key", "nothing"), &r);
	cr_assert_eq(r.status, STORE_OK);
	cr_assert(json_is_null(json_object_get(r.doc, "object")));
	store_result_release(&r);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	free(data);
}

Test(r2, overwrite_replaces_and_removes_the_old_blob)
{
	char md5[33];
	size_t len;
	uint8_t *got;
	json_t *first, *second;

	first = put_text("k", "first");
	second = put_text("k", "second value");
	md5_hex("second value", 12, md5);
	cr_assert_str_eq(json_string_value(json_object_get(second, "etag")), md5);
	cr_assert_str_neq(json_string_value(json_object_get(first, "version")),
	    json_string_value(json_object_get(second, "version")));
	got = get_body("k", &len);
	cr_assert_eq(len, 12);
	cr_assert(memcmp(got, "second value", 12) == 0);
	cr_assert_eq(count_files("acme", "photos", "objects"), 1);
	free(got);
	json_decref(first);
	json_decref(second);
}

Test(r2, empty_object)
{
	struct store_result r;
	size_t len = 99;
	uint8_t *got;

	put(json_pack("{s:s}", "key", "empty"), "", 0, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(r.doc, "object"), "etag")),
	    "d41d8cd98f00b204e9800998ecf8427e");
	store_result_release(&r);
	got = get_body("empty", &len);
	cr_assert_not_null(got);
	cr_assert_eq(len, 0);
	free(got);
	call("get", json_pack("{s:s,s:{s:i}}", "key", "empty", "range", "suffix", 1), &r);
	expect_error(&r, STORE_E_FAILED, 10039);
}

Test(r2, wrong_checksum_stores_nothing)
{
	static const char text[] = "some bytes";
	struct store_result r;

	put(json_pack("{s:s,s:s}", "key", "k", "md5", "00112233445566778899aabbccddeeff"), text,
	    sizeof(text) - 1, &r);
	expect_error(&r, STORE_E_FAILED, 10037);
	cr_assert(strstr(r.message, "put: The MD5 checksum you specified did not match") != NULL,
	    "%s", r.message);
	cr_assert_not(head_exists("acme", "photos", "k"));
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	cr_assert_eq(count_files("acme", "photos", "objects"), 0);

	put(json_pack("{s:s,s:s}", "key", "k", "sha256",
		"0000000000000000000000000000000000000000000000000000000000000000"),
	    text, sizeof(text) - 1, &r);
	expect_error(&r, STORE_E_FAILED, 10037);
	cr_assert(strstr(r.message, "SHA-256") != NULL);
	cr_assert_not(head_exists("acme", "photos", "k"));
	cr_assert_eq(count_files("acme", "photos", "objects"), 0);
}

Test(r2, sha_checksums)
{
	static const char *const algos[] = { "sha1", "sha256", "sha384", "sha512" };
	const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512() };
	static const char text[] = "checksummed";
	unsigned char md[EVP_MAX_MD_SIZE];
	struct store_result r;
	char hex[EVP_MAX_MD_SIZE * 2 + 1];
	unsigned int n;

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(EVP_Digest(text, sizeof(text) - 1, md, &n, mds[i], NULL), 1);
		for (unsigned int j = 0; j < n; j++)
			sprintf(hex + 2 * j, "%02X", md[j]); /* upper case is accepted */
		put(json_pack("{s:s,s:s}", "key", algos[i], algos[i], hex), text, sizeof(text) - 1,
		    &r);
		cr_assert_eq(r.status, STORE_OK, "%s: %s", algos[i], r.message);
		for (unsigned int j = 0; j < n; j++)
			sprintf(hex + 2 * j, "%02x", md[j]);
		cr_assert_str_eq(
		    json_string_value(json_object_get(
			json_object_get(json_object_get(r.doc, "object"), "checksums"), algos[i])),
		    hex);
		store_result_release(&r);
	}
	put(json_pack("{s:s,s:s,s:s}", "key", "two", "md5", "00112233445566778899aabbccddeeff",
		"sha1", "0011223344556677889900112233445566778899"),
	    "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	put(json_pack("{s:s,s:s}", "key", "short", "md5", "0011"), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10014);
	put(json_pack(
		"{s:s,s:s}", "key", "nothex", "sha1", "zz11223344556677889900112233445566778899"),
	    "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10014);
	put(json_pack("{s:s,s:i}", "key", "number", "md5", 5), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10014);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
}

Test(r2, metadata_limits)
{
	struct store_result r;
	char *big = malloc(8200);

	cr_assert_not_null(big);
	memset(big, 'v', 8199);
	big[8199] = '\0';
	put(json_pack("{s:s,s:{s:s}}", "key", "k", "customMetadata", "n", big), "x", 1, &r);
	expect_error(&r, STORE_E_TOO_LARGE, 10012);
	big[8000] = '\0';
	put(json_pack("{s:s,s:{s:s},s:{s:s,s:I}}", "key", "k", "customMetadata", "n", big,
		"httpMetadata", "cacheControl", "no-store", "cacheExpiry",
		(json_int_t)1700000000000),
	    "x", 1, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert_eq(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(r.doc, "object"), "httpMetadata"), "cacheExpiry")),
	    1700000000000);
	store_result_release(&r);
	put(json_pack("{s:s,s:{s:i}}", "key", "k", "customMetadata", "n", 1), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	put(json_pack("{s:s,s:{s:b}}", "key", "k", "httpMetadata", "contentType", 1), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	put(json_pack("{s:s,s:s}", "key", "k", "httpMetadata", "text/plain"), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	free(big);
}

Test(r2, keys_are_checked)
{
	char *long_key = malloc(1026);
	struct store_result r;

	cr_assert_not_null(long_key);
	memset(long_key, 'k', 1025);
	long_key[1025] = '\0';
	put(json_pack("{s:s}", "key", long_key), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10020);
	long_key[1024] = '\0';
	json_decref(put_text(long_key, "x"));
	cr_assert(head_exists("acme", "photos", long_key));
	put(json_pack("{s:s}", "key", ""), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10020);
	put(json_pack("{s:i}", "key", 5), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10020);
	put(json_object(), "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10020);
	call("get", json_pack("{s:n}", "key"), &r);
	expect_error(&r, STORE_E_INVALID, 10020);
	/* Keys are data: slashes and dots never reach a path. */
	json_decref(put_text("../../../../etc/passwd", "harmless"));
	cr_assert(head_exists("acme", "photos", "../../../../etc/passwd"));
	free(long_key);
}

/* ---- ranges ---- */

static char *
get_range(json_t *range, struct store_result *r)
{
	char *body;

	call("get", json_pack("{s:s,s:o}", "key", "digits", "range", range), r);
	if (r->status != STORE_OK)
		return NULL;
	cr_assert(json_is_true(json_object_get(r->doc, "body")));
	body = (char *)read_body(r);
	return body;
}

static void
expect_range(json_t *range, const char *want, json_int_t offset)
{
	struct store_result r;
	json_t *got;
	char *body = get_range(range, &r);

	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert_str_eq(body, want);
	got = json_object_get(json_object_get(r.doc, "object"), "range");
	cr_assert_eq(json_integer_value(json_object_get(got, "offset")), offset);
	cr_assert_eq(json_integer_value(json_object_get(got, "length")), (json_int_t)strlen(want));
	cr_assert_eq(
	    json_integer_value(json_object_get(json_object_get(r.doc, "object"), "size")), 10);
	free(body);
	store_result_release(&r);
}

Test(r2, ranges)
{
	struct store_result r;

	json_decref(put_text("digits", "0123456789"));
	expect_range(json_pack("{s:i,s:i}", "offset", 2, "length", 3), "234", 2);
	expect_range(json_pack("{s:i}", "offset", 7), "789", 7);
	expect_range(json_pack("{s:i}", "length", 4), "0123", 0);
	expect_range(json_pack("{s:i}", "suffix", 4), "6789", 6);
	expect_range(json_pack("{s:i}", "suffix", 100), "0123456789", 0);
	expect_range(json_pack("{s:i,s:i}", "offset", 8, "length", 100), "89", 8);
	expect_range(json_pack("{s:f}", "offset", 9.0), "9", 9);

	get_range(json_pack("{s:i}", "offset", 10), &r);
	expect_error(&r, STORE_E_FAILED, 10039);
	cr_assert(strstr(r.message, "The requested range is not satisfiable") != NULL);
	get_range(json_pack("{s:i,s:i}", "offset", 0, "length", 0), &r);
	expect_error(&r, STORE_E_FAILED, 10039);
	get_range(json_pack("{s:i}", "suffix", 0), &r);
	expect_error(&r, STORE_E_FAILED, 10039);

	get_range(json_pack("{s:i,s:i}", "suffix", 1, "offset", 1), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	get_range(json_pack("{s:i}", "offset", -1), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	get_range(json_pack("{s:f}", "offset", 1.5), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	get_range(json_object(), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	get_range(json_string("bytes=0-1"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);

	/* A range of a missing object is no error: there is no object. */
	call("get", json_pack("{s:s,s:{s:i}}", "key", "none", "range", "offset", 99), &r);
	cr_assert_eq(r.status, STORE_OK);
	cr_assert(json_is_null(json_object_get(r.doc, "object")));
	cr_assert(json_is_false(json_object_get(r.doc, "body")));
	store_result_release(&r);
}

/* ---- conditions ---- */

/* Gets "c" with onlyIf; true when the body came (the object is always there). */
static bool
get_if(json_t *only_if)
{
	struct store_result r;
	bool body;

	call("get", json_pack("{s:s,s:o}", "key", "c", "onlyIf", only_if), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert(json_is_object(json_object_get(r.doc, "object")));
	body = json_is_true(json_object_get(r.doc, "body"));
	cr_assert_eq(r.body_kind, body ? STORE_BODY_FILE : STORE_BODY_NONE);
	store_result_release(&r);
	return body;
}

Test(r2, get_conditions)
{
	json_t *object = put_text("c", "conditional");
	const char *etag = json_string_value(json_object_get(object, "etag"));
	json_int_t up = json_integer_value(json_object_get(object, "uploaded"));
	json_int_t second = up / 1000 * 1000;
	char quoted[64], weak[64], list[128];
	struct store_result r;

	snprintf(quoted, sizeof(quoted), "\"%s\"", etag);
	snprintf(weak, sizeof(weak), "W/\"%s\"", etag);
	snprintf(list, sizeof(list), "\"other\", %s", quoted);

	cr_assert(get_if(json_pack("{s:s}", "etagMatches", etag)));
	cr_assert(get_if(json_pack("{s:s}", "etagMatches", quoted)));
	cr_assert(get_if(json_pack("{s:s}", "etagMatches", weak)));
	cr_assert(get_if(json_pack("{s:s}", "etagMatches", "*")));
	cr_assert(get_if(json_pack("{s:s}", "etagMatches", list)));
	cr_assert_not(get_if(json_pack("{s:s}", "etagMatches", "\"other\"")));
	cr_assert_not(get_if(json_pack("{s:s}", "etagDoesNotMatch", etag)));
	cr_assert_not(get_if(json_pack("{s:s}", "etagDoesNotMatch", quoted)));
	cr_assert_not(get_if(json_pack("{s:s}", "etagDoesNotMatch", "*")));
	cr_assert(get_if(json_pack("{s:s}", "etagDoesNotMatch", "other")));

	cr_assert(get_if(json_pack("{s:I}", "uploadedBefore", up + 1)));
	cr_assert_not(get_if(json_pack("{s:I}", "uploadedBefore", up)));
	cr_assert(get_if(json_pack("{s:I}", "uploadedAfter", up - 1)));
	cr_assert_not(get_if(json_pack("{s:I}", "uploadedAfter", up)));
	/* With secondsGranularity both sides are cut to the second. */
	cr_assert_not(
	    get_if(json_pack("{s:I,s:b}", "uploadedAfter", second, "secondsGranularity", 1)));
	cr_assert_not(get_if(
	    json_pack("{s:I,s:b}", "uploadedBefore", second + 999, "secondsGranularity", 1)));
	cr_assert(get_if(
	    json_pack("{s:I,s:b}", "uploadedBefore", second + 1000, "secondsGranularity", 1)));
	if (up % 1000 != 0)
		cr_assert(get_if(json_pack("{s:I}", "uploadedAfter", second)));

	/* An etag condition decides over the date of its pair, as HTTP says. */
	cr_assert(get_if(json_pack("{s:s,s:I}", "etagMatches", etag, "uploadedBefore", up)));
	cr_assert_not(
	    get_if(json_pack("{s:s,s:I}", "etagDoesNotMatch", etag, "uploadedAfter", up - 1)));
	cr_assert(get_if(json_pack("{s:s,s:I}", "etagDoesNotMatch", "x", "uploadedAfter", up)));

	call("get", json_pack("{s:s,s:{s:i}}", "key", "c", "onlyIf", "etagMatches", 5), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("get", json_pack("{s:s,s:{s:s}}", "key", "c", "onlyIf", "uploadedAfter", "yesterday"),
	    &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("get", json_pack("{s:s,s:s}", "key", "c", "onlyIf", "x"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	json_decref(object);
}

static json_t *
put_if(const char *key, const char *text, json_t *only_if)
{
	struct store_result r;
	json_t *object;

	put(json_pack("{s:s,s:o}", "key", key, "onlyIf", only_if), text, strlen(text), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	object = json_incref(json_object_get(r.doc, "object"));
	cr_assert_not_null(object);
	store_result_release(&r);
	return object;
}

static void
expect_body(const char *key, const char *want)
{
	size_t len;
	uint8_t *got = get_body(key, &len);

	cr_assert_not_null(got, "'%s' is missing", key);
	cr_assert_eq(len, strlen(want));
	cr_assert(memcmp(got, want, len) == 0, "'%s' holds the wrong bytes", key);
	free(got);
}

Test(r2, put_conditions)
{
	json_t *first = put_text("p", "one");
	const char *etag = json_string_value(json_object_get(first, "etag"));
	json_int_t up = json_integer_value(json_object_get(first, "uploaded"));
	json_t *o;

	o = put_if("p", "two", json_pack("{s:s}", "etagMatches", "nope"));
	cr_assert(json_is_null(o));
	json_decref(o);
	expect_body("p", "one");
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);

	o = put_if("p", "two", json_pack("{s:s}", "etagMatches", etag));
	cr_assert(json_is_object(o));
	json_decref(o);
	expect_body("p", "two");

	o = put_if("p", "three", json_pack("{s:s}", "etagDoesNotMatch", "\"nope\""));
	cr_assert(json_is_object(o));
	etag = json_string_value(json_object_get(o, "etag"));
	json_decref(first);
	first = put_if("p", "four", json_pack("{s:s}", "etagDoesNotMatch", etag));
	cr_assert(json_is_null(first));
	expect_body("p", "three");
	json_decref(o);
	o = put_if("p", "three", json_pack("{s:s}", "etagDoesNotMatch", "*"));
	cr_assert(json_is_null(o));
	json_decref(o);
	o = put_if("new", "fresh", json_pack("{s:s}", "etagDoesNotMatch", "*"));
	cr_assert(json_is_object(o));
	json_decref(o);
	o = put_if("absent", "x", json_pack("{s:s}", "etagMatches", "*"));
	cr_assert(json_is_null(o));
	json_decref(o);
	cr_assert_not(head_exists("acme", "photos", "absent"));

	o = put_if("new", "later", json_pack("{s:I}", "uploadedBefore", up - 1000000));
	cr_assert(json_is_null(o));
	json_decref(o);
	o = put_if("new", "later", json_pack("{s:I}", "uploadedAfter", up - 1000000));
	cr_assert(json_is_object(o));
	json_decref(o);
	expect_body("new", "later");
	cr_assert_eq(count_files("acme", "photos", "objects"), 2);
	json_decref(first);
}

/* A put whose condition held at begin but not at finish stores nothing. */
Test(r2, put_condition_checked_again_at_finish)
{
	json_t *first = put_text("race", "before");
	struct store_result r;
	struct streaming put_race;

	streaming_begin(&put_race, "put",
	    json_pack("{s:s,s:{s:O}}", "key", "race", "onlyIf", "etagMatches",
		json_object_get(first, "etag")),
	    "loser", &r);
	json_decref(put_text("race", "winner"));
	r2_upload_finish(put_race.up, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert(json_is_null(json_object_get(r.doc, "object")));
	store_result_release(&r);
	expect_body("race", "winner");
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	cr_assert_eq(count_files("acme", "photos", "objects"), 1);
	streaming_release(&put_race);
	json_decref(first);
}

/* A bucket dropped and created again while a put streams into the old one. */
Test(r2, drop_while_a_put_streams)
{
	struct store_result r;
	struct streaming orphan;

	streaming_begin(&orphan, "put", json_pack("{s:s}", "key", "orphan"), "early", &r);
	call_as("acme", "photos", true, "drop", json_object(), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	create_bucket("acme", "photos");
	json_decref(put_text("fresh", "new bucket"));
	cr_assert_eq(r2_upload_write(orphan.up, (const uint8_t *)"late", 4, &r), -1);
	expect_error(&r, STORE_E_NOT_FOUND, 10006);
	result_init(&r);
	r2_upload_finish(orphan.up, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10006);
	cr_assert_not(head_exists("acme", "photos", "orphan"));
	/* The old handle's end left the new bucket's index alone. */
	reopen();
	expect_body("fresh", "new bucket");
	streaming_release(&orphan);
}

Test(r2, abort_leaves_nothing)
{
	struct store_result r;
	struct streaming aborted;

	streaming_begin(&aborted, "put", json_pack("{s:s}", "key", "aborted"), "partial", &r);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 1);
	r2_upload_abort(aborted.up);
	r2_upload_abort(NULL);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	cr_assert_not(head_exists("acme", "photos", "aborted"));
	streaming_release(&aborted);
}

/* ---- delete ---- */

Test(r2, delete_keys)
{
	struct store_result r;
	json_t *keys = json_array();

	json_decref(put_text("a", "1"));
	json_decref(put_text("b", "2"));
	call("delete", json_pack("{s:[s,s,s]}", "keys", "a", "missing", "a"), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	cr_assert_not(head_exists("acme", "photos", "a"));
	cr_assert(head_exists("acme", "photos", "b"));
	cr_assert_eq(count_files("acme", "photos", "objects"), 1);

	for (int i = 0; i < 1001; i++)
		json_array_append_new(keys, json_sprintf("k%d", i));
	call("delete", json_pack("{s:o}", "keys", keys), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("delete", json_pack("{s:[s,i]}", "keys", "b", 3), &r);
	expect_error(&r, STORE_E_INVALID, 10020);
	cr_assert(head_exists("acme", "photos", "b"), "a failed delete removed a key");
	call("delete", json_pack("{s:s}", "keys", "b"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("delete", json_pack("{s:[]}", "keys"), &r);
	cr_assert_eq(r.status, STORE_OK);
	store_result_release(&r);
}

/* ---- list ---- */

static json_t *
list(json_t *args)
{
	struct store_result r;
	json_t *doc;

	call("list", args, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	doc = json_incref(r.doc);
	store_result_release(&r);
	return doc;
}

static const char *
listed_key(json_t *doc, size_t i)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(doc, "objects"), i), "key"));
}

static void
put_list_keys(void)
{
	char key[32];

	for (int d = 0; d < 5; d++) {
		for (int f = 0; f < 500; f++) {
			snprintf(key, sizeof(key), "dir%d/file%04d", d, f);
			json_decref(put_text(key, key));
		}
	}
}

Test(r2_list, pages_prefixes_and_cursors)
{
	json_t *doc, *all = json_array();
	const char *cursor = NULL;
	char want[32];
	size_t pages = 0;

	put_list_keys();
	doc = list(json_object());
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 1000);
	cr_assert(json_is_true(json_object_get(doc, "truncated")));
	cr_assert(json_is_string(json_object_get(doc, "cursor")));
	cr_assert_str_eq(listed_key(doc, 0), "dir0/file0000");
	cr_assert_eq(json_array_size(json_object_get(doc, "delimitedPrefixes")), 0);
	json_decref(doc);

	/* Every key once, in order, over pages of 300. */
	doc = NULL;
	do {
		json_t *args = json_pack("{s:i}", "limit", 300);
		json_t *objects, *o;
		size_t i;

		if (cursor != NULL)
			json_object_set_new(args, "cursor", json_string(cursor));
		json_decref(doc);
		doc = list(args);
		objects = json_object_get(doc, "objects");
		json_array_foreach (objects, i, o)
			json_array_append(all, json_object_get(o, "key"));
		cursor = json_string_value(json_object_get(doc, "cursor"));
		cr_assert_eq(cursor != NULL, json_is_true(json_object_get(doc, "truncated")));
		pages++;
	} while (cursor != NULL);
	json_decref(doc);
	cr_assert_eq(pages, 9);
	cr_assert_eq(json_array_size(all), 2500);
	for (size_t i = 0; i < 2500; i++) {
		snprintf(want, sizeof(want), "dir%zu/file%04zu", i / 500, i % 500);
		cr_assert_str_eq(json_string_value(json_array_get(all, i)), want);
	}
	json_decref(all);

	doc = list(json_pack("{s:s}", "prefix", "dir3/"));
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 500);
	cr_assert(json_is_false(json_object_get(doc, "truncated")));
	cr_assert_null(json_object_get(doc, "cursor"));
	cr_assert_str_eq(listed_key(doc, 499), "dir3/file0499");
	json_decref(doc);

	doc = list(json_pack(
	    "{s:s,s:s,s:i}", "prefix", "dir2/", "startAfter", "dir2/file0100", "limit", 2));
	cr_assert_str_eq(listed_key(doc, 0), "dir2/file0101");
	cr_assert_str_eq(listed_key(doc, 1), "dir2/file0102");
	json_decref(doc);

	doc = list(json_pack("{s:s}", "startAfter", "dir4/file0498"));
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 1);
	json_decref(doc);
}

Test(r2_list, delimiter_and_include)
{
	json_t *doc, *next, *prefixes, *o;
	struct store_result r;

	put_list_keys();
	json_decref(put_text("top", "t"));
	doc = list(json_pack("{s:s}", "delimiter", "/"));
	prefixes = json_object_get(doc, "delimitedPrefixes");
	cr_assert_eq(json_array_size(prefixes), 5);
	cr_assert_str_eq(json_string_value(json_array_get(prefixes, 0)), "dir0/");
	cr_assert_str_eq(json_string_value(json_array_get(prefixes, 4)), "dir4/");
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 1);
	cr_assert_str_eq(listed_key(doc, 0), "top");
	cr_assert(json_is_false(json_object_get(doc, "truncated")));
	json_decref(doc);

	/* Folded prefixes count toward the limit and the cursor resumes after them. */
	doc = list(json_pack("{s:s,s:i}", "delimiter", "/", "limit", 2));
	prefixes = json_object_get(doc, "delimitedPrefixes");
	cr_assert_eq(json_array_size(prefixes), 2);
	cr_assert(json_is_true(json_object_get(doc, "truncated")));
	next = list(json_pack("{s:s,s:i,s:O}", "delimiter", "/", "limit", 2, "cursor",
	    json_object_get(doc, "cursor")));
	prefixes = json_object_get(next, "delimitedPrefixes");
	cr_assert_eq(json_array_size(prefixes), 2);
	cr_assert_str_eq(json_string_value(json_array_get(prefixes, 0)), "dir2/");
	json_decref(doc);
	doc = list(json_pack("{s:s,s:i,s:O}", "delimiter", "/", "limit", 2, "cursor",
	    json_object_get(next, "cursor")));
	cr_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(doc, "delimitedPrefixes"), 0)),
	    "dir4/");
	cr_assert_str_eq(listed_key(doc, 0), "top");
	cr_assert(json_is_false(json_object_get(doc, "truncated")));
	json_decref(doc);
	json_decref(next);

	doc = list(json_pack("{s:s,s:s}", "prefix", "dir1/", "delimiter", "file00"));
	cr_assert_eq(json_array_size(json_object_get(doc, "delimitedPrefixes")), 1);
	cr_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(doc, "delimitedPrefixes"), 0)),
	    "dir1/file00");
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 400);
	cr_assert_str_eq(listed_key(doc, 0), "dir1/file0100");
	json_decref(doc);

	doc = list(json_pack("{s:i}", "limit", 1));
	o = json_array_get(json_object_get(doc, "objects"), 0);
	cr_assert_null(json_object_get(o, "httpMetadata"));
	cr_assert_null(json_object_get(o, "customMetadata"));
	cr_assert_not_null(json_object_get(o, "etag"));
	json_decref(doc);
	doc = list(
	    json_pack("{s:i,s:[s,s]}", "limit", 1, "include", "httpMetadata", "customMetadata"));
	o = json_array_get(json_object_get(doc, "objects"), 0);
	cr_assert(json_is_object(json_object_get(o, "httpMetadata")));
	cr_assert(json_is_object(json_object_get(o, "customMetadata")));
	json_decref(doc);
	doc = list(json_pack("{s:i,s:[s]}", "limit", 1, "include", "customMetadata"));
	o = json_array_get(json_object_get(doc, "objects"), 0);
	cr_assert_null(json_object_get(o, "httpMetadata"));
	cr_assert(json_is_object(json_object_get(o, "customMetadata")));
	json_decref(doc);

	call("list", json_pack("{s:s}", "cursor", "garbage"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("list", json_pack("{s:s}", "cursor", "1a6"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("list", json_pack("{s:i}", "limit", 0), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("list", json_pack("{s:i}", "limit", 1001), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("list", json_pack("{s:[s]}", "include", "everything"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	call("list", json_pack("{s:i}", "prefix", 3), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
}

Test(r2, list_orders_bytewise)
{
	static const char *const keys[] = { "b", "\xc3\xa9", "Z", "a", "a/b", "a\x01" };
	static const char *const want[] = { "Z", "a", "a\x01", "a/b", "b", "\xc3\xa9" };
	json_t *doc;

	for (size_t i = 0; i < 6; i++)
		json_decref(put_text(keys[i], "x"));
	doc = list(json_object());
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 6);
	for (size_t i = 0; i < 6; i++)
		cr_assert_str_eq(listed_key(doc, i), want[i]);
	json_decref(doc);
	doc = list(json_pack("{s:s}", "prefix", "a"));
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 3);
	cr_assert_str_eq(listed_key(doc, 2), "a/b");
	json_decref(doc);
}

/* ---- multipart ---- */

static char *
mpu_create(const char *key, json_t *extra)
{
	struct store_result r;
	json_t *args = extra != NULL ? extra : json_object();
	char *id;

	json_object_set_new(args, "key", json_string(key));
	call("createMultipartUpload", args, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	id = strdup(json_string_value(json_object_get(r.doc, "uploadId")));
	cr_assert_not_null(id);
	store_result_release(&r);
	return id;
}

static void
part(const char *key, const char *id, json_int_t number, const void *data, size_t len,
    struct store_result *r)
{
	stream("acme", "photos", "uploadPart",
	    json_pack("{s:s,s:s,s:I}", "key", key, "uploadId", id, "partNumber", number), data, len,
	    1000, r);
}

static char *
part_ok(const char *key, const char *id, json_int_t number, const void *data, size_t len)
{
	struct store_result r;
	char *etag;

	part(key, id, number, data, len, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert_eq(json_integer_value(json_object_get(r.doc, "partNumber")), number);
	etag = strdup(json_string_value(json_object_get(r.doc, "etag")));
	store_result_release(&r);
	return etag;
}

static void
complete(const char *key, const char *id, json_t *parts, struct store_result *r)
{
	call("completeMultipartUpload",
	    json_pack("{s:s,s:s,s:o}", "key", key, "uploadId", id, "parts", parts), r);
}

Test(r2, multipart_small_parts)
{
	uint8_t a[2048], b[2048], b2[2048], c[100], all[4196], bin[48];
	char *e1, *e2, *e2b, *e3, *e5, want[40], md5[33];
	struct store_result r;
	uint8_t *got;
	json_t *object;
	size_t len;
	char *id;

	r2_set_min_part_size(r2, 1024);
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(b2, sizeof(b2), 3);
	fill(c, sizeof(c), 4);
	id = mpu_create("movie",
	    json_pack("{s:{s:s},s:{s:s}}", "httpMetadata", "contentType", "video/mp4",
		"customMetadata", "take", "3"));
	cr_assert(r2_is_id(id));
	e1 = part_ok("movie", id, 1, a, sizeof(a));
	e2 = part_ok("movie", id, 2, b, sizeof(b));
	e3 = part_ok("movie", id, 3, c, sizeof(c));
	md5_hex(a, sizeof(a), md5);
	cr_assert_str_eq(e1, md5);
	cr_assert_not(head_exists("acme", "photos", "movie"), "a pending upload is visible");

	/* Uploading part 2 again replaces it; its old etag no longer completes. */
	e2b = part_ok("movie", id, 2, b2, sizeof(b2));
	cr_assert_eq(count_files("acme", "photos", "objects"), 3);
	complete("movie", id,
	    json_pack("[{s:i,s:s},{s:i,s:s},{s:i,s:s}]", "partNumber", 1, "etag", e1, "partNumber",
		2, "etag", e2, "partNumber", 3, "etag", e3),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10025);
	complete("movie", id,
	    json_pack(
		"[{s:i,s:s},{s:i,s:s}]", "partNumber", 2, "etag", e2b, "partNumber", 1, "etag", e1),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10025);
	complete("movie", id,
	    json_pack(
		"[{s:i,s:s},{s:i,s:s}]", "partNumber", 3, "etag", e3, "partNumber", 4, "etag", e3),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10025);
	complete("movie", id,
	    json_pack(
		"[{s:i,s:s},{s:i,s:s}]", "partNumber", 3, "etag", e3, "partNumber", 1, "etag", e1),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10025);
	e5 = part_ok("movie", id, 5, b, sizeof(b));
	complete("movie", id,
	    json_pack(
		"[{s:i,s:s},{s:i,s:s}]", "partNumber", 3, "etag", e3, "partNumber", 5, "etag", e5),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10011);
	complete("movie", id, json_pack("[]"), &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	complete("movie", id, json_pack("[{s:i}]", "partNumber", 1), &r);
	expect_error(&r, STORE_E_INVALID, 10040);

	snprintf(want, sizeof(want), "\"%s\"", e2b);
	complete("movie", id,
	    json_pack("[{s:i,s:s},{s:i,s:s},{s:i,s:s}]", "partNumber", 1, "etag", e1, "partNumber",
		2, "etag", want, "partNumber", 3, "etag", e3),
	    &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	object = json_object_get(r.doc, "object");
	for (int i = 0; i < 3; i++) {
		const char *hex = i == 0 ? e1 : i == 1 ? e2b : e3;

		for (int j = 0; j < 16; j++) {
			unsigned int v;

			sscanf(hex + 2 * j, "%2x", &v);
			bin[16 * i + j] = (uint8_t)v;
		}
	}
	md5_hex(bin, sizeof(bin), md5);
	snprintf(want, sizeof(want), "%s-3", md5);
	cr_assert_str_eq(json_string_value(json_object_get(object, "etag")), want);
	cr_assert_eq(json_integer_value(json_object_get(object, "size")), 4196);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(object, "httpMetadata"), "contentType")),
	    "video/mp4");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(object, "customMetadata"), "take")),
	    "3");
	store_result_release(&r);

	memcpy(all, a, sizeof(a));
	memcpy(all + 2048, b2, sizeof(b2));
	memcpy(all + 4096, c, sizeof(c));
	got = get_body("movie", &len);
	cr_assert_eq(len, sizeof(all));
	cr_assert(memcmp(got, all, len) == 0, "the completed object differs");
	free(got);
	cr_assert_eq(count_files("acme", "photos", "objects"), 1, "parts were left behind");

	/* The upload is gone. */
	complete("movie", id, json_pack("[{s:i,s:s}]", "partNumber", 1, "etag", e1), &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	cr_assert(strstr(r.message, "The specified multipart upload does not exist.") != NULL);
	free(e1);
	free(e2);
	free(e2b);
	free(e3);
	free(e5);
	free(id);
}

Test(r2, multipart_rules_and_abort)
{
	uint8_t big[3000], small[1500];
	struct store_result r;
	char *id, *e1, *e2, *e3;

	r2_set_min_part_size(r2, 1024);
	fill(big, sizeof(big), 5);
	fill(small, sizeof(small), 6);
	id = mpu_create("doc", NULL);
	e1 = part_ok("doc", id, 1, big, sizeof(big));
	e2 = part_ok("doc", id, 2, small, sizeof(small));
	e3 = part_ok("doc", id, 3, small, sizeof(small));
	complete("doc", id,
	    json_pack("[{s:i,s:s},{s:i,s:s},{s:i,s:s}]", "partNumber", 1, "etag", e1, "partNumber",
		2, "etag", e2, "partNumber", 3, "etag", e3),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10048);

	part("doc", id, 0, "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	part("doc", id, 10001, "x", 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	part("other-key", id, 1, "x", 1, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	part("doc", "00000000000000000000000000000000", 1, "x", 1, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	part("doc", "../../escape", 1, "x", 1, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	call("abortMultipartUpload", json_pack("{s:s,s:s}", "key", "doc", "uploadId", "nope"), &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	cr_assert_eq(count_files("acme", "photos", "objects"), 3);

	call("abortMultipartUpload", json_pack("{s:s,s:s}", "key", "doc", "uploadId", id), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	cr_assert_eq(count_files("acme", "photos", "objects"), 0);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	part("doc", id, 4, "x", 1, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	complete("doc", id, json_pack("[{s:i,s:s}]", "partNumber", 1, "etag", e1), &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	cr_assert_not(head_exists("acme", "photos", "doc"));
	free(e1);
	free(e2);
	free(e3);
	free(id);
}

/* An upload aborted while a part streams: the part's finish finds no upload. */
Test(r2, part_finish_after_abort)
{
	char *id = mpu_create("late", NULL);
	struct store_result r;
	struct streaming part;

	streaming_begin(&part, "uploadPart",
	    json_pack("{s:s,s:s,s:i}", "key", "late", "uploadId", id, "partNumber", 1), "bytes",
	    &r);
	call("abortMultipartUpload", json_pack("{s:s,s:s}", "key", "late", "uploadId", id), &r);
	cr_assert_eq(r.status, STORE_OK);
	store_result_release(&r);
	result_init(&r);
	r2_upload_finish(part.up, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10024);
	cr_assert_eq(count_files("acme", "photos", "objects"), 0);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	streaming_release(&part);
	free(id);
}

Test(r2, part_size_default_is_r2s)
{
	struct store_result r;
	uint8_t data[2048];
	char *id, *e1, *e2;

	fill(data, sizeof(data), 9);
	id = mpu_create("m", NULL);
	e1 = part_ok("m", id, 1, data, sizeof(data));
	e2 = part_ok("m", id, 2, data, sizeof(data));
	complete("m", id,
	    json_pack(
		"[{s:i,s:s},{s:i,s:s}]", "partNumber", 1, "etag", e1, "partNumber", 2, "etag", e2),
	    &r);
	expect_error(&r, STORE_E_FAILED, 10011);
	/* A single part may be of any size. */
	complete("m", id, json_pack("[{s:i,s:s}]", "partNumber", 2, "etag", e2), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	cr_assert(
	    strstr(json_string_value(json_object_get(json_object_get(r.doc, "object"), "etag")),
		"-1") != NULL);
	store_result_release(&r);
	cr_assert_eq(count_files("acme", "photos", "objects"), 1);
	free(e1);
	free(e2);
	free(id);
}

/* ---- quota and tenants ---- */

Test(r2, quota_across_buckets_and_parts)
{
	uint8_t data[9000];
	struct store_result r;
	char *id;

	fill(data, sizeof(data), 11);
	limits.r2_bytes = 10000;
	create_bucket("acme", "videos");
	put(json_pack("{s:s}", "key", "a"), data, 6000, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	put(json_pack("{s:s}", "key", "b"), data, 5000, &r);
	expect_error(&r, STORE_E_TOO_LARGE, 100100);
	cr_assert_not(head_exists("acme", "photos", "b"));
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);

	/* Replacing counts the difference. */
	put(json_pack("{s:s}", "key", "a"), data, 9000, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	stream("acme", "videos", "put", json_pack("{s:s}", "key", "v"), data, 2000, PIECE, &r);
	expect_error(&r, STORE_E_TOO_LARGE, 100100);
	cr_assert_not(head_exists("acme", "videos", "v"));

	/* Pending parts count. */
	id = mpu_create("m", NULL);
	part("m", id, 1, data, 900, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	part("m", id, 2, data, 200, &r);
	expect_error(&r, STORE_E_TOO_LARGE, 100100);

	/* Another tenant has its own quota; the bucket name is the same. */
	create_bucket("other", "photos");
	stream("other", "photos", "put", json_pack("{s:s}", "key", "o"), data, 9000, PIECE, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);

	/* The usage survives a restart: it is read back from the indexes. */
	reopen();
	put(json_pack("{s:s}", "key", "c"), data, 101, &r);
	expect_error(&r, STORE_E_TOO_LARGE, 100100);
	put(json_pack("{s:s}", "key", "c"), data, 100, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	call("abortMultipartUpload", json_pack("{s:s,s:s}", "key", "m", "uploadId", id), &r);
	cr_assert_eq(r.status, STORE_OK);
	store_result_release(&r);
	call("delete", json_pack("{s:[s]}", "keys", "a"), &r);
	cr_assert_eq(r.status, STORE_OK);
	store_result_release(&r);
	stream("acme", "videos", "put", json_pack("{s:s}", "key", "v"), data, 9000, PIECE, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	free(id);
}

/* Two puts that each fit pass their writes; the second to finish is refused. */
Test(r2, quota_checked_at_finish)
{
	uint8_t data[3000];
	json_t *a1 = json_pack("{s:s}", "key", "x"), *a2 = json_pack("{s:s}", "key", "y");
	struct store_call c1 = { "acme", "photos", "put", a1, false, &limits };
	struct store_call c2 = { "acme", "photos", "put", a2, false, &limits };
	struct store_result r;
	struct r2_upload *u1, *u2;

	fill(data, sizeof(data), 12);
	limits.r2_bytes = 5000;
	result_init(&r);
	u1 = r2_upload_begin(r2, &c1, &r);
	u2 = r2_upload_begin(r2, &c2, &r);
	cr_assert(u1 != NULL && u2 != NULL);
	cr_assert_eq(r2_upload_write(u1, data, sizeof(data), &r), 0);
	cr_assert_eq(r2_upload_write(u2, data, sizeof(data), &r), 0);
	r2_upload_finish(u1, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	r2_upload_finish(u2, &r);
	expect_error(&r, STORE_E_TOO_LARGE, 100100);
	cr_assert(head_exists("acme", "photos", "x"));
	cr_assert_not(head_exists("acme", "photos", "y"));
	cr_assert_eq(count_files("acme", "photos", "objects"), 1);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	json_decref(a1);
	json_decref(a2);
}

Test(r2, tenants_are_isolated)
{
	struct store_result r;
	json_t *doc;

	json_decref(put_text("secret", "acme's"));
	call_as("other", "photos", false, "head", json_pack("{s:s}", "key", "secret"), &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10006);
	create_bucket("other", "photos");
	cr_assert_not(head_exists("other", "photos", "secret"));
	stream(
	    "other", "photos", "put", json_pack("{s:s}", "key", "secret"), "other's", 7, PIECE, &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	expect_body("secret", "acme's");
	call_as("other", "photos", false, "list", json_object(), &r);
	doc = json_object_get(r.doc, "objects");
	cr_assert_eq(json_array_size(doc), 1);
	store_result_release(&r);
	call_as("other", "photos", false, "delete", json_pack("{s:[s]}", "keys", "secret"), &r);
	store_result_release(&r);
	expect_body("secret", "acme's");
	call_as("other", "photos", true, "drop", json_object(), &r);
	cr_assert_eq(r.status, STORE_OK, "%s", r.message);
	store_result_release(&r);
	expect_body("secret", "acme's");
}

/* ---- durability ---- */

static void
child_puts(int report, int hold)
{
	static uint8_t data[300000];
	struct store_result r;
	struct r2_upload *up;
	char key[16];
	int i;

	if ((r2 = r2_open(data_dir)) == NULL)
		_exit(2);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill(data, sizeof(data), (uint32_t)i);
		put(json_pack("{s:s}", "key", key), data, sizeof(data), &r);
		if (r.status != STORE_OK || write(report, &i, sizeof(i)) != sizeof(i))
			_exit(3);
		store_result_release(&r);
	}
	/* Overwrite k0 and start a new key; stop halfway through both. */
	fill(data, sizeof(data), 99);
	for (int k = 0; k < 2; k++) {
		json_t *args = json_pack("{s:s}", "key", k == 0 ? "k0" : "half");
		struct store_call c = { "acme", "photos", "put", args, false, &limits };

		result_init(&r);
		if ((up = r2_upload_begin(r2, &c, &r)) == NULL ||
		    r2_upload_write(up, data, sizeof(data) / 2, &r) == -1)
			_exit(4);
	}
	i = -1;
	if (write(report, &i, sizeof(i)) != sizeof(i))
		_exit(5);
	(void)read(hold, &i, 1); /* until killed */
	_exit(6);
}

Test(r2, kill_mid_write)
{
	static uint8_t want[300000];
	int report[2], hold[2], i, status, finished = 0;
	uint8_t *got;
	size_t len;
	char key[16];
	pid_t pid;

	r2_close(r2);
	r2 = NULL;
	cr_assert_eq(pipe(report), 0);
	cr_assert_eq(pipe(hold), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(report[0]);
		close(hold[1]);
		child_puts(report[1], hold[0]);
	}
	close(report[1]);
	close(hold[0]);
	while (read(report[0], &i, sizeof(i)) == sizeof(i) && i != -1)
		cr_assert_eq(i, finished++);
	cr_assert_eq(i, -1, "the child stopped early");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(report[0]);
	close(hold[1]);
	cr_assert_eq(finished, 5);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 2, "the half-written bodies");

	r2 = r2_open(data_dir);
	cr_assert_not_null(r2);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	for (i = 0; i < finished; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill(want, sizeof(want), (uint32_t)i);
		got = get_body(key, &len);
		cr_assert_not_null(got, "'%s' was lost", key);
		cr_assert_eq(len, sizeof(want));
		cr_assert(memcmp(got, want, len) == 0, "'%s' is damaged", key);
		free(got);
	}
	cr_assert_not(head_exists("acme", "photos", "half"));
	cr_assert_eq(count_files("acme", "photos", "objects"), 5);
}

Test(r2, start_up_sweeps_unreferenced_blobs)
{
	static const char stray_id[] = "abababababababababababababababab";
	char path[512];
	size_t len;
	uint8_t *got;
	int fd;

	json_decref(put_text("kept", "kept bytes"));
	/* A blob renamed into objects/ whose commit never happened, and a body in tmp/. */
	snprintf(path, sizeof(path), "%s/r2/acme/photos/objects/ab", data_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/r2/acme/photos/objects/ab/%s", data_dir, stray_id);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/r2/acme/photos/tmp/%s", data_dir, stray_id);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	/* A bucket half created. */
	snprintf(path, sizeof(path), "%s/r2/acme/.new-%s", data_dir, stray_id);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(count_files("acme", "photos", "objects"), 2);

	reopen();
	cr_assert_eq(count_files("acme", "photos", "objects"), 1);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
	cr_assert_neq(access(path, F_OK), 0);
	got = get_body("kept", &len);
	cr_assert_not_null(got);
	cr_assert_eq(len, 10);
	free(got);
}

Test(r2, many_buckets_through_a_small_cache)
{
	char name[32], key[32];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "bucket-%02d", i);
		create_bucket("acme", name);
		snprintf(key, sizeof(key), "key-%d", i);
		struct store_result r;

		stream("acme", name, "put", json_pack("{s:s}", "key", key), key, strlen(key), PIECE,
		    &r);
		cr_assert_eq(r.status, STORE_OK, "%s", r.message);
		store_result_release(&r);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "bucket-%02d", i);
		snprintf(key, sizeof(key), "key-%d", i);
		cr_assert(head_exists("acme", name, key));
	}
}

/* ---- hostile arguments ---- */

Test(r2, hostile_arguments_fail_cleanly)
{
	static const struct {
		const char *method;
		const char *args;
	} cases[] = {
		{ "head", "{}" },
		{ "head", "{\"key\": null}" },
		{ "head", "{\"key\": [\"a\"]}" },
		{ "get", "{\"key\": \"k\", \"range\": {\"offset\": 1e300}}" },
		{ "get", "{\"key\": \"k\", \"range\": {\"offset\": \"1\"}}" },
		{ "get", "{\"key\": \"k\", \"onlyIf\": {\"uploadedBefore\": 1e300}}" },
		{ "get", "{\"key\": \"k\", \"onlyIf\": {\"secondsGranularity\": 1}}" },
		{ "get", "{\"key\": \"k\", \"onlyIf\": []}" },
		{ "delete", "{}" },
		{ "delete", "{\"keys\": {}}" },
		{ "list", "{\"limit\": \"10\"}" },
		{ "list", "{\"limit\": 1.5}" },
		{ "list", "{\"cursor\": 5}" },
		{ "list", "{\"cursor\": \"1gzz\"}" },
		{ "list", "{\"include\": \"httpMetadata\"}" },
		{ "list", "{\"delimiter\": {}}" },
		{ "createMultipartUpload", "{}" },
		{ "createMultipartUpload", "{\"key\": \"k\", \"customMetadata\": []}" },
		{ "completeMultipartUpload", "{\"key\": \"k\"}" },
		{ "completeMultipartUpload", "{\"key\": \"k\", \"uploadId\": 7, \"parts\": []}" },
		{ "abortMultipartUpload", "{\"key\": \"k\", \"uploadId\": null}" },
		{ "put", "{\"key\": \"k\"}" },
		{ "uploadPart", "{\"key\": \"k\"}" },
		{ "nosuchmethod", "{}" },
		{ "create", "{}" },
	};
	struct store_result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *args = json_loads(cases[i].args, 0, NULL);

		cr_assert_not_null(args, "%s", cases[i].args);
		call(cases[i].method, args, &r);
		cr_assert_neq(r.status, STORE_OK, "%s %s", cases[i].method, cases[i].args);
		cr_assert_neq(r.status, STORE_E_INTERNAL, "%s %s: %s", cases[i].method,
		    cases[i].args, r.message);
		cr_assert(r.code >= 10000, "%s %s", cases[i].method, cases[i].args);
		store_result_release(&r);
	}
	call("head", json_array(), &r);
	expect_error(&r, STORE_E_INVALID, 10040);

	/* The streamed methods check their arguments at begin. */
	static const char *const bad_puts[] = {
		"{}",
		"{\"key\": \"k\", \"onlyIf\": 3}",
		"{\"key\": \"k\", \"httpMetadata\": {\"contentType\": 3}}",
		"{\"key\": \"k\", \"sha512\": \"00\"}",
	};
	for (size_t i = 0; i < sizeof(bad_puts) / sizeof(bad_puts[0]); i++) {
		put(json_loads(bad_puts[i], 0, NULL), "x", 1, &r);
		cr_assert_eq(r.status, STORE_E_INVALID, "%s", bad_puts[i]);
	}
	stream("acme", "photos", "get", json_pack("{s:s}", "key", "k"), "x", 1, 1, &r);
	expect_error(&r, STORE_E_INVALID, 10040);
	stream("acme", "missing", "put", json_pack("{s:s}", "key", "k"), "x", 1, 1, &r);
	expect_error(&r, STORE_E_NOT_FOUND, 10006);
	cr_assert_eq(count_files("acme", "photos", "tmp"), 0);
}
