/*
 * fuzz_store_calls: arbitrary argument documents, methods of the catalogue
 * and small bodies into the broker's real storage backends (broker/store.h:
 * kv_call, d1_call, r2_call, r2_upload_*), opened once per process on a
 * temporary data folder (on tmpfs when there is one, so that the durable
 * commits cost little) and recreated every FUZZ_RESET_EVERY inputs.
 *
 * Input: up to FUZZ_CALLS_MAX call records separated by "\n;;\n", run in
 * order.  A record is [method] [flags] [wrap] [body length, 2 bytes LE]
 * body, then the argument document as JSON text.  A document that is not
 * an object is wrapped as the member the wrap byte names; text that is not
 * JSON goes in as a string (or {} when it is not UTF-8).  An "uploadId" of
 * "@" stands for the last id createMultipartUpload returned, a part's
 * "etag" of "@" for the last etag uploadPart returned for that part
 * number, and an "onlyIf" etag of "@" for the last object's etag.  Flags:
 * bit 0 admin, bit 1 the resource never created, bits 2-3 the quotas,
 * bits 4-5 how many writes a streamed body takes, bit 6 abort the upload.
 * State outlives an input (until the next fresh folder), so a crash may
 * need the inputs before it: replay with the corpus, or put the calls in
 * one input.  FUZZ_STORE_VERBOSE=1 prints every call and its result;
 * FUZZ_STORE_ALLOW_INTERNAL=1 lets STORE_E_INTERNAL pass.
 *
 * Checks: no crash or leak; every failure has a message and no document or
 * body, and none is STORE_E_INTERNAL; every success dumps as JSON that
 * parses back; a file body lies inside its file; no descriptor leaks over
 * many calls.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/kv_internal.h"
#include "broker/r2_internal.h"
#include "broker/store.h"
#include "common/log.h"
#include "tests/fuzz/scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TENANT "acme"
#define FUZZ_BODY_MAX 4096
#define FUZZ_RESET_EVERY 2048 /* inputs between two fresh data folders */
#define FUZZ_FD_EVERY 512     /* inputs between two descriptor counts */
#define FUZZ_FD_SLACK 32
#define FUZZ_D1_MS 50
#define FUZZ_PART_MIN 16 /* bytes: multipart uploads complete with small parts */
#define FUZZ_PARTS 16    /* part numbers whose last etag is remembered */
#define FUZZ_CALLS_MAX 8 /* call records in one input */
#define FUZZ_SEPARATOR "\n;;\n"

struct fuzz_method {
	enum store_kind kind;
	const char *name;
	bool stream; /* R2 put and uploadPart go through r2_upload_* */
};

static const struct fuzz_method fuzz_methods[] = {
	{ STORE_KV, "get", false },
	{ STORE_KV, "getMany", false },
	{ STORE_KV, "put", false },
	{ STORE_KV, "delete", false },
	{ STORE_KV, "list", false },
	{ STORE_KV, "create", false },
	{ STORE_KV, "drop", false },
	{ STORE_KV, "bulkPut", false },
	{ STORE_KV, "bulkDelete", false },
	{ STORE_D1, "query", false },
	{ STORE_D1, "batch", false },
	{ STORE_D1, "exec", false },
	{ STORE_D1, "queryAll", false },
	{ STORE_D1, "create", false },
	{ STORE_D1, "drop", false },
	{ STORE_D1, "info", false },
	{ STORE_R2, "head", false },
	{ STORE_R2, "get", false },
	{ STORE_R2, "delete", false },
	{ STORE_R2, "list", false },
	{ STORE_R2, "createMultipartUpload", false },
	{ STORE_R2, "completeMultipartUpload", false },
	{ STORE_R2, "abortMultipartUpload", false },
	{ STORE_R2, "create", false },
	{ STORE_R2, "drop", false },
	{ STORE_R2, "put", true },
	{ STORE_R2, "uploadPart", true },
	{ STORE_KV, "nope", false },
	{ STORE_D1, "", false },
	{ STORE_R2, "PUT", false },
};
#define FUZZ_METHOD_COUNT (sizeof(fuzz_methods) / sizeof(fuzz_methods[0]))

/* Members a non-object document is wrapped as. */
static const char *const fuzz_members[] = { "key", "keys", "sql", "statements", "params", "prefix",
	"cursor", "limit", "metadata", "expiration", "expiration_ttl", "range", "onlyIf",
	"httpMetadata", "customMetadata", "uploadId", "partNumber", "parts", "include", "delimiter",
	"startAfter", "md5", "sha1", "sha256", "value" };
