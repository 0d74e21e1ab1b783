/*
 * fuzz_attach: the broker's ATTACH handling (broker/attachment.c): tenant,
 * worker, storage limits (store_limits_parse) and the bindings text, from
 * fuzz bytes encoded as a real ATTACH frame and decoded as the broker
 * decodes it.  The attachment then gets CALLs, over a real channel, for
 * every name the bindings mention and one they do not: each must resolve
 * exactly as a reading of the bindings written here says.  The calls use an
 * admin-only method, so they are answered before any backend is needed.
 *
 * Input: tenant '\n' worker '\n' limits '\n' bindings (the rest).
 *
 * FUZZ_ATTACH_VERBOSE=1 prints every answer.  Every attach also sends a
 * CALL with empty strings (they once decoded as NULL pointers).
 */
#define _GNU_SOURCE
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "broker/attachment.h"
#include "broker/calls.h"
#include "broker/store.h"
#include "common/buf.h"
#include "common/ipc.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAMES_MAX 16        /* binding names called per input */
#define FUZZ_BINDING_NAME_MAX 64 /* the CALL's binding field */
#define FUZZ_TURNS 16
/*
 * The id of the empty-strings call: a positive fixint, so that nothing
 * before its empty strings has payload bytes (which decodes them as NULL).
 */
#define FUZZ_KNOWN_ID 100

static struct event_base *fuzz_base;
static struct attachment_list fuzz_list = TAILQ_HEAD_INITIALIZER(fuzz_list);
/* Never reached: every call names an admin-only method on a sandbox channel. */
static const struct bcalls_backends fuzz_backends = { NULL, NULL, NULL };
static uint64_t fuzz_channel_id;

/*
 * The backends, which no call here may reach: the transport answers calls
 * to admin-only methods on a sandbox channel itself.
 */
void
kv_call(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	abort();
}

void
d1_call(struct d1 *d1, const struct store_call *c, struct store_result *r)
{
	abort();
}

void
r2_call(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	abort();
}

struct r2_upload *
r2_upload_begin(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	abort();
}

int
r2_upload_write(struct r2_upload *up, const uint8_t *data, size_t len, struct store_result *r)
{
	abort();
}

void
r2_upload_finish(struct r2_upload *up, struct store_result *r)
{
	abort();
}

void
r2_upload_abort(struct r2_upload *up)
{
	abort();
}

/* --- the reference reading --------------------------------------------------------------- */

static bool
ref_all_of(const char *s, const char *set)
{
	for (; *s != '\0'; s++)
		if (strchr(set, *s) == NULL)
			return false;
	return true;
}

