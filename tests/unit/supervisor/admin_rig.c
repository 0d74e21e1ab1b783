/*
 * admin_rig: a real admin API server and its client for the supervisor's
 * unit suites (linked into each of them; runs in the test process).
 */
#define _GNU_SOURCE /* strcasestr, strncasecmp */
#include "tests/unit/supervisor/admin_rig.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

struct admin_rig rig = { .stop_pipe = { -1, -1 } };

/* Stops the loop from its own thread: libevent here is built without locking. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(rig.base);
}

static void *
loop_main(void *arg)
{
	(void)arg;
	event_base_loop(rig.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

void
admin_rig_start(const struct admin_hooks *hooks, const struct admin_limits *limits,
    const char *token, const char *const *tenants)
{
	struct http_limits hl;
	char actual[64];
	int fd;

	cr_assert_not_null(rig.base = event_base_new());
	cr_assert_eq(pipe(rig.stop_pipe), 0);
	cr_assert_not_null(
	    rig.stop_event = event_new(rig.base, rig.stop_pipe[0], EV_READ, stop_cb, NULL));
	cr_assert_eq(event_add(rig.stop_event, NULL), 0);
	rig.meta = meta_rig_open(&rig.files, "edged-test-admin", tenants);
	cr_assert_not_null(rig.admin = admin_new(rig.meta, token, limits, hooks, NULL));
	http_limits_default(&hl);
	cr_assert_not_null(
	    rig.srv = http_server_new(rig.base, &hl, admin_http_callbacks(), rig.admin));
	cr_assert_geq(fd = http_listen_socket("127.0.0.1:0", actual, sizeof(actual)), 0);
	cr_assert_eq(http_server_listen(rig.srv, fd), 0);
	rig.port = atoi(strrchr(actual, ':') + 1);
	snprintf(rig.origin, sizeof(rig.origin), "http://127.0.0.1:%d", rig.port);
	cr_assert_eq(pthread_create(&rig.loop_thread, NULL, loop_main, NULL), 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
admin_rig_stop(void)
{
	cr_assert_eq(write(rig.stop_pipe[1], "x", 1), 1);
	pthread_join(rig.loop_thread, NULL);
	event_free(rig.stop_event);
	close(rig.stop_pipe[0]);
	close(rig.stop_pipe[1]);
	http_server_free(rig.srv);
	admin_free(rig.admin);
	meta_close(rig.meta);
	event_base_free(rig.base);
	meta_rig_remove(&rig.files);
	curl_global_cleanup();
}

/* Appends what fits of p[0..n) to a NUL-terminated buffer of `size` bytes holding *len. */
static void
append_cut(char *buf, size_t size, size_t *len, const char *p, size_t n)
{
	if (n > size - 1 - *len)
		n = size - 1 - *len;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct admin_rig_response *r = arg;

	append_cut(r->body, sizeof(r->body), &r->len, p, size * n);
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct admin_rig_response *r = arg;

	append_cut(r->headers, sizeof(r->headers), &r->headers_len, p, size * n);
	return size * n;
}

/* Copies the value of header `name` in the raw block `headers` to out ("" when absent). */
static void
header_value(const char *headers, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	const char *p = headers;

	out[0] = '\0';
	while (*p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1 + strspn(p + n + 1, " ");

			snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
			return;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
}

void
admin_rig_request(const char *method, const char *path, const char *token, const char *ctype,
    const char *body, size_t body_len, struct admin_rig_response *r)
{
	struct curl_slist *h = NULL;
	char url[4096], line[256];
	CURL *c = curl_easy_init();

	cr_assert_not_null(c);
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", rig.origin, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s failed", method, path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	header_value(r->headers, "Content-Type", r->content_type, sizeof(r->content_type));
	header_value(r->headers, "Allow", r->allow, sizeof(r->allow));
}

json_t *
admin_rig_call(const char *token, const char *method, const char *path, const char *ctype,
    const char *body, size_t body_len, long want_status)
{
	struct admin_rig_response *r = &rig.last;
	char what[512];
	json_t *env;

	admin_rig_request(method, path, token, ctype, body, body_len, r);
	snprintf(what, sizeof(what), "%s %s", method, path);
	env = envelope_check(what, r->status, r->body, r->len, want_status);
	cr_assert_str_eq(r->content_type, "application/json", "%s", what);
	return env;
}
