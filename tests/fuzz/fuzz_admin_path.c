/*
 * fuzz_admin_path: admin API requests, fuzzed in their path and query, into
 * the real admin (router, captures, percent-decoding, query parameters, the
 * handlers) over an in-memory HTTP connection, with a real meta in a
 * temporary folder and a fake broker that checks what each storage call
 * carries.  Also checks admin_percent_decode against a reference decoder
 * written here, and utf8_is_valid and admin_json_text against jansson.
 *
 * Input: one flag byte, then the target's tail up to '\n' (appended to a
 * prefix the flags pick), then a Content-Type value up to '\n' (empty: none),
 * then the body.  Flags: bits 0-2 the method, bits 3-5 the prefix, bit 6
 * the token (operator or the tenant's own), bit 7 whether the fake broker
 * answers STORE_OK ({}) or STORE_E_NOT_FOUND.
 *
 * FUZZ_ADMIN_VERBOSE=1 prints every request and storage call (to replay a
 * crash).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "broker/store.h"
#include "common/buf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/utf8.h"
#include "supervisor/admin.h"
#include "supervisor/admin_internal.h"
#include "supervisor/http.h"
#include "supervisor/http_internal.h"
#include "supervisor/meta.h"
#include "tests/fuzz/scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TOKEN "fuzz-operator-token"
#define FUZZ_TENANT "acme"
#define FUZZ_TAIL_MAX 2048
#define FUZZ_CT_MAX 256
#define FUZZ_BODY_MAX 2048
#define FUZZ_TURNS 8

/* What the prefix of a target is, and so what its storage calls must carry. */
enum fuzz_capture {
	FUZZ_CAP_NONE,
	FUZZ_CAP_KV_KEY, /* the tail is the raw "*key" of a KV values/metadata path */
	FUZZ_CAP_R2_KEY, /* the same for an R2 object */
	FUZZ_CAP_QUERY,  /* the tail starts with '?': list parameters */
};

struct fuzz_prefix {
	char text[160];
	enum fuzz_capture capture;
};

static struct {
	struct event_base *base;
	struct meta *meta;
	struct admin *admin;
	char dir[128];
	char tenant_token[META_TOKEN_LEN + 1];
	struct fuzz_prefix prefix[8];
	/* The request in flight. */
	const char *target;
	size_t prefix_len;
	enum fuzz_capture capture;
	bool answer_ok;
	bool broker_ok_seen; /* a call was answered STORE_OK: a 500 may be legitimate */
	unsigned calls;
} fz;

/* --- reference helpers, written apart from the admin's ------------------------------ */

static int
ref_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 3986 decoding: -1 bad escape, -2 over max, else the length. */
static ssize_t
ref_decode(const char *in, size_t len, bool plus, char *out, size_t max)
{
	size_t r = 0, w = 0;

	while (r < len) {
		unsigned char c = (unsigned char)in[r];

		if (c == '%') {
			if (len - r < 3 || ref_hex((unsigned char)in[r + 1]) < 0 ||
			    ref_hex((unsigned char)in[r + 2]) < 0)
				return -1;
			c = (unsigned char)(ref_hex((unsigned char)in[r + 1]) * 16 +
			    ref_hex((unsigned char)in[r + 2]));
			r += 3;
		} else {
			if (plus && c == '+')
				c = ' ';
			r++;
		}
		if (w >= max)
			return -2;
		out[w++] = (char)c;
	}
	return (ssize_t)w;
}

/*
 * The first query parameter `name` of target, decoded into out: 1 found,
 * 0 absent, -1 malformed or longer than max.
 */
