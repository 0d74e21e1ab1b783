/*
 * catalog_frames: crafted IPC bytes for the catalog's part C: a small
 * msgpack writer (mp_*) that also writes what ipc_encode would refuse, the
 * frame around a payload, and the messages the rows corrupt (msg_*).  Runs
 * in the test process.
 */
#include "catalog_frames.h"

#include <criterion/criterion.h>
#include <string.h>

#include "common/ipc.h"

/* ---- a small msgpack writer: what the encoder would refuse to build -------------- */

void
mp_raw(struct buf *b, const void *p, size_t len)
{
	cr_assert_eq(buf_append(b, p, len), 0);
}

void
mp_byte(struct buf *b, uint8_t v)
{
	mp_raw(b, &v, 1);
}

void
mp_be(struct buf *b, uint64_t v, unsigned width)
{
	for (unsigned i = width; i > 0; i--)
		mp_byte(b, (uint8_t)(v >> (8 * (i - 1))));
}

void
mp_array(struct buf *b, uint32_t n)
{
	if (n < 16)
		mp_byte(b, (uint8_t)(0x90 | n));
	else if (n <= 0xffff) {
		mp_byte(b, 0xdc);
		mp_be(b, n, 2);
	} else {
		mp_byte(b, 0xdd);
		mp_be(b, n, 4);
	}
}

void
mp_uint(struct buf *b, uint64_t v)
{
	if (v < 0x80)
		mp_byte(b, (uint8_t)v);
	else if (v <= 0xff) {
		mp_byte(b, 0xcc);
		mp_be(b, v, 1);
	} else if (v <= 0xffff) {
		mp_byte(b, 0xcd);
		mp_be(b, v, 2);
	} else if (v <= 0xffffffff) {
		mp_byte(b, 0xce);
		mp_be(b, v, 4);
	} else {
		mp_byte(b, 0xcf);
		mp_be(b, v, 8);
	}
}

void
mp_strn(struct buf *b, const char *s, size_t len)
{
	if (len < 32)
		mp_byte(b, (uint8_t)(0xa0 | len));
	else if (len <= 0xff) {
		mp_byte(b, 0xd9);
		mp_be(b, len, 1);
	} else if (len <= 0xffff) {
		mp_byte(b, 0xda);
		mp_be(b, len, 2);
	} else {
		mp_byte(b, 0xdb);
		mp_be(b, len, 4);
	}
	mp_raw(b, s, len);
}

void
mp_str(struct buf *b, const char *s)
{
	mp_strn(b, s, strlen(s));
}

void
mp_bin(struct buf *b, const void *p, size_t len)
{
	if (len <= 0xff) {
		mp_byte(b, 0xc4);
		mp_be(b, len, 1);
	} else if (len <= 0xffff) {
		mp_byte(b, 0xc5);
		mp_be(b, len, 2);
	} else {
		mp_byte(b, 0xc6);
		mp_be(b, len, 4);
	}
	mp_raw(b, p, len);
}

/* Appends `payload` to `out` as one frame (big-endian length, then the bytes); frees it. */
void
frame(struct buf *out, struct buf *payload)
{
	mp_be(out, payload->len, 4);
	mp_raw(out, payload->data, payload->len);
	buf_release(payload);
}

/* ---- messages ---------------------------------------------------------------------- */

/* RESP_HEAD [25, id, status, [headers...], has_body] */
void
msg_resp_head(struct buf *out, uint64_t id, uint64_t status, const char *const *headers, size_t n,
    int has_body)
{
	struct buf p;

	buf_init(&p);
	mp_array(&p, 5);
	mp_uint(&p, IPC_RESP_HEAD);
	mp_uint(&p, id);
	mp_uint(&p, status);
	mp_array(&p, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		mp_str(&p, headers[i]);
	mp_uint(&p, (uint64_t)has_body);
	frame(out, &p);
}

void
msg_resp_body(struct buf *out, uint64_t id, const void *chunk, size_t len, int last)
{
	struct buf p;

	buf_init(&p);
	mp_array(&p, 4);
	mp_uint(&p, IPC_RESP_BODY);
	mp_uint(&p, id);
	mp_bin(&p, chunk, len);
	mp_uint(&p, (uint64_t)last);
	frame(out, &p);
}

/* [type, id, f[0] .. f[n-1]]: a message whose fields are all unsigned integers. */
void
msg_uints(struct buf *out, uint16_t type, uint64_t id, const uint64_t *f, size_t n)
{
	struct buf p;

	buf_init(&p);
	mp_array(&p, (uint32_t)(2 + n));
	mp_uint(&p, type);
	mp_uint(&p, id);
	for (size_t i = 0; i < n; i++)
		mp_uint(&p, f[i]);
	frame(out, &p);
}

/* CALL [50, id, binding, method, args, chunk, more] */
void
msg_call(struct buf *out, uint64_t id, const char *binding, const char *method, const char *args,
    const char *chunk, int more)
{
	struct buf p;

	buf_init(&p);
	mp_array(&p, 7);
	mp_uint(&p, IPC_CALL);
	mp_uint(&p, id);
	mp_str(&p, binding);
	mp_str(&p, method);
	mp_str(&p, args);
	mp_bin(&p, chunk, strlen(chunk));
	mp_uint(&p, (uint64_t)more);
	frame(out, &p);
}

void
msg_call_body(struct buf *out, uint64_t id, const char *chunk, int last)
{
	struct buf p;

	buf_init(&p);
	mp_array(&p, 4);
	mp_uint(&p, IPC_CALL_BODY);
	mp_uint(&p, id);
	mp_bin(&p, chunk, strlen(chunk));
	mp_uint(&p, (uint64_t)last);
	frame(out, &p);
}

/* A length prefix and a few bytes of payload, whatever the length says. */
void
raw_length(struct buf *out, uint32_t len)
{
	mp_be(out, len, 4);
	mp_raw(out, "\x95\x19\x02\xcc\xc8\x90\x00", 7);
}
