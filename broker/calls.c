/*
 * calls: the per-channel state machine of storage calls (see calls.h and
 * the "Calls" comment of common/ipc.h).  Runs in the broker; backends are
 * synchronous, so a call only waits on its caller: for input pieces it
 * pulled, or for the caller to pull output pieces.
 */
#include "broker/calls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/channel.h"
#include "common/log.h"

/*
 * Output pieces wait while this much is queued for the peer, so that a
 * caller that pulls faster than it reads cannot make the broker hold a
 * whole object in memory.  The channel has no "drained" callback, so the
 * wait is a timer that backs off while the peer does not read.
 */
#define BCALLS_OUT_HIGH IPC_BODY_WINDOW
#define BCALLS_PUMP_MIN_MS 1
#define BCALLS_PUMP_MAX_MS 64

/*
 * Input bodies collected whole (KV put, bulk writes) that one channel may
 * hold or have asked for.  Past it, only the oldest such call is pulled
 * (so one always makes progress) and the others wait: a sandbox cannot
 * make the broker hold 64 values of 25 MiB at once.
 */
#define BCALLS_HOLD_MAX (32u << 20)

enum call_phase {
	CALL_INPUT,  /* taking the input body as pulled */
	CALL_DRAIN,  /* answered early: discarding the pieces already pulled */
	CALL_OUTPUT, /* answered with more=1: sending output pieces as pulled */
};

struct call {
	TAILQ_ENTRY(call) entry;
	struct bcalls *cs;
	uint64_t id;
	enum call_phase phase;
	enum store_kind kind;
	enum store_body_mode mode;
	uint64_t max; /* WHOLE: the largest body */

	/* What the backend sees; the strings and args live as long as the call. */
	char *tenant;
	char *resource;
	char *method;
	json_t *args;
	struct store_limits limits;
	struct store_call sc;

	struct buf body;      /* WHOLE: the input so far */
	struct r2_upload *up; /* STREAM: the upload being written */
	unsigned asked;       /* input pieces pulled and not yet received */
	bool stalled;         /* WHOLE: waits for room under BCALLS_HOLD_MAX to pull */
	struct store_result res;
	uint64_t out_total; /* output body bytes */
	uint64_t out_sent;
	uint64_t credit; /* output pieces pulled and not yet sent */
};

struct bcalls {
	struct event_base *base;
	const struct bcalls_backends *be;
	struct channel *ch;
	bool admin;
	bool broken; /* the channel is closing for a violation */
	unsigned max_in_flight;
	const char *who;
	TAILQ_HEAD(, call) list; /* oldest first */
	size_t count;            /* calls in flight: CALL_INPUT and CALL_OUTPUT */
	size_t ndrain;           /* calls in CALL_DRAIN */
	struct event *pump;
	unsigned pump_ms; /* the current back-off of the pump timer */
};

/* Scratch for a piece read from a file: the broker is single-threaded. */
static uint8_t bcalls_piece[IPC_BODY_CHUNK_MAX];

static const char *const bcalls_admin_only[] = { "create", "drop", "bulkPut", "bulkDelete",
	"queryAll", "info" };

static int bcalls_pump(struct bcalls *cs);

bool
bcalls_copy_str(const struct ipc_value *v, char *dst, size_t size)
{
	if (v->b.len >= size || memchr(v->b.ptr, '\0', v->b.len) != NULL)
		return false;
	memcpy(dst, v->b.ptr, v->b.len);
	dst[v->b.len] = '\0';
	return true;
}

/*
 * Closes the channel for a broken protocol (or an output that cannot go
 * on).  Outside a callback of the channel the owner frees the table at
 * once, so the caller must return without touching `cs` or its calls.
 */
static int
bcalls_fail(struct bcalls *cs, const char *reason)
{
	struct channel *ch = cs->ch;

	log_warnx("%s: %s: closing the channel", cs->who, reason);
	cs->broken = true;
	channel_close(ch, reason);
	return -1;
}

