/*
 * Writes the seed corpus of fuzz_ipc_decode: one small, valid frame per kind
 * of traffic, named after its message.  Not built by CMake; regenerate with
 *   cc -std=gnu11 -I. common/buf.c common/ipc.c common/ipc_table.c \
 *       tests/fuzz/gen_corpus_ipc_decode.c -lmsgpackc -o /tmp/gen &&
 *   /tmp/gen tests/fuzz/corpus/ipc_decode
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"

static const char *gen_dir;

static void
gen_write(const char *name, uint16_t type, uint64_t id, const struct ipc_value *v, size_t n)
{
	char path[4096];
	struct buf out;
	FILE *f;

	buf_init(&out);
	if (ipc_encode(&out, type, id, v, n) == -1) {
		fprintf(stderr, "gen: cannot encode '%s'\n", name);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", gen_dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(out.data, 1, out.len, f) != out.len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	buf_release(&out);
}

int
main(int argc, char **argv)
{
	const struct ipc_bytes req_headers[] = {
		{ "host", 4 },
		{ "example.com", 11 },
		{ "accept", 6 },
		{ "*/*", 3 },
		{ "x-caf\xc3\xa9", 7 },
		{ "\xe2\x82\xac \xf0\x9f\x98\x80", 8 },
	};
	const struct ipc_bytes resp_headers[] = {
		{ "content-type", 12 },
		{ "text/plain", 10 },
	};
	const char script[] = "addEventListener('fetch', function (e) {\n"
			      "  e.respondWith(new Response('hi'));\n});\n";

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus_ipc_decode dir\n");
		return 2;
	}
	gen_dir = argv[1];

	gen_write("hello", IPC_HELLO, 0,
	    (struct ipc_value[]) { ipc_u64(IPC_VERSION), ipc_u64(IPC_PEER_SANDBOX), ipc_u64(4242) },
	    3);
	gen_write("spawned", IPC_SPAWNED, 3,
	    (struct ipc_value[]) { ipc_u64(7), ipc_u64(2), ipc_u64(31337) }, 3);
	gen_write("spawn_failed", IPC_SPAWN_FAILED, 4,
	    (struct ipc_value[]) {
		ipc_u64(7), ipc_u64(2), ipc_str("clone3: Operation not permitted") },
	    3);
	gen_write("load", IPC_LOAD, 1,
	    (struct ipc_value[]) { ipc_str("acme"), ipc_str("api"), ipc_u64(12),
		ipc_u64(IPC_FORMAT_SERVICE_WORKER), ipc_str(script),
		ipc_str("{\"KV\":{\"type\":\"kv\"}}"), ipc_u64(500) },
	    7);
	gen_write("loaded", IPC_LOADED, 1,
	    (struct ipc_value[]) {
		ipc_u64(0), ipc_u64(3), ipc_u64(9), ipc_str("SyntaxError: unterminated string") },
	    4);
	gen_write("req_head", IPC_REQ_HEAD, 77,
	    (struct ipc_value[]) { ipc_str("POST"), ipc_str("https://example.com/p?q=1"),
		ipc_strlist(req_headers, 6), ipc_u64(1), ipc_u64(50) },
	    5);
	gen_write("req_body", IPC_REQ_BODY, 77,
	    (struct ipc_value[]) { ipc_bytes("a=1&b=\x00\xff", 8), ipc_u64(1) }, 2);
	gen_write("resp_head", IPC_RESP_HEAD, 77,
	    (struct ipc_value[]) { ipc_u64(200), ipc_strlist(resp_headers, 2), ipc_u64(1) }, 3);
	gen_write("resp_body", IPC_RESP_BODY, 77,
	    (struct ipc_value[]) { ipc_bytes("hello world", 11), ipc_u64(1) }, 2);
	gen_write("resp_error", IPC_RESP_ERROR, 78, (struct ipc_value[]) { ipc_u64(1101) }, 1);
	gen_write("log", IPC_LOG, 0,
	    (struct ipc_value[]) { ipc_u64(2), ipc_str("console.log: caf\xc3\xa9") }, 2);
	gen_write("attach", IPC_ATTACH, 5,
	    (struct ipc_value[]) { ipc_u64(9), ipc_str("acme"), ipc_str("api"), ipc_u64(12),
		ipc_str("[]"), ipc_str("{}") },
	    6);
	gen_write("call", IPC_CALL, 11,
	    (struct ipc_value[]) { ipc_str("KV"), ipc_str("put"), ipc_str("{\"key\":\"k\"}"),
		ipc_bytes("value", 5), ipc_u64(0) },
	    5);
	gen_write("result", IPC_RESULT, 11,
	    (struct ipc_value[]) { ipc_u64(0), ipc_str("{}"), ipc_bytes("", 0), ipc_u64(1) }, 4);
	gen_write("result_pull", IPC_RESULT_PULL, 11, (struct ipc_value[]) { ipc_u64(4) }, 1);
	gen_write("detach", IPC_DETACH, 6, (struct ipc_value[]) { ipc_u64(UINT64_MAX) }, 1);
	return 0;
}
