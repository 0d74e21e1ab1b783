/*
 * catalog_frames: crafted IPC bytes for the catalog's part C
 * (tests/e2e/test_catalog_c.c).  Every function appends to the caller's
 * struct buf and fails the test if memory runs out.
 */
#ifndef EDGED_TEST_CATALOG_FRAMES_H
#define EDGED_TEST_CATALOG_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/*
 * msgpack, written by hand so that it can also be what ipc_encode would
 * refuse: raw bytes, big-endian integers of `width` bytes, then the
 * smallest encoding of an array header, an unsigned integer, a string and
 * a bin.
 */
void mp_raw(struct buf *b, const void *p, size_t len);
void mp_byte(struct buf *b, uint8_t v);
void mp_be(struct buf *b, uint64_t v, unsigned width);
void mp_array(struct buf *b, uint32_t n);
void mp_uint(struct buf *b, uint64_t v);
void mp_strn(struct buf *b, const char *s, size_t len);
void mp_str(struct buf *b, const char *s); /* NUL-terminated */
void mp_bin(struct buf *b, const void *p, size_t len);

/* Appends `payload` to `out` as one frame (big-endian length, then the bytes); frees it. */
void frame(struct buf *out, struct buf *payload);
/* A length prefix of `len`, then 7 bytes of payload whatever the length says. */
void raw_length(struct buf *out, uint32_t len);

/* Whole frames of valid messages, to corrupt or to send as they are. */
void msg_resp_head(struct buf *out, uint64_t id, uint64_t status, const char *const *headers,
    size_t n, int has_body);
void msg_resp_body(struct buf *out, uint64_t id, const void *chunk, size_t len, int last);
/* [type, id, f[0] .. f[n-1]]: a message whose fields are all unsigned integers. */
void msg_uints(struct buf *out, uint16_t type, uint64_t id, const uint64_t *f, size_t n);
/* CALL [50, id, binding, method, args, chunk, more]; chunk is NUL-terminated. */
void msg_call(struct buf *out, uint64_t id, const char *binding, const char *method,
    const char *args, const char *chunk, int more);
void msg_call_body(struct buf *out, uint64_t id, const char *chunk, int last);

#endif
