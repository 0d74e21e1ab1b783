/*
 * harness: starting a real edged for end-to-end tests and talking to it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/envelope.h"
#include "tests/support.h"

#define START_TIMEOUT_MS 30000

/*
 * A sanitizer build runs JavaScript several times slower: its CPU limits are
 * raised (a test's own lines still win, coming later), and ASan's quarantine
 * is kept small so that memory figures stay meaningful.  Tests check
 * behaviour, not cost.
 */
#ifdef EDGED_SANITIZER_BUILD
#define HARNESS_SANITIZER_LIMITS "cpu_ms = 500\nstartup_cpu_ms = 10000\nwall_ms = 60000\n"
#define HARNESS_ASAN_OPTIONS "quarantine_size_mb=8"
#else
#define HARNESS_SANITIZER_LIMITS ""
#endif
#define STOP_TIMEOUT_MS 30000
#define HTTP_TIMEOUT_MS 30000L

long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * A thread drains edged's stderr into e->log all the time, so edged never
 * blocks on a full pipe; waiters sleep on a condition variable (woken by
 * new output, bounded by their deadline).
 */
static void *
log_reader(void *arg)
{
	struct edged *e = arg;
	char chunk[4096];
	ssize_t n;

	while ((n = read(e->log_fd, chunk, sizeof(chunk))) > 0) {
		fwrite(chunk, 1, (size_t)n, stderr); /* visible in the test's output */
		pthread_mutex_lock(&e->log_lock);
		e->log = realloc(e->log, e->log_len + (size_t)n + 1);
		memcpy(e->log + e->log_len, chunk, (size_t)n);
		e->log_len += (size_t)n;
		e->log[e->log_len] = '\0';
		pthread_cond_broadcast(&e->log_cond);
		pthread_mutex_unlock(&e->log_lock);
	}
	pthread_mutex_lock(&e->log_lock);
	e->log_eof = true;
	pthread_cond_broadcast(&e->log_cond);
	pthread_mutex_unlock(&e->log_lock);
	return NULL;
}

static int
log_count_locked(struct edged *e, const char *needle)
{
	const char *p = e->log;
	int n = 0;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

int
edged_log_count(struct edged *e, const char *needle)
{
	int n;

	pthread_mutex_lock(&e->log_lock);
	n = log_count_locked(e, needle);
	pthread_mutex_unlock(&e->log_lock);
	return n;
}

bool
edged_log_wait_count(struct edged *e, const char *needle, int count, int timeout_ms)
{
	struct timespec deadline;
	bool found;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&e->log_lock);
	while (!(found = log_count_locked(e, needle) >= count) && !e->log_eof)
		if (pthread_cond_timedwait(&e->log_cond, &e->log_lock, &deadline) == ETIMEDOUT)
			break;
	if (!found)
		found = log_count_locked(e, needle) >= count;
	pthread_mutex_unlock(&e->log_lock);
	return found;
}

bool
edged_log_wait(struct edged *e, const char *needle, int timeout_ms)
{
	return edged_log_wait_count(e, needle, 1, timeout_ms);
}

static void
parse_ready(struct edged *e)
{
	const char *line = strstr(e->log, "ready: public http://");
	char *colon;

	cr_assert_not_null(line, "edged never said ready");
	cr_assert_eq(sscanf(line, "ready: public http://%63s admin http://%63s", e->public_addr,
			 e->admin_addr),
	    2);
	colon = strrchr(e->public_addr, ':');
	e->public_port = atoi(colon + 1);
	colon = strrchr(e->admin_addr, ':');
	e->admin_port = atoi(colon + 1);
}

