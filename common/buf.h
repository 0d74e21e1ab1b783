/*
 * buf: a growable byte buffer, used to build IPC frames and response text.
 * Every process links it.
 */
#ifndef EDGED_BUF_H
#define EDGED_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data; /* owned; NULL while empty and never grown */
	size_t len;
	size_t cap;
};

/* An empty buffer; no allocation until the first append. */
void buf_init(struct buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Empties the buffer but keeps its storage. */
void buf_reset(struct buf *b);
/* Ensures room for `more` bytes past len; 0, or -1 on overflow/ENOMEM. */
int buf_reserve(struct buf *b, size_t more);
/* Appends; 0 or -1 (ENOMEM), leaving the buffer unchanged on failure. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

#endif