static int
ref_query(const char *target, const char *name, char *out, size_t max, size_t *out_len)
{
	const char *q = strchr(target, '?');
	size_t nlen = strlen(name);

	if (q == NULL)
		return 0;
	for (q++; *q != '\0' && *q != '#';) {
		size_t plen = strcspn(q, "&#");
		const char *eq = memchr(q, '=', plen);
		size_t klen = eq != NULL ? (size_t)(eq - q) : plen;

		if (klen == nlen && strncmp(q, name, nlen) == 0) {
			const char *v = eq != NULL ? eq + 1 : q + plen;
			ssize_t n = ref_decode(v, (size_t)(q + plen - v), true, out, max);

			if (n < 0)
				return -1;
			*out_len = (size_t)n;
			return 1;
		}
		q += plen;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* --- the fake broker ----------------------------------------------------------------- */

struct fuzz_call {
	broker_call_done done;
	void *ctx;
	bool cancelled;
	bool ok;
};

static void
fuzz_answer(evutil_socket_t fd, short what, void *arg)
{
	static const char found[] = "{}";
	static const char missing[] = "{\"message\":\"fuzz: no such thing\"}";
	struct fuzz_call *c = arg;
	struct broker_outcome out;

	(void)fd;
	(void)what;
	if (!c->cancelled) {
		out = c->ok ? (struct broker_outcome) { STORE_OK, found, strlen(found), NULL, 0 }
			    : (struct broker_outcome) { STORE_E_NOT_FOUND, missing, strlen(missing),
				      NULL, 0 };
		c->done(c->ctx, &out);
	}
	free(c);
}

/* The key a call carries ("key", or the only one of "keys"); NULL when none. */
static json_t *
fuzz_call_key(json_t *args)
{
	json_t *keys = json_object_get(args, "keys");

	if (json_is_string(json_object_get(args, "key")))
		return json_object_get(args, "key");
	if (json_is_array(keys) && json_array_size(keys) == 1)
		return json_array_get(keys, 0);
	return NULL;
}

/* A captured key must be exactly the reference decoding of the raw rest of the path. */
static void
fuzz_check_key(json_t *key)
{
	static char want[FUZZ_TAIL_MAX];
	const char *rest = fz.target + fz.prefix_len;
	size_t raw = strcspn(rest, "?#"), max;
	ssize_t n;

	if (key == NULL || fz.capture == FUZZ_CAP_NONE || fz.capture == FUZZ_CAP_QUERY)
		return;
	if (!json_is_string(key))
		abort();
	max = fz.capture == FUZZ_CAP_KV_KEY ? 512 : 1024;
	n = ref_decode(rest, raw, false, want, sizeof(want));
	/* Bad escapes, over-long and non-UTF-8 keys never reach the broker. */
	if (n <= 0 || (size_t)n > max || (size_t)n > raw)
		abort();
	if (json_string_length(key) != (size_t)n ||
	    memcmp(json_string_value(key), want, (size_t)n) != 0)
		abort();
}

/* A list call's text parameters must be their reference decoding. */
static void
fuzz_check_query(json_t *args, const char *member, const char *name)
{
	static char want[FUZZ_TAIL_MAX];
	json_t *v = json_object_get(args, member);
	size_t len = 0;
	int rc = ref_query(fz.target, name, want, sizeof(want), &len);

	if (v == NULL) {
		/* Absent from the call: absent from the query, or refused (no call at all). */
		if (rc == 1)
			abort();
		return;
	}
	if (rc != 1 || !json_is_string(v) || json_string_length(v) != len ||
	    memcmp(json_string_value(v), want, len) != 0)
		abort();
}

static struct broker_call *
fuzz_call(void *core, const struct broker_call_args *a, broker_call_done done, void *ctx)
{
	struct timeval now = { 0, 0 };
	struct fuzz_call *c;
	json_error_t err;
	json_t *args, *limits;

	(void)core;
	fz.calls++;
	if (strcmp(a->tenant, FUZZ_TENANT) != 0 && strcmp(a->tenant, "other") != 0)
		abort();
	if (store_kind_from_name(a->kind) == 0 ||
	    !store_resource_is_valid(store_kind_from_name(a->kind), a->resource))
		abort();
	if (strlen(a->args) > IPC_CALL_ARGS_MAX)
		abort();
	if (getenv("FUZZ_ADMIN_VERBOSE") != NULL)
		fprintf(stderr, "fuzz: call %s %s args %s limits %s\n", a->kind, a->method, a->args,
		    a->limits);
	if ((args = json_loads(a->args, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err)) == NULL ||
	    !json_is_object(args))
		abort();
	if ((limits = json_loads(a->limits, 0, NULL)) == NULL || !json_is_object(limits))
		abort();
	json_decref(limits);
	fuzz_check_key(fuzz_call_key(args));
	if (strcmp(a->method, "list") == 0) {
		fuzz_check_query(args, "prefix", "prefix");
		fuzz_check_query(args, "cursor", "cursor");
		if (strcmp(a->kind, "r2") == 0)
			fuzz_check_query(args, "delimiter", "delimiter");
	}
	json_decref(args);
	if (a->body != NULL)
		buf_release(a->body); /* taken, as broker_call does */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->done = done;
	c->ctx = ctx;
	c->ok = fz.answer_ok;
	if (c->ok)
		fz.broker_ok_seen = true;
	if (event_base_once(fz.base, -1, EV_TIMEOUT, fuzz_answer, c, &now) == -1)
		abort();
	return (struct broker_call *)c;
}

static void
fuzz_cancel(void *core, struct broker_call *call)
{
	(void)core;
	((struct fuzz_call *)call)->cancelled = true;
}

/* --- set-up -------------------------------------------------------------------------- */

static void
fuzz_cleanup(void)
{
	scratch_remove(fz.dir);
}

static void fuzz_prefix(int i, enum fuzz_capture capture, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fuzz_prefix(int i, enum fuzz_capture capture, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fz.prefix[i].text, sizeof(fz.prefix[i].text), fmt, ap);
	va_end(ap);
	fz.prefix[i].capture = capture;
}
static void
fuzz_init(void)
{
	static const struct admin_hooks hooks = { .call = fuzz_call, .call_cancel = fuzz_cancel };
	struct admin_limits limits = { FUZZ_BODY_MAX / 2, FUZZ_BODY_MAX };
	struct meta_resource kv, d1, r2;
	char path[128], id[META_TOKEN_ID_LEN + 1];
	log_init("fuzz", LOG_LEVEL_ERROR);
	if (scratch_make("admin", fz.dir, sizeof(fz.dir)) == -1)
		abort();
	atexit(fuzz_cleanup);
	snprintf(path, sizeof(path), "%s/meta.sqlite", fz.dir);
	if ((fz.base = event_base_new()) == NULL || (fz.meta = meta_open(path)) == NULL)
		abort();
	if (meta_tenant_put(fz.meta, FUZZ_TENANT) != 1 || meta_tenant_put(fz.meta, "other") != 1)
		abort();
	if (meta_token_create(fz.meta, FUZZ_TENANT, id, fz.tenant_token) != 1)
		abort();
	if (meta_resource_create(fz.meta, META_KV, FUZZ_TENANT, "ns", &kv) != 1 ||
	    meta_resource_create(fz.meta, META_D1, FUZZ_TENANT, "db", &d1) != 1 ||
	    meta_resource_create(fz.meta, META_R2, FUZZ_TENANT, "bucket", &r2) != 1)
		abort();
	if ((fz.admin = admin_new(fz.meta, FUZZ_TOKEN, &limits, &hooks, NULL)) == NULL)
		abort();

#define ACCT "/client/v4/accounts/" FUZZ_TENANT
	fuzz_prefix(0, FUZZ_CAP_NONE, "%s", "");
	fuzz_prefix(1, FUZZ_CAP_KV_KEY, ACCT "/storage/kv/namespaces/%s/values/", kv.id);
	fuzz_prefix(2, FUZZ_CAP_KV_KEY, ACCT "/storage/kv/namespaces/%s/metadata/", kv.id);
	fuzz_prefix(3, FUZZ_CAP_QUERY, ACCT "/storage/kv/namespaces/%s/keys", kv.id);
	fuzz_prefix(4, FUZZ_CAP_R2_KEY, ACCT "/r2/buckets/%s/objects/", r2.id);
	fuzz_prefix(5, FUZZ_CAP_QUERY, ACCT "/r2/buckets/%s/objects", r2.id);
	fuzz_prefix(6, FUZZ_CAP_NONE, ACCT "/d1/database/%s", d1.id);
	fuzz_prefix(7, FUZZ_CAP_NONE, "%s", ACCT);
#undef ACCT
}

/* --- direct checks ------------------------------------------------------------------- */

/* admin_percent_decode against the reference, and the UTF-8 checks against jansson's. */
static void
fuzz_check_decode(const char *in, size_t len, size_t max)
{
	static char got[FUZZ_TAIL_MAX], want[FUZZ_TAIL_MAX];
	ssize_t n, m;
	json_t *j;

	for (int plus = 0; plus <= 1; plus++) {
		n = admin_percent_decode(in, len, plus, got, max);
		m = ref_decode(in, len, plus, want, max);
		if (n != m || (n >= 0 && memcmp(got, want, (size_t)n) != 0))
			abort();
		if (n >= 0 && (size_t)n > len)
			abort();
	}
	if (n < 0)
		return;
	/* jansson refuses exactly the strings that are not UTF-8. */
	j = json_stringn(got, (size_t)n);
	if (utf8_is_valid(got, (size_t)n) != (j != NULL))
		abort();
	json_decref(j);
	/* The lossy form is always a valid string of the same length. */
	if ((j = admin_json_text(got, (size_t)n)) == NULL || json_string_length(j) != (size_t)n)
		abort();
	json_decref(j);
}

/* --- one request --------------------------------------------------------------------- */

/* The status of a whole response at the start of `in`, or -1 when there is none. */
static int
fuzz_response_status(struct evbuffer *in, bool head)
{
	size_t len = evbuffer_get_length(in), hlen, blen = 0;
	char *text, *end, *cl, *ct;
	int status = -1;
	json_t *env;

	if (len == 0 || (text = malloc(len + 1)) == NULL)
		return -1;
	evbuffer_copyout(in, text, len);
	text[len] = '\0';
	if ((end = strstr(text, "\r\n\r\n")) == NULL || sscanf(text, "HTTP/1.1 %3d", &status) != 1)
		goto out;
	*end = '\0';
	hlen = (size_t)(end - text) + 4;
	if ((cl = strcasestr(text, "\r\nContent-Length: ")) != NULL)
		blen = strtoul(cl + 18, NULL, 10);
	if (head || hlen + blen > len)
		goto out;
	/* An admin envelope is JSON with "success". */
	ct = strcasestr(text, "\r\nContent-Type: application/json");
	if (ct != NULL && blen > 0) {
		env = json_loadb(text + hlen, blen, 0, NULL);
		if (!json_is_boolean(json_object_get(env, "success")))
			abort();
		json_decref(env);
	}
out:
	free(text);
	return status;
}

static void
fuzz_request(uint8_t flags, const char *tail, size_t tail_len, const char *ct, const uint8_t *body,
    size_t body_len)
{
	static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "HEAD", "PATCH",
		"GET", "PUT" };
	const struct fuzz_prefix *p = &fz.prefix[(flags >> 3) & 7];
	const char *method = methods[flags & 7];
	struct bufferevent *pair[2];
	struct http_server *srv;
	struct http_limits l;
	struct buf target, req;
	struct evbuffer *in;
	int status;

	buf_init(&target);
	buf_init(&req);
	if (buf_append(&target, p->text, strlen(p->text)) == -1 ||
	    buf_append(&target, tail, tail_len) == -1 || buf_append(&target, "", 1) == -1)
		abort();
	fz.target = (const char *)target.data;
	fz.prefix_len = strlen(p->text);
	fz.capture = p->capture;
	fz.answer_ok = (flags & 0x80) != 0;
	fz.broker_ok_seen = false;

	if (buf_printf(&req, "%s %s HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer %s\r\n",
		method, fz.target, (flags & 0x40) ? fz.tenant_token : FUZZ_TOKEN) == -1 ||
	    (ct[0] != '\0' && buf_printf(&req, "Content-Type: %s\r\n", ct) == -1) ||
	    buf_printf(&req, "Content-Length: %zu\r\nConnection: close\r\n\r\n", body_len) == -1 ||
	    buf_append(&req, body, body_len) == -1)
		abort();

	http_limits_default(&l);
	l.body_max = FUZZ_BODY_MAX;
	if ((srv = http_server_new(fz.base, &l, admin_http_callbacks(), fz.admin)) == NULL)
		abort();
	if (bufferevent_pair_new(fz.base, BEV_OPT_DEFER_CALLBACKS, pair) == -1)
		abort();
	if (http_conn_adopt(srv, pair[0], "fuzz") == NULL)
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	bufferevent_write(pair[1], req.data, req.len);
	in = bufferevent_get_input(pair[1]);
	for (int i = 0; i < FUZZ_TURNS; i++)
		event_base_loop(fz.base, EVLOOP_NONBLOCK);

	status = fuzz_response_status(in, strcmp(method, "HEAD") == 0);
	if (getenv("FUZZ_ADMIN_VERBOSE") != NULL)
		fprintf(
		    stderr, "fuzz: %s %s -> %d (%u calls)\n", method, fz.target, status, fz.calls);
	/* A well-formed request always gets an answer within the turns (no real I/O). */
	if (status == -1 && http_server_active_requests(srv) > 0)
		abort();
	/* A request is never an internal error, unless the fake broker's {} made it one. */
	if (status == 500 && !fz.broker_ok_seen)
		abort();

	http_server_free(srv);
	bufferevent_free(pair[1]);
	event_base_loop(fz.base, EVLOOP_NONBLOCK);
	fz.target = NULL;
	buf_release(&target);
	buf_release(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tail[FUZZ_TAIL_MAX], ct[FUZZ_CT_MAX];
	const uint8_t *p, *end = data + size, *nl;
	size_t tail_len, ct_len;
	uint8_t flags;

	if (fz.base == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	flags = data[0];
	p = data + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	tail_len = (size_t)((nl != NULL ? nl : end) - p);
	if (tail_len >= sizeof(tail))
		return 0;
	memcpy(tail, p, tail_len);
	tail[tail_len] = '\0';
	p = nl != NULL ? nl + 1 : end;
	nl = memchr(p, '\n', (size_t)(end - p));
	ct_len = (size_t)((nl != NULL ? nl : end) - p);
	if (ct_len >= sizeof(ct))
		return 0;
	memcpy(ct, p, ct_len);
	ct[ct_len] = '\0';
	p = nl != NULL ? nl + 1 : end;

	/* The decoders on the raw tail, with room to spare and without. */
	fuzz_check_decode(tail, tail_len, sizeof(tail));
	fuzz_check_decode(tail, tail_len, tail_len / 2);
	(void)admin_media_type_is(ct, "multipart/form-data");

	/*
	 * NUL and line breaks cannot travel in a request line or a header, and
	 * blanks would end the target early (the checks compare with all of it).
	 */
	if (strcspn(tail, " \t\r\v\f") != tail_len || memchr(ct, '\0', ct_len) != NULL ||
	    memchr(ct, '\r', ct_len) != NULL)
		return 0;
	fuzz_request(flags, tail, tail_len, ct, p,
	    (size_t)(end - p) > FUZZ_BODY_MAX ? FUZZ_BODY_MAX : (size_t)(end - p));
	return 0;
}
