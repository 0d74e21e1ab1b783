/*
 * harness: end-to-end test support.  Starts a real edged on ephemeral
 * loopback ports with a temp data dir, waits for its "ready" line (no
 * sleeps), and talks to it over HTTP (libcurl) and raw sockets.
 */
#ifndef EDGED_TEST_HARNESS_H
#define EDGED_TEST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "tests/envelope.h"

#define TEST_TOKEN "test-operator-token"

struct edged {
	pid_t pid;
	char dir[256]; /* temp dir: data/ and edged.conf */
	char config[320];
	char public_addr[64]; /* "127.0.0.1:PORT" */
	char admin_addr[64];
	int public_port;
	int admin_port;
	int log_fd;           /* read end of edged's stderr */
	pthread_t log_thread; /* drains log_fd into log */
	pthread_mutex_t log_lock;
	pthread_cond_t log_cond;
	bool log_eof;
	char *log; /* everything edged wrote so far (NUL-terminated) */
	size_t log_len;
	const char *binary; /* what edged_spawn runs: EDGED_BINARY unless edged_start_binary */
};

/* Starts edged with extra config lines appended (may be NULL); fails the test on error. */
struct edged *edged_start(const char *extra_config);
/*
 * The same with another executable built from this tree (the test-only
 * edged-hooked); `binary` is borrowed and must outlive the edged.
 */
struct edged *edged_start_binary(const char *binary, const char *extra_config);
/* Starts again on the same data dir and config (after edged_stop). */
void edged_restart(struct edged *e);
/* SIGTERM and wait (bounded); returns the exit status as from waitpid. */
int edged_stop(struct edged *e);
/*
 * Waits (bounded) for edged to exit by itself, sending no signal; returns the
 * status as from waitpid.  Fails the test (after SIGKILL) if it does not.
 */
int edged_wait_exit(struct edged *e, int timeout_ms);
/* Stops if running, removes the temp dir, frees. */
void edged_free(struct edged *e);
/* Waits until edged has logged `needle` (bounded by timeout_ms); true if it did. */
bool edged_log_wait(struct edged *e, const char *needle, int timeout_ms);
/* Waits until `needle` appears at least `count` times in the log. */
bool edged_log_wait_count(struct edged *e, const char *needle, int count, int timeout_ms);
/* How many times `needle` appears in the log so far. */
int edged_log_count(struct edged *e, const char *needle);

struct response {
	long status;
	char *body; /* NUL-terminated */
	size_t body_len;
	char *headers; /* raw header block, NUL-terminated */
};
void response_free(struct response *r);
/* The value of a response header (case-insensitive), malloc'd, or NULL. */
char *response_header(const struct response *r, const char *name);

/*
 * One HTTP request.  `host` sets the Host header (NULL: default); `token`
 * adds "Authorization: Bearer"; `content_type` and body are optional.
 */
struct response http_do(const char *method, const char *addr, const char *path, const char *host,
    const char *token, const char *content_type, const char *body, size_t body_len);

/*
 * One HTTP request in full; every field but method, addr and path may be
 * left zero.  Everything it points to is borrowed for the call.
 */
struct http_request {
	const char *method;
	const char *addr; /* "127.0.0.1:PORT" */
	const char *path;
	const char *host;           /* the Host header, or NULL: the default */
	const char *token;          /* adds "Authorization: Bearer <token>" */
	const char *content_type;   /* adds Content-Type */
	const char *const *headers; /* more "Name: value" lines, NULL-terminated */
	/* The request body: body_len bytes of `body`, or from body_read when it is set. */
	const void *body;
	size_t body_len;
	/* curl's read callback: fills buf with up to size * n bytes, returns how many. */
	size_t (*body_read)(char *buf, size_t size, size_t n, void *arg);
	/*
	 * curl's write callback for a response body streamed to the test (r.body
	 * then stays empty): takes size * n bytes and returns that.
	 */
	size_t (*body_write)(char *data, size_t size, size_t n, void *arg);
	void *arg;       /* for body_read and body_write */
	long timeout_ms; /* 0: 30 s */
};
/* The request as `req` says; r.status is -1 when no HTTP response came. */
struct response http_request(const struct http_request *req);

/* The names in `dir` (not what is below them), sorted, one per line; malloc'd. */
char *harness_dir_listing(const char *dir);