#define FUZZ_MEMBER_COUNT (sizeof(fuzz_members) / sizeof(fuzz_members[0]))

/* Resources: one created at start, one never created. */
static const char *const fuzz_resources[][2] = {
	[STORE_KV] = { "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210" },
	[STORE_D1] = { "01234567-89ab-cdef-0123-456789abcdef",
	    "fedcba98-7654-3210-fedc-ba9876543210" },
	[STORE_R2] = { "fuzz-bucket", "no-such-bucket" },
};

static struct {
	char dir[128];
	struct kv *kv;
	struct d1 *d1;
	struct r2 *r2;
	unsigned long runs;
	uint64_t clock_s;
	int fd_baseline;
	char upload_id[R2_ID_HEX + 1];
	char etags[FUZZ_PARTS + 1][R2_ETAG_MAX];
	char object_etag[R2_ETAG_MAX];
} fz;

/* --- set-up -------------------------------------------------------------------------- */

static uint64_t
fuzz_clock(void)
{
	return fz.clock_s;
}

static void
fuzz_close(void)
{
	kv_close(fz.kv);
	d1_close(fz.d1);
	r2_close(fz.r2);
	fz.kv = NULL;
	fz.d1 = NULL;
	fz.r2 = NULL;
	scratch_remove(fz.dir);
	fz.dir[0] = '\0';
}

static int
fuzz_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Calls a method that must succeed (set-up); aborts otherwise. */
static void
fuzz_must(enum store_kind kind, const char *method)
{
	struct store_limits none = { 0, 0, 0, 0 };
	struct store_call c = { FUZZ_TENANT, fuzz_resources[kind][0], method, NULL, true, &none };
	struct store_result r;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	if ((c.args = json_object()) == NULL)
		abort();
	if (kind == STORE_KV)
		kv_call(fz.kv, &c, (const uint8_t *)"", 0, &r);
	else if (kind == STORE_D1)
		d1_call(fz.d1, &c, &r);
	else
		r2_call(fz.r2, &c, &r);
	if (r.status != STORE_OK) {
		fprintf(stderr, "fuzz: %s of the set-up failed: %s\n", method, r.message);
		abort();
	}
	store_result_release(&r);
	json_decref(c.args);
}

static void
fuzz_open(void)
{
	if (scratch_make("store", fz.dir, sizeof(fz.dir)) == -1)
		abort();
	if ((fz.kv = kv_open(fz.dir)) == NULL || (fz.d1 = d1_open(fz.dir)) == NULL ||
	    (fz.r2 = r2_open(fz.dir)) == NULL)
		abort();
	kv_set_clock(fz.kv, fuzz_clock);
	d1_set_time_limit_ms(fz.d1, FUZZ_D1_MS);
	r2_set_min_part_size(fz.r2, FUZZ_PART_MIN);
	fuzz_must(STORE_KV, "create");
	fuzz_must(STORE_D1, "create");
	fuzz_must(STORE_R2, "create");
	fz.upload_id[0] = '\0';
	fz.object_etag[0] = '\0';
	memset(fz.etags, 0, sizeof(fz.etags));
	fz.fd_baseline = -1;
}

static void
fuzz_init(void)
{
	log_init("fuzz", LOG_LEVEL_ERROR);
	fz.clock_s = (uint64_t)time(NULL);
	fuzz_open();
	atexit(fuzz_close);
}

/* --- the arguments ------------------------------------------------------------------- */

/* The document from the fuzzer's text, wrapped when it is not an object. */
static json_t *
fuzz_args(const char *text, size_t len, uint8_t wrap)
{
	const char *member = fuzz_members[wrap % FUZZ_MEMBER_COUNT];
	json_t *v, *o;

	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(v))
		return v;
	if (v == NULL && (v = json_stringn(text, len)) == NULL)
		return json_object();
	if ((o = json_object()) == NULL || json_object_set_new(o, member, v) == -1)
		abort();
	return o;
}