static struct call *
call_find(struct bcalls *cs, uint64_t id)
{
	struct call *c;

	TAILQ_FOREACH (c, &cs->list, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
call_free(struct call *c)
{
	TAILQ_REMOVE(&c->cs->list, c, entry);
	if (c->phase == CALL_DRAIN)
		c->cs->ndrain--;
	else
		c->cs->count--;
	if (c->up != NULL)
		r2_upload_abort(c->up);
	buf_release(&c->body);
	store_result_release(&c->res);
	json_decref(c->args);
	free(c->tenant);
	free(c->resource);
	free(c->method);
	free(c);
}

static bool
bcalls_is_admin_only(const char *method)
{
	for (size_t i = 0; i < sizeof(bcalls_admin_only) / sizeof(bcalls_admin_only[0]); i++)
		if (strcmp(method, bcalls_admin_only[i]) == 0)
			return true;
	return false;
}

/* The args document: an object, {} for empty text; NULL for anything else. */
static json_t *
bcalls_parse_args(const struct ipc_bytes *args)
{
	json_t *o;

	if (args->len == 0)
		return json_object();
	o = json_loadb(args->ptr, args->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Replaces each byte that does not start a well-formed UTF-8 sequence with '?'. */
static void
bcalls_utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n = 0;
		uint32_t cp, min = 0;

		if (*p < 0x80) {
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			n = 2;
			min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 3;
			min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 4;
			min = 0x10000;
		}
		/* The lead byte's payload bits: those below its length marker. */
		cp = n > 1 ? *p & (0x7fu >> n) : *p;
		for (size_t i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (n == 0 || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* The "result" text of a RESULT (see calls.h); malloc'd, NULL on failure. */
static char *
bcalls_result_text(const struct store_result *r)
{
	char message[sizeof(r->message)];
	json_t *o;
	char *text = NULL;

	if (r->status == STORE_OK)
		return r->doc != NULL ? json_dumps(r->doc, JSON_COMPACT | JSON_ENCODE_ANY)
				      : strdup("null");
	memcpy(message, r->message, sizeof(message));
	message[sizeof(message) - 1] = '\0';
	bcalls_utf8_clean(message);
	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "message", json_string(message)) == 0 &&
	    (r->code == 0 || json_object_set_new(o, "code", json_integer(r->code)) == 0))
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Answers a call that never got a record; 0, or -1 when the channel is closing. */
static int
bcalls_refuse(struct bcalls *cs, uint64_t id, enum store_status status, const char *message)
{
	struct store_result r;
	struct ipc_value f[4];
	char *text;
	int rc;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	store_fail(&r, status, "%s", message);
	text = bcalls_result_text(&r);
	f[IPC_RESULT_STATUS] = ipc_u64(status);
	f[IPC_RESULT_DOC] = ipc_str(text != NULL ? text : "{\"message\":\"internal error\"}");
	f[IPC_RESULT_CHUNK] = ipc_bytes(NULL, 0);
	f[IPC_RESULT_MORE] = ipc_u64(0);
	rc = channel_send(cs->ch, IPC_RESULT, id, f, 4);
	free(text);
	return rc;
}

/* Leaves a failed result without a document or body, as the contract says. */
static void
call_clear_body(struct call *c)
{
	enum store_status status = c->res.status;
	int code = c->res.code;
	char message[sizeof(c->res.message)];

	memcpy(message, c->res.message, sizeof(message));
	store_result_release(&c->res);
	c->res.status = status;
	c->res.code = code;
	memcpy(c->res.message, message, sizeof(message));
}

/* Reads the output piece [out_sent, out_sent + n); NULL on an I/O error (logged). */
static const uint8_t *
call_piece(struct call *c, size_t n)
{
	size_t got = 0;
	ssize_t r;

	if (c->res.body_kind == STORE_BODY_MEM)
		return c->res.mem + c->out_sent;
	while (got < n) {
		r = pread(c->res.fd, bcalls_piece + got, n - got,
		    (off_t)(c->res.offset + c->out_sent + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			log_warn(
			    "%s: cannot read the body of a '%s' result", c->cs->who, c->method);
			return NULL;
		}
		got += (size_t)r;
	}
	return bcalls_piece;
}

/* Checks what the backend returned and sets out_total; false when it is unusable. */
static bool
call_result_is_sane(struct call *c)
{
	c->out_total = 0;
	if (c->res.status != STORE_OK) {
		call_clear_body(c);
		return true;
	}
	switch (c->res.body_kind) {
	case STORE_BODY_NONE:
		return true;
	case STORE_BODY_MEM:
		c->out_total = c->res.mem_len;
		return c->res.mem != NULL || c->res.mem_len == 0;
	case STORE_BODY_FILE:
		c->out_total = c->res.length;
		return c->res.fd >= 0;
	}
	return false;
}

/*
 * Builds the RESULT of a finished call into text and its first piece.  On
 * any trouble with the backend's result the call turns into a failure.
 */
static char *
call_result_prepare(struct call *c, const uint8_t **piece, size_t *n)
{
	char *text;

	if (!call_result_is_sane(c)) {
		log_warnx("%s: '%s' returned a malformed body", c->cs->who, c->method);
		store_result_release(&c->res);
		store_fail(&c->res, STORE_E_INTERNAL, "internal error");
	}
	text = bcalls_result_text(&c->res);
	if (text != NULL && strlen(text) > IPC_RESULT_MAX) {
		free(text);
		store_result_release(&c->res);
		store_fail(&c->res, STORE_E_TOO_LARGE, "result too large");
		c->out_total = 0;
		text = bcalls_result_text(&c->res);
	}
	*n = c->out_total < IPC_BODY_CHUNK_MAX ? (size_t)c->out_total : IPC_BODY_CHUNK_MAX;
	*piece = NULL;
	if (*n > 0 && (*piece = call_piece(c, *n)) == NULL) {
		free(text);
		store_result_release(&c->res);
		store_fail(&c->res, STORE_E_INTERNAL, "internal error");
		c->out_total = 0;
		*n = 0;
		text = bcalls_result_text(&c->res);
	}
	return text;
}

/*
 * Sends the RESULT of c->res.  Afterwards the call is in CALL_OUTPUT when
 * output pieces remain, and its result is released otherwise.  0, or -1
 * when the channel is closing.
 */
static int
call_answer(struct call *c)
{
	struct ipc_value f[4];
	const uint8_t *piece;
	size_t n;
	char *text;
	int rc;

	if ((text = call_result_prepare(c, &piece, &n)) == NULL) {
		log_warnx(
		    "%s: the result of '%s' cannot be written as JSON", c->cs->who, c->method);
		store_result_release(&c->res);
		return bcalls_refuse(c->cs, c->id, STORE_E_INTERNAL, "internal error");
	}
	f[IPC_RESULT_STATUS] = ipc_u64(c->res.status);
	f[IPC_RESULT_DOC] = ipc_str(text);
	f[IPC_RESULT_CHUNK] = ipc_bytes(piece, n);
	f[IPC_RESULT_MORE] = ipc_u64(n < c->out_total);
	rc = channel_send(c->cs->ch, IPC_RESULT, c->id, f, 4);
	free(text);
	if (rc == -1 && errno == EINVAL) {
		/* The backend's document did not fit the table (a bug): say so. */
		log_warnx("%s: the result of '%s' cannot be encoded", c->cs->who, c->method);
		store_result_release(&c->res);
		return bcalls_refuse(c->cs, c->id, STORE_E_INTERNAL, "internal error");
	}
	if (rc == -1)
		return -1;
	c->out_sent = n;
	if (n < c->out_total)
		c->phase = CALL_OUTPUT;
	else
		store_result_release(&c->res);
	return 0;
}

/* Answers a finished call and frees it unless output pieces remain. */
static int
call_finish(struct call *c)
{
	if (call_answer(c) == -1)
		return -1;
	if (c->phase != CALL_OUTPUT)
		call_free(c);
	return 0;
}

/*
 * Moves an answered call to CALL_DRAIN.  The caller stops sending when it
 * sees the answer, so some pulled pieces never come: drained calls do not
 * count as in flight, and the oldest goes when there are too many.
 */
static void
call_drain(struct call *c)
{
	struct bcalls *cs = c->cs;
	struct call *old;

	c->phase = CALL_DRAIN;
	cs->count--;
	cs->ndrain++;
	if (cs->ndrain <= 2 * (size_t)cs->max_in_flight)
		return;
	TAILQ_FOREACH (old, &cs->list, entry) {
		if (old->phase == CALL_DRAIN) {
			call_free(old);
			return;
		}
	}
}

/*
 * Answers a call that failed while taking its input.  Pieces it pulled
 * that are still on their way are discarded as they come (CALL_DRAIN);
 * with none, or after the last one, the call ends.
 */
static int
call_answer_early(struct call *c, bool last)
{
	if (c->up != NULL) {
		r2_upload_abort(c->up);
		c->up = NULL;
	}
	buf_release(&c->body);
	if (call_answer(c) == -1)
		return -1;
	if (last || c->asked == 0) {
		call_free(c);
		return 0;
	}
	call_drain(c);
	return 0;
}

/* Whether a call collects its whole input in memory, and is still doing so. */
static bool
call_is_collecting(const struct call *c)
{
	return c->mode == STORE_IN_WHOLE && c->phase == CALL_INPUT;
}

/* How many input pieces a WHOLE call may ask for now, under BCALLS_HOLD_MAX. */
static unsigned
call_room(const struct call *c, unsigned want)
{
	const struct call *o, *oldest = NULL;
	uint64_t committed = 0, room;

	TAILQ_FOREACH (o, &c->cs->list, entry) {
		if (!call_is_collecting(o))
			continue;
		if (oldest == NULL)
			oldest = o;
		committed += o->body.len + (uint64_t)o->asked * IPC_BODY_CHUNK_MAX;
	}
	if (c == oldest)
		return want;
	room = committed < BCALLS_HOLD_MAX ? (BCALLS_HOLD_MAX - committed) / IPC_BODY_CHUNK_MAX : 0;
	return room < want ? (unsigned)room : want;
}

/*
 * Keeps up to IPC_PULL_MAX input pieces asked for, topping up at half; a
 * WHOLE call without room stalls until bcalls_unstall() finds some.
 */
static int
call_pull(struct call *c)
{
	struct ipc_value f[1];
	unsigned n;

	if (c->asked > IPC_PULL_MAX / 2)
		return 0;
	n = IPC_PULL_MAX - c->asked;
	if (c->mode == STORE_IN_WHOLE && (n = call_room(c, n)) == 0) {
		c->stalled = true;
		return 0;
	}
	c->stalled = false;
	f[IPC_CALL_PULL_CHUNKS] = ipc_u64(n);
	if (channel_send(c->cs->ch, IPC_CALL_PULL, c->id, f, 1) == -1)
		return -1;
	c->asked += n;
	return 0;
}

/* Runs a method on its backend; fills c->res. */
static void
call_dispatch(struct call *c)
{
	const struct bcalls_backends *be = c->cs->be;
	const uint8_t *body = c->body.data != NULL ? c->body.data : (const uint8_t *)"";

	switch (c->kind) {
	case STORE_KV:
		kv_call(be->kv, &c->sc, body, c->body.len, &c->res);
		break;
	case STORE_D1:
		d1_call(be->d1, &c->sc, &c->res);
		break;
	case STORE_R2:
		r2_call(be->r2, &c->sc, &c->res);
		break;
	default:
		store_fail(&c->res, STORE_E_INVALID, "unknown storage kind");
		break;
	}
}

/* The input is complete: run the method, or finish the upload, and answer. */
static int
call_complete(struct call *c)
{
	c->asked = 0;
	if (c->mode == STORE_IN_STREAM) {
		r2_upload_finish(c->up, &c->res);
		c->up = NULL;
	} else
		call_dispatch(c);
	buf_release(&c->body);
	return call_finish(c);
}

/* One input piece (the CALL's own, or a CALL_BODY) of a call. */
static int
call_take(struct call *c, const struct ipc_bytes *chunk, bool last)
{
	if (c->phase == CALL_DRAIN) {
		if (last || c->asked == 0)
			call_free(c);
		return 0;
	}
	if (c->mode == STORE_IN_WHOLE) {
		if (chunk->len > c->max - c->body.len) {
			store_fail(&c->res, STORE_E_TOO_LARGE, "body too large (over %llu bytes)",
			    (unsigned long long)c->max);
			return call_answer_early(c, last);
		}
		if (buf_append(&c->body, chunk->ptr, chunk->len) == -1) {
			log_warnx("%s: out of memory for a '%s' body", c->cs->who, c->method);
			store_fail(&c->res, STORE_E_INTERNAL, "internal error");
			return call_answer_early(c, last);
		}
	} else if (chunk->len > 0 &&
	    r2_upload_write(c->up, (const uint8_t *)chunk->ptr, chunk->len, &c->res) == -1) {
		if (c->res.status == STORE_OK)
			store_fail(&c->res, STORE_E_INTERNAL, "internal error");
		return call_answer_early(c, last);
	}
	if (last)
		return call_complete(c);
	return call_pull(c);
}

static struct call *
call_new(struct bcalls *cs, const struct bcalls_request *req, json_t *args)
{
	struct call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->tenant = strdup(req->tenant)) == NULL ||
	    (c->resource = strdup(req->resource)) == NULL ||
	    (c->method = strdup(req->method)) == NULL) {
		free(c->tenant);
		free(c->resource);
		free(c);
		return NULL;
	}
	c->cs = cs;
	c->id = req->id;
	c->phase = CALL_INPUT;
	c->kind = req->kind;
	c->mode = store_body_mode(req->kind, req->method, &c->max);
	c->args = args;
	if (req->limits != NULL)
		c->limits = *req->limits;
	c->sc.tenant = c->tenant;
	c->sc.resource = c->resource;
	c->sc.method = c->method;
	c->sc.args = c->args;
	c->sc.admin = cs->admin;
	c->sc.limits = &c->limits;
	buf_init(&c->body);
	c->res.fd = -1;
	TAILQ_INSERT_TAIL(&cs->list, c, entry);
	cs->count++;
	return c;
}

/* Starts a STREAM call: the upload opens before the first piece is taken. */
static int
call_start_stream(struct call *c, const struct ipc_bytes *chunk, bool last)
{
	if ((c->up = r2_upload_begin(c->cs->be->r2, &c->sc, &c->res)) == NULL) {
		if (c->res.status == STORE_OK)
			store_fail(&c->res, STORE_E_INTERNAL, "internal error");
		return call_answer_early(c, true);
	}
	return call_take(c, chunk, last);
}

/* Pulls for stalled calls that have room again (calls ended or were answered). */
static int
bcalls_unstall(struct bcalls *cs)
{
	struct call *c;

	TAILQ_FOREACH (c, &cs->list, entry)
		if (c->stalled && call_is_collecting(c) && call_pull(c) == -1)
			return -1;
	return 0;
}

static int
bcalls_start(struct bcalls *cs, const struct bcalls_request *req)
{
	enum store_body_mode mode;
	struct call *c;
	json_t *args;
	uint64_t max;

	if (cs->broken)
		return -1;
	if ((c = call_find(cs, req->id)) != NULL) {
		if (c->phase != CALL_DRAIN)
			return bcalls_fail(cs, "a call id already in flight");
		/* The caller is done with that id: its stragglers came before this CALL. */
		call_free(c);
	}
	if (cs->count >= cs->max_in_flight)
		return bcalls_refuse(
		    cs, req->id, STORE_E_UNAVAILABLE, "too many storage calls in flight");
	if (req->invalid != NULL)
		return bcalls_refuse(cs, req->id, STORE_E_INVALID, req->invalid);
	if (!cs->admin && bcalls_is_admin_only(req->method))
		return bcalls_refuse(cs, req->id, STORE_E_INVALID, "unknown method");
	if ((args = bcalls_parse_args(&req->args)) == NULL)
		return bcalls_refuse(cs, req->id, STORE_E_INVALID, "args must be a JSON object");
	mode = store_body_mode(req->kind, req->method, &max);
	if (mode == STORE_IN_NONE && (req->chunk.len > 0 || req->more)) {
		json_decref(args);
		return bcalls_refuse(cs, req->id, STORE_E_INVALID, "this method takes no body");
	}
	if ((c = call_new(cs, req, args)) == NULL) {
		json_decref(args);
		log_warnx("%s: out of memory for a storage call", cs->who);
		return bcalls_refuse(cs, req->id, STORE_E_INTERNAL, "internal error");
	}
	switch (mode) {
	case STORE_IN_WHOLE:
		return call_take(c, &req->chunk, !req->more);
	case STORE_IN_STREAM:
		return call_start_stream(c, &req->chunk, !req->more);
	default:
		call_dispatch(c);
		return call_finish(c);
	}
}

/*
 * Sends the next output piece of a call in CALL_OUTPUT and frees the call
 * after the last one.  -1 when the channel closed (the table may be gone).
 */
static int
call_send_piece(struct call *c)
{
	uint64_t left = c->out_total - c->out_sent;
	size_t n = left < IPC_BODY_CHUNK_MAX ? (size_t)left : IPC_BODY_CHUNK_MAX;
	const uint8_t *piece;
	struct ipc_value f[2];
	bool last = n == left;

	if ((piece = call_piece(c, n)) == NULL)
		return bcalls_fail(c->cs, "a result body cannot be read");
	f[IPC_RESULT_BODY_CHUNK] = ipc_bytes(piece, n);
	f[IPC_RESULT_BODY_LAST] = ipc_u64(last);
	if (channel_send(c->cs->ch, IPC_RESULT_BODY, c->id, f, 2) == -1)
		return -1;
	c->out_sent += n;
	c->credit--;
	if (last)
		call_free(c);
	return 0;
}

static void
bcalls_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bcalls_pump(arg);
}

/* Waits for the queued output to go; backs off while none of it does. */
static void
bcalls_pump_later(struct bcalls *cs, bool sent_any)
{
	struct timeval tv;

	if (evtimer_pending(cs->pump, NULL))
		return;
	if (sent_any || cs->pump_ms == 0)
		cs->pump_ms = BCALLS_PUMP_MIN_MS;
	else if (cs->pump_ms < BCALLS_PUMP_MAX_MS)
		cs->pump_ms *= 2;
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)cs->pump_ms * 1000;
	evtimer_add(cs->pump, &tv);
}

/*
 * Sends pulled output pieces, one per call in turn, while the channel's
 * queue is short.  -1 when the channel closed (the table may be gone).
 */
static int
bcalls_pump(struct bcalls *cs)
{
	struct call *c, *next;
	bool progress = true, sent_any = false;

	while (progress) {
		progress = false;
		for (c = TAILQ_FIRST(&cs->list); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			if (c->phase != CALL_OUTPUT || c->credit == 0)
				continue;
			if (channel_pending(cs->ch) >= BCALLS_OUT_HIGH) {
				bcalls_pump_later(cs, sent_any);
				return 0;
			}
			if (call_send_piece(c) == -1)
				return -1;
			progress = sent_any = true;
		}
	}
	cs->pump_ms = 0;
	return 0;
}

static int
bcalls_on_body(struct bcalls *cs, const struct ipc_msg *msg)
{
	struct call *c = call_find(cs, msg->id);

	if (c == NULL)
		return bcalls_fail(cs, "CALL_BODY for no call in flight");
	if (c->asked == 0)
		return bcalls_fail(cs, "CALL_BODY that was not asked for");
	c->asked--;
	return call_take(c, &msg->field[IPC_CALL_BODY_CHUNK].b, msg->field[IPC_CALL_BODY_LAST].u);
}

static int
bcalls_on_result_pull(struct bcalls *cs, const struct ipc_msg *msg)
{
	struct call *c = call_find(cs, msg->id);

	/* The call may have ended while the pull was on its way. */
	if (c == NULL || c->phase == CALL_DRAIN)
		return 0;
	if (c->phase != CALL_OUTPUT)
		return bcalls_fail(cs, "RESULT_PULL before the result");
	c->credit += msg->field[IPC_RESULT_PULL_CHUNKS].u;
	return bcalls_pump(cs);
}

int
bcalls_begin(struct bcalls *cs, const struct bcalls_request *req)
{
	if (bcalls_start(cs, req) == -1 || cs->broken)
		return -1;
	return bcalls_unstall(cs);
}

static int
bcalls_handle(struct bcalls *cs, const struct ipc_msg *msg)
{
	struct call *c;

	switch (msg->type) {
	case IPC_CALL_BODY:
		return bcalls_on_body(cs, msg);
	case IPC_RESULT_PULL:
		return bcalls_on_result_pull(cs, msg);
	case IPC_CALL_CANCEL:
		if ((c = call_find(cs, msg->id)) != NULL)
			call_free(c);
		return 0;
	default:
		return bcalls_fail(cs, "unexpected message on a call channel");
	}
}

int
bcalls_on_message(struct bcalls *cs, const struct ipc_msg *msg)
{
	if (cs->broken || bcalls_handle(cs, msg) == -1 || cs->broken)
		return -1;
	return bcalls_unstall(cs);
}

size_t
bcalls_in_flight(const struct bcalls *cs)
{
	return cs->count;
}

struct bcalls *
bcalls_new(struct event_base *base, const struct bcalls_backends *be, struct channel *ch,
    bool admin, unsigned max_in_flight, const char *who)
{
	struct bcalls *cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	if ((cs->pump = evtimer_new(base, bcalls_pump_cb, cs)) == NULL) {
		free(cs);
		return NULL;
	}
	cs->base = base;
	cs->be = be;
	cs->ch = ch;
	cs->admin = admin;
	cs->max_in_flight = max_in_flight;
	cs->who = who;
	TAILQ_INIT(&cs->list);
	return cs;
}

void
bcalls_free(struct bcalls *cs)
{
	if (cs == NULL)
		return;
	while (!TAILQ_EMPTY(&cs->list))
		call_free(TAILQ_FIRST(&cs->list));
	event_free(cs->pump);
	free(cs);
}
