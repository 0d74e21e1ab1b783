/*
 * libFuzzer harness for the IPC frame reader and decoder (common/ipc.c), the
 * first code to see every byte a sandbox sends.  The input is one frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned fuzz_peers[] = {
	IPC_PEER_SUPERVISOR,
	IPC_PEER_SANDBOX,
	IPC_PEER_BROKER,
	IPC_PEER_LAUNCHER,
};
static const unsigned fuzz_states[] = {
	IPC_ST_HELLO,
	IPC_ST_BLANK,
	IPC_ST_LOADING,
	IPC_ST_READY,
};
static const uint32_t fuzz_caps[] = {
	IPC_CAP_CONTROL,
	IPC_CAP_FROM_SANDBOX,
	IPC_CAP_TO_SANDBOX,
	UINT32_MAX,
};

#define FUZZ_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool
fuzz_bytes_equal(const struct ipc_bytes *a, const struct ipc_bytes *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* What decode accepted, encode must accept, and decode must read back the same. */
static void
fuzz_round_trip(const struct ipc_msg *msg, unsigned from, unsigned to, unsigned st)
{
	const struct ipc_msg_spec *s = msg->spec;
	struct ipc_msg again;
	struct buf out;
	const char *why;
	uint32_t len;

	buf_init(&out);
	if (ipc_encode(&out, msg->type, msg->id, msg->field, s->nfields) != 0)
		abort();
	if (ipc_frame_check(out.data, out.len, UINT32_MAX, &len) != 1 ||
	    (size_t)len + IPC_FRAME_HEADER != out.len)
		abort();
	if (ipc_decode(out.data + IPC_FRAME_HEADER, len, from, to, st, &again, &why) != 0)
		abort();
	if (again.type != msg->type || again.id != msg->id || again.spec != s)
		abort();
	for (unsigned i = 0; i < s->nfields; i++) {
		const struct ipc_value *a = &msg->field[i], *b = &again.field[i];

		switch (s->field[i].kind) {
		case IPC_F_U64:
			if (a->u != b->u)
				abort();
			break;
		case IPC_F_STR:
		case IPC_F_BIN:
			if (!fuzz_bytes_equal(&a->b, &b->b))
				abort();
			break;
		case IPC_F_STRLIST:
			if (a->count != b->count)
				abort();
			for (size_t k = 0; k < a->count; k++)
				if (!fuzz_bytes_equal(&a->list[k], &b->list[k]))
					abort();
			break;
		}
	}
	ipc_msg_release(&again);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload;
	bool checked = false;
	size_t len;
	uint32_t plen;

	for (size_t i = 0; i < FUZZ_NELEM(fuzz_caps); i++)
		if (ipc_frame_check(data, size, fuzz_caps[i], &plen) == 1 &&
		    (plen == 0 || plen > fuzz_caps[i] || (size_t)plen > size - IPC_FRAME_HEADER))
			abort();
	if (size < IPC_FRAME_HEADER)
		return 0;
	payload = data + IPC_FRAME_HEADER;
	len = size - IPC_FRAME_HEADER;

	/* The payload is decoded whatever its prefix says, in every context. */
	for (size_t f = 0; f < FUZZ_NELEM(fuzz_peers); f++)
		for (size_t t = 0; t < FUZZ_NELEM(fuzz_peers); t++)
			for (size_t s = 0; s < FUZZ_NELEM(fuzz_states); s++) {
				unsigned from = fuzz_peers[f], to = fuzz_peers[t],
					 st = fuzz_states[s];
				struct ipc_msg msg;
				const char *why = NULL;

				if (ipc_decode(payload, len, from, to, st, &msg, &why) == 0) {
					if (!checked)
						fuzz_round_trip(&msg, from, to, st);
					checked = true;
					ipc_msg_release(&msg);
				} else if (why == NULL || why[0] == '\0' || msg.priv != NULL ||
				    msg.spec != NULL)
					abort();
			}
	return 0;
}
