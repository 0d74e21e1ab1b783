/*
 * test_calls: the broker's call transport (broker/calls.c, attachment.c,
 * broker.c) for real.  Each test forks a child running broker_main() on a
 * fresh data directory; the test speaks the supervisor's side of the
 * control channel and the sandbox side of the channels it attaches.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/store.h"
#include "common/buf.h"
#include "common/ipc.h"
#include "tests/support.h"

#define WAIT_MS 20000 /* the longest a reply may take before the test fails */

/*
 * A KV value over the 25 MiB limit, and long enough that the pieces the
 * broker pulled before it noticed never reach the end (the last one).
 */
#define BIG_LEN (32u << 20)

#define NS "0123456789abcdef0123456789abcdef"
#define BUCKET "photos"
#define DB "0f0e0d0c-0b0a-4908-8706-050403020100"
#define TENANT "acme"
#define KV_BINDINGS "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"" NS "\"}]"
#define R2_BINDINGS "[{\"type\":\"r2_bucket\",\"name\":\"BUCKET\",\"bucket_name\":\"" BUCKET "\"}]"

static struct {
	pid_t pid;
	int sup; /* our end of the broker's supervisor channel */
	char dir[64];
	struct broker_config cfg;
	int fds_before;
} rig;

/* One message from the broker, with the frame its byte strings point into. */
struct reply {
	struct buf in;
	struct ipc_msg m;
};

static void
send_msg(int fd, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	struct buf out;

	buf_init(&out);
	cr_assert_eq(ipc_encode(&out, type, id, f, n), 0, "encode type %u", type);
	cr_assert_eq(ipc_write_all(fd, &out), 0, "write: %s", strerror(errno));
	buf_release(&out);
}

static void
reply_release(struct reply *r)
{
	ipc_msg_release(&r->m);
	buf_release(&r->in);
}

/* Waits for the next message to `me` (released first); fails the test on EOF or garbage. */
static void
reply_next(int fd, enum ipc_peer me, unsigned state, struct reply *r)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint32_t cap = me == IPC_PEER_SANDBOX ? IPC_CAP_TO_SANDBOX : IPC_CAP_FROM_BROKER;
	const char *why = NULL;

	ipc_msg_release(&r->m);
	memset(&r->m, 0, sizeof(r->m));
	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "nothing from the broker in %d ms", WAIT_MS);
	cr_assert_eq(ipc_read_frame(fd, cap, &r->in), 0, "no frame from the broker: %s",
	    errno == 0 ? "end of file" : strerror(errno));
	cr_assert_eq(ipc_decode(r->in.data, r->in.len, IPC_PEER_BROKER, me, state, &r->m, &why), 0,
	    "bad frame from the broker: %s", why);
}

/* The broker closed this channel: whatever it sent before, then end of file. */
static void
expect_eof(int fd)
{
	char scratch[65536];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	do {
		cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "the broker kept the channel open");
		n = read(fd, scratch, sizeof(scratch));
	} while (n > 0);
	cr_assert(n == 0 || errno == ECONNRESET, "read: %s", strerror(errno));
}