static bool
ref_tenant_is_valid(const char *s, size_t len)
{
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

	/* The field is not NUL-terminated: look at exactly len bytes. */
	if (len < 1 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

static bool
ref_resource_is_valid(const char *type, const char *r)
{
	size_t n = r != NULL ? strlen(r) : 0;

	if (r == NULL)
		return false;
	if (strcmp(type, "kv_namespace") == 0)
		return n == 32 && ref_all_of(r, "0123456789abcdef");
	if (strcmp(type, "d1") == 0) {
		if (n != 36)
			return false;
		for (size_t i = 0; i < n; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;

			if (dash ? r[i] != '-' : strchr("0123456789abcdef", r[i]) == NULL)
				return false;
		}
		return true;
	}
	if (strcmp(type, "r2_bucket") == 0)
		return n >= 3 && n <= 63 &&
		    ref_all_of(r, "abcdefghijklmnopqrstuvwxyz0123456789-") && r[0] != '-' &&
		    r[n - 1] != '-';
	return false;
}

static const char *
ref_resource_member(const char *type)
{
	if (strcmp(type, "kv_namespace") == 0)
		return "namespace_id";
	if (strcmp(type, "d1") == 0)
		return "id";
	return "bucket_name";
}

/*
 * The names to call and whether each is bound: every string "name" of an
 * entry (bound when the entry is the first usable one by that name), and
 * one name no entry has.
 */
struct ref_names {
	size_t count;
	char name[FUZZ_NAMES_MAX + 1][FUZZ_BINDING_NAME_MAX + 1];
	bool bound[FUZZ_NAMES_MAX + 1];
};

static int
ref_find(const struct ref_names *rn, const char *name)
{
	for (size_t i = 0; i < rn->count; i++)
		if (strcmp(rn->name[i], name) == 0)
			return (int)i;
	return -1;
}

static void
ref_bindings(const char *text, size_t len, struct ref_names *rn)
{
	json_t *list = len > 0 ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *e;
	size_t i;

	rn->count = 0;
	json_array_foreach (list, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *name = json_string_value(json_object_get(e, "name"));
		bool usable;
		int at;

		if (name == NULL || strlen(name) > FUZZ_BINDING_NAME_MAX)
			continue;
		usable = name[0] != '\0' && type != NULL &&
		    (strcmp(type, "kv_namespace") == 0 || strcmp(type, "d1") == 0 ||
			strcmp(type, "r2_bucket") == 0) &&
		    ref_resource_is_valid(
			type, json_string_value(json_object_get(e, ref_resource_member(type))));
		if ((at = ref_find(rn, name)) >= 0) {
			/* A later entry by a name not yet bound may still bind it. */
			rn->bound[at] = rn->bound[at] || usable;
			continue;
		}
		if (rn->count == FUZZ_NAMES_MAX || name[0] == '\0')
			continue;
		snprintf(rn->name[rn->count], sizeof(rn->name[0]), "%s", name);
		rn->bound[rn->count++] = usable;
	}
	json_decref(list);
	/* A name that no entry has: "unbound" plus a suffix until it is free. */
	snprintf(rn->name[rn->count], sizeof(rn->name[0]), "unbound");
	for (int k = 0; ref_find(rn, rn->name[rn->count]) >= 0; k++)
		snprintf(rn->name[rn->count], sizeof(rn->name[0]), "unbound%d", k);
	rn->bound[rn->count++] = false;
}

/* store_limits_parse against a reading of the same text. */
static void
fuzz_check_limits(const char *text, size_t len)
{
	static const char *const names[] = { "kv_bytes", "kv_keys", "d1_bytes", "r2_bytes" };
	struct store_limits got;
	uint64_t want[4] = { 0, 0, 0, 0 }, have[4];
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = store_limits_parse(text, len, &got);

	if ((rc == 0) != json_is_object(o))
		abort();
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(o, names[i]);

		if (json_is_integer(v) && json_integer_value(v) > 0)
			want[i] = (uint64_t)json_integer_value(v);
	}
	have[0] = got.kv_bytes;
	have[1] = got.kv_keys;
	have[2] = got.d1_bytes;
	have[3] = got.r2_bytes;
	if (memcmp(want, have, sizeof(want)) != 0)
		abort();
	json_decref(o);
}

/* --- the channel's far end ---------------------------------------------------------------- */

static void
fuzz_send(int fd, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	struct buf out;
	size_t off = 0;

	buf_init(&out);
	if (ipc_encode(&out, type, id, f, n) == -1)
		abort();
	while (off < out.len) {
		ssize_t w = write(fd, out.data + off, out.len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	buf_release(&out);
}

/*
 * Reads what the broker sent and checks each RESULT against the reference:
 * id i + 1 answers name i.  Returns how many were answered.
 */
static size_t
fuzz_read_results(int fd, struct buf *in, const struct ref_names *rn, bool *answered)
{
	uint8_t chunk[4096];
	ssize_t n;
	uint32_t len;
	size_t got = 0;

	while ((n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
		if (buf_append(in, chunk, (size_t)n) == -1)
			abort();
	while (ipc_frame_check(in->data, in->len, IPC_CAP_FROM_BROKER, &len) == 1) {
		struct ipc_msg msg;
		const char *why;
		json_t *doc;
		const char *message;
		char want[128];

		/* The broker's HELLO comes first; then results only. */
		if (ipc_decode(in->data + IPC_FRAME_HEADER, len, IPC_PEER_BROKER, IPC_PEER_SANDBOX,
			IPC_ST_HELLO, &msg, &why) == 0) {
			ipc_msg_release(&msg);
			buf_consume(in, IPC_FRAME_HEADER + len);
			continue;
		}
		if (ipc_decode(in->data + IPC_FRAME_HEADER, len, IPC_PEER_BROKER, IPC_PEER_SANDBOX,
			IPC_ST_READY, &msg, &why) == -1 ||
		    msg.type != IPC_RESULT)
			abort();
		if (msg.id == FUZZ_KNOWN_ID) {
			/* The FUZZ_ATTACH_KNOWN call: any well-formed refusal. */
			if (getenv("FUZZ_ATTACH_VERBOSE") != NULL)
				fprintf(stderr, "fuzz: empty call -> %.*s\n",
				    (int)msg.field[IPC_RESULT_DOC].b.len,
				    msg.field[IPC_RESULT_DOC].b.ptr);
			ipc_msg_release(&msg);
			buf_consume(in, IPC_FRAME_HEADER + len);
			continue;
		}
		if (msg.id == 0 || msg.id > rn->count || answered[msg.id - 1])
			abort();
		if (msg.field[IPC_RESULT_STATUS].u != STORE_E_INVALID)
			abort();
		doc = json_loadb(
		    msg.field[IPC_RESULT_DOC].b.ptr, msg.field[IPC_RESULT_DOC].b.len, 0, NULL);
		if ((message = json_string_value(json_object_get(doc, "message"))) == NULL)
			abort();
		/* Bound: the binding resolves and only the method is refused. */
		if (rn->bound[msg.id - 1])
			snprintf(want, sizeof(want), "unknown method");
		else
			snprintf(want, sizeof(want), "no binding named '%s'", rn->name[msg.id - 1]);
		if (strcmp(message, want) != 0) {
			fprintf(stderr, "fuzz: binding '%s': got \"%s\", want \"%s\"\n",
			    rn->name[msg.id - 1], message, want);
			abort();
		}
		if (getenv("FUZZ_ATTACH_VERBOSE") != NULL)
			fprintf(
			    stderr, "fuzz: binding '%s' -> %s\n", rn->name[msg.id - 1], message);
		json_decref(doc);
		answered[msg.id - 1] = true;
		got++;
		ipc_msg_release(&msg);
		buf_consume(in, IPC_FRAME_HEADER + len);
	}
	return got;
}

/* --- one attach ------------------------------------------------------------------------- */

/* Encodes and decodes ATTACH as the supervisor and the broker do; -1 when it cannot travel. */
static int
fuzz_attach_msg(
    struct buf *frame, struct ipc_msg *msg, const struct ipc_bytes *fields, uint64_t channel)
{
	struct ipc_value f[6];
	uint32_t len;
	const char *why;

	f[IPC_ATTACH_CHANNEL] = ipc_u64(channel);
	f[IPC_ATTACH_TENANT] = ipc_bytes(fields[0].ptr, fields[0].len);
	f[IPC_ATTACH_WORKER] = ipc_bytes(fields[1].ptr, fields[1].len);
	f[IPC_ATTACH_VERSION] = ipc_u64(7);
	f[IPC_ATTACH_LIMITS] = ipc_bytes(fields[2].ptr, fields[2].len);
	f[IPC_ATTACH_BINDINGS] = ipc_bytes(fields[3].ptr, fields[3].len);
	if (ipc_encode(frame, IPC_ATTACH, 0, f, 6) == -1)
		return -1;
	if (ipc_frame_check(frame->data, frame->len, IPC_CAP_BROKER_CONTROL, &len) != 1)
		return -1;
	/* The table's gates (UTF-8, sizes) are the broker's: what fails them never arrives. */
	if (ipc_decode(frame->data + IPC_FRAME_HEADER, len, IPC_PEER_SUPERVISOR, IPC_PEER_BROKER,
		IPC_ST_READY, msg, &why) == -1)
		return -1;
	return 0;
}

static void
fuzz_calls(int fd, const struct ref_names *rn)
{
	struct ipc_value f[5];
	bool answered[FUZZ_NAMES_MAX + 1] = { false };
	struct buf in;
	size_t done = 0;

	f[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	f[IPC_HELLO_ROLE] = ipc_u64(IPC_PEER_SANDBOX);
	f[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	fuzz_send(fd, IPC_HELLO, 0, f, 3);
	for (size_t i = 0; i < rn->count; i++) {
		f[IPC_CALL_BINDING] = ipc_str(rn->name[i]);
		f[IPC_CALL_METHOD] = ipc_str("create");
		f[IPC_CALL_ARGS] = ipc_str("{}");
		f[IPC_CALL_CHUNK] = ipc_bytes(NULL, 0);
		f[IPC_CALL_MORE] = ipc_u64(0);
		fuzz_send(fd, IPC_CALL, i + 1, f, 5);
	}
	{
		/* A sandbox's CALL with an empty binding and method (empty STR fields). */
		f[IPC_CALL_BINDING] = ipc_str("");
		f[IPC_CALL_METHOD] = ipc_str("");
		f[IPC_CALL_ARGS] = ipc_str("");
		f[IPC_CALL_CHUNK] = ipc_bytes(NULL, 0);
		f[IPC_CALL_MORE] = ipc_u64(0);
		fuzz_send(fd, IPC_CALL, FUZZ_KNOWN_ID, f, 5);
	}
	buf_init(&in);
	for (int turn = 0; turn < FUZZ_TURNS && done < rn->count; turn++) {
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
		done += fuzz_read_results(fd, &in, rn, answered);
	}
	if (done != rn->count)
		abort();
	buf_release(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_bytes fields[4];
	struct ref_names rn;
	struct ipc_msg msg;
	struct buf frame;
	struct attachment *a;
	const uint8_t *p = data, *end = data + size;
	int sv[2], dup_sv[2], rc;
	bool tenant_ok;

	if (fuzz_base == NULL) {
		log_init("fuzz", LOG_LEVEL_ERROR);
		if ((fuzz_base = event_base_new()) == NULL)
			abort();
	}
	for (int i = 0; i < 4; i++) {
		const uint8_t *nl = i < 3 ? memchr(p, '\n', (size_t)(end - p)) : NULL;

		fields[i].ptr = (const char *)p;
		fields[i].len = (size_t)((nl != NULL ? nl : end) - p);
		p = nl != NULL ? nl + 1 : end;
	}
	fuzz_check_limits(fields[2].ptr, fields[2].len);
	fuzz_check_limits(fields[3].ptr, fields[3].len);
	buf_init(&frame);
	if (fuzz_attach_msg(&frame, &msg, fields, ++fuzz_channel_id) == -1) {
		buf_release(&frame);
		return 0;
	}
	tenant_ok = ref_tenant_is_valid(fields[0].ptr, fields[0].len);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	rc = attachment_new(&fuzz_list, fuzz_base, &fuzz_backends, &msg, sv[0]);
	if ((rc == 0) != tenant_ok)
		abort();
	if (rc == 0) {
		/* The same channel id twice is refused; the first stays. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dup_sv) == -1)
			abort();
		if (attachment_new(&fuzz_list, fuzz_base, &fuzz_backends, &msg, dup_sv[0]) != -1)
			abort();
		close(dup_sv[1]);
		if ((a = attachment_find(&fuzz_list, fuzz_channel_id)) == NULL)
			abort();
		ref_bindings(fields[3].ptr, fields[3].len, &rn);
		fuzz_calls(sv[1], &rn);
		attachment_close(a, "fuzz: done");
		if (attachment_find(&fuzz_list, fuzz_channel_id) != NULL ||
		    !TAILQ_EMPTY(&fuzz_list))
			abort();
	}
	close(sv[1]);
	ipc_msg_release(&msg);
	buf_release(&frame);
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return 0;
}
