/*
 * broker_calls: storage calls from the supervisor to the broker and their
 * body transfer, over the broker's control channel.  Runs in the supervisor.
 *
 * A call's life: ADMIN_CALL with the first input piece; CALL_BODY pieces as
 * CALL_PULL asks; RESULT; RESULT_BODY pieces as we ask with RESULT_PULL,
 * IPC_PULL_MAX at a time, until last=1.  The broker is trusted, but a
 * message that breaks the protocol still only fails its call.
 */
#include "supervisor/broker_calls.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "broker/store.h"
#include "common/buf.h"
#include "common/channel.h"
#include "common/ipc.h"
#include "common/log.h"

struct broker_call {
	TAILQ_ENTRY(broker_call) entry;
	struct broker_calls *owner;
	uint64_t id;
	broker_call_done done;
	void *ctx;
	struct buf in; /* the input body */
	size_t in_sent;
	bool in_done; /* the last input piece went out */
	bool have_result;
	int status;
	char *doc;
	size_t doc_len;
	struct buf out; /* the output body so far */
	size_t out_max;
	bool discard_body;
	unsigned pulled; /* RESULT_BODY pieces asked for and not yet received */
};

struct broker_calls {
	TAILQ_HEAD(, broker_call) calls;
	size_t count;
	struct channel *ch;
	uint64_t next_id;
};

struct broker_calls *
broker_calls_new(void)
{
	struct broker_calls *bc;

	if ((bc = calloc(1, sizeof(*bc))) == NULL)
		return NULL;
	TAILQ_INIT(&bc->calls);
	bc->next_id = 1;
	return bc;
}

static void
broker_call_free(struct broker_call *c)
{
	buf_release(&c->in);
	buf_release(&c->out);
	free(c->doc);
	free(c);
}

static void
broker_call_unlink(struct broker_call *c)
{
	TAILQ_REMOVE(&c->owner->calls, c, entry);
	c->owner->count--;
}

/* Ends a call: the owner hears the outcome, then it is freed. */
static void
broker_call_finish(struct broker_call *c, int status, const char *doc, size_t doc_len)
{
	struct broker_outcome out = {
		.status = status,
		.doc = doc != NULL ? doc : "",
		.doc_len = doc != NULL ? doc_len : 0,
		.body = status == STORE_OK ? c->out.data : NULL,
		.body_len = status == STORE_OK ? c->out.len : 0,
	};

	broker_call_unlink(c);
	c->done(c->ctx, &out);
	broker_call_free(c);
}

/* Fails a call with a document of our own making. */
static void
broker_call_fail(struct broker_call *c, int status, const char *message)
{
	char doc[256];
	json_t *j = json_pack("{s:s}", "message", message);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	snprintf(doc, sizeof(doc), "%s", text != NULL ? text : "{}");
	free(text);
	json_decref(j);
	broker_call_finish(c, status, doc, strlen(doc));
}

static void
broker_calls_fail_all(struct broker_calls *bc, const char *message)
{
	struct broker_call *c;

	while ((c = TAILQ_FIRST(&bc->calls)) != NULL)
		broker_call_fail(c, STORE_E_UNAVAILABLE, message);
}

void
broker_calls_free(struct broker_calls *bc)
{
	if (bc == NULL)
		return;
	bc->ch = NULL;
	broker_calls_fail_all(bc, "the storage broker is shutting down");
	free(bc);
}

void
broker_calls_set_channel(struct broker_calls *bc, struct channel *ch)
{
	bc->ch = ch;
	if (ch == NULL)
		broker_calls_fail_all(bc, "the storage broker is restarting");
}

size_t
broker_calls_count(const struct broker_calls *bc)
{
	return bc->count;
}

static struct broker_call *
broker_calls_find(struct broker_calls *bc, uint64_t id)
{
	struct broker_call *c;

	TAILQ_FOREACH (c, &bc->calls, entry)
		if (c->id == id)
			return c;
	return NULL;
}

/* Tells the broker to drop the call (it sends nothing more for its id). */
static void
broker_call_send_cancel(struct broker_call *c)
{
	struct ipc_value f[1] = { ipc_u64(0) };

	if (c->owner->ch != NULL)
		(void)channel_send(c->owner->ch, IPC_CALL_CANCEL, c->id, f, 1);
}