/* The HELLO exchange on a fresh channel, as `me`. */
static void
hello(int fd, enum ipc_peer me)
{
	struct reply r = { 0 };
	struct ipc_value f[3];

	reply_next(fd, me, IPC_ST_HELLO, &r);
	cr_assert_eq(r.m.type, IPC_HELLO);
	cr_assert_eq(r.m.field[IPC_HELLO_ROLE].u, IPC_PEER_BROKER);
	reply_release(&r);
	f[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	f[IPC_HELLO_ROLE] = ipc_u64(me);
	f[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	send_msg(fd, IPC_HELLO, 0, f, 3);
}

static void
rig_start(void)
{
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	rig.fds_before = support_count_fds();
	support_tempdir(rig.dir, sizeof(rig.dir), "/tmp", "edged-calls");
	rig.cfg.data_dir = rig.dir;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	rig.pid = fork();
	cr_assert_neq(rig.pid, -1);
	if (rig.pid == 0) {
		close(sv[0]);
		broker_main(sv[1], &rig.cfg);
	}
	close(sv[1]);
	rig.sup = sv[0];
	hello(rig.sup, IPC_PEER_SUPERVISOR);
}

/* Closes the control channel: the broker must exit 0, leaving nothing open here. */
static void
rig_stop(void)
{
	int status = -1;

	if (rig.pid <= 0)
		return;
	close(rig.sup);
	cr_assert_eq(waitpid(rig.pid, &status, 0), rig.pid);
	rig.pid = 0;
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the broker did not exit 0 (status %#x)", status);
	support_remove_tree(rig.dir);
	cr_expect_eq(support_count_fds(), rig.fds_before, "descriptors leaked");
}

TestSuite(calls, .init = rig_start, .fini = rig_stop, .timeout = 100);

/* Attaches a new sandbox channel; returns our (sandbox) end after its HELLO. */
static int
attach(uint64_t channel, const char *tenant, const char *bindings, const char *limits)
{
	struct ipc_value f[6];
	struct buf out;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f[IPC_ATTACH_CHANNEL] = ipc_u64(channel);
	f[IPC_ATTACH_TENANT] = ipc_str(tenant);
	f[IPC_ATTACH_WORKER] = ipc_str("api");
	f[IPC_ATTACH_VERSION] = ipc_u64(1);
	f[IPC_ATTACH_BINDINGS] = ipc_str(bindings);
	f[IPC_ATTACH_LIMITS] = ipc_str(limits);
	buf_init(&out);
	cr_assert_eq(ipc_encode(&out, IPC_ATTACH, 0, f, 6), 0);
	cr_assert_eq(ipc_send_with_fds(rig.sup, &out, &sv[1], 1), 0);
	buf_release(&out);
	close(sv[1]);
	return sv[0];
}

static int
attach_sandbox(uint64_t channel, const char *bindings)
{
	int fd = attach(channel, TENANT, bindings, "{}");

	hello(fd, IPC_PEER_SANDBOX);
	return fd;
}

static void
call(int fd, uint64_t id, const char *binding, const char *method, const char *args,
    const void *chunk, size_t len, bool more)
{
	struct ipc_value f[5];

	f[IPC_CALL_BINDING] = ipc_str(binding);
	f[IPC_CALL_METHOD] = ipc_str(method);
	f[IPC_CALL_ARGS] = ipc_str(args);
	f[IPC_CALL_CHUNK] = ipc_bytes(chunk, len);
	f[IPC_CALL_MORE] = ipc_u64(more);
	send_msg(fd, IPC_CALL, id, f, 5);
}

static void
admin_call_with(uint64_t id, const char *kind, const char *resource, const char *method,
    const char *args, const void *chunk, size_t len, const char *limits)
{
	struct ipc_value f[8];

	f[IPC_ADMIN_CALL_TENANT] = ipc_str(TENANT);
	f[IPC_ADMIN_CALL_KIND] = ipc_str(kind);
	f[IPC_ADMIN_CALL_RESOURCE] = ipc_str(resource);
	f[IPC_ADMIN_CALL_METHOD] = ipc_str(method);
	f[IPC_ADMIN_CALL_ARGS] = ipc_str(args);
	f[IPC_ADMIN_CALL_CHUNK] = ipc_bytes(chunk, len);
	f[IPC_ADMIN_CALL_MORE] = ipc_u64(0);
	f[IPC_ADMIN_CALL_LIMITS] = ipc_str(limits);
	send_msg(rig.sup, IPC_ADMIN_CALL, id, f, 8);
}

static void
admin_call(
    uint64_t id, const char *kind, const char *resource, const char *method, const char *args)
{
	admin_call_with(id, kind, resource, method, args, NULL, 0, "{}");
}

static void
send_piece(int fd, uint16_t type, uint64_t id, const void *chunk, size_t len, bool last)
{
	struct ipc_value f[2];

	f[0] = ipc_bytes(chunk, len);
	f[1] = ipc_u64(last);
	send_msg(fd, type, id, f, 2);
}

/* The result document of a RESULT, parsed. */
static json_t *
result_doc(const struct reply *r)
{
	const struct ipc_bytes *t = &r->m.field[IPC_RESULT_DOC].b;
	json_t *doc = json_loadb(t->ptr, t->len, JSON_DECODE_ANY, NULL);

	cr_assert_not_null(doc, "result is not JSON: %.*s", (int)t->len, t->ptr);
	return doc;
}

/* Reads up to the RESULT of `id` (nothing else may come) and checks status and message. */
static void
expect_refusal(int fd, enum ipc_peer me, uint64_t id, unsigned status, const char *message)
{
	struct reply r = { 0 };
	json_t *doc;

	reply_next(fd, me, IPC_ST_READY, &r);
	cr_assert_eq(r.m.type, IPC_RESULT, "got %s, not RESULT", r.m.spec->name);
	cr_assert_eq(r.m.id, id);
	cr_assert_eq(r.m.field[IPC_RESULT_STATUS].u, status, "status %llu: %.*s",
	    (unsigned long long)r.m.field[IPC_RESULT_STATUS].u,
	    (int)r.m.field[IPC_RESULT_DOC].b.len, r.m.field[IPC_RESULT_DOC].b.ptr);
	cr_assert_eq(r.m.field[IPC_RESULT_MORE].u, 0);
	doc = result_doc(&r);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "message")), message);
	json_decref(doc);
	reply_release(&r);
}