static void
edged_spawn(struct edged *e)
{
	int pipefd[2];

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	e->pid = fork();
	cr_assert_neq(e->pid, -1);
	if (e->pid == 0) {
#ifdef HARNESS_ASAN_OPTIONS
		setenv("ASAN_OPTIONS", HARNESS_ASAN_OPTIONS, 1);
#endif
		dup2(pipefd[1], 2);
		execl(e->binary, "edged", "--config", e->config, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	e->log_fd = pipefd[0];
	free(e->log);
	e->log = NULL;
	e->log_len = 0;
	e->log_eof = false;
	cr_assert_eq(pthread_create(&e->log_thread, NULL, log_reader, e), 0);
	cr_assert(edged_log_wait(e, "ready: public", START_TIMEOUT_MS), "edged did not start:\n%s",
	    e->log ? e->log : "");
	parse_ready(e);
}

struct edged *
edged_start(const char *extra_config)
{
	return edged_start_binary(EDGED_BINARY, extra_config);
}

struct edged *
edged_start_binary(const char *binary, const char *extra_config)
{
	struct edged *e = calloc(1, sizeof(*e));
	FILE *fp;

	cr_assert_not_null(e);
	e->binary = binary;
	pthread_mutex_init(&e->log_lock, NULL);
	pthread_cond_init(&e->log_cond, NULL);
	support_tempdir(e->dir, sizeof(e->dir), "/tmp", "edged-test");
	/* A test that runs edged as its service user: that user must reach data/. */
	cr_assert_eq(chmod(e->dir, 0711), 0);
	snprintf(e->config, sizeof(e->config), "%s/edged.conf", e->dir);
	fp = fopen(e->config, "w");
	cr_assert_not_null(fp);
	fprintf(fp,
	    "listen = 127.0.0.1:0\n"
	    "admin_listen = 127.0.0.1:0\n"
	    "data_dir = %s/data\n"
	    "admin_token = %s\n"
	    "pool_blanks = 2\n"
	    /* Keep root: the temp dir and notify socket are root's (test_layers tests the drop). */
	    "user =\n"
	    "%s"
	    "%s\n",
	    e->dir, TEST_TOKEN, HARNESS_SANITIZER_LIMITS, extra_config != NULL ? extra_config : "");
	fclose(fp);
	edged_spawn(e);
	return e;
}

void
edged_restart(struct edged *e)
{
	edged_spawn(e);
}

/*
 * Waits up to timeout_ms for edged to exit, after sending `sig` (0: none);
 * one that does not is killed and fails the test.  Returns the status.
 */
static int
edged_reap(struct edged *e, int sig, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	int pidfd, status = -1;

	pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
	if (sig != 0)
		kill(e->pid, sig);
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		while (poll(&pfd, 1, (int)(deadline - harness_now_ms())) == 0 &&
		    harness_now_ms() < deadline)
			;
		close(pidfd);
	}
	if (waitpid(e->pid, &status, WNOHANG) == 0) {
		kill(e->pid, SIGKILL);
		waitpid(e->pid, &status, 0);
		cr_assert(false, "edged did not stop within %d ms%s", timeout_ms,
		    sig == SIGTERM ? " of SIGTERM" : "");
	}
	/* The reader ends at EOF: every process holding the pipe is gone. */
	pthread_join(e->log_thread, NULL);
	close(e->log_fd);
	e->log_fd = -1;
	e->pid = 0;
	return status;
}

int
edged_stop(struct edged *e)
{
	if (e->pid <= 0)
		return -1;
	return edged_reap(e, SIGTERM, STOP_TIMEOUT_MS);
}

int
edged_wait_exit(struct edged *e, int timeout_ms)
{
	if (e->pid <= 0)
		return -1;
	return edged_reap(e, 0, timeout_ms);
}

void
edged_free(struct edged *e)
{
	if (e == NULL)
		return;
	/* A clean stop is part of every test: exit 0, no sanitizer report. */
	if (e->pid > 0)
		cr_expect_eq(edged_stop(e), 0, "edged did not exit cleanly");
	support_remove_tree(e->dir);
	free(e->log);
	free(e);
}

/* --- HTTP ----------------------------------------------------------------------- */

struct sink {
	char *data;
	size_t len;
};

static size_t
sink_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	s->data = realloc(s->data, s->len + len + 1);
	cr_assert_not_null(s->data);
	memcpy(s->data + s->len, ptr, len);
	s->len += len;
	s->data[s->len] = '\0';
	return len;
}

void
response_free(struct response *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

char *
response_header(const struct response *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p != '\0') {
		const char *eol = strstr(p, "\r\n");

		if (eol == NULL)
			break;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(eol - v));
		}
		p = eol + 2;
	}
	return NULL;
}