/* Replaces the "@" placeholders with what earlier calls returned. */
static void
fuzz_args_fill(json_t *args)
{
	json_t *parts = json_object_get(args, "parts"), *p;
	json_t *only_if = json_object_get(args, "onlyIf");
	size_t i;

	if (fz.upload_id[0] != '\0' && json_is_string(json_object_get(args, "uploadId")) &&
	    strcmp(json_string_value(json_object_get(args, "uploadId")), "@") == 0)
		json_object_set_new(args, "uploadId", json_string(fz.upload_id));
	for (i = 0; fz.object_etag[0] != '\0' && i < 2; i++) {
		const char *name = i == 0 ? "etagMatches" : "etagDoesNotMatch";
		json_t *v = json_object_get(only_if, name);

		if (json_is_string(v) && strcmp(json_string_value(v), "@") == 0)
			json_object_set_new(only_if, name, json_string(fz.object_etag));
	}
	json_array_foreach (parts, i, p) {
		json_t *n = json_object_get(p, "partNumber"), *etag = json_object_get(p, "etag");
		json_int_t k = json_integer_value(n);

		if (json_is_integer(n) && k >= 1 && k <= FUZZ_PARTS && fz.etags[k][0] != '\0' &&
		    json_is_string(etag) && strcmp(json_string_value(etag), "@") == 0)
			json_object_set_new(p, "etag", json_string(fz.etags[k]));
	}
}

/* Remembers what later calls may refer to by "@". */
static void
fuzz_remember(const struct fuzz_method *m, const struct store_result *r)
{
	const char *s;
	json_int_t n;

	if (r->status != STORE_OK || m->kind != STORE_R2)
		return;
	if ((s = json_string_value(json_object_get(json_object_get(r->doc, "object"), "etag"))) !=
	    NULL)
		snprintf(fz.object_etag, sizeof(fz.object_etag), "%s", s);
	if (strcmp(m->name, "createMultipartUpload") == 0 &&
	    (s = json_string_value(json_object_get(r->doc, "uploadId"))) != NULL) {
		snprintf(fz.upload_id, sizeof(fz.upload_id), "%s", s);
		memset(fz.etags, 0, sizeof(fz.etags));
	} else if (strcmp(m->name, "uploadPart") == 0 &&
	    (s = json_string_value(json_object_get(r->doc, "etag"))) != NULL) {
		n = json_integer_value(json_object_get(r->doc, "partNumber"));
		if (n >= 1 && n <= FUZZ_PARTS)
			snprintf(fz.etags[n], sizeof(fz.etags[n]), "%s", s);
	}
}

/* --- the checks ---------------------------------------------------------------------- */