/* Expects CALL_PULL for `id`; returns how many pieces it asks for. */
static unsigned
expect_pull(int fd, uint64_t id)
{
	struct reply r = { 0 };
	unsigned n;

	reply_next(fd, IPC_PEER_SANDBOX, IPC_ST_READY, &r);
	cr_assert_eq(r.m.type, IPC_CALL_PULL, "got %s, not CALL_PULL", r.m.spec->name);
	cr_assert_eq(r.m.id, id);
	n = (unsigned)r.m.field[IPC_CALL_PULL_CHUNKS].u;
	cr_assert(n >= 1 && n <= IPC_PULL_MAX);
	reply_release(&r);
	return n;
}

Test(calls, unknown_binding_and_invalid_resources)
{
	int fd = attach_sandbox(1,
	    "[{\"type\":\"kv_namespace\",\"name\":\"KV\",\"namespace_id\":\"" NS "\"},"
	    "{\"type\":\"kv_namespace\",\"name\":\"BAD\",\"namespace_id\":\"not-hex\"},"
	    "{\"type\":\"r2_bucket\",\"name\":\"B\",\"bucket_name\":\"-x\"},"
	    "{\"type\":\"plain_text\",\"name\":\"VAR\",\"text\":\"v\"}]");

	call(fd, 1, "NOPE", "get", "{\"key\":\"a\"}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 1, STORE_E_INVALID, "no binding named 'NOPE'");
	/* Left out at attach: an invalid resource, and a binding that is not storage. */
	call(fd, 2, "BAD", "get", "{\"key\":\"a\"}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 2, STORE_E_INVALID, "no binding named 'BAD'");
	call(fd, 3, "B", "head", "{\"key\":\"a\"}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 3, STORE_E_INVALID, "no binding named 'B'");
	call(fd, 4, "VAR", "get", "{}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 4, STORE_E_INVALID, "no binding named 'VAR'");
	close(fd);
}

Test(calls, admin_methods_are_unknown_to_sandboxes)
{
	static const char *const admin_only[] = { "create", "drop", "bulkPut", "bulkDelete",
		"queryAll", "info" };
	int fd = attach_sandbox(1, KV_BINDINGS);

	for (size_t i = 0; i < sizeof(admin_only) / sizeof(admin_only[0]); i++) {
		call(fd, 10 + i, "KV", admin_only[i], "{}", NULL, 0, false);
		expect_refusal(fd, IPC_PEER_SANDBOX, 10 + i, STORE_E_INVALID, "unknown method");
	}
	close(fd);
}

Test(calls, args_must_be_a_json_object)
{
	static const char *const bad[] = { "[]", "{", "\"key\"", "null", "{\"a\":1,\"a\":2}",
		"{} {}" };
	int fd = attach_sandbox(1, KV_BINDINGS);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call(fd, 1 + i, "KV", "get", bad[i], NULL, 0, false);
		expect_refusal(
		    fd, IPC_PEER_SANDBOX, 1 + i, STORE_E_INVALID, "args must be a JSON object");
	}
	close(fd);
}

Test(calls, a_body_for_a_method_without_one)
{
	int fd = attach_sandbox(1, KV_BINDINGS);

	call(fd, 1, "KV", "get", "{\"key\":\"a\"}", "x", 1, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 1, STORE_E_INVALID, "this method takes no body");
	/* Announcing pieces is a body too; none is pulled, so none may come. */
	call(fd, 2, "KV", "delete", "{\"key\":\"a\"}", NULL, 0, true);
	expect_refusal(fd, IPC_PEER_SANDBOX, 2, STORE_E_INVALID, "this method takes no body");
	call(fd, 3, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 3, STORE_E_INVALID, "no binding named 'NOPE'");
	close(fd);
}

static void barrier(int fd, uint64_t probe, unsigned *got, size_t nids);

Test(calls, at_most_64_calls_in_flight)
{
	unsigned got[128] = { 0 };
	int fd = attach_sandbox(1, KV_BINDINGS);

	/* A put that announces more input waits for it: it stays in flight. */
	for (uint64_t id = 1; id <= 64; id++)
		call(fd, id, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	/* Each is pulled, as far as the channel has room for whole bodies. */
	barrier(fd, 1000, got, 128);
	cr_assert_eq(got[1], IPC_PULL_MAX);
	call(fd, 65, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	expect_refusal(
	    fd, IPC_PEER_SANDBOX, 65, STORE_E_UNAVAILABLE, "too many storage calls in flight");
	/* A cancel frees a place; a cancel for an id not in flight changes nothing. */
	send_msg(fd, IPC_CALL_CANCEL, 1, (struct ipc_value[]) { ipc_u64(0) }, 1);
	send_msg(fd, IPC_CALL_CANCEL, 5000, (struct ipc_value[]) { ipc_u64(0) }, 1);
	send_msg(fd, IPC_RESULT_PULL, 5001, (struct ipc_value[]) { ipc_u64(4) }, 1);
	call(fd, 66, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	barrier(fd, 1001, got, 128); /* fails on any RESULT for 66 */
	call(fd, 67, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	expect_refusal(
	    fd, IPC_PEER_SANDBOX, 67, STORE_E_UNAVAILABLE, "too many storage calls in flight");
	/* The id of a cancelled call may come again. */
	send_msg(fd, IPC_CALL_CANCEL, 66, (struct ipc_value[]) { ipc_u64(0) }, 1);
	call(fd, 66, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	barrier(fd, 1002, got, 128);
	close(fd);
}

Test(calls, an_unasked_body_drops_only_that_channel)
{
	int a = attach_sandbox(1, KV_BINDINGS);
	int b = attach_sandbox(2, KV_BINDINGS);

	send_piece(a, IPC_CALL_BODY, 77, "x", 1, true);
	expect_eof(a);
	close(a);
	call(b, 1, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(b, IPC_PEER_SANDBOX, 1, STORE_E_INVALID, "no binding named 'NOPE'");

	/* A piece for a call that takes no more input is unasked too. */
	a = attach_sandbox(3, KV_BINDINGS);
	call(a, 1, "NOPE", "get", "{}", NULL, 0, true);
	expect_refusal(a, IPC_PEER_SANDBOX, 1, STORE_E_INVALID, "no binding named 'NOPE'");
	send_piece(a, IPC_CALL_BODY, 1, "x", 1, true);
	expect_eof(a);
	close(a);
	call(b, 2, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(b, IPC_PEER_SANDBOX, 2, STORE_E_INVALID, "no binding named 'NOPE'");
	close(b);
}

Test(calls, a_duplicate_call_id_drops_the_channel)
{
	int a = attach_sandbox(1, KV_BINDINGS);
	int b = attach_sandbox(2, KV_BINDINGS);

	call(a, 5, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	expect_pull(a, 5);
	call(a, 5, "KV", "get", "{\"key\":\"k\"}", NULL, 0, false);
	expect_eof(a);
	close(a);
	call(b, 5, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(b, IPC_PEER_SANDBOX, 5, STORE_E_INVALID, "no binding named 'NOPE'");
	close(b);
}

Test(calls, a_result_pull_before_the_result_drops_the_channel)
{
	int fd = attach_sandbox(1, KV_BINDINGS);

	call(fd, 5, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	expect_pull(fd, 5);
	send_msg(fd, IPC_RESULT_PULL, 5, (struct ipc_value[]) { ipc_u64(1) }, 1);
	expect_eof(fd);
	close(fd);
}

/*
 * Sends data[off..len) in pieces of `piece` bytes as the broker pulls them
 * (the CALL carried data[0..off) with more=1), until a RESULT for `id`
 * comes, which is left in *r.  Returns the pieces pulled and not sent.
 */
static unsigned
feed(int fd, enum ipc_peer me, uint16_t type, uint64_t id, const uint8_t *data, size_t len,
    size_t off, size_t piece, struct reply *r, size_t *sent)
{
	unsigned allowed = 0;

	for (;;) {
		reply_next(fd, me, IPC_ST_READY, r);
		cr_assert_eq(r->m.id, id);
		if (r->m.type == IPC_RESULT)
			break;
		cr_assert_eq(r->m.type, IPC_CALL_PULL, "got %s, not CALL_PULL", r->m.spec->name);
		allowed += (unsigned)r->m.field[IPC_CALL_PULL_CHUNKS].u;
		while (allowed > 0 && off < len) {
			size_t n = len - off < piece ? len - off : piece;

			send_piece(fd, type, id, data + off, n, off + n == len);
			off += n;
			allowed--;
		}
	}
	if (sent != NULL)
		*sent = off;
	return allowed;
}

Test(calls, a_body_over_its_limit_is_refused_and_drained)
{
	size_t piece = IPC_BODY_CHUNK_MAX, len = BIG_LEN, sent;
	uint8_t *data = calloc(1, len);
	int fd = attach_sandbox(1, KV_BINDINGS);
	struct reply r = { 0 };
	unsigned left;
	json_t *doc;

	cr_assert_not_null(data);
	call(fd, 9, "KV", "put", "{\"key\":\"huge\"}", data, piece, true);
	left = feed(fd, IPC_PEER_SANDBOX, IPC_CALL_BODY, 9, data, len, piece, piece, &r, &sent);
	cr_assert_eq(r.m.field[IPC_RESULT_STATUS].u, STORE_E_TOO_LARGE);
	doc = result_doc(&r);
	cr_assert_not_null(json_string_value(json_object_get(doc, "message")));
	json_decref(doc);
	reply_release(&r);
	cr_assert_lt(sent, len, "the whole body was taken");
	/* Pieces already pulled may still come; they are discarded, not a violation. */
	for (unsigned i = 0; i < left; i++)
		send_piece(fd, IPC_CALL_BODY, 9, data, piece, false);
	call(fd, 10, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 10, STORE_E_INVALID, "no binding named 'NOPE'");
	/* One more than was pulled is not. */
	send_piece(fd, IPC_CALL_BODY, 9, data, 1, false);
	expect_eof(fd);
	close(fd);
	free(data);
}

Test(calls, a_refused_call_with_pieces_in_flight_frees_its_id)
{
	size_t piece = IPC_BODY_CHUNK_MAX, len = BIG_LEN;
	uint8_t *data = calloc(1, len);
	int fd = attach_sandbox(1, KV_BINDINGS);
	struct reply r = { 0 };

	cr_assert_not_null(data);
	call(fd, 9, "KV", "put", "{\"key\":\"huge\"}", data, piece, true);
	feed(fd, IPC_PEER_SANDBOX, IPC_CALL_BODY, 9, data, len, piece, piece, &r, NULL);
	cr_assert_eq(r.m.field[IPC_RESULT_STATUS].u, STORE_E_TOO_LARGE);
	reply_release(&r);
	/* The caller stops sending at the answer and may use the id again. */
	call(fd, 9, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 9, STORE_E_INVALID, "no binding named 'NOPE'");
	close(fd);
	free(data);
}

Test(calls, detach_and_refused_attach_close_the_channel)
{
	int fd = attach_sandbox(1, KV_BINDINGS);
	int bad;

	call(fd, 1, "KV", "put", "{\"key\":\"k\"}", "v", 1, true);
	expect_pull(fd, 1);
	send_msg(rig.sup, IPC_DETACH, 0, (struct ipc_value[]) { ipc_u64(1) }, 1);
	expect_eof(fd);
	close(fd);
	bad = attach(2, "no spaces", KV_BINDINGS, "{}");
	expect_eof(bad);
	close(bad);
	/* The broker still serves the channels it has. */
	fd = attach_sandbox(3, KV_BINDINGS);
	call(fd, 1, "NOPE", "get", "{}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 1, STORE_E_INVALID, "no binding named 'NOPE'");
	close(fd);
}

Test(calls, admin_calls_are_checked_and_answered_on_the_control_channel)
{
	struct reply r = { 0 };

	admin_call(1, "kv", "not-a-namespace", "create", "{}");
	expect_refusal(rig.sup, IPC_PEER_SUPERVISOR, 1, STORE_E_INVALID,
	    "invalid KV namespace id 'not-a-namespace'");
	admin_call(2, "r2", "Bad_Bucket", "create", "{}");
	expect_refusal(rig.sup, IPC_PEER_SUPERVISOR, 2, STORE_E_INVALID,
	    "invalid R2 bucket name 'Bad_Bucket'");
	admin_call(3, "d1", NS, "create", "{}");
	expect_refusal(
	    rig.sup, IPC_PEER_SUPERVISOR, 3, STORE_E_INVALID, "invalid D1 database id '" NS "'");
	admin_call(4, "s3", NS, "create", "{}");
	expect_refusal(rig.sup, IPC_PEER_SUPERVISOR, 4, STORE_E_INVALID,
	    "unknown storage kind 's3' (kv, d1 or r2)");
	admin_call(5, "kv", NS, "list", "[1]");
	expect_refusal(
	    rig.sup, IPC_PEER_SUPERVISOR, 5, STORE_E_INVALID, "args must be a JSON object");
	/* A well-formed call reaches its backend, and the channel still works. */
	admin_call(6, "kv", NS, "list", "");
	reply_next(rig.sup, IPC_PEER_SUPERVISOR, IPC_ST_READY, &r);
	cr_assert_eq(r.m.type, IPC_RESULT);
	cr_assert_eq(r.m.id, 6);
	cr_assert_neq(r.m.field[IPC_RESULT_STATUS].u, STORE_E_INVALID);
	reply_release(&r);
}

static void
expect_ok(const struct reply *r, uint64_t id)
{
	cr_assert_eq(r->m.type, IPC_RESULT, "got %s, not RESULT", r->m.spec->name);
	cr_assert_eq(r->m.id, id);
	cr_assert_eq(r->m.field[IPC_RESULT_STATUS].u, STORE_OK, "status %llu: %.*s",
	    (unsigned long long)r->m.field[IPC_RESULT_STATUS].u,
	    (int)r->m.field[IPC_RESULT_DOC].b.len, r->m.field[IPC_RESULT_DOC].b.ptr);
}

static void
admin_create(const char *kind, const char *resource, const char *what)
{
	struct reply r = { 0 };

	admin_call(1, kind, resource, "create", "{}");
	reply_next(rig.sup, IPC_PEER_SUPERVISOR, IPC_ST_READY, &r);
	expect_ok(&r, 1);
	cr_assert_eq(r.m.field[IPC_RESULT_MORE].u, 0);
	reply_release(&r);
}

/*
 * A call without a body on the sandbox channel fd, answered OK: returns
 * its doc (decref it); *r keeps the RESULT, for take_body.
 */
static json_t *
call_ok(
    int fd, uint64_t id, const char *binding, const char *method, const char *args, struct reply *r)
{
	call(fd, id, binding, method, args, NULL, 0, false);
	reply_next(fd, IPC_PEER_SANDBOX, IPC_ST_READY, r);
	expect_ok(r, id);
	return result_doc(r);
}

/*
 * Takes the output body of a RESULT in *r (already checked OK), pulling
 * `step` pieces at a time; returns it in *body.
 */
static void
take_body(int fd, enum ipc_peer me, uint64_t id, struct reply *r, unsigned step, struct buf *body)
{
	bool more = r->m.field[IPC_RESULT_MORE].u;
	unsigned asked = 0;

	buf_init(body);
	cr_assert_eq(buf_append(body, r->m.field[IPC_RESULT_CHUNK].b.ptr,
			 r->m.field[IPC_RESULT_CHUNK].b.len),
	    0);
	while (more) {
		if (asked == 0) {
			send_msg(
			    fd, IPC_RESULT_PULL, id, (struct ipc_value[]) { ipc_u64(step) }, 1);
			asked = step;
		}
		reply_next(fd, me, IPC_ST_READY, r);
		cr_assert_eq(r->m.type, IPC_RESULT_BODY, "got %s", r->m.spec->name);
		cr_assert_eq(r->m.id, id);
		cr_assert_leq(r->m.field[IPC_RESULT_BODY_CHUNK].b.len, IPC_BODY_CHUNK_MAX);
		cr_assert_eq(buf_append(body, r->m.field[IPC_RESULT_BODY_CHUNK].b.ptr,
				 r->m.field[IPC_RESULT_BODY_CHUNK].b.len),
		    0);
		more = !r->m.field[IPC_RESULT_BODY_LAST].u;
		asked--;
	}
	reply_release(r);
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len);
	uint32_t x = 2463534242u;

	cr_assert_not_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

Test(calls, kv_put_and_get_a_600k_value)
{
	size_t len = 600u << 10, first = 100u << 10;
	uint8_t *value = pattern(len);
	struct reply r = { 0 };
	struct buf body;
	json_t *doc;
	int fd;

	admin_create("kv", NS, "KV");
	fd = attach_sandbox(1, KV_BINDINGS);
	call(fd, 1, "KV", "put", "{\"key\":\"big\"}", value, first, true);
	feed(fd, IPC_PEER_SANDBOX, IPC_CALL_BODY, 1, value, len, first, 100u << 10, &r, NULL);
	expect_ok(&r, 1);
	cr_assert_eq(r.m.field[IPC_RESULT_MORE].u, 0);

	doc = call_ok(fd, 2, "KV", "get", "{\"key\":\"big\"}", &r);
	cr_assert(json_is_true(json_object_get(doc, "found")));
	json_decref(doc);
	cr_assert_eq(r.m.field[IPC_RESULT_CHUNK].b.len, IPC_BODY_CHUNK_MAX);
	cr_assert_eq(r.m.field[IPC_RESULT_MORE].u, 1);
	take_body(fd, IPC_PEER_SANDBOX, 2, &r, 1, &body);
	cr_assert_eq(body.len, len);
	cr_assert(memcmp(body.data, value, len) == 0, "the value came back changed");
	buf_release(&body);

	/* Empty args count as {}: list everything. */
	doc = call_ok(fd, 3, "KV", "list", "", &r);
	cr_assert_eq(json_array_size(json_object_get(doc, "keys")), 1);
	json_decref(doc);
	reply_release(&r);
	close(fd);
	free(value);
}

Test(calls, r2_put_and_get_a_3m_object)
{
	size_t len = 3u << 20;
	uint8_t *value = pattern(len);
	struct reply r = { 0 };
	struct buf body;
	json_t *doc;
	int fd;

	admin_create("r2", BUCKET, "R2");
	fd = attach_sandbox(1, R2_BINDINGS);
	call(fd, 1, "BUCKET", "put", "{\"key\":\"blob.bin\"}", value, IPC_BODY_CHUNK_MAX, true);
	feed(fd, IPC_PEER_SANDBOX, IPC_CALL_BODY, 1, value, len, IPC_BODY_CHUNK_MAX,
	    IPC_BODY_CHUNK_MAX, &r, NULL);
	expect_ok(&r, 1);
	doc = result_doc(&r);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(doc, "object"), "size")),
	    (json_int_t)len);
	json_decref(doc);

	doc = call_ok(fd, 2, "BUCKET", "get", "{\"key\":\"blob.bin\"}", &r);
	cr_assert(json_is_true(json_object_get(doc, "body")));
	json_decref(doc);
	take_body(fd, IPC_PEER_SANDBOX, 2, &r, 4, &body);
	cr_assert_eq(body.len, len);
	cr_assert(memcmp(body.data, value, len) == 0, "the object came back changed");
	buf_release(&body);

	/* The operator reads it too, over the control channel, all pulled at once. */
	admin_call(2, "r2", BUCKET, "get", "{\"key\":\"blob.bin\"}");
	reply_next(rig.sup, IPC_PEER_SUPERVISOR, IPC_ST_READY, &r);
	expect_ok(&r, 2);
	take_body(rig.sup, IPC_PEER_SUPERVISOR, 2, &r, IPC_PULL_MAX, &body);
	cr_assert_eq(body.len, len);
	cr_assert(memcmp(body.data, value, len) == 0, "the object came back changed");
	buf_release(&body);
	close(fd);
	free(value);
}

Test(calls, a_cancelled_or_detached_upload_leaves_nothing)
{
	size_t len = 1u << 20;
	uint8_t *value = pattern(len);
	struct reply r = { 0 };
	json_t *doc;
	int fd, other;

	admin_create("r2", BUCKET, "R2");
	fd = attach_sandbox(1, R2_BINDINGS);
	call(fd, 1, "BUCKET", "put", "{\"key\":\"half\"}", value, IPC_BODY_CHUNK_MAX, true);
	cr_assert_geq(expect_pull(fd, 1), 1);
	send_piece(fd, IPC_CALL_BODY, 1, value, IPC_BODY_CHUNK_MAX, false);
	send_msg(fd, IPC_CALL_CANCEL, 1, (struct ipc_value[]) { ipc_u64(0) }, 1);
	/* Pulls sent before the cancel arrived may still come: skip them. */
	call(fd, 2, "BUCKET", "head", "{\"key\":\"half\"}", NULL, 0, false);
	do
		reply_next(fd, IPC_PEER_SANDBOX, IPC_ST_READY, &r);
	while (r.m.type == IPC_CALL_PULL && r.m.id == 1);
	expect_ok(&r, 2);
	doc = result_doc(&r);
	cr_assert(json_is_null(json_object_get(doc, "object")), "a cancelled upload is visible");
	json_decref(doc);

	/* A channel detached in the middle of an upload takes the upload with it. */
	other = attach_sandbox(2, R2_BINDINGS);
	call(other, 1, "BUCKET", "put", "{\"key\":\"gone\"}", value, IPC_BODY_CHUNK_MAX, true);
	cr_assert_geq(expect_pull(other, 1), 1);
	send_piece(other, IPC_CALL_BODY, 1, value, IPC_BODY_CHUNK_MAX, false);
	send_msg(rig.sup, IPC_DETACH, 0, (struct ipc_value[]) { ipc_u64(2) }, 1);
	expect_eof(other);
	close(other);
	doc = call_ok(fd, 3, "BUCKET", "head", "{\"key\":\"gone\"}", &r);
	cr_assert(json_is_null(json_object_get(doc, "object")), "a detached upload is visible");
	json_decref(doc);
	reply_release(&r);
	close(fd);
	free(value);
}

Test(calls, storage_limits_reach_the_backend)
{
	static uint8_t value[1000];
	struct reply r = { 0 };
	int fd;

	admin_create("kv", NS, "KV");
	fd = attach(1, TENANT, KV_BINDINGS, "{\"kv_bytes\": 100}");
	hello(fd, IPC_PEER_SANDBOX);
	call(fd, 1, "KV", "put", "{\"key\":\"k\"}", value, sizeof(value), false);
	reply_next(fd, IPC_PEER_SANDBOX, IPC_ST_READY, &r);
	cr_assert_eq(r.m.field[IPC_RESULT_STATUS].u, STORE_E_TOO_LARGE);
	call(fd, 2, "KV", "put", "{\"key\":\"k\"}", value, 10, false);
	reply_next(fd, IPC_PEER_SANDBOX, IPC_ST_READY, &r);
	expect_ok(&r, 2);
	/* The operator's calls carry the tenant's limits themselves. */
	admin_call_with(
	    2, "kv", NS, "put", "{\"key\":\"j\"}", value, sizeof(value), "{\"kv_bytes\": 100}");
	reply_next(rig.sup, IPC_PEER_SUPERVISOR, IPC_ST_READY, &r);
	cr_assert_eq(r.m.field[IPC_RESULT_STATUS].u, STORE_E_TOO_LARGE);
	admin_call_with(3, "kv", NS, "put", "{\"key\":\"j\"}", value, sizeof(value), "{}");
	reply_next(rig.sup, IPC_PEER_SUPERVISOR, IPC_ST_READY, &r);
	expect_ok(&r, 3);
	reply_release(&r);
	close(fd);
}

/*
 * Sends a call that is refused at once and reads up to its answer: every
 * CALL_PULL before it is added to got[id].  The broker had then handled
 * everything sent before, and sent every pull it was going to.
 */
static void
barrier(int fd, uint64_t probe, unsigned *got, size_t nids)
{
	struct reply r = { 0 };

	call(fd, probe, "NOPE", "get", "{}", NULL, 0, false);
	for (;;) {
		reply_next(fd, IPC_PEER_SANDBOX, IPC_ST_READY, &r);
		if (r.m.type == IPC_RESULT && r.m.id == probe)
			break;
		cr_assert_eq(r.m.type, IPC_CALL_PULL, "got %s for %llu", r.m.spec->name,
		    (unsigned long long)r.m.id);
		cr_assert_lt(r.m.id, nids);
		got[r.m.id] += (unsigned)r.m.field[IPC_CALL_PULL_CHUNKS].u;
	}
	reply_release(&r);
}

/*
 * Sends pieces of call `id` as pulled (never the last) until `target`
 * bytes went in all, or the broker stopped pulling; returns the bytes sent.
 */
static size_t
push(int fd, uint64_t id, size_t sent, size_t target, unsigned *got, size_t nids, uint64_t *probe)
{
	static uint8_t piece[IPC_BODY_CHUNK_MAX];

	for (;;) {
		while (got[id] > 0 && sent < target) {
			send_piece(fd, IPC_CALL_BODY, id, piece, sizeof(piece), false);
			sent += sizeof(piece);
			got[id]--;
		}
		barrier(fd, (*probe)++, got, nids);
		if (sent >= target || got[id] == 0)
			return sent;
	}
}

Test(calls, whole_bodies_wait_for_room_on_their_channel)
{
	static uint8_t piece[IPC_BODY_CHUNK_MAX];
	unsigned got[4] = { 0 };
	uint64_t probe = 100;
	size_t sent;
	int fd = attach_sandbox(1, KV_BINDINGS);

	/* Call 1 holds 24 MiB; call 2 gets pieces until the channel holds its share... */
	call(fd, 1, "KV", "put", "{\"key\":\"a\"}", piece, sizeof(piece), true);
	cr_assert_eq(push(fd, 1, sizeof(piece), 24u << 20, got, 4, &probe), 24u << 20);
	call(fd, 2, "KV", "put", "{\"key\":\"b\"}", piece, sizeof(piece), true);
	sent = push(fd, 2, sizeof(piece), 25u << 20, got, 4, &probe);
	cr_assert(sent > sizeof(piece) && sent < (12u << 20), "call 2 took %zu bytes", sent);
	/* ... and a third waits without a pull, as call 2 does now. */
	call(fd, 3, "KV", "put", "{\"key\":\"c\"}", "c", 1, true);
	barrier(fd, probe++, got, 4);
	cr_assert_eq(got[3], 0, "call 3 was pulled with the channel full");
	cr_assert_eq(got[2], 0);
	/* Once the oldest goes, both are pulled again. */
	send_msg(fd, IPC_CALL_CANCEL, 1, (struct ipc_value[]) { ipc_u64(0) }, 1);
	barrier(fd, probe++, got, 4);
	cr_assert_gt(got[2], 0);
	cr_assert_gt(got[3], 0);
	close(fd);
}

/* A data directory the backends cannot use: the broker exits non-zero before its HELLO. */
Test(start, a_backend_that_cannot_open_is_fatal)
{
	char dir[64], path[96];
	struct broker_config cfg = { .data_dir = path };
	struct pollfd p;
	char byte;
	int sv[2], status = -1, fd;
	pid_t pid;

	support_tempdir(dir, sizeof(dir), "/tmp", "edged-calls");
	snprintf(path, sizeof(path), "%s/file", dir);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	close(fd);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(sv[0]);
		broker_main(sv[1], &cfg);
	}
	close(sv[1]);
	p.fd = sv[0];
	p.events = POLLIN;
	cr_assert_eq(poll(&p, 1, WAIT_MS), 1);
	cr_assert_eq(read(sv[0], &byte, 1), 0, "the broker started on a data dir that is a file");
	close(sv[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %#x", status);
	support_remove_tree(dir);
}

Test(calls, d1_create_and_query)
{
	const char *bindings = "[{\"type\":\"d1\",\"name\":\"DB\",\"id\":\"" DB "\"}]";
	struct reply r = { 0 };
	json_t *doc, *rows;
	int fd;

	admin_create("d1", DB, "D1");
	fd = attach_sandbox(1, bindings);
	doc = call_ok(fd, 1, "DB", "query", "{\"sql\":\"SELECT ?1 + 1 AS x\",\"params\":[41]}", &r);
	cr_assert_eq(r.m.field[IPC_RESULT_MORE].u, 0);
	rows = json_object_get(doc, "rows");
	cr_assert_eq(json_integer_value(json_array_get(json_array_get(rows, 0), 0)), 42);
	json_decref(doc);
	/* info is the operator's. */
	call(fd, 2, "DB", "info", "{}", NULL, 0, false);
	expect_refusal(fd, IPC_PEER_SANDBOX, 2, STORE_E_INVALID, "unknown method");
	reply_release(&r);
	close(fd);
}