struct response
http_request(const struct http_request *req)
{
	struct sink out = { 0 }, hdr = { 0 };
	struct curl_slist *headers = NULL;
	struct response r = { 0 };
	char url[2048], line[512];
	CURL *c = curl_easy_init();

	cr_assert_not_null(c);
	snprintf(url, sizeof(url), "http://%s%s", req->addr, req->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(
	    c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : HTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (req->body_write != NULL) {
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, req->body_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, req->arg);
	} else {
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (req->host != NULL) {
		snprintf(line, sizeof(line), "Host: %s", req->host);
		headers = curl_slist_append(headers, line);
	}
	if (req->token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", req->token);
		headers = curl_slist_append(headers, line);
	}
	if (req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		headers = curl_slist_append(headers, line);
	}
	headers = curl_slist_append(headers, "Expect:");
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		headers = curl_slist_append(headers, req->headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (req->body_read != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, req->body_read);
		curl_easy_setopt(c, CURLOPT_READDATA, req->arg);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	else
		r.status = -1;
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	r.body = out.data ? out.data : strdup("");
	r.body_len = out.len;
	r.headers = hdr.data ? hdr.data : strdup("");
	return r;
}

struct response
http_do(const char *method, const char *addr, const char *path, const char *host, const char *token,
    const char *content_type, const char *body, size_t body_len)
{
	return http_request(&(struct http_request) {
	    .method = method,
	    .addr = addr,
	    .path = path,
	    .host = host,
	    .token = token,
	    .content_type = content_type,
	    .body = body,
	    .body_len = body_len,
	});
}

/* --- admin ---------------------------------------------------------------------- */

void
admin_create_tenant(struct edged *e, const char *tenant)
{
	char path[256];
	struct response r;

	snprintf(path, sizeof(path), "/edged/v1/tenants/%s", tenant);
	r = http_do("PUT", e->admin_addr, path, NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "create tenant %s: %ld %s", tenant, r.status, r.body);
	response_free(&r);
}

struct response
admin_upload_module(struct edged *e, const char *tenant, const char *name, const char *script,
    const char *bindings_json)
{
	static const char boundary[] = "edgedtestboundary7d93";
	char path[256], ctype[128];
	struct response r;
	char *body;
	size_t len;
	FILE *fp = open_memstream(&body, &len);

	fprintf(fp,
	    "--%s\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
	    "Content-Type: application/json\r\n\r\n"
	    "{\"main_module\":\"worker.js\",\"compatibility_date\":\"2026-01-01\","
	    "\"bindings\":%s}\r\n"
	    "--%s\r\nContent-Disposition: form-data; name=\"worker.js\"; filename=\"worker.js\"\r\n"
	    "Content-Type: application/javascript+module\r\n\r\n%s\r\n--%s--\r\n",
	    boundary, bindings_json != NULL ? bindings_json : "[]", boundary, script, boundary);
	fclose(fp);
	snprintf(path, sizeof(path), "/client/v4/accounts/%s/workers/scripts/%s", tenant, name);
	snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
	r = http_do("PUT", e->admin_addr, path, NULL, TEST_TOKEN, ctype, body, len);
	free(body);
	return r;
}

struct response
admin_upload_raw(struct edged *e, const char *tenant, const char *name, const char *script)
{
	char path[256];

	snprintf(path, sizeof(path), "/client/v4/accounts/%s/workers/scripts/%s", tenant, name);
	return http_do("PUT", e->admin_addr, path, NULL, TEST_TOKEN, "application/javascript",
	    script, strlen(script));
}

struct response
admin_add_route(struct edged *e, const char *tenant, const char *pattern, const char *script)
{
	char path[256], body[512];

	snprintf(path, sizeof(path), "/client/v4/accounts/%s/workers/routes", tenant);
	snprintf(body, sizeof(body), "{\"pattern\":\"%s\",\"script\":\"%s\"}", pattern, script);
	return http_do(
	    "POST", e->admin_addr, path, NULL, TEST_TOKEN, "application/json", body, strlen(body));
}

void
deploy(struct edged *e, const char *tenant, const char *name, const char *host, const char *script,
    const char *bindings_json)
{
	struct response r;
	char pattern[256];

	admin_create_tenant(e, tenant);
	r = admin_upload_module(e, tenant, name, script, bindings_json);
	cr_assert_eq(r.status, 200, "upload %s/%s: %ld %s", tenant, name, r.status, r.body);
	response_free(&r);
	snprintf(pattern, sizeof(pattern), "%s/*", host);
	r = admin_add_route(e, tenant, pattern, name);
	cr_assert_eq(r.status, 200, "route %s: %ld %s", pattern, r.status, r.body);
	response_free(&r);
}

json_t *
admin_json(struct edged *e, const char *token, const char *method, const char *path,
    const char *body, long want_status)
{
	struct response r =
	    http_do(method, e->admin_addr, path, NULL, token != NULL ? token : TEST_TOKEN,
		body != NULL ? "application/json" : NULL, body, body != NULL ? strlen(body) : 0);
	char what[512];
	json_t *env;

	snprintf(what, sizeof(what), "%s %s", method, path);
	env = envelope_check(what, r.status, r.body, r.body_len, want_status);
	response_free(&r);
	return env;
}

/* POSTs {"<field>": "<value>"} to a tenant's collection; returns result.<id_field>. */
static char *
admin_storage_create(struct edged *e, const char *tenant, const char *collection, const char *field,
    const char *value, const char *id_field)
{
	char path[256];
	json_t *body = json_pack("{s:s}", field, value), *env;
	char *text = json_dumps(body, JSON_COMPACT), *id;

	snprintf(path, sizeof(path), "/client/v4/accounts/%s/%s", tenant, collection);
	env = admin_json(e, NULL, "POST", path, text, 200);
	id = strdup(json_string_value(json_object_get(envelope_result(env), id_field)));
	cr_assert_not_null(id);
	json_decref(env);
	json_decref(body);
	free(text);
	return id;
}

char *
admin_kv_namespace_create(struct edged *e, const char *tenant, const char *title)
{
	return admin_storage_create(e, tenant, "storage/kv/namespaces", "title", title, "id");
}

char *
admin_d1_database_create(struct edged *e, const char *tenant, const char *name)
{
	return admin_storage_create(e, tenant, "d1/database", "name", name, "uuid");
}

void
admin_r2_bucket_create(struct edged *e, const char *tenant, const char *name)
{
	free(admin_storage_create(e, tenant, "r2/buckets", "name", name, "name"));
}

char *
admin_status(struct edged *e)
{
	struct response r =
	    http_do("GET", e->admin_addr, "/status", NULL, TEST_TOKEN, NULL, NULL, 0);

	cr_assert_eq(r.status, 200);
	free(r.headers);
	return r.body;
}

long
admin_status_counter(struct edged *e, const char *group, const char *name)
{
	char *text = admin_status(e);
	json_t *j = json_loads(text, 0, NULL), *v;
	long n;

	cr_assert_not_null(j, "%s", text);
	v = json_object_get(json_object_get(json_object_get(j, "result"), group), name);
	cr_assert(json_is_integer(v), "no %s.%s in %s", group, name, text);
	n = (long)json_integer_value(v);
	json_decref(j);
	free(text);
	return n;
}

long
proc_vm_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "cannot read %s", path);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

void
expect_canary_alive(struct edged *e, const char *row)
{
	long t0 = harness_now_ms(), dt;
	struct response r = http_do("GET", e->public_addr, "/", "canary.test", NULL, NULL, NULL, 0);

	dt = harness_now_ms() - t0;
	cr_expect_eq(r.status, 200, "%s: canary got %ld %s", row, r.status, r.body);
	cr_expect_str_eq(r.body, "alive", "%s: the canary's response changed", row);
	cr_expect_lt(dt, HARNESS_CANARY_BOUND_MS, "%s: the canary took %ld ms", row, dt);
	response_free(&r);
}

/* --- raw sockets ------------------------------------------------------------------ */

int
raw_connect(int port, int timeout_ms)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

char *
raw_read_all(int fd)
{
	char chunk[4096], *out = NULL;
	size_t n = 0;
	ssize_t r;

	while ((r = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
		out = realloc(out, n + (size_t)r + 1);
		cr_assert_not_null(out);
		memcpy(out + n, chunk, (size_t)r);
		n += (size_t)r;
	}
	close(fd);
	if (out == NULL)
		return strdup("");
	out[n] = '\0';
	return out;
}

char *
raw_exchange(int port, const void *data, size_t len, int timeout_ms)
{
	int fd = raw_connect(port, timeout_ms);

	if (len > 0)
		cr_assert_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
	return raw_read_all(fd);
}

int
raw_status(const char *raw)
{
	int status;

	if (sscanf(raw, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

/* --- the test Workers and their JSON answers ------------------------------------ */

char *
harness_read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;

	cr_assert_not_null(fp, "cannot open %s", path);
	if (getdelim(&text, &cap, '\0', fp) < 0) {
		/* Nothing to read: an empty file, or an error. */
		cr_assert(feof(fp) && !ferror(fp), "cannot read %s", path);
		free(text);
		text = strdup("");
		cr_assert_not_null(text);
	}
	fclose(fp);
	return text;
}

char *
worker_script(const char *name)
{
	char path[512], *prelude, *own, *script;

	snprintf(path, sizeof(path), "%s/tests/e2e/workers/common.js", EDGED_SOURCE_DIR);
	prelude = harness_read_file(path);
	snprintf(path, sizeof(path), "%s/tests/e2e/workers/%s.js", EDGED_SOURCE_DIR, name);
	own = harness_read_file(path);
	cr_assert_geq(asprintf(&script, "%s\n%s", prelude, own), 0);
	free(prelude);
	free(own);
	return script;
}

json_t *
json_quoted(const char *text)
{
	char *copy = strdup(text), *out = copy;
	json_error_t err;
	json_t *j;

	cr_assert_not_null(copy);
	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] == '\'')
			*out++ = *++p;
		else
			*out++ = *p == '\'' ? '"' : *p;
	}
	*out = '\0';
	j = json_loads(copy, JSON_DECODE_ANY, &err);
	cr_assert_not_null(j, "bad expected JSON %s: %s", copy, err.text);
	free(copy);
	return j;
}

void
expect_json(json_t *got, const char *expected, const char *what)
{
	json_t *want = json_quoted(expected);
	char *a = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	char *b = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);

	cr_expect(json_equal(got, want), "%s:\n got  %s\n want %s", what, a ? a : "(none)", b);
	free(a);
	free(b);
	json_decref(want);
}

json_t *
get_json(struct edged *e, const char *host, const char *path)
{
	struct response r = http_do("GET", e->public_addr, path, host, NULL, NULL, NULL, 0);
	json_t *j;

	cr_assert_eq(r.status, 200, "GET %s%s: %ld %s", host, path, r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	cr_assert_not_null(j, "GET %s%s: not JSON: %s", host, path, r.body);
	response_free(&r);
	return j;
}

void
expect_get_json(struct edged *e, const char *host, const char *path, const char *expected)
{
	json_t *j = get_json(e, host, path);

	expect_json(j, expected, path);
	json_decref(j);
}

void
expect_settle_failed(
    json_t *settled, const char *name, const char *prefix, const char *part, const char *what)
{
	json_t *error = json_object_get(settled, "error");
	const char *message = json_string_value(json_object_get(error, "message"));
	const char *got = json_string_value(json_object_get(error, "name"));

	cr_expect(json_is_false(json_object_get(settled, "ok")), "%s did not fail", what);
	if (name != NULL)
		cr_expect(got != NULL && strcmp(got, name) == 0, "%s: %s instead of %s", what,
		    got ? got : "(no error)", name);
	if (prefix != NULL)
		cr_expect(message != NULL && strncmp(message, prefix, strlen(prefix)) == 0,
		    "%s: message '%s' does not start with '%s'", what, message ? message : "",
		    prefix);
	cr_expect(message != NULL && strcasestr(message, part) != NULL,
	    "%s: message '%s' does not mention '%s'", what, message ? message : "", part);
}

static int
harness_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
harness_dir_listing(const char *dir)
{
	char *names[256], *out;
	size_t n = 0, len;
	struct dirent *de;
	DIR *d = opendir(dir);
	FILE *fp;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL && n < 256)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), harness_name_cmp);
	fp = open_memstream(&out, &len);
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "%s\n", names[i]);
		free(names[i]);
	}
	fclose(fp);
	return out;
}