static void
fuzz_check(const struct store_result *r)
{
	struct stat st;
	char *text;
	json_t *back;

	if (memchr(r->message, '\0', sizeof(r->message)) == NULL)
		abort();
	if (r->status != STORE_OK) {
		/* A failure says what went wrong, and carries nothing else. */
		if (r->status > STORE_E_UNAVAILABLE || r->message[0] == '\0')
			abort();
		if (r->doc != NULL || r->body_kind != STORE_BODY_NONE || r->mem != NULL)
			abort();
		/* Nothing fails on tmpfs: "internal" means a caller's input broke something. */
		if (r->status == STORE_E_INTERNAL && getenv("FUZZ_STORE_ALLOW_INTERNAL") == NULL)
			abort();
		return;
	}
	if (r->doc != NULL) {
		if ((text = json_dumps(r->doc, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			abort();
		back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (back == NULL)
			abort();
		json_decref(back);
		free(text);
	}
	switch (r->body_kind) {
	case STORE_BODY_NONE:
		if (r->mem != NULL)
			abort();
		break;
	case STORE_BODY_MEM:
		if (r->mem == NULL && r->mem_len > 0)
			abort();
		break;
	case STORE_BODY_FILE:
		if (r->fd < 0 || fstat(r->fd, &st) == -1 || st.st_size < 0 ||
		    r->offset + r->length < r->offset ||
		    r->offset + r->length > (uint64_t)st.st_size)
			abort();
		break;
	default:
		abort();
	}
}

static void
fuzz_check_fds(void)
{
	int n = fuzz_fd_count();

	if (n < 0)
		return;
	if (fz.fd_baseline < 0)
		fz.fd_baseline = n;
	else if (n > fz.fd_baseline + FUZZ_FD_SLACK) {
		fprintf(stderr, "fuzz: %d descriptors open, %d after the first calls\n", n,
		    fz.fd_baseline);
		abort();
	}
}

/* --- one call ------------------------------------------------------------------------ */

/* put and uploadPart: begin, the body in `pieces` writes, then finish (or abort). */
static void
fuzz_stream(const struct store_call *c, const uint8_t *body, size_t len, unsigned pieces,
    bool abandon, struct store_result *r)
{
	struct r2_upload *up;
	size_t off = 0, step = len / pieces + 1;

	if ((up = r2_upload_begin(fz.r2, c, r)) == NULL) {
		if (r->status == STORE_OK)
			abort(); /* begin fails with r set */
		return;
	}
	while (off < len) {
		size_t n = len - off < step ? len - off : step;

		if (r2_upload_write(up, body + off, n, r) == -1) {
			if (r->status == STORE_OK)
				abort(); /* write fails with r set */
			r2_upload_abort(up);
			return;
		}
		off += n;
	}
	if (abandon) {
		r2_upload_abort(up);
		return;
	}
	r2_upload_finish(up, r);
}

static void
fuzz_limits(uint8_t preset, struct store_limits *l)
{
	static const struct store_limits presets[] = {
		{ 0, 0, 16u << 20, 0 },       /* D1 always capped: the folder is in memory */
		{ 2048, 8, 64u << 10, 4096 }, /* tight */
		{ 1u << 20, 1000, 1u << 20, 1u << 20 }, /* roomy */
		{ 1, 1, 4096, 1 },                      /* at the floor */
	};

	*l = presets[preset & 3];
}

/* Runs one call record; see the top of the file for its layout. */
static void
fuzz_one(const uint8_t *data, size_t size)
{
	static const uint8_t empty[1];
	const struct fuzz_method *m;
	struct store_limits limits;
	struct store_call c;
	struct store_result r;
	const uint8_t *body;
	size_t body_len;
	uint8_t flags;

	if (size < 5)
		return;
	m = &fuzz_methods[data[0] % FUZZ_METHOD_COUNT];
	flags = data[1];
	body_len = ((size_t)data[3] | (size_t)data[4] << 8) % (FUZZ_BODY_MAX + 1);
	if (body_len > size - 5)
		body_len = size - 5;
	body = body_len > 0 ? data + 5 : empty;
	fuzz_limits(flags >> 2, &limits);

	c.tenant = FUZZ_TENANT;
	c.resource = fuzz_resources[m->kind][(flags >> 1) & 1];
	c.method = m->name;
	c.admin = (flags & 1) != 0;
	c.limits = &limits;
	c.args = fuzz_args((const char *)data + 5 + body_len, size - 5 - body_len, data[2]);
	fuzz_args_fill(c.args);

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	fz.clock_s += 7; /* KV expirations come due as the fuzzer goes */
	switch (m->kind) {
	case STORE_KV:
		kv_call(fz.kv, &c, body, body_len, &r);
		break;
	case STORE_D1:
		d1_call(fz.d1, &c, &r);
		break;
	case STORE_R2:
		if (m->stream)
			fuzz_stream(
			    &c, body, body_len, ((flags >> 4) & 3) + 1, (flags & 0x40) != 0, &r);
		else
			r2_call(fz.r2, &c, &r);
		break;
	}
	if (getenv("FUZZ_STORE_VERBOSE") != NULL) {
		char *text =
		    r.doc != NULL ? json_dumps(r.doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		fprintf(stderr, "fuzz: %s %s -> %d %s%.200s\n", c.resource, m->name, r.status,
		    r.message, text != NULL ? text : "");
		free(text);
	}
	fuzz_check(&r);
	fuzz_remember(m, &r);
	store_result_release(&r);
	json_decref(c.args);

	/* A dropped resource comes back, so that the next calls find it. */
	if (strcmp(m->name, "drop") == 0 && c.admin && c.resource == fuzz_resources[m->kind][0]) {
		memset(&r, 0, sizeof(r));
		r.fd = -1;
		c.method = "create";
		if ((c.args = json_object()) == NULL)
			abort();
		if (m->kind == STORE_KV)
			kv_call(fz.kv, &c, empty, 0, &r);
		else if (m->kind == STORE_D1)
			d1_call(fz.d1, &c, &r);
		else
			r2_call(fz.r2, &c, &r);
		store_result_release(&r);
		json_decref(c.args);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	if (fz.kv == NULL)
		fuzz_init();
	if (++fz.runs % FUZZ_RESET_EVERY == 0) {
		fuzz_close();
		fuzz_open();
	}
	for (int n = 0; n < FUZZ_CALLS_MAX && p < end; n++) {
		const uint8_t *sep =
		    memmem(p, (size_t)(end - p), FUZZ_SEPARATOR, sizeof(FUZZ_SEPARATOR) - 1);
		const uint8_t *stop = sep != NULL ? sep : end;

		fuzz_one(p, (size_t)(stop - p));
		p = sep != NULL ? sep + sizeof(FUZZ_SEPARATOR) - 1 : end;
	}
	if (fz.runs % 64 == 0)
		(void)kv_sweep(fz.kv, fz.clock_s, 64);
	if (fz.runs % FUZZ_FD_EVERY == 0)
		fuzz_check_fds();
	return 0;
}
