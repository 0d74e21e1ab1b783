/*
 * base64: RFC 4648 base64 in the standard alphabet ("+/") and the URL-safe
 * one ("-_"), with a decoder whose strictness the caller picks.  Pure
 * functions, linked into every process: the sandbox's atob/btoa
 * (sandbox/base64.c), the broker's KV list cursors and bulk values and its
 * D1 blob parameters.
 */
#ifndef EDGED_BASE64_COMMON_H
#define EDGED_BASE64_COMMON_H

#include <stddef.h>

/*
 * Flags.  Whatever the flags, a decode accepts only characters of the
 * chosen alphabet, '=' only as the last one or two of them, and refuses a
 * last group of a single character (it cannot hold a byte).
 */
enum base64_flags {
	BASE64_URL = 1u << 0,    /* the URL-safe alphabet: '-' and '_' for '+' and '/' */
	BASE64_NO_PAD = 1u << 1, /* encode: leave out the '=' padding */
	BASE64_SKIP_SPACE =
	    1u << 2,                /* decode: ignore ASCII whitespace (TAB LF FF CR SP) anywhere */
	BASE64_EXACT_PAD = 1u << 3, /* decode: '=', when present, must complete a group of four */
	BASE64_ZERO_BITS = 1u << 4, /* decode: bits past the last byte must be zero */
};

/* The length of the padded encoding of `n` bytes, or 0 when it would overflow. */
size_t base64_encoded_len(size_t n);

/*
 * Writes the encoding of in[0..n) to `out`, which holds base64_encoded_len(n)
 * bytes (no NUL is written).  `flags`: BASE64_URL, BASE64_NO_PAD.  Returns
 * the length written.
 */
size_t base64_encode_as(const unsigned char *in, size_t n, unsigned flags, char *out);

/* The standard alphabet with padding: base64_encode_as(in, n, 0, out). */
void base64_encode(const unsigned char *in, size_t n, char *out);

/* The most bytes that decoding `n` characters can yield: the room `out` needs. */
size_t base64_decoded_max(size_t n);

/*
 * Decodes in[0..n) into `out` (room for base64_decoded_max(n) bytes) under
 * `flags` (BASE64_URL, BASE64_SKIP_SPACE, BASE64_EXACT_PAD,
 * BASE64_ZERO_BITS; without BASE64_ZERO_BITS stray bits are dropped).
 * Returns 0 with *out_len set, or -1 when the input is not valid: nothing
 * meaningful is in `out` then.
 */
int base64_decode(const char *in, size_t n, unsigned flags, unsigned char *out, size_t *out_len);

#endif