/* A broker that breaks the protocol fails only the call it broke. */
static void
broker_call_violation(struct broker_call *c, const char *what)
{
	log_warnx("broker call %" PRIu64 ": %s", c->id, what);
	broker_call_send_cancel(c);
	broker_call_fail(c, STORE_E_INTERNAL, "the storage broker broke the call protocol");
}

/* --- input ------------------------------------------------------------------- */

/* The next input piece: [in_sent, in_sent + *len), and whether it is the last. */
static bool
broker_call_next_piece(const struct broker_call *c, const uint8_t **data, size_t *len)
{
	size_t left = c->in.len - c->in_sent;

	*data = c->in.data != NULL ? c->in.data + c->in_sent : (const uint8_t *)"";
	*len = left > IPC_BODY_CHUNK_MAX ? IPC_BODY_CHUNK_MAX : left;
	return *len == left;
}

static void
broker_call_on_pull(struct broker_call *c, uint64_t chunks)
{
	struct ipc_value f[2];
	const uint8_t *data;
	size_t len;
	bool last;

	/*
	 * The broker tops its pulls up before it has seen our last piece, and
	 * may answer before it took them all: a pull then asks for nothing.
	 */
	if (c->in_done || c->have_result)
		return;
	while (chunks-- > 0 && !c->in_done) {
		last = broker_call_next_piece(c, &data, &len);
		f[IPC_CALL_BODY_CHUNK] = ipc_bytes(data, len);
		f[IPC_CALL_BODY_LAST] = ipc_u64(last ? 1 : 0);
		if (channel_send(c->owner->ch, IPC_CALL_BODY, c->id, f, 2) == -1) {
			broker_call_fail(
			    c, STORE_E_UNAVAILABLE, "cannot send to the storage broker");
			return;
		}
		c->in_sent += len;
		c->in_done = last;
	}
	if (c->in_done)
		buf_release(&c->in); /* every byte is with the broker */
}

/* --- output ------------------------------------------------------------------ */

static bool
broker_call_pull_more(struct broker_call *c)
{
	struct ipc_value f[1] = { ipc_u64(IPC_PULL_MAX) };

	if (channel_send(c->owner->ch, IPC_RESULT_PULL, c->id, f, 1) == -1) {
		broker_call_fail(c, STORE_E_UNAVAILABLE, "cannot send to the storage broker");
		return false;
	}
	c->pulled = IPC_PULL_MAX;
	return true;
}

/* Appends an output piece; false when the call ended (too large, no memory). */
static bool
broker_call_take_piece(struct broker_call *c, const struct ipc_bytes *b)
{
	char message[128];

	if (b->len > c->out_max || c->out.len > c->out_max - b->len) {
		broker_call_send_cancel(c);
		snprintf(message, sizeof(message),
		    "the result is larger than the admin API's limit of %zu bytes", c->out_max);
		broker_call_fail(c, STORE_E_TOO_LARGE, message);
		return false;
	}
	if (buf_append(&c->out, b->ptr, b->len) == -1) {
		broker_call_send_cancel(c);
		broker_call_fail(c, STORE_E_INTERNAL, "out of memory");
		return false;
	}
	return true;
}

/* A successful call keeps its document until the body is in; a failure ends at once. */
static void
broker_call_on_result(struct broker_call *c, const struct ipc_msg *msg)
{
	const struct ipc_bytes *doc = &msg->field[IPC_RESULT_DOC].b;
	bool more = msg->field[IPC_RESULT_MORE].u != 0;

	if (c->have_result) {
		broker_call_violation(c, "a second RESULT");
		return;
	}
	c->have_result = true;
	c->status = (int)msg->field[IPC_RESULT_STATUS].u;
	c->in_done = true;
	buf_release(&c->in);
	/* Copied: the outcome promises NUL-terminated text. */
	if ((c->doc = malloc(doc->len + 1)) == NULL) {
		broker_call_send_cancel(c);
		broker_call_fail(c, STORE_E_INTERNAL, "out of memory");
		return;
	}
	memcpy(c->doc, doc->ptr, doc->len);
	c->doc[doc->len] = '\0';
	c->doc_len = doc->len;
	if (c->status != STORE_OK || !more || c->discard_body) {
		/* A failure carries no body; an unwanted one is dropped at the broker. */
		if (more)
			broker_call_send_cancel(c);
		if (c->status == STORE_OK && !c->discard_body &&
		    !broker_call_take_piece(c, &msg->field[IPC_RESULT_CHUNK].b))
			return;
		broker_call_finish(c, c->status, c->doc, c->doc_len);
		return;
	}
	if (broker_call_take_piece(c, &msg->field[IPC_RESULT_CHUNK].b))
		(void)broker_call_pull_more(c);
}

