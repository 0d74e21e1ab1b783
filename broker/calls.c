/*
 * calls: the per-channel state machine of storage calls (see calls.h and
 * the "Calls" comment of common/ipc.h) and their input side: bodies pulled
 * piece by piece, dispatch to the backends.  Runs in the broker; backends
 * are synchronous, so a call only waits on its caller: for input pieces it
 * pulled, or for the caller to pull output pieces (calls_out.c).
 */
#include "broker/calls_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/channel.h"
#include "common/log.h"

/*
 * Input bodies collected whole (KV put, bulk writes) that one channel may
 * hold or have asked for.  Past it, only the oldest such call is pulled
 * (so one always makes progress) and the others wait: a sandbox cannot
 * make the broker hold 64 values of 25 MiB at once.
 */
#define BCALLS_HOLD_MAX (32u << 20)

static const char *const bcalls_admin_only[] = { "create", "drop", "bulkPut", "bulkDelete",
	"queryAll", "info" };

bool
bcalls_copy_str(const struct ipc_value *v, char *dst, size_t size)
{
	if (v->b.len >= size || memchr(v->b.ptr, '\0', v->b.len) != NULL)
		return false;
	memcpy(dst, v->b.ptr, v->b.len);
	dst[v->b.len] = '\0';
	return true;
}

int
bcalls_fail(struct bcalls *cs, const char *reason)
{
	struct channel *ch = cs->ch;

	log_warnx("%s: %s: closing the channel", cs->who, reason);
	cs->broken = true;
	channel_close(ch, reason);
	return -1;
}

struct call *
call_find(struct bcalls *cs, uint64_t id)
{
	struct call *c;

	TAILQ_FOREACH (c, &cs->list, entry)
		if (c->id == id)
			return c;
	return NULL;
}

void
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
bcalls_new(const struct bcalls_backends *be, struct channel *ch, bool admin, unsigned max_in_flight,
    const char *who)
{
	struct bcalls *cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	cs->be = be;
	cs->ch = ch;
	cs->admin = admin;
	cs->max_in_flight = max_in_flight;
	cs->who = who;
	TAILQ_INIT(&cs->list);
	/* Output pieces resume in bcalls_on_drained (calls_out.c). */
	channel_set_low_water(ch, BCALLS_OUT_HIGH);
	return cs;
}

void
bcalls_free(struct bcalls *cs)
{
	if (cs == NULL)
		return;
	while (!TAILQ_EMPTY(&cs->list))
		call_free(TAILQ_FIRST(&cs->list));
	free(cs);
}