/* Admin helpers; each asserts success. */
void admin_create_tenant(struct edged *e, const char *tenant);
/* Uploads a module worker with a metadata part; returns the response. */
struct response admin_upload_module(struct edged *e, const char *tenant, const char *name,
    const char *script, const char *bindings_json);
struct response admin_upload_raw(
    struct edged *e, const char *tenant, const char *name, const char *script);
struct response admin_add_route(
    struct edged *e, const char *tenant, const char *pattern, const char *script);
/* Tenant + module upload + route in one; asserts 200 for each. */
void deploy(struct edged *e, const char *tenant, const char *name, const char *host,
    const char *script, const char *bindings_json);

/*
 * Raw TCP: connects to port, sends `len` bytes, reads until the peer closes
 * or `timeout_ms` passes; returns what was read (malloc'd, NUL-terminated).
 */
char *raw_exchange(int port, const void *data, size_t len, int timeout_ms);
/* Connects; returns the fd (blocking, with a receive timeout). */
int raw_connect(int port, int timeout_ms);
/* The status code of the first response in `raw`, or -1. */
int raw_status(const char *raw);
/* Reads until the peer closes (or the receive timeout); closes fd; malloc'd, NUL-terminated. */
char *raw_read_all(int fd);

/* Milliseconds on CLOCK_MONOTONIC. */
long harness_now_ms(void);
/* VmRSS of a process in KiB (/proc/PID/status); the test fails if unreadable. */
long proc_vm_rss_kib(pid_t pid);
/*
 * The catalog's canary: GET / on canary.test must answer 200 "alive" within
 * HARNESS_CANARY_BOUND_MS (generous: a bound, not a timing measurement).
 */
#define HARNESS_CANARY_BOUND_MS 2000
void expect_canary_alive(struct edged *e, const char *row);

/*
 * An admin API call with the operator token (or `token`) and a JSON body
 * (may be NULL); asserts the status and the v4 envelope (envelope_check)
 * and returns the parsed envelope (json_decref it; read it with
 * envelope_result and the like).
 */
json_t *admin_json(struct edged *e, const char *token, const char *method, const char *path,
    const char *body, long want_status);
/*
 * Storage resources of a tenant, created with the operator token; each
 * asserts 200.  The id helpers return the new namespace id or database
 * uuid (malloc'd; the caller frees).
 */
char *admin_kv_namespace_create(struct edged *e, const char *tenant, const char *title);
char *admin_d1_database_create(struct edged *e, const char *tenant, const char *name);
void admin_r2_bucket_create(struct edged *e, const char *tenant, const char *name);

/* GET /status as parsed JSON text; caller frees. */
char *admin_status(struct edged *e);
/* A counter of /status, result.<group>.<name>; the test fails if it is not an integer. */
long admin_status_counter(struct edged *e, const char *group, const char *name);

/* --- the test Workers and their JSON answers ------------------------------------ */

/* A file's whole text, NUL-terminated (malloc'd; the caller frees); fails the test if unreadable.
 */
char *harness_read_file(const char *path);
/*
 * A test Worker of tests/e2e/workers/: the shared prelude common.js, then
 * <name>.js (malloc'd; the caller frees).
 */
char *worker_script(const char *name);
/*
 * JSON written with single quotes for readability (a backslash before one
 * keeps it a single quote) as a JSON value (json_decref it); the test fails
 * if it is not JSON.
 */
json_t *json_quoted(const char *text);
/* Expects `got` to equal the single-quoted JSON `expected`; `what` names it in a failure. */
void expect_json(json_t *got, const char *expected, const char *what);
/* GET path on host (the public port): must answer 200 with JSON, returned (json_decref it). */
json_t *get_json(struct edged *e, const char *host, const char *path);
/* get_json whose answer must equal the single-quoted JSON `expected`. */
void expect_get_json(struct edged *e, const char *host, const char *path, const char *expected);
/*
 * A result of common.js's settle() that failed: {ok: false, error: {name,
 * message}}, the error named `name` (NULL: any name), its message starting
 * with `prefix` (NULL: any) and mentioning `part` (case-insensitive).
 */
void expect_settle_failed(
    json_t *settled, const char *name, const char *prefix, const char *part, const char *what);

#endif