static void
broker_call_on_body(struct broker_call *c, const struct ipc_msg *msg)
{
	if (!c->have_result || c->doc == NULL || c->pulled == 0) {
		broker_call_violation(c, "RESULT_BODY not asked for");
		return;
	}
	if (!broker_call_take_piece(c, &msg->field[IPC_RESULT_BODY_CHUNK].b))
		return;
	c->pulled--;
	if (msg->field[IPC_RESULT_BODY_LAST].u != 0)
		broker_call_finish(c, c->status, c->doc, c->doc_len);
	else if (c->pulled == 0)
		(void)broker_call_pull_more(c);
}

bool
broker_calls_on_message(struct broker_calls *bc, const struct ipc_msg *msg)
{
	struct broker_call *c;

	if (msg->type != IPC_CALL_PULL && msg->type != IPC_RESULT && msg->type != IPC_RESULT_BODY)
		return false;
	if ((c = broker_calls_find(bc, msg->id)) == NULL) {
		/* A cancelled call's last messages may still be on their way. */
		log_debug("broker call %" PRIu64 ": %s after it ended", msg->id, msg->spec->name);
		return true;
	}
	switch (msg->type) {
	case IPC_CALL_PULL:
		broker_call_on_pull(c, msg->field[IPC_CALL_PULL_CHUNKS].u);
		break;
	case IPC_RESULT:
		broker_call_on_result(c, msg);
		break;
	default:
		broker_call_on_body(c, msg);
		break;
	}
	return true;
}

/* --- starting and cancelling --------------------------------------------------- */

static int
broker_call_send_start(struct broker_call *c, const struct broker_call_args *a)
{
	struct ipc_value f[8];
	const uint8_t *data;
	size_t len;
	bool last = broker_call_next_piece(c, &data, &len);

	f[IPC_ADMIN_CALL_TENANT] = ipc_str(a->tenant);
	f[IPC_ADMIN_CALL_KIND] = ipc_str(a->kind);
	f[IPC_ADMIN_CALL_RESOURCE] = ipc_str(a->resource);
	f[IPC_ADMIN_CALL_METHOD] = ipc_str(a->method);
	f[IPC_ADMIN_CALL_ARGS] = ipc_str(a->args != NULL ? a->args : "{}");
	f[IPC_ADMIN_CALL_CHUNK] = ipc_bytes(data, len);
	f[IPC_ADMIN_CALL_MORE] = ipc_u64(last ? 0 : 1);
	f[IPC_ADMIN_CALL_LIMITS] = ipc_str(a->limits != NULL ? a->limits : "{}");
	if (channel_send(c->owner->ch, IPC_ADMIN_CALL, c->id, f, 8) == -1)
		return -1;
	c->in_sent = len;
	c->in_done = last;
	return 0;
}

struct broker_call *
broker_calls_start(
    struct broker_calls *bc, const struct broker_call_args *a, broker_call_done done, void *ctx)
{
	struct broker_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (a->body != NULL)
			buf_release(a->body);
		return NULL;
	}
	buf_init(&c->in);
	buf_init(&c->out);
	if (a->body != NULL) {
		c->in = *a->body;
		buf_init(a->body);
	}
	c->owner = bc;
	c->done = done;
	c->ctx = ctx;
	c->out_max = a->output_max;
	c->discard_body = a->discard_body;
	if (bc == NULL || bc->ch == NULL || bc->count >= BROKER_CALLS_MAX) {
		broker_call_free(c);
		return NULL;
	}
	c->id = bc->next_id++;
	if (broker_call_send_start(c, a) == -1) {
		log_warnx("broker call: cannot send %s.%s for tenant '%s'", a->kind, a->method,
		    a->tenant);
		broker_call_free(c);
		return NULL;
	}
	if (c->in_done)
		buf_release(&c->in);
	TAILQ_INSERT_TAIL(&bc->calls, c, entry);
	bc->count++;
	return c;
}

void
broker_call_cancel(struct broker_call *c)
{
	if (c == NULL)
		return;
	broker_call_send_cancel(c);
	broker_call_unlink(c);
	broker_call_free(c);
}
