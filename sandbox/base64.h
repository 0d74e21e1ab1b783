/*
 * base64: the standard alphabet's encoder and the HTML/Infra "forgiving
 * base64 decode" (what atob accepts).  Pure functions; run in sandboxes.
 */
#ifndef EDGED_BASE64_H
#define EDGED_BASE64_H

#include <stddef.h>

/* The length of the encoding of `n` bytes (with padding), or 0 when it would overflow. */
size_t base64_encoded_len(size_t n);

/* Writes the padded encoding of in[0..n) to `out`, which holds base64_encoded_len(n) bytes. */
void base64_encode(const unsigned char *in, size_t n, char *out);

/*
 * Forgiving-base64-decodes in[0..n): ASCII whitespace is ignored, padding
 * is optional but must be right when present, and stray bits are dropped.
 * `out` holds at least n * 3 / 4 + 3 bytes.  Returns 0 with *out_len set,
 * or -1 when the input is not valid (nothing meaningful is in `out`).
 */
int base64_decode_forgiving(const char *in, size_t n, unsigned char *out, size_t *out_len);

#endif
