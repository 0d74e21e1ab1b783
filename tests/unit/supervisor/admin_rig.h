/*
 * admin_rig: the admin API served for real in a supervisor unit suite: an
 * http_server with the admin callbacks on 127.0.0.1:0 in its own event-loop
 * thread, over a meta.sqlite in a temporary directory, and a libcurl client
 * that speaks to it.  One rig per test process (Criterion forks each test).
 */
#ifndef EDGED_TESTS_ADMIN_RIG_H
#define EDGED_TESTS_ADMIN_RIG_H

#include <pthread.h>
#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "supervisor/admin.h"
#include "supervisor/http.h"
#include "supervisor/meta.h"
#include "tests/envelope.h"
#include "tests/unit/supervisor/meta_rig.h"

struct admin_rig_response {
	long status;
	char body[65536]; /* NUL-terminated; a longer body is cut */
	size_t len;
	char headers[4096]; /* the raw header block, NUL-terminated */
	size_t headers_len;
	char content_type[128]; /* the Content-Type header, or "" */
	char allow[128];        /* the Allow header, or "" */
};

struct admin_rig {
	struct event_base *base; /* the server's loop: a fake core schedules its answers here */
	struct meta *meta;
	struct admin *admin;
	int port;                       /* the server's, on 127.0.0.1 */
	char origin[64];                /* "http://127.0.0.1:<port>" */
	struct meta_rig files;          /* the temporary directory of meta.sqlite */
	struct admin_rig_response last; /* what admin_rig_call read last */

	struct http_server *srv;
	pthread_t loop_thread;
	int stop_pipe[2];
	struct event *stop_event;
};

/* The suite's rig, valid between admin_rig_start and admin_rig_stop. */
extern struct admin_rig rig;

/*
 * Starts the server with the fake core `hooks` (borrowed for the rig's life),
 * `limits` (copied) and the operator `token`; the tenants named in the
 * NULL-terminated `tenants` (may be NULL) exist before it serves.  Fails
 * the test on any error.
 */
void admin_rig_start(const struct admin_hooks *hooks, const struct admin_limits *limits,
    const char *token, const char *const *tenants);
/* Stops the loop from its own thread, frees everything, removes the directory. */
void admin_rig_stop(void);

/*
 * One request over HTTP: `token` (may be NULL) as a bearer token, `ctype`
 * (may be NULL) as Content-Type, and body_len bytes of `body` (may be NULL:
 * none).  The path is sent as it is (no dot-segment removal).  Fails the
 * test if there is no HTTP response; *r is the caller's.
 */
void admin_rig_request(const char *method, const char *path, const char *token, const char *ctype,
    const char *body, size_t body_len, struct admin_rig_response *r);

/*
 * A request that must answer `want_status` with a v4 envelope as JSON
 * (envelope_check).  Returns the envelope (the caller decrefs it; read it
 * with envelope_result and the like); the response stays in rig.last.
 */
json_t *admin_rig_call(const char *token, const char *method, const char *path, const char *ctype,
    const char *body, size_t body_len, long want_status);

#endif
