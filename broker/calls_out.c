/*
 * calls_out: the output side of the broker's storage calls (calls.h): the
 * RESULT of a finished call, and its body as RESULT_BODY pieces, sent as
 * the caller pulls them while the channel's queue stays under
 * BCALLS_OUT_HIGH.  Runs in the broker.
 */
#include "broker/calls_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/channel.h"
#include "common/log.h"
#include "common/utf8.h"

/* Scratch for a piece read from a file: the broker is single-threaded. */
static uint8_t bcalls_piece[IPC_BODY_CHUNK_MAX];

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
	utf8_scrub(message, strlen(message));
	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "message", json_string(message)) == 0 &&
	    (r->code == 0 || json_object_set_new(o, "code", json_integer(r->code)) == 0))
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

int
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

int
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

int
call_finish(struct call *c)
{
	if (call_answer(c) == -1)
		return -1;
	if (c->phase != CALL_OUTPUT)
		call_free(c);
	return 0;
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

/*
 * Sends pulled output pieces, one per call in turn, while the channel's
 * queue is short.  -1 when the channel closed (the table may be gone).
 */
static int
bcalls_pump(struct bcalls *cs)
{
	struct call *c, *next;
	bool progress = true;

	while (progress) {
		progress = false;
		for (c = TAILQ_FIRST(&cs->list); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			if (c->phase != CALL_OUTPUT || c->credit == 0)
				continue;
			/* The channel calls bcalls_on_drained once it is below the mark. */
			if (channel_pending(cs->ch) >= BCALLS_OUT_HIGH)
				return 0;
			if (call_send_piece(c) == -1)
				return -1;
			progress = true;
		}
	}
	return 0;
}

int
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

void
bcalls_on_drained(struct bcalls *cs)
{
	if (cs != NULL && !cs->broken)
		(void)bcalls_pump(cs);
}
